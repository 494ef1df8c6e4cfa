#include "monitor/monitor.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics.h"
#include "util/err.h"
#include "util/hmap.h"
#include "util/log.h"
#include "util/vec.h"

/* Requests in flight, linked so that a monitor freed at shutdown (whose broker drops the
 * queued replies) frees them instead of leaking them. */
typedef struct inflight {
    struct inflight *prev, *next;
    void (*release)(struct inflight *self);
} inflight;

static void flush_quotes(clock_timer *timer, void *ud);
static void reconcile(clock_timer *timer, void *ud);

/* Where a symbol stands in the quote batch being built: its index in the request, valid
 * while `stamp` is the batch's. Indexed by symtab id, so building a batch compares no
 * names. */
typedef struct {
    uint32_t stamp;
    int index;
} batch_slot;

struct monitor {
    apex_clock *clock;
    /* A backtest: time follows the data, so a check runs when its symbol has a new bar
     * (monitor_on_bar) or a time-based condition falls due, never on a timer that would
     * see the price the last check saw. Live runs keep their cadence in wall time. */
    bool bar_driven;
    apex_time next_reconcile; /* bar-driven: reconcile on the first check at or after */
    broker *brk;
    store *db;
    const pipeline_config *cfg;
    monitor_hooks hooks;
    metrics_series *m_lag; /* apex_monitor_check_lag_seconds of the pipeline (metrics.h) */
    price_cache *cache;
    /* checks waiting for the next batched quote request */
    VEC(trade *) waiting;
    VEC(batch_slot) slots;
    uint32_t stamp;
    clock_timer flush_timer;
    clock_timer reconcile_timer;
    bool reconcile_armed;
    bool started;         /* monitor_start ran */
    int orders_in_flight; /* executions of the last round whose orders are still asked */
    /* Symbols reported as unknown_position and still held at the broker: reported once;
     * forgotten when the broker no longer holds them, so a new one is reported again.
     * Unknown positions are rare: a linear list. */
    VEC(struct unknown_seen {
        char symbol[SYMBOL_MAX];
        uint32_t round;
    })
    unknown;
    uint32_t round;
    inflight requests; /* list head */
    monitor_stats stats;
};

monitor *monitor_new(apex_clock *clock, broker *brk, store *db, const pipeline_config *cfg,
                     monitor_hooks hooks)
{
    monitor *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->clock = clock;
    m->brk = brk;
    m->db = db;
    m->cfg = cfg;
    m->hooks = hooks;
    m->m_lag = metrics_get(METRIC_MONITOR_CHECK_LAG, cfg->name);
    m->requests.prev = m->requests.next = &m->requests;
    m->cache = price_cache_new(cfg->monitoring.price_cache_ttl_s);
    if (!m->cache) {
        free(m);
        return NULL;
    }
    clock_timer_init(clock, &m->flush_timer, flush_quotes, m);
    clock_timer_init(clock, &m->reconcile_timer, reconcile, m);
    return m;
}

void monitor_free(monitor *m)
{
    if (!m)
        return;
    clock_timer_stop(&m->flush_timer);
    clock_timer_stop(&m->reconcile_timer);
    for (int i = 0; i < m->waiting.count; i++)
        trade_release(m->waiting.items[i]);
    while (m->requests.next != &m->requests) {
        inflight *r = m->requests.next;
        r->prev->next = r->next;
        r->next->prev = r->prev;
        r->release(r);
    }
    vec_free(&m->waiting);
    vec_free(&m->slots);
    vec_free(&m->unknown);
    price_cache_free(m->cache);
    free(m);
}

static void inflight_add(monitor *m, inflight *r, void (*release)(inflight *))
{
    r->release = release;
    r->next = m->requests.next;
    r->prev = &m->requests;
    m->requests.next->prev = r;
    m->requests.next = r;
}

static void inflight_remove(inflight *r)
{
    r->prev->next = r->next;
    r->next->prev = r->prev;
}

