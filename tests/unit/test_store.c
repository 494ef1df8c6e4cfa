/* Tests for core/store: schema migrations, round-trips of every table, order-intent
 * durability, dedupe, the ledger check and the status report. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ledger/ledger.h"
#include "store/store.h"
#include "util/err.h"

#define T0       ((apex_time)1709303400000000LL) /* 2024-03-01 14:30:00 UTC */
#define CENTS(c) ((money_t)(c) * (MONEY_SCALE / 100))

typedef struct {
    char dir[64];
    char path[128];
} tmpdb;

static void tmpdb_make(tmpdb *t)
{
    snprintf(t->dir, sizeof t->dir, "/tmp/apex-store-XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    snprintf(t->path, sizeof t->path, "%s/test.db", t->dir);
}

static void tmpdb_remove(tmpdb *t)
{
    char p[160];
    const char *suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s%s", t->path, suffixes[i]);
        unlink(p);
    }
    rmdir(t->dir);
}

static store *open_ok(const char *path)
{
    char err[512] = "";
    store *s = store_open(path, STORE_DURABLE, err, sizeof err);
    if (!s)
        fail_msg("store_open(%s): %s", path, err);
    return s;
}

/* Runs one SQL statement on the file directly, as a person with the sqlite3 shell would. */
static void raw_exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
    sqlite3_close(db);
}

static int64_t raw_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static store_execution sample_execution(const char *pipeline, const char *symbol)
{
    store_execution e;
    memset(&e, 0, sizeof e);
    snprintf(e.pipeline, sizeof e.pipeline, "%s", pipeline);
    snprintf(e.symbol, sizeof e.symbol, "%s", symbol);
    e.status = EXEC_RUNNING;
    snprintf(e.phase, sizeof e.phase, "execute");
    e.created_at = T0;
    e.updated_at = T0;
    e.monitor_interval_s = 30;
    e.side = -1;
    return e;
}

static store_order sample_order(int64_t execution_id, const char *coid)
{
    store_order o;
    memset(&o, 0, sizeof o);
    o.execution_id = execution_id;
    snprintf(o.o.client_order_id, sizeof o.o.client_order_id, "%s", coid);
    snprintf(o.o.symbol, sizeof o.o.symbol, "AAPL");
    o.o.side = SIDE_BUY;
    o.o.type = ORDER_LIMIT;
    o.o.role = ORDER_ROLE_ENTRY;
    o.o.status = ORDER_STATUS_NEW;
    o.o.qty = MONEY(100);
    o.o.limit_price = CENTS(18725);
    o.o.created_at = T0;
    o.take_profit = CENTS(19500);
    o.stop_loss = CENTS(18000);
    return o;
}

static store_fill sample_fill(int64_t execution_id, const char *fill_id, order_side side,
                              money_t qty, money_t price, money_t fee, apex_time ts)
{
    store_fill f;
    memset(&f, 0, sizeof f);
    f.execution_id = execution_id;
    snprintf(f.f.fill_id, sizeof f.f.fill_id, "%s", fill_id);
    snprintf(f.f.client_order_id, sizeof f.f.client_order_id, "ord-%s", fill_id);
    snprintf(f.f.symbol, sizeof f.f.symbol, "AAPL");
    f.f.side = side;
    f.f.qty = qty;
    f.f.price = price;
    f.f.fee = fee;
    f.f.ts = ts;
    return f;
}

/* Field by field: struct padding makes a memcmp of two copies meaningless. */
static void assert_execution_equal(const store_execution *a, const store_execution *b)
{
    assert_int_equal(a->id, b->id);
    assert_string_equal(a->pipeline, b->pipeline);
    assert_string_equal(a->symbol, b->symbol);
    assert_int_equal(a->status, b->status);
    assert_string_equal(a->phase, b->phase);
    assert_int_equal(a->created_at, b->created_at);
    assert_int_equal(a->updated_at, b->updated_at);
    assert_int_equal(a->completed_at, b->completed_at);
    assert_int_equal(a->next_check_at, b->next_check_at);
    assert_int_equal(a->monitor_interval_s, b->monitor_interval_s);
    assert_string_equal(a->bias, b->bias);
    assert_int_equal(a->side, b->side);
    assert_int_equal(a->qty, b->qty);
    assert_int_equal(a->entry_price, b->entry_price);
    assert_int_equal(a->stop_loss, b->stop_loss);
    assert_int_equal(a->take_profit, b->take_profit);
    assert_int_equal(a->realized_pnl, b->realized_pnl);
    assert_int_equal(a->fees, b->fees);
    assert_string_equal(a->reason, b->reason);
    assert_int_equal(a->order_seq, b->order_seq);
    assert_int_equal(a->retry_count, b->retry_count);
}

static void assert_position_equal(const store_position *a, const store_position *b)
{
    assert_int_equal(a->id, b->id);
    assert_int_equal(a->execution_id, b->execution_id);
    assert_string_equal(a->symbol, b->symbol);
    assert_int_equal(a->side, b->side);
    assert_int_equal(a->qty, b->qty);
    assert_int_equal(a->initial_qty, b->initial_qty);
    assert_int_equal(a->entry_price, b->entry_price);
    assert_int_equal(a->stop_loss, b->stop_loss);
    assert_int_equal(a->take_profit, b->take_profit);
    assert_int_equal(a->open, b->open);
    assert_int_equal(a->opened_at, b->opened_at);
    assert_int_equal(a->closed_at, b->closed_at);
    assert_int_equal(a->realized_pnl, b->realized_pnl);
    assert_int_equal(a->current_price, b->current_price);
    assert_int_equal(a->unrealized_pnl, b->unrealized_pnl);
    assert_int_equal(a->unrealized_pnl_pct, b->unrealized_pnl_pct);
    assert_int_equal(a->last_update, b->last_update);
    assert_int_equal(a->trailing_stop_active, b->trailing_stop_active);
    assert_int_equal(a->peak_price, b->peak_price);
    assert_int_equal(a->trailing_stop_price, b->trailing_stop_price);
    assert_string_equal(a->exit_reason, b->exit_reason);
    assert_string_equal(a->exit_priority, b->exit_priority);
    assert_int_equal(a->partial_stages_done, b->partial_stages_done);
}

/* ---- schema ---------------------------------------------------------------------- */

static void test_migrations_set_version_and_reopen_is_idempotent(void **state)
{
    tmpdb t;
    tmpdb_make(&t);
    store *s = open_ok(t.path);
    assert_int_equal(store_schema_version(s), 2);
    char id[9];
    snprintf(id, sizeof id, "%s", store_instance_id(s));
    assert_int_equal(strlen(id), 8);
    assert_int_equal(strspn(id, "0123456789abcdef"), 8);
    store_execution e = sample_execution("demo", "AAPL");
    assert_int_equal(store_execution_insert(s, &e), 0);
    store_close(s);

    assert_int_equal(raw_int(t.path, "PRAGMA user_version"), 2);
    s = open_ok(t.path);
    assert_int_equal(store_schema_version(s), 2);
    assert_string_equal(store_instance_id(s), id); /* kept, not regenerated */
    assert_int_equal(store_execution_count(s, NULL, -1), 1);
    store_close(s);
    /* WAL mode is persistent in the file. */
    assert_int_equal(raw_int(t.path, "SELECT count(*) FROM pragma_journal_mode "
                                     "WHERE journal_mode = 'wal'"),
                     1);
    assert_int_equal(raw_int(t.path, "SELECT count(*) FROM sqlite_master WHERE name IN "
                                     "('position_exits', 'exit_attempts', 'cursors', 'meta')"),
                     4);
    tmpdb_remove(&t);
}

static void test_newer_schema_is_refused_with_both_versions(void **state)
{
    tmpdb t;
    tmpdb_make(&t);
    raw_exec(t.path, "PRAGMA user_version = 7");
    char err[512] = "";
    store *s = store_open(t.path, STORE_DURABLE, err, sizeof err);
    assert_null(s);
    assert_non_null(strstr(err, t.path));
    assert_non_null(strstr(err, "7"));
    assert_non_null(strstr(err, "(2)"));
    assert_non_null(strstr(err, "upgrade apex-host"));
    /* The file was left alone. */
    assert_int_equal(raw_int(t.path, "PRAGMA user_version"), 7);
    tmpdb_remove(&t);
}

static void test_garbage_file_and_bad_path_are_refused(void **state)
{
    tmpdb t;
    tmpdb_make(&t);
    FILE *f = fopen(t.path, "wb");
    assert_non_null(f);
    for (int i = 0; i < 256; i++)
        fputs("this is a price list, not a database\n", f);
    fclose(f);
    char err[512] = "";
    assert_null(store_open(t.path, STORE_DURABLE, err, sizeof err));
    assert_non_null(strstr(err, t.path));
    assert_non_null(strstr(err, "not a usable apex-host database"));

    err[0] = 0;
    assert_null(store_open("/nonexistent-dir/x/apex.db", STORE_FAST, err, sizeof err));
    assert_non_null(strstr(err, "/nonexistent-dir/x/apex.db"));
    tmpdb_remove(&t);
}

static void test_exec_status_names_round_trip(void **state)
{
    for (int i = EXEC_PENDING; i <= EXEC_SKIPPED; i++)
        assert_int_equal(exec_status_parse(exec_status_name((exec_status)i)), i);
    assert_string_equal(exec_status_name(EXEC_MONITORING), "monitoring");
    assert_int_equal(exec_status_parse("bogus"), -1);
    assert_int_equal(exec_status_parse(NULL), -1);
    assert_true(exec_status_is_final(EXEC_COMPLETED));
    assert_true(exec_status_is_final(EXEC_SKIPPED));
    assert_false(exec_status_is_final(EXEC_MONITORING));
    assert_false(exec_status_is_final(EXEC_PAUSED));
}

