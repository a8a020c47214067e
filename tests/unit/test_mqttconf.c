/* Unit tests: agent/lib/mqttconf.c - the one [mqtt] table (defaults, reload
 * classes), its file:line errors, the TLS and password_file checks, the
 * reload check; and that emberd's and ember-drain's loaders both use it with
 * their own default client id.  Also the session's parameter helpers
 * (agent/lib/mqtt.c), which need no broker. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../agent/drain/dconf.h"
#include "../../agent/emberd/conf.h"
#include "cfgfile.h"
#include "mqtt.h"
#include "mqttconf.h"
#include "tmpdir.h"

static int
setup(void **state)
{
    (void)state;
    return tmpdir_make("mqttconf");
}

static int
teardown(void **state)
{
    (void)state;
    return tmpdir_remove();
}

static const char *
write_file(const char *name, const char *text, mode_t mode)
{
    static char path[128];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
    return path;
}

/* A loader that knows only [mqtt], as emberd's and ember-drain's do for it. */
static void
on_key(struct cfgfile *cf, const char *section, const char *key, const char *value)
{
    struct mqtt_conf *m = cf->user;

    if (strcmp(section, "mqtt") != 0)
        cfgfile_error(cf, "[%s]: unknown section", section);
    else if (mqttconf_key(cf, m, key, value) == 1)
        cfgfile_error(cf, "[%s]: unknown key '%s'", section, key);
}

/* Loads `text` into m: defaults, parse, validate.  Returns the error count. */
static int
load(const char *name, const char *text, struct mqtt_conf *m, struct cfgerr *err)
{
    char path[128];
    struct cfgfile cf = {.err = err, .key = on_key, .user = m};

    snprintf(path, sizeof(path), "%s", write_file(name, text, 0644));
    cf.path = path;
    memset(m, 0, sizeof(*m));
    assert_int_equal(mqttconf_defaults(m, path, err), 0);
    assert_int_equal(cfgfile_parse(&cf), 0);
    mqttconf_validate(m, path, "prog-default", err);
    return err->count;
}

static void
expect_in(const struct cfgerr *err, const char *needle)
{
    if (err->text == NULL || strstr(err->text, needle) == NULL)
        fail_msg("expected '%s' in:\n%s", needle, err->text ? err->text : "(no errors)");
}

/* Loads `text`, which must have exactly one mistake, described by `needle`. */
static void
expect_one_error(const char *name, const char *text, const char *needle)
{
    struct cfgerr err = {0};
    struct mqtt_conf m;

    assert_int_equal(load(name, text, &m, &err), 1);
    expect_in(&err, needle);
    mqttconf_free(&m);
    cfgerr_free(&err);
}

static void
test_table(void **state)
{
    struct cfgerr err = {0};
    struct mqtt_conf m;
    (void)state;

    assert_true(mqttconf_nkeys > 0 && mqttconf_nkeys <= MQTTCONF_MAX_KEYS);
    /* Every [mqtt] key needs a restart: the session is built from them. */
    for (size_t i = 0; i < mqttconf_nkeys; i++)
        assert_int_equal(mqttconf_keys[i].reload, CFG_RESTART);

    assert_int_equal(load("empty.conf", "[mqtt]\n", &m, &err), 0);
    assert_string_equal(m.host, "127.0.0.1");
    assert_int_equal(m.port, 1883);
    assert_string_equal(m.prefix, "emberwatch");
    assert_int_equal(m.keepalive_s, 10);
    assert_int_equal(m.protocol, 0);
    assert_int_equal(m.reconnect_min_ms, 500);
    assert_int_equal(m.reconnect_max_ms, 30000);
    assert_string_equal(m.client_id, "prog-default");
    assert_null(m.cafile);
    assert_null(m.username);
    assert_null(m.password);
    assert_true(m.answer_stale_will);
    mqttconf_free(&m);
    assert_null(err.text);
}

