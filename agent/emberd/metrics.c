/*
 * metrics.c - emberd's OpenMetrics page (see metrics.h).
 *
 * Owns: the HTTP endpoint (httpd).  May call: read-only getters of the
 * ingest (configuration, sensors, alarm engine, bus set) and the outbox.
 * Names follow Prometheus's conventions: emberd_ prefix, base units
 * (seconds, ratios), _total on counters, one label per dimension.
 */
#include "metrics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alarm.h"
#include "bus.h"
#include "httpd.h"
#include "openmetrics.h"
#include "util.h"
#include "version.h"

struct metrics {
    struct httpd *http;
    struct ingest *in;
    struct outbox *ob;
    int64_t started_ms; /* real time */
};

char *
metrics_page(struct metrics *m, bool openmetrics)
{
    const struct conf *c = ingest_conf(m->in);
    const struct alarm_engine *e = ingest_engine(m->in);
    struct bus_set *buses = ingest_bus(m->in);
    struct outbox_stats os;
    struct om p;
    static const char *const qualities[] = {"good", "stale", "comms_lost", "bad"};
    const char *site = c->agent.site, *agent = c->agent.id;

    outbox_get_stats(m->ob, &os);
    om_init(&p, openmetrics);

    om_family(&p, "emberd_build", OM_INFO, "emberd's version, and the site and agent id it publishes as");
    om_sample(&p, (const char *const[]){"version", EMBER_VERSION, "site", site, "agent", agent, NULL}, 1);
    om_family(&p, "emberd_start_time_seconds", OM_GAUGE, "When this emberd started, seconds since the epoch");
    om_sample(&p, NULL, (double)m->started_ms / 1000.0);

    om_family(&p, "emberd_mqtt_connected", OM_GAUGE, "1 while the MQTT session with the broker is up");
    om_sample(&p, NULL, os.connected ? 1 : 0);
    om_family(&p, "emberd_mqtt_dropped_messages", OM_COUNTER,
              "QoS 0 messages (telemetry) not sent while the broker was unreachable");
    om_sample(&p, NULL, (double)os.mqtt_dropped);
    om_family(&p, "emberd_mqtt_stale_wills_answered", OM_COUNTER,
              "Stale Last Wills ('offline' from a broker left earlier) answered with 'online'");
    om_sample(&p, NULL, (double)os.mqtt_stale_wills);
    om_family(&p, "emberd_journal_pending_messages", OM_GAUGE,
              "Events and states journaled and not yet acknowledged by the broker");
    om_sample(&p, NULL, (double)os.journal_pending);
    om_family(&p, "emberd_journal_volatile_messages", OM_GAUGE,
              "Pending messages held only in memory because the journal cannot be written");
    om_sample(&p, NULL, (double)os.journal_volatile);
    om_family(&p, "emberd_journal_dropped_messages", OM_COUNTER,
              "Unacknowledged messages dropped by the journal_max bound");
    om_sample(&p, NULL, (double)os.journal_dropped);
    om_family(&p, "emberd_journal_unstored_messages", OM_COUNTER,
              "Messages that could not be written to the journal");
    om_sample(&p, NULL, (double)os.journal_unstored);
    om_family(&p, "emberd_journal_ok", OM_GAUGE, "1 while the journal can be written");
    om_sample(&p, NULL, os.journal_ok ? 1 : 0);

    om_family(&p, "emberd_bus_polls", OM_COUNTER, "Device polls attempted on the bus");
    for (int b = 0; b < c->nbuses; b++) {
        struct bus_stats st;
        bus_get_stats(buses, b, &st);
        om_sample(&p, (const char *const[]){"bus", c->buses[b].name, NULL}, (double)st.polls);
    }
    om_family(&p, "emberd_bus_poll_failures", OM_COUNTER,
              "Device polls that got no valid answer (timeout, refused, bad CRC, garbage)");
    for (int b = 0; b < c->nbuses; b++) {
        struct bus_stats st;
        bus_get_stats(buses, b, &st);
        om_sample(&p, (const char *const[]){"bus", c->buses[b].name, NULL}, (double)st.failures);
    }
    om_family(&p, "emberd_bus_late_polls", OM_COUNTER,
              "Polls started later than a tenth of their interval");
    for (int b = 0; b < c->nbuses; b++) {
        struct bus_stats st;
        bus_get_stats(buses, b, &st);
        om_sample(&p, (const char *const[]){"bus", c->buses[b].name, NULL}, (double)st.late);
    }
    om_family(&p, "emberd_bus_alert_polls", OM_COUNTER, "Polls made at a device's alert interval");
    for (int b = 0; b < c->nbuses; b++) {
        struct bus_stats st;
        bus_get_stats(buses, b, &st);
        om_sample(&p, (const char *const[]){"bus", c->buses[b].name, NULL}, (double)st.alert_polls);
    }
    om_family(&p, "emberd_bus_utilisation_ratio", OM_GAUGE,
              "Share of time the bus spent in Modbus transactions since emberd started");
    for (int b = 0; b < c->nbuses; b++) {
        struct bus_stats st;
        int64_t span;
        bus_get_stats(buses, b, &st);
        span = mono_us() - st.since_us;
        om_sample(&p, (const char *const[]){"bus", c->buses[b].name, NULL},
                  span > 0 ? (double)st.busy_us / (double)span : 0.0);
    }

    om_family(&p, "emberd_sensor_value", OM_GAUGE,
              "The sensor's value in its unit (the last good one while stale); NaN when it has none");
    for (int i = 0; i < c->nsensors; i++) {
        const struct sensor_state *s = ingest_sensor(m->in, i);
        om_sample(&p,
                  (const char *const[]){"sensor", c->sensors[i].name, "zone", c->sensors[i].zone,
                                        "unit", c->sensors[i].unit, NULL},
                  s->has_value ? s->value : NAN);
    }
    om_family(&p, "emberd_sensor_quality", OM_GAUGE,
              "1 for the sensor's current quality (good, stale, comms_lost, bad), 0 for the others");
    for (int i = 0; i < c->nsensors; i++) {
        const struct sensor_state *s = ingest_sensor(m->in, i);
        for (int q = 0; q < 4; q++)
            om_sample(&p, (const char *const[]){"sensor", c->sensors[i].name, "quality", qualities[q], NULL},
                      (int)s->quality == q ? 1 : 0);
    }
    om_family(&p, "emberd_sensor_updated_timestamp_seconds", OM_GAUGE,
              "When the sensor's latest poll outcome came, seconds since the epoch (0: none yet)");
    for (int i = 0; i < c->nsensors; i++) {
        const struct sensor_state *s = ingest_sensor(m->in, i);
        om_sample(&p, (const char *const[]){"sensor", c->sensors[i].name, NULL},
                  s->ts_ms > 0 ? (double)s->ts_ms / 1000.0 : 0);
    }

#define ALARM_LABELS(a)                                                                          \
    (const char *const[])                                                                        \
    {                                                                                            \
        "alarm", c->alarm_defs[a].name, "sensor", c->sensors[c->alarm_defs[a].sensor].name,      \
            "zone", conf_alarm_zone(c, a), \
            "severity", severity_name(c->alarm_defs[a].severity), NULL                           \
    }
    om_family(&p, "emberd_alarm_active", OM_GAUGE, "1 while the alarm is active (a test activation included)");
    for (int a = 0; a < c->nalarms; a++)
        om_sample(&p, ALARM_LABELS(a), alarm_get(e, a)->active ? 1 : 0);
    om_family(&p, "emberd_alarm_acknowledged", OM_GAUGE,
              "1 while the alarm is acknowledged (an active alarm not acknowledged needs a person)");
    for (int a = 0; a < c->nalarms; a++)
        om_sample(&p, ALARM_LABELS(a), alarm_get(e, a)->acked ? 1 : 0);
    om_family(&p, "emberd_alarm_shelved", OM_GAUGE, "1 while the alarm is shelved");
    for (int a = 0; a < c->nalarms; a++)
        om_sample(&p, ALARM_LABELS(a), alarm_get(e, a)->shelve_end_mono > 0 ? 1 : 0);
#undef ALARM_LABELS

    om_family(&p, "emberd_zone_drain_requested", OM_GAUGE,
              "1 while the zone asks for a drain (not counting a test)");
    for (int z = 0; z < c->nzones; z++)
        om_sample(&p, (const char *const[]){"zone", c->zone_defs[z].name, NULL},
                  alarm_zone_get(e, z)->request ? 1 : 0);
    om_family(&p, "emberd_zone_votes", OM_GAUGE,
              "Distinct sensors of the zone in active, unshelved critical alarm");
    for (int z = 0; z < c->nzones; z++)
        om_sample(&p, (const char *const[]){"zone", c->zone_defs[z].name, NULL}, alarm_zone_get(e, z)->votes);
    om_family(&p, "emberd_zone_votes_required", OM_GAUGE, "The zone's vote: sensors needed to ask for a drain");
    for (int z = 0; z < c->nzones; z++)
        om_sample(&p, (const char *const[]){"zone", c->zone_defs[z].name, NULL}, c->zone_defs[z].vote);

    return om_finish(&p);
}

static char *
page(void *arg, bool openmetrics)
{
    return metrics_page(arg, openmetrics);
}

int
metrics_open(struct metrics **out, const struct conf *c, struct loop *l, struct ingest *in,
             struct outbox *ob)
{
    struct metrics *m;
    int rc;

    *out = NULL;
    if (c->metrics.listen == NULL)
        return 0;
    m = xcalloc(1, sizeof(*m));
    m->in = in;
    m->ob = ob;
    m->started_ms = real_ms();
    if ((rc = httpd_open(&m->http, l, c->metrics.listen, page, m)) < 0) {
        free(m);
        return rc;
    }
    *out = m;
    return 0;
}

void
metrics_close(struct metrics *m)
{
    if (m == NULL)
        return;
    httpd_close(m->http);
    free(m);
}
