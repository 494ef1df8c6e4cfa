/* The paper broker, driven as the host drives it: through broker.h, with a
 * simulated clock delivering every reply and bars feeding the fills. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "broker/broker.h"
#include "broker/paper.h"
#include "clock/clock.h"
#include "risk/risk.h"
#include "util/err.h"
#include "util/log.h"

#define CENTS(c) ((money_t)(c) * (MONEY_SCALE / 100))
#define T0       ((apex_time)1709562600 * APEX_SECOND) /* Mon 2024-03-04 14:30 UTC */

typedef struct {
    int nreplies;
    int status;
    char error[256];
    bool has_order;
    broker_order order;
    broker_order orders[16];
    int norders;
    broker_position positions[8];
    int npositions;
    bool has_account;
    broker_account account;
    broker_quote quotes[8];
    int nquotes;

    broker_fill fills[32];
    int nfills;
    broker_order updates[64];
    int nupdates;
    char trail[256]; /* R = reply, O = order update, F = fill, in delivery order */
} recorder;

typedef struct {
    apex_clock *clock;
    broker *b;
    recorder r;
    apex_time now;
} env;

static void trail(recorder *r, char c)
{
    size_t n = strlen(r->trail);
    if (n + 1 < sizeof r->trail)
        r->trail[n] = c;
}

static void on_reply(void *ud, const broker_reply *rep)
{
    recorder *r = ud;
    r->nreplies++;
    trail(r, 'R');
    r->status = rep->status;
    snprintf(r->error, sizeof r->error, "%s", rep->error);
    r->has_order = rep->order != NULL;
    if (rep->order)
        r->order = *rep->order;
    r->norders = rep->norders < 16 ? rep->norders : 16;
    for (int i = 0; i < r->norders; i++)
        r->orders[i] = rep->orders[i];
    r->npositions = rep->npositions < 8 ? rep->npositions : 8;
    for (int i = 0; i < r->npositions; i++)
        r->positions[i] = rep->positions[i];
    r->has_account = rep->account != NULL;
    if (rep->account)
        r->account = *rep->account;
    r->nquotes = rep->nquotes < 8 ? rep->nquotes : 8;
    for (int i = 0; i < r->nquotes; i++)
        r->quotes[i] = rep->quotes[i];
}

static void on_order(void *ud, const broker_order *o)
{
    recorder *r = ud;
    trail(r, 'O');
    if (r->nupdates < 64)
        r->updates[r->nupdates++] = *o;
}

static void on_fill(void *ud, const broker_fill *f, const broker_order *o)
{
    recorder *r = ud;
    (void)o;
    trail(r, 'F');
    if (r->nfills < 32)
        r->fills[r->nfills++] = *f;
}

static paper_config test_config(void)
{
    paper_config c;
    memset(&c, 0, sizeof c);
    c.starting_cash = MONEY(100000);
    c.spread_bps = MONEY(2);
    c.slippage_bps = MONEY(1);
    /* These tests are about the account, orders and brackets: market orders fill on the
     * clock turn at the last close. The next_open model has its own tests
     * (test_paper_fill_model.c). */
    c.fill = PAPER_FILL_CLOSE;
    return c;
}

static env *env_new(const paper_config *cfg, const char *path)
{
    env *e = calloc(1, sizeof *e);
    assert_non_null(e);
    e->now = T0;
    e->clock = clock_new_simulated(T0);
    char err[256] = "";
    e->b = paper_broker_new(cfg, path ? path : ":memory:", e->clock, err, sizeof err);
    if (!e->b)
        fail_msg("paper_broker_new: %s", err);
    broker_set_listener(e->b,
                        (broker_listener){.on_order = on_order, .on_fill = on_fill, .ud = &e->r});
    return e;
}

static void env_free(env *e)
{
    broker_free(e->b);
    clock_free(e->clock);
    free(e);
}

static void reset(env *e)
{
    memset(&e->r, 0, sizeof e->r);
}

static void turn(env *e)
{
    clock_run_due(e->clock);
}

/* One bar, one minute after the previous one, delivered at its own time. */
static void feed(env *e, const char *sym, money_t o, money_t h, money_t l, money_t c)
{
    e->now += APEX_MINUTE;
    clock_advance_to(e->clock, e->now);
    bar b = {.ts = e->now, .open = o, .high = h, .low = l, .close = c, .volume = MONEY(1000)};
    paper_broker_on_bar(e->b, &b, sym);
    turn(e);
}

static void feed_quote(env *e, const char *sym, money_t close, money_t bid, money_t ask)
{
    e->now += APEX_MINUTE;
    clock_advance_to(e->clock, e->now);
    bar b = {.ts = e->now,
             .open = close,
             .high = close,
             .low = close,
             .close = close,
             .volume = MONEY(500),
             .bid = bid,
             .ask = ask};
    paper_broker_on_bar(e->b, &b, sym);
    turn(e);
}

static order_request req(const char *id, const char *sym, order_side side, order_type type,
                         money_t qty)
{
    order_request r;
    memset(&r, 0, sizeof r);
    snprintf(r.client_order_id, sizeof r.client_order_id, "%s", id);
    snprintf(r.symbol, sizeof r.symbol, "%s", sym);
    r.side = side;
    r.type = type;
    r.qty = qty;
    return r;
}

/* Submits and delivers; asserts the reply did not arrive inside the call. */
static void submit(env *e, const order_request *r)
{
    reset(e);
    assert_int_equal(broker_submit_order(e->b, BROKER_PRIORITY_ROUTINE, r, on_reply, &e->r), 0);
    assert_int_equal(e->r.nreplies, 0);
    assert_int_equal(e->r.nfills, 0);
    assert_int_equal(e->r.nupdates, 0);
    turn(e);
    assert_int_equal(e->r.nreplies, 1);
}

/* Places r, then feeds one bar: the recorder holds what that bar did. */
static void submit_then_bar(env *e, const order_request *r, money_t o, money_t h, money_t l,
                            money_t c)
{
    submit(e, r);
    reset(e);
    feed(e, "AAPL", o, h, l, c);
}

static broker_account account(env *e)
{
    reset(e);
    assert_int_equal(broker_get_account(e->b, BROKER_PRIORITY_ROUTINE, on_reply, &e->r), 0);
    assert_int_equal(e->r.nreplies, 0);
    turn(e);
    assert_int_equal(e->r.nreplies, 1);
    assert_true(e->r.has_account);
    return e->r.account;
}

static broker_position position(env *e, const char *sym)
{
    reset(e);
    assert_int_equal(broker_get_position(e->b, BROKER_PRIORITY_ROUTINE, sym, on_reply, &e->r), 0);
    turn(e);
    assert_int_equal(e->r.status, 0);
    broker_position p;
    memset(&p, 0, sizeof p);
    if (e->r.npositions == 1)
        p = e->r.positions[0];
    else
        assert_int_equal(e->r.npositions, 0);
    return p;
}

static broker_order get_order(env *e, const char *id)
{
    reset(e);
    assert_int_equal(broker_get_order(e->b, BROKER_PRIORITY_ROUTINE, id, on_reply, &e->r), 0);
    turn(e);
    assert_int_equal(e->r.status, 0);
    assert_true(e->r.has_order);
    return e->r.order;
}

static int open_orders(env *e, const char *sym)
{
    reset(e);
    assert_int_equal(broker_list_open_orders(e->b, BROKER_PRIORITY_ROUTINE, sym, on_reply, &e->r),
                     0);
    turn(e);
    assert_int_equal(e->r.status, 0);
    return e->r.norders;
}

/* ---- market orders ------------------------------------------------------------------------ */

