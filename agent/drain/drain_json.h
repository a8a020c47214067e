/*
 * drain_json.h - ember-drain's JSON, built and parsed with cJSON: the
 * retained {prefix}/{site}/drain/state payload, the site objects of the
 * control socket's answers, audit entries, and the retained state adopted
 * when the state file has no entry.  (An agent's drain request is parsed by
 * policy_parse_request(), next to the rules that judge it.)
 *
 * cJSON objects are passed as void * where they leave this module, so that
 * callers need not include cJSON.h; each such object is owned by the caller.
 */
#ifndef EMBER_DRAIN_JSON_H
#define EMBER_DRAIN_JSON_H

#include <stdbool.h>
#include <stdint.h>

#include "dns.h"
#include "haproxy.h"
#include "site.h"

/* The site as published (detail false) or as `status` shows it (detail
 * true: requests, agents, condition).  views is indexed like the
 * configuration's [haproxy] sections, dviews like its [dns] sections (NULL:
 * none read yet).  Returns a cJSON object. */
void *djson_site(const struct site *s, const struct hx_view *views, const struct dns_view *dviews,
                 bool detail);

/* The drain/state payload: *sig is the payload without "ts" (to publish
 * only changes), *text the payload with "ts" (now_real_ms) first, as in
 * every payload of the contract.  Both malloc'd.  Returns 0 or -ENOMEM. */
int djson_state(const struct site *s, const struct hx_view *views, const struct dns_view *dviews,
                int64_t now_real_ms, char **sig, char **text);

/* Control-socket answers (malloc'd text).  status: sites[i] is site i of
 * c, `only` a site index or -1 for every site. */
char *djson_answer_status(const struct dconf *c, const struct site *const *sites, int only,
                          const struct hx_view *views, const struct dns_view *dviews, bool mqtt,
                          bool settled);
char *djson_answer_site(const struct site *s, const struct hx_view *views,
                        const struct dns_view *dviews);
char *djson_answer_error(const char *err);

/* Audit entry fields (a cJSON object for audit_event()). */
void *djson_audit(const struct dconf *c, const struct site_audit *a);
/* A command a target's worker sent (or, dry run, would have sent): kind is
 * "haproxy" or "bgp", the key that names the section. */
void *djson_audit_target(const struct site_audit *a, const char *kind, const char *name,
                         const struct hx_log *l);
/* A [bgp] target's BIRD could not be asked or refused (bgp_error). */
void *djson_audit_target_error(const struct site_audit *a, const char *bgp, const char *error);
/* An update a [dns] worker sent (or would have sent, or refused to send). */
void *djson_audit_dns(const struct site_audit *a, const char *dns, const char *update,
                      const char *result, bool ok);
void *djson_audit_start(const char *controller, long pid, bool dry_run);

/* A retained drain/state payload, as far as adopting it needs. */
struct djson_state {
    char state[16];
    char held_state[16];
    bool has_held_state;
    char cause[512];
    bool has_cause;
    char by[128];
    bool has_by;
    char controller[NAME_MAX_LEN + 1]; /* the publishing controller's [drain] id */
    bool has_controller;
    uint64_t drain_id;
};

/* Returns 0, or -EINVAL when the payload is not an object with a "state". */
int djson_parse_state(const void *payload, size_t len, struct djson_state *out);

/* A peer's {p}/{site}/drain/state/{id} payload into out (its "controller"
 * must be id).  Returns 0, or -EINVAL when it is not a state of that
 * controller. */
int djson_parse_peer(const void *payload, size_t len, const char *id, struct site_peer *out);

#endif
