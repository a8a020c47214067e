/*
 * outbox.h - what emberd says: alarm transitions and zone drain requests
 * journaled (state.c) and then published (mqtt.c), the PUBACK that frees
 * them, their replay on every connect through a bounded window of
 * messages awaiting PUBACK (inflight.h), the retained current states, the
 * QoS 0 sensor telemetry and the local alarm outputs.
 *
 * The outbox owns the journal and the one MQTT session.  It reads the
 * running configuration and alarm engine it is bound to (outbox_bind) and
 * never changes them, except for taking seq numbers for the journal
 * self-alarm: `_journal`, severity warning, in no zone, raised while the
 * journal cannot be written (disk full, I/O error) and cleared once it can.
 */
#ifndef EMBER_OUTBOX_H
#define EMBER_OUTBOX_H

#include <stdbool.h>
#include <stdint.h>

#include "alarm.h"
#include "conf.h"
#include "gpio.h"
#include "loop.h"
#include "mqtt.h"
#include "notify.h"
#include "sensor.h"

struct outbox;

/* The self-alarm's name: configured alarm names cannot take it. */
#define JOURNAL_ALARM "_journal"

/* An inbound command: suffix is the topic after the agent's base
 * ("cmd/ack"); payload is not NUL-terminated; retained is the broker's
 * retain flag (a stored message, not a fresh one). */
typedef void (*outbox_command_fn)(void *arg, const char *suffix, const void *payload, size_t len,
                                  bool retained);

struct outbox_stats {
    bool connected;
    unsigned long mqtt_dropped; /* QoS 0 messages not sent while offline */
    unsigned long mqtt_stale_wills; /* stale Last Wills answered with "online" */
    int64_t journal_pending;    /* awaiting a PUBACK, in the file or memory */
    uint64_t journal_dropped;   /* dropped by the journal_max bound */
    bool journal_ok;            /* the journal can be written */
    uint64_t journal_unstored;  /* messages that could not be written to it */
    int64_t journal_volatile;   /* pending messages held only in memory */
    uint64_t seq_unreserved;    /* seq reservations that could not be written */
    uint64_t epoch;             /* this run's epoch */
};

/* Opens the journal named by c->agent.journal and applies journal_max.
 * Logs the reason and returns -errno on failure. */
int outbox_open(struct outbox **out, const struct conf *c);
/* Publishes "offline" and closes the session (waits up to 2 s); the
 * journal stays open.  Safe to call once the loop no longer runs. */
void outbox_disconnect(struct outbox *ob);
/* Closes the journal and frees the outbox; safe on NULL. */
void outbox_close(struct outbox *ob);

/* Points the outbox at the running configuration and engine (at start and
 * after a reload). */
void outbox_bind(struct outbox *ob, const struct conf *c, struct alarm_engine *e);
/* First sequence number of this run, for the alarm engine. */
uint64_t outbox_first_seq(const struct outbox *ob);
/* Loads the journaled alarm and zone states into e (by name), the engine
 * bound with outbox_bind(), then settles the zones against their alarms
 * (alarm_zones_settle: a zone whose request no longer holds, or that never
 * announced one, gets a TR_DRAIN with a new seq, journaled and sent once
 * connected).  A persisted shelve is read against now_real and bounded (see
 * alarm_restore()); one clamped is logged and saved clamped.  Returns 0 or
 * -EIO. */
int outbox_restore(struct outbox *ob, struct alarm_engine *e, int64_t now_mono, int64_t now_real);
/* Creates the MQTT session; inbound commands go to on_message.  Returns 0
 * or -errno (logged). */
int outbox_connect(struct outbox *ob, struct loop *l, outbox_command_fn on_message, void *arg);
/* The alarm outputs to drive (borrowed; NULL: none). */
void outbox_set_outputs(struct outbox *ob, struct gpio *g);
/* The notifiers every new event goes to (borrowed; NULL: none): each alarm
 * transition with its event JSON, the journal self-alarm's too, and each
 * zone's drain request with its JSON, as drain when it asks to drain and
 * as undrain when it goes back to none from drain. */
void outbox_set_notify(struct outbox *ob, struct notify *n);
void outbox_set_journal_max(struct outbox *ob, int max_rows);

/* Alarm engine callback (arg is the outbox): journal, then publish the
 * event, the alarm's retained state and the outputs, or the zone's drain
 * request. */
void outbox_transition(void *arg, enum transition tr, int alarm, int zone, uint64_t seq);
/* QoS 0 telemetry on sensor/NAME. */
void outbox_sensor(struct outbox *ob, int sensor, const struct sensor_state *s);
/* Everything not yet acknowledged, oldest first, through the publish window
 * (inflight.h: at most INFLIGHT_WINDOW awaiting PUBACK, refilled as PUBACKs
 * come back), then, once the journal has nothing left to send, every
 * alarm's and zone's current retained state (on connect, and after a
 * reload). */
void outbox_resend(struct outbox *ob);
/* Writes batched acknowledgements to the journal, retries a journal that
 * cannot be written and raises or clears the self-alarm; call from a
 * timer. */
void outbox_flush(struct outbox *ob);

/* Names the operator of the command being run: the ack, shelve, unshelve
 * and test events emitted until the next call carry it as "by" (NULL or
 * "": none, as for a shelve or test that ends by itself). */
void outbox_set_operator(struct outbox *ob, const char *by);
/* Publishes a command's result message (cmdmsg_result()) on cmd/result,
 * QoS 1, not retained.  Dropped when offline, like telemetry. */
void outbox_command_result(struct outbox *ob, const char *json);

/* The alarm's JSON as on alarm/NAME (transition NULL) or event; malloc'd. */
char *outbox_alarm_json(const struct outbox *ob, int alarm, const char *transition);
void outbox_get_stats(const struct outbox *ob, struct outbox_stats *st);
/* The history (state_history_each): the newest `limit` events and drain
 * requests the broker acknowledged at or after since_ms, oldest first.
 * Returns how many, or -EIO. */
int outbox_history(struct outbox *ob, int64_t since_ms, int limit,
                   void (*fn)(void *arg, uint64_t seq, int64_t acked_ms, const char *topic,
                              const char *payload),
                   void *arg);
/* The self-alarm's JSON as on alarm/_journal (transition NULL); malloc'd. */
char *outbox_journal_alarm_json(const struct outbox *ob, const char *transition);
bool outbox_journal_alarm_active(const struct outbox *ob);

/* Brackets the messages of one batch of readings so they leave in as few
 * TCP segments as they fit (see mqtt_batch); alarm transitions inside the
 * batch go out when it ends, microseconds later. */
void outbox_batch(struct outbox *ob, bool on);

#endif
