/* paper: the embedded paper broker's requests (the broker_ops vtable).
 *
 * Each request changes the account at once, inside one SQLite transaction, and
 * queues its reply; listener notifications it causes are queued after the reply,
 * so a host sees "accepted" before it sees what happened to the order next. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/paper_internal.h"
#include "util/assert.h"
#include "util/container.h"
#include "util/err.h"
#include "util/log.h"

static const broker_ops paper_ops;

static paper_broker *as_paper(broker *b)
{
    return container_of(b, paper_broker, base);
}

/* ---- symbols ---------------------------------------------------------------------------- */

paper_symbol *paper_symbol_find(paper_broker *p, const char *name)
{
    const hmap_entry *e = hmap_find_str(&p->symbol_ids, name);
    return e ? e->value.ptr : NULL;
}

paper_symbol *paper_symbol_get(paper_broker *p, const char *name)
{
    paper_symbol *s = paper_symbol_find(p, name);
    if (s)
        return s;
    if (strlen(name) >= SYMBOL_MAX)
        return NULL;
    s = calloc(1, sizeof *s);
    /* The dirty list gets room for every symbol here, so marking one never allocates. */
    if (!s || vec_reserve(&p->symbols, p->symbols.count + 1) != APEX_OK ||
        vec_reserve(&p->dirty, p->symbols.count + 1) != APEX_OK) {
        free(s);
        return NULL;
    }
    snprintf(s->name, sizeof s->name, "%s", name);
    s->rules = p->default_rules;
    s->opened_day = -1;
    if (hmap_insert(&p->symbol_ids, s->name, strlen(s->name), (hmap_value){.ptr = s}) != APEX_OK) {
        free(s);
        return NULL;
    }
    p->symbols.items[p->symbols.count++] = s;
    return s;
}

money_instrument paper_symbol_rules(const paper_symbol *s)
{
    return s->rules;
}

/* ---- orders ----------------------------------------------------------------------------- */

paper_order *paper_order_find(paper_broker *p, const char *client_order_id)
{
    const hmap_entry *e = hmap_find_str(&p->order_ids, client_order_id);
    return e ? e->value.ptr : NULL;
}

int paper_order_add(paper_broker *p, paper_order *o)
{
    bool working = !order_status_is_final(o->o.status);
    bool pending = working && o->market_pending && p->cfg.fill == PAPER_FILL_CLOSE;
    paper_symbol *s = working ? paper_symbol_get(p, o->o.symbol) : NULL;
    /* Room first, so a failure leaves every structure as it was. */
    if ((working && !s) || vec_reserve(&p->orders, p->orders.count + 1) != APEX_OK ||
        (working && vec_reserve(&s->working, s->working.count + 1) != APEX_OK) ||
        (pending && vec_reserve(&p->pending, p->pending.count + 1) != APEX_OK))
        return APEX_ENOMEM;
    /* The key is the order's own id field: it lives as long as the order, which is never
     * freed before the broker. */
    const char *id = o->o.client_order_id;
    int rc = hmap_insert(&p->order_ids, id, strlen(id), (hmap_value){.ptr = o});
    /* Callers look for a duplicate first and the file's column is UNIQUE. */
    APEX_ASSERT(rc != APEX_EDUP);
    if (rc != APEX_OK)
        return rc;
    p->orders.items[p->orders.count++] = o;
    o->sym = s;
    if (working)
        s->working.items[s->working.count++] = o;
    if (pending)
        p->pending.items[p->pending.count++] = o;
    return 0;
}

/* An account kept only in memory (a backtest's) would otherwise hold every order and fill
 * of the run: 2.5 KB a trade, 117 MB after 45,000 trades. It keeps the newest
 * PAPER_RETAIN orders and fills and forgets final orders older than that, which nothing
 * asks about again: the host's cancels and lookups concern working orders, and
 * reconciliation by id happens only when a file-backed account is reopened. A forgotten
 * id would not be refused as a duplicate; the host never repeats one (ids are derived and
 * recorded before they are sent). */
#define PAPER_RETAIN 4096

static bool still_working(const paper_order *o)
{
    for (int i = 0; o->sym && i < o->sym->working.count; i++)
        if (o->sym->working.items[i] == o)
            return true;
    return false;
}

