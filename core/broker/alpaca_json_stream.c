/* The trade_updates stream and FILL activities.
 * Events and fields: https://docs.alpaca.markets/docs/websocket-streaming ("Order
 * Updates"); activities: https://docs.alpaca.markets/reference/getaccountactivities. */
#include <stdio.h>
#include <string.h>

#include "broker/alpaca_json_internal.h"

static const char *const event_names[] = {
    [ALPACA_EVENT_NEW] = "new",
    [ALPACA_EVENT_ACCEPTED] = "accepted",
    [ALPACA_EVENT_PENDING_NEW] = "pending_new",
    [ALPACA_EVENT_FILL] = "fill",
    [ALPACA_EVENT_PARTIAL_FILL] = "partial_fill",
    [ALPACA_EVENT_CANCELED] = "canceled",
    [ALPACA_EVENT_EXPIRED] = "expired",
    [ALPACA_EVENT_DONE_FOR_DAY] = "done_for_day",
    [ALPACA_EVENT_REPLACED] = "replaced",
    [ALPACA_EVENT_REJECTED] = "rejected",
    [ALPACA_EVENT_STOPPED] = "stopped",
    [ALPACA_EVENT_PENDING_CANCEL] = "pending_cancel",
    [ALPACA_EVENT_PENDING_REPLACE] = "pending_replace",
    [ALPACA_EVENT_CALCULATED] = "calculated",
    [ALPACA_EVENT_SUSPENDED] = "suspended",
    [ALPACA_EVENT_ORDER_REPLACE_REJECTED] = "order_replace_rejected",
    [ALPACA_EVENT_ORDER_CANCEL_REJECTED] = "order_cancel_rejected",
    [ALPACA_EVENT_RESTATED] = "restated",
    [ALPACA_EVENT_OTHER] = "other",
};

const char *alpaca_event_name(alpaca_event e)
{
    return e >= ALPACA_EVENT_NEW && e <= ALPACA_EVENT_OTHER ? event_names[e] : "other";
}

static alpaca_event event_parse(const char *s)
{
    for (int i = ALPACA_EVENT_NEW; i < ALPACA_EVENT_OTHER; i++)
        if (strcmp(s, event_names[i]) == 0)
            return (alpaca_event)i;
    return ALPACA_EVENT_OTHER;
}

int alpaca_fill_id(const char *order_id, money_t cum_qty, char *out, size_t outlen)
{
    char qty[40];
    money_format_trim(cum_qty, 0, qty, sizeof qty);
    int n = snprintf(out, outlen, "%s:%s", order_id, qty);
    if (n < 0 || (size_t)n >= outlen) {
        if (outlen)
            out[0] = '\0';
        return APEX_ERANGE;
    }
    return 0;
}

/* The fill a fill or partial_fill event reports: this execution's qty and price; the
 * order's cumulative filled_qty names it. */
static int decode_fill(const aj_ctx *c, const json_t *data, alpaca_trade_update *u)
{
    const broker_order *o = &u->order.order;
    broker_fill *f = &u->fill;
    int rc = aj_money(c, data, "qty", AJ_REQUIRED, &f->qty);
    rc = rc ? rc : aj_money(c, data, "price", AJ_REQUIRED, &f->price);
    rc = rc ? rc : aj_money(c, data, "position_qty", 0, &u->position_qty);
    rc = rc ? rc : aj_time(c, data, "timestamp", AJ_REQUIRED, &f->ts);
    if (rc != 0)
        return rc;
    if (f->qty <= 0 || f->price <= 0)
        return aj_fail(c, f->qty <= 0 ? "qty" : "price", APEX_EINVAL, "must be > 0 for a fill");
    if (alpaca_fill_id(o->broker_order_id, o->filled_qty, f->fill_id, sizeof f->fill_id) != 0)
        return aj_fail(c, "order.id", APEX_ERANGE, "too long to make a fill id from");
    memcpy(f->client_order_id, o->client_order_id, BROKER_ID_MAX);
    memcpy(f->symbol, o->symbol, SYMBOL_MAX);
    f->side = o->side;
    f->fee = 0; /* Alpaca reports no per-fill fee on the stream */
    u->has_fill = true;
    return 0;
}

static int check_stream(const aj_ctx *c, const json_t *msg)
{
    char stream[32];
    int rc = aj_need_object(c, msg);
    rc = rc ? rc : aj_string(c, msg, "stream", AJ_REQUIRED, stream, sizeof stream);
    if (rc != 0)
        return rc;
    if (strcmp(stream, "trade_updates") != 0)
        return aj_fail(c, "stream", APEX_ENOTFOUND, "\"%s\", not trade_updates", stream);
    return 0;
}

int alpaca_decode_trade_update(const json_t *msg, alpaca_trade_update *out, char *err,
                               size_t errlen)
{
    aj_ctx top = {"message", err, errlen};
    aj_ctx c = {"data", err, errlen};
    memset(out, 0, sizeof *out);
    int rc = check_stream(&top, msg);
    if (rc != 0)
        return rc;
    const json_t *data = aj_get(msg, "data");
    rc = aj_need_object(&c, data);
    rc = rc ? rc
            : aj_string(&c, data, "event", AJ_REQUIRED, out->event_name, sizeof out->event_name);
    rc = rc ? rc : aj_order("data.order", aj_get(data, "order"), &out->order, err, errlen);
    if (rc != 0)
        return rc;
    out->event = event_parse(out->event_name);
    if (out->event == ALPACA_EVENT_FILL || out->event == ALPACA_EVENT_PARTIAL_FILL) {
        rc = decode_fill(&c, data, out);
        out->ts = out->fill.ts;
        return rc;
    }
    rc = aj_time(&c, data, "timestamp", 0, &out->ts);
    if (rc == 0 && out->ts == 0)
        out->ts = out->order.order.updated_at;
    return rc;
}

