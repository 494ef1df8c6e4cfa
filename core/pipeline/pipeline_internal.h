/* Internal to core/pipeline: the pipeline struct shared by its files:
 *   pipeline.c        opening, the bar path, finishing
 *   entry.c           the execute phase of an execution
 *   lifecycle.c       trade creation, status changes, completion, sweeping
 *   position_hooks.c  fills, order updates, monitor checks and exits reporting back
 *   resume.c          restart */
#ifndef APEX_PIPELINE_INTERNAL_H
#define APEX_PIPELINE_INTERNAL_H

#include "broker/registry.h"
#include "exec/exec.h"
#include "exits/executor.h"
#include "exits/inputs.h"
#include "net/ratelimit.h"
#include "market/csv_feed.h"
#include "market/news.h"
#include "monitor/monitor.h"
#include <sys/queue.h>

#include "pipeline/pipeline.h"
#include "risk/circuit.h"
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
    risk_circuit circuit;    /* trading state: the daily-loss breaker and the day roll */
    bool write_failed;       /* a durable write failed: no new entries (see pipeline_durable) */
    char write_error[512];   /* the first such failure, for the report */
    apex_error werr;         /* the last store write's error: its message travels with it */
    apex_time best_other_at; /* rebalance: the best free opportunity, cached per bar */
    money_t best_other;
    bool has_best_other;
    exit_rule_scratch rule;
    sym_state *syms;
    int nsyms;
    trade *trades;          /* live executions */
    int finished_trades;    /* finished but not yet freed */
    apex_time resume_after; /* cursor at start: bars <= this are warm-up */
    bool resume_pending;    /* loaded executions wait for the first bar after the cursor */
    LIST_HEAD(, entry_step) entry_steps;   /* entry chains waiting for a broker reply */
    LIST_HEAD(, resume_wait) resume_waits; /* restarts waiting for exit cancels */
    int resuming;                          /* resumed executions not yet monitored */
    int resume_total, resume_cancelled;    /* for the restart report */
    apex_time last_ts;
    int ts_since_cursor;
    bool bias_has_on_bar;
    money_t mark, peak_mark; /* realized + unrealized since start, for drawdown */
    pipeline_summary sum;
};

/* lifecycle.c: a trade's birth, status changes and death. */
trade *pipeline_trade_new(pipeline *p, int symbol_id);
/* The one way a status changes: the store row, the audit event and (for skipped,
 * failed and completed) the terminal line are written together, from one reason. A
 * final status unwatches the trade and releases its symbol. */
void pipeline_set_status(pipeline *p, trade *t, exec_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The broker shows the position closed: completes the execution with its reason. */
void pipeline_complete(pipeline *p, trade *t);
/* Frees finished trades that nothing holds any more. */
void pipeline_sweep(pipeline *p);
/* A script failed outside any execution (on_bar): one failed execution per distinct
 * error, so it is visible without flooding the store. */
void pipeline_record_script_error(pipeline *p, int symbol_id, const char *stage, const char *err);
/* Executions holding (or about to hold) a position. */
int pipeline_open_positions(const pipeline *p);
/* A durable write failed (rc != 0): new entries halt for this pipeline, exits keep
 * working, the failure is reported loudly and the run ends non-zero. The message is
 * p->werr's, which the failing write filled in (pass &p->werr to the store call). Returns
 * rc. */
int pipeline_durable(pipeline *p, int rc, const char *what);
/* Same, with the message of another failed write. */
int pipeline_durable_msg(pipeline *p, int rc, const char *what, const char *msg);

/* entry.c: the execute phase, signal -> bias -> strategy -> risk -> trade manager. */
void pipeline_on_signal(pipeline *p, int symbol_id, const script_signal *sig, const bar *b);
/* Shutdown, after the broker is freed (its queued replies are dropped): frees the entry
 * chains still waiting and gives their holds back. */
void pipeline_entry_free_all(pipeline *p);

/* position_hooks.c: how exec, the monitor and the exit executor report back. */
exec_hooks pipeline_exec_hooks(pipeline *p);
monitor_hooks pipeline_monitor_hooks(pipeline *p);
exit_hooks pipeline_exit_hooks(pipeline *p);
/* Checks today's loss against the daily limit (risk/circuit.h); trips the breaker. */
void pipeline_check_circuit(pipeline *p);

/* resume.c: restart. _load rebuilds the executions left active in the store (at open);
 * _start reconciles their orders with the broker and resumes monitoring, on the first bar
 * after the restart cursor (warm-up bars never reach them). */
void pipeline_resume_load(pipeline *p);
void pipeline_resume_start(pipeline *p);
/* Shutdown, after the broker is freed: frees restarts still waiting for cancels. */
void pipeline_resume_free_all(pipeline *p);

#endif
