/* sandbox: the safe lua_State every pipeline script runs in.
 *
 * The state's global table (LUA_RIDX_GLOBALS) is replaced by a table that holds
 * only the safe functions; the full base library that luaopen_base installed is
 * never reachable from a script. Library tables are exposed as read-only proxies
 * so one script cannot rewrite string.format under another. */
#include "script/sandbox.h"

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lualib.h>

#include "script/embedded.h"
#include "script/pattern.h"
#include "script/ta.h"
#include "metrics/metrics.h"
#include "util/err.h"
#include "util/log.h"

/* The deadline without a per-instruction cost. Lua 5.4 runs every instruction through
 * its slow path (luaG_traceexec) while any count hook is installed, whatever the count:
 * measured at +50% on a strategy's on_bar. So the main thread runs with no hook, and a
 * watchdog (a POSIX timer signalling this thread every WATCHDOG_MS) installs the count
 * hook only when the running call is past its deadline; lua_sethook is safe to call
 * from a signal handler (lua.c interrupts scripts the same way on Ctrl-C). Coroutines,
 * which the watchdog cannot see, carry a clock-checking hook every HOOK_EVERY
 * instructions from their creation. */
#define HOOK_EVERY  1000
#define WATCHDOG_MS 10
/* Library loops the hook cannot interrupt (table.sort, table.move, ...) count their work
 * and read the clock every BUDGET_EVERY units: about every 10-50 us of C work. */
#define BUDGET_EVERY 1024
/* The last line of defence: a call still running this long after its deadline is stuck
 * in C code that no check reaches (none is known; see docs/security.md). Waiting longer
 * would hang every pipeline and ignore SIGINT, so the host stops with EXIT_SCRIPT_STUCK
 * and a restart resumes from the store. */
#define STUCK_AFTER_MS(deadline_ms) ((deadline_ms)*20 > 5000 ? (deadline_ms)*20 : 5000)
/* coroutine.close nested through __close handlers runs C recursion that Lua 5.4.4 does
 * not count (the "C-stack overflow with deep nesting of coroutine.close" bug, fixed in
 * 5.4.5): 15,000 levels overflow the C stack. Real code closes one or two deep. */
#define CLOSE_DEPTH_MAX 64

static const char ENV_META_KEY[] = "apex.envmeta";
static const char REQUIRE_KEY[] = "apex.require";
static const char READONLY_KEY[] = "apex.readonly"; /* set of read-only proxies */
static const char PROXIES_KEY[] = "apex.proxies";   /* weak: real table -> its proxy */

static void push_proxy(lua_State *L, int real, const char *name, bool deep);

sandbox *sandbox_of(lua_State *L)
{
    void *ud = NULL;
    lua_getallocf(L, &ud);
    return ud;
}

static int64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* What a block really costs the process: glibc's usable size (the request rounded up to
 * its chunk) plus the chunk header. Counting requested bytes let a deep recursion, made
 * of many small CallInfo blocks, reach 94 MB of RSS under a 64 MiB cap. */
#define BLOCK_HEADER 8
static size_t block_cost(void *p)
{
    return malloc_usable_size(p) + BLOCK_HEADER;
}

/* Notes the script line that asked for memory past the cap: Lua raises a memory error
 * without calling the message handler, so this is the only moment the line is known.
 * lua_getstack and lua_getinfo("Sl") read the call frames without allocating, and Lua
 * keeps its frames consistent at every allocation that can fail. The frame is the main
 * thread's: inside a coroutine, the line that resumed it. */
static void note_refusal(sandbox *sb)
{
    if (sb->mem_where[0] || !sb->L || sb->depth == 0)
        return;
    lua_Debug ar;
    for (int level = 0; lua_getstack(sb->L, level, &ar); level++) {
        if (lua_getinfo(sb->L, "Sl", &ar) && ar.currentline > 0) {
            snprintf(sb->mem_where, sizeof sb->mem_where, "%s:%d", ar.short_src, ar.currentline);
            return;
        }
    }
}

/* The accounting allocator: refusing growth past the cap makes Lua raise "not enough
 * memory" in the script, which unwinds like any error and leaves the state usable. */
static void *sandbox_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    (void)osize;
    sandbox *sb = ud;
    size_t old = ptr ? block_cost(ptr) : 0;
    if (nsize == 0) {
        free(ptr);
        sb->used -= old;
        return NULL;
    }
    if (nsize + BLOCK_HEADER > old && sb->used - old + nsize + BLOCK_HEADER > sb->limit) {
        note_refusal(sb);
        return NULL;
    }
    void *p = realloc(ptr, nsize);
    if (p)
        sb->used = sb->used - old + block_cost(p);
    return p;
}

/* The one text of the deadline error (after the "file:line: " of the frame it hit). */
#define DEADLINE_MESSAGE                                                                           \
    "script ran past its %d ms deadline; make the callback do less work per call"

/* Pushes "file:line: script ran past its N ms deadline; ..." for the innermost Lua frame
 * of L. Lua gives a hook LUA_MINSTACK free slots, enough for its two strings.
 * [-0, +1, m] */
static void push_deadline_message(lua_State *L, const sandbox *sb)
{
    lua_Debug where;
    int level = 0;
    /* A C function (a bounded library loop) has no line: report its Lua caller. */
    while (lua_getstack(L, level, &where) && lua_getinfo(L, "Sl", &where) &&
           where.currentline <= 0 && level < 2)
        level++;
    if (lua_getstack(L, level, &where) && lua_getinfo(L, "Sl", &where) && where.currentline > 0)
        lua_pushfstring(L, "%s:%d: ", where.short_src, where.currentline);
    else
        lua_pushliteral(L, "");
    lua_pushfstring(L, DEADLINE_MESSAGE, sb->deadline_ms);
    lua_concat(L, 2);
}

static void deadline_hook(lua_State *L, lua_Debug *ar);

/* Trips the deadline of the running call. Once tripped the hook runs on every
 * instruction of the main thread and of L (a coroutine), so a pcall inside the script
 * catches the error only to have the next instruction raise it again, until the host's
 * outer call unwinds. [-0, +0, -] */
static void trip(lua_State *L, sandbox *sb)
{
    if (!sb->tripped) {
        sb->tripped = true;
        lua_sethook(sb->L, deadline_hook, LUA_MASKCOUNT, 1);
    }
    if (lua_gethookcount(L) != 1)
        lua_sethook(L, deadline_hook, LUA_MASKCOUNT, 1);
}