static void
test_host_list(void **state)
{
    struct mqtt_broker b[MQTT_MAX_BROKERS];
    struct cfgerr err = {0};
    struct mqtt_conf m;
    char why[200];
    (void)state;

    assert_int_equal(mqttconf_parse_hosts("a", 1883, b, 8, why, sizeof(why)), 1);
    assert_string_equal(b[0].host, "a");
    assert_int_equal(b[0].port, 1883);
    assert_int_equal(mqttconf_parse_hosts(" a ,b:1884,[::1]:1885 , [fe80::1], 10.0.0.1:9",
                                          1883, b, 8, why, sizeof(why)),
                     5);
    assert_string_equal(b[1].host, "b");
    assert_int_equal(b[1].port, 1884);
    assert_string_equal(b[2].host, "::1");
    assert_int_equal(b[2].port, 1885);
    assert_string_equal(b[3].host, "fe80::1");
    assert_int_equal(b[3].port, 1883);
    assert_string_equal(b[4].host, "10.0.0.1");
    assert_int_equal(b[4].port, 9);

    static const struct {
        const char *list, *why;
    } bad[] = {
        {"a,,b", "an empty broker"},
        {"a,", "an empty broker"},
        {"", "an empty broker"},
        {"a:0", "port must be a number"},
        {"a:65536", "port must be a number"},
        {"a:", "port must be a number"},
        {"a:x", "port must be a number"},
        {"a:+1", "port must be a number"},
        {"::1", "write an IPv6 address as [ADDRESS]"},
        {"[::1", "write an IPv6 address as [ADDRESS]"},
        {"[::1]x", "write an IPv6 address as [ADDRESS]"},
        {":1883", "no host name or address"},
        {"a b", "no host name or address"},
        {"a,b,a", "a port 1883 is listed twice"},
        {"a,a:1883", "a port 1883 is listed twice"},
        {"a,b,c,d,e,f,g,h,i", "more than 8 brokers"},
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        int n = mqttconf_parse_hosts(bad[i].list, 1883, b, MQTT_MAX_BROKERS, why, sizeof(why));
        if (n != -EINVAL || strstr(why, bad[i].why) == NULL)
            fail_msg("\"%s\": got %d, \"%s\"; expected \"%s\"", bad[i].list, n, why, bad[i].why);
    }
    assert_int_equal(mqttconf_parse_hosts("a,b:1", 1883, b, 8, why, sizeof(why)), 2);

    /* In a file: the list and the port of those that name none. */
    assert_int_equal(load("hosts.conf", "[mqtt]\nport = 8883\nhost = m1, m2:8884\n", &m, &err), 0);
    assert_int_equal(m.nbrokers, 2);
    assert_string_equal(m.brokers[0].host, "m1");
    assert_int_equal(m.brokers[0].port, 8883);
    assert_int_equal(m.brokers[1].port, 8884);
    mqttconf_free(&m);
    cfgerr_free(&err);
    assert_int_equal(load("defhost.conf", "[mqtt]\n", &m, &err), 0);
    assert_int_equal(m.nbrokers, 1);
    assert_string_equal(m.brokers[0].host, "127.0.0.1");
    assert_int_equal(m.brokers[0].port, 1883);
    mqttconf_free(&m);
    cfgerr_free(&err);
    expect_one_error("badhosts.conf", "[mqtt]\n\nhost = m1, ::1\n",
                     "badhosts.conf:3: [mqtt] host: \"::1\": write an IPv6 address as [ADDRESS]");
}

static void
test_values_and_lines(void **state)
{
    struct cfgerr err = {0};
    struct mqtt_conf m;
    (void)state;

    assert_int_equal(load("vals.conf",
                          "[mqtt]\n"              /* 1 */
                          "host = broker.lan\n"   /* 2 */
                          "port = 8883\n"         /* 3 */
                          "client_id = mine\n"    /* 4 */
                          "prefix = acme/fire\n"  /* 5 */
                          "protocol = 5\n"        /* 6 */
                          "reconnect_max = 2m\n"  /* 7 */
                          "answer_stale_will = no\n", /* 8 */
                          &m, &err),
                     0);
    assert_string_equal(m.host, "broker.lan");
    assert_int_equal(m.port, 8883);
    assert_string_equal(m.client_id, "mine"); /* the program's default only when unset */
    assert_string_equal(m.prefix, "acme/fire");
    assert_int_equal(m.protocol, 1);
    assert_int_equal(m.reconnect_max_ms, 120000);
    assert_false(m.answer_stale_will);
    assert_int_equal(m.line, 1);
    assert_int_equal(m.key_line[1], 3); /* port */
    assert_int_equal(m.key_line[7], 7); /* reconnect_max */
    assert_int_equal(m.key_line[8], 0); /* cafile: not in the file */
    mqttconf_free(&m);

    assert_int_equal(load("bad.conf",
                          "[mqtt]\n"               /* 1 */
                          "prefix = a/#\n"         /* 2 */
                          "port = 70000\n"         /* 3 */
                          "colour = red\n"         /* 4 */
                          "keepalive = 1\n"        /* 5 */
                          "protocol = 4\n"         /* 6 */
                          "reconnect_min = 20s\n"  /* 7 */
                          "reconnect_max = 10s\n"  /* 8 */
                          "answer_stale_will = 2\n", /* 9 */
                          &m, &err),
                     7);
    expect_in(&err, "bad.conf:9: [mqtt] answer_stale_will: '2' is not yes/no");
    expect_in(&err, "bad.conf:2: [mqtt] prefix: 'a/#' must be a topic without wildcards");
    expect_in(&err, "bad.conf:3: [mqtt] port: 70000 is out of range (1..65535)");
    expect_in(&err, "bad.conf:4: [mqtt]: unknown key 'colour'");
    expect_in(&err, "bad.conf:5: [mqtt] keepalive: 1 is out of range (5..3600)");
    expect_in(&err, "bad.conf:6: [mqtt] protocol: '4' is not one of: 3.1.1, 5");
    expect_in(&err, "bad.conf:1: [mqtt] reconnect_max: below reconnect_min");
    mqttconf_free(&m);
    cfgerr_free(&err);

    /* Each prefix rule. */
    static const char *const bad[] = {"/a", "a/", "a//b", "a/+/b", "#"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        char text[64];
        snprintf(text, sizeof(text), "[mqtt]\nprefix = %s\n", bad[i]);
        expect_one_error("prefix.conf", text, "prefix.conf:2: [mqtt] prefix: '");
    }
}

