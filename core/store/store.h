/* store: the host's durable memory, one SQLite database in WAL mode.
 *
 * Tables (schema in store_schema.c, migrated with PRAGMA user_version):
 *   meta         key/value; holds the instance id used in client order ids
 *   executions   one row per pipeline run for one symbol (seed 000 statuses)
 *   positions    one per filled entry, with seed 003's monitoring columns
 *   orders       every order intent, written and committed BEFORE it is sent
 *   fills        the ledger; unique on (client order id, fill id): replays are harmless
 *   events       append-only audit log
 *   equity       account snapshots
 *   cursors      the last bar each pipeline processed, so a restart resumes there
 *   position_exits  one row per exit the evaluator triggers (seed 003)
 *   exit_attempts   one row per order placed for an exit
 * Money columns are INTEGER at MONEY_SCALE; times are INTEGER µs since the epoch.
 *
 * Durability: store_open with STORE_DURABLE uses synchronous=FULL so a committed
 * order intent survives power loss; STORE_FAST (backtests) uses synchronous=OFF.
 * Every write function commits on its own unless the caller opened a batch with
 * store_begin, which backtests do to group many writes. On a STORE_DURABLE store,
 * order intents (store_order_insert) refuse to run inside a batch: an intent must be
 * durable before the request leaves the process. A STORE_FAST store (backtests) allows
 * them in a batch: a backtest starts empty and is rerun, not resumed, after a crash.
 *
 * All functions return 0 or a negative APEX_E* code.
 *
 * Writes (every function that changes the database: inserts, updates, store_event,
 * store_equity_insert, store_cursor_set and the batch functions) take a last
 * `apex_error *err`, NULL allowed: on failure it receives the code and the message, on
 * success it is cleared, so the text travels with the error. Every failed write except a
 * duplicate also sets the write-failure latch (store_write_failed). Reads leave their
 * message in store_errmsg, valid until the next call on the store. */
#ifndef APEX_STORE_H
#define APEX_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "model/execution.h"
#include "model/exit.h"
#include "model/order.h"
#include "clock/clock.h"
#include "money/money.h"
#include "util/err.h"

typedef struct store store;

/* STORE_READONLY opens an existing store for reading only (`apex-host serve`): it creates
 * nothing, migrates nothing (a store of another schema version is refused) and every write
 * fails; another process may be writing it meanwhile (WAL). */
typedef enum { STORE_DURABLE = 0, STORE_FAST, STORE_READONLY } store_mode;

typedef struct {
    int64_t id;
    char pipeline[64];
    char symbol[SYMBOL_MAX];
    exec_status status;
    char phase[16];                                 /* "execute" or "monitoring" */
    apex_time created_at, updated_at, completed_at; /* 0 = NULL */
    apex_time next_check_at;                        /* 0 = NULL */
    int monitor_interval_s;
    char bias[16];       /* "long", "short", "neutral", "" */
    int side;            /* order_side of the entry, -1 = none yet */
    money_t qty;         /* intended entry quantity */
    money_t entry_price; /* average entry fill, 0 until filled */
    money_t stop_loss, take_profit;
    money_t realized_pnl; /* net of fees, from the fills ledger */
    money_t fees;
    char reason[512]; /* skip reason, failure message or close reason */
    int order_seq;    /* last sequence number used in a client order id */
    int retry_count;  /* consecutive broker failures while monitoring */
    /* The entry order the signal chose (entry = "market" | "limit" | "stop", issue 13);
     * without entry_typed, execution.entry decides. */
    bool entry_typed;
    order_type entry_type;     /* with entry_typed */
    money_t entry_order_price; /* a stop or limit entry's price; 0 = none */
    /* Its expiry (pipeline/entry_expiry.c): cancelled unfilled after expire_bars bars of the
     * symbol that came after resting_since, or at expire_at. 0 = none. */
    int expire_bars;
    int64_t expire_seconds;  /* what the signal said, for the reason */
    apex_time expire_at;     /* absolute, on the host clock */
    apex_time resting_since; /* the symbol's last bar time when the entry began to rest */
} store_execution;

typedef struct {
    int64_t id;
    int64_t execution_id;
    char symbol[SYMBOL_MAX];
    int side;    /* SIDE_BUY = long, SIDE_SELL = short */
    money_t qty; /* currently open, unsigned */
    money_t initial_qty;
    money_t entry_price;
    money_t stop_loss, take_profit;
    bool open;
    apex_time opened_at, closed_at;
    money_t realized_pnl;
    /* seed 003 monitoring columns */
    money_t current_price;
    money_t unrealized_pnl;
    money_t unrealized_pnl_pct; /* fraction at MONEY_SCALE */
    apex_time last_update;
    bool trailing_stop_active;
    money_t peak_price;
    money_t trailing_stop_price;
    char exit_reason[50];
    char exit_priority[20];
    int partial_stages_done; /* bit i set = partial stage i has fired (survives restarts) */
} store_position;

