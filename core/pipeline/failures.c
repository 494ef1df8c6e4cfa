/* failures: how a pipeline's script failures reach the store and the log.
 *
 * Every failing script call of the pipeline comes through pipeline_failure_admit, which
 * asks the failure limiter (script/failures.h: the policy and its numbers) whether to
 * record it one by one or to count it for a summary. Recorded: a failed execution (the
 * bias and strategy stages) or an event (instruction rules) and a log line, as before.
 * Counted: nothing, until the limiter hands back a summary, written here as one
 * `script_errors` event and one log line. Either way the per-stage totals go to the store's
 * script_failures table, so `apex-host status` shows every failure, recorded or not. */
#include <stdio.h>
#include <string.h>

#include "pipeline/pipeline_internal.h"
#include "util/log.h"

/* Adds what the stage failed since the last save to its script_failures row. */
static void save_counts(pipeline *p, script_stage stage)
{
    const script_failure_stage *st = &p->failures.stages[stage];
    uint64_t failures = st->total - p->failures_saved[stage].total;
    uint64_t recorded = st->recorded - p->failures_saved[stage].recorded;
    if (!failures && !recorded)
        return;
    store_script_failure row = {.failures = (int64_t)failures,
                                .recorded = (int64_t)recorded,
                                .first_at = st->first_at,
                                .last_at = st->last_at};
    snprintf(row.pipeline, sizeof row.pipeline, "%s", p->cfg.name);
    snprintf(row.stage, sizeof row.stage, "%s", script_stage_name(stage));
    snprintf(row.last_error, sizeof row.last_error, "%s", st->last_error);
    if (store_script_failures_add(p->hs->db, &row, NULL) == 0) {
        p->failures_saved[stage].total = st->total;
        p->failures_saved[stage].recorded = st->recorded;
    }
}

/* "minute", "7 minutes": how long a summary's period lasted, rounded up. */
static const char *period_text(apex_time from, apex_time to, char *buf, size_t len)
{
    long minutes = (long)((to - from + APEX_MINUTE - 1) / APEX_MINUTE);
    if (minutes <= 1)
        snprintf(buf, len, "minute");
    else
        snprintf(buf, len, "%ld minutes", minutes);
    return buf;
}

static void on_summary(void *ud, const script_failure_summary *sum)
{
    pipeline *p = ud;
    const script_failure_stage *st = sum->stats;
    char period[32], from[32], text[900];
    log_format_time(sum->from, from, sizeof from);
    snprintf(text, sizeof text,
             "%s failed %llu more time%s in the %s from %s, counted but not recorded one by one "
             "(%llu failures in all, %llu recorded); last error: %s",
             script_stage_name(sum->stage), (unsigned long long)sum->count,
             sum->count == 1 ? "" : "s", period_text(sum->from, sum->to, period, sizeof period),
             from, (unsigned long long)st->total, (unsigned long long)st->recorded, st->last_error);
    log_error("%s: %s", p->cfg.name, text);
    pipeline_notify_text(p, NOTIFY_ERROR, NULL, text);
    store_event(p->hs->db, clock_now(p->hs->clock), p->cfg.name, 0, "script_errors", NULL, "%s",
                text);
    save_counts(p, sum->stage);
}

void pipeline_failures_init(pipeline *p)
{
    script_failures_init(&p->failures, on_summary, p);
}

void pipeline_failures_tick(pipeline *p, apex_time now)
{
    script_failures_tick(&p->failures, now);
}

void pipeline_failures_flush(pipeline *p)
{
    script_failures_flush(&p->failures, clock_now(p->hs->clock));
    for (int s = 0; s < SCRIPT_STAGE_COUNT; s++)
        save_counts(p, (script_stage)s);
}

bool pipeline_failure_admit(pipeline *p, int symbol_id, script_stage stage, int rc,
                            const char *reason)
{
    sym_state *s = symbol_id >= 0 && symbol_id < p->syms.count ? &p->syms.items[symbol_id] : NULL;
    bool repeat = s && strncmp(s->last_error, reason, sizeof s->last_error - 1) == 0;
    /* APEX_ESTATE: the module's on_start failed for the symbol, which was recorded then;
     * the module has not run since, so nothing failed again. */
    if (rc == APEX_ESTATE && repeat)
        return false;
    /* The summaries name the stage already: keep the error without "<stage> stage: ". */
    const char *error = reason;
    size_t n = strlen(script_stage_name(stage));
    if (strncmp(error, script_stage_name(stage), n) == 0 && strncmp(error + n, " stage: ", 8) == 0)
        error += n + 8;
    if (!script_failures_note(&p->failures, stage, clock_now(p->hs->clock), error, repeat))
        return false;
    if (s)
        snprintf(s->last_error, sizeof s->last_error, "%s", reason);
    save_counts(p, stage);
    return true;
}

void pipeline_record_script_error(pipeline *p, int symbol_id, script_stage stage, int rc,
                                  const char *err)
{
    char reason[sizeof((store_execution *)0)->reason];
    snprintf(reason, sizeof reason, "%s stage: %s", script_stage_name(stage), err);
    if (!pipeline_failure_admit(p, symbol_id, stage, rc, reason))
        return;
    log_error("%s %s: %s stage failed: %s", p->cfg.name, symtab_name(p->hs->symbols, symbol_id),
              script_stage_name(stage), err);
    trade *t = pipeline_trade_new(p, symbol_id);
    if (!t)
        return;
    pipeline_set_status(p, t, EXEC_RUNNING, NULL);
    pipeline_set_status(p, t, EXEC_FAILED, "%s", reason);
}

void pipeline_script_error(void *ud, const trade *t, script_stage stage, const char *err)
{
    pipeline *p = ud;
    if (!pipeline_failure_admit(p, -1, stage, 0, err))
        return;
    if (stage == SCRIPT_STAGE_RULES)
        store_event(p->hs->db, clock_now(p->hs->clock), p->cfg.name, t ? t->row.id : 0,
                    "rule_error", NULL, "%s", err);
    log_warn("%s %s: %s failed: %s", p->cfg.name, t ? t->row.symbol : "-",
             stage == SCRIPT_STAGE_RULES ? "instruction rule" : script_stage_name(stage), err);
}
