/* broker: the generic dispatch between the host's calls and an adapter's ops.
 *
 * Rate limiting lives here rather than in a wrapper broker so that the urgency of a call
 * travels with the call (no "priority of the next call" state to set and reset) and a
 * new venue stays a thin adapter that never sees priorities or limits.
 *
 * With a limiter, a call is accepted at once (so it returns 0 like any broker call) but
 * reaches the adapter only when granted, possibly a minute later: by then the caller's
 * strings and arrays may be gone, so each queued call owns deep copies of its arguments.
 * The caller's cb/ud go straight to the adapter, so replies pass through untouched. If
 * the adapter refuses at grant time, the caller still gets its one callback, from the
 * clock, carrying the error. */
#include "broker/adapter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics.h"
#include "util/err.h"

/* The limiter's priorities are the broker's, one for one. */
_Static_assert((int)BROKER_PRIORITY_COUNT == RATELIMIT_PRIORITIES, "priority count");
_Static_assert((int)BROKER_PRIORITY_ROUTINE == RATELIMIT_ROUTINE, "routine priority");

typedef enum {
    OP_SUBMIT_ORDER,
    OP_CANCEL_ORDER,
    OP_GET_ORDER,
    OP_LIST_OPEN_ORDERS,
    OP_GET_POSITION,
    OP_LIST_POSITIONS,
    OP_GET_ACCOUNT,
    OP_GET_QUOTES,
    OP_CLOSE_POSITION,
    OP_LIST_FILLS,
    OP_GET_SESSION,
    OP_GET_ASSET,
    OP_LIST_SYMBOL_FILLS,
    OP_REPLACE_ORDER,
    OP_GET_CLOCK,
} call_op;

static const char *const op_names[] = {
    "submit_order",   "cancel_order", "get_order",         "list_open_orders", "get_position",
    "list_positions", "get_account",  "get_quotes",        "close_position",   "list_fills",
    "get_session",    "get_asset",    "list_symbol_fills", "replace_order",    "get_clock",
};

/* One call's arguments, borrowed from the caller (direct calls) or owned copies (queued
 * calls). */
typedef struct {
    call_op op;
    const order_request *req;
    const char *arg1; /* symbol or client order id; NULL where the op allows it */
    const char *arg2; /* close_position: client order id */
    const char *const *symbols;
    int nsymbols;
    apex_time day; /* get_session; list_symbol_fills: since */
    broker_cb cb;
    void *ud;
} call_args;

typedef struct broker_call {
    broker *owner;
    call_op op;
    order_request req; /* submit_order */
    char *arg1;
    char *arg2;
    char **symbols; /* get_quotes */
    int nsymbols;
    apex_time day; /* get_session; list_symbol_fills: since */
    broker_cb cb;
    void *ud;
    /* Set when the adapter refused at grant time: the error reply is on its way. */
    clock_timer fail_timer;
    int fail_status;
    LIST_ENTRY(broker_call) link; /* in the owner's `calls` */
} broker_call;

_Static_assert(sizeof op_names / sizeof *op_names <= BROKER_METRIC_REQUESTS, "request kinds");

/* ---- metrics ---------------------------------------------------------------------------- */

/* The error codes as their C names: short, stable label values. */
static const char *const error_labels[BROKER_METRIC_ERRORS] = {
    "other", "EINVAL",  "ERANGE",    "ENOMEM", "EIO",    "ENOTFOUND",
    "EBUSY", "ESCRIPT", "EREJECTED", "EDUP",   "ESTATE", "other"};

void broker_count_error(broker *b, int status)
{
    if (!b || status == 0)
        return;
    int i = status < 0 && -status < BROKER_METRIC_ERRORS - 1 ? -status : 0;
    if (!b->m_errors[i])
        b->m_errors[i] = metrics_get(METRIC_BROKER_ERRORS, broker_name(b), error_labels[i]);
    metrics_inc(b->m_errors[i]);
}

static void count_request(broker *b, call_op op)
{
    if (!b->m_requests[op])
        b->m_requests[op] = metrics_get(METRIC_BROKER_REQUESTS, broker_name(b), op_names[op]);
    metrics_inc(b->m_requests[op]);
}

/* ---- forwarding to the adapter -------------------------------------------------------- */

