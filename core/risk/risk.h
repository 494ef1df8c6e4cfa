/* risk: position sizing and entry limits (seed 004).
 *
 * Size = min(risk-based, capital-based), rounded down to the lot, and at least one
 * lot: risk-based = capital * max_risk_pct / |entry - stop|, capital-based =
 * capital * max_position_pct / entry. Example (seed 004): capital 3000, entry 50,
 * stop 48 -> min(15, 3) = 3 shares.
 *
 * With `costs` set, what a position costs is what the broker will charge: the capital
 * bound and the buying-power bound use the broker's estimate of the fill price (spread and
 * slippage included) plus the fee (broker_estimate_cost), so an order sized to the whole
 * buying power is one the broker accepts. The risk bound stays entry - stop.
 *
 * Limits that stop a trade produce a skip reason that carries the numbers. */
#ifndef APEX_RISK_H
#define APEX_RISK_H

#include <stdbool.h>
#include <stddef.h>

#include "broker/broker.h"
#include "config/config.h"
#include "money/money.h"

/* Where sizing learns what the broker will charge for the entry. */
typedef struct {
    broker *brk;
    const char *symbol;
    order_side side;
    order_type type; /* market, or limit at the entry */
} risk_costs;

typedef struct {
    money_t capital;      /* sizing capital (config, or account equity) */
    money_t buying_power; /* from the broker account */
    money_t equity;
    int open_positions;    /* of this pipeline */
    money_t entry;         /* expected entry price */
    money_t stop;          /* stop price */
    money_t requested_qty; /* > 0 when the strategy named a quantity */
    money_instrument rules;
    int day_trades;          /* in the rolling window, for the PDT rule */
    bool circuit_open;       /* the daily-loss circuit breaker has tripped */
    const risk_costs *costs; /* NULL: a unit costs the entry price, no fee */
} risk_input;

typedef struct {
    money_t qty;            /* 0 when skipped */
    money_t shares_by_risk; /* the two candidates, for the log */
    money_t shares_by_capital;
    char skip_reason[256]; /* non-empty when a limit stops the trade */
    char note[256];        /* how the size was adjusted (requested qty capped, buying
                              power, minimum lot); informational, "" when none */
} risk_decision;

/* Returns 0 and fills *out (qty > 0, or qty 0 with a skip reason);
 * APEX_EINVAL for impossible input (entry <= 0, stop == entry). */
int risk_size(const risk_config *cfg, const risk_input *in, risk_decision *out, char *err,
              size_t errlen);

#endif
