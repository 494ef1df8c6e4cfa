/* store_report: the read-only queries behind `apex-host status` and the dashboard.
 *
 * Queries that take several statements (an exit list and its attempts, the summary) run
 * inside a SAVEPOINT so they read one snapshot even while a live host writes: in WAL mode
 * a read transaction sees the database as of its first read. A savepoint, unlike BEGIN,
 * also nests inside a batch the host may have open on the same connection. */
#include "store/store_report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"
#include "util/err.h"

/* "?1 names the pipeline" as SQL, for tables that reach it through their execution. */
#define BY_PIPELINE                                                                                \
    "(?1 IS NULL OR execution_id IN (SELECT id FROM executions WHERE pipeline = ?1))"

static int snapshot_begin(store *s)
{
    int rc = sqlite3_exec(s->db, "SAVEPOINT store_report", NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : store_fail(s, rc, "starting a report");
}

/* Keeps the first error: the report's, else the release's. */
static int snapshot_end(store *s, int result)
{
    int rc = sqlite3_exec(s->db, "RELEASE store_report", NULL, NULL, NULL);
    if (!result && rc != SQLITE_OK)
        result = store_fail(s, rc, "finishing a report");
    return result;
}

/* Steps st to the end, reading each row into a fresh slot of rows with read(). */
static int collect(store *s, sqlite3_stmt *st, store_rows *rows, const char *what,
                   int (*read)(store *, sqlite3_stmt *, void *))
{
    int rc, result = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        void *slot = store_rows_push(s, rows);
        if (!slot) {
            result = APEX_ENOMEM;
            break;
        }
        if ((result = read(s, st, slot)))
            break;
    }
    if (!result && rc != SQLITE_DONE)
        result = store_fail(s, rc, what);
    sqlite3_reset(st);
    return result;
}

/* ---- executions --------------------------------------------------------------------- */

static int read_execution(store *s, sqlite3_stmt *st, void *slot)
{
    return store_read_execution(s, st, slot);
}

int store_report_executions(store *s, const char *pipeline, int recent,
                            int (*fn)(void *ud, const store_execution *e), void *ud)
{
    store_report_filter f = {.pipeline = pipeline, .limit = recent};
    return store_report_executions_matching(s, &f, fn, ud);
}

/* An execution matches ?1 (pipeline), ?3 (symbol) and ?4 (status); NULL matches all. */
#define EXEC_MATCHES                                                                               \
    "(?1 IS NULL OR pipeline = ?1) AND (?3 IS NULL OR symbol = ?3) AND "                           \
    "(?4 IS NULL OR status = ?4)"

int store_report_executions_matching(store *s, const store_report_filter *f,
                                     int (*fn)(void *ud, const store_execution *e), void *ud)
{
    sqlite3_stmt *st = store_stmt(
        s, STMT_REPORT_EXECUTIONS,
        "SELECT " STORE_EXEC_COLUMNS " FROM executions "
        "WHERE " EXEC_MATCHES " AND ((?4 IS NULL AND status IN " STORE_ACTIVE_STATUSES ") OR id IN "
        "(SELECT id FROM executions WHERE " EXEC_MATCHES
        " ORDER BY id DESC LIMIT ?2)) ORDER BY id DESC");
    if (!st)
        return APEX_EIO;
    store_bind_text(st, 1, f->pipeline);
    sqlite3_bind_int(st, 2, f->limit < 0 ? 0 : f->limit);
    store_bind_text(st, 3, f->symbol);
    store_bind_text(st, 4, f->status);
    store_rows rows = {.size = sizeof(store_execution)};
    int result = collect(s, st, &rows, "reading executions", read_execution);
    const store_execution *items = rows.items;
    for (size_t i = 0; !result && i < rows.count; i++)
        if (fn(ud, &items[i]))
            break;
    store_rows_free(&rows);
    return result;
}

/* ---- positions ---------------------------------------------------------------------- */

static int read_position(store *s, sqlite3_stmt *st, void *slot)
{
    store_report_position *p = slot;
    int rc = store_read_position(s, st, &p->pos);
    p->monitor_interval_s = sqlite3_column_int(st, 23);
    p->next_check_at = store_col_time(st, 24);
    p->has_execution = sqlite3_column_int(st, 25) > 0;
    return rc;
}

