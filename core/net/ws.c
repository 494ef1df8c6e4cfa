/* ws: the client on libwebsockets 4.1 with its libuv event-lib plugin.
 *
 * One lws_context per client. lws 4.1 loads its libuv support as a plugin
 * (libwebsockets-evlib_uv.so, searched in the LWS_INSTALL_LIBDIR lws was built with) when
 * the context is created with LWS_SERVER_OPTION_LIBUV, and adopts the host's loop through
 * .foreign_loops; from then on every socket is a uv_poll_t and every lws timer a uv_timer_t
 * on that loop. A context per client keeps ownership simple (freeing the client is
 * destroying its context) at the cost of a few KiB and, for wss, one SSL_CTX each; the host
 * opens two or three streams, not hundreds.
 *
 * Tearing a context down on a foreign libuv loop takes two calls in lws 4.1: the first
 * lws_context_destroy closes every wsi and then lws's static uv handles, asynchronously;
 * when the last of them has closed, lws (unlike with its own loop) does not finish by
 * itself, and a second lws_context_destroy, made once those closes have completed, frees
 * the context and writes NULL through .pcontext. Neither call may be made while lws is
 * servicing (from inside its callbacks), so ws_free only marks the client and the client's
 * own uv_timer does the teardown: destroy, wait until no handle on the loop is closing,
 * destroy again, then close the timer and free the client in its close callback.
 *
 * lws 4.1 closes its event pipe twice on a libuv loop; net/lws_pipe.h has the story and
 * the fix (the pipe's fd noted at creation and held across lws's second close), which the
 * HTTP server shares. A live wsi at destroy time is safe (lws closes its socket only after
 * its uv_poll has closed).
 *
 * lws 4.1 also frees a buffered message under itself when a receive callback returns -1
 * mid-message (a double free; lws issue 3412). on_receive never refuses: an oversized
 * message is dropped and the 1009 close is made from the writable callback.
 *
 * lws 4.1 is built here without its async DNS, so it would call getaddrinfo() on the loop
 * thread. The host name is resolved with uv_getaddrinfo instead and lws is handed the
 * numeric address, with the name as the Host header; lws takes the TLS SNI name and the
 * certificate host name check from that Host value (port stripped), so verification is
 * against the name, not the address.
 *
 * The keepalive is our own, on the same uv_timer: lws 4.1's retry/idle policy does not
 * count a WebSocket pong as proof of life (only h2 and mqtt confirm validity), so it would
 * hang up healthy connections. */
#include <libwebsockets.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "net/lws_pipe.h"
#include "net/ws.h"
#include "util/err.h"
#include "util/log.h"

#define WS_DEFAULT_MAX_MESSAGE (1u << 20)
#define WS_DEFAULT_MAX_QUEUED  (8u << 20)
#define WS_DEFAULT_CONNECT_MS  10000
#define WS_DEFAULT_PING_MS     20000
#define WS_DEFAULT_PONG_MS     10000
#define WS_DEFAULT_CLOSE_MS    5000
#define WS_MAX_HEADER_BYTES    4096
#define WS_REAP_GIVE_UP_TICKS  10000 /* 1 ms ticks: 10 s for lws to let go of its handles */
#define WS_PROTOCOL_NAME       "apex-ws"

typedef struct ws_msg {
    struct ws_msg *next;
    size_t len;
    bool secret;
    unsigned char buf[]; /* LWS_PRE bytes of headroom for lws, then the payload */
} ws_msg;

struct ws_client {
    uv_loop_t *loop;
    struct lws_context *ctx; /* lws writes NULL here when the context is gone */
    struct lws *wsi;         /* lws writes NULL here when the wsi is freed */
    uv_timer_t timer;        /* deadlines and keepalive; after ws_free, the teardown */
    uv_getaddrinfo_t dns;
    bool dns_pending;

    ws_callbacks cb;
    void *user;

    char *host;        /* name as in the URL, brackets removed */
    char *host_header; /* host[:port] as sent in Host (also the TLS name) */
    char *path;
    char *headers; /* "Name: value\r\n"... appended to the handshake */
    size_t headers_len;
    char *ca_file;
    char address[INET6_ADDRSTRLEN];
    int port;
    bool tls;

