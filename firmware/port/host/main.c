/*
 * main.c - ember-node-host: the sensor node as a Linux process.
 *
 * The same core as the MCU image, on a tty: one end of a socat pty pair on
 * the bench (or a pty of its own with --link), or a USB RS485 adapter.
 * Inputs come from a script file and a control FIFO (script.h).  One
 * ppoll() loop owns the tty, the FIFO and every timer; signals only set a
 * flag.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "board.h"
#include "board_node.h"
#include "node.h"
#include "port_host.h"
#include "script.h"

#define MAX_SET 32

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

__attribute__((format(printf, 1, 2))) static void
log_info(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "ember-node-host: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

__attribute__((format(printf, 1, 2), noreturn)) static void
fatalx(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "ember-node-host: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: ember-node-host (--pty PATH | --link PATH) [options]\n"
            "  --pty PATH       serve on an existing tty (one end of a socat pty pair,\n"
            "                   or a USB RS485 adapter)\n"
            "  --link PATH      create a pty and symlink its serial side to PATH\n"
            "  --control FIFO   read commands from FIFO (created if missing)\n"
            "  --script FILE    timed commands: SECONDS COMMAND per line\n"
            "  --set COMMAND    apply COMMAND before starting (repeatable)\n"
            "  --state FILE     keep the saved settings in FILE (default: memory)\n"
            "  --factory        start as if the factory jumper were fitted\n"
            "  --gap-us N       t3.5 at least N microseconds (default: Modbus timing)\n"
            "  --strict-t15     drop frames with a t1.5 silence inside them\n"
            "  -v, --verbose    log every command applied\n"
            "commands: raw CH COUNT | ohm CH OHMS | temp CH C | ramp CH FROM TO S |\n"
            "          open CH | short CH | ma MA | gas PPM | contact 0|1 |\n"
            "          adc-fail CH | selftest pass|fail     (CH = 1-4, or gas)\n"
            "board: %s\n",
            BOARD_NAME);
}

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *
line_name(const struct settings *s)
{
    static char buf[64];
    static const char par[] = {'N', 'O', 'E'};

    snprintf(buf, sizeof(buf), "slave %u, %u 8%c%c, gas alarm at %u ppm", s->slave,
             s->baud100 * 100u, par[s->parity % 3], s->parity == PORT_PARITY_NONE ? '2' : '1',
             s->gas_setpoint);
    return buf;
}

/* Creates a pty, links its serial side to link, and keeps that side open
 * too: with no process holding it, the master would report POLLHUP in a
 * loop between two clients. */
static int
open_link(const char *link, int *slave_fd)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    const char *name;

    if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0 || (name = ptsname(m)) == NULL)
        fatalx("cannot create a pty: %s", strerror(errno));
    *slave_fd = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (*slave_fd < 0)
        fatalx("%s: %s", name, strerror(errno));
    unlink(link);
    if (symlink(name, link) < 0)
        fatalx("symlink %s -> %s: %s", link, name, strerror(errno));
    return m;
}

struct fifo {
    const char *path;
    bool created;
    int fd, keep_fd;
    char buf[1024];
    size_t len;
};

