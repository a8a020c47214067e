/*
 * dconf.h - ember-drain configuration: [drain], [mqtt], [site NAME],
 * [haproxy NAME], [dns NAME], [bgp NAME], [hook NAME].  The format is
 * documented in ember-drain(8) and agent/examples/ember-drain.conf.
 *
 * dconf_load() parses, range-checks and cross-checks everything (targets and
 * hooks exist, each [haproxy] serves one site, hook programs are executable)
 * so that a file that loads is one ember-drain can run; every problem is
 * reported as "file:line: [section] key: problem".
 */
#ifndef EMBER_DCONF_H
#define EMBER_DCONF_H

#include <stdbool.h>
#include <stdint.h>

#include "cfgfile.h"
#include "httpd.h"
#include "mqttconf.h"
#include "util.h"

#define DCONF_MAX_SITES 16
#define DCONF_MAX_HAPROXY 32
#define DCONF_MAX_SERVERS 64
#define DCONF_MAX_HOOKS 16
#define DCONF_MAX_LIST 64 /* zones, agents, targets, hooks of one site */
#define DCONF_MAX_PEERS 16
#define DCONF_AGENT_ZONES_LEN 512 /* "b3+b4": the zones one agent may request */
#define DCONF_MAX_DNS 16
#define DCONF_MAX_DNS_NAMES 16
#define DCONF_MAX_DNS_ADDRS 16
#define DCONF_DNS_NAME_LEN 254
#define DCONF_TSIG_SECRET_LEN 256 /* base64 */
#define DCONF_ADDR_LEN 46 /* "b3+b4": the zones one agent may request */

enum vote_by { VOTE_BY_ZONE, VOTE_BY_AGENT };
/* What an agent that is offline (its Last Will) means for the vote. */
enum offline_mode {
    OFFLINE_HOLD,   /* its last drain requests stand as they were */
    OFFLINE_IGNORE, /* its requests no longer count */
    OFFLINE_VOTE,   /* it counts as requesting drain, but only while another
                       voter's real request is active (never alone) */
};
enum hook_dry { HOOK_DRY_SKIP, HOOK_DRY_RUN };

struct dconf_drain {
    char id[NAME_MAX_LEN + 1]; /* controller id: client id, status topic */
    char *state;               /* state file (JSON); "none" disables */
    char *audit;               /* audit log, one JSON object per line */
    char *control;             /* unix control socket */
    int control_mode;
    bool dry_run;
    int log_level;
    int64_t settle_ms; /* after the first subscription, before acting */
    /* Other controllers whose retained drain/state this one adopts when
     * its state file has no entry for a site (its own id always counts). */
    char *peers_str;
    char (*peers)[NAME_MAX_LEN + 1];
    int npeers;
};

struct dconf_server {
    char backend[NAME_MAX_LEN + 1];
    char server[NAME_MAX_LEN + 1];
};

#define DCONF_MAINT_AFTER_MAX_MS 86400000LL /* a day */

enum dconf_target_kind { DCONF_TARGET_HAPROXY, DCONF_TARGET_BGP };

/* A [haproxy NAME] section, or a [bgp NAME] one (kind DCONF_TARGET_BGP):
 * then socket is BIRD's control socket, protocol the static protocol that
 * announces the prefixes, and each servers[] entry is one prefix (backend
 * the protocol, server the prefix); tcp, weight and maint_after are unset. */
struct dconf_haproxy {
    char name[NAME_MAX_LEN + 1];
    int line;
    int kind; /* enum dconf_target_kind */
    char protocol[NAME_MAX_LEN + 1];
    char *prefixes_str;
    char *socket; /* unix stats socket (level admin) */
    char *tcp;    /* or host:port */
    char *host;   /* split from tcp */
    int port;
    char *servers_str;
    struct dconf_server servers[DCONF_MAX_SERVERS];
    int nservers;
    char *weight_str;
    int weight; /* set on drain when has_weight; absolute or percent */
    bool weight_pct;
    bool has_weight;
    int64_t maint_after_ms; /* 0: never go to maint; at most DCONF_MAINT_AFTER_MAX_MS */
    int64_t timeout_ms;
    int64_t refresh_ms;
    int site; /* index of the site that targets it, -1 when none */
};

/* [dns NAME]: the site's addresses in RRsets of a zone, changed by RFC 2136
 * dynamic updates signed with TSIG. */