/* Counts every request handed to the ops, so the summary and the bench see real usage. */
static int forward(broker *b, const call_args *a)
{
    const broker_ops *ops = b->ops;
    b->api_calls++;
    count_request(b, a->op);
    switch (a->op) {
    case OP_SUBMIT_ORDER:
        return ops->submit_order(b, a->req, a->cb, a->ud);
    case OP_CANCEL_ORDER:
        return ops->cancel_order(b, a->arg1, a->cb, a->ud);
    case OP_GET_ORDER:
        return ops->get_order(b, a->arg1, a->cb, a->ud);
    case OP_LIST_OPEN_ORDERS:
        return ops->list_open_orders(b, a->arg1, a->cb, a->ud);
    case OP_GET_POSITION:
        return ops->get_position(b, a->arg1, a->cb, a->ud);
    case OP_LIST_POSITIONS:
        return ops->list_positions(b, a->cb, a->ud);
    case OP_GET_ACCOUNT:
        return ops->get_account(b, a->cb, a->ud);
    case OP_GET_QUOTES:
        return ops->get_quotes(b, a->symbols, a->nsymbols, a->cb, a->ud);
    case OP_CLOSE_POSITION:
        return ops->close_position(b, a->arg1, a->arg2, a->cb, a->ud);
    case OP_LIST_FILLS:
        return ops->list_fills(b, a->arg1, a->cb, a->ud);
    case OP_GET_SESSION:
        return ops->get_session ? ops->get_session(b, a->day, a->cb, a->ud) : APEX_EINVAL;
    case OP_GET_ASSET:
        return ops->get_asset ? ops->get_asset(b, a->arg1, a->cb, a->ud) : APEX_EINVAL;
    case OP_REPLACE_ORDER: {
        /* The change travels in the request's price and quantity fields. */
        order_change ch = {a->req->qty, a->req->limit_price, a->req->stop_price};
        return ops->replace_order ? ops->replace_order(b, a->arg1, a->arg2, &ch, a->cb, a->ud)
                                  : APEX_EINVAL;
    }
    case OP_GET_CLOCK:
        return ops->get_clock ? ops->get_clock(b, a->cb, a->ud) : APEX_EINVAL;
    case OP_LIST_SYMBOL_FILLS:
        return ops->list_symbol_fills ? ops->list_symbol_fills(b, a->arg1, a->day, a->cb, a->ud)
                                      : APEX_EINVAL;
    }
    return APEX_EINVAL;
}

/* ---- queued calls ------------------------------------------------------------------------ */

static void call_free(broker_call *c)
{
    if (!c)
        return;
    free(c->arg1);
    free(c->arg2);
    for (int i = 0; i < c->nsymbols; i++)
        free(c->symbols[i]);
    free(c->symbols);
    free(c);
}

static void call_link(broker_call *c)
{
    broker *b = c->owner;
    LIST_INSERT_HEAD(&b->calls, c, link); /* a zeroed head is an empty list */
}

static void call_unlink(broker_call *c)
{
    LIST_REMOVE(c, link);
}

/* Copies an optional string; false only when a copy was needed and failed. */
static bool dup_opt(const char *s, char **out)
{
    *out = NULL;
    if (!s)
        return true;
    *out = strdup(s);
    return *out != NULL;
}

static void deliver_failure(clock_timer *t, void *ud)
{
    (void)t;
    broker_call *c = ud;
    broker_reply reply;
    memset(&reply, 0, sizeof reply);
    reply.status = c->fail_status;
    const char *name = c->owner->ops->name;
    snprintf(reply.error, sizeof reply.error,
             "%s: the %s broker refused the request (%s); check the arguments and retry",
             op_names[c->op], name ? name : "", err_name(c->fail_status));
    call_unlink(c);
    broker_count_error(c->owner, c->fail_status);
    broker_cb cb = c->cb;
    void *cb_ud = c->ud;
    call_free(c);
    if (cb)
        cb(cb_ud, &reply);
}

static void on_grant(void *ud)
{
    broker_call *c = ud;
    call_args a = {.op = c->op,
                   .req = &c->req,
                   .arg1 = c->arg1,
                   .arg2 = c->arg2,
                   .symbols = (const char *const *)c->symbols,
                   .nsymbols = c->nsymbols,
                   .day = c->day,
                   .cb = c->cb,
                   .ud = c->ud};
    int rc = forward(c->owner, &a);
    if (rc >= 0) {
        /* The adapter copied what it needs and now owns the reply. */
        call_unlink(c);
        call_free(c);
        return;
    }
    /* Callers were promised exactly one callback once the call returned 0. */
    c->fail_status = rc;
    clock_timer_start_in(&c->fail_timer, 0);
}

/* Deep-copies a call's arguments into a new queued call. NULL when out of memory. */
static broker_call *call_copy(broker *b, const call_args *a)
{
    broker_call *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->owner = b;
    c->op = a->op;
    c->day = a->day;
    c->cb = a->cb;
    c->ud = a->ud;
    /* Initialised now so broker_free can tell a pending failure from a queued call. */
    clock_timer_init(ratelimit_clock(b->limiter), &c->fail_timer, deliver_failure, c);
    if (a->req)
        c->req = *a->req; /* fixed-size arrays: a struct copy is a deep copy */
    bool ok = dup_opt(a->arg1, &c->arg1) && dup_opt(a->arg2, &c->arg2);
    if (ok && a->nsymbols > 0) {
        c->symbols = calloc((size_t)a->nsymbols, sizeof *c->symbols);
        ok = c->symbols != NULL;
        for (int i = 0; ok && i < a->nsymbols; i++) {
            ok = dup_opt(a->symbols[i], &c->symbols[i]);
            c->nsymbols = i + 1; /* so call_free releases what was copied so far */
        }
    }
    if (!ok) {
        call_free(c);
        return NULL;
    }
    c->nsymbols = a->nsymbols;
    return c;
}

