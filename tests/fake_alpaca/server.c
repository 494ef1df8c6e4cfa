/* fake-alpaca: a fake Alpaca (trading REST, market data REST, trade_updates and market
 * data WebSocket streams) for the live-trading tests, on libwebsockets. A test tool, never
 * part of the product. Usage and the control API: tests/fake_alpaca/README.md. */
#include <fcntl.h>
#include <jansson.h>
#include <libwebsockets.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../fake_common/serve.h"
#include "api.h"
#include "state.h"

enum { K_HTTP, K_TRADE, K_DATA };
enum { F_500, F_HANG, F_429, F_MALFORMED, F_TRUNCATED, F_RESET, F_DROP, F_WS_DROP, F_NKINDS };
static const char *FAULT_NAMES[] = {"500",       "hang",  "429",           "malformed",
                                    "truncated", "reset", "drop_response", "ws_drop"};

typedef struct msg {
    struct msg *next;
    size_t len;
    int binary;
    char bar_symbol[16]; /* a bar for the timeline: its symbol, "" otherwise */
    unsigned char buf[]; /* LWS_PRE + len */
} msg_t;

typedef struct {
    int all, n;
    char sym[128][16];
} subs_t;

struct pss {
    struct lws *wsi;
    int kind;
    /* HTTP */
    char method[8], path[512];
    char *args[32];
    int nargs, fault, pending; /* pending: a response is ready to be written */
    sb_t body, resp;
    int status, retry_after;
    /* WebSocket */
    struct pss *next;
    char ws_path[64];
    int authed, listening, closing;
    msg_t *head, *tail;
    sb_t rx;
    subs_t subs[4]; /* trades, quotes, bars, news */
};

typedef struct {
    int kind, count, retry_after, process;
    char method[8], path[256];
} fault_t;

static fault_t faults[64];
static int nfaults, faults_fired;
static struct pss *ws_list;
static int verbose, trade_text; /* --text-trade-stream */
static uint64_t request_counter;
static FILE *timeline; /* --timeline FILE */

/* ---- timeline (--timeline FILE) ------------------------------------------------------- */

/* One line per bar frame written to a market-data stream and per API request read, each
 * with the CLOCK_MONOTONIC microseconds it happened at, for bench/alpaca_latency.sh:
 *   <us> bar <symbol>                          the frame was handed to the kernel
 *   <us> req <METHOD> <path>                   the request and its body were read
 *   <us> order <symbol> <side> <type> <class> <client_order_id>   a POST /v2/orders */
static long long mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void timeline_request(const char *method, const char *path, const char *body, size_t len)
{
    long long us = mono_us();
    fprintf(timeline, "%lld req %s %s\n", us, method, path);
    if (strcmp(method, "POST") || strcmp(path, "/v2/orders"))
        return;
    json_t *j = json_loadb(body, len, 0, NULL);
    const char *f[5] = {"symbol", "side", "type", "order_class", "client_order_id"};
    fprintf(timeline, "%lld order", us);
    for (int i = 0; i < 5; i++) {
        const char *v = json_string_value(json_object_get(j, f[i]));
        fprintf(timeline, " %s", v && *v ? v : "-");
    }
    fputc('\n', timeline);
    json_decref(j);
}

/* ---- counters -------------------------------------------------------------------------- */

typedef struct {
    char key[600];
    int n;
} reqcount_t;
static reqcount_t *reqs;
static size_t nreqs, reqcap;
static long n_connections, n_ws[3], n_http_requests;

static void count_request(const char *method, const char *path)
{
    char key[600];
    snprintf(key, sizeof key, "%s %s", method, path);
    n_http_requests++;
    for (size_t i = 0; i < nreqs; i++)
        if (!strcmp(reqs[i].key, key)) {
            reqs[i].n++;
            return;
        }
    if (nreqs == reqcap) {
        reqcap = reqcap ? reqcap * 2 : 32;
        reqs = realloc(reqs, reqcap * sizeof *reqs);
        if (!reqs)
            abort();
    }
    snprintf(reqs[nreqs].key, sizeof reqs[0].key, "%s", key);
    reqs[nreqs++].n = 1;
}

