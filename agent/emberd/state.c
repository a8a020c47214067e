/*
 * state.c - SQLite-backed sequence numbers, the outbox, and the alarm and
 * zone states a restart brings back, with the in-memory fallback used
 * while the file cannot be written.
 *
 * Owns the SQLite handle and the memory-held messages.  Calls only SQLite,
 * safefile and log_*; never publishes.
 */
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "safefile.h"
#include "util.h"

#define DONE_BATCH 1024

/* A message that could not be written to the file. */
struct mem_msg {
    uint64_t seq;
    char *topic, *payload; /* payload NULL: acknowledged or dropped */
    bool retain, critical;
};

struct state {
    sqlite3 *db;
    sqlite3_stmt *save;
    sqlite3_stmt *save_zone;
    sqlite3_stmt *next;
    sqlite3_stmt *add;
    sqlite3_stmt *del;
    sqlite3_stmt *keep; /* outbox row -> history, on its acknowledgement */
    int64_t history_max;    /* rows; 0: no history */
    int64_t history_age_ms; /* older rows go */
    uint64_t history_lost;  /* acknowledged rows not kept (a write that failed) */
    uint64_t first;
    uint64_t reserved; /* highest seq covered by the durable reservation */
    int64_t max_rows;
    int64_t rows;      /* rows in the outbox (kept in memory) */
    uint64_t dropped;
    uint64_t done[DONE_BATCH];
    int ndone;
    char *path;
    bool ready;    /* schema and statements in place */
    bool writable; /* no write has failed since the last state_retry */
    uint64_t unstored, unreserved;
    struct mem_msg *mem; /* in seq order; [mem_head, nmem) may be live */
    size_t mem_head, nmem, cap_mem;
    int64_t mem_live;
};

static const char schema[] = "CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v INTEGER);"
                             "CREATE TABLE IF NOT EXISTS alarm ("
                             " name TEXT PRIMARY KEY, active INTEGER, acked INTEGER,"
                             " shelved_until INTEGER, since_ms INTEGER, seq INTEGER);"
                             "CREATE TABLE IF NOT EXISTS zone ("
                             " name TEXT PRIMARY KEY, request INTEGER, test INTEGER,"
                             " votes INTEGER, since_ms INTEGER, seq INTEGER);"
                             "CREATE TABLE IF NOT EXISTS outbox ("
                             " seq INTEGER PRIMARY KEY, topic TEXT NOT NULL, payload TEXT NOT NULL,"
                             " retain INTEGER NOT NULL, critical INTEGER NOT NULL);"
                             "CREATE TABLE IF NOT EXISTS history ("
                             " seq INTEGER PRIMARY KEY, topic TEXT NOT NULL, payload TEXT NOT NULL,"
                             " acked_ms INTEGER NOT NULL);"
                             "CREATE INDEX IF NOT EXISTS history_acked ON history (acked_ms);";

static int64_t pending_file(struct state *s);

