/*
 * simserver.c - libmodbus servers for ember-sim.
 *
 * All Modbus framing is libmodbus': modbus_receive() reads a request,
 * modbus_reply() / modbus_reply_exception() answer it.  We only look at the
 * unit id and function code of a received request (to dispatch and to log)
 * and, for the garbage fault, write bytes that are deliberately not a frame.
 */
#include "simserver.h"

#include <errno.h>
#include <fcntl.h>
#include <modbus.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#define MAX_CONNS 64
#define MAX_PENDING 64
#define REOPEN_MS 1000

/* A request that stalls half-way must not hang the loop, so receives give up
 * after these (a 10-register read at 9600 baud takes ~25 ms on the wire). */
#define INDICATION_TIMEOUT_US 500000
#define BYTE_TIMEOUT_US 200000
/* modbus_reply() sleeps for the response timeout before flushing after a
 * malformed request; keep that short so it cannot stall other devices. */
#define RESPONSE_TIMEOUT_US 10000

struct listener {
    const struct scn_listener *cfg;
    modbus_t *ctx;
    int fd;           /* TCP: listening socket; RTU: the serial fd; -1 when closed */
    int64_t retry_ms; /* when to retry opening a closed listener */
    size_t *devices;  /* indices into sc->devices */
    size_t ndevices;
};

struct conn {
    bool used;
    int fd;
    size_t listener;
    uint32_t gen; /* tells a reused slot from the connection a timer refers to */
};

/* A reply held back by the slow fault. */
struct pending {
    bool used;
    int64_t due_ms;
    size_t listener;
    int conn; /* -1 on RTU */
    uint32_t gen;
    size_t device;
    double t; /* the instant the request arrived: the reply shows that instant */
    int req_len;
    uint8_t req[MODBUS_TCP_MAX_ADU_LENGTH];
};

enum slot_kind { SLOT_LISTENER, SLOT_CONN };

struct slot {
    enum slot_kind kind;
    size_t idx;
    uint32_t gen;
};

struct simserver {
    struct scenario *sc;
    struct listener *ls;
    size_t nls;
    modbus_mapping_t **maps; /* per device */
    struct conn conns[MAX_CONNS];
    uint32_t next_gen;
    struct pending pend[MAX_PENDING];
    struct slot *slots; /* what each fd of the last simserver_pollfds() is */
    size_t nslots;
    int64_t t0_ms;
    uint64_t rng;
};

/* xorshift64*: only for the garbage fault's bytes. */
static uint32_t
rng_next(struct simserver *srv)
{
    uint64_t x = srv->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    srv->rng = x;
    return (uint32_t)((x * 0x2545F4914F6CDD1DULL) >> 32);
}

/* ---- register maps ---- */

static modbus_mapping_t *
mapping_build(const struct profile *p)
{
    int lo[4], hi[4]; /* per table: first address, one past the last */

    for (int t = 0; t < 4; t++) {
        lo[t] = 65536;
        hi[t] = 0;
    }
    for (size_t i = 0; i < p->npoints; i++) {
        const struct point *pt = &p->points[i];
        int t = (int)pt->table;
        int end = (int)pt->address + point_width(pt);
        if (pt->address < lo[t])
            lo[t] = pt->address;
        if (end > hi[t])
            hi[t] = end;
    }
    for (int t = 0; t < 4; t++) {
        if (hi[t] == 0) {
            lo[t] = 0; /* no points: an empty table, every read is exception 0x02 */
            hi[t] = 0;
        }
    }
    return modbus_mapping_new_start_address(
        (unsigned)lo[MB_COIL], (unsigned)(hi[MB_COIL] - lo[MB_COIL]), (unsigned)lo[MB_DISCRETE],
        (unsigned)(hi[MB_DISCRETE] - lo[MB_DISCRETE]), (unsigned)lo[MB_HOLDING],
        (unsigned)(hi[MB_HOLDING] - lo[MB_HOLDING]), (unsigned)lo[MB_INPUT],
        (unsigned)(hi[MB_INPUT] - lo[MB_INPUT]));
}

