/* broker dispatch with a limiter (broker_set_limiter): the adapter never sees more than
 * the limit in any 60 s window, every accepted call gets exactly one reply, arguments
 * outlive the caller's buffers, listener events reach the host, a CRITICAL call
 * overtakes routine ones, and the priority is checked on every call.
 *
 * The adapter is a small fake that records the clock time of every call it gets and
 * replies from a clock timer, as a real adapter does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker/adapter.h"
#include "net/ratelimit.h"
#include "util/err.h"

#define T0 ((apex_time)1709303400 * APEX_SECOND) /* 2024-03-01 14:30:00 UTC */

/* ---- fake adapter ------------------------------------------------------------------------- */

typedef enum { FAKE_SUBMIT, FAKE_POSITION, FAKE_QUOTES, FAKE_ACCOUNT, FAKE_OTHER } fake_kind;

typedef struct fake_broker fake_broker;

typedef struct fake_reply {
    fake_broker *fb;
    clock_timer timer;
    fake_kind kind;
    broker_order order;
    broker_position position;
    broker_quote quotes[8];
    int nquotes;
    broker_cb cb;
    void *ud;
    struct fake_reply *next;
} fake_reply;

struct fake_broker {
    broker base;
    apex_clock *clock;
    apex_time *call_at; /* clock time of every call, in order */
    fake_kind *call_kind;
    int ncalls, cap;
    fake_reply *pending;
    bool *freed; /* raised by free so a test can see ownership was taken */
};

static void record_call(fake_broker *fb, fake_kind kind)
{
    if (fb->ncalls == fb->cap) {
        fb->cap = fb->cap ? fb->cap * 2 : 256;
        fb->call_at = realloc(fb->call_at, (size_t)fb->cap * sizeof *fb->call_at);
        fb->call_kind = realloc(fb->call_kind, (size_t)fb->cap * sizeof *fb->call_kind);
        assert_non_null(fb->call_at);
        assert_non_null(fb->call_kind);
    }
    fb->call_at[fb->ncalls] = clock_now(fb->clock);
    fb->call_kind[fb->ncalls] = kind;
    fb->ncalls++;
}

static void unlink_reply(fake_reply *r)
{
    fake_reply **pp = &r->fb->pending;
    while (*pp != r)
        pp = &(*pp)->next;
    *pp = r->next;
}

static void fire_reply(clock_timer *t, void *ud)
{
    (void)t;
    fake_reply *r = ud;
    unlink_reply(r);
    broker_reply reply = {0};
    switch (r->kind) {
    case FAKE_SUBMIT:
        reply.order = &r->order;
        break;
    case FAKE_POSITION:
        reply.positions = &r->position;
        reply.npositions = 1;
        break;
    case FAKE_QUOTES:
        reply.quotes = r->quotes;
        reply.nquotes = r->nquotes;
        break;
    default:
        break;
    }
    r->cb(r->ud, &reply);
    free(r);
}

/* Replies one simulated second later. */
static fake_reply *queue_reply(fake_broker *fb, fake_kind kind, broker_cb cb, void *ud)
{
    record_call(fb, kind);
    fake_reply *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->fb = fb;
    r->kind = kind;
    r->cb = cb;
    r->ud = ud;
    r->next = fb->pending;
    fb->pending = r;
    clock_timer_init(fb->clock, &r->timer, fire_reply, r);
    clock_timer_start_in(&r->timer, APEX_SECOND);
    return r;
}

static int fake_submit(broker *b, const order_request *req, broker_cb cb, void *ud)
{
    fake_reply *r = queue_reply((fake_broker *)b, FAKE_SUBMIT, cb, ud);
    snprintf(r->order.client_order_id, sizeof r->order.client_order_id, "%s", req->client_order_id);
    snprintf(r->order.symbol, sizeof r->order.symbol, "%s", req->symbol);
    r->order.qty = req->qty;
    r->order.limit_price = req->limit_price;
    r->order.side = req->side;
    r->order.type = req->type;
    r->order.status = ORDER_STATUS_ACCEPTED;
    return 0;
}

static int fake_get_position(broker *b, const char *symbol, broker_cb cb, void *ud)
{
    fake_reply *r = queue_reply((fake_broker *)b, FAKE_POSITION, cb, ud);
    snprintf(r->position.symbol, sizeof r->position.symbol, "%s", symbol);
    r->position.qty = MONEY(10);
    return 0;
}

