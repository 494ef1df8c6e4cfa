#include "monitor/monitor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/log.h"

struct monitor {
    apex_clock *clock;
    broker *brk;
    store *db;
    const pipeline_config *cfg;
    const price_table *prices;
    monitor_hooks hooks;
    uint64_t checks, broker_checks;
};

typedef struct {
    monitor *m;
    trade *t;
} check_req;

monitor *monitor_new(apex_clock *clock, broker *brk, store *db, const pipeline_config *cfg,
                     const price_table *prices, monitor_hooks hooks)
{
    monitor *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->clock = clock;
    m->brk = brk;
    m->db = db;
    m->cfg = cfg;
    m->prices = prices;
    m->hooks = hooks;
    return m;
}

void monitor_free(monitor *m)
{
    free(m);
}

uint64_t monitor_checks(const monitor *m)
{
    return m->checks;
}

uint64_t monitor_broker_checks(const monitor *m)
{
    return m->broker_checks;
}

/* |a - b| / b as a fraction, or a large number when b is 0. */
static money_t distance(money_t a, money_t b)
{
    money_t d = 0;
    if (b <= 0 || money_div(a > b ? a - b : b - a, b, MONEY_ROUND_NEAREST, &d) != 0)
        return MONEY_MAX;
    return d;
}

int monitor_cadence(const monitor *m, const trade *t, money_t price)
{
    const monitoring_config *mc = &m->cfg->monitoring;
    const store_position *p = &t->pos;
    if (price > 0) {
        if ((p->stop_loss && distance(price, p->stop_loss) <= mc->near_stop_loss_pct) ||
            (p->take_profit && distance(price, p->take_profit) <= mc->near_profit_target_pct) ||
            (p->trailing_stop_active &&
             distance(price, p->trailing_stop_price) <= mc->near_trailing_stop_pct))
            return mc->urgent_frequency_s;
    }
    return mc->normal_frequency_s;
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
    t->row.next_check_at = due;
    clock_timer_start(&t->check_timer, due);
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
        store_position_update(m->db, &t->pos);
    t->row.updated_at = now;
    store_execution_update(m->db, &t->row);
}

static void on_position_reply(void *ud, const broker_reply *reply)
{
    check_req *req = ud;
    monitor *m = req->m;
    trade *t = req->t;
    free(req);
    t->pending--;
    if (t->finished)
        return;
    apex_time now = clock_now(m->clock);
    const monitoring_config *mc = &m->cfg->monitoring;

    if (reply->status != 0 && reply->status != APEX_ENOTFOUND) {
        /* Broker failure: back off, stay monitoring, and say so where a trader looks. */
        int step =
            t->row.retry_count < mc->nretry_backoff ? t->row.retry_count : mc->nretry_backoff - 1;
        int delay = mc->nretry_backoff > 0 ? mc->retry_backoff_s[step] : mc->normal_frequency_s;
        t->row.retry_count++;
        snprintf(t->row.reason, sizeof t->row.reason, "broker error (attempt %d): %s",
                 t->row.retry_count, reply->error);
        store_event(m->db, now, m->cfg->name, t->row.id, "broker_error",
                    "%s: position check failed: %s; retrying in %d s", t->row.symbol, reply->error,
                    delay);
        log_warn("%s %s: position check failed (%s); retry %d in %d s", m->cfg->name, t->row.symbol,
                 reply->error, t->row.retry_count, delay);
        schedule(m, t, now + (apex_time)delay * APEX_SECOND);
        persist(m, t, true);
        return;
    }
    if (t->row.retry_count) {
        store_event(m->db, now, m->cfg->name, t->row.id, "broker_ok",
                    "%s: broker reachable again after %d failed checks", t->row.symbol,
                    t->row.retry_count);
        t->row.retry_count = 0;
        t->row.reason[0] = '\0';
        persist(m, t, true);
    }

    bool flat = reply->npositions == 0 || reply->positions[0].qty == 0;
    if (flat) {
        if (t->has_pos || t->led.qty != 0) {
            m->hooks.on_flat(m->hooks.ud, t);
            return;
        }
        /* The entry has not filled yet (a working limit): keep waiting. */
        schedule(m, t, now + (apex_time)mc->normal_frequency_s * APEX_SECOND);
        return;
    }
    money_t price = reply->positions[0].market_price;
    monitor_mark(t, price, now);
    int prev_cadence = t->row.monitor_interval_s;
    if (m->hooks.evaluate_exit && !t->closing)
        m->hooks.evaluate_exit(m->hooks.ud, t, price);
    if (t->finished)
        return;
    int cadence = monitor_cadence(m, t, price);
    t->row.monitor_interval_s = cadence;
    schedule(m, t, now + (apex_time)cadence * APEX_SECOND);
    bool changed = cadence != prev_cadence;
    if (changed || log_get_level() <= LOG_INFO) {
        char pb[32], pnl[32], pct[32];
        log_msg(changed ? LOG_EVENT : LOG_INFO,
                "%-13s monitor  %-5s %s @ %s  P&L %s (%s%%)  next check %d s%s", m->cfg->name,
                t->row.symbol, t->pos.side == SIDE_BUY ? "long" : "short",
                money_format(price, 2, pb, sizeof pb),
                money_format(t->pos.unrealized_pnl, 2, pnl, sizeof pnl),
                money_format(t->pos.unrealized_pnl_pct * 100, 2, pct, sizeof pct), cadence,
                cadence == mc->urgent_frequency_s ? " (urgent: near a level)" : "");
    }
    persist(m, t, changed);
}

