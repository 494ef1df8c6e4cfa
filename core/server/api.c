/* api: the routes of the HTTP server and their JSON (docs/api.md is the reference).
 *
 * `routes` is the one table of what the server answers: a method, a path pattern, whether
 * the call changes state, and its handler. A new endpoint is a line there (the metrics
 * registry's /metrics and the analytics' sections of /api/v1/metrics plug in the same
 * way: see `metrics_sections`). Lists are one page of store_api rows, newest first:
 *     {"data": [ {...}, ... ], "next_before": 1234}     (null on the last page)
 * money as exact decimal strings ("101.25"), times as UTC ISO 8601 ("2024-03-01T14:30:00Z")
 * or null. Errors: {"error": {"status": 401, "message": "..."}}. */
#include "server/server_internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analytics/analytics.h"
#include "analytics/analytics_json.h"
#include "metrics/metrics.h"
#include "model/execution.h"
#include "model/exit.h"
#include "pipeline/approval.h"
#include "pipeline/close_request.h"
#include "pipeline/risk_mode.h"
#include "pipeline/snapshot.h"
#include "store/store_report.h"
#include "store/store_trades.h"
#include "util/log.h"
#include "util/secret.h"

/* ---- JSON ------------------------------------------------------------------------------ */

void api_json(response *r, int status, json_t *j)
{
    r->status = status;
    r->content_type = "application/json";
    /* 12 significant digits: a double from money (the analytics' equity) prints as its
     * decimal (99995.41), not as the binary value's 17 (99995.410000000003). */
    r->body = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(12)) : NULL;
    json_decref(j);
    if (!r->body) {
        r->status = 500;
        r->body = strdup("{\"error\":{\"status\":500,\"message\":\"out of memory\"}}");
    }
    r->len = r->body ? strlen(r->body) : 0;
}

void api_error(response *r, int status, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    api_json(r, status, json_pack("{s:{s:i,s:s}}", "error", "status", status, "message", msg));
}

static json_t *money_json(money_t v)
{
    char b[48];
    return json_string(money_format_trim(v, 0, b, sizeof b));
}

static json_t *time_json(apex_time t)
{
    if (t <= 0)
        return json_null();
    time_t secs = (time_t)(t / APEX_SECOND);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char b[40];
    strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_string(b);
}

json_t *api_row_json(const store_api_row *row)
{
    json_t *o = json_object();
    for (int c = 0; o && c < row->ncols; c++) {
        json_t *v;
        if (row->is_null[c])
            v = json_null();
        else
            switch (row->kinds[c]) {
            case STORE_API_MONEY:
                v = money_json(row->ints[c]);
                break;
            case STORE_API_TIME:
                v = time_json(row->ints[c]);
                break;
            case STORE_API_TEXT:
                v = json_string(row->texts[c]);
                break;
            case STORE_API_BOOL:
                v = json_boolean(row->ints[c] != 0);
                break;
            default:
                v = json_integer(row->ints[c]);
            }
        json_object_set_new(o, row->names[c], v);
    }
    return o;
}

/* ---- requests -------------------------------------------------------------------------- */

typedef struct {
    server *s;
    conn *c;         /* NULL on the worker: a job reads its copy of the arguments only */
    store *db;       /* the connection to read: the server's on the loop, bg on the worker */
    const char *arg; /* the path's {name} or {id} (in argbuf) */
    char argbuf[128];
    char args[8][2][128];
    int nargs;
} request;

static void read_args(request *q)
{
    char frag[300];
    for (int i = 0; q->nargs < 8; i++) {
        int n = lws_hdr_copy_fragment(q->c->wsi, frag, sizeof frag, WSI_TOKEN_HTTP_URI_ARGS, i);
        if (n < 0)
            break;
        char *eq = strchr(frag, '=');
        if (!eq)
            continue;
        *eq = '\0';
        snprintf(q->args[q->nargs][0], sizeof q->args[0][0], "%s", frag);
        snprintf(q->args[q->nargs][1], sizeof q->args[0][1], "%s", eq + 1);
        q->nargs++;
    }
}

