/* test_pattern: core/script/pattern.c against Lua 5.4's own string library, and its
 * work budget.
 *
 * The differential test runs tests/fixtures/pattern_cases.lua (every subject against
 * every pattern through find, match, gmatch and gsub with every kind of argument) in a
 * state with the real library and in one where pattern_open replaced the four
 * functions, and asserts identical results and error messages. The budget tests count
 * the callback's calls instead of timing anything: a catastrophic pattern must stop
 * when the callback says so, and ordinary work must ask it rarely. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "script/pattern.h"
#include "script/sandbox.h"
#include "util/err.h"

#ifndef APEX_SOURCE_DIR
#error "APEX_SOURCE_DIR must be defined by the build"
#endif

#define CASES_FILE APEX_SOURCE_DIR "/tests/fixtures/pattern_cases.lua"

/* The budget: counts its calls and says stop at the stop_at-th (0 = never). */
typedef struct {
    int calls;
    int stop_at;
} counter;

static bool count_budget(lua_State *L, void *ud, char *msg, size_t msglen)
{
    (void)L;
    counter *c = ud;
    c->calls++;
    if (c->stop_at == 0 || c->calls < c->stop_at)
        return false;
    snprintf(msg, msglen, "budget spent after %d checks", c->calls);
    return true;
}

static lua_State *open_state(counter *budget)
{
    lua_State *L = luaL_newstate();
    assert_non_null(L);
    luaL_openlibs(L);
    if (budget) {
        lua_getglobal(L, LUA_STRLIBNAME);
        pattern_open(L, -1, count_budget, budget);
        lua_pop(L, 1);
    }
    return L;
}

/* Runs the cases file; leaves its list of result lines on the stack. */
static void run_cases(lua_State *L, const char *who)
{
    if (luaL_loadfile(L, CASES_FILE) != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK)
        fail_msg("%s: %s", who, lua_tostring(L, -1));
    assert_int_equal(lua_type(L, -1), LUA_TTABLE);
}

static void test_same_as_lua(void **state)
{
    (void)state;
    counter budget = {0, 0};
    lua_State *real = open_state(NULL), *ours = open_state(&budget);
    run_cases(real, "real string library");
    run_cases(ours, "pattern.c");
    lua_Integer n = luaL_len(real, -1);
    assert_true(n > 100000);
    assert_int_equal(luaL_len(ours, -1), n);
    int differences = 0;
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(real, -1, i);
        lua_rawgeti(ours, -1, i);
        const char *want = lua_tostring(real, -1), *got = lua_tostring(ours, -1);
        if (strcmp(want, got) != 0 && differences++ < 20)
            print_error("case %lld differs\n  real: %s\n  ours: %s\n", (long long)i, want, got);
        lua_pop(real, 1);
        lua_pop(ours, 1);
    }
    lua_close(real);
    lua_close(ours);
    assert_int_equal(differences, 0);
}

/* Runs code (chunk name "t") in L; returns the error message, or NULL on success
 * (with the chunk's first result left in *result when it is a string or integer). */
static const char *run_code(lua_State *L, const char *code, char *result, size_t len)
{
    lua_settop(L, 0);
    if (luaL_loadbufferx(L, code, strlen(code), "=t", "t") != LUA_OK)
        fail_msg("%s", lua_tostring(L, -1));
    if (lua_pcall(L, 0, 1, 0) != LUA_OK)
        return lua_tostring(L, -1);
    if (result)
        snprintf(result, len, "%s", lua_isstring(L, -1) ? lua_tostring(L, -1) : "(not a string)");
    return NULL;
}

/* Each of these never ends in practice under the real library (O(n^4) backtracking,
 * quadratic scans, a set scanned per character); every one must stop on the budget's
 * word, at the check that said stop. */