typedef struct {
    int64_t id;
    int64_t execution_id;
    broker_order o;                 /* client_order_id is unique */
    money_t take_profit, stop_loss; /* bracket prices on an entry */
    apex_time submitted_at;         /* when the request left the process; 0 = not yet */
    char error[256];
} store_order;

typedef struct {
    int64_t id;
    int64_t execution_id;
    broker_fill f; /* (client_order_id, fill_id) is unique */
} store_fill;

/* Opens or creates the database at path (":memory:" allowed) and migrates it to the
 * current schema. Returns NULL with a message in err on failure: a path that cannot be
 * opened, a database from a newer apex-host, a corrupt file. */
store *store_open(const char *path, store_mode mode, char *err, size_t errlen);
/* Closes and frees s (NULL is a no-op). Returns APEX_ESTATE when a batch was still open:
 * it is rolled back and its writes are lost. The write-failure latch goes with the store,
 * so read it (store_write_failed) before closing. */
int store_close(store *s);

/* store_metrics.c: has the metrics registry's render count the orders rows by pipeline and
 * status (apex_orders, metrics.h) from this store. Detach before store_close. 0, or
 * APEX_ENOMEM. */
int store_metrics_attach(store *s);
void store_metrics_detach(store *s);
const char *store_errmsg(const store *s);
const char *store_path(const store *s);
/* A random id created with the database; prefixes client order ids so two databases
 * never reuse one at the same broker. 8 lowercase hex characters. */
const char *store_instance_id(const store *s);
int store_schema_version(const store *s);

/* The meta table's other keys: "run_kind" ("run" or "backtest") and "run_state"
 * ("running", "complete", "interrupted") say what wrote the store and how it ended.
 * get: 0 and the value, APEX_ENOTFOUND when the key is absent. */
int store_meta_get(store *s, const char *key, char *buf, size_t buflen);
int store_meta_set(store *s, const char *key, const char *value, apex_error *err);
/* Calls fn for every meta key starting with prefix, in key order; a non-zero return from
 * fn stops and is returned. (store_risk.c) */
int store_meta_each(store *s, const char *prefix,
                    int (*fn)(void *ud, const char *key, const char *value), void *ud);
/* Day trades (risk/pdt.h): positions closed at or after since on the UTC day they were
 * opened. *count of them; their close dates, "YYYY-MM-DD, ...", into dates (truncated to
 * len). 0 or an APEX_E* code. (store_risk.c) */
int store_day_trades(store *s, apex_time since, int *count, char *dates, size_t len);

/* Batches. A failed store_commit loses every write in the batch and so sets the latch
 * (unless no batch was open: APEX_ESTATE, nothing lost); it leaves the batch open for a
 * retry or a rollback. store_begin and store_rollback never set it: a batch that could
 * not start loses nothing (writes then commit one by one) and a rollback discards on
 * purpose. */
int store_begin(store *s, apex_error *err);
int store_commit(store *s, apex_error *err);
int store_rollback(store *s, apex_error *err);
bool store_in_batch(const store *s);

/* A unit: writes that span rows and must commit together or not at all (a fill with its
 * execution, position and event; an order intent with its bracket legs; a completion).
 * Units nest and work inside or outside a batch (SQLite SAVEPOINTs): outside a batch the
 * outermost unit commits on store_unit_commit; inside one, with the batch. After any
 * failed write in a unit, store_unit_abort undoes all of it. On a durable store an order
 * intent may be written inside a unit (it is durable when the outermost unit commits,
 * which the caller does before sending), never inside a batch. Like the batch functions:
 * a failed store_unit_commit sets the latch (the unit's writes did not commit; APEX_ESTATE
 * without an open unit excepted); store_unit_begin and store_unit_abort never do. */
int store_unit_begin(store *s, apex_error *err);
int store_unit_commit(store *s, apex_error *err);
int store_unit_abort(store *s, apex_error *err);

/* The write-failure latch, Redis's stop-writes-on-error idea: true once any write since
 * store_open has failed, a duplicate (APEX_EDUP: the row its key names is already
 * recorded) excepted. A failed write means the database lacks a row the host now believes
 * in, so the pipeline stops new entries, keeps exits working, reports it and exits
 * non-zero; the store itself keeps accepting writes, because exits and their records
 * must still go through. first (may be NULL) receives the first failure's code and
 * message. The latch stays set until the store is closed. */
