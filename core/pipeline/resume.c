/* resume: a restarted host picks up the executions a previous run left active.
 *
 * In two steps, because bars up to the restart cursor are warm-up: they feed the
 * scripts and their indicators and nothing else. pipeline_resume_load (at open) rebuilds
 * the trades so their symbols count as traded; pipeline_resume_start runs on the first
 * bar after the cursor, once the broker has seen it, so reconciliation, the first check
 * and every line and event are stamped with current time and priced on current data.
 *
 * Each is rebuilt from the store (its row, its position, its fills replayed into the
 * ledger), its non-final orders are reconciled with the broker by client order id
 * (exec_reconcile: found orders brought up to date, missed fills fetched, intents the
 * broker never saw marked unsent and never resent), a working exit is closed for the
 * monitor to re-decide, and monitoring resumes. A stop or limit entry still resting keeps
 * its type, price and expiry from the row; warm-up counts the bars it rested through, and
 * its expiry is acted on once it is reconciled (entry_expiry.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "pipeline/pipeline_internal.h"
#include "util/log.h"

static int find_entry(void *ud, const store_order *o)
{
    trade *t = ud;
    if (o->o.role == ORDER_ROLE_ENTRY) {
        snprintf(t->entry_coid, sizeof t->entry_coid, "%s", o->o.client_order_id);
        return 1;
    }
    return 0;
}

/* A resumed execution waiting for the cancels of exit orders a previous run left working. */
typedef struct resume_wait {
    LIST_ENTRY(resume_wait) link;
    pipeline *p;
    trade *t; /* held */
    int outstanding;
} resume_wait;

static void resume_report(pipeline *p)
{
    exec_restart_stats rs = exec_restart_stats_get(p->exec);
    log_event("%-13s RESUME   resumed %d execution(s); cancelled %d exit order(s) left working; "
              "%d intent(s) never sent, marked unsent; %d fill(s) recovered",
              p->cfg.name, p->resume_total, p->resume_cancelled, rs.unsent_intents,
              rs.recovered_fills);
    store_event(p->hs->db, clock_now(p->hs->clock), p->cfg.name, 0, "restart_report", NULL,
                "resumed %d execution(s); cancelled %d exit order(s) left working; %d intent(s) "
                "marked unsent; %d fill(s) recovered",
                p->resume_total, p->resume_cancelled, rs.unsent_intents, rs.recovered_fills);
}

/* The last step of resuming t: it is monitored from now on, first on the current price. */
static void resume_monitoring(pipeline *p, trade *t)
{
    if (!trade_is_finished(t)) {
        log_event("%-13s RESUME   %-5s execution %lld monitoring (qty %s)", p->cfg.name,
                  t->row.symbol, (long long)t->row.id, t->has_pos ? "open" : "pending entry");
        monitor_watch(p->mon, t, clock_now(p->hs->clock));
        pipeline_entry_expiry_resumed(p, t); /* a resting entry's expiry may have come */
    }
    if (--p->resuming == 0)
        resume_report(p);
}

static void wait_free(resume_wait *w)
{
    LIST_REMOVE(w, link);
    free(w);
}

void pipeline_resume_free_all(pipeline *p)
{
    while (!LIST_EMPTY(&p->resume_waits)) {
        resume_wait *w = LIST_FIRST(&p->resume_waits);
        trade_release(w->t);
        wait_free(w);
    }
}

static void on_exit_cancelled(void *ud, const broker_reply *r)
{
    resume_wait *w = ud;
    (void)r; /* refused = already final (filled or gone): its fill or status arrives anyway */
    if (--w->outstanding > 0)
        return;
    pipeline *p = w->p;
    trade *t = w->t;
    wait_free(w);
    trade_release(t);
    resume_monitoring(p, t);
}

typedef struct {
    char ids[32][BROKER_ID_MAX];
    int n;
} order_ids;

static int gather_working_exits(void *ud, const store_order *o)
{
    order_ids *l = ud;
    if (o->o.role == ORDER_ROLE_EXIT && !order_status_is_final(o->o.status) && l->n < 32)
        snprintf(l->ids[l->n++], BROKER_ID_MAX, "%s", o->o.client_order_id);
    return 0;
}

/* Exit orders a previous run left working at the broker are cancelled, and the cancels
 * confirmed, before the monitor may decide a new exit: the host never has more exit
 * quantity working than the open position. (The bracket legs stay: they are the safety
 * net, and every new exit cancels them first.) */
