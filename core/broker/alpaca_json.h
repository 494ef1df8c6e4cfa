/* broker/alpaca_json: the codec between Alpaca's JSON (Trading API v2, its trade_updates
 * stream and the Market Data API v2) and the model types. Pure functions: no I/O, no
 * globals, no allocation except where a function says so. The transport half of the
 * adapter (HTTP, WebSocket) calls these and never touches JSON fields itself.
 *
 * Money is exact. The Trading API sends prices and quantities as decimal strings
 * ("142.37"); they go through money_parse, never through a double, and a JSON real
 * where a decimal string belongs is refused (a JSON integer is taken exactly). The
 * Market Data API sends JSON numbers; jansson stores reals as doubles and keeps no
 * text, so those are re-printed with 15 significant digits ("%.15g", expanded when
 * printf chooses an exponent) and that text goes through money_parse. Any decimal of at
 * most 15 significant digits survives the trip through a double unchanged, so prices
 * and sizes as the feeds print them ("0.1", "123.45", "0.00001234") arrive exactly;
 * a number with more digits than a double holds is rounded to 15 significant digits.
 *
 * Times are RFC 3339 ("2021-03-16T18:38:01.942282Z", offsets allowed) into apex_time
 * (µs since the epoch, UTC); digits past the microsecond are truncated. null times
 * decode as 0.
 *
 * Errors: every decoder returns 0 or a negative APEX_E* code and writes a one-line
 * message naming the field by its path ("order.legs[1].filled_qty: ...") into err
 * (NULL allowed). Malformed input of any shape never crashes; the output struct is
 * then unspecified. */
#ifndef APEX_BROKER_ALPACA_JSON_H
#define APEX_BROKER_ALPACA_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "broker/broker.h"
#include "clock/clock.h"
#include "market/bar.h"
#include "model/order.h"
#include "money/money.h"
#include "util/err.h"

/* Alpaca's limit on client_order_id, in bytes. */
#define ALPACA_CLIENT_ID_MAX 48
/* Bracket and OCO orders carry at most two legs. */
#define ALPACA_MAX_LEGS 2

/* ---- parsing ---------------------------------------------------------------------- */

/* Parses len bytes of JSON text (an object or an array; no terminator needed). Returns
 * a new reference the caller json_decref()s, or NULL with "<what>: line L column C:
 * <jansson's reason>" in err. Duplicate keys are refused: an order object whose "qty"
 * appeared twice is not one we can trust. */
json_t *alpaca_json_parse(const char *text, size_t len, const char *what, char *err, size_t errlen);

/* ---- orders ----------------------------------------------------------------------- */

/* time_in_force. ALPACA_TIF_AUTO picks "gtc" for crypto (a symbol with a '/', e.g.
 * "BTC/USD": Alpaca takes gtc and ioc only there) and "day" for everything else (Alpaca
 * requires day for fractional stock orders, and a bracket must be day or gtc). */
typedef enum {
    ALPACA_TIF_AUTO = 0,
    ALPACA_TIF_DAY,
    ALPACA_TIF_GTC,
    ALPACA_TIF_IOC,
    ALPACA_TIF_FOK,
    ALPACA_TIF_OPG,
    ALPACA_TIF_CLS,
} alpaca_tif;

/* "day", "gtc", ... for a request of symbol (AUTO resolved as above). */
const char *alpaca_tif_name(alpaca_tif tif, const char *symbol);

/* Encodes req as the body of POST /v2/orders: symbol, qty, side, type, time_in_force,
 * limit_price / stop_price (as the type needs), client_order_id (omitted when empty),
 * and the exit legs: both take_profit and stop_loss set -> order_class "bracket" with
 * take_profit.limit_price and stop_loss.stop_price; only one -> order_class "oto" with
 * that one. Decimals are money_format_trim'd strings. Keys are sorted, so the same
 * request always gives the same bytes. On success *body is a malloc'd NUL-terminated
 * string the caller free()s. Errors name the field: APEX_EINVAL for a bad symbol, a
 * qty or price <= 0, a client_order_id longer than ALPACA_CLIENT_ID_MAX; APEX_ENOMEM. */
