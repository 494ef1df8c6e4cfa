/* store_notify: see store_notify.h. Statements are prepared per call (a handful per
 * notification, far from the trading hot path), so this file adds nothing to the shared
 * statement cache. */
#include "store/store_notify.h"

#include <stdio.h>
#include <string.h>

#include "store/store_internal.h"

/* A statement of this file, prepared now; NULL with s->err set. */
static sqlite3_stmt *prepare(store *s, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK) {
        store_fail(s, rc, "preparing a notifications query");
        return NULL;
    }
    return st;
}

/* Steps a write and finalizes it; 0 or the store's code (message in s->err). */
static int run(store *s, sqlite3_stmt *st, const char *what)
{
    if (!st)
        return APEX_EIO;
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : store_fail(s, rc, what);
}

static int insert_row(store *s, const char *pipeline, const char *channel, const char *kind,
                      int64_t execution_id, const char *payload, apex_time now)
{
    sqlite3_stmt *st =
        prepare(s, "INSERT INTO notifications(pipeline, channel, kind, execution_id, payload, "
                   "created_at, next_attempt_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)");
    if (st) {
        sqlite3_bind_text(st, 1, pipeline, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, channel, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, kind, -1, SQLITE_TRANSIENT);
        store_bind_id(st, 4, execution_id);
        sqlite3_bind_text(st, 5, payload, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 6, now);
    }
    return run(s, st, "queueing a notification");
}

int store_notify_queue(store *s, const char *pipeline, const char *const *channels, int nchannels,
                       const char *kind, int64_t execution_id, const char *payload, apex_time now,
                       apex_error *err)
{
    int rc = store_write_injected(s, "notifications", "queueing a notification");
    if (!rc && strlen(payload) >= STORE_NOTIFY_PAYLOAD_MAX)
        rc = store_failf(s, APEX_ERANGE, "queueing a notification: a payload of %zu bytes",
                         strlen(payload));
    if (!rc && (rc = store_unit_begin(s, err)) == 0) {
        for (int i = 0; i < nchannels && !rc; i++)
            rc = insert_row(s, pipeline, channels[i], kind, execution_id, payload, now);
        if (!rc)
            rc = store_unit_commit(s, err);
        else
            store_unit_abort(s, NULL);
    }
    return store_write_result(s, rc, err);
}

#define COLUMNS                                                                                    \
    "id, pipeline, channel, kind, execution_id, payload, status, attempts, created_at, "           \
    "next_attempt_at, sent_at, summary_id, error"

static void read_row(sqlite3_stmt *st, store_notification *o)
{
    memset(o, 0, sizeof *o);
    o->id = sqlite3_column_int64(st, 0);
    store_col_text(st, 1, o->pipeline, sizeof o->pipeline);
    store_col_text(st, 2, o->channel, sizeof o->channel);
    store_col_text(st, 3, o->kind, sizeof o->kind);
    o->execution_id = store_col_id(st, 4);
    store_col_text(st, 5, o->payload, sizeof o->payload);
    store_col_text(st, 6, o->status, sizeof o->status);
    o->attempts = sqlite3_column_int(st, 7);
    o->created_at = store_col_time(st, 8);
    o->next_attempt_at = store_col_time(st, 9);
    o->sent_at = store_col_time(st, 10);
    o->summary_id = store_col_id(st, 11);
    store_col_text(st, 12, o->error, sizeof o->error);
}

/* Steps a one-row query into out; 0, APEX_ENOTFOUND or APEX_EIO. */
static int one_row(store *s, sqlite3_stmt *st, store_notification *out)
{
    if (!st)
        return APEX_EIO;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        read_row(st, out);
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? APEX_ENOTFOUND : store_fail(s, rc, "reading notifications");
}

int store_notify_next(store *s, const char *pipeline, const char *channel, apex_time now,
                      store_notification *out, int *due)
{
    sqlite3_stmt *st = prepare(s, "SELECT count(*) FROM notifications WHERE pipeline = ?1 AND "
                                  "channel = ?2 AND status = 'pending' AND next_attempt_at <= ?3");
    if (!st)
        return APEX_EIO;
    sqlite3_bind_text(st, 1, pipeline, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, channel, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, now);
    *due = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_finalize(st);
    if (*due == 0)
        return APEX_ENOTFOUND;
    st = prepare(s, "SELECT " COLUMNS " FROM notifications WHERE pipeline = ?1 AND channel = ?2 "
                    "AND status = 'pending' AND next_attempt_at <= ?3 "
                    "ORDER BY kind = '" STORE_NOTIFY_SUMMARY "' DESC, id LIMIT 1");
    if (st) {
        sqlite3_bind_text(st, 1, pipeline, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, channel, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 3, now);
    }
    return one_row(s, st, out);
}

