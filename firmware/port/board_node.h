/*
 * board_node.h - the node's configuration from the board data.
 *
 * Both ports build their struct node_config here, from the BOARD_* defines
 * that tools/board2h.awk generates from boards/<board>.conf, so the host
 * simulator and the MCU convert the same counts into the same readings.
 */
#ifndef EMBER_BOARD_NODE_H
#define EMBER_BOARD_NODE_H

#include "node.h"

/* ADC count (of PORT_ADC_FULL) for a loop current in microamps. */
uint16_t board_gas_count(uint32_t microamps);

/* Fills *cfg: thermistor and gas front end from the board, sampling and
 * factory serial settings from the firmware defaults below. */
void board_node_config(struct node_config *cfg);

/* Firmware defaults, overridable with -D like the board data. */
#ifndef NODE_SAMPLE_MS
#define NODE_SAMPLE_MS 100 /* 10 samples per second */
#endif
#ifndef NODE_FILTER_LEN
#define NODE_FILTER_LEN 8 /* 0.8 s moving average */
#endif
#ifndef NODE_FAULT_SAMPLES
#define NODE_FAULT_SAMPLES 3 /* 0.3 s to raise or clear an open/short fault */
#endif
#ifndef NODE_CONTACT_SAMPLES
#define NODE_CONTACT_SAMPLES 2 /* 0.1-0.2 s contact debounce */
#endif
#ifndef NODE_ROR_SLOT_S
#define NODE_ROR_SLOT_S 5 /* rate of rise: a point every 5 s, over 60 s */
#endif
#ifndef NODE_FACTORY_SLAVE
#define NODE_FACTORY_SLAVE 1
#endif
#ifndef NODE_FACTORY_BAUD100
#define NODE_FACTORY_BAUD100 192 /* 19200 */
#endif
#ifndef NODE_FACTORY_PARITY
#define NODE_FACTORY_PARITY PORT_PARITY_EVEN
#endif
#ifndef NODE_FACTORY_GAS_SETPOINT
#define NODE_FACTORY_GAS_SETPOINT 100 /* ppm */
#endif

#endif
