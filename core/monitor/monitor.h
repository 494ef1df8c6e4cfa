/* monitor: checks every open execution at its cadence until it closes (seed 003).
 *
 * Cadence is dynamic: urgent_frequency (5 s) while the price is within near_* of the
 * stop, the target or the trailing stop, normal_frequency (30 s) otherwise. That is wall
 * time in `run`. In a backtest (monitor_set_bar_driven) time follows the data instead: a
 * position is checked when its symbol has a new bar, or when a time-based condition
 * falls due, so a daily-bar backtest costs O(bars + trades), not O(seconds), and its
 * results do not depend on the cadence.
 *
 * Prices come from a price cache (TTL price_cache_ttl_seconds). Checks that miss the
 * cache are gathered and answered by ONE batched get_quotes request for all their
 * symbols; every broker call goes through the pipeline's rate-limited broker, so the
 * per-minute limit holds however many positions are open.
 *
 * A check updates P&L in memory (persisted on state changes and every
 * persist_interval in live runs), then hands the position and its quote to the exit
 * hook (the evaluator and executor). The broker is the source of truth for closure:
 * when the fills ledger shows a position flat, or a periodic reconciliation
 * (list_positions) shows it gone (closed by hand), the broker is asked and the
 * pipeline completes the execution.
 *
 * Reconciliation (monitoring.reconcile_seconds, default 300 s; 0 = at start-up only): in
 * `run`, once at start-up (monitor_start) and then every period, the broker's positions
 * are listed (a position closed by hand completes its execution; one that no active
 * execution in the store knows is reported once as an `unknown_position` event and a
 * warning, and never traded or closed), and every non-final order of every monitored
 * execution is asked for by client order id (hooks.reconcile_orders: exec's periodic
 * reconciliation, which records a fill the stream and polling both missed). All of it at
 * ROUTINE priority through the pipeline's limited broker. A backtest keeps no timer for
 * it: the first check after each period reconciles.
 *
 * Broker failures are retried with the configured backoff (1, 2, 4, 8, 16 min); the
 * execution stays `monitoring` and each failure is an event. */
#ifndef APEX_MONITOR_H
#define APEX_MONITOR_H

#include "broker/broker.h"
#include "config/config.h"
#include "exec/exec.h"
#include "exec/trade.h"
#include "market/price_cache.h"
#include "store/store.h"

typedef struct monitor monitor;

typedef struct {
    /* The broker shows no position any more: the pipeline completes the execution. */
    void (*on_flat)(void *ud, trade *t);
    /* After P&L is updated on a check: evaluate exits with this quote. */
    void (*evaluate_exit)(void *ud, trade *t, const broker_quote *q);
    /* Every active trade of the pipeline, for reconciliation. */
    trade *(*first_trade)(void *ud);
    /* On a simulated clock: the next time after now at which a time-based exit condition
     * changes for t (e.g. the session-close window opens), or 0 for none. */
    apex_time (*next_time_due)(void *ud, const trade *t, apex_time now);
    /* The broker has failed t's checks through every step of monitoring.retry_backoff:
     * the execution is flagged (its reason and a broker_outage event) and this runs, once
     * per outage; monitoring goes on retrying at the last step. NULL: nothing more. */
    void (*on_outage)(void *ud, trade *t, int failures, const char *error);
    /* Periodic reconciliation of t's non-final orders (exec_reconcile_periodic); done runs
     * once unless this returns < 0. NULL: positions only. */
    int (*reconcile_orders)(void *ud, trade *t, exec_done_cb done, void *done_ud);
    void *ud;
} monitor_hooks;

monitor *monitor_new(apex_clock *clock, broker *brk, store *db, const pipeline_config *cfg,
                     monitor_hooks hooks);
void monitor_free(monitor *m);

/* Starts checking t, first at `first_check` (0 = now + normal frequency). */
void monitor_watch(monitor *m, trade *t, apex_time first_check);
void monitor_unwatch(monitor *m, trade *t);
/* Brings t's next check forward to now (e.g. after one of its orders filled). */
void monitor_check_soon(monitor *m, trade *t);
/* `run`: reconciles now (start-up) and then every monitoring.reconcile_seconds. Once;
 * later calls do nothing. Backtests do not call it. */
void monitor_start(monitor *m);
/* Backtests: checks follow the bars (see above) instead of the cadence. Off by default. */
void monitor_set_bar_driven(monitor *m, bool on);
/* A new bar of t's symbol reached the (simulating) broker: the cached quote is stale, and
 * when bar-driven t is checked now, after the bar's fills. */
void monitor_on_bar(monitor *m, trade *t);

/* Updates t's in-memory P&L and peak from a new price (every bar; no I/O). */
void monitor_mark(trade *t, money_t price, apex_time ts);

/* Seconds until the next check for t at price (normal or urgent). */
int monitor_cadence(const monitor *m, const trade *t, money_t price);

/* Which level makes a check at price urgent: "stop", "target" or "trailing stop", with the
 * level in *level; NULL when none does. A level is near when the price is within its
 * monitoring.urgent_conditions.near_*_pct of it and within near_distance_fraction of the
 * level's own distance (from the entry; the trailing stop's from the peak). */
const char *monitor_urgent_level(const monitor *m, const trade *t, money_t price, money_t *level);

/* The quote cache (the executor prices limit orders from it). */
price_cache *monitor_prices(monitor *m);

typedef struct {
    uint64_t checks;         /* position checks run */
    uint64_t quote_requests; /* batched get_quotes calls */
    uint64_t quoted_symbols; /* symbols asked for in them */
    uint64_t cache_hits;
    uint64_t reconciliations;   /* rounds run (positions listed) */
    uint64_t orders_reconciled; /* executions whose orders were asked for */
    uint64_t unknown_positions; /* symbols reported as unknown_position */
} monitor_stats;
void monitor_get_stats(const monitor *m, monitor_stats *out);

#endif
