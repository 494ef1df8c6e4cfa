/* The coordinator (issue 11): entry signals of one bar time are ranked by score before
 * the risk stage, so the best one takes the last free slot. Whole pipelines through the
 * host on the simulated clock; outcomes read back from the store (executions, events). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "engine_fixture.h"

#define T0 1709562600L /* Mon 2024-03-04 14:30 UTC */

static int setup(void **state)
{
    (void)state;
    fx_make_dir("test-coordinator");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fx_remove_dir();
    return 0;
}

/* Ten one-minute bars of AAPL and MSFT, AAPL's first at each time, both flat at 100. */
static void write_bars(void)
{
    fx_csv c;
    fx_csv_open(&c, "bars.csv");
    for (int i = 0; i < 10; i++) {
        fx_csv_bar(&c, T0 + 60L * i, "AAPL", 100, 100.1, 99.9, 100, 1000);
        fx_csv_bar(&c, T0 + 60L * i, "MSFT", 100, 100.1, 99.9, 100, 1000);
    }
    fx_csv_close(&c);
}

/* Both symbols signal a buy on their 5th bar: AAPL with reward/risk 1 (stop 95, target
 * 105), MSFT with reward/risk 4 (stop 95, target 120). `extra` adds module functions. */
static void write_strategy(const char *file, const char *extra)
{
    char text[2048];
    snprintf(text, sizeof text,
             "local M = {}\n"
             "function M.on_bar(ctx, bar)\n"
             "  ctx.state.n = (ctx.state.n or 0) + 1\n"
             "  if ctx.state.n ~= 5 then return nil end\n"
             "  if bar.symbol == 'AAPL' then\n"
             "    return { side = 'buy', stop_loss = 95, take_profit = 105 }\n"
             "  end\n"
             "  return { side = 'buy', stop_loss = 95, take_profit = 120 }\n"
             "end\n"
             "%s\n"
             "return M\n",
             extra ? extra : "");
    fx_write(file, text);
}

static sqlite3 *backtest(const char *name, const char *strategy_extra)
{
    char file[64], db[64], strat[64], text[2048];
    snprintf(file, sizeof file, "%s.lua", name);
    snprintf(db, sizeof db, "%s.db", name);
    snprintf(strat, sizeof strat, "%s_strategy.lua", name);
    write_strategy(strat, strategy_extra);
    snprintf(text, sizeof text,
             "return apex.pipeline {\n"
             "  name = '%s', symbols = { 'AAPL', 'MSFT' },\n"
             "  data = { files = { 'bars.csv' } },\n"
             "  strategy = { file = '%s' },\n"
             "  broker = { starting_cash = 100000 },\n"
             "  risk = { max_positions = 1, max_position_pct = 0.2, max_risk_pct = 0.01 },\n"
             "  monitoring = { max_api_calls_per_minute = 10000 },\n"
             "}\n",
             name, strat);
    fx_write(file, text);
    write_bars();
    assert_int_equal(fx_backtest(file, db), EXIT_OK);
    return fx_open_db(db);
}

/* The execution of symbol's column (status, reason) into out. */
static const char *column_of(sqlite3 *h, const char *column, const char *symbol, char *out,
                             size_t n)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT %s FROM executions WHERE symbol = '%s'", column, symbol);
    fx_query_text(h, sql, out, n);
    return out;
}

/* symbol's entry went to the broker: its execution is monitored (or already done). */
static void assert_traded(sqlite3 *h, const char *symbol)
{
    char status[64];
    column_of(h, "status", symbol, status, sizeof status);
    assert_true(strcmp(status, "monitoring") == 0 || strcmp(status, "completed") == 0);
}

/* symbol's execution ended with status, its reason containing each of the needles. */
static void assert_ended(sqlite3 *h, const char *symbol, const char *status, const char *n1,
                         const char *n2)
{
    char got[512];
    assert_string_equal(column_of(h, "status", symbol, got, sizeof got), status);
    column_of(h, "reason", symbol, got, sizeof got);
    assert_non_null(strstr(got, n1));
    if (n2)
        assert_non_null(strstr(got, n2));
}

/* One slot, two signals on one bar: the higher score (MSFT, 4 against AAPL's 1) trades,
 * although AAPL's bar came first; AAPL is skipped naming MSFT and both scores. */
