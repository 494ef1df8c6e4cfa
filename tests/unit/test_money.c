/* money: exact decimal parsing and formatting, banker's rounding, tick/lot rounding and
 * overflow detection -- the properties a ledger of fills relies on. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "money/money.h"
#include "util/err.h"

static money_t parse(const char *s)
{
    money_t v = 0;
    assert_int_equal(money_parse(s, strlen(s), &v), 0);
    return v;
}

static void test_parse_exact_decimals(void **state)
{
    (void)state;
    assert_true(parse("12.34") == 1234000000LL);
    assert_true(parse("7") == 7 * MONEY_SCALE);
    assert_true(parse("0.00048") == 48000);
    assert_true(parse("-12.345") == -1234500000LL);
    assert_true(parse("+3.5") == 350000000LL);
    assert_true(parse("0.00000001") == 1);
    assert_true(parse("92233720368.54775807") == INT64_MAX);
    /* len bounds the read: the rest of a CSV row is not looked at. */
    money_t v;
    assert_int_equal(money_parse("101.25,102.00", 6, &v), 0);
    assert_true(v == 10125000000LL);
}

/* Plain decimals take a shorter path than signed ('+') or long ones; a '+' in front
 * sends the same text through the general loop, which must agree to the unit, and
 * inputs at the edges of the short path (10 whole digits, 8 decimals, a 9th decimal,
 * 11 digits) and around it (no digits, a lone dot, a second dot) must too. */
static void test_parse_plain_path_agrees(void **state)
{
    (void)state;
    const char *cases[] = {"0",
                           "1",
                           "1.",
                           ".5",
                           "0.00000001",
                           "234.74",
                           "9999999999.99999999",
                           "10000000000.5",
                           "92233720367.99999999",
                           "1.000000005",
                           "1.0000000051",
                           "00000000000000000001.25",
                           "3393",
                           "-0",
                           "-12.5",
                           "-9999999999.9"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        money_t a = 1, b = 2;
        char plus[64] = "+";
        const char *c = cases[i];
        int ra = money_parse(c, strlen(c), &a);
        if (c[0] == '-') {
            /* "-x" is the negation of "+x" */
            strcat(plus, c + 1);
            int rb = money_parse(plus, strlen(plus), &b);
            assert_int_equal(ra, rb);
            if (ra == 0)
                assert_true(a == -b);
            continue;
        }
        strcat(plus, c);
        int rb = money_parse(plus, strlen(plus), &b);
        assert_int_equal(ra, rb);
        if (ra == 0 && a != b)
            fail_msg("%s: %lld != %lld", c, (long long)a, (long long)b);
    }
    money_t v;
    assert_int_equal(money_parse("234.74", 6, &v), 0);
    assert_int_equal(v, 23474000000);
    assert_int_equal(money_parse("9999999999.99999999", 19, &v), 0);
    assert_int_equal(v, 999999999999999999);
    const char *bad[] = {"", ".", "-", "-.", "1.2.3", "1..", "12a", "1 ", "--1", "1e5"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_not_equal(money_parse(bad[i], strlen(bad[i]), &v), 0);
}

static void test_parse_rejects_garbage(void **state)
{
    (void)state;
    const char *bad[] = {"", "-", ".", "abc", "1e3", "12.3.4", "1,5", " 12", "12 ", "0x10", "--1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        money_t v = 42;
        assert_int_equal(money_parse(bad[i], strlen(bad[i]), &v), APEX_EINVAL);
        assert_true(v == 42); /* untouched on failure */
    }
    money_t v;
    assert_int_equal(money_parse("92233720368.54775808", 20, &v), APEX_ERANGE);
    assert_int_equal(money_parse("1000000000000", 13, &v), APEX_ERANGE);
}

static void test_parse_rounds_half_even_past_8_decimals(void **state)
{
    (void)state;
    assert_true(parse("0.000000005") == 0);   /* tie, 0 is even */
    assert_true(parse("0.000000015") == 2);   /* tie, rounds up to even 2 */
    assert_true(parse("0.0000000150") == 2);  /* trailing zero is still a tie */
    assert_true(parse("0.0000000051") == 1);  /* past the tie */
    assert_true(parse("0.000000025") == 2);   /* tie, stays at even 2 */
    assert_true(parse("-0.000000015") == -2); /* symmetric for negatives */
    assert_true(parse("1.123456789") == 112345679);
}

static void test_format_and_round_trip(void **state)
{
    (void)state;
    char buf[64];
    assert_string_equal(money_format(1234000000LL, 2, buf, sizeof buf), "12.34");
    assert_string_equal(money_format(-1234500000LL, 3, buf, sizeof buf), "-12.345");
    assert_string_equal(money_format(MONEY(7), 0, buf, sizeof buf), "7");
    assert_string_equal(money_format(48000, 8, buf, sizeof buf), "0.00048000");
    /* Half to even when dropping decimals: 0.125 -> 0.12, 0.135 -> 0.14. */
    assert_string_equal(money_format(12500000, 2, buf, sizeof buf), "0.12");
    assert_string_equal(money_format(13500000, 2, buf, sizeof buf), "0.14");
    assert_string_equal(money_format(-12500000, 2, buf, sizeof buf), "-0.12");
    /* A value that rounds to zero prints without a minus sign. */
    assert_string_equal(money_format(-100, 2, buf, sizeof buf), "0.00");
    assert_string_equal(money_format(INT64_MAX, 8, buf, sizeof buf), "92233720368.54775807");
    assert_string_equal(money_format(MONEY_MIN, 8, buf, sizeof buf), "-92233720368.54775807");

    assert_string_equal(money_format_trim(1230000000LL, 2, buf, sizeof buf), "12.30");
    assert_string_equal(money_format_trim(1234500000LL, 2, buf, sizeof buf), "12.345");
    assert_string_equal(money_format_trim(48000, 0, buf, sizeof buf), "0.00048");
    assert_string_equal(money_format_trim(MONEY(3), 0, buf, sizeof buf), "3");

    const char *samples[] = {"0.01", "-99.99", "123456.78901234", "0.00000001", "50000"};
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        money_t v = parse(samples[i]);
        money_format_trim(v, 0, buf, sizeof buf);
        assert_string_equal(buf, samples[i]);
        assert_true(parse(buf) == v);
    }
}

