/* host: a pipeline's bias and strategy modules in one sandboxed lua_State.
 *
 * Every call from C goes through sandbox_run with a C function that does all the Lua
 * work (finding or creating the ctx, building the bar table, calling the callback,
 * reading its result): call_fn for the seven callbacks (on_bar, bias, edge,
 * opportunity, on_fill, on_exit, on_reload, each preceded by on_start when due),
 * compile_fn, params_fn and intern_keys for loading. Doing the conversions inside the
 * protected call means a memory cap hit while building a table, or a metamethod raising
 * while a result is read, unwinds to the caller as an error instead of aborting the
 * process; deadline, error text and the memory limit are sandbox_run's business.
 *
 * on_bar is the backtest hot path: per call it costs two registry reads, one
 * table for the bar (keys pre-interned in the registry), two field writes on the
 * ctx and the pcall. No string formatting happens unless something is wrong. */
#include "script/host_internal.h"

#include "script/argscan.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <lauxlib.h>

#include "util/err.h"
#include "util/log.h"

const char *const script_cb_names[CB_COUNT] = {"on_start",    "on_bar",  "bias",    "edge",
                                               "opportunity", "on_fill", "on_exit", "on_reload",
                                               "score",       "stop"};

static const char *const key_names[K_COUNT] = {
    "time", "symbol", "open", "high", "low", "close", "volume", "bid", "ask", "now", "position"};

static const char *const slot_names[SCRIPT_SLOT_COUNT] = {"bias", "strategy"};

/* What call_fn needs and what it hands back. */
typedef struct {
    script_host *h;
    script_module *m;
    script_cb cb;
    const char *symbol;
    const bar *bar;
    const script_position *pos;
    order_side side;
    money_t qty, price;
    const char *reason;
    int ctx_index;
    /* results */
    script_signal *sig;
    int has_signal;
    script_bias_result *bias;
    const script_signal *score_sig; /* score(): the signal being ranked */
    money_t number;
    bool has_number;
    bool loosen; /* stop(): the returned level may loosen the stop */
    /* validation errors found by the trampoline (Lua errors come back via pcall) */
    char *err;
    size_t errlen;
    int rc;
} call_req;

/* [-0, +1, -] */
static inline void push_key(lua_State *L, const script_host *h, script_key k)
{
    lua_rawgeti(L, LUA_REGISTRYINDEX, h->keys[k]);
}

static void unref(lua_State *L, int *ref)
{
    if (*ref != LUA_NOREF && *ref != LUA_REFNIL)
        luaL_unref(L, LUA_REGISTRYINDEX, *ref);
    *ref = LUA_NOREF;
}

/* --- host lifecycle --------------------------------------------------------------- */

/* The ctx has not been set up: on_start runs before its next callback. */
static void forget_start(script_ctx *c)
{
    c->started = c->start_failed = false;
    free(c->start_error);
    c->start_error = NULL;
}

