/* vec: the growable array every module uses instead of its own realloc loop.
 *
 * A vec is a small struct of three fields, declared with VEC(T) and usually named
 * with a typedef:
 *
 *     typedef VEC(news_item) news_vec;
 *     news_vec v = {0};                 // zero is the empty vec; vec_init() says so too
 *     if (vec_push(&v, item) != 0)      // 0, or APEX_ENOMEM with v unchanged
 *         return APEX_ENOMEM;
 *     for (int i = 0; i < v.count; i++) use(&v.items[i]);
 *     vec_free(&v);
 *
 * items, count and cap may be read directly, and count may be lowered (to drop or
 * compact elements); growing goes through the functions below. Counts are int like
 * every count in the core; capacity doubles. A growth that would overflow int or
 * size_t fails with APEX_ENOMEM, as an allocation failure does; the vec is then left
 * exactly as it was, so a caller can report the error and keep the elements it has.
 * Nothing here aborts.
 *
 * The macros evaluate `v` more than once: pass a plain pointer, not an expression
 * with side effects. Element pointers are invalidated by any growth. */
#ifndef APEX_UTIL_VEC_H
#define APEX_UTIL_VEC_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"

#define VEC(T)                                                                                     \
    struct {                                                                                       \
        T *items;                                                                                  \
        int count;                                                                                 \
        int cap;                                                                                   \
    }

/* The smallest capacity a growing vec allocates: below this, doubling only churns. */
#define VEC_MIN_CAP 8

/* Grows *items (an array of elem_size-byte elements, `cap` of them, passed as the address
 * of the T * field) so that it holds at least `need` elements. Returns 0 or APEX_ENOMEM.
 * Use the macros; this is their one out-of-line part. */
int vec_reserve_(void *items_field, int *cap, int need, size_t elem_size);

#define vec_init(v) memset((v), 0, sizeof *(v))

/* Makes room for `n` elements in total (not n more). 0 or APEX_ENOMEM. The unsigned
 * compare sends a negative n (a count + k that overflowed int) to the refusal path. */
#define vec_reserve(v, n)                                                                          \
    ((unsigned)(n) <= (unsigned)(v)->cap                                                           \
         ? APEX_OK                                                                                 \
         : vec_reserve_(&(v)->items, &(v)->cap, (n), sizeof *(v)->items))

/* Appends a copy of `x`. 0 or APEX_ENOMEM (then `x` is not added). */
#define vec_push(v, x)                                                                             \
    (vec_reserve((v), (v)->count + 1) != APEX_OK ? APEX_ENOMEM                                     \
                                                 : ((v)->items[(v)->count++] = (x), APEX_OK))

/* Appends one zeroed element and returns a pointer to it, or NULL when out of memory. */
#define vec_push_zeroed(v)                                                                         \
    (vec_reserve((v), (v)->count + 1) != APEX_OK                                                   \
         ? NULL                                                                                    \
         : memset(&(v)->items[(v)->count++], 0, sizeof *(v)->items))

/* Makes count at least `n`, zeroing the new elements: a table indexed by a dense id
 * (symbol ids) grows this way. 0 or APEX_ENOMEM (then nothing changed). */
#define vec_extend_zeroed(v, n)                                                                    \
    ((unsigned)(n) <= (unsigned)(v)->count ? APEX_OK                                               \
     : vec_reserve((v), (n)) != APEX_OK                                                            \
         ? APEX_ENOMEM                                                                             \
         : (memset(&(v)->items[(v)->count], 0, (size_t)((n) - (v)->count) * sizeof *(v)->items),   \
            (v)->count = (n), APEX_OK))

/* The last element; the vec must not be empty. */
#define vec_last(v) (&(v)->items[(v)->count - 1])

/* Forgets the elements but keeps the memory for reuse. */
#define vec_clear(v) ((v)->count = 0)

/* Frees the array (not what its elements point to) and leaves the vec empty. */
#define vec_free(v)                                                                                \
    do {                                                                                           \
        free((v)->items);                                                                          \
        (v)->items = NULL;                                                                         \
        (v)->count = (v)->cap = 0;                                                                 \
    } while (0)

#endif
