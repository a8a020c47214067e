/* Unit tests: state.c, the journal - seq reservation across reopen, the
 * outbox until acknowledged and read in windows, alarm and zone states, the
 * journal_max bound, a damaged file (garbage, truncation, a WAL torn
 * mid-write), and a file that cannot grow (the memory fallback, its
 * counters and state_retry). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "tmpdir.h"

#include "state.h"

static int
setup(void **state)
{
    (void)state;
    return tmpdir_make("state");
}

static int
teardown(void **state)
{
    (void)state;
    return tmpdir_remove();
}

static const char *
db_path(const char *name)
{
    static char path[128];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return path;
}

static struct state *
open_ok(const char *path)
{
    struct state *s = NULL;
    char err[256] = "";
    int rc = state_open(&s, path, err, sizeof(err));
    if (rc != 0)
        fail_msg("state_open(%s): %d %s", path, rc, err);
    assert_non_null(s);
    return s;
}

/* The outbox as replay sees it: seqs in order. */
struct seen {
    uint64_t seq[64];
    char topic[64][32];
    bool retain[64];
    int n;
};

static void
collect(void *arg, uint64_t seq, const char *topic, const char *payload, bool retain)
{
    struct seen *v = arg;
    assert_true(v->n < 64);
    assert_non_null(payload);
    v->seq[v->n] = seq;
    snprintf(v->topic[v->n], sizeof(v->topic[v->n]), "%s", topic);
    v->retain[v->n++] = retain;
}

static struct seen
outbox_of(struct state *s)
{
    struct seen v = {0};
    assert_int_equal(state_journal_each(s, collect, &v), 0);
    return v;
}

static void
add(struct state *s, uint64_t seq, bool critical)
{
    char payload[64];
    snprintf(payload, sizeof(payload), "{\"seq\":%llu}", (unsigned long long)seq);
    assert_int_equal(state_journal_add(s, seq, "event", payload, false, critical, NULL), 0);
}

static void
test_seq_reserved_in_blocks_and_never_repeats(void **st)
{
    const char *p = db_path("seq.db");
    struct state *s = open_ok(p);
    (void)st;

    assert_int_equal(state_first_seq(s), 1);
    for (uint64_t q = 1; q <= 10; q++)
        assert_int_equal(state_use_seq(s, q), 0);
    state_close(s);

    /* A restart (or a crash) skips to the end of the reserved block. */
    s = open_ok(p);
    assert_int_equal(state_first_seq(s), STATE_SEQ_BLOCK + 1);
    /* Going past the block reserves another one, durably. */
    assert_int_equal(state_use_seq(s, 2 * STATE_SEQ_BLOCK + 5), 0);
    state_close(s);
    s = open_ok(p);
    assert_int_equal(state_first_seq(s), 3 * STATE_SEQ_BLOCK + 5 + 1);
    state_close(s);
}

static void
test_outbox_kept_until_acknowledged(void **st)
{
    const char *p = db_path("outbox.db");
    struct state *s = open_ok(p);
    struct seen v;
    (void)st;

    add(s, 7, false);
    assert_int_equal(state_journal_add(s, 5, "drain/b3", "{\"request\":\"drain\"}", true, true,
                                       NULL),
                     0);
    add(s, 9, true);
    assert_int_equal(state_journal_pending(s), 3);
    v = outbox_of(s);
    assert_int_equal(v.n, 3);
    assert_int_equal(v.seq[0], 5); /* oldest seq first, not insertion order */
    assert_string_equal(v.topic[0], "drain/b3");
    assert_true(v.retain[0]);
    assert_int_equal(v.seq[1], 7);
    assert_false(v.retain[1]);
    assert_int_equal(v.seq[2], 9);

    /* An acknowledgement is batched until flushed (or replayed). */
    state_journal_done(s, 7);
    assert_int_equal(state_journal_flush(s), 0);
    assert_int_equal(state_journal_pending(s), 2);
    state_journal_done(s, 5); /* written by state_close */
    state_close(s);

    s = open_ok(p);
    assert_int_equal(state_journal_pending(s), 1);
    v = outbox_of(s);
    assert_int_equal(v.n, 1);
    assert_int_equal(v.seq[0], 9);
    /* Acknowledging an unknown seq changes nothing. */
    state_journal_done(s, 12345);
    assert_int_equal(state_journal_flush(s), 0);
    assert_int_equal(state_journal_pending(s), 1);
    state_close(s);
}

