/*
 * fuzz_profile.c - profile_load() on arbitrary bytes.
 *
 * The input becomes the content of a memfd, loaded through its
 * /proc/self/fd path: no disk I/O per iteration and nothing to clean up.  A
 * profile has no references to other files, so the path does not matter.
 *
 * A profile that loads is trusted by emberd's poller and by ember-sim: the
 * checks below are what they rely on (names, widths, address ranges), and
 * the codec and the read planner are run over every point so that values
 * the loader let through are exercised where they are used.
 */
#include <math.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>

#include "fuzz.h"
#include "profile.h"

#define MAX_POINTS 256 /* profile.c's limit */

static int memfd = -1;
static char path[64];

static void
check_point(const struct profile *p, const struct point *pt)
{
    static const uint16_t patterns[][2] = {{0, 0},           {0xFFFF, 0xFFFF}, {0x8000, 0},
                                           {0x7FFF, 0xFFFF}, {0x7F80, 0},      {0x1234, 0x5678}};
    double values[] = {pt->initial, pt->min, pt->max, 0, -1e300, 1e300, pt->offset};

    FUZZ_CHECK(name_valid(pt->name));
    FUZZ_CHECK(profile_point(p, pt->name) == pt); /* names are unique */
    FUZZ_CHECK(pt->table >= MB_COIL && pt->table <= MB_INPUT);
    FUZZ_CHECK(pt->type >= PT_INT16 && pt->type <= PT_BOOL);
    FUZZ_CHECK(pt->order == WO_ABCD || pt->order == WO_CDAB);
    FUZZ_CHECK(pt->table == MB_HOLDING || pt->table == MB_INPUT || pt->type == PT_BOOL);
    FUZZ_CHECK(pt->bit >= -1 && pt->bit <= 31);
    FUZZ_CHECK(pt->bit < 16 || point_width(pt) == 2);
    FUZZ_CHECK(pt->bit < 0 || (pt->type != PT_FLOAT32 && pt->type != PT_BOOL));
    FUZZ_CHECK((int)pt->address + point_width(pt) <= 65536);
    FUZZ_CHECK(isfinite(pt->scale) && pt->scale != 0);
    FUZZ_CHECK(isfinite(pt->offset));
    FUZZ_CHECK(pt->decimals >= 0 && pt->decimals <= 6);
    FUZZ_CHECK(memchr(pt->unit, '\0', sizeof(pt->unit)) != NULL);
    FUZZ_CHECK(memchr(pt->description, '\0', sizeof(pt->description)) != NULL);

    /* What ember-sim serves and emberd decodes: no UB on any raw pattern or
     * any value, and a reading that decodes is a number (point_decode()
     * already turns a NaN/inf float32 into -ERANGE; emberd would publish an
     * inf or NaN as "value":null with quality good, and no alarm compares
     * true against it). */
    for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
        double v;
        int rc = point_decode(pt, patterns[i], &v);
        FUZZ_CHECK(rc == 0 || rc == -ERANGE);
        FUZZ_CHECK(rc != 0 || isfinite(v));
    }
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        uint16_t w[2] = {0, 0};
        double v;
        point_encode(pt, values[i], w);
        (void)point_decode(pt, w, &v);
        (void)point_round(pt, values[i]);
    }
}

/* The planner over all points, as emberd plans a device reading every one:
 * each point must lie inside its block, blocks stay within 125 registers. */
static void
check_plan(const struct profile *p, unsigned gap)
{
    static const struct point *pts[MAX_POINTS];
    static struct read_block blocks[MAX_POINTS];
    static int block_of[MAX_POINTS], offset_of[MAX_POINTS];
    int nb;

    for (size_t i = 0; i < p->npoints; i++)
        pts[i] = &p->points[i];
    nb = profile_plan(pts, p->npoints, gap, blocks, MAX_POINTS, block_of, offset_of);
    FUZZ_CHECK(nb >= 1 && (size_t)nb <= p->npoints);
    for (int b = 0; b < nb; b++)
        FUZZ_CHECK(blocks[b].count >= 1 && blocks[b].count <= 125 &&
                   (unsigned)blocks[b].start + blocks[b].count <= 65536);
    for (size_t i = 0; i < p->npoints; i++) {
        const struct read_block *b = &blocks[block_of[i]];
        FUZZ_CHECK(block_of[i] >= 0 && block_of[i] < nb);
        FUZZ_CHECK(b->table == pts[i]->table);
        FUZZ_CHECK(pts[i]->address == b->start + offset_of[i]);
        FUZZ_CHECK(offset_of[i] + point_width(pts[i]) <= b->count);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct profile *p = NULL;
    struct cfgerr err = {0};
    int rc;

    if (memfd < 0) {
        memfd = memfd_create("fuzz-profile.ini", MFD_CLOEXEC);
        if (memfd < 0) {
            perror("fuzz_profile: memfd_create");
            abort();
        }
        snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
    }
    fuzz_set_file(memfd, data, size);

    rc = profile_load(path, &p, &err);
    if (rc == 0) {
        FUZZ_CHECK(p != NULL && name_valid(p->name));
        FUZZ_CHECK(p->npoints >= 1 && p->npoints <= MAX_POINTS);
        FUZZ_CHECK(memchr(p->description, '\0', sizeof(p->description)) != NULL);
        for (size_t i = 0; i < p->npoints; i++)
            check_point(p, &p->points[i]);
        check_plan(p, 0);
        check_plan(p, 32);
        profile_free(p);
    } else {
        /* A refusal always says why, as file:line lines. */
        FUZZ_CHECK(rc == -EINVAL && err.count > 0 && err.text != NULL);
        FUZZ_CHECK(strlen(err.text) == err.len);
    }
    cfgerr_free(&err);
    return 0;
}
