/* broker/adapter.h: what a broker adapter implements. The host's side is broker.h.
 *
 * An adapter (paper, alpaca, a test's fake) embeds struct broker as its first member,
 * points ops at its table and is otherwise zero-initialised; broker.c does the rest.
 * The split follows libuv's uv.h and src/: callers see the calls, adapters see the ops.
 *
 * broker.c owns everything generic: priorities, the rate limiter, copying a queued
 * call's arguments, the one-callback promise when a granted call is refused, and the
 * api_calls count. So an op is called only when the request really leaves for the
 * venue, with arguments that are valid for the duration of the op, and it never sees
 * a priority. Its contract is broker.h's for the matching call: return 0 and run cb
 * exactly once later from the event loop (never inside the op), or return < 0 and
 * never run it.
 *
 * Unsolicited events go to b->listener (installed by the host; either function may be
 * NULL). */
#ifndef APEX_BROKER_ADAPTER_H
#define APEX_BROKER_ADAPTER_H

#include <sys/queue.h>

#include "broker/broker.h"

typedef struct {
    const char *name; /* "paper", "alpaca" */
    int (*submit_order)(broker *b, const order_request *req, broker_cb cb, void *ud);
    int (*cancel_order)(broker *b, const char *client_order_id, broker_cb cb, void *ud);
    /* broker_replace_order; NULL for a venue that cannot replace in place. */
    int (*replace_order)(broker *b, const char *client_order_id, const char *new_client_order_id,
                         const order_change *change, broker_cb cb, void *ud);
    int (*get_order)(broker *b, const char *client_order_id, broker_cb cb, void *ud);
    /* symbol NULL = all symbols */
    int (*list_open_orders)(broker *b, const char *symbol, broker_cb cb, void *ud);
    int (*get_position)(broker *b, const char *symbol, broker_cb cb, void *ud);
    int (*list_positions)(broker *b, broker_cb cb, void *ud);
    int (*get_account)(broker *b, broker_cb cb, void *ud);
    int (*get_quotes)(broker *b, const char *const *symbols, int n, broker_cb cb, void *ud);
    int (*close_position)(broker *b, const char *symbol, const char *client_order_id, broker_cb cb,
                          void *ud);
    int (*list_fills)(broker *b, const char *client_order_id, broker_cb cb, void *ud);
    /* broker.h's broker_list_symbol_fills; NULL for a venue that cannot list them. */
    int (*list_symbol_fills)(broker *b, const char *symbol, apex_time since, broker_cb cb,
                             void *ud);
    /* The venue's calendar (broker.h's broker_get_session); NULL for a venue without one. */
    int (*get_session)(broker *b, apex_time day, broker_cb cb, void *ud);
    /* broker_takes_brackets; NULL = every symbol takes them. */
    bool (*takes_brackets)(const broker *b, const char *symbol);
    /* broker_get_clock; NULL for a venue without a market clock. */
    int (*get_clock)(broker *b, broker_cb cb, void *ud);
    /* broker.h's broker_get_asset; NULL for a venue without an asset list. */
    int (*get_asset)(broker *b, const char *symbol, broker_cb cb, void *ud);
    /* Whether get_session is served, for an adapter that forwards it (a shared account's
     * handle); NULL = get_session != NULL. */
    bool (*has_session)(const broker *b);
    /* broker_estimate_cost, synchronous; NULL: no cost model (ref, no fee). */
    int (*estimate_cost)(broker *b, const char *symbol, order_side side, order_type type,
                         money_t ref, money_t qty, broker_cost *out);
    /* Live market data (broker.h's broker_market_data_subscribe); NULL for a venue
     * without it. The adapter allocates the handle and owns it until unsubscribe. */
    market_data_sub *(*market_data_subscribe)(broker *b, const market_data_request *req,
                                              const market_data_sink *sink, void *ud, char *err,
                                              size_t errlen);
    void (*market_data_unsubscribe)(broker *b, market_data_sub *sub);
    /* The venue's name when it differs from `name` (a shared account's handle answers its
     * inner adapter's); NULL = name. */
    const char *(*venue_name)(const broker *b);
    /* Frees the adapter (b included); broker_free has already withdrawn queued calls. */
    void (*free)(broker *b);
} broker_ops;

struct broker_call; /* a call waiting in the limiter; broker.c's */
struct metrics_series;

#define BROKER_METRIC_REQUESTS 16 /* broker.c's call kinds, with room */
#define BROKER_METRIC_ERRORS   12 /* APEX_E* codes -1..-10, and one for any other */

struct broker {
    const broker_ops *ops;
    broker_listener listener;
    /* broker.c's; adapters leave them zero. */
    uint64_t api_calls;             /* requests handed to the ops */
    ratelimit *limiter;             /* NULL = calls go straight to the ops */
    LIST_HEAD(, broker_call) calls; /* queued in the limiter or waiting to deliver a refusal */
    /* apex_broker_requests_total per request kind and apex_broker_errors_total per error
     * code (metrics.h), each found on its first use */
    struct metrics_series *m_requests[BROKER_METRIC_REQUESTS];
    struct metrics_series *m_errors[BROKER_METRIC_ERRORS];
};

/* Adapters call this for every reply they deliver with a non-zero status (a refusal, a
 * venue error, a transport failure), so errors count the same way for every venue. */
void broker_count_error(broker *b, int status);

#endif
