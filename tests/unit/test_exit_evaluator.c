/* exit evaluator: each of seed 003's ten exit conditions (and emergency instruction rules)
 * fires at its level and not a tick before, shorts mirror longs, the trailing stop arms
 * and never loosens, partial stages sell lots of the ORIGINAL quantity once, and when
 * several conditions fire the most urgent one wins. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "model/order.h"
#include "config/config.h"
#include "exits/evaluator.h"
#include "util/err.h"

static money_t M(const char *s)
{
    money_t v = 0;
    assert_int_equal(money_parse(s, strlen(s), &v), 0);
    return v;
}

#define T0 ((apex_time)1700000000 * APEX_SECOND)

static exits_config defaults(void)
{
    pipeline_config pc;
    config_defaults(&pc);
    exits_config e = pc.exits;
    config_free(&pc);
    return e;
}

/* A plain long: 100 shares at 100.00, stop 96.00, target 110.00, nothing else known. */
static exit_input long_position(void)
{
    exit_input in;
    memset(&in, 0, sizeof in);
    in.side = SIDE_BUY;
    in.qty = MONEY(100);
    in.initial_qty = MONEY(100);
    in.entry_price = MONEY(100);
    in.stop_loss = MONEY(96);
    in.take_profit = MONEY(110);
    in.price = MONEY(100);
    in.volume = -1;
    in.now = T0;
    return in;
}

/* Its mirror: short 100 at 100.00, stop 104.00, target 90.00. */
static exit_input short_position(void)
{
    exit_input in = long_position();
    in.side = SIDE_SELL;
    in.stop_loss = MONEY(104);
    in.take_profit = MONEY(90);
    return in;
}

static exit_decision eval(const exits_config *cfg, const exit_input *in)
{
    exit_decision d;
    memset(&d, 0x5a, sizeof d); /* garbage in: the evaluator must set every field */
    exits_evaluate(cfg, MONEY_INSTRUMENT_DEFAULT, in, &d);
    return d;
}

static exit_decision eval_at(const exits_config *cfg, exit_input *in, const char *price)
{
    in->price = M(price);
    return eval(cfg, in);
}

static void assert_nothing_fires(exit_decision d)
{
    assert_int_equal(d.condition, EXIT_NONE);
    assert_int_equal(d.fired, 0);
    assert_true(d.qty == 0);
    assert_string_equal(d.reason, "");
}

static void test_nothing_fires_inside_the_levels(void **state)
{
    (void)state;
    exits_config cfg = defaults();
    exit_input in = long_position();
    assert_nothing_fires(eval_at(&cfg, &in, "100.00"));
    assert_nothing_fires(eval_at(&cfg, &in, "96.01"));
    assert_nothing_fires(eval_at(&cfg, &in, "109.99"));
    exit_input s = short_position();
    assert_nothing_fires(eval_at(&cfg, &s, "103.99"));
    assert_nothing_fires(eval_at(&cfg, &s, "90.01"));
}

static void test_stop_loss_triggers(void **state)
{
    (void)state;
    exits_config cfg = defaults();
    exit_input in = long_position();
    assert_nothing_fires(eval_at(&cfg, &in, "96.01"));

    exit_decision d = eval_at(&cfg, &in, "96.00");
    assert_int_equal(d.condition, EXIT_STOP_LOSS);
    assert_int_equal(d.priority, EXIT_PRIORITY_CRITICAL);
    assert_true(d.qty == MONEY(100));
    assert_int_equal(d.fired, 1u << EXIT_STOP_LOSS);
    assert_string_equal(d.reason, "stop_loss: price 96.00 <= stop 96.00");

    /* A gap far through the stop still closes the whole position. */
    d = eval_at(&cfg, &in, "90.25");
    assert_int_equal(d.condition, EXIT_STOP_LOSS);
    assert_true(d.qty == MONEY(100));
    assert_string_equal(d.reason, "stop_loss: price 90.25 <= stop 96.00");

    /* No stop (0) never fires, however far the price falls. */
    in.stop_loss = 0;
    assert_nothing_fires(eval_at(&cfg, &in, "50.00"));
}

static void test_trailing_stop_activation(void **state)
{
    (void)state;
    exits_config cfg = defaults(); /* arms at +5%, trails 3% behind the peak */
    exit_input in = long_position();

    in.price = M("104.99");
    assert_false(exits_update_trailing(&cfg, MONEY_INSTRUMENT_DEFAULT, &in));
    assert_false(in.trailing_active);
    assert_true(in.trailing_stop == 0);
    assert_true(in.peak_price == M("104.99")); /* the peak is tracked before arming */

    in.price = M("105.00");
    assert_true(exits_update_trailing(&cfg, MONEY_INSTRUMENT_DEFAULT, &in));
    assert_true(in.trailing_active);
    assert_true(in.peak_price == M("105.00"));
    assert_true(in.trailing_stop == M("101.85")); /* 105 * 0.97 */

    /* Rounded to the tick away from the price: 105.37 * 0.97 = 102.2089 -> 102.20. */
    exit_input odd = long_position();
    odd.price = M("105.37");
    assert_true(exits_update_trailing(&cfg, MONEY_INSTRUMENT_DEFAULT, &odd));
    assert_true(odd.trailing_stop == M("102.20"));

    /* A short arms at -5% and rounds up: 94.63 * 1.03 = 97.4689 -> 97.47. */
    exit_input s = short_position();
    s.price = M("95.01");
    assert_false(exits_update_trailing(&cfg, MONEY_INSTRUMENT_DEFAULT, &s));
    s.price = M("94.63");
    assert_true(exits_update_trailing(&cfg, MONEY_INSTRUMENT_DEFAULT, &s));
    assert_true(s.trailing_active);
    assert_true(s.peak_price == M("94.63"));
    assert_true(s.trailing_stop == M("97.47"));

    /* Disabled: never arms, whatever the profit. */
    cfg.trailing_enabled = false;
    exit_input off = long_position();
    off.price = M("130.00");
    assert_false(exits_update_trailing(&cfg, MONEY_INSTRUMENT_DEFAULT, &off));
    assert_false(off.trailing_active);
    assert_true(off.peak_price == M("130.00"));
}

