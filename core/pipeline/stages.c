/* stages: the execute phase of an execution (bias -> strategy -> risk -> trade
 * manager), the hooks that turn fills and monitor checks into status changes, and
 * restart resumption. Everything that talks to the broker is asynchronous, so each
 * stage that needs the broker is a callback continuing the chain. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/pipeline_internal.h"
#include "broker/limited.h"
#include "risk/risk.h"
#include "util/err.h"
#include "util/log.h"

static char *fmt_money(money_t v, char *buf, size_t n)
{
    return money_format_trim(v, 2, buf, n);
}

trade *stages_trade_new(pipeline *p, int symbol_id)
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
    apex_error err;
    if (store_execution_insert(p->hs->db, r, &err) != 0) {
        log_error("%s: cannot record a new execution: %s", p->cfg.name, err.msg);
        free(t);
        return NULL;
    }
    t->next = p->trades;
    p->trades = t;
    p->sum.executions++;
    return t;
}

void stages_set_status(pipeline *p, trade *t, exec_status st, const char *fmt, ...)
{
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
    store_execution_update(p->hs->db, &t->row, NULL);
    store_event(p->hs->db, now, p->cfg.name, t->row.id, "status", NULL, "%s %s -> %s%s%s",
                t->row.symbol, exec_status_name(old), exec_status_name(st), fmt ? ": " : "",
                fmt ? t->row.reason : "");
    if (!exec_status_is_final(st))
        return;
    monitor_unwatch(p->mon, t);
    if (t->symbol_id < p->nsyms && p->syms[t->symbol_id].active == t) {
        p->syms[t->symbol_id].active = NULL;
        p->mark -= p->syms[t->symbol_id].unrealized;
        p->syms[t->symbol_id].unrealized = 0;
    }
    t->finished = true;
    p->finished_trades++;
    if (st == EXEC_SKIPPED)
        p->sum.skipped++;
    else if (st == EXEC_FAILED)
        p->sum.failed++;
}

/* Finished trades are freed here, outside any callback that might still touch them. */
void stages_sweep(pipeline *p)
{
    if (!p->finished_trades)
        return;
    for (trade **pp = &p->trades; *pp;) {
        trade *t = *pp;
        if (t->finished && t->pending == 0) {
            *pp = t->next;
            free(t);
            p->finished_trades--;
        } else {
            pp = &t->next;
        }
    }
}

void stages_position_view(const trade *t, script_position *out)
{
    memset(out, 0, sizeof *out);
    out->execution_id = t->row.id;
    snprintf(out->symbol, sizeof out->symbol, "%s", t->row.symbol);
    out->side = t->has_pos ? t->pos.side : t->row.side;
    out->qty = t->has_pos ? t->pos.qty : 0;
    out->entry_price = t->has_pos ? t->pos.entry_price : 0;
    out->current_price = t->pos.current_price;
    out->unrealized_pnl = t->pos.unrealized_pnl;
    out->unrealized_pnl_pct = t->pos.unrealized_pnl_pct;
    out->stop_loss = t->row.stop_loss;
    out->take_profit = t->row.take_profit;
    out->opened_at = t->pos.opened_at;
}

/* A script error outside any execution (on_bar) still fails "its own execution": we
 * record one failed execution carrying the error, once per distinct message, so a
 * script failing on every bar does not flood the store. */
void stages_record_script_error(pipeline *p, int symbol_id, const char *stage, const char *err)
{
    sym_state *s = &p->syms[symbol_id];
    if (strncmp(s->last_error, err, sizeof s->last_error - 1) == 0)
        return; /* the same failure again: already recorded and reported */
    log_error("%s %s: %s stage failed: %s", p->cfg.name, symtab_name(p->hs->symbols, symbol_id),
              stage, err);
    snprintf(s->last_error, sizeof s->last_error, "%s", err);
    trade *t = stages_trade_new(p, symbol_id);
    if (!t)
        return;
    stages_set_status(p, t, EXEC_RUNNING, NULL);
    stages_set_status(p, t, EXEC_FAILED, "%s stage: %s", stage, err);
}