price_cache *monitor_prices(monitor *m)
{
    return m->cache;
}

void monitor_get_stats(const monitor *m, monitor_stats *out)
{
    *out = m->stats;
    out->cache_hits = price_cache_hits(m->cache);
}

/* |a - b| / b as a fraction, or a large number when b is 0. */
static money_t distance(money_t a, money_t b)
{
    money_t d = 0;
    if (b <= 0 || money_div(a > b ? a - b : b - a, b, MONEY_ROUND_NEAREST, &d) != 0)
        return MONEY_MAX;
    return d;
}

/* Seed 003 makes a check urgent within 2% of a level. That alone makes every check of an
 * intraday position urgent, its stop being nearer than 2% from the start; so the price
 * must also have covered the last near_distance_fraction of the way to the level: of the
 * entry's distance for the stop and the target, of the trail (peak to stop) for the
 * trailing stop. A 0.5% stop is then urgent in its last 0.125%, a 10% one within 2%. */
static bool near_level(const monitoring_config *mc, money_t price, money_t level, money_t from,
                       money_t near_pct)
{
    if (level <= 0 || distance(price, level) > near_pct)
        return false;
    if (mc->near_distance_fraction >= MONEY_SCALE || from <= 0)
        return true;
    money_t span = from > level ? from - level : level - from;
    money_t gap = price > level ? price - level : level - price;
    money_t limit;
    if (money_mul(span, mc->near_distance_fraction, MONEY_ROUND_NEAREST, &limit) != 0)
        return true;
    return gap <= limit;
}

const char *monitor_urgent_level(const monitor *m, const trade *t, money_t price, money_t *level)
{
    const monitoring_config *mc = &m->cfg->monitoring;
    const store_position *p = &t->pos;
    if (price <= 0)
        return NULL;
    money_t entry = p->entry_price;
    const char *which = NULL;
    if (near_level(mc, price, p->stop_loss, entry, mc->near_stop_loss_pct)) {
        which = "stop";
        *level = p->stop_loss;
    } else if (near_level(mc, price, p->take_profit, entry, mc->near_profit_target_pct)) {
        which = "target";
        *level = p->take_profit;
    } else if (p->trailing_stop_active) {
        /* The trail's own length: from the best price so far (the peak may lag this one). */
        bool is_long = p->side == SIDE_BUY;
        money_t best = p->peak_price;
        if (best <= 0 || (is_long ? price > best : price < best))
            best = price;
        if (near_level(mc, price, p->trailing_stop_price, best, mc->near_trailing_stop_pct)) {
            which = "trailing stop";
            *level = p->trailing_stop_price;
        }
    }
    return which;
}

int monitor_cadence(const monitor *m, const trade *t, money_t price)
{
    money_t level;
    return monitor_urgent_level(m, t, price, &level) ? m->cfg->monitoring.urgent_frequency_s
                                                     : m->cfg->monitoring.normal_frequency_s;
}

void monitor_mark(trade *t, money_t price, apex_time ts)
{
    if (!t->has_pos || !t->pos.open || price <= 0)
        return;
    store_position *p = &t->pos;
    p->current_price = price;
    p->unrealized_pnl = ledger_unrealized(&t->led, price);
    money_t basis = t->led.cost_basis < 0 ? -t->led.cost_basis : t->led.cost_basis;
    if (basis > 0)
        money_div(p->unrealized_pnl, basis, MONEY_ROUND_NEAREST, &p->unrealized_pnl_pct);
    bool is_long = p->side == SIDE_BUY;
    if (p->peak_price == 0 || (is_long ? price > p->peak_price : price < p->peak_price))
        p->peak_price = price;
    (void)ts;
}

static void schedule(monitor *m, trade *t, apex_time due)
{
    (void)m;
    t->row.next_check_at = due;
    clock_timer_start(&t->check_timer, due);
}

/* After a check: the next one at the cadence (live), or, on a simulated clock, on the
 * symbol's next bar unless a time-based condition falls due first. */
