/*
 * dconf.c - ember-drain configuration loader.
 */
#include "dconf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

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
    "[%s]: unknown section (expected [drain], [mqtt], [site NAME], [haproxy NAME], [bgp NAME] "    \
    "or [hook NAME])"

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
    char host[256] = "ember-drain";

    if (gethostname(host, sizeof(host) - 1) == 0) {
        host[NAME_MAX_LEN] = '\0';
        for (char *p = host; *p; p++)
            if (!(isalnum((unsigned char)*p) || *p == '_' || *p == '-' || *p == '.'))
                *p = '-';
    }
    strcpy(c->drain.id, host[0] ? host : "ember-drain");
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

static void
add_target(void *arg, const char *tok)
{
    struct list_ctx *x = arg;
    int h = haproxy_find(x->c, tok);

    if (h < 0) {
        cfgerr_add(x->err, x->c->path, x->line,
                   "[%s] targets: no [haproxy %s] in this file, nor a [bgp %s]", x->section, tok,
                   tok);
        return;
    }
    for (int i = 0; i < *x->n; i++) {
        if (x->idx[i] == h) {
            cfgerr_add(x->err, x->c->path, x->line, "[%s] targets: '%s' is listed twice",
                       x->section, tok);
            return;
        }
    }
    if (x->c->haproxies[h].site >= 0) {
        cfgerr_add(x->err, x->c->path, x->line,
                   "[%s] targets: [%s %s] is already a target of [site %s] (one site per "
                   "target section)",
                   x->section, dconf_target_kind_name(&x->c->haproxies[h]), tok,
                   x->c->sites[x->c->haproxies[h].site].name);
        return;
    }
    if (*x->n == x->max)
        return;
    x->idx[(*x->n)++] = h;
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

static void
validate_haproxy(struct dconf *c, struct cfgerr *err, struct dconf_haproxy *h)
{
    const char *f = c->path;

    h->site = -1;
    if (h->timeout_ms == 0)
        h->timeout_ms = 1000;
    if (h->refresh_ms == 0)
        h->refresh_ms = 5000;
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

    h->site = -1;
    if (h->timeout_ms == 0)
        h->timeout_ms = 1000;
    if (h->refresh_ms == 0)
        h->refresh_ms = 5000;
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
                   "[site %s]: nothing to drain: set 'targets' ([haproxy] and [bgp] sections) and/or "
                   "'hooks' ([hook] sections)",
                   s->name);
    if (s->targets_str != NULL) {
        x.key = "targets";
        x.idx = s->targets;
        x.n = &s->ntargets;
        each_name(s->targets_str, add_target, &x);
        for (int i = 0; i < s->ntargets; i++)
            c->haproxies[s->targets[i]].site = si;
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
    for (int i = 0; i < c->nsites; i++)
        validate_site(c, err, i);
    for (int i = 0; i < c->nhaproxies; i++)
        if (c->haproxies[i].site < 0)
            cfgerr_add(err, f, c->haproxies[i].line,
                       "[%s %s]: not a target of any [site] (add it to a site's targets)",
                       dconf_target_kind_name(&c->haproxies[i]), c->haproxies[i].name);
}

int
dconf_load(const char *path, struct dconf **out, struct cfgerr *err)
{
    struct dconf *c = xcalloc(1, sizeof(*c));
    static const char *const singletons[] = {"drain", "mqtt", NULL};
    struct cfgfile cf = {
        .path = path, .err = err, .key = on_key, .user = c, .singletons = singletons};
    int rc;

    c->path = xstrdup(path);
    c->sites = xcalloc(DCONF_MAX_SITES, sizeof(*c->sites));
    c->haproxies = xcalloc(DCONF_MAX_HAPROXY, sizeof(*c->haproxies));
    c->hooks = xcalloc(DCONF_MAX_HOOKS, sizeof(*c->hooks));
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
    free(c->hooks);
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
