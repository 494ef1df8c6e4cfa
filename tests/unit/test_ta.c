/* test_ta: apex.ta (script/ta.c) inside the host's sandbox, where scripts use it: the
 * memory cap covers the indicators' buffers, no argument a script can pass crashes the
 * host, and the objects cannot be patched. The values are checked elsewhere: against a
 * naive recomputation (tests/lua/test_ta.lua), against the Lua implementation it replaced
 * (tests/lua/test_ta_c_vs_lua.lua, tests/ttr) and against R's TTR (tests/ttr). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <lauxlib.h>
#include <lua.h>

#include "script/sandbox.h"
#include "util/err.h"

typedef struct {
    sandbox sb;
    int env_ref;
    char err[1024];
} fixture;

/* 8 MiB, as a small pipeline might have; a minute, so only the cap stops a test. */
static int setup(void **state)
{
    static fixture f;
    memset(&f, 0, sizeof f);
    script_limits lim = {.memory_limit = 8u << 20, .deadline_ms = 60000};
    assert_int_equal(sandbox_open(&f.sb, lim, "test", NULL, f.err, sizeof f.err), 0);
    sandbox_push_env(f.sb.L);
    f.env_ref = luaL_ref(f.sb.L, LUA_REGISTRYINDEX);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    sandbox_close(&f->sb);
    return 0;
}

/* Runs code as a script chunk in the fixture's environment; the sandbox_pcall code, with
 * any message in f->err. */
static int run(fixture *f, const char *code)
{
    lua_State *L = f->sb.L;
    f->err[0] = '\0';
    if (luaL_loadbufferx(L, code, strlen(code), "@test.lua", "t") != LUA_OK) {
        snprintf(f->err, sizeof f->err, "%s", lua_tostring(L, -1));
        lua_pop(L, 1);
        return APEX_EINVAL;
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, f->env_ref);
    lua_setupvalue(L, -2, 1);
    return sandbox_pcall(&f->sb, 0, f->err, sizeof f->err);
}

static void expect_ok(fixture *f, const char *code)
{
    if (run(f, code) != 0)
        fail_msg("%s", f->err);
}

static void expect_error(fixture *f, int rc_want, const char *needle, const char *code)
{
    int rc = run(f, code);
    if (rc != rc_want || strstr(f->err, needle) == NULL)
        fail_msg("expected %d with \"%s\", got %d: %s", rc_want, needle, rc, f->err);
}

/* A window larger than the cap is refused by the allocator: a memory error for the
 * script, not a crash or an abort, and the state goes on working. */
static void test_huge_periods_hit_the_memory_cap(void **state)
{
    fixture *f = *state;
    expect_error(f, APEX_ENOMEM, "not enough memory", "local t = require('apex.ta').sma(1e7)");
    expect_error(f, APEX_ENOMEM, "not enough memory", "apex.ta.highest(10000000)");
    expect_error(f, APEX_ENOMEM, "not enough memory", "apex.ta.bollinger(5e6, 2)");
    expect_error(f, APEX_ENOMEM, "not enough memory",
                 "local keep = {}\n"
                 "for i = 1, 1e6 do keep[i] = apex.ta.lowest(1000) end");
    expect_ok(f, "local s = apex.ta.sma(2); s:update(1); assert(s:update(3) == 2)");
    /* a period past the documented maximum is an argument error, before any allocation */
    expect_error(f, APEX_ESCRIPT,
                 "ta.ema: n must be a whole number of bars >= 1, got 1000000000000.0",
                 "apex.ta.ema(1e12)");
    expect_error(f, APEX_ESCRIPT, "ta.sma: n must be a whole number of bars >= 1, got 10000001",
                 "apex.ta.sma(10000001)");
}

/* The buffers are Lua memory: what the script's collectgarbage("count") and the cap see. */
static void test_buffers_are_counted_by_the_sandbox(void **state)
{
    fixture *f = *state;
    expect_ok(f, "collectgarbage('collect')\n"
                 "local before = collectgarbage('count')\n"
                 "local s = apex.ta.sma(100000)\n"
                 "local grown = collectgarbage('count') - before\n"
                 "assert(grown >= 780 and grown < 1200, 'sma(100000) grew ' .. grown .. ' KiB')\n"
                 "s = nil\n"
                 "collectgarbage('collect')\n"
                 "assert(collectgarbage('count') - before < 50, 'freed with the object')\n");
}

