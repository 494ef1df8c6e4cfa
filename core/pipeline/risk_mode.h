/* risk_mode: the trader's switches that reach a running host through the store's meta
 * table, set from whichever front end the trader uses (`apex-host reduce-only`, the HTTP
 * API's pause and resume). One writer of the keys, so every front end means the same.
 *
 * The running host reads them on each entry (portfolio.c): reduce-only skips new entries
 * and lets exits go on. */
#ifndef APEX_PIPELINE_RISK_MODE_H
#define APEX_PIPELINE_RISK_MODE_H

#include <stdbool.h>

#include "store/store.h"
#include "util/err.h"

/* Turns reduce-only on or off for one pipeline (NULL: the switch every pipeline reads) and
 * records a `risk_mode` event saying so; via names the front end for the event ("" or
 * NULL: the CLI's words). Returns 0 or the store's error in err. */
int risk_mode_set_reduce_only(store *s, const char *pipeline, bool on, const char *via,
                              apex_error *err);

/* Whether the pipeline is in reduce-only mode, by its own switch or the one for all. */
bool risk_mode_reduce_only(store *s, const char *pipeline);

#endif