/* The publish window's reads: rows above a cursor, at most a limit, until
 * the callback says stop. */
struct window_read {
    uint64_t seq[16];
    int n, stop_after;
};

static int
take(void *arg, uint64_t seq, const char *topic, const char *payload, bool retain)
{
    struct window_read *w = arg;
    (void)retain;
    assert_non_null(topic);
    assert_non_null(payload);
    assert_true(w->n < 16);
    w->seq[w->n++] = seq;
    return w->stop_after > 0 && w->n >= w->stop_after;
}

static void
test_outbox_read_in_windows(void **st)
{
    struct state *s = open_ok(db_path("window.db"));
    struct window_read w = {0};
    (void)st;

    for (uint64_t q = 10; q >= 1; q--)
        add(s, q, false);
    assert_int_equal(state_journal_next(s, 0, 3, take, &w), 3);
    assert_int_equal(w.n, 3);
    assert_true(w.seq[0] == 1 && w.seq[1] == 2 && w.seq[2] == 3);
    /* From the cursor on; an acknowledged row not yet flushed is below the
     * cursor and never read twice. */
    state_journal_done(s, 2);
    w = (struct window_read){0};
    assert_int_equal(state_journal_next(s, 3, 4, take, &w), 4);
    assert_true(w.seq[0] == 4 && w.seq[3] == 7);
    /* The callback stops the read (the session went offline). */
    w = (struct window_read){.stop_after = 2};
    assert_int_equal(state_journal_next(s, 7, 10, take, &w), 2);
    assert_true(w.seq[0] == 8 && w.seq[1] == 9);
    /* Past the end, or no room: nothing. */
    w = (struct window_read){0};
    assert_int_equal(state_journal_next(s, 10, 10, take, &w), 0);
    assert_int_equal(state_journal_next(s, 0, 0, take, &w), 0);
    assert_int_equal(w.n, 0);
    state_close(s);
}

struct zones {
    char name[4][16];
    struct state_zone z[4];
    int n;
};

static void
zone_seen(void *arg, const struct state_zone *z)
{
    struct zones *v = arg;
    assert_true(v->n < 4);
    snprintf(v->name[v->n], sizeof(v->name[v->n]), "%s", z->name);
    v->z[v->n] = *z;
    v->z[v->n].name = v->name[v->n];
    v->n++;
}

/* A zone's drain request is journaled with the zone's state in one
 * transaction, and the latest one is what a restart reads back. */
static void
test_zone_states_restored(void **st)
{
    const char *p = db_path("zones.db");
    struct state *s = open_ok(p);
    struct state_zone b3 = {
        .name = "b3", .request = true, .votes = 1, .since_ms = 1700000000456, .seq = 43};
    struct state_zone b4 = {.name = "b4", .test = true, .since_ms = 1700000000789, .seq = 44};
    struct zones v = {0};
    (void)st;

    assert_int_equal(state_journal_add_zone(s, 40, "drain/b3", "{}", true, true,
                                            &(struct state_zone){.name = "b3", .seq = 40}),
                     0);
    assert_int_equal(state_journal_add_zone(s, 43, "drain/b3", "{}", true, true, &b3), 0);
    assert_int_equal(state_journal_add_zone(s, 44, "drain/b4", "{}", true, false, &b4), 0);
    assert_int_equal(state_journal_pending(s), 3);
    state_close(s);

    s = open_ok(p);
    assert_int_equal(state_load_zones(s, zone_seen, &v), 0);
    assert_int_equal(v.n, 2);
    for (int i = 0; i < v.n; i++) {
        const struct state_zone *z = &v.z[i];
        if (strcmp(z->name, "b3") == 0) {
            assert_true(z->request && !z->test);
            assert_int_equal(z->votes, 1);
            assert_int_equal(z->since_ms, 1700000000456);
            assert_int_equal(z->seq, 43);
        } else {
            assert_string_equal(z->name, "b4");
            assert_true(!z->request && z->test);
            assert_int_equal(z->seq, 44);
        }
    }
    state_close(s);
}

