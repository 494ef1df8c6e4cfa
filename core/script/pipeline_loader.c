/* pipeline_loader: pipeline.lua -> pipeline_config.
 *
 * The file is evaluated in a throwaway sandbox (it may compute values, share
 * tables, call apex.pipeline), then the returned table is walked against the
 * schema below. The walker never stops at the first problem: a trader running
 * `apex-host check` should see every mistake in one pass, each naming the field
 * ("pipeline.lua: risk.max_positions: expected a whole number, got string") and,
 * for unknown names, the closest known one. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <lauxlib.h>

#include "script/sandbox.h"
#include "util/err.h"

typedef struct {
    lua_State *L;
    const char *file;
    diag_list *d;
    int n; /* problems found */
    pipeline_config *cfg;
} loader;

static void problem(loader *ld, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void problem(loader *ld, const char *field, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    diag_add(ld->d, "%s: %s: %s", ld->file, field, msg);
    ld->n++;
}

static void join(char *out, size_t len, const char *prefix, const char *name)
{
    if (prefix && prefix[0])
        snprintf(out, len, "%s.%s", prefix, name);
    else
        snprintf(out, len, "%s", name);
}

/* Describes a wrong value for "expected X, got <this>". */
static const char *got(lua_State *L, int idx, char *buf, size_t len)
{
    if (lua_type(L, idx) == LUA_TNUMBER && !lua_isinteger(L, idx))
        snprintf(buf, len, "%.14g", lua_tonumber(L, idx));
    else
        snprintf(buf, len, "%s", luaL_typename(L, idx));
    return buf;
}

/* --- unknown fields ----------------------------------------------------------------- */

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return 64;
    size_t prev[64], cur[64];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, (lb + 1) * sizeof *prev);
    }
    return prev[lb];
}

static void check_fields(loader *ld, int t, const char *prefix, const char *const *known)
{
    lua_State *L = ld->L;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        char field[160];
        if (lua_type(L, -1) != LUA_TSTRING) {
            char g[32];
            problem(ld, prefix && prefix[0] ? prefix : "pipeline",
                    "unexpected entry with a %s key; use named fields (name = value)",
                    got(L, -1, g, sizeof g));
            continue;
        }
        const char *k = lua_tostring(L, -1);
        const char *best = NULL;
        size_t best_d = 99;
        const char *const *f = known;
        for (; *f; f++) {
            if (strcmp(*f, k) == 0)
                break;
            /* a prefix match ("max_risk" for "max_risk_pct") is a strong hint too */
            size_t d = strncmp(*f, k, strlen(k)) == 0 ? 1 : edit_distance(*f, k);
            if (d < best_d) {
                best_d = d;
                best = *f;
            }
        }
        if (*f)
            continue;
        join(field, sizeof field, prefix, k);
        if (best && best_d <= 3)
            problem(ld, field, "unknown field; did you mean %s?", best);
        else {
            char list[512] = "";
            for (f = known; *f; f++) {
                strncat(list, f == known ? "" : ", ", sizeof list - strlen(list) - 1);
                strncat(list, *f, sizeof list - strlen(list) - 1);
            }
            problem(ld, field, "unknown field; known fields here: %s", list);
        }
    }
}

/* --- typed getters: each returns 1 when set, 0 when absent, -1 on a problem ----------- */

static int get_number(loader *ld, int t, const char *prefix, const char *name, double *out)
{
    lua_State *L = ld->L;
    int type = lua_getfield(L, t, name);
    int rc = 0;
    if (type == LUA_TNUMBER && isfinite(lua_tonumber(L, -1))) {
        *out = lua_tonumber(L, -1);
        rc = 1;
    } else if (type != LUA_TNIL) {
        char field[160], g[32];
        join(field, sizeof field, prefix, name);
        problem(ld, field, "expected a number, got %s", got(L, -1, g, sizeof g));
        rc = -1;
    }
    lua_pop(L, 1);
    return rc;
}

static int get_money(loader *ld, int t, const char *prefix, const char *name, money_t *out)
{
    double v;
    int rc = get_number(ld, t, prefix, name, &v);
    if (rc != 1)
        return rc;
    char field[160], why[160];
    join(field, sizeof field, prefix, name);
    if (money_from_double(v, out, field, why, sizeof why) < 0) {
        problem(ld, field, "%.14g is out of range", v);
        return -1;
    }
    return 1;
}

static int get_int(loader *ld, int t, const char *prefix, const char *name, int *out)
{
    lua_State *L = ld->L;
    int type = lua_getfield(L, t, name);
    int rc = 0;
    if (type != LUA_TNIL) {
        lua_Number v = lua_tonumber(L, -1);
        if (type == LUA_TNUMBER && v == floor(v) && fabs(v) <= INT_MAX) {
            *out = (int)v;
            rc = 1;
        } else {
            char field[160], g[32];
            join(field, sizeof field, prefix, name);
            problem(ld, field, "expected a whole number, got %s", got(L, -1, g, sizeof g));
            rc = -1;
        }
    }
    lua_pop(L, 1);
    return rc;
}

