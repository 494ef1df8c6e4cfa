/* alpaca_json: the codec between Alpaca's JSON and the model types.
 *
 * Fixtures are Alpaca's documented example payloads (the page is named above each). The
 * docs search available when this was written returned excerpts only, so the examples
 * were reproduced from those pages and cross-checked where possible against the mock
 * responses in alpaca-py's tests (github.com/alpacahq/alpaca-py, tests/), which carry
 * the documented values: the order, position, account, bars and crypto snapshot
 * fixtures carry the same decoded values; the clock, calendar, FILL activity, stream frame and
 * stock snapshot fixtures could not be cross-checked that way. The bracket and trade-update
 * fixtures are the documented shapes with values chosen to exercise fractions and
 * partial fills; they say so. Every money value is asserted to the unit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker/alpaca_json.h"
#include "market/timestamp.h"
#include "util/err.h"

/* ---- helpers ---------------------------------------------------------------------- */

static json_t *load(const char *text)
{
    char err[256] = "";
    json_t *root = alpaca_json_parse(text, strlen(text), "fixture", err, sizeof err);
    if (!root)
        fail_msg("fixture does not parse: %s", err);
    return root;
}

static money_t M(const char *s)
{
    money_t v = 0;
    assert_int_equal(money_parse(s, strlen(s), &v), 0);
    return v;
}

static apex_time T(const char *s)
{
    apex_time t = 0;
    assert_int_equal(timestamp_parse(s, strlen(s), &t), 0);
    return t;
}

/* The message of a failing decode must name the field. */
#define assert_err_names(err, field)                                                               \
    do {                                                                                           \
        if (!strstr((err), (field)))                                                               \
            fail_msg("error \"%s\" does not name \"%s\"", (err), (field));                         \
    } while (0)

/* ---- fixtures --------------------------------------------------------------------- */

/* https://docs.alpaca.markets/reference/postorder (201 response example), the order
 * entity of https://docs.alpaca.markets/docs/orders-at-alpaca. */
static const char *ORDER_ACCEPTED =
    "{\"id\": \"61e69015-8549-4bfd-b9c3-01e75843f47d\","
    " \"client_order_id\": \"eb9e2aaa-f71a-4f51-b5b4-52a6c565dad4\","
    " \"created_at\": \"2021-03-16T18:38:01.942282Z\","
    " \"updated_at\": \"2021-03-16T18:38:01.942282Z\","
    " \"submitted_at\": \"2021-03-16T18:38:01.937734Z\","
    " \"filled_at\": null, \"expired_at\": null, \"canceled_at\": null, \"failed_at\": null,"
    " \"replaced_at\": null, \"replaced_by\": null, \"replaces\": null,"
    " \"asset_id\": \"b0b6dd9d-8b9b-48a9-ba46-b9d54906e415\", \"symbol\": \"AAPL\","
    " \"asset_class\": \"us_equity\", \"notional\": null, \"qty\": \"1\", \"filled_qty\": \"0\","
    " \"filled_avg_price\": null, \"order_class\": \"\", \"order_type\": \"market\","
    " \"type\": \"market\", \"side\": \"buy\", \"time_in_force\": \"day\","
    " \"limit_price\": null, \"stop_price\": null, \"status\": \"accepted\","
    " \"extended_hours\": false, \"legs\": null, \"trail_percent\": null,"
    " \"trail_price\": null, \"hwm\": null}";

/* A bracket as GET /v2/orders?nested=true shows it: the documented order entity with
 * order_class "bracket" and its two legs (take profit limit, stop loss stop, both held
 * until the entry fills) -- https://docs.alpaca.markets/docs/orders-at-alpaca#bracket-orders.
 * Prices are fractional and fills partial, to check exact decimals. */
static const char *ORDER_BRACKET =
    "{\"id\": \"b6b4e3b4-6b5e-4c4e-9d5f-1c2a3b4c5d6e\", \"client_order_id\": \"ex42-1\","
    " \"created_at\": \"2021-03-16T18:38:01.942282Z\","
    " \"updated_at\": \"2021-03-16T18:38:05.123456789Z\", \"symbol\": \"AAPL\","
    " \"asset_class\": \"us_equity\", \"qty\": \"10.5\", \"filled_qty\": \"4.25\","
    " \"filled_avg_price\": \"123.4567\", \"order_class\": \"bracket\", \"type\": \"limit\","
    " \"side\": \"buy\", \"time_in_force\": \"gtc\", \"limit_price\": \"123.46\","
    " \"stop_price\": null, \"status\": \"partially_filled\", \"extended_hours\": false,"
    " \"legs\": ["
    "  {\"id\": \"0a1b2c3d-0000-4000-8000-000000000001\","
    "   \"client_order_id\": \"a7e9c2d0-0000-4000-8000-0000000000aa\","
    "   \"created_at\": \"2021-03-16T18:38:01.942282Z\","
    "   \"updated_at\": \"2021-03-16T18:38:01.942282Z\", \"symbol\": \"AAPL\","
    "   \"qty\": \"10.5\", \"filled_qty\": \"0\", \"filled_avg_price\": null,"
    "   \"order_class\": \"bracket\", \"type\": \"limit\", \"side\": \"sell\","
    "   \"time_in_force\": \"gtc\", \"limit_price\": \"141.98\", \"stop_price\": null,"
    "   \"status\": \"held\", \"legs\": null},"
    "  {\"id\": \"0a1b2c3d-0000-4000-8000-000000000002\","
    "   \"client_order_id\": \"a7e9c2d0-0000-4000-8000-0000000000bb\","
    "   \"created_at\": \"2021-03-16T18:38:01.942282Z\","
    "   \"updated_at\": \"2021-03-16T18:38:01.942282Z\", \"symbol\": \"AAPL\","
    "   \"qty\": \"10.5\", \"filled_qty\": \"0\", \"filled_avg_price\": null,"
    "   \"order_class\": \"bracket\", \"type\": \"stop\", \"side\": \"sell\","
    "   \"time_in_force\": \"gtc\", \"limit_price\": null, \"stop_price\": \"117.29\","
    "   \"status\": \"held\", \"legs\": null}]}";

/* The shape of https://docs.alpaca.markets/docs/websocket-streaming ("Order Updates": a
 * fill event with event, execution_id, order, position_qty, price, qty, timestamp); the
 * values are chosen so the fill's price and qty differ from the order's average and
 * cumulative ones. */
static const char *TRADE_UPDATE_FILL =
    "{\"stream\": \"trade_updates\", \"data\": {\"event\": \"fill\","
    " \"execution_id\": \"2f63ea93-423d-4169-b3f6-3fdafc10c418\","
    " \"order\": {\"id\": \"7b7653c4-7468-494a-aeb3-d5f255789473\","
    "  \"client_order_id\": \"ex7-1\", \"created_at\": \"2022-04-18T15:36:13.948353Z\","
    "  \"updated_at\": \"2022-04-18T15:36:14.211711Z\", \"symbol\": \"AAPL\","
    "  \"qty\": \"100\", \"filled_qty\": \"100\", \"filled_avg_price\": \"164.015\","
    "  \"order_class\": \"\", \"type\": \"market\", \"side\": \"buy\","
    "  \"time_in_force\": \"day\", \"limit_price\": null, \"stop_price\": null,"
    "  \"status\": \"filled\", \"legs\": null},"
    " \"position_qty\": \"100\", \"price\": \"164.02\", \"qty\": \"60\","
    " \"timestamp\": \"2022-04-18T15:36:14.207864461Z\"}}";

/* https://docs.alpaca.markets/reference/getopenposition (response example). */
static const char *POSITION =
    "{\"asset_id\": \"904837e3-3b76-47ec-b432-046db621571b\", \"symbol\": \"AAPL\","
    " \"exchange\": \"NASDAQ\", \"asset_class\": \"us_equity\","
    " \"avg_entry_price\": \"100.0\", \"qty\": \"5\", \"qty_available\": \"4\","
    " \"side\": \"long\", \"market_value\": \"600.0\", \"cost_basis\": \"500.0\","
    " \"unrealized_pl\": \"100.0\", \"unrealized_plpc\": \"0.20\","
    " \"unrealized_intraday_pl\": \"10.0\", \"unrealized_intraday_plpc\": \"0.0084\","
    " \"current_price\": \"120.0\", \"lastday_price\": \"119.0\", \"change_today\": \"0.0084\"}";

