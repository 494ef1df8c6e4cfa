/* Exit engine, end to end: whole pipelines on crafted one-minute bars, outcomes read
 * from the store (fills, position_exits, exit_attempts, positions, events). Backtests and
 * restarted runs alike go through the simulated clock (engine_fixture.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "engine_fixture.h"
#include "money/money.h"

#define T0 1709562600L /* Mon 2024-03-04 14:30 UTC */

/* Buys each symbol once, on its 5th bar, with the stop and target given in params
 * (as fractions of the close) and an optional fixed quantity. */
static const char *const buy5 =
    "local M = {}\n"
    "function M.on_bar(ctx, bar)\n"
    "  ctx.state.n = (ctx.state.n or 0) + 1\n"
    "  local p = ctx.params\n"
    "  local again = false\n"
    "  for _, at in ipairs(p.again or {}) do again = again or bar.time == at end\n"
    "  if ctx.state.n == 5 or again then\n"
    "    return { side = 'buy', stop_loss = bar.close * (p.stop or 0.5),\n"
    "             take_profit = bar.close * (p.target or 3), qty = p.qty, reason = 'test' }\n"
    "  end\n"
    "end\n"
    "return M\n";

static int setup(void **state)
{
    (void)state;
    fx_make_dir("test-exits-engine");
    fx_write("buy5.lua", buy5);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fx_remove_dir();
    return 0;
}

static void pipeline(const char *file, const char *name, const char *symbols, const char *extra)
{
    char text[4096];
    snprintf(text, sizeof text,
             "return apex.pipeline {\n"
             "  name = '%s', symbols = { %s },\n"
             "  data = { files = { 'bars.csv' } },\n"
             "  strategy = { file = 'buy5.lua', params = { %s } },\n"
             "  broker = { starting_cash = 100000, spread_bps = 0, slippage_bps = 0 },\n"
             "  risk = { max_position_pct = 1, max_risk_pct = 1 },\n"
             "  %s\n"
             "}\n",
             name, symbols, "qty = 100", extra ? extra : "");
    fx_write(file, text);
}

/* Flat at p0 for `flat` bars, then a linear move to p1 over `ramp` bars, then `hold` bars. */
static long path(fx_csv *c, long t, const char *sym, double p0, int flat, double p1, int ramp,
                 int hold)
{
    double px = p0;
    for (int i = 0; i < flat; i++, t += 60)
        fx_csv_bar(c, t, sym, px, px + 0.05, px - 0.05, px, 1000);
    for (int i = 1; i <= ramp; i++, t += 60) {
        double next = p0 + (p1 - p0) * i / ramp;
        fx_csv_bar(c, t, sym, px, (px > next ? px : next) + 0.05, (px < next ? px : next) - 0.05,
                   next, 1000);
        px = next;
    }
    for (int i = 0; i < hold; i++, t += 60)
        fx_csv_bar(c, t, sym, px, px + 0.05, px - 0.05, px, 1000);
    return t;
}

static void test_gap_through_stop_fills_at_gap_price(void **state)
{
    (void)state;
    fx_csv c;
    fx_csv_open(&c, "bars.csv");
    long t = path(&c, T0, "AAPL", 100, 10, 100, 0, 0);
    fx_csv_bar(&c, t, "AAPL", 90, 90.5, 89.5, 90.2, 1000); /* opens far below the 95 stop */
    path(&c, t + 60, "AAPL", 90.2, 5, 90.2, 0, 0);
    fx_csv_close(&c);
    char p[4096];
    snprintf(
        p, sizeof p,
        "return apex.pipeline {\n"
        "  name = 'gap95', symbols = { 'AAPL' },\n"
        "  data = { files = { 'bars.csv' } },\n"
        "  strategy = { file = 'buy5.lua', params = { qty = 100, stop = 0.95 } },\n"
        "  broker = { starting_cash = 100000, spread_bps = 0, slippage_bps = 0 },\n"
        "  risk = { max_position_pct = 1, max_risk_pct = 1 },\n"
        "  exits = { partial_exits = { enabled = false }, trailing_stop = { enabled = false } },\n"
        "}\n");
    fx_write("gap95.lua", p);
    assert_int_equal(fx_backtest("gap95.lua", "gap95.db"), EXIT_OK);
    sqlite3 *h = fx_open_db("gap95.db");
    char buf[512];
    /* The stop leg (95.00) filled at the gap price, the bar's open: 90.00. */
    assert_int_equal(fx_query_int(h, "SELECT f.price FROM fills f JOIN orders o ON "
                                     "o.client_order_id = f.order_client_id WHERE "
                                     "o.role = 'stop_loss'"),
                     MONEY(90));
    fx_query_text(h, "SELECT status || ': ' || reason FROM executions", buf, sizeof buf);
    assert_non_null(strstr(buf, "completed: stop_loss leg filled at 90"));
    /* 100 x (90 - 100) = -1000.00 exactly. */
    assert_int_equal(fx_query_int(h, "SELECT realized_pnl FROM executions"), -MONEY(1000));
    sqlite3_close(h);
}

