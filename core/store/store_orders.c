/* store_orders: order intents and their broker-side life.
 *
 * An intent is committed before the request leaves the process, so after a crash the
 * host asks the broker about that client order id instead of sending it again. */
#include "store/store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/hmap.h"

/* A read cache of order rows by client order id, written through by every insert and
 * update. The broker listener reads an order on every order update and fill to compare
 * it with what the broker says, and that SELECT was 10% of a trading backtest. The
 * cache holds exactly what a SELECT would return: this file is the only writer of the
 * orders table, one host process writes a store (it holds the store's lock), every
 * successful write refreshes its slot, and a rollback or any SQLite error empties the
 * whole cache (store_order_cache_clear). */
enum { ORDER_CACHE_SLOTS = 256 }; /* a power of two; ~200 KB */

struct order_cache {
    bool used[ORDER_CACHE_SLOTS];
    store_order rows[ORDER_CACHE_SLOTS];
};

static store_order *cache_slot(store *s, const char *coid, bool create)
{
    if (!s->order_cache) {
        if (!create || !(s->order_cache = calloc(1, sizeof *s->order_cache)))
            return NULL;
    }
    uint32_t i = hmap_hash(coid, strlen(coid)) & (ORDER_CACHE_SLOTS - 1);
    s->order_cache->used[i] = create || s->order_cache->used[i];
    return &s->order_cache->rows[i];
}

static void cache_put(store *s, const store_order *o)
{
    store_order *slot = cache_slot(s, o->o.client_order_id, true);
    if (slot)
        *slot = *o;
}

/* The cached row of coid, or NULL. */
static const store_order *cache_get(store *s, const char *coid)
{
    if (!s->order_cache)
        return NULL;
    uint32_t i = hmap_hash(coid, strlen(coid)) & (ORDER_CACHE_SLOTS - 1);
    const store_order *o = &s->order_cache->rows[i];
    return s->order_cache->used[i] && strcmp(o->o.client_order_id, coid) == 0 ? o : NULL;
}

static void cache_forget(store *s, const char *coid)
{
    if (!s->order_cache)
        return;
    uint32_t i = hmap_hash(coid, strlen(coid)) & (ORDER_CACHE_SLOTS - 1);
    if (strcmp(s->order_cache->rows[i].o.client_order_id, coid) == 0)
        s->order_cache->used[i] = false;
}

void store_order_cache_clear(store *s)
{
    if (s->order_cache)
        memset(s->order_cache->used, 0, sizeof s->order_cache->used);
}

void store_order_cache_free(store *s)
{
    free(s->order_cache);
    s->order_cache = NULL;
}

static int check_order(store *s, const store_order *o)
{
    const broker_order *b = &o->o;
    if (!b->client_order_id[0])
        return store_failf(s, APEX_EINVAL, "order for %s has no client_order_id", b->symbol);
    if (!b->symbol[0])
        return store_failf(s, APEX_EINVAL, "order %s has no symbol", b->client_order_id);
    if (store_side_parse(order_side_name(b->side)) < 0 ||
        order_type_parse(order_type_name(b->type)) < 0 ||
        order_role_parse(order_role_name(b->role)) < 0 ||
        order_status_parse(order_status_name(b->status)) < 0)
        return store_failf(
            s, APEX_EINVAL, "order %s has an unknown side, type, role or status (%d/%d/%d/%d)",
            b->client_order_id, (int)b->side, (int)b->type, (int)b->role, (int)b->status);
    if (b->qty <= 0)
        return store_failf(s, APEX_EINVAL, "order %s: qty must be > 0", b->client_order_id);
    return 0;
}

/* Binds the mutable columns ?1..?18 in the order both INSERT and UPDATE use. */
static void bind_order(sqlite3_stmt *st, const store_order *o)
{
    const broker_order *b = &o->o;
    store_bind_text(st, 1, b->broker_order_id);
    store_bind_text(st, 2, b->parent_client_order_id);
    sqlite3_bind_text(st, 3, order_role_name(b->role), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, b->symbol, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, order_side_name(b->side), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, order_type_name(b->type), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, b->qty);
    sqlite3_bind_int64(st, 8, b->limit_price);
    sqlite3_bind_int64(st, 9, b->stop_price);
    sqlite3_bind_int64(st, 10, o->take_profit);
    sqlite3_bind_int64(st, 11, o->stop_loss);
    sqlite3_bind_text(st, 12, order_status_name(b->status), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 13, b->filled_qty);
    sqlite3_bind_int64(st, 14, b->avg_fill_price);
    store_bind_time(st, 15, o->submitted_at);
    store_bind_time(st, 16, b->updated_at);
    store_bind_text(st, 17, b->reason);
    store_bind_text(st, 18, o->error);
}

