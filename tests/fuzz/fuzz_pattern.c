/* fuzz_pattern: core/script/pattern.c against Lua 5.4's own string library.
 *
 * Input: three header bytes, then the subject, the pattern and the replacement string
 * separated by 0xff bytes (missing parts are empty).
 *   byte 0  bits 0-1 the function (find, match, gmatch, gsub); bit 2 plain (find);
 *           bits 3-5 gsub's replacement (the string, a number, a table, or one of four
 *           functions); bit 6 pass byte 2 as gsub's n; bit 7 pass byte 1 as init
 *   byte 1  init, a signed byte
 *   byte 2  n, a signed byte
 * The call runs in two states, one with the real library and one where pattern_open
 * replaced it, and must give the same results, or the same error message. pattern.c
 * runs first, under a budget of BUDGET_CHECKS checks (about 130,000 steps); when the
 * budget stops it, the real library, which would take as long or longer, is not run and
 * that input is not compared. Subjects are capped at MAX_SUBJECT bytes so the real one
 * stays fast on everything pattern.c finishes. */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_support.h"
#include "script/pattern.h"

#define MAX_SUBJECT    256
#define MAX_PATTERN    1024
#define MAX_REPL       64
#define MAX_ITERATIONS 300 /* gmatch results compared per input */
#define BUDGET_CHECKS  32

static const char BUDGET_MESSAGE[] = "fuzz budget spent";

static lua_State *real, *ours;
static int budget_checks;
static bool budget_spent;

static bool fuzz_budget(lua_State *L, void *ud, char *msg, size_t msglen)
{
    (void)L;
    (void)ud;
    if (++budget_checks < BUDGET_CHECKS)
        return false;
    budget_spent = true;
    snprintf(msg, msglen, "%s", BUDGET_MESSAGE);
    return true;
}

/* gsub's table and function replacements, the same in both states. */
static const char PRELUDE[] =
    "REPL = {\n"
    "  { a = 'A', hello = 'HELLO', ['1'] = 'one', [1] = 'int1', [2] = 2, x = false,\n"
    "    y = {}, b = true, [''] = 'E', [' '] = 1.5 },\n"
    "  function(...)\n"
    "    local t = table.pack(...)\n"
    "    for i = 1, t.n do t[i] = type(t[i]) .. ':' .. tostring(t[i]) end\n"
    "    return table.concat(t, '|')\n"
    "  end,\n"
    "  function(a) return a end,\n"
    "  function(a, b) if b then return false end return {} end,\n"
    "  function(...) return select('#', ...) end,\n"
    "}\n";

static lua_State *open_state(bool bounded)
{
    lua_State *L = luaL_newstate();
    if (!L)
        abort();
    luaL_openlibs(L);
    if (bounded) {
        lua_getglobal(L, LUA_STRLIBNAME);
        pattern_open(L, -1, fuzz_budget, NULL);
        lua_pop(L, 1);
    }
    if (luaL_dostring(L, PRELUDE) != LUA_OK) {
        fprintf(stderr, "fuzz_pattern: prelude: %s\n", lua_tostring(L, -1));
        abort();
    }
    return L;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    real = open_state(false);
    ours = open_state(true);
    return 0;
}

typedef struct {
    int op; /* 0 find, 1 match, 2 gmatch, 3 gsub */
    bool plain, has_init, has_n;
    int repl_kind;
    int init, n;
    const char *subject, *pattern, *repl;
    size_t subject_len, pattern_len, repl_len;
} fuzz_case;

/* The results as text: a growing buffer, kept between inputs. */
typedef struct {
    char *p;
    size_t len, cap;
} text;

static void text_add(text *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 4096;
        while (cap < t->len + n + 1)
            cap *= 2;
        char *p = realloc(t->p, cap);
        if (!p)
            abort();
        t->p = p;
        t->cap = cap;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
}

static void text_addf(text *t, const char *fmt, long long v)
{
    char buf[64];
    int n = snprintf(buf, sizeof buf, fmt, v);
    text_add(t, buf, (size_t)n);
}

/* Appends the values at first..top. */
static void show_values(lua_State *L, int first, text *t)
{
    for (int i = first; i <= lua_gettop(L); i++) {
        switch (lua_type(L, i)) {
        case LUA_TSTRING: {
            size_t len;
            const char *s = lua_tolstring(L, i, &len);
            text_addf(t, " s%lld:", (long long)len);
            text_add(t, s, len);
            break;
        }
        case LUA_TNUMBER:
            if (lua_isinteger(L, i)) {
                text_addf(t, " i%lld", (long long)lua_tointeger(L, i));
            } else {
                char buf[64];
                int n = snprintf(buf, sizeof buf, " f%.17g", (double)lua_tonumber(L, i));
                text_add(t, buf, (size_t)n);
            }
            break;
        case LUA_TBOOLEAN:
            text_add(t, lua_toboolean(L, i) ? " true" : " false", lua_toboolean(L, i) ? 5 : 6);
            break;
        default:
            text_add(t, " ", 1);
            text_add(t, luaL_typename(L, i), strlen(luaL_typename(L, i)));
        }
    }
}