static void paper_forget_old(paper_broker *p)
{
    if (p->db || p->pending.count)
        return;
    if (p->fills.count >= 2 * PAPER_RETAIN) {
        int drop = p->fills.count - PAPER_RETAIN;
        memmove(p->fills.items, p->fills.items + drop,
                (size_t)PAPER_RETAIN * sizeof *p->fills.items);
        p->fills.count = PAPER_RETAIN;
    }
    if (p->orders.count < 2 * PAPER_RETAIN || p->orders.count < p->forget_at)
        return;
    int old = p->orders.count - PAPER_RETAIN, n = 0;
    for (int i = 0; i < p->orders.count; i++) {
        paper_order *o = p->orders.items[i];
        if (i < old && order_status_is_final(o->o.status) && !o->cancel_reply &&
            !o->market_pending && !still_working(o)) {
            hmap_remove(&p->order_ids, o->o.client_order_id, strlen(o->o.client_order_id));
            free(o);
            continue;
        }
        p->orders.items[n++] = o;
    }
    p->orders.count = n;
    /* Orders still working (10,000 open positions' legs) stay: the next pass waits for
     * PAPER_RETAIN more orders, so the cost stays O(1) per order, never per bar. */
    p->forget_at = n + PAPER_RETAIN;
}

void paper_working_compact(paper_symbol *s)
{
    if (!s)
        return;
    int n = 0;
    for (int i = 0; i < s->working.count; i++)
        if (!order_status_is_final(s->working.items[i]->o.status))
            s->working.items[n++] = s->working.items[i];
    s->working.count = n;
}

void paper_answer_deferred_cancel(paper_broker *p, paper_order *o)
{
    paper_event *ev = o->cancel_reply;
    if (!ev || !order_status_is_final(o->o.status))
        return;
    o->cancel_reply = NULL;
    char msg[256];
    bool cancelled = o->o.status == ORDER_STATUS_CANCELLED;
    if (!cancelled)
        snprintf(msg, sizeof msg,
                 "order %s is already %s: a market order executes at the next bar's open, "
                 "before a cancel can reach it",
                 o->o.client_order_id, order_status_name(o->o.status));
    paper_reply_send(p, ev, ev->cb, ev->ud, cancelled ? 0 : APEX_ESTATE, cancelled ? NULL : msg,
                     &o->o);
}

/* Changes the status and persists it, without notifying (callers order the notices). */
static void apply_status(paper_broker *p, paper_order *o, order_status st, const char *reason)
{
    o->o.status = st;
    o->o.updated_at = clock_now(p->clock);
    if (st != ORDER_STATUS_ACCEPTED)
        o->market_pending = false;
    if (reason)
        snprintf(o->o.reason, sizeof o->o.reason, "%s", reason);
    paper_state_save_order(p, o);
}

void paper_order_set_status(paper_broker *p, paper_order *o, order_status st, const char *reason)
{
    apply_status(p, o, st, reason);
    paper_queue_order_update(p, &o->o);
    paper_answer_deferred_cancel(p, o);
}

/* The leg of the bracket whose entry id is parent, if it exists and belongs to it. */
static paper_order *leg_by_parent(paper_broker *p, const char *parent, order_role role)
{
    char id[BROKER_ID_MAX + 8];
    if (order_leg_id(parent, role, id, sizeof id) != 0)
        return NULL;
    paper_order *leg = paper_order_find(p, id);
    return leg && strcmp(leg->o.parent_client_order_id, parent) == 0 ? leg : NULL;
}

paper_order *paper_leg_of(paper_broker *p, const paper_order *entry, order_role role)
{
    return leg_by_parent(p, entry->o.client_order_id, role);
}

paper_order *paper_order_sibling(paper_broker *p, const paper_order *leg)
{
    if (leg->o.role != ORDER_ROLE_TAKE_PROFIT && leg->o.role != ORDER_ROLE_STOP_LOSS)
        return NULL;
    order_role other =
        leg->o.role == ORDER_ROLE_TAKE_PROFIT ? ORDER_ROLE_STOP_LOSS : ORDER_ROLE_TAKE_PROFIT;
    return leg_by_parent(p, leg->o.parent_client_order_id, other);
}

void paper_cancel_related(paper_broker *p, paper_order *o, const char *reason)
{
    if (o->o.role == ORDER_ROLE_TAKE_PROFIT || o->o.role == ORDER_ROLE_STOP_LOSS) {
        paper_order *sib = paper_order_sibling(p, o);
        if (sib && !order_status_is_final(sib->o.status))
            paper_order_set_status(p, sib, ORDER_STATUS_CANCELLED, reason);
        return;
    }
    static const order_role legs[] = {ORDER_ROLE_TAKE_PROFIT, ORDER_ROLE_STOP_LOSS};
    for (int i = 0; i < 2; i++) {
        paper_order *leg = paper_leg_of(p, o, legs[i]);
        if (leg && !order_status_is_final(leg->o.status))
            paper_order_set_status(p, leg, ORDER_STATUS_CANCELLED, reason);
    }
}

static paper_order *order_new(paper_broker *p, const char *client_order_id, const char *symbol,
                              order_side side, order_type type, order_role role, money_t qty)
{
    paper_order *o = calloc(1, sizeof *o);
    if (!o)
        return NULL;
    o->seq = p->next_seq++;
    snprintf(o->o.client_order_id, sizeof o->o.client_order_id, "%s", client_order_id);
    snprintf(o->o.broker_order_id, sizeof o->o.broker_order_id, "paper-%lld", (long long)o->seq);
    snprintf(o->o.symbol, sizeof o->o.symbol, "%s", symbol);
    o->o.side = side;
    o->o.type = type;
    o->o.role = role;
    o->o.qty = qty;
    o->o.status = ORDER_STATUS_NEW;
    o->o.created_at = o->o.updated_at = clock_now(p->clock);
    return o;
}

