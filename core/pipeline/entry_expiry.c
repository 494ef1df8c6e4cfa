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
 * The count is kept in memory: a restart resumes a resting entry without its expiry. */
#include <stdio.h>

#include "pipeline/pipeline_internal.h"
#include "util/log.h"

static bool unfilled(const trade *t)
{
    return !trade_is_finished(t) && t->row.status == EXEC_MONITORING && !t->has_pos &&
           t->led.qty == 0;
}

void pipeline_entry_expiry_bar(pipeline *p, trade *t)
{
    if ((t->expire_bars == 0 && t->expire_at == 0) || t->expiring || !unfilled(t))
        return;
    t->bars_worked++;
    apex_time now = clock_now(p->hs->clock);
    bool by_bars = t->expire_bars > 0 && t->bars_worked >= t->expire_bars;
    bool by_time = t->expire_at > 0 && now >= t->expire_at;
    if (!by_bars && !by_time)
        return;
    t->expiring = true;
    log_event("%-13s EXPIRE   %-5s the %s entry is unfilled after %d bar(s); cancelling it",
              p->cfg.name, t->row.symbol, order_type_name(t->entry_type), t->bars_worked);
    exec_cancel_open_orders(p->exec, t);
}

bool pipeline_entry_expired(pipeline *p, trade *t, const store_order *o)
{
    if (!t->expiring)
        return false;
    char pb[32], limit[64];
    money_t price = o->o.type == ORDER_STOP ? o->o.stop_price : o->o.limit_price;
    if (t->expire_bars > 0)
        snprintf(limit, sizeof limit, "expires.bars = %d", t->expire_bars);
    else
        snprintf(limit, sizeof limit, "expires.seconds = %lld", (long long)t->expire_seconds);
    pipeline_set_status(p, t, EXEC_CANCELLED,
                        "expired: the %s entry at %s was not filled within %d bar(s) (%s); "
                        "order %s cancelled",
                        order_type_name(o->o.type), money_format_trim(price, 2, pb, sizeof pb),
                        t->bars_worked, limit, o->o.client_order_id);
    return true;
}