/* Walks a price path and checks the stop after every step. */
typedef struct {
    const char *price;
    const char *stop;
} step;

static void walk(const exits_config *cfg, exit_input *in, const step *path, size_t n)
{
    money_t prev = 0;
    for (size_t i = 0; i < n; i++) {
        in->price = M(path[i].price);
        bool moved = exits_update_trailing(cfg, MONEY_INSTRUMENT_DEFAULT, in);
        assert_true(in->trailing_stop == M(path[i].stop));
        assert_int_equal(moved, in->trailing_stop != prev);
        if (prev != 0) /* never loosens */
            assert_true(in->side == SIDE_SELL ? in->trailing_stop <= prev
                                              : in->trailing_stop >= prev);
        prev = in->trailing_stop;
    }
}

static void test_trailing_stop_update(void **state)
{
    (void)state;
    exits_config cfg = defaults();
    exit_input in = long_position();
    static const step up_down_up[] = {
        {"105.00", "101.85"}, {"110.00", "106.70"}, {"107.00", "106.70"}, {"108.00", "106.70"},
        {"112.00", "108.64"}, {"109.00", "108.64"}, {"112.00", "108.64"}, {"115.50", "112.03"},
    };
    walk(&cfg, &in, up_down_up, sizeof up_down_up / sizeof up_down_up[0]);
    assert_true(in.peak_price == M("115.50"));

    /* Widening the distance by a reload does not loosen the armed stop. */
    cfg.trailing_distance_pct = M("0.10");
    in.price = M("116.00"); /* new peak: 116 * 0.90 = 104.40 < 112.03 */
    assert_false(exits_update_trailing(&cfg, MONEY_INSTRUMENT_DEFAULT, &in));
    assert_true(in.trailing_stop == M("112.03"));
    assert_true(in.peak_price == M("116.00"));

    cfg = defaults();
    exit_input s = short_position();
    static const step down_up_down[] = {
        {"95.00", "97.85"}, {"90.00", "92.70"}, {"93.00", "92.70"}, {"91.00", "92.70"},
        {"88.00", "90.64"}, {"89.50", "90.64"}, {"85.00", "87.55"},
    };
    walk(&cfg, &s, down_up_down, sizeof down_up_down / sizeof down_up_down[0]);
    assert_true(s.peak_price == M("85.00"));
}

static void test_trailing_stop_triggers(void **state)
{
    (void)state;
    exits_config cfg = defaults();
    exit_input in = long_position();
    in.take_profit = MONEY(150);
    in.price = MONEY(110);
    exits_update_trailing(&cfg, MONEY_INSTRUMENT_DEFAULT, &in); /* stop 106.70 */
    assert_nothing_fires(eval_at(&cfg, &in, "106.71"));
    exit_decision d = eval_at(&cfg, &in, "106.70");
    assert_int_equal(d.condition, EXIT_TRAILING_STOP);
    assert_int_equal(d.priority, EXIT_PRIORITY_HIGH);
    assert_true(d.qty == MONEY(100));
    assert_string_equal(d.reason,
                        "trailing_stop: price 106.70 <= trailing stop 106.70 (peak 110.00)");

    exit_input s = short_position();
    s.take_profit = MONEY(50);
    s.price = MONEY(90);
    exits_update_trailing(&cfg, MONEY_INSTRUMENT_DEFAULT, &s); /* stop 92.70 */
    assert_nothing_fires(eval_at(&cfg, &s, "92.69"));
    d = eval_at(&cfg, &s, "92.70");
    assert_int_equal(d.condition, EXIT_TRAILING_STOP);
    assert_string_equal(d.reason, "trailing_stop: price 92.70 >= trailing stop 92.70 (peak 90.00)");
}

static void test_profit_target_triggers(void **state)
{
    (void)state;
    exits_config cfg = defaults();
    exit_input in = long_position();
    assert_nothing_fires(eval_at(&cfg, &in, "109.99"));
    exit_decision d = eval_at(&cfg, &in, "110.00");
    assert_int_equal(d.condition, EXIT_PROFIT_TARGET);
    assert_int_equal(d.priority, EXIT_PRIORITY_MEDIUM);
    assert_true(d.qty == MONEY(100));
    assert_string_equal(d.reason, "profit_target: price 110.00 >= target 110.00");

    exit_input s = short_position();
    assert_nothing_fires(eval_at(&cfg, &s, "90.01"));
    d = eval_at(&cfg, &s, "89.40");
    assert_int_equal(d.condition, EXIT_PROFIT_TARGET);
    assert_true(d.qty == MONEY(100));
    assert_string_equal(d.reason, "profit_target: price 89.40 <= target 90.00");
}

