/* Internal to core/pipeline: the pipeline struct shared by its files:
 *   pipeline.c        opening, the bar path, finishing
 *   entry.c           the execute phase of an execution
 *   lifecycle.c       trade creation, status changes, completion, sweeping
 *   position_hooks.c  fills, order updates, monitor checks and exits reporting back
 *   strategy_exit.c   a close the strategy returned from on_bar
 *   resume.c          restart
 *   session.c         the bars' interval and the session-time rules */
#ifndef APEX_PIPELINE_INTERNAL_H
#define APEX_PIPELINE_INTERNAL_H

#include "broker/registry.h"
#include "exec/exec.h"
#include "exits/executor.h"
#include "exits/inputs.h"
#include "net/ratelimit.h"
#include "notify/notify.h"
#include "market/csv_feed.h"
#include "market/news.h"
#include "metrics/metrics.h"
#include "market/bar_ring.h"
#include "exits/atr.h"
#include "monitor/monitor.h"
#include <sys/queue.h>

#include "pipeline/pipeline.h"
#include "risk/circuit.h"
#include "risk/drawdown.h"
#include "script/failures.h"
#include "script/script.h"
#include "util/hmap.h"
#include "store/store_approvals.h"
#include "util/vec.h"

typedef struct {
    bool traded;           /* listed in the pipeline's symbols */
    trade *active;         /* the execution trading this symbol, if any */
    money_t open_pnl;      /* the active execution's realized + unrealized P&L, as marked */
    apex_time last_bar_ts; /* for the bar interval (session.c) */
    uint64_t bars;         /* bars read, for the summary */
    char last_error[512];  /* the last script failure recorded for this symbol */
    /* A close the strategy returned while another exit was working: it waits for that exit
     * to end (strategy_exit.c). In memory only; waiting_close_exec_id says for which
     * execution. */
    script_signal waiting_close;
    int64_t waiting_close_exec_id; /* 0 = nothing waits */
    /* Its last bars (ctx.history, the chandelier's window) and its ATR for the trailing
     * stop's ATR modes: host state, so they survive a hot reload (history.c). */
    bar_ring hist;
    exits_atr atr;
    bool hist_ready; /* hist and atr are set up (on the symbol's first bar) */
} sym_state;

