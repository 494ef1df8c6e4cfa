/* filelock: one process at a time on a file (a store, a paper account).
 *
 * An exclusive flock on "<path>.lock", never on the file itself: closing any
 * descriptor of a file drops the POSIX locks SQLite holds on it. The kernel releases a
 * flock when its process dies, so a SIGKILL leaves no stale lock; the lock file keeps
 * the holder's pid for the message. */
#ifndef APEX_UTIL_FILELOCK_H
#define APEX_UTIL_FILELOCK_H

#include <stddef.h>

/* Takes the lock for path. Returns 0 with *fd to keep open while the file is in use;
 * APEX_EBUSY when another process holds it (holder gets its pid, "" if unknown), or
 * APEX_EIO when the lock file cannot be created (holder gets the reason). */
int filelock_acquire(const char *path, int *fd, char *holder, size_t holderlen);
/* Releases it (fd < 0 is ignored). */
void filelock_release(int fd);

#endif
