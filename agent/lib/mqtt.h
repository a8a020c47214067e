/*
 * mqtt.h - the one MQTT session (libmosquitto) of emberd and ember-drain,
 * driven by the program's poll loop (loop.c); it has no thread of its own.
 *
 * A session is built from struct mqtt_params: the broker settings ([mqtt],
 * struct mqtt_conf), the client id, a base topic and the subscriptions.  It
 * owns the retained {base}/status topic: "offline" is the Last Will, "online"
 * is published on every connect and "offline" again on a clean stop.  It
 * subscribes to that topic too (unless [mqtt] answer_stale_will = no):
 * "offline" arriving while connected is the stale Last Will of a connection
 * given up earlier (a frozen broker that came back, carried by a bridge or a
 * cluster), answered with "online".  After
 * a connect it subscribes, and calls `ready` once every subscription was
 * acknowledged (a refused one is logged, naming the filter).  Reconnects back
 * off exponentially between reconnect_min and reconnect_max; the latest
 * libmosquitto error (a TLS reason) is part of the "cannot reach broker"
 * warning.
 *
 * State requests (mqtt_params_state_requests): a message on
 * {prefix}/_state/request, or {prefix}/_state/request/{site} for a site the
 * program serves, makes the session publish "online" again and call the
 * program's republish callback, so that a consumer that gets no retained
 * messages (RabbitMQ with a wildcard subscription, a console that connects
 * late) still sees every retained state.  At most one republish per
 * MQTT_STATE_REQUEST_GAP_MS: requests in between are coalesced into one
 * republish at the end of the gap, so none goes unanswered and a fleet
 * answers a reloading console at most once per gap.  Retained requests are
 * ignored (the broker would replay them on every connect).
 *
 * May call: loop, log, util, libmosquitto (this module alone includes
 * <mosquitto.h>).
 */
#ifndef EMBER_MQTT_H
#define EMBER_MQTT_H

#include <stdbool.h>
#include <stddef.h>

#include "loop.h"
#include "mqttconf.h"

/* Longest topic or topic filter, NUL included. */
#define MQTT_TOPIC_MAX 512
/* Subscriptions one session may hold. */
#define MQTT_MAX_SUBS 64
/* Shortest time between two answers to state requests. */
#define MQTT_STATE_REQUEST_GAP_MS 5000

struct mqtt;

/* An inbound message.  payload is not NUL-terminated. */
struct mqtt_msg {
    const char *topic;  /* the full topic */
    const char *suffix; /* after "{base}/" ("cmd/ack"), or NULL when not under the base */
    const void *payload;
    size_t len;
    bool retained;
};

/* Called once per connect, after every subscription was acknowledged (at
 * once when there are none); retained messages on them follow. */
typedef void (*mqtt_ready_fn)(void *arg);
typedef void (*mqtt_message_fn)(void *arg, const struct mqtt_msg *msg);
/* Called when the broker has acknowledged (PUBACK) the message with `mid`. */
typedef void (*mqtt_acked_fn)(void *arg, int mid);
/* Called to answer a state request: publish every retained state again. */
typedef void (*mqtt_republish_fn)(void *arg);

struct mqtt_sub {
    char filter[MQTT_TOPIC_MAX];
    int qos;
};

/* Everything a session is made of; mqtt_init() copies it.  New session
 * features (more brokers to fail over to, more subscriptions) belong here.
 * Callers fill it with a designated initializer, then the base and the
 * subscriptions with the functions below. */
struct mqtt_params {
    const struct mqtt_conf *conf; /* borrowed: must outlive the session (see mqtt_set_conf) */
    const char *client_id;        /* NULL: conf->client_id; read by mqtt_init() only */
    char base[MQTT_TOPIC_MAX];    /* "emberwatch/site/agent": status and relative topics */
    struct mqtt_sub subs[MQTT_MAX_SUBS + 1]; /* +1: the session's own status (mqtt_init) */
    int nsubs;
    mqtt_ready_fn on_ready;
    mqtt_message_fn on_message;
    mqtt_republish_fn on_state_request; /* set by mqtt_params_state_requests() */
    int state_sub0, nstate_subs;        /* subs[state_sub0 ...] are state-request topics */
    void *arg;
};

