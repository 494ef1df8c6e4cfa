/* Exit executor tests (seed 003 "Exit Execution"): market orders for CRITICAL exits,
 * limit prices by urgency, price walking and escalation, failed exits, partial exits and
 * races with bracket legs. The shared fake broker (tests/support/fake_broker.h) lets each
 * test decide exactly when orders fill; its listener events arrive the moment the broker's
 * state changes. Everything else (store, exec, ledger, clock) is the product's own code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exits/executor.h"
#include "fake_broker.h"
#include "net/ratelimit.h"
#include "util/err.h"

#define CENTS(c) ((money_t)(c) * (MONEY_SCALE / 100))
#define T0       ((apex_time)1709562600 * APEX_SECOND)

/* The broker fills an order (all of it when qty is 0). */
static void fill(fake_broker *fb, const char *coid, money_t qty, money_t price)
{
    assert_int_equal(fake_broker_fill(fb, coid, qty, price), 0);
}

/* ---- the fixture ---- */

typedef struct {
    apex_clock *clock;
    store *db;
    fake_broker *brk;
    pipeline_config cfg;
    exec_env *env;
    exit_executor *x;
    trade t;
    money_t bid, ask, last;
    int done;
    store_position_exit last_done;
} fx;

static trade *find_trade(void *ud, int64_t id)
{
    fx *f = ud;
    return f->t.row.id == id ? &f->t : NULL;
}

static void on_fill_hook(void *ud, trade *t, const broker_fill *fl, const store_order *o)
{
    fx *f = ud;
    exit_executor_on_fill(f->x, t, fl, o);
}

static void on_order_hook(void *ud, trade *t, const store_order *o)
{
    fx *f = ud;
    exit_executor_on_order(f->x, t, o);
}

static int quote(void *ud, const trade *t, money_t *last, money_t *bid, money_t *ask)
{
    fx *f = ud;
    (void)t;
    *last = f->last;
    *bid = f->bid;
    *ask = f->ask;
    return 0;
}

static void on_done(void *ud, trade *t, const store_position_exit *row)
{
    fx *f = ud;
    (void)t;
    f->done++;
    f->last_done = *row;
}

static void run(fx *f)
{
    clock_run_due(f->clock);
}

static void advance(fx *f, int seconds)
{
    clock_advance_to(f->clock, clock_now(f->clock) + (apex_time)seconds * APEX_SECOND);
}

/* A long position of qty entered at 100.00 through a bracket (tp 110, sl 95). */
static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    char err[256];
    f->clock = clock_new_simulated(T0);
    f->db = store_open(":memory:", STORE_DURABLE, err, sizeof err);
    assert_non_null(f->db);
    f->brk = fake_broker_new(f->clock);
    fake_broker_set_events(f->brk, FAKE_EVENTS_IMMEDIATE);
    config_defaults(&f->cfg);
    snprintf(f->cfg.name, sizeof f->cfg.name, "test");
    f->env = exec_env_new(
        f->db, fake_broker_base(f->brk), f->clock, &f->cfg,
        (exec_hooks){
            .find_trade = find_trade, .on_fill = on_fill_hook, .on_order = on_order_hook, .ud = f});
    exec_env_install(f->env);
    f->x = exit_executor_new(f->env, fake_broker_base(f->brk), f->db, f->clock, &f->cfg,
                             (exit_hooks){.quote = quote, .on_done = on_done, .ud = f});
    f->bid = CENTS(9998);
    f->ask = CENTS(10002);
    f->last = CENTS(10000);

    trade *t = &f->t;
    snprintf(t->row.pipeline, sizeof t->row.pipeline, "test");
    snprintf(t->row.symbol, sizeof t->row.symbol, "AAPL");
    t->row.status = EXEC_MONITORING;
    snprintf(t->row.phase, sizeof t->row.phase, "monitoring");
    t->row.side = SIDE_BUY;
    t->row.stop_loss = MONEY(95);
    t->row.take_profit = MONEY(110);
    t->row.created_at = T0;
    assert_int_equal(store_execution_insert(f->db, &t->row, NULL), 0);
    order_request entry = {.symbol = "AAPL",
                           .side = SIDE_BUY,
                           .type = ORDER_MARKET,
                           .qty = MONEY(100),
                           .take_profit = MONEY(110),
                           .stop_loss = MONEY(95)};
    assert_int_equal(exec_send(f->env, BROKER_PRIORITY_ROUTINE, t, ORDER_ROLE_ENTRY, &entry, NULL,
                               NULL, NULL, 0),
                     0);
    run(f);
    fill(f->brk, t->entry_coid, 0, MONEY(100));
    run(f);
    assert_true(t->has_pos);
    assert_int_equal(t->led.qty, MONEY(100));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    exit_executor_drop(f->x, &f->t);
    exit_executor_free(f->x);
    exec_env_free(f->env);
    broker_free(fake_broker_base(f->brk));
    store_close(f->db);
    clock_free(f->clock);
    config_free(&f->cfg);
    free(f);
    return 0;
}

