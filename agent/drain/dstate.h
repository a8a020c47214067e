/*
 * dstate.h - ember-drain's state file and audit log.
 *
 * The state file remembers, per site, what ember-drain decided: the drain
 * state, the manual hold, the cause, when the drain started and whether its
 * hooks and the maint escalation are done.  It is written atomically
 * (temporary file, fsync, rename) on every decision, so a restart resumes the
 * decision instead of re-deriving it: a site that drained for a fire stays
 * drained after the alarms clear and after any number of restarts.
 *
 * The audit log is append-only, one JSON object per line, never rewritten.
 */
#ifndef EMBER_DSTATE_H
#define EMBER_DSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dnsplan.h"
#include "util.h"

enum site_state { SITE_SERVING, SITE_DRAINING, SITE_DRAINED };

/* One drain decision, named the same by every controller of a site: the
 * controller that decided it and that controller's drain_id.  A controller
 * that follows a peer's drain carries the peer's episode. */
struct dstate_episode {
    char ctl[NAME_MAX_LEN + 1]; /* "": none */
    uint64_t id;
};

#define DSTATE_MAX_UNDONE 16

struct dstate_site {
    char name[NAME_MAX_LEN + 1];
    int state; /* enum site_state */
    bool held;
    int64_t since_ms; /* real time of the last state change */
    char cause[512];
    char by[128];           /* who held or commanded, if anyone */
    uint64_t drain_id;      /* increases with every drain decision */
    int64_t drain_start_ms; /* real time the current drain started */
    bool hooks_done;        /* drain hooks of drain_id finished successfully */
    bool maint;             /* escalated to maint */
    struct dstate_episode ep; /* the drain this state carries out (kept once undone) */
    /* The drains that the last undrain ended: this one's and every peer's
     * known then, so a peer still carrying one of them follows the undrain
     * and a peer's stale state is never taken for a new drain. */
    struct dstate_episode undone[DSTATE_MAX_UNDONE];
    int nundone;
    char hold_origin[NAME_MAX_LEN + 1]; /* the controller a person held the site on */
};

/* True when e names a drain (ctl set) equal to f. */
bool dstate_episode_eq(const struct dstate_episode *e, const struct dstate_episode *f);
/* True when e is one of list[0..n). */
bool dstate_episode_in(const struct dstate_episode *e, const struct dstate_episode *list, int n);
/* Adds e to list (capacity DSTATE_MAX_UNDONE) unless present or unnamed;
 * when full, the oldest entry goes. */
void dstate_episode_add(struct dstate_episode *list, int *n, const struct dstate_episode *e);
/* {"controller","drain_id"} (a cJSON object, as void *), and back:
 * parse returns 0 or -EINVAL (e cleared). */
void *dstate_episode_json(const struct dstate_episode *e);
int dstate_episode_parse(const void *json, struct dstate_episode *e);

/* Names "serving", "draining", "drained"; parse returns -1 when unknown. */
const char *dstate_name(int state);
int dstate_parse(const char *s);

/* Loads the sites of `path`.  A missing file is not an error (*n = 0).
 * The file is opened by the safefile rules (no link followed, not another
 * user's, not writable by others): a breach is -EPERM with err naming the
 * path and the fix.  Returns 0, -EPERM, -errno or -EINVAL with a reason in
 * err. */
int dstate_load(const char *path, struct dstate_site *sites, int max, int *n, char *err,
                size_t errlen);
/* Replaces `path` atomically (through a fresh temporary file in the same
 * directory).  Returns 0 or -errno. */
int dstate_save(const char *path, const struct dstate_site *sites, int n);

/* What the drains of one RRset of a [dns] target deleted and added, not yet
 * undone: kept so that an undrain after a restart still restores exactly
 * what was there (the "dns" array of the state file). */
struct dstate_dns {
    char target[NAME_MAX_LEN + 1]; /* the [dns] section */
    char name[256];                /* owner name, absolute */
    int family;                    /* 4: A, 6: AAAA */
    struct dns_journal j;
};

/* dstate_save() plus the journals of [dns] targets (those with nothing to
 * undo are left out). */
int dstate_save_all(const char *path, const struct dstate_site *sites, int n,
                    const struct dstate_dns *dns, int ndns);
/* Loads the "dns" array of `path` (none when the file or the array is
 * missing).  Returns 0, -EPERM, -errno or -EINVAL with a reason in err. */
int dstate_load_dns(const char *path, struct dstate_dns *out, int max, int *n, char *err,
                    size_t errlen);

struct audit;

/* Opens (creating, mode 0640) the append-only audit log, by the safefile
 * rules.  Returns 0, or -EPERM / -errno with err naming the path. */
int audit_open(struct audit **out, const char *path, char *err, size_t errlen);
void audit_close(struct audit *a);
/* Reopens the audit log at the same path (after logrotate renamed it): the
 * new file is opened first, by the same checks, and replaces the old
 * descriptor only once open, so a failed reopen keeps appending to the old
 * file and no line is lost either way.  Returns 0 or -errno (err says why). */
int audit_reopen(struct audit *a, const char *path, char *err, size_t errlen);
/* Appends {"ts", "site", "event", ...fields}.  `fields` is a cJSON object
 * (passed as void * to keep cJSON out of this header) and is consumed; may
 * be NULL.  A failed write is logged once per minute and otherwise ignored:
 * the audit log never stops an action. */
void audit_event(struct audit *a, const char *site, const char *event, void *fields);

#endif
