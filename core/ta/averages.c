/* averages: WMA, DEMA, TEMA, KAMA and HMA (formulas and warm-ups in docs/lua-api.md). */
#include <math.h>

#include "ta/indicator.h"
#include "ta/window.h"

#define PERIOD(name_, dflt_)                                                                       \
    {                                                                                              \
        .name = name_, .kind = TA_PARAM_PERIOD, .dflt = dflt_, .min = 1, .hint = "e.g. " #dflt_    \
    }

/* --- WMA ------------------------------------------------------------------------------- */

typedef struct {
    ta_wsum w;
} wma_state;

static size_t wma_bytes(const double *p)
{
    return ta_wsum_bytes((size_t)p[0]);
}

static void wma_init(void *st, const double *p, void *mem)
{
    wma_state *s = st;
    ta_wsum_init(&s->w, (size_t)p[0], mem);
}

static bool wma_update(void *st, const double *in, double *out)
{
    wma_state *s = st;
    return ta_wsum_push(&s->w, in[0], &out[0]);
}

const ta_def ta_def_wma = {.kind = "wma",
                           .params = {PERIOD("n", 10)},
                           .inputs = {"x"},
                           .outputs = {"value"},
                           .state_size = sizeof(wma_state),
                           .window_bytes = wma_bytes,
                           .init = wma_init,
                           .update = wma_update};

/* --- DEMA and TEMA: EMAs of EMAs ------------------------------------------------------- */

typedef struct {
    ta_ema e[3];
    int depth; /* 2: DEMA, 3: TEMA */
} multi_ema_state;

static void dema_init(void *st, const double *p, void *mem)
{
    (void)mem;
    multi_ema_state *s = st;
    s->depth = 2;
    for (int i = 0; i < 3; i++)
        ta_ema_init(&s->e[i], (size_t)p[0]);
}

static void tema_init(void *st, const double *p, void *mem)
{
    dema_init(st, p, mem);
    ((multi_ema_state *)st)->depth = 3;
}

/* e1 = EMA(x), e2 = EMA(e1), e3 = EMA(e2), each fed from its first defined value. */
static bool multi_ema_update(void *st, const double *in, double *out)
{
    multi_ema_state *s = st;
    double e[3];
    if (!ta_ema_push(&s->e[0], in[0], &e[0]) || !ta_ema_push(&s->e[1], e[0], &e[1]))
        return false;
    if (s->depth == 2) {
        out[0] = 2 * e[0] - e[1];
        return true;
    }
    if (!ta_ema_push(&s->e[2], e[1], &e[2]))
        return false;
    out[0] = 3 * e[0] - 3 * e[1] + e[2];
    return true;
}

static size_t no_windows(const double *p)
{
    (void)p;
    return 0;
}

const ta_def ta_def_dema = {.kind = "dema",
                            .params = {PERIOD("n", 10)},
                            .inputs = {"x"},
                            .outputs = {"value"},
                            .state_size = sizeof(multi_ema_state),
                            .window_bytes = no_windows,
                            .init = dema_init,
                            .update = multi_ema_update};

const ta_def ta_def_tema = {.kind = "tema",
                            .params = {PERIOD("n", 10)},
                            .inputs = {"x"},
                            .outputs = {"value"},
                            .state_size = sizeof(multi_ema_state),
                            .window_bytes = no_windows,
                            .init = tema_init,
                            .update = multi_ema_update};

/* --- KAMA ------------------------------------------------------------------------------ */

/* Kaufman's adaptive moving average: the efficiency ratio ER = |x - x[n ago]| / (sum of
 * the last n |changes|) moves the smoothing constant between the fast and the slow EMA's,
 * squared. The last n + 1 prices sit in `prices`, the last n absolute changes in `noise`. */
typedef struct {
    ta_runsum prices, noise;
    double fast_sc, slow_sc, value;
    bool ready;
} kama_state;

static size_t kama_bytes(const double *p)
{
    return ta_runsum_bytes((size_t)p[0] + 1) + ta_runsum_bytes((size_t)p[0]);
}

