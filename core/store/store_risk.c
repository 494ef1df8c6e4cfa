/* store_risk: what portfolio risk reads from the store (risk/pdt.h, the breakers' meta
 * keys). Rare queries: prepared each time rather than cached. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "store/store_internal.h"

int store_day_trades(store *s, apex_time since, int *count, char *dates, size_t len)
{
    *count = 0;
    if (len)
        dates[0] = '\0';
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db,
                                "SELECT closed_at FROM positions WHERE status = 'closed' AND "
                                "closed_at >= ?1 AND opened_at / ?2 = closed_at / ?2 "
                                "ORDER BY closed_at",
                                -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, since);
        sqlite3_bind_int64(st, 2, APEX_DAY);
    }
    size_t used = 0;
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        time_t secs = (time_t)(sqlite3_column_int64(st, 0) / APEX_SECOND);
        struct tm tm;
        char day[16];
        gmtime_r(&secs, &tm);
        strftime(day, sizeof day, "%Y-%m-%d", &tm);
        ++*count;
        if (used < len) {
            int w = snprintf(dates + used, len - used, "%s%s", used ? ", " : "", day);
            used += w > 0 ? (size_t)w : 0;
        }
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : store_fail(s, rc, "counting day trades");
}

int store_meta_each(store *s, const char *prefix,
                    int (*fn)(void *ud, const char *key, const char *value), void *ud)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db,
                                "SELECT key, value FROM meta WHERE substr(key, 1, length(?1)) = ?1 "
                                "ORDER BY key",
                                -1, &st, NULL);
    if (rc == SQLITE_OK)
        sqlite3_bind_text(st, 1, prefix, -1, SQLITE_STATIC);
    int stop = 0;
    while (rc == SQLITE_OK && !stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        stop = fn(ud, (const char *)sqlite3_column_text(st, 0),
                  (const char *)sqlite3_column_text(st, 1));
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    if (stop)
        return stop;
    return rc == SQLITE_DONE ? 0 : store_fail(s, rc, "reading meta");
}
