/*
 * prog.h - what the daemons' main() have in common: the daemon options
 * (-c -n -d -s -h -V), logging set up from them, the configuration's errors
 * or -n verdict, libmosquitto's set-up, and the run from start to stop.
 *
 * A program keeps its own usage text, its own extra options and the typed
 * calls into its configuration; this module only sees them through a
 * struct prog and a struct prog_ops.  Exit statuses are the man pages':
 * 0 done, 1 rejected or configuration errors, 2 bad usage, 3 unreachable.
 *
 * Owns: nothing past the call.  Calls: log.h, mqtt.h (library set-up only),
 * cfgfile.h (struct cfgerr), sd_notify().  Prints to stdout/stderr: it is the boundary.
 */
#ifndef EMBER_PROG_H
#define EMBER_PROG_H

#include <stdbool.h>
#include <stdio.h>

#include "cfgfile.h"
#include "version.h"

#define PROG_EXIT_REJECTED 1
#define PROG_EXIT_USAGE 2
#define PROG_EXIT_UNREACHABLE 3

/* The daemon options, for getopt_long()'s short string and long table. */
#define PROG_DAEMON_SHORT "c:ndshV"
/* clang-format off */
#define PROG_DAEMON_LONG                                                       \
    {"config", required_argument, NULL, 'c'}, {"check", no_argument, NULL, 'n'}, \
    {"debug", no_argument, NULL, 'd'},        {"syslog", no_argument, NULL, 's'}, \
    {"help", no_argument, NULL, 'h'},         {"version", no_argument, NULL, 'V'}
/* clang-format on */

struct prog {
    const char *name;        /* "emberd": messages, --version, the log's ident */
    void (*usage)(FILE *fp); /* the program's help text */
};

/* What the daemon options asked for. */
struct prog_opts {
    const char *path; /* -c FILE; the caller sets the default first */
    bool check;       /* -n */
    bool debug;       /* -d */
    bool use_syslog;  /* -s */
};

/* A daemon's life, for prog_run(): init takes ownership of conf, installs
 * the signal handlers (loop_signals()) and starts everything (0 or -errno,
 * having logged why); run tells systemd it is ready and runs until SIGTERM
 * or SIGINT; fini stops and frees everything, conf included. */
struct prog_ops {
    int (*init)(void **d, void *conf);
    void (*run)(void *d);
    void (*fini)(void *d);
};

/* Handles one option getopt_long() returned, when it is a daemon option or
 * unknown ('?').  Returns -1 when the program goes on, or the status to
 * exit with: 0 after -h (usage on stdout) or -V ("NAME VERSION"),
 * PROG_EXIT_USAGE after an unknown option (usage on stderr). */
int prog_option(const struct prog *p, int opt, const char *arg, struct prog_opts *o);

/* Starts logging as the options say: stderr unless -s, debug with -d. */
void prog_log_init(const struct prog *p, const struct prog_opts *o);

/* Reports how loading o->path went: rc is the loader's return.  On an
 * error prints err's file:line lines (or "NAME: cannot load configuration")
 * and, with -n, the count "NAME: PATH: N errors".  Frees err's text.
 * Returns rc. */
int prog_loaded(const struct prog *p, const struct prog_opts *o, int rc, struct cfgerr *err);

/* Runs the daemon on its loaded configuration: the log level from the
 * configuration (unless -d), libmosquitto set up, then init, run, "stopping"
 * (to systemd and the log), fini.
 * Returns the exit status: 0 after a clean stop, 1 when init failed. */
int prog_run(const struct prog_opts *o, int log_level, const struct prog_ops *ops, void *conf);

#endif
