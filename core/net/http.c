/* http: the client: libcurl's multi interface driven by the libuv loop, the wait heap for
 * retries, and the one place user callbacks run from.
 *
 * Re-entrancy: a user callback may call http_send or http_client_free. Callbacks run only
 * from three places, all libuv callbacks of this client (a socket became ready, curl's
 * timer, the retry timer), never from inside a libcurl call or a limiter grant. Each of
 * them raises `depth` around its work; http_client_free inside a callback only marks the
 * client closing, and the outermost of them tears it down once the callback returns. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics.h"
#include "net/http_internal.h"
#include "util/container.h"

struct poll_ctx {
    uv_poll_t poll;
    curl_socket_t fd;
    int events;   /* what libcurl last asked to watch */
    bool closing; /* libcurl removed the socket; the handle is closing */
    http_client *client;
    TAILQ_ENTRY(poll_ctx) link;
};

static void teardown(http_client *c);
static void begin_attempt(http_request *r);

void http_client_options_default(http_client_options *o)
{
    memset(o, 0, sizeof *o);
    o->connect_timeout_ms = 5000;
    o->timeout_ms = 30000;
    o->max_response_bytes = 4u << 20;
    o->max_request_bytes = 1u << 20;
    o->max_host_connections = 8;
    o->retry = retry_policy_default();
}

int http_client_in_flight(const http_client *c)
{
    return c ? c->in_flight : 0;
}

/* ---- uv handle lifetimes ------------------------------------------------------------ */

/* The client's memory holds its two timers, so it is freed by whichever close callback
 * comes last. */
static void handle_closed(http_client *c)
{
    if (--c->open_handles == 0) {
        free(c->user_agent);
        free(c);
    }
}

static void on_timer_closed(uv_handle_t *h)
{
    handle_closed(h->data);
}

static void on_poll_closed(uv_handle_t *h)
{
    poll_ctx *p = h->data;
    http_client *c = p->client;
    free(p);
    handle_closed(c);
}

static void poll_close(http_client *c, poll_ctx *p)
{
    TAILQ_REMOVE(&c->polls, p, link);
    p->closing = true;
    uv_poll_stop(&p->poll);
    uv_close((uv_handle_t *)&p->poll, on_poll_closed);
}

/* ---- completions ------------------------------------------------------------------------ */

static void enter(http_client *c)
{
    c->depth++;
}

/* Returns true when the client is gone and the caller must not touch it. */
static bool leave(http_client *c)
{
    if (--c->depth == 0 && c->closing) {
        teardown(c);
        return true;
    }
    return false;
}

/* Runs the callback and frees the request. Called with depth raised. */
static void finish(http_request *r, const http_result *res)
{
    http_client *c = r->client;
    TAILQ_REMOVE(&c->requests, r, link);
    c->in_flight--;
    if (res->outcome != HTTP_OUTCOME_RESPONSE) {
        log_warn("%s", res->error.msg); /* redacted when it was made */
    } else if (log_get_level() <= LOG_DEBUG) {
        char preview[2 * HTTP_PREVIEW_BYTES] = "";
        if (!r->body_secret)
            http_request_preview(r, res->body, res->body_len, preview, sizeof preview);
        http_request_log(r, LOG_DEBUG, "http: %s %s -> %ld, %zu bytes%s%s",
                         http_method_name(r->method), r->shown_url, res->status, res->body_len,
                         r->body_secret ? "" : ": ", preview);
    }
    r->cb(res, r->ud);
    http_request_free(r);
}

static bool wait_less(const heap_node *a, const heap_node *b)
{
    const http_request *x = container_of(a, http_request, node);
    const http_request *y = container_of(b, http_request, node);
    return x->due_ms != y->due_ms ? x->due_ms < y->due_ms : x->seq < y->seq;
}

static void on_retry_timer(uv_timer_t *t);

static void rearm_retry(http_client *c)
{
    heap_node *top = heap_top(&c->waiting);
    if (!top) {
        uv_timer_stop(&c->retry_timer);
        return;
    }
    http_request *r = container_of(top, http_request, node);
    uint64_t now = uv_now(c->loop);
    uv_timer_start(&c->retry_timer, on_retry_timer, r->due_ms > now ? r->due_ms - now : 0, 0);
}

