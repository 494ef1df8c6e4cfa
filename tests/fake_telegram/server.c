/* fake-telegram: a fake Telegram Bot API server for the notification and approval tests, on
 * libwebsockets and jansson. A test tool, never part of the product. Usage and the control
 * API: tests/fake_telegram/README.md. */
#include <jansson.h>
#include <libwebsockets.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../fake_common/serve.h"

enum { F_500, F_429, F_HANG, F_NKINDS };
static const char *FAULT_NAMES[] = {"500", "429", "hang"};

typedef struct {
    int kind, count, retry_after;
    char method[64]; /* "*" = any */
} fault_t;

struct pss {
    struct lws *wsi;
    char method[8], path[512];
    char *body;
    size_t body_len;
    char *resp; /* the JSON answer, ready to write */
    int status, retry_after, pending;
    /* a getUpdates waiting for an update or its timeout */
    int parked;
    long long offset;
    struct pss *next_parked;
};

static fault_t faults[64];
static int nfaults;
static json_t *requests; /* [{"method","body","t_ms","fault"}] in arrival order */
static json_t *updates;  /* pending updates, update_id ascending */
static json_t *messages; /* every message sent: its latest state */
static json_t *queries;  /* callback query ids injected and not yet answered: {id: true} */
static long long next_update_id = 1, next_message_id = 1, next_query = 1;
static struct pss *parked;
static int verbose;
static char token[256] = "123456:TEST-token_abc";
static struct timespec started;

static long long elapsed_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)(ts.tv_sec - started.tv_sec) * 1000 +
           (ts.tv_nsec - started.tv_nsec) / 1000000;
}

static void state_reset(void)
{
    json_decref(requests);
    json_decref(updates);
    json_decref(messages);
    json_decref(queries);
    requests = json_array();
    updates = json_array();
    messages = json_array();
    queries = json_object();
    nfaults = 0;
}

/* ---- answers ---- */

static void answer(struct pss *p, int status, json_t *j)
{
    free(p->resp);
    p->resp = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    p->status = status;
    p->pending = 1;
    lws_callback_on_writable(p->wsi);
}

static void ok(struct pss *p, json_t *result)
{
    answer(p, 200, json_pack("{s:b, s:o}", "ok", 1, "result", result));
}

static void fail(struct pss *p, int status, const char *description)
{
    answer(p, status,
           json_pack("{s:b, s:i, s:s}", "ok", 0, "error_code", status, "description", description));
}

/* ---- updates and long polling ---- */

/* The pending updates with update_id >= offset; earlier ones are confirmed and dropped, as
 * Telegram does. */
static json_t *updates_from(long long offset)
{
    json_t *kept = json_array(), *out = json_array();
    size_t i;
    json_t *u;
    json_array_foreach(updates, i, u)
    {
        if (json_integer_value(json_object_get(u, "update_id")) >= offset) {
            json_array_append(kept, u);
            if (json_array_size(out) < 100)
                json_array_append(out, u);
        }
    }
    if (offset > 0) {
        json_decref(updates);
        updates = kept;
    } else {
        json_decref(kept);
    }
    return out;
}

static void unpark(struct pss *p)
{
    for (struct pss **q = &parked; *q; q = &(*q)->next_parked)
        if (*q == p) {
            *q = p->next_parked;
            break;
        }
    p->parked = 0;
    p->next_parked = NULL;
}

static void wake_parked(void)
{
    while (parked) {
        struct pss *p = parked;
        unpark(p);
        lws_set_timer_usecs(p->wsi, LWS_SET_TIMER_USEC_CANCEL);
        ok(p, updates_from(p->offset));
    }
}

static void push_update(json_t *u)
{
    json_object_set_new(u, "update_id", json_integer(next_update_id++));
    json_array_append_new(updates, u);
    wake_parked();
}

/* ---- methods ---- */

static json_t *find_message(json_t *chat_id, long long message_id)
{
    size_t i;
    json_t *m;
    json_array_foreach(messages, i, m)
    {
        if (json_equal(json_object_get(json_object_get(m, "chat"), "id"), chat_id) &&
            json_integer_value(json_object_get(m, "message_id")) == message_id)
            return m;
    }
    return NULL;
}

