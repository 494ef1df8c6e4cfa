/* fake-alpaca: account, orders, positions, market data and fills (see state.h). */
#include "state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

state_t S;

static const char *STATUS_NAMES[] = {"new",     "accepted", "held",     "partially_filled",
                                     "filled",  "canceled", "replaced", "expired",
                                     "rejected"};
static const char *TYPE_NAMES[] = {"market", "limit", "stop", "stop_limit"};

static void *grow(void *p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return p;
    size_t c = *cap ? *cap * 2 : 16;
    void *q = realloc(p, c * size);
    if (!q)
        abort();
    memset((char *)q + *cap * size, 0, (c - *cap) * size);
    *cap = c;
    return q;
}

void state_init(uint64_t seed, int64_t now_us, fx_t cash)
{
    S.seed = seed;
    S.now_us = now_us;
    S.cash = S.initial_cash = cash;
    S.auto_fill = 1;
}

void state_reset(void)
{
    for (size_t i = 0; i < S.nsyms; i++)
        free(S.syms[i].bars);
    for (size_t i = 0; i < S.nnews; i++) {
        news_t *n = &S.news[i];
        free(n->headline), free(n->summary), free(n->author), free(n->source), free(n->url);
        free(n->content), free(n->symbols);
    }
    free(S.orders), free(S.pos), free(S.syms), free(S.news), free(S.coids), free(S.fills);
    S.orders = NULL, S.pos = NULL, S.syms = NULL, S.news = NULL, S.coids = NULL, S.fills = NULL;
    S.norders = S.ocap = S.npos = S.pcap = S.nsyms = S.scap = S.nnews = S.ncap = 0;
    S.ncoids = S.cocap = S.nfills = S.fcap = 0;
    S.id_counter = S.exec_counter = 0;
    S.cash = S.initial_cash;
    S.auto_fill = 1;
    S.fill_immediate = 0;
    S.market = 0;
    S.ncal = 0;
}

void state_advance(int64_t t_us)
{
    if (t_us > S.now_us)
        S.now_us = t_us;
}

static void new_id(char out[37])
{
    uuid_make(S.seed, ++S.id_counter, out);
}

static void asset_id(const char *symbol, char out[37])
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *c = symbol; *c; c++)
        h = (h ^ (unsigned char)*c) * 1099511628211ULL;
    uuid_make(h, 0, out);
}

/* ---- market data ---------------------------------------------------------------------- */

sym_t *sym_get(const char *symbol, int create)
{
    for (size_t i = 0; i < S.nsyms; i++)
        if (!strcmp(S.syms[i].symbol, symbol))
            return &S.syms[i];
    if (!create)
        return NULL;
    S.syms = grow(S.syms, &S.scap, S.nsyms, sizeof *S.syms);
    sym_t *s = &S.syms[S.nsyms++];
    memset(s, 0, sizeof *s);
    snprintf(s->symbol, sizeof s->symbol, "%s", symbol);
    return s;
}

fx_t sym_price(const sym_t *s, int side)
{
    if (!s)
        return 0;
    if (s->has_quote) {
        fx_t p = side == 0 ? s->ap : s->bp;
        if (p > 0)
            return p;
    }
    return s->has_last ? s->last : 0;
}

static void bar_json(sb_t *b, const char *symbol, const bar_t *x)
{
    sb_puts(b, "{\"T\":\"b\",\"S\":");
    sb_jstr(b, symbol);
    sb_puts(b, ",\"o\":"), sb_fxnum(b, x->o);
    sb_puts(b, ",\"h\":"), sb_fxnum(b, x->h);
    sb_puts(b, ",\"l\":"), sb_fxnum(b, x->l);
    sb_puts(b, ",\"c\":"), sb_fxnum(b, x->c);
    char t[40];
    time_fmt(x->t, 0, t, sizeof t);
    sb_puts(b, ",\"v\":"), sb_fxnum(b, x->v);
    sb_printf(b, ",\"t\":\"%s\"", t);
    sb_printf(b, ",\"n\":%lld,\"vw\":", (long long)x->n);
    sb_fxnum(b, x->vw);
    sb_puts(b, "}");
}

void md_push_bar(const char *symbol, const bar_t *bar, int live)
{
    sym_t *s = sym_get(symbol, 1);
    /* Keep bars sorted by time; a bar at an existing time replaces it. */
    size_t i = s->nbars;
    while (i > 0 && s->bars[i - 1].t > bar->t)
        i--;
    if (i > 0 && s->bars[i - 1].t == bar->t) {
        s->bars[i - 1] = *bar;
    } else {
        s->bars = grow(s->bars, &s->cap, s->nbars, sizeof *s->bars);
        memmove(&s->bars[i + 1], &s->bars[i], (s->nbars - i) * sizeof *s->bars);
        s->bars[i] = *bar;
        s->nbars++;
    }
    if (!live)
        return;
    /* A one-minute bar stamped t covers [t, t+60s): its close is known at its end. */
    state_advance(bar->t + 60 * 1000000LL);
    if (!s->has_last || bar->t >= s->last_t) {
        s->last = bar->c;
        s->last_t = bar->t;
        s->has_last = 1;
    }
    if (S.emit_market) {
        sb_t b = {0};
        sb_puts(&b, "[");
        bar_json(&b, symbol, bar);
        sb_puts(&b, "]");
        S.emit_market(symbol, 'b', b.p, b.len);
        sb_free(&b);
    }
    sim_check(symbol);
}

int is_crypto(const char *symbol)
{
    return strchr(symbol, '/') != NULL;
}

