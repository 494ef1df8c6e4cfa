/* paper_state: the paper account's own SQLite file.
 *
 * The account is written through on every change, one transaction per event (a
 * request, a bar, a clock turn), so a host killed with SIGKILL finds the account
 * as the last completed event left it. WAL with synchronous=NORMAL: a commit
 * survives a process crash; only an OS crash may lose the last few, which a
 * simulated account can afford. Money is INTEGER at MONEY_SCALE, times are µs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/paper_internal.h"
#include "util/err.h"
#include "util/filelock.h"
#include "util/log.h"

static const char *const schema_sql =
    "CREATE TABLE IF NOT EXISTS paper_account("
    " id INTEGER PRIMARY KEY CHECK (id = 1), cash INTEGER NOT NULL,"
    " realized_today INTEGER NOT NULL, pnl_day INTEGER NOT NULL, last_bar_ts INTEGER NOT NULL,"
    " starting_cash INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS paper_positions("
    " symbol TEXT PRIMARY KEY, qty INTEGER NOT NULL, avg_price INTEGER NOT NULL,"
    " opened_day INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS paper_symbols("
    " symbol TEXT PRIMARY KEY, ts INTEGER NOT NULL, open INTEGER NOT NULL, high INTEGER NOT NULL,"
    " low INTEGER NOT NULL, close INTEGER NOT NULL, volume INTEGER NOT NULL,"
    " bid INTEGER NOT NULL, ask INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS paper_orders("
    " seq INTEGER PRIMARY KEY, client_order_id TEXT NOT NULL UNIQUE,"
    " broker_order_id TEXT NOT NULL, parent_client_order_id TEXT NOT NULL,"
    " symbol TEXT NOT NULL, side TEXT NOT NULL, type TEXT NOT NULL, role TEXT NOT NULL,"
    " status TEXT NOT NULL, qty INTEGER NOT NULL, filled_qty INTEGER NOT NULL,"
    " avg_fill_price INTEGER NOT NULL, limit_price INTEGER NOT NULL,"
    " stop_price INTEGER NOT NULL, take_profit INTEGER NOT NULL, stop_loss INTEGER NOT NULL,"
    " triggered INTEGER NOT NULL, market_pending INTEGER NOT NULL, nfills INTEGER NOT NULL,"
    " active_after INTEGER NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
    " reason TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS paper_fills("
    " fill_id TEXT PRIMARY KEY, client_order_id TEXT NOT NULL, symbol TEXT NOT NULL,"
    " side TEXT NOT NULL, qty INTEGER NOT NULL, price INTEGER NOT NULL, fee INTEGER NOT NULL,"
    " ts INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS paper_day_trades("
    " id INTEGER PRIMARY KEY, day INTEGER NOT NULL, symbol TEXT NOT NULL);";

static void report(paper_broker *p, const char *what)
{
    log_error("paper broker: %s: cannot %s: %s; the paper account on disk may be behind, "
              "check the disk and the file's permissions",
              p->path, what, sqlite3_errmsg(p->db));
}

static void exec_sql(paper_broker *p, const char *sql, const char *what)
{
    if (p->db && sqlite3_exec(p->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        report(p, what);
}

void paper_state_begin(paper_broker *p)
{
    if (p->tx_depth++ == 0)
        exec_sql(p, "BEGIN IMMEDIATE", "begin a transaction");
}

void paper_state_commit(paper_broker *p)
{
    if (p->tx_depth == 1)
        paper_state_flush_dirty(p); /* prices travel with the events they explain */
    if (p->tx_depth > 0 && --p->tx_depth == 0)
        exec_sql(p, "COMMIT", "commit");
}

void paper_state_mark_dirty(paper_broker *p, paper_symbol *s)
{
    /* The list has room for every symbol (paper_symbol_get reserves it), so this never
     * allocates. */
    if (!p->db || s->dirty)
        return;
    s->dirty = true;
    p->dirty.items[p->dirty.count++] = s;
}

void paper_state_flush_dirty(paper_broker *p)
{
    if (!p->unsaved_bars)
        return;
    for (int i = 0; i < p->dirty.count; i++) {
        paper_symbol *s = p->dirty.items[i];
        paper_state_save_symbol(p, s);
        s->dirty = false;
    }
    p->dirty.count = 0;
    paper_state_save_account(p);
    p->unsaved_bars = 0;
}