static void schedule_next(monitor *m, trade *t, int cadence_s)
{
    apex_time now = clock_now(m->clock);
    if (!m->bar_driven) {
        schedule(m, t, now + (apex_time)cadence_s * APEX_SECOND);
        return;
    }
    apex_time due = m->hooks.next_time_due ? m->hooks.next_time_due(m->hooks.ud, t, now) : 0;
    if (due > now) {
        schedule(m, t, due);
    } else {
        clock_timer_stop(&t->check_timer);
        t->row.next_check_at = 0;
    }
}

static void persist(monitor *m, trade *t, bool force)
{
    apex_time now = clock_now(m->clock);
    /* REQ-MON-005: P&L lives in memory; the row is written on a state change or once per
     * persist interval, not on every check. On a simulated clock nobody reads the store
     * until the run ends (pipeline_finish writes the final view), so only state changes
     * are written. */
    if (!force &&
        (clock_is_simulated(m->clock) ||
         now - t->last_persist < (apex_time)m->cfg->monitoring.persist_interval_s * APEX_SECOND))
        return;
    t->last_persist = now;
    t->pos.last_update = now;
    if (t->has_pos)
        store_position_update(m->db, &t->pos, NULL);
    t->row.updated_at = now;
    store_execution_update(m->db, &t->row, NULL);
}

/* A broker failure: back off (1, 2, 4, 8, 16 min), stay monitoring, and say so. */
static void backoff(monitor *m, trade *t, const char *what, const char *error)
{
    const monitoring_config *mc = &m->cfg->monitoring;
    apex_time now = clock_now(m->clock);
    int step =
        t->row.retry_count < mc->nretry_backoff ? t->row.retry_count : mc->nretry_backoff - 1;
    int delay = mc->nretry_backoff > 0 ? mc->retry_backoff_s[step] : mc->normal_frequency_s;
    t->row.retry_count++;
    /* Past the last step of the backoff: an outage, not a blip. Flagged once; the checks
     * go on at the last step until the broker answers (recovered clears the flag). */
    bool outage = mc->nretry_backoff > 0 && t->row.retry_count == mc->nretry_backoff + 1;
    bool flagged = mc->nretry_backoff > 0 && t->row.retry_count > mc->nretry_backoff;
    snprintf(t->row.reason, sizeof t->row.reason, "%sbroker error (attempt %d): %s",
             flagged ? "BROKER OUTAGE, flagged: " : "", t->row.retry_count, error);
    store_event(m->db, now, m->cfg->name, t->row.id, "broker_error", NULL,
                "%s: %s failed: %s; retrying in %d s", t->row.symbol, what, error, delay);
    log_warn("%s %s: %s failed (%s); retry %d in %d s", m->cfg->name, t->row.symbol, what, error,
             t->row.retry_count, delay);
    if (outage) {
        store_event(m->db, now, m->cfg->name, t->row.id, "broker_outage", NULL,
                    "%s: the broker failed %d checks in a row, through every step of "
                    "monitoring.retry_backoff; the execution is flagged and still monitored "
                    "every %d s: %s",
                    t->row.symbol, t->row.retry_count, delay, error);
        if (m->hooks.on_outage)
            m->hooks.on_outage(m->hooks.ud, t, t->row.retry_count, error);
    }
    schedule(m, t, now + (apex_time)delay * APEX_SECOND);
    persist(m, t, true);
}

static void recovered(monitor *m, trade *t)
{
    if (!t->row.retry_count)
        return;
    store_event(m->db, clock_now(m->clock), m->cfg->name, t->row.id, "broker_ok", NULL,
                "%s: broker reachable again after %d failed checks", t->row.symbol,
                t->row.retry_count);
    t->row.retry_count = 0;
    t->row.reason[0] = '\0';
    persist(m, t, true);
}

