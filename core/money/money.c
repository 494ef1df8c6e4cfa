#include "money/money.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"

typedef __int128 i128;

/* Powers of ten up to the scale, for tick-style rounding of decimals. */
static const int64_t pow10_table[] = {1,      10,      100,      1000,     10000,
                                      100000, 1000000, 10000000, 100000000};

static bool in_range(i128 v)
{
    return v >= (i128)MONEY_MIN && v <= (i128)MONEY_MAX;
}

/* n / d rounded with `mode`. d must be non-zero. Division in C truncates toward zero,
 * so the remainder carries the sign of n; every mode is a correction of that. */
static i128 div_round(i128 n, i128 d, money_round mode)
{
    if (d < 0) {
        n = -n;
        d = -d;
    }
    i128 q = n / d;
    i128 r = n % d;
    if (r == 0)
        return q;
    switch (mode) {
    case MONEY_ROUND_TOWARD_ZERO:
        break;
    case MONEY_ROUND_DOWN:
        if (r < 0)
            q--;
        break;
    case MONEY_ROUND_UP:
        if (r > 0)
            q++;
        break;
    case MONEY_ROUND_NEAREST:
    default: {
        i128 twice = (r < 0 ? -r : r) * 2;
        if (twice > d || (twice == d && (q & 1) != 0))
            q += (n < 0) ? -1 : 1;
        break;
    }
    }
    return q;
}

int money_add(money_t a, money_t b, money_t *out)
{
    money_t r;
    if (__builtin_add_overflow(a, b, &r) || r < MONEY_MIN)
        return APEX_ERANGE;
    *out = r;
    return APEX_OK;
}

int money_sub(money_t a, money_t b, money_t *out)
{
    money_t r;
    if (__builtin_sub_overflow(a, b, &r) || r < MONEY_MIN)
        return APEX_ERANGE;
    *out = r;
    return APEX_OK;
}

int money_mul(money_t a, money_t b, money_round mode, money_t *out)
{
    /* |a*b| < 2^126, so the 128-bit product cannot overflow. */
    i128 q = div_round((i128)a * b, MONEY_SCALE, mode);
    if (!in_range(q))
        return APEX_ERANGE;
    *out = (money_t)q;
    return APEX_OK;
}

int money_div(money_t a, money_t b, money_round mode, money_t *out)
{
    if (b == 0)
        return APEX_EINVAL;
    i128 q = div_round((i128)a * MONEY_SCALE, b, mode);
    if (!in_range(q))
        return APEX_ERANGE;
    *out = (money_t)q;
    return APEX_OK;
}

int money_muldiv(money_t a, money_t b, money_t c, money_round mode, money_t *out)
{
    if (c == 0)
        return APEX_EINVAL;
    i128 q = div_round((i128)a * b, c, mode);
    if (!in_range(q))
        return APEX_ERANGE;
    *out = (money_t)q;
    return APEX_OK;
}

money_t money_round_to(money_t v, money_t step, money_round mode)
{
    if (step <= 0)
        return v;
    i128 r = div_round(v, step, mode) * step;
    /* Rounding away from zero at the very edge of the range would overflow: take the
     * multiple on the inside instead, which is still a valid tick or lot. */
    if (r > (i128)MONEY_MAX)
        r -= step;
    else if (r < (i128)MONEY_MIN)
        r += step;
    return (money_t)r;
}

bool money_is_multiple(money_t v, money_t step)
{
    return step <= 0 || v % step == 0;
}

double money_to_double(money_t v)
{
    /* Split so the whole part converts exactly; one division alone loses digits past 2^53. */
    money_t whole = v / MONEY_SCALE;
    money_t frac = v % MONEY_SCALE;
    return (double)whole + (double)frac / (double)MONEY_SCALE;
}

/* The exact parser. Digits before the point accumulate in an unsigned 64-bit integer
 * that is bounded long before it could wrap; the first 8 decimals are the fraction; a
 * 9th decimal plus a "sticky" flag for anything after decide half-to-even rounding. */
/* A plain decimal as data files write it: an optional '-', at most 10 whole digits, an
 * optional '.' with at most 8 decimals. Nothing to round and no overflow possible
 * (9,999,999,999.99999999 is far below MONEY_MAX), so no checks per digit. Returns
 * false for anything else, which money_parse's general loop then decides. */