    size_t max_message;
    size_t max_queued;
    int connect_ms, ping_ms, pong_ms, close_ms;

    ws_state state;
    bool finished; /* on_close ran (or the client was freed first) */
    bool freed;
    int reap_phase;
    int reap_ticks;
    bool reap_busy; /* a handle on the loop is still closing */
    int pipe_fd;    /* lws's event pipe (an eventfd) for this context, -1 = unknown */

    /* receiving */
    char *rx;
    size_t rx_len, rx_cap;
    bool rx_active, rx_binary;
    int rx_refused; /* close code owed for a refused message, 0 = none */
    uint64_t last_rx_ms;

    /* sending */
    ws_msg *q_head, *q_tail;
    size_t q_bytes;
    bool close_requested, close_sent;
    bool ping_wanted, ping_outstanding;
    uint64_t ping_asked_ms, opened_ms, close_asked_ms;

    /* how it ended: the first cause recorded wins */
    int fail_code;
    char fail_msg[256];
    bool outcome_set, outcome_clean;
    int outcome_code;
    char outcome_reason[128];
};

static int lws_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                  size_t len);

static const struct lws_protocols ws_protocols[] = {
    {WS_PROTOCOL_NAME, lws_cb, 0, 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* lws's own lines go to our log at warning level; lws prints no payloads at ERR/WARN. */
static void lws_log_emit(int level, const char *line)
{
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    if (level & LLL_ERR)
        log_warn("ws: libwebsockets: %.*s", (int)n, line);
    else
        log_debug("ws: libwebsockets: %.*s", (int)n, line);
}

static void lws_log_once(void)
{
    static bool done;
    if (!done) {
        done = true;
        lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_emit);
    }
}

static uint64_t now_ms(const ws_client *c)
{
    return uv_now(c->loop);
}

static void set_fail(ws_client *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_fail(ws_client *c, int code, const char *fmt, ...)
{
    if (c->fail_code)
        return;
    c->fail_code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->fail_msg, sizeof c->fail_msg, fmt, ap);
    va_end(ap);
}

static void set_outcome(ws_client *c, int code, const char *reason, bool clean)
{
    if (c->outcome_set)
        return;
    c->outcome_set = true;
    c->outcome_code = code;
    c->outcome_clean = clean;
    snprintf(c->outcome_reason, sizeof c->outcome_reason, "%s", reason);
}

static void wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (n--)
        *v++ = 0;
}

static void msg_free(ws_msg *m)
{
    if (m->secret)
        wipe(m->buf, LWS_PRE + m->len);
    free(m);
}

static void queue_clear(ws_client *c)
{
    while (c->q_head) {
        ws_msg *m = c->q_head;
        c->q_head = m->next;
        msg_free(m);
    }
    c->q_tail = NULL;
    c->q_bytes = 0;
}

/* The end of the connection: reports on_error (when a failure caused it) and on_close,
 * exactly once, unless the owner has freed the client. */
static void finish(ws_client *c)
{
    if (c->finished)
        return;
    c->finished = true;
    c->state = WS_CLOSED;
    c->wsi = NULL;
    queue_clear(c);
    free(c->rx);
    c->rx = NULL;
    c->rx_len = c->rx_cap = 0;
    if (!c->outcome_set) {
        if (c->fail_code)
            set_outcome(c, WS_CLOSE_ABNORMAL, c->fail_msg, false);
        else if (c->close_requested)
            set_outcome(c, WS_CLOSE_NORMAL, "closed by client", true);
        else
            set_outcome(c, WS_CLOSE_ABNORMAL, "connection lost", false);
    }
    if (c->freed)
        return;
    if (c->fail_code)
        log_warn("%s", c->fail_msg);
    log_info("ws: %s closed: %d %s%s", c->host_header, c->outcome_code, c->outcome_reason,
             c->outcome_clean ? "" : " (not clean)");
    if (c->fail_code && c->cb.on_error)
        c->cb.on_error(c, c->fail_code, c->fail_msg, c->user);
    if (!c->freed && c->cb.on_close)
        c->cb.on_close(c, c->outcome_code, c->outcome_reason, c->outcome_clean, c->user);
}

/* Drops the connection without a close handshake; the end is reported from lws's
 * callback (or from the resolver's, or here when neither is pending). Only ever called
 * from a loop callback of this client, never from inside a public call. */
