/*
 * mailbox.h - one queue through which worker threads hand items to the poll
 * loop.
 *
 * A mailbox is a bounded FIFO of fixed-size items guarded by a mutex, plus a
 * file descriptor that is readable while items wait.  Any number of threads
 * may post; one thread (the loop's) takes.  The fd is the mailbox's own
 * eventfd, or one the owner passes in (a pipe or eventfd several mailboxes
 * share), in which case the owner empties it before taking.
 *
 * The mailbox owns only its queue and its eventfd; it never prints.
 */
#ifndef EMBER_MAILBOX_H
#define EMBER_MAILBOX_H

#include <stddef.h>
#include <stdint.h>

/* What a post does when the queue is full. */
enum mailbox_full {
    MAILBOX_DROP_NEW, /* the new items are dropped (a queue of readings) */
    MAILBOX_DROP_OLD, /* the oldest items make room (a log of recent events) */
};

struct mailbox;

/* Creates a mailbox of `capacity` items of `item_size` bytes.  wake_fd < 0:
 * the mailbox makes its own eventfd (see mailbox_fd()); else every post
 * writes an 8-byte 1 to wake_fd, which stays the caller's.  Returns 0 or
 * -errno. */
int mailbox_init(struct mailbox **out, size_t item_size, size_t capacity, enum mailbox_full full,
                 int wake_fd);
/* Frees the mailbox and the items still in it; safe on NULL.  No thread may
 * post any more. */
void mailbox_fini(struct mailbox *mb);

/* Queues n items and wakes the loop.  Safe from any thread.  Returns 0, or
 * -ENOBUFS when the queue was full and items were dropped (counted by
 * mailbox_counts()), or -errno when the wakeup could not be written. */
int mailbox_post(struct mailbox *mb, const void *items, size_t n);
/* Wakes the loop with no item (e.g. "my snapshot changed").  Safe from any
 * thread; returns 0 or -errno. */
int mailbox_wake(struct mailbox *mb);
/* Moves up to max items, oldest first, into out; returns how many.  The fd
 * stays readable while items remain.  Loop thread only. */
size_t mailbox_take(struct mailbox *mb, void *out, size_t max);

/* Readable while items wait: the mailbox's eventfd, or the caller's wake_fd. */
int mailbox_fd(const struct mailbox *mb);
/* Items waiting now, and items dropped since mailbox_init(). */
void mailbox_counts(struct mailbox *mb, size_t *waiting, uint64_t *dropped);

#endif