/* ---- the execute phase ---- */

static money_t offset_price(money_t price, money_t pct, int direction, money_instrument rules)
{
    money_t delta = 0;
    money_mul(price, pct, MONEY_ROUND_NEAREST, &delta);
    return money_round_to(price + direction * delta, rules.tick, MONEY_ROUND_NEAREST);
}

typedef struct {
    money_t entry; /* reference price for sizing */
} stage_data;

static void fail_or_skip_on_reply(pipeline *p, trade *t, const broker_reply *r, const char *what)
{
    stages_set_status(p, t, EXEC_FAILED, "trade manager: %s: %s", what,
                      r->error[0] ? r->error : err_name(r->status));
    log_event("%-13s FAILED   %-5s %s", p->cfg.name, t->row.symbol, t->row.reason);
}

static void on_entry_sent(void *ud, trade *t, int status, const char *msg)
{
    pipeline *p = ud;
    if (t->finished)
        return;
    char qb[32];
    if (status != 0) {
        stages_set_status(p, t, EXEC_FAILED, "broker rejected the entry: %s",
                          msg ? msg : err_name(status));
        log_event("%-13s FAILED   %-5s %s", p->cfg.name, t->row.symbol, t->row.reason);
        return;
    }
    stages_set_status(p, t, EXEC_MONITORING, NULL);
    monitor_watch(p->mon, t, 0);
    log_event("%-13s ORDER    %-5s %s %s bracket %s accepted; monitoring every %d s", p->cfg.name,
              t->row.symbol, order_side_name(t->row.side),
              money_format_trim(t->row.qty, 0, qb, sizeof qb), t->entry_coid,
              p->cfg.monitoring.normal_frequency_s);
}

static void submit_entry(pipeline *p, trade *t, money_t entry_ref)
{
    order_request req = {0};
    snprintf(req.symbol, sizeof req.symbol, "%s", t->row.symbol);
    req.side = (order_side)t->row.side;
    req.qty = t->row.qty;
    if (p->cfg.execution.entry == ENTRY_LIMIT) {
        req.type = ORDER_LIMIT;
        req.limit_price = entry_ref;
    } else {
        req.type = ORDER_MARKET;
    }
    req.take_profit = t->row.take_profit;
    req.stop_loss = t->row.stop_loss;
    int rc = exec_send(p->exec, t, ORDER_ROLE_ENTRY, &req, on_entry_sent, p);
    if (rc != 0) {
        stages_set_status(p, t, EXEC_FAILED, "trade manager: could not send the entry (%s): %s",
                          err_name(rc), store_errmsg(p->hs->db));
        log_event("%-13s FAILED   %-5s %s", p->cfg.name, t->row.symbol, t->row.reason);
    }
}

static void skip(pipeline *p, trade *t, const char *reason)
{
    stages_set_status(p, t, EXEC_SKIPPED, "%s", reason);
    log_event("%-13s SKIP     %-5s %s", p->cfg.name, t->row.symbol, reason);
}

typedef struct {
    pipeline *p;
    trade *t;
    money_t entry_ref;
} chain;

static chain *chain_new(pipeline *p, trade *t, money_t entry_ref)
{
    chain *c = malloc(sizeof *c);
    if (c) {
        c->p = p;
        c->t = t;
        c->entry_ref = entry_ref;
        t->pending++;
    }
    return c;
}

/* Ends a chain step: returns the trade if it is still live, else NULL. */
static trade *chain_step(chain *c)
{
    c->t->pending--;
    return c->t->finished ? NULL : c->t;
}