bool store_write_failed(const store *s, apex_error *first);
/* How many writes have failed since store_open (duplicates excluded). */
long store_write_failures(const store *s);

/* executions */
int store_execution_insert(store *s, store_execution *e, apex_error *err); /* sets e->id */
int store_execution_update(store *s, const store_execution *e, apex_error *err);
int store_execution_get(store *s, int64_t id, store_execution *out);
/* Calls fn for executions of `pipeline` (NULL = all) whose status is pending, running,
 * monitoring or paused, oldest first. fn returns non-zero to stop. */
int store_executions_active(store *s, const char *pipeline,
                            int (*fn)(void *ud, const store_execution *e), void *ud);
/* Calls fn for the most recent `limit` executions (all statuses), newest first. */
int store_executions_recent(store *s, int limit, int (*fn)(void *ud, const store_execution *e),
                            void *ud);
int store_execution_count(store *s, const char *pipeline, int status /* -1 = any */);

/* orders: insert commits the intent durably (APEX_ESTATE inside a batch of a STORE_DURABLE
 * store; APEX_EDUP if the client order id exists). */
int store_order_insert(store *s, store_order *o, apex_error *err);
/* By o->o.client_order_id. */
int store_order_update(store *s, const store_order *o, apex_error *err);
int store_order_get(store *s, const char *client_order_id, store_order *out);
/* Whether any order in the store (of any pipeline) has the broker's id broker_order_id:
 * 1 yes, 0 no, < 0 on a database error. A fill of an order it does not know was made at
 * the broker by someone else (a position closed by hand). */
int store_order_known_at_broker(store *s, const char *broker_order_id);
int store_orders_for_execution(store *s, int64_t execution_id,
                               int (*fn)(void *ud, const store_order *o), void *ud);
/* Orders whose status is not final (new, accepted, held, partially_filled). */
int store_orders_open(store *s, int (*fn)(void *ud, const store_order *o), void *ud);

/* fills: APEX_EDUP when the fill id is already recorded (the caller ignores the replay). */
int store_fill_insert(store *s, store_fill *f, apex_error *err);
int store_fills_for_execution(store *s, int64_t execution_id,
                              int (*fn)(void *ud, const store_fill *f), void *ud);

/* positions */
int store_position_insert(store *s, store_position *p, apex_error *err); /* sets p->id */
int store_position_update(store *s, const store_position *p, apex_error *err);
int store_position_get_by_execution(store *s, int64_t execution_id, store_position *out);
int store_positions_open(store *s, int (*fn)(void *ud, const store_position *p), void *ud);

/* An event's message is cut to fit this (the terminating NUL included), ending in "...". */
#define STORE_EVENT_MESSAGE_MAX 1024

/* events: the audit log. kind is a short word ("signal", "order", "fill", "skip", "exit",
 * "error", "reload", ...). execution_id 0 = none. */
