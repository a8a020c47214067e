/*
 * util.c - clocks, parsers and string helpers.
 */
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

int64_t
mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
real_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
fmt_rfc3339_ms(int64_t ms, char *buf, size_t len)
{
    time_t sec = (time_t)(ms / 1000);
    int frac = (int)(ms % 1000);
    struct tm tm;

    if (frac < 0) {
        frac += 1000;
        sec -= 1;
    }
    gmtime_r(&sec, &tm);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

int
parse_double(const char *s, double *out)
{
    char *end;
    double v;

    if (s == NULL || *s == '\0')
        return -EINVAL;
    errno = 0;
    v = strtod(s, &end);
    if (end == s || *end != '\0')
        return -EINVAL;
    if (errno == ERANGE || !isfinite(v))
        return -ERANGE;
    *out = v;
    return 0;
}

int
parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    long v;

    if (s == NULL || *s == '\0')
        return -EINVAL;
    errno = 0;
    /* Decimal, or hex with 0x: a leading zero is not octal. */
    v = strtol(s, &end, (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) ? 16 : 10);
    if (end == s || *end != '\0')
        return -EINVAL;
    if (errno == ERANGE || v < min || v > max)
        return -ERANGE;
    *out = v;
    return 0;
}

int
parse_duration_ms(const char *s, int64_t *out)
{
    static const struct {
        const char *suffix;
        double ms;
    } units[] = {{"ms", 1},      {"s", 1000},       {"m", 60000},
                 {"h", 3600000}, {"d", 86400000.0}, {"", 1000}};
    char *end;
    double v;

    if (s == NULL || *s == '\0')
        return -EINVAL;
    errno = 0;
    v = strtod(s, &end);
    if (end == s || errno == ERANGE || !isfinite(v))
        return -EINVAL;
    for (size_t i = 0; i < ARRAY_LEN(units); i++) {
        if (strcmp(end, units[i].suffix) == 0) {
            double ms = v * units[i].ms;
            if (ms < 0 || ms > 1e12)
                return -ERANGE;
            *out = (int64_t)llround(ms);
            return 0;
        }
    }
    return -EINVAL;
}

void
fmt_duration_ms(int64_t ms, char *buf, size_t len)
{
    static const struct {
        const char *suffix;
        int64_t ms;
    } units[] = {{"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}};

    for (size_t i = 0; i < ARRAY_LEN(units); i++) {
        if (ms != 0 && ms % units[i].ms == 0) {
            snprintf(buf, len, "%lld%s", (long long)(ms / units[i].ms), units[i].suffix);
            return;
        }
    }
    if (ms == 0)
        snprintf(buf, len, "0s");
    else
        snprintf(buf, len, "%lldms", (long long)ms);
}

int
parse_bool(const char *s, bool *out)
{
    static const char *yes[] = {"yes", "true", "on", "1"};
    static const char *no[] = {"no", "false", "off", "0"};

    for (size_t i = 0; i < ARRAY_LEN(yes); i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -EINVAL;
}

bool
name_valid(const char *s)
{
    size_t n = 0;

    for (; s[n] != '\0'; n++) {
        unsigned char c = (unsigned char)s[n];
        if (!(isalnum(c) || c == '_' || c == '-' || c == '.'))
            return false;
    }
    return n > 0 && n <= 64;
}

void
name_from_hostname(char out[NAME_MAX_LEN + 1], const char *fallback)
{
    char host[256];

    if (gethostname(host, sizeof(host)) != 0)
        host[0] = '\0';
    host[NAME_MAX_LEN] = '\0'; /* also ends a name gethostname() cut short */
    for (char *p = host; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '_' || *p == '-' || *p == '.'))
            *p = '-';
    const char *src = host[0] ? host : fallback;
    size_t n = strnlen(src, NAME_MAX_LEN);
    memcpy(out, src, n);
    out[n] = '\0';
}

char *
path_relative_to(const char *base_file, const char *path)
{
    const char *slash;
    char *out;
    size_t dlen;

    if (path[0] == '/' || base_file == NULL || (slash = strrchr(base_file, '/')) == NULL)
        return strdup(path);
    dlen = (size_t)(slash - base_file);
    out = malloc(dlen + 1 + strlen(path) + 1);
    if (out == NULL)
        return NULL;
    memcpy(out, base_file, dlen);
    out[dlen] = '/';
    strcpy(out + dlen + 1, path);
    return out;
}

char *
xstrdup(const char *s)
{
    char *p = strdup(s);
    if (p == NULL)
        abort();
    return p;
}

void *
xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (p == NULL)
        abort();
    return p;
}

char **
strv_dup(char *const *v)
{
    size_t n = 0;
    char **out;

    while (v != NULL && v[n] != NULL)
        n++;
    out = xcalloc(n + 1, sizeof(*out));
    for (size_t i = 0; i < n; i++)
        out[i] = xstrdup(v[i]);
    return out;
}

void
strv_free(char **v)
{
    for (size_t i = 0; v != NULL && v[i] != NULL; i++)
        free(v[i]);
    free(v);
}
