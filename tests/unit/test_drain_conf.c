/* Unit tests: ember-drain's configuration (agent/drain/dconf.c): the shipped
 * example, defaults, error messages with file:line; its state file and audit
 * log (agent/drain/dstate.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../agent/drain/dconf.h"
#include "../../agent/drain/dstate.h"
#include "cfgfile.h"
#include "drain_fixture.h"

static char tmpdir[64];

static int
setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_drain_conf.XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int
teardown(void **state)
{
    char cmd[128];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *
write_file(const char *name, const char *text)
{
    static char path[128];
    FILE *fp;
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    fp = fopen(path, "w");
    fputs(text, fp);
    fclose(fp);
    return path;
}

static void
test_example(void **state)
{
    struct cfgerr err = {0};
    struct dconf *c = NULL;
    (void)state;

    /* Unit tests run from the top of the tree (make unit). */
    if (access("agent/examples/ember-drain.conf", R_OK) != 0)
        skip();
    assert_int_equal(dconf_load("agent/examples/ember-drain.conf", &c, &err), 0);
    assert_int_equal(c->nsites, 1);
    assert_string_equal(c->sites[0].name, "pangyo-a");
    assert_int_equal(c->sites[0].nzones, 2);
    assert_int_equal(c->sites[0].ntargets, 2);
    assert_int_equal(c->sites[0].offline, OFFLINE_VOTE);
    assert_int_equal(c->nhaproxies, 2);
    assert_int_equal(c->haproxies[0].nservers, 3);
    assert_string_equal(c->haproxies[0].servers[2].backend, "api");
    assert_int_equal(c->haproxies[0].maint_after_ms, 120000);
    assert_string_equal(c->haproxies[1].host, "127.0.0.1");
    assert_int_equal(c->haproxies[1].port, 9999);
    assert_true(c->haproxies[1].has_weight);
    assert_int_equal(c->haproxies[1].weight, 0);
    assert_int_equal(c->drain.control_mode, 0660);
    dconf_free(c);
    cfgerr_free(&err);
}

static void
test_defaults(void **state)
{
    struct cfgerr err = {0};
    struct dconf *c = NULL;
    const char *p = write_file("min.conf", "[site s]\ntargets = h\n[haproxy h]\n"
                                           "tcp = [::1]:9999\nservers = b/s, b/t\n"
                                           "weight = 50%\n[site t]\nhooks = k\n"
                                           "[hook k]\nexec = /bin/true\n");
    (void)state;

    assert_int_equal(dconf_load(p, &c, &err), 0);
    /* [mqtt] defaults: test_mqttconf.c. */
    assert_string_equal(c->drain.control, "/run/ember-drain/ember-drain.sock");
    assert_string_equal(c->drain.state, "/var/lib/ember-drain/state.json");
    assert_string_equal(c->drain.audit, "/var/log/ember-drain/audit.log");
    assert_int_equal(c->drain.control_mode, 0660);
    assert_int_equal(c->drain.settle_ms, 1000);
    assert_false(c->drain.dry_run);
    assert_int_equal(c->sites[0].vote, 1);
    assert_int_equal(c->sites[0].vote_by, VOTE_BY_ZONE);
    assert_int_equal(c->sites[0].offline, OFFLINE_HOLD);
    assert_int_equal(c->sites[0].hold_down_ms, 0);
    assert_false(c->sites[0].mqtt_commands);
    assert_true(dconf_site_has_zone(&c->sites[0], "anything"));
    assert_true(dconf_site_has_agent(&c->sites[0], "anyone"));
    assert_string_equal(c->haproxies[0].host, "::1");
    assert_int_equal(c->haproxies[0].timeout_ms, 1000);
    assert_int_equal(c->haproxies[0].refresh_ms, 5000);
    assert_int_equal(c->haproxies[0].maint_after_ms, 0);
    assert_true(c->haproxies[0].weight_pct);
    assert_int_equal(c->haproxies[0].weight, 50);
    assert_int_equal(c->haproxies[0].site, 0);
    assert_int_equal(c->hooks[0].timeout_ms, 10000);
    assert_true(c->hooks[0].on_undrain);
    assert_int_equal(c->hooks[0].dry, HOOK_DRY_SKIP);
    assert_int_equal(dconf_site_find(c, "t"), 1);
    assert_int_equal(dconf_site_find(c, "u"), -1);
    dconf_free(c);
    cfgerr_free(&err);
}

