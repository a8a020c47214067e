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
#include "ctlsock.h"
#include "dconf.h"
#include "drainer.h"
#include "log.h"
#include "mqtt.h"

#ifndef EMBER_VERSION
#define EMBER_VERSION "0.1.0"
#endif
#define DEFAULT_CONF "/etc/emberwatch/ember-drain.conf"
#define DEFAULT_SOCKET "/run/ember-drain/ember-drain.sock"
#define EXIT_REJECTED 1
#define EXIT_USAGE 2
#define EXIT_UNREACHABLE 3

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
            "runtime API and exec hooks, and publishes {prefix}/{site}/drain/state (retained).\n"
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

static const char *
str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : "-";
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
    printf("%-16s %-9s %-6s %-25s %s\n", str(s, "site"), str(s, "state"), votes, str(s, "since"),
           str(s, "cause"));
    if (strcmp(str(s, "held_state"), "-") != 0)
        printf("    held; underlying state %s\n", str(s, "held_state"));
    arr = cJSON_GetObjectItemCaseSensitive(s, "targets");
    cJSON_ArrayForEach(x, arr)
    {
        printf("    %-7s %-40s %s\n", str(x, "kind"), str(x, "name"), str(x, "state"));
    }
    arr = cJSON_GetObjectItemCaseSensitive(s, "requests");
    cJSON_ArrayForEach(x, arr)
    {
        const cJSON *seq = cJSON_GetObjectItemCaseSensitive(x, "seq");
        printf("    request %s/%s: %s%s (seq %.0f)\n", str(x, "agent"), str(x, "zone"),
               str(x, "request"),
               cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, "test"))
                   ? " TEST: shown, never acted on"
                   : "",
               cJSON_IsNumber(seq) ? seq->valuedouble : 0);
    }
    arr = cJSON_GetObjectItemCaseSensitive(s, "agents");
    cJSON_ArrayForEach(x, arr)
    {
        printf("    agent %s: %s\n", str(x, "agent"), str(x, "status"));
    }
}

static int
client(int argc, char **argv, int optind_, const char *sock, const char *by, const char *reason,
       bool json, int timeout_s)
{
    const char *cmd = argv[optind_];
    const char *site = optind_ + 1 < argc ? argv[optind_ + 1] : NULL;
    cJSON *ans;
    char *text, *resp, err[512];
    char login[64] = "";
    int rc = 0;

    if (optind_ + 2 < argc) {
        fprintf(stderr, "ember-drain: unexpected argument '%s'\n", argv[optind_ + 2]);
        return EXIT_USAGE;
    }
    if (command_needs_site(cmd) && site == NULL) {
        fprintf(stderr, "ember-drain: %s needs a SITE\n", cmd);
        return EXIT_USAGE;
    }
    if (by == NULL) {
        const char *u = getenv("SUDO_USER");
        struct passwd *pw = getpwuid(getuid());
        snprintf(login, sizeof(login), "%s", u ? u : pw ? pw->pw_name : "unknown");
        by = login;
    }
    text = command_request(cmd, site, by, reason);
    rc = ctlsock_request(sock, "ember-drain", text, timeout_s * 1000, &resp, err, sizeof(err));
    free(text);
    if (rc < 0) {
        fprintf(stderr, "ember-drain: %s\n", err);
        return EXIT_UNREACHABLE;
    }
    ans = cJSON_Parse(resp);
    if (!cJSON_IsObject(ans)) {
        fprintf(stderr, "ember-drain: malformed answer: %s\n", resp);
        rc = EXIT_UNREACHABLE;
    } else if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ans, "ok"))) {
        fprintf(stderr, "ember-drain: %s: %s\n", cmd, str(ans, "error"));
        rc = EXIT_REJECTED;
    } else if (json) {
        puts(resp);
    } else if (strcmp(cmd, "status") == 0) {
        const cJSON *x;
        printf("controller %s, mqtt %s%s%s\n", str(ans, "controller"),
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
        printf("%s %s: now %s\n", cmd, site, str(s, "state"));
    }
    cJSON_Delete(ans);
    free(resp);
    return rc;
}

int
main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},  {"check", no_argument, NULL, 'n'},
        {"debug", no_argument, NULL, 'd'},         {"syslog", no_argument, NULL, 's'},
        {"socket", required_argument, NULL, 'S'},  {"by", required_argument, NULL, 'b'},
        {"reason", required_argument, NULL, 'r'},  {"json", no_argument, NULL, 'j'},
        {"timeout", required_argument, NULL, 't'}, {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},       {NULL, 0, NULL, 0},
    };
    const char *path = NULL, *sock = NULL, *by = NULL, *reason = NULL;
    bool check = false, debug = false, use_syslog = false, json = false;
    long timeout_s = 5;
    struct cfgerr err = {0};
    struct dconf *c = NULL;
    struct drainer *d = NULL;
    int opt, rc;

    while ((opt = getopt_long(argc, argv, "c:ndsS:b:r:jt:hV", opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            path = optarg;
            break;
        case 'n':
            check = true;
            break;
        case 'd':
            debug = true;
            break;
        case 's':
            use_syslog = true;
            break;
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
                return EXIT_USAGE;
            }
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("ember-drain %s\n", EMBER_VERSION);
            return 0;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    log_init("ember-drain", !use_syslog, debug ? LOG_LVL_DEBUG : LOG_LVL_INFO);

    if (optind < argc) {
        if (!command_known(argv[optind])) {
            fprintf(stderr, "ember-drain: unknown command '%s'\n", argv[optind]);
            usage(stderr);
            return EXIT_USAGE;
        }
        if (check) {
            fprintf(stderr, "ember-drain: -n takes no command\n");
            return EXIT_USAGE;
        }
        if (sock == NULL && path != NULL) {
            if (dconf_load(path, &c, &err) < 0) {
                fputs(err.text ? err.text : "ember-drain: cannot load configuration\n", stderr);
                cfgerr_free(&err);
                return EXIT_REJECTED;
            }
            cfgerr_free(&err);
            rc = client(argc, argv, optind, c->drain.control, by, reason, json, (int)timeout_s);
            dconf_free(c);
            return rc;
        }
        return client(argc, argv, optind, sock ? sock : DEFAULT_SOCKET, by, reason, json,
                      (int)timeout_s);
    }
    if (path == NULL)
        path = DEFAULT_CONF;
    rc = dconf_load(path, &c, &err);
    if (rc < 0) {
        fputs(err.text ? err.text : "ember-drain: cannot load configuration\n", stderr);
        if (check)
            fprintf(stderr, "ember-drain: %s: %d error%s\n", path, err.count,
                    err.count == 1 ? "" : "s");
        cfgerr_free(&err);
        return 1;
    }
    cfgerr_free(&err);
    if (check) {
        int servers = 0;
        for (int i = 0; i < c->nhaproxies; i++)
            servers += c->haproxies[i].nservers;
        printf("ember-drain: %s: configuration OK (%d sites, %d haproxy instances with %d "
               "servers, %d hooks%s)\n",
               path, c->nsites, c->nhaproxies, servers, c->nhooks,
               c->drain.dry_run ? ", dry run" : "");
        dconf_free(c);
        return 0;
    }
    if (!debug)
        log_set_level((enum log_level)c->drain.log_level);
    if (mqtt_lib_init() < 0)
        fatalx("cannot initialise libmosquitto");
    rc = drainer_init(&d, c);
    if (rc < 0) {
        mqtt_lib_fini();
        return 1;
    }
    drainer_signals(d);
    drainer_run(d);
    drainer_fini(d);
    mqtt_lib_fini();
    log_fini();
    return 0;
}