static void test_catastrophic_patterns_stop(void **state)
{
    (void)state;
    static const char *const bombs[] = {
        "return string.find(string.rep('a', 5000), '.-.-.-b')",
        "return (string.rep('a', 5000)):find('.-.-.-b')",
        "return string.match(string.rep('a', 5000), '(.-)(.-)(.-)b')",
        "return string.gsub(string.rep('a', 3000), '(.-)(.-)(.-)b', '%1')",
        "return string.gsub(string.rep('a', 3000), 'a*a*a*a*b', function() end)",
        "for x in string.gmatch(string.rep('a', 5000), '.-.-.-b') do end",
        "return string.find(string.rep('(', 200000), '%b()')",
        "return string.find(string.rep('a', 20000), '(.-)%1%1%1b')",
        "return string.find(string.rep('b', 200000), '[' .. string.rep('a', 100000) .. ']')",
        "return string.find(string.rep('a', 100000), string.rep('a?', 150) .. 'b')",
    };
    for (size_t i = 0; i < sizeof bombs / sizeof *bombs; i++) {
        counter budget = {0, 5};
        lua_State *L = open_state(&budget);
        const char *err = run_code(L, bombs[i], NULL, 0);
        if (!err)
            fail_msg("%s: finished", bombs[i]);
        if (strcmp(err, "t:1: budget spent after 5 checks") != 0)
            fail_msg("%s: %s", bombs[i], err);
        assert_int_equal(budget.calls, 5);
        /* The state is usable afterwards. */
        char out[64];
        assert_null(run_code(L, "return (('a,b'):gsub(',', ';'))", out, sizeof out));
        assert_string_equal(out, "a;b");
        lua_close(L);
    }
}

/* A plain find is linear: 10 MB against a needle that almost matches everywhere (the
 * real library's naive search would compare ~1000 bytes at each of 10 million
 * positions) asks the budget once per 64 KiB scanned, and stops when it says so. */
static void test_plain_find_is_linear_and_stops(void **state)
{
    (void)state;
    static const char *const finds[] = {
        "return tostring(string.find(string.rep('a', 10 << 20), string.rep('a', 999) .. 'b', 1, "
        "true))",
        "return tostring(string.find(string.rep('a', 10 << 20), string.rep('a', 999) .. 'b'))",
    };
    for (size_t i = 0; i < sizeof finds / sizeof *finds; i++) {
        counter budget = {0, 0};
        lua_State *L = open_state(&budget);
        char out[64];
        assert_null(run_code(L, finds[i], out, sizeof out));
        assert_string_equal(out, "nil");
        assert_true(budget.calls >= (10 << 20) / 65536 - 1);
        assert_true(budget.calls <= (10 << 20) / 65536 + 2);

        budget = (counter){0, 1};
        const char *err = run_code(L, finds[i], NULL, 0);
        assert_non_null(err);
        assert_string_equal(err, "t:1: budget spent after 1 checks");
        assert_int_equal(budget.calls, 1);
        lua_close(L);
    }
}

/* Ordinary work (a CSV line, numbers, whitespace, words) asks the budget rarely, and a
 * state opened without a budget (fn NULL) never stops. */
static void test_ordinary_work_asks_rarely(void **state)
{
    (void)state;
    counter budget = {0, 0};
    lua_State *L = open_state(&budget);
    char out[64];
    assert_null(run_code(L,
                         "local line = string.rep('AAPL,185.20,,-1.5,2024-03-01,', 100)\n"
                         "local n = 0\n"
                         "for f in line:gmatch('([^,]*)') do n = n + 1 end\n"
                         "for d in line:gmatch('%d+') do n = n + 1 end\n"
                         "n = n + select(2, line:gsub('%s+', ' '))\n"
                         "return n",
                         out, sizeof out));
    assert_string_equal(out, "1201"); /* 501 fields, 700 numbers, no whitespace */
    assert_true(budget.calls <= 4);
    lua_close(L);

    L = luaL_newstate();
    luaL_openlibs(L);
    lua_getglobal(L, LUA_STRLIBNAME);
    pattern_open(L, -1, NULL, NULL);
    lua_pop(L, 1);
    assert_null(run_code(L, "return (select(2, string.rep('ab', 100000):gsub('a-b', '')))", out,
                         sizeof out));
    assert_string_equal(out, "100000");
    lua_close(L);
}

