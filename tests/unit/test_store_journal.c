/* Tests for the append-only records and batches: cursors, events, equity snapshots, and
 * a backtest's grouped writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store/store_report.h"
#include "store_fixture.h"
#include "util/err.h"

static void test_cursors_resume_after_reopen(void **state)
{
    tmpdb t;
    tmpdb_make(&t);
    store *s = open_ok(t.path);
    apex_time ts = 123;
    assert_int_equal(store_cursor_get(s, "momentum", &ts), 0);
    assert_int_equal(ts, 0);
    assert_int_equal(store_cursor_set(s, "momentum", T0, NULL), 0);
    assert_int_equal(store_cursor_set(s, "momentum", T0 + APEX_MINUTE, NULL), 0);
    assert_int_equal(store_cursor_set(s, "meanrev", T0 - APEX_DAY, NULL), 0);
    store_close(s);
    s = open_ok(t.path);
    assert_int_equal(store_cursor_get(s, "momentum", &ts), 0);
    assert_int_equal(ts, T0 + APEX_MINUTE);
    assert_int_equal(store_cursor_get(s, "meanrev", &ts), 0);
    assert_int_equal(ts, T0 - APEX_DAY);
    assert_int_equal(store_cursor_set(s, "", T0, NULL), APEX_EINVAL);
    store_close(s);
    tmpdb_remove(&t);
}

typedef struct {
    store_event_row rows[8];
    int n;
} event_list;

static int collect_event(void *ud, const store_event_row *ev)
{
    event_list *l = ud;
    if (l->n < 8)
        l->rows[l->n++] = *ev;
    return 0;
}

static void test_events_and_equity(void **state)
{
    store *s = open_ok(":memory:");
    assert_int_equal(store_event(s, T0, "demo", 0, "reload", NULL, "reloaded %s", "demo.lua"), 0);
    assert_int_equal(
        store_event(s, T0 + 1, "demo", 7, "fill", NULL, "bought %d AAPL at %s", 100, "187.25"), 0);
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    assert_int_equal(store_event(s, T0 + 2, NULL, 0, "error", NULL, "%s", big), 0);

    event_list l = {.n = 0};
    assert_int_equal(store_events_recent(s, NULL, 2, collect_event, &l), 0);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.rows[0].kind, "error"); /* newest first */
    /* Stored cut, not whole: a script's error cannot make an event of any size. */
    assert_int_equal(strlen(l.rows[0].message), STORE_EVENT_MESSAGE_MAX - 1);
    assert_string_equal(l.rows[0].message + STORE_EVENT_MESSAGE_MAX - 4, "...");
    assert_string_equal(l.rows[1].kind, "fill");
    assert_string_equal(l.rows[1].message, "bought 100 AAPL at 187.25");
    assert_int_equal(l.rows[1].execution_id, 7);
    assert_int_equal(l.rows[1].ts, T0 + 1);
    l.n = 0;
    assert_int_equal(store_events_recent(s, "demo", 10, collect_event, &l), 0);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.rows[1].message, "reloaded demo.lua");
    assert_int_equal(l.rows[1].execution_id, 0);

    apex_time ts = 0;
    money_t cash = 0, equity = 0;
    assert_int_equal(store_equity_latest(s, "demo", &ts, &cash, &equity), APEX_ENOTFOUND);
    assert_int_equal(store_equity_insert(s, T0, "demo", MONEY(100000), MONEY(100000), NULL), 0);
    assert_int_equal(
        store_equity_insert(s, T0 + APEX_MINUTE, "demo", MONEY(81275), MONEY(100012), NULL), 0);
    assert_int_equal(store_equity_latest(s, "demo", &ts, &cash, &equity), 0);
    assert_int_equal(ts, T0 + APEX_MINUTE);
    assert_int_equal(cash, MONEY(81275));
    assert_int_equal(equity, MONEY(100012));
    store_close(s);
}

typedef struct {
    store_script_failure rows[4];
    int n;
} failure_list;

static int collect_failure(void *ud, const store_script_failure *f)
{
    failure_list *l = ud;
    if (l->n < 4)
        l->rows[l->n++] = *f;
    return 0;
}

static void test_script_failures_add_up(void **state)
{
    store *s = open_ok(":memory:");
    store_script_failure f = {.pipeline = "demo",
                              .stage = "strategy",
                              .failures = 600,
                              .recorded = 5,
                              .first_at = T0,
                              .last_at = T0 + APEX_HOUR,
                              .last_error = "strategy.lua:2: boom"};
    assert_int_equal(store_script_failures_add(s, &f, NULL), 0);
    /* The next save adds what failed since; first_at stays, the last error is replaced. */
    f.failures = 40;
    f.recorded = 1;
    f.first_at = T0 + APEX_HOUR;
    f.last_at = T0 + 2 * APEX_HOUR;
    snprintf(f.last_error, sizeof f.last_error, "strategy.lua:2: bang");
    assert_int_equal(store_script_failures_add(s, &f, NULL), 0);
    store_script_failure r = {.pipeline = "demo",
                              .stage = "rules",
                              .failures = 3,
                              .recorded = 3,
                              .first_at = T0,
                              .last_at = T0};
    assert_int_equal(store_script_failures_add(s, &r, NULL), 0);
    failure_list l = {.n = 0};
    assert_int_equal(store_report_script_failures(s, NULL, collect_failure, &l), 0);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.rows[0].stage, "strategy"); /* the latest failure first */
    assert_int_equal(l.rows[0].failures, 640);
    assert_int_equal(l.rows[0].recorded, 6);
    assert_int_equal(l.rows[0].first_at, T0);
    assert_int_equal(l.rows[0].last_at, T0 + 2 * APEX_HOUR);
    assert_string_equal(l.rows[0].last_error, "strategy.lua:2: bang");
    assert_string_equal(l.rows[1].stage, "rules");
    store_script_failure bad = {.pipeline = "", .stage = "rules"};
    assert_int_equal(store_script_failures_add(s, &bad, NULL), APEX_EINVAL);
    store_close(s);
}