/* Puts r in the wait heap for wait_ms. Cannot fail: http_send reserved the heap slot. */
static void wait_then(http_request *r, int64_t wait_ms)
{
    http_client *c = r->client;
    /* Measured from the real time now, not the loop's cached time, so a wait is never
     * shorter than asked for (a Retry-After is a promise to the server). */
    uint64_t now = uv_hrtime() / 1000000;
    uint64_t loop_now = uv_now(c->loop);
    r->due_ms = (now > loop_now ? now : loop_now) + (uint64_t)wait_ms;
    r->seq = c->wait_seq++;
    r->state = REQ_WAITING;
    heap_push(&c->waiting, &r->node);
    rearm_retry(c);
}

/* A failure found outside a libcurl completion (the limiter or libcurl refused the
 * attempt) is reported from the retry timer, so the callback still runs from the loop. */
static void fail_soon(http_request *r, int code, const char *what)
{
    r->fail_now = true;
    http_request_error(r, &r->fail_err, code, "http: %s %s: %s", http_method_name(r->method),
                       r->shown_url, what);
    wait_then(r, 0);
}

static void on_retry_timer(uv_timer_t *t)
{
    http_client *c = t->data;
    uint64_t now = uv_now(c->loop);
    enter(c);
    for (heap_node *top; !c->closing && (top = heap_top(&c->waiting));) {
        http_request *r = container_of(top, http_request, node);
        if (r->due_ms > now)
            break;
        heap_remove(&c->waiting, top);
        if (!r->fail_now) {
            begin_attempt(r);
            continue;
        }
        /* Only an attempt that never started fails here: nothing was sent this time, and
         * an idempotent request's earlier attempts had their answers judged already. */
        http_result res = {.outcome = HTTP_OUTCOME_NOT_SENT,
                           .failure = HTTP_FAIL_OTHER,
                           .body = "",
                           .attempts = r->attempts,
                           .error = r->fail_err,
                           .retry_after_ms = -1,
                           .ratelimit_reset_ms = -1,
                           .ratelimit_remaining = -1,
                           .request = r};
        finish(r, &res);
    }
    if (!leave(c))
        rearm_retry(c);
}

/* Counts one finished attempt by its status code, "error" when no response came. A code
 * past the cache's room is looked up each time: correct, only slower. */
static void count_response(http_client *c, const http_result *res)
{
    long code = res->failure == HTTP_FAIL_NONE ? res->status : 0;
    for (int i = 0; i < c->m_ncodes; i++) {
        if (c->m_codes[i].code == code) {
            metrics_inc(c->m_codes[i].series);
            return;
        }
    }
    char label[24] = "error";
    if (code)
        snprintf(label, sizeof label, "%ld", code);
    metrics_series *s = metrics_get(METRIC_HTTP_RESPONSES, c->metrics_name, label);
    if (c->m_ncodes < HTTP_METRIC_CODES) {
        c->m_codes[c->m_ncodes].code = code;
        c->m_codes[c->m_ncodes++].series = s;
    }
    metrics_inc(s);
}

