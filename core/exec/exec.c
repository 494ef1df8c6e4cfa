#include "exec/exec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "metrics/metrics.h"
#include "util/err.h"
#include "util/log.h"

struct exec_env {
    store *db;
    broker *brk;
    apex_clock *clock;
    const pipeline_config *cfg;
    exec_hooks hooks;
    exec_restart_stats restart;
    /* apex_orders_created_total and apex_fills_total of the pipeline (metrics.h) */
    metrics_series *m_orders, *m_fills;
    /* Requests and reconcile items the broker has not answered yet. A broker freed at
     * shutdown drops its queued callbacks, so whatever is left here is freed with the
     * env (after the broker), and the holds on trades are given back. */
    LIST_HEAD(, inflight) inflight;
};

typedef struct inflight {
    LIST_ENTRY(inflight) link;
    bool is_request; /* else a reconcile_item, owned by its parent request's count */
} inflight;

/* One in-flight broker request on behalf of a trade. */
typedef struct {
    inflight link; /* first */
    exec_env *env;
    trade *t;
    exec_done_cb done;
    void *ud;
    char coid[BROKER_ID_MAX];
    int outstanding; /* reconcile: answers still expected */
    int status;      /* reconcile: first failure seen */
    bool periodic;   /* reconcile: while running (exec_reconcile_periodic), not at restart */
    exec_external_cb external; /* exec_find_external_close: its callback (ud is r->ud) */
} request;

exec_env *exec_env_new(store *db, broker *brk, apex_clock *clock, const pipeline_config *cfg,
                       exec_hooks hooks)
{
    exec_env *env = calloc(1, sizeof *env);
    if (!env)
        return NULL;
    env->db = db;
    env->brk = brk;
    env->clock = clock;
    env->cfg = cfg;
    env->hooks = hooks;
    env->m_orders = metrics_get(METRIC_ORDERS_CREATED, cfg->name);
    env->m_fills = metrics_get(METRIC_FILLS, cfg->name);
    LIST_INIT(&env->inflight);
    return env;
}

static void inflight_add(exec_env *env, inflight *i, bool is_request)
{
    i->is_request = is_request;
    LIST_INSERT_HEAD(&env->inflight, i, link);
}

static void inflight_remove(inflight *i)
{
    LIST_REMOVE(i, link);
}

void exec_env_free(exec_env *env)
{
    if (!env)
        return;
    while (!LIST_EMPTY(&env->inflight)) {
        inflight *i = LIST_FIRST(&env->inflight);
        LIST_REMOVE(i, link);
        if (i->is_request)
            trade_release(((request *)i)->t);
        free(i);
    }
    free(env);
}

static request *request_new(exec_env *env, trade *t, exec_done_cb done, void *ud)
{
    request *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->env = env;
    r->t = t;
    r->done = done;
    r->ud = ud;
    trade_hold(t);
    inflight_add(env, &r->link, true);
    return r;
}

static void request_free(request *r)
{
    inflight_remove(&r->link);
    trade_release(r->t);
    free(r);
}

static void request_finish(request *r, int status, const char *msg)
{
    inflight_remove(&r->link);
    trade_release(r->t); /* done decides what a finished trade still needs */
    if (r->done)
        r->done(r->ud, r->t, status, msg);
    free(r);
}

int exec_next_client_id(exec_env *env, trade *t, const char *suffix, char *out, size_t outlen)
{
    t->row.order_seq++;
    t->row.updated_at = clock_now(env->clock);
    int rc = store_execution_update(env->db, &t->row, NULL);
    if (rc)
        return rc;
    snprintf(out, outlen, "%s-%lld-%d%s", store_instance_id(env->db), (long long)t->row.id,
             t->row.order_seq, suffix ? suffix : "");
    return 0;
}