static void on_dup_orders(void *ud, const broker_reply *r)
{
    chain *c = ud;
    pipeline *p = c->p;
    trade *t = chain_step(c);
    money_t entry_ref = c->entry_ref;
    free(c);
    if (!t)
        return;
    if (r->status != 0) {
        fail_or_skip_on_reply(p, t, r, "could not list open orders at the broker");
        return;
    }
    if (r->norders > 0) {
        char why[256], qb[32];
        const broker_order *o = &r->orders[0];
        snprintf(why, sizeof why,
                 "duplicate: the broker has %d open order(s) for %s (e.g. %s %s %s, id %s)",
                 r->norders, t->row.symbol, order_side_name(o->side),
                 fmt_money(o->qty, qb, sizeof qb), order_type_name(o->type), o->client_order_id);
        skip(p, t, why);
        return;
    }
    submit_entry(p, t, entry_ref);
}

static void on_dup_position(void *ud, const broker_reply *r)
{
    chain *c = ud;
    pipeline *p = c->p;
    trade *t = chain_step(c);
    if (!t) {
        free(c);
        return;
    }
    if (r->status != 0 && r->status != APEX_ENOTFOUND) {
        free(c);
        fail_or_skip_on_reply(p, t, r, "could not check the broker for an existing position");
        return;
    }
    if (r->npositions > 0 && r->positions[0].qty != 0) {
        char why[256], qb[32], pb[32];
        const broker_position *bp = &r->positions[0];
        snprintf(why, sizeof why,
                 "duplicate: the broker already holds %s %s (qty %s @ %s), opened outside "
                 "this execution (by hand or by another pipeline)",
                 bp->qty > 0 ? "a long" : "a short", t->row.symbol,
                 fmt_money(bp->qty, qb, sizeof qb), fmt_money(bp->avg_entry_price, pb, sizeof pb));
        free(c);
        skip(p, t, why);
        return;
    }
    t->pending++;
    if (broker_list_open_orders(p->brk, t->row.symbol, on_dup_orders, c) != 0) {
        t->pending--;
        free(c);
        stages_set_status(p, t, EXEC_FAILED, "trade manager: broker refused list_open_orders");
    }
}

static int count_open_positions(const pipeline *p)
{
    int n = 0;
    for (const trade *t = p->trades; t; t = t->next)
        if (!t->finished && (t->row.status == EXEC_MONITORING || t->led.qty != 0))
            n++;
    return n;
}

static void on_account(void *ud, const broker_reply *r)
{
    chain *c = ud;
    pipeline *p = c->p;
    trade *t = chain_step(c);
    if (!t) {
        free(c);
        return;
    }
    if (r->status != 0 || !r->account) {
        free(c);
        stages_set_status(p, t, EXEC_FAILED, "risk stage: broker account unavailable: %s",
                          r->error[0] ? r->error : err_name(r->status));
        return;
    }
    risk_input in = {0};
    in.capital = p->cfg.risk.capital ? p->cfg.risk.capital : r->account->equity;
    in.buying_power = r->account->buying_power;
    in.equity = r->account->equity;
    in.open_positions = count_open_positions(p); /* this execution is not open yet */
    in.entry = c->entry_ref;
    in.stop = t->row.stop_loss;
    in.requested_qty = t->row.qty;
    in.rules = config_instrument(&p->cfg, t->row.symbol);
    in.day_trades = r->account->day_trades;
    in.circuit_open = p->circuit_tripped;
    risk_decision d;
    char err[256];
    if (risk_size(&p->cfg.risk, &in, &d, err, sizeof err) != 0) {
        free(c);
        stages_set_status(p, t, EXEC_FAILED, "risk stage: %s", err);
        return;
    }
    if (d.qty == 0) {
        free(c);
        char why[300];
        snprintf(why, sizeof why, "risk: %s", d.skip_reason);
        skip(p, t, why);
        return;
    }
    char qb[32], rb[32], cb[32];
    t->row.qty = d.qty;
    store_event(p->hs->db, clock_now(p->hs->clock), p->cfg.name, t->row.id, "risk", NULL,
                "%s size %s = min(by risk %s, by capital %s)%s%s", t->row.symbol,
                money_format_trim(d.qty, 0, qb, sizeof qb),
                money_format_trim(d.shares_by_risk, 0, rb, sizeof rb),
                money_format_trim(d.shares_by_capital, 0, cb, sizeof cb), d.note[0] ? "; " : "",
                d.note);
    t->pending++;
    if (broker_get_position(p->brk, t->row.symbol, on_dup_position, c) != 0) {
        t->pending--;
        free(c);
        stages_set_status(p, t, EXEC_FAILED, "trade manager: broker refused get_position");
    }
}

