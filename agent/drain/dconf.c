/*
 * dconf.c - ember-drain configuration loader.
 */
#include "dconf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dnsplan.h"
#include "log.h"
#include "safefile.h"

static const char *const levels[] = {"error", "warning", "info", "debug", NULL};
static const char *const vote_bys[] = {"zone", "agent", NULL};
static const char *const offline_modes[] = {"hold", "ignore", "vote", NULL};
static const char *const hook_drys[] = {"skip", "run", NULL};

static const struct cfg_directive drain_keys[] = {
    CFG_ROW("id", CFG_NAME, offsetof(struct dconf_drain, id)),
    CFG_ROW("state", CFG_PATH, offsetof(struct dconf_drain, state)),
    CFG_ROW("audit", CFG_PATH, offsetof(struct dconf_drain, audit)),
    CFG_ROW("control", CFG_PATH, offsetof(struct dconf_drain, control)),
    CFG_ROW("dry_run", CFG_BOOL, offsetof(struct dconf_drain, dry_run)),
    CFG_ROW("log_level", CFG_ENUM, offsetof(struct dconf_drain, log_level), .names = levels),
    CFG_ROW("settle", CFG_DUR, offsetof(struct dconf_drain, settle_ms), .min = 0, .max = 60000),
    CFG_ROW("peers", CFG_STR, offsetof(struct dconf_drain, peers_str)),
};

static const struct cfg_directive site_keys[] = {
    CFG_ROW("agents", CFG_STR, offsetof(struct dconf_site, agents_str)),
    CFG_ROW("zones", CFG_STR, offsetof(struct dconf_site, zones_str)),
    CFG_ROW("targets", CFG_STR, offsetof(struct dconf_site, targets_str)),
    CFG_ROW("hooks", CFG_STR, offsetof(struct dconf_site, hooks_str)),
    CFG_ROW("vote", CFG_INT, offsetof(struct dconf_site, vote), .min = 1, .max = 64),
    CFG_ROW("vote_by", CFG_ENUM, offsetof(struct dconf_site, vote_by), .names = vote_bys),
    CFG_ROW("offline", CFG_ENUM, offsetof(struct dconf_site, offline), .names = offline_modes),
    CFG_ROW("hold_down", CFG_DUR, offsetof(struct dconf_site, hold_down_ms), .min = 0, .max = 3600000),
    CFG_ROW("max_skew", CFG_DUR, offsetof(struct dconf_site, max_skew_ms), .min = 1000, .max = 86400000),
    CFG_ROW("mqtt_commands", CFG_BOOL, offsetof(struct dconf_site, mqtt_commands)),
};

static const struct cfg_directive haproxy_keys[] = {
    CFG_ROW("socket", CFG_PATH, offsetof(struct dconf_haproxy, socket)),
    CFG_ROW("tcp", CFG_STR, offsetof(struct dconf_haproxy, tcp)),
    CFG_ROW("servers", CFG_STR, offsetof(struct dconf_haproxy, servers_str)),
    CFG_ROW("weight", CFG_STR, offsetof(struct dconf_haproxy, weight_str)),
    CFG_ROW("maint_after", CFG_DUR, offsetof(struct dconf_haproxy, maint_after_ms), .min = 0, .max = DCONF_MAINT_AFTER_MAX_MS),
    CFG_ROW("timeout", CFG_DUR, offsetof(struct dconf_haproxy, timeout_ms), .min = 50, .max = 60000),
    CFG_ROW("refresh", CFG_DUR, offsetof(struct dconf_haproxy, refresh_ms), .min = 100, .max = 3600000),
};

/* The first is the default. */
const char *const dconf_tsig_algorithms[] = {"hmac-sha256", "hmac-sha384", "hmac-sha512",
                                            "hmac-sha224", "hmac-sha1",   "hmac-md5",
                                            NULL};

static const struct cfg_directive dns_keys[] = {
    CFG_ROW("server", CFG_STR, offsetof(struct dconf_dns, server)),
    CFG_ROW("zone", CFG_STR, offsetof(struct dconf_dns, zone)),
    CFG_ROW("names", CFG_STR, offsetof(struct dconf_dns, names_str)),
    CFG_ROW("addresses", CFG_STR, offsetof(struct dconf_dns, addresses_str)),
    CFG_ROW("standby", CFG_STR, offsetof(struct dconf_dns, standby_str)),
    CFG_ROW("allow_empty", CFG_BOOL, offsetof(struct dconf_dns, allow_empty)),
    CFG_ROW("ttl", CFG_DUR, offsetof(struct dconf_dns, ttl_ms), .min = 1000, .max = 86400000),
    CFG_ROW("max_ttl", CFG_DUR, offsetof(struct dconf_dns, max_ttl_ms), .min = 1000, .max = 86400000),
    CFG_ROW("tsig_key", CFG_STR, offsetof(struct dconf_dns, tsig_key)),
    CFG_ROW("tsig_algorithm", CFG_ENUM, offsetof(struct dconf_dns, tsig_algorithm), .names = dconf_tsig_algorithms),
    CFG_ROW("tsig_secret_file", CFG_PATH, offsetof(struct dconf_dns, tsig_secret_file)),
    CFG_ROW("timeout", CFG_DUR, offsetof(struct dconf_dns, timeout_ms), .min = 50, .max = 60000),
    CFG_ROW("refresh", CFG_DUR, offsetof(struct dconf_dns, refresh_ms), .min = 100, .max = 3600000),
};

static const struct cfg_directive bgp_keys[] = {
    CFG_ROW("socket", CFG_PATH, offsetof(struct dconf_haproxy, socket)),
    CFG_ROW("protocol", CFG_NAME, offsetof(struct dconf_haproxy, protocol)),
    CFG_ROW("prefixes", CFG_STR, offsetof(struct dconf_haproxy, prefixes_str)),
    CFG_ROW("timeout", CFG_DUR, offsetof(struct dconf_haproxy, timeout_ms), .min = 50, .max = 60000),
    CFG_ROW("refresh", CFG_DUR, offsetof(struct dconf_haproxy, refresh_ms), .min = 100, .max = 3600000),
};

