/*
 * inflight.c - the journal's publish window (see inflight.h).
 *
 * Owns: the message id -> seq table and the window's count and cursor.
 * Calls nothing but the allocator.
 */
#include "inflight.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

/* A small open-addressed table (linear probing, backward-shift delete)
 * sized to the window rather than one slot per possible message id: four
 * slots per message keeps probes short, and the window stays a few KiB
 * instead of 512 KiB of mostly idle ids. */
struct entry {
    int mid; /* 0: empty */
    uint64_t seq;
};

struct inflight {
    struct entry *t;
    size_t mask;
    int count, cap;
    uint64_t cursor;
};

struct inflight *
inflight_new(int cap)
{
    struct inflight *w;
    size_t n = 8;

    if (cap < 1 || cap >= INFLIGHT_MIDS)
        return NULL;
    while (n < (size_t)cap * 4)
        n *= 2;
    w = xcalloc(1, sizeof(*w));
    w->t = xcalloc(n, sizeof(*w->t));
    w->mask = n - 1;
    w->cap = cap;
    return w;
}

void
inflight_free(struct inflight *w)
{
    if (w == NULL)
        return;
    free(w->t);
    free(w);
}

void
inflight_reset(struct inflight *w)
{
    memset(w->t, 0, (w->mask + 1) * sizeof(*w->t));
    w->count = 0;
    w->cursor = 0;
}

int
inflight_room(const struct inflight *w)
{
    return w->cap - w->count;
}

int
inflight_count(const struct inflight *w)
{
    return w->count;
}

bool
inflight_wants_refill(const struct inflight *w)
{
    return w->count <= w->cap / 2;
}

uint64_t
inflight_cursor(const struct inflight *w)
{
    return w->cursor;
}

/* The slot holding mid, or the empty slot where it would go. */
static size_t
find(const struct inflight *w, int mid)
{
    size_t i = ((size_t)mid * 0x9E3779B1u) & w->mask;

    while (w->t[i].mid != 0 && w->t[i].mid != mid)
        i = (i + 1) & w->mask;
    return i;
}

uint64_t
inflight_sent(struct inflight *w, int mid, uint64_t seq)
{
    size_t i;
    uint64_t evicted;

    if (seq > w->cursor)
        w->cursor = seq;
    if (mid <= 0 || mid >= INFLIGHT_MIDS)
        return 0;
    i = find(w, mid);
    evicted = w->t[i].seq;
    if (w->t[i].mid == 0) {
        /* Never fuller than half: past that the message is simply not
         * mapped, stays journaled and goes out again on the next connect
         * (the outbox keeps at most cap in flight, far below this). */
        if ((size_t)w->count >= (w->mask + 1) / 2)
            return 0;
        w->count++;
    }
    w->t[i].mid = mid;
    w->t[i].seq = seq;
    return evicted;
}

uint64_t
inflight_acked(struct inflight *w, int mid)
{
    size_t i, j;
    uint64_t seq;

    if (mid <= 0 || mid >= INFLIGHT_MIDS)
        return 0;
    i = find(w, mid);
    if (w->t[i].mid == 0)
        return 0;
    seq = w->t[i].seq;
    w->count--;
    /* Backward-shift deletion: move later members of the probe run into the
     * hole when their home slot is not between the hole and them. */
    for (j = (i + 1) & w->mask; w->t[j].mid != 0; j = (j + 1) & w->mask) {
        size_t home = ((size_t)w->t[j].mid * 0x9E3779B1u) & w->mask;
        if (((j - home) & w->mask) >= ((j - i) & w->mask)) {
            w->t[i] = w->t[j];
            i = j;
        }
    }
    w->t[i].mid = 0;
    w->t[i].seq = 0;
    return seq;
}
