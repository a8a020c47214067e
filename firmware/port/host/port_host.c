/*
 * port_host.c - struct port on Linux.
 *
 * One instance per process, like the hardware it stands in for, so the
 * state is file-static.  Nothing here prints: errors go back as -errno and
 * the program's main decides what to log.
 */
#include "port_host.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define RXQ 1024
#define TXQ 4096

static struct {
    bool real_clock;
    uint32_t clock;
    int fd;
    /* Received bytes waiting for uart_getc: value (or -EIO) and time. */
    int rx[RXQ];
    uint32_t rx_t[RXQ];
    unsigned rx_head, rx_n;
    uint8_t tx[TXQ];
    unsigned tx_head, tx_n;
    int adc[PORT_ADC_COUNT];
    int input[PORT_IN_COUNT];
    int selftest;
    /* Settings storage. */
    enum { NV_MEMORY, NV_FILE, NV_NONE } nv_kind;
    char nv_path[4096];
    uint8_t nv[64];
    size_t nv_len;
    int nv_fail;
    /* Recording. */
    unsigned long seq;
    unsigned count[HOST_OP_COUNT];
    struct host_call last[HOST_OP_COUNT];
} h = {.fd = -1}; /* host_port_reset() sets the rest */

static uint32_t
now_us(void)
{
    struct timespec ts;

    if (!h.real_clock)
        return h.clock;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)((uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u);
}

static void
record(enum host_op op, long a, long b)
{
    struct host_call *c = &h.last[op];

    c->seq = ++h.seq;
    c->t_us = now_us();
    c->a = a;
    c->b = b;
    h.count[op]++;
}

void
host_port_reset(void)
{
    memset(&h, 0, sizeof(h));
    h.fd = -1;
    for (unsigned i = 0; i < PORT_ADC_COUNT; i++)
        h.adc[i] = PORT_ADC_FULL / 2;
    h.nv_kind = NV_MEMORY;
}

void
host_clock_set(uint32_t us)
{
    h.real_clock = false;
    h.clock = us;
}

void
host_clock_advance(uint32_t us)
{
    h.clock += us;
}

void
host_clock_real(void)
{
    h.real_clock = true;
}

void
host_port_attach(int fd)
{
    h.fd = fd;
}

static void
rx_push(int c, uint32_t t)
{
    unsigned i;

    if (h.rx_n == RXQ)
        return; /* an overrun, as on a UART: the byte is lost */
    i = (h.rx_head + h.rx_n++) % RXQ;
    h.rx[i] = c;
    h.rx_t[i] = t;
}

void
host_port_rx(const uint8_t *buf, size_t len, uint32_t t_us)
{
    for (size_t i = 0; i < len; i++)
        rx_push(buf[i], t_us);
}

void
host_port_rx_error(uint32_t t_us)
{
    rx_push(-EIO, t_us);
}

size_t
host_port_tx(uint8_t *buf, size_t max)
{
    size_t n = 0;

    while (n < max && h.tx_n > 0) {
        buf[n++] = h.tx[h.tx_head];
        h.tx_head = (h.tx_head + 1) % TXQ;
        h.tx_n--;
    }
    return n;
}

static int
uart_config(uint32_t baud, enum port_parity parity)
{
    static const struct {
        uint32_t baud;
        speed_t speed;
    } speeds[] = {{4800, B4800},   {9600, B9600},   {19200, B19200},
                  {38400, B38400}, {57600, B57600}, {115200, B115200}};
    struct termios tio;
    speed_t sp = 0;

    record(HOST_UART_CONFIG, (long)baud, parity);
    if (h.fd < 0)
        return 0;
    for (size_t i = 0; i < sizeof(speeds) / sizeof(speeds[0]); i++)
        if (speeds[i].baud == baud)
            sp = speeds[i].speed;
    if (sp == 0)
        return -EINVAL;
    if (tcgetattr(h.fd, &tio) < 0)
        return errno == ENOTTY ? 0 : -errno;
    cfmakeraw(&tio);
    tio.c_cflag |= CLOCAL | CREAD;
    tio.c_cflag &= ~(CSIZE | PARENB | PARODD | CSTOPB);
    tio.c_cflag |= CS8;
    if (parity == PORT_PARITY_NONE)
        tio.c_cflag |= CSTOPB;
    else
        tio.c_cflag |= PARENB | (parity == PORT_PARITY_ODD ? PARODD : 0);
    tio.c_cc[VMIN] = 0;
    tio.c_cc[VTIME] = 0;
    cfsetispeed(&tio, sp);
    cfsetospeed(&tio, sp);
    if (tcsetattr(h.fd, TCSANOW, &tio) < 0) {
        /* A pty has no line: recent kernels refuse parity on it (EINVAL).
         * Keep it raw at the speed; a real adapter never gets here. */
        tio.c_cflag &= ~(PARENB | PARODD | CSTOPB);
        if (tcsetattr(h.fd, TCSANOW, &tio) < 0)
            return -errno;
    }
    return 0;
}

static int
uart_getc(uint32_t *t_us)
{
    int c;

    if (h.rx_n == 0 && h.fd >= 0) {
        uint8_t buf[256];
        ssize_t n = read(h.fd, buf, sizeof(buf));

        if (n > 0)
            host_port_rx(buf, (size_t)n, now_us());
    }
    if (h.rx_n == 0)
        return -EAGAIN;
    c = h.rx[h.rx_head];
    *t_us = h.rx_t[h.rx_head];
    h.rx_head = (h.rx_head + 1) % RXQ;
    h.rx_n--;
    return c;
}