/* A bad chat id, text or keyboard, in Telegram's words; NULL when all is well. */
static const char *check_message(json_t *b)
{
    json_t *chat = json_object_get(b, "chat_id");
    const char *text = json_string_value(json_object_get(b, "text"));
    if (!json_is_integer(chat) && !json_is_string(chat))
        return "Bad Request: chat_id is empty";
    if (json_is_integer(chat) && json_integer_value(chat) == 0)
        return "Bad Request: chat not found";
    if (!text || !*text)
        return "Bad Request: message text is empty";
    json_t *markup = json_object_get(b, "reply_markup");
    if (!markup)
        return NULL;
    json_t *rows = json_object_get(markup, "inline_keyboard");
    if (!json_is_array(rows))
        return "Bad Request: can't parse reply keyboard markup JSON object";
    size_t i, k;
    json_t *row, *btn;
    json_array_foreach(rows, i, row)
    {
        json_array_foreach(row, k, btn)
        {
            const char *d = json_string_value(json_object_get(btn, "callback_data"));
            if (!json_string_value(json_object_get(btn, "text")))
                return "Bad Request: can't parse inline keyboard button: Text buttons are "
                       "unallowed in the inline keyboard";
            if (d && (strlen(d) < 1 || strlen(d) > 64))
                return "Bad Request: BUTTON_DATA_INVALID";
        }
    }
    return NULL;
}

static json_t *bot_user(void)
{
    return json_pack("{s:I, s:b, s:s, s:s}", "id", (json_int_t)1000001, "is_bot", 1, "first_name",
                     "Fake Apex Bot", "username", "fake_apex_bot");
}

static void send_message(struct pss *p, json_t *b)
{
    const char *bad = check_message(b);
    if (bad) {
        fail(p, 400, bad);
        return;
    }
    json_t *m =
        json_pack("{s:I, s:o, s:{s:O, s:s}, s:I, s:O}", "message_id", (json_int_t)next_message_id++,
                  "from", bot_user(), "chat", "id", json_object_get(b, "chat_id"), "type",
                  "private", "date", (json_int_t)time(NULL), "text", json_object_get(b, "text"));
    if (json_object_get(b, "reply_markup"))
        json_object_set(m, "reply_markup", json_object_get(b, "reply_markup"));
    json_array_append(messages, m);
    ok(p, m);
}

static void edit_message(struct pss *p, json_t *b)
{
    const char *bad = check_message(b);
    if (bad) {
        fail(p, 400, bad);
        return;
    }
    json_t *m = find_message(json_object_get(b, "chat_id"),
                             json_integer_value(json_object_get(b, "message_id")));
    if (!m) {
        fail(p, 400, "Bad Request: message to edit not found");
        return;
    }
    json_t *markup = json_object_get(b, "reply_markup");
    if (json_equal(json_object_get(m, "text"), json_object_get(b, "text")) &&
        ((!markup && !json_object_get(m, "reply_markup")) ||
         json_equal(markup, json_object_get(m, "reply_markup")))) {
        fail(p, 400,
             "Bad Request: message is not modified: specified new message content and reply "
             "markup are exactly the same as a current content and reply markup of the message");
        return;
    }
    json_object_set(m, "text", json_object_get(b, "text"));
    if (markup)
        json_object_set(m, "reply_markup", markup);
    else
        json_object_del(m, "reply_markup");
    json_object_set_new(m, "edit_date", json_integer(time(NULL)));
    ok(p, json_incref(m));
}

static void answer_query(struct pss *p, json_t *b)
{
    const char *id = json_string_value(json_object_get(b, "callback_query_id"));
    if (!id || !json_object_get(queries, id)) {
        fail(p, 400,
             "Bad Request: query is too old and response timeout expired or query ID is "
             "invalid");
        return;
    }
    json_object_del(queries, id);
    ok(p, json_true());
}

