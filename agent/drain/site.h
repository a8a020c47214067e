/*
 * site.h - one site's drain state machine.  Pure code: events come in as
 * calls with the time passed in, effects go out as values in a struct
 * site_out that the caller executes in order.  No I/O, no clock, no loop,
 * no MQTT; drainer.c is the only caller in the program and
 * tests/unit/test_drain_site.c drives every transition.
 *
 * States: serving -> draining (decided; actions under way) -> drained
 * (every HAProxy target reads back what was wanted and every hook
 * succeeded).  Only `undrain`, a person's command, returns a site to
 * serving.  `held` is a manual flag on top that freezes automatic action in
 * both directions; a manual `drain` while held still acts.
 *
 * The machine owns the site's policy (policy.c), its decision (struct
 * dstate_site, what the state file keeps), the hooks' states and the
 * generation of the wanted HAProxy state.  The caller owns the HAProxy
 * workers, the hook processes, the timers, the state file, the audit log and
 * the MQTT session, and tells the machine what they report.
 */
#ifndef EMBER_SITE_H
#define EMBER_SITE_H

#include <stdbool.h>
#include <stdint.h>

#include "dconf.h"
#include "dstate.h"
#include "policy.h"

#define SITE_LOG_LEN 1200
#define SITE_REASON_LEN 4096

/* The time of an event: monotonic for every duration (hold_down,
 * maint_after, how long a drain took), so a step of the wall clock changes
 * none of them; real time for what is recorded (since, drain start), which
 * is read back, bounded, only after a restart. */
struct site_now {
    int64_t mono_ms;
    int64_t real_ms;
};

/* Manual commands, from the control socket, MQTT or the command line. */
enum site_cmd { SITE_CMD_HOLD, SITE_CMD_RELEASE, SITE_CMD_UNDRAIN, SITE_CMD_DRAIN };

enum site_timer { SITE_TIMER_HOLD_DOWN, SITE_TIMER_MAINT, SITE_NTIMERS };

enum site_fx_kind {
    SITE_FX_LOG,     /* log a line at a level */
    SITE_FX_AUDIT,   /* append to the audit log */
    SITE_FX_WANT,    /* hand a wanted state to one HAProxy target */
    SITE_FX_DNS,     /* hand a wanted state to one [dns] target (the want member) */
    SITE_FX_HOOK,    /* start one hook */
    SITE_FX_TIMER,   /* arm or cancel one of the site's timers */
    SITE_FX_SAVE,    /* write the state file */
    SITE_FX_PUBLISH, /* publish drain/state (if it changed, or forced) */
};

/* What an audit entry carries besides the site's decision fields. */
enum site_audit_extra {
    SITE_AX_NONE,
    SITE_AX_VOTES,   /* votes, vote, zones, agents, alarms */
    SITE_AX_ELAPSED, /* elapsed_ms, when known */
    SITE_AX_CAUSE,   /* a cause of its own instead of the site's */
    SITE_AX_HOOK,    /* hook, action, result */
    SITE_AX_COMMAND, /* by, via, reason */
    SITE_AX_REQUEST, /* agent, zone, request, seq, request_ts, cause (why refused) */
};

/* An audit entry, with the site's fields as they were when it was made. */
struct site_audit {
    const char *event; /* a string literal */
    int extra;         /* enum site_audit_extra */
    char state[16];    /* "held" or the state's name */
    char cause[768];
    char by[200];
    uint64_t drain_id;
    bool dry_run;
    int votes, vote;
    char zones[512], agents[512], alarms[1024];
    int64_t elapsed_ms; /* < 0: unknown */
    int hook;           /* index in dconf hooks */
    char action[16];
    char result[96];
    char via[32];
    char reason[SITE_REASON_LEN];
    char agent[NAME_MAX_LEN + 1], zone[NAME_MAX_LEN + 1];
    bool drain;
    uint64_t seq;
    int64_t ts_ms; /* the request's ts; 0: none */
};

