/*
 * control.c - commands (MQTT cmd/NAME and the control socket) and the status
 * and alarms JSON.
 *
 * Owns: the control socket (the only caller of ctlsock_open/ctlsock_close) and
 * the memory of recent MQTT command ids.  May call: cmd_* (parsing), cmdmsg_*
 * (results, ids), alarm_* on the ingest's engine (ack, shelve, test), the
 * outbox (the operator of events, results), the reload callback, and read-only getters of the
 * ingest, outbox, bus set, GPIO outputs and notifiers for the status.
 */
#include "control.h"

#include <cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bus.h"
#include "cmd.h"
#include "cmdmsg.h"
#include "ctlsock.h"
#include "log.h"
#include "safefile.h"
#include "util.h"

struct control {
    struct ctlsock *ctl;
    char *path;
    struct ingest *in;
    struct outbox *ob;
    struct gpio *gpio;
    struct notify *notify;
    control_reload_fn reload;
    void *reload_arg;
    int64_t started_ms;
    struct cmdmsg_recent recent; /* ids of the latest MQTT commands */
};

/* Carries out a parsed command: the engine's ack, shelve, unshelve or test,
 * or the reload.  Returns 0, or -errno with the reason in err. */
static int
act(struct control *ctl, const struct cmd *c, char *err, size_t errlen)
{
    const struct conf *conf = ingest_conf(ctl->in);
    struct alarm_engine *e = ingest_engine(ctl->in);
    int a = -1, z = -1, rc = 0;
    int64_t now = real_ms();

    if (c->kind == CMD_ACK || c->kind == CMD_SHELVE || c->kind == CMD_UNSHELVE) {
        a = conf_alarm_find(conf, c->alarm);
        if (a < 0) {
            snprintf(err, errlen, "unknown alarm \"%s\"", c->alarm);
            return -ENOENT;
        }
    }
    switch (c->kind) {
    case CMD_ACK:
        rc = alarm_ack(e, a, now);
        if (rc == -EALREADY)
            snprintf(err, errlen, "alarm %s is already acknowledged", c->alarm);
        break;
    case CMD_SHELVE:
        rc = alarm_shelve(e, a, c->duration_ms, mono_ms(), now);
        break;
    case CMD_UNSHELVE:
        rc = alarm_unshelve(e, a, now);
        if (rc == -EALREADY)
            snprintf(err, errlen, "alarm %s is not shelved", c->alarm);
        break;
    case CMD_TEST:
        z = conf_zone_find(conf, c->zone);
        if (z < 0) {
            snprintf(err, errlen, "unknown zone \"%s\"", c->zone);
            return -ENOENT;
        }
        rc = alarm_test_zone(e, z, c->duration_ms, mono_ms(), now);
        if (rc == -EALREADY)
            snprintf(err, errlen, "zone %s has no critical alarm that is not already active",
                     c->zone);
        break;
    case CMD_RELOAD:
        rc = ctl->reload(ctl->reload_arg, err, errlen);
        break;
    default:
        break;
    }
    if (rc < 0 && err[0] == '\0')
        snprintf(err, errlen, "%s", strerror(-rc));
    return rc;
}

/* Runs a command; the events it causes name its operator. */
static int
run_cmd(struct control *ctl, const struct cmd *c, char *err, size_t errlen)
{
    int rc;

    outbox_set_operator(ctl->ob, c->by);
    rc = act(ctl, c, err, errlen);
    outbox_set_operator(ctl->ob, NULL);
    return rc;
}

/* Publishes the result of an MQTT command and logs a refusal. */
static void
mqtt_result(struct control *ctl, const char *suffix, const struct cmd *c, const char *err)
{
    char *json = cmdmsg_result(real_ms(), c->id, suffix + 4, err == NULL, err, c->by);

    if (err != NULL)
        log_warnx("mqtt command %s rejected: %s", suffix, err);
    if (json != NULL)
        outbox_command_result(ctl->ob, json);
    free(json);
}

