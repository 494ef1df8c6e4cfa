/* optimize: `apex-host optimize` (see optimize.h).
 *
 * Why child processes and not threads: a backtest owns a whole host (loop, clock, store,
 * Lua states, the store's file lock), and `apex-host backtest` is already the tested way
 * to run one. A child per run keeps every run isolated (a stuck or crashing script takes
 * only its own run with it) and uses every core without any shared state.
 *
 * Every search is a list of rungs. A grid (or a random sample) is one rung: every set on
 * the whole in-sample range. Successive halving (--search halving; Jamieson & Talwalkar
 * 2016, the inner loop of Li et al.'s Hyperband, 2017) runs all the sets on the first
 * 1/eta^k of the in-sample bars, keeps the best 1/eta, and repeats with eta times the
 * bars until a rung runs on all of them. The out-of-sample half, when there is one,
 * runs beside the last rung, so a grid is exactly the one-rung case. */
#include "cli/optimize.h"
#include "cli/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <math.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "analytics/analytics.h"
#include "clock/clock.h"
#include "config/config.h"
#include "market/timestamp.h"
#include "money/money.h"
#include "market/csv_feed.h"
#include "market/symtab.h"
#include "pipeline/host.h"
#include "script/script.h"
#include "store/store.h"
#include "store/store_trades.h"
#include "util/diag.h"
#include "util/vec.h"

extern char **environ;

const char *const cli_usage_optimize =
    "usage: apex-host optimize [options] PIPELINE.lua\n"
    "\n"
    "Backtests PIPELINE once per parameter set, each in its own `apex-host backtest`\n"
    "process, up to --jobs at a time, and writes the sets ranked by a metric.\n"
    "\n"
    "  --grid NAME=SPEC   a parameter and its values (repeatable): NAME as for --param\n"
    "                     (strategy.fast); SPEC a list (5,10,20) or FROM:TO:STEP (5:20:5)\n"
    "  --search KIND      grid (default: every set), random (--samples N of them) or\n"
    "                     halving (successive halving over the grid or the samples)\n"
    "  --samples N        N sets drawn from the grid (without repeats) instead of all of\n"
    "                     it; --random N is the same\n"
    "  --seed S           the seed of the draw (default 1): same seed, same sets\n"
    "  --eta E            halving: keep the best 1/E of a rung, give the next E times the\n"
    "                     bars (default 3)\n"
    "  --rungs K          halving: the number of rungs (default: as many as keep at least\n"
    "                     2 sets on the last); the first runs on 1/E^(K-1) of the bars\n"
    "  --metric NAME      sharpe (default), total_return, profit_factor or net_pnl\n"
    "  --min-trades N     a set with fewer trades (in either half) is listed as rejected\n"
    "                     and not ranked; on a halving rung it ranks last (default 1)\n"
    "  --split-at TIME    in-sample: the data before TIME; out-of-sample: from TIME on.\n"
    "                     Each set runs twice and the table shows the metric of both\n"
    "  --from TIME, --to TIME  the span of the data used (as for backtest)\n"
    "  --jobs N           backtests at once (default: the number of cores)\n"
    "  --out FILE         the table as CSV (default: standard output)\n"
    "  --json FILE        the table as JSON, with the run's timing and concurrency\n"
    "\n"
    "Rows are ranked by the in-sample metric, highest first; rejected rows follow in grid\n"
    "order, then (halving) the sets each earlier rung eliminated. A parameter the pipeline\n"
    "does not declare is refused before any backtest (exit 2). Progress is shown on a\n"
    "terminal.\n";

#define MAX_GRID  8
#define MAX_RUNGS 16

typedef struct {
    char name[128];
    char **values;
    size_t nvalues;
} grid_param;

typedef enum {
    METRIC_SHARPE,
    METRIC_TOTAL_RETURN,
    METRIC_PROFIT_FACTOR,
    METRIC_NET_PNL
} metric_kind;
static const char *const metric_names[] = {"sharpe", "total_return", "profit_factor", "net_pnl"};

typedef enum { SEARCH_GRID, SEARCH_RANDOM, SEARCH_HALVING } search_kind;
static const char *const search_names[] = {"grid", "random", "halving"};

/* One backtest: a set's run on one rung's range, or its out-of-sample run. */
typedef struct {
    size_t set;     /* the candidate: an index into the search's sets */
    int half;       /* 0 in-sample, 1 out-of-sample, -1 the whole span (no --split-at) */
    const char *to; /* an earlier rung's last second as --to; NULL: the half's own */
    char db[PATH_MAX], log[PATH_MAX];
    pid_t pid;
    int status;
    double metric;
    size_t trades;
    money_t net_pnl;
    double started, ended; /* seconds since the optimize began */
} run_task;

/* A rung of the search: the range it runs on and what it decided. */
typedef struct {
    char to[32];           /* its last second as --to; "" on the last rung (the range's own) */
    char shown_to[32];     /* the same for people, also on the last rung */
    unsigned long divisor; /* the rung runs on 1/divisor of the in-sample bars */
    size_t candidates, kept, below_min;
    bool decided; /* false: nobody could be ranked, everyone went on */
} rung_info;

/* A parameter set through the search: the runs it got and how far it went. */
typedef struct {
    size_t index; /* in the full grid: the values of each parameter */
    size_t pos;   /* in the search's sets (what a run_task's set is) */
    int reached;  /* rungs run, 1..nrungs */
    bool last;    /* it reached the last rung */
    const run_task *rung[MAX_RUNGS];
    const run_task *oos;
    const run_task *key; /* the run it is ranked by now */
    bool below;          /* key has fewer trades than --min-trades */
    const char *rejected;
    char reason[48];
} candidate;

/* SIGINT or SIGTERM: start nothing more, stop the children (SIGTERM: each ends cleanly
 * with exit 5), reap them and remove the temporary stores. */
