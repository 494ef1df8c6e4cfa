/* volume: VWAP and OBV (formulas and warm-ups in docs/lua-api.md). MFI, which weighs
 * price by volume too, is an oscillator (oscillators.c). */
#include <math.h>

#include "ta/indicator.h"
#include "ta/window.h"

/* --- VWAP ------------------------------------------------------------------------------ */

/* sum(tp volume) / sum(volume), tp = (high + low + close) / 3, from the session's first
 * bar: a bar whose session key (update's fifth argument, e.g. the day) differs from the
 * previous bar's starts a new session; without keys the session never ends. With the
 * option n, over the last n bars instead (TTR's VWAP, which is rolling). A session (or
 * window) with no volume yet gives the bar's tp. */
typedef struct {
    bool rolling, has_key;
    double key, pv, v;
    ta_runsum roll_pv, roll_v;
} vwap_state;

static size_t vwap_bytes(const double *p)
{
    return isnan(p[0]) ? 0 : 2 * ta_runsum_bytes((size_t)p[0]);
}

static void vwap_init(void *st, const double *p, void *mem)
{
    vwap_state *s = st;
    *s = (vwap_state){.rolling = !isnan(p[0])};
    if (s->rolling) {
        size_t n = (size_t)p[0];
        ta_runsum_init(&s->roll_pv, n, mem);
        ta_runsum_init(&s->roll_v, n, (char *)mem + ta_runsum_bytes(n));
    }
}

static bool vwap_update(void *st, const double *in, double *out)
{
    vwap_state *s = st;
    double tp = (in[0] + in[1] + in[2]) / 3, volume = in[3], key = in[4];
    double pv, v;
    if (s->rolling) {
        ta_runsum_push(&s->roll_pv, tp * volume);
        if (!ta_runsum_push(&s->roll_v, volume))
            return false;
        pv = s->roll_pv.sum;
        v = s->roll_v.sum;
    } else {
        /* a key unlike the previous bar's starts a session; no key continues one */
        bool reset = isnan(key) ? s->has_key : !s->has_key || key != s->key;
        if (reset) {
            s->pv = 0.0;
            s->v = 0.0;
        }
        s->has_key = !isnan(key);
        s->key = key;
        s->pv += tp * volume;
        s->v += volume;
        pv = s->pv;
        v = s->v;
    }
    out[0] = v > 0 ? pv / v : tp;
    return true;
}

const ta_def ta_def_vwap = {
    .kind = "vwap",
    .params = {{.name = "n",
                .kind = TA_PARAM_PERIOD,
                .option = true,
                .dflt = NAN,
                .min = 1,
                .hint = "a whole number of bars >= 1 for a rolling VWAP (TTR's), e.g. 10; "
                        "leave it out for the session VWAP"}},
    .inputs = {"high", "low", "close", "volume", "session"},
    .optional_inputs = 1,
    .outputs = {"value"},
    .state_size = sizeof(vwap_state),
    .window_bytes = vwap_bytes,
    .init = vwap_init,
    .update = vwap_update};

/* --- OBV ------------------------------------------------------------------------------- */

/* On-balance volume: the first bar's volume, then + volume on a bar whose close rose,
 * - volume on one whose close fell, unchanged when it did not move (TTR's OBV). */
typedef struct {
    bool started;
    double prev, obv;
} obv_state;

static size_t no_windows(const double *p)
{
    (void)p;
    return 0;
}

static void obv_init(void *st, const double *p, void *mem)
{
    (void)p;
    (void)mem;
    *(obv_state *)st = (obv_state){0};
}

static bool obv_update(void *st, const double *in, double *out)
{
    obv_state *s = st;
    double close = in[0], volume = in[1];
    if (!s->started)
        s->obv = volume;
    else if (close > s->prev)
        s->obv += volume;
    else if (close < s->prev)
        s->obv -= volume;
    s->started = true;
    s->prev = close;
    out[0] = s->obv;
    return true;
}

const ta_def ta_def_obv = {.kind = "obv",
                           .params = {{0}},
                           .inputs = {"close", "volume"},
                           .outputs = {"value"},
                           .state_size = sizeof(obv_state),
                           .window_bytes = no_windows,
                           .init = obv_init,
                           .update = obv_update};