static int get_bool(loader *ld, int t, const char *prefix, const char *name, bool *out)
{
    lua_State *L = ld->L;
    int type = lua_getfield(L, t, name);
    int rc = 0;
    if (type == LUA_TBOOLEAN) {
        *out = lua_toboolean(L, -1);
        rc = 1;
    } else if (type != LUA_TNIL) {
        char field[160], g[32];
        join(field, sizeof field, prefix, name);
        problem(ld, field, "expected true or false, got %s", got(L, -1, g, sizeof g));
        rc = -1;
    }
    lua_pop(L, 1);
    return rc;
}

static int get_string(loader *ld, int t, const char *prefix, const char *name, char *buf,
                      size_t len)
{
    lua_State *L = ld->L;
    int type = lua_getfield(L, t, name);
    int rc = 0;
    char field[160];
    join(field, sizeof field, prefix, name);
    if (type == LUA_TSTRING) {
        size_t n;
        const char *s = lua_tolstring(L, -1, &n);
        if (n >= len) {
            problem(ld, field, "is %zu characters long; the limit is %zu", n, len - 1);
            rc = -1;
        } else {
            memcpy(buf, s, n + 1);
            rc = 1;
        }
    } else if (type != LUA_TNIL) {
        char g[32];
        problem(ld, field, "expected a string, got %s", got(L, -1, g, sizeof g));
        rc = -1;
    }
    lua_pop(L, 1);
    return rc;
}

static int get_enum(loader *ld, int t, const char *prefix, const char *name,
                    const char *const *options, int *out)
{
    char s[64];
    int rc = get_string(ld, t, prefix, name, s, sizeof s);
    if (rc != 1)
        return rc;
    for (int i = 0; options[i]; i++)
        if (strcmp(options[i], s) == 0) {
            *out = i;
            return 1;
        }
    char field[160], list[256] = "";
    join(field, sizeof field, prefix, name);
    for (int i = 0; options[i]; i++) {
        strncat(list, i ? ", \"" : "\"", sizeof list - strlen(list) - 1);
        strncat(list, options[i], sizeof list - strlen(list) - 1);
        strncat(list, "\"", sizeof list - strlen(list) - 1);
    }
    problem(ld, field, "\"%s\" is not one of %s", s, list);
    return -1;
}

/* Pushes t[name] when it is a table and returns its index; 0 (nothing pushed) when
 * absent or wrong (with a problem). */
static int get_table(loader *ld, int t, const char *prefix, const char *name)
{
    lua_State *L = ld->L;
    int type = lua_getfield(L, t, name);
    if (type == LUA_TTABLE)
        return lua_gettop(L);
    if (type != LUA_TNIL) {
        char field[160], g[32];
        join(field, sizeof field, prefix, name);
        problem(ld, field, "expected a table { ... }, got %s", got(L, -1, g, sizeof g));
    }
    lua_pop(L, 1);
    return 0;
}

/* Resolves p against the pipeline file's directory. */
static int resolve(loader *ld, const char *field, const char *p, char *out, size_t len)
{
    int n;
    if (p[0] == '/' || strcmp(ld->cfg->dir, ".") == 0)
        n = snprintf(out, len, "%s", p);
    else
        n = snprintf(out, len, "%s/%s", ld->cfg->dir, p);
    if (n < 0 || (size_t)n >= len) {
        problem(ld, field, "the path is too long");
        return -1;
    }
    return 0;
}

static void check_exists(loader *ld, const char *field, const char *path)
{
    if (access(path, R_OK) != 0)
        problem(ld, field,
                "%s does not exist or cannot be read; paths are relative to the "
                "pipeline file's directory",
                path);
}

static int get_path(loader *ld, int t, const char *prefix, const char *name, char *out, size_t len,
                    bool must_exist)
{
    char raw[CONFIG_PATH_MAX];
    int rc = get_string(ld, t, prefix, name, raw, sizeof raw);
    if (rc != 1)
        return rc;
    char field[160];
    join(field, sizeof field, prefix, name);
    if (raw[0] == '\0' || strcmp(raw, ":memory:") == 0) {
        snprintf(out, len, "%s", raw);
        return 1;
    }
    if (resolve(ld, field, raw, out, len) < 0)
        return -1;
    if (must_exist)
        check_exists(ld, field, out);
    return 1;
}

/* Lists: a sequence 1..n and nothing else. Returns n, or -1 with a problem. */
static int list_length(loader *ld, int t, const char *field)
{
    lua_State *L = ld->L;
    lua_Integer n = (lua_Integer)lua_rawlen(L, t), count = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        count++;
        if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1 || lua_tointeger(L, -1) > n) {
            lua_pop(L, 1);
            problem(ld, field, "expected a list { a, b, ... } without named fields");
            return -1;
        }
    }
    return count == n ? (int)n : -1;
}

