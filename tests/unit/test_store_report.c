/* Tests for the report queries (store/store_report.h) that `apex-host status` and the
 * dashboard render: what each returns, in which order, narrowed to a pipeline, and that
 * they can run inside a batch and from each other's callbacks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store/store_report.h"
#include "store_fixture.h"
#include "util/err.h"

/* ---- collectors ------------------------------------------------------------------------ */

typedef struct {
    int64_t ids[64];
    int count;
    int stop_after; /* 0 = never stop */
} id_list;

static int add_id(id_list *l, int64_t id)
{
    if (l->count < 64)
        l->ids[l->count] = id;
    l->count++;
    return l->stop_after && l->count >= l->stop_after;
}

static int execution_id_of(void *ud, const store_execution *e)
{
    return add_id(ud, e->id);
}

static int order_id_of(void *ud, const store_order *o)
{
    return add_id(ud, o->id);
}

static int event_id_of(void *ud, const store_event_row *ev)
{
    return add_id(ud, ev->id);
}

typedef struct {
    store_report_position items[8];
    int count;
} position_list;

static int add_position(void *ud, const store_report_position *p)
{
    position_list *l = ud;
    if (l->count < 8)
        l->items[l->count] = *p;
    l->count++;
    return 0;
}

/* An exit as the callback saw it, with copies of its attempts (the report's own array is
 * valid only during the call). */
typedef struct {
    store_report_exit x;
    store_exit_attempt attempts[4];
} seen_exit;

typedef struct {
    seen_exit items[8];
    int count;
} report_exit_list;

static int add_report_exit(void *ud, const store_report_exit *x)
{
    report_exit_list *l = ud;
    if (l->count < 8) {
        seen_exit *e = &l->items[l->count];
        e->x = *x;
        for (int i = 0; i < x->nattempts && i < 4; i++)
            e->attempts[i] = x->attempts[i];
        e->x.attempts = NULL;
    }
    l->count++;
    return 0;
}

typedef struct {
    store_report_equity_point items[16];
    int count;
} equity_list;

static int add_point(void *ud, const store_report_equity_point *pt)
{
    equity_list *l = ud;
    if (l->count < 16)
        l->items[l->count] = *pt;
    l->count++;
    return 0;
}

/* ---- building a store ------------------------------------------------------------------ */

static int64_t add_execution(store *s, const char *pipeline, const char *symbol, exec_status st,
                             money_t realized, money_t fees)
{
    store_execution e = sample_execution(pipeline, symbol);
    e.status = st;
    e.realized_pnl = realized;
    e.fees = fees;
    assert_int_equal(store_execution_insert(s, &e, NULL), 0);
    return e.id;
}

static store_position add_position_row(store *s, int64_t execution_id, const char *symbol,
                                       bool open, money_t unrealized)
{
    store_position p;
    memset(&p, 0, sizeof p);
    p.execution_id = execution_id;
    snprintf(p.symbol, sizeof p.symbol, "%s", symbol);
    p.side = SIDE_BUY;
    p.qty = open ? MONEY(10) : 0;
    p.initial_qty = MONEY(10);
    p.entry_price = MONEY(100);
    p.open = open;
    p.unrealized_pnl = unrealized;
    assert_int_equal(store_position_insert(s, &p, NULL), 0);
    return p;
}

/* ---- executions ------------------------------------------------------------------------ */