static int fake_get_quotes(broker *b, const char *const *symbols, int n, broker_cb cb, void *ud)
{
    if (n > 8)
        return APEX_EINVAL;
    fake_reply *r = queue_reply((fake_broker *)b, FAKE_QUOTES, cb, ud);
    for (int i = 0; i < n; i++) {
        snprintf(r->quotes[i].symbol, sizeof r->quotes[i].symbol, "%s", symbols[i]);
        r->quotes[i].last = MONEY(100 + i);
    }
    r->nquotes = n;
    return 0;
}

static int fake_get_account(broker *b, broker_cb cb, void *ud)
{
    queue_reply((fake_broker *)b, FAKE_ACCOUNT, cb, ud);
    return 0;
}

/* Refuses unknown ids at once, as a broker validating its input would. */
static int fake_get_order(broker *b, const char *coid, broker_cb cb, void *ud)
{
    fake_broker *fb = (fake_broker *)b;
    if (strcmp(coid, "known") != 0) {
        record_call(fb, FAKE_OTHER);
        return APEX_ENOTFOUND;
    }
    queue_reply(fb, FAKE_OTHER, cb, ud);
    return 0;
}

static int fake_cancel(broker *b, const char *coid, broker_cb cb, void *ud)
{
    queue_reply((fake_broker *)b, FAKE_OTHER, cb, ud);
    return 0;
}

static int fake_list_open(broker *b, const char *symbol, broker_cb cb, void *ud)
{
    queue_reply((fake_broker *)b, FAKE_OTHER, cb, ud);
    return 0;
}

static int fake_list_positions(broker *b, broker_cb cb, void *ud)
{
    queue_reply((fake_broker *)b, FAKE_OTHER, cb, ud);
    return 0;
}

static int fake_close(broker *b, const char *symbol, const char *coid, broker_cb cb, void *ud)
{
    fake_reply *r = queue_reply((fake_broker *)b, FAKE_SUBMIT, cb, ud);
    snprintf(r->order.symbol, sizeof r->order.symbol, "%s", symbol);
    snprintf(r->order.client_order_id, sizeof r->order.client_order_id, "%s", coid);
    return 0;
}

static int fake_list_fills(broker *b, const char *coid, broker_cb cb, void *ud)
{
    queue_reply((fake_broker *)b, FAKE_OTHER, cb, ud);
    return 0;
}

static void fake_free(broker *b)
{
    fake_broker *fb = (fake_broker *)b;
    while (fb->pending) {
        fake_reply *r = fb->pending;
        fb->pending = r->next;
        clock_timer_stop(&r->timer);
        free(r);
    }
    if (fb->freed)
        *fb->freed = true;
    free(fb->call_at);
    free(fb->call_kind);
    free(fb);
}

static const broker_ops fake_ops = {
    .name = "fake",
    .submit_order = fake_submit,
    .cancel_order = fake_cancel,
    .get_order = fake_get_order,
    .list_open_orders = fake_list_open,
    .get_position = fake_get_position,
    .list_positions = fake_list_positions,
    .get_account = fake_get_account,
    .get_quotes = fake_get_quotes,
    .close_position = fake_close,
    .list_fills = fake_list_fills,
    .free = fake_free,
};

/* ---- fixture ----------------------------------------------------------------------------- */

typedef struct {
    apex_clock *clock;
    ratelimit *rl;
    fake_broker *fake;
    broker *b; /* the fake, as the host sees it */
} fixture;

static void fixture_open(fixture *f, int per_minute)
{
    f->clock = clock_new_simulated(T0);
    f->rl = ratelimit_new(f->clock, per_minute);
    f->fake = calloc(1, sizeof *f->fake);
    assert_non_null(f->fake);
    f->fake->base.ops = &fake_ops;
    f->fake->clock = f->clock;
    f->b = &f->fake->base;
    assert_int_equal(broker_set_limiter(f->b, f->rl), 0);
}

static void fixture_close(fixture *f)
{
    broker_free(f->b);
    ratelimit_free(f->rl);
    clock_free(f->clock);
}

