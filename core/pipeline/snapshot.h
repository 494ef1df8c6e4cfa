/* snapshot: a copy of a pipeline's live state, for readers outside the trading path
 * (the status server, the dashboard, tests).
 *
 * The host is one thread on one loop, so a reader running as a loop callback sees a
 * consistent state between two events; pipeline_snapshot copies it into plain structs
 * the reader owns, so rendering (JSON, HTML, text) never holds the loop and never
 * dereferences a trade that may be freed by the next event. Taking one costs O(open
 * executions) and no I/O. */
#ifndef APEX_PIPELINE_SNAPSHOT_H
#define APEX_PIPELINE_SNAPSHOT_H

#include <stdbool.h>

#include "market/bar.h"
#include "model/execution.h"
#include "model/order.h"
#include "pipeline/pipeline.h"

/* One live execution as the monitor sees it now (not as last persisted). */
typedef struct {
    int64_t execution_id;
    char symbol[SYMBOL_MAX];
    exec_status status;
    int side;    /* SIDE_BUY = long, SIDE_SELL = short, -1 before the signal's side is known */
    money_t qty; /* open quantity from the fills ledger, signed */
    money_t entry_price; /* average entry fill, 0 before the first fill */
    money_t current_price;
    money_t unrealized_pnl, unrealized_pnl_pct, realized_pnl;
    money_t stop_loss, take_profit;
    bool trailing_active;
    money_t trailing_stop;
    apex_time next_check_at; /* 0 when no check is scheduled */
    int monitor_interval_s;
    bool exiting; /* an exit is being worked */
    char reason[256];
} trade_snapshot;

typedef struct {
    char name[64];
    char trading_state[16];  /* "ACTIVE", "REDUCING", "HALTED" */
    bool entries_halted;     /* by the circuit breaker or a failed durable write */
    char halt_reason[512];   /* why, "" when entries are allowed */
    apex_time as_of;         /* the host clock when taken */
    pipeline_summary sum;    /* counts and P&L so far (write_error is copied into halt_reason) */
    money_t mark, peak_mark; /* realized + unrealized since start, and its peak */
    /* For a readiness check (the HTTP server's /readyz): the newest bar processed and the
     * bars' interval (0 = not known yet), where the bars come from, and the broker. */
    apex_time last_bar_ts;
    apex_time bar_interval;
    bool live_feed;         /* bars from a live source (pipeline_live_feed) */
    bool follow;            /* data.follow: a followed file */
    bool live_up;           /* a live source: the broker's market data is flowing */
    char live_status[256];  /* its last state as the market_data event said it */
    char broker_kind[16];   /* "paper", "alpaca" */
    int broker_retrying;    /* live executions whose last broker call failed */
    trade_snapshot *trades; /* live executions, newest first; owned */
    int ntrades;
} pipeline_snapshot;

/* Fills out (caller-owned; release with pipeline_snapshot_free). Returns 0 or
 * APEX_ENOMEM, in which case out holds no trades. */
int pipeline_snapshot_take(const pipeline *p, pipeline_snapshot *out);
void pipeline_snapshot_free(pipeline_snapshot *s);

/* The bars a reader may chart (the dashboard's price charts, GET /api/v1/bars): the host
 * then keeps at least n of each traded symbol's last bars (72 bytes a bar a symbol) besides
 * what `history` asks for; ctx.history still reads at most `history`. */
void pipeline_keep_bars(pipeline *p, int n);
/* Copies up to max of symbol's newest bars into out, oldest first; returns how many (0
 * when the pipeline has seen no bar of symbol). With out NULL, how many it holds. */
int pipeline_bars_copy(const pipeline *p, const char *symbol, bar *out, int max);

#endif
