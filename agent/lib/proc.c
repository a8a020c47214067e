/*
 * proc.c - child processes run from the poll loop, with their whole tree.
 *
 * A run's tree is everything descended from its main process (by parent
 * pid), everything in its session, every process recorded as a member by an
 * earlier look, and, when it is the only run going, orphans the kernel
 * re-parented to us that belong to no other run.  Members are recorded with
 * their start time so a recycled pid is never taken for one.
 */
#include "proc.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

extern char **environ;

#define MAX_MEMBERS 128
#define MAX_STRAYS 64
#define STRAY_REAP_MS 250
#define NOPIDFD_POLL_MS 20
#define OUTPUT_TAIL_MAX (1024 * 1024) /* read after the main process exited */

struct pinfo {
    pid_t pid, ppid, sid;
    unsigned long long start;
    bool mark;
};

struct member {
    pid_t pid;
    unsigned long long start;
};

struct proc {
    struct procs *ps;
    struct proc *next;
    /* The spec, copied. */
    char *name;
    char **argv;
    char **env;
    bool clean_env;
    char *input;
    size_t input_len;
    int64_t timeout_ms, retry_delay_ms, kill_grace_ms;
    int retries, max_lines_per_s;
    proc_output_fn output;
    proc_done_fn done;
    void *arg;
    /* The attempt running now. */
    pid_t pid; /* 0 when none */
    int pidfd, outfd, infd;
    size_t in_off;
    int timer, kill_timer, retry_timer, done_timer, poll_timer;
    int attempt;
    bool timed_out, stopping;
    int status;
    char line[512];
    size_t linelen;
    int64_t win_start_ms;
    int win_lines;
    uint64_t win_suppressed, lines, suppressed;
    struct member members[MAX_MEMBERS];
    int nmembers;
};

struct procs {
    struct loop *loop;
    struct proc *runs;
    pid_t strays[MAX_STRAYS]; /* orphans re-parented to us, to be reaped */
    int nstrays;
    int stray_timer;
};

void
proc_status_str(int status, int64_t timeout_ms, char *buf, size_t len)
{
    if (status == 0)
        snprintf(buf, len, "ok");
    else if (status == -ETIMEDOUT && timeout_ms <= 0)
        snprintf(buf, len, "timed out");
    else if (status == -ETIMEDOUT && timeout_ms % 1000 == 0)
        snprintf(buf, len, "timed out after %llds", (long long)(timeout_ms / 1000));
    else if (status == -ETIMEDOUT)
        snprintf(buf, len, "timed out after %lldms", (long long)timeout_ms);
    else if (status < 0)
        snprintf(buf, len, "cannot start: %s", strerror(-status));
    else if (status > 128)
        snprintf(buf, len, "killed by signal %d", status - 128);
    else
        snprintf(buf, len, "exit %d", status);
}

/* ---- the process table -------------------------------------------------- */

/* Reads every process's parent, session and start time from /proc.  Returns
 * the number of entries in *out (malloc'd), or -errno. */
static int
snapshot(struct pinfo **out)
{
    DIR *d = opendir("/proc");
    struct dirent *de;
    struct pinfo *tab = NULL;
    int n = 0, cap = 0;

    if (d == NULL)
        return -errno;
    while ((de = readdir(d)) != NULL) {
        char path[300], buf[1024], *p;
        struct pinfo pi = {0};
        char state;
        ssize_t r;
        int fd;

        if (!isdigit((unsigned char)de->d_name[0]))
            continue;
        snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
        if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
            continue; /* gone meanwhile */
        r = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (r <= 0)
            continue;
        buf[r] = '\0';
        /* The command name may hold spaces and parentheses: skip to the last ')'. */
        if ((p = strrchr(buf, ')')) == NULL)
            continue;
        pi.pid = (pid_t)atoi(buf);
        if (sscanf(p + 1,
                   " %c %d %*d %d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
                   &state, &pi.ppid, &pi.sid, &pi.start) != 4)
            continue;
        if (n == cap) {
            struct pinfo *nt;
            cap = cap ? cap * 2 : 256;
            nt = realloc(tab, (size_t)cap * sizeof(*tab));
            if (nt == NULL) {
                free(tab);
                closedir(d);
                return -ENOMEM;
            }
            tab = nt;
        }
        tab[n++] = pi;
    }
    closedir(d);
    *out = tab;
    return n;
}

