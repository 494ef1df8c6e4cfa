/* analytics: performance statistics of one run, from its equity curve and its trades.
 *
 * Pure computation: no store, no I/O, no clock. Whoever shows results to a person (the
 * end-of-run summary, `backtest --report`, the JSON API, the dashboard) reads rows,
 * fills an analytics_input and calls analytics_compute, so all of them show the same
 * numbers. The formulas and their references are in docs/analytics.md; every ratio
 * there is computed here and nowhere else.
 *
 * The return series: the equity curve resampled to days (UTC), one point per day that
 * has a point (the last one of that day), after the starting equity. A day without
 * points (a weekend, a holiday) is no period, so the default periods per year is 252,
 * the trading days of a year. Volatility, Sharpe and Sortino are computed from these
 * returns; drawdown from every point of the curve, not only the daily ones.
 *
 * A value that is undefined (a Sharpe ratio without volatility, a profit factor without
 * losing trades, a Calmar ratio without drawdown) is NaN here, `null` in JSON and "n/a"
 * in text. */
#ifndef APEX_ANALYTICS_H
#define APEX_ANALYTICS_H

#include <stddef.h>
#include <stdint.h>

#include "money/money.h"

#define ANALYTICS_DEFAULT_PERIODS_PER_YEAR 252.0
#define ANALYTICS_KEY_MAX                  64
#define ANALYTICS_DAY_US                   86400000000LL

/* One point of the equity curve: time in µs since the epoch (UTC), equity in money units. */
typedef struct {
    int64_t ts;
    money_t equity;
} analytics_point;

/* One finished trade (a closed position). Strings are borrowed for the call. */
typedef struct {
    const char *symbol;
    const char *side;        /* "long" or "short" */
    const char *exit_reason; /* NULL or "" = "unknown"; grouped by its first word */
    int64_t entry_ts, exit_ts;
    money_t pnl;  /* realized, net of fees */
    money_t fees; /* included in pnl already */
} analytics_trade;

typedef struct {
    double risk_free_rate;   /* annual, as a fraction: 0.02 = 2%; 0 by default */
    double periods_per_year; /* <= 0: ANALYTICS_DEFAULT_PERIODS_PER_YEAR */
} analytics_options;

typedef struct {
    const analytics_point *equity; /* oldest first; may be empty */
    size_t nequity;
    const analytics_trade *trades; /* any order */
    size_t ntrades;
    money_t start_equity; /* the equity before the first point; 0 = the first point's */
    int64_t start_ts;     /* when the run began (exposure's span); 0 = the first point's */
    int64_t end_ts;       /* when it ended; 0 = the last point's */
    analytics_options opt;
} analytics_input;

/* Trade statistics of a group of trades: all of them, one symbol or one exit reason. */
typedef struct {
    char key[ANALYTICS_KEY_MAX]; /* the symbol or exit reason; "" for all trades */
    size_t trades, wins, losses, breakeven;
    money_t net_pnl, gross_profit, gross_loss; /* gross_loss <= 0 */
    money_t fees, largest_win, largest_loss;
    double win_rate;      /* wins / trades (breakeven trades count as trades) */
    double profit_factor; /* gross_profit / |gross_loss|; NaN without losses */
    double expectancy;    /* net P&L per trade, money units; NaN without trades */
    double avg_win;       /* gross_profit / wins; NaN without wins */
    double avg_loss;      /* gross_loss / losses (negative); NaN without losses */
} analytics_trade_stats;

typedef struct {
    double start_equity, end_equity; /* money units */
    int64_t start_ts, end_ts;
    size_t periods;             /* daily returns in the series */
    double periods_per_year;    /* as used */
    double risk_free_rate;      /* as used, annual */
    double total_return;        /* end / start - 1 */
    double annual_return;       /* (1 + total)^(periods_per_year / periods) - 1; NaN w/o periods */
    double volatility;          /* sample standard deviation of returns x sqrt(periods_per_year) */
    double sharpe;              /* mean excess return / its sample sd x sqrt(periods_per_year) */
    double sortino;             /* mean excess return / downside deviation x sqrt(ppy) */
    double calmar;              /* annual_return / max_drawdown */
    double max_drawdown;        /* largest fall from a peak, fraction of the peak (>= 0) */
    double max_drawdown_amount; /* that fall in money units */
    int64_t max_drawdown_peak_ts, max_drawdown_trough_ts;
    int64_t max_drawdown_duration; /* µs: the longest time below a previous peak */
    double exposure;               /* fraction of [start_ts, end_ts] with a position open */
    analytics_trade_stats all;
    analytics_trade_stats *by_symbol; /* sorted by key; owned, analytics_result_free */
    size_t nsymbols;
    analytics_trade_stats *by_exit_reason; /* sorted by key; owned */
    size_t nexit_reasons;
} analytics_result;

/* Computes every statistic of in into out (which it initialises). Returns 0, or
 * APEX_EINVAL when an input is out of order or negative (the message in err names it),
 * or APEX_ENOMEM. out holds nothing to free on failure. */
int analytics_compute(const analytics_input *in, analytics_result *out, char *err, size_t errlen);
void analytics_result_free(analytics_result *r);

/* The daily return series of in (see the top of this file): *out is malloc'ed, *n its
 * length (may be 0 with *out NULL). For tests and charts. Returns 0 or APEX_ENOMEM. */
int analytics_daily_returns(const analytics_input *in, double **out, size_t *n);

/* Text of a ratio for a person: "%.2f" or "n/a" for NaN. Returns buf. */
char *analytics_format(double v, char *buf, size_t buflen);
/* Text of a fraction as a percentage: "12.34%" or "n/a". Returns buf. */
char *analytics_format_pct(double v, char *buf, size_t buflen);

#endif
