/* paper_account: the money side of the paper account.
 *
 * Positions use average cost: adding to a position re-averages the entry price,
 * reducing it realizes (fill - average) * closed quantity, and a fill that goes
 * through zero closes the old position at the average and opens the rest at the
 * fill price. realized_pnl_today is net of the day's fees, because a circuit
 * breaker watching it must see what the account actually lost. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/paper_internal.h"
#include "util/log.h"

int64_t paper_day_of(apex_time t)
{
    /* Floor division, so times before the epoch still land on the right day. */
    return t >= 0 ? t / APEX_DAY : -((-t + APEX_DAY - 1) / APEX_DAY);
}

static money_t abs_money(money_t v)
{
    return v < 0 ? -v : v;
}

static money_t mul(money_t a, money_t b, money_round mode)
{
    money_t out = 0;
    if (money_mul(a, b, mode, &out) != 0) {
        log_error("paper broker: amount out of range (%lld x %lld); the account is saturated",
                  (long long)a, (long long)b);
        return (a < 0) != (b < 0) ? MONEY_MIN : MONEY_MAX;
    }
    return out;
}

money_t paper_fee(const paper_broker *p, money_t qty, money_t price)
{
    const paper_config *c = &p->cfg;
    if (c->fee_per_share == 0 && c->fee_bps == 0)
        return 0;
    money_t fee = mul(c->fee_per_share, qty, MONEY_ROUND_NEAREST);
    money_t notional = mul(qty, price, MONEY_ROUND_NEAREST);
    money_t bps_fee = 0;
    if (c->fee_bps &&
        money_muldiv(notional, c->fee_bps, PAPER_BPS_DIVISOR, MONEY_ROUND_NEAREST, &bps_fee) != 0)
        bps_fee = 0;
    fee += bps_fee;
    if (fee < c->fee_min)
        fee = c->fee_min;
    /* Whole cents, to the nearest (half to even): the fee is the configured one within half
     * a cent, as a fill's price is within half a tick (paper_fill.c). */
    return money_round_to(fee, MONEY_SCALE / 100, MONEY_ROUND_NEAREST);
}

static money_t last_price(const paper_symbol *s)
{
    return s->has_bar ? s->last.close : s->avg_price;
}

static void record_day_trade(paper_broker *p, const paper_symbol *s, int64_t day)
{
    paper_day_trade *d = vec_push_zeroed(&p->day_trades);
    if (!d) {
        log_error("paper broker: out of memory recording a day trade in %s", s->name);
        return;
    }
    d->day = day;
    snprintf(d->symbol, sizeof d->symbol, "%s", s->name);
    paper_state_save_day_trade(p, d);
}

/* (|q| * avg + qty * price) / (|q| + qty) without intermediate rounding. */
static money_t average_price(money_t held, money_t avg, money_t qty, money_t price)
{
    __int128 cost = (__int128)held * avg + (__int128)qty * price;
    __int128 total = (__int128)held + qty;
    __int128 q = cost / total, r = cost % total;
    if (2 * r > total || (2 * r == total && (q & 1)))
        q++;
    return (money_t)q;
}

static int64_t account_today(const paper_broker *p)
{
    return paper_day_of(p->last_bar_ts ? p->last_bar_ts : clock_now(p->clock));
}