/* Trips the deadline and raises its error. [-0, +1, v] */
static int raise_deadline(lua_State *L, sandbox *sb)
{
    trip(L, sb);
    push_deadline_message(L, sb);
    return lua_error(L);
}

static void deadline_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    sandbox *sb = sandbox_of(L);
    if (sb->deadline_ns == 0) {
        /* No call in progress: back to the resting state (no hook on the main thread, the
         * periodic check on coroutines). */
        if (L == sb->L)
            lua_sethook(L, NULL, 0, 0);
        else if (lua_gethookcount(L) != HOOK_EVERY)
            lua_sethook(L, deadline_hook, LUA_MASKCOUNT, HOOK_EVERY);
        return;
    }
    if (!sb->tripped && monotonic_ns() < sb->deadline_ns)
        return;
    raise_deadline(L, sb);
}

void sandbox_budget(lua_State *L, unsigned units)
{
    sandbox *sb = sandbox_of(L);
    sb->budget_ops += units;
    if (sb->budget_ops < BUDGET_EVERY)
        return;
    sb->budget_ops = 0;
    if (sb->deadline_ns != 0 && (sb->tripped || monotonic_ns() >= sb->deadline_ns))
        raise_deadline(L, sb);
}

/* ---- the watchdog ---- */

static sandbox *volatile watched; /* the sandbox whose outer call is running, or NULL */
static timer_t watchdog_timer;
static int watchdog_users;

/* Async-signal-safe: write(2) of a message assembled with memcpy, then _exit. */
static void stuck_exit(const sandbox *sb)
{
    static const char head[] = "apex-host: pipeline ";
    static const char tail[] =
        ": a script call is stuck in C code far past its deadline, where the deadline "
        "cannot interrupt it; the host stops now rather than hang every pipeline (exit code "
        "6). Restart it to resume from the store, and fix the script (see docs/security.md).\n";
    char msg[sizeof head + sizeof sb->pipeline + sizeof tail];
    size_t n = 0, len = strnlen(sb->pipeline, sizeof sb->pipeline);
    memcpy(msg + n, head, sizeof head - 1);
    n += sizeof head - 1;
    memcpy(msg + n, sb->pipeline, len);
    n += len;
    memcpy(msg + n, tail, sizeof tail - 1);
    n += sizeof tail - 1;
    ssize_t w = write(STDERR_FILENO, msg, n);
    (void)w;
    _exit(SCRIPT_EXIT_STUCK);
}

static void on_watchdog(int signo)
{
    (void)signo;
    sandbox *sb = watched;
    if (!sb || !sb->deadline_ns)
        return;
    int64_t now = monotonic_ns();
    if (now < sb->deadline_ns)
        return;
    /* Once per overrun: lua_sethook walks every call frame, and repeating it every tick
     * at a deep stack (190,000 frames) starved the script so the hook never ran. */
    if (!sb->tripped && !sb->hooked) {
        sb->hooked = true;
        lua_sethook(sb->L, deadline_hook, LUA_MASKCOUNT, 1); /* fires on the next instruction */
        lua_State *co = sb->running;
        if (co)
            lua_sethook(co, deadline_hook, LUA_MASKCOUNT, 1);
    }
    if (now - sb->deadline_ns >= (int64_t)STUCK_AFTER_MS(sb->deadline_ms) * 1000000)
        stuck_exit(sb);
}

/* Starts the process-wide watchdog with the first sandbox; it signals the thread that
 * runs the scripts (the host is single-threaded; libuv's pool threads never run Lua). */
static int watchdog_start(char *err, size_t errlen)
{
    if (watchdog_users++ > 0)
        return 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_watchdog;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = SANDBOX_WATCHDOG_SIGNAL;
    sev._sigev_un._tid = (int)syscall(SYS_gettid);
    struct itimerspec every = {.it_interval = {0, WATCHDOG_MS * 1000000L},
                               .it_value = {0, WATCHDOG_MS * 1000000L}};
    if (sigaction(SANDBOX_WATCHDOG_SIGNAL, &sa, NULL) != 0 ||
        timer_create(CLOCK_MONOTONIC, &sev, &watchdog_timer) != 0) {
        watchdog_users--;
        return err_set(err, errlen, APEX_EIO, "cannot start the script watchdog timer: %s",
                       strerror(errno));
    }
    timer_settime(watchdog_timer, 0, &every, NULL);
    return 0;
}

static void watchdog_stop(void)
{
    if (watchdog_users > 0 && --watchdog_users == 0)
        timer_delete(watchdog_timer);
}

/* coroutine.create / coroutine.wrap: the new thread gets the clock-checking hook. */
static int guarded_create(lua_State *L)
{
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    lua_State *co = lua_tothread(L, 1);
    if (co)
        lua_sethook(co, deadline_hook, LUA_MASKCOUNT, HOOK_EVERY);
    return lua_gettop(L);
}

/* The function coroutine.wrap returns: resumes its guarded thread and propagates errors. */
static int wrap_resume(lua_State *L)
{
    lua_State *co = lua_tothread(L, lua_upvalueindex(1));
    int nargs = lua_gettop(L);
    if (!lua_checkstack(co, nargs))
        return luaL_error(L, "too many arguments to resume");
    lua_xmove(L, co, nargs);
    int nres = 0;
    sandbox *sb = sandbox_of(L);
    lua_State *outer = sb->running;
    sb->running = co;
    int status = lua_resume(co, L, nargs, &nres);
    sb->running = outer;
    if (sb->tripped)
        trip(L, sb);
    if (status == LUA_OK || status == LUA_YIELD) {
        if (!lua_checkstack(L, nres + 1))
            return luaL_error(L, "too many results to resume");
        lua_xmove(co, L, nres);
        return nres;
    }
    lua_xmove(co, L, 1); /* the error object */
    return lua_error(L);
}

/* coroutine.resume: records the coroutine it runs, so the watchdog can hook it at the
 * deadline; its own hook only looks at the clock every HOOK_EVERY instructions, and a
 * loop of long C calls (upper() of 8 MB) ran a second past the deadline between looks. */
static int rethrow(lua_State *L, int status);

