/* script: the Lua 5.4 host. One lua_State per pipeline, sandboxed.
 *
 * A pipeline's bias, strategy and instruction rules live in one state, each
 * module in its own environment. The sandbox (sandbox.c):
 *  - loads chunks as text only (mode "t"), never bytecode;
 *  - exposes only base (minus dofile, loadfile, load of binary chunks, collectgarbage
 *    options other than "count"), string (minus dump), table, math, utf8,
 *    coroutine, and os.time / os.clock / os.date;
 *  - caps memory with an accounting allocator (script_limits.memory_limit);
 *  - stops a call that runs past its deadline with an instruction-count hook; once
 *    tripped the hook fires on every instruction, so a pcall inside the script
 *    cannot swallow the error;
 *  - protects the string metatable (__metatable) and the library tables;
 *  - gives a `require` that reaches only the host's own modules (lua/, embedded).
 *
 * Errors from scripts come back as "file:line: message" in err with APEX_ESCRIPT.
 * A failing call fails only that stage of that execution; the state stays usable.
 *
 * Hot reload: script_watch() watches each script's directory (editors save by
 * rename) and, debounced, recompiles the changed module beside the old one; on
 * success the new callbacks replace the old, on failure the old code keeps
 * running and the error is reported. ctx.state survives reloads. */
#ifndef APEX_SCRIPT_H
#define APEX_SCRIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/order.h"
#include "config/config.h"
#include "market/bar.h"
#include "market/bar_ring.h"
#include "util/diag.h"

typedef struct script_host script_host;

typedef struct {
    size_t memory_limit; /* bytes for the whole state; default 64 MiB */
    int deadline_ms;     /* per callback; default 250 */
} script_limits;

#define SCRIPT_LIMITS_DEFAULT ((script_limits){.memory_limit = 64u << 20, .deadline_ms = 250})

/* The process exit status when a script call is stuck in C code 20 deadlines (at least
 * 5 s) past its deadline, where nothing can interrupt it (docs/security.md). */
#define SCRIPT_EXIT_STUCK 6

/* What scripts may read about the market (apex.price, instruction rules). The host
 * implements these over its price cache; each returns 0, or APEX_ENOTFOUND when the
 * symbol has no data yet. */
typedef struct {
    void *ud;
    apex_time (*now)(void *ud);
    int (*last_price)(void *ud, const char *symbol, money_t *out);
    /* Change since the session's first bar as a fraction (-0.03 = down 3%). */
    int (*day_change)(void *ud, const char *symbol, money_t *out);
    /* Highest news impact (0 none, 1 low, 2 medium, 3 high) for symbol (NULL = any)
     * published in [since, now]. */
    int (*news_impact)(void *ud, const char *symbol, apex_time since, int *out);
    /* ctx.history(n): the ring of symbol's last bars the host keeps (NULL when it has none
     * yet), and history_len, the most bars the pipeline declared (`history`; 0 = none). */
    const bar_ring *(*history)(void *ud, const char *symbol);
    int history_len;
} script_market;

typedef enum { SCRIPT_BIAS = 0, SCRIPT_STRATEGY, SCRIPT_SLOT_COUNT } script_slot;

/* A read-only view of an open position, as scripts see it in ctx.position. */
typedef struct {
    int64_t execution_id;
    char symbol[SYMBOL_MAX];
    int side; /* SIDE_BUY = long, SIDE_SELL = short */
    money_t qty, entry_price, current_price;
    money_t unrealized_pnl, unrealized_pnl_pct;
    money_t stop_loss, take_profit;
    money_t trailing_stop; /* the trailing (or the strategy's) stop; 0 = none yet: nil */
    apex_time opened_at;
} script_position;

/* What a strategy's on_bar returned: an entry ({ side = "buy" | "sell", ... }) or a close
 * of the open position on its symbol ({ side = "close", qty | fraction, reason }). */
typedef enum { SIGNAL_ENTRY = 0, SIGNAL_CLOSE } script_signal_kind;

