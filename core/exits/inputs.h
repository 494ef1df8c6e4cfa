/* inputs: everything the exit evaluator looks at, gathered for one position.
 *
 * The evaluator (evaluator.h) is pure; this is where its input is assembled from the
 * trade, the quote, the pipeline's state and the strategy's own estimates: edge(),
 * opportunity() (only when the pipeline is full, so rebalancing can matter) and the
 * emergency instruction rules. A new exit condition changes exits/ and config only:
 * the evaluator, this file, and the settings it reads. */
#ifndef APEX_EXITS_INPUTS_H
#define APEX_EXITS_INPUTS_H

#include <stdbool.h>

#include "config/config.h"
#include "exec/trade.h"
#include "exits/evaluator.h"
#include "script/failures.h"
#include "script/script.h"
#include "store/store.h"

/* What the pipeline lends for one evaluation; all borrowed. */
typedef struct {
    const pipeline_config *cfg;
    script_host *scripts;
    /* A strategy callback or an instruction rule failed (stage: SCRIPT_STAGE_EDGE for edge()
     * and opportunity(), SCRIPT_STAGE_RULES for the rules): the pipeline records or counts
     * it (script/failures.h), so a rule failing at every check cannot flood the store. */
    void (*script_error)(void *ud, const trade *t, script_stage stage, const char *err);
    bool strategy_has_edge, strategy_has_opportunity;
    bool circuit_tripped;    /* the daily-loss breaker: close every position */
    const char *circuit_why; /* another breaker closes them (the drawdown breaker): why, for the
                                exit's reason; NULL = the daily-loss breaker */
    /* The bars are shorter than the session-close window (pipeline session.c): only then
     * does time_based_urgent apply. */
    bool session_timed;
    /* The next session close the pipeline knows (the venue's calendar in `run`); 0 = from
     * exits.session_close. */
    apex_time session_close;
    int open_positions; /* of this pipeline, to know whether it is full */
    /* The best opportunity score among traded symbols without a position; false when
     * there is none. Asked only when the pipeline is full. */
    bool (*best_other)(void *ud, money_t *best);
    void *ud;
} exit_context;

/* Storage for an instruction rule's reason, which in->rule_reason points into; it must
 * outlive the evaluation. */
typedef struct {
    script_rule_hit hit;
    char reason[400];
} exit_rule_scratch;

/* Fills in for t at quote q and time now. Strategy callbacks that fail are reported
 * through ctx->script_error and treated as absent (an edge() error does not close a
 * position). */
void exits_build_input(const exit_context *ctx, const trade *t, const broker_quote *q,
                       apex_time now, exit_input *in, exit_rule_scratch *scratch);

/* The next session close (or settlement) at or after now, from exits.session_close. */
apex_time exits_next_session_close(const exits_config *cfg, apex_time now);

/* What a script sees of t's position (on_bar, edge, on_fill, on_exit, rules). */
void exits_position_view(const trade *t, script_position *out);

#endif
