/*
 * mqtt.c - libmosquitto inside a program's poll() loop (see mqtt.h).
 *
 * This is the only file that includes <mosquitto.h>.  We never call
 * mosquitto_loop_start(): the socket is polled by our loop, which calls
 * loop_read / loop_write (when want_write) and loop_misc on a timer.  Every
 * libmosquitto callback runs inside one of those calls, on the loop's thread.
 *
 * libmosquitto runs some callbacks with its own mutexes held: 2.0.11
 * (Debian 12) the callback mutex around every callback, every 2.0 the
 * mutex of the packet being written around a QoS 0 on_publish.  They are
 * not recursive, so a loop call made from inside a callback can lock one
 * of them again on the same thread and never return: in 2.0.11 a
 * loop_write that fails calls on_disconnect under the callback mutex.  So
 * the callbacks count themselves in in_callback, and a publish made from
 * one leaves the writing to the call that ran the callback: dispatch()
 * writes right after its read, and a write under way sends what its
 * callbacks queued before it returns.
 */
#include "mqtt.h"

#include <errno.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "util.h"

#define MISC_PERIOD_MS 250
#define MQTT_CLIENT_ID_MAX 256

struct mqtt {
    struct mosquitto *mosq;
    struct mqtt_params p;
    struct loop *loop;
    mqtt_acked_fn on_acked;
    char status_topic[MQTT_TOPIC_MAX];
    int status_sub; /* p.subs[status_sub] is status_topic: a stale Last Will is answered;
                     -1: not subscribed ([mqtt] answer_stale_will = no) */
    unsigned long stale_wills;
    int sub_mids[MQTT_MAX_SUBS + 1]; /* -1 once acknowledged */
    int pending_subs;
    int in_callback; /* > 0: inside a libmosquitto callback (see the top of this file) */
    bool connected;
    bool is_ready; /* on_ready has run for this connection */
    bool connecting;
    bool stopping;
    bool ever_connected;
    int64_t backoff_ms;
    int reconnect_timer;
    int cur;             /* the broker in use or being tried: index into conf->brokers */
    int failed;          /* attempts that failed since the last connection */
    bool retry_same;     /* the next attempt goes to the same broker (a closed connection) */
    int connect_timer;   /* > 0: the attempt under way is given up when it fires */
    char base_id[MQTT_CLIENT_ID_MAX]; /* the client id for the first broker */
    int id_broker;       /* the broker whose client id mosq now has */
    int misc_timer;
    int offline_mid;
    bool offline_acked;
    int corked_fd; /* the socket mqtt_batch() corked, or -1 */
    unsigned long dropped;
    int64_t last_warn_ms; /* "broker unreachable" is said once a minute at most */
    char last_err[200];   /* libmosquitto's latest error line (TLS reasons) */
    int64_t state_served_ms;  /* when the last state request was answered (0: never) */
    int state_timer;          /* > 0: an answer is due at the end of the gap */
    unsigned long state_received, state_served;
};

static const struct mqtt_broker *
broker(const struct mqtt *m)
{
    return &m->p.conf->brokers[m->cur];
}

/* An unreachable broker must be visible at the default log level, without
 * flooding it during a long outage. */
