/* alpaca: see alpaca.h. One `call` per broker_ops request walks through its REST steps;
 * order updates and fills come from alpaca_stream.c (the trade_updates stream) and
 * alpaca_poll.c (polling, and the reporting both share). */
#include "broker/alpaca_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker/endpoint.h"
#include "util/err.h"
#include "util/log.h"

static const broker_ops alpaca_ops;

static alpaca_broker *as_alpaca(broker *b)
{
    return (alpaca_broker *)b;
}

/* ---- calls and requests ---- */

call *alpaca_call_new(alpaca_broker *a, broker_cb cb, void *ud)
{
    call *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->a = a;
    c->cb = cb;
    c->ud = ud;
    LIST_INSERT_HEAD(&a->calls, c, link);
    return c;
}

void alpaca_call_free(call *c)
{
    LIST_REMOVE(c, link);
    free(c->fills);
    free(c->body);
    free(c->quotes);
    free(c);
}

void alpaca_finish(call *c, broker_reply *r)
{
    broker_cb cb = c->cb;
    void *ud = c->ud;
    broker_count_error(&c->a->base, r->status);
    alpaca_call_free(c);
    if (cb)
        cb(ud, r);
}

void alpaca_fail(call *c, int status, const char *fmt, ...)
{
    broker_reply r = {.status = status};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r.error, sizeof r.error, fmt, ap);
    va_end(ap);
    alpaca_finish(c, &r);
}

/* A failed request's status and message: Alpaca's error body, or the transport's. */
int alpaca_http_error(const http_result *res, char *msg, size_t msglen)
{
    if (res->outcome != HTTP_OUTCOME_RESPONSE) {
        snprintf(msg, msglen, "%s", res->error.msg);
        return APEX_EIO;
    }
    apex_error e;
    int rc = alpaca_decode_error((int)res->status, res->body, res->body_len, NULL, &e);
    snprintf(msg, msglen, "%s", e.msg); /* "alpaca: HTTP <status>: <Alpaca's message>" */
    return rc ? rc : APEX_EIO;
}

void alpaca_fail_http(call *c, const http_result *res, const char *what)
{
    char msg[200];
    int rc = alpaca_http_error(res, msg, sizeof msg);
    alpaca_fail(c, rc, "%s: %s", what, msg);
}

void alpaca_url_encode(const char *s, char *out, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t k = 0;
    for (; *s && k + 4 < n; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            out[k++] = (char)c;
        } else {
            out[k++] = '%';
            out[k++] = hex[c >> 4];
            out[k++] = hex[c & 15];
        }
    }
    out[k] = '\0';
}

static void on_http(const http_result *res, void *ud)
{
    call *c = ud;
    c->step(c, res);
}

int alpaca_send(call *c, http_method m, bool data_api, const char *path, const char *body,
                call_step next, int priority, bool granted)
{
    alpaca_broker *a = c->a;
    char url[sizeof a->data + ALPACA_PATH_MAX];
    if ((size_t)snprintf(url, sizeof url, "%s%s", data_api ? a->data : a->trading, path) >=
        sizeof url) {
        log_warn("alpaca: a request path is too long (%zu bytes)", strlen(path));
        return APEX_EINVAL;
    }
    http_header h[3] = {
        {.name = "APCA-API-KEY-ID", .value = a->cred.key, .secret = true},
        {.name = "APCA-API-SECRET-KEY", .value = a->cred.secret, .secret = true},
        {.name = "Content-Type", .value = "application/json"},
    };
    http_request_spec spec = {
        .method = m,
        .url = url,
        .headers = h,
        .header_count = body ? 3 : 2,
        .body = body,
        .body_len = body ? strlen(body) : 0,
        .limiter = a->base.limiter,
        .priority = priority,
        .first_attempt_granted = granted,
    };
    c->step = next;
    apex_error e;
    int rc = http_send(a->http, &spec, on_http, c, &e);
    if (rc != 0)
        log_warn("alpaca: %s", e.msg);
    return rc;
}

/* Sends, or fails the call at once (from the loop: never inside the op) on refusal. */
static int op_send(call *c, http_method m, bool data_api, const char *path, const char *body,
                   call_step next)
{
    int rc = alpaca_send(c, m, data_api, path, body, next, 0, true);
    if (rc != 0)
        alpaca_call_free(c); /* the op returns rc: its callback never runs */
    return rc;
}

/* A follow-up request of a call that is already under way (most urgent: it completes a
 * call the limiter already let through). */
static void follow(call *c, http_method m, bool data_api, const char *path, const char *body,
                   call_step next)
{
    int rc = alpaca_send(c, m, data_api, path, body, next, 0, false);
    if (rc != 0)
        alpaca_fail(c, rc, "alpaca: a request could not be started (%s)", err_name(rc));
}

json_t *alpaca_body_json(call *c, const http_result *res, const char *what)
{
    char err[256];
    json_t *j = alpaca_json_parse(res->body, res->body_len, what, err, sizeof err);
    if (!j)
        alpaca_fail(c, APEX_EIO, "%s", err);
    return j;
}

json_t *alpaca_ok_json(call *c, const http_result *res, const char *what, const char *body_what)
{
    if (res->outcome != HTTP_OUTCOME_RESPONSE || res->status != 200) {
        alpaca_fail_http(c, res, what);
        return NULL;
    }
    return alpaca_body_json(c, res, body_what);
}

