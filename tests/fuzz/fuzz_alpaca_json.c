/* fuzz_alpaca_json: the Alpaca JSON codec (core/broker/alpaca_json*.c) on arbitrary bytes.
 *
 * The first byte picks the decoder, the rest is the JSON text (or, for error bodies, the
 * raw body). Whatever the input: no crash, no leak; a failure returns a negative code with
 * a message that starts "alpaca: "; a success gives terminated strings and values the
 * model allows. An order that decodes is encoded back into a POST body (when it is a
 * valid request) and its decimals must read back to the same fixed-point values. Market
 * data inputs also go through the news decoders (stream frames and REST pages). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "broker/alpaca_json.h"
#include "fuzz_support.h"
#include "util/err.h"

#define TERMINATED(a) (memchr((a), '\0', sizeof(a)) != NULL)

static void check_failure(int rc, const char *err)
{
    FUZZ_CHECK(rc < 0);
    FUZZ_CHECK(strncmp(err, "alpaca: ", 8) == 0);
}

static void check_order(const broker_order *o)
{
    FUZZ_CHECK(TERMINATED(o->client_order_id) && TERMINATED(o->broker_order_id));
    FUZZ_CHECK(TERMINATED(o->symbol) && TERMINATED(o->reason));
    FUZZ_CHECK(o->status >= ORDER_STATUS_NEW && o->status <= ORDER_STATUS_UNSENT);
    FUZZ_CHECK(o->qty >= 0 && o->filled_qty >= 0);
}

static money_t money_at(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    money_t m = 0;
    FUZZ_CHECK(json_is_string(v));
    FUZZ_CHECK(money_parse(json_string_value(v), json_string_length(v), &m) == 0);
    return m;
}

/* The decoded order as a request, encoded, must carry the same decimals. */
static void check_reencode(const alpaca_order *a)
{
    order_request r = {0};
    memcpy(r.client_order_id, a->order.client_order_id, sizeof r.client_order_id);
    memcpy(r.symbol, a->order.symbol, sizeof r.symbol);
    r.side = a->order.side;
    r.type = a->order.type;
    r.qty = a->order.qty;
    r.limit_price = a->order.limit_price;
    r.stop_price = a->order.stop_price;
    char *body = NULL, err[256] = "";
    int rc = alpaca_encode_order(&r, ALPACA_TIF_AUTO, &body, err, sizeof err);
    if (rc != 0) {
        check_failure(rc, err);
        FUZZ_CHECK(body == NULL);
        return;
    }
    json_t *j = json_loads(body, 0, NULL);
    FUZZ_CHECK(j != NULL);
    FUZZ_CHECK(money_at(j, "qty") == r.qty);
    if (r.type == ORDER_LIMIT || r.type == ORDER_STOP_LIMIT)
        FUZZ_CHECK(money_at(j, "limit_price") == r.limit_price);
    if (r.type == ORDER_STOP || r.type == ORDER_STOP_LIMIT)
        FUZZ_CHECK(money_at(j, "stop_price") == r.stop_price);
    json_decref(j);
    free(body);
}

static void fuzz_order(const json_t *j)
{
    alpaca_order a;
    char err[256] = "";
    int rc = alpaca_decode_order(j, &a, err, sizeof err);
    if (rc != 0) {
        check_failure(rc, err);
        return;
    }
    FUZZ_CHECK(a.nlegs >= 0 && a.nlegs <= ALPACA_MAX_LEGS);
    check_order(&a.order);
    for (int i = 0; i < a.nlegs; i++) {
        check_order(&a.legs[i]);
        FUZZ_CHECK(strcmp(a.legs[i].parent_client_order_id, a.order.client_order_id) == 0);
    }
    check_reencode(&a);
}

static void fuzz_trade_update(const json_t *j)
{
    alpaca_trade_update u;
    char err[256] = "";
    int rc = alpaca_decode_trade_update(j, &u, err, sizeof err);
    if (rc != 0) {
        check_failure(rc, err);
        return;
    }
    check_order(&u.order.order);
    FUZZ_CHECK(TERMINATED(u.event_name));
    if (u.has_fill) {
        FUZZ_CHECK(u.fill.qty > 0 && u.fill.price > 0);
        FUZZ_CHECK(u.fill.fill_id[0] != '\0' && TERMINATED(u.fill.fill_id));
    }
}