/* Where a register point's words live in the map. */
static uint16_t *
point_regs(modbus_mapping_t *m, const struct point *pt)
{
    if (pt->table == MB_HOLDING)
        return &m->tab_registers[pt->address - m->start_registers];
    return &m->tab_input_registers[pt->address - m->start_input_registers];
}

static uint8_t *
point_bit(modbus_mapping_t *m, const struct point *pt)
{
    if (pt->table == MB_COIL)
        return &m->tab_bits[pt->address - m->start_bits];
    return &m->tab_input_bits[pt->address - m->start_input_bits];
}

/* Encodes every point of device `dev` as the scenario has it at t. */
static void
encode_device(struct simserver *srv, size_t dev, double t)
{
    const struct scn_device *d = &srv->sc->devices[dev];
    modbus_mapping_t *m = srv->maps[dev];

    /* Whole values first, then single bits, so a status bit is not wiped by
     * a whole-word point sharing its register. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < d->profile->npoints; i++) {
            const struct point *pt = &d->profile->points[i];
            double v;

            if ((pt->bit >= 0) != (pass == 1))
                continue;
            v = scenario_value(srv->sc, d->first_signal + i, t);
            if (pt->table == MB_COIL || pt->table == MB_DISCRETE) {
                uint16_t w = 0;
                point_encode(pt, v, &w);
                *point_bit(m, pt) = w ? 1 : 0;
            } else {
                point_encode(pt, v, point_regs(m, pt));
            }
        }
    }
}

static bool
is_write(int fc)
{
    return fc == 0x05 || fc == 0x06 || fc == 0x0F || fc == 0x10 || fc == 0x16 || fc == 0x17;
}

static int
decode_from(const struct point *pt, const uint16_t *regs, const uint8_t *bits, int base, double *v)
{
    if (pt->table == MB_COIL) {
        uint16_t w = bits[pt->address - base];
        return point_decode(pt, &w, v);
    }
    return point_decode(pt, &regs[pt->address - base], v);
}

/* A peer wrote holding registers or coils: what it wrote becomes the
 * point's held value, as on a real device, instead of being overwritten by
 * the scenario at the next read. */
static void
apply_writes(struct simserver *srv, size_t dev, const uint16_t *old_regs, const uint8_t *old_bits)
{
    const struct scn_device *d = &srv->sc->devices[dev];
    modbus_mapping_t *m = srv->maps[dev];

    for (size_t i = 0; i < d->profile->npoints; i++) {
        const struct point *pt = &d->profile->points[i];
        int base = pt->table == MB_COIL ? m->start_bits : m->start_registers;
        double before, after;
        int rb, ra;

        if (pt->table != MB_COIL && pt->table != MB_HOLDING)
            continue;
        rb = decode_from(pt, old_regs, old_bits, base, &before);
        ra = decode_from(pt, m->tab_registers, m->tab_bits, base, &after);
        if (ra == 0 && (rb != 0 || before != after)) {
            char name[2 * NAME_MAX_LEN + 2];
            scenario_signal_name(srv->sc, d->first_signal + i, name, sizeof(name));
            scenario_hold(srv->sc, d->first_signal + i, after);
            log_info("peer wrote %s = %g (held until 'release %s')", name, after, name);
        }
    }
}

/* Encodes the device at t and answers with libmodbus.  Returns 0 or -errno. */
static int
reply_now(struct simserver *srv, struct listener *l, size_t dev, const uint8_t *req, int len,
          double t)
{
    modbus_mapping_t *m = srv->maps[dev];
    int hdr = modbus_get_header_length(l->ctx);
    uint16_t *old_regs = NULL;
    uint8_t *old_bits = NULL;
    int rc, e;

    encode_device(srv, dev, t);
    if (is_write(req[hdr])) {
        old_regs = malloc((size_t)m->nb_registers * sizeof(uint16_t) + 1);
        old_bits = malloc((size_t)m->nb_bits + 1);
        if (old_regs == NULL || old_bits == NULL) {
            free(old_regs);
            free(old_bits);
            return -ENOMEM;
        }
        if (m->nb_registers > 0)
            memcpy(old_regs, m->tab_registers, (size_t)m->nb_registers * sizeof(uint16_t));
        if (m->nb_bits > 0)
            memcpy(old_bits, m->tab_bits, (size_t)m->nb_bits);
    }
    rc = modbus_reply(l->ctx, req, len, m);
    e = errno;
    if (old_regs != NULL)
        apply_writes(srv, dev, old_regs, old_bits);
    free(old_regs);
    free(old_bits);
    return rc < 0 ? -e : 0;
}

/* Bytes that are not a Modbus frame.  On TCP the MBAP protocol identifier
 * (bytes 2-3) must be 0, so a non-zero one is rejected by any client; on RTU
 * the first byte differs from the unit id the master asked, so the reply is
 * not taken for that slave's. */
static int
send_garbage(struct simserver *srv, struct listener *l, int fd, int unit)
{
    uint8_t buf[16];
    size_t n = 5 + rng_next(srv) % 10;

    for (size_t i = 0; i < n; i++)
        buf[i] = (uint8_t)rng_next(srv);
    if (l->cfg->kind == SCN_TCP)
        buf[2] |= 0x80;
    else
        buf[0] = (uint8_t)(unit ^ 0xA5);
    if (write(fd, buf, n) < 0)
        return -errno;
    return 0;
}

/* ---- listeners and connections ---- */

static void
conn_close(struct simserver *srv, int ci)
{
    struct conn *c = &srv->conns[ci];

    if (!c->used)
        return;
    close(c->fd);
    c->used = false;
    c->fd = -1;
    for (size_t i = 0; i < MAX_PENDING; i++)
        if (srv->pend[i].used && srv->pend[i].conn == ci && srv->pend[i].gen == c->gen)
            srv->pend[i].used = false;
}

static void
listener_close(struct simserver *srv, struct listener *l, int64_t now_ms)
{
    if (l->fd < 0)
        return;
    if (l->cfg->kind == SCN_RTU) {
        modbus_close(l->ctx); /* restores the line's termios and closes */
        for (size_t i = 0; i < MAX_PENDING; i++)
            if (srv->pend[i].used && &srv->ls[srv->pend[i].listener] == l)
                srv->pend[i].used = false;
    } else {
        close(l->fd);
    }
    l->fd = -1;
    l->retry_ms = now_ms + REOPEN_MS;
}

static int
listener_open(struct listener *l)
{
    int fd, e;

    if (l->cfg->kind == SCN_TCP) {
        fd = modbus_tcp_listen(l->ctx, 16);
        if (fd < 0)
            return -errno;
        /* accept() only runs when poll() reports a connection, but the
         * client may be gone by then: never block there. */
        if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0 ||
            fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
            e = errno;
            close(fd);
            return -e;
        }
    } else {
        if (modbus_connect(l->ctx) < 0)
            return -errno;
        fd = modbus_get_socket(l->ctx);
    }
    l->fd = fd;
    return 0;
}

