/* util structures: vec growth and overflow refusal, heap order under removals and
 * re-keying, hmap collisions, growth and deletion against a reference model,
 * container_of, and APEX_ASSERT on and off. (Intrusive lists are glibc's <sys/queue.h>.) */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/assert.h"
#include "util/container.h"
#include "util/heap.h"
#include "util/hmap.h"
#include "util/vec.h"

/* Deterministic pseudo-random numbers, so a failure reproduces. */
static uint32_t rng_state = 12345;
static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

/* ---- vec ------------------------------------------------------------------------------- */

typedef VEC(int) int_vec;

static void test_vec_push_grows_and_keeps_order(void **state)
{
    (void)state;
    int_vec v;
    vec_init(&v);
    assert_null(v.items);
    assert_int_equal(v.count, 0);
    for (int i = 0; i < 10000; i++) {
        assert_int_equal(vec_push(&v, i * 3), APEX_OK);
        assert_true(v.cap >= v.count);
    }
    assert_int_equal(v.count, 10000);
    for (int i = 0; i < v.count; i++)
        assert_int_equal(v.items[i], i * 3);
    assert_int_equal(*vec_last(&v), 9999 * 3);

    int cap = v.cap;
    vec_clear(&v);
    assert_int_equal(v.count, 0);
    assert_int_equal(v.cap, cap); /* memory kept for reuse */
    assert_int_equal(vec_reserve(&v, cap), APEX_OK);
    assert_int_equal(v.cap, cap); /* enough room: no change */
    vec_free(&v);
    assert_null(v.items);
    assert_int_equal(v.cap, 0);
}

static void test_vec_reserve_is_total_not_extra(void **state)
{
    (void)state;
    int_vec v = {0};
    assert_int_equal(vec_reserve(&v, 100), APEX_OK);
    assert_true(v.cap >= 100);
    assert_int_equal(v.count, 0);
    int *before = v.items;
    for (int i = 0; i < 100; i++)
        assert_int_equal(vec_push(&v, i), APEX_OK);
    assert_ptr_equal(v.items, before); /* no growth within the reserve */
    vec_free(&v);
}

typedef struct {
    int64_t a;
    char name[12];
} rec;

static void test_vec_push_zeroed_and_extend_zeroed(void **state)
{
    (void)state;
    VEC(rec) v = {0};
    rec *r = vec_push_zeroed(&v);
    assert_non_null(r);
    assert_int_equal(r->a, 0);
    assert_string_equal(r->name, "");
    r->a = 7;

    assert_int_equal(vec_extend_zeroed(&v, 40), APEX_OK);
    assert_int_equal(v.count, 40);
    assert_int_equal(v.items[0].a, 7); /* kept */
    for (int i = 1; i < 40; i++)
        assert_int_equal(v.items[i].a, 0);
    v.items[39].a = 39;
    assert_int_equal(vec_extend_zeroed(&v, 10), APEX_OK); /* smaller: no change */
    assert_int_equal(v.count, 40);
    assert_int_equal(vec_extend_zeroed(&v, 41), APEX_OK);
    assert_int_equal(v.items[39].a, 39);
    assert_int_equal(v.items[40].a, 0);
    vec_free(&v);
}

/* A type whose size, times the capacities below, overflows size_t: only its size is used. */
typedef struct {
    char bytes[(size_t)1 << 40];
} huge;

