/*
 * emberctl - operate a running emberd over its control socket.
 *
 * Links only libember: the request goes through ctlclient_call(), and -c
 * reads one key of emberd's configuration with cfgfile_read_key().  Exit
 * codes are the man page's: 0 done, 1 rejected, 2 usage, 3 unreachable.
 */
#include <cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cfgfile.h"
#include "ctlclient.h"
#include "prog.h"
#include "util.h"
#include "version.h"

#define DEFAULT_SOCKET "/run/emberwatch/emberd.sock"

static void
usage(FILE *fp)
{
    fprintf(fp,
            "Usage: emberctl [OPTIONS] COMMAND [ARGS]\n"
            "Operate a running emberd over its control socket.\n"
            "\n"
            "Commands:\n"
            "  status                   agent, MQTT link and drops, journal, buses, sensors,\n"
            "                           alarm outputs and zones\n"
            "  alarms                   every alarm with its ISA-18.2 state\n"
            "  ack ALARM                acknowledge an alarm\n"
            "  shelve ALARM DURATION    suppress an alarm for DURATION (30m, 8h; at most 7d)\n"
            "  unshelve ALARM           end a shelve early\n"
            "  test ZONE [DURATION]     show a test activation of the zone's critical alarms\n"
            "                           and a test drain request, end to end (default 30s);\n"
            "                           a test never drains anything\n"
            "  reload                   re-read the configuration, keeping alarm states\n"
            "  events                   the history: alarm events and drain requests the\n"
            "                           broker has acknowledged, oldest first, in local time\n"
            "      --since DURATION     only those of the last DURATION (1h, 7d)\n"
            "      --alarm ALARM        only that alarm's events\n"
            "      --limit N            the newest N at most (default 100, at most 10000)\n"
            "      --utc                times in UTC instead of local time\n"
            "\n"
            "Options:\n"
            "  -s, --socket PATH        control socket (default " DEFAULT_SOCKET ")\n"
            "  -c, --config FILE        take the socket from this emberd.conf ([agent] control)\n"
            "  -j, --json               print emberd's JSON answer instead of tables\n"
            "  -b, --by NAME            operator name recorded in emberd's log\n"
            "  -t, --timeout SECONDS    how long to wait for emberd (default 5)\n"
            "  -h, --help               show this help\n"
            "  -V, --version            show the version and exit\n"
            "\n"
            "Exit status: 0 done, 1 emberd rejected the command, 2 bad usage,\n"
            "3 emberd could not be reached.\n");
}

/* The socket named by [agent] control in emberd's configuration.  Only that
 * key is read (through the same directive type as emberd's own parse), so
 * emberctl needs neither the rest of emberd's configuration nor the files
 * it names (the MQTT password file is not emberctl's to open).  Returns 0
 * with *sock malloc'd, or the exit status after printing why.
 *
 * For reload, errors in the file are the answer, not bad usage: when the
 * file still names the socket, emberd is asked and refuses with its first
 * error; when it does not, emberctl prints the file's first error.  Either
 * way the exit status is PROG_EXIT_REJECTED, as emberctl(1) promises. */
static int
socket_from_config(const char *file, bool reload, char **sock)
{
    static const struct cfg_directive control = CFG_ROW("control", CFG_PATH, 0);
    struct cfgerr err = {0};
    char *path = NULL;
    char first[CFG_FIRST_MAX];
    int rc;

    rc = cfgfile_read_key(file, "agent", &control, &path, &err);
    if (rc == -EINVAL && reload) {
        if (path == NULL) {
            cfgerr_first(&err, first, sizeof(first));
            fprintf(stderr, "emberctl: reload: configuration has %d error%s; first: %s\n",
                    err.count, err.count == 1 ? "" : "s", first);
        }
        cfgerr_free(&err);
        *sock = path;
        return path != NULL ? 0 : PROG_EXIT_REJECTED;
    }
    if (rc < 0) {
        fputs(err.text ? err.text : "emberctl: cannot read the configuration\n", stderr);
        cfgerr_free(&err);
        free(path);
        return PROG_EXIT_USAGE;
    }
    cfgerr_free(&err);
    *sock = rc == 1 ? path : xstrdup(DEFAULT_SOCKET);
    return 0;
}

static void
num(const cJSON *o, const char *key, char *buf, size_t len)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (cJSON_IsNumber(v))
        snprintf(buf, len, "%g", v->valuedouble);
    else
        snprintf(buf, len, "-");
}

