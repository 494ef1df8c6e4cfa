/* window: the building blocks every indicator in core/ta is made of, each O(1) per value
 * and allocation-free: the caller hands each block its memory once, at construction.
 *
 *   ta_runsum  the sum of the last n values (a ring and a running sum re-summed from the
 *              ring every max(1024, 4 n) values, so rounding never accumulates)
 *   ta_wsum    the linearly weighted sum of the last n values (WMA's numerator)
 *   ta_moments running sums of (x - shift), (x - shift)^2 (and of a second series and the
 *              cross product) over the last n pairs, re-centred on the window mean at every
 *              re-sum: variance, covariance, correlation without cancellation
 *   ta_extreme a monotonic deque: the highest (or lowest) of the last n values and how
 *              many values ago it came, ties going to the newest
 *   ta_ema     an EMA seeded with the mean of its first n values (TTR's EMA, and apex.ta's)
 *   ta_wilder  Wilder's average: seeded with a mean, then (prev (n - 1) + x) / n
 *
 * Memory: each block says how many bytes its window needs (*_bytes(n)); *_init takes a
 * pointer to that many bytes, aligned for a double. */
#ifndef APEX_TA_WINDOW_H
#define APEX_TA_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A window of n values is re-summed every max(TA_RESUM_MIN, 4 n) values. */
#define TA_RESUM_MIN 1024

/* --- ta_runsum ------------------------------------------------------------------------- */

typedef struct {
    double *buf;
    size_t n, pos, count; /* pos: the slot the next value goes to */
    size_t since_resum, resum_every;
    double sum;
} ta_runsum;

size_t ta_runsum_bytes(size_t n);
void ta_runsum_init(ta_runsum *r, size_t n, void *mem);
/* Adds x (dropping the value n ago once full); true once the window is full. */
bool ta_runsum_push(ta_runsum *r, double x);
/* The value k values ago (0 = the newest); k < count. */
double ta_runsum_ago(const ta_runsum *r, size_t k);

/* --- ta_wsum --------------------------------------------------------------------------- */

typedef struct {
    ta_runsum s;     /* the plain sum, and the ring */
    double weighted; /* sum of w_i x_i, w = 1 for the oldest .. n for the newest */
} ta_wsum;

size_t ta_wsum_bytes(size_t n);
void ta_wsum_init(ta_wsum *w, size_t n, void *mem);
/* Adds x; true once full, then *wma is the weighted mean. */
bool ta_wsum_push(ta_wsum *w, double x, double *wma);

/* --- ta_moments ------------------------------------------------------------------------ */

typedef struct {
    double *xs, *ys; /* ys NULL for one series */
    size_t n, pos, count, since_resum, resum_every;
    bool has_shift;
    double shift_x, shift_y, sx, sy, sxx, syy, sxy;
} ta_moments;

size_t ta_moments_bytes(size_t n, bool pairs);
void ta_moments_init(ta_moments *m, size_t n, bool pairs, void *mem);
/* Adds x (and y for pairs); true once full. */
bool ta_moments_push(ta_moments *m, double x, double y);
double ta_moments_mean_x(const ta_moments *m);
/* Variances and covariance over the full window; ddof 0 (population) or 1 (sample). */
double ta_moments_var_x(const ta_moments *m, int ddof);
double ta_moments_var_y(const ta_moments *m, int ddof);
double ta_moments_cov(const ta_moments *m, int ddof);

/* --- ta_extreme ------------------------------------------------------------------------ */

typedef struct {
    double v;
    int64_t seq;
} ta_extreme_entry;

typedef struct {
    ta_extreme_entry *q;
    size_t n, head, len; /* q holds n entries */
    int64_t seq;         /* values pushed so far */
    bool is_max;
} ta_extreme;

size_t ta_extreme_bytes(size_t n);
void ta_extreme_init(ta_extreme *e, size_t n, bool is_max, void *mem);
/* Adds x; returns the extreme of the last min(count, n) values. */
double ta_extreme_push(ta_extreme *e, double x);
/* How many values ago the current extreme came (0 = the newest). */
int64_t ta_extreme_age(const ta_extreme *e);

/* --- ta_ema / ta_wilder ---------------------------------------------------------------- */

typedef struct {
    size_t n, count;
    double alpha, seed_sum, value;
    bool ready;
} ta_ema;

void ta_ema_init(ta_ema *e, size_t n);
/* Feeds x; true once *out holds the EMA (from the n-th value). */
bool ta_ema_push(ta_ema *e, double x, double *out);

typedef ta_ema ta_wilder;
void ta_wilder_init(ta_wilder *w, size_t n);
bool ta_wilder_push(ta_wilder *w, double x, double *out);

/* --- ta_rsi ---------------------------------------------------------------------------- */

/* Wilder's RSI (ta.rsi): gains and losses averaged over the first n changes, then
 * smoothed (prev (n - 1) + x) / n; 50 while nothing moved, 100 with no loss. */
typedef struct {
    bool has_prev;
    double prev, avg_gain, avg_loss;
    size_t n, changes;
} ta_rsi;

void ta_rsi_init(ta_rsi *r, size_t n);
/* Feeds x; true once *out holds the RSI (from the (n + 1)-th value). */
bool ta_rsi_push(ta_rsi *r, double x, double *out);

/* --- ta_true_range --------------------------------------------------------------------- */

/* The true range of a bar after a close: max(high, prev_close) - min(low, prev_close),
 * written as apex.ta's ATR has always computed it. */
double ta_true_range(double high, double low, double prev_close);

/* --- ta_atr ---------------------------------------------------------------------------- */

/* Wilder's average true range, as ta.atr: the first bar's true range is its high - low,
 * or (skip_first, TTR's and TA-Lib's convention) the first bar gives none. */
typedef struct {
    ta_wilder w;
    bool skip_first, has_prev;
    double prev_close;
} ta_atr;

void ta_atr_init(ta_atr *a, size_t n, bool skip_first);
/* Feeds a bar; true once *out holds the ATR. */
bool ta_atr_push(ta_atr *a, double high, double low, double close, double *out);

/* Rounds a byte count up so the next block stays aligned for a double. */
static inline size_t ta_align(size_t bytes)
{
    return (bytes + 7u) & ~(size_t)7u;
}

#endif