void
control_mqtt(void *arg, const char *suffix, const void *payload, size_t len, bool retained)
{
    struct control *ctl = arg;
    struct cmd c;
    char err[CMD_ERR_MAX] = "";

    /* cmd/+ also matches the agent's own results: never a command. */
    if (strncmp(suffix, "cmd/", 4) != 0 || strcmp(suffix + 4, CMDMSG_RESULT) == 0)
        return;
    if (cmd_parse(suffix + 4, payload, len, true, &c, err, sizeof(err)) < 0) {
        mqtt_result(ctl, suffix, &c, err);
        return;
    }
    /* A retained command is an old decision the broker replays on every
     * connect, not an operator's request. */
    if (retained) {
        mqtt_result(ctl, suffix, &c, "retained command not run (publish commands without retain)");
        return;
    }
    /* A QoS 1 duplicate (or a replay) of a command with an id runs once. */
    if (cmdmsg_recent_seen(&ctl->recent, c.id)) {
        snprintf(err, sizeof(err), "id \"%s\" already seen: not run again", c.id);
        mqtt_result(ctl, suffix, &c, err);
        return;
    }
    if (run_cmd(ctl, &c, err, sizeof(err)) < 0) {
        mqtt_result(ctl, suffix, &c, err);
        return;
    }
    log_info("mqtt command %s %s%s%s done", cmd_name(c.kind), c.alarm[0] ? c.alarm : c.zone,
             c.by[0] ? " by " : "", c.by);
    mqtt_result(ctl, suffix, &c, NULL);
}

static cJSON *
status_json(struct control *ctl)
{
    const struct conf *conf = ingest_conf(ctl->in);
    const struct alarm_engine *e = ingest_engine(ctl->in);
    struct bus_set *buses = ingest_bus(ctl->in);
    struct outbox_stats os;
    cJSON *o = cJSON_CreateObject(), *arr;
    char ts[32];

    outbox_get_stats(ctl->ob, &os);
    cJSON_AddBoolToObject(o, "ok", true);
    cJSON_AddStringToObject(o, "site", conf->agent.site);
    cJSON_AddStringToObject(o, "agent", conf->agent.id);
    cJSON_AddStringToObject(o, "mqtt", os.connected ? "connected" : "disconnected");
    cJSON_AddNumberToObject(o, "mqtt_dropped", (double)os.mqtt_dropped);
    cJSON_AddNumberToObject(o, "mqtt_stale_wills", (double)os.mqtt_stale_wills);
    cJSON_AddNumberToObject(o, "journal_pending", (double)os.journal_pending);
    cJSON_AddNumberToObject(o, "journal_dropped", (double)os.journal_dropped);
    cJSON_AddStringToObject(o, "journal", os.journal_ok ? "ok" : "degraded");
    cJSON_AddNumberToObject(o, "journal_unstored", (double)os.journal_unstored);
    cJSON_AddNumberToObject(o, "journal_volatile", (double)os.journal_volatile);
    cJSON_AddNumberToObject(o, "seq_unreserved", (double)os.seq_unreserved);
    cJSON_AddNumberToObject(o, "epoch", (double)os.epoch);
    arr = cJSON_AddArrayToObject(o, "self_alarms");
    if (outbox_journal_alarm_active(ctl->ob))
        cJSON_AddItemToArray(arr, cJSON_CreateString(JOURNAL_ALARM));
    cJSON_AddNumberToObject(o, "uptime_s", (double)(mono_ms() - ctl->started_ms) / 1000.0);
    arr = cJSON_AddArrayToObject(o, "buses");
    for (int b = 0; b < conf->nbuses; b++) {
        struct bus_stats st;
        cJSON *x = cJSON_CreateObject();
        int64_t span;
        bus_get_stats(buses, b, &st);
        span = mono_us() - st.since_us;
        cJSON_AddStringToObject(x, "name", conf->buses[b].name);
        cJSON_AddNumberToObject(x, "polls", (double)st.polls);
        cJSON_AddNumberToObject(x, "failures", (double)st.failures);
        cJSON_AddNumberToObject(x, "late", (double)st.late);
        cJSON_AddNumberToObject(x, "alert_polls", (double)st.alert_polls);
        cJSON_AddNumberToObject(x, "utilisation",
                                span > 0 ? (double)st.busy_us / (double)span : 0.0);
        cJSON_AddItemToArray(arr, x);
    }
    arr = cJSON_AddArrayToObject(o, "sensors");
    for (int i = 0; i < conf->nsensors; i++) {
        const struct sensor_state *s = ingest_sensor(ctl->in, i);
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "name", conf->sensors[i].name);
        if (s->has_value)
            cJSON_AddNumberToObject(x, "value", s->value);
        else
            cJSON_AddNullToObject(x, "value");
        cJSON_AddStringToObject(x, "unit", conf->sensors[i].unit);
        cJSON_AddStringToObject(x, "quality", quality_name(s->quality));
        fmt_rfc3339_ms(s->ts_ms, ts, sizeof(ts));
        if (s->ts_ms > 0)
            cJSON_AddStringToObject(x, "ts", ts);
        else
            cJSON_AddNullToObject(x, "ts");
        cJSON_AddItemToArray(arr, x);
    }
    arr = cJSON_AddArrayToObject(o, "outputs");
    for (int i = 0; ctl->gpio != NULL && i < conf->noutputs; i++) {
        cJSON *x = cJSON_CreateObject();
        int v = 0;
        gpio_get_output(ctl->gpio, i, &v);
        cJSON_AddStringToObject(x, "name", conf->outputs[i]->name);
        cJSON_AddNumberToObject(x, "value", v);
        cJSON_AddItemToArray(arr, x);
    }
    arr = cJSON_AddArrayToObject(o, "zones");
    for (int z = 0; z < conf->nzones; z++) {
        const struct zone_state *zs = alarm_zone_get(e, z);
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "name", conf->zone_defs[z].name);
        cJSON_AddStringToObject(x, "request", zs->request || zs->test ? "drain" : "none");
        cJSON_AddNumberToObject(x, "votes", zs->votes);
        cJSON_AddNumberToObject(x, "vote", conf->zone_defs[z].vote);
        cJSON_AddBoolToObject(x, "test", zs->test && !zs->request);
        cJSON_AddItemToArray(arr, x);
    }
    arr = cJSON_AddArrayToObject(o, "notifiers");
    for (int i = 0; i < conf->nnotifiers; i++) {
        struct notify_stats st;
        const char *name;
        cJSON *x;
        if (notify_get_stats(ctl->notify, i, &name, &st) < 0)
            continue;
        x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "name", name);
        cJSON_AddNumberToObject(x, "runs", (double)st.runs);
        cJSON_AddNumberToObject(x, "ok", (double)st.ok);
        cJSON_AddNumberToObject(x, "failed", (double)st.failed);
        cJSON_AddNumberToObject(x, "dropped", (double)st.dropped);
        cJSON_AddNumberToObject(x, "pending", st.pending);
        cJSON_AddBoolToObject(x, "running", st.running);
        cJSON_AddItemToArray(arr, x);
    }
    return o;
}

