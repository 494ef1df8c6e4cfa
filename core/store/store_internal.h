/* store_internal: what the store's .c files share and nobody else sees.
 *
 * Statements are prepared once, on first use, and cached in the store struct:
 * writes happen on the trading hot path and re-parsing SQL for every fill or
 * order update would dominate their cost. Each query's SQL lives next to the
 * function that uses it; the cache only knows it by its slot. */
#ifndef APEX_STORE_INTERNAL_H
#define APEX_STORE_INTERNAL_H

#include <sqlite3.h>

#include "store/store.h"

typedef enum {
    STMT_BEGIN = 0,
    STMT_COMMIT,
    STMT_ROLLBACK,
    STMT_UNIT_BEGIN,
    STMT_UNIT_RELEASE,
    STMT_UNIT_ROLLBACK,
    STMT_META_GET,
    STMT_META_SET,
    STMT_EXEC_INSERT,
    STMT_EXEC_UPDATE,
    STMT_EXEC_UPDATE_IN_PLACE,
    STMT_EXEC_GET,
    STMT_EXEC_ACTIVE,
    STMT_EXEC_RECENT,
    STMT_EXEC_COUNT,
    STMT_ORDER_INSERT,
    STMT_ORDER_UPDATE,
    STMT_ORDER_GET,
    STMT_ORDERS_FOR_EXEC,
    STMT_ORDERS_OPEN,
    STMT_ORDER_BY_BROKER_ID,
    STMT_FILL_INSERT,
    STMT_FILLS_FOR_EXEC,
    STMT_POS_INSERT,
    STMT_POS_UPDATE,
    STMT_POS_UPDATE_IN_PLACE,
    STMT_POS_GET_BY_EXEC,
    STMT_POS_OPEN,
    STMT_EVENT_INSERT,
    STMT_EVENTS_RECENT,
    STMT_EQUITY_INSERT,
    STMT_EQUITY_LATEST,
    STMT_CURSOR_GET,
    STMT_CURSOR_SET,
    STMT_SCRIPT_FAILURES_ADD,
    STMT_EXIT_INSERT,
    STMT_EXIT_UPDATE,
    STMT_EXIT_UPDATE_IN_PLACE,
    STMT_EXIT_GET,
    STMT_EXITS_FOR_EXEC,
    STMT_EXITS_WORKING,
    STMT_ATTEMPT_INSERT,
    STMT_ATTEMPT_UPDATE,
    STMT_ATTEMPTS_FOR_EXIT,
    STMT_ATTEMPT_BY_ORDER,
    STMT_REPORT_EXECUTIONS,
    STMT_REPORT_POSITIONS,
    STMT_REPORT_OPEN_ORDERS,
    STMT_REPORT_EXITS,
    STMT_REPORT_EXIT_ATTEMPTS,
    STMT_REPORT_EVENTS,
    STMT_REPORT_EVENTS_OF_KIND,
    STMT_REPORT_EQUITY,
    STMT_REPORT_SUMMARY_EXECUTIONS,
    STMT_REPORT_SUMMARY_EXITS,
    STMT_REPORT_SUMMARY,
    STMT_REPORT_SCRIPT_FAILURES,
    STMT_COUNT_
} store_stmt_id;

struct store {
    sqlite3 *db;
    char *path;
    store_mode mode;
    bool in_batch;
    int units; /* open store_unit_begin levels (SAVEPOINTs) */
    int schema_version;
    char instance_id[9];
    char err[512];
    sqlite3_stmt *stmts[STMT_COUNT_];
    struct order_cache *order_cache; /* store_orders.c; NULL until the first order */
    /* The write-failure latch (store_write_failed). */
    long write_failures;
    apex_error first_write_failure;
    /* The failure injection hook (store_testing.h); count 0 = off. */
    struct {
        char table[32]; /* "" = every write */
        int skip, count;
    } inject;
};

/* store_orders.c: forgets every cached order row (after a rollback or any error, when
 * the rows in SQLite may no longer be the ones last written), or frees the cache. */
void store_order_cache_clear(store *s);
void store_order_cache_free(store *s);

/* Returns the cached statement for `id` (preparing `sql` the first time), reset and with
 * its bindings cleared; NULL with s->err set when the SQL does not compile. */
sqlite3_stmt *store_stmt(store *s, store_stmt_id id, const char *sql);

/* Steps an UPDATE of one row written to leave the row's indexed and foreign-key columns
 * out of its SET and to require them unchanged in its WHERE. 1 when it updated the row,
 * 0 when it matched nothing (those columns changed, or the row is missing: the caller
 * then runs its full UPDATE), < 0 on an error.
 *
 * Why: SQLite rewrites every index that holds a column named in SET, and checks every
 * foreign key named there, whether or not the value changed. Most updates of an
 * execution, an order, a position or an exit leave their status and links as they were,
 * and skipping the index rewrites and the foreign-key look-ups makes them about twice as
 * cheap (docs/performance.md). */
int store_update_in_place(store *s, sqlite3_stmt *st, const char *what);

/* Sets s->err to "<what>: <sqlite message>" and returns the matching APEX_E* code
 * (unique constraint -> APEX_EDUP, busy/locked -> APEX_EBUSY, otherwise APEX_EIO). */