/* Copies the broker's view of an order onto our row, keeping our role and bracket prices. */
static void merge_order(store_order *row, const broker_order *o, apex_time now)
{
    order_role role = row->o.role;
    char parent[BROKER_ID_MAX];
    memcpy(parent, row->o.parent_client_order_id, sizeof parent);
    row->o = *o;
    row->o.role = role;
    if (!row->o.parent_client_order_id[0])
        memcpy(row->o.parent_client_order_id, parent, sizeof parent);
    if (!row->o.updated_at)
        row->o.updated_at = now;
}

static int record_intent(exec_env *env, trade *t, order_role role, const order_request *req,
                         const char *coid, const char *parent, order_type type, order_side side,
                         money_t limit, money_t stop)
{
    store_order row = {0};
    row.execution_id = t->row.id;
    snprintf(row.o.client_order_id, sizeof row.o.client_order_id, "%s", coid);
    snprintf(row.o.parent_client_order_id, sizeof row.o.parent_client_order_id, "%s",
             parent ? parent : "");
    snprintf(row.o.symbol, sizeof row.o.symbol, "%s", req->symbol);
    row.o.side = side;
    row.o.type = type;
    row.o.role = role;
    row.o.status = parent ? ORDER_STATUS_HELD : ORDER_STATUS_NEW;
    row.o.qty = req->qty;
    row.o.limit_price = limit;
    row.o.stop_price = stop;
    row.o.created_at = row.o.updated_at = clock_now(env->clock);
    if (!parent) {
        row.take_profit = req->take_profit;
        row.stop_loss = req->stop_loss;
    }
    return store_order_insert(env->db, &row, NULL);
}

static void on_submit_reply(void *ud, const broker_reply *reply)
{
    request *r = ud;
    exec_env *env = r->env;
    store_order row;
    apex_time now = clock_now(env->clock);
    if (store_order_get(env->db, r->coid, &row) != 0) {
        request_finish(r, APEX_EIO, store_errmsg(env->db));
        return;
    }
    int status = reply->status;
    if (status == APEX_EDUP) {
        /* The broker already has this id: it can only be our own earlier send. Treat the
         * order as live; reconciliation will pick up its state. Never send again. */
        log_warn("%s: broker already knows order %s; not resending", row.o.symbol, r->coid);
        status = 0;
    } else if (status == 0 && reply->order) {
        merge_order(&row, reply->order, now);
    } else if (status != 0) {
        row.o.status = ORDER_STATUS_REJECTED;
        snprintf(row.error, sizeof row.error, "%s", reply->error);
        snprintf(row.o.reason, sizeof row.o.reason, "%s", reply->error);
    }
    if (!row.submitted_at)
        row.submitted_at = now;
    row.o.updated_at = now;
    /* A refused bracket entry takes its legs with it: the broker never created them, so
     * their intents are final too, not "held" forever. One unit with the entry's row. */
    store_unit_begin(env->db, NULL);
    store_order_update(env->db, &row, NULL);
    static const order_role legs[] = {ORDER_ROLE_TAKE_PROFIT, ORDER_ROLE_STOP_LOSS};
    for (int i = 0; status != 0 && i < 2; i++) {
        char id[BROKER_ID_MAX + 4];
        store_order leg;
        if (order_leg_id(r->coid, legs[i], id, sizeof id) != 0 ||
            store_order_get(env->db, id, &leg) != 0 || order_status_is_final(leg.o.status))
            continue;
        leg.o.status = ORDER_STATUS_REJECTED;
        leg.o.updated_at = now;
        snprintf(leg.o.reason, sizeof leg.o.reason, "its entry %s was rejected", r->coid);
        store_order_update(env->db, &leg, NULL);
    }
    store_unit_commit(env->db, NULL);
    request_finish(r, status, status ? reply->error : NULL);
}

