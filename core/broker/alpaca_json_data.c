/* Market Data API v2: historical bars, snapshots, latest quotes and the stream messages.
 * Fields: https://docs.alpaca.markets/docs/real-time-stock-pricing-data,
 * https://docs.alpaca.markets/reference/stockbars, https://docs.alpaca.markets/reference/
 * stocksnapshots. Every price and size here is a JSON number (AJ_NUMBER). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/alpaca_json_internal.h"

#define N  (AJ_NUMBER)
#define RN (AJ_REQUIRED | AJ_NUMBER)

static int decode_bar(const aj_ctx *c, const json_t *obj, const char *symbol, alpaca_bar *out)
{
    memset(out, 0, sizeof *out);
    out->b.symbol_id = -1;
    snprintf(out->symbol, sizeof out->symbol, "%s", symbol);
    int rc = aj_need_object(c, obj);
    rc = rc ? rc : aj_time(c, obj, "t", AJ_REQUIRED, &out->b.ts);
    rc = rc ? rc : aj_money(c, obj, "o", RN, &out->b.open);
    rc = rc ? rc : aj_money(c, obj, "h", RN, &out->b.high);
    rc = rc ? rc : aj_money(c, obj, "l", RN, &out->b.low);
    rc = rc ? rc : aj_money(c, obj, "c", RN, &out->b.close);
    rc = rc ? rc : aj_money(c, obj, "v", RN, &out->b.volume);
    rc = rc ? rc : aj_int(c, obj, "n", 0, &out->trades);
    rc = rc ? rc : aj_money(c, obj, "vw", N, &out->vwap);
    return rc;
}

/* ---- REST bars -------------------------------------------------------------------- */

typedef struct {
    alpaca_bar *v;
    int n, cap;
} bar_vec;

static int bar_push(bar_vec *bv, const aj_ctx *c, const json_t *obj, const char *symbol)
{
    if (bv->n == bv->cap) {
        int cap = bv->cap ? bv->cap * 2 : 16;
        alpaca_bar *nv = realloc(bv->v, (size_t)cap * sizeof *nv);
        if (!nv)
            return aj_fail(c, NULL, APEX_ENOMEM, "out of memory");
        bv->v = nv;
        bv->cap = cap;
    }
    int rc = decode_bar(c, obj, symbol, &bv->v[bv->n]);
    if (rc == 0)
        bv->n++;
    return rc;
}