void counters_json(sb_t *b)
{
    sb_puts(b, "{\"requests\":{");
    for (size_t i = 0; i < nreqs; i++) {
        if (i)
            sb_puts(b, ",");
        sb_jstr(b, reqs[i].key);
        sb_printf(b, ":%d", reqs[i].n);
    }
    sb_puts(b, "},\"orders_by_client_order_id\":");
    counters_coid_json(b);
    int open[3] = {0, 0, 0};
    for (struct pss *p = ws_list; p; p = p->next)
        open[p->kind]++;
    sb_printf(b,
              ",\"connections\":%ld,\"http_requests\":%ld,\"ws_connections\":{\"trade\":%ld,"
              "\"data\":%ld},\"ws_open\":{\"trade\":%d,\"data\":%d},\"faults_fired\":%d}",
              n_connections, n_http_requests, n_ws[K_TRADE], n_ws[K_DATA], open[K_TRADE],
              open[K_DATA], faults_fired);
}

void counters_reset(void)
{
    nreqs = 0;
    n_connections = n_http_requests = n_ws[1] = n_ws[2] = 0;
    faults_fired = 0;
}

/* ---- faults ---------------------------------------------------------------------------- */

int fault_add(const char *kind, const char *method, const char *path, int count, int retry_after,
              int process)
{
    int k = -1;
    for (int i = 0; i < F_NKINDS; i++)
        if (!strcmp(kind, FAULT_NAMES[i]))
            k = i;
    if (k < 0 || nfaults == (int)(sizeof faults / sizeof *faults))
        return -1;
    fault_t *f = &faults[nfaults++];
    memset(f, 0, sizeof *f);
    f->kind = k;
    f->count = count > 0 ? count : 1;
    f->retry_after = retry_after;
    f->process = process >= 0 ? process : k == F_DROP;
    snprintf(f->method, sizeof f->method, "%s", method ? method : "*");
    snprintf(f->path, sizeof f->path, "%s", path ? path : "");
    return 0;
}

void faults_clear(void)
{
    nfaults = 0;
}

void faults_json(sb_t *b)
{
    sb_puts(b, "[");
    int n = 0;
    for (int i = 0; i < nfaults; i++) {
        if (!faults[i].count)
            continue;
        if (n++)
            sb_puts(b, ",");
        sb_printf(b, "{\"kind\":\"%s\",\"method\":", FAULT_NAMES[faults[i].kind]);
        sb_jstr(b, faults[i].method);
        sb_puts(b, ",\"path\":"), sb_jstr(b, faults[i].path);
        sb_printf(b, ",\"count\":%d,\"retry_after\":%d,\"process\":%s}", faults[i].count,
                  faults[i].retry_after, faults[i].process ? "true" : "false");
    }
    sb_puts(b, "]");
}

/* The first armed fault matching method and path (ws: only ws_drop, http: all others);
 * it is used up by one. */
static fault_t *fault_take(const char *method, const char *path, int ws)
{
    for (int i = 0; i < nfaults; i++) {
        fault_t *f = &faults[i];
        if (!f->count || (f->kind == F_WS_DROP) != ws)
            continue;
        if (!ws && strcmp(f->method, "*") && strcmp(f->method, method))
            continue;
        if (strncmp(path, f->path, strlen(f->path)))
            continue;
        f->count--;
        faults_fired++;
        return f;
    }
    return NULL;
}

/* Close the TCP connection with a reset: the socket is swapped for /dev/null (so lws
 * closes that later) and its last descriptor closed with SO_LINGER 0. */
static void reset_socket(struct lws *wsi)
{
    int fd = lws_get_socket_fd(wsi);
    if (fd < 0)
        return;
    struct linger l = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    int nul = open("/dev/null", O_RDWR);
    if (nul >= 0) {
        dup2(nul, fd);
        close(nul);
    }
}

/* ---- WebSocket ------------------------------------------------------------------------- */

static msg_t *ws_send(struct pss *p, const char *s, size_t len, int binary)
{
    msg_t *m = malloc(sizeof *m + LWS_PRE + len);
    if (!m)
        abort();
    m->next = NULL;
    m->len = len;
    m->binary = binary;
    m->bar_symbol[0] = '\0';
    memcpy(m->buf + LWS_PRE, s, len);
    if (p->tail)
        p->tail->next = m;
    else
        p->head = m;
    p->tail = m;
    lws_callback_on_writable(p->wsi);
    return m;
}