struct alarms {
    char name[8][16];
    struct state_alarm a[8];
    int n;
};

static void
alarm_seen(void *arg, const struct state_alarm *a)
{
    struct alarms *v = arg;
    assert_true(v->n < 8);
    snprintf(v->name[v->n], sizeof(v->name[v->n]), "%s", a->name);
    v->a[v->n] = *a;
    v->a[v->n].name = v->name[v->n];
    v->n++;
}

static const struct state_alarm *
find_alarm(const struct alarms *v, const char *name)
{
    for (int i = 0; i < v->n; i++)
        if (strcmp(v->name[i], name) == 0)
            return &v->a[i];
    return NULL;
}

static void
test_alarm_states_restored(void **st)
{
    const char *p = db_path("alarms.db");
    struct state *s = open_ok(p);
    struct state_alarm hot = {.name = "room-hot", .active = true, .acked = false,
                              .since_ms = 1700000000123, .seq = 41};
    struct state_alarm smoke = {.name = "smoke", .active = false, .acked = true,
                                .shelved_until = 1700000600000, .since_ms = 1700000000999,
                                .seq = 42};
    struct alarms v = {0};
    const struct state_alarm *r;
    (void)st;

    /* With its event, in one transaction; and on its own. */
    assert_int_equal(state_journal_add(s, 41, "event", "{}", false, true, &hot), 0);
    assert_int_equal(state_save_alarm(s, &smoke), 0);
    /* A later save replaces the earlier one. */
    hot.acked = true;
    hot.seq = 43;
    assert_int_equal(state_journal_add(s, 43, "event", "{}", false, true, &hot), 0);
    state_close(s);

    s = open_ok(p);
    assert_int_equal(state_load_alarms(s, alarm_seen, &v), 0);
    assert_int_equal(v.n, 2);
    r = find_alarm(&v, "room-hot");
    assert_non_null(r);
    assert_true(r->active);
    assert_true(r->acked);
    assert_int_equal(r->since_ms, 1700000000123);
    assert_int_equal(r->seq, 43);
    r = find_alarm(&v, "smoke");
    assert_non_null(r);
    assert_false(r->active);
    assert_true(r->acked);
    assert_int_equal(r->shelved_until, 1700000600000);
    assert_int_equal(r->seq, 42);
    state_close(s);
}

static void
test_journal_max_drops_oldest_non_critical(void **st)
{
    const char *p = db_path("bound.db");
    struct state *s = open_ok(p);
    struct seen v;
    (void)st;

    state_set_journal_max(s, 3);
    add(s, 1, true);
    add(s, 2, false);
    add(s, 3, false);
    assert_int_equal(state_journal_dropped(s), 0);
    add(s, 4, false); /* full: 2 goes */
    assert_int_equal(state_journal_pending(s), 3);
    assert_int_equal(state_journal_dropped(s), 1);
    add(s, 5, true); /* full: 3 goes */
    v = outbox_of(s);
    assert_int_equal(v.n, 3);
    assert_int_equal(v.seq[0], 1);
    assert_int_equal(v.seq[1], 4);
    assert_int_equal(v.seq[2], 5);
    add(s, 6, true); /* full: 4, the last non-critical, goes */
    add(s, 7, true); /* only critical rows left: never dropped, the bound overflows */
    v = outbox_of(s);
    assert_int_equal(v.n, 4);
    assert_int_equal(v.seq[0], 1);
    assert_int_equal(v.seq[1], 5);
    assert_int_equal(v.seq[2], 6);
    assert_int_equal(v.seq[3], 7);
    assert_int_equal(state_journal_dropped(s), 3);
    state_close(s);

    /* The count of dropped messages survives a restart. */
    s = open_ok(p);
    assert_int_equal(state_journal_dropped(s), 3);
    assert_int_equal(state_journal_pending(s), 4);
    state_close(s);
}