static void test_trailing_stop_exit(void **state)
{
    (void)state;
    fx_csv c;
    fx_csv_open(&c, "bars.csv");
    /* Entry at 100, up 10% (arms the 5% trailing stop), then down 5% from the peak. */
    long t = path(&c, T0, "AAPL", 100, 6, 110, 20, 5);
    path(&c, t, "AAPL", 110, 0, 104.5, 20, 10);
    fx_csv_close(&c);
    pipeline("trail.lua", "trail", "'AAPL'",
             "exits = { partial_exits = { enabled = false },\n"
             "          trailing_stop = { enabled = true, activation_pct = 0.05, distance_pct = "
             "0.03 } },");
    assert_int_equal(fx_backtest("trail.lua", "trail.db"), EXIT_OK);
    sqlite3 *h = fx_open_db("trail.db");
    char buf[512];
    fx_query_text(h,
                  "SELECT exit_reason || ' ' || exit_priority || ' ' || status FROM "
                  "position_exits",
                  buf, sizeof buf);
    assert_string_equal(buf, "trailing_stop HIGH filled");
    /* Armed, trailing 3% below the 110.00 peak: 106.70, never lowered on the way down. */
    assert_int_equal(fx_query_int(h, "SELECT trailing_stop_active FROM positions"), 1);
    assert_int_equal(fx_query_int(h, "SELECT trailing_stop_price FROM positions"),
                     10670 * (MONEY_SCALE / 100));
    /* HIGH = an aggressive limit first. */
    fx_query_text(h, "SELECT order_type FROM exit_attempts ORDER BY attempt_id LIMIT 1", buf,
                  sizeof buf);
    assert_string_equal(buf, "limit");
    /* The bracket legs were cancelled before the exit: nothing over-sold. */
    assert_int_equal(fx_query_int(h, "SELECT sum(CASE side WHEN 'buy' THEN qty ELSE -qty END) "
                                     "FROM fills"),
                     0);
    fx_query_text(h, "SELECT status FROM executions", buf, sizeof buf);
    assert_string_equal(buf, "completed");
    sqlite3_close(h);
}

static void write_partial_pipeline(void)
{
    fx_write("partial.lua",
             "return apex.pipeline {\n"
             "  name = 'partial', symbols = { 'AAPL' },\n"
             "  data = { files = { 'bars.csv' } },\n"
             "  strategy = { file = 'buy5.lua', params = { qty = 100 } },\n"
             "  broker = { starting_cash = 100000, spread_bps = 0, slippage_bps = 0 },\n"
             "  risk = { max_position_pct = 1, max_risk_pct = 1 },\n"
             "  exits = { trailing_stop = { enabled = false } },\n"
             "}\n");
}

static void test_partial_stages_do_not_fire_twice_after_restart(void **state)
{
    (void)state;
    write_partial_pipeline();
    /* First run: +18% (stage 1 at +15% sells 50 of 100), then the data ends. */
    fx_csv c;
    fx_csv_open(&c, "bars.csv");
    long t = path(&c, T0, "AAPL", 100, 6, 118, 20, 10);
    fx_csv_close(&c);
    assert_int_equal(fx_run("partial.lua", "partial.db"), EXIT_OK);
    sqlite3 *h = fx_open_db("partial.db");
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM position_exits WHERE exit_reason = "
                                     "'partial_exit_target'"),
                     1);
    assert_int_equal(fx_query_int(h, "SELECT quantity FROM positions"), MONEY(50));
    sqlite3_close(h);

    /* Restart on the same store with more data: still +18% for a while (stage 1 must not
     * fire again), then +26% (stage 2 sells 25, a quarter of the original 100). */
    fx_csv_open(&c, "bars.csv");
    t = path(&c, T0, "AAPL", 100, 6, 118, 20, 10);
    t = path(&c, t, "AAPL", 118, 10, 118, 0, 0);
    path(&c, t, "AAPL", 118, 0, 126, 10, 10);
    fx_csv_close(&c);
    assert_int_equal(fx_run("partial.lua", "partial.db"), EXIT_OK);
    h = fx_open_db("partial.db");
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM position_exits WHERE exit_reason = "
                                     "'partial_exit_target'"),
                     2);
    assert_int_equal(fx_query_int(h, "SELECT sum(exit_quantity) FROM position_exits WHERE "
                                     "exit_reason = 'partial_exit_target'"),
                     MONEY(75));
    assert_int_equal(fx_query_int(h, "SELECT partial_stages_done FROM positions"), 3);
    assert_int_equal(fx_query_int(h, "SELECT quantity FROM positions"), MONEY(25));
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM events WHERE kind = 'restart'"), 1);
    sqlite3_close(h);
}

