/*
 * hwdog.c - the board's hardware watchdog.  See hwdog.h.
 */
#include "hwdog.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/watchdog.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

struct hwdog {
    int fd;
    char *path;
    int64_t timeout_ms; /* in force: the driver's answer, else the configured one */
    bool by_write;      /* no watchdog ioctls on this file: keepalive by write */
    bool failing;       /* the last keepalive failed (and was logged) */
};

/* The file is not a watchdog device (a regular file, a FIFO). */
static bool
not_a_watchdog(int err)
{
    return err == ENOTTY || err == EINVAL;
}

static void
set_timeout(struct hwdog *w, int64_t timeout_ms)
{
    int secs = (int)((timeout_ms + 999) / 1000);

    w->timeout_ms = timeout_ms;
    if (ioctl(w->fd, WDIOC_SETTIMEOUT, &secs) == 0) {
        /* The driver writes back the timeout it set (it may round). */
        if (secs > 0)
            w->timeout_ms = (int64_t)secs * 1000;
        log_info("watchdog %s: timeout %ds", w->path, secs);
        return;
    }
    if (not_a_watchdog(errno)) {
        w->by_write = true;
        log_warnx("watchdog %s: not a watchdog device (no WDIOC_SETTIMEOUT: %s); keepalive by "
                  "writing to it",
                  w->path, strerror(errno));
        return;
    }
    log_warnx("watchdog %s: cannot set the timeout to %ds: %s", w->path, secs, strerror(errno));
    if (ioctl(w->fd, WDIOC_GETTIMEOUT, &secs) == 0 && secs > 0) {
        w->timeout_ms = (int64_t)secs * 1000;
        log_info("watchdog %s: keeping the device's timeout, %ds", w->path, secs);
    }
}

int
hwdog_open(struct hwdog **out, const char *path, int64_t timeout_ms)
{
    struct hwdog *w;
    /* Non-blocking: a FIFO without a reader must not hold emberd's start,
     * nor a full one its loop. */
    int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

    if (fd < 0) {
        int rc = -errno;
        log_errx("watchdog %s ([board] watchdog): cannot open: %s", path, strerror(-rc));
        return rc;
    }
    w = xcalloc(1, sizeof(*w));
    w->fd = fd;
    w->path = xstrdup(path);
    set_timeout(w, timeout_ms);
    hwdog_keepalive(w);
    *out = w;
    return 0;
}

int
hwdog_keepalive(struct hwdog *w)
{
    int rc = 0;

    if (!w->by_write && ioctl(w->fd, WDIOC_KEEPALIVE, 0) < 0) {
        if (not_a_watchdog(errno)) {
            w->by_write = true;
            log_warnx("watchdog %s: no WDIOC_KEEPALIVE (%s); keepalive by writing to it", w->path,
                      strerror(errno));
        } else {
            rc = -errno;
        }
    }
    if (w->by_write && write(w->fd, "\0", 1) != 1)
        rc = errno ? -errno : -EIO;
    if (rc < 0 && !w->failing)
        log_errx("watchdog %s: keepalive failed: %s", w->path, strerror(-rc));
    else if (rc == 0 && w->failing)
        log_info("watchdog %s: keepalive works again", w->path);
    w->failing = rc < 0;
    return rc;
}

int64_t
hwdog_interval_ms(const struct hwdog *w)
{
    return w->timeout_ms / 3 > 100 ? w->timeout_ms / 3 : 100;
}

int64_t
hwdog_timeout_ms(const struct hwdog *w)
{
    return w->timeout_ms;
}

void
hwdog_close(struct hwdog *w)
{
    if (w == NULL)
        return;
    /* The magic close: 'V' tells the driver this close is deliberate. */
    if (write(w->fd, "V", 1) != 1)
        log_warnx("watchdog %s: cannot write the magic close: %s; the board may reset", w->path,
                  strerror(errno));
    else
        log_info("watchdog %s: disarmed (magic close)", w->path);
    close(w->fd);
    free(w->path);
    free(w);
}