int store_report_positions(store *s, const char *pipeline,
                           int (*fn)(void *ud, const store_report_position *p), void *ud)
{
    /* Subqueries rather than a join: executions shares column names (symbol, side,
     * status, ...) with positions, and the row reader expects them bare. */
    sqlite3_stmt *st = store_stmt(
        s, STMT_REPORT_POSITIONS,
        "SELECT " STORE_POSITION_COLUMNS ", "
        "(SELECT monitor_interval_seconds FROM executions e WHERE e.id = positions.execution_id), "
        "(SELECT next_check_at FROM executions e WHERE e.id = positions.execution_id), "
        "(SELECT count(*) FROM executions e WHERE e.id = positions.execution_id) "
        "FROM positions WHERE status = 'open' AND " BY_PIPELINE " ORDER BY position_id");
    if (!st)
        return APEX_EIO;
    store_bind_text(st, 1, pipeline);
    store_rows rows = {.size = sizeof(store_report_position)};
    int result = collect(s, st, &rows, "reading open positions", read_position);
    const store_report_position *items = rows.items;
    for (size_t i = 0; !result && i < rows.count; i++)
        if (fn(ud, &items[i]))
            break;
    store_rows_free(&rows);
    return result;
}

/* ---- orders ------------------------------------------------------------------------- */

static int read_order(store *s, sqlite3_stmt *st, void *slot)
{
    return store_read_order(s, st, slot);
}

int store_report_open_orders(store *s, const char *pipeline,
                             int (*fn)(void *ud, const store_order *o), void *ud)
{
    sqlite3_stmt *st =
        store_stmt(s, STMT_REPORT_OPEN_ORDERS,
                   "SELECT " STORE_ORDER_COLUMNS " FROM orders "
                   "WHERE status IN " STORE_OPEN_ORDER_STATUSES " AND " BY_PIPELINE " ORDER BY id");
    if (!st)
        return APEX_EIO;
    store_bind_text(st, 1, pipeline);
    store_rows rows = {.size = sizeof(store_order)};
    int result = collect(s, st, &rows, "reading open orders", read_order);
    const store_order *items = rows.items;
    for (size_t i = 0; !result && i < rows.count; i++)
        if (fn(ud, &items[i]))
            break;
    store_rows_free(&rows);
    return result;
}

/* ---- exits -------------------------------------------------------------------------- */

static int read_exit(store *s, sqlite3_stmt *st, void *slot)
{
    store_report_exit *x = slot;
    store_read_exit(st, &x->exit);
    store_col_text(st, 17, x->symbol, sizeof x->symbol);
    return 0;
}

static int read_attempt(store *s, sqlite3_stmt *st, void *slot)
{
    store_read_exit_attempt(st, slot);
    return 0;
}

/* The latest `limit` (?2) exits of ?1's pipeline and ?3's symbol, as SQL both statements
 * share. */
#define LATEST_EXITS                                                                               \
    "(SELECT exit_id FROM position_exits WHERE " BY_PIPELINE " AND (?3 IS NULL OR position_id "    \
    "IN (SELECT position_id FROM positions WHERE symbol = ?3)) ORDER BY exit_id DESC LIMIT ?2)"

static int exits_read(store *s, const store_report_filter *f, store_rows *exits,
                      store_rows *attempts)
{
    const char *pipeline = f->pipeline;
    int limit = f->limit;
    sqlite3_stmt *st =
        store_stmt(s, STMT_REPORT_EXITS,
                   "SELECT " STORE_EXIT_COLUMNS ", (SELECT symbol FROM positions p "
                   "WHERE p.position_id = position_exits.position_id) "
                   "FROM position_exits WHERE exit_id IN " LATEST_EXITS " ORDER BY exit_id");
    if (!st)
        return APEX_EIO;
    store_bind_text(st, 1, pipeline);
    sqlite3_bind_int(st, 2, limit < 0 ? 0 : limit);
    store_bind_text(st, 3, f->symbol);
    int result = collect(s, st, exits, "reading exits", read_exit);
    if (result)
        return result;
    st = store_stmt(s, STMT_REPORT_EXIT_ATTEMPTS,
                    "SELECT " STORE_ATTEMPT_COLUMNS
                    " FROM exit_attempts WHERE exit_id IN " LATEST_EXITS
                    " ORDER BY exit_id, attempt_number, attempt_id");
    if (!st)
        return APEX_EIO;
    store_bind_text(st, 1, pipeline);
    sqlite3_bind_int(st, 2, limit < 0 ? 0 : limit);
    store_bind_text(st, 3, f->symbol);
    return collect(s, st, attempts, "reading exit attempts", read_attempt);
}

int store_report_exits(store *s, const char *pipeline, int limit,
                       int (*fn)(void *ud, const store_report_exit *x), void *ud)
{
    store_report_filter f = {.pipeline = pipeline, .limit = limit};
    return store_report_exits_matching(s, &f, fn, ud);
}

