/* analytics: the statistics of docs/analytics.md against values computed independently.
 *
 * The return-based expectations come from R (r-base-core), straight from the formulas,
 * with this script (PerformanceAnalytics is not packaged for Debian):
 *
 *   e <- c(10000, 10100, 9999, 10200, 10000, 10300)   # start, then five daily closes
 *   r <- e[-1] / e[-length(e)] - 1
 *   ppy <- 252; rf <- (1 + 0.02)^(1/ppy) - 1
 *   n <- length(r)
 *   ann <- prod(1 + r)^(ppy / n) - 1                  # 3.436046859870
 *   vol <- sd(r) * sqrt(ppy)                          # 0.327509553056
 *   sharpe <- mean(r - rf) / sd(r - rf) * sqrt(ppy)   # 4.632239275091
 *   dd <- sqrt(sum(pmin(r - rf, 0)^2) / n)
 *   sortino <- mean(r - rf) / dd * sqrt(ppy)          # 9.662423362224
 *   mdd <- 300 / 10100                                # 0.029702970297 (10100 -> 9800)
 *   ann / mdd                                         # Calmar 115.680244282295
 *   with rf = 0: Sharpe 4.692705924675, Sortino 9.835574080846
 *
 * The trade statistics are small enough to add up by hand; the sums are in the comments. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "analytics/analytics.h"
#include "analytics/analytics_json.h"
#include "util/err.h"

#define DAY  ANALYTICS_DAY_US
#define HOUR 3600000000LL
#define M(x) ((money_t)((x) * (double)MONEY_SCALE))
#define T0   (19723 * DAY) /* 2024-01-01T00:00:00Z */
#define EPS  1e-9

/* The curve of the R script: a start at 09:30 of day 0, an intraday low on day 1. */
static const analytics_point curve[] = {
    {T0 + 9 * HOUR + HOUR / 2, 1000000000000LL}, /* 10000 */
    {T0 + 16 * HOUR, 1010000000000LL},           /* 10100: day 0 close */
    {T0 + DAY + 12 * HOUR, 980000000000LL},      /* 9800: the low, 300 below 10100 */
    {T0 + DAY + 16 * HOUR, 999900000000LL},      /* 9999 */
    {T0 + 2 * DAY + 16 * HOUR, 1020000000000LL}, /* 10200: recovered after 2 days */
    {T0 + 3 * DAY + 16 * HOUR, 1000000000000LL}, /* 10000 */
    {T0 + 4 * DAY + 16 * HOUR, 1030000000000LL}, /* 10300 */
};

static analytics_input curve_input(double rf)
{
    analytics_input in = {.equity = curve, .nequity = 7, .start_equity = M(10000)};
    in.opt.risk_free_rate = rf;
    return in;
}