static void get_updates(struct pss *p, json_t *b)
{
    long long offset = json_integer_value(json_object_get(b, "offset"));
    json_int_t timeout = json_integer_value(json_object_get(b, "timeout"));
    json_t *out = updates_from(offset);
    if (json_array_size(out) > 0 || timeout <= 0) {
        ok(p, out);
        return;
    }
    json_decref(out);
    for (struct pss *q = parked; q; q = q->next_parked)
        if (q != p) { /* Telegram: one poller per bot; the earlier one is refused */
            unpark(q);
            lws_set_timer_usecs(q->wsi, LWS_SET_TIMER_USEC_CANCEL);
            fail(q, 409,
                 "Conflict: terminated by other getUpdates request; make sure that only one "
                 "bot instance is running");
            break;
        }
    p->parked = 1;
    p->offset = offset;
    p->next_parked = parked;
    parked = p;
    lws_set_timer_usecs(p->wsi, (lws_usec_t)timeout * 1000000);
}

static fault_t *fault_take(const char *method)
{
    for (int i = 0; i < nfaults; i++) {
        fault_t *f = &faults[i];
        if (f->count > 0 && (!strcmp(f->method, "*") || !strcmp(f->method, method))) {
            f->count--;
            return f;
        }
    }
    return NULL;
}

static void api(struct pss *p)
{
    const char *rest = p->path + 4; /* after "/bot" */
    const char *slash = strchr(rest, '/');
    if (!slash) {
        fail(p, 404, "Not Found");
        return;
    }
    if ((size_t)(slash - rest) != strlen(token) || strncmp(rest, token, strlen(token))) {
        fail(p, 401, "Unauthorized");
        return;
    }
    const char *method = slash + 1;
    json_t *b = p->body_len ? json_loadb(p->body, p->body_len, 0, NULL) : json_object();
    fault_t *f = fault_take(method);
    json_t *rec = json_pack("{s:s, s:O, s:I}", "method", method, "body", b ? b : json_null(),
                            "t_ms", (json_int_t)elapsed_ms());
    if (f)
        json_object_set_new(rec, "fault", json_string(FAULT_NAMES[f->kind]));
    json_array_append_new(requests, rec);
    if (verbose)
        fprintf(stderr, "fake-telegram: %s%s%s\n", method, f ? " fault " : "",
                f ? FAULT_NAMES[f->kind] : "");
    if (f && f->kind == F_HANG) {
        lws_set_timeout(p->wsi, NO_PENDING_TIMEOUT, 0);
    } else if (f && f->kind == F_500) {
        fail(p, 500, "Internal Server Error");
    } else if (f && f->kind == F_429) {
        char d[80];
        snprintf(d, sizeof d, "Too Many Requests: retry after %d", f->retry_after);
        p->retry_after = f->retry_after;
        answer(p, 429,
               json_pack("{s:b, s:i, s:s, s:{s:i}}", "ok", 0, "error_code", 429, "description", d,
                         "parameters", "retry_after", f->retry_after));
    } else if (!json_is_object(b)) {
        fail(p, 400, "Bad Request: can't parse JSON");
    } else if (!strcmp(method, "getMe")) {
        ok(p, bot_user());
    } else if (!strcmp(method, "sendMessage")) {
        send_message(p, b);
    } else if (!strcmp(method, "editMessageText")) {
        edit_message(p, b);
    } else if (!strcmp(method, "answerCallbackQuery")) {
        answer_query(p, b);
    } else if (!strcmp(method, "getUpdates")) {
        get_updates(p, b);
    } else {
        fail(p, 404, "Not Found: method not found");
    }
    json_decref(b);
}

/* ---- the control API ---- */

static json_t *user(json_t *b)
{
    json_t *id = json_object_get(b, "from_id");
    return json_pack("{s:o, s:b, s:s, s:s}", "id", id ? json_incref(id) : json_integer(42),
                     "is_bot", 0, "first_name", "Trader", "username",
                     json_string_value(json_object_get(b, "username"))
                         ? json_string_value(json_object_get(b, "username"))
                         : "trader");
}

/* POST /_control/press {chat_id, from_id, username, message_id?, data}: a button press on a
 * message (by default the chat's last message). */
