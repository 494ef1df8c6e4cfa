/* broker: the one interface between the host and any broker.
 *
 * This header is the host's side: exec, monitor, exits and the pipeline call these
 * functions and never see an adapter. What an adapter (paper, alpaca, a test's fake)
 * implements is in broker/adapter.h; how a pipeline's broker is chosen is in
 * broker/registry.h.
 *
 * The host reaches the embedded paper broker exactly as it reaches a real one:
 * through these asynchronous calls. A call returns 0 when the request was
 * accepted; its callback then runs exactly once, later, from the event loop
 * (never inside the call, so callers need no re-entrancy guards). A call that
 * returns < 0 failed at once and its callback never runs.
 *
 * Every call names its urgency (broker_priority) right after the broker. With a
 * limiter set (broker_set_limiter) a call waits its turn there, most urgent first,
 * and reaches the adapter when granted; its arguments are copied, so the caller's
 * strings and arrays may go away as soon as the call returns. Without a limiter the
 * call goes to the adapter at once and the priority has no effect.
 *
 * Unsolicited order updates and fills arrive through the listener the host
 * installs with broker_set_listener (the paper broker emits them as bars
 * arrive; HTTP brokers from polling or a stream).
 *
 * Client order ids are the host's idempotency keys: a broker rejects a second
 * order with an id it has seen (APEX_EDUP), and get_order looks orders up by
 * it, which is how a restart learns whether an intent ever reached the broker.
 *
 * All pointers in a reply are valid only during the callback. */
#ifndef APEX_BROKER_H
#define APEX_BROKER_H

#include <stdbool.h>
#include <stdint.h>

#include "market/bar.h"
#include "market/news.h"
#include "model/exit.h"
#include "model/order.h"
#include "net/ratelimit.h"

/* One day of the venue's regular session (broker_get_session). */
typedef struct {
    bool trading;          /* false: the venue does not trade that day (weekend, holiday) */
    apex_time open, close; /* the session's UTC instants; 0 when !trading */
} broker_session;

/* The venue's market clock now (broker_get_clock). */
typedef struct {
    bool is_open;
    apex_time now, next_open, next_close;
} broker_clock;

/* What the venue says about one symbol (broker_get_asset). */
typedef struct {
    char symbol[SYMBOL_MAX];
    char asset_class[16]; /* "us_equity", "crypto" */
    bool active, tradable, shortable, fractionable;
} broker_asset;

typedef struct {
    int status;                 /* 0 or an APEX_E* code */
    char error[256];            /* with status != 0: what went wrong, for the trader */
    const broker_order *order;  /* submit, cancel, get_order, close_position */
    const broker_order *orders; /* list_open_orders */
    int norders;
    const broker_position *positions; /* get_position (0 or 1), list_positions */
    int npositions;
    const broker_account *account; /* get_account */
    const broker_quote *quotes;    /* get_quotes, in request order */
    int nquotes;
    const broker_fill *fills; /* list_fills, list_symbol_fills */
    int nfills;
    const broker_session *session; /* get_session */
    const broker_asset *asset;     /* get_asset; NULL with status APEX_ENOTFOUND */
    const broker_clock *clock;     /* get_clock */
} broker_reply;

typedef void (*broker_cb)(void *ud, const broker_reply *reply);

typedef struct {
    void (*on_order)(void *ud, const broker_order *order); /* any status change */
    void (*on_fill)(void *ud, const broker_fill *fill, const broker_order *order);
    void *ud;
} broker_listener;

typedef struct broker broker;

/* How urgent a call is: a broker with a limiter serves waiting calls most urgent first, in
 * arrival order within one priority. The first four are the exit priorities, so an
 * exit's urgency carries over unchanged (broker_priority_of_exit); everything else
 * (entries, monitoring, reconciliation, quotes, reports) is ROUTINE. */
typedef enum {
    BROKER_PRIORITY_CRITICAL = EXIT_PRIORITY_CRITICAL,
    BROKER_PRIORITY_HIGH = EXIT_PRIORITY_HIGH,
    BROKER_PRIORITY_MEDIUM = EXIT_PRIORITY_MEDIUM,
    BROKER_PRIORITY_LOW = EXIT_PRIORITY_LOW,
    BROKER_PRIORITY_ROUTINE,
    BROKER_PRIORITY_COUNT
} broker_priority;

static inline broker_priority broker_priority_of_exit(exit_priority p)
{
    return p >= EXIT_PRIORITY_CRITICAL && p < EXIT_PRIORITY_COUNT ? (broker_priority)p
                                                                  : BROKER_PRIORITY_ROUTINE;
}

