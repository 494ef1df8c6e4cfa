/* store_sql: the statement cache and the small SQLite helpers every query uses. */
#include "store/store_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_testing.h"
#include "util/err.h"

sqlite3_stmt *store_stmt(store *s, store_stmt_id id, const char *sql)
{
    sqlite3_stmt *st = s->stmts[id];
    if (st) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        return st;
    }
    /* PERSISTENT tells SQLite the statement lives long, so it allocates it outside the
     * lookaside pool meant for short-lived ones. */
    int rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
    if (rc != SQLITE_OK) {
        store_fail(s, rc, "preparing a query");
        sqlite3_finalize(st);
        return NULL;
    }
    s->stmts[id] = st;
    return st;
}

int store_fail(store *s, int rc, const char *what)
{
    /* After an error SQLite may have rolled back a statement or the whole transaction. */
    store_order_cache_clear(s);
    int code = APEX_EIO;
    int primary = rc & 0xff;
    if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
        code = APEX_EDUP;
    else if (primary == SQLITE_CONSTRAINT)
        code = APEX_EINVAL;
    else if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED)
        code = APEX_EBUSY;
    const char *hint = code == APEX_EBUSY
                           ? " (another process holds the database; stop it or use another --db)"
                       : primary == SQLITE_FULL ? " (the disk is full; free space and retry)"
                                                : "";
    snprintf(s->err, sizeof s->err, "store %s: %s: %s%s", s->path, what, sqlite3_errmsg(s->db),
             hint);
    return code;
}

int store_failf(store *s, int code, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(s->err, sizeof s->err, "store %s: %s", s->path, msg);
    return code;
}

int store_write_injected(store *s, const char *table, const char *what)
{
    if (s->inject.count <= 0 || (s->inject.table[0] && strcmp(s->inject.table, table) != 0))
        return 0;
    if (s->inject.skip > 0) {
        s->inject.skip--;
        return 0;
    }
    s->inject.count--;
    return store_failf(s, APEX_EIO, "%s: injected write failure (store_test_fail_writes on %s)",
                       what, table);
}

int store_write_result(store *s, int rc, apex_error *err)
{
    if (rc == 0) {
        apex_error_clear(err);
        return 0;
    }
    apex_error_set(err, rc, "%s", s->err);
    /* A duplicate is a refusal, not a loss: the row its key names is already recorded
     * (a replayed fill) or the caller reused an id and sends nothing. Anything else means
     * the database lacks a row the host now believes in. */
    if (rc != APEX_EDUP) {
        if (s->write_failures++ == 0)
            apex_error_set(&s->first_write_failure, rc, "%s", s->err);
    }
    return rc;
}

bool store_write_failed(const store *s, apex_error *first)
{
    if (first) {
        if (s->write_failures)
            *first = s->first_write_failure;
        else
            apex_error_clear(first);
    }
    return s->write_failures > 0;
}

long store_write_failures(const store *s)
{
    return s->write_failures;
}

void store_test_fail_writes(store *s, const char *table, int skip, int count)
{
    snprintf(s->inject.table, sizeof s->inject.table, "%s", table ? table : "");
    s->inject.skip = skip > 0 ? skip : 0;
    s->inject.count = count > 0 ? count : 0;
}

/* Process-wide, but only tests set it and the host opens stores from one thread. */
static struct {
    bool armed;
    char table[32];
    int skip, count;
} next_open;

void store_test_fail_writes_on_next_open(const char *table, int skip, int count)
{
    next_open.armed = count > 0;
    snprintf(next_open.table, sizeof next_open.table, "%s", table ? table : "");
    next_open.skip = skip;
    next_open.count = count;
}

void store_test_apply_next_open(store *s)
{
    if (!next_open.armed)
        return;
    next_open.armed = false;
    store_test_fail_writes(s, next_open.table[0] ? next_open.table : NULL, next_open.skip,
                           next_open.count);
}

int store_step_done(store *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    /* Reset before returning so the statement releases its read/write locks at once. */
    int result = rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : store_fail(s, rc, what);
    sqlite3_reset(st);
    return result;
}

int store_update_in_place(store *s, sqlite3_stmt *st, const char *what)
{
    int rc = store_step_done(s, st, what);
    return rc ? rc : sqlite3_changes(s->db) > 0;
}

void store_bind_time(sqlite3_stmt *st, int idx, apex_time t)
{
    if (t)
        sqlite3_bind_int64(st, idx, t);
    else
        sqlite3_bind_null(st, idx);
}

void store_bind_text(sqlite3_stmt *st, int idx, const char *text)
{
    if (text && *text)
        sqlite3_bind_text(st, idx, text, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, idx);
}

void store_bind_id(sqlite3_stmt *st, int idx, int64_t id)
{
    if (id)
        sqlite3_bind_int64(st, idx, id);
    else
        sqlite3_bind_null(st, idx);
}

apex_time store_col_time(sqlite3_stmt *st, int col)
{
    return sqlite3_column_type(st, col) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, col);
}

void store_col_text(sqlite3_stmt *st, int col, char *buf, size_t buflen)
{
    /* A copy with the length SQLite already knows (truncated like snprintf would): rows
     * are read on every order update, and formatting each column was 5% of a backtest. */
    if (buflen == 0)
        return;
    const unsigned char *t = sqlite3_column_text(st, col);
    size_t n = t ? (size_t)sqlite3_column_bytes(st, col) : 0;
    if (n >= buflen)
        n = buflen - 1;
    if (n)
        memcpy(buf, t, n);
    buf[n] = '\0';
}

int store_col_enum(sqlite3_stmt *st, int col, int (*parse)(const char *), int fallback)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    int v = t ? parse((const char *)t) : -1;
    return v < 0 ? fallback : v;
}

int store_side_parse(const char *name)
{
    if (name && strcmp(name, "buy") == 0)
        return SIDE_BUY;
    if (name && strcmp(name, "sell") == 0)
        return SIDE_SELL;
    return -1;
}

void *store_rows_push(store *s, store_rows *rows)
{
    if (rows->count == rows->cap) {
        size_t cap = rows->cap ? rows->cap * 2 : 16;
        void *items = realloc(rows->items, cap * rows->size);
        if (!items) {
            store_failf(s, APEX_ENOMEM, "out of memory reading rows");
            return NULL;
        }
        rows->items = items;
        rows->cap = cap;
    }
    void *slot = (char *)rows->items + rows->count * rows->size;
    memset(slot, 0, rows->size);
    rows->count++;
    return slot;
}

void store_rows_free(store_rows *rows)
{
    free(rows->items);
    rows->items = NULL;
    rows->count = rows->cap = 0;
}
