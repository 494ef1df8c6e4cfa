#include "fake_broker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/adapter.h"
#include "ledger/ledger.h"
#include "util/err.h"

/* Test support aborts on OOM: a test that cannot allocate has nothing to report. */
static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fprintf(stderr, "fake_broker: out of memory\n");
        abort();
    }
    return q;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) {
        fprintf(stderr, "fake_broker: out of memory\n");
        abort();
    }
    return p;
}

#define GROW(arr, n, cap)                                                                          \
    do {                                                                                           \
        if ((n) == (cap)) {                                                                        \
            (cap) = (cap) ? (cap)*2 : 16;                                                          \
            (arr) = xrealloc((arr), (size_t)(cap) * sizeof *(arr));                                \
        }                                                                                          \
    } while (0)

/* A reply or a listener event waiting for its time. Reply pointers are set at delivery
 * and point into the event itself, which owns everything it carries. */
typedef enum { EV_REPLY, EV_ORDER, EV_FILL } event_type;

typedef struct fake_event {
    struct fake_event *next;
    event_type type;
    apex_time due;
    apex_time delay; /* scripted extra delay, kept for a held reply */
    broker_cb cb;
    void *ud;
    int status;
    char error[256];
    bool has_order, has_account;
    broker_order order;
    broker_account account;
    broker_fill fill;
    broker_order *orders;
    int norders;
    broker_position *positions;
    int npositions;
    broker_quote *quotes;
    int nquotes;
    broker_fill *fills;
    int nfills;
    bool has_session;
    broker_session session;
} fake_event;

typedef struct {
    broker_order o;
    money_t take_profit, stop_loss; /* a bracket entry's legs, for reference */
} fake_order;

typedef struct {
    char symbol[SYMBOL_MAX];
    ledger led;
} fake_position;

typedef struct {
    fake_script s;
    char error[256];
    int times;
} script_entry;

struct fake_broker {
    broker base;
    apex_clock *clock;
    broker *inner; /* wrap mode */
    apex_time latency;
    fake_events events;
    fake_call_hook hook;
    void *hook_ud;
    bool *freed;

    fake_call *calls;
    int ncalls, cap_calls;
    script_entry *scripts[FAKE_NKINDS + 1];
    int nscripts[FAKE_NKINDS + 1], cap_scripts[FAKE_NKINDS + 1];

    clock_timer timer;
    fake_event *queue; /* by due time, then arrival */
    fake_event *held, **held_tail;

    fake_order **orders;
    int norders, cap_orders;
    broker_fill *fills;
    int nfills, cap_fills;
    fake_position *positions;
    int npositions, cap_positions;
    broker_quote *quotes;
    int nquotes, cap_quotes;
    broker_account account;
    int order_no, fill_no;
    broker_session sessions[16]; /* fake_broker_set_session, by day */
    apex_time session_days[16];
    int nsessions;
};

static const broker_ops fake_ops;

static fake_broker *FB(broker *b)
{
    return (fake_broker *)b;
}

const char *fake_call_kind_name(fake_call_kind kind)
{
    static const char *const names[] = {
        "submit_order",   "cancel_order",   "get_order",   "list_open_orders",
        "get_position",   "list_positions", "get_account", "get_quotes",
        "close_position", "list_fills",     "get_session", "list_symbol_fills",
    };
    return kind >= 0 && kind < FAKE_NKINDS ? names[kind] : "any";
}

/* ---- the delivery queue ---- */

static void event_free(fake_event *ev)
{
    free(ev->orders);
    free(ev->positions);
    free(ev->quotes);
    free(ev->fills);
    free(ev);
}

static void deliver(fake_broker *fb, fake_event *ev)
{
    const broker_listener *l = &fb->base.listener;
    if (ev->type == EV_ORDER) {
        if (l->on_order)
            l->on_order(l->ud, &ev->order);
        return;
    }
    if (ev->type == EV_FILL) {
        if (l->on_fill)
            l->on_fill(l->ud, &ev->fill, &ev->order);
        return;
    }
    broker_reply r = {.status = ev->status,
                      .order = ev->has_order ? &ev->order : NULL,
                      .orders = ev->orders,
                      .norders = ev->norders,
                      .positions = ev->positions,
                      .npositions = ev->npositions,
                      .account = ev->has_account ? &ev->account : NULL,
                      .quotes = ev->quotes,
                      .nquotes = ev->nquotes,
                      .fills = ev->fills,
                      .nfills = ev->nfills,
                      .session = ev->has_session ? &ev->session : NULL};
    snprintf(r.error, sizeof r.error, "%s", ev->error);
    if (ev->cb)
        ev->cb(ev->ud, &r);
}

static void flush(clock_timer *timer, void *ud)
{
    (void)timer;
    fake_broker *fb = ud;
    apex_time now = clock_now(fb->clock);
    /* Callbacks may queue more; what is due now goes out in this pass too. */
    while (fb->queue && fb->queue->due <= now) {
        fake_event *ev = fb->queue;
        fb->queue = ev->next;
        deliver(fb, ev);
        event_free(ev);
    }
    if (fb->queue)
        clock_timer_start(&fb->timer, fb->queue->due);
}

static void push(fake_broker *fb, fake_event *ev, apex_time due)
{
    ev->due = due;
    fake_event **pp = &fb->queue;
    while (*pp && (*pp)->due <= due)
        pp = &(*pp)->next;
    ev->next = *pp;
    *pp = ev;
    clock_timer_start(&fb->timer, fb->queue->due);
}

static fake_event *event_new(event_type type)
{
    fake_event *ev = xcalloc(1, sizeof *ev);
    ev->type = type;
    return ev;
}

static fake_event *reply_new(broker_cb cb, void *ud)
{
    fake_event *ev = event_new(EV_REPLY);
    ev->cb = cb;
    ev->ud = ud;
    return ev;
}

