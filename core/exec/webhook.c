/* webhook: see webhook.h. */
#include "exec/webhook.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/err.h"
#include "util/template.h"

/* ---- the body ---- */

static void put_money(template_buf *b, money_t v)
{
    char m[40];
    template_puts(b, money_format_trim(v, 0, m, sizeof m));
}

static void put_time(template_buf *b, apex_time t)
{
    time_t secs = (time_t)(t / 1000000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char out[40];
    strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", &tm);
    template_puts(b, out);
}

/* Writes field `name` (n bytes) of the signal; 0, or -1 for an unknown name. */
static int put_field(template_buf *b, const char *name, size_t n, void *ud)
{
    const webhook_signal *s = ud;
#define IS(lit) (n == sizeof(lit) - 1 && memcmp(name, lit, n) == 0)
    char num[32];
    if (IS("pipeline"))
        template_put_json(b, s->pipeline);
    else if (IS("execution_id")) {
        snprintf(num, sizeof num, "%lld", (long long)s->execution_id);
        template_puts(b, num);
    } else if (IS("symbol"))
        template_put_json(b, s->symbol);
    else if (IS("side"))
        template_put_json(b, s->side);
    else if (IS("qty"))
        put_money(b, s->qty);
    else if (IS("entry"))
        put_money(b, s->entry);
    else if (IS("stop_loss"))
        put_money(b, s->stop_loss);
    else if (IS("take_profit"))
        put_money(b, s->take_profit);
    else if (IS("reason"))
        template_put_json(b, s->reason);
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
    return template_render(tmpl && tmpl[0] ? tmpl : default_template, put_field, (void *)s,
                           "execution.webhook_template",
                           "pipeline, execution_id, symbol, side, qty, entry, stop_loss, "
                           "take_profit, reason or time",
                           out, out_len, err, errlen);
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
