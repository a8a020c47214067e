/*
 * birdc.c - BIRD 2 control socket client.
 */
#include "birdc.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sockio.h"
#include "util.h"

#define REPLY_MAX (1u << 22) /* a reply larger than 4 MiB is not one we asked for */

struct conn {
    int fd;
    int64_t deadline;
    char buf[4096]; /* received, not yet split into lines */
    size_t len;
};

/* Reads one line (without its newline) into line.  Returns 0 or -errno;
 * -EPROTO when BIRD closes the connection mid-reply or a line is too long. */
static int
read_line(struct conn *c, char *line, size_t cap)
{
    for (;;) {
        char *nl = memchr(c->buf, '\n', c->len);
        ssize_t r;
        int rc;
        if (nl != NULL) {
            size_t n = (size_t)(nl - c->buf);
            size_t keep = n < cap - 1 ? n : cap - 1;
            memcpy(line, c->buf, keep);
            line[keep] = '\0';
            c->len -= n + 1;
            memmove(c->buf, nl + 1, c->len);
            return 0;
        }
        if (c->len == sizeof(c->buf))
            return -EPROTO;
        r = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
        if (r > 0) {
            c->len += (size_t)r;
            continue;
        }
        if (r == 0)
            return -EPROTO;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN)
            return -errno;
        if ((rc = sock_wait(c->fd, POLLIN, c->deadline)) < 0)
            return rc;
    }
}

static void
append(struct birdc_reply *r, size_t *len, size_t *cap, int code, const char *text)
{
    size_t need = strlen(text) + 7;

    if (*len + need + 1 > *cap) {
        while (*len + need + 1 > *cap)
            *cap *= 2;
        r->text = realloc(r->text, *cap);
        if (r->text == NULL)
            abort();
    }
    *len += (size_t)snprintf(r->text + *len, *cap - *len, "%04d %s\n", code, text);
}

/* Reads one whole reply.  Returns 0 or -errno. */
static int
read_reply(struct conn *c, struct birdc_reply *r)
{
    size_t len = 0, cap = 1024;
    int code = -1;
    char line[1024];

    r->text = xcalloc(1, cap);
    for (;;) {
        int rc = read_line(c, line, sizeof(line));
        if (rc < 0)
            return rc;
        if (line[0] == ' ' || line[0] == '+') {
            if (code < 0)
                return -EPROTO;
            append(r, &len, &cap, code, line + 1);
        } else if (strlen(line) >= 5 && isdigit((unsigned char)line[0]) &&
                   isdigit((unsigned char)line[1]) && isdigit((unsigned char)line[2]) &&
                   isdigit((unsigned char)line[3]) && (line[4] == '-' || line[4] == ' ')) {
            code = atoi(line);
            append(r, &len, &cap, code, line + 5);
            if (line[4] == ' ') {
                r->code = code;
                snprintf(r->last, sizeof(r->last), "%.199s", line + 5);
                return 0;
            }
        } else {
            return -EPROTO;
        }
        if (len > REPLY_MAX)
            return -EMSGSIZE;
    }
}

static int
send_all(struct conn *c, const char *s, size_t n)
{
    size_t off = 0;

    while (off < n) {
        ssize_t w = send(c->fd, s + off, n - off, MSG_NOSIGNAL);
        int rc;
        if (w >= 0) {
            off += (size_t)w;
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN)
            return -errno;
        if ((rc = sock_wait(c->fd, POLLOUT, c->deadline)) < 0)
            return rc;
    }
    return 0;
}

int
birdc_command(const char *path, int64_t timeout_ms, const char *cmd, struct birdc_reply *r)
{
    struct conn *c = xcalloc(1, sizeof(*c));
    struct birdc_reply hello = {0};
    char *line = NULL;
    size_t n = strlen(cmd);
    int rc;

    memset(r, 0, sizeof(*r));
    c->fd = -1;
    c->deadline = mono_ms() + timeout_ms;
    if (strchr(cmd, '\n') != NULL) {
        rc = -EINVAL;
        goto out;
    }
    if ((c->fd = sock_connect_unix(path, c->deadline)) < 0) {
        rc = c->fd;
        goto out;
    }
    /* The greeting; BIRD closes the connection when the client half-closes,
     * so the socket stays open for writing until the reply is in. */
    if ((rc = read_reply(c, &hello)) < 0)
        goto out;
    if (hello.code != 1) {
        rc = -EPROTO;
        goto out;
    }
    line = xcalloc(1, n + 2);
    memcpy(line, cmd, n);
    line[n] = '\n';
    if ((rc = send_all(c, line, n + 1)) < 0)
        goto out;
    rc = read_reply(c, r);
out:
    if (rc < 0)
        birdc_reply_free(r);
    birdc_reply_free(&hello);
    free(line);
    if (c->fd >= 0)
        close(c->fd);
    free(c);
    return rc;
}

void
birdc_reply_free(struct birdc_reply *r)
{
    free(r->text);
    r->text = NULL;
}