static const char *
listener_addr(const struct listener *l, char *buf, size_t len)
{
    if (l->cfg->kind == SCN_TCP)
        snprintf(buf, len, "tcp %s:%d", l->cfg->host, l->cfg->port);
    else
        snprintf(buf, len, "rtu %s %d %c81", l->cfg->device, l->cfg->baud, l->cfg->parity);
    return buf;
}

int
simserver_new(struct scenario *sc, struct simserver **out, char *errbuf, size_t len)
{
    struct simserver *srv = xcalloc(1, sizeof(*srv));

    srv->sc = sc;
    srv->rng = sc->seed * 0x9E3779B97F4A7C15ULL + 1;
    srv->nls = sc->nlisteners;
    srv->ls = xcalloc(srv->nls ? srv->nls : 1, sizeof(*srv->ls));
    srv->maps = xcalloc(sc->ndevices ? sc->ndevices : 1, sizeof(*srv->maps));
    srv->slots = xcalloc(srv->nls + MAX_CONNS, sizeof(*srv->slots));
    for (size_t i = 0; i < MAX_CONNS; i++)
        srv->conns[i].fd = -1;
    *out = srv;

    for (size_t i = 0; i < srv->nls; i++) {
        struct listener *l = &srv->ls[i];
        const struct scn_listener *c = &sc->listeners[i];

        l->cfg = c;
        l->fd = -1;
        l->devices = xcalloc(sc->ndevices ? sc->ndevices : 1, sizeof(*l->devices));
        if (c->kind == SCN_TCP)
            l->ctx = modbus_new_tcp(strcmp(c->host, "0.0.0.0") == 0 ? NULL : c->host, c->port);
        else
            l->ctx = modbus_new_rtu(c->device, c->baud, c->parity, 8, 1);
        if (l->ctx == NULL) {
            snprintf(errbuf, len, "listener %s: cannot create a libmodbus context: %s", c->name,
                     modbus_strerror(errno));
            return -EINVAL;
        }
        modbus_set_indication_timeout(l->ctx, 0, INDICATION_TIMEOUT_US);
        modbus_set_byte_timeout(l->ctx, 0, BYTE_TIMEOUT_US);
        modbus_set_response_timeout(l->ctx, 0, RESPONSE_TIMEOUT_US);
    }
    for (size_t d = 0; d < sc->ndevices; d++) {
        struct listener *l = &srv->ls[sc->devices[d].listener];
        srv->maps[d] = mapping_build(sc->devices[d].profile);
        if (srv->maps[d] == NULL) {
            snprintf(errbuf, len, "device %s: cannot allocate its register map",
                     sc->devices[d].name);
            return -ENOMEM;
        }
        l->devices[l->ndevices++] = d;
        if (l->cfg->kind == SCN_RTU)
            modbus_set_slave(l->ctx, sc->devices[d].slave);
    }
    return 0;
}

