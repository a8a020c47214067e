/*
 * dctl.h - ember-drain's control socket: a unix stream socket, one request
 * line (a JSON object) per connection, one response line back.  Access is by
 * file permissions (control_mode, default 0660); the caller's uid and pid
 * (SO_PEERCRED) are passed to the handler for the audit log.
 */
#ifndef EMBER_DCTL_H
#define EMBER_DCTL_H

#include <stddef.h>
#include <sys/types.h>

#include "loop.h"

#define DCTL_MAX_REQUEST 4096

struct dctl;

/* Returns a malloc'd response line (without the newline). */
typedef char *(*dctl_handler_fn)(void *arg, const char *req, size_t len, uid_t uid, pid_t pid);

/* Listens on `path`; a stale socket left by a dead ember-drain is replaced,
 * a live one is -EADDRINUSE.  Returns 0 or -errno. */
int dctl_open(struct dctl **out, const char *path, int mode, struct loop *l, dctl_handler_fn fn,
              void *arg);
void dctl_close(struct dctl *c);

/* Client side: sends `req` and returns the response line (malloc'd) or NULL
 * with a message in err. */
char *dctl_request(const char *path, const char *req, int timeout_ms, char *err, size_t errlen);

#endif
