/*
 * daemon.h - emberd's core: wires config, bus workers, sensor states and
 * the MQTT session into one loop.  main.c only parses arguments.
 */
#ifndef EMBER_DAEMON_H
#define EMBER_DAEMON_H

#include <signal.h>

#include "conf.h"

struct daemon;


/* Takes ownership of c.  Starts the buses and the MQTT session. */
int daemon_init(struct daemon **out, struct conf *c);
/* Runs until SIGTERM/SIGINT.  Returns 0. */
int daemon_run(struct daemon *d);
/* Publishes "offline", stops the workers and frees everything. */
void daemon_fini(struct daemon *d);
/* Installs the signal handlers: SIGTERM, SIGINT stop, SIGHUP reloads
 * (loop_signals()). */
void daemon_signals(struct daemon *d);

#endif
