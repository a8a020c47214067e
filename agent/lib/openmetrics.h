/*
 * openmetrics.h - the text a Prometheus server scrapes: the OpenMetrics 1.0
 * text format, or Prometheus's own text format 0.0.4 for a client that does
 * not ask for OpenMetrics (curl, an older scraper).
 *
 * Build a page with om_init(), then for each metric family om_family() and
 * its samples om_sample(); om_finish() returns the text.  Counters are named
 * without "_total" in om_family() and get it on every sample; label values
 * are escaped (\\, \" and \n), numbers written so that they read back
 * exactly enough for a gauge (%.15g, NaN, +Inf, -Inf).  Out of memory is
 * remembered and reported once, by om_finish() returning NULL.
 */
#ifndef EMBER_OPENMETRICS_H
#define EMBER_OPENMETRICS_H

#include <stdbool.h>
#include <stddef.h>

enum om_type { OM_GAUGE, OM_COUNTER, OM_INFO };

struct om {
    char *buf;
    size_t len, cap;
    bool openmetrics; /* OpenMetrics 1.0 (else text format 0.0.4) */
    bool oom;
    enum om_type type; /* the current family's */
    char family[96];
};

/* OpenMetrics when the client's Accept header names it. */
bool om_wants_openmetrics(const char *accept);
/* The Content-Type of the page om_init(m, openmetrics) builds. */
const char *om_content_type(bool openmetrics);

void om_init(struct om *m, bool openmetrics);
/* Starts a family: its name (a counter's without "_total", an info's without
 * "_info"), type and help text (one line). */
void om_family(struct om *m, const char *name, enum om_type type, const char *help);
/* One sample of the current family; labels: name, value, name, value, ...,
 * NULL (or NULL for none). */
void om_sample(struct om *m, const char *const *labels, double value);
/* The page (malloc'd; "# EOF" ends an OpenMetrics one), or NULL when memory
 * ran out.  m is empty afterwards. */
char *om_finish(struct om *m);
void om_free(struct om *m);

#endif
