/* test_http: the async HTTP client against a tiny HTTP/1.1 server that the test runs on
 * 127.0.0.1 (an ephemeral port) in the same libuv loop. Each path of the server scripts a
 * behaviour (fail twice then succeed, 429 with Retry-After, reset mid-response, never
 * answer, oversized body...), and the tests assert what the client's callback reports and
 * what the server saw: how many times each path was hit, when, and on how many
 * connections. Every test ends with uv_loop_close() == 0, so a handle the client forgot to
 * close fails the test; ASan (build-asan) checks the memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "clock/clock.h"
#include "net/http.h"
#include "net/ratelimit.h"
#include "net/redact.h"
#include "net/retry.h"
#include "http_test_server.h"
#include "output_capture.h"
#include "util/err.h"
#include "util/log.h"

/* The scripted behaviours, by path. `nth` is 1 for the first hit of this path. */
static void handle(hts_conn *c, const char *method, const char *path, int nth, void *ud)
{
    char body[128];
    if (strncmp(path, "/ok/", 4) == 0) {
        snprintf(body, sizeof body, "body-%s", path + 4);
        hts_respond(c, 200, "OK", NULL, body);
    } else if (strcmp(path, "/flaky") == 0) {
        if (nth <= 2)
            hts_respond(c, 500, "Internal Server Error", NULL, "try again");
        else
            hts_respond(c, 200, "OK", NULL, "finally");
    } else if (strcmp(path, "/fail500") == 0) {
        hts_respond(c, 500, "Internal Server Error", NULL, "server error");
    } else if (strcmp(path, "/429") == 0) {
        if (nth == 1)
            hts_respond(c, 429, "Too Many Requests", "Retry-After: 1\r\n", "slow down");
        else
            hts_respond(c, 200, "OK", NULL, "after-wait");
    } else if (strcmp(path, "/429-reset") == 0) {
        if (nth == 1) {
            char hdr[128];
            snprintf(hdr, sizeof hdr, "X-RateLimit-Remaining: 0\r\nX-RateLimit-Reset: %lld\r\n",
                     (long long)time(NULL) + 2);
            hts_respond(c, 429, "Too Many Requests", hdr, "window spent");
        } else {
            hts_respond(c, 200, "OK", NULL, "after-reset");
        }
    } else if (strcmp(path, "/429-long") == 0) {
        hts_respond(c, 429, "Too Many Requests", "Retry-After: 30\r\n", "slow down");
    } else if (strncmp(path, "/reset", 6) == 0) {
        if (nth == 1) {
            const char *part = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial";
            hts_write(c, part, strlen(part), true);
        } else {
            hts_respond(c, 200, "OK", NULL, "recovered");
        }
    } else if (strcmp(path, "/big") == 0) {
        size_t n = 200000;
        char *b = malloc(n + 1);
        assert_non_null(b);
        memset(b, 'x', n);
        b[n] = '\0';
        hts_respond(c, 200, "OK", NULL, b);
        free(b);
    } else if (strcmp(path, "/big-chunked") == 0) {
        /* No Content-Length: only the body callback's cap can stop this one. */
        size_t n = 200000;
        char *b = malloc(n + 128);
        assert_non_null(b);
        int h = snprintf(b, 128, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%zx\r\n", n);
        memset(b + h, 'y', n);
        memcpy(b + h + n, "\r\n0\r\n\r\n", 7);
        hts_write(c, b, (size_t)h + n + 7, false);
        free(b);
    } else if (strcmp(path, "/echo-headers") == 0) {
        /* A server error body that quotes the request, as some APIs do. */
        hts_respond(c, 400, "Bad Request", NULL, c->srv->last_headers);
    } else if (strcmp(path, "/drop-on-reuse") == 0) {
        /* A keep-alive connection the server gives up on just as the next request
         * arrives: read it, close, answer nothing. */
        if (c->served > 1)
            hts_close(c, false);
        else
            hts_respond(c, 200, "OK", NULL, "fresh");
    } else if (strcmp(path, "/hang") == 0) {
        /* never answers */
    } else {
        hts_respond(c, 404, "Not Found", NULL, "no such path");
    }
    (void)method;
    (void)ud;
}

/* ---- fixture ----------------------------------------------------------------------------- */

typedef struct {
    bool done;
    http_outcome outcome;
    http_failure failure;
    long status;
    char body[256];
    size_t body_len;
    int attempts;
    int code;
    char msg[512];
    int64_t retry_after_ms;
    uint64_t at; /* uv_now() when the callback ran */
} got;

typedef struct {
    uv_loop_t loop;
    hts_server srv;
    http_client *http;
    int callbacks;
    uv_timer_t guard;
} fixture;

static fixture *fx; /* the callbacks' way back to the fixture */

static void on_done(const http_result *r, void *ud)
{
    got *g = ud;
    assert_false(g->done); /* exactly once */
    g->done = true;
    g->outcome = r->outcome;
    g->failure = r->failure;
    g->status = r->status;
    snprintf(g->body, sizeof g->body, "%s", r->body);
    g->body_len = r->body_len;
    g->attempts = r->attempts;
    g->code = r->error.code;
    snprintf(g->msg, sizeof g->msg, "%s", r->error.msg);
    g->retry_after_ms = r->retry_after_ms;
    g->at = uv_now(&fx->loop);
    fx->callbacks++;
}

static http_client_options test_options(void)
{
    http_client_options o;
    http_client_options_default(&o);
    o.jitter_seed = 42;
    o.retry.base_ms = 10;
    o.retry.cap_ms = 50;
    o.max_response_bytes = 64 * 1024;
    o.timeout_ms = 10000;
    return o;
}

static int setup(void **state)
{
    fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    assert_int_equal(uv_loop_init(&fx->loop), 0);
    hts_start(&fx->srv, &fx->loop, handle, NULL);
    uv_timer_init(&fx->loop, &fx->guard);
    http_client_options o = test_options();
    apex_error err;
    fx->http = http_client_new(&fx->loop, &o, &err);
    assert_non_null(fx->http);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    http_client_free(fx->http);
    hts_stop(&fx->srv);
    uv_close((uv_handle_t *)&fx->guard, NULL);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    /* Every handle of the client and the server is closed: nothing leaks into the loop. */
    assert_int_equal(uv_loop_close(&fx->loop), 0);
    free(fx);
    fx = NULL;
    return 0;
}

static void on_guard(uv_timer_t *t)
{
    (void)t; /* only wakes UV_RUN_ONCE up so run_until can check its condition */
}

/* Runs the loop until *flag (or the count reaches n), failing after 20 s. */
static void run_until_count(const int *count, int n)
{
    uv_timer_start(&fx->guard, on_guard, 50, 50);
    uint64_t start = uv_hrtime();
    while (*count < n) {
        uv_run(&fx->loop, UV_RUN_ONCE);
        if (uv_hrtime() - start > 20 * (uint64_t)1000000000) {
            fail_msg("timed out waiting: %d of %d", *count, n);
        }
    }
    uv_timer_stop(&fx->guard);
}

static void run_until_done(got *g)
{
    int before = fx->callbacks;
    while (!g->done)
        run_until_count(&fx->callbacks, before + 1), before = fx->callbacks;
}

static void run_for_ms(uint64_t ms)
{
    uint64_t until = uv_hrtime() + ms * 1000000;
    uv_timer_start(&fx->guard, on_guard, 10, 10);
    while (uv_hrtime() < until)
        uv_run(&fx->loop, UV_RUN_ONCE);
    uv_timer_stop(&fx->guard);
}

static void url(char *buf, size_t n, const char *path)
{
    snprintf(buf, n, "http://127.0.0.1:%d%s", fx->srv.port, path);
}

static void send_req(http_method m, const char *path, const char *body, got *g)
{
    char u[128];
    url(u, sizeof u, path);
    http_request_spec spec = {
        .method = m, .url = u, .body = body, .body_len = body ? strlen(body) : 0};
    apex_error err;
    assert_int_equal(http_send(fx->http, &spec, on_done, g, &err), 0);
}

/* ---- behaviour --------------------------------------------------------------------------- */

static void test_get_retried_until_success(void **state)
{
    got g = {0};
    send_req(HTTP_GET, "/flaky", NULL, &g);
    assert_false(g.done); /* never inside http_send */
    run_until_done(&g);
    assert_int_equal(g.outcome, HTTP_OUTCOME_RESPONSE);
    assert_int_equal(g.status, 200);
    assert_string_equal(g.body, "finally");
    assert_int_equal(g.attempts, 3);
    assert_int_equal(g.code, 0);
    assert_int_equal(hts_hits(&fx->srv, "/flaky"), 3);
}

static void test_get_gives_up_after_max_attempts(void **state)
{
    got g = {0};
    send_req(HTTP_GET, "/fail500", NULL, &g);
    run_until_done(&g);
    assert_int_equal(g.outcome, HTTP_OUTCOME_RESPONSE);
    assert_int_equal(g.status, 500);
    assert_int_equal(g.attempts, 4);
    assert_int_equal(hts_hits(&fx->srv, "/fail500"), 4);
}

static void test_post_500_not_retried(void **state)
{
    got g = {0};
    send_req(HTTP_POST, "/fail500", "{\"client_order_id\":\"x-1\"}", &g);
    run_until_done(&g);
    assert_int_equal(g.outcome, HTTP_OUTCOME_RESPONSE);
    assert_int_equal(g.status, 500);
    assert_string_equal(g.body, "server error");
    assert_int_equal(g.attempts, 1);
    run_for_ms(100);
    assert_int_equal(hts_hits(&fx->srv, "/fail500"), 1);
    assert_string_equal(fx->srv.paths[0].method[0], "POST");
}

static void test_429_waits_for_retry_after(void **state)
{
    got g = {0};
    send_req(HTTP_GET, "/429", NULL, &g);
    run_until_done(&g);
    assert_int_equal(g.status, 200);
    assert_string_equal(g.body, "after-wait");
    assert_int_equal(g.attempts, 2);
    hts_path_stats *p = hts_stats(&fx->srv, "/429");
    assert_int_equal(p->hits, 2);
    /* Loop time, lower bound only: the retry came at least Retry-After (1 s) later. */
    assert_true(p->at[1] - p->at[0] >= 1000);
}

static void test_429_waits_for_ratelimit_reset(void **state)
{
    got g = {0};
    send_req(HTTP_GET, "/429-reset", NULL, &g);
    run_until_done(&g);
    assert_int_equal(g.status, 200);
    assert_string_equal(g.body, "after-reset");
    hts_path_stats *p = hts_stats(&fx->srv, "/429-reset");
    assert_int_equal(p->hits, 2);
    /* The reset is a whole second 2 s ahead of the server's clock: at least 1 s later. */
    assert_true(p->at[1] - p->at[0] >= 1000);
}

static void test_429_on_post_reported_with_its_hint(void **state)
{
    got g = {0};
    send_req(HTTP_POST, "/429", "{}", &g);
    run_until_done(&g);
    assert_int_equal(g.outcome, HTTP_OUTCOME_RESPONSE);
    assert_int_equal(g.status, 429);
    assert_int_equal(g.attempts, 1);
    assert_int_equal(g.retry_after_ms, 1000); /* the caller's to honour */
    run_for_ms(50);
    assert_int_equal(hts_hits(&fx->srv, "/429"), 1);
}

static void test_reset_mid_response_get_retried(void **state)
{
    got g = {0};
    send_req(HTTP_GET, "/reset-get", NULL, &g);
    run_until_done(&g);
    assert_int_equal(g.outcome, HTTP_OUTCOME_RESPONSE);
    assert_int_equal(g.status, 200);
    assert_string_equal(g.body, "recovered");
    assert_int_equal(g.attempts, 2);
    assert_int_equal(hts_hits(&fx->srv, "/reset-get"), 2);
}

static void test_reset_mid_response_post_unknown(void **state)
{
    got g = {0};
    send_req(HTTP_POST, "/reset-post", "{\"qty\":1}", &g);
    run_until_done(&g);
    assert_int_equal(g.outcome, HTTP_OUTCOME_UNKNOWN);
    assert_int_equal(g.failure, HTTP_FAIL_RESET);
    assert_int_equal(g.code, APEX_EIO);
    assert_int_equal(g.attempts, 1);
    assert_non_null(strstr(g.msg, "check before sending again"));
    run_for_ms(100);
    assert_int_equal(hts_hits(&fx->srv, "/reset-post"), 1);
}

/* libcurl resends a request by itself when a pooled connection turns out dead after
 * sending (it got nothing back). For a POST that would be a second order; the client must
 * refuse, and report the first as unknown. A GET may be resent, on a fresh connection. */
static void test_post_on_dropped_pooled_connection_not_resent(void **state)
{
    got warm = {0}, post = {0}, get = {0};
    send_req(HTTP_POST, "/ok/warm", "{}", &warm);
    run_until_done(&warm);
    assert_int_equal(fx->srv.accepted, 1);
    send_req(HTTP_POST, "/drop-on-reuse", "{\"client_order_id\":\"x-2\"}", &post);
    run_until_done(&post);
    assert_int_equal(post.outcome, HTTP_OUTCOME_UNKNOWN);
    assert_int_equal(post.failure, HTTP_FAIL_RESET);
    assert_int_equal(post.attempts, 1);
    run_for_ms(100);
    assert_int_equal(hts_hits(&fx->srv, "/drop-on-reuse"), 1); /* sent once, never again */

    /* Without a body there is nothing to refuse to rewind: it goes on a new connection. */
    got empty = {0};
    send_req(HTTP_GET, "/ok/warm1", NULL, &warm);
    warm.done = false;
    run_until_done(&warm);
    int accepted = fx->srv.accepted;
    send_req(HTTP_POST, "/drop-on-reuse", NULL, &empty);
    run_until_done(&empty);
    assert_int_equal(empty.outcome, HTTP_OUTCOME_RESPONSE);
    assert_string_equal(empty.body, "fresh");
    assert_int_equal(fx->srv.accepted, accepted + 1);
    assert_int_equal(hts_hits(&fx->srv, "/drop-on-reuse"), 2); /* the first POST, and this one */

    send_req(HTTP_GET, "/ok/warm2", NULL, &warm);
    warm.done = false;
    run_until_done(&warm);
    send_req(HTTP_GET, "/drop-on-reuse", NULL, &get);
    run_until_done(&get);
    assert_int_equal(get.outcome, HTTP_OUTCOME_RESPONSE);
    assert_string_equal(get.body, "fresh");
}

static void test_refused_post_not_sent(void **state)
{
    /* A port nobody listens on: bind one, note it, close it. */
    uv_tcp_t t;
    struct sockaddr_in addr, bound;
    int len = sizeof bound;
    uv_ip4_addr("127.0.0.1", 0, &addr);
    uv_tcp_init(&fx->loop, &t);
    assert_int_equal(uv_tcp_bind(&t, (const struct sockaddr *)&addr, 0), 0);
    uv_tcp_getsockname(&t, (struct sockaddr *)&bound, &len);
    uv_close((uv_handle_t *)&t, NULL);
    run_for_ms(10);

    char u[128];
    snprintf(u, sizeof u, "http://127.0.0.1:%d/orders", ntohs(bound.sin_port));
    http_request_spec spec = {.method = HTTP_POST, .url = u, .body = "{}", .body_len = 2};
    got g = {0};
    assert_int_equal(http_send(fx->http, &spec, on_done, &g, NULL), 0);
    run_until_done(&g);
    assert_int_equal(g.outcome, HTTP_OUTCOME_NOT_SENT);
    assert_int_equal(g.failure, HTTP_FAIL_CONNECT);
    assert_int_equal(g.code, APEX_EIO);
    assert_int_equal(g.attempts, 1);
}

static void test_response_over_cap(void **state)
{
    got a = {0}, b = {0};
    send_req(HTTP_GET, "/big", NULL, &a);         /* Content-Length announces it */
    send_req(HTTP_GET, "/big-chunked", NULL, &b); /* only the body cap sees it */
    run_until_done(&a);
    run_until_done(&b);
    assert_int_equal(a.failure, HTTP_FAIL_TOO_LARGE);
    assert_int_equal(a.code, APEX_ERANGE);
    assert_int_equal(a.attempts, 1); /* a cap fails the same way every time */
    assert_int_equal(b.failure, HTTP_FAIL_TOO_LARGE);
    assert_int_equal(b.code, APEX_ERANGE);
    assert_int_equal(b.attempts, 1);
    assert_true(b.body_len <= 64 * 1024);
    assert_non_null(strstr(b.msg, "cap"));
}

static void test_silent_server_times_out(void **state)
{
    char u[128];
    url(u, sizeof u, "/hang");
    retry_policy once = retry_policy_default();
    once.max_attempts = 1;
    http_request_spec spec = {.method = HTTP_GET, .url = u, .timeout_ms = 300, .retry = &once};
    got g = {0};
    assert_int_equal(http_send(fx->http, &spec, on_done, &g, NULL), 0);
    run_until_done(&g);
    assert_int_equal(g.failure, HTTP_FAIL_TIMEOUT);
    assert_int_equal(g.outcome, HTTP_OUTCOME_UNKNOWN); /* it was sent */
    assert_int_equal(g.code, APEX_EIO);
    assert_non_null(strstr(g.msg, "timeout"));
    assert_int_equal(hts_hits(&fx->srv, "/hang"), 1);
}

static void test_concurrent_requests_get_their_own_bodies(void **state)
{
    enum { N = 50 };
    got g[N];
    memset(g, 0, sizeof g);
    for (int i = 0; i < N; i++) {
        char path[32];
        snprintf(path, sizeof path, "/ok/%d", i);
        send_req(HTTP_GET, path, NULL, &g[i]);
    }
    assert_int_equal(http_client_in_flight(fx->http), N);
    run_until_count(&fx->callbacks, N);
    for (int i = 0; i < N; i++) {
        char want[32];
        snprintf(want, sizeof want, "body-%d", i);
        assert_true(g[i].done);
        assert_int_equal(g[i].status, 200);
        assert_string_equal(g[i].body, want);
    }
    assert_int_equal(http_client_in_flight(fx->http), 0);
    /* At most max_host_connections (8) connections, reused for the 50 requests. */
    assert_true(fx->srv.accepted <= 8);
    assert_true(fx->srv.accepted < N);
}

typedef struct {
    int left;
    got g;
} chain;

static void on_chain(const http_result *r, void *ud)
{
    chain *ch = ud;
    assert_int_equal(r->status, 200);
    fx->callbacks++;
    if (--ch->left > 0) {
        char u[128];
        url(u, sizeof u, "/ok/seq");
        http_request_spec spec = {.method = HTTP_GET, .url = u};
        assert_int_equal(http_send(fx->http, &spec, on_chain, ch, NULL), 0);
    }
}

static void test_sequential_requests_reuse_a_connection(void **state)
{
    chain ch = {.left = 10};
    char u[128];
    url(u, sizeof u, "/ok/seq");
    http_request_spec spec = {.method = HTTP_GET, .url = u};
    assert_int_equal(http_send(fx->http, &spec, on_chain, &ch, NULL), 0);
    run_until_count(&fx->callbacks, 10);
    assert_int_equal(hts_hits(&fx->srv, "/ok/seq"), 10);
    assert_true(fx->srv.accepted < 10);
    assert_int_equal(fx->srv.accepted, 1);
}

static void test_limiter_grants_every_attempt(void **state)
{
    apex_clock *clock = clock_new_live(&fx->loop, 1.0, 0);
    ratelimit *rl = ratelimit_new(clock, 100);
    char u[128];
    url(u, sizeof u, "/flaky");
    http_request_spec spec = {.method = HTTP_GET, .url = u, .limiter = rl, .priority = 1};
    got g = {0};
    assert_int_equal(http_send(fx->http, &spec, on_done, &g, NULL), 0);
    run_until_done(&g);
    assert_int_equal(g.status, 200);
    assert_int_equal(g.attempts, 3);
    assert_true(ratelimit_granted(rl) == 3); /* the first attempt and both retries */
    ratelimit_free(rl);
    clock_free(clock);
}

/* ---- secrets ------------------------------------------------------------------------------ */

#define SECRET_KEY   "sk-TESTSECRET-93f1a7c2e4"
#define SECRET_TOKEN "tok-BEARER-5d0c6b1f88"

static void test_secret_headers_never_logged(void **state)
{
    output_capture cap;
    output_capture_begin(&cap, LOG_DEBUG);

    http_header hdrs[] = {
        {.name = "APCA-API-KEY-ID", .value = "PKPUBLICKEYID"},
        {.name = "APCA-API-SECRET-KEY", .value = SECRET_KEY, .secret = true},
        {.name = "Authorization", .value = "Bearer " SECRET_TOKEN, .secret = true},
        {.name = "Content-Type", .value = "application/json"},
    };
    const char *order = "{\"client_order_id\":\"ORDERBODY-7\",\"qty\":\"1\"}";
    char u[3][128];
    url(u[0], sizeof u[0], "/fail500");
    url(u[1], sizeof u[1], "/echo-headers");
    url(u[2], sizeof u[2], "/hang");
    retry_policy once = retry_policy_default();
    once.max_attempts = 1;
    got g[3];
    memset(g, 0, sizeof g);
    http_request_spec specs[3] = {
        /* an order: secret-bearing body, a 500 answer */
        {.method = HTTP_POST,
         .url = u[0],
         .headers = hdrs,
         .header_count = 4,
         .body = order,
         .body_len = strlen(order),
         .body_secret = true},
        /* a server that quotes the request headers back in its (logged) error body */
        {.method = HTTP_GET, .url = u[1], .headers = hdrs, .header_count = 4},
        /* a failure: the warning and the error message */
        {.method = HTTP_GET,
         .url = u[2],
         .headers = hdrs,
         .header_count = 4,
         .timeout_ms = 200,
         .retry = &once},
    };
    for (int i = 0; i < 3; i++)
        assert_int_equal(http_send(fx->http, &specs[i], on_done, &g[i], NULL), 0);
    /* A logged (not secret-bearing) body with the key across the preview's 200-byte cut. */
    char straddle[256];
    memset(straddle, 'a', 197);
    snprintf(straddle + 197, sizeof straddle - 197, "%s\n", SECRET_KEY);
    char u4[128];
    url(u4, sizeof u4, "/ok/straddle");
    http_request_spec spec4 = {.method = HTTP_POST,
                               .url = u4,
                               .headers = hdrs,
                               .header_count = 4,
                               .body = straddle,
                               .body_len = strlen(straddle)};
    got g4 = {0};
    assert_int_equal(http_send(fx->http, &spec4, on_done, &g4, NULL), 0);
    run_until_count(&fx->callbacks, 4);

    char *text = output_capture_end(&cap);

    /* The server did receive the real key: redaction is in the log, not on the wire. */
    assert_non_null(strstr(g[1].body, SECRET_KEY));
    /* The paths that could leak were taken: headers logged, the echo body logged. */
    assert_non_null(strstr(text, "APCA-API-SECRET-KEY: " REDACTED));
    assert_non_null(strstr(text, "Authorization: " REDACTED));
    assert_non_null(strstr(text, "PKPUBLICKEYID"));
    assert_non_null(strstr(text, "/echo-headers -> 400"));
    assert_non_null(strstr(text, "timeout"));
    /* ...and no secret, nor the secret-bearing order body, is in the log. */
    assert_null(strstr(text, SECRET_KEY));
    assert_null(strstr(text, SECRET_TOKEN));
    assert_null(strstr(text, "ORDERBODY-7"));
    assert_non_null(strstr(text, "body: aaaa"));
    assert_null(strstr(text, "ask-")); /* not even the start of the key at the cut */
    for (int i = 0; i < 3; i++) {
        assert_null(strstr(g[i].msg, SECRET_KEY));
        assert_null(strstr(g[i].msg, SECRET_TOKEN));
    }
    assert_int_equal(g[2].failure, HTTP_FAIL_TIMEOUT);
    free(text);
}

/* ---- freeing with work in flight ---------------------------------------------------------- */

static void test_free_with_requests_in_flight(void **state)
{
    apex_clock *clock = clock_new_live(&fx->loop, 1.0, 0);
    ratelimit *rl = ratelimit_new(clock, 1);
    got g[6];
    memset(g, 0, sizeof g);
    /* In libcurl: three requests nobody answers, one of them a POST with a body. */
    send_req(HTTP_GET, "/hang", NULL, &g[0]);
    send_req(HTTP_GET, "/hang", NULL, &g[1]);
    send_req(HTTP_POST, "/hang", "{\"a\":1}", &g[2]);
    /* Waiting for a retry: told to come back in 30 s. */
    send_req(HTTP_GET, "/429-long", NULL, &g[3]);
    /* Through a limiter of 1 per minute: one granted (then hangs), one left queued. */
    char u[128];
    url(u, sizeof u, "/hang");
    http_request_spec spec = {.method = HTTP_GET, .url = u, .limiter = rl, .priority = 2};
    assert_int_equal(http_send(fx->http, &spec, on_done, &g[4], NULL), 0);
    assert_int_equal(http_send(fx->http, &spec, on_done, &g[5], NULL), 0);

    uint64_t start = uv_hrtime();
    while (hts_hits(&fx->srv, "/hang") < 4 || hts_hits(&fx->srv, "/429-long") < 1) {
        run_for_ms(10);
        assert_true(uv_hrtime() - start < 10 * (uint64_t)1000000000);
    }
    run_for_ms(50); /* the 429 is judged and parked */
    assert_int_equal(ratelimit_queued(rl), 1);
    assert_int_equal(http_client_in_flight(fx->http), 6);

    http_client_free(fx->http);
    fx->http = NULL;
    assert_int_equal(ratelimit_queued(rl), 0); /* the queued attempt was withdrawn */
    run_for_ms(100);
    assert_int_equal(fx->callbacks, 0); /* documented: no callback runs after free */
    ratelimit_free(rl);
    clock_free(clock);
}

typedef struct {
    got g;
    bool free_client;
} freeing;

static void on_done_free(const http_result *r, void *ud)
{
    freeing *f = ud;
    on_done(r, &f->g);
    if (f->free_client) {
        http_client_free(fx->http);
        fx->http = NULL;
    }
}

static void test_free_inside_a_callback(void **state)
{
    freeing first = {.free_client = true}, others[3] = {0};
    char u[128];
    url(u, sizeof u, "/ok/first");
    http_request_spec spec = {.method = HTTP_GET, .url = u};
    assert_int_equal(http_send(fx->http, &spec, on_done_free, &first, NULL), 0);
    url(u, sizeof u, "/hang");
    for (int i = 0; i < 3; i++)
        assert_int_equal(http_send(fx->http, &spec, on_done_free, &others[i], NULL), 0);
    run_until_done(&first.g);
    assert_null(fx->http);
    run_for_ms(100);
    assert_int_equal(fx->callbacks, 1);
    for (int i = 0; i < 3; i++)
        assert_false(others[i].g.done);
}

static void test_send_rejects_bad_requests(void **state)
{
    got g = {0};
    apex_error err;
    http_request_spec spec = {.method = HTTP_GET, .url = "ftp://127.0.0.1/x"};
    assert_int_equal(http_send(fx->http, &spec, on_done, &g, &err), APEX_EINVAL);

    char u[128];
    url(u, sizeof u, "/ok/x");
    http_header bad = {.name = "X-Injected", .value = "a\r\nHost: evil", .secret = false};
    spec = (http_request_spec){.method = HTTP_GET, .url = u, .headers = &bad, .header_count = 1};
    assert_int_equal(http_send(fx->http, &spec, on_done, &g, &err), APEX_EINVAL);

    size_t n = (1u << 20) + 1; /* over the default max_request_bytes */
    char *big = calloc(1, n);
    assert_non_null(big);
    spec = (http_request_spec){.method = HTTP_POST, .url = u, .body = big, .body_len = n};
    assert_int_equal(http_send(fx->http, &spec, on_done, &g, &err), APEX_ERANGE);
    assert_non_null(strstr(err.msg, "max_request_bytes"));
    free(big);

    retry_policy bad_policy = {.max_attempts = 0};
    spec = (http_request_spec){.method = HTTP_GET, .url = u, .retry = &bad_policy};
    assert_int_equal(http_send(fx->http, &spec, on_done, &g, &err), APEX_EINVAL);
    run_for_ms(20);
    assert_false(g.done);
    assert_int_equal(http_client_in_flight(fx->http), 0);
}

/* ---- the retry module alone ------------------------------------------------------------------ */

static void test_backoff_is_seeded_full_jitter(void **state)
{
    retry_policy p = {.max_attempts = 10, .base_ms = 100, .cap_ms = 1000, .max_retry_after_ms = 0};
    assert_int_equal(retry_envelope_ms(&p, 1), 100);
    assert_int_equal(retry_envelope_ms(&p, 2), 200);
    assert_int_equal(retry_envelope_ms(&p, 4), 800);
    assert_int_equal(retry_envelope_ms(&p, 5), 1000);
    assert_int_equal(retry_envelope_ms(&p, 1000000), 1000);

    retry_rng a, b, c;
    retry_rng_seed(&a, 7);
    retry_rng_seed(&b, 7);
    retry_rng_seed(&c, 8);
    bool differs = false, below_half = false, above_half = false;
    for (int i = 1; i <= 200; i++) {
        int retry = 1 + i % 6;
        int64_t x = retry_backoff_ms(&p, retry, &a);
        int64_t y = retry_backoff_ms(&p, retry, &b);
        assert_int_equal(x, y); /* same seed, same waits */
        assert_true(x >= 0 && x <= retry_envelope_ms(&p, retry));
        differs |= retry_backoff_ms(&p, retry, &c) != x;
        below_half |= x < retry_envelope_ms(&p, retry) / 2;
        above_half |= x > retry_envelope_ms(&p, retry) / 2;
    }
    assert_true(differs);
    assert_true(below_half && above_half); /* spread over the whole envelope */
}

static void test_retry_after_and_reset_parsing(void **state)
{
    int64_t now = 1709303400; /* Fri, 01 Mar 2024 14:30:00 GMT */
    assert_int_equal(retry_parse_retry_after("1", NULL, now), 1000);
    assert_int_equal(retry_parse_retry_after(" 120 ", NULL, now), 120000);
    assert_int_equal(retry_parse_retry_after("soon", NULL, now), -1);
    assert_int_equal(retry_parse_retry_after(NULL, NULL, now), -1);
    assert_int_equal(retry_parse_retry_after("-5", NULL, now), -1);
    /* An HTTP-date against our clock, and against the server's Date header. */
    assert_int_equal(retry_parse_retry_after("Fri, 01 Mar 2024 14:30:05 GMT", NULL, now), 5000);
    assert_int_equal(retry_parse_retry_after("Fri, 01 Mar 2024 14:30:05 GMT",
                                             "Fri, 01 Mar 2024 14:30:03 GMT", now + 100),
                     2000);
    assert_int_equal(retry_parse_retry_after("Fri, 01 Mar 2024 14:29:00 GMT", NULL, now), 0);
    assert_int_equal(retry_parse_reset("1709303403", now), 3000); /* epoch seconds */
    assert_int_equal(retry_parse_reset("7", now), 7000);          /* seconds from now */
    assert_int_equal(retry_parse_reset("x", now), -1);
    assert_true(retry_status_retryable(429));
    assert_true(retry_status_retryable(500));
    assert_true(retry_status_retryable(503));
    assert_false(retry_status_retryable(501));
    assert_false(retry_status_retryable(404));
    assert_false(retry_status_retryable(200));
}

static void test_redact_copy(void **state)
{
    const char *secrets[] = {"s3cr3tKEY", NULL, "", "tok123456"};
    char out[128];
    redact_copy(out, sizeof out, "key=s3cr3tKEY and s3cr3tKEY, auth tok123456.", secrets, 4);
    assert_string_equal(out, "key=" REDACTED " and " REDACTED ", auth " REDACTED ".");
    /* A line cut in the middle of a secret loses the cut piece too. */
    redact_copy(out, sizeof out, "header: s3cr3t", secrets, 4);
    assert_string_equal(out, "header: " REDACTED);
    /* A buffer too small for the marker cuts the marker, never shows the secret. */
    char small[12];
    redact_copy(small, sizeof small, "k=s3cr3tKEY", secrets, 4);
    assert_null(strstr(small, "s3c"));
    redact_copy(out, sizeof out, "nothing secret", secrets, 0);
    assert_string_equal(out, "nothing secret");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_get_retried_until_success, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_gives_up_after_max_attempts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_post_500_not_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_429_waits_for_retry_after, setup, teardown),
        cmocka_unit_test_setup_teardown(test_429_waits_for_ratelimit_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_429_on_post_reported_with_its_hint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_mid_response_get_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_mid_response_post_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_post_on_dropped_pooled_connection_not_resent, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_refused_post_not_sent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_response_over_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silent_server_times_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_requests_get_their_own_bodies, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_sequential_requests_reuse_a_connection, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_limiter_grants_every_attempt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secret_headers_never_logged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_with_requests_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_inside_a_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_rejects_bad_requests, setup, teardown),
        cmocka_unit_test(test_backoff_is_seeded_full_jitter),
        cmocka_unit_test(test_retry_after_and_reset_parsing),
        cmocka_unit_test(test_redact_copy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