int alpaca_encode_order(const order_request *req, alpaca_tif tif, char **body, char *err,
                        size_t errlen);

/* An order as Alpaca reports it, with its legs (bracket: take profit then stop loss, in
 * Alpaca's order). Each leg's client_order_id is the host's derived leg id
 * (order_leg_id of the parent's id; role from the leg's type: limit -> TAKE_PROFIT,
 * stop / stop_limit -> STOP_LOSS), because Alpaca names legs itself and the host finds
 * legs by those ids; Alpaca's own ids are in broker_order_id. */
typedef struct {
    broker_order order;
    broker_order legs[ALPACA_MAX_LEGS];
    int nlegs;
} alpaca_order;

/* Decodes an Alpaca order object (what POST/GET /v2/orders return, and the "order" of a
 * trade update). Required: id, client_order_id, symbol, side, type (or the older
 * order_type), status, created_at; qty may be null (a notional order) and decodes as 0.
 * Status mapping (Alpaca -> model), documented in alpaca_json_order.c:
 *   new, accepted, pending_new, accepted_for_bidding, held(legs: HELD) -> ACCEPTED
 *   partially_filled -> PARTIALLY_FILLED; filled -> FILLED
 *   done_for_day, pending_cancel, pending_replace, suspended, stopped, calculated
 *       -> still working: PARTIALLY_FILLED when filled_qty > 0, else ACCEPTED
 *       (calculated with filled_qty == qty -> FILLED)
 *   canceled, replaced -> CANCELLED; expired -> EXPIRED; rejected -> REJECTED
 * Type trailing_stop (an order placed by hand) decodes as ORDER_STOP. */
int alpaca_decode_order(const json_t *obj, alpaca_order *out, char *err, size_t errlen);

/* The model status for an Alpaca status string and the order's fill state; -1 when the
 * string is not one of Alpaca's statuses. */
int alpaca_order_status(const char *status, money_t qty, money_t filled_qty);

/* ---- fills and trade updates ------------------------------------------------------- */

/* The fill id both paths agree on: "<alpaca order id>:<cumulative filled qty>" (qty
 * money_format_trim'd, e.g. "61e69015-...:2.5"). A fill raises an order's cumulative
 * quantity, so the pair names one fill; the trade_updates stream (order.filled_qty) and
 * the FILL activities of GET /v2/account/activities (cum_qty) both carry it, so a fill
 * seen both ways dedupes in the store. Alpaca's execution_id is not used: activities do
 * not carry it, and an id only one path knows cannot dedupe. APEX_ERANGE if out is too
 * small. */
int alpaca_fill_id(const char *order_id, money_t cum_qty, char *out, size_t outlen);

typedef enum {
    ALPACA_EVENT_NEW = 0,
    ALPACA_EVENT_ACCEPTED,
    ALPACA_EVENT_PENDING_NEW,
    ALPACA_EVENT_FILL,
    ALPACA_EVENT_PARTIAL_FILL,
    ALPACA_EVENT_CANCELED,
    ALPACA_EVENT_EXPIRED,
    ALPACA_EVENT_DONE_FOR_DAY,
    ALPACA_EVENT_REPLACED,
    ALPACA_EVENT_REJECTED,
    ALPACA_EVENT_STOPPED,
    ALPACA_EVENT_PENDING_CANCEL,
    ALPACA_EVENT_PENDING_REPLACE,
    ALPACA_EVENT_CALCULATED,
    ALPACA_EVENT_SUSPENDED,
    ALPACA_EVENT_ORDER_REPLACE_REJECTED,
    ALPACA_EVENT_ORDER_CANCEL_REJECTED,
    ALPACA_EVENT_RESTATED, /* Alpaca restated the order (e.g. a corporate action) */
    ALPACA_EVENT_OTHER,    /* an event this codec does not know yet: the order is still valid */
} alpaca_event;