/* ---- orders: naming, decoding ---- */

/* Splits a host leg id ("<parent>-tp", "-sl") into the parent's id and the role. */
static bool leg_of(const char *coid, char *parent, size_t n, order_role *role)
{
    size_t len = strlen(coid);
    if (len < 4 || len - 3 >= n)
        return false;
    const char *tail = coid + len - 3;
    if (strcmp(tail, "-tp") == 0)
        *role = ORDER_ROLE_TAKE_PROFIT;
    else if (strcmp(tail, "-sl") == 0)
        *role = ORDER_ROLE_STOP_LOSS;
    else
        return false;
    memcpy(parent, coid, len - 3);
    parent[len - 3] = '\0';
    return true;
}

/* The order the call names (c->coid) inside a decoded Alpaca order: itself or a leg. */
static const broker_order *named(const call *c, const alpaca_order *ao)
{
    if (!c->is_leg)
        return &ao->order;
    for (int i = 0; i < ao->nlegs; i++)
        if (ao->legs[i].role == c->leg_role)
            return &ao->legs[i];
    return NULL;
}

/* "/v2/orders:by_client_order_id?client_order_id=<the order or its parent>&nested=true" */
static void by_client_id_path(const call *c, char *path, size_t n)
{
    snprintf(path, n, "/v2/orders:by_client_order_id?client_order_id=%s&nested=true",
             c->is_leg ? c->parent : c->coid);
}

static int name_order(call *c, const char *coid)
{
    snprintf(c->coid, sizeof c->coid, "%s", coid);
    c->is_leg = leg_of(coid, c->parent, sizeof c->parent, &c->leg_role);
    return 0;
}

/* Decodes an order body into ao; fails the call on a malformed one. */
static bool decode_order_body(call *c, const http_result *res, alpaca_order *ao)
{
    json_t *j = alpaca_body_json(c, res, "alpaca: order");
    if (!j)
        return false;
    char err[256];
    int rc = alpaca_decode_order(j, ao, err, sizeof err);
    json_decref(j);
    if (rc != 0) {
        alpaca_fail(c, APEX_EIO, "%s", err);
        return false;
    }
    alpaca_track(c->a, ao);
    return true;
}

/* ---- submit ---- */

static void submit_looked_up(call *c, const http_result *res)
{
    alpaca_order ao;
    if (res->outcome == HTTP_OUTCOME_RESPONSE && res->status == 404) {
        alpaca_fail(c, APEX_EIO,
                    "alpaca: order %s got no answer and Alpaca has no order with that id: it "
                    "was not placed (sending it again with the same id is safe)",
                    c->coid);
        return;
    }
    if (res->outcome != HTTP_OUTCOME_RESPONSE || res->status != 200) {
        alpaca_fail_http(c, res,
                         "alpaca: order submission unconfirmed (it may exist: a new send with "
                         "the same client order id is refused as a duplicate if it does)");
        return;
    }
    if (!decode_order_body(c, res, &ao))
        return;
    log_info("alpaca: order %s had no answer; Alpaca has it (%s): not sent again", c->coid,
             order_status_name(ao.order.status));
    broker_reply r = {.order = &ao.order};
    alpaca_finish(c, &r);
}

static void submitted(call *c, const http_result *res)
{
    if (res->outcome == HTTP_OUTCOME_UNKNOWN) {
        /* Sent, no answer: ask before anything else; never send blindly. */
        char path[256];
        by_client_id_path(c, path, sizeof path);
        follow(c, HTTP_GET, false, path, NULL, submit_looked_up);
        return;
    }
    if (res->outcome != HTTP_OUTCOME_RESPONSE || res->status != 200) {
        alpaca_fail_http(c, res, "alpaca: order refused");
        return;
    }
    alpaca_order ao;
    if (!decode_order_body(c, res, &ao))
        return;
    broker_reply r = {.order = &ao.order};
    alpaca_finish(c, &r);
}

static int encode_order(const order_request *req, char **body)
{
    char err[256];
    int rc = alpaca_encode_order(req, ALPACA_TIF_AUTO, body, err, sizeof err);
    if (rc != 0)
        log_warn("alpaca: order %s not sent: %s", req->client_order_id, err);
    return rc;
}

static int alpaca_submit(broker *b, const order_request *req, broker_cb cb, void *ud)
{
    alpaca_broker *a = as_alpaca(b);
    char *body = NULL;
    int rc = encode_order(req, &body);
    if (rc != 0)
        return rc;
    call *c = alpaca_call_new(a, cb, ud);
    if (!c) {
        free(body);
        return APEX_ENOMEM;
    }
    name_order(c, req->client_order_id);
    rc = op_send(c, HTTP_POST, false, "/v2/orders", body, submitted);
    free(body);
    return rc;
}

/* ---- get, cancel ---- */

/* The order a lookup by client order id found: the call's order or its leg, decoded into
 * *ao. NULL after failing the call (404: no such order; any other failure: `what`). */