static void
warn_unreachable(struct mqtt *m, const char *why)
{
    int64_t now = mono_ms();

    if (m->last_warn_ms != 0 && now - m->last_warn_ms < 60000)
        return;
    m->last_warn_ms = now;
    log_warnx("mqtt: cannot reach broker %s:%d: %s%s%s (%s; %lu messages dropped so far)",
              broker(m)->host, broker(m)->port, why, m->last_err[0] ? ": " : "", m->last_err,
              m->p.conf->nbrokers > 1 ? "trying the others in turn" : "retrying", m->dropped);
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

static int
vformat(char *buf, size_t len, const char *fmt, va_list ap)
{
    int n = vsnprintf(buf, len, fmt, ap);
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int
mqtt_params_base(struct mqtt_params *p, const char *base_fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, base_fmt);
    rc = vformat(p->base, sizeof(p->base), base_fmt, ap);
    va_end(ap);
    return rc;
}

int
mqtt_params_subscribe(struct mqtt_params *p, int qos, const char *filter_fmt, ...)
{
    va_list ap;
    int rc;

    if (p->nsubs == MQTT_MAX_SUBS)
        return -ENOSPC;
    va_start(ap, filter_fmt);
    rc = vformat(p->subs[p->nsubs].filter, sizeof(p->subs[p->nsubs].filter), filter_fmt, ap);
    va_end(ap);
    if (rc < 0)
        return rc;
    p->subs[p->nsubs++].qos = qos;
    return 0;
}

int
mqtt_params_state_requests(struct mqtt_params *p, const char *prefix, const char *const *sites,
                           int nsites, mqtt_republish_fn fn)
{
    int first = p->nsubs;
    int rc = mqtt_params_subscribe(p, 1, "%s/_state/request", prefix);

    for (int i = 0; i < nsites && rc == 0; i++)
        rc = mqtt_params_subscribe(p, 1, "%s/_state/request/%s", prefix, sites[i]);
    if (rc < 0) {
        p->nsubs = first;
        return rc;
    }
    p->on_state_request = fn;
    p->state_sub0 = first;
    p->nstate_subs = p->nsubs - first;
    return 0;
}

static void schedule_reconnect(struct mqtt *m);
static int use_broker_id(struct mqtt *m);

/* An attempt that has neither failed nor been answered with a CONNACK
 * within the keepalive (a host that drops packets, a broker that accepts
 * and hangs) is given up: shutting the socket down makes the next read fail,
 * and the failure takes its usual path to the next broker. */
static void
connect_deadline(void *arg)
{
    struct mqtt *m = arg;
    int fd = mosquitto_socket(m->mosq);

    m->connect_timer = 0;
    if (m->connected || m->stopping)
        return;
    snprintf(m->last_err, sizeof(m->last_err), "no CONNACK within %d s", m->p.conf->keepalive_s);
    if (fd >= 0)
        shutdown(fd, SHUT_RDWR);
    else
        schedule_reconnect(m);
}

static void
try_connect(void *arg)
{
    struct mqtt *m = arg;
    const struct mqtt_conf *mc = m->p.conf;
    const struct mqtt_broker *b = broker(m);
    int rc;

    m->reconnect_timer = 0;
    if (m->stopping)
        return;
    /* connect_async names the broker each time: after a switch it is another. */
    rc = use_broker_id(m);
    if (rc == MOSQ_ERR_SUCCESS)
        rc = mosquitto_connect_async(m->mosq, b->host, b->port, mc->keepalive_s);
    if (rc != MOSQ_ERR_SUCCESS) {
        warn_unreachable(m, rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
        schedule_reconnect(m);
        return;
    }
    m->connecting = true;
    if (m->connect_timer > 0)
        loop_timer_cancel(m->loop, m->connect_timer);
    m->connect_timer = loop_timer(m->loop, (int64_t)mc->keepalive_s * 1000, connect_deadline, m);
}

/* After a failure: which broker next, and when.  A broker that closed an
 * established connection gets one more attempt (a restart, a load
 * balancer); one that refused, timed out or stopped answering keepalives is
 * left for the next in the list.  The brokers are tried in turn,
 * reconnect_min apart; after a whole round without a connection the wait
 * doubles (reconnect_min up to reconnect_max), as with one broker. */
static void
schedule_reconnect(struct mqtt *m)
{
    const struct mqtt_conf *mc = m->p.conf;
    int n = mc->nbrokers;
    int64_t delay;

    if (m->stopping || m->reconnect_timer > 0)
        return;
    if (m->connect_timer > 0) {
        loop_timer_cancel(m->loop, m->connect_timer);
        m->connect_timer = 0;
    }
    if (m->retry_same) {
        /* Not counted: the round of the list starts after it. */
        m->retry_same = false;
        delay = mc->reconnect_min_ms;
    } else if (n > 1) {
        m->failed++;
        m->cur = (m->cur + 1) % n;
        if (m->failed <= n) /* the first round after a loss; then the warnings say it */
            log_info("mqtt: trying the next broker, %s:%d (broker %d of %d)", broker(m)->host,
                     broker(m)->port, m->cur + 1, n);
        if (m->failed % n != 0) {
            delay = mc->reconnect_min_ms;
        } else {
            m->backoff_ms = m->backoff_ms ? m->backoff_ms * 2 : mc->reconnect_min_ms;
            if (m->backoff_ms > mc->reconnect_max_ms)
                m->backoff_ms = mc->reconnect_max_ms;
            delay = m->backoff_ms;
        }
    } else {
        m->failed++;
        m->backoff_ms = m->backoff_ms ? m->backoff_ms * 2 : mc->reconnect_min_ms;
        if (m->backoff_ms > mc->reconnect_max_ms)
            m->backoff_ms = mc->reconnect_max_ms;
        delay = m->backoff_ms;
    }
    m->reconnect_timer = loop_timer(m->loop, delay, try_connect, m);
}

static void
ready(struct mqtt *m)
{
    m->is_ready = true;
    if (m->p.on_ready != NULL)
        m->p.on_ready(m->p.arg);
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
    m->is_ready = false;
    m->ever_connected = true;
    m->backoff_ms = 0;
    m->failed = 0;
    m->last_warn_ms = 0;
    m->last_err[0] = '\0';
    if (m->connect_timer > 0) {
        loop_timer_cancel(m->loop, m->connect_timer);
        m->connect_timer = 0;
    }
    if (m->p.conf->nbrokers > 1)
        log_info("mqtt: connected to %s:%d (broker %d of %d)", broker(m)->host, broker(m)->port,
                 m->cur + 1, m->p.conf->nbrokers);
    else
        log_info("mqtt: connected to %s:%d", broker(m)->host, broker(m)->port);
    mosquitto_publish(m->mosq, NULL, m->status_topic, 6, "online", 1, true);
    m->pending_subs = 0;
    for (int i = 0; i < m->p.nsubs; i++) {
        if (mosquitto_subscribe(m->mosq, &m->sub_mids[i], m->p.subs[i].filter, m->p.subs[i].qos) ==
            MOSQ_ERR_SUCCESS) {
            m->pending_subs++;
        } else {
            log_errx("mqtt: cannot subscribe to %s", m->p.subs[i].filter);
            m->sub_mids[i] = -1;
        }
    }
    if (m->pending_subs == 0)
        ready(m);
}

static void
on_subscribe(struct mosquitto *mosq, void *obj, int mid, int qos_count, const int *granted)
{
    struct mqtt *m = obj;
    (void)mosq;

    for (int i = 0; i < m->p.nsubs; i++) {
        if (m->sub_mids[i] != mid)
            continue;
        /* A SUBACK code above 2 (0x80) is a refusal, typically the ACL. */
        if ((qos_count < 1 || granted[0] > 2) && i == m->status_sub)
            log_warnx("mqtt: the broker refused the subscription to our own status %s, so a "
                      "stale Last Will cannot be answered (give read on it too: readwrite; or "
                      "set [mqtt] answer_stale_will = no)",
                      m->p.subs[i].filter);
        else if (qos_count < 1 || granted[0] > 2)
            log_errx("mqtt: the broker refused the subscription %s (check its ACL)",
                     m->p.subs[i].filter);
        m->sub_mids[i] = -1;
        if (--m->pending_subs == 0)
            ready(m);
        return;
    }
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
    if (m->connected) {
        log_warnx("mqtt: connection to %s:%d lost (%s); reconnecting", broker(m)->host,
                  broker(m)->port,
                  rc == MOSQ_ERR_KEEPALIVE   ? "no reply within the keepalive"
                  : rc == MOSQ_ERR_CONN_LOST ? "closed by the broker or the network"
                                             : mosquitto_strerror(rc));
        /* A broker that stopped answering is not tried again first. */
        m->retry_same = rc != MOSQ_ERR_KEEPALIVE && m->p.conf->nbrokers > 1;
    } else {
        char why[80];
        /* libmosquitto's own keepalive check gives up a connect that got no
         * CONNACK (its error text for that code is "Unknown error."). */
        snprintf(why, sizeof(why), "no CONNACK within %d s", m->p.conf->keepalive_s);
        warn_unreachable(m, rc == MOSQ_ERR_CONN_LOST   ? "connection refused or closed"
                            : rc == MOSQ_ERR_KEEPALIVE ? why
                                                       : mosquitto_strerror(rc));
    }
    m->connected = false;
    m->is_ready = false;
    /* Subscriptions still unacknowledged are made again on the next connect. */
    for (int i = 0; i < m->p.nsubs; i++)
        m->sub_mids[i] = -1;
    m->pending_subs = 0;
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
        m->on_acked(m->p.arg, mid);
}

/* Republishes "online" and every retained state of the program. */
static void
answer_state_request(void *arg)
{
    struct mqtt *m = arg;
    unsigned long asked = m->state_received;

    m->state_timer = 0;
    if (!m->connected)
        return; /* the next connect republishes everything anyway */
    m->state_served_ms = mono_ms();
    m->state_served++;
    log_info("mqtt: state request: republishing every state (%lu request%s so far)", asked,
             asked == 1 ? "" : "s");
    mosquitto_publish(m->mosq, NULL, m->status_topic, 6, "online", 1, true);
    m->p.on_state_request(m->p.arg);
}

/* A state-request topic has no wildcard, so a message on it matches the
 * filter exactly. */
static bool
is_state_request(const struct mqtt *m, const char *topic)
{
    for (int i = m->p.state_sub0; i < m->p.state_sub0 + m->p.nstate_subs; i++)
        if (strcmp(topic, m->p.subs[i].filter) == 0)
            return true;
    return false;
}

static void
on_state_request(struct mqtt *m, const struct mosquitto_message *msg)
{
    int64_t now = mono_ms();

    if (m->stopping)
        return; /* "offline" is going out: no "online" after it */

    if (msg->retain) {
        log_warnx("mqtt: state request on %s ignored: it is retained (publish state requests "
                  "without retain, or the broker replays them on every connect)",
                  msg->topic);
        return;
    }
    m->state_received++;
    if (m->state_timer > 0)
        return; /* coalesced into the answer already due */
    if (m->state_served_ms == 0 || now - m->state_served_ms >= MQTT_STATE_REQUEST_GAP_MS)
        answer_state_request(m);
    else
        m->state_timer = loop_timer(m->loop, m->state_served_ms + MQTT_STATE_REQUEST_GAP_MS - now,
                                    answer_state_request, m);
}

/* "offline" on our own status while we are connected is a Last Will of a
 * connection we already gave up: a broker we left because it stopped
 * answering publishes it when it comes back, and a bridge or a cluster
 * carries it to the broker we are on.  Consumers would take the program
 * for offline until its next connection, so it says "online" again. */
static void
on_own_status(struct mqtt *m, const struct mosquitto_message *msg)
{
    if (!m->connected || m->stopping || msg->payloadlen != 7 ||
        memcmp(msg->payload, "offline", 7) != 0)
        return;
    m->stale_wills++;
    log_warnx("mqtt: %s says 'offline' while we are connected to %s:%d (the Last Will of a "
              "connection given up earlier); saying 'online' again",
              m->status_topic, broker(m)->host, broker(m)->port);
    mosquitto_publish(m->mosq, NULL, m->status_topic, 6, "online", 1, true);
}

static void
on_msg(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg)
{
    struct mqtt *m = obj;
    size_t blen = strlen(m->p.base);
    struct mqtt_msg in = {
        .topic = msg->topic,
        .payload = msg->payload,
        .len = (size_t)msg->payloadlen,
        .retained = msg->retain,
    };
    (void)mosq;

    if (m->p.nstate_subs > 0 && is_state_request(m, msg->topic)) {
        on_state_request(m, msg);
        return;
    }
    if (m->status_sub >= 0 && strcmp(msg->topic, m->status_topic) == 0) {
        on_own_status(m, msg);
        return;
    }
    if (m->p.on_message == NULL)
        return;
    if (strncmp(msg->topic, m->p.base, blen) == 0 && msg->topic[blen] == '/')
        in.suffix = msg->topic + blen + 1;
    m->p.on_message(m->p.arg, &in);
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
    /* What the read's callbacks published is written here, outside them. */
    if (rc == MOSQ_ERR_SUCCESS && ((revents & POLLOUT) || mosquitto_want_write(m->mosq)))
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
    m->misc_timer = loop_timer(m->loop, MISC_PERIOD_MS, misc_tick, m);
}

static void
destroy(struct mqtt *m)
{
    if (m->mosq != NULL)
        mosquitto_destroy(m->mosq);
    free(m);
}

/* TLS verifies the broker's certificate and host name; there is no
 * insecure mode.  Returns a MOSQ_ERR_* code. */
static int
set_tls_and_login(struct mqtt *m)
{
    const struct mqtt_conf *c = m->p.conf;
    int rc;

    if (c->cafile != NULL || c->capath != NULL) {
        rc = mosquitto_tls_set(m->mosq, c->cafile, c->capath, c->certfile, c->keyfile, NULL);
        if (rc == MOSQ_ERR_SUCCESS)
            rc = mosquitto_tls_opts_set(m->mosq, 1, NULL, NULL);
        if (rc != MOSQ_ERR_SUCCESS) {
            log_errx("mqtt: TLS setup failed: %s", mosquitto_strerror(rc));
            return rc;
        }
    }
    if (c->username != NULL)
        return mosquitto_username_pw_set(m->mosq, c->username, c->password);
    return MOSQ_ERR_SUCCESS;
}

/* The callbacks as libmosquitto calls them: each counted in in_callback. */
#define COUNTED(m, call)                                                                           \
    do {                                                                                           \
        (m)->in_callback++;                                                                        \
        call;                                                                                      \
        (m)->in_callback--;                                                                        \
    } while (0)

static void
cb_connect(struct mosquitto *mosq, void *obj, int rc)
{
    COUNTED((struct mqtt *)obj, on_connect(mosq, obj, rc));
}

static void
cb_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
    COUNTED((struct mqtt *)obj, on_disconnect(mosq, obj, rc));
}

static void
cb_publish(struct mosquitto *mosq, void *obj, int mid)
{
    COUNTED((struct mqtt *)obj, on_publish(mosq, obj, mid));
}

static void
cb_subscribe(struct mosquitto *mosq, void *obj, int mid, int qos_count, const int *granted)
{
    COUNTED((struct mqtt *)obj, on_subscribe(mosq, obj, mid, qos_count, granted));
}

static void
cb_msg(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg)
{
    COUNTED((struct mqtt *)obj, on_msg(mosq, obj, msg));
}

/* Options, callbacks, TLS, login and the Last Will: what a new (or
 * reinitialised) libmosquitto handle needs.  Returns a MOSQ_ERR_* code. */
static int
configure(struct mqtt *m)
{
    int rc;

    /* Alarms and drain commands are small and latency-bound: do not let
     * Nagle hold one behind the broker's delayed ACK of the previous one. */
    mosquitto_int_option(m->mosq, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION,
                         m->p.conf->protocol == 1 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311);
    mosquitto_connect_callback_set(m->mosq, cb_connect);
    mosquitto_disconnect_callback_set(m->mosq, cb_disconnect);
    mosquitto_publish_callback_set(m->mosq, cb_publish);
    mosquitto_subscribe_callback_set(m->mosq, cb_subscribe);
    mosquitto_log_callback_set(m->mosq, on_log);
    mosquitto_message_callback_set(m->mosq, cb_msg);
    if ((rc = set_tls_and_login(m)) != MOSQ_ERR_SUCCESS)
        return rc;
    return mosquitto_will_set(m->mosq, m->status_topic, 7, "offline", 1, true);
}

/* The client id for broker `cur` of a list: the configured one for the
 * first, ID-brokerN for the Nth.  A cluster that kept the session of a node
 * that died (RabbitMQ 3.10 keeps a client's QoS 1 subscription queue on one
 * node, durable, and refuses the id while that node is down) takes the
 * agent on another node under another id; a broker that is back gets the
 * id it had.  Changing it means a new handle: mosquitto_reinitialise(), then
 * everything configure() sets. */
static int
use_broker_id(struct mqtt *m)
{
    char id[MQTT_CLIENT_ID_MAX + 32];
    int rc;

    if (m->id_broker == m->cur)
        return MOSQ_ERR_SUCCESS;
    if (m->cur == 0)
        snprintf(id, sizeof(id), "%s", m->base_id);
    else
        snprintf(id, sizeof(id), "%s-broker%d", m->base_id, m->cur + 1);
    if (m->corked_fd >= 0)
        m->corked_fd = -1;
    rc = mosquitto_reinitialise(m->mosq, id, true, m);
    if (rc == MOSQ_ERR_SUCCESS)
        rc = configure(m);
    if (rc == MOSQ_ERR_SUCCESS)
        m->id_broker = m->cur;
    return rc;
}

int
mqtt_init(struct mqtt **out, const struct mqtt_params *p, struct loop *l)
{
    struct mqtt *m = xcalloc(1, sizeof(*m));
    m->corked_fd = -1;

    m->p = *p;
    m->loop = l;
    m->offline_mid = -1;
    for (int i = 0; i <= MQTT_MAX_SUBS; i++)
        m->sub_mids[i] = -1;
    if (snprintf(m->status_topic, sizeof(m->status_topic), "%s/status", p->base) >=
        (int)sizeof(m->status_topic)) {
        destroy(m);
        return -ENAMETOOLONG;
    }
    m->status_sub = -1;
    if (p->conf->answer_stale_will) {
        m->status_sub = m->p.nsubs++; /* subs[] has room for it past MQTT_MAX_SUBS */
        memcpy(m->p.subs[m->status_sub].filter, m->status_topic, sizeof(m->status_topic));
        m->p.subs[m->status_sub].qos = 1;
    }
    if (snprintf(m->base_id, sizeof(m->base_id), "%s", p->client_id ? p->client_id : p->conf->client_id) >=
        (int)sizeof(m->base_id)) {
        destroy(m);
        return -ENAMETOOLONG;
    }
    m->p.client_id = NULL; /* kept in base_id */
    m->mosq = mosquitto_new(m->base_id, true, m);
    if (m->mosq == NULL) {
        destroy(m);
        return -ENOMEM;
    }
    if (configure(m) != MOSQ_ERR_SUCCESS) {
        destroy(m);
        return -EINVAL;
    }
    if (loop_add(l, prepare, dispatch, m) < 0) {
        destroy(m);
        return -ENOSPC;
    }
    m->misc_timer = loop_timer(l, MISC_PERIOD_MS, misc_tick, m);
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
    if (m->connect_timer > 0)
        loop_timer_cancel(m->loop, m->connect_timer);
    loop_timer_cancel(m->loop, m->misc_timer);
    if (m->state_timer > 0)
        loop_timer_cancel(m->loop, m->state_timer);
    loop_remove(m->loop, m);
    if (m->connected && mosquitto_publish(m->mosq, &m->offline_mid, m->status_topic, 7, "offline",
                                          1, true) == MOSQ_ERR_SUCCESS) {
        /* Drive the socket ourselves until the broker acknowledges. */
        while (!m->offline_acked && m->connected) {
            struct pollfd pfd = {.fd = mosquitto_socket(m->mosq), .events = POLLIN};
            int64_t left = deadline - mono_ms();
            if (pfd.fd < 0 || left <= 0)
                break;
            if (mosquitto_want_write(m->mosq))
                pfd.events |= POLLOUT;
            if (poll(&pfd, 1, (int)left) <= 0)
                break;
            if ((pfd.revents & POLLOUT) && mosquitto_loop_write(m->mosq, 1) != MOSQ_ERR_SUCCESS)
                break;
            if ((pfd.revents & (POLLIN | POLLHUP | POLLERR)) &&
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

static int
publish(struct mqtt *m, const char *topic, const char *payload, size_t len, int qos, bool retain,
        int *mid)
{
    int rc;

    if (!m->connected) {
        m->dropped++;
        return -ENOTCONN;
    }
    rc = mosquitto_publish(m->mosq, mid, topic, (int)len, payload, qos, retain);
    if (rc != MOSQ_ERR_SUCCESS) {
        m->dropped++;
        return rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST ? -ENOTCONN : -EIO;
    }
    /* Send now rather than on the next poll() round: alarms are latency-bound.
     * Inside a callback, dispatch() sends it when the callback returns. */
    if (m->in_callback == 0 && mosquitto_want_write(m->mosq))
        handle_error(m, mosquitto_loop_write(m->mosq, 1));
    return 0;
}

void
mqtt_batch(struct mqtt *m, bool on)
{
    int fd, v = on;

    if (m == NULL)
        return;
    if (!on) {
        /* Uncorking sends whatever the batch left in the socket at once. */
        if (m->corked_fd >= 0)
            (void)setsockopt(m->corked_fd, IPPROTO_TCP, TCP_CORK, &v, sizeof(v));
        m->corked_fd = -1;
        return;
    }
    if (!m->connected || m->corked_fd >= 0 || (fd = mosquitto_socket(m->mosq)) < 0)
        return;
    /* Not a TCP socket (a unix socket broker): nothing to batch. */
    if (setsockopt(fd, IPPROTO_TCP, TCP_CORK, &v, sizeof(v)) == 0)
        m->corked_fd = fd;
}

int
mqtt_publish_topic(struct mqtt *m, const char *topic, const char *payload, size_t len, int qos,
                   bool retain)
{
    return publish(m, topic, payload, len, qos, retain, NULL);
}

int
mqtt_publish(struct mqtt *m, const char *suffix, const char *payload, size_t len, int qos,
             bool retain)
{
    return mqtt_publish_mid(m, suffix, payload, len, qos, retain, NULL);
}

int
mqtt_publish_mid(struct mqtt *m, const char *suffix, const char *payload, size_t len, int qos,
                 bool retain, int *mid)
{
    char topic[MQTT_TOPIC_MAX];

    if (snprintf(topic, sizeof(topic), "%s/%s", m->p.base, suffix) >= (int)sizeof(topic))
        return -ENAMETOOLONG;
    return publish(m, topic, payload, len, qos, retain, mid);
}

void
mqtt_set_acked_cb(struct mqtt *m, mqtt_acked_fn fn)
{
    m->on_acked = fn;
}

void
mqtt_set_conf(struct mqtt *m, const struct mqtt_conf *conf)
{
    m->p.conf = conf;
}

bool
mqtt_connected(const struct mqtt *m)
{
    return m->connected;
}

bool
mqtt_ready(const struct mqtt *m)
{
    return m->connected && m->is_ready;
}

unsigned long
mqtt_stale_wills(const struct mqtt *m)
{
    return m->stale_wills;
}

unsigned long
mqtt_dropped(const struct mqtt *m)
{
    return m->dropped;
}

void
mqtt_state_request_counts(const struct mqtt *m, unsigned long *received, unsigned long *served)
{
    *received = m->state_received;
    *served = m->state_served;
}
