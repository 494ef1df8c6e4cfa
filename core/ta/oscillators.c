/* oscillators: Stochastic, Stochastic RSI, Williams %R, CCI, ROC, momentum and MFI
 * (formulas and warm-ups in docs/lua-api.md). */
#include <math.h>

#include "ta/indicator.h"
#include "ta/ostree.h"
#include "ta/window.h"

#define PERIOD(name_, dflt_)                                                                       \
    {                                                                                              \
        .name = name_, .kind = TA_PARAM_PERIOD, .dflt = dflt_, .min = 1, .hint = "e.g. " #dflt_    \
    }

/* --- the shared parts ------------------------------------------------------------------ */

/* 100 (x - lowest) / (highest - lowest), 50 when the range is empty (TTR's 0.5). */
static double position_in_range(double x, double lo, double hi)
{
    return hi > lo ? 100.0 * (x - lo) / (hi - lo) : 50.0;
}

/* A simple moving average that gives x itself when n is 1. */
static bool sma_push(ta_runsum *r, double x, double *out)
{
    if (!ta_runsum_push(r, x))
        return false;
    *out = r->sum / (double)r->n;
    return true;
}

/* --- Stochastic ------------------------------------------------------------------------ */

/* raw %K = 100 (close - lowest low) / (highest high - lowest low) over n bars;
 * %K = SMA(raw %K, smooth); %D = SMA(%K, d). */
typedef struct {
    ta_extreme hi, lo;
    ta_runsum k_sma, d_sma;
} stoch_state;

static size_t stoch_bytes(const double *p)
{
    size_t n = (size_t)p[0];
    return 2 * ta_extreme_bytes(n) + ta_runsum_bytes((size_t)p[2]) + ta_runsum_bytes((size_t)p[1]);
}

static void stoch_init(void *st, const double *p, void *mem)
{
    stoch_state *s = st;
    size_t n = (size_t)p[0];
    char *m = mem;
    ta_extreme_init(&s->hi, n, true, m);
    m += ta_extreme_bytes(n);
    ta_extreme_init(&s->lo, n, false, m);
    m += ta_extreme_bytes(n);
    ta_runsum_init(&s->k_sma, (size_t)p[2], m);
    m += ta_runsum_bytes((size_t)p[2]);
    ta_runsum_init(&s->d_sma, (size_t)p[1], m);
}

static bool stoch_update(void *st, const double *in, double *out)
{
    stoch_state *s = st;
    double hh = ta_extreme_push(&s->hi, in[0]);
    double ll = ta_extreme_push(&s->lo, in[1]);
    if (s->hi.seq < (int64_t)s->hi.n)
        return false;
    double k;
    if (!sma_push(&s->k_sma, position_in_range(in[2], ll, hh), &k))
        return false;
    out[0] = k;
    return sma_push(&s->d_sma, k, &out[1]);
}

const ta_def ta_def_stoch = {.kind = "stoch",
                             .params = {PERIOD("n", 14), PERIOD("d_n", 3), PERIOD("smooth", 1)},
                             .inputs = {"high", "low", "close"},
                             .outputs = {"k", "d"},
                             .state_size = sizeof(stoch_state),
                             .window_bytes = stoch_bytes,
                             .init = stoch_init,
                             .update = stoch_update};

/* --- Stochastic RSI -------------------------------------------------------------------- */

/* raw = 100 (RSI - lowest RSI) / (highest RSI - lowest RSI) over n RSI values;
 * %K = SMA(raw, k); %D = SMA(%K, d). */
typedef struct {
    ta_rsi rsi;
    ta_extreme hi, lo;
    ta_runsum k_sma, d_sma;
} stochrsi_state;

/* params: rsi_n, n, k, d */
static size_t stochrsi_bytes(const double *p)
{
    size_t n = (size_t)p[1];
    return 2 * ta_extreme_bytes(n) + ta_runsum_bytes((size_t)p[2]) + ta_runsum_bytes((size_t)p[3]);
}

static void stochrsi_init(void *st, const double *p, void *mem)
{
    stochrsi_state *s = st;
    size_t n = (size_t)p[1];
    char *m = mem;
    ta_rsi_init(&s->rsi, (size_t)p[0]);
    ta_extreme_init(&s->hi, n, true, m);
    m += ta_extreme_bytes(n);
    ta_extreme_init(&s->lo, n, false, m);
    m += ta_extreme_bytes(n);
    ta_runsum_init(&s->k_sma, (size_t)p[2], m);
    m += ta_runsum_bytes((size_t)p[2]);
    ta_runsum_init(&s->d_sma, (size_t)p[3], m);
}

static bool stochrsi_update(void *st, const double *in, double *out)
{
    stochrsi_state *s = st;
    double rsi, k;
    if (!ta_rsi_push(&s->rsi, in[0], &rsi))
        return false;
    double hh = ta_extreme_push(&s->hi, rsi);
    double ll = ta_extreme_push(&s->lo, rsi);
    if (s->hi.seq < (int64_t)s->hi.n)
        return false;
    if (!sma_push(&s->k_sma, position_in_range(rsi, ll, hh), &k))
        return false;
    out[0] = k;
    return sma_push(&s->d_sma, k, &out[1]);
}

