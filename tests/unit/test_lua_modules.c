/* test_lua_modules: runs the pure-Lua tests (tests/lua/test_*.lua) and checks that the
 * embedded lua/apex modules work inside a sandbox-like state.
 *
 * Each tests/lua/test_*.lua runs in a fresh lua_State with the standard libraries and
 * package.path = APEX_SOURCE_DIR/lua/?.lua; it returns true when all its cases passed
 * (tests/lua/harness.lua prints each failure). The embedded-module test loads the
 * copies compiled into the binary (script/embedded.h) into a state with only the
 * libraries the sandbox offers (no io, os, debug, package), because that is where they
 * run in production: a module that reached for io would pass the plain tests and fail
 * there. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "script/embedded.h"
#include "script/ta.h"

#ifndef APEX_SOURCE_DIR
#error "APEX_SOURCE_DIR must be defined by the build"
#endif

#define LUA_TEST_DIR APEX_SOURCE_DIR "/tests/lua"

/* Files with a dedicated cmocka case; any other test_*.lua is run by
 * test_every_other_lua_file so a new file is never silently skipped. */
static const char *const known_files[] = {"test_ta.lua", "test_ta_c_vs_lua.lua",
                                          "test_instructions.lua", "test_strategies.lua"};

static int traceback(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    luaL_traceback(L, L, msg ? msg : "(error object is not a string)", 1);
    return 1;
}

/* Runs one Lua test file; on failure writes why into err. Returns 0 when the chunk
 * returned true. */
static int run_lua_test_file(const char *file, char *err, size_t errlen)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", LUA_TEST_DIR, file);

    lua_State *L = luaL_newstate();
    if (!L) {
        snprintf(err, errlen, "%s: cannot create a Lua state", file);
        return -1;
    }
    luaL_openlibs(L);
    lua_getglobal(L, "package");
    lua_pushstring(L, APEX_SOURCE_DIR "/lua/?.lua");
    lua_setfield(L, -2, "path");
    /* apex.ta is C (script/ta.h): what require gives the tests is the host's module */
    lua_getfield(L, -1, "preload");
    lua_pushcfunction(L, ta_open);
    lua_setfield(L, -2, TA_MODULE_NAME);
    lua_pop(L, 2);
    lua_pushstring(L, APEX_SOURCE_DIR);
    lua_setglobal(L, "APEX_SOURCE_DIR");

    int rc = -1;
    lua_pushcfunction(L, traceback);
    if (luaL_loadfilex(L, path, "t") != LUA_OK) {
        snprintf(err, errlen, "%s", lua_tostring(L, -1));
    } else if (lua_pcall(L, 0, 1, -2) != LUA_OK) {
        snprintf(err, errlen, "%s", lua_tostring(L, -1));
    } else if (!lua_isboolean(L, -1) || !lua_toboolean(L, -1)) {
        snprintf(err, errlen, "%s: returned %s instead of true (see FAIL lines above)", path,
                 luaL_tolstring(L, -1, NULL));
    } else {
        rc = 0;
    }
    lua_close(L);
    return rc;
}

static void expect_lua_file_passes(const char *file)
{
    char err[4096] = "";
    int rc = run_lua_test_file(file, err, sizeof err);
    if (rc != 0)
        fail_msg("%s", err);
}

static void test_ta_lua(void **state)
{
    expect_lua_file_passes("test_ta.lua");
}

/* apex.ta in C against the Lua implementation it replaced (tests/lua/ta_reference.lua) */
static void test_ta_c_matches_lua_reference(void **state)
{
    expect_lua_file_passes("test_ta_c_vs_lua.lua");
}

static void test_instructions_lua(void **state)
{
    expect_lua_file_passes("test_instructions.lua");
}

static void test_strategies_lua(void **state)
{
    expect_lua_file_passes("test_strategies.lua");
}

static int is_known(const char *name)
{
    for (size_t i = 0; i < sizeof known_files / sizeof known_files[0]; i++)
        if (strcmp(name, known_files[i]) == 0)
            return 1;
    return 0;
}

static int is_lua_test_name(const char *name)
{
    size_t n = strlen(name);
    return strncmp(name, "test_", 5) == 0 && n > 9 && strcmp(name + n - 4, ".lua") == 0;
}

