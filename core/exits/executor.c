/* executor: one exit job per trade, a small state machine driven by broker replies,
 * order events and a timeout timer. See executor.h for the rules it follows. */
#include "exits/executor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "metrics/metrics.h"
#include "util/err.h"
#include "util/log.h"

/* A job that keeps failing stops after this many orders; the monitor decides again. */
#define MAX_ATTEMPTS 25
/* Pause before retrying after the broker refused an order, so a refusal cannot spin. */
#define RETRY_DELAY APEX_SECOND

typedef enum {
    JOB_CANCEL_LEGS,  /* waiting for the bracket legs' cancels to be confirmed */
    JOB_WORKING,      /* an exit order is working */
    JOB_CANCEL_ORDER, /* the working order timed out; waiting for its cancel */
    JOB_WAIT_RETRY,   /* the broker refused the last order; retrying after a pause */
    JOB_DONE,
} job_state;

typedef struct exit_job {
    LIST_ENTRY(exit_job) link; /* in x->jobs until freed */
    exit_executor *x;
    trade *t;
    store_position_exit row;
    exit_decision decision;
    exit_priority priority; /* current, after any escalation */
    bool market;            /* walks exhausted: market orders from now on */
    int walks;              /* walks done at the current priority */
    money_t target;         /* quantity to exit in total */
    money_t filled;         /* filled by this job's orders */
    money_t notional;       /* sum of fill qty * price, for the average exit price */
    money_t order_qty;      /* quantity of the working order */
    money_t order_filled;
    /* The cancel's reply says the order filled this much, more than the fills heard: the
     * job waits for them before it moves on (0 = not waiting). */
    money_t order_awaited;
    char coid[BROKER_ID_MAX];
    store_exit_attempt att;
    clock_timer timer;
    job_state state;
    int cancels;    /* cancel replies still expected */
    bool supersede; /* finish as superseded, then start `next` */
    exit_decision next;
    money_t next_price;
    int bars;             /* bars of the symbol since the working order was placed */
    bool await_bar;       /* simulated clock: timed out or refused, moves on at the next bar */
    int refs;             /* callbacks outstanding that point at this job */
    int trade_holds;      /* of those, the ones that also hold the trade (job_hold) */
    apex_time decided_at; /* when the job started: the exit latencies count from here */
} exit_job;

struct exit_executor {
    exec_env *env;
    broker *brk;
    store *db;
    apex_clock *clock;
    const pipeline_config *cfg;
    exit_hooks hooks;
    /* apex_exit_order_latency_seconds and apex_exit_fill_latency_seconds (metrics.h) */
    metrics_series *m_order_latency, *m_fill_latency;
    bool bar_driven;            /* a backtest: orders rest until the symbol's next bar */
    LIST_HEAD(, exit_job) jobs; /* every job not yet freed, done ones waiting for replies */
};

exit_executor *exit_executor_new(exec_env *env, broker *brk, store *db, apex_clock *clock,
                                 const pipeline_config *cfg, exit_hooks hooks)
{
    exit_executor *x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    x->env = env;
    x->brk = brk;
    x->db = db;
    x->clock = clock;
    x->cfg = cfg;
    x->hooks = hooks;
    x->m_order_latency = metrics_get(METRIC_EXIT_ORDER_LATENCY, cfg->name);
    x->m_fill_latency = metrics_get(METRIC_EXIT_FILL_LATENCY, cfg->name);
    LIST_INIT(&x->jobs);
    return x;
}

static void job_free(exit_job *j)
{
    clock_timer_stop(&j->timer);
    LIST_REMOVE(j, link);
    free(j);
}

