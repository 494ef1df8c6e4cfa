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
    pipeline_notify_text(p, NOTIFY_ERROR, NULL, p->write_error);
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
    pipeline_trade_link(p, t);
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
        log_event("%-13s CLOSED   %-5s %s  realized P&L %s", p->cfg.name, t->row.symbol,
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
    /* Its notification is queued in the same unit: a kill cannot keep the change and
     * lose the message (or send a message for a change that was undone). */
    if (!rc)
        pipeline_notify_status(p, t, st);
    if (!rc)
        rc = store_unit_commit(db, &p->werr);
    if (rc) {
        pipeline_durable(p, rc, "recording a status change");
        store_unit_abort(db, NULL);
    }
    log_status(p, t, st);
    if (!exec_status_is_final(st)) {
        pipeline_trade_recount(p, t);
        return;
    }
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
    pipeline_trade_recount(p, t);
    pipeline_portfolio_update(p, t); /* its risk leaves the account's heat */
    p->finished_trades++;
    if (st == EXEC_SKIPPED)
        p->sum.skipped++;
    else if (st == EXEC_FAILED)
        p->sum.failed++;
}

/* Completes t: reason is why it closed, at_broker that the broker closed it outside
 * apex-host (positions.exit_reason is then `closed_at_broker`). */
