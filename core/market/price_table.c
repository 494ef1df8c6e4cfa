#include "market/price_table.h"

#include <stdlib.h>
#include <string.h>

#include "util/err.h"

void price_table_init(price_table *t)
{
    memset(t, 0, sizeof *t);
}

void price_table_free(price_table *t)
{
    vec_free(&t->entries);
}

int price_table_update(price_table *t, const bar *b)
{
    if (b->symbol_id < 0)
        return APEX_EINVAL;
    if (vec_extend_zeroed(&t->entries, b->symbol_id + 1) != APEX_OK)
        return APEX_ENOMEM;
    price_entry *e = &t->entries.items[b->symbol_id];
    int64_t day = b->ts / APEX_DAY;
    if (e->ts == 0 || day != e->day) {
        e->day = day;
        e->day_open = b->open;
    }
    e->last = b->close;
    e->bid = b->bid;
    e->ask = b->ask;
    e->volume = b->volume;
    if (b->volume > 0)
        e->has_volume = true;
    e->ts = b->ts;
    return 0;
}

const price_entry *price_table_get(const price_table *t, int symbol_id)
{
    if (symbol_id < 0 || symbol_id >= t->entries.count || t->entries.items[symbol_id].ts == 0)
        return NULL;
    return &t->entries.items[symbol_id];
}

int price_table_day_change(const price_table *t, int symbol_id, money_t *out)
{
    const price_entry *e = price_table_get(t, symbol_id);
    if (!e || e->day_open <= 0)
        return APEX_ENOTFOUND;
    return money_div(e->last - e->day_open, e->day_open, MONEY_ROUND_NEAREST, out);
}