static exit_decision decision(exit_condition c, money_t qty)
{
    exit_decision d = {.condition = c, .priority = exit_condition_priority(c), .qty = qty};
    snprintf(d.reason, sizeof d.reason, "%s: test", exit_condition_name(c));
    return d;
}

/* The last order the broker received. */
static broker_order *last_order(fx *f)
{
    return fake_broker_last_order(f->brk);
}

static int count_attempts(void *ud, const store_exit_attempt *a)
{
    (void)a;
    (*(int *)ud)++;
    return 0;
}

static money_t sold(fx *f)
{
    money_t total = 0;
    for (int i = 0; i < fake_broker_norders(f->brk); i++) {
        const broker_order *o = fake_broker_order_at(f->brk, i);
        if (o->side == SIDE_SELL)
            total += o->filled_qty;
    }
    return total;
}

/* ---- tests ---- */

static void test_market_order_critical_exits(void **state)
{
    fx *f = *state;
    exit_decision d = decision(EXIT_STOP_LOSS, MONEY(100));
    assert_int_equal(exit_executor_start(f->x, &f->t, &d, CENTS(9490)), 0);
    run(f);
    /* Both bracket legs were cancelled before the exit went out. */
    int cancelled = 0;
    for (int i = 0; i < fake_broker_norders(f->brk); i++)
        if (fake_broker_order_at(f->brk, i)->status == ORDER_STATUS_CANCELLED)
            cancelled++;
    assert_int_equal(cancelled, 2);
    broker_order *o = last_order(f);
    assert_int_equal(o->type, ORDER_MARKET);
    assert_int_equal(o->side, SIDE_SELL);
    assert_int_equal(o->qty, MONEY(100));
    fill(f->brk, o->client_order_id, 0, CENTS(9480));
    run(f);
    assert_int_equal(f->done, 1);
    assert_int_equal(f->last_done.status, EXIT_STATUS_FILLED);
    assert_int_equal(f->last_done.exit_priority, EXIT_PRIORITY_CRITICAL);
    assert_int_equal(f->last_done.execution_strategy, PRICE_MARKET);
    assert_int_equal(f->last_done.exit_price, CENTS(9480));
    assert_int_equal(f->t.led.qty, 0);
    store_position_exit row;
    assert_int_equal(store_exit_get(f->db, f->last_done.id, &row), 0);
    assert_string_equal(row.exit_reason, "stop_loss");
    assert_int_equal(row.filled_quantity, MONEY(100));
    int n = 0;
    store_exit_attempts_for_exit(f->db, row.id, count_attempts, &n);
    assert_int_equal(n, 1);
}

static void test_critical_market_order_retried_as_market(void **state)
{
    fx *f = *state;
    exit_decision d = decision(EXIT_CIRCUIT_BREAKER, MONEY(100));
    exit_executor_start(f->x, &f->t, &d, MONEY(100));
    run(f);
    int before = fake_broker_norders(f->brk);
    advance(f, 5); /* CRITICAL timeout: 5 s */
    run(f);
    assert_int_equal(fake_broker_norders(f->brk), before + 1);
    assert_int_equal(last_order(f)->type, ORDER_MARKET);
    assert_int_equal(fake_broker_order_at(f->brk, before - 1)->status, ORDER_STATUS_CANCELLED);
}