static void drop(ws_client *c)
{
    /* An open socket is shut down under lws: a close handshake with a dead or stalled peer
     * would only wait for lws's own close timeout. lws sees the end of the stream at once
     * and reports the wsi closed. A socket still connecting cannot be shut down (ENOTCONN);
     * lws's kill is immediate there since there is no handshake to attempt. */
    if (c->wsi && c->state != WS_CONNECTING && lws_get_socket_fd(c->wsi) >= 0 &&
        shutdown(lws_get_socket_fd(c->wsi), SHUT_RDWR) == 0)
        return;
    if (c->wsi)
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
    else if (c->dns_pending)
        uv_cancel((uv_req_t *)&c->dns);
    else
        finish(c);
}

/* ---- lws callbacks ------------------------------------------------------------------- */

static int on_receive(ws_client *c, struct lws *wsi, const char *in, size_t len)
{
    c->last_rx_ms = now_ms(c);
    c->ping_outstanding = false;
    /* Never -1 from here: lws 4.1 frees the rest of a buffered message under itself when
     * a receive callback refuses it (a double free, lws issue 3412). What follows a
     * refused message is dropped, and the close is made from the writable callback; a
     * freed client's connection goes with its context. */
    if (c->freed || c->rx_refused)
        return 0;
    if (!c->rx_active) {
        c->rx_active = true;
        c->rx_len = 0;
        c->rx_binary = lws_frame_is_binary(wsi) != 0;
    }
    if (len > c->max_message - c->rx_len) {
        set_fail(c, APEX_ERANGE,
                 "ws: %s sent a message over %zu bytes (max_message_bytes); the connection "
                 "was closed",
                 c->host_header, c->max_message);
        set_outcome(c, WS_CLOSE_TOO_LARGE, "message too big", false);
        c->rx_active = false;
        c->state = WS_CLOSING;
        c->rx_refused = LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE;
        lws_callback_on_writable(wsi);
        return 0;
    }
    if (c->rx_len + len + 1 > c->rx_cap) {
        size_t cap = c->rx_cap ? c->rx_cap : 4096;
        while (cap < c->rx_len + len + 1)
            cap *= 2;
        if (cap > c->max_message + 1)
            cap = c->max_message + 1;
        char *p = realloc(c->rx, cap);
        if (!p) {
            set_fail(c, APEX_ENOMEM, "ws: %s: out of memory for a %zu-byte message", c->host_header,
                     c->rx_len + len);
            c->rx_active = false;
            c->state = WS_CLOSING;
            c->rx_refused = LWS_CLOSE_STATUS_UNEXPECTED_CONDITION;
            lws_callback_on_writable(wsi);
            return 0;
        }
        c->rx = p;
        c->rx_cap = cap;
    }
    if (len)
        memcpy(c->rx + c->rx_len, in, len);
    c->rx_len += len;
    if (!lws_is_final_fragment(wsi))
        return 0;
    c->rx[c->rx_len] = 0;
    c->rx_active = false;
    log_debug("ws: %s: received %zu bytes", c->host_header, c->rx_len);
    if (c->cb.on_message)
        c->cb.on_message(c, c->rx, c->rx_len, c->rx_binary, c->user);
    return 0;
}

static int on_writeable(ws_client *c, struct lws *wsi)
{
    if (c->freed)
        return -1;
    if (c->rx_refused) {
        static const char big[] = "message too big", other[] = "out of memory";
        const char *why = c->rx_refused == LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE ? big : other;
        lws_close_reason(wsi, (enum lws_close_status)c->rx_refused, (unsigned char *)why,
                         strlen(why));
        return -1;
    }
    if (c->ping_wanted) {
        unsigned char buf[LWS_PRE + 1];
        c->ping_wanted = false;
        if (lws_write(wsi, buf + LWS_PRE, 0, LWS_WRITE_PING) < 0)
            return -1;
        if (c->q_head || c->close_requested)
            lws_callback_on_writable(wsi);
        return 0;
    }
    if (c->q_head) {
        ws_msg *m = c->q_head;
        c->q_head = m->next;
        if (!c->q_head)
            c->q_tail = NULL;
        c->q_bytes -= m->len;
        /* lws_write takes the whole frame: what the kernel does not take now lws keeps and
         * writes before it reports the socket writable again, so frames never interleave. */
        int n = lws_write(wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT);
        size_t len = m->len;
        msg_free(m);
        if (n < 0 || (size_t)n < len) {
            set_fail(c, APEX_EIO, "ws: %s: writing a %zu-byte message failed", c->host_header, len);
            return -1;
        }
        log_debug("ws: %s: sent %zu bytes", c->host_header, len);
        if (c->q_head || c->close_requested)
            lws_callback_on_writable(wsi);
        return 0;
    }
    if (c->close_requested && !c->close_sent) {
        c->close_sent = true;
        lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
        return -1; /* lws sends the close frame and waits for the server's */
    }
    return 0;
}

