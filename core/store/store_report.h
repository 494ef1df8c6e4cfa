/* store_report: read-only queries for whoever shows the host's state to a person:
 * `apex-host status` renders them as text (cli/status.c), the dashboard's JSON API will
 * render the same structs. The SQL lives here and nowhere else; the renderers only format.
 *
 * Each query reads all its rows first and then calls fn once per row, oldest or newest
 * first as each says, so fn may use any store function (another query, for instance).
 * fn returns non-zero to stop early; that is not an error. The queries return 0 or a
 * negative APEX_E* code with the message in store_errmsg (read it before the next call
 * on the store). Row pointers are valid only during the call to fn.
 *
 * `pipeline` narrows a query to one pipeline's rows; NULL means every pipeline. */
#ifndef APEX_STORE_REPORT_H
#define APEX_STORE_REPORT_H

#include "store/store.h"

/* Executions `apex-host status` lists: every active one (pending, running, monitoring,
 * paused), however old, plus the `recent` latest of any status; newest first. */
int store_report_executions(store *s, const char *pipeline, int recent,
                            int (*fn)(void *ud, const store_execution *e), void *ud);

/* Narrows the _matching queries below; NULL strings match every row. */
typedef struct {
    const char *pipeline;
    const char *symbol;
    const char *status; /* an execution status name ("completed"); executions only */
    int limit;          /* the latest rows kept (see each query) */
} store_report_filter;

/* store_report_executions narrowed to f's pipeline and symbol. With f->status, only the
 * f->limit latest executions of that status (active ones are not added). */
int store_report_executions_matching(store *s, const store_report_filter *f,
                                     int (*fn)(void *ud, const store_execution *e), void *ud);

/* An open position with the monitoring schedule kept on its execution. */
typedef struct {
    store_position pos;
    bool has_execution;      /* false: the position names no execution, or a missing one */
    int monitor_interval_s;  /* the current cadence (normal or urgent); 0 without execution */
    apex_time next_check_at; /* 0 = not scheduled */
} store_report_position;

/* Open positions, oldest first. With a pipeline, only positions of its executions. */
int store_report_positions(store *s, const char *pipeline,
                           int (*fn)(void *ud, const store_report_position *p), void *ud);

/* Orders whose status is not final (new, accepted, held, partially_filled), oldest first.
 * With a pipeline, only orders of its executions. */
int store_report_open_orders(store *s, const char *pipeline,
                             int (*fn)(void *ud, const store_order *o), void *ud);

/* An exit with what a reader needs beside it: the symbol of its position and every
 * attempt (order) placed for it, by attempt number. */
typedef struct {
    store_position_exit exit;
    char symbol[SYMBOL_MAX]; /* "" if its position is gone */
    const store_exit_attempt *attempts;
    int nattempts;
} store_report_exit;

/* The `limit` latest exits, delivered oldest first (a log reads top down). With a
 * pipeline, only exits of its executions. */
int store_report_exits(store *s, const char *pipeline, int limit,
                       int (*fn)(void *ud, const store_report_exit *x), void *ud);
/* The f->limit latest exits of f's pipeline whose position is in f's symbol. */
int store_report_exits_matching(store *s, const store_report_filter *f,
                                int (*fn)(void *ud, const store_report_exit *x), void *ud);

/* The `limit` latest audit events, delivered oldest first. */
int store_report_events(store *s, const char *pipeline, int limit,
                        int (*fn)(void *ud, const store_event_row *ev), void *ud);
/* The f->limit latest events of f's pipeline; with f->symbol, only events of an execution
 * in that symbol. */
int store_report_events_matching(store *s, const store_report_filter *f,
                                 int (*fn)(void *ud, const store_event_row *ev), void *ud);
/* The `limit` latest events of one kind (e.g. "unknown_position"), oldest first. */
int store_report_events_of_kind(store *s, const char *kind, int limit,
                                int (*fn)(void *ud, const store_event_row *ev), void *ud);

/* Every pipeline's script failure counts (store.h, store_script_failure), the latest
 * failure first. */
int store_report_script_failures(store *s, const char *pipeline,
                                 int (*fn)(void *ud, const store_script_failure *f), void *ud);

/* One point of an equity curve. */
typedef struct {
    apex_time ts;
    char pipeline[64];
    money_t cash, equity;
} store_report_equity_point;

/* Equity snapshots with from <= ts <= to (0 = unbounded), oldest first. step > 0 thins a
 * long curve to the last snapshot of each pipeline in each step-long interval (e.g.
 * APEX_MINUTE), so a chart of a long backtest stays small; 0 returns every snapshot. */
int store_report_equity(store *s, const char *pipeline, apex_time from, apex_time to,
                        apex_time step, int (*fn)(void *ud, const store_report_equity_point *pt),
                        void *ud);

/* The store at a glance. Money is at MONEY_SCALE; realized P&L is net of fees, as the
 * executions table keeps it. */
typedef struct {
    int executions;                             /* all statuses */
    int executions_by_status[EXEC_SKIPPED + 1]; /* indexed by exec_status */
    /* Finished executions (exec_status_is_final) with realized P&L > 0, < 0; an open one
     * may still turn, so it is neither yet. */
    int wins, losses;
    money_t realized_pnl; /* sum over executions */
    money_t fees;         /* sum over executions */
    int open_positions;
    money_t unrealized_pnl; /* sum over open positions, at their last mark */
    int open_orders;
    int exits_by_status[EXIT_STATUS_COUNT]; /* indexed by exit_status */
    int fills;
    int events;
    /* Latest equity snapshot: of `pipeline`, or without one, the sum of every pipeline's
     * latest (pipelines that share a broker account through broker.state are each
     * counted). has_equity is false when there is no snapshot. */
    bool has_equity;
    apex_time equity_ts; /* the newest snapshot summed */
    money_t cash, equity;
} store_report_summary;

int store_report_summary_get(store *s, const char *pipeline, store_report_summary *out);

#endif
