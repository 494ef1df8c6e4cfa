/* inputs: the evaluator's input, from the trade, the quote and the strategy. */
#include "exits/inputs.h"

#include <stdio.h>
#include <string.h>

#include "util/log.h"
#include "util/str.h"

apex_time exits_next_session_close(const exits_config *cfg, apex_time now)
{
    apex_time day0 = now - now % APEX_DAY;
    apex_time close = day0 + (apex_time)cfg->session_close_minute_utc * APEX_MINUTE;
    return now < close ? close : close + APEX_DAY;
}

void exits_position_view(const trade *t, script_position *out)
{
    memset(out, 0, sizeof *out);
    out->execution_id = t->row.id;
    str_copy(out->symbol, sizeof out->symbol, t->row.symbol);
    out->side = t->has_pos ? t->pos.side : t->row.side;
    out->qty = t->has_pos ? t->pos.qty : 0;
    out->entry_price = t->has_pos ? t->pos.entry_price : 0;
    out->current_price = t->pos.current_price;
    out->unrealized_pnl = t->pos.unrealized_pnl;
    out->unrealized_pnl_pct = t->pos.unrealized_pnl_pct;
    out->stop_loss = t->row.stop_loss;
    out->take_profit = t->row.take_profit;
    out->trailing_stop = t->has_pos && t->pos.trailing_stop_active ? t->pos.trailing_stop_price : 0;
    out->opened_at = t->pos.opened_at;
}

/* The rebalance inputs: this position's score against the best free one, when the
 * pipeline is full (only then can switching matter). */
static void rebalance_input(const exit_context *ctx, const trade *t, exit_input *in)
{
    if (!ctx->strategy_has_opportunity || ctx->open_positions < ctx->cfg->risk.max_positions)
        return;
    money_t mine = 0, best = 0;
    bool has_mine = false;
    char err[512];
    if (script_opportunity(ctx->scripts, t->row.symbol, &mine, &has_mine, err, sizeof err) != 0) {
        ctx->script_error(ctx->ud, t, SCRIPT_STAGE_EDGE, err);
        return;
    }
    if (has_mine && ctx->best_other && ctx->best_other(ctx->ud, &best)) {
        in->has_rebalance = true;
        in->position_score = mine;
        in->best_other_score = best;
    }
}

static void rules_input(const exit_context *ctx, const trade *t, const script_position *view,
                        exit_input *in, exit_rule_scratch *scratch)
{
    if (script_rules_count(ctx->scripts) == 0)
        return;
    char err[512];
    int rc = script_rules_check(ctx->scripts, view, &scratch->hit, err, sizeof err);
    if (rc < 0) {
        ctx->script_error(ctx->ud, t, SCRIPT_STAGE_RULES, err);
    } else if (rc == 1) {
        snprintf(scratch->reason, sizeof scratch->reason, "instruction \"%s\": %s",
                 scratch->hit.rule, scratch->hit.reason);
        in->rule_fired = true;
        in->rule_reason = scratch->reason;
    }
}

void exits_build_input(const exit_context *ctx, const trade *t, const broker_quote *q,
                       apex_time now, exit_input *in, exit_rule_scratch *scratch)
{
    memset(in, 0, sizeof *in);
    in->side = t->led.qty > 0 ? SIDE_BUY : SIDE_SELL;
    in->qty = t->led.qty > 0 ? t->led.qty : -t->led.qty;
    in->initial_qty = t->pos.initial_qty;
    in->entry_price = t->pos.entry_price;
    in->stop_loss = t->row.stop_loss;
    in->take_profit = t->row.take_profit;
    in->price = q->last;
    /* A spread the simulation assumed is no sign of a market drying up. */
    in->bid = q->quoted ? q->bid : 0;
    in->ask = q->quoted ? q->ask : 0;
    in->volume = q->volume;
    in->now = now;
    in->session_close = !ctx->session_timed      ? 0
                        : ctx->session_close > 0 ? ctx->session_close
                                                 : exits_next_session_close(&ctx->cfg->exits, now);
    in->trailing_active = t->pos.trailing_stop_active;
    in->peak_price = t->pos.peak_price;
    in->trailing_stop = t->pos.trailing_stop_price;
    in->partial_done = t->pos.partial_stages_done;
    in->circuit_tripped = ctx->circuit_tripped;
    in->circuit_why = ctx->circuit_why;

    script_position view;
    exits_position_view(t, &view);
    view.current_price = q->last;
    char err[512];
    if (ctx->strategy_has_edge &&
        script_edge(ctx->scripts, &view, &in->edge, &in->has_edge, err, sizeof err) != 0) {
        in->has_edge = false;
        ctx->script_error(ctx->ud, t, SCRIPT_STAGE_EDGE, err);
    }
    rebalance_input(ctx, t, in);
    rules_input(ctx, t, &view, in, scratch);
}
