/* str: bounded string copy for the hot paths, where snprintf("%s") costs a format parse
 * per call (a symbol copied into every position view was 2% of a 2,000-position run). */
#ifndef APEX_UTIL_STR_H
#define APEX_UTIL_STR_H

#include <stddef.h>
#include <string.h>

/* Copies src into dst[n], cut to n - 1 bytes and always terminated (n > 0). */
static inline void str_copy(char *dst, size_t n, const char *src)
{
    size_t len = strnlen(src, n - 1);
    memcpy(dst, src, len);
    dst[len] = '\0';
}

#endif
