/*
 * hwdog.h - the board's hardware watchdog (the Linux watchdog API:
 * /dev/watchdog), named by the board file's [board] watchdog and
 * watchdog_timeout.
 *
 * emberd opens the device at start, sets its timeout (WDIOC_SETTIMEOUT) and
 * keeps it alive from a main-loop timer while the loop is healthy, so a
 * wedged loop or a hung bus worker resets the board.  A clean stop writes
 * the magic 'V' before closing, which disarms the watchdog (unless the
 * kernel's nowayout forbids it).  A file that takes no watchdog ioctls (a
 * regular file or a FIFO, as in the tests) is kept alive by writing one
 * NUL byte per keepalive, said once in the log.
 *
 * Owns: the device's file descriptor.  Calls: open/ioctl/write, log.h.
 */
#ifndef EMBER_HWDOG_H
#define EMBER_HWDOG_H

#include <stdbool.h>
#include <stdint.h>

struct hwdog;

/* Opens path and sets the timeout to timeout_ms (rounded up to whole
 * seconds; the driver may adjust it, and the adjusted one is used).
 * Returns 0, or -errno after logging why. */
int hwdog_open(struct hwdog **out, const char *path, int64_t timeout_ms);

/* One keepalive.  Returns 0 or -errno (a failure is logged once, until a
 * keepalive succeeds again). */
int hwdog_keepalive(struct hwdog *w);

/* How often to call hwdog_keepalive(): a third of the timeout in force. */
int64_t hwdog_interval_ms(const struct hwdog *w);
int64_t hwdog_timeout_ms(const struct hwdog *w);

/* Clean stop: the magic close ('V', then close), which disarms the
 * watchdog.  Safe on NULL. */
void hwdog_close(struct hwdog *w);

#endif