static void
fifo_open(struct fifo *f)
{
    struct stat st;

    if (stat(f->path, &st) < 0) {
        if (mkfifo(f->path, 0600) < 0)
            fatalx("mkfifo %s: %s", f->path, strerror(errno));
        f->created = true;
    } else if (!S_ISFIFO(st.st_mode)) {
        fatalx("%s exists and is not a FIFO", f->path);
    }
    /* Holding a writer open ourselves means no EOF between two writers. */
    f->fd = open(f->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (f->fd < 0)
        fatalx("%s: %s", f->path, strerror(errno));
    f->keep_fd = open(f->path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
}

static void
fifo_read(struct fifo *f, struct script *sc, bool verbose)
{
    ssize_t n;

    while ((n = read(f->fd, f->buf + f->len, sizeof(f->buf) - 1 - f->len)) > 0) {
        char *line, *nl;

        f->len += (size_t)n;
        f->buf[f->len] = '\0';
        line = f->buf;
        while ((nl = strchr(line, '\n')) != NULL) {
            char err[256];

            *nl = '\0';
            if (script_command(sc, line, now_s(), err, sizeof(err)) < 0)
                log_info("control: %s", err);
            else if (verbose && *line)
                log_info("control: %s", line);
            line = nl + 1;
        }
        f->len = strlen(line);
        memmove(f->buf, line, f->len);
        if (f->len == sizeof(f->buf) - 1) {
            log_info("control: line too long, dropped");
            f->len = 0;
        }
    }
}

int
main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"pty", required_argument, NULL, 'p'},     {"link", required_argument, NULL, 'l'},
        {"control", required_argument, NULL, 'c'}, {"script", required_argument, NULL, 's'},
        {"set", required_argument, NULL, 'S'},     {"state", required_argument, NULL, 'n'},
        {"factory", no_argument, NULL, 'f'},       {"gap-us", required_argument, NULL, 'g'},
        {"strict-t15", no_argument, NULL, 't'},    {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    const char *pty = NULL, *link = NULL, *script_path = NULL, *sets[MAX_SET];
    struct fifo fifo = {.fd = -1, .keep_fd = -1};
    struct node_config cfg;
    static struct node node;
    static struct script sc;
    struct settings shown;
    bool verbose = false, factory = false, strict = false;
    unsigned long gap = 0;
    int nsets = 0, fd, slave_fd = -1, opt, rc;
    struct sigaction sa;
    sigset_t block, empty;
    char err[512];

    while ((opt = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
        char *end;

        switch (opt) {
        case 'p':
            pty = optarg;
            break;
        case 'l':
            link = optarg;
            break;
        case 'c':
            fifo.path = optarg;
            break;
        case 's':
            script_path = optarg;
            break;
        case 'S':
            if (nsets == MAX_SET)
                fatalx("at most %d --set options", MAX_SET);
            sets[nsets++] = optarg;
            break;
        case 'n':
            if (host_port_nv_file(optarg) < 0)
                fatalx("--state: path too long");
            break;
        case 'f':
            factory = true;
            break;
        case 'g':
            errno = 0;
            gap = strtoul(optarg, &end, 10);
            if (errno || *end || gap > 1000000)
                fatalx("--gap-us: '%s' is not 0-1000000", optarg);
            break;
        case 't':
            strict = true;
            break;
        case 'v':
            verbose = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc || (pty == NULL) == (link == NULL)) {
        usage(stderr);
        return 2;
    }

    board_node_config(&cfg);
    cfg.min_t35_us = (uint32_t)gap;
    cfg.strict_t15 = strict;

    /* The port starts clean (host_port_reset() is for tests, and would
     * forget --state); only the clock and the inputs need setting. */
    host_clock_real();
    script_init(&sc, &cfg.sampling);
    /* A quiet rack: every module at 25 C, gas loop at 4 mA (0 ppm). */
    for (int m = 1; m <= SAMPLING_MODULES; m++) {
        char cmd[32];

        snprintf(cmd, sizeof(cmd), "temp %d 25", m);
        script_command(&sc, cmd, now_s(), err, sizeof(err));
    }
    script_command(&sc, "ma 4", now_s(), err, sizeof(err));
    for (int i = 0; i < nsets; i++)
        if (script_command(&sc, sets[i], now_s(), err, sizeof(err)) < 0)
            fatalx("--set: %s", err);
    host_port_set_input(PORT_IN_FACTORY, factory);
    if (script_path != NULL && script_open(&sc, script_path, now_s(), err, sizeof(err)) < 0)
        fatalx("--script: %s", err);
    /* Lines due at 0 s apply before the first sample, like --set. */
    if (script_run(&sc, now_s(), err, sizeof(err)) < 0)
        log_info("script: %s", err);

    if (link != NULL) {
        fd = open_link(link, &slave_fd);
    } else {
        fd = open(pty, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
            fatalx("%s: %s", pty, strerror(errno));
    }
    host_port_attach(fd);
    if (fifo.path != NULL)
        fifo_open(&fifo);

    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, &empty);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    rc = node_init(&node, &port_host, &cfg);
    if (rc < 0)
        fatalx("%s: cannot set the line: %s", link ? link : pty, strerror(-rc));
    if (node.factory_reset)
        log_info("factory jumper: factory settings restored");
    else if (node.settings_rc == -ENOENT)
        log_info("no saved settings: factory settings");
    else if (node.settings_rc < 0)
        log_info("saved settings unreadable (%s): factory settings", strerror(-node.settings_rc));
    shown = *node_settings(&node);
    log_info("ready: %s on %s (board %s, self-test %s)", line_name(&shown), link ? link : pty,
             BOARD_NAME, node.map.selftest ? "FAILED" : "passed");

    while (!stop) {
        struct pollfd pfd[2] = {{.fd = fd, .events = POLLIN}, {.fd = fifo.fd, .events = POLLIN}};
        uint32_t wait_us;
        double ws;
        struct timespec ts;

        node_poll(&node);
        if (script_run(&sc, now_s(), err, sizeof(err)) < 0)
            log_info("script: %s", err);
        if (memcmp(&shown, node_settings(&node), sizeof(shown)) != 0) {
            shown = *node_settings(&node);
            log_info("settings committed: %s", line_name(&shown));
        }

        wait_us = node_wait_us(&node);
        ws = script_wait_s(&sc, now_s());
        if (ws >= 0 && ws * 1e6 < wait_us)
            wait_us = (uint32_t)(ws * 1e6);
        ts.tv_sec = wait_us / 1000000u;
        ts.tv_nsec = (long)(wait_us % 1000000u) * 1000;
        rc = ppoll(pfd, fifo.fd >= 0 ? 2 : 1, &ts, &empty);
        if (rc < 0 && errno != EINTR)
            fatalx("ppoll: %s", strerror(errno));
        if (rc > 0 && (pfd[0].revents & (POLLHUP | POLLERR | POLLNVAL)) &&
            !(pfd[0].revents & POLLIN)) {
            log_info("%s: the other end went away", link ? link : pty);
            break;
        }
        if (rc > 0 && (pfd[1].revents & POLLIN))
            fifo_read(&fifo, &sc, verbose);
    }

    log_info("stopping: %u frames, %u CRC errors, %u exceptions, %u line errors",
             node.rtu.stats.frames, node.rtu.stats.crc_errors, node.rtu.stats.exceptions,
             node.rtu.stats.line_errors);
    script_fini(&sc);
    if (fifo.fd >= 0) {
        close(fifo.fd);
        if (fifo.keep_fd >= 0)
            close(fifo.keep_fd);
        if (fifo.created)
            unlink(fifo.path);
    }
    close(fd);
    if (slave_fd >= 0)
        close(slave_fd);
    if (link != NULL)
        unlink(link);
    return stop ? 0 : 1;
}