static void ws_sends(struct pss *p, const char *s)
{
    ws_send(p, s, strlen(s), p->kind == K_TRADE && !trade_text);
}

static void emit_trade(const char *json, size_t len)
{
    for (struct pss *p = ws_list; p; p = p->next)
        if (p->kind == K_TRADE && p->authed && p->listening)
            ws_send(p, json, len, !trade_text); /* Alpaca's paper stream: binary frames */
}

static int subscribed(const subs_t *s, const char *symbol)
{
    if (s->all)
        return 1;
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->sym[i], symbol))
            return 1;
    return 0;
}

static void emit_market(const char *symbol, char kind, const char *json, size_t len)
{
    int k = kind == 't' ? 0 : kind == 'q' ? 1 : 2;
    for (struct pss *p = ws_list; p; p = p->next)
        if (p->kind == K_DATA && p->authed && subscribed(&p->subs[k], symbol) &&
            is_crypto(symbol) == !strncmp(p->ws_path, "/v1beta3/crypto/", 16)) { /* its feed */
            msg_t *m = ws_send(p, json, len, 0);
            if (timeline && kind == 'b')
                snprintf(m->bar_symbol, sizeof m->bar_symbol, "%s", symbol);
        }
}

static void emit_news(const char *symbols, const char *json, size_t len)
{
    for (struct pss *p = ws_list; p; p = p->next) {
        if (p->kind != K_DATA || !p->authed)
            continue;
        int hit = p->subs[3].all;
        char tmp[1024];
        snprintf(tmp, sizeof tmp, "%s", symbols);
        for (char *save = NULL, *t = strtok_r(tmp, ",", &save); t && !hit;
             t = strtok_r(NULL, ",", &save))
            hit = subscribed(&p->subs[3], t);
        if (hit)
            ws_send(p, json, len, 0);
    }
}

int ws_drop(const char *prefix)
{
    int n = 0;
    for (struct pss *p = ws_list; p; p = p->next)
        if (!strncmp(p->ws_path, prefix, strlen(prefix)) && !p->closing) {
            p->closing = 2;
            lws_callback_on_writable(p->wsi);
            n++;
        }
    return n;
}

static const char *SUB_NAMES[] = {"trades", "quotes", "bars", "news"};
enum { NSUBS = 4 };

static void subs_update(subs_t *s, json_t *arr, int add)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        const char *sym = json_string_value(v);
        if (!sym)
            continue;
        if (!strcmp(sym, "*")) {
            s->all = add;
            continue;
        }
        int at = -1;
        for (int k = 0; k < s->n; k++)
            if (!strcmp(s->sym[k], sym))
                at = k;
        if (add && at < 0 && s->n < 128)
            snprintf(s->sym[s->n++], sizeof s->sym[0], "%s", sym);
        if (!add && at >= 0)
            memcpy(s->sym[at], s->sym[--s->n], sizeof s->sym[0]);
    }
}

