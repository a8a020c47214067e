/*
 * mqttconf.c - the [mqtt] directive table and its checks (see mqttconf.h).
 *
 * Owns the table rows, the prefix rule and the TLS / login checks for every
 * program that talks to the broker.  Calls cfgfile and util only; never
 * prints.
 */
#include "mqttconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

static const char *const protocols[] = {"3.1.1", "5", NULL};

#define M(f) offsetof(struct mqtt_conf, f)
/* The session is built from these at start-up: a change takes a restart. */
const struct cfg_directive mqttconf_keys[] = {
    CFG_ROW("host", CFG_STR, M(host), .def = "127.0.0.1", .reload = CFG_RESTART),
    CFG_ROW("port", CFG_INT, M(port), .min = 1, .max = 65535, .def = "1883", .reload = CFG_RESTART),
    CFG_ROW("client_id", CFG_STR, M(client_id), .reload = CFG_RESTART),
    CFG_ROW("prefix", CFG_STR, M(prefix), .def = "emberwatch", .reload = CFG_RESTART),
    CFG_ROW("keepalive", CFG_INT, M(keepalive_s), .min = 5, .max = 3600, .def = "10",
            .reload = CFG_RESTART),
    CFG_ROW("protocol", CFG_ENUM, M(protocol), .names = protocols, .def = "3.1.1",
            .reload = CFG_RESTART),
    CFG_ROW("reconnect_min", CFG_DUR, M(reconnect_min_ms), .min = 100, .max = 60000, .def = "500ms",
            .reload = CFG_RESTART),
    CFG_ROW("reconnect_max", CFG_DUR, M(reconnect_max_ms), .min = 1000, .max = 600000, .def = "30s",
            .reload = CFG_RESTART),
    CFG_ROW("cafile", CFG_PATH, M(cafile), .reload = CFG_RESTART),
    CFG_ROW("capath", CFG_PATH, M(capath), .reload = CFG_RESTART),
    CFG_ROW("certfile", CFG_PATH, M(certfile), .reload = CFG_RESTART),
    CFG_ROW("keyfile", CFG_PATH, M(keyfile), .reload = CFG_RESTART),
    CFG_ROW("username", CFG_STR, M(username), .reload = CFG_RESTART),
    CFG_ROW("password_file", CFG_PATH, M(password_file), .reload = CFG_RESTART),
    CFG_ROW("answer_stale_will", CFG_BOOL, M(answer_stale_will), .def = "yes",
            .reload = CFG_RESTART),
};
const size_t mqttconf_nkeys = ARRAY_LEN(mqttconf_keys);

_Static_assert(ARRAY_LEN(mqttconf_keys) <= MQTTCONF_MAX_KEYS, "raise MQTTCONF_MAX_KEYS");

/* A topic prefix is one or more levels without wildcards or empty levels. */
static bool
prefix_valid(const char *p)
{
    size_t n = strlen(p);
    if (n == 0 || n > 128 || p[0] == '/' || p[n - 1] == '/')
        return false;
    return strpbrk(p, "+#") == NULL && strstr(p, "//") == NULL;
}

static int
key_index(const char *key)
{
    for (size_t i = 0; i < mqttconf_nkeys; i++)
        if (strcmp(mqttconf_keys[i].key, key) == 0)
            return (int)i;
    return -1;
}

/* The line of `key` in the file, or the [mqtt] header's when it is absent. */
static int
line_of(const struct mqtt_conf *m, const char *key)
{
    int i = key_index(key);
    return i >= 0 && m->key_line[i] > 0 ? m->key_line[i] : m->line;
}

int
mqttconf_defaults(struct mqtt_conf *m, const char *path, struct cfgerr *err)
{
    return cfgfile_defaults(path, mqttconf_keys, mqttconf_nkeys, m, err);
}

