/* store_approvals: approval requests (store_approvals.h). Not on the hot path: a request
 * is written once per entry and read once a second while it waits, so statements are
 * prepared per call rather than cached. */
#include "store/store_approvals.h"

#include <stdio.h>
#include <string.h>

#include "store/store_internal.h"

#define APPROVAL_COLUMNS                                                                           \
    "id, execution_id, pipeline, symbol, side, qty, entry, stop_loss, take_profit, nonce, "        \
    "status, created_at, expires_at, answer, answered_by, answered_at, answer_reason, "            \
    "decided_at, outcome, telegram_chat_id, telegram_message_id"

static const char *const status_names[] = {"pending", "approved", "rejected", "expired", "stale"};
static const char *const answer_names[] = {"", "approve", "reject"};

const char *approval_status_name(approval_status s)
{
    return (unsigned)s < 5 ? status_names[s] : "?";
}

const char *approval_answer_name(approval_answer a)
{
    return (unsigned)a < 3 ? answer_names[a] : "?";
}

static int parse_in(const char *name, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return 0;
}

static void read_row(sqlite3_stmt *st, store_approval *a)
{
    char buf[32];
    memset(a, 0, sizeof *a);
    a->id = sqlite3_column_int64(st, 0);
    a->execution_id = sqlite3_column_int64(st, 1);
    store_col_text(st, 2, a->pipeline, sizeof a->pipeline);
    store_col_text(st, 3, a->symbol, sizeof a->symbol);
    store_col_text(st, 4, buf, sizeof buf);
    a->side = store_side_parse(buf);
    a->qty = sqlite3_column_int64(st, 5);
    a->entry = sqlite3_column_int64(st, 6);
    a->stop_loss = sqlite3_column_int64(st, 7);
    a->take_profit = sqlite3_column_int64(st, 8);
    store_col_text(st, 9, a->nonce, sizeof a->nonce);
    store_col_text(st, 10, buf, sizeof buf);
    a->status = (approval_status)parse_in(buf, status_names, 5);
    a->created_at = store_col_time(st, 11);
    a->expires_at = store_col_time(st, 12);
    store_col_text(st, 13, buf, sizeof buf);
    a->answer = (approval_answer)parse_in(buf, answer_names, 3);
    store_col_text(st, 14, a->answered_by, sizeof a->answered_by);
    a->answered_at = store_col_time(st, 15);
    store_col_text(st, 16, a->answer_reason, sizeof a->answer_reason);
    a->decided_at = store_col_time(st, 17);
    store_col_text(st, 18, a->outcome, sizeof a->outcome);
    store_col_text(st, 19, a->telegram_chat_id, sizeof a->telegram_chat_id);
    a->telegram_message_id = sqlite3_column_int64(st, 20);
}

static sqlite3_stmt *prepare(store *s, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        store_fail(s, sqlite3_errcode(s->db), "preparing an approvals query");
        sqlite3_finalize(st);
        return NULL;
    }
    return st;
}

/* Runs a one-row query whose first parameter is an id. */
static int get_one(store *s, const char *where, int64_t id, store_approval *out)
{
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT " APPROVAL_COLUMNS " FROM approvals WHERE %s", where);
    sqlite3_stmt *st = prepare(s, sql);
    if (!st)
        return APEX_EIO;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        read_row(st, out);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? APEX_ENOTFOUND : APEX_EIO;
}

int store_approval_get(store *s, int64_t id, store_approval *out)
{
    return get_one(s, "id = ?1", id, out);
}

int store_approval_pending_for(store *s, int64_t execution_id, store_approval *out)
{
    return get_one(s, "execution_id = ?1 AND status = 'pending' ORDER BY id DESC LIMIT 1",
                   execution_id, out);
}

int store_approvals_pending(store *s, int (*fn)(void *ud, const store_approval *a), void *ud)
{
    sqlite3_stmt *st = prepare(s, "SELECT " APPROVAL_COLUMNS
                                  " FROM approvals WHERE status = 'pending' ORDER BY id");
    if (!st)
        return APEX_EIO;
    store_rows rows = {.size = sizeof(store_approval)};
    int rc, result = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        store_approval *a = store_rows_push(s, &rows);
        if (!a) {
            result = APEX_ENOMEM;
            break;
        }
        read_row(st, a);
    }
    if (!result && rc != SQLITE_DONE)
        result = store_fail(s, rc, "listing approval requests");
    sqlite3_finalize(st);
    for (size_t i = 0; !result && i < rows.count; i++)
        if (fn(ud, (store_approval *)rows.items + i))
            break;
    store_rows_free(&rows);
    return result;
}

