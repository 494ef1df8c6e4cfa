/* server: the lws context on the host's loop, connections, writes and teardown
 * (server.h).
 *
 * One lws protocol serves both kinds of connection: an HTTP exchange (LWS_CALLBACK_HTTP,
 * the body of a POST, then the response written SERVER_CHUNK bytes per writable callback)
 * and, after an upgrade on /api/v1/stream, a stream client (stream.c). lws parses HTTP;
 * nothing here reads a raw request line.
 *
 * The teardown follows net/ws.c's for lws 4.1 on a foreign libuv loop: the first
 * lws_context_destroy closes every connection and lws's handles asynchronously, a timer of
 * ours waits until nothing on the loop is closing, and a second lws_context_destroy frees
 * the context; the event pipe's fd is held across lws's double close of it
 * (net/lws_pipe.h). */
#include "server/server_internal.h"

#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/lws_pipe.h"
#include "pipeline/snapshot.h"
#include "util/err.h"
#include "util/log.h"
#include "util/secret.h"

#define REAP_TICK_MS      10
#define REAP_GIVE_UP_TICK 1000 /* 10 s */

static double wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int server_parse_listen(const char *listen, char *host, size_t hostlen, int *port, char *err,
                        size_t errlen)
{
    const char *colon = listen ? strrchr(listen, ':') : NULL;
    if (!colon)
        return err_set(err, errlen, APEX_EINVAL,
                       "--http '%s': expected HOST:PORT, e.g. 127.0.0.1:8080",
                       listen ? listen : "");
    size_t n = (size_t)(colon - listen);
    const char *h = listen;
    if (n >= 2 && h[0] == '[' && h[n - 1] == ']') { /* [::1]:8080 */
        h++;
        n -= 2;
    }
    if (n == 0) {
        h = "127.0.0.1"; /* ":8080": localhost, never every interface by accident */
        n = strlen(h);
    }
    if (n >= hostlen)
        return err_set(err, errlen, APEX_EINVAL, "--http '%s': the host is too long", listen);
    memcpy(host, h, n);
    host[n] = '\0';
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || *end || p < 1 || p > 65535)
        return err_set(err, errlen, APEX_EINVAL,
                       "--http '%s': the port must be a number from 1 to 65535", listen);
    *port = (int)p;
    return 0;
}

/* ---- connections --------------------------------------------------------------------- */

/* Starts the response: headers now, the body from the writable callbacks. */
static int respond(conn *c, response *r)
{
    c->answered = true;
    c->status = r->status;
    c->resp = r->body;
    c->resp_len = r->len;
    c->resp_sent = 0;
    c->content_type = r->content_type ? r->content_type : "application/json";
    unsigned char buf[LWS_PRE + 1024], *start = buf + LWS_PRE, *p = start,
                                       *end = buf + sizeof buf - 1;
    if (lws_add_http_common_headers(c->wsi, (unsigned int)c->status, c->content_type,
                                    (lws_filepos_t)c->resp_len, &p, end))
        return -1;
    static const char nocache[] = "no-store";
    if (lws_add_http_header_by_token(c->wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
                                     (const unsigned char *)nocache, (int)strlen(nocache), &p, end))
        return -1;
    if (lws_finalize_write_http_header(c->wsi, start, &p, end))
        return -1;
    lws_callback_on_writable(c->wsi);
    return 0;
}

/* One piece of the body per writable callback: lws buffers what the socket does not take
 * and calls back only once it drained, so a slow reader holds its response, not the
 * loop. */
static int write_body(conn *c)
{
    static unsigned char chunk[LWS_PRE + SERVER_CHUNK];
    size_t left = c->resp_len - c->resp_sent;
    size_t n = left < SERVER_CHUNK ? left : SERVER_CHUNK;
    if (n > 0)
        memcpy(chunk + LWS_PRE, c->resp + c->resp_sent, n);
    bool last = n == left;
    int w = lws_write(c->wsi, chunk + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP);
    if (w < 0 || (size_t)w != n)
        return -1;
    c->resp_sent += n;
    if (!last) {
        lws_callback_on_writable(c->wsi);
        return 0;
    }
    free(c->resp);
    c->resp = NULL;
    return lws_http_transaction_completed(c->wsi) ? -1 : 0;
}

static int answer(server *s, conn *c)
{
    response r = {0};
    if (!api_handle(s, c, &r))
        return 0; /* a job on the worker answers it (worker.c) */
    return respond(c, &r);
}