int store_read_order(store *s, sqlite3_stmt *st, store_order *o)
{
    broker_order *b = &o->o;
    char role[32], side[16], type[32], status[32];
    memset(o, 0, sizeof *o);
    o->id = sqlite3_column_int64(st, 0);
    o->execution_id = store_col_id(st, 1);
    store_col_text(st, 2, b->client_order_id, sizeof b->client_order_id);
    store_col_text(st, 3, b->broker_order_id, sizeof b->broker_order_id);
    store_col_text(st, 4, b->parent_client_order_id, sizeof b->parent_client_order_id);
    store_col_text(st, 5, role, sizeof role);
    store_col_text(st, 6, b->symbol, sizeof b->symbol);
    store_col_text(st, 7, side, sizeof side);
    store_col_text(st, 8, type, sizeof type);
    int r = order_role_parse(role), sd = store_side_parse(side), t = order_type_parse(type);
    b->qty = sqlite3_column_int64(st, 9);
    b->limit_price = sqlite3_column_int64(st, 10);
    b->stop_price = sqlite3_column_int64(st, 11);
    o->take_profit = sqlite3_column_int64(st, 12);
    o->stop_loss = sqlite3_column_int64(st, 13);
    store_col_text(st, 14, status, sizeof status);
    int stat = order_status_parse(status);
    b->filled_qty = sqlite3_column_int64(st, 15);
    b->avg_fill_price = sqlite3_column_int64(st, 16);
    b->created_at = store_col_time(st, 17);
    o->submitted_at = store_col_time(st, 18);
    b->updated_at = store_col_time(st, 19);
    store_col_text(st, 20, b->reason, sizeof b->reason);
    store_col_text(st, 21, o->error, sizeof o->error);
    if (r < 0 || sd < 0 || t < 0 || stat < 0)
        return store_failf(s, APEX_EIO,
                           "orders row %s has an unknown role, side, type or status "
                           "('%s', '%s', '%s', '%s'); fix it with the sqlite3 shell",
                           b->client_order_id, role, side, type, status);
    b->role = (order_role)r;
    b->side = (order_side)sd;
    b->type = (order_type)t;
    b->status = (order_status)stat;
    return 0;
}

static int order_insert(store *s, store_order *o)
{
    /* A durable store commits every intent on its own before it is sent. A STORE_FAST
     * store (backtests, which start from nothing and are simply rerun after a crash) may
     * group intents with everything else in a batch. */
    if (s->mode == STORE_DURABLE &&
        (s->in_batch || (s->units == 0 && !sqlite3_get_autocommit(s->db))))
        return store_failf(s, APEX_ESTATE,
                           "order %s: an order intent must be committed on its own before it "
                           "is sent; commit the open batch first",
                           o->o.client_order_id);
    int rc = check_order(s, o);
    if (rc)
        return rc;
    sqlite3_stmt *st = store_stmt(
        s, STMT_ORDER_INSERT,
        "INSERT INTO orders(broker_order_id, parent_client_order_id, role, symbol, side, type, "
        "qty, limit_price, stop_price, take_profit, stop_loss, status, filled_qty, "
        "avg_fill_price, submitted_at, updated_at, reason, error, execution_id, "
        "client_order_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
        "?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)");
    if (!st)
        return APEX_EIO;
    bind_order(st, o);
    store_bind_id(st, 19, o->execution_id);
    sqlite3_bind_text(st, 20, o->o.client_order_id, -1, SQLITE_TRANSIENT);
    store_bind_time(st, 21, o->o.created_at);
    /* Outside a batch this statement is its own transaction: when step returns DONE the
     * commit has happened (and with synchronous=FULL, reached the disk). */
    rc = store_step_done(s, st, "recording an order intent");
    if (rc == APEX_EDUP)
        return store_failf(s, APEX_EDUP,
                           "client order id %s is already recorded; never reuse one (derive a "
                           "new id from the execution's next order_seq)",
                           o->o.client_order_id);
    if (!rc) {
        o->id = sqlite3_last_insert_rowid(s->db);
        cache_put(s, o);
    }
    return rc;
}

