/* paper: the embedded paper broker, apex-host's default.
 *
 * A complete simulated brokerage account reached only through broker.h, as a
 * real broker would be. Fills come from the market data it is fed with
 * paper_broker_on_bar() (the registry hands that feed to the pipeline as the broker's
 * simulation feed; a real broker sees the market itself and has none):
 *
 *  - market orders fill by paper_config.fill: at the open of the symbol's next bar
 *    (next_open, the default) or on the next loop turn at the last close (close), plus
 *    half the spread and the slippage on the taker's side, rounded to the nearest tick;
 *  - buy limits fill when a bar trades at or below the limit, at the better of the
 *    limit and the bar's open (sell limits mirror this);
 *  - stops trigger when a bar trades through them and fill at the stop, or at the
 *    bar's open when the bar gapped through it, less slippage;
 *  - broker_estimate_cost answers what a market or limit order would cost (price and
 *    fee) from the same rules, so sizing can spend exactly the buying power;
 *  - bracket orders hold their legs until the entry fills, then run them as
 *    one-cancels-other; when a bar touches both legs the stop is assumed first;
 *  - fees: per share plus basis points of notional, with a per-fill minimum.
 *
 * The account (cash, positions with average price, realized P&L, orders, fills)
 * persists in its own SQLite file, so a restarted host finds the broker as it left
 * it, just as it would find a real broker. Client order ids are unique for the
 * life of the account. */
#ifndef APEX_BROKER_PAPER_H
#define APEX_BROKER_PAPER_H

#include <stddef.h>

#include "broker/broker.h"
#include "clock/clock.h"
#include "config/config.h"
#include "market/bar.h"

/* Creates (or reopens, when state_path exists) a paper account. state_path ":memory:"
 * keeps nothing. The clock schedules the asynchronous replies; it must outlive the
 * broker. Returns NULL with a message in err on failure. Free with broker_free. */
broker *paper_broker_new(const paper_config *cfg, const char *state_path, apex_clock *clock,
                         char *err, size_t errlen);

/* Feeds one bar of symbol to the account: working orders fill or trigger against it and
 * its close becomes the symbol's last price. Not an API call, so never rate limited.
 * Does nothing when b is not a paper broker. */
void paper_broker_on_bar(broker *b, const bar *data, const char *symbol);

/* Tick and lot rules for a symbol's fills (default MONEY_INSTRUMENT_DEFAULT). */
void paper_broker_set_instrument(broker *b, const char *symbol, money_instrument rules);

/* The time of the newest bar the account has lived through (persisted with it); 0 for
 * a new account or a broker that is not a paper account. */
apex_time paper_broker_last_bar_time(broker *b);

/* The quote get_quotes would answer for symbol now, synchronously: the simulation's own
 * state, no call. 0, or APEX_ENOTFOUND before the symbol's first bar or when b is not a
 * paper broker. */
int paper_broker_quote(broker *b, const char *symbol, broker_quote *out);

/* Delivers the replies and notifications queued so far now instead of on the clock's
 * next turn (a backtest, right after a bar: the fills it made at its open). */
void paper_broker_deliver_now(broker *b);

#endif
