/* pipeline_loader: pipeline.lua -> pipeline_config.
 *
 * The file is evaluated in a throwaway sandbox (it may compute values, share
 * tables, call apex.pipeline), then the returned table is walked against the field
 * table in config/schema.h: the table says which names a section may hold, what type
 * each value has and where it goes; this file only knows how to read each type from
 * Lua, plus the few irregular shapes (CONFIG_CUSTOM hooks). The walker never stops at
 * the first problem: a trader running `apex-host check` should see every mistake in
 * one pass, each naming the field ("pipeline.lua: risk.max_positions: expected a whole
 * number, got string") and, for unknown names, the closest known one.
 *
 * The file is untrusted input at the Lua boundary: every function that pushes in a
 * loop or recursion reserves its stack first (luaL_checkstack), params are converted
 * within a depth, value and text budget (a table shared many times over would
 * otherwise expand without bound), and a list with a hole is an error naming the
 * missing index rather than a silently shorter list.
 *
 * Stack effects are noted lauxlib-style: [-o, +p] pops o values and pushes p. */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <lauxlib.h>

#include "config/schema.h"
#include "script/sandbox.h"
#include "util/err.h"

/* Params budgets: far above any real strategy's settings, far below what would hurt. */
#define PARAMS_MAX_DEPTH  32
#define PARAMS_MAX_VALUES 100000
#define PARAMS_MAX_TEXT   (1u << 20) /* bytes of keys and strings */

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

/* Describes a wrong value for "expected X, got <this>". [-0, +0] */
static const char *got(lua_State *L, int idx, char *buf, size_t len)
{
    if (lua_type(L, idx) == LUA_TNUMBER && !lua_isinteger(L, idx))
        snprintf(buf, len, "%.14g", lua_tonumber(L, idx));
    else
        snprintf(buf, len, "%s", luaL_typename(L, idx));
    return buf;
}

static void wrong_type(loader *ld, const char *field, int v, const char *expected)
{
    char g[32];
    problem(ld, field, "expected %s, got %s", expected, got(ld->L, v, g, sizeof g));
}

/* --- lists and unknown fields --------------------------------------------------------- */

/* Reports the first missing index of the table at t, whose positive whole keys go up to
 * max but number only count. A hole is almost always a nil in a constructor,
 * { a, misspelt_variable, c }, which Lua turns into a table without [2]. [-0, +0] */
static void report_hole(loader *ld, int t, const char *field, lua_Integer max, lua_Integer count)
{
    lua_State *L = ld->L;
    luaL_checkstack(L, 1, field);
    lua_Integer first = 1;
    while (lua_rawgeti(ld->L, t, first) != LUA_TNIL) {
        lua_pop(L, 1);
        first++;
    }
    lua_pop(L, 1);
    char item[200];
    snprintf(item, sizeof item, "%s[%lld]", field, (long long)first);
    problem(ld, item,
            "is nil, a hole in the list (%lld of %lld entries are missing); every entry "
            "needs a value: is a variable misspelt?",
            (long long)(max - count), (long long)max);
}

/* Counts the keys of the table at t and finds the largest; *named is set when a key is
 * not a positive whole number. [-0, +0] */
static void scan_keys(lua_State *L, int t, lua_Integer *max, lua_Integer *count, bool *named)
{
    luaL_checkstack(L, 2, "reading a table");
    *max = *count = 0;
    *named = false;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        (*count)++;
        if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1)
            *named = true;
        else if (lua_tointeger(L, -1) > *max)
            *max = lua_tointeger(L, -1);
    }
}

/* The table at t as a list: keys 1..n and nothing else. Returns n, or -1 with a problem
 * when it has named fields or a hole. [-0, +0] */
static int list_length(loader *ld, int t, const char *field)
{
    lua_Integer max, count;
    bool named;
    scan_keys(ld->L, t, &max, &count, &named);
    if (named) {
        problem(ld, field, "expected a list { a, b, ... } without named fields");
        return -1;
    }
    if (count < max) {
        report_hole(ld, t, field, max, count);
        return -1;
    }
    return (int)max;
}

