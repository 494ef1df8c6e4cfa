/* Portfolio risk end to end (docs/risk.md): backtests and runs whose entries the heat
 * limit, the correlated clusters, the drawdown breaker, reduce-only mode and the PDT rule
 * refuse or shrink, read back from the store: the executions' statuses and reasons, the
 * positions' quantities, and the `risk_limit` events with their numbers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cli/risk_cmds.h"
#include "engine_fixture.h"

#define T0 1709562600L /* Mon 2024-03-04 14:30 UTC */

/* Buys ctx.symbol at the bar times params.at[symbol] lists, with the stop and target as
 * fractions of the close and the quantity given per symbol. */
static const char *const buy_at =
    "local M = {}\n"
    "function M.on_bar(ctx, bar)\n"
    "  local p = ctx.params\n"
    "  for _, t in ipairs(p.at[ctx.symbol] or {}) do\n"
    "    if bar.time == t then\n"
    "      return { side = 'buy', stop_loss = bar.close * p.stop[ctx.symbol],\n"
    "               take_profit = bar.close * p.target[ctx.symbol], qty = p.qty[ctx.symbol],\n"
    "               reason = 'test' }\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return M\n";

static int setup(void **state)
{
    (void)state;
    fx_make_dir("test-portfolio-risk");
    fx_write("buy_at.lua", buy_at);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (!getenv("KEEP"))
        fx_remove_dir();
    return 0;
}

static long at(int bar)
{
    return T0 + 60L * bar;
}

/* A pipeline on the paper account <account>.paper (pipelines naming the same one share
 * it) of cash, buying with buy_at. */
static void pipeline_on(const char *account, long cash, const char *file, const char *name,
                        const char *symbols, const char *params, const char *risk)
{
    char text[4096];
    snprintf(text, sizeof text,
             "return apex.pipeline {\n"
             "  name = '%s', symbols = { %s },\n"
             "  data = { files = { 'bars.csv' } },\n"
             "  strategy = { file = 'buy_at.lua', params = { %s } },\n"
             "  broker = { starting_cash = %ld, spread_bps = 0, slippage_bps = 0,\n"
             "             state = '%s.paper' },\n"
             "  risk = { max_position_pct = 1, max_risk_pct = 1, daily_loss_limit_pct = 0.5,\n"
             "           %s },\n"
             "  exits = { partial_exits = { enabled = false },\n"
             "            trailing_stop = { enabled = false } },\n"
             "}\n",
             name, symbols, params, cash, account, risk ? risk : "");
    fx_write(file, text);
}

static void pipeline(const char *file, const char *name, const char *symbols, const char *params,
                     const char *risk)
{
    pipeline_on("acct", 100000, file, name, symbols, params, risk);
}

static int backtest2(const char *a, const char *b, const char *db)
{
    char pa[768], pb[768], dbpath[768];
    snprintf(pa, sizeof pa, "%s/%s", fx_dir(), a);
    snprintf(pb, sizeof pb, "%s/%s", fx_dir(), b);
    snprintf(dbpath, sizeof dbpath, "%s/%s", fx_dir(), db);
    const char *paths[] = {pa, pb};
    host_options opt = {.backtest = true, .db_path = dbpath, .fresh = true, .quiet = true};
    return host_main(paths, 2, &opt);
}

/* The first execution matching where, as "status: reason". */
static void outcome(sqlite3 *h, const char *where, char *buf, size_t n)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT status || ': ' || coalesce(reason, '') FROM executions WHERE %s ORDER BY id "
             "LIMIT 1",
             where);
    fx_query_text(h, sql, buf, n);
}

/* AAA at 100, up to 111 from bar 10 (A's target 110 fills there); BBB flat at 50. */
static void two_symbol_bars(void)
{
    fx_csv c;
    fx_csv_open(&c, "bars.csv");
    double a = 100;
    for (int i = 0; i < 30; i++) {
        double na = i < 10 ? 100 : 111;
        fx_csv_bar(&c, at(i), "AAA", a, na > a ? na : a, a < na ? a : na, na, 1000);
        fx_csv_bar(&c, at(i), "BBB", 50, 50, 50, 50, 1000);
        a = na;
    }
    fx_csv_close(&c);
}

