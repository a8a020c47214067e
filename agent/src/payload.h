/*
 * payload.h - JSON payloads of the MQTT contract (cJSON), one function per
 * message kind.  Strings returned are malloc'd; the caller frees them.
 */
#ifndef EMBER_PAYLOAD_H
#define EMBER_PAYLOAD_H

#include <stdint.h>

#include "sensor.h"

/* {p}/{site}/{agent}/sensor/{sensor}:
 * {"ts","value","unit","quality"}; value is null when there is none. */
char *payload_sensor(const struct sensor_state *s, const char *unit);

#endif