static const config_field *find_child(const config_field *rows, int n, const char *parent,
                                      const char *name)
{
    for (int i = 0; i < n; i++)
        if (config_field_is_child(&rows[i], parent) &&
            strcmp(config_field_name(&rows[i]), name) == 0)
            return &rows[i];
    return NULL;
}

/* Reports every key of the table at t that `parent` does not know. [-0, +0] */
static void check_fields(loader *ld, int t, const config_field *rows, int nrows, const char *parent,
                         const char *prefix)
{
    lua_State *L = ld->L;
    luaL_checkstack(L, 3, "checking field names");
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING) {
            char g[32];
            problem(ld, prefix && prefix[0] ? prefix : "pipeline",
                    "unexpected entry with a %s key; use named fields (name = value)",
                    got(L, -1, g, sizeof g));
            continue;
        }
        const char *k = lua_tostring(L, -1);
        if (find_child(rows, nrows, parent, k))
            continue;
        char field[160];
        join(field, sizeof field, prefix, k);
        const char *best = config_schema_suggest(rows, nrows, parent, k);
        if (best)
            problem(ld, field, "unknown field; did you mean %s?", best);
        else {
            char list[512];
            config_schema_list(rows, nrows, parent, list, sizeof list);
            problem(ld, field, "unknown field; known fields here: %s", list);
        }
    }
}

/* --- paths ------------------------------------------------------------------------------ */

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

/* --- one value of each type: the value is at index v; each returns 1 when it was
 *     stored, -1 after a problem. [-0, +0] ------------------------------------------------ */

/* Copies the string at v into buf (len bytes with the terminator). */
static int read_text(loader *ld, int v, const char *field, char *buf, size_t len)
{
    lua_State *L = ld->L;
    if (lua_type(L, v) != LUA_TSTRING) {
        wrong_type(ld, field, v, "a string");
        return -1;
    }
    size_t n;
    const char *s = lua_tolstring(L, v, &n);
    if (n >= len) {
        problem(ld, field, "is %zu characters long; the limit is %zu", n, len - 1);
        return -1;
    }
    memcpy(buf, s, n + 1);
    return 1;
}

static int read_path(loader *ld, const config_field *f, int v, const char *field, char *out,
                     size_t len)
{
    char raw[CONFIG_PATH_MAX];
    if (read_text(ld, v, field, raw, sizeof raw) < 0)
        return -1;
    /* "" and ":memory:" mean "no file", not a file in the pipeline's directory */
    if (raw[0] == '\0' || strcmp(raw, ":memory:") == 0) {
        snprintf(out, len, "%s", raw);
        return 1;
    }
    if (resolve(ld, field, raw, out, len) < 0)
        return -1;
    if (f->flags & CONFIG_F_MUST_EXIST)
        check_exists(ld, field, out);
    return 1;
}

/* A number with no fraction, within [lo, hi]; NaN fails the first test. */
static bool whole_number(lua_State *L, int v, double lo, double hi, lua_Number *out)
{
    if (lua_type(L, v) != LUA_TNUMBER)
        return false;
    *out = lua_tonumber(L, v);
    return *out == floor(*out) && *out >= lo && *out <= hi;
}

