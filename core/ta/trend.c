/* trend: ADX/DI, Aroon, Supertrend, Parabolic SAR, Ichimoku and pivot points (formulas
 * and warm-ups in docs/lua-api.md). */
#include <math.h>

#include "ta/indicator.h"
#include "ta/window.h"

#define PERIOD(name_, dflt_)                                                                       \
    {                                                                                              \
        .name = name_, .kind = TA_PARAM_PERIOD, .dflt = dflt_, .min = 1, .hint = "e.g. " #dflt_    \
    }

static size_t no_windows(const double *p)
{
    (void)p;
    return 0;
}

/* --- ADX / DI -------------------------------------------------------------------------- */

/* +DM = high - previous high when that beats previous low - low (and is the larger),
 * -DM the mirror; TR the true range. Each is summed Wilder's way (TTR's wilderSum: the
 * first n - 1 values summed, then S = x + S (n - 1) / n), +DI = 100 S(+DM) / S(TR),
 * -DI likewise, DX = 100 |+DI - -DI| / (+DI + -DI), ADX = Wilder's average of DX. */
typedef struct {
    bool has_prev;
    double prev_high, prev_low, prev_close;
    size_t n, count;
    double s_tr, s_plus, s_minus;
    ta_ema adx; /* alpha 1/n: Wilder's ratio, TTR's EMA(wilder = TRUE) */
} adx_state;

static void adx_init(void *st, const double *p, void *mem)
{
    (void)mem;
    adx_state *s = st;
    *s = (adx_state){.n = (size_t)p[0]};
    ta_ema_init(&s->adx, s->n);
    s->adx.alpha = 1.0 / p[0];
}

/* A Wilder sum's step: the seed at the n-th value, then the recursion. */
static double wilder_sum(double sum, double x, size_t count, size_t n)
{
    if (count < n)
        return sum + x;
    return x + sum * (double)(n - 1) / (double)n;
}

static bool adx_update(void *st, const double *in, double *out)
{
    adx_state *s = st;
    double high = in[0], low = in[1], close = in[2];
    bool had_prev = s->has_prev;
    double ph = s->prev_high, pl = s->prev_low, pc = s->prev_close;
    s->prev_high = high;
    s->prev_low = low;
    s->prev_close = close;
    s->has_prev = true;
    if (!had_prev)
        return false;
    double up = high - ph, down = pl - low;
    bool none = up == down || (up < 0 && down < 0);
    double plus = none ? 0.0 : up > down ? up : 0.0;
    double minus = none ? 0.0 : up < down ? down : 0.0;
    s->count++;
    s->s_tr = wilder_sum(s->s_tr, ta_true_range(high, low, pc), s->count, s->n);
    s->s_plus = wilder_sum(s->s_plus, plus, s->count, s->n);
    s->s_minus = wilder_sum(s->s_minus, minus, s->count, s->n);
    if (s->count < s->n)
        return false;
    double pdi = s->s_tr > 0 ? 100 * s->s_plus / s->s_tr : 0.0;
    double mdi = s->s_tr > 0 ? 100 * s->s_minus / s->s_tr : 0.0;
    double dx = pdi + mdi > 0 ? 100 * (fabs(pdi - mdi) / (pdi + mdi)) : 0.0;
    double adx;
    if (s->adx.ready) {
        /* TTR's EMA form: x ratio + prev (1 - ratio) */
        s->adx.value = dx * s->adx.alpha + s->adx.value * (1 - s->adx.alpha);
        adx = s->adx.value;
    } else if (!ta_ema_push(&s->adx, dx, &adx)) {
        return false;
    }
    out[0] = adx;
    out[1] = pdi;
    out[2] = mdi;
    out[3] = dx;
    return true;
}

const ta_def ta_def_adx = {.kind = "adx",
                           .params = {PERIOD("n", 14)},
                           .inputs = {"high", "low", "close"},
                           .outputs = {"value", "plus_di", "minus_di", "dx"},
                           .state_size = sizeof(adx_state),
                           .window_bytes = no_windows,
                           .init = adx_init,
                           .update = adx_update};

/* --- Aroon ----------------------------------------------------------------------------- */

/* up = 100 (n - bars since the highest high) / n over the last n + 1 bars (ties: the
 * newest), down the same for the lowest low; oscillator = up - down. As TTR's aroon, the
 * first value comes on bar n, over the n bars there are. */
