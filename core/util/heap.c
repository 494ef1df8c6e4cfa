/* heap: sift up and down over an array of node pointers. Each move writes the node's new
 * index, which is what lets heap_remove find a node without searching. */
#include "util/heap.h"

#include "util/assert.h"

void heap_init(heap *h, heap_less_fn less)
{
    vec_init(&h->nodes);
    h->less = less;
}

void heap_free(heap *h)
{
    /* The nodes outlive the heap (they are the caller's); do not leave them claiming a
     * place in an array that is gone. */
    for (int i = 0; i < h->nodes.count; i++)
        h->nodes.items[i]->index = -1;
    vec_free(&h->nodes);
}

static inline void place(heap *h, int i, heap_node *node)
{
    h->nodes.items[i] = node;
    node->index = i;
}

/* The hole at i moves up until node fits in it. */
static void sift_up(heap *h, int i, heap_node *node)
{
    while (i > 0) {
        int parent = (i - 1) / 2;
        heap_node *p = h->nodes.items[parent];
        if (!h->less(node, p))
            break;
        place(h, i, p);
        i = parent;
    }
    place(h, i, node);
}

/* The hole at i moves down until node fits in it. */
static void sift_down(heap *h, int i, heap_node *node)
{
    int n = h->nodes.count;
    heap_node **a = h->nodes.items;
    for (;;) {
        int child = 2 * i + 1;
        if (child >= n)
            break;
        if (child + 1 < n && h->less(a[child + 1], a[child]))
            child++;
        if (!h->less(a[child], node))
            break;
        place(h, i, a[child]);
        i = child;
    }
    place(h, i, node);
}

int heap_push(heap *h, heap_node *node)
{
    APEX_ASSERT(node->index < 0);
    if (vec_reserve(&h->nodes, h->nodes.count + 1) != APEX_OK)
        return APEX_ENOMEM;
    sift_up(h, h->nodes.count++, node);
    return APEX_OK;
}

void heap_remove(heap *h, heap_node *node)
{
    int i = node->index;
    APEX_ASSERT(i >= 0 && i < h->nodes.count && h->nodes.items[i] == node);
    node->index = -1;
    heap_node *last = h->nodes.items[--h->nodes.count];
    if (last == node)
        return;
    /* The last node refills the hole; it may belong above it or below it. */
    if (i > 0 && h->less(last, h->nodes.items[(i - 1) / 2]))
        sift_up(h, i, last);
    else
        sift_down(h, i, last);
}

heap_node *heap_pop(heap *h)
{
    heap_node *top = heap_top(h);
    if (top)
        heap_remove(h, top);
    return top;
}

void heap_update(heap *h, heap_node *node)
{
    int i = node->index;
    APEX_ASSERT(i >= 0 && i < h->nodes.count && h->nodes.items[i] == node);
    if (i > 0 && h->less(node, h->nodes.items[(i - 1) / 2]))
        sift_up(h, i, node);
    else
        sift_down(h, i, node);
}
