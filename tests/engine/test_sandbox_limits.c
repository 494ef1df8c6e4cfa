/* Engine tests for issue 8, "a sandbox that holds": what a strategy returns is never
 * silently reinterpreted, a failing on_start is reported once, and a strategy cannot flood
 * the store or the log. Every outcome is read back from the store (statuses, reasons,
 * events) or from the lines the run printed; the clock is simulated throughout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/status.h"
#include "engine_fixture.h"
#include "money/money.h"
#include "pipeline/host.h"
#include "script/failures.h"

#define T0 1709562600L /* 2024-03-04 14:30 UTC */

/* n one-minute bars of AAPL and MSFT, AAPL rising 0.01 a bar from 100. */
static void write_bars(const char *name, int n)
{
    fx_csv c;
    fx_csv_open(&c, name);
    for (int i = 0; i < n; i++) {
        double px = 100.0 + 0.01 * i;
        fx_csv_bar(&c, T0 + 60L * i, "AAPL", px, px + 0.05, px - 0.05, px, 1000);
        fx_csv_bar(&c, T0 + 60L * i, "MSFT", 50, 50.1, 49.9, 50, 1000);
    }
    fx_csv_close(&c);
}

static int setup(void **state)
{
    (void)state;
    fx_make_dir("test-sandbox-limits");
    write_bars("bars.csv", 30);
    write_bars("ten_hours.csv", 600);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fx_remove_dir();
    return 0;
}

/* A pipeline on the bars of data trading symbols (a Lua list's contents), with the
 * strategy file strategy and any further fields in extra. */
static void write_pipeline_full(const char *file, const char *name, const char *strategy,
                                const char *symbols, const char *data, const char *extra)
{
    char text[1024];
    snprintf(text, sizeof text,
             "return apex.pipeline {\n"
             "  name = '%s', symbols = { %s },\n"
             "  data = { files = { '%s' } },\n"
             "  strategy = '%s',\n"
             "  broker = { starting_cash = 100000, spread_bps = 0, slippage_bps = 0 },\n"
             "  %s\n"
             "}\n",
             name, symbols, data, strategy, extra ? extra : "");
    fx_write(file, text);
}

static void write_pipeline_for(const char *file, const char *name, const char *strategy,
                               const char *symbols)
{
    write_pipeline_full(file, name, strategy, symbols, "bars.csv", NULL);
}

static void write_pipeline(const char *file, const char *name, const char *strategy)
{
    write_pipeline_for(file, name, strategy, "'AAPL'");
}

/* ---- no silent defaults from bad values ---- */

/* A strategy that signals once, on its 5th bar, with the given signal table. */
static void run_signal(const char *name, const char *signal)
{
    char lua[1024], file[64], pipe[64], db[64];
    snprintf(lua, sizeof lua,
             "return { on_bar = function(ctx, bar)\n"
             "  ctx.state.n = (ctx.state.n or 0) + 1\n"
             "  if ctx.state.n == 5 then return %s end\n"
             "end }\n",
             signal);
    snprintf(file, sizeof file, "%s.lua", name);
    snprintf(pipe, sizeof pipe, "%s_pipeline.lua", name);
    snprintf(db, sizeof db, "%s.db", name);
    fx_write(file, lua);
    write_pipeline(pipe, name, file);
    assert_int_equal(fx_backtest(pipe, db), EXIT_OK);
}

/* The one execution a signal made: failed, with a reason containing want, and no order. */
static void expect_failed(const char *name, const char *want)
{
    char db[64], buf[1024];
    snprintf(db, sizeof db, "%s.db", name);
    sqlite3 *h = fx_open_db(db);
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM executions"), 1);
    fx_query_text(h, "SELECT status || ': ' || reason FROM executions", buf, sizeof buf);
    if (strncmp(buf, "failed: strategy stage: ", 24) != 0 || !strstr(buf, want))
        fail_msg("%s: got \"%s\", want a failed strategy stage with \"%s\"", name, buf, want);
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM orders"), 0);
    sqlite3_close(h);
}

