/*
 * simserver.h - the Modbus side of ember-sim: listeners, register maps, replies.
 *
 * One libmodbus context per listener.  A TCP listener accepts any number of
 * connections (up to a fixed limit) and dispatches each request by unit id
 * to the device with that slave id; an RTU listener serves exactly one device
 * on a serial line or pty.  Each device has a modbus_mapping covering, per
 * table, its profile's points from the lowest to the highest address.  When a
 * request arrives the device's points are encoded from the scenario at that
 * instant, then the device's fault decides: reply, no reply (dropout),
 * exception 0x04, random bytes (garbage), or a reply queued on a timer
 * (slow), so a slow device never delays another one.
 *
 * The module owns no loop: the caller's poll() loop asks for fds and a
 * timeout and hands back the results.  Only this module includes <modbus.h>.
 */
#ifndef EMBER_SIMSERVER_H
#define EMBER_SIMSERVER_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "scenario.h"

struct simserver;

/* Builds register maps and libmodbus contexts for `sc`, which must outlive
 * the server.  Opens nothing yet.  Returns 0, -ENOMEM or -EINVAL (message in
 * errbuf). */
int simserver_new(struct scenario *sc, struct simserver **out, char *errbuf, size_t len);

/* Binds every TCP listener and opens every serial device.  Returns 0, or
 * -errno with the failing listener named in errbuf. */
int simserver_open(struct simserver *srv, char *errbuf, size_t len);

/* Starts the scenario clock: t = 0 at now_ms (CLOCK_MONOTONIC). */
void simserver_start(struct simserver *srv, int64_t now_ms);

/* Scenario time in seconds at now_ms. */
double simserver_time(const struct simserver *srv, int64_t now_ms);

/* Most fds simserver_pollfds() can return. */
size_t simserver_maxfds(const struct simserver *srv);

/* Fills fds with what the loop must poll; returns how many. */
size_t simserver_pollfds(struct simserver *srv, struct pollfd *fds, size_t max);

/* Handles the results for the fds the last simserver_pollfds() returned. */
void simserver_handle(struct simserver *srv, const struct pollfd *fds, size_t n, int64_t now_ms);

/* Milliseconds until the next timer (delayed reply, serial reopen), -1 for none. */
int simserver_timeout(const struct simserver *srv, int64_t now_ms);

/* Runs the timers that are due. */
void simserver_timers(struct simserver *srv, int64_t now_ms);

/* Number of listeners and devices, for the ready line. */
size_t simserver_nlisteners(const struct simserver *srv);

/* Closes every connection and listener and frees the server. */
void simserver_free(struct simserver *srv);

#endif
