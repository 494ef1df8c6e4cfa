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
#include "pipeline/approval.h"

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

/* ---- across a restart (store migration 6) ---- */

/* The pipeline `name`, run (not backtested) on <name>.csv with the store <name>.db, in
 * execution.mode `mode`, its strategy returning `signal` on its 5th bar. */
static void write_run_pipeline(const char *name, const char *mode, const char *signal)
{
    char text[2048], file[64];
    snprintf(text, sizeof text,
             "local M = {}\n"
             "function M.on_bar(ctx, bar)\n"
             "  ctx.state.n = (ctx.state.n or 0) + 1\n"
             "  if ctx.state.n == 5 then return { %s } end\n"
             "end\n"
             "return M\n",
             signal);
    snprintf(file, sizeof file, "%s_strategy.lua", name);
    fx_write(file, text);
    snprintf(text, sizeof text,
             "return apex.pipeline {\n"
             "  name = '%s', symbols = { 'AAPL' },\n"
             "  data = { files = { '%s.csv' } },\n"
             "  strategy = '%s_strategy.lua',\n"
             "  broker = { starting_cash = 100000, spread_bps = 0, slippage_bps = 0 },\n"
             "  risk = { max_position_pct = 1, max_risk_pct = 1 },\n"
             "  exits = { partial_exits = { enabled = false }, trailing_stop = { enabled = false "
             "},\n"
             "            liquidity = { max_spread = 1 } },\n"
             "  execution = { mode = '%s', approval_timeout = 3600 },\n"
             "}\n",
             name, name, name, mode);
    snprintf(file, sizeof file, "%s.lua", name);
    fx_write(file, text);
}

/* Five quiet bars at 100 (the 5th signals), then the first `ntail` of `tail`, as name.csv. */
static void write_run_bars(const char *name, const cbar *tail, int ntail)
{
    char file[64];
    snprintf(file, sizeof file, "%s.csv", name);
    fx_csv c;
    fx_csv_open(&c, file);
    int i = 0;
    for (; i < 5; i++)
        fx_csv_bar(&c, T0 + 60L * i, "AAPL", 100, 100.5, 99.5, 100, 1000);
    for (int k = 0; k < ntail; k++, i++)
        fx_csv_bar(&c, T0 + 60L * i, "AAPL", tail[k].o / 100.0, tail[k].h / 100.0,
                   tail[k].l / 100.0, tail[k].c / 100.0, 1000);
    fx_csv_close(&c);
}

static int run_named(const char *name)
{
    char file[64], db[64];
    snprintf(file, sizeof file, "%s.lua", name);
    snprintf(db, sizeof db, "%s.db", name);
    return fx_run(file, db);
}

/* The host stops while a stop entry with expires = { bars = 3 } rests, one bar into its
 * expiry; restarted on more data, it cancels the entry after the same 3rd bar as a run
 * without the restart (test_stop_entry_expires_unfilled), not later and not never. */
static void test_resting_stop_entry_expires_across_a_restart(void **state)
{
    (void)state;
    const cbar tail[] = {{10000, 10300, 9950, 10250},
                         {10250, 10480, 10200, 10400},
                         {10400, 10490, 10390, 10450},
                         {10450, 11000, 10400, 10900},
                         {10900, 11000, 10800, 10950}};
    write_run_pipeline("rest", "auto", BREAKOUT);
    write_run_bars("rest", tail, 1); /* the signal bar 4, then bar 5: one bar rested */
    assert_int_equal(run_named("rest"), EXIT_OK);

    sqlite3 *h = fx_open_db("rest.db");
    char buf[600], want[256];
    /* Stopped while resting: the row says what the signal asked and since when it rests. */
    fx_query_text(h,
                  "SELECT status || '|' || entry_type || '|' || entry_order_price || '|' || "
                  "expire_bars || '|' || coalesce(expire_at, 'none') || '|' || resting_since "
                  "FROM executions",
                  buf, sizeof buf);
    snprintf(want, sizeof want, "monitoring|stop|%lld|3|none|%lld", 105 * UNIT,
             (T0 + 60L * 4) * 1000000LL);
    assert_string_equal(buf, want);
    fx_query_text(h, "SELECT type || '|' || status FROM orders WHERE role = 'entry'", buf,
                  sizeof buf);
    assert_string_equal(buf, "stop|accepted");
    sqlite3_close(h);

    write_run_bars("rest", tail, 5);
    assert_int_equal(run_named("rest"), EXIT_OK);
    h = fx_open_db("rest.db");
    fx_query_text(h, "SELECT status || '|' || reason FROM executions", buf, sizeof buf);
    if (!strstr(buf, "cancelled|expired: the stop entry at 105") ||
        !strstr(buf, "was not filled within 3 bar(s) (expires.bars = 3)"))
        fail_msg("execution: %s", buf);
    /* After bar 7, as without the restart: bar 8's breakout comes too late. */
    assert_int_equal(fx_query_int(h, "SELECT completed_at FROM executions"),
                     (T0 + 60L * 7) * 1000000LL);
    fx_query_text(h, "SELECT status FROM orders WHERE role = 'entry'", buf, sizeof buf);
    assert_string_equal(buf, "cancelled");
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM orders WHERE status NOT IN "
                                     "('cancelled', 'filled', 'rejected', 'expired')"),
                     0);
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM fills"), 0);
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM positions"), 0);
    sqlite3_close(h);
    /* And at the broker: the order rested, then was cancelled, never filled. */
    h = fx_open_db("rest.db.rest.paper");
    fx_query_text(h, "SELECT type || '|' || status FROM paper_orders WHERE role = 'entry'", buf,
                  sizeof buf);
    assert_string_equal(buf, "stop|cancelled");
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM paper_fills"), 0);
    sqlite3_close(h);
}

