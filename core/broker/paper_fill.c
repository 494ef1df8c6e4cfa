/* paper_fill: when and at what price the paper broker fills orders.
 *
 * Market orders fill by the model the trader chose (broker.fill, paper_config.fill):
 *
 *   next_open  at the open of the next bar of their symbol that arrives after they were
 *              accepted, before that bar's range is looked at: the signal bar's close is
 *              never a price the strategy could still trade at (backtrader's and
 *              Freqtrade's convention). A cancel asked meanwhile is answered when that
 *              bar has come: the order is already executing, as a real market order would
 *              be long before the cancel reached the venue (see paper.c: paper_cancel).
 *   close      on the next clock turn, at the last bar's close (the signal bar's).
 *
 * Costs are computed exactly, then rounded once. A market fill pays half the spread (the
 * bar's own bid/ask when it has them, else spread_bps) plus slippage_bps, in basis
 * points of the reference price (the close, or the open) exact to 1e-8, and that price is
 * rounded to the NEAREST tick, half to even. So spread and slippage cost what is
 * configured within half a tick either way; rounding against the taker instead made a
 * 2 bps spread on a $3 stock cost a whole cent (33 bps). Stops pay slippage the same way.
 *
 * Within a bar the path of prices is unknown, so when it matters the simulation assumes
 * the worse one (a bar touching both bracket legs fills the stop; legs that become active
 * during a bar wait for the next one). A bar's open is its first price, so legs activated
 * by an entry filled at that open already watch the rest of the same bar. */
#include <stdio.h>
#include <string.h>

#include "broker/paper_internal.h"
#include "util/err.h"
#include "util/log.h"

/* price * bps / divisor, exact to the unit (half to even). */
static money_t bps_of(money_t price, money_t bps, money_t divisor)
{
    money_t out = 0;
    if (bps == 0 || money_muldiv(price, bps, divisor, MONEY_ROUND_NEAREST, &out) != 0)
        return 0;
    return out;
}

/* Rounds a fill price to the nearest tick, half to even, and keeps it positive. */
static money_t tick_round(money_t price, money_t tick)
{
    money_t r = money_round_to(price, tick, MONEY_ROUND_NEAREST);
    return r > 0 ? r : (tick > 0 ? tick : 1);
}

/* A cost moves a buy's price up and a sell's down. */
static money_t taker_side(money_t price, money_t cost, order_side side)
{
    return side == SIDE_BUY ? price + cost : price - cost;
}

/* The exact price, before tick rounding, that a market order pays against bar b: at its
 * open (next_open) or its close. A bar with bid and ask has its own spread: at the close
 * the order takes the quoted side, at the open it pays half of the quoted spread around
 * the open; slippage is then in basis points of that price. Without a quote it pays half
 * of spread_bps plus slippage_bps of the reference price, in one exact step. */
static money_t market_exact(const paper_broker *p, const bar *b, bool at_open, order_side side)
{
    const paper_config *c = &p->cfg;
    money_t ref = at_open ? b->open : b->close;
    if (b->bid > 0 && b->ask > 0) {
        money_t touch;
        if (at_open) {
            money_t half = money_round_to(b->ask - b->bid, 2, MONEY_ROUND_NEAREST) / 2;
            touch = taker_side(ref, half, side);
        } else {
            touch = side == SIDE_BUY ? b->ask : b->bid;
        }
        return taker_side(touch, bps_of(touch, c->slippage_bps, PAPER_BPS_DIVISOR), side);
    }
    money_t bps2 = c->spread_bps + 2 * c->slippage_bps; /* both bounded by the schema */
    return taker_side(ref, bps_of(ref, bps2, 2 * PAPER_BPS_DIVISOR), side);
}

int paper_market_price(const paper_broker *p, const paper_symbol *s, order_side side, money_t *out)
{
    if (!s || !s->has_bar)
        return APEX_ENOTFOUND;
    *out = tick_round(market_exact(p, &s->last, false, side), paper_symbol_rules(s).tick);
    return 0;
}

