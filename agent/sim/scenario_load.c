/*
 * scenario_load.c - reading a scenario file (or the --profile quick mode)
 * into a struct scenario, and its lifetime.
 *
 * Owns the INI grammar of [sim], [listen], [device], [signal], [fault] and
 * [gpio] sections, the listener addresses and serial settings (with their
 * command-line overrides), the checks that depend on listener kinds, the
 * name lookups of devices, and scenario_free().  Runs at start-up only;
 * never prints: every mistake goes to a struct cfgerr as "file:line: ...".
 *
 * Loading happens in two passes.  The first collects sections as written
 * (inih gives us one key at a time, and a [signal] may name a device defined
 * further down); the second resolves names, loads profiles, builds one
 * signal per profile point, sorts every timeline into time order and lets
 * the signal model precompute where each event starts.  After that every
 * query is a pure function of the injected time.
 *
 * May call: cfgfile (inih), profile, util, and through scenario_priv.h the
 * signal model's scenario_signal_prepare() and the GPIO level grammar.
 */
#include "scenario.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario_priv.h"
#include "util.h"

#define SIGNAME_LEN (2 * NAME_MAX_LEN + 2)

enum sect {
    SECT_NONE,
    SECT_BAD,
    SECT_SIM,
    SECT_LISTEN,
    SECT_DEVICE,
    SECT_SIGNAL,
    SECT_FAULT,
    SECT_GPIO
};

/* What a [device] section said before names are resolved. */
struct dev_raw {
    char listen[NAME_MAX_LEN + 1];
    int listen_line;
    char *profile;
    int profile_line;
};

/* What a [signal] section said before the device and point are known. */
struct sig_spec {
    char name[SIGNAME_LEN];
    int line;
    bool has_initial;
    double initial;
    double noise;
    struct scn_event *events;
    size_t nevents;
};

struct fault_spec {
    char device[NAME_MAX_LEN + 1];
    int line;
    struct scn_fault_window *windows;
    size_t nwindows;
};

struct load {
    struct scenario *sc;
    struct cfgerr *err;
    char *profile_dir;    /* from [sim], already relative to the file */
    struct dev_raw *draw; /* parallel to sc->devices */
    struct sig_spec *sigs;
    size_t nsigs;
    struct fault_spec *faults;
    size_t nfaults;
    /* The section the previous key belonged to. */
    int sect_line;
    enum sect sect;
    size_t sect_idx;
};

/* Start-up only: the scenario is loaded once, so running out of memory here
 * is not worth a recovery path (same policy as xcalloc). */
static void *
grow(void *p, size_t n, size_t size)
{
    void *q = realloc(p, (n + 1) * size);
    if (q == NULL)
        abort();
    memset((char *)q + n * size, 0, size);
    return q;
}

char
scenario_parse_parity(const char *s)
{
    if (strcmp(s, "none") == 0)
        return 'N';
    if (strcmp(s, "even") == 0)
        return 'E';
    if (strcmp(s, "odd") == 0)
        return 'O';
    return 0;
}

bool
scenario_baud_valid(long baud)
{
    static const long rates[] = {1200,  2400,   4800,   9600,   19200, 38400,
                                 57600, 115200, 230400, 460800, 921600};
    for (size_t i = 0; i < ARRAY_LEN(rates); i++)
        if (rates[i] == baud)
            return true;
    return false;
}

static bool
device_name_valid(const char *s)
{
    /* Signals are named DEVICE.POINT, so a dot in a device name would make
     * "a.b.c" ambiguous. */
    return name_valid(s) && strchr(s, '.') == NULL;
}

/* "HOST:PORT" with HOST a dotted IPv4 address, "*" or empty for any. */
static int
parse_tcp_addr(const char *s, char *host, size_t hostlen, int *port)
{
    const char *colon = strrchr(s, ':');
    char buf[64];
    struct in_addr ia;
    long p;

    if (colon == NULL || (size_t)(colon - s) >= sizeof(buf))
        return -EINVAL;
    memcpy(buf, s, (size_t)(colon - s));
    buf[colon - s] = '\0';
    if (buf[0] == '\0' || strcmp(buf, "*") == 0)
        strcpy(buf, "0.0.0.0");
    if (inet_pton(AF_INET, buf, &ia) != 1 || strlen(buf) >= hostlen)
        return -EINVAL;
    if (parse_long(colon + 1, 1, 65535, &p) < 0)
        return -EINVAL;
    strcpy(host, buf);
    *port = (int)p;
    return 0;
}

