/* timeparse: timestamps as they appear in data files.
 * Accepts integer Unix seconds ("1709562600") or ISO-8601 UTC
 * ("2024-03-04T14:30:00Z", "2024-03-04 14:30:00", optional fraction ".123").
 * Returns 0 and µs since the epoch, or APEX_EINVAL. */
#ifndef APEX_UTIL_TIMEPARSE_H
#define APEX_UTIL_TIMEPARSE_H

#include <stddef.h>
#include <stdint.h>

int time_parse(const char *s, size_t len, int64_t *out_us);

/* Days since 1970-01-01 for a proleptic Gregorian date (no time zone involved). */
int64_t time_days_from_civil(int64_t y, unsigned m, unsigned d);

#endif