void md_push_quote(const char *symbol, int64_t t, fx_t bp, fx_t ap, fx_t bs, fx_t as)
{
    sym_t *s = sym_get(symbol, 1);
    state_advance(t);
    s->has_quote = 1;
    s->qt = t, s->bp = bp, s->ap = ap, s->bs = bs, s->as = as;
    if (S.emit_market) {
        sb_t b = {0};
        sb_puts(&b, "[{\"T\":\"q\",\"S\":");
        sb_jstr(&b, symbol);
        /* Crypto quotes have no exchanges, conditions or tape. */
        int stock = !is_crypto(symbol);
        sb_puts(&b, stock ? ",\"bx\":\"V\",\"bp\":" : ",\"bp\":"), sb_fxnum(&b, bp);
        sb_puts(&b, ",\"bs\":"), sb_fxnum(&b, bs);
        sb_puts(&b, stock ? ",\"ax\":\"V\",\"ap\":" : ",\"ap\":"), sb_fxnum(&b, ap);
        sb_puts(&b, ",\"as\":"), sb_fxnum(&b, as);
        sb_puts(&b, stock ? ",\"c\":[\"R\"],\"z\":\"C\",\"t\":" : ",\"t\":");
        sb_time(&b, t);
        sb_puts(&b, "}]");
        S.emit_market(symbol, 'q', b.p, b.len);
        sb_free(&b);
    }
    sim_check(symbol);
}

void md_push_trade(const char *symbol, int64_t t, fx_t p, fx_t sz)
{
    sym_t *s = sym_get(symbol, 1);
    state_advance(t);
    s->has_last = 1, s->last = p, s->last_t = t, s->last_s = sz;
    if (S.emit_market) {
        sb_t b = {0};
        sb_puts(&b, "[{\"T\":\"t\",\"S\":");
        sb_jstr(&b, symbol);
        int stock = !is_crypto(symbol);
        sb_printf(&b, ",\"i\":%llu%s,\"p\":", (unsigned long long)++S.exec_counter,
                  stock ? ",\"x\":\"V\"" : "");
        sb_fxnum(&b, p);
        sb_puts(&b, ",\"s\":"), sb_fxnum(&b, sz);
        /* Crypto trades name the taker's side instead of conditions and tape. */
        sb_puts(&b, stock ? ",\"c\":[\"@\"],\"z\":\"C\",\"t\":" : ",\"tks\":\"B\",\"t\":");
        sb_time(&b, t);
        sb_puts(&b, "}]");
        S.emit_market(symbol, 't', b.p, b.len);
        sb_free(&b);
    }
    sim_check(symbol);
}

/* ---- orders ---------------------------------------------------------------------------- */

int order_is_open(const order_t *o)
{
    return o->status == ST_NEW || o->status == ST_ACCEPTED || o->status == ST_HELD ||
           o->status == ST_PARTIAL;
}

int order_find(const char *id)
{
    for (size_t i = 0; i < S.norders; i++)
        if (!strcmp(S.orders[i].id, id))
            return (int)i;
    return -1;
}

int order_find_coid(const char *coid)
{
    for (size_t i = 0; i < S.norders; i++)
        if (!strcmp(S.orders[i].client_order_id, coid))
            return (int)i;
    return -1;
}

static void fx_or_null(sb_t *b, int has, fx_t v)
{
    if (has)
        sb_fxstr(b, v);
    else
        sb_puts(b, "null");
}

static const char *id_or_null(int idx)
{
    return idx >= 0 ? S.orders[idx].id : NULL;
}

void order_json(sb_t *b, int idx, int nested)
{
    const order_t *o = &S.orders[idx];
    char aid[37];
    asset_id(o->symbol, aid);
    sb_puts(b, "{\"id\":"), sb_jstr(b, o->id);
    sb_puts(b, ",\"client_order_id\":"), sb_jstr(b, o->client_order_id);
    sb_puts(b, ",\"created_at\":"), sb_time(b, o->created);
    sb_puts(b, ",\"updated_at\":"), sb_time(b, o->updated);
    sb_puts(b, ",\"submitted_at\":"), sb_time(b, o->submitted);
    sb_puts(b, ",\"filled_at\":"), sb_time(b, o->filled_at);
    sb_puts(b, ",\"expired_at\":"), sb_time(b, o->expired_at);
    sb_puts(b, ",\"canceled_at\":"), sb_time(b, o->canceled_at);
    sb_puts(b, ",\"failed_at\":"), sb_time(b, o->failed_at);
    sb_puts(b, ",\"replaced_at\":"), sb_time(b, o->replaced_at);
    sb_puts(b, ",\"replaced_by\":"), sb_jstr(b, id_or_null(o->replaced_by));
    sb_puts(b, ",\"replaces\":"), sb_jstr(b, id_or_null(o->replaces));
    sb_puts(b, ",\"asset_id\":"), sb_jstr(b, aid);
    sb_puts(b, ",\"symbol\":"), sb_jstr(b, o->symbol);
    sb_puts(b, ",\"asset_class\":"), sb_jstr(b, is_crypto(o->symbol) ? "crypto" : "us_equity");
    sb_puts(b, ",\"notional\":null,\"qty\":"), sb_fxstr(b, o->qty);
    sb_puts(b, ",\"filled_qty\":"), sb_fxstr(b, o->filled_qty);
    sb_puts(b, ",\"filled_avg_price\":"), fx_or_null(b, o->filled_qty > 0, o->filled_avg);
    sb_puts(b, ",\"order_class\":"), sb_jstr(b, o->order_class);
    sb_puts(b, ",\"order_type\":"), sb_jstr(b, TYPE_NAMES[o->type]);
    sb_puts(b, ",\"type\":"), sb_jstr(b, TYPE_NAMES[o->type]);
    sb_puts(b, ",\"side\":"), sb_jstr(b, o->side ? "sell" : "buy");
    sb_puts(b, ",\"position_intent\":");
    sb_jstr(b, o->parent >= 0 ? (o->side ? "sell_to_close" : "buy_to_close")
                              : (o->side ? "sell_to_open" : "buy_to_open"));
    sb_puts(b, ",\"time_in_force\":"), sb_jstr(b, o->tif);
    sb_puts(b, ",\"limit_price\":"), fx_or_null(b, o->has_limit, o->limit_price);
    sb_puts(b, ",\"stop_price\":"), fx_or_null(b, o->has_stop, o->stop_price);
    sb_puts(b, ",\"status\":"), sb_jstr(b, STATUS_NAMES[o->status]);
    sb_printf(b, ",\"extended_hours\":%s,\"legs\":", o->extended_hours ? "true" : "false");
    if (nested && o->nlegs) {
        sb_puts(b, "[");
        for (int i = 0; i < o->nlegs; i++) {
            if (i)
                sb_puts(b, ",");
            order_json(b, o->legs[i], 0);
        }
        sb_puts(b, "]");
    } else {
        sb_puts(b, "null");
    }
    sb_puts(b, ",\"trail_percent\":null,\"trail_price\":null,\"hwm\":null,\"subtag\":null,"
               "\"source\":null}");
}