static const char *arg(const request *q, const char *name)
{
    for (int i = 0; i < q->nargs; i++)
        if (strcmp(q->args[i][0], name) == 0)
            return q->args[i][1];
    return NULL;
}

/* A positive integer argument; 0 when absent; -1 when malformed. */
static int64_t arg_id(const request *q, const char *name)
{
    const char *v = arg(q, name);
    if (!v)
        return 0;
    char *end;
    long long n = strtoll(v, &end, 10);
    return *v && !*end && n > 0 ? n : -1;
}

/* ---- lists ----------------------------------------------------------------------------- */

typedef struct {
    json_t *data;
    int n;
    int64_t last_id;
} page;

static int add_row(void *ud, const store_api_row *row)
{
    page *p = ud;
    json_array_append_new(p->data, api_row_json(row));
    p->n++;
    p->last_id = row->id;
    return 0;
}

/* One page of a list as {"data": [...], "next_before": ...}; NULL with r holding the
 * error (a bad query parameter, the store unreadable). */
static json_t *list_doc(request *q, response *r, store_api_resource which)
{
    static const char *const ids[] = {"before", "after", "execution_id", "limit"};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        if (arg_id(q, ids[i]) < 0) {
            api_error(r, 400, "query parameter %s: '%s' is not a positive whole number", ids[i],
                      arg(q, ids[i]));
            return NULL;
        }
    store_api_filter f = {.pipeline = arg(q, "pipeline"),
                          .symbol = arg(q, "symbol"),
                          .status = arg(q, "status"),
                          .kind = arg(q, "kind"),
                          .execution_id = arg_id(q, "execution_id"),
                          .before = arg_id(q, "before"),
                          .after = arg_id(q, "after"),
                          .limit = (int)arg_id(q, "limit")};
    if (f.limit > STORE_API_MAX_LIMIT) {
        api_error(r, 400, "query parameter limit: at most %d rows a page; page on with before",
                  STORE_API_MAX_LIMIT);
        return NULL;
    }
    int limit = f.limit > 0 ? f.limit : STORE_API_DEFAULT_LIMIT;
    page p = {.data = json_array()};
    int rc = store_api_page(q->db, which, &f, add_row, &p);
    if (rc != 0) {
        json_decref(p.data);
        api_error(r, 500, "the store could not be read: %s", store_errmsg(q->db));
        return NULL;
    }
    json_t *next =
        p.n == limit && which != STORE_API_PIPELINES ? json_integer(p.last_id) : json_null();
    return json_pack("{s:o,s:o}", "data", p.data, "next_before", next);
}

static void list(request *q, response *r, store_api_resource which)
{
    json_t *doc = list_doc(q, r, which);
    if (doc)
        api_json(r, 200, doc);
}

static pipeline *live_pipeline(server *s, const char *name)
{
    for (int i = 0; s->live && i < s->view.npipes; i++)
        if (strcmp(pipeline_name(s->view.pipes[i]), name) == 0)
            return s->view.pipes[i];
    return NULL;
}

/* What only a running host knows of a pipeline, merged into its row (on the loop). */
static void add_live(server *s, json_t *o, const char *name)
{
    pipeline *p = live_pipeline(s, name);
    json_object_set_new(o, "live", json_boolean(p != NULL));
    if (!p)
        return;
    pipeline_snapshot snap;
    if (pipeline_snapshot_take(p, &snap) != 0) {
        pipeline_snapshot_free(&snap);
        return;
    }
    json_object_set_new(o, "trading_state", json_string(snap.trading_state));
    json_object_set_new(o, "entries_halted", json_boolean(snap.entries_halted));
    json_object_set_new(o, "halt_reason", json_string(snap.halt_reason));
    json_object_set_new(o, "broker", json_string(snap.broker_kind));
    json_object_set_new(o, "open_trades", json_integer(snap.ntrades));
    json_object_set_new(o, "mark", money_json(snap.mark));
    json_object_set_new(o, "as_of", time_json(snap.as_of));
    pipeline_snapshot_free(&snap);
}