static void test_fast_mode_batch_groups_writes(void **state)
{
    tmpdb t;
    tmpdb_make(&t);
    char err[512] = "";
    store *s = store_open(t.path, STORE_FAST, err, sizeof err);
    assert_non_null(s);
    store_execution e = sample_execution("backtest", "SPY");
    assert_int_equal(store_execution_insert(s, &e, NULL), 0);
    assert_int_equal(store_begin(s, NULL), 0);
    for (int i = 0; i < 500; i++) {
        char id[32];
        snprintf(id, sizeof id, "bt-%d", i);
        store_fill f =
            sample_fill(e.id, id, i % 2 ? SIDE_SELL : SIDE_BUY, MONEY(1), MONEY(500), 0, T0 + i);
        assert_int_equal(store_fill_insert(s, &f, NULL), 0);
    }
    assert_int_equal(store_cursor_set(s, "backtest", T0 + 499, NULL), 0);
    assert_int_equal(store_commit(s, NULL), 0);
    /* A rolled-back batch leaves nothing behind. */
    assert_int_equal(store_begin(s, NULL), 0);
    assert_int_equal(store_cursor_set(s, "backtest", T0 + 10000, NULL), 0);
    assert_int_equal(store_rollback(s, NULL), 0);
    store_close(s);

    assert_int_equal(raw_int(t.path, "SELECT count(*) FROM fills"), 500);
    s = open_ok(t.path);
    apex_time ts = 0;
    assert_int_equal(store_cursor_get(s, "backtest", &ts), 0);
    assert_int_equal(ts, T0 + 499);
    store_close(s);
    tmpdb_remove(&t);
}

/* Units: writes that commit together or not at all, nested, inside or outside a batch. */
static void test_units_commit_together_or_not_at_all(void **state)
{
    tmpdb t;
    tmpdb_make(&t);
    store *s = open_ok(t.path);
    store_execution e = sample_execution("demo", "AAPL");
    assert_int_equal(store_execution_insert(s, &e, NULL), 0);

    /* Aborted: every write of the unit, nested ones included, is undone. */
    assert_int_equal(store_unit_begin(s, NULL), 0);
    store_fill f1 = sample_fill(e.id, "U1", SIDE_BUY, MONEY(10), MONEY(100), 0, T0);
    assert_int_equal(store_fill_insert(s, &f1, NULL), 0);
    assert_int_equal(store_unit_begin(s, NULL), 0);
    assert_int_equal(store_event(s, T0, "demo", e.id, "fill", NULL, "inner"), 0);
    assert_int_equal(store_unit_commit(s, NULL), 0); /* inner: waits for the outer one */
    assert_int_equal(store_unit_abort(s, NULL), 0);
    assert_int_equal(raw_int(t.path, "SELECT count(*) FROM fills"), 0);
    assert_int_equal(raw_int(t.path, "SELECT count(*) FROM events"), 0);

    /* Committed outside a batch: durable when the outermost unit commits, and an order
     * intent may be part of it on a durable store. */
    assert_int_equal(store_unit_begin(s, NULL), 0);
    assert_int_equal(store_fill_insert(s, &f1, NULL), 0);
    store_order o = sample_order(e.id, "unit-1-1");
    assert_int_equal(store_order_insert(s, &o, NULL), 0);
    assert_int_equal(store_unit_commit(s, NULL), 0);
    assert_int_equal(raw_int(t.path, "SELECT count(*) FROM fills"), 1);
    assert_int_equal(raw_int(t.path, "SELECT count(*) FROM orders"), 1);

    /* Inside a batch: a unit commits with the batch. */
    assert_int_equal(store_begin(s, NULL), 0);
    assert_int_equal(store_unit_begin(s, NULL), 0);
    store_fill f2 = sample_fill(e.id, "U2", SIDE_SELL, MONEY(10), MONEY(101), 0, T0 + 1);
    assert_int_equal(store_fill_insert(s, &f2, NULL), 0);
    assert_int_equal(store_unit_commit(s, NULL), 0);
    assert_int_equal(raw_int(t.path, "SELECT count(*) FROM fills"), 1);
    assert_int_equal(store_commit(s, NULL), 0);
    assert_int_equal(raw_int(t.path, "SELECT count(*) FROM fills"), 2);

    apex_error err;
    assert_int_equal(store_unit_commit(s, &err), APEX_ESTATE);
    assert_non_null(strstr(err.msg, "not begun"));
    assert_int_equal(store_unit_abort(s, &err), APEX_ESTATE);
    assert_false(store_write_failed(s, NULL)); /* misuse lost nothing */
    store_close(s);
    tmpdb_remove(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cursors_resume_after_reopen),
        cmocka_unit_test(test_events_and_equity),
        cmocka_unit_test(test_script_failures_add_up),
        cmocka_unit_test(test_fast_mode_batch_groups_writes),
        cmocka_unit_test(test_units_commit_together_or_not_at_all),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