static bool parse_plain(const char *s, size_t len, money_t *out)
{
    const char *p = s, *end = s + len;
    bool neg = p < end && *p == '-';
    p += neg;
    const char *w = p;
    uint64_t whole = 0;
    while (p < end && (unsigned)(*p - '0') < 10)
        whole = whole * 10 + (uint64_t)(*p++ - '0');
    size_t nwhole = (size_t)(p - w), nfrac = 0;
    uint64_t frac = 0;
    if (nwhole > 10)
        return false;
    if (p < end && *p == '.') {
        const char *f = ++p;
        while (p < end && (unsigned)(*p - '0') < 10)
            frac = frac * 10 + (uint64_t)(*p++ - '0');
        nfrac = (size_t)(p - f);
    }
    if (p != end || nfrac > MONEY_DECIMALS || nwhole + nfrac == 0)
        return false;
    uint64_t total =
        whole * (uint64_t)MONEY_SCALE + frac * (uint64_t)pow10_table[MONEY_DECIMALS - (int)nfrac];
    *out = neg ? -(money_t)total : (money_t)total;
    return true;
}

int money_parse(const char *s, size_t len, money_t *out)
{
    if (parse_plain(s, len, out))
        return APEX_OK;
    const char *p = s;
    const char *end = s + len;
    bool neg = false;
    if (p < end && (*p == '-' || *p == '+')) {
        neg = (*p == '-');
        p++;
    }
    uint64_t whole = 0;
    int ndigits = 0;
    while (p < end && (unsigned)(*p - '0') < 10) {
        whole = whole * 10 + (uint64_t)(*p - '0');
        if (whole > (uint64_t)(MONEY_MAX / MONEY_SCALE) + 1)
            return APEX_ERANGE;
        p++;
        ndigits++;
    }
    uint64_t frac = 0;
    int nfrac = 0;
    int round_digit = -1; /* the 9th decimal, if any */
    bool sticky = false;  /* any non-zero digit after the 9th */
    if (p < end && *p == '.') {
        p++;
        while (p < end && (unsigned)(*p - '0') < 10) {
            int d = *p - '0';
            if (nfrac < MONEY_DECIMALS) {
                frac = frac * 10 + (uint64_t)d;
                nfrac++;
            } else if (round_digit < 0) {
                round_digit = d;
            } else if (d != 0) {
                sticky = true;
            }
            p++;
            ndigits++;
        }
    }
    if (p != end || ndigits == 0)
        return APEX_EINVAL;
    frac *= (uint64_t)pow10_table[MONEY_DECIMALS - nfrac];
    uint64_t total = whole * (uint64_t)MONEY_SCALE + frac;
    if (round_digit > 5 || (round_digit == 5 && (sticky || (total & 1))))
        total++;
    if (total > (uint64_t)MONEY_MAX)
        return APEX_ERANGE;
    *out = neg ? -(money_t)total : (money_t)total;
    return APEX_OK;
}

bool money_double_text(double v, char *out, size_t outlen)
{
    char g[40];
    if (!isfinite(v))
        return false;
    snprintf(g, sizeof g, "%.15g", v);
    char *e = strchr(g, 'e');
    if (!e)
        return (size_t)snprintf(out, outlen, "%s", g) < outlen;
    /* printf chose an exponent ("1.234e-05"); money_parse takes plain decimals only, so
     * move the point by hand: the digits are exact, only their position changes. */
    long exp10 = strtol(e + 1, NULL, 10);
    *e = '\0';
    const char *m = g;
    bool neg = *m == '-';
    m += neg;
    char digits[24];
    size_t nd = 0;
    for (; *m && nd < sizeof digits - 1; m++)
        if (*m != '.')
            digits[nd++] = *m;
    digits[nd] = '\0';
    long point = 1 + exp10; /* digits before the decimal point */
    if (point > 40 || point < -40)
        return false; /* far outside money's range either way */
    char buf[128];
    size_t k = 0;
    if (neg)
        buf[k++] = '-';
    if (point <= 0) {
        buf[k++] = '0';
        buf[k++] = '.';
        for (long i = 0; i < -point; i++)
            buf[k++] = '0';
        memcpy(buf + k, digits, nd);
        k += nd;
    } else if ((size_t)point >= nd) {
        memcpy(buf + k, digits, nd);
        k += nd;
        for (size_t i = nd; i < (size_t)point; i++)
            buf[k++] = '0';
    } else {
        memcpy(buf + k, digits, (size_t)point);
        k += (size_t)point;
        buf[k++] = '.';
        memcpy(buf + k, digits + point, nd - (size_t)point);
        k += nd - (size_t)point;
    }
    buf[k] = '\0';
    return (size_t)snprintf(out, outlen, "%s", buf) < outlen;
}

