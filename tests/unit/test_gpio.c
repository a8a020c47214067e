/*
 * test_gpio.c - unit tests of agent/emberd/debounce.c and of the simulated
 * backend of agent/emberd/gpio.c.
 *
 * The debounce tests inject time: edges are (instant, level) pairs and the
 * "loop" wakes exactly at every deadline, as emberd's does.  The simulated
 * backend is tested end to end through a real FIFO in a private temporary
 * directory: lines are written to it as ember-sim would, gpio_fd() is polled,
 * gpio_dispatch() delivers the events.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "debounce.h"
#include "gpio.h"
#include "gpio_recorder.h"
#include "util.h"

#define MS 1000 /* microseconds */

/* ---- debounce, with injected time ---- */

struct edge {
    int64_t t_us;
    int level;
};

/* Plays edges through d as emberd's loop would: before each edge the loop
 * has woken at every deadline that passed and re-read the level then (the
 * level of the last edge before it); after the last edge it keeps waking
 * until no lockout is left.  Returns the number of changes written to out. */
static int
play(struct debounce *d, const struct edge *e, int n, struct debounce_change *out, int max)
{
    struct debounce_change ch[2];
    int level = d->raw, got = 0, k;

    for (int i = 0; i <= n; i++) {
        int64_t dl;
        while ((dl = debounce_deadline(d)) >= 0 && (i == n || dl <= e[i].t_us)) {
            k = debounce_expire(d, level, dl, ch);
            for (int j = 0; j < k; j++) {
                assert_true(got < max);
                out[got++] = ch[j];
            }
        }
        if (i == n)
            break;
        k = debounce_edge(d, e[i].level, e[i].t_us, ch);
        for (int j = 0; j < k; j++) {
            assert_true(got < max);
            out[got++] = ch[j];
        }
        level = e[i].level;
    }
    return got;
}

/* Consecutive changes alternate and are at least the window apart. */
static void
assert_well_spaced(const struct debounce_change *c, int n, int64_t window_us, int initial)
{
    for (int i = 0; i < n; i++) {
        assert_int_equal(c[i].value, i == 0 ? !initial : !c[i - 1].value);
        if (i > 0 && c[i].t_us - c[i - 1].t_us < window_us) {
            print_error("changes %d and %d only %lld us apart\n", i - 1, i,
                        (long long)(c[i].t_us - c[i - 1].t_us));
            fail();
        }
    }
}

static void
test_debounce_single_edge(void **state)
{
    (void)state;
    struct debounce d;
    struct debounce_change ch[2];

    debounce_init(&d, 20, 0, 1000 * MS);
    assert_int_equal(debounce_deadline(&d), -1);
    /* A clean edge is reported at once, stamped with its own instant. */
    assert_int_equal(debounce_edge(&d, 1, 1234 * MS + 567, ch), 1);
    assert_int_equal(ch[0].value, 1);
    assert_int_equal(ch[0].t_us, 1234 * MS + 567);
    assert_int_equal(d.value, 1);
    /* ... and starts a 20 ms lockout. */
    assert_int_equal(debounce_deadline(&d), 1254 * MS + 567);
    /* Too early: nothing happens. */
    assert_int_equal(debounce_expire(&d, 1, 1254 * MS, ch), 0);
    assert_int_equal(debounce_deadline(&d), 1254 * MS + 567);
    /* Still at 1 when the lockout ends: no second report, no lockout. */
    assert_int_equal(debounce_expire(&d, 1, 1254 * MS + 567, ch), 0);
    assert_int_equal(debounce_deadline(&d), -1);
    /* The same level again is not a change. */
    assert_int_equal(debounce_edge(&d, 1, 1300 * MS, ch), 0);
    assert_int_equal(debounce_deadline(&d), -1);
    /* The release, long after: also at once. */
    assert_int_equal(debounce_edge(&d, 0, 2000 * MS, ch), 1);
    assert_int_equal(ch[0].value, 0);
    assert_int_equal(ch[0].t_us, 2000 * MS);
}