/* ---- executions ------------------------------------------------------------------ */

static int collect_ids(void *ud, const store_execution *e)
{
    int64_t *ids = ud;
    for (int i = 0; i < 16; i++)
        if (!ids[i]) {
            ids[i] = e->id;
            break;
        }
    return 0;
}

static void test_execution_round_trips_every_field(void **state)
{
    store *s = open_ok(":memory:");
    store_execution e = sample_execution("momentum", "AAPL");
    e.status = EXEC_MONITORING;
    snprintf(e.phase, sizeof e.phase, "monitoring");
    e.completed_at = T0 + 3 * APEX_HOUR;
    e.next_check_at = T0 + 30 * APEX_SECOND;
    e.monitor_interval_s = 5;
    snprintf(e.bias, sizeof e.bias, "long");
    e.side = SIDE_BUY;
    e.qty = MONEY(100);
    e.entry_price = CENTS(18725);
    e.stop_loss = CENTS(18000);
    e.take_profit = CENTS(19500);
    e.realized_pnl = -CENTS(1234);
    e.fees = CENTS(35);
    snprintf(e.reason, sizeof e.reason, "entered on breakout");
    e.order_seq = 3;
    e.retry_count = 2;
    assert_int_equal(store_execution_insert(s, &e), 0);
    assert_true(e.id > 0);

    store_execution got;
    assert_int_equal(store_execution_get(s, e.id, &got), 0);
    assert_execution_equal(&got, &e);

    /* Update changes every mutable field and clears optional ones back to NULL. */
    e.status = EXEC_COMPLETED;
    snprintf(e.phase, sizeof e.phase, "monitoring");
    e.next_check_at = 0;
    e.realized_pnl = CENTS(4800);
    e.side = SIDE_SELL;
    e.bias[0] = 0;
    snprintf(e.reason, sizeof e.reason, "take profit filled at 195.00");
    e.order_seq = 4;
    e.retry_count = 0;
    assert_int_equal(store_execution_update(s, &e), 0);
    assert_int_equal(store_execution_get(s, e.id, &got), 0);
    assert_execution_equal(&got, &e);

    assert_int_equal(store_execution_get(s, 999, &got), APEX_ENOTFOUND);
    assert_non_null(strstr(store_errmsg(s), "999"));
    store_execution missing = e;
    missing.id = 999;
    assert_int_equal(store_execution_update(s, &missing), APEX_ENOTFOUND);
    store_close(s);
}

static void test_active_recent_and_count(void **state)
{
    store *s = open_ok(":memory:");
    exec_status statuses[] = {EXEC_PENDING, EXEC_COMPLETED, EXEC_MONITORING,
                              EXEC_SKIPPED, EXEC_PAUSED,    EXEC_RUNNING};
    const char *pipes[] = {"a", "a", "a", "b", "b", "b"};
    int64_t ids[6];
    for (int i = 0; i < 6; i++) {
        store_execution e = sample_execution(pipes[i], i % 2 ? "MSFT" : "AAPL");
        e.status = statuses[i];
        assert_int_equal(store_execution_insert(s, &e), 0);
        ids[i] = e.id;
    }
    int64_t got[16] = {0};
    assert_int_equal(store_executions_active(s, NULL, collect_ids, got), 0);
    /* pending, monitoring, paused, running; oldest first */
    assert_int_equal(got[0], ids[0]);
    assert_int_equal(got[1], ids[2]);
    assert_int_equal(got[2], ids[4]);
    assert_int_equal(got[3], ids[5]);
    assert_int_equal(got[4], 0);

    memset(got, 0, sizeof got);
    assert_int_equal(store_executions_active(s, "b", collect_ids, got), 0);
    assert_int_equal(got[0], ids[4]);
    assert_int_equal(got[1], ids[5]);
    assert_int_equal(got[2], 0);

    memset(got, 0, sizeof got);
    assert_int_equal(store_executions_recent(s, 3, collect_ids, got), 0);
    assert_int_equal(got[0], ids[5]);
    assert_int_equal(got[1], ids[4]);
    assert_int_equal(got[2], ids[3]);
    assert_int_equal(got[3], 0);

    assert_int_equal(store_execution_count(s, NULL, -1), 6);
    assert_int_equal(store_execution_count(s, "a", -1), 3);
    assert_int_equal(store_execution_count(s, "a", EXEC_COMPLETED), 1);
    assert_int_equal(store_execution_count(s, NULL, EXEC_FAILED), 0);
    store_close(s);
}

/* A callback may write to the store while an iteration is running. */
static int complete_each(void *ud, const store_execution *e)
{
    store *s = ud;
    store_execution copy = *e;
    copy.status = EXEC_COMPLETED;
    return store_execution_update(s, &copy) != 0;
}

static void test_iteration_callbacks_may_write(void **state)
{
    store *s = open_ok(":memory:");
    for (int i = 0; i < 3; i++) {
        store_execution e = sample_execution("p", "AAPL");
        assert_int_equal(store_execution_insert(s, &e), 0);
    }
    assert_int_equal(store_executions_active(s, NULL, complete_each, s), 0);
    assert_int_equal(store_execution_count(s, NULL, EXEC_COMPLETED), 3);
    assert_int_equal(store_execution_count(s, NULL, EXEC_RUNNING), 0);
    store_close(s);
}

/* ---- orders ---------------------------------------------------------------------- */

static void test_order_intent_survives_a_crash(void **state)
{
    tmpdb t;
    tmpdb_make(&t);
    store *s = open_ok(t.path);
    store_execution e = sample_execution("demo", "AAPL");
    assert_int_equal(store_execution_insert(s, &e), 0);
    store_close(s);

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* The child records an intent and dies at once: no close, no checkpoint. */
        char err[256];
        store *c = store_open(t.path, STORE_DURABLE, err, sizeof err);
        store_order o = sample_order(e.id, "abcd1234-1-1");
        int rc = c ? store_order_insert(c, &o) : -100;
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
    store_execution e = sample_execution("demo", "AAPL");
    assert_int_equal(store_execution_insert(s, &e), 0);
    assert_int_equal(store_begin(s), 0);
    assert_true(store_in_batch(s));
    store_order o = sample_order(e.id, "x-1-1");
    assert_int_equal(store_order_insert(s, &o), APEX_ESTATE);
    assert_non_null(strstr(store_errmsg(s), "x-1-1"));
    assert_int_equal(store_begin(s), APEX_ESTATE); /* no nesting */
    assert_int_equal(store_commit(s), 0);
    assert_false(store_in_batch(s));
    store_order got;
    assert_int_equal(store_order_get(s, "x-1-1", &got), APEX_ENOTFOUND);
    assert_int_equal(store_order_insert(s, &o), 0);
    assert_int_equal(store_order_get(s, "x-1-1", &got), 0);
    assert_int_equal(store_commit(s), APEX_ESTATE);
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
    assert_int_equal(store_begin(s), 0);
    assert_int_equal(store_execution_insert(s, &e), 0);
    store_order o = sample_order(e.id, "bt-1-1");
    assert_int_equal(store_order_insert(s, &o), 0);
    assert_int_equal(store_order_insert(s, &o), APEX_EDUP);
    assert_int_equal(store_commit(s), 0);
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
    store_execution e = sample_execution("demo", "AAPL");
    assert_int_equal(store_execution_insert(s, &e), 0);
    store_order entry = sample_order(e.id, "ab12cd34-1-1");
    assert_int_equal(store_order_insert(s, &entry), 0);
    store_order again = sample_order(e.id, "ab12cd34-1-1");
    assert_int_equal(store_order_insert(s, &again), APEX_EDUP);
    assert_non_null(strstr(store_errmsg(s), "ab12cd34-1-1"));

    store_order tp = sample_order(e.id, "ab12cd34-1-1-tp");
    tp.o.role = ORDER_ROLE_TAKE_PROFIT;
    tp.o.side = SIDE_SELL;
    tp.o.status = ORDER_STATUS_HELD;
    snprintf(tp.o.parent_client_order_id, sizeof tp.o.parent_client_order_id, "ab12cd34-1-1");
    assert_int_equal(store_order_insert(s, &tp), 0);

    /* The broker fills the entry. */
    entry.o.status = ORDER_STATUS_FILLED;
    entry.o.filled_qty = MONEY(100);
    entry.o.avg_fill_price = CENTS(18720);
    entry.submitted_at = T0 + APEX_SECOND;
    entry.o.updated_at = T0 + 2 * APEX_SECOND;
    snprintf(entry.o.broker_order_id, sizeof entry.o.broker_order_id, "brk-77");
    assert_int_equal(store_order_update(s, &entry), 0);
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
    assert_int_equal(store_order_update(s, &ghost), APEX_ENOTFOUND);
    store_close(s);
}

/* ---- fills ----------------------------------------------------------------------- */

static int sum_fills(void *ud, const store_fill *f)
{
    money_t *sum = ud;
    *sum += f->f.side == SIDE_BUY ? f->f.qty : -f->f.qty;
    return 0;
}