static void test_market_buy_fills_at_last_plus_half_spread_and_slippage(void **state)
{
    (void)state;
    paper_config cfg = test_config();
    cfg.fee_per_share = CENTS(1) / 2; /* $0.005 a share */
    cfg.fee_min = MONEY(1);
    env *e = env_new(&cfg, NULL);
    feed(e, "AAPL", CENTS(10000), CENTS(10010), CENTS(9990), CENTS(10003));

    order_request r = req("m1", "AAPL", SIDE_BUY, ORDER_MARKET, MONEY(10));
    submit(e, &r);
    assert_int_equal(e->r.status, 0);
    assert_int_equal(e->r.order.status, ORDER_STATUS_ACCEPTED);
    /* Reply first, then the fill, then the order's status change. */
    assert_string_equal(e->r.trail, "ROFO");
    assert_int_equal(e->r.nfills, 1);
    /* 100.03 + 0.010003 half spread + 0.010003 slippage = 100.050006, to the nearest tick. */
    assert_int_equal(e->r.fills[0].price, CENTS(10005));
    assert_int_equal(e->r.fills[0].qty, MONEY(10));
    assert_int_equal(e->r.fills[0].fee, MONEY(1)); /* 10 x 0.005 = 0.05, minimum 1.00 */
    assert_string_equal(e->r.fills[0].client_order_id, "m1");
    assert_int_equal(e->r.updates[1].status, ORDER_STATUS_FILLED);
    assert_int_equal(e->r.updates[1].avg_fill_price, CENTS(10005));

    broker_account a = account(e);
    assert_int_equal(a.cash, CENTS(10000000 - 100050 - 100)); /* 98998.50 */
    assert_int_equal(a.equity, CENTS(9899850 + 100030));      /* + 10 x 100.03 */
    broker_position p = position(e, "AAPL");
    assert_int_equal(p.qty, MONEY(10));
    assert_int_equal(p.avg_entry_price, CENTS(10005));
    assert_int_equal(p.unrealized_pnl, -CENTS(20));

    /* The sell side: 100.03 - 0.020006 = 100.009994 -> 100.01, the nearest tick. */
    r = req("m2", "AAPL", SIDE_SELL, ORDER_MARKET, MONEY(10));
    submit(e, &r);
    assert_int_equal(e->r.fills[0].price, CENTS(10001));
    a = account(e);
    assert_int_equal(a.cash, CENTS(9899850 + 100010 - 100)); /* 99997.60 */
    assert_int_equal(a.equity, CENTS(9999760));
    assert_int_equal(a.realized_pnl_today, -CENTS(240)); /* -0.40 price, -2.00 fees */
    assert_int_equal(position(e, "AAPL").qty, 0);
    assert_int_equal(e->r.npositions, 0);
    env_free(e);
}

static void test_market_uses_bar_bid_ask_when_present(void **state)
{
    (void)state;
    paper_config cfg = test_config();
    env *e = env_new(&cfg, NULL);
    feed_quote(e, "AAPL", CENTS(10000), CENTS(9998), CENTS(10002));
    order_request r = req("q1", "AAPL", SIDE_BUY, ORDER_MARKET, MONEY(5));
    submit(e, &r);
    /* ask 100.02 + 1 bp = 100.030002 -> 100.03, the nearest tick */
    assert_int_equal(e->r.fills[0].price, CENTS(10003));
    r = req("q2", "AAPL", SIDE_SELL, ORDER_MARKET, MONEY(5));
    submit(e, &r);
    /* bid 99.98 - 1 bp = 99.970002 -> 99.97 */
    assert_int_equal(e->r.fills[0].price, CENTS(9997));
    assert_int_equal(account(e).realized_pnl_today, -CENTS(30)); /* 5 x -0.06 */
    env_free(e);
}

/* ---- limits and stops --------------------------------------------------------------------- */

static void test_limit_fills_at_limit_or_better_open(void **state)
{
    (void)state;
    paper_config cfg = test_config();
    env *e = env_new(&cfg, NULL);
    feed(e, "AAPL", CENTS(10000), CENTS(10000), CENTS(10000), CENTS(10000));

    order_request r = req("l1", "AAPL", SIDE_BUY, ORDER_LIMIT, MONEY(10));
    r.limit_price = CENTS(9950);
    submit(e, &r);
    assert_int_equal(e->r.order.status, ORDER_STATUS_ACCEPTED);
    assert_int_equal(e->r.nfills, 0);

    reset(e);
    feed(e, "AAPL", CENTS(10000), CENTS(10050), CENTS(9960), CENTS(9990)); /* low above limit */
    assert_int_equal(e->r.nfills, 0);
    feed(e, "AAPL", CENTS(9980), CENTS(9990), CENTS(9950), CENTS(9960)); /* touches it */
    assert_int_equal(e->r.nfills, 1);
    assert_int_equal(e->r.fills[0].price, CENTS(9950));

    /* A bar opening below a buy limit fills at the (better) open. */
    r = req("l2", "AAPL", SIDE_BUY, ORDER_LIMIT, MONEY(10));
    r.limit_price = CENTS(9900);
    submit_then_bar(e, &r, CENTS(9850), CENTS(9870), CENTS(9800), CENTS(9860));
    assert_int_equal(e->r.nfills, 1);
    assert_int_equal(e->r.fills[0].price, CENTS(9850));

    /* And a sell limit gapped through fills at the higher open. */
    r = req("l3", "AAPL", SIDE_SELL, ORDER_LIMIT, MONEY(20));
    r.limit_price = CENTS(10100);
    submit_then_bar(e, &r, CENTS(10150), CENTS(10200), CENTS(10120), CENTS(10180));
    assert_int_equal(e->r.nfills, 1);
    assert_int_equal(e->r.fills[0].price, CENTS(10150));
    assert_int_equal(get_order(e, "l3").status, ORDER_STATUS_FILLED);
    /* Bought 10 @ 99.50 and 10 @ 98.50 (average 99.00), sold 20 @ 101.50: +50.00, no fees. */
    assert_int_equal(account(e).realized_pnl_today, MONEY(50));
    env_free(e);
}

static void test_stop_triggers_and_gap_fills_at_open(void **state)
{
    (void)state;
    paper_config cfg = test_config();
    cfg.spread_bps = 0;
    cfg.slippage_bps = MONEY(10);
    env *e = env_new(&cfg, NULL);
    feed(e, "XYZ", CENTS(5000), CENTS(5000), CENTS(5000), CENTS(5000));
    order_request r = req("e1", "XYZ", SIDE_BUY, ORDER_MARKET, MONEY(100));
    submit(e, &r);
    assert_int_equal(e->r.fills[0].price, CENTS(5005)); /* 50 + 10 bp */

    r = req("s1", "XYZ", SIDE_SELL, ORDER_STOP, MONEY(100));
    r.stop_price = CENTS(4800);
    submit(e, &r);
    reset(e);
    feed(e, "XYZ", CENTS(4950), CENTS(4980), CENTS(4850), CENTS(4900)); /* above the stop */
    assert_int_equal(e->r.nfills, 0);
    feed(e, "XYZ", CENTS(4900), CENTS(4920), CENTS(4750), CENTS(4800)); /* trades through */
    assert_int_equal(e->r.nfills, 1);
    /* 48.00 - 10 bp = 47.952, to the nearest tick. */
    assert_int_equal(e->r.fills[0].price, CENTS(4795));
    assert_int_equal(account(e).realized_pnl_today, -MONEY(210));

    r = req("e2", "XYZ", SIDE_BUY, ORDER_MARKET, MONEY(100));
    submit(e, &r);
    assert_int_equal(e->r.fills[0].price, CENTS(4805)); /* 48.048 -> 48.05 */
    r = req("s2", "XYZ", SIDE_SELL, ORDER_STOP, MONEY(100));
    r.stop_price = CENTS(4500);
    submit(e, &r);
    reset(e);
    feed(e, "XYZ", CENTS(4400), CENTS(4420), CENTS(4350), CENTS(4380)); /* gaps through */
    assert_int_equal(e->r.nfills, 1);
    /* Fills at the gap price, 44.00, less 10 bp: 43.956 -> 43.96 (nearest), not at the
     * stop. */
    assert_int_equal(e->r.fills[0].price, CENTS(4396));
    assert_int_equal(position(e, "XYZ").qty, 0);
    env_free(e);
}

static void test_stop_limit_becomes_limit_when_triggered(void **state)
{
    (void)state;
    paper_config cfg = test_config();
    env *e = env_new(&cfg, NULL);
    feed(e, "XYZ", CENTS(4900), CENTS(4900), CENTS(4900), CENTS(4900));
    order_request r = req("sl1", "XYZ", SIDE_BUY, ORDER_STOP_LIMIT, MONEY(10));
    r.stop_price = CENTS(5000);
    r.limit_price = CENTS(5020);
    submit(e, &r);
    reset(e);
    /* Gaps above the limit and never comes back: triggered, not filled. */
    feed(e, "XYZ", CENTS(5050), CENTS(5100), CENTS(5030), CENTS(5060));
    assert_int_equal(e->r.nfills, 0);
    assert_int_equal(get_order(e, "sl1").status, ORDER_STATUS_ACCEPTED);
    /* Now a plain limit at 50.20: fills when the price comes back. */
    reset(e);
    feed(e, "XYZ", CENTS(5040), CENTS(5045), CENTS(5010), CENTS(5015));
    assert_int_equal(e->r.nfills, 1);
    assert_int_equal(e->r.fills[0].price, CENTS(5020));
    env_free(e);
}

/* ---- brackets ----------------------------------------------------------------------------- */

