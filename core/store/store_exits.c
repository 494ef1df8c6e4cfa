/* store_exits: seed 003's position_exits and exit_attempts.
 *
 * An exit row is written when the evaluator triggers it, before any order goes out, and
 * is kept current as attempts fill; an attempt row is written per order placed. Together
 * they let a restart resume a working exit where it stopped (store_exits_working) and
 * let a broker report about one of our exit orders find its attempt
 * (store_exit_attempt_by_order). */
#include "store/store_internal.h"

#include <stdio.h>
#include <string.h>

#include "util/err.h"

/* The seed's DEFAULT NOW(), in µs: used when the caller leaves a time at 0. */
#define NOW_US "CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)"

static int check_exit(store *s, const store_position_exit *e)
{
    long long id = (long long)e->id;
    if (e->position_id <= 0)
        return store_failf(s, APEX_EINVAL, "exit %lld: position_id must name a position", id);
    if (!e->exit_reason[0])
        return store_failf(s, APEX_EINVAL,
                           "exit %lld: exit_reason is empty; name the condition that fired "
                           "(e.g. \"stop_loss\")",
                           id);
    if (exit_priority_parse(exit_priority_name(e->exit_priority)) < 0)
        return store_failf(s, APEX_EINVAL,
                           "exit %lld (%s): exit_priority %d is not CRITICAL, HIGH, MEDIUM or LOW",
                           id, e->exit_reason, (int)e->exit_priority);
    if (price_strategy_parse(price_strategy_name(e->execution_strategy)) < 0)
        return store_failf(s, APEX_EINVAL,
                           "exit %lld (%s): execution_strategy %d is not market, aggressive, "
                           "fair or conservative",
                           id, e->exit_reason, (int)e->execution_strategy);
    if (exit_status_parse(exit_status_name(e->status)) < 0)
        return store_failf(s, APEX_EINVAL,
                           "exit %lld (%s): status %d is not working, filled, failed or "
                           "cancelled",
                           id, e->exit_reason, (int)e->status);
    if (e->exit_quantity <= 0)
        return store_failf(s, APEX_EINVAL, "exit %lld (%s): exit_quantity must be > 0", id,
                           e->exit_reason);
    if (e->filled_quantity < 0 || e->filled_quantity > e->exit_quantity)
        return store_failf(s, APEX_EINVAL,
                           "exit %lld (%s): filled_quantity must be between 0 and exit_quantity "
                           "(an exit never sells more than it asked for)",
                           id, e->exit_reason);
    if (e->exit_price < 0 || e->attempts < 0)
        return store_failf(s, APEX_EINVAL, "exit %lld (%s): exit_price and attempts must be >= 0",
                           id, e->exit_reason);
    return 0;
}

/* Binds ?1..?16 in the order INSERT and UPDATE share; triggered_at is ?12. */
static void bind_exit(sqlite3_stmt *st, const store_position_exit *e)
{
    sqlite3_bind_int64(st, 1, e->position_id);
    store_bind_id(st, 2, e->execution_id);
    sqlite3_bind_text(st, 3, e->exit_reason, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, exit_priority_name(e->exit_priority), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, e->detail, -1, SQLITE_TRANSIENT); /* NOT NULL column */
    sqlite3_bind_int64(st, 6, e->exit_quantity);
    sqlite3_bind_int(st, 7, e->partial_exit ? 1 : 0);
    sqlite3_bind_int64(st, 8, e->exit_price);
    sqlite3_bind_text(st, 9, price_strategy_name(e->execution_strategy), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 10, e->unrealized_pnl);
    sqlite3_bind_int64(st, 11, e->unrealized_pnl_pct);
    store_bind_time(st, 12, e->triggered_at);
    store_bind_time(st, 13, e->executed_at);
    sqlite3_bind_text(st, 14, exit_status_name(e->status), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 15, e->filled_quantity);
    sqlite3_bind_int(st, 16, e->attempts);
}