static void test_tiny_qty_is_an_error_not_a_full_position(void **state)
{
    (void)state;
    /* 4e-9 used to read as "no qty" and be sized to a full position by risk. */
    run_signal("tinyqty", "{ side = 'buy', qty = 4e-9 }");
    expect_failed("tinyqty", "qty = 4e-09 is too small: it rounds to 0");
    /* Half a share rounds down to no lot at all. */
    run_signal("halfqty", "{ side = 'buy', qty = 0.5 }");
    expect_failed("halfqty", "qty = 0.5 rounds down to 0 lots of AAPL (lot size 1)");
}

static void test_tiny_prices_are_errors_not_defaults(void **state)
{
    (void)state;
    /* 1e-9 used to read as "no stop" and be replaced by the default 4% stop. */
    run_signal("tinystop", "{ side = 'buy', stop_loss = 1e-9 }");
    expect_failed("tinystop", "stop_loss = 1e-09 is too small: it rounds to 0");
    /* Representable, but below half a tick: no price at all once rounded to the tick. */
    run_signal("tickstop", "{ side = 'buy', stop_loss = 0.004 }");
    expect_failed("tickstop",
                  "stop_loss = 0.004 rounds to 0 at AAPL's tick size of 0.01; return a price of "
                  "at least 0.01");
    run_signal("ticktarget", "{ side = 'sell', take_profit = 0.001 }");
    expect_failed("ticktarget", "take_profit = 0.001 rounds to 0 at AAPL's tick size of 0.01");
    run_signal("tickentry", "{ side = 'buy', entry = 0.002 }");
    expect_failed("tickentry", "entry = 0.002 rounds to 0 at AAPL's tick size of 0.01");
}

static void test_huge_values_are_out_of_range(void **state)
{
    (void)state;
    run_signal("hugestop", "{ side = 'buy', stop_loss = 1e30 }");
    expect_failed("hugestop", "stop_loss = 1e+30 is out of range");
    run_signal("hugeqty", "{ side = 'buy', qty = 1e30 }");
    expect_failed("hugeqty", "qty = 1e+30 is out of range");
}

/* ---- on_start runs once per symbol ---- */

static void test_failing_on_start_fails_its_symbol_once(void **state)
{
    (void)state;
    fx_write("badstart.lua",
             "local starts = 0\n"
             "return {\n"
             "  on_start = function(ctx)\n"
             "    if ctx.symbol == 'AAPL' then\n"
             "      starts = starts + 1\n"
             "      error('params.fats: unknown parameter (start ' .. starts .. ')')\n"
             "    end\n"
             "  end,\n"
             "  on_bar = function(ctx, bar)\n"
             "    ctx.state.n = (ctx.state.n or 0) + 1\n"
             "    if ctx.state.n == 5 then return { side = 'buy' } end\n"
             "  end,\n"
             "}\n");
    write_pipeline_for("badstart_pipeline.lua", "badstart", "badstart.lua", "'AAPL', 'MSFT'");
    assert_int_equal(fx_backtest("badstart_pipeline.lua", "badstart.db"), EXIT_OK);
    sqlite3 *h = fx_open_db("badstart.db");
    char buf[1024];
    /* One failed execution for AAPL, from the one on_start attempt, saying what follows. */
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM executions WHERE symbol='AAPL'"), 1);
    fx_query_text(h, "SELECT status || ': ' || reason FROM executions WHERE symbol='AAPL'", buf,
                  sizeof buf);
    assert_non_null(strstr(buf, "failed: strategy stage: "));
    assert_non_null(strstr(buf, "badstart.lua:6: params.fats: unknown parameter (start 1)"));
    assert_non_null(strstr(buf, "(in on_start: AAPL is not traded until"));
    /* MSFT, whose on_start passed, traded. */
    fx_query_text(h, "SELECT status FROM executions WHERE symbol='MSFT'", buf, sizeof buf);
    assert_true(strcmp(buf, "completed") == 0 || strcmp(buf, "monitoring") == 0);
    sqlite3_close(h);
}

/* After a restart, on_start runs on the warm-up bars, which record nothing: its failure is
 * recorded on the first bar after them, once. */