/* A check with a price: mark, evaluate, schedule the next one. */
static void check_with_quote(monitor *m, trade *t, const broker_quote *q)
{
    const monitoring_config *mc = &m->cfg->monitoring;
    apex_time now = clock_now(m->clock);
    recovered(m, t);
    m->stats.checks++;
    monitor_mark(t, q->last, now);
    int prev = t->row.monitor_interval_s;
    if (m->hooks.evaluate_exit)
        m->hooks.evaluate_exit(m->hooks.ud, t, q);
    if (trade_is_finished(t))
        return;
    money_t level = 0;
    const char *near = monitor_urgent_level(m, t, q->last, &level);
    int cadence = near ? mc->urgent_frequency_s : mc->normal_frequency_s;
    t->row.monitor_interval_s = cadence;
    schedule_next(m, t, cadence);
    bool changed = cadence != prev;
    if (changed || log_get_level() <= LOG_INFO) {
        char pb[32], pnl[32], pct[32], why[96] = "";
        if (near) {
            char lb[32], gb[32];
            money_t gap = q->last > level ? q->last - level : level - q->last;
            snprintf(why, sizeof why, " (urgent: %s from the %s at %s)",
                     money_format_trim(gap, 2, gb, sizeof gb), near,
                     money_format_trim(level, 2, lb, sizeof lb));
        }
        log_msg(changed ? LOG_EVENT : LOG_INFO,
                "%-13s MONITOR  %-5s %s @ %s  P&L %s (%s%%)  next check %d s%s", m->cfg->name,
                t->row.symbol, t->pos.side == SIDE_BUY ? "long" : "short",
                money_format(q->last, 2, pb, sizeof pb),
                money_format(t->pos.unrealized_pnl, 2, pnl, sizeof pnl),
                money_format(t->pos.unrealized_pnl_pct * 100, 2, pct, sizeof pct), cadence, why);
    }
    persist(m, t, changed);
}

/* ---- confirming a close with the broker ---- */

typedef struct {
    inflight link; /* first */
    monitor *m;
    trade *t;
} confirm_req;

/* Shutdown: the reply will never come; the request gives its hold on the trade back. */
static void release_confirm(inflight *r)
{
    confirm_req *c = (confirm_req *)r;
    trade_release(c->t);
    free(c);
}

static void on_confirm_reply(void *ud, const broker_reply *r)
{
    confirm_req *c = ud;
    monitor *m = c->m;
    trade *t = c->t;
    inflight_remove(&c->link);
    free(c);
    if (!trade_release(t))
        return;
    if (r->status != 0 && r->status != APEX_ENOTFOUND) {
        backoff(m, t, "position check", r->error[0] ? r->error : err_name(r->status));
        return;
    }
    recovered(m, t);
    bool flat = r->npositions == 0 || r->positions[0].qty == 0;
    if (flat) {
        m->hooks.on_flat(m->hooks.ud, t);
        return;
    }
    /* The broker still shows a position our fills say is closed: fills still on their
     * way. Look again shortly. */
    schedule(m, t,
             clock_now(m->clock) + (apex_time)m->cfg->monitoring.urgent_frequency_s * APEX_SECOND);
}

static void confirm_flat(monitor *m, trade *t)
{
    confirm_req *c = malloc(sizeof *c);
    if (!c)
        return;
    c->m = m;
    c->t = t;
    inflight_add(m, &c->link, release_confirm);
    trade_hold(t);
    if (broker_get_position(m->brk, BROKER_PRIORITY_ROUTINE, t->row.symbol, on_confirm_reply, c) !=
        0) {
        broker_reply fail = {.status = APEX_EIO};
        snprintf(fail.error, sizeof fail.error, "request could not be sent");
        on_confirm_reply(c, &fail);
    }
}

/* ---- batched quotes ---- */

typedef struct {
    inflight link; /* first */
    monitor *m;
    trade **trades;
    int n;
    int *slot;            /* per trade: its symbol's index in `symbols` */
    const char **symbols; /* distinct, borrowed from the held trades' rows */
    int nsymbols;
} quote_batch;

