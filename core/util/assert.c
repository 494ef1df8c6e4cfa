#include "util/assert.h"

#include <stdio.h>
#include <stdlib.h>

_Noreturn void apex_assert_fail(const char *file, int line, const char *cond)
{
    /* stderr is unbuffered, but stdout may hold the trade log that led here. */
    fflush(stdout);
    fprintf(stderr, "%s:%d: assertion failed: %s\n", file, line, cond);
    abort();
}
