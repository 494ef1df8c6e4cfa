/* Stops the strategy controls (issue 13, item 1): the built-in chandelier trailing stop
 * (exits.trailing_stop.mode = "chandelier") and a strategy's own stop(ctx, position). Whole
 * pipelines on bars written here, backtested once per prefix of the bars, so the stop the
 * store holds after each bar is read back and compared with the level computed here from the
 * bars: Wilder's ATR and the highest high, or the strategy's rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "engine_fixture.h"

#define T0   1709562600L /* Mon 2024-03-04 14:30 UTC */
#define UNIT 100000000LL /* fixed point: 1.0 */
#define CENT 1000000LL   /* fixed point: 0.01, the tick */

static int setup(void **state)
{
    (void)state;
    fx_make_dir("test-strategy-stops");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fx_remove_dir();
    return 0;
}

/* One-minute AAPL bars, prices in cents. */
typedef struct {
    long o, h, l, c;
} cbar;

static void write_bars(const cbar *b, int n)
{
    fx_csv c;
    fx_csv_open(&c, "bars.csv");
    for (int i = 0; i < n; i++)
        fx_csv_bar(&c, T0 + 60L * i, "AAPL", b[i].o / 100.0, b[i].h / 100.0, b[i].l / 100.0,
                   b[i].c / 100.0, 1000);
    fx_csv_close(&c);
}

/* A strategy that buys 100 at market on its 5th bar (stop 90, target 200) and has the
 * extra callbacks in `more`. No spread, no slippage: the entry fills at the 6th bar's open. */
static void write_pipeline(const char *exits, const char *more)
{
    char text[4096];
    snprintf(text, sizeof text,
             "local M = {}\n"
             "function M.on_bar(ctx, bar)\n"
             "  ctx.state.n = (ctx.state.n or 0) + 1\n"
             "  if ctx.state.n == 5 then\n"
             "    return { side = 'buy', qty = 100, stop_loss = 90, take_profit = 200 }\n"
             "  end\n"
             "end\n"
             "%s\n"
             "return M\n",
             more);
    fx_write("strategy.lua", text);
    snprintf(text, sizeof text,
             "return apex.pipeline {\n"
             "  name = 'stops', symbols = { 'AAPL' },\n"
             "  data = { files = { 'bars.csv' } },\n"
             "  strategy = 'strategy.lua',\n"
             "  broker = { starting_cash = 100000, spread_bps = 0, slippage_bps = 0 },\n"
             "  risk = { max_position_pct = 1, max_risk_pct = 1 },\n"
             "  monitoring = { max_api_calls_per_minute = 10000 },\n"
             "  exits = { partial_exits = { enabled = false }, liquidity = { max_spread = 1 },\n"
             "            %s },\n"
             "}\n",
             exits);
    fx_write("pipeline.lua", text);
}

/* Backtests the first n bars into a fresh store and returns it. */
static sqlite3 *backtest_prefix(const cbar *b, int n)
{
    write_bars(b, n);
    assert_int_equal(fx_backtest("pipeline.lua", "stops.db"), EXIT_OK);
    return fx_open_db("stops.db");
}

static long long stop_in_store(sqlite3 *h)
{
    return fx_query_int(h, "SELECT trailing_stop_price FROM positions");
}

/* ---- the chandelier ---- */

static const cbar chandelier_bars[] = {
    {10000, 10050, 9950, 10000},  {10000, 10050, 9950, 10000},  {10000, 10050, 9950, 10000},
    {10000, 10050, 9950, 10000},  {10000, 10050, 9950, 10000},  /* bar 4 signals */
    {10000, 10150, 9980, 10100},                                /* bar 5: filled at its open */
    {10100, 10300, 10080, 10250}, {10250, 10500, 10200, 10450}, /* new highs */
    {10450, 10480, 10100, 10300}, /* a lower high and a wide range: the level falls */
    {10300, 10400, 9900, 10350},  /* wider still */
    {10350, 10700, 10300, 10650}, /* a new high: the stop rises again */
    {10650, 10660, 10000, 10050}, /* closes below the stop: trailing_stop */
    {10050, 10100, 9950, 10000},  {10000, 10050, 9950, 10000},
};
#define NCH ((int)(sizeof chandelier_bars / sizeof *chandelier_bars))

/* Wilder's ATR(n) after bar k, the first true range being the first bar's high - low, as
 * apex.ta's atr and the "ATR" mean; in dollars. */
static double wilder_atr(const cbar *b, int k, int n)
{
    double atr = 0, sum = 0;
    for (int i = 0; i <= k; i++) {
        double tr = (b[i].h - b[i].l) / 100.0;
        if (i > 0) {
            double pc = b[i - 1].c / 100.0;
            tr = fmax(tr, fmax(fabs(b[i].h / 100.0 - pc), fabs(b[i].l / 100.0 - pc)));
        }
        if (i < n) {
            sum += tr;
            if (i == n - 1)
                atr = sum / n;
        } else {
            atr = (atr * (n - 1) + tr) / n;
        }
    }
    return atr;
}