static void free_batch(quote_batch *b)
{
    free(b->trades);
    free(b->slot);
    free(b->symbols);
    free(b);
}

/* Shutdown: the reply will never come; the batch gives its holds on the trades back. */
static void release_batch(inflight *r)
{
    quote_batch *b = (quote_batch *)r;
    for (int k = 0; k < b->n; k++)
        trade_release(b->trades[k]);
    free_batch(b);
}

/* The reply's quote for each requested symbol. Brokers answer in the order asked, which
 * costs one comparison per quote; a reply in another order is matched through a hash of
 * the requested names. */
static void match_quotes(const quote_batch *b, const broker_reply *r, const broker_quote **out)
{
    for (int i = 0; i < b->nsymbols; i++)
        out[i] = NULL;
    hmap index;
    hmap_init(&index);
    bool indexed = false;
    for (int i = 0; i < r->nquotes; i++) {
        const broker_quote *q = &r->quotes[i];
        int at = -1;
        if (i < b->nsymbols && strcmp(q->symbol, b->symbols[i]) == 0) {
            at = i;
        } else {
            if (!indexed) {
                for (int k = 0; k < b->nsymbols; k++)
                    hmap_insert(&index, b->symbols[k], strlen(b->symbols[k]),
                                (hmap_value){.i64 = k});
                indexed = true;
            }
            hmap_entry *e = hmap_find_str(&index, q->symbol);
            at = e ? (int)e->value.i64 : -1;
        }
        if (at >= 0)
            out[at] = q;
    }
    hmap_free(&index);
}

static void on_quotes(void *ud, const broker_reply *r)
{
    quote_batch *b = ud;
    monitor *m = b->m;
    apex_time now = clock_now(m->clock);
    inflight_remove(&b->link);
    const broker_quote **quote = calloc((size_t)b->nsymbols, sizeof *quote);
    if (quote && r->status == 0)
        match_quotes(b, r, quote);
    for (int k = 0; k < b->n; k++) {
        trade *t = b->trades[k];
        const broker_quote *q = quote ? quote[b->slot[k]] : NULL;
        /* The check uses the reply itself, so the cache's hit count counts only checks a
         * cached price answered. */
        if (q)
            price_cache_put(m->cache, t->symbol_id, q, now);
        if (!trade_release(t))
            continue;
        if (q && q->last > 0)
            check_with_quote(m, t, q);
        else
            backoff(m, t, "price request",
                    r->status != 0 && r->error[0] ? r->error
                    : !quote                      ? "out of memory"
                                                  : "no quote for the symbol");
    }
    free(quote);
    free_batch(b);
}

static void flush_quotes(clock_timer *timer, void *ud)
{
    monitor *m = ud;
    (void)timer;
    if (m->waiting.count == 0)
        return;
    quote_batch *b = calloc(1, sizeof *b);
    int n = m->waiting.count;
    if (b) {
        b->slot = malloc((size_t)n * sizeof *b->slot);
        b->symbols = malloc((size_t)n * sizeof *b->symbols);
    }
    if (!b || !b->slot || !b->symbols) {
        if (b) {
            free(b->slot);
            free(b->symbols);
        }
        free(b);
        clock_timer_start(&m->flush_timer, clock_now(m->clock) + APEX_SECOND);
        return;
    }
    b->m = m;
    b->trades = m->waiting.items; /* the batch takes the array */
    b->n = n;
    vec_init(&m->waiting);
    /* One request for every distinct symbol that needs a price, found by symbol id. */
    m->stamp++;
    for (int k = 0; k < n; k++) {
        int id = b->trades[k]->symbol_id;
        batch_slot *slot =
            id >= 0 && vec_extend_zeroed(&m->slots, id + 1) == 0 ? &m->slots.items[id] : NULL;
        if (slot && slot->stamp == m->stamp) {
            b->slot[k] = slot->index;
            continue;
        }
        if (slot) {
            slot->stamp = m->stamp;
            slot->index = b->nsymbols;
        }
        b->slot[k] = b->nsymbols;
        b->symbols[b->nsymbols++] = b->trades[k]->row.symbol;
    }
    inflight_add(m, &b->link, release_batch);
    m->stats.quote_requests++;
    m->stats.quoted_symbols += (uint64_t)b->nsymbols;
    if (broker_get_quotes(m->brk, BROKER_PRIORITY_ROUTINE, b->symbols, b->nsymbols, on_quotes, b) !=
        0) {
        broker_reply fail = {.status = APEX_EIO};
        snprintf(fail.error, sizeof fail.error, "quote request could not be sent");
        on_quotes(b, &fail);
    }
}