/* "tcp:HOST:PORT" or "rtu:DEVICE" into a listener; keeps baud and parity. */
static int
listener_set_addr(struct scn_listener *l, const char *addr, const char *base_file)
{
    char host[sizeof(l->host)];
    int port;

    if (strncmp(addr, "tcp:", 4) == 0) {
        if (parse_tcp_addr(addr + 4, host, sizeof(host), &port) < 0)
            return -EINVAL;
        free(l->device);
        l->device = NULL;
        l->kind = SCN_TCP;
        strcpy(l->host, host);
        l->port = port;
        return 0;
    }
    if (strncmp(addr, "rtu:", 4) == 0 && addr[4] != '\0') {
        char *dev = path_relative_to(base_file, addr + 4);
        if (dev == NULL)
            return -ENOMEM;
        free(l->device);
        l->device = dev;
        l->kind = SCN_RTU;
        return 0;
    }
    return -EINVAL;
}

/* ---- first pass: sections and keys ---- */

static int
find_listener(const struct scenario *sc, const char *name)
{
    for (size_t i = 0; i < sc->nlisteners; i++)
        if (strcmp(sc->listeners[i].name, name) == 0)
            return (int)i;
    return -ENOENT;
}

int
scenario_device_find(const struct scenario *sc, const char *name)
{
    for (size_t i = 0; i < sc->ndevices; i++)
        if (strcmp(sc->devices[i].name, name) == 0)
            return (int)i;
    return -ENOENT;
}

/* Why `name` cannot name a section of kind `sect`, or NULL when it can. */
static const char *
name_problem(enum sect sect, const char *name)
{
    const char *dot;

    switch (sect) {
    case SECT_DEVICE:
        return device_name_valid(name) ? NULL : "name must be 1-64 of [A-Za-z0-9_-] (no dot)";
    case SECT_SIGNAL:
        dot = strchr(name, '.');
        if (dot == NULL || dot == name || dot[1] == '\0' || strlen(name) >= SIGNAME_LEN)
            return "expected [signal DEVICE.POINT]";
        return NULL;
    case SECT_FAULT:
        return strlen(name) > NAME_MAX_LEN ? "device name too long" : NULL;
    default: /* [listen], [gpio] */
        return name_valid(name) ? NULL : "name must be 1-64 of [A-Za-z0-9_.-]";
    }
}

/* The line of an earlier section of kind `sect` called `name`, 0 when none. */
static int
first_line(const struct load *ld, enum sect sect, const char *name)
{
    const struct scenario *sc = ld->sc;
    int i;

    switch (sect) {
    case SECT_LISTEN:
        return (i = find_listener(sc, name)) >= 0 ? sc->listeners[i].line : 0;
    case SECT_DEVICE:
        return (i = scenario_device_find(sc, name)) >= 0 ? sc->devices[i].line : 0;
    case SECT_GPIO:
        return (i = scenario_gpio_find(sc, name)) >= 0 ? sc->gpios[i].line : 0;
    case SECT_SIGNAL:
        for (size_t k = 0; k < ld->nsigs; k++)
            if (strcmp(ld->sigs[k].name, name) == 0)
                return ld->sigs[k].line;
        return 0;
    default: /* [fault] */
        for (size_t k = 0; k < ld->nfaults; k++)
            if (strcmp(ld->faults[k].device, name) == 0)
                return ld->faults[k].line;
        return 0;
    }
}