/* A string, or a list of strings (data.files, webhooks). */
static int read_string_list(loader *ld, const config_field *f, void *base, int v, const char *field)
{
    lua_State *L = ld->L;
    char ***out = config_field_ptr(base, f);
    int *nout = (int *)((char *)base + f->count_offset);
    int type = lua_type(L, v), n = 1;
    if (type == LUA_TTABLE)
        n = list_length(ld, v, field);
    else if (type != LUA_TSTRING) {
        wrong_type(ld, field, v, "a string or a list of strings");
        return -1;
    }
    if (n <= 0)
        return -1;
    char **list = calloc((size_t)n, sizeof *list);
    if (!list) {
        problem(ld, field, "out of memory");
        return -1;
    }
    *out = list;
    luaL_checkstack(L, 1, field);
    for (int i = 0; i < n; i++) {
        if (type == LUA_TTABLE)
            lua_rawgeti(L, v, i + 1);
        else
            lua_pushvalue(L, v);
        char item[200];
        snprintf(item, sizeof item, "%s[%d]", field, i + 1);
        if (lua_type(L, -1) != LUA_TSTRING)
            wrong_type(ld, item, -1, "a string");
        else {
            char resolved[CONFIG_PATH_MAX];
            const char *s = lua_tostring(L, -1);
            if (f->flags & CONFIG_F_PATHS) {
                if (resolve(ld, item, s, resolved, sizeof resolved) == 0 &&
                    (f->flags & CONFIG_F_MUST_EXIST))
                    check_exists(ld, item, resolved);
                s = resolved;
            }
            list[*nout] = strdup(s);
            if (list[*nout])
                (*nout)++;
        }
        lua_pop(L, 1);
    }
    return 1;
}

/* A list of whole numbers into a fixed array (retry_backoff). */
static int read_int_list(loader *ld, const config_field *f, void *base, int v, const char *field)
{
    lua_State *L = ld->L;
    if (lua_type(L, v) != LUA_TTABLE) {
        wrong_type(ld, field, v, "a table { ... }");
        return -1;
    }
    int n = list_length(ld, v, field);
    if (n > f->max_count) {
        problem(ld, field, "%d entries; at most %d are supported", n, f->max_count);
        n = f->max_count;
    }
    if (n < 0)
        return -1;
    int *out = config_field_ptr(base, f);
    int *count = (int *)((char *)base + f->count_offset);
    *count = 0;
    luaL_checkstack(L, 1, field);
    for (int i = 0; i < n; i++) {
        lua_rawgeti(L, v, i + 1);
        lua_Number x;
        if (whole_number(L, -1, -(double)INT_MAX, INT_MAX, &x))
            out[(*count)++] = (int)x;
        else {
            char item[200], expected[64];
            snprintf(item, sizeof item, "%s[%d]", field, i + 1);
            snprintf(expected, sizeof expected, "a whole number%s%s", f->unit ? " of " : "",
                     f->unit ? f->unit : "");
            wrong_type(ld, item, -1, expected);
        }
        lua_pop(L, 1);
    }
    return 1;
}

static int read_value(loader *ld, const config_field *f, void *base, int v, const char *field);

/* --- params tables to JSON ---------------------------------------------------------------- */

typedef struct {
    const char *root;                       /* "strategy.params", for budget messages */
    const void *path[PARAMS_MAX_DEPTH + 2]; /* the tables on the way down: a cycle check */
    long values;                            /* converted so far, shared tables counted at
                                               each use */
    size_t text;                            /* bytes of keys and strings so far */
    bool stop;                              /* a budget ran out: give up on the whole */
} params_budget;

/* Counts `values` values and `bytes` of text; false (with one problem) once a budget is
 * spent. */
static bool params_spend(loader *ld, params_budget *b, long values, size_t bytes)
{
    b->values += values;
    b->text += bytes;
    if (b->values > PARAMS_MAX_VALUES)
        problem(ld, b->root,
                "more than %d values once tables used in several places are counted at each "
                "use; keep params small and load large data from a file",
                PARAMS_MAX_VALUES);
    else if (b->text > PARAMS_MAX_TEXT)
        problem(ld, b->root,
                "more than %u bytes of text once tables used in several places are counted at "
                "each use; keep params small and load large data from a file",
                PARAMS_MAX_TEXT);
    else
        return true;
    b->stop = true;
    return false;
}