/* https://docs.alpaca.markets/reference/getaccount-1 (response example). */
static const char *ACCOUNT =
    "{\"account_blocked\": false, \"account_number\": \"010203ABCD\","
    " \"buying_power\": \"262113.632\", \"cash\": \"-23140.2\","
    " \"created_at\": \"2019-06-12T22:47:07.99658Z\", \"currency\": \"USD\","
    " \"daytrade_count\": 0, \"daytrading_buying_power\": \"262113.632\","
    " \"equity\": \"103820.56\", \"id\": \"e6fe16f3-64a4-4921-8928-cadf02f92f98\","
    " \"initial_margin\": \"63480.38\", \"last_equity\": \"103529.24\","
    " \"last_maintenance_margin\": \"38000.832\", \"long_market_value\": \"126960.76\","
    " \"maintenance_margin\": \"38088.228\", \"multiplier\": \"4\","
    " \"pattern_day_trader\": false, \"portfolio_value\": \"103820.56\","
    " \"regt_buying_power\": \"80680.36\", \"short_market_value\": \"0\","
    " \"shorting_enabled\": true, \"sma\": \"0\", \"status\": \"ACTIVE\","
    " \"trade_suspended_by_user\": false, \"trading_blocked\": false,"
    " \"transfers_blocked\": false}";

/* https://docs.alpaca.markets/reference/getclock (response example). */
static const char *CLOCK = "{\"timestamp\": \"2019-08-06T10:23:40.534-04:00\","
                           " \"is_open\": true, \"next_open\": \"2019-08-07T09:30:00-04:00\","
                           " \"next_close\": \"2019-08-06T16:00:00-04:00\"}";

/* https://docs.alpaca.markets/reference/getcalendar (response example). */
static const char *CALENDAR_DAY =
    "{\"date\": \"2018-01-03\", \"open\": \"09:30\", \"close\": \"16:00\","
    " \"session_open\": \"0400\", \"session_close\": \"2000\", \"settlement_date\": "
    "\"2018-01-05\"}";

/* https://docs.alpaca.markets/reference/getaccountactivitiesbyactivitytype (FILL example). */
static const char *FILL_ACTIVITY =
    "{\"activity_type\": \"FILL\", \"cum_qty\": \"1\","
    " \"id\": \"20190524113406977::8efc7b9a-8b2b-4000-9955-d36e7db0df74\","
    " \"leaves_qty\": \"0\", \"price\": \"1.63\", \"qty\": \"1\", \"side\": \"buy\","
    " \"symbol\": \"LPCN\", \"transaction_time\": \"2019-05-24T15:34:06.977Z\","
    " \"order_id\": \"904837e3-3b76-47ec-b432-046db621571b\", \"type\": \"fill\"}";

/* https://docs.alpaca.markets/docs/real-time-stock-pricing-data ("Schema" examples of a
 * minute bar, a quote, a trade and the control messages). */
static const char *MD_FRAME =
    "[{\"T\": \"b\", \"S\": \"SPY\", \"o\": 388.985, \"h\": 389.13, \"l\": 388.975,"
    "  \"c\": 389.12, \"v\": 49378, \"t\": \"2021-02-22T19:15:00Z\"},"
    " {\"T\": \"q\", \"S\": \"AMD\", \"bx\": \"U\", \"bp\": 87.66, \"bs\": 1, \"ax\": \"Q\","
    "  \"ap\": 87.68, \"as\": 4, \"t\": \"2021-02-22T15:51:45.335689322Z\", \"c\": [\"R\"],"
    "  \"z\": \"C\"},"
    " {\"T\": \"t\", \"i\": 96921, \"S\": \"AAPL\", \"x\": \"D\", \"p\": 126.55, \"s\": 1,"
    "  \"t\": \"2021-02-22T15:51:44.208Z\", \"c\": [\"@\", \"I\"], \"z\": \"C\"},"
    " {\"T\": \"success\", \"msg\": \"authenticated\"},"
    " {\"T\": \"error\", \"code\": 402, \"msg\": \"auth failed\"},"
    " {\"T\": \"subscription\", \"trades\": [\"AAPL\"], \"quotes\": [\"AMD\", \"CLDR\"],"
    "  \"bars\": [\"*\"]}]";

/* https://docs.alpaca.markets/reference/stockbars (response example, two daily bars). */
static const char *BARS =
    "{\"bars\": {\"AAPL\": ["
    " {\"t\": \"2022-02-01T05:00:00Z\", \"o\": 174, \"h\": 174.84, \"l\": 172.31,"
    "  \"c\": 174.61, \"v\": 85998033, \"n\": 732412, \"vw\": 173.703516},"
    " {\"t\": \"2022-02-02T05:00:00Z\", \"o\": 174.64, \"h\": 175.88, \"l\": 173.33,"
    "  \"c\": 175.84, \"v\": 84817432, \"n\": 675034, \"vw\": 174.941288}]},"
    " \"next_page_token\": \"QUFQTHxEfDIwMjItMDItMDJUMDU6MDA6MDAuMDAwMDAwMDAwWg==\"}";

/* https://docs.alpaca.markets/reference/stocksnapshots (response example, trimmed to the
 * parts read here; dailyBar and prevDailyBar are ignored). */
static const char *SNAPSHOTS =
    "{\"AAPL\": {\"latestTrade\": {\"t\": \"2021-05-11T20:00:00.435997104Z\", \"x\": \"Q\","
    "  \"p\": 125.91, \"s\": 5589631, \"c\": [\"@\", \"M\"], \"i\": 179430, \"z\": \"C\"},"
    " \"latestQuote\": {\"t\": \"2021-05-11T21:59:59.991636736Z\", \"ax\": \"P\", \"ap\": 126.1,"
    "  \"as\": 9, \"bx\": \"P\", \"bp\": 126.05, \"bs\": 3, \"c\": [\"R\"]},"
    " \"minuteBar\": {\"t\": \"2021-05-11T22:02:00Z\", \"o\": 126.05, \"h\": 126.1,"
    "  \"l\": 126.05, \"c\": 126.1, \"v\": 1061},"
    " \"dailyBar\": {\"t\": \"2021-05-11T04:00:00Z\", \"o\": 123.5, \"h\": 126.27,"
    "  \"l\": 122.77, \"c\": 125.91, \"v\": 125863164}}}";

/* ---- order body ------------------------------------------------------------------- */

static order_request bracket_request(void)
{
    order_request r = {0};
    snprintf(r.client_order_id, sizeof r.client_order_id, "ex42-1");
    snprintf(r.symbol, sizeof r.symbol, "AAPL");
    r.side = SIDE_BUY;
    r.type = ORDER_LIMIT;
    r.qty = M("10.5");
    r.limit_price = M("123.46");
    r.take_profit = M("141.98");
    r.stop_loss = M("117.29");
    return r;
}

static const char *str_at(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    assert_non_null(v);
    assert_true(json_is_string(v)); /* every decimal is a string, never a JSON number */
    return json_string_value(v);
}

static void test_encode_bracket_round_trip(void **state)
{
    (void)state;
    order_request r = bracket_request();
    char *body = NULL, err[256] = "";
    assert_int_equal(alpaca_encode_order(&r, ALPACA_TIF_AUTO, &body, err, sizeof err), 0);
    json_t *o = load(body);
    assert_string_equal(str_at(o, "symbol"), "AAPL");
    assert_string_equal(str_at(o, "qty"), "10.5");
    assert_string_equal(str_at(o, "side"), "buy");
    assert_string_equal(str_at(o, "type"), "limit");
    assert_string_equal(str_at(o, "time_in_force"), "day");
    assert_string_equal(str_at(o, "limit_price"), "123.46");
    assert_string_equal(str_at(o, "client_order_id"), "ex42-1");
    assert_string_equal(str_at(o, "order_class"), "bracket");
    assert_string_equal(str_at(json_object_get(o, "take_profit"), "limit_price"), "141.98");
    assert_string_equal(str_at(json_object_get(o, "stop_loss"), "stop_price"), "117.29");
    assert_null(json_object_get(o, "stop_price")); /* a limit order has no stop price */
    assert_int_equal(json_object_size(o), 10);
    json_decref(o);
    /* Deterministic bytes: sorted keys, compact. */
    assert_string_equal(body, "{\"client_order_id\":\"ex42-1\",\"limit_price\":\"123.46\","
                              "\"order_class\":\"bracket\",\"qty\":\"10.5\",\"side\":\"buy\","
                              "\"stop_loss\":{\"stop_price\":\"117.29\"},\"symbol\":\"AAPL\","
                              "\"take_profit\":{\"limit_price\":\"141.98\"},"
                              "\"time_in_force\":\"day\",\"type\":\"limit\"}");
    free(body);
}