static void data_message(struct pss *p, json_t *j)
{
    const char *action = json_string_value(json_object_get(j, "action"));
    if (!action) {
        ws_sends(p, "[{\"T\":\"error\",\"code\":400,\"msg\":\"invalid syntax\"}]");
        return;
    }
    if (!strcmp(action, "auth")) {
        const char *k = json_string_value(json_object_get(j, "key"));
        const char *s = json_string_value(json_object_get(j, "secret"));
        if (p->authed)
            ws_sends(p, "[{\"T\":\"error\",\"code\":403,\"msg\":\"already authenticated\"}]");
        else if (k && s && !strcmp(k, S.key) && !strcmp(s, S.secret)) {
            p->authed = 1;
            ws_sends(p, "[{\"T\":\"success\",\"msg\":\"authenticated\"}]");
        } else
            ws_sends(p, "[{\"T\":\"error\",\"code\":402,\"msg\":\"auth failed\"}]");
        return;
    }
    int add = !strcmp(action, "subscribe");
    if (!add && strcmp(action, "unsubscribe")) {
        ws_sends(p, "[{\"T\":\"error\",\"code\":400,\"msg\":\"invalid syntax\"}]");
        return;
    }
    if (!p->authed) {
        ws_sends(p, "[{\"T\":\"error\",\"code\":401,\"msg\":\"not authenticated\"}]");
        return;
    }
    for (int k = 0; k < NSUBS; k++)
        subs_update(&p->subs[k], json_object_get(j, SUB_NAMES[k]), add);
    sb_t b = {0};
    sb_puts(&b, "[{\"T\":\"subscription\"");
    for (int k = 0; k < NSUBS; k++) {
        sb_printf(&b, ",\"%s\":[", SUB_NAMES[k]);
        int n = 0;
        if (p->subs[k].all)
            sb_puts(&b, "\"*\""), n++;
        for (int i = 0; i < p->subs[k].n; i++) {
            if (n++)
                sb_puts(&b, ",");
            sb_jstr(&b, p->subs[k].sym[i]);
        }
        sb_puts(&b, "]");
    }
    sb_puts(&b, ",\"updatedBars\":[],\"dailyBars\":[],\"statuses\":[],\"lulds\":[],"
                "\"corrections\":[],\"cancelErrors\":[]}]");
    ws_send(p, b.p, b.len, 0);
    sb_free(&b);
}

static void trade_message(struct pss *p, json_t *j)
{
    const char *action = json_string_value(json_object_get(j, "action"));
    if (action && (!strcmp(action, "auth") || !strcmp(action, "authenticate"))) {
        json_t *d = json_object_get(j, "data");
        const char *k = json_string_value(json_object_get(j, "key"));
        const char *s = json_string_value(json_object_get(j, "secret"));
        if (!k)
            k = json_string_value(json_object_get(d, "key_id"));
        if (!s)
            s = json_string_value(json_object_get(d, "secret_key"));
        p->authed = k && s && !strcmp(k, S.key) && !strcmp(s, S.secret);
        ws_sends(p, p->authed ? "{\"stream\":\"authorization\",\"data\":{\"action\":"
                                "\"authenticate\",\"status\":\"authorized\"}}"
                              : "{\"stream\":\"authorization\",\"data\":{\"action\":"
                                "\"authenticate\",\"status\":\"unauthorized\"}}");
        if (!p->authed)
            p->closing = 1; /* after the reply */
        return;
    }
    if (action && !strcmp(action, "listen")) {
        if (!p->authed) {
            ws_sends(p, "{\"stream\":\"authorization\",\"data\":{\"action\":\"listen\","
                        "\"status\":\"unauthorized\"}}");
            return;
        }
        json_t *streams = json_object_get(json_object_get(j, "data"), "streams");
        size_t i;
        json_t *v;
        p->listening = 0;
        json_array_foreach(streams, i, v)
        {
            const char *s = json_string_value(v);
            if (s && !strcmp(s, "trade_updates"))
                p->listening = 1;
        }
        ws_sends(p, p->listening
                        ? "{\"stream\":\"listening\",\"data\":{\"streams\":[\"trade_updates\"]}}"
                        : "{\"stream\":\"listening\",\"data\":{\"streams\":[]}}");
        return;
    }
    ws_sends(p, "{\"stream\":\"listening\",\"data\":{\"error\":\"invalid action\"}}");
}

static void ws_unlink(struct pss *p)
{
    for (struct pss **q = &ws_list; *q; q = &(*q)->next)
        if (*q == p) {
            *q = p->next;
            break;
        }
    while (p->head) {
        msg_t *m = p->head;
        p->head = m->next;
        free(m);
    }
    p->tail = NULL;
    sb_free(&p->rx);
}

/* ---- HTTP ------------------------------------------------------------------------------ */

static void http_reset(struct pss *p)
{
    for (int i = 0; i < p->nargs; i++)
        free(p->args[i]);
    p->nargs = 0;
    sb_free(&p->body);
    sb_free(&p->resp);
    p->fault = -1;
    p->pending = 0;
    p->status = 0;
    p->retry_after = 0;
}

static int header(struct lws *wsi, const char *name, char *buf, int len)
{
    int n = lws_hdr_custom_copy(wsi, buf, len, name, (int)strlen(name));
    return n >= 0;
}

