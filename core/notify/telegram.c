/* telegram: see telegram.h. */
#include "notify/telegram.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/redact.h"
#include "util/log.h"

typedef struct tg_call tg_call;

struct telegram {
    http_client *http;
    apex_clock *clock;
    char api_url[512];
    char token[TELEGRAM_TOKEN_MAX];
    telegram_options o;
    tg_call *calls; /* in flight, doubly linked */
    int ncalls;
};

struct tg_call {
    tg_call *prev, *next;
    telegram *t;
    const char *method; /* a literal */
    char *body;
    size_t body_len;
    int timeout_ms;
    telegram_cb cb;
    telegram_updates_cb ucb;
    void *ud;
    int attempts, waits_429;
    clock_timer timer; /* the wait a 429 asked for */
};

void telegram_options_default(telegram_options *o)
{
    memset(o, 0, sizeof *o);
    o->timeout_s = 15;
    o->max_429_retries = 3;
    o->max_retry_after_s = 60;
}

void telegram_redact(const telegram *t, char *dst, size_t dstlen, const char *src)
{
    const char *secrets[1] = {t ? t->token : NULL};
    redact_copy(dst, dstlen, src, secrets, 1);
}

/* Sets e to code and the message, with the token redacted (a server may echo the URL). */
static void tg_error(const telegram *t, apex_error *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void tg_error(const telegram *t, apex_error *e, int code, const char *fmt, ...)
{
    if (!e)
        return;
    char raw[sizeof e->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    e->code = code;
    telegram_redact(t, e->msg, sizeof e->msg, raw);
}

/* A bot token is "<digits>:<letters, digits, '_' and '-'>"; anything else would also change
 * the URL's meaning ('/', '?', '#'). The message never quotes it. */
static int token_check(const char *tok, apex_error *err)
{
    size_t n = tok ? strlen(tok) : 0;
    if (n == 0)
        return apex_error_set(err, APEX_EINVAL, "telegram: no bot token given");
    if (n >= TELEGRAM_TOKEN_MAX)
        return apex_error_set(err, APEX_EINVAL,
                              "telegram: the bot token is %zu characters, longer than %d", n,
                              TELEGRAM_TOKEN_MAX - 1);
    const char *colon = strchr(tok, ':');
    bool ok = colon && colon > tok && colon[1];
    for (const char *p = tok; ok && p < colon; p++)
        ok = *p >= '0' && *p <= '9';
    for (const char *p = colon ? colon + 1 : tok; ok && *p; p++)
        ok = (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
             *p == '_' || *p == '-';
    if (!ok)
        return apex_error_set(err, APEX_EINVAL,
                              "telegram: the bot token is not of the form 123456789:ABC-def_1 "
                              "(digits, a colon, then letters, digits, '_' or '-'); copy it "
                              "again from @BotFather");
    return 0;
}

telegram *telegram_new(struct uv_loop_s *loop, apex_clock *clock, const telegram_options *o,
                       apex_error *err)
{
    telegram_options d;
    telegram_options_default(&d);
    if (!o)
        o = &d;
    if (token_check(o->token, err) != 0)
        return NULL;
    const char *url = o->api_url && *o->api_url ? o->api_url : TELEGRAM_DEFAULT_API_URL;
    char msg[512];
    if (http_url_check(url, "notifications.telegram.api_url", "the bot token",
                       "notifications.telegram.token_env", msg, sizeof msg) != 0) {
        apex_error_set(err, APEX_EINVAL, "%s", msg);
        return NULL;
    }
    if (strlen(url) >= sizeof((telegram *)0)->api_url) {
        apex_error_set(err, APEX_EINVAL, "notifications.telegram.api_url is too long");
        return NULL;
    }
    if (o->timeout_s < 1 || o->max_429_retries < 0 || o->max_retry_after_s < 0) {
        apex_error_set(err, APEX_EINVAL,
                       "telegram: timeout_s must be >= 1 and the 429 limits >= 0");
        return NULL;
    }
    telegram *t = calloc(1, sizeof *t);
    if (!t) {
        apex_error_set(err, APEX_ENOMEM, "telegram: out of memory");
        return NULL;
    }
    t->o = *o;
    t->o.token = NULL;
    t->o.api_url = NULL;
    t->clock = clock;
    snprintf(t->token, sizeof t->token, "%s", o->token);
    snprintf(t->api_url, sizeof t->api_url, "%s", url);
    size_t n = strlen(t->api_url);
    while (n > 0 && t->api_url[n - 1] == '/')
        t->api_url[--n] = '\0';
    http_client_options ho;
    http_client_options_default(&ho);
    ho.retry.max_attempts = 1; /* 429 is handled here; nothing else is resent */
    ho.metrics_name = "telegram";
    t->http = http_client_new(loop, &ho, err);
    if (!t->http) {
        explicit_bzero(t->token, sizeof t->token);
        free(t);
        return NULL;
    }
    return t;
}

static void call_unlink(tg_call *c)
{
    telegram *t = c->t;
    if (c->prev)
        c->prev->next = c->next;
    else
        t->calls = c->next;
    if (c->next)
        c->next->prev = c->prev;
    t->ncalls--;
}

static void call_free(tg_call *c)
{
    clock_timer_stop(&c->timer);
    free(c->body);
    free(c);
}

void telegram_free(telegram *t)
{
    if (!t)
        return;
    while (t->calls) {
        tg_call *c = t->calls;
        call_unlink(c);
        call_free(c);
    }
    http_client_free(t->http);
    explicit_bzero(t->token, sizeof t->token);
    free(t);
}

int telegram_in_flight(const telegram *t)
{
    return t ? t->ncalls : 0;
}

int telegram_keyboard_check(const telegram_keyboard *kb, apex_error *err)
{
    if (!kb)
        return 0;
    if (kb->nrows < 1 || !kb->rows)
        return apex_error_set(err, APEX_EINVAL, "telegram: an inline keyboard needs a row");
    for (int r = 0; r < kb->nrows; r++) {
        const telegram_button_row *row = &kb->rows[r];
        if (row->nbuttons < 1 || !row->buttons)
            return apex_error_set(err, APEX_EINVAL, "telegram: keyboard row %d has no button",
                                  r + 1);
        for (int b = 0; b < row->nbuttons; b++) {
            const telegram_button *btn = &row->buttons[b];
            size_t n = btn->callback_data ? strlen(btn->callback_data) : 0;
            if (!btn->text || !*btn->text)
                return apex_error_set(err, APEX_EINVAL,
                                      "telegram: keyboard row %d button %d has no text", r + 1,
                                      b + 1);
            if (n < 1 || n > TELEGRAM_CALLBACK_DATA_MAX)
                return apex_error_set(err, APEX_EINVAL,
                                      "telegram: keyboard row %d button %d: callback_data is "
                                      "%zu bytes; Telegram takes 1 to %d",
                                      r + 1, b + 1, n, TELEGRAM_CALLBACK_DATA_MAX);
        }
    }
    return 0;
}

/* ---- requests ---- */

static void send_attempt(tg_call *c);

static void finish(tg_call *c, telegram_result *res, const telegram_update *u, int n)
{
    call_unlink(c);
    res->attempts = c->attempts;
    if (c->ucb)
        c->ucb(res, u, n, c->ud);
    else if (c->cb)
        c->cb(res, c->ud);
    call_free(c); /* the callback may have freed the client: c is no longer in its list */
}

static void on_wait_done(clock_timer *timer, void *ud)
{
    (void)timer;
    send_attempt(ud);
}

static const char *str_or_empty(json_t *v)
{
    const char *s = json_string_value(v);
    return s ? s : "";
}

static int64_t int_of(json_t *v)
{
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

static void parse_update(json_t *j, telegram_update *u)
{
    memset(u, 0, sizeof *u);
    u->update_id = int_of(json_object_get(j, "update_id"));
    json_t *cq = json_object_get(j, "callback_query");
    json_t *m = json_object_get(j, "message");
    json_t *from = NULL;
    if (json_is_object(cq)) {
        u->kind = TELEGRAM_UPDATE_CALLBACK_QUERY;
        u->callback_id = json_string_value(json_object_get(cq, "id"));
        u->data = json_string_value(json_object_get(cq, "data"));
        from = json_object_get(cq, "from");
        m = json_object_get(cq, "message");
    } else if (json_is_object(m)) {
        u->kind = TELEGRAM_UPDATE_MESSAGE;
        from = json_object_get(m, "from");
        u->text = json_string_value(json_object_get(m, "text"));
    }
    u->from_id = int_of(json_object_get(from, "id"));
    u->from_username = json_string_value(json_object_get(from, "username"));
    u->chat_id = int_of(json_object_get(json_object_get(m, "chat"), "id"));
    u->message_id = int_of(json_object_get(m, "message_id"));
    u->callback_id = u->callback_id ? u->callback_id : "";
    u->from_username = u->from_username ? u->from_username : "";
    u->data = u->data ? u->data : "";
    u->text = u->text ? u->text : "";
}

static void on_response(const http_result *r, void *ud)
{
    tg_call *c = ud;
    telegram *t = c->t;
    telegram_result res = {.outcome = r->outcome, .http_status = r->status, .retry_after_s = -1};
    c->attempts++;
    char origin[256];
    http_url_origin(t->api_url, origin, sizeof origin);
    if (r->outcome != HTTP_OUTCOME_RESPONSE) {
        tg_error(t, &res.error, APEX_EIO, "telegram %s: no answer from %s (%s)%s", c->method,
                 origin, http_failure_name(r->failure),
                 r->outcome == HTTP_OUTCOME_UNKNOWN ? "; it may have been acted on" : "");
        finish(c, &res, NULL, 0);
        return;
    }
    json_error_t je;
    json_t *j = json_loadb(r->body, r->body_len, 0, &je);
    if (!json_is_object(j)) {
        tg_error(t, &res.error, APEX_EIO, "telegram %s: HTTP %ld from %s with no JSON answer",
                 c->method, r->status, origin);
        json_decref(j);
        finish(c, &res, NULL, 0);
        return;
    }
    json_t *result = json_object_get(j, "result");
    if (json_is_true(json_object_get(j, "ok"))) {
        res.ok = true;
        res.message_id = int_of(json_object_get(result, "message_id"));
        if (!c->ucb || !json_is_array(result)) {
            finish(c, &res, NULL, 0);
            json_decref(j);
            return;
        }
        size_t n = json_array_size(result);
        telegram_update *u = n ? calloc(n, sizeof *u) : NULL;
        if (n && !u) {
            res.ok = false;
            tg_error(t, &res.error, APEX_ENOMEM, "telegram getUpdates: out of memory");
            n = 0;
        }
        for (size_t i = 0; i < n; i++)
            parse_update(json_array_get(result, i), &u[i]);
        finish(c, &res, u, (int)n);
        free(u);
        json_decref(j);
        return;
    }
    res.error_code = (int)int_of(json_object_get(j, "error_code"));
    const char *desc = str_or_empty(json_object_get(j, "description"));
    if (r->status == 429 || res.error_code == 429) {
        json_t *ra = json_object_get(json_object_get(j, "parameters"), "retry_after");
        int64_t wait = json_is_integer(ra)      ? (int64_t)json_integer_value(ra)
                       : r->retry_after_ms >= 0 ? (r->retry_after_ms + 999) / 1000
                                                : -1;
        if (wait >= 0 && wait <= t->o.max_retry_after_s && c->waits_429 < t->o.max_429_retries) {
            c->waits_429++;
            log_info("telegram %s: 429 from %s, retrying after %lld s as asked", c->method, origin,
                     (long long)wait);
            json_decref(j);
            clock_timer_start_in(&c->timer, wait * APEX_SECOND);
            return;
        }
        res.retry_after_s = wait;
        tg_error(t, &res.error, APEX_EBUSY, "telegram %s: HTTP 429 from %s: %.200s", c->method,
                 origin, desc);
    } else {
        tg_error(t, &res.error, APEX_EREJECTED, "telegram %s: HTTP %ld from %s: %.200s", c->method,
                 r->status, origin, desc);
    }
    json_decref(j);
    finish(c, &res, NULL, 0);
}

/* Hands the request to the HTTP client; 0 or its error (e set). */
static int request(tg_call *c, apex_error *e)
{
    telegram *t = c->t;
    char url[sizeof t->api_url + TELEGRAM_TOKEN_MAX + 64];
    snprintf(url, sizeof url, "%s/bot%s/%s", t->api_url, t->token, c->method);
    http_header h[] = {{.name = "Content-Type", .value = "application/json"}};
    retry_policy once = retry_policy_default();
    once.max_attempts = 1;
    http_request_spec spec = {
        .method = HTTP_POST,
        .url = url,
        .headers = h,
        .header_count = 1,
        .body = c->body,
        .body_len = c->body_len,
        .url_secret = true,
        .idempotence = HTTP_NOT_IDEMPOTENT,
        .timeout_ms = c->timeout_ms,
        .retry = &once,
    };
    apex_error he = {0};
    int rc = http_send(t->http, &spec, on_response, c, &he);
    explicit_bzero(url, sizeof url);
    if (rc != 0)
        tg_error(t, e, rc, "telegram %s: %s", c->method, he.msg);
    return rc;
}

static void send_attempt(tg_call *c)
{
    telegram_result res = {.outcome = HTTP_OUTCOME_NOT_SENT, .retry_after_s = -1};
    if (request(c, &res.error) != 0) /* after a 429 wait only */
        finish(c, &res, NULL, 0);
}

/* Takes ownership of body (a json object, decref'd here). */
static int start(telegram *t, const char *method, json_t *body, int timeout_ms, telegram_cb cb,
                 telegram_updates_cb ucb, void *ud, apex_error *err)
{
    tg_call *c = body ? calloc(1, sizeof *c) : NULL;
    char *text = c ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text) {
        free(c);
        return apex_error_set(err, APEX_ENOMEM, "telegram %s: out of memory", method);
    }
    c->t = t;
    c->method = method;
    c->body = text;
    c->body_len = strlen(text);
    c->timeout_ms = timeout_ms;
    c->cb = cb;
    c->ucb = ucb;
    c->ud = ud;
    clock_timer_init(t->clock, &c->timer, on_wait_done, c);
    int rc = request(c, err);
    if (rc != 0) {
        free(c->body);
        free(c);
        return rc;
    }
    c->next = t->calls;
    if (t->calls)
        t->calls->prev = c;
    t->calls = c;
    t->ncalls++;
    return 0;
}

/* A numeric chat id goes as a JSON integer, "@name" as a string. */
static json_t *chat_id_json(const char *chat_id)
{
    if (!chat_id || !*chat_id)
        return NULL;
    if (chat_id[0] == '@')
        return chat_id[1] ? json_string(chat_id) : NULL;
    char *end;
    errno = 0;
    long long v = strtoll(chat_id, &end, 10);
    if (errno || *end || end == chat_id)
        return NULL;
    return json_integer(v);
}

static json_t *keyboard_json(const telegram_keyboard *kb)
{
    json_t *rows = json_array();
    for (int r = 0; rows && r < kb->nrows; r++) {
        json_t *row = json_array();
        for (int b = 0; row && b < kb->rows[r].nbuttons; b++) {
            const telegram_button *btn = &kb->rows[r].buttons[b];
            json_array_append_new(row, json_pack("{s:s, s:s}", "text", btn->text, "callback_data",
                                                 btn->callback_data));
        }
        json_array_append_new(rows, row);
    }
    return json_pack("{s:o}", "inline_keyboard", rows);
}

/* The fields sendMessage and editMessageText share; NULL with err set on bad input. */
static json_t *message_body(const char *method, const char *chat_id, const char *text,
                            const char *parse_mode, const telegram_keyboard *kb, apex_error *err)
{
    size_t n = text ? strlen(text) : 0;
    if (n == 0 || n > TELEGRAM_TEXT_MAX) {
        apex_error_set(err, APEX_EINVAL, "telegram %s: the text is %zu bytes; 1 to %d allowed",
                       method, n, TELEGRAM_TEXT_MAX);
        return NULL;
    }
    if (telegram_keyboard_check(kb, err) != 0)
        return NULL;
    json_t *chat = chat_id_json(chat_id);
    if (!chat) {
        apex_error_set(err, APEX_EINVAL,
                       "telegram %s: chat id \"%.64s\" is neither a number nor @channelname",
                       method, chat_id ? chat_id : "");
        return NULL;
    }
    json_t *body = json_pack("{s:o, s:s}", "chat_id", chat, "text", text);
    if (body && parse_mode && *parse_mode)
        json_object_set_new(body, "parse_mode", json_string(parse_mode));
    if (body && kb)
        json_object_set_new(body, "reply_markup", keyboard_json(kb));
    if (!body)
        apex_error_set(err, APEX_ENOMEM, "telegram %s: out of memory (or text not UTF-8)", method);
    return body;
}

int telegram_send_message(telegram *t, const char *chat_id, const char *text,
                          const char *parse_mode, const telegram_keyboard *kb, telegram_cb cb,
                          void *ud, apex_error *err)
{
    json_t *body = message_body("sendMessage", chat_id, text, parse_mode, kb, err);
    if (!body)
        return err ? err->code : APEX_EINVAL;
    return start(t, "sendMessage", body, t->o.timeout_s * 1000, cb, NULL, ud, err);
}

int telegram_edit_message_text(telegram *t, const char *chat_id, int64_t message_id,
                               const char *text, const char *parse_mode,
                               const telegram_keyboard *kb, telegram_cb cb, void *ud,
                               apex_error *err)
{
    json_t *body = message_body("editMessageText", chat_id, text, parse_mode, kb, err);
    if (!body)
        return err ? err->code : APEX_EINVAL;
    json_object_set_new(body, "message_id", json_integer(message_id));
    return start(t, "editMessageText", body, t->o.timeout_s * 1000, cb, NULL, ud, err);
}

int telegram_answer_callback_query(telegram *t, const char *callback_query_id, const char *text,
                                   telegram_cb cb, void *ud, apex_error *err)
{
    if (!callback_query_id || !*callback_query_id)
        return apex_error_set(err, APEX_EINVAL, "telegram answerCallbackQuery: no query id");
    json_t *body = json_pack("{s:s}", "callback_query_id", callback_query_id);
    if (body && text && *text)
        json_object_set_new(body, "text", json_string(text));
    return start(t, "answerCallbackQuery", body, t->o.timeout_s * 1000, cb, NULL, ud, err);
}

int telegram_get_updates(telegram *t, int64_t offset, int timeout_s, telegram_updates_cb cb,
                         void *ud, apex_error *err)
{
    if (timeout_s < 0 || timeout_s > 50)
        return apex_error_set(err, APEX_EINVAL,
                              "telegram getUpdates: timeout %d s; 0 to 50 allowed", timeout_s);
    json_t *body = json_pack("{s:I, s:i, s:[s,s]}", "offset", (json_int_t)offset, "timeout",
                             timeout_s, "allowed_updates", "message", "callback_query");
    return start(t, "getUpdates", body, (timeout_s + t->o.timeout_s) * 1000, NULL, cb, ud, err);
}
