/* diag: a list of user-facing problems, collected so `apex-host check` can
 * report every problem in a pipeline at once instead of stopping at the first.
 * Each message names the file, the line or the field, and what to do. */
#ifndef APEX_UTIL_DIAG_H
#define APEX_UTIL_DIAG_H

#include <stdbool.h>

#include "util/vec.h"

typedef VEC(char *) diag_list; /* items[0..count): owned messages, oldest first */

/* Messages kept per list. A file with a million mistakes (one unknown field per key of a
 * huge table) would otherwise cost the host memory and time for each one, and no trader
 * reads past the first screenful: after DIAG_MAX messages one more says that the rest
 * are not shown, and later ones are dropped. Callers still count every problem. */
#define DIAG_MAX 100

void diag_init(diag_list *d);
void diag_free(diag_list *d);
void diag_add(diag_list *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* True once the list holds DIAG_MAX messages and drops the rest: a caller may skip the
 * work of composing a message nobody will see. */
bool diag_full(const diag_list *d);

#endif
