/* Unit tests: util.c parsers and time formatting. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util.h"

/* This test's gethostname(2), which util.o links to instead of libc's: the
 * host name name_from_hostname() sees, or a failure when NULL. */
static const char *fake_host = "bench-pi";

int
gethostname(char *name, size_t len)
{
    if (fake_host == NULL) {
        errno = EPERM;
        return -1;
    }
    strncpy(name, fake_host, len);
    return 0;
}

static void
test_duration(void **state)
{
    int64_t ms;
    (void)state;
    assert_int_equal(parse_duration_ms("250ms", &ms), 0);
    assert_int_equal(ms, 250);
    assert_int_equal(parse_duration_ms("1.5s", &ms), 0);
    assert_int_equal(ms, 1500);
    assert_int_equal(parse_duration_ms("2", &ms), 0);
    assert_int_equal(ms, 2000);
    assert_int_equal(parse_duration_ms("2m", &ms), 0);
    assert_int_equal(ms, 120000);
    assert_int_equal(parse_duration_ms("1h", &ms), 0);
    assert_int_equal(ms, 3600000);
    assert_int_equal(parse_duration_ms("7d", &ms), 0);
    assert_int_equal(ms, 604800000);
    assert_int_equal(parse_duration_ms("0.5d", &ms), 0);
    assert_int_equal(ms, 43200000);
    assert_int_equal(parse_duration_ms("", &ms), -EINVAL);
    assert_int_equal(parse_duration_ms("5 s", &ms), -EINVAL);
    assert_int_equal(parse_duration_ms("5parsecs", &ms), -EINVAL);
    assert_int_equal(parse_duration_ms("-1s", &ms), -ERANGE);
    assert_int_equal(parse_duration_ms("nan", &ms), -EINVAL);
}

static void
test_duration_fmt(void **state)
{
    char buf[32];
    (void)state;
    fmt_duration_ms(604800000, buf, sizeof(buf));
    assert_string_equal(buf, "7d");
    fmt_duration_ms(90 * 60000, buf, sizeof(buf));
    assert_string_equal(buf, "90m");
    fmt_duration_ms(3600000, buf, sizeof(buf));
    assert_string_equal(buf, "1h");
    fmt_duration_ms(1500, buf, sizeof(buf));
    assert_string_equal(buf, "1500ms");
    fmt_duration_ms(0, buf, sizeof(buf));
    assert_string_equal(buf, "0s");
}

static void
test_long(void **state)
{
    long v;
    (void)state;
    assert_int_equal(parse_long("0x2100", 0, 65535, &v), 0);
    assert_int_equal(v, 0x2100);
    assert_int_equal(parse_long("247", 1, 247, &v), 0);
    assert_int_equal(parse_long("248", 1, 247, &v), -ERANGE);
    assert_int_equal(parse_long("12abc", 0, 100, &v), -EINVAL);
    assert_int_equal(parse_long("", 0, 100, &v), -EINVAL);
    /* A leading zero is decimal, never octal. */
    assert_int_equal(parse_long("0010", 0, 100, &v), 0);
    assert_int_equal(v, 10);
    assert_int_equal(parse_long("0019", 0, 100, &v), 0);
    assert_int_equal(v, 19);
    assert_int_equal(parse_long("0X1F", 0, 100, &v), 0);
    assert_int_equal(v, 31);
}

static void
test_bool_double(void **state)
{
    bool b;
    double d;
    (void)state;
    assert_int_equal(parse_bool("Yes", &b), 0);
    assert_true(b);
    assert_int_equal(parse_bool("off", &b), 0);
    assert_false(b);
    assert_int_equal(parse_bool("maybe", &b), -EINVAL);
    assert_int_equal(parse_double("-12.5", &d), 0);
    assert_true(d == -12.5);
    assert_int_equal(parse_double("inf", &d), -ERANGE);
    assert_int_equal(parse_double("1e999", &d), -ERANGE);
}

static void
test_rfc3339(void **state)
{
    char buf[32];
    (void)state;
    fmt_rfc3339_ms(1665814740123LL, buf, sizeof(buf)); /* 2022-10-15 06:19:00.123 UTC */
    assert_string_equal(buf, "2022-10-15T06:19:00.123Z");
    fmt_rfc3339_ms(0, buf, sizeof(buf));
    assert_string_equal(buf, "1970-01-01T00:00:00.000Z");
}

static void
test_names_paths(void **state)
{
    char *p;
    char long_name[80];
    (void)state;
    assert_true(name_valid("b3-battery_room.1"));
    assert_false(name_valid(""));
    assert_false(name_valid("a/b"));
    assert_false(name_valid("a+b"));
    assert_false(name_valid("a#"));
    assert_false(name_valid("has space"));
    memset(long_name, 'x', 65);
    long_name[65] = '\0';
    assert_false(name_valid(long_name));
    long_name[64] = '\0';
    assert_true(name_valid(long_name));
    p = path_relative_to("/etc/emberwatch/emberd.conf", "../x/y.ini");
    assert_string_equal(p, "/etc/emberwatch/../x/y.ini");
    free(p);
    p = path_relative_to("emberd.conf", "profiles");
    assert_string_equal(p, "profiles");
    free(p);
    p = path_relative_to("/a/b.conf", "/abs");
    assert_string_equal(p, "/abs");
    free(p);
}

static void
test_name_from_hostname(void **state)
{
    char id[NAME_MAX_LEN + 1];
    char long_host[200];
    (void)state;
    fake_host = "bench-pi";
    name_from_hostname(id, "agent");
    assert_string_equal(id, "bench-pi");
    fake_host = "pi 4:b/c+d#e";
    name_from_hostname(id, "agent");
    assert_string_equal(id, "pi-4-b-c-d-e");
    assert_true(name_valid(id));
    memset(long_host, 'h', sizeof(long_host) - 1);
    long_host[sizeof(long_host) - 1] = '\0';
    fake_host = long_host;
    name_from_hostname(id, "agent");
    assert_int_equal(strlen(id), NAME_MAX_LEN);
    assert_true(name_valid(id));
    fake_host = "";
    name_from_hostname(id, "ember-drain");
    assert_string_equal(id, "ember-drain");
    fake_host = NULL;
    name_from_hostname(id, "agent");
    assert_string_equal(id, "agent");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration), cmocka_unit_test(test_duration_fmt),
        cmocka_unit_test(test_long),     cmocka_unit_test(test_bool_double),
        cmocka_unit_test(test_rfc3339),  cmocka_unit_test(test_names_paths),
        cmocka_unit_test(test_name_from_hostname),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
