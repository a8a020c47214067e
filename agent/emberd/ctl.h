/*
 * ctl.h - the control socket emberctl talks to: a unix stream socket, one
 * request line (a JSON object) per connection, one response line back.
 * Access is by file permissions: the socket is created with control_mode
 * (default 0660), so the owner and the service's group may use it.
 */
#ifndef EMBER_CTL_H
#define EMBER_CTL_H

#include <stddef.h>

#include "loop.h"

struct ctl;

/* Returns a malloc'd response line (without the newline) for one request. */
typedef char *(*ctl_handler_fn)(void *arg, const char *req, size_t len);

/* Creates and listens on `path`.  A stale socket left by a dead emberd is
 * replaced; a live one (another emberd) is an error.  Returns 0 or -errno. */
int ctl_open(struct ctl **out, const char *path, int mode, struct loop *l, ctl_handler_fn fn,
             void *arg);
/* Closes every connection and removes the socket. */
void ctl_close(struct ctl *c);

#endif
