/* The durable-write failure policy (issue 6.4), end to end through host_main: a failed
 * write halts new entries for the pipeline, keeps exits working, is reported, and makes
 * the run exit non-zero. The failure is injected the way a full disk would fail a write
 * (store_testing.h), into the exit decision of the first trade. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "engine_fixture.h"
#include "money/money.h"
#include "store/store_testing.h"

#define T0 1709562600L /* Mon 2024-03-04 14:30 UTC */

/* Buys 100 on the 5th and on the 60th bar; an open position's edge is gone at once, so
 * the exit engine decides a LOW exit (a position_exits row) at its first check. */
static const char *const strategy =
    "local M = {}\n"
    "function M.on_bar(ctx, bar)\n"
    "  ctx.state.n = (ctx.state.n or 0) + 1\n"
    "  if ctx.state.n == 5 or ctx.state.n == 60 then\n"
    "    return { side = 'buy', qty = 100, stop_loss = bar.close * 0.5,\n"
    "             take_profit = bar.close * 3 }\n"
    "  end\n"
    "end\n"
    "function M.edge(ctx, position) return -1 end\n"
    "return M\n";

static int setup(void **state)
{
    (void)state;
    fx_make_dir("test-write-failure");
    fx_write("s.lua", strategy);
    fx_write("p.lua", "return apex.pipeline {\n"
                      "  name = 'wf', symbols = { 'AAPL' },\n"
                      "  data = { files = { 'bars.csv' } },\n"
                      "  strategy = 's.lua',\n"
                      "  broker = { starting_cash = 100000, spread_bps = 0, slippage_bps = 0 },\n"
                      "  risk = { max_position_pct = 1, max_risk_pct = 1 },\n"
                      "  exits = { trailing_stop = { enabled = false },\n"
                      "            partial_exits = { enabled = false } },\n"
                      "}\n");
    fx_csv c;
    fx_csv_open(&c, "bars.csv");
    for (int i = 0; i < 120; i++)
        fx_csv_bar(&c, T0 + 60L * i, "AAPL", 100, 100.05, 99.95, 100, 1000);
    fx_csv_close(&c);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fx_remove_dir();
    return 0;
}

static void test_without_failure_both_signals_trade(void **state)
{
    (void)state;
    assert_int_equal(fx_backtest("p.lua", "ok.db"), EXIT_OK);
    sqlite3 *h = fx_open_db("ok.db");
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM executions WHERE status='completed'"),
                     2);
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM position_exits"), 2);
    sqlite3_close(h);
}

static void test_failed_write_halts_entries_keeps_exits_and_exits_non_zero(void **state)
{
    (void)state;
    store_test_fail_writes_on_next_open("position_exits", 0, 1);
    assert_int_equal(fx_backtest("p.lua", "fail.db"), EXIT_RUNTIME);
    sqlite3 *h = fx_open_db("fail.db");
    /* The first trade's exit decision could not be recorded, yet the exit was worked:
     * the position is closed and the books are flat. */
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM position_exits"), 0);
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM executions WHERE status='completed'"),
                     1);
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM positions WHERE status='open'"), 0);
    assert_int_equal(fx_query_int(h, "SELECT coalesce(sum(CASE side WHEN 'buy' THEN qty ELSE "
                                     "-qty END), 0) FROM fills"),
                     0);
    /* The second signal came after the failure: no new execution, no new order. */
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM executions"), 1);
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM orders WHERE role='entry'"), 1);
    sqlite3_close(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_without_failure_both_signals_trade),
        cmocka_unit_test(test_failed_write_halts_entries_keeps_exits_and_exits_non_zero),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