int paper_apply_fill(paper_broker *p, paper_symbol *s, order_side side, money_t qty, money_t price,
                     money_t fee)
{
    money_t notional = mul(qty, price, MONEY_ROUND_NEAREST);
    money_t delta = side == SIDE_BUY ? qty : -qty;
    int64_t today = account_today(p);
    money_t realized = -fee;

    p->cash += side == SIDE_BUY ? -notional : notional;
    p->cash -= fee;

    bool opening = s->qty == 0 || (s->qty > 0) == (delta > 0);
    if (opening) {
        s->avg_price = average_price(abs_money(s->qty), s->avg_price, qty, price);
        s->qty += delta;
        s->opened_day = today;
    } else {
        money_t held = abs_money(s->qty);
        money_t closed = qty < held ? qty : held;
        money_t per_unit = s->qty > 0 ? price - s->avg_price : s->avg_price - price;
        realized += mul(per_unit, closed, MONEY_ROUND_NEAREST);
        if (s->opened_day == today) {
            record_day_trade(p, s, today);
            s->opened_day = -1;
        }
        if (qty > held) { /* through zero: the remainder opens at the fill price */
            s->qty += delta;
            s->avg_price = price;
            s->opened_day = today;
        } else {
            s->qty += delta;
            if (s->qty == 0) {
                s->avg_price = 0;
                s->opened_day = -1;
            }
        }
    }
    if (today > p->pnl_day) {
        p->pnl_day = today;
        p->realized_today = 0;
    }
    p->realized_today += realized;
    paper_revalue(p, s);
    paper_state_save_position(p, s);
    paper_state_save_account(p);
    return 0;
}

void paper_revalue(paper_broker *p, paper_symbol *s)
{
    money_t v = s->qty ? mul(s->qty, last_price(s), MONEY_ROUND_NEAREST) : 0;
    /* Half-even rounding is symmetric, so a short's -value is what it is worth. */
    p->positions_value += v - s->value;
    p->shorts_value += (s->value < 0 ? s->value : 0) - (v < 0 ? v : 0);
    s->value = v;
}

money_t paper_equity(const paper_broker *p)
{
    return p->cash + p->positions_value;
}

money_t paper_long_buying_power(const paper_broker *p)
{
    /* Cash, but never more than equity: short-sale proceeds sit in cash and must not
     * fund longs, or the account would be leveraged. */
    money_t eq = paper_equity(p);
    money_t bp = p->cash < eq ? p->cash : eq;
    return bp > 0 ? bp : 0;
}

money_t paper_short_buying_power(const paper_broker *p)
{
    /* No leverage: all shorts together may be worth at most the equity. */
    money_t bp = paper_equity(p) - p->shorts_value;
    return bp > 0 ? bp : 0;
}

void paper_roll_day(paper_broker *p, apex_time bar_ts)
{
    if (bar_ts > p->last_bar_ts)
        p->last_bar_ts = bar_ts;
    int64_t day = paper_day_of(bar_ts);
    if (day > p->pnl_day) {
        p->pnl_day = day;
        p->realized_today = 0;
    }
}

static bool is_weekday(int64_t day)
{
    int wd = (int)(((day + 4) % 7 + 7) % 7); /* 1970-01-01 was a Thursday; 0 = Sunday */
    return wd != 0 && wd != 6;
}

int paper_day_trade_count(const paper_broker *p)
{
    /* The PDT window is five business days ending today. */
    int64_t today = account_today(p), cutoff = today;
    for (int n = 0; cutoff > today - 14; cutoff--) {
        if (is_weekday(cutoff) && ++n == 5)
            break;
    }
    int count = 0;
    for (int i = 0; i < p->day_trades.count; i++)
        if (p->day_trades.items[i].day >= cutoff && p->day_trades.items[i].day <= today)
            count++;
    return count;
}

void paper_account_snapshot(const paper_broker *p, broker_account *a)
{
    memset(a, 0, sizeof *a);
    a->cash = p->cash;
    a->equity = paper_equity(p);
    a->buying_power = paper_long_buying_power(p);
    a->realized_pnl_today = paper_day_of(p->last_bar_ts) > p->pnl_day ? 0 : p->realized_today;
    a->day_trades = paper_day_trade_count(p);
}

void paper_position_snapshot(const paper_symbol *s, broker_position *pos)
{
    memset(pos, 0, sizeof *pos);
    snprintf(pos->symbol, sizeof pos->symbol, "%s", s->name);
    pos->qty = s->qty;
    pos->avg_entry_price = s->avg_price;
    pos->market_price = s->has_bar ? s->last.close : 0;
    if (s->has_bar)
        pos->unrealized_pnl = mul(s->qty, s->last.close - s->avg_price, MONEY_ROUND_NEAREST);
}
