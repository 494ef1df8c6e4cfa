/* diag: a list of user-facing problems, collected so `apex-host check` can
 * report every problem in a pipeline at once instead of stopping at the first.
 * Each message names the file, the line or the field, and what to do. */
#ifndef APEX_UTIL_DIAG_H
#define APEX_UTIL_DIAG_H

#include "util/vec.h"

typedef VEC(char *) diag_list; /* items[0..count): owned messages, oldest first */

void diag_init(diag_list *d);
void diag_free(diag_list *d);
void diag_add(diag_list *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