/* Most calls seen by the adapter in any window (t - 60 s, t]. */
static int max_calls_in_any_window(const fake_broker *fb)
{
    int worst = 0, lo = 0;
    for (int hi = 0; hi < fb->ncalls; hi++) {
        while (fb->call_at[lo] <= fb->call_at[hi] - APEX_MINUTE)
            lo++;
        if (hi - lo + 1 > worst)
            worst = hi - lo + 1;
    }
    return worst;
}

/* One reply collector per request. */
typedef struct {
    int replies;
    int status;
    char error[256];
    char symbol[SYMBOL_MAX];
    char coid[BROKER_ID_MAX];
    money_t qty;
    char quote_symbols[4][SYMBOL_MAX];
    money_t quote_last[4];
    int nquotes;
    apex_time at;
} reply_box;

static apex_clock *reply_clock;

static void collect(void *ud, const broker_reply *r)
{
    reply_box *box = ud;
    box->replies++;
    box->status = r->status;
    box->at = clock_now(reply_clock);
    snprintf(box->error, sizeof box->error, "%s", r->error);
    if (r->order) {
        snprintf(box->coid, sizeof box->coid, "%s", r->order->client_order_id);
        snprintf(box->symbol, sizeof box->symbol, "%s", r->order->symbol);
        box->qty = r->order->qty;
    }
    if (r->npositions == 1)
        snprintf(box->symbol, sizeof box->symbol, "%s", r->positions[0].symbol);
    box->nquotes = r->nquotes;
    for (int i = 0; i < r->nquotes && i < 4; i++) {
        snprintf(box->quote_symbols[i], SYMBOL_MAX, "%s", r->quotes[i].symbol);
        box->quote_last[i] = r->quotes[i].last;
    }
}

/* ---- 200 positions polling --------------------------------------------------------------- */

#define NPOS        200
#define POLL_EVERY  (5 * APEX_SECOND)
#define POLL_FOR    (10 * APEX_MINUTE)
#define MAX_REQUEST (NPOS * (int)(POLL_FOR / POLL_EVERY) + NPOS)

typedef struct {
    fixture *f;
    int id;
    char symbol[SYMBOL_MAX];
    clock_timer poll;
    int *replies; /* per request, indexed by request number */
    int *next_request;
    int *bad_symbol_replies;
} position;

typedef struct {
    position *pos;
    int request;
} poll_request;

static void on_position(void *ud, const broker_reply *r)
{
    poll_request *q = ud;
    q->pos->replies[q->request]++;
    if (r->status != 0 || r->npositions != 1 || strcmp(r->positions[0].symbol, q->pos->symbol))
        (*q->pos->bad_symbol_replies)++;
    free(q);
}

static void poll_position(clock_timer *t, void *ud)
{
    position *p = ud;
    if (clock_now(p->f->clock) >= T0 + POLL_FOR)
        return; /* the run is over: stop polling */
    poll_request *q = malloc(sizeof *q);
    assert_non_null(q);
    q->pos = p;
    q->request = (*p->next_request)++;
    assert_true(q->request < MAX_REQUEST);
    assert_int_equal(
        broker_get_position(p->f->b, BROKER_PRIORITY_ROUTINE, p->symbol, on_position, q), 0);
    clock_timer_start_in(t, POLL_EVERY);
}

static void test_200_positions_never_exceed_limit(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, 60);
    int *replies = calloc(MAX_REQUEST, sizeof *replies);
    position *pos = calloc(NPOS, sizeof *pos);
    assert_non_null(replies);
    assert_non_null(pos);
    int next_request = 0, bad = 0;
    for (int i = 0; i < NPOS; i++) {
        pos[i] = (position){.f = &f,
                            .id = i,
                            .replies = replies,
                            .next_request = &next_request,
                            .bad_symbol_replies = &bad};
        snprintf(pos[i].symbol, sizeof pos[i].symbol, "SYM%03d", i);
        clock_timer_init(f.clock, &pos[i].poll, poll_position, &pos[i]);
        /* Staggered starts, as positions opened at different times. */
        clock_timer_start(&pos[i].poll, T0 + (i % 5) * APEX_SECOND);
    }
    /* Ten minutes of polling, then let the queue drain so every request is answered. */
    for (apex_time t = T0; ratelimit_queued(f.rl) > 0 || t <= T0 + POLL_FOR; t += APEX_SECOND) {
        clock_advance_to(f.clock, t);
        assert_true(t < T0 + 48 * APEX_HOUR);
    }
    clock_advance_to(f.clock, clock_now(f.clock) + APEX_MINUTE); /* last replies */

    assert_int_equal(next_request, NPOS * (int)(POLL_FOR / POLL_EVERY));
    assert_true(max_calls_in_any_window(f.fake) <= 60);
    /* The limiter is used at capacity, not just throttling everything to a trickle. */
    assert_int_equal(max_calls_in_any_window(f.fake), 60);
    assert_int_equal(f.fake->ncalls, next_request);
    assert_true(broker_api_calls(f.b) == (uint64_t)next_request);
    for (int i = 0; i < next_request; i++)
        assert_int_equal(replies[i], 1);
    assert_int_equal(bad, 0);

    free(replies);
    free(pos);
    fixture_close(&f);
}