static void on_peer_close(ws_client *c, const unsigned char *in, size_t len)
{
    char reason[124];
    size_t n = 0;
    int code = WS_CLOSE_NORMAL;
    if (len >= 2) {
        code = (in[0] << 8) | in[1];
        /* keep the reason printable; it came from the network */
        for (size_t i = 2; i < len && n + 1 < sizeof reason; i++)
            reason[n++] = (in[i] >= 0x20 && in[i] < 0x7f) ? (char)in[i] : '?';
    }
    reason[n] = 0;
    set_outcome(c, code, n ? reason : "closed by server", true);
    if (c->state == WS_OPEN)
        c->state = WS_CLOSING;
}

static int lws_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                  size_t len)
{
    struct lws_context *cx = lws_get_context(wsi);
    ws_client *c = cx ? lws_context_user(cx) : NULL;
    if (!c)
        return lws_callback_http_dummy(wsi, reason, user, in, len);

    switch (reason) {
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
        char **p = in;
        if (c->headers_len >= len) {
            set_fail(c, APEX_EINVAL, "ws: %s: the extra headers do not fit the handshake",
                     c->host_header);
            return -1;
        }
        if (c->headers_len) {
            memcpy(*p, c->headers, c->headers_len);
            *p += c->headers_len;
        }
        return 0;
    }
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        if (c->freed || c->close_requested)
            return -1;
        c->state = WS_OPEN;
        c->last_rx_ms = now_ms(c);
        log_info("ws: %s connected", c->host_header); /* not the path: it may hold a token */
        if (c->cb.on_open)
            c->cb.on_open(c, c->user);
        if (c->freed)
            return -1;
        if ((c->q_head || c->close_requested) && c->wsi)
            lws_callback_on_writable(wsi);
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        return on_receive(c, wsi, in, len);
    case LWS_CALLBACK_CLIENT_RECEIVE_PONG:
        c->last_rx_ms = now_ms(c);
        c->ping_outstanding = false;
        return 0;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return on_writeable(c, wsi);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        on_peer_close(c, in, len);
        return 0;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        c->wsi = NULL;
        if (!c->close_requested)
            set_fail(c, APEX_EIO, "ws: connecting to %s (%s) failed: %s", c->host_header,
                     c->address, in ? (const char *)in : "unknown error");
        finish(c);
        return 0;
    case LWS_CALLBACK_CLIENT_CLOSED:
        c->wsi = NULL;
        finish(c);
        return 0;
    case LWS_CALLBACK_WSI_DESTROY:
        if (c->wsi == wsi)
            c->wsi = NULL;
        return 0;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* ---- connecting ------------------------------------------------------------------------ */

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    ws_client *c = req->data;
    c->dns_pending = false;
    if (c->freed || c->finished) {
        uv_freeaddrinfo(res);
        return;
    }
    if (c->close_requested || c->fail_code) {
        uv_freeaddrinfo(res);
        finish(c);
        return;
    }
    if (status < 0 || !res) {
        set_fail(c, APEX_EIO, "ws: cannot resolve %s: %s; check the URL and the network", c->host,
                 uv_strerror(status));
        uv_freeaddrinfo(res);
        finish(c);
        return;
    }
    const struct addrinfo *pick = res;
    for (const struct addrinfo *a = res; a; a = a->ai_next)
        if (a->ai_family == AF_INET) {
            pick = a;
            break;
        }
    if (pick->ai_family == AF_INET6)
        uv_ip6_name((const struct sockaddr_in6 *)pick->ai_addr, c->address, sizeof c->address);
    else
        uv_ip4_name((const struct sockaddr_in *)pick->ai_addr, c->address, sizeof c->address);
    uv_freeaddrinfo(res);

    struct lws_client_connect_info i;
    memset(&i, 0, sizeof i);
    i.context = c->ctx;
    i.address = c->address;
    i.port = c->port;
    i.ssl_connection = c->tls ? LCCSCF_USE_SSL : 0; /* no flag that relaxes verification */
    i.path = c->path;
    i.host = c->host_header;
    i.origin = c->host_header;
    i.local_protocol_name = WS_PROTOCOL_NAME;
    i.pwsi = &c->wsi;
    log_debug("ws: connecting to %s (%s)", c->host_header, c->address);
    if (!lws_client_connect_via_info(&i)) {
        c->wsi = NULL;
        set_fail(c, APEX_EIO, "ws: cannot start a connection to %s (%s)", c->host_header,
                 c->address);
        finish(c);
    }
}

