/* worker: the API's store reads on a libuv worker thread, so a request that scans the
 * store cannot hold the loop (a check or an exit waits for nothing the server does).
 *
 * A read that may take more than a moment (a list, the metrics document with its
 * analytics, the pipelines' rows) is a server_job: its `work` runs on a thread of libuv's
 * pool over the server's third connection, `bg`, read-only and used by nothing else; its
 * `done` runs back on the loop, where it may add what only the running host knows (a
 * pipeline's live state) before the response is written. Jobs run one at a time in the
 * order they came: one connection, so SQLite never sees two threads on it (the store opens
 * connections NOMUTEX), and the pool's other threads stay free for libuv's own work.
 *
 * A job belongs to its connection until the connection closes; then it is orphaned
 * (c = NULL), finishes on the worker all the same (a running statement cannot be taken
 * back), and its response is dropped. The teardown waits for a running job before it
 * closes `bg` (server_jobs_idle). */
#include "server/server_internal.h"

#include <stdlib.h>

#include "util/log.h"

static void start_next(server *s);

static void on_work(uv_work_t *req)
{
    server_job *j = req->data;
    j->work(j, j->s->bg);
}

static void on_done(uv_work_t *req, int status)
{
    server_job *j = req->data;
    server *s = j->s;
    s->running = NULL;
    if (status == 0 && j->c && !s->stopping) {
        if (j->done)
            j->done(j);
        j->c->job = NULL;
        server_respond_later(j->c, &j->r);
        j->r.body = NULL; /* the connection owns it now */
    } else if (j->c) {
        j->c->job = NULL;
    }
    free(j->r.body);
    j->free(j);
    start_next(s);
}

static void start_next(server *s)
{
    if (s->running || !s->jobs_head || s->stopping)
        return;
    server_job *j = s->jobs_head;
    s->jobs_head = j->next;
    if (!s->jobs_head)
        s->jobs_tail = NULL;
    j->next = NULL;
    j->req.data = j;
    s->running = j;
    int rc = uv_queue_work(s->loop, &j->req, on_work, on_done);
    if (rc != 0) { /* cannot happen with a live loop; answer rather than hang the client */
        s->running = NULL;
        log_error("http: cannot queue a store read: %s", uv_strerror(rc));
        api_error(&j->r, 503, "the server cannot read the store now; try again");
        if (j->c) {
            j->c->job = NULL;
            server_respond_later(j->c, &j->r);
            j->r.body = NULL;
        }
        free(j->r.body);
        j->free(j);
        start_next(s);
    }
}

int server_job_submit(server *s, conn *c, server_job *j)
{
    if (!s->bg) {
        char err[512];
        s->bg = store_open(s->db_path, STORE_READONLY, err, sizeof err);
        if (!s->bg) {
            api_error(&j->r, 500, "%s", err);
            return -1;
        }
    }
    j->s = s;
    j->c = c;
    c->job = j;
    j->next = NULL;
    if (s->jobs_tail)
        s->jobs_tail->next = j;
    else
        s->jobs_head = j;
    s->jobs_tail = j;
    start_next(s);
    return 0;
}

void server_job_conn_closed(conn *c)
{
    if (c && c->job) {
        c->job->c = NULL;
        c->job = NULL;
    }
}

bool server_jobs_idle(server *s)
{
    return s->running == NULL;
}

void server_jobs_stop(server *s)
{
    /* The queued ones never started: their connections are being closed anyway. */
    for (server_job *j = s->jobs_head, *next; j; j = next) {
        next = j->next;
        if (j->c)
            j->c->job = NULL;
        free(j->r.body);
        j->free(j);
    }
    s->jobs_head = s->jobs_tail = NULL;
}
