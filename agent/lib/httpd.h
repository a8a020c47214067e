/*
 * httpd.h - a read-only HTTP endpoint on the program's loop (libmicrohttpd,
 * in its epoll mode: no thread of its own, so the page is built from the
 * program's state without locks), and the [metrics] section that names its
 * address.
 *
 * The listening socket is the program's own: a port in use is logged once
 * and tried again every HTTPD_RETRY_MS, while the program goes on; nothing
 * else waits for it.  Only GET and HEAD are answered; a client has
 * HTTPD_TIMEOUT_S to send its request, and at most HTTPD_MAX_CONN are
 * served at once.
 */
#ifndef EMBER_HTTPD_H
#define EMBER_HTTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "cfgfile.h"

struct loop;
struct httpd;

#define HTTPD_RETRY_MS 5000
#define HTTPD_TIMEOUT_S 10
#define HTTPD_MAX_CONN 16

/* [metrics]: listen = ADDRESS:PORT (an IPv4 address, or [IPv6]:PORT). */
struct metrics_conf {
    char *listen; /* NULL: no endpoint */
    int line;     /* of the listen key, for messages */
};

/* A [metrics] key (cfgfile's on_key for that section): stores listen, and
 * records an unknown key or an address that does not parse, naming the
 * file and line.  Returns 0. */
int metricsconf_key(struct cfgfile *cf, struct metrics_conf *mc, const char *key, const char *value);
void metricsconf_free(struct metrics_conf *mc);

/* Parses "127.0.0.1:9108" or "[::1]:9108" (numeric addresses only; port
 * 1-65535).  Returns 0, or -EINVAL with the reason in err. */
int httpd_parse_listen(const char *s, struct sockaddr_storage *sa, socklen_t *salen, char *err,
                       size_t errlen);

/* Makes the metrics page (malloc'd) in OpenMetrics 1.0 or, openmetrics
 * false, Prometheus text 0.0.4 (openmetrics.h); NULL when it could not. */
typedef char *(*httpd_page_fn)(void *arg, bool openmetrics);

/* Listens on `listen` (already checked by httpd_parse_listen) and answers
 * GET /metrics with page(): OpenMetrics when the Accept header names it,
 * Prometheus text otherwise, with the matching Content-Type; another path
 * is 404, a page that could not be made 500.  Returns 0, also when the
 * address cannot be bound yet (then logged, and retried); -errno otherwise. */
int httpd_open(struct httpd **out, struct loop *l, const char *listen, httpd_page_fn page, void *arg);
/* True once the endpoint listens (for a status). */
bool httpd_listening(const struct httpd *h);
void httpd_close(struct httpd *h);

#endif