typedef struct {
    ta_extreme hi, lo;
    double n;
} aroon_state;

static size_t aroon_bytes(const double *p)
{
    return 2 * ta_extreme_bytes((size_t)p[0] + 1);
}

static void aroon_init(void *st, const double *p, void *mem)
{
    aroon_state *s = st;
    size_t n = (size_t)p[0];
    ta_extreme_init(&s->hi, n + 1, true, mem);
    ta_extreme_init(&s->lo, n + 1, false, (char *)mem + ta_extreme_bytes(n + 1));
    s->n = p[0];
}

static bool aroon_update(void *st, const double *in, double *out)
{
    aroon_state *s = st;
    ta_extreme_push(&s->hi, in[0]);
    ta_extreme_push(&s->lo, in[1]);
    if ((double)s->hi.seq < s->n)
        return false;
    double up = (100.0 * (s->n - (double)ta_extreme_age(&s->hi))) / s->n;
    double down = (100.0 * (s->n - (double)ta_extreme_age(&s->lo))) / s->n;
    out[0] = up - down;
    out[1] = up;
    out[2] = down;
    return true;
}

const ta_def ta_def_aroon = {.kind = "aroon",
                             .params = {PERIOD("n", 25)},
                             .inputs = {"high", "low"},
                             .outputs = {"value", "up", "down"},
                             .state_size = sizeof(aroon_state),
                             .window_bytes = aroon_bytes,
                             .init = aroon_init,
                             .update = aroon_update};

/* --- Supertrend ------------------------------------------------------------------------ */

/* Bands (high + low) / 2 +/- k ATR(n); the lower band only rises and the upper only falls
 * while the previous close stays inside them. The trend turns up when the close crosses
 * above the upper band, down when it crosses below the lower one; the line is the lower
 * band in an up trend, the upper band in a down trend. The first bar with an ATR starts a
 * down trend (TradingView's convention). */
typedef struct {
    ta_atr atr;
    double k, upper, lower, prev_close;
    int direction; /* 1 up, -1 down, 0 not started */
} supertrend_state;

static void supertrend_init(void *st, const double *p, void *mem)
{
    (void)mem;
    supertrend_state *s = st;
    *s = (supertrend_state){.k = p[1]};
    ta_atr_init(&s->atr, (size_t)p[0], p[2] == 1);
}

static bool supertrend_update(void *st, const double *in, double *out)
{
    supertrend_state *s = st;
    double high = in[0], low = in[1], close = in[2], atr;
    double prev_close = s->prev_close;
    s->prev_close = close;
    if (!ta_atr_push(&s->atr, high, low, close, &atr))
        return false;
    double mid = (high + low) / 2;
    double upper = mid + s->k * atr, lower = mid - s->k * atr;
    if (s->direction == 0) {
        s->direction = -1;
    } else {
        if (!(lower > s->lower || prev_close < s->lower))
            lower = s->lower;
        if (!(upper < s->upper || prev_close > s->upper))
            upper = s->upper;
        if (s->direction == -1)
            s->direction = close > upper ? 1 : -1;
        else
            s->direction = close < lower ? -1 : 1;
    }
    s->upper = upper;
    s->lower = lower;
    out[0] = s->direction == 1 ? lower : upper;
    out[1] = s->direction;
    out[2] = upper;
    out[3] = lower;
    return true;
}

const ta_def ta_def_supertrend = {
    .kind = "supertrend",
    .params = {PERIOD("n", 10),
               {.name = "k",
                .kind = TA_PARAM_NUMBER,
                .dflt = 3,
                .min = 0,
                .hint = "a number >= 0, e.g. 3"},
               {.name = "first_tr",
                .kind = TA_PARAM_CHOICE,
                .option = true,
                .dflt = 0,
                .choices = "range|skip",
                .hint = "\"range\" (the first bar's high - low, the default) or \"skip\""}},
    .inputs = {"high", "low", "close"},
    .outputs = {"value", "direction", "upper", "lower"},
    .state_size = sizeof(supertrend_state),
    .window_bytes = no_windows,
    .init = supertrend_init,
    .update = supertrend_update};

/* --- Parabolic SAR --------------------------------------------------------------------- */

