/* Unit tests: alarm.c - every ISA-18.2 transition, delays, chatter, latch,
 * shelve, test, rate of rise, comms loss, stale and zone voting. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alarm.h"

#define MAXEV 4096

struct rec {
    enum transition tr;
    int alarm, zone;
    uint64_t seq;
};

static struct rec ev[MAXEV];
static int nev;
static struct alarm_engine *E;
static int64_t now;       /* mono ms; real = now + 1e12 + wall_step */
static int64_t wall_step; /* how far the wall clock has been stepped */

#define REAL (now + 1000000000000LL + wall_step)
#define DAY_MS (24LL * 3600 * 1000)

static void
on_event(void *arg, enum transition tr, int alarm, int zone, uint64_t seq)
{
    (void)arg;
    assert_true(nev < MAXEV);
    ev[nev++] = (struct rec){tr, alarm, zone, seq};
}

static int
count(enum transition tr, int alarm)
{
    int n = 0;
    for (int i = 0; i < nev; i++)
        if (ev[i].tr == tr && (alarm < 0 || ev[i].alarm == alarm))
            n++;
    return n;
}

static int
count_zone(int zone)
{
    int n = 0;
    for (int i = 0; i < nev; i++)
        if (ev[i].tr == TR_DRAIN && ev[i].zone == zone)
            n++;
    return n;
}

static struct alarm_def
mk(const char *name, int sensor, int kind, double sp, int sev)
{
    struct alarm_def d;
    memset(&d, 0, sizeof(d));
    strcpy(d.name, name);
    d.sensor = sensor;
    d.zone = 0;
    d.kind = kind;
    d.setpoint = sp;
    d.severity = sev;
    d.window_ms = 60000;
    return d;
}

static void
start(const struct alarm_def *defs, int n, const struct zone_def *zones, int nz, int nsensors)
{
    nev = 0;
    now = 1000;
    wall_step = 0;
    alarm_engine_free(E);
    E = alarm_engine_new(defs, n, zones, nz, nsensors, 1, on_event, NULL);
}

static void
feed(int sensor, double v)
{
    struct sensor_state s;
    sensor_init(&s);
    sensor_update(&s, POLL_OK, v, 2, REAL);
    alarm_reading(E, sensor, &s, now, REAL);
}

static void
feed_q(int sensor, enum quality q)
{
    struct sensor_state s;
    sensor_init(&s);
    s.quality = q;
    alarm_reading(E, sensor, &s, now, REAL);
}

static void
advance(int64_t ms)
{
    now += ms;
    alarm_tick(E, now, REAL);
}

static int
teardown(void **state)
{
    (void)state;
    alarm_engine_free(E);
    E = NULL;
    return 0;
}

static void
test_high_full_cycle(void **state)
{
    struct alarm_def d = mk("hot", 0, AK_HIGH, 45, SEV_WARNING);
    const struct alarm_state *s;
    (void)state;
    d.deadband = 2;
    start(&d, 1, NULL, 0, 1);
    s = alarm_get(E, 0);
    assert_false(s->active);
    assert_true(s->acked); /* normal */

    feed(0, 44.9);
    assert_int_equal(nev, 0);
    feed(0, 45.0); /* at the setpoint: active, unacknowledged */
    assert_int_equal(count(TR_ACTIVATED, 0), 1);
    assert_true(s->active);
    assert_false(s->acked);
    assert_true(s->value == 45.0);

    feed(0, 43.5); /* inside the deadband: still active */
    assert_true(s->active);
    feed(0, 46);
    assert_int_equal(count(TR_ACTIVATED, 0), 1);
    feed(0, 42.9); /* below setpoint - deadband: return to normal, unacked */
    assert_int_equal(count(TR_CLEARED, 0), 1);
    assert_false(s->active);
    assert_false(s->acked);

    assert_int_equal(alarm_ack(E, 0, REAL), 0);
    assert_true(s->acked);
    assert_int_equal(count(TR_ACKED, 0), 1);
    assert_int_equal(alarm_ack(E, 0, REAL), -EALREADY);
    assert_int_equal(alarm_ack(E, 7, REAL), -ENOENT);
    /* seq strictly increasing from 1 */
    for (int i = 0; i < nev; i++)
        assert_int_equal(ev[i].seq, (uint64_t)i + 1);
}