/* Whatever a script passes, every call returns or raises a Lua error. */
static void test_no_argument_crashes_the_host(void **state)
{
    fixture *f = *state;
    expect_ok(
        f, "local ta = require('apex.ta')\n"
           "local bad = setmetatable({}, { __tostring = function() error('boom') end })\n"
           "local odd = setmetatable({}, { __tostring = function() return 'odd' end,\n"
           "                               __le = function() return true end,\n"
           "                               __lt = function() return true end })\n"
           "local values = { nil, false, true, 0, -0.0, 1, -1, 0.5, 0 / 0, math.huge,\n"
           "                 -math.huge, math.maxinteger, math.mininteger, 1e308, -1e308, 5e-324,\n"
           "                 1e7, 1e7 + 1, '14', 'x', {}, { first_tr = 'skip' },\n"
           "                 { percent = true }, { percent = 1 }, { [{}] = 1 }, bad, odd, print,\n"
           "                 coroutine.create(print), ta.sma(2), ta }\n"
           "local nv = 31\n"
           "local ctors = { 'sma', 'ema', 'rsi', 'atr', 'bollinger', 'macd', 'highest',\n"
           "                'lowest' }\n"
           "local made, calls = {}, 0\n"
           "for _, name in ipairs(ctors) do\n"
           "  for i = 1, nv do\n"
           "    for j = 1, nv, 3 do\n"
           "      calls = calls + 1\n"
           "      local ok, obj = pcall(ta[name], values[i], values[j], values[(i + j) % nv + 1])\n"
           "      if ok then made[#made + 1] = obj end\n"
           "    end\n"
           "  end\n"
           "  made[#made + 1] = ta[name](3)\n"
           "end\n"
           "for _, obj in ipairs(made) do\n"
           "  for i = 1, nv do\n"
           "    for j = 1, nv, 5 do\n"
           "      local ok, v = pcall(obj.update, obj, values[i], values[j], values[i])\n"
           "      assert(not ok or v == nil or type(v) == 'number', tostring(v))\n"
           "      pcall(obj.update, values[i], values[j])\n"
           "      pcall(obj.ready, values[i])\n"
           "      local _ = obj.value, obj.n, obj[values[i] or 1], obj:ready()\n"
           "      pcall(function() obj[values[i] or 1] = values[j] end)\n"
           "    end\n"
           "  end\n"
           "end\n"
           "for i = 1, nv do\n"
           "  for j = 1, nv, 2 do\n"
           "    pcall(ta.crossed_above, values[i], values[j], values[j], values[i])\n"
           "    pcall(ta.crossed_below, values[j], values[i], values[i], values[j])\n"
           "  end\n"
           "end\n"
           "assert(calls > 1000 and #made > 50, #made)\n");
}

/* The objects are the host's: their metatable is hidden, their fields read-only. */
static void test_objects_cannot_be_patched(void **state)
{
    fixture *f = *state;
    expect_ok(f, "local s = apex.ta.sma(3)\n"
                 "assert(getmetatable(s) == false)\n"
                 "assert(not pcall(setmetatable, s, {}))\n"
                 "assert(not pcall(rawset, s, 'update', print))\n"
                 "assert(not pcall(function() s.update = print end))\n"
                 "assert(not pcall(function() s.value = 5 end))\n"
                 "s:update(1) s:update(2)\n"
                 "assert(s:update(3) == 2 and s.value == 2 and s.n == 3)\n"
                 "assert(apex.ta.ema(3).update ~= s.update, 'one update per kind')\n");
    expect_error(f, APEX_ESCRIPT,
                 "test.lua:1: apex.ta.atr: cannot set field 'n': indicators are read-only",
                 "apex.ta.atr(14).n = 0");
    expect_error(f, APEX_ESCRIPT,
                 "test.lua:2: bad argument #1 to 'update' (apex.ta.rsi expected, got "
                 "apex.ta.sma)",
                 "local r, s = apex.ta.rsi(3), apex.ta.sma(3)\n"
                 "r.update(s, 1)");
}

