/* paper_events: the queue that makes the paper broker asynchronous.
 *
 * Replies and listener notifications are queued in the order they happen and
 * delivered from one clock timer due "now", never inside the caller's call, so a
 * host driving the paper broker sees exactly the timing contract of a real one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/paper_internal.h"
#include "util/err.h"
#include "util/log.h"

paper_event *paper_event_new(paper_event_kind kind)
{
    paper_event *ev = calloc(1, sizeof *ev);
    if (ev)
        ev->kind = kind;
    else
        log_error("paper broker: out of memory queueing a notification; it is lost");
    return ev;
}

static void event_free(paper_event *ev)
{
    free(ev->orders);
    free(ev->positions);
    free(ev->quotes);
    vec_free(&ev->fills);
    free(ev);
}

void paper_event_push(paper_broker *p, paper_event *ev)
{
    if (!ev)
        return;
    STAILQ_INSERT_TAIL(&p->events, ev, link);
    paper_events_arm(p);
}

paper_event *paper_reply_reserve(paper_broker *p)
{
    /* The reply is delivered from the broker's timer: its slot in the clock is reserved
     * too, so nothing after this point can lose the reply. */
    if (!clock_timer_active(&p->timer) && clock_reserve(p->clock, 1) != 0)
        return NULL;
    return paper_event_new(PAPER_EV_REPLY);
}

void paper_reply_send(paper_broker *p, paper_event *ev, broker_cb cb, void *ud, int status,
                      const char *error, const broker_order *order)
{
    ev->cb = cb;
    ev->ud = ud;
    ev->status = status;
    if (error)
        snprintf(ev->error, sizeof ev->error, "%s", error);
    if (order) {
        ev->has_order = true;
        ev->order = *order;
    }
    paper_event_push(p, ev);
}

int paper_queue_reply(paper_broker *p, broker_cb cb, void *ud, int status, const char *error,
                      const broker_order *order)
{
    paper_event *ev = paper_reply_reserve(p);
    if (!ev)
        return APEX_ENOMEM;
    ev->cb = cb;
    ev->ud = ud;
    ev->status = status;
    if (error)
        snprintf(ev->error, sizeof ev->error, "%s", error);
    if (order) {
        ev->has_order = true;
        ev->order = *order;
    }
    paper_event_push(p, ev);
    return 0;
}

void paper_queue_order_update(paper_broker *p, const broker_order *order)
{
    if (!p->base.listener.on_order)
        return;
    paper_event *ev = paper_event_new(PAPER_EV_ORDER);
    if (!ev)
        return;
    ev->has_order = true;
    ev->order = *order;
    paper_event_push(p, ev);
}

void paper_queue_fill(paper_broker *p, const broker_fill *fill, const broker_order *order)
{
    if (!p->base.listener.on_fill)
        return;
    paper_event *ev = paper_event_new(PAPER_EV_FILL);
    if (!ev)
        return;
    ev->fill = *fill;
    ev->has_order = true;
    ev->order = *order;
    paper_event_push(p, ev);
}

void paper_events_arm(paper_broker *p)
{
    if (!clock_timer_active(&p->timer))
        clock_timer_start(&p->timer, clock_now(p->clock));
}

static void deliver(paper_broker *p, paper_event *ev)
{
    const broker_listener *l = &p->base.listener;
    switch (ev->kind) {
    case PAPER_EV_REPLY: {
        if (!ev->cb)
            break;
        broker_reply r;
        memset(&r, 0, sizeof r);
        r.status = ev->status;
        broker_count_error(&p->base, ev->status);
        memcpy(r.error, ev->error, sizeof r.error);
        r.order = ev->has_order ? &ev->order : NULL;
        r.orders = ev->orders;
        r.norders = ev->norders;
        r.positions = ev->positions;
        r.npositions = ev->npositions;
        r.account = ev->has_account ? &ev->account : NULL;
        r.quotes = ev->quotes;
        r.nquotes = ev->nquotes;
        r.fills = ev->fills.items;
        r.nfills = ev->fills.count;
        ev->cb(ev->ud, &r);
        break;
    }
    case PAPER_EV_ORDER:
        if (l->on_order)
            l->on_order(l->ud, &ev->order);
        break;
    case PAPER_EV_FILL:
        if (l->on_fill)
            l->on_fill(l->ud, &ev->fill, &ev->order);
        break;
    }
}

/* One clock turn: "close" market orders that were waiting fill first (their fills queue
 * behind the replies already waiting), then everything queued is delivered. Work
 * that callbacks start during delivery (a new market order) waits for the next turn,
 * but the notifications they queue are delivered in this one, in order. */
static void on_timer(clock_timer *t, void *ud)
{
    (void)t;
    paper_broker *p = ud;
    paper_fill_pending_markets(p);
    for (paper_event *ev; (ev = STAILQ_FIRST(&p->events));) {
        STAILQ_REMOVE_HEAD(&p->events, link);
        deliver(p, ev);
        event_free(ev);
    }
    if (p->pending.count)
        paper_events_arm(p);
}

void paper_events_deliver_now(paper_broker *p)
{
    if (STAILQ_EMPTY(&p->events) && !p->pending.count)
        return;
    clock_timer_stop(&p->timer);
    on_timer(&p->timer, p);
}

void paper_events_init(paper_broker *p)
{
    STAILQ_INIT(&p->events);
    clock_timer_init(p->clock, &p->timer, on_timer, p);
}

void paper_events_free(paper_broker *p)
{
    clock_timer_stop(&p->timer);
    for (paper_event *ev; (ev = STAILQ_FIRST(&p->events));) {
        STAILQ_REMOVE_HEAD(&p->events, link);
        event_free(ev);
    }
}

int paper_remember_fill(paper_broker *p, const broker_fill *fill)
{
    return vec_push(&p->fills, *fill);
}