static void
test_errors(void **state)
{
    struct cfgerr err = {0};
    struct dconf *c = NULL;
    const char *p = write_file("bad.conf", "[site s]\n"         /* 1 */
                                           "targets = h, h\n"   /* 2 */
                                           "[site t]\n"         /* 3 */
                                           "targets = h\n"      /* 4 */
                                           "[haproxy h]\n"      /* 5 */
                                           "socket = /x.sock\n" /* 6 */
                                           "servers = b/s\n"    /* 7 */
                                           "refresh = 1ms\n"    /* 8 */
                                           "[hook k]\n"         /* 9 */
                                           "exec = bad.conf\n"  /* 10 */
                                           "[site s]\n"         /* 11 */
                                           "vote = 1\n");       /* 12 */
    (void)state;

    assert_int_equal(dconf_load(p, &c, &err), -EINVAL);
    assert_null(c);
    assert_non_null(err.text);
    assert_non_null(strstr(err.text, "bad.conf:8: [haproxy h] refresh: 1ms is out of range"));
    assert_non_null(strstr(err.text, "bad.conf:12: [site s] defined twice (first at line 1)"));
    assert_non_null(strstr(err.text, "bad.conf:1: [site s] targets: 'h' is listed twice"));
    assert_non_null(strstr(err.text, "bad.conf:3: [site t] targets: [haproxy h] is already a "
                                     "target of [site s]"));
    assert_non_null(strstr(err.text, "bad.conf:9: [hook k] exec: "));
    assert_non_null(strstr(err.text, "is not an executable file"));
    cfgerr_free(&err);
}

/* [dns NAME]: a site's targets may name it; names are made absolute,
 * addresses canonical, the TSIG secret is read from its file. */
static void
test_dns(void **state)
{
    struct cfgerr err = {0};
    struct dconf *c = NULL;
    const char *p;
    (void)state;

    write_file("key.secret", "c2VjcmV0IHNlY3JldCBzZWNyZXQgc2VjcmV0IQ==\n");
    p = write_file("dns.conf", "[site s]\ntargets = h, gslb\n"
                               "[haproxy h]\nsocket = /x.sock\nservers = b/s\n"
                               "[dns gslb]\nserver = 127.0.0.1:5353\nzone = example.com\n"
                               "names = www, api.example.com., @\n"
                               "addresses = 192.0.2.10, 2001:DB8::10\nstandby = 198.51.100.10\n"
                               "tsig_key = ember-drain\ntsig_secret_file = key.secret\n"
                               "[site t]\ntargets = solo\n"
                               "[dns solo]\nserver = [::1]:53\nzone = example.com.\n"
                               "names = solo\naddresses = 192.0.2.12\nallow_empty = yes\n"
                               "tsig_key = k2\ntsig_algorithm = hmac-sha512\n"
                               "tsig_secret_file = key.secret\nmax_ttl = 30s\nttl = 20s\n");
    assert_int_equal(dconf_load(p, &c, &err), 0);
    assert_int_equal(c->ndns, 2);
    assert_int_equal(c->sites[0].ntargets, 1);
    assert_int_equal(c->sites[0].ndns, 1);
    assert_int_equal(c->sites[0].dns[0], 0);
    assert_int_equal(c->dnss[0].site, 0);
    assert_string_equal(c->dnss[0].host, "127.0.0.1");
    assert_int_equal(c->dnss[0].port, 5353);
    assert_string_equal(c->dnss[0].zone, "example.com.");
    assert_int_equal(c->dnss[0].nnames, 3);
    assert_string_equal(c->dnss[0].names[0], "www.example.com.");
    assert_string_equal(c->dnss[0].names[1], "api.example.com.");
    assert_string_equal(c->dnss[0].names[2], "example.com.");
    assert_int_equal(c->dnss[0].naddresses, 2);
    assert_string_equal(c->dnss[0].addresses[1], "2001:db8::10");
    assert_int_equal(c->dnss[0].nstandby, 1);
    assert_string_equal(dconf_tsig_algorithms[c->dnss[0].tsig_algorithm], "hmac-sha256");
    assert_string_equal(c->dnss[0].tsig_secret, "c2VjcmV0IHNlY3JldCBzZWNyZXQgc2VjcmV0IQ==");
    assert_int_equal(c->dnss[0].timeout_ms, 2000);
    assert_int_equal(c->dnss[0].refresh_ms, 30000);
    assert_int_equal(c->dnss[0].max_ttl_ms, 300000);
    assert_int_equal(c->dnss[0].ttl_ms, 0);
    assert_false(c->dnss[0].allow_empty);
    assert_string_equal(c->dnss[1].host, "::1");
    assert_int_equal(c->dnss[1].port, 53);
    assert_string_equal(dconf_tsig_algorithms[c->dnss[1].tsig_algorithm], "hmac-sha512");
    assert_true(c->dnss[1].allow_empty);
    assert_int_equal(c->dnss[1].site, 1);
    assert_int_equal(c->dnss[1].max_ttl_ms, 30000);
    assert_int_equal(c->dnss[1].ttl_ms, 20000);
    dconf_free(c);
    cfgerr_free(&err);
}