/* ---- validation ------------------------------------------------------------------------- */

static const char *fmt(money_t v, char *buf)
{
    return money_format_trim(v, 2, buf, 32);
}

static bool check_price(const char *field, money_t v, money_t tick, const char *symbol, char *why,
                        size_t n)
{
    char a[32], b[32];
    if (v <= 0) {
        snprintf(why, n, "%s must be greater than 0 (got %s)", field, fmt(v, a));
        return false;
    }
    if (!money_is_multiple(v, tick)) {
        snprintf(why, n, "%s %s is not on %s's tick %s; round it to the tick", field, fmt(v, a),
                 symbol, fmt(tick, b));
        return false;
    }
    return true;
}

/* The price an order is judged at: where it would trade if it executed now. */
static money_t reference_price(const paper_broker *p, const order_request *r, const paper_symbol *s)
{
    if (r->type == ORDER_LIMIT || r->type == ORDER_STOP_LIMIT)
        return r->limit_price;
    if (r->type == ORDER_STOP)
        return r->stop_price;
    money_t px = s->last.close;
    paper_market_price(p, s, r->side, &px);
    return px;
}

static bool check_buying_power(const paper_broker *p, const order_request *r, const paper_symbol *s,
                               char *why, size_t n)
{
    /* Only the part that opens or grows a position needs buying power; closing is
     * always allowed, so a trader can get out of any position. */
    money_t held = s->qty;
    money_t closing = 0;
    if (r->side == SIDE_BUY && held < 0)
        closing = r->qty < -held ? r->qty : -held;
    if (r->side == SIDE_SELL && held > 0)
        closing = r->qty < held ? r->qty : held;
    money_t opening = r->qty - closing;
    if (opening <= 0)
        return true;
    /* The fee is paid from the same cash, so it must fit too. */
    money_t price = reference_price(p, r, s), notional;
    if (money_mul(opening, price, MONEY_ROUND_UP, &notional) != 0 ||
        money_add(notional, paper_fee(p, opening, price), &notional) != 0)
        notional = MONEY_MAX;
    bool is_long = r->side == SIDE_BUY;
    money_t bp = is_long ? paper_long_buying_power(p) : paper_short_buying_power(p);
    if (notional <= bp)
        return true;
    char q[32], px[32], need[32], have[32];
    snprintf(why, n,
             "insufficient buying power: %s %s %s at %s needs %s but %s is available (%s); "
             "reduce the quantity",
             order_side_name(r->side), money_format_trim(opening, 0, q, sizeof q), r->symbol,
             fmt(price, px), fmt(notional, need), fmt(bp, have),
             is_long ? "cash, no margin" : "equity less open shorts, no leverage");
    return false;
}

static bool validate(const paper_broker *p, const order_request *r, const paper_symbol *s,
                     char *why, size_t n)
{
    money_instrument rules = s ? s->rules : p->default_rules;
    char a[32], b[32], c[32];
    if (r->side != SIDE_BUY && r->side != SIDE_SELL) {
        snprintf(why, n, "side must be buy or sell");
        return false;
    }
    if ((int)r->type < ORDER_MARKET || (int)r->type > ORDER_STOP_LIMIT) {
        snprintf(why, n, "type must be market, limit, stop or stop_limit");
        return false;
    }
    if (r->qty <= 0) {
        snprintf(why, n, "qty must be greater than 0 (got %s)", fmt(r->qty, a));
        return false;
    }
    if (!money_is_multiple(r->qty, rules.lot)) {
        snprintf(why, n, "qty %s is not a multiple of %s's lot size %s; round it to the lot",
                 money_format_trim(r->qty, 0, a, sizeof a), r->symbol,
                 money_format_trim(rules.lot, 0, b, sizeof b));
        return false;
    }
    if ((r->type == ORDER_LIMIT || r->type == ORDER_STOP_LIMIT) &&
        !check_price("limit_price", r->limit_price, rules.tick, r->symbol, why, n))
        return false;
    if ((r->type == ORDER_STOP || r->type == ORDER_STOP_LIMIT) &&
        !check_price("stop_price", r->stop_price, rules.tick, r->symbol, why, n))
        return false;
    if (r->take_profit &&
        !check_price("take_profit", r->take_profit, rules.tick, r->symbol, why, n))
        return false;
    if (r->stop_loss && !check_price("stop_loss", r->stop_loss, rules.tick, r->symbol, why, n))
        return false;
    if (!s || !s->has_bar) {
        snprintf(why, n,
                 "no market data for %s yet; the paper broker needs a price (a bar) "
                 "before it can trade a symbol",
                 r->symbol);
        return false;
    }
    if (r->take_profit || r->stop_loss) {
        money_t ref = reference_price(p, r, s);
        bool buy = r->side == SIDE_BUY;
        if (r->stop_loss && (buy ? r->stop_loss >= ref : r->stop_loss <= ref)) {
            snprintf(why, n, "stop_loss %s must be %s the entry price %s for a %s bracket",
                     fmt(r->stop_loss, a), buy ? "below" : "above", fmt(ref, b),
                     order_side_name(r->side));
            return false;
        }
        if (r->take_profit && (buy ? r->take_profit <= ref : r->take_profit >= ref)) {
            snprintf(why, n, "take_profit %s must be %s the entry price %s for a %s bracket",
                     fmt(r->take_profit, a), buy ? "above" : "below", fmt(ref, c),
                     order_side_name(r->side));
            return false;
        }
    }
    return check_buying_power(p, r, s, why, n);
}

