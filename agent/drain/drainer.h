/*
 * drainer.h - ember-drain's wiring: one poll loop with the MQTT session, the
 * control socket, the HAProxy workers, the hooks, the state file and the
 * audit log around each site's state machine (site.c, which decides; see
 * site.h for the states).  main.c only parses arguments.
 */
#ifndef EMBER_DRAINER_H
#define EMBER_DRAINER_H

#include <signal.h>

#include "dconf.h"

struct drainer;

/* Takes ownership of c.  Restores state, starts the HAProxy workers, the
 * control socket and the MQTT session. */
int drainer_init(struct drainer **out, struct dconf *c);
/* Runs until SIGTERM/SIGINT.  Returns 0. */
int drainer_run(struct drainer *d);
void drainer_fini(struct drainer *d);
void drainer_signals(struct drainer *d);

#endif
