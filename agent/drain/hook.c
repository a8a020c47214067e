/*
 * hook.c - running exec hooks from the poll loop.
 */
#include "hook.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

extern char **environ;

#define RETRY_DELAY_MS 1000
#define KILL_GRACE_MS 1000
#define MAX_ARGS 32

struct run_req {
    bool set;
    int site;
    char action[16];
    uint64_t id;
    char **env;
};

struct slot {
    struct hooks *hooks;
    int hook;
    pid_t pid; /* 0 when not running */
    int pidfd;
    int outfd;
    int timer;
    int kill_timer;
    int retry_timer;
    int attempt;
    bool timed_out;
    bool cancelled;
    struct run_req cur;
    struct run_req next; /* queued behind a cancelled run */
    char line[512];
    size_t linelen;
};

struct hooks {
    const struct dconf *conf;
    struct loop *loop;
    hook_done_fn done;
    void *arg;
    struct slot slots[DCONF_MAX_HOOKS];
};

static char **
env_copy(char *const *env)
{
    size_t n = 0;
    char **out;

    while (env != NULL && env[n] != NULL)
        n++;
    out = xcalloc(n + 1, sizeof(*out));
    for (size_t i = 0; i < n; i++)
        out[i] = xstrdup(env[i]);
    return out;
}

static void
env_free(char **env)
{
    for (size_t i = 0; env != NULL && env[i] != NULL; i++)
        free(env[i]);
    free(env);
}

static void
req_clear(struct run_req *r)
{
    env_free(r->env);
    memset(r, 0, sizeof(*r));
}

void
hooks_status_str(int status, char *buf, size_t len)
{
    if (status == 0)
        snprintf(buf, len, "ok");
    else if (status == -ETIMEDOUT)
        snprintf(buf, len, "timed out");
    else if (status < 0)
        snprintf(buf, len, "cannot start: %s", strerror(-status));
    else if (status > 128)
        snprintf(buf, len, "killed by signal %d", status - 128);
    else
        snprintf(buf, len, "exit %d", status);
}

static void
flush_line(struct slot *s)
{
    if (s->linelen == 0)
        return;
    s->line[s->linelen] = '\0';
    log_info("hook %s: %s", s->hooks->conf->hooks[s->hook].name, s->line);
    s->linelen = 0;
}

/* Logs the hook's output line by line; over-long lines are split. */
static void
on_output(void *arg, short revents)
{
    struct slot *s = arg;
    char buf[1024];
    ssize_t r;
    (void)revents;

    r = read(s->outfd, buf, sizeof(buf));
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (r <= 0) {
        flush_line(s);
        loop_remove_fd(s->hooks->loop, s->outfd);
        close(s->outfd);
        s->outfd = -1;
        return;
    }
    for (ssize_t i = 0; i < r; i++) {
        if (buf[i] == '\n' || s->linelen == sizeof(s->line) - 1)
            flush_line(s);
        if (buf[i] != '\n')
            s->line[s->linelen++] = buf[i];
    }
}

static void on_pidfd(void *arg, short revents);
static void on_timeout(void *arg);

/* Replaces ${EMBER_NAME} in one argument with the value the hook's
 * environment gives it (empty when unset).  Returns tok itself when there is
 * nothing to replace, else a malloc'd string remembered in owned[]. */
static char *
expand(char *tok, char *const *env, char **owned, int *nowned)
{
    size_t cap = strlen(tok) + 1, len = 0;
    char *out;
    const char *p = tok;

    if (strstr(tok, "${") == NULL)
        return tok;
    out = xcalloc(1, cap);
    while (*p) {
        const char *end;
        if (p[0] == '$' && p[1] == '{' && (end = strchr(p + 2, '}')) != NULL) {
            size_t n = (size_t)(end - p - 2);
            const char *val = "";
            for (size_t i = 0; env != NULL && env[i] != NULL; i++)
                if (strncmp(env[i], p + 2, n) == 0 && env[i][n] == '=')
                    val = env[i] + n + 1;
            cap += strlen(val);
            out = realloc(out, cap);
            if (out == NULL)
                abort();
            memcpy(out + len, val, strlen(val));
            len += strlen(val);
            p = end + 1;
            continue;
        }
        out[len++] = *p++;
    }
    out[len] = '\0';
    owned[(*nowned)++] = out;
    return out;
}