/* ---- requests --------------------------------------------------------------------------- */

static bool id_ok(const char *id, size_t room)
{
    return id && id[0] && strnlen(id, BROKER_ID_MAX) + room < BROKER_ID_MAX;
}

static bool symbol_ok(const char *sym)
{
    return sym && sym[0] && strnlen(sym, SYMBOL_MAX) < SYMBOL_MAX;
}

static int reply_duplicate(paper_broker *p, const paper_order *existing, broker_cb cb, void *ud)
{
    char msg[256];
    snprintf(msg, sizeof msg,
             "client order id %s was already used by this account (order %s, %s); use a new id",
             existing->o.client_order_id, existing->o.broker_order_id,
             order_status_name(existing->o.status));
    return paper_queue_reply(p, cb, ud, APEX_EDUP, msg, &existing->o);
}

static paper_order *make_leg(paper_broker *p, const paper_order *entry, order_role role,
                             money_t price)
{
    char id[BROKER_ID_MAX + 8];
    if (order_leg_id(entry->o.client_order_id, role, id, sizeof id) != 0)
        return NULL;
    order_side side = order_side_opposite(entry->o.side);
    order_type type = role == ORDER_ROLE_TAKE_PROFIT ? ORDER_LIMIT : ORDER_STOP;
    paper_order *leg = order_new(p, id, entry->o.symbol, side, type, role, entry->o.qty);
    if (!leg)
        return NULL;
    memcpy(leg->o.parent_client_order_id, entry->o.client_order_id,
           sizeof leg->o.parent_client_order_id);
    if (type == ORDER_LIMIT)
        leg->o.limit_price = price;
    else
        leg->o.stop_price = price;
    leg->o.status = ORDER_STATUS_HELD;
    if (paper_order_add(p, leg) != 0) {
        free(leg);
        return NULL;
    }
    paper_state_save_order(p, leg);
    return leg;
}

