/*
 * loop.h - the single poll() loop that owns every fd and timer.
 *
 * Modules register sources (an fd, possibly changing, with the events they
 * want) and one-shot timers; periodic work re-arms its timer.  Nothing in
 * the loop sleeps.  Signals reach the loop through a self-pipe that the
 * handlers write to after setting their flag.
 */
#ifndef EMBER_LOOP_H
#define EMBER_LOOP_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

struct loop;

/* Returns the fd to watch now (or -1 for none) and sets *events. */
typedef int (*loop_prepare_fn)(void *arg, short *events);
typedef void (*loop_dispatch_fn)(void *arg, short revents);
typedef void (*loop_timer_fn)(void *arg);

int loop_init(struct loop **out);
void loop_fini(struct loop *l);

/* Adds a source; prepare is called before every poll(). */
int loop_add(struct loop *l, loop_prepare_fn prepare, loop_dispatch_fn dispatch, void *arg);
/* Adds a fixed fd watched for `events`. */
int loop_add_fd(struct loop *l, int fd, short events, loop_dispatch_fn dispatch, void *arg);
/* Removes every source registered with `arg`. */
void loop_remove(struct loop *l, void *arg);
/* Removes the fixed-fd source watching `fd`. */
void loop_remove_fd(struct loop *l, int fd);

/* Runs fn(arg) once, delay_ms from now.  Returns a timer id > 0. */
int loop_timer(struct loop *l, int64_t delay_ms, loop_timer_fn fn, void *arg);
void loop_timer_cancel(struct loop *l, int id);

/* Runs until loop_stop() or a signal sets *flag; returns 0. */
int loop_run(struct loop *l);
void loop_stop(struct loop *l);

/* Write end of the self-pipe; signal handlers write one byte to it. */
int loop_wakeup_fd(struct loop *l);

/* Set only by the handlers loop_signals() installs: loop_sig_stop holds the
 * number of the last SIGTERM or SIGINT (0: none yet), loop_sig_hup is 1
 * after a SIGHUP until the program clears it. */
extern volatile sig_atomic_t loop_sig_stop;
extern volatile sig_atomic_t loop_sig_hup;

/* Installs the stop handlers for SIGTERM and SIGINT, and the SIGHUP handler
 * when `hup` is true (otherwise SIGHUP keeps its default); they only set the
 * flags above and, when l is not NULL, write one byte to l's self-pipe so
 * that loop_run() returns and the caller can look at the flags.  l NULL is
 * for a program with its own ppoll() that unblocks the signals itself.
 * SIGPIPE is ignored: a peer that closes is an EPIPE, never death.  Call it
 * once, at startup; loop_fini(l) detaches the handlers from l. */
void loop_signals(struct loop *l, bool hup);

#endif