static int guarded_resume(lua_State *L)
{
    sandbox *sb = sandbox_of(L);
    lua_State *outer = sb->running;
    lua_State *co = lua_tothread(L, 1);
    if (co)
        sb->running = co;
    luaL_checkstack(L, 1, NULL);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    int status = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
    sb->running = outer;
    if (sb->tripped)
        trip(L, sb); /* the resumer is hooked at once too, not at its next periodic look */
    if (status != LUA_OK)
        return rethrow(L, status);
    return lua_gettop(L);
}

static int guarded_wrap(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_State *co = lua_newthread(L);
    lua_sethook(co, deadline_hook, LUA_MASKCOUNT, HOOK_EVERY);
    lua_pushvalue(L, 1);
    lua_xmove(L, co, 1);
    lua_pushcclosure(L, wrap_resume, 1);
    return 1;
}

/* Message handler: makes the error a string that starts with the innermost Lua
 * frame's file:line and lists up to three callers ("traceback-lite"). Never calls a
 * __tostring metamethod: that would run script code while a deadline is tripped. */
int sandbox_msgh(lua_State *L)
{
    /* It also runs for "stack overflow", where luaL_checkstack would raise again inside
     * the handler: without room, the bare message is better than an error in error
     * handling. */
    if (!lua_checkstack(L, 4))
        return 1;
    int t = lua_type(L, 1);
    if (t != LUA_TSTRING && t != LUA_TNUMBER)
        lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    else
        lua_pushvalue(L, 1);
    const char *msg = lua_tostring(L, -1);

    luaL_Buffer b;
    luaL_buffinit(L, &b);
    lua_Debug ar;
    int shown = 0;
    bool prefixed = false;
    for (int level = 1; lua_getstack(L, level, &ar) && shown < 4; level++) {
        if (!lua_getinfo(L, "Sl", &ar) || ar.currentline <= 0)
            continue; /* C function or no line info */
        if (shown == 0) {
            /* luaL_error already prefixed "file:line:"; add it only when missing. */
            char pos[LUA_IDSIZE + 24];
            snprintf(pos, sizeof pos, "%s:%d:", ar.short_src, ar.currentline);
            prefixed = strncmp(msg, pos, strlen(pos)) == 0;
            if (!prefixed) {
                luaL_addstring(&b, pos);
                luaL_addchar(&b, ' ');
            }
            luaL_addstring(&b, msg);
        } else {
            luaL_addstring(&b, shown == 1 ? " (called from " : ", ");
            lua_pushfstring(L, "%s:%d", ar.short_src, ar.currentline);
            luaL_addvalue(&b);
        }
        shown++;
    }
    if (shown == 0)
        luaL_addstring(&b, msg);
    else if (shown > 1)
        luaL_addchar(&b, ')');
    luaL_pushresult(&b);
    return 1;
}

static int memory_error(sandbox *sb, char *err, size_t errlen)
{
    return err_set(err, errlen, APEX_ENOMEM,
                   "%s%snot enough memory: the script reached its memory limit of %zu KiB; "
                   "keep less data in tables or raise the limit",
                   sb->mem_where, sb->mem_where[0] ? ": " : "", sb->limit / 1024);
}

int sandbox_pcall(sandbox *sb, int nargs, char *err, size_t errlen)
{
    lua_State *L = sb->L;
    int base = lua_gettop(L) - nargs; /* the function's index */
    /* Room for the message handler; never raises, so this is safe outside protection. */
    if (!lua_checkstack(L, 1)) {
        lua_settop(L, base - 1);
        return memory_error(sb, err, errlen);
    }
    lua_pushcfunction(L, sandbox_msgh);
    lua_insert(L, base);
    sandbox *outer = watched;
    if (sb->depth++ == 0) {
        sb->tripped = false;
        sb->hooked = false;
        sb->budget_ops = 0;
        sb->mem_where[0] = 0;
        sb->running = NULL;
        sb->deadline_ns = monotonic_ns() + (int64_t)sb->deadline_ms * 1000000;
        watched = sb;
    }
    int status = lua_pcall(L, nargs, 0, base);
    bool outermost = --sb->depth == 0;
    if (outermost) {
        /* The call's start is the deadline's base: one clock read per call, not two. */
        int64_t started = sb->deadline_ns - (int64_t)sb->deadline_ms * 1000000;
        metrics_inc(sb->m_calls);
        metrics_add(sb->m_call_ns, monotonic_ns() - started);
        metrics_set(sb->m_memory, (int64_t)sb->used);
        sb->overran = sb->tripped;
        sb->running = NULL;
        watched = outer;
        sb->deadline_ns = 0;
        if (lua_gethook(L))
            lua_sethook(L, NULL, 0, 0); /* tripped, or the watchdog fired just as it ended */
        sb->tripped = false;
        sb->hooked = false;
    }
    int rc = 0;
    if (status == LUA_ERRMEM) {
        rc = memory_error(sb, err, errlen);
    } else if (status != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        rc = err_set(err, errlen, APEX_ESCRIPT, "%s", msg ? msg : "(error without a message)");
    }
    lua_settop(L, base - 1);
    /* Give back what a failed call (e.g. a bomb) left, once per host call: a nested
     * failure (one broken rule among many) is not worth a full collection each time. */
    if (status != LUA_OK && outermost)
        lua_gc(L, LUA_GCCOLLECT);
    return rc;
}

int sandbox_run(sandbox *sb, lua_CFunction fn, void *ud, char *err, size_t errlen)
{
    /* The function, its argument and the message handler. lua_checkstack never raises,
     * and the pushes below do not allocate, so nothing here can escape protection. */
    if (!lua_checkstack(sb->L, 3))
        return memory_error(sb, err, errlen);
    lua_pushcfunction(sb->L, fn);
    lua_pushlightuserdata(sb->L, ud);
    return sandbox_pcall(sb, 1, err, errlen);
}

/* --- math.random ----------------------------------------------------------------- */

/* Calls the real math.randomseed, kept in the registry's loaded-libraries table where
 * no script can reach or replace it. */