static int order_update(store *s, const store_order *o)
{
    int rc = check_order(s, o);
    if (rc)
        return rc;
    sqlite3_stmt *st = store_stmt(
        s, STMT_ORDER_UPDATE,
        "UPDATE orders SET broker_order_id = ?1, parent_client_order_id = ?2, role = ?3, "
        "symbol = ?4, side = ?5, type = ?6, qty = ?7, limit_price = ?8, stop_price = ?9, "
        "take_profit = ?10, stop_loss = ?11, status = ?12, filled_qty = ?13, "
        "avg_fill_price = ?14, submitted_at = ?15, updated_at = ?16, reason = ?17, "
        "error = ?18 WHERE client_order_id = ?19");
    if (!st)
        return APEX_EIO;
    bind_order(st, o);
    sqlite3_bind_text(st, 19, o->o.client_order_id, -1, SQLITE_TRANSIENT);
    rc = store_step_done(s, st, "updating an order");
    if (!rc && sqlite3_changes(s->db) == 0)
        rc = store_failf(s, APEX_ENOTFOUND, "order %s is not recorded", o->o.client_order_id);
    /* The UPDATE leaves id, execution_id and created_at as they were: the cached row keeps
     * them when it has them, and is dropped when it does not. */
    const store_order *had = rc ? NULL : cache_get(s, o->o.client_order_id);
    if (had) {
        store_order row = *o;
        row.id = had->id;
        row.execution_id = had->execution_id;
        row.o.created_at = had->o.created_at;
        cache_put(s, &row);
    } else {
        cache_forget(s, o->o.client_order_id);
    }
    return rc;
}

int store_order_insert(store *s, store_order *o, apex_error *err)
{
    int rc = store_write_injected(s, "orders", "recording an order intent");
    if (!rc)
        rc = order_insert(s, o);
    return store_write_result(s, rc, err);
}

int store_order_update(store *s, const store_order *o, apex_error *err)
{
    int rc = store_write_injected(s, "orders", "updating an order");
    if (!rc)
        rc = order_update(s, o);
    return store_write_result(s, rc, err);
}

int store_order_get(store *s, const char *client_order_id, store_order *out)
{
    const store_order *hit = client_order_id ? cache_get(s, client_order_id) : NULL;
    if (hit) {
        *out = *hit;
        return 0;
    }
    sqlite3_stmt *st = store_stmt(
        s, STMT_ORDER_GET, "SELECT " STORE_ORDER_COLUMNS " FROM orders WHERE client_order_id = ?1");
    if (!st)
        return APEX_EIO;
    sqlite3_bind_text(st, 1, client_order_id ? client_order_id : "", -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    int result;
    if (rc == SQLITE_ROW) {
        result = store_read_order(s, st, out);
        if (!result)
            cache_put(s, out);
    } else if (rc == SQLITE_DONE)
        result = store_failf(s, APEX_ENOTFOUND, "order %s is not recorded",
                             client_order_id ? client_order_id : "(null)");
    else
        result = store_fail(s, rc, "reading an order");
    sqlite3_reset(st);
    return result;
}

int store_order_known_at_broker(store *s, const char *broker_order_id)
{
    if (!broker_order_id || !broker_order_id[0])
        return 0;
    /* No index on broker_order_id: asked only when a position was closed by hand, once per
     * fill found, so a scan costs less than an index kept on every order write. */
    sqlite3_stmt *st = store_stmt(s, STMT_ORDER_BY_BROKER_ID,
                                  "SELECT 1 FROM orders WHERE broker_order_id = ?1 LIMIT 1");
    if (!st)
        return APEX_EIO;
    sqlite3_bind_text(st, 1, broker_order_id, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    int result = rc == SQLITE_ROW    ? 1
                 : rc == SQLITE_DONE ? 0
                                     : store_fail(s, rc, "looking an order up by its broker id");
    sqlite3_reset(st);
    return result;
}

static int each_order(store *s, sqlite3_stmt *st, int (*fn)(void *, const store_order *), void *ud)
{
    store_rows rows = {.size = sizeof(store_order)};
    int rc, result = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        store_order *o = store_rows_push(s, &rows);
        if (!o) {
            result = APEX_ENOMEM;
            break;
        }
        if ((result = store_read_order(s, st, o)))
            break;
    }
    if (!result && rc != SQLITE_DONE)
        result = store_fail(s, rc, "listing orders");
    sqlite3_reset(st);
    const store_order *items = rows.items;
    for (size_t i = 0; !result && i < rows.count; i++)
        if (fn(ud, &items[i]))
            break;
    store_rows_free(&rows);
    return result;
}

int store_orders_for_execution(store *s, int64_t execution_id,
                               int (*fn)(void *ud, const store_order *o), void *ud)
{
    sqlite3_stmt *st = store_stmt(s, STMT_ORDERS_FOR_EXEC,
                                  "SELECT " STORE_ORDER_COLUMNS
                                  " FROM orders WHERE execution_id = ?1 ORDER BY id");
    if (!st)
        return APEX_EIO;
    sqlite3_bind_int64(st, 1, execution_id);
    return each_order(s, st, fn, ud);
}

int store_orders_open(store *s, int (*fn)(void *ud, const store_order *o), void *ud)
{
    sqlite3_stmt *st =
        store_stmt(s, STMT_ORDERS_OPEN,
                   "SELECT " STORE_ORDER_COLUMNS
                   " FROM orders WHERE status IN " STORE_OPEN_ORDER_STATUSES " ORDER BY id");
    if (!st)
        return APEX_EIO;
    return each_order(s, st, fn, ud);
}
