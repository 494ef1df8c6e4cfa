/* store_positions: one row per filled entry, with seed 003's monitoring columns so a
 * restart resumes trailing stops and partial exits exactly where they were. */
#include "store/store_internal.h"

#include <stdio.h>
#include <string.h>

#include "util/err.h"

static int bind_position(store *s, sqlite3_stmt *st, const store_position *p)
{
    if (!p->symbol[0] || store_side_parse(order_side_name((order_side)p->side)) < 0)
        return store_failf(s, APEX_EINVAL,
                           "position %lld: needs a symbol and a buy (long) or sell (short) side",
                           (long long)p->id);
    if (p->qty < 0 || p->initial_qty < 0)
        return store_failf(s, APEX_EINVAL,
                           "position %lld (%s): quantities are unsigned; the side gives the "
                           "direction",
                           (long long)p->id, p->symbol);
    store_bind_id(st, 1, p->execution_id);
    sqlite3_bind_text(st, 2, p->symbol, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, order_side_name((order_side)p->side), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, p->qty);
    sqlite3_bind_int64(st, 5, p->initial_qty);
    sqlite3_bind_int64(st, 6, p->entry_price);
    sqlite3_bind_int64(st, 7, p->stop_loss);
    sqlite3_bind_int64(st, 8, p->take_profit);
    sqlite3_bind_text(st, 9, p->open ? "open" : "closed", -1, SQLITE_STATIC);
    store_bind_time(st, 10, p->opened_at);
    store_bind_time(st, 11, p->closed_at);
    sqlite3_bind_int64(st, 12, p->realized_pnl);
    sqlite3_bind_int64(st, 13, p->current_price);
    sqlite3_bind_int64(st, 14, p->unrealized_pnl);
    sqlite3_bind_int64(st, 15, p->unrealized_pnl_pct);
    store_bind_time(st, 16, p->last_update);
    sqlite3_bind_int(st, 17, p->trailing_stop_active ? 1 : 0);
    sqlite3_bind_int64(st, 18, p->peak_price);
    sqlite3_bind_int64(st, 19, p->trailing_stop_price);
    store_bind_text(st, 20, p->exit_reason);
    store_bind_text(st, 21, p->exit_priority);
    sqlite3_bind_int(st, 22, p->partial_stages_done);
    return 0;
}

int store_read_position(store *s, sqlite3_stmt *st, store_position *p)
{
    char side[16], status[16];
    memset(p, 0, sizeof *p);
    p->id = sqlite3_column_int64(st, 0);
    p->execution_id = store_col_id(st, 1);
    store_col_text(st, 2, p->symbol, sizeof p->symbol);
    store_col_text(st, 3, side, sizeof side);
    p->qty = sqlite3_column_int64(st, 4);
    p->initial_qty = sqlite3_column_int64(st, 5);
    p->entry_price = sqlite3_column_int64(st, 6);
    p->stop_loss = sqlite3_column_int64(st, 7);
    p->take_profit = sqlite3_column_int64(st, 8);
    store_col_text(st, 9, status, sizeof status);
    p->open = strcmp(status, "open") == 0;
    p->opened_at = store_col_time(st, 10);
    p->closed_at = store_col_time(st, 11);
    p->realized_pnl = sqlite3_column_int64(st, 12);
    p->current_price = sqlite3_column_int64(st, 13);
    p->unrealized_pnl = sqlite3_column_int64(st, 14);
    p->unrealized_pnl_pct = sqlite3_column_int64(st, 15);
    p->last_update = store_col_time(st, 16);
    p->trailing_stop_active = sqlite3_column_int(st, 17) != 0;
    p->peak_price = sqlite3_column_int64(st, 18);
    p->trailing_stop_price = sqlite3_column_int64(st, 19);
    store_col_text(st, 20, p->exit_reason, sizeof p->exit_reason);
    store_col_text(st, 21, p->exit_priority, sizeof p->exit_priority);
    p->partial_stages_done = sqlite3_column_int(st, 22);
    p->side = store_side_parse(side);
    if (p->side < 0)
        return store_failf(s, APEX_EIO, "positions row %lld has unknown side '%s'",
                           (long long)p->id, side);
    return 0;
}

static int position_insert(store *s, store_position *p)
{
    sqlite3_stmt *st = store_stmt(
        s, STMT_POS_INSERT,
        "INSERT INTO positions(execution_id, symbol, side, quantity, initial_quantity, "
        "entry_price, stop_loss, take_profit, status, opened_at, closed_at, realized_pnl, "
        "current_price, unrealized_pnl, unrealized_pnl_pct, last_update, trailing_stop_active, "
        "peak_price, trailing_stop_price, exit_reason, exit_priority, partial_stages_done) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, "
        "?18, ?19, ?20, ?21, ?22)");
    if (!st)
        return APEX_EIO;
    int rc = bind_position(s, st, p);
    if (!rc)
        rc = store_step_done(s, st, "inserting a position");
    if (!rc)
        p->id = sqlite3_last_insert_rowid(s->db);
    return rc;
}

