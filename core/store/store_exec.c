/* store_exec: the executions table (one pipeline run for one symbol, seed 000). */
#include "store/store_internal.h"

#include <stdio.h>
#include <string.h>

#include "util/err.h"

/* Binds every column but id, in STORE_EXEC_COLUMNS order, starting at ?1. */
static int bind_execution(store *s, sqlite3_stmt *st, const store_execution *e)
{
    if (!e->pipeline[0] || !e->symbol[0])
        return store_failf(s, APEX_EINVAL,
                           "execution %lld: pipeline and symbol are required (got '%s', '%s')",
                           (long long)e->id, e->pipeline, e->symbol);
    if (exec_status_parse(exec_status_name(e->status)) < 0)
        return store_failf(s, APEX_EINVAL, "execution %lld: status %d is not a known status",
                           (long long)e->id, (int)e->status);
    if (e->side != -1 && e->side != SIDE_BUY && e->side != SIDE_SELL)
        return store_failf(s, APEX_EINVAL, "execution %lld: side %d is not buy, sell or -1",
                           (long long)e->id, e->side);
    sqlite3_bind_text(st, 1, e->pipeline, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, e->symbol, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, exec_status_name(e->status), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, e->phase[0] ? e->phase : "execute", -1, SQLITE_TRANSIENT);
    store_bind_time(st, 5, e->created_at);
    store_bind_time(st, 6, e->updated_at);
    store_bind_time(st, 7, e->completed_at);
    store_bind_time(st, 8, e->next_check_at);
    sqlite3_bind_int(st, 9, e->monitor_interval_s);
    store_bind_text(st, 10, e->bias);
    store_bind_text(st, 11, e->side < 0 ? NULL : order_side_name((order_side)e->side));
    sqlite3_bind_int64(st, 12, e->qty);
    sqlite3_bind_int64(st, 13, e->entry_price);
    sqlite3_bind_int64(st, 14, e->stop_loss);
    sqlite3_bind_int64(st, 15, e->take_profit);
    sqlite3_bind_int64(st, 16, e->realized_pnl);
    sqlite3_bind_int64(st, 17, e->fees);
    store_bind_text(st, 18, e->reason);
    sqlite3_bind_int(st, 19, e->order_seq);
    sqlite3_bind_int(st, 20, e->retry_count);
    store_bind_text(st, 21, e->entry_typed ? order_type_name(e->entry_type) : NULL);
    sqlite3_bind_int64(st, 22, e->entry_order_price);
    sqlite3_bind_int(st, 23, e->expire_bars);
    sqlite3_bind_int64(st, 24, e->expire_seconds);
    store_bind_time(st, 25, e->expire_at);
    store_bind_time(st, 26, e->resting_since);
    return 0;
}

int store_read_execution(store *s, sqlite3_stmt *st, store_execution *e)
{
    char name[32];
    memset(e, 0, sizeof *e);
    e->id = sqlite3_column_int64(st, 0);
    store_col_text(st, 1, e->pipeline, sizeof e->pipeline);
    store_col_text(st, 2, e->symbol, sizeof e->symbol);
    store_col_text(st, 3, name, sizeof name);
    int status = exec_status_parse(name);
    if (status < 0)
        return store_failf(s, APEX_EIO,
                           "executions row %lld has unknown status '%s'; fix it with the "
                           "sqlite3 shell or upgrade apex-host",
                           (long long)e->id, name);
    e->status = (exec_status)status;
    store_col_text(st, 4, e->phase, sizeof e->phase);
    e->created_at = store_col_time(st, 5);
    e->updated_at = store_col_time(st, 6);
    e->completed_at = store_col_time(st, 7);
    e->next_check_at = store_col_time(st, 8);
    e->monitor_interval_s = sqlite3_column_int(st, 9);
    store_col_text(st, 10, e->bias, sizeof e->bias);
    store_col_text(st, 11, name, sizeof name);
    e->side = name[0] ? store_side_parse(name) : -1;
    e->qty = sqlite3_column_int64(st, 12);
    e->entry_price = sqlite3_column_int64(st, 13);
    e->stop_loss = sqlite3_column_int64(st, 14);
    e->take_profit = sqlite3_column_int64(st, 15);
    e->realized_pnl = sqlite3_column_int64(st, 16);
    e->fees = sqlite3_column_int64(st, 17);
    store_col_text(st, 18, e->reason, sizeof e->reason);
    e->order_seq = sqlite3_column_int(st, 19);
    e->retry_count = sqlite3_column_int(st, 20);
    store_col_text(st, 21, name, sizeof name);
    if (name[0]) {
        int type = order_type_parse(name);
        if (type < 0)
            return store_failf(s, APEX_EIO,
                               "executions row %lld has unknown entry_type '%s'; fix it with the "
                               "sqlite3 shell or upgrade apex-host",
                               (long long)e->id, name);
        e->entry_typed = true;
        e->entry_type = (order_type)type;
    }
    e->entry_order_price = sqlite3_column_int64(st, 22);
    e->expire_bars = sqlite3_column_int(st, 23);
    e->expire_seconds = sqlite3_column_int64(st, 24);
    e->expire_at = store_col_time(st, 25);
    e->resting_since = store_col_time(st, 26);
    return 0;
}

