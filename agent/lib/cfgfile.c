/*
 * cfgfile.c - inih wrapper that tracks line numbers and collects errors.
 */
#include "cfgfile.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CFG_MAX_SIZE (4 * 1024 * 1024)

struct reader {
    FILE *fp;
    struct cfgfile *cf;
    int *first; /* line of each cf->singletons[i] header seen, 0: none yet */
};

void
cfgerr_vadd(struct cfgerr *err, const char *path, int line, const char *fmt, va_list ap)
{
    char msg[768];
    char head[300];
    size_t add;
    char *p;

    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (line > 0)
        snprintf(head, sizeof(head), "%s:%d: ", path, line);
    else
        snprintf(head, sizeof(head), "%s: ", path);
    add = strlen(head) + strlen(msg) + 1;
    p = realloc(err->text, err->len + add + 1);
    if (p == NULL)
        return;
    err->text = p;
    snprintf(err->text + err->len, add + 1, "%s%s\n", head, msg);
    err->len += add;
    err->count++;
}

void
cfgerr_add(struct cfgerr *err, const char *path, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cfgerr_vadd(err, path, line, fmt, ap);
    va_end(ap);
}

void
cfgerr_free(struct cfgerr *err)
{
    free(err->text);
    err->text = NULL;
    err->len = 0;
    err->count = 0;
}

void
cfgerr_first(const struct cfgerr *err, char *buf, size_t len)
{
    const char *t = err->text != NULL ? err->text : "";
    size_t n = strcspn(t, "\n");
    char cut[48];
    size_t room;

    if (len == 0)
        return;
    if (n < len) {
        snprintf(buf, len, "%.*s", (int)n, t);
        return;
    }
    /* Too long for buf: as much as fits, and say where it was cut. */
    snprintf(cut, sizeof(cut), " [cut at %zu of %zu bytes]", len, n);
    room = len > strlen(cut) ? len - strlen(cut) - 1 : 0;
    snprintf(buf, len, "%.*s%s", (int)room, t, cut);
}

void
cfgfile_error(struct cfgfile *cf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cfgerr_vadd(cf->err, cf->path, cf->line, fmt, ap);
    va_end(ap);
}

/* A header of a section that may appear once: a second one would silently
 * override the first key by key, so it is an error naming both lines. */
static void
singleton_seen(struct reader *r, const char *name, size_t len)
{
    const char *const *one = r->cf->singletons;

    for (int i = 0; one != NULL && one[i] != NULL; i++) {
        if (strlen(one[i]) != len || strncmp(one[i], name, len) != 0)
            continue;
        if (r->first[i] == 0)
            r->first[i] = r->cf->line;
        else
            cfgerr_add(r->cf->err, r->cf->path, r->cf->line,
                       "[%s] appears a second time (first at line %d); its keys would silently "
                       "override the first one's: make it one section",
                       one[i], r->first[i]);
    }
}

/*
 * Line reader for ini_parse_stream().  It strips leading blanks, because inih
 * would otherwise take an indented line as the continuation of the previous
 * value, and it rejects lines that do not fit inih's buffer.
 */
static char *
read_line(char *str, int num, void *stream)
{
    struct reader *r = stream;
    size_t n, skip;

    for (;;) {
        if (fgets(str, num, r->fp) == NULL)
            return NULL;
        r->cf->line++;
        n = strlen(str);
        if (n == (size_t)num - 1 && str[n - 1] != '\n' && !feof(r->fp)) {
            int c;
            cfgerr_add(r->cf->err, r->cf->path, r->cf->line, "line longer than %d characters",
                       num - 2);
            while ((c = fgetc(r->fp)) != EOF && c != '\n')
                ;
            str[0] = '\n';
            str[1] = '\0';
            return str;
        }
        /* A UTF-8 byte order mark, as some Windows editors write one: inih
         * would skip it, but only after our checks below took the first
         * header for a syntax error. */
        if (r->cf->line == 1 && strncmp(str, "\xEF\xBB\xBF", 3) == 0) {
            memmove(str, str + 3, n - 3 + 1);
            n -= 3;
        }
        skip = strspn(str, " \t");
        if (skip > 0)
            memmove(str, str + skip, n - skip + 1);
        if (str[0] == '[') {
            r->cf->section_line = r->cf->line;
            if (strchr(str, ']') == NULL)
                goto syntax;
            singleton_seen(r, str + 1, (size_t)(strchr(str, ']') - str - 1));
        } else if (str[0] != '\0' && str[0] != '\n' && str[0] != '\r' && str[0] != '#' &&
                   str[0] != ';' && strpbrk(str, "=:") == NULL) {
            goto syntax;
        }
        return str;
    syntax:
        /* inih reports only its first syntax error; we report each one and
         * hand inih an empty line instead. */
        cfgerr_add(r->cf->err, r->cf->path, r->cf->line,
                   "syntax error (expected [section] or key = value)");
        str[0] = '\n';
        str[1] = '\0';
        return str;
    }
}

