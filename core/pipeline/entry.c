/* entry: the execute phase of an execution (seed 000), read top-down:
 *
 *   pipeline_on_signal   a strategy signalled: plan it, then create the execution
 *     plan_bias          does the market direction allow it?
 *     plan_prices        complete the signal with default exits, rounded to the tick
 *     -> get_account     (broker)
 *   on_account           risk stage: size it, or skip with the numbers
 *     -> approval        execution.mode = "approval": waits for an answer (approval.c)
 *     -> get_position    (broker)
 *   on_position          trade manager: skip if the broker already holds the symbol
 *     -> list_open_orders
 *   on_open_orders       trade manager: skip if an order is already working
 *     submit_entry       bracket order: intent committed, then sent
 *   on_entry_sent        accepted: the execution is monitored from now on
 *
 * Broker replies are asynchronous, so the chain carries an entry_step between them.
 * The step holds its trade while a request is in flight (trade_hold), and each reply
 * first releases it: a trade finished meanwhile (a restart, a failure) ends the chain. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "pipeline/pipeline_internal.h"
#include "risk/risk.h"
#include "util/err.h"
#include "util/log.h"

typedef struct entry_step {
    LIST_ENTRY(entry_step) link; /* in p->entry_steps while it exists */
    pipeline *p;
    trade *t;
    money_t entry_ref; /* reference price for sizing and a limit entry */
    coord_rank rank;   /* the coordinator's ranking; rank 0 = unranked */
} entry_step;

static void on_account(void *ud, const broker_reply *r);
static void ask_position(entry_step *s);
static void on_approval(void *ud, exec_status verdict, const char *reason);
static void on_position(void *ud, const broker_reply *r);
static void on_open_orders(void *ud, const broker_reply *r);
static void submit_entry(pipeline *p, trade *t, money_t entry_ref);
static void on_entry_sent(void *ud, trade *t, int status, const char *msg);

static char *fmt_money(money_t v, char *buf, size_t n)
{
    return money_format_trim(v, 2, buf, n);
}

/* The entry order's type: the signal's (entry = "stop" ...), else execution.entry's. */
static order_type entry_type_of(const pipeline *p, const trade *t)
{
    if (t->row.entry_typed)
        return t->row.entry_type;
    return p->cfg.execution.entry == ENTRY_LIMIT ? ORDER_LIMIT : ORDER_MARKET;
}

/* ---- the entry_step ---- */

static entry_step *step_new(pipeline *p, trade *t, money_t entry_ref)
{
    entry_step *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->p = p;
    s->t = t;
    s->entry_ref = entry_ref;
    LIST_INSERT_HEAD(&p->entry_steps, s, link);
    return s;
}

static void step_free(entry_step *s)
{
    LIST_REMOVE(s, link);
    free(s);
}

void pipeline_entry_free_all(pipeline *p)
{
    while (!LIST_EMPTY(&p->entry_steps)) {
        entry_step *s = LIST_FIRST(&p->entry_steps);
        trade_release(s->t); /* every waiting step holds its trade */
        step_free(s);
    }
}

/* Issues the step's next broker request: rc is the call's result. The step holds its
 * trade until the reply; a request refused at once fails the execution with `what`. */
static bool step_await(entry_step *s, int rc, const char *what)
{
    if (rc == 0)
        return true;
    trade_release(s->t);
    pipeline *p = s->p;
    trade *t = s->t;
    step_free(s);
    pipeline_set_status(p, t, EXEC_FAILED, "%s (%s)", what, err_name(rc));
    return false;
}

/* A reply arrived: gives the hold back. Returns the live trade, or NULL when it finished
 * meanwhile (the step is then freed). */
static trade *step_resume(entry_step *s)
{
    trade *t = trade_release(s->t);
    if (!t)
        step_free(s);
    return t;
}

/* Ends the chain at a reply with a final status. */
static void step_end(entry_step *s, exec_status st, const char *reason)
{
    pipeline *p = s->p;
    trade *t = s->t;
    step_free(s);
    pipeline_set_status(p, t, st, "%s", reason);
}

/* A portfolio limit refused the entry (pipeline/portfolio.c): skipped with its numbers. */
static void step_skip_risk(entry_step *s, const char *why)
{
    char reason[512];
    snprintf(reason, sizeof reason, "risk: %s", why);
    step_end(s, EXEC_SKIPPED, reason);
}