int exec_send(exec_env *env, broker_priority prio, trade *t, order_role role, order_request *req,
              exec_done_cb done, void *ud, char *err, size_t errlen)
{
    req->role = role;
    /* The id's sequence, the intent and its bracket legs are one unit, committed before
     * the request leaves: a restart finds all of them or none. */
    int seq_before = t->row.order_seq;
    int rc = store_unit_begin(env->db, NULL);
    if (rc)
        return err_set(err, errlen, rc, "recording an order intent: %s", store_errmsg(env->db));
    rc = exec_next_client_id(env, t, NULL, req->client_order_id, sizeof req->client_order_id);
    if (!rc)
        rc = record_intent(env, t, role, req, req->client_order_id, NULL, req->type, req->side,
                           req->limit_price, req->stop_price);
    /* Bracket legs are created by the broker with the entry; record them as intents of
     * the same send so a restart can ask the broker about them too. */
    order_side exit_side = order_side_opposite(req->side);
    char leg[BROKER_ID_MAX + 4];
    if (!rc && req->take_profit) {
        order_leg_id(req->client_order_id, ORDER_ROLE_TAKE_PROFIT, leg, sizeof leg);
        rc = record_intent(env, t, ORDER_ROLE_TAKE_PROFIT, req, leg, req->client_order_id,
                           ORDER_LIMIT, exit_side, req->take_profit, 0);
    }
    if (!rc && req->stop_loss) {
        order_leg_id(req->client_order_id, ORDER_ROLE_STOP_LOSS, leg, sizeof leg);
        rc = record_intent(env, t, ORDER_ROLE_STOP_LOSS, req, leg, req->client_order_id, ORDER_STOP,
                           exit_side, 0, req->stop_loss);
    }
    if (!rc)
        rc = store_unit_commit(env->db, NULL);
    if (rc) {
        err_set(err, errlen, rc, "recording the intent of %s: %s", req->client_order_id,
                store_errmsg(env->db));
        store_unit_abort(env->db, NULL);
        t->row.order_seq = seq_before;
        return rc;
    }
    /* Counted once committed, like the rows: the intent and its legs. */
    metrics_add(env->m_orders, 1 + (req->take_profit != 0) + (req->stop_loss != 0));
    if (role == ORDER_ROLE_ENTRY)
        snprintf(t->entry_coid, sizeof t->entry_coid, "%s", req->client_order_id);
    request *r = request_new(env, t, done, ud);
    if (!r)
        return err_set(err, errlen, APEX_ENOMEM, "out of memory sending %s", req->client_order_id);
    snprintf(r->coid, sizeof r->coid, "%s", req->client_order_id);
    rc = broker_submit_order(env->brk, prio, req, on_submit_reply, r);
    if (rc) {
        /* Refused before leaving the process: the intent is definitely unsent. */
        store_order row;
        if (store_order_get(env->db, r->coid, &row) == 0) {
            row.o.status = ORDER_STATUS_UNSENT;
            snprintf(row.error, sizeof row.error, "broker refused the request locally (%s)",
                     err_name(rc));
            store_order_update(env->db, &row, NULL);
        }
        request_free(r);
        err_set(err, errlen, rc, "the broker refused %s before it left the process (%s)",
                req->client_order_id, err_name(rc));
    }
    return rc;
}

/* Non-final order ids of one execution, gathered before any request is made. */
typedef struct {
    char ids[32][BROKER_ID_MAX];
    int n;
} id_list;

static int gather_open(void *ud, const store_order *o)
{
    id_list *l = ud;
    if (!order_status_is_final(o->o.status) && l->n < 32)
        snprintf(l->ids[l->n++], BROKER_ID_MAX, "%s", o->o.client_order_id);
    return 0;
}

static void ignore_reply(void *ud, const broker_reply *reply)
{
    (void)ud;
    (void)reply;
}

void exec_cancel_open_orders(exec_env *env, trade *t)
{
    id_list list = {.n = 0};
    store_orders_for_execution(env->db, t->row.id, gather_open, &list);
    for (int i = 0; i < list.n; i++)
        broker_cancel_order(env->brk, BROKER_PRIORITY_ROUTINE, list.ids[i], ignore_reply, NULL);
}

/* ---- the listener: broker events become rows, ledger entries and hook calls ---- */

