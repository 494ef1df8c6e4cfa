/* ctx.history(n) (issue 13, item 3) in whole pipelines: the last n bars of the ctx's own
 * symbol, oldest first, from the ring the host keeps per symbol (`history = N` in the
 * pipeline). Two symbols' bars interleave in one file; the strategy reports what it read by
 * failing on purpose (the failure's message is stored as the execution's reason), and the
 * test compares it with the bars it wrote. */
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
    fx_make_dir("test-ctx-history");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fx_remove_dir();
    return 0;
}

/* Bar i of a symbol: distinct prices per symbol and bar, so a bar from the wrong symbol or
 * the wrong place shows. */
static void bar_of(int sym, int i, double *o, double *h, double *l, double *c, double *v)
{
    double base = sym == 0 ? 100 : 300;
    *o = base + i;
    *h = base + i + 0.5;
    *l = base + i - 0.25;
    *c = base + i + 0.25;
    *v = 1000 * (sym + 1) + i;
}

static const char *const SYMS[] = {"AAPL", "MSFT"};

static void write_data(int nbars)
{
    fx_csv c;
    fx_csv_open(&c, "bars.csv");
    for (int i = 0; i < nbars; i++)
        for (int s = 0; s < 2; s++) {
            double o, h, l, cl, v;
            bar_of(s, i, &o, &h, &l, &cl, &v);
            fx_csv_bar(&c, T0 + 60L * i, SYMS[s], o, h, l, cl, v);
        }
    fx_csv_close(&c);
}

/* What the strategy below prints for symbol s after bar i: history(4), oldest first. */
static void expected(int s, int i, char *out, size_t n)
{
    size_t len = (size_t)snprintf(out, n, "%s", SYMS[s]);
    for (int k = i - 3; k <= i; k++) {
        double o, h, l, c, v;
        bar_of(s, k, &o, &h, &l, &c, &v);
        len += (size_t)snprintf(out + len, n - len, " %ld:%.2f/%.2f/%.2f/%.2f/%.0f", T0 + 60L * k,
                                o, h, l, c, v);
    }
}

static const char STRATEGY[] =
    "local M = {}\n"
    "function M.on_bar(ctx, bar)\n"
    "  ctx.state.n = (ctx.state.n or 0) + 1\n"
    "  local n = ctx.state.n\n"
    "  local h = ctx.history(4)\n"
    "  -- fewer bars than asked at the start; the newest is always this bar\n"
    "  if #h ~= math.min(n, 4) then error('history has ' .. #h .. ' bars at bar ' .. n) end\n"
    "  if h[#h].time ~= bar.time or h[#h].close ~= bar.close then error('newest is not this bar') "
    "end\n"
    "  if n == 7 then\n"
    "    local parts = { ctx.symbol }\n"
    "    for _, b in ipairs(h) do\n"
    "      parts[#parts + 1] = string.format('%d:%.2f/%.2f/%.2f/%.2f/%.0f', b.time, b.open,\n"
    "                                        b.high, b.low, b.close, b.volume)\n"
    "    end\n"
    "    error(table.concat(parts, ' '), 0)\n"
    "  end\n"
    "  if n == 9 then return ctx.history(5) end\n"
    "end\n"
    "return M\n";

static sqlite3 *backtest(int history, int nbars)
{
    fx_write("strategy.lua", STRATEGY);
    char text[1024];
    snprintf(text, sizeof text,
             "return apex.pipeline {\n"
             "  name = 'hist', symbols = { 'AAPL', 'MSFT' }, history = %d,\n"
             "  data = { files = { 'bars.csv' } },\n"
             "  strategy = 'strategy.lua',\n"
             "}\n",
             history);
    fx_write("pipeline.lua", text);
    write_data(nbars);
    assert_int_equal(fx_backtest("pipeline.lua", "hist.db"), EXIT_OK);
    return fx_open_db("hist.db");
}