static void test_limit_order_execution(void **state)
{
    fx *f = *state;
    /* MEDIUM: a fair limit at the mid of 99.98 / 100.02. */
    exit_decision d = decision(EXIT_PROFIT_TARGET, MONEY(100));
    exit_executor_start(f->x, &f->t, &d, MONEY(100));
    run(f);
    broker_order *o = last_order(f);
    assert_int_equal(o->type, ORDER_LIMIT);
    assert_int_equal(o->limit_price, MONEY(100));
    assert_int_equal(o->qty, MONEY(100));
    fill(f->brk, o->client_order_id, 0, MONEY(100));
    run(f);
    assert_int_equal(f->last_done.status, EXIT_STATUS_FILLED);
    assert_int_equal(f->last_done.execution_strategy, PRICE_FAIR);

    /* HIGH crosses the spread (sells at the bid); LOW joins the far side (the ask). */
    teardown(state);
    setup(state);
    f = *state;
    d = decision(EXIT_TRAILING_STOP, MONEY(100));
    exit_executor_start(f->x, &f->t, &d, MONEY(100));
    run(f);
    assert_int_equal(last_order(f)->limit_price, CENTS(9998));
    teardown(state);
    setup(state);
    f = *state;
    d = decision(EXIT_EARLY_EXIT, MONEY(100));
    exit_executor_start(f->x, &f->t, &d, MONEY(100));
    run(f);
    assert_int_equal(last_order(f)->limit_price, CENTS(10002));
}

static void test_price_walking_escalation(void **state)
{
    fx *f = *state;
    /* LOW: conservative limit, 60 s, walk 10 times, then MEDIUM (fair, 30 s, 5 walks),
     * then HIGH (aggressive, 10 s, 2 walks), then market. Nothing fills until then. */
    exit_decision d = decision(EXIT_EDGE_DISAPPEARED, MONEY(100));
    exit_executor_start(f->x, &f->t, &d, MONEY(100));
    run(f);
    money_t prev = last_order(f)->limit_price;
    assert_int_equal(prev, CENTS(10002));
    for (int walk = 1; walk <= 10; walk++) {
        advance(f, 60);
        run(f);
        money_t now = last_order(f)->limit_price;
        assert_int_equal(now, prev - CENTS(2)); /* the step: half the 4-cent spread */
        prev = now;
    }
    advance(f, 60);
    run(f);
    assert_int_equal(last_order(f)->limit_price, MONEY(100)); /* MEDIUM: fair, no walk yet */
    for (int walk = 1; walk <= 5; walk++) {
        advance(f, 30);
        run(f);
    }
    advance(f, 30);
    run(f);
    assert_int_equal(last_order(f)->limit_price, CENTS(9998)); /* HIGH: aggressive */
    advance(f, 10);
    run(f);
    advance(f, 10);
    run(f);
    assert_int_equal(last_order(f)->type, ORDER_LIMIT);
    advance(f, 10);
    run(f);
    assert_int_equal(last_order(f)->type, ORDER_MARKET);
    /* Every order placed is an exit_attempts row, and only one order ever worked at once. */
    int working = 0;
    for (int i = 0; i < fake_broker_norders(f->brk); i++) {
        const broker_order *o = fake_broker_order_at(f->brk, i);
        if (o->role == ORDER_ROLE_ENTRY && o->side == SIDE_SELL &&
            !order_status_is_final(o->status))
            working++;
    }
    assert_int_equal(working, 1);
    fill(f->brk, last_order(f)->client_order_id, 0, CENTS(9990));
    run(f);
    assert_int_equal(f->last_done.status, EXIT_STATUS_FILLED);
    assert_int_equal(f->last_done.attempts, 11 + 6 + 3 + 1);
    int n = 0;
    store_exit_attempts_for_exit(f->db, f->last_done.id, count_attempts, &n);
    assert_int_equal(n, 21);
    assert_int_equal(sold(f), MONEY(100));
}

static void test_failed_exit_handling(void **state)
{
    fx *f = *state;
    fake_broker_fail_next(f->brk, FAKE_SUBMIT, 2, APEX_EREJECTED, "market closed for this symbol");
    exit_decision d = decision(EXIT_STOP_LOSS, MONEY(100));
    exit_executor_start(f->x, &f->t, &d, MONEY(94));
    run(f);
    /* Refused: recorded, retried after a pause, not in a tight loop. */
    assert_int_equal(f->done, 0);
    advance(f, 1);
    run(f);
    advance(f, 1);
    run(f);
    broker_order *o = last_order(f);
    assert_int_equal(o->type, ORDER_MARKET);
    fill(f->brk, o->client_order_id, 0, MONEY(94));
    run(f);
    assert_int_equal(f->last_done.status, EXIT_STATUS_FILLED);
    assert_int_equal(f->last_done.attempts, 3);
    int n = 0;
    store_exit_attempts_for_exit(f->db, f->last_done.id, count_attempts, &n);
    assert_int_equal(n, 3);
}