static void test_encode_plain_orders(void **state)
{
    (void)state;
    char *body = NULL;
    /* A crypto stop limit with 8 decimals: gtc by default, both prices, no class. */
    order_request r = {0};
    snprintf(r.symbol, sizeof r.symbol, "BTC/USD");
    r.side = SIDE_SELL;
    r.type = ORDER_STOP_LIMIT;
    r.qty = M("0.00012345");
    r.stop_price = M("64999.5");
    r.limit_price = M("64990.12345678");
    assert_int_equal(alpaca_encode_order(&r, ALPACA_TIF_AUTO, &body, NULL, 0), 0);
    json_t *o = load(body);
    assert_string_equal(str_at(o, "qty"), "0.00012345");
    assert_string_equal(str_at(o, "time_in_force"), "gtc");
    assert_string_equal(str_at(o, "stop_price"), "64999.5");
    assert_string_equal(str_at(o, "limit_price"), "64990.12345678");
    assert_string_equal(str_at(o, "side"), "sell");
    assert_string_equal(str_at(o, "type"), "stop_limit");
    assert_null(json_object_get(o, "order_class"));
    assert_null(json_object_get(o, "client_order_id")); /* empty: Alpaca assigns one */
    json_decref(o);
    free(body);

    /* A market order with only a stop loss: "oto"; an explicit tif wins. */
    order_request m = {0};
    snprintf(m.symbol, sizeof m.symbol, "SPY");
    snprintf(m.client_order_id, sizeof m.client_order_id, "x");
    m.type = ORDER_MARKET;
    m.qty = M("3");
    m.stop_loss = M("400.01");
    assert_int_equal(alpaca_encode_order(&m, ALPACA_TIF_GTC, &body, NULL, 0), 0);
    o = load(body);
    assert_string_equal(str_at(o, "qty"), "3");
    assert_string_equal(str_at(o, "type"), "market");
    assert_string_equal(str_at(o, "time_in_force"), "gtc");
    assert_string_equal(str_at(o, "order_class"), "oto");
    assert_string_equal(str_at(json_object_get(o, "stop_loss"), "stop_price"), "400.01");
    assert_null(json_object_get(o, "take_profit"));
    assert_null(json_object_get(o, "limit_price"));
    json_decref(o);
    free(body);
}

static void test_encode_rejects_bad_requests(void **state)
{
    (void)state;
    char *body = (char *)"untouched", err[256];
    order_request r = bracket_request();
    /* 49 bytes: one over Alpaca's limit. */
    memset(r.client_order_id, 'a', 49);
    r.client_order_id[49] = '\0';
    assert_int_equal(alpaca_encode_order(&r, ALPACA_TIF_AUTO, &body, err, sizeof err), APEX_EINVAL);
    assert_null(body);
    assert_err_names(err, "client_order_id");
    r.client_order_id[48] = '\0'; /* exactly 48 is fine */
    assert_int_equal(alpaca_encode_order(&r, ALPACA_TIF_AUTO, &body, err, sizeof err), 0);
    free(body);

    r = bracket_request();
    r.qty = 0;
    assert_int_equal(alpaca_encode_order(&r, 0, &body, err, sizeof err), APEX_EINVAL);
    assert_err_names(err, "qty");
    r = bracket_request();
    r.limit_price = 0;
    assert_int_equal(alpaca_encode_order(&r, 0, &body, err, sizeof err), APEX_EINVAL);
    assert_err_names(err, "limit_price");
    r = bracket_request();
    r.type = ORDER_STOP;
    assert_int_equal(alpaca_encode_order(&r, 0, &body, err, sizeof err), APEX_EINVAL);
    assert_err_names(err, "stop_price");
    r = bracket_request();
    snprintf(r.symbol, sizeof r.symbol, "AA PL");
    assert_int_equal(alpaca_encode_order(&r, 0, &body, err, sizeof err), APEX_EINVAL);
    assert_err_names(err, "symbol");
}

/* ---- order objects ---------------------------------------------------------------- */

static void test_decode_documented_order(void **state)
{
    (void)state;
    json_t *j = load(ORDER_ACCEPTED);
    alpaca_order a;
    char err[256] = "";
    assert_int_equal(alpaca_decode_order(j, &a, err, sizeof err), 0);
    const broker_order *o = &a.order;
    assert_string_equal(o->broker_order_id, "61e69015-8549-4bfd-b9c3-01e75843f47d");
    assert_string_equal(o->client_order_id, "eb9e2aaa-f71a-4f51-b5b4-52a6c565dad4");
    assert_string_equal(o->symbol, "AAPL");
    assert_int_equal(o->side, SIDE_BUY);
    assert_int_equal(o->type, ORDER_MARKET);
    assert_int_equal(o->role, ORDER_ROLE_ENTRY);
    assert_int_equal(o->status, ORDER_STATUS_ACCEPTED);
    assert_true(o->qty == MONEY(1));
    assert_true(o->filled_qty == 0 && o->avg_fill_price == 0);
    assert_true(o->limit_price == 0 && o->stop_price == 0);
    /* 2021-03-16T18:38:01.942282Z, to the microsecond */
    assert_true(o->created_at == 1615919881942282LL);
    assert_true(o->updated_at == o->created_at);
    assert_int_equal(a.nlegs, 0);
    json_decref(j);
}

static void test_decode_bracket_with_legs(void **state)
{
    (void)state;
    json_t *j = load(ORDER_BRACKET);
    alpaca_order a;
    char err[256] = "";
    assert_int_equal(alpaca_decode_order(j, &a, err, sizeof err), 0);
    assert_int_equal(a.order.status, ORDER_STATUS_PARTIALLY_FILLED);
    assert_true(a.order.qty == 1050000000LL);
    assert_true(a.order.filled_qty == 425000000LL);
    assert_true(a.order.avg_fill_price == 12345670000LL);
    assert_true(a.order.limit_price == 12346000000LL);
    /* nanoseconds truncate to microseconds */
    assert_true(a.order.updated_at == T("2021-03-16T18:38:05.123456Z"));
    assert_int_equal(a.nlegs, 2);
    const broker_order *tp = &a.legs[0], *sl = &a.legs[1];
    assert_int_equal(tp->role, ORDER_ROLE_TAKE_PROFIT);
    assert_string_equal(tp->client_order_id, "ex42-1-tp");
    assert_string_equal(tp->parent_client_order_id, "ex42-1");
    assert_string_equal(tp->broker_order_id, "0a1b2c3d-0000-4000-8000-000000000001");
    assert_int_equal(tp->status, ORDER_STATUS_HELD);
    assert_int_equal(tp->side, SIDE_SELL);
    assert_true(tp->limit_price == 14198000000LL);
    assert_int_equal(sl->role, ORDER_ROLE_STOP_LOSS);
    assert_string_equal(sl->client_order_id, "ex42-1-sl");
    assert_int_equal(sl->type, ORDER_STOP);
    assert_true(sl->stop_price == 11729000000LL);
    assert_true(sl->qty == a.order.qty);
    json_decref(j);
}