static void reply_error(fake_event *ev, int status, const char *fmt, const char *arg)
{
    ev->status = status;
    snprintf(ev->error, sizeof ev->error, fmt, arg);
}

/* Sends a reply on its way: queued for its time, or held for fake_broker_release. */
static void send_reply(fake_broker *fb, fake_event *ev, bool hold, apex_time delay)
{
    ev->delay = delay;
    if (hold) {
        ev->next = NULL;
        *fb->held_tail = ev;
        fb->held_tail = &ev->next;
        return;
    }
    push(fb, ev, clock_now(fb->clock) + fb->latency + delay);
}

static void emit_order(fake_broker *fb, const broker_order *o)
{
    if (fb->events == FAKE_EVENTS_DROPPED)
        return;
    if (fb->events == FAKE_EVENTS_IMMEDIATE) {
        if (fb->base.listener.on_order)
            fb->base.listener.on_order(fb->base.listener.ud, o);
        return;
    }
    fake_event *ev = event_new(EV_ORDER);
    ev->order = *o;
    push(fb, ev, clock_now(fb->clock) + fb->latency);
}

static void emit_fill(fake_broker *fb, const broker_fill *f, const broker_order *o)
{
    if (fb->events == FAKE_EVENTS_DROPPED)
        return;
    if (fb->events == FAKE_EVENTS_IMMEDIATE) {
        if (fb->base.listener.on_fill)
            fb->base.listener.on_fill(fb->base.listener.ud, f, o);
        return;
    }
    fake_event *ev = event_new(EV_FILL);
    ev->fill = *f;
    ev->order = *o;
    push(fb, ev, clock_now(fb->clock) + fb->latency);
}

/* ---- calls, scripts, the hook ---- */

typedef struct {
    bool scripted;
    fake_action action;
    int status;
    char error[256];
    apex_time delay;
} outcome;

/* Takes the next script for kind (its own queue first, then FAKE_ANY's). */
static void next_script(fake_broker *fb, fake_call_kind kind, outcome *out)
{
    memset(out, 0, sizeof *out);
    int k = fb->nscripts[kind] ? (int)kind : (fb->nscripts[FAKE_ANY] ? FAKE_ANY : -1);
    if (k < 0)
        return;
    script_entry *e = &fb->scripts[k][0];
    out->scripted = true;
    out->action = e->s.action;
    out->status = e->s.status;
    out->delay = e->s.delay;
    snprintf(out->error, sizeof out->error, "%s", e->error);
    if (--e->times == 0)
        memmove(e, e + 1, (size_t)(--fb->nscripts[k]) * sizeof *e);
}

/* Records a call; the caller fills in its arguments, then calls decide. */
static int arrive(fake_broker *fb, fake_call_kind kind)
{
    GROW(fb->calls, fb->ncalls, fb->cap_calls);
    fake_call *c = &fb->calls[fb->ncalls];
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->at = clock_now(fb->clock);
    return fb->ncalls++;
}

/* Runs the hook (on a copy: the hook may call the fake, which may grow the call list),
 * then takes the script for this call. */
static void decide(fake_broker *fb, int idx, outcome *out)
{
    if (fb->hook) {
        fake_call copy = fb->calls[idx];
        fb->hook(fb->hook_ud, fb, &copy);
    }
    next_script(fb, fb->calls[idx].kind, out);
}

static int finish(fake_broker *fb, int idx, int rc)
{
    fb->calls[idx].rc = rc;
    return rc;
}

/* Applies a refusal or a scripted failure. Returns true when the call is settled. */
static bool scripted_failure(fake_broker *fb, const outcome *o, broker_cb cb, void *ud, int idx,
                             int *rc)
{
    if (!o->scripted)
        return false;
    if (o->action == FAKE_REFUSE) {
        *rc = finish(fb, idx, o->status ? o->status : APEX_EINVAL);
        return true;
    }
    if (o->action == FAKE_REPLY && o->status != 0) {
        fake_event *ev = reply_new(cb, ud);
        reply_error(ev, o->status, "%s", o->error);
        send_reply(fb, ev, false, o->delay);
        *rc = finish(fb, idx, 0);
        return true;
    }
    return false;
}

static bool held(const outcome *o)
{
    return o->scripted && o->action == FAKE_HOLD;
}

static apex_time delay_of(const outcome *o)
{
    return o->scripted ? o->delay : 0;
}

/* ---- the book ---- */

static fake_order *find_order(const fake_broker *fb, const char *coid)
{
    for (int i = 0; coid && i < fb->norders; i++)
        if (strcmp(fb->orders[i]->o.client_order_id, coid) == 0)
            return fb->orders[i];
    return NULL;
}

static fake_order *order_new(fake_broker *fb, const char *coid, const char *symbol, order_side side,
                             order_type type, order_role role, money_t qty)
{
    fake_order *o = xcalloc(1, sizeof *o);
    GROW(fb->orders, fb->norders, fb->cap_orders);
    fb->orders[fb->norders++] = o;
    snprintf(o->o.client_order_id, sizeof o->o.client_order_id, "%s", coid);
    snprintf(o->o.broker_order_id, sizeof o->o.broker_order_id, "fake-%d", ++fb->order_no);
    snprintf(o->o.symbol, sizeof o->o.symbol, "%s", symbol);
    o->o.side = side;
    o->o.type = type;
    o->o.role = role;
    o->o.qty = qty;
    o->o.status = ORDER_STATUS_ACCEPTED;
    o->o.created_at = o->o.updated_at = clock_now(fb->clock);
    return o;
}

