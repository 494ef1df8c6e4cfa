/* stream: the push stream at /api/v1/stream (a WebSocket, docs/api.md).
 *
 * While a client is connected, a timer every STREAM_TICK_MS reads what changed in the
 * store on the server's read connection and pushes it to every client:
 *   event      each new row of the events table, in order
 *   execution  an execution whose status changed (a "status" event names it), its row
 *   position   an open position whose mark, price or quantity moved since the last push
 *   position_closed  an open position that is no longer open: {"id": N}
 * Each is {"type": ..., "data": {...}}. A tick is one burst, so a client gets at most
 * four bursts a second, each execution and position at most once per burst (coalesced:
 * the latest state). What a client has not taken is queued up to STREAM_QUEUE_MAX bytes;
 * past that it is dropped (close 1008, "too slow") rather than buffered without limit. It
 * can reconnect and catch up with GET /api/v1/events?after=ID.
 *
 * The poll reads the store, not the pipelines' memory, so `serve` streams a store that
 * another process is writing exactly as `run --http` streams its own; positions move as
 * often as the monitor persists them (monitoring.persist_interval in a live run). */
#include "server/server_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

struct pos_mark {
    int64_t id;
    int64_t upnl, price, qty;
    bool seen;
};

static void enqueue(server *s, conn *c, const char *text, size_t len)
{
    if (c->drop)
        return;
    if (c->queued + len > STREAM_QUEUE_MAX) {
        c->drop = true;
        log_warn("http: a stream client fell %zu bytes behind; dropping it", c->queued);
        lws_callback_on_writable(c->wsi);
        return;
    }
    stream_msg *m = malloc(sizeof *m + LWS_PRE + len);
    if (!m) {
        c->drop = true;
        lws_callback_on_writable(c->wsi);
        return;
    }
    m->next = NULL;
    m->len = len;
    m->buf = (unsigned char *)(m + 1);
    memcpy(m->buf + LWS_PRE, text, len);
    if (c->tail)
        c->tail->next = m;
    else
        c->head = m;
    c->tail = m;
    c->queued += len;
    (void)s;
    lws_callback_on_writable(c->wsi);
}

/* Sends {"type": type, "data": data} to every client (or only to `only`); steals data. */
static void push(server *s, conn *only, const char *type, json_t *data)
{
    json_t *msg = json_pack("{s:s,s:o}", "type", type, "data", data);
    char *text = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
    json_decref(msg);
    if (!text)
        return;
    size_t len = strlen(text);
    for (conn *c = s->clients; c; c = c->next_client)
        if (!only || c == only)
            enqueue(s, c, text, len);
    free(text);
}

/* ---- the poll ------------------------------------------------------------------------- */

typedef struct {
    server *s;
    int64_t execs[STREAM_EVENTS_TICK];
    int nexecs;
} event_scan;

static int on_event(void *ud, const store_api_row *row)
{
    event_scan *e = ud;
    e->s->last_event_id = row->id;
    int64_t exec = 0;
    const char *kind = "";
    for (int c = 0; c < row->ncols; c++) {
        if (strcmp(row->names[c], "execution_id") == 0 && !row->is_null[c])
            exec = row->ints[c];
        else if (strcmp(row->names[c], "kind") == 0)
            kind = row->texts[c];
    }
    if (exec > 0 && strcmp(kind, "status") == 0) {
        bool seen = false;
        for (int i = 0; i < e->nexecs; i++)
            seen = seen || e->execs[i] == exec;
        if (!seen && e->nexecs < STREAM_EVENTS_TICK)
            e->execs[e->nexecs++] = exec;
    }
    push(e->s, NULL, "event", api_row_json(row));
    return 0;
}

static int on_execution(void *ud, const store_api_row *row)
{
    push(ud, NULL, "execution", api_row_json(row));
    return 0;
}

static struct pos_mark *find_mark(server *s, int64_t id)
{
    for (int i = 0; i < s->nmarks; i++)
        if (s->marks[i].id == id)
            return &s->marks[i];
    if (s->nmarks == s->capmarks) {
        int cap = s->capmarks ? s->capmarks * 2 : 64;
        struct pos_mark *m = realloc(s->marks, (size_t)cap * sizeof *m);
        if (!m)
            return NULL;
        s->marks = m;
        s->capmarks = cap;
    }
    struct pos_mark *m = &s->marks[s->nmarks++];
    memset(m, 0, sizeof *m);
    m->id = id;
    m->upnl = INT64_MIN; /* new: pushed once */
    return m;
}

static int64_t col_int(const store_api_row *row, const char *name)
{
    for (int c = 0; c < row->ncols; c++)
        if (strcmp(row->names[c], name) == 0)
            return row->ints[c];
    return 0;
}