static void test_fill_replay_is_refused_and_batch_survives(void **state)
{
    store *s = open_ok(":memory:");
    store_execution e = sample_execution("demo", "AAPL");
    assert_int_equal(store_execution_insert(s, &e), 0);
    assert_int_equal(store_begin(s), 0);
    store_fill f1 = sample_fill(e.id, "F1", SIDE_BUY, MONEY(60), CENTS(1000), CENTS(30), T0);
    assert_int_equal(store_fill_insert(s, &f1), 0);
    store_fill replay = sample_fill(e.id, "F1", SIDE_BUY, MONEY(999), CENTS(1), 0, T0 + 1);
    assert_int_equal(store_fill_insert(s, &replay), APEX_EDUP);
    assert_non_null(strstr(store_errmsg(s), "F1"));
    store_fill f2 = sample_fill(e.id, "F2", SIDE_BUY, MONEY(40), CENTS(1001), CENTS(20), T0 + 5);
    assert_int_equal(store_fill_insert(s, &f2), 0);
    assert_int_equal(store_commit(s), 0);

    money_t sum = 0;
    assert_int_equal(store_fills_for_execution(s, e.id, sum_fills, &sum), 0);
    assert_int_equal(sum, MONEY(100)); /* 60 + 40, the replay counted nothing */

    store_fill bad = sample_fill(e.id, "F3", SIDE_BUY, 0, CENTS(1000), 0, T0);
    assert_int_equal(store_fill_insert(s, &bad), APEX_EINVAL);
    store_close(s);
}

/* ---- positions ------------------------------------------------------------------- */

static int first_position(void *ud, const store_position *p)
{
    *(store_position *)ud = *p;
    return 1;
}

static void test_position_monitoring_columns_round_trip(void **state)
{
    store *s = open_ok(":memory:");
    store_execution e = sample_execution("demo", "TSLA");
    assert_int_equal(store_execution_insert(s, &e), 0);
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
    assert_int_equal(store_position_insert(s, &p), 0);
    assert_true(p.id > 0);

    store_position got;
    assert_int_equal(store_position_get_by_execution(s, e.id, &got), 0);
    assert_position_equal(&got, &p);

    p.partial_stages_done = 3;
    p.trailing_stop_price = CENTS(19900);
    p.qty = MONEY(25);
    assert_int_equal(store_position_update(s, &p), 0);
    memset(&got, 0, sizeof got);
    assert_int_equal(store_positions_open(s, first_position, &got), 0);
    assert_position_equal(&got, &p);

    p.open = false;
    p.qty = 0;
    p.closed_at = T0 + APEX_HOUR;
    assert_int_equal(store_position_update(s, &p), 0);
    memset(&got, 0, sizeof got);
    assert_int_equal(store_positions_open(s, first_position, &got), 0);
    assert_int_equal(got.id, 0); /* nothing open any more */
    assert_int_equal(store_position_get_by_execution(s, e.id, &got), 0);
    assert_false(got.open);
    assert_int_equal(got.closed_at, T0 + APEX_HOUR);
    assert_int_equal(store_position_get_by_execution(s, 4242, &got), APEX_ENOTFOUND);
    store_close(s);
}

/* ---- cursors, events, equity ----------------------------------------------------- */

static void test_cursors_resume_after_reopen(void **state)
{
    tmpdb t;
    tmpdb_make(&t);
    store *s = open_ok(t.path);
    apex_time ts = 123;
    assert_int_equal(store_cursor_get(s, "momentum", &ts), 0);
    assert_int_equal(ts, 0);
    assert_int_equal(store_cursor_set(s, "momentum", T0), 0);
    assert_int_equal(store_cursor_set(s, "momentum", T0 + APEX_MINUTE), 0);
    assert_int_equal(store_cursor_set(s, "meanrev", T0 - APEX_DAY), 0);
    store_close(s);
    s = open_ok(t.path);
    assert_int_equal(store_cursor_get(s, "momentum", &ts), 0);
    assert_int_equal(ts, T0 + APEX_MINUTE);
    assert_int_equal(store_cursor_get(s, "meanrev", &ts), 0);
    assert_int_equal(ts, T0 - APEX_DAY);
    assert_int_equal(store_cursor_set(s, "", T0), APEX_EINVAL);
    store_close(s);
    tmpdb_remove(&t);
}

typedef struct {
    store_event_row rows[8];
    int n;
} event_list;

static int collect_event(void *ud, const store_event_row *ev)
{
    event_list *l = ud;
    if (l->n < 8)
        l->rows[l->n++] = *ev;
    return 0;
}

static void test_events_and_equity(void **state)
{
    store *s = open_ok(":memory:");
    assert_int_equal(store_event(s, T0, "demo", 0, "reload", "reloaded %s", "demo.lua"), 0);
    assert_int_equal(
        store_event(s, T0 + 1, "demo", 7, "fill", "bought %d AAPL at %s", 100, "187.25"), 0);
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    assert_int_equal(store_event(s, T0 + 2, NULL, 0, "error", "%s", big), 0);

    event_list l = {.n = 0};
    assert_int_equal(store_events_recent(s, NULL, 2, collect_event, &l), 0);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.rows[0].kind, "error"); /* newest first */
    assert_int_equal(strlen(l.rows[0].message), sizeof l.rows[0].message - 1);
    assert_string_equal(l.rows[1].kind, "fill");
    assert_string_equal(l.rows[1].message, "bought 100 AAPL at 187.25");
    assert_int_equal(l.rows[1].execution_id, 7);
    assert_int_equal(l.rows[1].ts, T0 + 1);
    l.n = 0;
    assert_int_equal(store_events_recent(s, "demo", 10, collect_event, &l), 0);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.rows[1].message, "reloaded demo.lua");
    assert_int_equal(l.rows[1].execution_id, 0);

    apex_time ts = 0;
    money_t cash = 0, equity = 0;
    assert_int_equal(store_equity_latest(s, "demo", &ts, &cash, &equity), APEX_ENOTFOUND);
    assert_int_equal(store_equity_insert(s, T0, "demo", MONEY(100000), MONEY(100000)), 0);
    assert_int_equal(store_equity_insert(s, T0 + APEX_MINUTE, "demo", MONEY(81275), MONEY(100012)),
                     0);
    assert_int_equal(store_equity_latest(s, "demo", &ts, &cash, &equity), 0);
    assert_int_equal(ts, T0 + APEX_MINUTE);
    assert_int_equal(cash, MONEY(81275));
    assert_int_equal(equity, MONEY(100012));
    store_close(s);
}

static void test_fast_mode_batch_groups_writes(void **state)
{
    tmpdb t;
    tmpdb_make(&t);
    char err[512] = "";
    store *s = store_open(t.path, STORE_FAST, err, sizeof err);
    assert_non_null(s);
    store_execution e = sample_execution("backtest", "SPY");
    assert_int_equal(store_execution_insert(s, &e), 0);
    assert_int_equal(store_begin(s), 0);
    for (int i = 0; i < 500; i++) {
        char id[32];
        snprintf(id, sizeof id, "bt-%d", i);
        store_fill f =
            sample_fill(e.id, id, i % 2 ? SIDE_SELL : SIDE_BUY, MONEY(1), MONEY(500), 0, T0 + i);
        assert_int_equal(store_fill_insert(s, &f), 0);
    }
    assert_int_equal(store_cursor_set(s, "backtest", T0 + 499), 0);
    assert_int_equal(store_commit(s), 0);
    /* A rolled-back batch leaves nothing behind. */
    assert_int_equal(store_begin(s), 0);
    assert_int_equal(store_cursor_set(s, "backtest", T0 + 10000), 0);
    assert_int_equal(store_rollback(s), 0);
    store_close(s);

    assert_int_equal(raw_int(t.path, "SELECT count(*) FROM fills"), 500);
    s = open_ok(t.path);
    apex_time ts = 0;
    assert_int_equal(store_cursor_get(s, "backtest", &ts), 0);
    assert_int_equal(ts, T0 + 499);
    store_close(s);
    tmpdb_remove(&t);
}

static void test_unknown_status_in_database_is_reported(void **state)
{
    tmpdb t;
    tmpdb_make(&t);
    store *s = open_ok(t.path);
    store_execution e = sample_execution("demo", "AAPL");
    assert_int_equal(store_execution_insert(s, &e), 0);
    store_close(s);
    raw_exec(t.path, "UPDATE executions SET status = 'exploded'");
    s = open_ok(t.path);
    store_execution got;
    assert_int_equal(store_execution_get(s, e.id, &got), APEX_EIO);
    assert_non_null(strstr(store_errmsg(s), "exploded"));
    assert_non_null(strstr(store_errmsg(s), t.path));
    store_close(s);
    tmpdb_remove(&t);
}

/* ---- ledger ---------------------------------------------------------------------- */

static void test_ledger_average_cost_long_short_and_flip(void **state)
{
    ledger l;
    memset(&l, 0, sizeof l);
    /* Long: buy 100 @ 10, buy 50 @ 11, sell 120 @ 12; fees 1.00, 0.50, 1.20. */
    assert_int_equal(ledger_apply(&l, SIDE_BUY, MONEY(100), MONEY(10), CENTS(100)), 0);
    assert_int_equal(ledger_apply(&l, SIDE_BUY, MONEY(50), MONEY(11), CENTS(50)), 0);
    assert_int_equal(ledger_avg_price(&l), 1033333333); /* 1550 / 150 */
    assert_int_equal(ledger_apply(&l, SIDE_SELL, MONEY(120), MONEY(12), CENTS(120)), 0);
    /* closed cost 1550 * 120/150 = 1240, proceeds 1440, gain 200, minus 2.70 fees */
    assert_int_equal(l.realized, CENTS(19730));
    assert_int_equal(l.qty, MONEY(30));
    assert_int_equal(l.cost_basis, MONEY(310));
    assert_int_equal(l.fees, CENTS(270));

    /* Sell 50 more: closes the 30 long (gain 30 * (20 - 10.333..) = 50) and opens 20 short. */
    assert_int_equal(ledger_apply(&l, SIDE_SELL, MONEY(50), MONEY(20), 0), 0);
    assert_int_equal(l.realized, CENTS(19730) + MONEY(600) - MONEY(310));
    assert_int_equal(l.qty, -MONEY(20));
    assert_int_equal(ledger_avg_price(&l), MONEY(20));
    /* Buy back the short lower: a short's gain. */
    assert_int_equal(ledger_apply(&l, SIDE_BUY, MONEY(20), MONEY(15), 0), 0);
    assert_int_equal(l.qty, 0);
    assert_int_equal(l.cost_basis, 0);
    assert_int_equal(l.realized, CENTS(19730) + MONEY(290) + MONEY(100));

    assert_int_equal(ledger_apply(&l, SIDE_BUY, 0, MONEY(1), 0), APEX_EINVAL);
    assert_int_equal(ledger_apply(&l, SIDE_BUY, MONEY(1), MONEY(1), -1), APEX_EINVAL);
}

