/* test_sandbox: what a pipeline script can and cannot do inside its lua_State. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lualib.h>

#include "script/sandbox.h"
#include "util/err.h"

typedef struct {
    sandbox sb;
    int env_ref;
    char err[1024];
} fixture;

static int setup_limits(void **state, size_t mem, int deadline_ms)
{
    static fixture f;
    memset(&f, 0, sizeof f);
    script_limits lim = {.memory_limit = mem, .deadline_ms = deadline_ms};
    assert_int_equal(sandbox_open(&f.sb, lim, "test", NULL, f.err, sizeof f.err), 0);
    sandbox_push_env(f.sb.L);
    f.env_ref = luaL_ref(f.sb.L, LUA_REGISTRYINDEX);
    *state = &f;
    return 0;
}

static int setup(void **state)
{
    return setup_limits(state, 8u << 20, 50);
}

/* Memory tests get a generous deadline so the cap, not the clock, stops them even in a
 * slow sanitizer build. */
static int setup_long_deadline(void **state)
{
    return setup_limits(state, 8u << 20, 60000);
}

static int teardown(void **state)
{
    fixture *f = *state;
    sandbox_close(&f->sb);
    return 0;
}

/* Runs code as a script chunk in the fixture's environment; returns the sandbox_pcall
 * code, with any message in f->err. */
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

/* The string value of the script's global `result` ("" when not a string). */
static const char *result_str(fixture *f, char *buf, size_t len)
{
    lua_State *L = f->sb.L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, f->env_ref);
    lua_getfield(L, -1, "result");
    snprintf(buf, len, "%s", lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "");
    lua_pop(L, 2);
    return buf;
}

static lua_Integer result_int(fixture *f)
{
    lua_State *L = f->sb.L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, f->env_ref);
    lua_getfield(L, -1, "result");
    lua_Integer v = lua_isinteger(L, -1) ? lua_tointeger(L, -1) : -1;
    lua_pop(L, 2);
    return v;
}

static void test_dangerous_globals_absent(void **state)
{
    fixture *f = *state;
    assert_int_equal(run(f, "assert(io == nil, 'io')\n"
                            "assert(os.execute == nil and os.exit == nil, 'os.execute')\n"
                            "assert(os.getenv == nil and os.remove == nil, 'os.getenv')\n"
                            "assert(loadfile == nil and dofile == nil, 'loadfile')\n"
                            "assert(package == nil and debug == nil, 'package')\n"
                            "assert(string.dump == nil, 'dump')\n"
                            "assert(('').dump == nil, 'dump via metatable')\n"
                            "assert(type(os.time()) == 'number' and os.date('!%Y', 0) == '1970')\n"
                            "assert(math.floor(2.5) == 2 and table.concat({1,2}, ',') == '1,2')\n"
                            "assert(utf8.len('\\u{e9}') == 1 and coroutine.wrap)\n"),
                     0);
}

static void test_require_reaches_only_host_modules(void **state)
{
    fixture *f = *state;
    char buf[512];
    const char *const names[] = {"io", "os", "debug", "socket", "lfs"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char code[128];
        snprintf(code, sizeof code,
                 "local ok, e = pcall(require, '%s'); assert(not ok); result = e", names[i]);
        assert_int_equal(run(f, code), 0);
        result_str(f, buf, sizeof buf);
        assert_non_null(strstr(buf, "not found"));
        assert_non_null(strstr(buf, names[i]));
    }
}

typedef struct {
    char data[4096];
    size_t len;
} dump_buf;

static int dump_writer(lua_State *L, const void *p, size_t sz, void *ud)
{
    dump_buf *out = ud;
    if (out->len + sz > sizeof out->data)
        return 1;
    memcpy(out->data + out->len, p, sz);
    out->len += sz;
    return 0;
}

