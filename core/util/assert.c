/* assert: the failure path of APEX_ASSERT. */
#include "util/assert.h"

#include <stdio.h>
#include <stdlib.h>

/* Defined in every build so a translation unit compiled with assertions on links
 * against a library compiled without them. */
void apex_assert_fail(const char *cond, const char *file, int line, const char *func)
{
    fprintf(stderr, "apex-host: internal invariant broken at %s:%d in %s(): %s\n", file, line, func,
            cond);
    fflush(stderr);
    abort();
}