/* Wilder's stop and reverse, step by step as TTR's sar.c: it starts long, the first stop
 * `first_gap` below the first low (by default the first bar's own (high - low) / sqrt 2,
 * TTR's newest source; TTR 0.24's R wrapper passes the whole series' sd(high - low),
 * which needs the future); the acceleration grows by `step` on each new extreme, up to
 * `max`. */
typedef struct {
    bool started;
    double step, max, first_gap;
    double prev_high, prev_low, sar, extreme, af;
    int direction;
} psar_state;

static const char *psar_check(const double *p)
{
    return p[1] < p[0] ? "max must be at least step, e.g. 0.02, 0.2" : NULL;
}

static void psar_init(void *st, const double *p, void *mem)
{
    (void)mem;
    psar_state *s = st;
    *s = (psar_state){.step = p[0], .max = p[1], .first_gap = p[2]};
}

static bool psar_update(void *st, const double *in, double *out)
{
    psar_state *s = st;
    double high = in[0], low = in[1];
    if (!s->started) {
        double gap = s->first_gap;
        if (isnan(gap)) {
            double mu = (high + low) / 2.0;
            gap = sqrt((high - mu) * (high - mu) + (low - mu) * (low - mu));
        }
        s->started = true;
        s->sar = low - gap;
        s->direction = 1;
        s->extreme = high;
        s->af = s->step;
    } else {
        int dir1 = s->direction;
        double xp1 = s->extreme, af1 = s->af, sar1 = s->sar;
        double lmin = fmin(s->prev_low, low), lmax = fmax(s->prev_high, high);
        if (dir1 == 1) {
            s->direction = low > sar1 ? 1 : -1;
            s->extreme = fmax(lmax, xp1);
        } else {
            s->direction = high < sar1 ? -1 : 1;
            s->extreme = fmin(lmin, xp1);
        }
        if (s->direction == dir1) {
            s->sar = sar1 + (xp1 - sar1) * af1;
            double af = fmin(s->step + af1, s->max);
            if (s->direction == 1) {
                s->af = s->extreme > xp1 ? af : af1;
                s->sar = fmin(s->sar, lmin);
            } else {
                s->af = s->extreme < xp1 ? af : af1;
                s->sar = fmax(s->sar, lmax);
            }
        } else {
            s->af = s->step;
            s->sar = s->extreme;
        }
    }
    s->prev_high = high;
    s->prev_low = low;
    out[0] = s->sar;
    out[1] = s->direction;
    return true;
}

const ta_def ta_def_psar = {
    .kind = "psar",
    .params = {{.name = "step",
                .kind = TA_PARAM_NUMBER,
                .dflt = 0.02,
                .min = 1e-9,
                .max = 1,
                .hint = "a number in (0, 1], e.g. 0.02"},
               {.name = "max",
                .kind = TA_PARAM_NUMBER,
                .dflt = 0.2,
                .min = 1e-9,
                .max = 1,
                .hint = "a number in (0, 1], e.g. 0.2"},
               {.name = "first_gap",
                .kind = TA_PARAM_NUMBER,
                .option = true,
                .dflt = NAN,
                .min = 0,
                .hint = "a number >= 0: how far below the first low the first stop is"}},
    .inputs = {"high", "low"},
    .outputs = {"value", "direction"},
    .state_size = sizeof(psar_state),
    .window_bytes = no_windows,
    .check = psar_check,
    .init = psar_init,
    .update = psar_update};

/* --- Ichimoku -------------------------------------------------------------------------- */

/* tenkan = midpoint (highest high + lowest low) / 2 of `tenkan` bars, kijun of `kijun`
 * bars; span_a = (tenkan + kijun) / 2 and span_b = the midpoint of `senkou` bars, both
 * as computed on this bar (charts plot them `kijun` bars ahead); cloud_a and cloud_b are
 * the spans computed `kijun` bars ago: the cloud under this bar. */
typedef struct {
    ta_extreme hi[3], lo[3];
    ta_runsum span_a, span_b; /* the last `kijun` spans */
    size_t longest;
} ichimoku_state;

static size_t ichimoku_bytes(const double *p)
{
    size_t b = 0;
    for (int i = 0; i < 3; i++)
        b += 2 * ta_extreme_bytes((size_t)p[i]);
    return b + 2 * ta_runsum_bytes((size_t)p[1]);
}

