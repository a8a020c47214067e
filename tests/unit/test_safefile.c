/* Unit tests: safefile, the rules for a daemon's own files in directories
 * other users may write (links, owners, modes, sticky directories). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "safefile.h"
#include "tmpdir.h"

#define OTHER_UID 65534 /* nobody */

static char path[256], err[1024];

static const char *
at(const char *name)
{
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return path;
}

static void
write_file(const char *p, const char *text, mode_t mode)
{
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    assert_int_equal(chmod(p, mode), 0);
}

static off_t
size_of(const char *p)
{
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    return st.st_size;
}

static int
setup(void **state)
{
    (void)state;
    return tmpdir_make("safefile");
}

static int
teardown(void **state)
{
    (void)state;
    return tmpdir_remove();
}

/* Our own file in our own directory: created with the mode asked for, and
 * opened again; a missing file without O_CREAT is plain -ENOENT. */
static void
test_own_file(void **state)
{
    struct stat st;
    int fd;
    (void)state;

    fd = safefile_open(at("own"), O_RDWR | O_CREAT, 0600, err, sizeof(err));
    assert_true(fd >= 0);
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
    close(fd);
    fd = safefile_open(at("own"), O_RDONLY, 0, err, sizeof(err));
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(safefile_open(at("missing"), O_RDONLY, 0, err, sizeof(err)), -ENOENT);
    assert_non_null(strstr(err, at("missing")));
    assert_int_equal(safefile_check_path(at("missing"), SAFEFILE_REGULAR, err, sizeof(err)), 0);
}

/* A link is never followed, even to our own file, and its target is left
 * as it was (O_TRUNC included). */
static void
test_symlink_refused(void **state)
{
    char target[256];
    (void)state;

    snprintf(target, sizeof(target), "%s/target", dir);
    write_file(target, "precious", 0600);
    assert_int_equal(symlink(target, at("link")), 0);
    assert_int_equal(
        safefile_open(at("link"), O_WRONLY | O_CREAT | O_TRUNC, 0600, err, sizeof(err)), -EPERM);
    assert_non_null(strstr(err, "link: is a symbolic link"));
    assert_int_equal(size_of(target), 8);
    assert_int_equal(safefile_check_path(at("link"), SAFEFILE_SOCKET, err, sizeof(err)), -EPERM);
    assert_non_null(strstr(err, "is a symbolic link"));
}

/* A file writable by group or others is refused with the chmod that fixes
 * it, and is not truncated by the refused open. */
static void
test_writable_refused(void **state)
{
    char want[600];
    (void)state;

    write_file(at("gw"), "data", 0620);
    assert_int_equal(safefile_open(at("gw"), O_WRONLY | O_TRUNC, 0, err, sizeof(err)), -EPERM);
    snprintf(want, sizeof(want), "chmod go-w %s", at("gw"));
    assert_non_null(strstr(err, want));
    assert_int_equal(size_of(at("gw")), 4);
    write_file(at("ow"), "data", 0602);
    assert_int_equal(safefile_open(at("ow"), O_RDONLY, 0, err, sizeof(err)), -EPERM);
    assert_non_null(strstr(err, "is writable by group or others (mode 0602)"));
}

/* A FIFO (or anything not a regular file) is refused without blocking in
 * open() for a writer. */
static void
test_fifo_refused(void **state)
{
    (void)state;

    assert_int_equal(mkfifo(at("fifo"), 0600), 0);
    alarm(5);
    assert_int_equal(safefile_open(at("fifo"), O_RDONLY, 0, err, sizeof(err)), -EPERM);
    alarm(0);
    assert_non_null(strstr(err, "fifo: is not a regular file"));
}

/* A directory others may write without the sticky bit is refused before
 * anything is created in it; with the sticky bit, our own file passes. */
static void
test_directories(void **state)
{
    char sub[256], file[300];
    int fd;
    (void)state;

    snprintf(sub, sizeof(sub), "%s/open", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_int_equal(chmod(sub, 0777), 0);
    snprintf(file, sizeof(file), "%s/j.db", sub);
    assert_int_equal(safefile_open(file, O_RDWR | O_CREAT, 0600, err, sizeof(err)), -EPERM);
    assert_non_null(strstr(err, "is writable by others without the sticky bit (mode 0777)"));
    assert_int_equal(access(file, F_OK), -1);
    assert_int_equal(safefile_check_dir(file, err, sizeof(err)), -EPERM);

    assert_int_equal(chmod(sub, 01777), 0);
    assert_int_equal(safefile_check_dir(file, err, sizeof(err)), 1);
    fd = safefile_open(file, O_RDWR | O_CREAT, 0600, err, sizeof(err));
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(safefile_check_dir(at("x"), err, sizeof(err)), 0);
    assert_int_equal(safefile_check_dir("relative", err, sizeof(err)) >= 0, 1);
}

/* Another user's file is refused (root's would pass outside a sticky
 * directory); another user's socket too, and it stays.  Needs root. */
static void
test_other_owner_refused(void **state)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    char want[128], sub[256], file[300];
    int s;
    (void)state;

    if (geteuid() != 0)
        skip();
    write_file(at("theirs"), "{}", 0644);
    assert_int_equal(chown(at("theirs"), OTHER_UID, OTHER_UID), 0);
    assert_int_equal(safefile_open(at("theirs"), O_RDONLY, 0, err, sizeof(err)), -EPERM);
    snprintf(want, sizeof(want), "is owned by uid %d", OTHER_UID);
    assert_non_null(strstr(err, want));

    s = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(strlen(at("their.sock")) < sizeof(sa.sun_path));
    memcpy(sa.sun_path, path, strlen(path) + 1);
    assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(s);
    assert_int_equal(lchown(at("their.sock"), OTHER_UID, OTHER_UID), 0);
    assert_int_equal(safefile_check_path(at("their.sock"), SAFEFILE_SOCKET, err, sizeof(err)),
                     -EPERM);
    assert_non_null(strstr(err, want));
    assert_int_equal(access(at("their.sock"), F_OK), 0);

    /* A directory of another user: its owner could swap the file. */
    snprintf(sub, sizeof(sub), "%s/theirdir", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    assert_int_equal(chown(sub, OTHER_UID, OTHER_UID), 0);
    snprintf(file, sizeof(file), "%s/j.db", sub);
    assert_int_equal(safefile_open(file, O_RDWR | O_CREAT, 0600, err, sizeof(err)), -EPERM);
    assert_non_null(strstr(err, "belongs to uid"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_own_file),         cmocka_unit_test(test_symlink_refused),
        cmocka_unit_test(test_writable_refused), cmocka_unit_test(test_fifo_refused),
        cmocka_unit_test(test_directories),      cmocka_unit_test(test_other_owner_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
