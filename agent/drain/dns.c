/*
 * dns.c - [dns NAME] targets: RFC 2136 updates with TSIG through ldns, one
 * worker thread per section.
 */
#include "dns.h"

#include <errno.h>
#include <ldns/ldns.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "haproxy.h"
#include "log.h"
#include "mailbox.h"
#include "tworker.h"
#include "util.h"

#define RETRY_MS 250 /* while the server is unreachable or not yet converged */

/* TSIG errors (RFC 8945 5.2). */
#define TSIG_BADSIG 16
#define TSIG_BADKEY 17
#define TSIG_BADTIME 18

struct dns {
    const struct dconf_dns *conf;
    bool dry_run;
    ldns_resolver *query; /* unsigned reads */
    ldns_rdf *ns;         /* the server's address */
    struct tworker w;     /* reports: struct dns_log, to the loop */
    struct dns_view view; /* guarded by w.mu */
};

void
dns_rcode_str(int rcode, int tsig_error, char *buf, size_t len)
{
    static const char *const names[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
                                        "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
                                        "NXRRSET", "NOTAUTH", "NOTZONE"};
    const char *rc = rcode >= 0 && rcode < (int)ARRAY_LEN(names) ? names[rcode] : NULL;
    const char *te = tsig_error == TSIG_BADSIG   ? " (TSIG BADSIG: the key's secret differs)"
                     : tsig_error == TSIG_BADKEY ? " (TSIG BADKEY: the server does not know the key)"
                     : tsig_error == TSIG_BADTIME ? " (TSIG BADTIME: the clocks differ)"
                                                  : "";

    if (rc != NULL)
        snprintf(buf, len, "%s%s", rc, te);
    else
        snprintf(buf, len, "rcode %d%s", rcode, te);
}

/* The resolver of the unsigned reads. */
static ldns_resolver *
new_resolver(const struct dconf_dns *d)
{
    ldns_resolver *r = ldns_resolver_new();
    ldns_rdf *ns;
    struct timeval tv = {d->timeout_ms / 1000, (long)(d->timeout_ms % 1000) * 1000};

    if (r == NULL)
        return NULL;
    ns = ldns_rdf_new_frm_str(strchr(d->host, ':') ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A,
                              d->host);
    if (ns == NULL || ldns_resolver_push_nameserver(r, ns) != LDNS_STATUS_OK) {
        ldns_rdf_deep_free(ns);
        ldns_resolver_deep_free(r);
        return NULL;
    }
    ldns_rdf_deep_free(ns);
    ldns_resolver_set_port(r, (uint16_t)d->port);
    ldns_resolver_set_timeout(r, tv);
    ldns_resolver_set_retry(r, 1);
    ldns_resolver_set_retrans(r, 0);
    ldns_resolver_set_recursive(r, false);
    ldns_resolver_set_random(r, false);
    ldns_resolver_set_dnssec(r, false);
    ldns_resolver_set_fail(r, true);
    return r;
}

static void
add_log(struct dns *x, const char *what, const char *result, bool ok, bool dry)
{
    struct dns_log l = {.ok = ok, .dry = dry};
    int rc;

    snprintf(l.what, sizeof(l.what), "%s", what);
    snprintf(l.result, sizeof(l.result), "%s", result);
    rc = mailbox_post(x->w.reports, &l, 1);
    if (rc < 0 && rc != -ENOBUFS)
        log_warnx("dns %s: wakeup: %s", x->conf->name, strerror(-rc));
}

