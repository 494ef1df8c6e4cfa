/* entry_expiry: stop and limit entries that expire unfilled (issue 13).
 *
 * A signal with entry = "stop" or "limit" and expires = { bars = n } or { seconds = s }
 * rests at the broker as a bracket whose entry waits for its price. Each bar of its symbol
 * that the broker has seen (after that bar's own fills) counts against it; once it has
 * worked through n bars, or the bar time reaches the deadline, unfilled, every open order
 * of the execution is cancelled, and when the broker confirms the entry's cancel the
 * execution is `cancelled` with the reason. A fill that beats the cancel wins: the position
 * is then monitored as any other (its bracket legs are cancelled with the entry, and the
 * monitor's stop_loss and profit_target conditions stand in for them).
 *
 * Across a restart. The entry's type, price and expiry are columns of its execution row
 * (store migration 6), written with the signal; the deadline expire_at is absolute, so a
 * restart does not restart the clock. The bars it has rested are not stored. Counting them
 * durably would be a write per bar per resting entry, and would still miss the bars the
 * entry rested through at the broker while the host was down (a live feed delivers those
 * as history, which is warm-up). Instead the row keeps resting_since, the bar time of the
 * symbol's last bar when the broker accepted the entry (written with the status
 * `monitoring`), and the count is the symbol's bars after it that the host has read: one
 * per bar while running; after a restart the warm-up replays the data (the files from their
 * start, or the broker's history) and counts the same bars again, without acting on them,
 * and live bars go on from there. So the entry expires at the bar it would have without the
 * restart. A bar that is never replayed (a broker's history shorter than the gap) is not
 * counted: the entry then rests longer, never shorter. */
#include <stdio.h>

#include "pipeline/pipeline_internal.h"
#include "util/log.h"

static bool unfilled(const trade *t)
{
    return !trade_is_finished(t) && t->row.status == EXEC_MONITORING && !t->has_pos &&
           t->led.qty == 0;
}

static bool has_expiry(const trade *t)
{
    return t->row.expire_bars > 0 || t->row.expire_at > 0;
}

/* Whether t's expiry has come, by its bars or by the clock. */
static bool due(pipeline *p, const trade *t)
{
    bool by_bars = t->row.expire_bars > 0 && t->bars_worked >= t->row.expire_bars;
    bool by_time = t->row.expire_at > 0 && clock_now(p->hs->clock) >= t->row.expire_at;
    return by_bars || by_time;
}

void pipeline_entry_expiry_rests(pipeline *p, trade *t)
{
    if (!has_expiry(t) || t->row.resting_since)
        return;
    const sym_state *s = pipeline_sym(p, t->symbol_id);
    apex_time last = s ? s->last_bar_ts : 0;
    t->row.resting_since = last ? last : clock_now(p->hs->clock);
}

/* Cancels t's entry when its expiry has come. */
static void expire_if_due(pipeline *p, trade *t)
{
    if (t->expiring || t->resuming || !unfilled(t) || !due(p, t))
        return;
    t->expiring = true;
    log_event("%-13s EXPIRE   %-5s the %s entry is unfilled after %d bar(s); cancelling it",
              p->cfg.name, t->row.symbol, order_type_name(t->row.entry_type), t->bars_worked);
    exec_cancel_open_orders(p->exec, t);
}

void pipeline_entry_expiry_bar(pipeline *p, trade *t, const bar *b, bool warmup)
{
    if (!has_expiry(t) || t->expiring || !unfilled(t))
        return;
    /* Not resting yet (a restart found the entry sent but its acceptance unrecorded: it
     * rests from the reconciliation on), or a bar it had already rested through counted. */
    if (!t->row.resting_since || b->ts <= t->row.resting_since)
        return;
    t->bars_worked++;
    if (!warmup) /* history is counted, never acted on: the broker has not seen it here */
        expire_if_due(p, t);
}

void pipeline_entry_expiry_resumed(pipeline *p, trade *t)
{
    /* Reconciled after a restart, where warm-up counted the bars it rested through: it may
     * have expired meanwhile (while the host was down, or at a bar since). */
    t->resuming = false;
    if (has_expiry(t))
        expire_if_due(p, t);
}

bool pipeline_entry_expired(pipeline *p, trade *t, const store_order *o)
{
    /* A cancel the host sent for the expiry, or one it finds at a restart once the expiry
     * had come (the confirmation never reached the store before the host stopped). */
    if (!t->expiring && !(has_expiry(t) && due(p, t)))
        return false;
    char pb[32], limit[64];
    money_t price = o->o.type == ORDER_STOP ? o->o.stop_price : o->o.limit_price;
    if (t->row.expire_bars > 0)
        snprintf(limit, sizeof limit, "expires.bars = %d", t->row.expire_bars);
    else
        snprintf(limit, sizeof limit, "expires.seconds = %lld", (long long)t->row.expire_seconds);
    pipeline_set_status(p, t, EXEC_CANCELLED,
                        "expired: the %s entry at %s was not filled within %d bar(s) (%s); "
                        "order %s cancelled",
                        order_type_name(o->o.type), money_format_trim(price, 2, pb, sizeof pb),
                        t->bars_worked, limit, o->o.client_order_id);
    return true;
}
