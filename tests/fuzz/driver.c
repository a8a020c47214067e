/*
 * driver.c - runs a fuzz target's LLVMFuzzerTestOneInput() over files, without
 * libFuzzer, so the seed corpora and every saved crash replay under gcc with
 * ASan+UBSan in make check (make fuzz-regress).
 *
 *   driver PATH...      each PATH is an input file or a directory of them
 *                       (searched recursively; names starting with '.' and
 *                       README files are skipped)
 *
 * Each input is copied into a buffer of exactly its size, as libFuzzer does,
 * so ASan catches a read one byte past the end.  A finding ends the process
 * (a sanitizer report, or abort() from a failed FUZZ_CHECK) after naming the
 * input it was running; a leak is reported after the input that leaked.  The
 * exit status is 0 only when every input ran and
 * at least one was found (an empty corpus is a mistake, not a pass).
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* In the sanitizer runtimes (gcc's and clang's); absent in a plain build. */
void __sanitizer_set_death_callback(void (*cb)(void)) __attribute__((weak));
int __lsan_do_recoverable_leak_check(void) __attribute__((weak));

static unsigned long ninputs;
static int failed;
static bool leaked;
static const char *volatile current; /* input being run, for the crash message */

/* Async-signal-safe: called from a signal handler or the sanitizer's death
 * path, so write() only. */
static void
say_current(void)
{
    const char *p = current;
    if (p == NULL)
        return;
    if (write(2, "driver: failed on ", 18) < 0 || write(2, p, strlen(p)) < 0 ||
        write(2, "\n", 1) < 0)
        return;
}

static void
on_fatal_signal(int sig)
{
    say_current();
    signal(sig, SIG_DFL);
    raise(sig);
}

static int
run_file(const char *path)
{
    struct stat st;
    uint8_t *buf;
    size_t off = 0;
    int fd;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0) {
        fprintf(stderr, "driver: %s: %s\n", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    /* malloc(0) may return NULL; keep a real (zero-length) allocation. */
    buf = malloc(st.st_size > 0 ? (size_t)st.st_size : 1);
    if (buf == NULL)
        abort();
    while (off < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + off, (size_t)st.st_size - off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            fprintf(stderr, "driver: %s: short read\n", path);
            free(buf);
            close(fd);
            return -1;
        }
        off += (size_t)r;
    }
    close(fd);
    current = path;
    if (off == 0) {
        /* libFuzzer hands an empty input as a non-NULL pointer too. */
        LLVMFuzzerTestOneInput(buf, 0);
    } else {
        uint8_t *exact = malloc(off);
        if (exact == NULL)
            abort();
        memcpy(exact, buf, off);
        LLVMFuzzerTestOneInput(exact, off);
        free(exact);
    }
    free(buf);
    /* Leaks are checked per input, as libFuzzer does, so the report names
     * the input (LeakSanitizer would otherwise only speak at exit).  The
     * check reports a leak again every time, so stop after the first. */
    if (!leaked && __lsan_do_recoverable_leak_check != NULL &&
        __lsan_do_recoverable_leak_check() != 0) {
        fprintf(stderr, "driver: memory leaked while running %s\n", path);
        leaked = true;
        failed = 1;
    }
    current = NULL;
    ninputs++;
    return 0;
}

static bool
skipped(const char *name)
{
    return name[0] == '.' || strncmp(name, "README", 6) == 0;
}

static int
cmp_names(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static void
run_path(const char *path)
{
    struct stat st;
    struct dirent **ents;
    int n;

    if (stat(path, &st) < 0) {
        fprintf(stderr, "driver: %s: %s\n", path, strerror(errno));
        failed = 1;
        return;
    }
    if (!S_ISDIR(st.st_mode)) {
        if (run_file(path) < 0)
            failed = 1;
        return;
    }
    /* Sorted, so two runs replay in the same order. */
    n = scandir(path, &ents, NULL, cmp_names);
    if (n < 0) {
        fprintf(stderr, "driver: %s: %s\n", path, strerror(errno));
        failed = 1;
        return;
    }
    for (int i = 0; i < n; i++) {
        if (!skipped(ents[i]->d_name)) {
            size_t len = strlen(path) + strlen(ents[i]->d_name) + 2;
            char *sub = malloc(len);
            if (sub == NULL)
                abort();
            snprintf(sub, len, "%s/%s", path, ents[i]->d_name);
            run_path(sub);
            free(sub);
        }
        free(ents[i]);
    }
    free(ents);
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
        return 2;
    }
    /* Under a sanitizer its own SIGSEGV handler prints the report and then
     * calls the death callback; abort() (FUZZ_CHECK) it leaves alone. */
    signal(SIGABRT, on_fatal_signal);
    if (__sanitizer_set_death_callback != NULL) {
        __sanitizer_set_death_callback(say_current);
    } else {
        signal(SIGSEGV, on_fatal_signal);
        signal(SIGBUS, on_fatal_signal);
        signal(SIGFPE, on_fatal_signal);
    }
    for (int i = 1; i < argc; i++)
        run_path(argv[i]);
    fprintf(stderr, "%s: %lu inputs ran%s\n", argv[0], ninputs, failed ? ", with errors" : "");
    return failed || ninputs == 0 ? 1 : 0;
}