static void
test_ack_while_active(void **state)
{
    struct alarm_def d = mk("hot", 0, AK_HIGH, 45, SEV_WARNING);
    const struct alarm_state *s;
    (void)state;
    start(&d, 1, NULL, 0, 1);
    s = alarm_get(E, 0);
    feed(0, 50);
    assert_int_equal(alarm_ack(E, 0, REAL), 0);
    assert_true(s->active);
    assert_true(s->acked);
    feed(0, 40);
    assert_false(s->active);
    assert_true(s->acked); /* back to normal without another ack */
    feed(0, 50);           /* a new activation needs a new ack */
    assert_false(s->acked);
    assert_int_equal(count(TR_ACTIVATED, 0), 2);
}

static void
test_low(void **state)
{
    struct alarm_def d = mk("cold", 0, AK_LOW, 5, SEV_WARNING);
    (void)state;
    d.deadband = 1;
    start(&d, 1, NULL, 0, 1);
    feed(0, 5.1);
    assert_int_equal(nev, 0);
    feed(0, 5.0);
    assert_int_equal(count(TR_ACTIVATED, 0), 1);
    feed(0, 5.9);
    assert_true(alarm_get(E, 0)->active);
    feed(0, 6.1);
    assert_int_equal(count(TR_CLEARED, 0), 1);
}

static void
test_on_delay_filters_transients(void **state)
{
    struct alarm_def d = mk("hot", 0, AK_HIGH, 45, SEV_WARNING);
    (void)state;
    d.on_delay_ms = 2000;
    start(&d, 1, NULL, 0, 1);
    feed(0, 50);
    advance(1500);
    feed(0, 40); /* transient shorter than on_delay */
    advance(3000);
    assert_int_equal(count(TR_ACTIVATED, 0), 0);

    feed(0, 50);
    advance(1900);
    assert_int_equal(count(TR_ACTIVATED, 0), 0);
    advance(100); /* held for exactly on_delay */
    assert_int_equal(count(TR_ACTIVATED, 0), 1);
}

static void
test_chattering_contact_one_alarm(void **state)
{
    struct alarm_def d = mk("smoke", 0, AK_CONTACT, 0, SEV_CRITICAL);
    (void)state;
    d.off_delay_ms = 1000;
    start(&d, 1, NULL, 0, 1);
    feed(0, 0);
    /* Chatter: closed/open every 100 ms for 5 s, ending closed. */
    for (int i = 0; i <= 50; i++) {
        feed(0, i % 2 == 0 ? 1 : 0);
        advance(100);
    }
    assert_int_equal(count(TR_ACTIVATED, 0), 1);
    assert_int_equal(count(TR_CLEARED, 0), 0);
    /* Settles open: cleared once off_delay has passed. */
    feed(0, 0);
    advance(900);
    assert_int_equal(count(TR_CLEARED, 0), 0);
    advance(200);
    assert_int_equal(count(TR_CLEARED, 0), 1);
}

static void
test_contact_nc(void **state)
{
    struct alarm_def d = mk("loop", 0, AK_CONTACT, 0, SEV_WARNING);
    (void)state;
    d.nc = true; /* alarm when the loop opens (also on a cut wire) */
    start(&d, 1, NULL, 0, 1);
    feed(0, 1);
    assert_int_equal(nev, 0);
    feed(0, 0);
    assert_int_equal(count(TR_ACTIVATED, 0), 1);
}

static void
test_latch(void **state)
{
    struct alarm_def d = mk("smoke", 0, AK_CONTACT, 0, SEV_CRITICAL);
    const struct alarm_state *s;
    (void)state;
    d.latch = true;
    start(&d, 1, NULL, 0, 1);
    s = alarm_get(E, 0);
    feed(0, 1);
    feed(0, 0);
    advance(10000);
    assert_true(s->active); /* latched until acknowledged */
    assert_int_equal(alarm_ack(E, 0, REAL), 0);
    assert_false(s->active);
    assert_int_equal(count(TR_CLEARED, 0), 1);
    assert_true(ev[nev - 2].tr == TR_ACKED && ev[nev - 1].tr == TR_CLEARED);

    /* Acked while the condition still holds: clears when it goes. */
    feed(0, 1);
    assert_int_equal(alarm_ack(E, 0, REAL), 0);
    assert_true(s->active);
    feed(0, 0);
    assert_false(s->active);
}