/* libmosquitto's process-wide set-up: once before the first session, and
 * its clean-up after the last one is finished. */
int mqtt_lib_init(void);
void mqtt_lib_fini(void);

/* Sets the base topic, written like printf.  Returns 0 or -ENAMETOOLONG. */
int mqtt_params_base(struct mqtt_params *p, const char *base_fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Adds a subscription; the filter is written like printf.  Returns 0,
 * -ENAMETOOLONG or -ENOSPC (MQTT_MAX_SUBS reached). */
int mqtt_params_subscribe(struct mqtt_params *p, int qos, const char *filter_fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Answers state requests: subscribes to {prefix}/_state/request and to
 * {prefix}/_state/request/{site} for each of the sites, whose messages then
 * go to `fn` (rate-limited, see above) instead of on_message.  Call it
 * once.  Returns 0, -ENAMETOOLONG or -ENOSPC. */
int mqtt_params_state_requests(struct mqtt_params *p, const char *prefix,
                               const char *const *sites, int nsites, mqtt_republish_fn fn);

/* Creates the client and starts connecting in the background.  Returns 0,
 * -ENOMEM, -EINVAL (TLS, login or will rejected by libmosquitto, logged) or
 * -ENOSPC (the loop is full). */
int mqtt_init(struct mqtt **out, const struct mqtt_params *p, struct loop *l);
/* Publishes "offline" (retained), waits up to timeout_ms for the broker's
 * acknowledgement, disconnects cleanly and frees the client.  NULL is a no-op. */
void mqtt_fini(struct mqtt *m, int timeout_ms);

/* Publishes to "{base}/{suffix}".  Returns 0, -ENOTCONN when offline (the
 * message is then dropped and counted), -ENAMETOOLONG or -EIO. */
int mqtt_publish(struct mqtt *m, const char *suffix, const char *payload, size_t len, int qos,
                 bool retain);
/* Like mqtt_publish, returning the message id in *mid (for QoS 1, the id
 * the acknowledgement callback will report). */
int mqtt_publish_mid(struct mqtt *m, const char *suffix, const char *payload, size_t len, int qos,
                     bool retain, int *mid);
/* Like mqtt_publish, to a full topic (outside the base). */
int mqtt_publish_topic(struct mqtt *m, const char *topic, const char *payload, size_t len, int qos,
                       bool retain);
/* Sets the PUBACK callback (it gets the params' arg); NULL: none. */
void mqtt_set_acked_cb(struct mqtt *m, mqtt_acked_fn fn);
/* True between the broker's CONNACK and the loss of the connection. */
bool mqtt_connected(const struct mqtt *m);
/* True once the connection's subscriptions are acknowledged and on_ready
 * has run, until the connection is lost: what was queued before the
 * connection goes out first (on_ready's business), then what is new. */
bool mqtt_ready(const struct mqtt *m);
/* Points the session at a reloaded [mqtt] (the caller has checked that it
 * is the same: mqttconf_restart_key()), so the old one can be freed. */
void mqtt_set_conf(struct mqtt *m, const struct mqtt_conf *conf);
/* Stale Last Wills answered with "online" (see above), since start. */
unsigned long mqtt_stale_wills(const struct mqtt *m);
/* Messages not sent because the broker was unreachable. */
unsigned long mqtt_dropped(const struct mqtt *m);
/* State requests received and republishes made for them, since start. */
void mqtt_state_request_counts(const struct mqtt *m, unsigned long *received,
                               unsigned long *served);
/* Brackets a burst of publishes made in one pass of the loop (a batch of
 * readings): on, the messages are held in the kernel's socket buffer
 * (TCP_CORK) and go out together when it is turned off, in as few segments
 * as they fit, instead of one segment and one broker wake-up each.  The
 * hold never outlasts the pass that set it; off is safe when on was not. */
void mqtt_batch(struct mqtt *m, bool on);

#endif
