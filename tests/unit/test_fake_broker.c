/* The shared fake broker (tests/support/fake_broker.h) keeps the promises other tests rely
 * on: replies never inside the call and in call order, latency and scripts as configured,
 * a book that behaves like a broker's (duplicate ids, brackets, one-cancels-other), calls
 * recorded with their arguments, and a wrapped broker reached only for what is not
 * scripted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "broker/paper.h"
#include "fake_broker.h"
#include "util/err.h"

#define T0 ((apex_time)1709562600 * APEX_SECOND)

typedef struct {
    int n;
    int status[8];
    char coid[8][BROKER_ID_MAX];
    char error[8][256];
    int npositions[8];
    apex_time at[8];
    apex_clock *clock;
} replies;

static void collect(void *ud, const broker_reply *r)
{
    replies *box = ud;
    int i = box->n++;
    assert_true(i < 8);
    box->status[i] = r->status;
    box->at[i] = clock_now(box->clock);
    snprintf(box->error[i], sizeof box->error[i], "%s", r->error);
    if (r->order)
        snprintf(box->coid[i], sizeof box->coid[i], "%s", r->order->client_order_id);
    box->npositions[i] = r->npositions;
}

typedef struct {
    char trail[512]; /* "fill:<coid> order:<coid>=<status> ..." in arrival order */
} events;

static void on_fill(void *ud, const broker_fill *f, const broker_order *o)
{
    events *e = ud;
    size_t n = strlen(e->trail);
    snprintf(e->trail + n, sizeof e->trail - n, "fill:%s ", f->client_order_id);
}

static void on_order(void *ud, const broker_order *o)
{
    events *e = ud;
    size_t n = strlen(e->trail);
    snprintf(e->trail + n, sizeof e->trail - n, "order:%s=%s ", o->client_order_id,
             order_status_name(o->status));
}

static order_request request(const char *coid, const char *symbol)
{
    order_request r = {.side = SIDE_BUY, .type = ORDER_MARKET, .qty = MONEY(10)};
    snprintf(r.client_order_id, sizeof r.client_order_id, "%s", coid);
    snprintf(r.symbol, sizeof r.symbol, "%s", symbol);
    return r;
}

static void test_replies_are_deferred_in_call_order_with_latency(void **state)
{
    (void)state;
    apex_clock *clock = clock_new_simulated(T0);
    fake_broker *fb = fake_broker_new(clock);
    broker *b = fake_broker_base(fb);
    replies box = {.clock = clock};
    order_request a = request("a", "AAPL"), dup = request("a", "AAPL");
    assert_int_equal(broker_submit_order(b, BROKER_PRIORITY_ROUTINE, &a, collect, &box), 0);
    assert_int_equal(broker_get_order(b, BROKER_PRIORITY_ROUTINE, "missing", collect, &box), 0);
    assert_int_equal(broker_submit_order(b, BROKER_PRIORITY_ROUTINE, &dup, collect, &box), 0);
    assert_int_equal(box.n, 0); /* never inside the call */
    assert_int_equal(fake_broker_pending(fb), 3);
    clock_run_due(clock);
    assert_int_equal(box.n, 3);
    assert_int_equal(box.status[0], 0);
    assert_string_equal(box.coid[0], "a");
    assert_int_equal(box.status[1], APEX_ENOTFOUND);
    assert_int_equal(box.status[2], APEX_EDUP); /* a repeated id, with the existing order */
    assert_string_equal(box.coid[2], "a");
    assert_int_equal(fake_broker_norders(fb), 1);

    fake_broker_set_latency(fb, 2 * APEX_SECOND);
    assert_int_equal(broker_get_account(b, BROKER_PRIORITY_ROUTINE, collect, &box), 0);
    clock_advance_to(clock, T0 + APEX_SECOND);
    assert_int_equal(box.n, 3);
    clock_advance_to(clock, T0 + 5 * APEX_SECOND);
    assert_int_equal(box.n, 4);
    assert_true(box.at[3] == T0 + 2 * APEX_SECOND);

    /* Recorded: kind, time, arguments, return code. */
    assert_int_equal(fake_broker_ncalls(fb, FAKE_ANY), 4);
    assert_int_equal(fake_broker_ncalls(fb, FAKE_SUBMIT), 2);
    const fake_call *c = fake_broker_call(fb, 1);
    assert_int_equal(c->kind, FAKE_GET_ORDER);
    assert_string_equal(c->client_order_id, "missing");
    assert_true(c->at == T0);
    assert_int_equal(c->rc, 0);
    assert_string_equal(fake_call_kind_name(c->kind), "get_order");
    assert_true(broker_api_calls(b) == 4);
    broker_free(b);
    clock_free(clock);
}