const char *alpaca_event_name(alpaca_event e);

typedef struct {
    alpaca_event event;
    char event_name[32]; /* as sent, for ALPACA_EVENT_OTHER and logs */
    alpaca_order order;
    apex_time ts;         /* "timestamp"; the order's updated_at when absent */
    bool has_fill;        /* fill and partial_fill */
    broker_fill fill;     /* qty and price of this fill, id from alpaca_fill_id */
    money_t position_qty; /* signed position after the fill (has_fill only) */
} alpaca_trade_update;

/* Decodes one message of the trade_updates stream:
 * {"stream":"trade_updates","data":{"event":..,"order":{..},..}}. For fill and
 * partial_fill, price, qty and timestamp are required. A message of another stream
 * ("authorization", "listening") is APEX_ENOTFOUND with the stream named, so the caller
 * can hand it elsewhere. */
int alpaca_decode_trade_update(const json_t *msg, alpaca_trade_update *out, char *err,
                               size_t errlen);

/* The trade_updates connection's own messages, told apart from trade updates. */
typedef enum {
    ALPACA_STREAM_TRADE_UPDATE = 0, /* "trade_updates": alpaca_decode_trade_update */
    ALPACA_STREAM_AUTHORIZED,       /* "authorization" with status "authorized" */
    ALPACA_STREAM_UNAUTHORIZED,     /* "authorization" with any other status */
    ALPACA_STREAM_LISTENING,        /* "listening" whose streams include trade_updates */
    ALPACA_STREAM_NOT_LISTENING,    /* "listening" without it (or with an error) */
    ALPACA_STREAM_OTHER,            /* anything else: not an object, another stream */
} alpaca_stream_kind;

alpaca_stream_kind alpaca_stream_message_kind(const json_t *msg);

/* The message that subscribes an authorized connection to trade updates. */
#define ALPACA_STREAM_LISTEN "{\"action\":\"listen\",\"data\":{\"streams\":[\"trade_updates\"]}}"

/* {"action":"auth","key":"<key>","secret":"<secret>"} into out, '"' and '\\' escaped.
 * out then holds the secret: send it with ws_send_text_secret and wipe it. APEX_EINVAL
 * for a control character in either value, APEX_ERANGE when out is too small (out is
 * wiped on any error). */
int alpaca_encode_stream_auth(const char *key, const char *secret, char *out, size_t outlen);

/* Decodes one FILL activity of GET /v2/account/activities/FILL into a fill with the
 * same id the stream would give it. client_order_id is left empty: activities name the
 * order by Alpaca's id only (order_id, copied into *order_id when not NULL). */
int alpaca_decode_fill_activity(const json_t *obj, broker_fill *out, char *order_id,
                                size_t order_id_len, char *err, size_t errlen);

/* ---- positions, account, clock, calendar ------------------------------------------ */

/* A position object of GET /v2/positions. qty is signed (< 0 short): Alpaca already
 * sends short quantities negative with side "short"; a positive qty with side "short"
 * is negated, so either form decodes the same. market_price is current_price,
 * unrealized_pnl is unrealized_pl (market_value is qty * current_price, not kept). */
int alpaca_decode_position(const json_t *obj, broker_position *out, char *err, size_t errlen);

typedef struct {
    broker_account account;  /* cash, equity, buying_power, day_trades (daytrade_count);
                                realized_pnl_today stays 0: Alpaca does not report it */
    money_t last_equity;     /* equity at the previous close */
    bool pattern_day_trader; /* flagged PDT by Alpaca */
    bool trading_blocked;    /* trading_blocked or account_blocked */
    char status[32];         /* "ACTIVE", "ACCOUNT_UPDATED", ... */
} alpaca_account;

