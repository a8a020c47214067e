/*
 * profile.c - device profile loader, point codec and read planner.
 */
#include "profile.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#ifndef EMBER_DATADIR
#define EMBER_DATADIR "/usr/local/share/emberwatch"
#endif

#define MAX_POINTS 256

/* Profiles loaded by reference and still held.  A configuration names one
 * profile for many devices (hundreds at scale); they share one copy. */
static struct profile *shared;

struct load_ctx {
    struct profile *p;
    struct point *cur;
    bool in_profile;
    unsigned seen; /* bitmask of keys set in the current point */
};

enum { SEEN_TABLE = 1, SEEN_ADDRESS = 2, SEEN_TYPE = 4, SEEN_DECIMALS = 8 };

const char *
mb_table_name(enum mb_table t)
{
    static const char *names[] = {"coil", "discrete", "holding", "input"};
    return names[t];
}

static int
lookup(const char *s, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0)
            return (int)i;
    return -1;
}

/* Accepts a number or "1/N" (handy for the APC maps' powers of two). */
static int
parse_scale(const char *s, double *out)
{
    const char *slash = strchr(s, '/');
    double num, den;
    char buf[64];

    if (slash == NULL)
        return parse_double(s, out);
    if ((size_t)(slash - s) >= sizeof(buf))
        return -EINVAL;
    memcpy(buf, s, (size_t)(slash - s));
    buf[slash - s] = '\0';
    if (parse_double(buf, &num) < 0 || parse_double(slash + 1, &den) < 0 || den == 0)
        return -EINVAL;
    *out = num / den;
    return isfinite(*out) ? 0 : -ERANGE;
}

static int
default_decimals(double scale)
{
    double a = fabs(scale);
    int d;

    if (a >= 1 || a == 0)
        return 0;
    d = (int)ceil(-log10(a) - 1e-9);
    return d > 6 ? 6 : d;
}

static void
finish_point(struct cfgfile *cf, struct load_ctx *c)
{
    struct point *pt = c->cur;

    if (pt == NULL)
        return;
    if (!(c->seen & SEEN_TABLE))
        cfgerr_add(cf->err, cf->path, pt->line, "[point %s]: missing key 'table'", pt->name);
    if (!(c->seen & SEEN_ADDRESS))
        cfgerr_add(cf->err, cf->path, pt->line, "[point %s]: missing key 'address'", pt->name);
    if ((pt->table == MB_COIL || pt->table == MB_DISCRETE) && pt->type != PT_BOOL) {
        if (c->seen & SEEN_TYPE)
            cfgerr_add(cf->err, cf->path, pt->line,
                       "[point %s]: coil/discrete points must have type = bool", pt->name);
        pt->type = PT_BOOL;
    }
    if (pt->bit >= 0 && (pt->type == PT_FLOAT32 || pt->type == PT_BOOL))
        cfgerr_add(cf->err, cf->path, pt->line, "[point %s]: bit needs an integer type",
                   pt->name);
    else if (pt->bit >= 16 && pt->type != PT_INT32 && pt->type != PT_UINT32)
        cfgerr_add(cf->err, cf->path, pt->line, "[point %s]: bit %d needs a 32-bit type",
                   pt->name, pt->bit);
    if ((int)pt->address + point_width(pt) > 65536)
        cfgerr_add(cf->err, cf->path, pt->line, "[point %s]: register range passes 0xFFFF",
                   pt->name);
    if (!(c->seen & SEEN_DECIMALS))
        pt->decimals = pt->bit >= 0 || pt->type == PT_BOOL ? 0 : default_decimals(pt->scale);
    c->cur = NULL;
}