typedef struct {
    int seen;
    int norders_at_call;
} hook_log;

static void hook(void *ud, fake_broker *fb, const fake_call *call)
{
    hook_log *l = ud;
    l->seen++;
    l->norders_at_call = fake_broker_norders(fb); /* before the fake acts */
}

static void test_scripts_refuse_fail_hold_and_the_hook_runs_first(void **state)
{
    (void)state;
    apex_clock *clock = clock_new_simulated(T0);
    fake_broker *fb = fake_broker_new(clock);
    broker *b = fake_broker_base(fb);
    hook_log log = {0};
    fake_broker_on_call(fb, hook, &log);
    replies box = {.clock = clock};
    fake_broker_refuse_next(fb, FAKE_SUBMIT, 1, APEX_EINVAL);
    fake_broker_fail_next(fb, FAKE_SUBMIT, 1, APEX_EREJECTED, "market closed");
    fake_broker_hold_next(fb, FAKE_SUBMIT, 1);
    order_request r1 = request("r1", "AAPL"), r2 = request("r2", "AAPL"),
                  r3 = request("r3", "AAPL"), r4 = request("r4", "AAPL");
    assert_int_equal(broker_submit_order(b, BROKER_PRIORITY_ROUTINE, &r1, collect, &box),
                     APEX_EINVAL);
    assert_int_equal(broker_submit_order(b, BROKER_PRIORITY_ROUTINE, &r2, collect, &box), 0);
    assert_int_equal(broker_submit_order(b, BROKER_PRIORITY_ROUTINE, &r3, collect, &box), 0);
    assert_int_equal(log.norders_at_call, 0); /* r3 not in the book yet when the hook ran */
    assert_int_equal(broker_submit_order(b, BROKER_PRIORITY_ROUTINE, &r4, collect, &box), 0);
    assert_int_equal(log.seen, 4);
    assert_int_equal(fake_broker_call(fb, 0)->rc, APEX_EINVAL);
    clock_run_due(clock);
    /* r1 refused (no reply), r2 failed without acting, r3 held, r4 normal. */
    assert_int_equal(box.n, 2);
    assert_int_equal(box.status[0], APEX_EREJECTED);
    assert_string_equal(box.error[0], "market closed");
    assert_string_equal(box.coid[1], "r4");
    assert_null(fake_broker_order(fb, "r1"));
    assert_null(fake_broker_order(fb, "r2"));
    assert_non_null(fake_broker_order(fb, "r3")); /* acted on; only the reply waits */
    assert_int_equal(fake_broker_held(fb), 1);
    assert_int_equal(fake_broker_release(fb), 1);
    clock_run_due(clock);
    assert_int_equal(box.n, 3);
    assert_string_equal(box.coid[2], "r3");
    broker_free(b);
    clock_free(clock);
}

