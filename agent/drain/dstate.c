/*
 * dstate.c - state file (atomic JSON) and audit log (JSON lines).
 */
#include "dstate.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "safefile.h"

/* {"controller","drain_id"} -> e; -EINVAL (e cleared) when not one. */
static int
episode_from(const cJSON *o, struct dstate_episode *e)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(o, "controller"),
                *d = cJSON_GetObjectItemCaseSensitive(o, "drain_id");

    memset(e, 0, sizeof(*e));
    if (!cJSON_IsString(c) || !name_valid(c->valuestring) || !cJSON_IsNumber(d) ||
        d->valuedouble < 0)
        return -EINVAL;
    snprintf(e->ctl, sizeof(e->ctl), "%s", c->valuestring);
    e->id = (uint64_t)d->valuedouble;
    return 0;
}

static const char *const names[] = {"serving", "draining", "drained"};

const char *
dstate_name(int state)
{
    return state >= 0 && state < (int)ARRAY_LEN(names) ? names[state] : "unknown";
}

int
dstate_parse(const char *s)
{
    for (size_t i = 0; i < ARRAY_LEN(names); i++)
        if (strcmp(names[i], s) == 0)
            return (int)i;
    return -1;
}

static const char *
jstr(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double
jnum(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* Reads and parses the state file into *root (NULL when it does not
 * exist).  Returns 0, -EPERM, -errno or -EINVAL with a reason in err. */
static int
read_root(const char *path, cJSON **root, char *err, size_t errlen)
{
    FILE *fp;
    char *buf = NULL;
    long len;
    int fd, rc = -EINVAL;

    *root = NULL;
    /* The file decides what HAProxy serves: one planted by another user
     * (or a link to one) must not be believed. */
    fd = safefile_open(path, O_RDONLY, 0, err, errlen);
    if (fd == -ENOENT)
        return 0;
    if (fd < 0)
        return fd;
    fp = fdopen(fd, "r");
    if (fp == NULL) {
        rc = -errno;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        close(fd);
        return rc;
    }
    if (fseek(fp, 0, SEEK_END) < 0 || (len = ftell(fp)) < 0 || len > (1 << 22) ||
        fseek(fp, 0, SEEK_SET) < 0) {
        snprintf(err, errlen, "cannot read (or larger than 4 MiB)");
        goto out;
    }
    buf = xcalloc(1, (size_t)len + 1);
    if (len > 0 && fread(buf, 1, (size_t)len, fp) != (size_t)len) {
        snprintf(err, errlen, "cannot read: %s", strerror(errno));
        goto out;
    }
    *root = cJSON_Parse(buf);
    if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(*root, "sites"))) {
        snprintf(err, errlen, "not an ember-drain state file (no \"sites\" array)");
        cJSON_Delete(*root);
        *root = NULL;
        goto out;
    }
    rc = 0;
out:
    free(buf);
    fclose(fp);
    return rc;
}

bool
dstate_episode_eq(const struct dstate_episode *e, const struct dstate_episode *f)
{
    return e->ctl[0] && e->id == f->id && strcmp(e->ctl, f->ctl) == 0;
}

bool
dstate_episode_in(const struct dstate_episode *e, const struct dstate_episode *list, int n)
{
    for (int i = 0; i < n; i++)
        if (dstate_episode_eq(e, &list[i]))
            return true;
    return false;
}

void
dstate_episode_add(struct dstate_episode *list, int *n, const struct dstate_episode *e)
{
    if (!e->ctl[0] || dstate_episode_in(e, list, *n))
        return;
    if (*n == DSTATE_MAX_UNDONE) {
        memmove(list, list + 1, (DSTATE_MAX_UNDONE - 1) * sizeof(*list));
        (*n)--;
    }
    list[(*n)++] = *e;
}

void *
dstate_episode_json(const struct dstate_episode *e)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddStringToObject(o, "controller", e->ctl);
    cJSON_AddNumberToObject(o, "drain_id", (double)e->id);
    return o;
}

int
dstate_episode_parse(const void *json, struct dstate_episode *e)
{
    return episode_from(json, e);
}