static void
point_key(struct cfgfile *cf, struct load_ctx *c, const char *name, const char *value)
{
    static const char *const tables[] = {"coil", "discrete", "holding", "input"};
    static const char *const types[] = {"int16", "uint16", "int32", "uint32", "float32", "bool"};
    static const char *const orders[] = {"abcd", "cdab"};
    struct point *pt = c->cur;
    long l;
    int i;

    if (strcmp(name, "table") == 0) {
        if ((i = lookup(value, tables, ARRAY_LEN(tables))) < 0)
            cfgfile_error(cf, "table: '%s' is not one of coil, discrete, holding, input", value);
        else
            pt->table = (enum mb_table)i;
        c->seen |= SEEN_TABLE;
    } else if (strcmp(name, "address") == 0) {
        if (parse_long(value, 0, 65535, &l) < 0)
            cfgfile_error(cf, "address: '%s' is not a register address 0..65535", value);
        else
            pt->address = (uint16_t)l;
        c->seen |= SEEN_ADDRESS;
    } else if (strcmp(name, "type") == 0) {
        if ((i = lookup(value, types, ARRAY_LEN(types))) < 0)
            cfgfile_error(cf, "type: '%s' is not one of int16, uint16, int32, uint32, float32, bool",
                          value);
        else
            pt->type = (enum point_type)i;
        c->seen |= SEEN_TYPE;
    } else if (strcmp(name, "order") == 0) {
        if ((i = lookup(value, orders, ARRAY_LEN(orders))) < 0)
            cfgfile_error(cf, "order: '%s' is not abcd or cdab", value);
        else
            pt->order = (enum word_order)i;
    } else if (strcmp(name, "bit") == 0) {
        if (parse_long(value, 0, 31, &l) < 0)
            cfgfile_error(cf, "bit: '%s' is not 0..31", value);
        else
            pt->bit = (int)l;
    } else if (strcmp(name, "scale") == 0) {
        /* Bounded so that raw * scale + offset stays finite for any raw. */
        if (parse_scale(value, &pt->scale) < 0 || pt->scale == 0 || fabs(pt->scale) > 1e12 ||
            fabs(pt->scale) < 1e-12)
            cfgfile_error(cf, "scale: '%s' is not a non-zero number or 1/N within 1e-12..1e12",
                          value);
    } else if (strcmp(name, "offset") == 0) {
        if (parse_double(value, &pt->offset) < 0 || fabs(pt->offset) > 1e12)
            cfgfile_error(cf, "offset: '%s' is not a number within +-1e12", value);
    } else if (strcmp(name, "invalid") == 0) {
        if (parse_long(value, 0, 0xFFFFFFFFL, &l) < 0)
            cfgfile_error(cf, "invalid: '%s' is not a raw value", value);
        else {
            pt->has_invalid = true;
            pt->invalid = (uint32_t)l;
        }
    } else if (strcmp(name, "min") == 0) {
        if (parse_double(value, &pt->min) < 0)
            cfgfile_error(cf, "min: '%s' is not a number", value);
        pt->has_min = true;
    } else if (strcmp(name, "max") == 0) {
        if (parse_double(value, &pt->max) < 0)
            cfgfile_error(cf, "max: '%s' is not a number", value);
        pt->has_max = true;
    } else if (strcmp(name, "initial") == 0) {
        if (parse_double(value, &pt->initial) < 0)
            cfgfile_error(cf, "initial: '%s' is not a number", value);
    } else if (strcmp(name, "decimals") == 0) {
        if (parse_long(value, 0, 6, &l) < 0)
            cfgfile_error(cf, "decimals: '%s' is not 0..6", value);
        else
            pt->decimals = (int)l;
        c->seen |= SEEN_DECIMALS;
    } else if (strcmp(name, "unit") == 0) {
        if (strlen(value) >= sizeof(pt->unit))
            cfgfile_error(cf, "unit: longer than %zu characters", sizeof(pt->unit) - 1);
        else
            strcpy(pt->unit, value);
    } else if (strcmp(name, "description") == 0) {
        snprintf(pt->description, sizeof(pt->description), "%s", value);
    } else {
        cfgfile_error(cf, "[point %s]: unknown key '%s'", pt->name, name);
    }
}