/* Pipeline a holds 100 AAA from 100 with the stop at 60: 4,000 of risk. Pipeline b, on the
 * same account, wants 100 BBB at 50 with the stop at 25: 2,500 more, 6,500 in all, over 6%
 * of the 100,000 account (6,000). */
static void heat_pipelines(const char *b_risk)
{
    char pa[512], pbuf[512];
    snprintf(pa, sizeof pa,
             "at = { AAA = { %ld } }, stop = { AAA = 0.6 }, target = { AAA = 1.1 }, "
             "qty = { AAA = 100 }",
             at(5));
    snprintf(pbuf, sizeof pbuf,
             "at = { BBB = { %ld, %ld } }, stop = { BBB = 0.5 }, target = { BBB = 3 }, "
             "qty = { BBB = 100 }",
             at(6), at(20));
    pipeline("a.lua", "a", "'AAA'", pa, NULL);
    pipeline("b.lua", "b", "'BBB'", pbuf, b_risk);
}

static void test_heat_across_pipelines_of_one_account_refuses_with_the_numbers(void **state)
{
    (void)state;
    two_symbol_bars();
    heat_pipelines(NULL);
    assert_int_equal(backtest2("a.lua", "b.lua", "heat.db"), EXIT_OK);
    sqlite3 *h = fx_open_db("heat.db");
    char buf[1024];
    outcome(h, "pipeline = 'b'", buf, sizeof buf);
    assert_string_equal(buf, "skipped: risk: portfolio heat: open risk 4000.00 + this trade "
                             "2500.00 = 6500.00 would exceed risk.max_heat_pct 6.00% of equity "
                             "100000.00 = 6000.00");
    fx_query_text(h, "SELECT message FROM events WHERE kind = 'risk_limit'", buf, sizeof buf);
    assert_string_equal(buf, "BBB portfolio heat: open risk 4000.00 + this trade 2500.00 = "
                             "6500.00 would exceed risk.max_heat_pct 6.00% of equity 100000.00 "
                             "= 6000.00");
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM events WHERE kind = 'risk_limit'"), 1);
    /* a's position closed at its target on bar 10: its risk left the heat, and b's second
     * signal (bar 20) trades its full 100. */
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM positions p JOIN executions e ON "
                                     "e.id = p.execution_id WHERE e.pipeline = 'a' AND "
                                     "p.status = 'closed'"),
                     1);
    assert_int_equal(fx_query_int(h, "SELECT p.initial_quantity FROM positions p JOIN "
                                     "executions e ON e.id = p.execution_id WHERE e.pipeline = "
                                     "'b'"),
                     100LL * 100000000);
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM executions WHERE pipeline = 'b'"), 2);
    sqlite3_close(h);
}

/* Two pipelines on one account signal AAA on the same bar. Each checks the broker for a
 * position and open orders before it sends, and on one bar neither has sent yet, so both
 * checks pass; the account's claim lets exactly one of them trade, and the other is
 * skipped naming it. After the first closes (target on bar 10) the second pipeline's next
 * signal (bar 20) trades: the claim was given back. */
