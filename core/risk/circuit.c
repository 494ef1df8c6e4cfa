/* circuit: the daily-loss breaker and the day roll. */
#include "risk/circuit.h"

const char *trading_state_name(trading_state s)
{
    static const char *const names[] = {"ACTIVE", "REDUCING", "HALTED"};
    return (int)s >= 0 && (int)s < 3 ? names[s] : "UNKNOWN";
}

bool risk_circuit_roll_day(risk_circuit *c, apex_time ts, money_t mark, bool *reopened)
{
    int64_t day = ts / APEX_DAY;
    bool new_day = c->day && day != c->day;
    c->day = day;
    if (reopened)
        *reopened = false;
    if (!new_day)
        return false;
    c->day_start_mark = mark;
    if (c->close_all) { /* only the daily breaker re-opens with the day */
        c->close_all = false;
        c->state = TRADING_ACTIVE;
        if (reopened)
            *reopened = true;
    }
    return true;
}

bool risk_circuit_check(risk_circuit *c, const risk_config *cfg, money_t start_equity, money_t mark)
{
    if (c->close_all || start_equity <= 0)
        return false;
    money_t loss = c->day_start_mark - mark;
    money_t limit = 0;
    money_mul(start_equity + c->day_start_mark, cfg->daily_loss_limit_pct, MONEY_ROUND_NEAREST,
              &limit);
    if (loss < limit || limit <= 0)
        return false;
    c->state = TRADING_REDUCING;
    c->close_all = true;
    c->loss = loss;
    c->limit = limit;
    return true;
}
