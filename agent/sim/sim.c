/*
 * sim.c - ember-sim: serves device profiles over Modbus TCP and RTU and plays
 * scenarios (timelines and faults) on them.  See ember-sim(1).
 *
 * main() parses the command line, loads the scenario, opens the control FIFO
 * and the listeners, then runs the one poll loop: ppoll() with SIGTERM and
 * SIGINT unblocked only while waiting, so a signal can never slip in between
 * checking the stop flag and going to sleep.
 *
 * With --gpio, ember-sim also drives emberd's simulated GPIO inputs: the
 * scenario's [gpio] levels (on timers of the same loop) and the control
 * command "gpio NAME 0|1" are written as "NAME VALUE" lines to the FIFO that
 * emberd's simulated backend creates.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "profile.h"
#include "scenario.h"
#include "simserver.h"
#include "util.h"
#include "version.h"

#ifndef EMBER_DATADIR
#define EMBER_DATADIR "/usr/local/share/emberwatch"
#endif

#define CTL_BUF 4096
/* While emberd's GPIO FIFO cannot be reached, try again this often. */
#define GPIO_RETRY_MS 1000

enum { OPT_SLAVE = 256, OPT_TCP, OPT_RTU, OPT_BAUD, OPT_PARITY };


struct options {
    const char *scenario;
    const char *profile;
    long slave;
    const char *tcp;
    const char *rtu;
    long baud;
    char parity;
    const char *listen[32];
    int nlisten;
    const char *profile_dir;
    const char *control;
    const char *gpio;
    enum log_level level;
};

/* Control FIFO state. */
struct control {
    const char *path;
    int fd;
    bool created; /* remove it on exit only if we made it */
    char buf[CTL_BUF];
    size_t len;
    bool discarding; /* inside an over-long line */
};

/* emberd's simulated-GPIO FIFO, which emberd creates and reads; we only
 * write to it.  emberd may start after us or restart: every write that finds
 * it gone is retried once on a fresh open, and a fresh open first sends the
 * current level of every [gpio] section so emberd catches up. */
struct gpioout {
    const char *path; /* NULL without --gpio */
    int fd;
    bool warned;      /* said that the FIFO cannot be reached; say when it can */
    int *level;       /* per [gpio]: the timeline level last delivered, -1 none */
    int64_t next_ms;  /* scenario ms of the next [gpio] step, -1 none */
    int64_t retry_ms; /* CLOCK_MONOTONIC ms of the next attempt, -1 none */
};