static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* splitmix64: a small, well-mixed PRNG, so --seed gives the same draw everywhere. */
static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int push_value(grid_param *g, const char *v, size_t len)
{
    char **nv = realloc(g->values, (g->nvalues + 1) * sizeof *nv);
    if (!nv)
        return -1;
    g->values = nv;
    g->values[g->nvalues] = strndup(v, len);
    return g->values[g->nvalues++] ? 0 : -1;
}

/* NAME=SPEC into g; an error message in err on failure. */
static int parse_grid(const char *arg, grid_param *g, char *err, size_t errlen)
{
    const char *eq = strchr(arg, '=');
    const char *dot = strchr(arg, '.');
    if (!eq || eq == arg || !dot || dot > eq || eq[1] == '\0') {
        snprintf(err, errlen, "--grid %s: expected STAGE.NAME=SPEC, e.g. strategy.fast=5:20:5",
                 arg);
        return -1;
    }
    if ((size_t)(eq - arg) >= sizeof g->name) {
        snprintf(err, errlen, "--grid %s: the name is too long", arg);
        return -1;
    }
    memcpy(g->name, arg, (size_t)(eq - arg));
    g->name[eq - arg] = '\0';
    const char *spec = eq + 1;
    if (strchr(spec, ':')) {
        char *end;
        double lo = strtod(spec, &end), hi = NAN, step = NAN;
        if (*end == ':')
            hi = strtod(end + 1, &end);
        if (*end == ':')
            step = strtod(end + 1, &end);
        if (*end != '\0' || !isfinite(lo) || !isfinite(hi) || !isfinite(step) || step <= 0 ||
            hi < lo || (hi - lo) / step > 100000) {
            snprintf(err, errlen,
                     "--grid %s: expected FROM:TO:STEP with FROM <= TO and STEP > 0, e.g. 5:20:5",
                     arg);
            return -1;
        }
        /* Count the steps, not add them up, so 0.1 steps do not drift. */
        size_t n = (size_t)floor((hi - lo) / step + 1e-9) + 1;
        for (size_t i = 0; i < n; i++) {
            char buf[64];
            int len = snprintf(buf, sizeof buf, "%.10g", lo + (double)i * step);
            if (push_value(g, buf, (size_t)len) != 0)
                return -1;
        }
    } else {
        for (const char *p = spec;;) {
            const char *c = strchr(p, ',');
            size_t len = c ? (size_t)(c - p) : strlen(p);
            if (len == 0) {
                snprintf(err, errlen, "--grid %s: an empty value in the list", arg);
                return -1;
            }
            if (push_value(g, p, len) != 0)
                return -1;
            if (!c)
                break;
            p = c + 1;
        }
    }
    return 0;
}

/* The value of parameter k in grid set `index` (the last parameter varies fastest). */
static const char *set_value(const grid_param *grid, size_t ngrid, size_t index, size_t k)
{
    for (size_t j = ngrid; j-- > k + 1;)
        index /= grid[j].nvalues;
    return grid[k].values[index % grid[k].nvalues];
}

typedef struct {
    const char *exe, *pipeline, *from, *to, *split_at;
    char is_to[32]; /* the in-sample part's last second: --split-at less one second */
    apex_time from_t, to_t, split_t; /* parsed; 0 when not given (to_t: a date's last
                                        moment, as backtest reads it) */
    const grid_param *grid;
    size_t ngrid;
} run_spec;

/* Builds the child's argv for `cmd` ("backtest" or "check") of set `index`, half `half`
 * (-1: the whole span; -2: no --from/--to at all), ending at `rung_to` when it is not
 * NULL. The strings it allocates go into owned (the caller frees them). Returns argc, or
 * -1 out of memory. */
static int child_argv(const run_spec *rs, const char *cmd, const char *db, size_t index, int half,
                      const char *rung_to, char **argv, char **owned, size_t *nowned)
{
    int n = 0;
    argv[n++] = (char *)rs->exe;
    argv[n++] = (char *)cmd;
    if (db) {
        argv[n++] = "--quiet";
        argv[n++] = "--db";
        argv[n++] = (char *)db;
    }
    for (size_t k = 0; k < rs->ngrid; k++) {
        char *p;
        if (asprintf(&p, "%s=%s", rs->grid[k].name, set_value(rs->grid, rs->ngrid, index, k)) < 0)
            return -1;
        owned[(*nowned)++] = p;
        argv[n++] = "--param";
        argv[n++] = p;
    }
    const char *from = rs->from, *to = rs->to;
    if (half == 0)
        to = rs->is_to;
    else if (half == 1)
        from = rs->split_at;
    if (rung_to)
        to = rung_to;
    if (from && half != -2) {
        argv[n++] = "--from";
        argv[n++] = (char *)from;
    }
    if (to && half != -2) {
        argv[n++] = "--to";
        argv[n++] = (char *)to;
    }
    argv[n++] = (char *)rs->pipeline;
    argv[n] = NULL;
    return n;
}

static pid_t spawn_child(char **argv, const char *log)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        errno = rc;
        return -1;
    }
    return pid;
}

static void print_file(const char *path, FILE *out)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        fwrite(buf, 1, n, out);
    fclose(f);
}

/* Reads a finished backtest's store into t with the summary's analytics. */
static int read_result(run_task *t, metric_kind metric)
{
    char err[512];
    store *s = store_open(t->db, STORE_READONLY, err, sizeof err);
    if (!s) {
        fprintf(stderr, "apex-host: optimize: %s\n", err);
        return -1;
    }
    analytics_options ao = {0};
    store_analytics sa;
    analytics_result r;
    int rc = store_analytics_load(s, NULL, &ao, &sa);
    if (rc == 0)
        rc = analytics_compute(&sa.in, &r, err, sizeof err);
    else
        snprintf(err, sizeof err, "%s", store_errmsg(s));
    store_analytics_free(&sa);
    store_close(s);
    if (rc != 0) {
        fprintf(stderr, "apex-host: optimize: %s: %s\n", t->db, err);
        return -1;
    }
    t->trades = r.all.trades;
    t->net_pnl = r.all.net_pnl;
    switch (metric) {
    case METRIC_SHARPE:
        t->metric = r.sharpe;
        break;
    case METRIC_TOTAL_RETURN:
        t->metric = r.total_return;
        break;
    case METRIC_PROFIT_FACTOR:
        t->metric = r.all.profit_factor;
        break;
    case METRIC_NET_PNL:
        t->metric = money_to_double(r.all.net_pnl);
        break;
    }
    analytics_result_free(&r);
    return 0;
}

