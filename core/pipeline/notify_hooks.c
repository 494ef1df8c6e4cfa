/* notify_hooks: what a pipeline tells its notifier (core/notify), and when.
 *
 * Each kind of event is reported from one place, with one call:
 *   entry, skip, error (a failed execution), exit   pipeline_notify_status (lifecycle.c)
 *   fill                                           pipeline_notify_fill (position_hooks.c)
 *   instruction, a failed exit (an error)          pipeline_notify_exit_done (position_hooks.c)
 * These three queue their rows inside the unit that records their event (the status
 * change, the fill, the exit's final row), so a kill keeps both or neither.
 *   circuit breaker, broker outage, reload failed,
 *   a durable write failure or a summary of script
 *   failures (errors)                              pipeline_notify_text
 * The notifier exists in `run` only: a backtest or `check` never sends, and every call
 * here is then a no-op. */
#include <stdio.h>
#include <string.h>

#include "pipeline/pipeline_internal.h"
#include "util/log.h"

int pipeline_notify_open(pipeline *p, diag_list *d)
{
    if (notify_check(&p->cfg, d) != 0)
        return -1;
    if (p->hs->backtest || p->hs->checking || !p->hs->loop)
        return 0;
    notifier_options o = {.loop = p->hs->loop,
                          .db = p->hs->db,
                          .pipeline = p->cfg.name,
                          .cfg = &p->cfg.notifications};
    apex_error e = {0};
    p->notify = notifier_new(&o, &e);
    if (!p->notify && e.code) {
        diag_add(d, "%s: %s", p->cfg.path, e.msg);
        return -1;
    }
    return 0;
}

void pipeline_notify_close(pipeline *p)
{
    notifier_free(p->notify);
    p->notify = NULL;
}

int pipeline_notify_busy(const pipeline *p)
{
    return notifier_busy(p->notify);
}

uint64_t pipeline_notify_sent(const pipeline *p)
{
    return notifier_sent(p->notify);
}

static notify_event event_of(const pipeline *p, notify_kind kind, const trade *t)
{
    notify_event ev = {.kind = kind, .time = clock_now(p->hs->clock)};
    if (t) {
        ev.symbol = t->row.symbol;
        ev.execution_id = t->row.id;
        ev.side = t->row.side >= 0 ? order_side_name((order_side)t->row.side) : NULL;
        ev.reason = t->row.reason;
    }
    return ev;
}

/* The average price of the fills that closed the trade (the side opposite its entry),
 * rounded to the nearest unit; 0 when none is recorded (a position closed by hand). Read
 * from the store once per completed trade, in `run` only. */
typedef struct {
    order_side closing;
    money_t qty, notional;
    bool overflow;
} exit_average;

static int add_closing_fill(void *ud, const store_fill *sf)
{
    exit_average *a = ud;
    money_t v;
    if (sf->f.side != a->closing)
        return 0;
    if (money_mul(sf->f.qty, sf->f.price, MONEY_ROUND_NEAREST, &v) != 0 ||
        money_add(a->notional, v, &a->notional) != 0 || money_add(a->qty, sf->f.qty, &a->qty) != 0)
        a->overflow = true;
    return 0;
}

static money_t average_exit_price(pipeline *p, const trade *t)
{
    exit_average a = {.closing = t->row.side == SIDE_BUY ? SIDE_SELL : SIDE_BUY};
    money_t price = 0;
    if (t->row.side < 0 ||
        store_fills_for_execution(p->hs->db, t->row.id, add_closing_fill, &a) != 0 || a.overflow ||
        a.qty <= 0 || money_div(a.notional, a.qty, MONEY_ROUND_NEAREST, &price) != 0)
        return 0;
    return price;
}

void pipeline_notify_status(pipeline *p, const trade *t, exec_status st)
{
    if (!p->notify)
        return;
    notify_event ev;
    switch (st) {
    case EXEC_MONITORING:
        ev = event_of(p, NOTIFY_ENTRY, t);
        ev.qty = t->row.qty;
        ev.price = t->row.entry_price;
        ev.stop_loss = t->row.stop_loss;
        ev.take_profit = t->row.take_profit;
        break;
    case EXEC_SKIPPED:
        ev = event_of(p, NOTIFY_SKIP, t);
        break;
    case EXEC_FAILED:
        ev = event_of(p, NOTIFY_ERROR, t);
        break;
    case EXEC_COMPLETED:
        ev = event_of(p, NOTIFY_EXIT, t);
        ev.qty = t->has_pos ? t->pos.initial_qty : t->row.qty;
        ev.pnl = t->led.realized;
        ev.fee = t->led.fees;
        ev.has_pnl = true;
        ev.price = average_exit_price(p, t);
        ev.entry_price = t->row.entry_price;
        ev.priority = t->has_pos && t->pos.exit_priority[0] ? t->pos.exit_priority : NULL;
        break;
    default:
        return;
    }
    notify_emit(p->notify, &ev);
}

void pipeline_notify_fill(pipeline *p, const trade *t, const broker_fill *f, const store_order *o)
{
    if (!p->notify)
        return;
    notify_event ev = event_of(p, NOTIFY_FILL, t);
    ev.side = order_side_name(f->side);
    ev.qty = f->qty;
    ev.price = f->price;
    ev.fee = f->fee;
    ev.detail = order_role_name(o->o.role);
    ev.reason = NULL;
    if (t->led.qty == 0) { /* the fill that closed it: its realized P&L so far */
        ev.pnl = t->led.realized;
        ev.has_pnl = true;
    }
    notify_emit(p->notify, &ev);
}

void pipeline_notify_exit_done(pipeline *p, const trade *t, const store_position_exit *row)
{
    if (!p->notify)
        return;
    if (!strcmp(row->exit_reason, exit_condition_name(EXIT_EMERGENCY_INSTRUCTION))) {
        notify_event ev = event_of(p, NOTIFY_INSTRUCTION, t);
        ev.reason = row->detail;
        ev.qty = row->filled_quantity;
        ev.price = row->exit_price;
        ev.priority = exit_priority_name(row->exit_priority);
        ev.detail = exit_status_name(row->status);
        notify_emit(p->notify, &ev);
    }
    if (row->status == EXIT_STATUS_FAILED) { /* an exit that could not be carried out */
        char text[400];
        snprintf(text, sizeof text, "the %s exit failed: %s", row->exit_reason, row->detail);
        notify_event ev = event_of(p, NOTIFY_ERROR, t);
        ev.reason = text;
        ev.priority = exit_priority_name(row->exit_priority);
        notify_emit(p->notify, &ev);
    }
}

void pipeline_notify_text(pipeline *p, notify_kind kind, const trade *t, const char *text)
{
    if (!p->notify)
        return;
    notify_event ev = event_of(p, kind, t);
    ev.reason = text;
    notify_emit(p->notify, &ev);
}
