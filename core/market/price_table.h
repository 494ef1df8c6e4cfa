/* price_table: the host's latest view of every symbol, fed by the bars it sees.
 *
 * Indexed by symtab id, so an update on the backtest hot path is an array store.
 * It also remembers each symbol's first price of the current UTC trading day, for
 * "SPY drops 3% intraday" style rules, and answers the scripts' apex.price and
 * apex.change. */
#ifndef APEX_MARKET_PRICE_TABLE_H
#define APEX_MARKET_PRICE_TABLE_H

#include <stdbool.h>

#include "market/bar.h"
#include "util/vec.h"

typedef struct {
    money_t last, bid, ask, volume;
    money_t day_open; /* open of the first bar of the current day */
    apex_time ts;     /* time of the last bar */
    int64_t day;      /* ts / APEX_DAY of day_open */
    bool has_volume;  /* some bar had volume > 0: an index or FX series never does */
} price_entry;

typedef struct {
    VEC(price_entry) entries; /* by symbol id; ts == 0 = never seen */
} price_table;

void price_table_init(price_table *t);
void price_table_free(price_table *t);
/* Records a bar. Returns 0 or APEX_ENOMEM. */
int price_table_update(price_table *t, const bar *b);
/* The entry for a symbol id, or NULL when the symbol has no data yet. */
const price_entry *price_table_get(const price_table *t, int symbol_id);
/* Change since the day's open as a fraction; APEX_ENOTFOUND without data. */
int price_table_day_change(const price_table *t, int symbol_id, money_t *out);

#endif