/* eid: the execution id of a fill (with price and qty), else NULL. */
static void emit_event(const char *event, int idx, const char *eid, fx_t price, fx_t qty)
{
    if (!S.emit_trade)
        return;
    order_t *o = &S.orders[idx];
    sb_t b = {0};
    sb_puts(&b, "{\"stream\":\"trade_updates\",\"data\":{\"event\":");
    sb_jstr(&b, event);
    if (eid)
        sb_puts(&b, ",\"execution_id\":"), sb_jstr(&b, eid);
    sb_puts(&b, ",\"order\":");
    order_json(&b, idx, 1);
    sb_puts(&b, ",\"timestamp\":"), sb_time(&b, S.now_us);
    if (eid) {
        position_t *p = position_get(o->symbol);
        sb_puts(&b, ",\"price\":"), sb_fxstr(&b, price);
        sb_puts(&b, ",\"qty\":"), sb_fxstr(&b, qty);
        sb_puts(&b, ",\"position_qty\":"), sb_fxstr(&b, p ? p->qty : 0);
    }
    sb_puts(&b, "}}");
    S.emit_trade(b.p, b.len);
    sb_free(&b);
}

static int add_order(void)
{
    S.orders = grow(S.orders, &S.ocap, S.norders, sizeof *S.orders);
    order_t *o = &S.orders[S.norders];
    memset(o, 0, sizeof *o);
    o->parent = o->legs[0] = o->legs[1] = o->replaced_by = o->replaces = -1;
    new_id(o->id);
    o->created = o->updated = o->submitted = S.now_us;
    snprintf(o->order_class, sizeof o->order_class, "simple");
    snprintf(o->tif, sizeof o->tif, "day");
    return (int)S.norders++;
}

static void count_coid(const char *coid)
{
    for (size_t i = 0; i < S.ncoids; i++)
        if (!strcmp(S.coids[i].coid, coid)) {
            S.coids[i].n++;
            return;
        }
    S.coids = grow(S.coids, &S.cocap, S.ncoids, sizeof *S.coids);
    snprintf(S.coids[S.ncoids].coid, sizeof S.coids[0].coid, "%s", coid);
    S.coids[S.ncoids++].n = 1;
}

void counters_coid_json(sb_t *b)
{
    sb_puts(b, "{");
    for (size_t i = 0; i < S.ncoids; i++) {
        if (i)
            sb_puts(b, ",");
        sb_jstr(b, S.coids[i].coid);
        sb_printf(b, ":%d", S.coids[i].n);
    }
    sb_puts(b, "}");
}

static int err(sb_t *out, int status, long code, const char *msg)
{
    out->len = 0;
    sb_printf(out, "{\"code\":%ld,\"message\":", code);
    sb_jstr(out, msg);
    sb_puts(out, "}");
    return status;
}

/* A decimal field given as a JSON string or number. 1 found, 0 absent, -1 malformed. */
static int jfx(json_t *obj, const char *key, fx_t *out)
{
    json_t *v = obj ? json_object_get(obj, key) : NULL;
    if (!v || json_is_null(v))
        return 0;
    if (json_is_string(v))
        return fx_parse(json_string_value(v), out) ? -1 : 1;
    if (json_is_integer(v)) {
        *out = (fx_t)json_integer_value(v) * FX_ONE;
        return 1;
    }
    if (json_is_real(v)) {
        char t[64];
        snprintf(t, sizeof t, "%.8f", json_real_value(v));
        return fx_parse(t, out) ? -1 : 1;
    }
    return -1;
}