/* Appends a new section of kind `sect` with its defaults; returns its index. */
static size_t
add_section(struct load *ld, enum sect sect, const char *name, int line)
{
    struct scenario *sc = ld->sc;
    struct scn_listener *l;
    struct scn_device *d;

    switch (sect) {
    case SECT_LISTEN:
        sc->listeners = grow(sc->listeners, sc->nlisteners, sizeof(*sc->listeners));
        l = &sc->listeners[sc->nlisteners];
        strcpy(l->name, name);
        l->line = line;
        l->baud = 9600;
        l->parity = 'N';
        l->port = -1;
        return sc->nlisteners++;
    case SECT_DEVICE:
        sc->devices = grow(sc->devices, sc->ndevices, sizeof(*sc->devices));
        ld->draw = grow(ld->draw, sc->ndevices, sizeof(*ld->draw));
        d = &sc->devices[sc->ndevices];
        strcpy(d->name, name);
        d->line = line;
        d->slave = 1;
        return sc->ndevices++;
    case SECT_GPIO:
        sc->gpios = grow(sc->gpios, sc->ngpios, sizeof(*sc->gpios));
        strcpy(sc->gpios[sc->ngpios].name, name);
        sc->gpios[sc->ngpios].line = line;
        return sc->ngpios++;
    case SECT_SIGNAL:
        ld->sigs = grow(ld->sigs, ld->nsigs, sizeof(*ld->sigs));
        strcpy(ld->sigs[ld->nsigs].name, name);
        ld->sigs[ld->nsigs].line = line;
        return ld->nsigs++;
    default: /* [fault] */
        ld->faults = grow(ld->faults, ld->nfaults, sizeof(*ld->faults));
        strcpy(ld->faults[ld->nfaults].device, name);
        ld->faults[ld->nfaults].line = line;
        return ld->nfaults++;
    }
}

static void
begin_section(struct cfgfile *cf, struct load *ld, const char *section)
{
    static const struct {
        const char *kind;
        enum sect sect;
    } kinds[] = {
        {"listen", SECT_LISTEN}, {"device", SECT_DEVICE}, {"signal", SECT_SIGNAL},
        {"fault", SECT_FAULT},   {"gpio", SECT_GPIO},
    };
    char buf[160];
    const char *kind = NULL, *name = NULL, *why;
    int line = cf->section_line, first;
    enum sect sect = SECT_BAD;

    ld->sect_line = line;
    ld->sect = SECT_BAD;
    if (section[0] == '\0') {
        cfgfile_error(cf, "key outside any section");
        return;
    }
    if (strcmp(section, "sim") == 0) {
        ld->sect = SECT_SIM;
        return;
    }
    if (cfgfile_split_section(section, buf, sizeof(buf), &kind, &name) == 0)
        for (size_t i = 0; i < ARRAY_LEN(kinds); i++)
            if (strcmp(kind, kinds[i].kind) == 0)
                sect = kinds[i].sect;
    if (sect == SECT_BAD) {
        cfgerr_add(cf->err, cf->path, line,
                   "unknown section [%s] (expected [sim], [listen NAME], [device NAME], "
                   "[signal DEVICE.POINT], [fault DEVICE] or [gpio NAME])",
                   section);
        return;
    }
    if ((why = name_problem(sect, name)) != NULL) {
        cfgerr_add(cf->err, cf->path, line, "[%s %s]: %s", kind, name, why);
        return;
    }
    if ((first = first_line(ld, sect, name)) > 0) {
        cfgerr_add(cf->err, cf->path, line, "[%s %s] defined twice (first at line %d)", kind, name,
                   first);
        return;
    }
    ld->sect_idx = add_section(ld, sect, name, line);
    ld->sect = sect;
}

static void
sim_key(struct cfgfile *cf, struct load *ld, const char *name, const char *value)
{
    struct scenario *sc = ld->sc;
    int64_t ms;
    long l;

    if (strcmp(name, "profile_dir") == 0) {
        free(ld->profile_dir);
        ld->profile_dir = path_relative_to(cf->path, value);
        if (ld->profile_dir == NULL)
            abort();
    } else if (strcmp(name, "seed") == 0) {
        if (parse_long(value, 0, 0x7fffffffL, &l) < 0)
            cfgfile_error(cf, "seed: '%s' is not an integer 0..2147483647", value);
        else
            sc->seed = (uint64_t)l;
    } else if (strcmp(name, "loop") == 0) {
        if (parse_duration_ms(value, &ms) < 0 || ms <= 0)
            cfgfile_error(cf, "loop: '%s' is not a positive duration (e.g. 240s, 4m)", value);
        else
            sc->loop = (double)ms / 1000.0;
    } else {
        cfgfile_error(cf, "[sim]: unknown key '%s' (expected profile_dir, seed, loop)", name);
    }
}