static void test_executions_are_active_ones_plus_the_recent_newest_first(void **state)
{
    store *s = open_ok(":memory:");
    /* 1: an old monitoring execution of "a" that the recent window no longer reaches. */
    int64_t old_active = add_execution(s, "a", "AAPL", EXEC_MONITORING, 0, 0);
    int64_t ids[6];
    for (int i = 0; i < 6; i++)
        ids[i] = add_execution(s, i % 2 ? "b" : "a", "MSFT", EXEC_COMPLETED, 0, 0);

    id_list got = {0};
    assert_int_equal(store_report_executions(s, NULL, 3, execution_id_of, &got), 0);
    assert_int_equal(got.count, 4);
    assert_int_equal(got.ids[0], ids[5]);
    assert_int_equal(got.ids[1], ids[4]);
    assert_int_equal(got.ids[2], ids[3]);
    assert_int_equal(got.ids[3], old_active);

    /* Narrowed to "a": its active one and its 2 latest. */
    memset(&got, 0, sizeof got);
    assert_int_equal(store_report_executions(s, "a", 2, execution_id_of, &got), 0);
    assert_int_equal(got.count, 3);
    assert_int_equal(got.ids[0], ids[4]);
    assert_int_equal(got.ids[1], ids[2]);
    assert_int_equal(got.ids[2], old_active);

    /* recent 0: only the active ones; a callback that returns non-zero stops early. */
    memset(&got, 0, sizeof got);
    assert_int_equal(store_report_executions(s, NULL, 0, execution_id_of, &got), 0);
    assert_int_equal(got.count, 1);
    memset(&got, 0, sizeof got);
    got.stop_after = 2;
    assert_int_equal(store_report_executions(s, NULL, 10, execution_id_of, &got), 0);
    assert_int_equal(got.count, 2);
    memset(&got, 0, sizeof got);
    assert_int_equal(store_report_executions(s, "nobody", 10, execution_id_of, &got), 0);
    assert_int_equal(got.count, 0);
    store_close(s);
}

/* ---- positions ------------------------------------------------------------------------- */

static void test_positions_carry_their_execution_schedule(void **state)
{
    store *s = open_ok(":memory:");
    int64_t id = build_consistent_book(s); /* AAPL open, monitoring, next check T0 + 30 s */
    store_execution e;
    assert_int_equal(store_execution_get(s, id, &e), 0);
    e.monitor_interval_s = 5;
    assert_int_equal(store_execution_update(s, &e, NULL), 0);
    int64_t other = add_execution(s, "other", "TSLA", EXEC_MONITORING, 0, 0);
    add_position_row(s, other, "TSLA", true, CENTS(-250));
    add_position_row(s, other, "TSLA", false, 0); /* closed: not listed */
    add_position_row(s, 0, "NVDA", true, 0);      /* opened by hand: no execution */

    position_list all = {0};
    assert_int_equal(store_report_positions(s, NULL, add_position, &all), 0);
    assert_int_equal(all.count, 3);
    assert_string_equal(all.items[0].pos.symbol, "AAPL"); /* oldest first */
    assert_true(all.items[0].has_execution);
    assert_int_equal(all.items[0].monitor_interval_s, 5);
    assert_int_equal(all.items[0].next_check_at, T0 + 30 * APEX_SECOND);
    assert_int_equal(all.items[0].pos.qty, MONEY(30));
    assert_int_equal(all.items[0].pos.trailing_stop_price, CENTS(1197));
    assert_string_equal(all.items[1].pos.symbol, "TSLA");
    assert_int_equal(all.items[1].monitor_interval_s, 30);
    assert_int_equal(all.items[1].next_check_at, 0);
    assert_int_equal(all.items[1].pos.unrealized_pnl, CENTS(-250));
    assert_string_equal(all.items[2].pos.symbol, "NVDA");
    assert_false(all.items[2].has_execution);
    assert_int_equal(all.items[2].monitor_interval_s, 0);

    position_list mine = {0};
    assert_int_equal(store_report_positions(s, "other", add_position, &mine), 0);
    assert_int_equal(mine.count, 1);
    assert_string_equal(mine.items[0].pos.symbol, "TSLA");
    store_close(s);
}

/* ---- orders ---------------------------------------------------------------------------- */

static void test_open_orders_oldest_first_and_by_pipeline(void **state)
{
    store *s = open_ok(":memory:");
    int64_t a = add_execution(s, "a", "AAPL", EXEC_MONITORING, 0, 0);
    int64_t b = add_execution(s, "b", "AAPL", EXEC_MONITORING, 0, 0);
    store_order o1 = sample_order(a, "x-1-1");
    store_order o2 = sample_order(b, "x-2-1");
    store_order filled = sample_order(a, "x-1-2");
    filled.o.status = ORDER_STATUS_FILLED;
    store_order by_hand = sample_order(0, "manual-1");
    by_hand.o.status = ORDER_STATUS_PARTIALLY_FILLED;
    assert_int_equal(store_order_insert(s, &o1, NULL), 0);
    assert_int_equal(store_order_insert(s, &o2, NULL), 0);
    assert_int_equal(store_order_insert(s, &filled, NULL), 0);
    assert_int_equal(store_order_insert(s, &by_hand, NULL), 0);

    id_list got = {0};
    assert_int_equal(store_report_open_orders(s, NULL, order_id_of, &got), 0);
    assert_int_equal(got.count, 3);
    assert_int_equal(got.ids[0], o1.id);
    assert_int_equal(got.ids[1], o2.id);
    assert_int_equal(got.ids[2], by_hand.id);
    memset(&got, 0, sizeof got);
    assert_int_equal(store_report_open_orders(s, "b", order_id_of, &got), 0);
    assert_int_equal(got.count, 1);
    assert_int_equal(got.ids[0], o2.id);
    store_close(s);
}