static int
on_key(void *user, const char *section, const char *name, const char *value)
{
    struct cfgfile *cf = user;
    cf->key(cf, section, name, value);
    return 1;
}

int
cfgfile_parse(struct cfgfile *cf)
{
    struct reader r = {.cf = cf};
    int rc;

    struct stat st;
    size_t nsingle = 0;
    int fd;

    cf->line = 0;
    cf->section_line = 0;
    /* A device or FIFO named by mistake (/dev/zero, a tty, a pipe) would
     * block or never end: only regular files of sane size are
     * configuration.  Non-blocking, so even the open of a FIFO with no
     * writer returns (as ExecStartPre, `-n` must fail, not hang). */
    fd = open(cf->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int e = errno;
        cfgerr_add(cf->err, cf->path, 0, "cannot open: %s", strerror(e));
        return -e;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        cfgerr_add(cf->err, cf->path, 0,
                   "not a regular file (a FIFO or device cannot be a configuration file)");
        close(fd);
        return -EINVAL;
    }
    if (st.st_size > CFG_MAX_SIZE) {
        cfgerr_add(cf->err, cf->path, 0, "larger than %d bytes", CFG_MAX_SIZE);
        close(fd);
        return -EINVAL;
    }
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0 ||
        (r.fp = fdopen(fd, "r")) == NULL) {
        int e = errno;
        cfgerr_add(cf->err, cf->path, 0, "cannot open: %s", strerror(e));
        close(fd);
        return -e;
    }
    while (cf->singletons != NULL && cf->singletons[nsingle] != NULL)
        nsingle++;
    r.first = xcalloc(nsingle + 1, sizeof(*r.first));
    rc = ini_parse_stream(read_line, &r, on_key, cf);
    free(r.first);
    fclose(r.fp);
    if (rc > 0) {
        /* Our handler never fails, so this is inih's own syntax error. */
        cfgerr_add(cf->err, cf->path, rc, "syntax error (expected [section] or key = value)");
    } else if (rc < 0) {
        cfgerr_add(cf->err, cf->path, 0, "out of memory while parsing");
        return -ENOMEM;
    }
    return 0;
}

struct one_key {
    const char *section;
    const struct cfg_directive *d;
    void *target;
    int found;
};

static void
one_key(struct cfgfile *cf, const char *section, const char *name, const char *value)
{
    struct one_key *k = cf->user;

    if (strcmp(section, k->section) != 0 || strcmp(name, k->d->key) != 0)
        return;
    if (cfgfile_apply(cf, section, k->d, 1, k->target, name, value) == 0)
        k->found = 1;
}

int
cfgfile_read_key(const char *path, const char *section, const struct cfg_directive *d,
                 void *target, struct cfgerr *err)
{
    struct one_key k = {.section = section, .d = d, .target = target};
    struct cfgfile cf = {.path = path, .err = err, .key = one_key, .user = &k};
    int before = err->count, rc;

    if ((rc = cfgfile_parse(&cf)) < 0)
        return rc;
    if (err->count > before)
        return -EINVAL;
    return k.found;
}

int
cfgfile_split_section(const char *section, char *buf, size_t len, const char **kind,
                      const char **name)
{
    char *sp;

    if (strlen(section) >= len)
        return -EINVAL;
    strcpy(buf, section);
    *kind = buf;
    sp = strpbrk(buf, " \t");
    if (sp == NULL) {
        *name = NULL;
        return -EINVAL;
    }
    *sp++ = '\0';
    while (*sp == ' ' || *sp == '\t')
        sp++;
    *name = sp;
    return *sp ? 0 : -EINVAL;
}

int
cfgfile_named_section(struct cfgfile *cf, const char *section, char *buf, size_t len,
                      const char **kind, const char **name)
{
    if (cfgfile_split_section(section, buf, len, kind, name) < 0)
        return -EINVAL;
    if (!name_valid(*name)) {
        cfgfile_error(cf, "[%s]: name '%s' must be 1-%d characters of A-Z a-z 0-9 _ . -", section,
                      *name, NAME_MAX_LEN);
        return -EDOM;
    }
    return 0;
}