void exit_executor_free(exit_executor *x)
{
    if (!x)
        return;
    /* Shutdown: the broker's queued replies will never come, so the jobs waiting for
     * them are freed here and give their holds on the trades back. The exits stay
     * "working" in the store; the next run's exit_executor_resume closes them. */
    while (!LIST_EMPTY(&x->jobs)) {
        exit_job *j = LIST_FIRST(&x->jobs);
        for (; j->trade_holds > 0; j->trade_holds--)
            trade_release(j->t);
        if (j->t->exit_job == j)
            j->t->exit_job = NULL;
        job_free(j);
    }
    free(x);
}

static exit_job *job_of(const trade *t)
{
    return t ? t->exit_job : NULL;
}

bool exit_executor_busy(const exit_executor *x, const trade *t)
{
    (void)x;
    exit_job *j = job_of(t);
    return j && j->state != JOB_DONE;
}

static money_t abs_money(money_t v)
{
    return v < 0 ? -v : v;
}

/* Jobs are freed only when no reply, event or timer can reach them any more. */
static void job_release(exit_job *j)
{
    if (--j->refs > 0 || j->state != JOB_DONE)
        return;
    job_free(j);
}

static void job_hold(exit_job *j)
{
    j->refs++;
    j->trade_holds++;
    trade_hold(j->t);
}

static void job_drop(exit_job *j)
{
    j->trade_holds--;
    trade_release(j->t);
    job_release(j);
}

static price_strategy job_strategy(const exit_job *j)
{
    if (j->market || j->priority == EXIT_PRIORITY_CRITICAL)
        return PRICE_MARKET;
    return j->x->cfg->exits.execution[j->priority].price;
}

static void save_row(exit_job *j)
{
    j->row.execution_strategy = job_strategy(j);
    j->row.exit_priority = j->priority;
    j->row.filled_quantity = j->filled;
    if (j->filled > 0)
        money_div(j->notional, j->filled, MONEY_ROUND_NEAREST, &j->row.exit_price);
    store_exit_update(j->x->db, &j->row, NULL);
}

static void start_job(exit_executor *x, trade *t, const exit_decision *d, money_t price);

/* Re-protects what is left after a partial exit with a stop at the position's stop, or at
 * its trailing stop when that is tighter; the bracket legs were cancelled for the exit. */
static void protect_remainder(exit_job *j)
{
    trade *t = j->t;
    money_t open = abs_money(t->led.qty);
    if (open == 0)
        return;
    bool is_long = t->led.qty > 0;
    money_t stop = t->row.stop_loss;
    if (t->pos.trailing_stop_active && t->pos.trailing_stop_price > 0 &&
        (stop == 0 ||
         (is_long ? t->pos.trailing_stop_price > stop : t->pos.trailing_stop_price < stop)))
        stop = t->pos.trailing_stop_price;
    if (stop <= 0)
        return;
    order_request req = {0};
    snprintf(req.symbol, sizeof req.symbol, "%s", t->row.symbol);
    req.side = is_long ? SIDE_SELL : SIDE_BUY;
    req.type = ORDER_STOP;
    req.qty = open;
    req.stop_price = stop;
    if (exec_send(j->x->env, BROKER_PRIORITY_HIGH, t, ORDER_ROLE_STOP_LOSS, &req, NULL, NULL, NULL,
                  0) != 0)
        log_warn("%s %s: could not re-place the protective stop after a partial exit",
                 j->x->cfg->name, t->row.symbol);
}

