/* limited: every broker call waits its turn in a rate limiter, then goes to the inner
 * broker unchanged.
 *
 * A call is accepted at once (so it returns 0 like any broker call) but reaches the
 * inner broker only when granted, possibly a minute later: by then the caller's strings
 * and arrays may be gone, so each queued call owns deep copies of its arguments. The
 * caller's cb/ud go straight to the inner broker, so replies pass through untouched. If
 * the inner broker refuses at grant time, the caller still gets its one callback, from
 * the clock, carrying the error. */
#include "broker/limited.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/container.h"
#include "util/err.h"
#include "util/list.h"
#include "util/log.h"

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
} call_op;

static const char *const op_names[] = {
    "submit_order",   "cancel_order", "get_order",  "list_open_orders", "get_position",
    "list_positions", "get_account",  "get_quotes", "close_position",   "list_fills",
};

typedef struct limited_broker limited_broker;

typedef struct pending_call {
    limited_broker *owner;
    call_op op;
    order_request req; /* submit_order */
    char *arg1;        /* symbol or client order id; NULL where the op allows it */
    char *arg2;        /* close_position: client order id */
    char **symbols;    /* get_quotes */
    int nsymbols;
    broker_cb cb;
    void *ud;
    /* Set when the inner broker refused at grant time: the error reply is on its way. */
    clock_timer fail_timer;
    int fail_status;
    list_node link; /* in the owner's `calls` */
} pending_call;

struct limited_broker {
    broker base; /* first: the host sees a plain broker */
    broker *inner;
    ratelimit *limiter;
    int next_priority;
    list_node calls; /* pending_call: queued in the limiter or waiting to deliver a failure */
};

/* ---- call lifetime ------------------------------------------------------------------- */

static void call_free(pending_call *c)
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

/* Copies an optional string; false only when a copy was needed and failed. */
static bool dup_opt(const char *s, char **out)
{
    *out = NULL;
    if (!s)
        return true;
    *out = strdup(s);
    return *out != NULL;
}

static void deliver_failure(clock_timer *t, void *ud);

static pending_call *call_new(limited_broker *lb, call_op op, broker_cb cb, void *ud)
{
    pending_call *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->owner = lb;
    c->op = op;
    c->cb = cb;
    c->ud = ud;
    /* Initialised now so lb_free can tell a pending failure from a queued call. */
    clock_timer_init(ratelimit_clock(lb->limiter), &c->fail_timer, deliver_failure, c);
    return c;
}

/* ---- grant ----------------------------------------------------------------------------- */

static void deliver_failure(clock_timer *t, void *ud)
{
    (void)t;
    pending_call *c = ud;
    broker_reply reply;
    memset(&reply, 0, sizeof reply);
    reply.status = c->fail_status;
    snprintf(reply.error, sizeof reply.error,
             "%s: the %s broker refused the request (%s); check the arguments and retry",
             op_names[c->op], c->owner->inner->ops->name ? c->owner->inner->ops->name : "inner",
             err_name(c->fail_status));
    list_remove(&c->link);
    broker_cb cb = c->cb;
    void *cb_ud = c->ud;
    call_free(c);
    if (cb)
        cb(cb_ud, &reply);
}

static int forward(pending_call *c)
{
    broker *in = c->owner->inner;
    switch (c->op) {
    case OP_SUBMIT_ORDER:
        return broker_submit_order(in, &c->req, c->cb, c->ud);
    case OP_CANCEL_ORDER:
        return broker_cancel_order(in, c->arg1, c->cb, c->ud);
    case OP_GET_ORDER:
        return broker_get_order(in, c->arg1, c->cb, c->ud);
    case OP_LIST_OPEN_ORDERS:
        return broker_list_open_orders(in, c->arg1, c->cb, c->ud);
    case OP_GET_POSITION:
        return broker_get_position(in, c->arg1, c->cb, c->ud);
    case OP_LIST_POSITIONS:
        return broker_list_positions(in, c->cb, c->ud);
    case OP_GET_ACCOUNT:
        return broker_get_account(in, c->cb, c->ud);
    case OP_GET_QUOTES:
        return broker_get_quotes(in, (const char *const *)c->symbols, c->nsymbols, c->cb, c->ud);
    case OP_CLOSE_POSITION:
        return broker_close_position(in, c->arg1, c->arg2, c->cb, c->ud);
    case OP_LIST_FILLS:
        return broker_list_fills(in, c->arg1, c->cb, c->ud);
    }
    return APEX_EINVAL;
}

