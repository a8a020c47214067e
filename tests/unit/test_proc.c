/* Unit tests: agent/lib/proc.c with real child processes (/bin/sh -c):
 * the environment a run gets, a JSON payload on stdin, exit statuses,
 * timeouts, retries, killing the whole tree (descendants that called
 * setsid() included) and the output rate limit. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>
#include <cmocka.h>

#include "loop.h"
#include "proc.h"
#include "util.h"

#define MAX_KEPT 16

struct ctx {
    struct loop *loop;
    struct procs *ps;
    struct proc *run;
    bool done;
    bool expired;
    struct proc_result res;
    int nlines;
    char lines[MAX_KEPT][512];
    const char *stop_on; /* proc_stop() when this line arrives */
    char dir[64];
    char path[128];
};

static void
on_line(void *arg, const char *line)
{
    struct ctx *c = arg;

    if (c->nlines < MAX_KEPT)
        snprintf(c->lines[c->nlines], sizeof(c->lines[0]), "%s", line);
    c->nlines++;
    if (c->stop_on != NULL && strcmp(line, c->stop_on) == 0)
        proc_stop(c->run);
}

static void
on_done(void *arg, const struct proc_result *res)
{
    struct ctx *c = arg;

    c->res = *res;
    c->done = true;
    c->run = NULL;
    loop_stop(c->loop);
}

static void
on_expiry(void *arg)
{
    struct ctx *c = arg;
    c->expired = true;
    loop_stop(c->loop);
}

static int
setup(void **state)
{
    struct ctx *c = xcalloc(1, sizeof(*c));

    if (loop_init(&c->loop) < 0 || procs_init(&c->ps, c->loop) < 0)
        return -1;
    snprintf(c->dir, sizeof(c->dir), "/tmp/test_proc.XXXXXX");
    if (mkdtemp(c->dir) == NULL)
        return -1;
    *state = c;
    return 0;
}

static int
teardown(void **state)
{
    struct ctx *c = *state;
    char cmd[128];

    procs_fini(c->ps);
    loop_fini(c->loop);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", c->dir);
    if (system(cmd) != 0)
        return -1;
    free(c);
    return 0;
}

/* A spec running `script` with /bin/sh; the working directory is c->dir. */
static struct proc_spec
sh_spec(struct ctx *c, const char *script, char **argv)
{
    argv[0] = "/bin/sh";
    argv[1] = "-c";
    argv[2] = (char *)script;
    argv[3] = NULL;
    return (struct proc_spec){
        .name = "test",
        .argv = argv,
        .kill_grace_ms = 200,
        .output = on_line,
        .done = on_done,
        .arg = c,
    };
}

/* Runs the loop until the run is done (10 s at most: a hung run fails). */
static void
run_until_done(struct ctx *c, const struct proc_spec *spec)
{
    int t;

    c->done = c->expired = false;
    c->nlines = 0;
    assert_int_equal(proc_start(c->ps, spec, &c->run), 0);
    t = loop_timer(c->loop, 10000, on_expiry, c);
    while (!c->done && !c->expired)
        loop_run(c->loop);
    loop_timer_cancel(c->loop, t);
    assert_false(c->expired);
    assert_true(c->done);
}

static void
test_env(void **state)
{
    struct ctx *c = *state;
    char *argv[4];
    char *env[] = {"EMBER_ACTION=drain", "EMBER_SITE=lab one", NULL};
    struct proc_spec s = sh_spec(
        c, "echo \"$EMBER_ACTION|$EMBER_SITE|${EMBER_OWN-unset}|${TEST_PROC_VAR-unset}\"", argv);

    /* The caller's own EMBER_* stay out; the rest is inherited. */
    setenv("EMBER_OWN", "mine", 1);
    setenv("TEST_PROC_VAR", "inherited", 1);
    s.env = env;
    run_until_done(c, &s);
    assert_int_equal(c->res.status, 0);
    assert_int_equal(c->nlines, 1);
    assert_string_equal(c->lines[0], "drain|lab one|unset|inherited");

    /* A clean environment holds only what the caller gives. */
    s.clean_env = true;
    run_until_done(c, &s);
    assert_int_equal(c->nlines, 1);
    assert_string_equal(c->lines[0], "drain|lab one|unset|unset");
    unsetenv("EMBER_OWN");
    unsetenv("TEST_PROC_VAR");
}

