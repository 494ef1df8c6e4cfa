/* window: the shared O(1) building blocks of core/ta (see window.h). */
#include "ta/window.h"

#include <math.h>
#include <string.h>

static size_t resum_interval(size_t n)
{
    return n * 4 > TA_RESUM_MIN ? n * 4 : TA_RESUM_MIN;
}

/* --- ta_runsum ------------------------------------------------------------------------- */

size_t ta_runsum_bytes(size_t n)
{
    return ta_align(n * sizeof(double));
}

void ta_runsum_init(ta_runsum *r, size_t n, void *mem)
{
    memset(r, 0, sizeof *r);
    r->buf = mem;
    r->n = n;
    r->resum_every = resum_interval(n);
}

bool ta_runsum_push(ta_runsum *r, double x)
{
    if (r->count < r->n)
        r->count++;
    else
        r->sum -= r->buf[r->pos];
    r->buf[r->pos] = x;
    r->sum += x;
    r->pos = r->pos + 1 == r->n ? 0 : r->pos + 1;
    if (++r->since_resum >= r->resum_every) {
        double sum = 0.0;
        for (size_t i = 0; i < r->count; i++)
            sum += r->buf[i];
        r->sum = sum;
        r->since_resum = 0;
    }
    return r->count == r->n;
}

double ta_runsum_ago(const ta_runsum *r, size_t k)
{
    /* pos - 1 - k, wrapped without a division (k < n) */
    size_t back = k + 1;
    return r->buf[r->pos >= back ? r->pos - back : r->pos + r->n - back];
}

/* --- ta_wsum --------------------------------------------------------------------------- */

size_t ta_wsum_bytes(size_t n)
{
    return ta_runsum_bytes(n);
}

void ta_wsum_init(ta_wsum *w, size_t n, void *mem)
{
    ta_runsum_init(&w->s, n, mem);
    w->weighted = 0.0;
}

bool ta_wsum_push(ta_wsum *w, double x, double *wma)
{
    ta_runsum *s = &w->s;
    double n = (double)s->n;
    if (s->count < s->n) {
        /* the k-th value of the first window weighs k */
        w->weighted += (double)(s->count + 1) * x;
    } else {
        /* every weight drops by one (the oldest's to zero, so it leaves), the new one
         * weighs n: W' = W - S + n x, with S the sum before the oldest leaves */
        w->weighted += n * x - s->sum;
    }
    size_t before = s->since_resum;
    ta_runsum_push(s, x);
    if (s->since_resum < before) {
        /* the plain sum was just re-summed: the weighted one is too, oldest first */
        double weighted = 0.0;
        for (size_t k = 0; k < s->count; k++)
            weighted += (double)(s->count - k) * ta_runsum_ago(s, k);
        w->weighted = weighted;
    }
    if (s->count < s->n)
        return false;
    *wma = w->weighted / (n * (n + 1) / 2);
    return true;
}

/* --- ta_moments ------------------------------------------------------------------------ */

size_t ta_moments_bytes(size_t n, bool pairs)
{
    return ta_align(n * sizeof(double)) * (pairs ? 2 : 1);
}

void ta_moments_init(ta_moments *m, size_t n, bool pairs, void *mem)
{
    memset(m, 0, sizeof *m);
    m->n = n;
    m->xs = mem;
    m->ys = pairs ? (double *)((char *)mem + ta_align(n * sizeof(double))) : NULL;
    m->resum_every = resum_interval(n);
}

/* Re-centres the sums on the window's means and re-sums them from the rings. */
static void moments_resum(ta_moments *m)
{
    double rx = 0.0, ry = 0.0;
    for (size_t i = 0; i < m->count; i++) {
        rx += m->xs[i];
        if (m->ys)
            ry += m->ys[i];
    }
    m->shift_x = rx / (double)m->count;
    m->shift_y = ry / (double)m->count;
    m->sx = m->sy = m->sxx = m->syy = m->sxy = 0.0;
    for (size_t i = 0; i < m->count; i++) {
        double dx = m->xs[i] - m->shift_x;
        double dy = m->ys ? m->ys[i] - m->shift_y : 0.0;
        m->sx += dx;
        m->sy += dy;
        m->sxx += dx * dx;
        m->syy += dy * dy;
        m->sxy += dx * dy;
    }
}

bool ta_moments_push(ta_moments *m, double x, double y)
{
    if (!m->has_shift) {
        /* sums of deviations from the first value: no cancellation for a series far
         * from zero */
        m->shift_x = x;
        m->shift_y = m->ys ? y : 0.0;
        m->has_shift = true;
    }
    if (m->count < m->n) {
        m->count++;
    } else {
        double dx = m->xs[m->pos] - m->shift_x;
        double dy = m->ys ? m->ys[m->pos] - m->shift_y : 0.0;
        m->sx -= dx;
        m->sy -= dy;
        m->sxx -= dx * dx;
        m->syy -= dy * dy;
        m->sxy -= dx * dy;
    }
    m->xs[m->pos] = x;
    if (m->ys)
        m->ys[m->pos] = y;
    double dx = x - m->shift_x;
    double dy = m->ys ? y - m->shift_y : 0.0;
    m->sx += dx;
    m->sy += dy;
    m->sxx += dx * dx;
    m->syy += dy * dy;
    m->sxy += dx * dy;
    m->pos = m->pos + 1 == m->n ? 0 : m->pos + 1;
    if (++m->since_resum >= m->resum_every) {
        moments_resum(m);
        m->since_resum = 0;
    }
    return m->count == m->n;
}

double ta_moments_mean_x(const ta_moments *m)
{
    return m->shift_x + m->sx / (double)m->count;
}

