/* risk: position sizes a trader can check by hand (seed 004) and the limits that stop a
 * trade, each with a reason that carries the numbers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"
#include "config_fixture.h"
#include "risk/risk.h"
#include "util/err.h"

static money_t m(const char *s)
{
    money_t v;
    assert_int_equal(money_parse(s, strlen(s), &v), 0);
    return v;
}

static risk_config defaults(void)
{
    return fx_risk_defaults();
}

/* The seed 004 trade: capital 3000, entry 50, stop 48, plenty of buying power. */
static risk_input seed_input(void)
{
    return (risk_input){
        .capital = MONEY(3000),
        .buying_power = MONEY(3000),
        .equity = MONEY(30000),
        .entry = MONEY(50),
        .stop = MONEY(48),
        .rules = MONEY_INSTRUMENT_DEFAULT,
    };
}

static risk_decision size_ok(const risk_config *cfg, const risk_input *in)
{
    risk_decision d;
    char err[256] = "";
    int rc = risk_size(cfg, in, &d, err, sizeof err);
    if (rc != 0)
        fail_msg("risk_size failed: %s", err);
    return d;
}

static void test_seed_004_example_sizes_3_shares(void **state)
{
    (void)state;
    risk_config cfg = defaults();
    risk_input in = seed_input();
    risk_decision d = size_ok(&cfg, &in);
    assert_true(d.shares_by_risk == MONEY(15));   /* $30 risk / $2 per share */
    assert_true(d.shares_by_capital == MONEY(3)); /* $150 / $50 */
    assert_true(d.qty == MONEY(3));
    assert_string_equal(d.skip_reason, "");

    /* A short (stop above entry) sizes the same way. */
    in.stop = MONEY(52);
    d = size_ok(&cfg, &in);
    assert_true(d.qty == MONEY(3));

    /* A wide stop makes risk the binding constraint: $30 / $20 = 1.5 -> 1 share. */
    in.capital = MONEY(3000);
    cfg.max_position_pct = MONEY_SCALE / 2; /* $1500 -> 30 shares by capital */
    in.stop = MONEY(30);
    d = size_ok(&cfg, &in);
    assert_true(d.shares_by_risk == MONEY(1));
    assert_true(d.qty == MONEY(1));
}

static void test_rounds_down_to_lot_and_min_one_lot(void **state)
{
    (void)state;
    risk_config cfg = defaults();
    risk_input in = seed_input();
    /* Lots of 10 shares: both candidates round down to a multiple of 10. */
    in.rules.lot = MONEY(10);
    in.capital = MONEY(100000);
    in.buying_power = MONEY(100000);
    /* by capital: 5000/50 = 100; by risk: 1000/2 = 500 -> 100 */
    risk_decision d = size_ok(&cfg, &in);
    assert_true(d.qty == MONEY(100));
    in.entry = m("51.37");
    in.stop = m("49.00");
    /* by capital: 5000/51.37 = 97.33 -> 90 in lots of 10; by risk 1000/2.37 = 421 -> 420 */
    d = size_ok(&cfg, &in);
    assert_true(d.shares_by_capital == MONEY(90));
    assert_true(d.shares_by_risk == MONEY(420));
    assert_true(d.qty == MONEY(90));

    /* Expensive stock: 5% of 3000 = 150 buys 0 shares of a 400 stock -> minimum 1 share. */
    in = seed_input();
    in.entry = MONEY(400);
    in.stop = MONEY(390);
    in.buying_power = MONEY(3000);
    d = size_ok(&cfg, &in);
    assert_true(d.shares_by_capital == 0);
    assert_true(d.qty == MONEY(1));
    assert_non_null(strstr(d.note, "minimum of one lot"));
    assert_string_equal(d.skip_reason, "");
}

static void test_fractional_lots(void **state)
{
    (void)state;
    risk_config cfg = defaults();
    risk_input in = {
        .capital = MONEY(3000),
        .buying_power = MONEY(3000),
        .equity = MONEY(30000),
        .entry = MONEY(60000),
        .stop = MONEY(58000),
        .rules = {.tick = MONEY_SCALE / 100, .lot = m("0.0001")},
    };
    /* by capital: 150 / 60000 = 0.0025 BTC; by risk: 30 / 2000 = 0.015 */
    risk_decision d = size_ok(&cfg, &in);
    assert_true(d.shares_by_capital == m("0.0025"));
    assert_true(d.shares_by_risk == m("0.015"));
    assert_true(d.qty == m("0.0025"));
    assert_true(money_is_multiple(d.qty, in.rules.lot));

    /* 150 / 61234.56 = 0.0024496 -> rounds down to 0.0024 */
    in.entry = m("61234.56");
    d = size_ok(&cfg, &in);
    assert_true(d.qty == m("0.0024"));
}

