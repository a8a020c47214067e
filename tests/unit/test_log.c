/* Unit tests: log.c - the plain terminal format, and sd-daemon priority
 * prefixes when stderr is the journal (JOURNAL_STREAM matches stderr). */
#include <errno.h>
#include <fcntl.h>
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

#include "log.h"

static char path[] = "/tmp/ember-log-XXXXXX";
static char out[4096];

/* Runs emit() with stderr on a scratch file, JOURNAL_STREAM set to that
 * file's device:inode when `journal` (to another file's otherwise, as a
 * child of a journal-connected parent would inherit it), and leaves what
 * was written in out. */
static void
capture(bool journal, enum log_level level, void (*emit)(void))
{
    int fd = mkstemp(path), saved = dup(STDERR_FILENO);
    struct stat st;
    char env[64];
    ssize_t n;

    assert_true(fd >= 0 && saved >= 0);
    assert_int_equal(fstat(fd, &st), 0);
    snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino + (journal ? 0 : 1));
    setenv("JOURNAL_STREAM", env, 1);
    fflush(stderr);
    assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
    log_init("emberd", true, level);
    emit();
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    unsetenv("JOURNAL_STREAM");
    n = pread(fd, out, sizeof(out) - 1, 0);
    assert_true(n >= 0);
    out[n] = '\0';
    close(fd);
    unlink(path);
    strcpy(path, "/tmp/ember-log-XXXXXX");
}

static void
emit_each(void)
{
    log_crit("alarm room-hot: critical activated (seq 7)");
    log_errx("cannot open %s", "x");
    log_warnx("alarm room-warm: warning activated (seq 8)");
    log_info("running");
    log_debug("polled %d", 3);
    errno = ENOENT;
    log_warn("open y");
}

static void
test_terminal_unchanged(void **state)
{
    (void)state;
    capture(false, LOG_LVL_DEBUG, emit_each);
    assert_string_equal(out, "emberd: warning: alarm room-hot: critical activated (seq 7)\n"
                             "emberd: error: cannot open x\n"
                             "emberd: warning: alarm room-warm: warning activated (seq 8)\n"
                             "emberd: running\n"
                             "emberd: debug: polled 3\n"
                             "emberd: warning: open y: No such file or directory\n");
}

static void
test_journal_priorities(void **state)
{
    (void)state;
    capture(true, LOG_LVL_DEBUG, emit_each);
    assert_string_equal(out, "<2>critical: alarm room-hot: critical activated (seq 7)\n"
                             "<3>error: cannot open x\n"
                             "<4>warning: alarm room-warm: warning activated (seq 8)\n"
                             "<6>running\n"
                             "<7>debug: polled 3\n"
                             "<4>warning: open y: No such file or directory\n");
}

/* Critical messages pass any threshold; below it the rest are dropped. */
static void
test_journal_threshold(void **state)
{
    (void)state;
    capture(true, LOG_LVL_ERR, emit_each);
    assert_string_equal(out, "<2>critical: alarm room-hot: critical activated (seq 7)\n"
                             "<3>error: cannot open x\n");
}

static void
emit_lines(void)
{
    log_warnx("reload: %s has errors:\n%s", "a.conf", "a.conf:1: one\na.conf:2: two\n");
}

/* Each line is its own journal record: each carries the priority. */
static void
test_journal_multiline(void **state)
{
    (void)state;
    capture(true, LOG_LVL_INFO, emit_lines);
    assert_string_equal(out, "<4>warning: reload: a.conf has errors:\n"
                             "<4>a.conf:1: one\n"
                             "<4>a.conf:2: two\n");
}

static void
test_stream_detection(void **state)
{
    (void)state;
    setenv("JOURNAL_STREAM", "garbage", 1);
    assert_false(log_stderr_is_journal());
    setenv("JOURNAL_STREAM", "1:2:3", 1);
    assert_false(log_stderr_is_journal());
    unsetenv("JOURNAL_STREAM");
    assert_false(log_stderr_is_journal());
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_terminal_unchanged), cmocka_unit_test(test_journal_priorities),
        cmocka_unit_test(test_journal_threshold),  cmocka_unit_test(test_journal_multiline),
        cmocka_unit_test(test_stream_detection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