/* Writes all of buf to the non-blocking fd, waiting for room if needed. */
static int
write_all(const uint8_t *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(h.fd, buf, len);

        if (n < 0) {
            struct pollfd pfd = {.fd = h.fd, .events = POLLOUT};

            if (errno == EINTR)
                continue;
            if (errno != EAGAIN)
                return -errno;
            if (poll(&pfd, 1, 1000) <= 0)
                return -ETIMEDOUT;
            continue;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

static int
uart_write(const uint8_t *buf, size_t len)
{
    record(HOST_UART_WRITE, (long)len, len ? buf[0] : -1);
    for (size_t i = 0; i < len; i++) {
        if (h.tx_n == TXQ) { /* keep the newest bytes */
            h.tx_head = (h.tx_head + 1) % TXQ;
            h.tx_n--;
        }
        h.tx[(h.tx_head + h.tx_n++) % TXQ] = buf[i];
    }
    return h.fd >= 0 ? write_all(buf, len) : 0;
}

void
host_port_set_adc(unsigned ch, int count)
{
    if (ch < PORT_ADC_COUNT)
        h.adc[ch] = count;
}

int
host_port_adc(unsigned ch)
{
    return ch < PORT_ADC_COUNT ? h.adc[ch] : -EINVAL;
}

static int
adc_read(unsigned ch)
{
    int v = ch < PORT_ADC_COUNT ? h.adc[ch] : -EINVAL;

    record(HOST_ADC_READ, (long)ch, v);
    return v;
}

void
host_port_set_input(enum port_input in, int v)
{
    if ((unsigned)in < PORT_IN_COUNT)
        h.input[in] = v;
}

static int
input_read(enum port_input in)
{
    int v = (unsigned)in < PORT_IN_COUNT ? h.input[in] : -EINVAL;

    record(HOST_INPUT_READ, in, v);
    return v;
}

void
host_port_set_selftest(int rc)
{
    h.selftest = rc;
}

static int
selftest(void)
{
    record(HOST_SELFTEST, h.selftest, 0);
    return h.selftest;
}

int
host_port_nv_file(const char *path)
{
    if (strlen(path) >= sizeof(h.nv_path))
        return -ENAMETOOLONG;
    strcpy(h.nv_path, path);
    h.nv_kind = NV_FILE;
    return 0;
}

void
host_port_nv_none(void)
{
    h.nv_kind = NV_NONE;
}

void
host_port_nv_fail(int err)
{
    h.nv_fail = err;
}

static int
nv_load(void *buf, size_t len)
{
    int rc = 0;

    if (h.nv_kind == NV_NONE) {
        rc = -ENOSYS;
    } else if (h.nv_kind == NV_MEMORY) {
        /* Never saved reads like erased flash. */
        memset(buf, 0xFF, len);
        memcpy(buf, h.nv, h.nv_len < len ? h.nv_len : len);
    } else {
        int fd = open(h.nv_path, O_RDONLY | O_CLOEXEC);
        ssize_t n;

        memset(buf, 0xFF, len);
        if (fd < 0) {
            rc = errno == ENOENT ? 0 : -errno;
        } else {
            n = read(fd, buf, len);
            if (n < 0)
                rc = -errno;
            close(fd);
        }
    }
    record(HOST_NV_LOAD, (long)len, rc);
    return rc;
}

/* Writes the file beside its final name and renames it, so a kill during
 * the save leaves the old settings, like a flash page written after erase
 * leaves a block whose CRC fails. */
static int
nv_save_file(const void *buf, size_t len)
{
    char tmp[sizeof(h.nv_path) + 8];
    int fd, rc = 0;

    snprintf(tmp, sizeof(tmp), "%s.tmp", h.nv_path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    errno = 0;
    if (write(fd, buf, len) != (ssize_t)len || fsync(fd) < 0)
        rc = errno ? -errno : -EIO;
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, h.nv_path) < 0)
        rc = -errno;
    if (rc < 0)
        unlink(tmp);
    return rc;
}

static int
nv_save(const void *buf, size_t len)
{
    int rc = 0;

    if (h.nv_kind == NV_NONE)
        rc = -ENOSYS;
    else if (h.nv_fail)
        rc = h.nv_fail;
    else if (h.nv_kind == NV_MEMORY && len > sizeof(h.nv))
        rc = -ENOSPC;
    else if (h.nv_kind == NV_MEMORY)
        memcpy(h.nv, buf, h.nv_len = len);
    else
        rc = nv_save_file(buf, len);
    record(HOST_NV_SAVE, (long)len, rc);
    return rc;
}

static int
watchdog_kick(void)
{
    record(HOST_WATCHDOG, 0, 0);
    return -ENOSYS;
}

static int
led_set(int on)
{
    record(HOST_LED, on, 0);
    return -ENOSYS;
}

unsigned
host_port_count(enum host_op op)
{
    return h.count[op];
}

const struct host_call *
host_port_last(enum host_op op)
{
    return h.count[op] ? &h.last[op] : NULL;
}

const struct port port_host = {
    .now_us = now_us,
    .uart_config = uart_config,
    .uart_getc = uart_getc,
    .uart_write = uart_write,
    .adc_read = adc_read,
    .input_read = input_read,
    .nv_load = nv_load,
    .nv_save = nv_save,
    .selftest = selftest,
    .watchdog_kick = watchdog_kick,
    .led_set = led_set,
};