/* The value at idx as JSON, or NULL after a problem. [-0, +0] */
static json_t *to_json(loader *ld, int idx, const char *field, int depth, params_budget *b)
{
    lua_State *L = ld->L;
    idx = lua_absindex(L, idx);
    switch (lua_type(L, idx)) {
    case LUA_TBOOLEAN:
        return params_spend(ld, b, 1, 0) ? json_boolean(lua_toboolean(L, idx)) : NULL;
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        if (!params_spend(ld, b, 1, n))
            return NULL;
        json_t *j = json_stringn(s, n);
        if (!j)
            problem(ld, field, "is not UTF-8 text; params strings must be valid UTF-8");
        return j;
    }
    case LUA_TNUMBER:
        if (!params_spend(ld, b, 1, 0))
            return NULL;
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
    const void *self = lua_topointer(L, idx);
    for (int i = 0; i < depth; i++)
        if (b->path[i] == self) {
            problem(ld, field, "contains itself (a cycle); params must be a tree of values");
            b->stop = true;
            return NULL;
        }
    if (depth > PARAMS_MAX_DEPTH) {
        problem(ld, field, "nested more than %d tables deep; flatten the parameters",
                PARAMS_MAX_DEPTH);
        b->stop = true;
        return NULL;
    }
    if (!params_spend(ld, b, 1, 0))
        return NULL;
    b->path[depth] = self;
    /* this frame holds a key and a value; the callee reserves its own */
    luaL_checkstack(L, 3, "params nested too deeply");

    /* Keys 1..n and nothing else become an array, anything else an object; positive
     * whole keys with gaps are a list with a hole, which JSON cannot say. */
    lua_Integer max, count;
    bool named;
    scan_keys(L, idx, &max, &count, &named);
    if (!named && count > 0 && count < max) {
        report_hole(ld, idx, field, max, count);
        return NULL;
    }
    bool seq = !named && count > 0;
    json_t *out = seq ? json_array() : json_object();
    if (!out) {
        problem(ld, field, "out of memory");
        b->stop = true;
        return NULL;
    }
    if (seq) {
        for (lua_Integer i = 1; i <= max && !b->stop; i++) {
            char sub[200];
            snprintf(sub, sizeof sub, "%s[%lld]", field, (long long)i);
            lua_rawgeti(L, idx, i);
            json_t *v = to_json(ld, -1, sub, depth + 1, b);
            json_array_append_new(out, v ? v : json_null());
            lua_pop(L, 1);
        }
    } else {
        lua_pushnil(L);
        while (!b->stop && lua_next(L, idx)) {
            char key[32], sub[200];
            const char *k = key;
            size_t klen;
            if (lua_type(L, -2) == LUA_TSTRING)
                k = lua_tolstring(L, -2, &klen);
            else if (lua_isinteger(L, -2))
                klen = (size_t)snprintf(key, sizeof key, "%lld", (long long)lua_tointeger(L, -2));
            else {
                problem(ld, field, "keys must be strings or whole numbers");
                lua_pop(L, 1);
                continue;
            }
            snprintf(sub, sizeof sub, "%s.%.*s", field, (int)klen, k);
            json_t *v = params_spend(ld, b, 0, klen) ? to_json(ld, -1, sub, depth + 1, b) : NULL;
            if (v && json_object_setn_new(out, k, klen, v) < 0)
                problem(ld, sub, "the key is not UTF-8 text; params keys must be valid UTF-8");
            lua_pop(L, 1);
        }
        if (b->stop) /* lua_next left its key on the stack */
            lua_settop(L, idx);
    }
    if (b->stop) {
        json_decref(out);
        return NULL;
    }
    return out;
}

/* --- CONFIG_CUSTOM hooks: the value is at v; each works on ld->cfg. [-0, +0] ------------ */