static void want_quote(monitor *m, trade *t)
{
    if (vec_push(&m->waiting, t) != 0) {
        schedule(m, t, clock_now(m->clock) + APEX_SECOND);
        return;
    }
    trade_hold(t);
    if (!clock_timer_active(&m->flush_timer))
        clock_timer_start(&m->flush_timer, clock_now(m->clock));
}

/* ---- reconciliation: orders and positions the listener never heard of ---- */

/* Not monitored yet: an entry still being sent, or a restarted execution that exec is
 * still reconciling (its missed fills, not the position list, must decide how it ended). */
static bool monitored(const trade *t)
{
    return !trade_is_finished(t) && t->check_timer.clock;
}

typedef struct {
    const char *symbol;
    bool found;
} symbol_query;

static int find_symbol(void *ud, const store_execution *e)
{
    symbol_query *q = ud;
    q->found = strcmp(e->symbol, q->symbol) == 0;
    return q->found; /* stop at the first */
}

static struct unknown_seen *unknown_find(monitor *m, const char *symbol)
{
    for (int i = 0; i < m->unknown.count; i++)
        if (strcmp(m->unknown.items[i].symbol, symbol) == 0)
            return &m->unknown.items[i];
    return NULL;
}

/* Positions at the broker that no active execution in the store knows (of this pipeline
 * or of another one sharing the account): opened by hand, or left by a run whose store
 * this is not. Reported once per symbol, never traded (the entry path skips a symbol the
 * broker holds) and never closed. */
static void report_unknown(monitor *m, const broker_reply *r, hmap *held)
{
    m->round++;
    bool complete = true;
    apex_time now = clock_now(m->clock);
    for (int i = 0; i < r->npositions && complete; i++) {
        const broker_position *bp = &r->positions[i];
        if (bp->qty == 0 || hmap_find_str(held, bp->symbol) == NULL)
            continue;
        struct unknown_seen *seen = unknown_find(m, bp->symbol);
        if (seen) {
            seen->round = m->round;
            continue;
        }
        /* Rare (a symbol another pipeline on this account trades, or a new unknown one):
         * one look at the active executions of every pipeline in the store. */
        symbol_query q = {.symbol = bp->symbol};
        if (store_executions_active(m->db, NULL, find_symbol, &q) < 0) {
            complete = false;
            break;
        }
        if (q.found)
            continue;
        struct unknown_seen *add = vec_push_zeroed(&m->unknown);
        if (!add)
            break; /* out of memory: reported at the next round */
        snprintf(add->symbol, sizeof add->symbol, "%s", bp->symbol);
        add->round = m->round;
        m->stats.unknown_positions++;
        char qb[32], pb[32];
        money_t qty = bp->qty < 0 ? -bp->qty : bp->qty;
        const char *side = bp->qty < 0 ? "short" : "long";
        money_format_trim(qty, 0, qb, sizeof qb);
        money_format_trim(bp->avg_entry_price, 2, pb, sizeof pb);
        store_event(m->db, now, m->cfg->name, 0, "unknown_position", NULL,
                    "%s: %s %s (avg entry %s) at the broker, known to no execution: never "
                    "traded or closed",
                    bp->symbol, side, qb, pb);
        log_warn("%-13s UNKNOWN  %s: %s %s at the broker that no execution knows; not traded, not "
                 "closed",
                 m->cfg->name, bp->symbol, side, qb);
    }
    /* Gone from the broker: forgotten, so a new position there is reported again. Only
     * after a complete pass: a partial one saw only some of them. */
    for (int i = 0; complete && i < m->unknown.count;)
        if (m->unknown.items[i].round != m->round)
            m->unknown.items[i] = m->unknown.items[--m->unknown.count];
        else
            i++;
}