static trade *trade_for(exec_env *env, const store_order *row)
{
    return env->hooks.find_trade ? env->hooks.find_trade(env->hooks.ud, row->execution_id) : NULL;
}

/* Applies one fill to the trade's ledger, execution row and position row (inside the
 * caller's unit). */
static int apply_fill(exec_env *env, trade *t, const broker_fill *f)
{
    int rc = ledger_apply(&t->led, f->side, f->qty, f->price, f->fee);
    if (rc != 0) {
        log_error("%s: fill %s overflows the ledger; ignored", f->symbol, f->fill_id);
        return rc;
    }
    t->row.realized_pnl = t->led.realized;
    t->row.fees = t->led.fees;
    if (t->row.entry_price == 0 || !t->has_pos)
        t->row.entry_price = ledger_avg_price(&t->led);
    t->row.updated_at = f->ts;
    rc = store_execution_update(env->db, &t->row, NULL);
    if (rc)
        return rc;

    money_t open_qty = t->led.qty > 0 ? t->led.qty : -t->led.qty;
    if (!t->has_pos) {
        store_position *p = &t->pos;
        memset(p, 0, sizeof *p);
        p->execution_id = t->row.id;
        snprintf(p->symbol, sizeof p->symbol, "%s", t->row.symbol);
        p->side = t->led.qty >= 0 ? SIDE_BUY : SIDE_SELL;
        p->stop_loss = t->row.stop_loss;
        p->take_profit = t->row.take_profit;
        p->opened_at = f->ts;
        p->open = true;
        p->peak_price = f->price;
        p->qty = p->initial_qty = open_qty;
        p->realized_pnl = t->led.realized; /* the entry's fee, from the first fill on */
        p->entry_price = ledger_avg_price(&t->led);
        p->current_price = f->price;
        p->last_update = f->ts;
        rc = store_position_insert(env->db, p, NULL);
        if (rc == 0)
            t->has_pos = true;
        return rc;
    }
    store_position *p = &t->pos;
    if (open_qty > p->initial_qty)
        p->initial_qty = open_qty;
    p->qty = open_qty;
    if (open_qty)
        p->entry_price = ledger_avg_price(&t->led);
    p->realized_pnl = t->led.realized;
    p->current_price = f->price;
    p->last_update = f->ts;
    if (open_qty == 0 && p->open) {
        p->open = false;
        p->closed_at = f->ts;
        p->unrealized_pnl = 0;
        p->unrealized_pnl_pct = 0;
    }
    return store_position_update(env->db, p, NULL);
}

/* The fill row, then the trade's ledger, execution and position, then the order's
 * state and the fill event: the writes of one unit. */
static int write_fill(exec_env *env, store_order *row, const broker_fill *f, const broker_order *o,
                      const char *note, trade *t)
{
    store_fill sf = {0};
    sf.execution_id = row->execution_id;
    sf.f = *f;
    int rc = store_fill_insert(env->db, &sf, NULL);
    if (rc)
        return rc; /* APEX_EDUP: already in the ledger, a replayed event */
    if (t && (rc = apply_fill(env, t, f)) != 0)
        return rc;
    if (o)
        merge_order(row, o, f->ts);
    else if (row->o.filled_qty + f->qty <= row->o.qty) {
        /* A recovered fill raises what is recorded, in its unit, and finishes the order
         * when it is the last. */
        row->o.filled_qty += f->qty;
        row->o.status =
            row->o.filled_qty >= row->o.qty ? ORDER_STATUS_FILLED : ORDER_STATUS_PARTIALLY_FILLED;
    }
    row->o.updated_at = f->ts;
    if ((rc = store_order_update(env->db, row, NULL)) != 0)
        return rc;
    char qb[32], pb[32];
    rc = store_event(env->db, f->ts, env->cfg->name, row->execution_id, "fill", NULL,
                     "%s %s %s @ %s (%s)%s%s", f->symbol, order_side_name(f->side),
                     money_format_trim(f->qty, 0, qb, sizeof qb),
                     money_format_trim(f->price, 2, pb, sizeof pb), order_role_name(row->o.role),
                     note ? "; " : "", note ? note : "");
    return rc;
}

