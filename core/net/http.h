/* http: an asynchronous HTTP client on the host's libuv loop.
 *
 * libcurl's multi interface does the protocol work; this module drives it from the loop
 * (a uv_poll_t per socket curl asks about, one uv_timer_t for curl's timeout), so no call
 * ever blocks the loop. One multi handle per client keeps finished requests' connections
 * pooled: a later request to the same host reuses them (and their TLS sessions).
 *
 * Handles and requests, as in libuv:
 *   http_client   owns the curl multi handle, its uv handles and every request in flight.
 *                 Created with http_client_new, freed with http_client_free.
 *   a request     is started by http_send, which copies everything it is given (URL,
 *                 headers, body), so the caller's buffers may go as soon as it returns. The
 *                 client owns the request until its callback has returned; the callback
 *                 runs exactly once, always from the loop, never inside http_send.
 *
 * TLS peers are always verified (libcurl's defaults, CURLOPT_SSL_VERIFYPEER and
 * VERIFYHOST, are never changed; there is no option to turn them off). Redirects are not
 * followed (a redirected POST could be sent twice), and only http and https are allowed.
 *
 * ---- The retry contract -------------------------------------------------------------
 *
 * A request is idempotent or not (http_request_spec.idempotence; by default GET, HEAD and
 * DELETE are, POST, PUT and PATCH are not).
 *
 *  - An idempotent request is retried by this module, up to the policy's max_attempts, on
 *    a transport failure (timeout, refused or reset connection, DNS) and on a retryable
 *    status (429 and 5xx but 501/505; see retry.h), waiting the full-jitter backoff or
 *    longer when the server asks (Retry-After, X-RateLimit-Reset). Not on a TLS failure
 *    or an over-cap response: those repeat.
 *  - A non-idempotent request (an order submission) is NEVER sent twice by this module,
 *    and libcurl is kept from resending it on its own (libcurl silently retries on a fresh
 *    connection when a pooled one dies before any response byte; with a body that needs a
 *    rewind, which is refused, and a request without a body always gets a connection of
 *    its own, where libcurl never retries). The callback reports which of three things
 *    happened (http_outcome):
 *       HTTP_OUTCOME_RESPONSE  a complete response arrived; act on its status and body;
 *       HTTP_OUTCOME_NOT_SENT  it failed before the request was handed to a connection
 *                              (DNS, connect, TLS handshake, connect timeout): the server
 *                              cannot have seen it, so sending it again is safe;
 *       HTTP_OUTCOME_UNKNOWN   it was (or may have been) sent and no complete response
 *                              came (reset, timeout after sending, over-cap response): the
 *                              server may have acted on it. The caller must find out (a
 *                              broker adapter asks for the client order id) before it
 *                              sends anything again.
 *  The same three outcomes describe the last attempt of an idempotent request.
 *
 * ---- Rate limits ----------------------------------------------------------------------
 *
 * A request may carry a net/ratelimit.h limiter and a priority: every attempt, retries
 * included, waits for a grant from the limiter before it is sent.
 *
 * ---- Secrets ----------------------------------------------------------------------------
 *
 * Header values marked secret (API keys, Authorization) never appear in anything this
 * module writes: every log line and error message passes through redact_copy
 * (net/redact.h) with the request's secret values. A request marked body_secret never has
 * its body or its response body logged at all. Nothing is logged above LOG_DEBUG except
 * retries (LOG_INFO) and failures (LOG_WARN). */
#ifndef APEX_NET_HTTP_H
#define APEX_NET_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/ratelimit.h"
#include "net/retry.h"
#include "util/err.h"

struct uv_loop_s;

typedef struct http_client http_client;
typedef struct http_request http_request; /* private; the client owns it */

typedef enum { HTTP_GET, HTTP_HEAD, HTTP_POST, HTTP_PUT, HTTP_PATCH, HTTP_DELETE } http_method;

typedef enum {
    HTTP_IDEMPOTENT_BY_METHOD = 0, /* GET, HEAD, DELETE: yes; POST, PUT, PATCH: no */
    HTTP_IDEMPOTENT,               /* e.g. a POST the server deduplicates by a key */
    HTTP_NOT_IDEMPOTENT,
} http_idempotence;

typedef enum {
    HTTP_OUTCOME_RESPONSE = 0, /* a complete response; status holds its code */
    HTTP_OUTCOME_NOT_SENT,     /* never reached the server: safe to send again */
    HTTP_OUTCOME_UNKNOWN,      /* sent (or maybe sent), no complete response: ask first */
} http_outcome;

/* What went wrong with the transport (HTTP_FAIL_NONE with HTTP_OUTCOME_RESPONSE). */
typedef enum {
    HTTP_FAIL_NONE = 0,
    HTTP_FAIL_TIMEOUT,   /* connect timeout or total timeout */
    HTTP_FAIL_DNS,       /* the host name did not resolve */
    HTTP_FAIL_CONNECT,   /* refused or unreachable */
    HTTP_FAIL_TLS,       /* handshake or certificate verification failed */
    HTTP_FAIL_RESET,     /* connection reset or closed mid-exchange, or nothing came back */
    HTTP_FAIL_TOO_LARGE, /* response body or headers over the client's cap */
    HTTP_FAIL_OTHER,     /* anything else libcurl reports (the message says what) */
} http_failure;

/* A request header. `secret` marks the value for redaction (see the top of this file). */
typedef struct {
    const char *name;
    const char *value;
    bool secret;
} http_header;

/* What to send. Everything is copied by http_send. Zero fields take the client's default.
 * A request with a body should name its Content-Type (libcurl's default for a body is
 * application/x-www-form-urlencoded). */
