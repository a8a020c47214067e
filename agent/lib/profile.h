/*
 * profile.h - device profiles: register maps of real devices as data files.
 *
 * A profile names the points of one device model (where each lives in the
 * Modbus address space and how raw registers become engineering units).
 * emberd uses profiles to read devices, ember-sim to serve them, so both
 * sides always agree on the encoding.  The file format is documented in
 * agent/profiles/README.md.
 */
#ifndef EMBER_PROFILE_H
#define EMBER_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfgfile.h"
#include "util.h"


/* Modbus tables, named after the function codes that read them. */
enum mb_table {
    MB_COIL = 0,     /* FC01 */
    MB_DISCRETE = 1, /* FC02 */
    MB_HOLDING = 2,  /* FC03 */
    MB_INPUT = 3,    /* FC04 */
};

enum point_type { PT_INT16, PT_UINT16, PT_INT32, PT_UINT32, PT_FLOAT32, PT_BOOL };

/* Word order of 32-bit values: ABCD = high word first (Modbus convention,
 * Eastron, APC), CDAB = low word first. */
enum word_order { WO_ABCD, WO_CDAB };

struct point {
    char name[NAME_MAX_LEN + 1];
    enum mb_table table;
    uint16_t address;
    enum point_type type;
    enum word_order order;
    int bit;       /* -1: the whole value; 0..31: this bit of the raw value (0/1) */
    double scale;  /* value = raw * scale + offset */
    double offset;
    bool has_invalid;
    uint32_t invalid; /* raw value meaning "not available": quality bad */
    bool has_min, has_max;
    double min, max; /* plausible range; outside it the reading is bad */
    double initial;  /* value ember-sim serves before any scenario sets one */
    int decimals;    /* published precision */
    char unit[17];
    char description[129];
    int line;
};

struct profile {
    char name[NAME_MAX_LEN + 1];
    char description[161];
    char *path;
    struct point *points;
    size_t npoints;
    /* Sharing (profile_load_ref): holders, and the identity of the file
     * when it was read (device, inode, size, mtime in ns), so a file edited
     * since is read again instead of shared. */
    unsigned refs;
    uint64_t file_id[4];
    struct profile *next_shared;
};

/* A contiguous read: one Modbus request. */
struct read_block {
    enum mb_table table;
    uint16_t start;
    uint16_t count;
};

/* Loads a profile from `path`.  On error returns -EINVAL and appends
 * "file:line: ..." messages to err. */
int profile_load(const char *path, struct profile **out, struct cfgerr *err);
/* Drops one holder of p; the last one frees it.  Safe on NULL. */
void profile_free(struct profile *p);

/* Resolves `ref` (a name, looked up as DIR/NAME.ini, or a path with a '/')
 * and loads it, or hands out the copy already loaded from the same,
 * unchanged file (read-only; each holder calls profile_free).  Loads and
 * frees must come from one thread, the one that reads configurations. */
int profile_load_ref(const char *dir, const char *ref, const char *base_file,
                     struct profile **out, struct cfgerr *err);
/* When DIR/NAME.ini does not exist the error says so and lists what DIR
 * holds: "profile 'x' not found in DIR (profiles there: a, b)" or
 * "(DIR does not exist)". */

/* Where profiles are when nothing names a directory (ember-sim without -P
 * or a scenario's profile_dir): $EMBER_PROFILE_DIR when set; else the
 * agent/profiles of the source checkout the running program was built in
 * (build/ember-sim, build/test/ember-sim: found from /proc/self/exe); else
 * the installed EMBER_DATADIR/profiles.  Writes the directory into buf
 * (PATH_MAX) and returns why it was chosen, for messages. */
const char *profile_default_dir(char *buf, size_t len);

/* The profiles in dir, "a, b, c" (names without .ini, sorted), into buf;
 * returns -errno when dir cannot be read. */
int profile_list(const char *dir, char *buf, size_t len);

const struct point *profile_point(const struct profile *p, const char *name);

/* Registers (or bits) a point occupies: 1 or 2. */
int point_width(const struct point *pt);

/* Decodes a point from its raw words (bits for coil/discrete are 0/1 words).
 * Returns 0, or -ERANGE when the device reports "not available" or a value
 * outside the plausible range (the caller marks the reading bad). */
int point_decode(const struct point *pt, const uint16_t *words, double *value);

/* Encodes `value` into the point's words, leaving other bits of a shared
 * status word untouched.  Out-of-range values saturate. */
void point_encode(const struct point *pt, double value, uint16_t *words);

/* Rounds to the point's published precision. */
double point_round(const struct point *pt, double value);

/* Groups points into as few requests as possible.  Points of one table whose
 * registers are at most `max_gap` apart share a block; blocks never exceed
 * 125 registers or bits.  block_of[i] and offset_of[i]
 * receive where point i lives.  Returns the number of blocks or -ENOSPC. */
int profile_plan(const struct point *const *pts, size_t npts, unsigned max_gap,
                 struct read_block *blocks, size_t max_blocks, int *block_of, int *offset_of);

const char *mb_table_name(enum mb_table t);

#endif
