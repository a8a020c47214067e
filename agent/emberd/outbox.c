/*
 * outbox.c - transition -> journal -> MQTT, the PUBACK mapping, replay.
 *
 * Owns: the journal (struct state), the MQTT session (the only caller of
 * mqtt_init/mqtt_fini), the publish window (inflight.h: at most
 * INFLIGHT_WINDOW journaled messages awaiting PUBACK, each PUBACK mapped to
 * exactly its seq), the alarm outputs' on/off state, this run's epoch and
 * the journal self-alarm (`_journal`).  May call: state_*, mqtt_*,
 * inflight_*, payload_*, alarm_* getters, alarm_take_seq (the self-alarm's
 * events), gpio_set, notify_event (every new event, once journaled and
 * handed to the session); publishes the command results control.c builds.
 * Remembers which zones last asked to drain, to tell a drain request
 * back to none ("undrain") from a zone announcing none.  Reads
 * the bound conf; changes the engine only to restore it at start
 * (outbox_restore) and by taking seq numbers from it.
 *
 * Every journaled message goes out through the window, oldest seq first:
 * a new event is journaled and then published when the window has room and
 * nothing older is still waiting, so events keep their seq order on the
 * wire during a replay as they did when the whole journal was queued at
 * once.
 */
#include "outbox.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <sys/random.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "cmdmsg.h"
#include "inflight.h"
#include "log.h"
#include "hadisc.h"
#include "notify.h"
#include "payload.h"
#include "state.h"
#include "util.h"

/* While the journal cannot be written, how often to try it again. */
#define JOURNAL_RETRY_MS 5000

/* An alarm transition is the notifier event of the same number. */
_Static_assert((int)NOTIFY_ACTIVATED == (int)TR_ACTIVATED &&
                   (int)NOTIFY_TEST_END == (int)TR_TEST_END && (int)NOTIFY_DRAIN == (int)TR_DRAIN,
               "enum notify_ev follows enum transition");

/* The journal self-alarm: raised while the journal cannot be written. */
struct journal_alarm {
    bool active;
    int64_t since_ms; /* real ms of the last raise or clear; 0: never */
    uint64_t seq;     /* its latest event; 0: none */
    int64_t next_try; /* mono ms of the next state_retry */
};

struct outbox {
    const struct conf *conf;
    struct alarm_engine *engine;
    uint64_t epoch; /* this run's; in every alarm, event and drain payload */
    struct journal_alarm ja;
    struct state *state;
    struct mqtt *mqtt;
    struct inflight *window; /* journaled messages awaiting PUBACK */
    bool refilling;
    bool send_failed; /* the last refill stopped on a failed publish */
    bool states_due;  /* republish the retained states once the backlog is out */
    struct gpio *gpio;
    bool outputs_on;
    struct notify *notify;        /* borrowed; NULL: none */
    bool *zone_drain;             /* per zone: its last request was drain (or test) */
    outbox_command_fn on_message; /* inbound commands go here, with msg_arg */
    void *msg_arg;
    char by[NAME_MAX_LEN + 1]; /* operator of the command being run; "" for none */
};

/* A fresh random epoch per run: it cannot depend on the journal, which may
 * be the thing that failed, nor on a clock that may not be set.  48 bits,
 * so it is exact in a JSON number; never 0. */
static uint64_t
new_epoch(void)
{
    uint8_t b[6];
    uint64_t e = 0;

    if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b)) {
        e = (uint64_t)real_ms() ^ ((uint64_t)getpid() << 24) ^ (uint64_t)mono_ms();
    } else {
        for (size_t i = 0; i < sizeof(b); i++)
            e = e << 8 | b[i];
    }
    e &= (UINT64_C(1) << 48) - 1;
    return e ? e : 1;
}

int
outbox_open(struct outbox **out, const struct conf *c)
{
    struct outbox *ob = xcalloc(1, sizeof(*ob));
    char err[512] = "";
    int rc;

    ob->conf = c;
    ob->epoch = new_epoch();
    ob->window = inflight_new(INFLIGHT_WINDOW);
    if ((rc = state_open(&ob->state, c->agent.journal, err, sizeof(err))) < 0) {
        log_errx("cannot open the journal %s ([agent] journal)", err);
        outbox_close(ob);
        return rc;
    }
    if (!state_writable(ob->state))
        log_warnx("journal %s: starting degraded: events are published live and held in "
                  "memory; the _journal alarm is raised until it can be written",
                  err);
    state_set_journal_max(ob->state, c->agent.journal_max);
    state_set_history(ob->state, c->agent.history_max, c->agent.history_age_ms);
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
    inflight_free(ob->window);
    free(ob->zone_drain);
    free(ob);
}

