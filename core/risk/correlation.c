/* correlation: return rings and Pearson's r over common bar times. */
#include "risk/correlation.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"

int risk_series_init(risk_series *s, int cap)
{
    memset(s, 0, sizeof *s);
    s->ts = calloc((size_t)cap, sizeof *s->ts);
    s->ret = calloc((size_t)cap, sizeof *s->ret);
    if (!s->ts || !s->ret) {
        risk_series_free(s);
        return APEX_ENOMEM;
    }
    s->cap = cap;
    return 0;
}

void risk_series_free(risk_series *s)
{
    free(s->ts);
    free(s->ret);
    memset(s, 0, sizeof *s);
}

void risk_series_add(risk_series *s, apex_time ts, money_t close)
{
    if (s->cap <= 0 || close <= 0 || (s->last_ts && ts <= s->last_ts))
        return;
    if (s->last_close > 0) {
        s->ts[s->head] = ts;
        s->ret[s->head] = (double)close / (double)s->last_close - 1.0;
        s->head = (s->head + 1) % s->cap;
        if (s->n < s->cap)
            s->n++;
    }
    s->last_ts = ts;
    s->last_close = close;
}

/* The k-th newest return's slot (k = 0: the newest). */
static int slot(const risk_series *s, int k)
{
    return ((s->head - 1 - k) % s->cap + s->cap) % s->cap;
}

bool risk_correlation(const risk_series *a, const risk_series *b, int window, double *r)
{
    int need = window / 2 > 3 ? window / 2 : 3;
    double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
    int n = 0, i = 0, j = 0;
    /* Both rings run newest first in time order: walk them together, pairing equal times. */
    while (i < a->n && j < b->n && n < window) {
        apex_time ta = a->ts[slot(a, i)], tb = b->ts[slot(b, j)];
        if (ta > tb) {
            i++;
        } else if (tb > ta) {
            j++;
        } else {
            double x = a->ret[slot(a, i++)], y = b->ret[slot(b, j++)];
            sa += x;
            sb += y;
            saa += x * x;
            sbb += y * y;
            sab += x * y;
            n++;
        }
    }
    if (n < need)
        return false;
    double cov = sab - sa * sb / n, va = saa - sa * sa / n, vb = sbb - sb * sb / n;
    if (va <= 0 || vb <= 0)
        return false;
    *r = cov / sqrt(va * vb);
    return true;
}