static void test_circuit_breaker_closes_all_and_blocks_entries(void **state)
{
    (void)state;
    /* Two positions of 100 shares at 200: 40,000 of a 100,000 account. A 9% drop costs
     * 3,600, over the 3% daily limit (3,000): both close at market and a later signal the
     * same day is refused; the next day trades again. */
    fx_csv c;
    fx_csv_open(&c, "bars.csv");
    long day2 = T0 + 86400;
    double a = 200, b = 200;
    for (int i = 0; i < 60; i++) {
        long ts = T0 + 60L * i;
        double na = i < 10 ? 200 : (i < 25 ? 200 - 18.0 * (i - 9) / 15 : 182);
        fx_csv_bar(&c, ts, "AAPL", a, (a > na ? a : na) + 0.05, (a < na ? a : na) - 0.05, na, 1000);
        fx_csv_bar(&c, ts, "MSFT", b, (b > na ? b : na) + 0.05, (b < na ? b : na) - 0.05, na, 1000);
        a = b = na;
    }
    for (int i = 0; i < 20; i++) {
        fx_csv_bar(&c, day2 + 60L * i, "AAPL", 182, 182.05, 181.95, 182, 1000);
        fx_csv_bar(&c, day2 + 60L * i, "MSFT", 182, 182.05, 181.95, 182, 1000);
    }
    fx_csv_close(&c);
    char p[4096];
    snprintf(p, sizeof p,
             "return apex.pipeline {\n"
             "  name = 'cb', symbols = { 'AAPL', 'MSFT' },\n"
             "  data = { files = { 'bars.csv' } },\n"
             "  strategy = { file = 'buy5.lua', params = { qty = 100, stop = 0.5,\n"
             "                                               again = { %ld, %ld } } },\n"
             "  broker = { starting_cash = 100000, spread_bps = 0, slippage_bps = 0 },\n"
             "  risk = { max_position_pct = 1, max_risk_pct = 1, daily_loss_limit_pct = 0.03,\n"
             "           max_heat_pct = 1 },\n"
             "  exits = { partial_exits = { enabled = false }, trailing_stop = { enabled = false } "
             "},\n"
             "}\n",
             (long)(T0 + 60L * 50), (long)(day2 + 60L * 5));
    fx_write("cb.lua", p);
    /* params.again: a second signal for each symbol at bar 50 the same day, after the
     * trip, and a third on day 2. */
    assert_int_equal(fx_backtest("cb.lua", "cb.db"), EXIT_OK);
    sqlite3 *h = fx_open_db("cb.db");
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM position_exits WHERE exit_reason = "
                                     "'circuit_breaker' AND exit_priority = 'CRITICAL'"),
                     2);
    char buf[512];
    fx_query_text(h, "SELECT group_concat(order_type) FROM exit_attempts", buf, sizeof buf);
    assert_string_equal(buf, "market,market");
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM executions WHERE status = 'skipped' "
                                     "AND reason LIKE 'risk: %circuit%'"),
                     2);
    /* Day 2: both symbols trade again. */
    char q[256];
    snprintf(q, sizeof q,
             "SELECT count(*) FROM executions WHERE created_at >= %lld AND status IN "
             "('monitoring', 'completed')",
             (long long)day2 * 1000000LL);
    assert_int_equal(fx_query_int(h, q), 2);
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM events WHERE kind = "
                                     "'circuit_breaker'"),
                     2); /* tripped, then reset on the next trading day */
    sqlite3_close(h);
}

static void test_time_based_urgent_exit_before_the_close(void **state)
{
    (void)state;
    fx_csv c;
    fx_csv_open(&c, "bars.csv");
    long start = 1709584200L;                    /* 2024-03-04 20:30 UTC; the close is 21:00 */
    path(&c, start, "AAPL", 100, 30, 100, 0, 0); /* until 21:00 */
    fx_csv_close(&c);
    pipeline("close.lua", "close", "'AAPL'",
             "exits = { partial_exits = { enabled = false }, time_urgent_minutes = 5,\n"
             "          session_close = '21:00' },");
    assert_int_equal(fx_backtest("close.lua", "close.db"), EXIT_OK);
    sqlite3 *h = fx_open_db("close.db");
    char buf[256];
    fx_query_text(h, "SELECT exit_reason || ' ' || exit_priority FROM position_exits", buf,
                  sizeof buf);
    assert_string_equal(buf, "time_based_urgent HIGH");
    /* Triggered inside the last five minutes before 21:00. */
    long long at = fx_query_int(h, "SELECT triggered_at FROM position_exits");
    assert_true(at >= (1709586000LL - 300) * 1000000LL && at < 1709586000LL * 1000000LL);
    sqlite3_close(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gap_through_stop_fills_at_gap_price),
        cmocka_unit_test(test_trailing_stop_exit),
        cmocka_unit_test(test_partial_stages_do_not_fire_twice_after_restart),
        cmocka_unit_test(test_circuit_breaker_closes_all_and_blocks_entries),
        cmocka_unit_test(test_time_based_urgent_exit_before_the_close),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
