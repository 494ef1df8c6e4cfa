/* correlation: which symbols move together, from the bars the host already sees.
 *
 * Method: each symbol keeps a ring of its last `window` simple returns of closes,
 * r_t = close_t / close_(t-1) - 1, each tagged with its bar time. The correlation of two
 * symbols is Pearson's r over the returns at the bar times both have (aligned by bar
 * time, newest first, at most `window` of them); fewer than half the window of common
 * times (at least 3) gives no correlation. A pair is computed only when asked (an entry
 * checks the candidate against the symbols with open risk), O(window) each.
 *
 * Returns and r are statistics, not money: they are doubles. Prices stay fixed point. */
#ifndef APEX_RISK_CORRELATION_H
#define APEX_RISK_CORRELATION_H

#include <stdbool.h>

#include "clock/clock.h"
#include "money/money.h"

typedef struct {
    apex_time *ts; /* bar time of each return */
    double *ret;
    int cap, n, head; /* ring: head = where the next return goes */
    apex_time last_ts;
    money_t last_close;
} risk_series;

/* A ring of cap returns. 0 or APEX_ENOMEM. */
int risk_series_init(risk_series *s, int cap);
void risk_series_free(risk_series *s);
/* A bar's close at ts. A bar at or before the last one is ignored (several pipelines
 * feed the same account's series with the same data). */
void risk_series_add(risk_series *s, apex_time ts, money_t close);

/* Pearson's r of a and b over at most window common bar times. false when there are fewer
 * than max(3, window / 2) of them, or either series does not move. */
bool risk_correlation(const risk_series *a, const risk_series *b, int window, double *r);

#endif