static env *bracket_env(void)
{
    paper_config cfg = test_config();
    cfg.spread_bps = 0;
    cfg.slippage_bps = 0;
    env *e = env_new(&cfg, NULL);
    feed(e, "AAPL", CENTS(10000), CENTS(10000), CENTS(10000), CENTS(10000));
    return e;
}

static void submit_bracket(env *e, const char *id)
{
    order_request r = req(id, "AAPL", SIDE_BUY, ORDER_LIMIT, MONEY(10));
    r.limit_price = CENTS(10000);
    r.take_profit = CENTS(10500);
    r.stop_loss = CENTS(9500);
    submit(e, &r);
    assert_int_equal(e->r.status, 0);
    /* The entry and both legs, the legs held. */
    assert_int_equal(e->r.nupdates, 3);
    assert_int_equal(e->r.updates[1].status, ORDER_STATUS_HELD);
    assert_int_equal(e->r.updates[2].status, ORDER_STATUS_HELD);
}

static void test_bracket_legs_held_until_entry_fills_then_take_profit_cancels_stop(void **state)
{
    (void)state;
    env *e = bracket_env();
    submit_bracket(e, "b1");
    broker_order tp = get_order(e, "b1-tp");
    assert_int_equal(tp.status, ORDER_STATUS_HELD);
    assert_int_equal(tp.role, ORDER_ROLE_TAKE_PROFIT);
    assert_int_equal(tp.side, SIDE_SELL);
    assert_string_equal(tp.parent_client_order_id, "b1");
    assert_int_equal(tp.limit_price, CENTS(10500));
    broker_order sl = get_order(e, "b1-sl");
    assert_int_equal(sl.role, ORDER_ROLE_STOP_LOSS);
    assert_int_equal(sl.stop_price, CENTS(9500));
    assert_int_equal(open_orders(e, "AAPL"), 3); /* held legs are open orders */

    /* A bar above the entry that would reach the target: the legs are only held. */
    reset(e);
    feed(e, "AAPL", CENTS(10100), CENTS(10600), CENTS(10050), CENTS(10550));
    assert_int_equal(e->r.nfills, 0);

    reset(e);
    feed(e, "AAPL", CENTS(10020), CENTS(10030), CENTS(9980), CENTS(10000)); /* entry fills */
    assert_int_equal(e->r.nfills, 1);
    assert_int_equal(e->r.fills[0].price, CENTS(10000));
    assert_int_equal(get_order(e, "b1-tp").status, ORDER_STATUS_ACCEPTED);
    assert_int_equal(get_order(e, "b1-sl").status, ORDER_STATUS_ACCEPTED);

    reset(e);
    feed(e, "AAPL", CENTS(10100), CENTS(10550), CENTS(10050), CENTS(10500));
    assert_int_equal(e->r.nfills, 1);
    assert_string_equal(e->r.fills[0].client_order_id, "b1-tp");
    assert_int_equal(e->r.fills[0].price, CENTS(10500));
    broker_order stop = get_order(e, "b1-sl");
    assert_int_equal(stop.status, ORDER_STATUS_CANCELLED);
    assert_non_null(strstr(stop.reason, "one-cancels-other"));
    assert_int_equal(position(e, "AAPL").qty, 0);
    assert_int_equal(account(e).realized_pnl_today, MONEY(50));
    assert_int_equal(open_orders(e, NULL), 0);

    /* Later bars through the old stop do nothing. */
    reset(e);
    feed(e, "AAPL", CENTS(9400), CENTS(9400), CENTS(9000), CENTS(9100));
    assert_int_equal(e->r.nfills, 0);
    env_free(e);
}

static void test_bracket_stop_loss_cancels_take_profit(void **state)
{
    (void)state;
    env *e = bracket_env();
    submit_bracket(e, "b2");
    feed(e, "AAPL", CENTS(10000), CENTS(10010), CENTS(9990), CENTS(10000));
    reset(e);
    feed(e, "AAPL", CENTS(9700), CENTS(9710), CENTS(9480), CENTS(9490));
    assert_int_equal(e->r.nfills, 1);
    assert_string_equal(e->r.fills[0].client_order_id, "b2-sl");
    assert_int_equal(e->r.fills[0].price, CENTS(9500));
    assert_int_equal(get_order(e, "b2-tp").status, ORDER_STATUS_CANCELLED);
    assert_int_equal(position(e, "AAPL").qty, 0);
    assert_int_equal(account(e).realized_pnl_today, -MONEY(50));
    assert_int_equal(account(e).cash, MONEY(100000 - 50));
    env_free(e);
}

static void test_bracket_both_legs_in_one_bar_stop_wins(void **state)
{
    (void)state;
    env *e = bracket_env();
    submit_bracket(e, "b3");
    feed(e, "AAPL", CENTS(10000), CENTS(10010), CENTS(9990), CENTS(10000));
    reset(e);
    feed(e, "AAPL", CENTS(10000), CENTS(10600), CENTS(9400), CENTS(10000));
    assert_int_equal(e->r.nfills, 1);
    assert_string_equal(e->r.fills[0].client_order_id, "b3-sl");
    assert_int_equal(get_order(e, "b3-tp").status, ORDER_STATUS_CANCELLED);
    assert_int_equal(account(e).realized_pnl_today, -MONEY(50));
    env_free(e);
}

static void test_cancelling_the_entry_cancels_its_legs(void **state)
{
    (void)state;
    env *e = bracket_env();
    submit_bracket(e, "b4");
    reset(e);
    assert_int_equal(broker_cancel_order(e->b, BROKER_PRIORITY_ROUTINE, "b4", on_reply, &e->r), 0);
    assert_int_equal(e->r.nreplies, 0);
    turn(e);
    assert_int_equal(e->r.status, 0);
    assert_int_equal(e->r.order.status, ORDER_STATUS_CANCELLED);
    assert_int_equal(e->r.trail[0], 'R');
    assert_int_equal(get_order(e, "b4-tp").status, ORDER_STATUS_CANCELLED);
    assert_int_equal(get_order(e, "b4-sl").status, ORDER_STATUS_CANCELLED);
    assert_int_equal(open_orders(e, NULL), 0);

    reset(e);
    assert_int_equal(broker_cancel_order(e->b, BROKER_PRIORITY_ROUTINE, "b4", on_reply, &e->r), 0);
    turn(e);
    assert_int_equal(e->r.status, APEX_ESTATE);
    reset(e);
    assert_int_equal(broker_cancel_order(e->b, BROKER_PRIORITY_ROUTINE, "nope", on_reply, &e->r),
                     0);
    turn(e);
    assert_int_equal(e->r.status, APEX_ENOTFOUND);
    env_free(e);
}

/* ---- validation --------------------------------------------------------------------------- */

static void test_duplicate_client_order_id_rejected(void **state)
{
    (void)state;
    env *e = bracket_env();
    order_request r = req("d1", "AAPL", SIDE_BUY, ORDER_LIMIT, MONEY(1));
    r.limit_price = CENTS(9000);
    submit(e, &r);
    assert_int_equal(e->r.status, 0);
    r.limit_price = CENTS(8000);
    submit(e, &r);
    assert_int_equal(e->r.status, APEX_EDUP);
    assert_non_null(strstr(e->r.error, "d1"));
    assert_int_equal(e->r.nupdates, 0);
    assert_int_equal(open_orders(e, NULL), 1);
    assert_int_equal(e->r.orders[0].limit_price, CENTS(9000));

    /* Also after the first is gone, and for ids a rejected order used. */
    reset(e);
    broker_cancel_order(e->b, BROKER_PRIORITY_ROUTINE, "d1", on_reply, &e->r);
    turn(e);
    submit(e, &r);
    assert_int_equal(e->r.status, APEX_EDUP);
    order_request bad = req("d2", "AAPL", SIDE_BUY, ORDER_MARKET, 0);
    submit(e, &bad);
    assert_int_equal(e->r.status, APEX_EREJECTED);
    bad.qty = MONEY(1);
    submit(e, &bad);
    assert_int_equal(e->r.status, APEX_EDUP);
    assert_int_equal(position(e, "AAPL").qty, 0);
    env_free(e);
}

static void expect_reject(env *e, const order_request *r, const char *needle)
{
    submit(e, r);
    assert_int_equal(e->r.status, APEX_EREJECTED);
    assert_true(e->r.has_order);
    assert_int_equal(e->r.order.status, ORDER_STATUS_REJECTED);
    if (!strstr(e->r.error, needle))
        fail_msg("reason '%s' does not mention '%s'", e->r.error, needle);
    assert_int_equal(get_order(e, r->client_order_id).status, ORDER_STATUS_REJECTED);
}

