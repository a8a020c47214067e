/*
 * openmetrics.c - the OpenMetrics / Prometheus text exposition (see
 * openmetrics.h).
 */
#include "openmetrics.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool
om_wants_openmetrics(const char *accept)
{
    return accept != NULL && strstr(accept, "application/openmetrics-text") != NULL;
}

const char *
om_content_type(bool openmetrics)
{
    return openmetrics ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
                       : "text/plain; version=0.0.4; charset=utf-8";
}

void
om_init(struct om *m, bool openmetrics)
{
    memset(m, 0, sizeof(*m));
    m->openmetrics = openmetrics;
}

static void
put(struct om *m, const char *s, size_t n)
{
    if (m->oom)
        return;
    if (m->len + n + 1 > m->cap) {
        size_t cap = m->cap ? m->cap : 4096;
        char *b;
        while (cap < m->len + n + 1)
            cap *= 2;
        if ((b = realloc(m->buf, cap)) == NULL) {
            m->oom = true;
            return;
        }
        m->buf = b;
        m->cap = cap;
    }
    memcpy(m->buf + m->len, s, n);
    m->len += n;
    m->buf[m->len] = '\0';
}

static void
puts_(struct om *m, const char *s)
{
    put(m, s, strlen(s));
}

static void
putf(struct om *m, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n > 0)
        put(m, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* A label value or help text, escaped: backslash, newline, and (in label
 * values, and in OpenMetrics help too) the double quote. */
static void
put_escaped(struct om *m, const char *s, bool quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            puts_(m, "\\\\");
        else if (*s == '\n')
            puts_(m, "\\n");
        else if (*s == '"' && quote)
            puts_(m, "\\\"");
        else
            put(m, s, 1);
    }
}

void
om_family(struct om *m, const char *name, enum om_type type, const char *help)
{
    static const char *const types[] = {"gauge", "counter", "info"};
    const char *suffix = "";

    snprintf(m->family, sizeof(m->family), "%s", name);
    m->type = type;
    /* Text format 0.0.4 names a counter's family as its samples, and has no
     * info type (an info is a gauge of value 1 named ..._info). */
    if (!m->openmetrics && type == OM_COUNTER)
        suffix = "_total";
    else if (!m->openmetrics && type == OM_INFO)
        suffix = "_info";
    putf(m, "# HELP %s%s ", name, suffix);
    put_escaped(m, help, m->openmetrics);
    putf(m, "\n# TYPE %s%s %s\n", name, suffix,
         m->openmetrics || type != OM_INFO ? types[type] : "gauge");
}

void
om_sample(struct om *m, const char *const *labels, double value)
{
    puts_(m, m->family);
    if (m->type == OM_COUNTER)
        puts_(m, "_total");
    else if (m->type == OM_INFO)
        puts_(m, "_info");
    if (labels != NULL && labels[0] != NULL) {
        put(m, "{", 1);
        for (int i = 0; labels[i] != NULL && labels[i + 1] != NULL; i += 2) {
            if (i > 0)
                put(m, ",", 1);
            puts_(m, labels[i]);
            put(m, "=\"", 2);
            put_escaped(m, labels[i + 1], true);
            put(m, "\"", 1);
        }
        put(m, "}", 1);
    }
    if (isnan(value))
        puts_(m, " NaN\n");
    else if (isinf(value))
        puts_(m, value > 0 ? " +Inf\n" : " -Inf\n");
    else if (value == floor(value) && fabs(value) < 1e15)
        putf(m, " %.0f\n", value);
    else
        putf(m, " %.15g\n", value);
}

char *
om_finish(struct om *m)
{
    char *out;

    if (m->openmetrics)
        puts_(m, "# EOF\n");
    if (m->oom || m->buf == NULL) {
        om_free(m);
        return NULL;
    }
    out = m->buf;
    m->buf = NULL;
    m->len = m->cap = 0;
    return out;
}

void
om_free(struct om *m)
{
    free(m->buf);
    m->buf = NULL;
    m->len = m->cap = 0;
}
