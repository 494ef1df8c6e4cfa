/* evaluator: decides whether and how an open position should exit (seed 003).
 *
 * Ten conditions, each with a priority; when several fire, the highest priority wins;
 * ties go to the larger quantity, then to the earlier condition in this list:
 *
 *   CRITICAL  stop_loss, circuit_breaker          (+ emergency instruction rules)
 *   HIGH      trailing_stop, time_based_urgent, liquidity_dried_up
 *   MEDIUM    profit_target, partial_exit_target
 *   LOW       early_exit, edge_disappeared, rebalance
 *
 * There is no edge_reversal condition (REQ-EXIT-009): early_exit (edge below an
 * absolute threshold) and edge_disappeared (edge negative) cover it.
 *
 * Pure functions over plain inputs: no I/O, no allocation, no formatting unless a
 * condition fires. This runs for every open position on every price update, so it is
 * on the hot path of a backtest with thousands of positions (target < 200 ns). */
#ifndef APEX_EXITS_EVALUATOR_H
#define APEX_EXITS_EVALUATOR_H

#include <stdbool.h>
#include <stddef.h>

#include "clock/clock.h"
#include "config/config.h"
#include "model/exit.h"
#include "model/order.h"
#include "money/money.h"

/* Everything one evaluation looks at. Prices are fixed point; 0 means "unknown" for
 * optional ones (bid, ask, volume, stop_loss, take_profit, session_close). */
typedef struct {
    int side;            /* SIDE_BUY = long, SIDE_SELL = short */
    money_t qty;         /* open quantity, > 0 */
    money_t initial_qty; /* quantity at entry: partial stages are fractions of it */
    money_t entry_price;
    money_t stop_loss, take_profit;
    money_t price;    /* latest price */
    money_t bid, ask; /* latest quote, 0 if unknown */
    money_t volume;   /* latest bar's volume; < 0 if unknown */
    apex_time now;
    apex_time session_close; /* the next session close / settlement; 0 = none */
    /* trailing stop state, kept current by exits_update_trailing */
    bool trailing_active;
    money_t peak_price; /* best price since entry (highest for a long) */
    money_t trailing_stop;
    /* what the ATR and chandelier modes measure from (exits.trailing_stop.mode), of the
     * symbol's bars up to now; 0 while fewer than the period's bars exist */
    money_t atr;                       /* Wilder's ATR(period) */
    money_t channel_high, channel_low; /* highest high, lowest low of the last period bars */
    /* the level in trailing_stop is the strategy's stop() (pipeline/strategy_stop.c), for
     * the exit's reason */
    bool strategy_stop;
    int partial_done; /* bit i set: partial stage i already executed */
    /* strategy inputs */
    bool has_edge;
    money_t edge;             /* strategy.edge(position), a fraction */
    bool has_rebalance;       /* a better opportunity exists and no slot is free */
    money_t position_score;   /* this position's opportunity score */
    money_t best_other_score; /* the best score among symbols without a position */
    /* pipeline inputs */
    bool circuit_tripped;    /* the daily loss limit has been reached */
    const char *circuit_why; /* or another breaker tripped: why (NULL = the daily loss) */
    bool rule_fired;         /* an emergency instruction rule fired */
    const char *rule_reason; /* its reason, when rule_fired */
} exit_input;

typedef struct {
    exit_condition condition; /* EXIT_NONE when nothing fires */
    exit_priority priority;
    money_t qty;       /* to close; a partial stage's share (rounded down to the lot),
                          or the whole open quantity */
    int partial_stage; /* with EXIT_PARTIAL_EXIT_TARGET: the stage index */
    unsigned fired;    /* bit c set for every condition c that fired */
    char reason[192];  /* e.g. "stop_loss: price 97.50 <= stop 97.60" */
} exit_decision;

/* Moves the trailing stop with a new price: arms it once unrealized profit reaches
 * trailing_activation_pct, then keeps it behind the peak as trailing_mode says
 * (distance_pct of the peak; multiplier x atr behind the peak; or multiplier x atr behind
 * channel_high, channel_low for a short), rounded to the tick on the protective side. The
 * ATR modes do nothing while atr is 0. It never loosens (never moves down for a long or up
 * for a short), and with trailing_enabled false it never moves (a level the strategy set
 * stays). Updates peak_price too. Returns true when the stop moved or armed. */
bool exits_update_trailing(const exits_config *cfg, money_instrument rules, exit_input *io);

/* Evaluates every condition against in and writes the winner to out (condition
 * EXIT_NONE when nothing fires). Call exits_update_trailing first. */
void exits_evaluate(const exits_config *cfg, money_instrument rules, const exit_input *in,
                    exit_decision *out);

/* A close the strategy returned from on_bar ({ side = "close" }) as a decision for the
 * executor: condition EXIT_STRATEGY_EXIT at cfg->strategy_exit_priority, reason
 * "strategy_exit: <the strategy's reason>" (plus "(closing 50 of 100)" for a part).
 * open_qty is the open quantity (> 0). qty (0 = not given) or fraction (of open_qty, 0 =
 * not given) choose the share, rounded down to the lot and capped at open_qty; neither
 * closes everything. Returns 0, or APEX_EINVAL when the share rounds down to 0 lots, with
 * why naming the field. */
int exits_strategy_decision(const exits_config *cfg, money_instrument rules, money_t open_qty,
                            money_t qty, money_t fraction, const char *reason, exit_decision *out,
                            char *why, size_t whylen);

/* The unrealized P&L fraction of in (for a long: price / entry - 1), 0 if entry is 0. */
money_t exits_pnl_fraction(const exit_input *in);

#endif
