/*
 * haproxy.c - HAProxy runtime API client and per-instance worker threads.
 */
#include "haproxy.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "bgp.h"
#include "log.h"
#include "mailbox.h"
#include "sockio.h"
#include "tworker.h"
#include "util.h"

#define RETRY_MS 250 /* while an instance is unreachable or not yet converged */

struct haproxy {
    const struct dconf_haproxy *conf;
    struct hx_addr addr;
    bool dry_run;
    int64_t fault_delay_ms; /* after each command; 0 except in test builds */
    struct tworker w;       /* reports: struct hx_log, to the loop */
    struct hx_view view;    /* guarded by w.mu */
};

/* ---- client ------------------------------------------------------------ */

static int
connect_tcp(const char *host, int port, int64_t deadline)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res = NULL, *ai;
    char ports[16];
    int rc = -EHOSTUNREACH;

    snprintf(ports, sizeof(ports), "%d", port);
    if (getaddrinfo(host, ports, &hints, &res) != 0)
        return -EHOSTUNREACH;
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        int soerr = 0;
        socklen_t sl = sizeof(soerr);
        if (fd < 0) {
            rc = -errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            freeaddrinfo(res);
            return fd;
        }
        if (errno != EINPROGRESS) {
            rc = -errno;
            close(fd);
            continue;
        }
        if ((rc = sock_wait(fd, POLLOUT, deadline)) == 0 &&
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0) {
            freeaddrinfo(res);
            return fd;
        }
        if (rc == 0)
            rc = soerr ? -soerr : -EIO;
        close(fd);
    }
    freeaddrinfo(res);
    return rc;
}

int
haproxy_command(const struct hx_addr *a, const char *cmd, char **out)
{
    int64_t deadline = mono_ms() + a->timeout_ms;
    size_t cap = 4096, len = 0, clen = strlen(cmd), off = 0;
    char *buf = NULL, *line = NULL;
    int fd, rc;

    *out = NULL;
    fd = a->path ? sock_connect_unix(a->path, deadline) : connect_tcp(a->host, a->port, deadline);
    if (fd < 0)
        return fd;
    /* One line, in one write; HAProxy answers and closes the connection
     * (non-interactive mode). */
    line = malloc(clen + 2);
    if (line == NULL) {
        rc = -ENOMEM;
        goto fail;
    }
    memcpy(line, cmd, clen);
    line[clen++] = '\n';
    while (off < clen) {
        ssize_t w = send(fd, line + off, clen - off, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN && (rc = sock_wait(fd, POLLOUT, deadline)) == 0)
                continue;
            rc = errno == EAGAIN ? -ETIMEDOUT : -errno;
            goto fail;
        }
        off += (size_t)w;
    }
    buf = malloc(cap);
    if (buf == NULL) {
        rc = -ENOMEM;
        goto fail;
    }
    for (;;) {
        ssize_t r;
        if (len + 1 >= cap) {
            char *nb;
            if (cap >= (1u << 24)) {
                rc = -EMSGSIZE;
                goto fail;
            }
            nb = realloc(buf, cap * 2);
            if (nb == NULL) {
                rc = -ENOMEM;
                goto fail;
            }
            buf = nb;
            cap *= 2;
        }
        r = recv(fd, buf + len, cap - len - 1, 0);
        if (r > 0) {
            len += (size_t)r;
            continue;
        }
        if (r == 0)
            break;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN) {
            if ((rc = sock_wait(fd, POLLIN, deadline)) < 0)
                goto fail;
            continue;
        }
        rc = -errno;
        goto fail;
    }
    close(fd);
    free(line);
    buf[len] = '\0';
    *out = buf;
    return 0;
fail:
    close(fd);
    free(line);
    free(buf);
    return rc;
}

int
haproxy_parse_state(const char *text, struct hx_row *rows, int max)
{
    const char *line = text;
    bool header = false;
    int n = 0;

    while (*line != '\0') {
        size_t len = strcspn(line, "\n");
        char buf[2048];
        if (len < sizeof(buf)) {
            memcpy(buf, line, len);
            buf[len] = '\0';
            if (buf[0] == '#') {
                header = strstr(buf, "srv_admin_state") != NULL;
            } else if (buf[0] != '\0' && strcmp(buf, "1") != 0 && header) {
                char be[NAME_MAX_LEN + 2], sv[NAME_MAX_LEN + 2], addr[128];
                int be_id, sv_id, op, adm, uw, iw;
                if (sscanf(buf, "%d %65s %d %65s %127s %d %d %d %d", &be_id, be, &sv_id, sv, addr,
                           &op, &adm, &uw, &iw) == 9 &&
                    strlen(be) <= NAME_MAX_LEN && strlen(sv) <= NAME_MAX_LEN) {
                    if (n < max) {
                        struct hx_row *r = &rows[n];
                        strcpy(r->backend, be);
                        strcpy(r->server, sv);
                        r->op_state = op;
                        r->admin_state = adm;
                        r->uweight = uw;
                        r->iweight = iw;
                    }
                    n++;
                }
            }
        }
        line += len;
        if (*line == '\n')
            line++;
    }
    if (!header)
        return -EPROTO;
    return n < max ? n : max;
}