static void test_vec_refuses_overflowing_growth(void **state)
{
    (void)state;
    /* A pretend vec of 2^28 such elements (nothing is allocated): doubling it would need
     * 2^69 bytes, which is refused before any allocation is tried. */
    VEC(huge) h = {.items = NULL, .count = 1 << 28, .cap = 1 << 28};
    assert_int_equal(vec_reserve(&h, h.count + 1), APEX_ENOMEM);
    assert_null(vec_push_zeroed(&h));
    assert_int_equal(vec_extend_zeroed(&h, h.count + 1), APEX_ENOMEM);
    assert_null(h.items);
    assert_int_equal(h.count, 1 << 28);
    assert_int_equal(h.cap, 1 << 28);

    /* The first growth of an empty vec is checked too (8 elements of a quarter of the
     * address space). */
    void *none = NULL;
    int zero_cap = 0;
    assert_int_equal(vec_reserve_(&none, &zero_cap, 1, SIZE_MAX / 4), APEX_ENOMEM);
    assert_null(none);
    assert_int_equal(zero_cap, 0);

    /* A vec with elements keeps them all when growth is refused. */
    int_vec v = {0};
    for (int i = 0; i < 20; i++)
        assert_int_equal(vec_push(&v, i), APEX_OK);
    int *items = v.items;
    int cap = v.cap;
    /* A negative need is an int count that overflowed: refused, nothing changes. */
    assert_int_equal(vec_reserve(&v, -1), APEX_ENOMEM);
    assert_int_equal(vec_extend_zeroed(&v, -1), APEX_ENOMEM);
    assert_int_equal(vec_reserve_(&v.items, &v.cap, cap + 1, SIZE_MAX / 4), APEX_ENOMEM);
    assert_ptr_equal(v.items, items);
    assert_int_equal(v.cap, cap);
    assert_int_equal(v.count, 20);
    for (int i = 0; i < 20; i++)
        assert_int_equal(v.items[i], i);

    /* Near INT_MAX the capacity stops doubling at the need itself, and that is checked
     * against size_t as well (pretend capacities again: nothing is allocated). */
    int *nothing = NULL;
    int near_max = INT32_MAX - 10;
    assert_int_equal(vec_reserve_(&nothing, &near_max, INT32_MAX - 5, (size_t)1 << 40),
                     APEX_ENOMEM);
    assert_int_equal(near_max, INT32_MAX - 10);
    assert_int_equal(vec_reserve_(&nothing, &near_max, INT32_MIN, sizeof(int)), APEX_ENOMEM);
    assert_null(nothing);
    vec_free(&v);
}

/* ---- heap ------------------------------------------------------------------------------ */

typedef struct {
    heap_node node;
    int key;
    int seq; /* tie-breaker: equal keys leave in insertion order */
    int removed;
} item;

static bool item_less(const heap_node *a, const heap_node *b)
{
    const item *x = container_of(a, item, node), *y = container_of(b, item, node);
    return x->key < y->key || (x->key == y->key && x->seq < y->seq);
}

/* Every node knows its index and no child is less than its parent. */
static void check_heap(const heap *h)
{
    for (int i = 0; i < heap_count(h); i++) {
        assert_int_equal(h->nodes.items[i]->index, i);
        if (i > 0)
            assert_false(h->less(h->nodes.items[i], h->nodes.items[(i - 1) / 2]));
    }
}

static void test_heap_pops_in_order(void **state)
{
    (void)state;
    enum { N = 2000 };
    item *items = calloc(N, sizeof *items);
    assert_non_null(items);
    heap h;
    heap_init(&h, item_less);
    assert_null(heap_top(&h));
    assert_null(heap_pop(&h));
    for (int i = 0; i < N; i++) {
        items[i].key = (int)(rng() % 100); /* many ties */
        items[i].seq = i;
        heap_node_init(&items[i].node);
        assert_false(heap_node_in_heap(&items[i].node));
        assert_int_equal(heap_push(&h, &items[i].node), APEX_OK);
        assert_true(heap_node_in_heap(&items[i].node));
    }
    check_heap(&h);
    assert_int_equal(heap_count(&h), N);
    const item *prev = NULL;
    for (int i = 0; i < N; i++) {
        heap_node *n = heap_pop(&h);
        assert_non_null(n);
        assert_int_equal(n->index, -1);
        const item *it = container_of(n, item, node);
        if (prev)
            assert_true(prev->key < it->key || (prev->key == it->key && prev->seq < it->seq));
        prev = it;
    }
    assert_int_equal(heap_count(&h), 0);
    heap_free(&h);
    free(items);
}

