/* bar_queue: bars pushed by a live source (a venue's stream), read in arrival order.
 *
 * The live counterpart of a followed csv_feed: a source pushes bars as they arrive
 * and the feed merge reads them like rows appended to a file (0 = nothing yet). A ring
 * buffer that grows when full, so a burst (a catch-up after a gap, a warm-up history)
 * never drops a bar and steady reading never allocates. */
#ifndef APEX_MARKET_BAR_QUEUE_H
#define APEX_MARKET_BAR_QUEUE_H

#include <stddef.h>

#include "market/bar.h"

typedef struct bar_queue bar_queue;

/* label names the source in messages ("alpaca market data"); copied. */
bar_queue *bar_queue_new(const char *label);
void bar_queue_free(bar_queue *q);
/* 0, or APEX_ENOMEM (the bar is not queued). */
int bar_queue_push(bar_queue *q, const bar *b);
/* 1 = *out is the oldest bar, 0 = empty. */
int bar_queue_pop(bar_queue *q, bar *out);
size_t bar_queue_count(const bar_queue *q);
const char *bar_queue_label(const bar_queue *q);

#endif
