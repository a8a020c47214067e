/*
 * scenario_command.c - the control language ember-sim reads on its control
 * FIFO or stdin.
 *
 * Owns the grammar of a control line: "set", "release" and "fault" change the
 * scenario's holds (scenario_command), "gpio NAME 0|1" is recognised and
 * handed back to the caller, which forwards it to emberd (scenario_gpio_command).
 * A command either changes what it names and says so in msg, or changes
 * nothing and says why; it never prints.
 *
 * May call: the loader's lookups and word splitter, the signal model's holds,
 * the GPIO level parser, util.
 */
#include "scenario.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "scenario_priv.h"
#include "util.h"

static int
command_fault(struct scenario *sc, char **w, int n, char *msg, size_t len)
{
    struct scn_device *d;
    int64_t ms = 0;
    long l;
    int di, k = -1;

    if (n < 3 || n > 4) {
        snprintf(msg, len, "usage: fault DEVICE none|dropout|slow MS|exception|garbage|scenario");
        return -EINVAL;
    }
    if ((di = scenario_device_find(sc, w[1])) < 0) {
        snprintf(msg, len, "fault: no device '%s'", w[1]);
        return -EINVAL;
    }
    d = &sc->devices[di];
    if (strcmp(w[2], "scenario") == 0 && n == 3) {
        d->fault_held = false;
        snprintf(msg, len, "fault %s: back to the scenario's timeline", d->name);
        return 0;
    }
    for (int f = SCN_FAULT_NONE; f <= SCN_FAULT_GARBAGE; f++)
        if (strcmp(w[2], scenario_fault_name((enum scn_fault)f)) == 0)
            k = f;
    if (k < 0 || (k == SCN_FAULT_SLOW) != (n == 4)) {
        snprintf(msg, len, "usage: fault DEVICE none|dropout|slow MS|exception|garbage|scenario");
        return -EINVAL;
    }
    if (k == SCN_FAULT_SLOW) {
        /* "slow 400" means milliseconds here; "400ms" or "0.4s" work too. */
        if (parse_long(w[3], 1, 600000, &l) == 0)
            ms = l;
        else if (parse_duration_ms(w[3], &ms) < 0 || ms <= 0 || ms > 600000) {
            snprintf(msg, len, "fault slow: '%s' is not a delay in ms (1..600000)", w[3]);
            return -EINVAL;
        }
    }
    d->fault_held = true;
    d->held_fault = (enum scn_fault)k;
    d->held_delay_ms = ms;
    if (k == SCN_FAULT_SLOW)
        snprintf(msg, len, "fault %s slow %lld ms (held)", d->name, (long long)ms);
    else
        snprintf(msg, len, "fault %s %s (held)", d->name, scenario_fault_name(d->held_fault));
    return 0;
}

/* The signal that "set" or "release" names in w[1], after checking that the
 * command has `want` words; -EINVAL with the reason in msg otherwise. */
static int
command_signal(const struct scenario *sc, char **w, int n, int want, const char *usage, char *msg,
               size_t len)
{
    int si;

    if (n != want) {
        snprintf(msg, len, "usage: %s", usage);
        return -EINVAL;
    }
    if ((si = scenario_signal_find(sc, w[1])) < 0) {
        snprintf(msg, len, "%s: no signal '%s'", w[0], w[1]);
        return -EINVAL;
    }
    return si;
}

int
scenario_command(struct scenario *sc, const char *line, char *msg, size_t len)
{
    char buf[256];
    char *w[5];
    int n, si;
    double v;

    msg[0] = '\0';
    n = scenario_split_words(line, buf, sizeof(buf), w, 4);
    if (n < 0) {
        snprintf(msg, len, "command longer than %zu characters", sizeof(buf) - 1);
        return -EINVAL;
    }
    if (n == 0 || w[0][0] == '#')
        return -ENODATA;
    if (n > 4) {
        snprintf(msg, len, "too many words");
        return -EINVAL;
    }
    if (strcmp(w[0], "set") == 0) {
        if ((si = command_signal(sc, w, n, 3, "set DEVICE.POINT VALUE", msg, len)) < 0)
            return si;
        if (parse_double(w[2], &v) < 0) {
            snprintf(msg, len, "set: '%s' is not a number", w[2]);
            return -EINVAL;
        }
        scenario_hold(sc, (size_t)si, v);
        snprintf(msg, len, "set %s = %g (held)", w[1], v);
        return 0;
    }
    if (strcmp(w[0], "release") == 0) {
        if ((si = command_signal(sc, w, n, 2, "release DEVICE.POINT", msg, len)) < 0)
            return si;
        scenario_release(sc, (size_t)si);
        snprintf(msg, len, "release %s: back to the scenario", w[1]);
        return 0;
    }
    if (strcmp(w[0], "fault") == 0)
        return command_fault(sc, w, n, msg, len);
    snprintf(msg, len, "unknown command '%s' (expected set, release, fault, gpio)", w[0]);
    return -EINVAL;
}

int
scenario_gpio_command(const char *line, char *name, size_t namelen, int *value, char *msg,
                      size_t len)
{
    char buf[256];
    char *w[4];
    int n;

    msg[0] = '\0';
    n = scenario_split_words(line, buf, sizeof(buf), w, 3);
    if (n <= 0 || strcmp(w[0], "gpio") != 0)
        return -ENOENT;
    if (n != 3 || scenario_parse_level(w[2], value) < 0) {
        snprintf(msg, len, "usage: gpio NAME 0|1");
        return -EINVAL;
    }
    if (!name_valid(w[1]) || strlen(w[1]) >= namelen) {
        snprintf(msg, len, "gpio: '%s' is not an input name (1-64 of [A-Za-z0-9_.-])", w[1]);
        return -EINVAL;
    }
    strcpy(name, w[1]);
    return 0;
}