static void test_returns_and_ratios_match_r(void **state)
{
    (void)state;
    analytics_input in = curve_input(0.02);
    double *r;
    size_t n;
    assert_int_equal(analytics_daily_returns(&in, &r, &n), 0);
    assert_int_equal(n, 5); /* one per day, the day's last point */
    assert_true(fabs(r[0] - 0.01) < EPS);
    assert_true(fabs(r[1] - (9999.0 / 10100 - 1)) < EPS); /* -0.01 */
    assert_true(fabs(r[4] - 0.03) < EPS);
    free(r);

    analytics_result res;
    char err[200];
    assert_int_equal(analytics_compute(&in, &res, err, sizeof err), 0);
    assert_int_equal(res.periods, 5);
    assert_true(res.periods_per_year == 252.0);
    assert_true(fabs(res.total_return - 0.03) < EPS);
    assert_true(fabs(res.annual_return - 3.436046859870) < 1e-9);
    assert_true(fabs(res.volatility - 0.327509553056) < 1e-9);
    assert_true(fabs(res.sharpe - 4.632239275091) < 1e-9);
    assert_true(fabs(res.sortino - 9.662423362224) < 1e-9);
    assert_true(fabs(res.max_drawdown - 0.029702970297) < 1e-9);
    assert_true(fabs(res.max_drawdown_amount - 300.0) < EPS);
    assert_true(res.max_drawdown_peak_ts == T0 + 16 * HOUR);
    assert_true(res.max_drawdown_trough_ts == T0 + DAY + 12 * HOUR);
    /* Below 10100 from day 0 16:00 until 10200 on day 2 16:00: 2 days; the later dip
     * (10200 -> 10000, recovered by 10300) lasts 1 day. */
    assert_true(res.max_drawdown_duration == 2 * DAY);
    assert_true(fabs(res.calmar - 115.680244282295) < 1e-7);
    analytics_result_free(&res);

    in = curve_input(0.0);
    assert_int_equal(analytics_compute(&in, &res, err, sizeof err), 0);
    assert_true(fabs(res.sharpe - 4.692705924675) < 1e-9);
    assert_true(fabs(res.sortino - 9.835574080846) < 1e-9);
    analytics_result_free(&res);

    /* Periods per year is the caller's: 365 scales the ratios by sqrt(365/252). */
    in.opt.periods_per_year = 365;
    assert_int_equal(analytics_compute(&in, &res, err, sizeof err), 0);
    assert_true(fabs(res.sharpe - 4.692705924675 * sqrt(365.0 / 252.0)) < 1e-9);
    analytics_result_free(&res);
}

static const analytics_trade trades[] = {
    {"AAPL", "long", "profit_target", T0, T0 + 2 * DAY, M(100), M(1)},
    {"AAPL", "short", "stop_loss leg filled at 189.56", T0 + DAY, T0 + 3 * DAY, M(-50), M(1)},
    {"MSFT", "long", "profit_target", T0 + 5 * DAY, T0 + 6 * DAY, M(30), M(0.5)},
    {"MSFT", "long", "time_based_urgent", T0 + 6 * DAY, T0 + 6 * DAY + 12 * HOUR, 0, M(0.5)},
    {"MSFT", "long", "stop_loss", T0 + 8 * DAY, T0 + 8 * DAY, M(-20), M(0.5)},
};

