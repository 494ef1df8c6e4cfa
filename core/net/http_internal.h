/* http_internal: the structs shared by http.c (the client and its loop integration) and
 * http_request.c (one request: building it, libcurl's callbacks, judging an attempt).
 * Nothing outside core/net includes this. */
#ifndef APEX_NET_HTTP_INTERNAL_H
#define APEX_NET_HTTP_INTERNAL_H

#include <curl/curl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <uv.h>

#include "net/http.h"
#include "util/heap.h"
#include "util/log.h"

#define HTTP_MAX_HEADER_BYTES (64 * 1024) /* response headers kept per attempt */

typedef enum {
    REQ_LIMITER, /* waiting for a grant from its rate limiter */
    REQ_CURL,    /* in the multi handle: connecting, sending or receiving */
    REQ_WAITING, /* in the client's wait heap: a retry's backoff, or a failure to report */
} req_state;

struct http_request {
    http_client *client;
    TAILQ_ENTRY(http_request) link; /* in client->requests while the client owns it */
    req_state state;
    CURL *easy; /* one per request, re-added for each attempt; connections stay pooled */
    struct curl_slist *headers;
    char *url;
    char *shown_url; /* the URL as messages show it: url, or its scheme and host */
    http_method method;
    bool idempotent;
    bool body_secret;
    unsigned char *body;
    size_t body_len;
    size_t body_off; /* read position of the current attempt */
    char **secrets;  /* the values of the secret headers, for redaction */
    int nsecrets;
    retry_policy retry;
    ratelimit *limiter;
    bool first_granted; /* spec.first_attempt_granted */
    int priority;
    http_done_cb cb;
    void *ud;
    int attempts;

    /* The current attempt. */
    char *resp_body;
    size_t resp_len, resp_cap;
    char *resp_hdrs; /* "name\0value\0" pairs of the last response */
    size_t hdr_len, hdr_cap;
    bool body_too_large;   /* the body callback refused data over the body cap */
    bool header_too_large; /* the header callback refused data over the header cap */
    bool prereq_called;    /* libcurl was about to send on a connection: maybe sent */
    char errbuf[CURL_ERROR_SIZE];

    /* In the wait heap. */
    heap_node node;
    uint64_t due_ms; /* uv_now() scale */
    uint64_t seq;
    bool fail_now; /* the wait ends by reporting fail_err instead of sending */
    apex_error fail_err;
};

TAILQ_HEAD(http_request_list, http_request);
typedef struct poll_ctx poll_ctx;
TAILQ_HEAD(poll_list, poll_ctx);

struct metrics_series;
#define HTTP_METRIC_CODES 12

struct http_client {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t curl_timer;  /* curl's single timeout (CURLMOPT_TIMERFUNCTION) */
    uv_timer_t retry_timer; /* the earliest entry of `waiting` */
    heap waiting;           /* requests in REQ_WAITING, by (due_ms, seq) */
    uint64_t wait_seq;
    struct http_request_list requests;
    int in_flight;
    struct poll_list polls; /* one per socket curl watches */
    http_client_options opts;
    char *user_agent;
    retry_rng rng;
    int open_handles; /* uv handles not yet closed; the client is freed when it reaches 0 */
    bool closing;     /* http_client_free was called */
    int depth;        /* > 0 while a user callback may run: teardown waits for 0 */
    /* apex_http_responses_total: the client's label and its series by status code, found
     * on a code's first response (a client sees a handful of codes) */
    char metrics_name[32];
    struct {
        long code; /* 0 = "error": no response */
        struct metrics_series *series;
    } m_codes[HTTP_METRIC_CODES];
    int m_ncodes;
};

/* http_request.c */
int http_request_build(http_client *c, const http_request_spec *spec, http_request **out,
                       apex_error *err);
void http_request_free(http_request *r);
/* Clears the per-attempt state before an attempt is handed to libcurl. */
void http_request_reset_attempt(http_request *r);
/* Logs through redaction with the request's secrets. */
void http_request_log(const http_request *r, log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The first HTTP_PREVIEW_BYTES of a body for a debug line: control characters blanked,
 * secrets redacted (before the cut), "..." when cut. out should hold 2 * HTTP_PREVIEW_BYTES. */
#define HTTP_PREVIEW_BYTES 200
void http_request_preview(const http_request *r, const void *data, size_t len, char *out,
                          size_t outlen);
/* Sets e to code and the message, redacted with the request's secrets. */
void http_request_error(const http_request *r, apex_error *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The judgement of a finished attempt. */
typedef struct {
    http_result result;
    bool retry; /* send again after wait_ms */
    int64_t wait_ms;
} http_verdict;

/* Judges an attempt libcurl finished with rc (retry or report), drawing jitter from rng. */
void http_request_judge(http_request *r, CURLcode rc, retry_rng *rng, http_verdict *v);

#endif