typedef struct {
    script_signal_kind kind;
    order_side side; /* entries only */
    money_t entry;   /* the reference entry price; with entry_typed, the order's price */
    /* entry = "market" | "limit" | "stop" (with price): the entry order's type, instead of
     * execution.entry's. A "stop" buy waits above the market (a breakout), a "limit" below. */
    bool entry_typed;
    order_type entry_type;
    int expire_bars;        /* expires = { bars = n }: cancelled unfilled after n bars; 0 = none */
    int64_t expire_seconds; /* expires = { seconds = n }; 0 = none */
    money_t stop_loss;      /* 0 = use exits.stop_loss_pct */
    money_t take_profit;    /* 0 = use exits.take_profit_pct */
    money_t qty;        /* entry: 0 = let the risk stage size it; close: 0 = all (or fraction) */
    money_t fraction;   /* close: the share of the open quantity, (0, 1]; 0 = not given */
    money_t confidence; /* 0..1, default 1 */
    char reason[160];
} script_signal;

typedef struct {
    char direction[16]; /* "long", "short" or "neutral" */
    money_t confidence; /* 0..1 */
    char reason[160];
} script_bias_result;

typedef struct {
    char rule[160];   /* the instruction text or the rule's name */
    char reason[256]; /* why it fired, e.g. "VIX 41.20 > 40" */
} script_rule_hit;

script_host *script_host_new(const char *pipeline_name, script_limits limits,
                             const script_market *market, char *err, size_t errlen);
void script_host_free(script_host *h);

/* Loads a bias or strategy module from path (its chunk returns a table of callbacks).
 * params_json (may be NULL) becomes ctx.params. on_start(ctx) runs later, once per
 * symbol, just before that symbol's first callback (a ctx exists only per symbol). */
int script_load(script_host *h, script_slot slot, const char *path, const char *params_json,
                char *err, size_t errlen);
/* Recompiles the slot's file. On failure the old module stays and err says why. */
int script_reload(script_host *h, script_slot slot, char *err, size_t errlen);
bool script_loaded(const script_host *h, script_slot slot);
bool script_has_callback(const script_host *h, script_slot slot, const char *name);
/* Whether slot's on_start failed for symbol, so that its module is not called for it until a
 * reload (`check` says which callback it ran). */
bool script_start_failed(script_host *h, script_slot slot, const char *symbol);

/* Compiles the pipeline's instructions: sentences through the instruction compiler
 * (lua/apex/instructions.lua) and rule files as modules. Every problem is added to
 * diags with the instruction's index and text. Returns the number of problems. */
int script_load_rules(script_host *h, const instruction *ins, int n, const char *pipeline_file,
                      diag_list *diags);

/* Calls the slot's on_bar(ctx, bar). For the strategy slot a returned table is a signal:
 * returns 1 and fills *sig (sig->kind says entry or close); returns 0 for nil. pos is the
 * open position on this symbol or NULL. Values crossing the boundary are validated (NaN,
 * infinities, negative prices, unknown sides and fields, a close's qty above pos->qty or
 * given together with fraction) with the script's file and line in err. */
int script_on_bar(script_host *h, script_slot slot, const bar *b, const char *symbol,
                  const script_position *pos, script_signal *sig, char *err, size_t errlen);

/* Calls bias(ctx, symbol). A module without `bias` gives "neutral". */
int script_bias(script_host *h, const char *symbol, script_bias_result *out, char *err,
                size_t errlen);

/* Calls strategy.edge(ctx, position) -> number. *has_edge = false when not defined. */
int script_edge(script_host *h, const script_position *pos, money_t *edge, bool *has_edge,
                char *err, size_t errlen);

/* Calls strategy.stop(ctx, position): the stop price the strategy wants now. *has_price =
 * false when stop is not defined or returned nil (keep the stop). A number is the price;
 * { price = p, loosen = true } also allows the stop to move away from the market (*loosen).
 * A price that is not a positive number, an unknown field or a loosen that is not a boolean
 * is an error naming the script's file and line. */