static const struct cfg_directive hook_keys[] = {
    CFG_ROW("exec", CFG_PATH, offsetof(struct dconf_hook, exec)),
    CFG_ROW("args", CFG_STR, offsetof(struct dconf_hook, args)),
    CFG_ROW("timeout", CFG_DUR, offsetof(struct dconf_hook, timeout_ms), .min = 100, .max = 3600000),
    CFG_ROW("retries", CFG_INT, offsetof(struct dconf_hook, retries), .min = 0, .max = 10),
    CFG_ROW("dry_run", CFG_ENUM, offsetof(struct dconf_hook, dry), .names = hook_drys),
    CFG_ROW("undrain", CFG_BOOL, offsetof(struct dconf_hook, on_undrain)),
};

#define UNKNOWN_SECTION                                                                            \
    "[%s]: unknown section (expected [drain], [mqtt], [metrics], [site NAME], [haproxy NAME], "               \
    "[bgp NAME], [dns NAME] or [hook NAME])"

static void
on_key(struct cfgfile *cf, const char *section, const char *key, const char *value)
{
    struct dconf *c = cf->user;
    char buf[160];
    const char *kind, *name;
    void *item;
    int rc;

    if (strcmp(section, "drain") == 0) {
        c->drain_line = cf->section_line;
        if (strcmp(key, "control_mode") == 0) {
            /* Octal, as chmod(1) takes it (0660); util's parse_long is decimal. */
            char *end;
            long v = strtol(value, &end, 8);
            if (value[0] == '\0' || *end != '\0' || v < 0 || v > 0777)
                cfgfile_error(cf, "[drain] control_mode: '%s' is not an octal mode 0..0777", value);
            else
                c->drain.control_mode = (int)v;
            return;
        }
        rc = cfgfile_apply(cf, section, drain_keys, ARRAY_LEN(drain_keys), &c->drain, key, value);
    } else if (strcmp(section, "mqtt") == 0) {
        rc = mqttconf_key(cf, &c->mqtt, key, value);
    } else if (strcmp(section, "metrics") == 0) {
        rc = metricsconf_key(cf, &c->metrics, key, value);
    } else {
        rc = cfgfile_named_section(cf, section, buf, sizeof(buf), &kind, &name);
        if (rc == -EINVAL)
            cfgfile_error(cf, UNKNOWN_SECTION, section);
        if (rc < 0)
            return;
        if (strcmp(kind, "site") == 0) {
            if (strcmp(name, "_drain") == 0) {
                cfgfile_error(cf,
                              "[%s]: the name _drain is reserved for ember-drain's own "
                              "status topic",
                              section);
                return;
            }
            struct cfg_sections sa = {(void **)&c->sites, &c->nsites, NULL, DCONF_MAX_SITES, sizeof(*c->sites),
                                      offsetof(struct dconf_site, line), NULL, 0};
            item = cfgfile_section_item(cf, section, &sa, name);
            if (item == NULL)
                return;
            rc = cfgfile_apply(cf, section, site_keys, ARRAY_LEN(site_keys), item, key, value);
            if (strcmp(key, "vote") == 0)
                ((struct dconf_site *)item)->vote_set = true;
        } else if (strcmp(kind, "haproxy") == 0 || strcmp(kind, "bgp") == 0) {
            /* One table of targets: a name is either kind, never both. */
            struct cfg_sections sa = {(void **)&c->haproxies, &c->nhaproxies, NULL, DCONF_MAX_HAPROXY, sizeof(*c->haproxies),
                                      offsetof(struct dconf_haproxy, line), NULL, 0};
            bool bgp = strcmp(kind, "bgp") == 0;
            int before = c->nhaproxies;
            struct dconf_haproxy *h = cfgfile_section_item(cf, section, &sa, name);
            if (h == NULL)
                return;
            if (c->nhaproxies > before) /* a new section */
                h->kind = bgp ? DCONF_TARGET_BGP : DCONF_TARGET_HAPROXY;
            if ((h->kind == DCONF_TARGET_BGP) != bgp) {
                cfgfile_error(cf, "[%s]: the name %s is already a [%s] section", section, name,
                              dconf_target_kind_name(h));
                return;
            }
            if (bgp)
                rc = cfgfile_apply(cf, section, bgp_keys, ARRAY_LEN(bgp_keys), h, key, value);
            else
                rc = cfgfile_apply(cf, section, haproxy_keys, ARRAY_LEN(haproxy_keys), h, key,
                                   value);
        } else if (strcmp(kind, "dns") == 0) {
            struct cfg_sections sa = {(void **)&c->dnss, &c->ndns, NULL, DCONF_MAX_DNS, sizeof(*c->dnss),
                                      offsetof(struct dconf_dns, line), NULL, 0};
            item = cfgfile_section_item(cf, section, &sa, name);
            if (item == NULL)
                return;
            rc = cfgfile_apply(cf, section, dns_keys, ARRAY_LEN(dns_keys), item, key, value);
        } else if (strcmp(kind, "hook") == 0) {
            struct cfg_sections sa = {(void **)&c->hooks, &c->nhooks, NULL, DCONF_MAX_HOOKS, sizeof(*c->hooks),
                                      offsetof(struct dconf_hook, line), NULL, 0};
            item = cfgfile_section_item(cf, section, &sa, name);
            if (item == NULL)
                return;
            rc = cfgfile_apply(cf, section, hook_keys, ARRAY_LEN(hook_keys), item, key, value);
            if (strcmp(key, "undrain") == 0)
                ((struct dconf_hook *)item)->undrain_set = true;
        } else {
            cfgfile_error(cf, UNKNOWN_SECTION, section);
            return;
        }
    }
    if (rc == 1)
        cfgfile_error(cf, "[%s]: unknown key '%s'", section, key);
}

