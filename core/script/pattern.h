/* pattern: the host's own string.find, string.match, string.gmatch and string.gsub.
 *
 * Lua runs its pattern functions inside one C call, and hooks only run between VM
 * instructions, so a backtracking pattern (string.find(s, ".-.-.-b") over a long s) or
 * a quadratic plain search keeps the whole host stuck, out of the deadline's reach.
 * These four functions give the results and error messages of Lua 5.4's (reference
 * manual §6.4, §6.4.1) but count their work in steps and ask a budget callback every
 * PATTERN_BUDGET_STEPS steps whether to go on; plain searches are linear (memmem). */
#ifndef APEX_SCRIPT_PATTERN_H
#define APEX_SCRIPT_PATTERN_H

#include <stdbool.h>
#include <stddef.h>

#include <lua.h>

/* Steps between two calls of the budget callback. A step is about one character tried
 * against a pattern item (a backtrack is a step too); a plain search counts one step per
 * 16 bytes it scans. */
#define PATTERN_BUDGET_STEPS 4096

/* Room the callback has for its message, terminator included. */
#define PATTERN_MESSAGE_MAX 256

/* Asked every PATTERN_BUDGET_STEPS steps while a pattern function runs on L. Returns
 * false to go on; true to stop, after writing a message into msg (msglen bytes): the
 * function then raises it as a Lua error, prefixed like any library error with the
 * calling Lua frame's "file:line: ". Runs inside the pattern function's C call, so it
 * may use L (lua_sethook, for instance) but must leave L's stack as it found it. */
typedef bool (*pattern_budget_fn)(lua_State *L, void *ud, char *msg, size_t msglen);

/* Replaces find, match, gmatch and gsub in the table at strlib_idx (a string library
 * table) with the bounded versions. fn may be NULL (never stop); fn and ud must stay
 * valid while the state can call them. Every other field of the table is left alone.
 * [-0, +0, m] */
void pattern_open(lua_State *L, int strlib_idx, pattern_budget_fn fn, void *ud);

#endif
