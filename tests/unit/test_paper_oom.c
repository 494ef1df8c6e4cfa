/* The paper broker under memory exhaustion (issue 6.4): at every allocation a bracket
 * submit makes, a failure either refuses the call at once (its callback never runs) or
 * delivers exactly one reply; and a bracket is never accepted without both legs.
 *
 * This program is linked with --wrap=calloc,malloc,realloc (CMakeLists.txt), so the
 * test can fail the n-th allocation of the call under test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker/broker.h"
#include "broker/paper.h"
#include "clock/clock.h"
#include "util/err.h"
#include "util/log.h"

void *__real_calloc(size_t n, size_t size);
void *__real_malloc(size_t size);
void *__real_realloc(void *p, size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_malloc(size_t size);
void *__wrap_realloc(void *p, size_t size);

static int armed;       /* counting allocations while set */
static int fail_at;     /* the allocation (1-based) that fails; 0 = none */
static int allocations; /* counted while armed */

static bool should_fail(void)
{
    if (!armed)
        return false;
    return ++allocations == fail_at;
}

void *__wrap_calloc(size_t n, size_t size)
{
    return should_fail() ? NULL : __real_calloc(n, size);
}
void *__wrap_malloc(size_t size)
{
    return should_fail() ? NULL : __real_malloc(size);
}
void *__wrap_realloc(void *p, size_t size)
{
    return should_fail() ? NULL : __real_realloc(p, size);
}

typedef struct {
    int replies;
    int status;
} outcome;

static void on_reply(void *ud, const broker_reply *r)
{
    outcome *o = ud;
    o->replies++;
    o->status = r->status;
}

static void on_lookup(void *ud, const broker_reply *r)
{
    int *st = ud;
    *st = r->status == 0 && r->order ? (int)r->order->status : -1;
}

#define T_SEED (1709560000LL * APEX_SECOND)

/* A fresh in-memory account on its own clock, with one AAPL bar at 100 at T_SEED. */
static broker *new_account(apex_clock **clk)
{
    *clk = clock_new_simulated(T_SEED);
    paper_config cfg = {.starting_cash = MONEY(100000)};
    char err[256];
    broker *b = paper_broker_new(&cfg, ":memory:", *clk, err, sizeof err);
    assert_non_null(b);
    bar seed = {.ts = T_SEED,
                .open = MONEY(100),
                .high = MONEY(100),
                .low = MONEY(100),
                .close = MONEY(100),
                .volume = MONEY(1000)};
    paper_broker_on_bar(b, &seed, "AAPL");
    return b;
}

/* Submits one bracket with the n-th allocation failing (0: none) and checks the
 * contract. Returns how many allocations the call made. */
static int submit_failing_at(int n)
{
    apex_clock *clk;
    broker *b = new_account(&clk);
    order_request req = {.client_order_id = "oom-1",
                         .symbol = "AAPL",
                         .side = SIDE_BUY,
                         .type = ORDER_LIMIT,
                         .role = ORDER_ROLE_ENTRY,
                         .qty = MONEY(10),
                         .limit_price = MONEY(99),
                         .take_profit = MONEY(110),
                         .stop_loss = MONEY(90)};
    outcome out = {0};
    allocations = 0;
    fail_at = n;
    armed = 1;
    int rc = broker_submit_order(b, BROKER_PRIORITY_ROUTINE, &req, on_reply, &out);
    armed = 0;
    int made = allocations;
    clock_advance_to(clk, T_SEED + APEX_SECOND);
    clock_run_due(clk);
    if (rc != 0) {
        assert_int_equal(out.replies, 0); /* refused at once: never called back */
    } else {
        if (out.replies != 1)
            fprintf(stderr, "allocation %d of %d failed: %d replies\n", n, allocations,
                    out.replies);
        assert_int_equal(out.replies, 1); /* accepted: exactly one reply */
        if (out.status == 0) {
            /* Accepted as a bracket: both legs exist and are held for the entry. */
            int tp = -2, sl = -2;
            assert_int_equal(
                broker_get_order(b, BROKER_PRIORITY_ROUTINE, "oom-1-tp", on_lookup, &tp), 0);
            assert_int_equal(
                broker_get_order(b, BROKER_PRIORITY_ROUTINE, "oom-1-sl", on_lookup, &sl), 0);
            clock_advance_to(clk, T_SEED + 2 * APEX_SECOND);
            clock_run_due(clk);
            assert_int_equal(tp, ORDER_STATUS_HELD);
            assert_int_equal(sl, ORDER_STATUS_HELD);
        }
    }
    broker_free(b);
    clock_free(clk);
    return made;
}