static void
test_debounce_chatter(void **state)
{
    (void)state;
    struct edge e[200];
    struct debounce_change c[256];
    struct debounce d;
    int n;

    /* A contact chattering every 5 ms for 1 s (t = 0 .. 995 ms), debounce
     * 20 ms: at most one change per 20 ms, so <= 50. */
    for (int i = 0; i < 200; i++)
        e[i] = (struct edge){.t_us = (10000 + 5 * i) * MS, .level = i % 2 == 0};
    debounce_init(&d, 20, 0, 0);
    n = play(&d, e, 200, c, 256);
    assert_true(n >= 1 && n <= 50);
    assert_well_spaced(c, n, 20 * MS, 0);
    /* The first edge costs no delay. */
    assert_int_equal(c[0].t_us, 10000 * MS);
    assert_int_equal(c[0].value, 1);
    /* It ends where the contact ended (200 toggles from 0: 0), nothing pending. */
    assert_int_equal(d.value, 0);
    assert_int_equal(n == 0 ? 0 : c[n - 1].value, 0);
    assert_int_equal(debounce_deadline(&d), -1);

    /* The same chatter ending closed (one toggle fewer). */
    debounce_init(&d, 20, 0, 0);
    n = play(&d, e, 199, c, 256);
    assert_true(n >= 1);
    assert_well_spaced(c, n, 20 * MS, 0);
    assert_int_equal(d.value, 1);
    assert_int_equal(c[n - 1].value, 1);
    /* Changes are >= 20 ms apart from the first edge at 0 ms to the last
     * lockout, which ends at most 20 ms after the last edge (990 ms). */
    assert_true(c[n - 1].t_us <= (10000 + 990 + 20) * MS);
    assert_true(n <= 1 + (1010 / 20));
}

static void
test_debounce_chatter_jitter(void **state)
{
    (void)state;
    struct edge e[400];
    struct debounce_change c[400];
    struct debounce d;
    uint32_t seed = 12345;
    int64_t t = 50 * MS;
    int n, ne = 0, level = 0;

    /* Irregular chatter: 1..9 ms between edges for 1 s, settling closed. */
    while (t < 1050 * MS) {
        seed = seed * 1103515245u + 12345u;
        level = !level;
        e[ne++] = (struct edge){.t_us = t, .level = level};
        t += (1 + (seed >> 16) % 9) * MS;
    }
    if (level == 0)
        e[ne++] = (struct edge){.t_us = t, .level = 1};
    debounce_init(&d, 20, 0, 0);
    n = play(&d, e, ne, c, 400);
    assert_true(n <= 51);
    assert_well_spaced(c, n, 20 * MS, 0);
    assert_int_equal(c[0].t_us, 50 * MS);
    assert_int_equal(d.value, 1);
    assert_int_equal(c[n - 1].value, 1);

    /* The same edges read late, all in one batch, then one expiry far
     * later: the same guarantees. */
    debounce_init(&d, 20, 0, 0);
    n = 0;
    for (int i = 0; i < ne; i++)
        n += debounce_edge(&d, e[i].level, e[i].t_us, &c[n]);
    while (debounce_deadline(&d) >= 0)
        n += debounce_expire(&d, 1, 5000 * MS, &c[n]);
    assert_well_spaced(c, n, 20 * MS, 0);
    assert_int_equal(d.value, 1);
}

static void
test_debounce_bounce_settles_back(void **state)
{
    (void)state;
    /* Closes at 100 ms, bounces open/closed inside the lockout, stays closed. */
    static const struct edge e[] = {
        {100 * MS, 1}, {101 * MS, 0}, {103 * MS, 1}, {104 * MS, 0}, {106 * MS, 1},
    };
    struct debounce_change c[8];
    struct debounce d;
    int n;

    debounce_init(&d, 20, 0, 0);
    n = play(&d, e, 5, c, 8);
    assert_int_equal(n, 1);
    assert_int_equal(c[0].value, 1);
    assert_int_equal(c[0].t_us, 100 * MS);
    assert_int_equal(debounce_deadline(&d), -1);

    /* Same for an active input whose contact glitches open and back. */
    static const struct edge g[] = {{500 * MS, 0}, {500 * MS + 300, 1}};
    debounce_init(&d, 20, 1, 0);
    n = play(&d, g, 2, c, 8);
    /* Leading edge: the glitch itself is reported (lowest latency has that
     * price), and the lockout's end puts the value back. */
    assert_int_equal(n, 2);
    assert_int_equal(c[0].value, 0);
    assert_int_equal(c[1].value, 1);
    assert_int_equal(c[1].t_us, 520 * MS);
}

