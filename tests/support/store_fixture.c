/* store_fixture: helpers shared by the store's test programs (see store_fixture.h). */
#include "store_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/status.h"

void tmpdb_make(tmpdb *t)
{
    snprintf(t->dir, sizeof t->dir, "/tmp/apex-store-XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    snprintf(t->path, sizeof t->path, "%s/test.db", t->dir);
}

void tmpdb_remove(tmpdb *t)
{
    char p[160];
    const char *suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s%s", t->path, suffixes[i]);
        unlink(p);
    }
    rmdir(t->dir);
}

store *open_ok(const char *path)
{
    char err[512] = "";
    store *s = store_open(path, STORE_DURABLE, err, sizeof err);
    if (!s)
        fail_msg("store_open(%s): %s", path, err);
    return s;
}

/* Runs one SQL statement on the file directly, as a person with the sqlite3 shell would. */
void raw_exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
    sqlite3_close(db);
}

int64_t raw_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

store_execution sample_execution(const char *pipeline, const char *symbol)
{
    store_execution e;
    memset(&e, 0, sizeof e);
    snprintf(e.pipeline, sizeof e.pipeline, "%s", pipeline);
    snprintf(e.symbol, sizeof e.symbol, "%s", symbol);
    e.status = EXEC_RUNNING;
    snprintf(e.phase, sizeof e.phase, "execute");
    e.created_at = T0;
    e.updated_at = T0;
    e.monitor_interval_s = 30;
    e.side = -1;
    return e;
}

store_order sample_order(int64_t execution_id, const char *coid)
{
    store_order o;
    memset(&o, 0, sizeof o);
    o.execution_id = execution_id;
    snprintf(o.o.client_order_id, sizeof o.o.client_order_id, "%s", coid);
    snprintf(o.o.symbol, sizeof o.o.symbol, "AAPL");
    o.o.side = SIDE_BUY;
    o.o.type = ORDER_LIMIT;
    o.o.role = ORDER_ROLE_ENTRY;
    o.o.status = ORDER_STATUS_NEW;
    o.o.qty = MONEY(100);
    o.o.limit_price = CENTS(18725);
    o.o.created_at = T0;
    o.take_profit = CENTS(19500);
    o.stop_loss = CENTS(18000);
    return o;
}

store_fill sample_fill(int64_t execution_id, const char *fill_id, order_side side, money_t qty,
                       money_t price, money_t fee, apex_time ts)
{
    store_fill f;
    memset(&f, 0, sizeof f);
    f.execution_id = execution_id;
    snprintf(f.f.fill_id, sizeof f.f.fill_id, "%s", fill_id);
    snprintf(f.f.client_order_id, sizeof f.f.client_order_id, "ord-%s", fill_id);
    snprintf(f.f.symbol, sizeof f.f.symbol, "AAPL");
    f.f.side = side;
    f.f.qty = qty;
    f.f.price = price;
    f.f.fee = fee;
    f.f.ts = ts;
    return f;
}

store_position_exit sample_exit(const store_position *p)
{
    store_position_exit e;
    memset(&e, 0, sizeof e);
    e.position_id = p->id;
    snprintf(e.exit_reason, sizeof e.exit_reason, "partial_exit_target");
    e.exit_priority = EXIT_PRIORITY_MEDIUM;
    snprintf(e.detail, sizeof e.detail, "gain +20.97%% >= stage 1 at +15%%: sell 50%%");
    e.exit_quantity = MONEY(15);
    e.partial_exit = true;
    e.execution_strategy = PRICE_FAIR;
    e.unrealized_pnl = CENTS(6500);
    e.unrealized_pnl_pct = 20967742;
    e.triggered_at = T0 + 4 * APEX_SECOND;
    return e;
}

store_exit_attempt sample_attempt(const store_position_exit *e, int number, const char *coid)
{
    store_exit_attempt a;
    memset(&a, 0, sizeof a);
    a.position_id = e->position_id;
    a.exit_id = e->id;
    a.attempt_number = number;
    a.order_type = ORDER_LIMIT;
    snprintf(a.client_order_id, sizeof a.client_order_id, "%s", coid);
    a.limit_price = CENTS(1249);
    a.quantity = e->exit_quantity;
    a.status = ORDER_STATUS_ACCEPTED;
    a.placed_at = e->triggered_at + number * APEX_SECOND;
    return a;
}

