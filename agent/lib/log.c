/*
 * log.c - stderr or syslog logging with ntpd-style helpers.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

static const char *prog = "emberwatch";
static bool use_stderr = true;
static enum log_level threshold = LOG_LVL_INFO;

void
log_init(const char *progname, bool to_stderr, enum log_level level)
{
    prog = progname;
    use_stderr = to_stderr;
    threshold = level;
    if (!to_stderr)
        openlog(progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_fini(void)
{
    if (!use_stderr)
        closelog();
}

int
log_level_parse(const char *s)
{
    static const char *names[] = {"error", "warning", "info", "debug"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(s, names[i]) == 0)
            return (int)i;
    return -1;
}

enum log_level
log_get_level(void)
{
    return threshold;
}

void
log_set_level(enum log_level level)
{
    threshold = level;
}

static void
vlog(enum log_level lvl, const char *fmt, va_list ap, const char *suffix)
{
    static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
    static const char *tag[] = {"error: ", "warning: ", "", "debug: "};
    char msg[1024];

    if (lvl > threshold)
        return;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (use_stderr) {
        /* One fprintf per line so concurrent threads do not interleave words. */
        fprintf(stderr, "%s: %s%s%s%s\n", prog, tag[lvl], msg, suffix ? ": " : "",
                suffix ? suffix : "");
    } else {
        syslog(prio[lvl], "%s%s%s", msg, suffix ? ": " : "", suffix ? suffix : "");
    }
}

void
log_warn(const char *fmt, ...)
{
    int saved = errno;
    va_list ap;
    va_start(ap, fmt);
    vlog(LOG_LVL_WARN, fmt, ap, strerror(saved));
    va_end(ap);
    errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(LOG_LVL_WARN, fmt, ap, NULL);
    va_end(ap);
}

void
log_errx(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(LOG_LVL_ERR, fmt, ap, NULL);
    va_end(ap);
}

void
log_info(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(LOG_LVL_INFO, fmt, ap, NULL);
    va_end(ap);
}

void
log_debug_(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(LOG_LVL_DEBUG, fmt, ap, NULL);
    va_end(ap);
}

void
fatal(const char *fmt, ...)
{
    int saved = errno;
    va_list ap;
    va_start(ap, fmt);
    vlog(LOG_LVL_ERR, fmt, ap, strerror(saved));
    va_end(ap);
    exit(1);
}

void
fatalx(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(LOG_LVL_ERR, fmt, ap, NULL);
    va_end(ap);
    exit(1);
}
