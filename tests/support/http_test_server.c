/* http_test_server: see http_test_server.h. */
#include "http_test_server.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

hts_path_stats *hts_stats(hts_server *s, const char *path)
{
    for (int i = 0; i < s->npaths; i++)
        if (strcmp(s->paths[i].path, path) == 0)
            return &s->paths[i];
    assert_true(s->npaths < HTS_MAX_PATHS);
    hts_path_stats *p = &s->paths[s->npaths++];
    memset(p, 0, sizeof *p);
    snprintf(p->path, sizeof p->path, "%s", path);
    return p;
}

int hts_hits(hts_server *s, const char *path)
{
    for (int i = 0; i < s->npaths; i++)
        if (strcmp(s->paths[i].path, path) == 0)
            return s->paths[i].hits;
    return 0;
}

static void on_conn_closed(uv_handle_t *h)
{
    hts_conn *c = h->data;
    free(c->buf);
    free(c);
}

void hts_close(hts_conn *c, bool reset)
{
    if (c->closing)
        return;
    c->closing = true;
    for (hts_conn **pp = &c->srv->conns; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
    if (reset)
        uv_tcp_close_reset(&c->tcp, on_conn_closed);
    else
        uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

typedef struct {
    uv_write_t req;
    hts_conn *c;
    char *data;
    bool reset_after; /* reset the connection once this is written */
} write_req;

static void on_written(uv_write_t *w, int status)
{
    write_req *wr = (write_req *)w;
    if (!wr->c->closing && (status < 0 || wr->reset_after))
        hts_close(wr->c, wr->reset_after);
    free(wr->data);
    free(wr);
}

void hts_write(hts_conn *c, const char *data, size_t len, bool reset_after)
{
    write_req *wr = calloc(1, sizeof *wr);
    assert_non_null(wr);
    wr->c = c;
    wr->data = malloc(len);
    assert_non_null(wr->data);
    memcpy(wr->data, data, len);
    wr->reset_after = reset_after;
    uv_buf_t b = uv_buf_init(wr->data, (unsigned)len);
    assert_int_equal(uv_write(&wr->req, (uv_stream_t *)&c->tcp, &b, 1, on_written), 0);
}

void hts_respond(hts_conn *c, int status, const char *reason, const char *extra, const char *body)
{
    char head[512];
    int n = snprintf(head, sizeof head, "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\n%s\r\n", status,
                     reason, strlen(body), extra ? extra : "");
    size_t blen = strlen(body);
    char *all = malloc((size_t)n + blen);
    assert_non_null(all);
    memcpy(all, head, (size_t)n);
    memcpy(all + n, body, blen);
    hts_write(c, all, (size_t)n + blen, false);
    free(all);
}

/* Handles every complete request in the connection's buffer. */
static void serve(hts_conn *c)
{
    hts_server *s = c->srv;
    for (;;) {
        char *end = c->len ? strstr(c->buf, "\r\n\r\n") : NULL;
        if (!end)
            return;
        size_t head_len = (size_t)(end - c->buf) + 4;
        size_t body_len = 0;
        for (char *l = c->buf; l && l < end; l = strstr(l, "\r\n"), l = l ? l + 2 : NULL)
            if (strncasecmp(l, "Content-Length:", 15) == 0)
                body_len = strtoul(l + 15, NULL, 10);
        if (c->len < head_len + body_len)
            return;
        char method[8] = "", path[64] = "";
        assert_int_equal(sscanf(c->buf, "%7s %63s", method, path), 2);
        size_t hl = head_len < sizeof s->last_headers ? head_len : sizeof s->last_headers - 1;
        memcpy(s->last_headers, c->buf, hl);
        s->last_headers[hl] = '\0';
        free(s->last_body);
        s->last_body = malloc(body_len + 1);
        assert_non_null(s->last_body);
        memcpy(s->last_body, c->buf + head_len, body_len);
        s->last_body[body_len] = '\0';
        s->last_body_len = body_len;
        hts_path_stats *p = hts_stats(s, path);
        if (p->hits < HTS_MAX_HITS) {
            p->at[p->hits] = uv_now(s->loop);
            snprintf(p->method[p->hits], sizeof p->method[0], "%s", method);
        }
        int nth = ++p->hits;
        size_t used = head_len + body_len;
        memmove(c->buf, c->buf + used, c->len - used);
        c->len -= used;
        c->buf[c->len] = '\0';
        c->served++;
        s->handler(c, method, path, nth, s->handler_ud);
        if (c->closing)
            return;
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    buf->base = malloc(65536);
    buf->len = buf->base ? 65536 : 0;
}

static void on_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf)
{
    hts_conn *c = stream->data;
    if (n < 0) {
        hts_close(c, false);
    } else if (n > 0 && !c->closing) {
        if (c->len + (size_t)n + 1 > c->cap) {
            c->cap = (c->len + (size_t)n + 1) * 2;
            c->buf = realloc(c->buf, c->cap);
            assert_non_null(c->buf);
        }
        memcpy(c->buf + c->len, buf->base, (size_t)n);
        c->len += (size_t)n;
        c->buf[c->len] = '\0';
        serve(c);
    }
    free(buf->base);
}

static void on_connection(uv_stream_t *listener, int status)
{
    hts_server *s = listener->data;
    assert_int_equal(status, 0);
    hts_conn *c = calloc(1, sizeof *c);
    assert_non_null(c);
    c->srv = s;
    uv_tcp_init(s->loop, &c->tcp);
    c->tcp.data = c;
    assert_int_equal(uv_accept(listener, (uv_stream_t *)&c->tcp), 0);
    c->next = s->conns;
    s->conns = c;
    s->accepted++;
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

void hts_start(hts_server *s, uv_loop_t *loop, hts_handler handler, void *ud)
{
    memset(s, 0, sizeof *s);
    s->loop = loop;
    s->handler = handler;
    s->handler_ud = ud;
    struct sockaddr_in addr;
    uv_ip4_addr("127.0.0.1", 0, &addr);
    assert_int_equal(uv_tcp_init(loop, &s->listener), 0);
    s->listener.data = s;
    assert_int_equal(uv_tcp_bind(&s->listener, (const struct sockaddr *)&addr, 0), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&s->listener, 128, on_connection), 0);
    struct sockaddr_in bound;
    int len = sizeof bound;
    uv_tcp_getsockname(&s->listener, (struct sockaddr *)&bound, &len);
    s->port = ntohs(bound.sin_port);
}

void hts_stop(hts_server *s)
{
    while (s->conns)
        hts_close(s->conns, false);
    free(s->last_body);
    s->last_body = NULL;
    uv_close((uv_handle_t *)&s->listener, NULL);
}
