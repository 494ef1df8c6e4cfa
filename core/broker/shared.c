/* shared: handles over one inner broker account, with replies routed back per handle
 * and unsolicited events fanned out to every handle. */
#include "broker/shared.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "broker/adapter.h"
#include "clock/clock.h"
#include "util/err.h"

typedef struct shared_account shared_account;
typedef struct handle handle;

/* A reply the inner broker owes to one handle's caller. */
typedef struct forward {
    LIST_ENTRY(forward) link;
    handle *h; /* NULL once the handle is freed: the reply is dropped */
    broker_cb cb;
    void *ud;
} forward;

struct handle {
    broker base; /* first, as adapter.h requires */
    shared_account *acct;
    LIST_ENTRY(handle) link;
};

struct shared_account {
    LIST_ENTRY(shared_account) link;
    char key[4200];
    broker *inner;
    LIST_HEAD(, handle) handles;
    int nhandles;
    LIST_HEAD(, forward) forwards; /* replies the inner broker still owes */
    /* The account's one rate limit (shared_broker_limiter): NULL until a pipeline asks.
     * limiter_clock is the wall clock it counts on for a venue that does not simulate,
     * owned here; NULL when it counts on the host's clock. */
    ratelimit *limiter;
    apex_clock *limiter_clock;
};

/* The accounts open in this process (the host is one process, one thread). */
static LIST_HEAD(, shared_account) accounts = LIST_HEAD_INITIALIZER(accounts);

static const broker_ops handle_ops;

static handle *as_handle(broker *b)
{
    return b && b->ops == &handle_ops ? (handle *)b : NULL;
}

/* ---- replies ---- */

static void on_forward(void *ud, const broker_reply *r)
{
    forward *f = ud;
    LIST_REMOVE(f, link);
    if (f->h)
        f->cb(f->ud, r);
    free(f);
}

/* Wraps cb for a call on h's behalf; NULL when out of memory. */
static forward *forward_new(handle *h, broker_cb cb, void *ud)
{
    forward *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->h = h;
    f->cb = cb;
    f->ud = ud;
    LIST_INSERT_HEAD(&h->acct->forwards, f, link);
    return f;
}

/* The op's result: on a synchronous refusal the callback never runs, so the wrapper
 * goes now. */
static int forwarded(forward *f, int rc)
{
    if (rc != 0) {
        LIST_REMOVE(f, link);
        free(f);
    }
    return rc;
}

/* The body of a forwarding op: `call` names the inner broker `in` and ends with
 * on_forward, f (the reply comes back through the forward record). */
#define FORWARD_CALL(call)                                                                         \
    handle *h = as_handle(b);                                                                      \
    forward *f = forward_new(h, cb, ud);                                                           \
    if (!f)                                                                                        \
        return APEX_ENOMEM;                                                                        \
    broker *in = h->acct->inner;                                                                   \
    return forwarded(f, call)

#define FORWARD(op, ...) FORWARD_CALL(in->ops->op(in, __VA_ARGS__, on_forward, f))
#define FORWARD0(op)     FORWARD_CALL(in->ops->op(in, on_forward, f))

static int h_submit(broker *b, const order_request *req, broker_cb cb, void *ud)
{
    FORWARD(submit_order, req);
}
static int h_cancel(broker *b, const char *id, broker_cb cb, void *ud)
{
    FORWARD(cancel_order, id);
}
static int h_get_order(broker *b, const char *id, broker_cb cb, void *ud)
{
    FORWARD(get_order, id);
}
static int h_open_orders(broker *b, const char *symbol, broker_cb cb, void *ud)
{
    FORWARD(list_open_orders, symbol);
}
static int h_position(broker *b, const char *symbol, broker_cb cb, void *ud)
{
    FORWARD(get_position, symbol);
}
static int h_positions(broker *b, broker_cb cb, void *ud)
{
    FORWARD0(list_positions);
}

static int h_account(broker *b, broker_cb cb, void *ud)
{
    FORWARD0(get_account);
}