static void
write_bytes(const char *path, const void *buf, size_t len, int flags)
{
    int fd = open(path, O_WRONLY | flags, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, buf, len), (ssize_t)len);
    close(fd);
}

static void
copy_file(const char *from, const char *to)
{
    char buf[65536];
    ssize_t n;
    int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    assert_true(in >= 0);
    assert_true(out >= 0);
    while ((n = read(in, buf, sizeof(buf))) > 0)
        assert_int_equal(write(out, buf, (size_t)n), n);
    assert_int_equal(n, 0);
    close(in);
    close(out);
}

static off_t
file_size(const char *path)
{
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    return sb.st_size;
}

/* Not a database at all: a clear error naming the file, no crash. */
static void
test_garbage_file_refused_with_reason(void **st)
{
    const char *p = db_path("garbage.db");
    char garbage[8192];
    struct state *s = NULL;
    char err[256] = "";
    (void)st;

    for (size_t i = 0; i < sizeof(garbage); i++)
        garbage[i] = (char)(i * 131 + 7);
    write_bytes(p, garbage, sizeof(garbage), O_CREAT | O_TRUNC);
    assert_int_equal(state_open(&s, p, err, sizeof(err)), -EIO);
    assert_null(s);
    assert_non_null(strstr(err, p));
    assert_non_null(strstr(err, "not a database"));
}

/* A database whose file was cut short: either refused with a reason, or
 * opened with what is readable; never a crash, and what it returns is sane. */
static void
test_truncated_file(void **st)
{
    const char *p = db_path("cut.db");
    struct state *s = open_ok(p);
    char err[256] = "";
    char big[2048];
    int rc;
    (void)st;

    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    for (uint64_t q = 1; q <= 40; q++)
        assert_int_equal(state_journal_add(s, q, "event", big, false, false, NULL), 0);
    state_close(s);
    assert_true(file_size(p) > 3 * 4096);
    assert_int_equal(truncate(p, file_size(p) / 2), 0);

    s = NULL;
    rc = state_open(&s, p, err, sizeof(err));
    if (rc == 0) {
        /* The schema pages survived: the outbox may be damaged, and reading
         * it must report -EIO rather than crash or invent rows. */
        struct seen v = {0};
        int each = state_journal_each(s, collect, &v);
        assert_true(each == 0 || each == -EIO);
        assert_true(v.n <= 40);
        for (int i = 1; i < v.n; i++)
            assert_true(v.seq[i] > v.seq[i - 1]);
        state_close(s);
    } else {
        assert_int_equal(rc, -EIO);
        assert_null(s);
        assert_non_null(strstr(err, p));
    }
}

/* A power cut during a commit: the copy of the database and its WAL taken
 * mid-run is what the disk holds after the crash; a WAL whose last frames
 * are torn loses only the transaction being written. */
