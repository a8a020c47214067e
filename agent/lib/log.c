/*
 * log.c - stderr (plain, or with sd-daemon priority prefixes under the
 * systemd journal) or syslog logging with ntpd-style helpers.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

static const char *prog = "emberwatch";
static bool use_stderr = true;
static bool journal_stream = false;
static enum log_level threshold = LOG_LVL_INFO;

/* One row per priority a message can have, most severe first.  The
 * terminal tag is what a person reads after "prog: " (critical messages read
 * as warnings there, as before); under the journal the line starts with the
 * sd-daemon(3) prefix instead, so journalctl -p filters on it. */
enum prio { PRIO_CRIT, PRIO_ERR, PRIO_WARN, PRIO_INFO, PRIO_DEBUG };
static const struct {
    enum log_level filter; /* shown when the threshold is at least this */
    int syslog;            /* syslog(3) priority, for -s */
    const char *sd;        /* sd-daemon(3) prefix, under the journal */
    const char *tag;       /* on a terminal, and in the journal's text */
    const char *sd_tag;    /* in the journal's text */
} prios[] = {
    [PRIO_CRIT] = {LOG_LVL_ERR, LOG_CRIT, SD_CRIT, "warning: ", "critical: "},
    [PRIO_ERR] = {LOG_LVL_ERR, LOG_ERR, SD_ERR, "error: ", "error: "},
    [PRIO_WARN] = {LOG_LVL_WARN, LOG_WARNING, SD_WARNING, "warning: ", "warning: "},
    [PRIO_INFO] = {LOG_LVL_INFO, LOG_INFO, SD_INFO, "", ""},
    [PRIO_DEBUG] = {LOG_LVL_DEBUG, LOG_DEBUG, SD_DEBUG, "debug: ", "debug: "},
};

bool
log_stderr_is_journal(void)
{
    const char *env = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;
    int end = 0;

    if (env == NULL || sscanf(env, "%llu:%llu%n", &dev, &ino, &end) != 2 || env[end] != '\0')
        return false;
    if (fstat(STDERR_FILENO, &st) < 0)
        return false;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void
log_init(const char *progname, bool to_stderr, enum log_level level)
{
    prog = progname;
    use_stderr = to_stderr;
    threshold = level;
    /* systemd sets JOURNAL_STREAM to stderr's device:inode when stderr is
     * connected to the journal; a child with stderr elsewhere inherits the
     * variable, hence the comparison. */
    journal_stream = to_stderr && log_stderr_is_journal();
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

/* Under the journal every line of a message is its own record, so each
 * carries the prefix (the tag goes on the first, errno's text on the last).
 * One fprintf per record so threads do not interleave. */
static void
to_journal(enum prio p, const char *msg, const char *suffix)
{
    const char *line = msg;
    bool first = true;

    do {
        size_t n = strcspn(line, "\n");
        bool last = line[n] == '\0' || line[n + 1] == '\0';

        fprintf(stderr, "%s%s%.*s%s%s\n", prios[p].sd, first ? prios[p].sd_tag : "", (int)n, line,
                last && suffix ? ": " : "", last && suffix ? suffix : "");
        line += n + (line[n] != '\0');
        first = false;
    } while (*line != '\0');
}

void
log_error_text(const char *text)
{
    if (journal_stream && *text != '\0') {
        const char *line = text;
        do {
            size_t n = strcspn(line, "\n");
            fprintf(stderr, "%s%.*s\n", SD_ERR, (int)n, line);
            line += n + (line[n] != '\0');
        } while (*line != '\0');
    } else {
        fputs(text, stderr);
    }
}

static void
vlog(enum prio p, const char *fmt, va_list ap, const char *suffix)
{
    char msg[LOG_MSG_MAX];

    if (prios[p].filter > threshold)
        return;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (!use_stderr)
        syslog(prios[p].syslog, "%s%s%s", msg, suffix ? ": " : "", suffix ? suffix : "");
    else if (journal_stream)
        to_journal(p, msg, suffix);
    else /* One fprintf per line so concurrent threads do not interleave words. */
        fprintf(stderr, "%s: %s%s%s%s\n", prog, prios[p].tag, msg, suffix ? ": " : "",
                suffix ? suffix : "");
}

void
log_crit(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(PRIO_CRIT, fmt, ap, NULL);
    va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
    int saved = errno;
    va_list ap;
    va_start(ap, fmt);
    vlog(PRIO_WARN, fmt, ap, strerror(saved));
    va_end(ap);
    errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(PRIO_WARN, fmt, ap, NULL);
    va_end(ap);
}

void
log_errx(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(PRIO_ERR, fmt, ap, NULL);
    va_end(ap);
}

void
log_info(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(PRIO_INFO, fmt, ap, NULL);
    va_end(ap);
}

void
log_debug_(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(PRIO_DEBUG, fmt, ap, NULL);
    va_end(ap);
}

void
fatal(const char *fmt, ...)
{
    int saved = errno;
    va_list ap;
    va_start(ap, fmt);
    vlog(PRIO_ERR, fmt, ap, strerror(saved));
    va_end(ap);
    exit(1);
}

void
fatalx(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(PRIO_ERR, fmt, ap, NULL);
    va_end(ap);
    exit(1);
}
