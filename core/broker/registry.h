/* registry: opens the broker a pipeline asks for (broker.kind).
 *
 * One table row per kind maps the kind's name to its adapter's constructor; adding a
 * venue (alpaca, ...) is one row and one adapter, and nothing above broker/ changes.
 * A kind the loader knows but whose adapter is not built yet is refused here, with the
 * pipeline file, the field and the kinds that are available.
 *
 * Some brokers simulate fills from market data instead of seeing a market themselves
 * (paper). For those, broker_open also returns the feed the pipeline hands every bar
 * to; for a real broker the feed is NULL and bars are none of its business. */
#ifndef APEX_BROKER_REGISTRY_H
#define APEX_BROKER_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>

#include "broker/broker.h"
#include "clock/clock.h"
#include "config/config.h"
#include "market/bar.h"

struct uv_loop_s;

/* Hands one bar of symbol to a simulating broker (not an API call: never limited). */
typedef void (*broker_sim_feed)(broker *b, const bar *data, const char *symbol);

/* What the host knows that an adapter may need beyond the pipeline's config. A struct,
 * so a new adapter's needs (an HTTP client, a secrets file) add a field, not a
 * parameter at every call site. */
typedef struct {
    apex_clock *clock;      /* replies and fills are scheduled on it; must outlive the broker */
    const char *store_path; /* the host's store; NULL or ":memory:" when nothing persists */
    bool backtest;          /* simulated time: nothing a simulating broker keeps outlives the run */
    struct uv_loop_s *loop; /* the live loop, for brokers that speak HTTP; NULL in backtests */
} broker_open_args;

/* Opens cfg->broker.kind's adapter for the pipeline cfg (the paper broker gets its
 * account file and the tick and lot rules of cfg's symbols). Returns the broker (free
 * with broker_free; no limiter is set) and, when sim is not NULL, stores its
 * simulation feed there (NULL unless it simulates). Returns NULL with a message that
 * names cfg->path and the field in err on failure. */
broker *broker_open(const pipeline_config *cfg, const broker_open_args *args, broker_sim_feed *sim,
                    char *err, size_t errlen);

/* Where the paper broker keeps cfg's account: ":memory:" in a backtest or without a store,
 * broker.state when set, else "<store>.<pipeline>.paper". */
void broker_paper_account_path(const pipeline_config *cfg, const broker_open_args *args, char *out,
                               size_t n);

/* What `check` says about cfg's broker without sending anything: a one-line description
 * into desc ("paper", "alpaca at https://paper-api.alpaca.markets, key from environment
 * variable APCA_API_KEY_ID") and 0, or < 0 with the problem (missing credentials, a bad
 * URL) in err, naming the field or the variable and never a secret's value. */
int broker_check(const pipeline_config *cfg, char *desc, size_t desclen, char *err, size_t errlen);

/* For a simulating broker: the newest bar its persisted account has lived through (a
 * restart treats every bar up to it as history); 0 otherwise. */
apex_time broker_sim_last_bar_time(broker *b);

/* For a simulating broker: the quote it would give for symbol now, without a call (the
 * simulation's state; the exit executor prices limits from it when no fresher quote is
 * cached). APEX_ENOTFOUND otherwise. */
int broker_sim_quote(broker *b, const char *symbol, broker_quote *out);

/* For a simulating broker: delivers what it has queued (fills a bar just made) now. */
void broker_sim_deliver(broker *b);

#endif