/* The pipelines' rows from the store, each with its reduce-only switch (on the worker). */
static void pipelines(request *q, response *r)
{
    json_t *doc = list_doc(q, r, STORE_API_PIPELINES);
    if (!doc)
        return;
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(doc, "data"), i, row)
    {
        const char *name = json_string_value(json_object_get(row, "name"));
        json_object_set_new(row, "reduce_only", json_boolean(risk_mode_reduce_only(q->db, name)));
        json_object_del(row, "rowid");
    }
    api_json(r, 200, doc);
}

/* Then, on the loop, what the running host knows: each pipeline's live state, and a
 * running pipeline that has written nothing yet is still one. */
static void pipelines_live(request *q, response *r)
{
    if (r->status != 200)
        return;
    json_t *doc = json_loadb(r->body, r->len, 0, NULL);
    json_t *data = json_object_get(doc, "data");
    if (!json_is_array(data)) {
        json_decref(doc);
        return;
    }
    free(r->body);
    r->body = NULL;
    size_t i;
    json_t *row;
    json_array_foreach(data, i, row)
        add_live(q->s, row, json_string_value(json_object_get(row, "name")));
    const char *only = arg(q, "pipeline");
    for (int k = 0; q->s->live && k < q->s->view.npipes; k++) {
        const char *name = pipeline_name(q->s->view.pipes[k]);
        bool seen = false;
        json_array_foreach(data, i, row) if (strcmp(json_string_value(json_object_get(row, "name")),
                                                    name) == 0) seen = true;
        if (seen || (only && strcmp(only, name) != 0))
            continue;
        json_t *o = json_pack("{s:s,s:i,s:i,s:i,s:s,s:s,s:n,s:n,s:b}", "name", name, "executions",
                              0, "active_executions", 0, "open_positions", 0, "realized_pnl", "0",
                              "fees", "0", "last_bar_at", "last_activity_at", "reduce_only",
                              risk_mode_reduce_only(q->s->rd, name));
        add_live(q->s, o, name);
        json_array_append_new(data, o);
    }
    api_json(r, 200, doc);
}

/* ---- /api/v1/bars: the running host's last bars of a symbol, for the price charts ---- */

static void bars(request *q, response *r)
{
    const char *symbol = arg(q, "symbol");
    const char *only = arg(q, "pipeline");
    int64_t limit = arg_id(q, "limit");
    if (!symbol || !*symbol) {
        api_error(r, 400, "%s",
                  "query parameter symbol is required, e.g. /api/v1/bars?symbol=AAPL");
        return;
    }
    if (limit < 0 || limit > SERVER_CHART_BARS) {
        api_error(r, 400, "query parameter limit: a whole number from 1 to %d", SERVER_CHART_BARS);
        return;
    }
    if (!q->s->live) {
        api_error(r, 404, "%s",
                  "bars are kept by a running host only (apex-host run --http); a store holds "
                  "fills and marks, not bars");
        return;
    }
    /* The named pipeline; else the first that has bars of the symbol, else the first. */
    pipeline *p = only ? live_pipeline(q->s, only) : NULL;
    for (int i = 0; !only && !p && i < q->s->view.npipes; i++)
        if (pipeline_bars_copy(q->s->view.pipes[i], symbol, NULL, 0) > 0)
            p = q->s->view.pipes[i];
    if (!only && !p && q->s->view.npipes > 0)
        p = q->s->view.pipes[0];
    if (!p) {
        api_error(r, 404, "no pipeline '%s' runs in this host (GET /api/v1/pipelines lists them)",
                  only ? only : "");
        return;
    }
    static bar buf[SERVER_CHART_BARS]; /* the loop is one thread */
    int n = pipeline_bars_copy(p, symbol, buf, limit > 0 ? (int)limit : SERVER_CHART_BARS);
    json_t *data = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(
            data, json_pack("{s:o,s:o,s:o,s:o,s:o,s:o}", "ts", time_json(buf[i].ts), "open",
                            money_json(buf[i].open), "high", money_json(buf[i].high), "low",
                            money_json(buf[i].low), "close", money_json(buf[i].close), "volume",
                            money_json(buf[i].volume)));
    api_json(
        r, 200,
        json_pack("{s:s,s:s,s:o}", "pipeline", pipeline_name(p), "symbol", symbol, "data", data));
}

