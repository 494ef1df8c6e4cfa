/* broker: the one interface between the host and any broker.
 *
 * The host reaches the embedded paper broker exactly as it reaches a real one:
 * through these asynchronous calls. A call returns 0 when the request was
 * accepted; its callback then runs exactly once, later, from the event loop
 * (never inside the call, so callers need no re-entrancy guards). A call that
 * returns < 0 failed at once and its callback never runs.
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

#include "clock/clock.h"
#include "market/bar.h"
#include "money/money.h"

#define BROKER_ID_MAX 64

typedef enum { SIDE_BUY = 0, SIDE_SELL = 1 } order_side;
typedef enum { ORDER_MARKET = 0, ORDER_LIMIT, ORDER_STOP, ORDER_STOP_LIMIT } order_type;
typedef enum {
    ORDER_STATUS_NEW = 0,  /* recorded by the host, not yet acknowledged by the broker */
    ORDER_STATUS_ACCEPTED, /* working at the broker */
    ORDER_STATUS_HELD,     /* a bracket leg waiting for its parent to fill */
    ORDER_STATUS_PARTIALLY_FILLED,
    ORDER_STATUS_FILLED,
    ORDER_STATUS_CANCELLED,
    ORDER_STATUS_REJECTED,
    ORDER_STATUS_EXPIRED,
    ORDER_STATUS_UNSENT, /* host-side only: the intent never reached the broker */
} order_status;

/* Order role within an execution (host-side bookkeeping, echoed back by brokers). */
typedef enum {
    ORDER_ROLE_ENTRY = 0,
    ORDER_ROLE_STOP_LOSS,
    ORDER_ROLE_TAKE_PROFIT,
    ORDER_ROLE_EXIT,
} order_role;

typedef struct {
    char client_order_id[BROKER_ID_MAX];
    char symbol[SYMBOL_MAX];
    order_side side;
    order_type type;
    money_t qty;         /* > 0 */
    money_t limit_price; /* LIMIT, STOP_LIMIT */
    money_t stop_price;  /* STOP, STOP_LIMIT */
    /* Bracket: when either is non-zero the broker also creates the exit legs, held until
     * this order fills, then working as one-cancels-other. Leg client ids are
     * "<client_order_id>-tp" and "<client_order_id>-sl". */
    money_t take_profit; /* limit price of the take-profit leg */
    money_t stop_loss;   /* stop price of the stop-loss leg */
} order_request;

typedef struct {
    char client_order_id[BROKER_ID_MAX];
    char broker_order_id[BROKER_ID_MAX];
    char parent_client_order_id[BROKER_ID_MAX]; /* bracket legs: the entry's id */
    char symbol[SYMBOL_MAX];
    order_side side;
    order_type type;
    order_role role; /* ENTRY for plain orders, STOP_LOSS / TAKE_PROFIT for legs */
    order_status status;
    money_t qty, filled_qty;
    money_t avg_fill_price;
    money_t limit_price, stop_price;
    apex_time created_at, updated_at;
    char reason[128]; /* why rejected or cancelled, when known */
} broker_order;

typedef struct {
    char symbol[SYMBOL_MAX];
    money_t qty; /* signed: > 0 long, < 0 short */
    money_t avg_entry_price;
    money_t market_price; /* last price the broker knows, 0 if none */
    money_t unrealized_pnl;
} broker_position;

typedef struct {
    money_t cash;
    money_t equity; /* cash + market value of positions */
    money_t buying_power;
    money_t realized_pnl_today;
    int day_trades; /* in the rolling five-day window */
} broker_account;

typedef struct {
    char symbol[SYMBOL_MAX];
    money_t bid, ask, last;
    money_t volume; /* of the latest bar */
    apex_time ts;
} broker_quote;