static void test_on_start_failing_in_warm_up_is_recorded_after_it(void **state)
{
    (void)state;
    write_bars("restart.csv", 20);
    fx_write("restart.lua", "return { on_bar = function(ctx, bar) end }\n");
    write_pipeline_full("restart_pipeline.lua", "restart", "restart.lua", "'AAPL'", "restart.csv",
                        NULL);
    assert_int_equal(fx_run("restart_pipeline.lua", "restart.db"), EXIT_OK);
    /* A broken edit while the host was down, and more data. */
    fx_write("restart.lua", "return {\n"
                            "  on_start = function(ctx) error('broken on_start') end,\n"
                            "  on_bar = function(ctx, bar) end,\n"
                            "}\n");
    write_bars("restart.csv", 40);
    assert_int_equal(fx_run("restart_pipeline.lua", "restart.db"), EXIT_OK);
    sqlite3 *h = fx_open_db("restart.db");
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM executions"), 1);
    char buf[1024];
    fx_query_text(h, "SELECT status || ': ' || reason FROM executions", buf, sizeof buf);
    assert_non_null(strstr(buf, "failed: strategy stage: "));
    assert_non_null(strstr(buf, "restart.lua:2: broken on_start (in on_start: AAPL is not traded"));
    /* Recorded at the first bar after the warm-up (the 21st), not on history. */
    assert_true(fx_query_int(h, "SELECT created_at FROM executions") >=
                (T0 + 60L * 20) * 1000000LL);
    sqlite3_close(h);
}

/* ---- failures do not flood the store or the log ---- */

/* The reported case: the error names the bar's time, so no two are alike. Ten hours of
 * one-minute bars used to make 600 failed executions and 600 error lines. */
static void test_a_failure_flood_is_summarised(void **state)
{
    (void)state;
    fx_write("flood.lua", "return { on_bar = function(ctx, bar)\n"
                          "  error('no data for ' .. bar.time)\n"
                          "end }\n");
    write_pipeline_full("flood_pipeline.lua", "flood", "flood.lua", "'AAPL'", "ten_hours.csv",
                        NULL);
    fx_capture_begin("flood.out");
    int code = fx_backtest("flood_pipeline.lua", "flood.db");
    fx_capture_end();
    assert_int_equal(code, EXIT_OK);
    sqlite3 *h = fx_open_db("flood.db");
    char buf[1024];
    /* The first burst is recorded one by one, with the script's file and line... */
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM executions"), SCRIPT_FAILURES_BURST);
    assert_int_equal(fx_query_int(h,
                                  "SELECT count(*) FROM executions WHERE status = 'failed' "
                                  "AND reason LIKE 'strategy stage: %flood.lua:2: no data for %'"),
                     SCRIPT_FAILURES_BURST);
    /* ...the rest in summaries: after 1, 2, 4, 8, 16 and 32 minutes, then hourly, and at the
     * end of the run (unit.test_script_failures has the arithmetic). */
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM events WHERE kind = 'script_errors'"),
                     15);
    fx_query_text(h, "SELECT message FROM events WHERE kind = 'script_errors' ORDER BY id LIMIT 1",
                  buf, sizeof buf);
    assert_non_null(strstr(buf, "strategy failed 1 more time in the minute from 2024-03-04 "
                                "14:35:00, counted but not recorded one by one (6 failures in "
                                "all, 5 recorded); last error: "));
    assert_non_null(strstr(buf, "flood.lua:2: no data for 1709562900"));
    fx_query_text(h,
                  "SELECT message FROM events WHERE kind = 'script_errors' ORDER BY id DESC "
                  "LIMIT 1",
                  buf, sizeof buf);
    assert_non_null(strstr(buf, "(600 failures in all, 5 recorded)"));
    /* Every failure is counted where `status` reads it. */
    assert_int_equal(fx_query_int(h, "SELECT failures FROM script_failures WHERE pipeline = "
                                     "'flood' AND stage = 'strategy'"),
                     600);
    assert_int_equal(fx_query_int(h, "SELECT recorded FROM script_failures WHERE pipeline = "
                                     "'flood' AND stage = 'strategy'"),
                     SCRIPT_FAILURES_BURST);
    sqlite3_close(h);
    /* The log: one error line per recorded failure and per summary, and the summary. */
    assert_int_equal(fx_count_lines("flood.out", "AAPL: strategy stage failed: "),
                     SCRIPT_FAILURES_BURST);
    assert_int_equal(fx_count_lines("flood.out", "flood: strategy failed "), 15);
    assert_int_equal(fx_count_lines("flood.out", "script failures: strategy 600 (5 recorded, "
                                                 "595 summarised); last: "),
                     1);

    /* apex-host status shows them. */
    char err[512];
    store *st = store_open(fx_path("flood.db"), STORE_DURABLE, err, sizeof err);
    assert_non_null(st);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_int_equal(cli_status_print(st, out, 5, NULL), 0);
    fclose(out);
    store_close(st);
    const char *section = strstr(text, "SCRIPT FAILURES\n");
    assert_non_null(section);
    const char *row = strstr(section, "flood");
    assert_non_null(row);
    assert_true(strstr(row, "strategy") < strstr(row, "600"));
    assert_non_null(strstr(row, "595"));
    free(text);
}

