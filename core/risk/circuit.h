/* circuit: a pipeline's trading state, as risk decides it (NautilusTrader's
 * TradingState).
 *
 *   ACTIVE    entries and exits
 *   REDUCING  only orders that reduce exposure: exits run, entries are refused. The
 *             daily-loss breaker trips into it and also closes every position; the new
 *             trading day (UTC) re-opens it.
 *   HALTED    no new orders at all (reserved for a manual halt)
 *
 * The breaker: today's loss = start-of-day mark - current mark, where the mark is
 * realized + unrealized P&L since start; it trips when the loss reaches
 * risk.daily_loss_limit_pct of start-of-day equity (start equity + start-of-day mark).
 * Pure state and arithmetic: the pipeline logs and records what it reports. */
#ifndef APEX_RISK_CIRCUIT_H
#define APEX_RISK_CIRCUIT_H

#include <stdbool.h>
#include <stdint.h>

#include "clock/clock.h"
#include "config/config.h"
#include "money/money.h"

typedef enum { TRADING_ACTIVE = 0, TRADING_REDUCING, TRADING_HALTED } trading_state;

typedef struct {
    trading_state state;
    bool close_all;         /* the daily-loss breaker tripped: every position is closed */
    int64_t day;            /* UTC day number of the current trading day; 0 before any bar */
    money_t day_start_mark; /* the mark when the day began */
    money_t loss, limit;    /* at the last trip, for the report */
} risk_circuit;

const char *trading_state_name(trading_state s); /* "ACTIVE", "REDUCING", "HALTED" */

/* A bar at time ts with the pipeline's current mark. Returns true when ts starts a new
 * trading day (not for the first bar); *reopened (may be NULL) says whether that
 * re-opened a tripped breaker (state back to ACTIVE). */
bool risk_circuit_roll_day(risk_circuit *c, apex_time ts, money_t mark, bool *reopened);

/* Checks today's loss against the limit; returns true when it trips now (state becomes
 * REDUCING with close_all, loss and limit set). start_equity <= 0 disables the check. */
bool risk_circuit_check(risk_circuit *c, const risk_config *cfg, money_t start_equity,
                        money_t mark);

static inline bool risk_circuit_allows_entries(const risk_circuit *c)
{
    return c->state == TRADING_ACTIVE;
}

#endif