static void
test_rate_of_rise(void **state)
{
    struct alarm_def d = mk("ror", 0, AK_RATE, 8, SEV_CRITICAL);
    const struct alarm_state *s;
    (void)state;
    d.window_ms = 60000;
    start(&d, 1, NULL, 0, 1);
    s = alarm_get(E, 0);
    /* Noise of +-0.3 C every second for a minute: no alarm, even though a
     * 0.6 C step in 1 s is 36 C/min. */
    for (int i = 0; i < 60; i++) {
        feed(0, 25 + (i % 2 ? 0.3 : -0.3));
        advance(1000);
    }
    assert_int_equal(count(TR_ACTIVATED, 0), 0);
    /* A 5 C/min rise: below the setpoint. */
    for (int i = 0; i < 90; i++) {
        feed(0, 25 + 5.0 * i / 60.0);
        advance(1000);
    }
    assert_int_equal(count(TR_ACTIVATED, 0), 0);
    assert_true(s->has_rate);
    assert_true(s->rate > 4.5 && s->rate < 5.5);
    /* 10 C/min: activates once the window shows it. */
    double base = 25 + 5.0 * 89 / 60.0;
    for (int i = 0; i < 120 && count(TR_ACTIVATED, 0) == 0; i++) {
        feed(0, base + 10.0 * i / 60.0);
        advance(1000);
    }
    assert_int_equal(count(TR_ACTIVATED, 0), 1);
    assert_true(s->value >= 8); /* value is the rate */
    /* Flat again: the rate decays and it clears. */
    for (int i = 0; i < 120; i++) {
        feed(0, 60);
        advance(1000);
    }
    assert_int_equal(count(TR_CLEARED, 0), 1);
}

static void
test_comms_loss(void **state)
{
    struct alarm_def d[2] = {mk("lost", 0, AK_COMMS_LOSS, 0, SEV_WARNING),
                             mk("hot", 0, AK_HIGH, 45, SEV_CRITICAL)};
    (void)state;
    start(d, 2, NULL, 0, 1);
    feed(0, 50);
    assert_int_equal(count(TR_ACTIVATED, 1), 1);
    feed_q(0, Q_STALE); /* one failed poll: not yet a loss */
    assert_int_equal(count(TR_ACTIVATED, 0), 0);
    feed_q(0, Q_COMMS_LOST);
    assert_int_equal(count(TR_ACTIVATED, 0), 1);
    /* Losing the sensor does not clear its high alarm. */
    assert_true(alarm_get(E, 1)->active);
    feed(0, 20);
    assert_int_equal(count(TR_CLEARED, 0), 1);
    assert_int_equal(count(TR_CLEARED, 1), 1);
    feed_q(0, Q_BAD); /* answering with a bad value is not comms loss */
    assert_int_equal(count(TR_ACTIVATED, 0), 1);
}

static void
test_stale(void **state)
{
    struct alarm_def d = mk("stuck", 0, AK_STALE, 0, SEV_WARNING);
    (void)state;
    d.stale_ms = 60000;
    d.deadband = 0.05;
    start(&d, 1, NULL, 0, 1);
    feed(0, 21.0);
    for (int i = 0; i < 59; i++) {
        advance(1000);
        feed(0, 21.02); /* within the deadband: "unchanged" */
    }
    assert_int_equal(count(TR_ACTIVATED, 0), 0);
    advance(1000); /* no reading at all: the tick notices */
    assert_int_equal(count(TR_ACTIVATED, 0), 1);
    feed(0, 21.5);
    assert_int_equal(count(TR_CLEARED, 0), 1);
}

static void
test_bad_quality_holds(void **state)
{
    struct alarm_def d = mk("hot", 0, AK_HIGH, 45, SEV_WARNING);
    (void)state;
    start(&d, 1, NULL, 0, 1);
    feed(0, 50);
    feed_q(0, Q_BAD);
    feed_q(0, Q_COMMS_LOST);
    advance(10000);
    assert_true(alarm_get(E, 0)->active);
    assert_int_equal(nev, 1);
}