/* Records one fill and everything it changes (the fill row, the execution's ledger
 * totals, the position, the order's fill state and the fill event) as one unit: a
 * kill at any point leaves all of it or none of it, and the trade in memory is put back
 * when the unit fails. Returns 1 when recorded, 0 when it was already recorded (a
 * replay: nothing changes), < 0 on a store failure. */
static int record_fill(exec_env *env, store_order *row, const broker_fill *f, const broker_order *o,
                       const char *note)
{
    trade *t = trade_for(env, row);
    trade before = {0};
    if (t)
        before = *t;
    store_order row_before = *row;
    int rc = store_unit_begin(env->db, NULL);
    if (!rc)
        rc = write_fill(env, row, f, o, note, t);
    if (!rc && t && env->hooks.in_fill_unit)
        env->hooks.in_fill_unit(env->hooks.ud, t, f, row);
    if (!rc)
        rc = store_unit_commit(env->db, NULL);
    if (rc == 0) {
        metrics_inc(env->m_fills);
        return 1;
    }
    if (rc != APEX_EDUP)
        log_error("%s: cannot record fill %s: %s", f->symbol, f->fill_id, store_errmsg(env->db));
    store_unit_abort(env->db, NULL);
    if (t) {
        /* Only the durable columns roll back; the links and timers are the live ones. */
        t->row = before.row;
        t->pos = before.pos;
        t->has_pos = before.has_pos;
        t->led = before.led;
    }
    *row = row_before;
    return rc == APEX_EDUP ? 0 : rc;
}

/* A shared account (several pipelines on one paper account) tells every pipeline about
 * every order; each records only its own executions' orders. */
static bool owned(exec_env *env, const store_order *row)
{
    if (trade_for(env, row))
        return true;
    store_execution e;
    return store_execution_get(env->db, row->execution_id, &e) == 0 &&
           strcmp(e.pipeline, env->cfg->name) == 0;
}

static void listener_on_fill(void *ud, const broker_fill *f, const broker_order *o)
{
    exec_env *env = ud;
    store_order row;
    if (store_order_get(env->db, f->client_order_id, &row) != 0 || !owned(env, &row))
        return; /* not ours: placed by hand at the broker, or by another pipeline */
    if (record_fill(env, &row, f, o, NULL) <= 0)
        return;
    trade *t = trade_for(env, &row);
    if (t && env->hooks.on_fill)
        env->hooks.on_fill(env->hooks.ud, t, f, &row);
}

static void listener_on_order(void *ud, const broker_order *o)
{
    exec_env *env = ud;
    store_order row;
    if (store_order_get(env->db, o->client_order_id, &row) != 0 || !owned(env, &row))
        return;
    if (row.o.status == o->status && row.o.filled_qty == o->filled_qty)
        return;
    merge_order(&row, o, clock_now(env->clock));
    store_order_update(env->db, &row, NULL);
    trade *t = trade_for(env, &row);
    if (t && env->hooks.on_order)
        env->hooks.on_order(env->hooks.ud, t, &row);
}

void exec_env_install(exec_env *env)
{
    broker_set_listener(
        env->brk,
        (broker_listener){.on_fill = listener_on_fill, .on_order = listener_on_order, .ud = env});
}

/* ---- restart: ask the broker, never resend ---- */

static void reconcile_step_done(request *r, int status)
{
    if (status && !r->status)
        r->status = status;
    if (--r->outstanding == 0)
        request_finish(r, r->status, r->status ? "broker unreachable during reconciliation" : NULL);
}

typedef struct {
    inflight link; /* first */
    request *parent;
    char coid[BROKER_ID_MAX];
} reconcile_item;

static void item_free(reconcile_item *it)
{
    inflight_remove(&it->link);
    free(it);
}

