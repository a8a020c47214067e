/*
 * mqtt.c - libmosquitto inside the daemon's poll() loop.
 *
 * This is the only file that includes <mosquitto.h>.  We never call
 * mosquitto_loop_start(): the socket is polled by our loop, which calls
 * loop_read / loop_write (when want_write) and loop_misc on a timer.
 */
#include "mqtt.h"

#include <errno.h>
#include <mosquitto.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

#define TOPIC_MAX 512

struct mqtt {
    struct mosquitto *mosq;
    const struct conf *conf;
    struct loop *loop;
    mqtt_connect_fn on_connect;
    mqtt_message_fn on_message;
    mqtt_acked_fn on_acked;
    void *arg;
    char base[TOPIC_MAX / 2 + 64]; /* {prefix}/{site}/{agent}: at most 128 + 1 + 64 + 1 + 64 */
    char status_topic[TOPIC_MAX];
    bool connected;
    bool connecting;
    bool stopping;
    bool ever_connected;
    int64_t backoff_ms;
    int reconnect_timer;
    int misc_timer;
    int offline_mid;
    bool offline_acked;
    unsigned long dropped;
    int64_t last_warn_ms; /* "broker unreachable" is said once a minute at most */
    char last_err[200];   /* libmosquitto's latest error line (TLS reasons) */
};

/* An unreachable broker must be visible at the default log level, without
 * flooding it during a long outage. */
static void
warn_unreachable(struct mqtt *m, const char *why)
{
    int64_t now = mono_ms();

    if (m->last_warn_ms != 0 && now - m->last_warn_ms < 60000)
        return;
    m->last_warn_ms = now;
    log_warnx("mqtt: cannot reach broker %s:%d: %s%s%s (retrying; %lu messages dropped so far)",
              m->conf->mqtt.host, m->conf->mqtt.port, why, m->last_err[0] ? ": " : "",
              m->last_err, m->dropped);
}

int
mqtt_lib_init(void)
{
    return mosquitto_lib_init() == MOSQ_ERR_SUCCESS ? 0 : -EIO;
}

void
mqtt_lib_fini(void)
{
    mosquitto_lib_cleanup();
}

static void schedule_reconnect(struct mqtt *m);

static void
try_connect(void *arg)
{
    struct mqtt *m = arg;
    const struct mqtt_conf *mc = &m->conf->mqtt;
    int rc;

    m->reconnect_timer = 0;
    if (m->stopping)
        return;
    if (!m->ever_connected && !m->connecting)
        rc = mosquitto_connect_async(m->mosq, mc->host, mc->port, mc->keepalive_s);
    else
        rc = mosquitto_reconnect_async(m->mosq);
    if (rc != MOSQ_ERR_SUCCESS) {
        warn_unreachable(m, rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
        schedule_reconnect(m);
        return;
    }
    m->connecting = true;
}

static void
schedule_reconnect(struct mqtt *m)
{
    const struct mqtt_conf *mc = &m->conf->mqtt;

    if (m->stopping || m->reconnect_timer > 0)
        return;
    m->backoff_ms = m->backoff_ms ? m->backoff_ms * 2 : mc->reconnect_min_ms;
    if (m->backoff_ms > mc->reconnect_max_ms)
        m->backoff_ms = mc->reconnect_max_ms;
    m->reconnect_timer = loop_timer(m->loop, m->backoff_ms, try_connect, m);
}

static void
on_connect(struct mosquitto *mosq, void *obj, int rc)
{
    struct mqtt *m = obj;
    (void)mosq;

    if (rc != 0) {
        char why[160];
        snprintf(why, sizeof(why), "broker refused the connection: %s",
                 mosquitto_connack_string(rc));
        warn_unreachable(m, why);
        return; /* on_disconnect follows and schedules the retry */
    }
    m->connected = true;
    m->ever_connected = true;
    m->backoff_ms = 0;
    m->last_warn_ms = 0;
    m->last_err[0] = '\0';
    log_info("mqtt: connected to %s:%d", m->conf->mqtt.host, m->conf->mqtt.port);
    mosquitto_publish(m->mosq, NULL, m->status_topic, 6, "online", 1, true);
    if (m->on_message) {
        char sub[TOPIC_MAX];
        if (snprintf(sub, sizeof(sub), "%s/cmd/+", m->base) < (int)sizeof(sub))
            mosquitto_subscribe(m->mosq, NULL, sub, 1);
    }
    if (m->on_connect)
        m->on_connect(m->arg);
}

static void
on_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
    struct mqtt *m = obj;
    (void)mosq;

    if (m->stopping) {
        m->connected = false;
        return;
    }
    if (m->connected)
        log_warnx("mqtt: connection to %s:%d lost (%s); reconnecting", m->conf->mqtt.host,
                  m->conf->mqtt.port,
                  rc == MOSQ_ERR_KEEPALIVE ? "no reply within the keepalive"
                  : rc == MOSQ_ERR_CONN_LOST ? "closed by the broker or the network"
                                              : mosquitto_strerror(rc));
    else
        warn_unreachable(m, rc == MOSQ_ERR_CONN_LOST ? "connection refused or closed"
                                                      : mosquitto_strerror(rc));
    m->connected = false;
    schedule_reconnect(m);
}

