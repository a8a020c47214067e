/*
 * tworker.h - the thread behind one drain target (a HAProxy instance or
 * BIRD, a [dns] section): it runs passes that converge the wanted state
 * handed to it and read the target back, and between passes waits for a new
 * want, a refresh, a stop or the period the last pass asked for.
 *
 * The owner embeds a struct tworker, guards its own view with `mu`, and
 * reports to the loop through `reports` (a mailbox that wakes the loop).
 */
#ifndef EMBER_TWORKER_H
#define EMBER_TWORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mailbox.h"

/* One pass, run without `mu` held: converge to want (new_gen: the first
 * pass of generation gen), publish the view under `mu`, wake the loop if it
 * should look; returns how long to wait before the next pass (ms). */
typedef int64_t (*tworker_pass)(void *owner, int want, uint64_t gen, bool new_gen);

struct tworker {
    pthread_mutex_t mu; /* guards the fields below and the owner's view */
    struct mailbox *reports;
    pthread_t thread;
    pthread_cond_t cond;
    bool stop;
    bool refresh_now;
    int want; /* enum hx_want */
    uint64_t gen;
    tworker_pass pass;
    void *owner;
};

/* Sets up the mailbox (log_max entries of log_size bytes, oldest dropped,
 * waking notify_fd) and the lock.  Returns 0 or -errno. */
int tworker_init(struct tworker *w, size_t log_size, size_t log_max, int notify_fd);
/* Starts the thread (after tworker_init, once the owner's view is set up).
 * On failure the lock and the mailbox are released.  Returns 0 or -errno. */
int tworker_run(struct tworker *w, tworker_pass pass, void *owner);
/* Stops and joins the thread and releases what tworker_init set up. */
void tworker_stop(struct tworker *w);
/* Releases what tworker_init set up when tworker_run was never called. */
void tworker_fini(struct tworker *w);

/* A new wanted state (a new generation): the thread acts at once. */
void tworker_want(struct tworker *w, int want, uint64_t gen);
/* Read back now, not at the end of the period. */
void tworker_refresh(struct tworker *w);

#endif
