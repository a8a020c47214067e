/* Unit tests: ember-drain's HAProxy client and worker (agent/drain/haproxy.c)
 * against a small fake stats socket that keeps server states like HAProxy
 * 2.6 does: parsing of `show servers state`, idempotent convergence (nothing
 * sent when the state is already in effect), weights, maint, dry run, errors.
 * The real HAProxy is exercised by tests/integration/test_drain*.sh. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../agent/drain/haproxy.h"
#include "util.h"

/* What HAProxy 2.6.12 answered on this machine (two servers, s1 drained). */
static const char real_answer[] =
    "1\n"
    "# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight "
    "srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health "
    "srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord "
    "srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n"
    "2 web 1 s1 127.0.0.1 2 8 1 1 0 1 0 2 0 0 0 0 - 9001 - 0 0 - - 0\n"
    "2 web 2 s2 127.0.0.1 2 0 50 50 0 1 0 2 0 0 0 0 - 9002 - 0 0 - - 0\n"
    "\n";

static void
test_parse(void **state)
{
    struct hx_row rows[4];
    (void)state;

    assert_int_equal(haproxy_parse_state(real_answer, rows, 4), 2);
    assert_string_equal(rows[0].backend, "web");
    assert_string_equal(rows[0].server, "s1");
    assert_int_equal(rows[0].admin_state, 8);
    assert_string_equal(haproxy_state_name(&rows[0]), "drain");
    assert_string_equal(rows[1].server, "s2");
    assert_int_equal(rows[1].uweight, 50);
    assert_int_equal(rows[1].iweight, 50);
    assert_string_equal(haproxy_state_name(&rows[1]), "ready");
    rows[1].admin_state = HX_ADMF_FMAINT | HX_ADMF_FDRAIN;
    assert_string_equal(haproxy_state_name(&rows[1]), "maint");
    rows[1].admin_state = 0;
    rows[1].op_state = 0;
    assert_string_equal(haproxy_state_name(&rows[1]), "down");
    assert_int_equal(haproxy_parse_state("Can't find backend.\n\n", rows, 4), -EPROTO);
    assert_int_equal(haproxy_parse_state("", rows, 4), -EPROTO);
    /* A header with no rows: an empty backend. */
    assert_int_equal(haproxy_parse_state("1\n# be_id srv_admin_state\n\n", rows, 4), 0);
    /* At most max rows are stored. */
    assert_int_equal(haproxy_parse_state(real_answer, rows, 1), 1);
}

/* ---- a fake stats socket ------------------------------------------------ */

struct fake_srv {
    char be[16], name[16];
    int admin, uw, iw;
};

struct fake {
    char path[108];
    int fd;
    pthread_t th;
    pthread_mutex_t mu;
    volatile int stop;
    struct fake_srv srv[4];
    int nsrv;
    char log[32][128];
    int nlog;
};

static struct fake_srv *
fake_find(struct fake *f, const char *bs)
{
    for (int i = 0; i < f->nsrv; i++) {
        char n[40];
        snprintf(n, sizeof(n), "%s/%s", f->srv[i].be, f->srv[i].name);
        if (strcmp(n, bs) == 0)
            return &f->srv[i];
    }
    return NULL;
}

static void
fake_answer(struct fake *f, const char *cmd, char *out, size_t len)
{
    char a[64], b[64];
    struct fake_srv *s;

    out[0] = '\0';
    if (sscanf(cmd, "show servers state %63s", a) == 1) {
        size_t used = (size_t)snprintf(out, len,
                                       "1\n# be_id be_name srv_id srv_name srv_addr "
                                       "srv_op_state srv_admin_state srv_uweight "
                                       "srv_iweight\n");
        for (int i = 0; i < f->nsrv; i++)
            if (strcmp(f->srv[i].be, a) == 0)
                used += (size_t)snprintf(
                    out + used, len - used, "3 %s %d %s 127.0.0.1 2 %d %d %d 0 1 0\n", a, i + 1,
                    f->srv[i].name, f->srv[i].admin, f->srv[i].uw, f->srv[i].iw);
        snprintf(out + used, len - used, "\n");
        return;
    }
    if (sscanf(cmd, "set server %63s state %63s", a, b) == 2) {
        if ((s = fake_find(f, a)) == NULL) {
            snprintf(out, len, "No such server.\n\n");
            return;
        }
        if (strcmp(b, "drain") == 0)
            s->admin = (s->admin & ~1) | 8;
        else if (strcmp(b, "maint") == 0)
            s->admin |= 1;
        else if (strcmp(b, "ready") == 0)
            s->admin &= ~9;
        snprintf(out, len, "\n");
        return;
    }
    if (sscanf(cmd, "set weight %63s %63s", a, b) == 2 && (s = fake_find(f, a)) != NULL) {
        int w = atoi(b);
        s->uw = strchr(b, '%') ? s->iw * w / 100 : w;
        snprintf(out, len, "\n");
        return;
    }
    snprintf(out, len, "Unknown command.\n\n");
}