/* ---- /api/v1/metrics -------------------------------------------------------------------
 * The sections of the metrics document, one function each. The store's counts are the
 * first; the analytics (returns, Sharpe, drawdown: core/analytics) plug in here as another
 * section when they land. */

typedef int (*metrics_section_fn)(store *db, const char *only, json_t *out);

static int metrics_store(store *db, const char *only, json_t *out)
{
    store_report_summary sum;
    int rc = store_report_summary_get(db, only, &sum);
    if (rc != 0)
        return rc;
    json_t *by_status = json_object();
    for (int st = 0; st <= EXEC_SKIPPED; st++)
        json_object_set_new(by_status, exec_status_name((exec_status)st),
                            json_integer(sum.executions_by_status[st]));
    json_t *exits = json_object();
    for (int st = 0; st < EXIT_STATUS_COUNT; st++)
        json_object_set_new(exits, exit_status_name((exit_status)st),
                            json_integer(sum.exits_by_status[st]));
    json_t *equity = json_null();
    if (sum.has_equity)
        equity = json_pack("{s:o,s:o,s:o}", "ts", time_json(sum.equity_ts), "cash",
                           money_json(sum.cash), "equity", money_json(sum.equity));
    json_object_set_new(
        out, "store",
        json_pack("{s:i,s:o,s:i,s:i,s:o,s:o,s:i,s:o,s:i,s:o,s:i,s:i,s:o}", "executions",
                  sum.executions, "executions_by_status", by_status, "wins", sum.wins, "losses",
                  sum.losses, "realized_pnl", money_json(sum.realized_pnl), "fees",
                  money_json(sum.fees), "open_positions", sum.open_positions, "unrealized_pnl",
                  money_json(sum.unrealized_pnl), "open_orders", sum.open_orders, "exits_by_status",
                  exits, "fills", sum.fills, "events", sum.events, "equity", equity));
    return 0;
}

/* The performance analytics (docs/analytics.md): the same computation and JSON as the
 * backtest summary and report, over the store's trades and equity curve. The risk-free
 * rate and periods per year are the defaults (0 and 252) here: `serve` has no pipeline
 * file to read `report = {...}` from. */
static int metrics_analytics(store *db, const char *only, json_t *out)
{
    analytics_options ao = {.risk_free_rate = 0, .periods_per_year = 0};
    store_analytics sa;
    analytics_result r;
    char err[256];
    int rc = store_analytics_load(db, only, &ao, &sa);
    if (rc == 0 && analytics_compute(&sa.in, &r, err, sizeof err) == 0) {
        json_object_set_new(out, "analytics", analytics_result_json(&r));
        analytics_result_free(&r);
    } else if (rc == 0) {
        json_object_set_new(out, "analytics", json_null()); /* nothing to compute from */
    }
    store_analytics_free(&sa);
    return rc;
}

static const struct {
    const char *name;
    metrics_section_fn fn;
} metrics_sections[] = {
    {"store", metrics_store},
    {"analytics", metrics_analytics},
};

/* The metrics registry in the Prometheus text exposition format (docs/metrics.md). */
static void prometheus(request *q, response *r)
{
    (void)q;
    size_t len = 0;
    char *text = metrics_render_text(&len);
    if (!text) {
        api_error(r, 500, "%s", "out of memory rendering the metrics");
        return;
    }
    r->status = 200;
    r->content_type = "text/plain; version=0.0.4; charset=utf-8";
    r->body = text;
    r->len = len;
}

static void metrics(request *q, response *r)
{
    json_t *out = json_object();
    for (size_t i = 0; i < sizeof metrics_sections / sizeof metrics_sections[0]; i++)
        if (metrics_sections[i].fn(q->db, arg(q, "pipeline"), out) != 0) {
            json_decref(out);
            api_error(r, 500, "metrics section %s: the store could not be read: %s",
                      metrics_sections[i].name, store_errmsg(q->db));
            return;
        }
    api_json(r, 200, out);
}

/* ---- state changes --------------------------------------------------------------------- */