int store_notify_next_due(store *s, const char *pipeline, const char *channel, apex_time *at)
{
    sqlite3_stmt *st = prepare(s, "SELECT min(next_attempt_at) FROM notifications WHERE "
                                  "pipeline = ?1 AND channel = ?2 AND status = 'pending'");
    if (!st)
        return APEX_EIO;
    sqlite3_bind_text(st, 1, pipeline, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, channel, -1, SQLITE_TRANSIENT);
    int rc = APEX_ENOTFOUND;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
        *at = sqlite3_column_int64(st, 0);
        rc = 0;
    }
    sqlite3_finalize(st);
    return rc;
}

int store_notify_pending_channels(store *s, const char *pipeline, char *buf, size_t len)
{
    sqlite3_stmt *st = prepare(s, "SELECT DISTINCT channel FROM notifications WHERE "
                                  "pipeline = ?1 AND status = 'pending' ORDER BY channel");
    if (!st)
        return APEX_EIO;
    sqlite3_bind_text(st, 1, pipeline, -1, SQLITE_TRANSIENT);
    int n = 0;
    size_t used = 0;
    if (len)
        buf[0] = '\0';
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *c = (const char *)sqlite3_column_text(st, 0);
        int w = snprintf(buf + used, used < len ? len - used : 0, "%s\n", c ? c : "");
        if (w > 0 && used + (size_t)w < len) {
            used += (size_t)w;
            n++;
        } else if (len) {
            buf[used] = '\0';
        }
    }
    sqlite3_finalize(st);
    return n;
}

/* One UPDATE of a row's fate, in the store's write frame. */
static int update(store *s, const char *sql, int64_t id, int attempts, apex_time t,
                  const char *error, apex_error *err)
{
    int rc = store_write_injected(s, "notifications", "recording a notification's delivery");
    if (!rc) {
        sqlite3_stmt *st = prepare(s, sql);
        if (st) {
            sqlite3_bind_int64(st, 1, id);
            sqlite3_bind_int(st, 2, attempts);
            sqlite3_bind_int64(st, 3, t);
            sqlite3_bind_text(st, 4, error ? error : "", -1, SQLITE_TRANSIENT);
        }
        rc = run(s, st, "recording a notification's delivery");
    }
    return store_write_result(s, rc, err);
}

int store_notify_sent(store *s, int64_t id, int attempts, apex_time now, apex_error *err)
{
    return update(s,
                  "UPDATE notifications SET status = 'sent', attempts = ?2, sent_at = ?3, "
                  "error = ?4 WHERE id = ?1",
                  id, attempts, now, "", err);
}

int store_notify_sending(store *s, int64_t id, apex_time now, apex_error *err)
{
    return update(s,
                  "UPDATE notifications SET status = 'sending', next_attempt_at = ?3 WHERE id = ?1",
                  id, 0, now, "", err);
}

int store_notify_recover(store *s, const char *pipeline, apex_time now,
                         void (*fn)(int64_t id, const char *channel, void *ud), void *ud, int *n,
                         apex_error *err)
{
    *n = 0;
    sqlite3_stmt *st = prepare(s, "SELECT id, channel FROM notifications WHERE pipeline = ?1 "
                                  "AND status = 'sending' ORDER BY id");
    if (!st)
        return apex_error_set(err, APEX_EIO, "%s", s->err);
    sqlite3_bind_text(st, 1, pipeline, -1, SQLITE_TRANSIENT);
    while (sqlite3_step(st) == SQLITE_ROW) {
        (*n)++;
        if (fn)
            fn(sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1), ud);
    }
    sqlite3_finalize(st);
    if (*n == 0) {
        apex_error_clear(err);
        return 0;
    }
    int rc = store_write_injected(s, "notifications", "recovering notifications");
    if (!rc) {
        st = prepare(s, "UPDATE notifications SET status = 'pending', next_attempt_at = ?2, "
                        "error = 'interrupted while sending' WHERE pipeline = ?1 AND "
                        "status = 'sending'");
        if (st) {
            sqlite3_bind_text(st, 1, pipeline, -1, SQLITE_TRANSIENT);
            sqlite3_bind_int64(st, 2, now);
        }
        rc = run(s, st, "recovering notifications");
    }
    return store_write_result(s, rc, err);
}

