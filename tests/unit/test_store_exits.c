/* Tests for seed 003's position_exits and exit_attempts: round trips, the values the
 * store refuses (naming the field), working exits for a restart, and attempts found by
 * their client order id. */
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

static void test_exit_and_attempts_round_trip_every_field(void **state)
{
    tmpdb t;
    tmpdb_make(&t);
    store *s = open_ok(t.path);
    int64_t exec_id = build_consistent_book(s);
    store_position p;
    assert_int_equal(store_position_get_by_execution(s, exec_id, &p), 0);

    store_position_exit e = sample_exit(&p);
    assert_int_equal(store_exit_insert(s, &e, NULL), 0);
    assert_true(e.id > 0);
    assert_int_equal(e.execution_id, exec_id);       /* taken from the position */
    assert_int_equal(e.status, EXIT_STATUS_WORKING); /* the default */

    store_exit_attempt first = sample_attempt(&e, 1, "feedbeef-1-2");
    assert_int_equal(store_exit_attempt_insert(s, &first, NULL), 0);
    store_exit_attempt second = sample_attempt(&e, 2, "feedbeef-1-3");
    second.limit_price = CENTS(1247); /* walked one step */
    assert_int_equal(store_exit_attempt_insert(s, &second, NULL), 0);
    assert_true(second.id > first.id);

    /* The first limit expired unfilled; the walked one filled at 12.47. */
    first.status = ORDER_STATUS_CANCELLED;
    assert_int_equal(store_exit_attempt_update(s, &first, NULL), 0);
    second.status = ORDER_STATUS_FILLED;
    second.filled_quantity = MONEY(15);
    assert_int_equal(store_exit_attempt_update(s, &second, NULL), 0);
    e.attempts = 2;
    e.filled_quantity = MONEY(15);
    e.exit_price = CENTS(1247);
    e.executed_at = T0 + 40 * APEX_SECOND;
    e.status = EXIT_STATUS_FILLED;
    assert_int_equal(store_exit_update(s, &e, NULL), 0);
    store_close(s);

    /* Everything survives a reopen. */
    s = open_ok(t.path);
    store_position_exit got;
    assert_int_equal(store_exit_get(s, e.id, &got), 0);
    assert_exit_equal(&got, &e);
    exit_list of_exec = {0};
    assert_int_equal(store_exits_for_execution(s, exec_id, exit_list_add, &of_exec), 0);
    assert_int_equal(of_exec.count, 1);
    assert_exit_equal(&of_exec.items[0], &e);
    attempt_list attempts = {0};
    assert_int_equal(store_exit_attempts_for_exit(s, e.id, attempt_list_add, &attempts), 0);
    assert_int_equal(attempts.count, 2);
    assert_attempt_equal(&attempts.items[0], &first);
    assert_attempt_equal(&attempts.items[1], &second);

    /* Times left at 0 get the seed's DEFAULT NOW() and are handed back. */
    store_position_exit now = sample_exit(&p);
    now.triggered_at = 0;
    assert_int_equal(store_exit_insert(s, &now, NULL), 0);
    assert_true(now.triggered_at > T0);
    assert_int_equal(store_exit_get(s, now.id, &got), 0);
    assert_int_equal(got.triggered_at, now.triggered_at);
    /* An update with triggered_at 0 keeps the stored time. */
    now.triggered_at = 0;
    now.status = EXIT_STATUS_CANCELLED;
    assert_int_equal(store_exit_update(s, &now, NULL), 0);
    assert_int_equal(store_exit_get(s, now.id, &got), 0);
    assert_int_equal(got.triggered_at > T0, 1);
    assert_int_equal(got.status, EXIT_STATUS_CANCELLED);

    assert_int_equal(store_exit_get(s, 999, &got), APEX_ENOTFOUND);
    store_position_exit empty;
    memset(&empty, 0, sizeof empty);
    empty.id = e.id;
    assert_int_equal(store_exit_update(s, &empty, NULL), APEX_EINVAL); /* would wipe the row */
    assert_int_equal(store_exit_get(s, e.id, &got), 0);
    assert_exit_equal(&got, &e);
    store_position_exit missing = e;
    missing.id = 999;
    assert_int_equal(store_exit_update(s, &missing, NULL), APEX_ENOTFOUND);
    store_exit_attempt missing_attempt = first;
    missing_attempt.id = 999;
    assert_int_equal(store_exit_attempt_update(s, &missing_attempt, NULL), APEX_ENOTFOUND);
    store_close(s);
    tmpdb_remove(&t);
}

