/* run_files: store locks, backtest result paths, and the live-store guard. */
#include "pipeline/run_files.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"
#include "util/err.h"
#include "util/filelock.h"

int run_files_lock(const char *db, int *fd, char *err, size_t errlen)
{
    *fd = -1;
    if (strcmp(db, ":memory:") == 0)
        return 0;
    /* A store in a folder that does not exist: say so, rather than the lock file's
     * "No such file or directory". */
    const char *slash = strrchr(db, '/');
    if (slash && slash != db) {
        char dir[4096];
        struct stat st;
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - db), db);
        if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
            return err_set(err, errlen, APEX_ENOTFOUND,
                           "%s: the folder %s does not exist; create it (mkdir -p %s) or pass "
                           "another --db",
                           db, dir, dir);
    }
    char holder[256];
    int rc = filelock_acquire(db, fd, holder, sizeof holder);
    if (rc == APEX_EBUSY)
        return err_set(err, errlen, rc,
                       "%s is in use by another apex-host process%s%s%s; two processes never "
                       "share a store: wait for it to stop, or pass another --db",
                       db, holder[0] ? " (pid " : "", holder, holder[0] ? ")" : "");
    if (rc)
        return err_set(err, errlen, rc, "%s: %s", db, holder);
    return 0;
}

void run_files_unlock(int fd)
{
    filelock_release(fd);
}

int run_files_backtest_path(const char *first, char *out, size_t outlen, char *err, size_t errlen)
{
    if (mkdir("results", 0755) != 0 && errno != EEXIST)
        return err_set(err, errlen, APEX_EIO, "cannot create the results folder: %s; pass --db",
                       strerror(errno));
    const char *base = strrchr(first, '/');
    base = base ? base + 1 : first;
    char name[128];
    snprintf(name, sizeof name, "%s", base);
    char *dot = strrchr(name, '.');
    if (dot && strcmp(dot, ".lua") == 0)
        *dot = '\0';
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    for (int n = 1; n < 1000; n++) {
        if (n == 1)
            snprintf(out, outlen, "results/%s-%s.db", name, stamp);
        else
            snprintf(out, outlen, "results/%s-%s-%d.db", name, stamp, n);
        /* O_EXCL claims the name, so two backtests started in the same second differ. */
        int f = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (f >= 0) {
            close(f);
            return 0;
        }
        if (errno != EEXIST)
            break;
    }
    return err_set(err, errlen, APEX_EIO, "cannot create a results file under results/: %s",
                   strerror(errno));
}

bool run_files_holds_live_run(const char *db)
{
    struct stat st;
    if (strcmp(db, ":memory:") == 0 || stat(db, &st) != 0 || st.st_size == 0)
        return false;
    char err[256], kind[32];
    store *s = store_open(db, STORE_FAST, err, sizeof err);
    if (s) {
        int rc = store_meta_get(s, "run_kind", kind, sizeof kind);
        store_close(s);
        if (rc == 0)
            return strcmp(kind, "run") == 0;
    }
    char pattern[4200];
    snprintf(pattern, sizeof pattern, "%s.*.paper", db);
    glob_t g;
    bool paper = glob(pattern, 0, NULL, &g) == 0 && g.gl_pathc > 0;
    if (paper)
        globfree(&g);
    return paper;
}
