/* test_argscan: which on_bar functions may share one bar table (core/script/argscan.h).
 * Each shape is compiled by the real Lua 5.4 compiler, so this also checks the opcode
 * numbering argscan.c decodes: a wrong number would turn a "kept" below into "shared". */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>

#include <lauxlib.h>
#include <lualib.h>

#include "script/argscan.h"

static const char *const names[] = {"time",  "symbol", "open", "high", "low",
                                    "close", "volume", "bid",  "ask"};
enum { TIME = 1, SYMBOL = 2, OPEN = 4, HIGH = 8, LOW = 16, CLOSE = 32, VOLUME = 64, ALL = 511 };

/* Evaluates fn_source (a chunk returning a function) and asks about its parameter 1;
 * *read gets the fields it reads. */
static bool scan(const char *fn_source, unsigned *read)
{
    lua_State *L = luaL_newstate();
    assert_non_null(L);
    assert_int_equal(luaL_loadstring(L, fn_source), LUA_OK);
    assert_int_equal(lua_pcall(L, 0, 1, 0), LUA_OK);
    assert_true(lua_isfunction(L, -1));
    bool r = argscan_fields_only(L, -1, 1, names, 9, read);
    assert_int_equal(lua_gettop(L), 1); /* the stack as it was */
    lua_close(L);
    return r;
}

static bool shared(const char *fn_source)
{
    unsigned read;
    return scan(fn_source, &read);
}

static void test_field_reads_share(void **state)
{
    (void)state;
    assert_true(shared("return function(ctx, bar) end"));
    assert_true(shared("return function(ctx, bar) local c = bar.close; return nil end"));
    assert_true(shared("return function(ctx, bar)\n"
                       "  local s = ctx.state\n"
                       "  s.n = (s.n or 0) + 1\n"
                       "  s.sum = (s.sum or 0) + bar.close * bar.volume\n"
                       "  if bar.bid and bar.ask and bar.ask - bar.bid > 0.05 then return end\n"
                       "  local k = 'high'\n"
                       "  if bar[k] > (s.top or 0) then s.top = bar[k] end\n"
                       "  for i = 1, 3 do s[i] = bar.low + i end\n"
                       "  if bar then s.seen = bar.symbol .. ':' .. bar.time end\n"
                       "  if bar.close > 100 then\n"
                       "    return { side = 'buy', qty = 1, stop_loss = bar.low,\n"
                       "             reason = string.format('%.2f', bar.close) }\n"
                       "  end\n"
                       "end"));
    /* A closure that reads a field through its own copy of a value, not bar itself. */
    assert_true(shared("return function(ctx, bar)\n"
                       "  local c = bar.close\n"
                       "  local f = function() return c * 2 end\n"
                       "  return f() > 0 and nil\n"
                       "end"));
    /* The repository's strategies: all of them only read the bar's fields. */
    assert_true(shared("local ta = {}\n"
                       "return function(ctx, bar)\n"
                       "  local s = ctx.state\n"
                       "  local fast, slow = s.fast:update(bar.close), s.slow:update(bar.close)\n"
                       "  local atr = s.atr:update(bar.high, bar.low, bar.close)\n"
                       "  if fast and slow and fast > slow and atr then\n"
                       "    return { side = 'buy', stop_loss = bar.close - 2 * atr }\n"
                       "  end\n"
                       "end"));
}

static void test_other_uses_keep_a_fresh_table(void **state)
{
    (void)state;
    const char *kept[] = {
        "return function(ctx, bar) ctx.state.prev = bar end",                   /* SETFIELD value */
        "return function(ctx, bar) local b = bar; return b.x end",              /* MOVE */
        "return function(ctx, bar) print(bar) end",                             /* MOVE to a call */
        "return function(ctx, bar) return bar end",                             /* RETURN1 */
        "return function(ctx, bar) return ctx, bar end",                        /* RETURN range */
        "return function(ctx, bar) bar.extra = 1 end",                          /* SETFIELD table */
        "return function(ctx, bar) bar[1] = 1 end",                             /* SETI */
        "return function(ctx, bar) bar[ctx] = 1 end",                           /* SETTABLE */
        "return function(ctx, bar) ctx[bar] = 1 end",                           /* SETTABLE key */
        "return function(ctx, bar) local t = {bar} end",                        /* SETLIST */
        "return function(ctx, bar) local t = {b = bar} end",                    /* SETFIELD value */
        "last = nil return function(ctx, bar) last = bar end",                  /* SETTABUP */
        "local up return function(ctx, bar) up = bar end",                      /* SETUPVAL */
        "return function(ctx, bar) return function() return bar.close end end", /* CLOSURE */
        "return function(ctx, bar) for k, v in pairs(bar) do end end",          /* iterated */
        "return function(ctx, bar) return bar:copy() end",                      /* SELF */
        "return function(ctx, bar) if bar == ctx.state.prev then return end end", /* EQ */
        "return function(ctx, bar) return #bar end",                              /* LEN */
        "return function(ctx, bar) local x = bar or {} end",                      /* TESTSET */
        "return function(ctx, bar) setmetatable(bar, {}) end",
        "return function(ctx, bar) local t <close> = bar end",
        "return function(ctx, ...) local bar = ...; return bar.close end", /* vararg */
        "return function(ctx) end",                                        /* no bar */
        "return function(ctx, bar) bar = ctx.state.other; return bar end",
        "return function(ctx, bar) local x = ctx.state[bar] end", /* GETTABLE key */
        "return function(ctx, bar) return bar .. '' end",         /* CONCAT */
        "return function(ctx, bar) return bar + 1 end",           /* arithmetic */
        "return function(ctx, bar) coroutine.wrap(function() ctx.state.b = bar end)() end",
    };
    for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++) {
        if (shared(kept[i]))
            fail_msg("shared although bar may be kept or changed: %s", kept[i]);
    }
}

/* Only the fields read need to be written: by name, or all of them for a computed key. */
static void test_fields_read(void **state)
{
    (void)state;
    unsigned read = 0;
    assert_true(scan("return function(ctx, bar) end", &read));
    assert_int_equal(read, 0);
    assert_true(scan("return function(ctx, bar) ctx.state.c = bar.close end", &read));
    assert_int_equal(read, CLOSE);
    assert_true(scan("return function(ctx, bar)\n"
                     "  if bar.high - bar.low > 1 and bar.notafield == nil and bar[1] == nil then\n"
                     "    return { side = 'buy', reason = bar.symbol .. bar.time }\n"
                     "  end\n"
                     "end",
                     &read));
    assert_int_equal(read, HIGH | LOW | SYMBOL | TIME);
    assert_true(scan("return function(ctx, bar) ctx.state.v = bar[ctx.params.price] end", &read));
    assert_int_equal(read, ALL);
}

static void test_not_a_lua_function(void **state)
{
    (void)state;
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    lua_getglobal(L, "print");
    unsigned read = 7;
    assert_false(argscan_fields_only(L, -1, 1, names, 9, &read));
    assert_int_equal(read, 0);
    lua_pushinteger(L, 3);
    assert_false(argscan_fields_only(L, -1, 1, names, 9, &read));
    lua_close(L);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_field_reads_share),
        cmocka_unit_test(test_other_uses_keep_a_fresh_table),
        cmocka_unit_test(test_fields_read),
        cmocka_unit_test(test_not_a_lua_function),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
