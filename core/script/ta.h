/* ta: apex.ta, the incremental technical indicators, in C.
 *
 * The Lua API is the one docs/lua-api.md ("apex.ta indicators") describes: ta.sma(n),
 * ta.ema(n), ta.rsi(n), ta.atr(n, opts), ta.bollinger(n, k), ta.macd(fast, slow, signal,
 * opts), ta.highest(n), ta.lowest(n), each an object with :update(...), :ready(), .value,
 * .n and its extra fields, ta.crossed_above / ta.crossed_below, and every indicator of
 * core/ta (ta.wma, ta.stoch, ta.adx, ...: ta/indicator.h lists them). Each indicator is a
 * full userdata allocated through the state's allocator (so a sandbox's memory cap
 * covers its ring buffers), with a protected metatable (__metatable = false) named
 * "apex.ta.<kind>". The eight first ones compute what the Lua implementation they replaced did,
 * operation for operation (tests/lua/ta_reference.lua keeps that implementation as the
 * reference the tests compare against), so both give the same doubles. */
#ifndef APEX_SCRIPT_TA_H
#define APEX_SCRIPT_TA_H

#include <lua.h>

/* The module's name for require. */
#define TA_MODULE_NAME "apex.ta"

/* Opens the module, luaopen-style: pushes a new table of its functions. The indicator
 * metatables are created in the registry on the first call and reused after that.
 * [-0, +1, m] */
int ta_open(lua_State *L);

#endif
