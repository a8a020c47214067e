/*
 * Unit tests: ctlsock.c, the control-socket server in a real poll loop with
 * real unix sockets in a temporary directory, and its client.
 *
 * The server runs in this thread: run_for() turns the loop for a while and
 * returns, so a test can act as a client between turns.  ctlsock_request()
 * blocks, so it runs in a second thread that wakes the loop when it is done.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctlsock.h"
#include "loop.h"
#include "util.h"

#define BIG_ANSWER (2u << 20) /* ten times what a unix socket buffers */

struct fixture {
    char dir[64];
    char path[128];
    struct loop *loop;
    struct ctlsock *srv;
    int calls;
    size_t last_len;
    char last_req[256];
    uid_t uid;
    pid_t pid;
};

/* Answers "got:REQUEST"; "big" gets BIG_ANSWER bytes of 'x'. */
static char *
handler(void *arg, const char *req, size_t len, uid_t uid, pid_t pid)
{
    struct fixture *f = arg;
    char *out;

    f->calls++;
    f->last_len = len;
    snprintf(f->last_req, sizeof(f->last_req), "%s", req);
    f->uid = uid;
    f->pid = pid;
    if (strcmp(req, "big") == 0) {
        out = malloc(BIG_ANSWER + 1);
        memset(out, 'x', BIG_ANSWER);
        out[BIG_ANSWER] = '\0';
        return out;
    }
    out = malloc(len + 5);
    snprintf(out, len + 5, "got:%s", req);
    return out;
}

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    strcpy(f->dir, "/tmp/test_ctlsock.XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    snprintf(f->path, sizeof(f->path), "%s/ctl.sock", f->dir);
    if (loop_init(&f->loop) < 0)
        return -1;
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    ctlsock_close(f->srv);
    loop_fini(f->loop);
    unlink(f->path);
    rmdir(f->dir);
    free(f);
    return 0;
}

static void
open_srv(struct fixture *f, size_t max_request, int max_clients, int timeout_ms)
{
    struct ctlsock_limits lim = {max_request, max_clients, timeout_ms};
    assert_int_equal(ctlsock_open(&f->srv, f->path, 0600, &lim, f->loop, handler, f), 0);
}

static void
stop_loop(void *arg)
{
    loop_stop(arg);
}

/* Turns the loop for ms milliseconds; returns how long that took. */
static int64_t
run_for(struct loop *l, int ms)
{
    int64_t t0 = mono_ms();
    int id = loop_timer(l, ms, stop_loop, l);
    loop_run(l);
    loop_timer_cancel(l, id);
    return mono_ms() - t0;
}