static void test_every_other_lua_file(void **state)
{
    DIR *dir = opendir(LUA_TEST_DIR);
    assert_non_null(dir);
    int seen_known = 0, failures = 0;
    char first_err[4096] = "";
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        if (!is_lua_test_name(de->d_name))
            continue;
        if (is_known(de->d_name)) {
            seen_known++;
            continue;
        }
        char err[4096] = "";
        if (run_lua_test_file(de->d_name, err, sizeof err) != 0) {
            if (failures++ == 0)
                snprintf(first_err, sizeof first_err, "%s", err);
        }
    }
    closedir(dir);
    /* every dedicated file must still exist, or its cmocka case tests nothing */
    assert_int_equal(seen_known, (int)(sizeof known_files / sizeof known_files[0]));
    if (failures)
        fail_msg("%d Lua test file(s) failed; first: %s", failures, first_err);
}

/* --- embedded modules in a sandbox-like state ---------------------------------------- */

static const struct embedded_lua_module *find_embedded(const char *name)
{
    for (const struct embedded_lua_module *m = embedded_lua_modules; m->name; m++)
        if (strcmp(m->name, name) == 0)
            return m;
    return NULL;
}

/* require(name) over the embedded table only, caching in the registry like package.loaded. */
static int embedded_require(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    lua_getfield(L, LUA_REGISTRYINDEX, "test.loaded");
    if (lua_getfield(L, -1, name) != LUA_TNIL)
        return 1;
    lua_pop(L, 1);
    const struct embedded_lua_module *m = find_embedded(name);
    if (strcmp(name, TA_MODULE_NAME) == 0)
        lua_pushcfunction(L, ta_open);
    else if (!m)
        return luaL_error(L, "module '%s' not found among the embedded modules", name);
    else if (luaL_loadbufferx(L, m->source, m->len, m->path, "t") != LUA_OK)
        return lua_error(L);
    lua_call(L, 0, 1);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, name);
    return 1;
}

static lua_State *new_sandbox_like_state(void)
{
    lua_State *L = luaL_newstate();
    assert_non_null(L);
    static const luaL_Reg libs[] = {{LUA_GNAME, luaopen_base},
                                    {LUA_STRLIBNAME, luaopen_string},
                                    {LUA_TABLIBNAME, luaopen_table},
                                    {LUA_MATHLIBNAME, luaopen_math},
                                    {LUA_UTF8LIBNAME, luaopen_utf8},
                                    {LUA_COLIBNAME, luaopen_coroutine},
                                    {NULL, NULL}};
    for (const luaL_Reg *lib = libs; lib->func; lib++) {
        luaL_requiref(L, lib->name, lib->func, 1);
        lua_pop(L, 1);
    }
    /* what the sandbox removes from base */
    static const char *const removed[] = {"dofile", "loadfile", "load", NULL};
    for (const char *const *r = removed; *r; r++) {
        lua_pushnil(L);
        lua_setglobal(L, *r);
    }
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, "test.loaded");
    lua_pushcfunction(L, embedded_require);
    lua_setglobal(L, "require");
    return L;
}

static void run_snippet(lua_State *L, const char *where, const char *code)
{
    lua_pushcfunction(L, traceback);
    if (luaL_loadbufferx(L, code, strlen(code), "=snippet", "t") != LUA_OK ||
        lua_pcall(L, 0, 0, -2) != LUA_OK)
        fail_msg("%s: %s", where, lua_tostring(L, -1));
    lua_pop(L, 1);
}

static void test_embedded_modules_are_present(void **state)
{
    /* apex.ta is C (script/ta.c), not embedded Lua */
    assert_null(find_embedded(TA_MODULE_NAME));
    const char *const required[] = {"apex.instructions", "apex.params"};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
        const struct embedded_lua_module *m = find_embedded(required[i]);
        if (!m)
            fail_msg("%s is not embedded (lua/%s.lua missing from the build?)", required[i],
                     required[i]);
        assert_true(m->len > 100);
        assert_int_equal(strlen(m->source), m->len);
    }
}