/* The same message on every bar: recorded once (as before), and the repeats are no longer
 * silent: they are summarised. */
static void test_a_repeated_failure_is_recorded_once(void **state)
{
    (void)state;
    fx_write("same.lua", "return { on_bar = function(ctx, bar) error('always') end }\n");
    write_pipeline_full("same_pipeline.lua", "same", "same.lua", "'AAPL'", "ten_hours.csv", NULL);
    assert_int_equal(fx_backtest("same_pipeline.lua", "same.db"), EXIT_OK);
    sqlite3 *h = fx_open_db("same.db");
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM executions"), 1);
    assert_true(fx_query_int(h, "SELECT count(*) FROM events WHERE kind = 'script_errors'") > 0);
    assert_int_equal(fx_query_int(h, "SELECT failures FROM script_failures"), 600);
    assert_int_equal(fx_query_int(h, "SELECT recorded FROM script_failures"), 1);
    sqlite3_close(h);
}

/* An instruction rule that fails at every monitoring check of an open position (on every
 * one-minute bar, for six hours) recorded a rule_error event per check. */
static void test_a_failing_rule_is_summarised(void **state)
{
    (void)state;
    fx_write("hold.lua",
             "return { on_bar = function(ctx, bar)\n"
             "  ctx.state.n = (ctx.state.n or 0) + 1\n"
             "  if ctx.state.n == 2 then\n"
             "    return { side = 'buy', qty = 10, stop_loss = 50, take_profit = 200 }\n"
             "  end\n"
             "end }\n");
    fx_write("broken_rule.lua", "return { name = 'broken', check = function(m, position)\n"
                                "  error('broken at ' .. m.now())\n"
                                "end }\n");
    write_pipeline_full("rule_pipeline.lua", "rule", "hold.lua", "'AAPL'", "ten_hours.csv",
                        "instructions = { { file = 'broken_rule.lua' } },");
    assert_int_equal(fx_backtest("rule_pipeline.lua", "rule.db"), EXIT_OK);
    sqlite3 *h = fx_open_db("rule.db");
    /* The position was held and checked (on every bar) until the session close. */
    char buf[256];
    fx_query_text(h, "SELECT status || ': ' || reason FROM executions", buf, sizeof buf);
    assert_non_null(strstr(buf, "completed: time_based_urgent"));
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM events WHERE kind = 'rule_error'"),
                     SCRIPT_FAILURES_BURST);
    assert_true(fx_query_int(h, "SELECT count(*) FROM events WHERE kind = 'script_errors' AND "
                                "message LIKE 'rules failed %'") > 0);
    assert_true(fx_query_int(h, "SELECT failures FROM script_failures WHERE stage = 'rules'") >
                300);
    assert_int_equal(fx_query_int(h, "SELECT recorded FROM script_failures WHERE stage = 'rules'"),
                     SCRIPT_FAILURES_BURST);
    sqlite3_close(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tiny_qty_is_an_error_not_a_full_position),
        cmocka_unit_test(test_tiny_prices_are_errors_not_defaults),
        cmocka_unit_test(test_huge_values_are_out_of_range),
        cmocka_unit_test(test_failing_on_start_fails_its_symbol_once),
        cmocka_unit_test(test_on_start_failing_in_warm_up_is_recorded_after_it),
        cmocka_unit_test(test_a_failure_flood_is_summarised),
        cmocka_unit_test(test_a_repeated_failure_is_recorded_once),
        cmocka_unit_test(test_a_failing_rule_is_summarised),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
