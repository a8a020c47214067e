/*
 * util.h - clocks, value parsers and small string helpers shared by all programs.
 *
 * Parsers return 0 on success or -EINVAL / -ERANGE and never print, so the
 * config loaders can attach file:line and the key to the message.
 */
#ifndef EMBER_UTIL_H
#define EMBER_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Longest name of a site, agent, bus, device, sensor or point. */
#define NAME_MAX_LEN 64

/* CLOCK_MONOTONIC in ms / us: for scheduling and measuring. */
int64_t mono_ms(void);
int64_t mono_us(void);
/* CLOCK_REALTIME in ms: for timestamps in payloads. */
int64_t real_ms(void);

/* Formats real-time ms as RFC 3339 UTC with milliseconds: 2026-11-25T06:37:36.123Z.
 * buf must hold at least 25 bytes. */
void fmt_rfc3339_ms(int64_t ms, char *buf, size_t len);

/* "250ms", "1s", "1.5s", "2m", "1h", "7d"; a bare number means seconds.
 * The one duration parser: configuration keys, control commands (emberctl
 * shelve/test) and ember-sim scenarios all go through it. */
int parse_duration_ms(const char *s, int64_t *out);
/* The reverse, in the largest unit that divides ms: "7d", "90m", "1500ms", "0s". */
void fmt_duration_ms(int64_t ms, char *buf, size_t len);
/* Decimal (leading zeros allowed, never octal) or 0x hex integer within [min, max]. */
int parse_long(const char *s, long min, long max, long *out);
/* A finite floating point number. */
int parse_double(const char *s, double *out);
/* yes/no, true/false, on/off, 1/0. */
int parse_bool(const char *s, bool *out);

/* The noun for a count: plural(1, "bus", "buses") is "bus", any other n "buses".
 * Messages say "1 bus, 2 zones", never "1 buses". */
static inline const char *
plural(long long n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

/* A name usable as one MQTT topic level and in config section names:
 * 1-64 characters from [A-Za-z0-9_.-]. */
bool name_valid(const char *s);
/* The default id of a program (an agent's, a drain controller's): this host's
 * name cut to NAME_MAX_LEN, with every character name_valid() refuses made
 * '-'; `fallback` when there is no host name.  out holds NAME_MAX_LEN + 1. */
void name_from_hostname(char out[NAME_MAX_LEN + 1], const char *fallback);

/* Returns a malloc'd path: `path` itself when absolute, else relative to the
 * directory holding `base_file`.  NULL on allocation failure. */
char *path_relative_to(const char *base_file, const char *path);

/* strdup that aborts on allocation failure; only for start-up paths. */
char *xstrdup(const char *s);
void *xcalloc(size_t n, size_t size);
/* NULL-terminated string vectors (argv, envp): a deep copy that aborts on
 * allocation failure (NULL copies as an empty vector), and its free (safe on
 * NULL). */
char **strv_dup(char *const *v);
void strv_free(char **v);

#endif