const char *
haproxy_state_name(const struct hx_row *r)
{
    if (r->admin_state & HX_ADMF_MAINT)
        return "maint";
    if (r->admin_state & HX_ADMF_DRAIN)
        return "drain";
    if (r->op_state == 0)
        return "down";
    return "ready";
}

/* ---- worker ------------------------------------------------------------ */

#ifdef EMBER_FAULT_INJECTION
/* Test builds only (make check): EMBER_DRAIN_FAULT=slow-haproxy:MS makes a
 * worker pause MS after each command, so tests can catch a drain half done. */
static int64_t
fault_delay_ms(void)
{
    const char *fault = getenv("EMBER_DRAIN_FAULT");

    if (fault != NULL && strncmp(fault, "slow-haproxy:", 13) == 0)
        return atol(fault + 13);
    return 0;
}
#else
/* Installed builds carry no fault switch. */
static int64_t
fault_delay_ms(void)
{
    return 0;
}
#endif

/* Hands one command's record to the loop; the oldest records give way when
 * the loop has not taken the last HX_LOG_MAX. */
static void
add_log(struct haproxy *x, const char *cmd, const char *result, bool ok, bool dry)
{
    struct hx_log l = {.ok = ok, .dry = dry};
    int rc;

    snprintf(l.cmd, sizeof(l.cmd), "%s", cmd);
    snprintf(l.result, sizeof(l.result), "%s", result);
    rc = mailbox_post(x->w.reports, &l, 1);
    if (rc < 0 && rc != -ENOBUFS)
        log_warnx("haproxy %s: wakeup: %s", x->conf->name, strerror(-rc));
}

/* Reads every backend this instance has servers in into v->obs.  Returns 0,
 * 1 when HAProxy answered but lacks a configured server, -EPROTO when it
 * lacks a backend, or -errno when it could not be asked. */
static int
read_states(struct haproxy *x, struct hx_view *v)
{
    const struct dconf_haproxy *h = x->conf;
    struct hx_row rows[256];

    if (h->kind == DCONF_TARGET_BGP)
        return bgp_read(h, v);
    v->nservers = h->nservers;
    for (int i = 0; i < h->nservers; i++) {
        v->obs[i].known = false;
        snprintf(v->obs[i].state, sizeof(v->obs[i].state), "unknown");
    }
    for (int i = 0; i < h->nservers; i++) {
        const char *be = h->servers[i].backend;
        char cmd[128], *ans = NULL;
        int n, rc;
        bool done = false;

        for (int k = 0; k < i && !done; k++)
            done = strcmp(h->servers[k].backend, be) == 0;
        if (done)
            continue;
        snprintf(cmd, sizeof(cmd), "show servers state %s", be);
        rc = haproxy_command(&x->addr, cmd, &ans);
        if (rc < 0) {
            snprintf(v->error, sizeof(v->error), "%s: %s", cmd, strerror(-rc));
            return rc;
        }
        n = haproxy_parse_state(ans, rows, (int)ARRAY_LEN(rows));
        if (n < 0) {
            ans[strcspn(ans, "\n")] = '\0';
            snprintf(v->error, sizeof(v->error), "%s: %s", cmd, ans[0] ? ans : "empty answer");
            free(ans);
            return -EPROTO;
        }
        free(ans);
        for (int k = 0; k < h->nservers; k++) {
            if (strcmp(h->servers[k].backend, be) != 0)
                continue;
            snprintf(v->obs[k].state, sizeof(v->obs[k].state), "missing");
            for (int r = 0; r < n; r++) {
                if (strcmp(rows[r].server, h->servers[k].server) == 0) {
                    v->obs[k].known = true;
                    v->obs[k].row = rows[r];
                    snprintf(v->obs[k].state, sizeof(v->obs[k].state), "%s",
                             haproxy_state_name(&rows[r]));
                    break;
                }
            }
        }
    }
    v->error[0] = '\0';
    for (int i = 0; i < h->nservers; i++) {
        if (!v->obs[i].known) {
            snprintf(v->error, sizeof(v->error), "no server %s/%s in HAProxy",
                     h->servers[i].backend, h->servers[i].server);
            return 1;
        }
    }
    return 0;
}

