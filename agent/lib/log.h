/*
 * log.h - logging for emberwatch programs.
 *
 * Messages go to stderr when running in the foreground and to syslog (which
 * journald collects) otherwise.  Core modules never print; they return
 * negative errno values and the caller at the boundary logs.
 */
#ifndef EMBER_LOG_H
#define EMBER_LOG_H

#include <stdbool.h>

enum log_level { LOG_LVL_ERR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Sets the program name, the destination and the threshold.  Safe to call again. */
void log_init(const char *progname, bool to_stderr, enum log_level level);
void log_fini(void);

/* Parses "error", "warning", "info" or "debug"; returns -1 when unknown. */
int log_level_parse(const char *s);
enum log_level log_get_level(void);
void log_set_level(enum log_level level);

/* log_warn() appends ": strerror(errno)"; log_warnx() does not. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_errx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Exit the program with status 1; only used during start-up. */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Debug logging does not evaluate its arguments when debug is off. */
#define log_debug(...)                                                                             \
    do {                                                                                           \
        if (log_get_level() >= LOG_LVL_DEBUG)                                                      \
            log_debug_(__VA_ARGS__);                                                               \
    } while (0)

#endif