static void test_higher_score_takes_the_last_slot(void **state)
{
    (void)state;
    sqlite3 *h = backtest("rank", NULL);
    char ev[512];
    assert_traded(h, "MSFT");
    assert_int_equal(fx_query_int(h, "SELECT COUNT(*) FROM orders o JOIN executions e ON "
                                     "e.id = o.execution_id WHERE e.symbol = 'MSFT'"),
                     fx_query_int(h, "SELECT COUNT(*) FROM orders"));
    assert_ended(h, "AAPL", "skipped", "max_positions 1 reached",
                 "ranked 2 of 2 on its bar with score 1.00, after MSFT with score 4.00");
    fx_query_text(
        h,
        "SELECT message FROM events WHERE kind = 'coordinator' AND execution_id = (SELECT id "
        "FROM executions WHERE symbol = 'MSFT')",
        ev, sizeof ev);
    assert_string_equal(ev, "MSFT ranked 1 of 2 on its bar: score 4.00 (confidence x "
                            "reward/risk)");
    sqlite3_close(h);
}

/* A strategy's score() decides instead: it prefers AAPL. */
static void test_score_callback_decides(void **state)
{
    (void)state;
    sqlite3 *h = backtest("scored", "function M.score(ctx, signal)\n"
                                    "  assert(signal.stop_loss == 95 and signal.entry == 100)\n"
                                    "  return signal.symbol == 'AAPL' and 10 or 2\n"
                                    "end\n");
    assert_traded(h, "AAPL");
    assert_ended(h, "MSFT", "skipped", "max_positions 1 reached",
                 "ranked 2 of 2 on its bar with score 2.00, after AAPL with score 10.00");
    assert_int_equal(fx_query_int(h, "SELECT COUNT(*) FROM events WHERE kind = 'coordinator' "
                                     "AND message LIKE '%the strategy''s score()%'"),
                     2);
    sqlite3_close(h);
}

/* A score() that raises fails its own signal only, with the script's file and line. */
static void test_score_error_fails_only_that_signal(void **state)
{
    (void)state;
    sqlite3 *h = backtest("broken", "function M.score(ctx, signal)\n"
                                    "  if signal.symbol == 'MSFT' then error('no score') end\n"
                                    "  return 1\n"
                                    "end\n");
    assert_ended(h, "MSFT", "failed", "score(): ", "broken_strategy.lua:11: no score");
    assert_traded(h, "AAPL");
    sqlite3_close(h);
}

/* Two pipelines of one host: their signals of one bar time are ranked together, so the
 * second pipeline's better signal goes first (its execution is created first). */
static void test_pipelines_are_ranked_together(void **state)
{
    (void)state;
    write_bars();
    write_strategy("both_strategy.lua", NULL);
    const char *names[] = {"pa", "pb"}, *symbols[] = {"AAPL", "MSFT"};
    char paths[2][512];
    for (int i = 0; i < 2; i++) {
        char file[64], text[1024];
        snprintf(file, sizeof file, "%s.lua", names[i]);
        snprintf(text, sizeof text,
                 "return apex.pipeline {\n"
                 "  name = '%s', symbols = { '%s' },\n"
                 "  data = { files = { 'bars.csv' } },\n"
                 "  strategy = { file = 'both_strategy.lua' },\n"
                 "  monitoring = { max_api_calls_per_minute = 10000 },\n"
                 "}\n",
                 names[i], symbols[i]);
        fx_write(file, text);
        snprintf(paths[i], sizeof paths[i], "%s", fx_path(file));
    }
    char db[512];
    snprintf(db, sizeof db, "%s", fx_path("both.db"));
    const char *argv[] = {paths[0], paths[1]};
    host_options opt = {.backtest = true, .db_path = db, .fresh = true, .quiet = true};
    assert_int_equal(host_main(argv, 2, &opt), EXIT_OK);
    sqlite3 *h = fx_open_db("both.db");
    char buf[512];
    fx_query_text(h, "SELECT symbol FROM executions ORDER BY id LIMIT 1", buf, sizeof buf);
    assert_string_equal(buf, "MSFT");
    fx_query_text(h,
                  "SELECT message FROM events WHERE kind = 'coordinator' AND message LIKE "
                  "'AAPL%'",
                  buf, sizeof buf);
    assert_string_equal(buf, "AAPL ranked 2 of 2 on its bar: score 1.00 (confidence x "
                             "reward/risk); first: MSFT (pipeline pb) with 4.00");
    sqlite3_close(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_higher_score_takes_the_last_slot),
        cmocka_unit_test(test_score_callback_decides),
        cmocka_unit_test(test_score_error_fails_only_that_signal),
        cmocka_unit_test(test_pipelines_are_ranked_together),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
