/* webhook: see webhook.h. */
#include "exec/webhook.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/err.h"

/* ---- the body ---- */

typedef struct {
    char *p;
    size_t len, cap;
    int oom;
} buf;

static void put(buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 512;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void puts_(buf *b, const char *s)
{
    put(b, s, strlen(s));
}

/* JSON string contents (RFC 8259 section 7), without the quotes. */
static void put_escaped(buf *b, const char *s)
{
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            put(b, esc, 2);
        } else if (c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            put(b, esc, 6);
        } else {
            put(b, (const char *)&c, 1);
        }
    }
}

static void put_money(buf *b, money_t v)
{
    char m[40];
    puts_(b, money_format_trim(v, 0, m, sizeof m));
}

static void put_time(buf *b, apex_time t)
{
    time_t secs = (time_t)(t / 1000000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char out[40];
    strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", &tm);
    puts_(b, out);
}

/* Writes field `name` (n bytes) of s; 0, or -1 for an unknown name. */
static int put_field(buf *b, const char *name, size_t n, const webhook_signal *s)
{
#define IS(lit) (n == sizeof(lit) - 1 && memcmp(name, lit, n) == 0)
    char num[32];
    if (IS("pipeline"))
        put_escaped(b, s->pipeline);
    else if (IS("execution_id")) {
        snprintf(num, sizeof num, "%lld", (long long)s->execution_id);
        puts_(b, num);
    } else if (IS("symbol"))
        put_escaped(b, s->symbol);
    else if (IS("side"))
        put_escaped(b, s->side);
    else if (IS("qty"))
        put_money(b, s->qty);
    else if (IS("entry"))
        put_money(b, s->entry);
    else if (IS("stop_loss"))
        put_money(b, s->stop_loss);
    else if (IS("take_profit"))
        put_money(b, s->take_profit);
    else if (IS("reason"))
        put_escaped(b, s->reason);
    else if (IS("time"))
        put_time(b, s->time);
    else
        return -1;
    return 0;
#undef IS
}

static const char default_template[] =
    "{\"pipeline\":\"{{pipeline}}\",\"execution_id\":{{execution_id}},\"symbol\":\"{{symbol}}\","
    "\"side\":\"{{side}}\",\"qty\":{{qty}},\"entry\":{{entry}},\"stop_loss\":{{stop_loss}},"
    "\"take_profit\":{{take_profit}},\"reason\":\"{{reason}}\",\"time\":\"{{time}}\"}";

int webhook_render(const char *tmpl, const webhook_signal *s, char **out, size_t *out_len,
                   char *err, size_t errlen)
{
    const char *t = tmpl && tmpl[0] ? tmpl : default_template;
    buf b = {0};
    const char *p = t;
    for (;;) {
        const char *open = strstr(p, "{{");
        if (!open) {
            puts_(&b, p);
            break;
        }
        put(&b, p, (size_t)(open - p));
        const char *name = open + 2;
        while (*name == ' ')
            name++;
        const char *close = strstr(name, "}}");
        if (!close) {
            free(b.p);
            return err_set(err, errlen, APEX_EINVAL,
                           "execution.webhook_template: the placeholder at character %zu has "
                           "no closing }}",
                           (size_t)(open - t) + 1);
        }
        size_t n = (size_t)(close - name);
        while (n && name[n - 1] == ' ')
            n--;
        if (put_field(&b, name, n, s) != 0) {
            free(b.p);
            return err_set(err, errlen, APEX_EINVAL,
                           "execution.webhook_template: unknown field {{%.*s}} at character %zu; "
                           "use pipeline, execution_id, symbol, side, qty, entry, stop_loss, "
                           "take_profit, reason or time",
                           (int)(n > 40 ? 40 : n), name, (size_t)(open - t) + 1);
        }
        p = close + 2;
    }
    if (b.oom || !b.p) {
        free(b.p);
        return err_set(err, errlen, APEX_ENOMEM, "webhook: out of memory rendering the body");
    }
    *out = b.p;
    *out_len = b.len;
    return 0;
}

int webhook_template_check(const char *tmpl, char *err, size_t errlen)
{
    webhook_signal sample = {
        .pipeline = "p", .execution_id = 1, .symbol = "AAPL", .side = "buy", .reason = "r"};
    char *body = NULL;
    size_t len = 0;
    int rc = webhook_render(tmpl, &sample, &body, &len, err, errlen);
    free(body);
    return rc;
}

void webhook_sign(const char *key, size_t key_len, const char *body, size_t body_len, char hex[65])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)body, body_len, mac, &mac_len);
    static const char digits[] = "0123456789abcdef";
    for (unsigned i = 0; i < mac_len && i < 32; i++) {
        hex[2 * i] = digits[mac[i] >> 4];
        hex[2 * i + 1] = digits[mac[i] & 15];
    }
    hex[64] = '\0';
}