/* Steps a prepared write and finalizes it: 0 or an APEX_E* code (message in s->err). */
static int write_done(store *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : store_fail(s, rc, what);
}

int store_approval_insert(store *s, store_approval *a, apex_error *err)
{
    int rc = store_write_injected(s, "approvals", "recording an approval request");
    sqlite3_stmt *st = rc ? NULL
                          : prepare(s, "INSERT INTO approvals(execution_id, pipeline, symbol, "
                                       "side, qty, entry, stop_loss, take_profit, nonce, status, "
                                       "created_at, expires_at) VALUES "
                                       "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'pending', ?10, ?11)");
    if (!rc && !st)
        rc = APEX_EIO;
    if (!rc) {
        sqlite3_bind_int64(st, 1, a->execution_id);
        store_bind_text(st, 2, a->pipeline);
        store_bind_text(st, 3, a->symbol);
        store_bind_text(st, 4, order_side_name((order_side)a->side));
        sqlite3_bind_int64(st, 5, a->qty);
        sqlite3_bind_int64(st, 6, a->entry);
        sqlite3_bind_int64(st, 7, a->stop_loss);
        sqlite3_bind_int64(st, 8, a->take_profit);
        store_bind_text(st, 9, a->nonce);
        sqlite3_bind_int64(st, 10, a->created_at);
        sqlite3_bind_int64(st, 11, a->expires_at);
        rc = write_done(s, st, "recording an approval request");
        if (!rc) {
            a->id = sqlite3_last_insert_rowid(s->db);
            a->status = APPROVAL_PENDING;
        }
    }
    return store_write_result(s, rc, err);
}

int store_approval_answer(store *s, int64_t id, approval_answer answer, const char *by,
                          const char *reason, apex_time at, store_approval *out, apex_error *err)
{
    store_approval now;
    int rc = store_approval_get(s, id, &now);
    bool open = rc == 0 && now.status == APPROVAL_PENDING && now.answer == APPROVAL_ANSWER_NONE;
    if (open) {
        /* A second answer is not a failed write: it changes nothing and trips no latch. */
        rc = store_write_injected(s, "approvals", "recording an approval answer");
        sqlite3_stmt *st = rc ? NULL
                              : prepare(s, "UPDATE approvals SET answer = ?2, answered_by = ?3, "
                                           "answered_at = ?4, answer_reason = ?5 WHERE id = ?1 "
                                           "AND status = 'pending' AND answer IS NULL");
        if (!rc && !st)
            rc = APEX_EIO;
        if (!rc) {
            sqlite3_bind_int64(st, 1, id);
            store_bind_text(st, 2, approval_answer_name(answer));
            store_bind_text(st, 3, by);
            sqlite3_bind_int64(st, 4, at);
            store_bind_text(st, 5, reason);
            rc = write_done(s, st, "recording an approval answer");
        }
        rc = store_write_result(s, rc, err);
        if (rc == 0 && sqlite3_changes(s->db) == 0)
            open = false; /* another answer came first, between the read and the write */
    }
    if (out)
        store_approval_get(s, id, out);
    return rc != 0 ? rc : open ? 0 : APEX_ESTATE;
}

int store_approval_decide(store *s, int64_t id, approval_status status, const char *outcome,
                          apex_time at, apex_error *err)
{
    int rc = store_write_injected(s, "approvals", "deciding an approval request");
    sqlite3_stmt *st = rc ? NULL
                          : prepare(s, "UPDATE approvals SET status = ?2, outcome = ?3, "
                                       "decided_at = ?4 WHERE id = ?1");
    if (!rc && !st)
        rc = APEX_EIO;
    if (!rc) {
        sqlite3_bind_int64(st, 1, id);
        store_bind_text(st, 2, approval_status_name(status));
        store_bind_text(st, 3, outcome);
        sqlite3_bind_int64(st, 4, at);
        rc = write_done(s, st, "deciding an approval request");
    }
    return store_write_result(s, rc, err);
}

int store_approval_set_message(store *s, int64_t id, const char *chat_id, int64_t message_id,
                               apex_error *err)
{
    int rc = store_write_injected(s, "approvals", "recording an approval's Telegram message");
    sqlite3_stmt *st = rc ? NULL
                          : prepare(s, "UPDATE approvals SET telegram_chat_id = ?2, "
                                       "telegram_message_id = ?3 WHERE id = ?1");
    if (!rc && !st)
        rc = APEX_EIO;
    if (!rc) {
        sqlite3_bind_int64(st, 1, id);
        store_bind_text(st, 2, chat_id);
        sqlite3_bind_int64(st, 3, message_id);
        rc = write_done(s, st, "recording an approval's Telegram message");
    }
    return store_write_result(s, rc, err);
}