int
mqttconf_key(struct cfgfile *cf, struct mqtt_conf *m, const char *key, const char *value)
{
    int i = key_index(key);
    int rc;

    m->line = cf->section_line;
    if (i >= 0)
        m->key_line[i] = cf->line;
    rc = cfgfile_apply(cf, "mqtt", mqttconf_keys, mqttconf_nkeys, m, key, value);
    if (rc == 0 && strcmp(key, "prefix") == 0 && !prefix_valid(value)) {
        cfgfile_error(cf,
                      "[mqtt] prefix: '%s' must be a topic without wildcards or "
                      "leading/trailing '/'",
                      value);
        return -EINVAL;
    }
    return rc;
}

static void
check_readable(const struct mqtt_conf *m, const char *path, struct cfgerr *err, const char *key,
               const char *file)
{
    if (file != NULL && access(file, R_OK) != 0)
        cfgerr_add(err, path, line_of(m, key), "[mqtt] %s: cannot read %s: %s", key, file,
                   strerror(errno));
}

/* The password file must be private; its first line is the password. */
static void
read_password(struct mqtt_conf *m, const char *path, struct cfgerr *err)
{
    int line = line_of(m, "password_file");
    struct stat st;
    char text[512];
    FILE *fp;

    if (stat(m->password_file, &st) < 0) {
        cfgerr_add(err, path, line, "[mqtt] password_file: %s: %s", m->password_file,
                   strerror(errno));
        return;
    }
    if (st.st_mode & 077) {
        cfgerr_add(err, path, line,
                   "[mqtt] password_file: %s is open to group or others (mode %03o); "
                   "chmod 600 it",
                   m->password_file, (unsigned)(st.st_mode & 0777));
        return;
    }
    fp = fopen(m->password_file, "r");
    if (fp == NULL || fgets(text, sizeof(text), fp) == NULL) {
        cfgerr_add(err, path, line, "[mqtt] password_file: cannot read %s%s%s", m->password_file,
                   fp ? "" : ": ", fp ? "" : strerror(errno));
        if (fp)
            fclose(fp);
        return;
    }
    fclose(fp);
    text[strcspn(text, "\r\n")] = '\0';
    free(m->password);
    m->password = xstrdup(text);
    explicit_bzero(text, sizeof(text));
}

int
mqttconf_parse_hosts(const char *list, int default_port, struct mqtt_broker *out, int max, char *err,
                     size_t errlen)
{
    const char *p = list;
    int n = 0;

    for (;;) {
        const char *end = strchr(p, ','), *h, *hend, *port = NULL;
        size_t len;

        if (end == NULL)
            end = p + strlen(p);
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        len = (size_t)(end - p);
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len == 0) {
            snprintf(err, errlen, "an empty broker in \"%s\"", list);
            return -EINVAL;
        }
        if (n == max) {
            snprintf(err, errlen, "more than %d brokers", max);
            return -EINVAL;
        }
        if (p[0] == '[') {
            const char *close = memchr(p, ']', len);
            if (close == NULL || (close + 1 < p + len && close[1] != ':')) {
                snprintf(err, errlen, "\"%.*s\": write an IPv6 address as [ADDRESS] or [ADDRESS]:PORT",
                         (int)len, p);
                return -EINVAL;
            }
            h = p + 1;
            hend = close;
            if (close + 1 < p + len)
                port = close + 2;
        } else {
            const char *colon = memchr(p, ':', len);
            if (colon != NULL && memchr(colon + 1, ':', (size_t)(p + len - colon - 1)) != NULL) {
                snprintf(err, errlen, "\"%.*s\": write an IPv6 address as [ADDRESS] or [ADDRESS]:PORT",
                         (int)len, p);
                return -EINVAL;
            }
            h = p;
            hend = colon ? colon : p + len;
            if (colon != NULL)
                port = colon + 1;
        }
        if (hend == h || (size_t)(hend - h) > MQTT_HOST_MAX || memchr(h, ' ', (size_t)(hend - h))) {
            snprintf(err, errlen, "\"%.*s\": no host name or address", (int)len, p);
            return -EINVAL;
        }
        memcpy(out[n].host, h, (size_t)(hend - h));
        out[n].host[hend - h] = '\0';
        out[n].port = default_port;
        if (port != NULL) {
            char buf[8];
            size_t plen = (size_t)(p + len - port);
            char *e;
            long v;
            if (plen == 0 || plen >= sizeof(buf)) {
                snprintf(err, errlen, "\"%.*s\": the port must be a number from 1 to 65535", (int)len, p);
                return -EINVAL;
            }
            memcpy(buf, port, plen);
            buf[plen] = '\0';
            v = strtol(buf, &e, 10);
            if (*e != '\0' || v < 1 || v > 65535 || buf[0] == '+' || buf[0] == '-') {
                snprintf(err, errlen, "\"%.*s\": the port must be a number from 1 to 65535", (int)len, p);
                return -EINVAL;
            }
            out[n].port = (int)v;
        }
        for (int i = 0; i < n; i++) {
            if (strcmp(out[i].host, out[n].host) == 0 && out[i].port == out[n].port) {
                snprintf(err, errlen, "%s port %d is listed twice", out[n].host, out[n].port);
                return -EINVAL;
            }
        }
        n++;
        if (*end == '\0')
            return n;
        p = end + 1;
    }
}