static void test_trade_statistics_and_breakdowns(void **state)
{
    (void)state;
    analytics_point flat[] = {{T0, M(10000)}, {T0 + 10 * DAY, M(10060)}};
    analytics_input in = {.equity = flat, .nequity = 2, .trades = trades, .ntrades = 5};
    analytics_result res;
    char err[200];
    assert_int_equal(analytics_compute(&in, &res, err, sizeof err), 0);
    const analytics_trade_stats *a = &res.all;
    /* 5 trades: +100 -50 +30 0 -20; wins 2, losses 2, breakeven 1. */
    assert_int_equal(a->trades, 5);
    assert_int_equal(a->wins, 2);
    assert_int_equal(a->losses, 2);
    assert_int_equal(a->breakeven, 1);
    assert_true(a->net_pnl == M(60));
    assert_true(a->gross_profit == M(130));
    assert_true(a->gross_loss == M(-70));
    assert_true(a->fees == M(3.5));
    assert_true(a->largest_win == M(100) && a->largest_loss == M(-50));
    assert_true(fabs(a->win_rate - 0.4) < EPS);             /* 2 / 5 */
    assert_true(fabs(a->profit_factor - 130.0 / 70) < EPS); /* 1.857142857 */
    assert_true(fabs(a->expectancy - 12.0) < EPS);          /* 60 / 5 */
    assert_true(fabs(a->avg_win - 65.0) < EPS);             /* 130 / 2 */
    assert_true(fabs(a->avg_loss + 35.0) < EPS);            /* -70 / 2 */
    /* Exposure: [0,2] and [1,3] overlap into 3 days, [5,6] is 1, [6,6.5] 0.5, [8,8] 0:
     * 4.5 of 10 days. */
    assert_true(fabs(res.exposure - 0.45) < EPS);

    assert_int_equal(res.nsymbols, 2);
    assert_string_equal(res.by_symbol[0].key, "AAPL");
    assert_true(res.by_symbol[0].net_pnl == M(50));
    assert_true(fabs(res.by_symbol[0].profit_factor - 2.0) < EPS); /* 100 / 50 */
    assert_string_equal(res.by_symbol[1].key, "MSFT");
    assert_int_equal(res.by_symbol[1].trades, 3);
    assert_true(res.by_symbol[1].net_pnl == M(10));
    assert_true(fabs(res.by_symbol[1].profit_factor - 1.5) < EPS); /* 30 / 20 */
    assert_true(fabs(res.by_symbol[1].win_rate - 1.0 / 3) < EPS);

    assert_int_equal(res.nexit_reasons, 3);
    assert_string_equal(res.by_exit_reason[0].key, "profit_target");
    assert_true(res.by_exit_reason[0].net_pnl == M(130));
    assert_string_equal(res.by_exit_reason[1].key, "stop_loss");
    assert_true(res.by_exit_reason[1].net_pnl == M(-70));
    assert_true(isnan(res.by_exit_reason[1].profit_factor) == 0);
    assert_true(res.by_exit_reason[1].profit_factor == 0.0); /* no profit, two losses */
    assert_string_equal(res.by_exit_reason[2].key, "time_based_urgent");
    assert_int_equal(res.by_exit_reason[2].breakeven, 1);

    /* The JSON the API and the report read carries the same numbers. */
    json_t *j = analytics_result_json(&res);
    assert_non_null(j);
    json_t *all = json_object_get(j, "trades");
    assert_int_equal(json_integer_value(json_object_get(all, "trades")), 5);
    assert_true(fabs(json_real_value(json_object_get(all, "net_pnl")) - 60.0) < EPS);
    assert_true(fabs(json_real_value(json_object_get(j, "exposure")) - 0.45) < EPS);
    json_t *sym = json_array_get(json_object_get(j, "by_symbol"), 0);
    assert_string_equal(json_string_value(json_object_get(sym, "key")), "AAPL");
    assert_true(fabs(json_real_value(json_object_get(sym, "profit_factor")) - 2.0) < EPS);
    json_t *tb = json_array_get(json_object_get(j, "by_exit_reason"), 2);
    assert_true(json_is_null(json_object_get(tb, "profit_factor"))); /* no losses */
    assert_string_equal(json_string_value(json_object_get(j, "start")), "2024-01-01T00:00:00Z");
    json_decref(j);
    analytics_result_free(&res);
}

static void test_no_trades_flat_curve(void **state)
{
    (void)state;
    analytics_point flat[] = {{T0, M(10000)}, {T0 + DAY, M(10000)}, {T0 + 2 * DAY, M(10000)}};
    analytics_input in = {.equity = flat, .nequity = 3};
    analytics_result res;
    char err[200], buf[16];
    assert_int_equal(analytics_compute(&in, &res, err, sizeof err), 0);
    assert_int_equal(res.periods, 2);
    assert_true(res.total_return == 0.0);
    assert_true(res.annual_return == 0.0);
    assert_true(res.volatility == 0.0);
    assert_true(isnan(res.sharpe));  /* no volatility: undefined, not infinite */
    assert_true(isnan(res.sortino)); /* no downside */
    assert_true(res.max_drawdown == 0.0);
    assert_true(isnan(res.calmar)); /* no drawdown */
    assert_true(res.max_drawdown_duration == 0);
    assert_int_equal(res.all.trades, 0);
    assert_true(isnan(res.all.win_rate) && isnan(res.all.profit_factor));
    assert_true(isnan(res.all.expectancy));
    assert_true(res.exposure == 0.0);
    assert_int_equal(res.nsymbols, 0);
    assert_string_equal(analytics_format(res.sharpe, buf, sizeof buf), "n/a");
    json_t *j = analytics_result_json(&res);
    assert_non_null(j);
    assert_true(json_is_null(json_object_get(j, "sharpe")));
    assert_true(json_is_null(json_object_get(j, "calmar")));
    assert_true(json_real_value(json_object_get(j, "total_return")) == 0.0);
    json_decref(j);
    analytics_result_free(&res);

    /* No points at all: nothing to compute, and nothing breaks. */
    analytics_input none = {0};
    assert_int_equal(analytics_compute(&none, &res, err, sizeof err), 0);
    assert_int_equal(res.periods, 0);
    assert_true(isnan(res.sharpe) && isnan(res.annual_return));
    analytics_result_free(&res);
}

