/* broker dispatch with a limiter (broker_set_limiter): the adapter never sees more than
 * the limit in any 60 s window, every accepted call gets exactly one reply, arguments
 * outlive the caller's buffers, listener events reach the host, a CRITICAL call
 * overtakes routine ones, and the priority is checked on every call.
 *
 * The adapter is the shared fake broker (tests/support/fake_broker.h): it records the clock
 * time of every call it gets and replies from the clock a second later, as a real adapter
 * does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker/paper.h"
#include "fake_broker.h"
#include "net/ratelimit.h"
#include "util/err.h"

#define T0 ((apex_time)1709303400 * APEX_SECOND) /* 2024-03-01 14:30:00 UTC */

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
    f->fake = fake_broker_new(f->clock);
    fake_broker_set_latency(f->fake, APEX_SECOND);
    f->b = fake_broker_base(f->fake);
    assert_int_equal(broker_set_limiter(f->b, f->rl), 0);
}

static void fixture_close(fixture *f)
{
    broker_free(f->b);
    ratelimit_free(f->rl);
    clock_free(f->clock);
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
        fake_broker_set_position(f.fake, pos[i].symbol, MONEY(10), MONEY(100));
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
    assert_true(fake_broker_max_calls_per_minute(f.fake) <= 60);
    /* The limiter is used at capacity, not just throttling everything to a trickle. */
    assert_int_equal(fake_broker_max_calls_per_minute(f.fake), 60);
    assert_int_equal(fake_broker_ncalls(f.fake, FAKE_ANY), next_request);
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
    /* What the broker holds: quotes for three symbols, positions in two. */
    fake_broker_set_quote(f.fake, "MSFT", 0, 0, MONEY(100));
    fake_broker_set_quote(f.fake, "NVDA", 0, 0, MONEY(101));
    fake_broker_set_quote(f.fake, "TSLA", 0, 0, MONEY(102));
    fake_broker_set_position(f.fake, "AMZN", MONEY(10), MONEY(180));
    fake_broker_set_position(f.fake, "META", MONEY(10), MONEY(480));
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
    assert_int_equal(fake_broker_ncalls(f.fake, FAKE_ANY), 0); /* nothing reached the adapter yet */

    clock_advance_to(f.clock, T0 + 5 * APEX_SECOND);
    assert_int_equal(fake_broker_ncalls(f.fake, FAKE_ANY), 4);
    /* The adapter saw the caller's arguments, not the bytes left in its buffers. */
    const fake_call *sent = fake_broker_last_call(f.fake, FAKE_SUBMIT);
    assert_string_equal(sent->req.client_order_id, "exit-42");
    assert_string_equal(sent->req.symbol, "AAPL");
    assert_true(sent->req.limit_price == MONEY(187));
    const fake_call *asked = fake_broker_last_call(f.fake, FAKE_GET_QUOTES);
    assert_int_equal(asked->nsymbols, 3);
    assert_string_equal(asked->symbols[0], "MSFT");
    assert_string_equal(asked->symbols[1], "NVDA");
    assert_string_equal(asked->symbols[2], "TSLA");
    assert_string_equal(fake_broker_last_call(f.fake, FAKE_GET_POSITION)->symbol, "AMZN");
    assert_string_equal(fake_broker_last_call(f.fake, FAKE_CLOSE_POSITION)->client_order_id,
                        "close-7");
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
    broker_order o = {.status = ORDER_STATUS_ACCEPTED, .qty = MONEY(5)};
    snprintf(o.client_order_id, sizeof o.client_order_id, "entry-1");
    snprintf(o.symbol, sizeof o.symbol, "AAPL");
    fake_broker_add_order(f.fake, &o);
    /* The adapter emits through its base, as paper does: the order fills (on_fill, then
     * on_order), at once. */
    fake_broker_set_events(f.fake, FAKE_EVENTS_IMMEDIATE);
    assert_int_equal(fake_broker_fill(f.fake, "entry-1", MONEY(5), MONEY(101)), 0);
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
    assert_int_equal(fake_broker_ncalls(f.fake, FAKE_ANY), 60);

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
    assert_int_equal(fake_broker_ncalls(f.fake, FAKE_ANY),
                     60); /* CRITICAL waits for a slot like anyone */
    assert_int_equal(critical.replies, 0);

    clock_advance_to(f.clock, T0 + 2 * APEX_MINUTE);
    assert_int_equal(fake_broker_ncalls(f.fake, FAKE_ANY), 72);
    assert_int_equal(fake_broker_call(f.fake, 60)->kind, FAKE_SUBMIT);
    assert_true(fake_broker_call(f.fake, 60)->at == T0 + APEX_MINUTE);
    for (int i = 61; i < 71; i++)
        assert_int_equal(fake_broker_call(f.fake, i)->kind, FAKE_GET_POSITION);
    assert_int_equal(fake_broker_call(f.fake, 71)->kind, FAKE_GET_ACCOUNT);
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
    /* The adapter refuses the first lookup at once, as a broker validating its input would,
     * and knows the order "known". */
    fake_broker_refuse_next(f.fake, FAKE_GET_ORDER, 1, APEX_ENOTFOUND);
    broker_order known = {.status = ORDER_STATUS_ACCEPTED, .qty = MONEY(1)};
    snprintf(known.client_order_id, sizeof known.client_order_id, "known");
    fake_broker_add_order(f.fake, &known);
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
    assert_int_equal(fake_broker_ncalls(f.fake, FAKE_ANY), 2);
    assert_int_equal(fake_broker_call(f.fake, 0)->rc, APEX_ENOTFOUND);
    assert_string_equal(fake_broker_call(f.fake, 0)->client_order_id, "no-such-order");
    assert_int_equal(fake_broker_call(f.fake, 1)->rc, 0);
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
    fake_broker_notify_free(f.fake, &adapter_freed);
    reply_box boxes[6];
    memset(boxes, 0, sizeof boxes);
    for (int i = 0; i < 5; i++)
        assert_int_equal(
            broker_get_position(f.b, BROKER_PRIORITY_ROUTINE, "IWM", collect, &boxes[i]), 0);
    assert_int_equal(broker_get_order(f.b, BROKER_PRIORITY_ROUTINE, "missing", collect, &boxes[5]),
                     0);
    clock_run_due(f.clock); /* two granted, the rest queued */
    assert_int_equal(fake_broker_ncalls(f.fake, FAKE_ANY), 2);
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
    fake_broker_refuse_next(f.fake, FAKE_GET_ORDER, 1, APEX_ENOTFOUND);
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
        assert_int_equal(fake_broker_ncalls(f.fake, FAKE_ANY), 0);
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
    fake_broker_set_position(f.fake, "DIA", MONEY(10), MONEY(390));
    fake_broker_refuse_next(f.fake, FAKE_GET_ORDER, 1, APEX_ENOTFOUND);
    assert_int_equal(broker_get_position(f.b, BROKER_PRIORITY_LOW, "DIA", collect, &pos), 0);
    assert_int_equal(fake_broker_ncalls(f.fake, FAKE_ANY), 1); /* at once, inside the call */
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

typedef struct {
    int replies;
    broker_session session;
    apex_time at;
} session_box;

static void collect_session(void *ud, const broker_reply *r)
{
    session_box *box = ud;
    box->replies++;
    if (r->session)
        box->session = *r->session;
    box->at = clock_now(reply_clock);
}

/* broker_get_session keeps the contract of every call: queued in the limiter with its day
 * copied, one callback from the clock, counted when it reaches the adapter. A venue
 * without a calendar refuses at once and costs no call. */
static void test_session_call_goes_through_the_limiter(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, 1);
    reply_clock = f.clock;
    fake_broker_set_session(f.fake, T0, T0 - APEX_HOUR, T0 + 2 * APEX_HOUR);
    reply_box first = {0};
    session_box box = {0};
    assert_int_equal(broker_get_account(f.b, BROKER_PRIORITY_ROUTINE, collect, &first), 0);
    assert_int_equal(
        broker_get_session(f.b, BROKER_PRIORITY_ROUTINE, T0 + APEX_MINUTE, collect_session, &box),
        0);
    clock_advance_to(f.clock, T0 + 30 * APEX_SECOND);
    assert_int_equal(box.replies, 0); /* the one call a minute went to the account */
    clock_advance_to(f.clock, T0 + 2 * APEX_MINUTE);
    assert_int_equal(box.replies, 1);
    assert_true(box.session.trading);
    assert_int_equal(box.session.close, T0 + 2 * APEX_HOUR);
    assert_true(box.at >= T0 + APEX_MINUTE);
    assert_int_equal(fake_broker_ncalls(f.fake, FAKE_GET_SESSION), 1);
    assert_true(broker_has_session(f.b));
    fixture_close(&f);

    apex_clock *clock = clock_new_simulated(T0);
    char err[256];
    paper_config pc = {.starting_cash = MONEY(1000)};
    broker *paper = paper_broker_new(&pc, ":memory:", clock, err, sizeof err);
    assert_non_null(paper);
    assert_false(broker_has_session(paper));
    assert_int_equal(broker_get_session(paper, BROKER_PRIORITY_ROUTINE, T0, collect_session, &box),
                     APEX_EINVAL);
    assert_true(broker_api_calls(paper) == 0);
    broker_free(paper);
    clock_free(clock);
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
        cmocka_unit_test(test_session_call_goes_through_the_limiter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
