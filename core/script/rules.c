/* rules: a pipeline's instructions as compiled exit rules.
 *
 * A sentence ("close if VIX > 40") goes through the Lua instruction compiler
 * (require "apex.instructions"), a rule file is loaded like any module; both end
 * up as { name, check = function(m, position) -> fired, reason } and only the
 * check function is kept, as a registry ref. */
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
} rule_req;

static int require_compiler(lua_State *L)
{
    sandbox_require(L, "apex.instructions");
    return 1;
}

static int compile_rule_fn(lua_State *L)
{
    rule_req *r = lua_touserdata(L, 1);
    script_host *h = r->h;
    if (h->market_table_ref == LUA_NOREF) {
        apex_api_push_market_table(L);
        h->market_table_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    const char *what = r->ins->value;
    if (r->ins->kind == INSTRUCTION_TEXT) {
        lua_pushcfunction(L, require_compiler);
        if (lua_pcall(L, 0, 1, 0) != LUA_OK)
            return luaL_error(L,
                              "the instruction compiler (lua/apex/instructions.lua) is not "
                              "available (%s); write this rule as a Lua file and list it as "
                              "{ file = \"my_rule.lua\" }",
                              lua_tostring(L, -1));
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
        rule_req r = {h, &ins[i], &rule};
        char err[768];
        lua_pushcfunction(h->sb.L, compile_rule_fn);
        lua_pushlightuserdata(h->sb.L, &r);
        if (sandbox_pcall(&h->sb, 1, err, sizeof err) < 0) {
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

typedef struct {
    script_host *h;
    const script_position *pos;
    script_rule_hit *hit;
    int fired;
    char *err;
    size_t errlen;
    int rc;
} check_req;

static int check_fn(lua_State *L)
{
    check_req *r = lua_touserdata(L, 1);
    script_host *h = r->h;
    lua_rawgeti(L, LUA_REGISTRYINDEX, h->market_table_ref);
    int m = lua_gettop(L);
    host_push_position(L, r->pos);
    int pos = lua_gettop(L);
    for (int i = 0; i < h->nrules; i++) {
        const script_rule *rule = &h->rules[i];
        lua_pushcfunction(L, sandbox_msgh);
        lua_rawgeti(L, LUA_REGISTRYINDEX, rule->check_ref);
        lua_pushvalue(L, m);
        lua_pushvalue(L, pos);
        int status = lua_pcall(L, 2, 2, pos + 1);
        if (status != LUA_OK) {
            /* Keep checking the other rules: an emergency exit must not be blocked by a
             * broken neighbour. The first error is reported if nothing fires. */
            const char *msg = lua_tostring(L, -1);
            if (r->rc == 0)
                r->rc = err_set(r->err, r->errlen, APEX_ESCRIPT, "instruction rule '%s': %s",
                                rule->name, msg ? msg : "not enough memory");
            else
                log_warn("[%s] instruction rule '%s': %s", h->sb.pipeline, rule->name,
                         msg ? msg : "not enough memory");
            lua_settop(L, pos);
            continue;
        }
        if (lua_toboolean(L, -2)) {
            snprintf(r->hit->rule, sizeof r->hit->rule, "%s", rule->name);
            const char *why = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : rule->name;
            snprintf(r->hit->reason, sizeof r->hit->reason, "%s", why);
            r->fired = 1;
            return 0;
        }
        lua_settop(L, pos);
    }
    return 0;
}

int script_rules_check(script_host *h, const script_position *pos, script_rule_hit *hit, char *err,
                       size_t errlen)
{
    memset(hit, 0, sizeof *hit);
    if (h->nrules == 0)
        return 0;
    char first_err[512] = "";
    check_req r = {h, pos, hit, 0, first_err, sizeof first_err, 0};
    lua_pushcfunction(h->sb.L, check_fn);
    lua_pushlightuserdata(h->sb.L, &r);
    int rc = sandbox_pcall(&h->sb, 1, err, errlen);
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
