/*
 * ctlsock.c - control socket server inside the poll loop, and its client.
 *
 * Server: every fd is non-blocking and watched by the loop.  A connection
 * is in one of two phases: reading its request line (POLLIN), then writing
 * the buffered response (POLLOUT); when the response is out, it closes.
 * A connection has a deadline from accept, for sending its request and
 * taking its answer: a slow client (one byte at a time) cannot hold a slot
 * longer than an idle one.
 *
 * Client: blocking calls, each bounded by the caller's timeout.
 */
#include "ctlsock.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "util.h"

#define CLIENTS_LIMIT 32        /* the loop has 64 sources for everything */
#define REQUEST_LIMIT (1 << 20) /* a larger max_request is a caller's mistake */
#define ANSWER_LIMIT (16 << 20) /* client: longest response line accepted */
#define BACKLOG 8

static const char too_long[] = "{\"ok\":false,\"error\":\"request too long\"}";
static const char no_memory[] = "{\"ok\":false,\"error\":\"out of memory\"}";
static const char busy[] = "{\"ok\":false,\"error\":\"busy\"}\n";

struct client {
    struct ctlsock *srv;
    int fd; /* -1: slot free */
    uid_t uid;
    pid_t pid;
    char *in; /* max_request + 2 bytes: the line, its newline, a NUL */
    size_t inlen;
    char *out; /* NULL while reading the request */
    size_t outlen, outoff;
    int timer;
};

struct ctlsock {
    int fd;
    char *path;
    struct loop *loop;
    struct ctlsock_limits lim;
    ctlsock_handler_fn fn;
    void *arg;
    struct client *clients;
};

static void
client_close(struct client *cl)
{
    if (cl->fd < 0)
        return;
    loop_remove(cl->srv->loop, cl);
    if (cl->timer > 0)
        loop_timer_cancel(cl->srv->loop, cl->timer);
    close(cl->fd);
    free(cl->out);
    cl->out = NULL;
    cl->fd = -1;
    cl->timer = 0;
}

static void
client_timeout(void *arg)
{
    struct client *cl = arg;
    cl->timer = 0;
    client_close(cl);
}

/* Writes what the socket takes now; the rest waits for POLLOUT. */
static void
client_flush(struct client *cl)
{
    while (cl->outoff < cl->outlen) {
        ssize_t w = send(cl->fd, cl->out + cl->outoff, cl->outlen - cl->outoff,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (w <= 0) {
            client_close(cl); /* the client went away: nothing to deliver */
            return;
        }
        cl->outoff += (size_t)w;
    }
    client_close(cl);
}

/* Queues `line` and a newline as the whole answer. */
static void
client_respond(struct client *cl, const char *line)
{
    size_t n = strlen(line);

    cl->out = malloc(n + 1);
    if (cl->out == NULL) {
        client_close(cl);
        return;
    }
    memcpy(cl->out, line, n);
    cl->out[n] = '\n';
    cl->outlen = n + 1;
    cl->outoff = 0;
    client_flush(cl);
}

static void
client_read(struct client *cl)
{
    size_t cap = cl->srv->lim.max_request + 2;
    ssize_t r;
    char *nl;

    r = recv(cl->fd, cl->in + cl->inlen, cap - 1 - cl->inlen, MSG_DONTWAIT);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (r <= 0) {
        client_close(cl); /* gone before a whole line: nothing to answer */
        return;
    }
    nl = memchr(cl->in + cl->inlen, '\n', (size_t)r);
    cl->inlen += (size_t)r;
    cl->in[cl->inlen] = '\0';
    if (nl == NULL && cl->inlen < cap - 1)
        return;
    if (nl == NULL) {
        client_respond(cl, too_long);
    } else {
        char *resp;
        *nl = '\0';
        resp = cl->srv->fn(cl->srv->arg, cl->in, (size_t)(nl - cl->in), cl->uid, cl->pid);
        client_respond(cl, resp ? resp : no_memory);
        free(resp);
    }
}

static int
client_prepare(void *arg, short *events)
{
    struct client *cl = arg;
    if (cl->fd < 0)
        return -1;
    *events = cl->out != NULL ? POLLOUT : POLLIN;
    return cl->fd;
}

static void
client_dispatch(void *arg, short revents)
{
    struct client *cl = arg;
    (void)revents; /* errors and hang-ups show up in recv()/send() */
    if (cl->fd < 0)
        return;
    if (cl->out != NULL)
        client_flush(cl);
    else
        client_read(cl);
}

static void
on_accept(void *arg, short revents)
{
    struct ctlsock *s = arg;
    struct client *cl = NULL;
    struct ucred cred;
    socklen_t credlen = sizeof(cred);
    int fd;
    (void)revents;

    fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return;
    for (int i = 0; i < s->lim.max_clients && cl == NULL; i++)
        if (s->clients[i].fd < 0)
            cl = &s->clients[i];
    if (cl != NULL && loop_add(s->loop, client_prepare, client_dispatch, cl) < 0)
        cl = NULL;
    if (cl == NULL) {
        /* Refuse rather than queue; a fresh socket has room for this line. */
        if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
            /* the client is gone already */
        }
        close(fd);
        return;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &credlen) < 0) {
        cred.uid = (uid_t)-1;
        cred.pid = 0;
    }
    cl->fd = fd;
    cl->uid = cred.uid;
    cl->pid = cred.pid;
    cl->inlen = 0;
    cl->timer = loop_timer(s->loop, s->lim.timeout_ms, client_timeout, cl);
    if (cl->timer < 0) {
        cl->timer = 0;
        client_close(cl); /* no timer left: it could stay forever */
    }
}

