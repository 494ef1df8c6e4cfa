/* test_ws: the WebSocket client against a small WebSocket server that the test runs with
 * libwebsockets itself, on 127.0.0.1 (a port the kernel picks) and on the same libuv loop
 * (its own lws context, also on the evlib_uv plugin). The client's messages script the
 * server: most are echoed; "frag" answers with one message in three frames, "big:N" with
 * an N-byte message, "drop" with the first frame of a message and then a dead socket,
 * "silent" makes it stop reading (so pings go unanswered), "close" makes it close with
 * 4000 "bye". Every test ends with uv_loop_close() == 0, so a handle the client forgot
 * fails the test; ASan (build-asan) checks the memory, ws_free inside on_message included.
 * Timings are never asserted, only that things happen before generous bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libwebsockets.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <uv.h>

#include "net/ws.h"
#include "util/err.h"
#include "util/log.h"

/* ---- the test server ------------------------------------------------------------------ */

typedef struct echo_msg {
    struct echo_msg *next;
    size_t len;
    unsigned char buf[]; /* LWS_PRE, then the payload */
} echo_msg;

typedef struct {
    struct lws_context *ctx;
    int port;
    struct lws *wsi;
    int established, closed;
    echo_msg *head, *tail;
    int frag_step;   /* 1..3 while sending the fragmented message */
    size_t big;      /* size of a big message to send, 0 = none */
    bool drop;       /* send half a message, then kill the socket */
    int received;    /* messages the server got */
    bool saw_secret; /* the auth message arrived whole */
} test_server;

static test_server srv;

static void srv_queue(const void *data, size_t len)
{
    echo_msg *m = malloc(sizeof *m + LWS_PRE + len);
    assert_non_null(m);
    m->next = NULL;
    m->len = len;
    memcpy(m->buf + LWS_PRE, data, len);
    if (srv.tail)
        srv.tail->next = m;
    else
        srv.head = m;
    srv.tail = m;
}

static void srv_clear(void)
{
    while (srv.head) {
        echo_msg *m = srv.head;
        srv.head = m->next;
        free(m);
    }
    srv.tail = NULL;
}

static int srv_writeable(struct lws *wsi)
{
    if (srv.head) {
        echo_msg *m = srv.head;
        srv.head = m->next;
        if (!srv.head)
            srv.tail = NULL;
        int n = lws_write(wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT);
        size_t len = m->len;
        free(m);
        if (n < (int)len)
            return -1;
    } else if (srv.frag_step) {
        static const char *parts[] = {"first-", "second-", "third"};
        unsigned char buf[LWS_PRE + 16];
        int step = srv.frag_step - 1;
        int flags = lws_write_ws_flags(LWS_WRITE_TEXT, step == 0, step == 2);
        size_t len = strlen(parts[step]);
        memcpy(buf + LWS_PRE, parts[step], len);
        if (lws_write(wsi, buf + LWS_PRE, len, (enum lws_write_protocol)flags) < (int)len)
            return -1;
        srv.frag_step = step == 2 ? 0 : srv.frag_step + 1;
    } else if (srv.big) {
        unsigned char *buf = malloc(LWS_PRE + srv.big);
        assert_non_null(buf);
        memset(buf + LWS_PRE, 'x', srv.big);
        int n = lws_write(wsi, buf + LWS_PRE, srv.big, LWS_WRITE_TEXT);
        free(buf);
        srv.big = 0;
        if (n < 0)
            return -1;
    } else if (srv.drop) {
        unsigned char buf[LWS_PRE + 16];
        memcpy(buf + LWS_PRE, "half", 4);
        srv.drop = false;
        lws_write(wsi, buf + LWS_PRE, 4, LWS_WRITE_TEXT | LWS_WRITE_NO_FIN);
        /* no close frame: the peer just sees the connection end mid-message */
        shutdown(lws_get_socket_fd(wsi), SHUT_RDWR);
        return 0;
    }
    if (srv.head || srv.frag_step || srv.big || srv.drop)
        lws_callback_on_writable(wsi);
    return 0;
}