int script_stop(script_host *h, const script_position *pos, money_t *price, bool *has_price,
                bool *loosen, char *err, size_t errlen);

/* Calls strategy.opportunity(ctx, symbol) -> number (for rebalance). */
int script_opportunity(script_host *h, const char *symbol, money_t *score, bool *has_score,
                       char *err, size_t errlen);

/* Calls strategy.score(ctx, signal) -> number, the coordinator's rank of an entry signal
 * among those of the same bar (sig carries its completed entry, stop_loss, take_profit).
 * *has_score = false when score is not defined or returned nil. */
int script_score(script_host *h, const char *symbol, const script_signal *sig, money_t *score,
                 bool *has_score, char *err, size_t errlen);

/* Notifies the strategy (on_fill / on_exit), if it defines them. */
int script_on_fill(script_host *h, const script_position *pos, order_side side, money_t qty,
                   money_t price, char *err, size_t errlen);
int script_on_exit(script_host *h, const script_position *pos, const char *reason, char *err,
                   size_t errlen);

/* Evaluates every instruction rule against a position. Returns 1 and fills *hit for the
 * first that fires, 0 if none, < 0 if a rule raised (err names it). */
int script_rules_check(script_host *h, const script_position *pos, script_rule_hit *hit, char *err,
                       size_t errlen);
int script_rules_count(const script_host *h);

/* Hot reload. Watches the directories of the loaded modules on loop; calls on_reload after
 * each attempt (status 0 = replaced, < 0 = kept the old code, msg says why). */
struct uv_loop_s;
int script_watch(script_host *h, struct uv_loop_s *loop,
                 void (*on_reload)(void *ud, script_slot slot, int status, const char *msg),
                 void *ud);
/* Stops watching; the loop must run once more to close the handles. */
void script_unwatch(script_host *h);

/* Seeds math.random in the pipeline's state, as math.randomseed(seed) would: the bias,
 * the strategy and the rules then draw one reproducible sequence. Call it after
 * script_host_new and before script_load, so that no user code has drawn a number yet.
 * Backtests always seed (the pipeline's random_seed, else script_seed_from_name of its
 * name); live runs seed only when the pipeline gives random_seed, and otherwise keep
 * Lua's own per-run random seed. Returns 0, or < 0 with err set. */
int script_host_set_seed(script_host *h, uint64_t seed, char *err, size_t errlen);

/* The default seed of a pipeline: FNV-1a 64 of its name (0xcbf29ce484222325 for "").
 * Stable across runs, builds and machines; different for differently named pipelines. */
uint64_t script_seed_from_name(const char *pipeline_name);

/* Script output (print, ctx.log, apex.log) is capped per line and per minute of the host
 * clock (script/output.h). Says how many lines were dropped in a minute that is over by
 * now; with final (the end of a run), also in the minute still open. Call it regularly,
 * e.g. on each new bar time, so a drop is reported even when the script goes quiet. */
void script_flush_output(script_host *h, bool final);

/* Memory in use by the state, in bytes. */
size_t script_memory_used(const script_host *h);

/* The pipeline DSL. Evaluates path in a throwaway sandbox; the chunk returns a table
 * (usually via apex.pipeline{...}). Fills cfg (which the caller initialised with
 * config_defaults), resolving relative paths against the file's directory, then runs
 * config_validate. Every problem goes to diags as "file:line: ..." for syntax and
 * runtime errors or "file: field: ..." for values. Returns the number of problems. */
int script_load_pipeline(const char *path, pipeline_config *cfg, diag_list *diags);
/* The same with --param overrides ("risk.max_positions=3", "strategy.fast=5"), written
 * into the file's table before it is read so they meet the same checks; a problem with
 * one names the --param instead of the file. */
int script_load_pipeline_with(const char *path, pipeline_config *cfg, const char *const *overrides,
                              int noverrides, diag_list *diags);

#endif
