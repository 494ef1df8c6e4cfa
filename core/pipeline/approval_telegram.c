/* approval_telegram: the Telegram side of approvals (pipeline_internal.h, docs/approval.md).
 *
 * With notifications.telegram.token_env set, each request is a message to the first chat of
 * notifications.telegram.chat_id (presses count from any of its chats) with Approve and Reject
 * buttons whose callback_data is "ap:<id>:<nonce>" / "rj:<id>:<nonce>" (at most 3 + 19 + 1 + 16
 * bytes, within Telegram's 64). While requests wait, one getUpdates long poll is kept in flight; a
 * press is checked (the configured chat, execution.approval_user_ids, the request's nonce), written
 * into the store through approval_submit like any other answer, answered with answerCallbackQuery,
 * and decided at once; the message is then edited to show the outcome, without buttons. A press
 * from anyone else is answered "not allowed" and recorded as an `approval_denied` event.
 *
 * Without a bot (no token_env, or no event loop: `check`) every function is a no-op and
 * requests are answered from the CLI. The token is read from the environment once, handed
 * to the client (core/notify/telegram.h, which keeps it out of every message) and never
 * written anywhere by this file. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "market/timestamp.h"
#include "notify/telegram.h"
#include "pipeline/approval.h"
#include "pipeline/pipeline_internal.h"
#include "util/log.h"
#include "util/secret.h"

#define SEND_SLOTS  16 /* requests whose message is being sent at once */
#define LONG_POLL_S 20 /* getUpdates' timeout */
/* Polling goes on this long (wall seconds) after the last request was decided, so a press
 * that comes late (on an expired or already answered request) is still answered with what
 * became of it rather than left spinning in the chat. */
#define LATE_PRESS_S 600
#define APPROVE_VERB "ap"
#define REJECT_VERB  "rj"

typedef struct {
    struct pipeline_telegram *tg;
    int64_t approval_id; /* 0 = free */
} send_slot;

struct pipeline_telegram {
    pipeline *p;
    telegram *bot;
    apex_clock *wall;     /* the client's 429 waits run in wall time */
    bool polling;         /* a getUpdates is in flight */
    int64_t offset;       /* the next update_id wanted */
    apex_time late_until; /* wall time: polling ends then when no request waits */
    char last_error[256];
    send_slot sends[SEND_SLOTS];
};

static bool all_digits(const char *s)
{
    return *s && strspn(s, "0123456789") == strlen(s);
}

int pipeline_telegram_open(pipeline *p, diag_list *d)
{
    const notify_config *n = &p->cfg.notifications;
    const execution_config *x = &p->cfg.execution;
    int bad = 0;
    for (int i = 0; i < x->napproval_user_ids; i++)
        if (!all_digits(x->approval_user_ids[i])) {
            diag_add(d,
                     "%s: execution.approval_user_ids[%d]: \"%s\" is not a Telegram user id; give "
                     "the numeric id as a string (the `from.id` of the user's messages)",
                     p->cfg.path, i + 1, x->approval_user_ids[i]);
            bad++;
        }
    if (!n->telegram_token_env[0])
        return bad ? APEX_EINVAL : 0; /* answered from the CLI only */
    if (n->ntelegram_chat_ids == 0) {
        diag_add(d,
                 "%s: notifications.telegram.chat_id: missing; approval requests need the chat "
                 "to write to (docs/approval.md says how to find it)",
                 p->cfg.path);
        return APEX_EINVAL;
    }
    if (bad || !p->hs->loop)
        return bad ? APEX_EINVAL : 0; /* `check`: nothing is sent */
    char token[TELEGRAM_TOKEN_MAX], source[CONFIG_PATH_MAX + 64], msg[512];
    if (secret_load(n->telegram_token_env, n->telegram_token_file,
                    "notifications.telegram.token_file", token, sizeof token, source, sizeof source,
                    msg, sizeof msg) != 0) {
        diag_add(d,
                 "%s: notifications.telegram.token_env: %s; the approval buttons need the bot "
                 "token, or leave token_env out to answer approvals from the CLI only",
                 p->cfg.path, msg);
        return APEX_EINVAL;
    }
    struct pipeline_telegram *tg = calloc(1, sizeof *tg);
    if (tg)
        tg->wall = clock_new_live(p->hs->loop, 1.0, 0);
    if (!tg || !tg->wall) {
        secret_wipe(token, sizeof token);
        free(tg);
        diag_add(d, "%s: notifications.telegram: out of memory", p->cfg.path);
        return APEX_ENOMEM;
    }
    tg->p = p;
    telegram_options o;
    telegram_options_default(&o);
    o.api_url = n->telegram_api_url;
    o.token = token;
    apex_error e;
    tg->bot = telegram_new(p->hs->loop, tg->wall, &o, &e);
    secret_wipe(token, sizeof token); /* the client holds its copy */
    if (!tg->bot) {
        diag_add(d, "%s: notifications.telegram: %s", p->cfg.path, e.msg);
        clock_free(tg->wall);
        free(tg);
        return APEX_EINVAL;
    }
    for (int i = 0; i < SEND_SLOTS; i++)
        tg->sends[i].tg = tg;
    p->telegram = tg;
    return 0;
}