static fake_position *position_find(const fake_broker *fb, const char *symbol, bool create)
{
    for (int i = 0; i < fb->npositions; i++)
        if (strcmp(fb->positions[i].symbol, symbol) == 0)
            return &fb->positions[i];
    if (!create)
        return NULL;
    fake_broker *w = (fake_broker *)fb;
    GROW(w->positions, w->npositions, w->cap_positions);
    fake_position *p = &w->positions[w->npositions++];
    memset(p, 0, sizeof *p);
    snprintf(p->symbol, sizeof p->symbol, "%s", symbol);
    return p;
}

static const broker_quote *quote_find(const fake_broker *fb, const char *symbol)
{
    for (int i = 0; symbol && i < fb->nquotes; i++)
        if (strcmp(fb->quotes[i].symbol, symbol) == 0)
            return &fb->quotes[i];
    return NULL;
}

static void position_view(const fake_broker *fb, const fake_position *p, broker_position *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->symbol, sizeof out->symbol, "%s", p->symbol);
    out->qty = p->led.qty;
    out->avg_entry_price = ledger_avg_price(&p->led);
    const broker_quote *q = quote_find(fb, p->symbol);
    if (q && q->last) {
        out->market_price = q->last;
        out->unrealized_pnl = ledger_unrealized(&p->led, q->last);
    }
}

static void cancel_order(fake_broker *fb, fake_order *o, const char *why)
{
    o->o.status = ORDER_STATUS_CANCELLED;
    snprintf(o->o.reason, sizeof o->o.reason, "%s", why);
    o->o.updated_at = clock_now(fb->clock);
    emit_order(fb, &o->o);
}

/* A cancelled entry takes its legs with it, as a broker's bracket does. */
static void cancel_legs(fake_broker *fb, const fake_order *entry)
{
    for (int i = 0; i < fb->norders; i++) {
        fake_order *leg = fb->orders[i];
        if (strcmp(leg->o.parent_client_order_id, entry->o.client_order_id) == 0 &&
            !order_status_is_final(leg->o.status))
            cancel_order(fb, leg, "parent was cancelled");
    }
}

static void make_leg(fake_broker *fb, const fake_order *entry, order_role role, order_type type,
                     money_t price)
{
    char coid[BROKER_ID_MAX];
    order_leg_id(entry->o.client_order_id, role, coid, sizeof coid);
    fake_order *leg = order_new(fb, coid, entry->o.symbol, order_side_opposite(entry->o.side), type,
                                role, entry->o.qty);
    snprintf(leg->o.parent_client_order_id, sizeof leg->o.parent_client_order_id, "%s",
             entry->o.client_order_id);
    leg->o.status = ORDER_STATUS_HELD;
    if (type == ORDER_STOP)
        leg->o.stop_price = price;
    else
        leg->o.limit_price = price;
}

static void duplicate(fake_event *ev, const fake_order *existing)
{
    snprintf(ev->error, sizeof ev->error,
             "client order id %s was already used (order %s, %s); use a new id",
             existing->o.client_order_id, existing->o.broker_order_id,
             order_status_name(existing->o.status));
    ev->status = APEX_EDUP;
    ev->order = existing->o;
    ev->has_order = true;
}

static void not_found(fake_event *ev, const char *coid)
{
    reply_error(ev, APEX_ENOTFOUND, "no order with client order id %s at the fake broker", coid);
}

/* ---- broker_ops ---- */

static int fb_submit(broker *b, const order_request *req, broker_cb cb, void *ud)
{
    fake_broker *fb = FB(b);
    outcome oc;
    int idx = arrive(fb, FAKE_SUBMIT);
    fake_call *c = &fb->calls[idx];
    c->req = *req;
    snprintf(c->client_order_id, sizeof c->client_order_id, "%s", req->client_order_id);
    snprintf(c->symbol, sizeof c->symbol, "%s", req->symbol);
    decide(fb, idx, &oc);
    int rc;
    if (scripted_failure(fb, &oc, cb, ud, idx, &rc))
        return rc;
    if (fb->inner)
        return finish(fb, idx,
                      broker_submit_order(fb->inner, BROKER_PRIORITY_ROUTINE, req, cb, ud));
    fake_event *ev = reply_new(cb, ud);
    fake_order *dup = find_order(fb, req->client_order_id);
    if (dup) {
        duplicate(ev, dup);
    } else {
        fake_order *o = order_new(fb, req->client_order_id, req->symbol, req->side, req->type,
                                  ORDER_ROLE_ENTRY, req->qty);
        o->o.limit_price = req->limit_price;
        o->o.stop_price = req->stop_price;
        o->take_profit = req->take_profit;
        o->stop_loss = req->stop_loss;
        if (req->take_profit)
            make_leg(fb, o, ORDER_ROLE_TAKE_PROFIT, ORDER_LIMIT, req->take_profit);
        if (req->stop_loss)
            make_leg(fb, o, ORDER_ROLE_STOP_LOSS, ORDER_STOP, req->stop_loss);
        ev->order = o->o;
        ev->has_order = true;
    }
    send_reply(fb, ev, held(&oc), delay_of(&oc));
    return finish(fb, idx, 0);
}

