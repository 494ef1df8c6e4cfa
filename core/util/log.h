/* log: what the host prints as it happens.
 *
 * Trading events (signals, orders, fills, exits) go to stdout so a trader can
 * follow a run; diagnostics go to stderr. Each line carries the host clock's
 * time (simulated time in a backtest), set with log_set_clock. */
#ifndef APEX_UTIL_LOG_H
#define APEX_UTIL_LOG_H

#include <stdint.h>

typedef enum { LOG_DEBUG = 0, LOG_INFO, LOG_EVENT, LOG_WARN, LOG_ERROR, LOG_QUIET } log_level;

/* Lines below `level` are dropped. Default LOG_EVENT. */
void log_set_level(log_level level);
log_level log_get_level(void);

/* Time source for line prefixes: microseconds since the Unix epoch. NULL = wall clock. */
void log_set_clock(int64_t (*now_us)(void *ud), void *ud);

void log_msg(log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_event(...) log_msg(LOG_EVENT, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

/* Formats a time (µs since epoch, UTC) as "2024-03-01 14:30:00" into buf. */
const char *log_format_time(int64_t us, char *buf, int buflen);

#endif