static void
test_debounce_final_level(void **state)
{
    (void)state;
    struct debounce d;
    struct debounce_change ch[2];

    /* Closed at 0, opened again 10 ms later inside the lockout: the
     * opening is not lost, it is reported when the lockout ends. */
    debounce_init(&d, 20, 0, 0);
    assert_int_equal(debounce_edge(&d, 1, 1000 * MS, ch), 1);
    assert_int_equal(debounce_edge(&d, 0, 1010 * MS, ch), 0);
    assert_int_equal(d.value, 1);
    assert_int_equal(debounce_deadline(&d), 1020 * MS);
    assert_int_equal(debounce_expire(&d, 0, 1020 * MS, ch), 1);
    assert_int_equal(ch[0].value, 0);
    assert_int_equal(ch[0].t_us, 1020 * MS);
    /* That report starts a new lockout. */
    assert_int_equal(debounce_deadline(&d), 1040 * MS);
    assert_int_equal(debounce_edge(&d, 1, 1030 * MS, ch), 0);
    /* The loop woke late: the re-read still decides, stamped at the end of
     * the lockout, and the next lockout counts from there. */
    assert_int_equal(debounce_expire(&d, 1, 1047 * MS, ch), 1);
    assert_int_equal(ch[0].value, 1);
    assert_int_equal(ch[0].t_us, 1040 * MS);
    assert_int_equal(debounce_deadline(&d), 1060 * MS);

    /* An edge that never arrived (a lost event): the re-read at the end of
     * the lockout disagrees with every edge seen; reported at re-read time. */
    assert_int_equal(debounce_expire(&d, 0, 1065 * MS, ch), 1);
    assert_int_equal(ch[0].value, 0);
    assert_int_equal(ch[0].t_us, 1065 * MS);
    assert_int_equal(debounce_expire(&d, 0, 1090 * MS, ch), 0);
    assert_int_equal(debounce_deadline(&d), -1);
}

static void
test_debounce_late_edge(void **state)
{
    (void)state;
    struct debounce d;
    struct debounce_change ch[2];

    /* Nobody ran the expiry: an edge after the lockout's end first closes
     * it with the level known then, so one call reports two changes. */
    debounce_init(&d, 20, 0, 0);
    assert_int_equal(debounce_edge(&d, 1, 100 * MS, ch), 1);
    assert_int_equal(debounce_edge(&d, 0, 105 * MS, ch), 0);
    assert_int_equal(debounce_edge(&d, 1, 150 * MS, ch), 2);
    assert_int_equal(ch[0].value, 0);
    assert_int_equal(ch[0].t_us, 120 * MS);
    assert_int_equal(ch[1].value, 1);
    assert_int_equal(ch[1].t_us, 150 * MS);
    assert_int_equal(debounce_deadline(&d), 170 * MS);
    /* Time never runs backwards: an older stamp counts as the latest. */
    assert_int_equal(debounce_edge(&d, 0, 10 * MS, ch), 0);
    assert_int_equal(d.last_us, 150 * MS);
}

static void
test_debounce_zero_window(void **state)
{
    (void)state;
    struct debounce d;
    struct debounce_change ch[2];

    debounce_init(&d, 0, 1, 0);
    assert_int_equal(d.value, 1);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(debounce_edge(&d, i % 2, i * 100, ch), 1);
        assert_int_equal(ch[0].t_us, i * 100);
        assert_int_equal(debounce_deadline(&d), -1);
    }
}

/* ---- simulated backend through a real FIFO ---- */

static char tmpdir[64];
static char fifo[128];
static char errbuf[512];

static const struct gpio_input_def inputs[] = {
    {.name = "smoke", .offset = 17, .active_low = true, .debounce_ms = 0},
    {.name = "door", .offset = 27, .active_low = true, .debounce_ms = 30},
};
static const struct gpio_output_def outputs[] = {
    {.name = "buzzer", .offset = 22},
    {.name = "relay", .offset = 23, .active_low = true},
};

