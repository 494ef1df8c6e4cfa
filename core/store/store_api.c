/* store_api: the API's pages of rows (store_api.h).
 *
 * One table row per resource: its columns (SQL expression, JSON name, kind) and how each
 * filter reads on its tables. The query is assembled from them and prepared per request:
 * a few tens of µs, small beside the page it reads, and the statement cache stays the
 * trading path's. Every query is keyed on an INTEGER PRIMARY KEY descending, so a page is
 * an index range scan of at most `limit` rows however large the table. */
#include "store/store_api.h"

#include <stdio.h>
#include <string.h>

#include "store/store_internal.h"

#define MAX_COLS            26
#define OPEN_ORDER_STATUSES "('new', 'accepted', 'held', 'partially_filled')"

typedef struct {
    const char *expr, *name;
    store_api_kind kind;
} column;

typedef struct {
    const char *name;
    const char *from;     /* FROM ... (with joins) */
    const char *id;       /* the paging key, an integer primary key */
    const char *table;    /* for store_api_max_id */
    const char *pipeline; /* expression the pipeline filter compares, NULL = none */
    const char *symbol;
    const char *status; /* a condition on ?5, NULL = the filter is ignored */
    const char *execution;
    column cols[MAX_COLS];
} resource;

/* ?1 before, ?2 after, ?3 pipeline, ?4 symbol, ?5 status, ?6 execution id, ?7 limit,
 * ?8 kind (events). */
