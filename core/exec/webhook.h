/* webhook: the webhook execution tool (seed 000): a signal is posted to a URL and the
 * execution completes when the receiver answers, with no order and no monitoring.
 *
 * The body is the pipeline's template with {{field}} placeholders filled in (or, with no
 * template, a JSON object of every field). Each post carries:
 *   Content-Type: application/json
 *   Idempotency-Key: <pipeline>-<execution id>   the same on every attempt, so a receiver
 *                                                can drop a repeat after a lost answer;
 *   X-Apex-Signature: sha256=<hex>               when a key is configured: HMAC-SHA256 of
 *                                                the exact body bytes (OpenSSL libcrypto).
 * Because of the key, a post is retried like an idempotent request (net/http.h): on a
 * timeout, a reset, 429 and 5xx, up to the configured retries, then reported.
 *
 * The URL is not logged whole: webhook URLs often carry a token (Slack, Discord), so
 * messages show webhook_url_label's scheme and host only. */
#ifndef APEX_EXEC_WEBHOOK_H
#define APEX_EXEC_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#include "clock/clock.h"
#include "money/money.h"
#include "net/http.h"

/* The fields a template can use. Strings are borrowed for the call. */
typedef struct {
    const char *pipeline;
    int64_t execution_id;
    const char *symbol;
    const char *side; /* "buy" or "sell" */
    money_t qty;      /* 0 = not given (the strategy left sizing to the receiver) */
    money_t entry;
    money_t stop_loss;
    money_t take_profit;
    const char *reason;
    apex_time time; /* the bar's time */
} webhook_signal;

/* Renders tmpl ("" = the default object) for s into a malloc'd, NUL-terminated *out.
 * Returns 0, or APEX_EINVAL naming an unknown or unterminated placeholder (with its
 * offset), or APEX_ENOMEM. */
int webhook_render(const char *tmpl, const webhook_signal *s, char **out, size_t *out_len,
                   char *err, size_t errlen);

/* Checks a template at load time by rendering it for a sample signal. */
int webhook_template_check(const char *tmpl, char *err, size_t errlen);

/* hex = lowercase hex of HMAC-SHA256(key, body): 64 characters and a terminator. */
void webhook_sign(const char *key, size_t key_len, const char *body, size_t body_len, char hex[65]);

/* "https://hooks.example.com": scheme and host of url, for messages. */
void webhook_url_label(const char *url, char *out, size_t outlen);

typedef struct {
    const char *url;
    const char *secret; /* HMAC key, NULL = unsigned; never logged */
    int timeout_s;
    int retries;
} webhook_target;

/* What the post came to, for the execution's reason. */
typedef struct {
    int ok;      /* 1 when the receiver answered 2xx */
    long status; /* the last status, 0 when none arrived */
    int attempts;
    char reason[512]; /* "webhook https://host: HTTP 200 after 1 attempt" or the failure */
} webhook_outcome;

typedef void (*webhook_done_cb)(const webhook_outcome *o, void *ud);

/* One post in flight, as a libuv request: the caller owns the storage, which must stay put
 * until cb has run or the client is freed (then cb never runs, as http_client_free says). */
typedef struct {
    webhook_done_cb cb;
    void *ud;
    char label[160]; /* webhook_url_label of the URL */
} webhook_call;

/* Posts body to the target; cb(outcome, ud) runs once from the loop unless this returns
 * < 0 (err set). The body, the URL and the key are copied. */
int webhook_post(http_client *client, webhook_call *call, const webhook_target *target,
                 const char *idempotency_key, const char *body, size_t body_len, webhook_done_cb cb,
                 void *ud, apex_error *err);

#endif