/* Errors name the script's line, as the Lua implementation's did. */
static void test_errors_point_at_the_script_line(void **state)
{
    fixture *f = *state;
    expect_error(f, APEX_ESCRIPT, "test.lua:2: ta.sma: n must be a whole number of bars >= 1",
                 "local ta = require('apex.ta')\n"
                 "local s = ta.sma(0)");
    expect_error(f, APEX_ESCRIPT, "test.lua:3: sma:update: expected a finite number, got ",
                 "local ta = require('apex.ta')\n"
                 "local s = ta.sma(3)\n"
                 "s:update(0 / 0)");
    expect_error(f, APEX_ESCRIPT, "test.lua:1: atr (close):update: expected a finite number",
                 "apex.ta.atr(3):update(2, 1)");
}

/* The core/ta indicators (one binding for all, script/ta.c) with whatever a script passes:
 * every constructor and update returns or raises a Lua error. */
static void test_library_indicators_survive_any_argument(void **state)
{
    fixture *f = *state;
    expect_ok(
        f, "local ta = require('apex.ta')\n"
           "local values = { nil, false, true, 0, -0.0, 1, -1, 0.5, 0 / 0, math.huge,\n"
           "                 -math.huge, math.maxinteger, math.mininteger, 1e308, 5e-324,\n"
           "                 1e7 + 1, '14', 'x', {}, { n = 3 }, { sample = 1 },\n"
           "                 { type = 'log' }, { first_tr = 'skip' }, { [{}] = 1 }, print,\n"
           "                 ta.wma(2), ta }\n"
           "local nv = #values + 1\n"
           "local old = { sma = 1, ema = 1, rsi = 1, atr = 1, bollinger = 1, macd = 1,\n"
           "              highest = 1, lowest = 1, crossed_above = 1, crossed_below = 1 }\n"
           "local made, kinds = {}, 0\n"
           "for name, ctor in pairs(ta) do\n"
           "  if not old[name] then\n"
           "    kinds = kinds + 1\n"
           "    for i = 1, nv, 2 do\n"
           "      for j = 1, nv, 3 do\n"
           "        local ok, obj = pcall(ctor, values[i], values[j], values[(i + j) % nv + 1])\n"
           "        if ok then made[#made + 1] = obj end\n"
           "      end\n"
           "    end\n"
           "    made[#made + 1] = ctor()\n"
           "  end\n"
           "end\n"
           "for _, obj in ipairs(made) do\n"
           "  for i = 1, nv, 2 do\n"
           "    local ok, v = pcall(obj.update, obj, values[i], values[i], values[i], values[i],\n"
           "                        values[i])\n"
           "    assert(not ok or v == nil or type(v) == 'number', tostring(v))\n"
           "    pcall(obj.update, obj, 1, 1, 1, 1, values[i])\n"
           "    pcall(obj.update, values[i], 1)\n"
           "    local _ = obj.value, obj.n, obj[values[i] or 1], obj:ready()\n"
           "    pcall(function() obj[values[i] or 1] = 1 end)\n"
           "  end\n"
           "end\n"
           "assert(kinds >= 26 and #made > 100, kinds .. ' kinds, ' .. #made .. ' made')\n");
}

/* What a script sees: defaults, options, fields, nil while warming up, and messages that
 * name the constructor, the parameter and a valid value. */