/* The listener receives the adapter's unsolicited events; install it before the first
 * call. */
void broker_set_listener(broker *b, broker_listener l);

/* From now on every call of b waits its turn in limiter (borrowed: it must outlive b,
 * and may be shared with other brokers). NULL sends calls straight to the adapter again.
 * Returns 0, or APEX_EBUSY while calls queued in another limiter are still waiting. */
int broker_set_limiter(broker *b, ratelimit *limiter);

/* The calls. Each returns 0 (the callback will run once) or < 0 (it never will):
 * APEX_EINVAL for a bad priority or argument, APEX_ENOMEM, or the adapter's refusal
 * when there is no limiter. With a limiter, a refusal at grant time is delivered to
 * the callback instead, as a reply with that status. */
int broker_submit_order(broker *b, broker_priority prio, const order_request *req, broker_cb cb,
                        void *ud);
int broker_cancel_order(broker *b, broker_priority prio, const char *client_order_id, broker_cb cb,
                        void *ud);
int broker_get_order(broker *b, broker_priority prio, const char *client_order_id, broker_cb cb,
                     void *ud);
/* Whether the venue takes a bracket (an order with take_profit / stop_loss legs) on
 * symbol. Alpaca takes none on crypto pairs: there the entry goes out alone and its stop
 * and target are the host's to watch (the monitor's stop_loss and profit_target). Also
 * whether the venue's session calendar (broker_get_session) speaks for symbol: a pair
 * trades around the clock. Synchronous and local. */
bool broker_takes_brackets(const broker *b, const char *symbol);

/* What a replace changes; a field left 0 keeps the order's value. */
typedef struct {
    money_t qty, limit_price, stop_price;
} order_change;

/* Replaces the working order client_order_id with one that differs by change, placed
 * under new_client_order_id (the old one ends cancelled: Alpaca's "replaced"). The reply's
 * `order` is the new order. Like a submit it is never sent twice: a lost answer is
 * resolved by asking for new_client_order_id. APEX_ESTATE in the reply when the order is
 * already final; a venue that cannot replace refuses at once with APEX_EINVAL (cancel and
 * submit instead). */
int broker_replace_order(broker *b, broker_priority prio, const char *client_order_id,
                         const char *new_client_order_id, const order_change *change, broker_cb cb,
                         void *ud);
/* symbol NULL = all symbols */
int broker_list_open_orders(broker *b, broker_priority prio, const char *symbol, broker_cb cb,
                            void *ud);
int broker_get_position(broker *b, broker_priority prio, const char *symbol, broker_cb cb,
                        void *ud);
int broker_list_positions(broker *b, broker_priority prio, broker_cb cb, void *ud);
int broker_get_account(broker *b, broker_priority prio, broker_cb cb, void *ud);
/* One batched request for many symbols where the broker supports it. */
int broker_get_quotes(broker *b, broker_priority prio, const char *const *symbols, int n,
                      broker_cb cb, void *ud);
/* Market order closing the whole position; open orders for the symbol are cancelled
 * first (bracket legs included). */
int broker_close_position(broker *b, broker_priority prio, const char *symbol,
                          const char *client_order_id, broker_cb cb, void *ud);
/* Every fill of one order, oldest first (a restart recovers fills it missed). */
int broker_list_fills(broker *b, broker_priority prio, const char *client_order_id, broker_cb cb,
                      void *ud);
/* Every fill in symbol after `since`, oldest first, whoever placed the order: apex-host's
 * orders and orders placed by hand at the broker alike, each with the venue's order id
 * (broker_fill.order_id); client_order_id is set only where the venue reports it. This is
 * how a position closed outside apex-host learns its closing fills (pipeline_complete).
 * An optional op: a venue that cannot list them (the paper broker) refuses at once with
 * APEX_EINVAL and never calls back. */
int broker_list_symbol_fills(broker *b, broker_priority prio, const char *symbol, apex_time since,
                             broker_cb cb, void *ud);

/* ---- the venue's calendar -----------------------------------------------------------
 *
 * The regular session of the trading day that contains `day` (the venue's own date for
 * it: Alpaca's calendar is New York's, which for US equities is the UTC date of the
 * session). The reply's `session` says whether the venue trades that day and when it
 * opens and closes, early closes and daylight saving included. A venue without a
 * calendar (the paper broker, which replays files) refuses at once with APEX_EINVAL and
 * never calls back: the caller keeps its configured close (exits.session_close). */
