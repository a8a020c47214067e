/*
 * mailbox.c - a mutex-guarded ring of items plus a wakeup fd for the loop.
 *
 * Producers queue under the lock and write the wakeup after unlocking, so an
 * item is always in the ring before the fd that announces it turns readable;
 * a wakeup that finds the ring already emptied is harmless.
 */
#include "mailbox.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct mailbox {
    pthread_mutex_t lock;
    unsigned char *ring;
    size_t item_size;
    size_t cap;
    size_t head; /* index of the oldest item */
    size_t len;
    enum mailbox_full full;
    uint64_t dropped;
    int fd;
    bool own_fd;
};

int
mailbox_init(struct mailbox **out, size_t item_size, size_t capacity, enum mailbox_full full,
             int wake_fd)
{
    struct mailbox *mb;
    int rc;

    if (item_size == 0 || capacity == 0)
        return -EINVAL;
    mb = calloc(1, sizeof(*mb));
    if (mb == NULL)
        return -ENOMEM;
    mb->ring = calloc(capacity, item_size);
    if (mb->ring == NULL) {
        free(mb);
        return -ENOMEM;
    }
    mb->item_size = item_size;
    mb->cap = capacity;
    mb->full = full;
    mb->fd = wake_fd;
    if (wake_fd < 0) {
        mb->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (mb->fd < 0) {
            rc = -errno;
            free(mb->ring);
            free(mb);
            return rc;
        }
        mb->own_fd = true;
    }
    pthread_mutex_init(&mb->lock, NULL);
    *out = mb;
    return 0;
}

void
mailbox_fini(struct mailbox *mb)
{
    if (mb == NULL)
        return;
    if (mb->own_fd)
        close(mb->fd);
    pthread_mutex_destroy(&mb->lock);
    free(mb->ring);
    free(mb);
}

static unsigned char *
slot(struct mailbox *mb, size_t i)
{
    return mb->ring + ((mb->head + i) % mb->cap) * mb->item_size;
}

int
mailbox_wake(struct mailbox *mb)
{
    uint64_t one = 1;

    /* EAGAIN: the counter (or the shared pipe) already holds a wakeup. */
    if (write(mb->fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        return -errno;
    return 0;
}

int
mailbox_post(struct mailbox *mb, const void *items, size_t n)
{
    const unsigned char *p = items;
    bool dropped = false;
    int rc;

    pthread_mutex_lock(&mb->lock);
    for (size_t i = 0; i < n; i++) {
        if (mb->len == mb->cap) {
            mb->dropped++;
            dropped = true;
            if (mb->full == MAILBOX_DROP_NEW)
                continue;
            mb->head = (mb->head + 1) % mb->cap;
            mb->len--;
        }
        memcpy(slot(mb, mb->len), p + i * mb->item_size, mb->item_size);
        mb->len++;
    }
    pthread_mutex_unlock(&mb->lock);
    rc = mailbox_wake(mb);
    if (rc < 0)
        return rc;
    return dropped ? -ENOBUFS : 0;
}

size_t
mailbox_take(struct mailbox *mb, void *out, size_t max)
{
    unsigned char *o = out;
    uint64_t v;
    size_t n, left;

    pthread_mutex_lock(&mb->lock);
    /* Reset our own counter first: a post after this point writes again. */
    if (mb->own_fd && read(mb->fd, &v, sizeof(v)) < 0) {
        /* EAGAIN: nothing was signalled since the last take. */
    }
    n = mb->len < max ? mb->len : max;
    for (size_t i = 0; i < n; i++)
        memcpy(o + i * mb->item_size, slot(mb, i), mb->item_size);
    mb->head = (mb->head + n) % mb->cap;
    mb->len -= n;
    if (mb->len == 0)
        mb->head = 0;
    left = mb->len;
    pthread_mutex_unlock(&mb->lock);
    /* Items left over: stay readable so the loop comes back for them. */
    if (left > 0 && mailbox_wake(mb) < 0) {
        /* The fd is gone; the next post reports it. */
    }
    return n;
}

int
mailbox_fd(const struct mailbox *mb)
{
    return mb->fd;
}

void
mailbox_counts(struct mailbox *mb, size_t *waiting, uint64_t *dropped)
{
    pthread_mutex_lock(&mb->lock);
    *waiting = mb->len;
    *dropped = mb->dropped;
    pthread_mutex_unlock(&mb->lock);
}
