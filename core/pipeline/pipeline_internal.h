/* Internal to core/pipeline: the pipeline struct shared by pipeline.c (loading,
 * the bar path, restart) and stages.c (the execute phase and completion). */
#ifndef APEX_PIPELINE_INTERNAL_H
#define APEX_PIPELINE_INTERNAL_H

#include "broker/registry.h"
#include "exec/exec.h"
#include "exits/executor.h"
#include "net/ratelimit.h"
#include "market/csv_feed.h"
#include "market/news.h"
#include "monitor/monitor.h"
#include "pipeline/pipeline.h"
#include "script/script.h"

typedef struct {
    bool traded;          /* listed in the pipeline's symbols */
    trade *active;        /* the execution trading this symbol, if any */
    money_t unrealized;   /* last marked unrealized P&L of the active position */
    char last_error[256]; /* the last script error recorded as a failed execution */
} sym_state;

struct pipeline {
    pipeline_config cfg;
    const host_services *hs;
    script_host *scripts;
    broker *brk;
    broker_sim_feed sim_feed; /* NULL unless the broker simulates fills from our bars */
    feed_merge *feed;
    bar next;             /* the bar read ahead from the feed */
    char feed_error[512]; /* a data error met while reading ahead, reported by step */
    bool has_next;
    news_list news;
    exec_env *exec;
    monitor *mon;
    ratelimit *limiter; /* every broker call of this pipeline goes through it */
    exit_executor *exits;
    bool strategy_has_edge, strategy_has_opportunity;
    bool circuit_tripped;    /* the daily loss limit was hit today: exits, no entries */
    money_t day_start_mark;  /* mark at the start of the trading day */
    apex_time best_other_at; /* rebalance: the best free opportunity, cached per bar */
    money_t best_other;
    bool has_best_other;
    script_rule_hit rule_hit;
    char rule_reason[400];
    sym_state *syms;
    int nsyms;
    trade *trades;          /* live executions */
    int finished_trades;    /* finished but not yet freed */
    apex_time resume_after; /* cursor at start: bars <= this are warm-up */
    apex_time last_ts;
    int ts_since_cursor;
    int64_t last_day;
    bool bias_has_on_bar;
    money_t mark, peak_mark; /* realized + unrealized since start, for drawdown */
    pipeline_summary sum;
};

/* stages.c */
void stages_on_signal(pipeline *p, int symbol_id, const script_signal *sig, const bar *b);
void stages_record_script_error(pipeline *p, int symbol_id, const char *stage, const char *err);
void stages_set_status(pipeline *p, trade *t, exec_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
trade *stages_trade_new(pipeline *p, int symbol_id);
void stages_sweep(pipeline *p);
void stages_position_view(const trade *t, script_position *out);
exec_hooks stages_exec_hooks(pipeline *p);
monitor_hooks stages_monitor_hooks(pipeline *p);
void stages_resume(pipeline *p);
exit_hooks stages_exit_hooks(pipeline *p);
/* Trips the circuit breaker when today's loss reaches risk.daily_loss_limit_pct. */
void stages_check_circuit(pipeline *p);

#endif