static void on_fills_reply(void *ud, const broker_reply *reply)
{
    reconcile_item *it = ud;
    exec_env *env = it->parent->env;
    store_order row;
    bool periodic = it->parent->periodic;
    if (reply->status == 0 && store_order_get(env->db, it->coid, &row) == 0) {
        for (int i = 0; i < reply->nfills; i++) {
            /* A fill the listener already recorded is a duplicate here (unique fill id):
             * each fill is recorded once, whichever path sees it first. */
            if (record_fill(env, &row, &reply->fills[i], NULL,
                            periodic ? "missed by the stream and polling, found by reconciliation"
                                     : "recovered after a restart") > 0) {
                if (periodic)
                    env->restart.missed_fills++;
                else
                    env->restart.recovered_fills++;
                store_event(env->db, reply->fills[i].ts, env->cfg->name, row.execution_id,
                            "reconcile", NULL,
                            periodic ? "recorded fill %s of order %s, which the stream and "
                                       "polling missed"
                                     : "recovered fill %s of order %s missed while down",
                            reply->fills[i].fill_id, it->coid);
                /* The trade learns of it as of any fill: a bracket leg that filled while
                 * the host was down is the exit's reason (take_profit or stop_loss). */
                trade *t = trade_for(env, &row);
                if (t && env->hooks.on_fill)
                    env->hooks.on_fill(env->hooks.ud, t, &reply->fills[i], &row);
            }
        }
    }
    request *parent = it->parent;
    item_free(it);
    reconcile_step_done(parent, reply->status);
}

static void on_order_reply(void *ud, const broker_reply *reply)
{
    reconcile_item *it = ud;
    request *parent = it->parent;
    exec_env *env = parent->env;
    store_order row;
    apex_time now = clock_now(env->clock);
    if (store_order_get(env->db, it->coid, &row) != 0) {
        item_free(it);
        reconcile_step_done(parent, APEX_EIO);
        return;
    }
    if (parent->periodic &&
        (order_status_is_final(row.o.status) ||
         (reply->status == 0 && reply->order && reply->order->filled_qty < row.o.filled_qty))) {
        /* While running, the listener may be ahead of this answer (a fill or a final
         * status recorded since the broker replied): an older answer changes nothing. */
        item_free(it);
        reconcile_step_done(parent, 0);
        return;
    }
    if (reply->status == APEX_ENOTFOUND) {
        /* While running, an intent the broker has not seen yet may be a submit still on
         * its way: only a restart may conclude that it never left. */
        if (!parent->periodic &&
            (row.o.status == ORDER_STATUS_NEW || row.o.status == ORDER_STATUS_HELD)) {
            row.o.status = ORDER_STATUS_UNSENT;
            snprintf(row.error, sizeof row.error,
                     "never reached the broker (the host stopped before sending it)");
            row.o.updated_at = now;
            store_order_update(env->db, &row, NULL);
            env->restart.unsent_intents++;
            store_event(env->db, now, env->cfg->name, row.execution_id, "reconcile", NULL,
                        "order %s never reached the broker; marked unsent, not resent", it->coid);
        }
        item_free(it);
        reconcile_step_done(parent, 0);
        return;
    }
    if (reply->status != 0 || !reply->order) {
        item_free(it);
        reconcile_step_done(parent, reply->status ? reply->status : APEX_EIO);
        return;
    }
    money_t recorded = row.o.filled_qty;
    order_status was = row.o.status;
    merge_order(&row, reply->order, now);
    if (!row.submitted_at)
        row.submitted_at = now;
    row.o.filled_qty = recorded; /* raised by the fills we record, not assumed */
    bool fills_missing = reply->order->filled_qty > recorded;
    if (fills_missing && order_status_is_final(row.o.status))
        /* Not final before its fills are in: a final row is never reconciled again, so
         * a kill now would lose them for good. The recorded fills finish it. */
        row.o.status = recorded > 0 ? ORDER_STATUS_PARTIALLY_FILLED : ORDER_STATUS_ACCEPTED;
    store_order_update(env->db, &row, NULL);
    /* While running, a status change the listener missed (a cancel confirmed, an order
     * expired) reaches the trade as the listener's would. */
    trade *t =
        parent->periodic && !fills_missing && row.o.status != was ? trade_for(env, &row) : NULL;
    if (t && env->hooks.on_order)
        env->hooks.on_order(env->hooks.ud, t, &row);
    /* The order's recorded fill quantity rises only with the fills recorded (each in its
     * unit), never ahead of them: a kill before they are in leaves the difference for the
     * next restart to fetch again. */
    if (reply->order->filled_qty > recorded &&
        broker_list_fills(env->brk, BROKER_PRIORITY_ROUTINE, it->coid, on_fills_reply, it) == 0)
        return; /* the fills reply finishes this item */
    item_free(it);
    reconcile_step_done(parent, 0);
}

