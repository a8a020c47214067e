/*
 * board_node.c - struct node_config from the generated board header.
 */
#include "board_node.h"

#include "board.h"

uint16_t
board_gas_count(uint32_t microamps)
{
    /* count = I * R_shunt / Vref * FULL.  Float, because the soft-float
     * routines are linked anyway and a 64-bit division would add its own. */
    float v = (float)microamps * 1e-6f * (float)BOARD_GAS_SHUNT_OHM;
    uint32_t count = (uint32_t)(v / ((float)BOARD_GAS_VREF_MV * 1e-3f) * PORT_ADC_FULL + 0.5f);

    return (uint16_t)(count > PORT_ADC_FULL - 1 ? PORT_ADC_FULL - 1 : count);
}

void
board_node_config(struct node_config *cfg)
{
    struct sampling_config *s = &cfg->sampling;
    struct thermistor *t = &s->therm;

#if defined(BOARD_THERMISTOR_MODEL_STEINHART_HART)
    t->model = THERMISTOR_STEINHART_HART;
#elif defined(BOARD_THERMISTOR_MODEL_BETA)
    t->model = THERMISTOR_BETA;
#else
#error "boards: [thermistor] model must be beta or steinhart-hart"
#endif
    t->r0 = (float)BOARD_THERMISTOR_R0;
    t->t0 = (float)BOARD_THERMISTOR_T0;
    t->beta = (float)BOARD_THERMISTOR_BETA;
    t->a = (float)BOARD_THERMISTOR_A;
    t->b = (float)BOARD_THERMISTOR_B;
    t->c = (float)BOARD_THERMISTOR_C;
    t->r_fixed = (float)BOARD_THERMISTOR_R_FIXED;
    s->open_count = BOARD_THERMISTOR_OPEN_COUNT;
    s->short_count = BOARD_THERMISTOR_SHORT_COUNT;

    s->gas_4ma = board_gas_count(4000);
    s->gas_20ma = board_gas_count(20000);
    s->gas_low = board_gas_count(3600);   /* NAMUR NE43: below 3.6 mA = fault */
    s->gas_high = board_gas_count(21000); /* above 21 mA = fault */
    s->gas_range = BOARD_GAS_RANGE_PPM;

    s->filter_len = NODE_FILTER_LEN;
    s->fault_samples = NODE_FAULT_SAMPLES;
    s->contact_samples = NODE_CONTACT_SAMPLES;
    s->sample_ms = NODE_SAMPLE_MS;
    s->ror_slot_s = NODE_ROR_SLOT_S;

    cfg->factory.slave = NODE_FACTORY_SLAVE;
    cfg->factory.baud100 = NODE_FACTORY_BAUD100;
    cfg->factory.parity = NODE_FACTORY_PARITY;
    cfg->factory.gas_setpoint = NODE_FACTORY_GAS_SETPOINT;
    cfg->min_t35_us = 0;
    cfg->strict_t15 = false;
}