static int intern_keys(lua_State *L)
{
    script_host *h = lua_touserdata(L, 1);
    luaL_checkstack(L, 1, NULL);
    for (int k = 0; k < K_COUNT; k++) {
        lua_pushstring(L, key_names[k]);
        h->keys[k] = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    return 0;
}

script_host *script_host_new(const char *pipeline_name, script_limits limits,
                             const script_market *market, char *err, size_t errlen)
{
    script_host *h = calloc(1, sizeof *h);
    if (!h) {
        err_set(err, errlen, APEX_ENOMEM, "pipeline %s: out of memory creating the script host",
                pipeline_name ? pipeline_name : "?");
        return NULL;
    }
    h->market_table_ref = LUA_NOREF;
    for (int s = 0; s < SCRIPT_SLOT_COUNT; s++) {
        h->mods[s].params_ref = LUA_NOREF;
        h->mods[s].bar_ref = LUA_NOREF;
        h->mods[s].code.module_ref = LUA_NOREF;
        for (int c = 0; c < CB_COUNT; c++)
            h->mods[s].code.cb[c] = LUA_NOREF;
    }
    if (sandbox_open(&h->sb, limits, pipeline_name, market, err, errlen) < 0) {
        free(h);
        return NULL;
    }
    sandbox_set_metrics(&h->sb, h->sb.pipeline);
    if (sandbox_run(&h->sb, intern_keys, h, err, errlen) < 0) {
        sandbox_close(&h->sb);
        free(h);
        return NULL;
    }
    return h;
}

void script_host_free(script_host *h)
{
    if (!h)
        return;
    script_unwatch(h);
    script_output_flush(&h->sb, true);
    sandbox_close(&h->sb); /* releases every Lua object at once */
    for (int s = 0; s < SCRIPT_SLOT_COUNT; s++) {
        for (int i = 0; i < h->mods[s].nctx; i++)
            forget_start(&h->mods[s].ctx[i]);
        free(h->mods[s].ctx);
        json_decref(h->mods[s].given_params);
        hmap_free(&h->mods[s].ctx_index);
        vec_free(&h->mods[s].ctx_of_id);
    }
    free(h->rules);
    free(h);
}

int script_host_set_seed(script_host *h, uint64_t seed, char *err, size_t errlen)
{
    return sandbox_set_seed(&h->sb, seed, err, errlen);
}

uint64_t script_seed_from_name(const char *pipeline_name)
{
    /* FNV-1a 64: a published, stable hash, so a pipeline's default sequence does not
     * change between builds, machines or versions of this code. */
    uint64_t x = 0xcbf29ce484222325u;
    for (const unsigned char *p = (const unsigned char *)(pipeline_name ? pipeline_name : ""); *p;
         p++) {
        x ^= *p;
        x *= 0x100000001b3u;
    }
    return x;
}

void script_flush_output(script_host *h, bool final)
{
    script_output_flush(&h->sb, final);
}

size_t script_memory_used(const script_host *h)
{
    return h->sb.used;
}

bool script_loaded(const script_host *h, script_slot slot)
{
    return slot >= 0 && slot < SCRIPT_SLOT_COUNT && h->mods[slot].loaded;
}

bool script_has_callback(const script_host *h, script_slot slot, const char *name)
{
    if (!script_loaded(h, slot))
        return false;
    for (int c = 0; c < CB_COUNT; c++)
        if (strcmp(script_cb_names[c], name) == 0)
            return h->mods[slot].code.cb[c] != LUA_NOREF;
    return false;
}

/* --- compiling modules ------------------------------------------------------------- */

typedef struct {
    script_host *h;
    script_slot slot;
    const char *path;
    script_code *out;
} compile_req;

static int name_distance(const char *a, const char *b)
{
    /* Levenshtein with two rows; names are short (callback names are <= 11 bytes) */
    size_t na = strlen(a), nb = strlen(b);
    if (na > 63 || nb > 63)
        return 99;
    int prev[64], cur[64];
    for (size_t j = 0; j <= nb; j++)
        prev[j] = (int)j;
    for (size_t i = 1; i <= na; i++) {
        cur[0] = (int)i;
        for (size_t j = 1; j <= nb; j++) {
            int best = prev[j] + 1;
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;
            if (prev[j - 1] + (a[i - 1] != b[j - 1]) < best)
                best = prev[j - 1] + (a[i - 1] != b[j - 1]);
            cur[j] = best;
        }
        memcpy(prev, cur, sizeof prev);
    }
    return prev[nb];
}

/* A function in the module's table under a name the host never calls is a typo until
 * proven otherwise (`edg`, `on_exits`): it would never run, and the exit logic in it with
 * it. It is an error at load, so `check` says so, with the nearest callback's name. A
 * helper a module wants to export can start with '_'. Non-function fields (constants,
 * the params declaration) are left alone. */
static void check_module_keys(lua_State *L, int mod, const char *path)
{
    luaL_checkstack(L, 3, NULL);
    lua_pushnil(L);
    while (lua_next(L, mod) != 0) {
        if (lua_type(L, -2) == LUA_TSTRING && lua_isfunction(L, -1)) {
            const char *k = lua_tostring(L, -2);
            bool known = k[0] == '_';
            const char *near = NULL;
            int near_d = 99;
            for (int c = 0; c < CB_COUNT && !known; c++) {
                int d = name_distance(k, script_cb_names[c]);
                known = d == 0;
                if (d < near_d) {
                    near_d = d;
                    near = script_cb_names[c];
                }
            }
            if (!known) {
                lua_Debug ar;
                lua_pushvalue(L, -1);
                int line = lua_getinfo(L, ">S", &ar) ? ar.linedefined : 0;
                size_t klen = strlen(k);
                bool close = near_d <= (klen / 3 > 2 ? (int)(klen / 3) : 2);
                luaL_error(L,
                           "%s:%d: '%s' is not a callback, so the host never calls it; %s%s%s"
                           "(callbacks: on_start, on_bar, bias, edge, opportunity, on_fill, "
                           "on_exit, on_reload, score, stop; a helper's name may start with _)",
                           path, line > 0 ? line : 1, k, close ? "did you mean '" : "",
                           close ? near : "", close ? "'? " : "");
            }
        }
        lua_pop(L, 1);
    }
}

static int compile_fn(lua_State *L)
{
    compile_req *r = lua_touserdata(L, 1);
    luaL_checkstack(L, 4, NULL); /* env, chunk or module, one callback at a time */
    sandbox_push_env(L);
    int env = lua_gettop(L);
    sandbox_load_file(L, r->path, env);
    lua_call(L, 0, 1);
    int mod = lua_gettop(L);
    if (!lua_istable(L, mod))
        return luaL_error(L,
                          "%s: the file must return a table of callbacks (it returned %s); "
                          "end it with: return { on_bar = function(ctx, bar) ... end }",
                          r->path, luaL_typename(L, mod));
    for (int c = 0; c < CB_COUNT; c++) {
        int t = lua_getfield(L, mod, script_cb_names[c]);
        if (t != LUA_TNIL && t != LUA_TFUNCTION)
            return luaL_error(L, "%s: %s must be a function, not a %s", r->path, script_cb_names[c],
                              lua_typename(L, t));
        lua_pop(L, 1);
    }
    check_module_keys(L, mod, r->path);
    lua_getfield(L, mod, "on_bar");
    bool has_on_bar = lua_isfunction(L, -1);
    r->out->bar_shared =
        has_on_bar && argscan_fields_only(L, -1, 1, key_names, K_ASK + 1, &r->out->bar_fields);
    lua_pop(L, 1);
    if (r->slot == SCRIPT_STRATEGY && !has_on_bar)
        return luaL_error(L,
                          "%s: a strategy must define on_bar(ctx, bar); add it to the "
                          "returned table",
                          r->path);
    for (int c = 0; c < CB_COUNT; c++) {
        lua_getfield(L, mod, script_cb_names[c]);
        r->out->cb[c] =
            lua_isnil(L, -1) ? (lua_pop(L, 1), LUA_NOREF) : luaL_ref(L, LUA_REGISTRYINDEX);
    }
    lua_pushvalue(L, mod);
    r->out->module_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

void host_release_code(script_host *h, script_code *c)
{
    unref(h->sb.L, &c->module_ref);
    for (int i = 0; i < CB_COUNT; i++)
        unref(h->sb.L, &c->cb[i]);
}

int host_compile_module(script_host *h, script_slot slot, const char *path, script_code *out,
                        char *err, size_t errlen)
{
    out->module_ref = LUA_NOREF;
    for (int c = 0; c < CB_COUNT; c++)
        out->cb[c] = LUA_NOREF;
    out->bar_shared = false;
    out->bar_fields = 0;
    compile_req r = {h, slot, path, out};
    int rc = sandbox_run(&h->sb, compile_fn, &r, err, errlen);
    if (rc < 0)
        host_release_code(h, out); /* refs taken before the failure */
    return rc;
}

void host_install_code(script_host *h, script_slot slot, const script_code *c)
{
    host_release_code(h, &h->mods[slot].code);
    h->mods[slot].code = *c;
    h->mods[slot].overruns = 0;
}

/* --- params: JSON -> Lua table --------------------------------------------------- */

/* Recursive: each level holds its table while the child is built. [-0, +1, e] */
static void push_json(lua_State *L, const json_t *j)
{
    luaL_checkstack(L, 4, "params nested too deeply");
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        lua_createtable(L, 0, (int)json_object_size(j));
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)j, k, v)
        {
            if (json_is_null(v))
                continue;
            push_json(L, v);
            lua_setfield(L, -2, k);
        }
        break;
    }
    case JSON_ARRAY: {
        lua_createtable(L, (int)json_array_size(j), 0);
        size_t i;
        json_t *v;
        json_array_foreach((json_t *)j, i, v)
        {
            push_json(L, v);
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
        break;
    }
    case JSON_STRING:
        lua_pushlstring(L, json_string_value(j), json_string_length(j));
        break;
    case JSON_INTEGER:
        lua_pushinteger(L, (lua_Integer)json_integer_value(j));
        break;
    case JSON_REAL:
        lua_pushnumber(L, json_real_value(j));
        break;
    case JSON_TRUE:
        lua_pushboolean(L, 1);
        break;
    case JSON_FALSE:
        lua_pushboolean(L, 0);
        break;
    default:
        lua_pushnil(L);
        break;
    }
}

typedef struct {
    const json_t *json;
    int module_ref; /* the compiled module: its `params` declaration, if any */
    const char *path;
    int ref;
} params_req;

/* ctx.params: the pipeline's params as given, or, for a module that declares its
 * parameters (module.params), every declared default with the given values checked
 * against their declarations and merged over them (apex.params.declared). Doing it at
 * load, before any bar, is what lets `check` refuse an undeclared or out-of-range
 * parameter; doing it again at a reload is what gives a new parameter its default and
 * drops a removed one. */
static int params_fn(lua_State *L)
{
    params_req *r = lua_touserdata(L, 1);
    luaL_checkstack(L, 6, NULL);
    if (r->json)
        push_json(L, r->json);
    else
        lua_newtable(L);
    lua_rawgeti(L, LUA_REGISTRYINDEX, r->module_ref);
    if (lua_getfield(L, -1, "params") != LUA_TNIL) {
        int decl = lua_gettop(L);
        sandbox_require(L, "apex.params");
        lua_getfield(L, -1, "declared");
        lua_pushvalue(L, decl);
        if (r->json)
            lua_pushvalue(L, decl - 2);
        else
            lua_pushnil(L);
        const char *base = strrchr(r->path, '/');
        lua_pushstring(L, base ? base + 1 : r->path);
        lua_call(L, 3, 1);
        lua_replace(L, decl - 2);
        lua_settop(L, decl - 2);
    } else {
        lua_pop(L, 2);
    }
    r->ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

static int resolve_params(script_host *h, const json_t *given, const char *path, int module_ref,
                          int *ref, char *err, size_t errlen)
{
    params_req pr = {given, module_ref, path, LUA_NOREF};
    int rc = sandbox_run(&h->sb, params_fn, &pr, err, errlen);
    *ref = pr.ref;
    return rc;
}

int host_resolve_params(script_host *h, script_slot slot, int module_ref, int *ref, char *err,
                        size_t errlen)
{
    script_module *m = &h->mods[slot];
    return resolve_params(h, m->given_params, m->path, module_ref, ref, err, errlen);
}

typedef struct {
    script_module *m;
    int ref;
} install_params_req;

static int install_params_fn(lua_State *L)
{
    install_params_req *r = lua_touserdata(L, 1);
    luaL_checkstack(L, 2, NULL);
    for (int i = 0; i < r->m->nctx; i++) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, r->m->ctx[i].ref);
        lua_pushliteral(L, "params");
        lua_rawgeti(L, LUA_REGISTRYINDEX, r->ref);
        lua_rawset(L, -3);
        lua_pop(L, 1);
    }
    return 0;
}