/* Which zones ask to drain now, as the engine has them: what a later drain
 * request is compared with. */
static void
zones_seen(struct outbox *ob)
{
    free(ob->zone_drain);
    ob->zone_drain = xcalloc((size_t)ob->conf->nzones + 1, sizeof(*ob->zone_drain));
    for (int z = 0; ob->engine != NULL && z < ob->conf->nzones; z++) {
        const struct zone_state *zs = alarm_zone_get(ob->engine, z);
        ob->zone_drain[z] = zs->request || zs->test;
    }
}

void
outbox_bind(struct outbox *ob, const struct conf *c, struct alarm_engine *e)
{
    ob->conf = c;
    ob->engine = e;
    state_set_history(ob->state, c->agent.history_max, c->agent.history_age_ms);
    if (ob->mqtt != NULL)
        mqtt_set_conf(ob->mqtt, &c->mqtt);
    zones_seen(ob);
}

void
outbox_set_notify(struct outbox *ob, struct notify *n)
{
    ob->notify = n;
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
    struct journal_alarm *ja;
};

static void
restore_one(void *arg, const struct state_alarm *sa)
{
    struct restore_ctx *r = arg;
    int a = conf_alarm_find(r->conf, sa->name);

    if (strcmp(sa->name, JOURNAL_ALARM) == 0) {
        /* Its last saved state (only ever saved cleared: while it is
         * active the journal cannot be written). */
        r->ja->seq = sa->seq;
        r->ja->since_ms = sa->since_ms;
        return;
    }
    if (a < 0)
        return;
    if (alarm_restore(r->engine, a, sa->active, sa->acked, sa->shelved_until, sa->since_ms, sa->seq,
                      r->now_mono, r->now_real) == 1) {
        r->clamped[a] = true;
        long long days = (sa->shelved_until - r->now_real) / 86400000;
        long long max = ALARM_SHELVE_MAX_MS / 86400000;

        log_warnx("alarm %s: the journal's shelve ends %lld %s ahead; clamped to %lld %s "
                  "(the longest shelve)",
                  sa->name, days, plural(days, "day", "days"), max, plural(max, "day", "days"));
    }
}

static void
restore_zone(void *arg, const struct state_zone *sz)
{
    struct restore_ctx *r = arg;
    int z = conf_zone_find(r->conf, sz->name);

    if (z >= 0)
        alarm_zone_set_state(r->engine, z,
                             &(struct zone_state){.request = sz->request, .test = sz->test,
                                                  .votes = sz->votes, .since_ms = sz->since_ms,
                                                  .seq = sz->seq});
}

