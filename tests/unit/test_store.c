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
    assert_int_equal(store_schema_version(s), 1);
    char id[9];
    snprintf(id, sizeof id, "%s", store_instance_id(s));
    assert_int_equal(strlen(id), 8);
    assert_int_equal(strspn(id, "0123456789abcdef"), 8);
    store_execution e = sample_execution("demo", "AAPL");
    assert_int_equal(store_execution_insert(s, &e), 0);
    store_close(s);

    assert_int_equal(raw_int(t.path, "PRAGMA user_version"), 1);
    s = open_ok(t.path);
    assert_int_equal(store_schema_version(s), 1);
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
    assert_non_null(strstr(err, "(1)"));
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
    assert_non_null(strstr(line, " 30 "));
    assert_non_null(strstr(line, "12.50"));
    assert_non_null(strstr(line, "+65.00"));
    assert_non_null(strstr(line, "+20.97%"));
    assert_non_null(strstr(line, "11.97 / yes"));
    assert_non_null(strstr(line, "2024-03-01 14:30:03"));

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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
