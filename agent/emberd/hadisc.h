/*
 * hadisc.h - Home Assistant MQTT discovery: with [homeassistant] discovery
 * = yes, retained configuration messages under [homeassistant] prefix that
 * make Home Assistant show each sensor (a sensor entity reading the v1
 * sensor topic), each alarm and each zone's drain request (binary sensors
 * reading the retained v1 alarm and drain topics) and the agent's own
 * connectivity (its status topic), all as one device per agent, available
 * while the agent is online.  In addition to the v1 topics: nothing of the
 * contract changes.
 */
#ifndef EMBER_HADISC_H
#define EMBER_HADISC_H

#include "conf.h"

/* One discovery message: *topic and the returned payload (both malloc'd).
 * kind 0: sensor i, 1: alarm i, 2: zone i, 3: the agent (i unused).
 * Returns NULL when i is out of range or memory ran out. */
char *hadisc_message(const struct conf *c, int kind, int i, char **topic);

/* Calls fn for every discovery message of c, in a stable order. */
typedef void (*hadisc_fn)(void *arg, const char *topic, const char *payload);
void hadisc_each(const struct conf *c, hadisc_fn fn, void *arg);

#endif