static const resource resources[STORE_API_RESOURCE_COUNT] = {
    [STORE_API_EXECUTIONS] =
        {"executions",
         "executions e",
         "e.id",
         "executions",
         "e.pipeline",
         "e.symbol",
         "(e.status = ?5 OR (?5 = 'active' AND e.status IN " STORE_ACTIVE_STATUSES "))",
         "e.id",
         {{"e.id", "id", STORE_API_INT},
          {"e.pipeline", "pipeline", STORE_API_TEXT},
          {"e.symbol", "symbol", STORE_API_TEXT},
          {"e.status", "status", STORE_API_TEXT},
          {"e.execution_phase", "phase", STORE_API_TEXT},
          {"e.created_at", "created_at", STORE_API_TIME},
          {"e.updated_at", "updated_at", STORE_API_TIME},
          {"e.completed_at", "completed_at", STORE_API_TIME},
          {"e.bias", "bias", STORE_API_TEXT},
          {"e.side", "side", STORE_API_TEXT},
          {"e.qty", "qty", STORE_API_MONEY},
          {"e.entry_price", "entry_price", STORE_API_MONEY},
          {"e.stop_loss", "stop_loss", STORE_API_MONEY},
          {"e.take_profit", "take_profit", STORE_API_MONEY},
          {"e.realized_pnl", "realized_pnl", STORE_API_MONEY},
          {"e.fees", "fees", STORE_API_MONEY},
          {"e.reason", "reason", STORE_API_TEXT},
          {"e.next_check_at", "next_check_at", STORE_API_TIME},
          {"e.monitor_interval_seconds", "monitor_interval_s", STORE_API_INT},
          {"e.retry_count", "retry_count", STORE_API_INT},
          /* A stop or limit entry (migration 6): NULL type = execution.entry decided. */
          {"e.entry_type", "entry_type", STORE_API_TEXT},
          {"NULLIF(e.entry_order_price, 0)", "entry_order_price", STORE_API_MONEY},
          {"NULLIF(e.expire_bars, 0)", "expire_bars", STORE_API_INT},
          {"e.expire_at", "expire_at", STORE_API_TIME}}},
    [STORE_API_POSITIONS] = {"positions",
                             "positions p LEFT JOIN executions e ON e.id = p.execution_id",
                             "p.position_id",
                             "positions",
                             "e.pipeline",
                             "p.symbol",
                             "p.status = ?5",
                             "p.execution_id",
                             {{"p.position_id", "id", STORE_API_INT},
                              {"p.execution_id", "execution_id", STORE_API_INT},
                              {"e.pipeline", "pipeline", STORE_API_TEXT},
                              {"p.symbol", "symbol", STORE_API_TEXT},
                              {"p.side", "side", STORE_API_TEXT},
                              {"p.status", "status", STORE_API_TEXT},
                              {"p.quantity", "qty", STORE_API_MONEY},
                              {"p.initial_quantity", "initial_qty", STORE_API_MONEY},
                              {"p.entry_price", "entry_price", STORE_API_MONEY},
                              {"p.current_price", "current_price", STORE_API_MONEY},
                              {"p.stop_loss", "stop_loss", STORE_API_MONEY},
                              {"p.take_profit", "take_profit", STORE_API_MONEY},
                              {"p.unrealized_pnl", "unrealized_pnl", STORE_API_MONEY},
                              {"p.unrealized_pnl_pct", "unrealized_pnl_pct", STORE_API_MONEY},
                              {"p.realized_pnl", "realized_pnl", STORE_API_MONEY},
                              {"p.trailing_stop_active", "trailing_stop_active", STORE_API_BOOL},
                              {"p.trailing_stop_price", "trailing_stop_price", STORE_API_MONEY},
                              {"p.opened_at", "opened_at", STORE_API_TIME},
                              {"p.closed_at", "closed_at", STORE_API_TIME},
                              {"p.last_update", "last_update", STORE_API_TIME},
                              {"p.exit_reason", "exit_reason", STORE_API_TEXT}}},
    [STORE_API_ORDERS] = {"orders",
                          "orders o LEFT JOIN executions e ON e.id = o.execution_id",
                          "o.id",
                          "orders",
                          "e.pipeline",
                          "o.symbol",
                          "(o.status = ?5 OR (?5 = 'open' AND o.status IN " OPEN_ORDER_STATUSES
                          "))",
                          "o.execution_id",
                          {{"o.id", "id", STORE_API_INT},
                           {"o.execution_id", "execution_id", STORE_API_INT},
                           {"e.pipeline", "pipeline", STORE_API_TEXT},
                           {"o.client_order_id", "client_order_id", STORE_API_TEXT},
                           {"o.broker_order_id", "broker_order_id", STORE_API_TEXT},
                           {"o.parent_client_order_id", "parent_client_order_id", STORE_API_TEXT},
                           {"o.role", "role", STORE_API_TEXT},
                           {"o.symbol", "symbol", STORE_API_TEXT},
                           {"o.side", "side", STORE_API_TEXT},
                           {"o.type", "type", STORE_API_TEXT},
                           {"o.status", "status", STORE_API_TEXT},
                           {"o.qty", "qty", STORE_API_MONEY},
                           {"o.limit_price", "limit_price", STORE_API_MONEY},
                           {"o.stop_price", "stop_price", STORE_API_MONEY},
                           {"o.filled_qty", "filled_qty", STORE_API_MONEY},
                           {"o.avg_fill_price", "avg_fill_price", STORE_API_MONEY},
                           {"o.created_at", "created_at", STORE_API_TIME},
                           {"o.submitted_at", "submitted_at", STORE_API_TIME},
                           {"o.updated_at", "updated_at", STORE_API_TIME},
                           {"o.reason", "reason", STORE_API_TEXT},
                           {"o.error", "error", STORE_API_TEXT}}},
    [STORE_API_FILLS] = {"fills",
                         "fills f LEFT JOIN executions e ON e.id = f.execution_id",
                         "f.id",
                         "fills",
                         "e.pipeline",
                         "f.symbol",
                         NULL,
                         "f.execution_id",
                         {{"f.id", "id", STORE_API_INT},
                          {"f.execution_id", "execution_id", STORE_API_INT},
                          {"e.pipeline", "pipeline", STORE_API_TEXT},
                          {"f.order_client_id", "client_order_id", STORE_API_TEXT},
                          {"f.fill_id", "fill_id", STORE_API_TEXT},
                          {"f.symbol", "symbol", STORE_API_TEXT},
                          {"f.side", "side", STORE_API_TEXT},
                          {"f.qty", "qty", STORE_API_MONEY},
                          {"f.price", "price", STORE_API_MONEY},
                          {"f.fee", "fee", STORE_API_MONEY},
                          {"f.ts", "ts", STORE_API_TIME}}},
    [STORE_API_EXITS] = {"exits",
                         "position_exits x LEFT JOIN positions p ON p.position_id = x.position_id "
                         "LEFT JOIN executions e ON e.id = x.execution_id",
                         "x.exit_id",
                         "position_exits",
                         "e.pipeline",
                         "p.symbol",
                         "x.status = ?5",
                         "x.execution_id",
                         {{"x.exit_id", "id", STORE_API_INT},
                          {"x.execution_id", "execution_id", STORE_API_INT},
                          {"x.position_id", "position_id", STORE_API_INT},
                          {"e.pipeline", "pipeline", STORE_API_TEXT},
                          {"p.symbol", "symbol", STORE_API_TEXT},
                          {"x.exit_reason", "condition", STORE_API_TEXT},
                          {"x.exit_priority", "priority", STORE_API_TEXT},
                          {"x.status", "status", STORE_API_TEXT},
                          {"x.exit_quantity", "qty", STORE_API_MONEY},
                          {"x.filled_quantity", "filled_qty", STORE_API_MONEY},
                          {"x.partial_exit", "partial", STORE_API_BOOL},
                          {"x.exit_price", "trigger_price", STORE_API_MONEY},
                          {"x.execution_strategy", "pricing", STORE_API_TEXT},
                          {"x.unrealized_pnl", "unrealized_pnl", STORE_API_MONEY},
                          {"x.unrealized_pnl_pct", "unrealized_pnl_pct", STORE_API_MONEY},
                          {"x.triggered_at", "triggered_at", STORE_API_TIME},
                          {"x.executed_at", "executed_at", STORE_API_TIME},
                          {"x.attempts", "attempts", STORE_API_INT},
                          {"x.detail", "detail", STORE_API_TEXT}}},
    [STORE_API_EXIT_ATTEMPTS] =
        {"exit_attempts",
         "exit_attempts a LEFT JOIN position_exits x ON x.exit_id = a.exit_id "
         "LEFT JOIN executions e ON e.id = x.execution_id",
         "a.attempt_id",
         "exit_attempts",
         "e.pipeline",
         NULL,
         "a.status = ?5",
         "x.execution_id",
         {{"a.attempt_id", "id", STORE_API_INT},
          {"a.exit_id", "exit_id", STORE_API_INT},
          {"x.execution_id", "execution_id", STORE_API_INT},
          {"e.pipeline", "pipeline", STORE_API_TEXT},
          {"a.attempt_number", "attempt", STORE_API_INT},
          {"a.client_order_id", "client_order_id", STORE_API_TEXT},
          {"a.order_type", "order_type", STORE_API_TEXT},
          {"a.limit_price", "limit_price", STORE_API_MONEY},
          {"a.quantity", "qty", STORE_API_MONEY},
          {"a.filled_quantity", "filled_qty", STORE_API_MONEY},
          {"a.status", "status", STORE_API_TEXT},
          {"a.placed_at", "placed_at", STORE_API_TIME}}},
    [STORE_API_EVENTS] = {"events",
                          "events v",
                          "v.id",
                          "events",
                          "v.pipeline",
                          NULL,
                          NULL,
                          "v.execution_id",
                          {{"v.id", "id", STORE_API_INT},
                           {"v.ts", "ts", STORE_API_TIME},
                           {"v.pipeline", "pipeline", STORE_API_TEXT},
                           {"v.execution_id", "execution_id", STORE_API_INT},
                           {"v.kind", "kind", STORE_API_TEXT},
                           {"v.message", "message", STORE_API_TEXT}}},
    [STORE_API_EQUITY] = {"equity",
                          "equity q",
                          "q.id",
                          "equity",
                          "q.pipeline",
                          NULL,
                          NULL,
                          NULL,
                          {{"q.id", "id", STORE_API_INT},
                           {"q.ts", "ts", STORE_API_TIME},
                           {"q.pipeline", "pipeline", STORE_API_TEXT},
                           {"q.cash", "cash", STORE_API_MONEY},
                           {"q.equity", "equity", STORE_API_MONEY}}},
    /* The nonce is left out: it is part of the Telegram buttons' callback data. */
    [STORE_API_APPROVALS] = {"approvals",
                             "approvals a",
                             "a.id",
                             "approvals",
                             "a.pipeline",
                             "a.symbol",
                             "a.status = ?5",
                             "a.execution_id",
                             {{"a.id", "id", STORE_API_INT},
                              {"a.execution_id", "execution_id", STORE_API_INT},
                              {"a.pipeline", "pipeline", STORE_API_TEXT},
                              {"a.symbol", "symbol", STORE_API_TEXT},
                              {"a.side", "side", STORE_API_TEXT},
                              {"a.qty", "qty", STORE_API_MONEY},
                              {"a.entry", "entry", STORE_API_MONEY},
                              {"a.stop_loss", "stop_loss", STORE_API_MONEY},
                              {"a.take_profit", "take_profit", STORE_API_MONEY},
                              {"a.status", "status", STORE_API_TEXT},
                              {"a.created_at", "created_at", STORE_API_TIME},
                              {"a.expires_at", "expires_at", STORE_API_TIME},
                              {"a.answer", "answer", STORE_API_TEXT},
                              {"a.answered_by", "answered_by", STORE_API_TEXT},
                              {"a.answered_at", "answered_at", STORE_API_TIME},
                              {"a.answer_reason", "answer_reason", STORE_API_TEXT},
                              {"a.decided_at", "decided_at", STORE_API_TIME},
                              {"a.outcome", "outcome", STORE_API_TEXT}}},
    /* Every pipeline the store knows (from its executions and its restart cursors), with
     * its totals; one row each, by name. The paging key is meaningless here (0). */
    [STORE_API_PIPELINES] =
        {"pipelines",
         /* One pass over the executions for every pipeline's totals, plus the pipelines
          * that have only a restart cursor. */
         "(SELECT pipeline AS name, count(*) AS n, "
         "sum(status IN " STORE_ACTIVE_STATUSES ") AS active, "
         "coalesce(sum(realized_pnl), 0) AS pnl, coalesce(sum(fees), 0) AS fees, "
         "max(updated_at) AS last FROM executions GROUP BY pipeline "
         "UNION ALL SELECT c.pipeline, 0, 0, 0, 0, NULL FROM cursors c "
         "WHERE c.pipeline NOT IN (SELECT pipeline FROM executions)) n",
         "0",
         NULL,
         "n.name",
         NULL,
         NULL,
         NULL,
         {{"0", "rowid", STORE_API_INT},
          {"n.name", "name", STORE_API_TEXT},
          {"n.n", "executions", STORE_API_INT},
          {"n.active", "active_executions", STORE_API_INT},
          {"(SELECT count(*) FROM positions p JOIN executions e ON e.id = p.execution_id "
           "WHERE p.status = 'open' AND e.pipeline = n.name)",
           "open_positions", STORE_API_INT},
          {"n.pnl", "realized_pnl", STORE_API_MONEY},
          {"n.fees", "fees", STORE_API_MONEY},
          {"(SELECT c.last_ts FROM cursors c WHERE c.pipeline = n.name)", "last_bar_at",
           STORE_API_TIME},
          {"n.last", "last_activity_at", STORE_API_TIME}}},
};

