/* Tests for the store's durable-write failure policy: every write returns its error with
 * its message (apex_error), every failed write but a duplicate sets the write-failure
 * latch with the first failure's message, and store_test_fail_writes injects failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store/store_testing.h"
#include "store_fixture.h"
#include "util/err.h"

static void assert_latch_clear(store *s)
{
    apex_error first;
    memset(&first, 'x', sizeof first);
    assert_false(store_write_failed(s, &first));
    assert_int_equal(first.code, 0);
    assert_string_equal(first.msg, "");
    assert_int_equal(store_write_failures(s), 0);
}

static void test_error_text_travels_with_the_error(void **state)
{
    store *s = open_ok(":memory:");
    int64_t exec_id = build_consistent_book(s);
    store_position p;
    assert_int_equal(store_position_get_by_execution(s, exec_id, &p), 0);

    apex_error err;
    store_position_exit bad = sample_exit(&p);
    bad.exit_priority = (exit_priority)9;
    assert_int_equal(store_exit_insert(s, &bad, &err), APEX_EINVAL);
    assert_int_equal(err.code, APEX_EINVAL);
    assert_non_null(strstr(err.msg, "exit_priority 9"));
    /* A later failure elsewhere does not change the message the caller holds... */
    store_execution got;
    assert_int_equal(store_execution_get(s, 4242, &got), APEX_ENOTFOUND);
    assert_non_null(strstr(store_errmsg(s), "4242"));
    assert_non_null(strstr(err.msg, "exit_priority 9"));
    /* ...and a success clears it, so a reused apex_error never shows an old failure. */
    store_position_exit good = sample_exit(&p);
    assert_int_equal(store_exit_insert(s, &good, &err), 0);
    assert_int_equal(err.code, 0);
    assert_string_equal(err.msg, "");
    /* NULL is allowed: the result is still returned. */
    assert_int_equal(store_exit_insert(s, &bad, NULL), APEX_EINVAL);
    store_close(s);
}

static void test_latch_keeps_the_first_failure_and_writes_go_on(void **state)
{
    store *s = open_ok(":memory:");
    assert_latch_clear(s);
    store_execution e = sample_execution("demo", "AAPL");
    assert_int_equal(store_execution_insert(s, &e, NULL), 0);
    assert_latch_clear(s);

    store_execution nameless = sample_execution("", "AAPL");
    assert_int_equal(store_execution_insert(s, &nameless, NULL), APEX_EINVAL);
    store_execution missing = e;
    missing.id = 999;
    assert_int_equal(store_execution_update(s, &missing, NULL), APEX_ENOTFOUND);

    apex_error first;
    assert_true(store_write_failed(s, &first));
    assert_true(store_write_failed(s, NULL));
    assert_int_equal(first.code, APEX_EINVAL);
    assert_non_null(strstr(first.msg, "pipeline and symbol are required"));
    assert_int_equal(store_write_failures(s), 2);

    /* The store keeps accepting writes (exits must go on); the latch stays set. */
    e.status = EXEC_COMPLETED;
    assert_int_equal(store_execution_update(s, &e, NULL), 0);
    assert_int_equal(store_event(s, T0, "demo", e.id, "exit", NULL, "closed"), 0);
    assert_true(store_write_failed(s, &first));
    assert_non_null(strstr(first.msg, "pipeline and symbol are required"));
    assert_int_equal(store_write_failures(s), 2);
    store_close(s);

    /* A new open starts clear: the latch covers one open store. */
    s = open_ok(":memory:");
    assert_latch_clear(s);
    store_close(s);
}

