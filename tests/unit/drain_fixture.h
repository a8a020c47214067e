/* A test fixture shared by ember-drain's unit tests: loads a configuration
 * from text through the real loader (dconf_load() reads files, so the text
 * goes through a temporary file).  Fails the test when the text does not
 * load.  Included by one test file per binary. */
#ifndef EMBER_TEST_DRAIN_FIXTURE_H
#define EMBER_TEST_DRAIN_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cfgfile.h"
#include "../../agent/drain/dconf.h"

static struct dconf *
drain_fixture_load(const char *text)
{
    char path[] = "/tmp/test_drain.XXXXXX";
    int fd = mkstemp(path);
    FILE *fp;
    struct cfgerr err = {0};
    struct dconf *c = NULL;

    assert_true(fd >= 0);
    fp = fdopen(fd, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    if (dconf_load(path, &c, &err) < 0)
        fprintf(stderr, "%s", err.text ? err.text : "?");
    cfgerr_free(&err);
    unlink(path);
    assert_non_null(c);
    return c;
}

#endif
