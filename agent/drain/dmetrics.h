/*
 * dmetrics.h - ember-drain's [metrics] page: each site's drain state, votes
 * and agents, and every target's state as read back (HAProxy, DNS, BGP,
 * hooks), as OpenMetrics (or Prometheus text).  Built from the same site
 * objects as the control socket's status (djson_site), so both say the same.
 */
#ifndef EMBER_DMETRICS_H
#define EMBER_DMETRICS_H

#include <stdbool.h>

#include "dns.h"
#include "haproxy.h"
#include "site.h"

/* sites[i] is site i of c; mqtt: the session is up.  Returns the page
 * (malloc'd) or NULL when memory ran out. */
char *dmetrics_page(const struct dconf *c, const struct site *const *sites,
                    const struct hx_view *views, const struct dns_view *dviews, bool mqtt,
                    bool openmetrics);

#endif
