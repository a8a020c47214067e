/*
 * startup.c - vector table and reset handler for the STM32F103.
 *
 * Written in C: on a Cortex-M the hardware loads the stack pointer from the
 * first vector word before the reset handler runs, so no assembly is
 * needed.  The reset handler must not use .data or .bss before it has set
 * them up, which is why it only touches linker symbols until main().
 */
#include <stdint.h>

extern uint32_t _estack, _sidata, _sdata, _edata, _sbss, _ebss;
extern int main(void);

void Reset_Handler(void);
void Default_Handler(void);
void SysTick_Handler(void) __attribute__((weak, alias("Default_Handler")));
void USART1_IRQHandler(void) __attribute__((weak, alias("Default_Handler")));

void
Reset_Handler(void)
{
    uint32_t *src = &_sidata, *dst = &_sdata;

    while (dst < &_edata)
        *dst++ = *src++;
    for (dst = &_sbss; dst < &_ebss;)
        *dst++ = 0;
    main();
    for (;;)
        ;
}

/* Any unexpected exception or interrupt, including HardFault (a stack
 * overflow runs off the bottom of RAM into a fault): spin until the
 * independent watchdog resets the node.  The master sees a comms loss for
 * two seconds, then a node with its uptime back at 0. */
void
Default_Handler(void)
{
    for (;;)
        ;
}

/* Medium-density STM32F103: 16 core exceptions (0 = reserved) and 43
 * interrupts, every one with a handler, so even an interrupt enabled by
 * mistake ends in Default_Handler rather than at address 0. */
/* Rows as in the reference manual's table, not one entry per line. */
/* clang-format off */
#define D Default_Handler
__attribute__((section(".isr_vector"), used)) static void (*const vectors[16 + 43])(void) = {
    /* 0: initial stack pointer, reset, NMI, HardFault, MemManage, BusFault,
     * UsageFault, 4 reserved, SVCall, DebugMonitor, reserved, PendSV, SysTick */
    (void (*)(void))&_estack, Reset_Handler, D, D,
    D, D, D, 0, 0, 0, 0, D, D, 0, D, SysTick_Handler,
    /* 16: IRQ 0 (WWDG) ... IRQ 36 */
    D, D, D, D, D, D, D, D, D, D, D, D,
    D, D, D, D, D, D, D, D, D, D, D, D,
    D, D, D, D, D, D, D, D, D, D, D, D,
    D,
    /* IRQ 37: USART1, then IRQ 38-42 */
    USART1_IRQHandler, D, D, D, D, D,
};
#undef D
/* clang-format on */