int money_from_double(double v, money_t *out, const char *what, char *err, size_t errlen)
{
    const char *name = what ? what : "value";
    if (isnan(v))
        return err_set(err, errlen, APEX_EINVAL, "%s: NaN is not a number; pass a finite value",
                       name);
    if (isinf(v))
        return err_set(err, errlen, APEX_EINVAL, "%s: %s is not a finite number", name,
                       v > 0 ? "inf" : "-inf");
    if (fabs(v) >= MONEY_DOUBLE_LIMIT)
        return err_set(err, errlen, APEX_ERANGE,
                       "%s: %.17g is out of range (at most +/-92233720367 whole units)", name, v);

    /* Fast path: below 2^40 the product v*1e8 is within 2^-13 of the exact value, so
     * unless it sits almost exactly on a half, rounding it gives the exact answer. */
    double x = v * (double)MONEY_SCALE;
    if (fabs(x) < 1099511627776.0) {
        double r = nearbyint(x);
        double dist = fabs(x - r);
        if (fabs(dist - 0.5) > 1.0 / 1024) {
            *out = (money_t)r;
            return APEX_OK;
        }
    }
    /* Slow path: glibc prints the exact binary value rounded correctly to 8 places. */
    char buf[64];
    int n = snprintf(buf, sizeof buf, "%.8f", v);
    if (n <= 0 || (size_t)n >= sizeof buf || money_parse(buf, (size_t)n, out) != 0)
        return err_set(err, errlen, APEX_ERANGE, "%s: %.17g is out of range", name, v);
    return APEX_OK;
}

char *money_format(money_t v, int decimals, char *buf, size_t buflen)
{
    if (!buf || buflen == 0)
        return buf;
    if (decimals < 0)
        decimals = 0;
    if (decimals > MONEY_DECIMALS)
        decimals = MONEY_DECIMALS;
    int64_t unit = pow10_table[MONEY_DECIMALS - decimals];
    /* Rounded value in units of 10^-decimals; 128 bits so -INT64_MAX needs no care. */
    i128 q = div_round(v, unit, MONEY_ROUND_NEAREST);
    bool neg = q < 0;
    unsigned __int128 a = (unsigned __int128)(neg ? -q : q);
    uint64_t div = (uint64_t)pow10_table[decimals];
    uint64_t whole = (uint64_t)(a / div);
    uint64_t frac = (uint64_t)(a % div);
    /* Digits written backwards into a local buffer, then copied (and truncated as
     * snprintf would): events and log lines format money on every fill, and snprintf's
     * format parsing was most of the cost. */
    char tmp[48];
    char *p = tmp + sizeof tmp;
    for (int i = 0; i < decimals; i++, frac /= 10)
        *--p = (char)('0' + frac % 10);
    if (decimals > 0)
        *--p = '.';
    do {
        *--p = (char)('0' + whole % 10);
        whole /= 10;
    } while (whole);
    if (neg)
        *--p = '-';
    size_t n = (size_t)(tmp + sizeof tmp - p);
    if (n >= buflen)
        n = buflen - 1;
    memcpy(buf, p, n);
    buf[n] = '\0';
    return buf;
}

char *money_format_trim(money_t v, int min_decimals, char *buf, size_t buflen)
{
    if (min_decimals < 0)
        min_decimals = 0;
    if (min_decimals > MONEY_DECIMALS)
        min_decimals = MONEY_DECIMALS;
    int d = min_decimals;
    while (d < MONEY_DECIMALS && v % pow10_table[MONEY_DECIMALS - d] != 0)
        d++;
    return money_format(v, d, buf, buflen);
}