static void *
fake_main(void *arg)
{
    struct fake *f = arg;

    while (!f->stop) {
        struct pollfd p = {.fd = f->fd, .events = POLLIN};
        char buf[256], out[2048];
        ssize_t n;
        int c;
        if (poll(&p, 1, 50) <= 0)
            continue;
        c = accept(f->fd, NULL, NULL);
        if (c < 0)
            continue;
        n = read(c, buf, sizeof(buf) - 1);
        if (n > 0) {
            buf[n] = '\0';
            buf[strcspn(buf, "\n")] = '\0';
            pthread_mutex_lock(&f->mu);
            if (strncmp(buf, "show", 4) != 0 && f->nlog < 32)
                snprintf(f->log[f->nlog++], 128, "%.120s", buf);
            fake_answer(f, buf, out, sizeof(out));
            pthread_mutex_unlock(&f->mu);
            if (write(c, out, strlen(out)) < 0) {
                /* the client went away */
            }
        }
        close(c);
    }
    return NULL;
}

static struct fake *
fake_start(void)
{
    struct fake *f = calloc(1, sizeof(*f));
    struct sockaddr_un sa = {.sun_family = AF_UNIX};

    snprintf(f->path, sizeof(f->path), "/tmp/test_drain_hx.%d.sock", (int)getpid());
    unlink(f->path);
    strcpy(sa.sun_path, f->path);
    f->fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_int_equal(bind(f->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(f->fd, 16), 0);
    pthread_mutex_init(&f->mu, NULL);
    f->srv[0] = (struct fake_srv){"web", "s1", 0, 10, 10};
    f->srv[1] = (struct fake_srv){"web", "s2", 8, 10, 10}; /* already drained */
    f->srv[2] = (struct fake_srv){"api", "a1", 0, 4, 4};
    f->nsrv = 3;
    pthread_create(&f->th, NULL, fake_main, f);
    return f;
}

static void
fake_stop(struct fake *f)
{
    f->stop = 1;
    pthread_join(f->th, NULL);
    close(f->fd);
    unlink(f->path);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

static int
fake_count(struct fake *f, const char *prefix)
{
    int n = 0;
    pthread_mutex_lock(&f->mu);
    for (int i = 0; i < f->nlog; i++)
        n += strncmp(f->log[i], prefix, strlen(prefix)) == 0;
    pthread_mutex_unlock(&f->mu);
    return n;
}

static void
conf_for(struct dconf_haproxy *h, const char *path)
{
    memset(h, 0, sizeof(*h));
    strcpy(h->name, "hx");
    h->socket = (char *)path;
    h->timeout_ms = 1000;
    h->refresh_ms = 60000;
    h->nservers = 3;
    strcpy(h->servers[0].backend, "web");
    strcpy(h->servers[0].server, "s1");
    strcpy(h->servers[1].backend, "web");
    strcpy(h->servers[1].server, "s2");
    strcpy(h->servers[2].backend, "api");
    strcpy(h->servers[2].server, "a1");
}

/* Waits for the worker to finish generation `gen`. */
static void
wait_gen(struct haproxy *x, int notify_rd, uint64_t gen, struct hx_view *v)
{
    int64_t deadline = mono_ms() + 5000;
    for (;;) {
        struct pollfd p = {.fd = notify_rd, .events = POLLIN};
        char c;
        haproxy_view(x, v);
        if (v->done_gen == gen)
            return;
        assert_true(mono_ms() < deadline);
        if (poll(&p, 1, 100) > 0 && read(notify_rd, &c, 1) < 0)
            fail();
    }
}

static void
test_client(void **state)
{
    struct fake *f = fake_start();
    struct hx_addr a = {.path = f->path, .timeout_ms = 1000};
    struct hx_addr none = {.path = "/tmp/no-such-haproxy.sock", .timeout_ms = 200};
    char *out = NULL;
    (void)state;

    assert_int_equal(haproxy_command(&a, "show servers state web", &out), 0);
    assert_non_null(strstr(out, "web 2 s2"));
    free(out);
    assert_int_equal(haproxy_command(&a, "set server web/nope state drain", &out), 0);
    assert_string_equal(out, "No such server.\n\n");
    free(out);
    assert_int_equal(haproxy_command(&none, "show info", &out), -ENOENT);
    assert_null(out);
    fake_stop(f);
}

static void
test_converge(void **state)
{
    struct fake *f = fake_start();
    struct dconf_haproxy h;
    struct haproxy *x;
    struct hx_view v;
    struct hx_log logs[HX_LOG_MAX];
    int p[2];
    (void)state;

    assert_int_equal(pipe(p), 0);
    conf_for(&h, f->path);
    assert_int_equal(haproxy_start(&x, &h, false, p[1]), 0);
    /* Observe only: nothing sent, states read. */
    haproxy_want(x, HX_WANT_NONE, 1);
    wait_gen(x, p[0], 1, &v);
    assert_true(v.reachable);
    assert_string_equal(v.obs[0].state, "ready");
    assert_string_equal(v.obs[1].state, "drain");
    assert_int_equal(fake_count(f, "set"), 0);

    /* Drain: s2 is already drained, so only s1 and a1 get a command. */
    haproxy_want(x, HX_WANT_DRAIN, 2);
    wait_gen(x, p[0], 2, &v);
    assert_true(v.reached);
    assert_string_equal(v.obs[0].state, "drain");
    assert_string_equal(v.obs[2].state, "drain");
    assert_int_equal(fake_count(f, "set server web/s1 state drain"), 1);
    assert_int_equal(fake_count(f, "set server api/a1 state drain"), 1);
    assert_int_equal(fake_count(f, "set server web/s2"), 0);
    assert_int_equal(haproxy_take_log(x, logs, HX_LOG_MAX), 2);
    assert_string_equal(logs[0].result, "ok");
    /* Asked again (a restart): nothing is sent twice. */
    haproxy_want(x, HX_WANT_DRAIN, 3);
    wait_gen(x, p[0], 3, &v);
    assert_true(v.reached);
    assert_int_equal(fake_count(f, "set"), 2);

    /* Maint on top of drain. */
    haproxy_want(x, HX_WANT_MAINT, 4);
    wait_gen(x, p[0], 4, &v);
    assert_true(v.reached);
    assert_string_equal(v.obs[1].state, "maint");
    assert_int_equal(fake_count(f, "set"), 5);

    /* Ready: every forced drain/maint is cleared. */
    haproxy_want(x, HX_WANT_READY, 5);
    wait_gen(x, p[0], 5, &v);
    assert_true(v.reached);
    for (int i = 0; i < 3; i++)
        assert_string_equal(v.obs[i].state, "ready");
    haproxy_stop(x);

    /* Weight: set on drain, restored to 100% of the initial one on ready. */
    h.has_weight = true;
    h.weight = 0;
    assert_int_equal(haproxy_start(&x, &h, false, p[1]), 0);
    haproxy_want(x, HX_WANT_DRAIN, 1);
    wait_gen(x, p[0], 1, &v);
    assert_true(v.reached);
    assert_int_equal(v.obs[0].row.uweight, 0);
    assert_int_equal(fake_count(f, "set weight web/s1 0"), 1);
    haproxy_want(x, HX_WANT_READY, 2);
    wait_gen(x, p[0], 2, &v);
    assert_true(v.reached);
    assert_int_equal(v.obs[0].row.uweight, 10);
    assert_int_equal(v.obs[2].row.uweight, 4);
    assert_int_equal(fake_count(f, "set weight web/s1 100%"), 1);
    haproxy_stop(x);

    /* Dry run: reads, logs what it would send, sends nothing. */
    h.has_weight = false;
    {
        int before = fake_count(f, "set");
        assert_int_equal(haproxy_start(&x, &h, true, p[1]), 0);
        haproxy_want(x, HX_WANT_DRAIN, 1);
        wait_gen(x, p[0], 1, &v);
        assert_true(v.reached);
        assert_string_equal(v.obs[0].state, "ready");
        assert_int_equal(fake_count(f, "set"), before);
        assert_int_equal(haproxy_take_log(x, logs, HX_LOG_MAX), 3);
        assert_true(logs[0].dry);
        haproxy_stop(x);
    }

    /* A server HAProxy does not have: not reached, named in the error. */
    strcpy(h.servers[2].server, "ghost");
    assert_int_equal(haproxy_start(&x, &h, false, p[1]), 0);
    haproxy_want(x, HX_WANT_DRAIN, 1);
    wait_gen(x, p[0], 1, &v);
    assert_false(v.reached);
    assert_true(v.reachable);
    assert_string_equal(v.obs[2].state, "missing");
    assert_non_null(strstr(v.error, "no server api/ghost"));
    haproxy_stop(x);
    fake_stop(f);

    /* HAProxy not running: unreachable. */
    conf_for(&h, "/tmp/no-such-haproxy.sock");
    assert_int_equal(haproxy_start(&x, &h, false, p[1]), 0);
    haproxy_want(x, HX_WANT_DRAIN, 1);
    wait_gen(x, p[0], 1, &v);
    assert_false(v.reachable);
    assert_false(v.reached);
    assert_non_null(strstr(v.error, "show servers state web"));
    haproxy_stop(x);
    close(p[0]);
    close(p[1]);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_client),
        cmocka_unit_test(test_converge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
