/* test_script_failures: which script failures are recorded one by one and how the rest
 * are summarised (script/failures.h), on a clock the test moves. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "script/failures.h"

#define T0 ((apex_time)1709562600 * APEX_SECOND)

typedef struct {
    int n;
    uint64_t counted;
    script_failure_summary last;
    char last_error[SCRIPT_FAILURES_ERROR_MAX];
    apex_time from[64], to[64];
} summaries;

static void on_summary(void *ud, const script_failure_summary *s)
{
    summaries *seen = ud;
    if (seen->n < 64) {
        seen->from[seen->n] = s->from;
        seen->to[seen->n] = s->to;
    }
    seen->n++;
    seen->counted += s->count;
    seen->last = *s;
    snprintf(seen->last_error, sizeof seen->last_error, "%s", s->stats->last_error);
}

/* A failure at minute m with an error that changes every time (it names the minute). */
static bool fail_at(script_failures *f, script_stage stage, int minute)
{
    char err[64];
    snprintf(err, sizeof err, "boom at minute %d", minute);
    return script_failures_note(f, stage, T0 + minute * APEX_MINUTE, err, false);
}

static void test_a_burst_is_recorded_then_counted(void **state)
{
    (void)state;
    script_failures f;
    summaries seen = {0};
    script_failures_init(&f, on_summary, &seen);
    for (int i = 0; i < SCRIPT_FAILURES_BURST; i++)
        assert_true(fail_at(&f, SCRIPT_STAGE_STRATEGY, 0));
    assert_false(fail_at(&f, SCRIPT_STAGE_STRATEGY, 0));
    assert_false(fail_at(&f, SCRIPT_STAGE_STRATEGY, 0));
    /* Another stage has a budget of its own. */
    assert_true(fail_at(&f, SCRIPT_STAGE_RULES, 0));
    assert_int_equal(seen.n, 0);
    script_failures_tick(&f, T0 + APEX_MINUTE); /* the first period is a minute */
    assert_int_equal(seen.n, 1);
    assert_int_equal(seen.last.stage, SCRIPT_STAGE_STRATEGY);
    assert_int_equal(seen.last.count, 2);
    assert_int_equal(seen.last.from, T0);
    assert_int_equal(seen.last.to, T0 + APEX_MINUTE);
    assert_int_equal(seen.last.stats->total, SCRIPT_FAILURES_BURST + 2);
    assert_int_equal(seen.last.stats->recorded, SCRIPT_FAILURES_BURST);
    assert_string_equal(seen.last_error, "boom at minute 0");
}

/* The reported case: a strategy failing on every one-minute bar with a new message each
 * time, for ten hours. */
static void test_a_flood_costs_a_burst_and_a_summary_an_hour(void **state)
{
    (void)state;
    script_failures f;
    summaries seen = {0};
    script_failures_init(&f, on_summary, &seen);
    int recorded = 0;
    for (int m = 0; m < 600; m++) {
        script_failures_tick(&f, T0 + m * APEX_MINUTE);
        recorded += fail_at(&f, SCRIPT_STAGE_STRATEGY, m);
    }
    script_failures_flush(&f, T0 + 600 * APEX_MINUTE);
    assert_int_equal(recorded, SCRIPT_FAILURES_BURST);
    assert_int_equal(seen.counted, 600 - SCRIPT_FAILURES_BURST);
    /* Periods from minute 5: 1, 2, 4, 8, 16, 32 minutes, then an hour each; the last one
     * is cut by the end of the run. */
    static const int ends[] = {6, 8, 12, 20, 36, 68, 128, 188, 248, 308, 368, 428, 488, 548, 600};
    assert_int_equal(seen.n, (int)(sizeof ends / sizeof ends[0]));
    for (int i = 0; i < seen.n; i++)
        assert_int_equal(seen.to[i], T0 + ends[i] * APEX_MINUTE);
    assert_int_equal(seen.from[0], T0 + 5 * APEX_MINUTE);
    assert_string_equal(seen.last_error, "boom at minute 599");
    assert_int_equal(f.stages[SCRIPT_STAGE_STRATEGY].total, 600);
    assert_int_equal(f.stages[SCRIPT_STAGE_STRATEGY].recorded, SCRIPT_FAILURES_BURST);
}