/* Builds one execution with a consistent ledger: long 150, sold 120, 30 still open. */
static int64_t build_consistent_book(store *s)
{
    store_execution e = sample_execution("demo", "AAPL");
    e.status = EXEC_MONITORING;
    snprintf(e.phase, sizeof e.phase, "monitoring");
    e.side = SIDE_BUY;
    e.qty = MONEY(150);
    e.entry_price = 1033333333;
    e.realized_pnl = CENTS(19730);
    e.fees = CENTS(270);
    e.next_check_at = T0 + 30 * APEX_SECOND;
    assert_int_equal(store_execution_insert(s, &e), 0);
    store_fill fills[] = {
        sample_fill(e.id, "F1", SIDE_BUY, MONEY(100), MONEY(10), CENTS(100), T0),
        sample_fill(e.id, "F2", SIDE_BUY, MONEY(50), MONEY(11), CENTS(50), T0 + 1),
        sample_fill(e.id, "F3", SIDE_SELL, MONEY(120), MONEY(12), CENTS(120), T0 + 2),
    };
    for (int i = 0; i < 3; i++)
        assert_int_equal(store_fill_insert(s, &fills[i]), 0);
    store_position p;
    memset(&p, 0, sizeof p);
    p.execution_id = e.id;
    snprintf(p.symbol, sizeof p.symbol, "AAPL");
    p.side = SIDE_BUY;
    p.qty = MONEY(30);
    p.initial_qty = MONEY(150);
    p.entry_price = 1033333333;
    p.stop_loss = MONEY(9);
    p.take_profit = MONEY(14);
    p.open = true;
    p.opened_at = T0;
    p.realized_pnl = CENTS(19730);
    p.current_price = CENTS(1250);
    p.unrealized_pnl = CENTS(6500);
    p.unrealized_pnl_pct = 20967742; /* 20.97% */
    p.last_update = T0 + 3 * APEX_SECOND;
    p.peak_price = CENTS(1260);
    p.trailing_stop_price = CENTS(1197);
    p.trailing_stop_active = true;
    assert_int_equal(store_position_insert(s, &p), 0);

    /* A closed, flat execution with a short round trip is consistent too. */
    store_execution flat = sample_execution("demo", "MSFT");
    flat.status = EXEC_COMPLETED;
    flat.realized_pnl = MONEY(100) - CENTS(40);
    assert_int_equal(store_execution_insert(s, &flat), 0);
    store_fill sf[] = {
        sample_fill(flat.id, "S1", SIDE_SELL, MONEY(10), MONEY(400), CENTS(20), T0),
        sample_fill(flat.id, "S2", SIDE_BUY, MONEY(10), MONEY(390), CENTS(20), T0 + 1),
    };
    for (int i = 0; i < 2; i++) {
        snprintf(sf[i].f.symbol, sizeof sf[i].f.symbol, "MSFT");
        assert_int_equal(store_fill_insert(s, &sf[i]), 0);
    }
    return e.id;
}

static char *report_of(store *s, int *mismatches)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    *mismatches = store_ledger_check(s, f);
    fclose(f);
    return buf;
}

static void test_ledger_check_passes_consistent_book(void **state)
{
    store *s = open_ok(":memory:");
    build_consistent_book(s);
    int n = -1;
    char *report = report_of(s, &n);
    assert_int_equal(n, 0);
    assert_string_equal(report, "");
    free(report);
    store_close(s);
}

static void test_ledger_check_detects_tampering(void **state)
{
    tmpdb t;
    tmpdb_make(&t);
    store *s = open_ok(t.path);
    int64_t id = build_consistent_book(s);
    store_close(s);

    /* Someone edits a fill quantity: the fills no longer sum to the open 30 shares. */
    raw_exec(t.path, "UPDATE fills SET qty = 11000000000 WHERE fill_id = 'F3'");
    s = open_ok(t.path);
    int n = 0;
    char *report = report_of(s, &n);
    assert_true(n >= 1);
    char want[128];
    snprintf(want, sizeof want, "execution %lld (AAPL): quantity", (long long)id);
    assert_non_null(strstr(report, want));
    /* fills now leave 150 - 110 = 40; the position still holds 30 */
    assert_non_null(strstr(report, "fills sum to 40 but the open position holds 30\n"));
    free(report);
    store_close(s);

    /* Restore the fill, then bump the stored P&L by one smallest unit. */
    raw_exec(t.path, "UPDATE fills SET qty = 12000000000 WHERE fill_id = 'F3'");
    raw_exec(t.path, "UPDATE executions SET realized_pnl = realized_pnl + 1 WHERE symbol = 'AAPL'");
    s = open_ok(t.path);
    report = report_of(s, &n);
    assert_int_equal(n, 1);
    assert_non_null(strstr(report, "executions.realized_pnl is 197.30000001"));
    assert_non_null(strstr(report, "fills give 197.30 "));
    free(report);
    store_close(s);
    tmpdb_remove(&t);
}

/* ---- status ---------------------------------------------------------------------- */

static char *status_of(store *s, int nevents)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(store_print_status(s, f, nevents), 0);
    fclose(f);
    return buf;
}

static void test_status_on_empty_store_says_none(void **state)
{
    store *s = open_ok(":memory:");
    char *out = status_of(s, 10);
    assert_non_null(strstr(out, ":memory:"));
    assert_non_null(strstr(out, "EXECUTIONS\n  none"));
    assert_non_null(strstr(out, "OPEN POSITIONS\n  none"));
    assert_non_null(strstr(out, "EXITS (latest 20)\n  none"));
    assert_non_null(strstr(out, "OPEN ORDERS\n  none"));
    assert_non_null(strstr(out, "RECENT EVENTS (latest 10)\n  none"));
    free(out);
    store_close(s);
}

static const char *line_with(const char *text, const char *needle, char *line, size_t len)
{
    const char *p = strstr(text, needle);
    if (!p)
        return NULL;
    const char *start = p;
    while (start > text && start[-1] != '\n')
        start--;
    const char *end = strchr(p, '\n');
    size_t n = end ? (size_t)(end - start) : strlen(start);
    if (n >= len)
        n = len - 1;
    memcpy(line, start, n);
    line[n] = 0;
    return line;
}

static void test_status_shows_executions_positions_orders_events(void **state)
{
    store *s = open_ok(":memory:");
    int64_t id = build_consistent_book(s);
    store_order tp = sample_order(id, "feedbeef-1-1-tp");
    tp.o.role = ORDER_ROLE_TAKE_PROFIT;
    tp.o.side = SIDE_SELL;
    tp.o.qty = MONEY(30);
    tp.o.limit_price = MONEY(14);
    tp.o.status = ORDER_STATUS_ACCEPTED;
    tp.submitted_at = T0 + 2 * APEX_SECOND;
    assert_int_equal(store_order_insert(s, &tp), 0);
    assert_int_equal(
        store_event(s, T0 + 3 * APEX_SECOND, "demo", id, "exit", "partial exit of %d shares", 120),
        0);

    char *out = status_of(s, 5);
    char line[512];
    /* The execution row: id, symbol, status, phase, realized P&L with sign, next check. */
    assert_non_null(line_with(out, "monitoring  buy", line, sizeof line));
    assert_non_null(strstr(line, "AAPL"));
    assert_non_null(strstr(line, "+197.30"));
    assert_non_null(strstr(line, "10.3333"));
    assert_non_null(strstr(line, "2024-03-01 14:30:30"));
    assert_non_null(line_with(out, "completed", line, sizeof line));
    assert_non_null(strstr(line, "MSFT"));
    assert_non_null(strstr(line, "+99.60"));

    const char *positions = strstr(out, "OPEN POSITIONS\n");
    assert_non_null(positions);
    assert_non_null(line_with(positions, "long", line, sizeof line));
    assert_non_null(strstr(line, "AAPL"));
    assert_non_null(strstr(line, "30 of 150"));
    assert_non_null(strstr(line, "12.50"));
    assert_non_null(strstr(line, "+65.00"));
    assert_non_null(strstr(line, "+20.97%"));
    assert_non_null(strstr(line, "11.97 armed"));
    assert_non_null(strstr(line, "30 s"));
    assert_non_null(strstr(line, "2024-03-01 14:30:30")); /* next check */
    assert_non_null(line_with(positions, "last update", line, sizeof line));
    assert_non_null(strstr(line, "2024-03-01 14:30:03"));
    assert_non_null(strstr(line, "partial exits done: none"));

    const char *orders = strstr(out, "OPEN ORDERS\n");
    assert_non_null(orders);
    assert_non_null(line_with(orders, "feedbeef-1-1-tp", line, sizeof line));
    assert_non_null(strstr(line, "take_profit"));
    assert_non_null(strstr(line, "accepted"));
    assert_non_null(strstr(line, "14.00"));

    const char *events = strstr(out, "RECENT EVENTS (latest 5)\n");
    assert_non_null(events);
    assert_non_null(line_with(events, "partial exit of 120 shares", line, sizeof line));
    assert_non_null(strstr(line, "2024-03-01 14:30:03"));
    assert_non_null(strstr(line, "exit"));
    free(out);
    store_close(s);
}

/* ---- exits (schema 2) -------------------------------------------------------------- */