int store_report_exits_matching(store *s, const store_report_filter *f,
                                int (*fn)(void *ud, const store_report_exit *x), void *ud)
{
    store_rows exits = {.size = sizeof(store_report_exit)};
    store_rows attempts = {.size = sizeof(store_exit_attempt)};
    int result = snapshot_begin(s);
    if (!result)
        result = snapshot_end(s, exits_read(s, f, &exits, &attempts));
    /* Both lists are sorted by exit id, so one walk hands each exit its attempts. */
    store_report_exit *items = exits.items;
    const store_exit_attempt *all = attempts.items;
    size_t a = 0;
    for (size_t i = 0; !result && i < exits.count; i++) {
        store_report_exit *x = &items[i];
        while (a < attempts.count && all[a].exit_id < x->exit.id)
            a++;
        size_t first = a;
        while (a < attempts.count && all[a].exit_id == x->exit.id)
            a++;
        x->attempts = a > first ? &all[first] : NULL;
        x->nattempts = (int)(a - first);
        if (fn(ud, x))
            break;
    }
    store_rows_free(&exits);
    store_rows_free(&attempts);
    return result;
}

/* ---- events ------------------------------------------------------------------------- */

static int read_event(store *s, sqlite3_stmt *st, void *slot)
{
    store_event_row *ev = slot;
    ev->id = sqlite3_column_int64(st, 0);
    ev->ts = sqlite3_column_int64(st, 1);
    store_col_text(st, 2, ev->pipeline, sizeof ev->pipeline);
    ev->execution_id = store_col_id(st, 3);
    store_col_text(st, 4, ev->kind, sizeof ev->kind);
    store_col_text(st, 5, ev->message, sizeof ev->message);
    return 0;
}

static int events_oldest_first(store *s, sqlite3_stmt *st, const char *arg, int limit,
                               int (*fn)(void *ud, const store_event_row *ev), void *ud);

int store_report_events(store *s, const char *pipeline, int limit,
                        int (*fn)(void *ud, const store_event_row *ev), void *ud)
{
    store_report_filter f = {.pipeline = pipeline, .limit = limit};
    return store_report_events_matching(s, &f, fn, ud);
}

int store_report_events_matching(store *s, const store_report_filter *f,
                                 int (*fn)(void *ud, const store_event_row *ev), void *ud)
{
    sqlite3_stmt *st = store_stmt(s, STMT_REPORT_EVENTS,
                                  "SELECT id, ts, pipeline, execution_id, kind, message "
                                  "FROM events WHERE (?1 IS NULL OR pipeline = ?1) AND (?3 IS NULL "
                                  "OR execution_id IN (SELECT id FROM executions WHERE symbol = "
                                  "?3)) ORDER BY id DESC LIMIT ?2");
    if (st)
        store_bind_text(st, 3, f->symbol);
    return events_oldest_first(s, st, f->pipeline, f->limit, fn, ud);
}

int store_report_events_of_kind(store *s, const char *kind, int limit,
                                int (*fn)(void *ud, const store_event_row *ev), void *ud)
{
    sqlite3_stmt *st = store_stmt(s, STMT_REPORT_EVENTS_OF_KIND,
                                  "SELECT id, ts, pipeline, execution_id, kind, message "
                                  "FROM events WHERE kind = ?1 ORDER BY id DESC LIMIT ?2");
    return events_oldest_first(s, st, kind, limit, fn, ud);
}

/* Binds ?1 (text) and ?2 (limit) and delivers the rows read newest first, oldest first. */
static int events_oldest_first(store *s, sqlite3_stmt *st, const char *arg, int limit,
                               int (*fn)(void *ud, const store_event_row *ev), void *ud)
{
    if (!st)
        return APEX_EIO;
    store_bind_text(st, 1, arg);
    sqlite3_bind_int(st, 2, limit < 0 ? 0 : limit);
    store_rows rows = {.size = sizeof(store_event_row)};
    int result = collect(s, st, &rows, "reading events", read_event);
    /* Read newest first, so LIMIT keeps the latest; delivered oldest first. */
    const store_event_row *items = rows.items;
    for (size_t i = rows.count; !result && i > 0; i--)
        if (fn(ud, &items[i - 1]))
            break;
    store_rows_free(&rows);
    return result;
}

/* ---- script failures ---------------------------------------------------------------- */

