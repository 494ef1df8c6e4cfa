/* server_internal: what the server's files share (server.h has the module's story). */
#ifndef APEX_SERVER_INTERNAL_H
#define APEX_SERVER_INTERNAL_H

#include <jansson.h>
#include <libwebsockets.h>
#include <stdbool.h>
#include <uv.h>

#include "server/server.h"
#include "store/store.h"
#include "store/store_api.h"

#define SERVER_TOKEN_MAX   256
#define SERVER_BODY_MAX    4096       /* a POST's JSON body: a reason, nothing larger */
#define SERVER_CHUNK       16384      /* bytes per writable callback */
#define STREAM_TICK_MS     250        /* at most 4 pushes a second per client */
#define STREAM_QUEUE_MAX   (1u << 20) /* bytes queued for one client before it is dropped */
#define STREAM_EVENTS_TICK 200        /* events read per tick; more wait for the next */
#define SERVER_CHART_BARS  300 /* bars per traded symbol kept for GET /api/v1/bars (21.6 KB) */

struct server_job;

typedef struct stream_msg {
    struct stream_msg *next;
    size_t len;
    unsigned char *buf; /* LWS_PRE bytes of headroom, then len bytes */
} stream_msg;

/* One connection: an HTTP exchange or a stream client (lws per-session data). */
typedef struct conn {
    server *srv;
    struct lws *wsi;
    bool is_stream;
    /* HTTP */
    bool is_post;
    bool answered;
    char path[256];
    char body[SERVER_BODY_MAX + 1];
    size_t body_len;
    bool body_too_big;
    struct server_job *job; /* a store read on the worker for this request, or NULL */
    char *resp;             /* the response body, owned */
    size_t resp_len, resp_sent;
    int status;
    const char *content_type;
    /* stream */
    stream_msg *head, *tail;
    size_t queued;
    bool drop; /* over its bound: closed at its next writable */
    struct conn *next_client;
} conn;

struct server {
    uv_loop_t *loop;
    server_options opt;
    char db_path[4200];
    struct lws_context *ctx;
    int pipe_fd; /* lws's event pipe (see net/ws.c: held across its second close) */
    host_view view;
    bool live; /* view holds the run's pipelines */
    store *rd; /* read-only connection, on the loop (readiness, the stream) */
    store *bg; /* read-only connection of the worker's jobs (worker.c) */
    struct server_job *jobs_head, *jobs_tail, *running;
    store *wr; /* writes (run only), opened when first needed */
    char token[SERVER_TOKEN_MAX];
    bool has_token;
    char token_source[256];
    double started; /* wall seconds, for uptime */
    /* readiness: the write probe, at most every READY_PROBE_S */
    double probe_at;
    bool probe_ok;
    char probe_reason[256];
    /* stream */
    conn *clients;
    int nclients;
    uv_timer_t tick;
    int64_t last_event_id;
    struct pos_mark *marks;
    int nmarks, capmarks;
    /* teardown */
    bool stopping;
    int reap_phase, reap_ticks;
    bool reap_busy;
    uv_timer_t reaper;
    bool done;
};

/* A response: status, JSON or other body (malloc'd, owned by the caller afterwards). */
typedef struct {
    int status;
    const char *content_type;
    char *body;
    size_t len;
} response;

/* api.c: answers one request (method GET or POST, path without the query, the
 * connection for its query string and headers). True when r holds the answer; false when a
 * server_job will answer it (server_respond_later). */
bool api_handle(server *s, conn *c, response *r);
/* JSON helpers the stream shares. */
json_t *api_row_json(const store_api_row *row);
void api_error(response *r, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void api_json(response *r, int status, json_t *j); /* steals j */

/* server.c: starts the response to c outside an lws callback (a job's answer); on failure
 * the connection is closed. Takes r->body. */
void server_respond_later(conn *c, response *r);

/* worker.c: store reads on a libuv worker thread (worker.c tells why and how). */
typedef struct server_job {
    uv_work_t req;
    server *s;
    conn *c; /* NULL once the connection closed: the answer is dropped */
    /* On the worker: reads db (the job's own connection) into r; touches nothing else of
     * the server, and never the connection or the host's pipelines. */
    void (*work)(struct server_job *j, store *db);
    /* On the loop, before r is written; NULL = nothing to add. */
    void (*done)(struct server_job *j);
    void (*free)(struct server_job *j);
    response r;
    struct server_job *next;
} server_job;

/* Queues j for c; 0, or -1 with j->r holding the error (the caller answers it now and
 * still owns j). */
int server_job_submit(server *s, conn *c, server_job *j);
void server_job_conn_closed(conn *c);
bool server_jobs_idle(server *s);
void server_jobs_stop(server *s); /* frees the queued jobs; a running one finishes */

/* health.c */
void health_live(server *s, response *r);
void health_ready(server *s, response *r);

/* assets.c: GET / and /assets/...; false when no such file. */
bool assets_serve(const char *path, response *r);

/* stream.c */
void stream_open(server *s, conn *c);
void stream_close(server *s, conn *c);
int stream_writable(server *s, conn *c); /* -1 = close the connection */
void stream_stop(server *s);

#endif