static int set_seed_fn(lua_State *L)
{
    uint64_t seed = *(const uint64_t *)lua_touserdata(L, 1);
    luaL_checkstack(L, 4, NULL);
    lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_getfield(L, -1, LUA_MATHLIBNAME);
    if (lua_getfield(L, -1, "randomseed") != LUA_TFUNCTION)
        return luaL_error(L, "math.randomseed is missing from the sandbox");
    /* Two's complement without implementation-defined conversions: every bit of the
     * seed reaches the generator. */
    lua_pushinteger(L, seed <= (uint64_t)LUA_MAXINTEGER ? (lua_Integer)seed
                                                        : -(lua_Integer)(~seed) - 1);
    lua_call(L, 1, 0);
    return 0;
}

void sandbox_set_metrics(sandbox *sb, const char *pipeline)
{
    sb->m_calls = metrics_get(METRIC_LUA_CALLS, pipeline);
    sb->m_call_ns = metrics_get(METRIC_LUA_CALL_SECONDS, pipeline);
    sb->m_memory = metrics_get(METRIC_LUA_MEMORY, pipeline);
}

int sandbox_set_seed(sandbox *sb, uint64_t seed, char *err, size_t errlen)
{
    return sandbox_run(sb, set_seed_fn, &seed, err, errlen);
}

/* --- the restricted base functions ------------------------------------------- */

void sandbox_push_env(lua_State *L)
{
    lua_newtable(L);
    lua_getfield(L, LUA_REGISTRYINDEX, ENV_META_KEY);
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -1);
    lua_setfield(L, -2, "_G");
}

/* Source text longer than this is handed to the parser in pieces of this size by a
 * reader function, with a deadline check per piece: parsing is one C call, and a 16 MB
 * chunk took seconds. */
#define LOAD_PIECE (64 * 1024)

/* The reader load is given: hands the parser the source in pieces of LOAD_PIECE with a
 * budget check between them. Upvalue 1 is the current source, 2 how much of it was
 * handed out, 3 the script's own reader function (or nil for a string chunk), which is
 * asked for more when the source is used up: a script's reader returning one 32 MB
 * piece at a time would otherwise be parsed in one C call each. */
static int piece_reader(lua_State *L)
{
    size_t len = 0;
    const char *src = lua_tolstring(L, lua_upvalueindex(1), &len);
    size_t off = (size_t)lua_tointeger(L, lua_upvalueindex(2));
    if (off > 0 || lua_isfunction(L, lua_upvalueindex(3)))
        sandbox_budget(L, BUDGET_EVERY); /* each piece is worth a clock check */
    if (off >= len) {
        if (!lua_isfunction(L, lua_upvalueindex(3)))
            return 0;
        lua_pushvalue(L, lua_upvalueindex(3));
        lua_call(L, 0, 1);
        if (lua_isnil(L, -1))
            return 0;
        if (!lua_isstring(L, -1)) /* a number is taken as its text, as by Lua's load */
            return luaL_error(L, "reader function must return a string");
        lua_pushvalue(L, -1);
        lua_replace(L, lua_upvalueindex(1));
        src = lua_tolstring(L, -1, &len);
        off = 0;
        if (len == 0)
            return 0;
    }
    size_t n = len - off < LOAD_PIECE ? len - off : LOAD_PIECE;
    lua_pushinteger(L, (lua_Integer)(off + n));
    lua_replace(L, lua_upvalueindex(2));
    lua_pushlstring(L, src + off, n);
    return 1;
}

/* load(chunk [, chunkname [, mode [, env]]]): text only, and a chunk without an explicit
 * env gets a fresh module environment, never the state's real globals. */
static int safe_load(lua_State *L)
{
    int t = lua_type(L, 1);
    if (t != LUA_TSTRING && t != LUA_TFUNCTION)
        return luaL_argerror(L, 1, "expected a string or a reader function");
    if (!lua_isnoneornil(L, 3)) {
        const char *mode = luaL_checkstring(L, 3);
        if (strchr(mode, 't') == NULL)
            return luaL_error(L, "load: binary chunks are not allowed in the sandbox; "
                                 "pass Lua source text");
    }
    lua_settop(L, 4);
    if (lua_isnil(L, 4)) {
        sandbox_push_env(L);
        lua_replace(L, 4);
    }
    size_t len = 0;
    if (t == LUA_TFUNCTION) {
        lua_pushliteral(L, "");
        lua_pushinteger(L, 0);
        lua_pushvalue(L, 1);
        lua_pushcclosure(L, piece_reader, 3);
        lua_replace(L, 1);
    } else if (lua_tolstring(L, 1, &len), len > LOAD_PIECE) {
        if (lua_isnil(L, 2)) { /* the name load gives a string chunk: the string */
            lua_pushvalue(L, 1);
            lua_replace(L, 2);
        }
        lua_pushvalue(L, 1);
        lua_pushinteger(L, 0);
        lua_pushnil(L);
        lua_pushcclosure(L, piece_reader, 3);
        lua_replace(L, 1);
    }
    /* Call the real load with mode forced to "t". */
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 2);
    lua_pushliteral(L, "t");
    lua_pushvalue(L, 4);
    lua_call(L, 4, 2);
    if (lua_isnil(L, -2))
        return 2; /* nil, message */
    lua_pop(L, 1);
    return 1;
}

static int safe_collectgarbage(lua_State *L)
{
    const char *opt = luaL_optstring(L, 1, "collect");
    if (strcmp(opt, "count") == 0) {
        int kb = lua_gc(L, LUA_GCCOUNT);
        int rem = lua_gc(L, LUA_GCCOUNTB);
        lua_pushnumber(L, (lua_Number)kb + (lua_Number)rem / 1024.0);
        return 1;
    }
    if (strcmp(opt, "collect") == 0) {
        lua_gc(L, LUA_GCCOLLECT);
        lua_pushinteger(L, 0);
        return 1;
    }
    return luaL_error(L,
                      "collectgarbage: option '%s' is not allowed in the sandbox; use "
                      "\"count\" or \"collect\"",
                      opt);
}

/* rawset(t, k, v) would bypass a proxy's __newindex; refuse it on the read-only ones. */
static int safe_rawset(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checkany(L, 2);
    luaL_checkany(L, 3);
    lua_settop(L, 3);
    lua_getfield(L, LUA_REGISTRYINDEX, READONLY_KEY);
    lua_pushvalue(L, 1);
    if (lua_rawget(L, -2) != LUA_TNIL)
        return luaL_error(L, "attempt to modify read-only table '%s'", lua_tostring(L, -1));
    lua_pop(L, 2);
    lua_rawset(L, 1);
    return 1;
}

