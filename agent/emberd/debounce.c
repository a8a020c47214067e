/*
 * debounce.c - leading-edge debounce with a lockout (see debounce.h).
 */
#include "debounce.h"

void
debounce_init(struct debounce *d, int64_t window_ms, int level, int64_t now_us)
{
    d->window_us = window_ms > 0 ? window_ms * 1000 : 0;
    d->value = level != 0;
    d->raw = d->value;
    d->last_us = now_us;
    d->until_us = -1;
}

/* Ends the lockout at `end_us` with the raw level `level` observed then (or,
 * for a late re-read whose level no edge announced, at `seen_us`).  Reports a
 * change when the level differs from the debounced value; that change starts
 * the next lockout. */
static int
close_lockout(struct debounce *d, int level, int64_t end_us, int64_t seen_us,
              struct debounce_change *out)
{
    int64_t t = level == d->raw ? end_us : seen_us;

    d->raw = level;
    d->until_us = -1;
    if (level == d->value)
        return 0;
    d->value = level;
    if (d->window_us > 0)
        d->until_us = t + d->window_us;
    out->value = level;
    out->t_us = t;
    return 1;
}

int
debounce_edge(struct debounce *d, int level, int64_t t_us, struct debounce_change out[2])
{
    int n = 0;

    level = level != 0;
    if (t_us < d->last_us)
        t_us = d->last_us;
    d->last_us = t_us;
    /* A lockout that ended before this edge: its end saw the raw level as it
     * was before this edge.  After a change there it runs again, and closing
     * that second lockout can change nothing (raw equals the value then), so
     * this loop reports at most one change. */
    while (d->until_us >= 0 && t_us >= d->until_us)
        n += close_lockout(d, d->raw, d->until_us, d->until_us, &out[n]);
    d->raw = level;
    if (d->until_us < 0 && level != d->value) {
        d->value = level;
        if (d->window_us > 0)
            d->until_us = t_us + d->window_us;
        out[n].value = level;
        out[n].t_us = t_us;
        n++;
    }
    return n;
}

int
debounce_expire(struct debounce *d, int level, int64_t now_us, struct debounce_change *out)
{
    if (d->until_us < 0 || now_us < d->until_us)
        return 0;
    if (now_us < d->last_us)
        now_us = d->last_us;
    d->last_us = now_us;
    return close_lockout(d, level != 0, d->until_us, now_us, out);
}

int64_t
debounce_deadline(const struct debounce *d)
{
    return d->until_us;
}