/* ---- exits ----------------------------------------------------------------------------- */

static void test_exits_latest_oldest_first_with_their_attempts(void **state)
{
    store *s = open_ok(":memory:");
    int64_t exec_id = build_consistent_book(s);
    store_position p;
    assert_int_equal(store_position_get_by_execution(s, exec_id, &p), 0);
    /* Four exits; attempts inserted out of order across exits and numbers. */
    store_position_exit x[4];
    for (int i = 0; i < 4; i++) {
        x[i] = sample_exit(&p);
        x[i].triggered_at = T0 + i * APEX_SECOND;
        assert_int_equal(store_exit_insert(s, &x[i], NULL), 0);
    }
    store_exit_attempt a32 = sample_attempt(&x[3], 2, "feedbeef-3-2");
    store_exit_attempt a11 = sample_attempt(&x[1], 1, "feedbeef-1-1");
    store_exit_attempt a31 = sample_attempt(&x[3], 1, "feedbeef-3-1");
    store_exit_attempt a01 = sample_attempt(&x[0], 1, "feedbeef-0-1");
    assert_int_equal(store_exit_attempt_insert(s, &a32, NULL), 0);
    assert_int_equal(store_exit_attempt_insert(s, &a11, NULL), 0);
    assert_int_equal(store_exit_attempt_insert(s, &a31, NULL), 0);
    assert_int_equal(store_exit_attempt_insert(s, &a01, NULL), 0);

    /* The latest three, oldest first: x1 (one attempt), x2 (none), x3 (two, by number). */
    report_exit_list l = {0};
    assert_int_equal(store_report_exits(s, NULL, 3, add_report_exit, &l), 0);
    assert_int_equal(l.count, 3);
    assert_int_equal(l.items[0].x.exit.id, x[1].id);
    assert_string_equal(l.items[0].x.symbol, "AAPL");
    assert_int_equal(l.items[0].x.nattempts, 1);
    assert_attempt_equal(&l.items[0].attempts[0], &a11);
    assert_int_equal(l.items[1].x.exit.id, x[2].id);
    assert_int_equal(l.items[1].x.nattempts, 0);
    assert_int_equal(l.items[2].x.exit.id, x[3].id);
    assert_int_equal(l.items[2].x.nattempts, 2);
    assert_attempt_equal(&l.items[2].attempts[0], &a31);
    assert_attempt_equal(&l.items[2].attempts[1], &a32);
    assert_exit_equal(&l.items[2].x.exit, &x[3]);

    /* By pipeline: the book's executions are "demo". */
    memset(&l, 0, sizeof l);
    assert_int_equal(store_report_exits(s, "demo", 10, add_report_exit, &l), 0);
    assert_int_equal(l.count, 4);
    assert_int_equal(l.items[0].x.nattempts, 1);
    assert_attempt_equal(&l.items[0].attempts[0], &a01);
    memset(&l, 0, sizeof l);
    assert_int_equal(store_report_exits(s, "other", 10, add_report_exit, &l), 0);
    assert_int_equal(l.count, 0);
    assert_int_equal(store_report_exits(s, NULL, 0, add_report_exit, &l), 0);
    assert_int_equal(l.count, 0);
    store_close(s);
}

/* A report callback may use the store, writes included: rows are read before it runs. */
static int finish_reported_exit(void *ud, const store_report_exit *x)
{
    store *s = ud;
    store_position_exit done = x->exit;
    done.status = EXIT_STATUS_FILLED;
    done.filled_quantity = done.exit_quantity;
    id_list executions = {0};
    return store_exit_update(s, &done, NULL) != 0 ||
           store_report_executions(s, NULL, 5, execution_id_of, &executions) != 0;
}