void sandbox_mark_readonly(lua_State *L, int idx, const char *name)
{
    idx = lua_absindex(L, idx);
    lua_getfield(L, LUA_REGISTRYINDEX, READONLY_KEY);
    lua_pushvalue(L, idx);
    lua_pushstring(L, name);
    lua_rawset(L, -3);
    lua_pop(L, 1);
}

/* What require returns for the loaded module at the top of the stack: a module table
 * is shared by every file of the pipeline (and by the host's own calls), so scripts get
 * it behind a deep read-only proxy. [-1, +1, m] */
static int module_value(lua_State *L, const char *name)
{
    if (lua_type(L, -1) == LUA_TTABLE) {
        push_proxy(L, -1, name, true);
        lua_remove(L, -2);
    }
    return 1;
}

/* The host's modules written in C, reached by require like the embedded Lua ones. */
static const luaL_Reg c_modules[] = {{TA_MODULE_NAME, ta_open}, {NULL, NULL}};

/* require(name): only the host's own modules, cached in a private table. */
static int safe_require(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    lua_settop(L, 1);
    luaL_checkstack(L, 6, NULL);
    lua_pushvalue(L, 1);
    if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL)
        return module_value(L, name);
    lua_pop(L, 1);
    const luaL_Reg *c = c_modules;
    while (c->name && strcmp(c->name, name) != 0)
        c++;
    const struct embedded_lua_module *m = embedded_lua_modules;
    while (!c->name && m->name && strcmp(m->name, name) != 0)
        m++;
    if (!c->name && !m->name) {
        luaL_Buffer b;
        luaL_buffinit(L, &b);
        for (const luaL_Reg *e = c_modules; e->name; e++) {
            luaL_addstring(&b, luaL_bufflen(&b) ? ", " : "");
            luaL_addstring(&b, e->name);
        }
        for (const struct embedded_lua_module *e = embedded_lua_modules; e->name; e++) {
            luaL_addstring(&b, luaL_bufflen(&b) ? ", " : "");
            luaL_addstring(&b, e->name);
        }
        luaL_pushresult(&b);
        return luaL_error(L,
                          "module '%s' not found: require reaches only the host's own "
                          "modules (%s)",
                          name, lua_rawlen(L, -1) ? lua_tostring(L, -1) : "none are built in");
    }
    if (c->name) {
        lua_pushcfunction(L, c->func);
    } else {
        char chunkname[256];
        snprintf(chunkname, sizeof chunkname, "@%s", m->path);
        if (luaL_loadbufferx(L, m->source, m->len, chunkname, "t") != LUA_OK)
            return lua_error(L);
        sandbox_push_env(L);
        lua_setupvalue(L, -2, 1);
    }
    lua_pushvalue(L, 1);
    lua_call(L, 1, 1);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_pushboolean(L, 1);
    }
    lua_pushvalue(L, 1);
    lua_pushvalue(L, -2);
    lua_rawset(L, lua_upvalueindex(1));
    return module_value(L, name);
}

void sandbox_require(lua_State *L, const char *name)
{
    lua_getfield(L, LUA_REGISTRYINDEX, REQUIRE_KEY);
    lua_pushstring(L, name);
    lua_call(L, 1, 1);
}

void sandbox_push_time(lua_State *L, int64_t us)
{
    if (us % 1000000 == 0)
        lua_pushinteger(L, (lua_Integer)(us / 1000000));
    else
        lua_pushnumber(L, (lua_Number)us / 1e6);
}

/* --- library functions guarded against hook-free and uninterruptible work -------- */

/* Raises again what lua_pcall caught, keeping a memory error a memory error (lua_error
 * would turn it into a runtime error; asking the capped allocator for more than the cap
 * raises a real one). [-1, +0, v] */
static int rethrow(lua_State *L, int status)
{
    if (status == LUA_ERRMEM)
        lua_newuserdatauv(L, sandbox_of(L)->limit + 1, 0);
    return lua_error(L);
}

/* Calls the wrapped original (upvalue 1) with this call's arguments, returning all its
 * results. [-0, +?, e] */