static int execution_insert(store *s, store_execution *e)
{
    sqlite3_stmt *st = store_stmt(
        s, STMT_EXEC_INSERT,
        "INSERT INTO executions(pipeline, symbol, status, execution_phase, created_at, "
        "updated_at, completed_at, next_check_at, monitor_interval_seconds, bias, side, qty, "
        "entry_price, stop_loss, take_profit, realized_pnl, fees, reason, order_seq, "
        "retry_count, entry_type, entry_order_price, expire_bars, expire_seconds, expire_at, "
        "resting_since) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
        "?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26)");
    if (!st)
        return APEX_EIO;
    int rc = bind_execution(s, st, e);
    if (!rc)
        rc = store_step_done(s, st, "inserting an execution");
    if (!rc)
        e->id = sqlite3_last_insert_rowid(s->db);
    return rc;
}

static int execution_update(store *s, const store_execution *e)
{
    sqlite3_stmt *st = store_stmt(
        s, STMT_EXEC_UPDATE_IN_PLACE,
        "UPDATE executions SET symbol = ?2, execution_phase = ?4, created_at = ?5, "
        "updated_at = ?6, completed_at = ?7, next_check_at = ?8, monitor_interval_seconds = ?9, "
        "bias = ?10, side = ?11, qty = ?12, entry_price = ?13, stop_loss = ?14, "
        "take_profit = ?15, realized_pnl = ?16, fees = ?17, reason = ?18, order_seq = ?19, "
        "retry_count = ?20, entry_type = ?21, entry_order_price = ?22, expire_bars = ?23, "
        "expire_seconds = ?24, expire_at = ?25, resting_since = ?26 "
        "WHERE id = ?27 AND pipeline = ?1 AND status = ?3");
    if (!st)
        return APEX_EIO;
    int rc = bind_execution(s, st, e);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 27, e->id);
    rc = store_update_in_place(s, st, "updating an execution");
    if (rc != 0)
        return rc < 0 ? rc : 0;
    st = store_stmt(
        s, STMT_EXEC_UPDATE,
        "UPDATE executions SET pipeline = ?1, symbol = ?2, status = ?3, execution_phase = ?4, "
        "created_at = ?5, updated_at = ?6, completed_at = ?7, next_check_at = ?8, "
        "monitor_interval_seconds = ?9, bias = ?10, side = ?11, qty = ?12, entry_price = ?13, "
        "stop_loss = ?14, take_profit = ?15, realized_pnl = ?16, fees = ?17, reason = ?18, "
        "order_seq = ?19, retry_count = ?20, entry_type = ?21, entry_order_price = ?22, "
        "expire_bars = ?23, expire_seconds = ?24, expire_at = ?25, resting_since = ?26 "
        "WHERE id = ?27");
    if (!st)
        return APEX_EIO;
    if ((rc = bind_execution(s, st, e)) != 0)
        return rc;
    sqlite3_bind_int64(st, 27, e->id);
    rc = store_step_done(s, st, "updating an execution");
    if (!rc && sqlite3_changes(s->db) == 0)
        return store_failf(s, APEX_ENOTFOUND, "execution %lld does not exist", (long long)e->id);
    return rc;
}

