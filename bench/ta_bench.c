/* bench-ta: what apex.ta costs a strategy, per call, in the host's sandbox.
 *
 *   bench-ta [BARS] [onbar|empty [reference]]
 *
 * Runs strategies/ma_cross.lua's on_bar (SMA 10, SMA 30, ATR 14 and the crossover test:
 * the demo strategy) BARS times (default 1000000) over a random walk, then each
 * indicator's update alone (the eight of script/ta.c, then every indicator of core/ta at
 * its defaults), and prints nanoseconds per call, twice: with the apex.ta the
 * binary ships (require "apex.ta") and with the Lua implementation kept in
 * tests/lua/ta_reference.lua substituted for it (the strategy's require is pointed at
 * it), so both run in the same process on the same bars. Times are CPU time (os.clock)
 * minus the same loop calling an empty function, so they are the callee's own cost.
 *
 * With `onbar` only the on_bar loop runs (the shipped apex.ta's, or with `reference` the
 * Lua one's), and nothing is printed; `empty` runs the same loop calling an empty
 * function instead. For instruction counts:
 *   valgrind --tool=callgrind --callgrind-out-file=/dev/null build/bench-ta 200000 onbar
 * minus the same with `empty`, divided by 200000, is the instructions per on_bar. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "script/sandbox.h"
#include "ta/indicator.h"

#ifndef APEX_SOURCE_DIR
#error "APEX_SOURCE_DIR must be defined by the build"
#endif

/* The driver, run in the sandbox: ... = bars, only_onbar, reference-or-nil. Returns a
 * report. The strategy's require is the host's, or one that hands it the reference. */