static void finish(exit_job *j, exit_status status)
{
    exit_executor *x = j->x;
    trade *t = j->t;
    if (j->state == JOB_DONE)
        return;
    j->state = JOB_DONE;
    clock_timer_stop(&j->timer);
    j->row.status = status;
    if (j->filled > 0)
        j->row.executed_at = clock_now(x->clock);
    if (status == EXIT_STATUS_FILLED)
        metrics_observe(x->m_fill_latency, clock_now(x->clock) - j->decided_at);
    /* The final row and what the pipeline queues with it commit together. A unit that
     * cannot begin still saves the row (a write on its own), as it always has. */
    bool unit = store_unit_begin(x->db, NULL) == 0;
    save_row(j);
    if (x->hooks.in_done_unit)
        x->hooks.in_done_unit(x->hooks.ud, t, &j->row);
    if (unit && store_unit_commit(x->db, NULL) != 0)
        store_unit_abort(x->db, NULL);
    if (t->exit_job == j)
        t->exit_job = NULL;
    t->closing = false;
    if (status == EXIT_STATUS_FILLED && t->led.qty != 0)
        protect_remainder(j);
    if (x->hooks.on_done)
        x->hooks.on_done(x->hooks.ud, t, &j->row);
    if (j->supersede) {
        j->supersede = false;
        start_job(x, t, &j->next, j->next_price);
    }
    job_release(j); /* the trade's hold; frees the job unless a callback still holds it */
}

/* ---- placing orders ---- */

static money_t walk_step(money_t bid, money_t ask, money_t tick)
{
    money_t half = (ask - bid) / 2;
    half = money_round_to(half, tick, MONEY_ROUND_UP);
    return half > tick ? half : tick;
}

/* The limit price for the current strategy and walk: sells start at the bid
 * (aggressive), the mid (fair) or the ask (conservative) and walk down; buys mirror. */
static money_t limit_price(const exit_job *j, order_side side, money_t last, money_t bid,
                           money_t ask, money_t tick)
{
    if (bid <= 0 || ask <= 0 || ask < bid)
        bid = ask = last;
    price_strategy ps = j->x->cfg->exits.execution[j->priority].price;
    bool sell = side == SIDE_SELL;
    money_t base;
    switch (ps) {
    case PRICE_AGGRESSIVE:
        base = sell ? bid : ask;
        break;
    case PRICE_CONSERVATIVE:
        base = sell ? ask : bid;
        break;
    case PRICE_FAIR:
    default:
        base = bid + (ask - bid) / 2;
        break;
    }
    money_t step = walk_step(bid, ask, tick);
    money_t price = sell ? base - step * j->walks : base + step * j->walks;
    price = money_round_to(price, tick, sell ? MONEY_ROUND_DOWN : MONEY_ROUND_UP);
    return price > 0 ? price : tick;
}

static void on_timeout(clock_timer *timer, void *ud);
static void place_next(exit_job *j);

/* After a refusal: retry after a pause, or on a simulated clock at the next bar (a retry
 * in between would meet the same price and the same answer). */
static void wait_to_retry(exit_job *j)
{
    j->state = JOB_WAIT_RETRY;
    if (j->x->bar_driven)
        j->await_bar = true;
    else
        clock_timer_start(&j->timer, clock_now(j->x->clock) + RETRY_DELAY);
}

static void on_sent(void *ud, trade *t, int status, const char *msg)
{
    exit_job *j = ud;
    (void)t;
    if (j->state == JOB_WORKING && status != 0 && strcmp(j->coid, j->att.client_order_id) == 0) {
        j->att.status = ORDER_STATUS_REJECTED;
        store_exit_attempt_update(j->x->db, &j->att, NULL);
        store_event(j->x->db, clock_now(j->x->clock), j->x->cfg->name, j->t->row.id,
                    "exit_rejected", NULL, "%s: exit order %s refused: %s", j->t->row.symbol,
                    j->coid, msg ? msg : err_name(status));
        if (j->t->led.qty == 0)
            finish(j, j->filled > 0 ? EXIT_STATUS_FILLED : EXIT_STATUS_CANCELLED);
        else
            wait_to_retry(j);
    }
    job_release(j);
}

