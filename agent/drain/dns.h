/*
 * dns.h - the [dns NAME] target: RFC 2136 dynamic updates signed with TSIG,
 * sent with ldns, and one worker thread per section that converges the
 * zone's RRsets to what the controller wants.
 *
 * The RRsets are the A and AAAA records of each configured name (AAAA only
 * when the section lists IPv6 addresses, A only for IPv4).  Every pass reads
 * each RRset with an unsigned query to the server (the source of truth),
 * plans the change (dnsplan.h), sends all of it as one update (atomic on
 * the server) and reads the RRsets back.  What a drain deleted and added is
 * journalled so that an undrain restores exactly what was there.
 */
#ifndef EMBER_DNS_H
#define EMBER_DNS_H

#include <stdbool.h>
#include <stdint.h>

#include "dconf.h"
#include "dnsplan.h"

#define DNS_MAX_SETS (2 * DCONF_MAX_DNS_NAMES)
#define DNS_LOG_MAX 64

/* What a worker last saw of one RRset. */
struct dns_obs {
    char name[DCONF_DNS_NAME_LEN + 1];
    int family; /* 4: A, 6: AAAA */
    bool known; /* read in the last pass */
    struct dns_set cur;
    struct dns_journal journal; /* what drains deleted and added, not yet undone */
};

/* An update the worker sent (or would have sent, in dry-run mode), or a
 * refusal to send one. */
struct dns_log {
    char what[1024];
    char result[300];
    bool ok;
    bool dry;
};

struct dns_view {
    uint64_t done_gen;
    int want;       /* enum hx_want (MAINT counts as DRAIN) */
    bool reached;   /* every RRset reads back the wanted state */
    bool reachable; /* the last read worked */
    char error[512];
    int nsets;
    struct dns_obs obs[DNS_MAX_SETS];
};

struct dns;

/* The view of `d` before any read: its RRsets (every name, A when it has
 * IPv4 addresses, AAAA when IPv6), unknown, with empty journals. */
void dns_view_init(const struct dconf_dns *d, struct dns_view *v);

/* Starts the worker for `d` (see haproxy_start: same notify_fd protocol).
 * `initial` (from dns_view_init(), NULL: that) carries the journals a
 * previous run left in the state file. */
int dns_start(struct dns **out, const struct dconf_dns *d, bool dry_run, int notify_fd,
              const struct dns_view *initial);
void dns_stop(struct dns *x);
void dns_want(struct dns *x, int want, uint64_t gen);
void dns_refresh(struct dns *x);
void dns_view(struct dns *x, struct dns_view *v);
int dns_take_log(struct dns *x, struct dns_log *out, int max);

/* "REFUSED", "NOTAUTH (TSIG BADKEY)", ...: the outcome of an update answer
 * with `rcode` and TSIG error `tsig_error` (0: none), for logs. */
void dns_rcode_str(int rcode, int tsig_error, char *buf, size_t len);

#endif
