/* execution.mode = "approval" (issue 11) with the store: a request is recorded when the
 * entry passes the risk stage; an answer written by the CLI's hook (approval_submit) is
 * picked up by the host, here by the restarted host, which also proves a pending request
 * survives a restart. Approve, reject, expire and stale each end in the right state. Runs
 * are `run`s on the simulated clock (fx_run); outcomes are rows in the store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "engine_fixture.h"
#include "pipeline/approval.h"

#define T0 1709562600L /* Mon 2024-03-04 14:30 UTC */

static int setup(void **state)
{
    (void)state;
    fx_make_dir("test-approval");
    fx_write("strategy.lua", "local M = {}\n"
                             "function M.on_bar(ctx, bar)\n"
                             "  ctx.state.n = (ctx.state.n or 0) + 1\n"
                             "  if ctx.state.n == 5 then\n"
                             "    return { side = 'buy', stop_loss = 95, take_profit = 120 }\n"
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

/* n one-minute AAPL bars: the first 10 at 100, the rest at `later`. */
static void write_bars(const char *name, int n, double later)
{
    fx_csv c;
    fx_csv_open(&c, name);
    for (int i = 0; i < n; i++) {
        double px = i < 10 ? 100 : later;
        fx_csv_bar(&c, T0 + 60L * i, "AAPL", px, px + 0.1, px - 0.1, px, 1000);
    }
    fx_csv_close(&c);
}

static const char *mode = "approval"; /* execution.mode of the pipelines written */

static void write_pipeline(const char *name, int timeout)
{
    char file[64], text[1024], bars[64];
    snprintf(file, sizeof file, "%s.lua", name);
    snprintf(bars, sizeof bars, "%s.csv", name);
    snprintf(text, sizeof text,
             "return apex.pipeline {\n"
             "  name = '%s', symbols = { 'AAPL' },\n"
             "  data = { files = { '%s' } },\n"
             "  strategy = { file = 'strategy.lua' },\n"
             "  broker = { starting_cash = 100000 },\n"
             "  risk = { max_position_pct = 0.2, max_risk_pct = 0.01 },\n"
             "  monitoring = { max_api_calls_per_minute = 10000 },\n"
             "  execution = { mode = '%s', approval_timeout = %d,\n"
             "                approval_tolerance_pct = 0.01 },\n"
             "}\n",
             name, bars, mode, timeout);
    fx_write(file, text);
}

/* The first run: the signal on bar 5 waits; nothing reaches the broker. Returns the store. */
static sqlite3 *first_run(const char *name, int timeout)
{
    char file[64], db[64], bars[64];
    snprintf(file, sizeof file, "%s.lua", name);
    snprintf(db, sizeof db, "%s.db", name);
    snprintf(bars, sizeof bars, "%s.csv", name);
    write_pipeline(name, timeout);
    write_bars(bars, 10, 100);
    assert_int_equal(fx_run(file, db), EXIT_OK);
    return fx_open_db(db);
}

/* Answers request 1 as the CLI does, then restarts with `more` bars at `later`. */
static sqlite3 *answer_and_restart(const char *name, bool approve, const char *reason, double later)
{
    char file[64], db[64], bars[64], err[512], msg[512];
    snprintf(file, sizeof file, "%s.lua", name);
    snprintf(db, sizeof db, "%s.db", name);
    snprintf(bars, sizeof bars, "%s.csv", name);
    store *s = store_open(fx_path(db), STORE_DURABLE, err, sizeof err);
    assert_non_null(s);
    assert_int_equal(approval_submit(s, 1, approve, "cli:tester", reason, msg, sizeof msg), 0);
    assert_non_null(strstr(msg, approve ? "approved by cli:tester" : "rejected by cli:tester"));
    /* A second answer changes nothing. */
    assert_int_equal(approval_submit(s, 1, !approve, "cli:other", NULL, msg, sizeof msg),
                     APEX_ESTATE);
    assert_non_null(strstr(msg, "already answered"));
    assert_int_equal(approval_submit(s, 99, true, "cli:tester", NULL, msg, sizeof msg),
                     APEX_ENOTFOUND);
    store_close(s);
    write_bars(bars, 14, later);
    assert_int_equal(fx_run(file, db), EXIT_OK);
    return fx_open_db(db);
}

static void text(sqlite3 *h, const char *sql, char *out, size_t n)
{
    fx_query_text(h, sql, out, n);
}

static void assert_waiting(sqlite3 *h)
{
    char buf[512];
    text(h, "SELECT status FROM approvals WHERE id = 1", buf, sizeof buf);
    assert_string_equal(buf, "pending");
    text(h, "SELECT status FROM executions", buf, sizeof buf);
    assert_string_equal(buf, "running");
    assert_int_equal(fx_query_int(h, "SELECT COUNT(*) FROM orders"), 0);
    text(h, "SELECT message FROM events WHERE kind = 'approval'", buf, sizeof buf);
    assert_non_null(strstr(buf, "AAPL buy "));
    assert_non_null(strstr(buf, "stop 95.00, target 120.00: risk "));
    assert_non_null(strstr(buf, "waiting for approval #1 until 2024-03-04 15:34:00 UTC"));
}

static void test_approve_by_cli_sends_the_entry(void **state)
{
    (void)state;
    sqlite3 *h = first_run("approve", 3600);
    assert_waiting(h);
    sqlite3_close(h);
    h = answer_and_restart("approve", true, NULL, 100.2);
    char buf[512];
    text(h, "SELECT status || ' ' || answered_by FROM approvals WHERE id = 1", buf, sizeof buf);
    assert_string_equal(buf, "approved cli:tester");
    text(h, "SELECT status FROM executions", buf, sizeof buf);
    assert_true(strcmp(buf, "monitoring") == 0 || strcmp(buf, "completed") == 0);
    assert_int_equal(fx_query_int(h, "SELECT COUNT(*) FROM orders WHERE role = 'entry'"), 1);
    sqlite3_close(h);
}

static void test_reject_by_cli_skips(void **state)
{
    (void)state;
    sqlite3_close(first_run("reject", 3600));
    sqlite3 *h = answer_and_restart("reject", false, "too close to the news", 100);
    char buf[512];
    text(h, "SELECT status || ': ' || reason FROM executions", buf, sizeof buf);
    assert_string_equal(buf, "skipped: approval #1 rejected by cli:tester: too close to the news");
    text(h, "SELECT status FROM approvals WHERE id = 1", buf, sizeof buf);
    assert_string_equal(buf, "rejected");
    assert_int_equal(fx_query_int(h, "SELECT COUNT(*) FROM orders"), 0);
    sqlite3_close(h);
}

/* A stale approval: the price moved 3% (tolerance 1%) before the answer was acted on. */
static void test_stale_price_is_refused(void **state)
{
    (void)state;
    sqlite3_close(first_run("stale", 3600));
    sqlite3 *h = answer_and_restart("stale", true, NULL, 103);
    char buf[512];
    text(h, "SELECT status || ': ' || reason FROM executions", buf, sizeof buf);
    assert_string_equal(buf, "skipped: approval #1 approved by cli:tester, but stale: the price "
                             "moved from 100.00 to 103.00 (3.00%), beyond "
                             "execution.approval_tolerance_pct 1.00%; not sent");
    text(h, "SELECT status FROM approvals WHERE id = 1", buf, sizeof buf);
    assert_string_equal(buf, "stale");
    assert_int_equal(fx_query_int(h, "SELECT COUNT(*) FROM orders"), 0);
    sqlite3_close(h);
}

/* No answer within approval_timeout (120 s): skipped as expired, in the same run. */
static void test_expiry_skips(void **state)
{
    (void)state;
    sqlite3 *h = first_run("expire", 120);
    char buf[512];
    text(h, "SELECT status || ': ' || reason FROM executions", buf, sizeof buf);
    assert_string_equal(buf, "skipped: approval #1 expired: no answer within 120 s "
                             "(execution.approval_timeout)");
    text(h, "SELECT status FROM approvals WHERE id = 1", buf, sizeof buf);
    assert_string_equal(buf, "expired");
    assert_int_equal(fx_query_int(h, "SELECT COUNT(*) FROM orders"), 0);
    sqlite3_close(h);
}

/* A restart in mode "auto" ends a request left pending: nobody would act on its answer. */
static void test_leaving_approval_mode_ends_the_request(void **state)
{
    (void)state;
    sqlite3_close(first_run("switch", 3600));
    mode = "auto";
    write_pipeline("switch", 3600);
    mode = "approval";
    write_bars("switch.csv", 14, 100);
    assert_int_equal(fx_run("switch.lua", "switch.db"), EXIT_OK);
    sqlite3 *h = fx_open_db("switch.db");
    char buf[512];
    text(h, "SELECT status || ': ' || outcome FROM approvals WHERE id = 1", buf, sizeof buf);
    assert_string_equal(buf, "expired: execution.mode is no longer \"approval\" after a "
                             "restart; the entry was not sent");
    text(h, "SELECT status FROM executions", buf, sizeof buf);
    assert_string_equal(buf, "failed");
    assert_int_equal(fx_query_int(h, "SELECT COUNT(*) FROM orders"), 0);
    sqlite3_close(h);
}

/* backtest refuses approval mode with a message naming the field. */
static void test_backtest_refuses_approval_mode(void **state)
{
    (void)state;
    write_pipeline("bt", 300);
    write_bars("bt.csv", 10, 100);
    fx_capture_begin("bt.out");
    int code = fx_backtest("bt.lua", "bt.db");
    fx_capture_end();
    assert_int_equal(code, EXIT_INVALID);
    assert_int_equal(fx_count_lines("bt.out", "execution.mode: \"approval\" cannot be "
                                              "backtested"),
                     1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_approve_by_cli_sends_the_entry),
        cmocka_unit_test(test_reject_by_cli_skips),
        cmocka_unit_test(test_stale_price_is_refused),
        cmocka_unit_test(test_expiry_skips),
        cmocka_unit_test(test_leaving_approval_mode_ends_the_request),
        cmocka_unit_test(test_backtest_refuses_approval_mode),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
