/*
 * sockio.c - non-blocking socket steps bounded by a deadline; see sockio.h.
 */
#include "sockio.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util.h"

int
sock_wait(int fd, short events, int64_t deadline)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = events};
        int64_t left = deadline - mono_ms();
        int rc;
        if (left <= 0)
            return -ETIMEDOUT;
        rc = poll(&p, 1, (int)left);
        if (rc > 0)
            return 0;
        if (rc == 0)
            return -ETIMEDOUT;
        if (errno != EINTR)
            return -errno;
    }
}

int
sock_connect_unix(const char *path, int64_t deadline)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd, rc;

    if (strlen(path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    strcpy(sa.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
        return fd;
    rc = -errno;
    if (rc == -EAGAIN || rc == -EINPROGRESS) {
        /* A full listen backlog; wait for room. */
        if ((rc = sock_wait(fd, POLLOUT, deadline)) == 0 &&
            connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
            return fd;
        if (rc == 0)
            rc = -errno;
    }
    close(fd);
    return rc;
}