static void
listen_key(struct cfgfile *cf, struct load *ld, const char *name, const char *value)
{
    struct scn_listener *l = &ld->sc->listeners[ld->sect_idx];
    long baud;
    char par;

    if (strcmp(name, "tcp") == 0 || strcmp(name, "rtu") == 0) {
        char addr[300];
        int rc;

        if (l->port >= 0 || l->device != NULL) {
            cfgfile_error(cf, "%s: [listen %s] already has an address; use one of tcp, rtu", name,
                          l->name);
            return;
        }
        snprintf(addr, sizeof(addr), "%s:%s", name, value);
        rc = listener_set_addr(l, addr, cf->path);
        if (rc == -ENOMEM)
            abort();
        if (rc < 0 && name[0] == 't')
            cfgfile_error(cf, "tcp: '%s' is not IPV4-ADDRESS:PORT (e.g. 127.0.0.1:1502)", value);
        else if (rc < 0)
            cfgfile_error(cf, "rtu: needs a serial device path");
    } else if (strcmp(name, "baud") == 0) {
        if (parse_long(value, 1, 4000000, &baud) < 0 || !scenario_baud_valid(baud))
            cfgfile_error(cf, "baud: '%s' is not a standard rate (1200 ... 921600)", value);
        else
            l->baud = (int)baud;
        l->baud_line = cf->line;
    } else if (strcmp(name, "parity") == 0) {
        if ((par = scenario_parse_parity(value)) == 0)
            cfgfile_error(cf, "parity: '%s' is not none, even or odd", value);
        else
            l->parity = par;
        l->parity_line = cf->line;
    } else {
        cfgfile_error(cf, "[listen %s]: unknown key '%s' (expected tcp, rtu, baud, parity)",
                      l->name, name);
    }
}

static void
device_key(struct cfgfile *cf, struct load *ld, const char *name, const char *value)
{
    struct scn_device *d = &ld->sc->devices[ld->sect_idx];
    struct dev_raw *r = &ld->draw[ld->sect_idx];
    long l;

    if (strcmp(name, "listen") == 0) {
        if (!name_valid(value)) {
            cfgfile_error(cf, "listen: '%s' is not a listener name", value);
            return;
        }
        strcpy(r->listen, value);
        r->listen_line = cf->line;
    } else if (strcmp(name, "slave") == 0) {
        if (parse_long(value, 0, 255, &l) < 0)
            cfgfile_error(cf, "slave: '%s' is not a unit id 0..255", value);
        else
            d->slave = (int)l;
    } else if (strcmp(name, "profile") == 0) {
        free(r->profile);
        r->profile = xstrdup(value);
        r->profile_line = cf->line;
    } else {
        cfgfile_error(cf, "[device %s]: unknown key '%s' (expected listen, slave, profile)",
                      d->name, name);
    }
}

int
scenario_split_words(const char *value, char *buf, size_t len, char **words, int max)
{
    char *save = NULL, *w;
    int n = 0;

    if (strlen(value) >= len)
        return -1;
    strcpy(buf, value);
    /* \r and \n count as blanks: control writers may send CRLF. */
    for (w = strtok_r(buf, " \t\r\n", &save); w != NULL; w = strtok_r(NULL, " \t\r\n", &save)) {
        if (n == max)
            return max + 1;
        words[n++] = w;
    }
    return n;
}

static int
parse_time(const char *s, double *sec)
{
    int64_t ms;

    if (parse_duration_ms(s, &ms) < 0)
        return -EINVAL;
    *sec = (double)ms / 1000.0;
    return 0;
}

