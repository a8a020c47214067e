/* The OpenMetrics / Prometheus text page (openmetrics.c) and the [metrics]
 * listen address (httpd_parse_listen). */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "httpd.h"
#include "openmetrics.h"

static char *
page(bool om)
{
    struct om m;
    om_init(&m, om);
    om_family(&m, "x_polls", OM_COUNTER, "Polls \\ made\nhere \"quoted\"");
    om_sample(&m, (const char *const[]){"bus", "a\"b\\c\nd", NULL}, 42);
    om_family(&m, "x_value", OM_GAUGE, "A value");
    om_sample(&m, NULL, 24.5);
    om_sample(&m, (const char *const[]){"k", "nan", NULL}, NAN);
    om_sample(&m, (const char *const[]){"k", "inf", NULL}, INFINITY);
    om_sample(&m, (const char *const[]){"k", "ninf", NULL}, -INFINITY);
    om_sample(&m, (const char *const[]){"k", "small", NULL}, 0.1);
    om_family(&m, "x_build", OM_INFO, "Build");
    om_sample(&m, (const char *const[]){"version", "1", "site", "s", NULL}, 1);
    return om_finish(&m);
}

static void
test_text_format(void **state)
{
    char *p = page(false);
    (void)state;
    assert_non_null(p);
    /* 0.0.4: a counter's family named as its samples, help escaping \\ and
     * \n only, no # EOF, info as a gauge. */
    assert_non_null(strstr(p, "# HELP x_polls_total Polls \\\\ made\\nhere \"quoted\"\n"
                              "# TYPE x_polls_total counter\n"
                              "x_polls_total{bus=\"a\\\"b\\\\c\\nd\"} 42\n"));
    assert_non_null(strstr(p, "# TYPE x_value gauge\nx_value 24.5\n"));
    assert_non_null(strstr(p, "x_value{k=\"nan\"} NaN\n"));
    assert_non_null(strstr(p, "x_value{k=\"inf\"} +Inf\n"));
    assert_non_null(strstr(p, "x_value{k=\"ninf\"} -Inf\n"));
    assert_non_null(strstr(p, "x_value{k=\"small\"} 0.1\n"));
    assert_non_null(strstr(p, "# TYPE x_build_info gauge\nx_build_info{version=\"1\",site=\"s\"} 1\n"));
    assert_null(strstr(p, "# EOF"));
    free(p);
}

static void
test_openmetrics_format(void **state)
{
    char *p = page(true);
    size_t n;
    (void)state;
    assert_non_null(p);
    assert_non_null(strstr(p, "# HELP x_polls Polls \\\\ made\\nhere \\\"quoted\\\"\n"
                              "# TYPE x_polls counter\n"
                              "x_polls_total{bus=\"a\\\"b\\\\c\\nd\"} 42\n"));
    assert_non_null(strstr(p, "# TYPE x_build info\nx_build_info{version=\"1\",site=\"s\"} 1\n"));
    n = strlen(p);
    assert_true(n > 6);
    assert_string_equal(p + n - 6, "# EOF\n");
    free(p);
}

static void
test_negotiation(void **state)
{
    (void)state;
    assert_true(om_wants_openmetrics("application/openmetrics-text;version=1.0.0,text/plain;q=0.5"));
    assert_false(om_wants_openmetrics("*/*"));
    assert_false(om_wants_openmetrics(NULL));
    assert_string_equal(om_content_type(false), "text/plain; version=0.0.4; charset=utf-8");
    assert_string_equal(om_content_type(true), "application/openmetrics-text; version=1.0.0; charset=utf-8");
}

static void
test_empty_page(void **state)
{
    struct om m;
    char *p;
    (void)state;
    om_init(&m, false);
    p = om_finish(&m);
    assert_null(p); /* nothing was written */
    om_init(&m, true);
    p = om_finish(&m);
    assert_string_equal(p, "# EOF\n");
    free(p);
}

static void
test_listen(void **state)
{
    struct sockaddr_storage sa;
    socklen_t len;
    char err[160];
    (void)state;

    assert_int_equal(httpd_parse_listen("127.0.0.1:9108", &sa, &len, err, sizeof(err)), 0);
    assert_int_equal(sa.ss_family, AF_INET);
    assert_int_equal(ntohs(((struct sockaddr_in *)&sa)->sin_port), 9108);
    assert_int_equal(len, sizeof(struct sockaddr_in));
    assert_int_equal(httpd_parse_listen("[::1]:9108", &sa, &len, err, sizeof(err)), 0);
    assert_int_equal(sa.ss_family, AF_INET6);
    assert_int_equal(ntohs(((struct sockaddr_in6 *)&sa)->sin6_port), 9108);
    assert_int_equal(httpd_parse_listen("0.0.0.0:1", &sa, &len, err, sizeof(err)), 0);
    assert_int_equal(httpd_parse_listen("0.0.0.0:65535", &sa, &len, err, sizeof(err)), 0);

    assert_int_equal(httpd_parse_listen("localhost:9108", &sa, &len, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "not an IPv4 address"));
    assert_int_equal(httpd_parse_listen("127.0.0.1:0", &sa, &len, err, sizeof(err)), -EINVAL);
    assert_int_equal(httpd_parse_listen("127.0.0.1:65536", &sa, &len, err, sizeof(err)), -EINVAL);
    assert_int_equal(httpd_parse_listen("127.0.0.1:", &sa, &len, err, sizeof(err)), -EINVAL);
    assert_int_equal(httpd_parse_listen("127.0.0.1:9x", &sa, &len, err, sizeof(err)), -EINVAL);
    assert_int_equal(httpd_parse_listen(":9108", &sa, &len, err, sizeof(err)), -EINVAL);
    assert_int_equal(httpd_parse_listen("9108", &sa, &len, err, sizeof(err)), -EINVAL);
    assert_int_equal(httpd_parse_listen("::1:9108", &sa, &len, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "ADDRESS:PORT"));
    assert_int_equal(httpd_parse_listen("[::1]9108", &sa, &len, err, sizeof(err)), -EINVAL);
    assert_int_equal(httpd_parse_listen("[127.0.0.1]:9108", &sa, &len, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "not an IPv6 address"));
    assert_int_equal(httpd_parse_listen("[]:9108", &sa, &len, err, sizeof(err)), -EINVAL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_format), cmocka_unit_test(test_openmetrics_format),
        cmocka_unit_test(test_negotiation), cmocka_unit_test(test_empty_page),
        cmocka_unit_test(test_listen),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