static void test_report_callbacks_may_use_the_store(void **state)
{
    store *s = open_ok(":memory:");
    int64_t exec_id = build_consistent_book(s);
    store_position p;
    assert_int_equal(store_position_get_by_execution(s, exec_id, &p), 0);
    for (int i = 0; i < 3; i++) {
        store_position_exit x = sample_exit(&p);
        assert_int_equal(store_exit_insert(s, &x, NULL), 0);
    }
    assert_int_equal(store_report_exits(s, NULL, 10, finish_reported_exit, s), 0);
    exit_list working = {0};
    assert_int_equal(store_exits_working(s, exit_list_add, &working), 0);
    assert_int_equal(working.count, 0);
    store_close(s);
}

/* A report inside a host's batch sees the batch's rows and leaves the batch open; one
 * outside a batch leaves none open, so a durable intent can still commit on its own. */
static void test_reports_work_inside_and_outside_a_batch(void **state)
{
    store *s = open_ok(":memory:");
    build_consistent_book(s);
    assert_int_equal(store_begin(s, NULL), 0);
    int64_t id = add_execution(s, "batch", "AAPL", EXEC_RUNNING, 0, 0);
    id_list got = {0};
    assert_int_equal(store_report_executions(s, "batch", 5, execution_id_of, &got), 0);
    assert_int_equal(got.count, 1);
    assert_int_equal(got.ids[0], id);
    store_report_summary sum;
    assert_int_equal(store_report_summary_get(s, NULL, &sum), 0);
    assert_int_equal(sum.executions, 3);
    assert_true(store_in_batch(s));
    assert_int_equal(store_commit(s, NULL), 0);

    report_exit_list l = {0};
    assert_int_equal(store_report_exits(s, NULL, 5, add_report_exit, &l), 0);
    assert_int_equal(store_report_summary_get(s, NULL, &sum), 0);
    store_order o = sample_order(id, "after-report-1");
    assert_int_equal(store_order_insert(s, &o, NULL), 0); /* refused if a transaction lingered */
    assert_false(store_write_failed(s, NULL));
    store_close(s);
}

/* ---- events ---------------------------------------------------------------------------- */

static void test_events_latest_delivered_oldest_first(void **state)
{
    store *s = open_ok(":memory:");
    for (int i = 0; i < 6; i++)
        assert_int_equal(store_event(s, T0 + i, i % 2 ? "b" : "a", 0, "info", NULL, "event %d", i),
                         0);
    id_list got = {0};
    assert_int_equal(store_report_events(s, NULL, 3, event_id_of, &got), 0);
    assert_int_equal(got.count, 3);
    assert_int_equal(got.ids[0], 4); /* events 3, 4, 5 have ids 4, 5, 6 */
    assert_int_equal(got.ids[1], 5);
    assert_int_equal(got.ids[2], 6);
    memset(&got, 0, sizeof got);
    assert_int_equal(store_report_events(s, "a", 10, event_id_of, &got), 0);
    assert_int_equal(got.count, 3);
    assert_int_equal(got.ids[0], 1);
    assert_int_equal(got.ids[2], 5);
    memset(&got, 0, sizeof got);
    assert_int_equal(store_report_events(s, NULL, 0, event_id_of, &got), 0);
    assert_int_equal(got.count, 0);
    store_close(s);
}

/* ---- equity ---------------------------------------------------------------------------- */