/* Migration 1 exactly as it shipped: databases in the field have it, so it must never
 * change. A file built from this text is a version-1 database. */
static const char v1_schema_sql[] =
    "CREATE TABLE meta (\n"
    "  key   TEXT PRIMARY KEY,\n"
    "  value TEXT NOT NULL\n"
    ");\n"
    "CREATE TABLE executions (\n"
    "  id                       INTEGER PRIMARY KEY AUTOINCREMENT,\n"
    "  pipeline                 TEXT NOT NULL,\n"
    "  symbol                   TEXT NOT NULL,\n"
    "  status                   TEXT NOT NULL,\n"
    "  execution_phase          TEXT NOT NULL DEFAULT 'execute',\n"
    "  created_at               INTEGER,\n"
    "  updated_at               INTEGER,\n"
    "  completed_at             INTEGER,\n"
    "  next_check_at            INTEGER,\n"
    "  monitor_interval_seconds INTEGER NOT NULL DEFAULT 30,\n"
    "  bias                     TEXT,\n"
    "  side                     TEXT,\n"
    "  qty                      INTEGER NOT NULL DEFAULT 0,\n"
    "  entry_price              INTEGER NOT NULL DEFAULT 0,\n"
    "  stop_loss                INTEGER NOT NULL DEFAULT 0,\n"
    "  take_profit              INTEGER NOT NULL DEFAULT 0,\n"
    "  realized_pnl             INTEGER NOT NULL DEFAULT 0,\n"
    "  fees                     INTEGER NOT NULL DEFAULT 0,\n"
    "  reason                   TEXT,\n"
    "  order_seq                INTEGER NOT NULL DEFAULT 0,\n"
    "  retry_count              INTEGER NOT NULL DEFAULT 0\n"
    ");\n"
    "CREATE INDEX executions_status ON executions(status, pipeline);\n"
    "CREATE INDEX executions_pipeline ON executions(pipeline, status);\n"
    "CREATE TABLE positions (\n"
    "  position_id          INTEGER PRIMARY KEY AUTOINCREMENT,\n"
    "  execution_id         INTEGER REFERENCES executions(id),\n"
    "  symbol               TEXT NOT NULL,\n"
    "  side                 TEXT NOT NULL,\n"
    "  quantity             INTEGER NOT NULL,\n"
    "  initial_quantity     INTEGER NOT NULL,\n"
    "  entry_price          INTEGER NOT NULL,\n"
    "  stop_loss            INTEGER NOT NULL DEFAULT 0,\n"
    "  take_profit          INTEGER NOT NULL DEFAULT 0,\n"
    "  status               TEXT NOT NULL CHECK (status IN ('open', 'closed')),\n"
    "  opened_at            INTEGER,\n"
    "  closed_at            INTEGER,\n"
    "  realized_pnl         INTEGER NOT NULL DEFAULT 0,\n"
    "  current_price        INTEGER NOT NULL DEFAULT 0,\n"
    "  unrealized_pnl       INTEGER NOT NULL DEFAULT 0,\n"
    "  unrealized_pnl_pct   INTEGER NOT NULL DEFAULT 0,\n"
    "  last_update          INTEGER,\n"
    "  trailing_stop_active INTEGER NOT NULL DEFAULT 0,\n"
    "  peak_price           INTEGER NOT NULL DEFAULT 0,\n"
    "  trailing_stop_price  INTEGER NOT NULL DEFAULT 0,\n"
    "  exit_reason          TEXT,\n"
    "  exit_priority        TEXT,\n"
    "  partial_stages_done  INTEGER NOT NULL DEFAULT 0\n"
    ");\n"
    "CREATE INDEX positions_execution ON positions(execution_id);\n"
    "CREATE INDEX positions_status ON positions(status);\n"
    "CREATE TABLE orders (\n"
    "  id                     INTEGER PRIMARY KEY AUTOINCREMENT,\n"
    "  execution_id           INTEGER REFERENCES executions(id),\n"
    "  client_order_id        TEXT NOT NULL UNIQUE,\n"
    "  broker_order_id        TEXT,\n"
    "  parent_client_order_id TEXT,\n"
    "  role                   TEXT NOT NULL,\n"
    "  symbol                 TEXT NOT NULL,\n"
    "  side                   TEXT NOT NULL,\n"
    "  type                   TEXT NOT NULL,\n"
    "  qty                    INTEGER NOT NULL,\n"
    "  limit_price            INTEGER NOT NULL DEFAULT 0,\n"
    "  stop_price             INTEGER NOT NULL DEFAULT 0,\n"
    "  take_profit            INTEGER NOT NULL DEFAULT 0,\n"
    "  stop_loss              INTEGER NOT NULL DEFAULT 0,\n"
    "  status                 TEXT NOT NULL,\n"
    "  filled_qty             INTEGER NOT NULL DEFAULT 0,\n"
    "  avg_fill_price         INTEGER NOT NULL DEFAULT 0,\n"
    "  created_at             INTEGER,\n"
    "  submitted_at           INTEGER,\n"
    "  updated_at             INTEGER,\n"
    "  reason                 TEXT,\n"
    "  error                  TEXT\n"
    ");\n"
    "CREATE INDEX orders_execution ON orders(execution_id);\n"
    "CREATE INDEX orders_status ON orders(status);\n"
    "CREATE TABLE fills (\n"
    "  id              INTEGER PRIMARY KEY,\n"
    "  execution_id    INTEGER REFERENCES executions(id),\n"
    "  order_client_id TEXT,\n"
    "  fill_id         TEXT NOT NULL,\n"
    "  symbol          TEXT NOT NULL,\n"
    "  side            TEXT NOT NULL,\n"
    "  qty             INTEGER NOT NULL,\n"
    "  price           INTEGER NOT NULL,\n"
    "  fee             INTEGER NOT NULL DEFAULT 0,\n"
    "  ts              INTEGER NOT NULL\n"
    ");\n"
    "CREATE INDEX fills_execution ON fills(execution_id, ts);\n"
    "CREATE UNIQUE INDEX fills_order ON fills(order_client_id, fill_id);\n"
    "CREATE TABLE events (\n"
    "  id           INTEGER PRIMARY KEY,\n"
    "  ts           INTEGER NOT NULL,\n"
    "  pipeline     TEXT,\n"
    "  execution_id INTEGER,\n"
    "  kind         TEXT NOT NULL,\n"
    "  message      TEXT NOT NULL\n"
    ");\n"
    "CREATE INDEX events_execution ON events(execution_id);\n"
    "CREATE TABLE equity (\n"
    "  id       INTEGER PRIMARY KEY,\n"
    "  ts       INTEGER NOT NULL,\n"
    "  pipeline TEXT,\n"
    "  cash     INTEGER NOT NULL,\n"
    "  equity   INTEGER NOT NULL\n"
    ");\n"
    "CREATE INDEX equity_pipeline_ts ON equity(pipeline, ts);\n"
    "CREATE TABLE cursors (\n"
    "  pipeline TEXT PRIMARY KEY,\n"
    "  last_ts  INTEGER NOT NULL\n"
    ");\n"
    "CREATE TABLE position_exits (\n"
    "  exit_id            INTEGER PRIMARY KEY AUTOINCREMENT,\n"
    "  position_id        INTEGER REFERENCES positions(position_id),\n"
    "  exit_reason        TEXT NOT NULL,\n"
    "  exit_priority      TEXT NOT NULL,\n"
    "  exit_quantity      INTEGER NOT NULL,\n"
    "  partial_exit       INTEGER NOT NULL DEFAULT 0,\n"
    "  exit_price         INTEGER NOT NULL,\n"
    "  execution_strategy TEXT,\n"
    "  unrealized_pnl     INTEGER,\n"
    "  unrealized_pnl_pct INTEGER,\n"
    "  triggered_at       INTEGER DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000000 "
    "AS INTEGER)),\n"
    "  executed_at        INTEGER\n"
    ");\n"
    "CREATE INDEX position_exits_position ON position_exits(position_id);\n"
    "CREATE TABLE exit_attempts (\n"
    "  attempt_id      INTEGER PRIMARY KEY AUTOINCREMENT,\n"
    "  position_id     INTEGER REFERENCES positions(position_id),\n"
    "  exit_id         INTEGER REFERENCES position_exits(exit_id),\n"
    "  attempt_number  INTEGER NOT NULL,\n"
    "  order_type      TEXT,\n"
    "  limit_price     INTEGER,\n"
    "  quantity        INTEGER NOT NULL,\n"
    "  status          TEXT,\n"
    "  filled_quantity INTEGER DEFAULT 0,\n"
    "  placed_at       INTEGER DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000000 "
    "AS INTEGER))\n"
    ");\n"
    "CREATE INDEX exit_attempts_exit ON exit_attempts(exit_id);\n";

/* All of the schema as SQLite stores it, one object per line, for comparing two files. */
static char *schema_text(const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT type, name, coalesce(sql, '') FROM sqlite_master "
                                        "WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name",
                                        -1, &st, NULL),
                     SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW)
        fprintf(f, "%s %s %s\n", sqlite3_column_text(st, 0), sqlite3_column_text(st, 1),
                sqlite3_column_text(st, 2));
    sqlite3_finalize(st);
    sqlite3_close(db);
    fclose(f);
    return buf;
}

typedef struct {
    store_position_exit items[8];
    int count;
} exit_list;

static int exit_list_add(void *ud, const store_position_exit *e)
{
    exit_list *l = ud;
    if (l->count < 8)
        l->items[l->count] = *e;
    l->count++;
    return 0;
}

typedef struct {
    store_exit_attempt items[8];
    int count;
} attempt_list;

static int attempt_list_add(void *ud, const store_exit_attempt *a)
{
    attempt_list *l = ud;
    if (l->count < 8)
        l->items[l->count] = *a;
    l->count++;
    return 0;
}

