/* vec: the one out-of-line step of growing a vec. */
#include "util/vec.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int vec_reserve_(void *items_field, int *cap, int need, size_t elem_size)
{
    /* A negative need is a count that overflowed int on the caller's side (count + n):
     * refusing it is the overflow check. */
    if (need < 0 || elem_size == 0)
        return APEX_ENOMEM;
    if (need <= *cap)
        return APEX_OK;
    /* Doubling keeps pushes amortised O(1); near INT_MAX it stops at the need itself. */
    int ncap = *cap < VEC_MIN_CAP ? VEC_MIN_CAP : *cap;
    while (ncap < need)
        ncap = ncap > INT_MAX / 2 ? need : ncap * 2;
    if ((size_t)ncap > SIZE_MAX / elem_size)
        return APEX_ENOMEM;
    /* The field is a T *, read and written as bytes: no T * is accessed through a void *
     * lvalue, and every platform we build for represents both pointers alike. */
    void *items;
    memcpy(&items, items_field, sizeof items);
    void *grown = realloc(items, (size_t)ncap * elem_size);
    if (!grown)
        return APEX_ENOMEM;
    memcpy(items_field, &grown, sizeof grown);
    *cap = ncap;
    return APEX_OK;
}