int
simserver_open(struct simserver *srv, char *errbuf, size_t len)
{
    char addr[320];

    for (size_t i = 0; i < srv->nls; i++) {
        struct listener *l = &srv->ls[i];
        int rc = listener_open(l);
        if (rc < 0) {
            snprintf(errbuf, len, "listener %s (%s): %s", l->cfg->name,
                     listener_addr(l, addr, sizeof(addr)), strerror(-rc));
            return rc;
        }
        log_info("listening on %s (%s, %zu device%s)", l->cfg->name,
                 listener_addr(l, addr, sizeof(addr)), l->ndevices, l->ndevices == 1 ? "" : "s");
    }
    return 0;
}

void
simserver_start(struct simserver *srv, int64_t now_ms)
{
    srv->t0_ms = now_ms;
}

double
simserver_time(const struct simserver *srv, int64_t now_ms)
{
    return (double)(now_ms - srv->t0_ms) / 1000.0;
}

size_t
simserver_nlisteners(const struct simserver *srv)
{
    return srv->nls;
}

size_t
simserver_maxfds(const struct simserver *srv)
{
    return srv->nls + MAX_CONNS;
}

size_t
simserver_pollfds(struct simserver *srv, struct pollfd *fds, size_t max)
{
    size_t n = 0;

    for (size_t i = 0; i < srv->nls && n < max; i++) {
        if (srv->ls[i].fd < 0)
            continue;
        fds[n] = (struct pollfd){.fd = srv->ls[i].fd, .events = POLLIN};
        srv->slots[n++] = (struct slot){.kind = SLOT_LISTENER, .idx = i};
    }
    for (size_t i = 0; i < MAX_CONNS && n < max; i++) {
        if (!srv->conns[i].used)
            continue;
        fds[n] = (struct pollfd){.fd = srv->conns[i].fd, .events = POLLIN};
        srv->slots[n++] = (struct slot){.kind = SLOT_CONN, .idx = i, .gen = srv->conns[i].gen};
    }
    srv->nslots = n;
    return n;
}

