/*
 * control.h - operator commands, from MQTT (cmd/ack, cmd/shelve, ...) and
 * from the control socket emberctl talks to, and the status and alarm
 * listings the socket answers with.
 */
#ifndef EMBER_CONTROL_H
#define EMBER_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gpio.h"
#include "ingest.h"
#include "loop.h"
#include "notify.h"
#include "outbox.h"

struct control;

/* Runs a reload for `emberctl reload`; returns 0 or -errno with a reason
 * in err. */
typedef int (*control_reload_fn)(void *arg, char *err, size_t errlen);

/* Opens the control socket c->agent.control with c->agent.control_mode.
 * Commands act on the ingest's alarm engine; the status reads the outbox
 * and the ingest's bus set.  Logs the reason and returns -errno on failure. */
int control_open(struct control **out, const struct conf *c, struct loop *l, struct ingest *in,
                 struct outbox *ob, control_reload_fn reload, void *reload_arg);
/* Closes the socket; safe on NULL. */
void control_close(struct control *ctl);
/* The alarm outputs shown in the status (borrowed; NULL: none). */
void control_set_gpio(struct control *ctl, struct gpio *g);
/* The notifiers whose counters the status shows (borrowed; NULL: none). */
void control_set_notify(struct control *ctl, struct notify *n);
/* Applies a changed control_mode to the socket.  Returns 0 or -errno. */
int control_set_mode(struct control *ctl, int mode);
/* An inbound MQTT command (outbox_command_fn; arg is the control).  A
 * retained one, a malformed one and one whose id was among the last
 * CMDMSG_RECENT is refused and logged; every command but cmd/result itself
 * gets a result on cmd/result. */
void control_mqtt(void *arg, const char *suffix, const void *payload, size_t len, bool retained);

#endif
