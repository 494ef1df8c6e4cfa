/* A strategy closes its own trade (issue 9): on_bar returns { side = "close", ... } and the
 * exit engine carries it out as strategy_exit. Whole pipelines on bars written here, on
 * the simulated clock; every expectation is computed here from the bars and the paper
 * broker's configured spread and slippage, then compared with the store (fills,
 * positions, position_exits, exit_attempts, executions, orders). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "engine_fixture.h"
#include "money/money.h"

#define T0       1709562600L /* Mon 2024-03-04 14:30 UTC */
#define SPREAD   10          /* broker.spread_bps */
#define SLIPPAGE 5           /* broker.slippage_bps */
#define UNIT     100000000LL /* fixed point: 1.0 */
#define TICK     1000000LL   /* 0.01 */

static int setup(void **state)
{
    (void)state;
    fx_make_dir("test-strategy-exit");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fx_remove_dir();
    return 0;
}

/* ---- what the paper broker should charge, restated independently ---- */

/* A market order's fill price for a reference price, in fixed point. The bars carry no
 * quote, so the taker pays half of broker.spread_bps plus broker.slippage_bps of the
 * reference.
 *
 * ASSUMPTIONS, explicit, and the one place to change when the paper broker's fill model
 * changes:
 *  - the reference is the close of the bar whose on_bar sent the order (the paper broker
 *    fills market orders at the last bar it saw). Every bar written here opens at the
 *    previous bar's close, so the expectation stays the same if market orders fill at the
 *    next bar's open instead;
 *  - the costs: half the spread and the slippage are added in one exact step (to 1e-8,
 *    half to even) and the price is rounded to the NEAREST tick, half to even:
 *    nearest_tick(ref +- ref * (SPREAD + 2 * SLIPPAGE) / 20000); the quoted ask is
 *    nearest_tick(ref + ref * SPREAD / 20000). */
/* x / d rounded to the nearest integer, half to even (x >= 0, d > 0). */
static long long div_nearest_even(long long x, long long d)
{
    long long q = x / d, r = x % d;
    if (2 * r > d || (2 * r == d && (q & 1)))
        q++;
    return q;
}

static long long nearest_tick(long long px)
{
    return div_nearest_even(px, TICK) * TICK;
}

static long long market_fill(long long ref, bool buy)
{
    long long cost = div_nearest_even(ref * (SPREAD + 2 * SLIPPAGE), 20000);
    return nearest_tick(buy ? ref + cost : ref - cost);
}

/* A LOW exit's first sell limit: conservative, at the ask (the reference plus half the
 * spread, as the paper broker quotes a bar without bid and ask, to the nearest tick). */
static long long ask_limit(long long ref)
{
    return nearest_tick(ref + div_nearest_even(ref * SPREAD, 20000));
}

/* ---- bars ---- */

#define MAXBARS 200
static long long closes[MAXBARS]; /* fixed point */
static double wicks[MAXBARS];     /* how far above the body the bar's high reaches */
static int nbars;

/* Writes closes[0..nbars) as one-minute AAPL bars; bar i opens at bar i-1's close, its
 * high is wicks[i] above the body (0.05 unless a test says otherwise), its low 0.05
 * below. */
static void write_bars(void)
{
    fx_csv c;
    fx_csv_open(&c, "bars.csv");
    for (int i = 0; i < nbars; i++) {
        double cl = (double)closes[i] / UNIT;
        double op = (double)closes[i > 0 ? i - 1 : 0] / UNIT;
        double wick = wicks[i] > 0 ? wicks[i] : 0.05;
        fx_csv_bar(&c, T0 + 60L * i, "AAPL", op, fmax(op, cl) + wick, fmin(op, cl) - 0.05, cl,
                   1000);
    }
    fx_csv_close(&c);
}

/* Flat at 100, up `step` per bar from bar `from` to `top`, then flat. */
static void ramp(int n, int from, long long step, long long top)
{
    nbars = n;
    memset(wicks, 0, sizeof wicks);
    for (int i = 0; i < n; i++) {
        long long v = 100 * UNIT + (i > from ? step * (i - from) : 0);
        closes[i] = v > top ? top : v;
    }
}