int
dstate_load(const char *path, struct dstate_site *sites, int max, int *n, char *err, size_t errlen)
{
    cJSON *root, *it, *e;
    int rc;

    *n = 0;
    if ((rc = read_root(path, &root, err, errlen)) < 0 || root == NULL)
        return rc;
    rc = -EINVAL;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(root, "sites"))
    {
        struct dstate_site *s;
        const char *name = jstr(it, "site"), *st = jstr(it, "state");
        if (name == NULL || !name_valid(name) || st == NULL || dstate_parse(st) < 0) {
            snprintf(err, errlen, "a site entry lacks a valid \"site\" or \"state\"");
            goto out;
        }
        if (*n == max)
            break;
        s = &sites[(*n)++];
        memset(s, 0, sizeof(*s));
        strcpy(s->name, name);
        s->state = dstate_parse(st);
        s->held = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "held"));
        s->since_ms = (int64_t)jnum(it, "since_ms");
        snprintf(s->cause, sizeof(s->cause), "%s", jstr(it, "cause") ? jstr(it, "cause") : "");
        snprintf(s->by, sizeof(s->by), "%s", jstr(it, "by") ? jstr(it, "by") : "");
        s->drain_id = (uint64_t)jnum(it, "drain_id");
        s->drain_start_ms = (int64_t)jnum(it, "drain_start_ms");
        s->hooks_done = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "hooks_done"));
        s->maint = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "maint"));
        episode_from(cJSON_GetObjectItemCaseSensitive(it, "episode"), &s->ep);
        cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(it, "undone"))
        {
            struct dstate_episode x;
            if (episode_from(e, &x) == 0)
                dstate_episode_add(s->undone, &s->nundone, &x);
        }
        if (jstr(it, "hold_origin") != NULL && name_valid(jstr(it, "hold_origin")))
            snprintf(s->hold_origin, sizeof(s->hold_origin), "%s", jstr(it, "hold_origin"));
    }
    rc = 0;
out:
    cJSON_Delete(root);
    return rc;
}

/* [{"addr", "ttl"}, ...] <-> struct dns_set */
static cJSON *
set_json(const struct dns_set *set)
{
    cJSON *arr = cJSON_CreateArray();

    for (int i = 0; i < set->n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "addr", set->r[i].addr);
        cJSON_AddNumberToObject(o, "ttl", set->r[i].ttl);
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

static int
json_set(const cJSON *arr, struct dns_set *set)
{
    const cJSON *it;
    char canon[DNSPLAN_ADDR];

    set->n = 0;
    if (arr == NULL)
        return 0;
    if (!cJSON_IsArray(arr))
        return -EINVAL;
    cJSON_ArrayForEach(it, arr)
    {
        const char *a = jstr(it, "addr");
        double ttl = jnum(it, "ttl");
        if (a == NULL || dnsplan_canon(a, canon) < 0 || ttl < 0 || ttl > 2147483647.0 ||
            dnsplan_add(set, canon, (uint32_t)ttl) < 0)
            return -EINVAL;
    }
    return 0;
}

int
dstate_load_dns(const char *path, struct dstate_dns *out, int max, int *n, char *err,
                size_t errlen)
{
    cJSON *root, *it;
    int rc;

    *n = 0;
    if ((rc = read_root(path, &root, err, errlen)) < 0 || root == NULL)
        return rc;
    rc = 0;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(root, "dns"))
    {
        const char *target = jstr(it, "target"), *name = jstr(it, "name"), *type = jstr(it, "type");
        struct dstate_dns *d;
        if (*n == max)
            break;
        d = &out[*n];
        memset(d, 0, sizeof(*d));
        if (target == NULL || !name_valid(target) || name == NULL ||
            strlen(name) >= sizeof(d->name) || type == NULL ||
            (strcmp(type, "A") != 0 && strcmp(type, "AAAA") != 0) ||
            json_set(cJSON_GetObjectItemCaseSensitive(it, "removed"), &d->j.removed) < 0 ||
            json_set(cJSON_GetObjectItemCaseSensitive(it, "added"), &d->j.added) < 0) {
            snprintf(err, errlen, "a \"dns\" entry lacks a valid target, name, type or records");
            rc = -EINVAL;
            break;
        }
        strcpy(d->target, target);
        strcpy(d->name, name);
        d->family = strcmp(type, "AAAA") == 0 ? 6 : 4;
        (*n)++;
    }
    cJSON_Delete(root);
    return rc;
}

int
dstate_save(const char *path, const struct dstate_site *sites, int n)
{
    return dstate_save_all(path, sites, n, NULL, 0);
}