static void test_bad_lot_tick_and_bracket_sides_rejected_with_reasons(void **state)
{
    (void)state;
    env *e = bracket_env();
    order_request r = req("v1", "AAPL", SIDE_BUY, ORDER_MARKET, MONEY(3) / 2);
    expect_reject(e, &r, "lot");
    r = req("v2", "AAPL", SIDE_BUY, ORDER_LIMIT, MONEY(1));
    r.limit_price = CENTS(10000) + CENTS(1) / 2;
    expect_reject(e, &r, "tick");
    r = req("v3", "AAPL", SIDE_BUY, ORDER_LIMIT, MONEY(1));
    r.limit_price = CENTS(10000);
    r.stop_loss = CENTS(10100);
    expect_reject(e, &r, "stop_loss 101.00 must be below the entry price 100.00");
    r = req("v4", "AAPL", SIDE_SELL, ORDER_LIMIT, MONEY(1));
    r.limit_price = CENTS(10000);
    r.take_profit = CENTS(10100);
    expect_reject(e, &r, "take_profit 101.00 must be below");
    r = req("v5", "MSFT", SIDE_BUY, ORDER_MARKET, MONEY(1));
    expect_reject(e, &r, "no market data for MSFT");
    r = req("v6", "AAPL", SIDE_BUY, ORDER_STOP, MONEY(1));
    expect_reject(e, &r, "stop_price must be greater than 0");
    /* Lots of 100 for this symbol. */
    paper_broker_set_instrument(e->b, "AAPL",
                                (money_instrument){.tick = CENTS(5), .lot = MONEY(100)});
    r = req("v7", "AAPL", SIDE_BUY, ORDER_MARKET, MONEY(50));
    expect_reject(e, &r, "lot size 100");
    r = req("v8", "AAPL", SIDE_BUY, ORDER_LIMIT, MONEY(100));
    r.limit_price = CENTS(9902);
    expect_reject(e, &r, "tick 0.05");
    assert_int_equal(open_orders(e, NULL), 0);
    assert_int_equal(account(e).cash, MONEY(100000));
    env_free(e);
}

static void test_buying_power_rejects_opening_but_allows_closing(void **state)
{
    (void)state;
    paper_config cfg = test_config();
    cfg.starting_cash = MONEY(10000);
    cfg.spread_bps = 0;
    cfg.slippage_bps = 0;
    env *e = env_new(&cfg, NULL);
    feed(e, "AAPL", CENTS(10000), CENTS(10000), CENTS(10000), CENTS(10000));
    order_request r = req("bp1", "AAPL", SIDE_BUY, ORDER_MARKET, MONEY(101));
    expect_reject(e, &r, "needs 10100.00 but 10000.00 is available");
    r = req("bp2", "AAPL", SIDE_BUY, ORDER_MARKET, MONEY(100));
    submit(e, &r);
    assert_int_equal(e->r.status, 0);
    assert_int_equal(account(e).cash, 0);
    assert_int_equal(account(e).buying_power, 0);
    /* Selling it back (and more, which would open a short) */
    r = req("bp3", "AAPL", SIDE_SELL, ORDER_MARKET, MONEY(100));
    submit(e, &r);
    assert_int_equal(e->r.status, 0);
    assert_int_equal(position(e, "AAPL").qty, 0);
    /* Shorts: no leverage, all shorts together at most the equity. */
    r = req("bp4", "AAPL", SIDE_SELL, ORDER_LIMIT, MONEY(101));
    r.limit_price = CENTS(10000);
    expect_reject(e, &r, "buying power");
    env_free(e);
}

/* ---- the account -------------------------------------------------------------------------- */

static void test_short_then_cover_and_flip_pnl(void **state)
{
    (void)state;
    env *e = bracket_env();
    order_request r = req("sh1", "AAPL", SIDE_SELL, ORDER_MARKET, MONEY(10));
    submit(e, &r);
    broker_position p = position(e, "AAPL");
    assert_int_equal(p.qty, -MONEY(10));
    assert_int_equal(p.avg_entry_price, MONEY(100));
    assert_int_equal(account(e).cash, MONEY(101000));

    feed(e, "AAPL", CENTS(9000), CENTS(9000), CENTS(9000), CENTS(9000));
    broker_account a = account(e);
    assert_int_equal(a.equity, MONEY(101000 - 900));
    assert_int_equal(position(e, "AAPL").unrealized_pnl, MONEY(100));

    /* Buy 15: covers 10 (+100.00) and opens 5 long at 90. */
    r = req("sh2", "AAPL", SIDE_BUY, ORDER_MARKET, MONEY(15));
    submit(e, &r);
    p = position(e, "AAPL");
    assert_int_equal(p.qty, MONEY(5));
    assert_int_equal(p.avg_entry_price, MONEY(90));
    a = account(e);
    assert_int_equal(a.realized_pnl_today, MONEY(100));
    assert_int_equal(a.cash, MONEY(101000 - 1350));
    assert_int_equal(a.equity, MONEY(101000 - 1350 + 450));

    /* Average cost: add 5 at 80 -> 10 at 85. */
    feed(e, "AAPL", CENTS(8000), CENTS(8000), CENTS(8000), CENTS(8000));
    r = req("sh3", "AAPL", SIDE_BUY, ORDER_MARKET, MONEY(5));
    submit(e, &r);
    p = position(e, "AAPL");
    assert_int_equal(p.qty, MONEY(10));
    assert_int_equal(p.avg_entry_price, MONEY(85));
    env_free(e);
}

static void test_close_position_cancels_legs_and_flattens(void **state)
{
    (void)state;
    env *e = bracket_env();
    submit_bracket(e, "c1");
    feed(e, "AAPL", CENTS(10000), CENTS(10010), CENTS(9990), CENTS(10200)); /* entry fills */
    assert_int_equal(position(e, "AAPL").qty, MONEY(10));

    reset(e);
    assert_int_equal(
        broker_close_position(e->b, BROKER_PRIORITY_ROUTINE, "AAPL", "c1-close", on_reply, &e->r),
        0);
    assert_int_equal(e->r.nreplies, 0);
    turn(e);
    assert_int_equal(e->r.status, 0);
    assert_int_equal(e->r.order.role, ORDER_ROLE_EXIT);
    assert_int_equal(e->r.order.side, SIDE_SELL);
    assert_int_equal(e->r.order.qty, MONEY(10));
    assert_int_equal(e->r.trail[0], 'R');
    assert_int_equal(e->r.nfills, 1);
    assert_int_equal(e->r.fills[0].price, CENTS(10200));
    assert_int_equal(get_order(e, "c1-tp").status, ORDER_STATUS_CANCELLED);
    assert_int_equal(get_order(e, "c1-sl").status, ORDER_STATUS_CANCELLED);
    assert_int_equal(get_order(e, "c1-close").status, ORDER_STATUS_FILLED);
    assert_int_equal(position(e, "AAPL").qty, 0);
    assert_int_equal(account(e).realized_pnl_today, MONEY(20));

    reset(e);
    broker_close_position(e->b, BROKER_PRIORITY_ROUTINE, "AAPL", "c1-close2", on_reply, &e->r);
    turn(e);
    assert_int_equal(e->r.status, APEX_ENOTFOUND);
    assert_non_null(strstr(e->r.error, "AAPL"));
    env_free(e);
}

static void test_replies_never_delivered_inside_the_call(void **state)
{
    (void)state;
    env *e = bracket_env();
    const char *syms[] = {"AAPL", "ZZZ"};
    reset(e);
    assert_int_equal(broker_get_account(e->b, BROKER_PRIORITY_ROUTINE, on_reply, &e->r), 0);
    assert_int_equal(broker_list_positions(e->b, BROKER_PRIORITY_ROUTINE, on_reply, &e->r), 0);
    assert_int_equal(broker_get_position(e->b, BROKER_PRIORITY_ROUTINE, "AAPL", on_reply, &e->r),
                     0);
    assert_int_equal(broker_list_open_orders(e->b, BROKER_PRIORITY_ROUTINE, NULL, on_reply, &e->r),
                     0);
    assert_int_equal(broker_get_order(e->b, BROKER_PRIORITY_ROUTINE, "none", on_reply, &e->r), 0);
    assert_int_equal(broker_get_quotes(e->b, BROKER_PRIORITY_ROUTINE, syms, 2, on_reply, &e->r), 0);
    assert_int_equal(e->r.nreplies, 0);
    turn(e);
    assert_int_equal(e->r.nreplies, 6);
    /* The last reply: quotes in request order, the unknown one named. */
    assert_int_equal(e->r.status, APEX_ENOTFOUND);
    assert_non_null(strstr(e->r.error, "ZZZ"));
    assert_int_equal(e->r.nquotes, 2);
    assert_string_equal(e->r.quotes[0].symbol, "AAPL");
    assert_int_equal(e->r.quotes[0].last, MONEY(100));
    assert_int_equal(e->r.quotes[0].volume, MONEY(1000));
    assert_int_equal(e->r.quotes[0].ts, e->now);
    assert_true(e->r.quotes[0].bid <= MONEY(100) && e->r.quotes[0].ask >= MONEY(100));
    env_free(e);
}