static void
accept_conn(struct simserver *srv, size_t li)
{
    struct listener *l = &srv->ls[li];
    int s = l->fd, fd, one = 1, ci = -1;

    fd = modbus_tcp_accept(l->ctx, &s);
    if (fd < 0) {
        if (s < 0) {
            /* Some libmodbus versions close the listening socket when
             * accept() fails: listen again on the next timer. */
            l->fd = -1;
            l->retry_ms = mono_ms() + REOPEN_MS;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNABORTED && errno != EINTR)
            log_warn("%s: accept", l->cfg->name);
        return;
    }
    for (int i = 0; i < MAX_CONNS; i++) {
        if (!srv->conns[i].used) {
            ci = i;
            break;
        }
    }
    if (ci < 0) {
        log_warnx("%s: more than %d connections, refusing one", l->cfg->name, MAX_CONNS);
        close(fd);
        return;
    }
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    /* Replies are single small writes; do not let Nagle hold them back. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    srv->conns[ci] = (struct conn){.used = true, .fd = fd, .listener = li, .gen = ++srv->next_gen};
    log_debug("%s: connection %d accepted (fd %d)", l->cfg->name, ci, fd);
}

static int
device_for_unit(const struct simserver *srv, const struct listener *l, int unit)
{
    /* On RTU libmodbus has already dropped requests for other slaves, and
     * unit 0 is a broadcast to the one device. */
    if (l->cfg->kind == SCN_RTU)
        return l->ndevices > 0 ? (int)l->devices[0] : -1;
    for (size_t i = 0; i < l->ndevices; i++)
        if (srv->sc->devices[l->devices[i]].slave == unit)
            return (int)l->devices[i];
    return -1;
}

static void
queue_reply(struct simserver *srv, size_t li, int ci, size_t dev, const uint8_t *req, int len,
            double t, int64_t due_ms)
{
    for (size_t i = 0; i < MAX_PENDING; i++) {
        struct pending *p = &srv->pend[i];
        if (p->used)
            continue;
        p->used = true;
        p->due_ms = due_ms;
        p->listener = li;
        p->conn = ci;
        p->gen = ci >= 0 ? srv->conns[ci].gen : 0;
        p->device = dev;
        p->t = t;
        p->req_len = len;
        memcpy(p->req, req, (size_t)len);
        return;
    }
    log_warnx("%s: more than %d delayed replies queued, dropping one", srv->sc->devices[dev].name,
              MAX_PENDING);
}

