/* clock: timers fire in (due, start order) order on both clocks, callbacks can re-arm
 * and stop timers, and simulated time moves exactly to each timer's due time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "clock/clock.h"

#define T0 ((apex_time)1709303400 * APEX_SECOND) /* 2024-03-01 14:30:00 UTC */

typedef struct {
    int order[64];
    apex_time at[64];
    int n;
} journal;

typedef struct {
    journal *j;
    int id;
    int repeat;            /* re-arm this many more times */
    apex_time period;      /* for re-arming */
    clock_timer *to_stop;  /* stop this other timer when firing */
    clock_timer *to_start; /* start this other timer "now" when firing */
} probe;

static void record(clock_timer *t, void *ud)
{
    probe *p = ud;
    journal *j = p->j;
    if (j->n >= 64)
        fail_msg("journal full");
    j->order[j->n] = p->id;
    j->at[j->n] = clock_now(t->clock);
    j->n++;
    if (p->to_stop)
        clock_timer_stop(p->to_stop);
    if (p->to_start)
        clock_timer_start(p->to_start, clock_now(t->clock));
    if (p->repeat > 0) {
        p->repeat--;
        clock_timer_start_in(t, p->period);
    }
}

static void test_simulated_order_and_ties(void **state)
{
    (void)state;
    apex_clock *c = clock_new_simulated(T0);
    assert_true(clock_is_simulated(c));
    assert_true(clock_now(c) == T0);
    journal j = {0};
    probe p[5];
    clock_timer t[5];
    /* ids 0..4 due at +30s, +10s, +10s, +20s, +10s: ties fire in start order. */
    apex_time due[5] = {30, 10, 10, 20, 10};
    for (int i = 0; i < 5; i++) {
        p[i] = (probe){.j = &j, .id = i};
        clock_timer_init(c, &t[i], record, &p[i]);
        clock_timer_start(&t[i], T0 + due[i] * APEX_SECOND);
    }
    assert_int_equal(clock_active_count(c), 5);
    assert_true(clock_next_due(c) == T0 + 10 * APEX_SECOND);

    /* Advancing to +15s fires the three +10s timers at exactly +10s. */
    assert_int_equal(clock_advance_to(c, T0 + 15 * APEX_SECOND), 3);
    assert_int_equal(j.n, 3);
    assert_int_equal(j.order[0], 1);
    assert_int_equal(j.order[1], 2);
    assert_int_equal(j.order[2], 4);
    for (int i = 0; i < 3; i++)
        assert_true(j.at[i] == T0 + 10 * APEX_SECOND);
    assert_true(clock_now(c) == T0 + 15 * APEX_SECOND);
    assert_true(clock_next_due(c) == T0 + 20 * APEX_SECOND);

    /* Re-starting a timer moves it behind later ones and gives it a new start order. */
    clock_timer_start(&t[3], T0 + 30 * APEX_SECOND);
    assert_int_equal(clock_advance_to(c, T0 + 60 * APEX_SECOND), 2);
    assert_int_equal(j.order[3], 0);
    assert_int_equal(j.order[4], 3);
    assert_true(j.at[4] == T0 + 30 * APEX_SECOND);
    assert_int_equal(clock_active_count(c), 0);
    assert_true(clock_next_due(c) == APEX_TIME_NEVER);

    /* Time never moves backwards. */
    assert_int_equal(clock_advance_to(c, T0), 0);
    assert_true(clock_now(c) == T0 + 60 * APEX_SECOND);
    clock_free(c);
}

