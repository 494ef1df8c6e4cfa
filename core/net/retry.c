/* retry: backoff envelopes, full jitter, and parsing of the servers' wait hints. */
#include "net/retry.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>

#include "util/err.h"

retry_policy retry_policy_default(void)
{
    return (retry_policy){
        .max_attempts = 4, .base_ms = 250, .cap_ms = 8000, .max_retry_after_ms = 60000};
}

int retry_policy_check(const retry_policy *p)
{
    if (!p || p->max_attempts < 1 || p->base_ms < 0 || p->cap_ms < 0 || p->max_retry_after_ms < 0 ||
        p->base_ms > p->cap_ms)
        return APEX_EINVAL;
    return 0;
}

void retry_rng_seed(retry_rng *rng, uint64_t seed)
{
    rng->state = seed;
}

uint64_t retry_rng_next(retry_rng *rng)
{
    uint64_t z = (rng->state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

int64_t retry_envelope_ms(const retry_policy *p, int retry)
{
    int64_t env = p->base_ms;
    /* Doubling stops at the cap, so no shift can overflow however large retry is. */
    for (int i = 1; i < retry && env < p->cap_ms; i++)
        env *= 2;
    return env < p->cap_ms ? env : p->cap_ms;
}

int64_t retry_backoff_ms(const retry_policy *p, int retry, retry_rng *rng)
{
    int64_t env = retry_envelope_ms(p, retry);
    /* Modulo bias over a 64-bit draw and an envelope of at most 2^31 is below 2^-32. */
    return (int64_t)(retry_rng_next(rng) % (uint64_t)(env + 1));
}

bool retry_status_retryable(long status)
{
    if (status == 429)
        return true;
    return status >= 500 && status <= 599 && status != 501 && status != 505;
}

/* A non-negative decimal integer filling the whole of s (spaces around allowed). */
static bool parse_seconds(const char *s, int64_t *out)
{
    while (isspace((unsigned char)*s))
        s++;
    if (!isdigit((unsigned char)*s))
        return false;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno == ERANGE)
        return false;
    while (isspace((unsigned char)*end))
        end++;
    if (*end)
        return false;
    *out = v;
    return true;
}

/* Seconds to ms, saturating: a silly hint must not overflow into a negative wait. */
static int64_t secs_to_ms(int64_t s)
{
    if (s <= 0)
        return 0;
    return s > INT64_MAX / 1000 ? INT64_MAX : s * 1000;
}

int64_t retry_parse_retry_after(const char *value, const char *date, int64_t now_unix_s)
{
    if (!value)
        return -1;
    int64_t secs;
    if (parse_seconds(value, &secs))
        return secs_to_ms(secs);
    /* curl_getdate reads all three HTTP-date forms (IMF-fixdate, RFC 850, asctime). */
    time_t when = curl_getdate(value, NULL);
    if (when == -1)
        return -1;
    int64_t base = now_unix_s;
    if (date) {
        time_t server_now = curl_getdate(date, NULL);
        if (server_now != -1)
            base = (int64_t)server_now;
    }
    return secs_to_ms((int64_t)when - base);
}

int64_t retry_parse_reset(const char *value, int64_t now_unix_s)
{
    int64_t v;
    if (!value || !parse_seconds(value, &v))
        return -1;
    if (v >= 1000000000)
        return secs_to_ms(v - now_unix_s);
    return secs_to_ms(v);
}
