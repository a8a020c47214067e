/*
 * state.h - what must survive a restart: the event sequence number and the
 * alarm states (active, acknowledged, shelved).  SQLite in WAL mode.
 *
 * Sequence numbers are reserved in blocks with a full sync, so a crash or a
 * power cut can make seq skip ahead but never repeat.  Alarm states are
 * written with synchronous=NORMAL: after a power cut the latest transitions
 * may be re-derived from fresh readings, which is what they describe anyway.
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

/* Opens (creating if needed) the state file.  On failure returns -errno or
 * -EIO with a readable reason in err. */
int state_open(struct state **out, const char *path, char *err, size_t errlen);
void state_close(struct state *s);

/* First sequence number to use in this run. */
uint64_t state_first_seq(const struct state *s);
/* Call before handing out `seq`; reserves a new block when needed. */
int state_use_seq(struct state *s, uint64_t seq);

int state_save_alarm(struct state *s, const struct state_alarm *a);
/* Calls fn for every saved alarm. */
int state_load_alarms(struct state *s, void (*fn)(void *arg, const struct state_alarm *a),
                      void *arg);

#endif
