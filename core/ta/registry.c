/* registry: the list of core/ta's indicators, and the counts the binding needs. */
#include <math.h>
#include <string.h>

#include "ta/indicator.h"

const ta_def *const ta_defs[] = {
    /* averages */
    &ta_def_wma, &ta_def_dema, &ta_def_tema, &ta_def_kama, &ta_def_hma,
    /* oscillators */
    &ta_def_stoch, &ta_def_stochrsi, &ta_def_willr, &ta_def_cci, &ta_def_roc, &ta_def_momentum,
    &ta_def_mfi,
    /* volatility and channels */
    &ta_def_stdev, &ta_def_keltner, &ta_def_donchian,
    /* trend */
    &ta_def_adx, &ta_def_aroon, &ta_def_supertrend, &ta_def_psar, &ta_def_ichimoku, &ta_def_pivots,
    /* volume */
    &ta_def_vwap, &ta_def_obv,
    /* statistics */
    &ta_def_zscore, &ta_def_correlation, &ta_def_beta, NULL};

int ta_def_nparams(const ta_def *d)
{
    int n = 0;
    while (n < TA_MAX_PARAMS && d->params[n].name != NULL)
        n++;
    return n;
}

int ta_def_ninputs(const ta_def *d)
{
    int n = 0;
    while (n < TA_MAX_INPUTS && d->inputs[n] != NULL)
        n++;
    return n;
}

int ta_def_noutputs(const ta_def *d)
{
    int n = 0;
    while (n < TA_MAX_OUTPUTS && d->outputs[n] != NULL)
        n++;
    return n;
}

const ta_def *ta_find(const char *kind)
{
    for (size_t i = 0; ta_defs[i] != NULL; i++)
        if (strcmp(ta_defs[i]->kind, kind) == 0)
            return ta_defs[i];
    return NULL;
}

void ta_default_params(const ta_def *d, double *params)
{
    int n = ta_def_nparams(d);
    for (int i = 0; i < n; i++)
        params[i] = d->params[i].dflt;
}
