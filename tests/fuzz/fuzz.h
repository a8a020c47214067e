/*
 * fuzz.h - what the fuzz targets share.
 *
 * Each target defines LLVMFuzzerTestOneInput().  It is linked either with
 * libFuzzer (make fuzz: clang, -fsanitize=fuzzer,address,undefined) or with
 * driver.c (make fuzz-regress: gcc + ASan/UBSan, replaying the corpora and
 * every saved crash), so a target must not depend on either.
 */
#ifndef EMBER_FUZZ_H
#define EMBER_FUZZ_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant the parsers promise to their callers.  A violation aborts, so
 * libFuzzer saves the input as a crash and the regress driver fails. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Replaces the whole content of the open file fd with data.  Used to hand an
 * input to a loader that takes a path; aborts on I/O errors, which are the
 * harness's fault and not a finding. */
static inline void
fuzz_set_file(int fd, const uint8_t *data, size_t size)
{
    size_t off = 0;

    if (ftruncate(fd, 0) < 0) {
        perror("fuzz: ftruncate");
        abort();
    }
    while (off < size) {
        ssize_t w = pwrite(fd, data + off, size - off, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            perror("fuzz: pwrite");
            abort();
        }
        off += (size_t)w;
    }
}

#endif