static int
connect_to(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    strcpy(sa.sun_path, path);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

static void
send_str(int fd, const char *s)
{
    assert_int_equal(send(fd, s, strlen(s), MSG_NOSIGNAL), (ssize_t)strlen(s));
}

/* What the peer has sent so far, without waiting; *eof when it closed. */
static size_t
drain(int fd, char *buf, size_t cap, bool *eof)
{
    size_t len = 0;
    char sink[65536];

    *eof = false;
    for (;;) {
        char *dst = len + 1 < cap ? buf + len : sink;
        size_t room = len + 1 < cap ? cap - 1 - len : sizeof(sink);
        ssize_t r = recv(fd, dst, room, MSG_DONTWAIT);
        /* A server that closes with part of a too-long request unread
         * resets the connection once its answer has been read. */
        if (r == 0 || (r < 0 && errno == ECONNRESET))
            *eof = true;
        if (r <= 0)
            break;
        if (dst == buf + len)
            buf[len + (size_t)r] = '\0';
        len += (size_t)r;
    }
    if (cap > 0 && len < cap)
        buf[len] = '\0';
    return len;
}

/* Anything that should happen at once is given this long, so a loaded
 * machine or valgrind cannot fail a test by being slow. */
#define WAIT_MS 10000

static bool
no_clients(const struct fixture *f)
{
    return ctlsock_clients(f->srv) == 0;
}

static bool
some_client(const struct fixture *f)
{
    return ctlsock_clients(f->srv) > 0;
}

static bool
called(const struct fixture *f)
{
    return f->calls > 0;
}

/* Turns the loop in short slices until done(f) holds or WAIT_MS pass. */
static bool
run_until(struct fixture *f, bool (*done)(const struct fixture *))
{
    int64_t end = mono_ms() + WAIT_MS;
    while (!done(f)) {
        if (mono_ms() > end)
            return false;
        run_for(f->loop, 5);
    }
    return true;
}

/* Turns the loop until the server closes fd's connection; returns how many
 * bytes it sent (the first cap - 1 of them in buf, NUL-terminated). */
static size_t
answer(struct fixture *f, int fd, char *buf, size_t cap)
{
    int64_t end = mono_ms() + WAIT_MS;
    size_t len = 0;
    bool eof = false;

    buf[0] = '\0';
    while (!eof && mono_ms() < end) {
        size_t off = len < cap - 1 ? len : cap - 1;
        run_for(f->loop, 5);
        len += drain(fd, buf + off, cap - off, &eof);
    }
    assert_true(eof);
    return len;
}

/* One exchange as a client: connect, send req, turn the loop until the
 * server closes; returns answer()'s count. */
static size_t
ask(struct fixture *f, const char *req, char *buf, size_t cap)
{
    int fd = connect_to(f->path);
    size_t n;

    send_str(fd, req);
    n = answer(f, fd, buf, cap);
    close(fd);
    return n;
}

static void
test_request_response(void **state)
{
    struct fixture *f = *state;
    struct stat st;
    char buf[256];
    int fd;

    open_srv(f, 4096, 8, 1000);
    assert_int_equal(lstat(f->path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0600);

    assert_int_equal(ask(f, "hello\n", buf, sizeof(buf)), 10);
    assert_string_equal(buf, "got:hello\n");
    assert_int_equal(f->calls, 1);
    assert_int_equal(f->last_len, 5);
    assert_string_equal(f->last_req, "hello");
    assert_int_equal(f->uid, getuid());
    assert_int_equal(f->pid, getpid());
    assert_int_equal(ctlsock_clients(f->srv), 0);

    /* A request in pieces is one request. */
    fd = connect_to(f->path);
    send_str(fd, "he");
    run_for(f->loop, 20);
    send_str(fd, "llo again\nignored");
    answer(f, fd, buf, sizeof(buf));
    assert_string_equal(buf, "got:hello again\n");
    close(fd);
    assert_int_equal(f->calls, 2);

    /* Closing removes the socket file. */
    ctlsock_close(f->srv);
    f->srv = NULL;
    assert_int_equal(lstat(f->path, &st), -1);
    assert_int_equal(errno, ENOENT);
}

static void
test_eof_without_newline(void **state)
{
    struct fixture *f = *state;
    char buf[64];
    int fd;

    open_srv(f, 4096, 8, 1000);
    fd = connect_to(f->path);
    send_str(fd, "no newline");
    shutdown(fd, SHUT_WR);
    assert_int_equal(answer(f, fd, buf, sizeof(buf)), 0);
    assert_int_equal(f->calls, 0);
    assert_true(run_until(f, no_clients));
    close(fd);
}

/* A client that asks for a large answer and never reads it must not stall
 * the loop: others are served meanwhile, and it is dropped at its
 * timeout. */
static void
test_stuck_reader(void **state)
{
    struct fixture *f = *state;
    char buf[256];
    int64_t t0;
    size_t got;
    bool eof;
    int stuck;

    open_srv(f, 4096, 4, 3000);
    stuck = connect_to(f->path);
    send_str(stuck, "big\n");
    assert_true(run_until(f, called));
    assert_int_equal(ctlsock_clients(f->srv), 1); /* its answer is pending */

    /* A blocking write would hold the loop until the stuck client read or
     * timed out; instead the next client is served while it waits. */
    t0 = mono_ms();
    ask(f, "hello\n", buf, sizeof(buf));
    assert_string_equal(buf, "got:hello\n");
    assert_true(mono_ms() - t0 < 2000);
    assert_int_equal(ctlsock_clients(f->srv), 1);

    /* At its timeout: closed, with only part of the answer sent. */
    assert_true(run_until(f, no_clients));
    got = drain(stuck, buf, sizeof(buf), &eof);
    assert_true(eof);
    assert_true(got > 0);
    assert_true(got < BIG_ANSWER + 1);
    close(stuck);
}

/* A reader that keeps reading gets all of a large answer, however slowly
 * the socket takes it. */
static void
test_large_answer_delivered(void **state)
{
    struct fixture *f = *state;
    char buf[16];

    open_srv(f, 4096, 4, 8000);
    assert_int_equal(ask(f, "big\n", buf, sizeof(buf)), BIG_ANSWER + 1);
    assert_string_equal(buf, "xxxxxxxxxxxxxxx");
}

/* The peer vanishes before its answer is written: an error for the server,
 * not a SIGPIPE that kills this process. */
static void
test_peer_gone(void **state)
{
    struct fixture *f = *state;
    int fd;

    open_srv(f, 4096, 4, 1000);
    fd = connect_to(f->path);
    send_str(fd, "big\n");
    close(fd);
    assert_true(run_until(f, called));
    assert_true(run_until(f, no_clients));
}

static void
test_too_long(void **state)
{
    struct fixture *f = *state;
    char line[200], buf[256];

    open_srv(f, 64, 4, 1000);

    /* Exactly the limit is accepted. */
    memset(line, 'a', 64);
    strcpy(line + 64, "\n");
    ask(f, line, buf, sizeof(buf));
    assert_int_equal(f->calls, 1);
    assert_int_equal(f->last_len, 64);
    assert_true(strncmp(buf, "got:aaaa", 8) == 0);

    /* One more byte is refused, without calling the handler. */
    memset(line, 'b', 65);
    strcpy(line + 65, "\n");
    ask(f, line, buf, sizeof(buf));
    assert_string_equal(buf, "{\"ok\":false,\"error\":\"request too long\"}\n");
    assert_int_equal(f->calls, 1);

    /* So is a line that never ends. */
    memset(line, 'c', sizeof(line) - 1);
    line[sizeof(line) - 1] = '\0';
    ask(f, line, buf, sizeof(buf));
    assert_string_equal(buf, "{\"ok\":false,\"error\":\"request too long\"}\n");
    assert_int_equal(f->calls, 1);
}

static void
test_busy_and_idle(void **state)
{
    struct fixture *f = *state;
    char buf[128];
    bool eof;
    int a, b, c;

    open_srv(f, 4096, 2, 1000);
    a = connect_to(f->path);
    b = connect_to(f->path);
    c = connect_to(f->path);
    answer(f, c, buf, sizeof(buf));
    assert_string_equal(buf, "{\"ok\":false,\"error\":\"busy\"}\n");
    close(c);
    assert_int_equal(ctlsock_clients(f->srv), 2);
    assert_int_equal(drain(a, buf, sizeof(buf), &eof), 0);
    assert_false(eof);

    /* Clients that never send are closed at their timeout, and their
     * slots serve again. */
    assert_true(run_until(f, no_clients));
    assert_int_equal(drain(a, buf, sizeof(buf), &eof), 0);
    assert_true(eof);
    close(a);
    close(b);
    ask(f, "again\n", buf, sizeof(buf));
    assert_string_equal(buf, "got:again\n");
    assert_int_equal(f->calls, 1);
}

/* Progress does not extend the deadline: a client sending a byte at a
 * time is closed like an idle one. */
static void
test_slow_sender(void **state)
{
    struct fixture *f = *state;
    int64_t t0 = mono_ms();
    char buf[64];
    bool eof = false;
    int fd;

    open_srv(f, 4096, 4, 300);
    fd = connect_to(f->path);
    assert_true(run_until(f, some_client));
    while (ctlsock_clients(f->srv) > 0) {
        assert_true(mono_ms() - t0 < WAIT_MS);
        send(fd, "a", 1, MSG_NOSIGNAL);
        run_for(f->loop, 20);
    }
    assert_true(mono_ms() - t0 >= 300);
    assert_int_equal(drain(fd, buf, sizeof(buf), &eof), 0);
    assert_true(eof);
    assert_int_equal(f->calls, 0);
    close(fd);
}

static void
test_stale_replaced(void **state)
{
    struct fixture *f = *state;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    char buf[64];
    int fd;

    /* A socket file whose server is gone, as after a crash. */
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    strcpy(sa.sun_path, f->path);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(fd);
    assert_int_equal(access(f->path, F_OK), 0);

    open_srv(f, 4096, 4, 1000);
    ask(f, "x\n", buf, sizeof(buf));
    assert_string_equal(buf, "got:x\n");
}

static void
test_live_refused(void **state)
{
    struct fixture *f = *state;
    struct ctlsock *second = NULL;
    char other[160], buf[64];
    int fd;

    open_srv(f, 4096, 4, 1000);
    assert_int_equal(ctlsock_open(&second, f->path, 0600, NULL, f->loop, handler, f), -EADDRINUSE);
    assert_null(second);
    /* The first server still owns its socket. */
    ask(f, "still\n", buf, sizeof(buf));
    assert_string_equal(buf, "got:still\n");

    /* A file that is not a socket is never removed. */
    snprintf(other, sizeof(other), "%s/file", f->dir);
    fd = open(other, O_CREAT | O_WRONLY, 0600);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(ctlsock_open(&second, other, 0600, NULL, f->loop, handler, f), -EEXIST);
    assert_int_equal(access(other, F_OK), 0);
    unlink(other);

    /* Limits out of range are a caller's mistake. */
    {
        struct ctlsock_limits bad = {4096, 0, 1000};
        assert_int_equal(ctlsock_open(&second, other, 0600, &bad, f->loop, handler, f), -EINVAL);
    }
}

/* ---- client ---------------------------------------------------------- */

struct call {
    struct fixture *f;
    const char *path;
    const char *req;
    int timeout_ms;
    int rc;
    char *resp;
    char err[256];
};

static void *
call_thread(void *arg)
{
    struct call *c = arg;
    c->rc =
        ctlsock_request(c->path, "emberd", c->req, c->timeout_ms, &c->resp, c->err, sizeof(c->err));
    /* Wakes the loop (loop_run returns). */
    if (write(loop_wakeup_fd(c->f->loop), "x", 1) < 0)
        c->rc = -999;
    return NULL;
}

/* Runs one ctlsock_request against the loop, which turns until it returns
 * (the thread's wake-up stops it). */
static void
call(struct fixture *f, struct call *c)
{
    pthread_t t;

    c->f = f;
    assert_int_equal(pthread_create(&t, NULL, call_thread, c), 0);
    run_for(f->loop, 10000);
    pthread_join(t, NULL);
}

static void
test_client(void **state)
{
    struct fixture *f = *state;
    struct call c = {.path = f->path, .req = "ping", .timeout_ms = 8000};

    /* Generous limits: valgrind runs the two threads one at a time. */
    open_srv(f, 4096, 4, 8000);
    call(f, &c);
    assert_int_equal(c.rc, 0);
    assert_string_equal(c.resp, "got:ping");
    assert_int_equal(f->uid, getuid());
    assert_int_equal(f->pid, getpid());
    free(c.resp);

    /* A large answer arrives whole. */
    c = (struct call){.path = f->path, .req = "big", .timeout_ms = 8000};
    call(f, &c);
    assert_int_equal(c.rc, 0);
    assert_int_equal(strlen(c.resp), BIG_ANSWER);
    free(c.resp);

    /* An over-long request: the server's answer says so, also when the
     * server closes while the client is still sending. */
    for (size_t n = 5000; n <= (4u << 20); n *= 800) {
        char *big = malloc(n);
        memset(big, 'q', n - 1);
        big[n - 1] = '\0';
        c = (struct call){.path = f->path, .req = big, .timeout_ms = 8000};
        call(f, &c);
        assert_int_equal(c.rc, 0);
        assert_string_equal(c.resp, "{\"ok\":false,\"error\":\"request too long\"}");
        free(c.resp);
        free(big);
    }
}

static void
test_client_errors(void **state)
{
    struct fixture *f = *state;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    char err[256], *resp = (char *)"unset";
    int64_t t0;
    int fd, rc;

    rc = ctlsock_request(f->path, "emberd", "x", 1000, &resp, err, sizeof(err));
    assert_int_equal(rc, -ENOENT);
    assert_null(resp);
    assert_non_null(strstr(err, "cannot reach emberd at "));
    assert_non_null(strstr(err, f->path));

    /* Listening, never answering: the timeout. */
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    strcpy(sa.sun_path, f->path);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(fd, 4), 0);
    t0 = mono_ms();
    rc = ctlsock_request(f->path, "emberd", "x", 200, &resp, err, sizeof(err));
    assert_int_equal(rc, -ETIMEDOUT);
    assert_true(mono_ms() - t0 >= 200);
    assert_true(mono_ms() - t0 < 2000);
    assert_string_equal(err, "no answer from emberd within 200 ms");
    /* A new listener, so the next accept() is the next call's connection. */
    close(fd);
    unlink(f->path);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(fd, 4), 0);

    /* Accepted and closed with no answer. */
    {
        struct call c = {.path = f->path, .req = "x", .timeout_ms = 2000};
        pthread_t t;
        int cfd;
        c.f = f;
        assert_int_equal(pthread_create(&t, NULL, call_thread, &c), 0);
        char line[8];
        size_t n = 0;
        cfd = accept(fd, NULL, NULL);
        assert_true(cfd >= 0);
        /* Take the whole request first, so the close is no reset. */
        while (n < 2) {
            ssize_t r = recv(cfd, line + n, sizeof(line) - n, 0);
            assert_true(r > 0);
            n += (size_t)r;
        }
        assert_memory_equal(line, "x\n", 2);
        close(cfd);
        pthread_join(t, NULL);
        assert_int_equal(c.rc, -EPROTO);
        assert_string_equal(c.err, "empty answer from emberd");
    }
    close(fd);
    unlink(f->path);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_request_response, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eof_without_newline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stuck_reader, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_answer_delivered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_peer_gone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_long, setup, teardown),
        cmocka_unit_test_setup_teardown(test_busy_and_idle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slow_sender, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_replaced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_live_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