/* Refusals that lose nothing leave the latch alone: duplicates, reads, batch control. */
static void test_duplicates_reads_and_batch_control_do_not_latch(void **state)
{
    store *s = open_ok(":memory:");
    int64_t exec_id = build_consistent_book(s);
    apex_error err;
    store_fill replay = sample_fill(exec_id, "F1", SIDE_BUY, MONEY(1), MONEY(10), 0, T0);
    assert_int_equal(store_fill_insert(s, &replay, &err), APEX_EDUP);
    assert_int_equal(err.code, APEX_EDUP);
    assert_non_null(strstr(err.msg, "F1"));
    store_order o = sample_order(exec_id, "dup-1-1");
    assert_int_equal(store_order_insert(s, &o, NULL), 0);
    assert_int_equal(store_order_insert(s, &o, NULL), APEX_EDUP);
    store_position p;
    assert_int_equal(store_position_get_by_execution(s, exec_id, &p), 0);
    store_position_exit x = sample_exit(&p);
    assert_int_equal(store_exit_insert(s, &x, NULL), 0);
    store_exit_attempt a = sample_attempt(&x, 1, "dup-1-2");
    assert_int_equal(store_exit_attempt_insert(s, &a, NULL), 0);
    store_exit_attempt again = sample_attempt(&x, 2, "dup-1-2");
    assert_int_equal(store_exit_attempt_insert(s, &again, NULL), APEX_EDUP);

    store_order none;
    assert_int_equal(store_order_get(s, "never", &none), APEX_ENOTFOUND);
    assert_int_equal(store_exit_attempt_by_order(s, "", &a), APEX_EINVAL);

    assert_int_equal(store_commit(s, &err), APEX_ESTATE); /* no batch: nothing lost */
    assert_non_null(strstr(err.msg, "without an open batch"));
    assert_int_equal(store_rollback(s, &err), APEX_ESTATE);
    assert_int_equal(store_begin(s, &err), 0);
    assert_int_equal(err.code, 0);
    assert_int_equal(store_begin(s, &err), APEX_ESTATE);
    assert_non_null(strstr(err.msg, "already open"));
    assert_int_equal(store_rollback(s, &err), 0);
    assert_latch_clear(s);
    store_close(s);
}

static void test_injected_failures_by_table_skip_and_count(void **state)
{
    store *s = open_ok(":memory:");
    int64_t exec_id = build_consistent_book(s);
    store_position p;
    assert_int_equal(store_position_get_by_execution(s, exec_id, &p), 0);
    store_test_fail_writes(s, "position_exits", 1, 2);

    apex_error err;
    store_position_exit x[4];
    int rc[4];
    for (int i = 0; i < 4; i++) {
        x[i] = sample_exit(&p);
        rc[i] = store_exit_insert(s, &x[i], &err);
        /* Other tables are untouched meanwhile. */
        assert_int_equal(store_event(s, T0, "demo", exec_id, "exit", NULL, "try %d", i), 0);
    }
    assert_int_equal(rc[0], 0);
    assert_int_equal(rc[1], APEX_EIO);
    assert_int_equal(rc[2], APEX_EIO);
    assert_int_equal(rc[3], 0);
    assert_int_equal(x[1].id, 0); /* nothing written, no id handed out */
    assert_int_equal(x[2].id, 0);
    exit_list written = {0};
    assert_int_equal(store_exits_for_execution(s, exec_id, exit_list_add, &written), 0);
    assert_int_equal(written.count, 2);

    apex_error first;
    assert_true(store_write_failed(s, &first));
    assert_int_equal(first.code, APEX_EIO);
    assert_non_null(strstr(first.msg, "recording an exit"));
    assert_non_null(strstr(first.msg, "injected"));
    assert_int_equal(store_write_failures(s), 2);

    /* NULL = any write; count 0 turns the hook off. */
    store_test_fail_writes(s, NULL, 0, 1);
    assert_int_equal(store_cursor_set(s, "demo", T0, &err), APEX_EIO);
    assert_non_null(strstr(err.msg, "saving a cursor"));
    assert_int_equal(store_cursor_set(s, "demo", T0, &err), 0);
    store_test_fail_writes(s, NULL, 0, 5);
    store_test_fail_writes(s, NULL, 0, 0);
    assert_int_equal(store_cursor_set(s, "demo", T0, &err), 0);
    assert_int_equal(store_write_failures(s), 3);
    store_close(s);
}

/* An intent that failed to commit must not exist: the caller then never sends it. */
static void test_injected_intent_failure_leaves_no_intent(void **state)
{
    store *s = open_ok(":memory:");
    store_execution e = sample_execution("demo", "AAPL");
    assert_int_equal(store_execution_insert(s, &e, NULL), 0);
    store_test_fail_writes(s, "orders", 0, 1);
    apex_error err;
    store_order o = sample_order(e.id, "intent-1-1");
    assert_int_equal(store_order_insert(s, &o, &err), APEX_EIO);
    assert_non_null(strstr(err.msg, "recording an order intent"));
    store_order got;
    assert_int_equal(store_order_get(s, "intent-1-1", &got), APEX_ENOTFOUND);
    assert_true(store_write_failed(s, NULL));
    store_close(s);
}

