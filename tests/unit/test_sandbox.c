/* test_sandbox: what a pipeline script can and cannot do inside its lua_State. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
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

/* 64 MiB and a minute: for tests that build large structures before the point. */
static int setup_big(void **state)
{
    return setup_limits(state, 64u << 20, 60000);
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

/* --- the deadline's hook-free paths and the C loops it cannot interrupt --------- */

/* Lua calls a message handler with hooks off when the error came from a hook, so after
 * a trip a looping handler was unstoppable. */
static void test_xpcall_handler_after_trip(void **state)
{
    fixture *f = *state;
    assert_int_equal(run(f, "local function loop() while true do end end\n"
                            "xpcall(loop, loop)"),
                     APEX_ESCRIPT);
    assert_non_null(strstr(f->err, "ran past its 50 ms deadline"));
    /* An ordinary error still reaches the script's own handler, with its value. */
    assert_int_equal(run(f, "local ok, m = xpcall(function() error('boom', 0) end,\n"
                            "  function(m) return 'handled ' .. m end, 1)\n"
                            "result = tostring(ok) .. ' ' .. m"),
                     0);
    char buf[128];
    assert_string_equal(result_str(f, buf, sizeof buf), "false handled boom");
    assert_int_equal(run(f, "result = select('#', xpcall(function(a, b) return a, b end, "
                            "print, 1, 2))"),
                     0);
    assert_int_equal(result_int(f), 3);
}

/* Finalizers run with hooks off whenever the collector likes: refused. */
static void test_gc_finalizers_refused(void **state)
{
    fixture *f = *state;
    assert_int_equal(run(f, "setmetatable({}, {__gc = function() while true do end end})"),
                     APEX_ESCRIPT);
    assert_non_null(strstr(f->err, "test.lua:1: setmetatable: __gc finalizers are not allowed"));
    assert_int_equal(run(f, "setmetatable({}, {__gc = true})"), APEX_ESCRIPT);
    /* Added after setmetatable, __gc never marks the object, so it never runs. */
    assert_int_equal(run(f, "result = 'not run'\n"
                            "local mt = {}\n"
                            "do local x = setmetatable({}, mt) end\n"
                            "mt.__gc = function() result = 'ran' end\n"
                            "collectgarbage('collect'); collectgarbage('collect')"),
                     0);
    char buf[64];
    assert_string_equal(result_str(f, buf, sizeof buf), "not run");
    assert_int_equal(run(f, "result = getmetatable(setmetatable({}, {__index = {a = 1}})) and 1"),
                     0);
    assert_int_equal(result_int(f), 1);
}

/* 15,000 coroutines each closing the previous one from __close overflowed the C stack of
 * Lua 5.4.4 (SIGSEGV). The nesting is refused at CLOSE_DEPTH_MAX instead. */
static void test_nested_coroutine_close(void **state)
{
    fixture *f = *state;
    assert_int_equal(run(f, "local coro, first = false, nil\n"
                            "for i = 1, 15000 do\n"
                            "  local previous = coro\n"
                            "  coro = coroutine.create(function()\n"
                            "    local cc <close> = setmetatable({}, {__close = function()\n"
                            "      if previous then\n"
                            "        local ok, e = coroutine.close(previous)\n"
                            "        if not ok and not first then first = e end\n"
                            "      end end})\n"
                            "    coroutine.yield()\n"
                            "  end)\n"
                            "  coroutine.resume(coro)\n"
                            "end\n"
                            "coroutine.close(coro)\n"
                            "result = tostring(first)"),
                     0);
    char buf[512];
    assert_non_null(strstr(result_str(f, buf, sizeof buf), "coroutine.close nested more than 64"));
    /* Shallow nesting works as in Lua. */
    assert_int_equal(run(f, "local log = {}\n"
                            "local inner = coroutine.create(function()\n"
                            "  local x <close> = setmetatable({}, {__close = function()\n"
                            "    log[#log + 1] = 'inner' end}); coroutine.yield() end)\n"
                            "coroutine.resume(inner)\n"
                            "local outer = coroutine.create(function()\n"
                            "  local y <close> = setmetatable({}, {__close = function()\n"
                            "    coroutine.close(inner); log[#log + 1] = 'outer' end})\n"
                            "  coroutine.yield() end)\n"
                            "coroutine.resume(outer)\n"
                            "assert(coroutine.close(outer))\n"
                            "result = table.concat(log, ',')"),
                     0);
    assert_string_equal(result_str(f, buf, sizeof buf), "inner,outer");
}

/* Every tick of the watchdog used to walk the whole call stack; at a deep stack that
 * starved the script and the hook never ran. */
static void test_deep_recursion_stopped(void **state)
{
    fixture *f = *state;
    f->sb.deadline_ms = 50;
    int rc = run(f, "local function r(n) if n == 0 then return 0 end return 1 + r(n - 1) end\n"
                    "r(1e7)");
    assert_int_not_equal(rc, 0);
    assert_true(strstr(f->err, "deadline") || strstr(f->err, "stack overflow") ||
                strstr(f->err, "memory limit"));
    assert_int_equal(run(f, "result = 7"), 0);
    assert_int_equal(result_int(f), 7);
}

/* A coroutine's own hook looks at the clock every 1000 instructions: a loop of long C
 * calls ran a second past the deadline between looks. The watchdog hooks the running
 * coroutine too, so the loop stops within a few iterations of the deadline (about 250
 * iterations, 4 instructions each, passed before). */
static void test_coroutine_c_loop_stopped(void **state)
{
    fixture *f = *state;
    assert_int_equal(run(f, "S = string.rep('x', 8e6); n = 0"), 0);
    f->sb.deadline_ms = 50;
    assert_int_equal(run(f, "coroutine.wrap(function()\n"
                            "  while true do local u = S:upper(); n = n + 1 end\n"
                            "end)()"),
                     APEX_ESCRIPT);
    assert_non_null(strstr(f->err, "ran past its 50 ms deadline"));
    f->sb.deadline_ms = 60000;
    assert_int_equal(run(f, "result = n"), 0);
    assert_true(result_int(f) < 150);
    assert_true(f->sb.running == NULL);
}

/* table.move({}, 1, 1e15, 1) copied nils in C for days: now in chunks, with the
 * deadline between them; results equal Lua's own element-by-element move. */
static void test_table_move_bounded(void **state)
{
    fixture *f = *state;
    f->sb.deadline_ms = 50;
    assert_int_equal(run(f, "table.move({}, 1, 1e15, 1)"), APEX_ESCRIPT);
    assert_non_null(strstr(f->err, "test.lua:1: script ran past its 50 ms deadline"));
    assert_int_equal(run(f, "local mt = {__index = type, __newindex = rawequal}\n"
                            "table.move(setmetatable({}, mt), 1, math.maxinteger - 1, 2)"),
                     APEX_ESCRIPT);
    assert_non_null(strstr(f->err, "deadline"));
    f->sb.deadline_ms = 60000;

    /* Overlapping moves both ways, across many chunks, and into another table. */
    assert_int_equal(run(f, "local function naive(a, f, e, t, b)\n"
                            "  b = b or a\n"
                            "  if t > e or t <= f or a ~= b then\n"
                            "    for i = 0, e - f do b[t + i] = a[f + i] end\n"
                            "  else for i = e - f, 0, -1 do b[t + i] = a[f + i] end end\n"
                            "  return b end\n"
                            "local function seq(n) local t = {} for i = 1, n do t[i] = i end "
                            "return t end\n"
                            "local cases = {{1, 20000, 7}, {7, 20006, 1}, {1, 9000, 4100},\n"
                            "  {5000, 15000, 2}, {1, 20000, 20001}}\n"
                            "for _, c in ipairs(cases) do\n"
                            "  local a, b = seq(30000), seq(30000)\n"
                            "  assert(table.move(a, c[1], c[2], c[3]) == a)\n"
                            "  naive(b, c[1], c[2], c[3])\n"
                            "  for i = 1, 50000 do assert(a[i] == b[i], i) end\n"
                            "end\n"
                            "local src, d1, d2 = seq(10000), {}, {}\n"
                            "assert(table.move(src, 1, 10000, 3, d1) == d1)\n"
                            "naive(src, 1, 10000, 3, d2)\n"
                            "for i = 1, 10002 do assert(d1[i] == d2[i]) end\n"
                            "result = #d1"),
                     0);
    assert_int_equal(result_int(f), 10002);
    /* The original's argument checks still speak. */
    assert_int_equal(run(f, "table.move({}, -1, math.maxinteger, 1)"), APEX_ESCRIPT);
    assert_non_null(strstr(f->err, "too many elements to move"));
}

/* A comparator-less sort of a large table checks the deadline as it compares. */
static void test_table_sort_bounded(void **state)
{
    fixture *f = *state;
    assert_int_equal(run(f, "big = {} for i = 1, 2e6 do big[i] = (i * 7919) % 1000003 end\n"
                            "mid = {} for i = 1, 100000 do mid[i] = (i * 7919) % 100003 end"),
                     0);
    f->sb.deadline_ms = 50;
    assert_int_equal(run(f, "table.sort(big)"), APEX_ESCRIPT);
    assert_non_null(strstr(f->err, "test.lua:1: script ran past its 50 ms deadline"));
    f->sb.deadline_ms = 60000;
    assert_int_equal(run(f, "table.sort(mid)\n"
                            "for i = 2, #mid do assert(mid[i - 1] <= mid[i]) end\n"
                            "mid[50] = 'x'\n"
                            "local ok, e = pcall(table.sort, mid)\n"
                            "result = e"),
                     0);
    char buf[256];
    assert_non_null(strstr(result_str(f, buf, sizeof buf), "attempt to compare"));
}

/* string.rep of an empty string looped n times in C for an empty result. */
static void test_rep_of_nothing(void **state)
{
    fixture *f = *state;
    assert_int_equal(run(f, "assert(string.rep('', 1e15) == '' and ('').rep('', 1e15, '') == '')\n"
                            "assert(('ab'):rep(3, ',') == 'ab,ab,ab' and ('x'):rep(0) == '')\n"
                            "result = #string.rep('', 5, '-')"),
                     0);
    assert_int_equal(result_int(f), 4);
    assert_int_equal(run(f, "string.rep('', 1e15, 'x')"), APEX_ESCRIPT);
    assert_non_null(strstr(f->err, "resulting string too large"));
}

/* Each os.date conversion is a strftime in one C loop: long formats are refused. */
static void test_os_date_format_bounded(void **state)
{
    fixture *f = *state;
    assert_int_equal(run(f, "os.date(string.rep('%c', 3e6))"), APEX_ESCRIPT);
    assert_non_null(strstr(f->err, "os.date: the format is 6000000 bytes; at most 256"));
    assert_int_equal(run(f, "result = os.date('!%Y-%m-%d %H:%M', 86400)"), 0);
    char buf[64];
    assert_string_equal(result_str(f, buf, sizeof buf), "1970-01-02 00:00");
}

/* Parsing is one C call: a long chunk is parsed in pieces with the deadline between. */
static void test_load_bounded(void **state)
{
    fixture *f = *state;
    assert_int_equal(run(f, "SRC = string.rep('a = 1 ', 4e6)"), 0);
    f->sb.deadline_ms = 50;
    assert_int_equal(run(f, "local fn = load(SRC)"), APEX_ESCRIPT);
    assert_non_null(strstr(f->err, "ran past its 50 ms deadline"));
    /* A reader handing out huge pieces, inside a coroutine (whose hook counts instructions
     * and would not see a few reader calls). */
    assert_int_equal(
        run(f, "coroutine.wrap(function()\n"
               "  local n = 0\n"
               "  local fn = load(function() n = n + 1; if n <= 4 then return SRC end end)\n"
               "end)()"),
        APEX_ESCRIPT);
    assert_non_null(strstr(f->err, "ran past its 50 ms deadline"));
    f->sb.deadline_ms = 60000;
    /* Readers work as with Lua's load. */
    assert_int_equal(run(f,
                         "local parts = {'return ', '1 + ', '41'}\n"
                         "local i = 0\n"
                         "local fn = assert(load(function() i = i + 1; return parts[i] end))\n"
                         "local bad, e = load(function() return {} end)\n"
                         "assert(bad == nil and e:find('reader function must return a string'))\n"
                         "result = fn()"),
                     0);
    assert_int_equal(result_int(f), 42);
    /* Long chunks load and run as Lua's own load would, names and messages included. */
    assert_int_equal(
        run(f, "local src = string.rep('x = (x or 0) + 1\\n', 20000)\n"
               "local env = {}\n"
               "assert(load(src, 'big', 't', env))()\n"
               "local fn, e = load(src .. 'x = = 1')\n"
               "assert(fn == nil)\n"
               "result = env.x .. ' ' .. e:match('^%[string \"x = %(x or 0%)[^\"]*\"%]:%d+:')"),
        0);
    char buf[256];
    assert_non_null(
        strstr(result_str(f, buf, sizeof buf), "20000 [string \"x = (x or 0) + 1...\"]:20001:"));
}

/* --- read-only shared tables ----------------------------------------------------- */

static void test_no_writable_reference_to_shared_tables(void **state)
{
    fixture *f = *state;
    /* pairs(string) returned the real library table as its second value. */
    assert_int_equal(run(f, "local _, s = pairs(string)\n"
                            "assert(s ~= nil)\n"
                            "s.format = function() return 'pwned' end"),
                     APEX_ESCRIPT);
    assert_non_null(strstr(f->err, "read-only table 'string'"));
    assert_int_equal(run(f, "local iter, s, k = pairs(string)\n"
                            "local n = 0\n"
                            "for name, fn in iter, s, k do n = n + 1 end\n"
                            "assert(next(string) == nil and rawget(string, 'format') == nil)\n"
                            "result = ('%d'):format(n) == tostring(n) and n"),
                     0);
    assert_true(result_int(f) > 10);

    /* Modules: the table require returns, its subtables and its iteration. */
    assert_int_equal(run(f, "require('apex.ta').sma = nil"), APEX_ESCRIPT);
    assert_non_null(strstr(f->err, "read-only table 'apex.ta'"));
    assert_int_equal(run(f, "rawset(require('apex.ta'), 'sma', print)"), APEX_ESCRIPT);
    assert_int_equal(run(f, "for k, v in pairs(require('apex.ta')) do\n"
                            "  if type(v) == 'table' then v.x = 1 end end\n"
                            "local _, m = pairs(require('apex.ta')); m.sma = print"),
                     APEX_ESCRIPT);
    assert_non_null(strstr(f->err, "read-only table"));
    /* An indicator's class is hidden, so one script cannot patch every indicator. */
    assert_int_equal(run(f, "local ta = require('apex.ta')\n"
                            "assert(getmetatable(ta.sma(3)) == false)\n"
                            "assert(rawequal(ta, require('apex.ta')))\n"
                            "local s = ta.sma(3)\n"
                            "for _, x in ipairs({1, 2, 3, 4}) do s:update(x) end\n"
                            "result = math.floor(s.value + 0.5)"),
                     0);
    assert_int_equal(result_int(f), 3);
}

/* --- what the memory error says -------------------------------------------------- */

static void test_memory_error_names_line(void **state)
{
    fixture *f = *state;
    assert_int_equal(run(f, "local t = {}\nfor i = 1, 1e9 do t[i] = i end"), APEX_ENOMEM);
    assert_non_null(strstr(f->err, "test.lua:2: not enough memory"));
}

/* --- the last line of defence ----------------------------------------------------- */

static int spin_forever(lua_State *L)
{
    volatile unsigned long n = 0;
    for (;;)
        n++;
    (void)L;
    return 0;
}

/* A C call nothing can interrupt: the process stops with SCRIPT_EXIT_STUCK and says
 * why, instead of hanging every pipeline and ignoring SIGINT. In a child process. */
static void test_stuck_c_call_stops_process(void **state)
{
    fixture *f = *state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* POSIX timers are not inherited: the child's sandbox starts its own watchdog. */
        dup2(fds[1], STDERR_FILENO);
        sandbox_close(&f->sb);
        script_limits lim = {.memory_limit = 8u << 20, .deadline_ms = 50};
        if (sandbox_open(&f->sb, lim, "test", NULL, f->err, sizeof f->err) != 0)
            _exit(1);
        lua_pushcfunction(f->sb.L, spin_forever);
        sandbox_pcall(&f->sb, 0, f->err, sizeof f->err);
        _exit(0); /* never reached */
    }
    close(fds[1]);
    char msg[1024] = "";
    size_t got = 0;
    ssize_t n;
    while ((n = read(fds[0], msg + got, sizeof msg - 1 - got)) > 0)
        got += (size_t)n;
    msg[got] = '\0';
    close(fds[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), SCRIPT_EXIT_STUCK);
    assert_non_null(strstr(msg, "apex-host: pipeline test: a script call is stuck in C code"));
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
        cmocka_unit_test_setup_teardown(test_xpcall_handler_after_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gc_finalizers_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nested_coroutine_close, setup_big, teardown),
        cmocka_unit_test_setup_teardown(test_deep_recursion_stopped, setup_big, teardown),
        cmocka_unit_test_setup_teardown(test_table_move_bounded, setup_big, teardown),
        cmocka_unit_test_setup_teardown(test_coroutine_c_loop_stopped, setup_big, teardown),
        cmocka_unit_test_setup_teardown(test_table_sort_bounded, setup_big, teardown),
        cmocka_unit_test_setup_teardown(test_os_date_format_bounded, setup_big, teardown),
        cmocka_unit_test_setup_teardown(test_rep_of_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_bounded, setup_big, teardown),
        cmocka_unit_test_setup_teardown(test_no_writable_reference_to_shared_tables, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_memory_error_names_line, setup_long_deadline,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stuck_c_call_stops_process, setup, teardown),
        cmocka_unit_test(test_set_seed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