static void test_bad_exit_and_attempt_values_name_the_field(void **state)
{
    store *s = open_ok(":memory:");
    apex_error err;
    int64_t exec_id = build_consistent_book(s);
    store_position p;
    assert_int_equal(store_position_get_by_execution(s, exec_id, &p), 0);

    store_position_exit e = sample_exit(&p);
    e.exit_priority = (exit_priority)9;
    assert_int_equal(store_exit_insert(s, &e, &err), APEX_EINVAL);
    assert_non_null(strstr(err.msg, "exit_priority 9"));

    e = sample_exit(&p);
    e.filled_quantity = e.exit_quantity + 1; /* would over-sell */
    assert_int_equal(store_exit_insert(s, &e, &err), APEX_EINVAL);
    assert_non_null(strstr(err.msg, "filled_quantity"));

    e = sample_exit(&p);
    e.status = (exit_status)7;
    assert_int_equal(store_exit_insert(s, &e, &err), APEX_EINVAL);
    assert_non_null(strstr(err.msg, "status 7"));

    e = sample_exit(&p);
    e.exit_quantity = 0;
    assert_int_equal(store_exit_insert(s, &e, &err), APEX_EINVAL);
    assert_non_null(strstr(err.msg, "exit_quantity"));

    e = sample_exit(&p);
    e.position_id = 4242; /* no such position: the foreign key refuses it */
    assert_int_equal(store_exit_insert(s, &e, NULL), APEX_EINVAL);

    e = sample_exit(&p);
    assert_int_equal(store_exit_insert(s, &e, NULL), 0);
    store_exit_attempt a = sample_attempt(&e, 1, "feedbeef-1-9");
    a.limit_price = 0; /* a limit order without a price */
    assert_int_equal(store_exit_attempt_insert(s, &a, &err), APEX_EINVAL);
    assert_non_null(strstr(err.msg, "limit_price"));
    a = sample_attempt(&e, 1, "feedbeef-1-9");
    a.status = (order_status)42;
    assert_int_equal(store_exit_attempt_insert(s, &a, &err), APEX_EINVAL);
    assert_non_null(strstr(err.msg, "status 42"));
    a = sample_attempt(&e, 0, "feedbeef-1-9");
    assert_int_equal(store_exit_attempt_insert(s, &a, &err), APEX_EINVAL);
    assert_non_null(strstr(err.msg, "attempt_number"));

    /* Nothing of the refused attempts was written. */
    attempt_list none = {0};
    assert_int_equal(store_exit_attempts_for_exit(s, e.id, attempt_list_add, &none), 0);
    assert_int_equal(none.count, 0);
    store_close(s);
}

static int finish_working_exit(void *ud, const store_position_exit *e)
{
    store *s = ud;
    store_position_exit done = *e;
    done.status = EXIT_STATUS_FILLED;
    done.filled_quantity = done.exit_quantity;
    return store_exit_update(s, &done, NULL) != 0; /* writing from the callback is allowed */
}