/* Field by field: struct padding makes a memcmp of two copies meaningless. */
void assert_execution_equal(const store_execution *a, const store_execution *b)
{
    assert_int_equal(a->id, b->id);
    assert_string_equal(a->pipeline, b->pipeline);
    assert_string_equal(a->symbol, b->symbol);
    assert_int_equal(a->status, b->status);
    assert_string_equal(a->phase, b->phase);
    assert_int_equal(a->created_at, b->created_at);
    assert_int_equal(a->updated_at, b->updated_at);
    assert_int_equal(a->completed_at, b->completed_at);
    assert_int_equal(a->next_check_at, b->next_check_at);
    assert_int_equal(a->monitor_interval_s, b->monitor_interval_s);
    assert_string_equal(a->bias, b->bias);
    assert_int_equal(a->side, b->side);
    assert_int_equal(a->qty, b->qty);
    assert_int_equal(a->entry_price, b->entry_price);
    assert_int_equal(a->stop_loss, b->stop_loss);
    assert_int_equal(a->take_profit, b->take_profit);
    assert_int_equal(a->realized_pnl, b->realized_pnl);
    assert_int_equal(a->fees, b->fees);
    assert_string_equal(a->reason, b->reason);
    assert_int_equal(a->order_seq, b->order_seq);
    assert_int_equal(a->retry_count, b->retry_count);
    assert_int_equal(a->entry_typed, b->entry_typed);
    if (a->entry_typed)
        assert_int_equal(a->entry_type, b->entry_type);
    assert_int_equal(a->entry_order_price, b->entry_order_price);
    assert_int_equal(a->expire_bars, b->expire_bars);
    assert_int_equal(a->expire_seconds, b->expire_seconds);
    assert_int_equal(a->expire_at, b->expire_at);
    assert_int_equal(a->resting_since, b->resting_since);
}

void assert_position_equal(const store_position *a, const store_position *b)
{
    assert_int_equal(a->id, b->id);
    assert_int_equal(a->execution_id, b->execution_id);
    assert_string_equal(a->symbol, b->symbol);
    assert_int_equal(a->side, b->side);
    assert_int_equal(a->qty, b->qty);
    assert_int_equal(a->initial_qty, b->initial_qty);
    assert_int_equal(a->entry_price, b->entry_price);
    assert_int_equal(a->stop_loss, b->stop_loss);
    assert_int_equal(a->take_profit, b->take_profit);
    assert_int_equal(a->open, b->open);
    assert_int_equal(a->opened_at, b->opened_at);
    assert_int_equal(a->closed_at, b->closed_at);
    assert_int_equal(a->realized_pnl, b->realized_pnl);
    assert_int_equal(a->current_price, b->current_price);
    assert_int_equal(a->unrealized_pnl, b->unrealized_pnl);
    assert_int_equal(a->unrealized_pnl_pct, b->unrealized_pnl_pct);
    assert_int_equal(a->last_update, b->last_update);
    assert_int_equal(a->trailing_stop_active, b->trailing_stop_active);
    assert_int_equal(a->peak_price, b->peak_price);
    assert_int_equal(a->trailing_stop_price, b->trailing_stop_price);
    assert_string_equal(a->exit_reason, b->exit_reason);
    assert_string_equal(a->exit_priority, b->exit_priority);
    assert_int_equal(a->partial_stages_done, b->partial_stages_done);
}

void assert_exit_equal(const store_position_exit *a, const store_position_exit *b)
{
    assert_int_equal(a->id, b->id);
    assert_int_equal(a->position_id, b->position_id);
    assert_int_equal(a->execution_id, b->execution_id);
    assert_string_equal(a->exit_reason, b->exit_reason);
    assert_int_equal(a->exit_priority, b->exit_priority);
    assert_string_equal(a->detail, b->detail);
    assert_int_equal(a->exit_quantity, b->exit_quantity);
    assert_int_equal(a->partial_exit, b->partial_exit);
    assert_int_equal(a->exit_price, b->exit_price);
    assert_int_equal(a->execution_strategy, b->execution_strategy);
    assert_int_equal(a->unrealized_pnl, b->unrealized_pnl);
    assert_int_equal(a->unrealized_pnl_pct, b->unrealized_pnl_pct);
    assert_int_equal(a->triggered_at, b->triggered_at);
    assert_int_equal(a->executed_at, b->executed_at);
    assert_int_equal(a->status, b->status);
    assert_int_equal(a->filled_quantity, b->filled_quantity);
    assert_int_equal(a->attempts, b->attempts);
}