static void read_symbols(loader *ld, const config_field *f, int v, const char *field)
{
    lua_State *L = ld->L;
    pipeline_config *cfg = ld->cfg;
    if (lua_type(L, v) != LUA_TTABLE)
        return wrong_type(ld, field, v, "a list of symbols { \"AAPL\", ... }");
    int n = list_length(ld, v, field);
    if (n <= 0)
        return;
    cfg->symbols = calloc((size_t)n, sizeof *cfg->symbols);
    if (!cfg->symbols)
        return problem(ld, field, "out of memory");
    luaL_checkstack(L, 1, field);
    for (int i = 0; i < n; i++) {
        lua_rawgeti(L, v, i + 1);
        char item[32];
        snprintf(item, sizeof item, "%s[%d]", field, i + 1);
        size_t len = 0;
        const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &len) : NULL;
        if (!s || len == 0 || len >= SYMBOL_MAX) {
            char g[32];
            problem(ld, item, "expected a symbol of 1 to %d characters, got %s", SYMBOL_MAX - 1,
                    s ? "a longer string" : got(L, -1, g, sizeof g));
        } else {
            bool dup = false;
            for (int j = 0; j < cfg->nsymbols; j++)
                dup = dup || strcmp(cfg->symbols[j], s) == 0;
            if (dup)
                problem(ld, item, "%s is listed twice; remove one", s);
            else
                memcpy(cfg->symbols[cfg->nsymbols++], s, len + 1);
        }
        lua_pop(L, 1);
    }
}

/* bias = "file.lua" | { file = "file.lua", params = { ... } } */
static void read_script(loader *ld, const config_field *f, int v, const char *field)
{
    static const config_field ref_fields[] = {{.path = "file"}, {.path = "params"}};
    static const config_field file_row = {.path = "file", .flags = CONFIG_F_MUST_EXIST};
    lua_State *L = ld->L;
    script_ref *ref = config_field_ptr(ld->cfg, f);
    if (lua_type(L, v) == LUA_TSTRING) {
        if (resolve(ld, field, lua_tostring(L, v), ref->file, sizeof ref->file) == 0)
            check_exists(ld, field, ref->file);
        return;
    }
    if (lua_type(L, v) != LUA_TTABLE)
        return wrong_type(ld, field, v, "a file name or { file = ..., params = {...} }");
    check_fields(ld, v, ref_fields, 2, "", field);
    luaL_checkstack(L, 1, field);
    char sub[160];
    snprintf(sub, sizeof sub, "%s.file", field);
    if (lua_getfield(L, v, "file") == LUA_TNIL)
        problem(ld, sub, "missing; name the script, e.g. file = \"my_%s.lua\"", field);
    else
        read_path(ld, &file_row, lua_gettop(L), sub, ref->file, sizeof ref->file);
    lua_pop(L, 1);
    snprintf(sub, sizeof sub, "%s.params", field);
    if (lua_getfield(L, v, "params") == LUA_TTABLE) {
        params_budget b = {.root = sub};
        json_t *j = to_json(ld, -1, sub, 0, &b);
        if (j) {
            free(ref->params_json);
            ref->params_json = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
            json_decref(j);
        }
    } else if (!lua_isnil(L, -1))
        wrong_type(ld, sub, -1, "a table of parameters");
    lua_pop(L, 1);
}

static void load_table(loader *ld, void *base, const config_field *rows, int nrows,
                       const char *parent, const char *prefix, int t);

static void read_stages(loader *ld, const config_field *f, int v, const char *field)
{
    lua_State *L = ld->L;
    exits_config *e = &ld->cfg->exits;
    if (lua_type(L, v) != LUA_TTABLE)
        return wrong_type(ld, field, v, "a table { ... }");
    int n = list_length(ld, v, field);
    if (n > f->max_count) {
        problem(ld, field, "%d stages; at most %d are supported", n, f->max_count);
        n = f->max_count;
    }
    if (n < 0)
        return;
    e->nstages = 0;
    luaL_checkstack(L, 1, field);
    for (int i = 0; i < n; i++) {
        char prefix[64];
        snprintf(prefix, sizeof prefix, "%s[%d]", field, i + 1);
        if (lua_rawgeti(L, v, i + 1) != LUA_TTABLE) {
            problem(ld, prefix,
                    "expected { name = ..., profit_threshold = ..., exit_percentage = ... }");
            lua_pop(L, 1);
            continue;
        }
        partial_stage *p = &e->stages[e->nstages++];
        memset(p, 0, sizeof *p);
        snprintf(p->name, sizeof p->name, "stage_%d", i + 1);
        load_table(ld, p, f->elem, f->nelem, "", prefix, lua_gettop(L));
        lua_pop(L, 1);
    }
}

