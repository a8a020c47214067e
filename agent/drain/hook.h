/*
 * hook.h - exec hooks: programs ember-drain runs to drain or undrain a site
 * through anything HAProxy's runtime API does not reach (DNS, BGP, GSLB,
 * Kubernetes).
 *
 * A hook runs through the process runner (agent/lib/proc.h): in its own
 * session, with stdin from /dev/null, stdout/stderr logged line by line (at
 * most 100 lines a second), and a timeout that kills its whole process tree,
 * descendants in sessions of their own included.  Its exit is noticed
 * through a pidfd in the poll loop; nothing waits.  The environment is
 * ember-drain's own plus the EMBER_* variables the caller passes (documented
 * in ember-drain(8)).
 */
#ifndef EMBER_HOOK_H
#define EMBER_HOOK_H

#include <stdbool.h>
#include <stdint.h>

#include "dconf.h"
#include "loop.h"

struct hooks;

/* Final result of one hook run, after its retries: status 0 on success, the
 * exit code (> 0), 128 + signal, -ETIMEDOUT, or -errno when it could not be
 * started. */
typedef void (*hook_done_fn)(void *arg, int hook, int site, const char *action, uint64_t id,
                             int status);

int hooks_init(struct hooks **out, const struct dconf *c, struct loop *l, hook_done_fn done,
               void *arg);
/* Stops running hooks (SIGTERM to their process trees, SIGKILL after 1 s). */
void hooks_fini(struct hooks *h);

/* Starts hook `hook` for `site`.  `env` is a NULL-terminated list of
 * "NAME=value" strings added to the environment.  A run already in progress
 * for the same hook is terminated first (its done callback is not called)
 * and this one starts when it has gone.  Returns 0 or -errno. */
int hooks_run(struct hooks *h, int hook, int site, const char *action, uint64_t id,
              char *const *env);
bool hooks_running(const struct hooks *h, int hook);

/* Formats a status for logs and the audit log: "ok", "exit 3", "killed by
 * signal 9", "timed out after 10s", or strerror. */
void hooks_status_str(int status, char *buf, size_t len);

#endif
