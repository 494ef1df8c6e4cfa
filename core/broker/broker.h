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
#include "model/order.h"
#include "money/money.h"

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

#endif
