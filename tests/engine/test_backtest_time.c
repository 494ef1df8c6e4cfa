/* Backtests whose time follows the data (issue 9): daily bars with every default, checks
 * that cost O(bars), results that do not depend on the monitoring cadence, drawdown that
 * counts losses realized between bars, exit orders that rest a bar before they walk, and
 * the session-close rules that only intraday bars can act on.
 *
 * Bars here carry no bid/ask columns, as daily data usually does. Expectations are read
 * from the data and the store, so they hold under either fill model. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine_fixture.h"

#define DAY 86400L
/* 2020-01-01T00:00:00Z */
#define T0 1577836800L

/* A wave with a drift: long trends up and down, so trades are held for days and close on
 * their stops, targets and trailing stops. */
static void write_daily(const char *name, int nbars)
{
    fx_csv c;
    fx_csv_open(&c, name);
    double prev = 100.0;
    for (int i = 0; i < nbars; i++) {
        double close = 100.0 + 12.0 * sin(i / 9.0) + 0.04 * i;
        double open = prev;
        double hi = (open > close ? open : close) + 0.6;
        double lo = (open < close ? open : close) - 0.6;
        fx_csv_bar(&c, T0 + i * DAY, "DLY", open, hi, lo, close, 1500000);
        prev = close;
    }
    fx_csv_close(&c);
}

/* Buys every 25th bar when flat; everything else is the pipeline's defaults. */
static const char *BUY_EVERY = "local M = {}\n"
                               "function M.on_bar(ctx, bar)\n"
                               "  ctx.state.n = (ctx.state.n or 0) + 1\n"
                               "  if ctx.state.n % 25 == 0 and not ctx.position then\n"
                               "    return { side = 'buy', reason = 'bar ' .. ctx.state.n }\n"
                               "  end\n"
                               "end\n"
                               "return M\n";

static void write_pipeline(const char *file, const char *data, const char *strategy,
                           const char *extra)
{
    char text[2048];
    snprintf(text, sizeof text,
             "return apex.pipeline {\n"
             "  name = 'daily', symbols = { 'DLY' },\n"
             "  data = { files = { '%s' } },\n"
             "  strategy = '%s',\n"
             "%s"
             "}\n",
             data, strategy, extra ? extra : "");
    fx_write(file, text);
}

/* The number after `label` on the first line of the captured run that starts with it. */
static double summary_number(const char *capture, const char *label)
{
    FILE *f = fopen(fx_path(capture), "r");
    assert_non_null(f);
    char line[1024];
    double v = -1;
    while (fgets(line, sizeof line, f)) {
        const char *at = line + strspn(line, " ");
        if (strncmp(at, label, strlen(label)) == 0) {
            v = strtod(at + strlen(label), NULL);
            break;
        }
    }
    fclose(f);
    assert_true(v >= 0);
    return v;
}

static int run_captured(const char *pipeline, const char *db, const char *capture)
{
    fx_capture_begin(capture);
    int rc = fx_backtest(pipeline, db);
    fx_capture_end();
    return rc;
}

static int setup(void **state)
{
    (void)state;
    fx_make_dir("backtest_time");
    fx_write("buy_every.lua", BUY_EVERY);
    write_daily("daily.csv", 400);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fx_remove_dir();
    return 0;
}

/* Every default on daily bars: trades are held across days, closed by conditions that
 * daily data can trigger, and the monitor checks about once per bar, not every 30 s. */