void server_respond_later(conn *c, response *r)
{
    if (respond(c, r) != 0)
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_HTTP_CONTENT, LWS_TO_KILL_ASYNC);
}

static int header_len(struct lws *wsi, enum lws_token_indexes t)
{
    return lws_hdr_total_length(wsi, t);
}

static int on_http(server *s, conn *c, struct lws *wsi, const char *uri, size_t len)
{
    memset(c, 0, sizeof *c);
    c->srv = s;
    c->wsi = wsi;
    snprintf(c->path, sizeof c->path, "%.*s", (int)(len < sizeof c->path ? len : 0), uri);
    if (len >= sizeof c->path) {
        response r = {0};
        api_error(&r, 414, "the path is longer than %zu bytes", sizeof c->path - 1);
        return respond(c, &r);
    }
    c->is_post = header_len(wsi, WSI_TOKEN_POST_URI) > 0;
    if (!c->is_post && header_len(wsi, WSI_TOKEN_GET_URI) <= 0) {
        response r = {0};
        api_error(&r, 405, "only GET and POST are served");
        return respond(c, &r);
    }
    /* A POST with a body is answered once the body is in (LWS_CALLBACK_HTTP_BODY_COMPLETION);
     * one without is answered now. */
    char cl[32] = "";
    if (c->is_post && lws_hdr_copy(wsi, cl, sizeof cl, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0 &&
        atol(cl) > 0)
        return 0;
    return answer(s, c);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    struct lws_context *cx = lws_get_context(wsi);
    server *s = cx ? lws_context_user(cx) : NULL;
    conn *c = user;
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        if (!s || s->stopping)
            return -1;
        return on_http(s, c, wsi, in, len);
    case LWS_CALLBACK_HTTP_BODY:
        if (c->body_len + len > SERVER_BODY_MAX) {
            c->body_too_big = true;
        } else {
            memcpy(c->body + c->body_len, in, len);
            c->body_len += len;
            c->body[c->body_len] = '\0';
        }
        return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (c->answered)
            return 0;
        if (c->body_too_big) {
            response r = {0};
            api_error(&r, 413, "a request body is at most %d bytes", SERVER_BODY_MAX);
            return respond(c, &r);
        }
        return answer(s, c);
    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (!c->answered || !c->resp)
            return c->answered ? (lws_http_transaction_completed(wsi) ? -1 : 0) : 0;
        return write_body(c);
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        if (c) {
            server_job_conn_closed(c);
            free(c->resp);
            c->resp = NULL;
        }
        return 0;
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
        /* An upgrade: only the stream's path takes one. */
        char uri[64] = "";
        lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI);
        return !s || s->stopping || strcmp(uri, "/api/v1/stream") != 0;
    }
    case LWS_CALLBACK_ESTABLISHED:
        memset(c, 0, sizeof *c);
        c->srv = s;
        c->wsi = wsi;
        c->is_stream = true;
        stream_open(s, c);
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return stream_writable(s, c);
    case LWS_CALLBACK_RECEIVE:
        return 0; /* the stream is one way; what a client says is ignored */
    case LWS_CALLBACK_CLOSED:
        if (c && c->is_stream)
            stream_close(s, c);
        return 0;
    default:
        return 0;
    }
}