/* ---- arguments outlive the caller ----------------------------------------------------------- */

static void submit_from_stack(broker *b, reply_box *box)
{
    order_request req = {.side = SIDE_BUY, .type = ORDER_LIMIT, .qty = MONEY(25)};
    snprintf(req.client_order_id, sizeof req.client_order_id, "exit-42");
    snprintf(req.symbol, sizeof req.symbol, "AAPL");
    req.limit_price = MONEY(187);
    assert_int_equal(broker_submit_order(b, BROKER_PRIORITY_ROUTINE, &req, collect, box), 0);
    memset(&req, 0x5a, sizeof req); /* the caller reuses its buffer at once */
}

static void quotes_from_stack(broker *b, reply_box *box)
{
    char s0[SYMBOL_MAX] = "MSFT", s1[SYMBOL_MAX] = "NVDA", s2[SYMBOL_MAX] = "TSLA";
    const char *symbols[3] = {s0, s1, s2};
    assert_int_equal(broker_get_quotes(b, BROKER_PRIORITY_ROUTINE, symbols, 3, collect, box), 0);
    memset(s0, 'x', sizeof s0 - 1);
    memset(s1, 'y', sizeof s1 - 1);
    symbols[2] = NULL;
}

static void test_arguments_survive_caller_buffers(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, 60);
    reply_clock = f.clock;
    reply_box order = {0}, quotes = {0}, position_box = {0}, closing = {0};
    submit_from_stack(f.b, &order);
    quotes_from_stack(f.b, &quotes);
    char *heap_symbol = strdup("AMZN");
    assert_int_equal(
        broker_get_position(f.b, BROKER_PRIORITY_ROUTINE, heap_symbol, collect, &position_box), 0);
    free(heap_symbol); /* ASan would flag any later read */
    char *sym = strdup("META"), *coid = strdup("close-7");
    assert_int_equal(
        broker_close_position(f.b, BROKER_PRIORITY_ROUTINE, sym, coid, collect, &closing), 0);
    free(sym);
    free(coid);
    assert_int_equal(f.fake->ncalls, 0); /* nothing reached the adapter yet */

    clock_advance_to(f.clock, T0 + 5 * APEX_SECOND);
    assert_int_equal(f.fake->ncalls, 4);
    assert_int_equal(order.replies, 1);
    assert_string_equal(order.coid, "exit-42");
    assert_string_equal(order.symbol, "AAPL");
    assert_true(order.qty == MONEY(25));
    assert_int_equal(quotes.replies, 1);
    assert_int_equal(quotes.nquotes, 3);
    assert_string_equal(quotes.quote_symbols[0], "MSFT");
    assert_string_equal(quotes.quote_symbols[1], "NVDA");
    assert_string_equal(quotes.quote_symbols[2], "TSLA");
    assert_true(quotes.quote_last[2] == MONEY(102));
    assert_int_equal(position_box.replies, 1);
    assert_string_equal(position_box.symbol, "AMZN");
    assert_int_equal(closing.replies, 1);
    assert_string_equal(closing.symbol, "META");
    assert_string_equal(closing.coid, "close-7");
    fixture_close(&f);
}

/* ---- listener ------------------------------------------------------------------------------ */

typedef struct {
    int orders, fills;
    char coid[BROKER_ID_MAX];
    money_t fill_price;
} listener_log;

static void on_order_event(void *ud, const broker_order *o)
{
    listener_log *l = ud;
    l->orders++;
    snprintf(l->coid, sizeof l->coid, "%s", o->client_order_id);
}