/* Reads one request from a connection (ci >= 0) or an RTU line and acts on it. */
static void
serve(struct simserver *srv, size_t li, int ci, int64_t now_ms)
{
    struct listener *l = &srv->ls[li];
    uint8_t req[MODBUS_TCP_MAX_ADU_LENGTH];
    int fd = ci >= 0 ? srv->conns[ci].fd : l->fd;
    double t = simserver_time(srv, now_ms);
    int len, hdr, unit, fc, dev, rc = 0;
    unsigned addr, qty;
    enum scn_fault fault;
    int64_t delay_ms;
    const char *what;

    if (ci >= 0)
        modbus_set_socket(l->ctx, fd);
    len = modbus_receive(l->ctx, req);
    if (len == 0)
        return; /* RTU: a request for another slave on the bus */
    if (len < 0) {
        int e = errno;
        if (ci >= 0) {
            if (e == ECONNRESET)
                log_debug("%s: connection %d closed by the peer", l->cfg->name, ci);
            else
                log_warnx("%s: connection %d: %s; closing it", l->cfg->name, ci,
                          modbus_strerror(e));
            conn_close(srv, ci);
        } else if (e == EIO || e == ECONNRESET || e == EBADF) {
            /* libmodbus maps a read of 0 bytes to ECONNRESET: on a serial
             * line that means the other end (a pty's master) went away. */
            log_warnx("%s: %s: %s; reopening in %d ms", l->cfg->name, l->cfg->device,
                      e == ECONNRESET ? "end of file" : modbus_strerror(e), REOPEN_MS);
            listener_close(srv, l, now_ms);
        } else {
            /* A bad CRC or a partial frame on the line: real buses have these. */
            log_debug("%s: bad frame: %s", l->cfg->name, modbus_strerror(e));
        }
        return;
    }
    hdr = modbus_get_header_length(l->ctx);
    unit = req[hdr - 1];
    fc = req[hdr];
    addr = len > hdr + 2 ? (unsigned)(req[hdr + 1] << 8 | req[hdr + 2]) : 0;
    qty = len > hdr + 4 ? (unsigned)(req[hdr + 3] << 8 | req[hdr + 4]) : 0;
    dev = device_for_unit(srv, l, unit);
    if (dev < 0) {
        /* A TCP gateway answers 0x0B when the unit behind it does not
         * respond; clients then fail fast instead of waiting a timeout. */
        log_debug("%s: unit %d fc 0x%02x addr %u: no such unit, exception 0x0B", l->cfg->name, unit,
                  fc, addr);
        if (modbus_reply_exception(l->ctx, req, MODBUS_EXCEPTION_GATEWAY_TARGET) < 0 && ci >= 0)
            conn_close(srv, ci);
        return;
    }
    fault = scenario_fault(srv->sc, (size_t)dev, t, &delay_ms);
    if (l->cfg->kind == SCN_RTU && unit == 0)
        fault = SCN_FAULT_NONE; /* broadcasts are never answered anyway */
    switch (fault) {
    case SCN_FAULT_DROPOUT:
        what = "dropout, no reply";
        break;
    case SCN_FAULT_EXCEPTION:
        what = "exception 0x04";
        if (modbus_reply_exception(l->ctx, req, MODBUS_EXCEPTION_SLAVE_OR_SERVER_FAILURE) < 0)
            rc = -errno;
        break;
    case SCN_FAULT_GARBAGE:
        what = "garbage";
        rc = send_garbage(srv, l, fd, unit);
        break;
    case SCN_FAULT_SLOW:
        what = "slow, reply queued";
        queue_reply(srv, li, ci, (size_t)dev, req, len, t, now_ms + delay_ms);
        break;
    default:
        what = "reply";
        rc = reply_now(srv, l, (size_t)dev, req, len, t);
        break;
    }
    log_debug("%s: t=%.3f unit %d (%s) fc 0x%02x addr %u n %u: %s", l->cfg->name, t, unit,
              srv->sc->devices[dev].name, fc, addr, qty, what);
    if (rc < 0) {
        if (ci >= 0) {
            log_debug("%s: connection %d: send: %s; closing it", l->cfg->name, ci, strerror(-rc));
            conn_close(srv, ci);
        } else {
            log_warnx("%s: write: %s", l->cfg->name, strerror(-rc));
        }
    }
}