static store *writer(server *s, response *r)
{
    if (!s->wr) {
        char err[512];
        s->wr = store_open(s->db_path, STORE_DURABLE, err, sizeof err);
        if (!s->wr)
            api_error(r, 500, "%s", err);
    }
    return s->wr;
}

static void ok(response *r, const char *msg)
{
    api_json(r, 200, json_pack("{s:b,s:s}", "ok", 1, "message", msg));
}

static const char *body_reason(request *q)
{
    static char reason[256];
    reason[0] = '\0';
    if (!q->c->body_len)
        return NULL;
    json_t *j = json_loadb(q->c->body, q->c->body_len, 0, NULL);
    const char *v = json_string_value(json_object_get(j, "reason"));
    if (v)
        snprintf(reason, sizeof reason, "%s", v);
    json_decref(j);
    return reason[0] ? reason : NULL;
}

static void answer_approval(request *q, response *r, bool approve)
{
    char *end;
    long long id = strtoll(q->arg, &end, 10);
    if (*end || id <= 0) {
        api_error(r, 400, "'%s' is not an approval id (a positive number)", q->arg);
        return;
    }
    json_t *body = q->c->body_len ? json_loadb(q->c->body, q->c->body_len, 0, NULL) : NULL;
    bool bad_body = q->c->body_len && !json_is_object(body);
    json_decref(body);
    if (bad_body) {
        api_error(r, 400,
                  "the body must be a JSON object, e.g. {\"reason\": \"too late in the day\"}");
        return;
    }
    store *w = writer(q->s, r);
    if (!w)
        return;
    char msg[768];
    int rc = approval_submit(w, id, approve, "http", body_reason(q), msg, sizeof msg);
    if (rc == 0)
        ok(r, msg);
    else
        api_error(r, rc == APEX_ENOTFOUND ? 404 : rc == APEX_ESTATE ? 409 : 500, "%s", msg);
}

static void approve(request *q, response *r)
{
    answer_approval(q, r, true);
}

static void reject(request *q, response *r)
{
    answer_approval(q, r, false);
}

static void set_paused(request *q, response *r, bool on)
{
    if (!live_pipeline(q->s, q->arg)) {
        api_error(r, 404, "no pipeline '%s' runs in this host (GET /api/v1/pipelines lists them)",
                  q->arg);
        return;
    }
    store *w = writer(q->s, r);
    if (!w)
        return;
    apex_error e = {0};
    if (risk_mode_set_reduce_only(w, q->arg, on, "HTTP API", &e) != 0) {
        api_error(r, 500, "%s", e.msg);
        return;
    }
    char msg[256];
    snprintf(msg, sizeof msg, "%s: %s", q->arg,
             on ? "paused (reduce-only): new entries are skipped, exits go on"
                : "resumed: entries allowed again");
    ok(r, msg);
}

/* A position closed by hand (pipeline/close_request.h): recorded through the store like the
 * CLI's `apex-host close`, then carried out at once by this host's pipelines. */
static void close_execution(request *q, response *r)
{
    char *end;
    long long id = strtoll(q->arg, &end, 10);
    if (*end || id <= 0) {
        api_error(r, 400, "'%s' is not an execution id (a positive number)", q->arg);
        return;
    }
    store *w = writer(q->s, r);
    if (!w)
        return;
    char msg[512];
    int rc = close_request_submit(w, id, "http", msg, sizeof msg);
    if (rc != 0) {
        api_error(r, rc == APEX_ENOTFOUND ? 404 : rc == APEX_ESTATE ? 409 : 500, "%s", msg);
        return;
    }
    for (int i = 0; q->s->live && i < q->s->view.npipes; i++)
        pipeline_close_requests(q->s->view.pipes[i]);
    ok(r, msg);
}

static void pause_pipeline(request *q, response *r)
{
    set_paused(q, r, true);
}

static void resume_pipeline(request *q, response *r)
{
    set_paused(q, r, false);
}

/* ---- the route table ------------------------------------------------------------------- */