/* A failed commit loses the batch's writes: it latches, and leaves the batch open so the
 * caller can retry or roll back. */
static void test_injected_commit_failure_latches_and_keeps_the_batch(void **state)
{
    tmpdb t;
    tmpdb_make(&t);
    char open_err[512];
    store *s = store_open(t.path, STORE_FAST, open_err, sizeof open_err);
    assert_non_null(s);
    store_execution e = sample_execution("bt", "SPY");
    assert_int_equal(store_begin(s, NULL), 0);
    assert_int_equal(store_execution_insert(s, &e, NULL), 0);
    store_test_fail_writes(s, "commit", 0, 1);
    apex_error err;
    assert_int_equal(store_commit(s, &err), APEX_EIO);
    assert_non_null(strstr(err.msg, "committing a batch"));
    assert_true(store_in_batch(s));
    assert_true(store_write_failed(s, NULL));
    assert_int_equal(store_commit(s, &err), 0);
    assert_false(store_in_batch(s));
    store_close(s);
    assert_int_equal(raw_int(t.path, "SELECT count(*) FROM executions"), 1);
    tmpdb_remove(&t);
}

/* Every write function reports an injected failure through its return value, its
 * apex_error and the latch: none hides one. */
static void test_every_write_reports_failure(void **state)
{
    store *s = open_ok(":memory:");
    int64_t exec_id = build_consistent_book(s);
    store_execution e;
    assert_int_equal(store_execution_get(s, exec_id, &e), 0);
    store_position p;
    assert_int_equal(store_position_get_by_execution(s, exec_id, &p), 0);
    store_order o = sample_order(exec_id, "w-1-1");
    assert_int_equal(store_order_insert(s, &o, NULL), 0);
    store_position_exit x = sample_exit(&p);
    assert_int_equal(store_exit_insert(s, &x, NULL), 0);
    store_exit_attempt a = sample_attempt(&x, 1, "w-1-2");
    assert_int_equal(store_exit_attempt_insert(s, &a, NULL), 0);
    store_fill f = sample_fill(exec_id, "W1", SIDE_BUY, MONEY(1), MONEY(10), 0, T0);
    store_execution fresh = sample_execution("demo", "MSFT");
    store_position fresh_pos = p;
    store_order fresh_order = sample_order(exec_id, "w-1-3");
    store_position_exit fresh_exit = sample_exit(&p);
    store_exit_attempt fresh_attempt = sample_attempt(&x, 2, "w-1-4");
    assert_latch_clear(s);

    enum { WRITES = 16 };
    for (int i = 0; i < WRITES; i++) {
        apex_error err = {0};
        int rc = -100;
        store_test_fail_writes(s, NULL, 0, 1);
        if (i == 14) /* beginning a batch or a unit is not a write */
            assert_int_equal(store_begin(s, NULL), 0);
        if (i == 15)
            assert_int_equal(store_unit_begin(s, NULL), 0);
        switch (i) {
        case 0:
            rc = store_execution_insert(s, &fresh, &err);
            break;
        case 1:
            rc = store_execution_update(s, &e, &err);
            break;
        case 2:
            rc = store_order_insert(s, &fresh_order, &err);
            break;
        case 3:
            rc = store_order_update(s, &o, &err);
            break;
        case 4:
            rc = store_fill_insert(s, &f, &err);
            break;
        case 5:
            rc = store_position_insert(s, &fresh_pos, &err);
            break;
        case 6:
            rc = store_position_update(s, &p, &err);
            break;
        case 7:
            rc = store_event(s, T0, "demo", exec_id, "info", &err, "x");
            break;
        case 8:
            rc = store_equity_insert(s, T0, "demo", MONEY(1), MONEY(1), &err);
            break;
        case 9:
            rc = store_cursor_set(s, "demo", T0, &err);
            break;
        case 10:
            rc = store_exit_insert(s, &fresh_exit, &err);
            break;
        case 11:
            rc = store_exit_update(s, &x, &err);
            break;
        case 12:
            rc = store_exit_attempt_insert(s, &fresh_attempt, &err);
            break;
        case 13:
            rc = store_exit_attempt_update(s, &a, &err);
            break;
        case 14:
            rc = store_commit(s, &err);
            break;
        case 15:
            rc = store_unit_commit(s, &err);
            break;
        }
        assert_int_equal(rc, APEX_EIO);
        assert_int_equal(err.code, APEX_EIO);
        assert_non_null(strstr(err.msg, "injected"));
        assert_int_equal(store_write_failures(s), i + 1);
    }
    assert_int_equal(store_unit_abort(s, NULL), 0);
    assert_int_equal(store_rollback(s, NULL), 0);
    apex_error first;
    assert_true(store_write_failed(s, &first));
    assert_non_null(strstr(first.msg, "inserting an execution"));
    store_close(s);
}