int
cfgfile_load(struct cfgfile *cf, void (*validate)(void *user, struct cfgerr *err))
{
    int before = cf->err->count;
    int rc = cfgfile_parse(cf);

    if (rc == 0 && validate != NULL)
        validate(cf->user, cf->err);
    if (rc < 0)
        return rc;
    return cf->err->count > before ? -EINVAL : 0;
}

static int *
item_line(const struct cfg_sections *sa, char *item)
{
    return (int *)(void *)(item + sa->line_off);
}

void *
cfgfile_section_item(struct cfgfile *cf, const char *section, const struct cfg_sections *sa,
                     const char *name)
{
    char *item;
    int i;

    if (*sa->n > 0) {
        item = (char *)*sa->base + (size_t)(*sa->n - 1) * sa->size;
        if (*item_line(sa, item) == cf->section_line && strcmp(item, name) == 0)
            return item;
    }
    i = cfgfile_item_find(*sa->base, *sa->n, sa->size, name);
    if (i >= 0) {
        item = (char *)*sa->base + (size_t)i * sa->size;
        if (*item_line(sa, item) != cf->section_line) {
            cfgfile_error(cf, "[%s] defined twice (first at line %d)", section,
                          *item_line(sa, item));
            return NULL;
        }
        return item;
    }
    if (sa->max > 0 && *sa->n == sa->max) {
        cfgfile_error(cf, "[%s]: too many sections of this kind (max %d)", section, sa->max);
        return NULL;
    }
    if (sa->cap != NULL && *sa->n == *sa->cap) {
        int cap = *sa->cap ? 2 * *sa->cap : 16;
        void *grown = realloc(*sa->base, (size_t)cap * sa->size);
        if (grown == NULL)
            abort(); /* as xcalloc does */
        *sa->base = grown;
        memset((char *)*sa->base + (size_t)*sa->cap * sa->size, 0,
               (size_t)(cap - *sa->cap) * sa->size);
        *sa->cap = cap;
    }
    item = (char *)*sa->base + (size_t)(*sa->n)++ * sa->size;
    strcpy(item, name);
    *item_line(sa, item) = cf->section_line;
    if (sa->table != NULL)
        cfgfile_defaults(cf->path, sa->table, sa->ntable, item, cf->err);
    return item;
}

int
cfgfile_item_find(const void *base, int n, size_t size, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp((const char *)base + (size_t)i * size, name) == 0)
            return i;
    return -1;
}