static void test_heap_removals_and_updates(void **state)
{
    (void)state;
    enum { N = 3000 };
    item *items = calloc(N, sizeof *items);
    assert_non_null(items);
    heap h;
    heap_init(&h, item_less);
    for (int i = 0; i < N; i++) {
        items[i].key = (int)(rng() % 1000);
        items[i].seq = i;
        heap_node_init(&items[i].node);
        assert_int_equal(heap_push(&h, &items[i].node), APEX_OK);
    }
    /* Remove a third from anywhere (top, last, middle), checking the shape each time. */
    int left = N;
    for (int i = 0; i < N; i += 3) {
        heap_remove(&h, &items[i].node);
        items[i].removed = 1;
        assert_int_equal(items[i].node.index, -1);
        left--;
        if (i % 300 == 0)
            check_heap(&h);
    }
    item *last = container_of(h.nodes.items[heap_count(&h) - 1], item, node);
    heap_remove(&h, &last->node); /* the last slot: nothing moves */
    last->removed = 1;
    left--;
    check_heap(&h);
    assert_int_equal(heap_count(&h), left);

    /* Re-key some in place, both directions, as a re-armed timer does. */
    for (int i = 1; i < N; i += 7) {
        if (items[i].removed)
            continue;
        items[i].key = (i % 2) ? items[i].key + 500 : items[i].key - 500;
        heap_update(&h, &items[i].node);
    }
    check_heap(&h);

    /* A removed node can come back. */
    items[0].key = -1000;
    items[0].removed = 0;
    assert_int_equal(heap_push(&h, &items[0].node), APEX_OK);
    left++;
    assert_ptr_equal(heap_top(&h), &items[0].node);

    const item *prev = NULL;
    int popped = 0;
    for (heap_node *n; (n = heap_pop(&h)); popped++) {
        const item *it = container_of(n, item, node);
        assert_false(it->removed);
        if (prev)
            assert_false(item_less(&it->node, &prev->node));
        prev = it;
    }
    assert_int_equal(popped, left);
    heap_free(&h);
    free(items);
}

static void test_heap_free_unlinks_nodes(void **state)
{
    (void)state;
    item a = {.key = 1}, b = {.key = 2};
    heap_node_init(&a.node);
    heap_node_init(&b.node);
    heap h;
    heap_init(&h, item_less);
    assert_int_equal(heap_push(&h, &a.node), APEX_OK);
    assert_int_equal(heap_push(&h, &b.node), APEX_OK);
    heap_free(&h);
    assert_false(heap_node_in_heap(&a.node));
    assert_false(heap_node_in_heap(&b.node));
    assert_int_equal(heap_count(&h), 0);
}

/* ---- hmap ------------------------------------------------------------------------------ */

static void test_hmap_basic_and_growth(void **state)
{
    (void)state;
    enum { N = 5000 };
    char(*keys)[16] = calloc(N, sizeof *keys);
    assert_non_null(keys);
    hmap m;
    hmap_init(&m);
    assert_null(hmap_find_str(&m, "absent")); /* empty table, no slots yet */
    for (int i = 0; i < N; i++) {
        snprintf(keys[i], sizeof keys[i], "SYM%d", i);
        assert_int_equal(hmap_insert(&m, keys[i], strlen(keys[i]), (hmap_value){.i64 = i}),
                         APEX_OK);
        assert_true((uint64_t)m.count * 2 <= m.nslots); /* at most half full */
    }
    assert_int_equal(hmap_count(&m), N);
    for (int i = 0; i < N; i++) {
        hmap_entry *e = hmap_find_str(&m, keys[i]);
        assert_non_null(e);
        assert_int_equal(e->value.i64, i);
        assert_ptr_equal(e->key, keys[i]); /* borrowed, not copied */
    }
    assert_null(hmap_find_str(&m, "SYM5000"));
    assert_null(hmap_find_str(&m, "SYM"));
    assert_null(hmap_find_str(&m, NULL));

    /* Duplicates are refused and keep their value; values change in place. */
    char again[] = "SYM42";
    assert_int_equal(hmap_insert(&m, again, 5, (hmap_value){.i64 = -1}), APEX_EDUP);
    assert_int_equal(hmap_find_str(&m, "SYM42")->value.i64, 42);
    hmap_find_str(&m, "SYM42")->value.i64 = 4242;
    assert_int_equal(hmap_find(&m, again, 5)->value.i64, 4242);

    /* Keys with a length: a prefix of a longer buffer, as a CSV field is. */
    const char *line = "SYM7,100.5,200";
    assert_int_equal(hmap_find(&m, line, 4)->value.i64, 7);
    assert_null(hmap_find(&m, line, 5));

    /* Iteration sees every entry once. */
    size_t pos = 0;
    int seen = 0;
    int64_t sum = 0;
    for (hmap_entry *e; (e = hmap_next(&m, &pos));) {
        seen++;
        sum += e->value.i64;
    }
    assert_int_equal(seen, N);
    assert_int_equal(sum, (int64_t)N * (N - 1) / 2 - 42 + 4242);

    hmap_free(&m);
    assert_int_equal(hmap_count(&m), 0);
    assert_null(hmap_find_str(&m, "SYM1"));
    free(keys);
}

