/* store_trades: a run's finished trades and equity curve as the analytics module takes
 * them. The summary, `backtest --report`, `--trades` and the JSON API all read through
 * here, so they count the same trades and compute the same numbers.
 *
 * A trade is a closed position with its execution: the symbol, side, entry and exit
 * times, the quantity, the average entry and exit fill prices, the realized P&L net of
 * fees and the fees, and the exit reason (positions.exit_reason). */
#ifndef APEX_STORE_TRADES_H
#define APEX_STORE_TRADES_H

#include <stddef.h>

#include "analytics/analytics.h"
#include "store/store.h"

typedef struct {
    int64_t execution_id, position_id;
    char pipeline[64];
    char symbol[SYMBOL_MAX];
    char side[8]; /* "long" or "short" */
    apex_time entry_ts, exit_ts;
    money_t qty;         /* the position's initial quantity */
    money_t entry_price; /* average entry fill */
    money_t exit_price;  /* average of the closing fills; 0 if none is recorded */
    money_t pnl;         /* realized, net of fees */
    money_t fees;
    char exit_reason[50];
} store_trade;

/* Closed positions of `pipeline` (NULL = every pipeline), by exit time then id. *out is
 * malloc'ed (free it), *n its length. Returns 0 or a negative APEX_E* code with the
 * message in store_errmsg. */
int store_trades_list(store *s, const char *pipeline, store_trade **out, size_t *n);

/* Everything analytics_compute needs from the store, owned. */
typedef struct {
    store_trade *rows;
    analytics_trade *trades;
    size_t ntrades;
    analytics_point *equity;
    size_t nequity;
    analytics_input in; /* points into the arrays above */
} store_analytics;

/* Loads the trades and the equity curve of `pipeline` (NULL = every pipeline: each
 * pipeline's latest snapshot summed at every snapshot time). opt goes into in.opt.
 * Free with store_analytics_free, also after a failure. */
int store_analytics_load(store *s, const char *pipeline, const analytics_options *opt,
                         store_analytics *out);
void store_analytics_free(store_analytics *a);

#endif