static void on_fill_event(void *ud, const broker_fill *fill, const broker_order *o)
{
    listener_log *l = ud;
    l->fills++;
    l->fill_price = fill->price;
}

static void test_listener_events_reach_host(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, 60);
    /* The host installs its listener after creating the broker. */
    listener_log log = {0};
    broker_set_listener(
        f.b, (broker_listener){.on_order = on_order_event, .on_fill = on_fill_event, .ud = &log});
    broker_order o = {.status = ORDER_STATUS_FILLED, .qty = MONEY(5)};
    snprintf(o.client_order_id, sizeof o.client_order_id, "entry-1");
    broker_fill fill = {.qty = MONEY(5), .price = MONEY(101)};
    /* The adapter emits through its base, as paper does. */
    f.fake->base.listener.on_order(f.fake->base.listener.ud, &o);
    f.fake->base.listener.on_fill(f.fake->base.listener.ud, &fill, &o);
    assert_int_equal(log.orders, 1);
    assert_int_equal(log.fills, 1);
    assert_string_equal(log.coid, "entry-1");
    assert_true(log.fill_price == MONEY(101));
    /* Events are not calls: nothing went through the limiter. */
    assert_int_equal(ratelimit_granted(f.rl), 0);
    fixture_close(&f);
}

/* ---- priority ------------------------------------------------------------------------------ */

static void test_critical_submit_overtakes_routine(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, 60);
    reply_clock = f.clock;
    reply_box fill_window[60], routine[10], critical = {0}, after = {0};
    memset(fill_window, 0, sizeof fill_window);
    memset(routine, 0, sizeof routine);
    for (int i = 0; i < 60; i++)
        assert_int_equal(
            broker_get_position(f.b, BROKER_PRIORITY_ROUTINE, "SPY", collect, &fill_window[i]), 0);
    clock_advance_to(f.clock, T0 + 10 * APEX_SECOND);
    assert_int_equal(f.fake->ncalls, 60);

    for (int i = 0; i < 10; i++)
        assert_int_equal(
            broker_get_position(f.b, BROKER_PRIORITY_ROUTINE, "QQQ", collect, &routine[i]), 0);
    order_request stop = {.side = SIDE_SELL, .type = ORDER_MARKET, .qty = MONEY(100)};
    snprintf(stop.client_order_id, sizeof stop.client_order_id, "stop-loss-1");
    snprintf(stop.symbol, sizeof stop.symbol, "QQQ");
    assert_int_equal(broker_submit_order(f.b, BROKER_PRIORITY_CRITICAL, &stop, collect, &critical),
                     0);
    assert_int_equal(broker_get_account(f.b, BROKER_PRIORITY_ROUTINE, collect, &after), 0);

    clock_advance_to(f.clock, T0 + 59 * APEX_SECOND);
    assert_int_equal(f.fake->ncalls, 60); /* CRITICAL waits for a slot like anyone */
    assert_int_equal(critical.replies, 0);

    clock_advance_to(f.clock, T0 + 2 * APEX_MINUTE);
    assert_int_equal(f.fake->ncalls, 72);
    assert_int_equal(f.fake->call_kind[60], FAKE_SUBMIT);
    assert_true(f.fake->call_at[60] == T0 + APEX_MINUTE);
    for (int i = 61; i < 71; i++)
        assert_int_equal(f.fake->call_kind[i], FAKE_POSITION);
    assert_int_equal(f.fake->call_kind[71], FAKE_ACCOUNT);
    assert_int_equal(critical.replies, 1);
    assert_string_equal(critical.coid, "stop-loss-1");
    assert_int_equal(after.replies, 1);
    for (int i = 0; i < 10; i++)
        assert_int_equal(routine[i].replies, 1);
    fixture_close(&f);
}

/* ---- failures and teardown ------------------------------------------------------------------ */