static bool
is_member(const struct proc *p, const struct pinfo *pi)
{
    for (int i = 0; i < p->nmembers; i++)
        if (p->members[i].pid == pi->pid && p->members[i].start == pi->start)
            return true;
    return false;
}

static void
add_member(struct proc *p, const struct pinfo *pi)
{
    if (is_member(p, pi))
        return;
    if (p->nmembers == MAX_MEMBERS) /* keep the latest */
        memmove(&p->members[0], &p->members[1], sizeof(p->members[0]) * (MAX_MEMBERS - 1)),
            p->nmembers--;
    p->members[p->nmembers++] = (struct member){pi->pid, pi->start};
}

static bool
is_stray(const struct procs *ps, pid_t pid)
{
    for (int i = 0; i < ps->nstrays; i++)
        if (ps->strays[i] == pid)
            return true;
    return false;
}

static bool
is_main(const struct procs *ps, pid_t pid)
{
    for (const struct proc *q = ps->runs; q != NULL; q = q->next)
        if (q->pid == pid)
            return true;
    return false;
}

/* Whether an orphan re-parented to us, and not yet known, can only be p's. */
static bool
orphan_is_ours(const struct procs *ps, const struct proc *p, const struct pinfo *pi)
{
    if (pi->ppid != getpid() || is_main(ps, pi->pid) || is_stray(ps, pi->pid))
        return false;
    for (const struct proc *q = ps->runs; q != NULL; q = q->next)
        if (q != p && (q->pid > 0 || is_member(q, pi)))
            return false;
    return true;
}

/* Sends sig to p's whole tree and records its members. */
static void
tree_signal(struct proc *p, int sig)
{
    struct pinfo *tab = NULL;
    pid_t self = getpid();
    int n = snapshot(&tab);
    bool changed = true;

    for (int i = 0; i < n; i++) {
        struct pinfo *pi = &tab[i];
        pi->mark = (p->pid > 0 && (pi->pid == p->pid || pi->sid == p->pid)) || is_member(p, pi) ||
                   orphan_is_ours(p->ps, p, pi);
    }
    /* Descendants of anything marked, however deep. */
    while (changed) {
        changed = false;
        for (int i = 0; i < n; i++) {
            if (tab[i].mark)
                continue;
            for (int k = 0; k < n; k++) {
                if (tab[k].mark && tab[k].pid == tab[i].ppid) {
                    tab[i].mark = changed = true;
                    break;
                }
            }
        }
    }
    for (int i = 0; i < n; i++) {
        if (!tab[i].mark || tab[i].pid == self || tab[i].pid <= 1)
            continue;
        add_member(p, &tab[i]);
        kill(tab[i].pid, sig);
    }
    free(tab);
    /* The process group too, in case /proc could not be read. */
    if (p->pid > 0)
        kill(-p->pid, sig);
}

/* ---- orphans re-parented to us ------------------------------------------ */

static void reap_strays(void *arg);

/* Records our children that no run started (orphans of a tree) so they are
 * reaped when they exit. */
static void
adopt(struct procs *ps)
{
    struct pinfo *tab = NULL;
    pid_t self = getpid();
    int n = snapshot(&tab);

    for (int i = 0; i < n; i++) {
        if (tab[i].ppid != self || is_main(ps, tab[i].pid) || is_stray(ps, tab[i].pid))
            continue;
        if (ps->nstrays == MAX_STRAYS)
            break;
        ps->strays[ps->nstrays++] = tab[i].pid;
    }
    free(tab);
    if (ps->nstrays > 0 && ps->stray_timer == 0)
        ps->stray_timer = loop_timer(ps->loop, STRAY_REAP_MS, reap_strays, ps);
}

