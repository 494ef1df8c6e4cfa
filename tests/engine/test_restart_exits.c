/* Issue 7.3: an exit order working at the broker when the host stops is cancelled, and
 * the cancel confirmed, before the restarted host places any new exit order for those
 * shares; the host never has more exit quantity working than the open position. */
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

/* Buys 100 on the 5th bar; once a position is open its edge is gone, so the exit engine
 * decides a LOW exit: a conservative sell limit at the ask that a falling market never
 * reaches, working for an hour. The market falls from the 6th bar on, right after the
 * entry, so the limit never fills wherever the first check falls between bars (on the
 * simulated clock it falls 30 s after the entry, inside the last flat minute). */
static const char *const strategy =
    "local M = {}\n"
    "function M.on_bar(ctx, bar)\n"
    "  ctx.state.n = (ctx.state.n or 0) + 1\n"
    "  if ctx.state.n == 5 then\n"
    "    return { side = 'buy', qty = 100, stop_loss = bar.close * 0.5,\n"
    "             take_profit = bar.close * 3 }\n"
    "  end\n"
    "end\n"
    "function M.edge(ctx, position) return -1 end\n"
    "return M\n";

/* n one-minute bars from t: flat at 100 for the first `flat`, then each bar gaps 0.02 below
 * the last close and falls 0.10, so a sell limit at the last price never fills. */
static long bars(fx_csv *c, long t, int flat, int n)
{
    double px = 100.0;
    for (int i = 0; i < n; i++, t += 60) {
        if (i < flat) {
            fx_csv_bar(c, t, "AAPL", 100, 100.05, 99.95, 100, 1000);
            continue;
        }
        double open = px - 0.02;
        fx_csv_bar(c, t, "AAPL", open, open, open - 0.10, open - 0.10, 1000);
        px = open - 0.10;
    }
    return t;
}

static int setup(void **state)
{
    (void)state;
    fx_make_dir("test-restart-exits");
    fx_write("edge_gone.lua", strategy);
    fx_write("p.lua", "return apex.pipeline {\n"
                      "  name = 'rx', symbols = { 'AAPL' },\n"
                      "  data = { files = { 'bars.csv' } },\n"
                      "  strategy = 'edge_gone.lua',\n"
                      "  broker = { starting_cash = 100000, spread_bps = 0, slippage_bps = 0 },\n"
                      "  risk = { max_position_pct = 1, max_risk_pct = 1 },\n"
                      "  exits = { trailing_stop = { enabled = false },\n"
                      "            partial_exits = { enabled = false },\n"
                      "            execution = { LOW = { timeout_seconds = 3600 } } },\n"
                      "}\n");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fx_remove_dir();
    return 0;
}

static void test_exit_left_working_is_cancelled_before_a_new_exit(void **state)
{
    (void)state;
    fx_csv c;
    fx_csv_open(&c, "bars.csv");
    bars(&c, T0, 5, 30);
    fx_csv_close(&c);
    assert_int_equal(fx_run("p.lua", "rx.db"), EXIT_OK);

    sqlite3 *h = fx_open_db("rx.db");
    char left[128];
    fx_query_text(h,
                  "SELECT client_order_id FROM orders WHERE role = 'exit' AND status IN "
                  "('new', 'accepted', 'partially_filled')",
                  left, sizeof left);
    assert_true(left[0] != '\0'); /* the first run stopped with its exit order working */
    assert_int_equal(fx_query_int(h, "SELECT quantity FROM positions"), MONEY(100));
    sqlite3_close(h);

    /* Restart with more of the same falling market. */
    fx_csv_open(&c, "bars.csv");
    bars(&c, T0, 5, 60);
    fx_csv_close(&c);
    assert_int_equal(fx_run("p.lua", "rx.db"), EXIT_OK);

    /* At the broker, the order left working was cancelled... */
    char sql[512], buf[256];
    h = fx_open_db("rx.db.rx.paper");
    snprintf(sql, sizeof sql, "SELECT status FROM paper_orders WHERE client_order_id = '%s'", left);
    fx_query_text(h, sql, buf, sizeof buf);
    assert_string_equal(buf, "cancelled");
    /* ...before any other exit order was created, so sells working never exceeded 100. */
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM paper_orders o, paper_orders l WHERE l.client_order_id = "
             "'%s' AND o.side = 'sell' AND o.seq > l.seq AND o.parent_client_order_id = '' AND "
             "o.created_at < l.updated_at",
             left);
    assert_int_equal(fx_query_int(h, sql), 0);
    long long later = fx_query_int(h, "SELECT count(*) FROM paper_orders WHERE side = 'sell' "
                                      "AND parent_client_order_id = ''");
    assert_true(later >= 2); /* the restarted host did exit again, after the cancel */
    sqlite3_close(h);

    h = fx_open_db("rx.db");
    assert_true(fx_query_int(h, "SELECT count(*) FROM events WHERE kind = 'reconcile' AND "
                                "message LIKE '%left working by the previous run%'") >= 1);
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM events WHERE kind = 'restart_report'"),
                     1);
    sqlite3_close(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exit_left_working_is_cancelled_before_a_new_exit),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
