/* store_schema: the database layout, as an append-only list of migrations.
 *
 * PRAGMA user_version holds the number of migrations applied. Opening runs the
 * missing ones in order, each in its own transaction together with the version
 * bump, so a crash mid-migration leaves the previous version intact. To change the
 * schema, append a migration; never edit one that has shipped.
 *
 * Conventions: money is INTEGER at MONEY_SCALE, times are INTEGER µs since the
 * epoch (NULL = not set), enums are stored by name so the database reads well in
 * the sqlite3 shell. Ids that client order ids are derived from use AUTOINCREMENT
 * so a deleted row's id is never handed out again. */
#include "store/store_internal.h"

#include <stdio.h>

#include "util/err.h"

static const char *const migrations[] = {
    /* 1: everything the host needs for seed 000 executions and seed 003 monitoring. */
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
    /* No foreign key on order_client_id: a fill can arrive for an order the host never
     * placed (one opened by hand), and the ledger must still record it. */
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
    /* A broker numbers fills in its own namespace (two paper accounts both have a fill
     * "paper-1-1"); our client order ids are globally unique, so the pair is the key. */
    "CREATE UNIQUE INDEX fills_order ON fills(order_client_id, fill_id);\n"
    /* The audit log has no foreign keys on purpose: recording what happened must
     * never fail because of what it refers to. */
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
    /* Seed 003's exit tables; DEFAULT NOW() becomes the current time in µs. */
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
    "CREATE INDEX exit_attempts_exit ON exit_attempts(exit_id);\n",

    /* 2: what the exit executor needs to resume an exit after a restart: the execution it
     * belongs to (so one query finds an execution's exits), its progress, the evaluator's
     * sentence and the client order id of each attempt (so a broker report finds its
     * attempt). Rows written under version 1 are backfilled from what they already say. */
    "ALTER TABLE position_exits ADD COLUMN execution_id INTEGER;\n"
    "ALTER TABLE position_exits ADD COLUMN status TEXT NOT NULL DEFAULT 'working';\n"
    "ALTER TABLE position_exits ADD COLUMN filled_quantity INTEGER NOT NULL DEFAULT 0;\n"
    "ALTER TABLE position_exits ADD COLUMN detail TEXT NOT NULL DEFAULT '';\n"
    "ALTER TABLE position_exits ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;\n"
    "ALTER TABLE exit_attempts ADD COLUMN client_order_id TEXT;\n"
    "UPDATE position_exits SET\n"
    "  execution_id = (SELECT p.execution_id FROM positions p\n"
    "                  WHERE p.position_id = position_exits.position_id),\n"
    "  attempts = (SELECT count(*) FROM exit_attempts a\n"
    "              WHERE a.exit_id = position_exits.exit_id);\n"
    /* An exit that recorded its execution time was done. One whose position has since
     * closed has nothing left to sell: resuming it after the upgrade would place an order
     * for a position that no longer exists. */
    "UPDATE position_exits SET status = 'filled', filled_quantity = exit_quantity\n"
    "  WHERE executed_at IS NOT NULL;\n"
    "UPDATE position_exits SET status = 'cancelled',\n"
    "  detail = 'position closed before the upgrade to schema 2'\n"
    "  WHERE executed_at IS NULL AND position_id IN\n"
    "    (SELECT position_id FROM positions WHERE status = 'closed');\n"
    "CREATE INDEX position_exits_execution ON position_exits(execution_id);\n"
    "CREATE INDEX position_exits_status ON position_exits(status);\n"
    /* Unique: each attempt is one order, and a client order id names one order. SQLite
     * lets several NULLs (attempts recorded before their id was known) coexist. */
    "CREATE UNIQUE INDEX exit_attempts_order ON exit_attempts(client_order_id);\n",

    /* 3: how often each pipeline's scripts failed, per stage (issue 8). A flood of failures
     * is counted rather than recorded one by one (script/failures.h), so the executions and
     * events tables alone no longer show how many there were; this row does. One row per
     * (pipeline, stage), updated in place: it cannot grow the store. */
    "CREATE TABLE script_failures (\n"
    "  pipeline   TEXT NOT NULL,\n"
    "  stage      TEXT NOT NULL,\n"
    "  failures   INTEGER NOT NULL DEFAULT 0,\n"
    "  recorded   INTEGER NOT NULL DEFAULT 0,\n"
    "  first_at   INTEGER NOT NULL,\n"
    "  last_at    INTEGER NOT NULL,\n"
    "  last_error TEXT NOT NULL DEFAULT '',\n"
    "  PRIMARY KEY (pipeline, stage)\n"
    ");\n",

    /* 4: the notification outbox (issue 11, core/notify). A notification is a row per
     * channel (a Telegram chat, a webhook) before anything is sent, so a crash loses none
     * and a restart delivers what was pending; status pending -> sent, failed (after its
     * attempts, with the reason) or summarized (folded into the summary row summary_id
     * when a channel is over its rate). payload is the event's fields as JSON, never a
     * secret; channel names a chat id or a webhook's position, never its URL. */
    "CREATE TABLE notifications (\n"
    "  id              INTEGER PRIMARY KEY AUTOINCREMENT,\n"
    "  pipeline        TEXT NOT NULL,\n"
    "  channel         TEXT NOT NULL,\n"
    "  kind            TEXT NOT NULL,\n"
    "  execution_id    INTEGER,\n"
    "  payload         TEXT NOT NULL,\n"
    "  status          TEXT NOT NULL DEFAULT 'pending',\n"
    "  attempts        INTEGER NOT NULL DEFAULT 0,\n"
    "  created_at      INTEGER NOT NULL,\n"
    "  next_attempt_at INTEGER NOT NULL,\n"
    "  sent_at         INTEGER,\n"
    "  summary_id      INTEGER,\n"
    "  error           TEXT NOT NULL DEFAULT ''\n"
    ");\n"
    "CREATE INDEX notifications_due\n"
    "  ON notifications(pipeline, channel, status, next_attempt_at);\n",
    /* 5: approval requests (issue 11, execution.mode = "approval"): one per entry that waits
     * for a trader's answer. `answer` is written once, by whoever answers first (the CLI in
     * another process, Telegram, the dashboard), guarded by `answer IS NULL`; the host then
     * decides the request (status approved, rejected, expired or stale) and goes on or skips.
     * Prices and quantities are fixed point like every amount in the store; created_at and
     * expires_at are on the run's clock, answered_at on the wall clock of the answerer. */
    "CREATE TABLE approvals (\n"
    "  id                  INTEGER PRIMARY KEY AUTOINCREMENT,\n"
    "  execution_id        INTEGER NOT NULL,\n"
    "  pipeline            TEXT NOT NULL,\n"
    "  symbol              TEXT NOT NULL,\n"
    "  side                TEXT NOT NULL,\n"
    "  qty                 INTEGER NOT NULL,\n"
    "  entry               INTEGER NOT NULL,\n"
    "  stop_loss           INTEGER NOT NULL,\n"
    "  take_profit         INTEGER NOT NULL,\n"
    "  nonce               TEXT NOT NULL,\n"
    "  status              TEXT NOT NULL DEFAULT 'pending',\n"
    "  created_at          INTEGER NOT NULL,\n"
    "  expires_at          INTEGER NOT NULL,\n"
    "  answer              TEXT,\n"
    "  answered_by         TEXT,\n"
    "  answered_at         INTEGER,\n"
    "  answer_reason       TEXT,\n"
    "  decided_at          INTEGER,\n"
    "  outcome             TEXT,\n"
    "  telegram_chat_id    TEXT,\n"
    "  telegram_message_id INTEGER\n"
    ");\n"
    "CREATE INDEX approvals_status ON approvals(status);\n"
    "CREATE INDEX approvals_execution ON approvals(execution_id);\n",

    /* 6: the entry order a signal chose (issue 13): entry = "market" | "limit" | "stop"
     * (NULL: execution.entry decides), its stop or limit price, and its expiry, so that a
     * restart sends an approved entry as the signal asked and a resting entry still expires
     * at the bar or time it would have. expire_at is absolute (µs), so a restart does not
     * restart the clock. The bars an entry has rested are not stored: resting_since is the
     * bar time of its symbol's last bar when the broker accepted it, and a restart counts
     * that symbol's bars after it again from the data it replays (pipeline/entry_expiry.c
     * says why). Rows written before this migration have no typed entry and no expiry, as
     * their host kept none. */
    "ALTER TABLE executions ADD COLUMN entry_type TEXT;\n"
    "ALTER TABLE executions ADD COLUMN entry_order_price INTEGER NOT NULL DEFAULT 0;\n"
    "ALTER TABLE executions ADD COLUMN expire_bars INTEGER NOT NULL DEFAULT 0;\n"
    "ALTER TABLE executions ADD COLUMN expire_seconds INTEGER NOT NULL DEFAULT 0;\n"
    "ALTER TABLE executions ADD COLUMN expire_at INTEGER;\n"
    "ALTER TABLE executions ADD COLUMN resting_since INTEGER;\n",
};

