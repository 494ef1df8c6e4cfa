/* analytics_json: an analytics_result as JSON (jansson), the one shape the JSON API, the
 * dashboard and `backtest --report` read. Ratios and fractions are JSON numbers or null
 * when undefined (NaN); times are ISO 8601 UTC strings; money is a number in currency
 * units. Field names are documented in docs/analytics.md. */
#ifndef APEX_ANALYTICS_JSON_H
#define APEX_ANALYTICS_JSON_H

#include <jansson.h>

#include "analytics/analytics.h"

/* A new object (the caller json_decref's it), or NULL when out of memory. */
json_t *analytics_result_json(const analytics_result *r);
/* One group's statistics (a symbol, an exit reason, or all trades). */
json_t *analytics_trade_stats_json(const analytics_trade_stats *s);
/* A number, or null for NaN and infinities (JSON has neither). */
json_t *analytics_json_real(double v);
/* "2024-03-01T14:30:00Z" for a time in µs since the epoch; "" for 0. Returns buf. */
char *analytics_iso_time(int64_t ts, char *buf, size_t buflen);

#endif
