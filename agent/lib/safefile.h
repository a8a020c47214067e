/*
 * safefile.h - opening a daemon's own files without trusting the directory
 * they are in.
 *
 * A daemon running as root may be given a journal, state file, audit log or
 * control socket in a directory other users can write (a 1777 /tmp).  There,
 * another user could plant a symbolic link (and have the daemon overwrite
 * the file it points at) or a file of their own (and have the daemon trust
 * its content).  The rules, checked on every such path:
 * - a symbolic link is never followed (the file is opened with O_NOFOLLOW);
 * - the file must belong to this user or to root, and must not be writable
 *   by group or others (sockets excepted: their mode is the access list);
 * - its directory must not be writable by others, unless it has the sticky
 *   bit, and then the file must belong to this very user.
 *
 * Every refusal is -EPERM with a message in err naming the path and the
 * fix.  The module calls nothing but the C library; it never prints.
 */
#ifndef EMBER_SAFEFILE_H
#define EMBER_SAFEFILE_H

#include <stddef.h>
#include <sys/types.h>

/* What safefile_check_path() expects to find at a path. */
enum safefile_kind { SAFEFILE_REGULAR, SAFEFILE_SOCKET };

/* Checks the directory that holds path (its parent).  Returns 1 when it is a
 * shared sticky directory (a file there must belong to this user, not only
 * to root), 0 when it is private enough, -EPERM (err filled in) when others
 * may write it without the sticky bit, or -errno when it cannot be read. */
int safefile_check_dir(const char *path, char *err, size_t errlen);

/* Checks what is at path now, without following a symbolic link: nothing
 * (0, so the caller may create it), or an entry of the given kind that
 * passes the rules above (0).  Its directory is checked too.  Returns
 * -EPERM with err filled in when the entry breaks a rule, or -errno. */
int safefile_check_path(const char *path, enum safefile_kind kind, char *err, size_t errlen);

/* open(2) for a daemon's own regular file: the directory is checked first,
 * O_NOFOLLOW and O_CLOEXEC are added, and the open file is checked through
 * its descriptor (so what is checked is what is used).  A file it creates
 * gets `mode` (less the umask).  Returns the descriptor, or -EPERM (err
 * filled in), or -errno (err filled in; -ENOENT without O_CREAT). */
int safefile_open(const char *path, int flags, mode_t mode, char *err, size_t errlen);

#endif