void store_read_exit(sqlite3_stmt *st, store_position_exit *e)
{
    memset(e, 0, sizeof *e);
    e->id = sqlite3_column_int64(st, 0);
    e->position_id = store_col_id(st, 1);
    e->execution_id = store_col_id(st, 2);
    store_col_text(st, 3, e->exit_reason, sizeof e->exit_reason);
    e->exit_priority = (exit_priority)store_col_enum(st, 4, exit_priority_parse, EXIT_PRIORITY_LOW);
    store_col_text(st, 5, e->detail, sizeof e->detail);
    e->exit_quantity = sqlite3_column_int64(st, 6);
    e->partial_exit = sqlite3_column_int(st, 7) != 0;
    e->exit_price = sqlite3_column_int64(st, 8);
    e->execution_strategy =
        (price_strategy)store_col_enum(st, 9, price_strategy_parse, PRICE_MARKET);
    e->unrealized_pnl = sqlite3_column_int64(st, 10); /* NULL (a v1 row) reads as 0 */
    e->unrealized_pnl_pct = sqlite3_column_int64(st, 11);
    e->triggered_at = store_col_time(st, 12);
    e->executed_at = store_col_time(st, 13);
    e->status = (exit_status)store_col_enum(st, 14, exit_status_parse, EXIT_STATUS_WORKING);
    e->filled_quantity = sqlite3_column_int64(st, 15);
    e->attempts = sqlite3_column_int(st, 16);
}

/* Steps an INSERT ... RETURNING <id>, <time>[, <owner id>] and hands them back, so the
 * caller's struct holds what the database filled in where the caller left 0. */
static int step_returning(store *s, sqlite3_stmt *st, const char *what, int64_t *id,
                          apex_time *when, int64_t *owner)
{
    int rc = sqlite3_step(st);
    int result = 0;
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(st, 0);
        *when = store_col_time(st, 1);
        if (owner)
            *owner = store_col_id(st, 2);
        rc = sqlite3_step(st); /* DONE: completes the statement, and with it the commit */
    }
    if (rc != SQLITE_DONE)
        result = store_fail(s, rc, what);
    sqlite3_reset(st);
    return result;
}

static int exit_insert(store *s, store_position_exit *e)
{
    int rc = check_exit(s, e);
    if (rc)
        return rc;
    sqlite3_stmt *st = store_stmt(
        s, STMT_EXIT_INSERT,
        "INSERT INTO position_exits(position_id, execution_id, exit_reason, exit_priority, "
        "detail, exit_quantity, partial_exit, exit_price, execution_strategy, unrealized_pnl, "
        "unrealized_pnl_pct, triggered_at, executed_at, status, filled_quantity, attempts) "
        "VALUES (?1, coalesce(?2, (SELECT execution_id FROM positions WHERE position_id = ?1)), "
        "?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, coalesce(?12, " NOW_US "), ?13, ?14, ?15, ?16) "
        "RETURNING exit_id, triggered_at, execution_id");
    if (!st)
        return APEX_EIO;
    bind_exit(st, e);
    int64_t id = 0;
    apex_time triggered = 0;
    int64_t execution_id = 0;
    rc = step_returning(s, st, "recording an exit", &id, &triggered, &execution_id);
    if (rc)
        return rc;
    e->id = id;
    e->execution_id = execution_id;
    e->triggered_at = triggered;
    return 0;
}

static int exit_update(store *s, const store_position_exit *e)
{
    int rc = check_exit(s, e);
    if (rc)
        return rc;
    sqlite3_stmt *st = store_stmt(
        s, STMT_EXIT_UPDATE_IN_PLACE,
        "UPDATE position_exits SET exit_reason = ?3, exit_priority = ?4, detail = ?5, "
        "exit_quantity = ?6, partial_exit = ?7, exit_price = ?8, execution_strategy = ?9, "
        "unrealized_pnl = ?10, unrealized_pnl_pct = ?11, "
        "triggered_at = coalesce(?12, triggered_at), executed_at = ?13, "
        "filled_quantity = ?15, attempts = ?16 WHERE exit_id = ?17 AND position_id IS ?1 "
        "AND execution_id IS ?2 AND status IS ?14");
    if (!st)
        return APEX_EIO;
    bind_exit(st, e);
    sqlite3_bind_int64(st, 17, e->id);
    if ((rc = store_update_in_place(s, st, "updating an exit")) != 0)
        return rc < 0 ? rc : 0;
    st = store_stmt(
        s, STMT_EXIT_UPDATE,
        "UPDATE position_exits SET position_id = ?1, execution_id = ?2, exit_reason = ?3, "
        "exit_priority = ?4, detail = ?5, exit_quantity = ?6, partial_exit = ?7, "
        "exit_price = ?8, execution_strategy = ?9, unrealized_pnl = ?10, "
        "unrealized_pnl_pct = ?11, triggered_at = coalesce(?12, triggered_at), "
        "executed_at = ?13, status = ?14, filled_quantity = ?15, attempts = ?16 "
        "WHERE exit_id = ?17");
    if (!st)
        return APEX_EIO;
    bind_exit(st, e);
    sqlite3_bind_int64(st, 17, e->id);
    rc = store_step_done(s, st, "updating an exit");
    if (!rc && sqlite3_changes(s->db) == 0)
        return store_failf(s, APEX_ENOTFOUND, "exit %lld does not exist", (long long)e->id);
    return rc;
}