void
simserver_handle(struct simserver *srv, const struct pollfd *fds, size_t n, int64_t now_ms)
{
    for (size_t i = 0; i < n && i < srv->nslots; i++) {
        const struct slot *s = &srv->slots[i];
        short re = fds[i].revents;

        if (re == 0)
            continue;
        if (s->kind == SLOT_CONN) {
            struct conn *c = &srv->conns[s->idx];
            if (!c->used || c->gen != s->gen)
                continue; /* closed (and maybe reused) earlier in this pass */
            /* POLLHUP/POLLERR too: modbus_receive then reports the error. */
            serve(srv, c->listener, (int)s->idx, now_ms);
            continue;
        }
        struct listener *l = &srv->ls[s->idx];
        if (l->fd != fds[i].fd)
            continue;
        if (l->cfg->kind == SCN_TCP) {
            if (re & POLLIN)
                accept_conn(srv, s->idx);
        } else if (re & POLLIN) {
            serve(srv, s->idx, -1, now_ms);
        } else if (re & (POLLHUP | POLLERR | POLLNVAL)) {
            /* The other end of a pty pair went away, or the adapter was unplugged. */
            log_warnx("%s: %s hung up; reopening in %d ms", l->cfg->name, l->cfg->device,
                      REOPEN_MS);
            listener_close(srv, l, now_ms);
        }
    }
}

int
simserver_timeout(const struct simserver *srv, int64_t now_ms)
{
    int64_t next = INT64_MAX;

    for (size_t i = 0; i < MAX_PENDING; i++)
        if (srv->pend[i].used && srv->pend[i].due_ms < next)
            next = srv->pend[i].due_ms;
    for (size_t i = 0; i < srv->nls; i++)
        if (srv->ls[i].fd < 0 && srv->ls[i].retry_ms < next)
            next = srv->ls[i].retry_ms;
    if (next == INT64_MAX)
        return -1;
    if (next <= now_ms)
        return 0;
    return next - now_ms > 60000 ? 60000 : (int)(next - now_ms);
}

void
simserver_timers(struct simserver *srv, int64_t now_ms)
{
    char addr[320];

    for (size_t i = 0; i < MAX_PENDING; i++) {
        struct pending *p = &srv->pend[i];
        struct listener *l;
        int rc;

        if (!p->used || p->due_ms > now_ms)
            continue;
        p->used = false;
        l = &srv->ls[p->listener];
        if (p->conn >= 0) {
            struct conn *c = &srv->conns[p->conn];
            if (!c->used || c->gen != p->gen)
                continue;
            modbus_set_socket(l->ctx, c->fd);
        } else if (l->fd < 0) {
            continue;
        }
        rc = reply_now(srv, l, p->device, p->req, p->req_len, p->t);
        log_debug("%s: delayed reply to %s sent (%lld ms late)", l->cfg->name,
                  srv->sc->devices[p->device].name, (long long)(now_ms - p->due_ms));
        if (rc < 0 && p->conn >= 0)
            conn_close(srv, p->conn);
    }
    for (size_t i = 0; i < srv->nls; i++) {
        struct listener *l = &srv->ls[i];
        int rc;

        if (l->fd >= 0 || l->retry_ms > now_ms)
            continue;
        rc = listener_open(l);
        if (rc < 0) {
            l->retry_ms = now_ms + REOPEN_MS;
            log_debug("%s: reopen: %s", l->cfg->name, strerror(-rc));
        } else {
            log_info("%s: listening again on %s", l->cfg->name,
                     listener_addr(l, addr, sizeof(addr)));
        }
    }
}

void
simserver_free(struct simserver *srv)
{
    if (srv == NULL)
        return;
    for (int i = 0; i < MAX_CONNS; i++)
        conn_close(srv, i);
    for (size_t i = 0; i < srv->nls; i++) {
        struct listener *l = &srv->ls[i];
        if (l->ctx != NULL) {
            listener_close(srv, l, 0);
            /* The TCP context's socket is whichever connection it served
             * last, already closed above: do not let libmodbus close it. */
            modbus_set_socket(l->ctx, -1);
            modbus_free(l->ctx);
        }
        free(l->devices);
    }
    for (size_t d = 0; d < srv->sc->ndevices; d++)
        if (srv->maps[d] != NULL)
            modbus_mapping_free(srv->maps[d]);
    free(srv->maps);
    free(srv->ls);
    free(srv->slots);
    free(srv);
}
