/* price_cache: one slot per symtab id, grown on demand.
 *
 * Symbol ids are small and dense, so a flat array beats a hash table: a lookup is one
 * bounds check and one load, which matters when thousands of positions are monitored. */
#include "market/price_cache.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/vec.h"

/* Symtab ids are dense; an id beyond this is a bug, not a reason to allocate gigabytes. */
#define PRICE_CACHE_MAX_ID (1 << 24)

typedef struct {
    bool valid;
    apex_time fetched_at;
    broker_quote quote;
} cache_slot;

struct price_cache {
    apex_time ttl;
    VEC(cache_slot) slots; /* by symbol id; count grows to the largest id seen */
    uint64_t hits, misses;
};

price_cache *price_cache_new(int ttl_seconds)
{
    if (ttl_seconds < 0)
        return NULL;
    price_cache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->ttl = (apex_time)ttl_seconds * APEX_SECOND;
    return c;
}

void price_cache_free(price_cache *c)
{
    if (!c)
        return;
    vec_free(&c->slots);
    free(c);
}

int price_cache_get(price_cache *c, int symbol_id, apex_time now, broker_quote *out)
{
    const cache_slot *s =
        (symbol_id >= 0 && symbol_id < c->slots.count) ? &c->slots.items[symbol_id] : NULL;
    /* Fresh means fetched at or after now - ttl (a quote exactly ttl old still counts). */
    if (!s || !s->valid || s->fetched_at < now - c->ttl) {
        c->misses++;
        return APEX_ENOTFOUND;
    }
    c->hits++;
    if (out)
        *out = s->quote;
    return 0;
}

int price_cache_put(price_cache *c, int symbol_id, const broker_quote *q, apex_time fetched_at)
{
    if (!q || symbol_id < 0)
        return APEX_EINVAL;
    if (symbol_id >= PRICE_CACHE_MAX_ID)
        return APEX_ERANGE;
    if (vec_extend_zeroed(&c->slots, symbol_id + 1) != APEX_OK)
        return APEX_ENOMEM;
    cache_slot *s = &c->slots.items[symbol_id];
    s->valid = true;
    s->fetched_at = fetched_at;
    s->quote = *q;
    return 0;
}

void price_cache_invalidate(price_cache *c, int symbol_id)
{
    if (symbol_id >= 0 && symbol_id < c->slots.count)
        c->slots.items[symbol_id].valid = false;
}

uint64_t price_cache_hits(const price_cache *c)
{
    return c->hits;
}

uint64_t price_cache_misses(const price_cache *c)
{
    return c->misses;
}
