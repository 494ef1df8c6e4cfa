/* failures: how many of a pipeline's script failures are recorded one by one.
 *
 * A failing script call is normally recorded in full: a failed execution (or an event)
 * with the error, and a log line. A strategy whose error text changes on every bar (it
 * includes the bar's time) made that one failed execution per bar: 200,000 rows, a 278 MB
 * store and 200,000 log lines. This is the policy that bounds it, per pipeline and stage,
 * in host-clock time (data time in a backtest, so a backtest records the same rows on
 * every run). The numbers live here and nowhere else:
 *
 *  - a failure is recorded one by one unless SCRIPT_FAILURES_BURST of the stage's
 *    failures were already recorded in the last SCRIPT_FAILURES_WINDOW, or it repeats the
 *    error last recorded for its symbol (the caller says so);
 *  - the first failure refused by the burst starts a flood: from then on every failure of
 *    the stage is counted, not recorded, until the stage has been quiet (no failure at
 *    all) for SCRIPT_FAILURES_QUIET;
 *  - counted failures are summarised (the caller writes one event and one log line: "strategy
 *    failed 12345 more times in the 32 minutes from ...; last error: ...") at the end of a
 *    summary period, which opens with the first counted failure and lasts
 *    SCRIPT_FAILURES_FIRST_SUMMARY, twice that for the next one, and so on up to
 *    SCRIPT_FAILURES_WINDOW while failures keep coming; and at the end of the run.
 *
 * So a stage records at most SCRIPT_FAILURES_BURST failures and about seven summaries in
 * any hour, and a flood that lasts a whole backtest costs one summary per hour of data.
 * The counts stay exact: total and recorded per stage, for `status` and the summary.
 *
 * Pure bookkeeping: no store, no log, no Lua. The caller records and writes. */
#ifndef APEX_SCRIPT_FAILURES_H
#define APEX_SCRIPT_FAILURES_H

#include <stdbool.h>
#include <stdint.h>

#include "clock/clock.h"

#define SCRIPT_FAILURES_BURST         5                  /* recorded one by one ... */
#define SCRIPT_FAILURES_WINDOW        (60 * APEX_MINUTE) /* ... in any such span */
#define SCRIPT_FAILURES_QUIET         (60 * APEX_MINUTE) /* ends a flood */
#define SCRIPT_FAILURES_FIRST_SUMMARY APEX_MINUTE        /* doubling up to the window */
#define SCRIPT_FAILURES_ERROR_MAX     512                /* bytes of error text kept */

/* Where a script failed. Each stage has its own budget. */
typedef enum {
    SCRIPT_STAGE_BIAS = 0, /* the bias module: on_start, on_bar, bias() */
    SCRIPT_STAGE_STRATEGY, /* the strategy: on_start, on_bar and the signals it returns */
    SCRIPT_STAGE_RULES,    /* instruction rules, at monitoring checks */
    SCRIPT_STAGE_EDGE,     /* edge() and opportunity(), at monitoring checks */
    SCRIPT_STAGE_NOTIFY,   /* on_fill and on_exit */
    SCRIPT_STAGE_COUNT
} script_stage;

/* "bias", "strategy", "rules", "edge", "on_fill/on_exit". */
const char *script_stage_name(script_stage s);

typedef struct {
    uint64_t total;    /* failures since the start */
    uint64_t recorded; /* of which recorded one by one */
    apex_time first_at, last_at;
    char last_error[SCRIPT_FAILURES_ERROR_MAX];
    /* the policy's state */
    apex_time recorded_at[SCRIPT_FAILURES_BURST]; /* ring: when the latest were recorded */
    int ring_next;
    bool flooding;
    apex_time period_start, period_len; /* period_len 0 = no summary period open */
    apex_time next_len;
    uint64_t counted; /* counted, not recorded, in the open period */
} script_failure_stage;

/* A summary of the failures counted in one period, handed to the caller to write. */
typedef struct {
    script_stage stage;
    uint64_t count;     /* failures counted in the period */
    apex_time from, to; /* the period: from its first counted failure to its end (or now) */
    const script_failure_stage *stats; /* totals and the last error */
} script_failure_summary;

typedef struct {
    script_failure_stage stages[SCRIPT_STAGE_COUNT];
    void (*on_summary)(void *ud, const script_failure_summary *s);
    void *ud;
} script_failures;

/* Starts with no failures; on_summary receives every summary (it may be NULL). */
void script_failures_init(script_failures *f,
                          void (*on_summary)(void *ud, const script_failure_summary *s), void *ud);

/* One failure of stage at now with its error text. repeat: it is the error already
 * recorded for its symbol. Delivers a summary that fell due first. Returns true when the
 * caller should record it one by one, false when it was counted for a summary. */
bool script_failures_note(script_failures *f, script_stage stage, apex_time now, const char *error,
                          bool repeat);

/* Delivers the summaries whose period is over by now. Call it regularly (each new bar
 * time), so a flood that stops is still summarised. */
void script_failures_tick(script_failures *f, apex_time now);

/* Delivers every summary still open, as of now (the end of a run). */
void script_failures_flush(script_failures *f, apex_time now);

#endif