static void on_positions(void *ud, const broker_reply *r)
{
    monitor *m = ud;
    if (r->status != 0)
        return; /* the per-trade checks report broker trouble */
    /* The broker's held symbols, hashed: with 10,000 positions a scan per trade was 10^8
     * name compares per reconciliation. */
    hmap held;
    hmap_init(&held);
    bool indexed = true;
    for (int i = 0; i < r->npositions && indexed; i++)
        if (r->positions[i].qty != 0 &&
            hmap_insert(&held, r->positions[i].symbol, strlen(r->positions[i].symbol),
                        (hmap_value){.i64 = i}) == APEX_ENOMEM)
            indexed = false;
    trade *first = m->hooks.first_trade ? m->hooks.first_trade(m->hooks.ud) : NULL;
    for (trade *t = first; t && indexed; t = t->next) {
        if (!monitored(t) || !t->has_pos || t->led.qty == 0 || t->closing ||
            t->row.status != EXEC_MONITORING)
            continue;
        if (!hmap_find_str(&held, t->row.symbol))
            confirm_flat(m, t); /* ask once more for this symbol, then complete */
    }
    /* What no trade of ours holds may be unknown. */
    for (trade *t = first; t && indexed; t = t->next)
        if (!trade_is_finished(t))
            hmap_remove(&held, t->row.symbol, strlen(t->row.symbol));
    if (indexed)
        report_unknown(m, r, &held);
    hmap_free(&held); /* out of memory: nothing is concluded; the next one tries again */
}

static void on_orders_reconciled(void *ud, trade *t, int status, const char *msg)
{
    monitor *m = ud;
    (void)t;
    (void)status; /* broker trouble: the per-trade checks report it; the next round asks */
    (void)msg;
    m->orders_in_flight--;
}

/* Every non-final order of every monitored execution, by client order id. A round whose
 * questions are still waiting in the rate limiter is not doubled by the next one. */
static void reconcile_orders(monitor *m)
{
    if (!m->hooks.reconcile_orders || m->orders_in_flight > 0)
        return;
    for (trade *t = m->hooks.first_trade ? m->hooks.first_trade(m->hooks.ud) : NULL; t;
         t = t->next) {
        if (!monitored(t))
            continue;
        m->orders_in_flight++;
        m->stats.orders_reconciled++;
        if (m->hooks.reconcile_orders(m->hooks.ud, t, on_orders_reconciled, m) != 0)
            m->orders_in_flight--;
    }
}

/* 0: at start-up only. */
static apex_time reconcile_period(const monitor *m)
{
    return (apex_time)m->cfg->monitoring.reconcile_s * APEX_SECOND;
}

static void reconcile(clock_timer *timer, void *ud)
{
    monitor *m = ud;
    (void)timer;
    m->stats.reconciliations++;
    broker_list_positions(m->brk, BROKER_PRIORITY_ROUTINE, on_positions, m);
    /* A backtest's paper broker tells the listener everything, in order, and its results
     * must not change with calls that cannot find anything: positions only there. */
    if (!m->bar_driven)
        reconcile_orders(m);
    if (!m->bar_driven && reconcile_period(m) > 0)
        clock_timer_start(&m->reconcile_timer, clock_now(m->clock) + reconcile_period(m));
}

