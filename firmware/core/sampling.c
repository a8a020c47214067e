/*
 * sampling.c - readings from raw inputs.
 *
 * A sensor fault is confirmed only after fault_samples samples in a row, so
 * one noisy conversion neither raises a fault nor, while a fault is being
 * confirmed, pulls the filtered temperature: out-of-range samples never
 * enter the moving average.  A confirmed fault empties the filter and the
 * rate-of-rise history, so a reconnected sensor starts from its own first
 * reading instead of a mix with whatever the open input read.
 */
#include "sampling.h"

#include <string.h>

enum { CLASS_OK = 0, CLASS_OPEN = 1, CLASS_SHORT = 2, CLASS_BAD = 3 };

/* Feeds one observation; returns 1 when the confirmed state changed. */
static int
debounce(struct debounce *d, uint8_t v, uint8_t samples)
{
    if (v == d->state) {
        d->count = 0;
        return 0;
    }
    if (v != d->next) {
        d->next = v;
        d->count = 0;
    }
    if (++d->count < samples)
        return 0;
    d->state = v;
    d->count = 0;
    return 1;
}

static void
channel_reset(struct sampling_channel *c)
{
    mavg_reset(&c->filt);
    c->centi = SAMPLING_INVALID;
    c->ror_n = 0;
    c->ror_pos = 0;
}

void
sampling_init(struct sampling *s, const struct sampling_config *cfg)
{
    memset(s, 0, sizeof(*s));
    s->cfg = *cfg;
    for (unsigned i = 0; i < SAMPLING_MODULES; i++) {
        mavg_init(&s->ch[i].filt, cfg->filter_len);
        channel_reset(&s->ch[i]);
    }
    mavg_init(&s->gas_filt, cfg->filter_len);
    s->ror_every = (uint16_t)((uint32_t)cfg->ror_slot_s * 1000u / cfg->sample_ms);
    if (s->ror_every == 0)
        s->ror_every = 1;
    s->hottest = SAMPLING_INVALID;
}

static uint8_t
classify(const struct sampling_config *cfg, int raw)
{
    if (raw < 0)
        return CLASS_BAD;
    if (raw >= cfg->open_count)
        return CLASS_OPEN;
    if (raw <= cfg->short_count)
        return CLASS_SHORT;
    return CLASS_OK;
}

static void
module_update(struct sampling *s, struct sampling_channel *c, int raw)
{
    uint8_t cls = classify(&s->cfg, raw);
    float ohms;
    int16_t centi;

    if (cls == CLASS_BAD) {
        /* The converter failed, not the sensor: no reading this period, and
         * the node reports the ADC through the self-test bit. */
        s->adc_error = true;
        channel_reset(c);
        return;
    }
    if (debounce(&c->fault, cls, s->cfg.fault_samples))
        channel_reset(c);
    if (c->fault.state != CLASS_OK || cls != CLASS_OK)
        return;
    if (thermistor_ohms(&s->cfg.therm, raw, &ohms) < 0 ||
        thermistor_centi_c(&s->cfg.therm, ohms, &centi) < 0)
        return;
    c->centi = mavg_push(&c->filt, centi);
}

/* Rate of rise in 0.01 C/min over the channel's history (0 until it holds
 * two intervals), after adding the current reading when a point is due. */
static int32_t
module_ror(const struct sampling *s, struct sampling_channel *c, bool due)
{
    unsigned oldest;
    int32_t span_s;

    if (c->centi == SAMPLING_INVALID)
        return 0;
    if (due) {
        c->ror_hist[c->ror_pos] = c->centi;
        c->ror_pos = (uint8_t)((c->ror_pos + 1) % ROR_SLOTS);
        if (c->ror_n < ROR_SLOTS)
            c->ror_n++;
    }
    if (c->ror_n < 3)
        return 0;
    oldest = (c->ror_pos + ROR_SLOTS - c->ror_n) % ROR_SLOTS;
    span_s = (int32_t)(c->ror_n - 1) * s->cfg.ror_slot_s;
    return ((int32_t)c->ror_hist[(c->ror_pos + ROR_SLOTS - 1) % ROR_SLOTS] - c->ror_hist[oldest]) *
           60 / span_s;
}

static void
gas_update(struct sampling *s, int raw, uint16_t setpoint)
{
    const struct sampling_config *cfg = &s->cfg;
    uint8_t cls;
    int32_t ppm, span;

    if (raw < 0) {
        s->adc_error = true;
        cls = CLASS_BAD;
    } else {
        cls = raw < cfg->gas_low || raw > cfg->gas_high ? CLASS_OPEN : CLASS_OK;
    }
    if (debounce(&s->gas_fault, cls, cfg->fault_samples))
        mavg_reset(&s->gas_filt);
    if (s->gas_fault.state != CLASS_OK) {
        /* No trustworthy reading: report 0 ppm, no alarm, and the fault
         * bit, so a master sees "sensor fault", never a stale value. */
        s->gas_ppm = 0;
        s->gas_alarm = 0;
        return;
    }
    if (cls != CLASS_OK)
        return;
    raw = mavg_push(&s->gas_filt, (int16_t)raw);
    span = (int32_t)cfg->gas_20ma - cfg->gas_4ma;
    /* Rounded to nearest: one count is about a third of a ppm here. */
    ppm = raw <= cfg->gas_4ma ? 0
                              : (((int32_t)raw - cfg->gas_4ma) * cfg->gas_range + span / 2) / span;
    if (ppm > 65535)
        ppm = 65535;
    s->gas_ppm = (uint16_t)ppm;
    if (ppm >= setpoint)
        s->gas_alarm = 1;
    else if (ppm < setpoint - setpoint / 10)
        s->gas_alarm = 0;
}

void
sampling_update(struct sampling *s, const struct sampling_input *in, uint16_t gas_setpoint)
{
    bool due;
    int32_t ror = INT32_MIN;

    s->adc_error = false;
    if (++s->ror_tick >= s->ror_every) {
        s->ror_tick = 0;
        due = true;
    } else {
        due = false;
    }
    s->hottest = SAMPLING_INVALID;
    s->faults = 0;
    for (unsigned i = 0; i < SAMPLING_MODULES; i++) {
        struct sampling_channel *c = &s->ch[i];
        int32_t r;

        module_update(s, c, in->raw[PORT_ADC_MODULE1 + i]);
        if (c->fault.state == CLASS_OPEN)
            s->faults |= FAULT_OPEN(i);
        else if (c->fault.state == CLASS_SHORT)
            s->faults |= FAULT_SHORT(i);
        if (c->centi == SAMPLING_INVALID)
            continue;
        if (c->centi > s->hottest)
            s->hottest = c->centi;
        r = module_ror(s, c, due);
        if (r > ror)
            ror = r;
    }
    if (ror == INT32_MIN)
        ror = 0;
    s->ror = (int16_t)(ror > 32767 ? 32767 : ror < -32767 ? -32767 : ror);

    gas_update(s, in->raw[PORT_ADC_GAS], gas_setpoint);
    if (s->gas_fault.state != CLASS_OK)
        s->faults |= FAULT_GAS;

    if (in->contact >= 0)
        debounce(&s->contact, (uint8_t)(in->contact != 0), s->cfg.contact_samples);
}

int16_t
sampling_temp(const struct sampling *s, unsigned i)
{
    return s->ch[i].centi;
}