static void control_press(struct pss *p, json_t *b)
{
    json_t *chat = json_object_get(b, "chat_id");
    json_t *mid = json_object_get(b, "message_id");
    json_t *msg = NULL;
    if (mid) {
        msg = find_message(chat, json_integer_value(mid));
    } else {
        for (size_t i = json_array_size(messages); i-- > 0 && !msg;)
            if (json_equal(
                    json_object_get(json_object_get(json_array_get(messages, i), "chat"), "id"),
                    chat))
                msg = json_array_get(messages, i);
    }
    if (!msg)
        msg = json_pack("{s:o, s:{s:o, s:s}, s:I}", "message_id",
                        mid ? json_incref(mid) : json_integer(0), "chat", "id",
                        chat ? json_incref(chat) : json_integer(0), "type", "private", "date",
                        (json_int_t)time(NULL));
    else
        json_incref(msg);
    char qid[32];
    snprintf(qid, sizeof qid, "q%lld", next_query++);
    json_object_set_new(queries, qid, json_true());
    const char *data = json_string_value(json_object_get(b, "data"));
    json_t *u = json_pack("{s:{s:s, s:o, s:o, s:s, s:s}}", "callback_query", "id", qid, "from",
                          user(b), "message", msg, "chat_instance", "1", "data", data ? data : "");
    long long uid = next_update_id;
    push_update(u);
    answer(p, 200, json_pack("{s:I, s:s}", "update_id", (json_int_t)uid, "callback_query_id", qid));
}

/* POST /_control/message {chat_id, from_id, username, text}: a plain message to the bot. */
static void control_message(struct pss *p, json_t *b)
{
    json_t *chat = json_object_get(b, "chat_id");
    const char *text = json_string_value(json_object_get(b, "text"));
    json_t *u = json_pack("{s:{s:I, s:o, s:{s:o, s:s}, s:I, s:s}}", "message", "message_id",
                          (json_int_t)next_message_id++, "from", user(b), "chat", "id",
                          chat ? json_incref(chat) : json_integer(0), "type", "private", "date",
                          (json_int_t)time(NULL), "text", text ? text : "");
    long long uid = next_update_id;
    push_update(u);
    answer(p, 200, json_pack("{s:I}", "update_id", (json_int_t)uid));
}

static void control_fault(struct pss *p, json_t *b)
{
    const char *kind = json_string_value(json_object_get(b, "kind"));
    const char *method = json_string_value(json_object_get(b, "method"));
    int k = -1;
    for (int i = 0; kind && i < F_NKINDS; i++)
        if (!strcmp(kind, FAULT_NAMES[i]))
            k = i;
    if (k < 0 || nfaults == (int)(sizeof faults / sizeof *faults)) {
        answer(p, 400, json_pack("{s:s}", "error", "kind must be 500, 429 or hang"));
        return;
    }
    fault_t *f = &faults[nfaults++];
    f->kind = k;
    f->count = json_is_integer(json_object_get(b, "count"))
                   ? (int)json_integer_value(json_object_get(b, "count"))
                   : 1;
    f->retry_after = json_is_integer(json_object_get(b, "retry_after"))
                         ? (int)json_integer_value(json_object_get(b, "retry_after"))
                         : 1;
    snprintf(f->method, sizeof f->method, "%s", method ? method : "*");
    answer(p, 200, json_pack("{s:b}", "ok", 1));
}

static void control(struct pss *p)
{
    const char *what = p->path + strlen("/_control/");
    json_t *b = p->body_len ? json_loadb(p->body, p->body_len, 0, NULL) : json_object();
    if (!b) {
        answer(p, 400, json_pack("{s:s}", "error", "the body is not JSON"));
        return;
    }
    if (!strcmp(what, "requests"))
        answer(p, 200, json_pack("{s:O}", "requests", requests));
    else if (!strcmp(what, "messages"))
        answer(p, 200, json_pack("{s:O}", "messages", messages));
    else if (!strcmp(what, "press"))
        control_press(p, b);
    else if (!strcmp(what, "message"))
        control_message(p, b);
    else if (!strcmp(what, "fault"))
        control_fault(p, b);
    else if (!strcmp(what, "reset")) {
        state_reset();
        answer(p, 200, json_pack("{s:b}", "ok", 1));
    } else
        answer(p, 404, json_pack("{s:s}", "error", "unknown control path"));
    json_decref(b);
}

/* ---- HTTP ---- */