/* Higher metric first, NaN (undefined) last: -1, 0 or 1. */
static int metric_cmp(double x, double y)
{
    if (isnan(x) != isnan(y))
        return isnan(x) ? 1 : -1;
    if (!isnan(x) && x != y)
        return x > y ? -1 : 1;
    return 0;
}

/* The order inside a rung, which decides who goes on: enough trades first, then the
 * metric, then grid order (so equal metrics cut the same way on every run). */
static int rung_cmp(const void *pa, const void *pb)
{
    const candidate *a = pa, *b = pb;
    if (a->below != b->below)
        return a->below ? 1 : -1;
    int c = metric_cmp(a->key->metric, b->key->metric);
    if (c)
        return c;
    return a->index < b->index ? -1 : a->index > b->index;
}

/* The table's order: the last rung's sets first (passing ones by in-sample metric, then
 * rejected ones in grid order), then each earlier rung's eliminated sets, later rungs
 * first, each in the order that rung ranked them. */
static int table_cmp(const void *pa, const void *pb)
{
    const candidate *a = pa, *b = pb;
    if (a->reached != b->reached)
        return a->reached > b->reached ? -1 : 1;
    if (a->last) {
        if ((a->rejected != NULL) != (b->rejected != NULL))
            return a->rejected ? 1 : -1;
        if (!a->rejected) {
            int c = metric_cmp(a->key->metric, b->key->metric);
            if (c)
                return c;
        }
        return a->index < b->index ? -1 : a->index > b->index;
    }
    return rung_cmp(pa, pb);
}

static void fmt_metric(double v, char *buf, size_t len)
{
    if (isnan(v))
        buf[0] = '\0';
    else
        snprintf(buf, len, "%.6f", v);
}

static json_t *run_json(const run_task *t)
{
    char pnl[64];
    money_format_trim(t->net_pnl, 2, pnl, sizeof pnl);
    return json_pack("{s:o,s:I,s:s,s:f,s:f}", "metric",
                     isnan(t->metric) || isinf(t->metric) ? json_null() : json_real(t->metric),
                     "trades", (json_int_t)t->trades, "net_pnl", pnl, "started", t->started,
                     "ended", t->ended);
}

static void remove_dir(const char *dir, run_task *tasks, size_t ntasks, const char *check_log)
{
    for (size_t i = 0; i < ntasks; i++) {
        unlink(tasks[i].db);
        char side[PATH_MAX + 8];
        snprintf(side, sizeof side, "%s-wal", tasks[i].db);
        unlink(side);
        snprintf(side, sizeof side, "%s-shm", tasks[i].db);
        unlink(side);
        snprintf(side, sizeof side, "%s.lock", tasks[i].db);
        unlink(side);
        unlink(tasks[i].log);
    }
    unlink(check_log);
    if (rmdir(dir) != 0)
        fprintf(stderr, "apex-host: optimize: left %s behind: %s\n", dir, strerror(errno));
}

/* What runs the backtests of a search, batch after batch (one batch per rung). */
typedef struct {
    const run_spec *rs;
    const size_t *sets;
    long jobs;
    metric_kind metric;
    double t0;
    bool tty;
    size_t max_running, done; /* over all batches */
    int rung, nrungs;         /* for the progress line; nrungs 1: a grid */
    size_t candidates;
} search_run;

static void progress(const search_run *sr, size_t done, size_t total, int final)
{
    double elapsed = now_seconds() - sr->t0;
    double rate = elapsed > 0 ? (double)sr->done * 60.0 / elapsed : 0;
    if (sr->nrungs == 1) {
        double eta = done > 0 ? elapsed / (double)done * (double)(total - done) : 0;
        fprintf(stderr, "\roptimize: %zu/%zu backtests, %.1f/min, ETA %.0fs   %s", done, total,
                rate, eta, final ? "\n" : "");
    } else {
        fprintf(stderr, "\roptimize: rung %d/%d, %zu candidates: %zu/%zu backtests, %.1f/min   %s",
                sr->rung + 1, sr->nrungs, sr->candidates, done, total, rate, final ? "\n" : "");
    }
}

/* Runs tasks[0..n), up to --jobs at once, and reads each result. 0 when all finished
 * and were read; -1 when one failed or a signal came: the children still running are
 * stopped (SIGTERM ends a backtest cleanly) and reaped before it returns. */