static int read_script_failure(store *s, sqlite3_stmt *st, void *slot)
{
    store_script_failure *f = slot;
    store_col_text(st, 0, f->pipeline, sizeof f->pipeline);
    store_col_text(st, 1, f->stage, sizeof f->stage);
    f->failures = sqlite3_column_int64(st, 2);
    f->recorded = sqlite3_column_int64(st, 3);
    f->first_at = sqlite3_column_int64(st, 4);
    f->last_at = sqlite3_column_int64(st, 5);
    store_col_text(st, 6, f->last_error, sizeof f->last_error);
    return 0;
}

int store_report_script_failures(store *s, const char *pipeline,
                                 int (*fn)(void *ud, const store_script_failure *f), void *ud)
{
    sqlite3_stmt *st = store_stmt(s, STMT_REPORT_SCRIPT_FAILURES,
                                  "SELECT pipeline, stage, failures, recorded, first_at, last_at, "
                                  "last_error FROM script_failures "
                                  "WHERE (?1 IS NULL OR pipeline = ?1) "
                                  "ORDER BY last_at DESC, pipeline, stage");
    if (!st)
        return APEX_EIO;
    store_bind_text(st, 1, pipeline);
    store_rows rows = {.size = sizeof(store_script_failure)};
    int result = collect(s, st, &rows, "reading script failures", read_script_failure);
    const store_script_failure *items = rows.items;
    for (size_t i = 0; !result && i < rows.count; i++)
        if (fn(ud, &items[i]))
            break;
    store_rows_free(&rows);
    return result;
}

/* ---- equity ------------------------------------------------------------------------- */

static int read_equity_point(store *s, sqlite3_stmt *st, void *slot)
{
    store_report_equity_point *pt = slot;
    pt->ts = sqlite3_column_int64(st, 0);
    store_col_text(st, 1, pt->pipeline, sizeof pt->pipeline);
    pt->cash = sqlite3_column_int64(st, 2);
    pt->equity = sqlite3_column_int64(st, 3);
    return 0;
}

/* ?1 pipeline, ?2 from, ?3 to: NULL = unbounded. */
#define EQUITY_RANGE                                                                               \
    "(?1 IS NULL OR pipeline = ?1) AND (?2 IS NULL OR ts >= ?2) AND (?3 IS NULL OR ts <= ?3)"

int store_report_equity(store *s, const char *pipeline, apex_time from, apex_time to,
                        apex_time step, int (*fn)(void *ud, const store_report_equity_point *pt),
                        void *ud)
{
    if (step < 0)
        return store_failf(s, APEX_EINVAL, "equity report: step must be >= 0 (0 = every point)");
    /* With a step: SQLite returns the bare column `id` from the row holding max(ts) in
     * each group, i.e. the last snapshot of each pipeline in each interval. */
    sqlite3_stmt *st =
        store_stmt(s, STMT_REPORT_EQUITY,
                   "SELECT ts, pipeline, cash, equity FROM equity WHERE " EQUITY_RANGE
                   " AND (?4 IS NULL OR id IN (SELECT id FROM (SELECT id, max(ts) FROM equity "
                   "WHERE " EQUITY_RANGE " GROUP BY pipeline, ts / ?4))) ORDER BY ts, id");
    if (!st)
        return APEX_EIO;
    store_bind_text(st, 1, pipeline);
    store_bind_time(st, 2, from);
    store_bind_time(st, 3, to);
    store_bind_time(st, 4, step);
    store_rows rows = {.size = sizeof(store_report_equity_point)};
    int result = collect(s, st, &rows, "reading the equity curve", read_equity_point);
    const store_report_equity_point *items = rows.items;
    for (size_t i = 0; !result && i < rows.count; i++)
        if (fn(ud, &items[i]))
            break;
    store_rows_free(&rows);
    return result;
}

/* ---- summary ------------------------------------------------------------------------ */

static int summary_executions(store *s, const char *pipeline, store_report_summary *out)
{
    sqlite3_stmt *st = store_stmt(s, STMT_REPORT_SUMMARY_EXECUTIONS,
                                  "SELECT status, count(*), coalesce(sum(realized_pnl), 0), "
                                  "coalesce(sum(fees), 0), coalesce(sum(realized_pnl > 0), 0), "
                                  "coalesce(sum(realized_pnl < 0), 0) FROM executions "
                                  "WHERE (?1 IS NULL OR pipeline = ?1) GROUP BY status");
    if (!st)
        return APEX_EIO;
    store_bind_text(st, 1, pipeline);
    int rc, result = 0;
    while (!result && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        char name[32];
        store_col_text(st, 0, name, sizeof name);
        int status = exec_status_parse(name);
        if (status < 0) {
            result = store_failf(s, APEX_EIO,
                                 "executions have unknown status '%s'; fix them with the sqlite3 "
                                 "shell or upgrade apex-host",
                                 name);
            break;
        }
        int n = sqlite3_column_int(st, 1);
        out->executions += n;
        out->executions_by_status[status] = n;
        out->realized_pnl += sqlite3_column_int64(st, 2);
        out->fees += sqlite3_column_int64(st, 3);
        /* Only a finished execution's P&L is a win or a loss; an open one may still turn. */
        if (exec_status_is_final((exec_status)status)) {
            out->wins += sqlite3_column_int(st, 4);
            out->losses += sqlite3_column_int(st, 5);
        }
    }
    if (!result && rc != SQLITE_DONE)
        result = store_fail(s, rc, "summarising executions");
    sqlite3_reset(st);
    return result;
}