static void
on_key(struct cfgfile *cf, const char *section, const char *name, const char *value)
{
    struct load_ctx *c = cf->user;
    struct profile *p = c->p;
    char buf[128];
    const char *kind, *pname;

    if (strcmp(section, "profile") == 0) {
        finish_point(cf, c);
        if (strcmp(name, "name") == 0) {
            if (!name_valid(value))
                cfgfile_error(cf, "name: '%s' must be 1-64 of [A-Za-z0-9_.-]", value);
            else
                strcpy(p->name, value);
        } else if (strcmp(name, "description") == 0) {
            snprintf(p->description, sizeof(p->description), "%s", value);
        } else if (strcmp(name, "vendor") == 0 || strcmp(name, "serial") == 0 ||
                   strcmp(name, "source") == 0) {
            /* Documentation only. */
        } else {
            cfgfile_error(cf, "[profile]: unknown key '%s'", name);
        }
        return;
    }
    if (cfgfile_split_section(section, buf, sizeof(buf), &kind, &pname) < 0 ||
        strcmp(kind, "point") != 0) {
        cfgfile_error(cf, "unknown section [%s] (expected [profile] or [point NAME])", section);
        return;
    }
    if (c->cur == NULL || strcmp(c->cur->name, pname) != 0) {
        finish_point(cf, c);
        if (!name_valid(pname)) {
            cfgfile_error(cf, "[point %s]: name must be 1-64 of [A-Za-z0-9_.-]", pname);
            return;
        }
        if (profile_point(p, pname) != NULL) {
            cfgfile_error(cf, "[point %s] defined twice", pname);
            return;
        }
        if (p->npoints == MAX_POINTS) {
            cfgfile_error(cf, "more than %d points", MAX_POINTS);
            return;
        }
        c->cur = &p->points[p->npoints++];
        memset(c->cur, 0, sizeof(*c->cur));
        strcpy(c->cur->name, pname);
        c->cur->bit = -1;
        c->cur->scale = 1;
        c->cur->type = PT_UINT16;
        c->cur->line = cf->section_line;
        c->seen = 0;
    }
    point_key(cf, c, name, value);
}

/* Two points that read the same register are legal (a status word and one
 * of its bits), but two values over one register usually mean a mistyped
 * address, which would publish one value under two names.  A warning with
 * file:line, not an error: some maps do alias registers on purpose. */
static void
warn_overlaps(const struct profile *p)
{
    for (size_t i = 1; i < p->npoints; i++) {
        const struct point *a = &p->points[i];
        int a0 = a->address, a1 = a0 + point_width(a);
        for (size_t j = 0; j < i; j++) {
            const struct point *b = &p->points[j];
            int b0 = b->address, b1 = b0 + point_width(b);
            if (a->table != b->table || a0 >= b1 || b0 >= a1)
                continue;
            /* Bits of one word, or a word and one of its bits. */
            if ((a->bit >= 0 || b->bit >= 0) && a0 == b0 && a1 == b1)
                continue;
            log_warnx("%s:%d: [point %s]: %s register %d overlaps [point %s] (line %d)", p->path,
                      a->line, a->name, mb_table_name(a->table), a0 > b0 ? a0 : b0, b->name,
                      b->line);
        }
    }
}

int
profile_load(const char *path, struct profile **out, struct cfgerr *err)
{
    struct profile *p = xcalloc(1, sizeof(*p));
    struct load_ctx c = {.p = p};
    static const char *const singletons[] = {"profile", NULL};
    struct cfgfile cf = {
        .path = path, .err = err, .key = on_key, .user = &c, .singletons = singletons};
    int before = err->count;
    int rc;

    p->points = xcalloc(MAX_POINTS, sizeof(*p->points));
    p->path = xstrdup(path);
    p->refs = 1;
    rc = cfgfile_parse(&cf);
    finish_point(&cf, &c);
    if (rc == 0 && p->name[0] == '\0')
        cfgerr_add(err, path, 0, "missing [profile] name");
    if (rc == 0 && p->npoints == 0)
        cfgerr_add(err, path, 0, "no [point NAME] sections");
    if (rc < 0 || err->count > before) {
        profile_free(p);
        return rc < 0 ? rc : -EINVAL;
    }
    /* Keep only the points the file has: the room to parse into holds
     * MAX_POINTS points (76 kB, every page touched by calloc), most of them
     * never used; it is freed here and taken again by the next load. */
    {
        struct point *pts = xcalloc(p->npoints, sizeof(*pts));
        memcpy(pts, p->points, p->npoints * sizeof(*pts));
        free(p->points);
        p->points = pts;
    }
    warn_overlaps(p);
    *out = p;
    return 0;
}