static void
test_shelve(void **state)
{
    struct alarm_def d = mk("hot", 0, AK_HIGH, 45, SEV_CRITICAL);
    int members[] = {0};
    struct zone_def z = {.name = "b3", .vote = 1, .members = members, .nmembers = 1};
    (void)state;
    start(&d, 1, &z, 1, 1);
    assert_int_equal(alarm_unshelve(E, 0, REAL), -EALREADY);
    assert_int_equal(alarm_shelve(E, 0, 0, now, REAL), -EINVAL);
    assert_int_equal(alarm_shelve(E, 0, ALARM_SHELVE_MAX_MS + 1, now, REAL), -EINVAL);
    assert_int_equal(alarm_shelve(E, 0, 5000, now, REAL), 0);
    assert_true(alarm_shelved(alarm_get(E, 0)));
    feed(0, 50); /* tracked, but a shelved alarm does not vote */
    assert_true(alarm_get(E, 0)->active);
    assert_false(alarm_zone_get(E, 0)->request);
    advance(5000); /* expiry: unshelved, and now it votes */
    assert_int_equal(count(TR_UNSHELVED, 0), 1);
    assert_true(alarm_zone_get(E, 0)->request);
    assert_int_equal(alarm_shelve(E, 0, 60000, now, REAL), 0);
    assert_false(alarm_zone_get(E, 0)->request);
    assert_int_equal(alarm_unshelve(E, 0, REAL), 0);
    assert_true(alarm_zone_get(E, 0)->request);
    assert_int_equal(alarm_shelve(E, 9, 1000, now, REAL), -ENOENT);
}

/* A shelve lasts its duration on the monotonic clock: a wall clock stepped
 * a day forward does not end it, one stepped an hour back does not extend
 * it, and the zone votes again as soon as it ends. */
static void
test_shelve_clock_step(void **state)
{
    struct alarm_def d = mk("hot", 0, AK_HIGH, 45, SEV_CRITICAL);
    int members[] = {0};
    struct zone_def z = {.name = "b3", .vote = 1, .members = members, .nmembers = 1};
    (void)state;
    start(&d, 1, &z, 1, 1);
    feed(0, 50);
    assert_true(alarm_zone_get(E, 0)->request);

    assert_int_equal(alarm_shelve(E, 0, 10 * 60000, now, REAL), 0);
    assert_false(alarm_zone_get(E, 0)->request);
    wall_step = DAY_MS;
    advance(100);
    assert_int_equal(count(TR_UNSHELVED, 0), 0);
    assert_true(alarm_shelved(alarm_get(E, 0)));
    assert_false(alarm_zone_get(E, 0)->request);
    advance(10 * 60000 - 200);
    assert_int_equal(count(TR_UNSHELVED, 0), 0);
    advance(100);
    assert_int_equal(count(TR_UNSHELVED, 0), 1);
    assert_true(alarm_zone_get(E, 0)->request);

    wall_step = 0;
    assert_int_equal(alarm_shelve(E, 0, 5000, now, REAL), 0);
    assert_false(alarm_zone_get(E, 0)->request);
    wall_step = -3600 * 1000;
    advance(4900);
    assert_int_equal(count(TR_UNSHELVED, 0), 1);
    advance(100);
    assert_int_equal(count(TR_UNSHELVED, 0), 2);
    assert_false(alarm_shelved(alarm_get(E, 0)));
    assert_true(alarm_zone_get(E, 0)->request);
}

/* What is persisted is the wall-clock end as of now; read back after a
 * restart it is bounded: past ends at the next tick, beyond the cap is
 * clamped to the cap. */
