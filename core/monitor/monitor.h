/* monitor: checks every open execution at its cadence until it closes.
 *
 * A check asks the broker for the position (the broker is the source of truth:
 * a bracket leg, our own exit or a hand-close all show up as a flat position),
 * updates P&L in memory, persists the monitoring columns when something changed
 * or persist_interval has passed, asks the pipeline's exit hook whether to exit,
 * and schedules the next check: urgent_frequency when the price is within the
 * near_* distance of the stop or the target, normal_frequency otherwise. Broker
 * failures are retried with the configured backoff (1, 2, 4, 8, 16 min) while the
 * execution stays `monitoring` and the failure is written to the events log.
 *
 * Issue 3's exit engine plugs in through monitor_hooks.evaluate_exit. */
#ifndef APEX_MONITOR_H
#define APEX_MONITOR_H

#include "broker/broker.h"
#include "config/config.h"
#include "exec/trade.h"
#include "market/price_table.h"
#include "store/store.h"

typedef struct monitor monitor;

typedef struct {
    /* The broker shows no position any more: the pipeline completes the execution. */
    void (*on_flat)(void *ud, trade *t);
    /* After P&L is updated on a check: may start an exit. */
    void (*evaluate_exit)(void *ud, trade *t, money_t price);
    void *ud;
} monitor_hooks;

/* prices: the host's latest bars; with a broker that simulates from market data (paper),
 * a check whose symbol has no new bar and no order event since the last check cannot
 * learn anything new from the broker, so it is answered from memory. */
monitor *monitor_new(apex_clock *clock, broker *brk, store *db, const pipeline_config *cfg,
                     const price_table *prices, monitor_hooks hooks);
void monitor_free(monitor *m);

/* Starts checking t, first at `first_check` (0 = now + normal frequency). */
void monitor_watch(monitor *m, trade *t, apex_time first_check);
void monitor_unwatch(monitor *m, trade *t);
/* Brings t's next check forward to now (e.g. after one of its orders filled). */
void monitor_check_soon(monitor *m, trade *t);

/* Updates t's in-memory P&L and peak from a new price (every bar; no I/O). */
void monitor_mark(trade *t, money_t price, apex_time ts);

/* Seconds until the next check for t at price (normal or urgent). */
int monitor_cadence(const monitor *m, const trade *t, money_t price);

/* Checks run so far, and how many of them needed the broker (summary and bench). */
uint64_t monitor_checks(const monitor *m);
uint64_t monitor_broker_checks(const monitor *m);

#endif