static int64_t
meta_get(struct state *s, const char *k)
{
    sqlite3_stmt *st;
    int64_t v = 0;

    if (sqlite3_prepare_v2(s->db, "SELECT v FROM meta WHERE k = ?", -1, &st, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_text(st, 1, k, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* A write failed: the journal is degraded until state_retry() succeeds.
 * Logged once per episode; the counters say how much it cost. */
static void
write_failed(struct state *s, const char *what)
{
    if (s->writable)
        log_warnx("journal %s: %s: %s; degraded: messages are held in memory until it can be "
                  "written",
                  s->path, what, s->db ? sqlite3_errmsg(s->db) : "not open");
    s->writable = false;
}

/* Errors that mean "cannot write here now" rather than "wrong file". */
static bool
disk_error(int rc)
{
    rc &= 0xff;
    return rc == SQLITE_FULL || rc == SQLITE_IOERR;
}

static int
reserve(struct state *s, uint64_t upto)
{
    char sql[160];
    int rc;

    /* The reservation must reach the disk before any seq in it is used;
     * the connection runs with synchronous=FULL. */
    snprintf(sql, sizeof(sql), "INSERT OR REPLACE INTO meta (k, v) VALUES ('seq_reserved', %llu);",
             (unsigned long long)upto);
    rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        write_failed(s, "cannot reserve sequence numbers");
        return -EIO;
    }
    s->reserved = upto;
    return 0;
}

/* Schema, reservation and statements: everything that may need to write
 * before the file is usable.  Returns an SQLite result code. */
static int
setup(struct state *s)
{
    sqlite3_stmt *st = NULL;
    int rc;

    /* WAL + FULL: a commit is on disk when it returns, so an event that was
     * journaled survives a power cut (the SD card's own cache permitting). */
    rc = sqlite3_exec(s->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL,
                      NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(s->db, schema, NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(s->db, "SELECT v FROM meta WHERE k = 'seq_reserved'", -1, &st,
                                NULL);
    if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        s->reserved = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (rc == SQLITE_OK && s->save == NULL)
        rc = sqlite3_prepare_v2(s->db,
                                "INSERT OR REPLACE INTO alarm (name, active, acked, shelved_until,"
                                " since_ms, seq) VALUES (?, ?, ?, ?, ?, ?)",
                                -1, &s->save, NULL);
    if (rc == SQLITE_OK && s->save_zone == NULL)
        rc = sqlite3_prepare_v2(s->db,
                                "INSERT OR REPLACE INTO zone (name, request, test, votes,"
                                " since_ms, seq) VALUES (?, ?, ?, ?, ?, ?)",
                                -1, &s->save_zone, NULL);
    if (rc == SQLITE_OK && s->next == NULL)
        rc = sqlite3_prepare_v2(s->db,
                                "SELECT seq, topic, payload, retain FROM outbox WHERE seq > ?"
                                " ORDER BY seq LIMIT ?",
                                -1, &s->next, NULL);
    if (rc == SQLITE_OK && s->add == NULL)
        rc = sqlite3_prepare_v2(s->db,
                                "INSERT OR REPLACE INTO outbox (seq, topic, payload, retain, critical)"
                                " VALUES (?, ?, ?, ?, ?)",
                                -1, &s->add, NULL);
    if (rc == SQLITE_OK && s->del == NULL)
        rc = sqlite3_prepare_v2(s->db, "DELETE FROM outbox WHERE seq = ?", -1, &s->del, NULL);
    /* Events and drain requests only: the journal self-alarm's rows are
     * about the journal itself. */
    if (rc == SQLITE_OK && s->keep == NULL)
        rc = sqlite3_prepare_v2(s->db,
                                "INSERT OR REPLACE INTO history (seq, topic, payload, acked_ms)"
                                " SELECT seq, topic, payload, ? FROM outbox WHERE seq = ?"
                                " AND (topic = 'event' OR topic LIKE 'drain/%')",
                                -1, &s->keep, NULL);
    if (rc == SQLITE_OK) {
        s->ready = true;
        s->rows = -1;
        s->rows = pending_file(s);
        s->dropped = (uint64_t)meta_get(s, "dropped");
    }
    return rc;
}

/* A full disk: the file cannot be created, and SQLite's own attempt then
 * fails the same way, which state_open() takes as a degraded start. */
static bool
no_space(int rc)
{
    return rc == -ENOSPC || rc == -EDQUOT;
}

/*
 * The journal may sit in a directory other users can write (a 1777 /tmp),
 * and emberd may run as root: a planted link would have SQLite overwrite
 * the file it points at, and a planted journal would be replayed under this
 * agent's name.  So the file is created or opened here first, by the
 * safefile rules, and SQLite then opens that same file (no link followed,
 * same inode).  SQLite's side files get the same rules; the WAL and its
 * index are created here, so none of them can be planted between this
 * check and SQLite's own open.  Returns an open descriptor of the journal,
 * to compare with what SQLite opened, or -errno with err filled in.
 */
static int
journal_claim(const char *path, char *err, size_t errlen)
{
    static const char *const sides[] = {"-wal", "-shm", "-journal"};
    size_t n = strlen(path) + 16;
    char *side = xcalloc(1, n);
    int fd, sfd, rc = 0;

    fd = safefile_open(path, O_RDWR | O_CREAT, 0640, err, errlen);
    for (size_t i = 0; fd >= 0 && i < ARRAY_LEN(sides) && rc == 0; i++) {
        snprintf(side, n, "%s%s", path, sides[i]);
        if (strcmp(sides[i], "-journal") == 0)
            rc = safefile_check_path(side, SAFEFILE_REGULAR, err, errlen);
        else if ((sfd = safefile_open(side, O_RDWR | O_CREAT, 0640, err, errlen)) >= 0)
            close(sfd);
        else if (!no_space(sfd))
            rc = sfd;
    }
    free(side);
    if (fd >= 0 && rc < 0) {
        close(fd);
        return rc;
    }
    return fd;
}

/* True when path names, without following a link, the file open as fd. */
static bool
same_file(const char *path, int fd)
{
    struct stat a, b;

    return lstat(path, &a) == 0 && fstat(fd, &b) == 0 && S_ISREG(a.st_mode) &&
           a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int
state_open(struct state **out, const char *path, char *err, size_t errlen)
{
    struct state *s;
    int rc, fd;

    if ((fd = journal_claim(path, err, errlen)) < 0 && !no_space(fd))
        return fd == -EPERM ? -EPERM : -EIO;
    s = xcalloc(1, sizeof(*s));
    s->max_rows = 100000;
    s->path = xstrdup(path);
    s->writable = true;
    rc = sqlite3_open_v2(path, &s->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW, NULL);
    if (fd >= 0 && rc == SQLITE_OK && !same_file(path, fd)) {
        close(fd);
        snprintf(err, errlen, "%s: was replaced while it was being opened; not used", path);
        state_close(s);
        return -EPERM;
    }
    if (fd >= 0)
        close(fd);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(s->db, 2000);
        rc = setup(s);
    }
    if (rc != SQLITE_OK && !(s->db != NULL && disk_error(sqlite3_extended_errcode(s->db)))) {
        snprintf(err, errlen, "%s: %s", path, s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        state_close(s);
        return -EIO;
    }
    s->first = s->reserved + 1;
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "%s: cannot set up: %s", path, sqlite3_errmsg(s->db));
        write_failed(s, "cannot set up the file");
    } else if (reserve(s, s->reserved + STATE_SEQ_BLOCK) < 0) {
        /* A read-only file is a configuration error; a full disk is not. */
        if (!disk_error(sqlite3_extended_errcode(s->db))) {
            snprintf(err, errlen, "%s: cannot write: %s", path, sqlite3_errmsg(s->db));
            state_close(s);
            return -EIO;
        }
        snprintf(err, errlen, "%s: cannot write: %s", path, sqlite3_errmsg(s->db));
    }
    *out = s;
    return 0;
}

void
state_close(struct state *s)
{
    if (s == NULL)
        return;
    if (s->db != NULL)
        state_journal_flush(s);
    if (s->mem_live > 0)
        log_warnx("journal %s: %lld %s held only in memory %s lost (the file could not "
                  "be written)",
                  s->path, (long long)s->mem_live, plural(s->mem_live, "message", "messages"),
                  plural(s->mem_live, "is", "are"));
    for (size_t i = s->mem_head; i < s->nmem; i++) {
        free(s->mem[i].topic);
        free(s->mem[i].payload);
    }
    free(s->mem);
    free(s->path);
    sqlite3_finalize(s->save);
    sqlite3_finalize(s->save_zone);
    sqlite3_finalize(s->next);
    sqlite3_finalize(s->add);
    sqlite3_finalize(s->del);
    sqlite3_finalize(s->keep);
    sqlite3_close(s->db);
    free(s);
}

uint64_t
state_first_seq(const struct state *s)
{
    return s->first;
}

int
state_use_seq(struct state *s, uint64_t seq)
{
    if (seq <= s->reserved)
        return 0;
    /* While degraded only state_retry() writes the reservation: one failed
     * write per seq would slow the loop down for nothing. */
    if (!s->ready || !s->writable || reserve(s, seq + STATE_SEQ_BLOCK) < 0) {
        s->unreserved++;
        return -EIO;
    }
    return 0;
}

bool
state_writable(const struct state *s)
{
    return s->writable;
}

int
state_save_alarm(struct state *s, const struct state_alarm *a)
{
    int rc;

    if (a == NULL)
        return 0;
    if (!s->ready) {
        write_failed(s, "cannot save alarm states");
        return -EIO;
    }
    sqlite3_bind_text(s->save, 1, a->name, -1, SQLITE_STATIC);
    sqlite3_bind_int(s->save, 2, a->active);
    sqlite3_bind_int(s->save, 3, a->acked);
    sqlite3_bind_int64(s->save, 4, a->shelved_until);
    sqlite3_bind_int64(s->save, 5, a->since_ms);
    sqlite3_bind_int64(s->save, 6, (sqlite3_int64)a->seq);
    rc = sqlite3_step(s->save);
    sqlite3_reset(s->save);
    if (rc != SQLITE_DONE) {
        write_failed(s, "cannot save alarm states");
        return -EIO;
    }
    return 0;
}

int
state_load_alarms(struct state *s, void (*fn)(void *arg, const struct state_alarm *a), void *arg)
{
    sqlite3_stmt *st;
    int rc;

    if (!s->ready)
        return 0; /* a new file that could not be set up holds no states */
    rc = sqlite3_prepare_v2(s->db,
                            "SELECT name, active, acked, shelved_until, since_ms, seq FROM alarm",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return -EIO;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct state_alarm a = {
            .name = (const char *)sqlite3_column_text(st, 0),
            .active = sqlite3_column_int(st, 1) != 0,
            .acked = sqlite3_column_int(st, 2) != 0,
            .shelved_until = sqlite3_column_int64(st, 3),
            .since_ms = sqlite3_column_int64(st, 4),
            .seq = (uint64_t)sqlite3_column_int64(st, 5),
        };
        if (a.name != NULL)
            fn(arg, &a);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -EIO;
}

static int
save_zone(struct state *s, const struct state_zone *z)
{
    int rc;

    if (z == NULL)
        return 0;
    sqlite3_bind_text(s->save_zone, 1, z->name, -1, SQLITE_STATIC);
    sqlite3_bind_int(s->save_zone, 2, z->request);
    sqlite3_bind_int(s->save_zone, 3, z->test);
    sqlite3_bind_int(s->save_zone, 4, z->votes);
    sqlite3_bind_int64(s->save_zone, 5, z->since_ms);
    sqlite3_bind_int64(s->save_zone, 6, (sqlite3_int64)z->seq);
    rc = sqlite3_step(s->save_zone);
    sqlite3_reset(s->save_zone);
    if (rc != SQLITE_DONE) {
        log_warnx("state: cannot save zone %s: %s", z->name, sqlite3_errmsg(s->db));
        return -EIO;
    }
    return 0;
}

int
state_load_zones(struct state *s, void (*fn)(void *arg, const struct state_zone *z), void *arg)
{
    sqlite3_stmt *st;
    int rc;

    if (!s->ready)
        return 0; /* a new file that could not be set up holds no states */
    rc = sqlite3_prepare_v2(s->db, "SELECT name, request, test, votes, since_ms, seq FROM zone", -1,
                            &st, NULL);
    if (rc != SQLITE_OK)
        return -EIO;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct state_zone z = {
            .name = (const char *)sqlite3_column_text(st, 0),
            .request = sqlite3_column_int(st, 1) != 0,
            .test = sqlite3_column_int(st, 2) != 0,
            .votes = sqlite3_column_int(st, 3),
            .since_ms = sqlite3_column_int64(st, 4),
            .seq = (uint64_t)sqlite3_column_int64(st, 5),
        };
        if (z.name != NULL)
            fn(arg, &z);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -EIO;
}

/* Makes room under the bound: the oldest non-critical rows go first, and
 * are counted; critical rows are never dropped (the bound then overflows). */
static void
enforce_bound(struct state *s)
{
    char sql[200];
    int64_t excess = s->rows + 1 - s->max_rows;
    char oldest[32];
    int n;

    if (excess <= 0)
        return;
    snprintf(sql, sizeof(sql),
             "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox WHERE critical = 0"
             " ORDER BY seq LIMIT %lld)",
             (long long)excess);
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return;
    n = sqlite3_changes(s->db);
    if (n > 0) {
        s->rows -= n;
        s->dropped += (uint64_t)n;
        snprintf(sql, sizeof(sql), "INSERT OR REPLACE INTO meta (k, v) VALUES ('dropped', %llu)",
                 (unsigned long long)s->dropped);
        sqlite3_exec(s->db, sql, NULL, NULL, NULL);
        if (n == 1)
            snprintf(oldest, sizeof(oldest), "oldest");
        else
            snprintf(oldest, sizeof(oldest), "%d oldest", n);
        log_warnx("journal: full (%lld %s); dropped the %s non-critical %s "
                  "(%llu dropped in all)",
                  (long long)s->max_rows, plural(s->max_rows, "message", "messages"), oldest,
                  plural(n, "one", "ones"), (unsigned long long)s->dropped);
    }
}

/* Holds a message the file could not take, under the same bound: the
 * oldest non-critical held messages go first, and are counted. */
static void
mem_add(struct state *s, uint64_t seq, const char *topic, const char *payload, bool retain,
        bool critical)
{
    int64_t excess = s->rows + s->mem_live + 1 - s->max_rows;
    struct mem_msg m;

    s->unstored++;
    for (size_t i = s->mem_head; excess > 0 && i < s->nmem; i++) {
        struct mem_msg *old = &s->mem[i];
        if (old->payload == NULL || old->critical)
            continue;
        free(old->payload);
        old->payload = NULL;
        s->mem_live--;
        s->dropped++;
        excess--;
    }
    if (s->nmem == s->cap_mem) {
        /* Drop what is done at the front before growing. */
        size_t live = s->nmem - s->mem_head;
        if (s->mem_head > 0 && s->mem_head >= live) {
            memmove(s->mem, s->mem + s->mem_head, live * sizeof(*s->mem));
            s->nmem = live;
            s->mem_head = 0;
        } else {
            size_t cap = s->cap_mem ? 2 * s->cap_mem : 64;
            struct mem_msg *grown = realloc(s->mem, cap * sizeof(*s->mem));
            if (grown == NULL)
                goto lost;
            s->mem = grown;
            s->cap_mem = cap;
        }
    }
    m.seq = seq;
    m.topic = strdup(topic);
    m.payload = strdup(payload);
    m.retain = retain;
    m.critical = critical;
    if (m.topic == NULL || m.payload == NULL) {
        free(m.topic);
        free(m.payload);
        goto lost;
    }
    s->mem[s->nmem++] = m;
    s->mem_live++;
    return;
lost:
    /* Out of memory as well: the message only goes out live, if at all. */
    s->dropped++;
}

/* Frees held messages from the front once acknowledged or dropped. */
static void
mem_trim(struct state *s)
{
    while (s->mem_head < s->nmem && s->mem[s->mem_head].payload == NULL) {
        free(s->mem[s->mem_head].topic);
        s->mem_head++;
    }
    if (s->mem_head == s->nmem)
        s->mem_head = s->nmem = 0;
}

/* The held message with this seq, or NULL. */
static struct mem_msg *
mem_find(struct state *s, uint64_t seq)
{
    size_t lo = s->mem_head, hi = s->nmem;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->mem[mid].seq < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->nmem && s->mem[lo].seq == seq ? &s->mem[lo] : NULL;
}

static int
file_add(struct state *s, uint64_t seq, const char *topic, const char *payload, bool retain,
         bool critical, const struct state_alarm *a, const struct state_zone *z)
{
    int rc;

    if (!s->ready || sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return -EIO;
    enforce_bound(s);
    sqlite3_bind_int64(s->add, 1, (sqlite3_int64)seq);
    sqlite3_bind_text(s->add, 2, topic, -1, SQLITE_STATIC);
    sqlite3_bind_text(s->add, 3, payload, -1, SQLITE_STATIC);
    sqlite3_bind_int(s->add, 4, retain);
    sqlite3_bind_int(s->add, 5, critical);
    rc = sqlite3_step(s->add);
    sqlite3_reset(s->add);
    if (rc != SQLITE_DONE || state_save_alarm(s, a) < 0 || save_zone(s, z) < 0 ||
        sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        write_failed(s, "cannot store a message");
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        s->rows = -1;
        s->rows = pending_file(s);
        return -EIO;
    }
    s->rows++;
    return 0;
}

static int
journal_add(struct state *s, uint64_t seq, const char *topic, const char *payload, bool retain,
            bool critical, const struct state_alarm *a, const struct state_zone *z)
{
    /* Messages held in memory go to the file first (state_retry), so the
     * file never gets a message ahead of an older held one. */
    if (s->mem_live == 0 && file_add(s, seq, topic, payload, retain, critical, a, z) == 0)
        return 0;
    /* A full disk or a broken file must not stop alarms going out live. */
    write_failed(s, "cannot store a message");
    mem_add(s, seq, topic, payload, retain, critical);
    return -EIO;
}

int
state_journal_add(struct state *s, uint64_t seq, const char *topic, const char *payload,
                  bool retain, bool critical, const struct state_alarm *a)
{
    return journal_add(s, seq, topic, payload, retain, critical, a, NULL);
}

int
state_journal_add_zone(struct state *s, uint64_t seq, const char *topic, const char *payload,
                       bool retain, bool critical, const struct state_zone *z)
{
    return journal_add(s, seq, topic, payload, retain, critical, NULL, z);
}

void
state_journal_done(struct state *s, uint64_t seq)
{
    struct mem_msg *m = s->mem_live > 0 ? mem_find(s, seq) : NULL;

    if (m != NULL && m->payload != NULL) {
        free(m->payload);
        m->payload = NULL;
        s->mem_live--;
        mem_trim(s);
        return;
    }
    if (!s->ready)
        return;
    if (s->ndone == DONE_BATCH)
        state_journal_flush(s);
    s->done[s->ndone++] = seq;
}

/* The acknowledged rows of the batch into the history, and the history cut
 * to its bounds, in a transaction of its own before the deletions: when it
 * fails (a full disk) only history is lost, never an acknowledgement, and
 * the outbox is never cut to make room for it. */
static void
keep_history(struct state *s)
{
    int64_t now = real_ms();
    bool ok = true;
    char sql[160];

    if (s->history_max <= 0 || s->keep == NULL)
        return;
    if (sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return;
    for (int i = 0; i < s->ndone && ok; i++) {
        sqlite3_bind_int64(s->keep, 1, now);
        sqlite3_bind_int64(s->keep, 2, (sqlite3_int64)s->done[i]);
        ok = sqlite3_step(s->keep) == SQLITE_DONE;
        sqlite3_reset(s->keep);
    }
    snprintf(sql, sizeof(sql),
             "DELETE FROM history WHERE acked_ms < %lld OR seq <= (SELECT seq FROM history"
             " ORDER BY seq DESC LIMIT 1 OFFSET %lld)",
             (long long)(now - s->history_age_ms), (long long)s->history_max);
    if (ok)
        ok = sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK;
    if (ok && sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
        return;
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    s->history_lost += (uint64_t)s->ndone;
}

int
state_journal_flush(struct state *s)
{
    int rc = SQLITE_OK;

    if (s->ndone == 0 || !s->ready)
        return 0;
    keep_history(s);
    /* Losing a deletion only means a duplicate after a restart, which
     * consumers dedupe by seq; one transaction per batch keeps it cheap. */
    sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL);
    for (int i = 0; i < s->ndone && rc == SQLITE_OK; i++) {
        sqlite3_bind_int64(s->del, 1, (sqlite3_int64)s->done[i]);
        if (sqlite3_step(s->del) == SQLITE_DONE)
            s->rows -= sqlite3_changes(s->db);
        else
            rc = SQLITE_ERROR;
        sqlite3_reset(s->del);
    }
    if (rc != SQLITE_OK || sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        write_failed(s, "cannot record acknowledgements");
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        /* The batch is given up: those rows go out once more after the
         * next connect or restart (consumers dedupe), and the batch never
         * overflows while the disk stays full. */
        s->ndone = 0;
        s->rows = -1;
        s->rows = pending_file(s);
        return -EIO;
    }
    s->ndone = 0;
    return 0;
}

int
state_journal_each(struct state *s,
                   void (*fn)(void *arg, uint64_t seq, const char *topic, const char *payload,
                              bool retain),
                   void *arg)
{
    sqlite3_stmt *st = NULL;
    size_t i = s->mem_head;
    int rc = SQLITE_DONE;

    /* The file's rows and the held messages, merged in seq order. */
    state_journal_flush(s);
    if (s->ready &&
        sqlite3_prepare_v2(s->db, "SELECT seq, topic, payload, retain FROM outbox ORDER BY seq",
                           -1, &st, NULL) != SQLITE_OK)
        return -EIO;
    while (st != NULL && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        uint64_t seq = (uint64_t)sqlite3_column_int64(st, 0);
        for (; i < s->nmem && s->mem[i].seq < seq; i++)
            if (s->mem[i].payload != NULL)
                fn(arg, s->mem[i].seq, s->mem[i].topic, s->mem[i].payload, s->mem[i].retain);
        fn(arg, seq, (const char *)sqlite3_column_text(st, 1),
           (const char *)sqlite3_column_text(st, 2), sqlite3_column_int(st, 3) != 0);
    }
    sqlite3_finalize(st);
    for (; i < s->nmem; i++)
        if (s->mem[i].payload != NULL)
            fn(arg, s->mem[i].seq, s->mem[i].topic, s->mem[i].payload, s->mem[i].retain);
    return rc == SQLITE_DONE ? 0 : -EIO;
}

int
state_journal_next(struct state *s, uint64_t after, int limit,
                   int (*fn)(void *arg, uint64_t seq, const char *topic, const char *payload,
                             bool retain),
                   void *arg)
{
    size_t i = s->mem_head;
    int rc = SQLITE_DONE, n = 0;
    bool stop = false;

    if (limit <= 0)
        return 0;
    /* The file's rows and the held messages above `after`, merged in seq
     * order, as state_journal_each does for all of them. */
    while (i < s->nmem && s->mem[i].seq <= after)
        i++;
    if (s->ready) {
        sqlite3_bind_int64(s->next, 1, (sqlite3_int64)after);
        sqlite3_bind_int(s->next, 2, limit);
        while (!stop && n < limit && (rc = sqlite3_step(s->next)) == SQLITE_ROW) {
            uint64_t seq = (uint64_t)sqlite3_column_int64(s->next, 0);
            for (; !stop && n < limit && i < s->nmem && s->mem[i].seq < seq; i++)
                if (s->mem[i].payload != NULL && ++n)
                    stop = fn(arg, s->mem[i].seq, s->mem[i].topic, s->mem[i].payload,
                              s->mem[i].retain) != 0;
            if (stop || n >= limit)
                break;
            n++;
            stop = fn(arg, seq, (const char *)sqlite3_column_text(s->next, 1),
                      (const char *)sqlite3_column_text(s->next, 2),
                      sqlite3_column_int(s->next, 3) != 0) != 0;
        }
        if (rc == SQLITE_ROW)
            rc = SQLITE_DONE; /* stopped early, not an error */
        sqlite3_reset(s->next);
    }
    for (; !stop && n < limit && i < s->nmem; i++)
        if (s->mem[i].payload != NULL && ++n)
            stop = fn(arg, s->mem[i].seq, s->mem[i].topic, s->mem[i].payload, s->mem[i].retain) !=
                   0;
    return rc == SQLITE_DONE ? n : -EIO;
}

int64_t
state_journal_pending(struct state *s)
{
    return pending_file(s) + s->mem_live;
}

static int64_t
pending_file(struct state *s)
{
    sqlite3_stmt *st;
    int64_t n = 0;

    if (s->rows >= 0 || !s->ready)
        return s->rows > 0 ? s->rows : 0;
    if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM outbox", -1, &st, NULL) != SQLITE_OK)
        return 0;
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

uint64_t
state_journal_dropped(const struct state *s)
{
    return s->dropped;
}

void
state_set_history(struct state *s, int64_t max_rows, int64_t max_age_ms)
{
    s->history_max = max_rows;
    s->history_age_ms = max_age_ms;
}

int
state_history_each(struct state *s, int64_t since_ms, int limit,
                   void (*fn)(void *arg, uint64_t seq, int64_t acked_ms, const char *topic,
                              const char *payload),
                   void *arg)
{
    sqlite3_stmt *st = NULL;
    int n = 0;

    if (!s->ready)
        return -EIO;
    /* The newest `limit` rows since since_ms, handed out oldest first. */
    if (sqlite3_prepare_v2(s->db,
                           "SELECT seq, acked_ms, topic, payload FROM (SELECT * FROM history"
                           " WHERE acked_ms >= ? ORDER BY seq DESC LIMIT ?) ORDER BY seq",
                           -1, &st, NULL) != SQLITE_OK)
        return -EIO;
    sqlite3_bind_int64(st, 1, since_ms);
    sqlite3_bind_int(st, 2, limit);
    while (sqlite3_step(st) == SQLITE_ROW) {
        fn(arg, (uint64_t)sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
           (const char *)sqlite3_column_text(st, 2), (const char *)sqlite3_column_text(st, 3));
        n++;
    }
    sqlite3_finalize(st);
    return n;
}

void
state_set_journal_max(struct state *s, int64_t max_rows)
{
    s->max_rows = max_rows;
}

void
state_get_stats(struct state *s, struct state_stats *st)
{
    st->pending = state_journal_pending(s);
    st->dropped = s->dropped;
    st->unstored = s->unstored;
    st->volatile_n = s->mem_live;
    st->unreserved = s->unreserved;
}

/* A connection whose set-up failed may keep the I/O error: start afresh. */
static int
reopen(struct state *s)
{
    int rc;

    /* Every statement, or the old connection cannot close. */
    sqlite3_finalize(s->save);
    sqlite3_finalize(s->save_zone);
    sqlite3_finalize(s->next);
    sqlite3_finalize(s->add);
    sqlite3_finalize(s->del);
    sqlite3_finalize(s->keep);
    s->save = s->save_zone = s->next = s->add = s->del = s->keep = NULL;
    sqlite3_close(s->db);
    s->db = NULL;
    rc = sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(s->db, 2000);
        rc = setup(s);
    }
    return rc;
}

int
state_retry(struct state *s, uint64_t next_seq)
{
    uint64_t floor;
    size_t i;

    if (s->writable)
        return 0;
    if (!s->ready && reopen(s) != SQLITE_OK)
        return -EIO;
    /* Past every seq handed out so far, so a restart never reuses one. */
    floor = next_seq > s->reserved ? next_seq : s->reserved;
    if (reserve(s, floor + STATE_SEQ_BLOCK) < 0)
        return -EIO;
    /* Move what memory holds into the file, in one transaction. */
    if (s->mem_live > 0) {
        if (sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
            return -EIO;
        for (i = s->mem_head; i < s->nmem; i++) {
            struct mem_msg *m = &s->mem[i];
            int rc;
            if (m->payload == NULL)
                continue;
            sqlite3_bind_int64(s->add, 1, (sqlite3_int64)m->seq);
            sqlite3_bind_text(s->add, 2, m->topic, -1, SQLITE_STATIC);
            sqlite3_bind_text(s->add, 3, m->payload, -1, SQLITE_STATIC);
            sqlite3_bind_int(s->add, 4, m->retain);
            sqlite3_bind_int(s->add, 5, m->critical);
            rc = sqlite3_step(s->add);
            sqlite3_reset(s->add);
            if (rc != SQLITE_DONE)
                break;
        }
        if (i < s->nmem || sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            return -EIO;
        }
        for (i = s->mem_head; i < s->nmem; i++) {
            if (s->mem[i].payload != NULL)
                s->rows++;
            free(s->mem[i].payload);
            s->mem[i].payload = NULL;
        }
        s->mem_live = 0;
        mem_trim(s);
    }
    s->writable = true;
    log_info("journal %s: writable again (%llu messages were not written to it, %llu seq "
             "reservations failed)",
             s->path, (unsigned long long)s->unstored, (unsigned long long)s->unreserved);
    return 0;
}