int store_event(store *s, apex_time ts, const char *pipeline, int64_t execution_id,
                const char *kind, apex_error *err, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

/* One row of the audit log, as store_events_recent returns it. */
typedef struct {
    int64_t id;
    apex_time ts;
    char pipeline[64];
    int64_t execution_id; /* 0 = none */
    char kind[32];
    char message[STORE_EVENT_MESSAGE_MAX];
} store_event_row;

/* Calls fn for the latest `limit` events, newest first (pipeline NULL = all). */
int store_events_recent(store *s, const char *pipeline, int limit,
                        int (*fn)(void *ud, const store_event_row *ev), void *ud);

int store_equity_insert(store *s, apex_time ts, const char *pipeline, money_t cash, money_t equity,
                        apex_error *err);
/* The latest snapshot for `pipeline` (NULL = any). APEX_ENOTFOUND when there is none. */
int store_equity_latest(store *s, const char *pipeline, apex_time *ts, money_t *cash,
                        money_t *equity);

/* The latest data time at which the store's pipelines recorded anything (an event, an
 * exit, an order, a cursor): a restart of `pipeline` never acts on bars up to it, since
 * one process fed all of them in one time order. 0 when none. */
int store_last_activity(store *s, const char *pipeline, apex_time *out);

/* script_failures: per pipeline and stage ("bias", "strategy", "rules", ...), how often its
 * scripts failed and how many of those failures were recorded one by one (a failed
 * execution or an event each); the rest were counted and summarised (script/failures.h).
 * One row per pair, so it never grows with the failures. */
typedef struct {
    char pipeline[64];
    char stage[32];
    int64_t failures;
    int64_t recorded;
    apex_time first_at, last_at;
    char last_error[512];
} store_script_failure;

/* Adds f->failures and f->recorded to the (pipeline, stage) row, creating it with
 * first_at; last_at and last_error replace the row's. Runs add up. */
int store_script_failures_add(store *s, const store_script_failure *f, apex_error *err);

/* cursors: the time of the last bar a pipeline fully processed. 0 when none. */
int store_cursor_get(store *s, const char *pipeline, apex_time *out);
int store_cursor_set(store *s, const char *pipeline, apex_time ts, apex_error *err);

/* position_exits and exit_attempts (seed 003): every exit the host decides writes one
 * position_exits row when it is triggered, and one exit_attempts row per order it places
 * for it. Migration 2 adds execution_id, status, filled_quantity, detail, attempts and the
 * attempts' client order ids. store_report.h lists the latest exits with their attempts. */
typedef struct {
    int64_t id; /* exit_id */
    int64_t position_id;
    int64_t execution_id;
    char exit_reason[50];        /* the condition: "stop_loss", "partial_exit_target", ... */
    exit_priority exit_priority; /* stored as "CRITICAL", "HIGH", "MEDIUM", "LOW" */
    char detail[192];            /* the evaluator's sentence, e.g. "price 97.50 <= stop 97.60" */
    money_t exit_quantity;       /* asked for */
    bool partial_exit;
    money_t exit_price;                         /* average fill price; 0 until something filled */
    price_strategy execution_strategy;          /* how the exit order is priced */
    money_t unrealized_pnl, unrealized_pnl_pct; /* when triggered */
    apex_time triggered_at, executed_at;        /* executed_at 0 until done */
    exit_status status;                         /* EXIT_STATUS_WORKING (0) when triggered */
    money_t filled_quantity;
    int attempts; /* orders placed so far */
} store_position_exit;

typedef struct {
    int64_t id; /* attempt_id */
    int64_t position_id;
    int64_t exit_id;
    int attempt_number;    /* 1, 2, ... */
    order_type order_type; /* ORDER_MARKET or ORDER_LIMIT */
    char client_order_id[BROKER_ID_MAX];
    money_t limit_price; /* 0 for market */
    money_t quantity;
    order_status status; /* the order's status */
    money_t filled_quantity;
    apex_time placed_at;
} store_exit_attempt;

/* Sets e->id. Fills in what the caller left empty: execution_id from the position,
 * triggered_at with the current wall-clock time (the seed's DEFAULT NOW()), status
 * "working". APEX_EINVAL names the field when a priority, strategy, status or quantity is
 * not one the seed knows (filled_quantity may never exceed exit_quantity). */
int store_exit_insert(store *s, store_position_exit *e, apex_error *err);
/* By e->id; triggered_at 0 keeps the stored one. */
int store_exit_update(store *s, const store_position_exit *e, apex_error *err);
int store_exit_get(store *s, int64_t exit_id, store_position_exit *out);
/* Exits of one execution, oldest first. */
int store_exits_for_execution(store *s, int64_t execution_id,
                              int (*fn)(void *ud, const store_position_exit *e), void *ud);
/* Exits whose status is "working" (a restart resumes them). */
int store_exits_working(store *s, int (*fn)(void *ud, const store_position_exit *e), void *ud);
/* Sets a->id, and a->placed_at to the current wall-clock time when it is 0. order_type is
 * "market" or "limit" (a limit needs limit_price > 0), status an order_status_name. A
 * client order id names one order, so it is unique: APEX_EDUP when another attempt has it.
 * An empty client_order_id is allowed (an attempt recorded before its id exists). */
int store_exit_attempt_insert(store *s, store_exit_attempt *a, apex_error *err);
/* By a->id; placed_at 0 keeps the stored one. */
int store_exit_attempt_update(store *s, const store_exit_attempt *a, apex_error *err);
/* Attempts of one exit, by attempt_number. */
int store_exit_attempts_for_exit(store *s, int64_t exit_id,
                                 int (*fn)(void *ud, const store_exit_attempt *a), void *ud);
/* Attempt row by the client order id it placed; APEX_ENOTFOUND if none. */
int store_exit_attempt_by_order(store *s, const char *client_order_id, store_exit_attempt *out);

/* The ledger check replays fills through ledger_apply (core/ledger/ledger.h), the same
 * function the engine uses, so both agree to the smallest unit. */
/* The ledger check: for every execution, the signed sum of its fills equals its open
 * position quantity and the realized P&L recomputed from the fills equals the stored
 * one, to the smallest unit. Returns the number of mismatches; describes each in
 * `report` (may be NULL). */
int store_ledger_check(store *s, FILE *report);

#endif