/* ---- in the sandbox: the deadline stops a pattern ---- */

typedef struct {
    sandbox sb;
    int env_ref;
    char err[1024];
} fixture;

static int setup_sandbox(void **state)
{
    static fixture f;
    memset(&f, 0, sizeof f);
    /* Long enough that a trivial call never misses it on a loaded machine under ASan. */
    script_limits lim = {.memory_limit = 64u << 20, .deadline_ms = 300};
    assert_int_equal(sandbox_open(&f.sb, lim, "test", NULL, f.err, sizeof f.err), 0);
    sandbox_push_env(f.sb.L);
    f.env_ref = luaL_ref(f.sb.L, LUA_REGISTRYINDEX);
    *state = &f;
    return 0;
}

static int teardown_sandbox(void **state)
{
    fixture *f = *state;
    sandbox_close(&f->sb);
    return 0;
}

static int run_script(fixture *f, const char *code)
{
    lua_State *L = f->sb.L;
    f->err[0] = '\0';
    assert_int_equal(luaL_loadbufferx(L, code, strlen(code), "@test.lua", "t"), LUA_OK);
    lua_rawgeti(L, LUA_REGISTRYINDEX, f->env_ref);
    lua_setupvalue(L, -2, 1);
    return sandbox_pcall(&f->sb, 0, f->err, sizeof f->err);
}

static const char *script_result(fixture *f, char *buf, size_t len)
{
    lua_State *L = f->sb.L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, f->env_ref);
    lua_getfield(L, -1, "result");
    snprintf(buf, len, "%s", lua_isstring(L, -1) ? lua_tostring(L, -1) : "(none)");
    lua_pop(L, 2);
    return buf;
}

#define DEADLINE_MESSAGE                                                                           \
    "script ran past its 300 ms deadline; make the callback do less work per call"

static void test_sandbox_deadline_stops_patterns(void **state)
{
    fixture *f = *state;
    char buf[256];
    assert_int_equal(run_script(f, "result = nil\n"
                                   "local s = string.rep('a', 5000)\n"
                                   "result = s:find('.-.-.-b')"),
                     APEX_ESCRIPT);
    assert_non_null(strstr(f->err, "test.lua:3: " DEADLINE_MESSAGE));
    assert_string_equal(script_result(f, buf, sizeof buf), "(none)");

    /* A pcall in the script does not swallow it (the deadline is tripped, as the
     * hook trips it), nor does a coroutine. */
    assert_int_equal(run_script(f, "result = nil\n"
                                   "pcall(string.gsub, string.rep('a', 3000), '(.-)(.-)(.-)b', "
                                   "'')\n"
                                   "result = 'swallowed'"),
                     APEX_ESCRIPT);
    assert_non_null(strstr(f->err, DEADLINE_MESSAGE));
    assert_string_equal(script_result(f, buf, sizeof buf), "(none)");
    assert_int_equal(
        run_script(f, "local co = coroutine.wrap(function()\n"
                      "  for w in string.gmatch(string.rep('a', 5000), '.-.-.-b') do end\n"
                      "end)\n"
                      "while true do pcall(co) end"),
        APEX_ESCRIPT);
    assert_non_null(strstr(f->err, DEADLINE_MESSAGE));

    /* The next call has its own deadline, and the library tables behind the proxy and
     * the string metatable both have the bounded functions. */
    assert_int_equal(run_script(f, "result = table.concat({('a,b'):gsub(',', ';')}, ' ') .. ' ' "
                                   ".. tostring(('').find == string.find)"),
                     0);
    assert_string_equal(script_result(f, buf, sizeof buf), "a;b 1 true");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_as_lua),
        cmocka_unit_test(test_catastrophic_patterns_stop),
        cmocka_unit_test(test_plain_find_is_linear_and_stops),
        cmocka_unit_test(test_ordinary_work_asks_rarely),
        cmocka_unit_test_setup_teardown(test_sandbox_deadline_stops_patterns, setup_sandbox,
                                        teardown_sandbox),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