static void test_library_arguments_fields_and_messages(void **state)
{
    fixture *f = *state;
    expect_ok(f, "local ta = apex.ta\n"
                 "local s = ta.stoch()\n"
                 "assert(s.n == 14 and s.d_n == 3 and s.smooth == 1 and s.value == nil)\n"
                 "for i = 1, 15 do assert(s:update(10 + i, 9 + i, 10 + i) == nil) end\n"
                 "local k, d = s:update(30, 20, 30)\n"
                 "assert(k == 100 and d and s.k == 100 and s.value == 100 and s.d == d)\n"
                 "local r = ta.roc(2, { type = 'continuous' })\n"
                 "assert(r.type == 'continuous' and r:update(1) == nil)\n"
                 "r:update(2)\n"
                 "assert(math.abs(r:update(math.exp(1)) - 1) < 1e-15)\n"
                 "local st = ta.supertrend(1, 1)\n"
                 "local line, dir = st:update(10, 8, 9)\n"
                 "assert(line == 11 and math.type(dir) == 'integer' and dir == -1)\n"
                 "local ich = ta.ichimoku(1, 2, 3)\n"
                 "for i = 1, 3 do ich:update(10 + i, 9 + i) end\n"
                 "assert(ich.value == 12.5 and ich.cloud_a == nil and ich:ready())\n"
                 "local v = ta.vwap()\n"
                 "assert(v:update(11, 9, 10, 100) == 10)\n"
                 "assert(v:update(13, 11, 12, 300) == 11.5, 'no session: one long session')\n"
                 "local kc = ta.keltner(20)\n"
                 "assert(kc.atr_n == nil and kc.k == 2 and kc.first_tr == 'range')\n"
                 "assert(ta.stdev(5, { sample = true }).sample == true)\n");
    /* the example of docs/lua-api.md ("The indicator library"), over a rising market */
    expect_ok(f, "local ta = require('apex.ta')\n"
                 "local M = {}\n"
                 "function M.on_start(ctx)\n"
                 "    ctx.state.adx, ctx.state.st = ta.adx(14), ta.supertrend(10, 3)\n"
                 "    ctx.state.vwap = ta.vwap()\n"
                 "end\n"
                 "function M.on_bar(ctx, bar)\n"
                 "    local s = ctx.state\n"
                 "    local adx = s.adx:update(bar.high, bar.low, bar.close)\n"
                 "    local line, direction = s.st:update(bar.high, bar.low, bar.close)\n"
                 "    local day = bar.time // 86400\n"
                 "    local vwap = s.vwap:update(bar.high, bar.low, bar.close, bar.volume, day)\n"
                 "    if adx and adx > 25 and direction == 1 and bar.close > vwap then\n"
                 "        return { side = 'buy', reason = 'trend up above VWAP' }\n"
                 "    end\n"
                 "end\n"
                 "local ctx, signals = { state = {} }, 0\n"
                 "M.on_start(ctx)\n"
                 "for i = 1, 200 do\n"
                 "  local c = 100 + i\n"
                 "  local sig = M.on_bar(ctx, { time = i * 3600, high = c + 1, low = c - 1,\n"
                 "                              close = c + 0.5, volume = 1000 })\n"
                 "  if sig then signals = signals + 1 end\n"
                 "end\n"
                 "assert(signals > 150, signals)\n");
    /* TTR's Bollinger convention: the bands of the typical price, fed high, low, close */
    expect_ok(f, "local a, b = apex.ta.bollinger(3, 2, { typical = true }), "
                 "apex.ta.bollinger(3, 2)\n"
                 "assert(a.typical == true and b.typical == false)\n"
                 "for i = 1, 5 do\n"
                 "  local h, l, c = 10 + i, 8 + i, 9.5 + i\n"
                 "  local m1, u1 = a:update(h, l, c)\n"
                 "  local m2, u2 = b:update((h + l + c) / 3)\n"
                 "  assert(m1 == m2 and u1 == u2)\n"
                 "end\n");
    expect_error(f, APEX_ESCRIPT, "ta.bollinger: typical must be true or false, got yes",
                 "apex.ta.bollinger(20, 2, { typical = 'yes' })");
    expect_error(f, APEX_ESCRIPT, "bollinger (close):update: expected a finite number, got nil",
                 "apex.ta.bollinger(20, 2, { typical = true }):update(1, 2)");
    expect_error(f, APEX_ESCRIPT,
                 "test.lua:1: ta.stoch: n must be a whole number of bars >= 1, got 0",
                 "apex.ta.stoch(0)");
    expect_error(f, APEX_ESCRIPT, "ta.kama: fast must be shorter than slow, e.g. 10, 2, 30",
                 "apex.ta.kama(10, 30, 2)");
    expect_error(f, APEX_ESCRIPT,
                 "ta.roc: type must be \"percent\" (100 (x / x[n ago] - 1), the default)",
                 "apex.ta.roc(10, { type = 'log' })");
    expect_error(f, APEX_ESCRIPT, "ta.stdev: unknown option samples; known: sample",
                 "apex.ta.stdev(10, { samples = true })");
    expect_error(f, APEX_ESCRIPT, "ta.vwap: options must be a table, got 10", "apex.ta.vwap(10)");
    expect_error(f, APEX_ESCRIPT, "ta.wma takes 1 argument, got a value at 2: 5",
                 "apex.ta.wma(10, 5)");
    expect_error(f, APEX_ESCRIPT, "ta.psar: step must be a number in (0, 1], e.g. 0.02, got 2",
                 "apex.ta.psar(2)");
    expect_error(f, APEX_ESCRIPT, "ta.hma: n must be at least 2", "apex.ta.hma(1)");
    expect_error(f, APEX_ESCRIPT,
                 "test.lua:2: stoch (close):update: expected a finite number, got nil",
                 "local s = apex.ta.stoch()\n"
                 "s:update(2, 1)");
    expect_error(f, APEX_ESCRIPT, "test.lua:1: wma:update: expected a finite number, got inf",
                 "apex.ta.wma(3):update(math.huge)");
    expect_error(f, APEX_ESCRIPT, "apex.ta.adx: cannot set field 'value': indicators are read-only",
                 "apex.ta.adx().value = 1");
    expect_error(f, APEX_ESCRIPT,
                 "bad argument #1 to 'update' (apex.ta.cci expected, got "
                 "apex.ta.wma)",
                 "local c, w = apex.ta.cci(), apex.ta.wma(3)\n"
                 "c.update(w, 1, 1, 1)");
    /* windows are Lua memory, under the cap */
    expect_error(f, APEX_ENOMEM, "not enough memory", "apex.ta.ichimoku(9, 26, 5e6)");
    expect_error(f, APEX_ENOMEM, "not enough memory", "apex.ta.correlation(1e7)");
}