typedef struct {
    char fill_id[BROKER_ID_MAX]; /* unique per fill: the store dedupes on it */
    char client_order_id[BROKER_ID_MAX];
    char symbol[SYMBOL_MAX];
    order_side side;
    money_t qty, price, fee;
    apex_time ts;
} broker_fill;

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
    const broker_fill *fills; /* list_fills */
    int nfills;
} broker_reply;

typedef void (*broker_cb)(void *ud, const broker_reply *reply);

typedef struct {
    void (*on_order)(void *ud, const broker_order *order); /* any status change */
    void (*on_fill)(void *ud, const broker_fill *fill, const broker_order *order);
    void *ud;
} broker_listener;

typedef struct broker broker;

typedef struct {
    const char *name; /* "paper", "alpaca" */
    int (*submit_order)(broker *b, const order_request *req, broker_cb cb, void *ud);
    int (*cancel_order)(broker *b, const char *client_order_id, broker_cb cb, void *ud);
    int (*get_order)(broker *b, const char *client_order_id, broker_cb cb, void *ud);
    /* symbol NULL = all symbols */
    int (*list_open_orders)(broker *b, const char *symbol, broker_cb cb, void *ud);
    int (*get_position)(broker *b, const char *symbol, broker_cb cb, void *ud);
    int (*list_positions)(broker *b, broker_cb cb, void *ud);
    int (*get_account)(broker *b, broker_cb cb, void *ud);
    /* One batched request for many symbols where the broker supports it. */
    int (*get_quotes)(broker *b, const char *const *symbols, int n, broker_cb cb, void *ud);
    /* Market order closing the whole position; open orders for the symbol are cancelled
     * first (bracket legs included). */
    int (*close_position)(broker *b, const char *symbol, const char *client_order_id, broker_cb cb,
                          void *ud);
    /* Every fill of one order, oldest first (a restart recovers fills it missed). */
    int (*list_fills)(broker *b, const char *client_order_id, broker_cb cb, void *ud);
    /* Brokers that simulate from market data (paper) consume bars here; NULL otherwise. */
    void (*on_bar)(broker *b, const bar *data, const char *symbol);
    void (*free)(broker *b);
} broker_ops;

/* Every adapter embeds this as its first member. */
struct broker {
    const broker_ops *ops;
    broker_listener listener;
    uint64_t api_calls; /* requests made, for rate-limit accounting and the bench */
};

static inline void broker_set_listener(broker *b, broker_listener l)
{
    b->listener = l;
}

int broker_submit_order(broker *b, const order_request *req, broker_cb cb, void *ud);
int broker_cancel_order(broker *b, const char *client_order_id, broker_cb cb, void *ud);
int broker_get_order(broker *b, const char *client_order_id, broker_cb cb, void *ud);
int broker_list_open_orders(broker *b, const char *symbol, broker_cb cb, void *ud);
int broker_get_position(broker *b, const char *symbol, broker_cb cb, void *ud);
int broker_list_positions(broker *b, broker_cb cb, void *ud);
int broker_get_account(broker *b, broker_cb cb, void *ud);
int broker_get_quotes(broker *b, const char *const *symbols, int n, broker_cb cb, void *ud);
int broker_close_position(broker *b, const char *symbol, const char *client_order_id, broker_cb cb,
                          void *ud);
int broker_list_fills(broker *b, const char *client_order_id, broker_cb cb, void *ud);
void broker_on_bar(broker *b, const bar *data, const char *symbol);
void broker_free(broker *b);

const char *order_side_name(order_side s);     /* "buy", "sell" */
const char *order_type_name(order_type t);     /* "market", "limit", "stop", "stop_limit" */
const char *order_status_name(order_status s); /* "new", "accepted", ... */
const char *order_role_name(order_role r);     /* "entry", "stop_loss", "take_profit", "exit" */
/* Parse the names above; -1 if unknown. */
int order_status_parse(const char *name);
int order_role_parse(const char *name);
int order_type_parse(const char *name);
bool order_status_is_final(order_status s); /* filled, cancelled, rejected, expired, unsent */

#endif