void stages_on_signal(pipeline *p, int symbol_id, const script_signal *sig, const bar *b)
{
    sym_state *s = &p->syms[symbol_id];
    p->sum.signals++;
    if (s->active) {
        p->sum.signals_ignored++; /* already trading this symbol: not a new execution */
        return;
    }
    /* Acting on a signal moves the restart cursor to this bar first, so a restarted host
     * never acts on the same bar twice (bars up to the cursor are warm-up only). */
    if (!p->hs->backtest)
        store_cursor_set(p->hs->db, p->cfg.name, b->ts, NULL);
    trade *t = stages_trade_new(p, symbol_id);
    if (!t)
        return;
    s->active = t;
    s->last_error[0] = '\0';
    char pb[32], sb[32], tb[32];
    log_event("%-13s SIGNAL   %-5s %s @ %s%s%s", p->cfg.name, t->row.symbol,
              order_side_name(sig->side), fmt_money(b->close, pb, sizeof pb),
              sig->reason[0] ? "  " : "", sig->reason);
    stages_set_status(p, t, EXEC_RUNNING, NULL);
    t->row.side = sig->side;

    /* Bias stage. */
    if (script_loaded(p->scripts, SCRIPT_BIAS)) {
        script_bias_result br;
        char err[512];
        if (script_bias(p->scripts, t->row.symbol, &br, err, sizeof err) != 0) {
            stages_set_status(p, t, EXEC_FAILED, "bias stage: %s", err);
            log_event("%-13s FAILED   %-5s %s", p->cfg.name, t->row.symbol, t->row.reason);
            return;
        }
        snprintf(t->row.bias, sizeof t->row.bias, "%s", br.direction);
        bool opposed = (sig->side == SIDE_BUY && strcmp(br.direction, "short") == 0) ||
                       (sig->side == SIDE_SELL && strcmp(br.direction, "long") == 0);
        if (opposed) {
            char why[400];
            snprintf(why, sizeof why, "bias %s opposes the %s signal%s%s", br.direction,
                     order_side_name(sig->side), br.reason[0] ? ": " : "", br.reason);
            skip(p, t, why);
            return;
        }
    }

    /* Strategy stage: complete the signal with the pipeline's default exits. */
    money_instrument rules = config_instrument(&p->cfg, t->row.symbol);
    /* Prices from Lua are rounded to the instrument's tick here, at the boundary, so
     * every order the broker sees is valid. */
    money_t entry =
        sig->entry ? money_round_to(sig->entry, rules.tick, MONEY_ROUND_NEAREST) : b->close;
    int dir = sig->side == SIDE_BUY ? 1 : -1;
    money_t stop = sig->stop_loss ? money_round_to(sig->stop_loss, rules.tick, MONEY_ROUND_NEAREST)
                                  : offset_price(entry, p->cfg.exits.stop_loss_pct, -dir, rules);
    money_t target = sig->take_profit
                         ? money_round_to(sig->take_profit, rules.tick, MONEY_ROUND_NEAREST)
                         : offset_price(entry, p->cfg.exits.take_profit_pct, dir, rules);
    if (sig->side == SIDE_SELL && !p->cfg.risk.allow_short) {
        skip(p, t, "risk: short entries are disabled (risk.allow_short = false)");
        return;
    }
    if ((dir > 0 && (stop >= entry || target <= entry)) ||
        (dir < 0 && (stop <= entry || target >= entry))) {
        stages_set_status(p, t, EXEC_FAILED,
                          "strategy stage: %s: a %s needs stop_loss %s entry %s take_profit "
                          "(got stop_loss %s, entry %s, take_profit %s); fix the signal",
                          p->cfg.strategy.file, order_side_name(sig->side), dir > 0 ? "<" : ">",
                          dir > 0 ? "<" : ">", fmt_money(stop, pb, sizeof pb),
                          fmt_money(entry, sb, sizeof sb), fmt_money(target, tb, sizeof tb));
        log_event("%-13s FAILED   %-5s %s", p->cfg.name, t->row.symbol, t->row.reason);
        return;
    }
    t->row.stop_loss = stop;
    t->row.take_profit = target;
    t->row.qty = sig->qty;
    store_execution_update(p->hs->db, &t->row, NULL);

    /* Risk stage (needs the account), then the trade manager's duplicate checks. */
    chain *c = chain_new(p, t, entry);
    if (!c || broker_get_account(p->brk, on_account, c) != 0) {
        if (c) {
            t->pending--;
            free(c);
        }
        stages_set_status(p, t, EXEC_FAILED, "risk stage: broker refused get_account");
    }
}