static void test_partial_exit_reprotects_remainder(void **state)
{
    fx *f = *state;
    exit_decision d = decision(EXIT_PARTIAL_EXIT_TARGET, MONEY(50));
    d.partial_stage = 0;
    exit_executor_start(f->x, &f->t, &d, MONEY(115));
    /* The stage is spent the moment it triggers, durably. */
    store_position p;
    assert_int_equal(store_position_get_by_execution(f->db, f->t.row.id, &p), 0);
    assert_int_equal(p.partial_stages_done, 1);
    run(f);
    broker_order *o = last_order(f);
    assert_int_equal(o->qty, MONEY(50));
    fill(f->brk, o->client_order_id, 0, MONEY(115));
    run(f);
    assert_int_equal(f->last_done.status, EXIT_STATUS_FILLED);
    assert_true(f->last_done.partial_exit);
    assert_int_equal(f->t.led.qty, MONEY(50));
    /* The remaining 50 are protected by a fresh stop at the position's stop. */
    o = last_order(f);
    assert_int_equal(o->type, ORDER_STOP);
    assert_int_equal(o->qty, MONEY(50));
    assert_int_equal(o->stop_price, MONEY(95));
}

static void test_bracket_leg_fills_while_exit_starts(void **state)
{
    fx *f = *state;
    /* The stop leg fills at the broker before our cancel reaches it. */
    char sl[BROKER_ID_MAX + 4];
    snprintf(sl, sizeof sl, "%s-sl", f->t.entry_coid);
    exit_decision d = decision(EXIT_TRAILING_STOP, MONEY(100));
    exit_executor_start(f->x, &f->t, &d, CENTS(9600));
    fill(f->brk, sl, 0, MONEY(95)); /* before the queued cancel replies are delivered */
    run(f);
    /* Flat already: no exit order was placed, nothing was over-sold. */
    assert_int_equal(f->t.led.qty, 0);
    assert_int_equal(sold(f), MONEY(100));
    for (int i = 0; i < fake_broker_norders(f->brk); i++) {
        const broker_order *o = fake_broker_order_at(f->brk, i);
        assert_int_not_equal(o->role == ORDER_ROLE_ENTRY && o->side == SIDE_SELL, 1);
    }
    assert_int_equal(f->done, 1);
    assert_int_equal(f->last_done.status, EXIT_STATUS_CANCELLED);
}

static void test_leg_fill_during_partial_exit_never_oversells(void **state)
{
    fx *f = *state;
    /* A 50% partial exit is working as a limit when the protective stop placed earlier
     * is filled instead: our order may fill only up to what is left. */
    exit_decision d = decision(EXIT_PARTIAL_EXIT_TARGET, MONEY(50));
    exit_executor_start(f->x, &f->t, &d, MONEY(115));
    run(f);
    broker_order *exit_order = last_order(f);
    assert_int_equal(exit_order->qty, MONEY(50));
    /* The exit fills 20, times out, and the position meanwhile loses 70 elsewhere (a fill
     * on an order the host placed by other means, e.g. a hand close of 70). */
    fill(f->brk, exit_order->client_order_id, MONEY(20), MONEY(115));
    run(f);
    order_request other = {
        .symbol = "AAPL", .side = SIDE_SELL, .type = ORDER_MARKET, .qty = MONEY(70)};
    assert_int_equal(exec_send(f->env, BROKER_PRIORITY_ROUTINE, &f->t, ORDER_ROLE_EXIT, &other,
                               NULL, NULL, NULL, 0),
                     0);
    run(f);
    fill(f->brk, last_order(f)->client_order_id, 0, MONEY(114));
    run(f);
    assert_int_equal(f->t.led.qty, MONEY(10));
    advance(f, 30); /* MEDIUM timeout: cancel, then place what is left */
    run(f);
    broker_order *next = last_order(f);
    /* 30 remained of the 50, but only 10 are open: never more than the position. */
    assert_int_equal(next->qty, MONEY(10));
    fill(f->brk, next->client_order_id, 0, MONEY(115));
    run(f);
    assert_int_equal(f->t.led.qty, 0);
    assert_int_equal(sold(f), MONEY(100));
}