static void
signal_key(struct cfgfile *cf, struct load *ld, const char *name, const char *value)
{
    struct sig_spec *s = &ld->sigs[ld->sect_idx];
    struct scn_event ev = {.line = cf->line};
    char buf[256];
    char *w[5];
    int n;

    if (strcmp(name, "initial") == 0) {
        if (parse_double(value, &s->initial) < 0)
            cfgfile_error(cf, "initial: '%s' is not a number", value);
        s->has_initial = true;
        return;
    }
    if (strcmp(name, "noise") == 0) {
        if (parse_double(value, &s->noise) < 0 || s->noise < 0) {
            cfgfile_error(cf, "noise: '%s' is not a number >= 0", value);
            s->noise = 0;
        }
        return;
    }
    n = scenario_split_words(value, buf, sizeof(buf), w, 4);
    if (strcmp(name, "step") == 0) {
        ev.kind = SCN_STEP;
        if (n != 2 || parse_time(w[0], &ev.start) < 0 || parse_double(w[1], &ev.to) < 0) {
            cfgfile_error(cf, "step: '%s' is not 'TIME VALUE' (e.g. 30s 35)", value);
            return;
        }
        ev.end = ev.start;
    } else if (strcmp(name, "ramp") == 0) {
        ev.kind = SCN_RAMP;
        if (n != 3 || parse_time(w[0], &ev.start) < 0 || parse_time(w[1], &ev.end) < 0 ||
            parse_double(w[2], &ev.to) < 0) {
            cfgfile_error(cf, "ramp: '%s' is not 'START END TARGET' (e.g. 60s 90s 45)", value);
            return;
        }
    } else if (strcmp(name, "runaway") == 0) {
        ev.kind = SCN_RUNAWAY;
        if (n != 4 || parse_time(w[0], &ev.start) < 0 || parse_time(w[1], &ev.end) < 0 ||
            parse_double(w[2], &ev.from) < 0 || parse_double(w[3], &ev.to) < 0) {
            cfgfile_error(cf, "runaway: '%s' is not 'START END T0 T1' (e.g. 120s 300s 30 150)",
                          value);
            return;
        }
    } else {
        cfgfile_error(cf,
                      "[signal %s]: unknown key '%s' (expected initial, noise, step, ramp, "
                      "runaway)",
                      s->name, name);
        return;
    }
    if (ev.kind != SCN_STEP && ev.end <= ev.start) {
        cfgfile_error(cf, "%s: end %gs is not after start %gs", name, ev.end, ev.start);
        return;
    }
    s->events = grow(s->events, s->nevents, sizeof(*s->events));
    s->events[s->nevents++] = ev;
}

static void
fault_key(struct cfgfile *cf, struct load *ld, const char *name, const char *value)
{
    struct fault_spec *f = &ld->faults[ld->sect_idx];
    struct scn_fault_window fw = {.line = cf->line};
    char buf[256];
    char *w[4];
    int n = scenario_split_words(value, buf, sizeof(buf), w, 3);
    int64_t ms;

    if (strcmp(name, "dropout") == 0)
        fw.kind = SCN_FAULT_DROPOUT;
    else if (strcmp(name, "slow") == 0)
        fw.kind = SCN_FAULT_SLOW;
    else if (strcmp(name, "exception") == 0)
        fw.kind = SCN_FAULT_EXCEPTION;
    else if (strcmp(name, "garbage") == 0)
        fw.kind = SCN_FAULT_GARBAGE;
    else {
        cfgfile_error(cf,
                      "[fault %s]: unknown key '%s' (expected dropout, slow, exception, "
                      "garbage)",
                      f->device, name);
        return;
    }
    if (fw.kind == SCN_FAULT_SLOW) {
        if (n != 3 || parse_time(w[0], &fw.start) < 0 || parse_time(w[1], &fw.length) < 0 ||
            parse_duration_ms(w[2], &ms) < 0 || ms <= 0 || ms > 600000) {
            cfgfile_error(cf,
                          "slow: '%s' is not 'START LENGTH DELAY' (e.g. 220s 5s 400ms; delay "
                          "up to 10m)",
                          value);
            return;
        }
        fw.delay_ms = ms;
    } else if (n != 2 || parse_time(w[0], &fw.start) < 0 || parse_time(w[1], &fw.length) < 0) {
        cfgfile_error(cf, "%s: '%s' is not 'START LENGTH' (e.g. 200s 10s)", name, value);
        return;
    }
    if (fw.length <= 0) {
        cfgfile_error(cf, "%s: length must be positive", name);
        return;
    }
    f->windows = grow(f->windows, f->nwindows, sizeof(*f->windows));
    f->windows[f->nwindows++] = fw;
}

static void
gpio_key(struct cfgfile *cf, struct load *ld, const char *name, const char *value)
{
    struct scn_gpio *g = &ld->sc->gpios[ld->sect_idx];
    struct scn_gpio_step st = {.line = cf->line};
    char buf[256];
    char *w[3];
    int n;

    if (strcmp(name, "initial") == 0) {
        if (scenario_parse_level(value, &g->initial) < 0)
            cfgfile_error(cf, "initial: '%s' is not 0 or 1", value);
        return;
    }
    if (strcmp(name, "step") != 0) {
        cfgfile_error(cf, "[gpio %s]: unknown key '%s' (expected initial, step)", g->name, name);
        return;
    }
    n = scenario_split_words(value, buf, sizeof(buf), w, 2);
    if (n != 2 || parse_duration_ms(w[0], &st.t_ms) < 0 || st.t_ms < 0 ||
        scenario_parse_level(w[1], &st.value) < 0) {
        cfgfile_error(cf, "step: '%s' is not 'TIME 0|1' (e.g. 95s 1)", value);
        return;
    }
    g->steps = grow(g->steps, g->nsteps, sizeof(*g->steps));
    g->steps[g->nsteps++] = st;
}