static int paper_submit(broker *b, const order_request *r, broker_cb cb, void *ud)
{
    paper_broker *p = as_paper(b);
    bool bracket = r && (r->take_profit != 0 || r->stop_loss != 0);
    if (!r || !id_ok(r->client_order_id, bracket ? 3 : 0) || !symbol_ok(r->symbol)) {
        log_warn("paper broker: submit_order needs a symbol and a client order id of at most "
                 "%d characters (60 for brackets)",
                 BROKER_ID_MAX - 1);
        return APEX_EINVAL;
    }
    paper_order *dup = paper_order_find(p, r->client_order_id);
    if (!dup && bracket) {
        char id[BROKER_ID_MAX + 8];
        if (order_leg_id(r->client_order_id, ORDER_ROLE_TAKE_PROFIT, id, sizeof id) == 0)
            dup = paper_order_find(p, id);
        if (!dup && order_leg_id(r->client_order_id, ORDER_ROLE_STOP_LOSS, id, sizeof id) == 0)
            dup = paper_order_find(p, id);
    }
    if (dup)
        return reply_duplicate(p, dup, cb, ud);

    /* The reply is allocated first: once this returns 0 the caller's callback must run
     * exactly once, whatever memory is left. */
    paper_event *reply = paper_reply_reserve(p);
    if (!reply)
        return APEX_ENOMEM;
    paper_symbol *s = paper_symbol_find(p, r->symbol);
    paper_order *o = order_new(p, r->client_order_id, r->symbol, r->side, r->type, r->role, r->qty);
    if (!o) {
        free(reply);
        return APEX_ENOMEM;
    }
    o->o.limit_price = r->limit_price;
    o->o.stop_price = r->stop_price;
    o->take_profit = r->take_profit;
    o->stop_loss = r->stop_loss;

    char why[240];
    bool ok = validate(p, r, s, why, sizeof why);
    o->o.status = ok ? ORDER_STATUS_ACCEPTED : ORDER_STATUS_REJECTED;
    o->market_pending = ok && r->type == ORDER_MARKET;
    if (!ok)
        snprintf(o->o.reason, sizeof o->o.reason, "%.127s", why);
    if (paper_order_add(p, o) != 0) {
        free(o);
        free(reply);
        return APEX_ENOMEM;
    }

    paper_state_begin(p);
    paper_state_save_order(p, o);
    paper_order *legs[2] = {NULL, NULL};
    if (ok && r->take_profit)
        legs[0] = make_leg(p, o, ORDER_ROLE_TAKE_PROFIT, r->take_profit);
    if (ok && r->stop_loss)
        legs[1] = make_leg(p, o, ORDER_ROLE_STOP_LOSS, r->stop_loss);
    if (ok && ((r->take_profit && !legs[0]) || (r->stop_loss && !legs[1]))) {
        /* Never a bracket without its protection: a leg that cannot be created (out of
         * memory) refuses the whole order, and a leg already made goes with it. */
        ok = false;
        snprintf(why, sizeof why, "out of memory creating the bracket's legs; nothing placed");
        apply_status(p, o, ORDER_STATUS_REJECTED, why);
        for (int i = 0; i < 2; i++)
            if (legs[i])
                apply_status(p, legs[i], ORDER_STATUS_REJECTED, why);
        paper_working_compact(o->sym);
    }
    paper_state_commit(p);

    if (!ok) {
        char msg[320];
        snprintf(msg, sizeof msg, "order %s rejected: %s", o->o.client_order_id, why);
        log_info("paper: %s", msg);
        paper_reply_send(p, reply, cb, ud, APEX_EREJECTED, msg, &o->o);
    } else {
        paper_reply_send(p, reply, cb, ud, 0, NULL, &o->o);
    }
    paper_queue_order_update(p, &o->o);
    for (int i = 0; i < 2; i++)
        if (legs[i])
            paper_queue_order_update(p, &legs[i]->o);
    return 0;
}

static int reply_not_found(paper_broker *p, broker_cb cb, void *ud, const char *id)
{
    char msg[256];
    snprintf(msg, sizeof msg, "no order with client order id %.64s at the paper broker", id);
    return paper_queue_reply(p, cb, ud, APEX_ENOTFOUND, msg, NULL);
}

static int paper_cancel(broker *b, const char *id, broker_cb cb, void *ud)
{
    paper_broker *p = as_paper(b);
    if (!id_ok(id, 0))
        return APEX_EINVAL;
    paper_order *o = paper_order_find(p, id);
    if (!o)
        return reply_not_found(p, cb, ud, id);
    if (order_status_is_final(o->o.status)) {
        char msg[256];
        snprintf(msg, sizeof msg, "order %s is already %s; there is nothing to cancel",
                 o->o.client_order_id, order_status_name(o->o.status));
        return paper_queue_reply(p, cb, ud, APEX_ESTATE, msg, &o->o);
    }
    paper_event *reply = paper_reply_reserve(p); /* before anything changes */
    if (!reply)
        return APEX_ENOMEM;
    if (o->market_pending && p->cfg.fill == PAPER_FILL_NEXT_OPEN) {
        /* The order is executing at the next bar's open: a real market order would have
         * filled long before the cancel reached the venue, so the cancel cannot win. It
         * is answered once that bar has decided the order (paper_answer_deferred_cancel),
         * after its fill, so an exit that timed out sees the fill, not a second chance. */
        if (o->cancel_reply) {
            free(reply);
            return paper_queue_reply(p, cb, ud, APEX_ESTATE,
                                     "a cancel of this market order is already waiting for the "
                                     "next bar's open",
                                     &o->o);
        }
        reply->cb = cb;
        reply->ud = ud;
        o->cancel_reply = reply;
        return 0;
    }
    paper_state_begin(p);
    apply_status(p, o, ORDER_STATUS_CANCELLED, "cancelled by request");
    paper_reply_send(p, reply, cb, ud, 0, NULL, &o->o);
    paper_queue_order_update(p, &o->o);
    if (o->o.role == ORDER_ROLE_ENTRY) {
        char why[128];
        snprintf(why, sizeof why, "parent %.60s was cancelled", o->o.client_order_id);
        paper_cancel_related(p, o, why);
    }
    paper_working_compact(o->sym);
    paper_state_commit(p);
    return 0;
}

static int paper_get_order(broker *b, const char *id, broker_cb cb, void *ud)
{
    paper_broker *p = as_paper(b);
    if (!id_ok(id, 0))
        return APEX_EINVAL;
    paper_order *o = paper_order_find(p, id);
    return o ? paper_queue_reply(p, cb, ud, 0, NULL, &o->o) : reply_not_found(p, cb, ud, id);
}