#define MIGRATION_COUNT ((int)(sizeof migrations / sizeof migrations[0]))

int store_schema_latest(void)
{
    return MIGRATION_COUNT;
}

static int read_user_version(sqlite3 *db, int *version)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *version = sqlite3_column_int(st, 0);
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(st);
    return rc;
}

int store_db_error(sqlite3 *db, int rc, const char *path, const char *what, char *err,
                   size_t errlen)
{
    if ((rc & 0xff) == SQLITE_NOTADB || (rc & 0xff) == SQLITE_CORRUPT)
        return err_set(err, errlen, APEX_EIO,
                       "store %s: not a usable apex-host database (%s); move it aside or pass "
                       "another --db",
                       path, sqlite3_errmsg(db));
    if ((rc & 0xff) == SQLITE_BUSY)
        return err_set(err, errlen, APEX_EBUSY,
                       "store %s: %s: the database is locked by another process; stop it or "
                       "use another --db",
                       path, what);
    return err_set(err, errlen, APEX_EIO, "store %s: %s: %s", path, what, sqlite3_errmsg(db));
}

static int apply_migration(sqlite3 *db, const char *path, int target, char *err, size_t errlen)
{
    char *msg = NULL;
    char sql[64];
    /* IMMEDIATE takes the write lock up front, so two processes opening a fresh file
     * at once serialise here and the second sees the first one's version. */
    int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return store_db_error(db, rc, path, "starting a schema migration", err, errlen);
    int current = 0;
    rc = read_user_version(db, &current);
    if (rc == SQLITE_OK && current >= target) {
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
        return 0; /* someone else migrated it meanwhile */
    }
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, migrations[target - 1], NULL, NULL, &msg);
    if (rc == SQLITE_OK) {
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", target);
        rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    }
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, "COMMIT", NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        int code = err_set(err, errlen, APEX_EIO, "store %s: migration %d failed: %s", path, target,
                           msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return code;
    }
    return 0;
}

