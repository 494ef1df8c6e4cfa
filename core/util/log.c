#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static log_level current_level = LOG_EVENT;
static int64_t (*clock_fn)(void *ud);
static void *clock_ud;

void log_set_level(log_level level)
{
    current_level = level;
}

log_level log_get_level(void)
{
    return current_level;
}

void log_set_clock(int64_t (*now_us)(void *ud), void *ud)
{
    clock_fn = now_us;
    clock_ud = ud;
}

const char *log_format_time(int64_t us, char *buf, int buflen)
{
    time_t secs = (time_t)(us / 1000000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(buf, (size_t)buflen, "%Y-%m-%d %H:%M:%S", &tm);
    return buf;
}

static int64_t wall_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void log_msg(log_level level, const char *fmt, ...)
{
    if (level < current_level)
        return;
    static const char *tags[] = {"debug", "info", "", "warn", "error"};
    /* Events are the trader's story and go to stdout; the rest is diagnostics. */
    FILE *out = level == LOG_EVENT ? stdout : stderr;
    char when[32];
    log_format_time(clock_fn ? clock_fn(clock_ud) : wall_now_us(), when, sizeof when);
    if (level == LOG_EVENT)
        fprintf(out, "%s  ", when);
    else
        fprintf(out, "%s  %s: ", when, tags[level]);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(out, fmt, ap);
    va_end(ap);
    fputc('\n', out);
    if (level >= LOG_WARN || out == stdout)
        fflush(out);
}
