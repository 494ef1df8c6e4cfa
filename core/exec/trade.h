/* trade: one execution's live state in memory, and who may keep it alive.
 *
 * The store rows (execution, position) are the durable truth; a trade mirrors them
 * and adds what only matters while the host runs: the ledger replayed from fills, the
 * monitoring timer, the exit being worked. One trade per execution; the pipeline owns
 * the list of them.
 *
 * Lifetime. Asynchronous work (a broker request, a batched quote, an exit job) that
 * will call back with a trade takes a hold with trade_hold and gives it back with
 * trade_release. A trade whose final status is written is marked with trade_finish;
 * the pipeline frees it only when trade_freeable says no hold is left. These three
 * functions are the only code that touches the count, so a leak or a double release
 * is caught in one place (APEX_ASSERT in Debug and sanitizer builds). */
#ifndef APEX_EXEC_TRADE_H
#define APEX_EXEC_TRADE_H

#include <stdbool.h>

#include "clock/clock.h"
#include "ledger/ledger.h"
#include "model/order.h"
#include "store/store.h"

struct exit_job; /* exits/executor.c: the exit being worked for this trade */

typedef struct trade {
    /* The durable mirror; the pipeline's lifecycle writes row.status, exec and the
     * monitor keep the rest current. */
    store_execution row;
    store_position pos;
    bool has_pos; /* a position row exists (the entry has filled at least once) */

    /* exec: our fills, applied in arrival order, and the entry's client order id. */
    ledger led;
    char entry_coid[BROKER_ID_MAX];

    /* monitor */
    clock_timer check_timer; /* the next check */
    apex_time last_persist;  /* when the monitoring columns were last written */

    /* exits */
    struct exit_job *exit_job;     /* the executor's working job, NULL when none */
    char exit_coid[BROKER_ID_MAX]; /* the working host exit order, "" when none */
    bool closing;                  /* an exit has been requested */
    char exit_reason[256];         /* why the position closed, once known */

    /* pipeline */
    int symbol_id;
    bool strategy_stop; /* pos.trailing_stop_price is the level the strategy's stop() set */
    /* A stop or limit entry with an expiry (pipeline/entry_expiry.c). Its type, price and
     * expiry are in row (durable); the bars it has rested are counted here, again from the
     * replayed data after a restart (from row.resting_since). */
    int bars_worked;
    bool expiring;     /* the cancel was sent because it expired */
    bool resuming;     /* being reconciled after a restart (resume.c): expiry waits for it */
    bool sized;        /* its entry passed the risk stage: it counts against max_positions from
                          then on, before its order is even sent */
    bool counted_open; /* the pipeline counts it in its open positions (lifecycle.c) */
    money_t heat;      /* its open risk to the stop, as counted in its account's heat
                          (risk/heat.h; pipeline/portfolio.c keeps it current) */
    void *owner;       /* the pipeline */
    struct trade *next;
    /* flat at the broker while its fills hold shares: its closing fills are being asked
     * for (pipeline_flat_at_broker), and the answer completes it */
    bool finding_close;

    /* lifetime: trade.c only */
    int holds;
    bool finished;
} trade;

/* Something asynchronous now points at t; it must call trade_release exactly once. */
void trade_hold(trade *t);
/* Gives a hold back. Returns t while it is live, NULL once it is finished (the caller
 * must then do nothing more with it but return). */
trade *trade_release(trade *t);
/* The final status has been written: nothing new may start for t. Idempotent. */
void trade_finish(trade *t);

static inline bool trade_is_finished(const trade *t)
{
    return t->finished;
}
/* Finished and no longer held: the owner may free it. */
static inline bool trade_freeable(const trade *t)
{
    return t->finished && t->holds == 0;
}
static inline int trade_holds(const trade *t)
{
    return t->holds;
}

#endif