static void
usage(FILE *fp)
{
    fprintf(fp,
            "usage: ember-sim [OPTIONS] [-s SCENARIO]\n"
            "       ember-sim [OPTIONS] -p PROFILE [--slave N] [--tcp HOST:PORT | --rtu DEVICE]\n"
            "\n"
            "Serves device register maps (profiles) over Modbus TCP and RTU and plays a\n"
            "scenario on them: value timelines (steps, ramps, thermal runaway, noise) and\n"
            "faults (dropout, slow, exception, garbage).\n"
            "\n"
            "  -s, --scenario FILE      scenario file (devices, signals, faults)\n"
            "  -p, --profile NAME       quick mode without a scenario: serve one device of\n"
            "                           this profile (NAME, or a path to a .ini file)\n"
            "      --slave N            slave/unit id for quick mode (default 1)\n"
            "      --tcp HOST:PORT      quick mode: listen on Modbus TCP (default 127.0.0.1:1502)\n"
            "      --rtu DEVICE         quick mode: serve RTU on a serial device or pty (e.g. one\n"
            "                           end of a socat pair)\n"
            "      --baud N             serial speed for --rtu and rtu listeners (default 9600)\n"
            "      --parity none|even|odd  serial parity (default none); 8 data, 1 stop bit\n"
            "  -l, --listen NAME=ADDR   override a scenario listener's address:\n"
            "                           tcp:HOST:PORT or rtu:DEVICE (repeatable)\n"
            "  -P, --profile-dir DIR    where profiles NAME.ini live (default: the scenario's\n"
            "                           profile_dir, else $EMBER_PROFILE_DIR, else the\n"
            "                           checkout's agent/profiles when run from one, else\n"
            "                           " EMBER_DATADIR "/profiles)\n"
            "  -c, --control FIFO       create a control FIFO accepting line commands:\n"
            "                             set DEVICE.POINT VALUE | release DEVICE.POINT\n"
            "                             fault DEVICE none|dropout|slow "
            "MS|exception|garbage|scenario\n"
            "                             gpio NAME 0|1 (written to the --gpio FIFO)\n"
            "  -g, --gpio FIFO          drive emberd's simulated GPIO inputs: play the\n"
            "                           scenario's [gpio NAME] levels and 'gpio' commands\n"
            "                           as 'NAME VALUE' lines into this FIFO, which emberd\n"
            "                           creates (retried until emberd is there)\n"
            "  -v, --verbose            log every request\n"
            "  -q, --quiet              log warnings and errors only\n"
            "  -h, --help               show this help\n"
            "  -V, --version            show the version and exit\n"
            "\n"
            "HOST is a dotted IPv4 address.  A line containing 'ready' goes to stderr once\n"
            "every listener is open.  Exit status: 0 on SIGTERM/SIGINT, 1 on configuration or\n"
            "start-up errors, 2 on command-line errors.  See ember-sim(1).\n");
}

static void
usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "ember-sim: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n\n");
    usage(stderr);
    exit(2);
}