static int run_batch(search_run *sr, run_task *tasks, size_t n)
{
    char *owned[2 * MAX_GRID + 2];
    size_t nowned = 0;
    char *cargv[2 * MAX_GRID + 16];
    size_t next = 0, done = 0, running = 0;
    bool failed = false, stopping = false;
    while (done < n) {
        if ((interrupted || failed) && !stopping) {
            failed = stopping = true;
            for (size_t i = 0; i < next; i++)
                if (tasks[i].pid > 0)
                    kill(tasks[i].pid, SIGTERM);
        }
        while (!failed && running < (size_t)sr->jobs && next < n) {
            run_task *t = &tasks[next++];
            t->pid = child_argv(sr->rs, "backtest", t->db, sr->sets[t->set], t->half, t->to, cargv,
                                owned, &nowned) < 0
                         ? -1
                         : spawn_child(cargv, t->log);
            while (nowned)
                free(owned[--nowned]);
            if (t->pid < 0) {
                fprintf(stderr, "apex-host: optimize: cannot start %s: %s\n", sr->rs->exe,
                        strerror(errno));
                failed = true;
                break;
            }
            t->started = now_seconds() - sr->t0;
            if (++running > sr->max_running)
                sr->max_running = running;
        }
        if (running == 0)
            break;
        int status;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (size_t i = 0; i < next; i++) {
            run_task *t = &tasks[i];
            if (t->pid != pid)
                continue;
            t->ended = now_seconds() - sr->t0;
            t->status = status;
            t->pid = 0;
            running--;
            done++;
            sr->done++;
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                if (!failed && !interrupted) {
                    print_file(t->log, stderr);
                    fprintf(stderr, "apex-host: optimize: the backtest of set %zu failed (%s %d)\n",
                            t->set + 1, WIFEXITED(status) ? "exit" : "signal",
                            WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
                }
                failed = true;
            } else if (read_result(t, sr->metric) != 0) {
                failed = true;
            }
            break;
        }
        if (sr->tty)
            progress(sr, done, n, 0);
    }
    if (sr->tty)
        progress(sr, done, n, 1);
    return failed || interrupted || done < n ? -1 : 0;
}

typedef VEC(apex_time) time_vec;

static int time_cmp(const void *pa, const void *pb)
{
    apex_time a = *(const apex_time *)pa, b = *(const apex_time *)pb;
    return a < b ? -1 : a > b;
}

/* The distinct bar times of the in-sample range, in order: every row of the pipeline's
 * data files between --from and --split-at (or --to). The rungs are cut by bars, not by
 * the calendar, so a night or a weekend does not make a rung that adds no data. */
static int in_sample_times(const run_spec *rs, time_vec *times)
{
    pipeline_config *cfg = malloc(sizeof *cfg);
    symtab *names = symtab_new();
    if (!cfg || !names) {
        free(cfg);
        symtab_free(names);
        return -1;
    }
    config_defaults(cfg);
    diag_list diags;
    diag_init(&diags);
    int rc = script_load_pipeline(rs->pipeline, cfg, &diags) == 0 ? 0 : -1;
    for (int i = 0; i < diags.count; i++)
        fprintf(stderr, "%s\n", diags.items[i]);
    diag_free(&diags);
    apex_time end = rs->split_t ? rs->split_t - APEX_SECOND : rs->to_t;
    char err[512];
    for (int k = 0; rc == 0 && k < cfg->data.nfiles; k++) {
        csv_feed *f = csv_feed_open(cfg->data.files[k], names, false, err, sizeof err);
        if (!f) {
            fprintf(stderr, "apex-host: optimize: %s\n", err);
            rc = -1;
            break;
        }
        bar b;
        int n;
        while ((n = csv_feed_next(f, &b, err, sizeof err)) == 1)
            /* A file's rows come in time order, one per symbol: keep each time once. */
            if (b.ts >= rs->from_t && (!end || b.ts <= end) &&
                (times->count == 0 || times->items[times->count - 1] != b.ts) &&
                vec_push(times, b.ts) != 0) {
                n = -1;
                snprintf(err, sizeof err, "out of memory");
                break;
            }
        if (n < 0) {
            fprintf(stderr, "apex-host: optimize: %s: %s\n", cfg->data.files[k], err);
            rc = -1;
        }
        csv_feed_close(f);
    }
    config_free(cfg);
    free(cfg);
    symtab_free(names);
    if (rc != 0)
        return -1;
    qsort(times->items, (size_t)times->count, sizeof *times->items, time_cmp);
    int w = 0;
    for (int i = 0; i < times->count; i++)
        if (w == 0 || times->items[i] != times->items[w - 1])
            times->items[w++] = times->items[i];
    times->count = w;
    if (w == 0) {
        fprintf(stderr,
                "apex-host: optimize: --search halving cuts the in-sample bars into rungs, "
                "but %s's data has no bar between --from and --split-at (or --to)\n",
                rs->pipeline);
        return -1;
    }
    return 0;
}