static const char *jstr(json_t *obj, const char *key)
{
    json_t *v = obj ? json_object_get(obj, key) : NULL;
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int parse_type(const char *t)
{
    for (int i = 0; i < 4; i++)
        if (t && !strcmp(t, TYPE_NAMES[i]))
            return i;
    return -1;
}

/* Quantity of a position already committed to open closing orders (bracket legs count
 * once per bracket: they are one-cancels-other). */
static fx_t held_for_orders(const char *symbol, int side, int except)
{
    fx_t held = 0;
    for (size_t i = 0; i < S.norders; i++) {
        const order_t *o = &S.orders[i];
        if ((int)i == except || strcmp(o->symbol, symbol) || o->side != side || !order_is_open(o) ||
            o->status == ST_HELD)
            continue;
        if (o->parent >= 0 && S.orders[o->parent].legs[0] != (int)i &&
            order_is_open(&S.orders[S.orders[o->parent].legs[0]]))
            continue;
        held += o->qty - o->filled_qty;
    }
    return held;
}

/* Alpaca's 403 when a closing order asks for more than the position has free. */
static int check_available(const char *symbol, int side, fx_t qty, int except, sb_t *out)
{
    position_t *p = position_get(symbol);
    if (!p || p->qty == 0 || (side == 1) != (p->qty > 0))
        return 0; /* opens or adds to a position */
    fx_t have = p->qty > 0 ? p->qty : -p->qty;
    fx_t avail = have - held_for_orders(symbol, side, except);
    if (avail < 0)
        avail = 0;
    if (qty <= avail)
        return 0;
    char rq[48], av[48], ex[48], hd[48];
    fx_fmt(qty, rq, sizeof rq), fx_fmt(avail, av, sizeof av), fx_fmt(p->qty, ex, sizeof ex);
    fx_fmt(have - avail, hd, sizeof hd);
    out->len = 0;
    sb_printf(out,
              "{\"code\":40310000,\"message\":\"insufficient qty available for order "
              "(requested: %s, available: %s)\",\"symbol\":",
              rq, av);
    sb_jstr(out, symbol);
    sb_printf(out, ",\"existing_qty\":\"%s\",\"held_for_orders\":\"%s\",\"available\":\"%s\"}", ex,
              hd, av);
    return 403;
}

static void activate(int idx);

int order_submit(json_t *req, sb_t *out)
{
    if (!json_is_object(req))
        return err(out, 400, 40010000, "request body format is invalid");
    const char *symbol = jstr(req, "symbol"), *side = jstr(req, "side"), *type = jstr(req, "type"),
               *tif = jstr(req, "time_in_force"), *coid = jstr(req, "client_order_id"),
               *cls = jstr(req, "order_class");
    if (!type)
        type = jstr(req, "order_type");
    if (coid)
        count_coid(coid);
    if (!symbol || !*symbol || strlen(symbol) >= sizeof S.orders[0].symbol)
        return err(out, 422, 40010001, "symbol is required");
    fx_t qty = 0, lim = 0, stp = 0, tp = 0, sl = 0, sll = 0;
    int hq = jfx(req, "qty", &qty), hl = jfx(req, "limit_price", &lim),
        hs = jfx(req, "stop_price", &stp);
    if (hq < 0 || hl < 0 || hs < 0)
        return err(out, 422, 40010001, "invalid decimal value");
    if (jfx(req, "notional", &tp) != 0)
        return err(out, 422, 40010001, "notional orders are not supported by fake-alpaca");
    if (hq == 0)
        return err(out, 422, 40010001, "qty or notional is required");
    if (qty <= 0)
        return err(out, 422, 40010001, "qty must be > 0");
    if (!side || (strcmp(side, "buy") && strcmp(side, "sell")))
        return err(out, 422, 40010001, "invalid side");
    int ot = parse_type(type);
    if (ot < 0)
        return err(out, 422, 40010001, "invalid order type");
    if (!tif || (strcmp(tif, "day") && strcmp(tif, "gtc") && strcmp(tif, "opg") &&
                 strcmp(tif, "cls") && strcmp(tif, "ioc") && strcmp(tif, "fok")))
        return err(out, 422, 40010001, "invalid time_in_force");
    /* Alpaca's crypto orders: market, limit and stop_limit, gtc or ioc, simple only. */
    int crypto = is_crypto(symbol);
    if (crypto && strcmp(tif, "gtc") && strcmp(tif, "ioc"))
        return err(out, 422, 40010001, "invalid crypto time_in_force");
    if (crypto && ot == OT_STOP)
        return err(out, 422, 40010001, "invalid crypto order type");
    if (crypto && cls && *cls && strcmp(cls, "simple"))
        return err(out, 422, 40010001, "crypto orders support order_class simple only");
    if ((ot == OT_LIMIT || ot == OT_STOP_LIMIT) && hl != 1)
        return err(out, 422, 40010001, "limit orders require limit price");
    if ((ot == OT_STOP || ot == OT_STOP_LIMIT) && hs != 1)
        return err(out, 422, 40010001, "stop orders require stop price");
    if (coid && strlen(coid) > 48)
        return err(out, 422, 40010001, "client_order_id must be no more than 48 characters");
    if (coid && order_find_coid(coid) >= 0)
        return err(out, 422, 40010001, "client_order_id must be unique");
    int sd = !strcmp(side, "sell");
    int bracket = cls && !strcmp(cls, "bracket");
    if (cls && *cls && strcmp(cls, "simple") && !bracket)
        return err(out, 422, 40010001, "order_class not supported by fake-alpaca");
    int hsll = 0;
    if (bracket) {
        json_t *jtp = json_object_get(req, "take_profit"), *jsl = json_object_get(req, "stop_loss");
        if (jfx(jtp, "limit_price", &tp) != 1)
            return err(out, 422, 40010001,
                       "take_profit.limit_price is required for bracket orders");
        if (jfx(jsl, "stop_price", &sl) != 1)
            return err(out, 422, 40010001, "stop_loss.stop_price is required for bracket orders");
        hsll = jfx(jsl, "limit_price", &sll) == 1;
        if (sd ? !(tp < sl) : !(tp > sl))
            return err(out, 422, 40010001,
                       sd ? "take_profit.limit_price must be < stop_loss.stop_price"
                          : "take_profit.limit_price must be > stop_loss.stop_price");
    }
    int st = check_available(symbol, sd, qty, -1, out);
    if (st)
        return st;
    if (!sd) {
        fx_t px = ot == OT_LIMIT || ot == OT_STOP_LIMIT ? lim : sym_price(sym_get(symbol, 0), 0);
        if (ot == OT_STOP && !px)
            px = stp;
        if (px > 0 && fx_mul(px, qty) > S.cash)
            return err(out, 403, 40310000, "insufficient buying power");
    }

    int idx = add_order();
    order_t *o = &S.orders[idx];
    snprintf(o->symbol, sizeof o->symbol, "%s", symbol);
    if (coid)
        snprintf(o->client_order_id, sizeof o->client_order_id, "%s", coid);
    else
        new_id(o->client_order_id);
    o->side = sd, o->type = ot, o->qty = qty;
    o->has_limit = hl == 1, o->limit_price = lim, o->has_stop = hs == 1, o->stop_price = stp;
    snprintf(o->tif, sizeof o->tif, "%s", tif);
    json_t *eh = json_object_get(req, "extended_hours");
    o->extended_hours = json_is_true(eh);
    o->status = market_is_open() || o->extended_hours || crypto ? ST_NEW : ST_ACCEPTED;
    if (bracket) {
        snprintf(o->order_class, sizeof o->order_class, "bracket");
        for (int k = 0; k < 2; k++) {
            int li = add_order();
            o = &S.orders[idx]; /* add_order may move the table */
            order_t *l = &S.orders[li];
            snprintf(l->symbol, sizeof l->symbol, "%s", symbol);
            new_id(l->client_order_id);
            snprintf(l->order_class, sizeof l->order_class, "bracket");
            snprintf(l->tif, sizeof l->tif, "%s", tif);
            l->side = !sd, l->qty = qty, l->parent = idx, l->status = ST_HELD;
            if (k == 0) {
                l->type = OT_LIMIT, l->has_limit = 1, l->limit_price = tp;
            } else {
                l->type = hsll ? OT_STOP_LIMIT : OT_STOP, l->has_stop = 1, l->stop_price = sl;
                l->has_limit = hsll, l->limit_price = sll;
            }
            o->legs[o->nlegs++] = li;
        }
    }
    out->len = 0;
    order_json(out, idx, 1);
    emit_event("new", idx, NULL, 0, 0);
    if (S.fill_immediate)
        sim_check(symbol);
    return 200;
}

int order_cancel(int idx)
{
    order_t *o = &S.orders[idx];
    if (!order_is_open(o))
        return -1;
    sim_broker_cancel(idx, ST_CANCELED);
    return 0;
}

void sim_broker_cancel(int idx, int status)
{
    order_t *o = &S.orders[idx];
    if (!order_is_open(o))
        return;
    o->status = status;
    o->updated = S.now_us;
    if (status == ST_EXPIRED)
        o->expired_at = S.now_us;
    else if (status == ST_REJECTED)
        o->failed_at = S.now_us;
    else
        o->canceled_at = S.now_us;
    emit_event(STATUS_NAMES[status], idx, NULL, 0, 0);
    /* Canceling a bracket cancels its legs; canceling a leg cancels its siblings (OCO). */
    int legs[2], n = 0;
    if (o->nlegs) {
        for (int i = 0; i < o->nlegs; i++)
            legs[n++] = o->legs[i];
    } else if (o->parent >= 0) {
        order_t *p = &S.orders[o->parent];
        for (int i = 0; i < p->nlegs; i++)
            if (p->legs[i] != idx)
                legs[n++] = p->legs[i];
    }
    for (int i = 0; i < n; i++)
        sim_broker_cancel(legs[i], ST_CANCELED);
}

int order_replace(int idx, json_t *req, sb_t *out)
{
    order_t *o = &S.orders[idx];
    if (!json_is_object(req))
        return err(out, 400, 40010000, "request body format is invalid");
    if (!order_is_open(o) || o->status == ST_HELD)
        return err(out, 422, 42210000, "order is not replaceable");
    fx_t qty = o->qty, lim = o->limit_price, stp = o->stop_price;
    if (jfx(req, "qty", &qty) < 0 || jfx(req, "limit_price", &lim) < 0 ||
        jfx(req, "stop_price", &stp) < 0)
        return err(out, 422, 40010001, "invalid decimal value");
    if (qty <= 0)
        return err(out, 422, 40010001, "qty must be > 0");
    const char *coid = jstr(req, "client_order_id"), *tif = jstr(req, "time_in_force");
    if (coid && strlen(coid) > 48)
        return err(out, 422, 40010001, "client_order_id must be no more than 48 characters");
    if (coid && order_find_coid(coid) >= 0)
        return err(out, 422, 40010001, "client_order_id must be unique");
    if (coid)
        count_coid(coid);
    int ni = add_order();
    o = &S.orders[idx];
    order_t *n = &S.orders[ni];
    char id[37];
    memcpy(id, n->id, sizeof id);
    *n = *o;
    memcpy(n->id, id, sizeof id);
    if (coid)
        snprintf(n->client_order_id, sizeof n->client_order_id, "%s", coid);
    else
        new_id(n->client_order_id);
    if (tif)
        snprintf(n->tif, sizeof n->tif, "%s", tif);
    n->qty = qty, n->limit_price = lim, n->stop_price = stp;
    n->filled_qty = 0, n->filled_avg = 0, n->status = ST_NEW;
    n->created = n->updated = n->submitted = S.now_us;
    n->replaces = idx, n->replaced_by = -1, n->nlegs = 0;
    if (o->parent >= 0) { /* a replaced leg takes its place in the bracket */
        order_t *p = &S.orders[o->parent];
        for (int i = 0; i < p->nlegs; i++)
            if (p->legs[i] == idx)
                p->legs[i] = ni;
    }
    o->status = ST_REPLACED, o->replaced_at = o->updated = S.now_us, o->replaced_by = ni;
    emit_event("replaced", idx, NULL, 0, 0);
    emit_event("new", ni, NULL, 0, 0);
    out->len = 0;
    order_json(out, ni, 1);
    if (S.fill_immediate)
        sim_check(n->symbol);
    return 200;
}

/* ---- positions and account ------------------------------------------------------------ */

position_t *position_get(const char *symbol)
{
    for (size_t i = 0; i < S.npos; i++)
        if (!strcmp(S.pos[i].symbol, symbol))
            return S.pos[i].qty ? &S.pos[i] : NULL;
    return NULL;
}

const char *position_symbol(const char *name)
{
    for (size_t i = 0; i < S.npos; i++) {
        char plain[16];
        const char *s = S.pos[i].symbol, *slash = strchr(s, '/');
        if (!slash)
            continue;
        snprintf(plain, sizeof plain, "%.*s%s", (int)(slash - s), s, slash + 1);
        if (!strcmp(plain, name))
            return s;
    }
    return strchr(name, '/') ? "" : name;
}

static position_t *position_slot(const char *symbol)
{
    for (size_t i = 0; i < S.npos; i++)
        if (!strcmp(S.pos[i].symbol, symbol))
            return &S.pos[i];
    S.pos = grow(S.pos, &S.pcap, S.npos, sizeof *S.pos);
    position_t *p = &S.pos[S.npos++];
    memset(p, 0, sizeof *p);
    snprintf(p->symbol, sizeof p->symbol, "%s", symbol);
    return p;
}

static fx_t mark_price(const position_t *p)
{
    const sym_t *s = sym_get(p->symbol, 0);
    if (s && s->has_last)
        return s->last;
    if (s && s->has_quote)
        return (s->bp + s->ap) / 2;
    return p->avg;
}

static fx_t prev_close(const char *symbol)
{
    const sym_t *s = sym_get(symbol, 0);
    if (!s || !s->nbars)
        return 0;
    int64_t today = s->bars[s->nbars - 1].t / 86400000000LL;
    for (size_t i = s->nbars; i-- > 0;)
        if (s->bars[i].t / 86400000000LL < today)
            return s->bars[i].c;
    return 0;
}

void position_json(sb_t *b, const position_t *p)
{
    char aid[37];
    asset_id(p->symbol, aid);
    fx_t px = mark_price(p), mv = fx_mul(p->qty, px), cost = fx_mul(p->qty, p->avg);
    fx_t upl = mv - cost, lastday = prev_close(p->symbol);
    fx_t abs_cost = cost < 0 ? -cost : cost;
    sb_puts(b, "{\"asset_id\":"), sb_jstr(b, aid);
    /* Alpaca names crypto positions without the slash (its orders keep it). */
    char name[16];
    const char *slash = strchr(p->symbol, '/');
    snprintf(name, sizeof name, "%.*s%s", slash ? (int)(slash - p->symbol) : (int)strlen(p->symbol),
             p->symbol, slash ? slash + 1 : "");
    sb_puts(b, ",\"symbol\":"), sb_jstr(b, name);
    sb_puts(b, is_crypto(p->symbol) ? ",\"exchange\":\"CRYPTO\",\"asset_class\":\"crypto\""
                                    : ",\"exchange\":\"NASDAQ\",\"asset_class\":\"us_equity\"");
    sb_puts(b, ",\"asset_marginable\":true,\"qty\":");
    sb_fxstr(b, p->qty);
    sb_puts(b, ",\"avg_entry_price\":"), sb_fxstr(b, p->avg);
    sb_puts(b, ",\"side\":"), sb_jstr(b, p->qty > 0 ? "long" : "short");
    sb_puts(b, ",\"market_value\":"), sb_fxstr(b, mv);
    sb_puts(b, ",\"cost_basis\":"), sb_fxstr(b, cost);
    sb_puts(b, ",\"unrealized_pl\":"), sb_fxstr(b, upl);
    sb_puts(b, ",\"unrealized_plpc\":"), sb_fxstr(b, abs_cost ? fx_div(upl, abs_cost) : 0);
    sb_puts(b, ",\"unrealized_intraday_pl\":"), sb_fxstr(b, upl);
    sb_puts(b, ",\"unrealized_intraday_plpc\":"), sb_fxstr(b, abs_cost ? fx_div(upl, abs_cost) : 0);
    sb_puts(b, ",\"current_price\":"), sb_fxstr(b, px);
    sb_puts(b, ",\"lastday_price\":"), sb_fxstr(b, lastday);
    sb_puts(b, ",\"change_today\":"), sb_fxstr(b, lastday ? fx_div(px - lastday, lastday) : 0);
    sb_puts(b, ",\"qty_available\":");
    fx_t have = p->qty > 0 ? p->qty : -p->qty;
    fx_t avail = have - held_for_orders(p->symbol, p->qty > 0, -1);
    sb_fxstr(b, p->qty > 0 ? avail : -avail);
    sb_puts(b, "}");
}

void account_json(sb_t *b)
{
    fx_t lmv = 0, smv = 0;
    for (size_t i = 0; i < S.npos; i++) {
        if (!S.pos[i].qty)
            continue;
        fx_t mv = fx_mul(S.pos[i].qty, mark_price(&S.pos[i]));
        if (mv > 0)
            lmv += mv;
        else
            smv += mv;
    }
    fx_t equity = S.cash + lmv + smv;
    char id[37];
    uuid_make(S.seed ^ 0xacc0u, 0, id);
    sb_puts(b, "{\"id\":"), sb_jstr(b, id);
    sb_puts(b, ",\"account_number\":\"PA3FAKE00001\",\"status\":\"ACTIVE\",\"crypto_status\":"
               "\"INACTIVE\",\"currency\":\"USD\",\"buying_power\":");
    sb_fxstr(b, S.cash > 0 ? S.cash : 0);
    sb_puts(b, ",\"regt_buying_power\":"), sb_fxstr(b, S.cash > 0 ? S.cash : 0);
    sb_puts(b, ",\"daytrading_buying_power\":\"0\",\"non_marginable_buying_power\":");
    sb_fxstr(b, S.cash > 0 ? S.cash : 0);
    sb_puts(b, ",\"cash\":"), sb_fxstr(b, S.cash);
    sb_puts(b, ",\"accrued_fees\":\"0\",\"pending_transfer_in\":\"0\",\"portfolio_value\":");
    sb_fxstr(b, equity);
    sb_puts(b, ",\"pattern_day_trader\":false,\"trading_blocked\":false,\"transfers_blocked\":"
               "false,\"account_blocked\":false,\"created_at\":\"2024-01-01T00:00:00Z\","
               "\"trade_suspended_by_user\":false,\"multiplier\":\"1\",\"shorting_enabled\":"
               "true,\"equity\":");
    sb_fxstr(b, equity);
    sb_puts(b, ",\"last_equity\":"), sb_fxstr(b, S.initial_cash);
    sb_puts(b, ",\"long_market_value\":"), sb_fxstr(b, lmv);
    sb_puts(b, ",\"short_market_value\":"), sb_fxstr(b, smv);
    sb_puts(b, ",\"initial_margin\":\"0\",\"maintenance_margin\":\"0\",\"last_maintenance_"
               "margin\":\"0\",\"sma\":\"0\",\"daytrade_count\":0,\"options_trading_level\":0}");
}

/* ---- fills ----------------------------------------------------------------------------- */

static void apply_position(const char *symbol, fx_t signed_qty, fx_t px)
{
    position_t *p = position_slot(symbol);
    S.cash -= fx_mul(signed_qty, px);
    fx_t q0 = p->qty, q1 = q0 + signed_qty;
    if (q0 == 0 || (q0 > 0) == (signed_qty > 0)) { /* opens or adds */
        p->avg = fx_div(fx_mul(q0, p->avg) + fx_mul(signed_qty, px), q1);
    } else if (q1 != 0 && (q1 > 0) != (q0 > 0)) { /* crosses zero */
        p->avg = px;
    }
    p->qty = q1;
    if (q1 == 0)
        p->avg = 0;
}

static void record_fill(int idx, const char *eid, fx_t price, fx_t qty, int partial)
{
    const order_t *o = &S.orders[idx];
    S.fills = grow(S.fills, &S.fcap, S.nfills, sizeof *S.fills);
    fill_t *f = &S.fills[S.nfills++];
    int64_t ms = S.now_us / 1000, secs = ms / 1000, days = secs / 86400, sod = secs % 86400;
    int y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    snprintf(f->id, sizeof f->id, "%04d%02u%02u%02d%02d%02d%03d::%s", y, m, d, (int)(sod / 3600),
             (int)(sod / 60 % 60), (int)(sod % 60), (int)(ms % 1000), eid);
    f->order = idx, f->partial = partial, f->t = S.now_us;
    f->price = price, f->qty = qty, f->cum_qty = o->filled_qty,
    f->leaves_qty = o->qty - o->filled_qty;
}

int fill_find(const char *id)
{
    for (size_t i = 0; i < S.nfills; i++)
        if (!strcmp(S.fills[i].id, id))
            return (int)i;
    return -1;
}

void fill_json(sb_t *b, const fill_t *f)
{
    const order_t *o = &S.orders[f->order];
    sb_puts(b, "{\"id\":"), sb_jstr(b, f->id);
    sb_puts(b, ",\"activity_type\":\"FILL\",\"transaction_time\":"), sb_time(b, f->t);
    sb_puts(b, ",\"type\":"), sb_jstr(b, f->partial ? "partial_fill" : "fill");
    sb_puts(b, ",\"price\":"), sb_fxstr(b, f->price);
    sb_puts(b, ",\"qty\":"), sb_fxstr(b, f->qty);
    sb_puts(b, ",\"side\":"), sb_jstr(b, o->side ? "sell" : "buy");
    sb_puts(b, ",\"symbol\":"), sb_jstr(b, o->symbol);
    sb_puts(b, ",\"leaves_qty\":"), sb_fxstr(b, f->leaves_qty);
    sb_puts(b, ",\"order_id\":"), sb_jstr(b, o->id);
    sb_puts(b, ",\"cum_qty\":"), sb_fxstr(b, f->cum_qty);
    sb_puts(b, ",\"order_status\":"), sb_jstr(b, f->partial ? "partially_filled" : "filled");
    sb_puts(b, "}");
}

static void activate(int idx)
{
    order_t *o = &S.orders[idx];
    if (o->status != ST_HELD)
        return;
    o->status = ST_NEW;
    o->updated = o->submitted = S.now_us;
    emit_event("new", idx, NULL, 0, 0);
}

int sim_fill(int idx, fx_t qty, fx_t price)
{
    order_t *o = &S.orders[idx];
    if (!order_is_open(o))
        return -1;
    fx_t rem = o->qty - o->filled_qty;
    if (qty <= 0 || qty > rem)
        qty = rem;
    if (price <= 0)
        price = sym_price(sym_get(o->symbol, 0), o->side);
    if (price <= 0)
        return -1;
    if (o->status == ST_HELD) /* a leg filled by hand before its parent: take it anyway */
        o->status = ST_NEW;
    o->filled_avg =
        fx_div(fx_mul(o->filled_avg, o->filled_qty) + fx_mul(price, qty), o->filled_qty + qty);
    o->filled_qty += qty;
    o->updated = S.now_us;
    int done = o->filled_qty >= o->qty;
    o->status = done ? ST_FILLED : ST_PARTIAL;
    if (done)
        o->filled_at = S.now_us;
    apply_position(o->symbol, o->side ? -qty : qty, price);
    char eid[37];
    uuid_make(S.seed ^ 0x5eed5eedULL, ++S.exec_counter, eid);
    record_fill(idx, eid, price, qty, !done);
    emit_event(done ? "fill" : "partial_fill", idx, eid, price, qty);
    if (!done)
        return 0;
    if (o->nlegs) {
        int legs[2] = {o->legs[0], o->legs[1]}, n = o->nlegs;
        for (int i = 0; i < n; i++)
            activate(legs[i]);
    } else if (o->parent >= 0) {
        order_t *p = &S.orders[o->parent];
        for (int i = 0; i < p->nlegs; i++)
            if (p->legs[i] != idx)
                sim_broker_cancel(p->legs[i], ST_CANCELED);
    }
    return 0;
}

/* The price at which o fills now, or 0. */
static fx_t marketable(order_t *o, const sym_t *s)
{
    fx_t px = sym_price(s, o->side);
    if (px <= 0 || o->status == ST_HELD || !order_is_open(o))
        return 0;
    if ((o->type == OT_STOP || o->type == OT_STOP_LIMIT) && !o->stop_triggered) {
        if (o->side == 0 ? px < o->stop_price : px > o->stop_price)
            return 0;
        o->stop_triggered = 1;
    }
    if (o->type == OT_LIMIT || o->type == OT_STOP_LIMIT)
        if (o->side == 0 ? px > o->limit_price : px < o->limit_price)
            return 0;
    return px;
}

int market_is_open(void)
{
    if (S.market != 2)
        return S.market == 0;
    int64_t day = S.now_us / US_PER_DAY;
    return session_weekday(day) < 5 && S.now_us >= session_open_us(day) &&
           S.now_us < session_close_us(day);
}

void sim_check(const char *symbol)
{
    if (!S.auto_fill)
        return;
    int open = market_is_open();
    const sym_t *s = sym_get(symbol, 0);
    if (!s)
        return;
    for (size_t i = 0; i < S.norders; i++) {
        order_t *o = &S.orders[i];
        if (strcmp(o->symbol, symbol) || (!open && !o->extended_hours && !is_crypto(symbol)))
            continue;
        fx_t px = marketable(o, s);
        if (px > 0)
            sim_fill((int)i, 0, px);
    }
}

int position_close(const char *symbol, fx_t qty, int cancel_orders, sb_t *out)
{
    position_t *p = position_get(symbol);
    if (!p)
        return err(out, 404, 40410000, "position does not exist");
    if (cancel_orders)
        for (size_t i = 0; i < S.norders; i++)
            if (!strcmp(S.orders[i].symbol, symbol) && S.orders[i].parent < 0)
                order_cancel((int)i);
    fx_t have = p->qty > 0 ? p->qty : -p->qty;
    if (qty <= 0 || qty > have)
        qty = have;
    int sell = p->qty > 0;
    int st = check_available(symbol, sell, qty, -1, out);
    if (st)
        return st;
    int idx = add_order();
    order_t *o = &S.orders[idx];
    snprintf(o->symbol, sizeof o->symbol, "%s", symbol);
    new_id(o->client_order_id);
    o->side = sell, o->type = OT_MARKET, o->qty = qty, o->status = ST_ACCEPTED;
    out->len = 0;
    order_json(out, idx, 1);
    emit_event("new", idx, NULL, 0, 0);
    sim_check(symbol);
    return 200;
}

int sim_close_by_hand(const char *symbol, fx_t price)
{
    position_t *p = position_get(symbol);
    if (!p)
        return -1;
    for (size_t i = 0; i < S.norders; i++)
        if (!strcmp(S.orders[i].symbol, symbol) && S.orders[i].parent < 0)
            order_cancel((int)i);
    for (size_t i = 0; i < S.norders; i++) /* legs of brackets already active */
        if (!strcmp(S.orders[i].symbol, symbol))
            order_cancel((int)i);
    p = position_get(symbol);
    fx_t qty = p->qty > 0 ? p->qty : -p->qty;
    int idx = add_order();
    order_t *o = &S.orders[idx];
    snprintf(o->symbol, sizeof o->symbol, "%s", symbol);
    new_id(o->client_order_id);
    o->side = p->qty > 0, o->type = OT_MARKET, o->qty = qty, o->status = ST_NEW;
    emit_event("new", idx, NULL, 0, 0);
    if (sim_fill(idx, 0, price) < 0)
        return -1;
    return idx;
}