static void test_daily_defaults_hold_trades_across_days(void **state)
{
    (void)state;
    write_pipeline("defaults.lua", "daily.csv", "buy_every.lua", NULL);
    assert_int_equal(run_captured("defaults.lua", "defaults.db", "defaults.out"), 0);
    sqlite3 *h = fx_open_db("defaults.db");
    long long closed = fx_query_int(h, "SELECT count(*) FROM positions WHERE status = 'closed'");
    assert_true(closed >= 5);
    /* Held across days: none closed on the bar it was opened on. */
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM positions WHERE status = 'closed' "
                                     "AND closed_at - opened_at < 86400000000"),
                     0);
    /* Conditions about the time within a session, or a spread the simulation assumed,
     * never close a daily trade. */
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM position_exits WHERE exit_reason IN "
                                     "('time_based_urgent', 'liquidity_dried_up')"),
                     0);
    sqlite3_close(h);
    double bars = summary_number("defaults.out", "bars ");
    double checks = summary_number("defaults.out", "monitor checks ");
    assert_int_equal((int)bars, 400);
    assert_true(checks > 0);
    assert_true(checks <= bars); /* at most one per bar with a position (was ~1.15M) */
    assert_int_equal(fx_count_lines("defaults.out", "SESSION  bars every 1 d (detected)"), 1);
}

static void fills_of(const char *db, char *out, size_t n)
{
    sqlite3 *h = fx_open_db(db);
    fx_query_text(h,
                  "SELECT group_concat(side || ' ' || qty || ' @ ' || price || ' t' || ts, '; ') "
                  "FROM (SELECT * FROM fills ORDER BY ts, id)",
                  out, n);
    sqlite3_close(h);
}

/* The same data gives the same trades whatever the monitoring cadence: checks follow the
 * bars, not a timer. */
static void test_results_do_not_depend_on_the_cadence(void **state)
{
    (void)state;
    write_pipeline("fast.lua", "daily.csv", "buy_every.lua",
                   "  monitoring = { normal_frequency = 5, urgent_frequency = 1 },\n");
    write_pipeline("slow.lua", "daily.csv", "buy_every.lua",
                   "  monitoring = { normal_frequency = 86400, urgent_frequency = 86400 },\n");
    assert_int_equal(run_captured("fast.lua", "fast.db", "fast.out"), 0);
    assert_int_equal(run_captured("slow.lua", "slow.db", "slow.out"), 0);
    static char a[65536], b[65536];
    fills_of("fast.db", a, sizeof a);
    fills_of("slow.db", b, sizeof b);
    assert_true(strlen(a) > 100);
    assert_string_equal(a, b);
}

/* A stop filled on a gap, between two bars with no open position at either close: the
 * loss is in the max drawdown (it read 0.00 before equity was marked on fills). */
static void test_drawdown_counts_a_loss_realized_between_bars(void **state)
{
    (void)state;
    fx_csv c;
    fx_csv_open(&c, "gap.csv");
    for (int i = 0; i < 40; i++) {
        double o = 100, h = 100.5, l = 99.5, cl = 100;
        if (i == 27) { /* gaps through the stop at 98: filled at the open, 90 */
            o = 90;
            h = 91;
            l = 89;
            cl = 90.5;
        } else if (i > 27) {
            o = h = l = cl = 90.5;
            h += 0.2;
            l -= 0.2;
        }
        fx_csv_bar(&c, T0 + i * DAY, "DLY", o, h, l, cl, 1000000);
    }
    fx_csv_close(&c);
    fx_write("buy25.lua",
             "return { on_bar = function(ctx, bar)\n"
             "  ctx.state.n = (ctx.state.n or 0) + 1\n"
             "  if ctx.state.n == 25 then\n"
             "    return { side = 'buy', qty = 100, stop_loss = 98, take_profit = 120 }\n"
             "  end\n"
             "end }\n");
    write_pipeline("gap.lua", "gap.csv", "buy25.lua",
                   "  broker = { spread_bps = 0, slippage_bps = 0 },\n");
    assert_int_equal(run_captured("gap.lua", "gap.db", "gap.out"), 0);
    sqlite3 *h = fx_open_db("gap.db");
    long long realized = fx_query_int(h, "SELECT sum(realized_pnl) FROM executions");
    long long exit_price = fx_query_int(h, "SELECT price FROM fills WHERE side = 'sell'");
    sqlite3_close(h);
    assert_true(exit_price == 9000000000LL); /* the open of the gap bar */
    assert_true(realized < 0);
    double dd = summary_number("gap.out", "max drawdown ");
    /* Marked at closes of 100 while open, then the loss: the drawdown is exactly it. */
    assert_true(dd > 0);
    assert_true(fabs(dd - (double)-realized / 1e8) < 0.005);
}