static void place_next(exit_job *j)
{
    exit_executor *x = j->x;
    trade *t = j->t;
    money_t open = abs_money(t->led.qty);
    money_t qty = j->target - j->filled;
    if (qty > open)
        qty = open;
    if (qty <= 0) {
        finish(j, j->filled > 0 ? EXIT_STATUS_FILLED : EXIT_STATUS_CANCELLED);
        return;
    }
    if (j->row.attempts >= MAX_ATTEMPTS) {
        store_event(x->db, clock_now(x->clock), x->cfg->name, t->row.id, "exit_failed", NULL,
                    "%s: exit gave up after %d orders; the monitor will decide again",
                    t->row.symbol, j->row.attempts);
        finish(j, EXIT_STATUS_FAILED);
        return;
    }
    order_request req = {0};
    snprintf(req.symbol, sizeof req.symbol, "%s", t->row.symbol);
    req.side = t->led.qty > 0 ? SIDE_SELL : SIDE_BUY;
    req.qty = qty;
    bool market = j->market || j->priority == EXIT_PRIORITY_CRITICAL;
    if (market) {
        req.type = ORDER_MARKET;
    } else {
        money_t last = 0, bid = 0, ask = 0;
        if (!x->hooks.quote || x->hooks.quote(x->hooks.ud, t, &last, &bid, &ask) != 0 || last <= 0)
            last = t->pos.current_price;
        req.type = ORDER_LIMIT;
        req.limit_price =
            limit_price(j, req.side, last, bid, ask, config_instrument(x->cfg, t->row.symbol).tick);
    }
    j->refs++;
    char err[256];
    int rc = exec_send(x->env, broker_priority_of_exit(j->priority), t, ORDER_ROLE_EXIT, &req,
                       on_sent, j, err, sizeof err);
    if (rc != 0) {
        j->refs--;
        store_event(x->db, clock_now(x->clock), x->cfg->name, t->row.id, "exit_failed", NULL,
                    "%s: could not send an exit order: %s", t->row.symbol, err);
        wait_to_retry(j);
        return;
    }
    snprintf(j->coid, sizeof j->coid, "%s", req.client_order_id);
    snprintf(t->exit_coid, sizeof t->exit_coid, "%s", req.client_order_id);
    if (j->row.attempts == 0) /* the first order: the legs' cancels included */
        metrics_observe(x->m_order_latency, clock_now(x->clock) - j->decided_at);
    j->order_qty = qty;
    j->order_filled = 0;
    j->order_awaited = 0;
    j->bars = 0;
    j->await_bar = false;
    j->row.attempts++;
    memset(&j->att, 0, sizeof j->att);
    j->att.position_id = t->pos.id;
    j->att.exit_id = j->row.id;
    j->att.attempt_number = j->row.attempts;
    j->att.order_type = req.type;
    snprintf(j->att.client_order_id, sizeof j->att.client_order_id, "%s", req.client_order_id);
    j->att.limit_price = req.limit_price;
    j->att.quantity = qty;
    j->att.status = ORDER_STATUS_NEW;
    j->att.placed_at = clock_now(x->clock);
    store_exit_attempt_insert(x->db, &j->att, NULL);
    save_row(j);
    j->state = JOB_WORKING;
    int timeout = x->cfg->exits.execution[j->priority].timeout_seconds;
    clock_timer_start(&j->timer, clock_now(x->clock) + (apex_time)timeout * APEX_SECOND);
    char pb[32], qb[32];
    log_event("%-13s ORDER    %-5s %s %s %s%s%s exit (attempt %d, %s)", x->cfg->name, t->row.symbol,
              order_side_name(req.side), money_format_trim(qty, 0, qb, sizeof qb),
              order_type_name(req.type), req.type == ORDER_LIMIT ? " @ " : "",
              req.type == ORDER_LIMIT ? money_format_trim(req.limit_price, 2, pb, sizeof pb) : "",
              j->row.attempts, exit_priority_name(j->priority));
}