static void test_one_execution_per_symbol_on_a_shared_account(void **state)
{
    (void)state;
    two_symbol_bars();
    char pa[512], pbuf[512];
    snprintf(pa, sizeof pa,
             "at = { AAA = { %ld } }, stop = { AAA = 0.95 }, target = { AAA = 1.1 }, "
             "qty = { AAA = 10 }",
             at(5));
    snprintf(pbuf, sizeof pbuf,
             "at = { AAA = { %ld, %ld } }, stop = { AAA = 0.95 }, target = { AAA = 1.1 }, "
             "qty = { AAA = 10 }",
             at(5), at(20));
    pipeline("a.lua", "a", "'AAA'", pa, NULL);
    pipeline("b.lua", "b", "'AAA'", pbuf, NULL);
    assert_int_equal(backtest2("a.lua", "b.lua", "claim.db"), EXIT_OK);
    sqlite3 *h = fx_open_db("claim.db");
    /* On bar 5 one execution bought 10 AAA (the coordinator's order decides which; the
     * scores tie) and the other was skipped. */
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM positions WHERE symbol = 'AAA'"), 2);
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM executions WHERE status = 'skipped'"),
                     1);
    char buf[1024], want[512];
    long long winner = fx_query_int(h, "SELECT min(execution_id) FROM positions");
    char wp[8];
    fx_query_text(h,
                  "SELECT pipeline FROM executions WHERE id = (SELECT min(execution_id) FROM "
                  "positions)",
                  wp, sizeof wp);
    outcome(h, "status = 'skipped'", buf, sizeof buf);
    snprintf(want, sizeof want,
             "skipped: duplicate: execution %lld of pipeline %s holds or is entering AAA on "
             "this broker account (one execution trades a symbol on an account at a time)",
             winner, wp);
    assert_string_equal(buf, want);
    /* Never more than 10 AAA held at once: the second position opened after the first
     * closed. */
    assert_true(fx_query_int(h, "SELECT min(p2.opened_at) - max(p1.closed_at) FROM positions p1, "
                                "positions p2 WHERE p1.execution_id < p2.execution_id") >= 0);
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM executions e JOIN positions p ON "
                                     "p.execution_id = e.id WHERE e.pipeline = 'b' AND "
                                     "p.opened_at >= 1709562600000000 + 20 * 60000000"),
                     1);
    sqlite3_close(h);
}

static void test_heat_shrink_trades_what_fits(void **state)
{
    (void)state;
    two_symbol_bars();
    heat_pipelines("heat_shrink = true");
    assert_int_equal(backtest2("a.lua", "b.lua", "shrink.db"), EXIT_OK);
    sqlite3 *h = fx_open_db("shrink.db");
    /* Room 6,000 - 4,000 = 2,000 at 25 a share: 80 shares. */
    assert_int_equal(fx_query_int(h, "SELECT p.initial_quantity FROM positions p JOIN "
                                     "executions e ON e.id = p.execution_id WHERE e.pipeline = "
                                     "'b' ORDER BY p.position_id LIMIT 1"),
                     80LL * 100000000);
    char buf[1024];
    fx_query_text(h, "SELECT message FROM events WHERE kind = 'risk_limit'", buf, sizeof buf);
    assert_string_equal(buf, "BBB portfolio heat: open risk 4000.00 + this trade 2500.00 = "
                             "6500.00 would exceed risk.max_heat_pct 6.00% of equity 100000.00 "
                             "= 6000.00; shrunk from 100 to 80 (risk 2000.00)");
    fx_query_text(h, "SELECT message FROM events WHERE kind = 'risk' AND message LIKE 'BBB%'", buf,
                  sizeof buf);
    assert_string_equal(buf, "BBB size 80 = min(by risk 4000, by capital 2000); shrunk to fit the "
                             "portfolio heat");
    sqlite3_close(h);
}

/* AAA at 100 and BBB at 50, flat, for nbars. */
static void flat_bars(int nbars)
{
    fx_csv c;
    fx_csv_open(&c, "bars.csv");
    for (int i = 0; i < nbars; i++) {
        fx_csv_bar(&c, at(i), "AAA", 100, 100, 100, 100, 1000);
        fx_csv_bar(&c, at(i), "BBB", 50, 50, 50, 50, 1000);
    }
    fx_csv_close(&c);
}

static void test_heat_counts_positions_resumed_after_a_restart(void **state)
{
    (void)state;
    /* Run 1 buys 100 AAA at 100 (stop 60: 4,000 at risk) and stops; run 2 resumes it, and
     * 100 BBB at 50 (stop 25: 2,500) does not fit 6,000. */
    char params[512];
    snprintf(params, sizeof params,
             "at = { AAA = { %ld }, BBB = { %ld } }, stop = { AAA = 0.6, BBB = 0.5 }, "
             "target = { AAA = 3, BBB = 3 }, qty = { AAA = 100, BBB = 100 }",
             at(5), at(15));
    pipeline_on("restart", 100000, "rs.lua", "rs", "'AAA', 'BBB'", params, NULL);
    flat_bars(10);
    assert_int_equal(fx_run("rs.lua", "rs.db"), EXIT_OK);
    flat_bars(20);
    assert_int_equal(fx_run("rs.lua", "rs.db"), EXIT_OK);
    sqlite3 *h = fx_open_db("rs.db");
    char buf[1024];
    outcome(h, "symbol = 'BBB'", buf, sizeof buf);
    assert_string_equal(buf, "skipped: risk: portfolio heat: open risk 4000.00 + this trade "
                             "2500.00 = 6500.00 would exceed risk.max_heat_pct 6.00% of equity "
                             "100000.00 = 6000.00");
    sqlite3_close(h);
}