static void test_quotes_and_position_of_flat_symbol(void **state)
{
    (void)state;
    paper_config cfg = test_config();
    env *e = env_new(&cfg, NULL);
    feed(e, "AAPL", CENTS(10000), CENTS(10000), CENTS(10000), CENTS(10000));
    const char *syms[] = {"AAPL"};
    reset(e);
    broker_get_quotes(e->b, BROKER_PRIORITY_ROUTINE, syms, 1, on_reply, &e->r);
    turn(e);
    assert_int_equal(e->r.status, 0);
    assert_int_equal(e->r.quotes[0].bid, CENTS(9999)); /* 1 bp each side of 100 */
    assert_int_equal(e->r.quotes[0].ask, CENTS(10001));
    assert_int_equal(position(e, "AAPL").qty, 0);
    assert_int_equal(e->r.npositions, 0);
    env_free(e);
}

static void test_old_bars_are_ignored(void **state)
{
    (void)state;
    env *e = bracket_env();
    order_request r = req("o1", "AAPL", SIDE_BUY, ORDER_LIMIT, MONEY(1));
    r.limit_price = CENTS(9000);
    submit(e, &r);
    /* A replayed bar from before the latest: would fill, but is history. */
    bar old = {.ts = e->now - APEX_MINUTE,
               .open = MONEY(85),
               .high = MONEY(86),
               .low = MONEY(84),
               .close = MONEY(85)};
    reset(e);
    paper_broker_on_bar(e->b, &old, "AAPL");
    turn(e);
    assert_int_equal(e->r.nfills, 0);
    assert_int_equal(get_order(e, "o1").status, ORDER_STATUS_ACCEPTED);
    const char *syms[] = {"AAPL"};
    reset(e);
    broker_get_quotes(e->b, BROKER_PRIORITY_ROUTINE, syms, 1, on_reply, &e->r);
    turn(e);
    assert_int_equal(e->r.quotes[0].last, MONEY(100));
    env_free(e);
}

static void test_day_trades_counted_in_rolling_window(void **state)
{
    (void)state;
    env *e = bracket_env();
    order_request r = req("dt1", "AAPL", SIDE_BUY, ORDER_MARKET, MONEY(10));
    submit(e, &r);
    r = req("dt2", "AAPL", SIDE_SELL, ORDER_MARKET, MONEY(10));
    submit(e, &r);
    assert_int_equal(account(e).day_trades, 1);

    /* Bought Monday, sold Tuesday: not a day trade. */
    r = req("dt3", "AAPL", SIDE_BUY, ORDER_MARKET, MONEY(10));
    submit(e, &r);
    e->now += APEX_DAY;
    feed(e, "AAPL", MONEY(101), MONEY(101), MONEY(101), MONEY(101));
    assert_int_equal(account(e).realized_pnl_today, 0); /* a new day */
    r = req("dt4", "AAPL", SIDE_SELL, ORDER_MARKET, MONEY(10));
    submit(e, &r);
    broker_account a = account(e);
    assert_int_equal(a.day_trades, 1);
    assert_int_equal(a.realized_pnl_today, MONEY(10));

    /* Two round trips on Tuesday count two. */
    for (int i = 0; i < 2; i++) {
        char id[16];
        snprintf(id, sizeof id, "rt%d-b", i);
        r = req(id, "AAPL", SIDE_BUY, ORDER_MARKET, MONEY(1));
        submit(e, &r);
        snprintf(id, sizeof id, "rt%d-s", i);
        r = req(id, "AAPL", SIDE_SELL, ORDER_MARKET, MONEY(1));
        submit(e, &r);
    }
    assert_int_equal(account(e).day_trades, 3);

    /* Next Monday: Monday's trade has left the five-business-day window. */
    e->now += 6 * APEX_DAY;
    feed(e, "AAPL", MONEY(101), MONEY(101), MONEY(101), MONEY(101));
    assert_int_equal(account(e).day_trades, 2);
    /* And the Tuesday after, none are left. */
    e->now += APEX_DAY;
    feed(e, "AAPL", MONEY(101), MONEY(101), MONEY(101), MONEY(101));
    assert_int_equal(account(e).day_trades, 0);
    env_free(e);
}

static void test_fees_per_share_and_bps_rounded_to_the_nearest_cent(void **state)
{
    (void)state;
    paper_config cfg = test_config();
    cfg.spread_bps = 0;
    cfg.slippage_bps = 0;
    cfg.fee_per_share = CENTS(1) / 10; /* $0.001 */
    cfg.fee_bps = MONEY(1);            /* 0.01% of notional */
    cfg.fee_min = CENTS(5);
    env *e = env_new(&cfg, NULL);
    feed(e, "AAPL", CENTS(10003), CENTS(10003), CENTS(10003), CENTS(10003));
    order_request r = req("f1", "AAPL", SIDE_BUY, ORDER_MARKET, MONEY(100));
    submit(e, &r);
    /* 100 x 0.001 = 0.10, plus 1 bp of 10003.00 = 1.0003: 1.1003 -> 1.10, the nearest cent */
    assert_int_equal(e->r.fills[0].fee, CENTS(110));
    r = req("f2", "AAPL", SIDE_SELL, ORDER_MARKET, MONEY(1));
    submit(e, &r);
    /* 0.001 + 0.010003 is below the 0.05 minimum */
    assert_int_equal(e->r.fills[0].fee, CENTS(5));
    assert_string_equal(e->r.fills[0].fill_id, "paper-2-1");
    broker_account a = account(e);
    assert_int_equal(a.cash, MONEY(100000) - CENTS(1000300) - CENTS(110) + CENTS(10003) - CENTS(5));
    assert_int_equal(a.realized_pnl_today, -CENTS(115));
    env_free(e);
}

static void test_market_order_fills_before_the_next_bar(void **state)
{
    (void)state;
    env *e = bracket_env();
    order_request r = req("mk1", "AAPL", SIDE_BUY, ORDER_MARKET, MONEY(10));
    reset(e);
    assert_int_equal(broker_submit_order(e->b, BROKER_PRIORITY_ROUTINE, &r, on_reply, &e->r), 0);
    /* The next bar arrives before the clock turns: the order was sent against 100. */
    e->now += APEX_MINUTE;
    bar b = {.ts = e->now,
             .open = MONEY(110),
             .high = MONEY(111),
             .low = MONEY(109),
             .close = MONEY(110)};
    paper_broker_on_bar(e->b, &b, "AAPL");
    assert_int_equal(e->r.nreplies, 0);
    turn(e);
    assert_string_equal(e->r.trail, "ROFO");
    assert_int_equal(e->r.fills[0].price, MONEY(100));
    assert_int_equal(position(e, "AAPL").unrealized_pnl, MONEY(100));
    env_free(e);
}

/* ---- the fill model (broker.fill) and its costs -------------------------------------------
 *
 * Expected prices are computed here from the rule, independently of the broker's code:
 * exact price = reference * (1 +/- bps / 10000), rounded once to the nearest tick, half to
 * even. */

static paper_config fill_config(paper_fill_model fill, int spread_bps, int slippage_bps)
{
    paper_config c = test_config();
    c.fill = fill;
    c.starting_cash = MONEY(1000000);
    c.spread_bps = MONEY(spread_bps);
    c.slippage_bps = MONEY(slippage_bps);
    return c;
}

/* The rule, computed here: ref * (10000 +/- bps) / 10000 rounded once to the nearest tick,
 * half to even, in exact integer arithmetic. */
static money_t expect_price(money_t ref, order_side side, double bps, money_t tick)
{
    __int128 k = (__int128)(bps * 1e8 + 0.5); /* bps at 1e-8 */
    __int128 den = (__int128)10000 * 100000000;
    __int128 num = (__int128)ref * (side == SIDE_BUY ? den + k : den - k);
    __int128 unit = den * tick; /* one tick, in num's units */
    __int128 q = num / unit, r = num % unit;
    if (2 * r > unit || (2 * r == unit && (q & 1)))
        q++;
    return (money_t)(q * tick);
}

/* ---- next_open and close ----------------------------------------------------------------- */