static void pipeline(const char *file, const char *name, const char *strategy, const char *params,
                     const char *extra)
{
    char text[4096];
    snprintf(text, sizeof text,
             "return apex.pipeline {\n"
             "  name = '%s', symbols = { 'AAPL' },\n"
             "  data = { files = { 'bars.csv' } },\n"
             "  strategy = { file = '%s', params = { %s } },\n"
             "  broker = { starting_cash = 100000, spread_bps = %d, slippage_bps = %d },\n"
             "  risk = { max_position_pct = 1, max_risk_pct = 1 },\n"
             "  monitoring = { max_api_calls_per_minute = 10000 },\n"
             "  exits = { partial_exits = { enabled = false }, trailing_stop = { enabled = false "
             "},\n"
             "            liquidity = { max_spread = 1 }, %s },\n"
             "}\n",
             name, strategy, params ? params : "", SPREAD, SLIPPAGE, extra ? extra : "");
    fx_write(file, text);
}

/* Writes the pipeline <name>.lua (see pipeline()), backtests it into <name>.db and opens
 * the store. */
static sqlite3 *backtest(const char *name, const char *strategy_file, const char *params,
                         const char *extra)
{
    char file[64], db[64];
    snprintf(file, sizeof file, "%s.lua", name);
    snprintf(db, sizeof db, "%s.db", name);
    pipeline(file, name, strategy_file, params, extra);
    assert_int_equal(fx_backtest(file, db), EXIT_OK);
    return fx_open_db(db);
}

/* A strategy that enters with the signal `entry` on its 5th bar and otherwise returns what
 * `body` says for bar n (Lua statements; n is the bar number, from 1); its edge() is gone
 * from bar 8 on when params.edge_gone is set. strategy(): a buy of 100, stop 90, target
 * 200. */
static void strategy_entering(const char *file, const char *entry, const char *body)
{
    char text[2048];
    snprintf(text, sizeof text,
             "local M = {}\n"
             "function M.on_bar(ctx, bar)\n"
             "  ctx.state.n = (ctx.state.n or 0) + 1\n"
             "  local n = ctx.state.n\n"
             "  if n == 5 then\n"
             "    return { %s }\n"
             "  end\n"
             "%s\n"
             "end\n"
             "-- from the 8th bar on, the edge is gone: a LOW edge_disappeared exit\n"
             "function M.edge(ctx, position)\n"
             "  return (ctx.params.edge_gone and ctx.state.n >= 8) and -1 or 1\n"
             "end\n"
             "return M\n",
             entry, body);
    fx_write(file, text);
}

static void strategy(const char *file, const char *body)
{
    strategy_entering(file, "side = 'buy', qty = 100, stop_loss = 90, take_profit = 200", body);
}