/* XXX alternates 100/101 and YYY 50/50.5 (the same returns: r = 1); ZZZ goes 80, 80, 81, 81
 * (uncorrelated with either). */
static void three_symbol_bars(int nbars)
{
    fx_csv c;
    fx_csv_open(&c, "bars.csv");
    double x = 100, y = 50, z = 80;
    for (int i = 0; i < nbars; i++) {
        double nx = i % 2 ? 101 : 100, ny = i % 2 ? 50.5 : 50, nz = (i / 2) % 2 ? 81 : 80;
        fx_csv_bar(&c, at(i), "XXX", x, x > nx ? x : nx, x < nx ? x : nx, nx, 1000);
        fx_csv_bar(&c, at(i), "YYY", y, y > ny ? y : ny, y < ny ? y : ny, ny, 1000);
        fx_csv_bar(&c, at(i), "ZZZ", z, z > nz ? z : nz, z < nz ? z : nz, nz, 1000);
        x = nx, y = ny, z = nz;
    }
    fx_csv_close(&c);
}

static void test_correlated_positions_count_together_uncorrelated_do_not(void **state)
{
    (void)state;
    three_symbol_bars(50);
    /* Each risks 2,000 (XXX 40 at 100, stop 50; YYY 80 at 50, stop 25; ZZZ 50 at 80 or 81,
     * stop at half). The cluster limit is 3% = 3,000; the total 6% = 6,000. */
    char params[1024];
    snprintf(params, sizeof params,
             "at = { XXX = { %ld }, YYY = { %ld }, ZZZ = { %ld } },\n"
             "stop = { XXX = 0.5, YYY = 0.5, ZZZ = 0.5 }, target = { XXX = 3, YYY = 3, ZZZ = 3 },\n"
             "qty = { XXX = 40, YYY = 80, ZZZ = 50 }",
             at(30), at(32), at(34));
    pipeline("corr.lua", "corr", "'XXX', 'YYY', 'ZZZ'", params,
             "max_cluster_heat_pct = 0.03, correlation_window = 20");
    assert_int_equal(fx_backtest("corr.lua", "corr.db"), EXIT_OK);
    sqlite3 *h = fx_open_db("corr.db");
    char buf[1024];
    outcome(h, "symbol = 'YYY'", buf, sizeof buf);
    assert_string_equal(buf, "skipped: risk: correlated cluster (XXX r=1.00): open risk 2000.00 "
                             "+ this trade 2000.00 = 4000.00 would exceed "
                             "risk.max_cluster_heat_pct 3.00% of equity 100000.00 = 3000.00");
    /* ZZZ moves on its own: only the total applies, and 4,000 or so fits 6,000. */
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM positions WHERE symbol IN ('XXX', "
                                     "'ZZZ')"),
                     2);
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM events WHERE kind = 'risk_limit'"), 1);
    sqlite3_close(h);
}

/* Runs `apex-host <cmd> ...` in-process against <dir>/db. */
static int cli(int (*cmd)(int, char **), const char *name, const char *a1, const char *a2,
               const char *db)
{
    char path[768];
    snprintf(path, sizeof path, "%s/%s", fx_dir(), db);
    char *argv[6] = {"apex-host", (char *)name, "--db", path, (char *)a1, (char *)a2};
    int argc = 4 + (a1 != NULL) + (a1 && a2);
    return cmd(argc, argv);
}

/* DDD flat at 200 for 10 bars, down 2.50 a bar to 175 (bar 20), flat after, for nbars. */
static void falling_bars(int nbars)
{
    fx_csv c;
    fx_csv_open(&c, "bars.csv");
    double px = 200;
    for (int i = 0; i < nbars; i++) {
        double n = i < 10 ? 200 : (i < 20 ? 200 - 2.5 * (i - 9) : 175);
        fx_csv_bar(&c, at(i), "DDD", px, px > n ? px : n, px < n ? px : n, n, 1000);
        px = n;
    }
    fx_csv_close(&c);
}