static void step_fail_reply(entry_step *s, const broker_reply *r, const char *what)
{
    char why[512];
    snprintf(why, sizeof why, "%s: %s", what, r->error[0] ? r->error : err_name(r->status));
    step_end(s, EXEC_FAILED, why);
}

/* ---- the signal: the bias and strategy stages ---- */

/* What the bias and strategy stages make of a signal. It is settled before anything is
 * recorded, so that a failure is one more script failure, which the failure limiter may
 * count instead of recording (script/failures.h): a strategy that returns a bad signal on
 * every bar does not make a failed execution per bar. */
typedef struct {
    exec_status verdict; /* EXEC_RUNNING: on to the risk stage; else EXEC_SKIPPED or _FAILED */
    script_stage stage;  /* the stage that failed */
    int rc;              /* a script's error code; APEX_ESTATE = its on_start failed earlier */
    char reason[sizeof((store_execution *)0)->reason];
    char bias[16];
    money_t entry, stop, target;
} entry_plan;

static bool plan_end(entry_plan *pl, exec_status verdict, script_stage stage, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Decides the plan (a skip or a failure, with its reason); returns false for the callers'
 * convenience. */
static bool plan_end(entry_plan *pl, exec_status verdict, script_stage stage, const char *fmt, ...)
{
    pl->verdict = verdict;
    pl->stage = stage;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pl->reason, sizeof pl->reason, fmt, ap);
    va_end(ap);
    return false;
}

/* An opposing bias skips the execution with the bias's reason. */
static bool plan_bias(pipeline *p, const char *symbol, const script_signal *sig, entry_plan *pl)
{
    if (!script_loaded(p->scripts, SCRIPT_BIAS))
        return true;
    script_bias_result br;
    char err[512];
    pl->rc = script_bias(p->scripts, symbol, &br, err, sizeof err);
    if (pl->rc != 0)
        return plan_end(pl, EXEC_FAILED, SCRIPT_STAGE_BIAS, "bias stage: %s", err);
    snprintf(pl->bias, sizeof pl->bias, "%s", br.direction);
    bool opposed = (sig->side == SIDE_BUY && strcmp(br.direction, "short") == 0) ||
                   (sig->side == SIDE_SELL && strcmp(br.direction, "long") == 0);
    if (opposed)
        return plan_end(pl, EXEC_SKIPPED, SCRIPT_STAGE_BIAS, "bias %s opposes the %s signal%s%s",
                        br.direction, order_side_name(sig->side), br.reason[0] ? ": " : "",
                        br.reason);
    return true;
}

static money_t offset_price(money_t price, money_t pct, int direction, money_instrument rules)
{
    money_t delta = 0;
    money_mul(price, pct, MONEY_ROUND_NEAREST, &delta);
    return money_round_to(price + direction * delta, rules.tick, MONEY_ROUND_NEAREST);
}

/* Whether price lies strictly inside the bracket: below the target and above the stop for
 * a buy, the other way round for a sell. */
static bool brackets(order_side side, money_t stop, money_t target, money_t price)
{
    return side == SIDE_BUY ? stop < price && price < target : target < price && price < stop;
}

/* A price the strategy gave, rounded to the instrument's tick (0 = not given). A given
 * price that rounds to 0 fails the stage naming the field: 0 reads as "not given" from
 * here on, and a default in its place would trade a level the strategy never chose. */
static bool signal_price(pipeline *p, const char *symbol, const char *field, money_t given,
                         money_instrument rules, money_t *out, entry_plan *pl)
{
    *out = money_round_to(given, rules.tick, MONEY_ROUND_NEAREST);
    if (given == 0 || *out > 0)
        return true;
    char gb[32], tb[32];
    money_format_trim(rules.tick, 0, tb, sizeof tb);
    return plan_end(pl, EXEC_FAILED, SCRIPT_STAGE_STRATEGY,
                    "strategy stage: %s: %s = %s rounds to 0 at %s's tick size of %s; return a "
                    "price of at least %s",
                    p->cfg.strategy.file, field, money_format_trim(given, 0, gb, sizeof gb), symbol,
                    tb, tb);
}

/* Completes the signal with the pipeline's default stop and target. Prices from Lua are
 * rounded to the instrument's tick here, at the boundary, so every order the broker
 * sees is valid. */
