/* apex_api: the `apex` global every script and pipeline file sees.
 *
 * Market reads go through the host's script_market callbacks; without a market
 * (the pipeline loader's throwaway state) they answer nil, so a pipeline file can
 * be checked without any data. apex.ta is required lazily on first use so a
 * strategy that never touches indicators pays nothing for them. */
#include <math.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>

#include "script/sandbox.h"
#include "util/log.h"

static const char API_KEY[] = "apex.api"; /* the real (writable) apex table */

static int api_now(lua_State *L)
{
    sandbox_push_time(L, script_now_us(sandbox_of(L)));
    return 1;
}

static int api_price(lua_State *L)
{
    const char *sym = luaL_checkstring(L, 1);
    sandbox *sb = sandbox_of(L);
    money_t v;
    if (sb->has_market && sb->market.last_price &&
        sb->market.last_price(sb->market.ud, sym, &v) == 0)
        lua_pushnumber(L, money_to_double(v));
    else
        lua_pushnil(L);
    return 1;
}

static int api_change(lua_State *L)
{
    const char *sym = luaL_checkstring(L, 1);
    sandbox *sb = sandbox_of(L);
    money_t v;
    if (sb->has_market && sb->market.day_change &&
        sb->market.day_change(sb->market.ud, sym, &v) == 0)
        lua_pushnumber(L, money_to_double(v));
    else
        lua_pushnil(L);
    return 1;
}

/* apex.news(symbol_or_nil, minutes = 60) -> highest impact 0..3 in the window. */
static int api_news(lua_State *L)
{
    const char *sym = luaL_optstring(L, 1, NULL);
    lua_Number minutes = luaL_optnumber(L, 2, 60);
    if (!(minutes >= 0) || minutes > 10 * 365 * 24 * 60)
        return luaL_argerror(L, 2, "minutes must be a number from 0 to 5256000");
    sandbox *sb = sandbox_of(L);
    int impact = 0;
    if (sb->has_market && sb->market.news_impact) {
        int64_t now = script_now_us(sb);
        int64_t since = now - (int64_t)(minutes * 60e6);
        if (sb->market.news_impact(sb->market.ud, sym, since, &impact) != 0)
            impact = 0;
    }
    lua_pushinteger(L, impact);
    return 1;
}

/* apex.log(fmt, ...): string.format, then one log line tagged with the pipeline. */
static int api_log(lua_State *L)
{
    return script_output_log(L, NULL);
}

static int api_pipeline(lua_State *L)
{
    if (!lua_istable(L, 1))
        return luaL_error(L,
                          "apex.pipeline expects a table: apex.pipeline { name = ..., "
                          "symbols = {...}, ... } (got %s)",
                          luaL_typename(L, 1));
    lua_settop(L, 1);
    return 1;
}

/* Reads of the apex proxy: the real table, except `ta`, required on first use. */
static int api_index(lua_State *L)
{
    lua_settop(L, 2);
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL)
        return 1;
    if (lua_type(L, 2) == LUA_TSTRING && strcmp(lua_tostring(L, 2), "ta") == 0) {
        sandbox_require(L, "apex.ta");
        lua_pushvalue(L, -1);
        lua_setfield(L, lua_upvalueindex(1), "ta");
        return 1;
    }
    return 1;
}

static int api_newindex(lua_State *L)
{
    return luaL_error(L, "attempt to modify read-only table 'apex'");
}

void apex_api_open(lua_State *L, int g_idx)
{
    g_idx = lua_absindex(L, g_idx);
    luaL_checkstack(L, 5, NULL); /* api, string, format (then the proxy, its metatable) */
    static const luaL_Reg fns[] = {{"now", api_now},           {"price", api_price},
                                   {"change", api_change},     {"news", api_news},
                                   {"pipeline", api_pipeline}, {NULL, NULL}};
    lua_newtable(L);
    int api = lua_gettop(L);
    luaL_setfuncs(L, fns, 0);
    lua_pushliteral(L, APEX_VERSION);
    lua_setfield(L, api, "version");
    lua_pushcfunction(L, api_log);
    lua_setfield(L, api, "log");
    lua_pushvalue(L, api);
    lua_setfield(L, LUA_REGISTRYINDEX, API_KEY);

    lua_newtable(L); /* the proxy scripts see */
    lua_createtable(L, 0, 3);
    lua_pushvalue(L, api);
    lua_pushcclosure(L, api_index, 1);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, api_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    sandbox_mark_readonly(L, -1, "apex");
    lua_setfield(L, g_idx, "apex");
    lua_pop(L, 1);
}

void apex_api_push_market_table(lua_State *L)
{
    static const char *const names[] = {"price", "change", "news", "now", NULL};
    luaL_checkstack(L, 3, NULL); /* the api table, the new table, one field at a time */
    lua_getfield(L, LUA_REGISTRYINDEX, API_KEY);
    lua_createtable(L, 0, 4);
    for (const char *const *n = names; *n; n++) {
        lua_getfield(L, -2, *n);
        lua_setfield(L, -2, *n);
    }
    lua_remove(L, -2);
}
