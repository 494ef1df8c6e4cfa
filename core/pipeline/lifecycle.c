/* lifecycle: a trade's birth, its status changes and its end.
 *
 * Every status change goes through pipeline_set_status, which writes the execution row,
 * the audit event and the terminal line from one reason, so the three never disagree
 * and no caller writes a FAILED or SKIP line by hand. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/pipeline_internal.h"
#include "util/assert.h"
#include "util/err.h"
#include "util/log.h"

int pipeline_durable(pipeline *p, int rc, const char *what)
{
    return pipeline_durable_msg(p, rc, what, p->werr.code ? p->werr.msg : err_name(rc));
}

int pipeline_durable_msg(pipeline *p, int rc, const char *what, const char *msg)
{
    if (rc == 0)
        return 0;
    if (p->write_failed)
        return rc; /* reported once; the first failure is the one that matters */
    p->write_failed = true;
    snprintf(p->write_error, sizeof p->write_error, "%s: %s", what, msg);
    log_error("%s: DURABLE WRITE FAILED: %s. New entries are halted for this pipeline; open "
              "positions are still monitored and exited. Check the disk and the database, then "
              "restart.",
              p->cfg.name, p->write_error);
    return rc;
}

trade *pipeline_trade_new(pipeline *p, int symbol_id)
{
    trade *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    apex_time now = clock_now(p->hs->clock);
    t->owner = p;
    t->symbol_id = symbol_id;
    store_execution *r = &t->row;
    snprintf(r->pipeline, sizeof r->pipeline, "%s", p->cfg.name);
    snprintf(r->symbol, sizeof r->symbol, "%s", symtab_name(p->hs->symbols, symbol_id));
    r->status = EXEC_PENDING;
    snprintf(r->phase, sizeof r->phase, "execute");
    r->created_at = r->updated_at = now;
    r->side = -1;
    r->monitor_interval_s = p->cfg.monitoring.normal_frequency_s;
    if (pipeline_durable(p, store_execution_insert(p->hs->db, r, &p->werr),
                         "recording a new execution")) {
        free(t);
        return NULL;
    }
    t->next = p->trades;
    p->trades = t;
    p->sum.executions++;
    return t;
}

/* The terminal line for a final status; other statuses print nothing (the stage that
 * moves an execution on prints what it did: ORDER, RESUME). */
static void log_status(pipeline *p, const trade *t, exec_status st)
{
    char rb[32];
    switch (st) {
    case EXEC_FAILED:
        log_event("%-13s FAILED   %-5s %s", p->cfg.name, t->row.symbol, t->row.reason);
        break;
    case EXEC_SKIPPED:
        log_event("%-13s SKIP     %-5s %s", p->cfg.name, t->row.symbol, t->row.reason);
        break;
    case EXEC_COMPLETED:
        log_event("%-13s EXIT     %-5s %s  realized P&L %s", p->cfg.name, t->row.symbol,
                  t->row.reason, money_format_trim(t->led.realized, 2, rb, sizeof rb));
        break;
    default:
        break;
    }
}

void pipeline_set_status(pipeline *p, trade *t, exec_status st, const char *fmt, ...)
{
    APEX_ASSERT(!trade_is_finished(t));
    apex_time now = clock_now(p->hs->clock);
    exec_status old = t->row.status;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(t->row.reason, sizeof t->row.reason, fmt, ap);
        va_end(ap);
    }
    t->row.status = st;
    t->row.updated_at = now;
    if (st == EXEC_MONITORING)
        snprintf(t->row.phase, sizeof t->row.phase, "monitoring");
    if (exec_status_is_final(st)) {
        t->row.completed_at = now;
        t->row.next_check_at = 0;
    }
    /* The row and its audit event are one unit: the log never disagrees with the row. */
    store *db = p->hs->db;
    int rc = store_unit_begin(db, &p->werr);
    if (!rc)
        rc = store_execution_update(db, &t->row, &p->werr);
    if (!rc)
        rc = store_event(db, now, p->cfg.name, t->row.id, "status", &p->werr, "%s %s -> %s%s%s",
                         t->row.symbol, exec_status_name(old), exec_status_name(st),
                         fmt ? ": " : "", fmt ? t->row.reason : "");
    if (!rc)
        rc = store_unit_commit(db, &p->werr);
    if (rc) {
        pipeline_durable(p, rc, "recording a status change");
        store_unit_abort(db, NULL);
    }
    log_status(p, t, st);
    if (!exec_status_is_final(st))
        return;
    monitor_unwatch(p->mon, t);
    if (t->symbol_id < p->syms.count && p->syms.items[t->symbol_id].active == t) {
        /* Its marked P&L leaves the open part of the equity; what it realized stays. */
        sym_state *s = &p->syms.items[t->symbol_id];
        p->mark += t->led.realized - s->open_pnl;
        s->open_pnl = 0;
        s->active = NULL;
        pipeline_mark_equity(p, NULL, 0);
    }
    trade_finish(t);
    p->finished_trades++;
    if (st == EXEC_SKIPPED)
        p->sum.skipped++;
    else if (st == EXEC_FAILED)
        p->sum.failed++;
}

