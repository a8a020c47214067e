/*
 * gpio_recorder.h - a gpio_event_fn that keeps the events gpio_dispatch()
 * reports, for the GPIO tests (test_gpio.c, test_gpio_chip.c).  Header-only:
 * each test links alone.  Include after <cmocka.h> and "gpio.h".
 */
#ifndef EMBER_TEST_GPIO_RECORDER_H
#define EMBER_TEST_GPIO_RECORDER_H

#define NEV 64
struct recorder {
    struct gpio_event ev[NEV];
    int n;
};

/* gpio_dispatch()'s callback with a struct recorder as arg: fails the test
 * beyond NEV events. */
static void
record(void *arg, const struct gpio_event *ev)
{
    struct recorder *r = arg;
    assert_true(r->n < NEV);
    r->ev[r->n++] = *ev;
}

#endif
