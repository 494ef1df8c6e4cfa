/* Tests for orders, fills and positions: order-intent durability (a crash right after the
 * commit), intents and batches, duplicates, fill replays, and the monitoring columns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/store.h"
#include "store_fixture.h"
#include "util/err.h"

static void test_order_intent_survives_a_crash(void **state)
{
    tmpdb t;
    tmpdb_make(&t);
    store *s = open_ok(t.path);
    store_execution e = sample_execution("demo", "AAPL");
    assert_int_equal(store_execution_insert(s, &e, NULL), 0);
    store_close(s);

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* The child records an intent and dies at once: no close, no checkpoint. */
        char err[256];
        store *c = store_open(t.path, STORE_DURABLE, err, sizeof err);
        store_order o = sample_order(e.id, "abcd1234-1-1");
        int rc = c ? store_order_insert(c, &o, NULL) : -100;
        _exit(rc == 0 ? 0 : 1);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    s = open_ok(t.path);
    store_order got;
    assert_int_equal(store_order_get(s, "abcd1234-1-1", &got), 0);
    assert_int_equal(got.execution_id, e.id);
    assert_int_equal(got.o.status, ORDER_STATUS_NEW);
    assert_int_equal(got.o.qty, MONEY(100));
    assert_int_equal(got.o.limit_price, CENTS(18725));
    assert_int_equal(got.take_profit, CENTS(19500));
    assert_int_equal(got.stop_loss, CENTS(18000));
    store_close(s);
    tmpdb_remove(&t);
}

static void test_order_insert_refused_inside_batch(void **state)
{
    store *s = open_ok(":memory:");
    apex_error err;
    store_execution e = sample_execution("demo", "AAPL");
    assert_int_equal(store_execution_insert(s, &e, NULL), 0);
    assert_int_equal(store_begin(s, NULL), 0);
    assert_true(store_in_batch(s));
    store_order o = sample_order(e.id, "x-1-1");
    assert_int_equal(store_order_insert(s, &o, &err), APEX_ESTATE);
    assert_non_null(strstr(err.msg, "x-1-1"));
    assert_int_equal(store_begin(s, NULL), APEX_ESTATE); /* no nesting */
    assert_int_equal(store_commit(s, NULL), 0);
    assert_false(store_in_batch(s));
    store_order got;
    assert_int_equal(store_order_get(s, "x-1-1", &got), APEX_ENOTFOUND);
    assert_int_equal(store_order_insert(s, &o, NULL), 0);
    assert_int_equal(store_order_get(s, "x-1-1", &got), 0);
    assert_int_equal(store_commit(s, NULL), APEX_ESTATE);
    store_close(s);
}

/* A backtest's STORE_FAST store groups intents with everything else in its batches. */
static void test_fast_store_allows_intents_in_a_batch(void **state)
{
    (void)state;
    char err[512] = "";
    store *s = store_open(":memory:", STORE_FAST, err, sizeof err);
    assert_non_null(s);
    store_execution e = sample_execution("bt", "AAPL");
    assert_int_equal(store_begin(s, NULL), 0);
    assert_int_equal(store_execution_insert(s, &e, NULL), 0);
    store_order o = sample_order(e.id, "bt-1-1");
    assert_int_equal(store_order_insert(s, &o, NULL), 0);
    assert_int_equal(store_order_insert(s, &o, NULL), APEX_EDUP);
    assert_int_equal(store_commit(s, NULL), 0);
    store_order got;
    assert_int_equal(store_order_get(s, "bt-1-1", &got), 0);
    assert_int_equal(got.execution_id, e.id);
    store_close(s);
}

static int count_orders(void *ud, const store_order *o)
{
    (*(int *)ud)++;
    return 0;
}

static int first_order(void *ud, const store_order *o)
{
    *(store_order *)ud = *o;
    return 1;
}

