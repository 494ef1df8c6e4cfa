/* analytics: the statistics of docs/analytics.md. Sums run in double: they are ratios of
 * money amounts a person reads to two or four digits, not amounts that must reconcile;
 * the amounts themselves (P&L sums, largest win and loss) stay fixed point. */
#include "analytics/analytics.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"

static double periods_per_year(const analytics_options *o)
{
    return o->periods_per_year > 0 ? o->periods_per_year : ANALYTICS_DEFAULT_PERIODS_PER_YEAR;
}

/* Floor division: a time before 1970 still lands in its own day. */
static int64_t day_of(int64_t ts)
{
    int64_t d = ts / ANALYTICS_DAY_US;
    return (ts % ANALYTICS_DAY_US < 0) ? d - 1 : d;
}

static double start_equity_of(const analytics_input *in)
{
    if (in->start_equity > 0)
        return money_to_double(in->start_equity);
    return in->nequity ? money_to_double(in->equity[0].equity) : 0.0;
}

int analytics_daily_returns(const analytics_input *in, double **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!in->nequity)
        return 0;
    double *r = malloc(in->nequity * sizeof *r);
    if (!r)
        return APEX_ENOMEM;
    /* The close before the first day is the starting equity. */
    double prev = start_equity_of(in);
    size_t k = 0;
    for (size_t i = 0; i < in->nequity; i++) {
        bool last_of_day =
            i + 1 == in->nequity || day_of(in->equity[i + 1].ts) != day_of(in->equity[i].ts);
        if (!last_of_day)
            continue;
        double e = money_to_double(in->equity[i].equity);
        /* Without start_equity, a first day of one point is the start itself: no return. */
        if (k == 0 && in->start_equity <= 0 && i == 0) {
            prev = e;
            continue;
        }
        r[k++] = prev > 0 ? e / prev - 1.0 : 0.0;
        prev = e;
    }
    if (!k) {
        free(r);
        return 0;
    }
    *out = r;
    *n = k;
    return 0;
}

/* Drawdown over every point, starting from the starting equity as the first peak. */
static void drawdowns(const analytics_input *in, analytics_result *out)
{
    double peak = out->start_equity;
    int64_t peak_ts = out->start_ts, below_since = -1;
    for (size_t i = 0; i < in->nequity; i++) {
        double e = money_to_double(in->equity[i].equity);
        int64_t ts = in->equity[i].ts;
        if (e >= peak) {
            if (below_since >= 0 && ts - below_since > out->max_drawdown_duration)
                out->max_drawdown_duration = ts - below_since;
            below_since = -1;
            peak = e;
            peak_ts = ts;
            continue;
        }
        if (below_since < 0)
            below_since = peak_ts;
        double dd = peak > 0 ? (peak - e) / peak : 0.0;
        if (dd > out->max_drawdown) {
            out->max_drawdown = dd;
            out->max_drawdown_amount = peak - e;
            out->max_drawdown_peak_ts = peak_ts;
            out->max_drawdown_trough_ts = ts;
        }
    }
    /* Still below the peak at the end: the drawdown has lasted until the end so far. */
    if (below_since >= 0 && out->end_ts - below_since > out->max_drawdown_duration)
        out->max_drawdown_duration = out->end_ts - below_since;
}

static void return_stats(const analytics_input *in, analytics_result *out, const double *r,
                         size_t n)
{
    double ppy = out->periods_per_year;
    out->periods = n;
    out->annual_return = out->volatility = out->sharpe = out->sortino = NAN;
    if (n == 0)
        return;
    if (out->start_equity > 0 && out->end_equity > 0)
        out->annual_return = pow(1.0 + out->total_return, ppy / (double)n) - 1.0;
    /* The risk-free rate per period, compounded: (1 + rf)^(1/ppy) - 1. */
    double rf = pow(1.0 + in->opt.risk_free_rate, 1.0 / ppy) - 1.0;
    double mean = 0;
    for (size_t i = 0; i < n; i++)
        mean += r[i];
    mean /= (double)n;
    double excess = mean - rf;
    double ss = 0, down = 0;
    for (size_t i = 0; i < n; i++) {
        ss += (r[i] - mean) * (r[i] - mean);
        double d = r[i] - rf;
        if (d < 0)
            down += d * d;
    }
    if (n >= 2) {
        double sd = sqrt(ss / (double)(n - 1));
        out->volatility = sd * sqrt(ppy);
        /* A flat curve has no volatility: its Sharpe ratio is undefined, not infinite. */
        if (sd > 1e-12)
            out->sharpe = excess / sd * sqrt(ppy);
    }
    /* Downside deviation over every period (Sortino and Price 1994): the periods above
     * the target count as zero, not as missing. */
    double dd = sqrt(down / (double)n);
    if (dd > 1e-12)
        out->sortino = excess / dd * sqrt(ppy);
}

