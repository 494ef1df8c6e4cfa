/* The order body of POST /v2/orders and Alpaca's order objects.
 * Field names and values: https://docs.alpaca.markets/reference/postorder and
 * https://docs.alpaca.markets/docs/orders-at-alpaca ("Order Lifecycle"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/alpaca_json_internal.h"

/* ---- encoding --------------------------------------------------------------------- */

const char *alpaca_tif_name(alpaca_tif tif, const char *symbol)
{
    static const char *const names[] = {"", "day", "gtc", "ioc", "fok", "opg", "cls"};
    if (tif > ALPACA_TIF_AUTO && tif <= ALPACA_TIF_CLS)
        return names[tif];
    /* Crypto pairs are the only symbols with a '/', and take gtc or ioc only. */
    return symbol && strchr(symbol, '/') ? "gtc" : "day";
}

/* Sets key to the exact decimal text of v: money_format_trim, never a double. */
static int set_decimal(json_t *obj, const char *key, money_t v)
{
    char buf[40];
    money_format_trim(v, 0, buf, sizeof buf);
    return json_object_set_new(obj, key, json_string(buf)) == 0 ? 0 : APEX_ENOMEM;
}

static int set_string(json_t *obj, const char *key, const char *s)
{
    return json_object_set_new(obj, key, json_string(s)) == 0 ? 0 : APEX_ENOMEM;
}

static int check_request(const order_request *r, const aj_ctx *c)
{
    if (!symbol_valid(r->symbol, strnlen(r->symbol, SYMBOL_MAX)))
        return aj_fail(c, "symbol", APEX_EINVAL, "\"%.*s\" is not a symbol (" SYMBOL_CHARS_DOC ")",
                       SYMBOL_MAX - 1, r->symbol);
    if (r->qty <= 0)
        return aj_fail(c, "qty", APEX_EINVAL, "must be > 0");
    if (r->type < ORDER_MARKET || r->type > ORDER_STOP_LIMIT)
        return aj_fail(c, "type", APEX_EINVAL, "unknown order type %d", (int)r->type);
    if (r->side != SIDE_BUY && r->side != SIDE_SELL)
        return aj_fail(c, "side", APEX_EINVAL, "unknown side %d", (int)r->side);
    bool limit = r->type == ORDER_LIMIT || r->type == ORDER_STOP_LIMIT;
    bool stop = r->type == ORDER_STOP || r->type == ORDER_STOP_LIMIT;
    if (limit && r->limit_price <= 0)
        return aj_fail(c, "limit_price", APEX_EINVAL, "must be > 0 for a %s order",
                       order_type_name(r->type));
    if (stop && r->stop_price <= 0)
        return aj_fail(c, "stop_price", APEX_EINVAL, "must be > 0 for a %s order",
                       order_type_name(r->type));
    if (r->take_profit < 0)
        return aj_fail(c, "take_profit.limit_price", APEX_EINVAL, "must be > 0");
    if (r->stop_loss < 0)
        return aj_fail(c, "stop_loss.stop_price", APEX_EINVAL, "must be > 0");
    size_t idlen = strnlen(r->client_order_id, sizeof r->client_order_id);
    if (idlen > ALPACA_CLIENT_ID_MAX)
        return aj_fail(c, "client_order_id", APEX_EINVAL,
                       "%zu bytes; Alpaca accepts at most %d: derive a shorter id", idlen,
                       ALPACA_CLIENT_ID_MAX);
    return 0;
}

/* take_profit / stop_loss objects: {"limit_price":"x"} / {"stop_price":"y"}. */
static int set_leg(json_t *body, const char *key, const char *price_key, money_t price)
{
    json_t *leg = json_object();
    if (!leg || set_decimal(leg, price_key, price) != 0) {
        json_decref(leg);
        return APEX_ENOMEM;
    }
    return json_object_set_new(body, key, leg) == 0 ? 0 : APEX_ENOMEM;
}