/* For tests that run a whole host: the setting waits for the next store_open, then is
 * spent. */
static void test_injection_armed_for_the_next_open(void **state)
{
    store_test_fail_writes_on_next_open("executions", 1, 1);
    store *s = open_ok(":memory:");
    store *other = open_ok(":memory:"); /* opened later: not armed */
    store_execution e = sample_execution("demo", "AAPL");
    assert_int_equal(store_execution_insert(other, &e, NULL), 0);
    assert_int_equal(store_execution_insert(s, &e, NULL), 0); /* skipped */
    assert_int_equal(store_event(s, T0, "demo", 0, "info", NULL, "other tables pass"), 0);
    apex_error err;
    assert_int_equal(store_execution_insert(s, &e, &err), APEX_EIO);
    assert_non_null(strstr(err.msg, "injected"));
    assert_int_equal(store_execution_insert(s, &e, NULL), 0); /* count spent */
    assert_false(store_write_failed(other, NULL));
    assert_true(store_write_failed(s, NULL));
    store_close(other);
    store_close(s);

    store_test_fail_writes_on_next_open(NULL, 0, 0); /* count 0: nothing armed */
    s = open_ok(":memory:");
    assert_int_equal(store_execution_insert(s, &e, NULL), 0);
    store_close(s);
}

/* Closing with a batch still open loses its writes, and says so. */
static void test_close_with_an_open_batch_reports_the_loss(void **state)
{
    tmpdb t;
    tmpdb_make(&t);
    char open_err[512];
    store *s = store_open(t.path, STORE_FAST, open_err, sizeof open_err);
    assert_non_null(s);
    assert_int_equal(store_begin(s, NULL), 0);
    store_execution e = sample_execution("bt", "SPY");
    assert_int_equal(store_execution_insert(s, &e, NULL), 0);
    assert_int_equal(store_close(s), APEX_ESTATE);
    assert_int_equal(raw_int(t.path, "SELECT count(*) FROM executions"), 0);
    s = open_ok(t.path);
    assert_int_equal(store_close(s), 0);
    assert_int_equal(store_close(NULL), 0);
    tmpdb_remove(&t);
}

/* A unit whose commit failed did not commit: it latches, and the caller can still undo
 * it. Beginning and aborting units never latch. */
static void test_injected_unit_commit_failure_latches(void **state)
{
    tmpdb t;
    tmpdb_make(&t);
    store *s = open_ok(t.path);
    store_execution e = sample_execution("demo", "AAPL");
    assert_int_equal(store_unit_begin(s, NULL), 0);
    assert_int_equal(store_execution_insert(s, &e, NULL), 0);
    store_test_fail_writes(s, "unit", 0, 1);
    apex_error err;
    assert_int_equal(store_unit_commit(s, &err), APEX_EIO);
    assert_non_null(strstr(err.msg, "committing a unit of writes"));
    assert_true(store_write_failed(s, NULL));
    assert_int_equal(store_write_failures(s), 1);
    assert_int_equal(store_unit_abort(s, &err), 0);
    assert_int_equal(err.code, 0);
    assert_int_equal(store_write_failures(s), 1);
    assert_int_equal(raw_int(t.path, "SELECT count(*) FROM executions"), 0);
    store_close(s);
    tmpdb_remove(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_text_travels_with_the_error),
        cmocka_unit_test(test_latch_keeps_the_first_failure_and_writes_go_on),
        cmocka_unit_test(test_duplicates_reads_and_batch_control_do_not_latch),
        cmocka_unit_test(test_injected_failures_by_table_skip_and_count),
        cmocka_unit_test(test_injected_intent_failure_leaves_no_intent),
        cmocka_unit_test(test_injected_commit_failure_latches_and_keeps_the_batch),
        cmocka_unit_test(test_every_write_reports_failure),
        cmocka_unit_test(test_injection_armed_for_the_next_open),
        cmocka_unit_test(test_close_with_an_open_batch_reports_the_loss),
        cmocka_unit_test(test_injected_unit_commit_failure_latches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