void monitor_start(monitor *m)
{
    if (m->started || m->bar_driven)
        return;
    m->started = m->reconcile_armed = true;
    /* On the clock's next turn: after the restart's own reconciliation was issued. */
    clock_timer_start(&m->reconcile_timer, clock_now(m->clock));
}

/* Live: the timer monitor_start armed, or the first check arms it (a monitor never
 * started). On a simulated clock a timer would run through every quiet hour of daily
 * data: there the first check at or after the period reconciles instead. */
static void reconcile_if_due(monitor *m)
{
    apex_time now = clock_now(m->clock);
    if (reconcile_period(m) <= 0)
        return;
    if (m->bar_driven) {
        if (!m->next_reconcile) {
            m->next_reconcile = now + reconcile_period(m);
        } else if (now >= m->next_reconcile) {
            m->next_reconcile = now + reconcile_period(m);
            reconcile(&m->reconcile_timer, m);
        }
        return;
    }
    if (!m->reconcile_armed) {
        m->reconcile_armed = true;
        clock_timer_start(&m->reconcile_timer, now + reconcile_period(m));
    }
}

/* ---- the check ---- */

static void on_check_timer(clock_timer *timer, void *ud)
{
    monitor *m = ud;
    trade *t = (trade *)((char *)timer - offsetof(trade, check_timer));
    if (trade_is_finished(t))
        return;
    /* How late the loop ran it: a busy loop or a slow callback before it shows here. */
    apex_time lag = clock_now(m->clock) - timer->due;
    metrics_observe(m->m_lag, lag > 0 ? lag : 0);
    reconcile_if_due(m);
    if (t->has_pos && t->led.qty == 0) {
        confirm_flat(m, t); /* our fills say closed: the broker confirms */
        return;
    }
    if (!t->has_pos) {
        /* The entry has not filled yet (a working order): keep waiting, live at the
         * cadence, on a simulated clock for the symbol's next bar. */
        if (!m->bar_driven)
            schedule(m, t,
                     clock_now(m->clock) +
                         (apex_time)m->cfg->monitoring.normal_frequency_s * APEX_SECOND);
        return;
    }
    broker_quote q;
    if (price_cache_get(m->cache, t->symbol_id, clock_now(m->clock), &q) == 0 && q.last > 0)
        check_with_quote(m, t, &q);
    else
        want_quote(m, t);
}

void monitor_watch(monitor *m, trade *t, apex_time first_check)
{
    apex_time now = clock_now(m->clock);
    if (!t->row.monitor_interval_s)
        t->row.monitor_interval_s = m->cfg->monitoring.normal_frequency_s;
    if (!t->check_timer.clock)
        clock_timer_init(m->clock, &t->check_timer, on_check_timer, m);
    if (first_check <= 0 && m->bar_driven) {
        schedule_next(m, t, 0); /* the symbol's next bar, or a time-based condition */
        return;
    }
    if (first_check <= 0)
        first_check = now + (apex_time)m->cfg->monitoring.normal_frequency_s * APEX_SECOND;
    if (first_check < now)
        first_check = now;
    schedule(m, t, first_check);
}

void monitor_set_bar_driven(monitor *m, bool on)
{
    m->bar_driven = on;
}

void monitor_on_bar(monitor *m, trade *t)
{
    /* The broker simulates from these bars: a quote cached before this one is stale. */
    price_cache_invalidate(m->cache, t->symbol_id);
    if (!m->bar_driven || trade_is_finished(t) || !t->check_timer.clock)
        return;
    apex_time now = clock_now(m->clock);
    if (!clock_timer_active(&t->check_timer) || t->check_timer.due > now)
        schedule(m, t, now); /* after the bar's own fills, which were queued first */
}

void monitor_unwatch(monitor *m, trade *t)
{
    (void)m;
    if (t->check_timer.clock)
        clock_timer_stop(&t->check_timer);
}

void monitor_check_soon(monitor *m, trade *t)
{
    if (!trade_is_finished(t) && t->check_timer.clock)
        schedule(m, t, clock_now(m->clock));
}