static const struct lws_protocols protocols[] = {
    {"apex", callback, sizeof(conn), 4096, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* ---- start and stop ------------------------------------------------------------------- */

static void load_token(server *s)
{
    char err[512];
    const char *file = getenv("APEX_HTTP_TOKEN_FILE");
    int rc = secret_load("APEX_HTTP_TOKEN", file ? file : "", "APEX_HTTP_TOKEN_FILE", s->token,
                         sizeof s->token, s->token_source, sizeof s->token_source, err, sizeof err);
    s->has_token = rc == 0;
    if (rc != 0 && rc != APEX_ENOTFOUND)
        log_warn("http: no token for state-changing calls: %s", err);
    else if (rc == APEX_ENOTFOUND && file && *file)
        log_warn("http: no token for state-changing calls: %s", err);
}

/* Whether host:port can be listened on, asked of the kernel before lws is: lws 4.1 on a
 * foreign loop logs a failed bind and goes on with no listening socket, so `run --http` on
 * a port in use would trade with no server and say it serves. (SO_REUSEADDR as lws sets
 * it, so a port in TIME_WAIT is free.) */
static int check_listen(const char *host, int port, char *err, size_t errlen)
{
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *ai = NULL;
    int g = getaddrinfo(host, service, &hints, &ai);
    if (g != 0)
        return err_set(err, errlen, APEX_EINVAL, "--http %s:%d: %s is not an address (%s)", host,
                       port, host, gai_strerror(g));
    int rc = 0, e = 0;
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0)
        e = errno;
    if (fd >= 0)
        close(fd);
    freeaddrinfo(ai);
    if (e == EADDRINUSE)
        rc = err_set(err, errlen, APEX_EIO,
                     "http: %s:%d is in use by another process; stop it or pick another port "
                     "with --http HOST:PORT",
                     host, port);
    else if (e == EADDRNOTAVAIL)
        rc = err_set(err, errlen, APEX_EINVAL,
                     "http: %s is not an address of this machine; use 127.0.0.1 (this machine "
                     "only) or one of its own addresses",
                     host);
    else if (e != 0)
        rc = err_set(err, errlen, APEX_EIO, "http: cannot listen on %s:%d: %s", host, port,
                     strerror(e));
    return rc;
}

server *server_start(uv_loop_t *loop, const server_options *o, const host_view *view, char *err,
                     size_t errlen)
{
    char host[256];
    int port;
    if (server_parse_listen(o->listen, host, sizeof host, &port, err, errlen) != 0 ||
        check_listen(host, port, err, errlen) != 0)
        return NULL;
    server *s = calloc(1, sizeof *s);
    if (!s) {
        err_set(err, errlen, APEX_ENOMEM, "http: out of memory");
        return NULL;
    }
    s->loop = loop;
    s->opt = *o;
    snprintf(s->db_path, sizeof s->db_path, "%s", o->db_path);
    s->opt.db_path = s->db_path;
    s->opt.listen = NULL;
    s->pipe_fd = -1;
    s->started = wall_seconds();
    if (view) {
        s->view = *view;
        s->live = true;
        for (int i = 0; i < view->npipes; i++)
            pipeline_keep_bars(view->pipes[i], SERVER_CHART_BARS);
    }
    s->rd = store_open(s->db_path, STORE_READONLY, err, errlen);
    if (!s->rd) {
        free(s);
        return NULL;
    }
    if (!o->read_only)
        load_token(s);

    lws_set_log_level(LLL_ERR | LLL_WARN, NULL);
    struct lws_context_creation_info info;
    void *loops[1] = {loop};
    memset(&info, 0, sizeof info);
    info.options =
        LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_DISABLE_IPV6 * (strchr(host, ':') == NULL);
    info.port = port;
    info.iface = host;
    info.protocols = protocols;
    info.foreign_loops = loops;
    info.pcontext = &s->ctx;
    info.user = s;
    info.fd_limit_per_thread = 256;
    info.keepalive_timeout = 5;
    info.timeout_secs = 30;
    info.server_string = "apex-host";
    s->ctx = lws_pipe_create_context(loop, &info, &s->pipe_fd);
    if (!s->ctx) {
        err_set(err, errlen, APEX_EIO,
                "http: cannot listen on %s:%d (in use, or not an address of this machine; the "
                "libuv plugin of libwebsockets, package libwebsockets-evlib-uv, must be "
                "installed)",
                host, port);
        store_close(s->rd);
        secret_wipe(s->token, sizeof s->token);
        free(s);
        return NULL;
    }
    uv_timer_init(loop, &s->tick);
    s->tick.data = s;
    log_event("http: serving %s on http://%s:%d/ (%s)", s->db_path, host, port,
              o->read_only   ? "read-only"
              : s->has_token ? "state changes need the token"
                             : "state changes refused: no APEX_HTTP_TOKEN");
    return s;
}

static void on_reaper_closed(uv_handle_t *h)
{
    server *s = h->data;
    s->done = true;
}

void server_free(server *s)
{
    if (!s)
        return;
    secret_wipe(s->token, sizeof s->token);
    free(s->marks);
    free(s);
}

static void on_tick_closed(uv_handle_t *h)
{
    (void)h;
}

static void find_closing(uv_handle_t *h, void *arg)
{
    server *s = arg;
    if (h != (uv_handle_t *)&s->reaper && uv_is_closing(h))
        s->reap_busy = true;
}

static void close_static(uv_handle_t *h, void *arg)
{
    server *s = arg;
    if (h->data == (void *)s->ctx && !uv_is_closing(h)) {
        uv_close(h, NULL);
        s->reap_busy = true;
    }
}

static void reap(uv_timer_t *t)
{
    server *s = t->data;
    if (s->ctx) {
        s->reap_ticks++;
        if (s->reap_phase == 0) {
            s->reap_phase = 1;
            lws_context_destroy(s->ctx);
            lws_pipe_hold(&s->pipe_fd, "http");
            return;
        }
        s->reap_busy = false;
        uv_walk(s->loop, find_closing, s);
        if (s->reap_busy && s->reap_ticks < REAP_GIVE_UP_TICK)
            return;
        if (!s->reap_busy) {
            uv_walk(s->loop, close_static, s);
            if (s->reap_busy)
                return;
        }
        if (s->reap_ticks >= REAP_GIVE_UP_TICK) {
            log_error("http: libwebsockets did not release its context; leaking it");
            s->ctx = NULL;
        } else {
            lws_context_destroy(s->ctx); /* frees it and clears s->ctx */
            if (s->ctx)
                return;
        }
    }
    if (!server_jobs_idle(s))
        return; /* a store read still runs on the worker, over bg */
    store_close(s->bg);
    s->bg = NULL;
    uv_timer_stop(&s->reaper);
    uv_close((uv_handle_t *)&s->reaper, on_reaper_closed);
}

void server_stop(server *s)
{
    if (!s || s->stopping)
        return;
    s->stopping = true;
    s->live = false;
    memset(&s->view, 0, sizeof s->view);
    stream_stop(s);
    server_jobs_stop(s);
    uv_timer_stop(&s->tick);
    uv_close((uv_handle_t *)&s->tick, on_tick_closed);
    store_close(s->rd);
    store_close(s->wr);
    s->rd = s->wr = NULL;
    uv_timer_init(s->loop, &s->reaper);
    s->reaper.data = s;
    uv_timer_start(&s->reaper, reap, 0, REAP_TICK_MS);
}

bool server_busy(const server *s)
{
    return s && !s->done;
}

/* ---- `run --http`: the host's observer ---------------------------------------------- */

typedef struct {
    server_options *opt;
    server *srv;
} observer_state;

static observer_state the_observer; /* one server per run */

static int observer_start(void *ud, const host_view *v)
{
    observer_state *o = ud;
    char err[512];
    server_options opt = *o->opt;
    opt.db_path = v->db_path;
    o->srv = server_start(v->loop, &opt, v, err, sizeof err);
    if (!o->srv) {
        fprintf(stderr, "apex-host: %s\n", err);
        return -1;
    }
    return 0;
}

static void observer_stop(void *ud)
{
    observer_state *o = ud;
    server_stop(o->srv);
}

static bool observer_busy(void *ud)
{
    observer_state *o = ud;
    if (o->srv && o->srv->done) {
        server_free(o->srv);
        o->srv = NULL;
    }
    return o->srv != NULL;
}

host_observer server_observer(server_options *o)
{
    the_observer = (observer_state){.opt = o};
    return (host_observer){.start = observer_start,
                           .stop = observer_stop,
                           .busy = observer_busy,
                           .ud = &the_observer,
                           .listen = o->listen};
}

/* ---- `apex-host serve` ---------------------------------------------------------------- */

static void on_serve_signal(uv_signal_t *sig, int signum)
{
    (void)signum;
    uv_stop(sig->loop);
}

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

int server_serve(const server_options *o)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    char err[512];
    server *s = server_start(&loop, o, NULL, err, sizeof err);
    if (!s) {
        fprintf(stderr, "apex-host: %s\n", err);
        uv_loop_close(&loop);
        return strstr(err, "store") ? 4 : 1;
    }
    /* No host here: /metrics has the orders by status this store holds, and the server's
     * own HTTP counters. */
    store_metrics_attach(s->rd);
    uv_signal_t sigint, sigterm;
    uv_signal_init(&loop, &sigint);
    uv_signal_init(&loop, &sigterm);
    uv_signal_start(&sigint, on_serve_signal, SIGINT);
    uv_signal_start(&sigterm, on_serve_signal, SIGTERM);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_signal_stop(&sigint);
    uv_signal_stop(&sigterm);
    server_stop(s);
    while (!s->done && uv_run(&loop, UV_RUN_ONCE))
        ;
    store_metrics_detach(s->rd);
    server_free(s);
    uv_walk(&loop, close_walk, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return 0;
}