/* Bar k (the signal bar) and bar k+1. */
#define K_OPEN   CENTS(10000)
#define K_CLOSE  CENTS(10050)
#define K1_OPEN  CENTS(10120)
#define K1_CLOSE CENTS(10150)

static void signal_bar(env *e)
{
    feed(e, "AAPL", K_OPEN, CENTS(10100), CENTS(9900), K_CLOSE);
}

static void next_bar(env *e)
{
    feed(e, "AAPL", K1_OPEN, CENTS(10200), CENTS(10080), K1_CLOSE);
}

/* An account with the fill model and costs that has seen the signal bar, bar k. */
static env *fill_env(paper_fill_model fill, int spread_bps, int slippage_bps)
{
    paper_config cfg = fill_config(fill, spread_bps, slippage_bps);
    env *e = env_new(&cfg, NULL);
    signal_bar(e);
    return e;
}

static void test_next_open_market_entry_and_exit_fill_at_the_next_open(void **state)
{
    (void)state;
    env *e = fill_env(PAPER_FILL_NEXT_OPEN, 2, 1);
    order_request r = req("n1", "AAPL", SIDE_BUY, ORDER_MARKET, MONEY(10));
    submit(e, &r);
    assert_int_equal(e->r.status, 0);
    assert_int_equal(e->r.nfills, 0); /* not on the clock turn: no price to trade at yet */
    assert_int_equal(e->r.order.status, ORDER_STATUS_ACCEPTED);

    reset(e);
    next_bar(e);
    assert_int_equal(e->r.nfills, 1);
    /* Half the 2 bps spread plus 1 bps slippage = 2 bps above bar k+1's open. */
    money_t buy = expect_price(K1_OPEN, SIDE_BUY, 2, CENTS(1));
    assert_int_equal(e->r.fills[0].price, buy);
    assert_int_equal(e->r.fills[0].ts, e->now);

    /* The exit: sent after bar k+1, fills at bar k+2's open less 2 bps. */
    r = req("n1-x", "AAPL", SIDE_SELL, ORDER_MARKET, MONEY(10));
    r.role = ORDER_ROLE_EXIT;
    submit(e, &r);
    assert_int_equal(e->r.nfills, 0);
    reset(e);
    feed(e, "AAPL", CENTS(10300), CENTS(10310), CENTS(10290), CENTS(10305));
    assert_int_equal(e->r.nfills, 1);
    money_t sell = expect_price(CENTS(10300), SIDE_SELL, 2, CENTS(1));
    assert_int_equal(e->r.fills[0].price, sell);
    assert_int_equal(account(e).realized_pnl_today, 10 * (sell - buy));

    /* close_position is a market exit too. */
    r = req("n2", "AAPL", SIDE_BUY, ORDER_MARKET, MONEY(3));
    submit(e, &r);
    feed(e, "AAPL", CENTS(10400), CENTS(10410), CENTS(10390), CENTS(10400));
    reset(e);
    assert_int_equal(
        broker_close_position(e->b, BROKER_PRIORITY_ROUTINE, "AAPL", "n2-c", on_reply, &e->r), 0);
    turn(e);
    assert_int_equal(e->r.nfills, 0);
    feed(e, "AAPL", CENTS(10420), CENTS(10430), CENTS(10410), CENTS(10420));
    assert_int_equal(e->r.nfills, 1);
    assert_int_equal(e->r.fills[0].price, expect_price(CENTS(10420), SIDE_SELL, 2, CENTS(1)));
    env_free(e);
}

static void test_close_model_fills_at_the_signal_bar_close(void **state)
{
    (void)state;
    env *e = fill_env(PAPER_FILL_CLOSE, 2, 1);
    order_request r = req("c1", "AAPL", SIDE_BUY, ORDER_MARKET, MONEY(10));
    submit(e, &r);
    assert_int_equal(e->r.nfills, 1); /* on the clock turn */
    money_t buy = expect_price(K_CLOSE, SIDE_BUY, 2, CENTS(1));
    assert_int_equal(e->r.fills[0].price, buy);
    next_bar(e);
    r = req("c1-x", "AAPL", SIDE_SELL, ORDER_MARKET, MONEY(10));
    r.role = ORDER_ROLE_EXIT;
    submit(e, &r);
    assert_int_equal(e->r.nfills, 1);
    money_t sell = expect_price(K1_CLOSE, SIDE_SELL, 2, CENTS(1));
    assert_int_equal(e->r.fills[0].price, sell);
    assert_int_equal(account(e).realized_pnl_today, 10 * (sell - buy));
    env_free(e);
}

/* A cancel cannot beat a market order to the next open: it is answered after the fill. */
static void test_cancel_of_a_waiting_market_order_is_answered_after_its_fill(void **state)
{
    (void)state;
    env *e = fill_env(PAPER_FILL_NEXT_OPEN, 0, 0);
    order_request r = req("w1", "AAPL", SIDE_BUY, ORDER_MARKET, MONEY(5));
    submit(e, &r);
    reset(e);
    assert_int_equal(broker_cancel_order(e->b, BROKER_PRIORITY_ROUTINE, "w1", on_reply, &e->r), 0);
    clock_advance_to(e->clock, e->now + 30 * APEX_SECOND);
    assert_int_equal(e->r.nreplies, 0);
    next_bar(e);
    assert_string_equal(e->r.trail, "FOR"); /* the fill, its status, then the refusal */
    assert_int_equal(e->r.status, APEX_ESTATE);
    assert_non_null(strstr(e->r.error, "filled"));
    assert_int_equal(e->r.fills[0].price, K1_OPEN);
    env_free(e);
}

/* ---- limits and stops --------------------------------------------------------------------- */

static void test_limits_and_stops_fill_in_a_later_bar_range_or_at_a_gap_open(void **state)
{
    (void)state;
    env *e = fill_env(PAPER_FILL_NEXT_OPEN, 2, 1);
    order_request r = req("l1", "AAPL", SIDE_BUY, ORDER_LIMIT, MONEY(10));
    r.limit_price = CENTS(9950);
    submit_then_bar(e, &r, CENTS(10000), CENTS(10020), CENTS(9960), CENTS(9990)); /* above */
    assert_int_equal(e->r.nfills, 0);
    feed(e, "AAPL", CENTS(9980), CENTS(9985), CENTS(9940), CENTS(9970)); /* trades through */
    assert_int_equal(e->r.nfills, 1);
    assert_int_equal(e->r.fills[0].price, CENTS(9950)); /* limits pay no spread or slippage */

    /* A buy limit the next bar opens below fills at that open. */
    r = req("l2", "AAPL", SIDE_BUY, ORDER_LIMIT, MONEY(10));
    r.limit_price = CENTS(9900);
    submit_then_bar(e, &r, CENTS(9870), CENTS(9880), CENTS(9800), CENTS(9850));
    assert_int_equal(e->r.fills[0].price, CENTS(9870));

    /* A sell stop within the range fills at the stop less slippage; gapped through, at the
     * open less slippage. */
    r = req("s1", "AAPL", SIDE_SELL, ORDER_STOP, MONEY(10));
    r.stop_price = CENTS(9700);
    submit_then_bar(e, &r, CENTS(9800), CENTS(9810), CENTS(9690), CENTS(9750));
    assert_int_equal(e->r.nfills, 1);
    assert_int_equal(e->r.fills[0].price, expect_price(CENTS(9700), SIDE_SELL, 1, CENTS(1)));
    r = req("s2", "AAPL", SIDE_SELL, ORDER_STOP, MONEY(10));
    r.stop_price = CENTS(9600);
    submit_then_bar(e, &r, CENTS(9400), CENTS(9450), CENTS(9350), CENTS(9420)); /* gap */
    assert_int_equal(e->r.nfills, 1);
    assert_int_equal(e->r.fills[0].price, expect_price(CENTS(9400), SIDE_SELL, 1, CENTS(1)));
    env_free(e);
}

/* A bracket entered at the next open: its legs watch the rest of that same bar. */
static void test_bracket_filled_at_the_open_guards_the_same_bar(void **state)
{
    (void)state;
    env *e = fill_env(PAPER_FILL_NEXT_OPEN, 0, 0);
    order_request r = req("b1", "AAPL", SIDE_BUY, ORDER_MARKET, MONEY(10));
    r.stop_loss = CENTS(9900);
    r.take_profit = CENTS(10300);
    /* Opens at 100.20 (the entry), then falls through the stop within the bar. */
    submit_then_bar(e, &r, CENTS(10020), CENTS(10030), CENTS(9850), CENTS(9870));
    assert_int_equal(e->r.nfills, 2);
    assert_string_equal(e->r.fills[0].client_order_id, "b1");
    assert_int_equal(e->r.fills[0].price, CENTS(10020));
    assert_string_equal(e->r.fills[1].client_order_id, "b1-sl");
    assert_int_equal(e->r.fills[1].price, CENTS(9900));
    assert_int_equal(account(e).realized_pnl_today, 10 * (CENTS(9900) - CENTS(10020)));
    env_free(e);
}