/* An exit on daily bars that cannot fill: one order per bar at most, every attempt ends
 * in its order's final status, and the position's exit priority follows the escalation. */
static void test_daily_exit_walks_one_order_per_bar(void **state)
{
    (void)state;
    fx_csv c;
    fx_csv_open(&c, "fall.csv");
    double px = 100;
    for (int i = 0; i < 90; i++) {
        if (i < 25) {
            fx_csv_bar(&c, T0 + i * DAY, "DLY", 100, 100.2, 99.8, 100, 1000000);
            continue;
        }
        /* Falls a dollar a day and never trades back up to the previous close: a sell
         * limit at or above the last price rests unfilled. */
        double o = px - 1, cl = px - 1.5;
        fx_csv_bar(&c, T0 + i * DAY, "DLY", o, o, cl - 0.2, cl, 1000000);
        px = cl;
    }
    fx_csv_close(&c);
    fx_write("sour.lua",
             "return {\n"
             "  on_bar = function(ctx, bar)\n"
             "    ctx.state.n = (ctx.state.n or 0) + 1\n"
             "    if ctx.state.n == 24 then\n"
             "      return { side = 'buy', qty = 10, stop_loss = 1, take_profit = 500 }\n"
             "    end\n"
             "  end,\n"
             "  edge = function(ctx, position) return -1 end,\n"
             "}\n");
    write_pipeline("fall.lua", "fall.csv", "sour.lua",
                   "  exits = { trailing_stop = { enabled = false },\n"
                   "            partial_exits = { enabled = false } },\n");
    assert_int_equal(run_captured("fall.lua", "fall.db", "fall.out"), 0);
    sqlite3 *h = fx_open_db("fall.db");
    long long attempts = fx_query_int(h, "SELECT count(*) FROM exit_attempts");
    assert_true(attempts > 10); /* LOW walks, escalates, then goes to market */
    /* Never two orders on one bar. */
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM (SELECT placed_at FROM exit_attempts "
                                     "GROUP BY placed_at HAVING count(*) > 1)"),
                     0);
    /* Every attempt ends in its order's final status. */
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM exit_attempts a JOIN orders o ON "
                                     "o.client_order_id = a.client_order_id "
                                     "WHERE a.status IS NOT o.status"),
                     0);
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM exit_attempts WHERE status NOT IN "
                                     "('filled', 'cancelled')"),
                     0);
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM exit_attempts WHERE status = 'filled'"),
                     1);
    /* Started LOW (edge_disappeared), escalated; the position says where it ended. */
    char first[32], last[32], pos[32];
    fx_query_text(h,
                  "SELECT exit_priority FROM exit_attempts a JOIN position_exits e USING "
                  "(exit_id) LIMIT 1",
                  first, sizeof first);
    fx_query_text(h, "SELECT exit_priority FROM position_exits ORDER BY exit_id DESC LIMIT 1", last,
                  sizeof last);
    fx_query_text(h, "SELECT exit_priority FROM positions", pos, sizeof pos);
    assert_string_equal(last, "HIGH");
    assert_string_equal(pos, last);
    (void)first;
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM positions WHERE status = 'closed'"), 1);
    sqlite3_close(h);
}

/* One-minute bars: the session-close window applies. Entries inside it are skipped with
 * the reason, and a position open when it starts is closed by time_based_urgent. */
