/* Unit tests: ingest.c - one path for Modbus and GPIO readings: sensor
 * messages thinned to one per INGEST_SENSOR_PERIOD_MS with the last value
 * sent when the period ends, alarm transitions never thinned.
 *
 * The MQTT session points at a port nobody listens on, so every direct
 * publish (sensor messages, retained alarm states) is counted as dropped:
 * the count is what the ingest sent.  Alarm events wait in the journal for
 * the broker (they are not published offline), so the journal's pending
 * rows are the alarm events. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tmpdir.h"

#include "bus.h"
#include "conf.h"
#include "ingest.h"
#include "log.h"
#include "loop.h"
#include "mqtt.h"
#include "outbox.h"

struct rig {
    struct conf *conf;
    struct loop *loop;
    struct outbox *ob;
    struct ingest *in;
    int smoke, temp; /* sensor indices */
};

static int
setup(void **state)
{
    (void)state;
    log_init("test_ingest", true, LOG_LVL_ERR);
    mqtt_lib_init();
    return tmpdir_make("ingest");
}

static int
teardown(void **state)
{
    (void)state;
    mqtt_lib_fini();
    return tmpdir_remove();
}

static void
on_message(void *arg, const char *suffix, const void *payload, size_t len, bool retained)
{
    (void)arg;
    (void)suffix;
    (void)payload;
    (void)len;
    (void)retained;
    fail_msg("no command expected");
}

/* A contact (GPIO) and a temperature (Modbus) sensor; a critical contact
 * alarm without off-delay. */
static void
rig_up(struct rig *r)
{
    char path[128];
    struct cfgerr err = {0};
    FILE *f;

    snprintf(path, sizeof(path), "%s/emberd.conf", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "[agent]\nsite = s1\nid = a1\nprofile_dir = %s\nboard_dir = %s\nboard = pi4\n"
            "journal = %s/journal.db\n\n"
            "[mqtt]\nport = 1\n\n"
            "[bus gw]\ntype = tcp\nhost = 127.0.0.1\n\n"
            "[device room]\nbus = gw\nprofile = xy-md02\n\n"
            "[sensor temp]\ndevice = room\npoint = temperature\n\n"
            "[sensor smoke]\ngpio = contact1\n\n"
            "[alarm smoke]\nsensor = smoke\nkind = contact\nseverity = critical\n"
            "off_delay = 0\n",
            profiles, boards, dir);
    fclose(f);
    memset(r, 0, sizeof(*r));
    if (conf_load(path, &r->conf, &err) != 0)
        fail_msg("%s", err.text ? err.text : "?");
    r->smoke = conf_sensor_find(r->conf, "smoke");
    r->temp = conf_sensor_find(r->conf, "temp");
    assert_int_equal(loop_init(&r->loop), 0);
    assert_int_equal(outbox_open(&r->ob, r->conf), 0);
    assert_int_equal(ingest_init(&r->in, r->conf, r->ob), 0);
    assert_int_equal(outbox_connect(r->ob, r->loop, on_message, NULL), 0);
}

static void
rig_down(struct rig *r)
{
    char cmd[160];

    ingest_free(r->in);
    outbox_close(r->ob);
    loop_fini(r->loop);
    conf_free(r->conf);
    snprintf(cmd, sizeof(cmd), "rm -f %s/journal.db*", dir);
    assert_int_equal(system(cmd), 0);
}

static unsigned long
sent(const struct rig *r)
{
    struct outbox_stats st;
    outbox_get_stats(r->ob, &st);
    assert_false(st.connected);
    return st.mqtt_dropped;
}

static int64_t
events(const struct rig *r)
{
    struct outbox_stats st;
    outbox_get_stats(r->ob, &st);
    return st.journal_pending;
}

static void
contact(struct rig *r, int value, int64_t t)
{
    struct gpio_event ev = {.input = r->conf->sensors[r->smoke].gpio, .value = value,
                            .ts_ms = t, .mono_us = t * 1000};
    ingest_gpio(r->in, &ev);
}

static void
temperature(struct rig *r, double value, int64_t t)
{
    struct bus_reading rd = {.sensor = r->temp, .status = POLL_OK, .value = value, .ts_ms = t,
                             .mono_us = t * 1000};
    ingest_readings(r->in, &rd, 1);
}

static void
test_gpio_thinned_like_modbus(void **state)
{
    struct rig r;
    const int64_t t = 1700000000000;
    unsigned long n;
    (void)state;

    rig_up(&r);
    n = sent(&r);
    contact(&r, 0, t); /* first reading: quality good, sent at once */
    assert_int_equal(sent(&r), n + 1);
    contact(&r, 0, t + 30); /* same quality, within the period: held */
    assert_int_equal(sent(&r), n + 1);
    ingest_tick(r.in, t + 60, t + 60);
    assert_int_equal(sent(&r), n + 1);
    ingest_tick(r.in, t + 100, t + 100); /* the period ends: the held value goes */
    assert_int_equal(sent(&r), n + 2);
    ingest_tick(r.in, t + 400, t + 400); /* once */
    assert_int_equal(sent(&r), n + 2);
    contact(&r, 0, t + 500); /* past the period: at once */
    assert_int_equal(sent(&r), n + 3);

    /* The Modbus path does the same. */
    temperature(&r, 21.5, t + 1000);
    assert_int_equal(sent(&r), n + 4);
    temperature(&r, 21.6, t + 1040);
    temperature(&r, 21.7, t + 1080);
    assert_int_equal(sent(&r), n + 4);
    ingest_tick(r.in, t + 1100, t + 1100);
    assert_int_equal(sent(&r), n + 5);
    assert_true(ingest_sensor(r.in, r.temp)->value == 21.7); /* the last value went out */
    temperature(&r, 21.8, t + 1200);
    assert_int_equal(sent(&r), n + 6);
    ingest_tick(r.in, t + 1400, t + 1400);
    assert_int_equal(sent(&r), n + 6);
    rig_down(&r);
}

static void
test_alarm_transition_never_thinned(void **state)
{
    struct rig r;
    const int64_t t = 1700000000000;
    unsigned long n;
    (void)state;

    rig_up(&r);
    contact(&r, 0, t);
    n = sent(&r);
    assert_int_equal(events(&r), 0);
    /* 20 ms later the contact closes: the sensor message is held, the
     * alarm's event is journaled and its retained state goes out now. */
    contact(&r, 1, t + 20);
    assert_int_equal(events(&r), 1);
    assert_int_equal(sent(&r), n + 1);
    assert_true(alarm_get(ingest_engine(r.in), 0)->active);
    /* And it clears 20 ms after that: another event, still no sensor message. */
    contact(&r, 0, t + 40);
    assert_int_equal(events(&r), 2);
    assert_int_equal(sent(&r), n + 2);
    ingest_tick(r.in, t + 100, t + 100);
    assert_int_equal(sent(&r), n + 3); /* the held sensor value, once */
    assert_true(ingest_sensor(r.in, r.smoke)->value == 0);
    rig_down(&r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gpio_thinned_like_modbus),
        cmocka_unit_test(test_alarm_transition_never_thinned),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
