/* statistics: standard deviation, z-score, rolling correlation and beta over the last n
 * values (formulas and warm-ups in docs/lua-api.md), all from ta_moments' re-centred
 * running sums. */
#include <math.h>

#include "ta/indicator.h"
#include "ta/window.h"

#define PERIOD(name_, dflt_)                                                                       \
    {                                                                                              \
        .name = name_, .kind = TA_PARAM_PERIOD, .dflt = dflt_, .min = 1, .hint = "e.g. " #dflt_    \
    }

#define SAMPLE_OPTION                                                                              \
    {                                                                                              \
        .name = "sample", .kind = TA_PARAM_FLAG, .option = true, .dflt = 0,                        \
        .hint = "true (divide by n - 1, TTR's runSD default) or false (by n, the default, as "     \
                "ta.bollinger)"                                                                    \
    }

typedef struct {
    ta_moments m;
    int ddof;
} moments_state;

static size_t single_bytes(const double *p)
{
    return ta_moments_bytes((size_t)p[0], false);
}

static size_t pair_bytes(const double *p)
{
    return ta_moments_bytes((size_t)p[0], true);
}

static const char *sample_check(const double *p)
{
    return p[1] == 1 && p[0] < 2 ? "a sample deviation needs n >= 2, e.g. 20" : NULL;
}

static void single_init(void *st, const double *p, void *mem)
{
    moments_state *s = st;
    ta_moments_init(&s->m, (size_t)p[0], false, mem);
    s->ddof = p[1] == 1 ? 1 : 0;
}

static void pair_init(void *st, const double *p, void *mem)
{
    moments_state *s = st;
    ta_moments_init(&s->m, (size_t)p[0], true, mem);
    s->ddof = 0; /* cancels in both ratios */
}

/* --- standard deviation and z-score ---------------------------------------------------- */

static bool stdev_update(void *st, const double *in, double *out)
{
    moments_state *s = st;
    if (!ta_moments_push(&s->m, in[0], 0.0))
        return false;
    out[0] = sqrt(ta_moments_var_x(&s->m, s->ddof));
    return true;
}

/* (x - mean) / sd over the window ending with x; 0 when the window is flat. */
static bool zscore_update(void *st, const double *in, double *out)
{
    moments_state *s = st;
    if (!ta_moments_push(&s->m, in[0], 0.0))
        return false;
    double sd = sqrt(ta_moments_var_x(&s->m, s->ddof));
    double mean = ta_moments_mean_x(&s->m);
    out[0] = sd > 0 ? (in[0] - mean) / sd : 0.0;
    out[1] = mean;
    out[2] = sd;
    return true;
}

const ta_def ta_def_stdev = {.kind = "stdev",
                             .params = {PERIOD("n", 20), SAMPLE_OPTION},
                             .inputs = {"x"},
                             .outputs = {"value"},
                             .state_size = sizeof(moments_state),
                             .window_bytes = single_bytes,
                             .check = sample_check,
                             .init = single_init,
                             .update = stdev_update};

const ta_def ta_def_zscore = {.kind = "zscore",
                              .params = {PERIOD("n", 20), SAMPLE_OPTION},
                              .inputs = {"x"},
                              .outputs = {"value", "mean", "stdev"},
                              .state_size = sizeof(moments_state),
                              .window_bytes = single_bytes,
                              .check = sample_check,
                              .init = single_init,
                              .update = zscore_update};

/* --- correlation and beta -------------------------------------------------------------- */

/* Pearson's correlation of x and y: cov(x, y) / (sd x sd y); 0 when either is flat. */
static bool correlation_update(void *st, const double *in, double *out)
{
    moments_state *s = st;
    if (!ta_moments_push(&s->m, in[0], in[1]))
        return false;
    double vx = ta_moments_var_x(&s->m, 0), vy = ta_moments_var_y(&s->m, 0);
    double r = vx > 0 && vy > 0 ? ta_moments_cov(&s->m, 0) / sqrt(vx * vy) : 0.0;
    out[0] = r > 1 ? 1 : r < -1 ? -1 : r;
    return true;
}

/* beta of the asset (x) on the benchmark (y): cov(x, y) / var(y); 0 for a flat
 * benchmark. */
static bool beta_update(void *st, const double *in, double *out)
{
    moments_state *s = st;
    if (!ta_moments_push(&s->m, in[0], in[1]))
        return false;
    double vy = ta_moments_var_y(&s->m, 0);
    out[0] = vy > 0 ? ta_moments_cov(&s->m, 0) / vy : 0.0;
    return true;
}

const ta_def ta_def_correlation = {.kind = "correlation",
                                   .params = {PERIOD("n", 20)},
                                   .inputs = {"x", "y"},
                                   .outputs = {"value"},
                                   .state_size = sizeof(moments_state),
                                   .window_bytes = pair_bytes,
                                   .init = pair_init,
                                   .update = correlation_update};

const ta_def ta_def_beta = {.kind = "beta",
                            .params = {PERIOD("n", 20)},
                            .inputs = {"asset", "benchmark"},
                            .outputs = {"value"},
                            .state_size = sizeof(moments_state),
                            .window_bytes = pair_bytes,
                            .init = pair_init,
                            .update = beta_update};