static const broker_order *found_order(call *c, const http_result *res, alpaca_order *ao,
                                       const char *what)
{
    if (res->outcome == HTTP_OUTCOME_RESPONSE && res->status == 404) {
        alpaca_fail(c, APEX_ENOTFOUND, "alpaca: no order %s", c->coid);
        return NULL;
    }
    if (res->outcome != HTTP_OUTCOME_RESPONSE || res->status != 200) {
        alpaca_fail_http(c, res, what);
        return NULL;
    }
    if (!decode_order_body(c, res, ao))
        return NULL;
    const broker_order *o = named(c, ao);
    if (!o)
        alpaca_fail(c, APEX_ENOTFOUND, "alpaca: order %s has no such leg", c->parent);
    return o;
}

static void got_order(call *c, const http_result *res)
{
    alpaca_order ao;
    const broker_order *o = found_order(c, res, &ao, "alpaca: order lookup failed");
    if (!o)
        return;
    broker_reply r = {.order = o};
    alpaca_finish(c, &r);
}

static int alpaca_get_order(broker *b, const char *coid, broker_cb cb, void *ud)
{
    call *c = alpaca_call_new(as_alpaca(b), cb, ud);
    if (!c)
        return APEX_ENOMEM;
    name_order(c, coid);
    char path[256];
    by_client_id_path(c, path, sizeof path);
    return op_send(c, HTTP_GET, false, path, NULL, got_order);
}

static void cancel_confirmed(call *c, const http_result *res)
{
    alpaca_order ao;
    const broker_order *o =
        found_order(c, res, &ao, "alpaca: reading an order back after its cancel failed");
    if (!o)
        return;
    broker_reply r = {.order = o};
    /* Alpaca cancels asynchronously (pending_cancel counts as working); a cancel that lost
     * the race to a fill is the broker's "nothing to cancel". */
    if (c->cancel_lost || o->status == ORDER_STATUS_FILLED) {
        r.status = APEX_ESTATE;
        snprintf(r.error, sizeof r.error, "order %s is already %s; there is nothing to cancel",
                 c->coid, order_status_name(o->status));
    }
    alpaca_finish(c, &r);
}

static void cancel_sent(call *c, const http_result *res)
{
    char path[256];
    if (res->outcome == HTTP_OUTCOME_RESPONSE && res->status == 422) {
        /* "order is not cancelable": it filled (or was cancelled) first. */
        c->cancel_lost = true;
    } else if (res->outcome == HTTP_OUTCOME_RESPONSE && (res->status < 200 || res->status >= 300)) {
        alpaca_fail_http(c, res, "alpaca: cancel refused");
        return;
    }
    /* The cancel's answer (204) carries no order: read it back (through the parent for a
     * leg, so the reply carries the host's leg id). */
    by_client_id_path(c, path, sizeof path);
    follow(c, HTTP_GET, false, path, NULL, cancel_confirmed);
}

static void cancel_resolved(call *c, const http_result *res)
{
    alpaca_order ao;
    const broker_order *o = found_order(c, res, &ao, "alpaca: order lookup before a cancel failed");
    if (!o)
        return;
    if (order_status_is_final(o->status)) {
        broker_reply r = {.status = APEX_ESTATE, .order = o};
        snprintf(r.error, sizeof r.error, "order %s is already %s; there is nothing to cancel",
                 c->coid, order_status_name(o->status));
        alpaca_finish(c, &r);
        return;
    }
    snprintf(c->alpaca_id, sizeof c->alpaca_id, "%s", o->broker_order_id);
    char path[256];
    snprintf(path, sizeof path, "/v2/orders/%s", c->alpaca_id);
    follow(c, HTTP_DELETE, false, path, NULL, cancel_sent);
}

static int alpaca_cancel(broker *b, const char *coid, broker_cb cb, void *ud)
{
    call *c = alpaca_call_new(as_alpaca(b), cb, ud);
    if (!c)
        return APEX_ENOMEM;
    name_order(c, coid);
    char path[256];
    by_client_id_path(c, path, sizeof path);
    return op_send(c, HTTP_GET, false, path, NULL, cancel_resolved);
}

/* ---- replace: look the order up, then PATCH it under the new client order id ---- */

static void replaced_looked_up(call *c, const http_result *res)
{
    alpaca_order ao;
    if (res->outcome == HTTP_OUTCOME_RESPONSE && res->status == 404) {
        alpaca_fail(c, APEX_EIO,
                    "alpaca: replace of %s got no answer and Alpaca has no order %s: it was "
                    "not replaced",
                    c->coid, c->new_coid);
        return;
    }
    if (res->outcome != HTTP_OUTCOME_RESPONSE || res->status != 200) {
        alpaca_fail_http(c, res, "alpaca: replace unconfirmed");
        return;
    }
    if (!decode_order_body(c, res, &ao))
        return;
    broker_reply r = {.order = &ao.order};
    alpaca_finish(c, &r);
}

static void replace_sent(call *c, const http_result *res)
{
    if (res->outcome == HTTP_OUTCOME_UNKNOWN) {
        /* Sent, no answer: the replacement may exist; ask for it by its id. */
        char path[256];
        snprintf(path, sizeof path, "/v2/orders:by_client_order_id?client_order_id=%s&nested=true",
                 c->new_coid);
        follow(c, HTTP_GET, false, path, NULL, replaced_looked_up);
        return;
    }
    if (res->outcome == HTTP_OUTCOME_RESPONSE && res->status == 422) {
        alpaca_fail_http(c, res, "alpaca: replace refused (the order is no longer replaceable)");
        return;
    }
    if (res->outcome != HTTP_OUTCOME_RESPONSE || res->status != 200) {
        alpaca_fail_http(c, res, "alpaca: replace refused");
        return;
    }
    alpaca_order ao;
    if (!decode_order_body(c, res, &ao))
        return;
    broker_reply r = {.order = &ao.order};
    alpaca_finish(c, &r);
}

