#include "market/timestamp.h"

#include <stdbool.h>
#include <stdio.h>

#include "util/err.h"

/* Howard Hinnant's days_from_civil: exact integer arithmetic, no libc time zone state,
 * which matters because timegm() is slow and mktime() depends on TZ. */
long timestamp_days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153L * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(long z, int *y, int *m, int *d)
{
    z += 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

static bool digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (d > 9)
            return false;
        v = v * 10 + (int)d;
    }
    *out = v;
    return true;
}

static int days_in_month(int y, int m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dm[m - 1];
}

static int parse_epoch(const char *s, size_t len, apex_time *out)
{
    /* 11 digits reach the year 5138; more is almost certainly milliseconds. */
    if (len == 0 || len > 11)
        return APEX_EINVAL;
    long long v = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (d > 9)
            return APEX_EINVAL;
        v = v * 10 + d;
    }
    *out = (apex_time)v * APEX_SECOND;
    return 0;
}

int timestamp_parse(const char *s, size_t len, apex_time *out)
{
    if (len < 5 || s[4] != '-')
        return parse_epoch(s, len, out);
    int y, mo, d, h = 0, mi = 0, sec = 0;
    if (len < 10 || s[4] != '-' || s[7] != '-' || !digits(s, 4, &y) || !digits(s + 5, 2, &mo) ||
        !digits(s + 8, 2, &d))
        return APEX_EINVAL;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
        return APEX_EINVAL;
    size_t i = 10;
    long frac_us = 0;
    long offset_s = 0;
    if (i < len && (s[i] == 'T' || s[i] == ' ')) {
        if (len < i + 6 || !digits(s + i + 1, 2, &h) || s[i + 3] != ':' ||
            !digits(s + i + 4, 2, &mi))
            return APEX_EINVAL;
        i += 6;
        if (i < len && s[i] == ':') {
            if (len < i + 3 || !digits(s + i + 1, 2, &sec))
                return APEX_EINVAL;
            i += 3;
            if (i < len && (s[i] == '.' || s[i] == ',')) {
                i++;
                long scale = 100000;
                size_t start = i;
                while (i < len && (unsigned)(s[i] - '0') <= 9) {
                    frac_us += (s[i] - '0') * scale;
                    scale /= 10;
                    i++;
                }
                if (i == start)
                    return APEX_EINVAL;
            }
        }
        if (h > 23 || mi > 59 || sec > 59)
            return APEX_EINVAL;
        if (i < len && s[i] == 'Z') {
            i++;
        } else if (i < len && (s[i] == '+' || s[i] == '-')) {
            int oh, om;
            bool colon = len >= i + 6 && s[i + 3] == ':';
            if (len < i + (colon ? 6 : 5) || !digits(s + i + 1, 2, &oh) ||
                !digits(s + i + (colon ? 4 : 3), 2, &om) || oh > 23 || om > 59)
                return APEX_EINVAL;
            /* Local time = UTC + offset, so UTC = local - offset. */
            offset_s = (s[i] == '+' ? 1 : -1) * (oh * 3600L + om * 60L);
            i += colon ? 6 : 5;
        }
    }
    if (i != len)
        return APEX_EINVAL;
    long days = timestamp_days_from_civil(y, mo, d);
    long long secs = (long long)days * 86400 + h * 3600LL + mi * 60LL + sec - offset_s;
    *out = (apex_time)secs * APEX_SECOND + frac_us;
    return 0;
}

char *timestamp_format(apex_time t, char *buf, size_t buflen)
{
    long long secs = t / APEX_SECOND;
    if (t % APEX_SECOND < 0)
        secs--;
    long long days = secs / 86400;
    long long rem = secs % 86400;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    int y, m, d;
    civil_from_days((long)days, &y, &m, &d);
    snprintf(buf, buflen, "%04d-%02d-%02d %02d:%02d:%02d", y, m, d, (int)(rem / 3600),
             (int)(rem / 60 % 60), (int)(rem % 60));
    return buf;
}