static void test_hmap_full_hash_collision(void **state)
{
    (void)state;
    /* Two keys with the same 32-bit FNV-1a hash: only the bytes can tell them apart. */
    const char *a = "K288198", *b = "K2752585";
    assert_int_equal(hmap_hash(a, strlen(a)), hmap_hash(b, strlen(b)));
    int x = 1, y = 2;
    hmap m;
    hmap_init(&m);
    assert_int_equal(hmap_insert(&m, a, strlen(a), (hmap_value){.ptr = &x}), APEX_OK);
    assert_null(hmap_find_str(&m, b));
    assert_int_equal(hmap_insert(&m, b, strlen(b), (hmap_value){.ptr = &y}), APEX_OK);
    assert_ptr_equal(hmap_find_str(&m, a)->value.ptr, &x);
    assert_ptr_equal(hmap_find_str(&m, b)->value.ptr, &y);
    assert_int_equal(hmap_remove(&m, a, strlen(a)), APEX_OK);
    assert_null(hmap_find_str(&m, a));
    assert_ptr_equal(hmap_find_str(&m, b)->value.ptr, &y);
    hmap_free(&m);
}

/* Keys that all start probing in one slot of a 16-slot table, so removal must shift a long
 * run back, across the end of the array. */
static void test_hmap_probe_runs_and_removal(void **state)
{
    (void)state;
    enum { K = 7 };
    char keys[K][16];
    int found = 0;
    for (int i = 0; found < K; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        if ((hmap_hash(k, strlen(k)) & 15) == 14)
            memcpy(keys[found++], k, sizeof k);
    }
    hmap m;
    hmap_init(&m);
    for (int i = 0; i < K; i++)
        assert_int_equal(hmap_insert(&m, keys[i], strlen(keys[i]), (hmap_value){.i64 = i}),
                         APEX_OK);
    assert_int_equal(m.nslots, 16); /* still the first table: one run from slot 14 */
    assert_non_null(m.slots[14].key);
    assert_non_null(m.slots[0].key); /* wrapped around */

    /* Remove from the middle of the run, then the head, then check everything left. */
    assert_int_equal(hmap_remove(&m, keys[3], strlen(keys[3])), APEX_OK);
    assert_int_equal(hmap_remove(&m, keys[3], strlen(keys[3])), APEX_ENOTFOUND);
    assert_int_equal(hmap_remove(&m, keys[0], strlen(keys[0])), APEX_OK);
    assert_int_equal(hmap_count(&m), K - 2);
    for (int i = 0; i < K; i++) {
        hmap_entry *e = hmap_find_str(&m, keys[i]);
        if (i == 0 || i == 3) {
            assert_null(e);
        } else {
            assert_non_null(e);
            assert_int_equal(e->value.i64, i);
        }
    }
    /* The run is contiguous again: slots 14.. hold exactly the K-2 keys, then a gap. */
    int run = 0;
    for (uint32_t s = 14; m.slots[s & 15].key; s++)
        run++;
    assert_int_equal(run, K - 2);
    hmap_free(&m);
}

