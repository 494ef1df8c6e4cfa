#include "util/timeparse.h"

#include "util/err.h"

int64_t time_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    /* Howard Hinnant's days_from_civil: exact, branch-light, no timegm/TZ dependency. */
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int digits(const char *s, size_t len, size_t *pos, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++, (*pos)++) {
        if (*pos >= len || s[*pos] < '0' || s[*pos] > '9')
            return APEX_EINVAL;
        v = v * 10 + (s[*pos] - '0');
    }
    *out = v;
    return 0;
}

int time_parse(const char *s, size_t len, int64_t *out_us)
{
    size_t p = 0;
    int all_digits = len > 0;
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            all_digits = 0;
    if (all_digits && len != 8) { /* Unix seconds; 8 digits would be an ambiguous date */
        int64_t v = 0;
        for (size_t i = 0; i < len; i++) {
            if (v > (INT64_MAX / 1000000 - 9) / 10)
                return APEX_EINVAL;
            v = v * 10 + (s[i] - '0');
        }
        *out_us = v * 1000000;
        return 0;
    }
    int y, mo, d, h = 0, mi = 0, sec = 0;
    if (digits(s, len, &p, 4, &y) || p >= len || s[p++] != '-' || digits(s, len, &p, 2, &mo) ||
        p >= len || s[p++] != '-' || digits(s, len, &p, 2, &d))
        return APEX_EINVAL;
    int64_t frac_us = 0;
    if (p < len) {
        if (s[p] != 'T' && s[p] != ' ')
            return APEX_EINVAL;
        p++;
        if (digits(s, len, &p, 2, &h) || p >= len || s[p++] != ':' || digits(s, len, &p, 2, &mi))
            return APEX_EINVAL;
        if (p < len && s[p] == ':') {
            p++;
            if (digits(s, len, &p, 2, &sec))
                return APEX_EINVAL;
            if (p < len && s[p] == '.') {
                p++;
                int64_t scale = 100000;
                if (p >= len || s[p] < '0' || s[p] > '9')
                    return APEX_EINVAL;
                for (; p < len && s[p] >= '0' && s[p] <= '9'; p++, scale /= 10)
                    frac_us += (s[p] - '0') * scale;
            }
        }
        if (p < len && s[p] == 'Z')
            p++;
    }
    if (p != len || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return APEX_EINVAL;
    int64_t days = time_days_from_civil(y, (unsigned)mo, (unsigned)d);
    *out_us = ((days * 24 + h) * 60 + mi) * 60 * 1000000LL + sec * 1000000LL + frac_us;
    return 0;
}
