/* Unit tests: cmdmsg.c - strict command payloads, the memory of recent
 * command ids and the result message (MQTT contract v1.1). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cmdmsg.h"

static void
refused(const char *json, size_t len, const char *why)
{
    char err[256] = "";
    cJSON *o = cmdmsg_parse(json, len, 4096, err, sizeof(err));
    if (o != NULL) {
        cJSON_Delete(o);
        fail_msg("accepted: %.*s", (int)len, json);
    }
    if (strstr(err, why) == NULL)
        fail_msg("%.*s: expected '%s', got '%s'", (int)len, json, why, err);
}

static void
test_parse(void **state)
{
    static const char nul[] = "{\"alarm\":\"room-hot\0junk\"}";
    static const char nul_after[] = "{\"alarm\":\"room-hot\"}\0";
    char err[256];
    cJSON *o;
    (void)state;

    o = cmdmsg_parse("{\"alarm\":\"a\",\"x\":{\"y\":1,\"z\":2}} ", 32, 4096, err, sizeof(err));
    assert_non_null(o);
    cJSON_Delete(o);
    /* The same key in two different objects is no duplicate. */
    o = cmdmsg_parse("{\"a\":{\"k\":1},\"b\":{\"k\":1}}", 25, 4096, err, sizeof(err));
    assert_non_null(o);
    cJSON_Delete(o);
    refused(nul, sizeof(nul) - 1, "NUL byte");
    refused(nul_after, sizeof(nul_after) - 1, "NUL byte");
    refused("{\"alarm\":\"room-hot\",\"alarm\":\"room-lost\"}", 40, "names a key twice");
    refused("{\"by\":\"x\",\"a\":{\"k\":1,\"k\":2}}", 28, "names a key twice");
    refused("[{\"k\":1,\"k\":2}]", 15, "JSON object");
    refused("{\"a\":\"t\\u0000b\"}", 16, "\\u0000");
    refused("{\"a\":1} x", 9, "data after");
    refused("nope", 4, "not JSON");
    refused("{}", 5000, "larger than 4096");
}

static void
test_id(void **state)
{
    char id[CMDMSG_ID_MAX + 1], err[256], big[200];
    cJSON *o;
    (void)state;

    o = cJSON_Parse("{\"id\":\"6f1c-42:a/b\"}");
    assert_int_equal(cmdmsg_get_id(o, id, err, sizeof(err)), 0);
    assert_string_equal(id, "6f1c-42:a/b");
    cJSON_Delete(o);
    o = cJSON_Parse("{}");
    assert_int_equal(cmdmsg_get_id(o, id, err, sizeof(err)), 0);
    assert_string_equal(id, "");
    cJSON_Delete(o);
    static const char *const bad[] = {"{\"id\":7}", "{\"id\":\"\"}", "{\"id\":\"a b\"}",
                                      "{\"id\":null}", "{\"id\":\"\\u00e9\"}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        o = cJSON_Parse(bad[i]);
        assert_non_null(o);
        assert_int_equal(cmdmsg_get_id(o, id, err, sizeof(err)), -EINVAL);
        assert_non_null(strstr(err, "\"id\" must be"));
        cJSON_Delete(o);
    }
    snprintf(big, sizeof(big), "{\"id\":\"%0*d\"}", CMDMSG_ID_MAX, 0);
    o = cJSON_Parse(big);
    assert_int_equal(cmdmsg_get_id(o, id, err, sizeof(err)), 0);
    cJSON_Delete(o);
    snprintf(big, sizeof(big), "{\"id\":\"%0*d\"}", CMDMSG_ID_MAX + 1, 0);
    o = cJSON_Parse(big);
    assert_int_equal(cmdmsg_get_id(o, id, err, sizeof(err)), -EINVAL);
    cJSON_Delete(o);
}

static void
test_recent(void **state)
{
    struct cmdmsg_recent *r = calloc(1, sizeof(*r));
    char id[32];
    (void)state;

    assert_false(cmdmsg_recent_seen(r, ""));
    assert_false(cmdmsg_recent_seen(r, ""));
    assert_false(cmdmsg_recent_seen(r, NULL));
    assert_false(cmdmsg_recent_seen(r, "a"));
    assert_true(cmdmsg_recent_seen(r, "a"));
    /* The last CMDMSG_RECENT ids are remembered; the oldest is forgotten. */
    for (int i = 1; i < CMDMSG_RECENT; i++) {
        snprintf(id, sizeof(id), "id-%d", i);
        assert_false(cmdmsg_recent_seen(r, id));
    }
    assert_true(cmdmsg_recent_seen(r, "a"));
    assert_true(cmdmsg_recent_seen(r, "id-1"));
    assert_false(cmdmsg_recent_seen(r, "b")); /* evicts "a" */
    assert_false(cmdmsg_recent_seen(r, "a")); /* evicts "id-1" */
    assert_false(cmdmsg_recent_seen(r, "id-1"));
    assert_true(cmdmsg_recent_seen(r, "id-255"));
    free(r);
}

static void
test_result(void **state)
{
    char *s;
    (void)state;

    s = cmdmsg_result(0, "t-1", "ack", true, NULL, "noc");
    assert_non_null(strstr(s, "\"id\":\"t-1\",\"cmd\":\"ack\",\"ok\":true,\"by\":\"noc\"}"));
    assert_null(strstr(s, "error"));
    free(s);
    s = cmdmsg_result(0, "", "ack", false, "payload names a key twice", NULL);
    assert_non_null(
        strstr(s, "\"id\":null,\"cmd\":\"ack\",\"ok\":false,\"error\":\"payload names a key "
                  "twice\",\"by\":null}"));
    free(s);
    /* A topic level that is not a name is not echoed. */
    s = cmdmsg_result(0, NULL, "a\"b\xff", false, "x", "");
    assert_non_null(strstr(s, "\"cmd\":null"));
    free(s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_id),
        cmocka_unit_test(test_recent),
        cmocka_unit_test(test_result),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
