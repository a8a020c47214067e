/*
 * port_stm32.c - struct port on the STM32F103, from the board data.
 *
 * Clock: the 8 MHz crystal directly (or the 8 MHz HSI when it does not
 * start), no PLL: the node needs a few hundred thousand cycles per second
 * at most, and a slow clock keeps the board cool and the ADC timing simple.
 * Time: SysTick interrupts every millisecond and its counter gives the
 * microseconds in between.  Serial: USART1, received bytes stamped in the
 * interrupt and queued; replies sent by polling, with DE held until the
 * last stop bit is out.
 */
#include "port_stm32.h"

#include <errno.h>
#include <string.h>

#include "board.h"
#include "regs.h"

#define HSE_TIMEOUT 50000u /* loop passes, ~25 ms at 8 MHz; HSE needs ~2 ms */
#define ADC_TIMEOUT 2000u  /* loop passes; a conversion takes ~64 us */
#define RXQ 64u            /* received bytes waiting for the core */

static uint32_t hclk = BOARD_HSI_HZ;
static uint32_t ticks_per_ms;
static volatile uint32_t ms;

static volatile uint16_t rxq[RXQ]; /* byte, | 0x100 for a line error */
static volatile uint32_t rxq_t[RXQ];
static volatile uint8_t rx_head, rx_tail; /* written by the ISR / by the core */
static volatile uint8_t rx_lost;          /* the queue or the USART overran */

static const uint8_t adc_channel[PORT_ADC_COUNT] = {
    BOARD_ADC_MODULE1_CHANNEL, BOARD_ADC_MODULE2_CHANNEL, BOARD_ADC_MODULE3_CHANNEL,
    BOARD_ADC_MODULE4_CHANNEL, BOARD_ADC_GAS_CHANNEL,
};
static const uint8_t adc_pin[PORT_ADC_COUNT] = {
    BOARD_ADC_MODULE1_PIN, BOARD_ADC_MODULE2_PIN, BOARD_ADC_MODULE3_PIN,
    BOARD_ADC_MODULE4_PIN, BOARD_ADC_GAS_PIN,
};

static void
pin_mode(unsigned pin, uint32_t cnf)
{
    struct gpio *g = GPIO(pin / 16);
    volatile uint32_t *cr = (pin & 15) < 8 ? &g->CRL : &g->CRH;
    unsigned shift = (pin & 7) * 4;

    *cr = (*cr & ~(0xFu << shift)) | (cnf << shift);
}

static void
pin_write(unsigned pin, int high)
{
    GPIO(pin / 16)->BSRR = high ? 1u << (pin & 15) : 1u << (16 + (pin & 15));
}

static int
pin_read(unsigned pin)
{
    return (GPIO(pin / 16)->IDR >> (pin & 15)) & 1;
}

static void
de_set(int transmit)
{
    pin_write(BOARD_UART_RS485_DE, transmit == BOARD_UART_RS485_DE_ACTIVE_HIGH);
}

void
SysTick_Handler(void)
{
    ms++;
}

static uint32_t
now_us(void)
{
    uint32_t m, v;

    /* SysTick has the highest priority, so it preempts any caller; a tick
     * between the two reads shows up as a changed ms. */
    do {
        m = ms;
        v = SYSTICK->CVR;
    } while (m != ms);
    return m * 1000u + (ticks_per_ms - 1u - v) * 1000u / ticks_per_ms;
}

void
USART1_IRQHandler(void)
{
    uint32_t sr = USART1->SR;
    uint16_t c;
    uint8_t next;

    if (!(sr & (USART_SR_RXNE | USART_SR_ORE)))
        return;
    /* Reading SR then DR clears RXNE and the error flags.  With parity the
     * ninth bit of DR is the parity bit itself. */
    c = (uint16_t)(USART1->DR & 0xFFu);
    if (sr & (USART_SR_PE | USART_SR_FE | USART_SR_NE | USART_SR_ORE) || rx_lost)
        c |= 0x100u;
    next = (uint8_t)((rx_head + 1u) % RXQ);
    if (next == rx_tail) {
        rx_lost = 1; /* the next byte that fits carries the error */
        return;
    }
    rx_lost = 0;
    rxq[rx_head] = c;
    rxq_t[rx_head] = now_us();
    rx_head = next;
}

static int
uart_config(uint32_t baud, enum port_parity parity)
{
    uint32_t cr1 = USART_CR1_UE | USART_CR1_TE | USART_CR1_RE | USART_CR1_RXNEIE;

    if (baud == 0)
        return -EINVAL;
    if (parity != PORT_PARITY_NONE)
        cr1 |= USART_CR1_M | USART_CR1_PCE | (parity == PORT_PARITY_ODD ? USART_CR1_PS : 0);
    USART1->CR1 = 0;
    USART1->BRR = (hclk + baud / 2) / baud; /* 16x oversampling: BRR = fck / baud */
    USART1->CR2 = parity == PORT_PARITY_NONE ? USART_CR2_STOP_2 : 0;
    USART1->CR3 = 0;
    USART1->CR1 = cr1;
    return 0;
}