static const char DRIVER[] =
    "local bars, only_onbar, ref, load_strategy, library = ...\n"
    "local real_require = require\n"
    "local function req(name)\n"
    "  if name == 'apex.ta' and ref then return ref end\n"
    "  return real_require(name)\n"
    "end\n"
    "local M = load_strategy(req)\n"
    "local ta = req('apex.ta')\n"
    "math.randomseed(42)\n"
    "local closes, highs, lows, vols, p = {}, {}, {}, {}, 100\n"
    "for i = 1, bars do\n"
    "  p = p * (1 + (math.random() - 0.5) * 0.01)\n"
    "  closes[i], highs[i], lows[i] = p, p * 1.002, p * 0.998\n"
    "  vols[i] = 1000 + math.random(0, 9000)\n"
    "end\n"
    "local ctx = { symbol = 'AAPL', params = {}, state = {}, now = 0,\n"
    "              log = function() end }\n"
    "M.on_start(ctx)\n"
    "local bar = { time = 0, symbol = 'AAPL', open = 0, high = 0, low = 0, close = 0,\n"
    "              volume = 100 }\n"
    "local function feed(fn)\n"
    "  local t0 = os.clock()\n"
    "  for i = 1, bars do\n"
    "    local c = closes[i]\n"
    "    bar.time, bar.open, bar.high, bar.low, bar.close = i * 60, c, highs[i], lows[i], c\n"
    "    fn(ctx, bar)\n"
    "  end\n"
    "  return os.clock() - t0\n"
    "end\n"
    "if only_onbar == 'empty' then feed(function() end) return '' end\n"
    "local t_onbar = feed(M.on_bar)\n"
    "if only_onbar then return '' end\n"
    "local t_empty = feed(function() end)\n"
    "local out = { string.format('  ma_cross on_bar           %8.1f ns', \n"
    "                            (t_onbar - t_empty) / bars * 1e9) }\n"
    "local function per_update(label, obj, hlc)\n"
    "  local u = obj.update\n"
    "  local t0 = os.clock()\n"
    "  if hlc then\n"
    "    for i = 1, bars do u(obj, highs[i], lows[i], closes[i]) end\n"
    "  else\n"
    "    for i = 1, bars do u(obj, closes[i]) end\n"
    "  end\n"
    "  local t = os.clock() - t0\n"
    "  local nop = function() end\n"
    "  t0 = os.clock()\n"
    "  for i = 1, bars do nop(obj, closes[i]) end\n"
    "  t = t - (os.clock() - t0)\n"
    "  out[#out + 1] = string.format('  %-24s %8.1f ns', label, t / bars * 1e9)\n"
    "end\n"
    "per_update('sma(30):update', ta.sma(30))\n"
    "per_update('ema(30):update', ta.ema(30))\n"
    "per_update('rsi(14):update', ta.rsi(14))\n"
    "per_update('atr(14):update', ta.atr(14), true)\n"
    "per_update('bollinger(20):update', ta.bollinger(20, 2))\n"
    "per_update('macd():update', ta.macd())\n"
    "per_update('highest(20):update', ta.highest(20))\n"
    "-- CCI's mean deviation: the O(n) sum (20, 200) and the O(log n) tree (1000)\n"
    "if not ref then\n"
    "  per_update('cci(20):update', ta.cci(20), true)\n"
    "  per_update('cci(200):update', ta.cci(200), true)\n"
    "  per_update('cci(1000):update', ta.cci(1000), true)\n"
    "end\n"
    "-- the library's indicators at their defaults, fed as their update() takes them\n"
    "-- (inputs: h high, l low, c close, x value, v volume, s session, y a second series)\n"
    "local feeds = {\n"
    "  x = function(u, o) for i = 1, bars do u(o, closes[i]) end end,\n"
    "  xy = function(u, o) for i = 1, bars do u(o, closes[i], highs[i]) end end,\n"
    "  hl = function(u, o) for i = 1, bars do u(o, highs[i], lows[i]) end end,\n"
    "  hlc = function(u, o) for i = 1, bars do u(o, highs[i], lows[i], closes[i]) end end,\n"
    "  hlcs = function(u, o)\n"
    "    for i = 1, bars do u(o, highs[i], lows[i], closes[i], i // 390) end\n"
    "  end,\n"
    "  hlcv = function(u, o)\n"
    "    for i = 1, bars do u(o, highs[i], lows[i], closes[i], vols[i]) end\n"
    "  end,\n"
    "  hlcvs = function(u, o)\n"
    "    for i = 1, bars do u(o, highs[i], lows[i], closes[i], vols[i], i // 390) end\n"
    "  end,\n"
    "  cv = function(u, o) for i = 1, bars do u(o, closes[i], vols[i]) end end,\n"
    "}\n"
    "local nop = function() end\n"
    "for _, ind in ipairs(ref and {} or library) do\n"
    "  local obj = ta[ind.kind]()\n"
    "  local feed = feeds[ind.inputs]\n"
    "  local t0 = os.clock()\n"
    "  feed(obj.update, obj)\n"
    "  local t = os.clock() - t0\n"
    "  t0 = os.clock()\n"
    "  feed(nop, obj)\n"
    "  t = t - (os.clock() - t0)\n"
    "  out[#out + 1] = string.format('  %-24s %8.1f ns', ind.kind .. '():update', t / bars * 1e9)\n"
    "end\n"
    "local s = ta.sma(3)\n"
    "s:update(1) s:update(2) s:update(3)\n"
    "local t0 = os.clock()\n"
    "local v\n"
    "for i = 1, bars do v = s.value end\n"
    "out[#out + 1] = string.format('  %-24s %8.1f ns (with the loop)', 'obj.value',\n"
    "                              (os.clock() - t0) / bars * 1e9)\n"
    "return table.concat(out, '\\n')\n";

typedef struct {
    long bars;
    const char *only_onbar; /* NULL, "onbar" or "empty" */
    int reference;
    const char *report;
} run_args;

/* load_strategy(require): loads strategies/ma_cross.lua in a fresh environment whose
 * require is the one given, and returns the module. */
static int load_strategy(lua_State *L)
{
    sandbox_push_env(L);
    lua_pushvalue(L, 1);
    lua_setfield(L, -2, "require");
    sandbox_load_file(L, APEX_SOURCE_DIR "/strategies/ma_cross.lua", -1);
    lua_call(L, 0, 1);
    return 1;
}

