/* run_files: the files a run or backtest owns, and the guards around them.
 *
 * - A store is used by one process at a time: an exclusive flock on "<db>.lock" (not on
 *   the database itself: closing any descriptor of a file drops SQLite's POSIX locks on
 *   it). The kernel releases it when the process dies, so a SIGKILL leaves no stale lock.
 * - A backtest writes, by default, a new store per run under results/, so past results
 *   are kept and two backtests started in one folder never collide.
 * - A backtest never replaces a store that `run` wrote (live executions and paper
 *   accounts) unless told to with --force. */
#ifndef APEX_PIPELINE_RUN_FILES_H
#define APEX_PIPELINE_RUN_FILES_H

#include <stdbool.h>
#include <stddef.h>

/* Takes the lock of the store at db (":memory:" needs none: *fd = -1). Returns 0 with
 * *fd to keep open for the life of the process, or APEX_EBUSY / APEX_EIO with a message
 * that names the store and, when known, the process holding it. */
int run_files_lock(const char *db, int *fd, char *err, size_t errlen);
void run_files_unlock(int fd);

/* A new store path "results/<pipeline>-<UTC yyyymmdd-hhmmss>[-n].db" for a backtest of
 * the pipeline file `first` (creating results/). 0 or APEX_EIO with a message. */
int run_files_backtest_path(const char *first, char *out, size_t outlen, char *err, size_t errlen);

/* True when db exists and was written by `run`: its meta says so, or (a store from
 * before run_kind was recorded) it has persisted paper accounts beside it. */
bool run_files_holds_live_run(const char *db);

#endif