/* Reads one RRset into o->cur.  Returns 0, or -1 with v->error set. */
static int
read_set(struct dns *x, struct dns_obs *o, struct dns_view *v)
{
    ldns_rr_type type = o->family == 6 ? LDNS_RR_TYPE_AAAA : LDNS_RR_TYPE_A;
    ldns_rdf *name = ldns_dname_new_frm_str(o->name);
    ldns_pkt *ans = NULL;
    ldns_rr_list *rrs;
    ldns_status st;
    int rcode;

    o->known = false;
    o->cur.n = 0;
    /* ldns marks a server that failed once as down; ask it every time. */
    ldns_resolver_set_nameserver_rtt(x->query, 0, LDNS_RESOLV_RTT_MIN);
    if (name == NULL) {
        snprintf(v->error, sizeof(v->error), "%.200s: not a domain name", o->name);
        return -1;
    }
    st = ldns_resolver_query_status(&ans, x->query, name, type, LDNS_RR_CLASS_IN, 0);
    ldns_rdf_deep_free(name);
    if (st != LDNS_STATUS_OK || ans == NULL) {
        snprintf(v->error, sizeof(v->error),
                 "query %.200s %s: no answer from %s port %d within %lld ms (%.100s)", o->name,
                 o->family == 6 ? "AAAA" : "A", x->conf->host, x->conf->port,
                 (long long)x->conf->timeout_ms, ldns_get_errorstr_by_id(st));
        ldns_pkt_free(ans);
        return -1;
    }
    rcode = ldns_pkt_get_rcode(ans);
    if (rcode != LDNS_RCODE_NOERROR && rcode != LDNS_RCODE_NXDOMAIN) {
        char rs[96];
        dns_rcode_str(rcode, 0, rs, sizeof(rs));
        snprintf(v->error, sizeof(v->error), "query %.200s %s: %.100s", o->name,
                 o->family == 6 ? "AAAA" : "A", rs);
        ldns_pkt_free(ans);
        return -1;
    }
    rrs = ldns_pkt_rr_list_by_type(ans, type, LDNS_SECTION_ANSWER);
    for (size_t i = 0; rrs != NULL && i < ldns_rr_list_rr_count(rrs); i++) {
        ldns_rr *rr = ldns_rr_list_rr(rrs, i);
        char *owner = ldns_rdf2str(ldns_rr_owner(rr));
        char *addr = ldns_rr_rd_count(rr) > 0 ? ldns_rdf2str(ldns_rr_rdf(rr, 0)) : NULL;
        char canon[DNSPLAN_ADDR];
        if (owner != NULL && addr != NULL && strcasecmp(owner, o->name) == 0 &&
            dnsplan_canon(addr, canon) > 0)
            dnsplan_add(&o->cur, canon, ldns_rr_ttl(rr));
        free(owner);
        free(addr);
    }
    ldns_rr_list_deep_free(rrs);
    ldns_pkt_free(ans);
    dnsplan_sort(&o->cur);
    o->known = true;
    return 0;
}

static int
read_all(struct dns *x, struct dns_view *v)
{
    v->error[0] = '\0';
    for (int i = 0; i < v->nsets; i++)
        if (read_set(x, &v->obs[i], v) < 0)
            return -1;
    return 0;
}

/* The addresses of `family` among `list`. */
static void
family_set(char (*list)[DCONF_ADDR_LEN], int n, int family, struct dns_set *out)
{
    out->n = 0;
    for (int i = 0; i < n; i++)
        if ((strchr(list[i], ':') != NULL) == (family == 6))
            dnsplan_add(out, list[i], 0);
}

/* The plan for one RRset; -EDOM when a drain would leave it empty. */
static int
plan_set(const struct dconf_dns *d, const struct dns_obs *o, int want, struct dns_plan *p)
{
    struct dns_set site, standby;

    memset(p, 0, sizeof(*p));
    if (want == HX_WANT_DRAIN || want == HX_WANT_MAINT) {
        family_set((char(*)[DCONF_ADDR_LEN])d->addresses, d->naddresses, o->family, &site);
        family_set((char(*)[DCONF_ADDR_LEN])d->standby, d->nstandby, o->family, &standby);
        return dnsplan_drain(&o->cur, &o->journal, &site, &standby, (uint32_t)(d->ttl_ms / 1000),
                             d->allow_empty, p);
    }
    if (want == HX_WANT_READY)
        dnsplan_restore(&o->cur, &o->journal, p);
    return 0;
}

/* Appends the records of one plan to `up`, and their text to `what`. */
static int
plan_rrs(const struct dns_obs *o, const struct dns_plan *p, ldns_rr_list *up, char *what,
         size_t len)
{
    const char *t = o->family == 6 ? "AAAA" : "A";

    for (int pass = 0; pass < 2; pass++) {
        const struct dns_set *s = pass == 0 ? &p->del : &p->add;
        for (int i = 0; i < s->n; i++) {
            char text[512];
            ldns_rr *rr = NULL;
            size_t used = strlen(what);
            snprintf(text, sizeof(text), "%.254s %u IN %s %.46s", o->name, pass == 0 ? 0 : s->r[i].ttl, t,
                     s->r[i].addr);
            if (ldns_rr_new_frm_str(&rr, text, 0, NULL, NULL) != LDNS_STATUS_OK)
                return -EINVAL;
            if (pass == 0)
                ldns_rr_set_class(rr, LDNS_RR_CLASS_NONE); /* delete this RR (RFC 2136 2.5.4) */
            ldns_rr_list_push_rr(up, rr);
            snprintf(what + used, len - used, "%s%s %.254s %s %.46s", used ? "; " : "",
                     pass == 0 ? "delete" : "add", o->name, t, s->r[i].addr);
        }
    }
    return 0;
}

