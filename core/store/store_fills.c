/* store_fills: the ledger. Unique on the broker's fill id, so a fill replayed after a
 * reconnect or a restart is refused (APEX_EDUP) and never counted twice. */
#include "store/store_internal.h"

#include <stdio.h>
#include <string.h>

#include "util/err.h"

static int fill_insert(store *s, store_fill *f)
{
    const broker_fill *b = &f->f;
    if (!b->fill_id[0])
        return store_failf(s, APEX_EINVAL, "fill for order %s has no fill_id", b->client_order_id);
    if (!b->symbol[0] || b->qty <= 0 || b->price <= 0 || b->fee < 0 ||
        store_side_parse(order_side_name(b->side)) < 0)
        return store_failf(s, APEX_EINVAL,
                           "fill %s: needs a symbol, a buy/sell side, qty > 0, price > 0 and "
                           "fee >= 0",
                           b->fill_id);
    sqlite3_stmt *st = store_stmt(
        s, STMT_FILL_INSERT,
        "INSERT INTO fills(execution_id, order_client_id, fill_id, symbol, side, qty, price, "
        "fee, ts) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    if (!st)
        return APEX_EIO;
    store_bind_id(st, 1, f->execution_id);
    store_bind_text(st, 2, b->client_order_id);
    sqlite3_bind_text(st, 3, b->fill_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, b->symbol, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, order_side_name(b->side), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, b->qty);
    sqlite3_bind_int64(st, 7, b->price);
    sqlite3_bind_int64(st, 8, b->fee);
    sqlite3_bind_int64(st, 9, b->ts);
    /* A unique violation aborts only this statement, so an open batch stays intact. */
    int rc = store_step_done(s, st, "recording a fill");
    if (rc == APEX_EDUP)
        return store_failf(s, APEX_EDUP, "fill %s is already recorded (a replay; ignore it)",
                           b->fill_id);
    if (!rc)
        f->id = sqlite3_last_insert_rowid(s->db);
    return rc;
}

int store_fill_insert(store *s, store_fill *f, apex_error *err)
{
    int rc = store_write_injected(s, "fills", "recording a fill");
    if (!rc)
        rc = fill_insert(s, f);
    return store_write_result(s, rc, err);
}

static int read_fill(store *s, sqlite3_stmt *st, store_fill *f)
{
    broker_fill *b = &f->f;
    char side[16];
    memset(f, 0, sizeof *f);
    f->id = sqlite3_column_int64(st, 0);
    f->execution_id = store_col_id(st, 1);
    store_col_text(st, 2, b->client_order_id, sizeof b->client_order_id);
    store_col_text(st, 3, b->fill_id, sizeof b->fill_id);
    store_col_text(st, 4, b->symbol, sizeof b->symbol);
    store_col_text(st, 5, side, sizeof side);
    b->qty = sqlite3_column_int64(st, 6);
    b->price = sqlite3_column_int64(st, 7);
    b->fee = sqlite3_column_int64(st, 8);
    b->ts = sqlite3_column_int64(st, 9);
    int sd = store_side_parse(side);
    if (sd < 0)
        return store_failf(s, APEX_EIO, "fills row %s has unknown side '%s'", b->fill_id, side);
    b->side = (order_side)sd;
    return 0;
}

int store_fills_for_execution(store *s, int64_t execution_id,
                              int (*fn)(void *ud, const store_fill *f), void *ud)
{
    sqlite3_stmt *st = store_stmt(
        s, STMT_FILLS_FOR_EXEC,
        "SELECT id, execution_id, order_client_id, fill_id, symbol, side, qty, price, fee, ts "
        "FROM fills WHERE execution_id = ?1 ORDER BY ts, id");
    if (!st)
        return APEX_EIO;
    sqlite3_bind_int64(st, 1, execution_id);
    store_rows rows = {.size = sizeof(store_fill)};
    int rc, result = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        store_fill *f = store_rows_push(s, &rows);
        if (!f) {
            result = APEX_ENOMEM;
            break;
        }
        if ((result = read_fill(s, st, f)))
            break;
    }
    if (!result && rc != SQLITE_DONE)
        result = store_fail(s, rc, "listing fills");
    sqlite3_reset(st);
    const store_fill *items = rows.items;
    for (size_t i = 0; !result && i < rows.count; i++)
        if (fn(ud, &items[i]))
            break;
    store_rows_free(&rows);
    return result;
}
