/* fake-alpaca: small helpers (string builder, fixed-point decimals, RFC 3339 times, ids).
 * A test tool, never part of the product (tests/fake_alpaca/README.md). */
#ifndef FAKE_ALPACA_UTIL_H
#define FAKE_ALPACA_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Money and quantities are fixed point, 1e-8 units ("fx"), printed as exact decimals. */
typedef int64_t fx_t;
#define FX_ONE 100000000LL

/* Growable string; every function keeps p NUL-terminated. Out of memory aborts. */
typedef struct {
    char *p;
    size_t len, cap;
} sb_t;

void sb_reserve(sb_t *b, size_t extra);
void sb_putn(sb_t *b, const char *s, size_t n);
void sb_puts(sb_t *b, const char *s);
void sb_printf(sb_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_free(sb_t *b);
/* A JSON string literal, quotes included; NULL prints null. */
void sb_jstr(sb_t *b, const char *s);
/* A decimal as a JSON string ("179.08") or as a JSON number (179.08). */
void sb_fxstr(sb_t *b, fx_t v);
void sb_fxnum(sb_t *b, fx_t v);
/* A time (microseconds since the epoch) as a JSON string, or null when t is 0. */
void sb_time(sb_t *b, int64_t t_us);

/* "12.5", "-3", "100.00000001" -> fx. Returns 0 on success, -1 on junk. */
int fx_parse(const char *s, fx_t *out);
void fx_fmt(fx_t v, char *buf, size_t n);
/* a * b / FX_ONE and a * FX_ONE / b, rounded half away from zero, through 128 bits. */
fx_t fx_mul(fx_t a, fx_t b);
fx_t fx_div(fx_t a, fx_t b);

/* RFC 3339 ("2024-01-02T15:04:05Z", fractions and +hh:mm offsets) or a date
 * ("2024-01-02") -> microseconds since the epoch. Returns 0 on success, -1 on junk. */
int time_parse(const char *s, int64_t *out_us);
/* "2024-01-02T15:04:05.123456Z" (frac 1) or "2024-01-02T15:04:05Z" (frac 0). */
void time_fmt(int64_t t_us, int frac, char *buf, size_t n);
/* Days since 1970-01-01 and back. */
int64_t days_from_civil(int64_t y, unsigned m, unsigned d);
void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d);

/* The regular session, simplified: 14:30-21:00 UTC (09:30-16:00 EST) on weekdays, no
 * holidays. day: days since the epoch; weekday 0 is Monday. */
#define US_PER_DAY 86400000000LL
int session_weekday(int64_t day);
int64_t session_open_us(int64_t day);
int64_t session_close_us(int64_t day);
int64_t next_trading_day(int64_t day);

/* Deterministic uuid v4 shaped ids: the n-th id of a seed. */
void uuid_make(uint64_t seed, uint64_t n, char out[37]);

#endif
