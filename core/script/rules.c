/* rules: a pipeline's instructions as compiled exit rules.
 *
 * A sentence ("close if VIX > 40") goes through the Lua instruction compiler
 * (require "apex.instructions"), a rule file is loaded like any module; both end
 * up as { name, check = function(m, position) -> fired, reason } and only the
 * check function is kept, as a registry ref.
 *
 * Checking runs one sandbox_run for the pass over all rules (one deadline for the
 * pass) and, nested inside it, one per rule, so a broken rule is reported with its
 * own file:line and cannot stop the rules after it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "script/host_internal.h"
#include "util/err.h"
#include "util/log.h"

void host_free_rules(script_host *h)
{
    for (int i = 0; i < h->nrules; i++)
        luaL_unref(h->sb.L, LUA_REGISTRYINDEX, h->rules[i].check_ref);
    free(h->rules);
    h->rules = NULL;
    h->nrules = 0;
}

int script_rules_count(const script_host *h)
{
    return h->nrules;
}

typedef struct {
    script_host *h;
    const instruction *ins;
    script_rule *out;
    int compiler_ref;
} rule_req;

/* Nested in compile_rule_fn, so a missing or broken compiler gets its own message. */
static int require_compiler(lua_State *L)
{
    rule_req *r = lua_touserdata(L, 1);
    sandbox_require(L, "apex.instructions");
    r->compiler_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

static int compile_rule_fn(lua_State *L)
{
    rule_req *r = lua_touserdata(L, 1);
    script_host *h = r->h;
    luaL_checkstack(L, 5, NULL); /* compiler, compile, text, its two results */
    if (h->market_table_ref == LUA_NOREF) {
        apex_api_push_market_table(L);
        h->market_table_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    const char *what = r->ins->value;
    if (r->ins->kind == INSTRUCTION_TEXT) {
        char why[512];
        if (sandbox_run(&h->sb, require_compiler, r, why, sizeof why) < 0)
            return luaL_error(L,
                              "the instruction compiler (lua/apex/instructions.lua) is not "
                              "available (%s); write this rule as a Lua file and list it as "
                              "{ file = \"my_rule.lua\" }",
                              why);
        lua_rawgeti(L, LUA_REGISTRYINDEX, r->compiler_ref);
        luaL_unref(L, LUA_REGISTRYINDEX, r->compiler_ref);
        r->compiler_ref = LUA_NOREF;
        if (!lua_istable(L, -1) || lua_getfield(L, -1, "compile") != LUA_TFUNCTION)
            return luaL_error(L, "apex.instructions has no compile function; the host's Lua "
                                 "modules are out of date");
        lua_pushstring(L, what);
        lua_call(L, 1, 2);
        if (lua_isnil(L, -2)) {
            const char *msg = lua_tostring(L, -1);
            return luaL_error(L, "%s", msg ? msg : "the instruction compiler rejected it");
        }
        lua_pop(L, 1);
    } else {
        sandbox_push_env(L);
        sandbox_load_file(L, what, -1);
        lua_call(L, 0, 1);
    }
    int rule = lua_gettop(L);
    if (!lua_istable(L, rule))
        return luaL_error(L,
                          "%s: a rule must be a table { name = \"...\", check = function(m, "
                          "position) ... end } (got %s)",
                          what, luaL_typename(L, rule));
    if (lua_getfield(L, rule, "check") != LUA_TFUNCTION)
        return luaL_error(L,
                          "%s: the rule has no check function; add check = function(m, "
                          "position) return fired, reason end",
                          what);
    if (lua_getfield(L, rule, "name") == LUA_TSTRING) {
        snprintf(r->out->name, sizeof r->out->name, "%s", lua_tostring(L, -1));
    } else {
        const char *base = strrchr(what, '/');
        snprintf(r->out->name, sizeof r->out->name, "%s",
                 r->ins->kind == INSTRUCTION_FILE && base ? base + 1 : what);
    }
    lua_pop(L, 1);
    r->out->check_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

int script_load_rules(script_host *h, const instruction *ins, int n, const char *pipeline_file,
                      diag_list *diags)
{
    host_free_rules(h);
    if (n <= 0)
        return 0;
    h->rules = calloc((size_t)n, sizeof *h->rules);
    if (!h->rules) {
        diag_add(diags, "%s: instructions: out of memory", pipeline_file);
        return 1;
    }
    int problems = 0;
    for (int i = 0; i < n; i++) {
        script_rule rule = {.check_ref = LUA_NOREF};
        rule_req r = {h, &ins[i], &rule, LUA_NOREF};
        char err[768];
        if (sandbox_run(&h->sb, compile_rule_fn, &r, err, sizeof err) < 0) {
            if (ins[i].kind == INSTRUCTION_TEXT)
                diag_add(diags, "%s: instructions[%d] \"%s\": %s", pipeline_file, i + 1,
                         ins[i].value, err);
            else
                diag_add(diags, "%s: instructions[%d] (%s): %s", pipeline_file, i + 1, ins[i].value,
                         err);
            problems++;
            continue;
        }
        h->rules[h->nrules++] = rule;
    }
    return problems;
}

/* The position table shared by the rules of one check (each nested run has its own
 * stack frame, so it travels through the registry, keyed by this variable's address). */
static const char POSITION_KEY = 0;

typedef struct {
    script_host *h;
    const script_position *pos;
    script_rule_hit *hit;
    const script_rule *rule; /* the one check_one runs */
    int fired;
    char *err;
    size_t errlen;
    int rc;
} check_req;

/* check(m, position) for r->rule, nested in check_fn's sandbox_run. */
static int check_one(lua_State *L)
{
    check_req *r = lua_touserdata(L, 1);
    luaL_checkstack(L, 3, NULL);
    lua_rawgeti(L, LUA_REGISTRYINDEX, r->rule->check_ref);
    lua_rawgeti(L, LUA_REGISTRYINDEX, r->h->market_table_ref);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &POSITION_KEY);
    lua_call(L, 2, 2);
    if (lua_toboolean(L, -2)) {
        snprintf(r->hit->rule, sizeof r->hit->rule, "%s", r->rule->name);
        const char *why = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : r->rule->name;
        snprintf(r->hit->reason, sizeof r->hit->reason, "%s", why);
        r->fired = 1;
    }
    return 0;
}

static int check_fn(lua_State *L)
{
    check_req *r = lua_touserdata(L, 1);
    script_host *h = r->h;
    host_push_position(L, r->pos);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &POSITION_KEY);
    for (int i = 0; i < h->nrules && !r->fired; i++) {
        r->rule = &h->rules[i];
        char e[512];
        if (sandbox_run(&h->sb, check_one, r, e, sizeof e) == 0)
            continue;
        /* Past the deadline every further rule would fail the same way: end the pass. */
        if (h->sb.tripped)
            return luaL_error(L, "instruction rule '%s': %s", r->rule->name, e);
        /* Keep checking the other rules: an emergency exit must not be blocked by a
         * broken neighbour. The first error is reported if nothing fires. */
        if (r->rc == 0)
            r->rc = err_set(r->err, r->errlen, APEX_ESCRIPT, "instruction rule '%s': %s",
                            r->rule->name, e);
        else
            log_warn("[%s] instruction rule '%s': %s", h->sb.pipeline, r->rule->name, e);
    }
    lua_pushnil(L); /* the position table is garbage once the pass is over */
    lua_rawsetp(L, LUA_REGISTRYINDEX, &POSITION_KEY);
    return 0;
}

int script_rules_check(script_host *h, const script_position *pos, script_rule_hit *hit, char *err,
                       size_t errlen)
{
    memset(hit, 0, sizeof *hit);
    if (h->nrules == 0)
        return 0;
    char first_err[512] = "";
    check_req r = {h, pos, hit, NULL, 0, first_err, sizeof first_err, 0};
    int rc = sandbox_run(&h->sb, check_fn, &r, err, errlen);
    if (rc < 0)
        return rc;
    if (r.fired) {
        if (r.rc < 0)
            log_warn("[%s] %s", h->sb.pipeline, first_err);
        return 1;
    }
    if (r.rc < 0)
        return err_set(err, errlen, r.rc, "%s", first_err);
    return 0;
}
