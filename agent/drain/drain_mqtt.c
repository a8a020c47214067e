/*
 * drain_mqtt.c - libmosquitto inside ember-drain's poll() loop.
 *
 * ember-drain's only file that includes <mosquitto.h>.  As in emberd we never
 * call mosquitto_loop_start(): the loop polls the socket and calls
 * loop_read / loop_write (when want_write) and loop_misc on a timer.
 */
#include "drain_mqtt.h"

#include <errno.h>
#include <mosquitto.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

#define TOPIC_MAX 512
#define MAX_SUBS (DCONF_MAX_SITES * 4)

struct dmqtt {
    struct mosquitto *mosq;
    const struct dconf *conf;
    struct loop *loop;
    dmqtt_ready_fn on_ready;
    dmqtt_message_fn on_message;
    void *arg;
    char status_topic[TOPIC_MAX];
    char *subs[MAX_SUBS];
    int nsubs;
    int sub_mids[MAX_SUBS];
    int pending_subs;
    bool connected;
    bool connecting;
    bool stopping;
    bool ever_connected;
    int64_t backoff_ms;
    int reconnect_timer;
    int misc_timer;
    int offline_mid;
    bool offline_acked;
    int64_t last_warn_ms;
};

static void
warn_unreachable(struct dmqtt *m, const char *why)
{
    int64_t now = mono_ms();

    if (m->last_warn_ms != 0 && now - m->last_warn_ms < 60000)
        return;
    m->last_warn_ms = now;
    log_warnx("mqtt: cannot reach broker %s:%d: %s (retrying)", m->conf->mqtt.host,
              m->conf->mqtt.port, why);
}

int
dmqtt_lib_init(void)
{
    return mosquitto_lib_init() == MOSQ_ERR_SUCCESS ? 0 : -EIO;
}

void
dmqtt_lib_fini(void)
{
    mosquitto_lib_cleanup();
}

static void schedule_reconnect(struct dmqtt *m);

static void
try_connect(void *arg)
{
    struct dmqtt *m = arg;
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
schedule_reconnect(struct dmqtt *m)
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
    struct dmqtt *m = obj;
    (void)mosq;

    if (rc != 0) {
        char why[160];
        snprintf(why, sizeof(why), "broker refused the connection: %s",
                 mosquitto_connack_string(rc));
        warn_unreachable(m, why);
        return;
    }
    m->connected = true;
    m->ever_connected = true;
    m->backoff_ms = 0;
    m->last_warn_ms = 0;
    log_info("mqtt: connected to %s:%d", m->conf->mqtt.host, m->conf->mqtt.port);
    mosquitto_publish(m->mosq, NULL, m->status_topic, 6, "online", 1, true);
    m->pending_subs = 0;
    for (int i = 0; i < m->nsubs; i++) {
        if (mosquitto_subscribe(m->mosq, &m->sub_mids[i], m->subs[i], 1) == MOSQ_ERR_SUCCESS)
            m->pending_subs++;
        else
            m->sub_mids[i] = -1;
    }
    if (m->pending_subs == 0 && m->on_ready)
        m->on_ready(m->arg);
}

static void
on_subscribe(struct mosquitto *mosq, void *obj, int mid, int qos_count, const int *granted)
{
    struct dmqtt *m = obj;
    (void)mosq;

    for (int i = 0; i < m->nsubs; i++) {
        if (m->sub_mids[i] != mid)
            continue;
        if (qos_count < 1 || granted[0] > 2)
            log_errx("mqtt: the broker refused the subscription %s (check its ACL)", m->subs[i]);
        m->sub_mids[i] = -1;
        if (--m->pending_subs == 0 && m->on_ready)
            m->on_ready(m->arg);
        return;
    }
}

static void
on_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
    struct dmqtt *m = obj;
    (void)mosq;

    if (m->stopping) {
        m->connected = false;
        return;
    }
    if (m->connected)
        log_warnx("mqtt: connection to %s:%d lost (%s); reconnecting", m->conf->mqtt.host,
                  m->conf->mqtt.port,
                  rc == MOSQ_ERR_KEEPALIVE   ? "no reply within the keepalive"
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
    struct dmqtt *m = obj;
    (void)mosq;
    if (mid == m->offline_mid)
        m->offline_acked = true;
}

static void
on_msg(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg)
{
    struct dmqtt *m = obj;
    (void)mosq;
    if (m->on_message)
        m->on_message(m->arg, msg->topic, msg->payload, (size_t)msg->payloadlen, msg->retain);
}

static void
on_log(struct mosquitto *mosq, void *obj, int level, const char *str)
{
    (void)mosq;
    (void)obj;
    if (level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING))
        log_debug("libmosquitto: %s", str);
}

static int
prepare(void *arg, short *events)
{
    struct dmqtt *m = arg;
    int fd = mosquitto_socket(m->mosq);

    if (fd < 0)
        return -1;
    *events = POLLIN;
    if (mosquitto_want_write(m->mosq))
        *events |= POLLOUT;
    return fd;
}