/* The order timed out, was cancelled, or was refused: walk, go to market, or escalate. */
static void escalate(exit_job *j)
{
    const exit_execution_config *ec = &j->x->cfg->exits.execution[j->priority];
    if (j->priority == EXIT_PRIORITY_CRITICAL || j->market) {
        /* retried as market */
    } else if (j->walks < ec->max_walks) {
        j->walks++;
    } else if (ec->market_after_walks) {
        j->market = true;
    } else {
        /* Failed exits escalate step by step: LOW -> MEDIUM -> HIGH -> market. The
         * position's exit priority follows, so it agrees with its position_exits row. */
        j->priority--;
        j->walks = 0;
        snprintf(j->t->pos.exit_priority, sizeof j->t->pos.exit_priority, "%s",
                 exit_priority_name(j->priority));
        store_position_update(j->x->db, &j->t->pos, NULL);
    }
    place_next(j);
}

/* The working order is gone (cancelled, or final before the cancel): done when its fills
 * made the target, else the next order. */
static void after_cancel(exit_job *j)
{
    if (j->order_filled >= j->order_qty && j->filled >= j->target)
        finish(j, EXIT_STATUS_FILLED);
    else
        escalate(j);
}

static void on_cancel_reply(void *ud, const broker_reply *r)
{
    exit_job *j = ud;
    /* A cancel that comes too late says the order filled (all or part) before it: when
     * that is more than the fills heard (their event still on its way, or lost by the
     * stream and polling until reconciliation records it), walking on now would exit the
     * same quantity twice. The job waits for those fills (exit_executor_on_fill). */
    if (j->state == JOB_CANCEL_ORDER && r->order &&
        strcmp(r->order->client_order_id, j->coid) == 0 && r->order->filled_qty > j->order_filled)
        j->order_awaited = r->order->filled_qty;
    /* Cancelled or already final: either way the order no longer works. A superseded job
     * finishes on this reply, before the order's own update arrives, so the attempt row
     * learns here that its order was cancelled. */
    if (j->state == JOB_CANCEL_ORDER && r->status == 0 && r->order &&
        r->order->status == ORDER_STATUS_CANCELLED &&
        strcmp(r->order->client_order_id, j->coid) == 0 &&
        j->att.status != ORDER_STATUS_CANCELLED) {
        j->att.status = ORDER_STATUS_CANCELLED;
        store_exit_attempt_update(j->x->db, &j->att, NULL);
    }
    if (j->state != JOB_DONE && --j->cancels == 0) {
        if (j->supersede) {
            finish(j, EXIT_STATUS_CANCELLED);
        } else if (j->state == JOB_CANCEL_LEGS) {
            place_next(j);
        } else if (j->state == JOB_CANCEL_ORDER && j->order_filled >= j->order_awaited) {
            after_cancel(j);
        }
    }
    job_drop(j);
}

static void cancel_order_at(exit_job *j, const char *coid, broker_priority prio)
{
    job_hold(j);
    j->cancels++;
    if (broker_cancel_order(j->x->brk, prio, coid, on_cancel_reply, j) != 0) {
        broker_reply none = {.status = APEX_EIO};
        on_cancel_reply(j, &none);
    }
}

static void cancel_order(exit_job *j, const char *coid)
{
    cancel_order_at(j, coid, broker_priority_of_exit(j->priority));
}

static void on_timeout(clock_timer *timer, void *ud)
{
    exit_job *j = ud;
    (void)timer;
    if (j->state == JOB_WAIT_RETRY) {
        escalate(j);
        return;
    }
    if (j->state != JOB_WORKING)
        return;
    if (j->x->bar_driven && j->bars == 0) {
        j->await_bar = true; /* no bar since it was placed could have filled it */
        return;
    }
    store_event(j->x->db, clock_now(j->x->clock), j->x->cfg->name, j->t->row.id, "exit_timeout",
                NULL, "%s: exit order %s not filled within %d s; cancelling to walk or escalate",
                j->t->row.symbol, j->coid, j->x->cfg->exits.execution[j->priority].timeout_seconds);
    j->state = JOB_CANCEL_ORDER;
    cancel_order(j, j->coid);
}

