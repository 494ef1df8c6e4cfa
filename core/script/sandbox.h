/* sandbox: a capped, deadline-guarded lua_State with only the safe libraries.
 * Internal to core/script/. See script.h for what scripts may and may not do.
 *
 * Every entry from C into the state goes through sandbox_run, so a memory error or
 * a runaway loop unwinds to the host instead of aborting it. */
#ifndef APEX_SCRIPT_SANDBOX_H
#define APEX_SCRIPT_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lua.h>
#include <signal.h>

#include "script/output.h"
#include "script/script.h"

/* The real-time signal the deadline watchdog uses (see sandbox.c). */
#define SANDBOX_WATCHDOG_SIGNAL (SIGRTMIN + 3)

typedef struct sandbox {
    lua_State *L;
    lua_State *volatile running; /* the coroutine being resumed, or NULL (the watchdog's) */
    size_t used;                 /* bytes currently allocated by the state */
    size_t limit;                /* refuse growth past this */
    int deadline_ms;
    int64_t deadline_ns;             /* CLOCK_MONOTONIC; 0 = not armed */
    int depth;                       /* nested sandbox_run calls; only the outermost arms */
    bool tripped;                    /* the deadline fired during the current outer call */
    bool overran;                    /* the last outermost call was stopped by the deadline */
    bool hooked;                     /* the watchdog installed the hook for this overrun (once) */
    int close_depth;                 /* coroutine.close calls in progress, nested through __close */
    unsigned budget_ops;             /* bounded C loops' work since their last clock check */
    char mem_where[LUA_IDSIZE + 16]; /* "file:line" of the first refused allocation */
    bool watchdog;                   /* holds a reference on the process-wide watchdog timer */
    char pipeline[64];               /* for log lines */
    /* Per outermost call: apex_lua_calls_total, apex_lua_call_seconds_total and
     * apex_lua_memory_bytes of this pipeline (metrics.h). */
    struct metrics_series *m_calls, *m_call_ns, *m_memory;
    script_market market;
    bool has_market;
    script_output output; /* print, ctx.log and apex.log: this minute's budget (output.h) */
} sandbox;

/* Stack effects follow the Lua manual's notation: [-o, +p, x] pops o values, pushes p
 * and x says whether the function may raise ("-" never, "m" only a memory error, "e"
 * any error, "v" an error on purpose). A function marked e or m must run inside a
 * protected call (sandbox_run or a trampoline it runs); the others may be called from
 * plain host code. */

/* Opens the state: safe libraries, read-only library proxies, protected string
 * metatable, restricted load/collectgarbage/require, the apex global. market may be
 * NULL (apex.price and friends then return nil). math.random starts from Lua's own
 * per-run random seed; sandbox_set_seed makes it reproducible. */
int sandbox_open(sandbox *sb, script_limits limits, const char *pipeline_name,
                 const script_market *market, char *err, size_t errlen);
void sandbox_close(sandbox *sb);

/* The one way C enters the state: calls fn(L) with ud as its only argument (a light
 * userdata) inside a protected call, and returns 0, or APEX_ESCRIPT / APEX_ENOMEM with
 * the message in err. The conversions a call needs (building argument tables, reading
 * results) belong in fn, so a memory cap hit or a metamethod raising while they run
 * unwinds here instead of aborting the process. This is the single place that:
 *  - arms the deadline (only the outermost call: nested runs, such as one per
 *    instruction rule, share the outer call's budget, and a tripped deadline keeps
 *    failing them until the outermost call unwinds);
 *  - formats errors as "file:line: message (called from file:line, ...)";
 *  - turns a memory error into the memory-limit message, and collects what a failed
 *    outermost call left behind.
 * May be called from host code or, nested, from inside fn. fn may leave values on
 * the stack; they are dropped. [-0, +0, -] */
int sandbox_run(sandbox *sb, lua_CFunction fn, void *ud, char *err, size_t errlen);

/* sandbox_run for a function already on the stack: calls the function below nargs
 * arguments and pops it and them, leaving no results. [-(nargs+1), +0, -] */
int sandbox_pcall(sandbox *sb, int nargs, char *err, size_t errlen);

/* Counts the state's calls, their time and its memory in the metrics under this pipeline
 * name (apex_lua_*, metrics.h). Until then nothing is counted (the pipeline loader's
 * throwaway state never is). [-0, +0, -] */
void sandbox_set_metrics(sandbox *sb, const char *pipeline);

/* Seeds math.random as math.randomseed(seed) would, for a reproducible sequence (call
 * before any user code runs). Returns 0 or < 0 with err set. [-0, +0, -] */
int sandbox_set_seed(sandbox *sb, uint64_t seed, char *err, size_t errlen);

/* For C loops the deadline hook cannot interrupt: counts `units` of work and, every
 * 1024 units, reads the clock; past the running call's deadline it trips it and raises
 * the deadline error (never while no host call is running). [-0, +0, v] */
void sandbox_budget(lua_State *L, unsigned units);

/* The message handler sandbox_run installs. [-1, +1, m] */
int sandbox_msgh(lua_State *L);

/* Pushes a new module environment: an empty table whose reads fall through to the
 * sandbox globals and whose writes stay local. [-0, +1, m] */
void sandbox_push_env(lua_State *L);

/* Loads a text chunk from a file with luaL_loadfilex(..., "t") (chunk name "@<path>"),
 * sets its _ENV to the table at env_idx and leaves the function on the stack. On failure
 * raises an error naming the file: "<path>:<line>: ..." for syntax errors, "<path>:
 * cannot open: ..." for a missing file, "<path>: is precompiled Lua bytecode ..." for a
 * binary chunk. [-0, +1, e] */
void sandbox_load_file(lua_State *L, const char *path, int env_idx);

/* Registers the table at idx as read-only: rawset refuses it, naming it `name`.
 * [-0, +0, m] */
void sandbox_mark_readonly(lua_State *L, int idx, const char *name);

/* Pushes require("name") (calls the sandbox's require). [-0, +1, e] */
void sandbox_require(lua_State *L, const char *name);

/* The sandbox that owns L (stored as the allocator's user data). [-0, +0, -] */
sandbox *sandbox_of(lua_State *L);

/* Pushes host microseconds as unix seconds for ctx.now / apex.now: an integer when
 * whole, else a float. [-0, +1, -] */
void sandbox_push_time(lua_State *L, int64_t us);

/* apex_api.c: builds the apex global into the sandbox globals (table at g_idx).
 * [-0, +0, m] */
void apex_api_open(lua_State *L, int g_idx);
/* Pushes the `m` table given to instruction rules: { price, change, news, now }.
 * [-0, +1, m] */
void apex_api_push_market_table(lua_State *L);

#endif