int store_exit_insert(store *s, store_position_exit *e, apex_error *err)
{
    int rc = store_write_injected(s, "position_exits", "recording an exit");
    if (!rc)
        rc = exit_insert(s, e);
    return store_write_result(s, rc, err);
}

int store_exit_update(store *s, const store_position_exit *e, apex_error *err)
{
    int rc = store_write_injected(s, "position_exits", "updating an exit");
    if (!rc)
        rc = exit_update(s, e);
    return store_write_result(s, rc, err);
}

int store_exit_get(store *s, int64_t exit_id, store_position_exit *out)
{
    sqlite3_stmt *st = store_stmt(
        s, STMT_EXIT_GET, "SELECT " STORE_EXIT_COLUMNS " FROM position_exits WHERE exit_id = ?1");
    if (!st)
        return APEX_EIO;
    sqlite3_bind_int64(st, 1, exit_id);
    int rc = sqlite3_step(st);
    int result = 0;
    if (rc == SQLITE_ROW)
        store_read_exit(st, out);
    else if (rc == SQLITE_DONE)
        result = store_failf(s, APEX_ENOTFOUND, "exit %lld does not exist", (long long)exit_id);
    else
        result = store_fail(s, rc, "reading an exit");
    sqlite3_reset(st);
    return result;
}

/* Reads every row before calling back, so callbacks may write (e.g. update the exit). */
static int each_exit(store *s, sqlite3_stmt *st, int (*fn)(void *, const store_position_exit *),
                     void *ud)
{
    store_rows rows = {.size = sizeof(store_position_exit)};
    int rc, result = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        store_position_exit *e = store_rows_push(s, &rows);
        if (!e) {
            result = APEX_ENOMEM;
            break;
        }
        store_read_exit(st, e);
    }
    if (!result && rc != SQLITE_DONE)
        result = store_fail(s, rc, "listing exits");
    sqlite3_reset(st);
    const store_position_exit *items = rows.items;
    for (size_t i = 0; !result && i < rows.count; i++)
        if (fn(ud, &items[i]))
            break;
    store_rows_free(&rows);
    return result;
}

int store_exits_for_execution(store *s, int64_t execution_id,
                              int (*fn)(void *ud, const store_position_exit *e), void *ud)
{
    sqlite3_stmt *st = store_stmt(s, STMT_EXITS_FOR_EXEC,
                                  "SELECT " STORE_EXIT_COLUMNS " FROM position_exits "
                                  "WHERE execution_id = ?1 ORDER BY exit_id");
    if (!st)
        return APEX_EIO;
    sqlite3_bind_int64(st, 1, execution_id);
    return each_exit(s, st, fn, ud);
}

int store_exits_working(store *s, int (*fn)(void *ud, const store_position_exit *e), void *ud)
{
    sqlite3_stmt *st = store_stmt(s, STMT_EXITS_WORKING,
                                  "SELECT " STORE_EXIT_COLUMNS " FROM position_exits "
                                  "WHERE status = 'working' ORDER BY exit_id");
    if (!st)
        return APEX_EIO;
    return each_exit(s, st, fn, ud);
}

/* ---- attempts ------------------------------------------------------------------------ */