static void test_partial_exit_triggers(void **state)
{
    (void)state;
    exits_config cfg = defaults(); /* 50% at +15%, 25% at +25% */
    exit_input in = long_position();
    in.take_profit = 0; /* the rest rides the trailing stop */

    assert_nothing_fires(eval_at(&cfg, &in, "114.99"));
    exit_decision d = eval_at(&cfg, &in, "115.00");
    assert_int_equal(d.condition, EXIT_PARTIAL_EXIT_TARGET);
    assert_int_equal(d.priority, EXIT_PRIORITY_MEDIUM);
    assert_int_equal(d.partial_stage, 0);
    assert_true(d.qty == MONEY(50));
    assert_string_equal(
        d.reason,
        "partial_exit_target: first_target (stage 1) P&L 15% >= 15%: closing 50.00 of 100.00");

    /* Stage 1 executed: 50 left. At the same price nothing fires again. */
    in.partial_done = 1 << 0;
    in.qty = MONEY(50);
    assert_nothing_fires(eval_at(&cfg, &in, "115.00"));
    assert_nothing_fires(eval_at(&cfg, &in, "124.99"));

    /* Stage 2 is 25% of the ORIGINAL 100, not of the 50 left. */
    d = eval_at(&cfg, &in, "125.00");
    assert_int_equal(d.condition, EXIT_PARTIAL_EXIT_TARGET);
    assert_int_equal(d.partial_stage, 1);
    assert_true(d.qty == MONEY(25));
    assert_non_null(strstr(d.reason, "second_target (stage 2) P&L 25% >= 25%"));

    /* Both done (as restored after a restart): never again, however high. */
    in.partial_done = (1 << 0) | (1 << 1);
    in.qty = MONEY(25);
    assert_nothing_fires(eval_at(&cfg, &in, "160.00"));

    /* A gap past both thresholds takes the lowest stage first. */
    exit_input gap = long_position();
    gap.take_profit = 0;
    d = eval_at(&cfg, &gap, "130.00");
    assert_int_equal(d.partial_stage, 0);
    assert_true(d.qty == MONEY(50));

    /* Lot rounding, down: 50% of 7 = 3.5 -> 3; 25% of 7 = 1.75 -> 1. */
    exit_input odd = long_position();
    odd.take_profit = 0;
    odd.qty = odd.initial_qty = MONEY(7);
    d = eval_at(&cfg, &odd, "116.00");
    assert_true(d.qty == MONEY(3));
    odd.partial_done = 1;
    odd.qty = MONEY(4);
    d = eval_at(&cfg, &odd, "126.00");
    assert_int_equal(d.partial_stage, 1);
    assert_true(d.qty == MONEY(1));

    /* Lots of 10: 50% of 95 = 47.5 -> 40. */
    money_instrument tens = {.tick = M("0.01"), .lot = MONEY(10)};
    exit_input lots = long_position();
    lots.take_profit = 0;
    lots.qty = lots.initial_qty = MONEY(95);
    lots.price = MONEY(120);
    exits_evaluate(&cfg, tens, &lots, &d);
    assert_true(d.qty == MONEY(40));

    /* Fractional lots (crypto): 50% of 0.0125 at lot 0.001 -> 0.006. */
    money_instrument btc = {.tick = M("0.01"), .lot = M("0.001")};
    exit_input coin = long_position();
    coin.take_profit = 0;
    coin.qty = coin.initial_qty = M("0.0125");
    coin.price = MONEY(120);
    exits_evaluate(&cfg, btc, &coin, &d);
    assert_int_equal(d.condition, EXIT_PARTIAL_EXIT_TARGET);
    assert_true(d.qty == M("0.006"));

    /* A tiny position: half of one share is below a lot, so no stage ever fires. */
    exit_input tiny = long_position();
    tiny.take_profit = 0;
    tiny.qty = tiny.initial_qty = MONEY(1);
    assert_nothing_fires(eval_at(&cfg, &tiny, "140.00"));

    /* Only 30 left (sold elsewhere): stage 1's 50 is capped to the whole 30. */
    exit_input rest = long_position();
    rest.take_profit = 0;
    rest.qty = MONEY(30);
    d = eval_at(&cfg, &rest, "116.00");
    assert_int_equal(d.condition, EXIT_PARTIAL_EXIT_TARGET);
    assert_true(d.qty == MONEY(30));

    /* Disabled: nothing. */
    cfg.partial_enabled = false;
    exit_input off = long_position();
    off.take_profit = 0;
    assert_nothing_fires(eval_at(&cfg, &off, "130.00"));
}

static void test_partial_exit_short(void **state)
{
    (void)state;
    exits_config cfg = defaults();
    exit_input s = short_position();
    s.take_profit = 0;
    assert_nothing_fires(eval_at(&cfg, &s, "85.01"));
    exit_decision d = eval_at(&cfg, &s, "85.00");
    assert_int_equal(d.condition, EXIT_PARTIAL_EXIT_TARGET);
    assert_int_equal(d.partial_stage, 0);
    assert_true(d.qty == MONEY(50));
}