struct site_fx {
    int kind; /* enum site_fx_kind */
    union {
        struct {
            int level; /* enum log_level */
            char text[SITE_LOG_LEN];
        } log;
        struct site_audit audit;
        struct {
            int target; /* index in the site's targets (SITE_FX_DNS: in its dns) */
            int want;   /* enum hx_want */
            uint64_t gen;
        } want;
        struct {
            int hook;        /* index in the site's hooks */
            char action[16]; /* "drain" or "undrain" */
        } hook;
        struct {
            int timer;     /* enum site_timer */
            int64_t at_ms; /* monotonic due time; 0: cancel */
        } timer;
        struct {
            bool force;
        } publish;
    };
};

/* The effects of one call, in the order they must run.  Zero-initialise,
 * pass to any number of calls, execute, then site_out_free(). */
struct site_out {
    struct site_fx *fx;
    int n, cap;
};

void site_out_free(struct site_out *o);

/* What this controller knows of one of its [drain] peers for a site: the
 * last {p}/{site}/drain/state/{peer} it published, and its status. */
struct site_peer {
    char id[NAME_MAX_LEN + 1];
    bool known;  /* a state was received */
    int online;  /* enum agent_status, from {p}/_drain/{peer}/status */
    int state;   /* enum site_state */
    bool held;
    char hold_origin[NAME_MAX_LEN + 1];
    /* The origin of a hold this peer was seen to leave (a person released
     * it there), until it is held again. */
    char released_origin[NAME_MAX_LEN + 1];
    struct dstate_episode ep;
    struct dstate_episode undone[DSTATE_MAX_UNDONE];
    int nundone;
    char cause[256];
    char by[128];
};

struct site {
    const struct dconf *dc;
    const struct dconf_site *conf;
    int index;
    bool settled; /* retained messages had their time: decisions may be made */
    struct policy policy;
    struct policy_result last;
    struct dstate_site st;
    bool restored;                     /* st came from the state file or the retained state */
    int64_t cond_since;                /* mono ms the drain condition has held since; 0: not */
    int64_t hold_due;                  /* mono ms the hold_down timer is due; 0: not armed */
    int64_t maint_due;                 /* mono ms the maint_after timer is due; 0: not armed */
    int64_t drain_start_mono;          /* mono ms the current drain started (maint_after) */
    bool held_noted;                   /* "condition holds but held" said once */
    bool manual_in_hold;               /* a manual drain while held: its want stands */
    bool undraining;                   /* want READY until every target reads back ready */
    int64_t decided_mono;              /* when the current drain was decided, for the log */
    uint64_t gen;                      /* generation of the wanted HAProxy state */
    uint64_t done_gen[DCONF_MAX_LIST]; /* per target: the generation worked on */
    bool reached[DCONF_MAX_LIST];      /* per target: the wanted state reads back */
    uint64_t dns_done_gen[DCONF_MAX_LIST]; /* the same per [dns] target */
    bool dns_reached[DCONF_MAX_LIST];
    char hook_state[DCONF_MAX_LIST][16];
    struct site_peer peers[DCONF_MAX_PEERS]; /* one per [drain] peers entry */
    int npeers;
    bool peer_noted; /* "a peer drained but this site is held" said once */
};

/* Sets up site `index` of `c` serving, with no requests.  c must outlive s. */
void site_init(struct site *s, const struct dconf *c, int index);

/* "held" or the state's name, as published. */
const char *site_shown_state(const struct site *s);

/* A state file entry for this site: adopt it (before site_start). */
void site_restore(struct site *s, const struct dstate_site *saved, struct site_out *o);

/* The HAProxy workers run: converge the restored decision (re-running the
 * drain hooks of an unfinished drain).  maint_after of a restored drain
 * counts from its recorded start read against now->real_ms, bounded: a
 * start dated in the future counts from now. */
void site_start(struct site *s, const struct site_now *now, struct site_out *o);

/* The retained drain/state of a site the state file did not know.  `state`
 * is what was published ("held" with held_state, or a state name), by and
 * cause may be NULL; controller is the payload's "controller" (NULL when
 * absent).  Ignored once settled or restored, or when the state is not a
 * known one; logged, audited and ignored when the controller is neither
 * this one nor one of [drain] peers (anyone who may publish on the broker
 * could have sent it).  Returns 1 when adopted, 0 when ignored. */