static void
test_dns_errors(void **state)
{
    struct cfgerr err = {0};
    struct dconf *c = NULL;
    const char *p;
    (void)state;

    write_file("bad.secret", "not base64!\n");
    p = write_file("dnsbad.conf", "[site s]\n"                              /* 1 */
                                  "targets = d, nosuch\n"                   /* 2 */
                                  "[dns d]\n"                               /* 3 */
                                  "server = example.com:53\n"               /* 4 */
                                  "zone = example.com\n"                    /* 5 */
                                  "names = www.other.org., a..b\n"          /* 6 */
                                  "addresses = 192.0.2.1, 192.0.2.300\n"    /* 7 */
                                  "standby = 192.0.2.1\n"                   /* 8 */
                                  "tsig_key = k\n"                          /* 9 */
                                  "tsig_algorithm = hmac-sha3\n"            /* 10 */
                                  "tsig_secret_file = bad.secret\n"         /* 11 */
                                  "[dns e]\n"                               /* 12 */
                                  "zone = example.com\n"                    /* 13 */
                                  "[dns f]\n"                               /* 14 */
                                  "server = 127.0.0.1\nzone = example.com\n" /* 15, 16 */
                                  "names = www\naddresses = 192.0.2.1\n"   /* 17, 18 */
                                  "tsig_key = k\ntsig_secret_file = none\n"); /* 19, 20 */
    assert_int_equal(dconf_load(p, &c, &err), -EINVAL);
    assert_null(c);
    assert_non_null(err.text);
    assert_non_null(strstr(err.text, "dnsbad.conf:1: [site s] targets: no [haproxy nosuch], [bgp nosuch] "
                                     "or [dns nosuch] in this file"));
    assert_non_null(strstr(err.text, "dnsbad.conf:3: [dns d] server: 'example.com:53' is not "
                                     "ADDRESS[:PORT]"));
    assert_non_null(strstr(err.text, "dnsbad.conf:3: [dns d] names: www.other.org. is not in "
                                     "zone example.com."));
    assert_non_null(strstr(err.text, "dnsbad.conf:3: [dns d] names: 'a..b' is not a domain name"));
    assert_non_null(strstr(err.text, "dnsbad.conf:3: [dns d] addresses: '192.0.2.300' is not an "
                                     "IPv4 or IPv6 address"));
    assert_non_null(strstr(err.text, "dnsbad.conf:3: [dns d] standby: 192.0.2.1 is also one of "
                                     "the site's addresses"));
    assert_non_null(strstr(err.text, "dnsbad.conf:10: [dns d] tsig_algorithm:"));
    assert_non_null(strstr(err.text, "dnsbad.conf:3: [dns d] tsig_secret_file: "));
    assert_non_null(strstr(err.text, "is not a base64 secret"));
    assert_non_null(strstr(err.text, "dnsbad.conf:12: [dns e]: missing key 'server'"));
    assert_non_null(strstr(err.text, "dnsbad.conf:12: [dns e]: missing key 'tsig_secret_file'"));
    assert_non_null(strstr(err.text, "dnsbad.conf:12: [dns e]: not a target of any [site]"));
    assert_non_null(strstr(err.text, "dnsbad.conf:14: [dns f] tsig_secret_file: "));
    cfgerr_free(&err);
}

