/*
 * debounce.h - leading-edge debounce with a lockout, for contact inputs.
 *
 * An edge that changes the debounced value while the input is outside its
 * lockout is reported at once, with the edge's own timestamp, and starts a
 * lockout of `window` microseconds.  Edges inside the lockout only update the
 * raw level.  When the lockout ends the caller re-reads the raw level and
 * hands it to debounce_expire(): if it differs from the debounced value the
 * change is reported (timestamped at the end of the lockout) and a new
 * lockout starts.  So a single clean edge costs no delay, a contact that
 * chatters faster than the window gives at most one change per window (the
 * timestamps of consecutive changes are at least `window` apart), and the
 * level the contact settles at is never lost.
 *
 * This module is pure: time is always passed in (CLOCK_MONOTONIC
 * microseconds in emberd), nothing is read or printed, so tests drive it with
 * made-up instants.
 */
#ifndef EMBER_DEBOUNCE_H
#define EMBER_DEBOUNCE_H

#include <stdint.h>

struct debounce {
    int64_t window_us; /* lockout length; 0 reports every change at once */
    int value;         /* debounced level, 0 or 1 */
    int raw;           /* last raw level seen */
    int64_t last_us;   /* latest instant fed in: time never runs backwards */
    int64_t until_us;  /* end of the current lockout, -1 when not locked out */
};

/* A change of the debounced value. */
struct debounce_change {
    int value;
    int64_t t_us;
};

/* Starts unlocked at `level` (not a change: nothing is reported for it). */
void debounce_init(struct debounce *d, int64_t window_ms, int level, int64_t now_us);

/* Feeds one raw edge: the input was at `level` at t_us.  Edges must come in
 * time order (an earlier t_us is treated as the latest one seen).  A lockout
 * that ended before t_us is closed first with the raw level known then, so an
 * edge read late still gives the changes it would have given on time.
 * Writes the resulting changes, oldest first, to out[] and returns how many
 * (0, 1 or 2). */
int debounce_edge(struct debounce *d, int level, int64_t t_us, struct debounce_change out[2]);

/* When debounce_deadline() is reached: ends the lockout with the re-read raw
 * `level`.  Returns 1 and fills *out when the debounced value changes (and a
 * new lockout starts), else 0.  Before the deadline it does nothing. */
int debounce_expire(struct debounce *d, int level, int64_t now_us, struct debounce_change *out);

/* The end of the current lockout (microseconds) or -1 when there is none. */
int64_t debounce_deadline(const struct debounce *d);

#endif
