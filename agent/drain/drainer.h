/*
 * drainer.h - ember-drain's core: wires the configuration, the per-site
 * policy and state machine, the HAProxy workers, the hooks, the MQTT session,
 * the control socket and the audit log into one poll loop.  main.c only
 * parses arguments.
 *
 * Site states: serving -> draining (decided; actions under way) -> drained
 * (every HAProxy target reads back DRAIN or MAINT and every hook succeeded).
 * Only `undrain` returns a site to serving.  `held` is a manual flag on top
 * that freezes automatic action in both directions.
 */
#ifndef EMBER_DRAINER_H
#define EMBER_DRAINER_H

#include <signal.h>

#include "dconf.h"

struct drainer;

extern volatile sig_atomic_t drainer_sig_stop;

/* Takes ownership of c.  Restores state, starts the HAProxy workers, the
 * control socket and the MQTT session. */
int drainer_init(struct drainer **out, struct dconf *c);
/* Runs until SIGTERM/SIGINT.  Returns 0. */
int drainer_run(struct drainer *d);
void drainer_fini(struct drainer *d);
void drainer_signals(struct drainer *d);

#endif