static void test_multiple_triggers_priority(void **state)
{
    (void)state;
    exits_config cfg = defaults();

    /* CRITICAL beats HIGH beats LOW: stop, liquidity and a weak edge at once. */
    cfg.liquidity_max_spread = M("0.03"); /* an absolute limit besides the 1% one */
    exit_input in = long_position();
    in.bid = M("95.50");
    in.ask = M("95.60");
    in.has_edge = true;
    in.edge = M("0.01");
    exit_decision d = eval_at(&cfg, &in, "95.55");
    assert_int_equal(d.condition, EXIT_STOP_LOSS);
    assert_int_equal(d.priority, EXIT_PRIORITY_CRITICAL);
    assert_int_equal(d.fired, (1u << EXIT_STOP_LOSS) | (1u << EXIT_LIQUIDITY_DRIED_UP) |
                                  (1u << EXIT_EARLY_EXIT));

    /* HIGH beats MEDIUM: past the target but the quote is 10 cents wide. */
    exit_input wide = long_position();
    wide.bid = M("110.40");
    wide.ask = M("110.50");
    d = eval_at(&cfg, &wide, "110.45");
    assert_int_equal(d.condition, EXIT_LIQUIDITY_DRIED_UP);
    assert_int_equal(d.priority, EXIT_PRIORITY_HIGH);
    assert_int_equal(d.fired, (1u << EXIT_PROFIT_TARGET) | (1u << EXIT_LIQUIDITY_DRIED_UP));
    assert_string_equal(d.reason,
                        "liquidity_dried_up: spread 0.10 (bid 110.40, ask 110.50) > max 0.03");

    /* MEDIUM beats LOW: at the target with the edge gone. */
    exit_input edge = long_position();
    edge.has_edge = true;
    edge.edge = M("-0.05");
    d = eval_at(&cfg, &edge, "111.00");
    assert_int_equal(d.condition, EXIT_PROFIT_TARGET);
    assert_int_equal(d.fired, (1u << EXIT_PROFIT_TARGET) | (1u << EXIT_EDGE_DISAPPEARED));

    /* Equal priority: the larger quantity wins. Target (100) and stage 1 (50) both at
     * MEDIUM: closing all 100 wins. */
    exit_input both = long_position();
    d = eval_at(&cfg, &both, "116.00");
    assert_int_equal(d.condition, EXIT_PROFIT_TARGET);
    assert_true(d.qty == MONEY(100));
    assert_int_equal(d.partial_stage, -1);
    assert_true((d.fired & (1u << EXIT_PARTIAL_EXIT_TARGET)) != 0);

    /* Only 30 left: stage 1's 50 is capped to the whole 30, ties the target on quantity,
     * and list order decides. */
    both.qty = MONEY(30);
    d = eval_at(&cfg, &both, "116.00");
    assert_int_equal(d.condition, EXIT_PROFIT_TARGET);
    assert_true(d.qty == MONEY(30));

    /* Equal priority and quantity: list order. trailing_stop before time_based_urgent
     * before liquidity_dried_up. */
    exit_input high = long_position();
    high.take_profit = MONEY(200);
    high.price = MONEY(110);
    exits_update_trailing(&cfg, MONEY_INSTRUMENT_DEFAULT, &high); /* stop 106.70 */
    high.session_close = T0 + 2 * APEX_MINUTE;
    high.volume = MONEY(10);
    d = eval_at(&cfg, &high, "106.00");
    assert_int_equal(d.condition, EXIT_TRAILING_STOP);
    assert_int_equal(d.fired, (1u << EXIT_TRAILING_STOP) | (1u << EXIT_TIME_BASED_URGENT) |
                                  (1u << EXIT_LIQUIDITY_DRIED_UP));
    high.trailing_active = false;
    d = eval_at(&cfg, &high, "106.00");
    assert_int_equal(d.condition, EXIT_TIME_BASED_URGENT);

    /* LOW: early_exit before rebalance. */
    exit_input low = long_position();
    low.has_edge = true;
    low.edge = M("0.01");
    low.has_rebalance = true;
    low.position_score = M("0.2");
    low.best_other_score = M("0.9");
    d = eval_at(&cfg, &low, "101.00");
    assert_int_equal(d.condition, EXIT_EARLY_EXIT);
    assert_int_equal(d.priority, EXIT_PRIORITY_LOW);

    /* CRITICAL ties: stop_loss, circuit_breaker, then the emergency rule. */
    exit_input crit = long_position();
    crit.circuit_tripped = true;
    crit.rule_fired = true;
    crit.rule_reason = "VIX 42 > 40";
    d = eval_at(&cfg, &crit, "95.00");
    assert_int_equal(d.condition, EXIT_STOP_LOSS);
    assert_int_equal(d.fired, (1u << EXIT_STOP_LOSS) | (1u << EXIT_CIRCUIT_BREAKER) |
                                  (1u << EXIT_EMERGENCY_INSTRUCTION));
    d = eval_at(&cfg, &crit, "100.00");
    assert_int_equal(d.condition, EXIT_CIRCUIT_BREAKER);
    crit.circuit_tripped = false;
    d = eval_at(&cfg, &crit, "100.00");
    assert_int_equal(d.condition, EXIT_EMERGENCY_INSTRUCTION);
}

