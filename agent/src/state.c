/*
 * state.c - SQLite-backed sequence numbers and alarm states.
 */
#include "state.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

struct state {
    sqlite3 *db;
    sqlite3_stmt *save;
    uint64_t first;
    uint64_t reserved; /* highest seq covered by the durable reservation */
};

static const char schema[] = "CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v INTEGER);"
                             "CREATE TABLE IF NOT EXISTS alarm ("
                             " name TEXT PRIMARY KEY, active INTEGER, acked INTEGER,"
                             " shelved_until INTEGER, since_ms INTEGER, seq INTEGER);";

static int
reserve(struct state *s, uint64_t upto)
{
    char sql[160];
    int rc;

    /* The reservation must reach the disk before any seq in it is used. */
    snprintf(sql, sizeof(sql),
             "PRAGMA synchronous=FULL;"
             "INSERT OR REPLACE INTO meta (k, v) VALUES ('seq_reserved', %llu);"
             "PRAGMA synchronous=NORMAL;",
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

    rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(s->db, "PRAGMA journal_mode=WAL;", NULL, NULL, NULL);
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
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path, s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        state_close(s);
        return -EIO;
    }
    s->first = reserved + 1;
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
    sqlite3_finalize(s->save);
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