static void test_a_quiet_hour_ends_the_flood(void **state)
{
    (void)state;
    script_failures f;
    summaries seen = {0};
    script_failures_init(&f, on_summary, &seen);
    for (int m = 0; m < 10; m++)
        fail_at(&f, SCRIPT_STAGE_BIAS, m);
    assert_int_equal(f.stages[SCRIPT_STAGE_BIAS].recorded, SCRIPT_FAILURES_BURST);
    /* Still flooding 59 minutes after the last failure... */
    assert_false(fail_at(&f, SCRIPT_STAGE_BIAS, 9 + 59));
    /* ...but an hour of quiet ends it: the next failure is recorded again. */
    assert_true(fail_at(&f, SCRIPT_STAGE_BIAS, 68 + 60));
    script_failures_flush(&f, T0 + 200 * APEX_MINUTE);
    assert_int_equal(seen.counted, 10 + 1 - SCRIPT_FAILURES_BURST);
}

static void test_failures_spread_out_are_all_recorded(void **state)
{
    (void)state;
    script_failures f;
    summaries seen = {0};
    script_failures_init(&f, on_summary, &seen);
    /* One failure every 13 minutes: never five within an hour. */
    for (int i = 0; i < 40; i++)
        assert_true(fail_at(&f, SCRIPT_STAGE_STRATEGY, 13 * i));
    script_failures_flush(&f, T0 + 1000 * APEX_MINUTE);
    assert_int_equal(seen.n, 0);
}

static void test_repeats_are_counted_without_starting_a_flood(void **state)
{
    (void)state;
    script_failures f;
    summaries seen = {0};
    script_failures_init(&f, on_summary, &seen);
    assert_true(script_failures_note(&f, SCRIPT_STAGE_STRATEGY, T0, "same", false));
    for (int m = 1; m < 30; m++)
        assert_false(
            script_failures_note(&f, SCRIPT_STAGE_STRATEGY, T0 + m * APEX_MINUTE, "same", true));
    /* A new error is news: recorded, the repeats notwithstanding. */
    assert_true(
        script_failures_note(&f, SCRIPT_STAGE_STRATEGY, T0 + 30 * APEX_MINUTE, "other", false));
    script_failures_flush(&f, T0 + 31 * APEX_MINUTE);
    assert_int_equal(seen.counted, 29);
    assert_int_equal(f.stages[SCRIPT_STAGE_STRATEGY].total, 31);
    assert_int_equal(f.stages[SCRIPT_STAGE_STRATEGY].recorded, 2);
}

static void test_stage_names(void **state)
{
    (void)state;
    assert_string_equal(script_stage_name(SCRIPT_STAGE_BIAS), "bias");
    assert_string_equal(script_stage_name(SCRIPT_STAGE_STRATEGY), "strategy");
    assert_string_equal(script_stage_name(SCRIPT_STAGE_RULES), "rules");
    assert_string_equal(script_stage_name(SCRIPT_STAGE_EDGE), "edge");
    assert_string_equal(script_stage_name(SCRIPT_STAGE_NOTIFY), "on_fill/on_exit");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_burst_is_recorded_then_counted),
        cmocka_unit_test(test_a_flood_costs_a_burst_and_a_summary_an_hour),
        cmocka_unit_test(test_a_quiet_hour_ends_the_flood),
        cmocka_unit_test(test_failures_spread_out_are_all_recorded),
        cmocka_unit_test(test_repeats_are_counted_without_starting_a_flood),
        cmocka_unit_test(test_stage_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
