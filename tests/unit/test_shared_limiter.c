/* One rate limiter per shared broker account (shared_broker_limiter): two pipelines'
 * handles on one account send, together, no more than one limit in any 60 s window; an
 * exit of either overtakes routine calls of both; the smallest configured limit holds
 * whatever the opening order; and a handle freed while the other still has calls queued
 * takes only its own calls out (ASan checks the teardown order: handles, inner broker,
 * limiter, its clock).
 *
 * The account is a fake broker (tests/support/fake_broker.h) behind shared_broker_open,
 * so the calls it records are exactly what the venue would receive. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "broker/adapter.h"
#include "broker/shared.h"
#include "fake_broker.h"
#include "util/err.h"

#define T0 ((apex_time)1709303400 * APEX_SECOND) /* 2024-03-01 14:30:00 UTC */

/* ---- fixture ----------------------------------------------------------------------------- */

typedef struct {
    apex_clock *clock;
    fake_broker *fake; /* the account, as the venue */
    broker *h[2];      /* two pipelines' handles */
} fixture;

static broker *open_fake(void *ud, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    fixture *f = ud;
    f->fake = fake_broker_new(f->clock);
    fake_broker_set_latency(f->fake, APEX_SECOND);
    return fake_broker_base(f->fake);
}

/* Two handles on one account; the limits are each pipeline's configured one. */
static void fixture_open(fixture *f, int first_limit, int second_limit)
{
    memset(f, 0, sizeof *f);
    f->clock = clock_new_simulated(T0);
    char err[256];
    int was = -1;
    for (int i = 0; i < 2; i++) {
        f->h[i] = shared_broker_open("acct", open_fake, f, err, sizeof err);
        assert_non_null(f->h[i]);
        assert_int_equal(shared_broker_limiter(f->h[i], f->clock, NULL,
                                               i == 0 ? first_limit : second_limit, &was),
                         0);
        assert_int_equal(was, i == 0 ? 0 : first_limit);
    }
    assert_int_equal(shared_broker_users(f->h[0]), 2);
}

static void fixture_close(fixture *f)
{
    for (int i = 0; i < 2; i++)
        broker_free(f->h[i]);
    clock_free(f->clock);
}

static void count_reply(void *ud, const broker_reply *r)
{
    (void)r;
    (*(int *)ud)++;
}

/* ---- one limit for the account --------------------------------------------------------- */

static void test_two_handles_stay_within_one_limit(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, 10, 10);
    int replies[2] = {0, 0};
    for (int i = 0; i < 30; i++)
        for (int k = 0; k < 2; k++)
            assert_int_equal(broker_get_position(f.h[k], BROKER_PRIORITY_ROUTINE, "SPY",
                                                 count_reply, &replies[k]),
                             0);
    clock_advance_to(f.clock, T0 + 30 * APEX_SECOND);
    assert_int_equal(fake_broker_ncalls(f.fake, FAKE_ANY), 10); /* not 10 per handle */
    clock_advance_to(f.clock, T0 + 10 * APEX_MINUTE);
    assert_int_equal(fake_broker_ncalls(f.fake, FAKE_ANY), 60);
    assert_true(fake_broker_max_calls_per_minute(f.fake) <= 10);
    /* Each handle's replies come back to it, and each pipeline counts its own calls. */
    assert_int_equal(replies[0], 30);
    assert_int_equal(replies[1], 30);
    assert_true(broker_api_calls(f.h[0]) == 30 && broker_api_calls(f.h[1]) == 30);
    /* The adapter's own requests (polls, retries) count against the same limiter. */
    assert_non_null(fake_broker_base(f.fake)->limiter);
    assert_ptr_equal(fake_broker_base(f.fake)->limiter, f.h[0]->limiter);
    assert_ptr_equal(f.h[0]->limiter, f.h[1]->limiter);
    fixture_close(&f);
}