static void
on_key(struct cfgfile *cf, const char *section, const char *name, const char *value)
{
    /* The key handler of each kind of section; none for SECT_BAD, whose
     * header was already reported. */
    static void (*const handler[])(struct cfgfile *, struct load *, const char *, const char *) = {
        [SECT_SIM] = sim_key,       [SECT_LISTEN] = listen_key, [SECT_DEVICE] = device_key,
        [SECT_SIGNAL] = signal_key, [SECT_FAULT] = fault_key,   [SECT_GPIO] = gpio_key,
    };
    struct load *ld = cf->user;

    /* inih only reports keys, so a new section shows as a new header line. */
    if (ld->sect == SECT_NONE || cf->section_line != ld->sect_line)
        begin_section(cf, ld, section);
    if (handler[ld->sect] != NULL)
        handler[ld->sect](cf, ld, name, value);
}

/* ---- second pass: resolve and precompute ---- */

/* Timeline order: by instant, then by line, so that of two entries at the
 * same instant the later line plays last (and so wins). */
static int
cmp_when(double ta, int la, double tb, int lb)
{
    if (ta != tb)
        return ta < tb ? -1 : 1;
    return la - lb;
}

static int
cmp_event(const void *a, const void *b)
{
    const struct scn_event *x = a, *y = b;
    return cmp_when(x->start, x->line, y->start, y->line);
}

static int
cmp_gpio_step(const void *a, const void *b)
{
    const struct scn_gpio_step *x = a, *y = b;
    /* Exact: a step's time is far below 2^53 ms. */
    return cmp_when((double)x->t_ms, x->line, (double)y->t_ms, y->line);
}

static void
build_signals(struct scenario *sc)
{
    size_t n = 0;

    for (size_t d = 0; d < sc->ndevices; d++)
        if (sc->devices[d].profile != NULL)
            n += sc->devices[d].profile->npoints;
    sc->signals = xcalloc(n ? n : 1, sizeof(*sc->signals));
    sc->nsignals = 0;
    for (size_t d = 0; d < sc->ndevices; d++) {
        struct scn_device *dev = &sc->devices[d];
        dev->first_signal = sc->nsignals;
        if (dev->profile == NULL)
            continue;
        for (size_t i = 0; i < dev->profile->npoints; i++) {
            struct scn_signal *s = &sc->signals[sc->nsignals++];
            s->device = d;
            s->point = &dev->profile->points[i];
            s->initial = s->point->initial;
        }
    }
}