int store_fail(store *s, int rc, const char *what);
int store_failf(store *s, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Every public write function has the same frame, so none can forget the latch or hide
 * its message:
 *     int rc = store_write_injected(s, "executions", "updating an execution");
 *     if (!rc)
 *         rc = <the write>;
 *     return store_write_result(s, rc, err);
 * store_write_injected returns the test hook's failure (APEX_EIO, message in s->err) when
 * one is due for `table`, else 0. store_write_result copies s->err into err (or clears
 * err on success), feeds the latch and returns rc. */
int store_write_injected(store *s, const char *table, const char *what);
/* Hands a freshly opened store the setting of store_test_fail_writes_on_next_open. */
void store_test_apply_next_open(store *s);
int store_write_result(store *s, int rc, apex_error *err);

/* Steps a statement that returns no rows and resets it. 0 or an APEX_E* code. */
int store_step_done(store *s, sqlite3_stmt *st, const char *what);

/* Binding helpers: 0 times and empty strings become NULL, so "not set" reads back as
 * NULL in SQL tools and as 0 / "" in C. */
void store_bind_time(sqlite3_stmt *st, int idx, apex_time t);
void store_bind_text(sqlite3_stmt *st, int idx, const char *text);
void store_bind_id(sqlite3_stmt *st, int idx, int64_t id); /* 0 = NULL */

apex_time store_col_time(sqlite3_stmt *st, int col);
static inline int64_t store_col_id(sqlite3_stmt *st, int col) /* NULL = 0 */
{
    return store_col_time(st, col);
}
void store_col_text(sqlite3_stmt *st, int col, char *buf, size_t buflen);
/* A text column read back into its enum with parse (model/); fallback when the column is
 * NULL or holds a name parse does not know. */
int store_col_enum(sqlite3_stmt *st, int col, int (*parse)(const char *), int fallback);

/* "buy"/"sell" <-> order_side; -1 for an unknown name. */
int store_side_parse(const char *name);

/* Migrates the open database to the newest schema. 0 or an APEX_E* code, message in err. */
int store_schema_migrate(sqlite3 *db, const char *path, int *version, char *err, size_t errlen);
/* For a read-only connection: 0 when the schema is this build's, else the reason. */
int store_schema_check(sqlite3 *db, const char *path, int *version, char *err, size_t errlen);
/* An open-time error message for rc: names the file and, for a corrupt or foreign file
 * or a lock held elsewhere, says what to do. Returns the APEX_E* code. */
int store_db_error(sqlite3 *db, int rc, const char *path, const char *what, char *err,
                   size_t errlen);
/* The newest schema version this build knows. */
int store_schema_latest(void);

/* Statuses as SQL lists, for the queries and the reports that must agree on them. */
#define STORE_ACTIVE_STATUSES     "('pending', 'running', 'monitoring', 'paused')"
#define STORE_OPEN_ORDER_STATUSES "('new', 'accepted', 'held', 'partially_filled')"

/* Row readers shared by the query files and the report queries. Each expects the
 * column list its *_COLUMNS macro names, starting at column 0. */
#define STORE_EXEC_COLUMNS                                                                         \
    "id, pipeline, symbol, status, execution_phase, created_at, updated_at, completed_at, "        \
    "next_check_at, monitor_interval_seconds, bias, side, qty, entry_price, stop_loss, "           \
    "take_profit, realized_pnl, fees, reason, order_seq, retry_count, entry_type, "                \
    "entry_order_price, expire_bars, expire_seconds, expire_at, resting_since"
int store_read_execution(store *s, sqlite3_stmt *st, store_execution *e);

#define STORE_POSITION_COLUMNS                                                                     \
    "position_id, execution_id, symbol, side, quantity, initial_quantity, entry_price, "           \
    "stop_loss, take_profit, status, opened_at, closed_at, realized_pnl, current_price, "          \
    "unrealized_pnl, unrealized_pnl_pct, last_update, trailing_stop_active, peak_price, "          \
    "trailing_stop_price, exit_reason, exit_priority, partial_stages_done"
int store_read_position(store *s, sqlite3_stmt *st, store_position *p);

#define STORE_ORDER_COLUMNS                                                                        \
    "id, execution_id, client_order_id, broker_order_id, parent_client_order_id, role, "           \
    "symbol, side, type, qty, limit_price, stop_price, take_profit, stop_loss, status, "           \
    "filled_qty, avg_fill_price, created_at, submitted_at, updated_at, reason, error"
int store_read_order(store *s, sqlite3_stmt *st, store_order *o);

#define STORE_EXIT_COLUMNS                                                                         \
    "exit_id, position_id, execution_id, exit_reason, exit_priority, detail, exit_quantity, "      \
    "partial_exit, exit_price, execution_strategy, unrealized_pnl, unrealized_pnl_pct, "           \
    "triggered_at, executed_at, status, filled_quantity, attempts"
void store_read_exit(sqlite3_stmt *st, store_position_exit *e);

#define STORE_ATTEMPT_COLUMNS                                                                      \
    "attempt_id, position_id, exit_id, attempt_number, order_type, client_order_id, "              \
    "limit_price, quantity, status, filled_quantity, placed_at"
void store_read_exit_attempt(sqlite3_stmt *st, store_exit_attempt *a);

/* A growable array of rows, so iterators can finish reading (and reset their cached
 * statement) before calling back: callbacks may then use any store function. */
typedef struct {
    void *items;
    size_t count, cap, size;
} store_rows;

void *store_rows_push(store *s, store_rows *rows); /* zeroed slot, or NULL (ENOMEM) */
void store_rows_free(store_rows *rows);

#endif
