/* pipeline: one loaded pipeline.lua, running.
 *
 * Owns its config, its Lua state (bias, strategy, rules), its broker, its data
 * feed, its order executor and its position monitor, and the list of its live
 * executions (trades). The host feeds it bars in time order; for each bar of a
 * traded symbol it runs the bias and strategy scripts, and a signal starts an
 * execution: bias -> strategy -> risk -> trade manager (seed 000 "dual phase").
 *
 * Statuses: pending -> running -> monitoring -> completed, or skipped (a stage or
 * limit declined, with the reason and its numbers), or failed (with the error,
 * e.g. the script's file:line). */
#ifndef APEX_PIPELINE_H
#define APEX_PIPELINE_H

#include <stdbool.h>

#include "clock/clock.h"
#include "config/config.h"
#include "market/price_table.h"
#include "market/symtab.h"
#include "script/failures.h"
#include "store/store.h"
#include "util/diag.h"

struct uv_loop_s;

/* What a pipeline borrows from the host; all outlive the pipeline. */
typedef struct {
    apex_clock *clock;
    store *db;
    symtab *symbols;
    price_table *prices;
    struct uv_loop_s *loop;   /* NULL in backtests: no hot reload */
    struct http_client *http; /* outgoing HTTP (the webhook tool); NULL in backtests */
    bool backtest;
    bool checking;             /* `check`: opened as a backtest to validate, never run */
    const char *const *params; /* --param PATH=VALUE overrides for every pipeline */
    int nparams;
    /* --from/--to: bars before from are warm-up only (scripts see them, nothing trades);
     * the data ends after to. 0 = unbounded. */
    apex_time from_ts, to_ts;
    const char *db_path;
    /* A live source (data.live) pushed bars: the host reads them now rather than at its
     * next poll. NULL = poll only. */
    void (*data_arrived)(void *host_ud);
    void *host_ud;
    /* Ranks the entry signals of one bar time (coordinator.h); NULL = each signal goes on
     * as it arrives. */
    struct coordinator *coord;
} host_services;

/* A symbol's bars in the summary: every declared symbol, and any other that had bars. */
typedef struct {
    const char *symbol;
    bool declared; /* in the pipeline's `symbols` */
    uint64_t bars;
} pipeline_symbol_bars;

typedef struct {
    uint64_t bars, signals, signals_ignored, executions, skipped, failed;
    uint64_t trades, wins, losses, breakeven, open_positions, monitor_checks, quote_requests,
        cache_hits, broker_calls;
    money_t realized, fees, unrealized, max_drawdown, start_equity;
    /* The first durable write that failed, NULL when none did; valid until pipeline_free.
     * Such a run halted its entries and ends with a non-zero exit code. */
    const char *write_error;
    /* What the pipeline's scripts failed, per stage, and how much of it was recorded one by
     * one (the rest was summarised); valid until pipeline_free. */
    const script_failures *script_failures;
    apex_time first_bar_ts, last_bar_ts; /* 0 without bars */
    const pipeline_symbol_bars *symbols; /* by symbol id; valid until pipeline_free */
    int nsymbols;
} pipeline_summary;

typedef struct pipeline pipeline;

/* Loads and validates path (every problem goes to diags), creates the scripts, the
 * broker, the feed and the executors, and resumes executions left active in the
 * store. Returns NULL when anything is wrong. */
pipeline *pipeline_open(const host_services *hs, const char *path, diag_list *diags);
void pipeline_free(pipeline *p);

const char *pipeline_name(const pipeline *p);
/* True when bars reach the pipeline from a live source in `run` (data.live, the broker's
 * market data, or data.http): it runs until stopped, like a followed file. */
bool pipeline_live_feed(const pipeline *p);
/* `check`: validates every data.http source as `run` would open it (URL, paths, period,
 * the header variable), without sending anything; one diagnostic per bad source, naming
 * "data.http[N].field". Returns the number of problems. */
int pipeline_http_check(const pipeline_config *cfg, diag_list *diags);
const pipeline_config *pipeline_cfg(const pipeline *p);

/* The feed: 1 with *next = the time of the next bar; 0 at the end of the data; < 0 on a
 * data error, which pipeline_step then reports with its file and line. */
int pipeline_peek(pipeline *p, apex_time *next);
/* 1 = a bar was processed, 0 = nothing available, < 0 = a data error (err says where). */
int pipeline_step(pipeline *p, char *err, size_t errlen);
/* Bars at or before this time are warm-up after a restart (scripts only). */
apex_time pipeline_resume_time(const pipeline *p);
/* The data ended. A restart whose every bar was warm-up (killed in the last minute of the
 * data) reconciles its executions with the broker now: the broker has lived through every
 * bar, and fills it made while the host was down must not wait for the next run. */
void pipeline_end_of_data(pipeline *p);
/* `check` (check.c): reads the data through, warns of a declared symbol without rows and of
 * suspicious values, and runs the scripts' on_start and on_bar once per symbol on its first
 * row (or a synthetic bar at 100.00). Prints each problem; returns how many script errors. */
int pipeline_check_run(pipeline *p);
/* True while it has executions that may still change (open positions, working orders). */
bool pipeline_busy(const pipeline *p);
/* Notifications being sent or due now (`run`; 0 without a notifier): the end of a run
 * waits a little for them. */
int pipeline_notify_busy(const pipeline *p);
uint64_t pipeline_notify_sent(const pipeline *p); /* notifier_sent of its notifier */
/* Asks the broker for the account and records its equity as a snapshot when it answers:
 * the end of a backtest, so the equity curve ends where the run ended. */
void pipeline_request_equity(pipeline *p);
/* Records the cursor; fills the summary. */
void pipeline_finish(pipeline *p, pipeline_summary *out);

#endif
