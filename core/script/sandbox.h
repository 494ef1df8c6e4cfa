/* sandbox: a capped, deadline-guarded lua_State with only the safe libraries.
 * Internal to core/script/. See script.h for what scripts may and may not do.
 *
 * Every entry from C into the state goes through sandbox_pcall, so a memory
 * error or a runaway loop unwinds to the host instead of aborting it. */
#ifndef APEX_SCRIPT_SANDBOX_H
#define APEX_SCRIPT_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lua.h>
#include <signal.h>

#include "script/script.h"

/* The real-time signal the deadline watchdog uses (see sandbox.c). */
#define SANDBOX_WATCHDOG_SIGNAL (SIGRTMIN + 3)

typedef struct sandbox {
    lua_State *L;
    size_t used;  /* bytes currently allocated by the state */
    size_t limit; /* refuse growth past this */
    int deadline_ms;
    int64_t deadline_ns; /* CLOCK_MONOTONIC; 0 = not armed */
    int depth;           /* nested sandbox_pcall calls; only the outermost arms */
    bool tripped;        /* the deadline fired during the current outer call */
    bool watchdog;       /* holds a reference on the process-wide watchdog timer */
    char pipeline[64];   /* for log lines */
    script_market market;
    bool has_market;
} sandbox;

/* Opens the state: safe libraries, read-only library proxies, protected string
 * metatable, restricted load/collectgarbage/require, the apex global. market may be
 * NULL (apex.price and friends then return nil). */
int sandbox_open(sandbox *sb, script_limits limits, const char *pipeline_name,
                 const script_market *market, char *err, size_t errlen);
void sandbox_close(sandbox *sb);

/* Calls the function below nargs arguments on the stack with the deadline armed and a
 * message handler that adds file:line. Pops the function and arguments and leaves no
 * results. Returns 0, or APEX_ESCRIPT / APEX_ENOMEM with the message in err. */
int sandbox_pcall(sandbox *sb, int nargs, char *err, size_t errlen);

/* The message handler sandbox_pcall installs, for nested protected calls made from C
 * inside an outer call (e.g. one per instruction rule). */
int sandbox_msgh(lua_State *L);

/* Pushes a new module environment: an empty table whose reads fall through to the
 * sandbox globals and whose writes stay local. */
void sandbox_push_env(lua_State *L);

/* Loads a text chunk from a file with chunk name "@<path>", sets its _ENV to the table
 * at env_idx and leaves the function on the stack; on failure raises a Lua error naming
 * the file (call inside a protected call). */
void sandbox_load_file(lua_State *L, const char *path, int env_idx);

/* Registers the table at idx as read-only: rawset refuses it, naming it `name`. */
void sandbox_mark_readonly(lua_State *L, int idx, const char *name);

/* Pushes require("name") (calls the sandbox's require; raises on failure). */
void sandbox_require(lua_State *L, const char *name);

/* The sandbox that owns L (stored as the allocator's user data). */
sandbox *sandbox_of(lua_State *L);

/* Formats a unix-seconds number for ctx.now / apex.now from host microseconds. */
void sandbox_push_time(lua_State *L, int64_t us);

/* apex_api.c: builds the apex global into the sandbox globals (table at g_idx). */
void apex_api_open(lua_State *L, int g_idx);
/* Pushes the `m` table given to instruction rules: { price, change, news, now }. */
void apex_api_push_market_table(lua_State *L);

#endif