/* Drains libcurl's finished transfers: each is reported or sent to wait for a retry. */
static void process_done(http_client *c)
{
    enter(c);
    CURLMsg *m;
    int left;
    while (!c->closing && (m = curl_multi_info_read(c->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURL *easy = m->easy_handle;
        CURLcode rc = m->data.result;
        char *priv = NULL;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
        http_request *r = (http_request *)priv;
        curl_multi_remove_handle(c->multi, easy);
        http_verdict v;
        http_request_judge(r, rc, &c->rng, &v);
        count_response(c, &v.result);
        if (v.retry) {
            char why[48];
            if (v.result.failure == HTTP_FAIL_NONE)
                snprintf(why, sizeof why, "status %ld", v.result.status);
            else
                snprintf(why, sizeof why, "%s", http_failure_name(v.result.failure));
            http_request_log(r, LOG_INFO, "http: %s %s: %s, attempt %d of %d; retrying in %lld ms",
                             http_method_name(r->method), r->shown_url, why, r->attempts,
                             r->retry.max_attempts, (long long)v.wait_ms);
            wait_then(r, v.wait_ms);
            continue;
        }
        finish(r, &v.result);
    }
    leave(c);
}

/* ---- libcurl <-> libuv ------------------------------------------------------------------ */

static void on_poll(uv_poll_t *h, int status, int events)
{
    poll_ctx *p = h->data;
    http_client *c = p->client;
    int flags = 0;
    /* libuv reports a socket error (a reset) as status < 0 and stops the poll. ERR alone
     * makes libcurl give up with "select/poll returned error"; with IN and OUT it reads
     * the socket and reports what actually happened ("Connection reset by peer"). */
    if (status < 0)
        flags = CURL_CSELECT_ERR | CURL_CSELECT_IN | CURL_CSELECT_OUT;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    int running;
    curl_multi_socket_action(c->multi, p->fd, flags, &running);
    /* libuv stopped the poll with the error. A socket libcurl still wants (it did not
     * fail the transfer) is watched again; otherwise libcurl, which only reports
     * changes, would wait on a poll that no longer runs until its timeout. p lives until
     * its close callback, which cannot have run yet. */
    if (status < 0 && !p->closing && !c->closing)
        uv_poll_start(&p->poll, p->events, on_poll);
    process_done(c);
}

static void on_curl_timeout(uv_timer_t *t)
{
    http_client *c = t->data;
    int running;
    curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    process_done(c);
}

/* CURLMOPT_SOCKETFUNCTION: libcurl says which events it wants on a socket. */
static int on_curl_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    http_client *c = userp;
    poll_ctx *p = socketp;
    if (what == CURL_POLL_REMOVE) {
        /* libcurl says so before it closes the socket, so the poll never sees a closed
         * (or reused) descriptor. */
        if (p)
            poll_close(c, p);
        return 0;
    }
    if (c->closing)
        return 0;
    if (!p) {
        p = calloc(1, sizeof *p);
        if (!p)
            return -1;
        if (uv_poll_init_socket(c->loop, &p->poll, s) != 0) {
            free(p);
            return -1; /* libcurl fails the transfers on this socket */
        }
        p->poll.data = p;
        p->fd = s;
        p->client = c;
        c->open_handles++;
        TAILQ_INSERT_TAIL(&c->polls, p, link);
        curl_multi_assign(c->multi, s, p);
    }
    int events = 0;
    if (what & CURL_POLL_IN)
        events |= UV_READABLE;
    if (what & CURL_POLL_OUT)
        events |= UV_WRITABLE;
    p->events = events;
    uv_poll_start(&p->poll, events, on_poll);
    return 0;
}

/* CURLMOPT_TIMERFUNCTION: libcurl's one timeout. libcurl forbids calling
 * curl_multi_socket_action from here, so a 0 ms timeout runs on the next loop turn. */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    http_client *c = userp;
    if (c->closing)
        return 0;
    if (timeout_ms < 0)
        uv_timer_stop(&c->curl_timer);
    else
        uv_timer_start(&c->curl_timer, on_curl_timeout, (uint64_t)timeout_ms, 0);
    return 0;
}

/* ---- attempts ---------------------------------------------------------------------------- */

static void send_attempt(http_request *r)
{
    http_client *c = r->client;
    http_request_reset_attempt(r);
    r->attempts++;
    http_request_log(r, LOG_DEBUG, "http: %s %s, attempt %d of %d%s", http_method_name(r->method),
                     r->shown_url, r->attempts, r->idempotent ? r->retry.max_attempts : 1,
                     r->idempotent ? "" : " (not idempotent: never resent)");
    if (log_get_level() <= LOG_DEBUG) {
        for (struct curl_slist *h = r->headers; h; h = h->next)
            http_request_log(r, LOG_DEBUG, "http:   %s", h->data);
        if (r->body_len > 0 && !r->body_secret) {
            char preview[2 * HTTP_PREVIEW_BYTES];
            http_request_preview(r, r->body, r->body_len, preview, sizeof preview);
            http_request_log(r, LOG_DEBUG, "http:   body: %s", preview);
        }
    }
    r->state = REQ_CURL;
    CURLMcode mc = curl_multi_add_handle(c->multi, r->easy);
    if (mc != CURLM_OK) {
        r->attempts--;
        fail_soon(r, APEX_EIO, curl_multi_strerror(mc));
    }
}

static void on_granted(void *ud)
{
    send_attempt(ud);
}

static void begin_attempt(http_request *r)
{
    if (!r->limiter || (r->attempts == 0 && r->first_granted)) {
        send_attempt(r);
        return;
    }
    r->state = REQ_LIMITER;
    if (ratelimit_submit(r->limiter, r->priority, on_granted, r) != 0)
        fail_soon(r, APEX_ENOMEM, "the rate limiter could not queue the request");
}