/* ---- the public calls --------------------------------------------------------------------- */

static int dispatch(broker *b, broker_priority prio, const call_args *a)
{
    if (!b || (int)prio < 0 || prio >= BROKER_PRIORITY_COUNT)
        return APEX_EINVAL;
    if (!b->limiter)
        return forward(b, a);
    broker_call *c = call_copy(b, a);
    if (!c)
        return APEX_ENOMEM;
    call_link(c);
    int rc = ratelimit_submit(b->limiter, (int)prio, on_grant, c);
    if (rc < 0) {
        call_unlink(c);
        call_free(c);
    }
    return rc;
}

int broker_submit_order(broker *b, broker_priority prio, const order_request *req, broker_cb cb,
                        void *ud)
{
    if (!req)
        return APEX_EINVAL;
    return dispatch(b, prio, &(call_args){.op = OP_SUBMIT_ORDER, .req = req, .cb = cb, .ud = ud});
}

int broker_cancel_order(broker *b, broker_priority prio, const char *coid, broker_cb cb, void *ud)
{
    return dispatch(b, prio, &(call_args){.op = OP_CANCEL_ORDER, .arg1 = coid, .cb = cb, .ud = ud});
}

int broker_get_order(broker *b, broker_priority prio, const char *coid, broker_cb cb, void *ud)
{
    return dispatch(b, prio, &(call_args){.op = OP_GET_ORDER, .arg1 = coid, .cb = cb, .ud = ud});
}

int broker_list_open_orders(broker *b, broker_priority prio, const char *symbol, broker_cb cb,
                            void *ud)
{
    return dispatch(b, prio,
                    &(call_args){.op = OP_LIST_OPEN_ORDERS, .arg1 = symbol, .cb = cb, .ud = ud});
}

int broker_get_position(broker *b, broker_priority prio, const char *symbol, broker_cb cb, void *ud)
{
    return dispatch(b, prio,
                    &(call_args){.op = OP_GET_POSITION, .arg1 = symbol, .cb = cb, .ud = ud});
}

int broker_list_positions(broker *b, broker_priority prio, broker_cb cb, void *ud)
{
    return dispatch(b, prio, &(call_args){.op = OP_LIST_POSITIONS, .cb = cb, .ud = ud});
}

int broker_get_account(broker *b, broker_priority prio, broker_cb cb, void *ud)
{
    return dispatch(b, prio, &(call_args){.op = OP_GET_ACCOUNT, .cb = cb, .ud = ud});
}

int broker_get_quotes(broker *b, broker_priority prio, const char *const *symbols, int n,
                      broker_cb cb, void *ud)
{
    if (n < 0 || (n > 0 && !symbols))
        return APEX_EINVAL;
    return dispatch(
        b, prio,
        &(call_args){.op = OP_GET_QUOTES, .symbols = symbols, .nsymbols = n, .cb = cb, .ud = ud});
}

int broker_close_position(broker *b, broker_priority prio, const char *symbol, const char *coid,
                          broker_cb cb, void *ud)
{
    return dispatch(
        b, prio,
        &(call_args){.op = OP_CLOSE_POSITION, .arg1 = symbol, .arg2 = coid, .cb = cb, .ud = ud});
}

int broker_list_fills(broker *b, broker_priority prio, const char *coid, broker_cb cb, void *ud)
{
    return dispatch(b, prio, &(call_args){.op = OP_LIST_FILLS, .arg1 = coid, .cb = cb, .ud = ud});
}

int broker_list_symbol_fills(broker *b, broker_priority prio, const char *symbol, apex_time since,
                             broker_cb cb, void *ud)
{
    if (!b || !symbol || !b->ops->list_symbol_fills)
        return APEX_EINVAL; /* before the limiter: a venue that cannot costs no call */
    return dispatch(
        b, prio,
        &(call_args){.op = OP_LIST_SYMBOL_FILLS, .arg1 = symbol, .day = since, .cb = cb, .ud = ud});
}

int broker_get_session(broker *b, broker_priority prio, apex_time day, broker_cb cb, void *ud)
{
    if (!broker_has_session(b))
        return APEX_EINVAL; /* before the limiter: a venue without a calendar costs no call */
    return dispatch(b, prio, &(call_args){.op = OP_GET_SESSION, .day = day, .cb = cb, .ud = ud});
}