static int
drain_weight(const struct dconf_haproxy *h, const struct hx_row *r)
{
    return h->weight_pct ? r->iweight * h->weight / 100 : h->weight;
}

/* The commands that take one server from what it is to what is wanted;
 * none when that is already in effect. */
static int
plan(const struct dconf_haproxy *h, int i, const struct hx_row *r, int want, char cmds[2][200])
{
    const char *be = h->servers[i].backend, *sv = h->servers[i].server;
    int n = 0;

    switch (want) {
    case HX_WANT_DRAIN:
    case HX_WANT_MAINT:
        if (want == HX_WANT_DRAIN && !(r->admin_state & (HX_ADMF_DRAIN | HX_ADMF_MAINT)))
            snprintf(cmds[n++], 200, "set server %s/%s state drain", be, sv);
        if (want == HX_WANT_MAINT && !(r->admin_state & HX_ADMF_MAINT))
            snprintf(cmds[n++], 200, "set server %s/%s state maint", be, sv);
        if (h->has_weight && r->uweight != drain_weight(h, r))
            snprintf(cmds[n++], 200, "set weight %s/%s %d%s", be, sv, h->weight,
                     h->weight_pct ? "%" : "");
        break;
    case HX_WANT_READY:
        if (r->admin_state & (HX_ADMF_FMAINT | HX_ADMF_FDRAIN))
            snprintf(cmds[n++], 200, "set server %s/%s state ready", be, sv);
        if (h->has_weight && r->uweight != r->iweight)
            snprintf(cmds[n++], 200, "set weight %s/%s 100%%", be, sv);
        break;
    default:
        break;
    }
    return n;
}

static bool
reached(const struct dconf_haproxy *h, const struct hx_view *v, int want)
{
    if (h->kind == DCONF_TARGET_BGP)
        return bgp_reached(h, v, want);
    for (int i = 0; i < h->nservers; i++) {
        char cmds[2][200];
        if (!v->obs[i].known || plan(h, i, &v->obs[i].row, want, cmds) > 0)
            return false;
    }
    return true;
}

static bool
view_differs(const struct hx_view *a, const struct hx_view *b)
{
    if (a->done_gen != b->done_gen || a->reached != b->reached || a->reachable != b->reachable ||
        strcmp(a->error, b->error) != 0 || a->nservers != b->nservers)
        return true;
    for (int i = 0; i < a->nservers; i++)
        if (a->obs[i].known != b->obs[i].known || strcmp(a->obs[i].state, b->obs[i].state) != 0 ||
            a->obs[i].row.uweight != b->obs[i].row.uweight)
            return true;
    return false;
}

/* Sends one command and logs it; an error goes to v->error. */
static void
send_one(struct haproxy *x, const char *cmd, struct hx_view *v)
{
    const struct dconf_haproxy *h = x->conf;
    const char *kind = h->kind == DCONF_TARGET_BGP ? "bgp" : "haproxy";
    char result[200];
    char *ans = NULL;
    int rc;

    if (h->kind == DCONF_TARGET_BGP) {
        rc = bgp_send(h, cmd, result, sizeof(result));
    } else {
        rc = haproxy_command(&x->addr, cmd, &ans);
        if (rc == 0) {
            /* Success is an empty answer; anything else is HAProxy's error. */
            ans[strcspn(ans, "\n")] = '\0';
            snprintf(result, sizeof(result), "%s", ans[0] ? ans : "ok");
            rc = ans[0] ? 1 : 0;
            free(ans);
        } else {
            snprintf(result, sizeof(result), "%s", strerror(-rc));
        }
    }
    if (rc == 0) {
        log_info("%s %s: %s", kind, h->name, cmd);
        add_log(x, cmd, h->kind == DCONF_TARGET_BGP ? result : "ok", true, false);
    } else {
        log_warnx("%s %s: '%s': %s", kind, h->name, cmd, result);
        add_log(x, cmd, result, false, false);
        snprintf(v->error, sizeof(v->error), "%.120s: %.120s", cmd, result);
    }
}