static void test_stop_loss_and_profit_target_same_update_resolve_to_stop_loss(void **state)
{
    (void)state;
    exits_config cfg = defaults();
    /* The strategy ratcheted the hard stop to 111 after a run-up; the target is 110. A gap
     * bar opens at 110.50: above the target and below the stop in the same update. */
    exit_input in = long_position();
    in.stop_loss = MONEY(111);
    exit_decision d = eval_at(&cfg, &in, "110.50");
    assert_int_equal(d.fired, (1u << EXIT_STOP_LOSS) | (1u << EXIT_PROFIT_TARGET));
    assert_int_equal(d.condition, EXIT_STOP_LOSS);
    assert_int_equal(d.priority, EXIT_PRIORITY_CRITICAL);
    assert_true(d.qty == MONEY(100));
    assert_string_equal(d.reason, "stop_loss: price 110.50 <= stop 111.00");

    /* The short mirror: stop ratcheted down to 89, target 90, gap to 89.50. */
    exit_input s = short_position();
    s.stop_loss = MONEY(89);
    d = eval_at(&cfg, &s, "89.50");
    assert_int_equal(d.fired, (1u << EXIT_STOP_LOSS) | (1u << EXIT_PROFIT_TARGET));
    assert_int_equal(d.condition, EXIT_STOP_LOSS);
    assert_string_equal(d.reason, "stop_loss: price 89.50 >= stop 89.00");
}

static void test_edge_reversal_removed(void **state)
{
    (void)state;
    assert_int_equal(exit_condition_parse("edge_reversal"), -1);
    assert_int_equal(EXIT_CONDITION_COUNT, 10);
    for (int c = 0; c <= EXIT_EMERGENCY_INSTRUCTION; c++) {
        const char *name = exit_condition_name((exit_condition)c);
        assert_string_not_equal(name, "edge_reversal");
        assert_int_equal(exit_condition_parse(name), c); /* names round-trip */
    }
    assert_int_equal(exit_condition_parse("bogus"), -1);
    assert_int_equal(exit_condition_parse(NULL), -1);

    /* A reversing edge (+0.05 -> -0.03) is covered by edge_disappeared; with everything
     * firing at once, no bit beyond the ten conditions and the emergency slot is set. */
    exits_config cfg = defaults();
    exit_input in = long_position();
    in.has_edge = true;
    in.edge = M("0.05");
    assert_nothing_fires(eval_at(&cfg, &in, "101.00"));
    in.edge = M("-0.03");
    exit_decision d = eval_at(&cfg, &in, "101.00");
    assert_int_equal(d.condition, EXIT_EDGE_DISAPPEARED);
    in.circuit_tripped = in.rule_fired = in.has_rebalance = true;
    in.best_other_score = MONEY(1);
    in.volume = 0;
    in.session_close = T0 + APEX_MINUTE;
    d = eval_at(&cfg, &in, "90.00");
    assert_int_equal(d.fired >> (EXIT_EMERGENCY_INSTRUCTION + 1), 0);
}

static void test_condition_names_and_priorities(void **state)
{
    (void)state;
    static const struct {
        exit_condition c;
        const char *name;
        exit_priority p;
    } table[] = {
        {EXIT_STOP_LOSS, "stop_loss", EXIT_PRIORITY_CRITICAL},
        {EXIT_CIRCUIT_BREAKER, "circuit_breaker", EXIT_PRIORITY_CRITICAL},
        {EXIT_TRAILING_STOP, "trailing_stop", EXIT_PRIORITY_HIGH},
        {EXIT_TIME_BASED_URGENT, "time_based_urgent", EXIT_PRIORITY_HIGH},
        {EXIT_LIQUIDITY_DRIED_UP, "liquidity_dried_up", EXIT_PRIORITY_HIGH},
        {EXIT_PROFIT_TARGET, "profit_target", EXIT_PRIORITY_MEDIUM},
        {EXIT_PARTIAL_EXIT_TARGET, "partial_exit_target", EXIT_PRIORITY_MEDIUM},
        {EXIT_EARLY_EXIT, "early_exit", EXIT_PRIORITY_LOW},
        {EXIT_EDGE_DISAPPEARED, "edge_disappeared", EXIT_PRIORITY_LOW},
        {EXIT_REBALANCE, "rebalance", EXIT_PRIORITY_LOW},
        {EXIT_EMERGENCY_INSTRUCTION, "emergency_instruction", EXIT_PRIORITY_CRITICAL},
        /* the default of exits.strategy_exit_priority; the pipeline's setting decides */
        {EXIT_STRATEGY_EXIT, "strategy_exit", EXIT_PRIORITY_CRITICAL},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        assert_string_equal(exit_condition_name(table[i].c), table[i].name);
        assert_int_equal(exit_condition_priority(table[i].c), table[i].p);
    }
    assert_string_equal(exit_condition_name(EXIT_NONE), "none");
}

/* A close from the strategy: whole, a quantity or a fraction of what is open, whole lots,
 * at the configured priority. The evaluator never fires it. */
