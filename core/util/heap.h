/* heap: a binary min-heap of intrusive nodes, for timers and k-way merges.
 *
 * Elements embed a heap_node; the heap stores pointers to those nodes and keeps each
 * node's index current, so an element can be removed or re-keyed from anywhere in
 * O(log n) (a stopped clock timer), not only popped from the top. The order is the
 * caller's `less`, which must be a strict weak order on the elements' keys; give it a
 * tie-breaker (a sequence number, an index) when equal keys must come out in a fixed
 * order, because a heap by itself is not stable.
 *
 *     typedef struct { heap_node node; apex_time due; uint64_t seq; } tmr;
 *     static bool tmr_less(const heap_node *a, const heap_node *b) { ...container_of... }
 *     heap h;  heap_init(&h, tmr_less);
 *     heap_push(&h, &t->node);              // 0 or APEX_ENOMEM
 *     tmr *first = container_of(heap_top(&h), tmr, node);
 *
 * The heap owns only its pointer array; elements belong to the caller and must stay at
 * the same address while they are in the heap. A node is in at most one heap. */
#ifndef APEX_UTIL_HEAP_H
#define APEX_UTIL_HEAP_H

#include <stdbool.h>

#include "util/vec.h"

typedef struct heap_node {
    int index; /* position in the heap's array; -1 when in no heap */
} heap_node;

typedef bool (*heap_less_fn)(const heap_node *a, const heap_node *b);

typedef struct {
    VEC(heap_node *) nodes; /* nodes.items[0] is the least */
    heap_less_fn less;
} heap;

void heap_init(heap *h, heap_less_fn less);
/* Frees the array; nodes still in the heap are marked as in none. */
void heap_free(heap *h);

/* Marks a node as in no heap. Call once before its first heap_push. */
static inline void heap_node_init(heap_node *node)
{
    node->index = -1;
}

static inline bool heap_node_in_heap(const heap_node *node)
{
    return node->index >= 0;
}

static inline int heap_count(const heap *h)
{
    return h->nodes.count;
}

/* The least node, or NULL when the heap is empty. */
static inline heap_node *heap_top(const heap *h)
{
    return h->nodes.count > 0 ? h->nodes.items[0] : NULL;
}

/* Makes room for n nodes in total, so that pushes up to that many cannot fail.
 * 0 or APEX_ENOMEM. */
static inline int heap_reserve(heap *h, int n)
{
    return vec_reserve(&h->nodes, n);
}

/* Adds a node that is in no heap. 0, or APEX_ENOMEM with the node still in none. */
int heap_push(heap *h, heap_node *node);
/* Removes and returns the least node, or NULL when the heap is empty. */
heap_node *heap_pop(heap *h);
/* Removes a node that is in this heap. */
void heap_remove(heap *h, heap_node *node);
/* Restores the order after the key of a node in this heap changed. */
void heap_update(heap *h, heap_node *node);

#endif
