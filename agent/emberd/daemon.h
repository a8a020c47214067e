/*
 * daemon.h - emberd's core: wires config, bus workers, sensor states and
 * the MQTT session into one loop.  main.c only parses arguments.
 */
#ifndef EMBER_DAEMON_H
#define EMBER_DAEMON_H

#include "prog.h"

/* emberd's life for prog_run(), on a struct conf it takes: starts the
 * buses, the MQTT session and the control socket; runs until SIGTERM or
 * SIGINT, reloading on SIGHUP; publishes "offline", stops the workers and
 * frees everything. */
extern const struct prog_ops daemon_ops;

#endif