static int srv_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                  size_t len)
{
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        srv.wsi = wsi;
        srv.established++;
        return 0;
    case LWS_CALLBACK_CLOSED:
        srv.closed++;
        if (srv.wsi == wsi)
            srv.wsi = NULL;
        srv_clear();
        return 0;
    case LWS_CALLBACK_RECEIVE: {
        char cmd[64];
        srv.received++;
        size_t n = len < sizeof cmd - 1 ? len : sizeof cmd - 1;
        memcpy(cmd, in, n);
        cmd[n] = 0;
        if (!strcmp(cmd, "frag")) {
            srv.frag_step = 1;
        } else if (!strncmp(cmd, "big:", 4)) {
            srv.big = (size_t)strtoul(cmd + 4, NULL, 10);
        } else if (!strcmp(cmd, "drop")) {
            srv.drop = true;
        } else if (!strcmp(cmd, "silent")) {
            lws_rx_flow_control(wsi, 0);
            return 0;
        } else if (!strcmp(cmd, "close")) {
            lws_close_reason(wsi, 4000, (unsigned char *)"bye", 3);
            return -1;
        } else {
            if (len > 7 && !memcmp(in, "{\"auth\"", 7))
                srv.saw_secret = true;
            srv_queue(in, len);
        }
        lws_callback_on_writable(wsi);
        return 0;
    }
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return srv_writeable(wsi);
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols srv_protocols[] = {
    {"test", srv_cb, 0, 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void srv_start(uv_loop_t *loop)
{
    memset(&srv, 0, sizeof srv);
    struct lws_context_creation_info info;
    void *loops[1] = {loop};
    memset(&info, 0, sizeof info);
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
    info.foreign_loops = loops;
    info.pcontext = &srv.ctx;
    info.fd_limit_per_thread = 32;
    srv.ctx = lws_create_context(&info);
    assert_non_null(srv.ctx);
    info.port = 0;
    info.iface = "127.0.0.1";
    info.protocols = srv_protocols;
    info.vhost_name = "test";
    struct lws_vhost *vh = lws_create_vhost(srv.ctx, &info);
    assert_non_null(vh);
    srv.port = lws_get_vhost_listen_port(vh);
    assert_true(srv.port > 0);
}

/* ---- running the loop ---------------------------------------------------------------- */

static void tick_cb(uv_timer_t *t)
{
    (void)t;
}

/* Runs the loop until cond() holds or bound_ms passes; returns cond(). A 5 ms timer keeps
 * uv_run returning so the condition is checked. */
static bool run_until(uv_loop_t *loop, bool (*cond)(void *), void *arg, uint64_t bound_ms)
{
    uv_timer_t t;
    uv_timer_init(loop, &t);
    uv_timer_start(&t, tick_cb, 5, 5);
    uint64_t start = uv_now(loop);
    bool ok;
    while (!(ok = cond(arg)) && uv_now(loop) - start < bound_ms)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    if (getenv("WS_TEST_TRACE"))
        print_message("run_until: %s after %llu ms\n", ok ? "met" : "NOT met",
                      (unsigned long long)(uv_now(loop) - start));
    return ok;
}

static void find_closing(uv_handle_t *h, void *arg)
{
    if (uv_is_closing(h))
        *(bool *)arg = true;
}

static bool nothing_closing(void *arg)
{
    bool closing = false;
    uv_walk(arg, find_closing, &closing);
    return !closing;
}

static void print_handle(uv_handle_t *h, void *arg)
{
    (void)arg;
    print_message("left: %s active=%d closing=%d\n", uv_handle_type_name(h->type), uv_is_active(h),
                  uv_is_closing(h));
}

/* Stops the server (lws's two-step teardown on a foreign loop, see core/net/ws.c), runs
 * the loop until every handle is gone and closes it: a leftover handle fails here. */
static void finish_loop(uv_loop_t *loop)
{
    if (srv.ctx) {
        lws_context_destroy(srv.ctx);
        assert_true(run_until(loop, nothing_closing, loop, 5000));
        if (srv.ctx)
            lws_context_destroy(srv.ctx);
        assert_null(srv.ctx);
    }
    srv_clear();
    /* uv_run returns 0 once no handle or request is left; the client's teardown takes a
     * few turns of its 1 ms timer */
    uint64_t start = uv_now(loop);
    while (uv_run(loop, UV_RUN_ONCE) && uv_now(loop) - start < 10000)
        ;
    uv_walk(loop, print_handle, NULL);
    assert_int_equal(uv_loop_close(loop), 0);
}

/* ---- the probe: what the client reported ------------------------------------------------ */

typedef struct {
    ws_client *ws;
    int opened, closed, errors, messages;
    int close_code, err_code;
    bool clean;
    char reason[128];
    char last[64];
    size_t last_len;
    bool in_order;
    bool free_in_message;
    bool close_after_open;
    int cb_after_free;
    bool freed;
} probe;

static void p_open(ws_client *ws, void *user)
{
    probe *p = user;
    if (p->freed)
        p->cb_after_free++;
    assert_ptr_equal(ws, p->ws);
    p->opened++;
}

static void p_message(ws_client *ws, const char *data, size_t len, bool binary, void *user)
{
    probe *p = user;
    (void)binary;
    if (p->freed)
        p->cb_after_free++;
    assert_int_equal(data[len], 0);
    char want[32];
    snprintf(want, sizeof want, "msg %d", p->messages);
    if (len != strlen(want) || memcmp(data, want, len))
        p->in_order = false;
    p->messages++;
    p->last_len = len;
    snprintf(p->last, sizeof p->last, "%.*s", (int)(len < 63 ? len : 63), data);
    if (p->free_in_message) {
        ws_free(ws);
        p->freed = true;
        /* still safe to look at nothing of ws here; calls on it would be a bug */
    }
}

static void p_error(ws_client *ws, int err, const char *msg, void *user)
{
    probe *p = user;
    (void)ws;
    if (p->freed)
        p->cb_after_free++;
    assert_non_null(msg);
    assert_true(p->closed == 0); /* on_error always comes before on_close */
    p->errors++;
    p->err_code = err;
}

static void p_close(ws_client *ws, int code, const char *reason, bool clean, void *user)
{
    probe *p = user;
    (void)ws;
    if (p->freed)
        p->cb_after_free++;
    p->closed++;
    p->close_code = code;
    p->clean = clean;
    snprintf(p->reason, sizeof p->reason, "%s", reason);
}

static ws_client *open_probe(uv_loop_t *loop, probe *p, int port, ws_options *extra)
{
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/stream", port);
    ws_options o;
    if (extra)
        o = *extra;
    else
        memset(&o, 0, sizeof o);
    o.url = url;
    o.cb.on_open = p_open;
    o.cb.on_message = p_message;
    o.cb.on_error = p_error;
    o.cb.on_close = p_close;
    o.user = p;
    p->in_order = true;
    char err[256];
    p->ws = ws_open(loop, &o, err, sizeof err);
    if (!p->ws)
        fail_msg("ws_open: %s", err);
    return p->ws;
}

static bool p_opened(void *arg)
{
    return ((probe *)arg)->opened > 0 || ((probe *)arg)->closed > 0;
}
static bool p_closed(void *arg)
{
    return ((probe *)arg)->closed > 0;
}
static bool p_100(void *arg)
{
    return ((probe *)arg)->messages >= 100 || ((probe *)arg)->closed;
}
static bool p_one(void *arg)
{
    return ((probe *)arg)->messages >= 1 || ((probe *)arg)->closed;
}
static bool srv_one_closed(void *arg)
{
    (void)arg;
    return srv.closed > 0;
}

/* ---- tests ---------------------------------------------------------------------------- */

static void test_open_echo_in_order(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    srv_start(&loop);
    probe p = {0};
    open_probe(&loop, &p, srv.port, NULL);
    assert_int_equal(ws_get_state(p.ws), WS_CONNECTING);
    /* queued before the handshake: the auth message goes first, then 100 in order */
    const char auth[] = "{\"auth\":1,\"key\":\"k\",\"secret\":\"s\"}";
    assert_int_equal(ws_send_text_secret(p.ws, auth, strlen(auth)), 0);
    assert_true(run_until(&loop, p_opened, &p, 10000));
    assert_int_equal(p.opened, 1);
    assert_int_equal(ws_get_state(p.ws), WS_OPEN);
    assert_true(run_until(&loop, p_one, &p, 10000));
    assert_int_equal(p.messages, 1); /* the auth echo */
    assert_true(srv.saw_secret);
    p.messages = 0;
    p.in_order = true;
    for (int i = 0; i < 100; i++) {
        char m[32];
        int n = snprintf(m, sizeof m, "msg %d", i);
        assert_int_equal(ws_send_text(p.ws, m, (size_t)n), 0);
    }
    assert_true(run_until(&loop, p_100, &p, 10000));
    assert_int_equal(p.messages, 100);
    assert_true(p.in_order);
    assert_int_equal(p.closed, 0);

    /* graceful close: on_close(1000, clean) and no further sends */
    assert_int_equal(ws_close(p.ws), 0);
    assert_int_equal(ws_close(p.ws), APEX_ESTATE);
    assert_int_equal(ws_send_text(p.ws, "x", 1), APEX_ESTATE);
    assert_true(run_until(&loop, p_closed, &p, 10000));
    assert_int_equal(p.closed, 1);
    assert_int_equal(p.close_code, WS_CLOSE_NORMAL);
    assert_true(p.clean);
    assert_int_equal(p.errors, 0);
    assert_int_equal(ws_get_state(p.ws), WS_CLOSED);
    ws_free(p.ws);
    finish_loop(&loop);
}

static void test_fragmented_message_arrives_whole(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    srv_start(&loop);
    probe p = {0};
    open_probe(&loop, &p, srv.port, NULL);
    assert_int_equal(ws_send_text(p.ws, "frag", 4), 0);
    assert_true(run_until(&loop, p_one, &p, 10000));
    assert_int_equal(p.messages, 1);
    assert_string_equal(p.last, "first-second-third");
    ws_free(p.ws);
    finish_loop(&loop);
}

static void test_message_over_cap_is_an_error(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    srv_start(&loop);
    probe p = {0};
    ws_options o = {0};
    o.max_message_bytes = 64 * 1024;
    open_probe(&loop, &p, srv.port, &o);
    /* under the cap first: fine */
    assert_int_equal(ws_send_text(p.ws, "big:60000", 9), 0);
    assert_true(run_until(&loop, p_one, &p, 10000));
    assert_int_equal(p.messages, 1);
    assert_int_equal(p.last_len, 60000);
    assert_int_equal(ws_send_text(p.ws, "big:200000", 10), 0);
    assert_true(run_until(&loop, p_closed, &p, 10000));
    assert_int_equal(p.messages, 1);
    assert_int_equal(p.errors, 1);
    assert_int_equal(p.err_code, APEX_ERANGE);
    assert_int_equal(p.closed, 1);
    assert_int_equal(p.close_code, WS_CLOSE_TOO_LARGE);
    assert_false(p.clean);
    ws_free(p.ws);
    finish_loop(&loop);
}

static void test_default_cap_is_one_mib(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    srv_start(&loop);
    probe p = {0};
    open_probe(&loop, &p, srv.port, NULL);
    assert_int_equal(ws_send_text(p.ws, "big:1100000", 11), 0);
    assert_true(run_until(&loop, p_closed, &p, 10000));
    assert_int_equal(p.messages, 0);
    assert_int_equal(p.err_code, APEX_ERANGE);
    assert_int_equal(p.close_code, WS_CLOSE_TOO_LARGE);
    ws_free(p.ws);
    finish_loop(&loop);
}

static void test_dropped_connection_is_not_clean(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    srv_start(&loop);
    probe p = {0};
    open_probe(&loop, &p, srv.port, NULL);
    assert_true(run_until(&loop, p_opened, &p, 10000));
    assert_int_equal(ws_send_text(p.ws, "drop", 4), 0);
    assert_true(run_until(&loop, p_closed, &p, 10000));
    assert_int_equal(p.messages, 0); /* the half message is never delivered */
    assert_int_equal(p.closed, 1);
    assert_false(p.clean);
    assert_int_equal(p.close_code, WS_CLOSE_ABNORMAL);
    ws_free(p.ws);
    finish_loop(&loop);
}

static void test_server_close_is_clean_with_its_code(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    srv_start(&loop);
    probe p = {0};
    open_probe(&loop, &p, srv.port, NULL);
    assert_int_equal(ws_send_text(p.ws, "close", 5), 0);
    assert_true(run_until(&loop, p_closed, &p, 10000));
    assert_int_equal(p.close_code, 4000);
    assert_string_equal(p.reason, "bye");
    assert_true(p.clean);
    assert_int_equal(p.errors, 0);
    ws_free(p.ws);
    finish_loop(&loop);
}

static void test_silent_server_times_out(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    srv_start(&loop);
    probe p = {0};
    ws_options o = {0};
    o.ping_interval_ms = 200;
    o.pong_timeout_ms = 400;
    open_probe(&loop, &p, srv.port, &o);
    assert_true(run_until(&loop, p_opened, &p, 10000));
    /* answered pings keep it open past several intervals */
    assert_false(run_until(&loop, p_closed, &p, 1500));
    assert_int_equal(ws_send_text(p.ws, "silent", 6), 0);
    /* 200 + 400 ms plus ticks in theory; the bound is generous on purpose */
    assert_true(run_until(&loop, p_closed, &p, 15000));
    assert_int_equal(p.closed, 1);
    assert_false(p.clean);
    assert_int_equal(p.close_code, WS_CLOSE_ABNORMAL);
    assert_non_null(strstr(p.reason, "pong"));
    ws_free(p.ws);
    finish_loop(&loop);
}

static void test_free_inside_on_message(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    srv_start(&loop);
    probe p = {0};
    p.free_in_message = true;
    open_probe(&loop, &p, srv.port, NULL);
    for (int i = 0; i < 5; i++) {
        char m[32];
        int n = snprintf(m, sizeof m, "msg %d", i);
        assert_int_equal(ws_send_text(p.ws, m, (size_t)n), 0);
    }
    assert_true(run_until(&loop, p_one, &p, 10000));
    assert_true(p.freed);
    /* the connection goes away and nothing more reaches the probe */
    assert_true(run_until(&loop, srv_one_closed, NULL, 10000));
    run_until(&loop, p_closed, &p, 300);
    assert_int_equal(p.messages, 1);
    assert_int_equal(p.closed, 0);
    assert_int_equal(p.cb_after_free, 0);
    finish_loop(&loop);
}

static void test_free_in_every_state(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    srv_start(&loop);
    /* right after ws_open (resolving) */
    probe a = {0};
    open_probe(&loop, &a, srv.port, NULL);
    ws_free(a.ws);
    a.freed = true;
    /* open, with unsent messages queued */
    probe b = {0};
    open_probe(&loop, &b, srv.port, NULL);
    assert_true(run_until(&loop, p_opened, &b, 10000));
    assert_int_equal(ws_send_text(b.ws, "msg 0", 5), 0);
    ws_free(b.ws);
    b.freed = true;
    /* closing */
    probe c = {0};
    open_probe(&loop, &c, srv.port, NULL);
    assert_true(run_until(&loop, p_opened, &c, 10000));
    assert_int_equal(ws_close(c.ws), 0);
    ws_free(c.ws);
    c.freed = true;
    ws_free(NULL);
    run_until(&loop, p_closed, &a, 500);
    assert_int_equal(a.cb_after_free + b.cb_after_free + c.cb_after_free, 0);
    assert_int_equal(a.closed + b.closed + c.closed, 0);
    finish_loop(&loop);
}

static void test_close_while_connecting(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    srv_start(&loop);
    probe p = {0};
    open_probe(&loop, &p, srv.port, NULL);
    assert_int_equal(ws_close(p.ws), 0);
    assert_int_equal(p.closed, 0); /* never from inside ws_close */
    assert_true(run_until(&loop, p_closed, &p, 10000));
    assert_int_equal(p.opened, 0);
    assert_int_equal(p.closed, 1);
    assert_int_equal(p.close_code, WS_CLOSE_NORMAL);
    assert_int_equal(p.errors, 0);
    ws_free(p.ws);
    finish_loop(&loop);
}

static void test_closed_port_reports_error_then_close(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    srv_start(&loop);
    int port = srv.port;
    /* stop the server, so its port is (very likely) closed */
    lws_context_destroy(srv.ctx);
    assert_true(run_until(&loop, nothing_closing, &loop, 5000));
    if (srv.ctx)
        lws_context_destroy(srv.ctx);
    assert_null(srv.ctx);
    probe p = {0};
    open_probe(&loop, &p, port, NULL);
    assert_true(run_until(&loop, p_closed, &p, 15000));
    assert_int_equal(p.opened, 0);
    assert_int_equal(p.errors, 1);
    assert_int_equal(p.err_code, APEX_EIO);
    assert_int_equal(p.closed, 1);
    assert_false(p.clean);
    assert_int_equal(p.close_code, WS_CLOSE_ABNORMAL);
    ws_free(p.ws);
    finish_loop(&loop);
}

static void test_bad_options(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    char err[256];
    ws_options o = {0};
    o.url = "http://example.com/";
    assert_null(ws_open(&loop, &o, err, sizeof err));
    assert_non_null(strstr(err, "ws://"));
    o.url = "ws://:80/";
    assert_null(ws_open(&loop, &o, err, sizeof err));
    o.url = "ws://host:99999/";
    assert_null(ws_open(&loop, &o, err, sizeof err));
    ws_header h = {"X-Bad", "a\r\nInjected: 1", true};
    o.url = "ws://127.0.0.1:1/";
    o.headers = &h;
    o.header_count = 1;
    assert_null(ws_open(&loop, &o, err, sizeof err));
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    log_set_level(LOG_WARN);
    if (getenv("WS_TEST_FILTER"))
        cmocka_set_test_filter(getenv("WS_TEST_FILTER"));
    lws_set_log_level(LLL_ERR | LLL_WARN, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_echo_in_order),
        cmocka_unit_test(test_fragmented_message_arrives_whole),
        cmocka_unit_test(test_message_over_cap_is_an_error),
        cmocka_unit_test(test_default_cap_is_one_mib),
        cmocka_unit_test(test_dropped_connection_is_not_clean),
        cmocka_unit_test(test_server_close_is_clean_with_its_code),
        cmocka_unit_test(test_silent_server_times_out),
        cmocka_unit_test(test_free_inside_on_message),
        cmocka_unit_test(test_free_in_every_state),
        cmocka_unit_test(test_close_while_connecting),
        cmocka_unit_test(test_closed_port_reports_error_then_close),
        cmocka_unit_test(test_bad_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
