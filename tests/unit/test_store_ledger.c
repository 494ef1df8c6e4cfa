/* Tests for the ledger: average-cost accounting and the check that fills, positions and
 * executions agree to the smallest unit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/ledger.h"
#include "store/store.h"
#include "store_fixture.h"
#include "util/err.h"

static void test_ledger_average_cost_long_short_and_flip(void **state)
{
    ledger l;
    memset(&l, 0, sizeof l);
    /* Long: buy 100 @ 10, buy 50 @ 11, sell 120 @ 12; fees 1.00, 0.50, 1.20. */
    assert_int_equal(ledger_apply(&l, SIDE_BUY, MONEY(100), MONEY(10), CENTS(100)), 0);
    assert_int_equal(ledger_apply(&l, SIDE_BUY, MONEY(50), MONEY(11), CENTS(50)), 0);
    assert_int_equal(ledger_avg_price(&l), 1033333333); /* 1550 / 150 */
    assert_int_equal(ledger_apply(&l, SIDE_SELL, MONEY(120), MONEY(12), CENTS(120)), 0);
    /* closed cost 1550 * 120/150 = 1240, proceeds 1440, gain 200, minus 2.70 fees */
    assert_int_equal(l.realized, CENTS(19730));
    assert_int_equal(l.qty, MONEY(30));
    assert_int_equal(l.cost_basis, MONEY(310));
    assert_int_equal(l.fees, CENTS(270));

    /* Sell 50 more: closes the 30 long (gain 30 * (20 - 10.333..) = 50) and opens 20 short. */
    assert_int_equal(ledger_apply(&l, SIDE_SELL, MONEY(50), MONEY(20), 0), 0);
    assert_int_equal(l.realized, CENTS(19730) + MONEY(600) - MONEY(310));
    assert_int_equal(l.qty, -MONEY(20));
    assert_int_equal(ledger_avg_price(&l), MONEY(20));
    /* Buy back the short lower: a short's gain. */
    assert_int_equal(ledger_apply(&l, SIDE_BUY, MONEY(20), MONEY(15), 0), 0);
    assert_int_equal(l.qty, 0);
    assert_int_equal(l.cost_basis, 0);
    assert_int_equal(l.realized, CENTS(19730) + MONEY(290) + MONEY(100));

    assert_int_equal(ledger_apply(&l, SIDE_BUY, 0, MONEY(1), 0), APEX_EINVAL);
    assert_int_equal(ledger_apply(&l, SIDE_BUY, MONEY(1), MONEY(1), -1), APEX_EINVAL);
}

static char *report_of(store *s, int *mismatches)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    *mismatches = store_ledger_check(s, f);
    fclose(f);
    return buf;
}

static void test_ledger_check_passes_consistent_book(void **state)
{
    store *s = open_ok(":memory:");
    build_consistent_book(s);
    int n = -1;
    char *report = report_of(s, &n);
    assert_int_equal(n, 0);
    assert_string_equal(report, "");
    free(report);
    store_close(s);
}

static void test_ledger_check_detects_tampering(void **state)
{
    tmpdb t;
    tmpdb_make(&t);
    store *s = open_ok(t.path);
    int64_t id = build_consistent_book(s);
    store_close(s);

    /* Someone edits a fill quantity: the fills no longer sum to the open 30 shares. */
    raw_exec(t.path, "UPDATE fills SET qty = 11000000000 WHERE fill_id = 'F3'");
    s = open_ok(t.path);
    int n = 0;
    char *report = report_of(s, &n);
    assert_true(n >= 1);
    char want[128];
    snprintf(want, sizeof want, "execution %lld (AAPL): quantity", (long long)id);
    assert_non_null(strstr(report, want));
    /* fills now leave 150 - 110 = 40; the position still holds 30 */
    assert_non_null(strstr(report, "fills sum to 40 but the open position holds 30\n"));
    free(report);
    store_close(s);

    /* Restore the fill, then bump the stored P&L by one smallest unit. */
    raw_exec(t.path, "UPDATE fills SET qty = 12000000000 WHERE fill_id = 'F3'");
    raw_exec(t.path, "UPDATE executions SET realized_pnl = realized_pnl + 1 WHERE symbol = 'AAPL'");
    s = open_ok(t.path);
    report = report_of(s, &n);
    assert_int_equal(n, 1);
    assert_non_null(strstr(report, "executions.realized_pnl is 197.30000001"));
    assert_non_null(strstr(report, "fills give 197.30 "));
    free(report);
    store_close(s);
    tmpdb_remove(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ledger_average_cost_long_short_and_flip),
        cmocka_unit_test(test_ledger_check_passes_consistent_book),
        cmocka_unit_test(test_ledger_check_detects_tampering),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