static int call_original(lua_State *L)
{
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

/* The message handler xpcall is given: the script's own, unless the deadline tripped.
 * Lua runs a message handler with hooks disabled when the error was raised inside a
 * hook, so after a trip the script's handler would run unstoppable; it gets the deadline
 * error as it is instead. */
static int guarded_handler(lua_State *L)
{
    if (sandbox_of(L)->tripped)
        return 1;
    luaL_checkstack(L, 2, NULL);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

static int safe_xpcall(lua_State *L)
{
    luaL_checktype(L, 2, LUA_TFUNCTION);
    luaL_checkstack(L, 2, NULL);
    lua_pushvalue(L, 2);
    lua_pushcclosure(L, guarded_handler, 1);
    lua_replace(L, 2);
    return call_original(L);
}

/* setmetatable refuses __gc: Lua runs finalizers with hooks disabled, at a moment of the
 * collector's choosing (even after the host's summary), so no deadline could stop one. */
static int safe_setmetatable(lua_State *L)
{
    if (lua_type(L, 2) == LUA_TTABLE) {
        luaL_checkstack(L, 1, NULL);
        lua_pushliteral(L, "__gc");
        int t = lua_rawget(L, 2);
        lua_pop(L, 1);
        if (t != LUA_TNIL)
            return luaL_error(L, "setmetatable: __gc finalizers are not allowed in the sandbox "
                                 "(they would run outside the deadline); release resources "
                                 "with a to-be-closed variable (local x <close> = ...) instead");
    }
    return call_original(L);
}

/* coroutine.close, bounded in nesting (CLOSE_DEPTH_MAX). */
static int guarded_close(lua_State *L)
{
    sandbox *sb = sandbox_of(L);
    if (sb->close_depth >= CLOSE_DEPTH_MAX)
        return luaL_error(L,
                          "coroutine.close nested more than %d deep (a __close handler closing "
                          "another coroutine, and so on); close coroutines one at a time",
                          CLOSE_DEPTH_MAX);
    luaL_checkstack(L, 1, NULL);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    sb->close_depth++;
    int status = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
    sb->close_depth--;
    if (status != LUA_OK)
        return rethrow(L, status);
    return lua_gettop(L);
}

/* Tables up to this many elements sort in Lua's own C loop, which takes at most a few
 * milliseconds at this size. */
#define SORT_UNCHECKED_MAX 65536

/* The comparison a large comparator-less sort uses: Lua's own `<`, plus a budget check
 * that stops the sort at the deadline. */
static int budget_less(lua_State *L)
{
    sandbox_budget(L, 1);
    lua_pushboolean(L, lua_compare(L, 1, 2, LUA_OPLT));
    return 1;
}

/* table.sort: a comparator written in Lua runs under the hook; without one, a large
 * table gets budget_less so the sort cannot outlast the deadline. */
static int guarded_sort(lua_State *L)
{
    if (lua_isnoneornil(L, 2) && lua_type(L, 1) == LUA_TTABLE &&
        luaL_len(L, 1) > SORT_UNCHECKED_MAX) {
        lua_settop(L, 1);
        lua_pushcfunction(L, budget_less);
    }
    return call_original(L);
}

/* Elements table.move copies per call of the original between budget checks. */
#define MOVE_CHUNK 4096

/* table.move(a1, f, e, t [, a2]): Lua's loop over e - f + 1 elements never returns to
 * the VM (table.move({}, 1, 1e15, 1) would copy nils for days), so a large move runs as
 * chunks in the order that keeps overlapping moves right, with a budget check between.
 * Argument checks and messages are the original's, made by its first chunk. */
static int guarded_move(lua_State *L)
{
    lua_Integer f = luaL_checkinteger(L, 2);
    lua_Integer e = luaL_checkinteger(L, 3);
    lua_Integer t = luaL_checkinteger(L, 4);
    int dest = lua_isnoneornil(L, 5) ? 1 : 5;
    if (e < f || (f <= 0 && e >= LUA_MAXINTEGER + f) || e - f < MOVE_CHUNK)
        return call_original(L);
    lua_Integer n = e - f + 1; /* no overflow: checked above like the original does */
    if (t > LUA_MAXINTEGER - n + 1)
        return call_original(L); /* "destination wrap around" */
    bool backward = !(t > e || t <= f || (dest != 1 && !lua_compare(L, 1, dest, LUA_OPEQ)));
    luaL_checkstack(L, 6, NULL);
    for (lua_Integer done = 0; done < n;) {
        lua_Integer k = n - done < MOVE_CHUNK ? n - done : MOVE_CHUNK;
        lua_Integer off = backward ? n - done - k : done;
        lua_pushvalue(L, lua_upvalueindex(1));
        lua_pushvalue(L, 1);
        lua_pushinteger(L, f + off);
        lua_pushinteger(L, f + off + k - 1);
        lua_pushinteger(L, t + off);
        lua_pushvalue(L, dest);
        lua_call(L, 5, 0);
        done += k;
        sandbox_budget(L, BUDGET_EVERY); /* each chunk is worth a clock check */
    }
    lua_pushvalue(L, dest);
    return 1;
}

/* os.date formats longer than this are refused: each conversion is a strftime call in
 * one C loop, and a 6 MB format of "%c" ran for 0.3 s per call before it ran out of
 * memory. Real formats are a few dozen bytes. */
#define DATE_FORMAT_MAX 256

static int guarded_date(lua_State *L)
{
    size_t len = 0;
    if (lua_type(L, 1) == LUA_TSTRING && (lua_tolstring(L, 1, &len), len > DATE_FORMAT_MAX))
        return luaL_error(L, "os.date: the format is %I bytes; at most %d are allowed",
                          (lua_Integer)len, DATE_FORMAT_MAX);
    return call_original(L);
}

/* string.rep(s, n [, sep]) loops n times even when s and sep are empty and the result
 * is "": string.rep("", 1e15) ran in C for days. Any other result's length bounds the
 * loop, and the memory cap bounds the length. */
static int guarded_rep(lua_State *L)
{
    size_t len = 0, seplen = 0;
    luaL_checklstring(L, 1, &len);
    luaL_checkinteger(L, 2);
    luaL_optlstring(L, 3, "", &seplen);
    if (len == 0 && seplen == 0) {
        lua_pushliteral(L, "");
        return 1;
    }
    return call_original(L);
}

/* Replaces lib.name (the real library table behind the proxy at the top of the stack
 * being built) with fn, which gets the original as upvalue 1. [-0, +0, m] */
static void wrap_field(lua_State *L, int lib, const char *name, lua_CFunction fn)
{
    luaL_checkstack(L, 1, NULL);
    lua_getfield(L, lib, name);
    lua_pushcclosure(L, fn, 1);
    lua_setfield(L, lib, name);
}

/* --- read-only library proxies ----------------------------------------------- */

static int readonly_newindex(lua_State *L)
{
    return luaL_error(L, "attempt to modify read-only table '%s'",
                      lua_tostring(L, lua_upvalueindex(1)));
}

/* A value read through a deep proxy: tables come back behind proxies of their own, so no
 * reference a script gets reaches a writable shared table. [-1, +1, m] */
static void proxied_value(lua_State *L, int name_upvalue)
{
    if (lua_type(L, -1) != LUA_TTABLE)
        return;
    push_proxy(L, lua_gettop(L), lua_tostring(L, lua_upvalueindex(name_upvalue)), true);
    lua_remove(L, -2);
}

/* __index of a deep proxy. Upvalues: the real table, its name. */
static int readonly_index(lua_State *L)
{
    luaL_checkstack(L, 4, NULL);
    lua_settop(L, 2);
    lua_rawget(L, lua_upvalueindex(1));
    proxied_value(L, 2);
    return 1;
}

/* The iterator __pairs returns: next over the real table, which stays an upvalue, never
 * an iteration state a script could keep (pairs(string) once returned the real table as
 * its second value, and writes through it patched string.format for every module).
 * Upvalues: the real table, its name. */
static int readonly_next(lua_State *L)
{
    luaL_checkstack(L, 4, NULL);
    lua_settop(L, 2);
    if (!lua_next(L, lua_upvalueindex(1)))
        return 0;
    proxied_value(L, 2);
    return 2;
}

static int readonly_pairs(lua_State *L)
{
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushvalue(L, lua_upvalueindex(2));
    lua_pushcclosure(L, readonly_next, 2);
    lua_pushvalue(L, 1); /* the proxy itself as the state */
    lua_pushnil(L);
    return 3;
}

/* Pushes the read-only proxy of the table at `real`, the same one each time (a weak
 * cache keyed by the real table), so rawequal(require "m", require "m") holds. A deep
 * proxy's fields that are tables come back proxied too (module tables); a shallow one
 * reads straight from the real table (the standard libraries, which hold no tables),
 * which keeps `math.floor` as fast as a table lookup. [-0, +1, m] */
static void push_proxy(lua_State *L, int real, const char *name, bool deep)
{
    real = lua_absindex(L, real);
    luaL_checkstack(L, 6, NULL);
    lua_getfield(L, LUA_REGISTRYINDEX, PROXIES_KEY);
    lua_pushvalue(L, real);
    if (lua_rawget(L, -2) == LUA_TTABLE) {
        lua_remove(L, -2);
        return;
    }
    lua_pop(L, 1);
    lua_newtable(L); /* proxy */
    lua_createtable(L, 0, 4);
    lua_pushvalue(L, real);
    if (deep) {
        lua_pushstring(L, name);
        lua_pushcclosure(L, readonly_index, 2);
    }
    lua_setfield(L, -2, "__index");
    lua_pushstring(L, name);
    lua_pushcclosure(L, readonly_newindex, 1);
    lua_setfield(L, -2, "__newindex");
    lua_pushvalue(L, real);
    lua_pushstring(L, name);
    lua_pushcclosure(L, readonly_pairs, 2);
    lua_setfield(L, -2, "__pairs");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    sandbox_mark_readonly(L, -1, name);
    lua_pushvalue(L, real);
    lua_pushvalue(L, -2);
    lua_rawset(L, -4); /* cache[real] = proxy */
    lua_remove(L, -2);
}

/* Replaces the table at the top of the stack with a read-only proxy of it. [-1, +1, m] */
static void push_readonly_proxy(lua_State *L, const char *name)
{
    push_proxy(L, -1, name, false);
    lua_remove(L, -2);
}

typedef struct {
    const char *name;
    lua_CFunction fn; /* gets the original as upvalue 1 */
} lib_guard;

/* Opens a library, keeps only `keep` (NULL = all but `drop`), replaces the functions in
 * `guards`, and stores a read-only proxy of it in the globals table at g_idx.
 * [-0, +0, e] */
static void open_lib(lua_State *L, int g_idx, const char *name, lua_CFunction open,
                     const char *const *keep, const char *const *drop, const lib_guard *guards)
{
    luaL_checkstack(L, 8, NULL); /* the library, its kept copy, a field, the proxy's four */
    luaL_requiref(L, name, open, 0);
    if (keep) {
        lua_newtable(L);
        for (; *keep; keep++) {
            lua_getfield(L, -2, *keep);
            lua_setfield(L, -2, *keep);
        }
        lua_remove(L, -2);
    }
    for (; drop && *drop; drop++) {
        lua_pushnil(L);
        lua_setfield(L, -2, *drop);
    }
    for (; guards && guards->name; guards++)
        wrap_field(L, lua_gettop(L), guards->name, guards->fn);
    push_readonly_proxy(L, name);
    lua_setfield(L, g_idx, name);
}

/* The pattern functions' budget (pattern.h): a match is one C call, which no hook can
 * interrupt, so it asks here every few thousand steps. Past the deadline it stops with
 * the hook's message (pattern.c prefixes the calling frame's file:line) and trips the
 * deadline as the hook does, so a pcall in the script cannot swallow it. */
static bool pattern_budget(lua_State *L, void *ud, char *msg, size_t msglen)
{
    sandbox *sb = ud;
    if (sb->deadline_ns == 0 || (!sb->tripped && monotonic_ns() < sb->deadline_ns))
        return false;
    trip(L, sb);
    snprintf(msg, msglen, DEADLINE_MESSAGE, sb->deadline_ms);
    return true;
}

/* Builds the sandbox; runs protected so a memory cap below the libraries' own size
 * reports an error instead of aborting. */
static int open_protected(lua_State *L)
{
    static const char *const base_keep[] = {
        "assert",   "error",    "getmetatable", "ipairs", "next",     "pairs",
        "pcall",    "rawequal", "rawget",       "rawlen", "select",   "setmetatable",
        "tonumber", "tostring", "type",         "xpcall", "_VERSION", NULL};
    static const char *const os_keep[] = {"time", "clock", "date", NULL};
    static const char *const string_drop[] = {"dump", NULL};

    luaL_checkstack(L, 8, NULL); /* the two globals tables plus what each step pushes */
    /* Both weak-keyed: a proxy lives as long as a script holds it or its real table. */
    for (int i = 0; i < 2; i++) {
        lua_newtable(L);
        lua_createtable(L, 0, 1);
        lua_pushliteral(L, "k");
        lua_setfield(L, -2, "__mode");
        lua_setmetatable(L, -2);
        lua_setfield(L, LUA_REGISTRYINDEX, i == 0 ? READONLY_KEY : PROXIES_KEY);
    }
    luaL_requiref(L, LUA_GNAME, luaopen_base, 0); /* fills the real globals */
    int real_g = lua_gettop(L);
    lua_newtable(L);
    int g = lua_gettop(L);
    for (const char *const *k = base_keep; *k; k++) {
        lua_getfield(L, real_g, *k);
        lua_setfield(L, g, *k);
    }
    lua_getfield(L, real_g, "load");
    lua_pushcclosure(L, safe_load, 1);
    lua_setfield(L, g, "load");
    lua_pushcfunction(L, safe_collectgarbage);
    lua_setfield(L, g, "collectgarbage");
    lua_pushcfunction(L, safe_rawset);
    lua_setfield(L, g, "rawset");
    lua_pushcfunction(L, script_output_print); /* to the log, capped (output.c) */
    lua_setfield(L, g, "print");
    wrap_field(L, g, "xpcall", safe_xpcall);
    wrap_field(L, g, "setmetatable", safe_setmetatable);

    /* Module environments read the safe globals through this shared metatable; its
     * __metatable hides the globals table from getmetatable(_ENV). */
    lua_createtable(L, 0, 2);
    lua_pushvalue(L, g);
    lua_setfield(L, -2, "__index");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setfield(L, LUA_REGISTRYINDEX, ENV_META_KEY);

    /* From here on the state's globals are the safe table: a chunk that somehow got
     * the default environment still sees only safe functions. */
    lua_pushvalue(L, g);
    lua_rawseti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);

    luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 0);
    lua_pushnil(L);
    lua_setfield(L, -2, "dump"); /* the real table backs the string metatable's __index */
    pattern_open(L, -1, pattern_budget, sandbox_of(L));
    lua_pop(L, 1);
    static const lib_guard table_guards[] = {
        {"sort", guarded_sort}, {"move", guarded_move}, {NULL, NULL}};
    static const lib_guard coroutine_guards[] = {{"create", guarded_create},
                                                 {"wrap", guarded_wrap},
                                                 {"resume", guarded_resume},
                                                 {"close", guarded_close},
                                                 {NULL, NULL}};
    static const lib_guard string_guards[] = {{"rep", guarded_rep}, {NULL, NULL}};
    open_lib(L, g, LUA_STRLIBNAME, luaopen_string, NULL, string_drop, string_guards);
    open_lib(L, g, LUA_TABLIBNAME, luaopen_table, NULL, NULL, table_guards);
    open_lib(L, g, LUA_MATHLIBNAME, luaopen_math, NULL, NULL, NULL);
    open_lib(L, g, LUA_UTF8LIBNAME, luaopen_utf8, NULL, NULL, NULL);
    open_lib(L, g, LUA_COLIBNAME, luaopen_coroutine, NULL, NULL, coroutine_guards);
    static const lib_guard os_guards[] = {{"date", guarded_date}, {NULL, NULL}};
    open_lib(L, g, LUA_OSLIBNAME, luaopen_os, os_keep, NULL, os_guards);

    /* getmetatable("") returns false and the string metatable cannot be replaced. */
    lua_pushliteral(L, "");
    lua_getmetatable(L, -1);
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 2);

    lua_newtable(L); /* the private cache of loaded modules */
    lua_pushcclosure(L, safe_require, 1);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, REQUIRE_KEY);
    lua_setfield(L, g, "require");

    apex_api_open(L, g);
    return 0;
}

