/* failures: the per-stage budget of recorded script failures (see failures.h). */
#include "script/failures.h"

#include <stdio.h>
#include <string.h>

static const char *const stage_names[SCRIPT_STAGE_COUNT] = {"bias", "strategy", "rules", "edge",
                                                            "on_fill/on_exit"};

const char *script_stage_name(script_stage s)
{
    return s >= 0 && s < SCRIPT_STAGE_COUNT ? stage_names[s] : "script";
}

void script_failures_init(script_failures *f,
                          void (*on_summary)(void *ud, const script_failure_summary *s), void *ud)
{
    memset(f, 0, sizeof *f);
    f->on_summary = on_summary;
    f->ud = ud;
    for (int s = 0; s < SCRIPT_STAGE_COUNT; s++)
        f->stages[s].next_len = SCRIPT_FAILURES_FIRST_SUMMARY;
}

/* Closes the stage's summary period as of `to`, handing its count to the caller. The next
 * period of the same flood is twice as long (up to the window), so a flood that never
 * stops costs one summary per window. */
static void close_period(script_failures *f, script_stage stage, apex_time to)
{
    script_failure_stage *st = &f->stages[stage];
    if (!st->period_len)
        return;
    script_failure_summary sum = {stage, st->counted, st->period_start, to, st};
    st->next_len =
        st->period_len * 2 < SCRIPT_FAILURES_WINDOW ? st->period_len * 2 : SCRIPT_FAILURES_WINDOW;
    st->period_len = 0;
    st->counted = 0;
    if (sum.count && f->on_summary)
        f->on_summary(f->ud, &sum);
}

/* A period that is over, and a flood that has gone quiet, end by the clock alone. */
static void tick_stage(script_failures *f, script_stage stage, apex_time now)
{
    script_failure_stage *st = &f->stages[stage];
    if (st->period_len && now >= st->period_start + st->period_len)
        close_period(f, stage, st->period_start + st->period_len);
    if (st->last_at && now - st->last_at >= SCRIPT_FAILURES_QUIET) {
        st->flooding = false;
        st->next_len = SCRIPT_FAILURES_FIRST_SUMMARY;
    }
}

void script_failures_tick(script_failures *f, apex_time now)
{
    for (int s = 0; s < SCRIPT_STAGE_COUNT; s++)
        tick_stage(f, (script_stage)s, now);
}

void script_failures_flush(script_failures *f, apex_time now)
{
    for (int s = 0; s < SCRIPT_STAGE_COUNT; s++) {
        script_failure_stage *st = &f->stages[s];
        tick_stage(f, (script_stage)s, now);
        if (st->period_len)
            close_period(f, (script_stage)s, now > st->period_start ? now : st->period_start);
    }
}

bool script_failures_note(script_failures *f, script_stage stage, apex_time now, const char *error,
                          bool repeat)
{
    if (stage < 0 || stage >= SCRIPT_STAGE_COUNT)
        stage = SCRIPT_STAGE_STRATEGY;
    script_failure_stage *st = &f->stages[stage];
    tick_stage(f, stage, now);
    st->total++;
    if (!st->first_at)
        st->first_at = now;
    st->last_at = now;
    snprintf(st->last_error, sizeof st->last_error, "%s", error ? error : "");
    if (!repeat && !st->flooding) {
        /* The ring holds the latest BURST recording times: the oldest one says whether
         * BURST were recorded within the window. */
        apex_time oldest = st->recorded_at[st->ring_next];
        if (!oldest || now - oldest >= SCRIPT_FAILURES_WINDOW) {
            st->recorded_at[st->ring_next] = now ? now : 1;
            st->ring_next = (st->ring_next + 1) % SCRIPT_FAILURES_BURST;
            st->recorded++;
            return true;
        }
        st->flooding = true;
    }
    st->counted++;
    if (!st->period_len) {
        st->period_start = now;
        st->period_len = st->next_len;
    }
    return false;
}
