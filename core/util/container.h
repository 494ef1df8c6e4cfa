/* container: from a struct member back to the struct that holds it.
 *
 * Intrusive structures (util/heap.h nodes, clock timers) hand back a pointer to the member
 * embedded in a caller's struct; container_of recovers the struct:
 *
 *     trade *t = container_of(timer, trade, check_timer);
 *
 * The pointer's type is checked against the member's at compile time (a mismatch is a
 * "pointer type mismatch" error), so the offset cannot silently refer to another member.
 * The unused branch of the conditional is never evaluated. */
#ifndef APEX_UTIL_CONTAINER_H
#define APEX_UTIL_CONTAINER_H

#include <stddef.h>

#define container_of(ptr, type, member)                                                            \
    ((type *)(void *)((char *)(1 ? (ptr) : &((type *)0)->member) - offsetof(type, member)))

#endif