static void
file_id(const struct stat *st, uint64_t id[4])
{
    id[0] = (uint64_t)st->st_dev;
    id[1] = (uint64_t)st->st_ino;
    id[2] = (uint64_t)st->st_size;
    id[3] = (uint64_t)st->st_mtim.tv_sec * 1000000000u + (uint64_t)st->st_mtim.tv_nsec;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int
profile_list(const char *dir, char *buf, size_t len)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **names = NULL;
    size_t n = 0, cap = 0, used = 0;

    if (len > 0)
        buf[0] = '\0';
    if (d == NULL)
        return -errno;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        char **grown;
        if (l <= 4 || strcmp(e->d_name + l - 4, ".ini") != 0 || e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            grown = realloc(names, cap * sizeof(*names));
            if (grown == NULL)
                break;
            names = grown;
        }
        names[n] = strndup(e->d_name, l - 4);
        if (names[n] != NULL)
            n++;
    }
    closedir(d);
    if (n > 0)
        qsort(names, n, sizeof(*names), cmp_str);
    for (size_t i = 0; i < n; i++) {
        if (used < len)
            used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", names[i]);
        free(names[i]);
    }
    free(names);
    return 0;
}

/* A checkout's agent/profiles above the directory of the running program
 * (build/, build/test/, build/asan/, build/test/tests/, and a cross build's
 * build/aarch64-linux-gnu/test/tests/), or -ENOENT.  A checkout is
 * recognised by agent/lib/profile.c beside agent/profiles. */
static int
checkout_dir(char *buf, size_t len)
{
    char exe[PATH_MAX], marker[PATH_MAX + 32];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    struct stat st;

    if (n <= 0)
        return -ENOENT;
    exe[n] = '\0';
    for (int up = 0; up < 6; up++) {
        char *slash = strrchr(exe, '/');
        if (slash == NULL || slash == exe)
            return -ENOENT;
        *slash = '\0';
        snprintf(marker, sizeof(marker), "%s/agent/lib/profile.c", exe);
        if ((size_t)snprintf(buf, len, "%s/agent/profiles", exe) < len && stat(buf, &st) == 0 &&
            S_ISDIR(st.st_mode) && access(marker, F_OK) == 0)
            return 0;
    }
    return -ENOENT;
}

const char *
profile_default_dir(char *buf, size_t len)
{
    const char *env = getenv("EMBER_PROFILE_DIR");

    if (env != NULL && *env != '\0') {
        snprintf(buf, len, "%s", env);
        return "$EMBER_PROFILE_DIR";
    }
    if (checkout_dir(buf, len) == 0)
        return "the source tree this program was built in";
    snprintf(buf, len, "%s", EMBER_DATADIR "/profiles");
    return "the installed profiles";
}

/* ref names no file: say where it was looked for and what is there. */
static void
not_found(const char *dir, const char *ref, const char *path, struct cfgerr *err)
{
    char list[1024];
    int rc = profile_list(dir, list, sizeof(list));

    if (rc < 0)
        cfgerr_add(err, path, 0, "profile '%s' not found (%s: %s)", ref, dir, strerror(-rc));
    else if (list[0] == '\0')
        cfgerr_add(err, path, 0, "profile '%s' not found (%s holds no NAME.ini profiles)", ref,
                   dir);
    else
        cfgerr_add(err, path, 0, "profile '%s' not found; profiles in %s: %s", ref, dir, list);
}