/* The symbols a request names: the one symbol (none when unknown), or every symbol when
 * symbol is NULL. Returns how many; *from points at them (at *one for a single symbol). */
static int symbols_for(paper_broker *p, const char *symbol, paper_symbol **one,
                       paper_symbol *const **from)
{
    if (!symbol) {
        *from = p->symbols.items;
        return p->symbols.count;
    }
    *one = paper_symbol_find(p, symbol);
    *from = one;
    return *one != NULL;
}

static int by_seq(const void *a, const void *b)
{
    int64_t x = (*(const paper_order *const *)a)->seq, y = (*(const paper_order *const *)b)->seq;
    return (x > y) - (x < y);
}

/* Open orders in creation order: one symbol's from its own list, all of them gathered from
 * every symbol's. */
static int paper_list_open_orders(broker *b, const char *symbol, broker_cb cb, void *ud)
{
    paper_broker *p = as_paper(b);
    paper_symbol *only, *const *from;
    int nfrom = symbols_for(p, symbol, &only, &from);
    size_t n = 0;
    for (int i = 0; i < nfrom; i++)
        n += (size_t)from[i]->working.count;
    paper_order **found = n ? calloc(n, sizeof *found) : NULL;
    paper_event *ev = paper_reply_reserve(p);
    if (!ev || (n && !found) || (n && !(ev->orders = calloc(n, sizeof *ev->orders)))) {
        free(found);
        free(ev);
        return APEX_ENOMEM;
    }
    ev->cb = cb;
    ev->ud = ud;
    size_t k = 0;
    for (int i = 0; i < nfrom; i++)
        for (int j = 0; j < from[i]->working.count; j++)
            if (!order_status_is_final(from[i]->working.items[j]->o.status))
                found[k++] = from[i]->working.items[j];
    if (k > 1)
        qsort(found, k, sizeof *found, by_seq);
    for (size_t i = 0; i < k; i++)
        ev->orders[ev->norders++] = found[i]->o;
    free(found);
    paper_event_push(p, ev);
    return 0;
}

/* Every fill of one order, oldest first: what a restarted host asks for when it missed
 * fills while it was down. */
static int paper_list_fills(broker *b, const char *id, broker_cb cb, void *ud)
{
    paper_broker *p = as_paper(b);
    if (!id_ok(id, 0))
        return APEX_EINVAL;
    if (!paper_order_find(p, id)) {
        reply_not_found(p, cb, ud, id);
        return 0;
    }
    paper_event *ev = paper_reply_reserve(p);
    if (!ev)
        return APEX_ENOMEM;
    ev->cb = cb;
    ev->ud = ud;
    for (int i = 0; i < p->fills.count; i++) {
        if (strcmp(p->fills.items[i].client_order_id, id) != 0)
            continue;
        if (vec_push(&ev->fills, p->fills.items[i]) != APEX_OK) {
            vec_free(&ev->fills);
            free(ev);
            return APEX_ENOMEM;
        }
    }
    paper_event_push(p, ev);
    return 0;
}

/* One symbol's position (its own entry, no pass over the others) or every open one. */
static int positions_reply(paper_broker *p, const char *symbol, broker_cb cb, void *ud)
{
    paper_symbol *only, *const *from;
    int nfrom = symbols_for(p, symbol, &only, &from);
    paper_event *ev = paper_reply_reserve(p);
    if (!ev)
        return APEX_ENOMEM;
    ev->cb = cb;
    ev->ud = ud;
    if (nfrom) {
        ev->positions = calloc((size_t)nfrom, sizeof *ev->positions);
        if (!ev->positions) {
            free(ev);
            return APEX_ENOMEM;
        }
    }
    for (int i = 0; i < nfrom; i++)
        if (from[i]->qty != 0)
            paper_position_snapshot(from[i], &ev->positions[ev->npositions++]);
    paper_event_push(p, ev);
    return 0;
}

static int paper_get_position(broker *b, const char *symbol, broker_cb cb, void *ud)
{
    if (!symbol_ok(symbol))
        return APEX_EINVAL;
    return positions_reply(as_paper(b), symbol, cb, ud);
}

static int paper_list_positions(broker *b, broker_cb cb, void *ud)
{
    return positions_reply(as_paper(b), NULL, cb, ud);
}

static int paper_get_account(broker *b, broker_cb cb, void *ud)
{
    paper_broker *p = as_paper(b);
    paper_event *ev = paper_reply_reserve(p);
    if (!ev)
        return APEX_ENOMEM;
    ev->cb = cb;
    ev->ud = ud;
    ev->has_account = true;
    paper_account_snapshot(p, &ev->account);
    paper_event_push(p, ev);
    return 0;
}

