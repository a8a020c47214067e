/*
 * haproxy.h - HAProxy's runtime API (the stats socket at level admin) and
 * one worker thread per [haproxy] section that converges its servers to the
 * state the controller wants.
 *
 * The protocol is HAProxy's line protocol in non-interactive mode: connect,
 * send one command line, read the answer until HAProxy closes the
 * connection.  `show servers state BACKEND` is the source of truth: field 7
 * srv_admin_state carries the forced drain (0x08) and maintenance (0x01)
 * bits, field 8 the current weight.  Workers compare that to what is wanted
 * before sending anything, so a command already in effect is never sent
 * again; a dead or slow HAProxy only delays its own worker.
 *
 * The same workers drive [bgp] targets (bgp.h): the read, the plan and the
 * command differ, the rest is shared.
 */
#ifndef EMBER_HAPROXY_H
#define EMBER_HAPROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dconf.h"

/* srv_admin_state bits (HAProxy's SRV_ADMF_*). */
#define HX_ADMF_FMAINT 0x01
#define HX_ADMF_IMAINT 0x02
#define HX_ADMF_CMAINT 0x04
#define HX_ADMF_FDRAIN 0x08
#define HX_ADMF_IDRAIN 0x10
#define HX_ADMF_RMAINT 0x20
#define HX_ADMF_HMAINT 0x40
#define HX_ADMF_MAINT                                                                              \
    (HX_ADMF_FMAINT | HX_ADMF_IMAINT | HX_ADMF_CMAINT | HX_ADMF_RMAINT | HX_ADMF_HMAINT)
#define HX_ADMF_DRAIN (HX_ADMF_FDRAIN | HX_ADMF_IDRAIN)

/* One row of `show servers state`. */
struct hx_row {
    char backend[NAME_MAX_LEN + 1];
    char server[NAME_MAX_LEN + 1];
    int op_state;    /* 0 stopped, 1 starting, 2 running, 3 stopping */
    int admin_state; /* HX_ADMF_* bits */
    int uweight;     /* current (user) weight */
    int iweight;     /* initial weight from the configuration */
};

/* Where a HAProxy listens: a unix socket path, or host and port. */
struct hx_addr {
    const char *path;
    const char *host;
    int port;
    int64_t timeout_ms;
};

/* Sends one command line and returns HAProxy's whole answer (malloc'd, NUL
 * terminated) in *out.  Returns 0, or -errno (-ETIMEDOUT after timeout_ms). */
int haproxy_command(const struct hx_addr *a, const char *cmd, char **out);

/* Parses a `show servers state` answer.  Returns the number of rows stored
 * (at most max), or -EPROTO when the text is not such an answer (e.g. "Can't
 * find backend."). */
int haproxy_parse_state(const char *text, struct hx_row *rows, int max);

/* "maint", "drain", "down" or "ready" for a row. */
const char *haproxy_state_name(const struct hx_row *r);

enum hx_want {
    HX_WANT_NONE,  /* observe only */
    HX_WANT_READY, /* set state ready (and restore the weight) */
    HX_WANT_DRAIN, /* set state drain (and the drain weight); maint counts as done */
    HX_WANT_MAINT, /* set state maint */
};

/* What a worker last saw of one server. */
struct hx_obs {
    bool known; /* present in the last successful read */
    struct hx_row row;
    char state[16]; /* haproxy_state_name(), "unknown" or "missing" */
};

#define HX_LOG_MAX 128

/* A command the worker sent (or would have sent, in dry-run mode). */
struct hx_log {
    char cmd[200];
    char result[200];
    bool ok;
    bool dry;
};

struct hx_view {
    uint64_t done_gen; /* the latest wanted generation worked on */
    int want;
    bool reached;   /* every server is in the wanted state (or, dry run, would be) */
    bool reachable; /* the last read worked */
    char error[256];
    char proto_state[16]; /* [bgp]: the static protocol's state in BIRD ("up", "down", "missing") */
    int nservers;
    struct hx_obs obs[DCONF_MAX_SERVERS];
};

struct haproxy;

/* Starts the worker for `h`.  It writes to notify_fd (a non-blocking pipe or
 * eventfd the caller empties) whenever its view changed or it logged a
 * command; the records travel in a mailbox (agent/lib/mailbox.h).  In
 * dry-run mode it reads but never changes anything. */
int haproxy_start(struct haproxy **out, const struct dconf_haproxy *h, bool dry_run, int notify_fd);
/* Stops and joins the worker (waits for a command in flight, at most its
 * timeout). */
void haproxy_stop(struct haproxy *x);
/* Asks the worker to converge to `want`; gen identifies this request. */
void haproxy_want(struct haproxy *x, int want, uint64_t gen);
/* Asks for a read now (e.g. after a restart or for `status`). */
void haproxy_refresh(struct haproxy *x);
/* Copies the current view. */
void haproxy_view(struct haproxy *x, struct hx_view *v);
/* Moves up to max logged commands into out, oldest first; returns how many.
 * Only the latest HX_LOG_MAX are kept. */
int haproxy_take_log(struct haproxy *x, struct hx_log *out, int max);

#endif