static void
reap_strays(void *arg)
{
    struct procs *ps = arg;
    bool reaped = false;

    ps->stray_timer = 0;
    for (int i = 0; i < ps->nstrays;) {
        pid_t r = waitpid(ps->strays[i], NULL, WNOHANG);
        if (r == ps->strays[i] || (r < 0 && errno == ECHILD)) {
            ps->strays[i] = ps->strays[--ps->nstrays];
            reaped = true;
            continue;
        }
        i++;
    }
    /* Its own children, if any, are ours now. */
    if (reaped)
        adopt(ps);
    if (ps->nstrays > 0 && ps->stray_timer == 0)
        ps->stray_timer = loop_timer(ps->loop, STRAY_REAP_MS, reap_strays, ps);
}

/* ---- output ------------------------------------------------------------- */

static void
suppressed_report(struct proc *p)
{
    if (p->win_suppressed > 0)
        log_warnx("%s: %llu output lines suppressed (more than %d a second)", p->name,
                  (unsigned long long)p->win_suppressed, p->max_lines_per_s);
    p->win_suppressed = 0;
}

static void
emit_line(struct proc *p)
{
    int64_t now = mono_ms();

    p->line[p->linelen] = '\0';
    p->linelen = 0;
    if (now - p->win_start_ms >= 1000) {
        suppressed_report(p);
        p->win_start_ms = now;
        p->win_lines = 0;
    }
    if (p->max_lines_per_s > 0 && p->win_lines >= p->max_lines_per_s) {
        p->win_suppressed++;
        p->suppressed++;
        return;
    }
    p->win_lines++;
    p->lines++;
    if (p->output != NULL)
        p->output(p->arg, p->line);
    else
        log_info("%s: %s", p->name, p->line);
}

static void
close_out(struct proc *p)
{
    if (p->outfd < 0)
        return;
    if (p->linelen > 0)
        emit_line(p);
    loop_remove_fd(p->ps->loop, p->outfd);
    close(p->outfd);
    p->outfd = -1;
}

/* Logs one read's worth of what the attempt wrote, line by line; over-long
 * lines are split.  Returns the bytes read, 0 when the pipe is closed (or
 * failed), -1 when it is empty for now. */
static ssize_t
read_output(struct proc *p)
{
    char buf[4096];
    ssize_t r;

    r = read(p->outfd, buf, sizeof(buf));
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return -1;
    if (r <= 0) {
        close_out(p);
        return 0;
    }
    for (ssize_t i = 0; i < r; i++) {
        if (buf[i] == '\n') {
            emit_line(p);
            continue;
        }
        if (p->linelen == sizeof(p->line) - 1)
            emit_line(p);
        p->line[p->linelen++] = buf[i];
    }
    return r;
}

static void
on_output(void *arg, short revents)
{
    (void)revents;
    read_output(arg);
}

/* ---- input -------------------------------------------------------------- */

static void
close_in(struct proc *p)
{
    if (p->infd < 0)
        return;
    loop_remove_fd(p->ps->loop, p->infd);
    close(p->infd);
    p->infd = -1;
}