static void
test_json_stdin(void **state)
{
    struct ctx *c = *state;
    char *argv[4];
    struct proc_spec s = sh_spec(c, "cat", argv);
    cJSON *o = cJSON_CreateObject();
    char *json, *big, want[32];
    cJSON *back;

    cJSON_AddStringToObject(o, "site", "lab");
    cJSON_AddNumberToObject(o, "drain_id", 7);
    json = cJSON_PrintUnformatted(o);
    s.input = json;
    s.input_len = strlen(json);
    run_until_done(c, &s);
    assert_int_equal(c->res.status, 0);
    assert_int_equal(c->nlines, 1);
    back = cJSON_Parse(c->lines[0]);
    assert_non_null(back);
    assert_string_equal(cJSON_GetObjectItem(back, "site")->valuestring, "lab");
    assert_int_equal(cJSON_GetObjectItem(back, "drain_id")->valueint, 7);
    cJSON_Delete(back);

    /* More than a pipe holds: written as the child reads, never blocking. */
    cJSON_AddStringToObject(o, "pad", "");
    big = xcalloc(1, 300001);
    memset(big, 'x', 300000);
    cJSON_ReplaceItemInObject(o, "pad", cJSON_CreateString(big));
    free(json);
    json = cJSON_PrintUnformatted(o);
    s = sh_spec(c, "wc -c", argv);
    s.input = json;
    s.input_len = strlen(json);
    run_until_done(c, &s);
    assert_int_equal(c->res.status, 0);
    assert_int_equal(c->nlines, 1);
    snprintf(want, sizeof(want), "%zu", strlen(json));
    assert_string_equal(c->lines[0], want);

    /* A child that never reads its stdin does not hold the run up. */
    s = sh_spec(c, "exit 0", argv);
    s.input = json;
    s.input_len = strlen(json);
    run_until_done(c, &s);
    assert_int_equal(c->res.status, 0);

    /* Without input, stdin is /dev/null. */
    s = sh_spec(c, "cat; echo end", argv);
    run_until_done(c, &s);
    assert_int_equal(c->nlines, 1);
    assert_string_equal(c->lines[0], "end");
    free(big);
    free(json);
    cJSON_Delete(o);
}

static void
test_exit_status(void **state)
{
    struct ctx *c = *state;
    char *argv[4], buf[64];
    struct proc_spec s = sh_spec(c, "echo out; echo err >&2; exit 3", argv);
    char *bad[] = {"/nonexistent/program", NULL};

    run_until_done(c, &s);
    assert_int_equal(c->res.status, 3);
    assert_int_equal(c->res.attempts, 1);
    assert_int_equal(c->nlines, 2);
    assert_string_equal(c->lines[0], "out");
    assert_string_equal(c->lines[1], "err");
    proc_status_str(c->res.status, 0, buf, sizeof(buf));
    assert_string_equal(buf, "exit 3");

    s = sh_spec(c, "kill -9 $$", argv);
    run_until_done(c, &s);
    assert_int_equal(c->res.status, 128 + 9);
    proc_status_str(c->res.status, 0, buf, sizeof(buf));
    assert_string_equal(buf, "killed by signal 9");

    s = sh_spec(c, "true", argv);
    run_until_done(c, &s);
    assert_int_equal(c->res.status, 0);
    proc_status_str(c->res.status, 0, buf, sizeof(buf));
    assert_string_equal(buf, "ok");

    /* A first attempt that cannot start is reported at once. */
    s.argv = bad;
    assert_int_equal(proc_start(c->ps, &s, NULL), -ENOENT);
    proc_status_str(-ENOENT, 0, buf, sizeof(buf));
    assert_string_equal(buf, "cannot start: No such file or directory");
    proc_status_str(-ETIMEDOUT, 10000, buf, sizeof(buf));
    assert_string_equal(buf, "timed out after 10s");
}

static void
test_timeout(void **state)
{
    struct ctx *c = *state;
    char *argv[4], buf[64];
    /* SIGTERM is ignored: the kill after the grace period ends it. */
    struct proc_spec s = sh_spec(c, "trap '' TERM; echo started; exec sleep 100", argv);

    s.timeout_ms = 200;
    s.kill_grace_ms = 100;
    run_until_done(c, &s);
    assert_int_equal(c->res.status, -ETIMEDOUT);
    assert_int_equal(c->nlines, 1);
    proc_status_str(c->res.status, s.timeout_ms, buf, sizeof(buf));
    assert_string_equal(buf, "timed out after 200ms");
}

static int
count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    int n = 0, ch;

    if (f == NULL)
        return 0;
    while ((ch = fgetc(f)) != EOF)
        n += ch == '\n';
    fclose(f);
    return n;
}

/* Runs script with `retries` and checks the status, the attempts made and
 * the lines in c->path (each attempt appends one). */
static void
retry_case(struct ctx *c, const char *script, int retries, int status, int attempts, int total)
{
    char *argv[4];
    struct proc_spec s = sh_spec(c, script, argv);

    s.retries = retries;
    s.retry_delay_ms = 20;
    run_until_done(c, &s);
    assert_int_equal(c->res.status, status);
    assert_int_equal(c->res.attempts, attempts);
    assert_int_equal(count_lines(c->path), total);
}