int store_execution_insert(store *s, store_execution *e, apex_error *err)
{
    int rc = store_write_injected(s, "executions", "inserting an execution");
    if (!rc)
        rc = execution_insert(s, e);
    return store_write_result(s, rc, err);
}

int store_execution_update(store *s, const store_execution *e, apex_error *err)
{
    int rc = store_write_injected(s, "executions", "updating an execution");
    if (!rc)
        rc = execution_update(s, e);
    return store_write_result(s, rc, err);
}

int store_execution_get(store *s, int64_t id, store_execution *out)
{
    sqlite3_stmt *st =
        store_stmt(s, STMT_EXEC_GET, "SELECT " STORE_EXEC_COLUMNS " FROM executions WHERE id = ?1");
    if (!st)
        return APEX_EIO;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    int result;
    if (rc == SQLITE_ROW)
        result = store_read_execution(s, st, out);
    else if (rc == SQLITE_DONE)
        result = store_failf(s, APEX_ENOTFOUND, "execution %lld does not exist", (long long)id);
    else
        result = store_fail(s, rc, "reading an execution");
    sqlite3_reset(st);
    return result;
}

/* Reads every row first, then calls back, so fn may use the store freely. */
static int each_execution(store *s, sqlite3_stmt *st, int (*fn)(void *, const store_execution *),
                          void *ud)
{
    store_rows rows = {.size = sizeof(store_execution)};
    int rc, result = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        store_execution *e = store_rows_push(s, &rows);
        if (!e) {
            result = APEX_ENOMEM;
            break;
        }
        if ((result = store_read_execution(s, st, e)))
            break;
    }
    if (!result && rc != SQLITE_DONE)
        result = store_fail(s, rc, "listing executions");
    sqlite3_reset(st);
    const store_execution *items = rows.items;
    for (size_t i = 0; !result && i < rows.count; i++)
        if (fn(ud, &items[i]))
            break;
    store_rows_free(&rows);
    return result;
}

int store_executions_active(store *s, const char *pipeline,
                            int (*fn)(void *ud, const store_execution *e), void *ud)
{
    sqlite3_stmt *st = store_stmt(s, STMT_EXEC_ACTIVE,
                                  "SELECT " STORE_EXEC_COLUMNS " FROM executions "
                                  "WHERE status IN " STORE_ACTIVE_STATUSES
                                  " AND (?1 IS NULL OR pipeline = ?1) ORDER BY id");
    if (!st)
        return APEX_EIO;
    store_bind_text(st, 1, pipeline);
    return each_execution(s, st, fn, ud);
}

int store_executions_recent(store *s, int limit, int (*fn)(void *ud, const store_execution *e),
                            void *ud)
{
    sqlite3_stmt *st =
        store_stmt(s, STMT_EXEC_RECENT,
                   "SELECT " STORE_EXEC_COLUMNS " FROM executions ORDER BY id DESC LIMIT ?1");
    if (!st)
        return APEX_EIO;
    sqlite3_bind_int(st, 1, limit < 0 ? 0 : limit);
    return each_execution(s, st, fn, ud);
}

int store_execution_count(store *s, const char *pipeline, int status)
{
    sqlite3_stmt *st = store_stmt(s, STMT_EXEC_COUNT,
                                  "SELECT count(*) FROM executions WHERE "
                                  "(?1 IS NULL OR pipeline = ?1) AND (?2 IS NULL OR status = ?2)");
    if (!st)
        return APEX_EIO;
    store_bind_text(st, 1, pipeline);
    if (status >= 0)
        sqlite3_bind_text(st, 2, exec_status_name((exec_status)status), -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int result =
        rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : store_fail(s, rc, "counting executions");
    sqlite3_reset(st);
    return result;
}
