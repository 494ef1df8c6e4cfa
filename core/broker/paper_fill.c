/* paper_fill: when and at what price the paper broker fills orders.
 *
 * Every price is rounded to the instrument's tick AGAINST the taker (a buy rounds
 * up, a sell down): a simulation that rounds in the trader's favour overstates
 * every backtest. Within a bar the path of prices is unknown, so when it matters
 * the simulation assumes the worse one (a bar touching both bracket legs fills the
 * stop; legs that become active during a bar wait for the next one). */
#include <stdio.h>
#include <string.h>

#include "broker/paper_internal.h"
#include "util/err.h"
#include "util/log.h"

static money_t bps_of(money_t price, money_t bps, money_t divisor)
{
    money_t out = 0;
    if (bps == 0 || money_muldiv(price, bps, divisor, MONEY_ROUND_UP, &out) != 0)
        return 0;
    return out;
}

/* Rounds against the taker and keeps a sell's price positive. */
static money_t taker_round(money_t price, order_side side, money_t tick)
{
    if (side == SIDE_BUY)
        return money_round_to(price, tick, MONEY_ROUND_UP);
    money_t r = money_round_to(price, tick, MONEY_ROUND_DOWN);
    return r > 0 ? r : (tick > 0 ? tick : 1);
}

static money_t with_slippage(const paper_broker *p, money_t base, order_side side)
{
    money_t slip = bps_of(base, p->cfg.slippage_bps, PAPER_BPS_DIVISOR);
    return side == SIDE_BUY ? base + slip : base - slip;
}

int paper_market_price(const paper_broker *p, const paper_symbol *s, order_side side, money_t *out)
{
    if (!s || !s->has_bar)
        return APEX_ENOTFOUND;
    money_t base;
    if (s->last.bid > 0 && s->last.ask > 0) {
        base = side == SIDE_BUY ? s->last.ask : s->last.bid;
    } else {
        /* No quote in the data: pay half the configured spread around the last trade. */
        money_t half = bps_of(s->last.close, p->cfg.spread_bps, 2 * PAPER_BPS_DIVISOR);
        base = side == SIDE_BUY ? s->last.close + half : s->last.close - half;
    }
    *out = taker_round(with_slippage(p, base, side), side, paper_symbol_rules(s).tick);
    return 0;
}

void paper_quote_of(const paper_broker *p, const paper_symbol *s, broker_quote *q)
{
    memset(q, 0, sizeof *q);
    snprintf(q->symbol, sizeof q->symbol, "%s", s->name);
    if (!s->has_bar)
        return;
    money_t tick = paper_symbol_rules(s).tick;
    q->last = s->last.close;
    q->volume = s->last.volume;
    q->ts = s->last.ts;
    if (s->last.bid > 0 && s->last.ask > 0) {
        q->bid = s->last.bid;
        q->ask = s->last.ask;
        q->quoted = true;
    } else {
        money_t half = bps_of(s->last.close, p->cfg.spread_bps, 2 * PAPER_BPS_DIVISOR);
        q->bid = taker_round(s->last.close - half, SIDE_SELL, tick);
        q->ask = taker_round(s->last.close + half, SIDE_BUY, tick);
    }
}

static void activate_legs(paper_broker *p, paper_order *entry, apex_time active_after)
{
    static const order_role legs[] = {ORDER_ROLE_TAKE_PROFIT, ORDER_ROLE_STOP_LOSS};
    for (int i = 0; i < 2; i++) {
        paper_order *leg = paper_leg_of(p, entry, legs[i]);
        if (leg && leg->o.status == ORDER_STATUS_HELD) {
            leg->active_after = active_after;
            paper_order_set_status(p, leg, ORDER_STATUS_ACCEPTED, NULL);
        }
    }
}