static int fill_body(json_t *body, const order_request *r, alpaca_tif tif)
{
    int rc = set_string(body, "symbol", r->symbol);
    rc = rc ? rc : set_decimal(body, "qty", r->qty);
    rc = rc ? rc : set_string(body, "side", order_side_name(r->side));
    rc = rc ? rc : set_string(body, "type", order_type_name(r->type));
    rc = rc ? rc : set_string(body, "time_in_force", alpaca_tif_name(tif, r->symbol));
    if (!rc && (r->type == ORDER_LIMIT || r->type == ORDER_STOP_LIMIT))
        rc = set_decimal(body, "limit_price", r->limit_price);
    if (!rc && (r->type == ORDER_STOP || r->type == ORDER_STOP_LIMIT))
        rc = set_decimal(body, "stop_price", r->stop_price);
    if (!rc && r->client_order_id[0])
        rc = set_string(body, "client_order_id", r->client_order_id);
    bool tp = r->take_profit > 0, sl = r->stop_loss > 0;
    /* Both exits: a bracket. One exit: "oto" (one-triggers-other), Alpaca's class for an
     * entry with a single exit leg; a bracket would be refused without both. */
    if (!rc && (tp || sl))
        rc = set_string(body, "order_class", tp && sl ? "bracket" : "oto");
    if (!rc && tp)
        rc = set_leg(body, "take_profit", "limit_price", r->take_profit);
    if (!rc && sl)
        rc = set_leg(body, "stop_loss", "stop_price", r->stop_loss);
    return rc;
}

int alpaca_encode_replace(const order_change *change, const char *new_client_order_id, char **body,
                          char *err, size_t errlen)
{
    aj_ctx c = {"replace", err, errlen};
    *body = NULL;
    size_t idlen = strlen(new_client_order_id);
    if (idlen == 0 || idlen > ALPACA_CLIENT_ID_MAX)
        return aj_fail(&c, "client_order_id", APEX_EINVAL, "%zu bytes; Alpaca accepts 1 to %d",
                       idlen, ALPACA_CLIENT_ID_MAX);
    if (change->qty <= 0 && change->limit_price <= 0 && change->stop_price <= 0)
        return aj_fail(&c, "qty", APEX_EINVAL, "nothing to change: give qty, limit or stop");
    json_t *obj = json_object();
    int rc = obj ? set_string(obj, "client_order_id", new_client_order_id) : APEX_ENOMEM;
    if (!rc && change->qty > 0)
        rc = set_decimal(obj, "qty", change->qty);
    if (!rc && change->limit_price > 0)
        rc = set_decimal(obj, "limit_price", change->limit_price);
    if (!rc && change->stop_price > 0)
        rc = set_decimal(obj, "stop_price", change->stop_price);
    if (rc == 0) {
        *body = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
        rc = *body ? 0 : APEX_ENOMEM;
    }
    json_decref(obj);
    if (rc == APEX_ENOMEM)
        err_set(err, errlen, rc, "alpaca: replace: out of memory encoding it");
    return rc;
}

int alpaca_encode_order(const order_request *req, alpaca_tif tif, char **body, char *err,
                        size_t errlen)
{
    aj_ctx c = {"order_request", err, errlen};
    *body = NULL;
    int rc = check_request(req, &c);
    if (rc != 0)
        return rc;
    json_t *obj = json_object();
    rc = obj ? fill_body(obj, req, tif) : APEX_ENOMEM;
    if (rc == 0) {
        *body = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
        rc = *body ? 0 : APEX_ENOMEM;
    }
    json_decref(obj);
    if (rc == APEX_ENOMEM)
        err_set(err, errlen, rc, "alpaca: order_request: out of memory encoding the order");
    return rc;
}

/* ---- statuses --------------------------------------------------------------------- */

/* Statuses of an order that still works at Alpaca whatever the status says: it may
 * still fill (done_for_day resumes next session, a pending cancel or replace may lose
 * the race to a fill, a suspended or stopped order is still open), so it is reported
 * by its fill state. */
static order_status working(money_t qty, money_t filled)
{
    return filled > 0 ? ORDER_STATUS_PARTIALLY_FILLED : ORDER_STATUS_ACCEPTED;
}