static void test_version_1_database_migrates_to_2_keeping_rows(void **state)
{
    tmpdb t;
    tmpdb_make(&t);
    raw_exec(t.path, v1_schema_sql);
    /* What a version-1 host could have written: an execution with an open position, a
     * closed one, and exits in each state the backfill has to recognise. */
    raw_exec(t.path,
             "INSERT INTO meta VALUES ('instance_id', 'abcdef01');"
             "INSERT INTO executions(id, pipeline, symbol, status, execution_phase, qty, "
             "  entry_price, side) VALUES (7, 'demo', 'AAPL', 'monitoring', 'monitoring', "
             "  10000000000, 18725000000, 'buy'), (8, 'demo', 'MSFT', 'completed', "
             "  'monitoring', 500000000, 40000000000, 'buy');"
             "INSERT INTO positions(position_id, execution_id, symbol, side, quantity, "
             "  initial_quantity, entry_price, status, partial_stages_done) VALUES "
             "  (3, 7, 'AAPL', 'buy', 5000000000, 10000000000, 18725000000, 'open', 1), "
             "  (4, 8, 'MSFT', 'buy', 0, 500000000, 40000000000, 'closed', 0);"
             /* 11: done (executed_at set); 12: never finished, position still open;
              * 13: never finished, but its position closed since. */
             "INSERT INTO position_exits(exit_id, position_id, exit_reason, exit_priority, "
             "  exit_quantity, partial_exit, exit_price, execution_strategy, triggered_at, "
             "  executed_at) VALUES "
             "  (11, 3, 'partial_exit_target', 'MEDIUM', 5000000000, 1, 21600000000, 'fair', "
             "   1709303400000000, 1709303460000000), "
             "  (12, 3, 'trailing_stop', 'HIGH', 5000000000, 0, 0, 'aggressive', "
             "   1709303500000000, NULL), "
             "  (13, 4, 'stop_loss', 'CRITICAL', 500000000, 0, 0, 'market', "
             "   1709303600000000, NULL);"
             "INSERT INTO exit_attempts(position_id, exit_id, attempt_number, order_type, "
             "  limit_price, quantity, status, filled_quantity, placed_at) VALUES "
             "  (3, 11, 1, 'limit', 21600000000, 5000000000, 'filled', 5000000000, "
             "   1709303401000000), "
             "  (3, 12, 1, 'limit', 20000000000, 5000000000, 'cancelled', 0, 1709303501000000), "
             "  (3, 12, 2, 'limit', 19990000000, 5000000000, 'accepted', 0, 1709303511000000);"
             "PRAGMA user_version = 1;");

    store *s = open_ok(t.path);
    assert_int_equal(store_schema_version(s), 2);
    assert_string_equal(store_instance_id(s), "abcdef01");
    assert_int_equal(raw_int(t.path, "PRAGMA user_version"), 2);

    /* Old rows are intact. */
    store_execution e;
    assert_int_equal(store_execution_get(s, 7, &e), 0);
    assert_string_equal(e.symbol, "AAPL");
    assert_int_equal(e.entry_price, CENTS(18725));
    store_position p;
    assert_int_equal(store_position_get_by_execution(s, 7, &p), 0);
    assert_int_equal(p.qty, MONEY(50));
    assert_int_equal(p.partial_stages_done, 1);

    /* Old exits gained their execution, a status matching what they recorded, and their
     * attempt count. */
    store_position_exit x;
    assert_int_equal(store_exit_get(s, 11, &x), 0);
    assert_int_equal(x.execution_id, 7);
    assert_int_equal(x.status, EXIT_STATUS_FILLED);
    assert_int_equal(x.filled_quantity, MONEY(50));
    assert_int_equal(x.exit_price, CENTS(21600));
    assert_int_equal(x.attempts, 1);
    assert_true(x.partial_exit);
    assert_int_equal(x.triggered_at, T0);
    assert_int_equal(x.executed_at, T0 + 60 * APEX_SECOND);
    assert_int_equal(store_exit_get(s, 12, &x), 0);
    assert_int_equal(x.status, EXIT_STATUS_WORKING);
    assert_int_equal(x.attempts, 2);
    assert_int_equal(x.filled_quantity, 0);
    assert_int_equal(store_exit_get(s, 13, &x), 0);
    assert_int_equal(x.execution_id, 8);
    assert_int_equal(x.status, EXIT_STATUS_CANCELLED);
    assert_non_null(strstr(x.detail, "position closed"));

    /* Only the unfinished exit on the open position is resumed after the upgrade. */
    exit_list working = {0};
    assert_int_equal(store_exits_working(s, exit_list_add, &working), 0);
    assert_int_equal(working.count, 1);
    assert_int_equal(working.items[0].id, 12);
    assert_string_equal(working.items[0].exit_reason, "trailing_stop");

    attempt_list old = {0};
    assert_int_equal(store_exit_attempts_for_exit(s, 12, attempt_list_add, &old), 0);
    assert_int_equal(old.count, 2);
    assert_int_equal(old.items[1].attempt_number, 2);
    assert_int_equal(old.items[1].limit_price, CENTS(19990));
    assert_string_equal(old.items[1].client_order_id, ""); /* v1 had no such column */

    /* The new API works on the migrated file. */
    store_exit_attempt a;
    memset(&a, 0, sizeof a);
    a.position_id = 3;
    a.exit_id = 12;
    a.attempt_number = 3;
    a.order_type = ORDER_MARKET;
    snprintf(a.client_order_id, sizeof a.client_order_id, "abcdef01-7-5");
    a.quantity = MONEY(50);
    a.status = ORDER_STATUS_NEW;
    a.placed_at = T0 + 200 * APEX_SECOND;
    assert_int_equal(store_exit_attempt_insert(s, &a), 0);
    store_exit_attempt got;
    assert_int_equal(store_exit_attempt_by_order(s, "abcdef01-7-5", &got), 0);
    assert_int_equal(got.exit_id, 12);
    assert_int_equal(got.attempt_number, 3);
    store_close(s);

    /* The migrated file has exactly the schema of a file created new. */
    tmpdb fresh;
    tmpdb_make(&fresh);
    store_close(open_ok(fresh.path));
    char *migrated = schema_text(t.path), *created = schema_text(fresh.path);
    assert_string_equal(migrated, created);
    free(migrated);
    free(created);
    tmpdb_remove(&fresh);
    tmpdb_remove(&t);
}

static store_position_exit sample_exit(const store_position *p)
{
    store_position_exit e;
    memset(&e, 0, sizeof e);
    e.position_id = p->id;
    snprintf(e.exit_reason, sizeof e.exit_reason, "partial_exit_target");
    e.exit_priority = EXIT_PRIORITY_MEDIUM;
    snprintf(e.detail, sizeof e.detail, "gain +20.97%% >= stage 1 at +15%%: sell 50%%");
    e.exit_quantity = MONEY(15);
    e.partial_exit = true;
    e.execution_strategy = PRICE_FAIR;
    e.unrealized_pnl = CENTS(6500);
    e.unrealized_pnl_pct = 20967742;
    e.triggered_at = T0 + 4 * APEX_SECOND;
    return e;
}

static store_exit_attempt sample_attempt(const store_position_exit *e, int number, const char *coid)
{
    store_exit_attempt a;
    memset(&a, 0, sizeof a);
    a.position_id = e->position_id;
    a.exit_id = e->id;
    a.attempt_number = number;
    a.order_type = ORDER_LIMIT;
    snprintf(a.client_order_id, sizeof a.client_order_id, "%s", coid);
    a.limit_price = CENTS(1249);
    a.quantity = e->exit_quantity;
    a.status = ORDER_STATUS_ACCEPTED;
    a.placed_at = e->triggered_at + number * APEX_SECOND;
    return a;
}

static void assert_exit_equal(const store_position_exit *a, const store_position_exit *b)
{
    assert_int_equal(a->id, b->id);
    assert_int_equal(a->position_id, b->position_id);
    assert_int_equal(a->execution_id, b->execution_id);
    assert_string_equal(a->exit_reason, b->exit_reason);
    assert_int_equal(a->exit_priority, b->exit_priority);
    assert_string_equal(a->detail, b->detail);
    assert_int_equal(a->exit_quantity, b->exit_quantity);
    assert_int_equal(a->partial_exit, b->partial_exit);
    assert_int_equal(a->exit_price, b->exit_price);
    assert_int_equal(a->execution_strategy, b->execution_strategy);
    assert_int_equal(a->unrealized_pnl, b->unrealized_pnl);
    assert_int_equal(a->unrealized_pnl_pct, b->unrealized_pnl_pct);
    assert_int_equal(a->triggered_at, b->triggered_at);
    assert_int_equal(a->executed_at, b->executed_at);
    assert_int_equal(a->status, b->status);
    assert_int_equal(a->filled_quantity, b->filled_quantity);
    assert_int_equal(a->attempts, b->attempts);
}

static void assert_attempt_equal(const store_exit_attempt *a, const store_exit_attempt *b)
{
    assert_int_equal(a->id, b->id);
    assert_int_equal(a->position_id, b->position_id);
    assert_int_equal(a->exit_id, b->exit_id);
    assert_int_equal(a->attempt_number, b->attempt_number);
    assert_int_equal(a->order_type, b->order_type);
    assert_string_equal(a->client_order_id, b->client_order_id);
    assert_int_equal(a->limit_price, b->limit_price);
    assert_int_equal(a->quantity, b->quantity);
    assert_int_equal(a->status, b->status);
    assert_int_equal(a->filled_quantity, b->filled_quantity);
    assert_int_equal(a->placed_at, b->placed_at);
}

