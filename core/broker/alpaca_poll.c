/* alpaca_poll: order updates and fills by polling, and the one reporting path that
 * polling and the trade_updates stream (alpaca_stream.c) share (alpaca.h).
 *
 * Every order the adapter places or meets is tracked with what the listener was last told.
 * While one of them is working, a poll every ALPACA_POLL_MS (ALPACA_STREAM_POLL_MS while
 * the stream is listening: then it is only a safety net) asks, in this order:
 *   1. GET /v2/account/activities/FILL since the last fill seen: each fill of a tracked
 *      order whose cumulative quantity is past what was reported goes to on_fill, with
 *      the id alpaca_fill_id gives it (the stream's id too);
 *   2. GET /v2/orders?status=all since the oldest working order: a status or filled
 *      quantity that changed goes to on_order.
 * Fills go first so the host never sees an order filled whose fill it has not had.
 * Both paths report through alpaca_report_fill and alpaca_report_order, which compare with
 * what was reported, so a fill or a change that comes both ways reaches the listener once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker/alpaca_internal.h"
#include "util/err.h"
#include "util/log.h"

static void format_time(apex_time t, char *out, size_t n)
{
    time_t secs = (time_t)(t / 1000000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static tracked *find_coid(alpaca_broker *a, const char *coid)
{
    hmap_entry *e = hmap_find_str(&a->by_coid, coid);
    return e ? e->value.ptr : NULL;
}

tracked *alpaca_tracked_by_id(alpaca_broker *a, const char *id)
{
    hmap_entry *e = hmap_find_str(&a->by_id, id);
    return e ? e->value.ptr : NULL;
}

static bool working(const tracked *t)
{
    return !t->reported || !order_status_is_final(t->last.status) ||
           t->filled_reported < t->last.filled_qty;
}

/* An order whose answer showed more filled than its fills reported: the fills are owed. */
static bool fills_owed(alpaca_broker *a)
{
    tracked *t;
    LIST_FOREACH(t, &a->orders, link)
    if (t->filled_reported < t->last.filled_qty)
        return true;
    return false;
}

/* Fast polls for owed fills before the pace falls back to the stream's safety net. */
#define OWED_FAST_POLLS 15

/* While fills are owed the poll runs at the fast pace even with the stream up: a fill the
 * stream brought before its order was known (an instant market fill racing the POST's
 * answer) is not sent again, and an exit waits on it. Bounded, so an order whose fills
 * the activities never show cannot keep the account at 30 requests a minute. */
static apex_time interval(alpaca_broker *a)
{
    bool owed = fills_owed(a);
    if (!owed)
        a->owed_polls = 0;
    bool fast = !a->stream_listening || (owed && a->owed_polls++ < OWED_FAST_POLLS);
    return (apex_time)(fast ? ALPACA_POLL_MS : ALPACA_STREAM_POLL_MS) * 1000;
}

static void schedule(alpaca_broker *a)
{
    if (!clock_timer_active(&a->poll))
        clock_timer_start_in(&a->poll, interval(a));
}

/* Arms the poll to run within delay, unless it is due sooner already. */
static void poll_within(alpaca_broker *a, apex_time delay)
{
    apex_time due = clock_now(a->clock) + delay;
    if (clock_timer_due(&a->poll) > due) /* NEVER when not armed */
        clock_timer_start(&a->poll, due);
}

static bool any_working(alpaca_broker *a)
{
    tracked *t;
    LIST_FOREACH(t, &a->orders, link)
    if (working(t))
        return true;
    return false;
}

void alpaca_poll_now(alpaca_broker *a)
{
    if (a->poll_busy)
        a->poll_again = true; /* what it asked may predate what is to be caught up */
    else if (any_working(a))
        poll_within(a, 0);
}

void alpaca_poll_retime(alpaca_broker *a)
{
    /* Faster: the pending poll moves up. Slower: it runs as planned, the next one later. */
    if (clock_timer_active(&a->poll))
        poll_within(a, interval(a));
}

void alpaca_note_early(alpaca_broker *a, const char *alpaca_id)
{
    if (!alpaca_id[0])
        return;
    int n = (int)(sizeof a->early_ids / sizeof *a->early_ids);
    snprintf(a->early_ids[a->early_next], sizeof a->early_ids[0], "%s", alpaca_id);
    a->early_next = (a->early_next + 1) % n;
}

