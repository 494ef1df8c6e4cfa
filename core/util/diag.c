#include "util/diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void diag_init(diag_list *d)
{
    vec_init(d);
}

void diag_free(diag_list *d)
{
    for (int i = 0; i < d->count; i++)
        free(d->items[i]);
    vec_free(d);
}

bool diag_full(const diag_list *d)
{
    return d->count >= DIAG_MAX;
}

void diag_add(diag_list *d, const char *fmt, ...)
{
    char buf[1024];
    if (d->count > DIAG_MAX)
        return;
    if (d->count == DIAG_MAX)
        snprintf(buf, sizeof buf,
                 "... more problems not shown: only the first %d are listed; fix these and "
                 "run again",
                 DIAG_MAX);
    else {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
    }
    /* Out of memory: the earlier diagnostics still stand. */
    char *copy = strdup(buf);
    if (copy && vec_push(d, copy) != APEX_OK)
        free(copy);
}
