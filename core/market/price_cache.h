/* price_cache: broker quotes remembered for a TTL (seed 003: 10 s), so monitoring many
 * positions does not ask the broker for the same price again and again. Indexed by
 * symtab id. */
#ifndef APEX_MARKET_PRICE_CACHE_H
#define APEX_MARKET_PRICE_CACHE_H

#include <stdint.h>

#include "model/order.h"

typedef struct price_cache price_cache;

price_cache *price_cache_new(int ttl_seconds);
void price_cache_free(price_cache *c);
/* 0 and *out when a quote fetched at or after now - ttl exists; APEX_ENOTFOUND otherwise. */
int price_cache_get(price_cache *c, int symbol_id, apex_time now, broker_quote *out);
int price_cache_put(price_cache *c, int symbol_id, const broker_quote *q, apex_time fetched_at);
void price_cache_invalidate(price_cache *c, int symbol_id);
uint64_t price_cache_hits(const price_cache *c);
uint64_t price_cache_misses(const price_cache *c);

#endif
