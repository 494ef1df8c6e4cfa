/* Engine tests: whole backtests through host_main on small generated data, with the
 * outcomes read back from the store: statuses, skip reasons, errors, fills, P&L. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/paper.h"
#include "engine_fixture.h"
#include "pipeline/host.h"

/* 60 one-minute bars of AAPL rising 0.10 per bar from 100, then falling 0.30 per bar
 * for 60 bars: a long entered early hits its take profit or its stop. */
static void write_bars(void)
{
    FILE *f = fopen(fx_path("bars.csv"), "w");
    assert_non_null(f);
    fprintf(f, "timestamp,symbol,open,high,low,close,volume\n");
    long t0 = 1709562600; /* 2024-03-04 14:30 UTC */
    double px = 100.0;
    for (int i = 0; i < 120; i++) {
        double next = i < 60 ? px + 0.10 : px - 0.30;
        double hi = (next > px ? next : px) + 0.05, lo = (next < px ? next : px) - 0.05;
        fprintf(f, "%ld,AAPL,%.2f,%.2f,%.2f,%.2f,1000\n", t0 + 60L * i, px, hi, lo, next);
        fprintf(f, "%ld,MSFT,50.00,50.10,49.90,50.00,1000\n", t0 + 60L * i);
        px = next;
    }
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    fx_make_dir("test-pipeline");
    write_bars();
    /* Buys AAPL on its 5th bar (and MSFT on its 5th bar when params.msft is set). */
    fx_write("buy5.lua",
             "local M = {}\n"
             "function M.on_bar(ctx, bar)\n"
             "  ctx.state.n = (ctx.state.n or 0) + 1\n"
             "  if ctx.state.n == 5 and (bar.symbol == 'AAPL' or ctx.params.msft) then\n"
             "    return { side = 'buy', stop_loss = bar.close - 2, take_profit = bar.close + 3,\n"
             "             reason = 'fifth bar' }\n"
             "  end\n"
             "end\n"
             "return M\n");
    fx_write("short_bias.lua", "return { bias = function(ctx) return 'short' end }\n");
    fx_write("boom.lua",
             "local M = {}\n"
             "function M.on_bar(ctx, bar)\n"
             "  if bar.symbol == 'MSFT' then error('boom on ' .. bar.symbol) end\n"
             "  ctx.state.n = (ctx.state.n or 0) + 1\n"
             "  if ctx.state.n == 5 then\n"
             "    return { side = 'buy', stop_loss = bar.close - 2, take_profit = bar.close + 3 }\n"
             "  end\n"
             "end\n"
             "return M\n");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fx_remove_dir();
    return 0;
}

static void write_pipeline(const char *file, const char *name, const char *strategy,
                           const char *extra)
{
    char text[2048];
    snprintf(text, sizeof text,
             "return apex.pipeline {\n"
             "  name = '%s', symbols = { 'AAPL', 'MSFT' },\n"
             "  data = { files = { 'bars.csv' } },\n"
             "  strategy = %s,\n"
             "  broker = { starting_cash = 100000, spread_bps = 0, slippage_bps = 0 },\n"
             "  %s\n"
             "}\n",
             name, strategy, extra ? extra : "");
    fx_write(file, text);
}

static void test_full_lifecycle_completes_with_exact_pnl(void **state)
{
    (void)state;
    write_pipeline("life.lua", "life", "'buy5.lua'", NULL);
    assert_int_equal(fx_backtest("life.lua", "life.db"), EXIT_OK);
    sqlite3 *h = fx_open_db("life.db");
    char buf[512];
    fx_query_text(h, "SELECT status FROM executions WHERE symbol='AAPL'", buf, sizeof buf);
    assert_string_equal(buf, "completed");
    /* pending -> running -> monitoring -> completed, in that order, in the audit log. */
    fx_query_text(h,
                  "SELECT group_concat(message, '|') FROM (SELECT message FROM events WHERE "
                  "kind='status' AND message LIKE 'AAPL%' ORDER BY id)",
                  buf, sizeof buf);
    assert_non_null(strstr(buf, "AAPL pending -> running|AAPL running -> monitoring|"
                                "AAPL monitoring -> completed"));
    /* The take-profit leg closed it: entry 100.50 (5th close) + 3 = 103.50. */
    fx_query_text(h, "SELECT reason FROM executions WHERE symbol='AAPL'", buf, sizeof buf);
    assert_non_null(strstr(buf, "take_profit leg filled"));
    /* Sizing (seed 004 rules on 100000 equity): min(1000/2=500, 5000/100.5=49) = 49 shares. */
    assert_int_equal(fx_query_int(h, "SELECT qty FROM executions WHERE symbol='AAPL'"),
                     49LL * MONEY_SCALE);
    /* Realized P&L = 49 * (103.50 - 100.50) = 147.00 exactly, and the ledger agrees. */
    assert_int_equal(fx_query_int(h, "SELECT realized_pnl FROM executions WHERE symbol='AAPL'"),
                     14700LL * MONEY_SCALE / 100);
    assert_int_equal(fx_query_int(h, "SELECT sum(CASE side WHEN 'buy' THEN qty ELSE -qty END) "
                                     "FROM fills"),
                     0);
    fx_query_text(h, "SELECT status FROM positions", buf, sizeof buf);
    assert_string_equal(buf, "closed");
    sqlite3_close(h);
}