int sandbox_open(sandbox *sb, script_limits limits, const char *pipeline_name,
                 const script_market *market, char *err, size_t errlen)
{
    memset(sb, 0, sizeof *sb);
    sb->limit = limits.memory_limit ? limits.memory_limit : SCRIPT_LIMITS_DEFAULT.memory_limit;
    sb->deadline_ms = limits.deadline_ms > 0 ? limits.deadline_ms : 250;
    snprintf(sb->pipeline, sizeof sb->pipeline, "%s", pipeline_name ? pipeline_name : "pipeline");
    sb->m_calls = sb->m_call_ns = sb->m_memory = metrics_discard();
    if (market) {
        sb->market = *market;
        sb->has_market = true;
    }
    sb->L = lua_newstate(sandbox_alloc, sb);
    if (!sb->L)
        return err_set(err, errlen, APEX_ENOMEM,
                       "pipeline %s: cannot create a Lua state within the memory limit of "
                       "%zu KiB",
                       sb->pipeline, sb->limit / 1024);
    if (watchdog_start(err, errlen) != 0) {
        lua_close(sb->L);
        sb->L = NULL;
        return APEX_EIO;
    }
    sb->watchdog = true;
    /* Generational collection: nearly everything a strategy allocates (the bar table of
     * every on_bar, the signal it returns) dies within the call, which is the case
     * Lua 5.4's generational mode is built for; the incremental mode traverses the whole
     * heap for them. */
    lua_gc(sb->L, LUA_GCGEN, 0, 0);
    int rc = sandbox_run(sb, open_protected, NULL, err, errlen);
    if (rc < 0) {
        sandbox_close(sb);
        return rc;
    }
    return 0;
}