static void format_utc(apex_time t, char *buf, size_t len)
{
    time_t sec = (time_t)(t / APEX_SECOND);
    struct tm tm;
    gmtime_r(&sec, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Fills rungs[0..nrungs): rung i runs on the first 1/eta^(nrungs-1-i) of the in-sample
 * bar times (its --to is the last of them); the last rung on all of them. */
static void plan_rungs(rung_info *rungs, int nrungs, long eta, const time_vec *times)
{
    unsigned long div = 1;
    for (int i = nrungs; i-- > 0;) {
        rung_info *r = &rungs[i];
        r->divisor = div;
        size_t n = ((size_t)times->count + div - 1) / div; /* at least one bar */
        format_utc(times->items[n - 1], r->shown_to, sizeof r->shown_to);
        if (i < nrungs - 1)
            snprintf(r->to, sizeof r->to, "%s", r->shown_to);
        div *= (unsigned long)eta;
    }
}

/* Ranks the candidates on rung r and keeps the best 1/eta of them (at least one) in
 * front of the array: returns how many go on. A rung where nobody made --min-trades
 * trades with a defined metric cannot tell them apart, so it keeps them all. */
static size_t cut_rung(candidate *c, size_t n, int r, int nrungs, long eta, long min_trades,
                       rung_info *ri, const char *mname)
{
    size_t rankable = 0;
    ri->candidates = n;
    ri->below_min = 0;
    for (size_t i = 0; i < n; i++) {
        c[i].key = c[i].rung[r];
        c[i].below = c[i].key->trades < (size_t)min_trades;
        ri->below_min += c[i].below;
        rankable += c[i].key->trades > 0 && !c[i].below && !isnan(c[i].key->metric);
    }
    qsort(c, n, sizeof *c, rung_cmp);
    ri->decided = rankable > 0;
    ri->kept = ri->decided ? n / (size_t)eta : n;
    if (ri->kept < 1)
        ri->kept = 1;
    char head[160];
    snprintf(head, sizeof head,
             "optimize: rung %d/%d, the first 1/%lu of the in-sample bars (to %s)", r + 1, nrungs,
             ri->divisor, ri->shown_to);
    if (!ri->decided) {
        fprintf(stderr,
                "%s: no candidate can be ranked on it (none made %ld trade%s and a defined "
                "%s), so the rung decides nothing: all %zu go on (use fewer --rungs, a longer "
                "range or another --metric)\n",
                head, min_trades > 1 ? min_trades : 1L, min_trades > 1 ? "s" : "", mname, n);
        return n;
    }
    fprintf(stderr, "%s: %zu candidates, the best %zu go on", head, n, ri->kept);
    if (ri->below_min)
        fprintf(stderr, " (%zu had fewer trades than --min-trades %ld and ranked last)",
                ri->below_min, min_trades);
    fprintf(stderr, "\n");
    for (size_t i = ri->kept; i < n; i++) {
        c[i].reached = r + 1;
        snprintf(c[i].reason, sizeof c[i].reason, "eliminated at rung %d", r + 1);
        c[i].rejected = c[i].reason;
    }
    return ri->kept;
}

static void write_metric_cell(FILE *out, const run_task *t, metric_kind metric)
{
    char m[64];
    if (metric == METRIC_NET_PNL)
        money_format_trim(t->net_pnl, 2, m, sizeof m);
    else
        fmt_metric(t->metric, m, sizeof m);
    fprintf(out, ",%s", m);
}

/* The command, with grid[] owned by the caller (so every early return frees it). */
static int optimize(int argc, char **argv, grid_param *grid)
{
    size_t ngrid = 0;
    const char *pipeline = NULL, *out_path = NULL, *json_path = NULL;
    run_spec rs = {0};
    long random_n = 0, min_trades = 1, jobs = sysconf(_SC_NPROCESSORS_ONLN), eta = 3,
         nrungs_opt = 0;
    int search = -1;
    bool eta_given = false;
    uint64_t seed = 1;
    metric_kind metric = METRIC_SHARPE;
    int rc = EXIT_USAGE;
    char err[512];
    if (jobs < 1)
        jobs = 1;

    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = a[0] == '-' && strcmp(a, "-") != 0;
        if (takes && !v)
            return cli_usage_error(cli_usage_optimize, "%s needs a value", a);
        char *end = NULL;
        if (strcmp(a, "--grid") == 0) {
            if (ngrid == MAX_GRID)
                return cli_usage_error(cli_usage_optimize, "at most 8 --grid parameters%s", "");
            if (parse_grid(v, &grid[ngrid++], err, sizeof err) != 0)
                return cli_usage_error(cli_usage_optimize, "%s", err);
        } else if (strcmp(a, "--random") == 0 || strcmp(a, "--samples") == 0) {
            random_n = strtol(v, &end, 10);
            if (*end || random_n < 1)
                return cli_usage_error(cli_usage_optimize, "%s: expected a count >= 1", a);
        } else if (strcmp(a, "--search") == 0) {
            search = 0;
            while (search < 3 && strcmp(v, search_names[search]) != 0)
                search++;
            if (search == 3)
                return cli_usage_error(cli_usage_optimize,
                                       "--search %s: expected grid, random or halving", v);
        } else if (strcmp(a, "--eta") == 0) {
            eta = strtol(v, &end, 10);
            eta_given = true;
            if (*end || eta < 2 || eta > 100)
                return cli_usage_error(cli_usage_optimize, "--eta %s: expected 2 to 100", v);
        } else if (strcmp(a, "--rungs") == 0) {
            nrungs_opt = strtol(v, &end, 10);
            if (*end || nrungs_opt < 1 || nrungs_opt > MAX_RUNGS)
                return cli_usage_error(cli_usage_optimize, "--rungs %s: expected 1 to 16", v);
        } else if (strcmp(a, "--seed") == 0) {
            seed = strtoull(v, &end, 10);
            if (*end || !*v)
                return cli_usage_error(cli_usage_optimize, "--seed %s: expected a whole number", v);
        } else if (strcmp(a, "--metric") == 0) {
            size_t m = 0;
            while (m < 4 && strcmp(v, metric_names[m]) != 0)
                m++;
            if (m == 4)
                return cli_usage_error(cli_usage_optimize,
                                       "--metric %s: expected sharpe, total_return, "
                                       "profit_factor or net_pnl",
                                       v);
            metric = (metric_kind)m;
        } else if (strcmp(a, "--min-trades") == 0) {
            min_trades = strtol(v, &end, 10);
            if (*end || min_trades < 0)
                return cli_usage_error(cli_usage_optimize, "--min-trades %s: expected a count", v);
        } else if (strcmp(a, "--jobs") == 0) {
            jobs = strtol(v, &end, 10);
            if (*end || jobs < 1 || jobs > 256)
                return cli_usage_error(cli_usage_optimize, "--jobs %s: expected 1 to 256", v);
        } else if (strcmp(a, "--split-at") == 0 || strcmp(a, "--from") == 0 ||
                   strcmp(a, "--to") == 0) {
            apex_time t;
            if (timestamp_parse(v, strlen(v), &t) != 0)
                return cli_usage_error(cli_usage_optimize,
                                       "'%s' is not a date or time; write 2024-03-05 or "
                                       "2024-03-05T14:30:00Z (UTC)",
                                       v);
            if (a[2] == 's') {
                /* The out-of-sample part starts at TIME; the in-sample one ends a second
                 * before, so no bar is in both. */
                format_utc(t - APEX_SECOND, rs.is_to, sizeof rs.is_to);
                rs.split_at = v;
                rs.split_t = t;
            } else if (a[2] == 'f') {
                rs.from = v;
                rs.from_t = t;
            } else {
                /* A bare date as --to is that whole day, as backtest reads it. */
                rs.to = v;
                rs.to_t = strlen(v) == 10 ? t + 86400 * APEX_SECOND - 1 : t;
            }
        } else if (strcmp(a, "--out") == 0) {
            out_path = v;
        } else if (strcmp(a, "--json") == 0) {
            json_path = v;
        } else if (takes) {
            return cli_usage_error(cli_usage_optimize, "unknown option '%s'", a);
        } else if (pipeline) {
            return cli_usage_error(cli_usage_optimize, "one PIPELINE.lua only ('%s')", a);
        } else {
            pipeline = a;
            continue;
        }
        i++;
    }
    if (!pipeline)
        return cli_usage_error(cli_usage_optimize, "no PIPELINE.lua given%s", "");
    if (ngrid == 0)
        return cli_usage_error(cli_usage_optimize, "no --grid given%s", "");
    if (search < 0)
        search = random_n > 0 ? SEARCH_RANDOM : SEARCH_GRID;
    if (search == SEARCH_RANDOM && random_n == 0)
        return cli_usage_error(cli_usage_optimize, "--search random needs --samples N%s", "");
    if (search == SEARCH_GRID && random_n > 0)
        return cli_usage_error(cli_usage_optimize,
                               "--search grid runs every set; --samples draws some "
                               "(--search random or halving)%s",
                               "");
    if (search != SEARCH_HALVING && (nrungs_opt || eta_given))
        return cli_usage_error(cli_usage_optimize, "--eta and --rungs belong to --search halving%s",
                               "");
    for (size_t k = 0; k < ngrid; k++)
        for (size_t j = 0; j < k; j++)
            if (strcmp(grid[k].name, grid[j].name) == 0)
                return cli_usage_error(cli_usage_optimize, "--grid %s given twice", grid[k].name);

    size_t total_sets = 1;
    for (size_t k = 0; k < ngrid; k++) {
        if (total_sets > 1000000 / grid[k].nvalues)
            return cli_usage_error(cli_usage_optimize,
                                   "the grid has more than 1000000 sets; use --samples N%s", "");
        total_sets *= grid[k].nvalues;
    }
    /* The sets, in grid order; --samples keeps the first N of a seeded shuffle, sorted back
     * into grid order so the table reads the same way either way. */
    size_t nsets = total_sets;
    size_t *sets = malloc(total_sets * sizeof *sets);
    if (!sets)
        return EXIT_RUNTIME;
    for (size_t i = 0; i < total_sets; i++)
        sets[i] = i;
    if (random_n > 0 && (size_t)random_n < total_sets) {
        uint64_t st = seed;
        for (size_t i = 0; i < (size_t)random_n; i++) {
            size_t j = i + (size_t)(splitmix64(&st) % (total_sets - i));
            size_t t = sets[i];
            sets[i] = sets[j];
            sets[j] = t;
        }
        nsets = (size_t)random_n;
        for (size_t i = 1; i < nsets; i++) /* insertion sort: N is small */
            for (size_t j = i; j > 0 && sets[j - 1] > sets[j]; j--) {
                size_t t = sets[j];
                sets[j] = sets[j - 1];
                sets[j - 1] = t;
            }
    }

    /* Halving's rungs: by default as many as leave at least 2 sets on the last, so its
     * ranking compares something; --rungs may not leave it empty-handed either. */
    int nrungs = 1;
    if (search == SEARCH_HALVING) {
        size_t left = nsets, most = 1;
        for (size_t l = nsets; l / (size_t)eta >= 1 && most < MAX_RUNGS; most++)
            l /= (size_t)eta;
        while (left / (size_t)eta >= 2 && nrungs < MAX_RUNGS) {
            left /= (size_t)eta;
            nrungs++;
        }
        if (nrungs_opt > (long)most) {
            char msg[160];
            snprintf(msg, sizeof msg,
                     "--rungs %ld: %zu sets allow at most %zu rungs with --eta %ld (each "
                     "rung keeps the best 1/%ld)",
                     nrungs_opt, nsets, most, eta, eta);
            free(sets);
            return cli_usage_error(cli_usage_optimize, "%s", msg);
        }
        if (nrungs_opt)
            nrungs = (int)nrungs_opt;
    }

    char exe[PATH_MAX];
    ssize_t elen = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (elen <= 0) {
        fprintf(stderr, "apex-host: optimize: cannot find this program: %s\n", strerror(errno));
        free(sets);
        return EXIT_RUNTIME;
    }
    exe[elen] = '\0';
    rs.exe = exe;
    rs.pipeline = pipeline;
    rs.grid = grid;
    rs.ngrid = ngrid;

    const char *tmp = getenv("TMPDIR");
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/apex-optimize.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        fprintf(stderr, "apex-host: optimize: %s: %s\n", dir, strerror(errno));
        free(sets);
        return EXIT_RUNTIME;
    }
    char check_log[PATH_MAX + 16];
    snprintf(check_log, sizeof check_log, "%s/check.log", dir);

    int halves = rs.split_at ? 2 : 1;
    /* Every rung runs at most every set, and the out-of-sample half once per set. */
    size_t cap = nsets * (size_t)nrungs + (halves == 2 ? nsets : 0), ntasks = 0;
    run_task *tasks = calloc(cap, sizeof *tasks);
    candidate *cands = calloc(nsets, sizeof *cands);
    rung_info rungs[MAX_RUNGS] = {0};
    char *owned[2 * MAX_GRID + 2];
    size_t nowned = 0;
    char *cargv[2 * MAX_GRID + 16];
    if (!tasks || !cands)
        goto done;

    /* Refuse an undeclared or out-of-range parameter before any backtest: `check` loads
     * the pipeline with the first set's values (every set names the same parameters). */
    pid_t cpid = child_argv(&rs, "check", NULL, sets[0], -2, NULL, cargv, owned, &nowned) < 0
                     ? -1
                     : spawn_child(cargv, check_log);
    int cstatus = 0;
    if (cpid < 0 || waitpid(cpid, &cstatus, 0) != cpid || !WIFEXITED(cstatus) ||
        WEXITSTATUS(cstatus) != 0) {
        print_file(check_log, stderr);
        fprintf(stderr,
                "apex-host: optimize: `apex-host check` refused %s with the first set of "
                "--grid values (given to it as the --param above); correct the --grid name "
                "or its values\n",
                pipeline);
        rc = WIFEXITED(cstatus) && WEXITSTATUS(cstatus) == EXIT_INVALID ? EXIT_USAGE : EXIT_RUNTIME;
        goto done;
    }
    while (nowned)
        free(owned[--nowned]);

    if (nrungs > 1) {
        time_vec times = {0};
        int trc = in_sample_times(&rs, &times);
        if (trc == 0)
            plan_rungs(rungs, nrungs, eta, &times);
        vec_free(&times);
        if (trc != 0) {
            rc = EXIT_RUNTIME;
            goto done;
        }
    } else {
        rungs[0].divisor = 1;
    }
    for (size_t i = 0; i < nsets; i++) {
        cands[i].pos = i;
        cands[i].index = sets[i];
    }

    /* No SA_RESTART: a signal wakes waitpid with EINTR. A signal ignored when we started
     * (SIGINT in a background job of a script) stays ignored. The children's exec resets
     * the handler to the default. */
    struct sigaction sa = {0}, old_int, old_term;
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, NULL, &old_int);
    sigaction(SIGTERM, NULL, &old_term);
    if (old_int.sa_handler != SIG_IGN)
        sigaction(SIGINT, &sa, NULL);
    if (old_term.sa_handler != SIG_IGN)
        sigaction(SIGTERM, &sa, NULL);

    search_run sr = {.rs = &rs,
                     .sets = sets,
                     .jobs = jobs,
                     .metric = metric,
                     .t0 = now_seconds(),
                     .tty = isatty(STDERR_FILENO),
                     .nrungs = nrungs};
    /* The candidates still in the search are cands[0..alive): a rung's cut moves the ones
     * it keeps to the front. */
    size_t alive = nsets;
    double budget = 0; /* in-sample backtests, in runs over the whole in-sample range */
    int failed = 0;
    for (int r = 0; r < nrungs && !failed; r++) {
        int last = r == nrungs - 1;
        size_t first = ntasks;
        for (size_t i = 0; i < alive; i++) {
            for (int h = 0; h < (last ? halves : 1); h++) {
                run_task *t = &tasks[ntasks];
                t->set = cands[i].pos;
                t->half = rs.split_at ? h : -1;
                t->to = h == 0 && !last ? rungs[r].to : NULL;
                snprintf(t->db, sizeof t->db, "%s/run%zu.db", dir, ntasks);
                snprintf(t->log, sizeof t->log, "%s/run%zu.log", dir, ntasks);
                ntasks++;
            }
        }
        sr.rung = r;
        sr.candidates = alive;
        budget += (double)alive / (double)rungs[r].divisor;
        if (run_batch(&sr, &tasks[first], ntasks - first) != 0) {
            failed = 1;
            break;
        }
        /* Attach each run to its candidate: the tasks were made in cands[] order. */
        for (size_t i = 0, k = first; i < alive; i++) {
            cands[i].rung[r] = &tasks[k++];
            cands[i].reached = r + 1;
            if (last && halves == 2)
                cands[i].oos = &tasks[k++];
        }
        if (!last)
            alive =
                cut_rung(cands, alive, r, nrungs, eta, min_trades, &rungs[r], metric_names[metric]);
        else
            rungs[r].candidates = rungs[r].kept = alive;
    }
    double elapsed = now_seconds() - sr.t0;
    if (interrupted) {
        fprintf(stderr,
                "apex-host: optimize: interrupted after %zu of %zu backtests; no table "
                "written\n",
                sr.done, ntasks);
        rc = EXIT_INTERRUPTED;
        goto done;
    }
    if (failed) {
        rc = EXIT_RUNTIME;
        goto done;
    }

    for (size_t i = 0; i < alive; i++) {
        candidate *c = &cands[i];
        c->last = true;
        c->key = c->rung[nrungs - 1];
        if (c->key->trades < (size_t)min_trades)
            c->rejected = "in-sample trades < --min-trades";
        else if (c->oos && c->oos->trades < (size_t)min_trades)
            c->rejected = "out-of-sample trades < --min-trades";
    }
    for (size_t i = alive; i < nsets; i++) /* eliminated: ranked by their last rung */
        cands[i].key = cands[i].rung[cands[i].reached - 1];
    qsort(cands, nsets, sizeof *cands, table_cmp);

    FILE *out = out_path ? fopen(out_path, "w") : stdout;
    if (!out) {
        fprintf(stderr, "apex-host: optimize: %s: %s\n", out_path, strerror(errno));
        rc = EXIT_RUNTIME;
        goto done;
    }
    const char *mname = metric_names[metric];
    bool halving = search == SEARCH_HALVING;
    fprintf(out, "rank");
    for (size_t k = 0; k < ngrid; k++)
        fprintf(out, ",%s", grid[k].name);
    if (halving)
        fprintf(out, ",rung");
    for (int r = 0; r < nrungs - 1; r++)
        fprintf(out, ",r%d_%s,r%d_trades", r + 1, mname, r + 1);
    /* net_pnl as the metric is the exact net_pnl column already: not written twice. */
    int metric_col = metric != METRIC_NET_PNL;
    for (int h = 0; h < halves; h++) {
        const char *pre = h == 0 ? "is" : "oos";
        if (metric_col)
            fprintf(out, ",%s_%s", pre, mname);
        fprintf(out, ",%s_trades,%s_net_pnl", pre, pre);
    }
    fprintf(out, ",rejected\n");
    json_t *jrows = json_array();
    size_t rank = 0;
    for (size_t i = 0; i < nsets; i++) {
        const candidate *c = &cands[i];
        json_t *jp = json_object();
        if (c->rejected)
            fprintf(out, "-");
        else
            fprintf(out, "%zu", ++rank);
        for (size_t k = 0; k < ngrid; k++) {
            const char *v = set_value(grid, ngrid, c->index, k);
            fprintf(out, ",%s", v);
            json_object_set_new(jp, grid[k].name, json_string(v));
        }
        json_t *jr = json_pack(
            "{s:o,s:o,s:o}", "rank", c->rejected ? json_null() : json_integer((json_int_t)rank),
            "params", jp, "rejected", c->rejected ? json_string(c->rejected) : json_null());
        if (halving) {
            fprintf(out, ",%d", c->reached);
            json_t *jrungs = json_array();
            for (int r = 0; r < c->reached; r++) {
                json_t *j = run_json(c->rung[r]);
                json_object_set_new(j, "rung", json_integer(r + 1));
                json_array_append_new(jrungs, j);
            }
            json_object_set_new(jr, "rung", json_integer(c->reached));
            json_object_set_new(jr, "rungs", jrungs);
        }
        for (int r = 0; r < nrungs - 1; r++) {
            if (r < c->reached) {
                write_metric_cell(out, c->rung[r], metric);
                fprintf(out, ",%zu", c->rung[r]->trades);
            } else {
                fprintf(out, ",,");
            }
        }
        for (int h = 0; h < halves; h++) {
            const run_task *t = h == 0 ? (c->last ? c->rung[nrungs - 1] : NULL) : c->oos;
            const char *jname = h == 0 ? "in_sample" : "out_of_sample";
            if (!t) {
                fprintf(out, metric_col ? ",,," : ",,");
                json_object_set_new(jr, jname, json_null());
                continue;
            }
            char m[64], pnl[64];
            fmt_metric(t->metric, m, sizeof m);
            money_format_trim(t->net_pnl, 2, pnl, sizeof pnl);
            if (metric_col)
                fprintf(out, ",%s", m);
            fprintf(out, ",%zu,%s", t->trades, pnl);
            json_object_set_new(jr, jname, run_json(t));
        }
        fprintf(out, ",%s\n", c->rejected ? c->rejected : "");
        json_array_append_new(jrows, jr);
    }
    int werr = ferror(out);
    if (out != stdout)
        werr |= fclose(out) != 0;
    else
        werr |= fflush(out) != 0;
    if (werr) {
        fprintf(stderr, "apex-host: optimize: writing %s failed\n", out_path ? out_path : "stdout");
        json_decref(jrows);
        rc = EXIT_RUNTIME;
        goto done;
    }
    json_t *doc = json_pack(
        "{s:s,s:s,s:s,s:I,s:o,s:o,s:I,s:I,s:f,s:I,s:I,s:I,s:f,s:f,s:o}", "pipeline", pipeline,
        "search", search_names[search], "metric", mname, "min_trades", (json_int_t)min_trades,
        "split_at", rs.split_at ? json_string(rs.split_at) : json_null(), "seed",
        random_n > 0 ? json_integer((json_int_t)seed) : json_null(), "sets", (json_int_t)nsets,
        "backtests", (json_int_t)ntasks, "in_sample_budget", budget, "jobs", (json_int_t)jobs,
        "max_concurrent", (json_int_t)sr.max_running, "cores",
        (json_int_t)sysconf(_SC_NPROCESSORS_ONLN), "elapsed_seconds", elapsed,
        "backtests_per_minute", elapsed > 0 ? (double)ntasks * 60.0 / elapsed : 0.0, "rows", jrows);
    if (halving) {
        json_t *jr = json_array();
        for (int r = 0; r < nrungs; r++) {
            char fraction[32];
            snprintf(fraction, sizeof fraction, "1/%lu", rungs[r].divisor);
            json_array_append_new(jr, json_pack("{s:i,s:s,s:s,s:I,s:I,s:I,s:b}", "rung", r + 1,
                                                "fraction", fraction, "to", rungs[r].shown_to,
                                                "candidates", (json_int_t)rungs[r].candidates,
                                                "kept", (json_int_t)rungs[r].kept,
                                                "below_min_trades", (json_int_t)rungs[r].below_min,
                                                "decided", r == nrungs - 1 || rungs[r].decided));
        }
        json_object_set_new(doc, "eta", json_integer(eta));
        json_object_set_new(doc, "rungs", jr);
    }
    if (json_path && json_dump_file(doc, json_path, JSON_INDENT(2)) != 0) {
        fprintf(stderr, "apex-host: optimize: %s: cannot write\n", json_path);
        json_decref(doc);
        rc = EXIT_RUNTIME;
        goto done;
    }
    json_decref(doc);
    fprintf(stderr,
            "optimize: %zu backtests in %.1fs (%.1f/min) on %ld processes at most %zu at once\n",
            ntasks, elapsed, elapsed > 0 ? (double)ntasks * 60.0 / elapsed : 0.0, jobs,
            sr.max_running);
    rc = EXIT_OK;

done:
    while (nowned)
        free(owned[--nowned]);
    if (tasks) {
        for (size_t i = 0; i < ntasks; i++) /* a failure stops the rest: reap what still runs */
            if (tasks[i].pid > 0) {
                int st;
                waitpid(tasks[i].pid, &st, 0);
            }
        remove_dir(dir, tasks, ntasks, check_log);
    } else {
        rmdir(dir);
    }
    free(tasks);
    free(cands);
    free(sets);
    return rc;
}

int cli_optimize(int argc, char **argv)
{
    grid_param grid[MAX_GRID] = {0};
    int rc = optimize(argc, argv, grid);
    for (size_t k = 0; k < MAX_GRID; k++) {
        for (size_t j = 0; j < grid[k].nvalues; j++)
            free(grid[k].values[j]);
        free(grid[k].values);
    }
    return rc;
}