static void
resolve(struct load *ld, const char *profile_dir, const char *default_dir)
{
    struct scenario *sc = ld->sc;
    struct cfgerr *err = ld->err;
    const char *dir = profile_dir ? profile_dir : ld->profile_dir ? ld->profile_dir : default_dir;

    for (size_t i = 0; i < sc->nlisteners; i++) {
        struct scn_listener *l = &sc->listeners[i];
        if (l->port < 0 && l->device == NULL) {
            cfgerr_add(err, sc->path, l->line,
                       "[listen %s]: needs 'tcp = HOST:PORT' or 'rtu = DEVICE'", l->name);
            continue;
        }
        if (l->kind == SCN_TCP && l->baud_line)
            cfgerr_add(err, sc->path, l->baud_line, "baud: [listen %s] is a TCP listener", l->name);
        if (l->kind == SCN_TCP && l->parity_line)
            cfgerr_add(err, sc->path, l->parity_line, "parity: [listen %s] is a TCP listener",
                       l->name);
    }
    /* A scenario may drive emberd's GPIO inputs only. */
    if (sc->ndevices == 0 && sc->ngpios == 0)
        cfgerr_add(err, sc->path, 0, "no [device NAME] sections: nothing to serve");
    for (size_t i = 0; i < sc->ngpios; i++)
        if (sc->gpios[i].nsteps > 1)
            qsort(sc->gpios[i].steps, sc->gpios[i].nsteps, sizeof(*sc->gpios[i].steps),
                  cmp_gpio_step);
    for (size_t i = 0; i < sc->ndevices; i++) {
        struct scn_device *d = &sc->devices[i];
        struct dev_raw *r = &ld->draw[i];
        int li;

        if (r->listen[0] == '\0') {
            if (sc->nlisteners == 1)
                d->listener = 0;
            else
                cfgerr_add(err, sc->path, d->line, "[device %s]: missing key 'listen'", d->name);
        } else if ((li = find_listener(sc, r->listen)) < 0) {
            cfgerr_add(err, sc->path, r->listen_line, "listen: no [listen %s] section", r->listen);
        } else {
            d->listener = (size_t)li;
        }
        if (r->profile == NULL) {
            cfgerr_add(err, sc->path, d->line, "[device %s]: missing key 'profile'", d->name);
        } else if (profile_load_ref(dir, r->profile, sc->path, &d->profile, err) < 0) {
            d->profile = NULL;
            cfgerr_add(err, sc->path, r->profile_line, "profile: cannot load '%s' (looked in %s)",
                       r->profile, strchr(r->profile, '/') ? "the scenario's directory" : dir);
        }
    }
    build_signals(sc);

    for (size_t i = 0; i < ld->nsigs; i++) {
        struct sig_spec *spec = &ld->sigs[i];
        char dname[SIGNAME_LEN];
        char *dot;
        int di, si;

        strcpy(dname, spec->name);
        dot = strchr(dname, '.');
        *dot = '\0';
        if ((di = scenario_device_find(sc, dname)) < 0) {
            cfgerr_add(err, sc->path, spec->line, "[signal %s]: no [device %s]", spec->name, dname);
            continue;
        }
        if (sc->devices[di].profile == NULL)
            continue; /* already reported */
        if ((si = scenario_signal_find(sc, spec->name)) < 0) {
            cfgerr_add(err, sc->path, spec->line, "[signal %s]: profile %s has no point '%s'",
                       spec->name, sc->devices[di].profile->name, dot + 1);
            continue;
        }
        struct scn_signal *s = &sc->signals[si];
        if (spec->has_initial)
            s->initial = spec->initial;
        s->noise = spec->noise;
        s->line = spec->line;
        s->events = spec->events;
        s->nevents = spec->nevents;
        spec->events = NULL;
        spec->nevents = 0;
        if (s->nevents > 1)
            qsort(s->events, s->nevents, sizeof(*s->events), cmp_event);
        scenario_signal_prepare(s);
    }

    for (size_t i = 0; i < ld->nfaults; i++) {
        struct fault_spec *f = &ld->faults[i];
        int di = scenario_device_find(sc, f->device);
        if (di < 0) {
            cfgerr_add(err, sc->path, f->line, "[fault %s]: no [device %s]", f->device, f->device);
            continue;
        }
        sc->devices[di].faults = f->windows;
        sc->devices[di].nfaults = f->nwindows;
        f->windows = NULL;
        f->nwindows = 0;
    }
}

static void
load_free(struct load *ld)
{
    for (size_t i = 0; i < ld->sc->ndevices; i++)
        free(ld->draw[i].profile);
    free(ld->draw);
    for (size_t i = 0; i < ld->nsigs; i++)
        free(ld->sigs[i].events);
    free(ld->sigs);
    for (size_t i = 0; i < ld->nfaults; i++)
        free(ld->faults[i].windows);
    free(ld->faults);
    free(ld->profile_dir);
}

static struct scenario *
scenario_alloc(const char *path)
{
    struct scenario *sc = xcalloc(1, sizeof(*sc));
    sc->path = xstrdup(path);
    sc->seed = 1;
    return sc;
}

int
scenario_load(const char *path, const char *profile_dir, const char *default_dir,
              struct scenario **out, struct cfgerr *err)
{
    struct scenario *sc = scenario_alloc(path);
    struct load ld = {.sc = sc, .err = err};
    struct cfgfile cf = {.path = path, .err = err, .key = on_key, .user = &ld};
    int before = err->count;
    int rc;

