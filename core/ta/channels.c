/* channels: Keltner and Donchian channels (formulas and warm-ups in docs/lua-api.md).
 * Bollinger bands are ta.bollinger, in core/script/ta.c. */
#include <math.h>

#include "ta/indicator.h"
#include "ta/window.h"

#define PERIOD(name_, dflt_)                                                                       \
    {                                                                                              \
        .name = name_, .kind = TA_PARAM_PERIOD, .dflt = dflt_, .min = 1, .hint = "e.g. " #dflt_    \
    }

/* The first_tr option every ATR-based indicator takes, as ta.atr does. */
#define FIRST_TR_OPTION                                                                            \
    {                                                                                              \
        .name = "first_tr", .kind = TA_PARAM_CHOICE, .option = true, .dflt = 0,                    \
        .choices = "range|skip",                                                                   \
        .hint = "\"range\" (the first bar's high - low, the default) or \"skip\" (no true range "  \
                "without a previous close, as TTR and TA-Lib)"                                     \
    }

/* --- Keltner --------------------------------------------------------------------------- */

/* middle = EMA((high + low + close) / 3, n); upper/lower = middle +/- k ATR(atr_n), the
 * ATR's period being n unless given (TTR's keltnerChannels uses n for both). */
typedef struct {
    ta_ema mid;
    ta_atr atr;
    double k;
} keltner_state;

static size_t keltner_bytes(const double *p)
{
    (void)p;
    return 0;
}

static void keltner_init(void *st, const double *p, void *mem)
{
    (void)mem;
    keltner_state *s = st;
    ta_ema_init(&s->mid, (size_t)p[0]);
    ta_atr_init(&s->atr, isnan(p[2]) ? (size_t)p[0] : (size_t)p[2], p[3] == 1);
    s->k = p[1];
}

static bool keltner_update(void *st, const double *in, double *out)
{
    keltner_state *s = st;
    double mid, atr;
    bool have_mid = ta_ema_push(&s->mid, (in[0] + in[1] + in[2]) / 3, &mid);
    if (!ta_atr_push(&s->atr, in[0], in[1], in[2], &atr) || !have_mid)
        return false;
    out[0] = mid;
    out[1] = mid + s->k * atr;
    out[2] = mid - s->k * atr;
    return true;
}

const ta_def ta_def_keltner = {.kind = "keltner",
                               .params = {PERIOD("n", 20),
                                          {.name = "k",
                                           .kind = TA_PARAM_NUMBER,
                                           .dflt = 2,
                                           .min = 0,
                                           .hint = "a number >= 0, e.g. 2"},
                                          {.name = "atr_n",
                                           .kind = TA_PARAM_PERIOD,
                                           .dflt = NAN,
                                           .min = 1,
                                           .hint = "e.g. 10; n when not given"},
                                          FIRST_TR_OPTION},
                               .inputs = {"high", "low", "close"},
                               .outputs = {"value", "upper", "lower"},
                               .state_size = sizeof(keltner_state),
                               .window_bytes = keltner_bytes,
                               .init = keltner_init,
                               .update = keltner_update};

/* --- Donchian -------------------------------------------------------------------------- */

/* upper = highest high of n bars, lower = lowest low, middle = (upper + lower) / 2. */
typedef struct {
    ta_extreme hi, lo;
} donchian_state;

static size_t donchian_bytes(const double *p)
{
    return 2 * ta_extreme_bytes((size_t)p[0]);
}

static void donchian_init(void *st, const double *p, void *mem)
{
    donchian_state *s = st;
    size_t n = (size_t)p[0];
    ta_extreme_init(&s->hi, n, true, mem);
    ta_extreme_init(&s->lo, n, false, (char *)mem + ta_extreme_bytes(n));
}

static bool donchian_update(void *st, const double *in, double *out)
{
    donchian_state *s = st;
    double hh = ta_extreme_push(&s->hi, in[0]);
    double ll = ta_extreme_push(&s->lo, in[1]);
    if (s->hi.seq < (int64_t)s->hi.n)
        return false;
    out[0] = (hh + ll) / 2;
    out[1] = hh;
    out[2] = ll;
    return true;
}

const ta_def ta_def_donchian = {.kind = "donchian",
                                .params = {PERIOD("n", 20)},
                                .inputs = {"high", "low"},
                                .outputs = {"value", "upper", "lower"},
                                .state_size = sizeof(donchian_state),
                                .window_bytes = donchian_bytes,
                                .init = donchian_init,
                                .update = donchian_update};
