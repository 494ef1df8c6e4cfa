/* timestamp: text <-> apex_time for market data files and broker JSON (market/, and
 * broker/alpaca_json for RFC 3339 times).
 *
 * Accepts integer Unix seconds ("1709303400") and ISO-8601 dates and times:
 * "2024-03-01", "2024-03-01T14:30", "2024-03-01 14:30:00", "2024-03-01T14:30:00.250Z",
 * "2024-03-01T09:30:00-05:00" (an offset is converted to UTC). Fraction digits past the
 * microsecond (RFC 3339 nanoseconds) are truncated. */
#ifndef APEX_MARKET_TIMESTAMP_H
#define APEX_MARKET_TIMESTAMP_H

#include <stddef.h>

#include "clock/clock.h"

/* 0 on success, APEX_EINVAL when s (len bytes, no terminator needed) is not a time. */
int timestamp_parse(const char *s, size_t len, apex_time *out);

/* "2024-03-01 14:30:00" (UTC, whole seconds). Returns buf. */
char *timestamp_format(apex_time t, char *buf, size_t buflen);

/* Days since 1970-01-01 for a proleptic Gregorian date (no range checks). */
long timestamp_days_from_civil(int year, int month, int day);

#endif
