/* model: the shared vocabulary round-trips through its text names (the SQL and JSON
 * boundary) and bracket-leg ids are derived one way everywhere. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "model/execution.h"
#include "model/exit.h"
#include "model/order.h"
#include "util/err.h"

static void test_order_names_round_trip(void **state)
{
    (void)state;
    for (int s = ORDER_STATUS_NEW; s <= ORDER_STATUS_UNSENT; s++)
        assert_int_equal(order_status_parse(order_status_name((order_status)s)), s);
    for (int r = ORDER_ROLE_ENTRY; r <= ORDER_ROLE_EXIT; r++)
        assert_int_equal(order_role_parse(order_role_name((order_role)r)), r);
    for (int t = ORDER_MARKET; t <= ORDER_STOP_LIMIT; t++)
        assert_int_equal(order_type_parse(order_type_name((order_type)t)), t);
    assert_string_equal(order_status_name((order_status)99), "unknown");
    assert_int_equal(order_status_parse("sent"), -1);
    assert_true(order_status_is_final(ORDER_STATUS_UNSENT));
    assert_false(order_status_is_final(ORDER_STATUS_HELD));
    assert_int_equal(order_side_opposite(SIDE_BUY), SIDE_SELL);
}

static void test_exit_names_round_trip(void **state)
{
    (void)state;
    for (int c = EXIT_STOP_LOSS; c <= EXIT_STRATEGY_EXIT; c++)
        assert_int_equal(exit_condition_parse(exit_condition_name((exit_condition)c)), c);
    assert_int_equal(exit_condition_parse("edge_reversal"), -1); /* REQ-EXIT-009 */
    assert_int_equal(exit_condition_priority(EXIT_STOP_LOSS), EXIT_PRIORITY_CRITICAL);
    assert_int_equal(exit_condition_priority(EXIT_TRAILING_STOP), EXIT_PRIORITY_HIGH);
    assert_int_equal(exit_condition_priority(EXIT_PARTIAL_EXIT_TARGET), EXIT_PRIORITY_MEDIUM);
    assert_int_equal(exit_condition_priority(EXIT_REBALANCE), EXIT_PRIORITY_LOW);
    assert_int_equal(exit_condition_priority(EXIT_EMERGENCY_INSTRUCTION), EXIT_PRIORITY_CRITICAL);
    assert_string_equal(exit_condition_name(EXIT_STRATEGY_EXIT), "strategy_exit");
    assert_int_equal(exit_condition_priority(EXIT_NONE), EXIT_PRIORITY_LOW);
    for (int s = EXIT_STATUS_WORKING; s < EXIT_STATUS_COUNT; s++)
        assert_int_equal(exit_status_parse(exit_status_name((exit_status)s)), s);
    for (int p = EXIT_PRIORITY_CRITICAL; p < EXIT_PRIORITY_COUNT; p++)
        assert_int_equal(exit_priority_parse(exit_priority_name((exit_priority)p)), p);
    assert_int_equal(price_strategy_parse("fair"), PRICE_FAIR);
    for (int s = EXEC_PENDING; s <= EXEC_SKIPPED; s++)
        assert_int_equal(exec_status_parse(exec_status_name((exec_status)s)), s);
}

static void test_leg_ids(void **state)
{
    (void)state;
    char id[BROKER_ID_MAX], parent[BROKER_ID_MAX];
    assert_int_equal(order_leg_id("fd115223-1-1", ORDER_ROLE_TAKE_PROFIT, id, sizeof id), 0);
    assert_string_equal(id, "fd115223-1-1-tp");
    assert_int_equal(order_leg_parse(id, parent, sizeof parent), ORDER_ROLE_TAKE_PROFIT);
    assert_string_equal(parent, "fd115223-1-1");
    assert_int_equal(order_leg_id("fd115223-1-1", ORDER_ROLE_STOP_LOSS, id, sizeof id), 0);
    assert_string_equal(id, "fd115223-1-1-sl");
    assert_int_equal(order_leg_parse(id, NULL, 0), ORDER_ROLE_STOP_LOSS);
    assert_int_equal(order_leg_parse("fd115223-1-1", parent, sizeof parent), ORDER_ROLE_ENTRY);
    assert_int_equal(order_leg_id("x", ORDER_ROLE_ENTRY, id, sizeof id), APEX_EINVAL);
    char tiny[4];
    assert_int_equal(order_leg_id("abc", ORDER_ROLE_STOP_LOSS, tiny, sizeof tiny), APEX_ERANGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_names_round_trip),
        cmocka_unit_test(test_exit_names_round_trip),
        cmocka_unit_test(test_leg_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