static int h_quotes(broker *b, const char *const *symbols, int n, broker_cb cb, void *ud)
{
    FORWARD(get_quotes, symbols, n);
}
static int h_close(broker *b, const char *symbol, const char *id, broker_cb cb, void *ud)
{
    FORWARD(close_position, symbol, id);
}
static int h_fills(broker *b, const char *id, broker_cb cb, void *ud)
{
    FORWARD(list_fills, id);
}
static int h_symbol_fills(broker *b, const char *symbol, apex_time since, broker_cb cb, void *ud)
{
    if (!as_handle(b)->acct->inner->ops->list_symbol_fills)
        return APEX_EINVAL; /* an optional op: the account's venue may not have it */
    FORWARD(list_symbol_fills, symbol, since);
}

static int h_estimate(broker *b, const char *symbol, order_side side, order_type type, money_t ref,
                      money_t qty, broker_cost *out)
{
    return broker_estimate_cost(as_handle(b)->acct->inner, symbol, side, type, ref, qty, out);
}

/* ---- events: every handle's listener sees every event of the account ---- */

static void fan_order(void *ud, const broker_order *o)
{
    shared_account *a = ud;
    handle *h;
    LIST_FOREACH(h, &a->handles, link)
    if (h->base.listener.on_order)
        h->base.listener.on_order(h->base.listener.ud, o);
}

static void fan_fill(void *ud, const broker_fill *fill, const broker_order *o)
{
    shared_account *a = ud;
    handle *h;
    LIST_FOREACH(h, &a->handles, link)
    if (h->base.listener.on_fill)
        h->base.listener.on_fill(h->base.listener.ud, fill, o);
}

/* ---- lifetime ---- */

static void h_free(broker *b)
{
    handle *h = as_handle(b);
    shared_account *a = h->acct;
    forward *f;
    LIST_FOREACH(f, &a->forwards, link)
    if (f->h == h)
        f->h = NULL; /* the inner broker may still answer; nobody is listening */
    LIST_REMOVE(h, link);
    free(h);
    if (--a->nhandles > 0)
        return;
    LIST_REMOVE(a, link);
    /* Every handle's broker_free withdrew its queued calls from the limiter already; the
     * inner broker withdraws its own requests (an adapter's polls and retries) when it is
     * freed, so it goes first and the limiter, then its clock, after it. */
    broker_free(a->inner); /* drops the replies it still owed, so their wrappers go too */
    while (!LIST_EMPTY(&a->forwards)) {
        f = LIST_FIRST(&a->forwards);
        LIST_REMOVE(f, link);
        free(f);
    }
    ratelimit_free(a->limiter);
    clock_free(a->limiter_clock); /* NULL allowed; after the limiter's timer stopped */
    free(a);
}

/* Market data is the account's: the inner adapter shares one stream among subscribers. */
static market_data_sub *h_md_subscribe(broker *b, const market_data_request *req,
                                       const market_data_sink *sink, void *ud, char *err,
                                       size_t errlen)
{
    broker *in = as_handle(b)->acct->inner;
    return broker_market_data_subscribe(in, req, sink, ud, err, errlen);
}

static void h_md_unsubscribe(broker *b, market_data_sub *sub)
{
    broker_market_data_unsubscribe(as_handle(b)->acct->inner, sub);
}

static int h_session(broker *b, apex_time day, broker_cb cb, void *ud)
{
    FORWARD(get_session, day);
}

static int h_replace(broker *b, const char *id, const char *new_id, const order_change *change,
                     broker_cb cb, void *ud)
{
    if (!as_handle(b)->acct->inner->ops->replace_order)
        return APEX_EINVAL;
    FORWARD(replace_order, id, new_id, change);
}

static int h_asset(broker *b, const char *symbol, broker_cb cb, void *ud)
{
    FORWARD(get_asset, symbol);
}

static int h_clock(broker *b, broker_cb cb, void *ud)
{
    if (!as_handle(b)->acct->inner->ops->get_clock)
        return APEX_EINVAL;
    FORWARD0(get_clock);
}

static bool h_takes_brackets(const broker *b, const char *symbol)
{
    return broker_takes_brackets(((const handle *)b)->acct->inner, symbol);
}

static bool h_has_session(const broker *b)
{
    return broker_has_session(((const handle *)b)->acct->inner);
}

static const char *h_venue_name(const broker *b)
{
    return broker_name(((const handle *)b)->acct->inner);
}