static void fill_order(paper_broker *p, paper_order *o, paper_symbol *s, money_t price,
                       apex_time ts)
{
    /* A bar replayed late (live replay at high speed) is older than the order it fills:
     * the fill happens now, never before the order was accepted or its bracket leg was
     * activated by the entry's fill. */
    if (ts < o->o.updated_at)
        ts = o->o.updated_at;
    money_t qty = o->o.qty - o->o.filled_qty;
    money_t fee = paper_fee(p, qty, price);
    paper_apply_fill(p, s, o->o.side, qty, price, fee);

    o->nfills++;
    o->market_pending = false;
    o->o.avg_fill_price = price;
    o->o.filled_qty = o->o.qty;
    o->o.status = ORDER_STATUS_FILLED;
    o->o.updated_at = ts;

    broker_fill f;
    memset(&f, 0, sizeof f);
    snprintf(f.fill_id, sizeof f.fill_id, "%.50s-%d", o->o.broker_order_id, o->nfills);
    memcpy(f.client_order_id, o->o.client_order_id, sizeof f.client_order_id);
    memcpy(f.symbol, o->o.symbol, sizeof f.symbol);
    f.side = o->o.side;
    f.qty = qty;
    f.price = price;
    f.fee = fee;
    f.ts = ts;
    paper_state_save_fill(p, &f);
    paper_remember_fill(p, &f);

    char pbuf[32], qbuf[32];
    log_debug("paper: %s %s %s @ %s (%s)", order_side_name(f.side),
              money_format_trim(qty, 0, qbuf, sizeof qbuf), f.symbol,
              money_format_trim(price, 2, pbuf, sizeof pbuf), f.client_order_id);

    paper_queue_fill(p, &f, &o->o);
    paper_order_set_status(p, o, ORDER_STATUS_FILLED, NULL);

    if (o->o.role == ORDER_ROLE_ENTRY)
        activate_legs(p, o, s->has_bar ? s->last.ts : ts);
    else if (o->o.role == ORDER_ROLE_STOP_LOSS || o->o.role == ORDER_ROLE_TAKE_PROFIT) {
        char why[128];
        snprintf(why, sizeof why, "one-cancels-other: %.60s filled", o->o.client_order_id);
        paper_cancel_related(p, o, why);
    }
}

void paper_fill_pending_markets(paper_broker *p, const paper_symbol *only)
{
    bool begun = false;
    for (int i = 0; i < p->working.count; i++) {
        paper_order *o = p->orders.items[p->working.items[i]];
        if (!o->market_pending || o->o.status != ORDER_STATUS_ACCEPTED)
            continue;
        if (only && strcmp(o->o.symbol, only->name) != 0)
            continue;
        paper_symbol *s = paper_symbol_find(p, o->o.symbol);
        money_t price;
        if (!begun) {
            paper_state_begin(p);
            begun = true;
        }
        if (paper_market_price(p, s, o->o.side, &price) != 0) {
            o->market_pending = false;
            paper_order_set_status(p, o, ORDER_STATUS_REJECTED,
                                   "no market data for the symbol; feed bars before trading it");
            continue;
        }
        fill_order(p, o, s, price, clock_now(p->clock));
    }
    if (begun) {
        paper_working_compact(p);
        paper_state_commit(p);
    }
}

static bool stop_touched(const paper_order *o, const bar *b)
{
    return o->o.side == SIDE_BUY ? b->high >= o->o.stop_price : b->low <= o->o.stop_price;
}

/* Where a triggered stop first trades: at the stop, or at the open when the bar
 * gapped through it. */
static money_t stop_trigger_price(const paper_order *o, const bar *b)
{
    if (o->o.side == SIDE_BUY)
        return b->open >= o->o.stop_price ? b->open : o->o.stop_price;
    return b->open <= o->o.stop_price ? b->open : o->o.stop_price;
}

/* A resting limit: fills when the bar trades at or through it, at the better of the
 * limit and the open (a bar opening beyond the limit fills at the open). */
static bool limit_price_for(const paper_order *o, const bar *b, money_t tick, money_t *out)
{
    money_t lim = o->o.limit_price;
    if (o->o.side == SIDE_BUY) {
        if (b->low > lim)
            return false;
        money_t open = money_round_to(b->open, tick, MONEY_ROUND_UP);
        *out = open < lim ? open : lim;
    } else {
        if (b->high < lim)
            return false;
        money_t open = money_round_to(b->open, tick, MONEY_ROUND_DOWN);
        *out = open > lim ? open : lim;
    }
    return true;
}