int broker_replace_order(broker *b, broker_priority prio, const char *client_order_id,
                         const char *new_client_order_id, const order_change *change, broker_cb cb,
                         void *ud)
{
    if (!b || !b->ops->replace_order || !client_order_id || !new_client_order_id || !change ||
        change->qty < 0 || change->limit_price < 0 || change->stop_price < 0)
        return APEX_EINVAL; /* before the limiter: a venue that cannot replace costs nothing */
    order_request req = {
        .qty = change->qty, .limit_price = change->limit_price, .stop_price = change->stop_price};
    return dispatch(b, prio,
                    &(call_args){.op = OP_REPLACE_ORDER,
                                 .req = &req,
                                 .arg1 = client_order_id,
                                 .arg2 = new_client_order_id,
                                 .cb = cb,
                                 .ud = ud});
}

int broker_get_asset(broker *b, broker_priority prio, const char *symbol, broker_cb cb, void *ud)
{
    if (!b || !b->ops->get_asset || !symbol)
        return APEX_EINVAL; /* before the limiter: a venue without an asset list costs nothing */
    return dispatch(b, prio, &(call_args){.op = OP_GET_ASSET, .arg1 = symbol, .cb = cb, .ud = ud});
}

int broker_get_clock(broker *b, broker_priority prio, broker_cb cb, void *ud)
{
    if (!b || !b->ops->get_clock)
        return APEX_EINVAL; /* before the limiter: a venue without a clock costs nothing */
    return dispatch(b, prio, &(call_args){.op = OP_GET_CLOCK, .cb = cb, .ud = ud});
}

bool broker_takes_brackets(const broker *b, const char *symbol)
{
    return !b || !b->ops->takes_brackets || b->ops->takes_brackets(b, symbol);
}

bool broker_has_session(const broker *b)
{
    if (!b || !b->ops->get_session)
        return false;
    return b->ops->has_session ? b->ops->has_session(b) : true;
}

/* ---- configuration and lifetime ------------------------------------------------------------ */

void broker_set_listener(broker *b, broker_listener l)
{
    b->listener = l;
}

int broker_set_limiter(broker *b, ratelimit *limiter)
{
    if (!b)
        return APEX_EINVAL;
    /* Queued calls belong to the old limiter's queue and timers: moving them is not worth
     * it for a setting made once, at open. */
    if (!LIST_EMPTY(&b->calls) && limiter != b->limiter)
        return APEX_EBUSY;
    b->limiter = limiter;
    return 0;
}

int broker_estimate_cost(broker *b, const char *symbol, order_side side, order_type type,
                         money_t ref, money_t qty, broker_cost *out)
{
    if (!b || !symbol || !out || ref < 0 || qty < 0)
        return APEX_EINVAL;
    out->price = ref;
    out->fee = 0;
    return b->ops->estimate_cost ? b->ops->estimate_cost(b, symbol, side, type, ref, qty, out) : 0;
}

uint64_t broker_api_calls(const broker *b)
{
    return b ? b->api_calls : 0;
}

market_data_sub *broker_market_data_subscribe(broker *b, const market_data_request *req,
                                              const market_data_sink *sink, void *ud, char *err,
                                              size_t errlen)
{
    if (!b || !req || !sink || req->nsymbols <= 0 || req->timeframe_s <= 0 ||
        req->warmup_bars < 0) {
        err_set(err, errlen, APEX_EINVAL,
                "market data: a subscription needs symbols and an "
                "interval");
        return NULL;
    }
    if (!b->ops->market_data_subscribe) {
        err_set(err, errlen, APEX_EINVAL,
                "broker '%s' has no live market data; give the bars as data.files instead",
                broker_name(b));
        return NULL;
    }
    return b->ops->market_data_subscribe(b, req, sink, ud, err, errlen);
}

void broker_market_data_unsubscribe(broker *b, market_data_sub *sub)
{
    if (b && sub && b->ops->market_data_unsubscribe)
        b->ops->market_data_unsubscribe(b, sub);
}

const char *broker_name(const broker *b)
{
    if (b && b->ops->venue_name)
        return b->ops->venue_name(b);
    return b && b->ops->name ? b->ops->name : "";
}

void broker_free(broker *b)
{
    if (!b)
        return;
    /* The limiter is borrowed and may outlive us: take our calls out of it. */
    while (!LIST_EMPTY(&b->calls)) {
        broker_call *c = LIST_FIRST(&b->calls);
        if (clock_timer_active(&c->fail_timer))
            clock_timer_stop(&c->fail_timer);
        else
            ratelimit_cancel(b->limiter, on_grant, c);
        call_unlink(c);
        call_free(c);
    }
    b->ops->free(b);
}