static void test_bytecode_refused(void **state)
{
    fixture *f = *state;
    /* Compile real bytecode in an ordinary state, hand it to the script as a string. */
    lua_State *plain = luaL_newstate();
    assert_int_equal(luaL_loadstring(plain, "return 1"), 0);
    dump_buf out = {{0}, 0};
    assert_int_equal(lua_dump(plain, dump_writer, &out, 0), 0);
    lua_close(plain);

    lua_State *L = f->sb.L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, f->env_ref);
    lua_pushlstring(L, out.data, out.len);
    lua_setfield(L, -2, "bc");
    lua_pop(L, 1);

    char buf[512];
    assert_int_equal(run(f, "local fn, e = load(bc); assert(fn == nil); result = e"), 0);
    assert_non_null(strstr(result_str(f, buf, sizeof buf), "binary chunk"));
    assert_int_equal(run(f, "local ok, e = pcall(load, bc, 'x', 'b'); assert(not ok); result = e"),
                     0);
    assert_non_null(strstr(result_str(f, buf, sizeof buf), "binary chunks are not allowed"));
    /* Text still loads, and gets a fresh environment rather than the real globals. */
    int rc_text = run(f, "local fn = load('leak = 1; return io, string.rep ~= nil')\n"
                         "local io_, has_rep = fn()\n"
                         "assert(io_ == nil and has_rep and leak == nil)\n"
                         "result = 7");
    if (rc_text != 0)
        print_message("%s\n", f->err);
    assert_int_equal(rc_text, 0);
    assert_int_equal(result_int(f), 7);
}

static void test_string_metatable_protected(void **state)
{
    fixture *f = *state;
    char buf[512];
    assert_int_equal(run(f, "assert(getmetatable('') == false)\n"
                            "local ok = pcall(function() getmetatable('').__index = {} end)\n"
                            "assert(not ok)\n"
                            "assert(('ab'):rep(2) == 'abab' and ('x'):upper() == 'X')\n"),
                     0);
    assert_int_equal(run(f, "local ok, e = pcall(setmetatable, string, {}); assert(not ok); "
                            "result = e"),
                     0);
    assert_non_null(strstr(result_str(f, buf, sizeof buf), "protected metatable"));
}

static void test_library_tables_read_only(void **state)
{
    fixture *f = *state;
    char buf[512];
    assert_int_not_equal(run(f, "string.rep = function() return 'pwned' end"), 0);
    assert_non_null(strstr(f->err, "attempt to modify read-only table 'string'"));
    assert_non_null(strstr(f->err, "test.lua:1:"));
    assert_int_not_equal(run(f, "math.huge = 1"), 0);
    assert_non_null(strstr(f->err, "read-only table 'math'"));
    assert_int_not_equal(run(f, "rawset(table, 'insert', print)"), 0);
    assert_non_null(strstr(f->err, "read-only table 'table'"));
    assert_int_not_equal(run(f, "apex.price = nil"), 0);
    assert_non_null(strstr(f->err, "read-only table 'apex'"));
    /* Still intact, and still iterable. */
    assert_int_equal(run(f, "local n = 0; for k in pairs(string) do n = n + 1 end\n"
                            "assert(n > 10 and string.rep('a', 3) == 'aaa')\n"
                            "result = getmetatable(string) == false and 'hidden' or 'visible'"),
                     0);
    assert_string_equal(result_str(f, buf, sizeof buf), "hidden");
}

static void test_collectgarbage_restricted(void **state)
{
    fixture *f = *state;
    assert_int_equal(run(f, "assert(collectgarbage('count') > 0); collectgarbage('collect')"), 0);
    assert_int_not_equal(run(f, "collectgarbage('stop')"), 0);
    assert_non_null(strstr(f->err, "'stop' is not allowed"));
}

static void test_infinite_loop_stopped(void **state)
{
    fixture *f = *state;
    assert_int_equal(run(f, "while true do end"), APEX_ESCRIPT);
    assert_non_null(strstr(f->err, "ran past its 50 ms deadline"));
    assert_non_null(strstr(f->err, "test.lua:1:"));
    /* The state is usable right after. */
    assert_int_equal(run(f, "local s = 0; for i = 1, 100 do s = s + i end; result = s"), 0);
    assert_int_equal(result_int(f), 5050);
}

