/*
 * httpd.c - a read-only HTTP endpoint on the loop, on libmicrohttpd (see
 * httpd.h).
 */
#include "httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "openmetrics.h"
#include "util.h"

struct httpd {
    struct loop *loop;
    char *listen;
    struct sockaddr_storage sa;
    socklen_t salen;
    struct MHD_Daemon *mhd;
    int epfd; /* MHD's epoll fd, watched by the loop */
    int retry_timer, tick_timer;
    bool warned; /* the bind failure was logged */
    httpd_page_fn page;
    void *arg;
};

/* ---- [metrics] --------------------------------------------------------- */

int
httpd_parse_listen(const char *s, struct sockaddr_storage *sa, socklen_t *salen, char *err,
                   size_t errlen)
{
    char host[INET6_ADDRSTRLEN + 1];
    const char *colon, *h = s;
    size_t hlen;
    char *end;
    long port;

    memset(sa, 0, sizeof(*sa));
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (close == NULL || close[1] != ':') {
            snprintf(err, errlen, "\"%s\": write an IPv6 address as [ADDRESS]:PORT", s);
            return -EINVAL;
        }
        h = s + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL || strchr(s, ':') != colon) {
            snprintf(err, errlen, "\"%s\": expected ADDRESS:PORT (e.g. 127.0.0.1:9108, [::1]:9108)", s);
            return -EINVAL;
        }
        hlen = (size_t)(colon - s);
    }
    errno = 0;
    port = strtol(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || errno != 0 || port < 1 || port > 65535) {
        snprintf(err, errlen, "\"%s\": the port must be a number from 1 to 65535", s);
        return -EINVAL;
    }
    if (hlen == 0 || hlen >= sizeof(host)) {
        snprintf(err, errlen, "\"%s\": no address before the port", s);
        return -EINVAL;
    }
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    if (s[0] == '[') {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)sa;
        if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1) {
            snprintf(err, errlen, "\"%s\": \"%s\" is not an IPv6 address", s, host);
            return -EINVAL;
        }
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *salen = sizeof(*a6);
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)sa;
        if (inet_pton(AF_INET, host, &a4->sin_addr) != 1) {
            snprintf(err, errlen, "\"%s\": \"%s\" is not an IPv4 address (names are not looked up)",
                     s, host);
            return -EINVAL;
        }
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        *salen = sizeof(*a4);
    }
    return 0;
}

int
metricsconf_key(struct cfgfile *cf, struct metrics_conf *mc, const char *key, const char *value)
{
    struct sockaddr_storage sa;
    socklen_t salen;
    char err[160];

    if (strcmp(key, "listen") != 0) {
        cfgfile_error(cf, "[metrics]: unknown key '%s' (expected listen)", key);
        return 0;
    }
    if (httpd_parse_listen(value, &sa, &salen, err, sizeof(err)) < 0) {
        cfgfile_error(cf, "[metrics] listen: %s", err);
        return 0;
    }
    free(mc->listen);
    mc->listen = xstrdup(value);
    mc->line = cf->line;
    return 0;
}

void
metricsconf_free(struct metrics_conf *mc)
{
    free(mc->listen);
    mc->listen = NULL;
}

/* ---- serving ----------------------------------------------------------- */

static enum MHD_Result
answer(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
       const char *version, const char *upload_data, size_t *upload_data_size, void **req_cls)
{
    struct httpd *h = cls;
    struct MHD_Response *resp;
    const char *ctype = "text/plain; charset=utf-8";
    unsigned int status = MHD_HTTP_OK;
    char *body = NULL;
    enum MHD_Result rc;
    (void)version;
    (void)upload_data;

    /* The first call only announces the request. */
    if (*req_cls == NULL) {
        *req_cls = h;
        return MHD_YES;
    }
    /* A request body is read and dropped (the answer can only be queued
     * once it is all in); its size and time are bounded by the connection's
     * memory limit and timeout. */
    if (*upload_data_size != 0) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
        status = MHD_HTTP_METHOD_NOT_ALLOWED;
        body = xstrdup("only GET and HEAD\n");
    } else if (strcmp(url, "/metrics") != 0) {
        status = MHD_HTTP_NOT_FOUND;
        body = xstrdup("not found (try /metrics)\n");
    } else {
        bool om = om_wants_openmetrics(
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT));
        if ((body = h->page(h->arg, om)) != NULL) {
            ctype = om_content_type(om);
        } else {
            status = MHD_HTTP_INTERNAL_SERVER_ERROR;
            body = xstrdup("could not make the page\n");
        }
    }
    resp = MHD_create_response_from_buffer_with_free_callback(strlen(body), body, free);
    if (resp == NULL) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    rc = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static void tick(void *arg);

