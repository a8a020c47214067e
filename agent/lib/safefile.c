/*
 * safefile.c - the rules of safefile.h: no symbolic links, no files of
 * other users, no directories others may write without the sticky bit.
 *
 * Owns nothing; calls only the C library.  Messages go to the caller's
 * buffer, which logs them at its boundary.
 */
#include "safefile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The directory part of path ("." when it has none), in buf. */
static int
parent_of(const char *path, char *buf, size_t len)
{
    const char *slash = strrchr(path, '/');
    size_t n;

    if (slash == NULL)
        return snprintf(buf, len, ".") < (int)len ? 0 : -ENAMETOOLONG;
    n = slash == path ? 1 : (size_t)(slash - path);
    if (n >= len)
        return -ENAMETOOLONG;
    memcpy(buf, path, n);
    buf[n] = '\0';
    return 0;
}

int
safefile_check_dir(const char *path, char *err, size_t errlen)
{
    char dir[4096];
    struct stat st;
    int rc;

    if ((rc = parent_of(path, dir, sizeof(dir))) < 0) {
        snprintf(err, errlen, "%s: path too long", path);
        return rc;
    }
    if (stat(dir, &st) < 0) {
        rc = -errno;
        snprintf(err, errlen, "%s: directory %s: %s", path, dir, strerror(errno));
        return rc;
    }
    if (st.st_uid != geteuid() && st.st_uid != 0) {
        snprintf(err, errlen,
                 "%s: directory %s belongs to uid %u, not to this user (uid %u) or root, so "
                 "its owner could replace the file; use a directory of this user's",
                 path, dir, (unsigned)st.st_uid, (unsigned)geteuid());
        return -EPERM;
    }
    if (!(st.st_mode & S_IWOTH))
        return 0;
    if (!(st.st_mode & S_ISVTX)) {
        snprintf(err, errlen,
                 "%s: directory %s is writable by others without the sticky bit (mode %04o), "
                 "so anyone could replace the file; use a directory only this user can write "
                 "(or chmod o-w %s)",
                 path, dir, (unsigned)(st.st_mode & 07777), dir);
        return -EPERM;
    }
    return 1;
}

/* The rules for one entry, from its lstat/fstat.  shared: it is in a sticky
 * directory others can write, so only this user's own entry is trusted. */
static int
check_stat(const struct stat *st, const char *path, enum safefile_kind kind, bool shared, char *err,
           size_t errlen)
{
    if (S_ISLNK(st->st_mode)) {
        snprintf(err, errlen,
                 "%s: is a symbolic link; links are not followed here: name the real file, "
                 "in a directory only this user can write",
                 path);
        return -EPERM;
    }
    if (kind == SAFEFILE_REGULAR && !S_ISREG(st->st_mode)) {
        snprintf(err, errlen, "%s: is not a regular file; remove it or choose another path", path);
        return -EPERM;
    }
    if (st->st_uid != geteuid() && (shared || st->st_uid != 0)) {
        snprintf(err, errlen,
                 "%s: is owned by uid %u, not by this user (uid %u)%s; it is not used: remove "
                 "it, or choose a path in a directory only this user can write",
                 path, (unsigned)st->st_uid, (unsigned)geteuid(),
                 shared ? " in a directory others can write" : " or root");
        return -EPERM;
    }
    if (kind == SAFEFILE_REGULAR && (st->st_mode & (S_IWGRP | S_IWOTH))) {
        snprintf(err, errlen, "%s: is writable by group or others (mode %04o); chmod go-w %s", path,
                 (unsigned)(st->st_mode & 07777), path);
        return -EPERM;
    }
    return 0;
}

int
safefile_check_path(const char *path, enum safefile_kind kind, char *err, size_t errlen)
{
    struct stat st;
    int shared, rc;

    if ((shared = safefile_check_dir(path, err, errlen)) < 0)
        return shared;
    if (lstat(path, &st) < 0) {
        if (errno == ENOENT)
            return 0;
        rc = -errno;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return rc;
    }
    return check_stat(&st, path, kind, shared == 1, err, errlen);
}

int
safefile_open(const char *path, int flags, mode_t mode, char *err, size_t errlen)
{
    struct stat st;
    int shared, fd, rc;

    if ((shared = safefile_check_dir(path, err, errlen)) < 0)
        return shared;
    /* Non-blocking, so a FIFO planted at the path cannot hold us in open();
     * without O_TRUNC, so a file is truncated only once it has passed. */
    fd = open(path, (flags & ~O_TRUNC) | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, mode);
    if (fd < 0) {
        int e = errno;
        /* O_NOFOLLOW's refusal (ELOOP), or the kernel's for a link in a
         * sticky directory (EACCES): say what is there, not the errno. */
        if (lstat(path, &st) == 0 &&
            check_stat(&st, path, SAFEFILE_REGULAR, shared == 1, err, errlen) < 0)
            return -EPERM;
        snprintf(err, errlen, "%s: %s", path, strerror(e));
        return -e;
    }
    if (fstat(fd, &st) < 0) {
        rc = -errno;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        close(fd);
        return rc;
    }
    if ((rc = check_stat(&st, path, SAFEFILE_REGULAR, shared == 1, err, errlen)) < 0) {
        close(fd);
        return rc;
    }
    if ((!(flags & O_NONBLOCK) && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) ||
        ((flags & O_TRUNC) && ftruncate(fd, 0) < 0)) {
        rc = -errno;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        close(fd);
        return rc;
    }
    return fd;
}