/* Sends `wire` to the server over UDP (TCP when the answer is truncated)
 * and parses the answer into *ans; *raw keeps its wire form for the TSIG
 * check.  Returns an ldns status. */
static ldns_status
exchange(struct dns *x, ldns_buffer *wire, ldns_pkt **ans, uint8_t **raw, size_t *rawlen)
{
    const struct dconf_dns *d = x->conf;
    struct timeval tv = {d->timeout_ms / 1000, (long)(d->timeout_ms % 1000) * 1000};
    size_t sslen = 0;
    struct sockaddr_storage *ss = ldns_rdf2native_sockaddr_storage(x->ns, (uint16_t)d->port, &sslen);
    ldns_status st;

    *ans = NULL;
    *raw = NULL;
    if (ss == NULL)
        return LDNS_STATUS_MEM_ERR;
    st = ldns_udp_send(raw, wire, ss, (socklen_t)sslen, tv, rawlen);
    if (st == LDNS_STATUS_OK && (st = ldns_wire2pkt(ans, *raw, *rawlen)) == LDNS_STATUS_OK &&
        ldns_pkt_tc(*ans)) {
        ldns_pkt_free(*ans);
        *ans = NULL;
        free(*raw);
        *raw = NULL;
        st = ldns_tcp_send(raw, wire, ss, (socklen_t)sslen, tv, rawlen);
        if (st == LDNS_STATUS_OK)
            st = ldns_wire2pkt(ans, *raw, *rawlen);
    }
    free(ss);
    return st;
}

/* Sends one signed update and checks the signed answer.  Returns 0, or -1
 * with the reason in why: the server's rcode and TSIG error (REFUSED,
 * NOTAUTH with BADKEY or BADSIG...), an answer whose TSIG does not verify,
 * or no answer within the timeout. */
static int
send_update(struct dns *x, ldns_rr_list *up, char *why, size_t len)
{
    const struct dconf_dns *d = x->conf;
    ldns_rdf *zone = ldns_dname_new_frm_str(d->zone);
    ldns_pkt *pkt, *ans = NULL;
    ldns_buffer *wire = NULL;
    uint8_t *raw = NULL;
    size_t rawlen = 0;
    char alg[32];
    ldns_status st;
    int rc = -1;

    pkt = ldns_update_pkt_new(zone, LDNS_RR_CLASS_IN, NULL, up, NULL); /* takes zone */
    if (pkt == NULL) {
        snprintf(why, len, "cannot build the update");
        return -1;
    }
    ldns_pkt_set_random_id(pkt);
    snprintf(alg, sizeof(alg), "%s.", dconf_tsig_algorithms[d->tsig_algorithm]);
    st = ldns_pkt_tsig_sign(pkt, d->tsig_key, d->tsig_secret, 300, alg, NULL);
    if (st == LDNS_STATUS_OK) {
        wire = ldns_buffer_new(LDNS_MAX_PACKETLEN);
        st = wire ? ldns_pkt2buffer_wire(wire, pkt) : LDNS_STATUS_MEM_ERR;
    }
    if (st != LDNS_STATUS_OK) {
        snprintf(why, len, "cannot sign the update with key %s: %s", d->tsig_key,
                 ldns_get_errorstr_by_id(st));
        goto out;
    }
    st = exchange(x, wire, &ans, &raw, &rawlen);
    if (st != LDNS_STATUS_OK || ans == NULL) {
        snprintf(why, len, "no answer from %s port %d within %lld ms (%s)", d->host, d->port,
                 (long long)d->timeout_ms, ldns_get_errorstr_by_id(st));
        goto out;
    }
    {
        int rcode = ldns_pkt_get_rcode(ans), terr = 0;
        ldns_rr *tsig = ldns_pkt_tsig(ans);
        if (tsig != NULL && ldns_rr_rd_count(tsig) > 5)
            terr = ldns_rdf2native_int16(ldns_rr_rdf(tsig, 5));
        if (rcode != LDNS_RCODE_NOERROR || terr != 0) {
            char rs[128];
            dns_rcode_str(rcode, terr, rs, sizeof(rs));
            snprintf(why, len, "server %s port %d answered %s", d->host, d->port, rs);
        } else if (tsig == NULL ||
                   !ldns_pkt_tsig_verify(ans, raw, rawlen, d->tsig_key, d->tsig_secret,
                                         ldns_rr_rdf(ldns_pkt_tsig(pkt), 3))) {
            snprintf(why, len, "the answer's TSIG does not verify with key %s", d->tsig_key);
        } else {
            rc = 0;
        }
    }
out:
    free(raw);
    ldns_buffer_free(wire);
    ldns_pkt_free(ans);
    ldns_pkt_free(pkt);
    return rc;
}

