/*
 * main.c - ember-drain: the emberwatch traffic-drain controller, and its
 * command line client (hold, release, undrain, drain, status).
 */
#include <cJSON.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "command.h"
#include "ctlclient.h"
#include "dconf.h"
#include "drainer.h"
#include "prog.h"
/* SYSCONFDIR comes from the Makefile (make install SYSCONFDIR=...). */
#ifndef EMBER_SYSCONFDIR
#define EMBER_SYSCONFDIR "/etc"
#endif
#define DEFAULT_CONF EMBER_SYSCONFDIR "/emberwatch/ember-drain.conf"
#define DEFAULT_SOCKET "/run/ember-drain/ember-drain.sock"

static void
usage(FILE *fp)
{
    fprintf(fp,
            "Usage: ember-drain [-c FILE] [-n] [-d] [-s]          run the drain controller\n"
            "       ember-drain [OPTIONS] COMMAND [SITE]          talk to the running one\n"
            "\n"
            "Moves traffic away from a site whose battery rooms request a drain over MQTT\n"
            "({prefix}/{site}/{agent}/drain/{zone}): applies the site's policy (zones and\n"
            "agents that must agree, offline agents, hold-down, manual hold), drives HAProxy's\n"
            "runtime API, DNS (RFC 2136 with TSIG), BGP (BIRD 2) and exec hooks, and publishes\n"
            "{prefix}/{site}/drain/state (retained).\n"
            "A drained site returns to service only by 'undrain'.  Test requests are shown,\n"
            "never acted on.\n"
            "\n"
            "Daemon options:\n"
            "  -c, --config FILE   configuration file (default " DEFAULT_CONF ")\n"
            "  -n, --check         check the configuration, print 'configuration OK' or every\n"
            "                      error as FILE:LINE: message, and exit 0 or 1\n"
            "  -d, --debug         log debug messages (overrides [drain] log_level)\n"
            "  -s, --syslog        log to syslog instead of stderr\n"
            "  -h, --help          show this help and exit\n"
            "  -V, --version       show the version and exit\n"
            "\n"
            "Commands (over the control socket, [drain] control, mode 0660):\n"
            "  status [SITE]       sites, states, targets as HAProxy reports them, requests\n"
            "  hold SITE           freeze automatic action on SITE in both directions\n"
            "  release SITE        end a hold; the policy is evaluated again at once\n"
            "  undrain SITE        return SITE's targets to service (refused while the drain\n"
            "                      condition still holds, unless the site is held)\n"
            "  drain SITE          drain SITE now, by hand\n"
            "\n"
            "Command options:\n"
            "  -c, --config FILE   take the socket from this file's [drain] control\n"
            "  -S, --socket PATH   control socket (default " DEFAULT_SOCKET ")\n"
            "  -b, --by NAME       operator recorded in the audit log (default: login name)\n"
            "  -r, --reason TEXT   reason recorded in the audit log\n"
            "  -j, --json          print the daemon's JSON answer\n"
            "  -t, --timeout SECS  how long to wait for the daemon (default 5)\n"
            "\n"
            "Exit status: 0 done (or configuration OK), 1 rejected or configuration errors,\n"
            "2 bad usage, 3 the daemon could not be reached.  See ember-drain(8).\n");
}

