/* host: runs one or more pipelines on one clock and one store.
 *
 * backtest: a simulated clock; bars from every pipeline's feed are merged in time
 * order and processed as fast as the machine allows; the clock advances to each
 * bar's time, firing the monitor's timers and the broker's replies on the way.
 *
 * run: a libuv loop and a live clock. Replayed data plays at `speed` times real
 * time (overnight gaps are skipped); a followed feed (data.follow) is polled and
 * the host runs until SIGINT or SIGTERM, which stop it gracefully: state is
 * already durable, and a restart resumes monitoring. */
#ifndef APEX_HOST_H
#define APEX_HOST_H

#include <stdbool.h>

#include "clock/clock.h"
struct uv_loop_s;
struct apex_clock;
struct pipeline;

/* Exit codes (documented in docs/configuration.md and `apex-host --help`). */
enum {
    EXIT_OK = 0,
    EXIT_RUNTIME = 1,       /* a data or store error stopped the run */
    EXIT_USAGE = 2,         /* bad command line */
    EXIT_INVALID = 3,       /* a pipeline failed validation */
    EXIT_STORE = 4,         /* the database could not be opened, is in use, or holds a live run */
    EXIT_INTERRUPTED = 5,   /* a backtest stopped by SIGINT/SIGTERM; its store holds what ran */
    EXIT_SCRIPT_STUCK = 6,  /* SCRIPT_EXIT_STUCK: a script stuck in C code; the sandbox exits */
    EXIT_SCRIPT_ERRORS = 7, /* --strict: the run finished but script calls raised errors */
};

/* What a live run shows an observer (the HTTP server, core/server): valid from start to
 * stop, on the loop's thread only. */
typedef struct {
    struct uv_loop_s *loop;
    struct apex_clock *clock;
    const char *db_path;
    struct pipeline *const *pipes;
    int npipes;
} host_view;

/* Something that lives on a live run's loop beside the pipelines (`run --http`). start is
 * called once the pipelines are loaded, before the first bar; non-zero stops the run with
 * EXIT_RUNTIME (it printed why). stop is called when the loop has stopped, before the
 * pipelines are freed: from then on the observer must not touch them. busy says whether
 * its teardown still needs loop turns; the host runs the loop until it is false. */
typedef struct {
    int (*start)(void *ud, const host_view *view);
    void (*stop)(void *ud);
    bool (*busy)(void *ud);
    void *ud;
    const char *listen; /* the address it serves, HOST:PORT, for the banner; NULL = none */
} host_observer;

typedef struct {
    bool backtest;
    double speed;              /* run: replay speed; <= 0 = use each pipeline's data.speed */
    const char *db_path;       /* store file; NULL in a backtest = a new file under results/ */
    bool fresh;                /* delete the store and paper accounts first */
    bool force;                /* backtest: replace a store that `run` wrote */
    bool quiet;                /* only the summary */
    bool verbose;              /* every monitoring check too */
    double max_seconds;        /* run: stop after this much wall time (0 = no limit) */
    const char *report_path;   /* backtest: the HTML report to write; NULL = none */
    const char *trades_path;   /* backtest: every trade as .csv or .json; NULL = none */
    bool progress;             /* backtest: a progress line on stderr (a terminal, not --quiet) */
    const char *metrics_path;  /* write the metrics registry here at the end; NULL = no */
    bool strict;               /* script errors make the exit code EXIT_SCRIPT_ERRORS */
    apex_time from_ts, to_ts;  /* --from/--to: trade bars in [from, to]; 0 = unbounded */
    const char *const *params; /* --param PATH=VALUE overrides, applied to every pipeline */
    int nparams;
    const host_observer *observer; /* run: NULL = none */
} host_options;

/* Runs the pipelines; prints events and a summary. Returns an exit code. */
int host_main(const char *const *paths, int npaths, const host_options *opt);

/* Loads and validates without trading. Prints every problem; returns EXIT_OK/EXIT_INVALID. */
int host_check(const char *const *paths, int npaths, bool connect, const char *const *params,
               int nparams);

#endif
