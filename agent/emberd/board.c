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
    {"name", CFG_NAME, offsetof(struct board, name), 0, 0, NULL, NULL, CFG_APPLY},
    {"description", CFG_STR, offsetof(struct board, description), 0, 0, NULL, NULL, CFG_APPLY},
    {"gpio_chip", CFG_STR, offsetof(struct board, gpio_chip), 0, 0, NULL, NULL, CFG_APPLY},
    {"watchdog", CFG_STR, offsetof(struct board, watchdog), 0, 0, NULL, NULL, CFG_APPLY},
    {"watchdog_timeout", CFG_DUR, offsetof(struct board, watchdog_timeout_ms), 1000, 600000, NULL, "15s", CFG_APPLY},
};

static const struct cfg_directive serial_keys[] = {
    {"device", CFG_STR, offsetof(struct board_serial, device), 0, 0, NULL, NULL, CFG_APPLY},
    {"rs485", CFG_BOOL, offsetof(struct board_serial, rs485), 0, 0, NULL, NULL, CFG_APPLY},
    {"rts", CFG_ENUM, offsetof(struct board_serial, rts), 0, 0, rts_names, NULL, CFG_APPLY},
    {"rts_delay", CFG_INT, offsetof(struct board_serial, rts_delay_us), 0, 100000, NULL, NULL, CFG_APPLY},
};

static const struct cfg_directive gpio_keys[] = {
    {"line", CFG_INT, offsetof(struct board_gpio, offset), 0, 1023, NULL, NULL, CFG_APPLY},
    {"active_low", CFG_BOOL, offsetof(struct board_gpio, active_low), 0, 0, NULL, NULL, CFG_APPLY},
    {"debounce", CFG_DUR, offsetof(struct board_gpio, debounce_ms), 0, 10000, NULL, "20ms", CFG_APPLY},
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
        return;
    }
    if (cfgfile_split_section(section, buf, sizeof(buf), &kind, &name) < 0 || !name_valid(name)) {
        cfgfile_error(cf, "[%s]: expected [board], [serial NAME], [input NAME] or [output NAME]",
                      section);
        return;
    }
    if (strcmp(kind, "serial") == 0) {
        struct board_serial *s = NULL;
        for (int i = 0; i < b->nserials; i++)
            if (strcmp(b->serials[i].name, name) == 0)
                s = &b->serials[i];
        if (s == NULL) {
            if (b->nserials == MAX_ITEMS) {
                cfgfile_error(cf, "too many [serial] sections (max %d)", MAX_ITEMS);
                return;
            }
            s = &b->serials[b->nserials++];
            strcpy(s->name, name);
            s->line = cf->section_line;
        } else if (s->line != cf->section_line) {
            cfgfile_error(cf, "[%s] defined twice (first at line %d)", section, s->line);
            return;
        }
        rc = cfgfile_apply(cf, section, serial_keys, ARRAY_LEN(serial_keys), s, key, value);
        if (rc == 1)
            cfgfile_error(cf, "[%s]: unknown key '%s'", section, key);
    } else if (strcmp(kind, "input") == 0 || strcmp(kind, "output") == 0) {
        struct board_gpio *g = NULL;
        for (int i = 0; i < b->ngpios; i++)
            if (strcmp(b->gpios[i].name, name) == 0)
                g = &b->gpios[i];
        if (g == NULL) {
            if (b->ngpios == MAX_ITEMS) {
                cfgfile_error(cf, "too many GPIO sections (max %d)", MAX_ITEMS);
                return;
            }
            g = &b->gpios[b->ngpios++];
            strcpy(g->name, name);
            g->line = cf->section_line;
            cfgfile_defaults(cf->path, gpio_keys, ARRAY_LEN(gpio_keys), g, cf->err);
            g->offset = -1; /* no default: 'line' is required */
            g->output = strcmp(kind, "output") == 0;
        } else if (g->line != cf->section_line) {
            cfgfile_error(cf, "[%s] defined twice (first at line %d)", section, g->line);
            return;
        }
        rc = cfgfile_apply(cf, section, gpio_keys, ARRAY_LEN(gpio_keys), g, key, value);
        if (rc == 1)
            cfgfile_error(cf, "[%s]: unknown key '%s'", section, key);
    } else {
        cfgfile_error(cf, "[%s]: expected [board], [serial NAME], [input NAME] or [output NAME]",
                      section);
    }
}

int
board_load(const char *path, struct board **out, struct cfgerr *err)
{
    struct board *b = xcalloc(1, sizeof(*b));
    static const char *const singletons[] = {"board", NULL};
    struct cfgfile cf = {
        .path = path, .err = err, .key = on_key, .user = b, .singletons = singletons};
    int before = err->count;
    int rc;

    b->serials = xcalloc(MAX_ITEMS, sizeof(*b->serials));
    b->gpios = xcalloc(MAX_ITEMS, sizeof(*b->gpios));
    b->path = xstrdup(path);
    cfgfile_defaults(path, board_keys, ARRAY_LEN(board_keys), b, err);
    rc = cfgfile_parse(&cf);
    if (rc == 0) {
        if (b->name[0] == '\0')
            cfgerr_add(err, path, 0, "[board] name is required");
        for (int i = 0; i < b->nserials; i++)
            if (b->serials[i].device == NULL)
                cfgerr_add(err, path, b->serials[i].line, "[serial %s]: missing key 'device'",
                           b->serials[i].name);
        for (int i = 0; i < b->ngpios; i++)
            if (b->gpios[i].offset < 0)
                cfgerr_add(err, path, b->gpios[i].line, "[%s %s]: missing key 'line'",
                           b->gpios[i].output ? "output" : "input", b->gpios[i].name);
    }
    if (rc < 0 || err->count > before) {
        board_free(b);
        return rc < 0 ? rc : -EINVAL;
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
        free(b->serials[i].device);
    free(b->serials);
    free(b->gpios);
    free(b->description);
    free(b->path);
    free(b->gpio_chip);
    free(b->watchdog);
    free(b);
}

const struct board_serial *
board_serial_find(const struct board *b, const char *name)
{
    for (int i = 0; b != NULL && i < b->nserials; i++)
        if (strcmp(b->serials[i].name, name) == 0)
            return &b->serials[i];
    return NULL;
}

const struct board_gpio *
board_gpio_find(const struct board *b, const char *name)
{
    for (int i = 0; b != NULL && i < b->ngpios; i++)
        if (strcmp(b->gpios[i].name, name) == 0)
            return &b->gpios[i];
    return NULL;
}