/* The account object of GET /v2/account. */
int alpaca_decode_account(const json_t *obj, alpaca_account *out, char *err, size_t errlen);

typedef struct {
    bool is_open;
    apex_time timestamp, next_open, next_close;
} alpaca_clock;

/* The object of GET /v2/clock. */
int alpaca_decode_clock(const json_t *obj, alpaca_clock *out, char *err, size_t errlen);

typedef struct {
    int year, month, day;
    int open_minute, close_minute; /* minutes after midnight, New York time */
    apex_time open, close;         /* the same instants in UTC */
} alpaca_calendar_day;

/* One element of GET /v2/calendar: {"date":"2018-01-03","open":"09:30","close":"16:00"}.
 * open/close are New York wall-clock times; the UTC instants use the US daylight-saving
 * rule in force since 2007 (second Sunday of March to first Sunday of November). */
int alpaca_decode_calendar_day(const json_t *obj, alpaca_calendar_day *out, char *err,
                               size_t errlen);

/* ---- market data ------------------------------------------------------------------ */

/* A bar with its symbol: the model's bar has a symtab index the codec cannot know
 * (b.symbol_id is -1; the caller maps symbol). */
typedef struct {
    char symbol[SYMBOL_MAX];
    bar b;
    int64_t trades; /* "n", 0 when absent */
    money_t vwap;   /* "vw", 0 when absent */
} alpaca_bar;

/* Decodes the body of GET /v2/stocks/bars (multi-symbol: {"bars":{"AAPL":[..]}}) or
 * /v2/stocks/{symbol}/bars ({"bars":[..],"symbol":"AAPL"}); crypto's v1beta3 bars have
 * the first shape. On success *out is a malloc'd array of *n bars (the caller free()s it;
 * NULL when n is 0), symbol by symbol in the body's order, each symbol's bars in time
 * order as sent. next_page_token is copied into page_token ("" when null or absent; pass
 * NULL to ignore). */
int alpaca_decode_bars(const json_t *root, alpaca_bar **out, int *n, char *page_token,
                       size_t page_token_len, char *err, size_t errlen);

typedef enum {
    ALPACA_MD_BAR = 0, /* "b" (minute), "d" (daily), "u" (updated) bars */
    ALPACA_MD_QUOTE,   /* "q" */
    ALPACA_MD_TRADE,   /* "t" */
    ALPACA_MD_SUCCESS, /* "success": connected / authenticated */
    ALPACA_MD_ERROR,   /* "error": code and msg */
    ALPACA_MD_SUBSCRIPTION /* "subscription": the current subscription */,
    ALPACA_MD_OTHER, /* statuses, corrections, news, ...: not decoded */
} alpaca_md_type;

typedef struct {
    alpaca_md_type type;
    char t[16];         /* "T" as sent */
    alpaca_bar bar;     /* ALPACA_MD_BAR */
    broker_quote quote; /* QUOTE: bid/ask (quoted); TRADE: last and volume = size */
    int code;           /* ERROR */
    char message[128];  /* ERROR: msg; SUCCESS: msg ("connected", "authenticated") */
} alpaca_md_msg;

/* Decodes one element of a market-data stream frame (the frame is a JSON array; call this
 * for each element). */
int alpaca_decode_md_message(const json_t *item, alpaca_md_msg *out, char *err, size_t errlen);

/* Decodes the body of GET /v2/stocks/snapshots ({"AAPL":{"latestTrade":..,"latestQuote":..,
 * "minuteBar":..,"dailyBar":..}}, or the same under "snapshots") into one quote per
 * requested symbol, in request order: bid/ask from latestQuote (quoted when both > 0),
 * last from latestTrade (minuteBar's close when there is no trade), volume from minuteBar,
 * ts the latest of the parts. A symbol missing from the body gets a quote with only its
 * symbol set (all zero, not quoted). */
