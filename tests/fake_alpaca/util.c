/* fake-alpaca: helpers (see util.h). */
#include "util.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sb_reserve(sb_t *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p)
        abort();
    b->p = p;
    b->cap = cap;
}

void sb_putn(sb_t *b, const char *s, size_t n)
{
    sb_reserve(b, n);
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

void sb_puts(sb_t *b, const char *s)
{
    sb_putn(b, s, strlen(s));
}

void sb_printf(sb_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    sb_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void sb_free(sb_t *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

void sb_jstr(sb_t *b, const char *s)
{
    if (!s) {
        sb_puts(b, "null");
        return;
    }
    sb_putn(b, "\"", 1);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\') {
            char e[2] = {'\\', (char)*c};
            sb_putn(b, e, 2);
        } else if (*c < 0x20) {
            sb_printf(b, "\\u%04x", *c);
        } else {
            sb_putn(b, (const char *)c, 1);
        }
    }
    sb_putn(b, "\"", 1);
}

void fx_fmt(fx_t v, char *buf, size_t n)
{
    uint64_t a = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    uint64_t ip = a / FX_ONE, fp = a % FX_ONE;
    if (fp == 0) {
        snprintf(buf, n, "%s%llu", v < 0 ? "-" : "", (unsigned long long)ip);
        return;
    }
    char frac[16];
    snprintf(frac, sizeof frac, "%08llu", (unsigned long long)fp);
    size_t l = strlen(frac);
    while (l > 1 && frac[l - 1] == '0')
        frac[--l] = 0;
    snprintf(buf, n, "%s%llu.%s", v < 0 ? "-" : "", (unsigned long long)ip, frac);
}

void sb_fxstr(sb_t *b, fx_t v)
{
    char t[48];
    fx_fmt(v, t, sizeof t);
    sb_printf(b, "\"%s\"", t);
}

void sb_fxnum(sb_t *b, fx_t v)
{
    char t[48];
    fx_fmt(v, t, sizeof t);
    sb_puts(b, t);
}

void sb_time(sb_t *b, int64_t t_us)
{
    if (!t_us) {
        sb_puts(b, "null");
        return;
    }
    char t[48];
    time_fmt(t_us, 1, t, sizeof t);
    sb_printf(b, "\"%s\"", t);
}

int fx_parse(const char *s, fx_t *out)
{
    if (!s)
        return -1;
    while (isspace((unsigned char)*s))
        s++;
    int neg = 0;
    if (*s == '-' || *s == '+')
        neg = *s++ == '-';
    uint64_t ip = 0, fp = 0;
    int digits = 0, fd = 0;
    while (isdigit((unsigned char)*s)) {
        if (ip > 90000000000ULL)
            return -1;
        ip = ip * 10 + (uint64_t)(*s++ - '0');
        digits++;
    }
    if (*s == '.') {
        s++;
        while (isdigit((unsigned char)*s)) {
            if (fd < 8) {
                fp = fp * 10 + (uint64_t)(*s - '0');
                fd++;
            }
            s++;
            digits++;
        }
    }
    while (isspace((unsigned char)*s))
        s++;
    if (!digits || *s)
        return -1;
    for (; fd < 8; fd++)
        fp *= 10;
    int64_t v = (int64_t)(ip * FX_ONE + fp);
    *out = neg ? -v : v;
    return 0;
}

static fx_t round_div(__int128 num, __int128 den)
{
    if (den == 0)
        return 0;
    if (den < 0) {
        num = -num;
        den = -den;
    }
    __int128 q = num >= 0 ? (num + den / 2) / den : -((-num + den / 2) / den);
    return (fx_t)q;
}

fx_t fx_mul(fx_t a, fx_t b)
{
    return round_div((__int128)a * b, FX_ONE);
}

fx_t fx_div(fx_t a, fx_t b)
{
    return round_div((__int128)a * FX_ONE, b);
}

int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t yy = (int64_t)yoe + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yy + (*m <= 2));
}

static int num(const char **s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*s)[i]))
            return -1;
        v = v * 10 + ((*s)[i] - '0');
    }
    *s += n;
    *out = v;
    return 0;
}

int time_parse(const char *s, int64_t *out_us)
{
    int y, mo, d, h = 0, mi = 0, se = 0;
    int64_t us = 0, off = 0;
    if (!s || num(&s, 4, &y) || *s++ != '-' || num(&s, 2, &mo) || *s++ != '-' || num(&s, 2, &d))
        return -1;
    if (*s == 'T' || *s == 't' || *s == ' ') {
        s++;
        if (num(&s, 2, &h) || *s++ != ':' || num(&s, 2, &mi))
            return -1;
        if (*s == ':') {
            s++;
            if (num(&s, 2, &se))
                return -1;
        }
        if (*s == '.') {
            s++;
            int64_t scale = 100000;
            while (isdigit((unsigned char)*s)) {
                us += (*s - '0') * scale;
                scale /= 10;
                s++;
            }
        }
        if (*s == 'Z' || *s == 'z') {
            s++;
        } else if (*s == '+' || *s == '-') {
            int sign = *s++ == '-' ? -1 : 1, oh, om;
            if (num(&s, 2, &oh))
                return -1;
            if (*s == ':')
                s++;
            if (num(&s, 2, &om))
                return -1;
            off = sign * (oh * 3600 + om * 60);
        }
    }
    if (*s || mo < 1 || mo > 12 || d < 1 || d > 31)
        return -1;
    int64_t days = days_from_civil(y, (unsigned)mo, (unsigned)d);
    *out_us = ((days * 86400 + h * 3600 + mi * 60 + se) - off) * 1000000 + us;
    return 0;
}

void time_fmt(int64_t t_us, int frac, char *buf, size_t n)
{
    int64_t secs = t_us >= 0 ? t_us / 1000000 : -((-t_us + 999999) / 1000000);
    int64_t us = t_us - secs * 1000000;
    int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    int64_t sod = secs - days * 86400;
    int y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    if (frac)
        snprintf(buf, n, "%04d-%02u-%02uT%02d:%02d:%02d.%06dZ", y, m, d, (int)(sod / 3600),
                 (int)(sod / 60 % 60), (int)(sod % 60), (int)us);
    else
        snprintf(buf, n, "%04d-%02u-%02uT%02d:%02d:%02dZ", y, m, d, (int)(sod / 3600),
                 (int)(sod / 60 % 60), (int)(sod % 60));
}

static uint64_t splitmix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

void uuid_make(uint64_t seed, uint64_t n, char out[37])
{
    uint64_t a = splitmix(seed * 0x100000001b3ULL + n), b = splitmix(a ^ (n + 1));
    snprintf(out, 37, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(a >> 32),
             (unsigned)(a >> 16) & 0xffff, (unsigned)a & 0xfff,
             (unsigned)(0x8000 | ((b >> 48) & 0x3fff)),
             (unsigned long long)(b & 0xffffffffffffULL));
}

/* ---- the regular session: 14:30-21:00 UTC on weekdays, no holidays ---- */

int session_weekday(int64_t day)
{
    return (int)((day % 7 + 10) % 7); /* 0 Monday .. 6 Sunday; 1970-01-01 was a Thursday */
}

int64_t session_open_us(int64_t day)
{
    return day * US_PER_DAY + (14 * 3600 + 30 * 60) * 1000000LL;
}

int64_t session_close_us(int64_t day)
{
    return day * US_PER_DAY + 21 * 3600 * 1000000LL;
}

int64_t next_trading_day(int64_t day)
{
    do
        day++;
    while (session_weekday(day) >= 5);
    return day;
}
