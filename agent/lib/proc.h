/*
 * proc.h - running child programs from the poll loop: ember-drain's hooks and
 * emberd's notifiers.
 *
 * One run is one program, started again after a failure up to `retries`
 * times.  Each attempt runs in its own session, with stdin from a payload
 * (written through a non-blocking pipe) or /dev/null, and its stdout and
 * stderr logged line by line, at most max_lines_per_s lines a second (the
 * rest are counted, and the count logged).  Its exit is noticed through a
 * pidfd in the loop; nothing waits.  A timeout or proc_stop() terminates the
 * whole process tree, descendants that called setsid() included: SIGTERM,
 * then SIGKILL after kill_grace_ms.
 *
 * To find such descendants the process becomes a child subreaper
 * (PR_SET_CHILD_SUBREAPER), so orphans of a run are re-parented to it, not
 * to init, and are reaped here; the tree is read from /proc/PID/stat.  The
 * runner assumes it starts every child of the process (so there is one
 * runner per process) and that SIGPIPE is ignored (both daemons do so).
 * It owns the children, their pipes and pidfds; it calls only the loop and
 * the log.
 */
#ifndef EMBER_PROC_H
#define EMBER_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loop.h"

struct procs;
struct proc;

/* The outcome of a run, after its retries.  status: 0 on success, the exit
 * code (> 0), 128 + signal, -ETIMEDOUT, or -errno when a retry could not be
 * started. */
struct proc_result {
    int status;
    int attempts;
    uint64_t lines;      /* output lines handed to the output function */
    uint64_t suppressed; /* output lines dropped by the rate limit */
};

typedef void (*proc_done_fn)(void *arg, const struct proc_result *res);
/* One line of output (without its newline); over-long lines come in pieces. */
typedef void (*proc_output_fn)(void *arg, const char *line);

struct proc_spec {
    const char *name;  /* prefix of every log line: "hook dns" */
    char *const *argv; /* argv[0] is the program's path (no PATH search) */
    char *const *env;  /* NULL-terminated "NAME=value" strings to add */
    bool clean_env;    /* only env; else the caller's own environment,
                          without its EMBER_* variables, plus env */
    const char *input; /* written to stdin, which is then closed; NULL:
                          stdin is /dev/null */
    size_t input_len;
    int64_t timeout_ms; /* per attempt; 0: none */
    int retries;        /* attempts after the first that fail */
    int64_t retry_delay_ms;
    int64_t kill_grace_ms; /* between SIGTERM and SIGKILL */
    int max_lines_per_s;   /* output lines logged per second; 0: no limit */
    proc_output_fn output; /* NULL: log_info("NAME: LINE") */
    proc_done_fn done;     /* called once, from the loop, then the run is freed */
    void *arg;
};

/* Sets up the runner on loop l and makes the process a child subreaper.
 * Returns 0, -EBUSY when the process already has a runner, or -errno. */
int procs_init(struct procs **out, struct loop *l);
/* Terminates every run still going (its tree: SIGTERM, SIGKILL after its
 * grace; this waits that long at most) and reaps it; done is not called.
 * Safe on NULL. */
void procs_fini(struct procs *ps);

/* Starts a run; the spec is copied.  *out (may be NULL) stays valid until
 * done is called.  Returns 0, or -errno when the first attempt cannot be
 * started (done is then never called). */
int proc_start(struct procs *ps, const struct proc_spec *spec, struct proc **out);
/* Terminates the run's tree and gives up its retries; done follows from the
 * loop with how it ended (e.g. "killed by signal 15"). */
void proc_stop(struct proc *p);

/* Formats a status: "ok", "exit 3", "killed by signal 9", "timed out after
 * 10s" ("timed out" when timeout_ms is 0), "cannot start: <strerror>". */
void proc_status_str(int status, int64_t timeout_ms, char *buf, size_t len);

#endif
