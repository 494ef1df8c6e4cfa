/* snapshot: copies of a pipeline's live state for readers off the trading path. */
#include "pipeline/snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/pipeline_internal.h"
#include "util/err.h"

static void copy_trade(const trade *t, trade_snapshot *out)
{
    memset(out, 0, sizeof *out);
    out->execution_id = t->row.id;
    snprintf(out->symbol, sizeof out->symbol, "%s", t->row.symbol);
    out->status = t->row.status;
    out->side = t->has_pos ? t->pos.side : t->row.side;
    out->qty = t->led.qty;
    out->entry_price = t->has_pos ? t->pos.entry_price : 0;
    out->current_price = t->pos.current_price;
    out->unrealized_pnl = t->pos.unrealized_pnl;
    out->unrealized_pnl_pct = t->pos.unrealized_pnl_pct;
    out->realized_pnl = t->led.realized;
    out->stop_loss = t->row.stop_loss;
    out->take_profit = t->row.take_profit;
    out->trailing_active = t->pos.trailing_stop_active;
    out->trailing_stop = t->pos.trailing_stop_price;
    out->next_check_at = clock_timer_active(&t->check_timer) ? t->check_timer.due : 0;
    out->monitor_interval_s = t->row.monitor_interval_s;
    out->exiting = t->closing;
    snprintf(out->reason, sizeof out->reason, "%s", t->row.reason);
}

int pipeline_snapshot_take(const pipeline *p, pipeline_snapshot *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", p->cfg.name);
    snprintf(out->trading_state, sizeof out->trading_state, "%s",
             trading_state_name(p->circuit.state));
    out->as_of = clock_now(p->hs->clock);
    out->sum = p->sum;
    out->sum.write_error = NULL; /* points into the pipeline; copied below instead */
    out->mark = p->mark;
    out->peak_mark = p->peak_mark;
    out->last_bar_ts = p->last_ts;
    out->bar_interval = p->bar_interval;
    out->live_feed = pipeline_live_feed(p);
    out->follow = p->cfg.data.follow;
    out->live_up = p->live_up;
    snprintf(out->live_status, sizeof out->live_status, "%s", p->live_status);
    snprintf(out->broker_kind, sizeof out->broker_kind, "%s",
             p->cfg.broker.kind == BROKER_KIND_PAPER ? "paper" : "alpaca");
    if (p->write_failed) {
        out->entries_halted = true;
        snprintf(out->halt_reason, sizeof out->halt_reason, "a durable write failed: %s",
                 p->write_error);
    } else if (!risk_circuit_allows_entries(&p->circuit)) {
        char lb[32], mb[32];
        out->entries_halted = true;
        snprintf(out->halt_reason, sizeof out->halt_reason,
                 "daily loss %s reached the limit %s; entries resume on the next trading day",
                 money_format_trim(p->circuit.loss, 2, lb, sizeof lb),
                 money_format_trim(p->circuit.limit, 2, mb, sizeof mb));
    }
    int n = 0;
    for (const trade *t = p->trades; t; t = t->next)
        if (!trade_is_finished(t))
            n++;
    if (n == 0)
        return 0;
    out->trades = calloc((size_t)n, sizeof *out->trades);
    if (!out->trades)
        return APEX_ENOMEM;
    for (const trade *t = p->trades; t; t = t->next)
        if (!trade_is_finished(t)) {
            copy_trade(t, &out->trades[out->ntrades++]);
            if (t->row.retry_count > 0)
                out->broker_retrying++;
        }
    return 0;
}

void pipeline_snapshot_free(pipeline_snapshot *s)
{
    free(s->trades);
    s->trades = NULL;
    s->ntrades = 0;
}