static int reconcile_orders(exec_env *env, trade *t, bool periodic, exec_done_cb done, void *ud)
{
    id_list list = {.n = 0};
    store_orders_for_execution(env->db, t->row.id, gather_open, &list);
    request *r = request_new(env, t, done, ud);
    if (!r)
        return APEX_ENOMEM;
    r->periodic = periodic;
    r->outstanding = 1; /* held until every item is issued */
    for (int i = 0; i < list.n; i++) {
        reconcile_item *it = calloc(1, sizeof *it);
        if (!it)
            break;
        it->parent = r;
        inflight_add(env, &it->link, false);
        snprintf(it->coid, sizeof it->coid, "%s", list.ids[i]);
        r->outstanding++;
        if (broker_get_order(env->brk, BROKER_PRIORITY_ROUTINE, it->coid, on_order_reply, it) !=
            0) {
            item_free(it);
            reconcile_step_done(r, APEX_EIO);
        }
    }
    reconcile_step_done(r, 0);
    return 0;
}

int exec_reconcile(exec_env *env, trade *t, exec_done_cb done, void *ud)
{
    return reconcile_orders(env, t, false, done, ud);
}

int exec_reconcile_periodic(exec_env *env, trade *t, exec_done_cb done, void *ud)
{
    return reconcile_orders(env, t, true, done, ud);
}

/* ---- a position closed outside apex-host ---- */

/* Whether f is a fill of an order apex-host placed (any pipeline's): 1 yes, 0 no (or it
 * cannot be told: no id at all, kept as ours so nothing unproven is recorded), < 0 on a
 * database error. */
static int fill_is_ours(exec_env *env, const broker_fill *f)
{
    store_order row;
    if (f->client_order_id[0]) {
        int rc = store_order_get(env->db, f->client_order_id, &row);
        if (rc == 0)
            return 1;
        if (rc != APEX_ENOTFOUND)
            return rc;
    }
    if (!f->order_id[0])
        return 1;
    return store_order_known_at_broker(env->db, f->order_id);
}