static void read_instructions(loader *ld, const config_field *f, int v, const char *field)
{
    static const config_field file_fields[] = {
        {.path = "file", .type = CONFIG_PATH, .flags = CONFIG_F_MUST_EXIST}};
    lua_State *L = ld->L;
    pipeline_config *cfg = ld->cfg;
    if (lua_type(L, v) != LUA_TTABLE)
        return wrong_type(ld, field, v, "a table { ... }");
    int n = list_length(ld, v, field);
    if (n <= 0)
        return;
    cfg->instructions = calloc((size_t)n, sizeof *cfg->instructions);
    if (!cfg->instructions)
        return problem(ld, field, "out of memory");
    luaL_checkstack(L, 2, field);
    for (int i = 0; i < n; i++) {
        char item[48];
        snprintf(item, sizeof item, "%s[%d]", field, i + 1);
        int type = lua_rawgeti(L, v, i + 1), it = lua_gettop(L);
        instruction *ins = &cfg->instructions[cfg->ninstructions];
        if (type == LUA_TSTRING) {
            ins->kind = INSTRUCTION_TEXT;
            ins->value = strdup(lua_tostring(L, it));
        } else if (type == LUA_TTABLE) {
            char path[CONFIG_PATH_MAX], sub[64];
            snprintf(sub, sizeof sub, "%s.file", item);
            check_fields(ld, it, file_fields, 1, "", item);
            if (lua_getfield(L, it, "file") == LUA_TNIL)
                problem(ld, item, "expected { file = \"rule.lua\" }");
            else if (read_path(ld, &file_fields[0], it + 1, sub, path, sizeof path) == 1) {
                ins->kind = INSTRUCTION_FILE;
                ins->value = strdup(path);
            }
        } else
            wrong_type(ld, item, it,
                       "a sentence such as \"close if VIX > 40\" or { file = \"rule.lua\" }");
        if (ins->value)
            cfg->ninstructions++;
        lua_settop(L, it - 1);
    }
}

/* instruments = { default = { tick, lot }, ["BTC/USD"] = { tick, lot } }; [0] is always
 * the default, as config_instrument expects. */
static void read_instruments(loader *ld, const config_field *f, int v, const char *field)
{
    lua_State *L = ld->L;
    pipeline_config *cfg = ld->cfg;
    if (lua_type(L, v) != LUA_TTABLE)
        return wrong_type(ld, field, v, "a table { ... }");
    luaL_checkstack(L, 3, field);
    int count = 1;
    lua_pushnil(L);
    while (lua_next(L, v)) {
        lua_pop(L, 1);
        count++;
    }
    cfg->instruments = calloc((size_t)count, sizeof *cfg->instruments);
    if (!cfg->instruments)
        return problem(ld, field, "out of memory");
    cfg->instruments[0].rules = MONEY_INSTRUMENT_DEFAULT;
    cfg->ninstruments = 1;
    lua_pushnil(L);
    while (lua_next(L, v)) {
        int e = lua_gettop(L);
        const char *sym = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
        char prefix[64];
        snprintf(prefix, sizeof prefix, "%s.%s", field, sym ? sym : "?");
        if (!sym || strlen(sym) >= SYMBOL_MAX || !lua_istable(L, e))
            problem(ld, prefix, "expected SYMBOL = { tick = 0.01, lot = 1 } (or default = ...)");
        else {
            instrument_config *ic = strcmp(sym, "default") == 0
                                        ? &cfg->instruments[0]
                                        : &cfg->instruments[cfg->ninstruments++];
            if (ic != &cfg->instruments[0]) {
                ic->rules = (money_instrument){0, 0}; /* 0 = inherit, filled in below */
                snprintf(ic->symbol, sizeof ic->symbol, "%s", sym);
            }
            load_table(ld, &ic->rules, f->elem, f->nelem, "", prefix, e);
        }
        lua_settop(L, e - 1);
    }
    /* A symbol without its own tick or lot inherits the default's (whatever order the
     * table was walked in). */
    for (int i = 1; i < cfg->ninstruments; i++) {
        if (cfg->instruments[i].rules.tick == 0)
            cfg->instruments[i].rules.tick = cfg->instruments[0].rules.tick;
        if (cfg->instruments[i].rules.lot == 0)
            cfg->instruments[i].rules.lot = cfg->instruments[0].rules.lot;
    }
}