/* ---- after the entry: fills, order updates, monitor checks ---- */

static trade *find_trade(void *ud, int64_t id)
{
    pipeline *p = ud;
    for (trade *t = p->trades; t; t = t->next)
        if (t->row.id == id)
            return t;
    return NULL;
}

static void on_fill(void *ud, trade *t, const broker_fill *f, const store_order *o)
{
    pipeline *p = ud;
    char qb[32], pb[32], fb[32], rb[32];
    log_event("%-13s FILL     %-5s %s %s @ %s fee %s (%s)  realized %s", p->cfg.name, f->symbol,
              order_side_name(f->side), money_format_trim(f->qty, 0, qb, sizeof qb),
              fmt_money(f->price, pb, sizeof pb), fmt_money(f->fee, fb, sizeof fb),
              order_role_name(o->o.role), fmt_money(t->led.realized, rb, sizeof rb));
    store_event(p->hs->db, f->ts, p->cfg.name, t->row.id, "fill", NULL, "%s %s %s @ %s (%s)",
                f->symbol, order_side_name(f->side), money_format_trim(f->qty, 0, qb, sizeof qb),
                fmt_money(f->price, pb, sizeof pb), order_role_name(o->o.role));
    if (!t->exit_reason[0] && t->led.qty == 0) {
        if (o->o.role == ORDER_ROLE_TAKE_PROFIT)
            snprintf(t->exit_reason, sizeof t->exit_reason, "take_profit leg filled at %s",
                     fmt_money(f->price, pb, sizeof pb));
        else if (o->o.role == ORDER_ROLE_STOP_LOSS)
            snprintf(t->exit_reason, sizeof t->exit_reason, "stop_loss leg filled at %s",
                     fmt_money(f->price, pb, sizeof pb));
    }
    script_position view;
    stages_position_view(t, &view);
    char err[512];
    if (script_on_fill(p->scripts, &view, f->side, f->qty, f->price, err, sizeof err) != 0)
        log_warn("%s %s: on_fill: %s", p->cfg.name, t->row.symbol, err);
    exit_executor_on_fill(p->exits, t, f, o);
    if (t->has_pos && t->led.qty == 0)
        monitor_check_soon(p->mon, t); /* the broker confirms the close, then we complete */
}

static void on_order(void *ud, trade *t, const store_order *o)
{
    pipeline *p = ud;
    exit_executor_on_order(p->exits, t, o);
    bool dead = o->o.status == ORDER_STATUS_REJECTED || o->o.status == ORDER_STATUS_CANCELLED ||
                o->o.status == ORDER_STATUS_EXPIRED;
    if (o->o.role == ORDER_ROLE_ENTRY && dead && t->led.qty == 0 && !t->finished) {
        stages_set_status(p, t, EXEC_FAILED, "entry order %s was %s%s%s", o->o.client_order_id,
                          order_status_name(o->o.status), o->o.reason[0] ? ": " : "", o->o.reason);
        log_event("%-13s FAILED   %-5s %s", p->cfg.name, t->row.symbol, t->row.reason);
    }
}