static void
test_torn_wal_keeps_committed_rows(void **st)
{
    char p[128], wal[160], cp[128], cpwal[160];
    struct state *s, *c;
    struct seen v;
    (void)st;

    strcpy(p, db_path("live.db"));
    s = open_ok(p);
    snprintf(wal, sizeof(wal), "%s-wal", p);
    strcpy(cp, db_path("crash.db"));
    snprintf(cpwal, sizeof(cpwal), "%s-wal", cp);
    for (uint64_t q = 1; q <= 5; q++)
        add(s, q, q == 3);
    /* Snapshot while the connection is open: committed rows are in the WAL. */
    copy_file(p, cp);
    copy_file(wal, cpwal);
    add(s, 6, false);
    state_close(s);

    c = open_ok(cp);
    v = outbox_of(c);
    assert_int_equal(v.n, 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(v.seq[i], (uint64_t)i + 1);
    assert_true(state_first_seq(c) > 5); /* the reservation was durable too */
    state_close(c);

    /* Again, with the last commit's WAL frames cut in half. */
    s = open_ok(p);
    copy_file(p, cp);
    add(s, 7, false);
    copy_file(wal, cpwal);
    add(s, 8, false); /* written after the snapshot: gone */
    state_close(s);
    /* The snapshot's WAL holds the open connection's frames up to seq 7;
     * cut into its last frame. */
    assert_true(file_size(cpwal) > 100);
    assert_int_equal(truncate(cpwal, file_size(cpwal) - 100), 0);
    c = open_ok(cp);
    v = outbox_of(c);
    /* Rows 1..6 were checkpointed into the main file before; 7's commit
     * frame is torn, so 7 is lost and nothing else is. */
    assert_int_equal(v.n, 6);
    for (int i = 0; i < 6; i++)
        assert_int_equal(v.seq[i], (uint64_t)i + 1);
    add(c, 9, false); /* and the journal still takes writes */
    assert_int_equal(state_journal_pending(c), 7);
    state_close(c);
}

/* Every write past the file's current size fails (EFBIG), as on a full
 * disk; returns the limit in force before. */
static struct rlimit
limit_file_size(rlim_t bytes)
{
    struct rlimit old, now;

    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    now = old;
    now.rlim_cur = bytes;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &now), 0);
    return old;
}

/* A journal that cannot grow: opening it is not an error but a degraded
 * state; messages it cannot store are held in memory, replayed in seq order
 * with the file's rows, freed by their acknowledgement and counted; once it
 * can be written, state_retry moves them into the file and reserves seq
 * past the ones handed out. */