static void http_reset(struct pss *p)
{
    free(p->body);
    free(p->resp);
    p->body = p->resp = NULL;
    p->body_len = 0;
    p->pending = p->status = p->retry_after = 0;
    if (p->parked)
        unpark(p);
}

static void dispatch(struct pss *p)
{
    if (!strncmp(p->path, "/_control/", 10))
        control(p);
    else if (!strncmp(p->path, "/bot", 4))
        api(p);
    else
        fail(p, 404, "Not Found");
}

static int http_write(struct lws *wsi, struct pss *p)
{
    if (!p->pending)
        return 0;
    p->pending = 0;
    const char *body = p->resp ? p->resp : "";
    size_t len = strlen(body);
    unsigned char hdr[LWS_PRE + 1024], *start = hdr + LWS_PRE, *q = start,
                                       *end = hdr + sizeof hdr - 1;
    if (lws_add_http_common_headers(wsi, (unsigned)p->status, "application/json", len, &q, end))
        return -1;
    if (p->status == 429) {
        char ra[16];
        snprintf(ra, sizeof ra, "%d", p->retry_after);
        if (lws_add_http_header_by_name(wsi, (const unsigned char *)"retry-after:",
                                        (const unsigned char *)ra, (int)strlen(ra), &q, end))
            return -1;
    }
    if (lws_finalize_write_http_header(wsi, start, &q, end))
        return -1;
    if (len) {
        unsigned char *buf = malloc(LWS_PRE + len);
        if (!buf)
            abort();
        memcpy(buf + LWS_PRE, body, len);
        int w = lws_write(wsi, buf + LWS_PRE, len, LWS_WRITE_HTTP_FINAL);
        free(buf);
        if (w < 0)
            return -1;
    }
    http_reset(p);
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user_, void *in,
                    size_t len)
{
    struct pss *p = user_;
    switch (reason) {
    case LWS_CALLBACK_HTTP: {
        http_reset(p);
        p->wsi = wsi;
        snprintf(p->method, sizeof p->method, "%s",
                 lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0 ? "POST" : "GET");
        snprintf(p->path, sizeof p->path, "%s", (const char *)in);
        if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0) {
            char cl[32];
            lws_hdr_copy(wsi, cl, sizeof cl, WSI_TOKEN_HTTP_CONTENT_LENGTH);
            if (atol(cl) > 0)
                return 0; /* the body follows */
        }
        dispatch(p);
        return 0;
    }
    case LWS_CALLBACK_HTTP_BODY: {
        if (p->body_len + len > (1 << 20))
            return -1;
        char *nb = realloc(p->body, p->body_len + len + 1);
        if (!nb)
            abort();
        memcpy(nb + p->body_len, in, len);
        p->body = nb;
        p->body_len += len;
        nb[p->body_len] = '\0';
        return 0;
    }
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        dispatch(p);
        return 0;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return http_write(wsi, p);
    case LWS_CALLBACK_TIMER: /* a long poll's timeout: no update came */
        if (p && p->parked) {
            unpark(p);
            ok(p, json_array());
        }
        return 0;
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        if (p)
            http_reset(p);
        break;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user_, in, len);
}

static struct lws_protocols protocols[] = {
    {"fake-telegram", callback, sizeof(struct pss), 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void usage(void)
{
    fprintf(stderr, "usage: fake-telegram [--port N] [--token TOKEN] [--verbose]\n"
                    "Prints \"listening 127.0.0.1:PORT\" once ready. See "
                    "tests/fake_telegram/README.md.\n");
}

int main(int argc, char **argv)
{
    int port = 0;
    const char *env = getenv("FAKE_TELEGRAM_TOKEN");
    if (env && *env)
        snprintf(token, sizeof token, "%s", env);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--verbose")) {
            verbose = 1;
        } else if (i + 1 < argc && !strcmp(argv[i], "--port")) {
            port = atoi(argv[++i]);
        } else if (i + 1 < argc && !strcmp(argv[i], "--token")) {
            snprintf(token, sizeof token, "%s", argv[++i]);
        } else {
            usage();
            return 2;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &started);
    state_reset();
    int rc = fake_serve("fake-telegram", port, protocols, verbose);
    json_decref(requests);
    json_decref(updates);
    json_decref(messages);
    json_decref(queries);
    return rc;
}
