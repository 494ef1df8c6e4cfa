/* optimize: `apex-host optimize` (see optimize.h).
 *
 * Why child processes and not threads: a backtest owns a whole host (loop, clock, store,
 * Lua states, the store's file lock), and `apex-host backtest` is already the tested way
 * to run one. A child per run keeps every run isolated (a stuck or crashing script takes
 * only its own run with it) and uses every core without any shared state. */
#include "cli/optimize.h"
#include "cli/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <math.h>
#include <spawn.h>
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
#include "market/timestamp.h"
#include "money/money.h"
#include "pipeline/host.h"
#include "store/store.h"
#include "store/store_trades.h"

extern char **environ;

const char *const cli_usage_optimize =
    "usage: apex-host optimize [options] PIPELINE.lua\n"
    "\n"
    "Backtests PIPELINE once per parameter set, each in its own `apex-host backtest`\n"
    "process, up to --jobs at a time, and writes the sets ranked by a metric.\n"
    "\n"
    "  --grid NAME=SPEC   a parameter and its values (repeatable): NAME as for --param\n"
    "                     (strategy.fast); SPEC a list (5,10,20) or FROM:TO:STEP (5:20:5)\n"
    "  --random N         N sets drawn from the grid (without repeats) instead of all of it\n"
    "  --seed S           the seed of --random's draw (default 1): same seed, same sets\n"
    "  --metric NAME      sharpe (default), total_return, profit_factor or net_pnl\n"
    "  --min-trades N     a set with fewer trades (in either half) is listed as rejected\n"
    "                     and not ranked (default 1)\n"
    "  --split-at TIME    in-sample: the data before TIME; out-of-sample: from TIME on.\n"
    "                     Each set runs twice and the table shows the metric of both\n"
    "  --from TIME, --to TIME  the span of the data used (as for backtest)\n"
    "  --jobs N           backtests at once (default: the number of cores)\n"
    "  --out FILE         the table as CSV (default: standard output)\n"
    "  --json FILE        the table as JSON, with the run's timing and concurrency\n"
    "\n"
    "Rows are ranked by the in-sample metric, highest first; rejected rows follow in grid\n"
    "order. A parameter the pipeline does not declare is refused before any backtest\n"
    "(exit 2). Progress is shown on a terminal.\n";

#define MAX_GRID 8

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

/* One backtest: a set's in-sample or out-of-sample run. */
typedef struct {
    size_t set;
    int half; /* 0 in-sample (or the whole span), 1 out-of-sample */
    char db[PATH_MAX], log[PATH_MAX];
    pid_t pid;
    int status;
    double metric;
    size_t trades;
    money_t net_pnl;
    double started, ended; /* seconds since the optimize began */
} run_task;

typedef struct {
    size_t index; /* in the full grid: the values of each parameter */
    const run_task *half[2];
    const char *rejected;
} result_row;

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
    const grid_param *grid;
    size_t ngrid;
} run_spec;

/* Builds the child's argv for `cmd` ("backtest" or "check") of set `index`, half `half`
 * (-1: the whole span; -2: no --from/--to at all). The strings it allocates go into
 * owned (the caller frees them). Returns argc, or -1 out of memory. */
static int child_argv(const run_spec *rs, const char *cmd, const char *db, size_t index, int half,
                      char **argv, char **owned, size_t *nowned)
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

/* Ranked first: passing rows by in-sample metric, highest first (NaN last), then grid
 * order; rejected rows after them in grid order. */
static int row_cmp(const void *pa, const void *pb)
{
    const result_row *a = pa, *b = pb;
    if ((a->rejected != NULL) != (b->rejected != NULL))
        return a->rejected ? 1 : -1;
    if (!a->rejected) {
        double x = a->half[0]->metric, y = b->half[0]->metric;
        if (isnan(x) != isnan(y))
            return isnan(x) ? 1 : -1;
        if (!isnan(x) && x != y)
            return x > y ? -1 : 1;
    }
    return a->index < b->index ? -1 : a->index > b->index;
}

static void fmt_metric(double v, char *buf, size_t len)
{
    if (isnan(v))
        buf[0] = '\0';
    else
        snprintf(buf, len, "%.6f", v);
}

static json_t *half_json(const run_task *t)
{
    char pnl[64];
    money_format_trim(t->net_pnl, 2, pnl, sizeof pnl);
    return json_pack("{s:o,s:I,s:s,s:f,s:f}", "metric",
                     isnan(t->metric) || isinf(t->metric) ? json_null() : json_real(t->metric),
                     "trades", (json_int_t)t->trades, "net_pnl", pnl, "started", t->started,
                     "ended", t->ended);
}