/* ---- trades ---- */

static void stats_add(analytics_trade_stats *s, const analytics_trade *t)
{
    s->trades++;
    s->net_pnl += t->pnl;
    s->fees += t->fees;
    if (t->pnl > 0) {
        s->wins++;
        s->gross_profit += t->pnl;
        if (t->pnl > s->largest_win)
            s->largest_win = t->pnl;
    } else if (t->pnl < 0) {
        s->losses++;
        s->gross_loss += t->pnl;
        if (t->pnl < s->largest_loss)
            s->largest_loss = t->pnl;
    } else {
        s->breakeven++;
    }
}

static void stats_finish(analytics_trade_stats *s)
{
    s->win_rate = s->trades ? (double)s->wins / (double)s->trades : NAN;
    s->profit_factor = s->gross_loss < 0
                           ? money_to_double(s->gross_profit) / -money_to_double(s->gross_loss)
                           : NAN;
    s->expectancy = s->trades ? money_to_double(s->net_pnl) / (double)s->trades : NAN;
    s->avg_win = s->wins ? money_to_double(s->gross_profit) / (double)s->wins : NAN;
    s->avg_loss = s->losses ? money_to_double(s->gross_loss) / (double)s->losses : NAN;
}

static const char *reason_of(const analytics_trade *t)
{
    return t->exit_reason && t->exit_reason[0] ? t->exit_reason : "unknown";
}

static int cmp_stats(const void *a, const void *b)
{
    return strcmp(((const analytics_trade_stats *)a)->key, ((const analytics_trade_stats *)b)->key);
}

/* Groups the trades by key(t): a linear search per trade is fine for the few symbols and
 * exit reasons a run has. */
static int group(const analytics_input *in, const char *(*key)(const analytics_trade *),
                 analytics_trade_stats **out, size_t *nout)
{
    *out = NULL;
    *nout = 0;
    if (!in->ntrades)
        return 0;
    analytics_trade_stats *g = calloc(in->ntrades, sizeof *g);
    if (!g)
        return APEX_ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < in->ntrades; i++) {
        const char *k = key(&in->trades[i]);
        /* The key is the first word: "take_profit leg filled at 180.02" is a take_profit. */
        int len = (int)strcspn(k, " :");
        if (len > ANALYTICS_KEY_MAX - 1)
            len = ANALYTICS_KEY_MAX - 1;
        size_t j = 0;
        while (j < n && !(strncmp(g[j].key, k, (size_t)len) == 0 && g[j].key[len] == '\0'))
            j++;
        if (j == n)
            snprintf(g[n++].key, ANALYTICS_KEY_MAX, "%.*s", len, k);
        stats_add(&g[j], &in->trades[i]);
    }
    for (size_t j = 0; j < n; j++)
        stats_finish(&g[j]);
    qsort(g, n, sizeof *g, cmp_stats);
    *out = g;
    *nout = n;
    return 0;
}

static const char *symbol_of(const analytics_trade *t)
{
    return t->symbol ? t->symbol : "";
}

static int cmp_interval(const void *a, const void *b)
{
    const int64_t *x = a, *y = b;
    return x[0] < y[0] ? -1 : x[0] > y[0];
}

/* Exposure: the union of the trades' [entry, exit] intervals (overlapping positions count
 * once) over the run's span. */