static int
spawn(struct slot *s)
{
    const struct dconf_hook *hc = &s->hooks->conf->hooks[s->hook];
    char *argv[MAX_ARGS + 2];
    char *expanded[MAX_ARGS + 1];
    int nexp = 0;
    char *args = hc->args ? xstrdup(hc->args) : NULL, *save = NULL;
    size_t nenv = 0, nextra = 0, k = 0;
    char **envp;
    int argc = 0, pipefd[2], rc;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t all, none;

    argv[argc++] = hc->exec;
    for (char *t = args ? strtok_r(args, " \t", &save) : NULL; t != NULL && argc < MAX_ARGS + 1;
         t = strtok_r(NULL, " \t", &save))
        argv[argc++] = expand(t, s->cur.env, expanded, &nexp);
    argv[argc] = NULL;

    /* ember-drain's environment without any EMBER_* of its own, plus ours. */
    while (environ[nenv] != NULL)
        nenv++;
    while (s->cur.env != NULL && s->cur.env[nextra] != NULL)
        nextra++;
    envp = xcalloc(nenv + nextra + 1, sizeof(*envp));
    for (size_t i = 0; i < nenv; i++)
        if (strncmp(environ[i], "EMBER_", 6) != 0)
            envp[k++] = environ[i];
    for (size_t i = 0; i < nextra; i++)
        envp[k++] = s->cur.env[i];

    if (pipe2(pipefd, O_CLOEXEC) < 0) {
        rc = -errno;
        free(envp);
        free(args);
        for (int i = 0; i < nexp; i++)
            free(expanded[i]);
        return rc;
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
    posix_spawnattr_init(&attr);
    sigfillset(&all);
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr,
                             POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    rc = posix_spawn(&s->pid, hc->exec, &fa, &attr, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(pipefd[1]);
    free(envp);
    free(args);
    for (int i = 0; i < nexp; i++)
        free(expanded[i]);
    if (rc != 0) {
        close(pipefd[0]);
        s->pid = 0;
        return -rc;
    }
    s->outfd = pipefd[0];
    fcntl(s->outfd, F_SETFL, fcntl(s->outfd, F_GETFL) | O_NONBLOCK);
    s->pidfd = pidfd_open(s->pid, 0);
    s->timed_out = false;
    s->cancelled = false;
    s->linelen = 0;
    loop_add_fd(s->hooks->loop, s->outfd, POLLIN, on_output, s);
    if (s->pidfd >= 0)
        loop_add_fd(s->hooks->loop, s->pidfd, POLLIN, on_pidfd, s);
    s->timer = loop_timer(s->hooks->loop, hc->timeout_ms, on_timeout, s);
    log_info("hook %s: started %s for site %s (pid %d, attempt %d)", hc->name, s->cur.action,
             s->hooks->conf->sites[s->cur.site].name, (int)s->pid, s->attempt);
    return 0;
}

static void
kill_now(void *arg)
{
    struct slot *s = arg;
    s->kill_timer = 0;
    if (s->pid > 0)
        kill(-s->pid, SIGKILL);
    /* Without a pidfd (old kernels), look again shortly. */
    if (s->pidfd < 0 && s->pid > 0)
        s->kill_timer = loop_timer(s->hooks->loop, 50, kill_now, s);
}

static void
terminate(struct slot *s)
{
    if (s->pid <= 0)
        return;
    kill(-s->pid, SIGTERM);
    if (s->kill_timer == 0)
        s->kill_timer = loop_timer(s->hooks->loop, KILL_GRACE_MS, kill_now, s);
}

static void
on_timeout(void *arg)
{
    struct slot *s = arg;
    s->timer = 0;
    if (s->pid <= 0)
        return;
    log_warnx("hook %s: timed out; terminating it", s->hooks->conf->hooks[s->hook].name);
    s->timed_out = true;
    terminate(s);
}

static void start_or_report(struct slot *s);

static void
retry(void *arg)
{
    struct slot *s = arg;
    s->retry_timer = 0;
    start_or_report(s);
}

/* Reaps the child; decides between retrying, the queued run and reporting. */
static void
reaped(struct slot *s, int wstatus)
{
    const struct dconf_hook *hc = &s->hooks->conf->hooks[s->hook];
    int status;
    char what[64];

    if (s->pidfd >= 0) {
        loop_remove_fd(s->hooks->loop, s->pidfd);
        close(s->pidfd);
        s->pidfd = -1;
    }
    if (s->outfd >= 0) {
        /* Whatever it wrote before exiting; a grandchild may keep the pipe open. */
        on_output(s, POLLIN);
        if (s->outfd >= 0) {
            flush_line(s);
            loop_remove_fd(s->hooks->loop, s->outfd);
            close(s->outfd);
            s->outfd = -1;
        }
    }
    if (s->timer > 0)
        loop_timer_cancel(s->hooks->loop, s->timer);
    if (s->kill_timer > 0)
        loop_timer_cancel(s->hooks->loop, s->kill_timer);
    s->timer = s->kill_timer = 0;
    s->pid = 0;
    if (s->timed_out)
        status = -ETIMEDOUT;
    else if (WIFEXITED(wstatus))
        status = WEXITSTATUS(wstatus);
    else
        status = 128 + WTERMSIG(wstatus);
    hooks_status_str(status, what, sizeof(what));
    if (s->cancelled) {
        log_info("hook %s: %s run superseded (%s)", hc->name, s->cur.action, what);
        req_clear(&s->cur);
        if (s->next.set) {
            s->cur = s->next;
            memset(&s->next, 0, sizeof(s->next));
            s->attempt = 0;
            start_or_report(s);
        }
        return;
    }
    if (status != 0 && s->attempt <= hc->retries) {
        log_warnx("hook %s: %s failed (%s); retrying in %d ms (%d of %d)", hc->name, s->cur.action,
                  what, RETRY_DELAY_MS, s->attempt, hc->retries);
        s->retry_timer = loop_timer(s->hooks->loop, RETRY_DELAY_MS, retry, s);
        return;
    }
    if (status == 0)
        log_info("hook %s: %s done", hc->name, s->cur.action);
    else
        log_errx("hook %s: %s failed: %s", hc->name, s->cur.action, what);
    {
        struct run_req r = s->cur;
        memset(&s->cur, 0, sizeof(s->cur));
        s->hooks->done(s->hooks->arg, s->hook, r.site, r.action, r.id, status);
        env_free(r.env);
    }
}

static void
on_pidfd(void *arg, short revents)
{
    struct slot *s = arg;
    int wstatus = 0;
    (void)revents;

    if (s->pid <= 0 || waitpid(s->pid, &wstatus, WNOHANG) != s->pid)
        return;
    reaped(s, wstatus);
}

static void
poll_child(void *arg)
{
    struct slot *s = arg;
    int wstatus = 0;

    if (s->pid <= 0)
        return;
    if (waitpid(s->pid, &wstatus, WNOHANG) == s->pid)
        reaped(s, wstatus);
    else
        loop_timer(s->hooks->loop, 20, poll_child, s);
}

static void
start_or_report(struct slot *s)
{
    int rc;

    s->attempt++;
    rc = spawn(s);
    if (rc < 0) {
        struct run_req r = s->cur;
        log_errx("hook %s: cannot start %s: %s", s->hooks->conf->hooks[s->hook].name,
                 s->hooks->conf->hooks[s->hook].exec, strerror(-rc));
        memset(&s->cur, 0, sizeof(s->cur));
        s->hooks->done(s->hooks->arg, s->hook, r.site, r.action, r.id, rc);
        env_free(r.env);
        return;
    }
    if (s->pidfd < 0)
        loop_timer(s->hooks->loop, 20, poll_child, s);
}

int
hooks_init(struct hooks **out, const struct dconf *c, struct loop *l, hook_done_fn done, void *arg)
{
    struct hooks *h = xcalloc(1, sizeof(*h));

    h->conf = c;
    h->loop = l;
    h->done = done;
    h->arg = arg;
    for (int i = 0; i < DCONF_MAX_HOOKS; i++) {
        h->slots[i].hooks = h;
        h->slots[i].hook = i;
        h->slots[i].pidfd = -1;
        h->slots[i].outfd = -1;
    }
    *out = h;
    return 0;
}

int
hooks_run(struct hooks *h, int hook, int site, const char *action, uint64_t id, char *const *env)
{
    struct slot *s = &h->slots[hook];
    struct run_req r = {.set = true, .site = site, .id = id};

    snprintf(r.action, sizeof(r.action), "%s", action);
    r.env = env_copy(env);
    if (s->retry_timer > 0) {
        /* A failed run waiting to retry: the new request replaces it. */
        loop_timer_cancel(h->loop, s->retry_timer);
        s->retry_timer = 0;
        req_clear(&s->cur);
    }
    if (s->pid > 0) {
        req_clear(&s->next);
        s->next = r;
        s->cancelled = true;
        log_info("hook %s: terminating the running %s run for a new %s run",
                 h->conf->hooks[hook].name, s->cur.action, action);
        terminate(s);
        return 0;
    }
    s->cur = r;
    s->attempt = 0;
    start_or_report(s);
    return 0;
}

bool
hooks_running(const struct hooks *h, int hook)
{
    const struct slot *s = &h->slots[hook];
    return s->pid > 0 || s->retry_timer > 0 || s->next.set;
}

void
hooks_fini(struct hooks *h)
{
    if (h == NULL)
        return;
    for (int i = 0; i < DCONF_MAX_HOOKS; i++) {
        struct slot *s = &h->slots[i];
        if (s->pid > 0) {
            int64_t deadline = mono_ms() + KILL_GRACE_MS;
            kill(-s->pid, SIGTERM);
            while (waitpid(s->pid, NULL, WNOHANG) == 0) {
                struct timespec ts = {0, 10000000L};
                if (mono_ms() > deadline) {
                    kill(-s->pid, SIGKILL);
                    waitpid(s->pid, NULL, 0);
                    break;
                }
                nanosleep(&ts, NULL);
            }
        }
        if (s->pidfd >= 0)
            close(s->pidfd);
        if (s->outfd >= 0)
            close(s->outfd);
        req_clear(&s->cur);
        req_clear(&s->next);
    }
    free(h);
}