static void
set_defaults(struct dconf *c)
{
    name_from_hostname(c->drain.id, "ember-drain");
    c->drain.control_mode = 0660;
    c->drain.log_level = LOG_LVL_INFO;
    c->drain.settle_ms = 1000;
}

/* Splits a "a, b c" list into names; calls fn for each.  Returns the count. */
static int
each_name(const char *list, void (*fn)(void *arg, const char *tok), void *arg)
{
    char *copy = xstrdup(list), *save = NULL;
    int n = 0;

    for (char *tok = strtok_r(copy, ", \t", &save); tok != NULL;
         tok = strtok_r(NULL, ", \t", &save)) {
        fn(arg, tok);
        n++;
    }
    free(copy);
    return n;
}

struct list_ctx {
    struct dconf *c;
    struct cfgerr *err;
    int line;
    const char *section; /* "site lab" */
    const char *key;
    char (*names)[NAME_MAX_LEN + 1];
    int *n;
    int *idx;
    int max;
    struct dconf_site *site; /* for `agents` */
};

static void
add_name(void *arg, const char *tok)
{
    struct list_ctx *x = arg;

    if (!name_valid(tok)) {
        cfgerr_add(x->err, x->c->path, x->line, "[%s] %s: '%s' is not a valid name", x->section,
                   x->key, tok);
        return;
    }
    for (int i = 0; i < *x->n; i++) {
        if (strcmp(x->names[i], tok) == 0) {
            cfgerr_add(x->err, x->c->path, x->line, "[%s] %s: '%s' is listed twice", x->section,
                       x->key, tok);
            return;
        }
    }
    if (*x->n == x->max) {
        cfgerr_add(x->err, x->c->path, x->line, "[%s] %s: more than %d names", x->section, x->key,
                   x->max);
        return;
    }
    strcpy(x->names[(*x->n)++], tok);
}

#define MIN_LEN(a, b) ((a) < (b) ? (a) : (b))

/* An `agents` entry: NAME, or NAME:ZONE+ZONE... (the zones NAME may
 * request; each must be one of the site's zones when it lists any). */
static void
add_agent(void *arg, const char *tok)
{
    struct list_ctx *x = arg;
    struct dconf_site *s = x->site;
    const char *colon = strchr(tok, ':');
    char name[NAME_MAX_LEN + 2];
    int before = *x->n;

    if (colon == NULL) {
        add_name(x, tok);
        return;
    }
    /* A name cut at NAME_MAX_LEN + 1 characters is too long: add_name says so. */
    snprintf(name, sizeof(name), "%.*s", (int)MIN_LEN((size_t)(colon - tok), sizeof(name) - 1),
             tok);
    add_name(x, name);
    if (*x->n == before)
        return; /* add_name said why */
    if (colon[1] == '\0' || strlen(colon + 1) >= DCONF_AGENT_ZONES_LEN) {
        cfgerr_add(x->err, x->c->path, x->line,
                   "[%s] agents: '%s': give the agent's zones after ':' as ZONE+ZONE...",
                   x->section, tok);
        return;
    }
    for (const char *z = colon + 1; *z;) {
        size_t n = strcspn(z, "+");
        char zone[NAME_MAX_LEN + 2];
        snprintf(zone, sizeof(zone), "%.*s", (int)MIN_LEN(n, sizeof(zone) - 1), z);
        if (!name_valid(zone))
            cfgerr_add(x->err, x->c->path, x->line,
                       "[%s] agents: '%s': '%s' is not a valid zone name", x->section, tok, zone);
        else if (!dconf_site_has_zone(s, zone))
            cfgerr_add(x->err, x->c->path, x->line,
                       "[%s] agents: '%s': zone %s is not in the site's 'zones'", x->section, tok,
                       zone);
        z += n + (z[n] == '+');
    }
    snprintf(s->agent_zones[*x->n - 1], sizeof(s->agent_zones[0]), "%s", colon + 1);
}

static int
haproxy_find(const struct dconf *c, const char *name)
{
    return cfgfile_item_find(c->haproxies, c->nhaproxies, sizeof(*c->haproxies), name);
}

static int
hook_find(const struct dconf *c, const char *name)
{
    return cfgfile_item_find(c->hooks, c->nhooks, sizeof(*c->hooks), name);
}

static int
dns_find(const struct dconf *c, const char *name)
{
    return cfgfile_item_find(c->dnss, c->ndns, sizeof(*c->dnss), name);
}

/* Target section i (of `kind`, owned by the site *site names, or none:
 * -1) joins a site's list of n (at most max): once, and by one site only. */
static void
claim_target(struct list_ctx *x, int *list, int *n, int max, int i, int *site,
             const char *kind, const char *tok)
{
    for (int k = 0; k < *n; k++) {
        if (list[k] == i) {
            cfgerr_add(x->err, x->c->path, x->line, "[%s] targets: '%s' is listed twice",
                       x->section, tok);
            return;
        }
    }
    if (*site >= 0) {
        cfgerr_add(x->err, x->c->path, x->line,
                   "[%s] targets: [%s %s] is already a target of [site %s] (one site per "
                   "target section)",
                   x->section, kind, tok, x->c->sites[*site].name);
        return;
    }
    if (*n == max)
        return;
    list[(*n)++] = i;
    *site = (int)(x->site - x->c->sites);
}

