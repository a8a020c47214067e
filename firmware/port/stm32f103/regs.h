/*
 * regs.h - the STM32F103 registers this port uses, written from the
 * reference manual (RM0008 rev 21) and the Cortex-M3 generic user guide.
 * No vendor headers: only what the port touches, each with its bits.
 */
#ifndef EMBER_STM32F103_REGS_H
#define EMBER_STM32F103_REGS_H

#include <stdint.h>

#define REG volatile uint32_t

/* RCC, RM0008 section 7.3 */
struct rcc {
    REG CR, CFGR, CIR, APB2RSTR, APB1RSTR, AHBENR, APB2ENR, APB1ENR, BDCR, CSR;
};
#define RCC ((struct rcc *)0x40021000u)
#define RCC_CR_HSEON (1u << 16)
#define RCC_CR_HSERDY (1u << 17)
#define RCC_CFGR_SW_MASK (3u << 0)
#define RCC_CFGR_SW_HSE (1u << 0)
#define RCC_CFGR_SWS_MASK (3u << 2)
#define RCC_CFGR_SWS_HSE (1u << 2)
#define RCC_CFGR_ADCPRE_MASK (3u << 14) /* 00: PCLK2 / 2 */
#define RCC_APB2ENR_AFIOEN (1u << 0)
#define RCC_APB2ENR_IOPAEN (1u << 2)
#define RCC_APB2ENR_IOPBEN (1u << 3)
#define RCC_APB2ENR_IOPCEN (1u << 4)
#define RCC_APB2ENR_ADC1EN (1u << 9)
#define RCC_APB2ENR_USART1EN (1u << 14)

/* Flash interface, RM0008 section 3.3.3 and PM0075 */
struct flash {
    REG ACR, KEYR, OPTKEYR, SR, CR, AR, RESERVED, OBR, WRPR;
};
#define FLASH ((struct flash *)0x40022000u)
#define FLASH_ACR_PRFTBE (1u << 4)
#define FLASH_KEY1 0x45670123u
#define FLASH_KEY2 0xCDEF89ABu
#define FLASH_SR_BSY (1u << 0)
#define FLASH_SR_PGERR (1u << 2)
#define FLASH_SR_WRPRTERR (1u << 4)
#define FLASH_SR_EOP (1u << 5)
#define FLASH_CR_PG (1u << 0)
#define FLASH_CR_PER (1u << 1)
#define FLASH_CR_STRT (1u << 6)
#define FLASH_CR_LOCK (1u << 7)
#define FLASH_PAGE_SIZE 1024u /* low- and medium-density parts */

/* GPIO, RM0008 section 9.2: four configuration bits per pin,
 * CNF[1:0] MODE[1:0]. */
struct gpio {
    REG CRL, CRH, IDR, ODR, BSRR, BRR, LCKR;
};
#define GPIO(port) ((struct gpio *)(0x40010800u + 0x400u * (port)))
#define GPIO_CNF_ANALOG 0x0u   /* input, analog */
#define GPIO_CNF_IN_FLOAT 0x4u /* input, floating */
#define GPIO_CNF_IN_PULL 0x8u  /* input, pull-up or -down by ODR */
#define GPIO_CNF_OUT_PP 0x2u   /* output push-pull, 2 MHz */
#define GPIO_CNF_AF_PP 0xAu    /* alternate function push-pull, 2 MHz */

/* Pins as board2h.awk writes them: PIN(A, 9). */
#define GPIO_PORT_A 0
#define GPIO_PORT_B 1
#define GPIO_PORT_C 2
#define GPIO_PORT_D 3
#define PIN(port, n) (GPIO_PORT_##port * 16 + (n))

/* USART, RM0008 section 27.6 */
struct usart {
    REG SR, DR, BRR, CR1, CR2, CR3, GTPR;
};
#define USART1 ((struct usart *)0x40013800u)
#define USART_SR_PE (1u << 0)
#define USART_SR_FE (1u << 1)
#define USART_SR_NE (1u << 2)
#define USART_SR_ORE (1u << 3)
#define USART_SR_RXNE (1u << 5)
#define USART_SR_TC (1u << 6)
#define USART_SR_TXE (1u << 7)
#define USART_CR1_RE (1u << 2)
#define USART_CR1_TE (1u << 3)
#define USART_CR1_RXNEIE (1u << 5)
#define USART_CR1_PS (1u << 9) /* odd parity */
#define USART_CR1_PCE (1u << 10)
#define USART_CR1_M (1u << 12) /* 9 data bits: 8 + parity */
#define USART_CR1_UE (1u << 13)
#define USART_CR2_STOP_2 (2u << 12)

/* ADC, RM0008 section 11.12 */
struct adc {
    REG SR, CR1, CR2, SMPR1, SMPR2, JOFR1, JOFR2, JOFR3, JOFR4, HTR, LTR, SQR1, SQR2, SQR3, JSQR,
        JDR1, JDR2, JDR3, JDR4, DR;
};
#define ADC1 ((struct adc *)0x40012400u)
#define ADC_SR_EOC (1u << 1)
#define ADC_CR2_ADON (1u << 0)
#define ADC_CR2_CAL (1u << 2)
#define ADC_CR2_RSTCAL (1u << 3)
#define ADC_CR2_EXTSEL_SWSTART (7u << 17)
#define ADC_CR2_EXTTRIG (1u << 20)
#define ADC_CR2_SWSTART (1u << 22)
#define ADC_CR2_TSVREFE (1u << 23)
#define ADC_SMP_239 7u /* 239.5 cycles: the dividers are 10 kOhm sources */
#define ADC_CH_VREFINT 17u

/* Independent watchdog, RM0008 section 19.4 */
struct iwdg {
    REG KR, PR, RLR, SR;
};
#define IWDG ((struct iwdg *)0x40003000u)
#define IWDG_KEY_RELOAD 0xAAAAu
#define IWDG_KEY_ACCESS 0x5555u
#define IWDG_KEY_START 0xCCCCu
#define IWDG_LSI_HZ 40000u /* typical; 30-60 kHz */

/* Debug MCU configuration, RM0008 section 31.16.3 */
#define DBGMCU_CR (*(REG *)0xE0042004u)
#define DBGMCU_CR_DBG_IWDG_STOP (1u << 8)

/* Cortex-M3 core peripherals */
struct systick {
    REG CSR, RVR, CVR, CALIB;
};
#define SYSTICK ((struct systick *)0xE000E010u)
#define SYSTICK_CSR_ENABLE (1u << 0)
#define SYSTICK_CSR_TICKINT (1u << 1)
#define SYSTICK_CSR_CLKSOURCE (1u << 2) /* processor clock */
#define NVIC_ISER(n) (*(REG *)(0xE000E100u + 4u * (n)))
#define NVIC_IPR8(irq) (*(volatile uint8_t *)(0xE000E400u + (irq)))
#define SCB_SHPR3 (*(REG *)0xE000ED20u) /* bits 31:24 SysTick priority */
#define IRQ_USART1 37u

#endif