static bool plan_prices(pipeline *p, const char *symbol, const script_signal *sig, const bar *b,
                        entry_plan *pl)
{
    money_instrument rules = config_instrument(&p->cfg, symbol);
    if (!signal_price(p, symbol, "entry", sig->entry, rules, &pl->entry, pl) ||
        !signal_price(p, symbol, "stop_loss", sig->stop_loss, rules, &pl->stop, pl) ||
        !signal_price(p, symbol, "take_profit", sig->take_profit, rules, &pl->target, pl))
        return false;
    if (sig->qty > 0 && money_round_to(sig->qty, rules.lot, MONEY_ROUND_DOWN) == 0) {
        char qb[32], lb[32];
        money_format_trim(rules.lot, 0, lb, sizeof lb);
        return plan_end(pl, EXEC_FAILED, SCRIPT_STAGE_STRATEGY,
                        "strategy stage: %s: qty = %s rounds down to 0 lots of %s (lot size %s); "
                        "return at least %s, or leave qty out to let risk size it",
                        p->cfg.strategy.file, money_format_trim(sig->qty, 0, qb, sizeof qb), symbol,
                        lb, lb);
    }
    if (!pl->entry)
        pl->entry = b->close;
    int dir = sig->side == SIDE_BUY ? 1 : -1;
    if (!pl->stop)
        pl->stop = offset_price(pl->entry, p->cfg.exits.stop_loss_pct, -dir, rules);
    if (!pl->target)
        pl->target = offset_price(pl->entry, p->cfg.exits.take_profit_pct, dir, rules);
    if (sig->side == SIDE_SELL && !p->cfg.risk.allow_short)
        return plan_end(pl, EXEC_SKIPPED, SCRIPT_STAGE_STRATEGY,
                        "risk: short entries are disabled (risk.allow_short = false)");
    if (!brackets(sig->side, pl->stop, pl->target, pl->entry)) {
        char pb[32], sb[32], tb[32];
        return plan_end(pl, EXEC_FAILED, SCRIPT_STAGE_STRATEGY,
                        "strategy stage: %s: a %s needs stop_loss %s entry %s take_profit (got "
                        "stop_loss %s, entry %s, take_profit %s); fix the signal",
                        p->cfg.strategy.file, order_side_name(sig->side), dir > 0 ? "<" : ">",
                        dir > 0 ? "<" : ">", fmt_money(pl->stop, pb, sizeof pb),
                        fmt_money(pl->entry, sb, sizeof sb), fmt_money(pl->target, tb, sizeof tb));
    }
    return true;
}

/* No entry inside the window before the session close where time_based_urgent fires: it
 * would close the position at once, paying the spread and fees for nothing. */
static bool plan_session(pipeline *p, const bar *b, entry_plan *pl)
{
    if (!pipeline_in_close_window(p, b->ts))
        return true;
    int close = (int)((pipeline_session_close(p, b->ts) % APEX_DAY) / APEX_MINUTE);
    return plan_end(pl, EXEC_SKIPPED, SCRIPT_STAGE_STRATEGY,
                    "session: inside the %d min before the session close at %02d:%02d UTC "
                    "(exits.time_urgent_minutes, %s), where time_based_urgent "
                    "would close it at once",
                    p->cfg.exits.time_urgent_minutes, close / 60, close % 60,
                    p->venue.known ? "the venue's calendar" : "exits.session_close");
}

/* A new execution for the signal, running, with its SIGNAL line. */
static trade *start_execution(pipeline *p, int symbol_id, const script_signal *sig, const bar *b,
                              const entry_plan *pl)
{
    trade *t = pipeline_trade_new(p, symbol_id);
    if (!t)
        return NULL;
    char pb[32];
    bool priced = sig->entry_typed && sig->entry_type != ORDER_MARKET && sig->entry > 0;
    log_event("%-13s SIGNAL   %-5s %s%s%s @ %s%s%s", p->cfg.name, t->row.symbol,
              order_side_name(sig->side), priced ? " " : "",
              priced ? order_type_name(sig->entry_type) : "",
              fmt_money(priced ? sig->entry : b->close, pb, sizeof pb), sig->reason[0] ? "  " : "",
              sig->reason);
    pipeline_set_status(p, t, EXEC_RUNNING, NULL);
    t->row.side = sig->side;
    snprintf(t->row.bias, sizeof t->row.bias, "%s", pl->bias);
    return t;
}

