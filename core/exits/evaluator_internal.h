/* evaluator internals shared by evaluator.c (the checks) and evaluator_reason.c (the
 * message for the winner). Not part of the public contract. */
#ifndef APEX_EXITS_EVALUATOR_INTERNAL_H
#define APEX_EXITS_EVALUATOR_INTERNAL_H

#include <stddef.h>

#include "exits/evaluator.h"

/* Writes the winner's reason ("stop_loss: price 97.50 <= stop 97.60") into buf. Called only
 * when something fired, so the hot path never formats. stage is the partial stage index
 * (with EXIT_PARTIAL_EXIT_TARGET), qty the quantity the decision closes. */
/* The widest spread liquidity_dried_up accepts at in's quote: the tighter of
 * liquidity.max_spread (absolute) and liquidity.max_spread_pct of the mid price, each when
 * set; MONEY_MAX when neither is, or when the quote has no bid and ask. */
money_t exits_spread_limit(const exits_config *cfg, const exit_input *in);

void exits_format_reason(const exits_config *cfg, const exit_input *in, exit_condition c, int stage,
                         money_t qty, char *buf, size_t buflen);

#endif
