/*
 * sockio.h - non-blocking socket steps bounded by a monotonic deadline, for
 * the clients of HAProxy's runtime API and BIRD's control socket.
 */
#ifndef EMBER_SOCKIO_H
#define EMBER_SOCKIO_H

#include <stdint.h>

/* Waits until fd is ready for events (POLLIN, POLLOUT) or the monotonic
 * deadline (mono_ms()) passes.  Returns 0, -ETIMEDOUT or -errno. */
int sock_wait(int fd, short events, int64_t deadline);

/* Connects a non-blocking, close-on-exec stream socket to the unix socket
 * path, waiting for room in a full listen backlog until the deadline.
 * Returns the descriptor, or -errno (-ENAMETOOLONG, -ENOENT, -ECONNREFUSED,
 * -EACCES, -ETIMEDOUT...). */
int sock_connect_unix(const char *path, int64_t deadline);

#endif
