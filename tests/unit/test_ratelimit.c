/* ratelimit: no 60 s window ever sees more grants than the limit, everything queued is
 * eventually granted, the most urgent request goes first, and callbacks only ever run
 * from the clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "clock/clock.h"
#include "net/ratelimit.h"
#include "util/err.h"

#define T0 ((apex_time)1709303400 * APEX_SECOND) /* 2024-03-01 14:30:00 UTC */

/* Every grant in arrival order: which request and when. */
typedef struct {
    apex_clock *clock;
    ratelimit *rl;
    apex_time at[512];
    int id[512];
    int n;
    bool in_submit; /* raised around ratelimit_submit: a grant then would be synchronous */
    bool granted_inside_submit;
} grant_log;

typedef struct {
    grant_log *log;
    int id;
    int resubmit_priority; /* >= 0: submit one more request (id + 1000) when granted */
} request;

static void on_grant(void *ud)
{
    request *q = ud;
    grant_log *g = q->log;
    if (g->in_submit)
        g->granted_inside_submit = true;
    assert_true(g->n < 512);
    g->at[g->n] = clock_now(g->clock);
    g->id[g->n] = q->id;
    g->n++;
    if (q->resubmit_priority >= 0) {
        request *again = malloc(sizeof *again);
        assert_non_null(again);
        *again = (request){.log = g, .id = q->id + 1000, .resubmit_priority = -1};
        g->in_submit = true;
        assert_int_equal(ratelimit_submit(g->rl, q->resubmit_priority, on_grant, again), 0);
        g->in_submit = false;
    }
    /* A granted request belongs to nobody else: free it here, as real users do. */
    free(q);
}

static void submit(grant_log *g, int priority, int id)
{
    request *q = malloc(sizeof *q);
    assert_non_null(q);
    *q = (request){.log = g, .id = id, .resubmit_priority = -1};
    g->in_submit = true;
    assert_int_equal(ratelimit_submit(g->rl, priority, on_grant, q), 0);
    g->in_submit = false;
}

/* Advances in 1 s steps until nothing is queued (or a generous bound passes). */
static void drain(grant_log *g)
{
    for (int i = 0; i < 24 * 3600 && ratelimit_queued(g->rl) > 0; i++)
        clock_advance_to(g->clock, clock_now(g->clock) + APEX_SECOND);
    clock_run_due(g->clock);
}

static int grants_in_window_ending(const grant_log *g, apex_time t)
{
    int n = 0;
    for (int i = 0; i < g->n; i++)
        if (g->at[i] > t - APEX_MINUTE && g->at[i] <= t)
            n++;
    return n;
}

static void setup_log(grant_log *g, int per_minute)
{
    *g = (grant_log){0};
    g->clock = clock_new_simulated(T0);
    g->rl = ratelimit_new(g->clock, per_minute);
    assert_non_null(g->clock);
    assert_non_null(g->rl);
}

static void teardown_log(grant_log *g)
{
    ratelimit_free(g->rl);
    clock_free(g->clock);
}

static void test_sliding_window_never_exceeded(void **state)
{
    (void)state;
    grant_log g;
    setup_log(&g, 60);
    for (int i = 0; i < 200; i++)
        submit(&g, RATELIMIT_ROUTINE, i);
    assert_int_equal(ratelimit_queued(g.rl), 200);
    assert_int_equal(g.n, 0); /* nothing granted inside submit */

    drain(&g);
    assert_int_equal(g.n, 200);
    assert_int_equal(ratelimit_queued(g.rl), 0);
    assert_true(ratelimit_granted(g.rl) == 200);
    assert_false(g.granted_inside_submit);

    /* The sliding-window property, checked at every grant instant. */
    for (int i = 0; i < g.n; i++)
        assert_true(grants_in_window_ending(&g, g.at[i]) <= 60);

    /* The first 60 go at once; the 61st waits for the first to leave the window (60 s);
     * 200 requests need three full windows after the first. */
    assert_true(g.at[0] == T0);
    assert_true(g.at[59] == T0);
    assert_true(g.at[60] == T0 + APEX_MINUTE);
    assert_true(g.at[119] == T0 + APEX_MINUTE);
    assert_true(g.at[120] == T0 + 2 * APEX_MINUTE);
    assert_true(g.at[199] == T0 + 3 * APEX_MINUTE);
    /* Routine requests keep their arrival order. */
    for (int i = 0; i < g.n; i++)
        assert_int_equal(g.id[i], i);
    teardown_log(&g);
}