static void dispatch(struct pss *p)
{
    char key[256], secret[256];
    req_t r = {0};
    r.method = p->method;
    r.path = p->path;
    r.args = p->args;
    r.nargs = p->nargs;
    r.body = p->body.p ? p->body.p : "";
    r.body_len = p->body.len;
    r.key = header(p->wsi, "apca-api-key-id:", key, sizeof key) ? key : NULL;
    r.secret = header(p->wsi, "apca-api-secret-key:", secret, sizeof secret) ? secret : NULL;
    int control = !strncmp(p->path, "/_control/", 10);
    fault_t *f = control ? NULL : fault_take(p->method, p->path, 0);
    if (!control)
        count_request(p->method, p->path);
    if (!control && timeline)
        timeline_request(p->method, p->path, r.body, r.body_len);
    p->resp.len = 0;
    if (f) {
        p->fault = f->kind;
        p->retry_after = f->retry_after;
        if (f->process)
            p->status = api_handle(&r, &p->resp);
    } else {
        p->status = control ? control_handle(&r, &p->resp) : api_handle(&r, &p->resp);
    }
    if (verbose)
        fprintf(stderr, "fake-alpaca: %s %s -> %d%s%s\n", p->method, p->path, p->status,
                f ? " fault " : "", f ? FAULT_NAMES[f->kind] : "");
    if (p->fault == F_HANG) {
        lws_set_timeout(p->wsi, NO_PENDING_TIMEOUT, 0);
        return; /* never answered */
    }
    p->pending = 1;
    lws_callback_on_writable(p->wsi);
}

static int http_write(struct lws *wsi, struct pss *p)
{
    if (!p->pending)
        return 0;
    p->pending = 0;
    if (p->fault == F_RESET) {
        reset_socket(wsi);
        return -1;
    }
    if (p->fault == F_DROP)
        return -1;
    int status = p->status;
    const char *body = p->resp.p ? p->resp.p : "";
    size_t len = p->resp.len, clen;
    sb_t alt = {0};
    switch (p->fault) {
    case F_500:
        status = 500;
        sb_puts(&alt, "{\"code\":50010000,\"message\":\"internal server error\"}");
        break;
    case F_429:
        status = 429;
        sb_puts(&alt, "{\"code\":42910000,\"message\":\"rate limit exceeded\"}");
        break;
    case F_MALFORMED:
        status = 200;
        sb_putn(&alt, body, len / 2);
        sb_puts(&alt, "{\"id\": \"malformed\", \"qty\": ,, <html>");
        break;
    case F_TRUNCATED:
        if (!len) {
            status = 200;
            sb_puts(&alt, "{\"message\":\"this response is cut short by a fault\"}");
        }
        break;
    default:
        break;
    }
    if (alt.p) {
        body = alt.p;
        len = alt.len;
    }
    clen = len;
    size_t send = p->fault == F_TRUNCATED ? len / 2 : len;
    unsigned char hdr[LWS_PRE + 2048], *start = hdr + LWS_PRE, *q = start,
                                       *end = hdr + sizeof hdr - 1;
    char rid[40];
    snprintf(rid, sizeof rid, "%016llx", (unsigned long long)++request_counter);
    if (lws_add_http_common_headers(wsi, (unsigned)status, "application/json",
                                    status == 204 ? 0 : clen, &q, end) ||
        lws_add_http_header_by_name(wsi, (const unsigned char *)"x-request-id:",
                                    (const unsigned char *)rid, (int)strlen(rid), &q, end)) {
        sb_free(&alt);
        return -1;
    }
    if (status == 429) {
        char ra[16];
        snprintf(ra, sizeof ra, "%d", p->retry_after);
        if (lws_add_http_header_by_name(wsi, (const unsigned char *)"retry-after:",
                                        (const unsigned char *)ra, (int)strlen(ra), &q, end)) {
            sb_free(&alt);
            return -1;
        }
    }
    if (lws_finalize_write_http_header(wsi, start, &q, end)) {
        sb_free(&alt);
        return -1;
    }
    if (status != 204 && send) {
        unsigned char *buf = malloc(LWS_PRE + send);
        if (!buf)
            abort();
        memcpy(buf + LWS_PRE, body, send);
        int w = lws_write(wsi, buf + LWS_PRE, send,
                          p->fault == F_TRUNCATED ? LWS_WRITE_HTTP : LWS_WRITE_HTTP_FINAL);
        free(buf);
        if (w < 0) {
            sb_free(&alt);
            return -1;
        }
    }
    sb_free(&alt);
    int fault = p->fault;
    http_reset(p); /* the buffers go now: the connection may wait long for its next request */
    if (fault == F_TRUNCATED)
        return -1;
    if (lws_http_transaction_completed(wsi))
        return -1;
    return 0;
}