static void list_executions(request *q, response *r)
{
    list(q, r, STORE_API_EXECUTIONS);
}
static void list_positions(request *q, response *r)
{
    list(q, r, STORE_API_POSITIONS);
}
static void list_orders(request *q, response *r)
{
    list(q, r, STORE_API_ORDERS);
}
static void list_fills(request *q, response *r)
{
    list(q, r, STORE_API_FILLS);
}
static void list_exits(request *q, response *r)
{
    list(q, r, STORE_API_EXITS);
}
static void list_exit_attempts(request *q, response *r)
{
    list(q, r, STORE_API_EXIT_ATTEMPTS);
}
static void list_events(request *q, response *r)
{
    list(q, r, STORE_API_EVENTS);
}
static void list_equity(request *q, response *r)
{
    list(q, r, STORE_API_EQUITY);
}
static void list_approvals(request *q, response *r)
{
    list(q, r, STORE_API_APPROVALS);
}
static void healthz(request *q, response *r)
{
    health_live(q->s, r);
}
static void readyz(request *q, response *r)
{
    health_ready(q->s, r);
}

typedef void (*handler)(request *q, response *r);

/* Where a route's handler runs: on the loop (what is quick, or needs the host's live state
 * or the registry), or on the worker (what scans the store; worker.c), with `finish` then
 * on the loop for the live parts. */
enum { ON_LOOP, ON_WORKER };

typedef struct {
    bool post;
    const char *prefix; /* the path up to {arg}, or all of it */
    const char *suffix; /* after {arg}; NULL = no argument */
    handler fn;
    int where;
    handler finish; /* ON_WORKER: then on the loop; NULL = none */
} route;

static const route routes[] = {
    {false, "/healthz", NULL, healthz, ON_LOOP, NULL},
    {false, "/readyz", NULL, readyz, ON_LOOP, NULL},
    {false, "/api/v1/pipelines", NULL, pipelines, ON_WORKER, pipelines_live},
    {false, "/api/v1/executions", NULL, list_executions, ON_WORKER, NULL},
    {false, "/api/v1/positions", NULL, list_positions, ON_WORKER, NULL},
    {false, "/api/v1/orders", NULL, list_orders, ON_WORKER, NULL},
    {false, "/api/v1/fills", NULL, list_fills, ON_WORKER, NULL},
    {false, "/api/v1/exits", NULL, list_exits, ON_WORKER, NULL},
    {false, "/api/v1/exit_attempts", NULL, list_exit_attempts, ON_WORKER, NULL},
    {false, "/api/v1/events", NULL, list_events, ON_WORKER, NULL},
    {false, "/api/v1/equity", NULL, list_equity, ON_WORKER, NULL},
    {false, "/api/v1/approvals", NULL, list_approvals, ON_WORKER, NULL},
    {false, "/api/v1/metrics", NULL, metrics, ON_WORKER, NULL},
    {false, "/api/v1/bars", NULL, bars, ON_LOOP, NULL},
    {false, "/metrics", NULL, prometheus, ON_LOOP, NULL},
    /* State changes: POST, the token, never in `serve`. */
    {true, "/api/v1/approvals/", "/approve", approve, ON_LOOP, NULL},
    {true, "/api/v1/approvals/", "/reject", reject, ON_LOOP, NULL},
    {true, "/api/v1/pipelines/", "/pause", pause_pipeline, ON_LOOP, NULL},
    {true, "/api/v1/pipelines/", "/resume", resume_pipeline, ON_LOOP, NULL},
    {true, "/api/v1/executions/", "/close", close_execution, ON_LOOP, NULL},
};

/* Matches path against a route; the {arg} goes to buf. */
static bool match(const route *rt, const char *path, char *buf, size_t len)
{
    size_t pl = strlen(rt->prefix);
    if (!rt->suffix)
        return strcmp(path, rt->prefix) == 0;
    if (strncmp(path, rt->prefix, pl) != 0)
        return false;
    const char *a = path + pl;
    size_t sl = strlen(rt->suffix), al = strlen(a);
    if (al <= sl || strcmp(a + al - sl, rt->suffix) != 0 || al - sl >= len)
        return false;
    memcpy(buf, a, al - sl);
    buf[al - sl] = '\0';
    return strchr(buf, '/') == NULL;
}