static void test_exit_of_one_pipeline_overtakes_routine_of_both(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, 5, 5);
    int replies = 0;
    for (int i = 0; i < 5; i++)
        assert_int_equal(
            broker_get_position(f.h[0], BROKER_PRIORITY_ROUTINE, "SPY", count_reply, &replies), 0);
    clock_run_due(f.clock); /* the window is full */
    assert_int_equal(fake_broker_ncalls(f.fake, FAKE_ANY), 5);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(broker_get_account(f.h[0], BROKER_PRIORITY_ROUTINE, count_reply, &replies),
                         0);
        assert_int_equal(broker_get_quotes(f.h[1], BROKER_PRIORITY_ROUTINE,
                                           (const char *const[]){"QQQ"}, 1, count_reply, &replies),
                         0);
    }
    order_request stop = {.side = SIDE_SELL, .type = ORDER_MARKET, .qty = MONEY(10)};
    snprintf(stop.client_order_id, sizeof stop.client_order_id, "stop-1");
    snprintf(stop.symbol, sizeof stop.symbol, "QQQ");
    assert_int_equal(
        broker_submit_order(f.h[1], BROKER_PRIORITY_CRITICAL, &stop, count_reply, &replies), 0);
    assert_int_equal(broker_close_position(f.h[0], BROKER_PRIORITY_HIGH, "SPY", "close-1",
                                           count_reply, &replies),
                     0);
    clock_advance_to(f.clock, T0 + 10 * APEX_MINUTE);
    assert_int_equal(fake_broker_ncalls(f.fake, FAKE_ANY), 17);
    /* The second pipeline's CRITICAL exit, then the first's HIGH one, then routine. */
    assert_int_equal(fake_broker_call(f.fake, 5)->kind, FAKE_SUBMIT);
    assert_true(fake_broker_call(f.fake, 5)->at == T0 + APEX_MINUTE);
    assert_int_equal(fake_broker_call(f.fake, 6)->kind, FAKE_CLOSE_POSITION);
    for (int i = 7; i < 17; i++)
        assert_true(fake_broker_call(f.fake, i)->kind == FAKE_GET_ACCOUNT ||
                    fake_broker_call(f.fake, i)->kind == FAKE_GET_QUOTES);
    assert_true(fake_broker_max_calls_per_minute(f.fake) <= 5);
    assert_int_equal(replies, 17);
    fixture_close(&f);
}

/* Ten calls queued at once: how many the venue has seen 59 s later. */
static int calls_in_first_minute(fixture *f)
{
    int replies = 0;
    for (int i = 0; i < 10; i++)
        assert_int_equal(
            broker_get_account(f->h[i % 2], BROKER_PRIORITY_ROUTINE, count_reply, &replies), 0);
    clock_advance_to(f->clock, T0 + 59 * APEX_SECOND);
    return fake_broker_ncalls(f->fake, FAKE_ANY);
}

static void test_smallest_limit_applies_in_either_order(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, 20, 4);
    assert_int_equal(calls_in_first_minute(&f), 4);
    fixture_close(&f);
    fixture_open(&f, 4, 20);
    assert_int_equal(calls_in_first_minute(&f), 4);
    fixture_close(&f);
}

/* Lowered while the window already holds calls: those count against the new limit. */
static void test_lowered_limit_counts_calls_already_made(void **state)
{
    (void)state;
    fixture f;
    memset(&f, 0, sizeof f);
    f.clock = clock_new_simulated(T0);
    char err[256];
    int replies = 0, was = -1;
    f.h[0] = shared_broker_open("acct", open_fake, &f, err, sizeof err);
    assert_int_equal(shared_broker_limiter(f.h[0], f.clock, NULL, 10, &was), 0);
    for (int i = 0; i < 6; i++)
        assert_int_equal(broker_get_account(f.h[0], BROKER_PRIORITY_ROUTINE, count_reply, &replies),
                         0);
    clock_advance_to(f.clock, T0 + 10 * APEX_SECOND);
    assert_int_equal(fake_broker_ncalls(f.fake, FAKE_ANY), 6);
    f.h[1] = shared_broker_open("acct", open_fake, &f, err, sizeof err);
    assert_int_equal(shared_broker_limiter(f.h[1], f.clock, NULL, 3, &was), 0);
    assert_int_equal(was, 10);
    for (int i = 0; i < 6; i++)
        assert_int_equal(broker_get_account(f.h[1], BROKER_PRIORITY_ROUTINE, count_reply, &replies),
                         0);
    clock_advance_to(f.clock, T0 + 59 * APEX_SECOND);
    assert_int_equal(fake_broker_ncalls(f.fake, FAKE_ANY), 6); /* 6 >= 3 already */
    clock_advance_to(f.clock, T0 + 5 * APEX_MINUTE);
    assert_int_equal(fake_broker_ncalls(f.fake, FAKE_ANY), 12);
    /* From the change on, no window holds more than 3 calls. */
    for (int i = 6; i < 12; i++) {
        int in_window = 0;
        for (int j = 0; j <= i; j++)
            if (fake_broker_call(f.fake, j)->at > fake_broker_call(f.fake, i)->at - APEX_MINUTE)
                in_window++;
        assert_true(in_window <= 3);
    }
    assert_int_equal(replies, 12);
    fixture_close(&f);
}

/* ---- teardown ---------------------------------------------------------------------------- */