static void test_from_double_is_exact_to_8_places(void **state)
{
    (void)state;
    money_t v;
    char err[128];
    assert_int_equal(money_from_double(0.1, &v, "price", err, sizeof err), 0);
    assert_true(v == 10000000);
    assert_int_equal(money_from_double(123.456, &v, "price", err, sizeof err), 0);
    assert_true(v == 12345600000LL);
    assert_int_equal(money_from_double(-0.07, &v, "pnl", err, sizeof err), 0);
    assert_true(v == -7000000);
    assert_int_equal(money_from_double(0.125, &v, "ratio", err, sizeof err), 0);
    assert_true(v == 12500000);
    /* Many decimal inputs as Lua numbers: each lands on the nearest 1e-8. */
    for (int cents = 0; cents < 100000; cents += 7) {
        assert_int_equal(money_from_double(cents / 100.0, &v, "p", err, sizeof err), 0);
        assert_true(v == (money_t)cents * 1000000);
    }
    assert_int_equal(money_from_double(1e10 + 0.5, &v, "cash", err, sizeof err), 0);
    assert_true(v == 1000000000050000000LL);
    assert_true(money_to_double(1234000000LL) == 12.34);
}

static void test_from_double_rejects_nan_inf_range(void **state)
{
    (void)state;
    money_t v = 5;
    char err[128];
    assert_int_equal(money_from_double(NAN, &v, "stop_loss", err, sizeof err), APEX_EINVAL);
    assert_non_null(strstr(err, "stop_loss"));
    assert_non_null(strstr(err, "NaN"));
    assert_int_equal(money_from_double(INFINITY, &v, "take_profit", err, sizeof err), APEX_EINVAL);
    assert_non_null(strstr(err, "take_profit"));
    assert_int_equal(money_from_double(-INFINITY, &v, "qty", err, sizeof err), APEX_EINVAL);
    assert_non_null(strstr(err, "qty"));
    assert_int_equal(money_from_double(1e12, &v, "capital", err, sizeof err), APEX_ERANGE);
    assert_non_null(strstr(err, "capital"));
    assert_non_null(strstr(err, "out of range"));
    assert_int_equal(money_from_double(-1e300, &v, "cash", err, sizeof err), APEX_ERANGE);
    assert_true(v == 5);
    /* A NULL buffer is allowed. */
    assert_int_equal(money_from_double(NAN, &v, "x", NULL, 0), APEX_EINVAL);
}

