/* fuzz_timestamp: timestamp_parse and timestamp_format (core/market/timestamp.c).
 *
 * The input is the text of one timestamp cell. Beyond not crashing, a parsed time
 * must print and parse back to the same second, and the first 8 bytes read as a raw
 * time must format without trouble. */
#include <stdint.h>
#include <string.h>

#include "fuzz_support.h"
#include "market/timestamp.h"

/* 0000-01-01 00:00:00 and 9999-12-31 23:59:59 UTC: what the 4-digit year format covers. */
#define YEAR0_S    (-62167219200LL)
#define YEAR9999_S 253402300799LL

static long long floor_seconds(apex_time t)
{
    long long s = t / APEX_SECOND;
    return t % APEX_SECOND < 0 ? s - 1 : s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    apex_time t;
    char buf[64];
    if (timestamp_parse(s, size, &t) == 0) {
        long long secs = floor_seconds(t);
        timestamp_format(t, buf, sizeof buf);
        if (secs >= YEAR0_S && secs <= YEAR9999_S) {
            apex_time back;
            FUZZ_CHECK(strlen(buf) == 19);
            FUZZ_CHECK(timestamp_parse(buf, strlen(buf), &back) == 0);
            FUZZ_CHECK(back == secs * APEX_SECOND);
        }
    }
    if (size >= sizeof(int64_t)) {
        int64_t raw;
        memcpy(&raw, data, sizeof raw);
        timestamp_format((apex_time)raw, buf, sizeof buf);
        FUZZ_CHECK(strlen(buf) < sizeof buf);
    }
    return 0;
}
