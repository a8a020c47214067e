/*
 * hook.c - drain hooks: which program runs for which site and action, with
 * which EMBER_* variables, and what happens to a run a newer action
 * supersedes.  Running the program (its tree, timeout, retries, output) is
 * agent/lib/proc.c's.
 */
#include "hook.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "proc.h"
#include "util.h"

#define RETRY_DELAY_MS 1000
#define KILL_GRACE_MS 1000
#define MAX_ARGS 32
/* Output lines logged per second per run; the rest are counted. */
#define MAX_LINES_PER_S 100

struct run_req {
    bool set;
    int site;
    char action[16];
    uint64_t id;
    char **env;
};

struct slot {
    struct hooks *hooks;
    int hook;
    char name[NAME_MAX_LEN + 8]; /* "hook NAME" */
    struct proc *run;            /* NULL when not running */
    bool cancelled;              /* superseded by `next` */
    struct run_req cur;
    struct run_req next; /* queued behind a cancelled run */
};

struct hooks {
    const struct dconf *conf;
    struct procs *procs;
    hook_done_fn done;
    void *arg;
    struct slot slots[DCONF_MAX_HOOKS];
};

static void
req_clear(struct run_req *r)
{
    strv_free(r->env);
    memset(r, 0, sizeof(*r));
}

void
hooks_status_str(int status, char *buf, size_t len)
{
    proc_status_str(status, 0, buf, len);
}

/* Replaces ${EMBER_NAME} in one argument with the value the hook's
 * environment gives it (empty when unset).  Returns tok itself when there is
 * nothing to replace, else a malloc'd string remembered in owned[]. */
static char *
expand(char *tok, char *const *env, char **owned, int *nowned)
{
    size_t cap = strlen(tok) + 1, len = 0;
    char *out;
    const char *p = tok;

    if (strstr(tok, "${") == NULL)
        return tok;
    out = xcalloc(1, cap);
    while (*p) {
        const char *end;
        if (p[0] == '$' && p[1] == '{' && (end = strchr(p + 2, '}')) != NULL) {
            size_t n = (size_t)(end - p - 2);
            const char *val = "";
            for (size_t i = 0; env != NULL && env[i] != NULL; i++)
                if (strncmp(env[i], p + 2, n) == 0 && env[i][n] == '=')
                    val = env[i] + n + 1;
            cap += strlen(val);
            out = realloc(out, cap);
            if (out == NULL)
                abort();
            memcpy(out + len, val, strlen(val));
            len += strlen(val);
            p = end + 1;
            continue;
        }
        out[len++] = *p++;
    }
    out[len] = '\0';
    owned[(*nowned)++] = out;
    return out;
}

static void on_done(void *arg, const struct proc_result *res);

/* Starts s->cur; when it cannot start, reports that at once. */
static void
start_or_report(struct slot *s)
{
    const struct dconf_hook *hc = &s->hooks->conf->hooks[s->hook];
    char *argv[MAX_ARGS + 2];
    char *expanded[MAX_ARGS + 1];
    char *args = hc->args ? xstrdup(hc->args) : NULL, *save = NULL;
    int argc = 0, nexp = 0, rc;
    struct proc_spec spec = {
        .name = s->name,
        .argv = argv,
        .env = s->cur.env,
        .timeout_ms = hc->timeout_ms,
        .retries = hc->retries,
        .retry_delay_ms = RETRY_DELAY_MS,
        .kill_grace_ms = KILL_GRACE_MS,
        .max_lines_per_s = MAX_LINES_PER_S,
        .done = on_done,
        .arg = s,
    };

    argv[argc++] = hc->exec;
    for (char *t = args ? strtok_r(args, " \t", &save) : NULL; t != NULL && argc < MAX_ARGS + 1;
         t = strtok_r(NULL, " \t", &save))
        argv[argc++] = expand(t, s->cur.env, expanded, &nexp);
    argv[argc] = NULL;
    log_info("hook %s: %s for site %s", hc->name, s->cur.action,
             s->hooks->conf->sites[s->cur.site].name);
    rc = proc_start(s->hooks->procs, &spec, &s->run);
    free(args);
    for (int i = 0; i < nexp; i++)
        free(expanded[i]);
    if (rc < 0) {
        struct run_req r = s->cur;
        s->run = NULL;
        log_errx("hook %s: cannot start %s: %s", hc->name, hc->exec, strerror(-rc));
        memset(&s->cur, 0, sizeof(s->cur));
        s->hooks->done(s->hooks->arg, s->hook, r.site, r.action, r.id, rc);
        strv_free(r.env);
    }
}

/* The run is over, after its retries: report it, or start the queued one. */
static void
on_done(void *arg, const struct proc_result *res)
{
    struct slot *s = arg;
    const struct dconf_hook *hc = &s->hooks->conf->hooks[s->hook];
    struct run_req r;
    char what[64];

    s->run = NULL;
    hooks_status_str(res->status, what, sizeof(what));
    if (s->cancelled) {
        log_info("hook %s: %s run superseded (%s)", hc->name, s->cur.action, what);
        s->cancelled = false;
        req_clear(&s->cur);
        if (s->next.set) {
            s->cur = s->next;
            memset(&s->next, 0, sizeof(s->next));
            start_or_report(s);
        }
        return;
    }
    if (res->status == 0)
        log_info("hook %s: %s done", hc->name, s->cur.action);
    else
        log_errx("hook %s: %s failed: %s", hc->name, s->cur.action, what);
    r = s->cur;
    memset(&s->cur, 0, sizeof(s->cur));
    s->hooks->done(s->hooks->arg, s->hook, r.site, r.action, r.id, res->status);
    strv_free(r.env);
}

int
hooks_init(struct hooks **out, const struct dconf *c, struct loop *l, hook_done_fn done, void *arg)
{
    struct hooks *h = xcalloc(1, sizeof(*h));
    int rc;

    if ((rc = procs_init(&h->procs, l)) < 0) {
        free(h);
        return rc;
    }
    h->conf = c;
    h->done = done;
    h->arg = arg;
    for (int i = 0; i < DCONF_MAX_HOOKS; i++) {
        h->slots[i].hooks = h;
        h->slots[i].hook = i;
        if (i < c->nhooks)
            snprintf(h->slots[i].name, sizeof(h->slots[i].name), "hook %s", c->hooks[i].name);
    }
    *out = h;
    return 0;
}

int
hooks_run(struct hooks *h, int hook, int site, const char *action, uint64_t id, char *const *env)
{
    struct slot *s = &h->slots[hook];
    struct run_req r = {.set = true, .site = site, .id = id};

    snprintf(r.action, sizeof(r.action), "%s", action);
    r.env = strv_dup(env);
    if (s->run != NULL) {
        /* Running or waiting to retry: it ends first, then this one starts. */
        req_clear(&s->next);
        s->next = r;
        if (!s->cancelled)
            log_info("hook %s: terminating the running %s run for a new %s run",
                     h->conf->hooks[hook].name, s->cur.action, action);
        s->cancelled = true;
        proc_stop(s->run);
        return 0;
    }
    s->cur = r;
    start_or_report(s);
    return 0;
}

bool
hooks_running(const struct hooks *h, int hook)
{
    const struct slot *s = &h->slots[hook];
    return s->run != NULL || s->next.set;
}

void
hooks_fini(struct hooks *h)
{
    if (h == NULL)
        return;
    procs_fini(h->procs);
    for (int i = 0; i < DCONF_MAX_HOOKS; i++) {
        req_clear(&h->slots[i].cur);
        req_clear(&h->slots[i].next);
    }
    free(h);
}