static void test_more_urgent_exit_supersedes(void **state)
{
    fx *f = *state;
    exit_decision d = decision(EXIT_PROFIT_TARGET, MONEY(100));
    exit_executor_start(f->x, &f->t, &d, MONEY(110));
    run(f);
    broker_order *limit = last_order(f);
    assert_int_equal(limit->type, ORDER_LIMIT);
    /* A less urgent one is ignored while it works. */
    exit_decision low = decision(EXIT_EARLY_EXIT, MONEY(100));
    assert_int_equal(exit_executor_start(f->x, &f->t, &low, MONEY(110)), APEX_EBUSY);
    exit_decision crit = decision(EXIT_STOP_LOSS, MONEY(100));
    assert_int_equal(exit_executor_start(f->x, &f->t, &crit, MONEY(94)), 0);
    run(f);
    assert_int_equal(fake_broker_order(f->brk, limit->client_order_id)->status,
                     ORDER_STATUS_CANCELLED);
    broker_order *market = last_order(f);
    assert_int_equal(market->type, ORDER_MARKET);
    assert_int_equal(market->qty, MONEY(100));
    fill(f->brk, market->client_order_id, 0, MONEY(94));
    run(f);
    assert_string_equal(f->last_done.exit_reason, "stop_loss");
    assert_int_equal(sold(f), MONEY(100));
}

/* A MEDIUM exit supersedes a working LOW one; before the LOW one's cancel is answered a
 * CRITICAL one comes: the CRITICAL one is what starts (a market order), not the MEDIUM
 * limit, and the position is sold once. */
static void test_critical_exit_replaces_a_waiting_supersede(void **state)
{
    fx *f = *state;
    exit_decision low = decision(EXIT_EARLY_EXIT, MONEY(100));
    exit_executor_start(f->x, &f->t, &low, MONEY(110));
    run(f);
    broker_order *limit = last_order(f);
    assert_int_equal(limit->type, ORDER_LIMIT);
    int orders_before = fake_broker_norders(f->brk);
    exit_decision medium = decision(EXIT_PROFIT_TARGET, MONEY(100));
    assert_int_equal(exit_executor_start(f->x, &f->t, &medium, MONEY(110)), 0);
    /* The cancel is in flight: a second MEDIUM is refused, a CRITICAL takes its place. */
    assert_int_equal(exit_executor_start(f->x, &f->t, &medium, MONEY(110)), APEX_EBUSY);
    exit_decision crit = decision(EXIT_STOP_LOSS, MONEY(100));
    assert_int_equal(exit_executor_start(f->x, &f->t, &crit, MONEY(94)), 0);
    run(f);
    assert_int_equal(fake_broker_order(f->brk, limit->client_order_id)->status,
                     ORDER_STATUS_CANCELLED);
    assert_int_equal(fake_broker_norders(f->brk), orders_before + 1); /* one exit order */
    broker_order *market = last_order(f);
    assert_int_equal(market->type, ORDER_MARKET);
    fill(f->brk, market->client_order_id, 0, MONEY(94));
    run(f);
    assert_string_equal(f->last_done.exit_reason, "stop_loss");
    assert_int_equal(sold(f), MONEY(100));
    assert_int_equal(f->t.led.qty, 0);
}

/* ---- priority at the rate limiter ---- */

static void count_reply(void *ud, const broker_reply *r)
{
    (void)r;
    (*(int *)ud)++;
}

static int count_cancelled(fx *f)
{
    int cancelled = 0;
    for (int i = 0; i < fake_broker_norders(f->brk); i++)
        cancelled += fake_broker_order_at(f->brk, i)->status == ORDER_STATUS_CANCELLED;
    return cancelled;
}

/* A stop-loss passes the calls already waiting in a full limiter: its cancels and its
 * market order carry CRITICAL, the queued reads ROUTINE. */
