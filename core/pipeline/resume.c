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
 * monitor to re-decide, and monitoring resumes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static void on_reconciled(void *ud, trade *t, int status, const char *msg)
{
    pipeline *p = ud;
    if (trade_is_finished(t))
        return;
    apex_time now = clock_now(p->hs->clock);
    store_order entry;
    bool entry_sent = t->entry_coid[0] && store_order_get(p->hs->db, t->entry_coid, &entry) == 0 &&
                      entry.o.status != ORDER_STATUS_UNSENT && entry.o.status != ORDER_STATUS_NEW;
    if (status != 0) {
        store_event(p->hs->db, now, p->cfg.name, t->row.id, "reconcile",
                    "%s: broker unreachable while reconciling (%s); monitoring resumes and "
                    "retries",
                    t->row.symbol, msg ? msg : "");
    }
    if (t->row.status != EXEC_MONITORING) {
        if (!entry_sent && t->led.qty == 0 && status == 0) {
            pipeline_set_status(p, t, EXEC_FAILED,
                                "interrupted by a restart before the entry reached the broker; "
                                "nothing was traded and nothing was resent");
            return;
        }
        pipeline_set_status(p, t, EXEC_MONITORING, NULL);
    }
    log_event("%-13s RESUME   %-5s execution %lld monitoring (qty %s)", p->cfg.name, t->row.symbol,
              (long long)t->row.id, t->has_pos ? "open" : "pending entry");
    monitor_watch(p->mon, t, now);
}

static int resume_one(void *ud, const store_execution *e)
{
    pipeline *p = ud;
    trade *t = calloc(1, sizeof *t);
    if (!t)
        return 1;
    t->row = *e;
    t->owner = p;
    t->symbol_id = symtab_intern(p->hs->symbols, e->symbol, (int)strlen(e->symbol));
    t->next = p->trades;
    p->trades = t;
    exec_replay_fills(p->exec, t);
    t->has_pos = store_position_get_by_execution(p->hs->db, e->id, &t->pos) == 0;
    store_orders_for_execution(p->hs->db, e->id, find_entry, t);
    return 0;
}

void pipeline_resume_load(pipeline *p)
{
    store_executions_active(p->hs->db, p->cfg.name, resume_one, p);
    for (trade *t = p->trades; t; t = t->next) {
        if (t->symbol_id >= 0 && t->symbol_id < p->nsyms)
            p->syms[t->symbol_id].active = t;
        p->resume_pending = true;
    }
}

void pipeline_resume_start(pipeline *p)
{
    p->resume_pending = false;
    for (trade *t = p->trades; t; t = t->next) {
        if (trade_is_finished(t))
            continue;
        store_event(p->hs->db, clock_now(p->hs->clock), p->cfg.name, t->row.id, "restart",
                    "%s: resuming %s execution after a restart", t->row.symbol,
                    exec_status_name(t->row.status));
        exit_executor_resume(p->exits, t);
        if (exec_reconcile(p->exec, t, on_reconciled, p) != 0)
            monitor_watch(p->mon, t, clock_now(p->hs->clock));
    }
}