static void test_exit_and_attempts_round_trip_every_field(void **state)
{
    tmpdb t;
    tmpdb_make(&t);
    store *s = open_ok(t.path);
    int64_t exec_id = build_consistent_book(s);
    store_position p;
    assert_int_equal(store_position_get_by_execution(s, exec_id, &p), 0);

    store_position_exit e = sample_exit(&p);
    assert_int_equal(store_exit_insert(s, &e), 0);
    assert_true(e.id > 0);
    assert_int_equal(e.execution_id, exec_id);       /* taken from the position */
    assert_int_equal(e.status, EXIT_STATUS_WORKING); /* the default */

    store_exit_attempt first = sample_attempt(&e, 1, "feedbeef-1-2");
    assert_int_equal(store_exit_attempt_insert(s, &first), 0);
    store_exit_attempt second = sample_attempt(&e, 2, "feedbeef-1-3");
    second.limit_price = CENTS(1247); /* walked one step */
    assert_int_equal(store_exit_attempt_insert(s, &second), 0);
    assert_true(second.id > first.id);

    /* The first limit expired unfilled; the walked one filled at 12.47. */
    first.status = ORDER_STATUS_CANCELLED;
    assert_int_equal(store_exit_attempt_update(s, &first), 0);
    second.status = ORDER_STATUS_FILLED;
    second.filled_quantity = MONEY(15);
    assert_int_equal(store_exit_attempt_update(s, &second), 0);
    e.attempts = 2;
    e.filled_quantity = MONEY(15);
    e.exit_price = CENTS(1247);
    e.executed_at = T0 + 40 * APEX_SECOND;
    e.status = EXIT_STATUS_FILLED;
    assert_int_equal(store_exit_update(s, &e), 0);
    store_close(s);

    /* Everything survives a reopen. */
    s = open_ok(t.path);
    store_position_exit got;
    assert_int_equal(store_exit_get(s, e.id, &got), 0);
    assert_exit_equal(&got, &e);
    exit_list of_exec = {0};
    assert_int_equal(store_exits_for_execution(s, exec_id, exit_list_add, &of_exec), 0);
    assert_int_equal(of_exec.count, 1);
    assert_exit_equal(&of_exec.items[0], &e);
    attempt_list attempts = {0};
    assert_int_equal(store_exit_attempts_for_exit(s, e.id, attempt_list_add, &attempts), 0);
    assert_int_equal(attempts.count, 2);
    assert_attempt_equal(&attempts.items[0], &first);
    assert_attempt_equal(&attempts.items[1], &second);

    /* Times left at 0 get the seed's DEFAULT NOW() and are handed back. */
    store_position_exit now = sample_exit(&p);
    now.triggered_at = 0;
    assert_int_equal(store_exit_insert(s, &now), 0);
    assert_true(now.triggered_at > T0);
    assert_int_equal(store_exit_get(s, now.id, &got), 0);
    assert_int_equal(got.triggered_at, now.triggered_at);
    /* An update with triggered_at 0 keeps the stored time. */
    now.triggered_at = 0;
    now.status = EXIT_STATUS_CANCELLED;
    assert_int_equal(store_exit_update(s, &now), 0);
    assert_int_equal(store_exit_get(s, now.id, &got), 0);
    assert_int_equal(got.triggered_at > T0, 1);
    assert_int_equal(got.status, EXIT_STATUS_CANCELLED);

    assert_int_equal(store_exit_get(s, 999, &got), APEX_ENOTFOUND);
    store_position_exit empty;
    memset(&empty, 0, sizeof empty);
    empty.id = e.id;
    assert_int_equal(store_exit_update(s, &empty), APEX_EINVAL); /* would wipe the row */
    assert_int_equal(store_exit_get(s, e.id, &got), 0);
    assert_exit_equal(&got, &e);
    store_position_exit missing = e;
    missing.id = 999;
    assert_int_equal(store_exit_update(s, &missing), APEX_ENOTFOUND);
    store_exit_attempt missing_attempt = first;
    missing_attempt.id = 999;
    assert_int_equal(store_exit_attempt_update(s, &missing_attempt), APEX_ENOTFOUND);
    store_close(s);
    tmpdb_remove(&t);
}

static void test_bad_exit_and_attempt_values_name_the_field(void **state)
{
    store *s = open_ok(":memory:");
    int64_t exec_id = build_consistent_book(s);
    store_position p;
    assert_int_equal(store_position_get_by_execution(s, exec_id, &p), 0);

    store_position_exit e = sample_exit(&p);
    e.exit_priority = (exit_priority)9;
    assert_int_equal(store_exit_insert(s, &e), APEX_EINVAL);
    assert_non_null(strstr(store_errmsg(s), "exit_priority 9"));

    e = sample_exit(&p);
    e.filled_quantity = e.exit_quantity + 1; /* would over-sell */
    assert_int_equal(store_exit_insert(s, &e), APEX_EINVAL);
    assert_non_null(strstr(store_errmsg(s), "filled_quantity"));

    e = sample_exit(&p);
    e.status = (exit_status)7;
    assert_int_equal(store_exit_insert(s, &e), APEX_EINVAL);
    assert_non_null(strstr(store_errmsg(s), "status 7"));

    e = sample_exit(&p);
    e.exit_quantity = 0;
    assert_int_equal(store_exit_insert(s, &e), APEX_EINVAL);
    assert_non_null(strstr(store_errmsg(s), "exit_quantity"));

    e = sample_exit(&p);
    e.position_id = 4242; /* no such position: the foreign key refuses it */
    assert_int_equal(store_exit_insert(s, &e), APEX_EINVAL);

    e = sample_exit(&p);
    assert_int_equal(store_exit_insert(s, &e), 0);
    store_exit_attempt a = sample_attempt(&e, 1, "feedbeef-1-9");
    a.limit_price = 0; /* a limit order without a price */
    assert_int_equal(store_exit_attempt_insert(s, &a), APEX_EINVAL);
    assert_non_null(strstr(store_errmsg(s), "limit_price"));
    a = sample_attempt(&e, 1, "feedbeef-1-9");
    a.status = (order_status)42;
    assert_int_equal(store_exit_attempt_insert(s, &a), APEX_EINVAL);
    assert_non_null(strstr(store_errmsg(s), "status 42"));
    a = sample_attempt(&e, 0, "feedbeef-1-9");
    assert_int_equal(store_exit_attempt_insert(s, &a), APEX_EINVAL);
    assert_non_null(strstr(store_errmsg(s), "attempt_number"));

    /* Nothing of the refused attempts was written. */
    attempt_list none = {0};
    assert_int_equal(store_exit_attempts_for_exit(s, e.id, attempt_list_add, &none), 0);
    assert_int_equal(none.count, 0);
    store_close(s);
}

static int finish_working_exit(void *ud, const store_position_exit *e)
{
    store *s = ud;
    store_position_exit done = *e;
    done.status = EXIT_STATUS_FILLED;
    done.filled_quantity = done.exit_quantity;
    return store_exit_update(s, &done) != 0; /* writing from the callback is allowed */
}

static void test_exits_working_lists_only_unfinished_exits(void **state)
{
    store *s = open_ok(":memory:");
    int64_t exec_id = build_consistent_book(s);
    store_position p;
    assert_int_equal(store_position_get_by_execution(s, exec_id, &p), 0);
    const exit_status statuses[] = {EXIT_STATUS_FILLED, EXIT_STATUS_WORKING, EXIT_STATUS_FAILED,
                                    EXIT_STATUS_WORKING, EXIT_STATUS_CANCELLED};
    int64_t ids[5];
    for (int i = 0; i < 5; i++) {
        store_position_exit e = sample_exit(&p);
        e.status = statuses[i];
        e.triggered_at = T0 + i * APEX_SECOND;
        assert_int_equal(store_exit_insert(s, &e), 0);
        ids[i] = e.id;
    }
    exit_list working = {0};
    assert_int_equal(store_exits_working(s, exit_list_add, &working), 0);
    assert_int_equal(working.count, 2);
    assert_int_equal(working.items[0].id, ids[1]); /* oldest first */
    assert_int_equal(working.items[1].id, ids[3]);
    assert_int_equal(working.items[1].triggered_at, T0 + 3 * APEX_SECOND);

    /* A restart resumes them; once finished they are no longer listed. */
    assert_int_equal(store_exits_working(s, finish_working_exit, s), 0);
    working.count = 0;
    assert_int_equal(store_exits_working(s, exit_list_add, &working), 0);
    assert_int_equal(working.count, 0);
    exit_list all = {0};
    assert_int_equal(store_exits_for_execution(s, exec_id, exit_list_add, &all), 0);
    assert_int_equal(all.count, 5);
    assert_int_equal(all.items[3].status, EXIT_STATUS_FILLED);
    assert_int_equal(all.items[3].filled_quantity, MONEY(15));
    exit_list other = {0};
    assert_int_equal(store_exits_for_execution(s, exec_id + 100, exit_list_add, &other), 0);
    assert_int_equal(other.count, 0);
    store_close(s);
}

