/* notify: see notify.h. */
#include "notify/notify.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net/http.h"
#include "net/retry.h"
#include "notify/telegram.h"
#include "store/store_notify.h"
#include "util/log.h"
#include "util/secret.h"
#include "util/template.h"

#define WINDOW       (60 * APEX_SECOND)
#define WEBHOOK_WAIT 10000 /* ms per attempt */
#define HEADER_MAX   1024
/* notifier_busy counts a retry due this soon: the end of a run waits for it. */
#define NOTIFY_BUSY_HORIZON (15 * APEX_SECOND)

static const char *const KIND_NAMES[NOTIFY_KIND_COUNT] = {
    "entry",           "fill",        "exit",          "skip",         "error",
    "circuit_breaker", "instruction", "reload_failed", "broker_outage"};

const char *notify_kind_name(notify_kind k)
{
    return k >= 0 && k < NOTIFY_KIND_COUNT ? KIND_NAMES[k] : "unknown";
}

bool notify_kind_enabled(const notify_config *c, notify_kind k)
{
    switch (k) {
    case NOTIFY_ENTRY:
        return c->on_entry;
    case NOTIFY_FILL:
        return c->on_fill;
    case NOTIFY_EXIT:
        return c->on_exit;
    case NOTIFY_SKIP:
        return c->on_skip;
    case NOTIFY_ERROR:
        return c->on_error;
    case NOTIFY_CIRCUIT_BREAKER:
        return c->on_circuit_breaker;
    case NOTIFY_INSTRUCTION:
        return c->on_instruction;
    case NOTIFY_RELOAD_FAILED:
        return c->on_reload_failed;
    case NOTIFY_BROKER_OUTAGE:
        return c->on_broker_outage;
    default:
        return false;
    }
}

bool notify_configured(const notify_config *c)
{
    return c->ntelegram_chat_ids > 0 || c->nwebhooks > 0;
}

/* ---- the text and the payload ---- */

static const char *money_text(money_t v, int decimals, char *buf, size_t len)
{
    return money_format_trim(v, decimals, buf, len);
}

static const char *TITLES[NOTIFY_KIND_COUNT] = {"ENTRY",       "FILL",          "EXIT",
                                                "SKIP",        "ERROR",         "CIRCUIT BREAKER",
                                                "INSTRUCTION", "RELOAD FAILED", "BROKER OUTAGE"};

void notify_format(const char *pipeline, const notify_event *ev, char *buf, size_t len)
{
    char q[32], p[32], a[32], b[32], e[80] = "";
    const char *sym = ev->symbol && *ev->symbol ? ev->symbol : NULL;
    const char *reason = ev->reason ? ev->reason : "";
    if (ev->execution_id)
        snprintf(e, sizeof e, " [execution %lld]", (long long)ev->execution_id);
    int n = snprintf(buf, len, "%s %s%s%s: ", TITLES[ev->kind], pipeline, sym ? " " : "",
                     sym ? sym : "");
    if (n < 0 || (size_t)n >= len)
        return;
    char *o = buf + n;
    size_t rest = len - (size_t)n;
    switch (ev->kind) {
    case NOTIFY_ENTRY:
        snprintf(o, rest, "%s %s @ %s, stop %s, target %s%s", ev->side ? ev->side : "",
                 money_text(ev->qty, 0, q, sizeof q),
                 ev->price ? money_text(ev->price, 2, p, sizeof p) : "market",
                 ev->stop_loss ? money_text(ev->stop_loss, 2, a, sizeof a) : "none",
                 ev->take_profit ? money_text(ev->take_profit, 2, b, sizeof b) : "none", e);
        break;
    case NOTIFY_FILL:
        snprintf(o, rest, "%s %s @ %s, fee %s%s%s%s%s", ev->side ? ev->side : "",
                 money_text(ev->qty, 0, q, sizeof q), money_text(ev->price, 2, p, sizeof p),
                 money_text(ev->fee, 2, a, sizeof a), ev->detail ? " (" : "",
                 ev->detail ? ev->detail : "", ev->detail ? ")" : "", e);
        break;
    case NOTIFY_EXIT:
        if (ev->price && ev->entry_price) {
            int k = snprintf(
                o, rest, "closed %s @ %s (entry %s), ", money_text(ev->qty, 0, q, sizeof q),
                money_text(ev->price, 2, a, sizeof a), money_text(ev->entry_price, 2, b, sizeof b));
            if (k < 0 || (size_t)k >= rest)
                return;
            o += k;
            rest -= (size_t)k;
        }
        snprintf(o, rest, "realized P&L %s%s; %s%s%s%s%s", ev->pnl > 0 ? "+" : "",
                 money_text(ev->pnl, 2, p, sizeof p), reason,
                 ev->priority && *ev->priority ? " [" : "", ev->priority ? ev->priority : "",
                 ev->priority && *ev->priority ? "]" : "", e);
        break;
    default:
        snprintf(o, rest, "%s%s%s%s%s", reason, ev->priority && *ev->priority ? " [" : "",
                 ev->priority ? ev->priority : "", ev->priority && *ev->priority ? "]" : "", e);
        break;
    }
}