/* One symbol's array of bars; path "bars.AAPL[3]". */
static int symbol_bars(bar_vec *bv, const aj_ctx *parent, const json_t *arr, const char *symbol)
{
    char path[64];
    snprintf(path, sizeof path, "bars.%s", symbol);
    aj_ctx c = {path, parent->err, parent->errlen};
    if (!symbol_valid(symbol, strlen(symbol)))
        return aj_fail(parent, "bars", APEX_EINVAL, "\"%.30s\" is not a symbol", symbol);
    if (!json_is_array(arr))
        return aj_fail(&c, NULL, APEX_EINVAL, "expected an array of bars");
    for (size_t i = 0; i < json_array_size(arr); i++) {
        snprintf(path, sizeof path, "bars.%s[%zu]", symbol, i);
        int rc = bar_push(bv, &c, json_array_get(arr, i), symbol);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int all_bars(bar_vec *bv, const aj_ctx *c, const json_t *root)
{
    const json_t *bars = aj_get(root, "bars");
    if (json_is_array(bars)) { /* /v2/stocks/{symbol}/bars */
        char symbol[SYMBOL_MAX];
        int rc = aj_symbol(c, root, "symbol", AJ_REQUIRED, symbol);
        return rc ? rc : symbol_bars(bv, c, bars, symbol);
    }
    if (!bars) /* no bars in the range: Alpaca sends "bars": null or {} */
        return 0;
    if (!json_is_object(bars))
        return aj_fail(c, "bars", APEX_EINVAL, "expected an object of symbol -> bars");
    const char *symbol;
    json_t *arr;
    json_object_foreach((json_t *)bars, symbol, arr)
    {
        int rc = symbol_bars(bv, c, arr, symbol);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int alpaca_decode_bars(const json_t *root, alpaca_bar **out, int *n, char *page_token,
                       size_t page_token_len, char *err, size_t errlen)
{
    aj_ctx c = {"bars response", err, errlen};
    bar_vec bv = {0};
    char token[256];
    *out = NULL;
    *n = 0;
    int rc = aj_need_object(&c, root);
    rc = rc ? rc : aj_string(&c, root, "next_page_token", 0, token, sizeof token);
    rc = rc ? rc : all_bars(&bv, &c, root);
    if (rc != 0) {
        free(bv.v);
        return rc;
    }
    if (page_token && page_token_len)
        snprintf(page_token, page_token_len, "%s", token);
    *out = bv.v;
    *n = bv.n;
    return 0;
}

/* ---- quotes and trades ------------------------------------------------------------ */

static int quote_fields(const aj_ctx *c, const json_t *obj, broker_quote *q)
{
    apex_time ts;
    int rc = aj_money(c, obj, "bp", RN, &q->bid);
    rc = rc ? rc : aj_money(c, obj, "ap", RN, &q->ask);
    rc = rc ? rc : aj_time(c, obj, "t", AJ_REQUIRED, &ts);
    if (rc != 0)
        return rc;
    /* A side with no order (0 at night or in a halt) is no market: not quoted. */
    q->quoted = q->bid > 0 && q->ask > 0;
    if (ts > q->ts)
        q->ts = ts;
    return 0;
}

static int trade_fields(const aj_ctx *c, const json_t *obj, broker_quote *q, bool size)
{
    apex_time ts;
    int rc = aj_money(c, obj, "p", RN, &q->last);
    rc = rc ? rc : (size ? aj_money(c, obj, "s", N, &q->volume) : 0);
    rc = rc ? rc : aj_time(c, obj, "t", AJ_REQUIRED, &ts);
    if (rc == 0 && ts > q->ts)
        q->ts = ts;
    return rc;
}

/* ---- stream messages -------------------------------------------------------------- */

static alpaca_md_type md_type(const char *t)
{
    if (strcmp(t, "b") == 0 || strcmp(t, "d") == 0 || strcmp(t, "u") == 0)
        return ALPACA_MD_BAR;
    if (strcmp(t, "q") == 0)
        return ALPACA_MD_QUOTE;
    if (strcmp(t, "t") == 0)
        return ALPACA_MD_TRADE;
    if (strcmp(t, "success") == 0)
        return ALPACA_MD_SUCCESS;
    if (strcmp(t, "error") == 0)
        return ALPACA_MD_ERROR;
    if (strcmp(t, "subscription") == 0)
        return ALPACA_MD_SUBSCRIPTION;
    return ALPACA_MD_OTHER;
}

static int md_control(const aj_ctx *c, const json_t *item, alpaca_md_msg *out)
{
    int64_t code = 0;
    const json_t *msg = aj_get(item, "msg");
    /* Messages are for people; a long one is cut, not refused. */
    if (json_is_string(msg))
        snprintf(out->message, sizeof out->message, "%s", json_string_value(msg));
    else if (msg)
        return aj_fail(c, "msg", APEX_EINVAL, "expected a string");
    if (out->type != ALPACA_MD_ERROR)
        return 0;
    int rc = aj_int(c, item, "code", AJ_REQUIRED, &code);
    out->code = (int)code;
    return rc;
}

int alpaca_decode_md_message(const json_t *item, alpaca_md_msg *out, char *err, size_t errlen)
{
    aj_ctx c = {"market data message", err, errlen};
    char symbol[SYMBOL_MAX];
    memset(out, 0, sizeof *out);
    int rc = aj_need_object(&c, item);
    rc = rc ? rc : aj_string(&c, item, "T", AJ_REQUIRED, out->t, sizeof out->t);
    if (rc != 0)
        return rc;
    out->type = md_type(out->t);
    switch (out->type) {
    case ALPACA_MD_BAR:
        rc = aj_symbol(&c, item, "S", AJ_REQUIRED, symbol);
        return rc ? rc : decode_bar(&c, item, symbol, &out->bar);
    case ALPACA_MD_QUOTE:
        rc = aj_symbol(&c, item, "S", AJ_REQUIRED, out->quote.symbol);
        return rc ? rc : quote_fields(&c, item, &out->quote);
    case ALPACA_MD_TRADE:
        rc = aj_symbol(&c, item, "S", AJ_REQUIRED, out->quote.symbol);
        return rc ? rc : trade_fields(&c, item, &out->quote, true);
    case ALPACA_MD_SUCCESS:
    case ALPACA_MD_ERROR:
        return md_control(&c, item, out);
    default:
        return 0;
    }
}

/* ---- snapshots and latest quotes --------------------------------------------------- */

static int snapshot(const aj_ctx *c, const json_t *snap, broker_quote *q)
{
    const json_t *lq = aj_get(snap, "latestQuote"), *lt = aj_get(snap, "latestTrade");
    const json_t *mb = aj_get(snap, "minuteBar");
    int rc = aj_need_object(c, snap);
    if (rc == 0 && lq) {
        aj_ctx qc = {"snapshot.latestQuote", c->err, c->errlen};
        rc = quote_fields(&qc, lq, q);
    }
    if (rc == 0 && lt) {
        aj_ctx tc = {"snapshot.latestTrade", c->err, c->errlen};
        rc = trade_fields(&tc, lt, q, false);
    }
    if (rc == 0 && mb) {
        aj_ctx bc = {"snapshot.minuteBar", c->err, c->errlen};
        alpaca_bar b;
        rc = decode_bar(&bc, mb, q->symbol, &b);
        q->volume = b.b.volume;
        if (rc == 0 && q->last == 0)
            q->last = b.b.close;
        if (rc == 0 && b.b.ts > q->ts)
            q->ts = b.b.ts;
    }
    return rc;
}

typedef int (*per_symbol)(const aj_ctx *c, const json_t *obj, broker_quote *q);

static int latest_quote(const aj_ctx *c, const json_t *obj, broker_quote *q)
{
    int rc = aj_need_object(c, obj);
    return rc ? rc : quote_fields(c, obj, q);
}

/* One quote per requested symbol, in request order, from map (symbol -> object). */
static int quotes_in_order(const aj_ctx *c, const json_t *map, const char *const *symbols, int n,
                           broker_quote *out, per_symbol decode)
{
    if (map && !json_is_object(map))
        return aj_fail(c, NULL, APEX_EINVAL, "expected an object of symbol -> data");
    for (int i = 0; i < n; i++) {
        memset(&out[i], 0, sizeof out[i]);
        snprintf(out[i].symbol, sizeof out[i].symbol, "%s", symbols[i]);
        const json_t *v = aj_get(map, symbols[i]);
        char path[64];
        snprintf(path, sizeof path, "%s.%s", c->path, out[i].symbol);
        aj_ctx sc = {path, c->err, c->errlen};
        int rc = v ? decode(&sc, v, &out[i]) : 0;
        if (rc != 0)
            return rc;
    }
    return 0;
}

int alpaca_decode_snapshots(const json_t *root, const char *const *symbols, int n,
                            broker_quote *out, char *err, size_t errlen)
{
    aj_ctx c = {"snapshots", err, errlen};
    int rc = aj_need_object(&c, root);
    if (rc != 0)
        return rc;
    /* Stocks answer {"AAPL": {...}}; crypto wraps the same in "snapshots". */
    const json_t *wrapped = aj_get(root, "snapshots");
    return quotes_in_order(&c, json_is_object(wrapped) ? wrapped : root, symbols, n, out, snapshot);
}

int alpaca_decode_latest_quotes(const json_t *root, const char *const *symbols, int n,
                                broker_quote *out, char *err, size_t errlen)
{
    aj_ctx c = {"quotes", err, errlen};
    int rc = aj_need_object(&c, root);
    return rc ? rc : quotes_in_order(&c, aj_get(root, "quotes"), symbols, n, out, latest_quote);
}