static int summary_exits(store *s, const char *pipeline, store_report_summary *out)
{
    sqlite3_stmt *st = store_stmt(s, STMT_REPORT_SUMMARY_EXITS,
                                  "SELECT status, count(*) FROM position_exits WHERE " BY_PIPELINE
                                  " GROUP BY status");
    if (!st)
        return APEX_EIO;
    store_bind_text(st, 1, pipeline);
    int rc, result = 0;
    while (!result && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        char name[32];
        store_col_text(st, 0, name, sizeof name);
        int status = exit_status_parse(name);
        if (status < 0)
            result = store_failf(s, APEX_EIO,
                                 "position_exits have unknown status '%s'; fix them with the "
                                 "sqlite3 shell or upgrade apex-host",
                                 name);
        else
            out->exits_by_status[status] = sqlite3_column_int(st, 1);
    }
    if (!result && rc != SQLITE_DONE)
        result = store_fail(s, rc, "summarising exits");
    sqlite3_reset(st);
    return result;
}

static int summary_rest(store *s, const char *pipeline, store_report_summary *out)
{
    sqlite3_stmt *st = store_stmt(
        s, STMT_REPORT_SUMMARY,
        "SELECT "
        "(SELECT count(*) FROM positions WHERE status = 'open' AND " BY_PIPELINE "), "
        "(SELECT coalesce(sum(unrealized_pnl), 0) FROM positions "
        " WHERE status = 'open' AND " BY_PIPELINE "), "
        "(SELECT count(*) FROM orders WHERE status IN " STORE_OPEN_ORDER_STATUSES
        " AND " BY_PIPELINE "), "
        "(SELECT count(*) FROM fills WHERE " BY_PIPELINE "), "
        "(SELECT count(*) FROM events WHERE (?1 IS NULL OR pipeline = ?1)), "
        /* Each pipeline's latest snapshot (the NULL pipeline counts as one), summed. */
        "count(q.id), max(q.ts), coalesce(sum(q.cash), 0), coalesce(sum(q.equity), 0) "
        "FROM (SELECT * FROM equity WHERE id IN (SELECT (SELECT e2.id FROM equity e2 "
        "  WHERE e2.pipeline IS e1.pipeline ORDER BY e2.ts DESC, e2.id DESC LIMIT 1) "
        "  FROM (SELECT DISTINCT pipeline FROM equity WHERE (?1 IS NULL OR pipeline = ?1)) e1)"
        ") q");
    if (!st)
        return APEX_EIO;
    store_bind_text(st, 1, pipeline);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        out->open_positions = sqlite3_column_int(st, 0);
        out->unrealized_pnl = sqlite3_column_int64(st, 1);
        out->open_orders = sqlite3_column_int(st, 2);
        out->fills = sqlite3_column_int(st, 3);
        out->events = sqlite3_column_int(st, 4);
        out->has_equity = sqlite3_column_int(st, 5) > 0;
        out->equity_ts = store_col_time(st, 6);
        out->cash = sqlite3_column_int64(st, 7);
        out->equity = sqlite3_column_int64(st, 8);
    }
    int result = rc == SQLITE_ROW ? 0 : store_fail(s, rc, "summarising the store");
    sqlite3_reset(st);
    return result;
}

int store_report_summary_get(store *s, const char *pipeline, store_report_summary *out)
{
    memset(out, 0, sizeof *out);
    int result = snapshot_begin(s);
    if (result)
        return result;
    result = summary_executions(s, pipeline, out);
    if (!result)
        result = summary_exits(s, pipeline, out);
    if (!result)
        result = summary_rest(s, pipeline, out);
    result = snapshot_end(s, result);
    if (result)
        memset(out, 0, sizeof *out);
    return result;
}
