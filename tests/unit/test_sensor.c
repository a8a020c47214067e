/* Unit tests: sensor.c quality transitions and payload.c JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <cmocka.h>

#include "payload.h"
#include "sensor.h"

static void
test_good_then_failures(void **state)
{
    struct sensor_state s;
    (void)state;
    sensor_init(&s);
    assert_int_equal(s.quality, Q_STALE);
    assert_false(s.has_value);

    assert_true(sensor_update(&s, POLL_OK, 24.5, 2, 1000));
    assert_int_equal(s.quality, Q_GOOD);
    assert_true(s.has_value);
    assert_true(s.value == 24.5);

    /* First failure: stale, carrying the last good value. */
    assert_true(sensor_update(&s, POLL_FAILED, 0, 2, 2000));
    assert_int_equal(s.quality, Q_STALE);
    assert_true(s.has_value);
    assert_true(s.value == 24.5);
    assert_int_equal(s.ts_ms, 2000);

    /* Second: comms_lost, no value. */
    assert_true(sensor_update(&s, POLL_FAILED, 0, 2, 3000));
    assert_int_equal(s.quality, Q_COMMS_LOST);
    assert_false(s.has_value);
    /* Staying lost is not a change. */
    assert_false(sensor_update(&s, POLL_FAILED, 0, 2, 4000));
    assert_int_equal(s.fails, 3);

    /* Recovery resets the failure count. */
    assert_true(sensor_update(&s, POLL_OK, 25.0, 2, 5000));
    assert_int_equal(s.quality, Q_GOOD);
    assert_int_equal(s.fails, 0);
    assert_true(sensor_update(&s, POLL_FAILED, 0, 2, 6000));
    assert_int_equal(s.quality, Q_STALE);
}

static void
test_comms_lost_after_one(void **state)
{
    struct sensor_state s;
    (void)state;
    sensor_init(&s);
    sensor_update(&s, POLL_FAILED, 0, 1, 1000);
    assert_int_equal(s.quality, Q_COMMS_LOST);
}

static void
test_stale_without_history(void **state)
{
    struct sensor_state s;
    (void)state;
    sensor_init(&s);
    sensor_update(&s, POLL_FAILED, 0, 3, 1000);
    assert_int_equal(s.quality, Q_STALE);
    assert_false(s.has_value); /* nothing good to carry */
}

static void
test_bad(void **state)
{
    struct sensor_state s;
    (void)state;
    sensor_init(&s);
    sensor_update(&s, POLL_OK, 20, 2, 1000);
    assert_true(sensor_update(&s, POLL_EXCEPTION, 0, 2, 2000));
    assert_int_equal(s.quality, Q_BAD);
    assert_false(s.has_value);
    sensor_update(&s, POLL_BAD_VALUE, 0, 2, 3000);
    assert_int_equal(s.quality, Q_BAD);
    /* An answering device resets the failure count. */
    sensor_update(&s, POLL_FAILED, 0, 2, 4000);
    assert_int_equal(s.quality, Q_STALE);
}

static void
test_payload(void **state)
{
    struct sensor_state s;
    char *json;
    cJSON *o;
    (void)state;

    sensor_init(&s);
    sensor_update(&s, POLL_OK, 23.4, 2, 1665814740123LL);
    json = payload_sensor(&s, "C");
    assert_non_null(json);
    assert_string_equal(json,
                        "{\"ts\":\"2022-10-15T06:19:00.123Z\",\"value\":23.4,\"unit\":\"C\","
                        "\"quality\":\"good\"}");
    free(json);

    sensor_update(&s, POLL_FAILED, 0, 1, 1665814741000LL);
    json = payload_sensor(&s, "C");
    o = cJSON_Parse(json);
    assert_non_null(o);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "value")));
    assert_string_equal(cJSON_GetObjectItem(o, "quality")->valuestring, "comms_lost");
    assert_string_equal(cJSON_GetObjectItem(o, "ts")->valuestring, "2022-10-15T06:19:01.000Z");
    cJSON_Delete(o);
    free(json);

    /* Units with quotes or backslashes are escaped, never spliced. */
    sensor_update(&s, POLL_OK, 1, 1, 0);
    json = payload_sensor(&s, "\"x\\");
    o = cJSON_Parse(json);
    assert_non_null(o);
    assert_string_equal(cJSON_GetObjectItem(o, "unit")->valuestring, "\"x\\");
    cJSON_Delete(o);
    free(json);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_then_failures), cmocka_unit_test(test_comms_lost_after_one),
        cmocka_unit_test(test_stale_without_history), cmocka_unit_test(test_bad),
        cmocka_unit_test(test_payload),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