static int on_position(void *ud, const store_api_row *row)
{
    server *s = ud;
    struct pos_mark *m = find_mark(s, row->id);
    if (!m)
        return 0;
    m->seen = true;
    int64_t upnl = col_int(row, "unrealized_pnl"), price = col_int(row, "current_price"),
            qty = col_int(row, "qty");
    if (m->upnl == upnl && m->price == price && m->qty == qty)
        return 0;
    m->upnl = upnl;
    m->price = price;
    m->qty = qty;
    push(s, NULL, "position", api_row_json(row));
    return 0;
}

static void poll_store(server *s)
{
    event_scan e = {.s = s};
    store_api_filter f = {.after = s->last_event_id, .limit = STREAM_EVENTS_TICK, .follow = true};
    if (store_api_page(s->rd, STORE_API_EVENTS, &f, on_event, &e) != 0)
        log_warn("http stream: events: %s", store_errmsg(s->rd));
    for (int i = 0; i < e.nexecs; i++) {
        store_api_filter one = {.execution_id = e.execs[i], .limit = 1};
        store_api_page(s->rd, STORE_API_EXECUTIONS, &one, on_execution, s);
    }
    for (int i = 0; i < s->nmarks; i++)
        s->marks[i].seen = false;
    store_api_filter open = {.status = "open", .limit = STORE_API_MAX_LIMIT};
    if (store_api_page(s->rd, STORE_API_POSITIONS, &open, on_position, s) != 0)
        return;
    for (int i = 0; i < s->nmarks;) {
        if (s->marks[i].seen) {
            i++;
            continue;
        }
        push(s, NULL, "position_closed", json_pack("{s:I}", "id", (json_int_t)s->marks[i].id));
        s->marks[i] = s->marks[--s->nmarks];
    }
}

static void on_tick(uv_timer_t *t)
{
    server *s = t->data;
    if (!s->stopping && s->rd && s->clients)
        poll_store(s);
}

/* ---- clients -------------------------------------------------------------------------- */

void stream_open(server *s, conn *c)
{
    if (s->nclients == 0) {
        /* Only what happens from now on is pushed; history is GET /api/v1/events. */
        store_api_max_id(s->rd, STORE_API_EVENTS, &s->last_event_id);
        s->nmarks = 0;
        uv_timer_start(&s->tick, on_tick, STREAM_TICK_MS, STREAM_TICK_MS);
    }
    c->next_client = s->clients;
    s->clients = c;
    s->nclients++;
    push(s, c, "hello",
         json_pack("{s:s,s:b,s:b,s:I,s:i}", "version", APEX_VERSION, "read_only", s->opt.read_only,
                   "live", s->live, "last_event_id", (json_int_t)s->last_event_id, "tick_ms",
                   STREAM_TICK_MS));
    /* The open positions as they are now, so a new client starts complete. */
    if (s->nclients > 1) {
        store_api_filter open = {.status = "open", .limit = STORE_API_MAX_LIMIT};
        conn *saved = s->clients->next_client;
        s->clients->next_client = NULL; /* push to this client only */
        struct pos_mark *marks = s->marks;
        int n = s->nmarks, cap = s->capmarks;
        s->marks = NULL;
        s->nmarks = s->capmarks = 0;
        store_api_page(s->rd, STORE_API_POSITIONS, &open, on_position, s);
        free(s->marks);
        s->marks = marks;
        s->nmarks = n;
        s->capmarks = cap;
        s->clients->next_client = saved;
    }
}

static void free_queue(conn *c)
{
    for (stream_msg *m = c->head, *n; m; m = n) {
        n = m->next;
        free(m);
    }
    c->head = c->tail = NULL;
    c->queued = 0;
}

void stream_close(server *s, conn *c)
{
    for (conn **p = &s->clients; *p; p = &(*p)->next_client)
        if (*p == c) {
            *p = c->next_client;
            s->nclients--;
            break;
        }
    free_queue(c);
    if (s->nclients == 0 && !s->stopping)
        uv_timer_stop(&s->tick);
}

int stream_writable(server *s, conn *c)
{
    (void)s;
    if (c->drop) {
        static const char why[] = "too slow";
        lws_close_reason(c->wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, (unsigned char *)why,
                         sizeof why - 1);
        return -1;
    }
    stream_msg *m = c->head;
    if (!m)
        return 0;
    int w = lws_write(c->wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT);
    if (w < (int)m->len)
        return -1;
    c->head = m->next;
    if (!c->head)
        c->tail = NULL;
    c->queued -= m->len;
    free(m);
    if (c->head)
        lws_callback_on_writable(c->wsi);
    return 0;
}

void stream_stop(server *s)
{
    for (conn *c = s->clients; c; c = c->next_client)
        free_queue(c);
    s->clients = NULL;
    s->nclients = 0;
}