/* ---- costs within half a tick ------------------------------------------------------------- */

/* Buys and sells at the close of one bar at `price` and checks what spread and slippage
 * cost in basis points of the close: the configured 2 bps (half of 2 plus 1) within half a
 * tick, on either side. */
static void check_cost(money_t price)
{
    paper_config cfg = fill_config(PAPER_FILL_CLOSE, 2, 1);
    env *e = env_new(&cfg, NULL);
    feed(e, "X", price, price, price, price);
    double half_tick_bps = 0.005 / money_to_double(price) * 10000;
    for (int side = 0; side < 2; side++) {
        order_request r =
            req(side ? "sell" : "buy", "X", side ? SIDE_SELL : SIDE_BUY, ORDER_MARKET, MONEY(1));
        submit(e, &r);
        assert_int_equal(e->r.nfills, 1);
        double fill = money_to_double(e->r.fills[0].price), ref = money_to_double(price);
        double cost_bps = (side ? ref - fill : fill - ref) / ref * 10000;
        if (cost_bps < 2 - half_tick_bps - 1e-9 || cost_bps > 2 + half_tick_bps + 1e-9)
            fail_msg("%s at %.2f: paid %.4f bps, configured 2 bps (+/- %.4f, half a tick)",
                     side ? "sell" : "buy", ref, cost_bps, half_tick_bps);
    }
    env_free(e);
}

static void test_spread_and_slippage_cost_what_is_configured_within_half_a_tick(void **state)
{
    (void)state;
    check_cost(CENTS(300)); /* $3: 2 bps is 0.06 cents; a whole cent would be 33 bps */
    check_cost(CENTS(317));
    check_cost(CENTS(30000)); /* $300: 2 bps is 6 cents */
    check_cost(CENTS(30037));
}

static void test_fees_cost_what_is_configured_within_half_a_cent(void **state)
{
    (void)state;
    paper_config cfg = fill_config(PAPER_FILL_CLOSE, 0, 0);
    cfg.fee_bps = MONEY(3);
    env *e = env_new(&cfg, NULL);
    feed(e, "X", CENTS(317), CENTS(317), CENTS(317), CENTS(317));
    order_request r = req("f", "X", SIDE_BUY, ORDER_MARKET, MONEY(1000));
    submit(e, &r);
    /* 3 bps of 3170.00 = 0.951 */
    money_t fee = e->r.fills[0].fee;
    assert_true(fee >= CENTS(95) - CENTS(1) / 2 && fee <= CENTS(95) + CENTS(1) / 2);
    assert_int_equal(fee, CENTS(95));
    env_free(e);
}

/* ---- sizing with costs -------------------------------------------------------------------- */

/* max_position_pct = 1 on an account whose cash is just above what the raw price allows:
 * sized at the raw price the broker refuses the order; sized with its costs, the broker
 * takes it and the account stays funded. */
static void test_sizing_with_costs_is_never_refused_for_buying_power(void **state)
{
    (void)state;
    paper_config cfg = fill_config(PAPER_FILL_NEXT_OPEN, 2, 1);
    cfg.fee_per_share = CENTS(1) / 2;
    cfg.fee_min = MONEY(1);
    money_t px = CENTS(30037);
    cfg.starting_cash = 33 * px + CENTS(50); /* 33 shares at the raw price, and 0.50 */
    env *e = env_new(&cfg, NULL);
    feed(e, "X", px, px, px, px);
    broker_account a = account(e);

    risk_config rc = {.max_risk_pct = MONEY(1), .max_position_pct = MONEY(1)};
    risk_input in = {.capital = a.equity,
                     .buying_power = a.buying_power,
                     .equity = a.equity,
                     .entry = px,
                     .stop = px / 2,
                     .rules = MONEY_INSTRUMENT_DEFAULT};
    risk_decision raw, costed;
    char err[256];
    assert_int_equal(risk_size(&rc, &in, &raw, err, sizeof err), 0);
    assert_int_equal(raw.qty, MONEY(33));
    risk_costs costs = {e->b, "X", SIDE_BUY, ORDER_MARKET};
    in.costs = &costs;
    assert_int_equal(risk_size(&rc, &in, &costed, err, sizeof err), 0);

    /* What a share costs, from the rule: 2 bps above, to the tick, plus 0.005 a share with
     * a 1.00 minimum. The largest quantity that fits the cash: */
    money_t unit = expect_price(px, SIDE_BUY, 2, CENTS(1));
    money_t want = 0;
    for (money_t q = 1; q <= 40; q++) {
        money_t fee = q * CENTS(1) / 2 > MONEY(1) ? q * CENTS(1) / 2 : MONEY(1);
        fee = (fee + CENTS(1) / 2) / CENTS(1) * CENTS(1);
        if (q * unit + fee <= a.buying_power)
            want = q;
    }
    assert_int_equal(costed.qty, want * MONEY_SCALE);
    assert_true(costed.qty < raw.qty);

    order_request r = req("raw", "X", SIDE_BUY, ORDER_MARKET, raw.qty);
    submit(e, &r);
    assert_int_equal(e->r.status, APEX_EREJECTED);
    assert_non_null(strstr(e->r.error, "buying power"));
    r = req("costed", "X", SIDE_BUY, ORDER_MARKET, costed.qty);
    submit(e, &r);
    assert_int_equal(e->r.status, 0);
    feed(e, "X", px, px, px, px); /* fills at this open */
    assert_true(account(e).cash >= 0);
    env_free(e);
}

/* ---- persistence -------------------------------------------------------------------------- */

static void temp_path(char *buf, size_t n)
{
    const char *dir = getenv("TMPDIR");
    snprintf(buf, n, "%s/apex_paper_XXXXXX", dir && dir[0] ? dir : "/tmp");
    int fd = mkstemp(buf);
    assert_true(fd >= 0);
    close(fd);
    unlink(buf); /* paper_broker_new creates it */
}

static void remove_db(const char *path)
{
    char aux[600];
    unlink(path);
    snprintf(aux, sizeof aux, "%s-wal", path);
    unlink(aux);
    snprintf(aux, sizeof aux, "%s-shm", path);
    unlink(aux);
}

typedef struct {
    int status, n;
    broker_fill fills[4];
} fills_reply;

static void on_fills(void *ud, const broker_reply *rep)
{
    fills_reply *f = ud;
    f->status = rep->status;
    f->n = rep->nfills;
    for (int i = 0; i < rep->nfills && i < 4; i++)
        f->fills[i] = rep->fills[i];
}

/* A restarted host recovers fills it missed: list_fills returns an order's fills, also
 * after the account was reopened from its file. */
static void test_list_fills_survives_reopen(void **state)
{
    (void)state;
    char path[512];
    temp_path(path, sizeof path);
    paper_config cfg = test_config();
    cfg.spread_bps = 0;
    cfg.slippage_bps = 0;
    env *e = env_new(&cfg, path);
    feed(e, "AAPL", MONEY(100), MONEY(100), MONEY(100), MONEY(100));
    order_request r = req("lf1", "AAPL", SIDE_BUY, ORDER_MARKET, MONEY(7));
    submit(e, &r);
    apex_time now = e->now;
    env_free(e);

    e = env_new(&cfg, path);
    clock_advance_to(e->clock, now);
    fills_reply got = {.status = 99};
    assert_int_equal(broker_list_fills(e->b, BROKER_PRIORITY_ROUTINE, "lf1", on_fills, &got), 0);
    assert_int_equal(got.status, 99); /* never inside the call */
    clock_run_due(e->clock);
    assert_int_equal(got.status, 0);
    assert_int_equal(got.n, 1);
    assert_string_equal(got.fills[0].client_order_id, "lf1");
    assert_int_equal(got.fills[0].qty, MONEY(7));
    assert_int_equal(got.fills[0].price, MONEY(100));
    fills_reply none = {.status = 99};
    assert_int_equal(
        broker_list_fills(e->b, BROKER_PRIORITY_ROUTINE, "never-sent", on_fills, &none), 0);
    clock_run_due(e->clock);
    assert_int_equal(none.status, APEX_ENOTFOUND);
    env_free(e);
}

