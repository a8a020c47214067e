/*
 * state.c - SQLite-backed sequence numbers, the outbox, and the alarm and
 * zone states a restart brings back.
 */
#include "state.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

#define DONE_BATCH 1024

struct state {
    sqlite3 *db;
    sqlite3_stmt *save;
    sqlite3_stmt *save_zone;
    sqlite3_stmt *next;
    sqlite3_stmt *add;
    sqlite3_stmt *del;
    uint64_t first;
    uint64_t reserved; /* highest seq covered by the durable reservation */
    int64_t max_rows;
    int64_t rows;      /* rows in the outbox (kept in memory) */
    uint64_t dropped;
    uint64_t done[DONE_BATCH];
    int ndone;
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
                             " retain INTEGER NOT NULL, critical INTEGER NOT NULL);";

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
        log_warnx("state: cannot reserve sequence numbers: %s", sqlite3_errmsg(s->db));
        return -EIO;
    }
    s->reserved = upto;
    return 0;
}

int
state_open(struct state **out, const char *path, char *err, size_t errlen)
{
    struct state *s = xcalloc(1, sizeof(*s));
    sqlite3_stmt *st = NULL;
    uint64_t reserved = 0;
    int rc;

    s->max_rows = 100000;
    rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc == SQLITE_OK)
        sqlite3_busy_timeout(s->db, 2000);
    /* WAL + FULL: a commit is on disk when it returns, so an event that was
     * journaled survives a power cut (the SD card's own cache permitting). */
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(s->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL,
                          NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(s->db, schema, NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(s->db, "SELECT v FROM meta WHERE k = 'seq_reserved'", -1, &st,
                                NULL);
    if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        reserved = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(s->db,
                                "INSERT OR REPLACE INTO alarm (name, active, acked, shelved_until,"
                                " since_ms, seq) VALUES (?, ?, ?, ?, ?, ?)",
                                -1, &s->save, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(s->db,
                                "INSERT OR REPLACE INTO zone (name, request, test, votes,"
                                " since_ms, seq) VALUES (?, ?, ?, ?, ?, ?)",
                                -1, &s->save_zone, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(s->db,
                                "SELECT seq, topic, payload, retain FROM outbox WHERE seq > ?"
                                " ORDER BY seq LIMIT ?",
                                -1, &s->next, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(s->db,
                                "INSERT OR REPLACE INTO outbox (seq, topic, payload, retain, critical)"
                                " VALUES (?, ?, ?, ?, ?)",
                                -1, &s->add, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(s->db, "DELETE FROM outbox WHERE seq = ?", -1, &s->del, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path, s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        state_close(s);
        return -EIO;
    }
    s->first = reserved + 1;
    s->rows = -1;
    s->rows = state_journal_pending(s);
    s->dropped = (uint64_t)meta_get(s, "dropped");
    if (reserve(s, reserved + STATE_SEQ_BLOCK) < 0) {
        snprintf(err, errlen, "%s: cannot write: %s", path, sqlite3_errmsg(s->db));
        state_close(s);
        return -EIO;
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
    sqlite3_finalize(s->save);
    sqlite3_finalize(s->save_zone);
    sqlite3_finalize(s->next);
    sqlite3_finalize(s->add);
    sqlite3_finalize(s->del);
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
    return reserve(s, seq + STATE_SEQ_BLOCK);
}

int
state_save_alarm(struct state *s, const struct state_alarm *a)
{
    int rc;

    if (a == NULL)
        return 0;
    sqlite3_bind_text(s->save, 1, a->name, -1, SQLITE_STATIC);
    sqlite3_bind_int(s->save, 2, a->active);
    sqlite3_bind_int(s->save, 3, a->acked);
    sqlite3_bind_int64(s->save, 4, a->shelved_until);
    sqlite3_bind_int64(s->save, 5, a->since_ms);
    sqlite3_bind_int64(s->save, 6, (sqlite3_int64)a->seq);
    rc = sqlite3_step(s->save);
    sqlite3_reset(s->save);
    if (rc != SQLITE_DONE) {
        log_warnx("state: cannot save alarm %s: %s", a->name, sqlite3_errmsg(s->db));
        return -EIO;
    }
    return 0;
}

int
state_load_alarms(struct state *s, void (*fn)(void *arg, const struct state_alarm *a), void *arg)
{
    sqlite3_stmt *st;
    int rc;

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
        log_warnx("journal: full (%lld messages); dropped the %d oldest non-critical ones "
                  "(%llu dropped in all)",
                  (long long)s->max_rows, n, (unsigned long long)s->dropped);
    }
}

static int
journal_add(struct state *s, uint64_t seq, const char *topic, const char *payload, bool retain,
            bool critical, const struct state_alarm *a, const struct state_zone *z)
{
    int rc;

    if (sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        goto fail;
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
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        goto fail;
    }
    s->rows++;
    return 0;
fail:
    /* A full disk or a broken file must not stop alarms going out live. */
    log_warnx("journal: cannot store seq %llu: %s", (unsigned long long)seq,
              sqlite3_errmsg(s->db));
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
    if (s->ndone == DONE_BATCH)
        state_journal_flush(s);
    s->done[s->ndone++] = seq;
}

int
state_journal_flush(struct state *s)
{
    int rc = SQLITE_OK;

    if (s->ndone == 0)
        return 0;
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
        log_warnx("journal: cannot record acknowledgements: %s", sqlite3_errmsg(s->db));
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        s->rows = -1;
        s->rows = state_journal_pending(s);
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
    sqlite3_stmt *st;
    int rc;

    state_journal_flush(s);
    if (sqlite3_prepare_v2(s->db, "SELECT seq, topic, payload, retain FROM outbox ORDER BY seq",
                           -1, &st, NULL) != SQLITE_OK)
        return -EIO;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        fn(arg, (uint64_t)sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1),
           (const char *)sqlite3_column_text(st, 2), sqlite3_column_int(st, 3) != 0);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -EIO;
}

int
state_journal_next(struct state *s, uint64_t after, int limit,
                   int (*fn)(void *arg, uint64_t seq, const char *topic, const char *payload,
                             bool retain),
                   void *arg)
{
    int rc, n = 0;

    if (limit <= 0)
        return 0;
    sqlite3_bind_int64(s->next, 1, (sqlite3_int64)after);
    sqlite3_bind_int(s->next, 2, limit);
    while ((rc = sqlite3_step(s->next)) == SQLITE_ROW) {
        n++;
        if (fn(arg, (uint64_t)sqlite3_column_int64(s->next, 0),
               (const char *)sqlite3_column_text(s->next, 1),
               (const char *)sqlite3_column_text(s->next, 2),
               sqlite3_column_int(s->next, 3) != 0) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_reset(s->next);
    return rc == SQLITE_DONE ? n : -EIO;
}

int64_t
state_journal_pending(struct state *s)
{
    sqlite3_stmt *st;
    int64_t n = 0;

    if (s->rows >= 0)
        return s->rows;
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
state_set_journal_max(struct state *s, int64_t max_rows)
{
    s->max_rows = max_rows;
}