static void
test_retries(void **state)
{
    struct ctx *c = *state;
    char *argv[4], script[512];
    struct proc_spec s;

    snprintf(c->path, sizeof(c->path), "%s/runs", c->dir);
    snprintf(script, sizeof(script), "echo run >>%s; exit 1", c->path);
    retry_case(c, script, 2, 1, 3, 3);
    /* Success on the second attempt ends the retries. */
    snprintf(script, sizeof(script), "echo run >>%s; [ $(wc -l <%s) -ge 5 ]", c->path, c->path);
    retry_case(c, script, 5, 0, 2, 5);

    /* A timed-out attempt is retried too. */
    s = sh_spec(c, "exec sleep 100", argv);
    s.timeout_ms = 100;
    s.retries = 1;
    s.retry_delay_ms = 20;
    run_until_done(c, &s);
    assert_int_equal(c->res.status, -ETIMEDOUT);
    assert_int_equal(c->res.attempts, 2);
}

static pid_t
read_pid(const char *path)
{
    FILE *f = fopen(path, "r");
    int pid = 0;

    assert_non_null(f);
    assert_int_equal(fscanf(f, "%d", &pid), 1);
    fclose(f);
    return (pid_t)pid;
}

static void
gone_check(void *arg)
{
    struct ctx *c = arg;
    loop_stop(c->loop);
}

/* Runs the loop (which reaps orphans) until pid no longer exists. */
static void
assert_gone(struct ctx *c, pid_t pid)
{
    int64_t deadline = mono_ms() + 10000;

    while (kill(pid, 0) == 0 && mono_ms() < deadline) {
        loop_timer(c->loop, 50, gone_check, c);
        loop_run(c->loop);
    }
    assert_int_equal(kill(pid, 0), -1);
    assert_int_equal(errno, ESRCH);
}

/* The script starts a descendant in its own session that writes its pid to
 * c->path, says "ready", and waits; stopping the run kills the descendant. */
static void
tree_case(struct ctx *c, const char *spawn_fmt, int64_t timeout_ms)
{
    char *argv[4], script[1024], inner[512];
    struct proc_spec s;
    pid_t gpid;

    snprintf(c->path, sizeof(c->path), "%s/gpid", c->dir);
    unlink(c->path);
    snprintf(inner, sizeof(inner), "echo $$ >%s.tmp; mv %s.tmp %s; exec sleep 100", c->path,
             c->path, c->path);
    snprintf(script, sizeof(script), spawn_fmt, inner);
    snprintf(script + strlen(script), sizeof(script) - strlen(script),
             "\nwhile [ ! -e %s ]; do sleep 0.01; done; echo ready; sleep 100", c->path);
    s = sh_spec(c, script, argv);
    s.timeout_ms = timeout_ms;
    c->stop_on = timeout_ms > 0 ? NULL : "ready";
    run_until_done(c, &s);
    c->stop_on = NULL;
    assert_int_equal(c->nlines, 1);
    assert_string_equal(c->lines[0], "ready");
    if (timeout_ms > 0)
        assert_int_equal(c->res.status, -ETIMEDOUT);
    else
        assert_int_equal(c->res.status, 128 + SIGTERM);
    gpid = read_pid(c->path);
    assert_true(gpid > 0);
    assert_gone(c, gpid);
}

static void
test_tree_setsid(void **state)
{
    struct ctx *c = *state;

    /* Its parent alive, in another session. */
    tree_case(c, "setsid sh -c '%s' &", 0);
    /* Orphaned as well: its parent exited at once (re-parented to us). */
    tree_case(c, "(setsid sh -c '%s' &)", 0);
    /* The same on a timeout. */
    tree_case(c, "(setsid sh -c '%s' &)", 1500);
}

static void
test_flood(void **state)
{
    struct ctx *c = *state;
    char *argv[4];
    struct proc_spec s =
        sh_spec(c, "i=0; while [ $i -lt 5000 ]; do echo line $i; i=$((i+1)); done", argv);
    int64_t t0 = mono_ms(), elapsed;

    s.max_lines_per_s = 50;
    run_until_done(c, &s);
    elapsed = mono_ms() - t0;
    assert_int_equal(c->res.status, 0);
    assert_int_equal((uint64_t)c->nlines, c->res.lines);
    assert_int_equal(c->res.lines + c->res.suppressed, 5000);
    assert_true(c->res.suppressed > 0);
    /* At most 50 in each second the run lasted (a window starts at the first
     * line). */
    assert_true(c->res.lines <= (uint64_t)(50 * (elapsed / 1000 + 1)));
    assert_string_equal(c->lines[0], "line 0");

    /* Without a limit every line arrives. */
    s.max_lines_per_s = 0;
    run_until_done(c, &s);
    assert_int_equal(c->res.lines, 5000);
    assert_int_equal(c->res.suppressed, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_env, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_stdin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exit_status, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tree_setsid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flood, setup, teardown),
    };

    /* As in both daemons: a child closing its stdin is an EPIPE, not death. */
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