static int method_of(struct lws *wsi, char *out, size_t n)
{
    static const struct {
        enum lws_token_indexes tok;
        const char *name;
    } m[] = {{WSI_TOKEN_GET_URI, "GET"},     {WSI_TOKEN_POST_URI, "POST"},
             {WSI_TOKEN_PATCH_URI, "PATCH"}, {WSI_TOKEN_DELETE_URI, "DELETE"},
             {WSI_TOKEN_PUT_URI, "PUT"},     {WSI_TOKEN_OPTIONS_URI, "OPTIONS"},
             {WSI_TOKEN_HEAD_URI, "HEAD"}};
    for (size_t i = 0; i < sizeof m / sizeof *m; i++)
        if (lws_hdr_total_length(wsi, m[i].tok) > 0) {
            snprintf(out, n, "%s", m[i].name);
            return 0;
        }
    return -1;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    struct pss *p = user;
    switch (reason) {
    case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
        n_connections++;
        break;
    case LWS_CALLBACK_HTTP: {
        http_reset(p);
        p->wsi = wsi;
        p->kind = K_HTTP;
        if (method_of(wsi, p->method, sizeof p->method))
            return -1;
        snprintf(p->path, sizeof p->path, "%s", (const char *)in);
        char frag[1024];
        for (int i = 0; i < 32; i++) {
            int n = lws_hdr_copy_fragment(wsi, frag, sizeof frag, WSI_TOKEN_HTTP_URI_ARGS, i);
            if (n < 0)
                break;
            p->args[p->nargs++] = strdup(frag);
        }
        if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0) {
            char cl[32];
            lws_hdr_copy(wsi, cl, sizeof cl, WSI_TOKEN_HTTP_CONTENT_LENGTH);
            if (atol(cl) > 0)
                return 0; /* the body follows */
        }
        dispatch(p);
        return 0;
    }
    case LWS_CALLBACK_HTTP_BODY:
        if (p->body.len + len > (1 << 20))
            return -1;
        sb_putn(&p->body, in, len);
        return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        dispatch(p);
        return 0;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return http_write(wsi, p);
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        if (p && p->kind == K_HTTP)
            http_reset(p);
        break;
    case LWS_CALLBACK_ESTABLISHED: {
        char uri[64] = "";
        memset(p, 0, sizeof *p);
        p->wsi = wsi;
        lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI);
        snprintf(p->ws_path, sizeof p->ws_path, "%s", uri);
        if (!strcmp(uri, "/stream"))
            p->kind = K_TRADE;
        else if (!strncmp(uri, "/v2/", 4) || !strcmp(uri, "/v1beta1/news") ||
                 !strncmp(uri, "/v1beta3/crypto/", 16))
            p->kind = K_DATA;
        else
            return -1;
        n_ws[p->kind]++;
        p->next = ws_list;
        ws_list = p;
        if (p->kind == K_DATA)
            ws_sends(p, "[{\"T\":\"success\",\"msg\":\"connected\"}]");
        return 0;
    }
    case LWS_CALLBACK_RECEIVE: {
        sb_putn(&p->rx, in, len);
        if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
            return 0;
        json_t *j = json_loadb(p->rx.p, p->rx.len, 0, NULL);
        p->rx.len = 0;
        if (!json_is_object(j)) {
            if (p->kind == K_DATA)
                ws_sends(p, "[{\"T\":\"error\",\"code\":400,\"msg\":\"invalid syntax\"}]");
            else
                ws_sends(p, "{\"stream\":\"listening\",\"data\":{\"error\":\"invalid syntax\"}}");
        } else if (p->kind == K_DATA) {
            data_message(p, j);
        } else {
            trade_message(p, j);
        }
        json_decref(j);
        return 0;
    }
    case LWS_CALLBACK_SERVER_WRITEABLE: {
        if (p->closing == 2) { /* dropped by the control API: a reset, no close frame */
            reset_socket(wsi);
            return -1;
        }
        msg_t *m = p->head;
        if (!m)
            return p->closing ? -1 : 0;
        p->head = m->next;
        if (!p->head)
            p->tail = NULL;
        fault_t *f = fault_take("", p->ws_path, 1);
        int proto = m->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT;
        if (f) { /* half a message (no FIN), then the connection is reset */
            lws_write(wsi, m->buf + LWS_PRE, m->len / 2, proto | LWS_WRITE_NO_FIN);
            free(m);
            reset_socket(wsi);
            return -1;
        }
        int w = lws_write(wsi, m->buf + LWS_PRE, m->len, proto);
        if (timeline && m->bar_symbol[0] && w >= 0)
            fprintf(timeline, "%lld bar %s\n", mono_us(), m->bar_symbol);
        free(m);
        if (w < 0)
            return -1;
        if (p->head || p->closing)
            lws_callback_on_writable(wsi);
        return 0;
    }
    case LWS_CALLBACK_CLOSED:
        ws_unlink(p);
        return 0;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static struct lws_protocols protocols[] = {
    {"fake-alpaca", callback, sizeof(struct pss), 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void usage(void)
{
    fprintf(stderr,
            "usage: fake-alpaca [--port N] [--key K] [--secret S] [--seed N] [--clock RFC3339]\n"
            "                   [--cash DECIMAL] [--fill next_price|immediate]\n"
            "                   [--market open|closed|auto] [--text-trade-stream] [--verbose]\n"
            "                   [--timeline FILE]\n"
            "Prints \"listening 127.0.0.1:PORT\" once ready. See tests/fake_alpaca/README.md.\n");
}

int main(int argc, char **argv)
{
    int port = 0;
    const char *key = getenv("FAKE_ALPACA_KEY"), *secret = getenv("FAKE_ALPACA_SECRET");
    const char *clock = "2024-01-02T15:00:00Z", *cash = "100000", *fill = "next_price",
               *market = "open";
    uint64_t seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--verbose")) {
            verbose = 1;
            continue;
        }
        if (!strcmp(a, "--text-trade-stream")) {
            trade_text = 1;
            continue;
        }
        if (!v) {
            usage();
            return 2;
        }
        i++;
        if (!strcmp(a, "--port"))
            port = atoi(v);
        else if (!strcmp(a, "--key"))
            key = v;
        else if (!strcmp(a, "--secret"))
            secret = v;
        else if (!strcmp(a, "--seed"))
            seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--clock"))
            clock = v;
        else if (!strcmp(a, "--cash"))
            cash = v;
        else if (!strcmp(a, "--fill"))
            fill = v;
        else if (!strcmp(a, "--market"))
            market = v;
        else if (!strcmp(a, "--timeline")) {
            timeline = fopen(v, "w");
            if (!timeline) {
                fprintf(stderr, "fake-alpaca: cannot write %s\n", v);
                return 1;
            }
            setvbuf(timeline, NULL, _IOLBF, 0);
        } else {
            usage();
            return 2;
        }
    }
    int64_t now;
    fx_t cash_fx;
    if (time_parse(clock, &now) || fx_parse(cash, &cash_fx) ||
        (strcmp(fill, "next_price") && strcmp(fill, "immediate")) ||
        (strcmp(market, "open") && strcmp(market, "closed") && strcmp(market, "auto"))) {
        usage();
        return 2;
    }
    state_init(seed, now, cash_fx);
    snprintf(S.key, sizeof S.key, "%s", key ? key : "test-key");
    snprintf(S.secret, sizeof S.secret, "%s", secret ? secret : "test-secret");
    S.fill_immediate = !strcmp(fill, "immediate");
    S.market = !strcmp(market, "open") ? 0 : !strcmp(market, "closed") ? 1 : 2;
    S.emit_trade = emit_trade;
    S.emit_market = emit_market;
    S.emit_news = emit_news;

    int rc = fake_serve("fake-alpaca", port, protocols, verbose);
    state_reset();
    if (timeline)
        fclose(timeline);
    return rc;
}