const ta_def ta_def_stochrsi = {
    .kind = "stochrsi",
    .params = {PERIOD("rsi_n", 14), PERIOD("n", 14), PERIOD("k_n", 3), PERIOD("d_n", 3)},
    .inputs = {"x"},
    .outputs = {"k", "d"},
    .state_size = sizeof(stochrsi_state),
    .window_bytes = stochrsi_bytes,
    .init = stochrsi_init,
    .update = stochrsi_update};

/* --- Williams %R ----------------------------------------------------------------------- */

/* -100 (highest high - close) / (highest high - lowest low), -50 for an empty range. */
typedef struct {
    ta_extreme hi, lo;
} willr_state;

static size_t willr_bytes(const double *p)
{
    return 2 * ta_extreme_bytes((size_t)p[0]);
}

static void willr_init(void *st, const double *p, void *mem)
{
    willr_state *s = st;
    size_t n = (size_t)p[0];
    ta_extreme_init(&s->hi, n, true, mem);
    ta_extreme_init(&s->lo, n, false, (char *)mem + ta_extreme_bytes(n));
}

static bool willr_update(void *st, const double *in, double *out)
{
    willr_state *s = st;
    double hh = ta_extreme_push(&s->hi, in[0]);
    double ll = ta_extreme_push(&s->lo, in[1]);
    if (s->hi.seq < (int64_t)s->hi.n)
        return false;
    out[0] = hh > ll ? -100.0 * (hh - in[2]) / (hh - ll) : -50.0;
    return true;
}

const ta_def ta_def_willr = {.kind = "willr",
                             .params = {PERIOD("n", 14)},
                             .inputs = {"high", "low", "close"},
                             .outputs = {"value"},
                             .state_size = sizeof(willr_state),
                             .window_bytes = willr_bytes,
                             .init = willr_init,
                             .update = willr_update};

/* --- CCI ------------------------------------------------------------------------------- */

/* (tp - SMA(tp, n)) / (c * mean |tp_i - SMA(tp, n)|), tp = (high + low + close) / 3.
 * The mean deviation is about the current window's mean, which moves every bar, so no
 * running sum gives it. Summing |tp_i - mean| over the window is O(n); an
 * order-statistics tree over the window (ta/ostree.h) gives it from the count and sum of
 * the values below the mean in O(log n). The tree's constant is larger (two walks down
 * and their unpredictable branches, where the sum is n subtractions the compiler
 * vectorises): measured, the sum is faster up to about 400 values, so windows from
 * CCI_TREE_MIN use the tree and shorter ones the sum (docs/performance.md). */
#ifndef CCI_TREE_MIN /* -DCCI_TREE_MIN=1 builds the tree for every window, to measure it */
#define CCI_TREE_MIN 384
#endif

typedef struct {
    ta_runsum tp;
    ta_ostree order; /* used from CCI_TREE_MIN values */
    bool tree;
    double c;
} cci_state;

static size_t cci_bytes(const double *p)
{
    size_t n = (size_t)p[0];
    return ta_runsum_bytes(n) + (n >= CCI_TREE_MIN ? ta_align(ta_ostree_bytes(n)) : 0);
}

static void cci_init(void *st, const double *p, void *mem)
{
    cci_state *s = st;
    size_t n = (size_t)p[0];
    ta_runsum_init(&s->tp, n, mem);
    s->tree = n >= CCI_TREE_MIN;
    if (s->tree)
        ta_ostree_init(&s->order, n, (char *)mem + ta_runsum_bytes(n));
    s->c = p[1];
}

static bool cci_update(void *st, const double *in, double *out)
{
    cci_state *s = st;
    double tp = (in[0] + in[1] + in[2]) / 3;
    if (s->tree)
        ta_ostree_set(&s->order, s->tp.pos, tp); /* the slot the ring writes tp to */
    if (!ta_runsum_push(&s->tp, tp))
        return false;
    double n = (double)s->tp.n;
    double mean = s->tp.sum / n, dev = 0.0;
    if (s->tree) {
        dev = ta_ostree_absdev(&s->order, mean);
    } else {
        for (size_t i = 0; i < s->tp.n; i++)
            dev += fabs(s->tp.buf[i] - mean);
    }
    dev /= n;
    /* A flat window's deviation is rounding, not a market (below 1e-12 of the price it is
     * no tick size's): 0, as for an exact 0, rather than noise divided by noise. */
    out[0] = dev > 1e-12 * fabs(mean) ? (tp - mean) / (s->c * dev) : 0.0;
    return true;
}

