/* Engine test: a whole backtest with the paper broker's default fill model (next_open) and
 * costs, sized with max_position_pct = 1. Every entry must be accepted (sizing includes the
 * spread, slippage and fee the broker charges) and fill at the open of the bar after its
 * signal bar plus 2 bps, computed here from the bars the test wrote. The starting cash,
 * 270 x 37.00 + 0.50, is the case sizing at the raw price got wrong: 270 shares, which the
 * broker refused for buying power (270 x 37.01 + fees > 9990.50). */
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
#include "pipeline/host.h"

#define T0    1709562600L /* 2024-03-04 14:30 UTC */
#define NBARS 120

/* Bar i of XYZ: a saw-tooth around 37, in cents, that opens 3 cents below the previous
 * close, so the next open differs from the signal bar's close. */
static long close_cents(int i)
{
    return 3700 + (i % 20) * 7 - (i % 3) * 5;
}

static long open_cents(int i)
{
    return i == 0 ? 3700 : close_cents(i - 1) - 3;
}

static void write_bars(void)
{
    fx_csv c;
    fx_csv_open(&c, "bars.csv");
    for (int i = 0; i < NBARS; i++) {
        double o = open_cents(i) / 100.0, cl = close_cents(i) / 100.0;
        double hi = (o > cl ? o : cl) + 0.02, lo = (o < cl ? o : cl) - 0.02;
        fx_csv_bar(&c, T0 + 60L * i, "XYZ", o, hi, lo, cl, 1000);
    }
    fx_csv_close(&c);
}

/* open * 1.0002 to the nearest cent, half to even, in integers (units of 1e-6 cent). */
static money_t expect_buy(long open)
{
    long long exact = (long long)open * 10002; /* cents * 1e-4 */
    long long q = exact / 10000, r = exact % 10000;
    if (2 * r > 10000 || (2 * r == 10000 && (q & 1)))
        q++;
    return (money_t)q * (MONEY_SCALE / 100);
}

static void test_entries_sized_with_costs_fill_at_the_next_open(void **state)
{
    (void)state;
    fx_make_dir("test-fill-costs");
    write_bars();
    /* Buys every 10th bar, with a target close by so the trade completes. */
    fx_write("every10.lua", "local M = {}\n"
                            "function M.on_bar(ctx, bar)\n"
                            "  ctx.state.n = (ctx.state.n or 0) + 1\n"
                            "  if ctx.state.n % 10 == 1 then\n"
                            "    return { side = 'buy', stop_loss = bar.close * 0.8,\n"
                            "             take_profit = bar.close + 0.30 }\n"
                            "  end\n"
                            "end\n"
                            "return M\n");
    fx_write("p.lua", "return apex.pipeline {\n"
                      "  name = 'costs', symbols = { 'XYZ' },\n"
                      "  data = { files = { 'bars.csv' } },\n"
                      "  strategy = 'every10.lua',\n"
                      "  broker = { starting_cash = 9990.50, spread_bps = 2, slippage_bps = 1,\n"
                      "             fee_per_share = 0.005, fee_min = 1 },\n"
                      "  risk = { max_position_pct = 1, max_risk_pct = 1, pdt_check = false,\n"
                      "           max_heat_pct = 1 },\n"
                      "  exits = { partial_exits = { enabled = false } },\n"
                      "}\n");
    assert_int_equal(fx_backtest("p.lua", "p.db"), EXIT_OK);
    sqlite3 *h = fx_open_db("p.db");
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM executions WHERE reason LIKE "
                                     "'%buying power%' OR status = 'failed'"),
                     0);
    long long entries = fx_query_int(h, "SELECT count(*) FROM fills f JOIN orders o ON "
                                        "o.client_order_id = f.order_client_id WHERE o.role = "
                                        "'entry'");
    assert_int_equal(entries, NBARS / 10); /* every signal traded */

    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(h,
                                        "SELECT f.ts, f.price FROM fills f JOIN orders o ON "
                                        "o.client_order_id = f.order_client_id WHERE o.role = "
                                        "'entry' ORDER BY f.ts",
                                        -1, &st, NULL),
                     SQLITE_OK);
    int checked = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        long long ts_us = sqlite3_column_int64(st, 0);
        int bar = (int)((ts_us / 1000000 - T0) / 60);
        /* Signals come on bars 0, 10, 20...: the fill is on the bar after. */
        assert_int_equal(bar % 10, 1);
        assert_int_equal(sqlite3_column_int64(st, 1), expect_buy(open_cents(bar)));
        checked++;
    }
    sqlite3_finalize(st);
    assert_int_equal(checked, entries);
    /* Cash never went below zero: the sizing left room for the fee. */
    assert_true(fx_query_int(h, "SELECT min(cash) FROM equity") >= 0);
    sqlite3_close(h);
    fx_remove_dir();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_entries_sized_with_costs_fill_at_the_next_open),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
