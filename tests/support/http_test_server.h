/* http_test_server: a tiny HTTP/1.1 server for tests, on 127.0.0.1 (an ephemeral port)
 * in the test's own libuv loop. It records what arrives (hits per path with their times
 * and methods, the last request's headers and body) and hands each complete request to
 * the test's handler, which answers with hts_respond or scripts a fault (hts_write a
 * partial answer, hts_close with a reset, or nothing at all). Tests only: assertion
 * failures abort the test (cmocka). */
#ifndef APEX_TEST_HTTP_SERVER_H
#define APEX_TEST_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define HTS_MAX_PATHS 128
#define HTS_MAX_HITS  64

typedef struct {
    char path[64];
    int hits;
    uint64_t at[HTS_MAX_HITS]; /* uv_now() of each arrival */
    char method[HTS_MAX_HITS][8];
} hts_path_stats;

typedef struct hts_conn hts_conn;

/* Answers one request: `nth` is 1 for the first hit of this path. The request's body is
 * in c->srv->last_body. A handler that answers nothing leaves the client waiting. */
typedef void (*hts_handler)(hts_conn *c, const char *method, const char *path, int nth, void *ud);

typedef struct {
    uv_loop_t *loop;
    uv_tcp_t listener;
    int port;
    int accepted;
    hts_conn *conns;
    hts_path_stats paths[HTS_MAX_PATHS];
    int npaths;
    char last_headers[4096]; /* the request headers of the last request, for echoing */
    char *last_body;         /* the body of the last request (malloc'd, NUL-terminated) */
    size_t last_body_len;
    hts_handler handler; /* answers each request */
    void *handler_ud;
} hts_server;

struct hts_conn {
    uv_tcp_t tcp;
    hts_server *srv;
    char *buf;
    size_t len, cap;
    bool closing;
    int served; /* requests handled on this connection */
    hts_conn *next;
};

/* Listens on 127.0.0.1 on an ephemeral port (s->port) with `handler`. */
void hts_start(hts_server *s, uv_loop_t *loop, hts_handler handler, void *ud);
/* Closes every connection and the listener; run the loop to let them close. */
void hts_stop(hts_server *s);
/* The record of path (created empty when none arrived yet). */
hts_path_stats *hts_stats(hts_server *s, const char *path);
/* Requests that arrived for path. */
int hts_hits(hts_server *s, const char *path);
/* A complete answer with Content-Length; extra is more header lines ("Name: v\r\n"). */
void hts_respond(hts_conn *c, int status, const char *reason, const char *extra, const char *body);
/* Raw bytes; reset_after resets the connection once they are written. */
void hts_write(hts_conn *c, const char *data, size_t len, bool reset_after);
/* Closes the connection (reset: with an RST). */
void hts_close(hts_conn *c, bool reset);

#endif