static void
handle_error(struct dmqtt *m, int rc)
{
    if (rc == MOSQ_ERR_SUCCESS)
        return;
    if (!m->connected || rc == MOSQ_ERR_NO_CONN) {
        m->connecting = false;
        m->connected = false;
        schedule_reconnect(m);
    }
}

static void
dispatch(void *arg, short revents)
{
    struct dmqtt *m = arg;
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
    struct dmqtt *m = arg;
    int rc = mosquitto_loop_misc(m->mosq);

    if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_NO_CONN)
        handle_error(m, rc);
    m->misc_timer = loop_timer(m->loop, 250, misc_tick, m);
}

static void
add_sub(struct dmqtt *m, const char *fmt, const char *prefix, const char *site)
{
    char t[TOPIC_MAX];
    snprintf(t, sizeof(t), fmt, prefix, site);
    if (m->nsubs < MAX_SUBS)
        m->subs[m->nsubs++] = xstrdup(t);
}

static void
destroy(struct dmqtt *m)
{
    if (m->mosq)
        mosquitto_destroy(m->mosq);
    for (int i = 0; i < m->nsubs; i++)
        free(m->subs[i]);
    free(m);
}

int
dmqtt_init(struct dmqtt **out, const struct dconf *c, struct loop *l, dmqtt_ready_fn ready,
           dmqtt_message_fn msg, void *arg)
{
    struct dmqtt *m = xcalloc(1, sizeof(*m));
    char client_id[256];
    int rc;

    m->conf = c;
    m->loop = l;
    m->on_ready = ready;
    m->on_message = msg;
    m->arg = arg;
    m->offline_mid = -1;
    snprintf(m->status_topic, sizeof(m->status_topic), "%s/_drain/%s/status", c->mqtt.prefix,
             c->drain.id);
    for (int i = 0; i < c->nsites; i++) {
        const char *p = c->mqtt.prefix, *s = c->sites[i].name;
        add_sub(m, "%s/%s/+/drain/+", p, s);
        add_sub(m, "%s/%s/+/status", p, s);
        add_sub(m, "%s/%s/drain/state", p, s);
        if (c->sites[i].mqtt_commands)
            add_sub(m, "%s/%s/drain/cmd/+", p, s);
    }
    if (c->mqtt.client_id)
        snprintf(client_id, sizeof(client_id), "%s", c->mqtt.client_id);
    else
        snprintf(client_id, sizeof(client_id), "ember-drain-%s", c->drain.id);

    m->mosq = mosquitto_new(client_id, true, m);
    if (m->mosq == NULL) {
        destroy(m);
        return -ENOMEM;
    }
    mosquitto_int_option(m->mosq, MOSQ_OPT_TCP_NODELAY, 1); /* latency-bound control traffic */
    mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION,
                         c->mqtt.protocol == 1 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311);
    mosquitto_connect_callback_set(m->mosq, on_connect);
    mosquitto_disconnect_callback_set(m->mosq, on_disconnect);
    mosquitto_publish_callback_set(m->mosq, on_publish);
    mosquitto_subscribe_callback_set(m->mosq, on_subscribe);
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
            destroy(m);
            return -EINVAL;
        }
    }
    if (c->mqtt.username != NULL &&
        mosquitto_username_pw_set(m->mosq, c->mqtt.username, c->mqtt.password) !=
            MOSQ_ERR_SUCCESS) {
        destroy(m);
        return -EINVAL;
    }
    if (mosquitto_will_set(m->mosq, m->status_topic, 7, "offline", 1, true) != MOSQ_ERR_SUCCESS) {
        destroy(m);
        return -EINVAL;
    }
    if (loop_add(l, prepare, dispatch, m) < 0) {
        destroy(m);
        return -ENOSPC;
    }
    m->misc_timer = loop_timer(l, 250, misc_tick, m);
    try_connect(m);
    *out = m;
    return 0;
}

void
dmqtt_fini(struct dmqtt *m, int timeout_ms)
{
    int64_t deadline = mono_ms() + timeout_ms;

    if (m == NULL)
        return;
    m->stopping = true;
    if (m->reconnect_timer > 0)
        loop_timer_cancel(m->loop, m->reconnect_timer);
    loop_timer_cancel(m->loop, m->misc_timer);
    loop_remove(m->loop, m);
    if (m->connected && mosquitto_publish(m->mosq, &m->offline_mid, m->status_topic, 7, "offline",
                                          1, true) == MOSQ_ERR_SUCCESS) {
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
    destroy(m);
}

int
dmqtt_publish(struct dmqtt *m, const char *topic, const char *payload, size_t len, int qos,
              bool retain)
{
    int rc;

    if (!m->connected)
        return -ENOTCONN;
    rc = mosquitto_publish(m->mosq, NULL, topic, (int)len, payload, qos, retain);
    if (rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST)
        return -ENOTCONN;
    if (rc != MOSQ_ERR_SUCCESS)
        return -EIO;
    if (mosquitto_want_write(m->mosq))
        handle_error(m, mosquitto_loop_write(m->mosq, 1));
    return 0;
}

bool
dmqtt_connected(const struct dmqtt *m)
{
    return m->connected;
}
