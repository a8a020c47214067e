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

struct inflight {
    uint64_t seq_of[INFLIGHT_MIDS]; /* message id -> seq awaiting PUBACK; 0: none */
    int count, cap;
    uint64_t cursor;
};

struct inflight *
inflight_new(int cap)
{
    struct inflight *w;

    if (cap < 1 || cap >= INFLIGHT_MIDS)
        return NULL;
    w = xcalloc(1, sizeof(*w));
    w->cap = cap;
    return w;
}

void
inflight_free(struct inflight *w)
{
    free(w);
}

void
inflight_reset(struct inflight *w)
{
    memset(w->seq_of, 0, sizeof(w->seq_of));
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

static uint64_t *
slot(struct inflight *w, int mid)
{
    if (mid <= 0 || mid >= INFLIGHT_MIDS)
        return NULL;
    return &w->seq_of[mid];
}

uint64_t
inflight_sent(struct inflight *w, int mid, uint64_t seq)
{
    uint64_t *p = slot(w, mid);
    uint64_t evicted;

    if (seq > w->cursor)
        w->cursor = seq;
    if (p == NULL)
        return 0;
    evicted = *p;
    if (evicted == 0)
        w->count++;
    *p = seq;
    return evicted;
}

uint64_t
inflight_acked(struct inflight *w, int mid)
{
    uint64_t *p = slot(w, mid);
    uint64_t seq;

    if (p == NULL || *p == 0)
        return 0;
    seq = *p;
    *p = 0;
    w->count--;
    return seq;
}