int store_schema_migrate(sqlite3 *db, const char *path, int *version, char *err, size_t errlen)
{
    int current = 0;
    int rc = read_user_version(db, &current);
    if (rc != SQLITE_OK)
        return store_db_error(db, rc, path, "reading the schema version", err, errlen);
    if (current > MIGRATION_COUNT)
        return err_set(err, errlen, APEX_ESTATE,
                       "store %s: schema version %d is newer than this apex-host knows (%d); "
                       "upgrade apex-host or pass another --db",
                       path, current, MIGRATION_COUNT);
    for (int v = current + 1; v <= MIGRATION_COUNT; v++) {
        int code = apply_migration(db, path, v, err, errlen);
        if (code)
            return code;
    }
    *version = MIGRATION_COUNT;
    return 0;
}

int store_schema_check(sqlite3 *db, const char *path, int *version, char *err, size_t errlen)
{
    int current = 0;
    int rc = read_user_version(db, &current);
    if (rc != SQLITE_OK)
        return store_db_error(db, rc, path, "reading the schema version", err, errlen);
    if (current != MIGRATION_COUNT)
        return err_set(err, errlen, APEX_ESTATE,
                       "store %s: schema version %d, this apex-host reads version %d; open it "
                       "once with `apex-host status --db %s` (it migrates) or use the "
                       "apex-host that wrote it",
                       path, current, MIGRATION_COUNT, path);
    *version = current;
    return 0;
}
