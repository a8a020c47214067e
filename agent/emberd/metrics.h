/*
 * metrics.h - emberd's [metrics] endpoint: sensor values with their
 * quality, alarm and zone states, bus and poll statistics, the journal and
 * the MQTT link, as OpenMetrics (or Prometheus text) on GET /metrics.
 */
#ifndef EMBER_METRICS_H
#define EMBER_METRICS_H

#include "ingest.h"
#include "loop.h"
#include "outbox.h"

struct metrics;

/* Serves c->metrics.listen when it is set (*out stays NULL otherwise).  The
 * page reads the ingest's current configuration, so it follows reloads.
 * Returns 0 (a port in use is retried: httpd.h), or -errno. */
int metrics_open(struct metrics **out, const struct conf *c, struct loop *l, struct ingest *in,
                 struct outbox *ob);
/* The page itself (malloc'd): what GET /metrics answers. */
char *metrics_page(struct metrics *m, bool openmetrics);
void metrics_close(struct metrics *m);

#endif
