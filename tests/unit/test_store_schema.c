/* Tests for the store's schema: migrations (PRAGMA user_version), the upgrade of a
 * version-1 database, and files the store must refuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store_fixture.h"
#include "util/err.h"

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

static void test_migrations_set_version_and_reopen_is_idempotent(void **state)
{
    tmpdb t;
    tmpdb_make(&t);
    store *s = open_ok(t.path);
    assert_int_equal(store_schema_version(s), 6);
    char id[9];
    snprintf(id, sizeof id, "%s", store_instance_id(s));
    assert_int_equal(strlen(id), 8);
    assert_int_equal(strspn(id, "0123456789abcdef"), 8);
    store_execution e = sample_execution("demo", "AAPL");
    assert_int_equal(store_execution_insert(s, &e, NULL), 0);
    store_close(s);

    assert_int_equal(raw_int(t.path, "PRAGMA user_version"), 6);
    s = open_ok(t.path);
    assert_int_equal(store_schema_version(s), 6);
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
    assert_non_null(strstr(err, "(6)"));
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
    assert_int_equal(store_schema_version(s), 6);
    assert_string_equal(store_instance_id(s), "abcdef01");
    assert_int_equal(raw_int(t.path, "PRAGMA user_version"), 6);

    /* Old rows are intact. */
    store_execution e;
    assert_int_equal(store_execution_get(s, 7, &e), 0);
    assert_string_equal(e.symbol, "AAPL");
    assert_int_equal(e.entry_price, CENTS(18725));
    /* Migration 6: a row from before it has no typed entry and no expiry. */
    assert_false(e.entry_typed);
    assert_int_equal(e.entry_order_price, 0);
    assert_int_equal(e.expire_bars, 0);
    assert_int_equal(e.expire_at, 0);
    assert_int_equal(e.resting_since, 0);
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
    assert_int_equal(store_exit_attempt_insert(s, &a, NULL), 0);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_migrations_set_version_and_reopen_is_idempotent),
        cmocka_unit_test(test_newer_schema_is_refused_with_both_versions),
        cmocka_unit_test(test_garbage_file_and_bad_path_are_refused),
        cmocka_unit_test(test_version_1_database_migrates_to_2_keeping_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