const ta_def ta_def_cci = {.kind = "cci",
                           .params = {PERIOD("n", 20),
                                      {.name = "c",
                                       .kind = TA_PARAM_NUMBER,
                                       .dflt = 0.015,
                                       .min = 1e-300,
                                       .hint = "a number > 0, e.g. 0.015"}},
                           .inputs = {"high", "low", "close"},
                           .outputs = {"value"},
                           .state_size = sizeof(cci_state),
                           .window_bytes = cci_bytes,
                           .init = cci_init,
                           .update = cci_update};

/* --- ROC and momentum ------------------------------------------------------------------ */

/* The last n + 1 values; ROC compares the newest with the oldest. */
typedef struct {
    ta_runsum xs;
    int type; /* roc: 0 percent, 1 discrete (fraction), 2 continuous (log); momentum: -1 */
} change_state;

static size_t change_bytes(const double *p)
{
    return ta_runsum_bytes((size_t)p[0] + 1);
}

static void roc_init(void *st, const double *p, void *mem)
{
    change_state *s = st;
    ta_runsum_init(&s->xs, (size_t)p[0] + 1, mem);
    s->type = (int)p[1];
}

static void momentum_init(void *st, const double *p, void *mem)
{
    roc_init(st, p, mem);
    ((change_state *)st)->type = -1;
}

static bool change_update(void *st, const double *in, double *out)
{
    change_state *s = st;
    double x = in[0];
    if (!ta_runsum_push(&s->xs, x))
        return false;
    double then = ta_runsum_ago(&s->xs, s->xs.n - 1);
    switch (s->type) {
    case -1:
        out[0] = x - then;
        break;
    case 0:
        out[0] = then != 0 ? 100.0 * (x / then - 1.0) : 0.0;
        break;
    case 1:
        out[0] = then != 0 ? x / then - 1.0 : 0.0;
        break;
    default:
        out[0] = then > 0 && x > 0 ? log(x / then) : 0.0;
        break;
    }
    return true;
}

const ta_def ta_def_roc = {
    .kind = "roc",
    .params = {PERIOD("n", 10),
               {.name = "type",
                .kind = TA_PARAM_CHOICE,
                .option = true,
                .dflt = 0,
                .choices = "percent|discrete|continuous",
                .hint = "\"percent\" (100 (x / x[n ago] - 1), the default), \"discrete\" "
                        "(x / x[n ago] - 1) or \"continuous\" (log(x / x[n ago]), TTR's "
                        "default)"}},
    .inputs = {"x"},
    .outputs = {"value"},
    .state_size = sizeof(change_state),
    .window_bytes = change_bytes,
    .init = roc_init,
    .update = change_update};

const ta_def ta_def_momentum = {.kind = "momentum",
                                .params = {PERIOD("n", 10)},
                                .inputs = {"x"},
                                .outputs = {"value"},
                                .state_size = sizeof(change_state),
                                .window_bytes = change_bytes,
                                .init = momentum_init,
                                .update = change_update};

/* --- MFI ------------------------------------------------------------------------------- */

/* Money flow tp * volume (tp = (high + low + close) / 3) counts as positive on a bar whose
 * tp rose, negative on one whose tp fell; MFI = 100 - 100 / (1 + positive / negative) over
 * the last n bars' flows (100 with no negative flow, 50 with none at all). */
typedef struct {
    ta_runsum pos, neg;
    bool has_prev;
    double prev_tp;
} mfi_state;

static size_t mfi_bytes(const double *p)
{
    return 2 * ta_runsum_bytes((size_t)p[0]);
}

static void mfi_init(void *st, const double *p, void *mem)
{
    mfi_state *s = st;
    size_t n = (size_t)p[0];
    ta_runsum_init(&s->pos, n, mem);
    ta_runsum_init(&s->neg, n, (char *)mem + ta_runsum_bytes(n));
    s->has_prev = false;
}

static bool mfi_update(void *st, const double *in, double *out)
{
    mfi_state *s = st;
    double tp = (in[0] + in[1] + in[2]) / 3;
    double flow = tp * in[3];
    bool had_prev = s->has_prev;
    double prev = s->prev_tp;
    s->prev_tp = tp;
    s->has_prev = true;
    if (!had_prev)
        return false;
    ta_runsum_push(&s->pos, tp > prev ? flow : 0.0);
    if (!ta_runsum_push(&s->neg, tp < prev ? flow : 0.0))
        return false;
    double p = s->pos.sum, q = s->neg.sum;
    if (q <= 0)
        out[0] = p > 0 ? 100.0 : 50.0;
    else
        out[0] = 100.0 - 100.0 / (1.0 + p / q);
    return true;
}

const ta_def ta_def_mfi = {.kind = "mfi",
                           .params = {PERIOD("n", 14)},
                           .inputs = {"high", "low", "close", "volume"},
                           .outputs = {"value"},
                           .state_size = sizeof(mfi_state),
                           .window_bytes = mfi_bytes,
                           .init = mfi_init,
                           .update = mfi_update};