static void test_status_mapping(void **state)
{
    (void)state;
    const money_t q = MONEY(10), none = 0, some = MONEY(4);
    struct {
        const char *s;
        money_t filled;
        int want;
    } cases[] = {
        {"new", none, ORDER_STATUS_ACCEPTED},
        {"accepted", none, ORDER_STATUS_ACCEPTED},
        {"pending_new", none, ORDER_STATUS_ACCEPTED},
        {"accepted_for_bidding", none, ORDER_STATUS_ACCEPTED},
        {"held", none, ORDER_STATUS_HELD},
        {"partially_filled", some, ORDER_STATUS_PARTIALLY_FILLED},
        {"filled", q, ORDER_STATUS_FILLED},
        {"done_for_day", none, ORDER_STATUS_ACCEPTED},
        {"done_for_day", some, ORDER_STATUS_PARTIALLY_FILLED},
        {"pending_cancel", none, ORDER_STATUS_ACCEPTED},
        {"pending_cancel", some, ORDER_STATUS_PARTIALLY_FILLED},
        {"pending_replace", none, ORDER_STATUS_ACCEPTED},
        {"suspended", none, ORDER_STATUS_ACCEPTED},
        {"stopped", some, ORDER_STATUS_PARTIALLY_FILLED},
        {"calculated", q, ORDER_STATUS_FILLED},
        {"calculated", some, ORDER_STATUS_PARTIALLY_FILLED},
        {"canceled", some, ORDER_STATUS_CANCELLED},
        {"replaced", none, ORDER_STATUS_CANCELLED},
        {"expired", none, ORDER_STATUS_EXPIRED},
        {"rejected", none, ORDER_STATUS_REJECTED},
        {"cancelled", none, -1}, /* Alpaca spells it "canceled" */
        {"", none, -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (alpaca_order_status(cases[i].s, q, cases[i].filled) != cases[i].want)
            fail_msg("status \"%s\" (filled %lld): got %d, want %d", cases[i].s,
                     (long long)cases[i].filled,
                     alpaca_order_status(cases[i].s, q, cases[i].filled), cases[i].want);
}

/* Replaces "from" in a fixture by "to" (first occurrence) and decodes the result. */
static int decode_patched(const char *fixture, const char *from, const char *to, char *err,
                          size_t errlen)
{
    const char *at = strstr(fixture, from);
    assert_non_null(at);
    size_t n = strlen(fixture) + strlen(to) + 1;
    char *text = malloc(n);
    assert_non_null(text);
    snprintf(text, n, "%.*s%s%s", (int)(at - fixture), fixture, to, at + strlen(from));
    json_t *j = load(text);
    alpaca_order a;
    int rc = alpaca_decode_order(j, &a, err, errlen);
    json_decref(j);
    free(text);
    return rc;
}

static void test_decode_order_rejects_bad_fields(void **state)
{
    (void)state;
    char err[256];
    /* A real where a decimal string belongs: never rounded through a double. */
    assert_int_equal(
        decode_patched(ORDER_ACCEPTED, "\"qty\": \"1\"", "\"qty\": 1.5", err, sizeof err),
        APEX_EINVAL);
    assert_err_names(err, "order.qty");
    /* A JSON integer is exact and accepted (alpaca-py's mocks send "qty": 1). */
    assert_int_equal(
        decode_patched(ORDER_ACCEPTED, "\"qty\": \"1\"", "\"qty\": 1", err, sizeof err), 0);
    assert_int_equal(
        decode_patched(ORDER_ACCEPTED, "\"qty\": \"1\"", "\"qty\": \"1.2.3\"", err, sizeof err),
        APEX_EINVAL);
    assert_err_names(err, "order.qty");
    assert_int_equal(decode_patched(ORDER_ACCEPTED,
                                    "\"id\": \"61e69015-8549-4bfd-b9c3-01e75843f47d\",", "", err,
                                    sizeof err),
                     APEX_EINVAL);
    assert_err_names(err, "order.id");
    assert_int_equal(decode_patched(ORDER_ACCEPTED, "\"status\": \"accepted\"",
                                    "\"status\": \"exploded\"", err, sizeof err),
                     APEX_EINVAL);
    assert_err_names(err, "order.status");
    assert_int_equal(
        decode_patched(ORDER_ACCEPTED, "\"side\": \"buy\"", "\"side\": 1", err, sizeof err),
        APEX_EINVAL);
    assert_err_names(err, "order.side");
    assert_int_equal(decode_patched(ORDER_ACCEPTED,
                                    "\"created_at\": \"2021-03-16T18:38:01.942282Z\"",
                                    "\"created_at\": \"yesterday\"", err, sizeof err),
                     APEX_EINVAL);
    assert_err_names(err, "order.created_at");
    assert_int_equal(decode_patched(ORDER_BRACKET, "\"stop_price\": \"117.29\"",
                                    "\"stop_price\": 117.29", err, sizeof err),
                     APEX_EINVAL);
    assert_err_names(err, "order.legs[1].stop_price");
    assert_int_equal(
        decode_patched(ORDER_ACCEPTED, "\"legs\": null", "\"legs\": {}", err, sizeof err),
        APEX_EINVAL);
    assert_err_names(err, "order.legs");
    /* Not an object at all. */
    json_t *arr = load("[1, 2]");
    alpaca_order a;
    assert_int_equal(alpaca_decode_order(arr, &a, err, sizeof err), APEX_EINVAL);
    assert_err_names(err, "order");
    json_decref(arr);
}

static void test_parse_reports_position(void **state)
{
    (void)state;
    char err[256] = "";
    const char *cut = "{\"id\": \"61e69015\", \"qty\": ";
    assert_null(alpaca_json_parse(cut, strlen(cut), "GET /v2/orders", err, sizeof err));
    assert_err_names(err, "GET /v2/orders: line 1");
    assert_null(alpaca_json_parse("{\"a\":1,\"a\":2}", 13, "body", err, sizeof err));
    assert_err_names(err, "duplicate");
}

/* ---- trade updates and fills ------------------------------------------------------ */

static void test_stream_control_messages(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        alpaca_stream_kind kind;
    } cases[] = {
        {"{\"stream\":\"authorization\",\"data\":{\"action\":\"authenticate\","
         "\"status\":\"authorized\"}}",
         ALPACA_STREAM_AUTHORIZED},
        {"{\"stream\":\"authorization\",\"data\":{\"action\":\"authenticate\","
         "\"status\":\"unauthorized\"}}",
         ALPACA_STREAM_UNAUTHORIZED},
        {"{\"stream\":\"authorization\"}", ALPACA_STREAM_UNAUTHORIZED},
        {"{\"stream\":\"listening\",\"data\":{\"streams\":[\"trade_updates\"]}}",
         ALPACA_STREAM_LISTENING},
        {"{\"stream\":\"listening\",\"data\":{\"streams\":[]}}", ALPACA_STREAM_NOT_LISTENING},
        {"{\"stream\":\"listening\",\"data\":{\"error\":\"invalid syntax\"}}",
         ALPACA_STREAM_NOT_LISTENING},
        {"{\"stream\":\"trade_updates\",\"data\":{}}", ALPACA_STREAM_TRADE_UPDATE},
        {"{\"stream\":\"news\"}", ALPACA_STREAM_OTHER},
        {"{\"stream\":7}", ALPACA_STREAM_OTHER},
        {"[1,2]", ALPACA_STREAM_OTHER},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *j = load(cases[i].text);
        assert_int_equal(alpaca_stream_message_kind(j), cases[i].kind);
        json_decref(j);
    }
    json_t *listen = load(ALPACA_STREAM_LISTEN);
    assert_string_equal(json_string_value(json_object_get(listen, "action")), "listen");
    json_decref(listen);
}

static void test_stream_auth_message(void **state)
{
    (void)state;
    char out[128];
    assert_int_equal(alpaca_encode_stream_auth("PK1", "s\"e\\c", out, sizeof out), 0);
    json_t *j = load(out); /* valid JSON, values intact */
    assert_string_equal(json_string_value(json_object_get(j, "action")), "auth");
    assert_string_equal(json_string_value(json_object_get(j, "key")), "PK1");
    assert_string_equal(json_string_value(json_object_get(j, "secret")), "s\"e\\c");
    json_decref(j);
    assert_int_equal(alpaca_encode_stream_auth("PK1", "a\nb", out, sizeof out), APEX_EINVAL);
    assert_int_equal(alpaca_encode_stream_auth("PK1", "0123456789", out, 40), APEX_ERANGE);
    for (size_t i = 0; i < 40; i++)
        assert_int_equal(out[i], 0); /* nothing of the secret left behind */
}

static void test_trade_update_fill(void **state)
{
    (void)state;
    json_t *j = load(TRADE_UPDATE_FILL);
    alpaca_trade_update u;
    char err[256] = "";
    assert_int_equal(alpaca_decode_trade_update(j, &u, err, sizeof err), 0);
    assert_int_equal(u.event, ALPACA_EVENT_FILL);
    assert_string_equal(u.event_name, "fill");
    assert_int_equal(u.order.order.status, ORDER_STATUS_FILLED);
    assert_true(u.order.order.avg_fill_price == M("164.015"));
    assert_true(u.has_fill);
    assert_true(u.fill.qty == MONEY(60));
    assert_true(u.fill.price == M("164.02"));
    assert_true(u.position_qty == MONEY(100));
    assert_true(u.fill.ts == T("2022-04-18T15:36:14.207864Z"));
    assert_true(u.ts == u.fill.ts);
    assert_string_equal(u.fill.client_order_id, "ex7-1");
    assert_string_equal(u.fill.symbol, "AAPL");
    assert_int_equal(u.fill.side, SIDE_BUY);
    /* order id + cumulative filled qty, the same id polling derives */
    assert_string_equal(u.fill.fill_id, "7b7653c4-7468-494a-aeb3-d5f255789473:100");
    json_decref(j);
}

static void test_trade_update_other_events(void **state)
{
    (void)state;
    char err[256] = "";
    alpaca_trade_update u;
    /* A cancel: no fill; ts from "timestamp". */
    char text[4096];
    snprintf(text, sizeof text,
             "{\"stream\":\"trade_updates\",\"data\":{\"event\":\"canceled\","
             "\"timestamp\":\"2021-03-16T18:40:00Z\",\"order\":%s}}",
             ORDER_ACCEPTED);
    char *p = strstr(text, "\"status\": \"accepted\"");
    assert_non_null(p);
    memcpy(p, "\"status\": \"canceled\"", strlen("\"status\": \"canceled\""));
    json_t *j = load(text);
    assert_int_equal(alpaca_decode_trade_update(j, &u, err, sizeof err), 0);
    assert_int_equal(u.event, ALPACA_EVENT_CANCELED);
    assert_false(u.has_fill);
    assert_int_equal(u.order.order.status, ORDER_STATUS_CANCELLED);
    assert_true(u.ts == T("2021-03-16T18:40:00Z"));
    json_decref(j);

    /* An event this codec does not know still yields its order. */
    snprintf(text, sizeof text,
             "{\"stream\":\"trade_updates\",\"data\":{\"event\":\"brand_new_event\",\"order\":%s}}",
             ORDER_ACCEPTED);
    j = load(text);
    assert_int_equal(alpaca_decode_trade_update(j, &u, err, sizeof err), 0);
    assert_int_equal(u.event, ALPACA_EVENT_OTHER);
    assert_string_equal(u.event_name, "brand_new_event");
    assert_true(u.ts == u.order.order.updated_at);
    json_decref(j);

    /* Another stream is ENOTFOUND, so the caller can route it. */
    j = load("{\"stream\":\"authorization\",\"data\":{\"status\":\"authorized\"}}");
    assert_int_equal(alpaca_decode_trade_update(j, &u, err, sizeof err), APEX_ENOTFOUND);
    json_decref(j);

    /* A fill without a price names the field. */
    snprintf(text, sizeof text,
             "{\"stream\":\"trade_updates\",\"data\":{\"event\":\"partial_fill\",\"qty\":\"1\","
             "\"timestamp\":\"2021-03-16T18:40:00Z\",\"order\":%s}}",
             ORDER_ACCEPTED);
    j = load(text);
    assert_int_equal(alpaca_decode_trade_update(j, &u, err, sizeof err), APEX_EINVAL);
    assert_err_names(err, "data.price");
    json_decref(j);
}

static void test_fill_activity_dedupes_with_stream(void **state)
{
    (void)state;
    json_t *j = load(FILL_ACTIVITY);
    broker_fill f;
    char oid[64], err[256] = "";
    assert_int_equal(alpaca_decode_fill_activity(j, &f, oid, sizeof oid, err, sizeof err), 0);
    assert_string_equal(oid, "904837e3-3b76-47ec-b432-046db621571b");
    assert_string_equal(f.symbol, "LPCN");
    assert_true(f.qty == MONEY(1) && f.price == M("1.63"));
    assert_true(f.ts == T("2019-05-24T15:34:06.977Z"));
    char id[64];
    assert_int_equal(alpaca_fill_id(oid, MONEY(1), id, sizeof id), 0);
    assert_string_equal(f.fill_id, id);
    assert_int_equal(alpaca_fill_id(oid, M("2.5"), id, sizeof id), 0);
    assert_string_equal(id, "904837e3-3b76-47ec-b432-046db621571b:2.5");
    assert_int_equal(alpaca_fill_id(oid, MONEY(1), id, 10), APEX_ERANGE);
    json_decref(j);
}

/* ---- positions, account, clock, calendar ------------------------------------------ */

static void test_position(void **state)
{
    (void)state;
    json_t *j = load(POSITION);
    broker_position p;
    char err[256] = "";
    assert_int_equal(alpaca_decode_position(j, &p, err, sizeof err), 0);
    assert_string_equal(p.symbol, "AAPL");
    assert_true(p.qty == MONEY(5));
    assert_true(p.avg_entry_price == MONEY(100));
    assert_true(p.market_price == MONEY(120));
    assert_true(p.unrealized_pnl == MONEY(100));
    json_decref(j);
    /* A short: Alpaca's negative qty stays negative; a positive one is negated. */
    j = load(
        "{\"symbol\":\"TSLA\",\"qty\":\"-2.5\",\"side\":\"short\",\"avg_entry_price\":\"700.01\"}");
    assert_int_equal(alpaca_decode_position(j, &p, err, sizeof err), 0);
    assert_true(p.qty == -250000000LL);
    json_decref(j);
    j = load(
        "{\"symbol\":\"TSLA\",\"qty\":\"2.5\",\"side\":\"short\",\"avg_entry_price\":\"700.01\"}");
    assert_int_equal(alpaca_decode_position(j, &p, err, sizeof err), 0);
    assert_true(p.qty == -250000000LL && p.avg_entry_price == 70001000000LL);
    json_decref(j);
    j = load("{\"symbol\":\"TSLA\",\"qty\":\"2\",\"side\":\"sideways\",\"avg_entry_price\":\"1\"}");
    assert_int_equal(alpaca_decode_position(j, &p, err, sizeof err), APEX_EINVAL);
    assert_err_names(err, "position.side");
    json_decref(j);
}

/* Alpaca's positions name a crypto pair the old way ("BTCUSD", asset_class crypto): the
 * host knows it as BTC/USD, or reconciliation would think the position gone. Its docs'
 * asset example (BTC/USD pair) decodes with tradable and fractionable. */
static void test_crypto_pairs_and_assets(void **state)
{
    (void)state;
    broker_position p;
    char err[256] = "";
    const char *cases[][2] = {{"BTCUSD", "BTC/USD"},
                              {"ETHUSDT", "ETH/USDT"},
                              {"LINKUSDC", "LINK/USDC"},
                              {"ETHBTC", "ETH/BTC"},
                              {"BTC/USD", "BTC/USD"}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char text[256];
        snprintf(text, sizeof text,
                 "{\"symbol\":\"%s\",\"asset_class\":\"crypto\",\"qty\":\"0.0123\","
                 "\"side\":\"long\",\"avg_entry_price\":\"43250.125\"}",
                 cases[i][0]);
        json_t *j = load(text);
        assert_int_equal(alpaca_decode_position(j, &p, err, sizeof err), 0);
        assert_string_equal(p.symbol, cases[i][1]);
        assert_true(p.qty == M("0.0123") && p.avg_entry_price == M("43250.125"));
        json_decref(j);
    }
    /* A stock whose name ends in USD is not a pair. */
    json_t *j = load("{\"symbol\":\"XUSD\",\"asset_class\":\"us_equity\",\"qty\":\"1\","
                     "\"side\":\"long\",\"avg_entry_price\":\"1\"}");
    assert_int_equal(alpaca_decode_position(j, &p, err, sizeof err), 0);
    assert_string_equal(p.symbol, "XUSD");
    json_decref(j);
    char seg[SYMBOL_MAX];
    alpaca_path_symbol("BTC/USD", seg, sizeof seg);
    assert_string_equal(seg, "BTCUSD");
    alpaca_path_symbol("BRK.B", seg, sizeof seg);
    assert_string_equal(seg, "BRK.B");

    alpaca_asset a;
    j = load("{\"id\":\"276e2673-764b-4ab6-a611-caf665ca6340\",\"class\":\"crypto\","
             "\"exchange\":\"ALPACA\",\"symbol\":\"BTC/USD\",\"name\":\"BTC/USD pair\","
             "\"status\":\"active\",\"tradable\":true,\"marginable\":false,"
             "\"shortable\":false,\"easy_to_borrow\":false,\"fractionable\":true,"
             "\"min_order_size\":\"0.0001\",\"min_trade_increment\":\"0.0001\","
             "\"price_increment\":\"1\"}");
    assert_int_equal(alpaca_decode_asset(j, &a, err, sizeof err), 0);
    assert_string_equal(a.symbol, "BTC/USD");
    assert_string_equal(a.asset_class, "crypto");
    assert_string_equal(a.status, "active");
    assert_true(a.tradable && a.fractionable && !a.shortable);
    json_decref(j);
    j = load("{\"symbol\":\"AAPL\",\"status\":\"active\"}");
    assert_int_equal(alpaca_decode_asset(j, &a, err, sizeof err), APEX_EINVAL);
    assert_err_names(err, "asset.tradable");
    json_decref(j);
}

static void test_account(void **state)
{
    (void)state;
    json_t *j = load(ACCOUNT);
    alpaca_account a;
    char err[256] = "";
    assert_int_equal(alpaca_decode_account(j, &a, err, sizeof err), 0);
    assert_true(a.account.cash == M("-23140.2"));
    assert_true(a.account.equity == 10382056000000LL);
    assert_true(a.account.buying_power == 26211363200000LL);
    assert_true(a.last_equity == M("103529.24"));
    assert_int_equal(a.account.day_trades, 0);
    assert_false(a.pattern_day_trader);
    assert_false(a.trading_blocked);
    assert_string_equal(a.status, "ACTIVE");
    json_decref(j);
    j = load("{\"cash\":\"1\",\"equity\":\"1\",\"buying_power\":1e3}");
    assert_int_equal(alpaca_decode_account(j, &a, err, sizeof err), APEX_EINVAL);
    assert_err_names(err, "account.buying_power");
    json_decref(j);
}

static void test_clock_and_calendar(void **state)
{
    (void)state;
    json_t *j = load(CLOCK);
    alpaca_clock c;
    char err[256] = "";
    assert_int_equal(alpaca_decode_clock(j, &c, err, sizeof err), 0);
    assert_true(c.is_open);
    assert_true(c.timestamp == T("2019-08-06T14:23:40.534Z"));
    assert_true(c.next_open == T("2019-08-07T13:30:00Z"));
    assert_true(c.next_close == T("2019-08-06T20:00:00Z"));
    json_decref(j);

    j = load(CALENDAR_DAY);
    alpaca_calendar_day d;
    assert_int_equal(alpaca_decode_calendar_day(j, &d, err, sizeof err), 0);
    assert_int_equal(d.year, 2018);
    assert_int_equal(d.month, 1);
    assert_int_equal(d.day, 3);
    assert_int_equal(d.open_minute, 9 * 60 + 30);
    assert_int_equal(d.close_minute, 16 * 60);
    assert_true(d.open == T("2018-01-03T14:30:00Z")); /* EST, UTC-5 */
    assert_true(d.close == T("2018-01-03T21:00:00Z"));
    json_decref(j);
    /* Summer time, and the days around the 2024 switches (Mar 10, Nov 3). */
    const struct {
        const char *date, *open_utc;
    } days[] = {{"2024-07-01", "2024-07-01T13:30:00Z"},
                {"2024-03-08", "2024-03-08T14:30:00Z"},
                {"2024-03-11", "2024-03-11T13:30:00Z"},
                {"2024-11-01", "2024-11-01T13:30:00Z"},
                {"2024-11-04", "2024-11-04T14:30:00Z"}};
    for (size_t i = 0; i < sizeof days / sizeof days[0]; i++) {
        char text[128];
        snprintf(text, sizeof text, "{\"date\":\"%s\",\"open\":\"09:30\",\"close\":\"13:00\"}",
                 days[i].date);
        j = load(text);
        assert_int_equal(alpaca_decode_calendar_day(j, &d, err, sizeof err), 0);
        if (d.open != T(days[i].open_utc))
            fail_msg("%s: open is not %s", days[i].date, days[i].open_utc);
        json_decref(j);
    }
    j = load("{\"date\":\"2018-01-03\",\"open\":\"9:30\",\"close\":\"16:00\"}");
    assert_int_equal(alpaca_decode_calendar_day(j, &d, err, sizeof err), APEX_EINVAL);
    assert_err_names(err, "calendar.open");
    json_decref(j);
}

/* ---- market data ------------------------------------------------------------------ */

static void test_md_stream_frame(void **state)
{
    (void)state;
    json_t *frame = load(MD_FRAME);
    alpaca_md_msg m[6];
    char err[256] = "";
    assert_int_equal(json_array_size(frame), 6);
    for (size_t i = 0; i < 6; i++)
        if (alpaca_decode_md_message(json_array_get(frame, i), &m[i], err, sizeof err) != 0)
            fail_msg("message %zu: %s", i, err);
    assert_int_equal(m[0].type, ALPACA_MD_BAR);
    assert_string_equal(m[0].bar.symbol, "SPY");
    assert_true(m[0].bar.b.open == 38898500000LL);
    assert_true(m[0].bar.b.high == 38913000000LL);
    assert_true(m[0].bar.b.low == 38897500000LL);
    assert_true(m[0].bar.b.close == 38912000000LL);
    assert_true(m[0].bar.b.volume == MONEY(49378));
    assert_true(m[0].bar.b.ts == T("2021-02-22T19:15:00Z"));
    assert_int_equal(m[0].bar.b.symbol_id, -1);
    assert_int_equal(m[1].type, ALPACA_MD_QUOTE);
    assert_string_equal(m[1].quote.symbol, "AMD");
    assert_true(m[1].quote.bid == 8766000000LL && m[1].quote.ask == 8768000000LL);
    assert_true(m[1].quote.quoted);
    assert_true(m[1].quote.ts == T("2021-02-22T15:51:45.335689Z"));
    assert_int_equal(m[2].type, ALPACA_MD_TRADE);
    assert_true(m[2].quote.last == 12655000000LL && m[2].quote.volume == MONEY(1));
    assert_int_equal(m[3].type, ALPACA_MD_SUCCESS);
    assert_string_equal(m[3].message, "authenticated");
    assert_int_equal(m[4].type, ALPACA_MD_ERROR);
    assert_int_equal(m[4].code, 402);
    assert_string_equal(m[4].message, "auth failed");
    assert_int_equal(m[5].type, ALPACA_MD_SUBSCRIPTION);
    json_decref(frame);

    json_t *bad = load("{\"T\":\"b\",\"S\":\"SPY\",\"o\":\"1\",\"h\":1,\"l\":1,\"c\":1,\"v\":1,"
                       "\"t\":\"2021-02-22T19:15:00Z\"}");
    alpaca_md_msg x;
    assert_int_equal(alpaca_decode_md_message(bad, &x, err, sizeof err), 0); /* string ok */
    json_decref(bad);
    bad = load("{\"T\":\"q\",\"S\":\"SPY\",\"bp\":true,\"ap\":1,\"t\":\"2021-02-22T19:15:00Z\"}");
    assert_int_equal(alpaca_decode_md_message(bad, &x, err, sizeof err), APEX_EINVAL);
    assert_err_names(err, ".bp");
    json_decref(bad);
}

/* Numbers printed with at most 15 significant digits arrive exactly. */
static void test_md_numbers_are_exact(void **state)
{
    (void)state;
    const char *vals[] = {"0.1",
                          "123.45",
                          "99999.99",
                          "0.00001234",
                          "0.00000001",
                          "1e-8",
                          "388.985",
                          "64999.12345678",
                          "1234567.1234567",
                          "0.3",
                          "2.675",
                          "100000000000",
                          "1.0",
                          "5e2",
                          "0.000012345678"};
    const char *want[] = {"0.1",
                          "123.45",
                          "99999.99",
                          "0.00001234",
                          "0.00000001",
                          "0.00000001",
                          "388.985",
                          "64999.12345678",
                          "1234567.1234567",
                          "0.3",
                          "2.675",
                          "100000000000",
                          "1",
                          "500",
                          "0.00001235"};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        char text[256], err[256] = "";
        snprintf(text, sizeof text,
                 "{\"T\":\"t\",\"S\":\"X\",\"p\":%s,\"s\":1,\"t\":\"2021-02-22T19:15:00Z\"}",
                 vals[i]);
        json_t *j = load(text);
        alpaca_md_msg m;
        int rc = alpaca_decode_md_message(j, &m, err, sizeof err);
        json_decref(j);
        if (i == 11) { /* 1e11 is past money's range */
            assert_int_equal(rc, APEX_ERANGE);
            assert_err_names(err, ".p");
            continue;
        }
        if (rc != 0)
            fail_msg("%s: %s", vals[i], err);
        if (m.quote.last != M(want[i]))
            fail_msg("%s decoded as %lld, want %s", vals[i], (long long)m.quote.last, want[i]);
    }
    /* A property: every 2..8-decimal price under 1e6 built from a simple generator. */
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int dec = 2 + (int)(x % 7);
        uint64_t units = (x >> 8) % 100000000000000ULL; /* < 1e14: at most 14 digits */
        char num[40], text[160], err[256];
        uint64_t pow10 = 1;
        for (int k = 0; k < dec; k++)
            pow10 *= 10;
        snprintf(num, sizeof num, "%llu.%0*llu", (unsigned long long)(units / pow10 % 1000000), dec,
                 (unsigned long long)(units % pow10));
        snprintf(text, sizeof text,
                 "{\"T\":\"t\",\"S\":\"X\",\"p\":%s,\"t\":\"2021-02-22T19:15:00Z\"}", num);
        json_t *j = load(text);
        alpaca_md_msg m;
        assert_int_equal(alpaca_decode_md_message(j, &m, err, sizeof err), 0);
        json_decref(j);
        if (m.quote.last != M(num))
            fail_msg("%s decoded as %lld", num, (long long)m.quote.last);
    }
}