static int fb_cancel(broker *b, const char *coid, broker_cb cb, void *ud)
{
    fake_broker *fb = FB(b);
    outcome oc;
    int idx = arrive(fb, FAKE_CANCEL);
    snprintf(fb->calls[idx].client_order_id, BROKER_ID_MAX, "%s", coid ? coid : "");
    decide(fb, idx, &oc);
    int rc;
    if (scripted_failure(fb, &oc, cb, ud, idx, &rc))
        return rc;
    if (fb->inner)
        return finish(fb, idx,
                      broker_cancel_order(fb->inner, BROKER_PRIORITY_ROUTINE, coid, cb, ud));
    fake_event *ev = reply_new(cb, ud);
    fake_order *o = find_order(fb, coid);
    if (!o) {
        not_found(ev, coid ? coid : "");
        send_reply(fb, ev, held(&oc), delay_of(&oc));
        return finish(fb, idx, 0);
    }
    if (order_status_is_final(o->o.status)) {
        snprintf(ev->error, sizeof ev->error, "order %s is already %s; nothing to cancel",
                 o->o.client_order_id, order_status_name(o->o.status));
        ev->status = APEX_ESTATE;
        ev->order = o->o;
        ev->has_order = true;
        send_reply(fb, ev, held(&oc), delay_of(&oc));
        return finish(fb, idx, 0);
    }
    o->o.status = ORDER_STATUS_CANCELLED;
    snprintf(o->o.reason, sizeof o->o.reason, "cancelled by request");
    o->o.updated_at = clock_now(fb->clock);
    ev->order = o->o;
    ev->has_order = true;
    send_reply(fb, ev, held(&oc), delay_of(&oc));
    emit_order(fb, &o->o);
    if (o->o.role == ORDER_ROLE_ENTRY)
        cancel_legs(fb, o);
    return finish(fb, idx, 0);
}

static int fb_get_order(broker *b, const char *coid, broker_cb cb, void *ud)
{
    fake_broker *fb = FB(b);
    outcome oc;
    int idx = arrive(fb, FAKE_GET_ORDER);
    snprintf(fb->calls[idx].client_order_id, BROKER_ID_MAX, "%s", coid ? coid : "");
    decide(fb, idx, &oc);
    int rc;
    if (scripted_failure(fb, &oc, cb, ud, idx, &rc))
        return rc;
    if (fb->inner)
        return finish(fb, idx, broker_get_order(fb->inner, BROKER_PRIORITY_ROUTINE, coid, cb, ud));
    fake_event *ev = reply_new(cb, ud);
    const fake_order *o = find_order(fb, coid);
    if (o) {
        ev->order = o->o;
        ev->has_order = true;
    } else {
        not_found(ev, coid ? coid : "");
    }
    send_reply(fb, ev, held(&oc), delay_of(&oc));
    return finish(fb, idx, 0);
}

static int fb_list_open_orders(broker *b, const char *symbol, broker_cb cb, void *ud)
{
    fake_broker *fb = FB(b);
    outcome oc;
    int idx = arrive(fb, FAKE_LIST_OPEN_ORDERS);
    snprintf(fb->calls[idx].symbol, SYMBOL_MAX, "%s", symbol ? symbol : "");
    decide(fb, idx, &oc);
    int rc;
    if (scripted_failure(fb, &oc, cb, ud, idx, &rc))
        return rc;
    if (fb->inner)
        return finish(fb, idx,
                      broker_list_open_orders(fb->inner, BROKER_PRIORITY_ROUTINE, symbol, cb, ud));
    fake_event *ev = reply_new(cb, ud);
    ev->orders = xcalloc((size_t)fb->norders, sizeof *ev->orders);
    for (int i = 0; i < fb->norders; i++) {
        const broker_order *o = &fb->orders[i]->o;
        if (!order_status_is_final(o->status) && (!symbol || strcmp(symbol, o->symbol) == 0))
            ev->orders[ev->norders++] = *o;
    }
    send_reply(fb, ev, held(&oc), delay_of(&oc));
    return finish(fb, idx, 0);
}

static void positions_reply(fake_broker *fb, fake_event *ev, const char *symbol)
{
    ev->positions = xcalloc((size_t)fb->npositions, sizeof *ev->positions);
    for (int i = 0; i < fb->npositions; i++) {
        const fake_position *p = &fb->positions[i];
        if (p->led.qty != 0 && (!symbol || strcmp(symbol, p->symbol) == 0))
            position_view(fb, p, &ev->positions[ev->npositions++]);
    }
}

static int fb_get_position(broker *b, const char *symbol, broker_cb cb, void *ud)
{
    fake_broker *fb = FB(b);
    outcome oc;
    int idx = arrive(fb, FAKE_GET_POSITION);
    snprintf(fb->calls[idx].symbol, SYMBOL_MAX, "%s", symbol ? symbol : "");
    decide(fb, idx, &oc);
    int rc;
    if (scripted_failure(fb, &oc, cb, ud, idx, &rc))
        return rc;
    if (fb->inner)
        return finish(fb, idx,
                      broker_get_position(fb->inner, BROKER_PRIORITY_ROUTINE, symbol, cb, ud));
    if (!symbol || !symbol[0])
        return finish(fb, idx, APEX_EINVAL);
    fake_event *ev = reply_new(cb, ud);
    positions_reply(fb, ev, symbol);
    send_reply(fb, ev, held(&oc), delay_of(&oc));
    return finish(fb, idx, 0);
}

static int fb_list_positions(broker *b, broker_cb cb, void *ud)
{
    fake_broker *fb = FB(b);
    outcome oc;
    int idx = arrive(fb, FAKE_LIST_POSITIONS);
    decide(fb, idx, &oc);
    int rc;
    if (scripted_failure(fb, &oc, cb, ud, idx, &rc))
        return rc;
    if (fb->inner)
        return finish(fb, idx, broker_list_positions(fb->inner, BROKER_PRIORITY_ROUTINE, cb, ud));
    fake_event *ev = reply_new(cb, ud);
    positions_reply(fb, ev, NULL);
    send_reply(fb, ev, held(&oc), delay_of(&oc));
    return finish(fb, idx, 0);
}

static int fb_get_account(broker *b, broker_cb cb, void *ud)
{
    fake_broker *fb = FB(b);
    outcome oc;
    int idx = arrive(fb, FAKE_GET_ACCOUNT);
    decide(fb, idx, &oc);
    int rc;
    if (scripted_failure(fb, &oc, cb, ud, idx, &rc))
        return rc;
    if (fb->inner)
        return finish(fb, idx, broker_get_account(fb->inner, BROKER_PRIORITY_ROUTINE, cb, ud));
    fake_event *ev = reply_new(cb, ud);
    ev->account = fb->account;
    ev->has_account = true;
    send_reply(fb, ev, held(&oc), delay_of(&oc));
    return finish(fb, idx, 0);
}