typedef struct {
    http_method method;
    const char *url; /* http:// or https:// */
    const http_header *headers;
    int header_count;
    const void *body; /* may be NULL with body_len 0 */
    size_t body_len;  /* at most the client's max_request_bytes */
    bool body_secret; /* never log the request body or the response body */
    bool url_secret;  /* messages show the URL's scheme and host only (a webhook URL's path
                         often is its token) */
    http_idempotence idempotence;
    int connect_timeout_ms;    /* per attempt; 0 = client default */
    int timeout_ms;            /* whole attempt, connect to last byte; 0 = client default */
    const retry_policy *retry; /* NULL = client default; copied */
    /* Optional: each attempt waits for a grant from this limiter at this priority (see
     * net/ratelimit.h). The limiter must outlive the request (or the client). */
    ratelimit *limiter;
    int priority;
    /* The first attempt's grant was already taken (a broker call the limiter let through
     * before it reached the adapter): only retries wait for the limiter. */
    bool first_attempt_granted;
} http_request_spec;

/* What the callback receives. Everything in it (body, headers) is valid only until the
 * callback returns; copy what you keep. */
typedef struct {
    http_outcome outcome;
    http_failure failure;
    long status;      /* the last response's status, 0 when no status line arrived */
    const char *body; /* the last response's body, NUL-terminated, never NULL */
    size_t body_len;
    int attempts; /* how many times the request was sent (or tried to be) */
    /* code 0 with HTTP_OUTCOME_RESPONSE (whatever the status; judging it is the caller's
     * job), else APEX_EIO (transport), APEX_ERANGE (over a cap) or APEX_EINVAL (a URL curl
     * rejects); msg says what happened to which request, with secrets redacted. */
    apex_error error;
    /* From the last response's headers: wait hints in ms (-1 when absent or unparsable) and
     * X-RateLimit-Remaining (-1 when absent). */
    int64_t retry_after_ms;
    int64_t ratelimit_reset_ms;
    int64_t ratelimit_remaining;
    const http_request *request; /* private: for http_result_header */
} http_result;

typedef void (*http_done_cb)(const http_result *result, void *ud);

/* The last response's header `name` (case-insensitive, first occurrence, value trimmed),
 * or NULL. Valid until the callback returns. */
const char *http_result_header(const http_result *result, const char *name);

typedef struct {
    int connect_timeout_ms;    /* default 5000 */
    int timeout_ms;            /* default 30000 */
    size_t max_response_bytes; /* response body cap; default 4 MiB */
    size_t max_request_bytes;  /* request body cap; default 1 MiB */
    int max_host_connections;  /* per host, 0 = no limit; more requests queue; default 8 */
    retry_policy retry;        /* default retry_policy_default() */
    uint64_t jitter_seed;      /* 0 = from the time; tests set it for exact waits */
    const char *user_agent;    /* default "apex-host/<version>"; copied */
    /* The `client` label of apex_http_responses_total (metrics.h: every finished attempt
     * by status code): "alpaca", "telegram"...; default "http"; copied */
    const char *metrics_name;
} http_client_options;

/* Fills o with the defaults above. */
void http_client_options_default(http_client_options *o);

/* A client on `loop` (NULL opts = defaults). Returns NULL with err set on bad options or
 * when libcurl or libuv cannot start. Initialises libcurl globally on first use (never
 * cleaned up: it lives for the process). */
http_client *http_client_new(struct uv_loop_s *loop, const http_client_options *opts,
                             apex_error *err);

/* Frees the client. Requests in flight (sending, waiting for a retry or for a limiter
 * grant) are dropped and their callbacks are NOT run; their connections are closed. Safe
 * from inside a request's callback (the current callback finishes, no other runs). The
 * client's uv handles close asynchronously: run the loop once more (or to completion)
 * before uv_loop_close, as with clock_free. */
void http_client_free(http_client *c);

/* Starts a request; cb(result, ud) runs once when it is done. Returns 0, or APEX_EINVAL (a
 * NULL or non-http(s) URL, a header with a newline, bad retry policy or priority),
 * APEX_ERANGE (body over max_request_bytes), APEX_ENOMEM, APEX_ESTATE (the client is
 * being freed); err says which. On an error cb never runs. */
int http_send(http_client *c, const http_request_spec *spec, http_done_cb cb, void *ud,
              apex_error *err);

/* Requests started and not yet finished. */
int http_client_in_flight(const http_client *c);

/* "https://host:port": url's scheme and host, without user info, path or query (what
 * messages show of a URL whose path or query may carry a token); "(invalid URL)" when url
 * has no scheme. */
void http_url_origin(const char *url, char *out, size_t outlen);

/* True when url's host is 127.0.0.1, ::1 or localhost (not "127.0.0.1.evil.example"). */
bool http_url_is_loopback(const char *url);

/* The rule for a URL that requests carrying secrets (keys, tokens) go to: no spaces or
 * control characters, http:// or https:// with a host, no user name or password in it,
 * and plain http only to the loopback host (a test server on 127.0.0.1). Returns 0, or
 * APEX_EINVAL with a message naming `field` (e.g. "broker.base_url") and saying what to
 * write; `carries` names what plain http would expose ("the API keys") and
 * `secrets_from` where the secrets come from instead ("broker.key_env and
 * broker.secret_env"). */
int http_url_check(const char *url, const char *field, const char *carries,
                   const char *secrets_from, char *err, size_t errlen);

/* Names for logs: "GET", "timeout", "unknown". */
const char *http_method_name(http_method m);
const char *http_failure_name(http_failure f);
const char *http_outcome_name(http_outcome o);

#endif
