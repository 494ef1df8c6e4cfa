/* Stop and limit entries with an expiry (issue 13, item 2): a signal's entry = "stop" (a buy
 * stop above the market, for breakouts) or "limit", with price and expires = { bars = n } or
 * { seconds = s }. Whole pipelines on bars written here, backtested with the paper broker
 * (no spread, no slippage, so every price below is exact): the order is recorded with its
 * type and price, fills when a later bar's range crosses it (at the open on a gap), and is
 * cancelled unfilled at its expiry, the execution `cancelled` with the reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "engine_fixture.h"

#define T0   1709562600L /* Mon 2024-03-04 14:30 UTC */
#define UNIT 100000000LL /* fixed point: 1.0 */

static int setup(void **state)
{
    (void)state;
    fx_make_dir("test-entry-orders");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fx_remove_dir();
    return 0;
}

typedef struct {
    long o, h, l, c; /* cents */
} cbar;

/* Five quiet bars at 100 (the 5th signals), then `tail`. */
static void write_bars(const cbar *tail, int ntail)
{
    fx_csv c;
    fx_csv_open(&c, "bars.csv");
    int i = 0;
    for (; i < 5; i++)
        fx_csv_bar(&c, T0 + 60L * i, "AAPL", 100, 100.5, 99.5, 100, 1000);
    for (int k = 0; k < ntail; k++, i++)
        fx_csv_bar(&c, T0 + 60L * i, "AAPL", tail[k].o / 100.0, tail[k].h / 100.0,
                   tail[k].l / 100.0, tail[k].c / 100.0, 1000);
    fx_csv_close(&c);
}

/* Backtests a strategy that returns `signal` on its 5th bar; returns the store. */
static sqlite3 *backtest(const char *signal, const cbar *tail, int ntail)
{
    char text[2048];
    snprintf(text, sizeof text,
             "local M = {}\n"
             "function M.on_bar(ctx, bar)\n"
             "  ctx.state.n = (ctx.state.n or 0) + 1\n"
             "  if ctx.state.n == 5 then return { %s } end\n"
             "end\n"
             "return M\n",
             signal);
    fx_write("strategy.lua", text);
    fx_write("pipeline.lua",
             "return apex.pipeline {\n"
             "  name = 'entries', symbols = { 'AAPL' },\n"
             "  data = { files = { 'bars.csv' } },\n"
             "  strategy = 'strategy.lua',\n"
             "  broker = { starting_cash = 100000, spread_bps = 0, slippage_bps = 0 },\n"
             "  risk = { max_position_pct = 1, max_risk_pct = 1 },\n"
             "  exits = { partial_exits = { enabled = false }, trailing_stop = { enabled = false "
             "},\n"
             "            liquidity = { max_spread = 1 } },\n"
             "}\n");
    write_bars(tail, ntail);
    assert_int_equal(fx_backtest("pipeline.lua", "entries.db"), EXIT_OK);
    return fx_open_db("entries.db");
}

#define BREAKOUT                                                                                   \
    "side = 'buy', entry = 'stop', price = 105, expires = { bars = 3 }, stop_loss = 100, "         \
    "take_profit = 120, qty = 10"

static void test_stop_entry_triggers_on_the_breakout_bar(void **state)
{
    (void)state;
    /* Bars 5 and 6 stay below 105; bar 7 opens at 104 and trades up to 106. */
    const cbar tail[] = {{10000, 10300, 9950, 10250},
                         {10250, 10480, 10200, 10400},
                         {10400, 10600, 10390, 10550},
                         {10550, 10600, 10500, 10560}};
    sqlite3 *h = backtest(BREAKOUT, tail, 4);
    char buf[512];
    /* The entry order: recorded as a buy stop at 105 with its bracket, and filled. */
    fx_query_text(h,
                  "SELECT type || '|' || side || '|' || stop_price || '|' || limit_price || '|' "
                  "|| stop_loss || '|' || take_profit || '|' || status FROM orders WHERE role = "
                  "'entry'",
                  buf, sizeof buf);
    char want[256];
    snprintf(want, sizeof want, "stop|buy|%lld|0|%lld|%lld|filled", 105 * UNIT, 100 * UNIT,
             120 * UNIT);
    assert_string_equal(buf, want);
    /* One fill: 10 at 105.00, at bar 7, the breakout bar. */
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM fills"), 1);
    assert_int_equal(fx_query_int(h, "SELECT price FROM fills"), 105 * UNIT);
    assert_int_equal(fx_query_int(h, "SELECT qty FROM fills"), 10 * UNIT);
    assert_int_equal(fx_query_int(h, "SELECT ts FROM fills"), (T0 + 60L * 7) * 1000000LL);
    fx_query_text(h, "SELECT status FROM executions", buf, sizeof buf);
    assert_string_equal(buf, "monitoring");
    assert_int_equal(fx_query_int(h, "SELECT entry_price FROM positions"), 105 * UNIT);
    sqlite3_close(h);
}

static void test_stop_entry_gaps_fill_at_the_open(void **state)
{
    (void)state;
    /* Bar 6 opens at 107, above the stop: the fill is the open, the first price there was. */
    const cbar tail[] = {{10000, 10300, 9950, 10250}, {10700, 10900, 10650, 10800}};
    sqlite3 *h = backtest(BREAKOUT, tail, 2);
    assert_int_equal(fx_query_int(h, "SELECT price FROM fills"), 107 * UNIT);
    assert_int_equal(fx_query_int(h, "SELECT ts FROM fills"), (T0 + 60L * 6) * 1000000LL);
    sqlite3_close(h);
}

