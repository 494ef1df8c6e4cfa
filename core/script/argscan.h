/* argscan: whether a Lua function only reads fields of one of its parameters.
 * Internal to core/script/.
 *
 * The host hands on_bar one bar table per module and rewrites it for every bar instead
 * of building a new table per call (a third of a no-op backtest's instructions). That is
 * only invisible to the script while the table cannot outlive the call or be changed by
 * it, so the callback's bytecode is checked once, when the module is compiled: a
 * function whose parameter is used only as `bar.field`, `bar[k]` or a truth test gets
 * the shared table; any other use (stored, passed, returned, written, captured by a
 * closure, compared, iterated, behind `...`) gets a fresh table per call as before. */
#ifndef APEX_SCRIPT_ARGSCAN_H
#define APEX_SCRIPT_ARGSCAN_H

#include <stdbool.h>

#include <lua.h>

/* True when the Lua function at idx provably only reads fields of its parameter number
 * arg (0-based) and tests its truth; false when it may do anything else with it, when
 * the function is not a Lua function, or when its bytecode is not the Lua 5.4 format
 * this was written for (the safe answer). When true, *read has bit f set for each of
 * the nnames (at most 32) field names the function may read: names[f] read by name,
 * or all of them when it reads a field whose name is computed at run time (bar[k]); a
 * field it never reads need not be set. Does not raise; may allocate a copy of the
 * function's bytecode with malloc (freed before it returns). [-0, +0, -] */
bool argscan_fields_only(lua_State *L, int idx, int arg, const char *const *names, int nnames,
                         unsigned *read);

#endif