/* The stream spoke of this order before its answer arrived: what it said is not said
 * again, so the poll fetches it now. */
static bool seen_early(alpaca_broker *a, const char *alpaca_id)
{
    int n = (int)(sizeof a->early_ids / sizeof *a->early_ids);
    for (int i = 0; i < n && alpaca_id[0]; i++)
        if (strcmp(a->early_ids[i], alpaca_id) == 0) {
            a->early_ids[i][0] = '\0';
            return true;
        }
    return false;
}

static void track_one(alpaca_broker *a, const broker_order *o)
{
    if (!o->client_order_id[0] || find_coid(a, o->client_order_id))
        return;
    tracked *t = calloc(1, sizeof *t);
    if (!t) {
        log_error("alpaca: out of memory tracking order %s; its updates come from the next "
                  "reconciliation",
                  o->client_order_id);
        return;
    }
    snprintf(t->coid, sizeof t->coid, "%s", o->client_order_id);
    snprintf(t->alpaca_id, sizeof t->alpaca_id, "%s", o->broker_order_id);
    t->last = *o;
    if (hmap_insert(&a->by_coid, t->coid, strlen(t->coid), (hmap_value){.ptr = t}) != 0 ||
        (t->alpaca_id[0] &&
         hmap_insert(&a->by_id, t->alpaca_id, strlen(t->alpaca_id), (hmap_value){.ptr = t}) != 0)) {
        hmap_remove(&a->by_coid, t->coid, strlen(t->coid));
        free(t);
        return;
    }
    LIST_INSERT_HEAD(&a->orders, t, link);
    /* The reply to the call that placed or found it tells the host its state. */
    t->reported = true;
    if (a->fills_after == 0 || o->created_at - APEX_SECOND < a->fills_after)
        a->fills_after = o->created_at - APEX_SECOND;
    /* Filled already (its fill may have come on the stream before we knew the order): the
     * fill is read by a poll now, and again at the fast pace until it is reported. */
    if (o->filled_qty > 0 || seen_early(a, o->broker_order_id))
        poll_within(a, 0);
    schedule(a);
}

void alpaca_track(alpaca_broker *a, const alpaca_order *ao)
{
    track_one(a, &ao->order);
    for (int i = 0; i < ao->nlegs; i++)
        track_one(a, &ao->legs[i]);
}

/* ---- one poll ---- */

static void poll_done(call *c)
{
    alpaca_broker *a = c->a;
    alpaca_call_free(c);
    a->poll_busy = false;
    if (a->poll_again) {
        a->poll_again = false;
        alpaca_poll_now(a);
    }
    if (any_working(a))
        schedule(a);
}

static void report_one(alpaca_broker *a, tracked *t, const broker_order *o)
{
    if (t->reported && t->last.status == o->status && t->last.filled_qty == o->filled_qty)
        return;
    t->last = *o;
    t->reported = true;
    if (a->base.listener.on_order)
        a->base.listener.on_order(a->base.listener.ud, o);
}

/* A leg's own event (the stream's) names it by Alpaca's ids; the host knows it by the
 * derived id it was tracked under, found through Alpaca's order id. */
static void host_names(alpaca_broker *a, broker_order *o)
{
    tracked *t;
    if (find_coid(a, o->client_order_id) || !(t = alpaca_tracked_by_id(a, o->broker_order_id)))
        return;
    snprintf(o->client_order_id, sizeof o->client_order_id, "%s", t->coid);
    snprintf(o->parent_client_order_id, sizeof o->parent_client_order_id, "%s",
             t->last.parent_client_order_id);
    o->role = t->last.role;
}

void alpaca_report_order(alpaca_broker *a, alpaca_order *ao)
{
    host_names(a, &ao->order);
    tracked *t = find_coid(a, ao->order.client_order_id);
    if (t)
        report_one(a, t, &ao->order);
    for (int l = 0; l < ao->nlegs; l++) {
        if (!(t = find_coid(a, ao->legs[l].client_order_id)) &&
            find_coid(a, ao->order.client_order_id)) {
            track_one(a, &ao->legs[l]); /* a leg first seen now: its state is news */
            if ((t = find_coid(a, ao->legs[l].client_order_id)))
                t->reported = false;
        }
        if (t)
            report_one(a, t, &ao->legs[l]);
    }
}

