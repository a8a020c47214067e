/*
 * port_stm32.h - the STM32F103 port.
 */
#ifndef EMBER_PORT_STM32_H
#define EMBER_PORT_STM32_H

#include "port.h"

extern const struct port port_stm32;

/* Clocks, pins, SysTick, ADC (calibrated), USART interrupt and the
 * independent watchdog.  Call once, first thing in main(). */
void port_stm32_init(void);

#endif