int site_adopt(struct site *s, const struct site_now *now, const char *controller,
               const char *state, const char *held_state, const char *cause, const char *by,
               uint64_t drain_id, struct site_out *o);

/* A peer controller's state for this site (the payload of its retained
 * {p}/{site}/drain/state/{peer}; in->id names it).  Ignored unless in->id
 * is one of [drain] peers.  Once settled, the site follows its peers:
 *  - a peer's undrain that ended the drain this site carries out (its
 *    episode is in the peer's undone list) is followed, unless the drain
 *    condition still holds here and the site is not held (then it stays
 *    drained, and says so);
 *  - a peer's drain that no undrain here has ended is followed (unless
 *    the site is held): the site drains with the peer's episode;
 *  - a person's hold on a peer is followed, and released when that peer
 *    (the hold's origin) is released.
 * Returns 1 when stored. */
int site_peer_state(struct site *s, const struct site_now *now, const struct site_peer *in,
                    struct site_out *o);

/* (A release is followed from the peer that holds the hold's origin, and
 * from any peer seen to leave a hold of the same origin.) */

/* A peer's online/offline status (enum agent_status). */
void site_peer_status(struct site *s, const char *id, int status, struct site_out *o);

/* The settle time is over: evaluate and publish (forced). */
void site_settle(struct site *s, const struct site_now *now, struct site_out *o);

/* An agent's drain request.  One dated too far ahead (max_skew), or for a
 * zone its agent may not request, is refused: logged and audited
 * ("request_refused"); one older than what the agent already sent is
 * logged and ignored.  Returns 1 changed (and evaluated), 0 a repeat,
 * stale or refused, -ENOSPC table full. */
int site_request(struct site *s, const struct site_now *now, const struct policy_req *r,
                 struct site_out *o);

/* An agent's status (enum agent_status).  Returns 1 when it changed. */
int site_agent_status(struct site *s, const struct site_now *now, const char *agent, int status,
                      struct site_out *o);

/* A timer the machine armed is due. */
void site_timer(struct site *s, const struct site_now *now, int timer, struct site_out *o);

/* Target t (index in the site's targets) worked on generation done_gen and
 * does (or does not) read back the wanted state.  Call site_progress()
 * after the reports of a batch. */
void site_target(struct site *s, int t, uint64_t done_gen, bool reached);

/* The same for [dns] target t (index in the site's dns). */
void site_dns_target(struct site *s, int t, uint64_t done_gen, bool reached);

/* Moves draining -> drained and undraining -> serving when the targets and
 * hooks are done; publishes what changed. */
void site_progress(struct site *s, const struct site_now *now, struct site_out *o);

/* Hook `hook` (index in dconf hooks) finished `action` of drain `id` with
 * `status` (0 ok), described by `what` for the audit log. */
void site_hook_done(struct site *s, const struct site_now *now, int hook, const char *action,
                    uint64_t id, int status, const char *what, struct site_out *o);

/* A person's command.  `by` names them ("tester (uid 1000)", "ops1 (mqtt)"),
 * via is "control socket" or "mqtt", reason may be "".  Returns 0, or
 * -EALREADY / -EBUSY with the reason in err. */
int site_command(struct site *s, const struct site_now *now, int cmd, const char *by,
                 const char *reason, const char *via, char *err, size_t errlen, struct site_out *o);

/* "hold", "release", "undrain", "drain"; NULL for anything else. */
const char *site_cmd_name(int cmd);

/* The EMBER_* environment of a hook run for `action` (documented in
 * ember-drain(8)); env is NULL-terminated and points into e. */
struct site_env {
    char site[96], zone[96], zones[600], cause[800], alarms[1100], action[32], dry[32], id[48],
        by[160], agents[600], targets[1024], controller[96], decided[96];
    char *env[14];
};
void site_hook_env(const struct site *s, const char *action, struct site_env *e);

/* An audit entry for this site with no extra fields (the caller adds its
 * own, e.g. for HAProxy worker commands). */
void site_audit_fill(const struct site *s, const char *event, struct site_audit *a);

#endif
