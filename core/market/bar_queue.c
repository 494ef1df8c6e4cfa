#include "market/bar_queue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"

struct bar_queue {
    bar *ring;
    size_t cap, head, count; /* cap is a power of two: indexes wrap with a mask */
    char label[64];
};

bar_queue *bar_queue_new(const char *label)
{
    bar_queue *q = calloc(1, sizeof *q);
    if (q)
        snprintf(q->label, sizeof q->label, "%s", label ? label : "live data");
    return q;
}

void bar_queue_free(bar_queue *q)
{
    if (!q)
        return;
    free(q->ring);
    free(q);
}

/* Doubles the ring, unwrapping it so the oldest bar is at index 0 again. */
static int grow(bar_queue *q)
{
    size_t cap = q->cap ? q->cap * 2 : 256;
    bar *ring = malloc(cap * sizeof *ring);
    if (!ring)
        return APEX_ENOMEM;
    for (size_t i = 0; i < q->count; i++)
        ring[i] = q->ring[(q->head + i) & (q->cap - 1)];
    free(q->ring);
    q->ring = ring;
    q->cap = cap;
    q->head = 0;
    return 0;
}

int bar_queue_push(bar_queue *q, const bar *b)
{
    if (q->count == q->cap && grow(q) != 0)
        return APEX_ENOMEM;
    q->ring[(q->head + q->count) & (q->cap - 1)] = *b;
    q->count++;
    return 0;
}

int bar_queue_pop(bar_queue *q, bar *out)
{
    if (q->count == 0)
        return 0;
    *out = q->ring[q->head];
    q->head = (q->head + 1) & (q->cap - 1);
    q->count--;
    return 1;
}

size_t bar_queue_count(const bar_queue *q)
{
    return q->count;
}

const char *bar_queue_label(const bar_queue *q)
{
    return q->label;
}