static void test_minute_bars_keep_the_session_close_rules(void **state)
{
    (void)state;
    fx_csv c;
    fx_csv_open(&c, "minutes.csv");
    long day = T0 + 2 * DAY;                /* a Friday */
    for (int m = 20 * 60; m < 21 * 60; m++) /* 20:00 .. 20:59 UTC */
        fx_csv_bar(&c, day + m * 60L, "DLY", 100, 100.05, 99.95, 100, 50000);
    fx_csv_close(&c);
    /* Buys on the 10th bar (20:09) and tries again every bar from 20:56. */
    fx_write("late.lua", "return { on_bar = function(ctx, bar)\n"
                         "  ctx.state.n = (ctx.state.n or 0) + 1\n"
                         "  if (ctx.state.n == 10 or ctx.state.n >= 57) and not ctx.position then\n"
                         "    return { side = 'buy', qty = 10 }\n"
                         "  end\n"
                         "end }\n");
    write_pipeline("late_pipeline.lua", "minutes.csv", "late.lua", NULL);
    assert_int_equal(run_captured("late_pipeline.lua", "late.db", "late.out"), 0);
    sqlite3 *h = fx_open_db("late.db");
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM position_exits WHERE exit_reason = "
                                     "'time_based_urgent'"),
                     1);
    long long skipped = fx_query_int(h, "SELECT count(*) FROM executions WHERE status = 'skipped' "
                                        "AND reason LIKE 'session: inside the 5 min before%'");
    assert_true(skipped >= 1);
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM executions WHERE status IN "
                                     "('completed', 'monitoring')"),
                     1);
    sqlite3_close(h);
    assert_int_equal(fx_count_lines("late.out", "SESSION"), 0); /* nothing to warn about */
}

/* The trailing stop arms on a jump and is compared with the price of the same bar, never
 * with the bar before it (which is below the new stop): it fires only when the price
 * really falls through it. */
static void test_trailing_stop_compares_the_current_price(void **state)
{
    (void)state;
    fx_csv c;
    fx_csv_open(&c, "jump.csv");
    long day = T0 + 2 * DAY;
    for (int i = 0; i < 60; i++) {
        double px = i < 20 ? 100 : i < 40 ? 106 : 102;
        fx_csv_bar(&c, day + 14 * 3600L + i * 60L, "DLY", px, px + 0.02, px - 0.02, px, 50000);
    }
    fx_csv_close(&c);
    fx_write("hold10.lua",
             "return { on_bar = function(ctx, bar)\n"
             "  ctx.state.n = (ctx.state.n or 0) + 1\n"
             "  if ctx.state.n == 10 then\n"
             "    return { side = 'buy', qty = 10, stop_loss = 90, take_profit = 150 }\n"
             "  end\n"
             "end }\n");
    write_pipeline("jump.lua", "jump.csv", "hold10.lua",
                   "  broker = { spread_bps = 0, slippage_bps = 0 },\n"
                   "  exits = { partial_exits = { enabled = false } },\n");
    assert_int_equal(run_captured("jump.lua", "jump.db", "jump.out"), 0);
    sqlite3 *h = fx_open_db("jump.db");
    /* Armed at the jump to 106 (+6%), 3% below: 102.82. Fired at the first bar at 102. */
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM position_exits"), 1);
    char reason[64];
    fx_query_text(h, "SELECT exit_reason FROM position_exits", reason, sizeof reason);
    assert_string_equal(reason, "trailing_stop");
    long long fired = fx_query_int(h, "SELECT triggered_at FROM position_exits") / 1000000;
    assert_int_equal(fired, day + 14 * 3600L + 40 * 60L);
    char detail[256];
    fx_query_text(h, "SELECT detail FROM position_exits", detail, sizeof detail);
    assert_string_equal(detail,
                        "trailing_stop: price 102.00 <= trailing stop 102.82 (peak 106.00)");
    sqlite3_close(h);
}

/* A trade closed at its entry price with no costs made nothing: breakeven, not a loss. */
static void test_zero_pnl_is_breakeven(void **state)
{
    (void)state;
    fx_csv c;
    fx_csv_open(&c, "flat.csv");
    for (int i = 0; i < 20; i++)
        fx_csv_bar(&c, T0 + i * DAY, "DLY", 50, 50.5, 49.5, 50, 1000000);
    fx_csv_close(&c);
    fx_write("in_out.lua",
             "return { on_bar = function(ctx, bar)\n"
             "  ctx.state.n = (ctx.state.n or 0) + 1\n"
             "  if ctx.state.n == 5 then return { side = 'buy', qty = 10 } end\n"
             "  if ctx.state.n == 10 then return { side = 'close', reason = 'done' } end\n"
             "end }\n");
    write_pipeline("flat.lua", "flat.csv", "in_out.lua",
                   "  broker = { spread_bps = 0, slippage_bps = 0 },\n");
    assert_int_equal(run_captured("flat.lua", "flat.db", "flat.out"), 0);
    sqlite3 *h = fx_open_db("flat.db");
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM executions WHERE status = 'completed' "
                                     "AND realized_pnl = 0"),
                     1);
    sqlite3_close(h);
    assert_int_equal(fx_count_lines("flat.out", "trades 1  wins 0  losses 0  breakeven 1"), 1);
}