static void on_grant(void *ud)
{
    pending_call *c = ud;
    int rc = forward(c);
    if (rc >= 0) {
        /* The inner broker copied what it needs and now owns the reply. */
        list_remove(&c->link);
        call_free(c);
        return;
    }
    /* Callers were promised exactly one callback once the call returned 0. */
    c->fail_status = rc;
    clock_timer_start_in(&c->fail_timer, 0);
}

/* Queues a filled-in call; on failure frees it and returns the error. */
static int enqueue(limited_broker *lb, pending_call *c)
{
    int priority = lb->next_priority;
    lb->next_priority = RATELIMIT_ROUTINE;
    list_insert_head(&lb->calls, &c->link);
    int rc = ratelimit_submit(lb->limiter, priority, on_grant, c);
    if (rc < 0) {
        list_remove(&c->link);
        call_free(c);
    }
    return rc;
}

/* ---- broker_ops -------------------------------------------------------------------------- */

static limited_broker *as_limited(broker *b)
{
    return container_of(b, limited_broker, base);
}

/* The common shape of ops taking one optional string argument. */
static int queue_with_string(broker *b, call_op op, const char *arg, broker_cb cb, void *ud)
{
    limited_broker *lb = as_limited(b);
    pending_call *c = call_new(lb, op, cb, ud);
    if (!c || !dup_opt(arg, &c->arg1)) {
        call_free(c);
        lb->next_priority = RATELIMIT_ROUTINE;
        return APEX_ENOMEM;
    }
    return enqueue(lb, c);
}

static int lb_submit_order(broker *b, const order_request *req, broker_cb cb, void *ud)
{
    limited_broker *lb = as_limited(b);
    if (!req) {
        lb->next_priority = RATELIMIT_ROUTINE;
        return APEX_EINVAL;
    }
    pending_call *c = call_new(lb, OP_SUBMIT_ORDER, cb, ud);
    if (!c) {
        lb->next_priority = RATELIMIT_ROUTINE;
        return APEX_ENOMEM;
    }
    c->req = *req; /* fixed-size arrays: a struct copy is a deep copy */
    return enqueue(lb, c);
}

static int lb_cancel_order(broker *b, const char *coid, broker_cb cb, void *ud)
{
    return queue_with_string(b, OP_CANCEL_ORDER, coid, cb, ud);
}

static int lb_get_order(broker *b, const char *coid, broker_cb cb, void *ud)
{
    return queue_with_string(b, OP_GET_ORDER, coid, cb, ud);
}

static int lb_list_open_orders(broker *b, const char *symbol, broker_cb cb, void *ud)
{
    return queue_with_string(b, OP_LIST_OPEN_ORDERS, symbol, cb, ud);
}

static int lb_get_position(broker *b, const char *symbol, broker_cb cb, void *ud)
{
    return queue_with_string(b, OP_GET_POSITION, symbol, cb, ud);
}

static int lb_list_positions(broker *b, broker_cb cb, void *ud)
{
    return queue_with_string(b, OP_LIST_POSITIONS, NULL, cb, ud);
}

static int lb_get_account(broker *b, broker_cb cb, void *ud)
{
    return queue_with_string(b, OP_GET_ACCOUNT, NULL, cb, ud);
}

static int lb_list_fills(broker *b, const char *coid, broker_cb cb, void *ud)
{
    return queue_with_string(b, OP_LIST_FILLS, coid, cb, ud);
}