int
outbox_restore(struct outbox *ob, struct alarm_engine *e, int64_t now_mono, int64_t now_real)
{
    bool *clamped = xcalloc((size_t)ob->conf->nalarms + 1, sizeof(*clamped));
    struct restore_ctx r = {ob->conf, e, now_mono, now_real, clamped, &ob->ja};
    int rc = 0;

    if (state_load_alarms(ob->state, restore_one, &r) < 0 ||
        state_load_zones(ob->state, restore_zone, &r) < 0) {
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
    /* The restored requests are what the settled ones are compared with. */
    zones_seen(ob);
    /* A zone whose restored alarms now say something else than its last
     * request (or that never said anything) announces it with a new seq. */
    if (rc == 0)
        alarm_zones_settle(e, now_real);
    return rc;
}

static void refill(struct outbox *ob);

static void
on_acked(void *arg, int mid)
{
    struct outbox *ob = arg;
    uint64_t seq = inflight_acked(ob->window, mid);

    if (seq == 0)
        return;
    state_journal_done(ob->state, seq);
    if (inflight_wants_refill(ob->window))
        refill(ob);
}

/* A new connection: the ids of the last one are void, and everything not
 * yet acknowledged goes out again from the oldest row. */
static void
publish_discovery(void *arg, const char *topic, const char *payload)
{
    struct outbox *ob = arg;
    mqtt_publish_topic(ob->mqtt, topic, payload, strlen(payload), 1, true);
}

static void
on_connect(void *arg)
{
    struct outbox *ob = arg;

    /* Home Assistant's discovery first, so that it follows the state
     * topics before the states come. */
    if (ob->conf->ha.discovery)
        hadisc_each(ob->conf, publish_discovery, ob);
    state_journal_flush(ob->state);
    inflight_reset(ob->window);
    outbox_resend(ob);
}

/* A state request: the current retained states again, after any backlog
 * being replayed (the session has published "online"). */
static void
on_state_request(void *arg)
{
    struct outbox *ob = arg;

    ob->states_due = true;
    refill(ob);
}

/* The session has one callback argument, the outbox; commands (topics
 * under the agent's base) are passed on to their owner with its own
 * argument. */
static void
on_message(void *arg, const struct mqtt_msg *msg)
{
    struct outbox *ob = arg;
    if (msg->suffix != NULL)
        ob->on_message(ob->msg_arg, msg->suffix, msg->payload, msg->len, msg->retained);
}

/* The agent's session: status and every topic under {prefix}/{site}/{agent},
 * commands from its cmd/+ topics; states are (re)published once it is ready
 * and on a state request for all or for its site. */
static int
start_mqtt(struct outbox *ob, struct loop *l)
{
    const struct conf *c = ob->conf;
    const char *site = c->agent.site;
    struct mqtt_params p = {
        .conf = &c->mqtt, .on_ready = on_connect, .on_message = on_message, .arg = ob};

    if (mqtt_params_base(&p, "%s/%s/%s", c->mqtt.prefix, c->agent.site, c->agent.id) < 0 ||
        mqtt_params_subscribe(&p, 1, "%s/cmd/+", p.base) < 0 ||
        mqtt_params_state_requests(&p, c->mqtt.prefix, &site, 1, on_state_request) < 0)
        return -ENAMETOOLONG;
    return mqtt_init(&ob->mqtt, &p, l);
}

int
outbox_connect(struct outbox *ob, struct loop *l, outbox_command_fn on_msg, void *arg)
{
    int rc;

    ob->on_message = on_msg;
    ob->msg_arg = arg;
    if ((rc = start_mqtt(ob, l)) < 0) {
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

int
outbox_history(struct outbox *ob, int64_t since_ms, int limit,
               void (*fn)(void *arg, uint64_t seq, int64_t acked_ms, const char *topic,
                          const char *payload),
               void *arg)
{
    state_journal_flush(ob->state); /* what is acknowledged so far, in */
    return state_history_each(ob->state, since_ms, limit, fn, arg);
}

void
outbox_set_journal_max(struct outbox *ob, int max_rows)
{
    state_set_journal_max(ob->state, max_rows);
}

static void journal_watch(struct outbox *ob);

void
outbox_flush(struct outbox *ob)
{
    state_journal_flush(ob->state);
    journal_watch(ob);
}

void
outbox_get_stats(const struct outbox *ob, struct outbox_stats *st)
{
    struct state_stats ss;

    state_get_stats(ob->state, &ss);
    st->connected = mqtt_connected(ob->mqtt);
    st->mqtt_dropped = mqtt_dropped(ob->mqtt);
    st->mqtt_stale_wills = mqtt_stale_wills(ob->mqtt);
    st->journal_pending = ss.pending;
    st->journal_dropped = ss.dropped;
    st->journal_ok = state_writable(ob->state);
    st->journal_unstored = ss.unstored;
    st->journal_volatile = ss.volatile_n;
    st->seq_unreserved = ss.unreserved;
    st->epoch = ob->epoch;
}

/* ---- payloads ----------------------------------------------------------- */


void
outbox_set_operator(struct outbox *ob, const char *by)
{
    snprintf(ob->by, sizeof(ob->by), "%s", by != NULL ? by : "");
}

void
outbox_command_result(struct outbox *ob, const char *json)
{
    mqtt_publish(ob->mqtt, "cmd/" CMDMSG_RESULT, json, strlen(json), 1, false);
}

/* The operator of an event: only an operator's action names one. */
static const char *
event_by(const struct outbox *ob, const char *transition)
{
    static const char *const ops[] = {"acked", "shelved", "unshelved", "test"};

    for (size_t i = 0; transition != NULL && i < ARRAY_LEN(ops); i++)
        if (strcmp(transition, ops[i]) == 0)
            return ob->by;
    return NULL;
}

char *
outbox_alarm_json(const struct outbox *ob, int a, const char *transition)
{
    const struct alarm_def *def = &ob->conf->alarm_defs[a];
    const struct conf_sensor *cs = &ob->conf->sensors[def->sensor];
    const struct alarm_state *st = alarm_get(ob->engine, a);
    int64_t now = real_ms();
    struct payload_alarm_extra x = {
        .shelved_until = alarm_shelve_end_real(st, mono_ms(), now),
        .by = event_by(ob, transition),
    };
    return payload_alarm(def, st, cs->name, conf_alarm_zone(ob->conf, a), cs->unit, transition, &x,
                         now, ob->epoch);
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

/* Publishes one journaled row into the window and remembers which seq its
 * PUBACK frees.  Returns non-zero to stop the refill (offline). */
static int
send_row(void *arg, uint64_t seq, const char *topic, const char *payload, bool retain)
{
    struct outbox *ob = arg;
    uint64_t evicted;
    int mid = 0;

    if (mqtt_publish_mid(ob->mqtt, topic, payload, strlen(payload), 1, retain, &mid) < 0) {
        ob->send_failed = true;
        return 1;
    }
    evicted = inflight_sent(ob->window, mid, seq);
    if (evicted != 0)
        log_warnx("journal: message id %d reused while seq %llu awaited its PUBACK; it stays "
                  "journaled until the next connect",
                  mid, (unsigned long long)evicted);
    return 0;
}

static void publish_states(struct outbox *ob);

/* Fills the window from the journal, oldest unsent row first.  Once the
 * journal has nothing left to send, the retained states follow if due: a
 * retained drain request replayed from the journal must never land after
 * the current state and replace it on the broker. */
static void
refill(struct outbox *ob)
{
    int room, n;

    /* Not before on_connect has reset the window: a new row sent ahead of
     * the replay of older ones would reach consumers out of seq order. */
    if (ob->mqtt == NULL || !mqtt_ready(ob->mqtt) || ob->refilling)
        return;
    ob->refilling = true;
    ob->send_failed = false;
    room = inflight_room(ob->window);
    n = state_journal_next(ob->state, inflight_cursor(ob->window), room, send_row, ob);
    if (n < 0)
        log_warnx("journal: cannot read the outbox from %s", ob->conf->agent.journal);
    else if (n < room && !ob->send_failed && ob->states_due) {
        ob->states_due = false;
        publish_states(ob);
    }
    ob->refilling = false;
}

/* Journal first, then publish through the window: if the broker is away or
 * emberd dies before the PUBACK, the message goes out again on the next
 * connect. */
static void
send_event(struct outbox *ob, uint64_t seq, const char *topic, const char *payload, bool retain,
           bool critical, const struct state_alarm *sa, const struct state_zone *sz)
{
    /* A message the file cannot take is held in memory by the journal and
     * goes out through the window all the same. */
    if (sz != NULL)
        state_journal_add_zone(ob->state, seq, topic, payload, retain, critical, sz);
    else
        state_journal_add(ob->state, seq, topic, payload, retain, critical, sa);
    refill(ob);
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

/* The zone's drain request; journaled (with the zone's state, which a
 * restart brings back) when it is a new request, plainly republished on
 * connect with the seq and ts of the request it repeats, so a consumer
 * that orders requests by seq or ts sees nothing new. */
static void
publish_drain(struct outbox *ob, int z, bool journal)
{
    const struct zone_def *zd = &ob->conf->zone_defs[z];
    const struct zone_state *zs = alarm_zone_get(ob->engine, z);
    const char **names = xcalloc((size_t)zd->nmembers + 1, sizeof(*names));
    int n = zone_alarms(ob, z, names, zd->nmembers);
    char topic[NAME_MAX_LEN + 8];
    int64_t ts = journal || zs->since_ms == 0 ? real_ms() : zs->since_ms;
    char *json = payload_drain(zd, zs, names, n, ts, ob->epoch);

    free(names);
    if (json == NULL)
        return;
    snprintf(topic, sizeof(topic), "drain/%s", zd->name);
    if (journal) {
        struct state_zone sz = {zd->name, zs->request, zs->test, zs->votes, zs->since_ms, zs->seq};
        bool drain = zs->request || zs->test, was = ob->zone_drain[z];
        send_event(ob, zs->seq, topic, json, true, zs->request, NULL, &sz);
        /* drain whenever it asks to drain (a test, or a test turned real,
         * included); undrain only back from drain, not when it announces
         * none at a first start or after a restart. */
        ob->zone_drain[z] = drain;
        if (drain || was)
            notify_event(ob->notify, drain ? NOTIFY_DRAIN : NOTIFY_UNDRAIN, json);
    } else if (ob->mqtt != NULL) {
        mqtt_publish(ob->mqtt, topic, json, strlen(json), 1, true);
    }
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
        if (tr == TR_ACTIVATED && def->severity == SEV_CRITICAL)
            log_crit("alarm %s: %s %s (seq %llu)", def->name, severity_name(def->severity),
                     transition_name(tr), (unsigned long long)seq);
        else if (tr == TR_ACTIVATED)
            log_warnx("alarm %s: %s %s (seq %llu)", def->name, severity_name(def->severity),
                      transition_name(tr), (unsigned long long)seq);
        else
            log_info("alarm %s: %s (seq %llu)", def->name, transition_name(tr),
                     (unsigned long long)seq);
        if (json != NULL) {
            send_event(ob, seq, "event", json, false, def->severity == SEV_CRITICAL, &sa, NULL);
            notify_event(ob->notify, (int)tr, json);
            free(json);
        } else {
            state_save_alarm(ob->state, &sa);
        }
    }
    publish_alarm_state(ob, a);
    update_outputs(ob);
}

/* ---- the journal self-alarm ------------------------------------------------ */

char *
outbox_journal_alarm_json(const struct outbox *ob, const char *transition)
{
    char msg[PATH_MAX + 160];

    snprintf(msg, sizeof(msg),
             ob->ja.active ? "journal %s cannot be written: events are held in memory only"
                           : "journal %s is written normally",
             ob->conf->agent.journal);
    return payload_journal_alarm(ob->ja.active, ob->ja.since_ms, ob->ja.seq, ob->epoch, msg,
                                 transition, real_ms());
}

static void
publish_journal_alarm_state(struct outbox *ob)
{
    char *json = outbox_journal_alarm_json(ob, NULL);

    if (json == NULL)
        return;
    mqtt_publish(ob->mqtt, "alarm/" JOURNAL_ALARM, json, strlen(json), 1, true);
    free(json);
}

/* Raises or clears the self-alarm: an event like any alarm's (journaled,
 * which while raised means held in memory) and the retained state.  It is
 * in no zone, so it never votes for a drain. */
static void
journal_alarm_set(struct outbox *ob, bool active)
{
    const char *tr = transition_name(active ? TR_ACTIVATED : TR_CLEARED);
    struct state_alarm sa;
    uint64_t seq;
    char *json;

    seq = alarm_take_seq(ob->engine);
    state_use_seq(ob->state, seq);
    ob->ja.active = active;
    ob->ja.since_ms = real_ms();
    ob->ja.seq = seq;
    sa = (struct state_alarm){.name = JOURNAL_ALARM, .active = active, .acked = !active,
                              .since_ms = ob->ja.since_ms, .seq = seq};
    if (active)
        log_warnx("alarm %s: warning %s (seq %llu): the journal %s cannot be written",
                  JOURNAL_ALARM, tr, (unsigned long long)seq, ob->conf->agent.journal);
    else
        log_info("alarm %s: %s (seq %llu): the journal %s is written again", JOURNAL_ALARM, tr,
                 (unsigned long long)seq, ob->conf->agent.journal);
    json = outbox_journal_alarm_json(ob, tr);
    if (json != NULL) {
        send_event(ob, seq, "event", json, false, false, &sa, NULL);
        notify_event(ob->notify, active ? NOTIFY_ACTIVATED : NOTIFY_CLEARED, json);
        free(json);
    }
    publish_journal_alarm_state(ob);
}

/* From the tick: while the journal cannot be written, try it again every
 * JOURNAL_RETRY_MS, and keep the self-alarm in step with it. */
static void
journal_watch(struct outbox *ob)
{
    bool ok = state_writable(ob->state);
    int64_t now = mono_ms();

    if (ob->engine == NULL)
        return;
    if (!ok && now >= ob->ja.next_try) {
        ob->ja.next_try = now + JOURNAL_RETRY_MS;
        ok = state_retry(ob->state, alarm_next_seq(ob->engine)) == 0;
    }
    if (ok == ob->ja.active)
        journal_alarm_set(ob, !ok);
}

bool
outbox_journal_alarm_active(const struct outbox *ob)
{
    return ob->ja.active;
}

/* The current retained states, which a broker restart may have lost. */
static void
publish_states(struct outbox *ob)
{
    for (int a = 0; a < ob->conf->nalarms; a++)
        publish_alarm_state(ob, a);
    publish_journal_alarm_state(ob);
    for (int z = 0; z < ob->conf->nzones; z++)
        publish_drain(ob, z, false);
}

void
outbox_resend(struct outbox *ob)
{
    /* Everything not yet acknowledged, oldest first, through the window
     * (the rest follows as PUBACKs come back); then, once all of it is
     * out, the current retained states. */
    int64_t pending = state_journal_pending(ob->state);
    if (pending > 0)
        log_info("journal: replaying %lld unacknowledged messages", (long long)pending);
    ob->states_due = true;
    refill(ob);
}

void
outbox_batch(struct outbox *ob, bool on)
{
    mqtt_batch(ob->mqtt, on);
}