void pipeline_on_signal(pipeline *p, int symbol_id, const script_signal *sig, const bar *b,
                        const coord_rank *rank)
{
    if (sig->kind == SIGNAL_CLOSE) {
        pipeline_strategy_close(p, symbol_id, sig, b); /* an exit, not an entry */
        return;
    }
    sym_state *s = &p->syms.items[symbol_id];
    const char *symbol = symtab_name(p->hs->symbols, symbol_id);
    p->sum.signals++;
    if (s->active) {
        p->sum.signals_ignored++; /* already trading this symbol: not a new execution */
        return;
    }
    if (p->write_failed) {
        /* Recording a skip is itself a write; the failure was reported loudly once. */
        p->sum.signals_ignored++;
        return;
    }
    entry_plan pl = {.verdict = EXEC_RUNNING};
    if (plan_bias(p, symbol, sig, &pl) && plan_prices(p, symbol, sig, b, &pl))
        plan_session(p, b, &pl);
    if (pl.verdict == EXEC_FAILED) {
        /* Nothing was sent, so the cursor stays; the failure may be counted, not recorded. */
        if (!pipeline_failure_admit(p, symbol_id, pl.stage, pl.rc, pl.reason)) {
            p->sum.signals_ignored++;
            return;
        }
        trade *t = start_execution(p, symbol_id, sig, b, &pl);
        if (t)
            pipeline_set_status(p, t, EXEC_FAILED, "%s", pl.reason);
        return;
    }
    /* Acting on a signal moves the restart cursor to this bar first, so a restarted host
     * never acts on the same bar twice (bars up to the cursor are warm-up only). */
    if (!p->hs->backtest &&
        pipeline_durable(p, store_cursor_set(p->hs->db, p->cfg.name, b->ts, &p->werr),
                         "moving the restart cursor"))
        return;
    trade *t = start_execution(p, symbol_id, sig, b, &pl);
    if (!t)
        return;
    pipeline_coord_event(p, t, rank);
    s->active = t;
    s->last_error[0] = '\0';
    if (pl.verdict == EXEC_SKIPPED) {
        pipeline_set_status(p, t, EXEC_SKIPPED, "%s", pl.reason);
        return;
    }
    t->row.stop_loss = pl.stop;
    t->row.take_profit = pl.target;
    t->row.qty = sig->qty;
    /* The entry order the signal chose goes into the row with its exits, so a restart sends
     * and expires it as the signal asked (store migration 6). */
    t->row.entry_typed = sig->entry_typed;
    t->row.entry_type = sig->entry_type;
    t->row.entry_order_price = sig->entry_typed && sig->entry_type != ORDER_MARKET ? pl.entry : 0;
    t->row.expire_bars = sig->expire_bars;
    t->row.expire_seconds = sig->expire_seconds;
    t->row.expire_at = sig->expire_seconds > 0 ? b->ts + sig->expire_seconds * APEX_SECOND : 0;
    if (p->cfg.execution.tool == EXEC_TOOL_WEBHOOK)
        t->row.entry_price = pl.entry; /* the receiver gets the planned entry */
    if (pipeline_durable(p, store_execution_update(p->hs->db, &t->row, &p->werr),
                         "recording the signal's exits")) {
        pipeline_set_status(p, t, EXEC_FAILED, "strategy stage: %s", p->write_error);
        return;
    }
    if (p->cfg.execution.tool == EXEC_TOOL_WEBHOOK) {
        pipeline_webhook_send(p, t, sig->reason, b->ts); /* no sizing, no order */
        return;
    }
    entry_step *step = step_new(p, t, pl.entry);
    if (!step) {
        pipeline_set_status(p, t, EXEC_FAILED, "risk stage: out of memory");
        return;
    }
    if (rank)
        step->rank = *rank;
    trade_hold(t);
    step_await(step, broker_get_account(p->brk, BROKER_PRIORITY_ROUTINE, on_account, step),
               "risk stage: broker refused get_account");
}

/* ---- risk stage ---- */