/* Runs a bound statement to completion and resets it for the next use. */
static void run(paper_broker *p, sqlite3_stmt *st, const char *what)
{
    if (!st)
        return;
    if (sqlite3_step(st) != SQLITE_DONE)
        report(p, what);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
}

void paper_state_save_order(paper_broker *p, const paper_order *o)
{
    sqlite3_stmt *st = p->st_order;
    if (!st)
        return;
    const broker_order *b = &o->o;
    int i = 1;
    sqlite3_bind_int64(st, i++, o->seq);
    bind_text(st, i++, b->client_order_id);
    bind_text(st, i++, b->broker_order_id);
    bind_text(st, i++, b->parent_client_order_id);
    bind_text(st, i++, b->symbol);
    bind_text(st, i++, order_side_name(b->side));
    bind_text(st, i++, order_type_name(b->type));
    bind_text(st, i++, order_role_name(b->role));
    bind_text(st, i++, order_status_name(b->status));
    sqlite3_bind_int64(st, i++, b->qty);
    sqlite3_bind_int64(st, i++, b->filled_qty);
    sqlite3_bind_int64(st, i++, b->avg_fill_price);
    sqlite3_bind_int64(st, i++, b->limit_price);
    sqlite3_bind_int64(st, i++, b->stop_price);
    sqlite3_bind_int64(st, i++, o->take_profit);
    sqlite3_bind_int64(st, i++, o->stop_loss);
    sqlite3_bind_int(st, i++, o->triggered);
    sqlite3_bind_int(st, i++, o->market_pending);
    sqlite3_bind_int(st, i++, o->nfills);
    sqlite3_bind_int64(st, i++, o->active_after);
    sqlite3_bind_int64(st, i++, b->created_at);
    sqlite3_bind_int64(st, i++, b->updated_at);
    bind_text(st, i++, b->reason);
    run(p, st, "save an order");
}

void paper_state_save_position(paper_broker *p, const paper_symbol *s)
{
    if (s->qty == 0) {
        if (!p->st_position_del)
            return;
        bind_text(p->st_position_del, 1, s->name);
        run(p, p->st_position_del, "delete a closed position");
        return;
    }
    sqlite3_stmt *st = p->st_position;
    if (!st)
        return;
    bind_text(st, 1, s->name);
    sqlite3_bind_int64(st, 2, s->qty);
    sqlite3_bind_int64(st, 3, s->avg_price);
    sqlite3_bind_int64(st, 4, s->opened_day);
    run(p, st, "save a position");
}

void paper_state_save_symbol(paper_broker *p, const paper_symbol *s)
{
    sqlite3_stmt *st = p->st_symbol;
    if (!st || !s->has_bar)
        return;
    bind_text(st, 1, s->name);
    sqlite3_bind_int64(st, 2, s->last.ts);
    sqlite3_bind_int64(st, 3, s->last.open);
    sqlite3_bind_int64(st, 4, s->last.high);
    sqlite3_bind_int64(st, 5, s->last.low);
    sqlite3_bind_int64(st, 6, s->last.close);
    sqlite3_bind_int64(st, 7, s->last.volume);
    sqlite3_bind_int64(st, 8, s->last.bid);
    sqlite3_bind_int64(st, 9, s->last.ask);
    run(p, st, "save the last bar");
}

void paper_state_save_account(paper_broker *p)
{
    sqlite3_stmt *st = p->st_account;
    if (!st)
        return;
    sqlite3_bind_int64(st, 1, p->cash);
    sqlite3_bind_int64(st, 2, p->realized_today);
    sqlite3_bind_int64(st, 3, p->pnl_day);
    sqlite3_bind_int64(st, 4, p->last_bar_ts);
    run(p, st, "save the account");
}

void paper_state_save_fill(paper_broker *p, const broker_fill *f)
{
    sqlite3_stmt *st = p->st_fill;
    if (!st)
        return;
    bind_text(st, 1, f->fill_id);
    bind_text(st, 2, f->client_order_id);
    bind_text(st, 3, f->symbol);
    bind_text(st, 4, order_side_name(f->side));
    sqlite3_bind_int64(st, 5, f->qty);
    sqlite3_bind_int64(st, 6, f->price);
    sqlite3_bind_int64(st, 7, f->fee);
    sqlite3_bind_int64(st, 8, f->ts);
    run(p, st, "save a fill");
}

void paper_state_save_day_trade(paper_broker *p, const paper_day_trade *d)
{
    sqlite3_stmt *st = p->st_day_trade;
    if (!st)
        return;
    sqlite3_bind_int64(st, 1, d->day);
    bind_text(st, 2, d->symbol);
    run(p, st, "save a day trade");
}