static void test_exit_attempt_found_by_its_client_order_id(void **state)
{
    store *s = open_ok(":memory:");
    int64_t exec_id = build_consistent_book(s);
    store_position p;
    assert_int_equal(store_position_get_by_execution(s, exec_id, &p), 0);
    store_position_exit e = sample_exit(&p);
    assert_int_equal(store_exit_insert(s, &e), 0);
    store_exit_attempt a1 = sample_attempt(&e, 1, "feedbeef-1-4");
    store_exit_attempt a2 = sample_attempt(&e, 2, "feedbeef-1-5");
    a2.limit_price = CENTS(1245);
    assert_int_equal(store_exit_attempt_insert(s, &a1), 0);
    assert_int_equal(store_exit_attempt_insert(s, &a2), 0);
    /* Attempts recorded before their order id is known do not collide with each other. */
    store_exit_attempt pending1 = sample_attempt(&e, 3, "");
    store_exit_attempt pending2 = sample_attempt(&e, 4, "");
    assert_int_equal(store_exit_attempt_insert(s, &pending1), 0);
    assert_int_equal(store_exit_attempt_insert(s, &pending2), 0);

    /* A broker report about feedbeef-1-5 finds the second attempt and its exit. */
    store_exit_attempt got;
    assert_int_equal(store_exit_attempt_by_order(s, "feedbeef-1-5", &got), 0);
    assert_attempt_equal(&got, &a2);
    assert_int_equal(got.exit_id, e.id);
    assert_int_equal(got.limit_price, CENTS(1245));

    assert_int_equal(store_exit_attempt_by_order(s, "feedbeef-9-9", &got), APEX_ENOTFOUND);
    assert_non_null(strstr(store_errmsg(s), "feedbeef-9-9"));
    assert_int_equal(store_exit_attempt_by_order(s, "", &got), APEX_EINVAL);

    /* One order is one attempt: reusing its id is refused, by insert and by update. */
    store_exit_attempt again = sample_attempt(&e, 5, "feedbeef-1-4");
    assert_int_equal(store_exit_attempt_insert(s, &again), APEX_EDUP);
    assert_non_null(strstr(store_errmsg(s), "feedbeef-1-4"));
    snprintf(pending1.client_order_id, sizeof pending1.client_order_id, "feedbeef-1-5");
    assert_int_equal(store_exit_attempt_update(s, &pending1), APEX_EDUP);
    snprintf(pending1.client_order_id, sizeof pending1.client_order_id, "feedbeef-1-6");
    assert_int_equal(store_exit_attempt_update(s, &pending1), 0);
    assert_int_equal(store_exit_attempt_by_order(s, "feedbeef-1-6", &got), 0);
    assert_int_equal(got.attempt_number, 3);
    store_close(s);
}

static void test_status_shows_monitoring_state_and_exits(void **state)
{
    store *s = open_ok(":memory:");
    int64_t exec_id = build_consistent_book(s);
    store_position p;
    assert_int_equal(store_position_get_by_execution(s, exec_id, &p), 0);
    p.partial_stages_done = 1; /* stage 1 fired; stage 2 not yet */
    assert_int_equal(store_position_update(s, &p), 0);
    store_execution e;
    assert_int_equal(store_execution_get(s, exec_id, &e), 0);
    e.monitor_interval_s = 5; /* urgent: the price is near the trailing stop */
    e.next_check_at = T0 + 8 * APEX_SECOND;
    assert_int_equal(store_execution_update(s, &e), 0);

    /* A partial exit that needed a walked limit, and a stop that is still working. */
    store_position_exit partial = sample_exit(&p);
    partial.exit_quantity = MONEY(120);
    partial.filled_quantity = MONEY(120);
    partial.exit_price = CENTS(1200);
    partial.attempts = 2;
    partial.executed_at = T0 + 40 * APEX_SECOND;
    partial.status = EXIT_STATUS_FILLED;
    assert_int_equal(store_exit_insert(s, &partial), 0);
    store_exit_attempt a1 = sample_attempt(&partial, 1, "feedbeef-1-2");
    a1.quantity = MONEY(120);
    a1.status = ORDER_STATUS_CANCELLED;
    store_exit_attempt a2 = sample_attempt(&partial, 2, "feedbeef-1-3");
    a2.quantity = MONEY(120);
    a2.filled_quantity = MONEY(120);
    a2.limit_price = CENTS(1200);
    a2.status = ORDER_STATUS_FILLED;
    assert_int_equal(store_exit_attempt_insert(s, &a1), 0);
    assert_int_equal(store_exit_attempt_insert(s, &a2), 0);

    store_position_exit stop = sample_exit(&p);
    snprintf(stop.exit_reason, sizeof stop.exit_reason, "stop_loss");
    stop.exit_priority = EXIT_PRIORITY_CRITICAL;
    stop.execution_strategy = PRICE_MARKET;
    snprintf(stop.detail, sizeof stop.detail, "price 8.95 <= stop 9.00");
    stop.partial_exit = false;
    stop.exit_quantity = MONEY(30);
    stop.attempts = 1;
    stop.triggered_at = T0 + 50 * APEX_SECOND;
    assert_int_equal(store_exit_insert(s, &stop), 0);
    store_exit_attempt m = sample_attempt(&stop, 1, "feedbeef-1-4");
    m.order_type = ORDER_MARKET;
    m.limit_price = 0;
    m.filled_quantity = MONEY(10);
    m.status = ORDER_STATUS_PARTIALLY_FILLED;
    assert_int_equal(store_exit_attempt_insert(s, &m), 0);

    char *out = status_of(s, 5);
    char line[512];
    const char *positions = strstr(out, "OPEN POSITIONS\n");
    assert_non_null(positions);
    const char *exits = strstr(out, "EXITS (latest 20)\n");
    assert_non_null(exits);
    assert_true(exits > positions);

    /* Position: quantity left of the initial, trailing stop armed, cadence, next check. */
    assert_non_null(line_with(positions, "AAPL", line, sizeof line));
    assert_non_null(strstr(line, "30 of 150"));
    assert_non_null(strstr(line, "11.97 armed"));
    assert_non_null(strstr(line, "12.60")); /* peak */
    assert_non_null(strstr(line, "5 s"));
    assert_non_null(strstr(line, "2024-03-01 14:30:08"));
    assert_non_null(strstr(line, "+20.97%"));
    assert_non_null(line_with(positions, "partial exits done", line, sizeof line));
    assert_non_null(strstr(line, "stage 1"));
    assert_null(strstr(line, "stage 2"));
    assert_non_null(strstr(line, "last update 2024-03-01 14:30:03"));

    /* Exits, oldest first, each followed by its attempts. */
    assert_non_null(line_with(exits, "partial_exit_target", line, sizeof line));
    assert_non_null(strstr(line, "MEDIUM"));
    assert_non_null(strstr(line, "fair"));
    assert_non_null(strstr(line, "120 partial"));
    assert_non_null(strstr(line, "filled"));
    assert_non_null(strstr(line, "12.00"));
    assert_non_null(strstr(line, "2024-03-01 14:30:04"));
    assert_non_null(line_with(exits, "stop_loss", line, sizeof line));
    assert_non_null(strstr(line, "CRITICAL"));
    assert_non_null(strstr(line, "market"));
    assert_non_null(strstr(line, "working"));
    assert_null(strstr(line, "partial "));
    assert_true(strstr(exits, "partial_exit_target") < strstr(exits, "stop_loss"));

    assert_non_null(line_with(exits, "feedbeef-1-2", line, sizeof line));
    assert_non_null(strstr(line, "attempt 1"));
    assert_non_null(strstr(line, "limit"));
    assert_non_null(strstr(line, "12.49"));
    assert_non_null(strstr(line, "cancelled"));
    assert_non_null(line_with(exits, "feedbeef-1-3", line, sizeof line));
    assert_non_null(strstr(line, "attempt 2"));
    assert_non_null(strstr(line, "filled 120"));
    assert_non_null(line_with(exits, "feedbeef-1-4", line, sizeof line));
    assert_non_null(strstr(line, "market"));
    assert_non_null(strstr(line, "partially_filled"));
    assert_non_null(strstr(line, "filled 10"));
    assert_non_null(line_with(exits, "why: price 8.95 <= stop 9.00", line, sizeof line));
    /* The attempt lines sit under their own exit. */
    assert_true(strstr(exits, "feedbeef-1-3") < strstr(exits, "stop_loss"));
    assert_true(strstr(exits, "feedbeef-1-4") > strstr(exits, "stop_loss"));
    free(out);
    store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_migrations_set_version_and_reopen_is_idempotent),
        cmocka_unit_test(test_newer_schema_is_refused_with_both_versions),
        cmocka_unit_test(test_garbage_file_and_bad_path_are_refused),
        cmocka_unit_test(test_exec_status_names_round_trip),
        cmocka_unit_test(test_execution_round_trips_every_field),
        cmocka_unit_test(test_active_recent_and_count),
        cmocka_unit_test(test_iteration_callbacks_may_write),
        cmocka_unit_test(test_order_intent_survives_a_crash),
        cmocka_unit_test(test_order_insert_refused_inside_batch),
        cmocka_unit_test(test_fast_store_allows_intents_in_a_batch),
        cmocka_unit_test(test_order_duplicate_update_and_open_list),
        cmocka_unit_test(test_fill_replay_is_refused_and_batch_survives),
        cmocka_unit_test(test_position_monitoring_columns_round_trip),
        cmocka_unit_test(test_cursors_resume_after_reopen),
        cmocka_unit_test(test_events_and_equity),
        cmocka_unit_test(test_fast_mode_batch_groups_writes),
        cmocka_unit_test(test_unknown_status_in_database_is_reported),
        cmocka_unit_test(test_ledger_average_cost_long_short_and_flip),
        cmocka_unit_test(test_ledger_check_passes_consistent_book),
        cmocka_unit_test(test_ledger_check_detects_tampering),
        cmocka_unit_test(test_status_on_empty_store_says_none),
        cmocka_unit_test(test_status_shows_executions_positions_orders_events),
        cmocka_unit_test(test_version_1_database_migrates_to_2_keeping_rows),
        cmocka_unit_test(test_exit_and_attempts_round_trip_every_field),
        cmocka_unit_test(test_bad_exit_and_attempt_values_name_the_field),
        cmocka_unit_test(test_exits_working_lists_only_unfinished_exits),
        cmocka_unit_test(test_exit_attempt_found_by_its_client_order_id),
        cmocka_unit_test(test_status_shows_monitoring_state_and_exits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