static void test_stop_entry_expires_unfilled(void **state)
{
    (void)state;
    /* Three bars below 105 (5, 6, 7): cancelled after bar 7. Bar 8's breakout comes too late. */
    const cbar tail[] = {{10000, 10300, 9950, 10250},
                         {10250, 10480, 10200, 10400},
                         {10400, 10490, 10390, 10450},
                         {10450, 11000, 10400, 10900},
                         {10900, 11000, 10800, 10950}};
    sqlite3 *h = backtest(BREAKOUT, tail, 5);
    char buf[600];
    fx_query_text(h, "SELECT status || '|' || reason FROM executions", buf, sizeof buf);
    if (!strstr(buf, "cancelled|expired: the stop entry at 105") ||
        !strstr(buf, "was not filled within 3 bar(s) (expires.bars = 3)"))
        fail_msg("execution: %s", buf);
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM fills"), 0);
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM positions"), 0);
    fx_query_text(h, "SELECT status FROM orders WHERE role = 'entry'", buf, sizeof buf);
    assert_string_equal(buf, "cancelled");
    /* Cancelled once bar 7 had been seen, before bar 8. */
    assert_int_equal(fx_query_int(h, "SELECT completed_at FROM executions"),
                     (T0 + 60L * 7) * 1000000LL);
    /* And the bracket's legs went with it: nothing is left working. */
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM orders WHERE status NOT IN "
                                     "('cancelled', 'filled', 'rejected', 'expired')"),
                     0);
    sqlite3_close(h);
}

static void test_stop_entry_expires_by_time(void **state)
{
    (void)state;
    /* 120 s after the signal bar (bar 4): at bar 6. */
    const cbar tail[] = {
        {10000, 10300, 9950, 10250}, {10250, 10480, 10200, 10400}, {10400, 11000, 10390, 10900}};
    sqlite3 *h = backtest("side = 'buy', entry = 'stop', price = 105, expires = { seconds = 120 "
                          "}, qty = 10",
                          tail, 3);
    char buf[600];
    fx_query_text(h, "SELECT status || '|' || reason FROM executions", buf, sizeof buf);
    if (!strstr(buf, "cancelled|expired: the stop entry at 105") ||
        !strstr(buf, "within 2 bar(s) (expires.seconds = 120)"))
        fail_msg("execution: %s", buf);
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM fills"), 0);
    sqlite3_close(h);
}

static void test_limit_entry_fills_below_the_market(void **state)
{
    (void)state;
    /* A buy limit at 98: bar 5 dips to 98.50, bar 6 to 97.80: filled at 98.00. */
    const cbar tail[] = {{10000, 10050, 9850, 9900}, {9900, 9950, 9780, 9820}};
    sqlite3 *h = backtest("side = 'buy', entry = 'limit', price = 98, expires = { bars = 5 }, qty "
                          "= 10, stop_loss = 95, take_profit = 110",
                          tail, 2);
    char buf[256];
    fx_query_text(h, "SELECT type || '|' || limit_price FROM orders WHERE role = 'entry'", buf,
                  sizeof buf);
    char want[64];
    snprintf(want, sizeof want, "limit|%lld", 98 * UNIT);
    assert_string_equal(buf, want);
    assert_int_equal(fx_query_int(h, "SELECT price FROM fills"), 98 * UNIT);
    assert_int_equal(fx_query_int(h, "SELECT ts FROM fills"), (T0 + 60L * 6) * 1000000LL);
    sqlite3_close(h);
}

/* Bad entry orders fail the strategy stage, naming the field. */
static void test_bad_entry_orders_are_refused(void **state)
{
    (void)state;
    static const struct {
        const char *signal, *message;
    } cases[] = {
        {"side = 'buy', entry = 'stop'",
         "on_bar returned a signal with entry = \"stop\" but no price; set price = the stop price"},
        {"side = 'buy', entry = 'stp', price = 105",
         "on_bar returned entry = \"stp\" (a string); use a price, or \"market\", \"limit\" or "
         "\"stop\" (with price = p)"},
        {"side = 'buy', entry = 'stop', price = 105, expires = { bars = 0 }",
         "on_bar returned a signal with expires.bars = 0; use a whole number from 1 to 1000000"},
        {"side = 'buy', entry = 'stop', price = 105, expires = { bar = 3 }",
         "on_bar returned a signal's expires with an unknown field \"bar\" (a string); use { bars "
         "= n } or { seconds = n }"},
        {"side = 'buy', price = 105",
         "on_bar returned a signal with price but no entry order type; set entry = \"stop\" or "
         "\"limit\" with price = p"},
    };
    const cbar tail[] = {{10000, 10300, 9950, 10250}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        sqlite3 *h = backtest(cases[i].signal, tail, 1);
        char buf[600];
        fx_query_text(h, "SELECT status || '|' || reason FROM executions", buf, sizeof buf);
        if (strncmp(buf, "failed|", 7) != 0 || !strstr(buf, cases[i].message))
            fail_msg("%s: %s", cases[i].signal, buf);
        assert_int_equal(fx_query_int(h, "SELECT count(*) FROM orders"), 0);
        sqlite3_close(h);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stop_entry_triggers_on_the_breakout_bar),
        cmocka_unit_test(test_stop_entry_gaps_fill_at_the_open),
        cmocka_unit_test(test_stop_entry_expires_unfilled),
        cmocka_unit_test(test_stop_entry_expires_by_time),
        cmocka_unit_test(test_limit_entry_fills_below_the_market),
        cmocka_unit_test(test_bad_entry_orders_are_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