static void test_tick_and_lot_rounding_directions(void **state)
{
    (void)state;
    money_t tick = parse("0.05");
    money_t p = parse("10.03");
    assert_true(money_round_to(p, tick, MONEY_ROUND_DOWN) == parse("10.00"));
    assert_true(money_round_to(p, tick, MONEY_ROUND_UP) == parse("10.05"));
    assert_true(money_round_to(p, tick, MONEY_ROUND_NEAREST) == parse("10.05"));
    assert_true(money_round_to(p, tick, MONEY_ROUND_TOWARD_ZERO) == parse("10.00"));
    /* Half-even on ticks: 10.025 -> 10.00 (even multiple), 10.075 -> 10.10. */
    assert_true(money_round_to(parse("10.025"), tick, MONEY_ROUND_NEAREST) == parse("10.00"));
    assert_true(money_round_to(parse("10.075"), tick, MONEY_ROUND_NEAREST) == parse("10.10"));
    /* Negative values: DOWN goes toward -inf, TOWARD_ZERO toward 0. */
    assert_true(money_round_to(parse("-2.5"), MONEY_SCALE, MONEY_ROUND_DOWN) == parse("-3"));
    assert_true(money_round_to(parse("-2.5"), MONEY_SCALE, MONEY_ROUND_TOWARD_ZERO) == parse("-2"));
    assert_true(money_round_to(parse("-2.5"), MONEY_SCALE, MONEY_ROUND_UP) == parse("-2"));
    assert_true(money_round_to(parse("-2.5"), MONEY_SCALE, MONEY_ROUND_NEAREST) == parse("-2"));
    /* Lots: 0.0001 BTC lots, 1 share lots. */
    assert_true(money_round_to(parse("0.123456"), parse("0.0001"), MONEY_ROUND_DOWN) ==
                parse("0.1234"));
    assert_true(money_round_to(parse("14.99"), MONEY_SCALE, MONEY_ROUND_DOWN) == parse("14"));
    assert_true(money_round_to(p, 0, MONEY_ROUND_UP) == p); /* no step: unchanged */
    /* Rounding up at the top of the range stays in range. */
    assert_true(money_round_to(INT64_MAX, MONEY_SCALE, MONEY_ROUND_UP) <= INT64_MAX);
    assert_true(money_is_multiple(parse("10.05"), tick));
    assert_false(money_is_multiple(parse("10.03"), tick));
    assert_true(money_is_multiple(parse("10.03"), 0));
}

