/*
 * node.c - the node's main loop body.
 */
#include "node.h"

#include <errno.h>
#include <string.h>

#include "selftest.h"

#define LED_SLOW_US 500000u /* heartbeat: healthy */
#define LED_FAST_US 100000u /* any fault bit set */

static int
mb_read(void *ctx, enum mb_table table, uint16_t addr, uint16_t count, uint16_t *out)
{
    struct node *n = ctx;

    return regmap_read(&n->map, table, addr, count, out);
}

static int
mb_write(void *ctx, uint16_t addr, uint16_t count, const uint16_t *vals)
{
    struct node *n = ctx;

    return regmap_write(&n->map, addr, count, vals, n->now);
}

static const struct mb_handler handler = {mb_read, mb_write};

/* Puts the saved line settings and address in force. */
static int
apply_line(struct node *n)
{
    const struct settings *s = &n->map.saved;

    mb_rtu_set_line(&n->rtu, (uint8_t)s->slave, settings_baud(s), n->cfg.min_t35_us,
                    n->cfg.strict_t15);
    return n->port->uart_config(settings_baud(s), (enum port_parity)s->parity);
}

static void
refresh_inputs(struct node *n)
{
    uint16_t *in = n->map.in;
    const struct sampling *s = &n->smp;

    in[REG_UPTIME_HI] = (uint16_t)(n->uptime_s >> 16);
    in[REG_UPTIME_LO] = (uint16_t)n->uptime_s;
    in[REG_FAULTS] = s->faults;
    if (n->map.selftest)
        in[REG_FAULTS] |= FAULT_SELFTEST;
    for (unsigned i = 0; i < SAMPLING_MODULES; i++)
        in[REG_MODULE1 + i] = (uint16_t)sampling_temp(s, i);
    in[REG_HOTTEST] = (uint16_t)s->hottest;
    in[REG_ROR] = (uint16_t)s->ror;
    in[REG_CONTACT] = s->contact.state;
    in[REG_GAS_PPM] = s->gas_ppm;
    in[REG_GAS_ALARM] = s->gas_alarm;
}

/* Fetches one sample period's inputs through the port and updates the
 * readings. */
static void
sample(struct node *n)
{
    struct sampling_input in;

    for (unsigned ch = 0; ch < PORT_ADC_COUNT; ch++)
        in.raw[ch] = n->port->adc_read(ch);
    in.contact = n->port->input_read(PORT_IN_CONTACT);
    sampling_update(&n->smp, &in, n->map.saved.gas_setpoint);
    if (n->smp.adc_error)
        n->map.selftest |= SELFTEST_ADC;
}

/* A new run replaces the bits, including those the node added since the
 * last one (a failed conversion or save): those come back if the fault
 * persists. */
static void
selftest(struct node *n)
{
    n->map.selftest = (uint16_t)selftest_run(n->port, &n->cfg.sampling.therm);
}

int
node_init(struct node *n, const struct port *port, const struct node_config *cfg)
{
    struct settings s = cfg->factory;
    int rc;

    memset(n, 0, sizeof(*n));
    n->port = port;
    n->cfg = *cfg;
    n->now = port->now_us();
    n->last_us = n->now;

    /* The jumper restores the factory settings for good, not just for this
     * run: it exists for the engineer who has lost track of the address or
     * the baud rate. */
    n->factory_reset = port->input_read(PORT_IN_FACTORY) == 1;
    if (n->factory_reset) {
        n->settings_rc = settings_save(&s, port);
    } else {
        n->settings_rc = settings_load(&s, port);
        if (n->settings_rc < 0)
            s = cfg->factory;
    }
    mb_rtu_init(&n->rtu, port, &handler, n);
    regmap_init(&n->map, &s, &n->rtu.stats);
    rc = apply_line(n);
    if (rc < 0)
        return rc;

    selftest(n);
    if (n->factory_reset && n->settings_rc < 0 && n->settings_rc != -ENOSYS)
        n->map.selftest |= SELFTEST_NV;
    sampling_init(&n->smp, &cfg->sampling);
    sample(n);
    n->next_sample = n->now + (uint32_t)cfg->sampling.sample_ms * 1000u;
    n->next_led = n->now;
    refresh_inputs(n);
    return 0;
}

/* True once port time t has been reached. */
static bool
due(const struct node *n, uint32_t t)
{
    return (int32_t)(n->now - t) >= 0;
}

static void
after_request(struct node *n)
{
    unsigned req = regmap_take_requests(&n->map);

    if (req & REGMAP_REQ_COMMIT) {
        /* The reply has already gone out with the old address and line, as
         * the master expects; save first, so a power cut between the two
         * steps leaves the node on settings it will come back with. */
        int rc = settings_save(&n->map.saved, n->port);

        if (rc < 0 && rc != -ENOSYS)
            n->map.selftest |= SELFTEST_NV;
        (void)apply_line(n);
    }
    if (req & REGMAP_REQ_SELFTEST)
        selftest(n);
}

void
node_poll(struct node *n)
{
    const struct port *p = n->port;
    uint32_t t, d;
    int c;

    n->now = p->now_us();
    while ((c = p->uart_getc(&t)) != -EAGAIN) {
        mb_rtu_rx(&n->rtu, c, t);
        after_request(n);
    }
    /* Read the clock after the last byte, so it is not older than it. */
    n->now = p->now_us();
    mb_rtu_poll(&n->rtu, n->now);
    after_request(n);
    regmap_tick(&n->map, n->now);

    d = n->now - n->last_us;
    n->last_us = n->now;
    n->frac_us += d;
    while (n->frac_us >= 1000000u) {
        n->frac_us -= 1000000u;
        n->uptime_s++;
    }

    if (due(n, n->next_sample)) {
        uint32_t period = (uint32_t)n->cfg.sampling.sample_ms * 1000u;

        sample(n);
        n->next_sample += period;
        /* After a long stall (a flash erase, a debugger) do not run a burst
         * of samples to catch up: restart the schedule from now. */
        if (due(n, n->next_sample))
            n->next_sample = n->now + period;
    }
    refresh_inputs(n);

    if (due(n, n->next_led)) {
        n->led_on = !n->led_on;
        (void)p->led_set(n->led_on);
        n->next_led = n->now + (n->map.in[REG_FAULTS] ? LED_FAST_US : LED_SLOW_US);
    }
    (void)p->watchdog_kick();
}

uint32_t
node_wait_us(const struct node *n)
{
    uint32_t now = n->port->now_us();
    uint32_t w = mb_rtu_wait_us(&n->rtu, now);
    int32_t s = (int32_t)(n->next_sample - now);
    int32_t l = (int32_t)(n->next_led - now);

    if (s < 0)
        s = 0;
    if (l < 0)
        l = 0;
    if ((uint32_t)s < w)
        w = (uint32_t)s;
    if ((uint32_t)l < w)
        w = (uint32_t)l;
    return w;
}

const struct settings *
node_settings(const struct node *n)
{
    return &n->map.saved;
}