static int paper_get_quotes(broker *b, const char *const *symbols, int n, broker_cb cb, void *ud)
{
    paper_broker *p = as_paper(b);
    if (n < 0 || (n > 0 && !symbols))
        return APEX_EINVAL;
    paper_event *ev = paper_reply_reserve(p);
    if (!ev)
        return APEX_ENOMEM;
    ev->cb = cb;
    ev->ud = ud;
    if (n > 0 && !(ev->quotes = calloc((size_t)n, sizeof *ev->quotes))) {
        free(ev);
        return APEX_ENOMEM;
    }
    ev->nquotes = n;
    size_t used = 0;
    for (int i = 0; i < n; i++) {
        const char *name = symbols[i] ? symbols[i] : "";
        paper_symbol *s = paper_symbol_find(p, name);
        if (s && s->has_bar) {
            paper_quote_of(p, s, &ev->quotes[i]);
            continue;
        }
        snprintf(ev->quotes[i].symbol, sizeof ev->quotes[i].symbol, "%s", name);
        if (ev->status == 0) {
            ev->status = APEX_ENOTFOUND;
            used = (size_t)snprintf(ev->error, sizeof ev->error,
                                    "no market data at the paper broker for: %s", name);
        } else if (used < sizeof ev->error) {
            used += (size_t)snprintf(ev->error + used, sizeof ev->error - used, ", %s", name);
        }
    }
    paper_event_push(p, ev);
    return 0;
}

static int paper_close_position(broker *b, const char *symbol, const char *id, broker_cb cb,
                                void *ud)
{
    paper_broker *p = as_paper(b);
    if (!symbol_ok(symbol) || !id_ok(id, 0))
        return APEX_EINVAL;
    paper_symbol *s = paper_symbol_find(p, symbol);
    if (!s || s->qty == 0) {
        char msg[256];
        snprintf(msg, sizeof msg, "no open position in %s to close", symbol);
        return paper_queue_reply(p, cb, ud, APEX_ENOTFOUND, msg, NULL);
    }
    paper_order *dup = paper_order_find(p, id);
    if (dup)
        return reply_duplicate(p, dup, cb, ud);
    order_side side = s->qty > 0 ? SIDE_SELL : SIDE_BUY;
    paper_order *o = order_new(p, id, symbol, side, ORDER_MARKET, ORDER_ROLE_EXIT,
                               s->qty > 0 ? s->qty : -s->qty);
    paper_order **cancelled = calloc((size_t)s->working.count + 1, sizeof *cancelled);
    paper_event *reply = paper_reply_reserve(p); /* before anything changes */
    if (!o || !cancelled || !reply) {
        free(o);
        free(cancelled);
        free(reply);
        return APEX_ENOMEM;
    }
    paper_state_begin(p);
    int ncancelled = 0;
    char why[128];
    snprintf(why, sizeof why, "cancelled to close the %s position (%.40s)", symbol, id);
    for (int i = 0; i < s->working.count; i++) {
        paper_order *w = s->working.items[i];
        if (!order_status_is_final(w->o.status)) {
            apply_status(p, w, ORDER_STATUS_CANCELLED, why);
            cancelled[ncancelled++] = w;
        }
    }
    o->o.status = ORDER_STATUS_ACCEPTED;
    o->market_pending = true;
    if (paper_order_add(p, o) != 0) {
        free(o);
        o = NULL;
    } else {
        paper_state_save_order(p, o);
    }
    paper_working_compact(s);
    paper_state_commit(p);

    if (!o) {
        free(cancelled);
        paper_reply_send(p, reply, cb, ud, APEX_ENOMEM, "out of memory creating the closing order",
                         NULL);
        return 0;
    }
    paper_reply_send(p, reply, cb, ud, 0, NULL, &o->o);
    for (int i = 0; i < ncancelled; i++) {
        paper_queue_order_update(p, &cancelled[i]->o);
        paper_answer_deferred_cancel(p, cancelled[i]);
    }
    paper_queue_order_update(p, &o->o);
    free(cancelled);
    return 0;
}

apex_time paper_broker_last_bar_time(broker *b)
{
    return b && b->ops == &paper_ops ? as_paper(b)->last_bar_ts : 0;
}

void paper_broker_deliver_now(broker *b)
{
    if (b && b->ops == &paper_ops)
        paper_events_deliver_now(as_paper(b));
}

int paper_broker_quote(broker *b, const char *symbol, broker_quote *out)
{
    if (!b || b->ops != &paper_ops)
        return APEX_ENOTFOUND;
    paper_broker *p = as_paper(b);
    const paper_symbol *s = paper_symbol_find(p, symbol);
    if (!s || !s->has_bar)
        return APEX_ENOTFOUND;
    paper_quote_of(p, s, out);
    return 0;
}

