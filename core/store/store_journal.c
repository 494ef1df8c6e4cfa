/* store_journal: the append-only records — audit events, equity snapshots — and the
 * per-pipeline cursors that let a restart resume at the next unprocessed bar. */
#include "store/store_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"

static int event_insert(store *s, apex_time ts, const char *pipeline, int64_t execution_id,
                        const char *kind, const char *fmt, va_list args)
{
    /* A message is cut at STORE_EVENT_MESSAGE_MAX: the audit log records what happened,
     * and its rows must stay small whatever text (a script's error) ends up in them. */
    char msg[STORE_EVENT_MESSAGE_MAX];
    va_list ap;
    va_copy(ap, args);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        return store_failf(s, APEX_EINVAL, "event '%s': bad message format", kind ? kind : "");
    if ((size_t)n >= sizeof msg) {
        n = (int)sizeof msg - 1;
        memcpy(msg + n - 3, "...", 3);
    }
    sqlite3_stmt *st = store_stmt(s, STMT_EVENT_INSERT,
                                  "INSERT INTO events(ts, pipeline, execution_id, kind, message) "
                                  "VALUES (?1, ?2, ?3, ?4, ?5)");
    if (!st)
        return APEX_EIO;
    sqlite3_bind_int64(st, 1, ts);
    store_bind_text(st, 2, pipeline);
    store_bind_id(st, 3, execution_id);
    sqlite3_bind_text(st, 4, kind && *kind ? kind : "info", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, msg, n, SQLITE_TRANSIENT);
    return store_step_done(s, st, "recording an event");
}

int store_event(store *s, apex_time ts, const char *pipeline, int64_t execution_id,
                const char *kind, apex_error *err, const char *fmt, ...)
{
    int rc = store_write_injected(s, "events", "recording an event");
    if (!rc) {
        va_list ap;
        va_start(ap, fmt);
        rc = event_insert(s, ts, pipeline, execution_id, kind, fmt, ap);
        va_end(ap);
    }
    return store_write_result(s, rc, err);
}

int store_events_recent(store *s, const char *pipeline, int limit,
                        int (*fn)(void *ud, const store_event_row *ev), void *ud)
{
    sqlite3_stmt *st = store_stmt(s, STMT_EVENTS_RECENT,
                                  "SELECT id, ts, pipeline, execution_id, kind, message "
                                  "FROM events WHERE (?1 IS NULL OR pipeline = ?1) "
                                  "ORDER BY id DESC LIMIT ?2");
    if (!st)
        return APEX_EIO;
    store_bind_text(st, 1, pipeline);
    sqlite3_bind_int(st, 2, limit < 0 ? 0 : limit);
    store_rows rows = {.size = sizeof(store_event_row)};
    int rc, result = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        store_event_row *ev = store_rows_push(s, &rows);
        if (!ev) {
            result = APEX_ENOMEM;
            break;
        }
        ev->id = sqlite3_column_int64(st, 0);
        ev->ts = sqlite3_column_int64(st, 1);
        store_col_text(st, 2, ev->pipeline, sizeof ev->pipeline);
        ev->execution_id = store_col_id(st, 3);
        store_col_text(st, 4, ev->kind, sizeof ev->kind);
        store_col_text(st, 5, ev->message, sizeof ev->message);
    }
    if (!result && rc != SQLITE_DONE)
        result = store_fail(s, rc, "listing events");
    sqlite3_reset(st);
    const store_event_row *items = rows.items;
    for (size_t i = 0; !result && i < rows.count; i++)
        if (fn(ud, &items[i]))
            break;
    store_rows_free(&rows);
    return result;
}

static int equity_insert(store *s, apex_time ts, const char *pipeline, money_t cash, money_t equity)
{
    sqlite3_stmt *st =
        store_stmt(s, STMT_EQUITY_INSERT,
                   "INSERT INTO equity(ts, pipeline, cash, equity) VALUES (?1, ?2, ?3, ?4)");
    if (!st)
        return APEX_EIO;
    sqlite3_bind_int64(st, 1, ts);
    store_bind_text(st, 2, pipeline);
    sqlite3_bind_int64(st, 3, cash);
    sqlite3_bind_int64(st, 4, equity);
    return store_step_done(s, st, "recording an equity snapshot");
}

int store_equity_insert(store *s, apex_time ts, const char *pipeline, money_t cash, money_t equity,
                        apex_error *err)
{
    int rc = store_write_injected(s, "equity", "recording an equity snapshot");
    if (!rc)
        rc = equity_insert(s, ts, pipeline, cash, equity);
    return store_write_result(s, rc, err);
}