struct pipeline {
    pipeline_config cfg;
    int keep_bars; /* bars per symbol a reader charts (pipeline_keep_bars), beside history */
    const host_services *hs;
    script_host *scripts;
    broker *brk;
    broker_sim_feed sim_feed; /* NULL unless the broker simulates fills from our bars */
    feed_merge *feed;
    bar_queue *live_bars; /* data.live in `run`: the broker's bars; NULL otherwise */
    struct market_data_sub *live_sub;
    /* data.http in `run`: one per source (http_sources.c); NULL otherwise */
    struct pipeline_http_source *http;
    int nhttp;
    bool live_up;          /* the broker's market data is flowing */
    char live_status[256]; /* its last state: an event only when it changes */
    bar next;              /* the bar read ahead from the feed */
    char feed_error[512];  /* a data error met while reading ahead, reported by step */
    bool has_next;
    news_list news;
    exec_env *exec;
    monitor *mon;
    /* Every broker call of this pipeline goes through it; NULL on a shared account, whose
     * limiter (and its clock) is the account's, for all its pipelines (broker/shared.h). */
    ratelimit *limiter;
    apex_clock *limiter_clock; /* a real venue's limiter runs in wall time; NULL: hs->clock */
    exit_executor *exits;
    bool strategy_has_edge, strategy_has_opportunity;
    risk_circuit circuit;    /* trading state: the daily-loss breaker and the day roll */
    struct risk_book *book;  /* the account's open risk, shared with its pipelines */
    risk_drawdown drawdown;  /* the drawdown breaker (portfolio.c) */
    money_t equity_peak;     /* the breaker's peak equity, kept across runs (portfolio.c) */
    bool write_failed;       /* a durable write failed: no new entries (see pipeline_durable) */
    char write_error[512];   /* the first such failure, for the report */
    apex_error werr;         /* the last store write's error: its message travels with it */
    apex_time best_other_at; /* rebalance: the best free opportunity, cached per bar */
    money_t best_other;
    bool has_best_other;
    exit_rule_scratch rule;
    VEC(sym_state) syms;    /* by symbol id */
    trade *trades;          /* live executions */
    hmap trades_by_id;      /* the same, by execution id (the 8 bytes of row.id) */
    bool trades_unindexed;  /* an insert into trades_by_id ran out of memory: scan */
    int open_count;         /* trades counted open: pipeline_open_positions */
    int finished_trades;    /* finished but not yet freed */
    apex_time resume_after; /* cursor at start: bars <= this are warm-up */
    bool resume_pending;    /* loaded executions wait for the first bar after the cursor */
    LIST_HEAD(, entry_step) entry_steps;        /* entry chains waiting for a broker reply */
    LIST_HEAD(, resume_wait) resume_waits;      /* restarts waiting for exit cancels */
    LIST_HEAD(, webhook_pending) webhook_posts; /* webhook tool posts in flight */
    LIST_HEAD(, approval_wait) approval_waits;  /* entries waiting for an answer */
    clock_timer approval_timer;                 /* polls the answers while any wait */
    struct pipeline_telegram *telegram;         /* approval buttons; NULL without a bot */
    char *webhook_secret;                       /* execution.webhook_secret_env's value */
    int resuming;                               /* resumed executions not yet monitored */
    int resume_total, resume_cancelled;         /* for the restart report */
    apex_time last_ts;
    int ts_since_cursor;
    bool bias_has_on_bar;
    money_t mark, peak_mark;             /* realized + unrealized since start, for drawdown */
    apex_time first_bar_ts, last_bar_ts; /* the span of the data read, for the summary */
    money_t cash_mark; /* backtest: the account's cash at its start, moved by every fill */
    pipeline_symbol_bars *bar_counts; /* the summary's per-symbol view, pipeline_finish */
    apex_time bar_interval;           /* data.timeframe, else the shortest gap seen; 0 = unknown */
    bool interval_given, interval_announced, interval_contradicted;
    /* session.c: the venue's session of one UTC day, from its calendar (run, on a broker
     * with broker_get_session); otherwise exits.session_close is the close. */
    struct {
        apex_time day;   /* UTC midnight of the day it is for; 0 = not asked yet */
        apex_time asked; /* the day of the request in flight; 0 = none */
        bool known;      /* session holds that day's answer */
        bool failed;     /* that day's question failed: the configured close stands */
        broker_session session;
    } venue;
    notifier *notify;         /* `run` with notifications configured; NULL otherwise */
    script_failures failures; /* what the scripts failed, and what was recorded of it */
    struct {
        uint64_t total, recorded;
    } failures_saved[SCRIPT_STAGE_COUNT]; /* the counts already in the store */
    pipeline_summary sum;
    /* metrics.h: the gauges collect_metrics sets, and the reload counters */
    metrics_series *m_open_positions, *m_realized, *m_unrealized;
    metrics_series *m_reloads, *m_reload_failures;
};

/* pipeline.c: the state of symbol id (grown on demand), or NULL for a bad id or no memory. */
sym_state *pipeline_sym(pipeline *p, int id);

/* lifecycle.c: a trade's birth, status changes and death. */
trade *pipeline_trade_new(pipeline *p, int symbol_id);
/* The one way a status changes: the store row, the audit event and (for skipped,
 * failed and completed) the terminal line are written together, from one reason. A
 * final status unwatches the trade and releases its symbol. */
