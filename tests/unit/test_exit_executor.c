/* Exit executor tests (seed 003 "Exit Execution"): market orders for CRITICAL exits,
 * limit prices by urgency, price walking and escalation, failed exits, partial exits and
 * races with bracket legs. A scripted broker lets each test decide exactly when orders
 * fill; everything else (store, exec, ledger, clock) is the product's own code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exits/executor.h"
#include "util/err.h"

#define CENTS(c) ((money_t)(c) * (MONEY_SCALE / 100))
#define T0       ((apex_time)1709562600 * APEX_SECOND)

/* ---- a scripted broker ---- */

typedef struct {
    broker base;
    apex_clock *clock;
    broker_order orders[64];
    int norders;
    int reject_next; /* refuse this many submits */
    clock_timer timer;
    struct pending {
        broker_cb cb;
        void *ud;
        int status;
        char error[64];
        broker_order order;
        bool has_order;
    } q[64];
    int nq;
} script_broker;

static void flush(clock_timer *timer, void *ud)
{
    script_broker *s = ud;
    (void)timer;
    while (s->nq > 0) {
        struct pending p = s->q[0];
        memmove(s->q, s->q + 1, (size_t)(--s->nq) * sizeof s->q[0]);
        broker_reply r = {.status = p.status, .order = p.has_order ? &p.order : NULL};
        snprintf(r.error, sizeof r.error, "%s", p.error);
        if (p.cb)
            p.cb(p.ud, &r);
    }
}

static void reply(script_broker *s, broker_cb cb, void *ud, int status, const char *error,
                  const broker_order *o)
{
    assert_true(s->nq < 64);
    struct pending *p = &s->q[s->nq++];
    memset(p, 0, sizeof *p);
    p->cb = cb;
    p->ud = ud;
    p->status = status;
    snprintf(p->error, sizeof p->error, "%s", error ? error : "");
    if (o) {
        p->order = *o;
        p->has_order = true;
    }
    clock_timer_start(&s->timer, clock_now(s->clock));
}

static broker_order *find(script_broker *s, const char *coid)
{
    for (int i = 0; i < s->norders; i++)
        if (strcmp(s->orders[i].client_order_id, coid) == 0)
            return &s->orders[i];
    return NULL;
}

static broker_order *add_order(script_broker *s, const char *coid, const char *parent,
                               const order_request *r, order_side side, order_type type,
                               order_role role, money_t limit, money_t stop)
{
    broker_order *o = &s->orders[s->norders++];
    memset(o, 0, sizeof *o);
    snprintf(o->client_order_id, sizeof o->client_order_id, "%s", coid);
    snprintf(o->broker_order_id, sizeof o->broker_order_id, "b-%d", s->norders);
    snprintf(o->parent_client_order_id, sizeof o->parent_client_order_id, "%s", parent);
    snprintf(o->symbol, sizeof o->symbol, "%s", r->symbol);
    o->side = side;
    o->type = type;
    o->role = role;
    o->qty = r->qty;
    o->limit_price = limit;
    o->stop_price = stop;
    o->status = parent[0] ? ORDER_STATUS_HELD : ORDER_STATUS_ACCEPTED;
    return o;
}

static int sb_submit(broker *b, const order_request *r, broker_cb cb, void *ud)
{
    script_broker *s = (script_broker *)b;
    if (s->reject_next > 0) {
        s->reject_next--;
        reply(s, cb, ud, APEX_EREJECTED, "market closed for this symbol", NULL);
        return 0;
    }
    broker_order *o = add_order(s, r->client_order_id, "", r, r->side, r->type, ORDER_ROLE_ENTRY,
                                r->limit_price, r->stop_price);
    order_side exit_side = r->side == SIDE_BUY ? SIDE_SELL : SIDE_BUY;
    char leg[BROKER_ID_MAX + 4];
    if (r->take_profit) {
        snprintf(leg, sizeof leg, "%s-tp", r->client_order_id);
        add_order(s, leg, r->client_order_id, r, exit_side, ORDER_LIMIT, ORDER_ROLE_TAKE_PROFIT,
                  r->take_profit, 0);
    }
    if (r->stop_loss) {
        snprintf(leg, sizeof leg, "%s-sl", r->client_order_id);
        add_order(s, leg, r->client_order_id, r, exit_side, ORDER_STOP, ORDER_ROLE_STOP_LOSS, 0,
                  r->stop_loss);
    }
    reply(s, cb, ud, 0, NULL, o);
    return 0;
}

static int sb_cancel(broker *b, const char *coid, broker_cb cb, void *ud)
{
    script_broker *s = (script_broker *)b;
    broker_order *o = find(s, coid);
    if (!o || order_status_is_final(o->status)) {
        reply(s, cb, ud, APEX_ESTATE, "order is already final", o);
        return 0;
    }
    o->status = ORDER_STATUS_CANCELLED;
    reply(s, cb, ud, 0, NULL, o);
    if (s->base.listener.on_order)
        s->base.listener.on_order(s->base.listener.ud, o);
    return 0;
}

static int sb_unused(broker *b, broker_cb cb, void *ud)
{
    (void)b;
    (void)cb;
    (void)ud;
    return APEX_EINVAL;
}

static int sb_unused_s(broker *b, const char *s, broker_cb cb, void *ud)
{
    (void)s;
    return sb_unused(b, cb, ud);
}