/* ---- starting ---- */

typedef struct {
    char ids[32][BROKER_ID_MAX];
    bool sent_late[32]; /* still "new": its submit may be queued behind us */
    int n;
} leg_list;

static int gather_legs(void *ud, const store_order *o)
{
    leg_list *l = ud;
    bool leg = o->o.role == ORDER_ROLE_STOP_LOSS || o->o.role == ORDER_ROLE_TAKE_PROFIT;
    /* A protective stop placed after a partial exit may still be "new" (its submit not yet
     * answered): it is cancelled too, or it and the new exit would both sell the shares. */
    if (leg && !order_status_is_final(o->o.status) && l->n < 32) {
        l->sent_late[l->n] = o->o.status == ORDER_STATUS_NEW;
        snprintf(l->ids[l->n++], BROKER_ID_MAX, "%s", o->o.client_order_id);
    }
    return 0;
}

static void start_job(exit_executor *x, trade *t, const exit_decision *d, money_t price)
{
    exit_job *j = calloc(1, sizeof *j);
    if (!j)
        return;
    j->x = x;
    j->t = t;
    j->decision = *d;
    j->priority = d->priority;
    j->target = d->qty;
    j->decided_at = clock_now(x->clock);
    j->refs = 1; /* held by the trade until finish */
    LIST_INSERT_HEAD(&x->jobs, j, link);
    clock_timer_init(x->clock, &j->timer, on_timeout, j);
    store_position_exit *row = &j->row;
    row->position_id = t->pos.id;
    row->execution_id = t->row.id;
    snprintf(row->exit_reason, sizeof row->exit_reason, "%s", exit_condition_name(d->condition));
    snprintf(row->detail, sizeof row->detail, "%s", d->reason);
    row->exit_quantity = d->qty;
    row->partial_exit = d->condition == EXIT_PARTIAL_EXIT_TARGET || d->qty < abs_money(t->led.qty);
    row->unrealized_pnl = t->pos.unrealized_pnl;
    row->unrealized_pnl_pct = t->pos.unrealized_pnl_pct;
    row->triggered_at = clock_now(x->clock);
    row->status = EXIT_STATUS_WORKING;
    row->execution_strategy = job_strategy(j);
    row->exit_priority = j->priority;
    /* The decision (its position_exits row) and what it spends on the position (a partial
     * stage, the exit reason) are one unit, durable before any order goes out. */
    apex_error err = {0};
    store_unit_begin(x->db, NULL);
    int rc = store_exit_insert(x->db, row, &err);
    t->exit_job = j;
    t->closing = true;
    snprintf(t->pos.exit_reason, sizeof t->pos.exit_reason, "%s",
             exit_condition_name(d->condition));
    snprintf(t->pos.exit_priority, sizeof t->pos.exit_priority, "%s",
             exit_priority_name(d->priority));
    if (d->condition == EXIT_PARTIAL_EXIT_TARGET) {
        /* The stage is spent when it triggers, and that is durable before any order goes
         * out, so it can never fire twice: not after a reload, not after a restart. */
        t->pos.partial_stages_done |= 1 << d->partial_stage;
    }
    if (!rc)
        rc = store_position_update(x->db, &t->pos, &err);
    if (!rc)
        rc = store_unit_commit(x->db, &err);
    if (rc) {
        log_error("%s %s: cannot record the exit decision (%s); working it anyway, the store "
                  "will be reconciled on restart",
                  x->cfg->name, t->row.symbol, err.msg);
        store_unit_abort(x->db, NULL);
        if (x->hooks.on_write_error)
            x->hooks.on_write_error(x->hooks.ud, rc, "recording an exit decision", err.msg);
    }
    char pb[32];
    log_event("%-13s TRIGGER  %-5s %s (%s) at %s", x->cfg->name, t->row.symbol, d->reason,
              exit_priority_name(d->priority), money_format_trim(price, 2, pb, sizeof pb));

    leg_list legs = {.n = 0};
    store_orders_for_execution(x->db, t->row.id, gather_legs, &legs);
    j->state = JOB_CANCEL_LEGS;
    if (legs.n == 0) {
        place_next(j);
        return;
    }
    for (int i = 0; i < legs.n; i++) {
        /* A cancel must not overtake its order's own submit in the rate limiter: for an
         * order still "new", cancel at the priority its submit was sent with (HIGH, the
         * protective stop's), which the limiter serves in order. */
        broker_priority prio = broker_priority_of_exit(j->priority);
        if (legs.sent_late[i] && prio < BROKER_PRIORITY_HIGH)
            prio = BROKER_PRIORITY_HIGH;
        cancel_order_at(j, legs.ids[i], prio);
    }
}