exec_hooks stages_exec_hooks(pipeline *p)
{
    return (exec_hooks){
        .find_trade = find_trade, .on_fill = on_fill, .on_order = on_order, .ud = p};
}

static void on_flat(void *ud, trade *t)
{
    pipeline *p = ud;
    exit_executor_forget(p->exits, t);
    exec_cancel_open_orders(p->exec, t); /* leftovers, e.g. after a close by hand */
    const char *how = t->exit_reason[0]
                          ? t->exit_reason
                          : (t->led.qty != 0 ? "position closed at the broker outside apex-host"
                                             : "position closed");
    char reason[300];
    snprintf(reason, sizeof reason, "%s", how);
    if (t->has_pos) {
        t->pos.open = false;
        if (!t->pos.closed_at)
            t->pos.closed_at = clock_now(p->hs->clock);
        t->pos.unrealized_pnl = t->pos.unrealized_pnl_pct = 0;
        if (!t->pos.exit_reason[0])
            snprintf(t->pos.exit_reason, sizeof t->pos.exit_reason, "%.49s", reason);
        store_position_update(p->hs->db, &t->pos, NULL);
    }
    p->sum.trades++;
    if (t->led.realized > 0)
        p->sum.wins++;
    else
        p->sum.losses++;
    p->sum.realized += t->led.realized;
    p->sum.fees += t->led.fees;
    p->mark += t->led.realized;
    script_position view;
    stages_position_view(t, &view);
    char err[512], rb[32];
    if (script_on_exit(p->scripts, &view, reason, err, sizeof err) != 0)
        log_warn("%s %s: on_exit: %s", p->cfg.name, t->row.symbol, err);
    stages_set_status(p, t, EXEC_COMPLETED, "%s", reason);
    log_event("%-13s EXIT     %-5s %s  realized P&L %s", p->cfg.name, t->row.symbol, reason,
              fmt_money(t->led.realized, rb, sizeof rb));
}

/* The next session close (or settlement) at or after now, from exits.session_close. */
static apex_time next_session_close(const pipeline *p, apex_time now)
{
    apex_time day0 = now - now % APEX_DAY;
    apex_time close = day0 + (apex_time)p->cfg.exits.session_close_minute_utc * APEX_MINUTE;
    return now < close ? close : close + APEX_DAY;
}

/* The best opportunity among traded symbols without a position, asked of the strategy
 * only when the pipeline is full (that is when rebalancing can matter), once per bar. */
static bool best_other_opportunity(pipeline *p, money_t *best)
{
    apex_time now = clock_now(p->hs->clock);
    if (p->best_other_at == now) {
        *best = p->best_other;
        return p->has_best_other;
    }
    p->best_other_at = now;
    p->has_best_other = false;
    char err[512];
    for (int id = 0; id < p->nsyms; id++) {
        if (!p->syms[id].traded || p->syms[id].active)
            continue;
        money_t score;
        bool has = false;
        if (script_opportunity(p->scripts, symtab_name(p->hs->symbols, id), &score, &has, err,
                               sizeof err) != 0 ||
            !has)
            continue;
        if (!p->has_best_other || score > p->best_other) {
            p->best_other = score;
            p->has_best_other = true;
        }
    }
    *best = p->best_other;
    return p->has_best_other;
}

