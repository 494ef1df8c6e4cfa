/* A position closed at the broker behind the host's back, on a broker that cannot list
 * its fills by symbol (the paper broker): the execution completes as `closed_at_broker`,
 * its reason saying the realized P&L counts apex-host's own fills only, exactly as before
 * closing fills could be learned (broker_list_symbol_fills; the Alpaca case is in
 * tests/integration/alpaca_run.sh and tests/unit/test_exec.c). */
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

#define T0 1709562600L /* Mon 2024-03-04 14:30 UTC */

/* Buys 100 on the 5th bar, with legs far from a flat market, and holds. */
static const char *const strategy = "local M = {}\n"
                                    "function M.on_bar(ctx, bar)\n"
                                    "  ctx.state.n = (ctx.state.n or 0) + 1\n"
                                    "  if ctx.state.n == 5 then\n"
                                    "    return { side = 'buy', qty = 100, stop_loss = 50,\n"
                                    "             take_profit = 300 }\n"
                                    "  end\n"
                                    "end\n"
                                    "return M\n";

static void flat_bars(int n)
{
    fx_csv c;
    fx_csv_open(&c, "bars.csv");
    for (int i = 0; i < n; i++)
        fx_csv_bar(&c, T0 + 60L * i, "AAPL", 100, 100.05, 99.95, 100, 1000);
    fx_csv_close(&c);
}

static int setup(void **state)
{
    (void)state;
    fx_make_dir("test-closed-by-hand");
    fx_write("hold.lua", strategy);
    fx_write("p.lua", "return apex.pipeline {\n"
                      "  name = 'hand', symbols = { 'AAPL' },\n"
                      "  data = { files = { 'bars.csv' } },\n"
                      "  strategy = 'hold.lua',\n"
                      "  broker = { starting_cash = 100000, spread_bps = 0, slippage_bps = 0 },\n"
                      "  risk = { max_position_pct = 1, max_risk_pct = 1 },\n"
                      "  exits = { trailing_stop = { enabled = false },\n"
                      "            partial_exits = { enabled = false } },\n"
                      "}\n");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fx_remove_dir();
    return 0;
}

static void test_closed_by_hand_at_the_paper_broker(void **state)
{
    (void)state;
    flat_bars(20);
    assert_int_equal(fx_run("p.lua", "h.db"), EXIT_OK);
    sqlite3 *h = fx_open_db("h.db");
    assert_int_equal(fx_query_int(h, "SELECT quantity FROM positions WHERE execution_id = 1"),
                     MONEY(100));
    sqlite3_close(h);

    /* While the host is down the trader closes it at the broker: the position goes, the
     * bracket legs are cancelled, and no order of the host's made the closing trade. */
    h = fx_open_db("h.db.hand.paper");
    assert_int_equal(sqlite3_exec(h,
                                  "DELETE FROM paper_positions WHERE symbol = 'AAPL';"
                                  "UPDATE paper_orders SET status = 'cancelled' WHERE status NOT "
                                  "IN ('filled', 'cancelled', 'rejected', 'expired');",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(h);

    flat_bars(40);
    assert_int_equal(fx_run("p.lua", "h.db"), EXIT_OK);
    h = fx_open_db("h.db");
    char buf[512];
    fx_query_text(h, "SELECT status || '|' || reason FROM executions WHERE id = 1", buf,
                  sizeof buf);
    assert_string_equal(buf, "completed|closed_at_broker: the position (100 AAPL) was closed "
                             "outside apex-host; the realized P&L counts apex-host's own fills "
                             "only");
    fx_query_text(h, "SELECT exit_reason FROM positions WHERE execution_id = 1", buf, sizeof buf);
    assert_string_equal(buf, "closed_at_broker");
    /* Nothing was learned: the entry's fill is the only one. */
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM fills WHERE execution_id = 1"), 1);
    sqlite3_close(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_closed_by_hand_at_the_paper_broker, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
