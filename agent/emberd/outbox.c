/*
 * outbox.c - transition -> journal -> MQTT, the PUBACK mapping, replay.
 *
 * Owns: the journal (struct state), the MQTT session (the only caller of
 * mqtt_init/mqtt_fini), the message-id -> seq map, and the alarm outputs'
 * on/off state.  May call: state_*, mqtt_*, payload_*, alarm_* getters,
 * gpio_set.  Reads the bound conf and engine; never changes them.
 */
#include "outbox.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "payload.h"
#include "state.h"
#include "util.h"

/* MQTT message ids are 16-bit: one slot per id. */
#define MID_SLOTS 65536

struct outbox {
    const struct conf *conf;
    const struct alarm_engine *engine;
    struct state *state;
    struct mqtt *mqtt;
    uint64_t *mid_seq; /* MQTT message id -> journal seq awaiting PUBACK */
    struct gpio *gpio;
    bool outputs_on;
    mqtt_message_fn on_message; /* inbound commands go here, with msg_arg */
    void *msg_arg;
};

int
outbox_open(struct outbox **out, const struct conf *c)
{
    struct outbox *ob = xcalloc(1, sizeof(*ob));
    char err[512];
    int rc;

    ob->conf = c;
    ob->mid_seq = xcalloc(MID_SLOTS, sizeof(uint64_t));
    if ((rc = state_open(&ob->state, c->agent.journal, err, sizeof(err))) < 0) {
        log_errx("cannot open the journal %s ([agent] journal)", err);
        outbox_close(ob);
        return rc;
    }
    state_set_journal_max(ob->state, c->agent.journal_max);
    *out = ob;
    return 0;
}

void
outbox_disconnect(struct outbox *ob)
{
    if (ob == NULL)
        return;
    mqtt_fini(ob->mqtt, 2000);
    ob->mqtt = NULL;
}

void
outbox_close(struct outbox *ob)
{
    if (ob == NULL)
        return;
    outbox_disconnect(ob);
    state_close(ob->state);
    free(ob->mid_seq);
    free(ob);
}

void
outbox_bind(struct outbox *ob, const struct conf *c, const struct alarm_engine *e)
{
    ob->conf = c;
    ob->engine = e;
    if (ob->mqtt != NULL)
        mqtt_set_conf(ob->mqtt, c);
}

uint64_t
outbox_first_seq(const struct outbox *ob)
{
    return state_first_seq(ob->state);
}

/* What the journal keeps of alarm a, as of now. */
static struct state_alarm
alarm_record(const struct outbox *ob, int a)
{
    const struct alarm_state *st = alarm_get(ob->engine, a);
    return (struct state_alarm){
        .name = ob->conf->alarm_defs[a].name,
        .active = st->active,
        .acked = st->acked,
        .shelved_until = alarm_shelve_end_real(st, mono_ms(), real_ms()),
        .since_ms = st->since_ms,
        .seq = st->seq,
    };
}

struct restore_ctx {
    const struct conf *conf;
    struct alarm_engine *engine;
    int64_t now_mono, now_real;
    bool *clamped; /* per alarm: its persisted shelve was clamped */
};

static void
restore_one(void *arg, const struct state_alarm *sa)
{
    struct restore_ctx *r = arg;
    int a = conf_alarm_find(r->conf, sa->name);

    if (a < 0)
        return;
    if (alarm_restore(r->engine, a, sa->active, sa->acked, sa->shelved_until, sa->since_ms, sa->seq,
                      r->now_mono, r->now_real) == 1) {
        r->clamped[a] = true;
        log_warnx("alarm %s: the journal's shelve ends %lld days ahead; clamped to %lld days "
                  "(the longest shelve)",
                  sa->name, (long long)((sa->shelved_until - r->now_real) / 86400000),
                  (long long)(ALARM_SHELVE_MAX_MS / 86400000));
    }
}

int
outbox_restore(struct outbox *ob, struct alarm_engine *e, int64_t now_mono, int64_t now_real)
{
    bool *clamped = xcalloc((size_t)ob->conf->nalarms + 1, sizeof(*clamped));
    struct restore_ctx r = {ob->conf, e, now_mono, now_real, clamped};
    int rc = 0;

    if (state_load_alarms(ob->state, restore_one, &r) < 0) {
        log_errx("cannot read alarm states from %s", ob->conf->agent.journal);
        rc = -EIO;
    }
    /* Keep the bound: a restart every few days must not carry a shelve
     * dated far ahead on for ever. */
    for (int a = 0; rc == 0 && a < ob->conf->nalarms; a++) {
        struct state_alarm sa;
        if (!clamped[a])
            continue;
        sa = alarm_record(ob, a);
        if (state_save_alarm(ob->state, &sa) < 0)
            log_warnx("alarm %s: cannot save its clamped shelve", sa.name);
    }
    free(clamped);
    return rc;
}

