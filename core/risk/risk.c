#include "risk/risk.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/err.h"

/* Below this equity the pattern-day-trader rule limits day trades (FINRA). */
#define PDT_EQUITY_MIN MONEY(25000)

static void skip(risk_decision *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void skip(risk_decision *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->skip_reason, sizeof out->skip_reason, fmt, ap);
    va_end(ap);
    out->qty = 0;
}

/* Appends to the note, so several adjustments read as one sentence. */
static void note(risk_decision *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(risk_decision *out, const char *fmt, ...)
{
    size_t used = strlen(out->note);
    if (used > 0 && used + 2 < sizeof out->note) {
        memcpy(out->note + used, "; ", 3);
        used += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->note + used, sizeof out->note - used, fmt, ap);
    va_end(ap);
}

static const char *fmt2(money_t v, char *buf)
{
    return money_format_trim(v, 2, buf, 32);
}

static int overflow(char *err, size_t errlen, const char *what)
{
    return err_set(err, errlen, APEX_ERANGE,
                   "risk: %s overflows the money range; check risk.capital and the prices", what);
}

/* What qty costs per unit and in fees: the entry price and nothing, or what the broker
 * will charge (price with spread and slippage, and the fee). */
static broker_cost cost_of(const risk_input *in, money_t qty)
{
    broker_cost c = {.price = in->entry, .fee = 0};
    const risk_costs *k = in->costs;
    if (k && broker_estimate_cost(k->brk, k->symbol, k->side, k->type, in->entry, qty, &c) != 0)
        c = (broker_cost){.price = in->entry, .fee = 0};
    return c;
}

/* qty * price + fee */
static int total_cost(money_t qty, broker_cost c, money_t *out)
{
    if (money_mul(qty, c.price, MONEY_ROUND_UP, out) < 0 || money_add(*out, c.fee, out) < 0)
        return APEX_ERANGE;
    return 0;
}

/* Whole lots of `lot` that fit in `amount / per_unit`, rounded down. */
static int lots_for(money_t amount, money_t per_unit, money_t lot, money_t *out)
{
    money_t q;
    int rc = money_div(amount, per_unit, MONEY_ROUND_DOWN, &q);
    if (rc < 0)
        return rc;
    *out = money_round_to(q, lot, MONEY_ROUND_DOWN);
    return 0;
}

/* The most whole lots whose cost (price and fee) fits in budget. The fee of the most lots
 * the price alone allows is at least the fee of any fewer, so what fits beside that fee
 * always fits. */
static int lots_within(const risk_input *in, money_t budget, money_t lot, money_t *out)
{
    broker_cost c = cost_of(in, lot);
    money_t q;
    int rc = lots_for(budget, c.price, lot, &q);
    if (rc < 0)
        return rc;
    if (q > 0 && in->costs) {
        c = cost_of(in, q);
        if (budget - c.fee <= 0)
            q = 0;
        else if ((rc = lots_for(budget - c.fee, c.price, lot, &q)) < 0)
            return rc;
    }
    *out = q;
    return 0;
}

int risk_size(const risk_config *cfg, const risk_input *in, risk_decision *out, char *err,
              size_t errlen)
{
    memset(out, 0, sizeof *out);
    char a[32], b[32], c[32];
    if (in->entry <= 0)
        return err_set(err, errlen, APEX_EINVAL,
                       "risk: entry price %s must be greater than 0; check the signal's entry",
                       fmt2(in->entry, a));
    if (in->stop < 0 || in->stop == in->entry)
        return err_set(err, errlen, APEX_EINVAL,
                       "risk: stop %s must be positive and differ from the entry %s; the risk "
                       "per share would be %s",
                       fmt2(in->stop, a), fmt2(in->entry, b), in->stop < 0 ? "undefined" : "0");
    money_t lot = in->rules.lot > 0 ? in->rules.lot : MONEY_SCALE;

    /* Limits first: a trade that may not happen needs no size. */
    if (in->circuit_open) {
        skip(out,
             "daily-loss circuit breaker is open (limit %s%% of start-of-day equity); no new "
             "entries until tomorrow",
             fmt2(cfg->daily_loss_limit_pct * 100, a));
        return 0;
    }
    if (cfg->max_positions > 0 && in->open_positions >= cfg->max_positions) {
        skip(out, "max_positions %d reached (%d open)", cfg->max_positions, in->open_positions);
        return 0;
    }
    if (cfg->pdt_check && in->equity < PDT_EQUITY_MIN &&
        in->day_trades >= cfg->pdt_day_trade_limit) {
        skip(out,
             "PDT rule: %d day trades in the last 5 days (limit %d) with equity %s < 25000; "
             "wait for the window to roll or raise equity",
             in->day_trades, cfg->pdt_day_trade_limit, fmt2(in->equity, a));
        return 0;
    }
    money_t capital = in->capital;
    if (capital <= 0) {
        skip(out, "sizing capital is %s; set risk.capital or fund the account", fmt2(capital, a));
        return 0;
    }

    money_t risk_per_share, risk_amount, position_value;
    if (money_sub(in->entry, in->stop, &risk_per_share) < 0)
        return overflow(err, errlen, "entry - stop");
    if (risk_per_share < 0)
        risk_per_share = -risk_per_share;
    if (money_mul(capital, cfg->max_risk_pct, MONEY_ROUND_DOWN, &risk_amount) < 0)
        return overflow(err, errlen, "capital * max_risk_pct");
    if (money_mul(capital, cfg->max_position_pct, MONEY_ROUND_DOWN, &position_value) < 0)
        return overflow(err, errlen, "capital * max_position_pct");
    if (lots_for(risk_amount, risk_per_share, lot, &out->shares_by_risk) < 0)
        return overflow(err, errlen, "risk amount / risk per share");
    if (lots_within(in, position_value, lot, &out->shares_by_capital) < 0)
        return overflow(err, errlen, "position value / entry");

    money_t qty;
    if (in->requested_qty > 0) {
        /* The strategy's own size wins over the risk-based one, but never exceeds what one
         * position may hold. */
        qty = money_round_to(in->requested_qty, lot, MONEY_ROUND_DOWN);
        if (qty > out->shares_by_capital) {
            note(out, "requested %s capped to %s by max_position_pct %s%%",
                 fmt2(in->requested_qty, a), fmt2(out->shares_by_capital, b),
                 fmt2(cfg->max_position_pct * 100, c));
            qty = out->shares_by_capital;
        }
    } else {
        qty = out->shares_by_risk < out->shares_by_capital ? out->shares_by_risk
                                                           : out->shares_by_capital;
    }
    if (qty < lot) {
        note(out, "raised to the minimum of one lot (%s)", fmt2(lot, a));
        qty = lot;
    }

    /* Buying power: one lot must be affordable; otherwise shrink to what is. */
    broker_cost per_lot = cost_of(in, lot);
    money_t lot_cost, cost;
    if (total_cost(lot, per_lot, &lot_cost) < 0 || total_cost(qty, cost_of(in, qty), &cost) < 0)
        return overflow(err, errlen, "quantity * entry");
    if (lot_cost > in->buying_power) {
        char bp[32];
        skip(out, "one lot (%s at %s = %s) costs more than buying power %s", fmt2(lot, a),
             fmt2(per_lot.price, b), fmt2(lot_cost, c), fmt2(in->buying_power, bp));
        return 0;
    }
    if (cost > in->buying_power) {
        money_t affordable;
        if (lots_within(in, in->buying_power, lot, &affordable) < 0)
            return overflow(err, errlen, "buying power / entry");
        note(out, "reduced from %s to %s by buying power %s", fmt2(qty, a), fmt2(affordable, b),
             fmt2(in->buying_power, c));
        qty = affordable;
    }
    out->qty = qty;
    return 0;
}
