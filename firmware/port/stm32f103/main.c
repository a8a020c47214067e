/*
 * main.c - the sensor node on the STM32F103.
 *
 * node_poll() runs after every interrupt: a received byte or the 1 ms
 * SysTick.  WFI between passes sleeps the core until then; a byte that
 * arrives between node_poll() and WFI is already queued and is picked up
 * at the next tick, well inside t3.5.
 */
#include "board_node.h"
#include "node.h"
#include "port_stm32.h"

static struct node node;

int
main(void)
{
    struct node_config cfg;

    port_stm32_init();
    board_node_config(&cfg);
    /* node_init() fails only when the line cannot be set, which this port
     * refuses for no baud rate the settings allow. */
    (void)node_init(&node, &port_stm32, &cfg);
    for (;;) {
        node_poll(&node);
        __asm__ volatile("wfi");
    }
}