/* Pipeline <name> buys 100 DDD at the bar times listed, stop at 80%, with a 2% drawdown
 * breaker that closes everything; more adds risk fields. */
static void drawdown_pipeline(const char *name, const char *times, const char *more)
{
    char params[512], risk[256], file[64];
    snprintf(params, sizeof params,
             "at = { DDD = { %s } }, stop = { DDD = 0.8 }, target = { DDD = 3 }, "
             "qty = { DDD = 100 }",
             times);
    snprintf(risk, sizeof risk, "max_drawdown_pct = 0.02, drawdown_close_all = true%s", more);
    snprintf(file, sizeof file, "%s.lua", name);
    pipeline_on(name, 100000, file, name, "'DDD'", params, risk);
}

/* The executions' statuses in order, comma-separated. */
static void statuses(sqlite3 *h, char *buf, size_t n)
{
    fx_query_text(h,
                  "SELECT group_concat(status, ',') FROM (SELECT status FROM executions "
                  "ORDER BY id)",
                  buf, n);
}

static void test_drawdown_breaker_halts_closes_all_survives_restart_and_resumes(void **state)
{
    (void)state;
    /* 100 DDD bought at 200: at 180 (bar 17) the loss is 2,000, 2% of the peak 100,000. */
    falling_bars(30);
    char times[128];
    snprintf(times, sizeof times, "%ld, %ld, %ld", at(5), at(25), at(35));
    drawdown_pipeline("dd", times, "");
    assert_int_equal(fx_run("dd.lua", "dd.db"), EXIT_OK);
    sqlite3 *h = fx_open_db("dd.db");
    char buf[1024];
    fx_query_text(h, "SELECT message FROM events WHERE kind = 'risk_limit' ORDER BY id LIMIT 1",
                  buf, sizeof buf);
    assert_string_equal(buf, "drawdown breaker: equity 98000.00 is 2.00% below its peak "
                             "100000.00 (risk.max_drawdown_pct 2%); entries halted, closing "
                             "every position; resume by `apex-host resume`");
    /* Closed at market by the breaker, at the next bar's open (180). */
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM position_exits WHERE exit_reason = "
                                     "'circuit_breaker' AND exit_priority = 'CRITICAL'"),
                     1);
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM positions WHERE status = 'open'"), 0);
    fx_query_text(h, "SELECT reason FROM executions ORDER BY id LIMIT 1", buf, sizeof buf);
    assert_string_equal(buf, "circuit_breaker: the drawdown breaker tripped "
                             "(risk.max_drawdown_pct); closing every position and blocking "
                             "entries until it resumes (CRITICAL)");
    assert_int_equal(fx_query_int(h, "SELECT realized_pnl FROM positions"), -2000LL * 100000000);
    fx_query_text(h, "SELECT status || ': ' || reason FROM executions ORDER BY id LIMIT 1 OFFSET 1",
                  buf, sizeof buf);
    assert_string_equal(buf, "skipped: risk: drawdown breaker tripped (equity 98000.00, 2.00% "
                             "below its peak 100000.00): entries halted until `apex-host resume`");
    fx_query_text(h, "SELECT value FROM meta WHERE key = 'risk.drawdown:dd'", buf, sizeof buf);
    assert_true(buf[0] != '\0');
    sqlite3_close(h);

    /* A restart finds it still tripped: the signal at bar 35 is refused too. */
    falling_bars(40);
    assert_int_equal(fx_run("dd.lua", "dd.db"), EXIT_OK);
    h = fx_open_db("dd.db");
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM executions WHERE status = 'skipped' "
                                     "AND reason LIKE 'risk: drawdown breaker tripped%'"),
                     2);
    sqlite3_close(h);

    /* By hand: the next signal (bar 45) trades. */
    assert_int_equal(cli(cli_resume, "resume", "dd", NULL, "dd.db"), EXIT_OK);
    falling_bars(50);
    snprintf(times, sizeof times, "%ld, %ld, %ld, %ld", at(5), at(25), at(35), at(45));
    drawdown_pipeline("dd", times, "");
    assert_int_equal(fx_run("dd.lua", "dd.db"), EXIT_OK);
    h = fx_open_db("dd.db");
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM events WHERE kind = 'risk_limit' AND "
                                     "message LIKE 'drawdown breaker: entries resume (by hand%'"),
                     1);
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM events WHERE kind = 'risk_mode'"), 1);
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM positions WHERE status = 'open'"), 1);
    fx_query_text(h, "SELECT value FROM meta WHERE key = 'risk.drawdown:dd'", buf, sizeof buf);
    assert_string_equal(buf, "");
    sqlite3_close(h);
}