static void
on_input(void *arg, short revents)
{
    struct proc *p = arg;
    ssize_t w;

    if (revents & (POLLERR | POLLHUP)) {
        close_in(p); /* it closed its stdin: the rest is not wanted */
        return;
    }
    w = write(p->infd, p->input + p->in_off, p->input_len - p->in_off);
    if (w < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (w < 0) {
        close_in(p);
        return;
    }
    p->in_off += (size_t)w;
    if (p->in_off == p->input_len)
        close_in(p);
}

/* ---- attempts ----------------------------------------------------------- */

static void on_pidfd(void *arg, short revents);
static void on_timeout(void *arg);
static void poll_child(void *arg);

static char **
build_env(const struct proc *p)
{
    size_t nenv = 0, nextra = 0, k = 0;
    char **envp;

    while (!p->clean_env && environ[nenv] != NULL)
        nenv++;
    while (p->env[nextra] != NULL)
        nextra++;
    envp = xcalloc(nenv + nextra + 1, sizeof(*envp));
    for (size_t i = 0; i < nenv; i++)
        if (strncmp(environ[i], "EMBER_", 6) != 0)
            envp[k++] = environ[i];
    for (size_t i = 0; i < nextra; i++)
        envp[k++] = p->env[i];
    return envp;
}

static int
spawn(struct proc *p)
{
    int outp[2], inp[2] = {-1, -1}, rc;
    char **envp;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t all, none;

    /* posix_spawn() does not report a failed exec everywhere (valgrind,
     * some libcs: the child exits 127); say why at once where we can. */
    if (access(p->argv[0], X_OK) < 0)
        return -errno;
    if (pipe2(outp, O_CLOEXEC) < 0)
        return -errno;
    if (p->input != NULL && pipe2(inp, O_CLOEXEC) < 0) {
        rc = -errno;
        close(outp[0]);
        close(outp[1]);
        return rc;
    }
    envp = build_env(p);
    posix_spawn_file_actions_init(&fa);
    if (p->input != NULL)
        posix_spawn_file_actions_adddup2(&fa, inp[0], 0);
    else
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
    posix_spawn_file_actions_adddup2(&fa, outp[1], 2);
    posix_spawnattr_init(&attr);
    sigfillset(&all);
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr,
                             POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    rc = posix_spawn(&p->pid, p->argv[0], &fa, &attr, p->argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    free(envp);
    close(outp[1]);
    if (inp[0] >= 0)
        close(inp[0]);
    if (rc != 0) {
        close(outp[0]);
        if (inp[1] >= 0)
            close(inp[1]);
        p->pid = 0;
        return -rc;
    }
    p->outfd = outp[0];
    fcntl(p->outfd, F_SETFL, fcntl(p->outfd, F_GETFL) | O_NONBLOCK);
    loop_add_fd(p->ps->loop, p->outfd, POLLIN, on_output, p);
    p->infd = inp[1];
    p->in_off = 0;
    if (p->infd >= 0) {
        fcntl(p->infd, F_SETFL, fcntl(p->infd, F_GETFL) | O_NONBLOCK);
        if (p->input_len == 0)
            close_in(p);
        else
            loop_add_fd(p->ps->loop, p->infd, POLLOUT, on_input, p);
    }
    p->pidfd = pidfd_open(p->pid, 0);
    if (p->pidfd >= 0 && loop_add_fd(p->ps->loop, p->pidfd, POLLIN, on_pidfd, p) < 0) {
        close(p->pidfd); /* the loop is full: look by timer instead */
        p->pidfd = -1;
    }
    if (p->pidfd < 0)
        p->poll_timer = loop_timer(p->ps->loop, NOPIDFD_POLL_MS, poll_child, p);
    p->timed_out = false;
    p->linelen = 0;
    p->win_start_ms = mono_ms();
    p->win_lines = 0;
    p->nmembers = 0;
    if (p->timeout_ms > 0)
        p->timer = loop_timer(p->ps->loop, p->timeout_ms, on_timeout, p);
    log_info("%s: started %s (pid %d, attempt %d)", p->name, p->argv[0], (int)p->pid, p->attempt);
    return 0;
}

static void
kill_now(void *arg)
{
    struct proc *p = arg;

    p->kill_timer = 0;
    if (p->pid > 0)
        tree_signal(p, SIGKILL);
}

static void
terminate(struct proc *p)
{
    if (p->pid <= 0)
        return;
    tree_signal(p, SIGTERM);
    if (p->kill_timer == 0)
        p->kill_timer = loop_timer(p->ps->loop, p->kill_grace_ms, kill_now, p);
}

static void
on_timeout(void *arg)
{
    struct proc *p = arg;
    char what[64];

    p->timer = 0;
    if (p->pid <= 0)
        return;
    proc_status_str(-ETIMEDOUT, p->timeout_ms, what, sizeof(what));
    log_warnx("%s: %s; terminating it", p->name, what);
    p->timed_out = true;
    terminate(p);
}

static void
unlink_run(struct proc *p)
{
    for (struct proc **pp = &p->ps->runs; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == p) {
            *pp = p->next;
            return;
        }
    }
}

static void
free_run(struct proc *p)
{
    free(p->name);
    strv_free(p->argv);
    strv_free(p->env);
    free(p->input);
    free(p);
}

/* Reports the run's outcome and frees it. */
static void
finish(struct proc *p)
{
    struct proc_result res = {p->status, p->attempt, p->lines, p->suppressed};

    unlink_run(p);
    p->done(p->arg, &res);
    free_run(p);
}

static void
finish_deferred(void *arg)
{
    struct proc *p = arg;
    p->done_timer = 0;
    finish(p);
}

static void
retry(void *arg)
{
    struct proc *p = arg;
    int rc;

    p->retry_timer = 0;
    p->attempt++;
    if ((rc = spawn(p)) < 0) {
        p->status = rc;
        finish(p);
    }
}

/* The attempt's main process has exited: code is its exit code, or 128 +
 * the signal that killed it. */
static void
reaped(struct proc *p, int code)
{
    char what[64];

    /* What is left of a tree being terminated goes now, while the main
     * process (a zombie until waited for) still holds its session id. */
    if (p->timed_out || p->stopping)
        tree_signal(p, SIGKILL);
    waitpid(p->pid, NULL, WNOHANG);
    if (p->pidfd >= 0) {
        loop_remove_fd(p->ps->loop, p->pidfd);
        close(p->pidfd);
        p->pidfd = -1;
    }
    if (p->poll_timer > 0)
        loop_timer_cancel(p->ps->loop, p->poll_timer);
    if (p->timer > 0)
        loop_timer_cancel(p->ps->loop, p->timer);
    if (p->kill_timer > 0)
        loop_timer_cancel(p->ps->loop, p->kill_timer);
    p->poll_timer = p->timer = p->kill_timer = 0;
    p->pid = 0;
    /* Whatever it wrote before exiting, up to a bound: a descendant may keep
     * the pipe open and writing. */
    for (size_t got = 0; p->outfd >= 0 && got < OUTPUT_TAIL_MAX;) {
        ssize_t r = read_output(p);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close_out(p);
    close_in(p);
    suppressed_report(p);
    adopt(p->ps);

    if (p->timed_out)
        p->status = -ETIMEDOUT;
    else
        p->status = code;
    if (p->status != 0 && !p->stopping && p->attempt <= p->retries) {
        proc_status_str(p->status, p->timeout_ms, what, sizeof(what));
        log_warnx("%s: failed (%s); retrying in %lld ms (%d of %d)", p->name, what,
                  (long long)p->retry_delay_ms, p->attempt, p->retries);
        p->retry_timer = loop_timer(p->ps->loop, p->retry_delay_ms, retry, p);
        return;
    }
    finish(p);
}

/* Whether the main process has exited; then handles that (p may be freed). */
static bool
check_exit(struct proc *p)
{
    siginfo_t si = {0};

    /* Peek without reaping, so the session id stays ours until reaped(). */
    if (p->pid <= 0 || waitid(P_PID, (id_t)p->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0 ||
        si.si_pid != p->pid)
        return false;
    reaped(p, si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status);
    return true;
}

static void
on_pidfd(void *arg, short revents)
{
    (void)revents;
    check_exit(arg);
}

/* Without pidfds (old kernels, valgrind): look every NOPIDFD_POLL_MS. */
static void
poll_child(void *arg)
{
    struct proc *p = arg;

    p->poll_timer = 0;
    if (p->pid <= 0 || check_exit(p))
        return;
    p->poll_timer = loop_timer(p->ps->loop, NOPIDFD_POLL_MS, poll_child, p);
}

/* ---- public ------------------------------------------------------------- */

/* Two runners would each take the other's children for orphans. */
static bool runner_exists;

int
procs_init(struct procs **out, struct loop *l)
{
    struct procs *ps;

    if (runner_exists)
        return -EBUSY;
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
        return -errno;
    runner_exists = true;
    ps = xcalloc(1, sizeof(*ps));
    ps->loop = l;
    *out = ps;
    return 0;
}

int
proc_start(struct procs *ps, const struct proc_spec *spec, struct proc **out)
{
    struct proc *p;
    int rc;

    if (spec->argv == NULL || spec->argv[0] == NULL || spec->done == NULL)
        return -EINVAL;
    p = xcalloc(1, sizeof(*p));
    p->ps = ps;
    p->name = xstrdup(spec->name ? spec->name : spec->argv[0]);
    p->argv = strv_dup(spec->argv);
    p->env = strv_dup(spec->env);
    p->clean_env = spec->clean_env;
    if (spec->input != NULL) {
        p->input = xcalloc(1, spec->input_len + 1);
        memcpy(p->input, spec->input, spec->input_len);
        p->input_len = spec->input_len;
    }
    p->timeout_ms = spec->timeout_ms;
    p->retries = spec->retries;
    p->retry_delay_ms = spec->retry_delay_ms;
    p->kill_grace_ms = spec->kill_grace_ms;
    p->max_lines_per_s = spec->max_lines_per_s;
    p->output = spec->output;
    p->done = spec->done;
    p->arg = spec->arg;
    p->pidfd = p->outfd = p->infd = -1;
    p->attempt = 1;
    /* Orphans from earlier runs must not be taken for this one's. */
    adopt(ps);
    if ((rc = spawn(p)) < 0) {
        free_run(p);
        return rc;
    }
    p->next = ps->runs;
    ps->runs = p;
    if (out != NULL)
        *out = p;
    return 0;
}

void
proc_stop(struct proc *p)
{
    p->stopping = true;
    if (p->retry_timer > 0) {
        /* Between attempts: it ended with the last one. */
        loop_timer_cancel(p->ps->loop, p->retry_timer);
        p->retry_timer = 0;
        if (p->done_timer == 0)
            p->done_timer = loop_timer(p->ps->loop, 0, finish_deferred, p);
        return;
    }
    terminate(p);
}

void
procs_fini(struct procs *ps)
{
    int64_t deadline = mono_ms();
    bool left = true;

    if (ps == NULL)
        return;
    for (struct proc *p = ps->runs; p != NULL; p = p->next) {
        if (p->pid <= 0)
            continue;
        tree_signal(p, SIGTERM);
        if (mono_ms() + p->kill_grace_ms > deadline)
            deadline = mono_ms() + p->kill_grace_ms;
    }
    /* Shutting down: waiting here is the point. */
    while (left && mono_ms() < deadline) {
        struct timespec ts = {0, 10000000L};
        siginfo_t si;
        left = false;
        for (struct proc *p = ps->runs; p != NULL; p = p->next) {
            memset(&si, 0, sizeof(si));
            if (p->pid > 0 && waitid(P_PID, (id_t)p->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
                si.si_pid != p->pid)
                left = true;
        }
        if (left)
            nanosleep(&ts, NULL);
    }
    while (ps->runs != NULL) {
        struct proc *p = ps->runs;
        int timers[] = {p->timer, p->kill_timer, p->retry_timer, p->done_timer, p->poll_timer};
        if (p->pid > 0) {
            tree_signal(p, SIGKILL);
            waitpid(p->pid, NULL, 0);
        }
        for (size_t i = 0; i < ARRAY_LEN(timers); i++)
            if (timers[i] > 0)
                loop_timer_cancel(ps->loop, timers[i]);
        if (p->pidfd >= 0) {
            loop_remove_fd(ps->loop, p->pidfd);
            close(p->pidfd);
        }
        if (p->outfd >= 0) {
            loop_remove_fd(ps->loop, p->outfd);
            close(p->outfd);
        }
        close_in(p);
        ps->runs = p->next;
        free_run(p);
    }
    /* Orphans left by the trees just killed; leftovers of runs that ended
     * normally are init's once we exit. */
    for (int i = 0; i < ps->nstrays; i++)
        waitpid(ps->strays[i], NULL, WNOHANG);
    if (ps->stray_timer > 0)
        loop_timer_cancel(ps->loop, ps->stray_timer);
    free(ps);
    runner_exists = false;
}