void
mqttconf_validate(struct mqtt_conf *m, const char *path, const char *default_client_id,
                  struct cfgerr *err)
{
    char why[200];
    int n;

    if (m->client_id == NULL && default_client_id != NULL)
        m->client_id = xstrdup(default_client_id);
    n = mqttconf_parse_hosts(m->host, m->port, m->brokers, MQTT_MAX_BROKERS, why, sizeof(why));
    if (n < 0)
        cfgerr_add(err, path, line_of(m, "host"), "[mqtt] host: %s", why);
    m->nbrokers = n < 0 ? 0 : n;
    check_readable(m, path, err, "cafile", m->cafile);
    check_readable(m, path, err, "capath", m->capath);
    check_readable(m, path, err, "certfile", m->certfile);
    check_readable(m, path, err, "keyfile", m->keyfile);
    if ((m->certfile == NULL) != (m->keyfile == NULL))
        cfgerr_add(err, path, line_of(m, m->certfile ? "certfile" : "keyfile"),
                   "[mqtt] certfile and keyfile go together");
    if (m->certfile != NULL && m->cafile == NULL && m->capath == NULL)
        cfgerr_add(err, path, line_of(m, "certfile"),
                   "[mqtt] certfile: a client certificate needs TLS (cafile or capath)");
    if (m->password_file != NULL && m->username == NULL)
        cfgerr_add(err, path, line_of(m, "password_file"),
                   "[mqtt] password_file: needs a username");
    if (m->password_file != NULL)
        read_password(m, path, err);
    if (m->reconnect_max_ms < m->reconnect_min_ms)
        cfgerr_add(err, path, m->line, "[mqtt] reconnect_max: below reconnect_min");
}

const char *
mqttconf_restart_key(const struct mqtt_conf *a, const struct mqtt_conf *b)
{
    const char *key = cfgfile_restart_key(mqttconf_keys, mqttconf_nkeys, a, b);
    const struct cfg_directive pw = CFG_ROW(
        "password_file", CFG_STR, offsetof(struct mqtt_conf, password), .reload = CFG_RESTART);

    /* The same password_file with a new password in it is a change too. */
    if (key == NULL && !cfgfile_field_equal(&pw, a, b))
        key = pw.key;
    return key;
}

void
mqttconf_free(struct mqtt_conf *m)
{
    cfgfile_free_strings(mqttconf_keys, mqttconf_nkeys, m);
    if (m->password != NULL) {
        explicit_bzero(m->password, strlen(m->password));
        free(m->password);
    }
    memset(m, 0, sizeof(*m));
}