static void fuzz_small(const json_t *j, int which)
{
    char err[256] = "";
    int rc;
    if (which == 0) {
        broker_position p;
        rc = alpaca_decode_position(j, &p, err, sizeof err);
        FUZZ_CHECK(rc != 0 || (TERMINATED(p.symbol) && p.symbol[0]));
    } else if (which == 1) {
        alpaca_account a;
        rc = alpaca_decode_account(j, &a, err, sizeof err);
        FUZZ_CHECK(rc != 0 || (TERMINATED(a.status) && a.account.day_trades >= 0));
    } else if (which == 2) {
        alpaca_clock c;
        rc = alpaca_decode_clock(j, &c, err, sizeof err);
    } else if (which == 3) {
        alpaca_calendar_day d;
        rc = alpaca_decode_calendar_day(j, &d, err, sizeof err);
        FUZZ_CHECK(rc != 0 || (d.open_minute < 24 * 60 && d.close_minute < 24 * 60));
    } else {
        broker_fill f;
        char oid[64];
        rc = alpaca_decode_fill_activity(j, &f, oid, sizeof oid, err, sizeof err);
        FUZZ_CHECK(rc != 0 || (TERMINATED(f.fill_id) && TERMINATED(oid)));
    }
    if (rc != 0)
        check_failure(rc, err);
}

/* An article that decodes has terminated text without control characters. */
static void check_news(const alpaca_news *n)
{
    FUZZ_CHECK(TERMINATED(n->headline) && TERMINATED(n->source) && n->headline[0] != '\0');
    for (const char *p = n->headline; *p; p++)
        FUZZ_CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
    FUZZ_CHECK(n->nsymbols >= 0 && n->nsymbols <= ALPACA_NEWS_MAX_SYMBOLS);
    for (int i = 0; i < n->nsymbols; i++)
        FUZZ_CHECK(TERMINATED(n->symbols[i]) && n->symbols[i][0]);
}

static void fuzz_news(const json_t *j)
{
    char err[256] = "", token[64];
    alpaca_news *v = NULL;
    int n = -1;
    int rc = alpaca_decode_news_page(j, &v, &n, token, sizeof token, err, sizeof err);
    if (rc != 0) {
        check_failure(rc, err);
        FUZZ_CHECK(v == NULL && n == 0);
    } else {
        FUZZ_CHECK(n >= 0 && (n == 0) == (v == NULL) && TERMINATED(token));
        for (int i = 0; i < n; i++)
            check_news(&v[i]);
        free(v);
    }
    for (size_t i = 0; json_is_array(j) && i < json_array_size(j); i++) {
        alpaca_news a;
        rc = alpaca_decode_news(json_array_get(j, i), &a, err, sizeof err);
        if (rc != 0)
            check_failure(rc, err);
        else
            check_news(&a);
    }
}

static void fuzz_market_data(const json_t *j)
{
    char err[256] = "";
    alpaca_bar *bars = NULL;
    int n = -1;
    char token[64];
    int rc = alpaca_decode_bars(j, &bars, &n, token, sizeof token, err, sizeof err);
    if (rc != 0) {
        check_failure(rc, err);
        FUZZ_CHECK(bars == NULL && n == 0);
    } else {
        FUZZ_CHECK(n >= 0 && (n == 0) == (bars == NULL) && TERMINATED(token));
        for (int i = 0; i < n; i++)
            FUZZ_CHECK(TERMINATED(bars[i].symbol) && bars[i].symbol[0]);
        free(bars);
    }
    const char *syms[] = {"AAPL", "BTC/USD"};
    broker_quote q[2];
    rc = alpaca_decode_snapshots(j, syms, 2, q, err, sizeof err);
    if (rc != 0)
        check_failure(rc, err);
    rc = alpaca_decode_latest_quotes(j, syms, 2, q, err, sizeof err);
    if (rc != 0)
        check_failure(rc, err);
    for (size_t i = 0; json_is_array(j) && i < json_array_size(j); i++) {
        alpaca_md_msg m;
        rc = alpaca_decode_md_message(json_array_get(j, i), &m, err, sizeof err);
        if (rc != 0)
            check_failure(rc, err);
        else
            FUZZ_CHECK(TERMINATED(m.t) && TERMINATED(m.message) && TERMINATED(m.quote.symbol));
    }
    fuzz_news(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int which = data[0] % 9;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    if (which == 8) {
        apex_error e;
        int code;
        int rc = alpaca_decode_error(400 + data[0] % 200, text, len, &code, &e);
        FUZZ_CHECK(rc < 0 && e.code == rc && TERMINATED(e.msg));
        return 0;
    }
    char err[256] = "";
    json_t *j = alpaca_json_parse(text, len, "input", err, sizeof err);
    if (!j) {
        FUZZ_CHECK(strncmp(err, "alpaca: input: line ", 20) == 0);
        return 0;
    }
    if (which == 0)
        fuzz_order(j);
    else if (which == 1)
        fuzz_trade_update(j);
    else if (which == 2)
        fuzz_market_data(j);
    else
        fuzz_small(j, which - 3);
    json_decref(j);
    return 0;
}