static void test_adapter_refusal_still_replies_once(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, 60);
    reply_clock = f.clock;
    reply_box bad = {0}, good = {0};
    assert_int_equal(broker_get_order(f.b, BROKER_PRIORITY_ROUTINE, "no-such-order", collect, &bad),
                     0);
    assert_int_equal(broker_get_order(f.b, BROKER_PRIORITY_ROUTINE, "known", collect, &good), 0);
    assert_int_equal(bad.replies, 0);
    clock_advance_to(f.clock, T0 + 5 * APEX_SECOND);
    assert_int_equal(bad.replies, 1);
    assert_int_equal(bad.status, APEX_ENOTFOUND);
    assert_non_null(strstr(bad.error, "get_order"));
    assert_true(bad.at == T0); /* delivered from the clock at the grant instant */
    assert_int_equal(good.replies, 1);
    assert_int_equal(good.status, 0);
    /* Both calls reached the adapter and count against the limit. */
    assert_int_equal(f.fake->ncalls, 2);
    assert_int_equal(ratelimit_window_count(f.rl), 2);

    assert_int_equal(broker_get_quotes(f.b, BROKER_PRIORITY_ROUTINE, NULL, 2, collect, &bad),
                     APEX_EINVAL);
    fixture_close(&f);
}

static void test_free_with_queued_calls(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, 2);
    reply_clock = f.clock;
    bool adapter_freed = false;
    f.fake->freed = &adapter_freed;
    reply_box boxes[6];
    memset(boxes, 0, sizeof boxes);
    for (int i = 0; i < 5; i++)
        assert_int_equal(
            broker_get_position(f.b, BROKER_PRIORITY_ROUTINE, "IWM", collect, &boxes[i]), 0);
    assert_int_equal(broker_get_order(f.b, BROKER_PRIORITY_ROUTINE, "missing", collect, &boxes[5]),
                     0);
    clock_run_due(f.clock); /* two granted, the rest queued */
    assert_int_equal(f.fake->ncalls, 2);
    assert_int_equal(ratelimit_queued(f.rl), 4);

    /* Freeing the broker takes its calls out of the shared limiter: none runs later. */
    broker_free(f.b);
    f.b = NULL;
    assert_true(adapter_freed);
    assert_int_equal(ratelimit_queued(f.rl), 0);
    clock_advance_to(f.clock, T0 + 10 * APEX_MINUTE);
    for (int i = 0; i < 6; i++)
        assert_int_equal(boxes[i].replies, 0);
    ratelimit_free(f.rl);
    clock_free(f.clock);
}

/* A refusal on its way to the caller when the broker goes: the reply is dropped with the
 * broker, never delivered to a caller that has moved on. */
static void free_broker_now(void *ud)
{
    fixture *f = ud;
    broker_free(f->b);
    f->b = NULL;
}

static void test_free_while_refusal_pending(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, 60);
    reply_clock = f.clock;
    reply_box bad = {0};
    assert_int_equal(broker_get_order(f.b, BROKER_PRIORITY_ROUTINE, "no-such-order", collect, &bad),
                     0);
    /* Granted right after the refused call, in the same grant pass. */
    assert_int_equal(ratelimit_submit(f.rl, RATELIMIT_ROUTINE, free_broker_now, &f), 0);
    clock_advance_to(f.clock, T0 + APEX_MINUTE);
    assert_null(f.b);
    assert_int_equal(bad.replies, 0);
    ratelimit_free(f.rl);
    clock_free(f.clock);
}

/* ---- priority is an argument, checked on every call ------------------------------------------ */

static void test_bad_priority_is_refused_at_once(void **state)
{
    (void)state;
    for (int limited = 0; limited < 2; limited++) {
        fixture f;
        fixture_open(&f, 60);
        if (!limited)
            assert_int_equal(broker_set_limiter(f.b, NULL), 0);
        reply_box box = {0};
        assert_int_equal(broker_get_account(f.b, BROKER_PRIORITY_COUNT, collect, &box),
                         APEX_EINVAL);
        assert_int_equal(broker_get_account(f.b, (broker_priority)-1, collect, &box), APEX_EINVAL);
        order_request req = {.side = SIDE_BUY, .type = ORDER_MARKET, .qty = MONEY(1)};
        assert_int_equal(broker_submit_order(f.b, (broker_priority)99, &req, collect, &box),
                         APEX_EINVAL);
        clock_advance_to(f.clock, T0 + APEX_MINUTE);
        assert_int_equal(box.replies, 0);
        assert_int_equal(f.fake->ncalls, 0);
        assert_int_equal(ratelimit_granted(f.rl), 0);
        fixture_close(&f);
    }
}