static void time_text(apex_time t, char *out, size_t len)
{
    time_t secs = (time_t)(t / APEX_SECOND);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void set_money(json_t *j, const char *key, money_t v, bool given)
{
    char m[40];
    json_object_set_new(j, key,
                        given ? json_string(money_format_trim(v, 0, m, sizeof m)) : json_null());
}

static void set_str(json_t *j, const char *key, const char *v)
{
    json_object_set_new(j, key, json_string(v ? v : ""));
}

/* The stored fields: strings, and money as exact decimal strings (no binary floating
 * point anywhere), null when not given. Cut to fit a row. */
static char *payload_of(const char *pipeline, const notify_event *ev, const char *text)
{
    json_t *j = json_object();
    char t[40];
    time_text(ev->time, t, sizeof t);
    set_str(j, "kind", notify_kind_name(ev->kind));
    set_str(j, "pipeline", pipeline);
    set_str(j, "symbol", ev->symbol);
    json_object_set_new(j, "execution_id",
                        ev->execution_id ? json_integer(ev->execution_id) : json_null());
    set_str(j, "side", ev->side);
    set_money(j, "qty", ev->qty, ev->qty != 0);
    set_money(j, "price", ev->price, ev->price != 0);
    set_money(j, "stop_loss", ev->stop_loss, ev->stop_loss != 0);
    set_money(j, "take_profit", ev->take_profit, ev->take_profit != 0);
    set_money(j, "entry_price", ev->entry_price, ev->entry_price != 0);
    set_money(j, "fee", ev->fee, ev->kind == NOTIFY_FILL);
    set_money(j, "pnl", ev->pnl, ev->has_pnl);
    char reason[1200];
    snprintf(reason, sizeof reason, "%s", ev->reason ? ev->reason : "");
    set_str(j, "reason", reason);
    set_str(j, "priority", ev->priority);
    set_str(j, "detail", ev->detail);
    set_str(j, "time", t);
    json_object_set_new(j, "count", json_integer(1));
    set_str(j, "text", text);
    char *out = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    return out;
}

/* ---- webhook bodies ---- */

static const char *const NUMERIC[] = {"execution_id", "qty", "price", "stop_loss", "take_profit",
                                      "entry_price",  "fee", "pnl",   "count",     NULL};
static const char *const FIELDS[] = {
    "kind",      "pipeline",    "symbol",      "execution_id", "side", "qty",    "price",
    "stop_loss", "take_profit", "entry_price", "fee",          "pnl",  "reason", "priority",
    "detail",    "time",        "count",       "text",         NULL};
#define FIELDS_TEXT                                                                                \
    "kind, pipeline, symbol, execution_id, side, qty, price, stop_loss, take_profit, "             \
    "entry_price, fee, pnl, reason, priority, detail, time, count or text"

static bool is_numeric(const char *name, size_t n)
{
    for (int i = 0; NUMERIC[i]; i++)
        if (strlen(NUMERIC[i]) == n && !memcmp(NUMERIC[i], name, n))
            return true;
    return false;
}

/* A field of the payload: strings JSON-escaped (the template supplies the quotes), numbers
 * and money as they are, a missing number as null. */
static int payload_field(template_buf *b, const char *name, size_t n, void *ud)
{
    json_t *j = ud;
    bool known = false;
    for (int i = 0; FIELDS[i] && !known; i++)
        known = strlen(FIELDS[i]) == n && !memcmp(FIELDS[i], name, n);
    if (!known)
        return -1;
    char key[32];
    snprintf(key, sizeof key, "%.*s", (int)n, name);
    json_t *v = json_object_get(j, key);
    if (is_numeric(name, n)) {
        char num[48];
        if (json_is_integer(v))
            snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
        else
            snprintf(num, sizeof num, "%s", json_is_string(v) ? json_string_value(v) : "null");
        template_puts(b, num);
    } else {
        template_put_json(b, json_string_value(v));
    }
    return 0;
}

static const char DEFAULT_BODY[] =
    "{\"kind\":\"{{kind}}\",\"pipeline\":\"{{pipeline}}\",\"symbol\":\"{{symbol}}\","
    "\"execution_id\":{{execution_id}},\"side\":\"{{side}}\",\"qty\":{{qty}},\"price\":{{price}},"
    "\"stop_loss\":{{stop_loss}},\"take_profit\":{{take_profit}},\"fee\":{{fee}},\"pnl\":{{pnl}},"
    "\"reason\":\"{{reason}}\",\"priority\":\"{{priority}}\",\"detail\":\"{{detail}}\","
    "\"time\":\"{{time}}\",\"count\":{{count}},\"text\":\"{{text}}\"}";

int notify_render(const char *tmpl, const char *payload, const char *field, char **out,
                  size_t *out_len, char *err, size_t errlen)
{
    json_t *j = json_loads(payload, 0, NULL);
    if (!j)
        return err_set(err, errlen, APEX_EINVAL, "%s: the stored payload is not JSON", field);
    int rc = template_render(tmpl && *tmpl ? tmpl : DEFAULT_BODY, payload_field, j, field,
                             FIELDS_TEXT, out, out_len, err, errlen);
    json_decref(j);
    return rc;
}

/* ---- check ---- */

static bool chat_id_ok(const char *c)
{
    if (c[0] == '@')
        return c[1] != '\0';
    char *end;
    errno = 0;
    (void)strtoll(c, &end, 10);
    return *c && !*end && !errno;
}

int notify_check(const pipeline_config *cfg, diag_list *d)
{
    const notify_config *c = &cfg->notifications;
    const char *f = cfg->path[0] ? cfg->path : "pipeline";
    int n = 0;
    char msg[512];
    if (c->telegram_token_env[0] && c->ntelegram_chat_ids == 0) {
        diag_add(d,
                 "%s: notifications.telegram.chat_id: missing; name the chat to write to "
                 "(docs/notifications.md says how to find its id)",
                 f);
        n++;
    }
    if (!c->telegram_token_env[0] && c->ntelegram_chat_ids > 0) {
        diag_add(d,
                 "%s: notifications.telegram.token_env: missing; name the environment variable "
                 "holding the bot token, e.g. token_env = \"APEX_TELEGRAM_TOKEN\"",
                 f);
        n++;
    }
    for (int i = 0; i < c->ntelegram_chat_ids; i++)
        if (!chat_id_ok(c->telegram_chat_ids[i])) {
            diag_add(d,
                     "%s: notifications.telegram.chat_id[%d]: \"%s\" is neither a numeric chat "
                     "id (123456789, -1001234567890) nor \"@channelname\"",
                     f, i + 1, c->telegram_chat_ids[i]);
            n++;
        }
    if (c->telegram_api_url[0] &&
        http_url_check(c->telegram_api_url, "notifications.telegram.api_url", "the bot token",
                       "notifications.telegram.token_env", msg, sizeof msg) != 0) {
        diag_add(d, "%s: %s", f, msg);
        n++;
    }
    const char *sample =
        "{\"kind\":\"fill\",\"pipeline\":\"p\",\"symbol\":\"AAPL\",\"execution_id\":1,"
        "\"qty\":\"1\",\"count\":1,\"text\":\"t\"}";
    for (int i = 0; i < c->nwebhooks; i++) {
        char field[64];
        const notify_webhook_config *w = &c->webhooks[i];
        snprintf(field, sizeof field, "notifications.webhooks[%d].url", i + 1);
        if (w->url[0] &&
            http_url_check(w->url, field, "the notifications",
                           "notifications.webhooks[].header_env", msg, sizeof msg) != 0) {
            diag_add(d, "%s: %s", f, msg);
            n++;
        }
        snprintf(field, sizeof field, "notifications.webhooks[%d].template", i + 1);
        char *body = NULL;
        size_t len;
        if (notify_render(w->body_template, sample, field, &body, &len, msg, sizeof msg) != 0) {
            diag_add(d, "%s: %s", f, msg);
            n++;
        }
        free(body);
    }
    return n;
}

/* ---- the notifier ---- */

typedef struct channel channel;

struct notifier {
    struct uv_loop_s *loop;
    uint64_t sent; /* notifications delivered since start (notifier_sent) */
    apex_clock *clock, *own_clock;
    store *db;
    char pipeline[64];
    const notify_config *cfg;
    telegram *tg;
    http_client *http; /* webhooks */
    channel *ch;
    int nch;
    retry_policy backoff;
    retry_rng rng;
    char token[TELEGRAM_TOKEN_MAX];
};

struct channel {
    notifier *n;
    char name[STORE_NOTIFY_CHANNEL_MAX];
    const char *chat_id;               /* Telegram; NULL for a webhook */
    const notify_webhook_config *hook; /* a webhook; NULL for Telegram */
    char header[HEADER_MAX];           /* the webhook's secret header line; "" = none */
    char label[160];                   /* for messages: "telegram chat 123", a URL's origin */
    clock_timer timer;
    bool busy;        /* a send in flight */
    int64_t row_id;   /* ... of this row */
    int row_attempts; /* attempts before this one */
    apex_time *sent;  /* ring of the last rate_limit_per_minute send times */
    int nsent, head;
};

static void pump_soon(channel *c, apex_time at)
{
    if (!clock_timer_active(&c->timer) || clock_timer_due(&c->timer) > at)
        clock_timer_start(&c->timer, at);
}

static int window_free(channel *c, apex_time now, apex_time *free_at)
{
    int limit = c->n->cfg->rate_limit_per_minute, used = 0;
    apex_time oldest = APEX_TIME_NEVER;
    for (int i = 0; i < c->nsent; i++)
        if (c->sent[i] > now - WINDOW) {
            used++;
            if (c->sent[i] < oldest)
                oldest = c->sent[i];
        }
    *free_at = oldest == APEX_TIME_NEVER ? now : oldest + WINDOW;
    return limit - used;
}

static void note_sent(channel *c, apex_time now)
{
    int limit = c->n->cfg->rate_limit_per_minute;
    c->sent[c->head] = now;
    c->head = (c->head + 1) % limit;
    if (c->nsent < limit)
        c->nsent++;
}

static void add_kind(const char *kind, int count, void *ud)
{
    char *buf = ud;
    size_t used = strlen(buf);
    snprintf(buf + used, 600 - used, "%s%d %s", used ? ", " : "", count, kind);
}

/* Every due row of c becomes one summary row, to be sent in the last free slot. */
static int fold(channel *c, apex_time now)
{
    notifier *n = c->n;
    char kinds[600] = "", from[40], to[40], text[900];
    apex_time first, last;
    int total =
        store_notify_due_kinds(n->db, n->pipeline, c->name, now, add_kind, kinds, &first, &last);
    if (total <= 0)
        return total;
    log_format_time(first, from, sizeof from);
    log_format_time(last, to, sizeof to);
    snprintf(text, sizeof text,
             "%d more notification%s for %s: %s (%s to %s UTC, over the limit of %d a minute; "
             "apex-host status shows the events)",
             total, total == 1 ? "" : "s", n->pipeline, kinds, from, to,
             n->cfg->rate_limit_per_minute);
    json_t *j = json_pack("{s:s, s:s, s:i, s:s, s:s}", "kind", STORE_NOTIFY_SUMMARY, "pipeline",
                          n->pipeline, "count", total, "reason", kinds, "text", text);
    char t[40];
    time_text(now, t, sizeof t);
    json_object_set_new(j, "time", json_string(t));
    char *payload = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    apex_error e = {0};
    int rc = payload ? store_notify_fold(n->db, n->pipeline, c->name, now, payload, NULL, &e)
                     : APEX_ENOMEM;
    free(payload);
    if (rc)
        log_warn("%s: notifications: folding a summary for %s failed: %s", n->pipeline, c->label,
                 e.msg);
    return rc ? rc : total;
}

static void start_send(channel *c, const store_notification *row);

static void pump(clock_timer *timer, void *ud)
{
    (void)timer;
    channel *c = ud;
    notifier *n = c->n;
    if (c->busy)
        return;
    apex_time now = clock_now(n->clock), free_at;
    int room = window_free(c, now, &free_at);
    if (room <= 0) {
        pump_soon(c, free_at);
        return;
    }
    store_notification *row = malloc(sizeof *row);
    if (!row)
        return;
    int due = 0;
    int rc = store_notify_next(n->db, n->pipeline, c->name, now, row, &due);
    if (rc == 0 && due > room && room == 1 && strcmp(row->kind, STORE_NOTIFY_SUMMARY) != 0 &&
        fold(c, now) > 0)
        rc = store_notify_next(n->db, n->pipeline, c->name, now, row, &due);
    if (rc == 0) {
        start_send(c, row);
    } else {
        apex_time at;
        if (store_notify_next_due(n->db, n->pipeline, c->name, &at) == 0)
            pump_soon(c, at > now ? at : now + APEX_SECOND);
    }
    free(row);
}

/* The row's fate after an attempt. retry_after_ms < 0: the backoff decides. */
static void settle(channel *c, bool ok, bool permanent, int64_t retry_after_ms, const char *why)
{
    notifier *n = c->n;
    apex_time now = clock_now(n->clock);
    int attempts = c->row_attempts + 1;
    apex_error e = {0};
    int rc;
    if (ok) {
        rc = store_notify_sent(n->db, c->row_id, attempts, now, &e);
        n->sent++;
    } else if (permanent || attempts >= n->cfg->max_attempts) {
        log_warn("%s: notification %lld to %s failed for good after %d attempt%s: %s", n->pipeline,
                 (long long)c->row_id, c->label, attempts, attempts == 1 ? "" : "s", why);
        rc = store_notify_failed(n->db, c->row_id, attempts, why, &e);
    } else {
        int64_t wait_ms =
            retry_after_ms >= 0 ? retry_after_ms : retry_backoff_ms(&n->backoff, attempts, &n->rng);
        log_info("%s: notification %lld to %s: attempt %d failed (%s); next in %lld ms",
                 n->pipeline, (long long)c->row_id, c->label, attempts, why, (long long)wait_ms);
        rc = store_notify_retry(n->db, c->row_id, attempts, now + wait_ms * 1000, why, &e);
    }
    if (rc)
        log_warn("%s: notifications: recording a delivery failed: %s", n->pipeline, e.msg);
    c->busy = false;
    pump_soon(c, now);
}

static void on_telegram(const telegram_result *r, void *ud)
{
    channel *c = ud;
    bool permanent = r->error.code == APEX_EREJECTED && r->http_status >= 400 &&
                     r->http_status < 500 && r->http_status != 408;
    settle(c, r->ok, permanent, r->retry_after_s >= 0 ? r->retry_after_s * 1000 : -1, r->error.msg);
}

static void on_webhook(const http_result *r, void *ud)
{
    channel *c = ud;
    char why[600];
    bool ok = r->outcome == HTTP_OUTCOME_RESPONSE && r->status >= 200 && r->status < 300;
    bool permanent = r->outcome == HTTP_OUTCOME_RESPONSE && r->status >= 400 && r->status < 500 &&
                     r->status != 408 && r->status != 429;
    if (r->outcome == HTTP_OUTCOME_RESPONSE)
        snprintf(why, sizeof why, "webhook %s: HTTP %ld", c->label, r->status);
    else
        snprintf(why, sizeof why, "%s", r->error.msg);
    settle(c, ok, permanent, r->status == 429 || r->status == 503 ? r->retry_after_ms : -1, why);
}

static int send_webhook(channel *c, const store_notification *row, apex_error *e)
{
    notifier *n = c->n;
    char field[64], msg[512];
    snprintf(field, sizeof field, "notifications.webhooks[%s].template", c->name + 8);
    char *body = NULL;
    size_t len = 0;
    if (notify_render(c->hook->body_template, row->payload, field, &body, &len, msg, sizeof msg) !=
        0)
        return apex_error_set(e, APEX_EINVAL, "%s", msg);
    char key[128], hname[128] = "";
    snprintf(key, sizeof key, "apex-%s-%lld", n->pipeline, (long long)row->id);
    http_header h[3] = {{.name = "Content-Type", .value = "application/json"},
                        {.name = "Idempotency-Key", .value = key}};
    int nh = 2;
    const char *colon = c->header[0] ? strchr(c->header, ':') : NULL;
    if (colon) {
        snprintf(hname, sizeof hname, "%.*s", (int)(colon - c->header), c->header);
        const char *v = colon + 1;
        while (*v == ' ')
            v++;
        h[nh++] = (http_header){.name = hname, .value = v, .secret = true};
    }
    retry_policy once = retry_policy_default();
    once.max_attempts = 1; /* the outbox retries, with its own backoff and limit */
    http_request_spec spec = {.method = HTTP_POST,
                              .url = c->hook->url,
                              .headers = h,
                              .header_count = nh,
                              .body = body,
                              .body_len = len,
                              .url_secret = true,
                              .idempotence = HTTP_NOT_IDEMPOTENT,
                              .timeout_ms = WEBHOOK_WAIT,
                              .retry = &once};
    int rc = http_send(n->http, &spec, on_webhook, c, e);
    free(body);
    return rc;
}

static void start_send(channel *c, const store_notification *row)
{
    notifier *n = c->n;
    c->busy = true;
    c->row_id = row->id;
    c->row_attempts = row->attempts;
    apex_time now = clock_now(n->clock);
    note_sent(c, now);
    apex_error e = {0};
    /* Durably `sending` before the request leaves: a kill from here to the answer's record
     * leaves the row marked possibly delivered (docs/notifications.md, "Delivery"). */
    int rc = store_notify_sending(n->db, row->id, now, &e);
    if (rc != 0) {
        log_warn("%s: notifications: marking notification %lld as sending failed (%s); it "
                 "stays pending",
                 n->pipeline, (long long)row->id, e.msg);
        c->busy = false;
        pump_soon(c, now + APEX_SECOND);
        return;
    }
    if (c->chat_id) {
        json_t *j = json_loads(row->payload, 0, NULL);
        const char *text = json_string_value(json_object_get(j, "text"));
        char cut[TELEGRAM_TEXT_MAX + 1];
        snprintf(cut, sizeof cut, "%s", text && *text ? text : row->kind);
        rc = telegram_send_message(n->tg, c->chat_id, cut, NULL, NULL, on_telegram, c, &e);
        json_decref(j);
    } else {
        rc = send_webhook(c, row, &e);
    }
    if (rc != 0) /* refused before sending: the same will happen every time */
        settle(c, false, true, -1, e.msg);
}

uint64_t notifier_sent(const notifier *n)
{
    return n ? n->sent : 0;
}

int notifier_busy(notifier *n)
{
    if (!n)
        return 0;
    int busy = 0;
    apex_time now = clock_now(n->clock), at;
    for (int i = 0; i < n->nch; i++) {
        channel *c = &n->ch[i];
        if (c->busy || (store_notify_next_due(n->db, n->pipeline, c->name, &at) == 0 &&
                        at <= now + NOTIFY_BUSY_HORIZON))
            busy++;
    }
    return busy;
}

int notify_emit(notifier *n, const notify_event *ev)
{
    if (!n || !notify_kind_enabled(n->cfg, ev->kind))
        return 0;
    char text[TELEGRAM_TEXT_MAX];
    notify_format(n->pipeline, ev, text, sizeof text);
    char *payload = payload_of(n->pipeline, ev, text);
    const char **names = calloc((size_t)n->nch, sizeof *names);
    apex_error e = {0};
    int rc = payload && names ? 0 : apex_error_set(&e, APEX_ENOMEM, "out of memory");
    for (int i = 0; !rc && i < n->nch; i++)
        names[i] = n->ch[i].name;
    apex_time now = clock_now(n->clock);
    if (!rc)
        rc = store_notify_queue(n->db, n->pipeline, names, n->nch, notify_kind_name(ev->kind),
                                ev->execution_id, payload, now, &e);
    free(names);
    free(payload);
    if (rc) {
        log_warn("%s: notifications: queueing a %s notification failed: %s", n->pipeline,
                 notify_kind_name(ev->kind), e.msg);
        return rc;
    }
    for (int i = 0; i < n->nch; i++)
        pump_soon(&n->ch[i], now);
    return 0;
}

static int load_secrets(notifier *n, apex_error *err)
{
    const notify_config *c = n->cfg;
    char source[CONFIG_PATH_MAX + 64], msg[512];
    if (c->ntelegram_chat_ids > 0 &&
        secret_load(c->telegram_token_env, c->telegram_token_file,
                    "notifications.telegram.token_file", n->token, sizeof n->token, source,
                    sizeof source, msg, sizeof msg) != 0)
        return apex_error_set(err, APEX_ENOTFOUND, "notifications.telegram.token_env: %s", msg);
    for (int i = 0; i < n->nch; i++) {
        channel *ch = &n->ch[i];
        if (!ch->hook || !ch->hook->header_env[0])
            continue;
        const char *v = getenv(ch->hook->header_env);
        if (!v || !*v || !strchr(v, ':') || strlen(v) >= sizeof ch->header || strpbrk(v, "\r\n"))
            return apex_error_set(err, APEX_ENOTFOUND,
                                  "notifications.webhooks[%d].header_env: environment variable "
                                  "%s is %s; export it as one line \"Name: value\"",
                                  i - c->ntelegram_chat_ids + 1, ch->hook->header_env,
                                  v && *v ? "not one header line" : "not set");
        snprintf(ch->header, sizeof ch->header, "%s", v);
    }
    return 0;
}

notifier *notifier_new(const notifier_options *o, apex_error *err)
{
    apex_error_clear(err);
    const notify_config *c = o->cfg;
    if (!notify_configured(c))
        return NULL;
    notifier *n = calloc(1, sizeof *n);
    if (!n) {
        apex_error_set(err, APEX_ENOMEM, "notifications: out of memory");
        return NULL;
    }
    n->loop = o->loop;
    n->db = o->db;
    n->cfg = c;
    snprintf(n->pipeline, sizeof n->pipeline, "%s", o->pipeline);
    n->clock = o->clock;
    if (!n->clock)
        n->clock = n->own_clock = clock_new_live(o->loop, 1.0, 0);
    n->backoff = retry_policy_default();
    n->backoff.base_ms = o->retry_base_ms > 0 ? o->retry_base_ms : 2000;
    n->backoff.cap_ms = o->retry_cap_ms > 0 ? o->retry_cap_ms : 300000;
    retry_rng_seed(&n->rng, o->jitter_seed ? o->jitter_seed : (uint64_t)time(NULL));
    n->nch = c->ntelegram_chat_ids + c->nwebhooks;
    n->ch = calloc((size_t)n->nch, sizeof *n->ch);
    if (!n->clock || !n->ch) {
        apex_error_set(err, APEX_ENOMEM, "notifications: out of memory");
        notifier_free(n);
        return NULL;
    }
    for (int i = 0; i < n->nch; i++) {
        channel *ch = &n->ch[i];
        ch->n = n;
        clock_timer_init(n->clock, &ch->timer, pump, ch);
        ch->sent = calloc((size_t)c->rate_limit_per_minute, sizeof *ch->sent);
        if (i < c->ntelegram_chat_ids) {
            ch->chat_id = c->telegram_chat_ids[i];
            snprintf(ch->name, sizeof ch->name, "telegram:%s", ch->chat_id);
            snprintf(ch->label, sizeof ch->label, "telegram chat %s", ch->chat_id);
        } else {
            int w = i - c->ntelegram_chat_ids;
            ch->hook = &c->webhooks[w];
            snprintf(ch->name, sizeof ch->name, "webhook:%d", w + 1);
            char origin[128];
            http_url_origin(ch->hook->url, origin, sizeof origin);
            snprintf(ch->label, sizeof ch->label, "webhook %d (%s)", w + 1, origin);
        }
        if (!ch->sent) {
            apex_error_set(err, APEX_ENOMEM, "notifications: out of memory");
            notifier_free(n);
            return NULL;
        }
    }
    if (load_secrets(n, err) != 0) {
        notifier_free(n);
        return NULL;
    }
    if (c->ntelegram_chat_ids > 0) {
        telegram_options to;
        telegram_options_default(&to);
        to.token = n->token;
        to.api_url = c->telegram_api_url;
        n->tg = telegram_new(o->loop, n->clock, &to, err);
        secret_wipe(n->token, sizeof n->token); /* the client holds its copy */
        if (!n->tg) {
            notifier_free(n);
            return NULL;
        }
    }
    if (c->nwebhooks > 0) {
        http_client_options ho;
        http_client_options_default(&ho);
        ho.retry.max_attempts = 1;
        ho.metrics_name = "notify_webhook";
        if (!(n->http = http_client_new(o->loop, &ho, err))) {
            notifier_free(n);
            return NULL;
        }
    }
    /* Rows an earlier process left `sending` were possibly delivered: they go again (a
     * webhook's Idempotency-Key is the row's, so the receiver can drop the repeat; Telegram
     * has no such key, so a chat may see that one message twice). */
    int nrec = 0;
    apex_error re = {0};
    if (store_notify_recover(n->db, n->pipeline, clock_now(n->clock), NULL, NULL, &nrec, &re) != 0)
        log_warn("%s: notifications: recovering interrupted sends failed: %s", n->pipeline, re.msg);
    else if (nrec > 0)
        log_warn("%s: %d notification%s %s interrupted while sending by the last stop; sending "
                 "again (a chat may get %s twice)",
                 n->pipeline, nrec, nrec == 1 ? "" : "s", nrec == 1 ? "was" : "were",
                 nrec == 1 ? "it" : "them");
    /* Rows an earlier run left pending go out now; ones for channels the config no longer
     * names stay pending (status counts them) and are said once. */
    char pending[1024];
    int np = store_notify_pending_channels(n->db, n->pipeline, pending, sizeof pending);
    for (char *line = pending, *end; np > 0 && (end = strchr(line, '\n')); line = end + 1) {
        *end = '\0';
        bool known = false;
        for (int i = 0; i < n->nch && !known; i++)
            known = !strcmp(n->ch[i].name, line);
        if (!known)
            log_warn("%s: notifications pending for %s, which the pipeline no longer names, "
                     "stay unsent",
                     n->pipeline, line);
    }
    for (int i = 0; i < n->nch; i++)
        pump_soon(&n->ch[i], clock_now(n->clock));
    return n;
}

void notifier_free(notifier *n)
{
    if (!n)
        return;
    telegram_free(n->tg);
    http_client_free(n->http);
    for (int i = 0; n->ch && i < n->nch; i++) {
        clock_timer_stop(&n->ch[i].timer);
        secret_wipe(n->ch[i].header, sizeof n->ch[i].header);
        free(n->ch[i].sent);
    }
    free(n->ch);
    clock_free(n->own_clock);
    secret_wipe(n->token, sizeof n->token);
    free(n);
}
