/* ostree: an order-statistics tree over the values of a ring, for a window's mean
 * absolute deviation in O(log n) (CCI's), without an allocation per value.
 *
 * The tree is a treap in an array of n nodes given at construction, node i holding the
 * value in the ring's slot i, so replacing the value that leaves the window is a removal
 * and an insertion of the same node: O(log n) expected, nothing allocated. Each node
 * keeps its subtree's size and sum, so the count and the sum of the values below any x
 * come from one walk down; the sum of |v - x| over the window follows from them:
 *
 *   sum |v - x| = (S - S_below) - S_below - (count - 2 count_below) (x - shift)
 *
 * where S are sums of v - shift. The shift is the window's mean, taken again every
 * max(1024, 4 n) values (the subtree sums are rebuilt from their nodes then), so the
 * sums stay small beside the values whatever the price level, and rounding never
 * accumulates: each subtree sum is recomputed from its children whenever it changes.
 * Equal values are ordered by slot, so every node has one place in the order. */
#ifndef APEX_TA_OSTREE_H
#define APEX_TA_OSTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    double key;
    double sum;    /* of key - shift over the subtree */
    uint32_t prio; /* the treap's heap order: a fixed hash of the slot */
    int32_t left, right, size;
} ta_osnode;

typedef struct {
    ta_osnode *nodes;
    size_t n, count; /* slots, and how many hold a value */
    int32_t root;    /* -1 when empty */
    double shift;
    size_t since_recentre, recentre_every;
} ta_ostree;

size_t ta_ostree_bytes(size_t n);
/* n >= 1 slots in mem (ta_ostree_bytes(n) bytes, aligned for a double), none holding a
 * value. */
void ta_ostree_init(ta_ostree *t, size_t n, void *mem);
/* Puts x into slot (< n): the slot's previous value, if it held one, leaves. */
void ta_ostree_set(ta_ostree *t, size_t slot, double x);
/* The sum of |v - x| over the values held. */
double ta_ostree_absdev(const ta_ostree *t, double x);

#endif