/* Returns true with the fill price when the order fills on this bar. */
static bool evaluate(paper_broker *p, paper_order *o, const bar *b, money_t tick, money_t *out)
{
    switch (o->o.type) {
    case ORDER_LIMIT:
        return limit_price_for(o, b, tick, out);
    case ORDER_STOP:
        if (!stop_touched(o, b))
            return false;
        *out = taker_round(with_slippage(p, stop_trigger_price(o, b), o->o.side), o->o.side, tick);
        return true;
    case ORDER_STOP_LIMIT: {
        if (o->triggered)
            return limit_price_for(o, b, tick, out);
        if (!stop_touched(o, b))
            return false;
        o->triggered = true;
        paper_state_save_order(p, o);
        /* Triggered in this bar: it becomes a limit at the trigger price. */
        money_t at = taker_round(stop_trigger_price(o, b), o->o.side, tick);
        money_t lim = o->o.limit_price;
        bool buy = o->o.side == SIDE_BUY;
        if (buy ? at <= lim : at >= lim) {
            *out = at;
            return true;
        }
        if (buy ? b->low <= lim : b->high >= lim) {
            *out = lim;
            return true;
        }
        return false;
    }
    case ORDER_MARKET:
        return false; /* filled on the clock turn, not by bars */
    }
    return false;
}

/* Bars whose prices may wait in memory before they are written (see paper_process_bar). */
#define PAPER_FLUSH_BARS 1024

void paper_process_bar(paper_broker *p, paper_symbol *s, const bar *b)
{
    if (s->has_bar && b->ts <= s->last.ts)
        return; /* a replayed bar: this account has already lived through it */
    /* Most bars touch no order. Their prices stay in memory and are written with the next
     * event's transaction or every PAPER_FLUSH_BARS bars, instead of one transaction per
     * bar: after a crash the account's last prices are at most that many bars old, and the
     * host's replay cursor re-feeds those bars anyway. */
    bool quiet = true;
    for (int i = 0; i < p->working.count && quiet; i++)
        if (strcmp(p->orders.items[p->working.items[i]]->o.symbol, s->name) == 0)
            quiet = false;
    if (quiet) {
        s->last = *b;
        s->has_bar = true;
        s->dirty = true;
        paper_roll_day(p, b->ts);
        if (++p->unsaved_bars >= PAPER_FLUSH_BARS && p->db) {
            paper_state_begin(p);
            paper_state_commit(p);
        }
        return;
    }
    paper_state_begin(p);
    /* Market orders still waiting were sent before this bar: they fill at the last
     * price they were sent against, as they would have on the clock turn. */
    paper_fill_pending_markets(p, s);

    s->last = *b;
    s->has_bar = true;
    s->dirty = true;
    p->unsaved_bars++;
    paper_roll_day(p, b->ts);

    money_t tick = paper_symbol_rules(s).tick;
    int n = p->working.count;
    for (int i = 0; i < n; i++) {
        paper_order *o = p->orders.items[p->working.items[i]];
        if (o->o.status != ORDER_STATUS_ACCEPTED || o->market_pending ||
            strcmp(o->o.symbol, s->name) != 0)
            continue;
        if (o->o.role != ORDER_ROLE_ENTRY && o->o.role != ORDER_ROLE_EXIT &&
            b->ts <= o->active_after)
            continue;
        if (o->o.role == ORDER_ROLE_TAKE_PROFIT) {
            /* Both legs touched in one bar: assume the stop came first. */
            paper_order *sl = paper_order_sibling(p, o);
            if (sl && sl->o.status == ORDER_STATUS_ACCEPTED && b->ts > sl->active_after &&
                stop_touched(sl, b))
                continue;
        }
        money_t price;
        if (evaluate(p, o, b, tick, &price))
            fill_order(p, o, s, price, b->ts);
    }
    paper_working_compact(p);
    paper_state_commit(p);
}