static void test_drawdown_breaker_resumes_by_time(void **state)
{
    (void)state;
    /* Tripped at bar 17 (14:47) with risk.drawdown_resume_hours = 1: refused at bar 25,
     * allowed at bar 80 (15:50), past 15:47. */
    falling_bars(90);
    char times[128];
    snprintf(times, sizeof times, "%ld, %ld, %ld", at(5), at(25), at(80));
    drawdown_pipeline("ddt", times, ", drawdown_resume_hours = 1");
    assert_int_equal(fx_backtest("ddt.lua", "ddt.db"), EXIT_OK);
    sqlite3 *h = fx_open_db("ddt.db");
    char buf[1024];
    statuses(h, buf, sizeof buf);
    assert_string_equal(buf, "completed,skipped,monitoring");
    fx_query_text(h, "SELECT reason FROM executions WHERE status = 'skipped'", buf, sizeof buf);
    assert_string_equal(buf, "risk: drawdown breaker tripped (equity 98000.00, 2.00% below its "
                             "peak 100000.00): entries halted until risk.drawdown_resume_hours "
                             "pass or `apex-host resume`");
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM events WHERE kind = 'risk_limit' AND "
                                     "message = 'drawdown breaker: entries resume (1 h after the "
                                     "trip, risk.drawdown_resume_hours); the peak restarts at "
                                     "this equity'"),
                     1);
    sqlite3_close(h);
}

/* RRR at 100 for 20 bars, then 120 (a position bought at 100 reaches its 110 target). */
static void reduce_only_bars(int nbars)
{
    fx_csv c;
    fx_csv_open(&c, "bars.csv");
    for (int i = 0; i < nbars; i++) {
        double px = i < 20 ? 100 : 120;
        fx_csv_bar(&c, at(i), "RRR", px, px, px, px, 1000);
    }
    fx_csv_close(&c);
}

static void test_reduce_only_refuses_entries_and_lets_exits_run(void **state)
{
    (void)state;
    char params[512];
    snprintf(params, sizeof params,
             "at = { RRR = { %ld, %ld, %ld } }, stop = { RRR = 0.9 }, target = { RRR = 1.1 }, "
             "qty = { RRR = 10 }",
             at(5), at(30), at(45));
    pipeline_on("ro", 100000, "ro.lua", "ro", "'RRR'", params, NULL);
    /* Run 1 sees 10 bars: the first entry is open when reduce-only goes on. */
    reduce_only_bars(10);
    assert_int_equal(fx_run("ro.lua", "ro.db"), EXIT_OK);
    assert_int_equal(cli(cli_reduce_only, "reduce-only", "on", "ro", "ro.db"), EXIT_OK);
    reduce_only_bars(40);
    assert_int_equal(fx_run("ro.lua", "ro.db"), EXIT_OK);
    sqlite3 *h = fx_open_db("ro.db");
    char buf[1024];
    /* The exit ran: the first position closed at its target. */
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM positions WHERE status = 'closed'"), 1);
    outcome(h, "id = (SELECT max(id) FROM executions)", buf, sizeof buf);
    assert_string_equal(buf, "skipped: risk: reduce-only mode (this pipeline, set with `apex-host "
                             "reduce-only on ro`): exits only, no new entries");
    fx_query_text(h, "SELECT value FROM meta WHERE key = 'risk.reduce_only:ro'", buf, sizeof buf);
    assert_string_equal(buf, "on");
    sqlite3_close(h);

    /* Off for ro, on for every pipeline of the store: still refused, saying so. */
    assert_int_equal(cli(cli_reduce_only, "reduce-only", "off", "ro", "ro.db"), EXIT_OK);
    assert_int_equal(cli(cli_reduce_only, "reduce-only", "on", NULL, "ro.db"), EXIT_OK);
    reduce_only_bars(50);
    assert_int_equal(fx_run("ro.lua", "ro.db"), EXIT_OK);
    h = fx_open_db("ro.db");
    fx_query_text(h, "SELECT value FROM meta WHERE key = 'risk.reduce_only:ro'", buf, sizeof buf);
    assert_string_equal(buf, "off");
    outcome(h, "id = (SELECT max(id) FROM executions)", buf, sizeof buf);
    assert_string_equal(buf, "skipped: risk: reduce-only mode (every pipeline, set with "
                             "`apex-host reduce-only on`): exits only, no new entries");
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM executions"), 3);
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM events WHERE kind = 'risk_mode'"), 3);
    sqlite3_close(h);
}