static void test_book_brackets_fills_and_one_cancels_other(void **state)
{
    (void)state;
    apex_clock *clock = clock_new_simulated(T0);
    fake_broker *fb = fake_broker_new(clock);
    broker *b = fake_broker_base(fb);
    events ev = {{0}};
    broker_set_listener(b, (broker_listener){.on_fill = on_fill, .on_order = on_order, .ud = &ev});
    replies box = {.clock = clock};
    order_request e = request("e", "AAPL");
    e.take_profit = MONEY(110);
    e.stop_loss = MONEY(95);
    assert_int_equal(broker_submit_order(b, BROKER_PRIORITY_ROUTINE, &e, collect, &box), 0);
    assert_int_equal(fake_broker_norders(fb), 3);
    assert_int_equal(fake_broker_order(fb, "e-sl")->status, ORDER_STATUS_HELD);
    assert_int_equal(fake_broker_order(fb, "e-sl")->stop_price, MONEY(95));
    assert_int_equal(fake_broker_order(fb, "e-tp")->limit_price, MONEY(110));
    assert_int_equal(fake_broker_fill(fb, "e", 0, MONEY(100)), 0);
    assert_int_equal(fake_broker_order(fb, "e-sl")->status, ORDER_STATUS_ACCEPTED);
    assert_int_equal(fake_broker_position(fb, "AAPL"), MONEY(10));
    /* Queued events arrive from the clock, after the reply. */
    assert_string_equal(ev.trail, "");
    clock_run_due(clock);
    assert_int_equal(box.n, 1);
    assert_string_equal(ev.trail, "fill:e order:e=filled ");

    ev.trail[0] = '\0';
    fake_broker_set_events(fb, FAKE_EVENTS_IMMEDIATE);
    assert_int_equal(fake_broker_fill(fb, "e-tp", MONEY(4), MONEY(110)), 0);
    assert_string_equal(ev.trail, "order:e-sl=cancelled fill:e-tp order:e-tp=partially_filled ");
    assert_int_equal(fake_broker_position(fb, "AAPL"), MONEY(6));
    assert_int_equal(fake_broker_replay_fill(fb, 1), 0);
    assert_int_equal(fake_broker_nfills(fb), 2); /* a replay adds nothing to the book */

    /* get_position, list_fills and close_position read and move the same book. */
    assert_int_equal(broker_get_position(b, BROKER_PRIORITY_ROUTINE, "AAPL", collect, &box), 0);
    assert_int_equal(broker_get_position(b, BROKER_PRIORITY_ROUTINE, "MSFT", collect, &box), 0);
    assert_int_equal(
        broker_close_position(b, BROKER_PRIORITY_ROUTINE, "AAPL", "close-1", collect, &box), 0);
    assert_int_equal(fake_broker_order(fb, "e-tp")->status, ORDER_STATUS_CANCELLED);
    assert_int_equal(fake_broker_last_order(fb)->qty, MONEY(6));
    assert_int_equal(fake_broker_last_order(fb)->side, SIDE_SELL);
    clock_run_due(clock);
    assert_int_equal(box.npositions[1], 1);
    assert_int_equal(box.npositions[2], 0);
    assert_string_equal(box.coid[3], "close-1");
    broker_free(b);
    clock_free(clock);
}

static void test_copy_book_and_wrap(void **state)
{
    (void)state;
    apex_clock *clock = clock_new_simulated(T0);
    fake_broker *a = fake_broker_new(clock);
    order_request r = request("x", "AAPL");
    replies box = {.clock = clock};
    assert_int_equal(
        broker_submit_order(fake_broker_base(a), BROKER_PRIORITY_ROUTINE, &r, collect, &box), 0);
    fake_broker_fill(a, "x", 0, MONEY(50));
    fake_broker *b = fake_broker_new(clock);
    fake_broker_copy_book(b, a);
    assert_int_equal(fake_broker_norders(b), 1);
    assert_int_equal(fake_broker_nfills(b), 1);
    assert_int_equal(fake_broker_position(b, "AAPL"), MONEY(10));
    assert_int_equal(fake_broker_ncalls(b, FAKE_ANY), 0); /* the book, not the history */
    order_request again = request("x", "AAPL");
    assert_int_equal(
        broker_submit_order(fake_broker_base(b), BROKER_PRIORITY_ROUTINE, &again, collect, &box),
        0);
    clock_run_due(clock);
    assert_int_equal(box.status[1], APEX_EDUP);
    broker_free(fake_broker_base(a));
    broker_free(fake_broker_base(b));

    /* Wrapping the paper broker: calls reach it, its replies and events come back, and a
     * scripted failure never reaches it. */
    char err[256];
    paper_config pc = {.starting_cash = MONEY(100000)};
    broker *paper = paper_broker_new(&pc, ":memory:", clock, err, sizeof err);
    assert_non_null(paper);
    bool freed = false;
    fake_broker *w = fake_broker_wrap(clock, paper);
    fake_broker_notify_free(w, &freed);
    replies wbox = {.clock = clock};
    fake_broker_fail_next(w, FAKE_GET_ACCOUNT, 1, APEX_EIO, "down");
    assert_int_equal(
        broker_get_account(fake_broker_base(w), BROKER_PRIORITY_ROUTINE, collect, &wbox), 0);
    assert_int_equal(
        broker_get_account(fake_broker_base(w), BROKER_PRIORITY_ROUTINE, collect, &wbox), 0);
    clock_run_due(clock);
    assert_int_equal(wbox.n, 2);
    assert_int_equal(wbox.status[0], APEX_EIO);
    assert_int_equal(wbox.status[1], 0);
    assert_true(broker_api_calls(paper) == 1);
    assert_int_equal(fake_broker_ncalls(w, FAKE_GET_ACCOUNT), 2);
    broker_free(fake_broker_base(w));
    assert_true(freed);
    clock_free(clock);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replies_are_deferred_in_call_order_with_latency),
        cmocka_unit_test(test_scripts_refuse_fail_hold_and_the_hook_runs_first),
        cmocka_unit_test(test_book_brackets_fills_and_one_cancels_other),
        cmocka_unit_test(test_copy_book_and_wrap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
