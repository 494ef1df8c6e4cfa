/* position_hooks: everything after the entry reports back to the pipeline here.
 *
 *   exec (the broker listener)   on_fill, on_order
 *   the monitor                  evaluate_exit on every check, on_flat when closed
 *   the exit executor            quote, exit_done
 *
 * (A close the strategy returns from on_bar goes to the executor from strategy_exit.c; one
 * that had to wait starts from evaluate_exit.)
 *
 * The exit path is: a monitor check -> evaluate_exit (exits/inputs.c assembles the
 * input, the evaluator decides) -> the exit executor works orders -> fills arrive via
 * on_fill -> the monitor confirms the position flat -> pipeline_complete. */
#include <stdio.h>
#include <string.h>

#include "pipeline/pipeline_internal.h"
#include "util/err.h"
#include "util/log.h"

static char *fmt_money(money_t v, char *buf, size_t n)
{
    return money_format_trim(v, 2, buf, n);
}

/* ---- exec: fills and order updates ---- */

static trade *find_trade(void *ud, int64_t id)
{
    return pipeline_trade_by_id(ud, id);
}

/* The fill's notification is queued in the fill's own unit (exec_hooks.in_fill_unit). */
static void fill_in_unit(void *ud, trade *t, const broker_fill *f, const store_order *o)
{
    pipeline_notify_fill(ud, t, f, o);
}

static void on_fill(void *ud, trade *t, const broker_fill *f, const store_order *o)
{
    pipeline *p = ud;
    pipeline_trade_recount(p, t); /* its ledger has the fill */
    char qb[32], pb[32], fb[32], rb[32];
    log_event("%-13s FILL     %-5s %s %s @ %s fee %s (%s)  realized %s", p->cfg.name, f->symbol,
              order_side_name(f->side), money_format_trim(f->qty, 0, qb, sizeof qb),
              fmt_money(f->price, pb, sizeof pb), fmt_money(f->fee, fb, sizeof fb),
              order_role_name(o->o.role), fmt_money(t->led.realized, rb, sizeof rb));
    if (!t->exit_reason[0] && t->led.qty == 0) {
        if (o->o.role == ORDER_ROLE_TAKE_PROFIT)
            snprintf(t->exit_reason, sizeof t->exit_reason, "take_profit leg filled at %s",
                     fmt_money(f->price, pb, sizeof pb));
        else if (o->o.role == ORDER_ROLE_STOP_LOSS)
            snprintf(t->exit_reason, sizeof t->exit_reason, "stop_loss leg filled at %s",
                     fmt_money(f->price, pb, sizeof pb));
    }
    /* Equity is marked on every fill: a loss realized between bars is in the drawdown. */
    pipeline_mark_equity(p, t, f->price);
    pipeline_record_fill_equity(p, f);
    pipeline_portfolio_update(p, t);
    pipeline_check_circuit(p);
    script_position view;
    exits_position_view(t, &view);
    char err[512];
    if (script_on_fill(p->scripts, &view, f->side, f->qty, f->price, err, sizeof err) != 0)
        pipeline_script_error(p, t, SCRIPT_STAGE_NOTIFY, err);
    exit_executor_on_fill(p->exits, t, f, o);
    if (t->has_pos && t->led.qty == 0) {
        /* A backtest's broker is the simulation: its fills are the whole truth, so the
         * position the fills closed is closed now, and on_bar of the bar whose open closed
         * it can open the next trade (as backtrader's next() can). Live, the broker
         * confirms the close first. */
        if (p->hs->backtest && p->sim_feed && !trade_is_finished(t))
            pipeline_complete(p, t);
        else
            monitor_check_soon(p->mon, t);
    }
}

static void on_order(void *ud, trade *t, const store_order *o)
{
    pipeline *p = ud;
    exit_executor_on_order(p->exits, t, o);
    bool dead = o->o.status == ORDER_STATUS_REJECTED || o->o.status == ORDER_STATUS_CANCELLED ||
                o->o.status == ORDER_STATUS_EXPIRED;
    if (o->o.role == ORDER_ROLE_ENTRY && dead && t->led.qty == 0 && !trade_is_finished(t) &&
        !pipeline_entry_expired(p, t, o))
        pipeline_set_status(p, t, EXEC_FAILED, "entry order %s was %s%s%s", o->o.client_order_id,
                            order_status_name(o->o.status), o->o.reason[0] ? ": " : "",
                            o->o.reason);
}

exec_hooks pipeline_exec_hooks(pipeline *p)
{
    return (exec_hooks){.find_trade = find_trade,
                        .on_fill = on_fill,
                        .in_fill_unit = fill_in_unit,
                        .on_order = on_order,
                        .ud = p};
}