static int prepare(paper_broker *p, const char *sql, sqlite3_stmt **st, char *err, size_t errlen)
{
    if (sqlite3_prepare_v3(p->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK)
        return err_set(err, errlen, APEX_EIO, "paper broker: %s: cannot prepare statements: %s",
                       p->path, sqlite3_errmsg(p->db));
    return 0;
}

static const char *col_text(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? (const char *)t : "";
}

static void copy_text(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src);
}

static int load_account(paper_broker *p, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    if (prepare(p, "SELECT cash, realized_today, pnl_day, last_bar_ts FROM paper_account", &st, err,
                errlen) != 0)
        return APEX_EIO;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        p->cash = sqlite3_column_int64(st, 0);
        p->realized_today = sqlite3_column_int64(st, 1);
        p->pnl_day = sqlite3_column_int64(st, 2);
        p->last_bar_ts = sqlite3_column_int64(st, 3);
        sqlite3_finalize(st);
        return 0;
    }
    sqlite3_finalize(st);
    /* A new account: the only moment starting_cash applies. */
    p->cash = p->cfg.starting_cash;
    char sql[256];
    snprintf(sql, sizeof sql,
             "INSERT INTO paper_account(id, cash, realized_today, pnl_day, last_bar_ts,"
             " starting_cash) VALUES (1, %lld, 0, 0, 0, %lld)",
             (long long)p->cash, (long long)p->cash);
    if (sqlite3_exec(p->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return err_set(err, errlen, APEX_EIO, "paper broker: %s: cannot create the account: %s",
                       p->path, sqlite3_errmsg(p->db));
    return 0;
}

static int load_symbols(paper_broker *p, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    if (prepare(p, "SELECT symbol, ts, open, high, low, close, volume, bid, ask FROM paper_symbols",
                &st, err, errlen) != 0)
        return APEX_EIO;
    while (sqlite3_step(st) == SQLITE_ROW) {
        paper_symbol *s = paper_symbol_get(p, col_text(st, 0));
        if (!s) {
            sqlite3_finalize(st);
            return err_set(err, errlen, APEX_ENOMEM, "paper broker: out of memory loading %s",
                           p->path);
        }
        s->has_bar = true;
        s->last.symbol_id = -1;
        s->last.ts = sqlite3_column_int64(st, 1);
        s->last.open = sqlite3_column_int64(st, 2);
        s->last.high = sqlite3_column_int64(st, 3);
        s->last.low = sqlite3_column_int64(st, 4);
        s->last.close = sqlite3_column_int64(st, 5);
        s->last.volume = sqlite3_column_int64(st, 6);
        s->last.bid = sqlite3_column_int64(st, 7);
        s->last.ask = sqlite3_column_int64(st, 8);
    }
    sqlite3_finalize(st);

    if (prepare(p, "SELECT symbol, qty, avg_price, opened_day FROM paper_positions", &st, err,
                errlen) != 0)
        return APEX_EIO;
    while (sqlite3_step(st) == SQLITE_ROW) {
        paper_symbol *s = paper_symbol_get(p, col_text(st, 0));
        if (!s) {
            sqlite3_finalize(st);
            return err_set(err, errlen, APEX_ENOMEM, "paper broker: out of memory loading %s",
                           p->path);
        }
        s->qty = sqlite3_column_int64(st, 1);
        s->avg_price = sqlite3_column_int64(st, 2);
        s->opened_day = sqlite3_column_int64(st, 3);
    }
    sqlite3_finalize(st);
    return 0;
}

static int load_orders(paper_broker *p, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    if (prepare(p,
                "SELECT seq, client_order_id, broker_order_id, parent_client_order_id, symbol,"
                " side, type, role, status, qty, filled_qty, avg_fill_price, limit_price,"
                " stop_price, take_profit, stop_loss, triggered, market_pending, nfills,"
                " active_after, created_at, updated_at, reason FROM paper_orders ORDER BY seq",
                &st, err, errlen) != 0)
        return APEX_EIO;
    int rc = 0;
    while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
        paper_order *o = calloc(1, sizeof *o);
        if (!o) {
            rc = err_set(err, errlen, APEX_ENOMEM, "paper broker: out of memory loading %s",
                         p->path);
            break;
        }
        broker_order *b = &o->o;
        int i = 0;
        o->seq = sqlite3_column_int64(st, i++);
        copy_text(b->client_order_id, sizeof b->client_order_id, col_text(st, i++));
        copy_text(b->broker_order_id, sizeof b->broker_order_id, col_text(st, i++));
        copy_text(b->parent_client_order_id, sizeof b->parent_client_order_id, col_text(st, i++));
        copy_text(b->symbol, sizeof b->symbol, col_text(st, i++));
        b->side = strcmp(col_text(st, i++), "sell") == 0 ? SIDE_SELL : SIDE_BUY;
        int type = order_type_parse(col_text(st, i++));
        int role = order_role_parse(col_text(st, i++));
        int status = order_status_parse(col_text(st, i++));
        if (type < 0 || role < 0 || status < 0) {
            rc = err_set(err, errlen, APEX_EIO,
                         "paper broker: %s: order %s has an unknown type, role or status; the "
                         "file was written by another program, move it aside",
                         p->path, b->client_order_id);
            free(o);
            break;
        }
        b->type = (order_type)type;
        b->role = (order_role)role;
        b->status = (order_status)status;
        b->qty = sqlite3_column_int64(st, i++);
        b->filled_qty = sqlite3_column_int64(st, i++);
        b->avg_fill_price = sqlite3_column_int64(st, i++);
        b->limit_price = sqlite3_column_int64(st, i++);
        b->stop_price = sqlite3_column_int64(st, i++);
        o->take_profit = sqlite3_column_int64(st, i++);
        o->stop_loss = sqlite3_column_int64(st, i++);
        o->triggered = sqlite3_column_int(st, i++) != 0;
        o->market_pending = sqlite3_column_int(st, i++) != 0;
        o->nfills = sqlite3_column_int(st, i++);
        o->active_after = sqlite3_column_int64(st, i++);
        b->created_at = sqlite3_column_int64(st, i++);
        b->updated_at = sqlite3_column_int64(st, i++);
        copy_text(b->reason, sizeof b->reason, col_text(st, i++));
        if (o->seq >= p->next_seq)
            p->next_seq = o->seq + 1;
        if (paper_order_add(p, o) != 0) {
            free(o);
            rc = err_set(err, errlen, APEX_ENOMEM, "paper broker: out of memory loading %s",
                         p->path);
        }
    }
    sqlite3_finalize(st);
    return rc;
}