static void on_check_timer(clock_timer *timer, void *ud)
{
    monitor *m = ud;
    trade *t = (trade *)((char *)timer - offsetof(trade, check_timer));
    if (t->finished)
        return;
    m->checks++;
    /* A broker that simulates from market data can only have changed if a bar for this
     * symbol or an order event arrived since the last check: otherwise the answer would be
     * the same, so the check is settled from memory (same P&L, same exit decision). */
    const price_entry *pe = m->prices ? price_table_get(m->prices, t->symbol_id) : NULL;
    if (m->brk->ops->on_bar && pe && t->has_pos && t->pos.open && !t->broker_changed &&
        t->row.retry_count == 0 && pe->ts == t->checked_bar_ts) {
        apex_time now = clock_now(m->clock);
        int cadence = monitor_cadence(m, t, t->pos.current_price);
        t->row.monitor_interval_s = cadence;
        schedule(m, t, now + (apex_time)cadence * APEX_SECOND);
        return;
    }
    t->checked_bar_ts = pe ? pe->ts : 0;
    t->broker_changed = false;
    check_req *req = malloc(sizeof *req);
    if (!req)
        return;
    req->m = m;
    req->t = t;
    t->pending++;
    m->broker_checks++;
    if (broker_get_position(m->brk, t->row.symbol, on_position_reply, req) != 0) {
        broker_reply fail = {.status = APEX_EIO};
        snprintf(fail.error, sizeof fail.error, "request could not be sent");
        on_position_reply(req, &fail);
    }
}

void monitor_watch(monitor *m, trade *t, apex_time first_check)
{
    apex_time now = clock_now(m->clock);
    if (first_check <= 0)
        first_check = now + (apex_time)m->cfg->monitoring.normal_frequency_s * APEX_SECOND;
    if (first_check < now)
        first_check = now;
    if (!t->row.monitor_interval_s)
        t->row.monitor_interval_s = m->cfg->monitoring.normal_frequency_s;
    if (!t->check_timer.clock)
        clock_timer_init(m->clock, &t->check_timer, on_check_timer, m);
    schedule(m, t, first_check);
}

void monitor_unwatch(monitor *m, trade *t)
{
    (void)m;
    if (t->check_timer.clock)
        clock_timer_stop(&t->check_timer);
}

void monitor_check_soon(monitor *m, trade *t)
{
    if (!t->finished)
        schedule(m, t, clock_now(m->clock));
}