static void test_pcall_cannot_swallow_deadline(void **state)
{
    fixture *f = *state;
    assert_int_equal(run(f, "result = nil\n"
                            "pcall(function() while true do end end)\n"
                            "result = 'escaped'"),
                     APEX_ESCRIPT);
    assert_non_null(strstr(f->err, "deadline"));
    assert_int_equal(result_int(f), -1);

    /* A loop that keeps retrying the pcall. */
    assert_int_equal(run(f, "while true do pcall(function() while true do end end) end"),
                     APEX_ESCRIPT);
    assert_non_null(strstr(f->err, "deadline"));

    /* xpcall with a handler that tries to carry on, and a coroutine. */
    assert_int_equal(run(f, "while true do xpcall(function() while true do end end, "
                            "function() return 'ignored' end) end"),
                     APEX_ESCRIPT);
    assert_int_equal(run(f, "local co = coroutine.wrap(function() while true do end end)\n"
                            "while true do pcall(co) end"),
                     APEX_ESCRIPT);
    assert_non_null(strstr(f->err, "deadline"));

    /* coroutine.create + resume, and a loop inside a coroutine resumed under pcall. */
    assert_int_equal(run(f, "local co = coroutine.create(function() while true do end end)\n"
                            "while true do coroutine.resume(co) end"),
                     APEX_ESCRIPT);
    assert_non_null(strstr(f->err, "deadline"));
    assert_int_equal(run(f, "local co = coroutine.create(function()\n"
                            "  while true do pcall(function() while true do end end) end end)\n"
                            "result = 'escaped'; coroutine.resume(co); while true do end"),
                     APEX_ESCRIPT);
    assert_non_null(strstr(f->err, "deadline"));

    /* After all that the state works and coroutines still behave normally. */
    assert_int_equal(run(f,
                         "local w = coroutine.wrap(function(a) local b = coroutine.yield(a + 1)\n"
                         "  return b * 2 end)\n"
                         "result = w(1) + w(20)"),
                     0);
    assert_int_equal(result_int(f), 42);
    assert_int_equal(run(f, "result = 3"), 0);
    assert_int_equal(result_int(f), 3);
}

static void test_memory_bomb_stopped(void **state)
{
    fixture *f = *state;
    size_t before = f->sb.used;
    assert_int_equal(run(f, "local t = {}; for i = 1, 1e9 do t[i] = i end"), APEX_ENOMEM);
    assert_non_null(strstr(f->err, "memory limit"));
    assert_true(f->sb.used <= f->sb.limit);

    assert_int_equal(run(f, "local s = string.rep('x', 1e9)"), APEX_ENOMEM);
    assert_int_equal(run(f, "local parts = {}\n"
                            "for i = 1, 1e9 do parts[#parts + 1] = string.rep('y', 1000) .. i end"),
                     APEX_ENOMEM);

    /* Caught inside the script, the script carries on. */
    assert_int_equal(run(f, "local ok = pcall(string.rep, 'x', 1e9); result = ok and 1 or 0"), 0);
    assert_int_equal(result_int(f), 0);

    /* The garbage is gone and ordinary work still runs. */
    assert_true(f->sb.used < before + (1u << 20));
    assert_int_equal(run(f, "result = #string.rep('z', 1000)"), 0);
    assert_int_equal(result_int(f), 1000);
}

/* --- sandbox_load_file ----------------------------------------------------------- */

typedef struct {
    const char *path;
    int env_ref;
} load_req;

