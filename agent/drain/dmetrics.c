/*
 * dmetrics.c - ember-drain's metrics page (see dmetrics.h).
 */
#include "dmetrics.h"

#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "drain_json.h"
#include "openmetrics.h"
#include "version.h"

static const char *
str(const cJSON *o, const char *k)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(x) ? x->valuestring : "";
}

static double
num(const cJSON *o, const char *k)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(x) ? x->valuedouble : 0;
}

char *
dmetrics_page(const struct dconf *c, const struct site *const *sites,
              const struct hx_view *views, const struct dns_view *dviews, bool mqtt,
              bool openmetrics)
{
    static const char *const states[] = {"serving", "draining", "drained", "held"};
    cJSON *o[DCONF_MAX_SITES];
    const cJSON *x;
    struct om p;
    char *page;

    for (int i = 0; i < c->nsites; i++)
        o[i] = djson_site(sites[i], views, dviews, true);
    om_init(&p, openmetrics);
    om_family(&p, "ember_drain_build", OM_INFO, "ember-drain's version and controller id");
    om_sample(&p, (const char *const[]){"version", EMBER_VERSION, "controller", c->drain.id, NULL}, 1);
    om_family(&p, "ember_drain_mqtt_connected", OM_GAUGE, "1 while the MQTT session with the broker is up");
    om_sample(&p, NULL, mqtt ? 1 : 0);
    om_family(&p, "ember_drain_dry_run", OM_GAUGE, "1 when the controller only says what it would do");
    om_sample(&p, NULL, c->drain.dry_run ? 1 : 0);

    om_family(&p, "ember_drain_site_state", OM_GAUGE,
              "1 for the site's current state (serving, draining, drained, held), 0 for the others");
    for (int i = 0; i < c->nsites; i++)
        for (size_t k = 0; k < sizeof(states) / sizeof(states[0]); k++)
            om_sample(&p, (const char *const[]){"site", str(o[i], "site"), "state", states[k], NULL},
                      strcmp(str(o[i], "state"), states[k]) == 0 ? 1 : 0);
    om_family(&p, "ember_drain_site_drain_condition", OM_GAUGE,
              "1 while the site's requests meet its vote (whatever a hold does with it)");
    for (int i = 0; i < c->nsites; i++)
        om_sample(&p, (const char *const[]){"site", str(o[i], "site"), NULL},
                  cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o[i], "condition")) ? 1 : 0);
    om_family(&p, "ember_drain_site_votes", OM_GAUGE, "Zones of the site asking for a drain, counted");
    for (int i = 0; i < c->nsites; i++)
        om_sample(&p, (const char *const[]){"site", str(o[i], "site"), NULL}, num(o[i], "votes"));
    om_family(&p, "ember_drain_site_votes_required", OM_GAUGE, "The site's vote: zones needed to drain it");
    for (int i = 0; i < c->nsites; i++)
        om_sample(&p, (const char *const[]){"site", str(o[i], "site"), NULL}, num(o[i], "vote"));
    om_family(&p, "ember_drain_site_drain_id", OM_GAUGE,
              "The number of the site's latest drain episode (0: never drained)");
    for (int i = 0; i < c->nsites; i++)
        om_sample(&p, (const char *const[]){"site", str(o[i], "site"), NULL}, num(o[i], "drain_id"));

    om_family(&p, "ember_drain_target_state", OM_GAUGE,
              "1 for each target with the state read back from it (HAProxy: ready, drain, maint, down, "
              "unreachable; DNS: present, absent, unknown, unreachable; BGP; hooks)");
    for (int i = 0; i < c->nsites; i++)
        cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(o[i], "targets"))
            om_sample(&p,
                      (const char *const[]){"site", str(o[i], "site"), "target", str(x, "name"), "kind",
                                            str(x, "kind"), "state", str(x, "state"), NULL},
                      1);
    om_family(&p, "ember_drain_agent_online", OM_GAUGE,
              "1 while the agent's status is online, 0 offline (no sample before it is heard of)");
    for (int i = 0; i < c->nsites; i++)
        cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(o[i], "agents")) {
            if (strcmp(str(x, "status"), "unknown") == 0)
                continue;
            om_sample(&p, (const char *const[]){"site", str(o[i], "site"), "agent", str(x, "agent"), NULL},
                      strcmp(str(x, "status"), "online") == 0 ? 1 : 0);
        }
    om_family(&p, "ember_drain_zone_drain_requested", OM_GAUGE,
              "1 while the agent's zone asks for a real drain that counts for the site");
    for (int i = 0; i < c->nsites; i++)
        cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(o[i], "requests")) {
            if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, "counts")))
                continue;
            om_sample(&p,
                      (const char *const[]){"site", str(o[i], "site"), "agent", str(x, "agent"), "zone",
                                            str(x, "zone"), NULL},
                      strcmp(str(x, "request"), "drain") == 0 &&
                              !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, "test"))
                          ? 1
                          : 0);
        }
    page = om_finish(&p);
    for (int i = 0; i < c->nsites; i++)
        cJSON_Delete(o[i]);
    return page;
}