void webhook_url_label(const char *url, char *out, size_t outlen)
{
    http_url_origin(url, out, outlen);
}

/* ---- the post ---- */

static void on_posted(const http_result *r, void *ud)
{
    webhook_call *call = ud;
    webhook_outcome o = {.status = r->status, .attempts = r->attempts};
    const char *times = r->attempts == 1 ? "attempt" : "attempts";
    if (r->outcome == HTTP_OUTCOME_RESPONSE && r->status >= 200 && r->status < 300) {
        o.ok = 1;
        snprintf(o.reason, sizeof o.reason, "webhook %s: HTTP %ld after %d %s", call->label,
                 r->status, r->attempts, times);
    } else if (r->outcome == HTTP_OUTCOME_RESPONSE) {
        /* The receiver's own words help the trader; cut short, one line. */
        char said[121];
        size_t n = 0;
        for (size_t i = 0; i < r->body_len && n < sizeof said - 1; i++)
            said[n++] = (r->body[i] == '\n' || r->body[i] == '\r') ? ' ' : r->body[i];
        said[n] = '\0';
        snprintf(o.reason, sizeof o.reason, "webhook %s: HTTP %ld after %d %s%s%s", call->label,
                 r->status, r->attempts, times, n ? ": " : "", said);
    } else {
        snprintf(o.reason, sizeof o.reason, "webhook %s: no answer after %d %s (%s)", call->label,
                 r->attempts, times, http_failure_name(r->failure));
    }
    call->cb(&o, call->ud);
}

int webhook_post(http_client *client, webhook_call *call, const webhook_target *target,
                 const char *idempotency_key, const char *body, size_t body_len, webhook_done_cb cb,
                 void *ud, apex_error *err)
{
    call->cb = cb;
    call->ud = ud;
    webhook_url_label(target->url, call->label, sizeof call->label);
    char signature[80];
    http_header headers[3] = {
        {.name = "Content-Type", .value = "application/json"},
        {.name = "Idempotency-Key", .value = idempotency_key},
    };
    int nheaders = 2;
    if (target->secret) {
        char hex[65];
        webhook_sign(target->secret, strlen(target->secret), body, body_len, hex);
        snprintf(signature, sizeof signature, "sha256=%s", hex);
        headers[nheaders++] = (http_header){.name = "X-Apex-Signature", .value = signature};
    }
    retry_policy retry = retry_policy_default();
    retry.max_attempts = target->retries + 1;
    http_request_spec spec = {
        .method = HTTP_POST,
        .url = target->url,
        .headers = headers,
        .header_count = nheaders,
        .body = body,
        .body_len = body_len,
        .idempotence = HTTP_IDEMPOTENT, /* the Idempotency-Key lets the receiver dedupe */
        .timeout_ms = target->timeout_s * 1000,
        .connect_timeout_ms = target->timeout_s * 1000,
        .retry = &retry,
        .url_secret = true,
    };
    return http_send(client, &spec, on_posted, call, err);
}