/* Fills a string list (data.files, webhooks) from a string or a list of strings. */
static void get_string_list(loader *ld, int t, const char *prefix, const char *name, char ***out,
                            int *nout, bool paths)
{
    lua_State *L = ld->L;
    char field[160];
    join(field, sizeof field, prefix, name);
    int top = lua_gettop(L);
    int type = lua_getfield(L, t, name);
    if (type == LUA_TNIL)
        return;
    int n = 1;
    if (type == LUA_TTABLE)
        n = list_length(ld, top + 1, field);
    else if (type != LUA_TSTRING) {
        char g[32];
        problem(ld, field, "expected a string or a list of strings, got %s",
                got(L, -1, g, sizeof g));
        n = -1;
    }
    if (n <= 0) {
        lua_settop(L, top);
        return;
    }
    char **v = calloc((size_t)n, sizeof *v);
    if (!v) {
        problem(ld, field, "out of memory");
        lua_settop(L, top);
        return;
    }
    *out = v;
    for (int i = 0; i < n; i++) {
        if (type == LUA_TTABLE)
            lua_rawgeti(L, top + 1, i + 1);
        else
            lua_pushvalue(L, top + 1);
        char item[200];
        snprintf(item, sizeof item, "%s[%d]", field, i + 1);
        if (lua_type(L, -1) != LUA_TSTRING) {
            char g[32];
            problem(ld, item, "expected a string, got %s", got(L, -1, g, sizeof g));
        } else {
            char resolved[CONFIG_PATH_MAX];
            const char *s = lua_tostring(L, -1);
            if (paths) {
                if (resolve(ld, item, s, resolved, sizeof resolved) == 0)
                    check_exists(ld, item, resolved);
                s = resolved;
            }
            v[*nout] = strdup(s);
            if (v[*nout])
                (*nout)++;
        }
        lua_pop(L, 1);
    }
    lua_settop(L, top);
}

/* --- params tables to JSON ------------------------------------------------------------ */

static json_t *to_json(loader *ld, int idx, const char *field, int depth)
{
    lua_State *L = ld->L;
    idx = lua_absindex(L, idx);
    switch (lua_type(L, idx)) {
    case LUA_TBOOLEAN:
        return json_boolean(lua_toboolean(L, idx));
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        return json_stringn(s, n);
    }
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx))
            return json_integer((json_int_t)lua_tointeger(L, idx));
        if (!isfinite(lua_tonumber(L, idx))) {
            problem(ld, field, "is not a finite number");
            return NULL;
        }
        return json_real(lua_tonumber(L, idx));
    case LUA_TTABLE:
        break;
    default:
        problem(ld, field, "a %s cannot be a parameter", luaL_typename(L, idx));
        return NULL;
    }
    if (depth > 32) {
        problem(ld, field, "nested too deeply (or refers to itself)");
        return NULL;
    }
    /* Each level holds a key and a value while the next one runs (apex-host check
     * aborted on params nested 8 deep under a Lua built with LUA_USE_APICHECK). */
    luaL_checkstack(L, 3, "params nested too deeply");
    /* A non-empty sequence 1..n becomes an array, anything else an object. */
    lua_Integer n = (lua_Integer)lua_rawlen(L, idx), count = 0;
    bool seq = n > 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        count++;
        if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1 || lua_tointeger(L, -1) > n)
            seq = false;
    }
    seq = seq && count == n;
    json_t *out = seq ? json_array() : json_object();
    if (!out)
        return NULL;
    if (seq) {
        for (lua_Integer i = 1; i <= n; i++) {
            char sub[200];
            snprintf(sub, sizeof sub, "%s[%lld]", field, (long long)i);
            lua_rawgeti(L, idx, i);
            json_t *v = to_json(ld, -1, sub, depth + 1);
            json_array_append_new(out, v ? v : json_null());
            lua_pop(L, 1);
        }
        return out;
    }
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        char key[128], sub[200];
        if (lua_type(L, -2) == LUA_TSTRING)
            snprintf(key, sizeof key, "%s", lua_tostring(L, -2));
        else if (lua_isinteger(L, -2))
            snprintf(key, sizeof key, "%lld", (long long)lua_tointeger(L, -2));
        else {
            problem(ld, field, "keys must be strings or whole numbers");
            lua_pop(L, 1);
            continue;
        }
        snprintf(sub, sizeof sub, "%s.%s", field, key);
        json_t *v = to_json(ld, -1, sub, depth + 1);
        if (v)
            json_object_set_new(out, key, v);
        lua_pop(L, 1);
    }
    return out;
}

/* bias = "file.lua" | { file = "file.lua", params = { ... } } */
static void get_script_ref(loader *ld, int t, const char *name, script_ref *ref)
{
    lua_State *L = ld->L;
    int top = lua_gettop(L);
    int type = lua_getfield(L, t, name);
    if (type == LUA_TSTRING) {
        char field[64];
        snprintf(field, sizeof field, "%s", name);
        if (resolve(ld, field, lua_tostring(L, -1), ref->file, sizeof ref->file) == 0)
            check_exists(ld, field, ref->file);
    } else if (type == LUA_TTABLE) {
        int s = lua_gettop(L);
        static const char *const known[] = {"file", "params", NULL};
        check_fields(ld, s, name, known);
        if (get_path(ld, s, name, "file", ref->file, sizeof ref->file, true) == 0) {
            char field[64];
            snprintf(field, sizeof field, "%s.file", name);
            problem(ld, field, "missing; name the script, e.g. file = \"my_%s.lua\"", name);
        }
        if (lua_getfield(L, s, "params") == LUA_TTABLE) {
            char field[64];
            snprintf(field, sizeof field, "%s.params", name);
            json_t *j = to_json(ld, -1, field, 0);
            if (j) {
                free(ref->params_json);
                ref->params_json = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
                json_decref(j);
            }
        } else if (!lua_isnil(L, -1)) {
            char field[64], g[32];
            snprintf(field, sizeof field, "%s.params", name);
            problem(ld, field, "expected a table of parameters, got %s", got(L, -1, g, sizeof g));
        }
    } else if (type != LUA_TNIL) {
        char g[32];
        problem(ld, name, "expected a file name or { file = ..., params = {...} }, got %s",
                got(L, -1, g, sizeof g));
    }
    lua_settop(L, top);
}