static void on_account(void *ud, const broker_reply *r)
{
    entry_step *s = ud;
    pipeline *p = s->p;
    trade *t = step_resume(s);
    if (!t)
        return;
    if (r->status != 0 || !r->account) {
        step_fail_reply(s, r, "risk stage: broker account unavailable");
        return;
    }
    char gate[500];
    if (!pipeline_portfolio_admit(p, t, r->account, gate, sizeof gate)) {
        step_skip_risk(s, gate);
        return;
    }
    risk_input in = {0};
    in.capital = p->cfg.risk.capital ? p->cfg.risk.capital : r->account->equity;
    in.buying_power = r->account->buying_power;
    in.equity = r->account->equity;
    in.open_positions = pipeline_open_positions(p); /* this execution is not open yet */
    in.entry = s->entry_ref;
    in.stop = t->row.stop_loss;
    in.requested_qty = t->row.qty;
    in.rules = config_instrument(&p->cfg, t->row.symbol);
    in.day_trades = r->account->day_trades;
    in.circuit_open = !risk_circuit_allows_entries(&p->circuit);
    /* Sized at what the broker will charge (spread, slippage, fee), not the raw price. */
    risk_costs costs = {p->brk, t->row.symbol, (order_side)t->row.side, entry_type_of(p, t)};
    in.costs = &costs;
    risk_decision d;
    char err[256];
    if (risk_size(&p->cfg.risk, &in, &d, err, sizeof err) != 0) {
        char why[300];
        snprintf(why, sizeof why, "risk stage: %s", err);
        step_end(s, EXEC_FAILED, why);
        return;
    }
    if (d.qty == 0) {
        char why[512], ranked[256];
        snprintf(why, sizeof why, "risk: %s%s", d.skip_reason,
                 pipeline_coord_note(&s->rank, ranked, sizeof ranked));
        step_end(s, EXEC_SKIPPED, why);
        return;
    }
    gate[0] = '\0';
    if (!pipeline_portfolio_fit(p, t, s->entry_ref, r->account, &d.qty, gate, sizeof gate)) {
        step_skip_risk(s, gate);
        return;
    }
    if (gate[0]) /* shrunk; the risk_limit event has the numbers */
        snprintf(d.note + strlen(d.note), sizeof d.note - strlen(d.note),
                 "%sshrunk to fit the "
                 "portfolio heat",
                 d.note[0] ? "; " : "");
    char qb[32], rb[32], cb[32];
    t->row.qty = d.qty;
    t->sized = true; /* entries of the same bar that reach risk later see this one */
    pipeline_trade_recount(p, t);
    store_event(p->hs->db, clock_now(p->hs->clock), p->cfg.name, t->row.id, "risk", NULL,
                "%s size %s = min(by risk %s, by capital %s)%s%s", t->row.symbol,
                money_format_trim(d.qty, 0, qb, sizeof qb),
                money_format_trim(d.shares_by_risk, 0, rb, sizeof rb),
                money_format_trim(d.shares_by_capital, 0, cb, sizeof cb), d.note[0] ? "; " : "",
                d.note);
    trade_hold(t);
    if (p->cfg.execution.mode == EXEC_MODE_APPROVAL) {
        pipeline_approval_request(p, t, s->entry_ref, on_approval, s); /* approval.c */
        return;
    }
    ask_position(s);
}

/* The trade manager's first question: does the broker already hold the symbol? The
 * caller holds the step's trade for the request. */
static void ask_position(entry_step *s)
{
    step_await(
        s,
        broker_get_position(s->p->brk, BROKER_PRIORITY_ROUTINE, s->t->row.symbol, on_position, s),
        "trade manager: broker refused get_position");
}

/* execution.mode = "approval": the answer (approval.c) ends the wait. */
static void on_approval(void *ud, exec_status verdict, const char *reason)
{
    entry_step *s = ud;
    trade *t = step_resume(s);
    if (!t)
        return;
    if (verdict != EXEC_RUNNING) {
        step_end(s, verdict, reason);
        return;
    }
    trade_hold(t);
    ask_position(s);
}

void pipeline_entry_resume_approval(pipeline *p, trade *t, const store_approval *a)
{
    entry_step *s = step_new(p, t, a->entry);
    if (!s) {
        pipeline_set_status(p, t, EXEC_FAILED, "approval: out of memory resuming the request");
        return;
    }
    t->sized = true; /* it holds its slot while it waits, as before the restart */
    t->row.qty = a->qty;
    trade_hold(t);
    pipeline_approval_wait(p, t, a, on_approval, s);
}

/* ---- trade manager: the duplicate checks, then the order ---- */

static void on_position(void *ud, const broker_reply *r)
{
    entry_step *s = ud;
    pipeline *p = s->p;
    trade *t = step_resume(s);
    if (!t)
        return;
    if (r->status != 0 && r->status != APEX_ENOTFOUND) {
        step_fail_reply(s, r, "trade manager: could not check the broker for an existing position");
        return;
    }
    char claim[320];
    if (!pipeline_portfolio_claim(p, t, claim, sizeof claim)) {
        step_end(s, EXEC_SKIPPED, claim);
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
        step_end(s, EXEC_SKIPPED, why);
        return;
    }
    trade_hold(t);
    step_await(
        s,
        broker_list_open_orders(p->brk, BROKER_PRIORITY_ROUTINE, t->row.symbol, on_open_orders, s),
        "trade manager: broker refused list_open_orders");
}