static void
test_shelve_restore_bounds(void **state)
{
    struct alarm_def d[3] = {mk("a", 0, AK_HIGH, 45, SEV_CRITICAL),
                             mk("b", 0, AK_HIGH, 45, SEV_CRITICAL),
                             mk("c", 0, AK_HIGH, 45, SEV_CRITICAL)};
    (void)state;
    start(d, 3, NULL, 0, 1);
    assert_int_equal(alarm_shelve(E, 0, 60000, now, REAL), 0);
    wall_step = -3600 * 1000; /* the clock stepped back: the end moves with it */
    assert_int_equal(alarm_shelve_end_real(alarm_get(E, 0), now, REAL), REAL + 60000);
    now += 10000;
    assert_int_equal(alarm_shelve_end_real(alarm_get(E, 0), now, REAL), REAL + 50000);
    assert_int_equal(alarm_shelve_end_real(alarm_get(E, 1), now, REAL), 0);

    /* A restart: a new engine, a monotonic clock that started again. */
    nev = 0;
    now = 5000;
    alarm_engine_free(E);
    E = alarm_engine_new(d, 3, NULL, 0, 1, 1, on_event, NULL);
    assert_int_equal(alarm_restore(E, 0, false, true, REAL + 20000, REAL, 1, now, REAL), 0);
    assert_int_equal(alarm_restore(E, 1, false, true, REAL - 1, REAL, 2, now, REAL), 0);
    assert_int_equal(alarm_restore(E, 2, false, true, REAL + 365 * DAY_MS, REAL, 3, now, REAL), 1);
    assert_true(alarm_shelved(alarm_get(E, 1)));
    assert_int_equal(alarm_shelve_end_real(alarm_get(E, 2), now, REAL), REAL + ALARM_SHELVE_MAX_MS);
    advance(1); /* the past one ends at once, with its transition */
    assert_int_equal(count(TR_UNSHELVED, 1), 1);
    assert_int_equal(count(TR_UNSHELVED, 0), 0);
    wall_step += 30 * DAY_MS; /* no step of the wall clock ends the others */
    advance(19000);
    assert_int_equal(count(TR_UNSHELVED, 0), 0);
    advance(1000);
    assert_int_equal(count(TR_UNSHELVED, 0), 1);
    advance(ALARM_SHELVE_MAX_MS - 20000 - 2);
    assert_int_equal(count(TR_UNSHELVED, 2), 0);
    advance(1);
    assert_int_equal(count(TR_UNSHELVED, 2), 1);
}

static void
test_zone_voting(void **state)
{
    struct alarm_def d[6] = {
        mk("gas", 0, AK_HIGH, 100, SEV_CRITICAL),      /* sensor 0 */
        mk("temp-hi", 1, AK_HIGH, 60, SEV_CRITICAL),   /* sensor 1 */
        mk("temp-ror", 1, AK_RATE, 8, SEV_CRITICAL),   /* sensor 1 again */
        mk("smoke", 2, AK_CONTACT, 0, SEV_CRITICAL),   /* sensor 2 */
        mk("room-warm", 3, AK_HIGH, 30, SEV_WARNING),  /* warning: never votes */
        mk("gas-lost", 0, AK_COMMS_LOSS, 0, SEV_CRITICAL),
    };
    int members[] = {0, 1, 2, 3, 4, 5};
    struct zone_def z = {.name = "b3", .vote = 2, .members = members, .nmembers = 6};
    const struct zone_state *zs;
    (void)state;
    start(d, 6, &z, 1, 4);
    zs = alarm_zone_get(E, 0);

    feed(3, 35); /* a warning */
    assert_false(zs->request);
    feed(1, 70); /* one critical sensor */
    assert_false(zs->request);
    assert_int_equal(zs->votes, 1);
    assert_int_equal(count_zone(0), 0);
    /* The same sensor's second alarm is not a second vote. */
    alarm_restore(E, 2, true, false, 0, REAL, 0, now, REAL);
    feed(1, 71);
    assert_false(zs->request);
    /* A silent gas sensor does not vote either. */
    feed_q(0, Q_COMMS_LOST);
    assert_true(alarm_get(E, 5)->active);
    assert_false(zs->request);
    /* A second, independent sensor: drain. */
    feed(2, 1);
    assert_true(zs->request);
    assert_int_equal(zs->votes, 2);
    assert_int_equal(count_zone(0), 1);
    feed(0, 150);
    assert_int_equal(count_zone(0), 1); /* unchanged request, no new message */
    assert_int_equal(zs->votes, 3);
    /* Back below the vote: request none. */
    feed(2, 0);
    feed(0, 10);
    assert_false(zs->request);
    assert_int_equal(count_zone(0), 2);
}

static void
test_zone_vote_one(void **state)
{
    struct alarm_def d = mk("smoke", 0, AK_CONTACT, 0, SEV_CRITICAL);
    int members[] = {0};
    struct zone_def z = {.name = "b3", .vote = 1, .members = members, .nmembers = 1};
    (void)state;
    start(&d, 1, &z, 1, 1);
    feed(0, 1);
    assert_true(alarm_zone_get(E, 0)->request);
}