static void replace_resolved(call *c, const http_result *res)
{
    alpaca_order ao;
    const broker_order *o =
        found_order(c, res, &ao, "alpaca: order lookup before a replace failed");
    if (!o)
        return;
    if (order_status_is_final(o->status)) {
        broker_reply r = {.status = APEX_ESTATE, .order = o};
        snprintf(r.error, sizeof r.error, "order %s is already %s; there is nothing to replace",
                 c->coid, order_status_name(o->status));
        alpaca_finish(c, &r);
        return;
    }
    char path[256];
    snprintf(path, sizeof path, "/v2/orders/%s", o->broker_order_id);
    /* Not idempotent, like a submit: a lost answer is looked up, never resent. */
    int rc = alpaca_send(c, HTTP_PATCH, false, path, c->body, replace_sent, 0, false);
    if (rc != 0)
        alpaca_fail(c, rc, "alpaca: a replace could not be started (%s)", err_name(rc));
}

static int alpaca_replace(broker *b, const char *coid, const char *new_coid,
                          const order_change *change, broker_cb cb, void *ud)
{
    char *body = NULL, err[256];
    int rc = alpaca_encode_replace(change, new_coid, &body, err, sizeof err);
    if (rc != 0) {
        log_warn("alpaca: order %s not replaced: %s", coid, err);
        return rc;
    }
    call *c = alpaca_call_new(as_alpaca(b), cb, ud);
    if (!c) {
        free(body);
        return APEX_ENOMEM;
    }
    name_order(c, coid);
    if (c->is_leg) {
        free(body);
        alpaca_call_free(c);
        return APEX_EINVAL; /* a bracket leg is replaced through its parent's order class */
    }
    snprintf(c->new_coid, sizeof c->new_coid, "%s", new_coid);
    c->body = body;
    char path[256];
    by_client_id_path(c, path, sizeof path);
    return op_send(c, HTTP_GET, false, path, NULL, replace_resolved);
}

/* ---- lists: open orders, positions, account, quotes ---- */

/* The working orders of a 200 answer listing orders, legs flattened after their parent;
 * *out is malloc'd. -1 after failing the call (`what` for any other answer). */
static int decode_open_orders(call *c, const http_result *res, const char *what, broker_order **out,
                              int *n)
{
    json_t *j = alpaca_ok_json(c, res, what, "alpaca: orders");
    if (!j)
        return -1;
    size_t count = json_is_array(j) ? json_array_size(j) : 0;
    broker_order *list = calloc(count * (1 + ALPACA_MAX_LEGS) + 1, sizeof *list);
    int k = 0;
    char err[256] = "";
    int rc = list ? 0 : APEX_ENOMEM;
    for (size_t i = 0; rc == 0 && i < count; i++) {
        alpaca_order ao;
        rc = alpaca_decode_order(json_array_get(j, i), &ao, err, sizeof err);
        if (rc != 0)
            break;
        alpaca_track(c->a, &ao);
        if (!order_status_is_final(ao.order.status))
            list[k++] = ao.order;
        for (int l = 0; l < ao.nlegs; l++)
            if (!order_status_is_final(ao.legs[l].status))
                list[k++] = ao.legs[l];
    }
    json_decref(j);
    if (rc != 0) {
        free(list);
        alpaca_fail(c, rc, "alpaca: orders: %s", err[0] ? err : "out of memory");
        return -1;
    }
    *out = list;
    *n = k;
    return 0;
}

static void listed_open(call *c, const http_result *res)
{
    broker_order *list;
    int n;
    if (decode_open_orders(c, res, "alpaca: listing open orders failed", &list, &n) != 0)
        return;
    broker_reply r = {.orders = list, .norders = n};
    alpaca_finish(c, &r);
    free(list);
}

static int alpaca_list_open(broker *b, const char *symbol, broker_cb cb, void *ud)
{
    call *c = alpaca_call_new(as_alpaca(b), cb, ud);
    if (!c)
        return APEX_ENOMEM;
    char path[256];
    snprintf(path, sizeof path, "/v2/orders?status=open&nested=true&limit=500%s%s",
             symbol ? "&symbols=" : "", symbol ? symbol : "");
    return op_send(c, HTTP_GET, false, path, NULL, listed_open);
}

static void got_positions(call *c, const http_result *res)
{
    bool one = c->symbol[0] != '\0';
    if (one && res->outcome == HTTP_OUTCOME_RESPONSE && res->status == 404) {
        broker_reply r = {.npositions = 0}; /* "position does not exist": flat */
        alpaca_finish(c, &r);
        return;
    }
    json_t *j = alpaca_ok_json(c, res, "alpaca: reading positions failed", "alpaca: positions");
    if (!j)
        return;
    size_t count = one ? 1 : json_is_array(j) ? json_array_size(j) : 0;
    broker_position *list = calloc(count + 1, sizeof *list);
    char err[256] = "out of memory";
    int rc = list ? 0 : APEX_ENOMEM;
    for (size_t i = 0; rc == 0 && i < count; i++)
        rc = alpaca_decode_position(one ? j : json_array_get(j, i), &list[i], err, sizeof err);
    json_decref(j);
    if (rc == 0 && one) /* the host's name: a crypto position comes back without its slash */
        snprintf(list[0].symbol, sizeof list[0].symbol, "%s", c->symbol);
    if (rc != 0) {
        free(list);
        alpaca_fail(c, APEX_EIO, "alpaca: %s", err);
        return;
    }
    broker_reply r = {.positions = list, .npositions = (int)count};
    alpaca_finish(c, &r);
    free(list);
}