static void on_open_orders(void *ud, const broker_reply *r)
{
    entry_step *s = ud;
    pipeline *p = s->p;
    trade *t = step_resume(s);
    if (!t)
        return;
    if (r->status != 0) {
        step_fail_reply(s, r, "trade manager: could not list open orders at the broker");
        return;
    }
    if (r->norders > 0) {
        char why[256], qb[32];
        const broker_order *o = &r->orders[0];
        snprintf(why, sizeof why,
                 "duplicate: the broker has %d open order(s) for %s (e.g. %s %s %s, id %s)",
                 r->norders, t->row.symbol, order_side_name(o->side),
                 fmt_money(o->qty, qb, sizeof qb), order_type_name(o->type), o->client_order_id);
        step_end(s, EXEC_SKIPPED, why);
        return;
    }
    /* The chain took broker round trips; when data replays faster than they return (run at
     * a high --speed), the market may have left the bracket meanwhile. A bracket around a
     * price that is gone is a skip with the numbers, not an order the broker refuses. */
    const price_entry *now = price_table_get(p->hs->prices, t->symbol_id);
    /* A stop or limit entry the strategy priced waits for its price: its bracket is around
     * that price (plan_prices checked it), wherever the market is now. */
    if (now && now->last > 0 && !(t->row.entry_typed && t->row.entry_type != ORDER_MARKET) &&
        !brackets((order_side)t->row.side, t->row.stop_loss, t->row.take_profit, now->last)) {
        char why[256], lb[32], sb[32], tb[32], eb[32];
        snprintf(why, sizeof why,
                 "trade manager: the price moved to %s while the entry was prepared (signal at "
                 "%s), outside its stop_loss %s / take_profit %s; not sent",
                 fmt_money(now->last, lb, sizeof lb), fmt_money(s->entry_ref, eb, sizeof eb),
                 fmt_money(t->row.stop_loss, sb, sizeof sb),
                 fmt_money(t->row.take_profit, tb, sizeof tb));
        step_end(s, EXEC_SKIPPED, why);
        return;
    }
    money_t entry_ref = s->entry_ref;
    step_free(s);
    submit_entry(p, t, entry_ref);
}

static void submit_entry(pipeline *p, trade *t, money_t entry_ref)
{
    order_request req = {0};
    snprintf(req.symbol, sizeof req.symbol, "%s", t->row.symbol);
    req.side = (order_side)t->row.side;
    req.qty = t->row.qty;
    req.type = entry_type_of(p, t);
    if (req.type == ORDER_LIMIT)
        req.limit_price = entry_ref;
    else if (req.type == ORDER_STOP)
        req.stop_price = entry_ref;
    /* Where the venue takes no bracket (a crypto pair at Alpaca) the entry goes alone: the
     * stop and target stay on the execution, and the monitor's stop_loss and
     * profit_target conditions carry them out. */
    if (broker_takes_brackets(p->brk, t->row.symbol)) {
        req.take_profit = t->row.take_profit;
        req.stop_loss = t->row.stop_loss;
    }
    char err[256];
    int rc = exec_send(p->exec, BROKER_PRIORITY_ROUTINE, t, ORDER_ROLE_ENTRY, &req, on_entry_sent,
                       p, err, sizeof err);
    if (rc != 0)
        pipeline_set_status(p, t, EXEC_FAILED, "trade manager: could not send the entry (%s): %s",
                            err_name(rc), err);
}

static void on_entry_sent(void *ud, trade *t, int status, const char *msg)
{
    pipeline *p = ud;
    if (trade_is_finished(t))
        return;
    if (status != 0) {
        pipeline_set_status(p, t, EXEC_FAILED, "broker rejected the entry: %s",
                            msg ? msg : err_name(status));
        return;
    }
    pipeline_entry_expiry_rests(p, t); /* written with the status */
    pipeline_set_status(p, t, EXEC_MONITORING, NULL);
    monitor_watch(p->mon, t, 0);
    char qb[32], every[32];
    if (p->hs->backtest)
        snprintf(every, sizeof every, "on every bar"); /* time follows the data */
    else
        snprintf(every, sizeof every, "every %d s", p->cfg.monitoring.normal_frequency_s);
    log_event("%-13s ORDER    %-5s %s %s bracket %s accepted; monitoring %s", p->cfg.name,
              t->row.symbol, order_side_name(t->row.side),
              money_format_trim(t->row.qty, 0, qb, sizeof qb), t->entry_coid, every);
}