/* ---- the monitor: checks and closure ---- */

static void on_flat(void *ud, trade *t)
{
    pipeline_flat_at_broker(ud, t);
}

/* The best opportunity among traded symbols without a position, asked of the strategy
 * only when the pipeline is full (that is when rebalancing can matter), once per bar. */
static bool best_other_opportunity(void *ud, money_t *best)
{
    pipeline *p = ud;
    apex_time now = clock_now(p->hs->clock);
    if (p->best_other_at == now) {
        *best = p->best_other;
        return p->has_best_other;
    }
    p->best_other_at = now;
    p->has_best_other = false;
    char err[512];
    for (int id = 0; id < p->syms.count; id++) {
        if (!p->syms.items[id].traded || p->syms.items[id].active)
            continue;
        money_t score;
        bool has = false;
        if (script_opportunity(p->scripts, symtab_name(p->hs->symbols, id), &score, &has, err,
                               sizeof err) != 0) {
            pipeline_script_error(p, NULL, SCRIPT_STAGE_EDGE, err);
            continue;
        }
        if (!has)
            continue;
        if (!p->has_best_other || score > p->best_other) {
            p->best_other = score;
            p->has_best_other = true;
        }
    }
    *best = p->best_other;
    return p->has_best_other;
}

/* The monitor's exit hook: the ten conditions of seed 003, then the executor. */
static void evaluate_exit(void *ud, trade *t, const broker_quote *q)
{
    pipeline *p = ud;
    if (!t->has_pos || t->led.qty == 0 || q->last <= 0)
        return;
    pipeline_close_request_check(p, t); /* a close asked for by hand comes first */
    exit_context ctx = {.cfg = &p->cfg,
                        .scripts = p->scripts,
                        .script_error = pipeline_script_error,
                        .strategy_has_edge = p->strategy_has_edge,
                        .strategy_has_opportunity = p->strategy_has_opportunity,
                        .circuit_tripped = p->circuit.close_all,
                        .circuit_why = pipeline_portfolio_close_why(p),
                        .session_timed = pipeline_session_timed(p),
                        .session_close = pipeline_session_close(p, clock_now(p->hs->clock)),
                        .open_positions =
                            p->strategy_has_opportunity ? pipeline_open_positions(p) : 0,
                        .best_other = best_other_opportunity,
                        .ud = p};
    exit_input in;
    exits_build_input(&ctx, t, q, clock_now(p->hs->clock), &in, &p->rule);
    /* A series that never traded volume (an index, FX) has none to dry up. */
    const price_entry *pe = in.volume == 0 ? price_table_get(p->hs->prices, t->symbol_id) : NULL;
    if (pe && !pe->has_volume)
        in.volume = -1;
    money_instrument rules = config_instrument(&p->cfg, t->row.symbol);
    pipeline_history_inputs(p, t, &in);
    in.strategy_stop = t->strategy_stop;
    pipeline_strategy_stop(p, t, &in);
    if (exits_update_trailing(&p->cfg.exits, rules, &in)) {
        t->strategy_stop = in.strategy_stop;
        bool armed_now = in.trailing_active && !t->pos.trailing_stop_active;
        t->pos.trailing_stop_active = in.trailing_active;
        t->pos.trailing_stop_price = in.trailing_stop;
        t->pos.peak_price = in.peak_price;
        pipeline_durable(p, store_position_update(p->hs->db, &t->pos, &p->werr),
                         "recording the trailing stop");
        if (armed_now) {
            char sb[32];
            log_event("%-13s TRAIL    %-5s trailing stop armed at %s", p->cfg.name, t->row.symbol,
                      money_format_trim(in.trailing_stop, 2, sb, sizeof sb));
        }
    }
    t->pos.peak_price = in.peak_price;
    exit_decision d, close;
    exits_evaluate(&p->cfg.exits, rules, &in, &d);
    if (pipeline_strategy_close_due(p, t, &d, &close))
        d = close;
    if (d.condition == EXIT_NONE)
        return;
    exit_executor_start(p->exits, t, &d, q->last);
}

static trade *first_trade(void *ud)
{
    pipeline *p = ud;
    return p->trades;
}

/* The broker has been failing this execution's checks through the whole backoff: the
 * terminal and the notifier are told. */
static void on_outage(void *ud, trade *t, int failures, const char *error)
{
    pipeline *p = ud;
    char text[700];
    snprintf(text, sizeof text,
             "the broker failed %d checks in a row (%s); the execution is flagged and still "
             "monitored",
             failures, error);
    log_event("%-13s OUTAGE   %-5s %s", p->cfg.name, t->row.symbol, text);
    pipeline_notify_text(p, NOTIFY_BROKER_OUTAGE, t, text);
}