static void
test_zone_test_never_drains(void **state)
{
    struct alarm_def d[3] = {mk("a", 0, AK_HIGH, 50, SEV_CRITICAL),
                             mk("b", 1, AK_HIGH, 50, SEV_CRITICAL),
                             mk("w", 2, AK_HIGH, 50, SEV_WARNING)};
    int members[] = {0, 1, 2};
    struct zone_def z = {.name = "b3", .vote = 2, .members = members, .nmembers = 3};
    const struct zone_state *zs;
    (void)state;
    start(d, 3, &z, 1, 3);
    zs = alarm_zone_get(E, 0);
    assert_int_equal(alarm_test_zone(E, 0, 30000, now, REAL), 0);
    assert_int_equal(count(TR_TEST, -1), 2); /* only the critical members */
    assert_true(alarm_shown_active(alarm_get(E, 0)));
    assert_false(alarm_get(E, 0)->active);
    assert_false(zs->request); /* never a real request */
    assert_true(zs->test);
    assert_int_equal(count_zone(0), 1);
    /* A real activation during the test counts as one real vote only. */
    feed(0, 60);
    assert_false(zs->request);
    advance(30000);
    assert_int_equal(count(TR_TEST_END, -1), 2);
    assert_false(zs->test);
    assert_false(zs->request);
    assert_true(alarm_get(E, 0)->active);
    assert_int_equal(alarm_test_zone(E, 3, 1000, now, REAL), -ENOENT);
}

static void
test_restore_and_seq(void **state)
{
    struct alarm_def d = mk("hot", 0, AK_HIGH, 45, SEV_WARNING);
    (void)state;
    nev = 0;
    now = 1000;
    alarm_engine_free(E);
    E = alarm_engine_new(&d, 1, NULL, 0, 1, 500, on_event, NULL);
    alarm_restore(E, 0, true, false, 0, REAL - 5000, 499, now, REAL);
    feed(0, 50); /* still hot: no re-announcement after a restart */
    assert_int_equal(nev, 0);
    assert_int_equal(alarm_get(E, 0)->since_ms, REAL - 5000);
    feed(0, 40);
    assert_int_equal(nev, 1);
    assert_int_equal(ev[0].seq, 500);
    assert_int_equal(alarm_next_seq(E), 501);
}

/* A restart brings the zone back with its alarms: a drain request whose
 * alarms are still active stays, silently, with its own seq; one the
 * alarms no longer support, or a test that ended with the restart, is
 * replaced by "none" with a new seq; a zone that never announced anything
 * announces itself with a real seq, never 0. */
static void
test_zone_restore_and_settle(void **state)
{
    struct alarm_def d[2] = {mk("hot", 0, AK_HIGH, 45, SEV_CRITICAL),
                             mk("cold", 1, AK_HIGH, 45, SEV_CRITICAL)};
    int m0[] = {0}, m1[] = {1};
    struct zone_def z[3] = {{.name = "b3", .vote = 1, .members = m0, .nmembers = 1},
                            {.name = "b4", .vote = 1, .members = m1, .nmembers = 1},
                            {.name = "b5", .vote = 1, .members = NULL, .nmembers = 0}};
    const struct zone_state *zs;
    (void)state;
    d[1].zone = 1;
    nev = 0;
    now = 1000;
    alarm_engine_free(E);
    E = alarm_engine_new(d, 2, z, 3, 2, 500, on_event, NULL);
    alarm_restore(E, 0, true, false, 0, REAL - 5000, 498, now, REAL);
    alarm_zone_set_state(E, 0, &(struct zone_state){true, false, 1, REAL - 4999, 499});
    /* b4 was showing a test drain; its alarm is cleared; b5 never spoke. */
    alarm_zone_set_state(E, 1, &(struct zone_state){false, true, 0, REAL - 3000, 450});
    alarm_zones_settle(E, REAL);
    zs = alarm_zone_get(E, 0);
    assert_true(zs->request);
    assert_int_equal(zs->seq, 499);
    assert_int_equal(zs->since_ms, REAL - 4999);
    assert_int_equal(zs->votes, 1);
    assert_int_equal(count_zone(0), 0);
    assert_int_equal(count_zone(1), 1);
    assert_false(alarm_zone_get(E, 1)->test);
    assert_false(alarm_zone_get(E, 1)->request);
    assert_int_equal(count_zone(2), 1);
    assert_int_equal(nev, 2);
    assert_true(ev[0].seq == 500 && ev[1].seq == 501);
    assert_int_equal(alarm_zone_get(E, 2)->seq, ev[ev[0].zone == 2 ? 0 : 1].seq);
    /* The first reading after the restart agrees: nothing new. */
    feed(0, 50);
    assert_int_equal(nev, 2);
    assert_int_equal(zs->seq, 499);
    /* Settling again is idempotent. */
    alarm_zones_settle(E, REAL);
    assert_int_equal(nev, 2);
    /* The alarm clears: the zone's none has a newer seq than its drain. */
    feed(0, 40);
    assert_false(zs->request);
    assert_true(zs->seq > 499);
}