/* The library's indicators (core/ta) as { kind = "wma", inputs = "x" }, inputs by their
 * first letters ("hlcvs": high, low, close, volume, session; "xy", "cv"). [-0, +1, m] */
static void push_library(lua_State *L)
{
    lua_newtable(L);
    for (size_t i = 0; ta_defs[i] != NULL; i++) {
        char inputs[TA_MAX_INPUTS + 1] = "";
        int n = ta_def_ninputs(ta_defs[i]);
        for (int k = 0; k < n; k++) {
            const char *name = ta_defs[i]->inputs[k];
            /* asset/benchmark feed as x/y */
            inputs[k] = strcmp(name, "asset") == 0       ? 'x'
                        : strcmp(name, "benchmark") == 0 ? 'y'
                                                         : name[0];
        }
        inputs[n] = '\0';
        lua_createtable(L, 0, 2);
        lua_pushstring(L, ta_defs[i]->kind);
        lua_setfield(L, -2, "kind");
        lua_pushstring(L, inputs);
        lua_setfield(L, -2, "inputs");
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
}

static int run_driver(lua_State *L)
{
    run_args *a = lua_touserdata(L, 1);
    luaL_checkstack(L, 8, NULL);
    if (luaL_loadbufferx(L, DRIVER, sizeof DRIVER - 1, "=bench-ta", "t") != LUA_OK)
        return lua_error(L);
    sandbox_push_env(L);
    lua_setupvalue(L, -2, 1);
    lua_pushinteger(L, a->bars);
    if (a->only_onbar)
        lua_pushstring(L, a->only_onbar);
    else
        lua_pushboolean(L, 0);
    if (a->reference) {
        sandbox_push_env(L);
        sandbox_load_file(L, APEX_SOURCE_DIR "/tests/lua/ta_reference.lua", -1);
        lua_call(L, 0, 1);
        lua_remove(L, -2);
    } else {
        lua_pushnil(L);
    }
    lua_pushcfunction(L, load_strategy);
    push_library(L);
    lua_call(L, 5, 1);
    /* the report stays on the stack, and so valid, until sandbox_run returns; copied */
    a->report = strdup(lua_tostring(L, -1));
    return 0;
}

static int run_one(long bars, const char *only_onbar, int reference)
{
    script_limits limits = {.memory_limit = 512u << 20, .deadline_ms = 600000};
    sandbox sb;
    char err[1024];
    if (sandbox_open(&sb, limits, "bench", NULL, err, sizeof err) != 0) {
        fprintf(stderr, "bench-ta: %s\n", err);
        return 1;
    }
    run_args a = {.bars = bars, .only_onbar = only_onbar, .reference = reference};
    int rc = sandbox_run(&sb, run_driver, &a, err, sizeof err);
    sandbox_close(&sb);
    if (rc != 0) {
        fprintf(stderr, "bench-ta: %s\n", err);
        return 1;
    }
    if (!only_onbar)
        printf("%s, %ld bars, CPU time per call:\n%s\n",
               reference ? "apex.ta in Lua (tests/lua/ta_reference.lua)"
                         : "apex.ta as shipped (require \"apex.ta\")",
               bars, a.report);
    free((char *)a.report);
    return 0;
}

int main(int argc, char **argv)
{
    long bars = argc > 1 ? strtol(argv[1], NULL, 10) : 1000000;
    const char *only_onbar = NULL;
    if (argc > 2 && (strcmp(argv[2], "onbar") == 0 || strcmp(argv[2], "empty") == 0))
        only_onbar = argv[2];
    int reference = argc > 3 && strcmp(argv[3], "reference") == 0;
    if (bars < 0 || (argc > 2 && !only_onbar) || (argc > 3 && !reference)) {
        fprintf(stderr, "usage: bench-ta [BARS] [onbar|empty [reference]]\n");
        return 2;
    }
    if (only_onbar)
        return run_one(bars, only_onbar, reference);
    return run_one(bars, NULL, 0) || run_one(bars, NULL, 1);
}