/* Warns (once per request) about an RRset whose TTL keeps resolvers on
 * the old answer longer than max_ttl. */
static void
check_ttl(struct dns *x, const struct dns_obs *o)
{
    for (int i = 0; i < o->cur.n; i++) {
        if ((int64_t)o->cur.r[i].ttl * 1000 > x->conf->max_ttl_ms) {
            char what[300], res[200];
            snprintf(what, sizeof(what), "ttl %s %s %u s", o->name, o->family == 6 ? "AAAA" : "A",
                     o->cur.r[i].ttl);
            snprintf(res, sizeof(res),
                     "warning: resolvers may keep the old answer for %u s, longer than max_ttl "
                     "%lld s",
                     o->cur.r[i].ttl, (long long)(x->conf->max_ttl_ms / 1000));
            log_warnx("dns %s: %s: %s", x->conf->name, what, res);
            add_log(x, what, res, true, false);
            return;
        }
    }
}

static bool
all_reached(const struct dns *x, const struct dns_view *v, int want)
{
    for (int i = 0; i < v->nsets; i++) {
        struct dns_plan p;
        if (!v->obs[i].known || plan_set(x->conf, &v->obs[i], want, &p) < 0 || !dnsplan_empty(&p))
            return false;
    }
    return true;
}

/* Sets the view's error; a new error (or any error of a new request) is
 * audited once, not on every retry.  The loop logs the view's error when
 * it changes. */
static void
set_error(struct dns *x, struct dns_view *v, const char *prev, bool first_of_gen,
          const char *what, const char *why)
{
    snprintf(v->error, sizeof(v->error), "%s", why);
    if (first_of_gen || strcmp(prev, v->error) != 0)
        add_log(x, what, why, false, false);
}

/* One pass: read, send what is missing as one update, read back. */
static void
converge(struct dns *x, int want, uint64_t gen, bool first_of_gen, struct dns_view *v)
{
    const struct dconf_dns *d = x->conf;
    struct dns_plan plans[DNS_MAX_SETS];
    ldns_rr_list *up;
    char what[1024] = "", why[sizeof(v->error)] = "", prev[sizeof(v->error)];
    bool refused = false;

    snprintf(prev, sizeof(prev), "%s", v->error);
    v->want = want;
    v->done_gen = gen;
    v->reachable = read_all(x, v) == 0;
    if (!v->reachable) {
        v->reached = false;
        if (want != HX_WANT_NONE) {
            snprintf(why, sizeof(why), "%s", v->error);
            v->error[0] = '\0';
            set_error(x, v, prev, first_of_gen, "read", why);
        }
        return;
    }
    if (want == HX_WANT_NONE) {
        v->reached = true;
        return;
    }
    up = ldns_rr_list_new();
    for (int i = 0; i < v->nsets; i++) {
        if (first_of_gen && want != HX_WANT_READY)
            check_ttl(x, &v->obs[i]);
        if (plan_set(d, &v->obs[i], want, &plans[i]) == -EDOM) {
            refused = true;
            snprintf(why, sizeof(why),
                     "not sent: removing the site's addresses from %.254s %s would leave it "
                     "empty (allow_empty = no)",
                     v->obs[i].name, v->obs[i].family == 6 ? "AAAA" : "A");
            continue;
        }
        plan_rrs(&v->obs[i], &plans[i], up, what, sizeof(what));
    }
    if (refused) {
        /* Nothing is sent when any RRset would be left empty. */
        set_error(x, v, prev, first_of_gen, what[0] ? what : "update", why);
    } else if (ldns_rr_list_rr_count(up) > 0) {
        if (x->dry_run) {
            if (first_of_gen) {
                log_info("dns %s: dry run: would send update: %s", d->name, what);
                add_log(x, what, "dry run: not sent", true, true);
            }
        } else if (send_update(x, up, why, sizeof(why)) < 0) {
            char e[sizeof(v->error)];
            snprintf(e, sizeof(e), "update: %.400s", why);
            set_error(x, v, prev, first_of_gen, what, e);
        } else {
            log_info("dns %s: update: %s", d->name, what);
            add_log(x, what, "ok", true, false);
            for (int i = 0; i < v->nsets; i++)
                if (dnsplan_commit(&v->obs[i].journal, &plans[i]) < 0)
                    log_warnx("dns %s: journal of %s full", d->name, v->obs[i].name);
            v->reachable = read_all(x, v) == 0;
        }
    }
    ldns_rr_list_deep_free(up);
    v->reached = v->reachable && !refused && (x->dry_run || all_reached(x, v, want));
}