void sandbox_close(sandbox *sb)
{
    if (watched == sb)
        watched = NULL;
    if (sb->watchdog)
        watchdog_stop();
    sb->watchdog = false;
    if (sb->L)
        lua_close(sb->L);
    sb->L = NULL;
}

/* --- loading files ------------------------------------------------------------- */

/* luaL_loadfilex's own messages name the file but not in the host's "file: problem"
 * form, and its refusal of bytecode does not name the file at all; restate both.
 * [-1, +0, v] */
static void file_error(lua_State *L, const char *path)
{
    const char *msg = lua_tostring(L, -1);
    if (!msg)
        msg = "(no message)";
    /* "attempt to load a binary chunk (mode is 't')", from lua_load's mode check */
    if (strstr(msg, "binary chunk")) {
        luaL_error(L,
                   "%s: is precompiled Lua bytecode; scripts are loaded as source text only, "
                   "so point the pipeline at the .lua source file",
                   path);
        return;
    }
    /* "cannot open <path>: <reason>" (also read, reopen) */
    size_t plen = strlen(path);
    if (strncmp(msg, "cannot ", 7) == 0) {
        const char *what = msg + 7, *sp = strchr(what, ' ');
        if (sp && sp - what < 16 && strncmp(sp + 1, path, plen) == 0 &&
            strncmp(sp + 1 + plen, ": ", 2) == 0) {
            char verb[16]; /* lua_pushfstring has no %.*s */
            snprintf(verb, sizeof verb, "%.*s", (int)(sp - what), what);
            luaL_error(L, "%s: cannot %s: %s; check the path", path, verb, sp + 1 + plen + 2);
            return;
        }
    }
    lua_error(L); /* a syntax error already reads "path:line: ..." */
}

void sandbox_load_file(lua_State *L, const char *path, int env_idx)
{
    env_idx = lua_absindex(L, env_idx);
    luaL_checkstack(L, 2, NULL);
    /* luaL_loadfilex closes the file on every path, also when the parser raises, and
     * never raises itself except for memory (inside our protected call). */
    int status = luaL_loadfilex(L, path, "t");
    if (status == LUA_ERRMEM) {
        /* lua_error would rethrow it as a runtime error; ask the capped allocator for
         * more than the cap so sandbox_run reports it as the memory limit it is. */
        lua_newuserdatauv(L, sandbox_of(L)->limit + 1, 0);
    }
    if (status != LUA_OK)
        file_error(L, path);
    lua_pushvalue(L, env_idx);
    lua_setupvalue(L, -2, 1);
}
