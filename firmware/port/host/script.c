/*
 * script.c - scripted inputs for the host node.
 *
 * Commands change the host port's ADC counts and inputs; the node then
 * samples them like real hardware, so a scripted fault goes through the
 * same debouncing, filtering and register encoding as on a board.
 */
#include "script.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "board_node.h"
#include "port_host.h"

#define RAMP_STEP_S 0.05

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

void
script_init(struct script *s, const struct sampling_config *cfg)
{
    memset(s, 0, sizeof(*s));
    s->cfg = *cfg;
}

int
script_count_for_ohms(const struct sampling_config *cfg, double ohms)
{
    double c;

    if (!(ohms >= 0))
        return PORT_ADC_FULL - 1;
    c = PORT_ADC_FULL * ohms / (ohms + cfg->therm.r_fixed);
    c = floor(c + 0.5);
    return c > PORT_ADC_FULL - 1 ? PORT_ADC_FULL - 1 : (int)c;
}

double
script_ohms_for_celsius(const struct sampling_config *cfg, double celsius)
{
    const struct thermistor *t = &cfg->therm;
    double k = celsius + 273.15;

    if (t->model == THERMISTOR_BETA)
        return t->r0 * exp(t->beta * (1.0 / k - 1.0 / t->t0));
    /* Steinhart-Hart solved for R: with x = (a - 1/T) / c and
     * y = sqrt((b / 3c)^3 + x^2 / 4), ln R = cbrt(y - x/2) - cbrt(y + x/2). */
    double x = (t->a - 1.0 / k) / t->c;
    double y = sqrt(pow(t->b / (3.0 * t->c), 3) + x * x / 4.0);
    return exp(cbrt(y - x / 2.0) - cbrt(y + x / 2.0));
}

/* Parses a number that must fill the whole word. */
static int
number(const char *w, double *v)
{
    char *end;

    if (w == NULL)
        return -EINVAL;
    errno = 0;
    *v = strtod(w, &end);
    return errno || end == w || *end != '\0' || !isfinite(*v) ? -EINVAL : 0;
}

/* Module number 1-4 to its ADC channel; "gas" too when gas_ok. */
static int
channel(const char *w, bool gas_ok)
{
    if (w == NULL)
        return -EINVAL;
    if (gas_ok && strcmp(w, "gas") == 0)
        return PORT_ADC_GAS;
    if (w[0] >= '1' && w[0] <= '0' + SAMPLING_MODULES && w[1] == '\0')
        return PORT_ADC_MODULE1 + (w[0] - '1');
    return -EINVAL;
}

static void
set_temp(struct script *s, int ch, double celsius)
{
    host_port_set_adc((unsigned)ch,
                      script_count_for_ohms(&s->cfg, script_ohms_for_celsius(&s->cfg, celsius)));
}

