/* Unit tests: cfgfile_read_key(), one key of one section through its row;
 * cfgfile_parse() on what editors and mistakes produce: a UTF-8 byte order
 * mark, a singleton section written twice, a FIFO. */
#include <errno.h>
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

#include "cfgfile.h"

struct target {
    char *control;
    int port;
};

static const struct cfg_directive control = {
    "control", CFG_PATH, offsetof(struct target, control), 0, 0, NULL, NULL, CFG_APPLY};
static const struct cfg_directive port = {
    "port", CFG_INT, offsetof(struct target, port), 1, 65535, NULL, NULL, CFG_APPLY};

static char dir[64];
static char file[128];

static int
setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/test_cfgfile.XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(file, sizeof(file), "%s/x.conf", dir);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    unlink(file);
    rmdir(dir);
    return 0;
}

static void
write_file(const char *text)
{
    FILE *fp = fopen(file, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static void
test_found(void **state)
{
    struct target t = {0};
    struct cfgerr err = {0};
    char want[160];
    (void)state;

    /* Other sections' keys of the same name, and everything else, are not
     * looked at: not even a value that the full parse would refuse. */
    write_file("[mqtt]\ncontrol = /elsewhere\nport = many\n[agent]\nsite = lab\n"
               "control = run/ctl.sock\n[bus x]\nparity = maybe\n");
    assert_int_equal(cfgfile_read_key(file, "agent", &control, &t, &err), 1);
    snprintf(want, sizeof(want), "%s/run/ctl.sock", dir);
    assert_string_equal(t.control, want); /* relative to the file, as in the full parse */
    assert_int_equal(err.count, 0);
    free(t.control);
    t.control = NULL;

    assert_int_equal(cfgfile_read_key(file, "mqtt", &control, &t, &err), 1);
    assert_string_equal(t.control, "/elsewhere");
    free(t.control);
}

static void
test_absent(void **state)
{
    struct target t = {.port = 7};
    struct cfgerr err = {0};
    (void)state;

    write_file("[agent]\nsite = lab\n");
    assert_int_equal(cfgfile_read_key(file, "agent", &control, &t, &err), 0);
    assert_null(t.control);
    assert_int_equal(cfgfile_read_key(file, "mqtt", &port, &t, &err), 0);
    assert_int_equal(t.port, 7);
    assert_int_equal(err.count, 0);
}

static void
test_errors(void **state)
{
    struct target t = {0};
    struct cfgerr err = {0};
    char want[256];
    (void)state;

    write_file("[mqtt]\nport = 70000\n");
    assert_int_equal(cfgfile_read_key(file, "mqtt", &port, &t, &err), -EINVAL);
    snprintf(want, sizeof(want), "%s:2: [mqtt] port: 70000 is out of range (1..65535)\n", file);
    assert_string_equal(err.text, want);
    cfgerr_free(&err);

    write_file("[agent]\ncontrol =\n");
    assert_int_equal(cfgfile_read_key(file, "agent", &control, &t, &err), -EINVAL);
    snprintf(want, sizeof(want), "%s:2: [agent] control: empty value\n", file);
    assert_string_equal(err.text, want);
    cfgerr_free(&err);

    /* A syntax error anywhere: the sections after it cannot be trusted. */
    write_file("[agent]\ncontrol = /a\nnot a key\n");
    assert_int_equal(cfgfile_read_key(file, "agent", &control, &t, &err), -EINVAL);
    snprintf(want, sizeof(want), "%s:3: syntax error (expected [section] or key = value)\n", file);
    assert_string_equal(err.text, want);
    cfgerr_free(&err);
    free(t.control);
    t.control = NULL;

    unlink(file);
    assert_int_equal(cfgfile_read_key(file, "agent", &control, &t, &err), -ENOENT);
    assert_non_null(strstr(err.text, "cannot open"));
    assert_null(t.control);
    cfgerr_free(&err);
}

static char seen[1024];

static void
record(struct cfgfile *cf, const char *section, const char *name, const char *value)
{
    size_t n = strlen(seen);
    snprintf(seen + n, sizeof(seen) - n, "%d [%s] %s=%s\n", cf->line, section, name, value);
}

/* Parses file with [agent] and [mqtt] as singletons; keys go to seen. */
static int
parse(struct cfgerr *err)
{
    static const char *const singletons[] = {"agent", "mqtt", NULL};
    struct cfgfile cf = {.path = file, .err = err, .key = record, .singletons = singletons};

    seen[0] = '\0';
    return cfgfile_parse(&cf);
}

/* A BOM before the first header is skipped: no syntax error, every key is
 * read with its line. */
static void
test_bom_accepted(void **state)
{
    struct cfgerr err = {0};
    (void)state;

    write_file("\xEF\xBB\xBF[agent]\nsite = lab\n\n[mqtt]\nport = 1883\n");
    assert_int_equal(parse(&err), 0);
    assert_int_equal(err.count, 0);
    assert_string_equal(seen, "2 [agent] site=lab\n5 [mqtt] port=1883\n");
    cfgerr_free(&err);

    /* Before a comment on the first line too. */
    write_file("\xEF\xBB\xBF# comment\n[agent]\nsite = lab\n");
    assert_int_equal(parse(&err), 0);
    assert_int_equal(err.count, 0);
    assert_string_equal(seen, "3 [agent] site=lab\n");
    cfgerr_free(&err);
}

/* A second [agent] is an error naming both lines; so is each repeat of
 * [mqtt]; sections not listed may repeat. */
static void
test_singleton_twice(void **state)
{
    struct cfgerr err = {0};
    char want[256];
    (void)state;

    write_file("[agent]\nsite = lab\n[mqtt]\nport = 1\n[bus a]\nx = 1\n[agent]\nsite = other\n"
               "[bus a]\nx = 2\n[mqtt]\n[mqtt]\nport = 3\n");
    assert_int_equal(parse(&err), 0);
    assert_int_equal(err.count, 3);
    snprintf(want, sizeof(want), "%s:7: [agent] appears a second time (first at line 1)", file);
    assert_non_null(strstr(err.text, want));
    snprintf(want, sizeof(want), "%s:11: [mqtt] appears a second time (first at line 3)", file);
    assert_non_null(strstr(err.text, want));
    snprintf(want, sizeof(want), "%s:12: [mqtt] appears a second time (first at line 3)", file);
    assert_non_null(strstr(err.text, want));
    assert_null(strstr(err.text, "[bus a]"));
    cfgerr_free(&err);

    /* Without a singleton list, nothing is reported. */
    {
        struct cfgfile cf = {.path = file, .err = &err, .key = record};
        assert_int_equal(cfgfile_parse(&cf), 0);
        assert_int_equal(err.count, 0);
    }
}

/* A FIFO, or a device, is refused at once (a FIFO blocked in open, waiting
 * for a writer). */
static void
test_fifo_refused(void **state)
{
    struct cfgerr err = {0};
    struct cfgfile cf = {.path = file, .err = &err, .key = record};
    char want[256];
    (void)state;

    assert_int_equal(mkfifo(file, 0600), 0);
    alarm(5);
    assert_int_equal(cfgfile_parse(&cf), -EINVAL);
    alarm(0);
    snprintf(want, sizeof(want), "%s: not a regular file", file);
    assert_non_null(strstr(err.text, want));
    cfgerr_free(&err);

    cf.path = "/dev/null";
    assert_int_equal(cfgfile_parse(&cf), -EINVAL);
    assert_non_null(strstr(err.text, "/dev/null: not a regular file"));
    cfgerr_free(&err);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_absent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bom_accepted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_singleton_twice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fifo_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