int store_notify_retry(store *s, int64_t id, int attempts, apex_time next_at, const char *error,
                       apex_error *err)
{
    return update(s,
                  "UPDATE notifications SET status = 'pending', attempts = ?2, "
                  "next_attempt_at = ?3, error = ?4 WHERE id = ?1",
                  id, attempts, next_at, error, err);
}

int store_notify_failed(store *s, int64_t id, int attempts, const char *error, apex_error *err)
{
    return update(s,
                  "UPDATE notifications SET status = 'failed', attempts = ?2, "
                  "next_attempt_at = ?3, error = ?4 WHERE id = ?1",
                  id, attempts, 0, error, err);
}

#define DUE_PLAIN                                                                                  \
    "pipeline = ?1 AND channel = ?2 AND status = 'pending' AND next_attempt_at <= ?3 AND "         \
    "kind <> '" STORE_NOTIFY_SUMMARY "'"

static void bind_due(sqlite3_stmt *st, const char *pipeline, const char *channel, apex_time now)
{
    sqlite3_bind_text(st, 1, pipeline, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, channel, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, now);
}

int store_notify_due_kinds(store *s, const char *pipeline, const char *channel, apex_time now,
                           void (*fn)(const char *kind, int count, void *ud), void *ud,
                           apex_time *first, apex_time *last)
{
    sqlite3_stmt *st = prepare(s, "SELECT kind, count(*), min(created_at), max(created_at) "
                                  "FROM notifications WHERE " DUE_PLAIN
                                  " GROUP BY kind ORDER BY count(*) DESC, kind");
    if (!st)
        return APEX_EIO;
    bind_due(st, pipeline, channel, now);
    int total = 0;
    *first = *last = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        int n = sqlite3_column_int(st, 1);
        apex_time lo = sqlite3_column_int64(st, 2), hi = sqlite3_column_int64(st, 3);
        if (!total || lo < *first)
            *first = lo;
        if (hi > *last)
            *last = hi;
        total += n;
        fn((const char *)sqlite3_column_text(st, 0), n, ud);
    }
    sqlite3_finalize(st);
    return total;
}

int store_notify_fold(store *s, const char *pipeline, const char *channel, apex_time now,
                      const char *payload, int64_t *summary_id, apex_error *err)
{
    int rc = store_write_injected(s, "notifications", "folding notifications into a summary");
    if (!rc && (rc = store_unit_begin(s, err)) == 0) {
        rc = insert_row(s, pipeline, channel, STORE_NOTIFY_SUMMARY, 0, payload, now);
        int64_t id = sqlite3_last_insert_rowid(s->db);
        if (!rc) {
            sqlite3_stmt *st = prepare(s, "UPDATE notifications SET status = 'summarized', "
                                          "summary_id = ?4 WHERE " DUE_PLAIN " AND id < ?4");
            if (st) {
                bind_due(st, pipeline, channel, now);
                sqlite3_bind_int64(st, 4, id);
            }
            rc = run(s, st, "folding notifications into a summary");
        }
        if (!rc)
            rc = store_unit_commit(s, err);
        else
            store_unit_abort(s, NULL);
        if (!rc && summary_id)
            *summary_id = id;
    }
    return store_write_result(s, rc, err);
}

int store_notify_counts(store *s, const char *pipeline, int64_t *pending, int64_t *failed)
{
    sqlite3_stmt *st = prepare(s, "SELECT coalesce(sum(status IN ('pending', 'sending')), 0), "
                                  "coalesce(sum(status = 'failed'), 0) FROM notifications "
                                  "WHERE ?1 IS NULL OR pipeline = ?1");
    if (!st)
        return APEX_EIO;
    store_bind_text(st, 1, pipeline);
    int rc = sqlite3_step(st);
    *pending = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    *failed = rc == SQLITE_ROW ? sqlite3_column_int64(st, 1) : 0;
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : store_fail(s, rc, "counting notifications");
}

int store_notify_get(store *s, int64_t id, store_notification *out)
{
    sqlite3_stmt *st = prepare(s, "SELECT " COLUMNS " FROM notifications WHERE id = ?1");
    if (st)
        sqlite3_bind_int64(st, 1, id);
    return one_row(s, st, out);
}