/* News: the stream's "n" message and a REST page; the headline is cut at a character
 * boundary and keeps no control characters; symbols the host cannot name are skipped. */
static void test_news(void **state)
{
    (void)state;
    char head[400];
    size_t k = (size_t)snprintf(head, sizeof head, "Line\\none ");
    while (k < 159) /* decoded 158 bytes (the escape is one); "é" would end past 159 */
        head[k++] = 'x';
    snprintf(head + k, sizeof head - k, "\u00e9 tail");
    char text[800];
    snprintf(text, sizeof text,
             "{\"T\":\"n\",\"id\":24918784,\"headline\":\"%s\",\"summary\":\"s\","
             "\"created_at\":\"2022-01-05T22:00:00Z\",\"symbols\":[\"AAPL\",\"bad sym\","
             "\"BTCUSD\"],\"source\":\"benzinga\"}",
             head);
    json_t *j = load(text);
    alpaca_news n;
    char err[256];
    if (alpaca_decode_news(j, &n, err, sizeof err) != 0)
        fail_msg("%s", err);
    json_decref(j);
    assert_int_equal(n.id, 24918784);
    assert_true(n.created_at == T("2022-01-05T22:00:00Z"));
    assert_int_equal(strlen(n.headline), 158);
    assert_memory_equal(n.headline, "Line one xxx", 12); /* the newline became a space */
    assert_int_equal(n.nsymbols, 2);
    assert_string_equal(n.symbols[0], "AAPL");
    assert_string_equal(n.symbols[1], "BTCUSD");
    assert_string_equal(n.source, "benzinga");

    j = load("{\"news\":[{\"id\":1,\"headline\":\"a\",\"created_at\":\"2024-01-02T15:00:00Z\"},"
             "{\"id\":2,\"headline\":\"b\",\"created_at\":\"2024-01-02T15:01:00Z\","
             "\"symbols\":[\"MSFT\"]}],\"next_page_token\":\"tok\"}");
    alpaca_news *v;
    int count;
    char token[64];
    if (alpaca_decode_news_page(j, &v, &count, token, sizeof token, err, sizeof err) != 0)
        fail_msg("%s", err);
    json_decref(j);
    assert_int_equal(count, 2);
    assert_string_equal(token, "tok");
    assert_int_equal(v[1].id, 2);
    assert_string_equal(v[1].symbols[0], "MSFT");
    free(v);

    j = load("{\"news\":[{\"id\":1,\"headline\":\"a\",\"created_at\":\"2024-01-02T15:00:00Z\"},"
             "{\"id\":2,\"created_at\":\"2024-01-02T15:01:00Z\"}]}");
    assert_int_equal(alpaca_decode_news_page(j, &v, &count, token, sizeof token, err, sizeof err),
                     APEX_EINVAL);
    assert_err_names(err, "news[1].headline");
    assert_null(v);
    json_decref(j);
    j = load("{\"T\":\"n\",\"id\":3,\"headline\":\"h\",\"created_at\":\"x\"}");
    assert_true(alpaca_decode_news(j, &n, err, sizeof err) < 0);
    assert_err_names(err, "news.created_at");
    json_decref(j);
}