static int check_attempt(store *s, const store_exit_attempt *a)
{
    long long id = (long long)a->id;
    if (a->exit_id <= 0 || a->position_id <= 0)
        return store_failf(s, APEX_EINVAL,
                           "exit attempt %lld: exit_id and position_id must name the exit and "
                           "its position",
                           id);
    if (a->attempt_number < 1)
        return store_failf(s, APEX_EINVAL,
                           "exit attempt %lld (exit %lld): attempt_number starts at 1", id,
                           (long long)a->exit_id);
    if (a->order_type != ORDER_MARKET && a->order_type != ORDER_LIMIT)
        return store_failf(s, APEX_EINVAL,
                           "exit attempt %lld (exit %lld): order_type %s is not market or limit",
                           id, (long long)a->exit_id, order_type_name(a->order_type));
    if (order_status_parse(order_status_name(a->status)) < 0)
        return store_failf(s, APEX_EINVAL,
                           "exit attempt %lld (exit %lld): status %d is not an order status", id,
                           (long long)a->exit_id, (int)a->status);
    if (a->quantity <= 0 || a->filled_quantity < 0 || a->filled_quantity > a->quantity)
        return store_failf(s, APEX_EINVAL,
                           "exit attempt %lld (exit %lld): quantity must be > 0 and "
                           "filled_quantity between 0 and quantity",
                           id, (long long)a->exit_id);
    if (a->limit_price < 0 || (a->order_type == ORDER_LIMIT && a->limit_price == 0))
        return store_failf(s, APEX_EINVAL,
                           "exit attempt %lld (exit %lld): a limit order needs limit_price > 0", id,
                           (long long)a->exit_id);
    return 0;
}

/* Binds ?1..?10 in the order INSERT and UPDATE share; placed_at is ?10. */
static void bind_attempt(sqlite3_stmt *st, const store_exit_attempt *a)
{
    sqlite3_bind_int64(st, 1, a->position_id);
    sqlite3_bind_int64(st, 2, a->exit_id);
    sqlite3_bind_int(st, 3, a->attempt_number);
    sqlite3_bind_text(st, 4, order_type_name(a->order_type), -1, SQLITE_STATIC);
    store_bind_text(st, 5, a->client_order_id);
    sqlite3_bind_int64(st, 6, a->limit_price);
    sqlite3_bind_int64(st, 7, a->quantity);
    sqlite3_bind_text(st, 8, order_status_name(a->status), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 9, a->filled_quantity);
    store_bind_time(st, 10, a->placed_at);
}

void store_read_exit_attempt(sqlite3_stmt *st, store_exit_attempt *a)
{
    memset(a, 0, sizeof *a);
    a->id = sqlite3_column_int64(st, 0);
    a->position_id = store_col_id(st, 1);
    a->exit_id = store_col_id(st, 2);
    a->attempt_number = sqlite3_column_int(st, 3);
    a->order_type = (order_type)store_col_enum(st, 4, order_type_parse, ORDER_MARKET);
    store_col_text(st, 5, a->client_order_id, sizeof a->client_order_id);
    a->limit_price = sqlite3_column_int64(st, 6);
    a->quantity = sqlite3_column_int64(st, 7);
    a->status = (order_status)store_col_enum(st, 8, order_status_parse, ORDER_STATUS_NEW);
    a->filled_quantity = sqlite3_column_int64(st, 9);
    a->placed_at = store_col_time(st, 10);
}

static int attempt_dup(store *s, const store_exit_attempt *a)
{
    return store_failf(s, APEX_EDUP,
                       "client order id %s is already recorded for another exit attempt; each "
                       "attempt places a new order with a new id",
                       a->client_order_id);
}

static int attempt_insert(store *s, store_exit_attempt *a)
{
    int rc = check_attempt(s, a);
    if (rc)
        return rc;
    sqlite3_stmt *st =
        store_stmt(s, STMT_ATTEMPT_INSERT,
                   "INSERT INTO exit_attempts(position_id, exit_id, attempt_number, order_type, "
                   "client_order_id, limit_price, quantity, status, filled_quantity, placed_at) "
                   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, coalesce(?10, " NOW_US "))"
                   " RETURNING attempt_id, placed_at");
    if (!st)
        return APEX_EIO;
    bind_attempt(st, a);
    int64_t id = 0;
    apex_time placed = 0;
    rc = step_returning(s, st, "recording an exit attempt", &id, &placed, NULL);
    if (rc == APEX_EDUP)
        return attempt_dup(s, a);
    if (rc)
        return rc;
    a->id = id;
    a->placed_at = placed;
    return 0;
}