/* One pass: read, send what is missing, read back. */
static void
converge(struct haproxy *x, int want, uint64_t gen, bool first_of_gen, struct hx_view *v)
{
    const struct dconf_haproxy *h = x->conf;
    bool sent = false;
    int rc;

    v->want = want;
    v->done_gen = gen;
    rc = read_states(x, v);
    /* 1 and -EPROTO: HAProxy answered, but lacks a server or a backend. */
    v->reachable = rc >= 0 || rc == -EPROTO;
    if (rc < 0) {
        v->reached = false;
        return;
    }
    for (int i = 0; i < h->nservers && want != HX_WANT_NONE; i++) {
        char cmds[2][200];
        int n;
        if (!v->obs[i].known)
            continue;
        if (h->kind == DCONF_TARGET_BGP)
            n = i == 0 ? bgp_plan(h, v, want, cmds[0]) : 0; /* one protocol for all prefixes */
        else
            n = plan(h, i, &v->obs[i].row, want, cmds);
        for (int k = 0; k < n; k++) {
            if (x->dry_run) {
                /* Log what would be sent once per request, not every refresh. */
                if (first_of_gen) {
                    log_info("%s %s: dry run: would send '%s'",
                             h->kind == DCONF_TARGET_BGP ? "bgp" : "haproxy", h->name, cmds[k]);
                    add_log(x, cmds[k], "dry run: not sent", true, true);
                }
                continue;
            }
            send_one(x, cmds[k], v);
            sent = true;
            if (x->fault_delay_ms > 0) {
                struct timespec ts = {x->fault_delay_ms / 1000,
                                      (long)(x->fault_delay_ms % 1000) * 1000000L};
                nanosleep(&ts, NULL);
            }
        }
    }
    if (sent) {
        char keep[256];
        snprintf(keep, sizeof(keep), "%s", v->error);
        rc = read_states(x, v);
        v->reachable = rc >= 0 || rc == -EPROTO;
        if (rc == 0 && keep[0] != '\0' && !reached(h, v, want))
            snprintf(v->error, sizeof(v->error), "%s", keep);
    }
    v->reached = v->reachable && (x->dry_run || reached(h, v, want));
}

/* One pass of the worker thread (tworker_pass). */
static int64_t
pass(void *arg, int want, uint64_t gen, bool new_gen)
{
    struct haproxy *x = arg;
    struct hx_view v, prev;

    pthread_mutex_lock(&x->w.mu);
    v = prev = x->view;
    pthread_mutex_unlock(&x->w.mu);
    converge(x, want, gen, new_gen, &v);
    pthread_mutex_lock(&x->w.mu);
    x->view = v;
    pthread_mutex_unlock(&x->w.mu);
    if ((new_gen || view_differs(&prev, &v)) && mailbox_wake(x->w.reports) < 0)
        log_warn("haproxy %s: wakeup", x->conf->name);
    return v.reached || want == HX_WANT_NONE ? x->conf->refresh_ms : RETRY_MS;
}

int
haproxy_start(struct haproxy **out, const struct dconf_haproxy *h, bool dry_run, int notify_fd)
{
    struct haproxy *x = xcalloc(1, sizeof(*x));
    int rc;

    x->conf = h;
    x->addr = (struct hx_addr){h->socket, h->host, h->port, h->timeout_ms};
    x->dry_run = dry_run;
    if ((rc = tworker_init(&x->w, sizeof(struct hx_log), HX_LOG_MAX, notify_fd)) < 0) {
        free(x);
        return rc;
    }
    x->view.nservers = h->nservers;
    for (int i = 0; i < h->nservers; i++)
        snprintf(x->view.obs[i].state, sizeof(x->view.obs[i].state), "unknown");
    x->fault_delay_ms = fault_delay_ms();
    if ((rc = tworker_run(&x->w, pass, x)) < 0) {
        free(x);
        return rc;
    }
    *out = x;
    return 0;
}

void
haproxy_stop(struct haproxy *x)
{
    if (x == NULL)
        return;
    tworker_stop(&x->w);
    free(x);
}

void
haproxy_want(struct haproxy *x, int want, uint64_t gen)
{
    tworker_want(&x->w, want, gen);
}

void
haproxy_refresh(struct haproxy *x)
{
    tworker_refresh(&x->w);
}

void
haproxy_view(struct haproxy *x, struct hx_view *v)
{
    pthread_mutex_lock(&x->w.mu);
    *v = x->view;
    pthread_mutex_unlock(&x->w.mu);
}

int
haproxy_take_log(struct haproxy *x, struct hx_log *out, int max)
{
    return max > 0 ? (int)mailbox_take(x->w.reports, out, (size_t)max) : 0;
}