static void show_error(lua_State *L, text *t)
{
    text_add(t, " error: ", 8);
    if (lua_type(L, -1) == LUA_TSTRING) {
        size_t len;
        const char *msg = lua_tolstring(L, -1, &len);
        text_add(t, msg, len);
    } else {
        text_add(t, luaL_typename(L, -1), strlen(luaL_typename(L, -1)));
    }
}

static void run(lua_State *L, const fuzz_case *c, text *t)
{
    static const char *const names[] = {"find", "match", "gmatch", "gsub"};
    t->len = 0;
    text_add(t, names[c->op], strlen(names[c->op]));
    lua_settop(L, 0);
    lua_getglobal(L, LUA_STRLIBNAME);
    lua_getfield(L, -1, names[c->op]);
    lua_remove(L, -2);
    lua_pushlstring(L, c->subject, c->subject_len);
    lua_pushlstring(L, c->pattern, c->pattern_len);
    if (c->op == 3) {
        if (c->repl_kind == 0) {
            lua_pushlstring(L, c->repl, c->repl_len);
        } else if (c->repl_kind == 1) {
            lua_pushinteger(L, 7);
        } else {
            lua_getglobal(L, "REPL");
            lua_rawgeti(L, -1, c->repl_kind - 1);
            lua_remove(L, -2);
        }
        if (c->has_n)
            lua_pushinteger(L, c->n);
    } else {
        if (c->has_init || (c->op == 0 && c->plain))
            lua_pushinteger(L, c->has_init ? c->init : 1);
        if (c->op == 0 && c->plain)
            lua_pushboolean(L, 1);
    }
    if (lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0) != LUA_OK) {
        show_error(L, t);
        return;
    }
    if (c->op != 2) {
        show_values(L, 1, t);
        return;
    }
    /* gmatch: the iterator's results, one call at a time. */
    for (int i = 0; i < MAX_ITERATIONS; i++) {
        lua_settop(L, 1);
        lua_pushvalue(L, 1);
        if (lua_pcall(L, 0, LUA_MULTRET, 0) != LUA_OK) {
            show_error(L, t);
            return;
        }
        text_add(t, " {", 2);
        show_values(L, 2, t);
        text_add(t, " }", 2);
        if (lua_isnoneornil(L, 2))
            return;
    }
}

/* Frees what the call left, so an input ends with as many frees as allocations:
 * otherwise libFuzzer suspects a leak after every input and runs LeakSanitizer's scan,
 * which then takes most of the time. */
static void collect(lua_State *L)
{
    lua_settop(L, 0);
    lua_gc(L, LUA_GCCOLLECT);
}

/* The next part of the input up to a 0xff separator (or its end). */
static const char *next_part(const uint8_t **data, size_t *size, size_t *len)
{
    const char *start = (const char *)*data;
    const uint8_t *sep = memchr(*data, 0xff, *size);
    size_t n = sep ? (size_t)(sep - *data) : *size;
    *len = n;
    *data += sep ? n + 1 : n;
    *size -= sep ? n + 1 : n;
    return start;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static text want, got;
    if (size < 3)
        return 0;
    fuzz_case c;
    c.op = data[0] & 3;
    c.plain = data[0] & 4;
    c.repl_kind = (data[0] >> 3) & 7;
    if (c.repl_kind > 6)
        c.repl_kind = 0;
    c.has_n = data[0] & 64;
    c.has_init = data[0] & 128;
    c.init = (int8_t)data[1];
    c.n = (int8_t)data[2];
    data += 3;
    size -= 3;
    c.subject = next_part(&data, &size, &c.subject_len);
    c.pattern = next_part(&data, &size, &c.pattern_len);
    c.repl = next_part(&data, &size, &c.repl_len);
    if (c.subject_len > MAX_SUBJECT || c.pattern_len > MAX_PATTERN || c.repl_len > MAX_REPL)
        return 0;

    budget_checks = 0;
    budget_spent = false;
    run(ours, &c, &got);
    collect(ours);
    if (budget_spent)
        return 0; /* the real library may take far longer; nothing to compare */
    run(real, &c, &want);
    if (want.len != got.len || memcmp(want.p, got.p, want.len) != 0) {
        fprintf(stderr, "fuzz_pattern: results differ\n  real:%s\n  ours:%s\n", want.p, got.p);
        FUZZ_CHECK(!"pattern.c and Lua's string library disagree");
    }
    collect(real);
    return 0;
}
