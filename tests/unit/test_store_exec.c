/* Tests for the executions table: status names, round trips, the active and recent
 * lists, callbacks that write, and rows the store cannot read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store_fixture.h"
#include "util/err.h"

static void test_exec_status_names_round_trip(void **state)
{
    for (int i = EXEC_PENDING; i <= EXEC_SKIPPED; i++)
        assert_int_equal(exec_status_parse(exec_status_name((exec_status)i)), i);
    assert_string_equal(exec_status_name(EXEC_MONITORING), "monitoring");
    assert_int_equal(exec_status_parse("bogus"), -1);
    assert_int_equal(exec_status_parse(NULL), -1);
    assert_true(exec_status_is_final(EXEC_COMPLETED));
    assert_true(exec_status_is_final(EXEC_SKIPPED));
    assert_false(exec_status_is_final(EXEC_MONITORING));
    assert_false(exec_status_is_final(EXEC_PAUSED));
}

static int collect_ids(void *ud, const store_execution *e)
{
    int64_t *ids = ud;
    for (int i = 0; i < 16; i++)
        if (!ids[i]) {
            ids[i] = e->id;
            break;
        }
    return 0;
}

static void test_execution_round_trips_every_field(void **state)
{
    store *s = open_ok(":memory:");
    store_execution e = sample_execution("momentum", "AAPL");
    e.status = EXEC_MONITORING;
    snprintf(e.phase, sizeof e.phase, "monitoring");
    e.completed_at = T0 + 3 * APEX_HOUR;
    e.next_check_at = T0 + 30 * APEX_SECOND;
    e.monitor_interval_s = 5;
    snprintf(e.bias, sizeof e.bias, "long");
    e.side = SIDE_BUY;
    e.qty = MONEY(100);
    e.entry_price = CENTS(18725);
    e.stop_loss = CENTS(18000);
    e.take_profit = CENTS(19500);
    e.realized_pnl = -CENTS(1234);
    e.fees = CENTS(35);
    snprintf(e.reason, sizeof e.reason, "entered on breakout");
    e.order_seq = 3;
    e.retry_count = 2;
    e.entry_typed = true; /* a buy stop at 190 that expires (migration 6) */
    e.entry_type = ORDER_STOP;
    e.entry_order_price = CENTS(19000);
    e.expire_bars = 3;
    e.expire_seconds = 1800;
    e.expire_at = T0 + 1800 * APEX_SECOND;
    e.resting_since = T0 + APEX_MINUTE;
    assert_int_equal(store_execution_insert(s, &e, NULL), 0);
    assert_true(e.id > 0);

    store_execution got;
    assert_int_equal(store_execution_get(s, e.id, &got), 0);
    assert_execution_equal(&got, &e);

    /* Update changes every mutable field and clears optional ones back to NULL. */
    e.status = EXEC_COMPLETED;
    snprintf(e.phase, sizeof e.phase, "monitoring");
    e.next_check_at = 0;
    e.realized_pnl = CENTS(4800);
    e.side = SIDE_SELL;
    e.bias[0] = 0;
    snprintf(e.reason, sizeof e.reason, "take profit filled at 195.00");
    e.order_seq = 4;
    e.retry_count = 0;
    e.entry_type = ORDER_LIMIT;
    e.entry_order_price = CENTS(18500);
    e.expire_at = 0; /* NULL again */
    e.resting_since = 0;
    assert_int_equal(store_execution_update(s, &e, NULL), 0);
    assert_int_equal(store_execution_get(s, e.id, &got), 0);
    assert_execution_equal(&got, &e);

    /* Untyped (execution.entry decides) is a NULL entry_type, not "market". */
    e.entry_typed = false;
    e.entry_type = ORDER_MARKET;
    assert_int_equal(store_execution_update(s, &e, NULL), 0);
    assert_int_equal(store_execution_get(s, e.id, &got), 0);
    assert_execution_equal(&got, &e);

    assert_int_equal(store_execution_get(s, 999, &got), APEX_ENOTFOUND);
    assert_non_null(strstr(store_errmsg(s), "999"));
    store_execution missing = e;
    missing.id = 999;
    assert_int_equal(store_execution_update(s, &missing, NULL), APEX_ENOTFOUND);
    store_close(s);
}