static void test_requested_qty_capped_by_position_limit(void **state)
{
    (void)state;
    risk_config cfg = defaults();
    risk_input in = seed_input();
    in.requested_qty = m("2.7"); /* rounds down to 2 shares, under the cap of 3 */
    risk_decision d = size_ok(&cfg, &in);
    assert_true(d.qty == MONEY(2));
    assert_string_equal(d.note, "");

    in.requested_qty = MONEY(10); /* more than 5% of capital allows */
    d = size_ok(&cfg, &in);
    assert_true(d.qty == MONEY(3));
    assert_non_null(strstr(d.note, "requested 10.00 capped to 3.00 by max_position_pct 5.00%"));
}

static void test_skip_reasons_carry_the_numbers(void **state)
{
    (void)state;
    risk_config cfg = defaults();
    risk_input in = seed_input();
    risk_decision d;

    in.open_positions = 10;
    d = size_ok(&cfg, &in);
    assert_true(d.qty == 0);
    assert_string_equal(d.skip_reason, "max_positions 10 reached (10 open)");
    in.open_positions = 9;
    assert_true(size_ok(&cfg, &in).qty == MONEY(3));

    in = seed_input();
    in.circuit_open = true;
    d = size_ok(&cfg, &in);
    assert_true(d.qty == 0);
    assert_non_null(strstr(d.skip_reason, "circuit breaker is open (limit 3.00%"));

    in = seed_input();
    in.buying_power = m("49.99");
    d = size_ok(&cfg, &in);
    assert_true(d.qty == 0);
    assert_string_equal(d.skip_reason,
                        "one lot (1.00 at 50.00 = 50.00) costs more than buying power 49.99");

    /* Buying power for 2 of the 3 shares: the size shrinks, the trade goes ahead. */
    in.buying_power = MONEY(120);
    d = size_ok(&cfg, &in);
    assert_true(d.qty == MONEY(2));
    assert_non_null(strstr(d.note, "reduced from 3.00 to 2.00 by buying power 120.00"));

    /* PDT: under 25000 equity with 3 day trades -> skip; at 25000 or with 2 -> trade. */
    in = seed_input();
    in.equity = MONEY(20000);
    in.day_trades = 3;
    d = size_ok(&cfg, &in);
    assert_true(d.qty == 0);
    assert_non_null(strstr(d.skip_reason, "PDT rule: 3 day trades"));
    assert_non_null(strstr(d.skip_reason, "equity 20000.00 < 25000"));
    in.day_trades = 2;
    assert_true(size_ok(&cfg, &in).qty == MONEY(3));
    in.day_trades = 3;
    in.equity = MONEY(25000);
    assert_true(size_ok(&cfg, &in).qty == MONEY(3));
    in.equity = MONEY(20000);
    cfg.pdt_check = false;
    assert_true(size_ok(&cfg, &in).qty == MONEY(3));

    cfg = defaults();
    in = seed_input();
    in.capital = 0;
    d = size_ok(&cfg, &in);
    assert_true(d.qty == 0);
    assert_non_null(strstr(d.skip_reason, "set risk.capital"));
}

static void test_impossible_input_is_an_error(void **state)
{
    (void)state;
    risk_config cfg = defaults();
    risk_input in = seed_input();
    risk_decision d;
    char err[256];
    in.entry = 0;
    assert_int_equal(risk_size(&cfg, &in, &d, err, sizeof err), APEX_EINVAL);
    assert_non_null(strstr(err, "entry price 0.00 must be greater than 0"));
    in = seed_input();
    in.stop = in.entry;
    assert_int_equal(risk_size(&cfg, &in, &d, err, sizeof err), APEX_EINVAL);
    assert_non_null(strstr(err, "stop 50.00 must be positive and differ from the entry 50.00"));
    in.stop = MONEY(-1);
    assert_int_equal(risk_size(&cfg, &in, &d, err, sizeof err), APEX_EINVAL);
    /* Huge capital with a 1e-8 stop distance overflows: reported, not wrapped. */
    in = seed_input();
    in.capital = MONEY(90000000000LL);
    in.stop = in.entry - 1;
    cfg.max_risk_pct = MONEY_SCALE;
    assert_int_equal(risk_size(&cfg, &in, &d, err, sizeof err), APEX_ERANGE);
    assert_non_null(strstr(err, "overflows"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_004_example_sizes_3_shares),
        cmocka_unit_test(test_rounds_down_to_lot_and_min_one_lot),
        cmocka_unit_test(test_fractional_lots),
        cmocka_unit_test(test_requested_qty_capped_by_position_limit),
        cmocka_unit_test(test_skip_reasons_carry_the_numbers),
        cmocka_unit_test(test_impossible_input_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