static void test_critical_exit_overtakes_routine_calls(void **state)
{
    fx *f = *state;
    broker *b = fake_broker_base(f->brk);
    ratelimit *rl = ratelimit_new(f->clock, 2);
    assert_non_null(rl);
    assert_int_equal(broker_set_limiter(b, rl), 0);
    apex_time start = clock_now(f->clock);
    int routine = 0;
    for (int i = 0; i < 6; i++)
        assert_int_equal(broker_get_account(b, BROKER_PRIORITY_ROUTINE, count_reply, &routine), 0);
    run(f); /* two granted: the window is full for a minute */
    assert_int_equal(routine, 2);
    int before = fake_broker_norders(f->brk);
    exit_decision d = decision(EXIT_STOP_LOSS, MONEY(100));
    assert_int_equal(exit_executor_start(f->x, &f->t, &d, CENTS(9490)), 0);

    clock_advance_to(f->clock, start + APEX_MINUTE);
    run(f);
    /* Both slots went to the two leg cancels, none to the four reads queued before. */
    assert_int_equal(routine, 2);
    assert_int_equal(count_cancelled(f), 2);
    assert_int_equal(fake_broker_norders(f->brk), before); /* the market order waits for a slot */
    assert_int_equal(fake_broker_ncalls(f->brk, FAKE_CANCEL), 2);
    assert_int_equal(fake_broker_ncalls(f->brk, FAKE_GET_ACCOUNT), 2);

    /* The market order's 5 s timeout ran while it waited, so its cancel is CRITICAL too:
     * the next minute's two slots go to the order and that cancel. */
    clock_advance_to(f->clock, start + 2 * APEX_MINUTE);
    run(f);
    assert_int_equal(fake_broker_norders(f->brk), before + 1);
    assert_int_equal(last_order(f)->type, ORDER_MARKET);
    assert_int_equal(routine, 2);

    /* Routine calls are served once no exit call waits. */
    clock_advance_to(f->clock, start + 30 * APEX_MINUTE);
    assert_int_equal(ratelimit_queued(rl), 0);
    assert_int_equal(routine, 6);
    assert_int_equal(broker_set_limiter(b, NULL), 0);
    ratelimit_free(rl);
}

/* An exit order fills at the broker but its fill is not heard (the stream and polling
 * both missed it); at its timeout the cancel comes back "already filled". The job must
 * not walk on with a second order for the same shares: it waits until the fill is
 * recorded (here a late delivery; in `run`, at worst periodic reconciliation) and then
 * finishes filled. */
static void test_cancel_too_late_waits_for_the_fill_it_reports(void **state)
{
    fx *f = *state;
    exit_decision d = decision(EXIT_TRAILING_STOP, MONEY(100)); /* HIGH: 10 s, then walks */
    exit_executor_start(f->x, &f->t, &d, MONEY(100));
    run(f);
    broker_order *o = last_order(f);
    char coid[BROKER_ID_MAX];
    snprintf(coid, sizeof coid, "%s", o->client_order_id);
    int norders = fake_broker_norders(f->brk);
    fake_broker_set_events(f->brk, FAKE_EVENTS_DROPPED);
    fill(f->brk, coid, 0, CENTS(9998));
    advance(f, 10);
    run(f);
    advance(f, 60);
    run(f);
    assert_int_equal(fake_broker_norders(f->brk), norders); /* nothing sent again */
    assert_int_equal(f->done, 0);
    fake_broker_set_events(f->brk, FAKE_EVENTS_IMMEDIATE);
    assert_int_equal(fake_broker_replay_fill(f->brk, fake_broker_nfills(f->brk) - 1), 0);
    run(f);
    assert_int_equal(f->done, 1);
    assert_int_equal(f->last_done.status, EXIT_STATUS_FILLED);
    assert_int_equal(fake_broker_norders(f->brk), norders);
    assert_int_equal(sold(f), MONEY(100));
    assert_int_equal(f->t.led.qty, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cancel_too_late_waits_for_the_fill_it_reports, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_market_order_critical_exits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_critical_market_order_retried_as_market, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_limit_order_execution, setup, teardown),
        cmocka_unit_test_setup_teardown(test_price_walking_escalation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_exit_handling, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partial_exit_reprotects_remainder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bracket_leg_fills_while_exit_starts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leg_fill_during_partial_exit_never_oversells, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_more_urgent_exit_supersedes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_critical_exit_replaces_a_waiting_supersede, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_critical_exit_overtakes_routine_calls, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