static void progress(size_t done, size_t total, double elapsed, int final)
{
    double rate = elapsed > 0 ? (double)done * 60.0 / elapsed : 0;
    double eta = done > 0 ? elapsed / (double)done * (double)(total - done) : 0;
    fprintf(stderr, "\roptimize: %zu/%zu backtests, %.1f/min, ETA %.0fs   %s", done, total, rate,
            eta, final ? "\n" : "");
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

int cli_optimize(int argc, char **argv)
{
    grid_param grid[MAX_GRID] = {0};
    size_t ngrid = 0;
    const char *pipeline = NULL, *out_path = NULL, *json_path = NULL;
    run_spec rs = {0};
    long random_n = 0, min_trades = 1, jobs = sysconf(_SC_NPROCESSORS_ONLN);
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
        } else if (strcmp(a, "--random") == 0) {
            random_n = strtol(v, &end, 10);
            if (*end || random_n < 1)
                return cli_usage_error(cli_usage_optimize, "--random %s: expected a count >= 1", v);
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
                time_t sec = (time_t)(t / APEX_SECOND) - 1;
                struct tm tm;
                gmtime_r(&sec, &tm);
                strftime(rs.is_to, sizeof rs.is_to, "%Y-%m-%dT%H:%M:%SZ", &tm);
                rs.split_at = v;
            } else {
                *(a[2] == 'f' ? &rs.from : &rs.to) = v;
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
    for (size_t k = 0; k < ngrid; k++)
        for (size_t j = 0; j < k; j++)
            if (strcmp(grid[k].name, grid[j].name) == 0)
                return cli_usage_error(cli_usage_optimize, "--grid %s given twice", grid[k].name);

    size_t total_sets = 1;
    for (size_t k = 0; k < ngrid; k++) {
        if (total_sets > 1000000 / grid[k].nvalues)
            return cli_usage_error(cli_usage_optimize,
                                   "the grid has more than 1000000 sets; use --random N%s", "");
        total_sets *= grid[k].nvalues;
    }
    /* The sets, in grid order; --random keeps the first N of a seeded shuffle, sorted back
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
    size_t ntasks = nsets * (size_t)halves;
    run_task *tasks = calloc(ntasks, sizeof *tasks);
    result_row *rows = calloc(nsets, sizeof *rows);
    char *owned[2 * MAX_GRID + 2];
    size_t nowned = 0;
    char *cargv[2 * MAX_GRID + 16];
    if (!tasks || !rows)
        goto done;

    /* Refuse an undeclared or out-of-range parameter before any backtest: `check` loads
     * the pipeline with the first set's values (every set names the same parameters). */
    pid_t cpid = child_argv(&rs, "check", NULL, sets[0], -2, cargv, owned, &nowned) < 0
                     ? -1
                     : spawn_child(cargv, check_log);
    int cstatus = 0;
    if (cpid < 0 || waitpid(cpid, &cstatus, 0) != cpid || !WIFEXITED(cstatus) ||
        WEXITSTATUS(cstatus) != 0) {
        print_file(check_log, stderr);
        fprintf(stderr,
                "apex-host: optimize: `apex-host check` refused %s with these --grid "
                "parameters\n",
                pipeline);
        rc = WIFEXITED(cstatus) && WEXITSTATUS(cstatus) == EXIT_INVALID ? EXIT_USAGE : EXIT_RUNTIME;
        goto done;
    }
    while (nowned)
        free(owned[--nowned]);

    for (size_t i = 0; i < ntasks; i++) {
        run_task *t = &tasks[i];
        t->set = i / (size_t)halves;
        t->half = rs.split_at ? (int)(i % 2) : -1;
        snprintf(t->db, sizeof t->db, "%s/run%zu.db", dir, i);
        snprintf(t->log, sizeof t->log, "%s/run%zu.log", dir, i);
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

    double t0 = now_seconds();
    int tty = isatty(STDERR_FILENO);
    size_t next = 0, done_n = 0, running = 0, max_running = 0;
    int failed = 0, stopping = 0;
    while (done_n < ntasks) {
        /* A failure or a signal stops the search: the children still running are asked
         * to stop (SIGTERM ends a backtest cleanly) and reaped below. */
        if ((interrupted || failed) && !stopping) {
            failed = stopping = 1;
            for (size_t i = 0; i < next; i++)
                if (tasks[i].pid > 0)
                    kill(tasks[i].pid, SIGTERM);
        }
        while (!failed && running < (size_t)jobs && next < ntasks) {
            run_task *t = &tasks[next++];
            t->pid =
                child_argv(&rs, "backtest", t->db, sets[t->set], t->half, cargv, owned, &nowned) < 0
                    ? -1
                    : spawn_child(cargv, t->log);
            while (nowned)
                free(owned[--nowned]);
            if (t->pid < 0) {
                fprintf(stderr, "apex-host: optimize: cannot start %s: %s\n", exe, strerror(errno));
                failed = 1;
                break;
            }
            t->started = now_seconds() - t0;
            if (++running > max_running)
                max_running = running;
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
            t->ended = now_seconds() - t0;
            t->status = status;
            t->pid = 0;
            running--;
            done_n++;
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                if (!failed && !interrupted) {
                    print_file(t->log, stderr);
                    fprintf(stderr, "apex-host: optimize: the backtest of set %zu failed (%s %d)\n",
                            t->set + 1, WIFEXITED(status) ? "exit" : "signal",
                            WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
                }
                failed = 1;
            } else if (read_result(t, metric) != 0) {
                failed = 1;
            }
            break;
        }
        if (tty)
            progress(done_n, ntasks, now_seconds() - t0, 0);
    }
    double elapsed = now_seconds() - t0;
    if (tty)
        progress(done_n, ntasks, elapsed, 1);
    if (interrupted) {
        fprintf(stderr,
                "apex-host: optimize: interrupted after %zu of %zu backtests; no table "
                "written\n",
                done_n, ntasks);
        rc = EXIT_INTERRUPTED;
        goto done;
    }
    if (failed || done_n < ntasks) {
        rc = EXIT_RUNTIME;
        goto done;
    }

    for (size_t i = 0; i < nsets; i++) {
        result_row *r = &rows[i];
        r->index = sets[i];
        for (int h = 0; h < halves; h++) {
            r->half[h] = &tasks[i * (size_t)halves + (size_t)h];
            if (r->half[h]->trades < (size_t)min_trades)
                r->rejected = h == 0 ? "in-sample trades < --min-trades"
                                     : "out-of-sample trades < --min-trades";
            if (r->rejected)
                break;
        }
    }
    qsort(rows, nsets, sizeof *rows, row_cmp);

    FILE *out = out_path ? fopen(out_path, "w") : stdout;
    if (!out) {
        fprintf(stderr, "apex-host: optimize: %s: %s\n", out_path, strerror(errno));
        rc = EXIT_RUNTIME;
        goto done;
    }
    const char *mname = metric_names[metric];
    fprintf(out, "rank");
    for (size_t k = 0; k < ngrid; k++)
        fprintf(out, ",%s", grid[k].name);
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
        const result_row *r = &rows[i];
        json_t *jp = json_object();
        if (r->rejected)
            fprintf(out, "-");
        else
            fprintf(out, "%zu", ++rank);
        for (size_t k = 0; k < ngrid; k++) {
            const char *v = set_value(grid, ngrid, r->index, k);
            fprintf(out, ",%s", v);
            json_object_set_new(jp, grid[k].name, json_string(v));
        }
        json_t *jr = json_pack(
            "{s:o,s:o,s:o}", "rank", r->rejected ? json_null() : json_integer((json_int_t)rank),
            "params", jp, "rejected", r->rejected ? json_string(r->rejected) : json_null());
        for (int h = 0; h < halves; h++) {
            const run_task *t = &tasks[(size_t)(r->half[0] - tasks) + (size_t)h];
            char m[64], pnl[64];
            fmt_metric(t->metric, m, sizeof m);
            money_format_trim(t->net_pnl, 2, pnl, sizeof pnl);
            if (metric_col)
                fprintf(out, ",%s", m);
            fprintf(out, ",%zu,%s", t->trades, pnl);
            json_object_set_new(jr, h == 0 ? "in_sample" : "out_of_sample", half_json(t));
        }
        fprintf(out, ",%s\n", r->rejected ? r->rejected : "");
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
    json_t *doc = json_pack("{s:s,s:s,s:I,s:o,s:o,s:I,s:I,s:I,s:I,s:I,s:f,s:f,s:o}", "pipeline",
                            pipeline, "metric", mname, "min_trades", (json_int_t)min_trades,
                            "split_at", rs.split_at ? json_string(rs.split_at) : json_null(),
                            "seed", random_n > 0 ? json_integer((json_int_t)seed) : json_null(),
                            "sets", (json_int_t)nsets, "backtests", (json_int_t)ntasks, "jobs",
                            (json_int_t)jobs, "max_concurrent", (json_int_t)max_running, "cores",
                            (json_int_t)sysconf(_SC_NPROCESSORS_ONLN), "elapsed_seconds", elapsed,
                            "backtests_per_minute",
                            elapsed > 0 ? (double)ntasks * 60.0 / elapsed : 0.0, "rows", jrows);
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
            max_running);
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
    free(rows);
    free(sets);
    for (size_t k = 0; k < ngrid; k++) {
        for (size_t j = 0; j < grid[k].nvalues; j++)
            free(grid[k].values[j]);
        free(grid[k].values);
    }
    return rc;
}