static void test_account_survives_a_restart(void **state)
{
    (void)state;
    char path[512];
    temp_path(path, sizeof path);
    paper_config cfg = test_config();
    cfg.spread_bps = 0;
    cfg.slippage_bps = 0;
    cfg.fee_per_share = CENTS(1);
    env *e = env_new(&cfg, path);
    feed(e, "AAPL", MONEY(100), MONEY(100), MONEY(100), MONEY(100));
    order_request r = req("p1", "AAPL", SIDE_BUY, ORDER_MARKET, MONEY(10));
    submit(e, &r);
    r = req("p2", "AAPL", SIDE_BUY, ORDER_LIMIT, MONEY(5));
    r.limit_price = MONEY(95);
    r.take_profit = MONEY(110);
    r.stop_loss = MONEY(90);
    submit(e, &r);
    broker_account before = account(e);
    assert_int_equal(before.cash, MONEY(100000 - 1000) - CENTS(10));
    apex_time now = e->now;
    env_free(e);

    cfg.starting_cash = MONEY(5); /* applies only to a new account */
    e = env_new(&cfg, path);
    e->now = now;
    clock_advance_to(e->clock, now);
    broker_account after = account(e);
    assert_int_equal(after.cash, before.cash);
    assert_int_equal(after.equity, before.equity);
    broker_position p = position(e, "AAPL");
    assert_int_equal(p.qty, MONEY(10));
    assert_int_equal(p.avg_entry_price, MONEY(100));
    assert_int_equal(p.market_price, MONEY(100));
    assert_int_equal(open_orders(e, "AAPL"), 3);
    assert_int_equal(get_order(e, "p1").status, ORDER_STATUS_FILLED);
    assert_int_equal(get_order(e, "p2-sl").status, ORDER_STATUS_HELD);

    r = req("p1", "AAPL", SIDE_BUY, ORDER_MARKET, MONEY(1));
    submit(e, &r);
    assert_int_equal(e->r.status, APEX_EDUP);

    /* The restored orders keep working: the entry fills, then its stop. */
    reset(e);
    feed(e, "AAPL", MONEY(96), MONEY(96), MONEY(95), MONEY(95));
    assert_int_equal(e->r.nfills, 1);
    assert_string_equal(e->r.fills[0].fill_id, "paper-2-1");
    feed(e, "AAPL", MONEY(92), MONEY(92), MONEY(89), MONEY(89));
    assert_int_equal(get_order(e, "p2-sl").status, ORDER_STATUS_FILLED);
    assert_int_equal(get_order(e, "p2-tp").status, ORDER_STATUS_CANCELLED);
    assert_int_equal(position(e, "AAPL").qty, MONEY(10));
    broker_account end = account(e);
    env_free(e);

    /* Reopened once more: fills and statuses from the second session are there too. */
    e = env_new(&cfg, path);
    clock_advance_to(e->clock, now + APEX_HOUR);
    broker_account again = account(e);
    assert_int_equal(again.cash, end.cash);
    assert_int_equal(again.realized_pnl_today, end.realized_pnl_today);
    /* Average cost (1000 + 475) / 15 = 98.33333333; 5 sold at 90 realize -41.66666665,
     * and the day's three fills paid 0.10 + 0.05 + 0.05 in fees. Exact to the unit. */
    assert_int_equal(again.realized_pnl_today, -(money_t)4166666665 - CENTS(20));
    assert_int_equal(open_orders(e, NULL), 0);
    env_free(e);
    remove_db(path);
}

/* A child process trades and is killed with SIGKILL, never closing anything; the
 * restarted account must hold everything the child was told had happened. */
static void test_account_survives_sigkill(void **state)
{
    (void)state;
    char path[512];
    temp_path(path, sizeof path);
    paper_config cfg = test_config();
    cfg.spread_bps = 0;
    cfg.slippage_bps = 0;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        apex_clock *c = clock_new_simulated(T0);
        broker *b = paper_broker_new(&cfg, path, c, NULL, 0);
        if (!b)
            _exit(2);
        bar first = {
            .ts = T0, .open = MONEY(50), .high = MONEY(50), .low = MONEY(50), .close = MONEY(50)};
        paper_broker_on_bar(b, &first, "XYZ");
        order_request r = req("k1", "XYZ", SIDE_BUY, ORDER_MARKET, MONEY(40));
        broker_submit_order(b, BROKER_PRIORITY_ROUTINE, &r, NULL, NULL);
        clock_run_due(c); /* fills */
        r = req("k2", "XYZ", SIDE_SELL, ORDER_LIMIT, MONEY(40));
        r.limit_price = MONEY(60);
        broker_submit_order(b, BROKER_PRIORITY_ROUTINE, &r, NULL, NULL);
        kill(getpid(), SIGKILL);
        _exit(3);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

    env *e = env_new(&cfg, path);
    broker_position p = position(e, "XYZ");
    assert_int_equal(p.qty, MONEY(40));
    assert_int_equal(p.avg_entry_price, MONEY(50));
    assert_int_equal(account(e).cash, MONEY(100000 - 2000));
    assert_int_equal(get_order(e, "k1").status, ORDER_STATUS_FILLED);
    broker_order k2 = get_order(e, "k2");
    assert_int_equal(k2.status, ORDER_STATUS_ACCEPTED);
    assert_int_equal(k2.limit_price, MONEY(60));
    env_free(e);
    remove_db(path);
}

static void test_bad_state_path_fails_with_message(void **state)
{
    (void)state;
    paper_config cfg = test_config();
    apex_clock *c = clock_new_simulated(T0);
    char err[256] = "";
    broker *b = paper_broker_new(&cfg, "/nonexistent-dir/x/paper.db", c, err, sizeof err);
    assert_null(b);
    assert_non_null(strstr(err, "/nonexistent-dir/x/paper.db"));
    cfg.fee_bps = -1;
    b = paper_broker_new(&cfg, ":memory:", c, err, sizeof err);
    assert_null(b);
    assert_non_null(strstr(err, "fee_bps"));
    clock_free(c);
}

int main(void)
{
    log_set_level(LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_market_buy_fills_at_last_plus_half_spread_and_slippage),
        cmocka_unit_test(test_market_uses_bar_bid_ask_when_present),
        cmocka_unit_test(test_limit_fills_at_limit_or_better_open),
        cmocka_unit_test(test_stop_triggers_and_gap_fills_at_open),
        cmocka_unit_test(test_stop_limit_becomes_limit_when_triggered),
        cmocka_unit_test(test_bracket_legs_held_until_entry_fills_then_take_profit_cancels_stop),
        cmocka_unit_test(test_bracket_stop_loss_cancels_take_profit),
        cmocka_unit_test(test_bracket_both_legs_in_one_bar_stop_wins),
        cmocka_unit_test(test_cancelling_the_entry_cancels_its_legs),
        cmocka_unit_test(test_duplicate_client_order_id_rejected),
        cmocka_unit_test(test_bad_lot_tick_and_bracket_sides_rejected_with_reasons),
        cmocka_unit_test(test_buying_power_rejects_opening_but_allows_closing),
        cmocka_unit_test(test_short_then_cover_and_flip_pnl),
        cmocka_unit_test(test_close_position_cancels_legs_and_flattens),
        cmocka_unit_test(test_replies_never_delivered_inside_the_call),
        cmocka_unit_test(test_quotes_and_position_of_flat_symbol),
        cmocka_unit_test(test_old_bars_are_ignored),
        cmocka_unit_test(test_day_trades_counted_in_rolling_window),
        cmocka_unit_test(test_fees_per_share_and_bps_rounded_to_the_nearest_cent),
        cmocka_unit_test(test_market_order_fills_before_the_next_bar),
        cmocka_unit_test(test_next_open_market_entry_and_exit_fill_at_the_next_open),
        cmocka_unit_test(test_close_model_fills_at_the_signal_bar_close),
        cmocka_unit_test(test_cancel_of_a_waiting_market_order_is_answered_after_its_fill),
        cmocka_unit_test(test_limits_and_stops_fill_in_a_later_bar_range_or_at_a_gap_open),
        cmocka_unit_test(test_bracket_filled_at_the_open_guards_the_same_bar),
        cmocka_unit_test(test_spread_and_slippage_cost_what_is_configured_within_half_a_tick),
        cmocka_unit_test(test_fees_cost_what_is_configured_within_half_a_cent),
        cmocka_unit_test(test_sizing_with_costs_is_never_refused_for_buying_power),
        cmocka_unit_test(test_account_survives_a_restart),
        cmocka_unit_test(test_list_fills_survives_reopen),
        cmocka_unit_test(test_account_survives_sigkill),
        cmocka_unit_test(test_bad_state_path_fails_with_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