static void
add_target(void *arg, const char *tok)
{
    struct list_ctx *x = arg;
    int h = haproxy_find(x->c, tok), d = dns_find(x->c, tok);

    if (h >= 0 && d >= 0) {
        cfgerr_add(x->err, x->c->path, x->line,
                   "[%s] targets: '%s' names both a [%s] and a [dns] section (rename one)",
                   x->section, tok, dconf_target_kind_name(&x->c->haproxies[h]));
        return;
    }
    if (d >= 0) {
        claim_target(x, x->site->dns, &x->site->ndns, DCONF_MAX_LIST, d, &x->c->dnss[d].site,
                     "dns", tok);
        return;
    }
    if (h < 0) {
        cfgerr_add(x->err, x->c->path, x->line,
                   "[%s] targets: no [haproxy %s], [bgp %s] or [dns %s] in this file", x->section,
                   tok, tok, tok);
        return;
    }
    claim_target(x, x->idx, x->n, x->max, h, &x->c->haproxies[h].site,
                 dconf_target_kind_name(&x->c->haproxies[h]), tok);
}

static void
add_hook(void *arg, const char *tok)
{
    struct list_ctx *x = arg;
    int h = hook_find(x->c, tok);

    if (h < 0) {
        cfgerr_add(x->err, x->c->path, x->line, "[%s] hooks: no [hook %s] in this file", x->section,
                   tok);
        return;
    }
    for (int i = 0; i < *x->n; i++) {
        if (x->idx[i] == h) {
            cfgerr_add(x->err, x->c->path, x->line, "[%s] hooks: '%s' is listed twice", x->section,
                       tok);
            return;
        }
    }
    if (*x->n < x->max)
        x->idx[(*x->n)++] = h;
}

struct server_ctx {
    struct dconf *c;
    struct cfgerr *err;
    struct dconf_haproxy *h;
};

static void
add_server(void *arg, const char *tok)
{
    struct server_ctx *x = arg;
    struct dconf_haproxy *h = x->h;
    const char *slash = strchr(tok, '/');
    char be[NAME_MAX_LEN + 1], sv[NAME_MAX_LEN + 1];
    size_t bl;

    if (slash == NULL || (bl = (size_t)(slash - tok)) == 0 || bl > NAME_MAX_LEN ||
        strlen(slash + 1) > NAME_MAX_LEN) {
        cfgerr_add(x->err, x->c->path, h->line, "[haproxy %s] servers: '%s' is not BACKEND/SERVER",
                   h->name, tok);
        return;
    }
    memcpy(be, tok, bl);
    be[bl] = '\0';
    strcpy(sv, slash + 1);
    if (!name_valid(be) || !name_valid(sv)) {
        cfgerr_add(x->err, x->c->path, h->line,
                   "[haproxy %s] servers: '%s': backend and server names must be 1-%d "
                   "characters of A-Z a-z 0-9 _ . -",
                   h->name, tok, NAME_MAX_LEN);
        return;
    }
    for (int i = 0; i < h->nservers; i++) {
        if (strcmp(h->servers[i].backend, be) == 0 && strcmp(h->servers[i].server, sv) == 0) {
            cfgerr_add(x->err, x->c->path, h->line, "[haproxy %s] servers: '%s' is listed twice",
                       h->name, tok);
            return;
        }
    }
    if (h->nservers == DCONF_MAX_SERVERS) {
        cfgerr_add(x->err, x->c->path, h->line, "[haproxy %s] servers: more than %d servers",
                   h->name, DCONF_MAX_SERVERS);
        return;
    }
    strcpy(h->servers[h->nservers].backend, be);
    strcpy(h->servers[h->nservers].server, sv);
    h->nservers++;
}

/* What a [haproxy] or [bgp] section leaves unset; no site yet. */
static void
target_defaults(struct dconf_haproxy *h)
{
    h->site = -1;
    if (h->timeout_ms == 0)
        h->timeout_ms = 1000;
    if (h->refresh_ms == 0)
        h->refresh_ms = 5000;
}

static void
validate_haproxy(struct dconf *c, struct cfgerr *err, struct dconf_haproxy *h)
{
    const char *f = c->path;

    target_defaults(h);
    if ((h->socket == NULL) == (h->tcp == NULL))
        cfgerr_add(err, f, h->line,
                   "[haproxy %s]: needs exactly one of 'socket' (unix stats socket path) or "
                   "'tcp' (host:port)",
                   h->name);
    if (h->tcp != NULL) {
        const char *colon = strrchr(h->tcp, ':');
        long port;
        if (colon == NULL || colon == h->tcp || parse_long(colon + 1, 1, 65535, &port) < 0) {
            cfgerr_add(err, f, h->line, "[haproxy %s] tcp: '%s' is not HOST:PORT", h->name, h->tcp);
        } else {
            size_t n = (size_t)(colon - h->tcp);
            h->host = xcalloc(1, n + 1);
            memcpy(h->host, h->tcp, n);
            /* [::1]:9999 */
            if (n >= 2 && h->host[0] == '[' && h->host[n - 1] == ']') {
                memmove(h->host, h->host + 1, n - 2);
                h->host[n - 2] = '\0';
            }
            h->port = (int)port;
        }
    }
    if (h->servers_str == NULL) {
        cfgerr_add(err, f, h->line, "[haproxy %s]: missing key 'servers' (BACKEND/SERVER, ...)",
                   h->name);
    } else {
        struct server_ctx x = {c, err, h};
        each_name(h->servers_str, add_server, &x);
    }
    if (h->weight_str != NULL) {
        const char *w = h->weight_str;
        size_t n = strlen(w);
        long v;
        char num[32];
        h->weight_pct = n > 0 && w[n - 1] == '%';
        if (h->weight_pct)
            n--;
        if (n == 0 || n >= sizeof(num)) {
            cfgerr_add(err, f, h->line, "[haproxy %s] weight: '%s' is not 0..256 or 0%%..100%%",
                       h->name, w);
        } else {
            memcpy(num, w, n);
            num[n] = '\0';
            if (parse_long(num, 0, h->weight_pct ? 100 : 256, &v) < 0)
                cfgerr_add(err, f, h->line, "[haproxy %s] weight: '%s' is not 0..256 or 0%%..100%%",
                           h->name, w);
            h->weight = (int)v;
            h->has_weight = true;
        }
    }
}

