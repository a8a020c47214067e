/*
 * scenario_gpio.c - the [gpio] timelines of ember-sim: the levels it plays
 * into emberd's simulated GPIO inputs.
 *
 * Owns the level of every [gpio] at an injected time in integer
 * milliseconds, the next instant a level may change (so the player sleeps on
 * a timer, never polls), and the grammar of one level ("0" or "1").  The
 * loader fills in the steps, sorted; everything here is pure, with no clock
 * and no I/O.
 *
 * May call: libm only.
 */
#include "scenario.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "scenario_priv.h"

int
scenario_parse_level(const char *s, int *out)
{
    if (strcmp(s, "0") != 0 && strcmp(s, "1") != 0)
        return -EINVAL;
    *out = s[0] == '1';
    return 0;
}

int
scenario_gpio_find(const struct scenario *sc, const char *name)
{
    for (size_t i = 0; i < sc->ngpios; i++)
        if (strcmp(sc->gpios[i].name, name) == 0)
            return (int)i;
    return -ENOENT;
}

static int64_t
loop_ms(const struct scenario *sc)
{
    return sc->loop > 0 ? llround(sc->loop * 1000.0) : 0;
}

int
scenario_gpio_value(const struct scenario *sc, size_t i, int64_t t_ms)
{
    const struct scn_gpio *g = &sc->gpios[i];
    int64_t lp = loop_ms(sc);
    int v = g->initial;

    if (t_ms < 0)
        t_ms = 0;
    if (lp > 0)
        t_ms %= lp;
    for (size_t k = 0; k < g->nsteps && g->steps[k].t_ms <= t_ms; k++)
        v = g->steps[k].value;
    return v;
}

int64_t
scenario_gpio_next(const struct scenario *sc, int64_t t_ms)
{
    int64_t lp = loop_ms(sc), base = 0, tt, best = -1;
    bool any = false;

    if (t_ms < 0)
        t_ms = -1; /* so that steps at 0 are still ahead */
    tt = t_ms;
    if (lp > 0 && t_ms >= 0) {
        tt = t_ms % lp;
        base = t_ms - tt;
    }
    for (size_t i = 0; i < sc->ngpios; i++) {
        const struct scn_gpio *g = &sc->gpios[i];
        for (size_t k = 0; k < g->nsteps; k++) {
            int64_t s = g->steps[k].t_ms;
            if (lp > 0 && s >= lp)
                continue; /* beyond the loop: never played */
            any = true;
            if (s > tt && (best < 0 || s < best))
                best = s;
        }
    }
    if (best >= 0)
        return base + best;
    /* Past the last step: the next loop starts from the initial levels. */
    return lp > 0 && any ? base + lp : -1;
}
