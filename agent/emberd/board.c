/*
 * board.c - board file loader.
 */
#include "board.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ITEMS 64

static const char *const rts_names[] = {"none", "up", "down", NULL};

static const struct cfg_directive board_keys[] = {
    CFG_ROW("name", CFG_NAME, offsetof(struct board, name)),
    CFG_ROW("description", CFG_STR, offsetof(struct board, description)),
    CFG_ROW("gpio_chip", CFG_STR, offsetof(struct board, gpio_chip)),
    CFG_ROW("watchdog", CFG_STR, offsetof(struct board, watchdog)),
    CFG_ROW("watchdog_timeout", CFG_DUR, offsetof(struct board, watchdog_timeout_ms), .min = 1000, .max = 600000, .def = "15s"),
};

static const struct cfg_directive serial_keys[] = {
    CFG_ROW("device", CFG_STR, offsetof(struct board_serial, device)),
    CFG_ROW("rs485", CFG_BOOL, offsetof(struct board_serial, rs485)),
    CFG_ROW("rts", CFG_ENUM, offsetof(struct board_serial, rts), .names = rts_names),
    CFG_ROW("rts_delay", CFG_INT, offsetof(struct board_serial, rts_delay_us), .min = 0, .max = 100000),
};

static const struct cfg_directive gpio_keys[] = {
    CFG_ROW("line", CFG_INT, offsetof(struct board_gpio, offset), .min = 0, .max = 1023),
    CFG_ROW("active_low", CFG_BOOL, offsetof(struct board_gpio, active_low)),
    CFG_ROW("debounce", CFG_DUR, offsetof(struct board_gpio, debounce_ms), .min = 0, .max = 10000, .def = "20ms"),
};

static void
on_key(struct cfgfile *cf, const char *section, const char *key, const char *value)
{
    struct board *b = cf->user;
    char buf[128];
    const char *kind, *name;
    int rc;

    if (strcmp(section, "board") == 0) {
        rc = cfgfile_apply(cf, section, board_keys, ARRAY_LEN(board_keys), b, key, value);
        if (rc == 1)
            cfgfile_error(cf, "[board]: unknown key '%s'", key);
        else if (rc == 0 && strcmp(key, "watchdog") == 0 && value[0] != '/')
            cfgfile_error(cf, "[board] watchdog: '%s' is not an absolute path (e.g. /dev/watchdog)",
                          value);
        return;
    }
    if (cfgfile_split_section(section, buf, sizeof(buf), &kind, &name) < 0 || !name_valid(name)) {
        cfgfile_error(cf, "[%s]: expected [board], [serial NAME], [input NAME] or [output NAME]",
                      section);
        return;
    }
    if (strcmp(kind, "serial") == 0) {
        struct cfg_sections sa = {(void **)&b->serials, &b->nserials, NULL, MAX_ITEMS,
                                  sizeof(*b->serials), offsetof(struct board_serial, line), NULL, 0};
        struct board_serial *s = cfgfile_section_item(cf, section, &sa, name);
        if (s == NULL)
            return;
        rc = cfgfile_apply(cf, section, serial_keys, ARRAY_LEN(serial_keys), s, key, value);
        if (rc == 1)
            cfgfile_error(cf, "[%s]: unknown key '%s'", section, key);
    } else if (strcmp(kind, "input") == 0 || strcmp(kind, "output") == 0) {
        struct cfg_sections sa = {(void **)&b->gpios, &b->ngpios, NULL, MAX_ITEMS,
                                  sizeof(*b->gpios), offsetof(struct board_gpio, line), gpio_keys,
                                  ARRAY_LEN(gpio_keys)};
        int n = b->ngpios;
        struct board_gpio *g = cfgfile_section_item(cf, section, &sa, name);
        if (g == NULL)
            return;
        if (b->ngpios > n) {
            g->offset = -1; /* no default: 'line' is required */
            g->output = strcmp(kind, "output") == 0;
        }
        rc = cfgfile_apply(cf, section, gpio_keys, ARRAY_LEN(gpio_keys), g, key, value);
        if (rc == 1)
            cfgfile_error(cf, "[%s]: unknown key '%s'", section, key);
    } else {
        cfgfile_error(cf, "[%s]: expected [board], [serial NAME], [input NAME] or [output NAME]",
                      section);
    }
}

/* Cross-checks after parsing: the keys every section needs. */
static void
validate(void *user, struct cfgerr *err)
{
    struct board *b = user;

    if (b->name[0] == '\0')
        cfgerr_add(err, b->path, 0, "[board] name is required");
    for (int i = 0; i < b->nserials; i++)
        if (b->serials[i].device == NULL)
            cfgerr_add(err, b->path, b->serials[i].line, "[serial %s]: missing key 'device'",
                       b->serials[i].name);
    for (int i = 0; i < b->ngpios; i++)
        if (b->gpios[i].offset < 0)
            cfgerr_add(err, b->path, b->gpios[i].line, "[%s %s]: missing key 'line'",
                       b->gpios[i].output ? "output" : "input", b->gpios[i].name);
}

int
board_load(const char *path, struct board **out, struct cfgerr *err)
{
    struct board *b = xcalloc(1, sizeof(*b));
    static const char *const singletons[] = {"board", NULL};
    struct cfgfile cf = {
        .path = path, .err = err, .key = on_key, .user = b, .singletons = singletons};
    int rc;

    b->serials = xcalloc(MAX_ITEMS, sizeof(*b->serials));
    b->gpios = xcalloc(MAX_ITEMS, sizeof(*b->gpios));
    b->path = xstrdup(path);
    cfgfile_defaults(path, board_keys, ARRAY_LEN(board_keys), b, err);
    rc = cfgfile_load(&cf, validate);
    if (rc < 0) {
        board_free(b);
        return rc;
    }
    *out = b;
    return 0;
}

void
board_free(struct board *b)
{
    if (b == NULL)
        return;
    for (int i = 0; i < b->nserials; i++)
        cfgfile_free_strings(serial_keys, ARRAY_LEN(serial_keys), &b->serials[i]);
    cfgfile_free_strings(board_keys, ARRAY_LEN(board_keys), b);
    free(b->serials);
    free(b->gpios);
    free(b->path);
    free(b);
}

const struct board_serial *
board_serial_find(const struct board *b, const char *name)
{
    int i = b != NULL ? cfgfile_item_find(b->serials, b->nserials, sizeof(*b->serials), name) : -1;
    return i >= 0 ? &b->serials[i] : NULL;
}

const struct board_gpio *
board_gpio_find(const struct board *b, const char *name)
{
    int i = b != NULL ? cfgfile_item_find(b->gpios, b->ngpios, sizeof(*b->gpios), name) : -1;
    return i >= 0 ? &b->gpios[i] : NULL;
}