static int
uart_getc(uint32_t *t_us)
{
    uint8_t tail = rx_tail;
    uint16_t c;

    if (tail == rx_head)
        return -EAGAIN;
    c = rxq[tail];
    *t_us = rxq_t[tail];
    rx_tail = (uint8_t)((tail + 1u) % RXQ);
    return c & 0x100u ? -EIO : c;
}

static int
uart_write(const uint8_t *buf, size_t len)
{
    de_set(1);
    for (size_t i = 0; i < len; i++) {
        while (!(USART1->SR & USART_SR_TXE))
            ;
        USART1->DR = buf[i];
    }
    /* TC, not TXE: the shift register must have sent the last stop bit
     * before the driver lets go of the bus. */
    while (!(USART1->SR & USART_SR_TC))
        ;
    de_set(0);
    return 0;
}

static int
adc_convert(unsigned channel)
{
    ADC1->SQR3 = channel;
    ADC1->CR2 |= ADC_CR2_SWSTART;
    for (uint32_t i = 0; i < ADC_TIMEOUT; i++)
        if (ADC1->SR & ADC_SR_EOC)
            return (int)(ADC1->DR & 0xFFFu);
    return -ETIMEDOUT;
}

static int
adc_read(unsigned ch)
{
    return ch < PORT_ADC_COUNT ? adc_convert(adc_channel[ch]) : -EINVAL;
}

static int
input_read(enum port_input in)
{
    switch (in) {
    case PORT_IN_CONTACT:
        return pin_read(BOARD_INPUT_CONTACT_PIN) ^ BOARD_INPUT_CONTACT_ACTIVE_LOW;
    case PORT_IN_FACTORY:
        return pin_read(BOARD_INPUT_FACTORY_PIN) ^ BOARD_INPUT_FACTORY_ACTIVE_LOW;
    default:
        return -EINVAL;
    }
}

static int
nv_load(void *buf, size_t len)
{
    if (len > FLASH_PAGE_SIZE)
        return -EINVAL;
    memcpy(buf, (const void *)BOARD_NV_PAGE, len);
    return 0;
}

static int
flash_wait(void)
{
    uint32_t sr;

    while ((sr = FLASH->SR) & FLASH_SR_BSY)
        ;
    FLASH->SR = FLASH_SR_EOP | FLASH_SR_PGERR | FLASH_SR_WRPRTERR; /* write 1 to clear */
    return sr & (FLASH_SR_PGERR | FLASH_SR_WRPRTERR) ? -EIO : 0;
}

/* Erases the settings page and programs len bytes in half-words.  The CPU
 * stalls while the flash is busy (~20 ms for the erase): the core only
 * saves right after a reply, when the master is not talking. */
static int
nv_save(const void *buf, size_t len)
{
    const uint8_t *b = buf;
    volatile uint16_t *dst = (volatile uint16_t *)BOARD_NV_PAGE;
    int rc;

    if (len > FLASH_PAGE_SIZE || len % 2)
        return -EINVAL;
    FLASH->KEYR = FLASH_KEY1;
    FLASH->KEYR = FLASH_KEY2;
    FLASH->CR = FLASH_CR_PER;
    FLASH->AR = BOARD_NV_PAGE;
    FLASH->CR = FLASH_CR_PER | FLASH_CR_STRT;
    rc = flash_wait();
    FLASH->CR = FLASH_CR_PG;
    for (size_t i = 0; rc == 0 && i < len; i += 2) {
        dst[i / 2] = (uint16_t)(b[i] | b[i + 1] << 8);
        rc = flash_wait();
    }
    FLASH->CR = FLASH_CR_LOCK;
    if (rc == 0 && memcmp((const void *)BOARD_NV_PAGE, buf, len) != 0)
        rc = -EIO;
    return rc;
}

/* The ADC measures its internal 1.20 V reference (1.16-1.24 V) against
 * VDDA: at 3.0-3.6 V that is 1320-1693 counts.  Outside, either the ADC or
 * the supply is broken, and the gas loop reading (which is not
 * ratiometric) cannot be trusted. */
static int
selftest(void)
{
    int v;

    ADC1->CR2 |= ADC_CR2_TSVREFE;
    v = adc_convert(ADC_CH_VREFINT);
    ADC1->CR2 &= ~ADC_CR2_TSVREFE;
    return v >= 1300 && v <= 1720 ? 0 : -EIO;
}

static int
watchdog_kick(void)
{
    IWDG->KR = IWDG_KEY_RELOAD;
    return 0;
}

static int
led_set(int on)
{
    pin_write(BOARD_OUTPUT_LED_PIN, on != BOARD_OUTPUT_LED_ACTIVE_LOW);
    return 0;
}

