/*
 * loop.c - poll() loop with sources and one-shot timers.
 */
#include "loop.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#define MAX_SOURCES 64
#define MAX_TIMERS 256

struct source {
    loop_prepare_fn prepare;
    loop_dispatch_fn dispatch;
    void *arg;
    int fd;
    short events;
    bool used;
};

struct timer {
    int id;
    int64_t due_ms;
    loop_timer_fn fn;
    void *arg;
};

struct loop {
    struct source src[MAX_SOURCES];
    struct timer timers[MAX_TIMERS];
    int ntimers;
    int next_id;
    int pipe_rd, pipe_wr;
    bool stop;
};

volatile sig_atomic_t loop_sig_stop;
volatile sig_atomic_t loop_sig_hup;
static int sig_wake_fd = -1; /* the self-pipe the handlers write to, -1 none */

static void
on_signal(int sig)
{
    int saved = errno;
    char c = (char)sig;

    if (sig == SIGHUP)
        loop_sig_hup = 1;
    else
        loop_sig_stop = sig;
    if (sig_wake_fd >= 0 && write(sig_wake_fd, &c, 1) < 0) {
        /* Nothing safe to do here; the flag is set. */
    }
    errno = saved;
}

void
loop_signals(struct loop *l, bool hup)
{
    struct sigaction sa;

    sig_wake_fd = l != NULL ? l->pipe_wr : -1;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (hup)
        sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

static int
fixed_prepare(void *arg, short *events)
{
    (void)arg;
    (void)events;
    return -2; /* handled by the caller: fd and events are stored in the source */
}

int
loop_init(struct loop **out)
{
    struct loop *l = calloc(1, sizeof(*l));
    int p[2];

    if (l == NULL)
        return -ENOMEM;
    if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
        int e = errno;
        free(l);
        return -e;
    }
    l->pipe_rd = p[0];
    l->pipe_wr = p[1];
    l->next_id = 1;
    *out = l;
    return 0;
}

void
loop_fini(struct loop *l)
{
    if (l == NULL)
        return;
    if (sig_wake_fd == l->pipe_wr)
        sig_wake_fd = -1;
    close(l->pipe_rd);
    close(l->pipe_wr);
    free(l);
}

int
loop_wakeup_fd(struct loop *l)
{
    return l->pipe_wr;
}

int
loop_add(struct loop *l, loop_prepare_fn prepare, loop_dispatch_fn dispatch, void *arg)
{
    for (int i = 0; i < MAX_SOURCES; i++) {
        if (!l->src[i].used) {
            l->src[i] = (struct source){prepare, dispatch, arg, -1, 0, true};
            return 0;
        }
    }
    return -ENOSPC;
}

int
loop_add_fd(struct loop *l, int fd, short events, loop_dispatch_fn dispatch, void *arg)
{
    for (int i = 0; i < MAX_SOURCES; i++) {
        if (!l->src[i].used) {
            l->src[i] = (struct source){fixed_prepare, dispatch, arg, fd, events, true};
            return 0;
        }
    }
    return -ENOSPC;
}

void
loop_remove(struct loop *l, void *arg)
{
    for (int i = 0; i < MAX_SOURCES; i++)
        if (l->src[i].used && l->src[i].arg == arg)
            l->src[i].used = false;
}

void
loop_remove_fd(struct loop *l, int fd)
{
    for (int i = 0; i < MAX_SOURCES; i++)
        if (l->src[i].used && l->src[i].prepare == fixed_prepare && l->src[i].fd == fd)
            l->src[i].used = false;
}

int
loop_timer(struct loop *l, int64_t delay_ms, loop_timer_fn fn, void *arg)
{
    if (l->ntimers == MAX_TIMERS)
        return -ENOSPC;
    if (l->next_id == INT32_MAX)
        l->next_id = 1;
    l->timers[l->ntimers++] = (struct timer){l->next_id, mono_ms() + delay_ms, fn, arg};
    return l->next_id++;
}

void
loop_timer_cancel(struct loop *l, int id)
{
    for (int i = 0; i < l->ntimers; i++) {
        if (l->timers[i].id == id) {
            l->timers[i] = l->timers[--l->ntimers];
            return;
        }
    }
}

void
loop_stop(struct loop *l)
{
    l->stop = true;
}

/* Runs every due timer; returns ms until the next one (-1: none). */
static int
run_timers(struct loop *l)
{
    int64_t now = mono_ms(), next = -1;
    bool again = true;

    while (again) {
        again = false;
        for (int i = 0; i < l->ntimers; i++) {
            if (l->timers[i].due_ms <= now) {
                struct timer t = l->timers[i];
                l->timers[i] = l->timers[--l->ntimers];
                t.fn(t.arg);
                again = true; /* the callback may have changed the array */
                break;
            }
        }
    }
    for (int i = 0; i < l->ntimers; i++)
        if (next < 0 || l->timers[i].due_ms < next)
            next = l->timers[i].due_ms;
    if (next < 0)
        return -1;
    now = mono_ms();
    return next <= now ? 0 : (int)(next - now);
}

int
loop_run(struct loop *l)
{
    struct pollfd pfd[MAX_SOURCES + 1];
    int map[MAX_SOURCES + 1];

    l->stop = false;
    while (!l->stop) {
        int n = 0, timeout, rc;

        timeout = run_timers(l);
        if (l->stop)
            break;
        pfd[n] = (struct pollfd){.fd = l->pipe_rd, .events = POLLIN};
        map[n++] = -1;
        for (int i = 0; i < MAX_SOURCES; i++) {
            struct source *s = &l->src[i];
            short ev = 0;
            int fd;
            if (!s->used)
                continue;
            fd = s->prepare(s->arg, &ev);
            if (fd == -2) {
                fd = s->fd;
                ev = s->events;
            }
            if (fd < 0)
                continue;
            pfd[n] = (struct pollfd){.fd = fd, .events = ev};
            map[n++] = i;
        }
        rc = poll(pfd, (nfds_t)n, timeout);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            log_warn("poll");
            return -errno;
        }
        if (pfd[0].revents & POLLIN) {
            char buf[64];
            while (read(l->pipe_rd, buf, sizeof(buf)) > 0)
                ;
            /* The signal flags are checked by whoever called loop_run via a
             * timer-free path: stop here and let the caller look. */
            l->stop = true;
        }
        for (int k = 1; k < n && rc > 0; k++) {
            struct source *s = &l->src[map[k]];
            if (pfd[k].revents != 0 && s->used)
                s->dispatch(s->arg, pfd[k].revents);
        }
    }
    return 0;
}
