/* report_trades: the trade list as CSV or JSON. Prices and amounts are written as exact
 * decimals (money_format_trim), never through a double, so a reader can reconcile them
 * with the store to the last unit. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "analytics/analytics_json.h"
#include "report/report.h"
#include "store/store_trades.h"
#include "util/err.h"

static bool ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), m = strlen(tail);
    return n >= m && strcmp(s + n - m, tail) == 0;
}

/* A CSV field: quoted only when it holds a comma, a quote or a line break (RFC 4180). */
static void csv_field(FILE *f, const char *v)
{
    if (!strpbrk(v, ",\"\r\n")) {
        fputs(v, f);
        return;
    }
    fputc('"', f);
    for (; *v; v++) {
        if (*v == '"')
            fputc('"', f);
        fputc(*v, f);
    }
    fputc('"', f);
}

static void write_csv(FILE *f, const store_trade *t, size_t n)
{
    fputs("pipeline,execution_id,symbol,side,qty,entry_time,entry_price,exit_time,exit_price,"
          "pnl,fees,exit_reason\n",
          f);
    for (size_t i = 0; i < n; i++) {
        char q[40], ep[40], xp[40], pnl[40], fee[40], et[32], xt[32];
        csv_field(f, t[i].pipeline);
        fprintf(f, ",%lld,", (long long)t[i].execution_id);
        csv_field(f, t[i].symbol);
        fprintf(f, ",%s,%s,%s,%s,%s,%s,%s,%s,", t[i].side,
                money_format_trim(t[i].qty, 0, q, sizeof q),
                analytics_iso_time(t[i].entry_ts, et, sizeof et),
                money_format_trim(t[i].entry_price, 2, ep, sizeof ep),
                analytics_iso_time(t[i].exit_ts, xt, sizeof xt),
                money_format_trim(t[i].exit_price, 2, xp, sizeof xp),
                money_format_trim(t[i].pnl, 2, pnl, sizeof pnl),
                money_format_trim(t[i].fees, 2, fee, sizeof fee));
        csv_field(f, t[i].exit_reason);
        fputc('\n', f);
    }
}

/* Amounts as strings in JSON too: a JSON number is a double to most readers. */
static json_t *write_json(const store_trade *t, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) {
        char q[40], ep[40], xp[40], pnl[40], fee[40], et[32], xt[32];
        json_t *o = json_pack(
            "{s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "pipeline",
            t[i].pipeline, "execution_id", (json_int_t)t[i].execution_id, "symbol", t[i].symbol,
            "side", t[i].side, "qty", money_format_trim(t[i].qty, 0, q, sizeof q), "entry_time",
            analytics_iso_time(t[i].entry_ts, et, sizeof et), "entry_price",
            money_format_trim(t[i].entry_price, 2, ep, sizeof ep), "exit_time",
            analytics_iso_time(t[i].exit_ts, xt, sizeof xt), "exit_price",
            money_format_trim(t[i].exit_price, 2, xp, sizeof xp), "pnl",
            money_format_trim(t[i].pnl, 2, pnl, sizeof pnl), "fees",
            money_format_trim(t[i].fees, 2, fee, sizeof fee), "exit_reason", t[i].exit_reason);
        if (!o || json_array_append_new(a, o) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

int report_write_trades(store *s, const char *pipeline, const char *path, char *err, size_t errlen)
{
    bool csv = ends_with(path, ".csv");
    if (!csv && !ends_with(path, ".json")) {
        snprintf(err, errlen, "--trades %s: name a file ending in .csv or .json", path);
        return APEX_EINVAL;
    }
    store_trade *t;
    size_t n;
    int rc = store_trades_list(s, pipeline, &t, &n);
    if (rc) {
        snprintf(err, errlen, "--trades %s: reading the trades: %s", path, store_errmsg(s));
        return rc;
    }
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "--trades %s: cannot write: %s", path, strerror(errno));
        free(t);
        return APEX_EIO;
    }
    if (csv) {
        write_csv(f, t, n);
    } else {
        json_t *a = write_json(t, n);
        if (!a || json_dumpf(a, f, JSON_INDENT(2)) != 0)
            rc = APEX_ENOMEM;
        json_decref(a);
        fputc('\n', f);
    }
    free(t);
    if (fclose(f) != 0 && !rc)
        rc = APEX_EIO;
    if (rc)
        snprintf(err, errlen, "--trades %s: writing failed: %s", path,
                 rc == APEX_EIO ? strerror(errno) : "out of memory");
    return rc;
}
