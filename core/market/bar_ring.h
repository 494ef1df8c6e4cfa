/* bar_ring: the last N bars of one symbol, kept by the host for ctx.history(n) and for the
 * trailing stops that look back (exits.trailing_stop.mode "atr" and "chandelier").
 *
 * A fixed array used as a ring: the capacity is set once (the pipeline's `history`, or
 * the trailing stop's period when that is longer), so its memory is known when the
 * pipeline loads, and pushing a bar is O(1) with no allocation. The ring lives in the
 * host, not in a Lua state, so it survives a hot reload of the strategy. */
#ifndef APEX_MARKET_BAR_RING_H
#define APEX_MARKET_BAR_RING_H

#include "market/bar.h"

typedef struct {
    bar *items; /* capacity slots; owned */
    int cap;
    int count; /* bars held, at most cap */
    int next;  /* the slot the next push writes */
} bar_ring;

/* Allocates room for cap bars (cap 0 holds none and allocates nothing). Returns 0 or
 * APEX_ENOMEM. */
int bar_ring_init(bar_ring *r, int cap);
void bar_ring_free(bar_ring *r);

/* Makes room for at least cap bars, keeping the ones held (a reader that joins after the
 * first bars: the dashboard's price charts). Returns 0 or APEX_ENOMEM (r unchanged). */
int bar_ring_grow(bar_ring *r, int cap);

/* Appends b, dropping the oldest bar when the ring is full. */
void bar_ring_push(bar_ring *r, const bar *b);

/* The k-th newest bar (k = 0 is the last pushed), or NULL when fewer than k + 1 are held. */
const bar *bar_ring_back(const bar_ring *r, int k);

#endif