static void test_rest_bars(void **state)
{
    (void)state;
    json_t *j = load(BARS);
    alpaca_bar *bars = NULL;
    int n = 0;
    char token[128], err[256] = "";
    assert_int_equal(alpaca_decode_bars(j, &bars, &n, token, sizeof token, err, sizeof err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(token, "QUFQTHxEfDIwMjItMDItMDJUMDU6MDA6MDAuMDAwMDAwMDAwWg==");
    assert_string_equal(bars[0].symbol, "AAPL");
    assert_true(bars[0].b.ts == T("2022-02-01T05:00:00Z"));
    assert_true(bars[0].b.open == MONEY(174)); /* a JSON integer */
    assert_true(bars[0].b.high == 17484000000LL);
    assert_true(bars[0].b.low == 17231000000LL);
    assert_true(bars[0].b.close == 17461000000LL);
    assert_true(bars[0].b.volume == MONEY(85998033));
    assert_true(bars[0].trades == 732412);
    assert_true(bars[0].vwap == M("173.703516"));
    assert_true(bars[1].b.close == M("175.84") && bars[1].vwap == M("174.941288"));
    free(bars);
    json_decref(j);

    /* Single-symbol shape, no next page. */
    j = load("{\"bars\":[{\"t\":\"2021-02-01T16:01:00Z\",\"o\":133.32,\"h\":133.74,"
             "\"l\":133.31,\"c\":133.5,\"v\":9876}],\"symbol\":\"AAPL\",\"next_page_token\":null}");
    assert_int_equal(alpaca_decode_bars(j, &bars, &n, token, sizeof token, err, sizeof err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(token, "");
    assert_true(bars[0].b.close == M("133.5"));
    free(bars);
    json_decref(j);

    /* A bad bar names its place. */
    j = load(
        "{\"bars\":{\"AAPL\":[{\"t\":\"2022-02-01T05:00:00Z\",\"o\":1,\"h\":1,\"l\":1,"
        "\"c\":1,\"v\":1},{\"t\":\"2022-02-01T05:00:00Z\",\"o\":1,\"h\":1,\"l\":1,\"v\":1}]}}");
    assert_int_equal(alpaca_decode_bars(j, &bars, &n, NULL, 0, err, sizeof err), APEX_EINVAL);
    assert_err_names(err, "bars.AAPL[1].c");
    assert_null(bars);
    assert_int_equal(n, 0);
    json_decref(j);
}

static void test_snapshots_and_latest_quotes(void **state)
{
    (void)state;
    json_t *j = load(SNAPSHOTS);
    const char *syms[] = {"MSFT", "AAPL"};
    broker_quote q[2];
    char err[256] = "";
    assert_int_equal(alpaca_decode_snapshots(j, syms, 2, q, err, sizeof err), 0);
    assert_string_equal(q[0].symbol, "MSFT"); /* missing: symbol only */
    assert_false(q[0].quoted);
    assert_true(q[0].bid == 0 && q[0].last == 0);
    assert_string_equal(q[1].symbol, "AAPL");
    assert_true(q[1].bid == M("126.05") && q[1].ask == M("126.1"));
    assert_true(q[1].quoted);
    assert_true(q[1].last == M("125.91"));
    assert_true(q[1].volume == MONEY(1061));
    assert_true(q[1].ts == T("2021-05-11T22:02:00Z")); /* the latest part: the minute bar */
    json_decref(j);

    /* Crypto wraps snapshots in "snapshots"; sizes are fractional -- from
     * https://docs.alpaca.markets/reference/cryptosnapshots1 (values as in alpaca-py's mock of that
     * endpoint). */
    j = load("{\"snapshots\":{\"BTC/USD\":{\"latestTrade\":{\"t\":\"2022-03-28T17:33:20.19842Z\","
             "\"p\":47537.64,\"s\":0.00023096,\"tks\":\"B\",\"i\":304775291},"
             "\"latestQuote\":{\"t\":\"2022-03-28T17:32:30.824Z\",\"bp\":47530.99,"
             "\"bs\":1.65666998,\"ap\":47531.66,\"as\":0.00209349},"
             "\"minuteBar\":{\"t\":\"2022-03-28T17:32:00Z\",\"o\":47494.71,\"h\":47542.23,"
             "\"l\":47471.56,\"c\":47532.2,\"v\":41.34429609,\"n\":873,\"vw\":47515.679114746}}}}");
    const char *crypto[] = {"BTC/USD"};
    assert_int_equal(alpaca_decode_snapshots(j, crypto, 1, q, err, sizeof err), 0);
    assert_true(q[0].bid == M("47530.99") && q[0].ask == M("47531.66"));
    assert_true(q[0].last == M("47537.64"));
    assert_true(q[0].volume == M("41.34429609"));
    assert_true(q[0].ts == T("2022-03-28T17:33:20.19842Z")); /* the trade is latest */
    json_decref(j);

    j = load("{\"quotes\":{\"AAPL\":{\"t\":\"2021-05-11T21:59:59.991636736Z\",\"ap\":126.1,"
             "\"as\":9,\"bp\":0,\"bs\":0}}}");
    assert_int_equal(alpaca_decode_latest_quotes(j, syms + 1, 1, q, err, sizeof err), 0);
    assert_true(q[0].ask == M("126.1") && q[0].bid == 0);
    assert_false(q[0].quoted); /* no bid: no market */
    json_decref(j);
}

/* ---- errors ----------------------------------------------------------------------- */

static void test_error_bodies(void **state)
{
    (void)state;
    apex_error e;
    int code = -1;
    const char *b = "{\"code\":40410000,\"message\":\"position does not exist\"}";
    assert_int_equal(alpaca_decode_error(404, b, strlen(b), &code, &e), APEX_ENOTFOUND);
    assert_int_equal(code, 40410000);
    assert_int_equal(e.code, APEX_ENOTFOUND);
    assert_err_names(e.msg, "position does not exist");
    b = "{\"code\":40010001,\"message\":\"client_order_id must be unique\"}";
    assert_int_equal(alpaca_decode_error(422, b, strlen(b), &code, &e), APEX_EDUP);
    assert_int_equal(code, 40010001);
    b = "{\"code\":40310000,\"message\":\"insufficient buying power\"}";
    assert_int_equal(alpaca_decode_error(403, b, strlen(b), NULL, &e), APEX_EREJECTED);
    assert_err_names(e.msg, "insufficient buying power");
    b = "{\"code\":42210000,\"message\":\"qty must be > 0\"}";
    assert_int_equal(alpaca_decode_error(422, b, strlen(b), NULL, &e), APEX_EINVAL);
    b = "{\"code\":40010001,\"message\":\"invalid order type for crypto order\"}";
    assert_int_equal(alpaca_decode_error(400, b, strlen(b), NULL, &e), APEX_EINVAL);
    b = "{\"message\": \"too many requests.\"}";
    assert_int_equal(alpaca_decode_error(429, b, strlen(b), &code, &e), APEX_EBUSY);
    assert_int_equal(code, 0);
    b = "<html>502 Bad Gateway</html>";
    assert_int_equal(alpaca_decode_error(502, b, strlen(b), &code, &e), APEX_EIO);
    assert_err_names(e.msg, "HTTP 502: <html>502 Bad Gateway");
    b = "{\"code\":40110000,\"message\":\"request is not authorized\"}";
    assert_int_equal(alpaca_decode_error(401, b, strlen(b), NULL, &e), APEX_EINVAL);
    assert_err_names(e.msg, "APCA_API_KEY_ID");
    assert_int_equal(alpaca_decode_error(500, NULL, 0, NULL, &e), APEX_EIO);
}

/* ---- malformed input -------------------------------------------------------------- */

/* Every prefix of every fixture, parsed or not, decoded by every decoder: never a crash,
 * and a failure always says something. (The fuzz target goes further.) */
static void test_truncations_never_crash(void **state)
{
    (void)state;
    const char *fixtures[] = {ORDER_ACCEPTED, ORDER_BRACKET, TRADE_UPDATE_FILL, POSITION,
                              ACCOUNT,        CLOCK,         CALENDAR_DAY,      FILL_ACTIVITY,
                              MD_FRAME,       BARS,          SNAPSHOTS};
    const char *syms[] = {"AAPL"};
    for (size_t f = 0; f < sizeof fixtures / sizeof fixtures[0]; f++) {
        size_t len = strlen(fixtures[f]);
        for (size_t cut = 0; cut < len; cut += 7) {
            char err[256] = "";
            json_t *j = alpaca_json_parse(fixtures[f], cut, "cut", err, sizeof err);
            if (!j) {
                assert_true(err[0] != '\0');
                continue;
            }
            alpaca_order o;
            alpaca_trade_update u;
            broker_position p;
            alpaca_account a;
            broker_quote q;
            alpaca_bar *bars;
            int n;
            (void)alpaca_decode_order(j, &o, err, sizeof err);
            (void)alpaca_decode_trade_update(j, &u, err, sizeof err);
            (void)alpaca_decode_position(j, &p, err, sizeof err);
            (void)alpaca_decode_account(j, &a, err, sizeof err);
            (void)alpaca_decode_snapshots(j, syms, 1, &q, err, sizeof err);
            if (alpaca_decode_bars(j, &bars, &n, NULL, 0, err, sizeof err) == 0)
                free(bars);
            json_decref(j);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_bracket_round_trip),
        cmocka_unit_test(test_encode_plain_orders),
        cmocka_unit_test(test_encode_rejects_bad_requests),
        cmocka_unit_test(test_decode_documented_order),
        cmocka_unit_test(test_decode_bracket_with_legs),
        cmocka_unit_test(test_status_mapping),
        cmocka_unit_test(test_decode_order_rejects_bad_fields),
        cmocka_unit_test(test_parse_reports_position),
        cmocka_unit_test(test_trade_update_fill),
        cmocka_unit_test(test_trade_update_other_events),
        cmocka_unit_test(test_fill_activity_dedupes_with_stream),
        cmocka_unit_test(test_position),
        cmocka_unit_test(test_account),
        cmocka_unit_test(test_clock_and_calendar),
        cmocka_unit_test(test_md_stream_frame),
        cmocka_unit_test(test_md_numbers_are_exact),
        cmocka_unit_test(test_rest_bars),
        cmocka_unit_test(test_news),
        cmocka_unit_test(test_crypto_pairs_and_assets),
        cmocka_unit_test(test_snapshots_and_latest_quotes),
        cmocka_unit_test(test_error_bodies),
        cmocka_unit_test(test_truncations_never_crash),
        cmocka_unit_test(test_stream_control_messages),
        cmocka_unit_test(test_stream_auth_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