void assert_attempt_equal(const store_exit_attempt *a, const store_exit_attempt *b)
{
    assert_int_equal(a->id, b->id);
    assert_int_equal(a->position_id, b->position_id);
    assert_int_equal(a->exit_id, b->exit_id);
    assert_int_equal(a->attempt_number, b->attempt_number);
    assert_int_equal(a->order_type, b->order_type);
    assert_string_equal(a->client_order_id, b->client_order_id);
    assert_int_equal(a->limit_price, b->limit_price);
    assert_int_equal(a->quantity, b->quantity);
    assert_int_equal(a->status, b->status);
    assert_int_equal(a->filled_quantity, b->filled_quantity);
    assert_int_equal(a->placed_at, b->placed_at);
}

/* Builds one execution with a consistent ledger: long 150, sold 120, 30 still open. */
int64_t build_consistent_book(store *s)
{
    store_execution e = sample_execution("demo", "AAPL");
    e.status = EXEC_MONITORING;
    snprintf(e.phase, sizeof e.phase, "monitoring");
    e.side = SIDE_BUY;
    e.qty = MONEY(150);
    e.entry_price = 1033333333;
    e.realized_pnl = CENTS(19730);
    e.fees = CENTS(270);
    e.next_check_at = T0 + 30 * APEX_SECOND;
    assert_int_equal(store_execution_insert(s, &e, NULL), 0);
    store_fill fills[] = {
        sample_fill(e.id, "F1", SIDE_BUY, MONEY(100), MONEY(10), CENTS(100), T0),
        sample_fill(e.id, "F2", SIDE_BUY, MONEY(50), MONEY(11), CENTS(50), T0 + 1),
        sample_fill(e.id, "F3", SIDE_SELL, MONEY(120), MONEY(12), CENTS(120), T0 + 2),
    };
    for (int i = 0; i < 3; i++)
        assert_int_equal(store_fill_insert(s, &fills[i], NULL), 0);
    store_position p;
    memset(&p, 0, sizeof p);
    p.execution_id = e.id;
    snprintf(p.symbol, sizeof p.symbol, "AAPL");
    p.side = SIDE_BUY;
    p.qty = MONEY(30);
    p.initial_qty = MONEY(150);
    p.entry_price = 1033333333;
    p.stop_loss = MONEY(9);
    p.take_profit = MONEY(14);
    p.open = true;
    p.opened_at = T0;
    p.realized_pnl = CENTS(19730);
    p.current_price = CENTS(1250);
    p.unrealized_pnl = CENTS(6500);
    p.unrealized_pnl_pct = 20967742; /* 20.97% */
    p.last_update = T0 + 3 * APEX_SECOND;
    p.peak_price = CENTS(1260);
    p.trailing_stop_price = CENTS(1197);
    p.trailing_stop_active = true;
    assert_int_equal(store_position_insert(s, &p, NULL), 0);

    /* A closed, flat execution with a short round trip is consistent too. */
    store_execution flat = sample_execution("demo", "MSFT");
    flat.status = EXEC_COMPLETED;
    flat.realized_pnl = MONEY(100) - CENTS(40);
    assert_int_equal(store_execution_insert(s, &flat, NULL), 0);
    store_fill sf[] = {
        sample_fill(flat.id, "S1", SIDE_SELL, MONEY(10), MONEY(400), CENTS(20), T0),
        sample_fill(flat.id, "S2", SIDE_BUY, MONEY(10), MONEY(390), CENTS(20), T0 + 1),
    };
    for (int i = 0; i < 2; i++) {
        snprintf(sf[i].f.symbol, sizeof sf[i].f.symbol, "MSFT");
        assert_int_equal(store_fill_insert(s, &sf[i], NULL), 0);
    }
    return e.id;
}

int exit_list_add(void *ud, const store_position_exit *e)
{
    exit_list *l = ud;
    if (l->count < 8)
        l->items[l->count] = *e;
    l->count++;
    return 0;
}

int attempt_list_add(void *ud, const store_exit_attempt *a)
{
    attempt_list *l = ud;
    if (l->count < 8)
        l->items[l->count] = *a;
    l->count++;
    return 0;
}

char *status_of(store *s, int nevents)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(cli_status_print(s, f, nevents, NULL), 0);
    fclose(f);
    return buf;
}

const char *line_with(const char *text, const char *needle, char *line, size_t len)
{
    const char *p = strstr(text, needle);
    if (!p)
        return NULL;
    const char *start = p;
    while (start > text && start[-1] != '\n')
        start--;
    const char *end = strchr(p, '\n');
    size_t n = end ? (size_t)(end - start) : strlen(start);
    if (n >= len)
        n = len - 1;
    memcpy(line, start, n);
    line[n] = 0;
    return line;
}
