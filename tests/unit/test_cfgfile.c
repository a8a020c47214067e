/* Unit tests: cfgfile_read_key(), one key of one section through its row;
 * cfgfile_parse() on what editors and mistakes produce: a UTF-8 byte order
 * mark, a singleton section written twice, a FIFO; named sections through
 * cfgfile_section_item() and cfgfile_load(). */
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
#include "util.h"

struct target {
    char *control;
    int port;
};

static const struct cfg_directive control =
    CFG_ROW("control", CFG_PATH, offsetof(struct target, control));
static const struct cfg_directive port =
    CFG_ROW("port", CFG_INT, offsetof(struct target, port), .min = 1, .max = 65535);

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

/* Named sections: [item NAME] grows an array (items start from the
 * table's defaults), a name written twice and one past the limit are
 * errors at the header's line, a bad name is its own error, and
 * cfgfile_load() runs the cross-checks and turns any error into -EINVAL. */
struct item {
    char name[NAME_MAX_LEN + 1];
    int line;
    int port, weight;
};

struct items {
    struct item *v;
    int n, cap;
    int max;
    int validated;
};

static const struct cfg_directive item_keys[] = {
    CFG_ROW("port", CFG_INT, offsetof(struct item, port), .min = 1, .max = 65535, .def = "80"),
    CFG_ROW("weight", CFG_INT, offsetof(struct item, weight), .min = 0, .max = 10, .def = "3"),
};

static void
on_item(struct cfgfile *cf, const char *section, const char *key, const char *value)
{
    struct items *it = cf->user;
    struct cfg_sections sa = {(void **)&it->v, &it->n, &it->cap, it->max, sizeof(*it->v),
                              offsetof(struct item, line), item_keys, 2};
    char buf[128];
    const char *kind, *name;
    struct item *x;
    int rc = cfgfile_named_section(cf, section, buf, sizeof(buf), &kind, &name);

    if (rc == -EINVAL)
        cfgfile_error(cf, "[%s]: unknown section", section);
    if (rc < 0)
        return;
    x = cfgfile_section_item(cf, section, &sa, name);
    if (x != NULL && cfgfile_apply(cf, section, item_keys, 2, x, key, value) == 1)
        cfgfile_error(cf, "[%s]: unknown key '%s'", section, key);
}

static void
count_validate(void *user, struct cfgerr *err)
{
    (void)err;
    ((struct items *)user)->validated++;
}

/* err holds "FILE:at" for the file under test. */
static void
expect_error(const struct cfgerr *err, const char *at)
{
    char want[256];

    snprintf(want, sizeof(want), "%s:%s", file, at);
    assert_non_null(strstr(err->text, want));
}

static void
test_named_sections(void **state)
{
    struct cfgerr err = {0};
    struct items it = {.max = 2};
    struct cfgfile cf = {.path = file, .err = &err, .key = on_item, .user = &it};
    (void)state;

    write_file("[item a]\nport = 1\n[item b]\nweight = 5\n[item b]\nport = 2\n[item c]\nport = 3\n"
               "[item a]\nport = 4\n[item b!]\nport = 5\n");
    assert_int_equal(cfgfile_load(&cf, count_validate), -EINVAL);
    assert_int_equal(it.validated, 1);
    assert_int_equal(it.n, 2);
    assert_string_equal(it.v[0].name, "a");
    assert_int_equal(it.v[0].port, 1);
    assert_int_equal(it.v[0].weight, 3);
    assert_int_equal(it.v[0].line, 1);
    assert_string_equal(it.v[1].name, "b");
    assert_int_equal(it.v[1].port, 80);
    assert_int_equal(it.v[1].weight, 5);
    assert_int_equal(it.v[1].line, 3);
    assert_int_equal(cfgfile_item_find(it.v, it.n, sizeof(*it.v), "b"), 1);
    assert_int_equal(cfgfile_item_find(it.v, it.n, sizeof(*it.v), "c"), -1);
    assert_int_equal(err.count, 4);
    expect_error(&err, "6: [item b] defined twice (first at line 3)");
    expect_error(&err, "8: [item c]: too many sections of this kind (max 2)");
    expect_error(&err, "10: [item a] defined twice (first at line 1)");
    expect_error(&err, "12: [item b!]: name 'b!' must be 1-");
    cfgerr_free(&err);

    /* A clean file loads (0), through the same cross-checks. */
    write_file("[item z]\nport = 9\n");
    it.n = 0;
    assert_int_equal(cfgfile_load(&cf, count_validate), 0);
    assert_int_equal(it.validated, 2);
    assert_int_equal(it.n, 1);
    assert_int_equal(err.count, 0);
    free(it.v);

    /* A file that cannot be read is its -errno, without the cross-checks. */
    unlink(file);
    assert_int_equal(cfgfile_load(&cf, count_validate), -ENOENT);
    assert_int_equal(it.validated, 2);
    cfgerr_free(&err);
}

/* A FIFO, or a device, is refused at once (a FIFO blocked in open, waiting
 * for a writer). */
/* The first error whole, however long; cut only at the buffer, saying so. */
static void
test_first_error(void **state)
{
    struct cfgerr err = {0};
    char buf[CFG_FIRST_MAX], small[64], longname[300];
    (void)state;

    cfgerr_first(&err, buf, sizeof(buf));
    assert_string_equal(buf, "");
    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    cfgerr_add(&err, "a.conf", 5, "[alarm a] sensor: no [sensor %s]", longname);
    cfgerr_add(&err, "a.conf", 9, "second");
    cfgerr_first(&err, buf, sizeof(buf));
    assert_int_equal(strlen(buf), strlen("a.conf:5: [alarm a] sensor: no [sensor ]") + 299);
    assert_non_null(strstr(buf, "xxx]"));
    assert_null(strchr(buf, '\n'));
    cfgerr_first(&err, small, sizeof(small));
    assert_int_equal(strlen(small), sizeof(small) - 1);
    assert_non_null(strstr(small, "[cut at 64 of "));
    assert_memory_equal(small, "a.conf:5: [alarm a]", 19);
    cfgerr_free(&err);
}

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

/* The table's string fields are freed and set to NULL; the others, and
 * fields outside the table, are left alone. */
static void
test_free_strings(void **state)
{
    struct strings {
        char *path, *text, *outside;
        int port;
    };
    static const struct cfg_directive keys[] = {
        CFG_ROW("path", CFG_PATH, offsetof(struct strings, path)),
        CFG_ROW("port", CFG_INT, offsetof(struct strings, port), .min = 1, .max = 65535),
        CFG_ROW("text", CFG_STR, offsetof(struct strings, text)),
    };
    char outside[] = "not the table's";
    struct strings t = {xstrdup("/a"), xstrdup("b"), outside, 42};
    (void)state;

    cfgfile_free_strings(keys, ARRAY_LEN(keys), &t);
    assert_null(t.path);
    assert_null(t.text);
    assert_ptr_equal(t.outside, outside);
    assert_int_equal(t.port, 42);
    cfgfile_free_strings(keys, ARRAY_LEN(keys), &t); /* NULL fields: nothing to do */
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
        cmocka_unit_test(test_first_error),
        cmocka_unit_test_setup_teardown(test_named_sections, setup, teardown),
        cmocka_unit_test(test_free_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