/* ---- the timer: deadlines, keepalive, teardown ------------------------------------------- */

/* ws_tearing_down: freed clients whose teardown is still running (one loop thread). */
static int tearing_down;

int ws_tearing_down(void)
{
    return tearing_down;
}

static void on_timer_closed(uv_handle_t *h)
{
    ws_client *c = h->data;
    if (c->freed)
        tearing_down--;
    free(c->host);
    free(c->host_header);
    free(c->path);
    if (c->headers)
        wipe(c->headers, c->headers_len);
    free(c->headers);
    free(c->ca_file);
    free(c->rx);
    free(c);
}

static void find_closing(uv_handle_t *h, void *arg)
{
    ws_client *c = arg;
    if (h != (uv_handle_t *)&c->timer && uv_is_closing(h))
        c->reap_busy = true;
}

/* lws's per-context handles (its idle and timer) carry the context as their data. */
static void close_static(uv_handle_t *h, void *arg)
{
    ws_client *c = arg;
    if (h->data == (void *)c->ctx && !uv_is_closing(h)) {
        uv_close(h, NULL);
        c->reap_busy = true;
    }
}

static void reap_tick(ws_client *c)
{
    if (c->dns_pending)
        return; /* the resolver still holds c->dns; its callback comes first */
    if (c->ctx) {
        c->reap_ticks++;
        if (c->reap_phase == 0) {
            c->reap_phase = 1;
            lws_context_destroy(c->ctx);
            lws_pipe_hold(&c->pipe_fd, "ws");
            return;
        }
        c->reap_busy = false;
        uv_walk(c->loop, find_closing, c);
        if (c->reap_busy && c->reap_ticks < WS_REAP_GIVE_UP_TICKS)
            return;
        /* Every close lws started has completed. lws closes its own idle and timer handles
         * when its last wsi closes during the destroy; a context with no wsi left by then
         * (freed before connecting, or after the connection had already gone) never gets
         * there, and the second destroy would free them while still open on the loop. */
        if (!c->reap_busy) {
            uv_walk(c->loop, close_static, c);
            if (c->reap_busy)
                return;
        }
        if (c->reap_ticks >= WS_REAP_GIVE_UP_TICKS) {
            log_error("ws: libwebsockets did not release its context for %s; leaking it",
                      c->host_header);
            c->ctx = NULL;
        } else {
            lws_context_destroy(c->ctx); /* the second call frees it and clears c->ctx */
            if (c->ctx)
                return;
        }
    }
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, on_timer_closed);
}