static void
clock_init(void)
{
    FLASH->ACR = FLASH_ACR_PRFTBE; /* 0 wait states up to 24 MHz */
    RCC->CR |= RCC_CR_HSEON;
    for (uint32_t i = 0; i < HSE_TIMEOUT && !(RCC->CR & RCC_CR_HSERDY); i++)
        ;
    if (RCC->CR & RCC_CR_HSERDY) {
        RCC->CFGR = (RCC->CFGR & ~RCC_CFGR_SW_MASK) | RCC_CFGR_SW_HSE;
        while ((RCC->CFGR & RCC_CFGR_SWS_MASK) != RCC_CFGR_SWS_HSE)
            ;
        hclk = BOARD_HSE_HZ;
    } else {
        RCC->CR &= ~RCC_CR_HSEON; /* no crystal: stay on HSI */
    }
    /* AHB, APB1, APB2 undivided; ADC clock PCLK2 / 2 = 4 MHz. */
    RCC->CFGR &= ~RCC_CFGR_ADCPRE_MASK;
    RCC->APB2ENR |= RCC_APB2ENR_AFIOEN | RCC_APB2ENR_IOPAEN | RCC_APB2ENR_IOPBEN |
                    RCC_APB2ENR_IOPCEN | RCC_APB2ENR_ADC1EN | RCC_APB2ENR_USART1EN;
}

static void
adc_init(void)
{
    for (unsigned i = 0; i < PORT_ADC_COUNT; i++) {
        pin_mode(adc_pin[i], GPIO_CNF_ANALOG);
        if (adc_channel[i] < 10)
            ADC1->SMPR2 |= ADC_SMP_239 << (3 * adc_channel[i]);
        else
            ADC1->SMPR1 |= ADC_SMP_239 << (3 * (adc_channel[i] - 10));
    }
    ADC1->SMPR1 |= ADC_SMP_239 << (3 * (ADC_CH_VREFINT - 10));
    ADC1->CR2 = ADC_CR2_ADON | ADC_CR2_EXTTRIG | ADC_CR2_EXTSEL_SWSTART;
    /* Power-up wants 1 us before calibration; the calibration itself is
     * bounded so a missing ADC (an emulator) cannot hang the reset. */
    for (volatile uint32_t i = 0; i < 100; i++)
        ;
    ADC1->CR2 |= ADC_CR2_RSTCAL;
    for (uint32_t i = 0; i < ADC_TIMEOUT && (ADC1->CR2 & ADC_CR2_RSTCAL); i++)
        ;
    ADC1->CR2 |= ADC_CR2_CAL;
    for (uint32_t i = 0; i < ADC_TIMEOUT && (ADC1->CR2 & ADC_CR2_CAL); i++)
        ;
}

static void
watchdog_init(void)
{
    /* /64 from the ~40 kHz LSI: 625 Hz, 12-bit reload. */
    uint32_t reload = (uint32_t)BOARD_WATCHDOG_MS * (IWDG_LSI_HZ / 64u) / 1000u;

    DBGMCU_CR |= DBGMCU_CR_DBG_IWDG_STOP; /* no resets while halted in a debugger */
    IWDG->KR = IWDG_KEY_START;
    IWDG->KR = IWDG_KEY_ACCESS;
    IWDG->PR = 4;
    IWDG->RLR = reload > 0xFFFu ? 0xFFFu : reload;
    IWDG->KR = IWDG_KEY_RELOAD;
}

void
port_stm32_init(void)
{
    clock_init();

    /* RS485: TX as alternate function; RX with a pull-up, because the
     * transceiver floats its RO output while DE//RE transmit; DE low
     * (receive) before it becomes an output. */
    pin_mode(BOARD_UART_RS485_TX, GPIO_CNF_AF_PP);
    pin_write(BOARD_UART_RS485_RX, 1);
    pin_mode(BOARD_UART_RS485_RX, GPIO_CNF_IN_PULL);
    de_set(0);
    pin_mode(BOARD_UART_RS485_DE, GPIO_CNF_OUT_PP);

    pin_write(BOARD_INPUT_CONTACT_PIN, BOARD_INPUT_CONTACT_ACTIVE_LOW);
    pin_mode(BOARD_INPUT_CONTACT_PIN, GPIO_CNF_IN_PULL);
    pin_write(BOARD_INPUT_FACTORY_PIN, BOARD_INPUT_FACTORY_ACTIVE_LOW);
    pin_mode(BOARD_INPUT_FACTORY_PIN, GPIO_CNF_IN_PULL);
    led_set(0);
    pin_mode(BOARD_OUTPUT_LED_PIN, GPIO_CNF_OUT_PP);

    adc_init();

    ticks_per_ms = hclk / 1000u;
    SCB_SHPR3 = (SCB_SHPR3 & 0x00FFFFFFu); /* SysTick: priority 0, the highest */
    SYSTICK->RVR = ticks_per_ms - 1u;
    SYSTICK->CVR = 0;
    SYSTICK->CSR = SYSTICK_CSR_CLKSOURCE | SYSTICK_CSR_TICKINT | SYSTICK_CSR_ENABLE;

    NVIC_IPR8(IRQ_USART1) = 0x40; /* below SysTick, so timestamps never lag */
    NVIC_ISER(IRQ_USART1 / 32) = 1u << (IRQ_USART1 % 32);

    watchdog_init();
}

const struct port port_stm32 = {
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