static void test_exits_working_lists_only_unfinished_exits(void **state)
{
    store *s = open_ok(":memory:");
    int64_t exec_id = build_consistent_book(s);
    store_position p;
    assert_int_equal(store_position_get_by_execution(s, exec_id, &p), 0);
    const exit_status statuses[] = {EXIT_STATUS_FILLED, EXIT_STATUS_WORKING, EXIT_STATUS_FAILED,
                                    EXIT_STATUS_WORKING, EXIT_STATUS_CANCELLED};
    int64_t ids[5];
    for (int i = 0; i < 5; i++) {
        store_position_exit e = sample_exit(&p);
        e.status = statuses[i];
        e.triggered_at = T0 + i * APEX_SECOND;
        assert_int_equal(store_exit_insert(s, &e, NULL), 0);
        ids[i] = e.id;
    }
    exit_list working = {0};
    assert_int_equal(store_exits_working(s, exit_list_add, &working), 0);
    assert_int_equal(working.count, 2);
    assert_int_equal(working.items[0].id, ids[1]); /* oldest first */
    assert_int_equal(working.items[1].id, ids[3]);
    assert_int_equal(working.items[1].triggered_at, T0 + 3 * APEX_SECOND);

    /* A restart resumes them; once finished they are no longer listed. */
    assert_int_equal(store_exits_working(s, finish_working_exit, s), 0);
    working.count = 0;
    assert_int_equal(store_exits_working(s, exit_list_add, &working), 0);
    assert_int_equal(working.count, 0);
    exit_list all = {0};
    assert_int_equal(store_exits_for_execution(s, exec_id, exit_list_add, &all), 0);
    assert_int_equal(all.count, 5);
    assert_int_equal(all.items[3].status, EXIT_STATUS_FILLED);
    assert_int_equal(all.items[3].filled_quantity, MONEY(15));
    exit_list other = {0};
    assert_int_equal(store_exits_for_execution(s, exec_id + 100, exit_list_add, &other), 0);
    assert_int_equal(other.count, 0);
    store_close(s);
}

static void test_exit_attempt_found_by_its_client_order_id(void **state)
{
    store *s = open_ok(":memory:");
    apex_error err;
    int64_t exec_id = build_consistent_book(s);
    store_position p;
    assert_int_equal(store_position_get_by_execution(s, exec_id, &p), 0);
    store_position_exit e = sample_exit(&p);
    assert_int_equal(store_exit_insert(s, &e, NULL), 0);
    store_exit_attempt a1 = sample_attempt(&e, 1, "feedbeef-1-4");
    store_exit_attempt a2 = sample_attempt(&e, 2, "feedbeef-1-5");
    a2.limit_price = CENTS(1245);
    assert_int_equal(store_exit_attempt_insert(s, &a1, NULL), 0);
    assert_int_equal(store_exit_attempt_insert(s, &a2, NULL), 0);
    /* Attempts recorded before their order id is known do not collide with each other. */
    store_exit_attempt pending1 = sample_attempt(&e, 3, "");
    store_exit_attempt pending2 = sample_attempt(&e, 4, "");
    assert_int_equal(store_exit_attempt_insert(s, &pending1, NULL), 0);
    assert_int_equal(store_exit_attempt_insert(s, &pending2, NULL), 0);

    /* A broker report about feedbeef-1-5 finds the second attempt and its exit. */
    store_exit_attempt got;
    assert_int_equal(store_exit_attempt_by_order(s, "feedbeef-1-5", &got), 0);
    assert_attempt_equal(&got, &a2);
    assert_int_equal(got.exit_id, e.id);
    assert_int_equal(got.limit_price, CENTS(1245));

    assert_int_equal(store_exit_attempt_by_order(s, "feedbeef-9-9", &got), APEX_ENOTFOUND);
    assert_non_null(strstr(store_errmsg(s), "feedbeef-9-9"));
    assert_int_equal(store_exit_attempt_by_order(s, "", &got), APEX_EINVAL);

    /* One order is one attempt: reusing its id is refused, by insert and by update. */
    store_exit_attempt again = sample_attempt(&e, 5, "feedbeef-1-4");
    assert_int_equal(store_exit_attempt_insert(s, &again, &err), APEX_EDUP);
    assert_non_null(strstr(err.msg, "feedbeef-1-4"));
    snprintf(pending1.client_order_id, sizeof pending1.client_order_id, "feedbeef-1-5");
    assert_int_equal(store_exit_attempt_update(s, &pending1, NULL), APEX_EDUP);
    snprintf(pending1.client_order_id, sizeof pending1.client_order_id, "feedbeef-1-6");
    assert_int_equal(store_exit_attempt_update(s, &pending1, NULL), 0);
    assert_int_equal(store_exit_attempt_by_order(s, "feedbeef-1-6", &got), 0);
    assert_int_equal(got.attempt_number, 3);
    store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exit_and_attempts_round_trip_every_field),
        cmocka_unit_test(test_bad_exit_and_attempt_values_name_the_field),
        cmocka_unit_test(test_exits_working_lists_only_unfinished_exits),
        cmocka_unit_test(test_exit_attempt_found_by_its_client_order_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