static void test_embedded_modules_run_in_sandbox(void **state)
{
    lua_State *L = new_sandbox_like_state();
    /* every embedded module loads without io/os/debug/package */
    for (const struct embedded_lua_module *m = embedded_lua_modules; m->name; m++) {
        lua_pushcfunction(L, embedded_require);
        lua_pushstring(L, m->name);
        if (lua_pcall(L, 1, 1, 0) != LUA_OK)
            fail_msg("%s: %s", m->path, lua_tostring(L, -1));
        assert_true(lua_istable(L, -1));
        lua_pop(L, 1);
    }
    /* indicators and the instruction compiler give trader-visible results in there */
    run_snippet(L, "embedded modules",
                "local ta = require 'apex.ta'\n"
                "local s = ta.sma(3)\n"
                "s:update(10) s:update(11)\n"
                "assert(s:update(12) == 11, 'SMA(3) of 10,11,12 is 11')\n"
                "local I = require 'apex.instructions'\n"
                "local rule = assert(I.compile('close if VIX > 40'))\n"
                "local m = { price = function(sym) return sym == 'VIX' and 41.2 or nil end }\n"
                "local fired, reason = rule.check(m, nil)\n"
                "assert(fired == true and reason == 'VIX 41.20 > 40', reason)\n"
                "local bad, err = I.compile('close when moon is full')\n"
                "assert(bad == nil and err:find(\"cannot understand 'close when moon is "
                "full'\", 1, true), err)\n");
    lua_close(L);
}

/* The shipped strategies must also run where io/os are absent: load each file from disk
 * (as the host does) into the sandbox-like state and feed it bars. */
static void test_strategies_run_in_sandbox(void **state)
{
    static const char *const files[] = {"ma_cross.lua", "trend_bias.lua", "rsi_reversion.lua",
                                        "range_bias.lua"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        lua_State *L = new_sandbox_like_state();
        char path[1024];
        snprintf(path, sizeof path, "%s/strategies/%s", APEX_SOURCE_DIR, files[i]);
        lua_pushcfunction(L, traceback);
        if (luaL_loadfilex(L, path, "t") != LUA_OK || lua_pcall(L, 0, 1, -2) != LUA_OK)
            fail_msg("%s", lua_tostring(L, -1));
        lua_setglobal(L, "mod");
        lua_pop(L, 1);
        /* rsi_reversion rightly skips these swings (the mean is too near); see
         * tests/lua/test_strategies.lua for its signals */
        lua_pushboolean(L, strcmp(files[i], "ma_cross.lua") == 0);
        lua_setglobal(L, "expect_signals");
        run_snippet(L, path,
                    "local ctx = { symbol = 'AAPL', state = {}, now = 0,\n"
                    "              log = function() end }\n"
                    "if mod.on_start then mod.on_start(ctx) end\n"
                    "local signals = 0\n"
                    "for i = 1, 300 do\n"
                    "  local c = 100 + 5 * math.sin(i / 15) + (i % 3) * 0.05\n"
                    "  local sig = mod.on_bar(ctx, { time = i * 60, symbol = 'AAPL', open = c,\n"
                    "    high = c + 0.2, low = c - 0.2, close = c, volume = 100 })\n"
                    "  if sig then\n"
                    "    signals = signals + 1\n"
                    "    assert(sig.side == 'buy' or sig.side == 'sell')\n"
                    "    assert(sig.stop_loss > 0 and sig.take_profit > 0)\n"
                    "  end\n"
                    "end\n"
                    "if mod.bias then\n"
                    "  local b = mod.bias(ctx)\n"
                    "  local d = type(b) == 'table' and b.direction or b\n"
                    "  assert(d == 'long' or d == 'short' or d == 'neutral', tostring(d))\n"
                    "elseif expect_signals then\n"
                    "  assert(signals > 0, 'ma_cross trades a 5-point swing')\n"
                    "end\n"
                    "assert(type(mod.edge(ctx, { side = 'long' })) == 'number')\n"
                    "assert(type(mod.opportunity(ctx)) == 'number')\n");
        lua_close(L);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ta_lua),
        cmocka_unit_test(test_ta_c_matches_lua_reference),
        cmocka_unit_test(test_instructions_lua),
        cmocka_unit_test(test_strategies_lua),
        cmocka_unit_test(test_every_other_lua_file),
        cmocka_unit_test(test_embedded_modules_are_present),
        cmocka_unit_test(test_embedded_modules_run_in_sandbox),
        cmocka_unit_test(test_strategies_run_in_sandbox),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
