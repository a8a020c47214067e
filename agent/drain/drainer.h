/*
 * drainer.h - ember-drain's wiring: one poll loop with the MQTT session, the
 * control socket, the HAProxy workers, the hooks, the state file and the
 * audit log around each site's state machine (site.c, which decides; see
 * site.h for the states).  main.c only parses arguments.
 */
#ifndef EMBER_DRAINER_H
#define EMBER_DRAINER_H

#include "prog.h"

/* ember-drain's life for prog_run(), on a struct dconf it takes: restores
 * state, starts the HAProxy workers, the control socket and the MQTT
 * session; runs until SIGTERM or SIGINT; stops and frees everything. */
extern const struct prog_ops drainer_ops;

#endif