static void test_all_wins(void **state)
{
    (void)state;
    /* Every day up: 10000, 10100, 10201 (+1% twice); two winning trades. */
    analytics_point up[] = {{T0, M(10000)}, {T0 + DAY, M(10100)}, {T0 + 2 * DAY, M(10201)}};
    analytics_trade wins[] = {{"SPY", "long", "profit_target", T0, T0 + DAY, M(100), 0},
                              {"SPY", "long", "trailing_stop", T0 + DAY, T0 + 2 * DAY, M(101), 0}};
    analytics_input in = {.equity = up, .nequity = 3, .trades = wins, .ntrades = 2};
    analytics_result res;
    char err[200];
    assert_int_equal(analytics_compute(&in, &res, err, sizeof err), 0);
    assert_true(fabs(res.all.win_rate - 1.0) < EPS);
    assert_true(isnan(res.all.profit_factor)); /* no losses: undefined */
    assert_true(isnan(res.all.avg_loss));
    assert_true(fabs(res.all.avg_win - 100.5) < EPS);
    assert_true(res.max_drawdown == 0.0 && isnan(res.calmar));
    /* Two returns of exactly 1%: no volatility, so no Sharpe; no return below the
     * risk-free rate of 0, so no downside deviation and no Sortino. */
    assert_true(res.volatility < 1e-12);
    assert_true(isnan(res.sharpe) && isnan(res.sortino));
    assert_true(fabs(res.total_return - 0.0201) < EPS);
    assert_true(fabs(res.exposure - 1.0) < EPS);
    analytics_result_free(&res);
}

static void test_losses_show_in_drawdown_until_the_end(void **state)
{
    (void)state;
    /* The bug of the past: losses and a drawdown of 0.00. 10000 -> 9500 -> 9000, never
     * recovered: 10% below the start, lasting from the start to the end (2 days). */
    analytics_point down[] = {{T0, M(10000)}, {T0 + DAY, M(9500)}, {T0 + 2 * DAY, M(9000)}};
    analytics_input in = {.equity = down, .nequity = 3};
    analytics_result res;
    char err[200];
    assert_int_equal(analytics_compute(&in, &res, err, sizeof err), 0);
    assert_true(fabs(res.max_drawdown - 0.10) < EPS);
    assert_true(fabs(res.max_drawdown_amount - 1000.0) < EPS);
    assert_true(res.max_drawdown_duration == 2 * DAY);
    assert_true(res.calmar < 0); /* a negative annual return over a real drawdown */
    analytics_result_free(&res);
}

static void test_bad_input_is_named(void **state)
{
    (void)state;
    analytics_point back[] = {{T0 + DAY, M(1)}, {T0, M(1)}};
    analytics_input in = {.equity = back, .nequity = 2};
    analytics_result res;
    char err[200];
    assert_int_equal(analytics_compute(&in, &res, err, sizeof err), APEX_EINVAL);
    assert_non_null(strstr(err, "equity point 2"));
    analytics_trade t = {"QQQ", "long", "stop_loss", T0 + DAY, T0, 0, 0};
    analytics_input bad = {.trades = &t, .ntrades = 1};
    assert_int_equal(analytics_compute(&bad, &res, err, sizeof err), APEX_EINVAL);
    assert_non_null(strstr(err, "trade 1 (QQQ) exits before it enters"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_returns_and_ratios_match_r),
        cmocka_unit_test(test_trade_statistics_and_breakdowns),
        cmocka_unit_test(test_no_trades_flat_curve),
        cmocka_unit_test(test_all_wins),
        cmocka_unit_test(test_losses_show_in_drawdown_until_the_end),
        cmocka_unit_test(test_bad_input_is_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