int
profile_load_ref(const char *dir, const char *ref, const char *base_file, struct profile **out,
                 struct cfgerr *err)
{
    struct stat st;
    uint64_t id[4];
    bool known;
    char *path;
    int rc;

    if (strchr(ref, '/') != NULL) {
        path = path_relative_to(base_file, ref);
    } else {
        size_t n = strlen(dir) + strlen(ref) + 6;
        path = malloc(n);
        if (path != NULL)
            snprintf(path, n, "%s/%s.ini", dir, ref);
    }
    if (path == NULL)
        return -ENOMEM;
    known = stat(path, &st) == 0;
    if (!known && errno == ENOENT && strchr(ref, '/') == NULL) {
        not_found(dir, ref, path, err);
        free(path);
        return -ENOENT;
    }
    if (known) {
        file_id(&st, id);
        for (struct profile *p = shared; p != NULL; p = p->next_shared) {
            if (memcmp(p->file_id, id, sizeof(id)) == 0) {
                p->refs++;
                *out = p;
                free(path);
                return 0;
            }
        }
    }
    rc = profile_load(path, out, err);
    if (rc == 0 && known) {
        memcpy((*out)->file_id, id, sizeof(id));
        (*out)->next_shared = shared;
        shared = *out;
    }
    free(path);
    return rc;
}

void
profile_free(struct profile *p)
{
    if (p == NULL || --p->refs > 0)
        return;
    for (struct profile **pp = &shared; *pp != NULL; pp = &(*pp)->next_shared) {
        if (*pp == p) {
            *pp = p->next_shared;
            break;
        }
    }
    free(p->points);
    free(p->path);
    free(p);
}

const struct point *
profile_point(const struct profile *p, const char *name)
{
    for (size_t i = 0; i < p->npoints; i++)
        if (strcmp(p->points[i].name, name) == 0)
            return &p->points[i];
    return NULL;
}

int
point_width(const struct point *pt)
{
    switch (pt->type) {
    case PT_INT32:
    case PT_UINT32:
    case PT_FLOAT32:
        return 2;
    default:
        return 1;
    }
}

static uint32_t
raw32(const struct point *pt, const uint16_t *w)
{
    if (pt->order == WO_ABCD)
        return (uint32_t)w[0] << 16 | w[1];
    return (uint32_t)w[1] << 16 | w[0];
}

static void
put32(const struct point *pt, uint32_t v, uint16_t *w)
{
    uint16_t hi = (uint16_t)(v >> 16), lo = (uint16_t)v;
    if (pt->order == WO_ABCD) {
        w[0] = hi;
        w[1] = lo;
    } else {
        w[0] = lo;
        w[1] = hi;
    }
}

int
point_decode(const struct point *pt, const uint16_t *words, double *value)
{
    uint32_t raw;
    double v;

    switch (pt->type) {
    case PT_BOOL:
        raw = words[0] ? 1 : 0;
        break;
    case PT_INT16:
    case PT_UINT16:
        raw = words[0];
        break;
    default:
        raw = raw32(pt, words);
        break;
    }
    if (pt->has_invalid && raw == pt->invalid)
        return -ERANGE;
    if (pt->bit >= 0) {
        *value = (raw >> pt->bit) & 1u;
        return 0;
    }
    switch (pt->type) {
    case PT_INT16:
        v = (int16_t)raw;
        break;
    case PT_INT32:
        v = (int32_t)raw;
        break;
    case PT_FLOAT32: {
        float f;
        memcpy(&f, &raw, sizeof(f));
        if (!isfinite(f))
            return -ERANGE;
        v = f;
        break;
    }
    default:
        v = raw;
        break;
    }
    v = v * pt->scale + pt->offset;
    if (!isfinite(v) || (pt->has_min && v < pt->min) || (pt->has_max && v > pt->max))
        return -ERANGE;
    *value = point_round(pt, v);
    return 0;
}