/* A journal from before zones were kept: the alarm is active, the zone has
 * no saved state.  The zone announces "drain" with a new seq. */
static void
test_zone_settle_without_saved_zone(void **state)
{
    struct alarm_def d = mk("hot", 0, AK_HIGH, 45, SEV_CRITICAL);
    int m0[] = {0};
    struct zone_def z = {.name = "b3", .vote = 1, .members = m0, .nmembers = 1};
    (void)state;
    nev = 0;
    now = 1000;
    alarm_engine_free(E);
    E = alarm_engine_new(&d, 1, &z, 1, 1, 500, on_event, NULL);
    alarm_restore(E, 0, true, false, 0, REAL - 5000, 499, now, REAL);
    alarm_zones_settle(E, REAL);
    assert_int_equal(count_zone(0), 1);
    assert_true(alarm_zone_get(E, 0)->request);
    assert_int_equal(alarm_zone_get(E, 0)->seq, 500);
}

static void
test_wants_fast(void **state)
{
    struct alarm_def d[2] = {mk("hot", 0, AK_HIGH, 45, SEV_CRITICAL),
                             mk("ror", 1, AK_RATE, 8, SEV_CRITICAL)};
    (void)state;
    start(d, 2, NULL, 0, 2);
    assert_false(alarm_wants_fast(E, 0, 1000)); /* nothing seen yet */
    feed(0, 30);
    assert_false(alarm_wants_fast(E, 0, 1000));
    advance(1000);
    feed(0, 31); /* 60 C/min: 10 C in the 10 s horizon, still short of 45 */
    assert_false(alarm_wants_fast(E, 0, 1000));
    advance(1000);
    feed(0, 32.5); /* 90 C/min: 15 C in 10 s would cross */
    assert_true(alarm_wants_fast(E, 0, 1000));
    advance(1000);
    feed(0, 41); /* 600 C/min: would cross within two intervals */
    assert_true(alarm_wants_fast(E, 0, 1000));
    advance(1000);
    feed(0, 43); /* within 5% of the setpoint, even slowing down */
    advance(60000);
    feed(0, 43);
    assert_true(alarm_wants_fast(E, 0, 1000));
    feed(1, 20);
    advance(1000);
    feed(1, 20.1); /* 6 C/min >= half the 8 C/min setpoint */
    assert_true(alarm_wants_fast(E, 1, 1000));
    advance(1000);
    feed(1, 20.1);
    assert_false(alarm_wants_fast(E, 1, 1000));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_high_full_cycle, teardown),
        cmocka_unit_test_teardown(test_ack_while_active, teardown),
        cmocka_unit_test_teardown(test_low, teardown),
        cmocka_unit_test_teardown(test_on_delay_filters_transients, teardown),
        cmocka_unit_test_teardown(test_chattering_contact_one_alarm, teardown),
        cmocka_unit_test_teardown(test_contact_nc, teardown),
        cmocka_unit_test_teardown(test_latch, teardown),
        cmocka_unit_test_teardown(test_rate_of_rise, teardown),
        cmocka_unit_test_teardown(test_comms_loss, teardown),
        cmocka_unit_test_teardown(test_stale, teardown),
        cmocka_unit_test_teardown(test_bad_quality_holds, teardown),
        cmocka_unit_test_teardown(test_shelve, teardown),
        cmocka_unit_test_teardown(test_shelve_clock_step, teardown),
        cmocka_unit_test_teardown(test_shelve_restore_bounds, teardown),
        cmocka_unit_test_teardown(test_zone_voting, teardown),
        cmocka_unit_test_teardown(test_zone_vote_one, teardown),
        cmocka_unit_test_teardown(test_zone_test_never_drains, teardown),
        cmocka_unit_test_teardown(test_restore_and_seq, teardown),
        cmocka_unit_test_teardown(test_zone_restore_and_settle, teardown),
        cmocka_unit_test_teardown(test_zone_settle_without_saved_zone, teardown),
        cmocka_unit_test_teardown(test_wants_fast, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