static int position_update(store *s, const store_position *p)
{
    sqlite3_stmt *st =
        store_stmt(s, STMT_POS_UPDATE_IN_PLACE,
                   "UPDATE positions SET symbol = ?2, side = ?3, quantity = ?4, "
                   "initial_quantity = ?5, entry_price = ?6, stop_loss = ?7, take_profit = ?8, "
                   "opened_at = ?10, closed_at = ?11, realized_pnl = ?12, "
                   "current_price = ?13, unrealized_pnl = ?14, unrealized_pnl_pct = ?15, "
                   "last_update = ?16, trailing_stop_active = ?17, peak_price = ?18, "
                   "trailing_stop_price = ?19, exit_reason = ?20, exit_priority = ?21, "
                   "partial_stages_done = ?22 "
                   "WHERE position_id = ?23 AND execution_id IS ?1 AND status IS ?9");
    if (!st)
        return APEX_EIO;
    int rc = bind_position(s, st, p);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 23, p->id);
    if ((rc = store_update_in_place(s, st, "updating a position")) != 0)
        return rc < 0 ? rc : 0;
    st =
        store_stmt(s, STMT_POS_UPDATE,
                   "UPDATE positions SET execution_id = ?1, symbol = ?2, side = ?3, quantity = ?4, "
                   "initial_quantity = ?5, entry_price = ?6, stop_loss = ?7, take_profit = ?8, "
                   "status = ?9, opened_at = ?10, closed_at = ?11, realized_pnl = ?12, "
                   "current_price = ?13, unrealized_pnl = ?14, unrealized_pnl_pct = ?15, "
                   "last_update = ?16, trailing_stop_active = ?17, peak_price = ?18, "
                   "trailing_stop_price = ?19, exit_reason = ?20, exit_priority = ?21, "
                   "partial_stages_done = ?22 WHERE position_id = ?23");
    if (!st)
        return APEX_EIO;
    if ((rc = bind_position(s, st, p)) != 0)
        return rc;
    sqlite3_bind_int64(st, 23, p->id);
    rc = store_step_done(s, st, "updating a position");
    if (!rc && sqlite3_changes(s->db) == 0)
        return store_failf(s, APEX_ENOTFOUND, "position %lld does not exist", (long long)p->id);
    return rc;
}

int store_position_insert(store *s, store_position *p, apex_error *err)
{
    int rc = store_write_injected(s, "positions", "inserting a position");
    if (!rc)
        rc = position_insert(s, p);
    return store_write_result(s, rc, err);
}

int store_position_update(store *s, const store_position *p, apex_error *err)
{
    int rc = store_write_injected(s, "positions", "updating a position");
    if (!rc)
        rc = position_update(s, p);
    return store_write_result(s, rc, err);
}

int store_position_get_by_execution(store *s, int64_t execution_id, store_position *out)
{
    /* An execution has one position; if a re-entry ever made two, the open one matters. */
    sqlite3_stmt *st = store_stmt(s, STMT_POS_GET_BY_EXEC,
                                  "SELECT " STORE_POSITION_COLUMNS " FROM positions "
                                  "WHERE execution_id = ?1 "
                                  "ORDER BY status = 'open' DESC, position_id DESC LIMIT 1");
    if (!st)
        return APEX_EIO;
    sqlite3_bind_int64(st, 1, execution_id);
    int rc = sqlite3_step(st);
    int result;
    if (rc == SQLITE_ROW)
        result = store_read_position(s, st, out);
    else if (rc == SQLITE_DONE)
        result = store_failf(s, APEX_ENOTFOUND, "execution %lld has no position",
                             (long long)execution_id);
    else
        result = store_fail(s, rc, "reading a position");
    sqlite3_reset(st);
    return result;
}

int store_positions_open(store *s, int (*fn)(void *ud, const store_position *p), void *ud)
{
    sqlite3_stmt *st = store_stmt(s, STMT_POS_OPEN,
                                  "SELECT " STORE_POSITION_COLUMNS
                                  " FROM positions WHERE status = 'open' ORDER BY position_id");
    if (!st)
        return APEX_EIO;
    store_rows rows = {.size = sizeof(store_position)};
    int rc, result = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        store_position *p = store_rows_push(s, &rows);
        if (!p) {
            result = APEX_ENOMEM;
            break;
        }
        if ((result = store_read_position(s, st, p)))
            break;
    }
    if (!result && rc != SQLITE_DONE)
        result = store_fail(s, rc, "listing open positions");
    sqlite3_reset(st);
    const store_position *items = rows.items;
    for (size_t i = 0; !result && i < rows.count; i++)
        if (fn(ud, &items[i]))
            break;
    store_rows_free(&rows);
    return result;
}