static void orders_polled(call *c, const http_result *res)
{
    alpaca_broker *a = c->a;
    if (res->outcome != HTTP_OUTCOME_RESPONSE || res->status != 200) {
        char msg[200];
        alpaca_http_error(res, msg, sizeof msg);
        log_warn("alpaca: polling orders: %s; trying again", msg);
        poll_done(c);
        return;
    }
    char err[256];
    json_t *j = alpaca_json_parse(res->body, res->body_len, "alpaca: orders", err, sizeof err);
    size_t n = json_is_array(j) ? json_array_size(j) : 0;
    for (size_t i = 0; i < n; i++) {
        alpaca_order ao;
        if (alpaca_decode_order(json_array_get(j, i), &ao, err, sizeof err) != 0) {
            log_warn("alpaca: polling orders: %s", err);
            continue;
        }
        alpaca_report_order(a, &ao);
    }
    if (!j)
        log_warn("alpaca: polling orders: %s", err);
    json_decref(j);
    poll_done(c);
}

static void poll_orders(call *c)
{
    alpaca_broker *a = c->a;
    apex_time oldest = 0;
    tracked *t;
    LIST_FOREACH(t, &a->orders, link)
    if (working(t) && (oldest == 0 || t->last.created_at < oldest))
        oldest = t->last.created_at;
    char after[40], path[256];
    format_time(oldest - APEX_SECOND, after, sizeof after);
    snprintf(path, sizeof path,
             "/v2/orders?status=all&nested=true&direction=asc&limit=500&after=%s", after);
    if (alpaca_send(c, HTTP_GET, false, path, NULL, orders_polled, RATELIMIT_ROUTINE, false) != 0)
        poll_done(c);
}

/* The cumulative quantity in a fill id "<order id>:<cum qty>". */
static money_t fill_cum(const broker_fill *f)
{
    const char *colon = strrchr(f->fill_id, ':');
    money_t cum = 0;
    if (!colon || money_parse(colon + 1, strlen(colon + 1), &cum) != 0)
        return 0;
    return cum;
}

void alpaca_report_fill(alpaca_broker *a, tracked *t, broker_fill *f, money_t cum)
{
    if (cum <= t->filled_reported)
        return; /* reported already, by this path or the other */
    snprintf(f->client_order_id, sizeof f->client_order_id, "%s", t->coid);
    t->filled_reported = cum;
    broker_order o = t->last;
    if (cum > o.filled_qty)
        o.filled_qty = cum;
    if (a->base.listener.on_fill)
        a->base.listener.on_fill(a->base.listener.ud, f, &o);
}

static void fills_polled(call *c, const http_result *res)
{
    alpaca_broker *a = c->a;
    if (res->outcome != HTTP_OUTCOME_RESPONSE || res->status != 200) {
        char msg[200];
        alpaca_http_error(res, msg, sizeof msg);
        log_warn("alpaca: polling fills: %s; trying again", msg);
        poll_done(c);
        return;
    }
    char err[256];
    json_t *j = alpaca_json_parse(res->body, res->body_len, "alpaca: fills", err, sizeof err);
    size_t n = json_is_array(j) ? json_array_size(j) : 0;
    for (size_t i = 0; i < n; i++) {
        broker_fill f;
        char order_id[BROKER_ID_MAX];
        if (alpaca_decode_fill_activity(json_array_get(j, i), &f, order_id, sizeof order_id, err,
                                        sizeof err) != 0) {
            log_warn("alpaca: polling fills: %s", err);
            continue;
        }
        if (f.ts - APEX_SECOND > a->fills_after)
            a->fills_after = f.ts - APEX_SECOND;
        tracked *t = alpaca_tracked_by_id(a, order_id);
        if (t) /* else not ours */
            alpaca_report_fill(a, t, &f, fill_cum(&f));
    }
    if (!j)
        log_warn("alpaca: polling fills: %s", err);
    json_decref(j);
    poll_orders(c);
}