int alpaca_decode_snapshots(const json_t *root, const char *const *symbols, int n,
                            broker_quote *out, char *err, size_t errlen);

/* Decodes GET /v2/stocks/quotes/latest ({"quotes":{"AAPL":{"ap":..,"bp":..,"t":..}}})
 * the same way (last stays 0). */
int alpaca_decode_latest_quotes(const json_t *root, const char *const *symbols, int n,
                                broker_quote *out, char *err, size_t errlen);

/* ---- news ------------------------------------------------------------------------- */

#define ALPACA_NEWS_HEADLINE_MAX 160 /* bytes kept of a headline, NUL included */
#define ALPACA_NEWS_MAX_SYMBOLS  32  /* symbols kept per article; more are ignored */

/* One article: a news stream message ({"T":"n",...}) or an element of GET /v1beta1/news's
 * "news". Required: id, headline, created_at. The headline is cut to fit at a UTF-8
 * character boundary; control characters become spaces. Symbols that are not valid host
 * symbols (symbol_valid) are skipped: no subscriber can have asked for them. */
typedef struct {
    int64_t id;
    apex_time created_at;
    char headline[ALPACA_NEWS_HEADLINE_MAX];
    char source[32]; /* cut to fit */
    char symbols[ALPACA_NEWS_MAX_SYMBOLS][SYMBOL_MAX];
    int nsymbols;
} alpaca_news;

int alpaca_decode_news(const json_t *obj, alpaca_news *out, char *err, size_t errlen);

/* The body of GET /v1beta1/news ({"news":[..],"next_page_token":..}): *out is a malloc'd
 * array of *n articles in the body's order (NULL when none; the caller free()s it),
 * next_page_token into page_token ("" when null or absent; NULL to ignore). */
int alpaca_decode_news_page(const json_t *root, alpaca_news **out, int *n, char *page_token,
                            size_t page_token_len, char *err, size_t errlen);

/* The body of PATCH /v2/orders/{id}: the changed qty, limit_price and stop_price (a 0
 * is left out) and the replacement's client_order_id. */
int alpaca_encode_replace(const order_change *change, const char *new_client_order_id, char **body,
                          char *err, size_t errlen);

/* A symbol as a path segment of the trading API (/v2/positions/{symbol},
 * /v2/assets/{symbol}): a crypto pair without its slash ("BTCUSD"), the form Alpaca
 * accepts there. */
void alpaca_path_symbol(const char *symbol, char *out, size_t outlen);

typedef struct {
    char symbol[SYMBOL_MAX];
    char asset_class[16]; /* "us_equity", "crypto" */
    char status[16];      /* "active", "inactive" */
    bool tradable, shortable, fractionable;
} alpaca_asset;

/* The object of GET /v2/assets/{symbol}. */
int alpaca_decode_asset(const json_t *obj, alpaca_asset *out, char *err, size_t errlen);

/* ---- errors ----------------------------------------------------------------------- */

/* Turns a non-2xx response into an APEX code with a message for the trader, and returns
 * the code. body may be Alpaca's {"code":40010001,"message":"..."} or anything else
 * (then the status and the start of the body are reported). Classification:
 *   code 40410000 or HTTP 404                           -> APEX_ENOTFOUND
 *   40010001 "client_order_id must be unique"           -> APEX_EDUP
 *   HTTP 403 (insufficient buying power, qty held, ...) -> APEX_EREJECTED
 *   HTTP 422 and other 40010001 (validation)            -> APEX_EINVAL
 *   HTTP 401 (bad keys)                                 -> APEX_EINVAL
 *   HTTP 429 (rate limited)                             -> APEX_EBUSY
 *   HTTP 5xx                                            -> APEX_EIO
 * *alpaca_code (NULL allowed) gets Alpaca's code, 0 when the body has none. */
int alpaca_decode_error(int http_status, const char *body, size_t len, int *alpaca_code,
                        apex_error *out);

#endif