int paper_estimate(const paper_broker *p, const paper_symbol *s, order_side side, order_type type,
                   money_t ref, money_t qty, broker_cost *out)
{
    money_instrument rules = s ? paper_symbol_rules(s) : p->default_rules;
    out->price = ref;
    if (type == ORDER_MARKET) {
        if (s && s->has_bar) {
            paper_market_price(p, s, side, &out->price);
        } else {
            bar b = {.open = ref, .high = ref, .low = ref, .close = ref};
            out->price = tick_round(market_exact(p, &b, false, side), rules.tick);
        }
    } else if (type == ORDER_STOP) {
        out->price = tick_round(
            taker_side(ref, bps_of(ref, p->cfg.slippage_bps, PAPER_BPS_DIVISOR), side), rules.tick);
    }
    out->fee = paper_fee(p, qty, out->price);
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
        q->bid = tick_round(s->last.close - half, tick);
        q->ask = tick_round(s->last.close + half, tick);
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

/* A waiting market order fills against the symbol's last bar ("close"). */
static void fill_at_last(paper_broker *p, paper_order *o, paper_symbol *s)
{
    money_t price;
    if (paper_market_price(p, s, o->o.side, &price) != 0) {
        paper_order_set_status(p, o, ORDER_STATUS_REJECTED,
                               "no market data for the symbol; feed bars before trading it");
        return;
    }
    fill_order(p, o, s, price, clock_now(p->clock));
}

void paper_fill_pending_markets(paper_broker *p)
{
    if (!p->pending.count)
        return;
    paper_state_begin(p);
    for (int i = 0; i < p->pending.count; i++) {
        paper_order *o = p->pending.items[i];
        if (!o->market_pending || o->o.status != ORDER_STATUS_ACCEPTED)
            continue;
        fill_at_last(p, o, o->sym);
        paper_working_compact(o->sym);
    }
    p->pending.count = 0;
    paper_state_commit(p);
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
    money_t lim = o->o.limit_price, open = tick_round(b->open, tick);
    if (o->o.side == SIDE_BUY) {
        if (b->low > lim)
            return false;
        *out = open < lim ? open : lim;
    } else {
        if (b->high < lim)
            return false;
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
    case ORDER_STOP: {
        if (!stop_touched(o, b))
            return false;
        money_t at = stop_trigger_price(o, b);
        *out = tick_round(
            taker_side(at, bps_of(at, p->cfg.slippage_bps, PAPER_BPS_DIVISOR), o->o.side), tick);
        return true;
    }
    case ORDER_STOP_LIMIT: {
        if (o->triggered)
            return limit_price_for(o, b, tick, out);
        if (!stop_touched(o, b))
            return false;
        o->triggered = true;
        paper_state_save_order(p, o);
        /* Triggered in this bar: it becomes a limit at the trigger price. */
        money_t at = tick_round(stop_trigger_price(o, b), tick);
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
        return false; /* filled at the open or on the clock turn, not by the range */
    }
    return false;
}

/* Bars whose prices may wait in memory before they are written (see paper_process_bar). */
#define PAPER_FLUSH_BARS 1024

static void set_last(paper_broker *p, paper_symbol *s, const bar *b)
{
    s->last = *b;
    s->has_bar = true;
    if (s->qty || s->value)
        paper_revalue(p, s);
    paper_state_mark_dirty(p, s);
    paper_roll_day(p, b->ts);
}

/* Market orders that were waiting when this bar arrived. next_open: this is their bar,
 * they fill at its open. close: they were sent before it, against the last price, and
 * fill there, as they would have on the clock turn. */
static void fill_waiting_markets(paper_broker *p, paper_symbol *s, const bar *b)
{
    money_t tick = paper_symbol_rules(s).tick;
    int n = s->working.count;
    for (int i = 0; i < n; i++) {
        paper_order *o = s->working.items[i];
        if (!o->market_pending || o->o.status != ORDER_STATUS_ACCEPTED)
            continue;
        if (p->cfg.fill == PAPER_FILL_CLOSE)
            fill_at_last(p, o, s);
        else
            fill_order(p, o, s, tick_round(market_exact(p, b, true, o->o.side), tick), b->ts);
    }
}

void paper_process_bar(paper_broker *p, paper_symbol *s, const bar *b)
{
    if (s->has_bar && b->ts <= s->last.ts)
        return; /* a replayed bar: this account has already lived through it */
    /* Most bars touch no order: their symbol has none working. Their prices stay in
     * memory and are written with the next event's transaction or every PAPER_FLUSH_BARS
     * bars, instead of one transaction per bar: after a crash the account's last prices
     * are at most that many bars old, and the host's replay cursor re-feeds those bars. */
    if (s->working.count == 0) {
        set_last(p, s, b);
        if (++p->unsaved_bars >= PAPER_FLUSH_BARS && p->db) {
            paper_state_begin(p);
            paper_state_commit(p);
        }
        return;
    }
    paper_state_begin(p);
    fill_waiting_markets(p, s, b);
    set_last(p, s, b);
    p->unsaved_bars++;

    money_t tick = paper_symbol_rules(s).tick;
    int n = s->working.count; /* a fill changes statuses, never the list */
    for (int i = 0; i < n; i++) {
        paper_order *o = s->working.items[i];
        if (o->o.status != ORDER_STATUS_ACCEPTED || o->market_pending)
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
    paper_working_compact(s);
    paper_state_commit(p);
}
