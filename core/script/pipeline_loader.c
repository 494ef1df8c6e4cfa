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
 * The file is untrusted input at the Lua boundary, and the work done on its behalf
 * after it returns is bounded like the file itself:
 *   - every function that pushes in a loop or recursion reserves its stack first
 *     (luaL_checkstack);
 *   - no Lua code runs during the walk: tables are read raw, a table with a metatable is
 *     refused (an __index would otherwise be ignored without a word), the collector is
 *     stopped and the sandbox allows no finalizers, so nothing the file defined can
 *     change a table while it is read (an instruments entry whose __index added
 *     instruments once made the second pass write past its array);
 *   - params are converted within a depth, value and text budget (a table shared many
 *     times over would otherwise expand without bound), and the symbol duplicate check
 *     is a hash lookup, not a scan of the symbols so far;
 *   - an allocation that fails is a problem naming the field, never a value silently
 *     left out (an `ok` from `check` means everything the file said was kept);
 *   - a list with a hole is an error naming the missing index rather than a silently
 *     shorter list.
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
#include "util/hmap.h"

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
    const char *const *overrides; /* --param PATH=VALUE, applied over the file's table */
    int noverrides;
} loader;

static void problem(loader *ld, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void problem(loader *ld, const char *field, const char *fmt, ...)
{
    ld->n++;
    if (diag_full(ld->d)) {
        diag_add(ld->d, "%s", ""); /* (the list's "not shown" line, once) */
        return;
    }
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* A value that came from the command line is blamed on the command line, an element
     * of a list (field[2]) on the --param that gave the list, with how to write one. */
    for (int i = 0; i < ld->noverrides; i++) {
        const char *o = ld->overrides[i], *eq = strchr(o, '=');
        size_t n = eq ? (size_t)(eq - o) : 0;
        if (!eq || strncmp(field, o, n) != 0 || (field[n] != '\0' && field[n] != '['))
            continue;
        const char *want = strncmp(msg, "expected ", 9) == 0 ? msg + 9 : NULL;
        const char *got = want ? strstr(want, ", got") : NULL;
        if (field[n] == '[' && got)
            diag_add(ld->d, "--param %s: %s: %s; write %.*s=[v1,v2,...] with each value %.*s", o,
                     field, msg, (int)n, o, (int)(got - want), want);
        else
            diag_add(ld->d, "--param %s: %s: %s", o, field, msg);
        return;
    }
    diag_add(ld->d, "%s: %s: %s", ld->file, field, msg);
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
    if (lua_type(L, idx) == LUA_TNUMBER && isnan(lua_tonumber(L, idx)))
        snprintf(buf, len, "nan"); /* (its sign means nothing; printf shows "-nan") */
    else if (lua_type(L, idx) == LUA_TNUMBER && !lua_isinteger(L, idx))
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

/* An allocation failed: the value was not kept, so the load must not pass as complete. */
static void out_of_memory(loader *ld, const char *field)
{
    problem(ld, field, "out of memory while reading it; free some memory and run again");
}

/* t[name], read raw: no metamethod runs while the loader walks. t is absolute.
 * [-0, +1] */
static int raw_field(lua_State *L, int t, const char *name)
{
    lua_pushstring(L, name);
    return lua_rawget(L, t);
}

/* True when the table at t has no metatable. The walk reads tables raw, so what an
 * __index (or any metamethod) would supply is not seen: refusing such a table says so
 * instead of dropping the values. [-0, +0] */
static bool plain_table(loader *ld, int t, const char *field)
{
    luaL_checkstack(ld->L, 1, field);
    if (!lua_getmetatable(ld->L, t))
        return true;
    lua_pop(ld->L, 1);
    problem(ld, field,
            "is a table with a metatable; the loader reads tables as they are, without "
            "metamethods, so build a plain table (copy defaults in instead of using __index)");
    return false;
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
 * when it has named fields, a hole or a metatable. [-0, +0] */
static int list_length(loader *ld, int t, const char *field)
{
    lua_Integer max, count;
    bool named;
    if (!plain_table(ld, t, field))
        return -1;
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

/* Reports every key of the table at t that `parent` does not know. False when the table
 * cannot be read at all (it has a metatable): the caller reads none of its fields.
 * [-0, +0] */
static bool check_fields(loader *ld, int t, const config_field *rows, int nrows, const char *parent,
                         const char *prefix)
{
    lua_State *L = ld->L;
    if (!plain_table(ld, t, prefix && prefix[0] ? prefix : "pipeline"))
        return false;
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
        if (diag_full(ld->d)) { /* spare the suggestion nobody will read */
            problem(ld, prefix, "unknown field");
            continue;
        }
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
    return true;
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

/* The string at v and its length, or NULL after a problem: not a string (`expected`
 * says what is), or one with a NUL byte, which C code would silently cut there.
 * [-0, +0] */
static const char *text_at(loader *ld, int v, const char *field, const char *expected, size_t *len)
{
    if (lua_type(ld->L, v) != LUA_TSTRING) {
        wrong_type(ld, field, v, expected);
        return NULL;
    }
    const char *s = lua_tolstring(ld->L, v, len);
    const char *nul = memchr(s, '\0', *len);
    if (nul) {
        problem(ld, field, "contains a NUL byte (\\0) at byte %zu; remove it",
                (size_t)(nul - s) + 1);
        return NULL;
    }
    return s;
}

/* Copies the string at v into buf (len bytes with the terminator). */
static int read_text(loader *ld, int v, const char *field, char *buf, size_t len)
{
    size_t n;
    const char *s = text_at(ld, v, field, "a string", &n);
    if (!s)
        return -1;
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

/* --- numbers ------------------------------------------------------------------------------ */

/* "1e+30 is out of range; use a whole number from 1 to 100000". */
static void out_of_range(loader *ld, const config_field *f, int v, const char *field)
{
    char value[40], range[160];
    if (lua_isinteger(ld->L, v))
        snprintf(value, sizeof value, "%lld", (long long)lua_tointeger(ld->L, v));
    else
        snprintf(value, sizeof value, "%.14g", lua_tonumber(ld->L, v));
    config_schema_range_text(f, range, sizeof range);
    problem(ld, field, "%s is out of range; use %s", value, range);
}

/* The number at v for a field of f's type; false after a problem. NaN is "not a number";
 * a fraction where a whole number goes is the wrong type; a value outside what the type
 * can hold (1e30 for a count) is out of range with the field's range. [-0, +0] */
static bool number_at(loader *ld, const config_field *f, int v, const char *field, lua_Number *out)
{
    lua_State *L = ld->L;
    bool whole = f->type == CONFIG_INT || f->type == CONFIG_INT64 || f->type == CONFIG_INT_LIST;
    if (lua_type(L, v) != LUA_TNUMBER || isnan(lua_tonumber(L, v))) {
        char expected[64];
        snprintf(expected, sizeof expected, "%s%s%s", whole ? "a whole number" : "a number",
                 f->unit ? " of " : "", f->unit ? f->unit : "");
        wrong_type(ld, field, v, expected);
        return false;
    }
    *out = lua_tonumber(L, v);
    if (whole && isfinite(*out) && *out != floor(*out)) {
        wrong_type(ld, field, v, "a whole number");
        return false;
    }
    double lo = -INFINITY, hi = INFINITY;
    if (f->type == CONFIG_INT || f->type == CONFIG_INT_LIST)
        lo = -(double)INT_MAX, hi = INT_MAX;
    else if (f->type == CONFIG_INT64)
        lo = -0x1p63, hi = 0x1p63 - 1024; /* the largest doubles that fit */
    if (!isfinite(*out) || *out < lo || *out > hi) {
        out_of_range(ld, f, v, field);
        return false;
    }
    return true;
}

/* CONFIG_INT, INT64, NUMBER, MONEY and PERCENT into f's member inside base. The field's
 * own range is config_validate's; here a value must be a number its C type can hold, and a
 * value other than 0 must not round to 0 at the 8 decimals of fixed point: 0 often means
 * "not set" (risk.capital) or "inherit" (an instrument's tick and lot). [-0, +0] */
static int read_number(loader *ld, const config_field *f, void *base, int v, const char *field)
{
    lua_State *L = ld->L;
    void *p = config_field_ptr(base, f);
    lua_Number x;
    if (f->type == CONFIG_INT64 && lua_isinteger(L, v))
        *(int64_t *)p = lua_tointeger(L, v); /* every Lua integer, past 2^53 too */
    else if (!number_at(ld, f, v, field, &x)) {
        config_schema_settle(f, base);
        return -1;
    } else if (f->type == CONFIG_INT)
        *(int *)p = (int)x;
    else if (f->type == CONFIG_INT64)
        *(int64_t *)p = (int64_t)x;
    else if (f->type == CONFIG_NUMBER)
        *(double *)p = x;
    else {
        /* said as a percent, kept as a fraction */
        double value = f->type == CONFIG_PERCENT ? x / 100.0 : x;
        money_t m;
        if (money_from_double(value, &m, field, NULL, 0) < 0) {
            out_of_range(ld, f, v, field);
            config_schema_settle(f, base);
            return -1;
        }
        if (m == 0 && x != 0) {
            char range[160];
            config_schema_range_text(f, range, sizeof range);
            problem(ld, field,
                    "%.14g is too small: it rounds to 0 at 8 decimal places, and 0 would not "
                    "mean what it says; use %s",
                    x, range);
            config_schema_settle(f, base);
            return -1;
        }
        *(money_t *)p = m;
    }
    if (f->set_offset)
        *(bool *)((char *)base + f->set_offset) = true;
    return 1;
}

/* Records s as listed (symbols, data files, webhooks), borrowing s: it must stay put
 * while `seen` lives. False after a problem: s was listed before, or no memory. */
static bool first_listing(loader *ld, hmap *seen, const char *s, const char *item)
{
    int rc = hmap_insert(seen, s, strlen(s), (hmap_value){.i64 = 0});
    if (rc == APEX_OK)
        return true;
    if (rc == APEX_EDUP)
        problem(ld, item, "%s is listed twice; remove one", s);
    else
        out_of_memory(ld, item);
    return false;
}

/* A string, or a list of strings (data.files, webhooks); each at most once. */
static int read_string_list(loader *ld, const config_field *f, void *base, int v, const char *field)
{
    lua_State *L = ld->L;
    char ***out = config_field_ptr(base, f);
    int *nout = (int *)((char *)base + f->count_offset);
    int type = lua_type(L, v), n = 1;
    bool integers = (f->flags & CONFIG_F_INTEGER_OK) != 0;
    if (type == LUA_TTABLE)
        n = list_length(ld, v, field);
    else if (type != LUA_TSTRING && !(integers && lua_isinteger(L, v))) {
        wrong_type(ld, field, v,
                   integers ? "a string, a whole number or a list of them"
                            : "a string or a list of strings");
        return -1;
    }
    if (n <= 0)
        return -1;
    char **list = calloc((size_t)n, sizeof *list);
    if (!list) {
        out_of_memory(ld, field);
        return -1;
    }
    *out = list;
    hmap seen;
    hmap_init(&seen);
    luaL_checkstack(L, 1, field);
    for (int i = 0; i < n; i++) {
        if (type == LUA_TTABLE)
            lua_rawgeti(L, v, i + 1);
        else
            lua_pushvalue(L, v);
        char item[200], resolved[CONFIG_PATH_MAX];
        snprintf(item, sizeof item, "%s[%d]", field, i + 1);
        size_t len;
        char num[32];
        const char *s = num;
        if (integers && lua_isinteger(L, -1))
            snprintf(num, sizeof num, "%lld", (long long)lua_tointeger(L, -1));
        else
            s = text_at(ld, -1, item, "a string", &len);
        if (s && (f->flags & CONFIG_F_PATHS)) {
            if (resolve(ld, item, s, resolved, sizeof resolved) < 0)
                s = NULL;
            else if (f->flags & CONFIG_F_MUST_EXIST)
                check_exists(ld, item, resolved);
            if (s)
                s = resolved;
        }
        if (s) {
            char *copy = strdup(s);
            if (!copy)
                out_of_memory(ld, item);
            else if (first_listing(ld, &seen, copy, item))
                list[(*nout)++] = copy;
            else
                free(copy);
        }
        lua_pop(L, 1);
    }
    hmap_free(&seen);
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
    if (n == 0) /* the last entry repeats: with none there is nothing to repeat */
        problem(ld, field, "is empty; list at least one whole number%s%s, or leave it out",
                f->unit ? " of " : "", f->unit ? f->unit : "");
    if (n <= 0)
        return -1;
    int *out = config_field_ptr(base, f);
    int *count = (int *)((char *)base + f->count_offset);
    *count = 0;
    luaL_checkstack(L, 1, field);
    for (int i = 0; i < n; i++) {
        lua_rawgeti(L, v, i + 1);
        char item[200];
        snprintf(item, sizeof item, "%s[%d]", field, i + 1);
        lua_Number x;
        if (number_at(ld, f, -1, item, &x))
            out[(*count)++] = (int)x;
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

/* Reports why jansson refused the text s (its constructors return NULL both for text
 * that is not UTF-8 and for a failed allocation), and stops the conversion. */
static void refused_text(loader *ld, params_budget *b, const char *s, size_t n, const char *field,
                         const char *what)
{
    json_t *j = json_stringn_nocheck(s, n);
    if (!j)
        out_of_memory(ld, field);
    else
        problem(ld, field, "%s is not UTF-8 text; params %s must be valid UTF-8",
                what[0] == 'k' ? "the key" : "the string", what);
    json_decref(j);
    b->stop = true;
}

/* A scalar (or a table's own JSON, made by to_json) that jansson could not allocate. */
static json_t *allocated(loader *ld, params_budget *b, json_t *j, const char *field)
{
    if (!j) {
        out_of_memory(ld, field);
        b->stop = true;
    }
    return j;
}

static json_t *to_json(loader *ld, int idx, const char *field, int depth, params_budget *b);

/* The entries of the table at idx, a list (keys 1..max) or named fields, into out. Keys
 * must be strings without a NUL byte (the host reads params back with jansson, whose
 * object keys cannot hold one); a whole-number key beside named fields would reach the
 * script as a string ("1"), so it is refused rather than changed. [-0, +0] */
static void table_entries(loader *ld, int idx, const char *field, int depth, params_budget *b,
                          json_t *out, lua_Integer max)
{
    lua_State *L = ld->L;
    char sub[200];
    if (json_is_array(out)) {
        for (lua_Integer i = 1; i <= max && !b->stop; i++) {
            snprintf(sub, sizeof sub, "%s[%lld]", field, (long long)i);
            lua_rawgeti(L, idx, i);
            json_t *v = to_json(ld, -1, sub, depth + 1, b);
            if (json_array_append_new(out, v ? v : json_null()) < 0)
                allocated(ld, b, NULL, sub);
            lua_pop(L, 1);
        }
        return;
    }
    lua_pushnil(L);
    while (!b->stop && lua_next(L, idx)) {
        size_t klen = 0;
        const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tolstring(L, -2, &klen) : NULL;
        if (!k) {
            /* (lua_tolstring would turn the key into a string under lua_next) */
            char g[32];
            if (lua_isinteger(L, -2))
                snprintf(g, sizeof g, "%lld", (long long)lua_tointeger(L, -2));
            else
                got(L, -2, g, sizeof g);
            problem(ld, field,
                    "has the key %s; a params table is either a list { a, b } (keys 1 to n) "
                    "or named fields (name = value)",
                    g);
            lua_pop(L, 1);
            continue;
        }
        snprintf(sub, sizeof sub, "%s.%.*s", field, (int)klen, k);
        if (memchr(k, '\0', klen)) {
            problem(ld, sub,
                    "the key contains a NUL byte (\\0); params keys must be text without it");
            lua_pop(L, 1);
            continue;
        }
        json_t *v = params_spend(ld, b, 0, klen) ? to_json(ld, -1, sub, depth + 1, b) : NULL;
        if (v && json_object_setn_new(out, k, klen, v) < 0)
            refused_text(ld, b, k, klen, sub, "keys");
        lua_pop(L, 1);
    }
    if (b->stop) /* lua_next left its key on the stack */
        lua_settop(L, idx);
}

/* The value at idx as JSON, or NULL after a problem. Strings are kept byte for byte, a
 * NUL byte included (the host reads them back with JSON_ALLOW_NUL). [-0, +0] */
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
            refused_text(ld, b, s, n, field, "strings");
        return j;
    }
    case LUA_TNUMBER:
        if (!params_spend(ld, b, 1, 0))
            return NULL;
        if (lua_isinteger(L, idx))
            return allocated(ld, b, json_integer((json_int_t)lua_tointeger(L, idx)), field);
        if (!isfinite(lua_tonumber(L, idx))) {
            problem(ld, field, "is not a finite number");
            return NULL;
        }
        return allocated(ld, b, json_real(lua_tonumber(L, idx)), field);
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
    if (!params_spend(ld, b, 1, 0) || !plain_table(ld, idx, field))
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
    json_t *out = allocated(ld, b, !named && count > 0 ? json_array() : json_object(), field);
    if (out)
        table_entries(ld, idx, field, depth, b, out, max);
    if (b->stop) {
        json_decref(out);
        return NULL;
    }
    return out;
}

/* j as compact JSON text, or NULL when memory ran out. Not json_dumps: under a failed
 * allocation it drops an object key and still returns the text (jansson 2.14 ignores
 * dump_string's result), which would pass a mangled params table on as if all was well.
 * Measuring first and then dumping into a buffer of that size allocates nothing but the
 * buffer and the loop check, whose failures json_dumpb does report. */
static char *dump_params(const json_t *j)
{
    const size_t flags = JSON_COMPACT | JSON_ENCODE_ANY;
    size_t need = json_dumpb(j, NULL, 0, flags);
    char *text = need ? malloc(need + 1) : NULL;
    if (text && json_dumpb(j, text, need, flags) != need) {
        free(text);
        return NULL;
    }
    if (text)
        text[need] = '\0';
    return text;
}

/* --- CONFIG_CUSTOM hooks: the value is at v; each works on ld->cfg. [-0, +0] ------------ */

/* The list at v for a hook that keeps one item of `size` bytes per entry: its length, with
 * *items a zeroed array of that many; 0 with *items NULL for an empty list or after a
 * problem (not a table: "expected <expected>"; named fields, a hole, no memory). [-0, +0] */
static int list_items(loader *ld, int v, const char *field, const char *expected, size_t size,
                      void **items)
{
    *items = NULL;
    if (lua_type(ld->L, v) != LUA_TTABLE) {
        wrong_type(ld, field, v, expected);
        return 0;
    }
    int n = list_length(ld, v, field);
    if (n <= 0)
        return 0;
    if (!(*items = calloc((size_t)n, size))) {
        out_of_memory(ld, field);
        return 0;
    }
    return n;
}

static void read_symbols(loader *ld, const config_field *f, int v, const char *field)
{
    lua_State *L = ld->L;
    pipeline_config *cfg = ld->cfg;
    void *items;
    int n = list_items(ld, v, field, "a list of symbols { \"AAPL\", ... }", sizeof *cfg->symbols,
                       &items);
    if (!(cfg->symbols = items))
        return;
    hmap seen; /* keys borrowed from cfg->symbols, which stays put */
    hmap_init(&seen);
    luaL_checkstack(L, 1, field);
    for (int i = 0; i < n; i++) {
        lua_rawgeti(L, v, i + 1);
        char item[32];
        snprintf(item, sizeof item, "%s[%d]", field, i + 1);
        size_t len = 0;
        const char *s = text_at(ld, -1, item, "a symbol such as \"AAPL\"", &len);
        if (s && !symbol_valid(s, len))
            problem(ld, item, "\"%.*s\" is not a symbol; use 1 to %d characters of %s",
                    len < 40 ? (int)len : 40, s, SYMBOL_MAX - 1, SYMBOL_CHARS_DOC);
        else if (s) {
            char *dst = cfg->symbols[cfg->nsymbols];
            memcpy(dst, s, len + 1);
            if (first_listing(ld, &seen, dst, item))
                cfg->nsymbols++;
        }
        lua_pop(L, 1);
    }
    hmap_free(&seen);
}

/* bias = "file.lua" | { file = "file.lua", params = { ... } } */
static void read_script(loader *ld, const config_field *f, int v, const char *field)
{
    static const config_field ref_fields[] = {{.path = "file"}, {.path = "params"}};
    static const config_field file_row = {.path = "file", .flags = CONFIG_F_MUST_EXIST};
    lua_State *L = ld->L;
    script_ref *ref = config_field_ptr(ld->cfg, f);
    if (lua_type(L, v) == LUA_TSTRING) {
        read_path(ld, &file_row, v, field, ref->file, sizeof ref->file);
        return;
    }
    if (lua_type(L, v) != LUA_TTABLE)
        return wrong_type(ld, field, v, "a file name or { file = ..., params = {...} }");
    if (!check_fields(ld, v, ref_fields, 2, "", field))
        return;
    luaL_checkstack(L, 1, field);
    char sub[160];
    snprintf(sub, sizeof sub, "%s.file", field);
    if (raw_field(L, v, "file") == LUA_TNIL)
        problem(ld, sub, "missing; name the script, e.g. file = \"my_%s.lua\"", field);
    else
        read_path(ld, &file_row, lua_gettop(L), sub, ref->file, sizeof ref->file);
    lua_pop(L, 1);
    snprintf(sub, sizeof sub, "%s.params", field);
    if (raw_field(L, v, "params") == LUA_TTABLE) {
        params_budget b = {.root = sub};
        json_t *j = to_json(ld, -1, sub, 0, &b);
        if (j) {
            free(ref->params_json);
            ref->params_json = dump_params(j);
            if (!ref->params_json)
                out_of_memory(ld, sub);
            json_decref(j);
        }
    } else if (!lua_isnil(L, -1))
        wrong_type(ld, sub, -1, "a table of parameters");
    lua_pop(L, 1);
}

static void load_table(loader *ld, void *base, const config_field *rows, int nrows,
                       const char *parent, const char *prefix, int t);

/* Entry i (from 0) of the list at v, when it is a table: true with the entry pushed and
 * its name, "field[i+1]", in item. Otherwise the entry is reported as not `shape` and
 * nothing stays pushed. [-0, +(0|1)] */
static bool table_entry(loader *ld, int v, int i, const char *field, const char *shape, char *item,
                        size_t len)
{
    snprintf(item, len, "%s[%d]", field, i + 1);
    luaL_checkstack(ld->L, 1, field);
    if (lua_rawgeti(ld->L, v, i + 1) == LUA_TTABLE)
        return true;
    wrong_type(ld, item, lua_gettop(ld->L), shape);
    lua_pop(ld->L, 1);
    return false;
}

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
    for (int i = 0; i < n; i++) {
        char prefix[64];
        if (!table_entry(ld, v, i, field,
                         "{ name = ..., profit_threshold = ..., exit_percentage = ... }", prefix,
                         sizeof prefix))
            continue;
        partial_stage *p = &e->stages[e->nstages++];
        memset(p, 0, sizeof *p);
        snprintf(p->name, sizeof p->name, "stage_%d", i + 1);
        load_table(ld, p, f->elem, f->nelem, "", prefix, lua_gettop(L));
        lua_pop(L, 1);
    }
}

/* data.http = { { symbol = "VIX", url = ..., price = ... }, ... }. The URL, the paths and
 * the header variable are http_json_check's (at `check`, and when `run` opens the
 * source); the symbol is checked here, as every symbol the file names is. */
static void read_http(loader *ld, const config_field *f, int v, const char *field)
{
    static const char shape[] = "a source { symbol = \"VIX\", url = \"https://...\", price = "
                                "\"data.0.last\" }";
    lua_State *L = ld->L;
    data_config *d = &ld->cfg->data;
    void *items;
    int n = list_items(ld, v, field, "a list of sources { { symbol = ..., url = ..., ... } }",
                       sizeof *d->http, &items);
    if (!(d->http = items))
        return;
    /* Every entry keeps its place, a bad one too, so later messages (config_validate's,
     * `check`'s) name the index the file uses. */
    d->nhttp = n;
    for (int i = 0; i < n; i++) {
        char prefix[64], sub[96];
        http_source_config *s = &d->http[i];
        for (int k = 0; k < f->nelem; k++)
            config_schema_settle(&f->elem[k], s);
        if (!table_entry(ld, v, i, field, shape, prefix, sizeof prefix))
            continue;
        load_table(ld, s, f->elem, f->nelem, "", prefix, lua_gettop(L));
        lua_pop(L, 1);
        snprintf(sub, sizeof sub, "%s.symbol", prefix);
        if (s->symbol[0] && !symbol_valid(s->symbol, strlen(s->symbol)))
            problem(ld, sub, "\"%s\" is not a symbol; use 1 to %d characters of %s", s->symbol,
                    SYMBOL_MAX - 1, SYMBOL_CHARS_DOC);
    }
}

/* notifications.webhooks = { "https://...", { url = ..., template = ..., header_env = ... } }.
 * The URL, the template and the header variable are notify_check's (at `check`, and when
 * `run` opens the notifier). */
static void read_webhooks(loader *ld, const config_field *f, int v, const char *field)
{
    lua_State *L = ld->L;
    notify_config *nc = &ld->cfg->notifications;
    void *items;
    int n = list_items(ld, v, field, "a list of URLs or { url = ..., template = ... }",
                       sizeof *nc->webhooks, &items);
    if (!(nc->webhooks = items))
        return;
    nc->nwebhooks = n; /* a bad entry keeps its place, so messages name the file's index */
    luaL_checkstack(L, 1, field);
    for (int i = 0; i < n; i++) {
        char item[64];
        snprintf(item, sizeof item, "%s[%d]", field, i + 1);
        notify_webhook_config *w = &nc->webhooks[i];
        for (int k = 0; k < f->nelem; k++)
            config_schema_settle(&f->elem[k], w);
        int type = lua_rawgeti(L, v, i + 1), it = lua_gettop(L);
        size_t len;
        if (type == LUA_TTABLE) {
            load_table(ld, w, f->elem, f->nelem, "", item, it);
        } else {
            const char *url =
                text_at(ld, it, item, "a URL or { url = \"https://...\", template = ... }", &len);
            if (url && len >= sizeof w->url)
                problem(ld, item, "is %zu characters; at most %zu", len, sizeof w->url - 1);
            else if (url)
                memcpy(w->url, url, len + 1);
        }
        lua_settop(L, it - 1);
    }
}

static void read_instructions(loader *ld, const config_field *f, int v, const char *field)
{
    static const config_field file_fields[] = {
        {.path = "file", .type = CONFIG_PATH, .flags = CONFIG_F_MUST_EXIST}};
    lua_State *L = ld->L;
    pipeline_config *cfg = ld->cfg;
    void *items;
    int n = list_items(ld, v, field, "a table { ... }", sizeof *cfg->instructions, &items);
    if (!(cfg->instructions = items))
        return;
    luaL_checkstack(L, 2, field);
    for (int i = 0; i < n; i++) {
        char item[48], path[CONFIG_PATH_MAX];
        snprintf(item, sizeof item, "%s[%d]", field, i + 1);
        int type = lua_rawgeti(L, v, i + 1), it = lua_gettop(L);
        instruction *ins = &cfg->instructions[cfg->ninstructions];
        const char *value = NULL;
        size_t len;
        if (type == LUA_TTABLE) {
            char sub[64];
            snprintf(sub, sizeof sub, "%s.file", item);
            if (check_fields(ld, it, file_fields, 1, "", item)) {
                if (raw_field(L, it, "file") == LUA_TNIL)
                    problem(ld, item, "expected { file = \"rule.lua\" }");
                else if (read_path(ld, &file_fields[0], it + 1, sub, path, sizeof path) == 1)
                    value = path;
            }
            ins->kind = INSTRUCTION_FILE;
        } else {
            value = text_at(ld, it, item,
                            "a sentence such as \"close if VIX > 40\" or { file = \"rule.lua\" }",
                            &len);
            ins->kind = INSTRUCTION_TEXT;
        }
        if (value && !(ins->value = strdup(value)))
            out_of_memory(ld, item);
        if (ins->value)
            cfg->ninstructions++;
        lua_settop(L, it - 1);
    }
}

/* What an instrument's tick or lot holds until the file gives it: money_from_double never
 * yields it, so an explicit 0 stays 0 and is reported, and only an absent value inherits. */
#define INSTRUMENT_INHERIT INT64_MIN

/* instruments = { default = { tick, lot }, ["BTC/USD"] = { tick, lot } }; [0] is always
 * the default, as config_instrument expects. */
static void read_instruments(loader *ld, const config_field *f, int v, const char *field)
{
    lua_State *L = ld->L;
    pipeline_config *cfg = ld->cfg;
    if (lua_type(L, v) != LUA_TTABLE)
        return wrong_type(ld, field, v, "a table { ... }");
    if (!plain_table(ld, v, field))
        return;
    luaL_checkstack(L, 3, field);
    int count = 1;
    lua_pushnil(L);
    while (lua_next(L, v)) {
        lua_pop(L, 1);
        count++;
    }
    cfg->instruments = calloc((size_t)count, sizeof *cfg->instruments);
    if (!cfg->instruments)
        return out_of_memory(ld, field);
    cfg->instruments[0].rules = MONEY_INSTRUMENT_DEFAULT;
    cfg->ninstruments = 1;
    lua_pushnil(L);
    while (lua_next(L, v)) {
        int e = lua_gettop(L);
        size_t len = 0;
        const char *sym = lua_type(L, -2) == LUA_TSTRING ? lua_tolstring(L, -2, &len) : NULL;
        bool is_default = sym && strcmp(sym, "default") == 0;
        char prefix[64];
        snprintf(prefix, sizeof prefix, "%s.%.*s", field, sym ? (int)len : 1, sym ? sym : "?");
        if (cfg->ninstruments == count && !is_default) {
            /* The walk runs no Lua code, so this cannot happen; if it ever did, the array
             * must not be written past. */
            problem(ld, field, "changed while it was being read; build it before returning it");
            lua_settop(L, v);
            break;
        }
        if (!sym || !lua_istable(L, e))
            problem(ld, prefix, "expected SYMBOL = { tick = 0.01, lot = 1 } (or default = ...)");
        else if (!is_default && !symbol_valid(sym, len))
            problem(ld, prefix, "is not a symbol; use 1 to %d characters of %s", SYMBOL_MAX - 1,
                    SYMBOL_CHARS_DOC);
        else {
            instrument_config *ic =
                is_default ? &cfg->instruments[0] : &cfg->instruments[cfg->ninstruments++];
            if (!is_default) {
                ic->rules = (money_instrument){INSTRUMENT_INHERIT, INSTRUMENT_INHERIT};
                memcpy(ic->symbol, sym, len + 1);
            }
            load_table(ld, &ic->rules, f->elem, f->nelem, "", prefix, e);
        }
        lua_settop(L, e - 1);
    }
    /* A symbol without its own tick or lot inherits the default's (whatever order the
     * table was walked in). */
    for (int i = 1; i < cfg->ninstruments; i++) {
        if (cfg->instruments[i].rules.tick == INSTRUMENT_INHERIT)
            cfg->instruments[i].rules.tick = cfg->instruments[0].rules.tick;
        if (cfg->instruments[i].rules.lot == INSTRUMENT_INHERIT)
            cfg->instruments[i].rules.lot = cfg->instruments[0].rules.lot;
    }
    config_sort_instruments(cfg);
}

typedef void (*hook_fn)(loader *ld, const config_field *f, int v, const char *field);

static const hook_fn hooks[CONFIG_HOOK_COUNT] = {
    [CONFIG_HOOK_SYMBOLS] = read_symbols,         [CONFIG_HOOK_SCRIPT] = read_script,
    [CONFIG_HOOK_STAGES] = read_stages,           [CONFIG_HOOK_INSTRUCTIONS] = read_instructions,
    [CONFIG_HOOK_INSTRUMENTS] = read_instruments, [CONFIG_HOOK_HTTP] = read_http,
    [CONFIG_HOOK_WEBHOOKS] = read_webhooks,
};

/* --- the walk -------------------------------------------------------------------------- */

static int read_value(loader *ld, const config_field *f, void *base, int v, const char *field)
{
    lua_State *L = ld->L;
    void *p = config_field_ptr(base, f);
    switch (f->type) {
    case CONFIG_BOOL:
        if (lua_type(L, v) != LUA_TBOOLEAN)
            break;
        *(bool *)p = lua_toboolean(L, v);
        return 1;
    case CONFIG_INT:
    case CONFIG_INT64:
    case CONFIG_NUMBER:
    case CONFIG_MONEY:
    case CONFIG_PERCENT:
        return read_number(ld, f, base, v, field);
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
    wrong_type(ld, field, v, f->type == CONFIG_BOOL ? "true or false" : "a table { ... }");
    return -1;
}

/* Reads the fields of section `parent` (rows[0..nrows)) from the table at t into base;
 * prefix names the section in messages. [-0, +0] */
static void load_table(loader *ld, void *base, const config_field *rows, int nrows,
                       const char *parent, const char *prefix, int t)
{
    lua_State *L = ld->L;
    luaL_checkstack(L, 2, "pipeline table nested too deeply");
    if (!check_fields(ld, t, rows, nrows, parent, prefix))
        return;
    for (int i = 0; i < nrows; i++) {
        const config_field *f = &rows[i];
        if (!config_field_is_child(f, parent))
            continue;
        char field[160];
        join(field, sizeof field, prefix, config_field_name(f));
        int type = raw_field(L, t, config_field_name(f)), v = lua_gettop(L);
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

/* --- --param PATH=VALUE -------------------------------------------------------------- */

/* Pushes one scalar VALUE as the file would have written it: true/false, a number, else
 * a string. [-0, +1, m] */
static void push_override_scalar(lua_State *L, const char *v)
{
    if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0)
        lua_pushboolean(L, v[0] == 't');
    else if (v[0] == '\0' || lua_stringtonumber(L, v) == 0)
        lua_pushstring(L, v);
}

/* Pushes "[a, b, c]" as the list { a, b, c }, each element a scalar as above (blanks
 * around it dropped), or a string verbatim when in double quotes ("[\"5\", \"a,b\"]").
 * "[]" is the empty list. False, with a problem naming the --param and nothing pushed,
 * when the text is not such a list. [-0, +(0|1), m] */
static bool push_override_list(loader *ld, const char *path, const char *v)
{
    lua_State *L = ld->L;
    const char *field_end = v + strlen(v) - 1;
    while (field_end > v && (*field_end == ' ' || *field_end == '\t'))
        field_end--;
    if (*field_end != ']') {
        problem(ld, path, "'%s' starts a list but does not end with ']'; write %s=[a,b,c]", v,
                path);
        return false;
    }
    lua_newtable(L);
    const char *at = v + 1;
    char elem[256];
    for (int n = 1;; n++) {
        while (*at == ' ' || *at == '\t')
            at++;
        if (at == field_end && n == 1)
            return true; /* [] */
        size_t len = 0;
        bool quoted = *at == '"';
        if (quoted) {
            const char *close = strchr(at + 1, '"');
            if (!close || close > field_end) {
                problem(ld, path, "element %d: the quote is not closed; write [\"a\",\"b\"]", n);
                lua_pop(L, 1);
                return false;
            }
            len = (size_t)(close - at - 1);
            at++;
            if (len < sizeof elem)
                memcpy(elem, at, len);
            at = close + 1;
            while (*at == ' ' || *at == '\t')
                at++;
        } else {
            const char *end = at;
            while (end < field_end && *end != ',')
                end++;
            const char *last = end;
            while (last > at && (last[-1] == ' ' || last[-1] == '\t'))
                last--;
            len = (size_t)(last - at);
            if (len < sizeof elem)
                memcpy(elem, at, len);
            at = end;
        }
        if (len >= sizeof elem) {
            problem(ld, path, "element %d is longer than %zu bytes", n, sizeof elem - 1);
            lua_pop(L, 1);
            return false;
        }
        elem[len] = '\0';
        if (!quoted && len == 0) {
            problem(ld, path, "element %d is empty; write %s=[a,b,c] with a value between commas",
                    n, path);
            lua_pop(L, 1);
            return false;
        }
        if (quoted)
            lua_pushlstring(L, elem, len);
        else
            push_override_scalar(L, elem);
        lua_rawseti(L, -2, n);
        if (at == field_end)
            return true;
        if (*at != ',') {
            problem(ld, path, "element %d: expected ',' or ']' after it; write %s=[a,b,c]", n,
                    path);
            lua_pop(L, 1);
            return false;
        }
        at++;
    }
}

/* Pushes VALUE as the file would have written it: a list when in brackets, else a
 * scalar. False (nothing pushed) after a problem. */
static bool push_override_value(loader *ld, const char *path, const char *v)
{
    if (v[0] == '[')
        return push_override_list(ld, path, v);
    push_override_scalar(ld->L, v);
    return true;
}

/* t[name] as a table, creating it (or, for strategy/bias given as a file name, turning
 * "f.lua" into { file = "f.lua" }). [-0, +1, e] */
static void sub_table(lua_State *L, int t, const char *name)
{
    int type = lua_getfield(L, t, name);
    if (type == LUA_TTABLE)
        return;
    lua_newtable(L);
    if (type == LUA_TSTRING) {
        lua_pushvalue(L, -2);
        lua_setfield(L, -2, "file");
    }
    lua_remove(L, -2);
    lua_pushvalue(L, -1);
    lua_setfield(L, t, name);
}

/* Writes each --param into the file's table before it is read, so a value from the
 * command line goes through exactly the checks a value in the file does. strategy.NAME
 * and bias.NAME are that module's params (strategy.params.NAME); any other path is a
 * pipeline field (risk.max_positions, exits.trailing_stop.activation_pct). */
static void apply_overrides(loader *ld, int t)
{
    lua_State *L = ld->L;
    luaL_checkstack(L, 8, NULL);
    for (int i = 0; i < ld->noverrides; i++) {
        char path[256];
        snprintf(path, sizeof path, "%s", ld->overrides[i]);
        char *eq = strchr(path, '=');
        if (!eq)
            continue; /* the command line refused it already */
        *eq = '\0';
        char field[256];
        snprintf(field, sizeof field, "%s", path);
        int top = lua_gettop(L), cur = t;
        char *save = NULL, *part = strtok_r(path, ".", &save);
        bool module = strcmp(part, "strategy") == 0 || strcmp(part, "bias") == 0;
        for (int depth = 0; part; depth++) {
            char *next = strtok_r(NULL, ".", &save);
            if (!next) {
                if (push_override_value(ld, field, eq + 1))
                    lua_setfield(L, cur, part);
                break;
            }
            sub_table(L, cur, part);
            cur = lua_gettop(L);
            if (module && depth == 0) {
                sub_table(L, cur, "params");
                cur = lua_gettop(L);
            }
            part = next;
        }
        lua_settop(L, top);
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
    /* From here no Lua code runs (raw reads, no finalizers in the sandbox); with the
     * collector stopped, not even a weak table can lose an entry under the walk. */
    lua_gc(L, LUA_GCSTOP);
    apply_overrides(ld, t);
    load_table(ld, ld->cfg, config_schema, config_schema_count, "", "", t);
    return 0;
}

int script_load_pipeline(const char *path, pipeline_config *cfg, diag_list *diags)
{
    return script_load_pipeline_with(path, cfg, NULL, 0, diags);
}

int script_load_pipeline_with(const char *path, pipeline_config *cfg, const char *const *overrides,
                              int noverrides, diag_list *diags)
{
    loader ld = {NULL, path, diags, 0, cfg, overrides, noverrides};
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
    int rc = sandbox_pcall(&sb, 1, err, sizeof err);
    bool evaluated = rc == 0;
    if (rc == APEX_ENOMEM)
        diag_add(diags,
                 "%s: the file used more than the %u MiB of memory a pipeline file may use; "
                 "build smaller tables and load large data from files",
                 path, (unsigned)(lim.memory_limit >> 20));
    else if (!evaluated && strstr(err, slash ? slash + 1 : path))
        diag_add(diags, "%s", err); /* "file:line: ...", as syntax and runtime errors read */
    else if (!evaluated)            /* raised where no line of the file was running */
        diag_add(diags, "%s: %s", path, err);
    if (!evaluated)
        ld.n++;
    script_output_flush(&sb, true); /* what its prints dropped, if anything */
    sandbox_close(&sb);
    /* Range and cross-field checks only make sense once the file itself evaluated. */
    if (evaluated)
        ld.n += config_validate(cfg, diags);
    return ld.n;
}