static const char *kama_check(const double *p)
{
    return p[1] >= p[2] ? "fast must be shorter than slow, e.g. 10, 2, 30" : NULL;
}

static void kama_init(void *st, const double *p, void *mem)
{
    kama_state *s = st;
    size_t n = (size_t)p[0];
    ta_runsum_init(&s->prices, n + 1, mem);
    ta_runsum_init(&s->noise, n, (char *)mem + ta_runsum_bytes(n + 1));
    s->fast_sc = 2.0 / (p[1] + 1);
    s->slow_sc = 2.0 / (p[2] + 1);
    s->ready = false;
}

static bool kama_update(void *st, const double *in, double *out)
{
    kama_state *s = st;
    double x = in[0];
    if (s->prices.count > 0)
        ta_runsum_push(&s->noise, fabs(x - ta_runsum_ago(&s->prices, 0)));
    double prev = s->prices.count > 0 ? ta_runsum_ago(&s->prices, 0) : x;
    if (!ta_runsum_push(&s->prices, x))
        return false;
    if (!s->ready) {
        /* the first value starts from the previous price */
        s->value = prev;
        s->ready = true;
    }
    double direction = fabs(x - ta_runsum_ago(&s->prices, s->prices.n - 1));
    double noise = s->noise.sum;
    double er = noise > 0 ? direction / noise : 0.0;
    if (er > 1)
        er = 1; /* a re-summed noise a rounding below the direction */
    double sc = er * (s->fast_sc - s->slow_sc) + s->slow_sc;
    sc = sc * sc;
    s->value = s->value + sc * (x - s->value);
    out[0] = s->value;
    return true;
}

const ta_def ta_def_kama = {.kind = "kama",
                            .params = {PERIOD("n", 10), PERIOD("fast", 2), PERIOD("slow", 30)},
                            .inputs = {"x"},
                            .outputs = {"value"},
                            .state_size = sizeof(kama_state),
                            .window_bytes = kama_bytes,
                            .check = kama_check,
                            .init = kama_init,
                            .update = kama_update};

/* --- HMA ------------------------------------------------------------------------------- */

/* Hull: WMA(2 WMA(x, floor(n / 2)) - WMA(x, n), floor(sqrt(n))), as TTR's HMA. */
typedef struct {
    ta_wsum half, full, outer;
} hma_state;

static size_t hma_half(const double *p)
{
    return (size_t)p[0] / 2;
}

static size_t hma_outer(const double *p)
{
    return (size_t)floor(sqrt(p[0]));
}

static size_t hma_bytes(const double *p)
{
    return ta_wsum_bytes(hma_half(p)) + ta_wsum_bytes((size_t)p[0]) + ta_wsum_bytes(hma_outer(p));
}

static const char *hma_check(const double *p)
{
    return p[0] < 2 ? "n must be at least 2 (its half is a period), e.g. 20" : NULL;
}

static void hma_init(void *st, const double *p, void *mem)
{
    hma_state *s = st;
    char *m = mem;
    ta_wsum_init(&s->half, hma_half(p), m);
    m += ta_wsum_bytes(hma_half(p));
    ta_wsum_init(&s->full, (size_t)p[0], m);
    m += ta_wsum_bytes((size_t)p[0]);
    ta_wsum_init(&s->outer, hma_outer(p), m);
}

static bool hma_update(void *st, const double *in, double *out)
{
    hma_state *s = st;
    double half, full;
    bool have_half = ta_wsum_push(&s->half, in[0], &half);
    if (!ta_wsum_push(&s->full, in[0], &full) || !have_half)
        return false;
    return ta_wsum_push(&s->outer, 2 * half - full, &out[0]);
}

const ta_def ta_def_hma = {.kind = "hma",
                           .params = {PERIOD("n", 20)},
                           .inputs = {"x"},
                           .outputs = {"value"},
                           .state_size = sizeof(hma_state),
                           .window_bytes = hma_bytes,
                           .check = hma_check,
                           .init = hma_init,
                           .update = hma_update};