static void test_equity_curve_range_and_step(void **state)
{
    store *s = open_ok(":memory:");
    /* "a" every 20 s for 3 minutes; "b" twice. */
    for (int i = 0; i < 9; i++)
        assert_int_equal(store_equity_insert(s, T0 + i * 20 * APEX_SECOND, "a", MONEY(1000),
                                             MONEY(1000 + i), NULL),
                         0);
    assert_int_equal(store_equity_insert(s, T0 + 10 * APEX_SECOND, "b", MONEY(5), MONEY(50), NULL),
                     0);
    assert_int_equal(store_equity_insert(s, T0 + 50 * APEX_SECOND, "b", MONEY(6), MONEY(60), NULL),
                     0);

    equity_list l = {0};
    assert_int_equal(store_report_equity(s, "a", 0, 0, 0, add_point, &l), 0);
    assert_int_equal(l.count, 9);
    assert_int_equal(l.items[0].ts, T0);
    assert_int_equal(l.items[8].equity, MONEY(1008));
    assert_string_equal(l.items[8].pipeline, "a");

    memset(&l, 0, sizeof l);
    assert_int_equal(store_report_equity(s, NULL, T0 + 20 * APEX_SECOND, T0 + 60 * APEX_SECOND, 0,
                                         add_point, &l),
                     0);
    assert_int_equal(l.count, 4); /* a at 20, 40, 60 and b at 50, by time */
    assert_int_equal(l.items[0].ts, T0 + 20 * APEX_SECOND);
    assert_string_equal(l.items[2].pipeline, "b");
    assert_int_equal(l.items[3].ts, T0 + 60 * APEX_SECOND);

    /* One point per minute and pipeline: the last snapshot of each minute (T0 is on a
     * minute boundary). */
    memset(&l, 0, sizeof l);
    assert_int_equal(store_report_equity(s, NULL, 0, 0, APEX_MINUTE, add_point, &l), 0);
    assert_int_equal(l.count, 4);
    assert_string_equal(l.items[0].pipeline, "a");
    assert_int_equal(l.items[0].ts, T0 + 40 * APEX_SECOND);
    assert_string_equal(l.items[1].pipeline, "b");
    assert_int_equal(l.items[1].ts, T0 + 50 * APEX_SECOND);
    assert_int_equal(l.items[1].cash, MONEY(6));
    assert_int_equal(l.items[2].ts, T0 + 100 * APEX_SECOND);
    assert_int_equal(l.items[3].ts, T0 + 160 * APEX_SECOND);
    assert_int_equal(l.items[3].equity, MONEY(1008));

    assert_int_equal(store_report_equity(s, NULL, 0, 0, -1, add_point, &l), APEX_EINVAL);
    assert_non_null(strstr(store_errmsg(s), "step"));
    store_close(s);
}

/* ---- summary --------------------------------------------------------------------------- */

