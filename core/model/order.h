/* model/order: the trading vocabulary every layer shares: sides, order types, order
 * statuses and roles, and the plain structs that describe orders, fills, positions,
 * quotes and accounts as a broker reports them.
 *
 * This header sits at the bottom of the module graph (it needs only money and clock),
 * so the store, the market data, the monitor and the exit engine can all speak about
 * orders without including the broker interface. Enum values are stable: they are
 * stored as text (order_*_name) at the SQL and JSON boundaries, never as numbers. */
#ifndef APEX_MODEL_ORDER_H
#define APEX_MODEL_ORDER_H

#include <stdbool.h>
#include <stddef.h>

#include "clock/clock.h"
#include "money/money.h"

#define SYMBOL_MAX    24 /* bytes including the terminator */
#define BROKER_ID_MAX 64 /* client and broker order ids, fill ids */

/* What a symbol may be made of, said for people (messages and docs). */
#define SYMBOL_CHARS_DOC "A-Z a-z 0-9 . _ / ^ = -"

/* True when name (len bytes, no terminator needed) is a symbol: 1 to SYMBOL_MAX-1 bytes of
 * SYMBOL_CHARS_DOC ("AAPL", "BRK.B", "ES=F", "^VIX", "BTC/USD"). The one rule for the
 * data files and the pipeline's symbols list, so a listed symbol can match the data. */
bool symbol_valid(const char *name, size_t len);

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
    /* Not an order of apex-host's: a fill made at the broker by someone else (a position
     * closed by hand), recorded so the ledger matches the broker (pipeline_complete). */
    ORDER_ROLE_EXTERNAL,
} order_role;

typedef struct {
    char client_order_id[BROKER_ID_MAX];
    char symbol[SYMBOL_MAX];
    order_side side;
    order_type type;
    order_role role;     /* what the order is for; brokers record it as given */
    money_t qty;         /* > 0 */
    money_t limit_price; /* LIMIT, STOP_LIMIT */
    money_t stop_price;  /* STOP, STOP_LIMIT */
    /* Bracket: when either is non-zero the broker also creates the exit legs, held until
     * this order fills, then working as one-cancels-other. Leg client ids come from
     * order_leg_id. */
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
    /* bid and ask are the market's (the data's or the venue's), not a spread a simulation
     * assumed around the last trade: only then can they say the market dried up */
    bool quoted;
} broker_quote;

typedef struct {
    char fill_id[BROKER_ID_MAX]; /* unique per fill: the store dedupes on it */
    char client_order_id[BROKER_ID_MAX];
    char symbol[SYMBOL_MAX];
    order_side side;
    money_t qty, price, fee;
    apex_time ts;
    /* The venue's own id of the order that filled (broker_list_symbol_fills, which also
     * answers fills of orders apex-host never placed); "" when not reported. */
    char order_id[BROKER_ID_MAX];
} broker_fill;

const char *order_side_name(order_side s);     /* "buy", "sell" */
const char *order_type_name(order_type t);     /* "market", "limit", "stop", "stop_limit" */
const char *order_status_name(order_status s); /* "new", "accepted", ... */
const char *order_role_name(order_role r);     /* "entry", "stop_loss", "take_profit", "exit" */
/* Parse the names above; -1 if unknown. */
int order_status_parse(const char *name);
int order_role_parse(const char *name);
int order_type_parse(const char *name);
bool order_status_is_final(order_status s); /* filled, cancelled, rejected, expired, unsent */

/* The opposite side (the side that closes a position opened with s). */
static inline order_side order_side_opposite(order_side s)
{
    return s == SIDE_BUY ? SIDE_SELL : SIDE_BUY;
}

/* A bracket leg's client order id: "<parent>-tp" (TAKE_PROFIT) or "<parent>-sl"
 * (STOP_LOSS). Every broker and the host derive leg ids here, so they agree. Returns 0,
 * or APEX_EINVAL for another role, APEX_ERANGE when out is too small. */
int order_leg_id(const char *parent, order_role leg, char *out, size_t outlen);
/* The role of a leg id ("-tp" / "-sl" suffix) and its parent's id; ORDER_ROLE_ENTRY when
 * id is not a leg id (parent is then left untouched). parent may be NULL. */
order_role order_leg_parse(const char *id, char *parent, size_t parentlen);

#endif