/* Runs MHD, then arms the timer for when it wants to run next: at once
 * when it left work half done (a request body or long header read in
 * part: its epoll reports only new events), else at its nearest
 * connection timeout, at most a second away. */
static void
run(struct httpd *h)
{
#if MHD_VERSION >= 0x01000000 /* Debian 13: the 64-bit form */
    uint64_t ms = 1000;

    MHD_run(h->mhd);
    if (MHD_get_timeout64(h->mhd, &ms) != MHD_YES || ms > 1000)
        ms = 1000;
#else /* Debian 12: 0.9.75 */
    MHD_UNSIGNED_LONG_LONG ms = 1000;

    MHD_run(h->mhd);
    if (MHD_get_timeout(h->mhd, &ms) != MHD_YES || ms > 1000)
        ms = 1000;
#endif
    if (h->tick_timer > 0)
        loop_timer_cancel(h->loop, h->tick_timer);
    h->tick_timer = loop_timer(h->loop, (int64_t)ms, tick, h);
}

static void
on_ready(void *arg, short revents)
{
    (void)revents;
    run(arg);
}

static void
tick(void *arg)
{
    struct httpd *h = arg;
    h->tick_timer = 0;
    run(h);
}

static void try_listen(void *arg);

static int
start(struct httpd *h)
{
    const union MHD_DaemonInfo *info;
    int fd, one = 1;

    fd = socket(h->sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (h->sa.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&h->sa, h->salen) < 0 || listen(fd, 16) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    h->mhd = MHD_start_daemon(MHD_USE_EPOLL | (h->sa.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0), 0,
                              NULL, NULL, answer, h, MHD_OPTION_LISTEN_SOCKET, fd,
                              MHD_OPTION_CONNECTION_LIMIT, (unsigned int)HTTPD_MAX_CONN,
                              MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)HTTPD_TIMEOUT_S,
                              MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16384, MHD_OPTION_END);
    if (h->mhd == NULL) {
        close(fd);
        return -EIO;
    }
    info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
    if (info == NULL || info->epoll_fd < 0) {
        MHD_stop_daemon(h->mhd);
        h->mhd = NULL;
        return -EIO;
    }
    h->epfd = info->epoll_fd;
    loop_add_fd(h->loop, h->epfd, POLLIN, on_ready, h);
    h->tick_timer = loop_timer(h->loop, 1000, tick, h);
    return 0;
}

static void
try_listen(void *arg)
{
    struct httpd *h = arg;
    int rc;

    h->retry_timer = 0;
    if ((rc = start(h)) == 0) {
        log_info("metrics: serving http://%s/metrics%s", h->listen, h->warned ? " (the address is free now)" : "");
        return;
    }
    if (!h->warned)
        log_errx("metrics: cannot listen on %s: %s; going on without it, trying again every %d s",
                 h->listen, strerror(-rc), HTTPD_RETRY_MS / 1000);
    h->warned = true;
    h->retry_timer = loop_timer(h->loop, HTTPD_RETRY_MS, try_listen, h);
}

int
httpd_open(struct httpd **out, struct loop *l, const char *listen, httpd_page_fn page, void *arg)
{
    struct httpd *h;
    char err[160];

    h = xcalloc(1, sizeof(*h));
    if (httpd_parse_listen(listen, &h->sa, &h->salen, err, sizeof(err)) < 0) {
        log_errx("metrics: listen %s", err);
        free(h);
        return -EINVAL;
    }
    h->loop = l;
    h->listen = xstrdup(listen);
    h->page = page;
    h->arg = arg;
    h->epfd = -1;
    try_listen(h);
    *out = h;
    return 0;
}

bool
httpd_listening(const struct httpd *h)
{
    return h != NULL && h->mhd != NULL;
}

void
httpd_close(struct httpd *h)
{
    if (h == NULL)
        return;
    if (h->retry_timer > 0)
        loop_timer_cancel(h->loop, h->retry_timer);
    if (h->tick_timer > 0)
        loop_timer_cancel(h->loop, h->tick_timer);
    if (h->mhd != NULL) {
        loop_remove_fd(h->loop, h->epfd);
        MHD_stop_daemon(h->mhd); /* closes the listening socket too */
    }
    free(h->listen);
    free(h);
}