void pipeline_telegram_close(pipeline *p)
{
    struct pipeline_telegram *tg = p->telegram;
    if (!tg)
        return;
    telegram_free(tg->bot); /* drops the calls in flight: their callbacks never run */
    clock_free(tg->wall);
    free(tg);
    p->telegram = NULL;
}

/* A failed call: one log line and event per new message, not one per retry. */
static void report(struct pipeline_telegram *tg, int64_t execution_id, const char *what,
                   const char *msg)
{
    pipeline *p = tg->p;
    if (strcmp(tg->last_error, msg) == 0)
        return;
    snprintf(tg->last_error, sizeof tg->last_error, "%s", msg);
    log_warn("%s: Telegram: %s: %s; approvals can still be answered from the CLI", p->cfg.name,
             what, msg);
    store_event(p->hs->db, clock_now(p->hs->clock), p->cfg.name, execution_id, "telegram_error",
                NULL, "%s: %s", what, msg);
}

static void on_done(const telegram_result *r, void *ud)
{
    if (!r->ok)
        report(ud, 0, "a call failed", r->error.msg);
}

/* ---- the request's message ---- */

static void on_sent(const telegram_result *r, void *ud)
{
    send_slot *slot = ud;
    struct pipeline_telegram *tg = slot->tg;
    pipeline *p = tg->p;
    int64_t id = slot->approval_id;
    slot->approval_id = 0;
    if (!r->ok) {
        report(tg, 0, "an approval request could not be sent", r->error.msg);
        return;
    }
    tg->last_error[0] = '\0';
    store_approval_set_message(p->hs->db, id, p->cfg.notifications.telegram_chat_ids[0],
                               r->message_id, NULL);
    store_approval row;
    if (store_approval_get(p->hs->db, id, &row) == 0 && row.status != APPROVAL_PENDING)
        pipeline_telegram_told(p, &row); /* decided before the message was out */
}

void pipeline_telegram_ask(pipeline *p, const store_approval *a)
{
    struct pipeline_telegram *tg = p->telegram;
    if (!tg)
        return;
    send_slot *slot = NULL;
    for (int i = 0; i < SEND_SLOTS && !slot; i++)
        if (!tg->sends[i].approval_id)
            slot = &tg->sends[i];
    if (!slot) {
        report(tg, a->execution_id, "too many messages in flight", "approval request not sent");
        return;
    }
    char summary[400], until[40], text[1024], ap[TELEGRAM_CALLBACK_DATA_MAX + 1],
        rj[TELEGRAM_CALLBACK_DATA_MAX + 1];
    approval_describe(a, summary, sizeof summary);
    timestamp_format(a->expires_at, until, sizeof until);
    snprintf(text, sizeof text,
             "Approval #%" PRId64
             "\n%s\nExpires %s UTC.\nOr from a shell: apex-host approve %" PRId64
             " | apex-host reject %" PRId64,
             a->id, summary, until, a->id, a->id);
    snprintf(ap, sizeof ap, APPROVE_VERB ":%" PRId64 ":%s", a->id, a->nonce);
    snprintf(rj, sizeof rj, REJECT_VERB ":%" PRId64 ":%s", a->id, a->nonce);
    telegram_button buttons[2] = {{"Approve", ap}, {"Reject", rj}};
    telegram_button_row row = {buttons, 2};
    telegram_keyboard kb = {&row, 1};
    apex_error e;
    slot->approval_id = a->id;
    if (telegram_send_message(tg->bot, p->cfg.notifications.telegram_chat_ids[0], text, NULL, &kb,
                              on_sent, slot, &e) != 0) {
        slot->approval_id = 0;
        report(tg, a->execution_id, "an approval request could not be sent", e.msg);
    }
}

void pipeline_telegram_told(pipeline *p, const store_approval *a)
{
    struct pipeline_telegram *tg = p->telegram;
    store_approval row;
    if (!tg || store_approval_get(p->hs->db, a->id, &row) != 0 || !row.telegram_message_id)
        return;
    char summary[400], text[1024];
    approval_describe(&row, summary, sizeof summary);
    snprintf(text, sizeof text, "Approval #%" PRId64 "\n%s\n%s: %s", row.id, summary,
             approval_status_name(row.status), row.outcome);
    apex_error e;
    if (telegram_edit_message_text(tg->bot, row.telegram_chat_id, row.telegram_message_id, text,
                                   NULL, NULL, on_done, tg, &e) != 0)
        report(tg, row.execution_id, "an approval message could not be edited", e.msg);
}

/* ---- button presses ---- */

static void answer_press(struct pipeline_telegram *tg, const telegram_update *u, const char *text)
{
    apex_error e;
    if (telegram_answer_callback_query(tg->bot, u->callback_id, text, on_done, tg, &e) != 0)
        report(tg, 0, "a button press could not be answered", e.msg);
}