static void test_strategy_decision(void **state)
{
    (void)state;
    exits_config cfg = defaults();
    money_instrument lot1 = {.tick = M("0.01"), .lot = MONEY(1)};
    exit_decision d;
    char why[256] = "";
    assert_int_equal(exits_strategy_decision(&cfg, lot1, MONEY(100), 0, 0, "averages crossed back",
                                             &d, why, sizeof why),
                     0);
    assert_int_equal(d.condition, EXIT_STRATEGY_EXIT);
    assert_int_equal(d.priority, EXIT_PRIORITY_CRITICAL);
    assert_int_equal(d.qty, MONEY(100));
    assert_string_equal(d.reason, "strategy_exit: averages crossed back");

    cfg.strategy_exit_priority = EXIT_PRIORITY_MEDIUM;
    assert_int_equal(
        exits_strategy_decision(&cfg, lot1, MONEY(100), MONEY(30), 0, "trim", &d, why, sizeof why),
        0);
    assert_int_equal(d.priority, EXIT_PRIORITY_MEDIUM);
    assert_int_equal(d.qty, MONEY(30));
    assert_string_equal(d.reason, "strategy_exit: trim (closing 30 of 100)");

    /* A quarter of 10 is 2.5: rounded down to 2 whole lots, never more than asked. */
    assert_int_equal(
        exits_strategy_decision(&cfg, lot1, MONEY(10), 0, M("0.25"), "", &d, why, sizeof why), 0);
    assert_int_equal(d.qty, MONEY(2));
    assert_string_equal(d.reason, "strategy_exit: the strategy closed it (closing 2 of 10)");
    /* fraction 1 and a qty of everything are the whole position */
    assert_int_equal(
        exits_strategy_decision(&cfg, lot1, MONEY(10), 0, MONEY_SCALE, "", &d, why, sizeof why), 0);
    assert_int_equal(d.qty, MONEY(10));
    assert_int_equal(
        exits_strategy_decision(&cfg, lot1, MONEY(10), MONEY(10), 0, "", &d, why, sizeof why), 0);
    assert_int_equal(d.qty, MONEY(10));
    assert_string_equal(d.reason, "strategy_exit: the strategy closed it");
    /* below one lot: an error naming the field */
    assert_int_equal(
        exits_strategy_decision(&cfg, lot1, MONEY(10), 0, M("0.05"), "", &d, why, sizeof why),
        APEX_EINVAL);
    assert_string_equal(why, "close: fraction = 0.05 of the open 10 rounds down to 0 lots (lot "
                             "size 1); close at least one lot, or leave fraction out to close "
                             "it all");
    assert_int_equal(d.condition, EXIT_NONE);
    assert_int_equal(
        exits_strategy_decision(&cfg, lot1, MONEY(10), M("0.5"), 0, "", &d, why, sizeof why),
        APEX_EINVAL);
    assert_non_null(strstr(why, "qty = 0.5 of the open 10 rounds down to 0 lots"));
}

static void test_circuit_breaker_triggers(void **state)
{
    (void)state;
    exits_config cfg = defaults();
    /* Even a winning position closes when the daily loss limit trips. */
    exit_input in = long_position();
    in.circuit_tripped = true;
    exit_decision d = eval_at(&cfg, &in, "105.00");
    assert_int_equal(d.condition, EXIT_CIRCUIT_BREAKER);
    assert_int_equal(d.priority, EXIT_PRIORITY_CRITICAL);
    assert_true(d.qty == MONEY(100));
    assert_non_null(strstr(d.reason, "daily loss limit"));

    exit_input s = short_position();
    s.circuit_tripped = true;
    d = eval_at(&cfg, &s, "99.00");
    assert_int_equal(d.condition, EXIT_CIRCUIT_BREAKER);
    assert_true(d.qty == MONEY(100));
}

static void test_time_based_urgent(void **state)
{
    (void)state;
    exits_config cfg = defaults(); /* 5 minutes before the close */
    exit_input in = long_position();
    apex_time close = T0 + APEX_HOUR;
    in.session_close = close;

    in.now = close - 5 * APEX_MINUTE - 1;
    assert_nothing_fires(eval(&cfg, &in));
    in.now = close - 5 * APEX_MINUTE;
    exit_decision d = eval(&cfg, &in);
    assert_int_equal(d.condition, EXIT_TIME_BASED_URGENT);
    assert_int_equal(d.priority, EXIT_PRIORITY_HIGH);
    assert_true(d.qty == MONEY(100));
    assert_string_equal(d.reason,
                        "time_based_urgent: 300 s to the session close, inside the 5 min window");
    in.now = close - APEX_SECOND;
    assert_int_equal(eval(&cfg, &in).condition, EXIT_TIME_BASED_URGENT);
    in.now = close; /* the session is over; the next close will be given */
    assert_nothing_fires(eval(&cfg, &in));

    in.now = close - APEX_MINUTE;
    in.session_close = 0; /* no close known (24/7 market) */
    assert_nothing_fires(eval(&cfg, &in));
    in.session_close = close;
    cfg.time_urgent_minutes = 0; /* turned off */
    assert_nothing_fires(eval(&cfg, &in));
}