static void test_simulated_rearm_and_stop_inside_callbacks(void **state)
{
    (void)state;
    apex_clock *c = clock_new_simulated(T0);
    journal j = {0};
    clock_timer tick, victim, posted;
    probe ptick = {.j = &j, .id = 1, .repeat = 4, .period = APEX_MINUTE};
    probe pvictim = {.j = &j, .id = 2};
    probe pposted = {.j = &j, .id = 3};
    clock_timer_init(c, &tick, record, &ptick);
    clock_timer_init(c, &victim, record, &pvictim);
    clock_timer_init(c, &posted, record, &pposted);

    /* tick fires every minute, re-arming itself 4 times from its own callback; victim,
     * due between the 2nd and 3rd tick, fires in between at exactly +150s. */
    clock_timer_start_in(&tick, APEX_MINUTE);
    clock_timer_start(&victim, T0 + 150 * APEX_SECOND);
    assert_int_equal(clock_advance_to(c, T0 + APEX_HOUR), 5 + 1);
    assert_int_equal(j.order[2], 2);
    assert_true(j.at[2] == T0 + 150 * APEX_SECOND);
    for (int i = 0, k = 0; i < j.n; i++) {
        if (j.order[i] != 1)
            continue;
        k++;
        assert_true(j.at[i] == T0 + k * APEX_MINUTE);
    }
    assert_false(clock_timer_active(&tick));

    /* A callback stops a timer that is due at the same instant: it must not fire. */
    j.n = 0;
    ptick = (probe){.j = &j, .id = 1, .to_stop = &victim, .to_start = &posted};
    clock_timer_start_in(&tick, APEX_SECOND);
    clock_timer_start_in(&victim, APEX_SECOND);
    assert_int_equal(clock_advance_to(c, clock_now(c) + 2 * APEX_SECOND), 2);
    assert_int_equal(j.n, 2);
    assert_int_equal(j.order[0], 1);
    /* ...and the work it posted for "now" ran at that same instant. */
    assert_int_equal(j.order[1], 3);
    assert_true(j.at[1] == j.at[0]);
    assert_false(clock_timer_active(&victim));
    clock_free(c);
}

static void test_simulated_run_due_and_next_due(void **state)
{
    (void)state;
    apex_clock *c = clock_new_simulated(T0);
    journal j = {0};
    clock_timer a, b;
    probe pa = {.j = &j, .id = 1}, pb = {.j = &j, .id = 2};
    clock_timer_init(c, &a, record, &pa);
    clock_timer_init(c, &b, record, &pb);

    /* A due time in the past is not fired inside start, only by run_due. */
    clock_timer_start(&a, T0 - APEX_SECOND);
    clock_timer_start_in(&b, 0);
    assert_int_equal(j.n, 0);
    assert_true(clock_next_due(c) == T0 - APEX_SECOND);
    assert_int_equal(clock_run_due(c), 2);
    assert_int_equal(j.order[0], 1);
    assert_int_equal(j.order[1], 2);
    assert_true(clock_now(c) == T0); /* run_due does not move time */
    assert_int_equal(clock_run_due(c), 0);

    clock_timer_start_in(&a, 5 * APEX_SECOND);
    assert_int_equal(clock_run_due(c), 0);
    assert_true(clock_next_due(c) == T0 + 5 * APEX_SECOND);
    clock_timer_stop(&a);
    assert_true(clock_next_due(c) == APEX_TIME_NEVER);
    assert_int_equal(clock_active_count(c), 0);
    clock_timer_stop(&a); /* stopping twice is harmless */
    clock_free(c);
}

static void test_simulated_many_timers_heap_order(void **state)
{
    (void)state;
    enum { N = 500 };
    apex_clock *c = clock_new_simulated(0);
    static clock_timer t[N];
    static probe p[N];
    journal j = {0};
    /* A deterministic shuffle of due times; verify they come out sorted. */
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < N; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] = (probe){.j = &j, .id = i};
        clock_timer_init(c, &t[i], record, &p[i]);
        clock_timer_start(&t[i], (apex_time)(x % 1000) * APEX_SECOND);
    }
    for (int i = 0; i < N; i += 3)
        clock_timer_stop(&t[i]);
    apex_time last = -1;
    int fired = 0;
    while (clock_next_due(c) != APEX_TIME_NEVER) {
        apex_time due = clock_next_due(c);
        assert_true(due >= last);
        last = due;
        j.n = 0;
        fired += clock_advance_to(c, due);
    }
    assert_int_equal(fired, N - (N + 2) / 3);
    clock_free(c);
}

/* ---- live clock on a real libuv loop ------------------------------------------------ */

typedef struct {
    journal j;
    uv_loop_t *loop;
} live_ctx;