/* One pass of the worker thread (tworker_pass).  The view is large: it
 * lives on the heap while the pass runs. */
static int64_t
pass(void *arg, int want, uint64_t gen, bool new_gen)
{
    struct dns *x = arg;
    struct dns_view *v = xcalloc(1, sizeof(*v));
    int64_t wait_ms;

    pthread_mutex_lock(&x->w.mu);
    *v = x->view;
    pthread_mutex_unlock(&x->w.mu);
    converge(x, want, gen, new_gen, v);
    pthread_mutex_lock(&x->w.mu);
    x->view = *v;
    pthread_mutex_unlock(&x->w.mu);
    if (mailbox_wake(x->w.reports) < 0)
        log_warn("dns %s: wakeup", x->conf->name);
    wait_ms = v->reached || want == HX_WANT_NONE ? x->conf->refresh_ms : RETRY_MS;
    free(v);
    return wait_ms;
}

void
dns_view_init(const struct dconf_dns *d, struct dns_view *v)
{
    bool fam[2] = {false, false};

    memset(v, 0, sizeof(*v));
    for (int i = 0; i < d->naddresses; i++)
        fam[strchr(d->addresses[i], ':') != NULL] = true;
    for (int i = 0; i < d->nstandby; i++)
        fam[strchr(d->standby[i], ':') != NULL] = true;
    v->nsets = 0;
    for (int i = 0; i < d->nnames; i++)
        for (int f = 0; f < 2; f++)
            if (fam[f]) {
                struct dns_obs *o = &v->obs[v->nsets++];
                snprintf(o->name, sizeof(o->name), "%s", d->names[i]);
                o->family = f ? 6 : 4;
            }
}

int
dns_start(struct dns **out, const struct dconf_dns *d, bool dry_run, int notify_fd,
          const struct dns_view *initial)
{
    struct dns *x = xcalloc(1, sizeof(*x));
    int rc;

    x->conf = d;
    x->dry_run = dry_run;
    x->query = new_resolver(d);
    x->ns = ldns_rdf_new_frm_str(strchr(d->host, ':') ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A,
                                 d->host);
    if (x->query == NULL || x->ns == NULL) {
        rc = -ENOMEM;
        goto fail;
    }
    rc = tworker_init(&x->w, sizeof(struct dns_log), DNS_LOG_MAX, notify_fd);
    if (rc < 0)
        goto fail;
    if (initial != NULL)
        x->view = *initial;
    else
        dns_view_init(d, &x->view);
    if ((rc = tworker_run(&x->w, pass, x)) < 0)
        goto fail;
    *out = x;
    return 0;
fail:
    if (x->query != NULL)
        ldns_resolver_deep_free(x->query);
    ldns_rdf_deep_free(x->ns);
    free(x);
    return rc;
}

void
dns_stop(struct dns *x)
{
    if (x == NULL)
        return;
    tworker_stop(&x->w);
    ldns_resolver_deep_free(x->query);
    ldns_rdf_deep_free(x->ns);
    free(x);
}

void
dns_want(struct dns *x, int want, uint64_t gen)
{
    tworker_want(&x->w, want, gen);
}

void
dns_refresh(struct dns *x)
{
    tworker_refresh(&x->w);
}

void
dns_view(struct dns *x, struct dns_view *v)
{
    pthread_mutex_lock(&x->w.mu);
    *v = x->view;
    pthread_mutex_unlock(&x->w.mu);
}

int
dns_take_log(struct dns *x, struct dns_log *out, int max)
{
    return max > 0 ? (int)mailbox_take(x->w.reports, out, (size_t)max) : 0;
}