static int fb_get_quotes(broker *b, const char *const *symbols, int n, broker_cb cb, void *ud)
{
    fake_broker *fb = FB(b);
    outcome oc;
    int idx = arrive(fb, FAKE_GET_QUOTES);
    if (n > 0 && symbols) {
        char(*copy)[SYMBOL_MAX] = xcalloc((size_t)n, SYMBOL_MAX);
        for (int i = 0; i < n; i++)
            snprintf(copy[i], SYMBOL_MAX, "%s", symbols[i] ? symbols[i] : "");
        fb->calls[idx].symbols = (const char(*)[SYMBOL_MAX])copy;
        fb->calls[idx].nsymbols = n;
    }
    decide(fb, idx, &oc);
    int rc;
    if (scripted_failure(fb, &oc, cb, ud, idx, &rc))
        return rc;
    if (fb->inner)
        return finish(fb, idx,
                      broker_get_quotes(fb->inner, BROKER_PRIORITY_ROUTINE, symbols, n, cb, ud));
    if (n < 0 || (n > 0 && !symbols))
        return finish(fb, idx, APEX_EINVAL);
    fake_event *ev = reply_new(cb, ud);
    ev->quotes = xcalloc((size_t)n, sizeof *ev->quotes);
    ev->nquotes = n;
    size_t used = 0;
    for (int i = 0; i < n; i++) {
        const char *name = symbols[i] ? symbols[i] : "";
        const broker_quote *q = quote_find(fb, name);
        if (q) {
            ev->quotes[i] = *q;
            continue;
        }
        snprintf(ev->quotes[i].symbol, sizeof ev->quotes[i].symbol, "%s", name);
        if (ev->status == 0) {
            ev->status = APEX_ENOTFOUND;
            used = (size_t)snprintf(ev->error, sizeof ev->error,
                                    "no quote at the fake broker for: %s", name);
        } else if (used < sizeof ev->error) {
            used += (size_t)snprintf(ev->error + used, sizeof ev->error - used, ", %s", name);
        }
    }
    send_reply(fb, ev, held(&oc), delay_of(&oc));
    return finish(fb, idx, 0);
}

static int fb_close_position(broker *b, const char *symbol, const char *coid, broker_cb cb,
                             void *ud)
{
    fake_broker *fb = FB(b);
    outcome oc;
    int idx = arrive(fb, FAKE_CLOSE_POSITION);
    snprintf(fb->calls[idx].symbol, SYMBOL_MAX, "%s", symbol ? symbol : "");
    snprintf(fb->calls[idx].client_order_id, BROKER_ID_MAX, "%s", coid ? coid : "");
    decide(fb, idx, &oc);
    int rc;
    if (scripted_failure(fb, &oc, cb, ud, idx, &rc))
        return rc;
    if (fb->inner)
        return finish(
            fb, idx,
            broker_close_position(fb->inner, BROKER_PRIORITY_ROUTINE, symbol, coid, cb, ud));
    if (!symbol || !coid)
        return finish(fb, idx, APEX_EINVAL);
    fake_event *ev = reply_new(cb, ud);
    fake_position *p = position_find(fb, symbol, false);
    fake_order *dup = find_order(fb, coid);
    if (!p || p->led.qty == 0) {
        reply_error(ev, APEX_ENOTFOUND, "no open position in %s to close", symbol);
    } else if (dup) {
        duplicate(ev, dup);
    } else {
        money_t qty = p->led.qty;
        fake_order *o = order_new(fb, coid, symbol, qty > 0 ? SIDE_SELL : SIDE_BUY, ORDER_MARKET,
                                  ORDER_ROLE_EXIT, qty > 0 ? qty : -qty);
        ev->order = o->o;
        ev->has_order = true;
        send_reply(fb, ev, held(&oc), delay_of(&oc));
        for (int i = 0; i < fb->norders; i++) {
            fake_order *w = fb->orders[i];
            if (w != o && strcmp(w->o.symbol, symbol) == 0 && !order_status_is_final(w->o.status))
                cancel_order(fb, w, "cancelled to close the position");
        }
        return finish(fb, idx, 0);
    }
    send_reply(fb, ev, held(&oc), delay_of(&oc));
    return finish(fb, idx, 0);
}

static int fb_list_fills(broker *b, const char *coid, broker_cb cb, void *ud)
{
    fake_broker *fb = FB(b);
    outcome oc;
    int idx = arrive(fb, FAKE_LIST_FILLS);
    snprintf(fb->calls[idx].client_order_id, BROKER_ID_MAX, "%s", coid ? coid : "");
    decide(fb, idx, &oc);
    int rc;
    if (scripted_failure(fb, &oc, cb, ud, idx, &rc))
        return rc;
    if (fb->inner)
        return finish(fb, idx, broker_list_fills(fb->inner, BROKER_PRIORITY_ROUTINE, coid, cb, ud));
    fake_event *ev = reply_new(cb, ud);
    if (!find_order(fb, coid)) {
        not_found(ev, coid ? coid : "");
    } else {
        ev->fills = xcalloc((size_t)fb->nfills, sizeof *ev->fills);
        for (int i = 0; i < fb->nfills; i++)
            if (strcmp(fb->fills[i].client_order_id, coid) == 0)
                ev->fills[ev->nfills++] = fb->fills[i];
    }
    send_reply(fb, ev, held(&oc), delay_of(&oc));
    return finish(fb, idx, 0);
}