static void test_staggered_arrivals_respect_window(void **state)
{
    (void)state;
    /* Requests trickling in at uneven times: a bucket would allow bursts here; the log
     * must not. 10 per minute, 7 requests every 13 s for 5 minutes. */
    grant_log g;
    setup_log(&g, 10);
    int id = 0;
    for (int step = 0; step < 24; step++) {
        for (int k = 0; k < 7; k++)
            submit(&g, RATELIMIT_ROUTINE, id++);
        clock_advance_to(g.clock, clock_now(g.clock) + 13 * APEX_SECOND);
        assert_true(ratelimit_window_count(g.rl) <= 10);
    }
    drain(&g);
    assert_int_equal(g.n, id);
    for (int i = 0; i < g.n; i++)
        assert_true(grants_in_window_ending(&g, g.at[i]) <= 10);
    teardown_log(&g);
}

static void test_critical_jumps_the_queue(void **state)
{
    (void)state;
    grant_log g;
    setup_log(&g, 60);
    for (int i = 0; i < 60; i++)
        submit(&g, RATELIMIT_ROUTINE, i);
    clock_run_due(g.clock);
    assert_int_equal(g.n, 60);
    assert_int_equal(ratelimit_window_count(g.rl), 60);

    /* The window is full: 50 routine calls wait, then an exit arrives. */
    clock_advance_to(g.clock, T0 + 10 * APEX_SECOND);
    for (int i = 100; i < 150; i++)
        submit(&g, RATELIMIT_ROUTINE, i);
    submit(&g, 2, 500); /* HIGH, queued before the critical one */
    submit(&g, 0, 900); /* CRITICAL */
    clock_advance_to(g.clock, T0 + 59 * APEX_SECOND);
    assert_int_equal(g.n, 60); /* still full: the limit holds even for CRITICAL */

    clock_advance_to(g.clock, T0 + APEX_MINUTE);
    assert_int_equal(g.n, 112);      /* all 52 waiting fit in the freed window */
    assert_int_equal(g.id[60], 900); /* CRITICAL first */
    assert_int_equal(g.id[61], 500); /* then HIGH */
    for (int i = 0; i < 50; i++)     /* then routine, in arrival order */
        assert_int_equal(g.id[62 + i], 100 + i);
    assert_true(g.at[60] == T0 + APEX_MINUTE);
    teardown_log(&g);
}

static void test_callbacks_never_inside_submit(void **state)
{
    (void)state;
    grant_log g;
    setup_log(&g, 5);
    submit(&g, RATELIMIT_ROUTINE, 1);
    submit(&g, 0, 2);
    assert_int_equal(g.n, 0);
    assert_int_equal(ratelimit_queued(g.rl), 2);
    clock_run_due(g.clock);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.id[0], 2);
    assert_int_equal(g.id[1], 1);
    assert_false(g.granted_inside_submit);

    assert_int_equal(ratelimit_submit(g.rl, RATELIMIT_PRIORITIES, on_grant, NULL), APEX_EINVAL);
    assert_int_equal(ratelimit_submit(g.rl, -1, on_grant, NULL), APEX_EINVAL);
    assert_null(ratelimit_new(g.clock, 0));
    teardown_log(&g);
}

static void test_callback_that_submits_again(void **state)
{
    (void)state;
    grant_log g;
    setup_log(&g, 3);
    for (int i = 0; i < 3; i++) {
        request *q = malloc(sizeof *q);
        assert_non_null(q);
        *q = (request){.log = &g, .id = i, .resubmit_priority = RATELIMIT_ROUTINE};
        assert_int_equal(ratelimit_submit(g.rl, RATELIMIT_ROUTINE, on_grant, q), 0);
    }
    clock_run_due(g.clock);
    /* The window took the three; their follow-ups wait for the next minute. */
    assert_int_equal(g.n, 3);
    assert_int_equal(ratelimit_queued(g.rl), 3);
    assert_false(g.granted_inside_submit);

    clock_advance_to(g.clock, T0 + APEX_MINUTE);
    assert_int_equal(g.n, 6);
    assert_int_equal(g.id[3], 1000);
    assert_int_equal(g.id[5], 1002);
    assert_true(g.at[3] == T0 + APEX_MINUTE);
    assert_int_equal(ratelimit_queued(g.rl), 0);
    teardown_log(&g);
}

/* ---- freeing ------------------------------------------------------------------------------ */

typedef struct {
    ratelimit **rl;
    int calls;
} freeing_request;

static void free_limiter_from_callback(void *ud)
{
    freeing_request *f = ud;
    f->calls++;
    ratelimit_free(*f->rl);
    *f->rl = NULL;
}

static void count_call(void *ud)
{
    (*(int *)ud)++;
}

