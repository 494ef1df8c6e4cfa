/* evaluator internals shared by evaluator.c (the checks) and evaluator_reason.c (the
 * message for the winner). Not part of the public contract. */
#ifndef APEX_EXITS_EVALUATOR_INTERNAL_H
#define APEX_EXITS_EVALUATOR_INTERNAL_H

#include <stddef.h>

#include "exits/evaluator.h"

/* Writes the winner's reason ("stop_loss: price 97.50 <= stop 97.60") into buf. Called only
 * when something fired, so the hot path never formats. stage is the partial stage index
 * (with EXIT_PARTIAL_EXIT_TARGET), qty the quantity the decision closes. */
void exits_format_reason(const exits_config *cfg, const exit_input *in, exit_condition c, int stage,
                         money_t qty, char *buf, size_t buflen);

#endif