static bool streams_include(const json_t *streams, const char *name)
{
    size_t i;
    const json_t *v;
    json_array_foreach(streams, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), name) == 0)
            return true;
    }
    return false;
}

alpaca_stream_kind alpaca_stream_message_kind(const json_t *msg)
{
    const char *stream = json_string_value(aj_get(msg, "stream"));
    const json_t *data = aj_get(msg, "data");
    if (!stream)
        return ALPACA_STREAM_OTHER;
    if (strcmp(stream, "trade_updates") == 0)
        return ALPACA_STREAM_TRADE_UPDATE;
    if (strcmp(stream, "authorization") == 0) {
        const char *status = json_string_value(aj_get(data, "status"));
        return status && strcmp(status, "authorized") == 0 ? ALPACA_STREAM_AUTHORIZED
                                                           : ALPACA_STREAM_UNAUTHORIZED;
    }
    if (strcmp(stream, "listening") == 0)
        return streams_include(aj_get(data, "streams"), "trade_updates")
                   ? ALPACA_STREAM_LISTENING
                   : ALPACA_STREAM_NOT_LISTENING;
    return ALPACA_STREAM_OTHER;
}

/* Appends s as the inside of a JSON string at out[*used]. A control character is
 * APEX_EINVAL (credentials_load refuses those: a guard, not a path). */
static int put_escaped(const char *s, char *out, size_t outlen, size_t *used)
{
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20)
            return APEX_EINVAL;
        bool esc = *s == '"' || *s == '\\';
        if (*used + (esc ? 2 : 1) >= outlen)
            return APEX_ERANGE;
        if (esc)
            out[(*used)++] = '\\';
        out[(*used)++] = *s;
    }
    return 0;
}

static int put_raw(const char *s, char *out, size_t outlen, size_t *used)
{
    size_t n = strlen(s);
    if (*used + n >= outlen)
        return APEX_ERANGE;
    memcpy(out + *used, s, n);
    *used += n;
    return 0;
}

int alpaca_encode_stream_auth(const char *key, const char *secret, char *out, size_t outlen)
{
    size_t used = 0;
    int rc = put_raw("{\"action\":\"auth\",\"key\":\"", out, outlen, &used);
    rc = rc ? rc : put_escaped(key, out, outlen, &used);
    rc = rc ? rc : put_raw("\",\"secret\":\"", out, outlen, &used);
    rc = rc ? rc : put_escaped(secret, out, outlen, &used);
    rc = rc ? rc : put_raw("\"}", out, outlen, &used);
    if (rc != 0) {
        if (outlen > 0)
            explicit_bzero(out, outlen); /* a part of the secret may be in it */
        return rc;
    }
    out[used] = '\0';
    return 0;
}

/* Activities say "sell_short" for a sale that opens a short: still a sell. */
static int activity_side(const aj_ctx *c, const json_t *obj, order_side *out)
{
    char s[16];
    int rc = aj_string(c, obj, "side", AJ_REQUIRED, s, sizeof s);
    if (rc == 0 && strcmp(s, "buy") == 0)
        *out = SIDE_BUY;
    else if (rc == 0 && (strcmp(s, "sell") == 0 || strcmp(s, "sell_short") == 0))
        *out = SIDE_SELL;
    else if (rc == 0 || rc == APEX_ERANGE)
        return aj_fail(c, "side", APEX_EINVAL, "expected buy, sell or sell_short");
    return rc;
}

int alpaca_decode_fill_activity(const json_t *obj, broker_fill *out, char *order_id,
                                size_t order_id_len, char *err, size_t errlen)
{
    aj_ctx c = {"activity", err, errlen};
    char oid[BROKER_ID_MAX], type[24];
    money_t cum = 0;
    memset(out, 0, sizeof *out);
    int rc = aj_need_object(&c, obj);
    rc = rc ? rc : aj_string(&c, obj, "activity_type", AJ_REQUIRED, type, sizeof type);
    if (rc == 0 && strcmp(type, "FILL") != 0)
        return aj_fail(&c, "activity_type", APEX_EINVAL, "\"%s\", not FILL", type);
    rc = rc ? rc : aj_string(&c, obj, "order_id", AJ_REQUIRED, oid, sizeof oid);
    rc = rc ? rc : aj_symbol(&c, obj, "symbol", AJ_REQUIRED, out->symbol);
    rc = rc ? rc : activity_side(&c, obj, &out->side);
    rc = rc ? rc : aj_money(&c, obj, "qty", AJ_REQUIRED, &out->qty);
    rc = rc ? rc : aj_money(&c, obj, "price", AJ_REQUIRED, &out->price);
    rc = rc ? rc : aj_money(&c, obj, "cum_qty", AJ_REQUIRED, &cum);
    rc = rc ? rc : aj_time(&c, obj, "transaction_time", AJ_REQUIRED, &out->ts);
    if (rc != 0)
        return rc;
    if (alpaca_fill_id(oid, cum, out->fill_id, sizeof out->fill_id) != 0)
        return aj_fail(&c, "order_id", APEX_ERANGE, "too long to make a fill id from");
    if (order_id)
        snprintf(order_id, order_id_len, "%s", oid);
    return 0;
}