static void on_tick(uv_timer_t *t)
{
    ws_client *c = t->data;
    if (c->freed) {
        reap_tick(c);
        return;
    }
    if (c->finished)
        return;
    if (c->state == WS_CLOSING && !c->wsi && !c->dns_pending) {
        finish(c); /* nothing left that would report the end (e.g. ws_close while resolving) */
        return;
    }
    uint64_t now = now_ms(c);
    switch (c->state) {
    case WS_CONNECTING:
        if (now - c->opened_ms >= (uint64_t)c->connect_ms) {
            set_fail(c, APEX_EIO, "ws: connecting to %s timed out after %d ms", c->host_header,
                     c->connect_ms);
            c->state = WS_CLOSING;
            drop(c);
        }
        break;
    case WS_OPEN:
        if (c->ping_ms < 0)
            break;
        if (c->ping_outstanding && now - c->ping_asked_ms >= (uint64_t)c->pong_ms) {
            char why[96];
            snprintf(why, sizeof why, "no pong within %d ms", c->pong_ms);
            log_warn("ws: %s: %s; dropping the connection", c->host_header, why);
            set_outcome(c, WS_CLOSE_ABNORMAL, why, false);
            c->state = WS_CLOSING;
            drop(c);
        } else if (!c->ping_outstanding && now - c->last_rx_ms >= (uint64_t)c->ping_ms && c->wsi) {
            c->ping_outstanding = true;
            c->ping_wanted = true;
            c->ping_asked_ms = now; /* the deadline runs even if the socket never drains */
            lws_callback_on_writable(c->wsi);
        }
        break;
    case WS_CLOSING:
        if (c->close_requested && now - c->close_asked_ms >= (uint64_t)c->close_ms) {
            set_outcome(c, WS_CLOSE_NORMAL, "closed by client (no close reply)", false);
            drop(c);
        }
        break;
    case WS_CLOSED:
        break;
    }
}

/* ---- URL and options --------------------------------------------------------------------- */

static char *dup_n(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = 0;
    }
    return p;
}

static int parse_url(ws_client *c, const char *url, char *err, size_t errlen)
{
    const char *p;
    if (!url)
        return err_set(err, errlen, APEX_EINVAL, "ws: no url given");
    if (!strncmp(url, "ws://", 5)) {
        c->tls = false;
        c->port = 80;
        p = url + 5;
    } else if (!strncmp(url, "wss://", 6)) {
        c->tls = true;
        c->port = 443;
        p = url + 6;
    } else {
        return err_set(err, errlen, APEX_EINVAL, "ws: url '%.200s' must start with ws:// or wss://",
                       url);
    }
    const char *host = p, *host_end;
    if (*p == '[') {
        host = p + 1;
        host_end = strchr(host, ']');
        if (!host_end)
            return err_set(err, errlen, APEX_EINVAL, "ws: url '%.200s': unclosed '['", url);
        p = host_end + 1;
    } else {
        while (*p && *p != ':' && *p != '/' && *p != '?')
            p++;
        host_end = p;
    }
    if (host_end == host)
        return err_set(err, errlen, APEX_EINVAL, "ws: url '%.200s' has no host", url);
    bool explicit_port = false;
    if (*p == ':') {
        char *end;
        long port = strtol(p + 1, &end, 10);
        if (end == p + 1 || port < 1 || port > 65535 || (*end && *end != '/' && *end != '?'))
            return err_set(err, errlen, APEX_EINVAL, "ws: url '%.200s' has a bad port", url);
        c->port = (int)port;
        explicit_port = true;
        p = end;
    }
    if (*p && *p != '/' && *p != '?')
        return err_set(err, errlen, APEX_EINVAL, "ws: url '%.200s' is malformed", url);
    c->host = dup_n(host, (size_t)(host_end - host));
    if (*p == '/')
        c->path = dup_n(p, strlen(p));
    else {
        c->path = malloc(strlen(p) + 2);
        if (c->path) {
            c->path[0] = '/';
            strcpy(c->path + 1, p);
        }
    }
    size_t hl = (size_t)(host_end - host) + 16;
    c->host_header = malloc(hl);
    if (!c->host || !c->path || !c->host_header)
        return err_set(err, errlen, APEX_ENOMEM, "ws: out of memory");
    bool v6 = memchr(host, ':', (size_t)(host_end - host)) != NULL;
    if (explicit_port)
        snprintf(c->host_header, hl, "%s%s%s:%d", v6 ? "[" : "", c->host, v6 ? "]" : "", c->port);
    else
        snprintf(c->host_header, hl, "%s%s%s", v6 ? "[" : "", c->host, v6 ? "]" : "");
    return 0;
}

static bool header_text_ok(const char *s, bool name)
{
    if (!s || (name && !*s))
        return false;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '\r' || ch == '\n' || (name && (ch <= ' ' || ch == ':')))
            return false;
    }
    return true;
}