static void complete(pipeline *p, trade *t, const char *reason, bool at_broker)
{
    /* The closed position and the completed execution commit together (and with the
     * closing fills learned from the broker, in the caller's unit, when there are any). */
    int unit = store_unit_begin(p->hs->db, &p->werr);
    exit_executor_forget(p->exits, t);
    exec_cancel_open_orders(p->exec, t); /* leftovers, e.g. after a close by hand */
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

/* The reason of a position closed outside apex-host whose closing fills are not in the
 * ledger: the realized P&L covers apex-host's own fills only. `why` says why they are
 * not (NULL: the broker cannot list fills, e.g. the paper broker). */
static void reason_own_fills_only(char *out, size_t n, money_t held, const char *symbol,
                                  const char *why)
{
    char qb[32];
    snprintf(out, n,
             "closed_at_broker: the position (%s %s) was closed outside apex-host; the realized "
             "P&L counts apex-host's own fills only%s%s%s",
             money_format_trim(held, 0, qb, sizeof qb), symbol, why ? " (" : "", why ? why : "",
             why ? ")" : "");
}

void pipeline_complete(pipeline *p, trade *t)
{
    /* Flat at the broker while apex-host's own fills still hold shares, and the broker
     * was not asked for the closing fills (pipeline_flat_at_broker asks). */
    bool at_broker = !t->exit_reason[0] && t->led.qty != 0;
    char reason[300];
    if (t->exit_reason[0])
        snprintf(reason, sizeof reason, "%s", t->exit_reason);
    else if (at_broker)
        reason_own_fills_only(reason, sizeof reason, t->led.qty < 0 ? -t->led.qty : t->led.qty,
                              t->row.symbol, NULL);
    else
        snprintf(reason, sizeof reason, "position closed");
    complete(p, t, reason, at_broker);
}

/* The broker's answer: its closing fills recorded with the completion, in one unit. */
static void on_external_close(void *ud, trade *t, const exec_external_close *c)
{
    pipeline *p = ud;
    store *db = p->hs->db;
    t->finding_close = false;
    if (trade_is_finished(t))
        return;
    if (t->exit_reason[0] || t->led.qty == 0) {
        /* apex-host's own fills closed it while the broker was asked (an exit's fill that
         * was still on its way): nothing was closed by hand. */
        pipeline_complete(p, t);
        return;
    }
    char reason[400], why[300], qb[32], fb[32];
    money_t held = c->held;
    if (c->status != 0) {
        snprintf(why, sizeof why, "the broker's fills could not be listed: %.250s", c->error);
        reason_own_fills_only(reason, sizeof reason, held, t->row.symbol,
                              c->status == APEX_EINVAL ? NULL : why);
        complete(p, t, reason, true);
        return;
    }
    /* Put back in memory if the unit fails: only the durable mirror changes here. */
    store_execution row = t->row;
    store_position pos = t->pos;
    bool has_pos = t->has_pos;
    ledger led = t->led;
    int unit = store_unit_begin(db, &p->werr);
    int rc = unit;
    money_t found = 0;
    int nrec = 0;
    for (int i = 0; rc == 0 && i < c->nfills; i++) {
        const broker_fill *f = &c->fill[i];
        int r = exec_record_external_fill(p->exec, t, f);
        if (r < 0) {
            rc = r;
            break;
        }
        if (r == 0)
            continue; /* already recorded: it is in the ledger already */
        pipeline_trade_recount(p, t);
        found += f->qty;
        nrec++;
        char pb[32], feeb[32], rb[32];
        log_event("%-13s FILL     %-5s %s %s @ %s fee %s (%s)  realized %s", p->cfg.name, f->symbol,
                  order_side_name(f->side), money_format_trim(f->qty, 0, qb, sizeof qb),
                  money_format_trim(f->price, 2, pb, sizeof pb),
                  money_format_trim(f->fee, 2, feeb, sizeof feeb),
                  order_role_name(ORDER_ROLE_EXTERNAL),
                  money_format_trim(t->led.realized, 2, rb, sizeof rb));
    }
    if (rc != 0) {
        pipeline_durable(p, rc, "recording the closing fills of a position closed at the broker");
        if (unit == 0)
            store_unit_abort(db, NULL);
        t->row = row;
        t->pos = pos;
        t->has_pos = has_pos;
        t->led = led;
        reason_own_fills_only(reason, sizeof reason, held, t->row.symbol,
                              "its closing fills could not be recorded");
        complete(p, t, reason, true);
        return;
    }
    money_format_trim(held, 0, qb, sizeof qb);
    if (found == 0)
        reason_own_fills_only(reason, sizeof reason, held, t->row.symbol,
                              "the broker shows no closing fill outside apex-host's orders");
    else if (found < held)
        snprintf(reason, sizeof reason,
                 "closed_at_broker: the position (%s %s) was closed outside apex-host; the "
                 "broker's closing fills found cover only %s of it: the realized P&L counts "
                 "apex-host's fills and those",
                 qb, t->row.symbol, money_format_trim(found, 0, fb, sizeof fb));
    else
        snprintf(reason, sizeof reason,
                 "closed_at_broker: the position (%s %s) was closed outside apex-host; its "
                 "closing fills came from the broker (%d fill%s) and count in the realized P&L",
                 qb, t->row.symbol, nrec, nrec == 1 ? "" : "s");
    complete(p, t, reason, true);
    if (pipeline_durable(p, store_unit_commit(db, &p->werr),
                         "completing an execution closed at the broker"))
        store_unit_abort(db, NULL);
    pipeline_check_circuit(p); /* a loss realized by hand counts toward the daily limit */
}

void pipeline_flat_at_broker(pipeline *p, trade *t)
{
    if (trade_is_finished(t) || t->finding_close)
        return; /* the broker is being asked already: its answer completes t */
    if (t->exit_reason[0] || t->led.qty == 0) {
        pipeline_complete(p, t); /* our own fills closed it: nothing to learn */
        return;
    }
    /* Closed outside apex-host (by hand in Alpaca's web UI, or by the broker): its closing
     * fills are no order of ours, so the listener never heard them. Ask the broker for
     * them, so the ledger, the realized P&L and the fees are what the broker did. */
    t->finding_close = true;
    int rc = exec_find_external_close(p->exec, t, on_external_close, p);
    if (rc == 0)
        return;
    t->finding_close = false;
    exec_external_close c = {.status = rc, .held = t->led.qty < 0 ? -t->led.qty : t->led.qty};
    snprintf(c.error, sizeof c.error, "%s", err_name(rc));
    on_external_close(p, t, &c);
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
            pipeline_trade_unlink(p, t);
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

void pipeline_record_fill_equity(pipeline *p, const broker_fill *f)
{
    /* Live, the broker's account is the truth (other pipelines, transfers, a restart's
     * positions): ask it, at the lowest urgency; fills are few. */
    if (!p->hs->backtest) {
        pipeline_request_equity(p);
        return;
    }
    /* A backtest's account is simulated from these very fills, so its cash follows from
     * them exactly, and asking would cost a broker call per fill. */
    if (p->sum.start_equity <= 0)
        return;
    money_t value = 0;
    if (money_mul(f->qty, f->price, MONEY_ROUND_NEAREST, &value) != 0)
        return;
    p->cash_mark += f->side == SIDE_BUY ? -value - f->fee : value - f->fee;
    store_equity_insert(p->hs->db, clock_now(p->hs->clock), p->cfg.name, p->cash_mark,
                        p->sum.start_equity + p->mark, NULL);
}

/* The predicate behind the open count; a trade's answer changes only where its status,
 * its fills or its sizing change, and each of those places calls pipeline_trade_recount,
 * so that counting costs nothing per entry (a scan of every trade per entry was 8% of a
 * backtest that opens 10,000 positions). */
static bool trade_counts_open(const trade *t)
{
    return !trade_is_finished(t) &&
           (t->row.status == EXEC_MONITORING || t->led.qty != 0 || t->sized);
}

void pipeline_trade_recount(pipeline *p, trade *t)
{
    bool open = trade_counts_open(t);
    if (open != t->counted_open) {
        p->open_count += open ? 1 : -1;
        t->counted_open = open;
    }
}

#if !defined(NDEBUG) || defined(APEX_FORCE_ASSERT)
static int open_positions_scan(const pipeline *p)
{
    int n = 0;
    for (const trade *t = p->trades; t; t = t->next)
        n += trade_counts_open(t);
    return n;
}
#endif

int pipeline_open_positions(const pipeline *p)
{
    APEX_ASSERT(p->open_count == open_positions_scan(p));
    return p->open_count;
}

void pipeline_trade_link(pipeline *p, trade *t)
{
    t->next = p->trades;
    p->trades = t;
    /* A table that cannot grow leaves the trade findable by a scan (below). */
    if (hmap_insert(&p->trades_by_id, (const char *)&t->row.id, sizeof t->row.id,
                    (hmap_value){.ptr = t}) == APEX_ENOMEM)
        p->trades_unindexed = true;
    pipeline_trade_recount(p, t);
}

void pipeline_trade_unlink(pipeline *p, trade *t)
{
    if (t->counted_open) {
        p->open_count--;
        t->counted_open = false;
    }
    hmap_remove(&p->trades_by_id, (const char *)&t->row.id, sizeof t->row.id);
}

trade *pipeline_trade_by_id(const pipeline *p, int64_t id)
{
    hmap_entry *e = hmap_find(&p->trades_by_id, (const char *)&id, sizeof id);
    if (e || !p->trades_unindexed)
        return e ? e->value.ptr : NULL;
    for (trade *t = p->trades; t; t = t->next)
        if (t->row.id == id)
            return t;
    return NULL;
}
