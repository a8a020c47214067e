/* Unit tests: cfgfile_read_key(), one key of one section through its row. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
    strcpy(dir, "/tmp/test_cfgfile_key.XXXXXX");
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

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_absent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