    rc = cfgfile_parse(&cf);
    if (rc == 0)
        resolve(&ld, profile_dir, default_dir);
    load_free(&ld);
    if (rc < 0 || err->count > before) {
        scenario_free(sc);
        return rc < 0 ? rc : -EINVAL;
    }
    *out = sc;
    return 0;
}

int
scenario_quick(const char *profile_dir, const char *profile, int slave, const char *addr,
               struct scenario **out, struct cfgerr *err)
{
    struct scenario *sc = scenario_alloc("(command line)");
    struct scn_listener *l;
    struct scn_device *d;

    sc->listeners = xcalloc(1, sizeof(*sc->listeners));
    sc->nlisteners = 1;
    l = &sc->listeners[0];
    strcpy(l->name, "quick");
    l->baud = 9600;
    l->parity = 'N';
    if (listener_set_addr(l, addr, NULL) < 0) {
        cfgerr_add(err, sc->path, 0, "'%s' is not tcp:HOST:PORT or rtu:DEVICE", addr);
        scenario_free(sc);
        return -EINVAL;
    }
    sc->devices = xcalloc(1, sizeof(*sc->devices));
    sc->ndevices = 1;
    d = &sc->devices[0];
    d->slave = slave;
    if (profile_load_ref(profile_dir, profile, NULL, &d->profile, err) < 0) {
        d->profile = NULL;
        scenario_free(sc);
        return -EINVAL;
    }
    /* The profile's own name, made usable as the DEVICE of DEVICE.POINT. */
    strcpy(d->name, d->profile->name);
    for (char *p = d->name; *p; p++)
        if (*p == '.')
            *p = '_';
    build_signals(sc);
    *out = sc;
    return 0;
}

void
scenario_free(struct scenario *sc)
{
    if (sc == NULL)
        return;
    for (size_t i = 0; i < sc->nlisteners; i++)
        free(sc->listeners[i].device);
    free(sc->listeners);
    for (size_t i = 0; i < sc->ndevices; i++) {
        profile_free(sc->devices[i].profile);
        free(sc->devices[i].faults);
    }
    free(sc->devices);
    for (size_t i = 0; i < sc->nsignals; i++)
        free(sc->signals[i].events);
    free(sc->signals);
    for (size_t i = 0; i < sc->ngpios; i++)
        free(sc->gpios[i].steps);
    free(sc->gpios);
    free(sc->path);
    free(sc);
}

int
scenario_set_listen(struct scenario *sc, const char *name, const char *addr)
{
    int i = find_listener(sc, name);

    if (i < 0)
        return -ENOENT;
    /* Command-line paths are relative to the working directory. */
    return listener_set_addr(&sc->listeners[i], addr, NULL);
}

void
scenario_set_serial(struct scenario *sc, int baud, char parity)
{
    for (size_t i = 0; i < sc->nlisteners; i++) {
        if (sc->listeners[i].kind != SCN_RTU)
            continue;
        if (baud > 0)
            sc->listeners[i].baud = baud;
        if (parity != 0)
            sc->listeners[i].parity = parity;
    }
}

int
scenario_check(const struct scenario *sc, struct cfgerr *err)
{
    int before = err->count;

    for (size_t i = 0; i < sc->ndevices; i++) {
        const struct scn_device *d = &sc->devices[i];
        const struct scn_listener *l = &sc->listeners[d->listener];

        if (l->kind == SCN_RTU && (d->slave < 1 || d->slave > 247))
            cfgerr_add(err, sc->path, d->line,
                       "[device %s]: slave %d: RTU slave ids are 1..247 (listener %s)", d->name,
                       d->slave, l->name);
        for (size_t j = 0; j < i; j++) {
            const struct scn_device *o = &sc->devices[j];
            if (o->listener != d->listener)
                continue;
            if (l->kind == SCN_RTU) {
                /* libmodbus' RTU receive drops requests for any slave id but
                 * the context's own, so one context serves one device. */
                cfgerr_add(err, sc->path, d->line,
                           "[device %s]: RTU listener %s already serves [device %s]; one "
                           "device per RTU listener",
                           d->name, l->name, o->name);
                break;
            }
            if (o->slave == d->slave) {
                cfgerr_add(err, sc->path, d->line,
                           "[device %s]: slave %d on listener %s is already [device %s]", d->name,
                           d->slave, l->name, o->name);
                break;
            }
        }
    }
    return err->count > before ? -EINVAL : 0;
}