static void test_live_clock_fires_in_order(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    /* 1000x replay: one simulated minute is 60 ms of wall time. */
    apex_clock *c = clock_new_live(&loop, 1000.0, T0);
    assert_non_null(c);
    assert_false(clock_is_simulated(c));
    assert_true(clock_speed(c) == 1000.0);
    assert_true(clock_now(c) >= T0);

    journal j = {0};
    clock_timer t[4];
    probe p[4];
    apex_time delay[4] = {30 * APEX_SECOND, 10 * APEX_SECOND, 20 * APEX_SECOND, 10 * APEX_SECOND};
    for (int i = 0; i < 4; i++) {
        p[i] = (probe){.j = &j, .id = i};
        clock_timer_init(c, &t[i], record, &p[i]);
    }
    for (int i = 0; i < 4; i++)
        clock_timer_start(&t[i], T0 + delay[i]);
    /* Timer 2 re-arms itself once, 25 simulated seconds later (due +45s). */
    p[2].repeat = 1;
    p[2].period = 25 * APEX_SECOND;

    uv_run(&loop, UV_RUN_DEFAULT); /* returns when no timer is active */
    assert_int_equal(j.n, 5);
    int expect[5] = {1, 3, 2, 0, 2};
    for (int i = 0; i < 5; i++)
        assert_int_equal(j.order[i], expect[i]);
    /* Each fired no earlier than its due time, in non-decreasing clock time. */
    assert_true(j.at[0] >= T0 + 10 * APEX_SECOND);
    assert_true(j.at[3] >= T0 + 30 * APEX_SECOND);
    assert_true(j.at[4] >= T0 + 45 * APEX_SECOND);
    for (int i = 1; i < 5; i++)
        assert_true(j.at[i] >= j.at[i - 1]);

    /* Re-anchoring jumps time (a replay skipping a weekend). */
    clock_jump_to(c, T0 + APEX_DAY);
    assert_true(clock_now(c) >= T0 + APEX_DAY);
    assert_true(clock_now(c) < T0 + APEX_DAY + APEX_HOUR);
    j.n = 0;
    clock_timer_start_in(&t[0], APEX_MINUTE);
    p[0].repeat = 0;
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(j.n, 1);
    assert_true(j.at[0] >= T0 + APEX_DAY + APEX_MINUTE);

    /* Free with a timer still armed; the loop runs once more to release the handle. */
    clock_timer_start_in(&t[1], APEX_HOUR);
    clock_free(c);
    assert_false(clock_timer_active(&t[1]));
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_live_wall_clock(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    apex_clock *c = clock_new_live(&loop, 1.0, 0);
    assert_non_null(c);
    /* Wall time: after 2020 and before 2100. */
    assert_true(clock_now(c) > (apex_time)1577836800 * APEX_SECOND);
    assert_true(clock_now(c) < (apex_time)4102444800 * APEX_SECOND);
    journal j = {0};
    clock_timer t;
    probe p = {.j = &j, .id = 7};
    clock_timer_init(c, &t, record, &p);
    apex_time before = clock_now(c);
    clock_timer_start_in(&t, 2000); /* 2 ms */
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(j.n, 1);
    assert_true(j.at[0] >= before + 2000);
    assert_null(clock_new_live(&loop, 0.0, 0)); /* speed must be positive */
    clock_free(c);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* A replay so fast that its elapsed clock time would leave int64 saturates in the far
 * future: it never wraps into the distant past (an out-of-range double once converted to
 * INT64_MIN). */
static void test_live_clock_never_wraps(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    apex_clock *c = clock_new_live(&loop, 1e300, T0);
    assert_non_null(c);
    uint64_t start = uv_hrtime();
    while (uv_hrtime() == start)
        ; /* at least a nanosecond passes */
    apex_time now = clock_now(c);
    assert_true(now > T0);
    assert_true(now >= (apex_time)9e18); /* bounded, and still ahead of every real time */
    clock_free(c);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simulated_order_and_ties),
        cmocka_unit_test(test_simulated_rearm_and_stop_inside_callbacks),
        cmocka_unit_test(test_simulated_run_due_and_next_due),
        cmocka_unit_test(test_simulated_many_timers_heap_order),
        cmocka_unit_test(test_live_clock_fires_in_order),
        cmocka_unit_test(test_live_wall_clock),
        cmocka_unit_test(test_live_clock_never_wraps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