static void poll_tick(clock_timer *timer, void *ud)
{
    (void)timer;
    alpaca_broker *a = ud;
    if (a->poll_busy)
        return;
    call *c = alpaca_call_new(a, NULL, NULL);
    if (!c) {
        schedule(a);
        return;
    }
    a->poll_busy = true;
    char after[40], path[256];
    format_time(a->fills_after, after, sizeof after);
    snprintf(path, sizeof path, "/v2/account/activities/FILL?direction=asc&page_size=100&after=%s",
             after);
    if (alpaca_send(c, HTTP_GET, false, path, NULL, fills_polled, RATELIMIT_ROUTINE, false) != 0)
        poll_done(c);
}

int alpaca_poll_init(alpaca_broker *a)
{
    LIST_INIT(&a->orders);
    hmap_init(&a->by_coid);
    hmap_init(&a->by_id);
    clock_timer_init(a->clock, &a->poll, poll_tick, a);
    return 0;
}

void alpaca_poll_free(alpaca_broker *a)
{
    clock_timer_stop(&a->poll);
    while (!LIST_EMPTY(&a->orders)) {
        tracked *t = LIST_FIRST(&a->orders);
        LIST_REMOVE(t, link);
        free(t);
    }
    hmap_free(&a->by_coid);
    hmap_free(&a->by_id);
}

/* ---- list_fills ---- */

static void fills_listed(call *c, const http_result *res)
{
    json_t *j = alpaca_ok_json(c, res, "alpaca: listing fills failed", "alpaca: fills");
    if (!j)
        return;
    size_t n = json_is_array(j) ? json_array_size(j) : 0;
    broker_fill *list = calloc(n + 1, sizeof *list);
    int k = 0;
    char err[256];
    for (size_t i = 0; list && i < n; i++) {
        char order_id[BROKER_ID_MAX];
        if (alpaca_decode_fill_activity(json_array_get(j, i), &list[k], order_id, sizeof order_id,
                                        err, sizeof err) != 0 ||
            strcmp(order_id, c->alpaca_id) != 0)
            continue;
        snprintf(list[k].client_order_id, sizeof list[k].client_order_id, "%s", c->coid);
        k++;
    }
    json_decref(j);
    if (!list) {
        alpaca_fail(c, APEX_ENOMEM, "alpaca: out of memory listing fills");
        return;
    }
    broker_reply r = {.fills = list, .nfills = k};
    alpaca_finish(c, &r);
    free(list);
}

void alpaca_fills_order_found(call *c, const http_result *res)
{
    if (res->outcome == HTTP_OUTCOME_RESPONSE && res->status == 404) {
        alpaca_fail(c, APEX_ENOTFOUND, "alpaca: no order %s", c->coid);
        return;
    }
    json_t *j =
        alpaca_ok_json(c, res, "alpaca: order lookup for its fills failed", "alpaca: order");
    if (!j)
        return;
    alpaca_order ao;
    char err[256];
    int rc = alpaca_decode_order(j, &ao, err, sizeof err);
    json_decref(j);
    if (rc != 0) {
        alpaca_fail(c, APEX_EIO, "%s", err);
        return;
    }
    const broker_order *o = &ao.order;
    for (int i = 0; c->is_leg && i < ao.nlegs; i++)
        if (ao.legs[i].role == c->leg_role)
            o = &ao.legs[i];
    if (c->is_leg && o == &ao.order) {
        alpaca_fail(c, APEX_ENOTFOUND, "alpaca: order %s has no such leg", c->parent);
        return;
    }
    snprintf(c->alpaca_id, sizeof c->alpaca_id, "%s", o->broker_order_id);
    char after[40], path[256];
    format_time(o->created_at - APEX_SECOND, after, sizeof after);
    snprintf(path, sizeof path, "/v2/account/activities/FILL?direction=asc&page_size=100&after=%s",
             after);
    if (alpaca_send(c, HTTP_GET, false, path, NULL, fills_listed, 0, false) != 0)
        alpaca_fail(c, APEX_EIO, "alpaca: the fills request could not be started");
}

/* ---- list_symbol_fills ---- */

/* Alpaca's largest page of activities; a full page means there may be another. */
#define SYMBOL_FILLS_PAGE 100
/* A bound on the pages of one call (10,000 fills of the account since the position
 * opened): past it the call fails rather than page for ever. */
#define SYMBOL_FILLS_MAX_PAGES 100