/* `check` says it before anything runs: it reads the start of the data for the interval. */
static void test_check_warns_about_session_rules_on_daily_bars(void **state)
{
    (void)state;
    write_pipeline("checked.lua", "daily.csv", "buy_every.lua", NULL);
    char path[600];
    snprintf(path, sizeof path, "%s", fx_path("checked.lua"));
    const char *paths[] = {path};
    fx_capture_begin("check.out");
    int rc = host_check(paths, 1, false, NULL, 0);
    fx_capture_end();
    assert_int_equal(rc, EXIT_OK);
    assert_int_equal(fx_count_lines("check.out", "SESSION  bars every 1 d (detected)"), 1);
    assert_int_equal(fx_count_lines("check.out", "checked.lua: ok: pipeline 'daily'"), 1);
}

/* A series that never trades volume (an index, FX) and has no bid/ask: no default exit
 * takes it for a market that dried up. */
static void test_no_volume_series_is_not_illiquid(void **state)
{
    (void)state;
    fx_csv c;
    fx_csv_open(&c, "index.csv");
    long day = T0 + 2 * DAY;
    for (int i = 0; i < 120; i++)
        fx_csv_bar(&c, day + 15 * 3600L + i * 60L, "DLY", 4500, 4501, 4499, 4500, 0);
    fx_csv_close(&c);
    fx_write("buy3.lua", "return { on_bar = function(ctx, bar)\n"
                         "  ctx.state.n = (ctx.state.n or 0) + 1\n"
                         "  if ctx.state.n == 3 then return { side = 'buy', qty = 1 } end\n"
                         "end }\n");
    write_pipeline("index.lua", "index.csv", "buy3.lua", NULL);
    assert_int_equal(run_captured("index.lua", "index.db", "index.out"), 0);
    sqlite3 *h = fx_open_db("index.db");
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM position_exits"), 0);
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM positions WHERE status = 'open'"), 1);
    sqlite3_close(h);
}

/* A timeframe that is not one is a clear error naming the field. */
static void test_bad_timeframe_is_an_error(void **state)
{
    (void)state;
    fx_write("bad.lua", "return apex.pipeline {\n"
                        "  name = 'bad', symbols = { 'DLY' },\n"
                        "  data = { files = { 'daily.csv' }, timeframe = '1 day' },\n"
                        "  strategy = 'buy_every.lua',\n"
                        "}\n");
    int rc = run_captured("bad.lua", "bad.db", "bad.out");
    assert_int_not_equal(rc, 0);
    assert_int_equal(fx_count_lines("bad.out", "data.timeframe: '1 day' is not a bar interval"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_daily_defaults_hold_trades_across_days),
        cmocka_unit_test(test_results_do_not_depend_on_the_cadence),
        cmocka_unit_test(test_drawdown_counts_a_loss_realized_between_bars),
        cmocka_unit_test(test_daily_exit_walks_one_order_per_bar),
        cmocka_unit_test(test_minute_bars_keep_the_session_close_rules),
        cmocka_unit_test(test_trailing_stop_compares_the_current_price),
        cmocka_unit_test(test_zero_pnl_is_breakeven),
        cmocka_unit_test(test_check_warns_about_session_rules_on_daily_bars),
        cmocka_unit_test(test_no_volume_series_is_not_illiquid),
        cmocka_unit_test(test_bad_timeframe_is_an_error),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