int host_install_params(script_host *h, script_slot slot, int ref, char *err, size_t errlen)
{
    script_module *m = &h->mods[slot];
    install_params_req r = {m, ref};
    int rc = sandbox_run(&h->sb, install_params_fn, &r, err, errlen);
    if (rc < 0) {
        unref(h->sb.L, &ref);
        return rc;
    }
    unref(h->sb.L, &m->params_ref);
    m->params_ref = ref;
    return 0;
}

int script_load(script_host *h, script_slot slot, const char *path, const char *params_json,
                char *err, size_t errlen)
{
    if (slot < 0 || slot >= SCRIPT_SLOT_COUNT)
        return err_set(err, errlen, APEX_EINVAL, "script_load: unknown slot %d", (int)slot);
    script_module *m = &h->mods[slot];
    if (strlen(path) >= sizeof m->path)
        return err_set(err, errlen, APEX_EINVAL, "%s: path too long", path);
    json_t *json = NULL;
    if (params_json && params_json[0]) {
        json_error_t je;
        /* A params string may hold a NUL byte (the loader keeps Lua strings byte for
         * byte); keys cannot, the loader refuses them. */
        json = json_loads(params_json, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
        if (!json || !json_is_object(json)) {
            json_decref(json);
            return err_set(err, errlen, APEX_EINVAL,
                           "%s: params: not a JSON object (%s); pass a table of parameters", path,
                           json ? "wrong type" : je.text);
        }
    }
    script_code code;
    int rc = host_compile_module(h, slot, path, &code, err, errlen);
    if (rc < 0) {
        json_decref(json);
        return rc;
    }
    int params_ref = LUA_NOREF;
    rc = resolve_params(h, json, path, code.module_ref, &params_ref, err, errlen);
    if (rc < 0) {
        json_decref(json);
        host_release_code(h, &code);
        return rc;
    }
    /* A fresh load (not a reload) starts with fresh ctx tables. */
    for (int i = 0; i < m->nctx; i++) {
        unref(h->sb.L, &m->ctx[i].ref);
        forget_start(&m->ctx[i]);
    }
    m->nctx = 0;
    m->last = 0;
    hmap_free(&m->ctx_index);
    hmap_init(&m->ctx_index);
    vec_free(&m->ctx_of_id);
    unref(h->sb.L, &m->params_ref);
    m->params_ref = params_ref;
    json_decref(m->given_params);
    m->given_params = json;
    host_install_code(h, slot, &code);
    snprintf(m->path, sizeof m->path, "%s", path);
    m->loaded = true;
    return 0;
}

/* --- ctx ------------------------------------------------------------------------- */

/* ctx.log(fmt, ...): string.format, then a line tagged with pipeline and symbol. */
static int ctx_log(lua_State *L)
{
    return script_output_log(L, lua_tostring(L, lua_upvalueindex(1)));
}

/* ctx.history(n [, field]): a new table of the symbol's last n bars, oldest first (t[#t] is
 * the bar being handled), each { time, open, high, low, close, volume }; with field (one of
 * those names), a flat array of that value alone, one table instead of n + 1. Fewer than n
 * while the symbol has fewer bars. The bars come from the host's ring (market/bar_ring.h),
 * so the only allocation is the table asked for. Also callable as ctx:history(n). */
static int ctx_history(lua_State *L)
{
    static const char *const names[] = {"time", "open", "high", "low", "close", "volume", NULL};
    sandbox *sb = sandbox_of(L);
    int arg = lua_istable(L, 1) ? 2 : 1;
    lua_Integer n = luaL_checkinteger(L, arg);
    int field = lua_isnoneornil(L, arg + 1) ? -1 : luaL_checkoption(L, arg + 1, NULL, names);
    int declared = sb->has_market ? sb->market.history_len : 0;
    if (declared <= 0)
        return luaL_error(L,
                          "ctx.history(%I): the pipeline keeps no bars; declare history = N "
                          "in the pipeline file (the most bars ctx.history may ask for)",
                          n);
    if (n < 1 || n > declared)
        return luaL_error(L,
                          "ctx.history(%I): n must be from 1 to the pipeline's history = %d; "
                          "raise history in the pipeline file to read more bars",
                          n, declared);
    const char *symbol = lua_tostring(L, lua_upvalueindex(1));
    const bar_ring *ring = sb->market.history ? sb->market.history(sb->market.ud, symbol) : NULL;
    int have = ring ? ring->count : 0;
    if (have > n)
        have = (int)n;
    luaL_checkstack(L, 3, NULL);
    lua_createtable(L, have, 0);
    for (int i = 0; i < have; i++) {
        const bar *b = bar_ring_back(ring, have - 1 - i);
        const money_t vals[] = {b->open, b->high, b->low, b->close, b->volume};
        if (field == 0) {
            sandbox_push_time(L, b->ts);
        } else if (field > 0) {
            lua_pushnumber(L, money_to_double(vals[field - 1]));
        } else {
            lua_createtable(L, 0, 6);
            sandbox_push_time(L, b->ts);
            lua_setfield(L, -2, names[0]);
            for (int k = 0; k < 5; k++) {
                lua_pushnumber(L, money_to_double(vals[k]));
                lua_setfield(L, -2, names[k + 1]);
            }
        }
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static int64_t call_now(const call_req *r)
{
    const sandbox *sb = &r->h->sb;
    if (sb->has_market && sb->market.now)
        return sb->market.now(sb->market.ud);
    if (r->bar)
        return r->bar->ts;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* A hash lookup, not a scan: with 500 symbols a scan compared 250 names per bar. */
static int find_ctx(script_module *m, const char *symbol)
{
    if (m->last < m->nctx && strcmp(m->ctx[m->last].symbol, symbol) == 0)
        return m->last;
    hmap_entry *e = hmap_find_str(&m->ctx_index, symbol);
    return e ? (m->last = (int)e->value.i64) : -1;
}

bool script_start_failed(script_host *h, script_slot slot, const char *symbol)
{
    if (!script_loaded(h, slot))
        return false;
    script_module *m = &h->mods[slot];
    int i = find_ctx(m, symbol);
    return i >= 0 && m->ctx[i].start_failed;
}

/* The ctx of r's symbol, or -1. On the bar path the symbol's id finds it with one load
 * and one short compare (a caller's ids need not be a symtab's, so the name is checked)
 * instead of hashing the name; the id is remembered once the ctx exists. */
static int find_bar_ctx(script_module *m, const call_req *r)
{
    int id = r->bar ? r->bar->symbol_id : -1;
    int i = id >= 0 && id < m->ctx_of_id.count ? m->ctx_of_id.items[id] - 1 : -1;
    if (i >= 0 && strcmp(m->ctx[i].symbol, r->symbol) == 0)
        return i;
    if (i >= 0)
        id = -1; /* not a symtab id: the name decides, and nothing is cached */
    i = find_ctx(m, r->symbol);
    if (i >= 0 && id >= 0 && (id >= m->ctx_of_id.count || m->ctx_of_id.items[id] == 0) &&
        vec_extend_zeroed(&m->ctx_of_id, id + 1) == 0)
        m->ctx_of_id.items[id] = i + 1;
    return i;
}

/* The index's keys point into ctx[], so after ctx moves they are inserted again. */
static int index_ctx(script_module *m, bool moved)
{
    if (moved) {
        hmap_free(&m->ctx_index);
        hmap_init(&m->ctx_index);
        for (int i = 0; i < m->nctx; i++)
            if (hmap_insert(&m->ctx_index, m->ctx[i].symbol, strlen(m->ctx[i].symbol),
                            (hmap_value){.i64 = i}) != 0)
                return APEX_ENOMEM;
        return 0;
    }
    int i = m->nctx - 1;
    return hmap_insert(&m->ctx_index, m->ctx[i].symbol, strlen(m->ctx[i].symbol),
                       (hmap_value){.i64 = i}) == APEX_ENOMEM
               ? APEX_ENOMEM
               : 0;
}

/* Pushes the ctx for (module, r->symbol), creating it and running on_start first when
 * needed, with ctx.now and ctx.position set for this call. Returns its stack index.
 * [-0, +1, e] */
static int push_ctx(lua_State *L, call_req *r)
{
    script_module *m = r->m;
    script_host *h = r->h;
    luaL_checkstack(L, 6, NULL);
    int i = r->ctx_index >= 0 ? r->ctx_index : find_bar_ctx(m, r);
    if (i < 0) {
        if (strlen(r->symbol) >= SYMBOL_MAX)
            luaL_error(L, "symbol '%s' is longer than %d characters", r->symbol, SYMBOL_MAX - 1);
        bool moved = false;
        if (m->nctx == m->capctx) {
            int cap = m->capctx ? m->capctx * 2 : 8;
            script_ctx *grown = realloc(m->ctx, (size_t)cap * sizeof *grown);
            if (!grown)
                luaL_error(L, "out of memory creating the ctx for %s", r->symbol);
            moved = grown != m->ctx;
            m->ctx = grown;
            m->capctx = cap;
        }
        lua_createtable(L, 0, 8);
        lua_pushstring(L, r->symbol);
        lua_setfield(L, -2, "symbol");
        lua_rawgeti(L, LUA_REGISTRYINDEX, m->params_ref);
        lua_setfield(L, -2, "params");
        lua_newtable(L);
        lua_setfield(L, -2, "state");
        lua_pushstring(L, r->symbol);
        lua_pushcclosure(L, ctx_log, 1);
        lua_setfield(L, -2, "log");
        lua_pushstring(L, r->symbol);
        lua_pushcclosure(L, ctx_history, 1);
        lua_setfield(L, -2, "history");
        i = m->nctx;
        snprintf(m->ctx[i].symbol, SYMBOL_MAX, "%s", r->symbol);
        m->ctx[i].started = false;
        m->ctx[i].start_failed = false;
        m->ctx[i].start_error = NULL;
        m->ctx[i].ref = luaL_ref(L, LUA_REGISTRYINDEX);
        m->nctx++;
        if (index_ctx(m, moved) != 0) {
            m->nctx--; /* not findable: forget it, the next call creates it again */
            unref(L, &m->ctx[i].ref);
            luaL_error(L, "out of memory creating the ctx for %s", r->symbol);
        }
        m->last = i;
        /* An id whose slot another name holds is not a symtab's: nothing is cached. */
        int id = r->bar ? r->bar->symbol_id : -1;
        if (id >= 0 && (id >= m->ctx_of_id.count || m->ctx_of_id.items[id] == 0) &&
            vec_extend_zeroed(&m->ctx_of_id, id + 1) == 0)
            m->ctx_of_id.items[id] = i + 1;
    }
    r->ctx_index = i;
    lua_rawgeti(L, LUA_REGISTRYINDEX, m->ctx[i].ref);
    int ctx = lua_gettop(L);
    push_key(L, h, K_NOW);
    sandbox_push_time(L, call_now(r));
    lua_rawset(L, ctx);
    push_key(L, h, K_POSITION);
    if (r->pos)
        host_push_position(L, r->pos);
    else
        lua_pushnil(L);
    lua_rawset(L, ctx);
    if (!m->ctx[i].started && r->cb != CB_ON_RELOAD) {
        if (m->code.cb[CB_ON_START] != LUA_NOREF) {
            /* Set before the call and cleared after it: an error unwinds past the clear. */
            m->ctx[i].start_failed = true;
            lua_rawgeti(L, LUA_REGISTRYINDEX, m->code.cb[CB_ON_START]);
            lua_pushvalue(L, ctx);
            lua_call(L, 1, 0);
            m->ctx[i].start_failed = false;
        }
        m->ctx[i].started = true;
    }
    return ctx;
}

void host_push_position(lua_State *L, const script_position *p)
{
    luaL_checkstack(L, 2, NULL); /* the table and one field at a time */
    lua_createtable(L, 0, 12);
    lua_pushinteger(L, (lua_Integer)p->execution_id);
    lua_setfield(L, -2, "execution_id");
    lua_pushstring(L, p->symbol);
    lua_setfield(L, -2, "symbol");
    lua_pushstring(L, p->side == SIDE_SELL ? "short" : "long");
    lua_setfield(L, -2, "side");
    static const struct {
        const char *name;
        size_t off;
    } nums[] = {
        {"qty", offsetof(script_position, qty)},
        {"entry_price", offsetof(script_position, entry_price)},
        {"current_price", offsetof(script_position, current_price)},
        {"unrealized_pnl", offsetof(script_position, unrealized_pnl)},
        {"unrealized_pnl_pct", offsetof(script_position, unrealized_pnl_pct)},
        {"stop_loss", offsetof(script_position, stop_loss)},
        {"take_profit", offsetof(script_position, take_profit)},
    };
    for (size_t k = 0; k < sizeof nums / sizeof nums[0]; k++) {
        money_t v;
        memcpy(&v, (const char *)p + nums[k].off, sizeof v);
        lua_pushnumber(L, money_to_double(v));
        lua_setfield(L, -2, nums[k].name);
    }
    if (p->trailing_stop > 0) {
        lua_pushnumber(L, money_to_double(p->trailing_stop));
        lua_setfield(L, -2, "trailing_stop");
    }
    sandbox_push_time(L, p->opened_at);
    lua_setfield(L, -2, "opened_at");
}

/* --- result validation ----------------------------------------------------------- */

/* "strategies/x.lua:12" for the callback being validated: where the function is defined,
 * since the returning line is gone once the call has returned. */
static void callback_where(lua_State *L, const call_req *r, char *buf, size_t len)
{
    lua_Debug ar;
    luaL_checkstack(L, 1, NULL);
    lua_rawgeti(L, LUA_REGISTRYINDEX, r->m->code.cb[r->cb]);
    if (lua_getinfo(L, ">S", &ar))
        snprintf(buf, len, "%s:%d", ar.short_src, ar.linedefined);
    else
        snprintf(buf, len, "%.*s", (int)(len > 1 ? len - 1 : 0), r->m->path);
}

static int result_error(lua_State *L, call_req *r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int result_error(lua_State *L, call_req *r, const char *fmt, ...)
{
    char where[LUA_IDSIZE + 16], what[400];
    callback_where(L, r, where, sizeof where);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    r->rc = err_set(r->err, r->errlen, APEX_ESCRIPT, "%s: %s returned %s", where,
                    script_cb_names[r->cb], what);
    return r->rc;
}

static void describe_value(lua_State *L, int idx, char *buf, size_t len)
{
    if (lua_type(L, idx) == LUA_TNUMBER) {
        double v = lua_tonumber(L, idx);
        if (isnan(v))
            snprintf(buf, len, "nan");
        else if (isinf(v))
            snprintf(buf, len, "%sinf", v < 0 ? "-" : "");
        else
            snprintf(buf, len, "%.14g", v);
    } else if (lua_type(L, idx) == LUA_TSTRING) {
        snprintf(buf, len, "\"%.40s\" (a string)", lua_tostring(L, idx));
    } else {
        snprintf(buf, len, "a %s", luaL_typename(L, idx));
    }
}

/* Reads t[name]: nil leaves *out alone; otherwise a number that converts to the host's
 * fixed point (8 decimals) without losing what it says: > 0 when positive is set (a
 * positive value so small it would become 0 is refused, since 0 means "not given" to the
 * stages after this one), else within [lo, hi]. Each refusal says which of these the value
 * broke. [-0, +0, e] */
static int read_number(lua_State *L, call_req *r, int t, const char *name, bool positive, double lo,
                       double hi, money_t *out)
{
    lua_getfield(L, t, name);
    int rc = 0;
    if (!lua_isnil(L, -1)) {
        double v = lua_tonumber(L, -1);
        char desc[64];
        describe_value(L, -1, desc, sizeof desc);
        bool number = lua_type(L, -1) == LUA_TNUMBER && !isnan(v);
        if (!number || (positive && !(v > 0)))
            rc = positive ? result_error(L, r, "%s = %s; return a positive number", name, desc)
                          : result_error(L, r, "%s = %s; return a number from %g to %g", name, desc,
                                         lo, hi);
        else if (positive ? !(v < MONEY_DOUBLE_LIMIT) : (v < lo || v > hi))
            rc = positive ? result_error(L, r,
                                         "%s = %s is out of range; return a positive number "
                                         "below %.0f",
                                         name, desc, MONEY_DOUBLE_LIMIT)
                          : result_error(L, r,
                                         "%s = %s is out of range; return a number from %g "
                                         "to %g",
                                         name, desc, lo, hi);
        else if (money_from_double(v, out, name, NULL, 0) < 0)
            rc = result_error(L, r, "%s = %s is out of range", name, desc);
        else if (positive && *out == 0)
            rc = result_error(L, r,
                              "%s = %s is too small: it rounds to 0 at the host's precision of "
                              "0.00000001; return a larger value, or leave %s out",
                              name, desc, name);
    }
    lua_pop(L, 1);
    return rc;
}

/* [-0, +0, e] */
static void read_reason(lua_State *L, int t, char *buf, size_t len)
{
    if (lua_getfield(L, t, "reason") == LUA_TSTRING)
        snprintf(buf, len, "%s", lua_tostring(L, -1));
    lua_pop(L, 1);
}

static const char *const signal_fields[] = {"side",      "entry",       "price", "expires",
                                            "stop_loss", "take_profit", "qty",   "confidence",
                                            "reason",    NULL};
static const char *const close_fields[] = {"side", "qty", "fraction", "reason", NULL};

/* Refuses a key of the table at t that is not in fields: a typo such as stoploss would
 * otherwise silently trade without a stop. what names the table ("a signal", "a close"),
 * hint says what to use. Returns 0 or the error. [-0, +0, e] */
static int check_fields(lua_State *L, call_req *r, int t, const char *const *fields,
                        const char *what, const char *hint)
{
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        const char *k = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
        const char *const *f = fields;
        while (k && *f && strcmp(*f, k) != 0)
            f++;
        if (!k || !*f) {
            char desc[64];
            describe_value(L, -1, desc, sizeof desc);
            lua_pop(L, 1);
            return result_error(L, r, "%s with an unknown field %s; %s", what, desc, hint);
        }
    }
    return 0;
}

/* A close of the open position: { side = "close", qty = n | fraction = f, reason = s }.
 * Without qty or fraction it closes everything. [-0, +0, e] */
static void read_close(lua_State *L, call_req *r, int t)
{
    script_signal *s = r->sig;
    s->kind = SIGNAL_CLOSE;
    if (check_fields(L, r, t, close_fields, "a close",
                     "a close takes side = \"close\", qty or fraction, and reason") < 0 ||
        read_number(L, r, t, "qty", true, 0, 0, &s->qty) < 0 ||
        read_number(L, r, t, "fraction", false, 0, 1, &s->fraction) < 0)
        return;
    lua_getfield(L, t, "fraction");
    bool has_fraction = !lua_isnil(L, -1);
    lua_pop(L, 1);
    char qb[32], pb[32];
    if (has_fraction && s->fraction == 0) {
        result_error(L, r,
                     "a close with fraction = 0 (or below 0.00000001); return a fraction "
                     "above 0 and at most 1 (0.5 closes half), or nil to keep the position");
        return;
    }
    if (has_fraction && s->qty > 0) {
        result_error(L, r,
                     "a close with both qty = %s and fraction; give one of them (or neither "
                     "to close the whole position)",
                     money_format_trim(s->qty, 0, qb, sizeof qb));
        return;
    }
    if (r->pos && s->qty > r->pos->qty) {
        result_error(L, r,
                     "a close with qty = %s, more than the open position's %s; return at most "
                     "ctx.position.qty, or leave qty out to close it all",
                     money_format_trim(s->qty, 0, qb, sizeof qb),
                     money_format_trim(r->pos->qty, 0, pb, sizeof pb));
        return;
    }
    read_reason(L, t, s->reason, sizeof s->reason);
    r->has_signal = 1;
}

/* An expiry's count, { bars = n } or { seconds = n }: a whole number from 1 to hi. */
static int read_expiry_count(lua_State *L, call_req *r, int t, const char *name, lua_Integer hi,
                             lua_Integer *out)
{
    int type = lua_getfield(L, t, name);
    int rc = 0;
    if (type != LUA_TNIL) {
        int whole = 0;
        lua_Integer v = lua_tointegerx(L, -1, &whole);
        if (type != LUA_TNUMBER || !whole || v < 1 || v > hi) {
            char desc[64];
            describe_value(L, -1, desc, sizeof desc);
            rc = result_error(L, r,
                              "a signal with expires.%s = %s; use a whole number from 1 to %lld",
                              name, desc, (long long)hi);
        } else {
            *out = v;
        }
    }
    lua_pop(L, 1);
    return rc;
}

/* entry (a number: the reference price; or "market", "limit", "stop"), price (the limit or
 * stop price, with "limit" and "stop") and expires ({ bars = n } or { seconds = n }, with
 * "limit" and "stop"). [-0, +0, e] */
static int read_entry_order(lua_State *L, call_req *r, int t)
{
    script_signal *s = r->sig;
    luaL_checkstack(L, 4, NULL); /* entry or expires, lua_next's key and value, a field */
    int type = lua_getfield(L, t, "entry");
    if (type != LUA_TSTRING) {
        lua_pop(L, 1);
        if (read_number(L, r, t, "entry", true, 0, 0, &s->entry) < 0)
            return r->rc;
        lua_getfield(L, t, "price");
        lua_getfield(L, t, "expires");
        bool stray = !lua_isnil(L, -2) || !lua_isnil(L, -1);
        const char *which = !lua_isnil(L, -2) ? "price" : "expires";
        lua_pop(L, 2);
        if (stray)
            return result_error(L, r,
                                "a signal with %s but no entry order type; set entry = \"stop\" "
                                "or \"limit\" with price = p",
                                which);
        return 0;
    }
    const char *e = lua_tostring(L, -1);
    if (strcmp(e, "market") == 0)
        s->entry_type = ORDER_MARKET;
    else if (strcmp(e, "limit") == 0)
        s->entry_type = ORDER_LIMIT;
    else if (strcmp(e, "stop") == 0)
        s->entry_type = ORDER_STOP;
    else {
        char desc[64];
        describe_value(L, -1, desc, sizeof desc);
        lua_pop(L, 1);
        return result_error(L, r,
                            "entry = %s; use a price, or \"market\", \"limit\" or \"stop\" "
                            "(with price = p)",
                            desc);
    }
    lua_pop(L, 1);
    s->entry_typed = true;
    if (read_number(L, r, t, "price", true, 0, 0, &s->entry) < 0)
        return r->rc;
    bool priced = s->entry_type != ORDER_MARKET;
    if (priced && s->entry == 0)
        return result_error(L, r,
                            "a signal with entry = \"%s\" but no price; set price = the %s "
                            "price",
                            e[0] == 's' ? "stop" : "limit", e[0] == 's' ? "stop" : "limit");
    if (!priced && s->entry != 0)
        return result_error(L, r,
                            "a signal with entry = \"market\" and a price; a market entry has no "
                            "price (use entry = \"limit\" or \"stop\")");
    int et = lua_getfield(L, t, "expires");
    int rc = 0;
    if (et != LUA_TNIL) {
        int top = lua_gettop(L);
        lua_Integer bars = 0, secs = 0;
        if (!priced)
            rc = result_error(L, r,
                              "a signal with expires and entry = \"market\"; only a "
                              "\"limit\" or \"stop\" entry rests and expires");
        else if (et != LUA_TTABLE)
            rc = result_error(L, r,
                              "a signal with expires = a %s; use { bars = n } or "
                              "{ seconds = n }",
                              lua_typename(L, et));
        else if (check_fields(L, r, top, (const char *const[]){"bars", "seconds", NULL},
                              "a signal's expires", "use { bars = n } or { seconds = n }") < 0 ||
                 read_expiry_count(L, r, top, "bars", 1000000, &bars) < 0 ||
                 read_expiry_count(L, r, top, "seconds", 366LL * 86400, &secs) < 0)
            rc = r->rc;
        else if ((bars > 0) == (secs > 0))
            rc = result_error(L, r, "a signal with expires = { %s }; give one of bars and seconds",
                              bars > 0 ? "bars, seconds" : "");
        s->expire_bars = (int)bars;
        s->expire_seconds = secs;
    }
    lua_pop(L, 1);
    return rc;
}

/* Fills r->sig from the table at t, or records why it is not a signal. [-0, +0, e] */
static void read_signal(lua_State *L, call_req *r, int t)
{
    script_signal *s = r->sig;
    luaL_checkstack(L, 3, NULL); /* lua_next's key and value, a field */
    memset(s, 0, sizeof *s);
    s->confidence = MONEY_SCALE;
    if (!lua_istable(L, t)) {
        result_error(
            L, r,
            "a %s; return nil or a signal table { side = \"buy\" | \"sell\" | \"close\", ... }",
            luaL_typename(L, t));
        return;
    }
    lua_getfield(L, t, "side");
    const char *side = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    if (side && strcmp(side, "close") == 0) {
        lua_pop(L, 1);
        read_close(L, r, t);
        return;
    }
    if (side && strcmp(side, "buy") == 0)
        s->side = SIDE_BUY;
    else if (side && strcmp(side, "sell") == 0)
        s->side = SIDE_SELL;
    else {
        char desc[64];
        describe_value(L, -1, desc, sizeof desc);
        lua_pop(L, 1);
        result_error(L, r,
                     "side = %s; use \"buy\" or \"sell\" to enter, \"close\" to close the "
                     "open position (return nil for no trade)",
                     desc);
        return;
    }
    lua_pop(L, 1);
    if (check_fields(L, r, t, signal_fields, "a signal",
                     "use side, entry, price, expires, stop_loss, take_profit, qty, confidence, "
                     "reason (fraction belongs to a close)") < 0 ||
        read_entry_order(L, r, t) < 0 ||
        read_number(L, r, t, "stop_loss", true, 0, 0, &s->stop_loss) < 0 ||
        read_number(L, r, t, "take_profit", true, 0, 0, &s->take_profit) < 0 ||
        read_number(L, r, t, "qty", true, 0, 0, &s->qty) < 0 ||
        read_number(L, r, t, "confidence", false, 0, 1, &s->confidence) < 0)
        return;
    read_reason(L, t, s->reason, sizeof s->reason);
    r->has_signal = 1;
}

/* Reads a bias result; needs the scratch slot t + 1 (call_fn pushes it). [-0, +0, e] */
static void read_bias(lua_State *L, call_req *r, int t)
{
    script_bias_result *b = r->bias;
    const char *dir = NULL;
    if (lua_type(L, t) == LUA_TSTRING) {
        dir = lua_tostring(L, t);
    } else if (lua_istable(L, t)) {
        lua_getfield(L, t, "direction");
        lua_replace(L, t + 1); /* into the scratch slot call_fn reserved */
        dir = lua_type(L, t + 1) == LUA_TSTRING ? lua_tostring(L, t + 1) : NULL;
        if (read_number(L, r, t, "confidence", false, 0, 1, &b->confidence) < 0)
            return;
        read_reason(L, t, b->reason, sizeof b->reason);
    } else if (!lua_isnil(L, t)) {
        result_error(L, r, "a %s; return \"long\", \"short\", \"neutral\" or { direction = ... }",
                     luaL_typename(L, t));
        return;
    }
    if (!dir) {
        if (lua_isnil(L, t))
            dir = "neutral";
        else {
            result_error(L, r,
                         "a table without a direction; set direction = \"long\", "
                         "\"short\" or \"neutral\"");
            return;
        }
    }
    if (strcmp(dir, "long") != 0 && strcmp(dir, "short") != 0 && strcmp(dir, "neutral") != 0) {
        result_error(L, r, "direction \"%.40s\"; use \"long\", \"short\" or \"neutral\"", dir);
        return;
    }
    snprintf(b->direction, sizeof b->direction, "%s", dir);
}

/* [-0, +0, -] */
static void read_score(lua_State *L, call_req *r, int t)
{
    if (lua_isnil(L, t))
        return;
    double v = lua_tonumber(L, t);
    char desc[64];
    if (lua_type(L, t) != LUA_TNUMBER || !isfinite(v)) {
        describe_value(L, t, desc, sizeof desc);
        result_error(L, r, "%s; return a finite number (or nil for unknown)", desc);
        return;
    }
    char why[160];
    if (money_from_double(v, &r->number, script_cb_names[r->cb], why, sizeof why) < 0) {
        result_error(L, r, "%.14g, which is out of range", v);
        return;
    }
    r->has_number = true;
}

static const char *const stop_fields[] = {"price", "loosen", NULL};

/* stop(): nil (keep the stop as it is), a price, or { price = p, loosen = true }, the only
 * way to move a stop away from the market. [-0, +0, e] */
static void read_stop(lua_State *L, call_req *r, int t)
{
    if (lua_isnil(L, t))
        return;
    if (lua_type(L, t) == LUA_TNUMBER) {
        lua_createtable(L, 0, 1); /* { price = the number }, read as the table is */
        lua_pushvalue(L, t);
        lua_setfield(L, -2, "price");
        lua_replace(L, t);
    }
    if (!lua_istable(L, t)) {
        result_error(L, r,
                     "a %s; return nil (keep the stop), a price, or { price = p, loosen = true "
                     "}",
                     luaL_typename(L, t));
        return;
    }
    if (check_fields(L, r, t, stop_fields, "a stop",
                     "a stop takes price and loosen (return a number for the price alone)") < 0 ||
        read_number(L, r, t, "price", true, 0, 0, &r->number) < 0)
        return;
    if (r->number == 0) {
        result_error(L, r, "a stop without a price; set price = p, or return nil to keep the stop");
        return;
    }
    int lt = lua_getfield(L, t, "loosen");
    if (lt != LUA_TNIL && lt != LUA_TBOOLEAN) {
        char desc[64];
        describe_value(L, -1, desc, sizeof desc);
        lua_pop(L, 1);
        result_error(L, r, "a stop with loosen = %s; use true or false", desc);
        return;
    }
    r->loosen = lua_toboolean(L, -1);
    lua_pop(L, 1);
    r->has_number = true;
}

/* --- the callbacks --------------------------------------------------------------- */

/* The bar as scripts see it; ctx is the ctx table's index (for its interned symbol).
 * A module whose on_bar only reads the bar's fields gets its one shared table with the
 * fields it reads rewritten (the script can neither keep nor change it, nor see the
 * others, argscan.h); any other gets a new table, as it may keep it past the call.
 * [-0, +1, m] */
static void push_bar(lua_State *L, const script_host *h, script_module *m, const bar *b, int ctx)
{
    luaL_checkstack(L, 3, NULL); /* the table, a key, a value */
    bool shared = m->code.bar_shared;
    unsigned want = shared ? m->code.bar_fields : ~0u;
    if (shared && m->bar_ref != LUA_NOREF) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, m->bar_ref);
    } else {
        lua_createtable(L, 0, 9);
        if (shared) {
            lua_pushvalue(L, -1);
            m->bar_ref = luaL_ref(L, LUA_REGISTRYINDEX);
            m->bar_quotes = false;
        }
    }
    int t = lua_gettop(L);
    if (want & (1u << K_TIME)) {
        push_key(L, h, K_TIME);
        sandbox_push_time(L, b->ts);
        lua_rawset(L, t);
    }
    if (want & (1u << K_SYMBOL)) {
        push_key(L, h, K_SYMBOL);
        push_key(L, h, K_SYMBOL);
        lua_rawget(L, ctx); /* the interned symbol string from the ctx, no hashing */
        lua_rawset(L, t);
    }
    const money_t vals[] = {b->open, b->high, b->low, b->close, b->volume};
    for (int k = 0; k < 5; k++) {
        if (!(want & (1u << (K_OPEN + k))))
            continue;
        push_key(L, h, (script_key)(K_OPEN + k));
        lua_pushnumber(L, money_to_double(vals[k]));
        lua_rawset(L, t);
    }
    /* No quote columns (or a 0 quote): bid/ask are nil, and on the shared table they
     * are cleared only when the previous bar set them. Both or neither are rewritten,
     * so bar_quotes says what the table holds. */
    bool quotes = b->bid != 0 || b->ask != 0;
    if (!(want & (1u << K_BID | 1u << K_ASK)) || (!quotes && !(shared && m->bar_quotes)))
        return;
    const money_t q[] = {b->bid, b->ask};
    for (int k = 0; k < 2; k++) {
        push_key(L, h, (script_key)(K_BID + k));
        if (q[k] != 0)
            lua_pushnumber(L, money_to_double(q[k]));
        else
            lua_pushnil(L);
        lua_rawset(L, t);
    }
    if (shared)
        m->bar_quotes = quotes;
}

/* score(ctx, signal): the entry signal as the coordinator ranks it, with the pipeline's
 * default stop and target already filled in. [-0, +1, m] */
static void push_score_signal(lua_State *L, const script_signal *s, const char *symbol)
{
    lua_createtable(L, 0, 8);
    lua_pushstring(L, symbol);
    lua_setfield(L, -2, "symbol");
    lua_pushstring(L, s->side == SIDE_SELL ? "sell" : "buy");
    lua_setfield(L, -2, "side");
    const money_t vals[] = {s->entry, s->stop_loss, s->take_profit, s->qty, s->confidence};
    const char *const names[] = {"entry", "stop_loss", "take_profit", "qty", "confidence"};
    for (int i = 0; i < 5; i++) {
        if (vals[i] == 0 && i == 3)
            continue; /* qty: nil = the risk stage sizes it */
        lua_pushnumber(L, money_to_double(vals[i]));
        lua_setfield(L, -2, names[i]);
    }
    lua_pushstring(L, s->reason);
    lua_setfield(L, -2, "reason");
}

/* Runs one callback under sandbox_run: the ctx, the arguments, the call, its result. */
static int call_fn(lua_State *L)
{
    call_req *r = lua_touserdata(L, 1);
    luaL_checkstack(L, 6, NULL); /* function, ctx, argument table, a field, result, scratch */
    int ctx = push_ctx(L, r);
    if (r->m->code.cb[r->cb] == LUA_NOREF)
        return 0; /* only on_start was due */
    lua_rawgeti(L, LUA_REGISTRYINDEX, r->m->code.cb[r->cb]);
    lua_pushvalue(L, ctx);
    int nargs = 1;
    switch (r->cb) {
    case CB_ON_BAR:
        push_bar(L, r->h, r->m, r->bar, ctx);
        nargs = 2;
        break;
    case CB_EDGE:
    case CB_STOP:
        host_push_position(L, r->pos);
        nargs = 2;
        break;
    case CB_ON_FILL:
        lua_createtable(L, 0, 3);
        lua_pushstring(L, r->side == SIDE_SELL ? "sell" : "buy");
        lua_setfield(L, -2, "side");
        lua_pushnumber(L, money_to_double(r->qty));
        lua_setfield(L, -2, "qty");
        lua_pushnumber(L, money_to_double(r->price));
        lua_setfield(L, -2, "price");
        nargs = 2;
        break;
    case CB_SCORE:
        push_score_signal(L, r->score_sig, r->symbol);
        nargs = 2;
        break;
    case CB_ON_EXIT:
        lua_createtable(L, 0, 2);
        lua_pushstring(L, r->reason ? r->reason : "");
        lua_setfield(L, -2, "reason");
        if (r->pos) {
            host_push_position(L, r->pos);
            lua_setfield(L, -2, "position");
        }
        nargs = 2;
        break;
    default:
        break;
    }
    lua_call(L, nargs, 1);
    int res = lua_gettop(L);
    if (r->cb == CB_ON_BAR && r->sig) {
        if (!lua_isnil(L, res))
            read_signal(L, r, res);
    } else if (r->cb == CB_BIAS) {
        lua_pushnil(L); /* scratch slot for read_bias */
        read_bias(L, r, res);
    } else if (r->cb == CB_EDGE || r->cb == CB_OPPORTUNITY || r->cb == CB_SCORE) {
        read_score(L, r, res);
    } else if (r->cb == CB_STOP) {
        read_stop(L, r, res);
    }
    return 0;
}

/* on_start runs once per symbol, as documented: when it fails, the error is returned once
 * (with a note saying what follows) and the module is not called again for that symbol,
 * so a broken on_start neither retries on every bar nor lets the symbol trade on a ctx it
 * never set up. A reload with new code clears it (host_call_on_reload). */
static int run_call(call_req *r)
{
    script_module *m = r->m;
    if (m->overruns >= SCRIPT_OVERRUN_LIMIT)
        return err_set(r->err, r->errlen, APEX_ESCRIPT,
                       "%s is suspended: %d calls in a row ran past the %d ms deadline; make "
                       "its callbacks do less work per call and save the file (the reload "
                       "resumes it)",
                       m->path, m->overruns, r->h->sb.deadline_ms);
    int i = find_bar_ctx(r->m, r);
    r->ctx_index = i; /* push_ctx starts from it (-1: to be created) */
    if (i >= 0 && r->m->ctx[i].start_failed && r->cb != CB_ON_RELOAD) {
        if (r->m->ctx[i].start_error)
            return err_set(r->err, r->errlen, APEX_ESTATE, "%s", r->m->ctx[i].start_error);
        return err_set(r->err, r->errlen, APEX_ESTATE,
                       "%s: on_start failed for %s; it is not traded until the file is fixed "
                       "and reloaded",
                       r->m->path, r->symbol);
    }
    int rc = sandbox_run(&r->h->sb, call_fn, r, r->err, r->errlen);
    m->overruns = r->h->sb.overran ? m->overruns + 1 : 0;
    if (rc < 0 && r->err && r->errlen && r->ctx_index >= 0 && r->ctx_index < r->m->nctx &&
        r->m->ctx[r->ctx_index].start_failed) {
        script_ctx *c = &r->m->ctx[r->ctx_index];
        size_t n = strnlen(r->err, r->errlen);
        snprintf(r->err + n, r->errlen - n,
                 " (in on_start: %s is not traded until %s is fixed and reloaded)", r->symbol,
                 r->m->path);
        free(c->start_error);
        c->start_error = strdup(r->err);
    }
    return rc < 0 ? rc : r->rc;
}

static call_req make_req(script_host *h, script_slot slot, script_cb cb, const char *symbol,
                         char *err, size_t errlen)
{
    call_req r;
    memset(&r, 0, sizeof r);
    r.h = h;
    r.m = &h->mods[slot];
    r.cb = cb;
    r.symbol = symbol;
    r.ctx_index = -1;
    r.err = err;
    r.errlen = errlen;
    return r;
}

int script_on_bar(script_host *h, script_slot slot, const bar *b, const char *symbol,
                  const script_position *pos, script_signal *sig, char *err, size_t errlen)
{
    if (!script_loaded(h, slot))
        return 0;
    script_module *m = &h->mods[slot];
    if (m->code.cb[CB_ON_BAR] == LUA_NOREF) {
        int i = find_ctx(m, symbol);
        if (i >= 0 && m->ctx[i].started)
            return 0; /* nothing to call, on_start already done */
    }
    call_req r = make_req(h, slot, CB_ON_BAR, symbol, err, errlen);
    r.bar = b;
    r.pos = pos;
    r.sig = slot == SCRIPT_STRATEGY ? sig : NULL;
    int rc = run_call(&r);
    if (rc < 0)
        return rc;
    return r.has_signal;
}

int script_bias(script_host *h, const char *symbol, script_bias_result *out, char *err,
                size_t errlen)
{
    memset(out, 0, sizeof *out);
    snprintf(out->direction, sizeof out->direction, "neutral");
    out->confidence = MONEY_SCALE;
    if (!script_loaded(h, SCRIPT_BIAS) || h->mods[SCRIPT_BIAS].code.cb[CB_BIAS] == LUA_NOREF)
        return 0;
    call_req r = make_req(h, SCRIPT_BIAS, CB_BIAS, symbol, err, errlen);
    r.bias = out;
    int rc = run_call(&r);
    if (rc < 0) {
        snprintf(out->direction, sizeof out->direction, "neutral");
        return rc;
    }
    return 0;
}

static int call_score(script_host *h, script_cb cb, const char *symbol, const script_position *pos,
                      const script_signal *sig, money_t *out, bool *has, char *err, size_t errlen)
{
    *has = false;
    *out = 0;
    if (!script_loaded(h, SCRIPT_STRATEGY) || h->mods[SCRIPT_STRATEGY].code.cb[cb] == LUA_NOREF)
        return 0;
    call_req r = make_req(h, SCRIPT_STRATEGY, cb, symbol, err, errlen);
    r.pos = pos;
    r.score_sig = sig;
    int rc = run_call(&r);
    if (rc < 0)
        return rc;
    *has = r.has_number;
    *out = r.number;
    return 0;
}

int script_edge(script_host *h, const script_position *pos, money_t *edge, bool *has_edge,
                char *err, size_t errlen)
{
    return call_score(h, CB_EDGE, pos->symbol, pos, NULL, edge, has_edge, err, errlen);
}

int script_stop(script_host *h, const script_position *pos, money_t *price, bool *has_price,
                bool *loosen, char *err, size_t errlen)
{
    *has_price = false;
    *price = 0;
    *loosen = false;
    if (!script_loaded(h, SCRIPT_STRATEGY) ||
        h->mods[SCRIPT_STRATEGY].code.cb[CB_STOP] == LUA_NOREF)
        return 0;
    call_req r = make_req(h, SCRIPT_STRATEGY, CB_STOP, pos->symbol, err, errlen);
    r.pos = pos;
    int rc = run_call(&r);
    if (rc < 0)
        return rc;
    *has_price = r.has_number;
    *price = r.number;
    *loosen = r.loosen;
    return 0;
}

int script_opportunity(script_host *h, const char *symbol, money_t *score, bool *has_score,
                       char *err, size_t errlen)
{
    return call_score(h, CB_OPPORTUNITY, symbol, NULL, NULL, score, has_score, err, errlen);
}

int script_score(script_host *h, const char *symbol, const script_signal *sig, money_t *score,
                 bool *has_score, char *err, size_t errlen)
{
    return call_score(h, CB_SCORE, symbol, NULL, sig, score, has_score, err, errlen);
}

int script_on_fill(script_host *h, const script_position *pos, order_side side, money_t qty,
                   money_t price, char *err, size_t errlen)
{
    if (!script_loaded(h, SCRIPT_STRATEGY) ||
        h->mods[SCRIPT_STRATEGY].code.cb[CB_ON_FILL] == LUA_NOREF)
        return 0;
    call_req r = make_req(h, SCRIPT_STRATEGY, CB_ON_FILL, pos->symbol, err, errlen);
    r.pos = pos;
    r.side = side;
    r.qty = qty;
    r.price = price;
    return run_call(&r);
}

int script_on_exit(script_host *h, const script_position *pos, const char *reason, char *err,
                   size_t errlen)
{
    if (!script_loaded(h, SCRIPT_STRATEGY) ||
        h->mods[SCRIPT_STRATEGY].code.cb[CB_ON_EXIT] == LUA_NOREF)
        return 0;
    call_req r = make_req(h, SCRIPT_STRATEGY, CB_ON_EXIT, pos->symbol, err, errlen);
    r.pos = pos;
    r.reason = reason;
    return run_call(&r);
}

int host_call_on_reload(script_host *h, script_slot slot, char *err, size_t errlen)
{
    script_module *m = &h->mods[slot];
    /* New code gets a new chance: a symbol whose on_start failed runs on_start again (not
     * on_reload, since it was never set up) before its next callback. */
    for (int i = 0; i < m->nctx; i++)
        if (m->ctx[i].start_failed)
            forget_start(&m->ctx[i]);
    if (m->code.cb[CB_ON_RELOAD] == LUA_NOREF) {
        /* New code without on_reload gets its on_start again, on the kept ctx.state, before
         * each symbol's next callback: what the old on_start never set up (a new
         * `ctx.state.x = ctx.state.x or ta.ema(100)`) is set up now, and an on_start
         * written that way keeps what is warm. A module with on_reload does it itself. */
        for (int i = 0; i < m->nctx; i++)
            forget_start(&m->ctx[i]);
        return 0;
    }
    int first = 0;
    for (int i = 0; i < m->nctx; i++) {
        if (!m->ctx[i].started)
            continue;
        char e[512];
        call_req r = make_req(h, slot, CB_ON_RELOAD, m->ctx[i].symbol, e, sizeof e);
        int rc = run_call(&r);
        if (rc < 0 && first == 0) {
            first = rc;
            err_set(err, errlen, rc, "%s on_reload(%s): %s", slot_names[slot], m->ctx[i].symbol, e);
        }
    }
    return first;
}
