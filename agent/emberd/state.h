/*
 * state.h - the journal: what must survive a restart, a broker outage or a
 * power cut.  SQLite in WAL mode with synchronous=FULL.
 *
 *  - outbox: every event and drain request, with its seq and original ts,
 *    from before it is published until the broker's PUBACK; replayed in seq
 *    order on every connect.  Bounded: past journal_max rows the oldest
 *    non-critical rows are dropped (and counted); critical ones never are.
 *  - seq: reserved in durable blocks, so a crash or power cut can make seq
 *    skip ahead but never repeat.
 *  - alarm states (active, acknowledged, shelved), written with each event,
 *    and zone states (the drain request last published, with its seq),
 *    written with each drain request, so a restart brings back what the
 *    zone was saying and never announces a "none" it did not decide.
 *
 * A journal that cannot be written (a full disk, an I/O error) never stops
 * emberd: state_open() opens it degraded, and while it is degraded what
 * cannot reach the disk is held in memory (bounded by journal_max like the
 * file), replayed like any row and freed by its PUBACK.  Every failure is
 * counted (state_get_stats).  Seq uniqueness across such a restart comes
 * from the epoch in every payload, not from the reservation.
 */
#ifndef EMBER_STATE_H
#define EMBER_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct state;

#define STATE_SEQ_BLOCK 1000

struct state_alarm {
    const char *name;
    bool active, acked;
    int64_t shelved_until, since_ms;
    uint64_t seq;
};

struct state_zone {
    const char *name;
    bool request, test;
    int votes;
    int64_t since_ms;
    uint64_t seq;
};

/* Opens (creating if needed) the state file.  A file that cannot be opened
 * or created (missing directory, no permission, not a database) returns
 * -EIO with a readable reason in err.  A file that opens but cannot be
 * written (disk full, I/O error) returns 0 with the state degraded
 * (state_writable false) and the reason in err. */
int state_open(struct state **out, const char *path, char *err, size_t errlen);
void state_close(struct state *s);

/* First sequence number to use in this run. */
uint64_t state_first_seq(const struct state *s);
/* Call before handing out `seq`; reserves a new block when needed.
 * Returns -EIO (counted in unreserved) when the reservation cannot be
 * written; the seq is used anyway. */
int state_use_seq(struct state *s, uint64_t seq);

/* False from the first write that failed until state_retry() succeeds. */
bool state_writable(const struct state *s);
/* While degraded: finishes opening the file, reserves seq past next_seq and
 * moves the messages held in memory into the file.  Returns 0 when the
 * journal is writable again, else -EIO.  Cheap to call when writable. */
int state_retry(struct state *s, uint64_t next_seq);

struct state_stats {
    int64_t pending;     /* messages waiting for a PUBACK (file + memory) */
    uint64_t dropped;    /* dropped by the journal_max bound */
    uint64_t unstored;   /* messages that could not be written to the file */
    int64_t volatile_n;  /* of pending, those held only in memory now */
    uint64_t unreserved; /* seq reservations that could not be written */
};
void state_get_stats(struct state *s, struct state_stats *st);

int state_save_alarm(struct state *s, const struct state_alarm *a);

/* Journals one outgoing message (and, when a is not NULL, the alarm state it
 * reports) in one durable transaction.  topic is the suffix after the
 * agent's base.  Returns 0, or -EIO when the file cannot be written: the
 * message is then held in memory (the caller still publishes it). */
int state_journal_add(struct state *s, uint64_t seq, const char *topic, const char *payload,
                      bool retain, bool critical, const struct state_alarm *a);
/* Like state_journal_add for a zone's drain request, saving the zone's
 * state z with it. */
int state_journal_add_zone(struct state *s, uint64_t seq, const char *topic, const char *payload,
                           bool retain, bool critical, const struct state_zone *z);
/* The broker acknowledged seq: forget it (batched; see state_journal_flush). */
void state_journal_done(struct state *s, uint64_t seq);
/* Writes pending acknowledgements; call periodically (cheap when none). */
int state_journal_flush(struct state *s);
/* Calls fn for every unacknowledged message, oldest seq first. */
int state_journal_each(struct state *s,
                       void (*fn)(void *arg, uint64_t seq, const char *topic, const char *payload,
                                  bool retain),
                       void *arg);
/* Calls fn for up to limit unacknowledged messages with a seq above after,
 * oldest first, until fn returns non-zero (the publish window's refill).
 * Returns how many were handed to fn, or -EIO. */
int state_journal_next(struct state *s, uint64_t after, int limit,
                       int (*fn)(void *arg, uint64_t seq, const char *topic, const char *payload,
                                 bool retain),
                       void *arg);
/* Messages waiting, and messages dropped by the size bound since creation. */
int64_t state_journal_pending(struct state *s);
uint64_t state_journal_dropped(const struct state *s);
void state_set_journal_max(struct state *s, int64_t max_rows);
/* History: events and drain requests the broker has acknowledged, kept in
 * a table of their own (never in the outbox's place) up to max_rows rows
 * (0: none kept) and max_age_ms; a write that fails loses history only. */
void state_set_history(struct state *s, int64_t max_rows, int64_t max_age_ms);
/* Calls fn for the newest `limit` history rows acknowledged at or after
 * since_ms (real ms), oldest first.  Returns how many, or -EIO. */
int state_history_each(struct state *s, int64_t since_ms, int limit,
                       void (*fn)(void *arg, uint64_t seq, int64_t acked_ms, const char *topic,
                                  const char *payload),
                       void *arg);
/* Calls fn for every saved alarm. */
int state_load_alarms(struct state *s, void (*fn)(void *arg, const struct state_alarm *a),
                      void *arg);
/* Calls fn for every saved zone. */
int state_load_zones(struct state *s, void (*fn)(void *arg, const struct state_zone *z), void *arg);

#endif
