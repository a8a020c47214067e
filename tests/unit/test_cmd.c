/* Unit tests: cmd.c - command parsing and validation; nothing malformed passes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cmd.h"

static int
parse(const char *name, const char *json, bool remote, struct cmd *c, char *err)
{
    return cmd_parse(name, json, strlen(json), remote, c, err, 256);
}

static void
test_valid(void **state)
{
    struct cmd c;
    char err[256];
    (void)state;
    assert_int_equal(parse("ack", "{\"alarm\":\"room-hot\",\"by\":\"noc-kim\"}", true, &c, err), 0);
    assert_int_equal(c.kind, CMD_ACK);
    assert_string_equal(c.alarm, "room-hot");
    assert_string_equal(c.by, "noc-kim");
    assert_int_equal(parse("shelve", "{\"alarm\":\"a\",\"duration\":\"30m\"}", true, &c, err), 0);
    assert_int_equal(c.duration_ms, 1800000);
    assert_int_equal(parse("shelve", "{\"alarm\":\"a\",\"duration\":90}", true, &c, err), 0);
    assert_int_equal(c.duration_ms, 90000);
    /* emberctl shelve's help promises "at most 7d": days are a unit. */
    assert_int_equal(parse("shelve", "{\"alarm\":\"a\",\"duration\":\"7d\"}", true, &c, err), 0);
    assert_int_equal(c.duration_ms, 7 * 86400000LL);
    assert_int_equal(parse("unshelve", "{\"alarm\":\"a\"}", true, &c, err), 0);
    assert_int_equal(parse("test", "{\"zone\":\"b3\"}", true, &c, err), 0);
    assert_int_equal(c.duration_ms, CMD_TEST_DEFAULT_MS);
    assert_int_equal(parse("test", "{\"zone\":\"b3\",\"duration\":\"2m\"}", true, &c, err), 0);
    assert_int_equal(c.duration_ms, 120000);
    assert_int_equal(cmd_parse_request("{\"cmd\":\"status\"}", 16, &c, err, sizeof(err)), 0);
    assert_int_equal(c.kind, CMD_STATUS);
    assert_int_equal(parse("test", "{\"zone\":\"b3\",\"id\":\"t-42\",\"by\":\"x\"}", true, &c, err),
                     0);
    assert_string_equal(c.id, "t-42");
    assert_int_equal(parse("ack", "{\"alarm\":\"a\"}", true, &c, err), 0);
    assert_string_equal(c.id, "");
    /* Not NUL-terminated input is fine: only len bytes are read. */
    assert_int_equal(cmd_parse("ack", "{\"alarm\":\"a\"}XXXX", 13, true, &c, err, sizeof(err)), 0);
}

static void
reject(const char *name, const char *json, bool remote, const char *why)
{
    struct cmd c;
    char err[256] = "";
    assert_int_equal(parse(name, json, remote, &c, err), -EINVAL);
    if (strstr(err, why) == NULL)
        fail_msg("%s %s: expected '%s', got '%s'", name, json, why, err);
}

static void
test_rejected(void **state)
{
    char big[CMD_MAX_PAYLOAD + 10];
    struct cmd c;
    char err[256];
    (void)state;
    reject("ack", "", true, "not JSON");
    reject("ack", "{\"alarm\":", true, "not JSON");
    reject("ack", "[\"a\"]", true, "JSON object");
    reject("ack", "\"a\"", true, "JSON object");
    reject("ack", "{}", true, "missing \"alarm\"");
    reject("ack", "{\"alarm\":5}", true, "\"alarm\" must be a name");
    reject("ack", "{\"alarm\":\"a/b\"}", true, "\"alarm\" must be a name");
    reject("ack", "{\"alarm\":\"\"}", true, "\"alarm\" must be a name");
    reject("ack", "{\"alarm\":\"a\",\"by\":\"x y\"}", true, "\"by\" must be a name");
    reject("shelve", "{\"alarm\":\"a\"}", true, "missing \"duration\"");
    reject("shelve", "{\"alarm\":\"a\",\"duration\":\"forever\"}", true, "\"duration\" must be");
    reject("shelve", "{\"alarm\":\"a\",\"duration\":0.5}", true, "between 1s and");
    reject("shelve", "{\"alarm\":\"a\",\"duration\":\"8d\"}", true, "between 1s and 7d");
    reject("shelve", "{\"alarm\":\"a\",\"duration\":\"200h\"}", true, "between 1s and 7d");
    reject("shelve", "{\"alarm\":\"a\",\"duration\":-5}", true, "out of range");
    reject("shelve", "{\"alarm\":\"a\",\"duration\":1e300}", true, "out of range");
    reject("test", "{}", true, "missing \"zone\"");
    reject("test", "{\"zone\":\"b3\",\"duration\":\"1h\"}", true, "between 1s and 10m");
    reject("frobnicate", "{}", true, "unknown command");
    reject("ack", "{\"alarm\":\"a\"} junk", true, "data after the JSON object");
    reject("ack", "{\"alarm\":\"t\\u0000b\"}", true, "\\u0000");
    /* A raw NUL byte is not JSON: it must not shorten "room-hot\0junk". */
    {
        static const char nul[] = "{\"alarm\":\"room-hot\0junk\"}";
        assert_int_equal(cmd_parse("ack", nul, sizeof(nul) - 1, true, &c, err, sizeof(err)),
                         -EINVAL);
        assert_non_null(strstr(err, "NUL byte"));
    }
    /* A key named twice: one reader would take the first, another the last. */
    reject("ack", "{\"alarm\":\"room-hot\",\"alarm\":\"room-lost\"}", true, "names a key twice");
    reject("ack", "{\"alarm\":\"a\",\"id\":5}", true, "\"id\" must be");
    /* by and id are kept for the result of a command refused later. */
    assert_int_equal(
        parse("shelve", "{\"alarm\":\"a\",\"by\":\"kim\",\"id\":\"s-1\"}", true, &c, err), -EINVAL);
    assert_string_equal(c.by, "kim");
    assert_string_equal(c.id, "s-1");
    assert_int_equal(
        cmd_parse_request("{\"cmd\":\"ack\",\"cmd\":\"reload\"}", 28, &c, err, sizeof(err)),
        -EINVAL);
    /* Local-only commands do not exist over MQTT. */
    reject("reload", "{}", true, "unknown command");
    reject("status", "{}", true, "unknown command");
    memset(big, ' ', sizeof(big));
    big[0] = '{';
    big[sizeof(big) - 2] = '}';
    big[sizeof(big) - 1] = '\0';
    reject("ack", big, true, "larger than");
    assert_int_equal(cmd_parse_request("{\"alarm\":\"a\"}", 13, &c, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "missing \"cmd\""));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