/* The monitor's periodic reconciliation asks exec about t's orders. */
static int reconcile_orders(void *ud, trade *t, exec_done_cb done, void *done_ud)
{
    pipeline *p = ud;
    return exec_reconcile_periodic(p->exec, t, done, done_ud);
}

monitor_hooks pipeline_monitor_hooks(pipeline *p)
{
    return (monitor_hooks){.on_flat = on_flat,
                           .evaluate_exit = evaluate_exit,
                           .first_trade = first_trade,
                           .next_time_due = pipeline_next_time_due,
                           .on_outage = on_outage,
                           .reconcile_orders = reconcile_orders,
                           .ud = p};
}

/* ---- the exit executor ---- */

static int exit_quote(void *ud, const trade *t, money_t *last, money_t *bid, money_t *ask)
{
    pipeline *p = ud;
    broker_quote q;
    /* A cached quote, else a simulating broker's own (the price it will fill against; bars
     * without bid/ask get its assumed spread): the cache was emptied by the newest bar. */
    if (price_cache_get(monitor_prices(p->mon), t->symbol_id, clock_now(p->hs->clock), &q) == 0 ||
        (p->sim_feed && broker_sim_quote(p->brk, t->row.symbol, &q) == 0)) {
        *last = q.last;
        *bid = q.bid;
        *ask = q.ask;
        return 0;
    }
    const price_entry *e = price_table_get(p->hs->prices, t->symbol_id);
    if (!e)
        return APEX_ENOTFOUND;
    *last = e->last;
    *bid = e->bid;
    *ask = e->ask;
    return 0;
}

/* An exit's notifications are queued in the unit of its final row (in_done_unit). */
static void exit_in_unit(void *ud, trade *t, const store_position_exit *row)
{
    pipeline_notify_exit_done(ud, t, row);
}

static void exit_done(void *ud, trade *t, const store_position_exit *row)
{
    pipeline *p = ud;
    char fb[32], qb[32], pb[32];
    log_event("%-13s EXIT     %-5s %s %s: %s of %s at %s after %d order(s)", p->cfg.name,
              t->row.symbol, row->exit_reason, exit_status_name(row->status),
              money_format_trim(row->filled_quantity, 0, fb, sizeof fb),
              money_format_trim(row->exit_quantity, 0, qb, sizeof qb),
              money_format_trim(row->exit_price, 2, pb, sizeof pb), row->attempts);
    if (row->status == EXIT_STATUS_FILLED && t->led.qty == 0 && !t->exit_reason[0])
        snprintf(t->exit_reason, sizeof t->exit_reason, "%s (%s)", row->detail,
                 exit_priority_name(row->exit_priority));
    if (t->led.qty == 0 || pipeline_strategy_close_waiting(p, t))
        monitor_check_soon(p->mon, t); /* completes it, or starts the close that waited */
}

static void exit_write_error(void *ud, int rc, const char *what, const char *msg)
{
    pipeline_durable_msg(ud, rc, what, msg);
}

exit_hooks pipeline_exit_hooks(pipeline *p)
{
    return (exit_hooks){.quote = exit_quote,
                        .on_done = exit_done,
                        .in_done_unit = exit_in_unit,
                        .on_write_error = exit_write_error,
                        .ud = p};
}

/* ---- the circuit breaker ---- */

void pipeline_check_circuit(pipeline *p)
{
    pipeline_portfolio_drawdown(p);
    if (!risk_circuit_check(&p->circuit, &p->cfg.risk, p->sum.start_equity, p->mark))
        return;
    char lb[32], mb[32];
    money_format_trim(p->circuit.loss, 2, lb, sizeof lb);
    money_format_trim(p->circuit.limit, 2, mb, sizeof mb);
    log_event("%-13s RISK     daily loss %s reached the limit %s: closing every position; "
              "no new entries until the next trading day",
              p->cfg.name, lb, mb);
    char text[200];
    snprintf(text, sizeof text,
             "daily loss %s reached the limit %s: closing every position; no new entries until "
             "the next trading day",
             lb, mb);
    pipeline_notify_text(p, NOTIFY_CIRCUIT_BREAKER, NULL, text);
    pipeline_durable(p,
                     store_event(p->hs->db, clock_now(p->hs->clock), p->cfg.name, 0,
                                 "circuit_breaker", &p->werr,
                                 "daily loss %s reached the limit %s (risk.daily_loss_limit_pct); "
                                 "closing every position, entries blocked until the next trading "
                                 "day",
                                 lb, mb),
                     "recording the circuit breaker");
    for (trade *t = p->trades; t; t = t->next)
        if (!trade_is_finished(t) && t->has_pos && t->led.qty != 0)
            monitor_check_soon(p->mon, t);
}