static void
parse_args(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        {"scenario", required_argument, NULL, 's'},
        {"profile", required_argument, NULL, 'p'},
        {"slave", required_argument, NULL, OPT_SLAVE},
        {"tcp", required_argument, NULL, OPT_TCP},
        {"rtu", required_argument, NULL, OPT_RTU},
        {"baud", required_argument, NULL, OPT_BAUD},
        {"parity", required_argument, NULL, OPT_PARITY},
        {"listen", required_argument, NULL, 'l'},
        {"profile-dir", required_argument, NULL, 'P'},
        {"control", required_argument, NULL, 'c'},
        {"gpio", required_argument, NULL, 'g'},
        {"verbose", no_argument, NULL, 'v'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    bool slave_set = false;
    int c;

    o->slave = 1;
    o->level = LOG_LVL_INFO;
    while ((c = getopt_long(argc, argv, "s:p:l:P:c:g:vqhV", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            o->scenario = optarg;
            break;
        case 'p':
            o->profile = optarg;
            break;
        case OPT_SLAVE:
            if (parse_long(optarg, 0, 255, &o->slave) < 0)
                usage_error("--slave: '%s' is not a unit id 0..255", optarg);
            slave_set = true;
            break;
        case OPT_TCP:
            o->tcp = optarg;
            break;
        case OPT_RTU:
            o->rtu = optarg;
            break;
        case OPT_BAUD:
            if (parse_long(optarg, 1, 4000000, &o->baud) < 0 || !scenario_baud_valid(o->baud))
                usage_error("--baud: '%s' is not a standard rate (1200 ... 921600)", optarg);
            break;
        case OPT_PARITY:
            if ((o->parity = scenario_parse_parity(optarg)) == 0)
                usage_error("--parity: '%s' is not none, even or odd", optarg);
            break;
        case 'l':
            if (strchr(optarg, '=') == NULL)
                usage_error("--listen: '%s' is not NAME=tcp:HOST:PORT or NAME=rtu:DEVICE", optarg);
            if (o->nlisten == (int)ARRAY_LEN(o->listen))
                usage_error("--listen: too many (%s)", optarg);
            o->listen[o->nlisten++] = optarg;
            break;
        case 'P':
            o->profile_dir = optarg;
            break;
        case 'c':
            o->control = optarg;
            break;
        case 'g':
            o->gpio = optarg;
            break;
        case 'v':
            o->level = LOG_LVL_DEBUG;
            break;
        case 'q':
            o->level = LOG_LVL_WARN;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        case 'V':
            printf("ember-sim " EMBER_VERSION "\n");
            exit(0);
        default:
            fprintf(stderr, "\n");
            usage(stderr);
            exit(2);
        }
    }
    if (optind < argc)
        usage_error("unexpected argument '%s'", argv[optind]);
    if ((o->scenario == NULL) == (o->profile == NULL))
        usage_error("%s", "give either -s SCENARIO or -p PROFILE");
    if (o->scenario != NULL && (o->tcp || o->rtu || slave_set))
        usage_error("%s", "--slave, --tcp and --rtu are for quick mode (-p); use -l with -s");
    if (o->profile != NULL && o->nlisten > 0)
        usage_error("%s", "-l overrides scenario listeners; in quick mode use --tcp or --rtu");
    if (o->tcp && o->rtu)
        usage_error("%s", "give one of --tcp and --rtu");
    if (o->rtu && (o->slave < 1 || o->slave > 247))
        usage_error("%s", "--slave: RTU slave ids are 1..247");
}

static void
print_errors(const struct cfgerr *err)
{
    const char *p = err->text;

    while (p != NULL && *p != '\0') {
        const char *nl = strchr(p, '\n');
        int n = nl ? (int)(nl - p) : (int)strlen(p);
        log_errx("%.*s", n, p);
        p = nl ? nl + 1 : p + n;
    }
}

static struct scenario *
load(const struct options *o)
{
    char fallback[PATH_MAX];
    const char *why = profile_default_dir(fallback, sizeof(fallback));
    struct cfgerr err = {0};
    struct scenario *sc = NULL;
    char addr[600];
    int rc;

    if (o->scenario != NULL) {
        rc = scenario_load(o->scenario, o->profile_dir, fallback, &sc, &err);
    } else {
        if (o->rtu)
            snprintf(addr, sizeof(addr), "rtu:%s", o->rtu);
        else
            snprintf(addr, sizeof(addr), "tcp:%s", o->tcp ? o->tcp : "127.0.0.1:1502");
        rc = scenario_quick(o->profile_dir ? o->profile_dir : fallback, o->profile, (int)o->slave,
                            addr, &sc, &err);
    }
    if (rc < 0) {
        print_errors(&err);
        /* An error about the default directory: say why it was that one. */
        if (o->profile_dir == NULL && err.text != NULL && strstr(err.text, fallback) != NULL)
            log_errx("profiles are looked up in %s (%s); -P DIR or EMBER_PROFILE_DIR names "
                     "another directory",
                     fallback, why);
        cfgerr_free(&err);
        exit(1);
    }
    for (int i = 0; i < o->nlisten; i++) {
        char name[NAME_MAX_LEN + 1];
        const char *eq = strchr(o->listen[i], '=');
        size_t n = (size_t)(eq - o->listen[i]);

        if (n == 0 || n > NAME_MAX_LEN) {
            log_errx("--listen %s: bad listener name", o->listen[i]);
            scenario_free(sc);
            exit(2);
        }
        memcpy(name, o->listen[i], n);
        name[n] = '\0';
        rc = scenario_set_listen(sc, name, eq + 1);
        if (rc == -ENOENT) {
            log_errx("--listen %s: %s has no [listen %s]", o->listen[i], o->scenario, name);
            scenario_free(sc);
            exit(1);
        }
        if (rc < 0) {
            log_errx("--listen %s: '%s' is not tcp:HOST:PORT or rtu:DEVICE", o->listen[i], eq + 1);
            scenario_free(sc);
            exit(2);
        }
    }
    scenario_set_serial(sc, (int)o->baud, o->parity);
    if (scenario_check(sc, &err) < 0) {
        print_errors(&err);
        cfgerr_free(&err);
        scenario_free(sc);
        exit(1);
    }
    cfgerr_free(&err);
    return sc;
}

/* ---- emberd's GPIO FIFO ---- */

static void
log_sent(const char *what, int64_t now, int64_t t_ms)
{
    char ts[32];

    /* Wall-clock ms, so benchmarks can match a change to what emberd saw. */
    fmt_rfc3339_ms(now, ts, sizeof(ts));
    log_info("%s at %s (real_ms=%lld, t=%.3f s)", what, ts, (long long)now, (double)t_ms / 1000.0);
}

/* Opens the FIFO for writing unless it is open.  Returns 1 when it was just
 * opened, 0 when it already was, or -errno (emberd not there yet: ENOENT,
 * or ENXIO for a FIFO nobody reads). */
static int
gpioout_open(struct gpioout *go)
{
    struct stat st;
    int fd, e;

    if (go->fd >= 0)
        return 0;
    /* Never open anything but a FIFO: a regular file or device would take
     * our writes. */
    if (stat(go->path, &st) == 0 && !S_ISFIFO(st.st_mode)) {
        e = EEXIST;
    } else if ((fd = open(go->path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)) < 0) {
        e = errno;
    } else if (fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode)) {
        close(fd);
        e = EEXIST;
    } else {
        if (go->warned)
            log_info("gpio: %s is open: emberd is there", go->path);
        go->warned = false;
        go->fd = fd;
        return 1;
    }
    if (!go->warned)
        log_warnx("gpio: cannot open %s: %s; is emberd running with simulated GPIO? (retrying)",
                  go->path, e == EEXIST ? "exists and is not a FIFO" : strerror(e));
    go->warned = true;
    return -e;
}

/* Writes "NAME VALUE\n".  A reader that went away (EPIPE) closes our end, so
 * the next attempt reopens; a full FIFO (EAGAIN: emberd not reading) drops
 * the line.  Returns 0 or -errno. */
static int
gpioout_put(struct gpioout *go, const char *name, int value)
{
    char line[NAME_MAX_LEN + 8];
    int n = snprintf(line, sizeof(line), "%s %d\n", name, value);
    ssize_t w = write(go->fd, line, (size_t)n);
    int e;

    if (w == n)
        return 0;
    /* Lines are shorter than PIPE_BUF, so a write is all or nothing. */
    e = w < 0 ? errno : EIO;
    if (e == EPIPE) {
        close(go->fd);
        go->fd = -1;
    } else {
        log_warnx("gpio: %s: dropped '%s %d': %s", go->path, name, value,
                  e == EAGAIN ? "FIFO full, emberd is not reading" : strerror(e));
    }
    return -e;
}

/* Delivers every [gpio] level at t_ms that emberd has not had yet. */
static int
gpioout_sync(struct gpioout *go, const struct scenario *sc, int64_t t_ms)
{
    char what[NAME_MAX_LEN + 32];

    for (size_t i = 0; i < sc->ngpios; i++) {
        int v = scenario_gpio_value(sc, i, t_ms);
        int64_t now = real_ms();
        int rc;

        if (v == go->level[i])
            continue;
        if ((rc = gpioout_put(go, sc->gpios[i].name, v)) < 0)
            return rc;
        go->level[i] = v;
        snprintf(what, sizeof(what), "gpio: %s %d (scenario)", sc->gpios[i].name, v);
        log_sent(what, now, t_ms);
    }
    return 0;
}

/* Makes sure the FIFO is open; a fresh open re-sends every [gpio] level.
 * Returns 0 or -errno. */
static int
gpioout_ready(struct gpioout *go, const struct scenario *sc, int64_t t_ms)
{
    int rc;

    /* Twice: a write that finds the reader gone (emberd restarted and made a
     * new FIFO) is retried once on a fresh open. */
    for (int tries = 0; tries < 2; tries++) {
        if ((rc = gpioout_open(go)) < 0)
            return rc;
        if (rc == 1)
            for (size_t i = 0; i < sc->ngpios; i++)
                go->level[i] = -1;
        if ((rc = gpioout_sync(go, sc, t_ms)) == 0 || go->fd >= 0)
            return rc;
    }
    return rc;
}

/* Plays the [gpio] timelines at scenario time t_ms and schedules the next
 * step, or a retry while emberd cannot be reached. */
static void
gpioout_play(struct gpioout *go, const struct scenario *sc, int64_t t_ms)
{
    go->retry_ms = -1;
    if (sc->ngpios > 0 && gpioout_ready(go, sc, t_ms) < 0)
        go->retry_ms = mono_ms() + GPIO_RETRY_MS;
    go->next_ms = scenario_gpio_next(sc, t_ms);
}

/* The control command "gpio NAME VALUE": forwarded as it is.  A [gpio]
 * section of that name keeps its timeline: its next step overrides this. */
static void
gpioout_command(struct gpioout *go, const struct scenario *sc, int64_t t_ms, const char *name,
                int value)
{
    char what[NAME_MAX_LEN + 32];
    int rc = -EPIPE;

    for (int tries = 0; tries < 2 && rc == -EPIPE; tries++) {
        int64_t now;
        /* The timeline levels first, so that this line comes last and wins. */
        if ((rc = gpioout_ready(go, sc, t_ms)) < 0)
            continue;
        now = real_ms();
        if ((rc = gpioout_put(go, name, value)) == 0) {
            snprintf(what, sizeof(what), "control: gpio %s %d", name, value);
            log_sent(what, now, t_ms);
            return;
        }
    }
    if (rc != -EAGAIN) /* a full FIFO was reported already */
        log_warnx("control: 'gpio %s %d' not delivered to %s: %s", name, value, go->path,
                  rc == -EEXIST ? "not a FIFO" : strerror(-rc));
}

/* emberd closed the FIFO (it stopped or restarted): reconnect soon, and
 * re-send every [gpio] level once it is back. */
static void
gpioout_lost(struct gpioout *go, int64_t now_ms)
{
    close(go->fd);
    go->fd = -1;
    log_info("gpio: emberd closed %s; waiting for it to come back", go->path);
    go->warned = true; /* said already */
    go->retry_ms = now_ms + GPIO_RETRY_MS;
}

/* Milliseconds until the next [gpio] step or retry, -1 for none. */
static int64_t
gpioout_timeout(const struct gpioout *go, int64_t start_ms, int64_t now_ms)
{
    int64_t due = -1;

    if (go->path == NULL)
        return -1;
    if (go->next_ms >= 0)
        due = start_ms + go->next_ms;
    if (go->retry_ms >= 0 && (due < 0 || go->retry_ms < due))
        due = go->retry_ms;
    if (due < 0)
        return -1;
    return due > now_ms ? due - now_ms : 0;
}

static void
gpioout_timers(struct gpioout *go, const struct scenario *sc, int64_t start_ms, int64_t now_ms)
{
    if (go->path == NULL)
        return;
    if ((go->next_ms >= 0 && now_ms >= start_ms + go->next_ms) ||
        (go->retry_ms >= 0 && now_ms >= go->retry_ms))
        gpioout_play(go, sc, now_ms - start_ms);
}

static void
gpioout_close(struct gpioout *go)
{
    if (go->fd >= 0)
        close(go->fd);
    go->fd = -1;
    free(go->level);
    go->level = NULL;
}

/* ---- control FIFO ---- */

static int
control_open(struct control *ctl, const char *path)
{
    struct stat st;

    ctl->path = path;
    ctl->fd = -1;
    if (mkfifo(path, 0600) == 0) {
        ctl->created = true;
    } else if (errno != EEXIST) {
        return -errno;
    } else if (stat(path, &st) < 0) {
        return -errno;
    } else if (!S_ISFIFO(st.st_mode)) {
        return -EEXIST;
    }
    /* Read-write so that we are a writer ourselves: when the last external
     * writer closes, read() returns EAGAIN instead of an endless EOF. */
    ctl->fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (ctl->fd < 0) {
        int e = errno;
        if (ctl->created)
            unlink(path);
        ctl->created = false;
        return -e;
    }
    return 0;
}

static void
control_close(struct control *ctl)
{
    if (ctl->fd >= 0)
        close(ctl->fd);
    if (ctl->created)
        unlink(ctl->path);
    ctl->fd = -1;
    ctl->created = false;
}

static void
control_line(struct scenario *sc, struct gpioout *go, int64_t t_ms, const char *line)
{
    char msg[300];
    char ts[32];
    char name[NAME_MAX_LEN + 1];
    int64_t now = real_ms();
    double t = (double)t_ms / 1000.0;
    int value, rc;

    rc = scenario_gpio_command(line, name, sizeof(name), &value, msg, sizeof(msg));
    if (rc == 0 && go->path == NULL) {
        log_warnx("control: ignored '%s': no --gpio FIFO to send it to", line);
        return;
    }
    if (rc == 0) {
        gpioout_command(go, sc, t_ms, name, value);
        return;
    }
    if (rc == -ENOENT)
        rc = scenario_command(sc, line, msg, sizeof(msg));
    if (rc == -ENODATA)
        return;
    if (rc < 0) {
        log_warnx("control: ignored '%s': %s", line, msg);
        return;
    }
    /* Wall-clock ms, so benchmarks can match a change to what a reader saw. */
    fmt_rfc3339_ms(now, ts, sizeof(ts));
    log_info("control: %s at %s (real_ms=%lld, t=%.3f s)", msg, ts, (long long)now, t);
}

static void
control_read(struct control *ctl, struct scenario *sc, struct gpioout *go, int64_t t_ms)
{
    for (;;) {
        ssize_t n = read(ctl->fd, ctl->buf + ctl->len, sizeof(ctl->buf) - 1 - ctl->len);
        char *start, *nl;

        if (n < 0) {
            if (errno != EAGAIN && errno != EINTR)
                log_warn("control: read %s", ctl->path);
            return;
        }
        if (n == 0)
            return;
        ctl->len += (size_t)n;
        ctl->buf[ctl->len] = '\0';
        start = ctl->buf;
        while ((nl = strchr(start, '\n')) != NULL) {
            *nl = '\0';
            if (!ctl->discarding)
                control_line(sc, go, t_ms, start);
            ctl->discarding = false;
            start = nl + 1;
        }
        ctl->len -= (size_t)(start - ctl->buf);
        memmove(ctl->buf, start, ctl->len);
        if (ctl->len == sizeof(ctl->buf) - 1) {
            log_warnx("control: line longer than %zu bytes ignored", sizeof(ctl->buf) - 1);
            ctl->len = 0;
            ctl->discarding = true;
        }
    }
}

/* ---- main ---- */

int
main(int argc, char **argv)
{
    struct options o = {0};
    struct control ctl = {.fd = -1};
    struct gpioout go = {.fd = -1, .next_ms = -1, .retry_ms = -1};
    struct scenario *sc;
    struct simserver *srv = NULL;
    struct pollfd *fds;
    sigset_t block, waitmask;
    char errbuf[512];
    size_t maxfds;
    int64_t start_ms;
    int rc;

    log_init("ember-sim", true, LOG_LVL_INFO);
    parse_args(argc, argv, &o);
    log_set_level(o.level);

    /* Block the stop signals from here on; ppoll() lets them in atomically. */
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, &waitmask);
    sigdelset(&waitmask, SIGTERM);
    sigdelset(&waitmask, SIGINT);
    loop_signals(NULL, false); /* a peer closing mid-reply is an EPIPE, not death */

    sc = load(&o);
    if (simserver_new(sc, &srv, errbuf, sizeof(errbuf)) < 0 ||
        simserver_open(srv, errbuf, sizeof(errbuf)) < 0) {
        log_errx("%s", errbuf);
        if (o.scenario != NULL)
            log_info("hint: -l NAME=tcp:HOST:PORT or -l NAME=rtu:DEVICE moves a listener");
        simserver_free(srv);
        scenario_free(sc);
        return 1;
    }
    if (o.control != NULL && (rc = control_open(&ctl, o.control)) < 0) {
        log_errx("control FIFO %s: %s", o.control,
                 rc == -EEXIST ? "exists and is not a FIFO" : strerror(-rc));
        simserver_free(srv);
        scenario_free(sc);
        return 1;
    }
    if (o.gpio == NULL && sc->ngpios > 0)
        log_warnx("%s has %zu [gpio] section%s but there is no --gpio FIFO: not played", sc->path,
                  sc->ngpios, sc->ngpios == 1 ? "" : "s");
    if (o.gpio != NULL) {
        go.path = o.gpio;
        go.level = xcalloc(sc->ngpios ? sc->ngpios : 1, sizeof(*go.level));
        for (size_t i = 0; i < sc->ngpios; i++)
            go.level[i] = -1;
    }
    maxfds = 2 + simserver_maxfds(srv);
    fds = xcalloc(maxfds, sizeof(*fds));
    start_ms = mono_ms();
    simserver_start(srv, start_ms);
    log_info("ready: %zu listener%s, %zu device%s%s%s%s%s", simserver_nlisteners(srv),
             simserver_nlisteners(srv) == 1 ? "" : "s", sc->ndevices, sc->ndevices == 1 ? "" : "s",
             ctl.fd >= 0 ? ", control " : "", ctl.fd >= 0 ? ctl.path : "", go.path ? ", gpio " : "",
             go.path ? go.path : "");
    /* The [gpio] levels at t = 0 (the initial ones and steps at 0). */
    if (go.path != NULL)
        gpioout_play(&go, sc, 0);

    while (!loop_sig_stop) {
        size_t n = 0, first_srv;
        int gslot = -1;
        int64_t now = mono_ms();
        int timeout = simserver_timeout(srv, now);
        int64_t gt = gpioout_timeout(&go, start_ms, now);
        struct timespec ts, *tsp = NULL;

        if (gt >= 0 && (timeout < 0 || gt < timeout))
            timeout = (int)gt;
        if (ctl.fd >= 0)
            fds[n++] = (struct pollfd){.fd = ctl.fd, .events = POLLIN};
        /* No events asked: POLLERR tells that emberd closed its FIFO. */
        if (go.fd >= 0) {
            gslot = (int)n;
            fds[n++] = (struct pollfd){.fd = go.fd, .events = 0};
        }
        first_srv = n;
        n += simserver_pollfds(srv, fds + n, maxfds - n);
        if (timeout >= 0) {
            ts.tv_sec = timeout / 1000;
            ts.tv_nsec = (long)(timeout % 1000) * 1000000L;
            tsp = &ts;
        }
        rc = ppoll(fds, n, tsp, &waitmask);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            log_warn("ppoll");
            break;
        }
        now = mono_ms();
        if (gslot >= 0 && (fds[gslot].revents & (POLLERR | POLLHUP)))
            gpioout_lost(&go, now);
        if (ctl.fd >= 0 && (fds[0].revents & POLLIN))
            control_read(&ctl, sc, &go, now - start_ms);
        simserver_handle(srv, fds + first_srv, n - first_srv, now);
        simserver_timers(srv, mono_ms());
        gpioout_timers(&go, sc, start_ms, mono_ms());
    }

    log_info("stopping on signal %d", (int)loop_sig_stop);
    free(fds);
    gpioout_close(&go);
    control_close(&ctl);
    simserver_free(srv);
    scenario_free(sc);
    log_fini();
    return 0;
}