static cJSON *
alarms_json(struct control *ctl)
{
    const struct conf *conf = ingest_conf(ctl->in);
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(o, "alarms");

    cJSON_AddBoolToObject(o, "ok", true);
    for (int a = 0; a < conf->nalarms; a++) {
        char *json = outbox_alarm_json(ctl->ob, a, NULL);
        cJSON *x = json ? cJSON_Parse(json) : NULL;
        free(json);
        if (x != NULL)
            cJSON_AddItemToArray(arr, x);
    }
    /* The journal self-alarm joins the list while it is raised. */
    if (outbox_journal_alarm_active(ctl->ob)) {
        char *json = outbox_journal_alarm_json(ctl->ob, NULL);
        cJSON *x = json ? cJSON_Parse(json) : NULL;
        free(json);
        if (x != NULL)
            cJSON_AddItemToArray(arr, x);
    }
    return o;
}

struct events_ctx {
    cJSON *arr;
    const char *alarm; /* "" or the one alarm asked for */
};

static void
add_event(void *arg, uint64_t seq, int64_t acked_ms, const char *topic, const char *payload)
{
    struct events_ctx *x = arg;
    cJSON *o = cJSON_Parse(payload), *a;
    char ts[32];
    (void)seq;

    if (o == NULL || !cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return;
    }
    a = cJSON_GetObjectItemCaseSensitive(o, "alarm");
    if (x->alarm[0] && !(cJSON_IsString(a) && strcmp(a->valuestring, x->alarm) == 0)) {
        cJSON_Delete(o);
        return;
    }
    /* A drain request has no "transition": say what it is. */
    if (strncmp(topic, "drain/", 6) == 0 && cJSON_GetObjectItemCaseSensitive(o, "transition") == NULL)
        cJSON_AddStringToObject(o, "transition", "drain_request");
    fmt_rfc3339_ms(acked_ms, ts, sizeof(ts));
    cJSON_AddStringToObject(o, "acked_by_broker", ts);
    cJSON_AddItemToArray(x->arr, o);
}