int
dstate_save_all(const char *path, const struct dstate_site *sites, int n,
                const struct dstate_dns *dns, int ndns)
{
    cJSON *root = cJSON_CreateObject(), *arr;
    char *text, *tmp, *dircopy;
    size_t len, tlen = strlen(path) + 8;
    int fd, rc = 0;

    cJSON_AddNumberToObject(root, "version", 1);
    arr = cJSON_AddArrayToObject(root, "sites");
    for (int i = 0; i < n; i++) {
        const struct dstate_site *s = &sites[i];
        cJSON *o = cJSON_CreateObject();
        char ts[32];
        cJSON_AddStringToObject(o, "site", s->name);
        cJSON_AddStringToObject(o, "state", dstate_name(s->state));
        cJSON_AddBoolToObject(o, "held", s->held);
        cJSON_AddNumberToObject(o, "since_ms", (double)s->since_ms);
        fmt_rfc3339_ms(s->since_ms, ts, sizeof(ts));
        cJSON_AddStringToObject(o, "since", ts);
        cJSON_AddStringToObject(o, "cause", s->cause);
        cJSON_AddStringToObject(o, "by", s->by);
        cJSON_AddNumberToObject(o, "drain_id", (double)s->drain_id);
        cJSON_AddNumberToObject(o, "drain_start_ms", (double)s->drain_start_ms);
        cJSON_AddBoolToObject(o, "hooks_done", s->hooks_done);
        cJSON_AddBoolToObject(o, "maint", s->maint);
        if (s->ep.ctl[0])
            cJSON_AddItemToObject(o, "episode", dstate_episode_json(&s->ep));
        if (s->nundone > 0) {
            cJSON *u = cJSON_AddArrayToObject(o, "undone");
            for (int k = 0; k < s->nundone; k++)
                cJSON_AddItemToArray(u, dstate_episode_json(&s->undone[k]));
        }
        if (s->hold_origin[0])
            cJSON_AddStringToObject(o, "hold_origin", s->hold_origin);
        cJSON_AddItemToArray(arr, o);
    }
    /* Only journals with something to undo are kept. */
    arr = ndns > 0 ? cJSON_AddArrayToObject(root, "dns") : NULL;
    for (int i = 0; i < ndns; i++) {
        cJSON *o;
        if (dns[i].j.removed.n == 0 && dns[i].j.added.n == 0)
            continue;
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "target", dns[i].target);
        cJSON_AddStringToObject(o, "name", dns[i].name);
        cJSON_AddStringToObject(o, "type", dns[i].family == 6 ? "AAAA" : "A");
        cJSON_AddItemToObject(o, "removed", set_json(&dns[i].j.removed));
        cJSON_AddItemToObject(o, "added", set_json(&dns[i].j.added));
        cJSON_AddItemToArray(arr, o);
    }
    text = cJSON_Print(root);
    cJSON_Delete(root);
    if (text == NULL)
        return -ENOMEM;
    len = strlen(text);
    tmp = xcalloc(1, tlen);
    /* A fresh name, created exclusively: a fixed one could be planted as a
     * link by another user of the directory.  rename() then replaces the
     * path itself, never what a link there points at. */
    snprintf(tmp, tlen, "%s.XXXXXX", path);
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0 || fchmod(fd, 0640) < 0) {
        rc = -errno;
        if (fd >= 0) {
            close(fd);
            unlink(tmp);
        }
        goto out;
    }
    if (write(fd, text, len) != (ssize_t)len || write(fd, "\n", 1) != 1 || fsync(fd) < 0) {
        rc = errno ? -errno : -EIO;
        close(fd);
        unlink(tmp);
        goto out;
    }
    close(fd);
    if (rename(tmp, path) < 0) {
        rc = -errno;
        unlink(tmp);
        goto out;
    }
    /* Make the rename itself durable. */
    dircopy = xstrdup(path);
    fd = open(dirname(dircopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dircopy);
out:
    free(tmp);
    free(text);
    return rc;
}

struct audit {
    int fd;
    int64_t last_warn_ms;
};

int
audit_open(struct audit **out, const char *path, char *err, size_t errlen)
{
    struct audit *a;
    int fd = safefile_open(path, O_WRONLY | O_CREAT | O_APPEND, 0640, err, errlen);

    if (fd < 0)
        return fd;
    a = xcalloc(1, sizeof(*a));
    a->fd = fd;
    *out = a;
    return 0;
}

int
audit_reopen(struct audit *a, const char *path, char *err, size_t errlen)
{
    int fd = safefile_open(path, O_WRONLY | O_CREAT | O_APPEND, 0640, err, errlen);

    if (fd < 0)
        return fd;
    close(a->fd);
    a->fd = fd;
    return 0;
}

void
audit_close(struct audit *a)
{
    if (a == NULL)
        return;
    close(a->fd);
    free(a);
}

void
audit_event(struct audit *a, const char *site, const char *event, void *fields)
{
    cJSON *o = cJSON_CreateObject(), *f = fields, *it;
    char ts[32], *line;
    size_t len;

    fmt_rfc3339_ms(real_ms(), ts, sizeof(ts));
    cJSON_AddStringToObject(o, "ts", ts);
    if (site != NULL)
        cJSON_AddStringToObject(o, "site", site);
    cJSON_AddStringToObject(o, "event", event);
    if (f != NULL) {
        while ((it = f->child) != NULL) {
            cJSON_DetachItemViaPointer(f, it);
            cJSON_AddItemToObject(o, it->string, it);
        }
        cJSON_Delete(f);
    }
    line = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (line == NULL || a == NULL) {
        free(line);
        return;
    }
    len = strlen(line);
    line[len] = '\n'; /* replaces the NUL; written as one append */
    if (write(a->fd, line, len + 1) != (ssize_t)(len + 1)) {
        int64_t now = mono_ms();
        if (a->last_warn_ms == 0 || now - a->last_warn_ms > 60000) {
            log_warn("audit log: write failed");
            a->last_warn_ms = now;
        }
    }
    free(line);
}