static void
test_tls_and_login(void **state)
{
    struct cfgerr err = {0};
    struct mqtt_conf m;
    char text[1024];
    const char *ca = write_file("ca.pem", "not checked here\n", 0644);
    char ca_path[128];
    (void)state;

    snprintf(ca_path, sizeof(ca_path), "%s", ca);
    write_file("good.pw", "s3cret\nsecond line ignored\n", 0600);
    write_file("open.pw", "s3cret\n", 0644);
    write_file("empty.pw", "", 0600);

    /* TLS on, login from a private file: the first line is the password. */
    snprintf(text, sizeof(text), "[mqtt]\ncafile = %s\nusername = agent\npassword_file = good.pw\n",
             ca_path);
    assert_int_equal(load("tls.conf", text, &m, &err), 0);
    assert_string_equal(m.cafile, ca_path);
    assert_string_equal(m.username, "agent");
    assert_string_equal(m.password, "s3cret");
    mqttconf_free(&m);

    assert_int_equal(load("nopw.conf",
                          "[mqtt]\n"                        /* 1 */
                          "certfile = /nonexistent/c.pem\n" /* 2 */
                          "password_file = open.pw\n",      /* 3 */
                          &m, &err),
                     5);
    expect_in(&err, "nopw.conf:2: [mqtt] certfile: cannot read /nonexistent/c.pem: ");
    expect_in(&err, "nopw.conf:2: [mqtt] certfile and keyfile go together");
    expect_in(&err, "nopw.conf:2: [mqtt] certfile: a client certificate needs TLS (cafile or "
                    "capath)");
    expect_in(&err, "nopw.conf:3: [mqtt] password_file: needs a username");
    expect_in(&err, "nopw.conf:3: [mqtt] password_file: ");
    expect_in(&err, "/open.pw is open to group or others (mode 644); chmod 600 it");
    assert_null(m.password);
    mqttconf_free(&m);
    cfgerr_free(&err);

    assert_int_equal(load("keyonly.conf", "[mqtt]\n\nkeyfile = /nonexistent/k.pem\n", &m, &err), 2);
    expect_in(&err, "keyonly.conf:3: [mqtt] keyfile: cannot read /nonexistent/k.pem");
    expect_in(&err, "keyonly.conf:3: [mqtt] certfile and keyfile go together");
    mqttconf_free(&m);
    cfgerr_free(&err);

    expect_one_error("pwmissing.conf", "[mqtt]\nusername = u\npassword_file = /nonexistent/pw\n",
                     "pwmissing.conf:3: [mqtt] password_file: /nonexistent/pw: No such file");
    expect_one_error("pwempty.conf", "[mqtt]\nusername = u\npassword_file = empty.pw\n",
                     "pwempty.conf:3: [mqtt] password_file: cannot read ");
}

static void
test_restart_key(void **state)
{
    struct cfgerr err = {0};
    struct mqtt_conf a, b;
    (void)state;

    write_file("one.pw", "one\n", 0600);
    write_file("two.pw", "two\n", 0600);
    assert_int_equal(load("a.conf", "[mqtt]\nusername = u\npassword_file = one.pw\n", &a, &err), 0);
    assert_int_equal(load("b.conf", "[mqtt]\nusername = u\npassword_file = one.pw\n", &b, &err), 0);
    assert_null(mqttconf_restart_key(&a, &b));

    b.port = 1884;
    assert_string_equal(mqttconf_restart_key(&a, &b), "port");
    b.port = a.port;
    b.reconnect_max_ms = 60000;
    assert_string_equal(mqttconf_restart_key(&a, &b), "reconnect_max");
    mqttconf_free(&b);

    /* Same file name, new password in it. */
    write_file("one.pw", "changed\n", 0600);
    assert_int_equal(load("b.conf", "[mqtt]\nusername = u\npassword_file = one.pw\n", &b, &err), 0);
    assert_string_equal(mqttconf_restart_key(&a, &b), "password_file");
    mqttconf_free(&b);
    assert_int_equal(load("b.conf", "[mqtt]\nhost = elsewhere\n", &b, &err), 0);
    assert_string_equal(mqttconf_restart_key(&a, &b), "host");
    mqttconf_free(&b);
    mqttconf_free(&a);
    assert_null(err.text);
}