static cJSON *
events_json(struct control *ctl, const struct cmd *c)
{
    cJSON *o = cJSON_CreateObject();
    struct events_ctx x = {cJSON_AddArrayToObject(o, "events"), c->alarm};
    int64_t since = c->since_ms > 0 ? real_ms() - c->since_ms : 0;
    /* With an alarm filter the newest `limit` rows are read more widely,
     * then filtered. */
    int n = outbox_history(ctl->ob, since, c->alarm[0] ? CMD_EVENTS_MAX : c->limit, add_event, &x);

    if (n < 0) {
        cJSON_Delete(o);
        o = cJSON_CreateObject();
        cJSON_AddBoolToObject(o, "ok", false);
        cJSON_AddStringToObject(o, "error", "cannot read the history from the journal");
        return o;
    }
    while (cJSON_GetArraySize(x.arr) > c->limit)
        cJSON_DeleteItemFromArray(x.arr, 0);
    cJSON_AddBoolToObject(o, "ok", true);
    cJSON_AddNumberToObject(o, "history_max", ingest_conf(ctl->in)->agent.history_max);
    return o;
}

/* A request is one command payload; a client has 2 s to send it and to
 * take the answer. */
static const struct ctlsock_limits ctl_limits = {CMD_MAX_PAYLOAD, 8, 2000};

static char *
ctl_request(void *arg, const char *req, size_t len, uid_t uid, pid_t pid)
{
    struct control *ctl = arg;
    struct cmd c;
    char err[CMD_ERR_MAX] = "";
    cJSON *o;
    char *out;
    (void)uid; /* access is by the socket's file mode */
    (void)pid;

    if (cmd_parse_request(req, len, &c, err, sizeof(err)) < 0 ||
        run_cmd(ctl, &c, err, sizeof(err)) < 0) {
        o = cJSON_CreateObject();
        cJSON_AddBoolToObject(o, "ok", false);
        cJSON_AddStringToObject(o, "error", err);
        log_warnx("control command rejected: %s", err);
    } else if (c.kind == CMD_STATUS) {
        o = status_json(ctl);
    } else if (c.kind == CMD_ALARMS) {
        o = alarms_json(ctl);
    } else if (c.kind == CMD_EVENTS) {
        o = events_json(ctl, &c);
    } else {
        o = cJSON_CreateObject();
        cJSON_AddBoolToObject(o, "ok", true);
        log_info("control command %s %s%s%s done", cmd_name(c.kind), c.alarm[0] ? c.alarm : c.zone,
                 c.by[0] ? " by " : "", c.by);
    }
    out = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return out;
}

int
control_open(struct control **out, const struct conf *c, struct loop *l, struct ingest *in,
             struct outbox *ob, control_reload_fn reload, void *reload_arg)
{
    struct control *ctl = xcalloc(1, sizeof(*ctl));
    char err[512];
    int rc;

    ctl->started_ms = mono_ms();
    ctl->path = xstrdup(c->agent.control);
    ctl->in = in;
    ctl->ob = ob;
    ctl->reload = reload;
    ctl->reload_arg = reload_arg;
    if ((rc = safefile_check_path(c->agent.control, SAFEFILE_SOCKET, err, sizeof(err))) < 0) {
        log_errx("cannot create control socket ([agent] control): %s", err);
        control_close(ctl);
        return rc;
    }
    if ((rc = ctlsock_open(&ctl->ctl, c->agent.control, c->agent.control_mode, &ctl_limits, l,
                           ctl_request, ctl)) < 0) {
        log_errx("cannot create control socket %s ([agent] control): %s", c->agent.control,
                 rc == -EADDRINUSE ? "another emberd is listening on it" : strerror(-rc));
        control_close(ctl);
        return rc;
    }
    *out = ctl;
    return 0;
}

void
control_close(struct control *ctl)
{
    if (ctl == NULL)
        return;
    ctlsock_close(ctl->ctl);
    free(ctl->path);
    free(ctl);
}

void
control_set_gpio(struct control *ctl, struct gpio *g)
{
    ctl->gpio = g;
}

void
control_set_notify(struct control *ctl, struct notify *n)
{
    ctl->notify = n;
}

int
control_set_mode(struct control *ctl, int mode)
{
    if (chmod(ctl->path, (mode_t)mode) < 0)
        return -errno;
    return 0;
}
