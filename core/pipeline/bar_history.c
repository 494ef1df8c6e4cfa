/* bar_history: the bars a pipeline keeps of each traded symbol, and what is derived from
 * them for the exits.
 *
 * One ring per traded symbol (market/bar_ring.h), sized once on the symbol's first bar:
 * the pipeline's `history` (what ctx.history may read), or the trailing stop's period when
 * exits.trailing_stop.mode is "chandelier" and that is longer. The ATR of the "atr" and
 * "chandelier" modes is updated here too, once per bar. All of it lives in the pipeline, not
 * in the Lua state: a hot reload keeps it, and on a restart the warm-up bars refill it. */
#include "pipeline/pipeline_internal.h"
#include "pipeline/snapshot.h"
#include "util/log.h"

static bool atr_mode(const pipeline *p)
{
    return p->cfg.exits.trailing_mode != TRAILING_PERCENT;
}

static int ring_size(const pipeline *p)
{
    int n = p->cfg.history > p->keep_bars ? p->cfg.history : p->keep_bars;
    if (p->cfg.exits.trailing_mode == TRAILING_CHANDELIER && p->cfg.exits.trailing_period > n)
        n = p->cfg.exits.trailing_period;
    return n;
}

void pipeline_history_bar(pipeline *p, sym_state *s, const bar *b)
{
    if (!s->hist_ready) {
        /* Once per symbol; a failed allocation keeps no history (ctx.history then sees no
         * bars and the ATR modes never arm) and says so, rather than stopping the run. */
        if (bar_ring_init(&s->hist, ring_size(p)) != 0)
            log_error("%s: no memory for %d bars of history of %s; ctx.history returns none",
                      p->cfg.name, ring_size(p), symtab_name(p->hs->symbols, b->symbol_id));
        exits_atr_init(&s->atr, atr_mode(p) ? p->cfg.exits.trailing_period : 0);
        s->hist_ready = true;
    }
    bar_ring_push(&s->hist, b);
    exits_atr_update(&s->atr, b);
}

const bar_ring *pipeline_history(void *ud, const char *symbol)
{
    pipeline *p = ud;
    int id = symtab_find(p->hs->symbols, symbol);
    if (id < 0 || id >= p->syms.count || !p->syms.items[id].hist_ready)
        return NULL;
    return &p->syms.items[id].hist;
}

void pipeline_history_inputs(pipeline *p, const trade *t, exit_input *in)
{
    if (!atr_mode(p) || t->symbol_id < 0 || t->symbol_id >= p->syms.count)
        return;
    const sym_state *s = &p->syms.items[t->symbol_id];
    if (!s->hist_ready || !exits_atr_ready(&s->atr))
        return;
    in->atr = s->atr.value;
    int n = p->cfg.exits.trailing_period;
    if (p->cfg.exits.trailing_mode != TRAILING_CHANDELIER || s->hist.count < n)
        return;
    /* O(period) per check, over bars already in memory. */
    money_t hi = 0, lo = 0;
    for (int k = 0; k < n; k++) {
        const bar *b = bar_ring_back(&s->hist, k);
        if (k == 0 || b->high > hi)
            hi = b->high;
        if (k == 0 || b->low < lo)
            lo = b->low;
    }
    in->channel_high = hi;
    in->channel_low = lo;
}

void pipeline_history_free(pipeline *p)
{
    for (int id = 0; id < p->syms.count; id++)
        bar_ring_free(&p->syms.items[id].hist);
}

void pipeline_keep_bars(pipeline *p, int n)
{
    if (n <= p->keep_bars)
        return;
    p->keep_bars = n;
    /* Symbols already under way (warm-up bars) keep what they hold. */
    for (int id = 0; id < p->syms.count; id++) {
        sym_state *s = &p->syms.items[id];
        if (s->hist_ready && bar_ring_grow(&s->hist, ring_size(p)) != 0)
            log_error("%s: no memory for %d bars of %s for the dashboard's chart", p->cfg.name, n,
                      symtab_name(p->hs->symbols, id));
    }
}

int pipeline_bars_copy(const pipeline *p, const char *symbol, bar *out, int max)
{
    const bar_ring *r = pipeline_history((void *)p, symbol);
    if (!out)
        return r ? r->count : 0;
    int n = r ? (r->count < max ? r->count : max) : 0;
    for (int i = 0; i < n; i++)
        out[i] = *bar_ring_back(r, n - 1 - i);
    return n;
}