/* Both programs' loaders: the table's defaults, their own client id, their
 * unknown-key and prefix messages. */
static void
test_both_loaders(void **state)
{
    struct cfgerr err = {0};
    struct conf *c = NULL;
    struct dconf *dc = NULL;
    const char *p;
    (void)state;

    p = write_file("emberd.conf", "[agent]\nsite = s1\nid = a1\n", 0644);
    assert_int_equal(conf_load(p, &c, &err), 0);
    assert_string_equal(c->mqtt.host, "127.0.0.1");
    assert_int_equal(c->mqtt.port, 1883);
    assert_int_equal(c->mqtt.keepalive_s, 10);
    assert_string_equal(c->mqtt.prefix, "emberwatch");
    assert_string_equal(c->mqtt.client_id, "emberd-s1-a1");
    conf_free(c);

    p = write_file("drain.conf",
                   "[drain]\nid = ctl1\n[site s]\nhooks = k\n[hook k]\nexec = /bin/true\n", 0644);
    assert_int_equal(dconf_load(p, &dc, &err), 0);
    assert_string_equal(dc->mqtt.host, "127.0.0.1");
    assert_string_equal(dc->mqtt.prefix, "emberwatch");
    assert_int_equal(dc->mqtt.port, 1883);
    assert_string_equal(dc->mqtt.client_id, "ember-drain-ctl1");
    dconf_free(dc);
    assert_null(err.text);

    /* emberd's [agent] takes lines 1-3; [mqtt] starts at 4. */
    p = write_file("e5.conf", "[agent]\nsite = s1\nid = a1\n[mqtt]\nprefix = a/#\n", 0644);
    assert_int_equal(conf_load(p, &c, &err), -EINVAL);
    expect_in(&err, "e5.conf:5: [mqtt] prefix: 'a/#' must be a topic without wildcards");
    cfgerr_free(&err);
    p = write_file("e6.conf", "[agent]\nsite = s1\nid = a1\n[mqtt]\ncolour = red\n", 0644);
    assert_int_equal(conf_load(p, &c, &err), -EINVAL);
    expect_in(&err, "e6.conf:5: [mqtt]: unknown key 'colour'");
    cfgerr_free(&err);

    p = write_file("d5.conf",
                   "[mqtt]\nprefix = a/#\ncolour = red\n[site s]\nhooks = k\n"
                   "[hook k]\nexec = /bin/true\n",
                   0644);
    assert_int_equal(dconf_load(p, &dc, &err), -EINVAL);
    expect_in(&err, "d5.conf:2: [mqtt] prefix: 'a/#' must be a topic without wildcards");
    expect_in(&err, "d5.conf:3: [mqtt]: unknown key 'colour'");
    cfgerr_free(&err);
}

static void
test_session_params(void **state)
{
    struct mqtt_conf mc = {.client_id = "c"};
    struct mqtt_params *p = calloc(1, sizeof(*p));
    char longname[MQTT_TOPIC_MAX + 1];
    (void)state;

    p->conf = &mc;
    assert_int_equal(mqtt_params_base(p, "%s/%s/%s", "emberwatch", "site", "agent"), 0);
    assert_string_equal(p->base, "emberwatch/site/agent");
    assert_int_equal(mqtt_params_subscribe(p, 1, "%s/cmd/+", p->base), 0);
    assert_int_equal(p->nsubs, 1);
    assert_string_equal(p->subs[0].filter, "emberwatch/site/agent/cmd/+");
    assert_int_equal(p->subs[0].qos, 1);

    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    assert_int_equal(mqtt_params_base(p, "%s", longname), -ENAMETOOLONG);
    assert_int_equal(mqtt_params_subscribe(p, 0, "%s/#", longname), -ENAMETOOLONG);
    assert_int_equal(p->nsubs, 1);
    while (p->nsubs < MQTT_MAX_SUBS)
        assert_int_equal(mqtt_params_subscribe(p, 0, "t/%d", p->nsubs), 0);
    assert_int_equal(mqtt_params_subscribe(p, 0, "one/too/many"), -ENOSPC);
    assert_string_equal(p->subs[MQTT_MAX_SUBS - 1].filter, "t/63");
    free(p);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),         cmocka_unit_test(test_values_and_lines),
        cmocka_unit_test(test_host_list),
        cmocka_unit_test(test_tls_and_login), cmocka_unit_test(test_restart_key),
        cmocka_unit_test(test_both_loaders),  cmocka_unit_test(test_session_params),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