int exit_executor_start(exit_executor *x, trade *t, const exit_decision *d, money_t price)
{
    if (d->condition == EXIT_NONE || d->qty <= 0 || t->led.qty == 0)
        return APEX_EINVAL;
    exit_job *j = job_of(t);
    if (j && j->state != JOB_DONE) {
        bool more_urgent = d->priority < j->priority;
        bool closes_all = d->qty >= abs_money(t->led.qty);
        if (!more_urgent || !closes_all)
            return APEX_EBUSY;
        if (j->supersede) {
            /* A supersede is already under way (its cancel in flight): a decision more
             * urgent than the one waiting takes its place, so a CRITICAL exit that comes
             * while a MEDIUM one waits for the LOW one's cancel is the one that starts. */
            if (d->priority >= j->next.priority)
                return APEX_EBUSY;
            store_event(x->db, clock_now(x->clock), x->cfg->name, t->row.id, "exit", NULL,
                        "%s: %s (%s) takes the place of the waiting %s exit", t->row.symbol,
                        d->reason, exit_priority_name(d->priority),
                        exit_condition_name(j->next.condition));
            j->next = *d;
            j->next_price = price;
            return 0;
        }
        /* Supersede: cancel what is working, then start the more urgent exit. */
        j->supersede = true;
        j->next = *d;
        j->next_price = price;
        store_event(x->db, clock_now(x->clock), x->cfg->name, t->row.id, "exit", NULL,
                    "%s: %s (%s) supersedes the working %s exit", t->row.symbol, d->reason,
                    exit_priority_name(d->priority), j->row.exit_reason);
        if (j->state == JOB_WORKING) {
            clock_timer_stop(&j->timer);
            j->state = JOB_CANCEL_ORDER;
            cancel_order(j, j->coid);
        } else if (j->state == JOB_WAIT_RETRY) {
            clock_timer_stop(&j->timer);
            finish(j, EXIT_STATUS_CANCELLED);
        }
        return 0;
    }
    start_job(x, t, d, price);
    return t->exit_job ? 0 : APEX_ENOMEM;
}

/* ---- events ---- */

void exit_executor_on_fill(exit_executor *x, trade *t, const broker_fill *f, const store_order *o)
{
    exit_job *j = job_of(t);
    (void)x;
    if (!j || j->state == JOB_DONE || strcmp(o->o.client_order_id, j->coid) != 0)
        return;
    j->filled += f->qty;
    j->order_filled += f->qty;
    money_t value = 0;
    money_mul(f->price, f->qty, MONEY_ROUND_NEAREST, &value);
    j->notional += value;
    j->att.filled_quantity = j->order_filled;
    j->att.status =
        j->order_filled >= j->order_qty ? ORDER_STATUS_FILLED : ORDER_STATUS_PARTIALLY_FILLED;
    store_exit_attempt_update(j->x->db, &j->att, NULL);
    save_row(j);
    if (j->state == JOB_CANCEL_ORDER) {
        /* The cancel reply decides; if it came first and said fills were due, the last
         * of them does. */
        if (j->cancels == 0 && j->order_awaited > 0 && j->order_filled >= j->order_awaited)
            after_cancel(j);
        return;
    }
    if (j->order_filled < j->order_qty)
        return; /* a partial fill: the order keeps working until filled or timed out */
    clock_timer_stop(&j->timer);
    if (j->filled >= j->target || t->led.qty == 0)
        finish(j, EXIT_STATUS_FILLED);
    else
        place_next(j);
}