int
script_command(struct script *s, const char *cmd, double now_s, char *err, size_t errlen)
{
    char buf[256], *save = NULL, *w[6] = {0};
    unsigned n = 0;
    double v, v2, v3;
    int ch;

    if (strlen(cmd) >= sizeof(buf))
        return fail(err, errlen, "command too long");
    strcpy(buf, cmd);
    for (char *t = strtok_r(buf, " \t\r\n", &save); t != NULL && n < 6;
         t = strtok_r(NULL, " \t\r\n", &save))
        w[n++] = t;
    if (n == 0)
        return 0;
    if (n == 6)
        return fail(err, errlen, "too many words");

    if (strcmp(w[0], "raw") == 0 && n == 3) {
        if ((ch = channel(w[1], true)) < 0)
            return fail(err, errlen, "raw: channel '%s' is not 1-4 or gas", w[1]);
        if (number(w[2], &v) < 0 || v < 0 || v > PORT_ADC_FULL - 1 || v != floor(v))
            return fail(err, errlen, "raw: count '%s' is not 0-%d", w[2], PORT_ADC_FULL - 1);
        if (ch < SAMPLING_MODULES)
            s->ramp[ch].on = false;
        host_port_set_adc((unsigned)ch, (int)v);
    } else if (strcmp(w[0], "ohm") == 0 && n == 3) {
        if ((ch = channel(w[1], false)) < 0)
            return fail(err, errlen, "ohm: module '%s' is not 1-4", w[1]);
        if (number(w[2], &v) < 0 || v < 0)
            return fail(err, errlen, "ohm: '%s' is not a resistance", w[2]);
        s->ramp[ch].on = false;
        host_port_set_adc((unsigned)ch, script_count_for_ohms(&s->cfg, v));
    } else if (strcmp(w[0], "temp") == 0 && n == 3) {
        if ((ch = channel(w[1], false)) < 0)
            return fail(err, errlen, "temp: module '%s' is not 1-4", w[1]);
        if (number(w[2], &v) < 0 || v < -100 || v > 300)
            return fail(err, errlen, "temp: '%s' is not a temperature (-100 to 300 C)", w[2]);
        s->ramp[ch].on = false;
        set_temp(s, ch, v);
    } else if (strcmp(w[0], "ramp") == 0 && n == 5) {
        if ((ch = channel(w[1], false)) < 0)
            return fail(err, errlen, "ramp: module '%s' is not 1-4", w[1]);
        if (number(w[2], &v) < 0 || number(w[3], &v2) < 0 || number(w[4], &v3) < 0 || v < -100 ||
            v > 300 || v2 < -100 || v2 > 300 || !(v3 > 0))
            return fail(err, errlen, "ramp: expected FROM TO (C, -100 to 300) SECONDS (> 0)");
        s->ramp[ch] = (struct script_ramp){true, v, v2, now_s, v3};
        set_temp(s, ch, v);
    } else if ((strcmp(w[0], "open") == 0 || strcmp(w[0], "short") == 0) && n == 2) {
        if ((ch = channel(w[1], false)) < 0)
            return fail(err, errlen, "%s: module '%s' is not 1-4", w[0], w[1]);
        s->ramp[ch].on = false;
        host_port_set_adc((unsigned)ch, w[0][0] == 'o' ? PORT_ADC_FULL - 1 : 0);
    } else if (strcmp(w[0], "ma") == 0 && n == 2) {
        if (number(w[1], &v) < 0 || v < 0 || v > 30)
            return fail(err, errlen, "ma: '%s' is not a loop current (0-30 mA)", w[1]);
        host_port_set_adc(PORT_ADC_GAS, board_gas_count((uint32_t)(v * 1000.0 + 0.5)));
    } else if (strcmp(w[0], "gas") == 0 && n == 2) {
        if (number(w[1], &v) < 0 || v < 0 || v > s->cfg.gas_range)
            return fail(err, errlen, "gas: '%s' is not 0-%u ppm", w[1], s->cfg.gas_range);
        host_port_set_adc(
            PORT_ADC_GAS,
            board_gas_count((uint32_t)(4000.0 + 16000.0 * v / s->cfg.gas_range + 0.5)));
    } else if (strcmp(w[0], "contact") == 0 && n == 2) {
        if (strcmp(w[1], "0") != 0 && strcmp(w[1], "1") != 0)
            return fail(err, errlen, "contact: expected 0 or 1");
        host_port_set_input(PORT_IN_CONTACT, w[1][0] - '0');
    } else if (strcmp(w[0], "adc-fail") == 0 && n == 2) {
        if ((ch = channel(w[1], true)) < 0)
            return fail(err, errlen, "adc-fail: channel '%s' is not 1-4 or gas", w[1]);
        if (ch < SAMPLING_MODULES)
            s->ramp[ch].on = false;
        host_port_set_adc((unsigned)ch, -ETIMEDOUT);
    } else if (strcmp(w[0], "selftest") == 0 && n == 2) {
        if (strcmp(w[1], "pass") != 0 && strcmp(w[1], "fail") != 0)
            return fail(err, errlen, "selftest: expected pass or fail");
        host_port_set_selftest(w[1][0] == 'p' ? 0 : -EIO);
    } else {
        return fail(err, errlen, "unknown command or wrong arguments: '%s'", cmd);
    }
    return 0;
}