static int
setup(void **state)
{
    (void)state;
    strcpy(tmpdir, "/tmp/test_gpio.XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        return -1;
    snprintf(fifo, sizeof(fifo), "%s/gpio.fifo", tmpdir);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    unlink(fifo);
    rmdir(tmpdir);
    return 0;
}

static struct gpio *
open_sim(void)
{
    struct gpio *g = NULL;
    int rc = gpio_open_err(&g, NULL, fifo, inputs, 2, outputs, 2, errbuf, sizeof(errbuf));

    if (rc != 0)
        print_error("gpio_open_err: %d %s\n", rc, errbuf);
    assert_int_equal(rc, 0);
    assert_non_null(g);
    return g;
}

static void
send(const char *text)
{
    int fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

/* Waits (at most 2 s) for gpio_fd() to be readable or the debounce deadline,
 * as emberd's loop does, then dispatches. */
static void
wait_dispatch(struct gpio *g, struct recorder *r)
{
    struct pollfd pfd = {.fd = gpio_fd(g), .events = POLLIN};
    int64_t dl = gpio_deadline_ms(g);
    int timeout = 2000;

    if (dl >= 0) {
        int64_t left = dl - mono_ms();
        timeout = left < 0 ? 0 : (int)left;
    }
    assert_true(poll(&pfd, 1, timeout) >= 0);
    assert_int_equal(gpio_dispatch(g, record, r), 0);
}

/* Runs gpio_dispatch() with stderr going to a file, again while the FIFO
 * stays readable (each call reads it once, as emberd's loop calls it once
 * per poll); returns what was logged (static buffer). */
static const char *
dispatch_logged(struct gpio *g, struct recorder *r)
{
    static char text[4096];
    char path[160];
    int saved, fd;
    ssize_t n;

    snprintf(path, sizeof(path), "%s/stderr", tmpdir);
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    fflush(stderr);
    saved = dup(2);
    dup2(fd, 2);
    for (int i = 0; i < 100; i++) {
        struct pollfd pfd = {.fd = gpio_fd(g), .events = POLLIN};

        assert_int_equal(gpio_dispatch(g, record, r), 0);
        if (poll(&pfd, 1, 0) <= 0)
            break;
    }
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    n = pread(fd, text, sizeof(text) - 1, 0);
    text[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(path);
    return text;
}

static void
test_sim_open_close(void **state)
{
    (void)state;
    struct gpio *g = open_sim();
    struct stat st;
    int v = -1;

    assert_true(gpio_is_simulated(g));
    assert_int_equal(lstat(fifo, &st), 0);
    assert_true(S_ISFIFO(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0660);
    assert_true(gpio_fd(g) >= 0);
    assert_int_equal(gpio_deadline_ms(g), -1);
    /* Simulated inputs start inactive, without an event. */
    assert_int_equal(gpio_get(g, 0, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(gpio_get(g, 1, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(gpio_get(g, 2, &v), -EINVAL);
    assert_int_equal(gpio_get(g, -1, &v), -EINVAL);
    assert_int_equal(gpio_input_find(g, "door"), 1);
    assert_int_equal(gpio_input_find(g, "buzzer"), -ENOENT);
    assert_int_equal(gpio_output_find(g, "relay"), 1);
    gpio_close(g);
    assert_int_equal(lstat(fifo, &st), -1);
    assert_int_equal(errno, ENOENT);
    gpio_close(NULL);
}

static void
test_sim_events(void **state)
{
    (void)state;
    struct gpio *g = open_sim();
    struct recorder r = {.n = 0};
    int64_t before_ms = real_ms(), before_us = mono_us();
    int v;

    send("smoke 1\n");
    wait_dispatch(g, &r);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.ev[0].input, 0);
    assert_int_equal(r.ev[0].value, 1);
    assert_true(r.ev[0].ts_ms >= before_ms && r.ev[0].ts_ms <= real_ms());
    assert_true(r.ev[0].mono_us >= before_us && r.ev[0].mono_us <= mono_us());
    assert_int_equal(gpio_get(g, 0, &v), 0);
    assert_int_equal(v, 1);

    /* No debounce on smoke: every change is reported; CRLF is fine; a line
     * may arrive in pieces. */
    send("smoke 0\r\nsmoke 1\n  smoke   0  \nsmo");
    send("ke 1\n");
    r.n = 0;
    wait_dispatch(g, &r);
    assert_int_equal(r.n, 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(r.ev[i].input, 0);
        assert_int_equal(r.ev[i].value, i % 2);
    }

    /* door debounces 30 ms: the first edge at once, the chatter after it
     * not, and the level it ends at when the lockout is over. */
    r.n = 0;
    send("door 1\ndoor 0\ndoor 1\ndoor 0\n");
    wait_dispatch(g, &r);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.ev[0].input, 1);
    assert_int_equal(r.ev[0].value, 1);
    assert_true(gpio_deadline_ms(g) >= r.ev[0].mono_us / 1000 + 30);
    while (gpio_deadline_ms(g) >= 0 && r.n < 2)
        wait_dispatch(g, &r);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.ev[1].input, 1);
    assert_int_equal(r.ev[1].value, 0);
    /* Stamped at the end of the lockout: 30 ms after the first edge. */
    assert_int_equal(r.ev[1].mono_us, r.ev[0].mono_us + 30 * MS);
    assert_true(r.ev[1].ts_ms - r.ev[0].ts_ms >= 29 && r.ev[1].ts_ms - r.ev[0].ts_ms <= 31);
    assert_int_equal(gpio_get(g, 1, &v), 0);
    assert_int_equal(v, 0);
    gpio_close(g);
}

/* One gpio_dispatch() reads the FIFO once: a writer that keeps it full
 * cannot hold emberd's loop (MQTT, timers, the control socket wait behind
 * it); the rest is read on the next calls. */
static void
test_sim_bounded_dispatch(void **state)
{
    (void)state;
    struct gpio *g = open_sim();
    struct recorder r = {.n = 0};
    struct pollfd pfd = {.events = POLLIN};
    char lines[2001];

    for (int i = 0; i < 200; i++)
        memcpy(lines + 10 * i, "# comment\n", 10);
    lines[2000] = '\0';
    send(lines);
    send("smoke 1\n");
    assert_int_equal(gpio_dispatch(g, record, &r), 0);
    pfd.fd = gpio_fd(g);
    assert_int_equal(poll(&pfd, 1, 0), 1); /* more to read: not all in one call */
    assert_int_equal(r.n, 0);
    dispatch_logged(g, &r);
    assert_int_equal(poll(&pfd, 1, 0), 0);
    assert_int_equal(r.n, 1); /* the line after them all */
    gpio_close(g);
}

static void
test_sim_bad_lines(void **state)
{
    (void)state;
    struct gpio *g = open_sim();
    struct recorder r = {.n = 0};
    char longline[600];
    const char *log;

    memset(longline, 'x', sizeof(longline) - 2);
    longline[sizeof(longline) - 2] = '\n';
    longline[sizeof(longline) - 1] = '\0';
    send("smoke\nsmoke 2\nsmoke 1 extra\nnosuch 1\n\n# a comment\nsmoke on\nbuzzer 1\n");
    send(longline);
    send("smoke 1\n");
    log = dispatch_logged(g, &r);
    /* Only the last line counts. */
    assert_int_equal(r.n, 1);
    assert_int_equal(r.ev[0].value, 1);
    /* Each bad line is logged once, naming the FIFO and the line; blank
     * lines and comments are not. */
    assert_non_null(strstr(log, "ignored 'smoke': expected 'NAME 0|1'"));
    assert_non_null(strstr(log, "ignored 'smoke 2'"));
    assert_non_null(strstr(log, "ignored 'smoke 1 extra'"));
    assert_non_null(strstr(log, "ignored 'smoke on'"));
    assert_non_null(strstr(log, "ignored 'nosuch 1': no input called 'nosuch'"));
    assert_non_null(strstr(log, "ignored 'buzzer 1': no input called 'buzzer'"));
    assert_non_null(strstr(log, "ignored a line longer than 256 bytes"));
    assert_non_null(strstr(log, fifo));
    assert_null(strstr(log, "comment"));
    {
        int lines = 0;
        for (const char *p = log; *p; p++)
            lines += *p == '\n';
        assert_int_equal(lines, 7);
    }
    gpio_close(g);
}

static void
test_sim_outputs(void **state)
{
    (void)state;
    struct gpio *g = open_sim();
    int v = -1;

    assert_int_equal(gpio_get_output(g, 0, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(gpio_set(g, 0, 1), 0);
    assert_int_equal(gpio_get_output(g, 0, &v), 0);
    assert_int_equal(v, 1);
    /* Logical values: active_low changes nothing here. */
    assert_int_equal(gpio_set(g, 1, 7), 0);
    assert_int_equal(gpio_get_output(g, 1, &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(gpio_set(g, 1, 0), 0);
    assert_int_equal(gpio_get_output(g, 1, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(gpio_set(g, 2, 1), -EINVAL);
    assert_int_equal(gpio_get_output(g, -1, &v), -EINVAL);
    gpio_close(g);
}

static void
test_sim_fifo_replacement(void **state)
{
    (void)state;
    struct gpio *g;
    struct stat st, st2;
    char path[160];
    FILE *fp;

    /* A stale FIFO (an emberd that crashed) is replaced. */
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(stat(fifo, &st), 0);
    g = open_sim();
    assert_int_equal(stat(fifo, &st2), 0);
    assert_true(S_ISFIFO(st2.st_mode));
    assert_int_equal(st2.st_mode & 0777, 0660);
    /* A FIFO that someone put there since is not ours to remove. */
    assert_int_equal(unlink(fifo), 0);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    gpio_close(g);
    assert_int_equal(stat(fifo, &st), 0);
    assert_int_equal(unlink(fifo), 0);

    /* Anything else at that path is refused and left alone. */
    fp = fopen(fifo, "w");
    assert_non_null(fp);
    fputs("precious\n", fp);
    fclose(fp);
    g = (struct gpio *)(void *)errbuf; /* gpio_open_err() must reset it to NULL */
    assert_int_equal(gpio_open_err(&g, NULL, fifo, inputs, 2, outputs, 2, errbuf, sizeof(errbuf)),
                     -EEXIST);
    assert_null(g);
    assert_non_null(strstr(errbuf, fifo));
    assert_non_null(strstr(errbuf, "not a FIFO"));
    assert_int_equal(stat(fifo, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_size, 9);
    assert_int_equal(unlink(fifo), 0);

    /* A directory that does not exist. */
    snprintf(path, sizeof(path), "%s/nodir/gpio.fifo", tmpdir);
    assert_int_equal(gpio_open_err(&g, NULL, path, inputs, 2, outputs, 2, errbuf, sizeof(errbuf)),
                     -ENOENT);
    assert_non_null(strstr(errbuf, path));
}

static void
test_open_bad_defs(void **state)
{
    (void)state;
    struct gpio *g = NULL;
    struct gpio_input_def in[2] = {
        {.name = "a", .offset = 1},
        {.name = "a", .offset = 2},
    };
    struct gpio_output_def o[1] = {{.name = "bad name", .offset = 3}};

    assert_int_equal(gpio_open_err(&g, NULL, fifo, in, 2, NULL, 0, errbuf, sizeof(errbuf)),
                     -EINVAL);
    assert_non_null(strstr(errbuf, "input a: name already used by input a"));
    assert_int_equal(gpio_open_err(&g, NULL, fifo, in, 1, o, 1, errbuf, sizeof(errbuf)), -EINVAL);
    assert_non_null(strstr(errbuf, "'bad name'"));
    in[1].name = "b";
    in[1].debounce_ms = -5;
    assert_int_equal(gpio_open_err(&g, NULL, fifo, in, 2, NULL, 0, errbuf, sizeof(errbuf)),
                     -EINVAL);
    assert_non_null(strstr(errbuf, "input b: negative debounce"));
    assert_int_equal(gpio_open_err(&g, NULL, NULL, in, 1, NULL, 0, errbuf, sizeof(errbuf)),
                     -EINVAL);
    /* Nothing was created on the way. */
    assert_int_equal(access(fifo, F_OK), -1);
    /* No inputs or outputs at all is fine. */
    assert_int_equal(gpio_open_err(&g, NULL, fifo, NULL, 0, NULL, 0, errbuf, sizeof(errbuf)), 0);
    assert_int_equal(gpio_dispatch(g, record, NULL), 0);
    gpio_close(g);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_debounce_single_edge),
        cmocka_unit_test(test_debounce_chatter),
        cmocka_unit_test(test_debounce_chatter_jitter),
        cmocka_unit_test(test_debounce_bounce_settles_back),
        cmocka_unit_test(test_debounce_final_level),
        cmocka_unit_test(test_debounce_late_edge),
        cmocka_unit_test(test_debounce_zero_window),
        cmocka_unit_test(test_sim_open_close),
        cmocka_unit_test(test_sim_events),
        cmocka_unit_test(test_sim_bounded_dispatch),
        cmocka_unit_test(test_sim_bad_lines),
        cmocka_unit_test(test_sim_outputs),
        cmocka_unit_test(test_sim_fifo_replacement),
        cmocka_unit_test(test_open_bad_defs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