static void test_pdt_refuses_the_fourth_day_trade_and_allows_the_sixth_day(void **state)
{
    (void)state;
    /* A 20,000 margin account day-trades PPP: bought on bar 1 at 50, sold at the 55 target on
     * bar 5, every business day from Mon 2024-03-04 to Mon 03-11. */
    static const int days[] = {0, 1, 2, 3, 4, 7}; /* Mon..Fri, Mon */
    fx_csv c;
    fx_csv_open(&c, "bars.csv");
    char times[512] = "";
    size_t used = 0;
    for (size_t d = 0; d < sizeof days / sizeof days[0]; d++) {
        long day0 = T0 + 86400L * days[d];
        for (int k = 0; k < 10; k++) {
            double px = k < 5 ? 50 : 56;
            fx_csv_bar(&c, day0 + 60L * k, "PPP", k == 5 ? 50 : px, px, k == 5 ? 50 : px, px, 1000);
        }
        used +=
            (size_t)snprintf(times + used, sizeof times - used, "%s%ld", d ? ", " : "", day0 + 60);
    }
    fx_csv_close(&c);
    char params[1024];
    snprintf(params, sizeof params,
             "at = { PPP = { %s } }, stop = { PPP = 0.9 }, target = { PPP = 1.1 }, "
             "qty = { PPP = 100 }",
             times);
    pipeline_on("pdt", 20000, "pdt.lua", "pdt", "'PPP'", params, NULL);
    assert_int_equal(fx_backtest("pdt.lua", "pdt.db"), EXIT_OK);
    sqlite3 *h = fx_open_db("pdt.db");
    char buf[1024];
    statuses(h, buf, sizeof buf);
    assert_string_equal(buf, "completed,completed,completed,skipped,skipped,completed");
    fx_query_text(h, "SELECT reason FROM executions ORDER BY id LIMIT 1 OFFSET 3", buf, sizeof buf);
    assert_non_null(strstr(buf,
                           "risk: PDT rule: 3 day trades in the last 5 business days "
                           "(store 3: 2024-03-04, 2024-03-05, 2024-03-06; broker 3), limit 3 "));
    assert_non_null(strstr(buf, "the next would be day trade 4"));
    assert_int_equal(fx_query_int(h, "SELECT count(*) FROM events WHERE kind = 'risk_limit' AND "
                                     "message LIKE 'PPP PDT rule: 3 day trades%'"),
                     2);
    sqlite3_close(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_heat_across_pipelines_of_one_account_refuses_with_the_numbers),
        cmocka_unit_test(test_one_execution_per_symbol_on_a_shared_account),
        cmocka_unit_test(test_heat_shrink_trades_what_fits),
        cmocka_unit_test(test_heat_counts_positions_resumed_after_a_restart),
        cmocka_unit_test(test_correlated_positions_count_together_uncorrelated_do_not),
        cmocka_unit_test(test_drawdown_breaker_halts_closes_all_survives_restart_and_resumes),
        cmocka_unit_test(test_drawdown_breaker_resumes_by_time),
        cmocka_unit_test(test_reduce_only_refuses_entries_and_lets_exits_run),
        cmocka_unit_test(test_pdt_refuses_the_fourth_day_trade_and_allows_the_sixth_day),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