int broker_get_session(broker *b, broker_priority prio, apex_time day, broker_cb cb, void *ud);
/* Whether b's venue has a calendar (broker_get_session can succeed). */
bool broker_has_session(const broker *b);

/* Whether the venue lists symbol and lets it be traded (`check --connect`): the reply's
 * `asset`, or status APEX_ENOTFOUND for a symbol the venue does not know. A venue
 * without an asset list (the paper broker trades whatever the data has) refuses at once
 * with APEX_EINVAL and never calls back. */
int broker_get_asset(broker *b, broker_priority prio, const char *symbol, broker_cb cb, void *ud);
/* Whether the venue's market is open now, and its next open and close (`check --connect`
 * says it). A venue without a market clock refuses at once with APEX_EINVAL. */
int broker_get_clock(broker *b, broker_priority prio, broker_cb cb, void *ud);

/* What an order would cost at this broker, for sizing: the price per unit it expects to
 * fill at, costs included, and the fee of a fill of the whole quantity. */
typedef struct {
    money_t price;
    money_t fee;
} broker_cost;

/* Estimates, from the broker's own cost model and last prices, what an order of qty in
 * symbol would cost: a market order at the price it would fill at now (spread and
 * slippage included; `ref` when the broker has no price for the symbol), a limit at `ref`.
 * Synchronous and local: no request leaves, nothing is rate limited, no callback runs.
 * A broker without a cost model answers ref and no fee. Returns 0, or APEX_EINVAL. */
int broker_estimate_cost(broker *b, const char *symbol, order_side side, order_type type,
                         money_t ref, money_t qty, broker_cost *out);

/* Requests that reached the adapter (granted ones, with a limiter), for the run
 * summary and the bench. */
uint64_t broker_api_calls(const broker *b);
/* The adapter's name: "paper", "alpaca". */
const char *broker_name(const broker *b);

/* ---- live market data ---------------------------------------------------------------
 *
 * A venue's bars (and news) for a set of symbols, pushed to the subscriber: first the
 * history that warms indicators up (REST), then the live stream, with a REST catch-up
 * after every gap. One connection per broker account serves every subscriber (Alpaca
 * allows one market-data stream per account), so two pipelines on one account share it.
 *
 * Delivery contract, per subscription:
 *   - each symbol's bars arrive in strictly increasing ts; a bar already delivered is
 *     never delivered again (a catch-up and the stream may both carry it);
 *   - history is true for a bar that was not the latest complete bar when it arrived
 *     (warm-up history, or a catch-up of a gap older than one interval): the host uses
 *     it for indicators and never trades on it;
 *   - callbacks run from the event loop, never inside broker_market_data_subscribe;
 *   - on_status reports the feed's state for the events and `status` ("connected",
 *     "stream down: ...; reconnecting in 2 s", "authentication refused: ..."), with
 *     live = true while bars are flowing from the stream. */
typedef struct {
    /* b->symbol_id is -1: the subscriber maps symbol. b->ts is the bar's open time. */
    void (*on_bar)(void *ud, const char *symbol, const bar *b, bool history);
    /* n->impact is 0 (unrated): venues do not rate news; the subscriber decides. */
    void (*on_news)(void *ud, const news_item *n);
    void (*on_status)(void *ud, bool live, const char *message);
} market_data_sink;

typedef struct {
    const char *const *symbols; /* copied */
    int nsymbols;
    int64_t timeframe_s; /* the bars' interval in seconds: 60 = one-minute bars */
    int warmup_bars;     /* history bars per symbol delivered before the stream's */
    bool news;           /* also news naming these symbols */
} market_data_request;

typedef struct market_data_sub market_data_sub;

/* Subscribes sink to req's symbols. Returns a handle (freed by unsubscribe or with the
 * broker), or NULL with a message in err: APEX_EINVAL when the venue has no live market
 * data (the paper broker replays files: use data.files) or the request cannot be
 * served (a timeframe the venue does not offer). Market data is not rate limited by
 * the broker's limiter: it has its own limits at the venue. */
market_data_sub *broker_market_data_subscribe(broker *b, const market_data_request *req,
                                              const market_data_sink *sink, void *ud, char *err,
                                              size_t errlen);
/* No callback of sub runs after this returns. */
void broker_market_data_unsubscribe(broker *b, market_data_sub *sub);

/* Frees b: calls still waiting in its limiter are withdrawn and their callbacks never
 * run; then the adapter is freed. */
void broker_free(broker *b);

#endif