int http_send(http_client *c, const http_request_spec *spec, http_done_cb cb, void *ud,
              apex_error *err)
{
    if (!c || !spec || !cb)
        return apex_error_set(err, APEX_EINVAL, "http_send: NULL client, spec or callback");
    if (c->closing)
        return apex_error_set(err, APEX_ESTATE, "http_send: the client is being freed");
    /* A slot in the wait heap for every request, so a retry never fails for memory. */
    if (heap_reserve(&c->waiting, c->in_flight + 1) != 0)
        return apex_error_set(err, APEX_ENOMEM, "http: out of memory");
    http_request *r;
    int rc = http_request_build(c, spec, &r, err);
    if (rc != 0)
        return rc;
    r->cb = cb;
    r->ud = ud;
    TAILQ_INSERT_TAIL(&c->requests, r, link);
    c->in_flight++;
    begin_attempt(r);
    return 0;
}

/* ---- client --------------------------------------------------------------------------------- */

static bool options_ok(const http_client_options *o)
{
    return o->connect_timeout_ms > 0 && o->timeout_ms > 0 && o->max_response_bytes > 0 &&
           o->max_response_bytes < ((size_t)1 << 40) && o->max_host_connections >= 0 &&
           retry_policy_check(&o->retry) == 0;
}

http_client *http_client_new(struct uv_loop_s *loop, const http_client_options *opts,
                             apex_error *err)
{
    static bool curl_ready;
    http_client_options defaults;
    http_client_options_default(&defaults);
    if (!opts)
        opts = &defaults;
    if (!loop || !options_ok(opts)) {
        apex_error_set(err, APEX_EINVAL,
                       "http_client_new: no loop, or an option out of range (timeouts > 0, "
                       "max_response_bytes > 0, retry: max_attempts >= 1, base_ms <= cap_ms)");
        return NULL;
    }
    if (!curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            apex_error_set(err, APEX_EIO, "http_client_new: libcurl failed to initialise");
            return NULL;
        }
        curl_ready = true;
    }
    http_client *c = calloc(1, sizeof *c);
    if (!c) {
        apex_error_set(err, APEX_ENOMEM, "http_client_new: out of memory");
        return NULL;
    }
    c->loop = loop;
    c->opts = *opts;
    TAILQ_INIT(&c->requests);
    TAILQ_INIT(&c->polls);
    heap_init(&c->waiting, wait_less);
    retry_rng_seed(&c->rng,
                   opts->jitter_seed ? opts->jitter_seed : uv_hrtime() ^ (uint64_t)(uintptr_t)c);
    c->user_agent = strdup(opts->user_agent ? opts->user_agent : "apex-host/" APEX_VERSION);
    snprintf(c->metrics_name, sizeof c->metrics_name, "%s",
             opts->metrics_name ? opts->metrics_name : "http");
    c->multi = curl_multi_init();
    if (!c->user_agent || !c->multi) {
        if (c->multi)
            curl_multi_cleanup(c->multi);
        free(c->user_agent);
        free(c);
        apex_error_set(err, APEX_ENOMEM, "http_client_new: out of memory");
        return NULL;
    }
    /* uv_timer_init cannot fail on a valid loop. */
    uv_timer_init(loop, &c->curl_timer);
    uv_timer_init(loop, &c->retry_timer);
    c->curl_timer.data = c;
    c->retry_timer.data = c;
    c->open_handles = 2;
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)opts->max_host_connections);
    return c;
}

static void teardown(http_client *c)
{
    for (http_request *r; (r = TAILQ_FIRST(&c->requests));) {
        TAILQ_REMOVE(&c->requests, r, link);
        switch (r->state) {
        case REQ_LIMITER:
            ratelimit_cancel(r->limiter, on_granted, r);
            break;
        case REQ_WAITING:
            heap_remove(&c->waiting, &r->node);
            break;
        case REQ_CURL:
            /* Closes the transfer's connection; libcurl reports its socket removed. */
            curl_multi_remove_handle(c->multi, r->easy);
            break;
        }
        http_request_free(r);
    }
    c->in_flight = 0;
    /* Closes the pooled connections. */
    curl_multi_cleanup(c->multi);
    c->multi = NULL;
    for (poll_ctx *p; (p = TAILQ_FIRST(&c->polls));)
        poll_close(c, p);
    heap_free(&c->waiting);
    uv_close((uv_handle_t *)&c->curl_timer, on_timer_closed);
    uv_close((uv_handle_t *)&c->retry_timer, on_timer_closed);
}

void http_client_free(http_client *c)
{
    if (!c || c->closing)
        return;
    c->closing = true;
    if (c->depth == 0)
        teardown(c);
}