static int
enum_index(const char *const *names, const char *s)
{
    for (int i = 0; names[i] != NULL; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}

static void
enum_list(const char *const *names, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; names[i] != NULL && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", names[i]);
}

int
cfgfile_apply(struct cfgfile *cf, const char *section, const struct cfg_directive *table,
              size_t n, void *target, const char *key, const char *value)
{
    const struct cfg_directive *d = NULL;
    char *field;
    char list[256], lo[32], hi[32];

    for (size_t i = 0; i < n; i++) {
        if (strcmp(table[i].key, key) == 0) {
            d = &table[i];
            break;
        }
    }
    if (d == NULL)
        return 1;
    field = (char *)target + d->offset;

    switch (d->type) {
    case CFG_NAME:
        if (!name_valid(value)) {
            cfgfile_error(cf, "[%s] %s: '%s' must be 1-%d characters of A-Z a-z 0-9 _ . -",
                          section, key, value, NAME_MAX_LEN);
            return -EINVAL;
        }
        strcpy(field, value);
        return 0;
    case CFG_STR:
    case CFG_PATH: {
        char **p = (char **)(void *)field;
        char *s;
        if (value[0] == '\0') {
            cfgfile_error(cf, "[%s] %s: empty value", section, key);
            return -EINVAL;
        }
        s = d->type == CFG_PATH ? path_relative_to(cf->path, value) : strdup(value);
        if (s == NULL)
            abort();
        free(*p);
        *p = s;
        return 0;
    }
    case CFG_INT: {
        long v;
        int rc = parse_long(value, (long)d->min, (long)d->max, &v);
        if (rc < 0) {
            if (rc == -ERANGE)
                cfgfile_error(cf, "[%s] %s: %s is out of range (%lld..%lld)", section, key, value,
                              d->min, d->max);
            else
                cfgfile_error(cf, "[%s] %s: '%s' is not an integer", section, key, value);
            return -EINVAL;
        }
        *(int *)(void *)field = (int)v;
        return 0;
    }
    case CFG_DUR: {
        int64_t v;
        if (parse_duration_ms(value, &v) < 0) {
            cfgfile_error(cf, "[%s] %s: '%s' is not a duration (e.g. 250ms, 1s, 2.5s, 5m)",
                          section, key, value);
            return -EINVAL;
        }
        if (v < d->min || v > d->max) {
            fmt_duration_ms(d->min, lo, sizeof(lo));
            fmt_duration_ms(d->max, hi, sizeof(hi));
            cfgfile_error(cf, "[%s] %s: %s is out of range (%s..%s)", section, key, value, lo, hi);
            return -EINVAL;
        }
        *(int64_t *)(void *)field = v;
        return 0;
    }
    case CFG_BOOL:
        if (parse_bool(value, (bool *)(void *)field) < 0) {
            cfgfile_error(cf, "[%s] %s: '%s' is not yes/no", section, key, value);
            return -EINVAL;
        }
        return 0;
    case CFG_ENUM: {
        int i = enum_index(d->names, value);
        if (i < 0) {
            enum_list(d->names, list, sizeof(list));
            cfgfile_error(cf, "[%s] %s: '%s' is not one of: %s", section, key, value, list);
            return -EINVAL;
        }
        *(int *)(void *)field = i;
        return 0;
    }
    case CFG_MODE: {
        char *end;
        long v;
        errno = 0;
        v = strtol(value, &end, 8);
        if (value[0] == '\0' || *end != '\0' || errno != 0 || v < d->min || v > d->max) {
            cfgfile_error(cf, "[%s] %s: '%s' is not an octal file mode (e.g. 0660)", section, key,
                          value);
            return -EINVAL;
        }
        *(int *)(void *)field = (int)v;
        return 0;
    }
    case CFG_FLOAT: {
        double v;
        if (parse_double(value, &v) < 0) {
            cfgfile_error(cf, "[%s] %s: '%s' is not a number", section, key, value);
            return -EINVAL;
        }
        if ((d->min != 0 || d->max != 0) && (v < (double)d->min || v > (double)d->max)) {
            cfgfile_error(cf, "[%s] %s: %s is out of range (%lld..%lld)", section, key, value,
                          d->min, d->max);
            return -EINVAL;
        }
        *(double *)(void *)field = v;
        return 0;
    }
    }
    return 1;
}

int
cfgfile_defaults(const char *path, const struct cfg_directive *table, size_t n, void *target,
                 struct cfgerr *err)
{
    struct cfgfile cf = {.path = path, .err = err};
    int rc = 0;

    for (size_t i = 0; i < n; i++) {
        if (table[i].def == NULL)
            continue;
        if (cfgfile_apply(&cf, "default", table, n, target, table[i].key, table[i].def) != 0)
            rc = -EINVAL;
    }
    return rc;
}

int
cfgfile_field_equal(const struct cfg_directive *d, const void *a, const void *b)
{
    const char *fa = (const char *)a + d->offset, *fb = (const char *)b + d->offset;

    switch (d->type) {
    case CFG_NAME:
        return strcmp(fa, fb) == 0;
    case CFG_STR:
    case CFG_PATH: {
        const char *sa = *(char *const *)(const void *)fa, *sb = *(char *const *)(const void *)fb;
        return (sa == NULL && sb == NULL) || (sa != NULL && sb != NULL && strcmp(sa, sb) == 0);
    }
    case CFG_INT:
    case CFG_ENUM:
    case CFG_MODE:
        return *(const int *)(const void *)fa == *(const int *)(const void *)fb;
    case CFG_DUR:
        return *(const int64_t *)(const void *)fa == *(const int64_t *)(const void *)fb;
    case CFG_BOOL:
        return *(const bool *)(const void *)fa == *(const bool *)(const void *)fb;
    case CFG_FLOAT:
        return memcmp(fa, fb, sizeof(double)) == 0;
    }
    return 0;
}

const char *
cfgfile_restart_key(const struct cfg_directive *table, size_t n, const void *a, const void *b)
{
    for (size_t i = 0; i < n; i++)
        if (table[i].reload == CFG_RESTART && !cfgfile_field_equal(&table[i], a, b))
            return table[i].key;
    return NULL;
}

void
cfgfile_free_strings(const struct cfg_directive *table, size_t n, void *target)
{
    for (size_t i = 0; i < n; i++) {
        if (table[i].type != CFG_STR && table[i].type != CFG_PATH)
            continue;
        char **p = (char **)(void *)((char *)target + table[i].offset);
        free(*p);
        *p = NULL;
    }
}