static const broker_ops handle_ops = {
    .name = "shared",
    .submit_order = h_submit,
    .cancel_order = h_cancel,
    .get_order = h_get_order,
    .list_open_orders = h_open_orders,
    .get_position = h_position,
    .list_positions = h_positions,
    .get_account = h_account,
    .get_quotes = h_quotes,
    .close_position = h_close,
    .list_fills = h_fills,
    .list_symbol_fills = h_symbol_fills,
    .estimate_cost = h_estimate,
    .market_data_subscribe = h_md_subscribe,
    .market_data_unsubscribe = h_md_unsubscribe,
    .venue_name = h_venue_name,
    .get_session = h_session,
    .has_session = h_has_session,
    .takes_brackets = h_takes_brackets,
    .get_clock = h_clock,
    .get_asset = h_asset,
    .replace_order = h_replace,
    .free = h_free,
};

broker *shared_broker_open(const char *key, broker *(*open)(void *ud, char *err, size_t errlen),
                           void *ud, char *err, size_t errlen)
{
    shared_account *a;
    LIST_FOREACH(a, &accounts, link)
    if (strcmp(a->key, key) == 0)
        break;
    if (!a) {
        a = calloc(1, sizeof *a);
        if (!a) {
            err_set(err, errlen, APEX_ENOMEM, "out of memory opening account %s", key);
            return NULL;
        }
        snprintf(a->key, sizeof a->key, "%s", key);
        LIST_INIT(&a->handles);
        LIST_INIT(&a->forwards);
        a->inner = open(ud, err, errlen);
        if (!a->inner) {
            free(a);
            return NULL;
        }
        broker_set_listener(a->inner,
                            (broker_listener){.on_order = fan_order, .on_fill = fan_fill, .ud = a});
        LIST_INSERT_HEAD(&accounts, a, link);
    }
    handle *h = calloc(1, sizeof *h);
    if (!h) {
        if (a->nhandles == 0) {
            LIST_REMOVE(a, link);
            broker_free(a->inner);
            free(a);
        }
        err_set(err, errlen, APEX_ENOMEM, "out of memory opening account %s", key);
        return NULL;
    }
    h->base.ops = &handle_ops;
    h->acct = a;
    LIST_INSERT_HEAD(&a->handles, h, link);
    a->nhandles++;
    return &h->base;
}

broker *shared_broker_inner(broker *b)
{
    handle *h = as_handle(b);
    return h ? h->acct->inner : b;
}

int shared_broker_users(broker *b)
{
    handle *h = as_handle(b);
    return h ? h->acct->nhandles : 1;
}

int shared_broker_limiter(broker *b, apex_clock *clock, struct uv_loop_s *wall, int per_minute,
                          int *was)
{
    handle *h = as_handle(b);
    if (was)
        *was = 0;
    if (!h)
        return APEX_ENOTFOUND;
    if (!clock || per_minute < 1)
        return APEX_EINVAL;
    shared_account *a = h->acct;
    if (!a->limiter) {
        if (wall && !(a->limiter_clock = clock_new_live(wall, 1.0, 0)))
            return APEX_ENOMEM;
        a->limiter = ratelimit_new(a->limiter_clock ? a->limiter_clock : clock, per_minute);
        if (!a->limiter) {
            clock_free(a->limiter_clock);
            a->limiter_clock = NULL;
            return APEX_ENOMEM;
        }
        /* Named by its venue: the key may be a long path or URL, and the account's
         * pipelines all wait here. */
        ratelimit_set_metrics(a->limiter, broker_name(a->inner));
        /* The handles call the inner adapter's ops directly, so the inner broker never
         * queues a call of its own here; the adapter reads its limiter for the requests it
         * makes by itself (Alpaca's polls, retries, a call's follow-ups), and those count
         * against the same account. */
        int rc = broker_set_limiter(a->inner, a->limiter);
        if (rc != 0)
            return rc;
    } else {
        int current = ratelimit_per_minute(a->limiter);
        if (was)
            *was = current;
        /* The smallest configured limit holds, whatever order the pipelines open in. */
        if (per_minute < current) {
            int rc = ratelimit_set_per_minute(a->limiter, per_minute);
            if (rc != 0)
                return rc;
        }
    }
    return broker_set_limiter(b, a->limiter);
}
