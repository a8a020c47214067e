/*
 * log.h - logging for emberwatch programs.
 *
 * Messages go to stderr when running in the foreground and to syslog (-s)
 * otherwise.  On a terminal a line reads "prog: warning: text".  When
 * stderr is the systemd journal (JOURNAL_STREAM names stderr's
 * device:inode, as systemd sets it for StandardError=journal) each line
 * starts with its sd-daemon(3) priority instead of the program name:
 * "<2>critical: " (log_crit), "<3>error: ", "<4>warning: ", "<6>" (info),
 * "<7>debug: ", so journalctl -p filters on it.  Core modules never print;
 * they return negative errno values and the caller at the boundary logs.
 */
#ifndef EMBER_LOG_H
#define EMBER_LOG_H

#include <stdbool.h>

enum log_level { LOG_LVL_ERR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* The longest message; a longer one is cut. */
#define LOG_MSG_MAX 8192

/* Sets the program name, the destination and the threshold.  Safe to call again. */
void log_init(const char *progname, bool to_stderr, enum log_level level);
void log_fini(void);
/* True when JOURNAL_STREAM names the file stderr is open on. */
bool log_stderr_is_journal(void);

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
/* Critical: a fire-safety alarm raised at critical severity.  Priority crit
 * (SD_CRIT, LOG_CRIT); shown at every log level; on a terminal it reads as a
 * warning, as it always has. */
void log_crit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Writes text (whole lines, such as a configuration's "file:line: ..."
 * errors) to stderr as it is; under the journal each line at priority err. */
void log_error_text(const char *text);

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