/* --- sections ------------------------------------------------------------------------ */

static void load_symbols(loader *ld, int t)
{
    lua_State *L = ld->L;
    int top = lua_gettop(L);
    int type = lua_getfield(L, t, "symbols");
    if (type == LUA_TNIL)
        return (void)lua_settop(L, top);
    if (type != LUA_TTABLE) {
        char g[32];
        problem(ld, "symbols", "expected a list of symbols { \"AAPL\", ... }, got %s",
                got(L, -1, g, sizeof g));
        return (void)lua_settop(L, top);
    }
    int n = list_length(ld, top + 1, "symbols");
    if (n > 0) {
        ld->cfg->symbols = calloc((size_t)n, sizeof *ld->cfg->symbols);
        for (int i = 0; ld->cfg->symbols && i < n; i++) {
            lua_rawgeti(L, top + 1, i + 1);
            char field[32];
            snprintf(field, sizeof field, "symbols[%d]", i + 1);
            size_t len = 0;
            const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &len) : NULL;
            if (!s || len == 0 || len >= SYMBOL_MAX) {
                char g[32];
                problem(ld, field, "expected a symbol of 1 to %d characters, got %s",
                        SYMBOL_MAX - 1, s ? "a longer string" : got(L, -1, g, sizeof g));
            } else {
                bool dup = false;
                for (int j = 0; j < ld->cfg->nsymbols; j++)
                    dup = dup || strcmp(ld->cfg->symbols[j], s) == 0;
                if (dup)
                    problem(ld, field, "%s is listed twice; remove one", s);
                else
                    memcpy(ld->cfg->symbols[ld->cfg->nsymbols++], s, len + 1);
            }
            lua_pop(L, 1);
        }
    }
    lua_settop(L, top);
}

static void load_data(loader *ld, int t)
{
    static const char *const known[] = {"files", "news", "speed", "follow", NULL};
    int s = get_table(ld, t, NULL, "data");
    if (!s)
        return;
    data_config *d = &ld->cfg->data;
    check_fields(ld, s, "data", known);
    get_string_list(ld, s, "data", "files", &d->files, &d->nfiles, true);
    get_path(ld, s, "data", "news", d->news_file, sizeof d->news_file, true);
    get_number(ld, s, "data", "speed", &d->speed);
    get_bool(ld, s, "data", "follow", &d->follow);
    lua_pop(ld->L, 1);
}

static void load_broker(loader *ld, int t)
{
    static const char *const known[] = {
        "kind",    "starting_cash", "spread_bps", "slippage_bps", "fee_per_share", "fee_bps",
        "fee_min", "state",         "base_url",   "key_env",      "secret_env",    NULL};
    static const char *const kinds[] = {"paper", "alpaca", NULL};
    int s = get_table(ld, t, NULL, "broker");
    if (!s)
        return;
    broker_config *b = &ld->cfg->broker;
    check_fields(ld, s, "broker", known);
    int kind;
    if (get_enum(ld, s, "broker", "kind", kinds, &kind) == 1)
        b->kind = (broker_kind)kind;
    get_money(ld, s, "broker", "starting_cash", &b->paper.starting_cash);
    get_money(ld, s, "broker", "spread_bps", &b->paper.spread_bps);
    get_money(ld, s, "broker", "slippage_bps", &b->paper.slippage_bps);
    get_money(ld, s, "broker", "fee_per_share", &b->paper.fee_per_share);
    get_money(ld, s, "broker", "fee_bps", &b->paper.fee_bps);
    get_money(ld, s, "broker", "fee_min", &b->paper.fee_min);
    get_path(ld, s, "broker", "state", b->paper.state_path, sizeof b->paper.state_path, false);
    get_string(ld, s, "broker", "base_url", b->base_url, sizeof b->base_url);
    get_string(ld, s, "broker", "key_env", b->key_env, sizeof b->key_env);
    get_string(ld, s, "broker", "secret_env", b->secret_env, sizeof b->secret_env);
    lua_pop(ld->L, 1);
}