static int fb_list_symbol_fills(broker *b, const char *symbol, apex_time since, broker_cb cb,
                                void *ud)
{
    fake_broker *fb = FB(b);
    outcome oc;
    int idx = arrive(fb, FAKE_LIST_SYMBOL_FILLS);
    snprintf(fb->calls[idx].symbol, SYMBOL_MAX, "%s", symbol ? symbol : "");
    fb->calls[idx].since = since;
    decide(fb, idx, &oc);
    int rc;
    if (scripted_failure(fb, &oc, cb, ud, idx, &rc))
        return rc;
    if (fb->inner)
        return finish(
            fb, idx,
            broker_list_symbol_fills(fb->inner, BROKER_PRIORITY_ROUTINE, symbol, since, cb, ud));
    fake_event *ev = reply_new(cb, ud);
    ev->fills = xcalloc((size_t)fb->nfills + 1, sizeof *ev->fills);
    for (int i = 0; i < fb->nfills; i++)
        if (strcmp(fb->fills[i].symbol, symbol) == 0 && fb->fills[i].ts >= since)
            ev->fills[ev->nfills++] = fb->fills[i];
    send_reply(fb, ev, held(&oc), delay_of(&oc));
    return finish(fb, idx, 0);
}

static int fb_get_session(broker *b, apex_time day, broker_cb cb, void *ud)
{
    fake_broker *fb = FB(b);
    outcome oc;
    int idx = arrive(fb, FAKE_GET_SESSION);
    decide(fb, idx, &oc);
    int rc;
    if (scripted_failure(fb, &oc, cb, ud, idx, &rc))
        return rc;
    if (fb->inner && !fb->nsessions)
        return finish(fb, idx, broker_get_session(fb->inner, BROKER_PRIORITY_ROUTINE, day, cb, ud));
    fake_event *ev = reply_new(cb, ud);
    ev->has_session = true;
    apex_time d = day - day % APEX_DAY;
    for (int i = 0; i < fb->nsessions; i++)
        if (fb->session_days[i] == d)
            ev->session = fb->sessions[i];
    send_reply(fb, ev, held(&oc), delay_of(&oc));
    return finish(fb, idx, 0);
}

void fake_broker_set_session(fake_broker *fb, apex_time day, apex_time open, apex_time close)
{
    apex_time d = day - day % APEX_DAY;
    int i = 0;
    while (i < fb->nsessions && fb->session_days[i] != d)
        i++;
    if (i == fb->nsessions) {
        if (fb->nsessions == (int)(sizeof fb->sessions / sizeof *fb->sessions))
            return;
        fb->nsessions++;
    }
    fb->session_days[i] = d;
    fb->sessions[i] = (broker_session){.trading = true, .open = open, .close = close};
}

static void fb_free(broker *b)
{
    fake_broker *fb = FB(b);
    clock_timer_stop(&fb->timer);
    while (fb->queue) {
        fake_event *ev = fb->queue;
        fb->queue = ev->next;
        event_free(ev);
    }
    while (fb->held) {
        fake_event *ev = fb->held;
        fb->held = ev->next;
        event_free(ev);
    }
    for (int i = 0; i < fb->ncalls; i++)
        free((void *)fb->calls[i].symbols);
    free(fb->calls);
    for (int k = 0; k <= FAKE_NKINDS; k++)
        free(fb->scripts[k]);
    for (int i = 0; i < fb->norders; i++)
        free(fb->orders[i]);
    free(fb->orders);
    free(fb->fills);
    free(fb->positions);
    free(fb->quotes);
    broker_free(fb->inner);
    if (fb->freed)
        *fb->freed = true;
    free(fb);
}

static const broker_ops fake_ops = {
    .name = "fake",
    .submit_order = fb_submit,
    .cancel_order = fb_cancel,
    .get_order = fb_get_order,
    .list_open_orders = fb_list_open_orders,
    .get_position = fb_get_position,
    .list_positions = fb_list_positions,
    .get_account = fb_get_account,
    .get_quotes = fb_get_quotes,
    .close_position = fb_close_position,
    .list_fills = fb_list_fills,
    .get_session = fb_get_session,
    .list_symbol_fills = fb_list_symbol_fills,
    .free = fb_free,
};

/* ---- construction ---- */

fake_broker *fake_broker_new(apex_clock *clock)
{
    fake_broker *fb = xcalloc(1, sizeof *fb);
    fb->base.ops = &fake_ops;
    fb->clock = clock;
    fb->held_tail = &fb->held;
    fb->account = (broker_account){
        .cash = MONEY(100000), .equity = MONEY(100000), .buying_power = MONEY(100000)};
    clock_timer_init(clock, &fb->timer, flush, fb);
    return fb;
}

/* A wrapped broker's events reach whoever listens to the fake. */
static void forward_order(void *ud, const broker_order *o)
{
    fake_broker *fb = ud;
    if (fb->base.listener.on_order)
        fb->base.listener.on_order(fb->base.listener.ud, o);
}

static void forward_fill(void *ud, const broker_fill *f, const broker_order *o)
{
    fake_broker *fb = ud;
    if (fb->base.listener.on_fill)
        fb->base.listener.on_fill(fb->base.listener.ud, f, o);
}

fake_broker *fake_broker_wrap(apex_clock *clock, broker *inner)
{
    fake_broker *fb = fake_broker_new(clock);
    fb->inner = inner;
    broker_set_listener(
        inner, (broker_listener){.on_order = forward_order, .on_fill = forward_fill, .ud = fb});
    return fb;
}

broker *fake_broker_base(fake_broker *fb)
{
    return &fb->base;
}

fake_broker *fake_broker_of(broker *b)
{
    return b && b->ops == &fake_ops ? FB(b) : NULL;
}

/* ---- behaviour ---- */

void fake_broker_set_latency(fake_broker *fb, apex_time latency)
{
    fb->latency = latency;
}