typedef void (*hook_fn)(loader *ld, const config_field *f, int v, const char *field);

static const hook_fn hooks[CONFIG_HOOK_COUNT] = {
    [CONFIG_HOOK_SYMBOLS] = read_symbols,         [CONFIG_HOOK_SCRIPT] = read_script,
    [CONFIG_HOOK_STAGES] = read_stages,           [CONFIG_HOOK_INSTRUCTIONS] = read_instructions,
    [CONFIG_HOOK_INSTRUMENTS] = read_instruments,
};

/* --- the walk -------------------------------------------------------------------------- */

static int read_value(loader *ld, const config_field *f, void *base, int v, const char *field)
{
    lua_State *L = ld->L;
    void *p = config_field_ptr(base, f);
    lua_Number x;
    switch (f->type) {
    case CONFIG_BOOL:
        if (lua_type(L, v) != LUA_TBOOLEAN)
            break;
        *(bool *)p = lua_toboolean(L, v);
        return 1;
    case CONFIG_INT:
        if (!whole_number(L, v, -(double)INT_MAX, INT_MAX, &x))
            break;
        *(int *)p = (int)x;
        return 1;
    case CONFIG_INT64:
        if (lua_isinteger(L, v))
            *(int64_t *)p = lua_tointeger(L, v);
        else if (whole_number(L, v, -0x1p63, 0x1p63 - 1024, &x))
            *(int64_t *)p = (int64_t)x;
        else
            break;
        if (f->set_offset)
            *(bool *)((char *)base + f->set_offset) = true;
        return 1;
    case CONFIG_NUMBER:
    case CONFIG_MONEY:
    case CONFIG_PERCENT:
        if (lua_type(L, v) != LUA_TNUMBER || !isfinite(lua_tonumber(L, v)))
            break;
        x = lua_tonumber(L, v);
        if (f->type == CONFIG_NUMBER)
            *(double *)p = x;
        else if (f->type == CONFIG_MONEY) {
            if (money_from_double(x, p, field, NULL, 0) < 0) {
                problem(ld, field, "%.14g is out of range", x);
                return -1;
            }
        } else {
            /* said as a percent, kept as a fraction; checked here, in the file's unit */
            double lo = (double)f->lo / MONEY_SCALE * 100, hi = (double)f->hi / MONEY_SCALE * 100;
            if (!(x >= lo && x <= hi) || money_from_double(x / 100.0, p, field, NULL, 0) < 0) {
                problem(ld, field, "%.14g is out of range; use a percent above 0 and at most %g", x,
                        hi);
                *(money_t *)p = f->lo; /* so config_validate does not report it a second time */
                return -1;
            }
        }
        return 1;
    case CONFIG_STRING:
        if ((f->flags & CONFIG_F_INTEGER_OK) && lua_isinteger(L, v)) {
            snprintf(p, f->size, "%lld", (long long)lua_tointeger(L, v));
            return 1;
        }
        if (f->charset) {
            char buf[CONFIG_PATH_MAX];
            if (read_text(ld, v, field, buf, f->size < sizeof buf ? f->size : sizeof buf) < 0)
                return -1;
            size_t n = lua_rawlen(L, v);
            if (n == 0 || strspn(buf, f->charset) != n) {
                problem(ld, field, "\"%s\" may use only %s", buf, f->charset_doc);
                return -1;
            }
            memcpy(p, buf, n + 1);
            return 1;
        }
        return read_text(ld, v, field, p, f->size);
    case CONFIG_PATH:
        return read_path(ld, f, v, field, p, f->size);
    case CONFIG_ENUM: {
        char s[64], list[256] = "";
        if (read_text(ld, v, field, s, sizeof s) < 0)
            return -1;
        for (int i = 0; f->names[i]; i++) {
            if (strcmp(f->names[i], s) == 0) {
                *(int *)p = i;
                return 1;
            }
            size_t used = strlen(list);
            snprintf(list + used, sizeof list - used, "%s\"%s\"", i ? ", " : "", f->names[i]);
        }
        problem(ld, field, "\"%s\" is not one of %s", s, list);
        return -1;
    }
    case CONFIG_HHMM: {
        char s[16], extra;
        int hh, mm;
        if (read_text(ld, v, field, s, sizeof s) < 0)
            return -1;
        if (sscanf(s, "%2d:%2d%c", &hh, &mm, &extra) == 2 && hh >= 0 && hh < 24 && mm >= 0 &&
            mm < 60) {
            *(int *)p = hh * 60 + mm;
            return 1;
        }
        problem(ld, field, "\"%s\" is not a time; use \"HH:MM\" in UTC, e.g. %s", s,
                f->example ? f->example : "\"21:00\"");
        return -1;
    }
    case CONFIG_STRING_LIST:
        return read_string_list(ld, f, base, v, field);
    case CONFIG_INT_LIST:
        return read_int_list(ld, f, base, v, field);
    case CONFIG_CUSTOM:
        if (!hooks[f->hook]) {
            problem(ld, field, "this build cannot read the field (no loader hook); report it");
            return -1;
        }
        hooks[f->hook](ld, f, v, field);
        return 1;
    case CONFIG_SECTION:
        break; /* load_table handles sections */
    }
    static const char *const expected[] = {
        [CONFIG_SECTION] = "a table { ... }", [CONFIG_BOOL] = "true or false",
        [CONFIG_INT] = "a whole number",      [CONFIG_INT64] = "a whole number",
        [CONFIG_NUMBER] = "a number",         [CONFIG_MONEY] = "a number",
        [CONFIG_PERCENT] = "a number",
    };
    wrong_type(ld, field, v, expected[f->type]);
    return -1;
}

