/*
 * ctlsock.h - the control socket of a daemon (emberd, ember-drain) and its
 * command-line client.
 *
 * A unix stream socket; a client sends one request line (a JSON object, not
 * looked at here) and receives one response line, then the connection
 * closes.  Access is by file permissions: the socket is created with its
 * final mode, so there is no moment when it is more open.  The handler also
 * gets the peer's uid and pid (SO_PEERCRED) for an audit log.
 *
 * The server lives in the program's poll loop (loop.h) and never blocks it:
 * a request is read as it arrives, the response is buffered and written as
 * the socket becomes writable, and a connection is closed when it has not
 * sent its request and taken its answer within a timeout (so a client that
 * sends nothing, or never reads, or does either a byte at a time, is
 * dropped).  Requests longer than the limit
 * get "request too long"; connections past the limit get "busy".  Every
 * send uses MSG_NOSIGNAL, so a vanished client never raises SIGPIPE.
 *
 * Owns: the listening socket, its file, and the client connections.
 * Calls: loop.h, util.h, the handler.  Never prints.
 */
#ifndef EMBER_CTLSOCK_H
#define EMBER_CTLSOCK_H

#include <stddef.h>
#include <sys/types.h>

#include "loop.h"

/* What one server accepts; ctlsock_open(..., NULL, ...) takes these. */
#define CTLSOCK_MAX_REQUEST 4096
#define CTLSOCK_MAX_CLIENTS 8
#define CTLSOCK_TIMEOUT_MS 5000

struct ctlsock_limits {
    size_t max_request; /* longest request line, without its newline */
    int max_clients;    /* connections served at once (1..32) */
    int timeout_ms;     /* a connection still open this long after accept is closed */
};

struct ctlsock;

/* Returns a malloc'd response line (without the newline) for the request
 * req[0..len) (also NUL-terminated at len), or NULL when out of memory.
 * Runs inside the loop; it may not block. */
typedef char *(*ctlsock_handler_fn)(void *arg, const char *req, size_t len, uid_t uid, pid_t pid);

/* Creates `path` with permissions `mode` and serves it from loop l.  A
 * socket file nobody listens on (left by a crash) is replaced; a live one is
 * -EADDRINUSE, one of another user (root excepted) -EPERM, left in place,
 * and any other file -EEXIST.  The directory and what is at the path are
 * the caller's to check first (safefile_check_path(), for a message).  lim
 * NULL means the defaults above.  Returns 0 or -errno. */
int ctlsock_open(struct ctlsock **out, const char *path, int mode, const struct ctlsock_limits *lim,
                 struct loop *l, ctlsock_handler_fn fn, void *arg);

/* Drops every connection (answers not yet written are lost), removes the
 * socket file and frees s.  NULL is a no-op. */
void ctlsock_close(struct ctlsock *s);

/* Number of connections open now (for tests and status). */
int ctlsock_clients(const struct ctlsock *s);

/* Client side, for a command-line tool: connects to `path`, sends `req` and
 * a newline, and waits at most timeout_ms in all for one response line.
 * Returns 0 with *resp the line (malloc'd, without its newline), or -errno
 * with a one-line message in err naming `who` ("emberd"): -ENOENT,
 * -EACCES, -ECONNREFUSED... cannot connect, -ETIMEDOUT no answer in time,
 * -EPROTO empty or over-long answer. */
int ctlsock_request(const char *path, const char *who, const char *req, int timeout_ms, char **resp,
                    char *err, size_t errlen);

#endif