void fake_broker_set_events(fake_broker *fb, fake_events mode)
{
    fb->events = mode;
}

void fake_broker_script(fake_broker *fb, fake_call_kind kind, int times, fake_script script)
{
    if (kind < 0 || kind > FAKE_ANY || times <= 0)
        return;
    GROW(fb->scripts[kind], fb->nscripts[kind], fb->cap_scripts[kind]);
    script_entry *e = &fb->scripts[kind][fb->nscripts[kind]++];
    memset(e, 0, sizeof *e);
    e->s = script;
    snprintf(e->error, sizeof e->error, "%s", script.error ? script.error : "");
    e->s.error = NULL;
    e->times = times;
}

void fake_broker_fail_next(fake_broker *fb, fake_call_kind kind, int times, int status,
                           const char *error)
{
    fake_broker_script(fb, kind, times,
                       (fake_script){.action = FAKE_REPLY, .status = status, .error = error});
}

void fake_broker_refuse_next(fake_broker *fb, fake_call_kind kind, int times, int rc)
{
    fake_broker_script(fb, kind, times, (fake_script){.action = FAKE_REFUSE, .status = rc});
}

void fake_broker_hold_next(fake_broker *fb, fake_call_kind kind, int times)
{
    fake_broker_script(fb, kind, times, (fake_script){.action = FAKE_HOLD});
}

int fake_broker_release(fake_broker *fb)
{
    int n = 0;
    apex_time now = clock_now(fb->clock);
    while (fb->held) {
        fake_event *ev = fb->held;
        fb->held = ev->next;
        push(fb, ev, now + fb->latency + ev->delay);
        n++;
    }
    fb->held_tail = &fb->held;
    return n;
}

void fake_broker_on_call(fake_broker *fb, fake_call_hook hook, void *ud)
{
    fb->hook = hook;
    fb->hook_ud = ud;
}

void fake_broker_notify_free(fake_broker *fb, bool *flag)
{
    fb->freed = flag;
}

/* ---- state ---- */

void fake_broker_set_quote(fake_broker *fb, const char *symbol, money_t bid, money_t ask,
                           money_t last)
{
    broker_quote *q = (broker_quote *)quote_find(fb, symbol);
    if (!q) {
        GROW(fb->quotes, fb->nquotes, fb->cap_quotes);
        q = &fb->quotes[fb->nquotes++];
        memset(q, 0, sizeof *q);
        snprintf(q->symbol, sizeof q->symbol, "%s", symbol);
    }
    q->bid = bid;
    q->ask = ask;
    q->quoted = bid > 0 && ask > 0; /* a venue's quote */
    q->last = last;
    q->ts = clock_now(fb->clock);
}

void fake_broker_set_position(fake_broker *fb, const char *symbol, money_t qty,
                              money_t avg_entry_price)
{
    fake_position *p = position_find(fb, symbol, true);
    memset(&p->led, 0, sizeof p->led);
    if (qty != 0)
        ledger_apply(&p->led, qty > 0 ? SIDE_BUY : SIDE_SELL, qty > 0 ? qty : -qty, avg_entry_price,
                     0);
}

money_t fake_broker_position(const fake_broker *fb, const char *symbol)
{
    const fake_position *p = position_find(fb, symbol, false);
    return p ? p->led.qty : 0;
}

void fake_broker_set_account(fake_broker *fb, const broker_account *account)
{
    fb->account = *account;
}

broker_order *fake_broker_add_order(fake_broker *fb, const broker_order *order)
{
    fake_order *o = order_new(fb, order->client_order_id, order->symbol, order->side, order->type,
                              order->role, order->qty);
    char broker_id[BROKER_ID_MAX];
    memcpy(broker_id, o->o.broker_order_id, sizeof broker_id);
    o->o = *order;
    if (!o->o.broker_order_id[0])
        memcpy(o->o.broker_order_id, broker_id, sizeof broker_id);
    return &o->o;
}

void fake_broker_copy_book(fake_broker *dst, const fake_broker *src)
{
    for (int i = 0; i < dst->norders; i++)
        free(dst->orders[i]);
    dst->norders = 0;
    for (int i = 0; i < src->norders; i++) {
        GROW(dst->orders, dst->norders, dst->cap_orders);
        fake_order *o = xcalloc(1, sizeof *o);
        *o = *src->orders[i];
        dst->orders[dst->norders++] = o;
    }
#define COPY(arr, n, cap)                                                                          \
    do {                                                                                           \
        free(dst->arr);                                                                            \
        dst->arr = NULL;                                                                           \
        dst->n = dst->cap = 0;                                                                     \
        if (src->n) {                                                                              \
            dst->arr = xcalloc((size_t)src->n, sizeof *dst->arr);                                  \
            memcpy(dst->arr, src->arr, (size_t)src->n * sizeof *dst->arr);                         \
            dst->n = dst->cap = src->n;                                                            \
        }                                                                                          \
    } while (0)
    COPY(fills, nfills, cap_fills);
    COPY(positions, npositions, cap_positions);
    COPY(quotes, nquotes, cap_quotes);
#undef COPY
    dst->account = src->account;
    dst->order_no = src->order_no;
    dst->fill_no = src->fill_no;
}

/* ---- the broker acting ---- */

static void position_apply(fake_broker *fb, const broker_fill *f)
{
    fake_position *p = position_find(fb, f->symbol, true);
    ledger_apply(&p->led, f->side, f->qty, f->price, f->fee);
}