int alpaca_order_status(const char *s, money_t qty, money_t filled)
{
    /* Acknowledged by Alpaca, not yet filled: the model's NEW is host-side only (not
     * yet acknowledged), so all of these are ACCEPTED. */
    static const char *const accepted[] = {"new", "accepted", "pending_new",
                                           "accepted_for_bidding"};
    static const char *const still_working[] = {"done_for_day", "pending_cancel", "pending_replace",
                                                "suspended", "stopped"};
    for (size_t i = 0; i < sizeof accepted / sizeof *accepted; i++)
        if (strcmp(s, accepted[i]) == 0)
            return ORDER_STATUS_ACCEPTED;
    for (size_t i = 0; i < sizeof still_working / sizeof *still_working; i++)
        if (strcmp(s, still_working[i]) == 0)
            return working(qty, filled);
    if (strcmp(s, "held") == 0) /* a bracket leg waiting for its entry */
        return ORDER_STATUS_HELD;
    if (strcmp(s, "partially_filled") == 0)
        return ORDER_STATUS_PARTIALLY_FILLED;
    if (strcmp(s, "filled") == 0)
        return ORDER_STATUS_FILLED;
    /* Done for the day with settlement pending: filled if everything filled. */
    if (strcmp(s, "calculated") == 0)
        return qty > 0 && filled >= qty ? ORDER_STATUS_FILLED : working(qty, filled);
    /* A replaced order is final; its successor (replaced_by) is a new order. */
    if (strcmp(s, "canceled") == 0 || strcmp(s, "replaced") == 0)
        return ORDER_STATUS_CANCELLED;
    if (strcmp(s, "expired") == 0)
        return ORDER_STATUS_EXPIRED;
    if (strcmp(s, "rejected") == 0)
        return ORDER_STATUS_REJECTED;
    return -1;
}

/* ---- decoding --------------------------------------------------------------------- */

static int decode_type(const aj_ctx *c, const json_t *obj, order_type *out)
{
    char t[24];
    const char *key = aj_get(obj, "type") ? "type" : "order_type";
    int rc = aj_string(c, obj, key, AJ_REQUIRED, t, sizeof t);
    if (rc != 0)
        return rc;
    int parsed = order_type_parse(t);
    /* A trailing stop is a stop whose trigger moves; the host never places one, but it
     * must still see one placed by hand (a duplicate check lists every open order). */
    if (parsed < 0 && strcmp(t, "trailing_stop") == 0)
        parsed = ORDER_STOP;
    if (parsed < 0)
        return aj_fail(c, key, APEX_EINVAL, "unknown order type \"%s\"", t);
    *out = (order_type)parsed;
    return 0;
}

static int decode_status(const aj_ctx *c, const json_t *obj, broker_order *o)
{
    char s[32];
    int rc = aj_string(c, obj, "status", AJ_REQUIRED, s, sizeof s);
    if (rc != 0)
        return rc;
    int st = alpaca_order_status(s, o->qty, o->filled_qty);
    if (st < 0)
        return aj_fail(c, "status", APEX_EINVAL, "unknown order status \"%s\"", s);
    o->status = (order_status)st;
    return 0;
}

/* Why an order ended, from the time stamps Alpaca sets: the status says that it was
 * cancelled, this says since when. */
static void decode_reason(const json_t *obj, broker_order *o)
{
    const json_t *s = aj_get(obj, "status");
    if (!json_is_string(s))
        return;
    if (o->status == ORDER_STATUS_REJECTED || o->status == ORDER_STATUS_CANCELLED ||
        o->status == ORDER_STATUS_EXPIRED)
        snprintf(o->reason, sizeof o->reason, "alpaca status %s", json_string_value(s));
}

static int decode_fields(const aj_ctx *c, const json_t *obj, broker_order *o)
{
    memset(o, 0, sizeof *o);
    int rc = aj_need_object(c, obj);
    rc = rc ? rc : aj_string(c, obj, "id", AJ_REQUIRED, o->broker_order_id, BROKER_ID_MAX);
    rc = rc ? rc
            : aj_string(c, obj, "client_order_id", AJ_REQUIRED, o->client_order_id, BROKER_ID_MAX);
    rc = rc ? rc : aj_symbol(c, obj, "symbol", AJ_REQUIRED, o->symbol);
    if (rc == 0)
        aj_crypto_pair(obj, o->symbol);
    rc = rc ? rc : aj_side(c, obj, "side", &o->side);
    rc = rc ? rc : decode_type(c, obj, &o->type);
    rc = rc ? rc : aj_money(c, obj, "qty", 0, &o->qty);
    rc = rc ? rc : aj_money(c, obj, "filled_qty", 0, &o->filled_qty);
    rc = rc ? rc : aj_money(c, obj, "filled_avg_price", 0, &o->avg_fill_price);
    rc = rc ? rc : aj_money(c, obj, "limit_price", 0, &o->limit_price);
    rc = rc ? rc : aj_money(c, obj, "stop_price", 0, &o->stop_price);
    rc = rc ? rc : aj_time(c, obj, "created_at", AJ_REQUIRED, &o->created_at);
    rc = rc ? rc : aj_time(c, obj, "updated_at", 0, &o->updated_at);
    rc = rc ? rc : decode_status(c, obj, o);
    if (rc != 0)
        return rc;
    if (o->updated_at == 0)
        o->updated_at = o->created_at;
    if (o->qty < 0 || o->filled_qty < 0)
        return aj_fail(c, o->qty < 0 ? "qty" : "filled_qty", APEX_EINVAL, "negative");
    decode_reason(obj, o);
    return 0;
}