static void test_summary_counts_and_sums(void **state)
{
    store *s = open_ok(":memory:");
    store_report_summary sum;
    assert_int_equal(store_report_summary_get(s, NULL, &sum), 0);
    assert_int_equal(sum.executions, 0);
    assert_false(sum.has_equity);
    assert_int_equal(sum.equity, 0);

    int64_t book = build_consistent_book(s); /* demo: AAPL monitoring +197.30, MSFT +99.60 */
    add_execution(s, "demo", "TSLA", EXEC_COMPLETED, -CENTS(5000), CENTS(100));
    add_execution(s, "demo", "TSLA", EXEC_SKIPPED, 0, 0);
    add_execution(s, "other", "NVDA", EXEC_FAILED, -CENTS(700), CENTS(10));
    int64_t other = add_execution(s, "other", "NVDA", EXEC_MONITORING, 0, 0);
    add_position_row(s, other, "NVDA", true, CENTS(-125));
    store_order o = sample_order(other, "o-1");
    assert_int_equal(store_order_insert(s, &o, NULL), 0);
    store_position p;
    assert_int_equal(store_position_get_by_execution(s, book, &p), 0);
    const exit_status statuses[] = {EXIT_STATUS_WORKING, EXIT_STATUS_FILLED, EXIT_STATUS_FILLED,
                                    EXIT_STATUS_FAILED, EXIT_STATUS_CANCELLED};
    for (int i = 0; i < 5; i++) {
        store_position_exit x = sample_exit(&p);
        x.status = statuses[i];
        assert_int_equal(store_exit_insert(s, &x, NULL), 0);
    }
    assert_int_equal(store_event(s, T0, "demo", book, "info", NULL, "one"), 0);
    assert_int_equal(store_event(s, T0, "other", 0, "info", NULL, "two"), 0);
    assert_int_equal(store_event(s, T0, NULL, 0, "info", NULL, "three"), 0);
    assert_int_equal(store_equity_insert(s, T0, "demo", MONEY(900), MONEY(1000), NULL), 0);
    assert_int_equal(store_equity_insert(s, T0 + 5, "demo", MONEY(910), MONEY(1010), NULL), 0);
    assert_int_equal(store_equity_insert(s, T0 + 2, "other", MONEY(90), MONEY(100), NULL), 0);

    assert_int_equal(store_report_summary_get(s, NULL, &sum), 0);
    assert_int_equal(sum.executions, 6);
    assert_int_equal(sum.executions_by_status[EXEC_MONITORING], 2);
    assert_int_equal(sum.executions_by_status[EXEC_COMPLETED], 2);
    assert_int_equal(sum.executions_by_status[EXEC_SKIPPED], 1);
    assert_int_equal(sum.executions_by_status[EXEC_FAILED], 1);
    assert_int_equal(sum.executions_by_status[EXEC_PENDING], 0);
    /* Finished only: MSFT +99.60 wins; TSLA -50.00 and NVDA -7.00 lose; the open AAPL's
     * +197.30 counts in realized P&L but is neither yet. */
    assert_int_equal(sum.wins, 1);
    assert_int_equal(sum.losses, 2);
    assert_int_equal(sum.realized_pnl, CENTS(19730) + CENTS(9960) - CENTS(5000) - CENTS(700));
    assert_int_equal(sum.fees, CENTS(270) + CENTS(100) + CENTS(10));
    assert_int_equal(sum.open_positions, 2);
    assert_int_equal(sum.unrealized_pnl, CENTS(6500) - CENTS(125));
    assert_int_equal(sum.open_orders, 1);
    assert_int_equal(sum.exits_by_status[EXIT_STATUS_WORKING], 1);
    assert_int_equal(sum.exits_by_status[EXIT_STATUS_FILLED], 2);
    assert_int_equal(sum.exits_by_status[EXIT_STATUS_FAILED], 1);
    assert_int_equal(sum.exits_by_status[EXIT_STATUS_CANCELLED], 1);
    assert_int_equal(sum.fills, 5);
    assert_int_equal(sum.events, 3);
    assert_true(sum.has_equity);
    assert_int_equal(sum.equity_ts, T0 + 5);
    assert_int_equal(sum.cash, MONEY(910) + MONEY(90)); /* each pipeline's latest, summed */
    assert_int_equal(sum.equity, MONEY(1010) + MONEY(100));

    assert_int_equal(store_report_summary_get(s, "other", &sum), 0);
    assert_int_equal(sum.executions, 2);
    assert_int_equal(sum.losses, 1);
    assert_int_equal(sum.wins, 0);
    assert_int_equal(sum.realized_pnl, -CENTS(700));
    assert_int_equal(sum.open_positions, 1);
    assert_int_equal(sum.open_orders, 1);
    assert_int_equal(sum.exits_by_status[EXIT_STATUS_FILLED], 0);
    assert_int_equal(sum.fills, 0);
    assert_int_equal(sum.events, 1);
    assert_int_equal(sum.equity_ts, T0 + 2);
    assert_int_equal(sum.equity, MONEY(100));
    store_close(s);
}

static void test_summary_reports_an_unknown_status(void **state)
{
    tmpdb t;
    tmpdb_make(&t);
    store *s = open_ok(t.path);
    add_execution(s, "demo", "AAPL", EXEC_COMPLETED, 0, 0);
    store_close(s);
    raw_exec(t.path, "UPDATE executions SET status = 'exploded'");
    s = open_ok(t.path);
    store_report_summary sum;
    assert_int_equal(store_report_summary_get(s, NULL, &sum), APEX_EIO);
    assert_non_null(strstr(store_errmsg(s), "exploded"));
    assert_int_equal(sum.executions, 0); /* nothing half-filled */
    id_list got = {0};
    assert_int_equal(store_report_executions(s, NULL, 5, execution_id_of, &got), APEX_EIO);
    assert_int_equal(got.count, 0);
    store_close(s);
    tmpdb_remove(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_executions_are_active_ones_plus_the_recent_newest_first),
        cmocka_unit_test(test_positions_carry_their_execution_schedule),
        cmocka_unit_test(test_open_orders_oldest_first_and_by_pipeline),
        cmocka_unit_test(test_exits_latest_oldest_first_with_their_attempts),
        cmocka_unit_test(test_report_callbacks_may_use_the_store),
        cmocka_unit_test(test_reports_work_inside_and_outside_a_batch),
        cmocka_unit_test(test_events_latest_delivered_oldest_first),
        cmocka_unit_test(test_equity_curve_range_and_step),
        cmocka_unit_test(test_summary_counts_and_sums),
        cmocka_unit_test(test_summary_reports_an_unknown_status),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