static void
on_publish(struct mosquitto *mosq, void *obj, int mid)
{
    struct mqtt *m = obj;
    (void)mosq;
    if (mid == m->offline_mid)
        m->offline_acked = true;
    else if (m->on_acked != NULL)
        m->on_acked(m->arg, mid);
}

static void
on_msg(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg)
{
    struct mqtt *m = obj;
    size_t blen = strlen(m->base);
    (void)mosq;

    if (m->on_message == NULL || strncmp(msg->topic, m->base, blen) != 0 ||
        msg->topic[blen] != '/')
        return;
    m->on_message(m->arg, msg->topic + blen + 1, msg->payload, (size_t)msg->payloadlen);
}

static void
on_log(struct mosquitto *mosq, void *obj, int level, const char *str)
{
    struct mqtt *m = obj;
    (void)mosq;
    /* Keep the reason (e.g. "certificate verify failed") for the next
     * "cannot reach broker" warning; everything else at debug. */
    if (level & MOSQ_LOG_ERR)
        snprintf(m->last_err, sizeof(m->last_err), "%s", str);
    if (level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING))
        log_debug("libmosquitto: %s", str);
}

static int
prepare(void *arg, short *events)
{
    struct mqtt *m = arg;
    int fd = mosquitto_socket(m->mosq);

    if (fd < 0)
        return -1;
    *events = POLLIN;
    if (mosquitto_want_write(m->mosq))
        *events |= POLLOUT;
    return fd;
}

static void
handle_error(struct mqtt *m, int rc)
{
    if (rc == MOSQ_ERR_SUCCESS)
        return;
    /* libmosquitto has closed the socket (and called on_disconnect);
     * scheduling twice is harmless. */
    if (!m->connected || rc == MOSQ_ERR_NO_CONN) {
        m->connecting = false;
        m->connected = false;
        schedule_reconnect(m);
    }
}

static void
dispatch(void *arg, short revents)
{
    struct mqtt *m = arg;
    int rc = MOSQ_ERR_SUCCESS;

    if (revents & (POLLIN | POLLERR | POLLHUP))
        rc = mosquitto_loop_read(m->mosq, 1);
    if (rc == MOSQ_ERR_SUCCESS && (revents & POLLOUT))
        rc = mosquitto_loop_write(m->mosq, 1);
    handle_error(m, rc);
}

static void
misc_tick(void *arg)
{
    struct mqtt *m = arg;
    int rc = mosquitto_loop_misc(m->mosq);

    /* loop_misc sends PINGREQ and notices a broker that stopped answering. */
    if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_NO_CONN)
        handle_error(m, rc);
    m->misc_timer = loop_timer(m->loop, 250, misc_tick, m);
}

int
mqtt_init(struct mqtt **out, const struct conf *c, struct loop *l, mqtt_connect_fn cb,
          mqtt_message_fn msg_cb, void *arg)
{
    struct mqtt *m = xcalloc(1, sizeof(*m));
    char client_id[256];
    int rc;

    m->conf = c;
    m->loop = l;
    m->on_connect = cb;
    m->on_message = msg_cb;
    m->arg = arg;
    m->offline_mid = -1;
    if (snprintf(m->base, sizeof(m->base), "%s/%s/%s", c->mqtt.prefix, c->agent.site,
                 c->agent.id) >= (int)sizeof(m->base) ||
        snprintf(m->status_topic, sizeof(m->status_topic), "%s/status", m->base) >=
            (int)sizeof(m->status_topic)) {
        free(m);
        return -ENAMETOOLONG;
    }
    if (c->mqtt.client_id)
        snprintf(client_id, sizeof(client_id), "%s", c->mqtt.client_id);
    else
        snprintf(client_id, sizeof(client_id), "emberd-%s-%s", c->agent.site, c->agent.id);

    m->mosq = mosquitto_new(client_id, true, m);
    if (m->mosq == NULL) {
        free(m);
        return -ENOMEM;
    }
    /* Alarms are small and latency-bound: do not let Nagle hold an event
     * behind the broker's delayed ACK of the previous telemetry message. */
    mosquitto_int_option(m->mosq, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION,
                         c->mqtt.protocol == 1 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311);
    mosquitto_connect_callback_set(m->mosq, on_connect);
    mosquitto_disconnect_callback_set(m->mosq, on_disconnect);
    mosquitto_publish_callback_set(m->mosq, on_publish);
    mosquitto_log_callback_set(m->mosq, on_log);
    mosquitto_message_callback_set(m->mosq, on_msg);
    if (c->mqtt.cafile != NULL || c->mqtt.capath != NULL) {
        /* Verify the broker's certificate and host name; no insecure mode. */
        rc = mosquitto_tls_set(m->mosq, c->mqtt.cafile, c->mqtt.capath, c->mqtt.certfile,
                               c->mqtt.keyfile, NULL);
        if (rc == MOSQ_ERR_SUCCESS)
            rc = mosquitto_tls_opts_set(m->mosq, 1, NULL, NULL);
        if (rc != MOSQ_ERR_SUCCESS) {
            log_errx("mqtt: TLS setup failed: %s", mosquitto_strerror(rc));
            mosquitto_destroy(m->mosq);
            free(m);
            return -EINVAL;
        }
    }
    if (c->mqtt.username != NULL &&
        mosquitto_username_pw_set(m->mosq, c->mqtt.username, c->mqtt.password) !=
            MOSQ_ERR_SUCCESS) {
        mosquitto_destroy(m->mosq);
        free(m);
        return -EINVAL;
    }
    rc = mosquitto_will_set(m->mosq, m->status_topic, 7, "offline", 1, true);
    if (rc != MOSQ_ERR_SUCCESS) {
        mosquitto_destroy(m->mosq);
        free(m);
        return -EINVAL;
    }
    if (loop_add(l, prepare, dispatch, m) < 0) {
        mosquitto_destroy(m->mosq);
        free(m);
        return -ENOSPC;
    }
    m->misc_timer = loop_timer(l, 250, misc_tick, m);
    try_connect(m);
    *out = m;
    return 0;
}