static int attempt_update(store *s, const store_exit_attempt *a)
{
    int rc = check_attempt(s, a);
    if (rc)
        return rc;
    sqlite3_stmt *st = store_stmt(
        s, STMT_ATTEMPT_UPDATE,
        "UPDATE exit_attempts SET position_id = ?1, exit_id = ?2, attempt_number = ?3, "
        "order_type = ?4, client_order_id = ?5, limit_price = ?6, quantity = ?7, status = ?8, "
        "filled_quantity = ?9, placed_at = coalesce(?10, placed_at) WHERE attempt_id = ?11");
    if (!st)
        return APEX_EIO;
    bind_attempt(st, a);
    sqlite3_bind_int64(st, 11, a->id);
    rc = store_step_done(s, st, "updating an exit attempt");
    if (rc == APEX_EDUP)
        return attempt_dup(s, a);
    if (!rc && sqlite3_changes(s->db) == 0)
        return store_failf(s, APEX_ENOTFOUND, "exit attempt %lld does not exist", (long long)a->id);
    return rc;
}

int store_exit_attempt_insert(store *s, store_exit_attempt *a, apex_error *err)
{
    int rc = store_write_injected(s, "exit_attempts", "recording an exit attempt");
    if (!rc)
        rc = attempt_insert(s, a);
    return store_write_result(s, rc, err);
}

int store_exit_attempt_update(store *s, const store_exit_attempt *a, apex_error *err)
{
    int rc = store_write_injected(s, "exit_attempts", "updating an exit attempt");
    if (!rc)
        rc = attempt_update(s, a);
    return store_write_result(s, rc, err);
}

int store_exit_attempts_for_exit(store *s, int64_t exit_id,
                                 int (*fn)(void *ud, const store_exit_attempt *a), void *ud)
{
    sqlite3_stmt *st = store_stmt(s, STMT_ATTEMPTS_FOR_EXIT,
                                  "SELECT " STORE_ATTEMPT_COLUMNS " FROM exit_attempts "
                                  "WHERE exit_id = ?1 ORDER BY attempt_number, attempt_id");
    if (!st)
        return APEX_EIO;
    sqlite3_bind_int64(st, 1, exit_id);
    store_rows rows = {.size = sizeof(store_exit_attempt)};
    int rc, result = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        store_exit_attempt *a = store_rows_push(s, &rows);
        if (!a) {
            result = APEX_ENOMEM;
            break;
        }
        store_read_exit_attempt(st, a);
    }
    if (!result && rc != SQLITE_DONE)
        result = store_fail(s, rc, "listing exit attempts");
    sqlite3_reset(st);
    const store_exit_attempt *items = rows.items;
    for (size_t i = 0; !result && i < rows.count; i++)
        if (fn(ud, &items[i]))
            break;
    store_rows_free(&rows);
    return result;
}

int store_exit_attempt_by_order(store *s, const char *client_order_id, store_exit_attempt *out)
{
    if (!client_order_id || !*client_order_id)
        return store_failf(s, APEX_EINVAL, "looking up an exit attempt needs a client order id");
    sqlite3_stmt *st = store_stmt(s, STMT_ATTEMPT_BY_ORDER,
                                  "SELECT " STORE_ATTEMPT_COLUMNS
                                  " FROM exit_attempts WHERE client_order_id = ?1");
    if (!st)
        return APEX_EIO;
    sqlite3_bind_text(st, 1, client_order_id, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    int result = 0;
    if (rc == SQLITE_ROW)
        store_read_exit_attempt(st, out);
    else if (rc == SQLITE_DONE)
        result = store_failf(s, APEX_ENOTFOUND, "no exit attempt placed order %s", client_order_id);
    else
        result = store_fail(s, rc, "reading an exit attempt");
    sqlite3_reset(st);
    return result;
}
