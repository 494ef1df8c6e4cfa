/* coordinator: ranks the entry signals of one bar time before any of them trades.
 *
 * Signals that arrive on the same bar timestamp, from one pipeline or from several run
 * by one host (and so on one broker account when they share it), are held until every
 * bar of that time has been processed. Then they are scored and handed to the execute
 * phase best first, so the risk stage and the broker see them in that order and the best
 * opportunity takes the last free slot.
 *
 * The score: the strategy's score(ctx, signal) when it defines one and returns a
 * number; otherwise confidence x reward / risk, where reward = |take_profit - entry| and
 * risk = |entry - stop_loss| (the pipeline's default stop and target when the signal
 * gives none; a market entry is the bar's close). Ties keep the order the signals
 * arrived in: pipelines in the order the host was given them, then the order of their
 * bars in the data. A score() that raises fails that signal only (a failed execution with
 * the script's file:line); the others are ranked without it.
 *
 * Each execution records its rank in a `coordinator` event; a signal ranked below
 * another that the risk stage then skips names the first-ranked signal and both scores
 * in its reason. docs/approval.md has the details. */
#ifndef APEX_PIPELINE_COORDINATOR_H
#define APEX_PIPELINE_COORDINATOR_H

#include "clock/clock.h"

typedef struct coordinator coordinator;

/* NULL when out of memory. */
coordinator *coordinator_new(void);
/* Drops signals still held (a run that stops mid-bar sends none of them). NULL allowed. */
void coordinator_free(coordinator *c);
/* Ranks and dispatches the signals held, if any. Called by the host when every bar of
 * their time has been processed: before the clock moves on, and at the end of each pass
 * over the bars available. Costs a compare when nothing is held. */
void coordinator_flush(coordinator *c);
/* coordinator_flush when the signals held are of a time other than ts (the next bar's). */
void coordinator_flush_before(coordinator *c, apex_time ts);

#endif
