/*
 * bgp.h - [bgp NAME] targets: a site's anycast prefixes, announced by one
 * static protocol of a BIRD 2 daemon, withdrawn on drain by disabling that
 * protocol and announced again on undrain by enabling it, through BIRD's
 * control socket (agent/lib/birdc.h).  The BGP sessions stay up, so every
 * other route they carry stays.
 *
 * The worker is the one of haproxy.c (same wants, generations, view and
 * command log); this file is what differs: the read (`show protocols
 * "PROTO"`, then `show route PREFIX protocol "PROTO"` per prefix), the plan
 * and the command.  In the view, each prefix is one observation: state
 * "announced" or "withdrawn", row.op_state 1 when the route is in BIRD's
 * table, row.admin_state HX_ADMF_FMAINT when the protocol is down.
 */
#ifndef EMBER_BGP_H
#define EMBER_BGP_H

#include <stdbool.h>
#include <stddef.h>

#include "dconf.h"
#include "haproxy.h"

/* Reads the protocol and every prefix into v->obs.  Returns 0, 1 when BIRD
 * answered but something configured is missing (no such protocol, or a
 * prefix that is not a route of the protocol while it is up), -EPROTO when
 * BIRD refused a query, or -errno when it could not be asked; v->error says
 * which. */
int bgp_read(const struct dconf_haproxy *h, struct hx_view *v);

/* The command that takes the target to `want`, in cmd; returns 1, or 0 when
 * nothing is to be sent (already in effect, or the protocol was not read). */
int bgp_plan(const struct dconf_haproxy *h, const struct hx_view *v, int want, char cmd[200]);

/* True when the view shows `want` in effect. */
bool bgp_reached(const struct dconf_haproxy *h, const struct hx_view *v, int want);

/* Sends cmd.  Returns 0 with BIRD's answer in result, 1 when BIRD refused
 * (its answer in result), or -errno (strerror in result). */
int bgp_send(const struct dconf_haproxy *h, const char *cmd, char *result, size_t len);

#endif