int fake_broker_fill(fake_broker *fb, const char *coid, money_t qty, money_t price)
{
    fake_order *fo = find_order(fb, coid);
    if (!fo)
        return APEX_ENOTFOUND;
    broker_order *o = &fo->o;
    GROW(fb->fills, fb->nfills, fb->cap_fills);
    broker_fill *f = &fb->fills[fb->nfills++];
    memset(f, 0, sizeof *f);
    snprintf(f->fill_id, sizeof f->fill_id, "fake-fill-%d", ++fb->fill_no);
    snprintf(f->client_order_id, sizeof f->client_order_id, "%s", coid);
    snprintf(f->order_id, sizeof f->order_id, "%s", o->broker_order_id);
    snprintf(f->symbol, sizeof f->symbol, "%s", o->symbol);
    f->side = o->side;
    f->qty = qty ? qty : o->qty - o->filled_qty;
    f->price = price;
    f->ts = clock_now(fb->clock);

    /* Average fill price over every fill of the order. */
    money_t before = 0, now_value = 0, total = 0, avg = price;
    if (money_mul(o->avg_fill_price, o->filled_qty, MONEY_ROUND_NEAREST, &before) == 0 &&
        money_mul(price, f->qty, MONEY_ROUND_NEAREST, &now_value) == 0 &&
        money_add(before, now_value, &total) == 0 && o->filled_qty + f->qty > 0)
        money_div(total, o->filled_qty + f->qty, MONEY_ROUND_NEAREST, &avg);
    o->avg_fill_price = avg;
    o->filled_qty += f->qty;
    o->status = o->filled_qty >= o->qty ? ORDER_STATUS_FILLED : ORDER_STATUS_PARTIALLY_FILLED;
    o->updated_at = f->ts;
    position_apply(fb, f);
    broker_fill copy = *f; /* the listener may fill again and move the array */

    /* A filled entry activates its legs; a leg's fill cancels its sibling. */
    if (o->role == ORDER_ROLE_ENTRY && o->status == ORDER_STATUS_FILLED) {
        for (int i = 0; i < fb->norders; i++)
            if (strcmp(fb->orders[i]->o.parent_client_order_id, coid) == 0 &&
                fb->orders[i]->o.status == ORDER_STATUS_HELD)
                fb->orders[i]->o.status = ORDER_STATUS_ACCEPTED;
    }
    if ((o->role == ORDER_ROLE_STOP_LOSS || o->role == ORDER_ROLE_TAKE_PROFIT) &&
        o->parent_client_order_id[0]) {
        for (int i = 0; i < fb->norders; i++) {
            fake_order *sib = fb->orders[i];
            if (&sib->o != o &&
                strcmp(sib->o.parent_client_order_id, o->parent_client_order_id) == 0 &&
                !order_status_is_final(sib->o.status))
                cancel_order(fb, sib, "one-cancels-other: the sibling leg filled");
        }
    }
    emit_fill(fb, &copy, o);
    emit_order(fb, o);
    return 0;
}

int fake_broker_replay_fill(fake_broker *fb, int i)
{
    if (i < 0 || i >= fb->nfills)
        return APEX_ENOTFOUND;
    broker_fill copy = fb->fills[i];
    const fake_order *o = find_order(fb, copy.client_order_id);
    if (!o)
        return APEX_ENOTFOUND;
    emit_fill(fb, &copy, &o->o);
    return 0;
}

int fake_broker_update_order(fake_broker *fb, const char *coid, order_status status,
                             const char *reason)
{
    fake_order *o = find_order(fb, coid);
    if (!o)
        return APEX_ENOTFOUND;
    o->o.status = status;
    snprintf(o->o.reason, sizeof o->o.reason, "%s", reason ? reason : "");
    o->o.updated_at = clock_now(fb->clock);
    emit_order(fb, &o->o);
    return 0;
}

/* ---- queries ---- */

int fake_broker_ncalls(const fake_broker *fb, fake_call_kind kind)
{
    if (kind == FAKE_ANY)
        return fb->ncalls;
    int n = 0;
    for (int i = 0; i < fb->ncalls; i++)
        n += fb->calls[i].kind == kind;
    return n;
}

int fake_broker_max_calls_per_minute(const fake_broker *fb)
{
    int worst = 0, lo = 0;
    for (int hi = 0; hi < fb->ncalls; hi++) {
        while (fb->calls[lo].at <= fb->calls[hi].at - APEX_MINUTE)
            lo++;
        if (hi - lo + 1 > worst)
            worst = hi - lo + 1;
    }
    return worst;
}

const fake_call *fake_broker_call(const fake_broker *fb, int i)
{
    return i >= 0 && i < fb->ncalls ? &fb->calls[i] : NULL;
}

const fake_call *fake_broker_last_call(const fake_broker *fb, fake_call_kind kind)
{
    for (int i = fb->ncalls - 1; i >= 0; i--)
        if (kind == FAKE_ANY || fb->calls[i].kind == kind)
            return &fb->calls[i];
    return NULL;
}

int fake_broker_pending(const fake_broker *fb)
{
    int n = 0;
    for (const fake_event *ev = fb->queue; ev; ev = ev->next)
        n++;
    return n;
}

int fake_broker_held(const fake_broker *fb)
{
    int n = 0;
    for (const fake_event *ev = fb->held; ev; ev = ev->next)
        n++;
    return n;
}

int fake_broker_norders(const fake_broker *fb)
{
    return fb->norders;
}

broker_order *fake_broker_order_at(fake_broker *fb, int i)
{
    return i >= 0 && i < fb->norders ? &fb->orders[i]->o : NULL;
}

broker_order *fake_broker_order(fake_broker *fb, const char *coid)
{
    fake_order *o = find_order(fb, coid);
    return o ? &o->o : NULL;
}

broker_order *fake_broker_last_order(fake_broker *fb)
{
    return fb->norders ? &fb->orders[fb->norders - 1]->o : NULL;
}

int fake_broker_nfills(const fake_broker *fb)
{
    return fb->nfills;
}

const broker_fill *fake_broker_fill_at(const fake_broker *fb, int i)
{
    return i >= 0 && i < fb->nfills ? &fb->fills[i] : NULL;
}