static void sb_free(broker *b)
{
    script_broker *s = (script_broker *)b;
    clock_timer_stop(&s->timer);
    free(s);
}

static const broker_ops script_ops = {
    .name = "script",
    .submit_order = sb_submit,
    .cancel_order = sb_cancel,
    .get_order = sb_unused_s,
    .list_open_orders = sb_unused_s,
    .get_position = sb_unused_s,
    .list_positions = sb_unused,
    .get_account = sb_unused,
    .list_fills = sb_unused_s,
    .free = sb_free,
};

/* The broker fills an order (all of it, or qty of it). */
static void fill(script_broker *s, const char *coid, money_t qty, money_t price)
{
    broker_order *o = find(s, coid);
    assert_non_null(o);
    static int n;
    broker_fill f = {0};
    snprintf(f.fill_id, sizeof f.fill_id, "f-%d", ++n);
    snprintf(f.client_order_id, sizeof f.client_order_id, "%s", coid);
    snprintf(f.symbol, sizeof f.symbol, "%s", o->symbol);
    f.side = o->side;
    f.qty = qty ? qty : o->qty - o->filled_qty;
    f.price = price;
    f.ts = clock_now(s->clock);
    o->filled_qty += f.qty;
    o->avg_fill_price = price;
    o->status = o->filled_qty >= o->qty ? ORDER_STATUS_FILLED : ORDER_STATUS_PARTIALLY_FILLED;
    /* OCO and activation, as a broker would. */
    if (o->role == ORDER_ROLE_ENTRY && o->status == ORDER_STATUS_FILLED) {
        for (int i = 0; i < s->norders; i++)
            if (strcmp(s->orders[i].parent_client_order_id, coid) == 0)
                s->orders[i].status = ORDER_STATUS_ACCEPTED;
    }
    if ((o->role == ORDER_ROLE_STOP_LOSS || o->role == ORDER_ROLE_TAKE_PROFIT) &&
        o->parent_client_order_id[0]) {
        for (int i = 0; i < s->norders; i++) {
            broker_order *sib = &s->orders[i];
            if (sib != o && strcmp(sib->parent_client_order_id, o->parent_client_order_id) == 0 &&
                !order_status_is_final(sib->status)) {
                sib->status = ORDER_STATUS_CANCELLED;
                s->base.listener.on_order(s->base.listener.ud, sib);
            }
        }
    }
    s->base.listener.on_fill(s->base.listener.ud, &f, o);
    s->base.listener.on_order(s->base.listener.ud, o);
}

/* ---- the fixture ---- */

typedef struct {
    apex_clock *clock;
    store *db;
    script_broker *brk;
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
    f->brk = calloc(1, sizeof *f->brk);
    f->brk->base.ops = &script_ops;
    f->brk->clock = f->clock;
    clock_timer_init(f->clock, &f->brk->timer, flush, f->brk);
    config_defaults(&f->cfg);
    snprintf(f->cfg.name, sizeof f->cfg.name, "test");
    f->env = exec_env_new(
        f->db, &f->brk->base, f->clock, &f->cfg,
        (exec_hooks){
            .find_trade = find_trade, .on_fill = on_fill_hook, .on_order = on_order_hook, .ud = f});
    exec_env_install(f->env);
    f->x = exit_executor_new(f->env, &f->brk->base, f->db, f->clock, &f->cfg,
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
    assert_int_equal(exec_send(f->env, t, ORDER_ROLE_ENTRY, &entry, NULL, NULL, NULL, 0), 0);
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
    broker_free(&f->brk->base);
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
    return &f->brk->orders[f->brk->norders - 1];
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
    for (int i = 0; i < f->brk->norders; i++)
        if (f->brk->orders[i].side == SIDE_SELL)
            total += f->brk->orders[i].filled_qty;
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
    for (int i = 0; i < f->brk->norders; i++)
        if (f->brk->orders[i].status == ORDER_STATUS_CANCELLED)
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
    int before = f->brk->norders;
    advance(f, 5); /* CRITICAL timeout: 5 s */
    run(f);
    assert_int_equal(f->brk->norders, before + 1);
    assert_int_equal(last_order(f)->type, ORDER_MARKET);
    assert_int_equal(f->brk->orders[before - 1].status, ORDER_STATUS_CANCELLED);
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
    for (int i = 0; i < f->brk->norders; i++)
        if (f->brk->orders[i].role == ORDER_ROLE_ENTRY && f->brk->orders[i].side == SIDE_SELL &&
            !order_status_is_final(f->brk->orders[i].status))
            working++;
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
    f->brk->reject_next = 2;
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
    for (int i = 0; i < f->brk->norders; i++)
        assert_int_not_equal(
            f->brk->orders[i].role == ORDER_ROLE_ENTRY && f->brk->orders[i].side == SIDE_SELL, 1);
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
    assert_int_equal(exec_send(f->env, &f->t, ORDER_ROLE_EXIT, &other, NULL, NULL, NULL, 0), 0);
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
    assert_int_equal(find(f->brk, limit->client_order_id)->status, ORDER_STATUS_CANCELLED);
    broker_order *market = last_order(f);
    assert_int_equal(market->type, ORDER_MARKET);
    assert_int_equal(market->qty, MONEY(100));
    fill(f->brk, market->client_order_id, 0, MONEY(94));
    run(f);
    assert_string_equal(f->last_done.exit_reason, "stop_loss");
    assert_int_equal(sold(f), MONEY(100));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
