/* executor: carries out an exit decision at the broker, by urgency (seed 003).
 *
 *   CRITICAL  market order, 5 s timeout, retried as market
 *   HIGH      aggressive limit (cross the spread), 10 s, walk 2 times, then market
 *   MEDIUM    fair limit (mid), 30 s, walk 5 times, then escalate to HIGH
 *   LOW       conservative limit (join the far side), 60 s, walk 10 times, then MEDIUM
 *
 * Timeouts, walk counts and the market fallback come from exits.execution.
 *
 * In a backtest (exit_executor_set_bar_driven) an order also rests until the next bar of
 * its symbol before it is walked, cancelled or escalated (or retried after a refusal):
 * between two bars nothing could have filled it, so on daily bars an exit places at most
 * one order per bar.
 *
 * Never over-sell: an exit first cancels the execution's working bracket legs and
 * waits until every cancel is confirmed (a leg that filled meanwhile just shrinks the
 * position), then works one order at a time for min(what is left to exit, the open
 * quantity from the fills ledger). After a partial exit the remaining quantity gets a
 * fresh protective stop at the position's stop (or its trailing stop when tighter).
 *
 * Every exit writes a position_exits row when triggered and one exit_attempts row per
 * order it places; both are kept current as orders fill, time out and walk. */
#ifndef APEX_EXITS_EXECUTOR_H
#define APEX_EXITS_EXECUTOR_H

#include "exec/exec.h"
#include "exits/evaluator.h"
#include "market/price_table.h"

typedef struct exit_executor exit_executor;

typedef struct {
    /* The latest quote for a symbol (bid/ask may be 0); returns 0 or APEX_ENOTFOUND. */
    int (*quote)(void *ud, const trade *t, money_t *last, money_t *bid, money_t *ask);
    /* An exit finished (status "filled", "failed" or "cancelled"). */
    void (*on_done)(void *ud, trade *t, const store_position_exit *row);
    /* Called inside the unit that records the exit's final row, before on_done: what
     * must be durable with it (its notification) is written here. May be NULL. */
    void (*in_done_unit)(void *ud, trade *t, const store_position_exit *row);
    /* A durable write failed (the pipeline's failure policy); may be NULL. */
    void (*on_write_error)(void *ud, int rc, const char *what, const char *msg);
    void *ud;
} exit_hooks;

/* brk is the (rate-limited) broker used for cancels; orders go through env. */
exit_executor *exit_executor_new(exec_env *env, broker *brk, store *db, apex_clock *clock,
                                 const pipeline_config *cfg, exit_hooks hooks);
void exit_executor_free(exit_executor *x);

/* Starts exiting t as decided. If an exit is already working for t, a more urgent decision
 * that closes the whole position supersedes it (the working order is cancelled first);
 * anything else is ignored. Returns 0 when started or superseded, APEX_EBUSY when ignored,
 * another code on failure. */
int exit_executor_start(exit_executor *x, trade *t, const exit_decision *d, money_t price);

/* True while an exit is working for t. */
bool exit_executor_busy(const exit_executor *x, const trade *t);

/* Feed from the pipeline's exec hooks: fills and order updates of t's orders. */
void exit_executor_on_fill(exit_executor *x, trade *t, const broker_fill *f, const store_order *o);
void exit_executor_on_order(exit_executor *x, trade *t, const store_order *o);
/* Backtests: orders rest until the next bar (see above). Off by default. */
void exit_executor_set_bar_driven(exit_executor *x, bool on);
/* A bar of t's symbol reached the broker (after its fills were queued): when bar-driven,
 * a timed-out order that waited for this bar moves on now. */
void exit_executor_on_bar(exit_executor *x, trade *t);

/* t is finished (closed or failed): drop its job without further orders. */
void exit_executor_forget(exit_executor *x, trade *t);

/* Shutdown: frees t's job without touching the broker or the store; the exit stays
 * "working" in the store and the next run's exit_executor_resume closes it. Call only when
 * the broker (and its queued replies) is being freed too. */
void exit_executor_drop(exit_executor *x, trade *t);

/* Restart: exits left "working" in the store by a previous run are closed as
 * "cancelled" (their orders were reconciled by exec); the monitor re-evaluates. */
void exit_executor_resume(exit_executor *x, trade *t);

#endif