/* The chandelier level after bar k: the highest high of the last n bars minus m ATRs,
 * rounded down to the cent (away from the price), in fixed point. */
static long long chandelier_level(const cbar *b, int k, int n, double m)
{
    long hh = 0;
    for (int i = k - n + 1; i <= k; i++)
        if (b[i].h > hh)
            hh = b[i].h;
    double level = hh / 100.0 - m * wilder_atr(b, k, n);
    double cents = level * 100.0;
    /* Not within rounding noise of a cent, where fixed and floating point could disagree. */
    assert_true(fabs(cents - round(cents)) > 1e-6);
    return (long long)floor(cents) * CENT;
}

static void test_chandelier_follows_the_highs_and_never_loosens(void **state)
{
    (void)state;
    write_pipeline("trailing_stop = { mode = 'chandelier', period = 3, multiplier = 1, "
                   "activation_pct = 0 }",
                   "");
    long long expect = 0;
    bool loosened_raw = false, rose = false;
    for (int k = 5; k <= 10; k++) {
        long long level = chandelier_level(chandelier_bars, k, 3, 1.0);
        if (expect && level < expect)
            loosened_raw = true; /* the raw level fell: the stop must stay */
        if (expect && level > expect)
            rose = true;
        if (level > expect)
            expect = level;
        sqlite3 *h = backtest_prefix(chandelier_bars, k + 1);
        long long got = stop_in_store(h);
        if (got != expect)
            fail_msg("after bar %d: stop %lld, expected %lld (raw level %lld)", k, got, expect,
                     level);
        assert_int_equal(fx_query_int(h, "SELECT trailing_stop_active FROM positions"), 1);
        sqlite3_close(h);
    }
    /* The bars were built to test both directions. */
    assert_true(loosened_raw);
    assert_true(rose);

    /* Bar 11 closes at 100.50, below the stop: the HIGH trailing_stop exit, at that bar. */
    sqlite3 *h = backtest_prefix(chandelier_bars, NCH);
    char buf[512];
    fx_query_text(h, "SELECT exit_reason || '|' || exit_priority FROM position_exits", buf,
                  sizeof buf);
    assert_string_equal(buf, "trailing_stop|HIGH");
    assert_int_equal(fx_query_int(h, "SELECT triggered_at FROM position_exits"),
                     (T0 + 60L * 11) * 1000000LL);
    fx_query_text(h, "SELECT detail FROM position_exits", buf, sizeof buf);
    char want[128];
    snprintf(want, sizeof want, "trailing stop %lld.%02lld", expect / UNIT, (expect % UNIT) / CENT);
    if (!strstr(buf, want))
        fail_msg("detail '%s' lacks '%s'", buf, want);
    assert_int_equal(stop_in_store(h), expect);
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM fills WHERE side = 'sell'") > 0, 1);
    sqlite3_close(h);
}

/* ---- the strategy's stop: break-even at +1R ---- */

static const cbar be_bars[] = {
    {10000, 10050, 9950, 10000},  {10000, 10050, 9950, 10000}, {10000, 10050, 9950, 10000},
    {10000, 10050, 9950, 10000},  {10000, 10050, 9950, 10000}, /* bar 4 signals, stop 90 */
    {10000, 10150, 9980, 10100},                               /* 5: filled at 100.00 */
    {10100, 10350, 10080, 10300},                              /* 6: +3%, short of +1R (110) */
    {10300, 11050, 10280, 11020},                              /* 7: 110.20 >= 110: break-even */
    {11020, 11050, 10650, 10700},                              /* 8 */
    {10700, 10720, 10150, 10200},                              /* 9 */
    {10200, 10210, 9940, 9950},                                /* 10: 99.50 <= 100: out */
    {9950, 10000, 9900, 9950},    {9950, 10000, 9900, 9950},
};
#define NBE ((int)(sizeof be_bars / sizeof *be_bars))

/* Break-even once the price has been 1R (entry - stop_loss) above the entry; after that
 * it asks for a looser level on every check, which must be ignored, unless
 * LOOSEN marks it loosen = true from bar 9 on. */
static const char BREAK_EVEN[] =
    "function M.stop(ctx, position)\n"
    "  local r = position.entry_price - position.stop_loss\n"
    "  if position.current_price >= position.entry_price + r then ctx.state.be = true end\n"
    "  if not ctx.state.be then return nil end\n"
    "  if ctx.state.n >= 10 and LOOSEN then -- bar 9 on\n"
    "    return { price = position.entry_price - 2, loosen = true }\n"
    "  end\n"
    "  ctx.state.asked = (ctx.state.asked or 0) + 1\n"
    "  if ctx.state.asked == 1 then return position.entry_price end\n"
    "  return position.entry_price - 1 -- looser: ignored\n"
    "end\n";