/* The [dns] journals in the state file: saved with the sites, loaded back
 * exactly; an RRset with nothing to undo is not written. */
static void
test_state_file_dns(void **state)
{
    struct dstate_site site = {.name = "lab", .state = SITE_DRAINED};
    struct dstate_dns in[2], out[4];
    char path[128], err[128] = "";
    int n = -1;
    (void)state;

    snprintf(path, sizeof(path), "%s/state-dns.json", tmpdir);
    memset(in, 0, sizeof(in));
    strcpy(in[0].target, "gslb");
    strcpy(in[0].name, "www.example.com.");
    in[0].family = 6;
    assert_int_equal(dnsplan_add(&in[0].j.removed, "2001:db8::10", 300), 0);
    assert_int_equal(dnsplan_add(&in[0].j.removed, "2001:db8::11", 30), 0);
    assert_int_equal(dnsplan_add(&in[0].j.added, "2001:db8::20", 60), 0);
    strcpy(in[1].target, "gslb");
    strcpy(in[1].name, "api.example.com.");
    in[1].family = 4; /* nothing to undo */
    assert_int_equal(dstate_save_all(path, &site, 1, in, 2), 0);
    assert_int_equal(dstate_load_dns(path, out, 4, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 1);
    assert_string_equal(out[0].target, "gslb");
    assert_string_equal(out[0].name, "www.example.com.");
    assert_int_equal(out[0].family, 6);
    assert_int_equal(out[0].j.removed.n, 2);
    assert_string_equal(out[0].j.removed.r[1].addr, "2001:db8::11");
    assert_int_equal(out[0].j.removed.r[0].ttl, 300);
    assert_int_equal(out[0].j.added.n, 1);
    assert_int_equal(out[0].j.added.r[0].ttl, 60);
    /* The sites are still there for dstate_load. */
    assert_int_equal(dstate_load(path, &site, 1, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 1);

    write_file("state-dns.json", "{\"sites\":[],\"dns\":[{\"target\":\"gslb\",\"name\":"
                                 "\"www.example.com.\",\"type\":\"MX\",\"removed\":[]}]}");
    assert_int_equal(dstate_load_dns(path, out, 4, &n, err, sizeof(err)), -EINVAL);
    write_file("state-dns.json", "{\"sites\":[],\"dns\":[{\"target\":\"gslb\",\"name\":"
                                 "\"www.example.com.\",\"type\":\"A\",\"removed\":"
                                 "[{\"addr\":\"not-an-address\",\"ttl\":1}]}]}");
    assert_int_equal(dstate_load_dns(path, out, 4, &n, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "\"dns\" entry"));
    /* A file without "dns" (an older one) has no journals. */
    write_file("state-dns.json", "{\"sites\":[]}");
    assert_int_equal(dstate_load_dns(path, out, 4, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 0);
}

/* [drain] peers and the zones each agent may request (`agents`). */
static void
test_trust(void **state)
{
    struct dconf *c = drain_fixture_load("[drain]\nid = ctl-a\npeers = ctl-b, ctl-c\n"
                                         "[site s]\nhooks = k\nzones = b3, b4, b5\n"
                                         "agents = a1:b3, a2:b4+b5, a3\nmax_skew = 1m\n"
                                         "[site t]\nhooks = k\n[hook k]\nexec = /bin/true\n");
    struct cfgerr err = {0};
    const char *p;
    (void)state;

    assert_true(dconf_trusts_controller(c, "ctl-a"));
    assert_true(dconf_trusts_controller(c, "ctl-c"));
    assert_false(dconf_trusts_controller(c, "mallory"));
    assert_false(dconf_trusts_controller(c, NULL));
    assert_int_equal(c->sites[0].max_skew_ms, 60000);
    assert_int_equal(c->sites[1].max_skew_ms, 300000); /* default 5m */
    assert_int_equal(c->sites[0].nagents, 3);
    assert_true(dconf_site_has_agent(&c->sites[0], "a2"));
    assert_true(dconf_site_agent_may(&c->sites[0], "a1", "b3"));
    assert_false(dconf_site_agent_may(&c->sites[0], "a1", "b4"));
    assert_true(dconf_site_agent_may(&c->sites[0], "a2", "b5"));
    assert_false(dconf_site_agent_may(&c->sites[0], "a2", "b"));
    assert_true(dconf_site_agent_may(&c->sites[0], "a3", "b4"));
    assert_true(dconf_site_agent_may(&c->sites[1], "anyone", "any"));
    dconf_free(c);
    c = NULL;

    p = write_file("trust-bad.conf", "[drain]\n"                        /* 1 */
                                     "peers = ok, bad/peer\n"           /* 2 */
                                     "[site s]\n"                       /* 3 */
                                     "hooks = k\n"                      /* 4 */
                                     "zones = b3\n"                     /* 5 */
                                     "agents = a1:, a2:b9, a3:b$, a1\n" /* 6 */
                                     "max_skew = 0s\n"                  /* 7 */
                                     "[hook k]\n"                       /* 8 */
                                     "exec = /bin/true\n");             /* 9 */
    assert_int_equal(dconf_load(p, &c, &err), -EINVAL);
    assert_null(c);
    assert_non_null(err.text);
    assert_non_null(
        strstr(err.text, "trust-bad.conf:1: [drain] peers: 'bad/peer' is not a valid name"));
    assert_non_null(strstr(err.text, "trust-bad.conf:3: [site s] agents: 'a1:': give the agent's "
                                     "zones after ':' as ZONE+ZONE..."));
    assert_non_null(
        strstr(err.text, "[site s] agents: 'a2:b9': zone b9 is not in the site's 'zones'"));
    assert_non_null(strstr(err.text, "[site s] agents: 'a3:b$': 'b$' is not a valid zone name"));
    assert_non_null(strstr(err.text, "[site s] agents: 'a1' is listed twice"));
    assert_non_null(strstr(err.text, "trust-bad.conf:7: [site s] max_skew: 0s is out of range"));
    cfgerr_free(&err);
}

/* Episodes, the undrain's list and the hold's origin survive a restart;
 * the list keeps the newest DSTATE_MAX_UNDONE. */
static void
test_state_file_episodes(void **state)
{
    struct dstate_site in, out;
    struct dstate_episode e = {"c2", 0};
    char path[128], err[128] = "";
    int n = -1;
    (void)state;

    snprintf(path, sizeof(path), "%s/state-ep.json", tmpdir);
    memset(&in, 0, sizeof(in));
    strcpy(in.name, "lab");
    in.state = SITE_DRAINED;
    in.held = true;
    strcpy(in.ep.ctl, "c1");
    in.ep.id = 7;
    for (int k = 1; k <= DSTATE_MAX_UNDONE + 2; k++) {
        e.id = (uint64_t)k;
        dstate_episode_add(in.undone, &in.nundone, &e);
    }
    dstate_episode_add(in.undone, &in.nundone, &e); /* present: not again */
    assert_int_equal(in.nundone, DSTATE_MAX_UNDONE);
    assert_true(in.undone[0].id == 3); /* the two oldest went */
    strcpy(in.hold_origin, "c2");
    assert_int_equal(dstate_save(path, &in, 1), 0);
    assert_int_equal(dstate_load(path, &out, 1, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 1);
    assert_true(dstate_episode_eq(&out.ep, &in.ep));
    assert_int_equal(out.nundone, DSTATE_MAX_UNDONE);
    for (int k = 0; k < DSTATE_MAX_UNDONE; k++)
        assert_true(dstate_episode_eq(&out.undone[k], &in.undone[k]));
    assert_string_equal(out.hold_origin, "c2");
    e.id = 1;
    assert_false(dstate_episode_in(&e, out.undone, out.nundone));
    /* An unnamed episode equals nothing. */
    memset(&e, 0, sizeof(e));
    assert_false(dstate_episode_eq(&e, &e));
}

static void
test_state_file(void **state)
{
    struct dstate_site in[2], out[4];
    char path[128], err[128] = "";
    int n = -1;
    (void)state;

    snprintf(path, sizeof(path), "%s/state.json", tmpdir);
    assert_int_equal(dstate_load(path, out, 4, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 0); /* no file yet: nothing restored, no error */

    memset(in, 0, sizeof(in));
    strcpy(in[0].name, "lab");
    in[0].state = SITE_DRAINED;
    in[0].held = true;
    in[0].since_ms = 1795588656123LL;
    strcpy(in[0].cause, "zones b3, b4 requested drain (2 of 2 zones)");
    strcpy(in[0].by, "kim (uid 1000)");
    in[0].drain_id = 7;
    in[0].drain_start_ms = 1795588650000LL;
    in[0].hooks_done = true;
    strcpy(in[1].name, "other");
    in[1].state = SITE_SERVING;
    assert_int_equal(dstate_save(path, in, 2), 0);
    assert_int_equal(dstate_load(path, out, 4, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 2);
    assert_string_equal(out[0].name, "lab");
    assert_int_equal(out[0].state, SITE_DRAINED);
    assert_true(out[0].held);
    assert_true(out[0].since_ms == in[0].since_ms);
    assert_string_equal(out[0].cause, in[0].cause);
    assert_string_equal(out[0].by, in[0].by);
    assert_int_equal(out[0].drain_id, 7);
    assert_true(out[0].hooks_done);
    assert_int_equal(out[1].state, SITE_SERVING);
    assert_false(out[1].held);

    write_file("state.json", "{\"sites\":[{\"site\":\"lab\",\"state\":\"melting\"}]}");
    assert_int_equal(dstate_load(path, out, 4, &n, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "valid \"site\" or \"state\""));
    write_file("state.json", "garbage");
    assert_int_equal(dstate_load(path, out, 4, &n, err, sizeof(err)), -EINVAL);

    assert_string_equal(dstate_name(SITE_DRAINING), "draining");
    assert_int_equal(dstate_parse("drained"), SITE_DRAINED);
    assert_int_equal(dstate_parse("held"), -1);
}

static void
test_audit(void **state)
{
    struct audit *a = NULL;
    char err[512];
    char path[128], line[512];
    FILE *fp;
    struct stat st;
    (void)state;

    snprintf(path, sizeof(path), "%s/audit.log", tmpdir);
    assert_int_equal(audit_open(&a, path, err, sizeof(err)), 0);
    audit_event(a, "lab", "hold", NULL);
    audit_event(a, NULL, "start", NULL);
    audit_close(a);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640 & ~(unsigned)umask(022) & 0777);
    fp = fopen(path, "r");
    assert_non_null(fgets(line, sizeof(line), fp));
    assert_non_null(strstr(line, "\"site\":\"lab\",\"event\":\"hold\"}\n"));
    assert_true(strncmp(line, "{\"ts\":\"", 7) == 0);
    assert_non_null(fgets(line, sizeof(line), fp));
    assert_non_null(strstr(line, "\"event\":\"start\""));
    fclose(fp);
    assert_int_equal(audit_open(&a, "/nonexistent-dir/audit.log", err, sizeof(err)), -ENOENT);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_example),    cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_errors),     cmocka_unit_test(test_trust),
        cmocka_unit_test(test_dns),        cmocka_unit_test(test_dns_errors),
        cmocka_unit_test(test_state_file_dns), cmocka_unit_test(test_state_file_episodes),
        cmocka_unit_test(test_state_file), cmocka_unit_test(test_audit),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