struct dns_ctx {
    struct dconf *c;
    struct cfgerr *err;
    struct dconf_dns *d;
    const char *key;
    char (*addrs)[DCONF_ADDR_LEN];
    int *n;
};

/* A name of `names`: relative to the zone, or absolute inside it. */
static void
add_dns_name(void *arg, const char *tok)
{
    struct dns_ctx *x = arg;
    struct dconf_dns *d = x->d;
    char full[DCONF_DNS_NAME_LEN + 2];
    size_t n = strlen(tok), zl;

    if (tok[n - 1] == '.')
        snprintf(full, sizeof(full), "%s", tok);
    else if (strcmp(tok, "@") == 0)
        snprintf(full, sizeof(full), "%s", d->zone);
    else
        snprintf(full, sizeof(full), "%s.%s", tok, d->zone);
    n = strlen(full);
    zl = strlen(d->zone);
    if (n > DCONF_DNS_NAME_LEN || strspn(full, "abcdefghijklmnopqrstuvwxyz"
                                               "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.*") != n ||
        strstr(full, "..") != NULL) {
        cfgerr_add(x->err, x->c->path, d->line, "[dns %s] names: '%s' is not a domain name",
                   d->name, tok);
        return;
    }
    if (!(n == zl || (n > zl && full[n - zl - 1] == '.')) ||
        strcasecmp(full + n - zl, d->zone) != 0) {
        cfgerr_add(x->err, x->c->path, d->line, "[dns %s] names: %s is not in zone %s", d->name,
                   full, d->zone);
        return;
    }
    for (int i = 0; i < d->nnames; i++) {
        if (strcasecmp(d->names[i], full) == 0) {
            cfgerr_add(x->err, x->c->path, d->line, "[dns %s] names: %s is listed twice",
                       d->name, full);
            return;
        }
    }
    if (d->nnames == DCONF_MAX_DNS_NAMES) {
        cfgerr_add(x->err, x->c->path, d->line, "[dns %s] names: more than %d names", d->name,
                   DCONF_MAX_DNS_NAMES);
        return;
    }
    memcpy(d->names[d->nnames++], full, n + 1); /* n <= DCONF_DNS_NAME_LEN */
}

static void
add_dns_addr(void *arg, const char *tok)
{
    struct dns_ctx *x = arg;
    char canon[DNSPLAN_ADDR];

    if (dnsplan_canon(tok, canon) < 0) {
        cfgerr_add(x->err, x->c->path, x->d->line,
                   "[dns %s] %s: '%s' is not an IPv4 or IPv6 address", x->d->name, x->key, tok);
        return;
    }
    for (int i = 0; i < *x->n; i++) {
        if (strcmp(x->addrs[i], canon) == 0) {
            cfgerr_add(x->err, x->c->path, x->d->line, "[dns %s] %s: %s is listed twice",
                       x->d->name, x->key, tok);
            return;
        }
    }
    if (*x->n == DCONF_MAX_DNS_ADDRS) {
        cfgerr_add(x->err, x->c->path, x->d->line, "[dns %s] %s: more than %d addresses",
                   x->d->name, x->key, DCONF_MAX_DNS_ADDRS);
        return;
    }
    snprintf(x->addrs[(*x->n)++], DCONF_ADDR_LEN, "%s", canon);
}

/* server = ADDRESS, ADDRESS:PORT or [IPV6]:PORT. */
static void
dns_server(struct dconf *c, struct cfgerr *err, struct dconf_dns *d)
{
    const char *sv = d->server, *colon = strrchr(sv, ':');
    char host[DCONF_ADDR_LEN + 2] = "";
    long port = 53;

    if (sv[0] == '[') {
        const char *end = strchr(sv, ']');
        if (end != NULL && (size_t)(end - sv - 1) < sizeof(host))
            snprintf(host, sizeof(host), "%.*s", (int)(end - sv - 1), sv + 1);
        if (end == NULL || (end[1] != '\0' && (end[1] != ':' ||
                                               parse_long(end + 2, 1, 65535, &port) < 0)))
            host[0] = '\0';
    } else if (colon != NULL && strchr(sv, ':') == colon) {
        if ((size_t)(colon - sv) < sizeof(host))
            snprintf(host, sizeof(host), "%.*s", (int)(colon - sv), sv);
        if (parse_long(colon + 1, 1, 65535, &port) < 0)
            host[0] = '\0';
    } else {
        snprintf(host, sizeof(host), "%s", sv);
    }
    if (host[0] == '\0' || dnsplan_canon(host, d->host) < 0) {
        cfgerr_add(err, c->path, d->line,
                   "[dns %s] server: '%s' is not ADDRESS[:PORT] (an IP address; [IPV6]:PORT)",
                   d->name, sv);
        return;
    }
    d->port = (int)port;
}

/* The base64 secret of tsig_secret_file: its first line, by the safefile
 * rules (a secret another user could have written is not trusted). */
static void
dns_secret(struct dconf *c, struct cfgerr *err, struct dconf_dns *d)
{
    char why[512], buf[DCONF_TSIG_SECRET_LEN + 2];
    int fd = safefile_open(d->tsig_secret_file, O_RDONLY, 0, why, sizeof(why));
    ssize_t n;
    size_t len;

    if (fd < 0) {
        cfgerr_add(err, c->path, d->line, "[dns %s] tsig_secret_file: %s", d->name, why);
        return;
    }
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n < 0) {
        cfgerr_add(err, c->path, d->line, "[dns %s] tsig_secret_file: %s: %s", d->name,
                   d->tsig_secret_file, strerror(errno));
        return;
    }
    buf[n] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    len = strlen(buf);
    if (len == 0 || len > DCONF_TSIG_SECRET_LEN || len % 4 != 0 ||
        strspn(buf, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") != len) {
        cfgerr_add(err, c->path, d->line,
                   "[dns %s] tsig_secret_file: %s: the first line is not a base64 secret "
                   "(as in BIND's key \"secret\")",
                   d->name, d->tsig_secret_file);
        return;
    }
    memcpy(d->tsig_secret, buf, len + 1);
}