static void test_exit_priorities_map_one_to_one(void **state)
{
    (void)state;
    assert_int_equal(broker_priority_of_exit(EXIT_PRIORITY_CRITICAL), BROKER_PRIORITY_CRITICAL);
    assert_int_equal(broker_priority_of_exit(EXIT_PRIORITY_HIGH), BROKER_PRIORITY_HIGH);
    assert_int_equal(broker_priority_of_exit(EXIT_PRIORITY_MEDIUM), BROKER_PRIORITY_MEDIUM);
    assert_int_equal(broker_priority_of_exit(EXIT_PRIORITY_LOW), BROKER_PRIORITY_LOW);
    assert_int_equal(broker_priority_of_exit(EXIT_PRIORITY_COUNT), BROKER_PRIORITY_ROUTINE);
    assert_int_equal(BROKER_PRIORITY_COUNT, RATELIMIT_PRIORITIES);
}

/* ---- without a limiter ------------------------------------------------------------------------
 */

static void test_without_limiter_calls_go_straight(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, 60);
    assert_int_equal(broker_set_limiter(f.b, NULL), 0);
    reply_clock = f.clock;
    reply_box pos = {0}, bad = {0};
    assert_int_equal(broker_get_position(f.b, BROKER_PRIORITY_LOW, "DIA", collect, &pos), 0);
    assert_int_equal(f.fake->ncalls, 1); /* at once, inside the call */
    assert_true(broker_api_calls(f.b) == 1);
    assert_int_equal(pos.replies, 0); /* but the reply still comes from the loop */
    /* The adapter's refusal is returned directly; no callback. */
    assert_int_equal(broker_get_order(f.b, BROKER_PRIORITY_ROUTINE, "nope", collect, &bad),
                     APEX_ENOTFOUND);
    assert_true(broker_api_calls(f.b) == 2);
    assert_int_equal(broker_get_quotes(f.b, BROKER_PRIORITY_ROUTINE, NULL, 1, collect, &bad),
                     APEX_EINVAL);
    clock_advance_to(f.clock, T0 + 5 * APEX_SECOND);
    assert_int_equal(pos.replies, 1);
    assert_string_equal(pos.symbol, "DIA");
    assert_int_equal(bad.replies, 0);
    assert_int_equal(ratelimit_granted(f.rl), 0);
    assert_string_equal(broker_name(f.b), "fake");
    fixture_close(&f);
}

static void test_limiter_cannot_change_under_queued_calls(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, 1);
    reply_clock = f.clock;
    ratelimit *other = ratelimit_new(f.clock, 10);
    assert_non_null(other);
    reply_box a = {0}, b = {0};
    assert_int_equal(broker_get_account(f.b, BROKER_PRIORITY_ROUTINE, collect, &a), 0);
    assert_int_equal(broker_get_account(f.b, BROKER_PRIORITY_ROUTINE, collect, &b), 0);
    assert_int_equal(broker_set_limiter(f.b, other), APEX_EBUSY);
    assert_int_equal(broker_set_limiter(f.b, NULL), APEX_EBUSY);
    assert_int_equal(broker_set_limiter(f.b, f.rl), 0); /* the same one: nothing changes */
    clock_advance_to(f.clock, T0 + 2 * APEX_MINUTE);
    assert_int_equal(a.replies, 1);
    assert_int_equal(b.replies, 1);
    assert_int_equal(broker_set_limiter(f.b, other), 0); /* drained: free to move */
    broker_free(f.b);
    f.b = NULL;
    ratelimit_free(other); /* before the clock it runs on */
    ratelimit_free(f.rl);
    clock_free(f.clock);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_200_positions_never_exceed_limit),
        cmocka_unit_test(test_arguments_survive_caller_buffers),
        cmocka_unit_test(test_listener_events_reach_host),
        cmocka_unit_test(test_critical_submit_overtakes_routine),
        cmocka_unit_test(test_adapter_refusal_still_replies_once),
        cmocka_unit_test(test_free_with_queued_calls),
        cmocka_unit_test(test_free_while_refusal_pending),
        cmocka_unit_test(test_bad_priority_is_refused_at_once),
        cmocka_unit_test(test_exit_priorities_map_one_to_one),
        cmocka_unit_test(test_without_limiter_calls_go_straight),
        cmocka_unit_test(test_limiter_cannot_change_under_queued_calls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