static void test_active_recent_and_count(void **state)
{
    store *s = open_ok(":memory:");
    exec_status statuses[] = {EXEC_PENDING, EXEC_COMPLETED, EXEC_MONITORING,
                              EXEC_SKIPPED, EXEC_PAUSED,    EXEC_RUNNING};
    const char *pipes[] = {"a", "a", "a", "b", "b", "b"};
    int64_t ids[6];
    for (int i = 0; i < 6; i++) {
        store_execution e = sample_execution(pipes[i], i % 2 ? "MSFT" : "AAPL");
        e.status = statuses[i];
        assert_int_equal(store_execution_insert(s, &e, NULL), 0);
        ids[i] = e.id;
    }
    int64_t got[16] = {0};
    assert_int_equal(store_executions_active(s, NULL, collect_ids, got), 0);
    /* pending, monitoring, paused, running; oldest first */
    assert_int_equal(got[0], ids[0]);
    assert_int_equal(got[1], ids[2]);
    assert_int_equal(got[2], ids[4]);
    assert_int_equal(got[3], ids[5]);
    assert_int_equal(got[4], 0);

    memset(got, 0, sizeof got);
    assert_int_equal(store_executions_active(s, "b", collect_ids, got), 0);
    assert_int_equal(got[0], ids[4]);
    assert_int_equal(got[1], ids[5]);
    assert_int_equal(got[2], 0);

    memset(got, 0, sizeof got);
    assert_int_equal(store_executions_recent(s, 3, collect_ids, got), 0);
    assert_int_equal(got[0], ids[5]);
    assert_int_equal(got[1], ids[4]);
    assert_int_equal(got[2], ids[3]);
    assert_int_equal(got[3], 0);

    assert_int_equal(store_execution_count(s, NULL, -1), 6);
    assert_int_equal(store_execution_count(s, "a", -1), 3);
    assert_int_equal(store_execution_count(s, "a", EXEC_COMPLETED), 1);
    assert_int_equal(store_execution_count(s, NULL, EXEC_FAILED), 0);
    store_close(s);
}

/* A callback may write to the store while an iteration is running. */
static int complete_each(void *ud, const store_execution *e)
{
    store *s = ud;
    store_execution copy = *e;
    copy.status = EXEC_COMPLETED;
    return store_execution_update(s, &copy, NULL) != 0;
}

static void test_iteration_callbacks_may_write(void **state)
{
    store *s = open_ok(":memory:");
    for (int i = 0; i < 3; i++) {
        store_execution e = sample_execution("p", "AAPL");
        assert_int_equal(store_execution_insert(s, &e, NULL), 0);
    }
    assert_int_equal(store_executions_active(s, NULL, complete_each, s), 0);
    assert_int_equal(store_execution_count(s, NULL, EXEC_COMPLETED), 3);
    assert_int_equal(store_execution_count(s, NULL, EXEC_RUNNING), 0);
    store_close(s);
}

static void test_unknown_status_in_database_is_reported(void **state)
{
    tmpdb t;
    tmpdb_make(&t);
    store *s = open_ok(t.path);
    store_execution e = sample_execution("demo", "AAPL");
    assert_int_equal(store_execution_insert(s, &e, NULL), 0);
    store_close(s);
    raw_exec(t.path, "UPDATE executions SET status = 'exploded'");
    s = open_ok(t.path);
    store_execution got;
    assert_int_equal(store_execution_get(s, e.id, &got), APEX_EIO);
    assert_non_null(strstr(store_errmsg(s), "exploded"));
    assert_non_null(strstr(store_errmsg(s), t.path));
    store_close(s);
    /* So is an entry order type it does not know (migration 6's entry_type). */
    raw_exec(t.path, "UPDATE executions SET status = 'monitoring', entry_type = 'iceberg'");
    s = open_ok(t.path);
    assert_int_equal(store_execution_get(s, e.id, &got), APEX_EIO);
    assert_non_null(strstr(store_errmsg(s), "unknown entry_type 'iceberg'"));
    store_close(s);
    tmpdb_remove(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exec_status_names_round_trip),
        cmocka_unit_test(test_execution_round_trips_every_field),
        cmocka_unit_test(test_active_recent_and_count),
        cmocka_unit_test(test_iteration_callbacks_may_write),
        cmocka_unit_test(test_unknown_status_in_database_is_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