static void test_bias_opposing_signal_skips(void **state)
{
    (void)state;
    write_pipeline("bias.lua", "bias", "'buy5.lua'", "bias = 'short_bias.lua',");
    assert_int_equal(fx_backtest("bias.lua", "bias.db"), EXIT_OK);
    sqlite3 *h = fx_open_db("bias.db");
    char buf[512];
    fx_query_text(h, "SELECT status || ': ' || reason FROM executions WHERE symbol='AAPL'", buf,
                  sizeof buf);
    assert_string_equal(buf, "skipped: bias short opposes the buy signal");
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM orders"), 0);
    sqlite3_close(h);
}

static void test_strategy_error_fails_only_its_execution(void **state)
{
    (void)state;
    write_pipeline("boom.lua.pipeline", "boom", "'boom.lua'", NULL);
    assert_int_equal(fx_backtest("boom.lua.pipeline", "boom.db"), EXIT_OK);
    sqlite3 *h = fx_open_db("boom.db");
    char buf[512];
    /* MSFT's execution failed, carrying the script's file:line and message, once. */
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM executions WHERE symbol='MSFT'"), 1);
    fx_query_text(h, "SELECT status || ': ' || reason FROM executions WHERE symbol='MSFT'", buf,
                  sizeof buf);
    assert_non_null(strstr(buf, "failed: strategy stage: "));
    assert_non_null(strstr(buf, "boom.lua:3: boom on MSFT"));
    /* AAPL in the same pipeline traded on regardless. */
    fx_query_text(h, "SELECT status FROM executions WHERE symbol='AAPL'", buf, sizeof buf);
    assert_string_equal(buf, "completed");
    sqlite3_close(h);
}

static void ignore_reply(void *ud, const broker_reply *r)
{
    (void)ud;
    (void)r;
}

static void test_position_opened_by_hand_gives_skipped(void **state)
{
    (void)state;
    /* Open AAPL by hand in the paper account the pipeline will use. */
    char paper[512], err[256];
    snprintf(paper, sizeof paper, "%s", fx_path("hand.paper"));
    unlink(paper);
    paper_config pc = {.starting_cash = MONEY(100000)};
    apex_clock *clk = clock_new_simulated(1709560000LL * APEX_SECOND);
    broker *b = paper_broker_new(&pc, paper, clk, err, sizeof err);
    assert_non_null(b);
    bar seed = {.ts = 1709560000LL * APEX_SECOND,
                .open = MONEY(99),
                .high = MONEY(99),
                .low = MONEY(99),
                .close = MONEY(99),
                .volume = MONEY(1000)};
    paper_broker_on_bar(b, &seed, "AAPL");
    order_request req = {.client_order_id = "by-hand-1",
                         .symbol = "AAPL",
                         .side = SIDE_BUY,
                         .type = ORDER_MARKET,
                         .qty = MONEY(10)};
    assert_int_equal(broker_submit_order(b, BROKER_PRIORITY_ROUTINE, &req, ignore_reply, NULL), 0);
    clock_advance_to(clk, seed.ts + APEX_SECOND);
    clock_run_due(clk);
    broker_free(b);
    clock_free(clk);

    char extra[700];
    snprintf(extra, sizeof extra, "broker = { starting_cash = 100000, state = '%s' },", paper);
    char text[2048];
    snprintf(text, sizeof text,
             "return apex.pipeline { name = 'hand', symbols = { 'AAPL' },\n"
             "  data = { files = { 'bars.csv' } }, strategy = 'buy5.lua', %s }\n",
             extra);
    fx_write("hand.lua", text);
    /* `run`, not a backtest: a backtest never touches a persisted account. */
    assert_int_equal(fx_run("hand.lua", "hand.db"), EXIT_OK);
    sqlite3 *h = fx_open_db("hand.db");
    char buf[512];
    fx_query_text(h, "SELECT status || ': ' || reason FROM executions WHERE symbol='AAPL'", buf,
                  sizeof buf);
    assert_non_null(strstr(buf, "skipped: duplicate: the broker already holds a long AAPL "
                                "(qty 10"));
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM orders"), 0);
    sqlite3_close(h);
}

static void test_max_positions_limit_is_a_recorded_skip(void **state)
{
    (void)state;
    write_pipeline("maxpos.lua", "maxpos", "{ file = 'buy5.lua', params = { msft = true } }",
                   "risk = { max_positions = 1 },");
    assert_int_equal(fx_backtest("maxpos.lua", "maxpos.db"), EXIT_OK);
    sqlite3 *h = fx_open_db("maxpos.db");
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM executions WHERE status='skipped' AND "
                                     "reason LIKE 'risk: max_positions 1 reached%'"),
                     1);
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM executions WHERE status='completed'"),
                     1);
    sqlite3_close(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_lifecycle_completes_with_exact_pnl),
        cmocka_unit_test(test_bias_opposing_signal_skips),
        cmocka_unit_test(test_strategy_error_fails_only_its_execution),
        cmocka_unit_test(test_position_opened_by_hand_gives_skipped),
        cmocka_unit_test(test_max_positions_limit_is_a_recorded_skip),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