static int load_day_trades(paper_broker *p, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    if (prepare(p, "SELECT day, symbol FROM paper_day_trades ORDER BY id", &st, err, errlen) != 0)
        return APEX_EIO;
    while (sqlite3_step(st) == SQLITE_ROW) {
        paper_day_trade *d = vec_push_zeroed(&p->day_trades);
        if (!d) {
            sqlite3_finalize(st);
            return err_set(err, errlen, APEX_ENOMEM, "paper broker: out of memory loading %s",
                           p->path);
        }
        d->day = sqlite3_column_int64(st, 0);
        copy_text(d->symbol, sizeof d->symbol, col_text(st, 1));
    }
    sqlite3_finalize(st);
    return 0;
}

static int load_fills(paper_broker *p, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    if (prepare(
            p,
            "SELECT fill_id, client_order_id, symbol, side, qty, price, fee, ts FROM paper_fills "
            "ORDER BY rowid",
            &st, err, errlen) != 0)
        return APEX_EIO;
    while (sqlite3_step(st) == SQLITE_ROW) {
        broker_fill f;
        memset(&f, 0, sizeof f);
        copy_text(f.fill_id, sizeof f.fill_id, col_text(st, 0));
        copy_text(f.client_order_id, sizeof f.client_order_id, col_text(st, 1));
        copy_text(f.symbol, sizeof f.symbol, col_text(st, 2));
        f.side = strcmp(col_text(st, 3), "sell") == 0 ? SIDE_SELL : SIDE_BUY;
        f.qty = sqlite3_column_int64(st, 4);
        f.price = sqlite3_column_int64(st, 5);
        f.fee = sqlite3_column_int64(st, 6);
        f.ts = sqlite3_column_int64(st, 7);
        if (paper_remember_fill(p, &f) != 0) {
            sqlite3_finalize(st);
            return err_set(err, errlen, APEX_ENOMEM, "paper broker: out of memory loading %s",
                           p->path);
        }
    }
    sqlite3_finalize(st);
    return 0;
}