static int alpaca_get_position(broker *b, const char *symbol, broker_cb cb, void *ud)
{
    call *c = alpaca_call_new(as_alpaca(b), cb, ud);
    if (!c)
        return APEX_ENOMEM;
    snprintf(c->symbol, sizeof c->symbol, "%s", symbol);
    char path[128], seg[SYMBOL_MAX];
    alpaca_path_symbol(symbol, seg, sizeof seg);
    snprintf(path, sizeof path, "/v2/positions/%s", seg);
    return op_send(c, HTTP_GET, false, path, NULL, got_positions);
}

/* Alpaca refuses order_class bracket / oto (and plain stops) on crypto pairs. */
static bool alpaca_takes_brackets(const broker *b, const char *symbol)
{
    (void)b;
    return !strchr(symbol, '/');
}

static void got_asset(call *c, const http_result *res)
{
    if (res->outcome == HTTP_OUTCOME_RESPONSE && res->status == 404) {
        alpaca_fail(c, APEX_ENOTFOUND, "alpaca: %s is not an asset Alpaca lists", c->symbol);
        return;
    }
    json_t *j = alpaca_ok_json(c, res, "alpaca: reading the asset failed", "alpaca: asset");
    if (!j)
        return;
    alpaca_asset a;
    char err[256];
    int rc = alpaca_decode_asset(j, &a, err, sizeof err);
    json_decref(j);
    if (rc != 0) {
        alpaca_fail(c, APEX_EIO, "alpaca: %s", err);
        return;
    }
    broker_asset out = {.active = strcmp(a.status, "active") == 0,
                        .tradable = a.tradable,
                        .shortable = a.shortable,
                        .fractionable = a.fractionable};
    snprintf(out.symbol, sizeof out.symbol, "%s", a.symbol);
    snprintf(out.asset_class, sizeof out.asset_class, "%s", a.asset_class);
    broker_reply r = {.asset = &out};
    alpaca_finish(c, &r);
}

static int alpaca_get_asset(broker *b, const char *symbol, broker_cb cb, void *ud)
{
    call *c = alpaca_call_new(as_alpaca(b), cb, ud);
    if (!c)
        return APEX_ENOMEM;
    snprintf(c->symbol, sizeof c->symbol, "%s", symbol);
    char path[128], seg[SYMBOL_MAX];
    alpaca_path_symbol(symbol, seg, sizeof seg);
    snprintf(path, sizeof path, "/v2/assets/%s", seg);
    return op_send(c, HTTP_GET, false, path, NULL, got_asset);
}

/* An op that is one GET of a fixed trading-API path. */
static int get_op(broker *b, const char *path, call_step next, broker_cb cb, void *ud)
{
    call *c = alpaca_call_new(as_alpaca(b), cb, ud);
    if (!c)
        return APEX_ENOMEM;
    return op_send(c, HTTP_GET, false, path, NULL, next);
}

static int alpaca_list_positions(broker *b, broker_cb cb, void *ud)
{
    return get_op(b, "/v2/positions", got_positions, cb, ud);
}

static void got_clock(call *c, const http_result *res)
{
    json_t *j = alpaca_ok_json(c, res, "alpaca: reading the market clock failed", "alpaca: clock");
    if (!j)
        return;
    alpaca_clock ac;
    char err[256];
    int rc = alpaca_decode_clock(j, &ac, err, sizeof err);
    json_decref(j);
    if (rc != 0) {
        alpaca_fail(c, APEX_EIO, "alpaca: %s", err);
        return;
    }
    broker_clock out = {.is_open = ac.is_open,
                        .now = ac.timestamp,
                        .next_open = ac.next_open,
                        .next_close = ac.next_close};
    broker_reply r = {.clock = &out};
    alpaca_finish(c, &r);
}

static int alpaca_get_clock(broker *b, broker_cb cb, void *ud)
{
    return get_op(b, "/v2/clock", got_clock, cb, ud);
}

static void got_account(call *c, const http_result *res)
{
    json_t *j = alpaca_ok_json(c, res, "alpaca: reading the account failed", "alpaca: account");
    if (!j)
        return;
    alpaca_account acct;
    char err[256];
    int rc = alpaca_decode_account(j, &acct, err, sizeof err);
    json_decref(j);
    if (rc != 0) {
        alpaca_fail(c, APEX_EIO, "%s", err);
        return;
    }
    broker_reply r = {.account = &acct.account};
    alpaca_finish(c, &r);
}

static int alpaca_get_account(broker *b, broker_cb cb, void *ud)
{
    return get_op(b, "/v2/account", got_account, cb, ud);
}

/* ---- the calendar: one day's session ---- */