static const char *
yesno(const cJSON *o, const char *key)
{
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, key)) ? "yes" : "no";
}

static void
print_status(const cJSON *o)
{
    const cJSON *x;
    char a[32], b[32], c[72], d[32], e[32];

    num(o, "uptime_s", a, sizeof(a));
    num(o, "mqtt_dropped", b, sizeof(b));
    printf("agent %s/%s   mqtt %s (telemetry dropped while away: %s)   up %ss\n", ctlclient_str(o, "site"),
           ctlclient_str(o, "agent"), ctlclient_str(o, "mqtt"), b, a);
    num(o, "journal_pending", a, sizeof(a));
    num(o, "journal_dropped", b, sizeof(b));
    num(o, "journal_unstored", c, sizeof(c));
    num(o, "journal_volatile", d, sizeof(d));
    printf("journal %s   pending %s   dropped %s   not written %s   in memory only %s\n",
           ctlclient_str(o, "journal"), a, b, c, d);
    cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(o, "self_alarms"))
    {
        if (cJSON_IsString(x))
            printf("ALARM %s: active (see emberctl alarms)\n", x->valuestring);
    }
    printf("\n");
    printf("%-16s %8s %8s %6s %8s %6s\n", "BUS", "POLLS", "FAILED", "LATE", "ALERT", "UTIL");
    cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(o, "buses"))
    {
        const cJSON *u = cJSON_GetObjectItemCaseSensitive(x, "utilisation");
        num(x, "polls", a, sizeof(a));
        num(x, "failures", b, sizeof(b));
        num(x, "late", c, sizeof(c));
        num(x, "alert_polls", d, sizeof(d));
        snprintf(e, sizeof(e), "%.1f%%", cJSON_IsNumber(u) ? 100 * u->valuedouble : 0.0);
        printf("%-16s %8s %8s %6s %8s %6s\n", ctlclient_str(x, "name"), a, b, c, d, e);
    }
    printf("\n%-24s %10s %-7s %-10s %s\n", "SENSOR", "VALUE", "UNIT", "QUALITY", "TIME");
    cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(o, "sensors"))
    {
        num(x, "value", a, sizeof(a));
        printf("%-24s %10s %-7s %-10s %s\n", ctlclient_str(x, "name"), a, ctlclient_str(x, "unit"), ctlclient_str(x, "quality"),
               ctlclient_str(x, "ts"));
    }
    x = cJSON_GetObjectItemCaseSensitive(o, "outputs");
    if (cJSON_GetArraySize(x) > 0) {
        printf("\n%-16s %s\n", "OUTPUT", "STATE");
        cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(o, "outputs"))
        {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(x, "value");
            printf("%-16s %s\n", ctlclient_str(x, "name"),
                   cJSON_IsNumber(v) ? (v->valuedouble != 0 ? "on" : "off") : "-");
        }
    }
    x = cJSON_GetObjectItemCaseSensitive(o, "zones");
    if (cJSON_GetArraySize(x) > 0) {
        printf("\n%-16s %-8s %6s %5s\n", "ZONE", "REQUEST", "VOTES", "TEST");
        cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(o, "zones"))
        {
            num(x, "votes", a, sizeof(a));
            num(x, "vote", b, sizeof(b));
            snprintf(c, sizeof(c), "%s/%s", a, b);
            printf("%-16s %-8s %6s %5s\n", ctlclient_str(x, "name"), ctlclient_str(x, "request"), c, yesno(x, "test"));
        }
    }
    x = cJSON_GetObjectItemCaseSensitive(o, "notifiers");
    if (cJSON_GetArraySize(x) > 0) {
        printf("\n%-16s %8s %8s %8s %8s %8s %8s\n", "NOTIFIER", "RUNS", "OK", "FAILED", "DROPPED",
               "PENDING", "RUNNING");
        cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(o, "notifiers"))
        {
            num(x, "runs", a, sizeof(a));
            num(x, "ok", b, sizeof(b));
            num(x, "failed", c, sizeof(c));
            num(x, "dropped", d, sizeof(d));
            num(x, "pending", e, sizeof(e));
            printf("%-16s %8s %8s %8s %8s %8s %8s\n", ctlclient_str(x, "name"), a, b, c, d, e,
                   yesno(x, "running"));
        }
    }
}