/* An exit order the job has moved on from (cancelled to walk) reaches its final status:
 * its exit_attempts row follows. */
static void settle_attempt(exit_executor *x, const store_order *o)
{
    store_exit_attempt a;
    if (o->o.role != ORDER_ROLE_EXIT ||
        store_exit_attempt_by_order(x->db, o->o.client_order_id, &a) != 0 ||
        (a.status == o->o.status && a.filled_quantity == o->o.filled_qty))
        return;
    a.status = o->o.status;
    a.filled_quantity = o->o.filled_qty;
    store_exit_attempt_update(x->db, &a, NULL);
}

void exit_executor_on_order(exit_executor *x, trade *t, const store_order *o)
{
    exit_job *j = job_of(t);
    if (!j || j->state == JOB_DONE || strcmp(o->o.client_order_id, j->coid) != 0) {
        settle_attempt(x, o);
        return;
    }
    j->att.status = o->o.status;
    store_exit_attempt_update(j->x->db, &j->att, NULL);
    bool dead = o->o.status == ORDER_STATUS_REJECTED || o->o.status == ORDER_STATUS_EXPIRED ||
                o->o.status == ORDER_STATUS_CANCELLED;
    if (dead && j->state == JOB_WORKING) {
        /* Refused or cancelled by the broker (not by us): retry after a pause. */
        clock_timer_stop(&j->timer);
        wait_to_retry(j);
    }
}

void exit_executor_set_bar_driven(exit_executor *x, bool on)
{
    x->bar_driven = on;
}

void exit_executor_on_bar(exit_executor *x, trade *t)
{
    exit_job *j = job_of(t);
    if (!x->bar_driven || !j || j->state == JOB_DONE)
        return;
    j->bars++;
    if (j->await_bar) {
        /* Due now, after the bar's fills, which were queued before this timer. */
        j->await_bar = false;
        clock_timer_start(&j->timer, clock_now(x->clock));
    }
}

void exit_executor_forget(exit_executor *x, trade *t)
{
    exit_job *j = job_of(t);
    (void)x;
    if (!j)
        return;
    j->supersede = false;
    finish(j, j->filled > 0 ? EXIT_STATUS_FILLED : EXIT_STATUS_CANCELLED);
}

void exit_executor_drop(exit_executor *x, trade *t)
{
    exit_job *j = job_of(t);
    (void)x;
    if (!j)
        return;
    for (; j->trade_holds > 0; j->trade_holds--)
        trade_release(t);
    t->exit_job = NULL;
    job_free(j);
}

typedef struct {
    exit_executor *x;
    int64_t execution_id;
} resume_ctx;

static int close_stale(void *ud, const store_position_exit *e)
{
    resume_ctx *c = ud;
    if (e->execution_id != c->execution_id)
        return 0;
    store_position_exit row = *e;
    row.status = EXIT_STATUS_CANCELLED;
    store_exit_update(c->x->db, &row, NULL);
    store_event(c->x->db, clock_now(c->x->clock), c->x->cfg->name, e->execution_id, "exit", NULL,
                "exit %lld (%s) interrupted by a restart; the monitor re-evaluates",
                (long long)e->id, e->exit_reason);
    return 0;
}

void exit_executor_resume(exit_executor *x, trade *t)
{
    resume_ctx c = {.x = x, .execution_id = t->row.id};
    store_exits_working(x->db, close_stale, &c);
}
