/* The SMA(10)/SMA(30) crossover on daily bars, in both fill models, against a trade list
 * this test computes on its own from the bars: buy when the fast average crosses above
 * the slow one, sell when it crosses back below (strategies/ma_cross_exit.lua, which
 * closes its own trade), 100 shares, no costs.
 *
 *   next_open  an order placed on bar i fills at the open of bar i + 1, and on_bar of
 *              bar i + 1 already sees the position (as in backtrader, whose default
 *              broker this mirrors);
 *   close      it fills at bar i's close.
 *
 * The averages are compared exactly, in integer cents (3 * sum10 against sum30), and the
 * bars are chosen so no two averages tie, so the double arithmetic of apex.ta cannot
 * decide a crossing differently. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine_fixture.h"

#define NBARS 800
#define DAY   86400L
#define T0    946857600L /* 2000-01-03T00:00:00Z */

static long opens[NBARS], closes[NBARS]; /* cents */

/* A random walk with trends and overnight gaps, in whole cents. */
static void make_bars(void)
{
    unsigned long long x = 0x5eed1234ULL;
    long px = 10000;
    long drift = 0;
    for (int i = 0; i < NBARS; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        if (i % 40 == 0)
            drift = (long)((x >> 33) % 61) - 30; /* -30 .. +30 cents a day */
        long gap = (long)((x >> 20) % 41) - 20;
        long move = (long)((x >> 40) % 301) - 150 + drift;
        opens[i] = px + gap > 100 ? px + gap : 100;
        closes[i] = opens[i] + move > 100 ? opens[i] + move : 100;
        px = closes[i];
    }
}

static void write_bars(void)
{
    fx_csv c;
    fx_csv_open(&c, "sma.csv");
    for (int i = 0; i < NBARS; i++) {
        double o = opens[i] / 100.0, cl = closes[i] / 100.0;
        double hi = (o > cl ? o : cl) + 0.25, lo = (o < cl ? o : cl) - 0.25;
        fx_csv_bar(&c, T0 + i * DAY, "SMA", o, hi, lo, cl, 2000000);
    }
    fx_csv_close(&c);
}

/* sign(fast - slow) at bar i, exactly: 3 * sum of 10 closes against the sum of 30. */
static int cross_sign(int i)
{
    long s10 = 0, s30 = 0;
    for (int k = i - 29; k <= i; k++) {
        s30 += closes[k];
        if (k > i - 10)
            s10 += closes[k];
    }
    long d = 3 * s10 - s30;
    return d > 0 ? 1 : d < 0 ? -1 : 0;
}

/* The expected fills, "buy <bar> <cents>; sell <bar> <cents>; ...". */
static void expected_fills(bool next_open, char *out, size_t n)
{
    out[0] = '\0';
    size_t used = 0;
    bool held = false;
    for (int i = 30; i < NBARS; i++) {
        int prev = cross_sign(i - 1), now = cross_sign(i);
        assert_int_not_equal(now, 0); /* no ties: see the file comment */
        bool up = prev < 0 && now > 0, down = prev > 0 && now < 0;
        if ((!held && up) || (held && down)) {
            int bar = next_open ? i + 1 : i;
            if (bar >= NBARS)
                break; /* placed on the last bar: nothing left to fill it */
            long px = next_open ? opens[bar] : closes[bar];
            used += (size_t)snprintf(out + used, n - used, "%s%s %d %ld", used ? "; " : "",
                                     held ? "sell" : "buy", bar, px);
            held = !held;
        }
    }
}

static void actual_fills(const char *db, char *out, size_t n)
{
    sqlite3 *h = fx_open_db(db);
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT group_concat(side || ' ' || ((ts / 1000000 - %ld) / %ld) || ' ' || "
             "(price / 1000000), '; ') FROM (SELECT * FROM fills ORDER BY ts, id)",
             (long)T0, DAY);
    fx_query_text(h, sql, out, n);
    /* 100 shares each, and nothing but the strategy's own closes ended a trade. */
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM fills WHERE qty != 10000000000"), 0);
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM position_exits WHERE exit_reason != "
                                     "'strategy_exit'"),
                     0);
    sqlite3_close(h);
}

static void run_mode(const char *fill)
{
    char pipeline[1024], file[64], db[64];
    snprintf(pipeline, sizeof pipeline,
             "return apex.pipeline {\n"
             "  name = 'sma-%s', symbols = { 'SMA' },\n"
             "  data = { files = { 'sma.csv' } },\n"
             "  strategy = { file = '%s/strategies/ma_cross_exit.lua',\n"
             "               params = { fast = 10, slow = 30, qty = 100 } },\n"
             "  broker = { starting_cash = 10000000, spread_bps = 0, slippage_bps = 0,\n"
             "             fill = '%s' },\n"
             "  risk = { max_position_pct = 1, max_risk_pct = 1 },\n"
             "  exits = { stop_loss_pct = 0.99, take_profit_pct = 100,\n"
             "            trailing_stop = { enabled = false },\n"
             "            partial_exits = { enabled = false } },\n"
             "}\n",
             fill, APEX_SOURCE_DIR, fill);
    snprintf(file, sizeof file, "sma_%s.lua", fill);
    snprintf(db, sizeof db, "sma_%s.db", fill);
    fx_write(file, pipeline);
    assert_int_equal(fx_backtest(file, db), 0);
    static char want[65536], got[65536];
    expected_fills(strcmp(fill, "next_open") == 0, want, sizeof want);
    actual_fills(db, got, sizeof got);
    assert_true(strlen(want) > 60); /* several round trips */
    assert_string_equal(got, want);
}

static int setup(void **state)
{
    (void)state;
    fx_make_dir("sma_cross_fills");
    make_bars();
    write_bars();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fx_remove_dir();
    return 0;
}

static void test_next_open_fills_at_the_next_bars_open(void **state)
{
    (void)state;
    run_mode("next_open");
}

static void test_close_fills_at_the_signal_bars_close(void **state)
{
    (void)state;
    run_mode("close");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_next_open_fills_at_the_next_bars_open),
        cmocka_unit_test(test_close_fills_at_the_signal_bars_close),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