static int build_headers(ws_client *c, const ws_options *o, char *err, size_t errlen)
{
    if (o->header_count < 0 || (o->header_count && !o->headers))
        return err_set(err, errlen, APEX_EINVAL, "ws: header_count without headers");
    size_t total = 0;
    for (int i = 0; i < o->header_count; i++) {
        const ws_header *h = &o->headers[i];
        if (!header_text_ok(h->name, true) || !header_text_ok(h->value, false))
            return err_set(err, errlen, APEX_EINVAL,
                           "ws: header %d has an empty name, or a name or value with a line "
                           "break, space or colon",
                           i + 1);
        total += strlen(h->name) + strlen(h->value) + 4;
    }
    if (total > WS_MAX_HEADER_BYTES)
        return err_set(err, errlen, APEX_EINVAL, "ws: extra headers over %d bytes",
                       WS_MAX_HEADER_BYTES);
    if (!total)
        return 0;
    c->headers = malloc(total + 1);
    if (!c->headers)
        return err_set(err, errlen, APEX_ENOMEM, "ws: out of memory");
    size_t n = 0;
    for (int i = 0; i < o->header_count; i++)
        n += (size_t)snprintf(c->headers + n, total + 1 - n, "%s: %s\r\n", o->headers[i].name,
                              o->headers[i].value);
    c->headers_len = n;
    return 0;
}

static void free_unstarted(ws_client *c)
{
    free(c->host);
    free(c->host_header);
    free(c->path);
    if (c->headers)
        wipe(c->headers, c->headers_len);
    free(c->headers);
    free(c->ca_file);
    free(c);
}

/* ---- public ------------------------------------------------------------------------------ */

ws_client *ws_open(uv_loop_t *loop, const ws_options *o, char *err, size_t errlen)
{
    if (!loop || !o) {
        err_set(err, errlen, APEX_EINVAL, "ws: ws_open needs a loop and options");
        return NULL;
    }
    if (o->connect_timeout_ms < 0 || o->pong_timeout_ms < 0 || o->close_timeout_ms < 0) {
        err_set(err, errlen, APEX_EINVAL, "ws: timeouts must be >= 0 (0 = default)");
        return NULL;
    }
    ws_client *c = calloc(1, sizeof *c);
    if (!c) {
        err_set(err, errlen, APEX_ENOMEM, "ws: out of memory");
        return NULL;
    }
    c->loop = loop;
    c->cb = o->cb;
    c->user = o->user;
    c->max_message = o->max_message_bytes ? o->max_message_bytes : WS_DEFAULT_MAX_MESSAGE;
    c->max_queued = o->max_queued_bytes ? o->max_queued_bytes : WS_DEFAULT_MAX_QUEUED;
    c->connect_ms = o->connect_timeout_ms ? o->connect_timeout_ms : WS_DEFAULT_CONNECT_MS;
    c->ping_ms = o->ping_interval_ms ? o->ping_interval_ms : WS_DEFAULT_PING_MS;
    c->pong_ms = o->pong_timeout_ms ? o->pong_timeout_ms : WS_DEFAULT_PONG_MS;
    c->close_ms = o->close_timeout_ms ? o->close_timeout_ms : WS_DEFAULT_CLOSE_MS;
    if (parse_url(c, o->url, err, errlen) || build_headers(c, o, err, errlen)) {
        free_unstarted(c);
        return NULL;
    }
    if (o->ca_file && !(c->ca_file = dup_n(o->ca_file, strlen(o->ca_file)))) {
        err_set(err, errlen, APEX_ENOMEM, "ws: out of memory");
        free_unstarted(c);
        return NULL;
    }

    lws_log_once();
    struct lws_context_creation_info info;
    void *loops[1] = {loop};
    memset(&info, 0, sizeof info);
    info.options = LWS_SERVER_OPTION_LIBUV;
    if (c->tls)
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT; /* lws makes its client
                                                                SSL_CTX only with this */
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = ws_protocols;
    info.foreign_loops = loops;
    info.pcontext = &c->ctx;
    info.user = c;
    info.fd_limit_per_thread = 16; /* one socket and lws's event pipe, not ulimit -n */
    info.client_ssl_ca_filepath = c->ca_file;
    c->ctx = lws_pipe_create_context(c->loop, &info, &c->pipe_fd);
    if (!c->ctx) {
        err_set(err, errlen, APEX_EIO,
                "ws: libwebsockets could not start on the libuv loop; its libuv plugin "
                "(%s/libwebsockets-evlib_uv.so, Debian package libwebsockets-evlib-uv) "
                "must be installed%s",
                LWS_INSTALL_LIBDIR, c->ca_file ? ", and ca_file readable" : "");
        free_unstarted(c);
        return NULL;
    }

    uv_timer_init(loop, &c->timer);
    c->timer.data = c;
    c->dns.data = c;
    c->state = WS_CONNECTING;
    c->opened_ms = now_ms(c);
    int tick = c->connect_ms;
    if (c->ping_ms > 0 && c->ping_ms < tick)
        tick = c->ping_ms;
    if (c->pong_ms < tick)
        tick = c->pong_ms;
    if (c->close_ms < tick)
        tick = c->close_ms;
    tick /= 4;
    tick = tick < 10 ? 10 : tick > 1000 ? 1000 : tick;
    uv_timer_start(&c->timer, on_tick, (uint64_t)tick, (uint64_t)tick);

    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = uv_getaddrinfo(loop, &c->dns, on_resolved, c->host, NULL, &hints);
    if (rc < 0) {
        /* reported from the timer's first tick, never from inside ws_open */
        set_fail(c, APEX_EIO, "ws: cannot resolve %s: %s", c->host, uv_strerror(rc));
        c->state = WS_CLOSING;
    } else {
        c->dns_pending = true;
    }
    log_debug("ws: opening %s", c->host_header);
    return c;
}