const char *store_api_resource_name(store_api_resource r)
{
    return r >= 0 && r < STORE_API_RESOURCE_COUNT ? resources[r].name : "";
}

int store_api_resource_find(const char *name)
{
    for (int i = 0; i < STORE_API_RESOURCE_COUNT; i++)
        if (strcmp(resources[i].name, name) == 0)
            return i;
    return -1;
}

static int build_sql(const resource *r, bool ascending, char *sql, size_t cap)
{
    size_t n = 0;
    int w = snprintf(sql, cap, "SELECT ");
    n += (size_t)w;
    int ncols = 0;
    for (; ncols < MAX_COLS && r->cols[ncols].expr; ncols++) {
        w = snprintf(sql + n, cap - n, "%s%s", ncols ? ", " : "", r->cols[ncols].expr);
        if (w < 0 || (size_t)w >= cap - n)
            return -1;
        n += (size_t)w;
    }
    bool pipelines = strcmp(r->id, "0") == 0;
    char order[64];
    snprintf(order, sizeof order, "%s%s", pipelines ? "n.name" : r->id,
             pipelines || ascending ? "" : " DESC");
    w = snprintf(sql + n, cap - n,
                 " FROM %s WHERE (?1 IS NULL OR %s < ?1) AND (?2 IS NULL OR %s > ?2)"
                 " AND (?3 IS NULL OR %s = ?3) AND (?4 IS NULL OR %s = ?4)"
                 " AND (?5 IS NULL OR %s) AND (?6 IS NULL OR %s = ?6)"
                 " AND (?8 IS NULL OR %s) ORDER BY %s LIMIT ?7",
                 r->from, r->id, r->id, r->pipeline ? r->pipeline : "?3",
                 r->symbol ? r->symbol : "?4", r->status ? r->status : "1",
                 r->execution ? r->execution : "?6",
                 r == &resources[STORE_API_EVENTS] ? "v.kind = ?8" : "1", order);
    if (w < 0 || (size_t)w >= cap - n)
        return -1;
    return ncols;
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *v)
{
    if (v && *v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

static void bind_id_or_null(sqlite3_stmt *st, int i, int64_t v)
{
    if (v > 0)
        sqlite3_bind_int64(st, i, v);
    else
        sqlite3_bind_null(st, i);
}

int store_api_page(store *s, store_api_resource which, const store_api_filter *f,
                   int (*fn)(void *ud, const store_api_row *row), void *ud)
{
    if (which < 0 || which >= STORE_API_RESOURCE_COUNT)
        return store_failf(s, APEX_EINVAL, "no such resource");
    const resource *r = &resources[which];
    char sql[4096];
    int ncols = build_sql(r, f->follow || (f->after > 0 && f->before <= 0), sql, sizeof sql);
    if (ncols < 0)
        return store_failf(s, APEX_EINVAL, "%s: query too long", r->name);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return store_fail(s, rc, r->name);
    int limit = f->limit > 0 ? f->limit : STORE_API_DEFAULT_LIMIT;
    if (limit > STORE_API_MAX_LIMIT)
        limit = STORE_API_MAX_LIMIT;
    bind_id_or_null(st, 1, f->before);
    if (f->follow)
        sqlite3_bind_int64(st, 2, f->after);
    else
        bind_id_or_null(st, 2, f->after);
    bind_text_or_null(st, 3, f->pipeline);
    bind_text_or_null(st, 4, f->symbol);
    bind_text_or_null(st, 5, f->status);
    bind_id_or_null(st, 6, f->execution_id);
    sqlite3_bind_int(st, 7, limit);
    bind_text_or_null(st, 8, f->kind);

    const char *names[MAX_COLS];
    store_api_kind kinds[MAX_COLS];
    bool nulls[MAX_COLS];
    int64_t ints[MAX_COLS];
    const char *texts[MAX_COLS];
    for (int c = 0; c < ncols; c++) {
        names[c] = r->cols[c].name;
        kinds[c] = r->cols[c].kind;
    }
    store_api_row row = {.ncols = ncols,
                         .names = names,
                         .kinds = kinds,
                         .is_null = nulls,
                         .ints = ints,
                         .texts = texts};
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        for (int c = 0; c < ncols; c++) {
            nulls[c] = sqlite3_column_type(st, c) == SQLITE_NULL;
            ints[c] = sqlite3_column_int64(st, c);
            const unsigned char *t = sqlite3_column_text(st, c);
            texts[c] = t ? (const char *)t : "";
        }
        row.id = ints[0];
        if (fn(ud, &row)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    int code = rc == SQLITE_DONE ? 0 : store_fail(s, rc, r->name);
    sqlite3_finalize(st);
    return code;
}

int store_api_max_id(store *s, store_api_resource which, int64_t *out)
{
    *out = 0;
    if (which < 0 || which >= STORE_API_RESOURCE_COUNT || !resources[which].table)
        return store_failf(s, APEX_EINVAL, "no such table");
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT max(rowid) FROM %s", resources[which].table);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        rc = SQLITE_DONE;
    }
    int code = rc == SQLITE_DONE ? 0 : store_fail(s, rc, "max id");
    sqlite3_finalize(st);
    return code;
}