static void test_free_drops_queue_and_survives_callback_free(void **state)
{
    (void)state;
    apex_clock *clock = clock_new_simulated(T0);
    ratelimit *rl = ratelimit_new(clock, 2);
    int dropped = 0;
    freeing_request f = {.rl = &rl};
    assert_int_equal(ratelimit_submit(rl, 0, free_limiter_from_callback, &f), 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(ratelimit_submit(rl, RATELIMIT_ROUTINE, count_call, &dropped), 0);
    /* The first grant frees the limiter: the pass must stop and nothing else may run. */
    clock_advance_to(clock, T0 + 10 * APEX_MINUTE);
    assert_int_equal(f.calls, 1);
    assert_null(rl);
    assert_int_equal(dropped, 0);
    assert_int_equal(clock_active_count(clock), 0);

    /* Plain free with work queued and a timer armed. */
    rl = ratelimit_new(clock, 1);
    for (int i = 0; i < 4; i++)
        assert_int_equal(ratelimit_submit(rl, RATELIMIT_ROUTINE, count_call, &dropped), 0);
    clock_run_due(clock);
    assert_int_equal(dropped, 1);
    ratelimit_free(rl);
    assert_int_equal(clock_active_count(clock), 0);
    clock_advance_to(clock, clock_now(clock) + 10 * APEX_MINUTE);
    assert_int_equal(dropped, 1);
    clock_free(clock);
}

static void test_cancel_removes_one_request(void **state)
{
    (void)state;
    apex_clock *clock = clock_new_simulated(T0);
    ratelimit *rl = ratelimit_new(clock, 10);
    int a = 0, b = 0;
    assert_int_equal(ratelimit_submit(rl, 1, count_call, &a), 0);
    assert_int_equal(ratelimit_submit(rl, 1, count_call, &b), 0);
    assert_int_equal(ratelimit_cancel(rl, count_call, &a), 0);
    assert_int_equal(ratelimit_cancel(rl, count_call, &a), APEX_ENOTFOUND);
    assert_int_equal(ratelimit_queued(rl), 1);
    clock_run_due(clock);
    assert_int_equal(a, 0);
    assert_int_equal(b, 1);
    assert_int_equal(ratelimit_window_count(rl), 1);
    clock_advance_to(clock, T0 + APEX_MINUTE);
    assert_int_equal(ratelimit_window_count(rl), 0); /* (now - 60 s, now] excludes T0 */
    ratelimit_free(rl);
    clock_free(clock);
}

/* A shared account lowers its limiter to the smallest limit of its users: the grants
 * already in the window count against the new limit; raising it lets more through. */
static void test_set_per_minute(void **state)
{
    (void)state;
    grant_log g = {0};
    g.clock = clock_new_simulated(T0);
    g.rl = ratelimit_new(g.clock, 10);
    assert_int_equal(ratelimit_set_per_minute(g.rl, 0), APEX_EINVAL);
    for (int i = 0; i < 6; i++)
        submit(&g, RATELIMIT_ROUTINE, i);
    clock_advance_to(g.clock, T0 + 10 * APEX_SECOND);
    assert_int_equal(g.n, 6);
    assert_int_equal(ratelimit_set_per_minute(g.rl, 4), 0);
    assert_int_equal(ratelimit_per_minute(g.rl), 4);
    for (int i = 6; i < 12; i++)
        submit(&g, RATELIMIT_ROUTINE, i);
    clock_advance_to(g.clock, T0 + 59 * APEX_SECOND);
    assert_int_equal(g.n, 6); /* six already in the window, four allowed */
    clock_advance_to(g.clock, T0 + 60 * APEX_SECOND);
    assert_int_equal(g.n, 10);
    for (int i = 6; i < g.n; i++) {
        int in_window = 0;
        for (int j = 0; j <= i; j++)
            in_window += g.at[j] > g.at[i] - APEX_MINUTE;
        assert_true(in_window <= 4);
    }
    assert_int_equal(ratelimit_set_per_minute(g.rl, 20), 0);
    clock_advance_to(g.clock, T0 + 61 * APEX_SECOND);
    assert_int_equal(g.n, 12);
    assert_int_equal(ratelimit_queued(g.rl), 0);
    ratelimit_free(g.rl);
    clock_free(g.clock);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sliding_window_never_exceeded),
        cmocka_unit_test(test_staggered_arrivals_respect_window),
        cmocka_unit_test(test_critical_jumps_the_queue),
        cmocka_unit_test(test_callbacks_never_inside_submit),
        cmocka_unit_test(test_callback_that_submits_again),
        cmocka_unit_test(test_free_drops_queue_and_survives_callback_free),
        cmocka_unit_test(test_cancel_removes_one_request),
        cmocka_unit_test(test_set_per_minute),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