/* A socket file nobody listens on is left by a crash; anything else stays. */
static int
remove_stale(const char *path, const struct sockaddr_un *sa)
{
    struct stat st;
    int fd, rc, e;

    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISSOCK(st.st_mode))
        return -EEXIST;
    /* Another user's socket is theirs to remove, whether or not it is live
     * (root could, and would then serve on a path that user chose). */
    if (st.st_uid != geteuid() && st.st_uid != 0)
        return -EPERM;
    /* Non-blocking, so a live server with a full backlog (EAGAIN) cannot
     * hold us up and still counts as live. */
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
    e = errno;
    close(fd);
    if (rc == 0 || e == EAGAIN)
        return -EADDRINUSE;
    if (e != ECONNREFUSED)
        return -e;
    return unlink(path) == 0 || errno == ENOENT ? 0 : -errno;
}

static void
server_free(struct ctlsock *s)
{
    if (s->clients != NULL)
        for (int i = 0; i < s->lim.max_clients; i++)
            free(s->clients[i].in);
    free(s->clients);
    free(s->path);
    free(s);
}

int
ctlsock_open(struct ctlsock **out, const char *path, int mode, const struct ctlsock_limits *lim,
             struct loop *l, ctlsock_handler_fn fn, void *arg)
{
    static const struct ctlsock_limits defaults = {CTLSOCK_MAX_REQUEST, CTLSOCK_MAX_CLIENTS,
                                                   CTLSOCK_TIMEOUT_MS};
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct ctlsock *s;
    mode_t old;
    int rc;

    if (lim == NULL)
        lim = &defaults;
    if (lim->max_request < 1 || lim->max_request > REQUEST_LIMIT || lim->max_clients < 1 ||
        lim->max_clients > CLIENTS_LIMIT || lim->timeout_ms < 1 || (mode & ~0777) != 0)
        return -EINVAL;
    if (strlen(path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    strcpy(sa.sun_path, path);
    if ((rc = remove_stale(path, &sa)) < 0)
        return rc;

    s = xcalloc(1, sizeof(*s));
    s->lim = *lim;
    s->loop = l;
    s->fn = fn;
    s->arg = arg;
    s->path = xstrdup(path);
    s->clients = xcalloc((size_t)lim->max_clients, sizeof(*s->clients));
    for (int i = 0; i < lim->max_clients; i++) {
        s->clients[i].srv = s;
        s->clients[i].fd = -1;
        s->clients[i].in = xcalloc(1, lim->max_request + 2);
    }
    s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd < 0) {
        rc = -errno;
        server_free(s);
        return rc;
    }
    /* Create the socket with its final mode: no window where it is open. */
    old = umask((mode_t)(~mode & 0777));
    rc = bind(s->fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old);
    if (rc < 0) {
        rc = -errno;
        close(s->fd);
        server_free(s);
        return rc;
    }
    if (chmod(path, (mode_t)mode) < 0 || listen(s->fd, BACKLOG) < 0)
        rc = -errno;
    else
        rc = loop_add_fd(l, s->fd, POLLIN, on_accept, s);
    if (rc < 0) {
        close(s->fd);
        unlink(path);
        server_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void
ctlsock_close(struct ctlsock *s)
{
    if (s == NULL)
        return;
    for (int i = 0; i < s->lim.max_clients; i++)
        client_close(&s->clients[i]);
    loop_remove(s->loop, s);
    close(s->fd);
    unlink(s->path);
    server_free(s);
}

int
ctlsock_clients(const struct ctlsock *s)
{
    int n = 0;
    for (int i = 0; i < s->lim.max_clients; i++)
        n += s->clients[i].fd >= 0;
    return n;
}

/* ---- client ------------------------------------------------------------ */

static int
send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads until a newline, EOF or the deadline; *len bytes land in *buf. */
static int
read_line(int fd, int64_t deadline, char **buf, size_t *len)
{
    size_t cap = 4096;
    char *b = malloc(cap);

    if (b == NULL)
        return -ENOMEM;
    *len = 0;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int64_t left = deadline - mono_ms();
        ssize_t r;
        int pr;

        if (left <= 0) {
            free(b);
            return -ETIMEDOUT;
        }
        pr = poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int)left);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0) {
            int e = pr == 0 ? ETIMEDOUT : errno;
            free(b);
            return -e;
        }
        if (*len + 1 >= cap) {
            char *nb;
            if (cap >= ANSWER_LIMIT) {
                free(b);
                return -EMSGSIZE;
            }
            nb = realloc(b, cap * 2);
            if (nb == NULL) {
                free(b);
                return -ENOMEM;
            }
            b = nb;
            cap *= 2;
        }
        r = recv(fd, b + *len, cap - *len - 1, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break; /* EOF (or reset): what came so far is the answer */
        *len += (size_t)r;
        if (memchr(b + *len - (size_t)r, '\n', (size_t)r) != NULL)
            break;
    }
    b[*len] = '\0';
    *buf = b;
    return 0;
}