/* Reads the next command line of the file into s->next. */
static void
read_next(struct script *s)
{
    char line[sizeof(s->next)];

    s->have_next = false;
    while (s->f != NULL && fgets(line, sizeof(line), s->f) != NULL) {
        char *p = line, *end;
        double t;

        s->line++;
        if ((end = strchr(p, '#')) != NULL)
            *end = '\0';
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0' || *p == '\n' || *p == '\r')
            continue;
        t = strtod(p, &end);
        /* A line without a time, or with one before the previous line's, is
         * reported when it would be due, with its number, and skipped. */
        if (end == p || (*end != ' ' && *end != '\t')) {
            s->next_bad = SCRIPT_NO_TIME;
            t = s->next_at;
        } else if (t < s->next_at) {
            s->next_bad = SCRIPT_BACKWARDS;
            t = s->next_at;
        } else {
            s->next_bad = SCRIPT_OK;
            memmove(line, end, strlen(end) + 1);
        }
        memcpy(s->next, line, sizeof(s->next));
        s->next_at = t;
        s->next_line = s->line;
        s->have_next = true;
        return;
    }
}

int
script_open(struct script *s, const char *path, double start_s, char *err, size_t errlen)
{
    s->f = fopen(path, "r");
    if (s->f == NULL)
        return fail(err, errlen, "%s: %s", path, strerror(errno));
    snprintf(s->path, sizeof(s->path), "%s", path);
    s->start = start_s;
    s->line = 0;
    s->next_at = 0;
    read_next(s);
    return 0;
}

void
script_fini(struct script *s)
{
    if (s->f != NULL)
        fclose(s->f);
    s->f = NULL;
    s->have_next = false;
}

int
script_run(struct script *s, double now_s, char *err, size_t errlen)
{
    int rc = 0;

    for (unsigned i = 0; i < SAMPLING_MODULES; i++) {
        struct script_ramp *r = &s->ramp[i];
        double f;

        if (!r->on)
            continue;
        f = (now_s - r->t0) / r->secs;
        if (f >= 1.0) {
            f = 1.0;
            r->on = false;
        }
        set_temp(s, (int)i, r->from + (r->to - r->from) * (f < 0 ? 0 : f));
    }
    while (s->have_next && s->start + s->next_at <= now_s) {
        char msg[256];

        if (s->next_bad == SCRIPT_NO_TIME) {
            snprintf(err, errlen, "%s:%u: expected SECONDS COMMAND", s->path, s->next_line);
            rc = -EINVAL;
        } else if (s->next_bad == SCRIPT_BACKWARDS) {
            snprintf(err, errlen, "%s:%u: time goes backwards", s->path, s->next_line);
            rc = -EINVAL;
        } else if (script_command(s, s->next, now_s, msg, sizeof(msg)) < 0) {
            snprintf(err, errlen, "%s:%u: %s", s->path, s->next_line, msg);
            rc = -EINVAL;
        }
        read_next(s);
        /* One error per call, so each one reaches the log. */
        if (rc < 0)
            return rc;
    }
    return 0;
}

double
script_wait_s(const struct script *s, double now_s)
{
    double w = -1;

    for (unsigned i = 0; i < SAMPLING_MODULES; i++)
        if (s->ramp[i].on)
            w = RAMP_STEP_S;
    if (s->have_next) {
        double d = s->start + s->next_at - now_s;

        if (d < 0)
            d = 0;
        if (w < 0 || d < w)
            w = d;
    }
    return w;
}

bool
script_pending(const struct script *s)
{
    return s->have_next;
}