void pipeline_complete(pipeline *p, trade *t)
{
    /* The closed position and the completed execution commit together. */
    int unit = store_unit_begin(p->hs->db, &p->werr);
    exit_executor_forget(p->exits, t);
    exec_cancel_open_orders(p->exec, t); /* leftovers, e.g. after a close by hand */
    /* Flat at the broker while apex-host's own fills still hold shares: closed by hand
     * (Alpaca's web UI) or by the broker. Its closing fill is not one of apex-host's
     * orders, so the realized P&L covers apex-host's fills only, and the reason says so. */
    bool at_broker = !t->exit_reason[0] && t->led.qty != 0;
    char reason[300], qb[32];
    if (t->exit_reason[0])
        snprintf(reason, sizeof reason, "%s", t->exit_reason);
    else if (at_broker)
        snprintf(reason, sizeof reason,
                 "closed_at_broker: the position (%s %s) was closed outside apex-host; the "
                 "realized P&L counts apex-host's own fills only",
                 money_format_trim(t->led.qty, 0, qb, sizeof qb), t->row.symbol);
    else
        snprintf(reason, sizeof reason, "position closed");
    if (t->has_pos) {
        t->pos.open = false;
        if (!t->pos.closed_at)
            t->pos.closed_at = clock_now(p->hs->clock);
        t->pos.unrealized_pnl = t->pos.unrealized_pnl_pct = 0;
        if (!t->pos.exit_reason[0])
            snprintf(t->pos.exit_reason, sizeof t->pos.exit_reason, "%.49s",
                     at_broker ? "closed_at_broker" : reason);
        pipeline_durable(p, store_position_update(p->hs->db, &t->pos, &p->werr),
                         "closing a position");
    }
    p->sum.trades++;
    if (t->led.realized > 0)
        p->sum.wins++;
    else if (t->led.realized < 0)
        p->sum.losses++;
    else
        p->sum.breakeven++;
    p->sum.realized += t->led.realized;
    p->sum.fees += t->led.fees;
    script_position view;
    exits_position_view(t, &view);
    char err[512];
    if (script_on_exit(p->scripts, &view, reason, err, sizeof err) != 0)
        pipeline_script_error(p, t, SCRIPT_STAGE_NOTIFY, err);
    pipeline_set_status(p, t, EXEC_COMPLETED, "%s", reason);
    if (unit == 0 &&
        pipeline_durable(p, store_unit_commit(p->hs->db, &p->werr), "completing an execution"))
        store_unit_abort(p->hs->db, NULL);
}

/* Finished trades are freed here, outside any callback that might still touch them. */
void pipeline_sweep(pipeline *p)
{
    if (!p->finished_trades)
        return;
    for (trade **pp = &p->trades; *pp;) {
        trade *t = *pp;
        if (trade_freeable(t)) {
            *pp = t->next;
            free(t);
            p->finished_trades--;
        } else {
            pp = &t->next;
        }
    }
}

void pipeline_mark_equity(pipeline *p, trade *t, money_t price)
{
    sym_state *s = t && t->symbol_id < p->syms.count ? &p->syms.items[t->symbol_id] : NULL;
    if (s && s->active == t) {
        money_t open = t->led.realized;
        if (t->led.qty != 0)
            open += price > 0 ? ledger_unrealized(&t->led, price) : t->pos.unrealized_pnl;
        p->mark += open - s->open_pnl;
        s->open_pnl = open;
    }
    if (p->mark > p->peak_mark)
        p->peak_mark = p->mark;
    if (p->peak_mark - p->mark > p->sum.max_drawdown)
        p->sum.max_drawdown = p->peak_mark - p->mark;
}

int pipeline_open_positions(const pipeline *p)
{
    int n = 0;
    for (const trade *t = p->trades; t; t = t->next)
        if (!trade_is_finished(t) &&
            (t->row.status == EXEC_MONITORING || t->led.qty != 0 || t->sized))
            n++;
    return n;
}