int store_equity_latest(store *s, const char *pipeline, apex_time *ts, money_t *cash,
                        money_t *equity)
{
    sqlite3_stmt *st = store_stmt(s, STMT_EQUITY_LATEST,
                                  "SELECT ts, cash, equity FROM equity "
                                  "WHERE (?1 IS NULL OR pipeline = ?1) "
                                  "ORDER BY ts DESC, id DESC LIMIT 1");
    if (!st)
        return APEX_EIO;
    store_bind_text(st, 1, pipeline);
    int rc = sqlite3_step(st);
    int result = 0;
    if (rc == SQLITE_ROW) {
        if (ts)
            *ts = sqlite3_column_int64(st, 0);
        if (cash)
            *cash = sqlite3_column_int64(st, 1);
        if (equity)
            *equity = sqlite3_column_int64(st, 2);
    } else if (rc == SQLITE_DONE) {
        result = store_failf(s, APEX_ENOTFOUND, "no equity snapshot for %s",
                             pipeline ? pipeline : "any pipeline");
    } else {
        result = store_fail(s, rc, "reading equity");
    }
    sqlite3_reset(st);
    return result;
}

int store_last_activity(store *s, const char *pipeline, apex_time *out)
{
    /* Rare (once per pipeline at open): prepared each time rather than cached. */
    /* Every pipeline of a store ran in one process, fed bars in one time order: when
     * any of them recorded something at T, all of them had seen the bars up to T. A
     * `risk_mode` event is a person's command (apex-host resume, reduce-only), stamped with
     * the wall clock rather than the data's time: no pipeline saw bars up to it. */
    (void)pipeline;
    static const char sql[] = "SELECT max(coalesce((SELECT max(ts) FROM events"
                              " WHERE kind <> 'risk_mode'), 0),"
                              " coalesce((SELECT max(triggered_at) FROM position_exits), 0),"
                              " coalesce((SELECT max(created_at) FROM orders), 0),"
                              " coalesce((SELECT max(last_ts) FROM cursors), 0))";
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    int result = 0;
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    else
        result = store_fail(s, rc, "reading the last activity");
    sqlite3_finalize(st);
    return result;
}

int store_cursor_get(store *s, const char *pipeline, apex_time *out)
{
    sqlite3_stmt *st =
        store_stmt(s, STMT_CURSOR_GET, "SELECT last_ts FROM cursors WHERE pipeline = ?1");
    if (!st)
        return APEX_EIO;
    sqlite3_bind_text(st, 1, pipeline ? pipeline : "", -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    int result = 0;
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    else if (rc == SQLITE_DONE)
        *out = 0;
    else
        result = store_fail(s, rc, "reading a cursor");
    sqlite3_reset(st);
    return result;
}

static int cursor_set(store *s, const char *pipeline, apex_time ts)
{
    if (!pipeline || !*pipeline)
        return store_failf(s, APEX_EINVAL, "cursor: a pipeline name is required");
    sqlite3_stmt *st = store_stmt(s, STMT_CURSOR_SET,
                                  "INSERT INTO cursors(pipeline, last_ts) VALUES (?1, ?2) "
                                  "ON CONFLICT(pipeline) DO UPDATE SET last_ts = excluded.last_ts");
    if (!st)
        return APEX_EIO;
    sqlite3_bind_text(st, 1, pipeline, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, ts);
    return store_step_done(s, st, "saving a cursor");
}

int store_cursor_set(store *s, const char *pipeline, apex_time ts, apex_error *err)
{
    int rc = store_write_injected(s, "cursors", "saving a cursor");
    if (!rc)
        rc = cursor_set(s, pipeline, ts);
    return store_write_result(s, rc, err);
}

/* ---- script failures ---- */

static int script_failures_add(store *s, const store_script_failure *f)
{
    if (!f->pipeline[0] || !f->stage[0])
        return store_failf(s, APEX_EINVAL, "script failures: a pipeline and a stage are required");
    sqlite3_stmt *st =
        store_stmt(s, STMT_SCRIPT_FAILURES_ADD,
                   "INSERT INTO script_failures(pipeline, stage, failures, recorded, first_at, "
                   "last_at, last_error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
                   "ON CONFLICT(pipeline, stage) DO UPDATE SET "
                   "failures = failures + excluded.failures, "
                   "recorded = recorded + excluded.recorded, "
                   "last_at = excluded.last_at, last_error = excluded.last_error");
    if (!st)
        return APEX_EIO;
    sqlite3_bind_text(st, 1, f->pipeline, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, f->stage, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, f->failures);
    sqlite3_bind_int64(st, 4, f->recorded);
    sqlite3_bind_int64(st, 5, f->first_at);
    sqlite3_bind_int64(st, 6, f->last_at);
    sqlite3_bind_text(st, 7, f->last_error, -1, SQLITE_TRANSIENT);
    return store_step_done(s, st, "recording script failures");
}

int store_script_failures_add(store *s, const store_script_failure *f, apex_error *err)
{
    int rc = store_write_injected(s, "script_failures", "recording script failures");
    if (!rc)
        rc = script_failures_add(s, f);
    return store_write_result(s, rc, err);
}