/* Builds the evaluator's input from everything the host knows about t. */
static void exit_inputs(pipeline *p, trade *t, const broker_quote *q, exit_input *in)
{
    memset(in, 0, sizeof *in);
    in->side = t->led.qty > 0 ? SIDE_BUY : SIDE_SELL;
    in->qty = t->led.qty > 0 ? t->led.qty : -t->led.qty;
    in->initial_qty = t->pos.initial_qty;
    in->entry_price = t->pos.entry_price;
    in->stop_loss = t->row.stop_loss;
    in->take_profit = t->row.take_profit;
    in->price = q->last;
    in->bid = q->bid;
    in->ask = q->ask;
    in->volume = q->volume;
    in->now = clock_now(p->hs->clock);
    in->session_close = next_session_close(p, in->now);
    in->trailing_active = t->pos.trailing_stop_active;
    in->peak_price = t->pos.peak_price;
    in->trailing_stop = t->pos.trailing_stop_price;
    in->partial_done = t->pos.partial_stages_done;
    in->circuit_tripped = p->circuit_tripped;

    script_position view;
    char err[512];
    stages_position_view(t, &view);
    view.current_price = q->last;
    if (p->strategy_has_edge &&
        script_edge(p->scripts, &view, &in->edge, &in->has_edge, err, sizeof err) != 0) {
        in->has_edge = false;
        log_warn("%s %s: edge(): %s", p->cfg.name, t->row.symbol, err);
    }
    if (p->strategy_has_opportunity && count_open_positions(p) >= p->cfg.risk.max_positions) {
        money_t mine = 0, best = 0;
        bool has_mine = false;
        if (script_opportunity(p->scripts, t->row.symbol, &mine, &has_mine, err, sizeof err) == 0 &&
            has_mine && best_other_opportunity(p, &best)) {
            in->has_rebalance = true;
            in->position_score = mine;
            in->best_other_score = best;
        }
    }
    if (script_rules_count(p->scripts) > 0) {
        int rc = script_rules_check(p->scripts, &view, &p->rule_hit, err, sizeof err);
        if (rc < 0) {
            store_event(p->hs->db, in->now, p->cfg.name, t->row.id, "rule_error", NULL, "%s", err);
            log_warn("%s %s: instruction rule failed: %s", p->cfg.name, t->row.symbol, err);
        } else if (rc == 1) {
            snprintf(p->rule_reason, sizeof p->rule_reason, "instruction \"%s\": %s",
                     p->rule_hit.rule, p->rule_hit.reason);
            in->rule_fired = true;
            in->rule_reason = p->rule_reason;
        }
    }
}

/* The monitor's exit hook: the ten conditions of seed 003, then the executor. */
static void evaluate_exit(void *ud, trade *t, const broker_quote *q)
{
    pipeline *p = ud;
    if (!t->has_pos || t->led.qty == 0 || q->last <= 0)
        return;
    exit_input in;
    exit_inputs(p, t, q, &in);
    money_instrument rules = config_instrument(&p->cfg, t->row.symbol);
    if (exits_update_trailing(&p->cfg.exits, rules, &in)) {
        bool armed_now = in.trailing_active && !t->pos.trailing_stop_active;
        t->pos.trailing_stop_active = in.trailing_active;
        t->pos.trailing_stop_price = in.trailing_stop;
        t->pos.peak_price = in.peak_price;
        store_position_update(p->hs->db, &t->pos, NULL);
        if (armed_now) {
            char sb[32];
            log_event("%-13s TRAIL    %-5s trailing stop armed at %s", p->cfg.name, t->row.symbol,
                      money_format_trim(in.trailing_stop, 2, sb, sizeof sb));
        }
    }
    t->pos.peak_price = in.peak_price;
    exit_decision d;
    exits_evaluate(&p->cfg.exits, rules, &in, &d);
    if (d.condition == EXIT_NONE)
        return;
    exit_executor_start(p->exits, t, &d, q->last);
}

static trade *first_trade(void *ud)
{
    pipeline *p = ud;
    return p->trades;
}

monitor_hooks stages_monitor_hooks(pipeline *p)
{
    return (monitor_hooks){
        .on_flat = on_flat, .evaluate_exit = evaluate_exit, .first_trade = first_trade, .ud = p};
}

