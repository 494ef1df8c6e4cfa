/* analytics_json: see the header. Every field is set with its own key, so a reader can
 * rely on the full set being present (null rather than absent). */
#include "analytics/analytics_json.h"

#include <math.h>
#include <stdio.h>
#include <time.h>

json_t *analytics_json_real(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

char *analytics_iso_time(int64_t ts, char *buf, size_t buflen)
{
    if (!ts) {
        if (buflen)
            buf[0] = '\0';
        return buf;
    }
    int64_t s = ts / 1000000;
    if (ts % 1000000 < 0)
        s--;
    time_t t = (time_t)s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, buflen, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

static json_t *money_json(money_t v)
{
    return json_real(money_to_double(v));
}

json_t *analytics_trade_stats_json(const analytics_trade_stats *s)
{
    return json_pack("{s:s, s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, "
                     "s:o, s:o}",
                     "key", s->key, "trades", (json_int_t)s->trades, "wins", (json_int_t)s->wins,
                     "losses", (json_int_t)s->losses, "breakeven", (json_int_t)s->breakeven,
                     "net_pnl", money_json(s->net_pnl), "gross_profit", money_json(s->gross_profit),
                     "gross_loss", money_json(s->gross_loss), "fees", money_json(s->fees),
                     "largest_win", money_json(s->largest_win), "largest_loss",
                     money_json(s->largest_loss), "win_rate", analytics_json_real(s->win_rate),
                     "profit_factor", analytics_json_real(s->profit_factor), "expectancy",
                     analytics_json_real(s->expectancy), "avg_win", analytics_json_real(s->avg_win),
                     "avg_loss", analytics_json_real(s->avg_loss));
}

static json_t *groups_json(const analytics_trade_stats *g, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, analytics_trade_stats_json(&g[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

json_t *analytics_result_json(const analytics_result *r)
{
    char st[32], en[32], pk[32], tr[32];
    analytics_iso_time(r->start_ts, st, sizeof st);
    analytics_iso_time(r->end_ts, en, sizeof en);
    analytics_iso_time(r->max_drawdown_peak_ts, pk, sizeof pk);
    analytics_iso_time(r->max_drawdown_trough_ts, tr, sizeof tr);
    json_t *dd =
        json_pack("{s:o, s:o, s:s, s:s, s:f}", "fraction", analytics_json_real(r->max_drawdown),
                  "amount", analytics_json_real(r->max_drawdown_amount), "peak", pk, "trough", tr,
                  "duration_days", (double)r->max_drawdown_duration / (double)ANALYTICS_DAY_US);
    return json_pack(
        "{s:s, s:s, s:o, s:o, s:I, s:f, s:f, s:o, s:o, s:o, s:o, s:o, s:o, s:o, "
        "s:o, s:o, s:o, s:o}",
        "start", st, "end", en, "start_equity", analytics_json_real(r->start_equity), "end_equity",
        analytics_json_real(r->end_equity), "periods", (json_int_t)r->periods, "periods_per_year",
        r->periods_per_year, "risk_free_rate", r->risk_free_rate, "total_return",
        analytics_json_real(r->total_return), "annual_return",
        analytics_json_real(r->annual_return), "volatility", analytics_json_real(r->volatility),
        "sharpe", analytics_json_real(r->sharpe), "sortino", analytics_json_real(r->sortino),
        "calmar", analytics_json_real(r->calmar), "max_drawdown", dd, "exposure",
        analytics_json_real(r->exposure), "trades", analytics_trade_stats_json(&r->all),
        "by_symbol", groups_json(r->by_symbol, r->nsymbols), "by_exit_reason",
        groups_json(r->by_exit_reason, r->nexit_reasons));
}