static void
test_full_disk_degrades_to_memory(void **st)
{
    char p[128], wal[160];
    struct state *s = NULL;
    struct state_stats ss;
    struct rlimit old;
    struct seen v;
    (void)st;

    strcpy(p, db_path("full.db"));
    snprintf(wal, sizeof(wal), "%s-wal", p);
    s = open_ok(p);
    add(s, 1, false);
    add(s, 2, true);
    /* The disk fills up: neither the file nor its WAL can grow. */
    old = limit_file_size((rlim_t)(file_size(p) > file_size(wal) ? file_size(p) : file_size(wal)));
    assert_true(state_writable(s));
    assert_int_equal(state_journal_pending(s), 2);
    for (uint64_t q = 2 * STATE_SEQ_BLOCK + 1; q <= 2 * STATE_SEQ_BLOCK + 3; q++) {
        assert_int_equal(state_use_seq(s, q), q <= 2 * STATE_SEQ_BLOCK ? 0 : -EIO);
        assert_int_equal(state_journal_add(s, q, "event", "{}", false, q == 2 * STATE_SEQ_BLOCK + 1,
                                           NULL),
                         -EIO);
    }
    state_get_stats(s, &ss);
    assert_int_equal(ss.pending, 5);
    assert_int_equal(ss.unstored, 3);
    assert_int_equal(ss.volatile_n, 3);
    assert_int_equal(ss.unreserved, 3);
    v = outbox_of(s);
    assert_int_equal(v.n, 5);
    assert_int_equal(v.seq[0], 1);
    assert_int_equal(v.seq[1], 2);
    for (int i = 2; i < 5; i++)
        assert_int_equal(v.seq[i], 2 * STATE_SEQ_BLOCK + (uint64_t)i - 1);
    /* The publish window reads them merged in seq order too. */
    {
        struct window_read w = {0};
        assert_int_equal(state_journal_next(s, 1, 3, take, &w), 3);
        assert_int_equal(w.seq[0], 2);
        assert_int_equal(w.seq[1], 2 * STATE_SEQ_BLOCK + 1);
        assert_int_equal(w.seq[2], 2 * STATE_SEQ_BLOCK + 2);
        w = (struct window_read){0};
        assert_int_equal(state_journal_next(s, 2 * STATE_SEQ_BLOCK + 1, 10, take, &w), 2);
        assert_int_equal(w.seq[1], 2 * STATE_SEQ_BLOCK + 3);
    }
    /* An acknowledgement frees a held message at once. */
    state_journal_done(s, 2 * STATE_SEQ_BLOCK + 2);
    state_get_stats(s, &ss);
    assert_int_equal(ss.volatile_n, 2);
    assert_int_equal(ss.pending, 4);
    /* Still full: the retry fails and changes nothing. */
    assert_int_equal(state_retry(s, 2 * STATE_SEQ_BLOCK + 4), -EIO);
    assert_false(state_writable(s));

    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    assert_int_equal(state_retry(s, 2 * STATE_SEQ_BLOCK + 4), 0);
    assert_true(state_writable(s));
    state_get_stats(s, &ss);
    assert_int_equal(ss.volatile_n, 0);
    assert_int_equal(ss.pending, 4);
    assert_int_equal(ss.unstored, 3); /* a count since start, not a level */
    state_close(s);

    /* What memory held is in the file now, and seq goes on past it. */
    s = open_ok(p);
    v = outbox_of(s);
    assert_int_equal(v.n, 4);
    assert_int_equal(v.seq[2], 2 * STATE_SEQ_BLOCK + 1);
    assert_int_equal(v.seq[3], 2 * STATE_SEQ_BLOCK + 3);
    assert_true(state_first_seq(s) > 2 * STATE_SEQ_BLOCK + 4);
    state_close(s);
}

/* A new file on a disk with no room at all: still not an error (it starts
 * degraded with nothing restored); a file in a missing directory is one. */
static void
test_new_file_on_full_disk(void **st)
{
    char p[128], err[256] = "";
    struct state *s = NULL;
    struct rlimit old;
    (void)st;

    strcpy(p, db_path("new-full.db"));
    old = limit_file_size(0);
    assert_int_equal(state_open(&s, p, err, sizeof(err)), 0);
    assert_false(state_writable(s));
    assert_int_equal(state_journal_add(s, state_first_seq(s), "event", "{}", false, true, NULL),
                     -EIO);
    assert_int_equal(state_journal_pending(s), 1);
    assert_int_equal(state_retry(s, 2), -EIO);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    assert_int_equal(state_retry(s, 2), 0);
    assert_int_equal(state_journal_pending(s), 1);
    state_close(s);

    s = NULL;
    assert_int_equal(state_open(&s, db_path("no/such/dir/j.db"), err, sizeof(err)), -EIO);
    assert_null(s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seq_reserved_in_blocks_and_never_repeats),
        cmocka_unit_test(test_outbox_kept_until_acknowledged),
        cmocka_unit_test(test_outbox_read_in_windows),
        cmocka_unit_test(test_alarm_states_restored),
        cmocka_unit_test(test_zone_states_restored),
        cmocka_unit_test(test_journal_max_drops_oldest_non_critical),
        cmocka_unit_test(test_garbage_file_refused_with_reason),
        cmocka_unit_test(test_truncated_file),
        cmocka_unit_test(test_torn_wal_keeps_committed_rows),
        cmocka_unit_test(test_full_disk_degrades_to_memory),
        cmocka_unit_test(test_new_file_on_full_disk),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