static void cancel_left_exits(pipeline *p, trade *t)
{
    order_ids ids = {.n = 0};
    store_orders_for_execution(p->hs->db, t->row.id, gather_working_exits, &ids);
    resume_wait *w = ids.n ? calloc(1, sizeof *w) : NULL;
    if (!w) {
        resume_monitoring(p, t);
        return;
    }
    w->p = p;
    w->t = t;
    w->outstanding = 1; /* held until every cancel is issued */
    LIST_INSERT_HEAD(&p->resume_waits, w, link);
    trade_hold(t);
    for (int i = 0; i < ids.n; i++) {
        store_event(p->hs->db, clock_now(p->hs->clock), p->cfg.name, t->row.id, "reconcile", NULL,
                    "%s: exit order %s was left working by the previous run; cancelling it "
                    "before any new exit",
                    t->row.symbol, ids.ids[i]);
        p->resume_cancelled++;
        w->outstanding++;
        if (broker_cancel_order(p->brk, BROKER_PRIORITY_ROUTINE, ids.ids[i], on_exit_cancelled,
                                w) != 0)
            w->outstanding--;
    }
    broker_reply done = {.status = 0};
    on_exit_cancelled(w, &done); /* the issuing hold */
}

static void on_reconciled(void *ud, trade *t, int status, const char *msg)
{
    pipeline *p = ud;
    if (trade_is_finished(t)) {
        if (--p->resuming == 0)
            resume_report(p);
        return;
    }
    apex_time now = clock_now(p->hs->clock);
    store_order entry;
    bool entry_sent = t->entry_coid[0] && store_order_get(p->hs->db, t->entry_coid, &entry) == 0 &&
                      entry.o.status != ORDER_STATUS_UNSENT && entry.o.status != ORDER_STATUS_NEW;
    if (status != 0) {
        store_event(p->hs->db, now, p->cfg.name, t->row.id, "reconcile", NULL,
                    "%s: broker unreachable while reconciling (%s); monitoring resumes and "
                    "retries",
                    t->row.symbol, msg ? msg : "");
    }
    if (t->row.status != EXEC_MONITORING) {
        if (!entry_sent && t->led.qty == 0 && status == 0) {
            pipeline_set_status(p, t, EXEC_FAILED,
                                "interrupted by a restart before the entry reached the broker; "
                                "nothing was traded and nothing was resent");
            if (--p->resuming == 0)
                resume_report(p);
            return;
        }
        /* The entry reached the broker, but its acceptance was not recorded: it rests
         * from now on, as far as its expiry in bars knows. */
        pipeline_entry_expiry_rests(p, t);
        pipeline_set_status(p, t, EXEC_MONITORING, NULL);
    }
    cancel_left_exits(p, t);
}

static int resume_one(void *ud, const store_execution *e)
{
    pipeline *p = ud;
    trade *t = calloc(1, sizeof *t);
    if (!t)
        return 1;
    t->row = *e; /* with its entry's type, price and expiry (store migration 6) */
    t->owner = p;
    t->symbol_id = symtab_intern(p->hs->symbols, e->symbol, (int)strlen(e->symbol));
    exec_replay_fills(p->exec, t);
    t->has_pos = store_position_get_by_execution(p->hs->db, e->id, &t->pos) == 0;
    store_orders_for_execution(p->hs->db, e->id, find_entry, t);
    pipeline_trade_link(p, t); /* counted open with its replayed fills */
    return 0;
}

void pipeline_resume_load(pipeline *p)
{
    store_executions_active(p->hs->db, p->cfg.name, resume_one, p);
    for (trade *t = p->trades; t; t = t->next) {
        if (t->symbol_id >= 0 && t->symbol_id < p->syms.count)
            p->syms.items[t->symbol_id].active = t;
        pipeline_portfolio_update(p, t); /* its filled risk counts in the account's heat */
        p->resume_pending = true;
    }
}

void pipeline_resume_start(pipeline *p)
{
    p->resume_pending = false;
    bool webhook = p->cfg.execution.tool == EXEC_TOOL_WEBHOOK;
    for (trade *t = p->trades; t; t = t->next)
        if (!trade_is_finished(t) && !webhook)
            p->resuming++;
    p->resume_total = p->resuming;
    for (trade *t = p->trades; t; t = t->next) {
        if (trade_is_finished(t))
            continue;
        if (webhook) { /* no broker state to reconcile: the post itself was interrupted */
            pipeline_webhook_resume(p, t);
            continue;
        }
        if (pipeline_approval_resume(p, t)) { /* waiting for a trader: nothing was sent */
            if (--p->resuming == 0)
                resume_report(p);
            continue;
        }
        store_event(p->hs->db, clock_now(p->hs->clock), p->cfg.name, t->row.id, "restart", NULL,
                    "%s: resuming %s execution after a restart", t->row.symbol,
                    exec_status_name(t->row.status));
        pipeline_strategy_close_resume(p, t); /* before the exits left working are closed */
        exit_executor_resume(p->exits, t);
        t->resuming = true; /* until reconciled: its entry's expiry is counted, not acted on */
        if (exec_reconcile(p->exec, t, on_reconciled, p) != 0)
            cancel_left_exits(p, t); /* out of memory: still never act before the cancels */
    }
}
