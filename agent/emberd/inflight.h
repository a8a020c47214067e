/*
 * inflight.h - the journal's publish window: which journaled messages are
 * out with the broker awaiting their PUBACK, under which MQTT message id.
 *
 * MQTT message ids are 16 bits and the session hands them out in turn, so
 * publishing more than 65,535 messages at once makes an id come back while
 * the first message that had it still waits for its PUBACK; that PUBACK
 * would then free the wrong journal row.  The outbox therefore keeps at most
 * INFLIGHT_WINDOW journaled messages unacknowledged at a time, refills the
 * window from the journal in seq order as PUBACKs arrive, and maps each
 * PUBACK back to exactly the seq it was for.
 *
 * Pure bookkeeping: no I/O, no clock; the outbox does the publishing.
 */
#ifndef EMBER_INFLIGHT_H
#define EMBER_INFLIGHT_H

#include <stdbool.h>
#include <stdint.h>

/* 1,000 journaled messages unacknowledged at most.  Far below the 65,535
 * message ids: an id could only come back while its message is in flight if
 * some 64,500 other QoS 1 messages (retained states, status) were published
 * within one PUBACK round trip.  Well above the session's own limit of 20
 * messages in flight on the wire, so a replay keeps the link busy; what waits
 * in the session's queue is at most 1,000 messages (a few hundred KiB).  */
#define INFLIGHT_WINDOW 1000

/* MQTT message ids run from 1 to 65,535. */
#define INFLIGHT_MIDS 65536

struct inflight;

/* A window of cap messages (1 <= cap < INFLIGHT_MIDS).  NULL on bad cap. */
struct inflight *inflight_new(int cap);
void inflight_free(struct inflight *w);

/* Forgets every message: on a new connection the session's old ids mean
 * nothing, and the journal is replayed from its oldest row. */
void inflight_reset(struct inflight *w);
/* How many more messages may be published now. */
int inflight_room(const struct inflight *w);
int inflight_count(const struct inflight *w);
/* True when half the window or more is free: refill in batches, not one
 * journal read per PUBACK. */
bool inflight_wants_refill(const struct inflight *w);
/* The highest seq published since the last reset (0: none): the journal
 * is read from the row after it. */
uint64_t inflight_cursor(const struct inflight *w);

/* Records that seq went out under message id mid.  Returns 0, or the seq
 * that mid still stood for (its PUBACK can no longer be told apart: that
 * message stays in the journal and goes out again on the next connect). */
uint64_t inflight_sent(struct inflight *w, int mid, uint64_t seq);
/* The PUBACK for mid: returns the seq it frees and forgets it, or 0 when mid
 * stands for no journaled message (a retained state, or an id from before
 * the last reset). */
uint64_t inflight_acked(struct inflight *w, int mid);

#endif
