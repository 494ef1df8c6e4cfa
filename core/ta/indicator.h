/* indicator: the description every indicator of core/ta gives of itself, so one binding
 * (core/script/ta.c) can serve them all from a table, and tests can drive them without Lua.
 *
 * An indicator is a state struct followed by its windows, in one block the caller
 * allocates once: def->state_size + def->window_bytes(params) bytes, aligned for a
 * double. def->init sets it up; def->update feeds one bar and writes the outputs. Nothing
 * is allocated after that, and every update is O(1) (amortised for the deques) except
 * where the indicator's documentation says otherwise (CCI's mean deviation is O(log n),
 * ta/ostree.h, from 384 values; below that its O(n) sum is faster).
 *
 * Parameters are numbers, in the order of def->params: the positional ones first, then
 * the options (a table of named values in Lua). A period is a whole number >= 1; a
 * choice is the index of one of its words; a flag is 0 or 1. An output that is not
 * defined yet on a bar the indicator answers (the Ichimoku cloud before it has been
 * displaced) is NaN. */
#ifndef APEX_TA_INDICATOR_H
#define APEX_TA_INDICATOR_H

#include <stdbool.h>
#include <stddef.h>

#define TA_MAX_PARAMS  6
#define TA_MAX_INPUTS  5
#define TA_MAX_OUTPUTS 8

typedef enum {
    TA_PARAM_PERIOD, /* a whole number of bars >= min (min >= 1) */
    TA_PARAM_NUMBER, /* a finite number >= min */
    TA_PARAM_FLAG,   /* true or false */
    TA_PARAM_CHOICE, /* one of the words in `choices`, "a|b|c" */
} ta_param_kind;

typedef struct {
    const char *name;
    ta_param_kind kind;
    bool option; /* read from the options table, not a positional argument */
    double dflt; /* when absent; NaN: "derived" (the indicator's init decides) */
    double min;  /* periods and numbers */
    double max;  /* periods and numbers; 0: none */
    const char *choices;
    const char *hint; /* how to fix a bad value, e.g. "e.g. 14" */
} ta_param;

typedef struct ta_def {
    const char *kind; /* the Lua constructor's name: "wma" */
    ta_param params[TA_MAX_PARAMS];
    /* update's arguments, in order; the last `optional_inputs` may be nil (NaN) */
    const char *inputs[TA_MAX_INPUTS];
    int optional_inputs;
    /* update's returns, in order; the first is the indicator's value */
    const char *outputs[TA_MAX_OUTPUTS];
    size_t state_size;
    size_t (*window_bytes)(const double *params);
    /* A message naming what is wrong with a combination of valid parameters, or NULL. */
    const char *(*check)(const double *params);
    void (*init)(void *state, const double *params, void *windows);
    /* Feeds one bar; true when out[] holds this bar's outputs. */
    bool (*update)(void *state, const double *in, double *out);
} ta_def;

/* Counts of a definition's parameters, inputs and outputs. */
int ta_def_nparams(const ta_def *d);
int ta_def_ninputs(const ta_def *d);
int ta_def_noutputs(const ta_def *d);

/* All indicators of core/ta, in the order docs/lua-api.md lists them, NULL-terminated. */
extern const ta_def *const ta_defs[];

/* The definition named kind, or NULL. */
const ta_def *ta_find(const char *kind);

/* The parameters' defaults (NaN for the derived ones), for tests and the C callers. */
void ta_default_params(const ta_def *d, double *params);

/* The families (averages.c, oscillators.c, channels.c, trend.c, volume.c, statistics.c). */
extern const ta_def ta_def_wma, ta_def_dema, ta_def_tema, ta_def_kama, ta_def_hma;
extern const ta_def ta_def_stoch, ta_def_stochrsi, ta_def_willr, ta_def_cci, ta_def_roc,
    ta_def_momentum, ta_def_mfi;
extern const ta_def ta_def_stdev, ta_def_keltner, ta_def_donchian;
extern const ta_def ta_def_adx, ta_def_aroon, ta_def_supertrend, ta_def_psar, ta_def_ichimoku,
    ta_def_pivots;
extern const ta_def ta_def_vwap, ta_def_obv;
extern const ta_def ta_def_zscore, ta_def_correlation, ta_def_beta;

#endif