void paper_broker_on_bar(broker *b, const bar *data, const char *symbol)
{
    if (!b || b->ops != &paper_ops)
        return;
    paper_broker *p = as_paper(b);
    if (!data || !symbol_ok(symbol)) {
        log_warn("paper broker: a bar without a valid symbol was ignored");
        return;
    }
    if (!p->db && ((p->orders.count >= 2 * PAPER_RETAIN && p->orders.count >= p->forget_at) ||
                   p->fills.count >= 2 * PAPER_RETAIN))
        paper_forget_old(p); /* between bars: nothing is half done */
    paper_symbol *s = paper_symbol_get(p, symbol);
    if (!s) {
        log_error("paper broker: out of memory tracking %s; its bar was ignored", symbol);
        return;
    }
    paper_process_bar(p, s, data);
}

static int paper_estimate_cost(broker *b, const char *symbol, order_side side, order_type type,
                               money_t ref, money_t qty, broker_cost *out)
{
    paper_broker *p = as_paper(b);
    return paper_estimate(p, paper_symbol_find(p, symbol), side, type, ref, qty, out);
}

static void paper_free(broker *b)
{
    paper_broker *p = as_paper(b);
    paper_events_free(p);
    paper_state_close(p);
    for (int i = 0; i < p->orders.count; i++) {
        free(p->orders.items[i]->cancel_reply); /* a freed broker drops the replies it owed */
        free(p->orders.items[i]);
    }
    vec_free(&p->orders);
    hmap_free(&p->order_ids);
    vec_free(&p->pending);
    for (int i = 0; i < p->symbols.count; i++) {
        vec_free(&p->symbols.items[i]->working);
        free(p->symbols.items[i]);
    }
    vec_free(&p->dirty);
    vec_free(&p->symbols);
    hmap_free(&p->symbol_ids);
    vec_free(&p->day_trades);
    vec_free(&p->fills);
    free(p);
}

static const broker_ops paper_ops = {
    .name = "paper",
    .submit_order = paper_submit,
    .cancel_order = paper_cancel,
    .get_order = paper_get_order,
    .list_open_orders = paper_list_open_orders,
    .get_position = paper_get_position,
    .list_positions = paper_list_positions,
    .get_account = paper_get_account,
    .get_quotes = paper_get_quotes,
    .close_position = paper_close_position,
    .list_fills = paper_list_fills,
    .estimate_cost = paper_estimate_cost,
    .free = paper_free,
};

static int check_config(const paper_config *c, char *err, size_t errlen)
{
    struct {
        const char *name;
        money_t v;
    } fields[] = {{"starting_cash", c->starting_cash},
                  {"spread_bps", c->spread_bps},
                  {"slippage_bps", c->slippage_bps},
                  {"fee_per_share", c->fee_per_share},
                  {"fee_bps", c->fee_bps},
                  {"fee_min", c->fee_min}};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (fields[i].v < 0)
            return err_set(err, errlen, APEX_EINVAL,
                           "broker.paper.%s must not be negative; set it to 0 or more",
                           fields[i].name);
    return 0;
}

broker *paper_broker_new(const paper_config *cfg, const char *state_path, apex_clock *clock,
                         char *err, size_t errlen)
{
    if (!cfg || !clock) {
        err_set(err, errlen, APEX_EINVAL, "paper broker: a config and a clock are required");
        return NULL;
    }
    if (check_config(cfg, err, errlen) != 0)
        return NULL;
    paper_broker *p = calloc(1, sizeof *p);
    if (!p) {
        err_set(err, errlen, APEX_ENOMEM, "paper broker: out of memory");
        return NULL;
    }
    p->base.ops = &paper_ops;
    p->cfg = *cfg;
    p->clock = clock;
    p->default_rules = MONEY_INSTRUMENT_DEFAULT;
    p->lock_fd = -1;
    paper_events_init(p);
    if (paper_state_open(p, state_path && state_path[0] ? state_path : ":memory:", err, errlen) !=
        0) {
        paper_free(&p->base);
        return NULL;
    }
    /* "close": market orders accepted before a crash fill on the first turn after the
     * restart. next_open: they wait for their symbol's next bar, restarted or not. */
    if (p->pending.count)
        paper_events_arm(p);
    return &p->base;
}

void paper_broker_set_instrument(broker *b, const char *symbol, money_instrument rules)
{
    if (!b || b->ops != &paper_ops)
        return;
    paper_broker *p = as_paper(b);
    if (rules.tick <= 0)
        rules.tick = MONEY_INSTRUMENT_DEFAULT.tick;
    if (rules.lot <= 0)
        rules.lot = MONEY_INSTRUMENT_DEFAULT.lot;
    if (!symbol || !symbol[0]) {
        p->default_rules = rules;
        for (int i = 0; i < p->symbols.count; i++)
            if (!p->symbols.items[i]->has_rules)
                p->symbols.items[i]->rules = rules;
        return;
    }
    paper_symbol *s = paper_symbol_get(p, symbol);
    if (!s) {
        log_error("paper broker: cannot set the instrument rules of %s (invalid or out of memory)",
                  symbol);
        return;
    }
    s->rules = rules;
    s->has_rules = true;
}