void pipeline_set_status(pipeline *p, trade *t, exec_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The broker shows the position closed: completes the execution with its reason. */
void pipeline_complete(pipeline *p, trade *t);
/* The broker shows t flat (the monitor confirmed it): completes t. When t's own fills still
 * hold shares (closed by hand at the broker), first asks the broker for the closing fills
 * (exec_find_external_close) and records them with the completion, in one unit; a broker
 * that cannot list them (paper) or fails leaves the reason saying the realized P&L counts
 * apex-host's own fills only. The exit_reason is `closed_at_broker` either way. */
void pipeline_flat_at_broker(pipeline *p, trade *t);
/* Frees finished trades that nothing holds any more. */
void pipeline_sweep(pipeline *p);
/* Records the equity after fill f as an equity row, so the stored curve, and the drawdown
 * the summary, the report and the API compute from it, sees every fill and not only each
 * day's snapshot: in a backtest the starting equity + the mark and the cash the fills
 * moved; live, the broker's account (a ROUTINE request). */
void pipeline_record_fill_equity(pipeline *p, const broker_fill *f);
/* Marks the pipeline's equity with t's P&L at price (0: t's last mark) and moves the
 * peak and the max drawdown: on every bar and every fill, so a loss realized between
 * bars counts. t may be NULL (only the drawdown is brought up to date). */
void pipeline_mark_equity(pipeline *p, trade *t, money_t price);
/* Executions holding a position, or about to: entries past the risk stage count, so two
 * signals of the same bar cannot both take the last slot. */
int pipeline_open_positions(const pipeline *p);
/* lifecycle.c: t joins the live trades (its row has its id), or leaves them for good. */
void pipeline_trade_link(pipeline *p, trade *t);
void pipeline_trade_unlink(pipeline *p, trade *t);
/* The live trade of execution id, or NULL. */
trade *pipeline_trade_by_id(const pipeline *p, int64_t id);
/* close_request.c: a close asked for by hand (close_request.h), read at each check. */
void pipeline_close_request_check(pipeline *p, trade *t);
/* Re-counts t in the open positions after its status, fills or sizing changed. */
void pipeline_trade_recount(pipeline *p, trade *t);
/* A durable write failed (rc != 0): new entries halt for this pipeline, exits keep
 * working, the failure is reported loudly and the run ends non-zero. The message is
 * p->werr's, which the failing write filled in (pass &p->werr to the store call). Returns
 * rc. */
int pipeline_durable(pipeline *p, int rc, const char *what);
/* Same, with the message of another failed write. */
int pipeline_durable_msg(pipeline *p, int rc, const char *what, const char *msg);

/* failures.c: script failures, bounded (script/failures.h has the policy). */
void pipeline_failures_init(pipeline *p);
/* Delivers the summaries that are due; on each new bar time. */
void pipeline_failures_tick(pipeline *p, apex_time now);
/* Delivers every summary still open and saves the counts: the end of the run. */
void pipeline_failures_flush(pipeline *p);
/* A script failed at stage with reason (symbol_id -1: not tied to a symbol's last error;
 * rc the script call's code). Returns true when the caller should record it one by one
 * (the symbol's last error becomes reason), false when it was counted for a summary, or
 * is the symbol's failed on_start answering again (APEX_ESTATE), which counts as nothing. */
bool pipeline_failure_admit(pipeline *p, int symbol_id, script_stage stage, int rc,
                            const char *reason);
/* A script failed outside any execution (on_bar, on_start): a failed execution with
 * "<stage> stage: <err>", when the limiter admits it. */
void pipeline_record_script_error(pipeline *p, int symbol_id, script_stage stage, int rc,
                                  const char *err);
/* A script failed at a monitoring check or a fill (rules, edge, opportunity, on_fill,
 * on_exit): a log line (and a rule_error event for rules) when the limiter admits it.
 * t may be NULL. Usable as exit_context.script_error. */
void pipeline_script_error(void *ud, const trade *t, script_stage stage, const char *err);

/* coordinator.c: where a signal stands among those of its bar time (coordinator.h). */
typedef struct {
    int rank, of;         /* 1-based, among the signals of the same bar time */
    money_t score;        /* this signal's */
    bool by_callback;     /* the score came from the strategy's score() */
    money_t leader_score; /* the first-ranked signal's */
    char leader[96];      /* the first-ranked signal: "AAPL" or "AAPL (pipeline other)" */
} coord_rank;

/* A strategy's entry signal: held by hs->coord until the bar time ends (the copy of sig
 * and b is the coordinator's), or, without a coordinator, straight to pipeline_on_signal. */
void coordinator_offer(pipeline *p, int symbol_id, const script_signal *sig, const bar *b);
/* The `coordinator` event of t: its rank, of how many, and its score (nothing for NULL). */
void pipeline_coord_event(pipeline *p, const trade *t, const coord_rank *rank);
/* For a skip reason: "; ranked 2 of 2 ..." naming the first-ranked signal and both scores,
 * or "" for a first-ranked or unranked signal. Returns buf. */
const char *pipeline_coord_note(const coord_rank *rank, char *buf, size_t n);

/* entry.c: the execute phase, signal -> bias -> strategy -> risk -> trade manager. rank is
 * the coordinator's ranking of the signal (NULL: unranked); it is recorded as an event and
 * named in a risk skip. */
void pipeline_on_signal(pipeline *p, int symbol_id, const script_signal *sig, const bar *b,
                        const coord_rank *rank);
/* Shutdown, after the broker is freed (its queued replies are dropped): frees the entry
 * chains still waiting and gives their holds back. */
void pipeline_entry_free_all(pipeline *p);

/* approval.c: execution.mode = "approval" (approval.h). cont gets EXEC_RUNNING to go on
 * to the broker, or EXEC_SKIPPED / EXEC_FAILED with the reason. */
typedef void (*approval_cont)(void *ud, exec_status verdict, const char *reason);
/* open: refuses the mode in a backtest and with the webhook tool (diagnostics into d),
 * sets up the poll timer and Telegram; close: stops them, frees the waits (after the
 * broker, before pipeline_entry_free_all, whose steps hold the trades). */
int pipeline_approval_open(pipeline *p, diag_list *d);
void pipeline_approval_close(pipeline *p);
/* entry.c, after sizing t (held by the caller's step): records the request and waits. */
void pipeline_approval_request(pipeline *p, trade *t, money_t entry, approval_cont cont, void *ud);
/* Waits for a request already recorded (a restart). */
void pipeline_approval_wait(pipeline *p, trade *t, const store_approval *a, approval_cont cont,
                            void *ud);
/* Decides every waiting request that was answered or has expired (the timer calls it). */
void pipeline_approval_poll(pipeline *p);
/* resume.c: t has a pending request: it waits again (or expires now); true when so. */
bool pipeline_approval_resume(pipeline *p, trade *t);
/* entry.c: a restart's pending request: a new entry step for t waits on it. */
void pipeline_entry_resume_approval(pipeline *p, trade *t, const store_approval *a);

/* approval_telegram.c: the Telegram side of approvals (notifications.telegram.*). ask
 * sends the request with its buttons; told edits it to show the decision; poll reads
 * button presses (getUpdates) into the store; all are no-ops without a configured bot. */
int pipeline_telegram_open(pipeline *p, diag_list *d);
void pipeline_telegram_close(pipeline *p);
void pipeline_telegram_ask(pipeline *p, const store_approval *a);
void pipeline_telegram_told(pipeline *p, const store_approval *a);
void pipeline_telegram_poll(pipeline *p);

/* webhook_tool.c: execution.tool = "webhook". open checks the template and URL and reads
 * the signing key (diagnostics into d; -1 on a problem); send posts the execution's
 * signal and completes or fails it on the answer; resume re-posts one a restart
 * interrupted; free_all drops posts in flight (after the host freed its HTTP client). */
int pipeline_webhook_open(pipeline *p, diag_list *d);
void pipeline_webhook_send(pipeline *p, trade *t, const char *reason, apex_time bar_time);
void pipeline_webhook_resume(pipeline *p, trade *t);
void pipeline_webhook_free_all(pipeline *p);

/* strategy_exit.c: a close the strategy returned from on_bar ({ side = "close" }). Hands
 * it to the exit executor at exits.strategy_exit_priority; ignored (a debug line) without
 * an open position. While another exit works it either takes over (more urgent and
 * closing everything, the executor's rule) or waits for that exit to end. */
void pipeline_strategy_close(pipeline *p, int symbol_id, const script_signal *sig, const bar *b);
/* At a monitoring check of t, with the evaluator's decision: true when a waiting close
 * should start now instead (the executor is free, the position still open, and the close
 * at least as urgent as the decision); *out is then the close, recomputed for what is
 * open now, and it no longer waits. */
bool pipeline_strategy_close_due(pipeline *p, const trade *t, const exit_decision *evaluated,
                                 exit_decision *out);
/* True while a close waits for t. */
bool pipeline_strategy_close_waiting(const pipeline *p, const trade *t);
/* Restart, before exit_executor_resume closes the exits left working: a strategy_exit of
 * the whole position among them waits again, to start at t's first check. */
void pipeline_strategy_close_resume(pipeline *p, trade *t);

/* position_hooks.c: how exec, the monitor and the exit executor report back. */
exec_hooks pipeline_exec_hooks(pipeline *p);
monitor_hooks pipeline_monitor_hooks(pipeline *p);
exit_hooks pipeline_exit_hooks(pipeline *p);
/* Checks today's loss against the daily limit (risk/circuit.h); trips the breaker. */
void pipeline_check_circuit(pipeline *p);

/* ---- bar_history.c: the bars kept per traded symbol ---- */

/* Adds b to its symbol's ring and ATR (the ring is sized on the symbol's first bar). */
void pipeline_history_bar(pipeline *p, sym_state *s, const bar *b);
/* script_market.history: symbol's ring, or NULL before its first bar. ud is the pipeline. */
const bar_ring *pipeline_history(void *ud, const char *symbol);
/* The ATR modes' inputs for t's symbol: in->atr and the chandelier's channel, when ready. */
void pipeline_history_inputs(pipeline *p, const trade *t, exit_input *in);
void pipeline_history_free(pipeline *p);

/* ---- strategy_stop.c: stop(ctx, position) ---- */

/* Asks the strategy for t's stop and applies it to in and t (never loosening unless the
 * strategy says loosen = true); records a change in the store. Call before
 * exits_update_trailing. */
void pipeline_strategy_stop(pipeline *p, trade *t, exit_input *in);

/* ---- entry_expiry.c: stop and limit entries that expire ---- */

/* t's entry has begun to rest at the broker (accepted): sets row.resting_since to its
 * symbol's last bar time, which the caller writes with the status `monitoring`. */
void pipeline_entry_expiry_rests(pipeline *p, trade *t);
/* A bar b of t's symbol has been handled by the broker (or, with warmup, replayed as
 * history after a restart): counts it against t's unfilled entry's expiry and, unless
 * warmup or t is still resuming, cancels the entry when it is due. */
void pipeline_entry_expiry_bar(pipeline *p, trade *t, const bar *b, bool warmup);
/* t's resumption after a restart is done (reconciled, monitored): an expiry that came
 * while the host was down or during the resumption is acted on now. */
void pipeline_entry_expiry_resumed(pipeline *p, trade *t);
/* The entry order of t died (cancelled, expired, rejected) unfilled: true when that was its
 * expiry, after setting the execution `cancelled` with the reason. */
bool pipeline_entry_expired(pipeline *p, trade *t, const store_order *o);

/* portfolio.c: portfolio risk across the pipelines of one broker account (docs/risk.md):
 * heat and correlated clusters (risk/heat.h), the drawdown breaker (risk/drawdown.h),
 * reduce-only mode and the PDT rule (risk/pdt.h). Every refusal or shrink is a
 * `risk_limit` event with its numbers. */
int pipeline_portfolio_open(pipeline *p, diag_list *diags);
void pipeline_portfolio_close(pipeline *p);
/* A bar the pipeline processes: its return feeds the account's correlations. */
void pipeline_portfolio_bar(pipeline *p, const bar *b);
/* Before sizing: reduce-only mode, the drawdown breaker, the PDT rule. false = refused,
 * with the reason in why. */
bool pipeline_portfolio_admit(pipeline *p, trade *t, const broker_account *a, char *why,
                              size_t len);
/* After sizing *qty at entry: the heat limits. true = it fits, perhaps shrunk (*qty
 * lowered), and t's risk now counts in the account's heat; false = refused (why). */
bool pipeline_portfolio_fit(pipeline *p, trade *t, money_t entry, const broker_account *a,
                            money_t *qty, char *why, size_t len);
/* t's fills or final status changed its open risk. */
void pipeline_portfolio_update(pipeline *p, trade *t);
/* The trade manager's claim on t's symbol for its account (risk_book_claim): false, with
 * why, when another execution holds or is entering the symbol there. Given back when t
 * finishes or its position closes (pipeline_portfolio_update). */
bool pipeline_portfolio_claim(pipeline *p, trade *t, char *why, size_t len);
/* Why every position is being closed when the drawdown breaker, not the daily-loss one,
 * closes them (the exit's reason); NULL otherwise. */
const char *pipeline_portfolio_close_why(const pipeline *p);
/* On every mark of the equity: trips the drawdown breaker. */
void pipeline_portfolio_drawdown(pipeline *p);

/* session.c: the bars' interval (data.timeframe or detected) and the rules about the time
 * within a session, which only bars shorter than exits.time_urgent_minutes can act on. */
/* live_data.c: data.live in `run`, the broker's market data as the feed (a no-op in
 * backtests and without data.live); close unsubscribes before the broker is freed. */
int pipeline_live_open(pipeline *p, diag_list *diags);
void pipeline_live_close(pipeline *p);
/* A live source's bar of symbol into q: interned (symbol_id set), queued for the feed
 * merge, and the host woken so it is read at once. source names it in the log line of a
 * bar that cannot be queued. 0, or < 0 when the bar was dropped (logged). */
int pipeline_queue_bar(pipeline *p, bar_queue *q, const char *source, const char *symbol,
                       const bar *b);

/* http_sources.c: data.http in `run`, each source polled into its own queue of the feed
 * (a no-op in backtests and without sources). close stops the polls and frees the
 * queues: after the feed merge that reads them is freed, before the loop's last turn. */
typedef struct pipeline_http_source pipeline_http_source;
int pipeline_http_open(pipeline *p, diag_list *diags);
void pipeline_http_close(pipeline *p);

void pipeline_session_init(pipeline *p);
/* A bar of s's symbol: detects the interval. */
void pipeline_session_bar(pipeline *p, sym_state *s, const bar *b);
/* time_based_urgent and the entry block before the close apply to these bars. */
bool pipeline_session_timed(const pipeline *p);
/* now is inside the window before the session close where time_based_urgent fires. */
bool pipeline_in_close_window(pipeline *p, apex_time now);
/* The next session close at or after now: today's from the venue's calendar when the
 * broker has one and answered for today, else exits.session_close (UTC). */
apex_time pipeline_session_close(pipeline *p, apex_time now);
/* run, on a venue with a calendar: asks for the current day's session when the day is
 * new (at start-up and on each new day); a failure falls back to exits.session_close with
 * a `session_calendar` event. Nothing in a backtest or on the paper broker. */
void pipeline_session_day(pipeline *p);
/* monitor_hooks.next_time_due: when the session-close window next opens, or 0. */
apex_time pipeline_next_time_due(void *ud, const trade *t, apex_time now);

/* notify_hooks.c: the notifier (`run` only) and the one call per kind of event. open
 * checks the notifications section (diagnostics into d; -1 on a problem, e.g. the token's
 * variable unset at `run`); busy counts sends in flight and rows due, for the end of a
 * run (pipeline_notify_busy, pipeline.h); the rest are no-ops without a notifier. */
int pipeline_notify_open(pipeline *p, diag_list *d);
void pipeline_notify_close(pipeline *p);
/* entry (monitoring), skip, error (failed) and exit (completed) */
void pipeline_notify_status(pipeline *p, const trade *t, exec_status st);
void pipeline_notify_fill(pipeline *p, const trade *t, const broker_fill *f, const store_order *o);
/* an instruction rule's exit ended; an exit failed (an error) */
void pipeline_notify_exit_done(pipeline *p, const trade *t, const store_position_exit *row);
/* circuit breaker, broker outage, reload failed, a durable write failure, a summary of script
 * failures; t may be NULL */
void pipeline_notify_text(pipeline *p, notify_kind kind, const trade *t, const char *text);

/* resume.c: restart. _load rebuilds the executions left active in the store (at open);
 * _start reconciles their orders with the broker and resumes monitoring, on the first bar
 * after the restart cursor (warm-up bars never reach them). */
void pipeline_resume_load(pipeline *p);
void pipeline_resume_start(pipeline *p);
/* Shutdown, after the broker is freed: frees restarts still waiting for cancels. */
void pipeline_resume_free_all(pipeline *p);

#endif