static void test_strategy_stop_moves_to_break_even_at_1r(void **state)
{
    (void)state;
    char more[1024];
    snprintf(more, sizeof more, "local LOOSEN = false\n%s", BREAK_EVEN);
    write_pipeline("trailing_stop = { enabled = false }", more);
    /* Before +1R the strategy returns nil: no stop beside the execution's 90. */
    for (int k = 5; k <= 6; k++) {
        sqlite3 *h = backtest_prefix(be_bars, k + 1);
        assert_int_equal(stop_in_store(h), 0);
        assert_int_equal(fx_query_int(h, "SELECT stop_loss FROM executions"), 90 * UNIT);
        sqlite3_close(h);
    }
    /* From bar 7 on: 100.00, the entry, and it stays there although the strategy then asks
     * for 99.00 on every check. */
    for (int k = 7; k <= 9; k++) {
        sqlite3 *h = backtest_prefix(be_bars, k + 1);
        assert_int_equal(stop_in_store(h), 100 * UNIT);
        assert_int_equal(fx_query_int(h, "SELECT entry_price FROM positions"), 100 * UNIT);
        assert_int_equal(fx_query_int(h, "SELECT count(*) FROM events WHERE kind = 'stop' AND "
                                         "message LIKE '%stop set at 100%'"),
                         1);
        sqlite3_close(h);
    }
    /* Bar 10 closes at 99.50: out at HIGH, named as the strategy's stop. */
    sqlite3 *h = backtest_prefix(be_bars, NBE);
    char buf[512];
    fx_query_text(h,
                  "SELECT exit_reason || '|' || exit_priority || '|' || status FROM position_exits",
                  buf, sizeof buf);
    assert_string_equal(buf, "trailing_stop|HIGH|filled");
    fx_query_text(h, "SELECT detail FROM position_exits", buf, sizeof buf);
    if (!strstr(buf, "the strategy's stop 100"))
        fail_msg("detail: %s", buf);
    assert_int_equal(fx_query_int(h, "SELECT triggered_at FROM position_exits"),
                     (T0 + 60L * 10) * 1000000LL);
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM positions WHERE status = 'closed'"), 1);
    sqlite3_close(h);
}

/* loosen = true is the only way down: from bar 9 the stop is 98. */
static void test_strategy_stop_loosens_only_when_marked(void **state)
{
    (void)state;
    char more[1024];
    snprintf(more, sizeof more, "local LOOSEN = true\n%s", BREAK_EVEN);
    write_pipeline("trailing_stop = { enabled = false }", more);
    sqlite3 *h = backtest_prefix(be_bars, 9);
    assert_int_equal(stop_in_store(h), 100 * UNIT);
    sqlite3_close(h);
    h = backtest_prefix(be_bars, 10);
    assert_int_equal(stop_in_store(h), 98 * UNIT);
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM events WHERE kind = 'stop' AND "
                                     "message LIKE '%loosened (loosen = true) to 98%from 100%'"),
                     1);
    sqlite3_close(h);
    /* 99.50 at bar 10 is above 98 now: still open at the end. */
    h = backtest_prefix(be_bars, NBE);
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM position_exits"), 0);
    assert_int_equal(fx_query_int(h, "SELECT quantity FROM positions"), 100 * UNIT);
    sqlite3_close(h);
}

/* An error in stop() keeps the last stop and is recorded with file:line. */
static void test_strategy_stop_error_keeps_the_last_stop(void **state)
{
    (void)state;
    write_pipeline("trailing_stop = { enabled = false }",
                   "function M.stop(ctx, position)\n"
                   "  if ctx.state.n >= 8 then error('no swing low yet') end\n"
                   "  if ctx.state.n >= 7 then return 101 end\n"
                   "end\n");
    sqlite3 *h = backtest_prefix(be_bars, 10);
    assert_int_equal(stop_in_store(h), 101 * UNIT);
    char buf[1024];
    fx_query_text(h, "SELECT last_error FROM script_failures WHERE stage = 'edge'", buf,
                  sizeof buf);
    if (!strstr(buf, "strategy.lua:9: no swing low yet"))
        fail_msg("script_failures: %s", buf);
    /* Every failing check was counted (bars 7 to 9: n counts bars from 1). */
    assert_true(fx_query_int(h, "SELECT failures FROM script_failures WHERE stage = 'edge'") >= 1);
    sqlite3_close(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chandelier_follows_the_highs_and_never_loosens),
        cmocka_unit_test(test_strategy_stop_moves_to_break_even_at_1r),
        cmocka_unit_test(test_strategy_stop_loosens_only_when_marked),
        cmocka_unit_test(test_strategy_stop_error_keeps_the_last_stop),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
