/* bar_ring: see bar_ring.h. */
#include "market/bar_ring.h"

#include <stdlib.h>

#include "util/err.h"

int bar_ring_init(bar_ring *r, int cap)
{
    *r = (bar_ring){0};
    if (cap <= 0)
        return 0;
    r->items = calloc((size_t)cap, sizeof *r->items);
    if (!r->items)
        return APEX_ENOMEM;
    r->cap = cap;
    return 0;
}

void bar_ring_free(bar_ring *r)
{
    free(r->items);
    *r = (bar_ring){0};
}

int bar_ring_grow(bar_ring *r, int cap)
{
    if (cap <= r->cap)
        return 0;
    bar_ring bigger;
    if (bar_ring_init(&bigger, cap) != 0)
        return APEX_ENOMEM;
    for (int k = r->count - 1; k >= 0; k--)
        bar_ring_push(&bigger, bar_ring_back(r, k));
    bar_ring_free(r);
    *r = bigger;
    return 0;
}

void bar_ring_push(bar_ring *r, const bar *b)
{
    if (r->cap == 0)
        return;
    r->items[r->next] = *b;
    r->next = r->next + 1 == r->cap ? 0 : r->next + 1;
    if (r->count < r->cap)
        r->count++;
}

const bar *bar_ring_back(const bar_ring *r, int k)
{
    if (k < 0 || k >= r->count)
        return NULL;
    int i = r->next - 1 - k;
    if (i < 0)
        i += r->cap;
    return &r->items[i];
}