/* An update allocates nothing: with the collector stopped, 2000 bars through every
 * indicator (the eight and the library's, at their defaults) leave the state's memory
 * exactly where it was. */
static void test_updates_allocate_nothing(void **state)
{
    fixture *f = *state;
    expect_ok(f, "local ta = apex.ta\n"
                 "local needs_n = { sma = 1, ema = 1, rsi = 1, atr = 1, bollinger = 1,\n"
                 "                  highest = 1, lowest = 1 }\n"
                 "local objs = {}\n"
                 "for name, ctor in pairs(ta) do\n"
                 "  if not name:find('^crossed') then\n"
                 "    objs[#objs + 1] = ctor(needs_n[name] and 14 or nil)\n"
                 "  end\n"
                 "end\n"
                 "local function bars(from, to)\n"
                 "  for i = from, to do\n"
                 "    local c = 100 + (i * 7919 % 113) / 10\n"
                 "    for k = 1, #objs do\n"
                 "      local o = objs[k]\n"
                 "      o:update(c + 1, c - 1, c, 1000 + i % 7, i // 50)\n"
                 "    end\n"
                 "  end\n"
                 "end\n"
                 "bars(1, 200)\n"
                 "assert(#objs >= 34, #objs)\n"
                 "measure = function()\n"
                 "  bars(1, 10) -- the call frames of this depth, made once\n"
                 "  local before = collectgarbage('count')\n"
                 "  bars(201, 2200)\n"
                 "  local grown = collectgarbage('count') - before\n"
                 "  assert(grown == 0, 'updates allocated ' .. grown * 1024 .. ' bytes')\n"
                 "end\n");
    /* the sandbox lets scripts only count and collect: the collector is stopped from here,
     * so what the count shows is every byte the updates allocated */
    lua_gc(f->sb.L, LUA_GCCOLLECT);
    lua_gc(f->sb.L, LUA_GCSTOP);
    int rc = run(f, "measure()");
    lua_gc(f->sb.L, LUA_GCRESTART);
    if (rc != 0)
        fail_msg("%s", f->err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_huge_periods_hit_the_memory_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_buffers_are_counted_by_the_sandbox, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_argument_crashes_the_host, setup, teardown),
        cmocka_unit_test_setup_teardown(test_objects_cannot_be_patched, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_point_at_the_script_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_library_indicators_survive_any_argument, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_library_arguments_fields_and_messages, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_updates_allocate_nothing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