static int lb_get_quotes(broker *b, const char *const *symbols, int n, broker_cb cb, void *ud)
{
    limited_broker *lb = as_limited(b);
    if (n < 0 || (n > 0 && !symbols)) {
        lb->next_priority = RATELIMIT_ROUTINE;
        return APEX_EINVAL;
    }
    pending_call *c = call_new(lb, OP_GET_QUOTES, cb, ud);
    if (c && n > 0)
        c->symbols = calloc((size_t)n, sizeof *c->symbols);
    bool ok = c && (n == 0 || c->symbols);
    for (int i = 0; ok && i < n; i++) {
        ok = dup_opt(symbols[i], &c->symbols[i]);
        c->nsymbols = i + 1; /* so call_free releases what was copied so far */
    }
    if (!ok) {
        call_free(c);
        lb->next_priority = RATELIMIT_ROUTINE;
        return APEX_ENOMEM;
    }
    return enqueue(lb, c);
}

static int lb_close_position(broker *b, const char *symbol, const char *coid, broker_cb cb,
                             void *ud)
{
    limited_broker *lb = as_limited(b);
    pending_call *c = call_new(lb, OP_CLOSE_POSITION, cb, ud);
    if (!c || !dup_opt(symbol, &c->arg1) || !dup_opt(coid, &c->arg2)) {
        call_free(c);
        lb->next_priority = RATELIMIT_ROUTINE;
        return APEX_ENOMEM;
    }
    return enqueue(lb, c);
}

/* Market data is not an API call: no limiter. */
static void lb_on_bar(broker *b, const bar *data, const char *symbol)
{
    broker_on_bar(as_limited(b)->inner, data, symbol);
}

static void lb_free(broker *b)
{
    limited_broker *lb = as_limited(b);
    /* The limiter is borrowed and may outlive us: take our calls out of it. */
    for (list_node *n; (n = list_pop_first(&lb->calls));) {
        pending_call *c = list_entry(n, pending_call, link);
        if (clock_timer_active(&c->fail_timer))
            clock_timer_stop(&c->fail_timer);
        else
            ratelimit_cancel(lb->limiter, on_grant, c);
        call_free(c);
    }
    broker_free(lb->inner);
    free(lb);
}

static const broker_ops limited_ops = {
    .name = "limited",
    .submit_order = lb_submit_order,
    .cancel_order = lb_cancel_order,
    .get_order = lb_get_order,
    .list_open_orders = lb_list_open_orders,
    .get_position = lb_get_position,
    .list_positions = lb_list_positions,
    .get_account = lb_get_account,
    .get_quotes = lb_get_quotes,
    .close_position = lb_close_position,
    .list_fills = lb_list_fills,
    .on_bar = lb_on_bar,
    .free = lb_free,
};

/* ---- listener forwarding ------------------------------------------------------------------ */

/* The host installs its listener on the outer broker after creation, so it is read at
 * event time rather than copied now. */
static void forward_order(void *ud, const broker_order *order)
{
    limited_broker *lb = ud;
    if (lb->base.listener.on_order)
        lb->base.listener.on_order(lb->base.listener.ud, order);
}

static void forward_fill(void *ud, const broker_fill *fill, const broker_order *order)
{
    limited_broker *lb = ud;
    if (lb->base.listener.on_fill)
        lb->base.listener.on_fill(lb->base.listener.ud, fill, order);
}

/* ---- public ----------------------------------------------------------------------------- */

broker *limited_broker_new(broker *inner, ratelimit *limiter)
{
    if (!inner || !limiter)
        return NULL;
    limited_broker *lb = calloc(1, sizeof *lb);
    if (!lb)
        return NULL;
    lb->base.ops = &limited_ops;
    lb->inner = inner;
    lb->limiter = limiter;
    list_init(&lb->calls);
    lb->next_priority = RATELIMIT_ROUTINE;
    broker_set_listener(
        inner, (broker_listener){.on_order = forward_order, .on_fill = forward_fill, .ud = lb});
    return &lb->base;
}

void limited_broker_next_priority(broker *b, int priority)
{
    if (!b || b->ops != &limited_ops)
        return;
    if (priority < 0 || priority >= RATELIMIT_PRIORITIES) {
        log_warn("limited broker: priority %d is outside 0..%d; using routine", priority,
                 RATELIMIT_PRIORITIES - 1);
        priority = RATELIMIT_ROUTINE;
    }
    as_limited(b)->next_priority = priority;
}

broker *limited_broker_inner(broker *b)
{
    if (!b || b->ops != &limited_ops)
        return NULL;
    return as_limited(b)->inner;
}