/* Reads the fields of section `parent` (rows[0..nrows)) from the table at t into base;
 * prefix names the section in messages. [-0, +0] */
static void load_table(loader *ld, void *base, const config_field *rows, int nrows,
                       const char *parent, const char *prefix, int t)
{
    lua_State *L = ld->L;
    luaL_checkstack(L, 2, "pipeline table nested too deeply");
    check_fields(ld, t, rows, nrows, parent, prefix);
    for (int i = 0; i < nrows; i++) {
        const config_field *f = &rows[i];
        if (!config_field_is_child(f, parent))
            continue;
        char field[160];
        join(field, sizeof field, prefix, config_field_name(f));
        int type = lua_getfield(L, t, config_field_name(f)), v = lua_gettop(L);
        if (type == LUA_TNIL) {
            if (f->flags & CONFIG_F_KEY_REQUIRED)
                problem(ld, field, "%s", f->missing);
        } else if (f->type != CONFIG_SECTION)
            read_value(ld, f, base, v, field);
        else if (type == LUA_TTABLE)
            load_table(ld, base, rows, nrows, f->path, field, v);
        else
            wrong_type(ld, field, v, "a table { ... }");
        lua_settop(L, v - 1);
    }
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
    load_table(ld, ld->cfg, config_schema, config_schema_count, "", "", t);
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
    script_output_flush(&sb, true); /* what its prints dropped, if anything */
    sandbox_close(&sb);
    /* Range and cross-field checks only make sense once the file itself evaluated. */
    if (evaluated)
        ld.n += config_validate(cfg, diags);
    return ld.n;
}