static void test_order_duplicate_update_and_open_list(void **state)
{
    store *s = open_ok(":memory:");
    apex_error err;
    store_execution e = sample_execution("demo", "AAPL");
    assert_int_equal(store_execution_insert(s, &e, NULL), 0);
    store_order entry = sample_order(e.id, "ab12cd34-1-1");
    assert_int_equal(store_order_insert(s, &entry, NULL), 0);
    store_order again = sample_order(e.id, "ab12cd34-1-1");
    assert_int_equal(store_order_insert(s, &again, &err), APEX_EDUP);
    assert_non_null(strstr(err.msg, "ab12cd34-1-1"));

    store_order tp = sample_order(e.id, "ab12cd34-1-1-tp");
    tp.o.role = ORDER_ROLE_TAKE_PROFIT;
    tp.o.side = SIDE_SELL;
    tp.o.status = ORDER_STATUS_HELD;
    snprintf(tp.o.parent_client_order_id, sizeof tp.o.parent_client_order_id, "ab12cd34-1-1");
    assert_int_equal(store_order_insert(s, &tp, NULL), 0);

    /* The broker fills the entry. */
    entry.o.status = ORDER_STATUS_FILLED;
    entry.o.filled_qty = MONEY(100);
    entry.o.avg_fill_price = CENTS(18720);
    entry.submitted_at = T0 + APEX_SECOND;
    entry.o.updated_at = T0 + 2 * APEX_SECOND;
    snprintf(entry.o.broker_order_id, sizeof entry.o.broker_order_id, "brk-77");
    assert_int_equal(store_order_update(s, &entry, NULL), 0);
    store_order got;
    assert_int_equal(store_order_get(s, "ab12cd34-1-1", &got), 0);
    assert_int_equal(got.o.status, ORDER_STATUS_FILLED);
    assert_int_equal(got.o.avg_fill_price, CENTS(18720));
    assert_int_equal(got.o.filled_qty, MONEY(100));
    assert_int_equal(got.submitted_at, T0 + APEX_SECOND);
    assert_string_equal(got.o.broker_order_id, "brk-77");
    assert_int_equal(got.o.created_at, T0);

    int n = 0;
    assert_int_equal(store_orders_for_execution(s, e.id, count_orders, &n), 0);
    assert_int_equal(n, 2);
    store_order open;
    memset(&open, 0, sizeof open);
    n = 0;
    assert_int_equal(store_orders_open(s, count_orders, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(store_orders_open(s, first_order, &open), 0);
    assert_string_equal(open.o.client_order_id, "ab12cd34-1-1-tp");
    assert_int_equal(open.o.role, ORDER_ROLE_TAKE_PROFIT);
    assert_int_equal(open.o.side, SIDE_SELL);
    assert_string_equal(open.o.parent_client_order_id, "ab12cd34-1-1");

    store_order ghost = sample_order(e.id, "never-sent");
    assert_int_equal(store_order_update(s, &ghost, NULL), APEX_ENOTFOUND);
    store_close(s);
}

/* The fields a trader's records depend on, compared one by one (not memcmp: the bytes
 * after each string's end are not part of the row). */
static void assert_same_order(const store_order *a, const store_order *b)
{
    assert_int_equal(a->id, b->id);
    assert_int_equal(a->execution_id, b->execution_id);
    assert_string_equal(a->o.client_order_id, b->o.client_order_id);
    assert_string_equal(a->o.broker_order_id, b->o.broker_order_id);
    assert_string_equal(a->o.parent_client_order_id, b->o.parent_client_order_id);
    assert_string_equal(a->o.symbol, b->o.symbol);
    assert_int_equal(a->o.side, b->o.side);
    assert_int_equal(a->o.type, b->o.type);
    assert_int_equal(a->o.role, b->o.role);
    assert_int_equal(a->o.status, b->o.status);
    assert_int_equal(a->o.qty, b->o.qty);
    assert_int_equal(a->o.filled_qty, b->o.filled_qty);
    assert_int_equal(a->o.avg_fill_price, b->o.avg_fill_price);
    assert_int_equal(a->o.limit_price, b->o.limit_price);
    assert_int_equal(a->o.stop_price, b->o.stop_price);
    assert_int_equal(a->o.created_at, b->o.created_at);
    assert_int_equal(a->o.updated_at, b->o.updated_at);
    assert_string_equal(a->o.reason, b->o.reason);
    assert_int_equal(a->take_profit, b->take_profit);
    assert_int_equal(a->stop_loss, b->stop_loss);
    assert_int_equal(a->submitted_at, b->submitted_at);
    assert_string_equal(a->error, b->error);
}

/* The row as SQLite holds it: read through a connection opened for this read alone, so
 * no cache of its own can answer. */
static void read_fresh(const char *path, const char *coid, store_order *out)
{
    store *reader = open_ok(path);
    assert_int_equal(store_order_get(reader, coid, out), 0);
    store_close(reader);
}

/* store_order_get answers from a cache that every write goes through: what it returns
 * must be what SQLite holds, after an insert, after updates, and after a unit of writes
 * is undone. */
static void test_order_reads_match_the_database(void **state)
{
    tmpdb t;
    tmpdb_make(&t);
    store *s = open_ok(t.path);
    store_execution e = sample_execution("demo", "AAPL");
    assert_int_equal(store_execution_insert(s, &e, NULL), 0);
    store_order o = sample_order(e.id, "c4che001-1-1");
    assert_int_equal(store_order_insert(s, &o, NULL), 0);
    store_order mine, theirs;
    assert_int_equal(store_order_get(s, "c4che001-1-1", &mine), 0);
    read_fresh(t.path, "c4che001-1-1", &theirs);
    assert_same_order(&mine, &theirs);

    /* An update given a row without its id and created_at (the UPDATE leaves them). */
    store_order partial = mine;
    partial.id = 0;
    partial.o.created_at = 0;
    partial.o.status = ORDER_STATUS_PARTIALLY_FILLED;
    partial.o.filled_qty = MONEY(40);
    partial.o.avg_fill_price = CENTS(18721);
    snprintf(partial.o.reason, sizeof partial.o.reason, "first clip");
    assert_int_equal(store_order_update(s, &partial, NULL), 0);
    assert_int_equal(store_order_get(s, "c4che001-1-1", &mine), 0);
    read_fresh(t.path, "c4che001-1-1", &theirs);
    assert_same_order(&mine, &theirs);
    assert_int_equal(mine.o.created_at, T0);
    assert_int_equal(mine.o.filled_qty, MONEY(40));

    /* A unit that is undone takes its update back, and the next read says so. */
    assert_int_equal(store_unit_begin(s, NULL), 0);
    store_order filled = mine;
    filled.o.status = ORDER_STATUS_FILLED;
    filled.o.filled_qty = MONEY(100);
    assert_int_equal(store_order_update(s, &filled, NULL), 0);
    assert_int_equal(store_order_get(s, "c4che001-1-1", &mine), 0);
    assert_int_equal(mine.o.status, ORDER_STATUS_FILLED);
    assert_int_equal(store_unit_abort(s, NULL), 0);
    assert_int_equal(store_order_get(s, "c4che001-1-1", &mine), 0);
    assert_int_equal(mine.o.status, ORDER_STATUS_PARTIALLY_FILLED);
    assert_int_equal(mine.o.filled_qty, MONEY(40));
    read_fresh(t.path, "c4che001-1-1", &theirs);
    assert_same_order(&mine, &theirs);

    /* Many orders (more than the cache holds) each read back as written. */
    for (int i = 0; i < 600; i++) {
        char id[32];
        snprintf(id, sizeof id, "c4che001-2-%d", i);
        store_order x = sample_order(e.id, id);
        x.o.qty = MONEY(i + 1);
        assert_int_equal(store_order_insert(s, &x, NULL), 0);
    }
    for (int i = 0; i < 600; i++) {
        char id[32];
        snprintf(id, sizeof id, "c4che001-2-%d", i);
        assert_int_equal(store_order_get(s, id, &mine), 0);
        assert_int_equal(mine.o.qty, MONEY(i + 1));
        assert_string_equal(mine.o.client_order_id, id);
    }
    store_close(s);
    tmpdb_remove(&t);
}

static int sum_fills(void *ud, const store_fill *f)
{
    money_t *sum = ud;
    *sum += f->f.side == SIDE_BUY ? f->f.qty : -f->f.qty;
    return 0;
}

static void test_fill_replay_is_refused_and_batch_survives(void **state)
{
    store *s = open_ok(":memory:");
    apex_error err;
    store_execution e = sample_execution("demo", "AAPL");
    assert_int_equal(store_execution_insert(s, &e, NULL), 0);
    assert_int_equal(store_begin(s, NULL), 0);
    store_fill f1 = sample_fill(e.id, "F1", SIDE_BUY, MONEY(60), CENTS(1000), CENTS(30), T0);
    assert_int_equal(store_fill_insert(s, &f1, NULL), 0);
    store_fill replay = sample_fill(e.id, "F1", SIDE_BUY, MONEY(999), CENTS(1), 0, T0 + 1);
    assert_int_equal(store_fill_insert(s, &replay, &err), APEX_EDUP);
    assert_non_null(strstr(err.msg, "F1"));
    store_fill f2 = sample_fill(e.id, "F2", SIDE_BUY, MONEY(40), CENTS(1001), CENTS(20), T0 + 5);
    assert_int_equal(store_fill_insert(s, &f2, NULL), 0);
    assert_int_equal(store_commit(s, NULL), 0);

    money_t sum = 0;
    assert_int_equal(store_fills_for_execution(s, e.id, sum_fills, &sum), 0);
    assert_int_equal(sum, MONEY(100)); /* 60 + 40, the replay counted nothing */

    store_fill bad = sample_fill(e.id, "F3", SIDE_BUY, 0, CENTS(1000), 0, T0);
    assert_int_equal(store_fill_insert(s, &bad, NULL), APEX_EINVAL);
    store_close(s);
}

static int first_position(void *ud, const store_position *p)
{
    *(store_position *)ud = *p;
    return 1;
}

static void test_position_monitoring_columns_round_trip(void **state)
{
    store *s = open_ok(":memory:");
    store_execution e = sample_execution("demo", "TSLA");
    assert_int_equal(store_execution_insert(s, &e, NULL), 0);
    store_position p;
    memset(&p, 0, sizeof p);
    p.execution_id = e.id;
    snprintf(p.symbol, sizeof p.symbol, "TSLA");
    p.side = SIDE_SELL;
    p.qty = MONEY(50);
    p.initial_qty = MONEY(100);
    p.entry_price = CENTS(20050);
    p.stop_loss = CENTS(21000);
    p.take_profit = CENTS(18000);
    p.open = true;
    p.opened_at = T0;
    p.realized_pnl = CENTS(12345);
    p.current_price = 19512345678LL; /* 195.12345678: full precision kept */
    p.unrealized_pnl = CENTS(26883);
    p.unrealized_pnl_pct = 2681000; /* 2.681% */
    p.last_update = T0 + 30 * APEX_SECOND;
    p.trailing_stop_active = true;
    p.peak_price = CENTS(19400);
    p.trailing_stop_price = CENTS(19982);
    snprintf(p.exit_reason, sizeof p.exit_reason, "partial_exit_target");
    snprintf(p.exit_priority, sizeof p.exit_priority, "MEDIUM");
    p.partial_stages_done = 1;
    assert_int_equal(store_position_insert(s, &p, NULL), 0);
    assert_true(p.id > 0);

    store_position got;
    assert_int_equal(store_position_get_by_execution(s, e.id, &got), 0);
    assert_position_equal(&got, &p);

    p.partial_stages_done = 3;
    p.trailing_stop_price = CENTS(19900);
    p.qty = MONEY(25);
    assert_int_equal(store_position_update(s, &p, NULL), 0);
    memset(&got, 0, sizeof got);
    assert_int_equal(store_positions_open(s, first_position, &got), 0);
    assert_position_equal(&got, &p);

    p.open = false;
    p.qty = 0;
    p.closed_at = T0 + APEX_HOUR;
    assert_int_equal(store_position_update(s, &p, NULL), 0);
    memset(&got, 0, sizeof got);
    assert_int_equal(store_positions_open(s, first_position, &got), 0);
    assert_int_equal(got.id, 0); /* nothing open any more */
    assert_int_equal(store_position_get_by_execution(s, e.id, &got), 0);
    assert_false(got.open);
    assert_int_equal(got.closed_at, T0 + APEX_HOUR);
    assert_int_equal(store_position_get_by_execution(s, 4242, &got), APEX_ENOTFOUND);
    store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_intent_survives_a_crash),
        cmocka_unit_test(test_order_insert_refused_inside_batch),
        cmocka_unit_test(test_fast_store_allows_intents_in_a_batch),
        cmocka_unit_test(test_order_duplicate_update_and_open_list),
        cmocka_unit_test(test_order_reads_match_the_database),
        cmocka_unit_test(test_fill_replay_is_refused_and_batch_survives),
        cmocka_unit_test(test_position_monitoring_columns_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