/* execution.mode = "approval": a stop entry waiting for its answer when the host stops is
 * sent, once approved, as the stop at the signal's price it was, not as execution.entry
 * (a market order) says. */
static void test_approved_stop_entry_keeps_its_type_across_a_restart(void **state)
{
    (void)state;
    const cbar tail[] = {{10000, 10300, 9950, 10250},
                         {10250, 10480, 10200, 10400},
                         {10400, 10490, 10390, 10450},
                         {10450, 10490, 10400, 10450}};
    write_run_pipeline("appr", "approval",
                       "side = 'buy', entry = 'stop', price = 105, expires = { bars = 10 }, "
                       "stop_loss = 100, take_profit = 120, qty = 10");
    write_run_bars("appr", tail, 1);
    assert_int_equal(run_named("appr"), EXIT_OK);
    sqlite3 *h = fx_open_db("appr.db");
    char buf[600], want[256];
    fx_query_text(h, "SELECT status FROM approvals", buf, sizeof buf);
    assert_string_equal(buf, "pending");
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM orders"), 0);
    sqlite3_close(h);

    char err[512], msg[512];
    store *s = store_open(fx_path("appr.db"), STORE_DURABLE, err, sizeof err);
    assert_non_null(s);
    assert_int_equal(approval_submit(s, 1, true, "cli:tester", NULL, msg, sizeof msg), 0);
    store_close(s);
    write_run_bars("appr", tail, 4);
    assert_int_equal(run_named("appr"), EXIT_OK);

    h = fx_open_db("appr.db");
    fx_query_text(h, "SELECT status FROM approvals", buf, sizeof buf);
    assert_string_equal(buf, "approved");
    /* The entry order: a buy stop at 105 with its bracket, resting (no bar reached 105). */
    fx_query_text(h,
                  "SELECT type || '|' || side || '|' || stop_price || '|' || limit_price || '|' "
                  "|| stop_loss || '|' || take_profit || '|' || status FROM orders WHERE role = "
                  "'entry'",
                  buf, sizeof buf);
    snprintf(want, sizeof want, "stop|buy|%lld|0|%lld|%lld|accepted", 105 * UNIT, 100 * UNIT,
             120 * UNIT);
    assert_string_equal(buf, want);
    fx_query_text(h, "SELECT status FROM executions", buf, sizeof buf);
    assert_string_equal(buf, "monitoring");
    sqlite3_close(h);
    /* What the broker got. */
    h = fx_open_db("appr.db.appr.paper");
    fx_query_text(h,
                  "SELECT type || '|' || stop_price || '|' || status FROM paper_orders WHERE "
                  "role = 'entry'",
                  buf, sizeof buf);
    snprintf(want, sizeof want, "stop|%lld|accepted", 105 * UNIT);
    assert_string_equal(buf, want);
    sqlite3_close(h);
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
        cmocka_unit_test(test_resting_stop_entry_expires_across_a_restart),
        cmocka_unit_test(test_approved_stop_entry_keeps_its_type_across_a_restart),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
