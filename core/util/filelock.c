/* filelock: flock on "<path>.lock" with the holder's pid inside. */
#include "util/filelock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "util/err.h"

int filelock_acquire(const char *path, int *fd, char *holder, size_t holderlen)
{
    *fd = -1;
    if (holderlen)
        holder[0] = '\0';
    char lock[4200];
    snprintf(lock, sizeof lock, "%s.lock", path);
    int f = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (f < 0) {
        snprintf(holder, holderlen, "cannot create %s: %s", lock, strerror(errno));
        return APEX_EIO;
    }
    if (flock(f, LOCK_EX | LOCK_NB) != 0) {
        char pid[32];
        ssize_t n = pread(f, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        snprintf(holder, holderlen, "%s", pid);
        close(f);
        return APEX_EBUSY;
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    /* The pid only improves the next process's message; the lock is held either way. */
    if (ftruncate(f, 0) != 0 || pwrite(f, pid, (size_t)n, 0) != n)
        (void)0;
    *fd = f;
    return 0;
}

void filelock_release(int fd)
{
    if (fd >= 0)
        close(fd);
}