/* Random inserts, removals and lookups against a plain array of flags. */
static void test_hmap_matches_reference_model(void **state)
{
    (void)state;
    enum { KEYS = 3000, OPS = 60000 };
    char(*keys)[12] = calloc(KEYS, sizeof *keys);
    bool *present = calloc(KEYS, sizeof *present);
    assert_non_null(keys);
    assert_non_null(present);
    for (int i = 0; i < KEYS; i++)
        snprintf(keys[i], sizeof keys[i], "o-%d", i);
    hmap m;
    hmap_init(&m);
    int count = 0;
    for (int op = 0; op < OPS; op++) {
        int k = (int)(rng() % KEYS);
        size_t len = strlen(keys[k]);
        switch (rng() % 3) {
        case 0: {
            int rc = hmap_insert(&m, keys[k], len, (hmap_value){.i64 = k});
            assert_int_equal(rc, present[k] ? APEX_EDUP : APEX_OK);
            if (!present[k])
                count++;
            present[k] = true;
            break;
        }
        case 1: {
            int rc = hmap_remove(&m, keys[k], len);
            assert_int_equal(rc, present[k] ? APEX_OK : APEX_ENOTFOUND);
            if (present[k])
                count--;
            present[k] = false;
            break;
        }
        default: {
            hmap_entry *e = hmap_find(&m, keys[k], len);
            if (present[k]) {
                assert_non_null(e);
                assert_int_equal(e->value.i64, k);
            } else {
                assert_null(e);
            }
        }
        }
        assert_int_equal(hmap_count(&m), count);
    }
    for (int k = 0; k < KEYS; k++)
        assert_true((hmap_find_str(&m, keys[k]) != NULL) == present[k]);
    hmap_free(&m);
    free(keys);
    free(present);
}

/* ---- container_of ------------------------------------------------------------------- */

static void test_container_of(void **state)
{
    (void)state;
    struct outer {
        char pad[3];
        double d;
        heap_node node;
    } o;
    assert_ptr_equal(container_of(&o.d, struct outer, d), &o);
    assert_ptr_equal(container_of(&o.node, struct outer, node), &o);
    const heap_node *cn = &o.node;
    assert_ptr_equal(container_of(cn, struct outer, node), &o);
}

/* ---- assert ----------------------------------------------------------------------------- */

#if !defined(NDEBUG) || defined(APEX_FORCE_ASSERT)
#define ASSERTS_ON 1
#else
#define ASSERTS_ON 0
#endif

static void test_assert_on_or_off(void **state)
{
    (void)state;
    int evaluated = 0;
    APEX_ASSERT(++evaluated == 1);
    assert_int_equal(evaluated, ASSERTS_ON); /* compiled out: not evaluated */
#if ASSERTS_ON

    /* A failing assertion prints file:line and the condition, then aborts. */
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        int holds = -1;
        APEX_ASSERT(holds >= 0);
        _exit(0);
    }
    close(fds[1]);
    char buf[256] = {0};
    size_t n = 0;
    ssize_t r;
    while (n < sizeof buf - 1 && (r = read(fds[0], buf + n, sizeof buf - 1 - n)) > 0)
        n += (size_t)r;
    close(fds[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
    assert_non_null(strstr(buf, "test_util_structs.c:"));
    assert_non_null(strstr(buf, "test_assert_on_or_off(): holds >= 0"));
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vec_push_grows_and_keeps_order),
        cmocka_unit_test(test_vec_reserve_is_total_not_extra),
        cmocka_unit_test(test_vec_push_zeroed_and_extend_zeroed),
        cmocka_unit_test(test_vec_refuses_overflowing_growth),
        cmocka_unit_test(test_heap_pops_in_order),
        cmocka_unit_test(test_heap_removals_and_updates),
        cmocka_unit_test(test_heap_free_unlinks_nodes),
        cmocka_unit_test(test_hmap_basic_and_growth),
        cmocka_unit_test(test_hmap_full_hash_collision),
        cmocka_unit_test(test_hmap_probe_runs_and_removal),
        cmocka_unit_test(test_hmap_matches_reference_model),
        cmocka_unit_test(test_container_of),
        cmocka_unit_test(test_assert_on_or_off),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
