/* ostree: an order-statistics treap over a ring's slots (see ostree.h). */
#include "ta/ostree.h"

#include <string.h>

#define OSTREE_RECENTRE_MIN 1024

/* A fixed, well-mixed priority per slot (splitmix64's finalizer): the treap's shape
 * depends on the values' order only, so runs are reproducible, and its height is
 * O(log n) in expectation as with random priorities. */
static uint32_t slot_priority(size_t slot)
{
    uint64_t z = (uint64_t)slot + 0x9e3779b97f4a7c15u;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return (uint32_t)((z ^ (z >> 31)) >> 32);
}

size_t ta_ostree_bytes(size_t n)
{
    return n * sizeof(ta_osnode);
}

void ta_ostree_init(ta_ostree *t, size_t n, void *mem)
{
    memset(t, 0, sizeof *t);
    t->nodes = mem;
    t->n = n;
    t->root = -1;
    t->recentre_every = n * 4 > OSTREE_RECENTRE_MIN ? n * 4 : OSTREE_RECENTRE_MIN;
    for (size_t i = 0; i < n; i++) {
        t->nodes[i] = (ta_osnode){.prio = slot_priority(i), .left = -1, .right = -1};
    }
}

/* Node i's size and sum from its children's. */
static void pull(ta_ostree *t, int32_t i)
{
    ta_osnode *x = &t->nodes[i];
    x->size = 1;
    x->sum = x->key - t->shift;
    if (x->left >= 0) {
        x->size += t->nodes[x->left].size;
        x->sum += t->nodes[x->left].sum;
    }
    if (x->right >= 0) {
        x->size += t->nodes[x->right].size;
        x->sum += t->nodes[x->right].sum;
    }
}

/* Node i comes before (key, slot) in the order: by value, then by slot. */
static inline bool before(const ta_ostree *t, int32_t i, double key, int32_t slot)
{
    double k = t->nodes[i].key;
    return k < key || (k == key && i < slot);
}

/* Splits subtree i into *l (the nodes before (key, slot)) and *r (the rest). */
static void split(ta_ostree *t, int32_t i, double key, int32_t slot, int32_t *l, int32_t *r)
{
    if (i < 0) {
        *l = *r = -1;
        return;
    }
    if (before(t, i, key, slot)) {
        split(t, t->nodes[i].right, key, slot, &t->nodes[i].right, r);
        *l = i;
    } else {
        split(t, t->nodes[i].left, key, slot, l, &t->nodes[i].left);
        *r = i;
    }
    pull(t, i);
}

/* Joins a and b, every node of a before every node of b. */
static int32_t merge(ta_ostree *t, int32_t a, int32_t b)
{
    if (a < 0)
        return b;
    if (b < 0)
        return a;
    if (t->nodes[a].prio > t->nodes[b].prio) {
        t->nodes[a].right = merge(t, t->nodes[a].right, b);
        pull(t, a);
        return a;
    }
    t->nodes[b].left = merge(t, a, t->nodes[b].left);
    pull(t, b);
    return b;
}

/* Post-order: every subtree sum again, about the new shift. */
static void resum(ta_ostree *t, int32_t i)
{
    if (i < 0)
        return;
    resum(t, t->nodes[i].left);
    resum(t, t->nodes[i].right);
    pull(t, i);
}

/* Adds node s (alone, its key set) to the tree. Top-down: every node on s's way down
 * holds s in its subtree afterwards, so it counts it as it is passed; where s's priority
 * ranks it above the node there, that subtree is split under s (an expected O(1) walk:
 * the split follows two spines of the small subtree below). */
static void insert(ta_ostree *t, int32_t s)
{
    ta_osnode *node = &t->nodes[s];
    double d = node->key - t->shift;
    int32_t *link = &t->root;
    while (*link >= 0 && t->nodes[*link].prio >= node->prio) {
        ta_osnode *at = &t->nodes[*link];
        at->size++;
        at->sum += d;
        link = before(t, *link, node->key, s) ? &at->right : &at->left;
    }
    split(t, *link, node->key, s, &node->left, &node->right);
    pull(t, s);
    *link = s;
}

/* Takes node s (which the tree holds) out: every node on the way down to it counts it
 * out as it is passed, and s's children, merged, take its place (an expected O(1) walk
 * down their facing spines). */
static void erase(ta_ostree *t, int32_t s)
{
    ta_osnode *node = &t->nodes[s];
    double d = node->key - t->shift;
    int32_t *link = &t->root;
    while (*link != s) {
        ta_osnode *at = &t->nodes[*link];
        at->size--;
        at->sum -= d;
        link = before(t, *link, node->key, s) ? &at->right : &at->left;
    }
    *link = merge(t, node->left, node->right);
}

void ta_ostree_set(ta_ostree *t, size_t slot, double x)
{
    int32_t s = (int32_t)slot;
    ta_osnode *node = &t->nodes[slot];
    if (node->size > 0) /* holds a value: take it out */
        erase(t, s);
    else if (t->count++ == 0)
        t->shift = x; /* the level the first sums are taken about */
    node->key = x;
    node->left = node->right = -1;
    insert(t, s);
    /* The sums on the way down were adjusted, not recomputed: rebuilding them (about the
     * window's mean now) every max(1024, 4 n) values keeps rounding from accumulating. */
    if (++t->since_recentre >= t->recentre_every) {
        t->shift += t->nodes[t->root].sum / (double)t->nodes[t->root].size;
        resum(t, t->root);
        t->since_recentre = 0;
    }
}

double ta_ostree_absdev(const ta_ostree *t, double x)
{
    if (t->root < 0)
        return 0.0;
    double below = 0.0;
    int32_t nbelow = 0;
    for (int32_t i = t->root; i >= 0;) {
        const ta_osnode *node = &t->nodes[i];
        if (node->key < x) {
            if (node->left >= 0) {
                nbelow += t->nodes[node->left].size;
                below += t->nodes[node->left].sum;
            }
            nbelow++;
            below += node->key - t->shift;
            i = node->right;
        } else {
            i = node->left;
        }
    }
    const ta_osnode *root = &t->nodes[t->root];
    return (root->sum - below) - below - (double)(root->size - 2 * nbelow) * (x - t->shift);
}
