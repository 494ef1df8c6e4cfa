#include "util/diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void diag_init(diag_list *d)
{
    memset(d, 0, sizeof *d);
}

void diag_free(diag_list *d)
{
    for (int i = 0; i < d->count; i++)
        free(d->items[i]);
    free(d->items);
    memset(d, 0, sizeof *d);
}

void diag_add(diag_list *d, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (d->count == d->cap) {
        int cap = d->cap ? d->cap * 2 : 8;
        char **items = realloc(d->items, (size_t)cap * sizeof *items);
        if (!items)
            return; /* out of memory: the earlier diagnostics still stand */
        d->items = items;
        d->cap = cap;
    }
    char *copy = strdup(buf);
    if (copy)
        d->items[d->count++] = copy;
}