static void got_calendar(call *c, const http_result *res)
{
    json_t *j = alpaca_ok_json(c, res, "alpaca: reading the calendar failed", "alpaca: calendar");
    if (!j)
        return;
    /* An empty list: the market does not open that day (weekend, holiday). */
    broker_session s = {.trading = false};
    char err[256] = "alpaca: calendar: expected an array";
    int rc = json_is_array(j) ? 0 : APEX_EINVAL;
    if (rc == 0 && json_array_size(j) > 0) {
        alpaca_calendar_day d = {0};
        rc = alpaca_decode_calendar_day(json_array_get(j, 0), &d, err, sizeof err);
        s = (broker_session){.trading = rc == 0, .open = d.open, .close = d.close};
    }
    json_decref(j);
    if (rc != 0) {
        alpaca_fail(c, APEX_EIO, "%s", err);
        return;
    }
    broker_reply r = {.session = &s};
    alpaca_finish(c, &r);
}

static int alpaca_get_session(broker *b, apex_time day, broker_cb cb, void *ud)
{
    char date[16], path[96];
    time_t secs = (time_t)(day / APEX_SECOND);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(date, sizeof date, "%Y-%m-%d", &tm);
    snprintf(path, sizeof path, "/v2/calendar?start=%s&end=%s", date, date);
    return get_op(b, path, got_calendar, cb, ud);
}

/* Crypto pairs are the only symbols with a '/' ("BTC/USD"); they have their own data API. */
static bool is_crypto(const char *symbol)
{
    return strchr(symbol, '/') != NULL;
}

/* "/v2/stocks/snapshots?feed=..&symbols=A,B" or "/v1beta3/crypto/us/snapshots?symbols=
 * BTC%2FUSD,..": the call's symbols of one kind, percent-encoded. */
static void snapshots_path(const call *c, bool crypto, char *path, size_t n)
{
    size_t used =
        crypto ? (size_t)snprintf(path, n, "/v1beta3/crypto/us/snapshots?symbols=")
               : (size_t)snprintf(path, n, "/v2/stocks/snapshots?feed=%s&symbols=", c->a->feed);
    bool first = true;
    for (int i = 0; i < c->nsymbols && used < n; i++) {
        if (is_crypto(c->symbols[i]) != crypto)
            continue;
        char enc[3 * SYMBOL_MAX];
        alpaca_url_encode(c->symbols[i], enc, sizeof enc);
        used += (size_t)snprintf(path + used, n - used, "%s%s", first ? "" : ",", enc);
        first = false;
    }
}

static bool has_kind(const call *c, bool crypto)
{
    for (int i = 0; i < c->nsymbols; i++)
        if (is_crypto(c->symbols[i]) == crypto)
            return true;
    return false;
}

/* Decodes one kind's answer into c->quotes at the places of that kind's symbols. */
static int place_quotes(call *c, const json_t *j, char *err, size_t errlen)
{
    const char *names[ALPACA_MAX_QUOTES];
    int at[ALPACA_MAX_QUOTES], k = 0;
    for (int i = 0; i < c->nsymbols; i++)
        if (is_crypto(c->symbols[i]) == c->asking_crypto) {
            names[k] = c->symbols[i];
            at[k++] = i;
        }
    broker_quote q[ALPACA_MAX_QUOTES];
    int rc = alpaca_decode_snapshots(j, names, k, q, err, errlen);
    for (int i = 0; rc == 0 && i < k; i++)
        c->quotes[at[i]] = q[i];
    return rc;
}

static void got_snapshots(call *c, const http_result *res)
{
    json_t *j = alpaca_ok_json(c, res, "alpaca: reading quotes failed", "alpaca: snapshots");
    if (!j)
        return;
    char err[256];
    int rc = place_quotes(c, j, err, sizeof err);
    json_decref(j);
    if (rc != 0) {
        alpaca_fail(c, APEX_EIO, "%s", err);
        return;
    }
    if (!c->asking_crypto && has_kind(c, true)) {
        /* The stocks are in; the crypto request completes the same call, which the limiter
         * already let through: a follow-up, not a new call. */
        char path[ALPACA_PATH_MAX];
        c->asking_crypto = true;
        snapshots_path(c, true, path, sizeof path);
        follow(c, HTTP_GET, true, path, NULL, got_snapshots);
        return;
    }
    /* The reply outlives the call (alpaca_finish frees it before the callback runs). */
    broker_quote *q = c->quotes;
    broker_reply r = {.quotes = q, .nquotes = c->nsymbols};
    c->quotes = NULL;
    alpaca_finish(c, &r);
    free(q);
}

/* Stocks and crypto pairs are priced by two data APIs: one request per kind present
 * (stocks first), answered together in request order. */
static int alpaca_get_quotes(broker *b, const char *const *symbols, int n, broker_cb cb, void *ud)
{
    alpaca_broker *a = as_alpaca(b);
    if (n < 1 || n > ALPACA_MAX_QUOTES)
        return APEX_EINVAL;
    call *c = alpaca_call_new(a, cb, ud);
    if (!c)
        return APEX_ENOMEM;
    c->quotes = calloc((size_t)n, sizeof *c->quotes);
    if (!c->quotes) {
        alpaca_call_free(c);
        return APEX_ENOMEM;
    }
    for (int i = 0; i < n; i++)
        snprintf(c->symbols[i], sizeof c->symbols[i], "%s", symbols[i]);
    c->nsymbols = n;
    c->asking_crypto = !has_kind(c, false);
    char path[ALPACA_PATH_MAX];
    snapshots_path(c, c->asking_crypto, path, sizeof path);
    return op_send(c, HTTP_GET, true, path, NULL, got_snapshots);
}

