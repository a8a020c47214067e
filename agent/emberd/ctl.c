/*
 * ctl.c - control socket server inside the daemon's loop.
 */
#include "ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cmd.h"
#include "log.h"
#include "util.h"

#define MAX_CLIENTS 8
#define CLIENT_TIMEOUT_MS 2000 /* a request is one short line */

struct client {
    struct ctl *ctl;
    int fd;
    char buf[CMD_MAX_PAYLOAD + 2];
    size_t len;
    int timer;
};

struct ctl {
    int fd;
    char *path;
    struct loop *loop;
    ctl_handler_fn fn;
    void *arg;
    struct client clients[MAX_CLIENTS];
};

static void
client_close(struct client *cl)
{
    if (cl->fd < 0)
        return;
    loop_remove(cl->ctl->loop, cl);
    if (cl->timer > 0)
        loop_timer_cancel(cl->ctl->loop, cl->timer);
    close(cl->fd);
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

static void
respond(struct client *cl, const char *line)
{
    size_t n = strlen(line), off = 0;
    int flags = fcntl(cl->fd, F_GETFL);

    /* Responses are small; a bounded blocking write keeps this simple
     * without letting a stuck client hold the loop for long. */
    struct timeval tv = {.tv_sec = 1};
    setsockopt(cl->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    fcntl(cl->fd, F_SETFL, flags & ~O_NONBLOCK);
    while (off < n) {
        ssize_t w = write(cl->fd, line + off, n - off);
        if (w <= 0)
            return;
        off += (size_t)w;
    }
    if (write(cl->fd, "\n", 1) < 0)
        return;
}

static void
client_read(void *arg, short revents)
{
    struct client *cl = arg;
    ssize_t r;
    char *nl;
    (void)revents;

    r = read(cl->fd, cl->buf + cl->len, sizeof(cl->buf) - 1 - cl->len);
    if (r <= 0) {
        if (r < 0 && errno == EAGAIN)
            return;
        client_close(cl);
        return;
    }
    cl->len += (size_t)r;
    cl->buf[cl->len] = '\0';
    nl = memchr(cl->buf, '\n', cl->len);
    if (nl == NULL && cl->len < sizeof(cl->buf) - 1)
        return;
    if (nl == NULL) {
        respond(cl, "{\"ok\":false,\"error\":\"request too long\"}");
    } else {
        char *resp = cl->ctl->fn(cl->ctl->arg, cl->buf, (size_t)(nl - cl->buf));
        respond(cl, resp ? resp : "{\"ok\":false,\"error\":\"out of memory\"}");
        free(resp);
    }
    client_close(cl);
}

static void
on_accept(void *arg, short revents)
{
    struct ctl *c = arg;
    int fd;
    (void)revents;

    fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return;
    for (int i = 0; i < MAX_CLIENTS; i++) {
        struct client *cl = &c->clients[i];
        if (cl->fd >= 0)
            continue;
        cl->fd = fd;
        cl->len = 0;
        loop_add_fd(c->loop, fd, POLLIN, client_read, cl);
        cl->timer = loop_timer(c->loop, CLIENT_TIMEOUT_MS, client_timeout, cl);
        return;
    }
    /* Busy: refuse rather than queue. */
    if (write(fd, "{\"ok\":false,\"error\":\"busy\"}\n", 28) < 0) {
        /* nothing to do */
    }
    close(fd);
}

/* A socket file nobody listens on is left by a crash; anything else stays. */
static int
remove_stale(const char *path, const struct sockaddr_un *sa)
{
    struct stat st;
    int fd, rc;

    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISSOCK(st.st_mode))
        return -EEXIST;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
    close(fd);
    if (rc == 0)
        return -EADDRINUSE;
    return unlink(path) == 0 ? 0 : -errno;
}

int
ctl_open(struct ctl **out, const char *path, int mode, struct loop *l, ctl_handler_fn fn,
         void *arg)
{
    struct ctl *c;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    mode_t old;
    int rc;

    if (strlen(path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    strcpy(sa.sun_path, path);
    if ((rc = remove_stale(path, &sa)) < 0)
        return rc;
    c = xcalloc(1, sizeof(*c));
    for (int i = 0; i < MAX_CLIENTS; i++) {
        c->clients[i].fd = -1;
        c->clients[i].ctl = c;
    }
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        rc = -errno;
        free(c);
        return rc;
    }
    /* Create the socket with its final mode: no window where it is open. */
    old = umask((mode_t)(~mode & 0777));
    rc = bind(c->fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old);
    if (rc < 0 || chmod(path, (mode_t)mode) < 0 || listen(c->fd, 8) < 0) {
        rc = -errno;
        close(c->fd);
        free(c);
        return rc;
    }
    c->path = xstrdup(path);
    c->loop = l;
    c->fn = fn;
    c->arg = arg;
    loop_add_fd(l, c->fd, POLLIN, on_accept, c);
    *out = c;
    return 0;
}

void
ctl_close(struct ctl *c)
{
    if (c == NULL)
        return;
    for (int i = 0; i < MAX_CLIENTS; i++)
        client_close(&c->clients[i]);
    loop_remove(c->loop, c);
    close(c->fd);
    unlink(c->path);
    free(c->path);
    free(c);
}