static void test_every_allocation_failure_keeps_exactly_once_and_the_legs(void **state)
{
    (void)state;
    log_set_level(LOG_QUIET);
    int made = submit_failing_at(0);
    assert_true(made >= 4); /* the reply, the entry, two legs at least */
    for (int n = 1; n <= made; n++)
        submit_failing_at(n);
}

/* The other calls: each, at each of its allocations failing, is refused at once or
 * answered exactly once. */
typedef enum {
    OP_CANCEL,
    OP_GET_ORDER,
    OP_OPEN_ORDERS,
    OP_POSITIONS,
    OP_ACCOUNT,
    OP_QUOTES,
    OP_FILLS,
    OP_CLOSE,
    OP_COUNT
} op_kind;

static int call(broker *b, op_kind op, outcome *out)
{
    const char *syms[] = {"AAPL"};
    broker_priority pr = BROKER_PRIORITY_ROUTINE;
    switch (op) {
    case OP_CANCEL:
        return broker_cancel_order(b, pr, "open-1", on_reply, out);
    case OP_GET_ORDER:
        return broker_get_order(b, pr, "open-1", on_reply, out);
    case OP_OPEN_ORDERS:
        return broker_list_open_orders(b, pr, NULL, on_reply, out);
    case OP_POSITIONS:
        return broker_list_positions(b, pr, on_reply, out);
    case OP_ACCOUNT:
        return broker_get_account(b, pr, on_reply, out);
    case OP_QUOTES:
        return broker_get_quotes(b, pr, syms, 1, on_reply, out);
    case OP_FILLS:
        return broker_list_fills(b, pr, "held-1", on_reply, out);
    case OP_CLOSE:
    default:
        return broker_close_position(b, pr, "AAPL", "close-1", on_reply, out);
    }
}

static int op_failing_at(op_kind op, int n)
{
    apex_clock *clk;
    broker *b = new_account(&clk);
    /* A position (a filled market buy) and a working limit order to act on. */
    outcome setup = {0};
    order_request held = {.client_order_id = "held-1",
                          .symbol = "AAPL",
                          .side = SIDE_BUY,
                          .type = ORDER_MARKET,
                          .role = ORDER_ROLE_ENTRY,
                          .qty = MONEY(5)};
    order_request open = {.client_order_id = "open-1",
                          .symbol = "AAPL",
                          .side = SIDE_BUY,
                          .type = ORDER_LIMIT,
                          .role = ORDER_ROLE_ENTRY,
                          .qty = MONEY(5),
                          .limit_price = MONEY(90)};
    assert_int_equal(broker_submit_order(b, BROKER_PRIORITY_ROUTINE, &held, on_reply, &setup), 0);
    assert_int_equal(broker_submit_order(b, BROKER_PRIORITY_ROUTINE, &open, on_reply, &setup), 0);
    clock_advance_to(clk, T_SEED + APEX_SECOND);
    clock_run_due(clk);
    assert_int_equal(setup.replies, 2);

    outcome out = {0};
    allocations = 0;
    fail_at = n;
    armed = 1;
    int rc = call(b, op, &out);
    armed = 0;
    int made = allocations;
    clock_advance_to(clk, T_SEED + 2 * APEX_SECOND);
    clock_run_due(clk);
    if (out.replies != (rc == 0 ? 1 : 0))
        fprintf(stderr, "op %d, allocation %d of %d failed: rc %d, %d replies\n", (int)op, n, made,
                rc, out.replies);
    assert_int_equal(out.replies, rc == 0 ? 1 : 0);
    broker_free(b);
    clock_free(clk);
    return made;
}

static void test_every_call_keeps_exactly_once_under_allocation_failure(void **state)
{
    (void)state;
    log_set_level(LOG_QUIET);
    for (int op = 0; op < OP_COUNT; op++) {
        int made = op_failing_at((op_kind)op, 0);
        for (int n = 1; n <= made; n++)
            op_failing_at((op_kind)op, n);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_allocation_failure_keeps_exactly_once_and_the_legs),
        cmocka_unit_test(test_every_call_keeps_exactly_once_under_allocation_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