static uint32_t
saturate(double r, double lo, double hi)
{
    if (r < lo)
        r = lo;
    if (r > hi)
        r = hi;
    return (uint32_t)(int64_t)r;
}

void
point_encode(const struct point *pt, double value, uint16_t *words)
{
    double r;
    uint32_t raw;

    if (pt->type == PT_BOOL) {
        words[0] = value != 0;
        return;
    }
    if (pt->bit >= 0) {
        uint32_t cur = point_width(pt) == 2 ? raw32(pt, words) : words[0];
        cur = value != 0 ? cur | (1u << pt->bit) : cur & ~(1u << pt->bit);
        if (point_width(pt) == 2)
            put32(pt, cur, words);
        else
            words[0] = (uint16_t)cur;
        return;
    }
    r = (value - pt->offset) / pt->scale;
    /* Clamp before rounding: llround() of a huge value or NaN is undefined. */
    if (isnan(r))
        r = 0;
    else if (r > 4294967295.0)
        r = 4294967295.0;
    else if (r < -2147483648.0)
        r = -2147483648.0;
    switch (pt->type) {
    case PT_FLOAT32: {
        float f = (float)r;
        memcpy(&raw, &f, sizeof(raw));
        put32(pt, raw, words);
        return;
    }
    case PT_INT16:
        words[0] = (uint16_t)saturate(llround(r), INT16_MIN, INT16_MAX);
        return;
    case PT_UINT16:
        words[0] = (uint16_t)saturate(llround(r), 0, UINT16_MAX);
        return;
    case PT_INT32:
        put32(pt, saturate(llround(r), INT32_MIN, INT32_MAX), words);
        return;
    default:
        put32(pt, saturate(llround(r), 0, UINT32_MAX), words);
        return;
    }
}

double
point_round(const struct point *pt, double value)
{
    double m = pow(10, pt->decimals);
    return round(value * m) / m;
}

static const struct point *const *sort_pts;

static int
cmp_idx(const void *a, const void *b)
{
    const struct point *pa = sort_pts[*(const int *)a], *pb = sort_pts[*(const int *)b];
    if (pa->table != pb->table)
        return (int)pa->table - (int)pb->table;
    return (int)pa->address - (int)pb->address;
}

int
profile_plan(const struct point *const *pts, size_t npts, unsigned max_gap,
             struct read_block *blocks, size_t max_blocks, int *block_of, int *offset_of)
{
    int *idx = xcalloc(npts ? npts : 1, sizeof(int));
    size_t nb = 0;

    for (size_t i = 0; i < npts; i++)
        idx[i] = (int)i;
    /* qsort is not re-entrant with a context; planning happens at start-up only. */
    sort_pts = pts;
    qsort(idx, npts, sizeof(int), cmp_idx);
    for (size_t k = 0; k < npts; k++) {
        const struct point *pt = pts[idx[k]];
        /* Bits could go to 2000 per request, but 125 keeps one buffer size
         * for every table and is plenty for status bits. */
        unsigned limit = 125;
        unsigned end = (unsigned)pt->address + (unsigned)point_width(pt);
        struct read_block *b = nb ? &blocks[nb - 1] : NULL;

        if (b != NULL && b->table == pt->table &&
            pt->address <= (unsigned)b->start + b->count + max_gap && end - b->start <= limit) {
            if (end > (unsigned)b->start + b->count)
                b->count = (uint16_t)(end - b->start);
        } else {
            if (nb == max_blocks) {
                free(idx);
                return -ENOSPC;
            }
            b = &blocks[nb++];
            b->table = pt->table;
            b->start = pt->address;
            b->count = (uint16_t)(end - pt->address);
        }
        block_of[idx[k]] = (int)(nb - 1);
        offset_of[idx[k]] = pt->address - b->start;
    }
    free(idx);
    return (int)nb;
}