static void on_symbol_fills(void *ud, const broker_reply *reply)
{
    request *r = ud;
    exec_env *env = r->env;
    trade *t = r->t;
    exec_external_cb cb = r->external;
    void *cb_ud = r->ud;
    inflight_remove(&r->link);
    free(r);
    if (!trade_release(t))
        return; /* finished meanwhile: nothing is left to complete */
    exec_external_close c = {.status = reply->status};
    c.held = t->led.qty > 0 ? t->led.qty : -t->led.qty;
    if (reply->status != 0) {
        snprintf(c.error, sizeof c.error, "%s",
                 reply->error[0] ? reply->error : err_name(reply->status));
        cb(cb_ud, t, &c);
        return;
    }
    broker_fill *keep = calloc((size_t)reply->nfills + 1, sizeof *keep);
    if (!keep) {
        c.status = APEX_ENOMEM;
        snprintf(c.error, sizeof c.error, "out of memory reading the broker's fills");
        cb(cb_ud, t, &c);
        return;
    }
    /* A hand close of a long is a sell (of a short, a buy): a buy by hand in between adds
     * to the broker's position, not to this execution's close. */
    order_side closing = t->led.qty > 0 ? SIDE_SELL : SIDE_BUY;
    apex_time opened = t->has_pos ? t->pos.opened_at : 0;
    for (int i = 0; i < reply->nfills && c.found < c.held; i++) {
        const broker_fill *f = &reply->fills[i];
        if (f->side != closing || f->qty <= 0 || f->ts < opened - APEX_SECOND || !f->symbol[0] ||
            strcmp(f->symbol, t->row.symbol) != 0)
            continue;
        int ours = fill_is_ours(env, f);
        if (ours < 0) {
            c.status = ours;
            snprintf(c.error, sizeof c.error, "reading the store: %s", store_errmsg(env->db));
            break;
        }
        if (ours)
            continue;
        broker_fill *k = &keep[c.nfills++];
        *k = *f;
        money_t left = c.held - c.found;
        if (k->qty > left) {
            /* Only what this execution held is its close; the fee goes pro rata. */
            money_t fee = 0;
            money_muldiv(f->fee, left, f->qty, MONEY_ROUND_NEAREST, &fee);
            k->fee = fee;
            k->qty = left;
        }
        c.found += k->qty;
    }
    if (c.status != 0) {
        c.nfills = 0;
        c.found = 0;
    }
    c.fill = keep;
    cb(cb_ud, t, &c);
    free(keep);
}

int exec_find_external_close(exec_env *env, trade *t, exec_external_cb cb, void *ud)
{
    if (!cb || t->led.qty == 0)
        return APEX_EINVAL;
    request *r = request_new(env, t, NULL, ud);
    if (!r)
        return APEX_ENOMEM;
    r->external = cb;
    apex_time since = t->has_pos ? t->pos.opened_at : t->row.created_at;
    int rc = broker_list_symbol_fills(env->brk, BROKER_PRIORITY_ROUTINE, t->row.symbol, since,
                                      on_symbol_fills, r);
    if (rc != 0)
        request_free(r);
    return rc;
}

int exec_record_external_fill(exec_env *env, trade *t, const broker_fill *f)
{
    store_fill sf = {0};
    sf.execution_id = t->row.id;
    sf.f = *f;
    /* No apex-host order made it: the venue's order id stands in for the client order id,
     * so (order, fill id) is the venue's own pair and a fill learned twice is refused. */
    snprintf(sf.f.client_order_id, sizeof sf.f.client_order_id, "%s", f->order_id);
    int rc = store_fill_insert(env->db, &sf, NULL);
    if (rc == APEX_EDUP)
        return 0;
    if (rc)
        return rc;
    if ((rc = apply_fill(env, t, &sf.f)) != 0)
        return rc;
    char qb[32], pb[32];
    rc = store_event(env->db, f->ts, env->cfg->name, t->row.id, "fill", NULL,
                     "%s %s %s @ %s (%s); made at the broker outside apex-host (order %s, fill %s)",
                     f->symbol, order_side_name(f->side),
                     money_format_trim(f->qty, 0, qb, sizeof qb),
                     money_format_trim(f->price, 2, pb, sizeof pb),
                     order_role_name(ORDER_ROLE_EXTERNAL), f->order_id, f->fill_id);
    if (!rc)
        metrics_inc(env->m_fills);
    return rc ? rc : 1;
}

static int replay_one(void *ud, const store_fill *f)
{
    trade *t = ud;
    ledger_apply(&t->led, f->f.side, f->f.qty, f->f.price, f->f.fee);
    return 0;
}

int exec_replay_fills(exec_env *env, trade *t)
{
    memset(&t->led, 0, sizeof t->led);
    return store_fills_for_execution(env->db, t->row.id, replay_one, t);
}

exec_restart_stats exec_restart_stats_get(const exec_env *env)
{
    return env->restart;
}