static void test_checked_arithmetic_and_overflow(void **state)
{
    (void)state;
    money_t r = 99;
    assert_int_equal(money_add(parse("0.1"), parse("0.2"), &r), 0);
    assert_true(r == parse("0.3"));
    assert_int_equal(money_sub(parse("100"), parse("100.01"), &r), 0);
    assert_true(r == parse("-0.01"));
    r = 99;
    assert_int_equal(money_add(INT64_MAX, 1, &r), APEX_ERANGE);
    assert_true(r == 99);
    assert_int_equal(money_sub(MONEY_MIN, 1, &r), APEX_ERANGE);
    assert_true(r == 99);

    /* price * quantity = cash */
    assert_int_equal(money_mul(parse("50.25"), parse("3"), MONEY_ROUND_NEAREST, &r), 0);
    assert_true(r == parse("150.75"));
    /* 0.00000003 * 0.5 = 0.000000015 -> half even 0.00000002, down 0.00000001 */
    assert_int_equal(money_mul(3, parse("0.5"), MONEY_ROUND_NEAREST, &r), 0);
    assert_true(r == 2);
    assert_int_equal(money_mul(3, parse("0.5"), MONEY_ROUND_DOWN, &r), 0);
    assert_true(r == 1);
    assert_int_equal(money_mul(-3, parse("0.5"), MONEY_ROUND_DOWN, &r), 0);
    assert_true(r == -2);
    r = 99;
    assert_int_equal(money_mul(MONEY(1000000000), MONEY(1000), MONEY_ROUND_NEAREST, &r),
                     APEX_ERANGE);
    assert_true(r == 99);

    /* cash / price = quantity */
    assert_int_equal(money_div(parse("150"), parse("50"), MONEY_ROUND_DOWN, &r), 0);
    assert_true(r == parse("3"));
    assert_int_equal(money_div(parse("10"), parse("3"), MONEY_ROUND_NEAREST, &r), 0);
    assert_true(r == parse("3.33333333"));
    assert_int_equal(money_div(parse("20"), parse("3"), MONEY_ROUND_NEAREST, &r), 0);
    assert_true(r == parse("6.66666667"));
    assert_int_equal(money_div(parse("1"), 0, MONEY_ROUND_NEAREST, &r), APEX_EINVAL);
    assert_int_equal(money_div(MONEY(1000000000), 1, MONEY_ROUND_NEAREST, &r), APEX_ERANGE);

    /* pro-rate a 1.00 fee over 3 of 7 shares with no intermediate rounding */
    assert_int_equal(money_muldiv(parse("1"), parse("3"), parse("7"), MONEY_ROUND_NEAREST, &r), 0);
    assert_true(r == parse("0.42857143"));
    assert_int_equal(money_muldiv(INT64_MAX, INT64_MAX, INT64_MAX, MONEY_ROUND_NEAREST, &r), 0);
    assert_true(r == INT64_MAX);
    assert_int_equal(money_muldiv(INT64_MAX, 2, 1, MONEY_ROUND_NEAREST, &r), APEX_ERANGE);
    assert_int_equal(money_muldiv(1, 1, 0, MONEY_ROUND_NEAREST, &r), APEX_EINVAL);
}

static void test_ledger_of_fills_reconciles(void **state)
{
    (void)state;
    /* 1000 fills of 0.1 share at 33.33 sum to exactly 100 shares and 3333.00 cash. */
    money_t qty = 0, cash = 0;
    for (int i = 0; i < 1000; i++) {
        money_t notional;
        assert_int_equal(money_mul(parse("0.1"), parse("33.33"), MONEY_ROUND_NEAREST, &notional),
                         0);
        assert_int_equal(money_add(qty, parse("0.1"), &qty), 0);
        assert_int_equal(money_add(cash, notional, &cash), 0);
    }
    assert_true(qty == parse("100"));
    assert_true(cash == parse("3333"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_exact_decimals),
        cmocka_unit_test(test_parse_rejects_garbage),
        cmocka_unit_test(test_parse_plain_path_agrees),
        cmocka_unit_test(test_parse_rounds_half_even_past_8_decimals),
        cmocka_unit_test(test_format_and_round_trip),
        cmocka_unit_test(test_from_double_is_exact_to_8_places),
        cmocka_unit_test(test_from_double_rejects_nan_inf_range),
        cmocka_unit_test(test_tick_and_lot_rounding_directions),
        cmocka_unit_test(test_checked_arithmetic_and_overflow),
        cmocka_unit_test(test_ledger_of_fills_reconciles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