static void
print_site(const cJSON *s)
{
    const cJSON *arr, *x;
    char votes[32];

    snprintf(votes, sizeof(votes), "%d/%d",
             cJSON_GetObjectItemCaseSensitive(s, "votes")
                 ? cJSON_GetObjectItemCaseSensitive(s, "votes")->valueint
                 : 0,
             cJSON_GetObjectItemCaseSensitive(s, "vote")
                 ? cJSON_GetObjectItemCaseSensitive(s, "vote")->valueint
                 : 0);
    printf("%-16s %-9s %-6s %-25s %s\n", ctlclient_str(s, "site"), ctlclient_str(s, "state"), votes,
           ctlclient_str(s, "since"), ctlclient_str(s, "cause"));
    if (strcmp(ctlclient_str(s, "held_state"), "-") != 0)
        printf("    held; underlying state %s\n", ctlclient_str(s, "held_state"));
    arr = cJSON_GetObjectItemCaseSensitive(s, "targets");
    cJSON_ArrayForEach(x, arr)
    {
        const cJSON *recs = cJSON_GetObjectItemCaseSensitive(x, "records"), *r;
        printf("    %-7s %-40s %s", ctlclient_str(x, "kind"), ctlclient_str(x, "name"),
               ctlclient_str(x, "state"));
        /* A DNS target: the records read back, and why it is not as wanted. */
        if (cJSON_IsArray(recs)) {
            printf(" [");
            cJSON_ArrayForEach(r, recs)
                printf("%s%s", r == recs->child ? "" : " ", cJSON_IsString(r) ? r->valuestring : "?");
            printf("]");
        }
        printf("\n");
        if (strcmp(ctlclient_str(x, "error"), "-") != 0)
            printf("            error: %s\n", ctlclient_str(x, "error"));
    }
    arr = cJSON_GetObjectItemCaseSensitive(s, "requests");
    cJSON_ArrayForEach(x, arr)
    {
        const cJSON *seq = cJSON_GetObjectItemCaseSensitive(x, "seq");
        printf("    request %s/%s: %s%s (seq %.0f)\n", ctlclient_str(x, "agent"),
               ctlclient_str(x, "zone"), ctlclient_str(x, "request"),
               cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, "test"))
                   ? " TEST: shown, never acted on"
                   : "",
               cJSON_IsNumber(seq) ? seq->valuedouble : 0);
    }
    arr = cJSON_GetObjectItemCaseSensitive(s, "agents");
    cJSON_ArrayForEach(x, arr)
    {
        printf("    agent %s: %s\n", ctlclient_str(x, "agent"), ctlclient_str(x, "status"));
    }
    /* Redundant controllers: this one first, then its peers. */
    arr = cJSON_GetObjectItemCaseSensitive(s, "controllers");
    cJSON_ArrayForEach(x, arr)
    {
        printf("    controller %s: %s, %s", ctlclient_str(x, "id"), ctlclient_str(x, "status"),
               ctlclient_str(x, "state"));
        if (strcmp(ctlclient_str(x, "decided_by"), "-") != 0)
            printf(" (decided by %s)", ctlclient_str(x, "decided_by"));
        printf("\n");
    }
}

static int
client(int argc, char **argv, int optind_, const char *sock, const char *by, const char *reason,
       bool json, int timeout_s)
{
    const char *cmd = argv[optind_];
    const char *site = optind_ + 1 < argc ? argv[optind_ + 1] : NULL;
    cJSON *ans;
    char *text, *resp;
    char login[64] = "";
    int rc = 0;

    if (optind_ + 2 < argc) {
        fprintf(stderr, "ember-drain: unexpected argument '%s'\n", argv[optind_ + 2]);
        return PROG_EXIT_USAGE;
    }
    if (command_needs_site(cmd) && site == NULL) {
        fprintf(stderr, "ember-drain: %s needs a SITE\n", cmd);
        return PROG_EXIT_USAGE;
    }
    if (by == NULL) {
        const char *u = getenv("SUDO_USER");
        struct passwd *pw = getpwuid(getuid());
        snprintf(login, sizeof(login), "%s", u ? u : pw ? pw->pw_name : "unknown");
        by = login;
    }
    text = command_request(cmd, site, by, reason);
    rc = ctlclient_call("ember-drain", "ember-drain", sock, text, timeout_s * 1000, &ans, &resp);
    free(text);
    if (rc != 0)
        return rc;
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ans, "ok"))) {
        fprintf(stderr, "ember-drain: %s: %s\n", cmd, ctlclient_str(ans, "error"));
        rc = PROG_EXIT_REJECTED;
    } else if (json) {
        puts(resp);
    } else if (strcmp(cmd, "status") == 0) {
        const cJSON *x;
        printf("controller %s, mqtt %s%s%s\n", ctlclient_str(ans, "controller"),
               cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ans, "mqtt")) ? "connected"
                                                                           : "DISCONNECTED",
               cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ans, "settled")) ? "" : ", settling",
               cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ans, "dry_run")) ? ", DRY RUN" : "");
        printf("%-16s %-9s %-6s %-25s %s\n", "SITE", "STATE", "VOTES", "SINCE", "CAUSE");
        cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(ans, "sites"))
        {
            print_site(x);
        }
    } else {
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(ans, "site");
        printf("%s %s: now %s\n", cmd, site, ctlclient_str(s, "state"));
    }
    cJSON_Delete(ans);
    free(resp);
    return rc;
}