/* sum((a - mean_a)(b - mean_b)) / (count - ddof), from the shifted sums; a variance that
 * rounding pushed a hair below zero is zero. */
static double comoment(double sab, double sa, double sb, size_t count, int ddof, bool square)
{
    double c = (double)count;
    double v = (sab - sa * sb / c) / (c - (double)ddof);
    return square && v < 0 ? 0.0 : v;
}

double ta_moments_var_x(const ta_moments *m, int ddof)
{
    return comoment(m->sxx, m->sx, m->sx, m->count, ddof, true);
}

double ta_moments_var_y(const ta_moments *m, int ddof)
{
    return comoment(m->syy, m->sy, m->sy, m->count, ddof, true);
}

double ta_moments_cov(const ta_moments *m, int ddof)
{
    return comoment(m->sxy, m->sx, m->sy, m->count, ddof, false);
}

/* --- ta_extreme ------------------------------------------------------------------------ */

size_t ta_extreme_bytes(size_t n)
{
    return ta_align(n * sizeof(ta_extreme_entry));
}

void ta_extreme_init(ta_extreme *e, size_t n, bool is_max, void *mem)
{
    memset(e, 0, sizeof *e);
    e->q = mem;
    e->n = n;
    e->is_max = is_max;
}

double ta_extreme_push(ta_extreme *e, double x)
{
    int64_t seq = ++e->seq;
    size_t n = e->n;
    /* the front leaves once it is n values old */
    if (e->len > 0 && e->q[e->head].seq <= seq - (int64_t)n) {
        e->head = e->head + 1 == n ? 0 : e->head + 1;
        e->len--;
    }
    /* values the new one equals or beats can never be the (newest) extreme again */
    while (e->len > 0) {
        size_t last = e->head + e->len - 1;
        double back = e->q[last >= n ? last - n : last].v;
        if (e->is_max ? back <= x : back >= x)
            e->len--;
        else
            break;
    }
    size_t tail = e->head + e->len;
    e->q[tail >= n ? tail - n : tail] = (ta_extreme_entry){x, seq};
    e->len++;
    return e->q[e->head].v;
}

int64_t ta_extreme_age(const ta_extreme *e)
{
    return e->seq - e->q[e->head].seq;
}

/* --- ta_ema / ta_wilder ---------------------------------------------------------------- */

void ta_ema_init(ta_ema *e, size_t n)
{
    memset(e, 0, sizeof *e);
    e->n = n;
    e->alpha = 2.0 / (double)(n + 1);
}

bool ta_ema_push(ta_ema *e, double x, double *out)
{
    if (e->ready) {
        e->value = e->value + e->alpha * (x - e->value);
        *out = e->value;
        return true;
    }
    e->count++;
    e->seed_sum = e->seed_sum + x;
    if (e->count < e->n)
        return false;
    e->value = e->seed_sum / (double)e->n;
    e->ready = true;
    *out = e->value;
    return true;
}

void ta_wilder_init(ta_wilder *w, size_t n)
{
    ta_ema_init(w, n);
}

bool ta_wilder_push(ta_wilder *w, double x, double *out)
{
    if (w->ready) {
        w->value = (w->value * (double)(w->n - 1) + x) / (double)w->n;
        *out = w->value;
        return true;
    }
    w->count++;
    w->seed_sum = w->seed_sum + x;
    if (w->count < w->n)
        return false;
    w->value = w->seed_sum / (double)w->n;
    w->ready = true;
    *out = w->value;
    return true;
}

double ta_true_range(double high, double low, double prev_close)
{
    double tr = high - low;
    double up = fabs(high - prev_close), down = fabs(low - prev_close);
    if (up > tr)
        tr = up;
    if (down > tr)
        tr = down;
    return tr;
}

void ta_atr_init(ta_atr *a, size_t n, bool skip_first)
{
    ta_wilder_init(&a->w, n);
    a->skip_first = skip_first;
    a->has_prev = false;
    a->prev_close = 0.0;
}

bool ta_atr_push(ta_atr *a, double high, double low, double close, double *out)
{
    bool had_prev = a->has_prev;
    double prev = a->prev_close;
    a->prev_close = close;
    a->has_prev = true;
    if (!had_prev && a->skip_first)
        return false;
    return ta_wilder_push(&a->w, had_prev ? ta_true_range(high, low, prev) : high - low, out);
}

void ta_rsi_init(ta_rsi *r, size_t n)
{
    memset(r, 0, sizeof *r);
    r->n = n;
}

/* The first n changes summed and divided once, then Wilder's recursion: the operations,
 * in their order, of the Lua implementation ta.rsi replaced. */
bool ta_rsi_push(ta_rsi *r, double x, double *out)
{
    double prev = r->prev;
    bool had_prev = r->has_prev;
    r->prev = x;
    r->has_prev = true;
    if (!had_prev)
        return false;
    double change = x - prev;
    double gain = change > 0 ? change : 0.0;
    double loss = change < 0 ? -change : 0.0;
    double n = (double)r->n;
    if (r->changes < r->n) {
        r->changes++;
        r->avg_gain = r->avg_gain + gain;
        r->avg_loss = r->avg_loss + loss;
        if (r->changes < r->n)
            return false;
        r->avg_gain = r->avg_gain / n;
        r->avg_loss = r->avg_loss / n;
    } else {
        r->avg_gain = (r->avg_gain * (double)(r->n - 1) + gain) / n;
        r->avg_loss = (r->avg_loss * (double)(r->n - 1) + loss) / n;
    }
    if (r->avg_loss == 0)
        *out = r->avg_gain == 0 ? 50.0 : 100.0;
    else
        *out = 100.0 - 100.0 / (1.0 + r->avg_gain / r->avg_loss);
    return true;
}