static void test_liquidity_dried_up(void **state)
{
    (void)state;
    exits_config cfg = defaults(); /* spread > 1% of the mid, or volume < 50 */
    exit_input in = long_position();
    in.bid = M("100.00");
    in.ask = M("101.00"); /* 1.00 wide, 0.995% of the mid 100.50 */
    assert_nothing_fires(eval(&cfg, &in));
    in.ask = M("101.02"); /* 1.02 > 1% of 100.51 = 1.0051 */
    exit_decision d = eval(&cfg, &in);
    assert_string_equal(d.reason,
                        "liquidity_dried_up: spread 1.02 (bid 100.00, ask 101.02) > max 1.0051");
    assert_int_equal(d.condition, EXIT_LIQUIDITY_DRIED_UP);
    assert_int_equal(d.priority, EXIT_PRIORITY_HIGH);
    assert_true(d.qty == MONEY(100));
    in.bid = 0; /* quote unknown: the spread is not judged */
    assert_nothing_fires(eval(&cfg, &in));

    in.volume = MONEY(50);
    assert_nothing_fires(eval(&cfg, &in));
    in.volume = MONEY(49);
    d = eval(&cfg, &in);
    assert_int_equal(d.condition, EXIT_LIQUIDITY_DRIED_UP);
    assert_string_equal(d.reason, "liquidity_dried_up: volume 49.00 < min 50.00");
    in.volume = 0; /* a known empty bar */
    assert_int_equal(eval(&cfg, &in).condition, EXIT_LIQUIDITY_DRIED_UP);
    in.volume = -1; /* unknown */
    assert_nothing_fires(eval(&cfg, &in));

    exit_input s = short_position();
    s.bid = M("99.00");
    s.ask = M("101.10");
    assert_int_equal(eval(&cfg, &s).condition, EXIT_LIQUIDITY_DRIED_UP);

    /* The limit scales with the price: 5 cents is wide on a $3 stock, not on a $300 one. */
    exit_input cheap = long_position();
    cheap.entry_price = M("3.00");
    cheap.stop_loss = M("2.00");
    cheap.take_profit = M("4.00");
    cheap.bid = M("3.00");
    cheap.ask = M("3.05");
    assert_int_equal(eval_at(&cfg, &cheap, "3.02").condition, EXIT_LIQUIDITY_DRIED_UP);
    exit_input dear = long_position();
    dear.entry_price = M("300.00");
    dear.stop_loss = M("200.00");
    dear.take_profit = M("400.00");
    dear.bid = M("300.00");
    dear.ask = M("300.05");
    assert_nothing_fires(eval_at(&cfg, &dear, "300.02"));
    /* An absolute limit, when set, applies too: the tighter one wins. */
    cfg.liquidity_max_spread = M("0.03");
    assert_int_equal(eval_at(&cfg, &dear, "300.02").condition, EXIT_LIQUIDITY_DRIED_UP);
}

static void test_early_exit(void **state)
{
    (void)state;
    exits_config cfg = defaults(); /* edge below 0.02 */
    exit_input in = long_position();
    in.has_edge = true;
    in.edge = M("0.02");
    assert_nothing_fires(eval(&cfg, &in));
    in.edge = M("0.019");
    exit_decision d = eval(&cfg, &in);
    assert_int_equal(d.condition, EXIT_EARLY_EXIT);
    assert_int_equal(d.priority, EXIT_PRIORITY_LOW);
    assert_true(d.qty == MONEY(100));
    assert_string_equal(d.reason, "early_exit: edge 0.019 < threshold 0.02");
    in.edge = 0; /* zero edge is weak, not negative */
    assert_int_equal(eval(&cfg, &in).condition, EXIT_EARLY_EXIT);
    in.has_edge = false; /* the strategy has no edge() */
    assert_nothing_fires(eval(&cfg, &in));
}

static void test_edge_disappeared(void **state)
{
    (void)state;
    exits_config cfg = defaults();
    exit_input in = short_position();
    in.has_edge = true;
    in.edge = M("-0.001");
    exit_decision d = eval(&cfg, &in);
    assert_int_equal(d.condition, EXIT_EDGE_DISAPPEARED);
    assert_int_equal(d.priority, EXIT_PRIORITY_LOW);
    assert_int_equal(d.fired, 1u << EXIT_EDGE_DISAPPEARED); /* not early_exit too */
    assert_string_equal(d.reason, "edge_disappeared: edge -0.001 < 0");
}

static void test_rebalance(void **state)
{
    (void)state;
    exits_config cfg = defaults(); /* improvement of at least 0.10 */
    exit_input in = long_position();
    in.has_rebalance = true;
    in.position_score = M("0.50");
    in.best_other_score = M("0.59");
    assert_nothing_fires(eval(&cfg, &in));
    in.best_other_score = M("0.60");
    exit_decision d = eval(&cfg, &in);
    assert_int_equal(d.condition, EXIT_REBALANCE);
    assert_int_equal(d.priority, EXIT_PRIORITY_LOW);
    assert_true(d.qty == MONEY(100));
    assert_string_equal(d.reason,
                        "rebalance: best other score 0.60 - this position's 0.50 >= 0.10");
    in.has_rebalance = false; /* a slot is free: no need to switch */
    assert_nothing_fires(eval(&cfg, &in));
}

static void test_emergency_instruction(void **state)
{
    (void)state;
    exits_config cfg = defaults();
    exit_input in = long_position();
    in.rule_fired = true;
    in.rule_reason = "close if VIX > 40: VIX 42.10";
    in.bid = M("99.00");
    in.ask = M("101.00"); /* HIGH liquidity also fires: the CRITICAL rule wins */
    exit_decision d = eval(&cfg, &in);
    assert_int_equal(d.condition, EXIT_EMERGENCY_INSTRUCTION);
    assert_int_equal(d.priority, EXIT_PRIORITY_CRITICAL);
    assert_true(d.qty == MONEY(100));
    assert_string_equal(d.reason, "emergency_instruction: close if VIX > 40: VIX 42.10");
    in.rule_reason = NULL;
    d = eval(&cfg, &in);
    assert_string_equal(d.reason, "emergency_instruction: an instruction rule fired");
}

static void test_shorts_mirror_longs(void **state)
{
    (void)state;
    exits_config cfg = defaults();
    exit_input s = short_position();
    assert_nothing_fires(eval_at(&cfg, &s, "103.99"));
    exit_decision d = eval_at(&cfg, &s, "104.00");
    assert_int_equal(d.condition, EXIT_STOP_LOSS);
    assert_string_equal(d.reason, "stop_loss: price 104.00 >= stop 104.00");
    /* A falling price is a short's profit, never its stop. */
    d = eval_at(&cfg, &s, "90.00");
    assert_int_equal(d.condition, EXIT_PROFIT_TARGET);
    s.price = M("85.00");
    assert_true(exits_pnl_fraction(&s) == M("0.15"));
    s.price = M("104.00");
    assert_true(exits_pnl_fraction(&s) == M("-0.04"));
}