int
ctlsock_request(const char *path, const char *who, const char *req, int timeout_ms, char **resp,
                char *err, size_t errlen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct timeval tv;
    int64_t deadline;
    size_t len;
    char *buf = NULL;
    int fd, rc, sent;

    *resp = NULL;
    if (timeout_ms < 1)
        timeout_ms = 1;
    deadline = mono_ms() + timeout_ms;
    if (strlen(path) >= sizeof(sa.sun_path)) {
        snprintf(err, errlen, "socket path too long: %s", path);
        return -ENAMETOOLONG;
    }
    strcpy(sa.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        rc = -errno;
        snprintf(err, errlen, "cannot reach %s at %s: %s", who, path, strerror(-rc));
        return rc;
    }
    /* The send timeout also bounds connect() when the server's backlog is
     * full (it then fails with EAGAIN). */
    tv.tv_sec = timeout_ms / 1000;
    tv.tv_usec = (timeout_ms % 1000) * 1000;
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        rc = -errno;
        snprintf(err, errlen, "cannot reach %s at %s: %s", who, path, strerror(-rc));
        close(fd);
        return rc;
    }
    /* One send for the line: a server that refuses it (too long) closes as
     * soon as it has answered, and its answer is still worth reading. */
    len = strlen(req);
    buf = malloc(len + 1);
    if (buf == NULL) {
        close(fd);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    memcpy(buf, req, len);
    buf[len] = '\n';
    sent = send_all(fd, buf, len + 1);
    free(buf);
    buf = NULL;
    if (sent < 0 && sent != -EPIPE && sent != -ECONNRESET) {
        snprintf(err, errlen, "cannot send to %s at %s: %s", who, path, strerror(-sent));
        close(fd);
        return sent;
    }
    rc = read_line(fd, deadline, &buf, &len);
    close(fd);
    if (sent < 0 && (rc < 0 || len == 0)) {
        if (rc == 0)
            free(buf);
        snprintf(err, errlen, "cannot send to %s at %s: %s", who, path, strerror(-sent));
        return sent;
    }
    if (rc == -ETIMEDOUT) {
        snprintf(err, errlen, "no answer from %s within %d ms", who, timeout_ms);
        return rc;
    }
    if (rc == -EMSGSIZE) {
        snprintf(err, errlen, "answer from %s longer than %d bytes", who, ANSWER_LIMIT);
        return -EPROTO;
    }
    if (rc < 0) {
        snprintf(err, errlen, "cannot read from %s at %s: %s", who, path, strerror(-rc));
        return rc;
    }
    buf[strcspn(buf, "\n")] = '\0';
    if (buf[0] == '\0') {
        snprintf(err, errlen, "empty answer from %s", who);
        free(buf);
        return -EPROTO;
    }
    *resp = buf;
    return 0;
}
