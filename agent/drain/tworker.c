/*
 * tworker.c - the thread behind one drain target; see tworker.h.
 */
#include "tworker.h"

#include <errno.h>
#include <time.h>

int
tworker_init(struct tworker *w, size_t log_size, size_t log_max, int notify_fd)
{
    pthread_condattr_t ca;
    int rc = mailbox_init(&w->reports, log_size, log_max, MAILBOX_DROP_OLD, notify_fd);

    if (rc < 0)
        return rc;
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cond, &ca);
    pthread_condattr_destroy(&ca);
    return 0;
}

void
tworker_fini(struct tworker *w)
{
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->mu);
    mailbox_fini(w->reports);
    w->reports = NULL;
}

static void *
thread_main(void *arg)
{
    struct tworker *w = arg;
    uint64_t last_gen = 0;
    bool first = true;

    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        int want = w->want;
        uint64_t gen = w->gen;
        bool new_gen = first || gen != last_gen;
        struct timespec until;
        int64_t wait_ms;

        w->refresh_now = false;
        pthread_mutex_unlock(&w->mu);
        wait_ms = w->pass(w->owner, want, gen, new_gen);
        pthread_mutex_lock(&w->mu);
        last_gen = gen;
        first = false;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += wait_ms / 1000;
        until.tv_nsec += (wait_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!w->stop && !w->refresh_now && w->gen == gen)
            if (pthread_cond_timedwait(&w->cond, &w->mu, &until) == ETIMEDOUT)
                break;
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

int
tworker_run(struct tworker *w, tworker_pass pass, void *owner)
{
    int rc;

    w->pass = pass;
    w->owner = owner;
    rc = pthread_create(&w->thread, NULL, thread_main, w);
    if (rc != 0) {
        tworker_fini(w);
        return -rc;
    }
    return 0;
}

void
tworker_stop(struct tworker *w)
{
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    tworker_fini(w);
}

void
tworker_want(struct tworker *w, int want, uint64_t gen)
{
    pthread_mutex_lock(&w->mu);
    w->want = want;
    w->gen = gen;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->mu);
}

void
tworker_refresh(struct tworker *w)
{
    pthread_mutex_lock(&w->mu);
    w->refresh_now = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->mu);
}