struct dconf_dns {
    char name[NAME_MAX_LEN + 1];
    int line;
    char *server; /* HOST[:PORT], an IP address */
    char host[DCONF_ADDR_LEN];
    int port;
    char *zone;
    char *names_str;
    char names[DCONF_MAX_DNS_NAMES][DCONF_DNS_NAME_LEN + 1]; /* absolute, with the dot */
    int nnames;
    char *addresses_str, *standby_str;
    char addresses[DCONF_MAX_DNS_ADDRS][DCONF_ADDR_LEN]; /* canonical */
    int naddresses;
    char standby[DCONF_MAX_DNS_ADDRS][DCONF_ADDR_LEN];
    int nstandby;
    bool allow_empty;
    int64_t ttl_ms;     /* TTL of the standby records added; 0: the RRset's */
    int64_t max_ttl_ms; /* warn when a record's TTL is longer */
    char *tsig_key;     /* key name */
    int tsig_algorithm; /* index in dconf_tsig_algorithms */
    char *tsig_secret_file;
    char tsig_secret[DCONF_TSIG_SECRET_LEN + 1]; /* base64, read at load */
    int64_t timeout_ms;
    int64_t refresh_ms;
    int site; /* index of the site that targets it, -1 when none */
};

/* "hmac-sha256", ...: the names [dns] tsig_algorithm takes. */
extern const char *const dconf_tsig_algorithms[];

struct dconf_hook {
    char name[NAME_MAX_LEN + 1];
    int line;
    char *exec;
    char *args;
    int64_t timeout_ms;
    int retries;
    int dry;         /* enum hook_dry */
    bool on_undrain; /* also run on undrain (EMBER_ACTION=undrain) */
    bool undrain_set;
};

struct dconf_site {
    char name[NAME_MAX_LEN + 1];
    int line;
    char *agents_str, *zones_str, *targets_str, *hooks_str;
    char (*agents)[NAME_MAX_LEN + 1];
    /* Per agent, the zones it may request ("b3+b4", from "a1:b3+b4");
     * "": any of the site's zones. */
    char (*agent_zones)[DCONF_AGENT_ZONES_LEN];
    int nagents; /* 0: any agent of the site */
    char (*zones)[NAME_MAX_LEN + 1];
    int nzones;                  /* 0: any zone */
    int targets[DCONF_MAX_LIST]; /* indexes of [haproxy] sections */
    int ntargets;
    int dns[DCONF_MAX_LIST]; /* indexes of [dns] sections (also listed in `targets`) */
    int ndns;
    int hooks[DCONF_MAX_LIST]; /* indexes of [hook] sections */
    int nhooks;
    int vote;
    int vote_by; /* enum vote_by */
    int offline; /* enum offline_mode */
    int64_t hold_down_ms;
    int64_t max_skew_ms; /* requests dated further ahead are refused */
    bool mqtt_commands;
    bool vote_set;
};

struct dconf {
    char *path;
    int drain_line;
    struct dconf_drain drain;
    struct mqtt_conf mqtt; /* [mqtt]: agent/lib/mqttconf.h */
    struct metrics_conf metrics; /* [metrics]: agent/lib/httpd.h */
    struct dconf_site *sites;
    int nsites;
    struct dconf_haproxy *haproxies;
    int nhaproxies;
    struct dconf_hook *hooks;
    int nhooks;
    struct dconf_dns *dnss;
    int ndns;
};

/* Loads and checks `path`.  On failure returns -EINVAL (or -errno when the
 * file cannot be read) with every problem appended to err. */
int dconf_load(const char *path, struct dconf **out, struct cfgerr *err);
void dconf_free(struct dconf *c);

int dconf_site_find(const struct dconf *c, const char *name);
/* True when the site counts requests from `agent` / for `zone`. */
bool dconf_site_has_agent(const struct dconf_site *s, const char *agent);
bool dconf_site_has_zone(const struct dconf_site *s, const char *zone);
/* False when `agents` gives `agent` a list of zones and `zone` is not in it;
 * true otherwise (an agent listed without zones, or not listed at all: the
 * other rules decide). */
bool dconf_site_agent_may(const struct dconf_site *s, const char *agent, const char *zone);
/* "haproxy" or "bgp": the section kind of a target. */
const char *dconf_target_kind_name(const struct dconf_haproxy *h);
/* True when `id` is this controller's own id or one of [drain] peers. */
bool dconf_trusts_controller(const struct dconf *c, const char *id);

#endif
