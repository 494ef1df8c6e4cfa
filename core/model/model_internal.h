/* Internal to core/model: name tables shared by the enum <-> text conversions. */
#ifndef APEX_MODEL_INTERNAL_H
#define APEX_MODEL_INTERNAL_H

#include <string.h>

#define MODEL_COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* The name of v in names[0..n), or fallback when v is out of range. */
static inline const char *model_name(const char *const *names, int n, int v, const char *fallback)
{
    return v >= 0 && v < n ? names[v] : fallback;
}

/* The index of name in names[0..n), or -1. */
static inline int model_parse(const char *const *names, int n, const char *name)
{
    for (int i = 0; name && i < n; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    return -1;
}

#endif
