/*
 * tmpdir.h - a scratch directory for one test binary (cmocka group setup
 * and teardown), and the source tree's profile and board directories.
 * Header-only: each test links alone.
 */
#ifndef EMBER_TEST_TMPDIR_H
#define EMBER_TEST_TMPDIR_H

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

static char dir[64];
static char profiles[PATH_MAX];
static char boards[PATH_MAX];

/* Creates /tmp/ember-TAG-XXXXXX in dir and resolves profiles and boards. */
static int
tmpdir_make(const char *tag)
{
    snprintf(dir, sizeof(dir), "/tmp/ember-%s-XXXXXX", tag);
    if (mkdtemp(dir) == NULL || realpath("agent/profiles", profiles) == NULL ||
        realpath("boards", boards) == NULL)
        return -1;
    return 0;
}

static int
tmpdir_remove(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

#endif
