/* store_approvals: approval requests of execution.mode = "approval" (docs/approval.md).
 *
 * One row per entry that waits for a trader. Whoever answers first (the CLI in another
 * process, Telegram, the dashboard) writes `answer` once (store_approval_answer, guarded
 * by `answer IS NULL` and status pending, so a second answer changes nothing); the
 * running host reads it on its next poll and decides the request: approved, rejected,
 * expired or stale (store_approval_decide). Rows survive a restart, so a pending request
 * resumes waiting. No secret is ever stored here: who answered is a Telegram user id and
 * name, or "cli:<OS user>". */
#ifndef APEX_STORE_APPROVALS_H
#define APEX_STORE_APPROVALS_H

#include "store/store.h"

typedef enum {
    APPROVAL_PENDING = 0,
    APPROVAL_APPROVED,
    APPROVAL_REJECTED,
    APPROVAL_EXPIRED,
    APPROVAL_STALE
} approval_status;

typedef enum {
    APPROVAL_ANSWER_NONE = 0,
    APPROVAL_ANSWER_APPROVE,
    APPROVAL_ANSWER_REJECT
} approval_answer;

typedef struct {
    int64_t id, execution_id;
    char pipeline[64];
    char symbol[SYMBOL_MAX];
    int side; /* SIDE_BUY / SIDE_SELL */
    money_t qty, entry, stop_loss, take_profit;
    char nonce[17]; /* random hex, part of the Telegram buttons' callback_data */
    approval_status status;
    apex_time created_at, expires_at; /* the run's clock */
    approval_answer answer;
    char answered_by[96];  /* "cli:alice", "telegram:12345 (@alice)" */
    apex_time answered_at; /* wall clock of the answerer */
    char answer_reason[256];
    apex_time decided_at;
    char outcome[512]; /* the host's decision, as the execution's reason says it */
    char telegram_chat_id[64];
    int64_t telegram_message_id; /* 0 = no message sent */
} store_approval;

const char *approval_status_name(approval_status s); /* "pending", "approved", ... */
const char *approval_answer_name(approval_answer a); /* "", "approve", "reject" */

/* Inserts a pending request (a->id set). */
int store_approval_insert(store *s, store_approval *a, apex_error *err);
/* 0, or APEX_ENOTFOUND. */
int store_approval_get(store *s, int64_t id, store_approval *out);
/* The pending request of an execution: 0, or APEX_ENOTFOUND. */
int store_approval_pending_for(store *s, int64_t execution_id, store_approval *out);
/* Calls fn for each pending request, oldest first (fn returns non-zero to stop). */
int store_approvals_pending(store *s, int (*fn)(void *ud, const store_approval *a), void *ud);
/* Records the first answer: 0; APEX_ENOTFOUND for no such request; APEX_ESTATE when it
 * was answered or decided already (*out, when given, then holds the row as it is). */
int store_approval_answer(store *s, int64_t id, approval_answer answer, const char *by,
                          const char *reason, apex_time at, store_approval *out, apex_error *err);
/* The host's decision: the final status and its text. */
int store_approval_decide(store *s, int64_t id, approval_status status, const char *outcome,
                          apex_time at, apex_error *err);
/* The Telegram message that carries the request's buttons. */
int store_approval_set_message(store *s, int64_t id, const char *chat_id, int64_t message_id,
                               apex_error *err);

#endif