/* Constant time in the bytes compared: a wrong token's first byte and its last take as
 * long to refuse. */
static bool token_equal(const char *given, size_t glen, const char *want)
{
    size_t wlen = strlen(want);
    unsigned char diff = (unsigned char)(glen != wlen);
    for (size_t i = 0; i < wlen; i++)
        diff |= (unsigned char)(want[i] ^ (i < glen ? given[i] : 0));
    return diff == 0;
}

/* Whether a state change may go on; when not, r holds the refusal. */
static bool authorized(server *s, conn *c, response *r)
{
    if (s->opt.read_only) {
        api_error(r, 405,
                  "apex-host serve is read-only: it shows a store and changes nothing. Make "
                  "this call to the running host (apex-host run --http ADDR)");
        return false;
    }
    if (!s->has_token) {
        api_error(r, 403,
                  "state-changing calls are refused: this host has no token. Start it with "
                  "APEX_HTTP_TOKEN set in its environment (or APEX_HTTP_TOKEN_FILE naming a "
                  "chmod 600 file with the line APEX_HTTP_TOKEN=...), then send the header "
                  "Authorization: Bearer <token>");
        return false;
    }
    char h[SERVER_TOKEN_MAX + 16] = "";
    int n = lws_hdr_copy(c->wsi, h, sizeof h, WSI_TOKEN_HTTP_AUTHORIZATION);
    static const char bearer[] = "Bearer ";
    bool ok = n > (int)strlen(bearer) && strncmp(h, bearer, strlen(bearer)) == 0 &&
              token_equal(h + strlen(bearer), (size_t)n - strlen(bearer), s->token);
    secret_wipe(h, sizeof h);
    if (!ok) {
        api_error(r, 401, "%s",
                  n > 0 ? "the token does not match"
                        : "send the header Authorization: Bearer <token>");
        return false;
    }
    return true;
}

/* ---- requests answered on the worker ----------------------------------------------- */

typedef struct {
    server_job job; /* first: worker.c sees this */
    request q;
    const route *rt;
} api_job;

static void job_work(server_job *j, store *db)
{
    api_job *a = (api_job *)j;
    a->q.db = db;
    a->rt->fn(&a->q, &j->r);
}

static void job_done(server_job *j)
{
    api_job *a = (api_job *)j;
    a->q.db = a->q.s->rd;
    if (a->rt->finish)
        a->rt->finish(&a->q, &j->r);
}

static void job_free(server_job *j)
{
    free(j);
}

/* Hands q to the worker; false when it took it (the job answers), true when r holds an
 * answer now (no memory, or the worker's connection would not open). */
static bool defer(request *q, const route *rt, response *r)
{
    api_job *a = calloc(1, sizeof *a);
    if (!a) {
        api_error(r, 503, "%s", "out of memory; try again");
        return true;
    }
    a->q = *q;
    a->q.c = NULL;
    a->q.arg = a->q.argbuf;
    a->rt = rt;
    a->job.work = job_work;
    a->job.done = job_done;
    a->job.free = job_free;
    if (server_job_submit(q->s, q->c, &a->job) != 0) {
        *r = a->job.r;
        free(a);
        return true;
    }
    return false;
}

bool api_handle(server *s, conn *c, response *r)
{
    request q = {.s = s, .c = c, .db = s->rd};
    bool path_known = false;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        const route *rt = &routes[i];
        if (!match(rt, c->path, q.argbuf, sizeof q.argbuf))
            continue;
        path_known = true;
        if (rt->post != c->is_post)
            continue;
        if (rt->post && !authorized(s, c, r))
            return true;
        q.arg = q.argbuf;
        read_args(&q);
        if (rt->where == ON_WORKER)
            return defer(&q, rt, r);
        rt->fn(&q, r);
        return true;
    }
    if (path_known) {
        api_error(r, 405, "%s takes %s", c->path, c->is_post ? "GET" : "POST");
        return true;
    }
    if (!c->is_post && assets_serve(c->path, r))
        return true;
    api_error(r, 404, "no such path: %s (docs/api.md lists the API)", c->path);
    return true;
}