static void test_pnl_fraction(void **state)
{
    (void)state;
    exit_input in = long_position();
    in.price = M("115.00");
    assert_true(exits_pnl_fraction(&in) == M("0.15"));
    in.price = M("96.00");
    assert_true(exits_pnl_fraction(&in) == M("-0.04"));
    in.entry_price = M("3.00");
    in.price = M("4.00");
    assert_true(exits_pnl_fraction(&in) == M("0.33333333"));
    in.entry_price = 0;
    assert_true(exits_pnl_fraction(&in) == 0);
}

static void test_no_open_quantity_or_price(void **state)
{
    (void)state;
    exits_config cfg = defaults();
    exit_input in = long_position();
    in.qty = 0; /* already closed: nothing to do, even with the circuit tripped */
    in.circuit_tripped = true;
    assert_nothing_fires(eval_at(&cfg, &in, "50.00"));

    /* No price yet: price levels are not judged, but the circuit breaker still closes. */
    exit_input s = short_position();
    s.circuit_tripped = true;
    exit_decision d = eval_at(&cfg, &s, "0");
    assert_int_equal(d.fired, 1u << EXIT_CIRCUIT_BREAKER);
    s.price = 0;
    assert_false(exits_update_trailing(&cfg, MONEY_INSTRUMENT_DEFAULT, &s));
}

/* The ATR and chandelier modes: multiplier x atr behind the peak, or behind the channel's
 * extreme, to the tick away from the price; nothing while the ATR is unknown; never loosens;
 * a level the strategy set does not arm the built-in stop early, and with the built-in stop
 * disabled it stays where it is. */
static void test_trailing_atr_and_chandelier_modes(void **state)
{
    (void)state;
    exits_config cfg = defaults();
    cfg.trailing_activation_pct = 0;
    cfg.trailing_mode = TRAILING_ATR;
    cfg.trailing_multiplier = M("2.5");
    exit_input in = long_position();
    in.price = M("104.00");
    assert_false(exits_update_trailing(&cfg, MONEY_INSTRUMENT_DEFAULT, &in)); /* no ATR yet */
    in.atr = M("1.333");
    assert_true(exits_update_trailing(&cfg, MONEY_INSTRUMENT_DEFAULT, &in));
    assert_true(in.trailing_stop == M("100.66")); /* 104 - 3.3325 = 100.6675 -> down */
    in.atr = M("2"); /* wider: the level falls to 99.00, the stop stays */
    assert_false(exits_update_trailing(&cfg, MONEY_INSTRUMENT_DEFAULT, &in));
    assert_true(in.trailing_stop == M("100.66"));

    cfg.trailing_mode = TRAILING_CHANDELIER;
    exit_input s = short_position();
    s.price = M("95.00");
    s.atr = M("1.001");
    s.channel_low = M("94.50");
    s.channel_high = M("99");
    assert_true(exits_update_trailing(&cfg, MONEY_INSTRUMENT_DEFAULT, &s));
    assert_true(s.trailing_stop == M("97.01")); /* 94.50 + 2.5025 = 97.0025 -> up */

    /* A strategy's level at 101 on a long only 1% up: the built-in stop (5% activation)
     * leaves it alone; disabled, it never moves it. */
    cfg = defaults();
    exit_input st = long_position();
    st.price = M("101.00");
    st.trailing_active = true;
    st.trailing_stop = M("99.00");
    st.strategy_stop = true;
    assert_false(exits_update_trailing(&cfg, MONEY_INSTRUMENT_DEFAULT, &st));
    assert_true(st.trailing_stop == M("99.00") && st.strategy_stop);
    cfg.trailing_enabled = false;
    st.price = M("130.00");
    assert_false(exits_update_trailing(&cfg, MONEY_INSTRUMENT_DEFAULT, &st));
    assert_true(st.trailing_stop == M("99.00"));
    assert_true(st.peak_price == M("130.00"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trailing_atr_and_chandelier_modes),
        cmocka_unit_test(test_nothing_fires_inside_the_levels),
        cmocka_unit_test(test_stop_loss_triggers),
        cmocka_unit_test(test_trailing_stop_activation),
        cmocka_unit_test(test_trailing_stop_update),
        cmocka_unit_test(test_trailing_stop_triggers),
        cmocka_unit_test(test_profit_target_triggers),
        cmocka_unit_test(test_partial_exit_triggers),
        cmocka_unit_test(test_partial_exit_short),
        cmocka_unit_test(test_multiple_triggers_priority),
        cmocka_unit_test(test_stop_loss_and_profit_target_same_update_resolve_to_stop_loss),
        cmocka_unit_test(test_edge_reversal_removed),
        cmocka_unit_test(test_condition_names_and_priorities),
        cmocka_unit_test(test_circuit_breaker_triggers),
        cmocka_unit_test(test_time_based_urgent),
        cmocka_unit_test(test_liquidity_dried_up),
        cmocka_unit_test(test_early_exit),
        cmocka_unit_test(test_edge_disappeared),
        cmocka_unit_test(test_rebalance),
        cmocka_unit_test(test_emergency_instruction),
        cmocka_unit_test(test_shorts_mirror_longs),
        cmocka_unit_test(test_pnl_fraction),
        cmocka_unit_test(test_strategy_decision),
        cmocka_unit_test(test_no_open_quantity_or_price),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