static void test_history_is_the_last_n_bars_of_each_symbol(void **state)
{
    (void)state;
    sqlite3 *h = backtest(4, 8);
    /* Exactly one failure per symbol: bar 7's report. No other check in the script failed. */
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM executions"), 2);
    for (int s = 0; s < 2; s++) {
        char sql[256], got[600], want[400];
        snprintf(sql, sizeof sql, "SELECT reason FROM executions WHERE symbol = '%s'", SYMS[s]);
        fx_query_text(h, sql, got, sizeof got);
        expected(s, 6, want, sizeof want);
        if (!strstr(got, want))
            fail_msg("%s: got '%s', want '%s'", SYMS[s], got, want);
    }
    sqlite3_close(h);
}

static void test_history_beyond_the_declared_length_names_the_setting(void **state)
{
    (void)state;
    sqlite3 *h = backtest(4, 9);
    char got[600];
    fx_query_text(h, "SELECT reason FROM executions WHERE symbol = 'AAPL' ORDER BY id DESC LIMIT 1",
                  got, sizeof got);
    if (!strstr(got, "strategy.lua:17: ctx.history(5): n must be from 1 to the pipeline's "
                     "history = 4; raise history in the pipeline file to read more bars"))
        fail_msg("got '%s'", got);
    sqlite3_close(h);
}

static void test_history_without_a_declared_length_says_to_declare_it(void **state)
{
    (void)state;
    sqlite3 *h = backtest(0, 2);
    char got[600];
    fx_query_text(h, "SELECT reason FROM executions WHERE symbol = 'AAPL'", got, sizeof got);
    if (!strstr(got, "strategy.lua:5: ctx.history(4): the pipeline keeps no bars; declare "
                     "history = N in the pipeline file"))
        fail_msg("got '%s'", got);
    sqlite3_close(h);
}

/* A restart (`run` again on the same store): the bars up to the restart cursor are replayed
 * as warm-up, and they refill the ring, so the first bars after the restart read history that
 * reaches back before it. */
static void test_history_is_refilled_after_a_restart(void **state)
{
    (void)state;
    fx_write("strategy.lua",
             "local M = {}\n"
             "function M.on_bar(ctx, bar)\n"
             "  ctx.state.n = (ctx.state.n or 0) + 1\n"
             "  if ctx.state.n == 8 then\n"
             "    local parts = { ctx.symbol }\n"
             "    for _, b in ipairs(ctx.history(4)) do\n"
             "      parts[#parts + 1] = string.format('%d:%.2f/%.2f/%.2f/%.2f/%.0f', b.time,\n"
             "                                        b.open, b.high, b.low, b.close, b.volume)\n"
             "    end\n"
             "    error(table.concat(parts, ' '), 0)\n"
             "  end\n"
             "end\n"
             "return M\n");
    fx_write("pipeline.lua", "return apex.pipeline {\n"
                             "  name = 'hist', symbols = { 'AAPL', 'MSFT' }, history = 4,\n"
                             "  data = { files = { 'bars.csv' } },\n"
                             "  strategy = 'strategy.lua',\n"
                             "}\n");
    write_data(6); /* the first run sees bars 0-5 */
    assert_int_equal(fx_run("pipeline.lua", "restart.db"), EXIT_OK);
    write_data(9); /* the restart: 0-5 again as warm-up, then 6-8 */
    assert_int_equal(fx_run("pipeline.lua", "restart.db"), EXIT_OK);
    sqlite3 *h = fx_open_db("restart.db");
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM executions"), 2);
    for (int s = 0; s < 2; s++) {
        char sql[256], got[600], want[400];
        snprintf(sql, sizeof sql, "SELECT reason FROM executions WHERE symbol = '%s'", SYMS[s]);
        fx_query_text(h, sql, got, sizeof got);
        expected(s, 7, want, sizeof want); /* bars 4 and 5 come from before the restart */
        if (!strstr(got, want))
            fail_msg("%s: got '%s', want '%s'", SYMS[s], got, want);
    }
    sqlite3_close(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_history_is_the_last_n_bars_of_each_symbol),
        cmocka_unit_test(test_history_beyond_the_declared_length_names_the_setting),
        cmocka_unit_test(test_history_without_a_declared_length_says_to_declare_it),
        cmocka_unit_test(test_history_is_refilled_after_a_restart),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