static int symbol_fills_send(call *c, const char *page_token, bool granted);

static void symbol_fills_page(call *c, const http_result *res)
{
    json_t *j =
        alpaca_ok_json(c, res, "alpaca: listing the symbol's fills failed", "alpaca: fills");
    if (!j)
        return;
    size_t n = json_is_array(j) ? json_array_size(j) : 0;
    char token[BROKER_ID_MAX] = "", err[256];
    for (size_t i = 0; i < n; i++) {
        const json_t *obj = json_array_get(j, i);
        const char *id = json_string_value(json_object_get(obj, "id"));
        if (id)
            snprintf(token, sizeof token, "%s", id);
        broker_fill f;
        char order_id[BROKER_ID_MAX];
        if (alpaca_decode_fill_activity(obj, &f, order_id, sizeof order_id, err, sizeof err) != 0) {
            /* A fill that cannot be read would leave the ledger short without a word: the
             * whole answer fails, and the caller says the P&L is apex-host's fills only. */
            json_decref(j);
            alpaca_fail(c, APEX_EIO, "alpaca: listing the symbol's fills: %s", err);
            return;
        }
        if (strcmp(f.symbol, c->symbol) != 0)
            continue; /* the activities endpoint cannot filter by symbol */
        snprintf(f.order_id, sizeof f.order_id, "%s", order_id);
        /* The host's id where the adapter knows the order: a fill of apex-host's own. */
        tracked *t = alpaca_tracked_by_id(c->a, order_id);
        if (t)
            snprintf(f.client_order_id, sizeof f.client_order_id, "%s", t->coid);
        if (c->nfills == c->cap_fills) {
            int cap = c->cap_fills ? c->cap_fills * 2 : 16;
            broker_fill *grown = realloc(c->fills, (size_t)cap * sizeof *grown);
            if (!grown) {
                json_decref(j);
                alpaca_fail(c, APEX_ENOMEM, "alpaca: out of memory listing fills");
                return;
            }
            c->fills = grown;
            c->cap_fills = cap;
        }
        c->fills[c->nfills++] = f;
    }
    json_decref(j);
    if (n >= SYMBOL_FILLS_PAGE && token[0]) {
        if (++c->pages >= SYMBOL_FILLS_MAX_PAGES) {
            alpaca_fail(c, APEX_ERANGE,
                        "alpaca: more than %d pages of fills since the position "
                        "opened",
                        SYMBOL_FILLS_MAX_PAGES);
            return;
        }
        int rc = symbol_fills_send(c, token, false);
        if (rc != 0)
            alpaca_fail(c, rc, "alpaca: the next page of fills could not be requested (%s)",
                        err_name(rc));
        return;
    }
    /* The call (and what it owns) is freed before the callback runs: the list is kept. */
    broker_fill *list = c->fills;
    c->fills = NULL;
    broker_reply r = {.fills = list, .nfills = c->nfills};
    alpaca_finish(c, &r);
    free(list);
}

static int symbol_fills_send(call *c, const char *page_token, bool granted)
{
    char after[40], path[400];
    /* A second early: `after` is exclusive and to the second, and a fill in the position's
     * opening second must not be lost (the entry's own fill is skipped by the caller). */
    format_time(c->since - APEX_SECOND, after, sizeof after);
    int len = snprintf(path, sizeof path,
                       "/v2/account/activities/FILL?direction=asc&page_size=%d&after=%s",
                       SYMBOL_FILLS_PAGE, after);
    if (page_token && len > 0 && (size_t)len < sizeof path)
        snprintf(path + len, sizeof path - (size_t)len, "&page_token=%s", page_token);
    return alpaca_send(c, HTTP_GET, false, path, NULL, symbol_fills_page, 0, granted);
}

int alpaca_list_symbol_fills(broker *b, const char *symbol, apex_time since, broker_cb cb, void *ud)
{
    call *c = alpaca_call_new((alpaca_broker *)b, cb, ud);
    if (!c)
        return APEX_ENOMEM;
    snprintf(c->symbol, sizeof c->symbol, "%s", symbol);
    c->since = since;
    int rc = symbol_fills_send(c, NULL, true);
    if (rc != 0)
        alpaca_call_free(c); /* the op returns rc: its callback never runs */
    return rc;
}