int paper_state_open(paper_broker *p, const char *path, char *err, size_t errlen)
{
    snprintf(p->path, sizeof p->path, "%s", path);
    /* An account that keeps nothing needs no database: backtests pay nothing for it. */
    if (strcmp(path, ":memory:") == 0) {
        p->cash = p->cfg.starting_cash;
        p->next_seq = 1;
        return 0;
    }
    /* One process per account file: a second one would number its orders from the same
     * sequence and overwrite the first one's orders and fills. */
    char holder[256];
    int lrc = filelock_acquire(path, &p->lock_fd, holder, sizeof holder);
    if (lrc == APEX_EBUSY)
        return err_set(err, errlen, lrc,
                       "paper account %s is in use by another apex-host process%s%s%s; one "
                       "account file is traded by one process (pipelines of the same process "
                       "share it): stop the other process or name another broker.state",
                       path, holder[0] ? " (pid " : "", holder, holder[0] ? ")" : "");
    if (lrc)
        return err_set(err, errlen, lrc, "paper account %s: %s", path, holder);
    bool existed = strcmp(path, ":memory:") != 0 && access(path, F_OK) == 0;
    if (sqlite3_open_v2(path, &p->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        int rc = err_set(err, errlen, APEX_EIO,
                         "paper broker: cannot open the account file %s: %s; check that the "
                         "directory exists and is writable (broker.paper.state_path)",
                         path, p->db ? sqlite3_errmsg(p->db) : "out of memory");
        sqlite3_close(p->db);
        p->db = NULL;
        return rc;
    }
    sqlite3_busy_timeout(p->db, 5000);
    char *msg = NULL;
    if (sqlite3_exec(p->db,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
                     NULL, NULL, &msg) != SQLITE_OK ||
        sqlite3_exec(p->db, schema_sql, NULL, NULL, &msg) != SQLITE_OK) {
        int rc = err_set(err, errlen, APEX_EIO,
                         "paper broker: %s is not a usable paper account (%s); move it aside "
                         "or point broker.paper.state_path elsewhere",
                         path, msg ? msg : sqlite3_errmsg(p->db));
        sqlite3_free(msg);
        return rc;
    }
    p->next_seq = 1;
    int rc;
    if ((rc = load_account(p, err, errlen)) != 0 || (rc = load_symbols(p, err, errlen)) != 0 ||
        (rc = load_orders(p, err, errlen)) != 0 || (rc = load_day_trades(p, err, errlen)) != 0 ||
        (rc = load_fills(p, err, errlen)) != 0)
        return rc;
    for (int i = 0; i < p->symbols.count; i++)
        paper_revalue(p, p->symbols.items[i]);
    if ((rc = prepare(p,
                      "INSERT OR REPLACE INTO paper_orders VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
                      " ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      &p->st_order, err, errlen)) != 0 ||
        (rc = prepare(p, "INSERT OR REPLACE INTO paper_positions VALUES (?, ?, ?, ?)",
                      &p->st_position, err, errlen)) != 0 ||
        (rc = prepare(p, "DELETE FROM paper_positions WHERE symbol = ?", &p->st_position_del, err,
                      errlen)) != 0 ||
        (rc = prepare(p, "INSERT OR REPLACE INTO paper_symbols VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      &p->st_symbol, err, errlen)) != 0 ||
        (rc = prepare(p,
                      "UPDATE paper_account SET cash = ?, realized_today = ?, pnl_day = ?,"
                      " last_bar_ts = ? WHERE id = 1",
                      &p->st_account, err, errlen)) != 0 ||
        (rc = prepare(p, "INSERT OR IGNORE INTO paper_fills VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                      &p->st_fill, err, errlen)) != 0 ||
        (rc = prepare(p, "INSERT INTO paper_day_trades(day, symbol) VALUES (?, ?)",
                      &p->st_day_trade, err, errlen)) != 0)
        return rc;
    if (existed)
        log_info("paper broker: reopened the account in %s (%d orders)", path, p->orders.count);
    return 0;
}

void paper_state_close(paper_broker *p)
{
    sqlite3_stmt **all[] = {&p->st_order,   &p->st_position, &p->st_position_del, &p->st_symbol,
                            &p->st_account, &p->st_fill,     &p->st_day_trade};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        sqlite3_finalize(*all[i]);
        *all[i] = NULL;
    }
    if (p->db && p->unsaved_bars) {
        paper_state_begin(p);
        paper_state_commit(p);
    }
    if (p->db) {
        while (p->tx_depth > 0)
            paper_state_commit(p);
        sqlite3_close(p->db);
        p->db = NULL;
    }
    filelock_release(p->lock_fd);
    p->lock_fd = -1;
}