static void
validate_dns(struct dconf *c, struct cfgerr *err, struct dconf_dns *d)
{
    const char *f = c->path;
    static const char *const required[] = {"server", "zone", "names", "addresses", "tsig_key",
                                           "tsig_secret_file"};
    const char *const vals[] = {d->server, d->zone, d->names_str, d->addresses_str, d->tsig_key,
                                d->tsig_secret_file};
    bool missing = false;

    d->site = -1;
    if (d->timeout_ms == 0)
        d->timeout_ms = 2000;
    if (d->refresh_ms == 0)
        d->refresh_ms = 30000;
    if (d->max_ttl_ms == 0)
        d->max_ttl_ms = 300000;
    for (size_t i = 0; i < ARRAY_LEN(required); i++) {
        if (vals[i] == NULL) {
            cfgerr_add(err, f, d->line, "[dns %s]: missing key '%s'", d->name, required[i]);
            missing = true;
        }
    }
    if (missing)
        return;
    dns_server(c, err, d);
    if (d->zone[0] == '\0' || strcmp(d->zone, ".") == 0) {
        cfgerr_add(err, f, d->line, "[dns %s] zone: give the zone's name (example.com)", d->name);
        return;
    }
    if (d->zone[strlen(d->zone) - 1] != '.') {
        /* Names are kept absolute. */
        char *z = xcalloc(1, strlen(d->zone) + 2);
        sprintf(z, "%s.", d->zone);
        free(d->zone);
        d->zone = z;
    }
    if (strlen(d->zone) > DCONF_DNS_NAME_LEN) {
        cfgerr_add(err, f, d->line, "[dns %s] zone: longer than %d characters", d->name,
                   DCONF_DNS_NAME_LEN);
        return;
    }
    if (d->tsig_key[0] == '\0' || strlen(d->tsig_key) > DCONF_DNS_NAME_LEN ||
        strspn(d->tsig_key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") !=
            strlen(d->tsig_key))
        cfgerr_add(err, f, d->line, "[dns %s] tsig_key: '%s' is not a key name", d->name,
                   d->tsig_key);
    {
        struct dns_ctx x = {c, err, d, "names", NULL, NULL};
        each_name(d->names_str, add_dns_name, &x);
        x.key = "addresses";
        x.addrs = d->addresses;
        x.n = &d->naddresses;
        each_name(d->addresses_str, add_dns_addr, &x);
        if (d->standby_str != NULL) {
            x.key = "standby";
            x.addrs = d->standby;
            x.n = &d->nstandby;
            each_name(d->standby_str, add_dns_addr, &x);
        }
    }
    for (int i = 0; i < d->nstandby; i++)
        for (int k = 0; k < d->naddresses; k++)
            if (strcmp(d->standby[i], d->addresses[k]) == 0)
                cfgerr_add(err, f, d->line,
                           "[dns %s] standby: %s is also one of the site's addresses", d->name,
                           d->standby[i]);
    dns_secret(c, err, d);
}

struct prefix_ctx {
    struct dconf *c;
    struct cfgerr *err;
    struct dconf_haproxy *h;
};

/* True when tok is ADDRESS/LENGTH, IPv4 or IPv6, with no bits set past the
 * length (BIRD's own form of a network). */
static bool
prefix_valid(const char *tok)
{
    const char *slash = strchr(tok, '/');
    unsigned char a[16];
    char addr[INET6_ADDRSTRLEN];
    size_t n = slash ? (size_t)(slash - tok) : 0;
    long len;
    int af, bits;

    if (slash == NULL || n == 0 || n >= sizeof(addr))
        return false;
    memcpy(addr, tok, n);
    addr[n] = '\0';
    af = strchr(addr, ':') ? AF_INET6 : AF_INET;
    bits = af == AF_INET6 ? 128 : 32;
    if (inet_pton(af, addr, a) != 1 || parse_long(slash + 1, 0, bits, &len) < 0)
        return false;
    for (int b = (int)len; b < bits; b++)
        if (a[b / 8] & (0x80 >> (b % 8)))
            return false;
    return true;
}

static void
add_prefix(void *arg, const char *tok)
{
    struct prefix_ctx *x = arg;
    struct dconf_haproxy *h = x->h;

    if (strlen(tok) > NAME_MAX_LEN || !prefix_valid(tok)) {
        cfgerr_add(x->err, x->c->path, h->line,
                   "[bgp %s] prefixes: '%s' is not a network ADDRESS/LENGTH (192.0.2.0/24, "
                   "2001:db8::/48) with no host bits set",
                   h->name, tok);
        return;
    }
    for (int i = 0; i < h->nservers; i++) {
        if (strcmp(h->servers[i].server, tok) == 0) {
            cfgerr_add(x->err, x->c->path, h->line, "[bgp %s] prefixes: '%s' is listed twice",
                       h->name, tok);
            return;
        }
    }
    if (h->nservers == DCONF_MAX_SERVERS) {
        cfgerr_add(x->err, x->c->path, h->line, "[bgp %s] prefixes: more than %d prefixes",
                   h->name, DCONF_MAX_SERVERS);
        return;
    }
    snprintf(h->servers[h->nservers].backend, sizeof(h->servers[0].backend), "%s", h->protocol);
    snprintf(h->servers[h->nservers].server, sizeof(h->servers[0].server), "%s", tok);
    h->nservers++;
}

/* BIRD's symbols: a letter or _, then letters, digits and _. */
static bool
bird_symbol(const char *s)
{
    if (!(isalpha((unsigned char)s[0]) || s[0] == '_'))
        return false;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_'))
            return false;
    return true;
}

static void
validate_bgp(struct dconf *c, struct cfgerr *err, struct dconf_haproxy *h)
{
    const char *f = c->path;

    target_defaults(h);
    if (h->socket == NULL)
        cfgerr_add(err, f, h->line,
                   "[bgp %s]: missing key 'socket' (BIRD's control socket, e.g. "
                   "/run/bird/bird.ctl)",
                   h->name);
    if (h->protocol[0] == '\0')
        cfgerr_add(err, f, h->line,
                   "[bgp %s]: missing key 'protocol' (the BIRD static protocol that announces "
                   "the prefixes)",
                   h->name);
    else if (!bird_symbol(h->protocol))
        cfgerr_add(err, f, h->line,
                   "[bgp %s] protocol: '%s' is not a BIRD protocol name (a letter or _, then "
                   "letters, digits and _)",
                   h->name, h->protocol);
    if (h->prefixes_str == NULL) {
        cfgerr_add(err, f, h->line, "[bgp %s]: missing key 'prefixes' (192.0.2.0/24, ...)",
                   h->name);
    } else {
        struct prefix_ctx x = {c, err, h};
        each_name(h->prefixes_str, add_prefix, &x);
        if (h->nservers == 0)
            cfgerr_add(err, f, h->line, "[bgp %s] prefixes: empty", h->name);
    }
}

const char *
dconf_target_kind_name(const struct dconf_haproxy *h)
{
    return h->kind == DCONF_TARGET_BGP ? "bgp" : "haproxy";
}

static void
validate_hook(struct dconf *c, struct cfgerr *err, struct dconf_hook *h)
{
    const char *f = c->path;
    struct stat st;

    if (h->timeout_ms == 0)
        h->timeout_ms = 10000;
    if (!h->undrain_set)
        h->on_undrain = true;
    if (h->exec == NULL) {
        cfgerr_add(err, f, h->line, "[hook %s]: missing key 'exec' (program to run)", h->name);
        return;
    }
    if (stat(h->exec, &st) < 0)
        cfgerr_add(err, f, h->line, "[hook %s] exec: %s: %s", h->name, h->exec, strerror(errno));
    else if (!S_ISREG(st.st_mode) || access(h->exec, X_OK) != 0)
        cfgerr_add(err, f, h->line, "[hook %s] exec: %s is not an executable file", h->name,
                   h->exec);
}

static void
validate_site(struct dconf *c, struct cfgerr *err, int si)
{
    struct dconf_site *s = &c->sites[si];
    char section[NAME_MAX_LEN + 8];
    struct list_ctx x = {
        .c = c, .err = err, .line = s->line, .section = section, .max = DCONF_MAX_LIST};

    snprintf(section, sizeof(section), "site %s", s->name);
    if (!s->vote_set)
        s->vote = 1;
    if (s->max_skew_ms == 0)
        s->max_skew_ms = 5 * 60 * 1000;
    s->agents = xcalloc(DCONF_MAX_LIST, sizeof(*s->agents));
    s->agent_zones = xcalloc(DCONF_MAX_LIST, sizeof(*s->agent_zones));
    s->zones = xcalloc(DCONF_MAX_LIST, sizeof(*s->zones));
    if (s->zones_str != NULL) {
        x.key = "zones";
        x.names = s->zones;
        x.n = &s->nzones;
        each_name(s->zones_str, add_name, &x);
    }
    if (s->agents_str != NULL) {
        x.key = "agents";
        x.names = s->agents;
        x.n = &s->nagents;
        x.site = s;
        each_name(s->agents_str, add_agent, &x);
    }
    if (s->targets_str == NULL && s->hooks_str == NULL)
        cfgerr_add(err, c->path, s->line,
                   "[site %s]: nothing to drain: set 'targets' ([haproxy], [bgp] or [dns] sections) and/or "
                   "'hooks' ([hook] sections)",
                   s->name);
    if (s->targets_str != NULL) {
        x.key = "targets";
        x.idx = s->targets;
        x.n = &s->ntargets;
        x.site = s;
        each_name(s->targets_str, add_target, &x);
    }
    if (s->hooks_str != NULL) {
        x.key = "hooks";
        x.idx = s->hooks;
        x.n = &s->nhooks;
        each_name(s->hooks_str, add_hook, &x);
    }
    if (s->vote_by == VOTE_BY_ZONE && s->nzones > 0 && s->vote > s->nzones)
        cfgerr_add(err, c->path, s->line,
                   "[site %s] vote: %d zones must agree but only %d %s listed in 'zones'", s->name,
                   s->vote, s->nzones, plural(s->nzones, "is", "are"));
    if (s->vote_by == VOTE_BY_AGENT && s->nagents > 0 && s->vote > s->nagents)
        cfgerr_add(err, c->path, s->line,
                   "[site %s] vote: %d agents must agree but only %d %s listed in 'agents'",
                   s->name, s->vote, s->nagents, plural(s->nagents, "is", "are"));
}

static void
validate(void *user, struct cfgerr *err)
{
    struct dconf *c = user;
    const char *f = c->path;
    char client_id[NAME_MAX_LEN + 16];

    if (c->drain.control == NULL)
        c->drain.control = xstrdup("/run/ember-drain/ember-drain.sock");
    if (c->drain.state == NULL)
        c->drain.state = xstrdup("/var/lib/ember-drain/state.json");
    if (c->drain.audit == NULL)
        c->drain.audit = xstrdup("/var/log/ember-drain/audit.log");
    snprintf(client_id, sizeof(client_id), "ember-drain-%s", c->drain.id);
    mqttconf_validate(&c->mqtt, f, client_id, err);
    c->drain.peers = xcalloc(DCONF_MAX_PEERS, sizeof(*c->drain.peers));
    if (c->drain.peers_str != NULL) {
        struct list_ctx x = {.c = c,
                             .err = err,
                             .line = c->drain_line,
                             .section = "drain",
                             .key = "peers",
                             .names = c->drain.peers,
                             .n = &c->drain.npeers,
                             .max = DCONF_MAX_PEERS};
        each_name(c->drain.peers_str, add_name, &x);
    }
    if (c->nsites == 0)
        cfgerr_add(err, f, 0, "no [site NAME] section: nothing to do");
    for (int i = 0; i < c->nhaproxies; i++) {
        if (c->haproxies[i].kind == DCONF_TARGET_BGP)
            validate_bgp(c, err, &c->haproxies[i]);
        else
            validate_haproxy(c, err, &c->haproxies[i]);
    }
    for (int i = 0; i < c->nhooks; i++)
        validate_hook(c, err, &c->hooks[i]);
    for (int i = 0; i < c->ndns; i++)
        validate_dns(c, err, &c->dnss[i]);
    for (int i = 0; i < c->nsites; i++)
        validate_site(c, err, i);
    for (int i = 0; i < c->nhaproxies; i++)
        if (c->haproxies[i].site < 0)
            cfgerr_add(err, f, c->haproxies[i].line,
                       "[%s %s]: not a target of any [site] (add it to a site's targets)",
                       dconf_target_kind_name(&c->haproxies[i]), c->haproxies[i].name);
    for (int i = 0; i < c->ndns; i++)
        if (c->dnss[i].site < 0)
            cfgerr_add(err, f, c->dnss[i].line,
                       "[dns %s]: not a target of any [site] (add it to a site's targets)",
                       c->dnss[i].name);
}

int
dconf_load(const char *path, struct dconf **out, struct cfgerr *err)
{
    struct dconf *c = xcalloc(1, sizeof(*c));
    static const char *const singletons[] = {"drain", "mqtt", "metrics", NULL};
    struct cfgfile cf = {
        .path = path, .err = err, .key = on_key, .user = c, .singletons = singletons};
    int rc;

    c->path = xstrdup(path);
    c->sites = xcalloc(DCONF_MAX_SITES, sizeof(*c->sites));
    c->haproxies = xcalloc(DCONF_MAX_HAPROXY, sizeof(*c->haproxies));
    c->hooks = xcalloc(DCONF_MAX_HOOKS, sizeof(*c->hooks));
    c->dnss = xcalloc(DCONF_MAX_DNS, sizeof(*c->dnss));
    set_defaults(c);
    mqttconf_defaults(&c->mqtt, path, err);
    /* A file that does not load leaves nothing behind. */
    if ((rc = cfgfile_load(&cf, validate)) < 0)
        dconf_free(c);
    else
        *out = c;
    return rc < 0 ? rc : 0;
}

void
dconf_free(struct dconf *c)
{
    if (c == NULL)
        return;
    cfgfile_free_strings(drain_keys, ARRAY_LEN(drain_keys), &c->drain);
    free(c->drain.peers);
    mqttconf_free(&c->mqtt);
    metricsconf_free(&c->metrics);
    for (int i = 0; i < c->nsites; i++) {
        cfgfile_free_strings(site_keys, ARRAY_LEN(site_keys), &c->sites[i]);
        free(c->sites[i].agents);
        free(c->sites[i].agent_zones);
        free(c->sites[i].zones);
    }
    for (int i = 0; i < c->nhaproxies; i++) {
        if (c->haproxies[i].kind == DCONF_TARGET_BGP)
            cfgfile_free_strings(bgp_keys, ARRAY_LEN(bgp_keys), &c->haproxies[i]);
        else
            cfgfile_free_strings(haproxy_keys, ARRAY_LEN(haproxy_keys), &c->haproxies[i]);
        free(c->haproxies[i].host);
    }
    for (int i = 0; i < c->nhooks; i++)
        cfgfile_free_strings(hook_keys, ARRAY_LEN(hook_keys), &c->hooks[i]);
    free(c->sites);
    free(c->haproxies);
    for (int i = 0; i < c->ndns; i++) {
        cfgfile_free_strings(dns_keys, ARRAY_LEN(dns_keys), &c->dnss[i]);
        explicit_bzero(c->dnss[i].tsig_secret, sizeof(c->dnss[i].tsig_secret));
    }
    free(c->hooks);
    free(c->dnss);
    free(c->path);
    free(c);
}

int
dconf_site_find(const struct dconf *c, const char *name)
{
    return cfgfile_item_find(c->sites, c->nsites, sizeof(*c->sites), name);
}

bool
dconf_site_has_agent(const struct dconf_site *s, const char *agent)
{
    if (s->nagents == 0)
        return true;
    for (int i = 0; i < s->nagents; i++)
        if (strcmp(s->agents[i], agent) == 0)
            return true;
    return false;
}

bool
dconf_site_has_zone(const struct dconf_site *s, const char *zone)
{
    if (s->nzones == 0)
        return true;
    for (int i = 0; i < s->nzones; i++)
        if (strcmp(s->zones[i], zone) == 0)
            return true;
    return false;
}

bool
dconf_site_agent_may(const struct dconf_site *s, const char *agent, const char *zone)
{
    for (int i = 0; i < s->nagents; i++) {
        const char *z = s->agent_zones[i];
        size_t len = strlen(zone);
        if (strcmp(s->agents[i], agent) != 0)
            continue;
        if (z[0] == '\0')
            return true;
        while (*z) {
            size_t n = strcspn(z, "+");
            if (n == len && strncmp(z, zone, n) == 0)
                return true;
            z += n + (z[n] == '+');
        }
        return false;
    }
    return true;
}

bool
dconf_trusts_controller(const struct dconf *c, const char *id)
{
    if (id == NULL)
        return false;
    if (strcmp(id, c->drain.id) == 0)
        return true;
    for (int i = 0; i < c->drain.npeers; i++)
        if (strcmp(c->drain.peers[i], id) == 0)
            return true;
    return false;
}