/* ---- close a position: cancel its orders, then one market order under the host's id ---- */

static void close_sent(call *c, const http_result *res)
{
    submitted(c, res);
}

static void close_position_read(call *c, const http_result *res)
{
    if (res->outcome == HTTP_OUTCOME_RESPONSE && res->status == 404) {
        alpaca_fail(c, APEX_ENOTFOUND, "alpaca: no %s position to close", c->symbol);
        return;
    }
    json_t *j =
        alpaca_ok_json(c, res, "alpaca: reading the position to close failed", "alpaca: position");
    if (!j)
        return;
    broker_position pos;
    char err[256];
    int rc = alpaca_decode_position(j, &pos, err, sizeof err);
    json_decref(j);
    if (rc != 0 || pos.qty == 0) {
        alpaca_fail(c, rc ? APEX_EIO : APEX_ENOTFOUND, "alpaca: %s",
                    rc ? err : "the position is already flat");
        return;
    }
    order_request req = {.type = ORDER_MARKET,
                         .side = pos.qty > 0 ? SIDE_SELL : SIDE_BUY,
                         .qty = pos.qty > 0 ? pos.qty : -pos.qty,
                         .role = ORDER_ROLE_EXIT};
    snprintf(req.symbol, sizeof req.symbol, "%s", c->symbol);
    snprintf(req.client_order_id, sizeof req.client_order_id, "%s", c->coid);
    char *body = NULL;
    if (encode_order(&req, &body) != 0) {
        alpaca_fail(c, APEX_EINVAL, "alpaca: the closing order could not be encoded");
        return;
    }
    follow(c, HTTP_POST, false, "/v2/orders", body, close_sent);
    free(body);
}

static void close_next_cancel(call *c);

static void close_cancelled(call *c, const http_result *res)
{
    /* 204, or 422 "not cancelable" (it finished first): either way it no longer works. */
    if (res->outcome != HTTP_OUTCOME_RESPONSE ||
        (res->status >= 300 && res->status != 422 && res->status != 404)) {
        alpaca_fail_http(c, res, "alpaca: cancelling an order before the close failed");
        return;
    }
    close_next_cancel(c);
}

static void close_next_cancel(call *c)
{
    char path[256];
    if (c->ncancel > 0) {
        c->ncancel--;
        snprintf(path, sizeof path, "/v2/orders/%s", c->cancel_ids[c->ncancel]);
        follow(c, HTTP_DELETE, false, path, NULL, close_cancelled);
        return;
    }
    char seg[SYMBOL_MAX];
    alpaca_path_symbol(c->symbol, seg, sizeof seg);
    snprintf(path, sizeof path, "/v2/positions/%s", seg);
    follow(c, HTTP_GET, false, path, NULL, close_position_read);
}

static void close_listed(call *c, const http_result *res)
{
    broker_order *list;
    int n;
    if (decode_open_orders(c, res, "alpaca: listing orders before the close failed", &list, &n) !=
        0)
        return;
    /* Parents first cancel their legs at Alpaca; a leg whose parent filled is its own. */
    c->ncancel = 0;
    for (int i = 0; i < n && c->ncancel < ALPACA_MAX_CANCELS; i++)
        if (list[i].broker_order_id[0])
            snprintf(c->cancel_ids[c->ncancel++], sizeof c->cancel_ids[0], "%s",
                     list[i].broker_order_id);
    free(list);
    close_next_cancel(c);
}

static int alpaca_close_position(broker *b, const char *symbol, const char *coid, broker_cb cb,
                                 void *ud)
{
    call *c = alpaca_call_new(as_alpaca(b), cb, ud);
    if (!c)
        return APEX_ENOMEM;
    snprintf(c->symbol, sizeof c->symbol, "%s", symbol);
    name_order(c, coid);
    c->is_leg = false;
    char path[256];
    snprintf(path, sizeof path, "/v2/orders?status=open&nested=true&limit=500&symbols=%s", symbol);
    return op_send(c, HTTP_GET, false, path, NULL, close_listed);
}

/* ---- fills of one order ---- */

static int alpaca_list_fills(broker *b, const char *coid, broker_cb cb, void *ud)
{
    call *c = alpaca_call_new(as_alpaca(b), cb, ud);
    if (!c)
        return APEX_ENOMEM;
    name_order(c, coid);
    char path[256];
    by_client_id_path(c, path, sizeof path);
    return op_send(c, HTTP_GET, false, path, NULL, alpaca_fills_order_found);
}

/* ---- life ---- */

static void alpaca_free(broker *b)
{
    alpaca_broker *a = as_alpaca(b);
    /* The stream and the HTTP client first: neither calls back after its free, so nothing
     * below can be reached from the loop again. */
    alpaca_stream_free(a);
    alpaca_md_free(a);
    http_client_free(a->http);
    while (!LIST_EMPTY(&a->calls))
        alpaca_call_free(LIST_FIRST(&a->calls));
    alpaca_poll_free(a);
    clock_free(a->clock); /* after every timer on it has stopped */
    credentials_wipe(&a->cred);
    free(a);
}