static void load_risk(loader *ld, int t)
{
    static const char *const known[] = {"capital",       "max_risk_pct",         "max_position_pct",
                                        "max_positions", "daily_loss_limit_pct", "allow_short",
                                        "pdt_check",     "pdt_day_trade_limit",  NULL};
    int s = get_table(ld, t, NULL, "risk");
    if (!s)
        return;
    risk_config *r = &ld->cfg->risk;
    check_fields(ld, s, "risk", known);
    get_money(ld, s, "risk", "capital", &r->capital);
    get_money(ld, s, "risk", "max_risk_pct", &r->max_risk_pct);
    get_money(ld, s, "risk", "max_position_pct", &r->max_position_pct);
    get_int(ld, s, "risk", "max_positions", &r->max_positions);
    get_money(ld, s, "risk", "daily_loss_limit_pct", &r->daily_loss_limit_pct);
    get_bool(ld, s, "risk", "allow_short", &r->allow_short);
    get_bool(ld, s, "risk", "pdt_check", &r->pdt_check);
    get_int(ld, s, "risk", "pdt_day_trade_limit", &r->pdt_day_trade_limit);
    lua_pop(ld->L, 1);
}

static void load_stages(loader *ld, int t, exits_config *e)
{
    lua_State *L = ld->L;
    const char *field = "exits.partial_exits.stages";
    int s = get_table(ld, t, "exits.partial_exits", "stages");
    if (!s)
        return;
    int n = list_length(ld, s, field);
    if (n > CONFIG_MAX_PARTIAL_STAGES) {
        problem(ld, field, "%d stages; at most %d are supported", n, CONFIG_MAX_PARTIAL_STAGES);
        n = CONFIG_MAX_PARTIAL_STAGES;
    }
    if (n >= 0)
        e->nstages = 0;
    static const char *const known[] = {"name", "profit_threshold", "exit_percentage", NULL};
    for (int i = 0; i < n; i++) {
        char prefix[64];
        snprintf(prefix, sizeof prefix, "%s[%d]", field, i + 1);
        if (lua_rawgeti(L, s, i + 1) != LUA_TTABLE) {
            problem(ld, prefix,
                    "expected { name = ..., profit_threshold = ..., "
                    "exit_percentage = ... }");
            lua_pop(L, 1);
            continue;
        }
        int st = lua_gettop(L);
        partial_stage *p = &e->stages[e->nstages++];
        memset(p, 0, sizeof *p);
        snprintf(p->name, sizeof p->name, "stage_%d", i + 1);
        check_fields(ld, st, prefix, known);
        get_string(ld, st, prefix, "name", p->name, sizeof p->name);
        if (get_money(ld, st, prefix, "profit_threshold", &p->profit_threshold) == 0)
            problem(ld, prefix, "profit_threshold is missing; e.g. profit_threshold = 0.15");
        double pct;
        int rc = get_number(ld, st, prefix, "exit_percentage", &pct);
        if (rc == 0)
            problem(ld, prefix, "exit_percentage is missing; e.g. exit_percentage = 50");
        else if (rc == 1) {
            char f2[96];
            snprintf(f2, sizeof f2, "%s.exit_percentage", prefix);
            if (pct <= 0 || pct > 100) {
                problem(ld, f2, "%.14g is out of range; use a whole percent from 1 to 100", pct);
                p->exit_fraction = MONEY_SCALE / 100; /* so config_validate does not report
                                                         the same stage a second time */
            } else
                money_from_double(pct / 100.0, &p->exit_fraction, f2, NULL, 0);
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

static void load_execution_priorities(loader *ld, int t, exits_config *e)
{
    static const char *const known[] = {"CRITICAL", "HIGH", "MEDIUM", "LOW", NULL};
    static const char *const fields[] = {"timeout_seconds", "max_walks", "price",
                                         "market_after_walks", NULL};
    static const char *const prices[] = {"market", "aggressive", "fair", "conservative", NULL};
    int s = get_table(ld, t, "exits", "execution");
    if (!s)
        return;
    check_fields(ld, s, "exits.execution", known);
    for (int p = 0; p < EXIT_PRIORITY_COUNT; p++) {
        char prefix[64];
        snprintf(prefix, sizeof prefix, "exits.execution.%s", exit_priority_name(p));
        int ps = get_table(ld, s, "exits.execution", exit_priority_name(p));
        if (!ps)
            continue;
        exit_execution_config *x = &e->execution[p];
        check_fields(ld, ps, prefix, fields);
        get_int(ld, ps, prefix, "timeout_seconds", &x->timeout_seconds);
        get_int(ld, ps, prefix, "max_walks", &x->max_walks);
        int price;
        if (get_enum(ld, ps, prefix, "price", prices, &price) == 1)
            x->price = (price_strategy)price;
        get_bool(ld, ps, prefix, "market_after_walks", &x->market_after_walks);
        lua_pop(ld->L, 1);
    }
    lua_pop(ld->L, 1);
}

static void load_exits(loader *ld, int t)
{
    static const char *const known[] = {"stop_loss_pct",
                                        "take_profit_pct",
                                        "trailing_stop",
                                        "partial_exits",
                                        "liquidity",
                                        "early_exit_edge",
                                        "time_urgent_minutes",
                                        "session_close",
                                        "rebalance_min_improvement",
                                        "execution",
                                        NULL};
    int s = get_table(ld, t, NULL, "exits");
    if (!s)
        return;
    exits_config *e = &ld->cfg->exits;
    check_fields(ld, s, "exits", known);
    get_money(ld, s, "exits", "stop_loss_pct", &e->stop_loss_pct);
    get_money(ld, s, "exits", "take_profit_pct", &e->take_profit_pct);
    int ts = get_table(ld, s, "exits", "trailing_stop");
    if (ts) {
        static const char *const k[] = {"enabled", "activation_pct", "distance_pct", NULL};
        check_fields(ld, ts, "exits.trailing_stop", k);
        get_bool(ld, ts, "exits.trailing_stop", "enabled", &e->trailing_enabled);
        get_money(ld, ts, "exits.trailing_stop", "activation_pct", &e->trailing_activation_pct);
        get_money(ld, ts, "exits.trailing_stop", "distance_pct", &e->trailing_distance_pct);
        lua_pop(ld->L, 1);
    }
    int pe = get_table(ld, s, "exits", "partial_exits");
    if (pe) {
        static const char *const k[] = {"enabled", "stages", NULL};
        check_fields(ld, pe, "exits.partial_exits", k);
        get_bool(ld, pe, "exits.partial_exits", "enabled", &e->partial_enabled);
        load_stages(ld, pe, e);
        lua_pop(ld->L, 1);
    }
    int lq = get_table(ld, s, "exits", "liquidity");
    if (lq) {
        static const char *const k[] = {"max_spread", "min_volume", NULL};
        check_fields(ld, lq, "exits.liquidity", k);
        get_money(ld, lq, "exits.liquidity", "max_spread", &e->liquidity_max_spread);
        get_money(ld, lq, "exits.liquidity", "min_volume", &e->liquidity_min_volume);
        lua_pop(ld->L, 1);
    }
    get_money(ld, s, "exits", "early_exit_edge", &e->early_exit_edge);
    get_int(ld, s, "exits", "time_urgent_minutes", &e->time_urgent_minutes);
    char hhmm[16];
    if (get_string(ld, s, "exits", "session_close", hhmm, sizeof hhmm) == 1) {
        int hh, mm;
        char extra;
        if (sscanf(hhmm, "%2d:%2d%c", &hh, &mm, &extra) == 2 && hh >= 0 && hh < 24 && mm >= 0 &&
            mm < 60)
            e->session_close_minute_utc = hh * 60 + mm;
        else
            problem(ld, "exits.session_close",
                    "\"%s\" is not a time; use \"HH:MM\" in UTC, "
                    "e.g. \"21:00\"",
                    hhmm);
    }
    get_money(ld, s, "exits", "rebalance_min_improvement", &e->rebalance_min_improvement);
    load_execution_priorities(ld, s, e);
    lua_pop(ld->L, 1);
}

static void load_monitoring(loader *ld, int t)
{
    static const char *const known[] = {"normal_frequency",         "urgent_frequency",
                                        "urgent_conditions",        "price_cache_ttl_seconds",
                                        "max_api_calls_per_minute", "retry_backoff",
                                        "persist_interval",         NULL};
    lua_State *L = ld->L;
    int s = get_table(ld, t, NULL, "monitoring");
    if (!s)
        return;
    monitoring_config *m = &ld->cfg->monitoring;
    check_fields(ld, s, "monitoring", known);
    get_int(ld, s, "monitoring", "normal_frequency", &m->normal_frequency_s);
    get_int(ld, s, "monitoring", "urgent_frequency", &m->urgent_frequency_s);
    int uc = get_table(ld, s, "monitoring", "urgent_conditions");
    if (uc) {
        static const char *const k[] = {"near_stop_loss_pct", "near_profit_target_pct",
                                        "near_trailing_stop_pct", NULL};
        const char *p = "monitoring.urgent_conditions";
        check_fields(ld, uc, p, k);
        get_money(ld, uc, p, "near_stop_loss_pct", &m->near_stop_loss_pct);
        get_money(ld, uc, p, "near_profit_target_pct", &m->near_profit_target_pct);
        get_money(ld, uc, p, "near_trailing_stop_pct", &m->near_trailing_stop_pct);
        lua_pop(L, 1);
    }
    get_int(ld, s, "monitoring", "price_cache_ttl_seconds", &m->price_cache_ttl_s);
    get_int(ld, s, "monitoring", "max_api_calls_per_minute", &m->max_api_calls_per_minute);
    get_int(ld, s, "monitoring", "persist_interval", &m->persist_interval_s);
    int rb = get_table(ld, s, "monitoring", "retry_backoff");
    if (rb) {
        const char *field = "monitoring.retry_backoff";
        int n = list_length(ld, rb, field);
        if (n > CONFIG_MAX_BACKOFF_STEPS) {
            problem(ld, field, "%d steps; at most %d are supported", n, CONFIG_MAX_BACKOFF_STEPS);
            n = CONFIG_MAX_BACKOFF_STEPS;
        }
        if (n >= 0)
            m->nretry_backoff = 0;
        for (int i = 0; i < n; i++) {
            lua_rawgeti(L, rb, i + 1);
            lua_Number v = lua_tonumber(L, -1);
            if (lua_type(L, -1) == LUA_TNUMBER && v == floor(v) && fabs(v) <= INT_MAX)
                m->retry_backoff_s[m->nretry_backoff++] = (int)v;
            else {
                char f2[64], g[32];
                snprintf(f2, sizeof f2, "%s[%d]", field, i + 1);
                problem(ld, f2, "expected a whole number of seconds, got %s",
                        got(L, -1, g, sizeof g));
            }
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

static void load_instructions(loader *ld, int t)
{
    lua_State *L = ld->L;
    int s = get_table(ld, t, NULL, "instructions");
    if (!s)
        return;
    int n = list_length(ld, s, "instructions");
    pipeline_config *cfg = ld->cfg;
    if (n > 0)
        cfg->instructions = calloc((size_t)n, sizeof *cfg->instructions);
    for (int i = 0; cfg->instructions && i < n; i++) {
        char field[48];
        snprintf(field, sizeof field, "instructions[%d]", i + 1);
        int type = lua_rawgeti(L, s, i + 1);
        instruction *ins = &cfg->instructions[cfg->ninstructions];
        if (type == LUA_TSTRING) {
            ins->kind = INSTRUCTION_TEXT;
            ins->value = strdup(lua_tostring(L, -1));
        } else if (type == LUA_TTABLE) {
            static const char *const k[] = {"file", NULL};
            char path[CONFIG_PATH_MAX];
            check_fields(ld, lua_gettop(L), field, k);
            int rc = get_path(ld, lua_gettop(L), field, "file", path, sizeof path, true);
            if (rc == 0)
                problem(ld, field, "expected { file = \"rule.lua\" }");
            if (rc == 1) {
                ins->kind = INSTRUCTION_FILE;
                ins->value = strdup(path);
            }
        } else {
            char g[32];
            problem(ld, field,
                    "expected a sentence such as \"close if VIX > 40\" or "
                    "{ file = \"rule.lua\" }, got %s",
                    got(L, -1, g, sizeof g));
        }
        if (ins->value)
            cfg->ninstructions++;
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

static void load_notifications(loader *ld, int t)
{
    static const char *const known[] = {"telegram", "webhooks", NULL};
    int s = get_table(ld, t, NULL, "notifications");
    if (!s)
        return;
    notify_config *n = &ld->cfg->notifications;
    check_fields(ld, s, "notifications", known);
    int tg = get_table(ld, s, "notifications", "telegram");
    if (tg) {
        static const char *const k[] = {"token_env", "chat_id", NULL};
        const char *p = "notifications.telegram";
        check_fields(ld, tg, p, k);
        get_string(ld, tg, p, "token_env", n->telegram_token_env, sizeof n->telegram_token_env);
        lua_State *L = ld->L;
        if (lua_getfield(L, tg, "chat_id") == LUA_TNUMBER && lua_isinteger(L, -1))
            snprintf(n->telegram_chat_id, sizeof n->telegram_chat_id, "%lld",
                     (long long)lua_tointeger(L, -1));
        else
            get_string(ld, tg, p, "chat_id", n->telegram_chat_id, sizeof n->telegram_chat_id);
        lua_pop(L, 2);
    }
    get_string_list(ld, s, "notifications", "webhooks", &n->webhooks, &n->nwebhooks, false);
    lua_pop(ld->L, 1);
}

static void load_execution(loader *ld, int t)
{
    static const char *const known[] = {"tool", "entry", "webhook_url", NULL};
    static const char *const tools[] = {"broker", "webhook", NULL};
    static const char *const entries[] = {"market", "limit", NULL};
    int s = get_table(ld, t, NULL, "execution");
    if (!s)
        return;
    execution_config *x = &ld->cfg->execution;
    check_fields(ld, s, "execution", known);
    int v;
    if (get_enum(ld, s, "execution", "tool", tools, &v) == 1)
        x->tool = (exec_tool)v;
    if (get_enum(ld, s, "execution", "entry", entries, &v) == 1)
        x->entry = (entry_order_type)v;
    get_string(ld, s, "execution", "webhook_url", x->webhook_url, sizeof x->webhook_url);
    lua_pop(ld->L, 1);
}

/* instruments = { default = { tick, lot }, ["BTC/USD"] = { tick, lot } }; [0] is always
 * the default, as config_instrument expects. */
static void load_instruments(loader *ld, int t)
{
    lua_State *L = ld->L;
    int s = get_table(ld, t, NULL, "instruments");
    if (!s)
        return;
    pipeline_config *cfg = ld->cfg;
    int count = 1;
    lua_pushnil(L);
    while (lua_next(L, s)) {
        lua_pop(L, 1);
        count++;
    }
    cfg->instruments = calloc((size_t)count, sizeof *cfg->instruments);
    if (!cfg->instruments)
        return (void)lua_pop(L, 1);
    cfg->instruments[0].rules = MONEY_INSTRUMENT_DEFAULT;
    cfg->ninstruments = 1;
    static const char *const k[] = {"tick", "lot", NULL};
    lua_pushnil(L);
    while (lua_next(L, s)) {
        int v = lua_gettop(L);
        const char *sym = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
        char prefix[64];
        snprintf(prefix, sizeof prefix, "instruments.%s", sym ? sym : "?");
        if (!sym || strlen(sym) >= SYMBOL_MAX || !lua_istable(L, v)) {
            problem(ld, prefix, "expected SYMBOL = { tick = 0.01, lot = 1 } (or default = ...)");
        } else {
            instrument_config *ic = strcmp(sym, "default") == 0
                                        ? &cfg->instruments[0]
                                        : &cfg->instruments[cfg->ninstruments++];
            if (ic != &cfg->instruments[0]) {
                ic->rules = (money_instrument){0, 0}; /* 0 = inherit, filled in below */
                snprintf(ic->symbol, sizeof ic->symbol, "%s", sym);
            }
            check_fields(ld, v, prefix, k);
            get_money(ld, v, prefix, "tick", &ic->rules.tick);
            get_money(ld, v, prefix, "lot", &ic->rules.lot);
        }
        lua_settop(L, v - 1);
    }
    /* A symbol without its own tick or lot inherits the default's (whatever order the
     * table was walked in). */
    for (int i = 1; i < cfg->ninstruments; i++) {
        if (cfg->instruments[i].rules.tick == 0)
            cfg->instruments[i].rules.tick = cfg->instruments[0].rules.tick;
        if (cfg->instruments[i].rules.lot == 0)
            cfg->instruments[i].rules.lot = cfg->instruments[0].rules.lot;
    }
    lua_pop(L, 1);
}

static void load_name(loader *ld, int t)
{
    char name[CONFIG_NAME_MAX];
    if (get_string(ld, t, NULL, "name", name, sizeof name) != 1) {
        lua_getfield(ld->L, t, "name");
        if (lua_isnil(ld->L, -1))
            problem(ld, "name", "missing; give the pipeline a name, e.g. name = \"ma-trend\"");
        lua_pop(ld->L, 1);
        return;
    }
    size_t bad = strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-");
    if (name[0] == '\0' || name[bad] != '\0')
        problem(ld, "name", "\"%s\" may use only letters, digits, '_', '.' and '-'", name);
    else
        memcpy(ld->cfg->name, name, sizeof name);
}

static int walk(lua_State *L)
{
    loader *ld = lua_touserdata(L, 1);
    sandbox_push_env(L);
    int env = lua_gettop(L);
    sandbox_load_file(L, ld->cfg->path, env);
    lua_call(L, 0, 1);
    int t = lua_gettop(L);
    if (!lua_istable(L, t))
        return luaL_error(L,
                          "%s: the file must return the pipeline table: "
                          "return apex.pipeline { name = ..., ... } (it returned %s)",
                          ld->file, luaL_typename(L, t));
    static const char *const known[] = {
        "name",  "symbols",    "data",         "broker",        "bias",      "strategy",    "risk",
        "exits", "monitoring", "instructions", "notifications", "execution", "instruments", NULL};
    check_fields(ld, t, NULL, known);
    load_name(ld, t);
    load_symbols(ld, t);
    load_data(ld, t);
    load_broker(ld, t);
    get_script_ref(ld, t, "bias", &ld->cfg->bias);
    get_script_ref(ld, t, "strategy", &ld->cfg->strategy);
    load_risk(ld, t);
    load_exits(ld, t);
    load_monitoring(ld, t);
    load_instructions(ld, t);
    load_notifications(ld, t);
    load_execution(ld, t);
    load_instruments(ld, t);
    return 0;
}

int script_load_pipeline(const char *path, pipeline_config *cfg, diag_list *diags)
{
    loader ld = {NULL, path, diags, 0, cfg};
    if (strlen(path) >= sizeof cfg->path) {
        diag_add(diags, "%s: the path is too long", path);
        return 1;
    }
    snprintf(cfg->path, sizeof cfg->path, "%s", path);
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(cfg->dir, sizeof cfg->dir, ".");
    else if (slash == path)
        snprintf(cfg->dir, sizeof cfg->dir, "/");
    else
        snprintf(cfg->dir, sizeof cfg->dir, "%.*s", (int)(slash - path), path);

    /* A pipeline file only builds a table: a tight budget keeps `check` snappy. */
    script_limits lim = {.memory_limit = 32u << 20, .deadline_ms = 2000};
    sandbox sb;
    char err[1024];
    if (sandbox_open(&sb, lim, "pipeline", NULL, err, sizeof err) < 0) {
        diag_add(diags, "%s: %s", path, err);
        return 1;
    }
    ld.L = sb.L;
    lua_pushcfunction(sb.L, walk);
    lua_pushlightuserdata(sb.L, &ld);
    bool evaluated = sandbox_pcall(&sb, 1, err, sizeof err) == 0;
    if (!evaluated) {
        /* syntax and runtime errors already read "file:line: ..." */
        diag_add(diags, "%s", err);
        ld.n++;
    }
    sandbox_close(&sb);
    /* Range and cross-field checks only make sense once the file itself evaluated. */
    if (evaluated)
        ld.n += config_validate(cfg, diags);
    return ld.n;
}