/* Why u's sender may not answer, or NULL when they may. */
static const char *refusal(struct pipeline_telegram *tg, const telegram_update *u)
{
    const pipeline_config *c = &tg->p->cfg;
    char chat[32], user[32];
    snprintf(chat, sizeof chat, "%" PRId64, u->chat_id);
    bool ours = false;
    for (int i = 0; i < c->notifications.ntelegram_chat_ids && !ours; i++)
        ours = strcmp(chat, c->notifications.telegram_chat_ids[i]) == 0;
    if (!ours)
        return "not a chat in notifications.telegram.chat_id";
    if (c->execution.napproval_user_ids == 0)
        return NULL;
    snprintf(user, sizeof user, "%" PRId64, u->from_id);
    for (int i = 0; i < c->execution.napproval_user_ids; i++)
        if (strcmp(user, c->execution.approval_user_ids[i]) == 0)
            return NULL;
    return "not in execution.approval_user_ids";
}

static void on_press(struct pipeline_telegram *tg, const telegram_update *u)
{
    pipeline *p = tg->p;
    char verb[3] = "", nonce[17] = "", who[160], extra;
    long long id = 0;
    if (sscanf(u->data, "%2[a-z]:%lld:%16[0-9a-f]%c", verb, &id, nonce, &extra) != 3 ||
        (strcmp(verb, APPROVE_VERB) != 0 && strcmp(verb, REJECT_VERB) != 0)) {
        answer_press(tg, u, "Not an approval button of this host.");
        return;
    }
    bool approve = strcmp(verb, APPROVE_VERB) == 0;
    snprintf(who, sizeof who, "telegram:%" PRId64 "%s%s%s", u->from_id,
             u->from_username[0] ? " (@" : "", u->from_username, u->from_username[0] ? ")" : "");
    store_approval row;
    bool known = store_approval_get(p->hs->db, id, &row) == 0 &&
                 strcmp(row.pipeline, p->cfg.name) == 0 && strcmp(row.nonce, nonce) == 0;
    if (!known) {
        answer_press(tg, u, "Unknown approval request.");
        return;
    }
    const char *why = refusal(tg, u);
    if (why) {
        char text[200];
        snprintf(text, sizeof text, "Not allowed: %s.", why);
        answer_press(tg, u, text);
        store_event(p->hs->db, clock_now(p->hs->clock), p->cfg.name, row.execution_id,
                    "approval_denied", NULL,
                    "%s in chat %" PRId64 " pressed %s on approval #%lld: not allowed (%s)", who,
                    u->chat_id, approve ? "Approve" : "Reject", id, why);
        log_warn("%s: approval #%lld: %s pressed %s: not allowed (%s)", p->cfg.name, id, who,
                 approve ? "Approve" : "Reject", why);
        return;
    }
    char msg[768];
    int rc = approval_submit(p->hs->db, id, approve, who, NULL, msg, sizeof msg);
    if (rc == APEX_ESTATE) {
        /* Too late: say what became of it (expired, answered by someone else, sent, stale),
         * in approval_submit's words, within the 200 characters Telegram shows. */
        char text[TELEGRAM_CALLBACK_TEXT_MAX + 1];
        if (snprintf(text, sizeof text, "%s", msg) >= (int)sizeof text) {
            size_t cut = sizeof text - 4; /* never inside a UTF-8 sequence */
            while (cut > 0 && ((unsigned char)text[cut] & 0xC0) == 0x80)
                cut--;
            memcpy(text + cut, "...", 4);
        }
        answer_press(tg, u, text);
        return;
    }
    answer_press(tg, u,
                 rc == 0 ? (approve ? "Approved." : "Rejected.")
                         : "The answer could not be recorded; try the CLI.");
}

static void on_updates(const telegram_result *r, const telegram_update *updates, int n, void *ud)
{
    struct pipeline_telegram *tg = ud;
    pipeline *p = tg->p;
    tg->polling = false;
    if (!r->ok) {
        report(tg, 0, "getUpdates failed", r->error.msg); /* the next tick polls again */
        return;
    }
    tg->last_error[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (updates[i].update_id >= tg->offset)
            tg->offset = updates[i].update_id + 1;
        if (updates[i].kind == TELEGRAM_UPDATE_CALLBACK_QUERY)
            on_press(tg, &updates[i]);
    }
    if (n > 0)
        pipeline_approval_poll(p); /* act on the answers now, not at the next tick */
    pipeline_telegram_poll(p);
}

void pipeline_telegram_poll(pipeline *p)
{
    struct pipeline_telegram *tg = p->telegram;
    if (!tg || tg->polling)
        return;
    apex_time now = clock_now(tg->wall);
    if (!LIST_EMPTY(&p->approval_waits))
        tg->late_until = now + (apex_time)LATE_PRESS_S * APEX_SECOND;
    else if (now >= tg->late_until)
        return;
    apex_error e;
    if (telegram_get_updates(tg->bot, tg->offset, LONG_POLL_S, on_updates, tg, &e) == 0)
        tg->polling = true;
    else
        report(tg, 0, "getUpdates could not start", e.msg);
}