int
main(int argc, char **argv)
{
    static const struct prog prog = {"ember-drain", usage};
    /* clang-format off */
    static const struct option opts[] = {
        PROG_DAEMON_LONG,
        {"socket", required_argument, NULL, 'S'},  {"by", required_argument, NULL, 'b'},
        {"reason", required_argument, NULL, 'r'},  {"json", no_argument, NULL, 'j'},
        {"timeout", required_argument, NULL, 't'}, {NULL, 0, NULL, 0},
    };
    /* clang-format on */
    struct prog_opts o = {0};
    const char *sock = NULL, *by = NULL, *reason = NULL;
    bool json = false;
    long timeout_s = 5;
    struct cfgerr err = {0};
    struct dconf *c = NULL;
    int opt, rc, servers = 0, nbgp = 0, prefixes = 0;
    char bgp[96] = "", dns[48] = "";

    while ((opt = getopt_long(argc, argv, "S:b:r:jt:" PROG_DAEMON_SHORT, opts, NULL)) != -1) {
        switch (opt) {
        case 'S':
            sock = optarg;
            break;
        case 'b':
            by = optarg;
            break;
        case 'r':
            reason = optarg;
            break;
        case 'j':
            json = true;
            break;
        case 't':
            if (parse_long(optarg, 1, 3600, &timeout_s) < 0) {
                fprintf(stderr, "ember-drain: --timeout: '%s' is not 1..3600 seconds\n", optarg);
                return PROG_EXIT_USAGE;
            }
            break;
        default:
            if ((rc = prog_option(&prog, opt, optarg, &o)) >= 0)
                return rc;
        }
    }
    prog_log_init(&prog, &o);

    if (optind < argc) {
        if (!command_known(argv[optind])) {
            fprintf(stderr, "ember-drain: unknown command '%s'\n", argv[optind]);
            usage(stderr);
            return PROG_EXIT_USAGE;
        }
        if (o.check) {
            fprintf(stderr, "ember-drain: -n takes no command\n");
            return PROG_EXIT_USAGE;
        }
        if (sock == NULL && o.path != NULL) {
            if (prog_loaded(&prog, &o, dconf_load(o.path, &c, &err), &err) < 0)
                return PROG_EXIT_REJECTED;
            rc = client(argc, argv, optind, c->drain.control, by, reason, json, (int)timeout_s);
            dconf_free(c);
            return rc;
        }
        return client(argc, argv, optind, sock ? sock : DEFAULT_SOCKET, by, reason, json,
                      (int)timeout_s);
    }
    if (o.path == NULL)
        o.path = DEFAULT_CONF;
    if (prog_loaded(&prog, &o, dconf_load(o.path, &c, &err), &err) < 0)
        return 1;
    if (!o.check)
        return prog_run(&o, c->drain.log_level, &drainer_ops, c);
    for (int i = 0; i < c->nhaproxies; i++) {
        if (c->haproxies[i].kind == DCONF_TARGET_BGP) {
            nbgp++;
            prefixes += c->haproxies[i].nservers;
        } else {
            servers += c->haproxies[i].nservers;
        }
    }
    if (nbgp > 0)
        snprintf(bgp, sizeof(bgp), ", %d bgp %s with %d %s", nbgp,
                 plural(nbgp, "target", "targets"), prefixes,
                 plural(prefixes, "prefix", "prefixes"));
    if (c->ndns > 0)
        snprintf(dns, sizeof(dns), ", %d dns %s", c->ndns, plural(c->ndns, "target", "targets"));
    printf("ember-drain: %s: configuration OK (%d %s, %d haproxy %s with %d %s%s%s, %d %s%s)\n",
           o.path, c->nsites, plural(c->nsites, "site", "sites"), c->nhaproxies - nbgp,
           plural(c->nhaproxies - nbgp, "instance", "instances"), servers,
           plural(servers, "server", "servers"), bgp, dns, c->nhooks, plural(c->nhooks, "hook", "hooks"),
           c->drain.dry_run ? ", dry run" : "");
    dconf_free(c);
    return 0;
}