static void test_free_first_handle_while_second_has_calls_queued(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, 2, 2);
    int replies[2] = {0, 0};
    for (int i = 0; i < 5; i++)
        for (int k = 0; k < 2; k++)
            assert_int_equal(
                broker_get_account(f.h[k], BROKER_PRIORITY_ROUTINE, count_reply, &replies[k]), 0);
    /* One of each granted (the venue owes their replies), eight queued. */
    clock_run_due(f.clock);
    assert_int_equal(fake_broker_ncalls(f.fake, FAKE_ANY), 2);

    /* The first pipeline goes (its handle created the limiter): its queued calls and the
     * replies owed to it go with it; the account, its limiter and the second's calls stay. */
    broker_free(f.h[0]);
    f.h[0] = NULL;
    assert_int_equal(shared_broker_users(f.h[1]), 1);
    clock_advance_to(f.clock, T0 + 10 * APEX_MINUTE);
    assert_int_equal(replies[0], 0);
    assert_int_equal(replies[1], 5);
    assert_int_equal(fake_broker_ncalls(f.fake, FAKE_ANY), 2 + 4);
    assert_true(fake_broker_max_calls_per_minute(f.fake) <= 2);

    /* The last handle goes with calls still queued: they are withdrawn before the limiter
     * is freed with the account. */
    bool account_freed = false;
    fake_broker_notify_free(f.fake, &account_freed);
    for (int i = 0; i < 5; i++)
        assert_int_equal(
            broker_get_account(f.h[1], BROKER_PRIORITY_ROUTINE, count_reply, &replies[1]), 0);
    clock_run_due(f.clock);
    broker_free(f.h[1]);
    f.h[1] = NULL;
    assert_true(account_freed);
    clock_advance_to(f.clock, T0 + 20 * APEX_MINUTE);
    assert_int_equal(replies[1], 5);
    clock_free(f.clock);
}

/* A refusal on its way to the second pipeline when the first goes, then the second. */
static void test_free_with_refusal_pending(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, 60, 60);
    int replies = 0;
    fake_broker_refuse_next(f.fake, FAKE_GET_ORDER, 1, APEX_ENOTFOUND);
    assert_int_equal(
        broker_get_order(f.h[1], BROKER_PRIORITY_ROUTINE, "nope", count_reply, &replies), 0);
    clock_run_due(f.clock); /* granted and refused: the error reply waits on the clock */
    broker_free(f.h[0]);
    f.h[0] = NULL;
    clock_run_due(f.clock);
    assert_int_equal(replies, 1);
    assert_int_equal(
        broker_get_order(f.h[1], BROKER_PRIORITY_ROUTINE, "nope2", count_reply, &replies), 0);
    fake_broker_refuse_next(f.fake, FAKE_GET_ORDER, 1, APEX_ENOTFOUND);
    assert_int_equal(
        broker_get_order(f.h[1], BROKER_PRIORITY_ROUTINE, "nope3", count_reply, &replies), 0);
    fixture_close(&f);
}

/* A venue that does not simulate: the account's limiter counts on a wall clock the account
 * owns, freed with it. */
static void test_wall_clock_is_the_accounts(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    fixture f;
    memset(&f, 0, sizeof f);
    f.clock = clock_new_simulated(T0);
    char err[256];
    int was = -1, replies = 0;
    for (int i = 0; i < 2; i++) {
        f.h[i] = shared_broker_open("wall", open_fake, &f, err, sizeof err);
        assert_int_equal(shared_broker_limiter(f.h[i], f.clock, &loop, 100, &was), 0);
    }
    assert_int_equal(was, 100);
    assert_ptr_not_equal(ratelimit_clock(f.h[0]->limiter), f.clock);
    assert_int_equal(broker_get_account(f.h[0], BROKER_PRIORITY_ROUTINE, count_reply, &replies), 0);
    assert_int_equal(broker_get_account(f.h[1], BROKER_PRIORITY_ROUTINE, count_reply, &replies), 0);
    broker_free(f.h[0]);
    broker_free(f.h[1]);          /* queued calls withdrawn, then the limiter and its clock */
    uv_run(&loop, UV_RUN_NOWAIT); /* lets libuv release the clock's timer */
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_int_equal(replies, 0);
    clock_free(f.clock);
}

static void test_a_broker_of_its_own_is_not_shared(void **state)
{
    (void)state;
    apex_clock *clock = clock_new_simulated(T0);
    fake_broker *fb = fake_broker_new(clock);
    int was = -1;
    assert_int_equal(shared_broker_limiter(fake_broker_base(fb), clock, NULL, 10, &was),
                     APEX_ENOTFOUND);
    assert_int_equal(was, 0);
    assert_null(fake_broker_base(fb)->limiter);
    broker_free(fake_broker_base(fb));
    clock_free(clock);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_handles_stay_within_one_limit),
        cmocka_unit_test(test_exit_of_one_pipeline_overtakes_routine_of_both),
        cmocka_unit_test(test_smallest_limit_applies_in_either_order),
        cmocka_unit_test(test_lowered_limit_counts_calls_already_made),
        cmocka_unit_test(test_free_first_handle_while_second_has_calls_queued),
        cmocka_unit_test(test_free_with_refusal_pending),
        cmocka_unit_test(test_wall_clock_is_the_accounts),
        cmocka_unit_test(test_a_broker_of_its_own_is_not_shared),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