/* ---- the exit executor's hooks ---- */

static int exit_quote(void *ud, const trade *t, money_t *last, money_t *bid, money_t *ask)
{
    pipeline *p = ud;
    broker_quote q;
    if (price_cache_get(monitor_prices(p->mon), t->symbol_id, clock_now(p->hs->clock), &q) == 0) {
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

static void exit_done(void *ud, trade *t, const store_position_exit *row)
{
    pipeline *p = ud;
    char fb[32], qb[32], pb[32];
    log_event("%-13s EXITED   %-5s %s %s: %s of %s at %s after %d order(s)", p->cfg.name,
              t->row.symbol, row->exit_reason, row->status,
              money_format_trim(row->filled_quantity, 0, fb, sizeof fb),
              money_format_trim(row->exit_quantity, 0, qb, sizeof qb),
              money_format_trim(row->exit_price, 2, pb, sizeof pb), row->attempts);
    if (strcmp(row->status, "filled") == 0 && t->led.qty == 0 && !t->exit_reason[0])
        snprintf(t->exit_reason, sizeof t->exit_reason, "%s (%s)", row->detail, row->exit_priority);
    if (t->led.qty == 0)
        monitor_check_soon(p->mon, t);
}

static void exit_priority_next(void *ud, int priority)
{
    pipeline *p = ud;
    limited_broker_next_priority(p->brk, priority);
}

exit_hooks stages_exit_hooks(pipeline *p)
{
    return (exit_hooks){
        .quote = exit_quote, .on_done = exit_done, .next_priority = exit_priority_next, .ud = p};
}

/* ---- the circuit breaker ---- */

void stages_check_circuit(pipeline *p)
{
    if (p->circuit_tripped || p->sum.start_equity <= 0)
        return;
    money_t loss = p->day_start_mark - p->mark;
    money_t limit = 0;
    money_mul(p->sum.start_equity + p->day_start_mark, p->cfg.risk.daily_loss_limit_pct,
              MONEY_ROUND_NEAREST, &limit);
    if (loss < limit || limit <= 0)
        return;
    p->circuit_tripped = true;
    char lb[32], mb[32];
    log_event("%-13s CIRCUIT  daily loss %s reached the limit %s: closing every position; "
              "no new entries until the next trading day",
              p->cfg.name, money_format_trim(loss, 2, lb, sizeof lb),
              money_format_trim(limit, 2, mb, sizeof mb));
    store_event(p->hs->db, clock_now(p->hs->clock), p->cfg.name, 0, "circuit_breaker", NULL,
                "daily loss %s reached the limit %s (risk.daily_loss_limit_pct); closing every "
                "position, entries blocked until the next trading day",
                lb, mb);
    for (trade *t = p->trades; t; t = t->next)
        if (!t->finished && t->has_pos && t->led.qty != 0)
            monitor_check_soon(p->mon, t);
}

/* ---- restart ---- */

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
    if (t->finished)
        return;
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
            stages_set_status(p, t, EXEC_FAILED,
                              "interrupted by a restart before the entry reached the broker; "
                              "nothing was traded and nothing was resent");
            return;
        }
        stages_set_status(p, t, EXEC_MONITORING, NULL);
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

void stages_resume(pipeline *p)
{
    store_executions_active(p->hs->db, p->cfg.name, resume_one, p);
    for (trade *t = p->trades; t; t = t->next) {
        if (t->symbol_id >= 0 && t->symbol_id < p->nsyms)
            p->syms[t->symbol_id].active = t;
        store_event(p->hs->db, clock_now(p->hs->clock), p->cfg.name, t->row.id, "restart", NULL,
                    "%s: resuming %s execution after a restart", t->row.symbol,
                    exec_status_name(t->row.status));
        exit_executor_resume(p->exits, t);
        if (exec_reconcile(p->exec, t, on_reconciled, p) != 0)
            monitor_watch(p->mon, t, clock_now(p->hs->clock));
    }
}