static void
on_acked(void *arg, int mid)
{
    struct outbox *ob = arg;
    uint64_t *slot = &ob->mid_seq[(unsigned)mid % MID_SLOTS];

    if (*slot != 0) {
        state_journal_done(ob->state, *slot);
        *slot = 0;
    }
}

static void
on_connect(void *arg)
{
    outbox_resend(arg);
}

/* The session has one callback argument, the outbox; commands are passed
 * on to their owner with its own argument. */
static void
on_message(void *arg, const char *suffix, const void *payload, size_t len)
{
    struct outbox *ob = arg;
    ob->on_message(ob->msg_arg, suffix, payload, len);
}

int
outbox_connect(struct outbox *ob, struct loop *l, mqtt_message_fn on_msg, void *arg)
{
    int rc;

    ob->on_message = on_msg;
    ob->msg_arg = arg;
    if ((rc = mqtt_init(&ob->mqtt, ob->conf, l, on_connect, on_message, ob)) < 0) {
        log_errx("mqtt: cannot create client: %s", strerror(-rc));
        return rc;
    }
    mqtt_set_acked_cb(ob->mqtt, on_acked);
    return 0;
}

void
outbox_set_outputs(struct outbox *ob, struct gpio *g)
{
    ob->gpio = g;
}

void
outbox_set_journal_max(struct outbox *ob, int max_rows)
{
    state_set_journal_max(ob->state, max_rows);
}

void
outbox_flush(struct outbox *ob)
{
    state_journal_flush(ob->state);
}

void
outbox_get_stats(const struct outbox *ob, struct outbox_stats *st)
{
    st->connected = mqtt_connected(ob->mqtt);
    st->mqtt_dropped = mqtt_dropped(ob->mqtt);
    st->journal_pending = state_journal_pending(ob->state);
    st->journal_dropped = state_journal_dropped(ob->state);
}

/* ---- payloads ----------------------------------------------------------- */

static const char *
alarm_zone_name(const struct conf *c, int a)
{
    const struct alarm_def *def = &c->alarm_defs[a];
    if (def->zone >= 0)
        return c->zone_defs[def->zone].name;
    return c->sensors[def->sensor].zone;
}

char *
outbox_alarm_json(const struct outbox *ob, int a, const char *transition)
{
    const struct alarm_def *def = &ob->conf->alarm_defs[a];
    const struct conf_sensor *cs = &ob->conf->sensors[def->sensor];
    return payload_alarm(def, alarm_get(ob->engine, a), cs->name, alarm_zone_name(ob->conf, a),
                         cs->unit, transition, real_ms());
}

static void
publish_alarm_state(struct outbox *ob, int a)
{
    char topic[NAME_MAX_LEN + 8];
    char *json = outbox_alarm_json(ob, a, NULL);

    if (json == NULL)
        return;
    snprintf(topic, sizeof(topic), "alarm/%s", ob->conf->alarm_defs[a].name);
    mqtt_publish(ob->mqtt, topic, json, strlen(json), 1, true);
    free(json);
}

void
outbox_sensor(struct outbox *ob, int i, const struct sensor_state *s)
{
    const struct conf_sensor *cs = &ob->conf->sensors[i];
    char topic[NAME_MAX_LEN + 8];
    char *json = payload_sensor(s, cs->unit);

    if (json == NULL)
        return;
    snprintf(topic, sizeof(topic), "sensor/%s", cs->name);
    mqtt_publish(ob->mqtt, topic, json, strlen(json), 0, false);
    free(json);
}

/* ---- journaled messages --------------------------------------------------- */

/* Publishes a journaled message and remembers which seq its PUBACK frees. */
static void
publish_journaled(struct outbox *ob, uint64_t seq, const char *topic, const char *payload,
                  bool retain)
{
    int mid = 0;

    if (mqtt_publish_mid(ob->mqtt, topic, payload, strlen(payload), 1, retain, &mid) == 0)
        ob->mid_seq[(unsigned)mid % MID_SLOTS] = seq;
}

/* Journal first, then publish: if the broker is away or emberd dies before
 * the PUBACK, the message goes out again on the next connect. */
static void
send_event(struct outbox *ob, uint64_t seq, const char *topic, const char *payload, bool retain,
           bool critical, const struct state_alarm *sa)
{
    state_journal_add(ob->state, seq, topic, payload, retain, critical, sa);
    publish_journaled(ob, seq, topic, payload, retain);
}

