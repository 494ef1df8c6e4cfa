/* retry: when and after how long an HTTP request is tried again.
 *
 * Pure functions and a seedable generator, no I/O and no clock of their own: the HTTP
 * client (net/http.h) asks them what to do after each attempt and waits on its own timer.
 *
 * Backoff is "full jitter": the wait before retry n is uniform in [0, min(cap, base * 2^(n-1))].
 * Of the jitter schemes (AWS Architecture Blog, "Exponential Backoff And Jitter") full and
 * decorrelated jitter spread clients equally well and do about the same total work; full
 * jitter is chosen because each wait depends only on the attempt number and the generator,
 * not on the previous wait, so its bound is known in advance (a caller can budget a deadline
 * as the sum of the caps) and a test can check every wait against its envelope.
 *
 * A server's own hint wins over the backoff when it asks for longer: Retry-After (seconds or
 * an HTTP-date) and a rate-limit reset header (X-RateLimit-Reset: epoch seconds, or seconds
 * from now). A hint longer than the policy's max_retry_after_ms is not waited for: the
 * request ends with the server's answer and the caller decides. */
#ifndef APEX_NET_RETRY_H
#define APEX_NET_RETRY_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    int max_attempts;       /* attempts in all, >= 1 (1 = never retry); default 4 */
    int base_ms;            /* first backoff envelope; default 250 */
    int cap_ms;             /* largest backoff envelope; default 8000 */
    int max_retry_after_ms; /* longest server-requested wait honoured; default 60000 */
} retry_policy;

/* The defaults above. */
retry_policy retry_policy_default(void);
/* 0, or APEX_EINVAL when a field is out of range (max_attempts < 1, negative times,
 * base_ms > cap_ms). */
int retry_policy_check(const retry_policy *p);

/* splitmix64: small, fast, and the same sequence for the same seed on every platform, so
 * tests seed it and assert exact waits. Not for anything secret. */
typedef struct {
    uint64_t state;
} retry_rng;

void retry_rng_seed(retry_rng *rng, uint64_t seed);
uint64_t retry_rng_next(retry_rng *rng);

/* The full-jitter wait in ms before retry number `retry` (1 = the first retry), drawn from
 * rng: uniform in [0, retry_envelope_ms(p, retry)]. */
int64_t retry_backoff_ms(const retry_policy *p, int retry, retry_rng *rng);
/* min(cap_ms, base_ms * 2^(retry-1)), without overflow for any retry >= 1. */
int64_t retry_envelope_ms(const retry_policy *p, int retry);

/* Whether a completed response with this status is worth retrying for an idempotent
 * request: 429 and 5xx, except 501 (Not Implemented) and 505 (HTTP Version Not Supported),
 * which say the same thing every time. */
bool retry_status_retryable(long status);

/* Retry-After (RFC 9110 10.2.3): delta-seconds ("120") or an HTTP-date. A date is measured
 * from the response's Date header when `date` is given and parses (the server's clock
 * against itself, so a skewed local clock does not matter), else from now_unix_s. Returns
 * the wait in ms (0 for a date in the past), or -1 when value is NULL or does not parse. */
int64_t retry_parse_retry_after(const char *value, const char *date, int64_t now_unix_s);

/* A rate-limit reset header: a number >= 1e9 is a Unix time in seconds (Alpaca's
 * X-RateLimit-Reset), a smaller one is seconds from now (GitHub-style
 * X-RateLimit-Reset-After, some X-RateLimit-Reset). Returns the wait in ms (0 when past),
 * or -1 when value is NULL or does not parse. */
int64_t retry_parse_reset(const char *value, int64_t now_unix_s);

#endif
