/*
 * fake_chip.c - what the libgpiod 1.6 and 2.x fakes share (see fake_chip.h):
 * the lines' levels, request bookkeeping and event pipes.
 */
#include "fake_chip.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct fake_chip fake_chip;
static bool initialised; /* before the first reset the fds are 0, not -1 */

static void
close_pipe(struct fake_chip_line *l)
{
    if (l->rfd >= 0)
        close(l->rfd);
    if (l->wfd >= 0)
        close(l->wfd);
    l->rfd = l->wfd = -1;
}

void
fake_chip_reset(void)
{
    for (unsigned i = 0; initialised && i < FAKE_CHIP_NLINES; i++)
        close_pipe(&fake_chip.lines[i]);
    initialised = true;
    memset(&fake_chip, 0, sizeof(fake_chip));
    for (unsigned i = 0; i < FAKE_CHIP_NLINES; i++)
        fake_chip.lines[i].rfd = fake_chip.lines[i].wfd = -1;
    fake_backend_reset();
}

void
fake_chip_set_level(unsigned offset, int phys)
{
    fake_chip.lines[offset].phys = phys != 0;
}

int
fake_chip_logical(unsigned offset)
{
    return fake_chip.lines[offset].phys ^ (fake_backend_active_low(offset) ? 1 : 0);
}

int
fake_chip_edge(unsigned offset, int phys, int64_t ts_ns)
{
    struct fake_chip_line *l = &fake_chip.lines[offset];
    unsigned char ev[64];
    size_t n;

    if (!l->requested || l->wfd < 0)
        return -1;
    l->phys = phys != 0;
    n = fake_backend_event(fake_chip_logical(offset) != 0, ts_ns, ev, sizeof(ev));
    if (n == 0)
        return -1;
    return write(l->wfd, ev, n) == (ssize_t)n ? 0 : -1;
}

int
fake_chip_line_claim(unsigned offset)
{
    const struct fake_chip_line *l = &fake_chip.lines[offset];

    if (l->requested || l->busy) {
        errno = EBUSY;
        return -1;
    }
    return 0;
}

int
fake_chip_line_grant(unsigned offset, const char *consumer, bool events)
{
    struct fake_chip_line *l = &fake_chip.lines[offset];
    int fds[2];

    if (events) {
        if (pipe2(fds, O_CLOEXEC) < 0)
            return -1;
        l->rfd = fds[0];
        l->wfd = fds[1];
    }
    snprintf(l->consumer, sizeof(l->consumer), "%s", consumer ? consumer : "?");
    l->requested = true;
    l->requests++;
    fake_chip.line_requests++;
    return 0;
}

void
fake_chip_line_drop(unsigned offset, bool close)
{
    struct fake_chip_line *l = &fake_chip.lines[offset];

    close_pipe(l);
    l->requested = false;
    if (close)
        return;
    l->releases++;
    fake_chip.line_releases++;
}