static void ichimoku_init(void *st, const double *p, void *mem)
{
    ichimoku_state *s = st;
    char *m = mem;
    s->longest = 0;
    for (int i = 0; i < 3; i++) {
        size_t n = (size_t)p[i];
        ta_extreme_init(&s->hi[i], n, true, m);
        m += ta_extreme_bytes(n);
        ta_extreme_init(&s->lo[i], n, false, m);
        m += ta_extreme_bytes(n);
        if (n > s->longest)
            s->longest = n;
    }
    ta_runsum_init(&s->span_a, (size_t)p[1], m);
    m += ta_runsum_bytes((size_t)p[1]);
    ta_runsum_init(&s->span_b, (size_t)p[1], m);
}

static bool ichimoku_update(void *st, const double *in, double *out)
{
    ichimoku_state *s = st;
    double mid[3];
    for (int i = 0; i < 3; i++)
        mid[i] = (ta_extreme_push(&s->hi[i], in[0]) + ta_extreme_push(&s->lo[i], in[1])) / 2;
    if ((size_t)s->hi[0].seq < s->longest)
        return false;
    double span_a = (mid[0] + mid[1]) / 2;
    bool displaced = s->span_a.count == s->span_a.n;
    out[0] = mid[0];
    out[1] = mid[1];
    out[2] = span_a;
    out[3] = mid[2];
    out[4] = displaced ? ta_runsum_ago(&s->span_a, s->span_a.n - 1) : NAN;
    out[5] = displaced ? ta_runsum_ago(&s->span_b, s->span_b.n - 1) : NAN;
    ta_runsum_push(&s->span_a, span_a);
    ta_runsum_push(&s->span_b, mid[2]);
    return true;
}

const ta_def ta_def_ichimoku = {
    .kind = "ichimoku",
    .params = {PERIOD("tenkan", 9), PERIOD("kijun", 26), PERIOD("senkou", 52)},
    .inputs = {"high", "low"},
    .outputs = {"value", "kijun", "span_a", "span_b", "cloud_a", "cloud_b"},
    .state_size = sizeof(ichimoku_state),
    .window_bytes = ichimoku_bytes,
    .init = ichimoku_init,
    .update = ichimoku_update};

/* --- pivot points ---------------------------------------------------------------------- */

/* Classic floor pivots from the previous session's high H, low L and last close C:
 * P = (H + L + C) / 3, R1 = 2P - L, S1 = 2P - H, R2 = P + (H - L), S2 = P - (H - L),
 * R3 = H + 2 (P - L), S3 = L - 2 (H - P). A session is the bars sharing a session key
 * (update's fourth argument, e.g. the day); without keys every bar is a session. */
typedef struct {
    bool has_session, ready;
    double key, high, low, close;
    double out[7];
} pivots_state;

static void pivots_init(void *st, const double *p, void *mem)
{
    (void)p;
    (void)mem;
    *(pivots_state *)st = (pivots_state){0};
}

static void pivots_from(pivots_state *s)
{
    double h = s->high, l = s->low, c = s->close;
    double pp = (h + l + c) / 3;
    s->out[0] = pp;
    s->out[1] = 2 * pp - l;
    s->out[2] = 2 * pp - h;
    s->out[3] = pp + (h - l);
    s->out[4] = pp - (h - l);
    s->out[5] = h + 2 * (pp - l);
    s->out[6] = l - 2 * (h - pp);
    s->ready = true;
}

static bool pivots_update(void *st, const double *in, double *out)
{
    pivots_state *s = st;
    double key = in[3];
    bool new_session = !s->has_session || isnan(key) || key != s->key;
    if (new_session) {
        if (s->has_session)
            pivots_from(s);
        s->has_session = true;
        s->key = key;
        s->high = in[0];
        s->low = in[1];
    } else {
        s->high = fmax(s->high, in[0]);
        s->low = fmin(s->low, in[1]);
    }
    s->close = in[2];
    if (!s->ready)
        return false;
    for (int i = 0; i < 7; i++)
        out[i] = s->out[i];
    return true;
}

const ta_def ta_def_pivots = {.kind = "pivots",
                              .params = {{0}},
                              .inputs = {"high", "low", "close", "session"},
                              .optional_inputs = 1,
                              .outputs = {"value", "r1", "s1", "r2", "s2", "r3", "s3"},
                              .state_size = sizeof(pivots_state),
                              .window_bytes = no_windows,
                              .init = pivots_init,
                              .update = pivots_update};
