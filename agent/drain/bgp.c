/*
 * bgp.c - [bgp NAME] targets: BIRD 2 through its control socket.
 */
#include "bgp.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "birdc.h"

/* Asks BIRD; on failure describes it in v->error.  Returns 0 (BIRD's
 * answer in *r, whatever its code) or -errno. */
static int
ask(const struct dconf_haproxy *h, const char *cmd, struct birdc_reply *r, struct hx_view *v)
{
    int rc = birdc_command(h->socket, h->timeout_ms, cmd, r);

    if (rc < 0)
        snprintf(v->error, sizeof(v->error), "%.60s: BIRD socket %.100s: %s", cmd, h->socket,
                 strerror(-rc));
    return rc;
}

/* The state ("up", "down", "start", "stop") of the protocol in a `show
 * protocols` answer, in state; false when it is not there. */
static bool
protocol_state(const char *text, const char *name, char *state, size_t len)
{
    const char *line = text;

    while (*line != '\0') {
        char n[NAME_MAX_LEN + 2], proto[32], table[32], st[16];
        if (strncmp(line, "1002 ", 5) == 0 &&
            sscanf(line + 5, "%65s %31s %31s %15s", n, proto, table, st) == 4 &&
            strcmp(n, name) == 0) {
            snprintf(state, len, "%s", st);
            return true;
        }
        line += strcspn(line, "\n");
        if (*line == '\n')
            line++;
    }
    return false;
}

/* True when a `show route` answer lists a route (not only table headers). */
static bool
has_route(const char *text)
{
    const char *line = text;

    while (*line != '\0') {
        if (strncmp(line, "1007 ", 5) == 0 && strncmp(line + 5, "Table ", 6) != 0)
            return true;
        line += strcspn(line, "\n");
        if (*line == '\n')
            line++;
    }
    return false;
}

static int
refused(const char *cmd, const struct birdc_reply *r, struct hx_view *v)
{
    snprintf(v->error, sizeof(v->error), "%.60s: BIRD refused: %04d %.120s", cmd, r->code,
             r->last);
    return -EPROTO;
}

int
bgp_read(const struct dconf_haproxy *h, struct hx_view *v)
{
    struct birdc_reply r;
    char cmd[200];
    bool up, found;
    int rc;

    v->nservers = h->nservers;
    v->proto_state[0] = '\0';
    for (int i = 0; i < h->nservers; i++) {
        v->obs[i].known = false;
        snprintf(v->obs[i].state, sizeof(v->obs[i].state), "unknown");
    }
    snprintf(cmd, sizeof(cmd), "show protocols \"%s\"", h->protocol);
    if ((rc = ask(h, cmd, &r, v)) < 0)
        return rc;
    found = birdc_ok(r.code) && protocol_state(r.text, h->protocol, v->proto_state,
                                               sizeof(v->proto_state));
    if (!found && r.code != 8003 && !birdc_ok(r.code)) {
        rc = refused(cmd, &r, v);
        birdc_reply_free(&r);
        return rc;
    }
    birdc_reply_free(&r);
    if (!found) {
        snprintf(v->error, sizeof(v->error), "BIRD has no protocol %s", h->protocol);
        snprintf(v->proto_state, sizeof(v->proto_state), "missing");
        return 1;
    }
    up = strcmp(v->proto_state, "up") == 0;
    for (int i = 0; i < h->nservers; i++) {
        struct hx_obs *o = &v->obs[i];
        bool present;
        snprintf(cmd, sizeof(cmd), "show route %s protocol %s", h->servers[i].server,
                 h->protocol);
        if ((rc = ask(h, cmd, &r, v)) < 0)
            return rc;
        /* 8001 Network not found: no route of the protocol for it. */
        if (!birdc_ok(r.code) && r.code != 8001) {
            rc = refused(cmd, &r, v);
            birdc_reply_free(&r);
            return rc;
        }
        present = birdc_ok(r.code) && has_route(r.text);
        birdc_reply_free(&r);
        o->known = true;
        memset(&o->row, 0, sizeof(o->row));
        snprintf(o->row.backend, sizeof(o->row.backend), "%s", h->protocol);
        snprintf(o->row.server, sizeof(o->row.server), "%s", h->servers[i].server);
        o->row.op_state = present ? 1 : 0;
        o->row.admin_state = strcmp(v->proto_state, "down") == 0 ? HX_ADMF_FMAINT : 0;
        snprintf(o->state, sizeof(o->state), "%s", present ? "announced" : "withdrawn");
    }
    v->error[0] = '\0';
    for (int i = 0; i < h->nservers && up; i++) {
        if (!v->obs[i].row.op_state) {
            snprintf(v->error, sizeof(v->error),
                     "%s is not a route of protocol %s, which is up (is it one of its routes?)",
                     h->servers[i].server, h->protocol);
            return 1;
        }
    }
    return 0;
}

static bool
protocol_down(const struct hx_view *v)
{
    return strcmp(v->proto_state, "down") == 0;
}

int
bgp_plan(const struct dconf_haproxy *h, const struct hx_view *v, int want, char cmd[200])
{
    if (v->proto_state[0] == '\0' || strcmp(v->proto_state, "missing") == 0)
        return 0;
    switch (want) {
    case HX_WANT_DRAIN:
    case HX_WANT_MAINT:
        if (protocol_down(v))
            return 0;
        snprintf(cmd, 200, "disable \"%s\"", h->protocol);
        return 1;
    case HX_WANT_READY:
        if (!protocol_down(v))
            return 0;
        snprintf(cmd, 200, "enable \"%s\"", h->protocol);
        return 1;
    default:
        return 0;
    }
}

bool
bgp_reached(const struct dconf_haproxy *h, const struct hx_view *v, int want)
{
    bool withdrawn = want == HX_WANT_DRAIN || want == HX_WANT_MAINT;

    if (want == HX_WANT_NONE)
        return true;
    if (protocol_down(v) != withdrawn || (!withdrawn && strcmp(v->proto_state, "up") != 0))
        return false;
    for (int i = 0; i < h->nservers; i++)
        if (!v->obs[i].known || (v->obs[i].row.op_state != 0) == withdrawn)
            return false;
    return true;
}

int
bgp_send(const struct dconf_haproxy *h, const char *cmd, char *result, size_t len)
{
    struct birdc_reply r;
    int rc = birdc_command(h->socket, h->timeout_ms, cmd, &r);
    const char *first;

    if (rc < 0) {
        snprintf(result, len, "BIRD socket %s: %s", h->socket, strerror(-rc));
        return rc;
    }
    if (!birdc_ok(r.code)) {
        snprintf(result, len, "BIRD refused: %04d %s", r.code, r.last);
        birdc_reply_free(&r);
        return 1;
    }
    /* "0009 anycast: disabled\n0000 \n": the first line says what happened. */
    first = r.text + 5;
    snprintf(result, len, "%.*s", (int)strcspn(first, "\n"), first);
    birdc_reply_free(&r);
    return 0;
}