static int exposure(const analytics_input *in, analytics_result *out)
{
    int64_t span = out->end_ts - out->start_ts;
    out->exposure = NAN;
    if (span <= 0)
        return 0;
    out->exposure = 0;
    if (!in->ntrades)
        return 0;
    int64_t *iv = malloc(2 * in->ntrades * sizeof *iv);
    if (!iv)
        return APEX_ENOMEM;
    for (size_t i = 0; i < in->ntrades; i++) {
        iv[2 * i] = in->trades[i].entry_ts;
        iv[2 * i + 1] = in->trades[i].exit_ts;
    }
    qsort(iv, in->ntrades, 2 * sizeof *iv, cmp_interval);
    int64_t covered = 0, cur_from = iv[0], cur_to = iv[1];
    for (size_t i = 1; i <= in->ntrades; i++) {
        if (i < in->ntrades && iv[2 * i] <= cur_to) {
            if (iv[2 * i + 1] > cur_to)
                cur_to = iv[2 * i + 1];
            continue;
        }
        covered += cur_to - cur_from;
        if (i < in->ntrades) {
            cur_from = iv[2 * i];
            cur_to = iv[2 * i + 1];
        }
    }
    free(iv);
    out->exposure = (double)covered / (double)span;
    if (out->exposure > 1.0)
        out->exposure = 1.0;
    return 0;
}

static int check_input(const analytics_input *in, char *err, size_t errlen)
{
    for (size_t i = 0; i < in->nequity; i++) {
        if (in->equity[i].equity < 0) {
            snprintf(err, errlen, "analytics: equity point %zu is negative", i + 1);
            return APEX_EINVAL;
        }
        if (i && in->equity[i].ts < in->equity[i - 1].ts) {
            snprintf(err, errlen, "analytics: equity point %zu is older than the one before",
                     i + 1);
            return APEX_EINVAL;
        }
    }
    for (size_t i = 0; i < in->ntrades; i++)
        if (in->trades[i].exit_ts < in->trades[i].entry_ts) {
            snprintf(err, errlen, "analytics: trade %zu (%s) exits before it enters", i + 1,
                     symbol_of(&in->trades[i]));
            return APEX_EINVAL;
        }
    if (!(in->opt.risk_free_rate > -1.0) || !isfinite(in->opt.risk_free_rate) ||
        !isfinite(in->opt.periods_per_year)) {
        snprintf(err, errlen, "analytics: risk_free_rate must be a number above -1");
        return APEX_EINVAL;
    }
    return 0;
}

int analytics_compute(const analytics_input *in, analytics_result *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    int rc = check_input(in, err, errlen);
    if (rc)
        return rc;
    out->periods_per_year = periods_per_year(&in->opt);
    out->risk_free_rate = in->opt.risk_free_rate;
    out->start_equity = start_equity_of(in);
    out->end_equity =
        in->nequity ? money_to_double(in->equity[in->nequity - 1].equity) : out->start_equity;
    out->start_ts = in->start_ts ? in->start_ts : (in->nequity ? in->equity[0].ts : 0);
    out->end_ts = in->end_ts ? in->end_ts : (in->nequity ? in->equity[in->nequity - 1].ts : 0);
    out->total_return = out->start_equity > 0 ? out->end_equity / out->start_equity - 1.0 : NAN;

    double *r;
    size_t n;
    if ((rc = analytics_daily_returns(in, &r, &n)) != 0) {
        snprintf(err, errlen, "analytics: out of memory");
        return rc;
    }
    return_stats(in, out, r, n);
    free(r);
    drawdowns(in, out);
    out->calmar = out->max_drawdown > 0 ? out->annual_return / out->max_drawdown : NAN;

    for (size_t i = 0; i < in->ntrades; i++)
        stats_add(&out->all, &in->trades[i]);
    stats_finish(&out->all);
    if ((rc = exposure(in, out)) != 0 ||
        (rc = group(in, symbol_of, &out->by_symbol, &out->nsymbols)) != 0 ||
        (rc = group(in, reason_of, &out->by_exit_reason, &out->nexit_reasons)) != 0) {
        analytics_result_free(out);
        snprintf(err, errlen, "analytics: out of memory");
        return rc;
    }
    return 0;
}

void analytics_result_free(analytics_result *r)
{
    free(r->by_symbol);
    free(r->by_exit_reason);
    r->by_symbol = r->by_exit_reason = NULL;
    r->nsymbols = r->nexit_reasons = 0;
}

char *analytics_format(double v, char *buf, size_t buflen)
{
    if (isnan(v))
        snprintf(buf, buflen, "n/a");
    else
        snprintf(buf, buflen, "%.2f", v);
    return buf;
}

char *analytics_format_pct(double v, char *buf, size_t buflen)
{
    if (isnan(v))
        snprintf(buf, buflen, "n/a");
    else
        snprintf(buf, buflen, "%.2f%%", v * 100.0);
    return buf;
}