static int load_and_run(lua_State *L)
{
    load_req *r = lua_touserdata(L, 1);
    lua_rawgeti(L, LUA_REGISTRYINDEX, r->env_ref);
    sandbox_load_file(L, r->path, -1);
    lua_call(L, 0, 0);
    return 0;
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static void test_load_file_messages(void **state)
{
    fixture *f = *state;
    char dir[] = "/tmp/apex-load-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256], want[320];
    load_req r = {path, f->env_ref};

    /* Source text runs in the given environment, with file:line in its errors. */
    snprintf(path, sizeof path, "%s/ok.lua", dir);
    const char *ok = "result = 11\n";
    write_file(path, ok, strlen(ok));
    assert_int_equal(sandbox_run(&f->sb, load_and_run, &r, f->err, sizeof f->err), 0);
    assert_int_equal(result_int(f), 11);

    snprintf(path, sizeof path, "%s/syntax.lua", dir);
    const char *bad = "local x = 1\nlocal y = = 2\n";
    write_file(path, bad, strlen(bad));
    assert_int_equal(sandbox_run(&f->sb, load_and_run, &r, f->err, sizeof f->err), APEX_ESCRIPT);
    snprintf(want, sizeof want, "%s:2:", path);
    assert_non_null(strstr(f->err, want));

    snprintf(path, sizeof path, "%s/runtime.lua", dir);
    const char *boom = "\n\nerror('boom')\n";
    write_file(path, boom, strlen(boom));
    assert_int_equal(sandbox_run(&f->sb, load_and_run, &r, f->err, sizeof f->err), APEX_ESCRIPT);
    snprintf(want, sizeof want, "%s:3: boom", path);
    assert_non_null(strstr(f->err, want));

    /* Missing: "<path>: cannot open: <why>; check the path". */
    snprintf(path, sizeof path, "%s/missing.lua", dir);
    assert_int_equal(sandbox_run(&f->sb, load_and_run, &r, f->err, sizeof f->err), APEX_ESCRIPT);
    snprintf(want, sizeof want, "%s: cannot open: No such file or directory; check the path", path);
    assert_string_equal(f->err, want);

    /* Bytecode, even under a .lua name. */
    lua_State *plain = luaL_newstate();
    assert_int_equal(luaL_loadstring(plain, "result = 12"), 0);
    dump_buf out = {{0}, 0};
    assert_int_equal(lua_dump(plain, dump_writer, &out, 0), 0);
    lua_close(plain);
    snprintf(path, sizeof path, "%s/compiled.lua", dir);
    write_file(path, out.data, out.len);
    assert_int_equal(sandbox_run(&f->sb, load_and_run, &r, f->err, sizeof f->err), APEX_ESCRIPT);
    snprintf(want, sizeof want, "%s: is precompiled Lua bytecode", path);
    assert_non_null(strstr(f->err, want));
    assert_int_equal(result_int(f), 11); /* never ran */

    const char *const names[] = {"ok.lua", "syntax.lua", "runtime.lua", "compiled.lua"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

/* --- sandbox_run ----------------------------------------------------------------- */

typedef struct {
    fixture *f;
    const char *code; /* run nested, inside the outer call */
    int nested_rc;
    char nested_err[512];
    int64_t outer_deadline, nested_deadline;
} nest_req;

static int nested_chunk(lua_State *L)
{
    nest_req *r = lua_touserdata(L, 1);
    r->nested_deadline = r->f->sb.deadline_ns;
    if (luaL_loadbufferx(L, r->code, strlen(r->code), "@nested.lua", "t") != LUA_OK)
        return lua_error(L);
    lua_rawgeti(L, LUA_REGISTRYINDEX, r->f->env_ref);
    lua_setupvalue(L, -2, 1);
    lua_call(L, 0, 0);
    return 0;
}

static int outer_fn(lua_State *L)
{
    nest_req *r = lua_touserdata(L, 1);
    r->outer_deadline = r->f->sb.deadline_ns;
    r->nested_rc = sandbox_run(&r->f->sb, nested_chunk, r, r->nested_err, sizeof r->nested_err);
    return 0;
}

/* A run inside a run: the nested error is formatted the same way and caught there, the
 * deadline is the outer call's, and the state is back to rest afterwards. */
static void test_nested_runs(void **state)
{
    fixture *f = *state;
    nest_req r = {.f = f, .code = "\nerror('inner')"};
    int top = lua_gettop(f->sb.L);
    assert_int_equal(sandbox_run(&f->sb, outer_fn, &r, f->err, sizeof f->err), 0);
    assert_int_equal(r.nested_rc, APEX_ESCRIPT);
    assert_non_null(strstr(r.nested_err, "nested.lua:2: inner"));
    assert_true(r.outer_deadline != 0);
    assert_true(r.nested_deadline == r.outer_deadline);
    assert_int_equal(f->sb.depth, 0);
    assert_true(f->sb.deadline_ns == 0);
    assert_int_equal(lua_gettop(f->sb.L), top);

    /* The memory cap hit in a nested run is reported as the memory limit. */
    r.code = "local s = string.rep('x', 1e9)";
    assert_int_equal(sandbox_run(&f->sb, outer_fn, &r, f->err, sizeof f->err), 0);
    assert_int_equal(r.nested_rc, APEX_ENOMEM);
    assert_non_null(strstr(r.nested_err, "memory limit"));

    /* A runaway nested chunk trips the outer call's deadline. */
    r.code = "while true do end";
    assert_int_equal(sandbox_run(&f->sb, outer_fn, &r, f->err, sizeof f->err), 0);
    assert_int_equal(r.nested_rc, APEX_ESCRIPT);
    assert_non_null(strstr(r.nested_err, "nested.lua:1: script ran past its 50 ms deadline"));
    assert_int_equal(run(f, "result = 5"), 0);
    assert_int_equal(result_int(f), 5);
    assert_int_equal(lua_gettop(f->sb.L), top);
}

/* C functions that push once per argument or element stay within their stack. */
static void test_many_values_cross_the_boundary(void **state)
{
    fixture *f = *state;
    assert_int_equal(run(f, "local t = {}\n"
                            "for i = 1, 200 do t[i] = '' end\n"
                            "print(table.unpack(t))\n"
                            "local w = coroutine.wrap(function(...) return select('#', ...) end)\n"
                            "result = w(table.unpack(t))"),
                     0);
    assert_int_equal(result_int(f), 200);
}

/* --- math.random ----------------------------------------------------------------- */

static lua_Integer seeded_draw(uint64_t seed)
{
    fixture f;
    memset(&f, 0, sizeof f);
    script_limits lim = {.memory_limit = 8u << 20, .deadline_ms = 1000};
    assert_int_equal(sandbox_open(&f.sb, lim, "seed", NULL, f.err, sizeof f.err), 0);
    assert_int_equal(sandbox_set_seed(&f.sb, seed, f.err, sizeof f.err), 0);
    sandbox_push_env(f.sb.L);
    f.env_ref = luaL_ref(f.sb.L, LUA_REGISTRYINDEX);
    assert_int_equal(run(&f, "local x = 0\n"
                             "for i = 1, 4 do x = x * 1000 + math.random(0, 999) end\n"
                             "result = x"),
                     0);
    lua_Integer v = result_int(&f);
    sandbox_close(&f.sb);
    return v;
}

static void test_set_seed(void **state)
{
    assert_true(seeded_draw(7) == seeded_draw(7));
    assert_true(seeded_draw(7) != seeded_draw(8));
    assert_true(seeded_draw(UINT64_MAX) == seeded_draw(UINT64_MAX));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_dangerous_globals_absent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_require_reaches_only_host_modules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bytecode_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_string_metatable_protected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_library_tables_read_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_collectgarbage_restricted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_infinite_loop_stopped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pcall_cannot_swallow_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memory_bomb_stopped, setup_long_deadline, teardown),
        cmocka_unit_test_setup_teardown(test_load_file_messages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nested_runs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_values_cross_the_boundary, setup, teardown),
        cmocka_unit_test(test_set_seed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