static long long q_int(sqlite3 *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static long long q_int(sqlite3 *h, const char *fmt, ...)
{
    char sql[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    return fx_query_int(h, sql);
}

/* qty * (sell - buy) in fixed point, for whole-share quantities. */
static long long pnl(long long shares, long long buy, long long sell)
{
    return shares * (sell - buy);
}

/* ---- tests ---- */

/* Sums of the last n closes ending at bar i (fixed point, exact). */
static long long sum_last(int i, int n)
{
    long long s = 0;
    for (int k = i - n + 1; k <= i; k++)
        s += closes[k];
    return s;
}

/* fast(10) - slow(30), times 30, exactly: 3 * sum10 - sum30. */
static long long gap(int i)
{
    return 3 * sum_last(i, 10) - sum_last(i, 30);
}

/* strategies/ma_cross_exit.lua: enter on SMA(10) crossing above SMA(30), close the whole
 * position at market (CRITICAL, the default) on the bar it crosses back. */
static void test_ma_cross_exit_closes_on_cross_back(void **state)
{
    (void)state;
    /* 40 bars at 100, up 0.25 a bar to 105, down 0.25 a bar to 97.50, then flat. */
    nbars = 100;
    for (int i = 0; i < nbars; i++) {
        long long up = i <= 40 ? 0 : (i <= 60 ? i - 40 : 20 - (i - 60));
        if (up < -10)
            up = -10;
        closes[i] = 100 * UNIT + up * (UNIT / 4);
    }
    write_bars();
    /* Where the averages cross, from the closes (the SMAs exist from bar 29 on). */
    int entry = -1, exit = -1;
    for (int i = 30; i < nbars; i++) {
        if (entry < 0 && gap(i - 1) <= 0 && gap(i) > 0)
            entry = i;
        else if (entry >= 0 && exit < 0 && gap(i - 1) >= 0 && gap(i) < 0)
            exit = i;
    }
    assert_true(entry > 0 && exit > entry);
    /* No exact tie around the cross back, where floating-point averages might disagree. */
    assert_true(gap(exit - 1) != 0 && gap(exit) != 0);

    char params[1024];
    snprintf(params, sizeof params, "qty = 100");
    char strat[768];
    snprintf(strat, sizeof strat, "%s/strategies/ma_cross_exit.lua", APEX_SOURCE_DIR);
    sqlite3 *h = backtest("ma", strat, params, NULL);

    long long buy = market_fill(closes[entry], true);
    long long sell = market_fill(closes[exit], false);
    char buf[512];
    /* One exit, the strategy's, with its text, at CRITICAL, worked as one market order. */
    assert_int_equal(q_int(h, "SELECT count(*) FROM position_exits"), 1);
    fx_query_text(h,
                  "SELECT exit_reason || '|' || exit_priority || '|' || status || '|' || "
                  "execution_strategy || '|' || partial_exit FROM position_exits",
                  buf, sizeof buf);
    assert_string_equal(buf, "strategy_exit|CRITICAL|filled|market|0");
    fx_query_text(h, "SELECT detail FROM position_exits", buf, sizeof buf);
    assert_true(strncmp(buf, "strategy_exit: averages crossed back: SMA10 ", 44) == 0);
    assert_non_null(strstr(buf, " below SMA30 "));
    assert_int_equal(q_int(h, "SELECT triggered_at FROM position_exits"),
                     (T0 + 60LL * exit) * 1000000LL);
    assert_int_equal(q_int(h, "SELECT exit_quantity FROM position_exits"), 100 * UNIT);
    assert_int_equal(q_int(h, "SELECT filled_quantity FROM position_exits"), 100 * UNIT);
    assert_int_equal(q_int(h, "SELECT exit_price FROM position_exits"), sell);
    fx_query_text(h, "SELECT group_concat(order_type || ' ' || status) FROM exit_attempts", buf,
                  sizeof buf);
    assert_string_equal(buf, "market filled");
    /* The fills: bought 100 at the entry bar's price, sold 100 at the cross back's. */
    assert_int_equal(q_int(h, "SELECT price FROM fills WHERE side = 'buy'"), buy);
    assert_int_equal(q_int(h, "SELECT price FROM fills WHERE side = 'sell'"), sell);
    assert_int_equal(q_int(h, "SELECT sum(CASE side WHEN 'buy' THEN qty ELSE -qty END) FROM fills"),
                     0);
    /* The position is closed, the execution complete with the strategy's reason. */
    fx_query_text(h, "SELECT status || ' ' || quantity FROM positions", buf, sizeof buf);
    assert_string_equal(buf, "closed 0");
    fx_query_text(h, "SELECT status || ': ' || reason FROM executions", buf, sizeof buf);
    assert_true(strncmp(buf, "completed: strategy_exit: averages crossed back", 47) == 0);
    assert_int_equal(q_int(h, "SELECT realized_pnl FROM executions"), pnl(100, buy, sell));
    assert_int_equal(q_int(h, "SELECT realized_pnl FROM positions"), pnl(100, buy, sell));
    /* The bracket legs were cancelled before the close: nothing else filled. */
    assert_int_equal(q_int(h, "SELECT count(*) FROM fills"), 2);
    sqlite3_close(h);
}

/* A fraction, then a quantity: each spends only its share; what is left keeps a
 * protective stop for exactly the remaining quantity. */
static void test_partial_closes_keep_the_rest_protected(void **state)
{
    (void)state;
    ramp(30, 5, UNIT / 2, 106 * UNIT); /* bar n is index n-1 */
    write_bars();
    strategy("partial_strategy.lua",
             "  if n == 10 then return { side = 'close', fraction = 0.5, reason = 'half off' } "
             "end\n"
             "  if n == 15 then return { side = 'close', qty = 20, reason = 'trim' } end");
    sqlite3 *h = backtest("partial", "partial_strategy.lua", NULL, NULL);

    long long buy = market_fill(closes[4], true);
    long long sell1 = market_fill(closes[9], false);
    long long sell2 = market_fill(closes[14], false);
    char buf[512];
    fx_query_text(h,
                  "SELECT group_concat(exit_reason || ' ' || exit_priority || ' ' || status || ' "
                  "' || partial_exit || ' ' || detail, '; ') FROM (SELECT * FROM position_exits "
                  "ORDER BY exit_id)",
                  buf, sizeof buf);
    assert_string_equal(buf, "strategy_exit CRITICAL filled 1 strategy_exit: half off (closing 50 "
                             "of 100); strategy_exit CRITICAL filled 1 strategy_exit: trim "
                             "(closing 20 of 50)");
    assert_int_equal(q_int(h, "SELECT exit_quantity FROM position_exits ORDER BY exit_id LIMIT 1"),
                     50 * UNIT);
    assert_int_equal(q_int(h, "SELECT exit_price FROM position_exits ORDER BY exit_id LIMIT 1"),
                     sell1);
    assert_int_equal(
        q_int(h, "SELECT exit_quantity FROM position_exits ORDER BY exit_id LIMIT 1 OFFSET 1"),
        20 * UNIT);
    assert_int_equal(
        q_int(h, "SELECT exit_price FROM position_exits ORDER BY exit_id LIMIT 1 OFFSET 1"), sell2);
    /* The ledger: 100 bought, 50 + 20 sold, 30 open, in the fills and the position. */
    assert_int_equal(q_int(h, "SELECT sum(CASE side WHEN 'buy' THEN qty ELSE -qty END) FROM fills"),
                     30 * UNIT);
    fx_query_text(h,
                  "SELECT group_concat(side || ' ' || (qty / 100000000) || ' ' || price) FROM "
                  "(SELECT * FROM fills ORDER BY id)",
                  buf, sizeof buf);
    char want[256];
    snprintf(want, sizeof want, "buy 100 %lld,sell 50 %lld,sell 20 %lld", buy, sell1, sell2);
    assert_string_equal(buf, want);
    fx_query_text(h, "SELECT status || ' ' || (quantity / 100000000) FROM positions", buf,
                  sizeof buf);
    assert_string_equal(buf, "open 30");
    long long realized = pnl(50, buy, sell1) + pnl(20, buy, sell2);
    assert_int_equal(q_int(h, "SELECT realized_pnl FROM executions"), realized);
    assert_int_equal(q_int(h, "SELECT realized_pnl FROM positions"), realized);
    fx_query_text(h, "SELECT status FROM executions", buf, sizeof buf);
    assert_string_equal(buf, "monitoring");
    /* Protection: one working stop, for the 30 left, at the execution's stop (90). */
    fx_query_text(h,
                  "SELECT group_concat(type || ' ' || (qty / 100000000) || ' @ ' || (stop_price "
                  "/ 100000000)) FROM orders WHERE role = 'stop_loss' AND status IN ('new', "
                  "'accepted', 'held')",
                  buf, sizeof buf);
    assert_string_equal(buf, "stop 30 @ 90");
    sqlite3_close(h);
}

/* A close without a position changes nothing; returning it on every bar of the position
 * closes it once. */
static void test_close_without_position_and_repeated_closes(void **state)
{
    (void)state;
    ramp(30, 5, UNIT / 4, 103 * UNIT);
    write_bars();
    strategy("repeat_strategy.lua",
             "  if n < 5 or n >= 12 then return { side = 'close', reason = 'out' } end");
    sqlite3 *h = backtest("repeat", "repeat_strategy.lua", NULL, NULL);
    char buf[512];
    /* One execution (the closes before the entry created nothing), closed once. */
    fx_query_text(h, "SELECT group_concat(status) FROM executions", buf, sizeof buf);
    assert_string_equal(buf, "completed");
    assert_int_equal(q_int(h, "SELECT count(*) FROM position_exits"), 1);
    fx_query_text(h, "SELECT exit_reason || ' ' || status || ' ' || detail FROM position_exits",
                  buf, sizeof buf);
    assert_string_equal(buf, "strategy_exit filled strategy_exit: out");
    long long buy = market_fill(closes[4], true);
    long long sell = market_fill(closes[11], false);
    assert_int_equal(q_int(h, "SELECT sum(CASE side WHEN 'buy' THEN qty ELSE -qty END) FROM fills"),
                     0);
    assert_int_equal(q_int(h, "SELECT count(*) FROM fills WHERE side = 'sell'"), 1);
    assert_int_equal(q_int(h, "SELECT realized_pnl FROM executions"), pnl(100, buy, sell));
    sqlite3_close(h);
}

/* Malformed closes fail the strategy stage with the file, the line and the field; the
 * position is untouched and stays monitored. */
static void test_bad_closes_fail_the_stage_only(void **state)
{
    (void)state;
    ramp(20, 5, 0, 100 * UNIT);
    write_bars();
    strategy("bad_strategy.lua",
             "  if n == 8 then return { side = 'close', qty = -1 } end\n"
             "  if n == 9 then return { side = 'close', qty = 150 } end\n"
             "  if n == 10 then return { side = 'close', fraction = 0.001 } end\n"
             "  if n == 11 then return { side = 'close', stop_loss = 95 } end");
    sqlite3 *h = backtest("bad", "bad_strategy.lua", NULL, NULL);
    char buf[1024];
    assert_int_equal(q_int(h, "SELECT count(*) FROM executions WHERE status = 'failed'"), 4);
    static const char *const expect[] = {
        "strategy stage: %s/bad_strategy.lua:2: on_bar returned qty = -1; return a positive "
        "number",
        "strategy stage: %s/bad_strategy.lua:2: on_bar returned a close with qty = 150, more "
        "than the open position's 100; return at most ctx.position.qty, or leave qty out to "
        "close it all",
        "strategy stage: %s/bad_strategy.lua: on_bar returned a close: fraction = 0.001 of the "
        "open 100 rounds down to 0 lots (lot size 1); close at least one lot, or leave fraction "
        "out to close it all",
        "strategy stage: %s/bad_strategy.lua:2: on_bar returned a close with an unknown field "
        "\"stop_loss\" (a string); a close takes side = \"close\", qty or fraction, and reason",
    };
    for (int i = 0; i < 4; i++) {
        char sql[256], want[1024];
        snprintf(sql, sizeof sql,
                 "SELECT reason FROM executions WHERE status = 'failed' ORDER BY id LIMIT 1 "
                 "OFFSET %d",
                 i);
        fx_query_text(h, sql, buf, sizeof buf);
        snprintf(want, sizeof want, expect[i], fx_dir());
        assert_string_equal(buf, want);
    }
    assert_int_equal(q_int(h, "SELECT count(*) FROM position_exits"), 0);
    fx_query_text(h, "SELECT status || ' ' || (quantity / 100000000) FROM positions", buf,
                  sizeof buf);
    assert_string_equal(buf, "open 100");
    assert_int_equal(q_int(h, "SELECT count(*) FROM executions WHERE status = 'monitoring'"), 1);
    sqlite3_close(h);
}

/* exits.strategy_exit_priority decides how the close is worked: LOW = a conservative limit
 * (at the ask: the close plus half the spread, rounded down for a sell). */
static void test_priority_is_configured(void **state)
{
    (void)state;
    ramp(20, 5, 0, 100 * UNIT);
    write_bars();
    strategy("low_strategy.lua", "  if n == 10 then return { side = 'close' } end");
    sqlite3 *h = backtest("low", "low_strategy.lua", NULL, "strategy_exit_priority = 'LOW'");
    char buf[512];
    fx_query_text(h, "SELECT exit_reason || ' ' || exit_priority FROM position_exits", buf,
                  sizeof buf);
    assert_string_equal(buf, "strategy_exit LOW");
    fx_query_text(h, "SELECT order_type FROM exit_attempts ORDER BY attempt_id LIMIT 1", buf,
                  sizeof buf);
    assert_string_equal(buf, "limit");
    assert_int_equal(q_int(h, "SELECT limit_price FROM exit_attempts ORDER BY attempt_id LIMIT 1"),
                     ask_limit(closes[9]));
    sqlite3_close(h);
}

/* A sell short closed by the strategy: the close buys, at the market. */
static void test_short_is_closed_by_buying(void **state)
{
    (void)state;
    ramp(20, 5, -UNIT / 4, 100 * UNIT);
    write_bars();
    strategy_entering("short_strategy.lua",
                      "side = 'sell', qty = 100, stop_loss = 120, take_profit = 50",
                      "  if n == 12 then return { side = 'close', reason = 'covered' } end");
    sqlite3 *h = backtest("short", "short_strategy.lua", NULL, NULL);
    long long sell = market_fill(closes[4], false);
    long long cover = market_fill(closes[11], true);
    char buf[512];
    fx_query_text(h, "SELECT exit_reason || ' ' || status || ' ' || detail FROM position_exits",
                  buf, sizeof buf);
    assert_string_equal(buf, "strategy_exit filled strategy_exit: covered");
    assert_int_equal(q_int(h, "SELECT price FROM fills WHERE side = 'buy'"), cover);
    assert_int_equal(q_int(h, "SELECT price FROM fills WHERE side = 'sell'"), sell);
    assert_int_equal(q_int(h, "SELECT sum(CASE side WHEN 'buy' THEN qty ELSE -qty END) FROM fills"),
                     0);
    assert_int_equal(q_int(h, "SELECT realized_pnl FROM executions"), pnl(100, cover, sell));
    fx_query_text(h, "SELECT status FROM executions", buf, sizeof buf);
    assert_string_equal(buf, "completed");
    sqlite3_close(h);
}

/* The position of 100 bought at 100 (a market order) was closed by `sells` sell fills at
 * ask_limit(100): the ledger is flat, the P&L is theirs, the execution complete. */
static void assert_closed_at_the_ask(sqlite3 *h, int sells)
{
    long long buy = market_fill(100 * UNIT, true), limit = ask_limit(100 * UNIT);
    assert_int_equal(q_int(h, "SELECT sum(CASE side WHEN 'buy' THEN qty ELSE -qty END) FROM fills"),
                     0);
    assert_int_equal(
        q_int(h, "SELECT count(*) FROM fills WHERE side = 'sell' AND price = %lld", limit), sells);
    assert_int_equal(q_int(h, "SELECT count(*) FROM fills WHERE side = 'sell'"), sells);
    assert_int_equal(q_int(h, "SELECT realized_pnl FROM executions"), pnl(100, buy, limit));
    char buf[64];
    fx_query_text(h, "SELECT status FROM executions", buf, sizeof buf);
    assert_string_equal(buf, "completed");
}

/* The bars for the two tests below: flat at 100 with highs only 0.02 above it, so a LOW
 * exit's conservative limit (at the ask, 100.05) rests, until bar `reach` on, whose highs
 * reach 101 and fill it at its limit. */
static void resting_bars(int reach)
{
    ramp(40, 0, 0, 100 * UNIT);
    for (int i = 0; i < nbars; i++)
        wicks[i] = i + 1 >= reach ? 1.0 : 0.02;
    write_bars();
}

/* A LOW edge_disappeared exit rests (the edge went negative on bar 8); the strategy's
 * close of everything at CRITICAL takes over: the limit is cancelled, the close sells at
 * the market, and the edge exit is recorded as cancelled. */
static void test_more_urgent_close_takes_over(void **state)
{
    (void)state;
    resting_bars(1000);
    strategy("over_strategy.lua",
             "  if n == 11 then return { side = 'close', reason = 'enough' } end");
    sqlite3 *h = backtest("over", "over_strategy.lua", "edge_gone = true",
                          "execution = { LOW = { timeout_seconds = 600 } }");
    char buf[512];
    fx_query_text(h,
                  "SELECT group_concat(exit_reason || ' ' || exit_priority || ' ' || status, "
                  "'; ') FROM (SELECT * FROM position_exits ORDER BY exit_id)",
                  buf, sizeof buf);
    assert_string_equal(buf, "edge_disappeared LOW cancelled; strategy_exit CRITICAL filled");
    fx_query_text(h,
                  "SELECT group_concat(order_type || ' ' || status, '; ') FROM (SELECT * FROM "
                  "exit_attempts ORDER BY attempt_id)",
                  buf, sizeof buf);
    assert_string_equal(buf, "limit cancelled; market filled");
    assert_int_equal(q_int(h, "SELECT count(*) FROM events WHERE message LIKE '%%strategy_exit: "
                              "enough (CRITICAL) supersedes the working edge_disappeared exit%%'"),
                     1);
    long long buy = market_fill(closes[4], true);
    long long sell = market_fill(closes[10], false);
    assert_int_equal(q_int(h, "SELECT price FROM fills WHERE side = 'sell'"), sell);
    assert_int_equal(q_int(h, "SELECT sum(CASE side WHEN 'buy' THEN qty ELSE -qty END) FROM fills"),
                     0);
    assert_int_equal(q_int(h, "SELECT realized_pnl FROM executions"), pnl(100, buy, sell));
    sqlite3_close(h);
}

/* At LOW, a close meets a LOW exit of its own at work (half the position, resting): it is
 * not more urgent, so it waits. Once the half fills (bar 14 reaches the limit), the close
 * that waited starts and sells the other half: two exits, never both at once. */
static void test_close_waits_for_the_working_exit(void **state)
{
    (void)state;
    resting_bars(14);
    strategy("wait_strategy.lua",
             "  if n == 8 then return { side = 'close', fraction = 0.5, reason = 'half' } end\n"
             "  if n == 10 then return { side = 'close', reason = 'rest' } end");
    sqlite3 *h = backtest(
        "wait", "wait_strategy.lua", NULL,
        "strategy_exit_priority = 'LOW', execution = { LOW = { timeout_seconds = 3000 } }");
    char buf[512];
    fx_query_text(h,
                  "SELECT group_concat(exit_reason || ' ' || exit_priority || ' ' || status || ' "
                  "' || (exit_quantity / 100000000) || ' ' || detail, '; ') FROM (SELECT * FROM "
                  "position_exits ORDER BY exit_id)",
                  buf, sizeof buf);
    assert_string_equal(buf, "strategy_exit LOW filled 50 strategy_exit: half (closing 50 of 100); "
                             "strategy_exit LOW filled 50 strategy_exit: rest");
    /* The second started only after the first had filled, on bar 14 or later. */
    assert_true(q_int(h, "SELECT min(triggered_at) FROM position_exits WHERE detail = "
                         "'strategy_exit: rest'") >=
                q_int(h, "SELECT executed_at FROM position_exits WHERE detail LIKE "
                         "'strategy_exit: half%%'"));
    assert_true(q_int(h, "SELECT executed_at FROM position_exits WHERE detail LIKE "
                         "'strategy_exit: half%%'") >= (T0 + 60LL * 13) * 1000000LL);
    /* Both conservative limits at the ask, 100 + half the spread, filled there. */
    long long limit = ask_limit(100 * UNIT);
    fx_query_text(h,
                  "SELECT group_concat(order_type || ' ' || status || ' ' || limit_price, '; ') "
                  "FROM (SELECT * FROM exit_attempts ORDER BY attempt_id)",
                  buf, sizeof buf);
    char want[256];
    snprintf(want, sizeof want, "limit filled %lld; limit filled %lld", limit, limit);
    assert_string_equal(buf, want);
    assert_closed_at_the_ask(h, 2);
    sqlite3_close(h);
}

/* A restart interrupts the strategy's close of the whole position (a LOW limit resting at
 * the end of the first run's data): the next run starts it again at its first check, and
 * it fills once the bars reach it. */
static void test_close_interrupted_by_a_restart_starts_again(void **state)
{
    (void)state;
    ramp(12, 0, 0, 100 * UNIT);
    for (int i = 0; i < nbars; i++)
        wicks[i] = 0.02;
    write_bars();
    strategy("restart_strategy.lua",
             "  if n == 8 then return { side = 'close', reason = 'out' } end");
    pipeline("restart.lua", "restart", "restart_strategy.lua", NULL,
             "strategy_exit_priority = 'LOW', execution = { LOW = { timeout_seconds = 3000 } }");
    assert_int_equal(fx_run("restart.lua", "restart.db"), EXIT_OK);
    sqlite3 *h = fx_open_db("restart.db");
    char buf[512];
    fx_query_text(h, "SELECT exit_reason || ' ' || status FROM position_exits", buf, sizeof buf);
    assert_string_equal(buf, "strategy_exit working");
    sqlite3_close(h);

    /* The same bars and ten more, the last seven reaching the limit: the order the first
     * run left is cancelled at the restart, before any bar could fill it. */
    ramp(22, 0, 0, 100 * UNIT);
    for (int i = 0; i < nbars; i++)
        wicks[i] = i < 15 ? 0.02 : 1.0;
    write_bars();
    assert_int_equal(fx_run("restart.lua", "restart.db"), EXIT_OK);
    h = fx_open_db("restart.db");
    fx_query_text(h,
                  "SELECT group_concat(exit_reason || ' ' || status || ' ' || detail, '; ') FROM "
                  "(SELECT * FROM position_exits ORDER BY exit_id)",
                  buf, sizeof buf);
    assert_string_equal(buf, "strategy_exit cancelled strategy_exit: out; strategy_exit filled "
                             "strategy_exit: out");
    assert_true(q_int(h, "SELECT max(triggered_at) FROM position_exits") >=
                (T0 + 60LL * 12) * 1000000LL);
    assert_closed_at_the_ask(h, 1);
    sqlite3_close(h);
}

/* A priority that is not one of the four is refused when the pipeline loads, naming the
 * file, the field and the names it takes; nothing trades. */
static void test_unknown_priority_is_refused(void **state)
{
    (void)state;
    ramp(10, 5, 0, 100 * UNIT);
    write_bars();
    strategy("urgent_strategy.lua", "");
    pipeline("urgent.lua", "urgent", "urgent_strategy.lua", NULL,
             "strategy_exit_priority = 'URGENT'");
    fx_capture_begin("urgent.out");
    int code = fx_backtest("urgent.lua", "urgent.db");
    fx_capture_end();
    assert_int_equal(code, EXIT_INVALID);
    assert_int_equal(fx_count_lines("urgent.out", "urgent.lua: exits.strategy_exit_priority: "
                                                  "\"URGENT\" is not one of \"CRITICAL\", "
                                                  "\"HIGH\", \"MEDIUM\", \"LOW\""),
                     1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ma_cross_exit_closes_on_cross_back),
        cmocka_unit_test(test_partial_closes_keep_the_rest_protected),
        cmocka_unit_test(test_close_without_position_and_repeated_closes),
        cmocka_unit_test(test_bad_closes_fail_the_stage_only),
        cmocka_unit_test(test_priority_is_configured),
        cmocka_unit_test(test_short_is_closed_by_buying),
        cmocka_unit_test(test_more_urgent_close_takes_over),
        cmocka_unit_test(test_close_waits_for_the_working_exit),
        cmocka_unit_test(test_close_interrupted_by_a_restart_starts_again),
        cmocka_unit_test(test_unknown_priority_is_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