/* "2026-11-25T06:37:36.123Z" in local time (or UTC): "2026-11-25 15:37:36.123". */
static void
when(const char *rfc3339, bool utc, char *buf, size_t len)
{
    struct tm tm = {0};
    int ms = 0;
    time_t t;

    if (sscanf(rfc3339, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7) {
        snprintf(buf, len, "%s", rfc3339);
        return;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    t = timegm(&tm);
    if (utc)
        gmtime_r(&t, &tm);
    else
        localtime_r(&t, &tm);
    snprintf(buf, len, "%04d-%02d-%02d %02d:%02d:%02d.%03d", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

static void
print_events(const cJSON *o, bool utc)
{
    const cJSON *x;
    char t[40], v[32], seq[32], what[80];

    printf("%-23s %8s %-24s %-14s %10s %-12s %s\n", utc ? "TIME (UTC)" : "TIME", "SEQ", "ALARM/ZONE",
           "EVENT", "VALUE", "BY", "MESSAGE");
    cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(o, "events"))
    {
        const char *alarm = ctlclient_str(x, "alarm"), *zone = ctlclient_str(x, "zone");
        bool drain = cJSON_GetObjectItemCaseSensitive(x, "request") != NULL;
        when(ctlclient_str(x, "ts"), utc, t, sizeof(t));
        num(x, "seq", seq, sizeof(seq));
        num(x, drain ? "votes" : "value", v, sizeof(v));
        if (drain)
            snprintf(what, sizeof(what), "zone %s", zone);
        else
            snprintf(what, sizeof(what), "%s", alarm);
        printf("%-23s %8s %-24s %-14s %10s %-12s %s\n", t, seq, what,
               drain ? ctlclient_str(x, "request") : ctlclient_str(x, "transition"), v,
               ctlclient_str(x, "by")[0] ? ctlclient_str(x, "by") : "-",
               drain ? ctlclient_str(x, "reason") : ctlclient_str(x, "message"));
    }
}

static void
print_alarms(const cJSON *o)
{
    const cJSON *x;
    char v[32], sp[32];

    printf("%-22s %-8s %-4s %-7s %-8s %-4s %10s %10s  %-24s %s\n", "ALARM", "STATE", "ACK",
           "SHELVED", "SEVERITY", "TEST", "VALUE", "SETPOINT", "SINCE", "SENSOR");
    cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(o, "alarms"))
    {
        num(x, "value", v, sizeof(v));
        num(x, "setpoint", sp, sizeof(sp));
        printf("%-22s %-8s %-4s %-7s %-8s %-4s %10s %10s  %-24s %s\n", ctlclient_str(x, "alarm"),
               ctlclient_str(x, "state"), yesno(x, "acked"), yesno(x, "shelved"), ctlclient_str(x, "severity"),
               yesno(x, "test"), v, sp, ctlclient_str(x, "since"), ctlclient_str(x, "sensor"));
    }
}

int
main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"socket", required_argument, NULL, 's'},  {"config", required_argument, NULL, 'c'},
        {"json", no_argument, NULL, 'j'},          {"by", required_argument, NULL, 'b'},
        {"timeout", required_argument, NULL, 't'}, {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},       {"since", required_argument, NULL, 'S'},
        {"alarm", required_argument, NULL, 'A'},   {"limit", required_argument, NULL, 'L'},
        {"utc", no_argument, NULL, 'U'},           {NULL, 0, NULL, 0},
    };
    const char *since = NULL, *alarm = NULL;
    long limit = 0;
    bool utc = false, ev_opts = false;
    const char *sock = NULL, *config = NULL, *by = NULL, *cmd;
    bool json = false;
    double timeout = 5;
    char *sock_owned = NULL, *reqs, *resp;
    cJSON *req, *o;
    int opt, rc;

    /* emberd may close the socket under us, and stdout may be a pipe that
     * closes early: either is an error return, never death by SIGPIPE. */
    signal(SIGPIPE, SIG_IGN);

    while ((opt = getopt_long(argc, argv, "s:c:jb:t:hV", opts, NULL)) != -1) {
        switch (opt) {
        case 's':
            sock = optarg;
            break;
        case 'c':
            config = optarg;
            break;
        case 'j':
            json = true;
            break;
        case 'b':
            by = optarg;
            break;
        case 't':
            if (parse_double(optarg, &timeout) < 0 || timeout <= 0 || timeout > 3600) {
                fprintf(stderr, "emberctl: bad timeout '%s'\n", optarg);
                return PROG_EXIT_USAGE;
            }
            break;
        case 'S':
            since = optarg;
            ev_opts = true;
            break;
        case 'A':
            alarm = optarg;
            ev_opts = true;
            break;
        case 'L':
            if (parse_long(optarg, 1, 10000, &limit) < 0) {
                fprintf(stderr, "emberctl: bad limit '%s' (1 to 10000)\n", optarg);
                return PROG_EXIT_USAGE;
            }
            ev_opts = true;
            break;
        case 'U':
            utc = true;
            ev_opts = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("emberctl %s\n", EMBER_VERSION);
            return 0;
        default:
            usage(stderr);
            return PROG_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return PROG_EXIT_USAGE;
    }
    cmd = argv[optind++];
    if (ev_opts && strcmp(cmd, "events") != 0) {
        fprintf(stderr, "emberctl: --since, --alarm, --limit and --utc go with events only\n");
        return PROG_EXIT_USAGE;
    }
    req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "cmd", cmd);
    if (by != NULL)
        cJSON_AddStringToObject(req, "by", by);
    if (strcmp(cmd, "ack") == 0 || strcmp(cmd, "unshelve") == 0) {
        if (argc - optind != 1)
            goto bad_args;
        cJSON_AddStringToObject(req, "alarm", argv[optind]);
    } else if (strcmp(cmd, "shelve") == 0) {
        if (argc - optind != 2)
            goto bad_args;
        cJSON_AddStringToObject(req, "alarm", argv[optind]);
        cJSON_AddStringToObject(req, "duration", argv[optind + 1]);
    } else if (strcmp(cmd, "test") == 0) {
        if (argc - optind < 1 || argc - optind > 2)
            goto bad_args;
        cJSON_AddStringToObject(req, "zone", argv[optind]);
        if (argc - optind == 2)
            cJSON_AddStringToObject(req, "duration", argv[optind + 1]);
    } else if (strcmp(cmd, "events") == 0) {
        if (argc - optind != 0)
            goto bad_args;
        if (since != NULL)
            cJSON_AddStringToObject(req, "since", since);
        if (alarm != NULL)
            cJSON_AddStringToObject(req, "alarm", alarm);
        if (limit > 0)
            cJSON_AddNumberToObject(req, "limit", (double)limit);
    } else if (strcmp(cmd, "status") == 0 || strcmp(cmd, "alarms") == 0 ||
               strcmp(cmd, "reload") == 0) {
        if (argc - optind != 0)
            goto bad_args;
    } else {
        fprintf(stderr, "emberctl: unknown command '%s' (see emberctl --help)\n", cmd);
        cJSON_Delete(req);
        return PROG_EXIT_USAGE;
    }

    if (sock == NULL && config != NULL) {
        if ((rc = socket_from_config(config, strcmp(cmd, "reload") == 0, &sock_owned)) != 0) {
            cJSON_Delete(req);
            return rc;
        }
        sock = sock_owned;
    }
    if (sock == NULL)
        sock = DEFAULT_SOCKET;

    reqs = cJSON_PrintUnformatted(req);
    cJSON_Delete(req);
    rc = ctlclient_call("emberctl", "emberd", sock, reqs, (int)lround(timeout * 1000), &o, &resp);
    free(reqs);
    free(sock_owned);
    if (rc != 0)
        return rc;
    rc = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "ok")) ? 0 : PROG_EXIT_REJECTED;
    if (json) {
        puts(resp);
    } else if (rc != 0) {
        fprintf(stderr, "emberctl: %s: %s\n", cmd, ctlclient_str(o, "error"));
    } else if (strcmp(cmd, "status") == 0) {
        print_status(o);
    } else if (strcmp(cmd, "alarms") == 0) {
        print_alarms(o);
    } else if (strcmp(cmd, "events") == 0) {
        print_events(o, utc);
    } else {
        printf("%s: done\n", cmd);
    }
    cJSON_Delete(o);
    free(resp);
    return rc;

bad_args:
    fprintf(stderr, "emberctl: wrong arguments for '%s' (see emberctl --help)\n", cmd);
    cJSON_Delete(req);
    return PROG_EXIT_USAGE;
}