/* Names of the member alarms that count (or, for a test, are shown). */
static int
zone_alarms(const struct outbox *ob, int z, const char **names, int max)
{
    const struct zone_def *zd = &ob->conf->zone_defs[z];
    const struct zone_state *zs = alarm_zone_get(ob->engine, z);
    int n = 0;

    for (int i = 0; i < zd->nmembers && n < max; i++) {
        int a = zd->members[i];
        const struct alarm_def *def = &ob->conf->alarm_defs[a];
        const struct alarm_state *st = alarm_get(ob->engine, a);
        bool on = zs->request ? st->active : alarm_shown_active(st);
        if (on && def->severity == SEV_CRITICAL)
            names[n++] = def->name;
    }
    return n;
}

/* The zone's drain request; journaled when it is a new request (seq),
 * plainly republished (current state) on connect. */
static void
publish_drain(struct outbox *ob, int z, bool journal)
{
    const struct zone_def *zd = &ob->conf->zone_defs[z];
    const struct zone_state *zs = alarm_zone_get(ob->engine, z);
    const char **names = xcalloc((size_t)zd->nmembers + 1, sizeof(*names));
    int n = zone_alarms(ob, z, names, zd->nmembers);
    char topic[NAME_MAX_LEN + 8];
    char *json = payload_drain(zd, zs, names, n, real_ms());

    free(names);
    if (json == NULL)
        return;
    snprintf(topic, sizeof(topic), "drain/%s", zd->name);
    if (journal)
        send_event(ob, zs->seq, topic, json, true, zs->request, NULL);
    else
        mqtt_publish(ob->mqtt, topic, json, strlen(json), 1, true);
    free(json);
}

/* Local annunciation: the alarm outputs (buzzer, beacon relay) are on while
 * any critical alarm is active, unacknowledged and not shelved. */
static void
update_outputs(struct outbox *ob)
{
    const struct conf *c = ob->conf;
    bool on = false;

    if (ob->gpio == NULL || c->noutputs == 0)
        return;
    for (int a = 0; a < c->nalarms && !on; a++) {
        const struct alarm_state *st = alarm_get(ob->engine, a);
        on = c->alarm_defs[a].severity == SEV_CRITICAL && st->active && !st->acked &&
             !alarm_shelved(st);
    }
    if (on == ob->outputs_on)
        return;
    ob->outputs_on = on;
    for (int o = 0; o < c->noutputs; o++)
        if (gpio_set(ob->gpio, o, on) < 0)
            log_warnx("gpio: cannot set output %s", c->outputs[o]->name);
    log_info("alarm outputs %s", on ? "on" : "off");
}

void
outbox_transition(void *arg, enum transition tr, int a, int z, uint64_t seq)
{
    struct outbox *ob = arg;
    const struct conf *c = ob->conf;

    state_use_seq(ob->state, seq);
    if (tr == TR_DRAIN) {
        const struct zone_state *zs = alarm_zone_get(ob->engine, z);
        log_info("zone %s: drain request %s%s (seq %llu)", c->zone_defs[z].name,
                 zs->request || zs->test ? "drain" : "none", zs->test ? " (test)" : "",
                 (unsigned long long)seq);
        publish_drain(ob, z, true);
        return;
    }
    {
        char *json = outbox_alarm_json(ob, a, transition_name(tr));
        const struct alarm_def *def = &c->alarm_defs[a];
        struct state_alarm sa = alarm_record(ob, a);
        if (tr == TR_ACTIVATED)
            log_warnx("alarm %s: %s %s (seq %llu)", def->name, severity_name(def->severity),
                      transition_name(tr), (unsigned long long)seq);
        else
            log_info("alarm %s: %s (seq %llu)", def->name, transition_name(tr),
                     (unsigned long long)seq);
        if (json != NULL) {
            send_event(ob, seq, "event", json, false, def->severity == SEV_CRITICAL, &sa);
            free(json);
        } else {
            state_save_alarm(ob->state, &sa);
        }
    }
    publish_alarm_state(ob, a);
    update_outputs(ob);
}

static void
replay_one(void *arg, uint64_t seq, const char *topic, const char *payload, bool retain)
{
    publish_journaled(arg, seq, topic, payload, retain);
}

void
outbox_resend(struct outbox *ob)
{
    /* Everything not yet acknowledged, oldest first; then the current
     * retained states, which a broker restart may have lost. */
    int64_t pending = state_journal_pending(ob->state);
    if (pending > 0)
        log_info("journal: replaying %lld unacknowledged messages", (long long)pending);
    state_journal_each(ob->state, replay_one, ob);
    for (int a = 0; a < ob->conf->nalarms; a++)
        publish_alarm_state(ob, a);
    for (int z = 0; z < ob->conf->nzones; z++)
        publish_drain(ob, z, false);
}