void
mqtt_fini(struct mqtt *m, int timeout_ms)
{
    int64_t deadline = mono_ms() + timeout_ms;

    if (m == NULL)
        return;
    m->stopping = true;
    if (m->reconnect_timer > 0)
        loop_timer_cancel(m->loop, m->reconnect_timer);
    loop_timer_cancel(m->loop, m->misc_timer);
    loop_remove(m->loop, m);
    if (m->connected &&
        mosquitto_publish(m->mosq, &m->offline_mid, m->status_topic, 7, "offline", 1, true) ==
            MOSQ_ERR_SUCCESS) {
        /* Drive the socket ourselves until the broker acknowledges. */
        while (!m->offline_acked && m->connected) {
            struct pollfd p = {.fd = mosquitto_socket(m->mosq), .events = POLLIN};
            int64_t left = deadline - mono_ms();
            if (p.fd < 0 || left <= 0)
                break;
            if (mosquitto_want_write(m->mosq))
                p.events |= POLLOUT;
            if (poll(&p, 1, (int)left) <= 0)
                break;
            if ((p.revents & POLLOUT) && mosquitto_loop_write(m->mosq, 1) != MOSQ_ERR_SUCCESS)
                break;
            if ((p.revents & (POLLIN | POLLHUP | POLLERR)) &&
                mosquitto_loop_read(m->mosq, 1) != MOSQ_ERR_SUCCESS)
                break;
        }
        if (!m->offline_acked)
            log_warnx("mqtt: broker did not acknowledge 'offline' in time");
    }
    if (m->connected) {
        mosquitto_disconnect(m->mosq);
        mosquitto_loop_write(m->mosq, 1);
    }
    mosquitto_destroy(m->mosq);
    free(m);
}

int
mqtt_publish(struct mqtt *m, const char *suffix, const char *payload, size_t len, int qos,
             bool retain)
{
    return mqtt_publish_mid(m, suffix, payload, len, qos, retain, NULL);
}

void
mqtt_set_acked_cb(struct mqtt *m, mqtt_acked_fn fn)
{
    m->on_acked = fn;
}

int
mqtt_publish_mid(struct mqtt *m, const char *suffix, const char *payload, size_t len, int qos,
                 bool retain, int *mid)
{
    char topic[TOPIC_MAX];
    int rc;

    if (!m->connected) {
        m->dropped++;
        return -ENOTCONN;
    }
    if (snprintf(topic, sizeof(topic), "%s/%s", m->base, suffix) >= (int)sizeof(topic))
        return -ENAMETOOLONG;
    rc = mosquitto_publish(m->mosq, mid, topic, (int)len, payload, qos, retain);
    if (rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST) {
        m->dropped++;
        return -ENOTCONN;
    }
    if (rc != MOSQ_ERR_SUCCESS) {
        m->dropped++;
        return -EIO;
    }
    /* Send now rather than on the next poll() round: alarms are latency-bound. */
    if (mosquitto_want_write(m->mosq))
        handle_error(m, mosquitto_loop_write(m->mosq, 1));
    return 0;
}

void
mqtt_set_conf(struct mqtt *m, const struct conf *c)
{
    m->conf = c;
}

bool
mqtt_connected(const struct mqtt *m)
{
    return m->connected;
}

unsigned long
mqtt_dropped(const struct mqtt *m)
{
    return m->dropped;
}