int alpaca_check_config(const broker_config *cfg, char *err, size_t errlen)
{
    char url[512];
    int rc = endpoint_resolve(cfg->base_url, ALPACA_PAPER_URL, "broker.base_url", url, sizeof url,
                              err, errlen);
    if (rc == 0)
        rc = endpoint_resolve(cfg->data_url, ALPACA_DATA_URL, "broker.data_url", url, sizeof url,
                              err, errlen);
    if (rc != 0)
        return rc;
    broker_credentials cred;
    rc = credentials_load(cfg, ALPACA_KEY_ENV, ALPACA_SECRET_ENV, &cred, err, errlen);
    credentials_wipe(&cred);
    return rc;
}

int alpaca_describe(const broker_config *cfg, char *desc, size_t desclen)
{
    char trading[512], data[512];
    int rc = endpoint_resolve(cfg->base_url, ALPACA_PAPER_URL, "broker.base_url", trading,
                              sizeof trading, desc, desclen);
    if (rc == 0)
        rc = endpoint_resolve(cfg->data_url, ALPACA_DATA_URL, "broker.data_url", data, sizeof data,
                              desc, desclen);
    broker_credentials cred;
    if (rc == 0)
        rc = credentials_load(cfg, ALPACA_KEY_ENV, ALPACA_SECRET_ENV, &cred, desc, desclen);
    if (rc != 0)
        return rc;
    bool paper = strstr(trading, "paper-api.") != NULL || endpoint_is_loopback(trading);
    snprintf(desc, desclen, "alpaca at %s (%s), data %s (%s), key from %s, secret from %s", trading,
             paper ? "paper" : "LIVE MONEY", data, cfg->feed == BROKER_FEED_SIP ? "sip" : "iex",
             cred.key_source, cred.secret_source);
    credentials_wipe(&cred);
    return 0;
}

broker *alpaca_broker_new(const broker_config *cfg, struct uv_loop_s *loop, char *err,
                          size_t errlen)
{
    if (!loop)
        return err_set(err, errlen, APEX_EINVAL, "alpaca: needs the live loop"), NULL;
    alpaca_broker *a = calloc(1, sizeof *a);
    if (!a)
        return err_set(err, errlen, APEX_ENOMEM, "alpaca: out of memory"), NULL;
    a->base.ops = &alpaca_ops;
    a->loop = loop;
    LIST_INIT(&a->calls);
    snprintf(a->feed, sizeof a->feed, "%s", cfg->feed == BROKER_FEED_SIP ? "sip" : "iex");
    int rc = endpoint_resolve(cfg->base_url, ALPACA_PAPER_URL, "broker.base_url", a->trading,
                              sizeof a->trading, err, errlen);
    if (rc == 0)
        rc = endpoint_resolve(cfg->data_url, ALPACA_DATA_URL, "broker.data_url", a->data,
                              sizeof a->data, err, errlen);
    if (rc == 0)
        rc = credentials_load(cfg, ALPACA_KEY_ENV, ALPACA_SECRET_ENV, &a->cred, err, errlen);
    if (rc != 0) {
        free(a);
        return NULL;
    }
    apex_error e;
    a->clock = clock_new_live(loop, 1.0, 0);
    http_client_options ho;
    http_client_options_default(&ho);
    ho.metrics_name = "alpaca";
    a->http = a->clock ? http_client_new(loop, &ho, &e) : NULL;
    if (!a->http || alpaca_poll_init(a) != 0) {
        err_set(err, errlen, APEX_EIO, "alpaca: %s", a->http ? "out of memory" : e.msg);
        if (a->http)
            http_client_free(a->http);
        clock_free(a->clock);
        credentials_wipe(&a->cred);
        free(a);
        return NULL;
    }
    log_info("alpaca: trading at %s, market data at %s (%s), key from %s", a->trading, a->data,
             a->feed, a->cred.key_source);
    /* Polling alone works: a stream that cannot start now is retried like a lost one. */
    if (alpaca_stream_init(a) != 0)
        log_warn("alpaca: no trade_updates stream URL for %s; order updates by polling only",
                 a->trading);
    return &a->base;
}

bool alpaca_stream_listening(const broker *b)
{
    return b && b->ops == &alpaca_ops && ((const alpaca_broker *)b)->stream_listening;
}

static const broker_ops alpaca_ops = {
    .name = "alpaca",
    .submit_order = alpaca_submit,
    .cancel_order = alpaca_cancel,
    .get_order = alpaca_get_order,
    .list_open_orders = alpaca_list_open,
    .get_position = alpaca_get_position,
    .list_positions = alpaca_list_positions,
    .get_account = alpaca_get_account,
    .get_quotes = alpaca_get_quotes,
    .close_position = alpaca_close_position,
    .list_fills = alpaca_list_fills,
    .list_symbol_fills = alpaca_list_symbol_fills,
    .market_data_subscribe = alpaca_md_subscribe,
    .market_data_unsubscribe = alpaca_md_unsubscribe,
    .get_session = alpaca_get_session,
    .get_asset = alpaca_get_asset,
    .replace_order = alpaca_replace,
    .takes_brackets = alpaca_takes_brackets,
    .get_clock = alpaca_get_clock,
    .free = alpaca_free,
};
