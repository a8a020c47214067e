/*
 * fuzz_conf.c - conf_load() on arbitrary bytes.
 *
 * conf_load() resolves board files and profiles relative to the config's
 * directory, so the input is written to a file in a private temporary tree
 * (one per process, removed at exit) laid out so that the relative paths of
 * the shipped example resolve to the source tree's profiles and boards:
 *
 *   DIR/a/conf/emberd.conf      the input
 *   DIR/a/conf/profiles -> TOP/agent/profiles      profile_dir = profiles
 *   DIR/a/conf/boards   -> TOP/boards              board_dir = boards
 *   DIR/a/profiles      -> TOP/agent/profiles      profile_dir = ../profiles
 *   DIR/boards          -> TOP/boards              board_dir = ../../boards
 *   DIR/a/conf/password          mode 0600         password_file = password
 *   DIR/a/conf/password-public   mode 0644
 *
 * TOP is $EMBER_FUZZ_TOP or the working directory (make runs from the top
 * of the tree).  Without it profiles and boards simply fail to load.
 *
 * A config that loads is run by emberd without further checks, so the
 * checks below are the cross-references conf.h promises.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "fuzz.h"

static int conffd = -1;
static char dir[64];
static char confpath[128];

static const char *const links[][2] = {
    {"a/conf/profiles", "agent/profiles"},
    {"a/conf/boards", "boards"},
    {"a/profiles", "agent/profiles"},
    {"boards", "boards"},
};

static void
sub(char *buf, size_t len, const char *rel)
{
    if ((size_t)snprintf(buf, len, "%s/%s", dir, rel) >= len)
        abort();
}

static void
cleanup(void)
{
    static const char *const files[] = {"a/conf/emberd.conf", "a/conf/password",
                                        "a/conf/password-public"};
    char p[PATH_MAX];

    if (conffd >= 0)
        close(conffd);
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        sub(p, sizeof(p), files[i]);
        unlink(p);
    }
    for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
        sub(p, sizeof(p), links[i][0]);
        unlink(p);
    }
    sub(p, sizeof(p), "a/conf");
    rmdir(p);
    sub(p, sizeof(p), "a");
    rmdir(p);
    rmdir(dir);
}

static void
put(const char *rel, const char *text, mode_t mode)
{
    char p[PATH_MAX];
    int fd;

    sub(p, sizeof(p), rel);
    fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0 || write(fd, text, strlen(text)) < 0 || fchmod(fd, mode) < 0) {
        perror(p);
        abort();
    }
    close(fd);
}

static void
setup(void)
{
    const char *top = getenv("EMBER_FUZZ_TOP");
    char cwd[PATH_MAX], p[PATH_MAX], target[PATH_MAX];

    if (top == NULL) {
        if (getcwd(cwd, sizeof(cwd)) == NULL)
            abort();
        top = cwd;
    }
    snprintf(dir, sizeof(dir), "%s/ember-fuzz-conf.XXXXXX",
             getenv("TMPDIR") && strlen(getenv("TMPDIR")) < 32 ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(dir) == NULL) {
        perror("fuzz_conf: mkdtemp");
        abort();
    }
    atexit(cleanup);
    sub(p, sizeof(p), "a");
    mkdir(p, 0700);
    sub(p, sizeof(p), "a/conf");
    mkdir(p, 0700);
    for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
        sub(p, sizeof(p), links[i][0]);
        if ((size_t)snprintf(target, sizeof(target), "%s/%s", top, links[i][1]) >= sizeof(target) ||
            symlink(target, p) < 0) {
            perror(p);
            abort();
        }
    }
    if ((size_t)snprintf(target, sizeof(target), "%s/agent/profiles/xy-md02.ini", top) >=
            sizeof(target) ||
        access(target, R_OK) != 0)
        fprintf(stderr,
                "fuzz_conf: %s not found; profiles will not load "
                "(run from the top of the tree or set EMBER_FUZZ_TOP)\n",
                target);
    put("a/conf/password", "s3cret\n", 0600);
    put("a/conf/password-public", "s3cret\n", 0644);
    sub(confpath, sizeof(confpath), "a/conf/emberd.conf");
    conffd = open(confpath, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (conffd < 0) {
        perror(confpath);
        abort();
    }
}

static void
check_conf(const struct conf *c)
{
    FUZZ_CHECK(name_valid(c->agent.site) && name_valid(c->agent.id));
    FUZZ_CHECK(c->agent.profile_dir && c->agent.board_dir && c->agent.control && c->agent.gpio_sim);
    FUZZ_CHECK(c->mqtt.host != NULL && c->mqtt.prefix != NULL);
    FUZZ_CHECK(c->mqtt.port >= 1 && c->mqtt.port <= 65535);
    FUZZ_CHECK(c->mqtt.reconnect_min_ms <= c->mqtt.reconnect_max_ms);
    FUZZ_CHECK((c->mqtt.certfile == NULL) == (c->mqtt.keyfile == NULL));
    FUZZ_CHECK((c->mqtt.password_file == NULL) == (c->mqtt.password == NULL));

    for (int i = 0; i < c->nbuses; i++) {
        const struct conf_bus *b = &c->buses[i];
        FUZZ_CHECK(name_valid(b->name));
        FUZZ_CHECK(b->type == BUS_TCP ? b->host != NULL : b->device != NULL);
        FUZZ_CHECK(b->timeout_ms >= 10 && b->retries >= 0);
    }
    for (int i = 0; i < c->ndevices; i++) {
        const struct conf_device *d = &c->devices[i];
        FUZZ_CHECK(name_valid(d->name));
        FUZZ_CHECK(d->bus >= 0 && d->bus < c->nbuses);
        FUZZ_CHECK(d->profile != NULL && d->profile->npoints > 0);
        FUZZ_CHECK(d->interval_ms >= 100 && d->comms_lost_after >= 1);
        if (c->buses[d->bus].type == BUS_RTU)
            FUZZ_CHECK(d->slave >= 1 && d->slave <= 247);
        else
            FUZZ_CHECK((d->slave >= 0 && d->slave <= 247) || d->slave == 255);
    }
    for (int i = 0; i < c->nsensors; i++) {
        const struct conf_sensor *s = &c->sensors[i];
        FUZZ_CHECK(name_valid(s->name));
        FUZZ_CHECK(memchr(s->unit, '\0', sizeof(s->unit)) != NULL);
        if (s->device < 0) {
            /* A GPIO contact: one of the board's inputs. */
            FUZZ_CHECK(c->board != NULL && s->gpio >= 0 && s->gpio < c->ninputs);
            FUZZ_CHECK(!c->inputs[s->gpio]->output);
            continue;
        }
        FUZZ_CHECK(s->device < c->ndevices && s->gpio == -1);
        FUZZ_CHECK(s->point != NULL);
        {
            const struct profile *p = c->devices[s->device].profile;
            FUZZ_CHECK(s->point >= p->points && s->point < p->points + p->npoints);
        }
    }
    for (int i = 0; i < c->noutputs; i++)
        FUZZ_CHECK(c->outputs[i] != NULL && c->outputs[i]->output);
    for (int i = 0; i < c->nalarms; i++) {
        const struct alarm_def *a = &c->alarm_defs[i];
        FUZZ_CHECK(strcmp(a->name, c->alarms[i].def.name) == 0);
        FUZZ_CHECK(a->sensor >= 0 && a->sensor < c->nsensors);
        FUZZ_CHECK(a->zone >= -1 && a->zone < c->nzones);
    }
    for (int z = 0; z < c->nzones; z++) {
        const struct zone_def *zd = &c->zone_defs[z];
        FUZZ_CHECK(zd->nmembers >= 1 && zd->nmembers <= c->nalarms);
        FUZZ_CHECK(zd->vote >= 1);
        for (int k = 0; k < zd->nmembers; k++) {
            FUZZ_CHECK(zd->members[k] >= 0 && zd->members[k] < c->nalarms);
            FUZZ_CHECK(c->alarm_defs[zd->members[k]].zone == z);
        }
    }
    FUZZ_CHECK(c->nnotifiers <= CONF_MAX_NOTIFIERS);
    for (int i = 0; i < c->nnotifiers; i++) {
        const struct conf_notify *nt = &c->notifiers[i];
        FUZZ_CHECK(name_valid(nt->name));
        /* A program that was an executable file at load, events to take,
         * and no zone event for a notifier that lists alarms. */
        FUZZ_CHECK(nt->argv != NULL && nt->argv[0] != NULL && access(nt->argv[0], X_OK) == 0);
        FUZZ_CHECK(nt->on != 0 && nt->on < 1u << NOTIFY_NEVENTS);
        FUZZ_CHECK(nt->timeout_ms >= 100 && nt->queue >= 0 && nt->queue <= 1000);
        for (int k = 0; nt->alarms != NULL && nt->alarms[k] != NULL; k++)
            FUZZ_CHECK(conf_alarm_find(c, nt->alarms[k]) >= 0 ||
                       strcmp(nt->alarms[k], "_journal") == 0);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct conf *c = NULL;
    struct cfgerr err = {0};
    int rc;

    if (conffd < 0)
        setup();
    fuzz_set_file(conffd, data, size);

    rc = conf_load(confpath, &c, &err);
    if (rc == 0) {
        FUZZ_CHECK(c != NULL);
        check_conf(c);
        conf_free(c);
    } else {
        /* A refusal always says why, as file:line lines. */
        FUZZ_CHECK(rc == -EINVAL && err.count > 0 && err.text != NULL);
        FUZZ_CHECK(strlen(err.text) == err.len);
    }
    cfgerr_free(&err);
    return 0;
}