/* A leg's role from its type: the take profit is the limit leg, the stop loss the stop
 * (or stop limit) leg. Alpaca marks nothing else that tells them apart. */
static int leg_role(const aj_ctx *c, const broker_order *leg, order_role *role)
{
    if (leg->type == ORDER_LIMIT)
        *role = ORDER_ROLE_TAKE_PROFIT;
    else if (leg->type == ORDER_STOP || leg->type == ORDER_STOP_LIMIT)
        *role = ORDER_ROLE_STOP_LOSS;
    else
        return aj_fail(c, "type", APEX_EINVAL, "a %s leg is neither a take profit nor a stop loss",
                       order_type_name(leg->type));
    return 0;
}

static int decode_leg(const aj_ctx *parent, const json_t *obj, const broker_order *entry,
                      broker_order *leg, size_t i)
{
    char path[96];
    snprintf(path, sizeof path, "%s.legs[%zu]", parent->path, i);
    aj_ctx c = {path, parent->err, parent->errlen};
    order_role role = ORDER_ROLE_ENTRY; /* set by leg_role; gcc -O2 cannot see it */
    int rc = decode_fields(&c, obj, leg);
    rc = rc ? rc : leg_role(&c, leg, &role);
    if (rc != 0)
        return rc;
    leg->role = role;
    memcpy(leg->parent_client_order_id, entry->client_order_id, BROKER_ID_MAX);
    if (order_leg_id(entry->client_order_id, role, leg->client_order_id, BROKER_ID_MAX) != 0)
        return aj_fail(&c, "client_order_id", APEX_ERANGE,
                       "the parent's id is too long to derive a leg id from");
    return 0;
}

static int decode_legs(const aj_ctx *c, const json_t *obj, alpaca_order *out)
{
    const json_t *legs = aj_get(obj, "legs");
    if (!legs)
        return 0;
    if (!json_is_array(legs))
        return aj_fail(c, "legs", APEX_EINVAL, "expected an array or null");
    if (json_array_size(legs) > ALPACA_MAX_LEGS)
        return aj_fail(c, "legs", APEX_EINVAL, "%zu legs; an order has at most %d",
                       json_array_size(legs), ALPACA_MAX_LEGS);
    for (size_t i = 0; i < json_array_size(legs); i++) {
        int rc = decode_leg(c, json_array_get(legs, i), &out->order, &out->legs[i], i);
        if (rc != 0)
            return rc;
        out->nlegs++;
    }
    if (out->nlegs == 2 && out->legs[0].role == out->legs[1].role)
        return aj_fail(c, "legs", APEX_EINVAL, "two %s legs", order_role_name(out->legs[0].role));
    return 0;
}

int aj_order(const char *path, const json_t *obj, alpaca_order *out, char *err, size_t errlen)
{
    aj_ctx c = {path, err, errlen};
    memset(out, 0, sizeof *out);
    int rc = decode_fields(&c, obj, &out->order);
    if (rc != 0)
        return rc;
    /* A standalone order object is the host's entry or exit; a leg decoded on its own
     * (a trade update of a leg) can still be recognised by its derived id. */
    out->order.role = order_leg_parse(out->order.client_order_id, out->order.parent_client_order_id,
                                      BROKER_ID_MAX);
    return decode_legs(&c, obj, out);
}

int alpaca_decode_order(const json_t *obj, alpaca_order *out, char *err, size_t errlen)
{
    return aj_order("order", obj, out, err, errlen);
}