static int send_common(ws_client *c, const char *data, size_t len, bool secret)
{
    if (!c || c->freed || c->finished || c->close_requested ||
        (c->state != WS_CONNECTING && c->state != WS_OPEN))
        return APEX_ESTATE;
    if (!data && len)
        return APEX_EINVAL;
    if (len > c->max_queued - c->q_bytes || c->q_bytes > c->max_queued)
        return APEX_EBUSY;
    ws_msg *m = malloc(sizeof *m + LWS_PRE + len);
    if (!m)
        return APEX_ENOMEM;
    m->next = NULL;
    m->len = len;
    m->secret = secret;
    if (len)
        memcpy(m->buf + LWS_PRE, data, len);
    if (c->q_tail)
        c->q_tail->next = m;
    else
        c->q_head = m;
    c->q_tail = m;
    c->q_bytes += len;
    if (c->state == WS_OPEN && c->wsi)
        lws_callback_on_writable(c->wsi);
    return 0;
}

int ws_send_text(ws_client *c, const char *data, size_t len)
{
    return send_common(c, data, len, false);
}

int ws_send_text_secret(ws_client *c, const char *data, size_t len)
{
    return send_common(c, data, len, true);
}

int ws_close(ws_client *c)
{
    if (!c || c->freed || c->finished || c->close_requested ||
        (c->state != WS_CONNECTING && c->state != WS_OPEN))
        return APEX_ESTATE;
    c->close_requested = true;
    c->close_asked_ms = now_ms(c);
    if (c->state == WS_OPEN && c->wsi) {
        c->state = WS_CLOSING;
        lws_callback_on_writable(c->wsi);
        return 0;
    }
    /* Still connecting: abandon the attempt. The end is reported from the loop (the
     * resolver's callback, lws's, or the next tick), never from here. */
    c->state = WS_CLOSING;
    set_outcome(c, WS_CLOSE_NORMAL, "closed by client before open", true);
    if (c->wsi)
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
    else if (c->dns_pending)
        uv_cancel((uv_req_t *)&c->dns);
    return 0;
}

void ws_free(ws_client *c)
{
    if (!c || c->freed)
        return;
    c->freed = true;
    tearing_down++;
    c->finished = true;
    queue_clear(c);
    if (c->dns_pending)
        uv_cancel((uv_req_t *)&c->dns);
    /* The teardown runs from the timer, outside any lws callback (see the top). */
    uv_timer_stop(&c->timer);
    uv_timer_start(&c->timer, on_tick, 0, 1);
}

ws_state ws_get_state(const ws_client *c)
{
    return c ? c->state : WS_CLOSED;
}

size_t ws_queued_bytes(const ws_client *c)
{
    return c ? c->q_bytes : 0;
}
