/* ta: apex.ta's indicators in C (see ta.h).
 *
 * Why C: strategies call these on every bar of million-bar backtests. As Lua tables
 * each update ran 20-60 VM instructions with table reads and writes of every field;
 * here an update is one C call over a struct.
 *
 * Every computation below repeats the Lua implementation's operations in the same order
 * (the same roundings), so values agree with it exactly, not merely within a tolerance;
 * comments say where a choice is Lua's (1-based ring positions become 0-based here, the
 * resum adds the buffer in slot order, not window order). Errors are raised with
 * luaL_error, whose level 1 is the Lua line that called the C function: the script's
 * call of ta.sma(...) or obj:update(...), as the Lua version's error levels gave.
 *
 * The arithmetic of SMA, EMA, RSI and ATR is core/ta's blocks (ta/window.h); Bollinger,
 * MACD's line and highest/lowest stay here. The indicators of the library (core/ta, the
 * list in ta/indicator.h) have no class of their own: one generic class reads each one's
 * ta_def (its parameters, inputs and outputs) and a metatable per kind is built from it. */
#include "script/ta.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>

#include "ta/indicator.h"
#include "ta/window.h"

/* Largest period: a window of ten million values (80 MB of doubles, more than any
 * sandbox's memory cap allows, so the cap is what refuses it in practice). */
#define TA_PERIOD_MAX 10000000
/* Running sums are re-summed from the window every max(RESUM_MIN, 4 n) updates. */
#define RESUM_MIN 1024

/* --- objects ------------------------------------------------------------------------ */

/* Fields a script can read; the lookup table of each class maps a name to its id. */
enum {
    F_N,
    F_VALUE,
    F_UPPER,
    F_LOWER,
    F_STDEV,
    F_WIDTH,
    F_K,
    F_SIGNAL,
    F_HISTOGRAM,
    F_PERCENT,
    F_TYPICAL,
    F_COUNT
};
static const char *const field_names[F_COUNT] = {"n",         "value",   "upper",  "lower",
                                                 "stdev",     "width",   "k",      "signal",
                                                 "histogram", "percent", "typical"};

/* The head every indicator struct starts with. */
typedef struct {
    lua_Integer n;
    bool ready;     /* value is set (Lua: self.value ~= nil) */
    bool value_int; /* value is the integer ivalue (highest/lowest fed integers) */
    double value;
    lua_Integer ivalue;
} ta_head;

typedef struct ta_class {
    const char *name; /* registry key and __name: "apex.ta.sma" */
    const char *kind; /* "sma", the constructor's name in messages */
    lua_CFunction ctor;
    lua_CFunction update;
    unsigned fields; /* bit F_x set: the object has field x (n and value always) */
    /* pushes an extra field (not n or value) of the object */
    void (*push_extra)(lua_State *L, const ta_head *h, int id);
} ta_class;

/* Checks that argument 1 is an object of the class whose metatable is upvalue 1 of the
 * running method: a script can call sma.update(atr, x) or sma.update(5). */
static void *check_self(lua_State *L)
{
    void *p = lua_touserdata(L, 1);
    if (p != NULL && lua_getmetatable(L, 1)) {
        bool same = lua_rawequal(L, -1, lua_upvalueindex(1));
        lua_pop(L, 1);
        if (same)
            return p;
    }
    lua_getfield(L, lua_upvalueindex(1), "__name");
    luaL_typeerror(L, 1, lua_tostring(L, -1));
    return NULL;
}

/* A new object of the class whose metatable is upvalue 1 of the running constructor,
 * zeroed, through the state's allocator (a refusal raises Lua's memory error).
 * [-0, +1, m] */
static void *new_object(lua_State *L, size_t size, lua_Integer n)
{
    ta_head *h = lua_newuserdatauv(L, size, 0);
    memset(h, 0, size);
    h->n = n;
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_setmetatable(L, -2);
    return h;
}

static void set_value(ta_head *h, double v)
{
    h->value = v;
    h->ready = true;
}

/* obj.key: a method from the class's lookup table (upvalue 1), or a field by its id.
 * Reached only through the class metatable, which scripts cannot get, so argument 1 is
 * an object of the class (upvalue 2). A key the class does not have reads nil, as it did
 * from the Lua tables. */
static int ta_index(lua_State *L)
{
    /* the VM calls __index with exactly (object, key) */
    int t = lua_rawget(L, lua_upvalueindex(1));
    if (t != LUA_TNUMBER)
        return 1; /* a method, or nil */
    int id = (int)lua_tointeger(L, -1);
    const ta_head *h = lua_touserdata(L, 1);
    const ta_class *c = lua_touserdata(L, lua_upvalueindex(2));
    if (h == NULL)
        return luaL_error(L, "%s: field of something that is not an indicator", c->name);
    if (id == F_N)
        lua_pushinteger(L, h->n);
    else if (id == F_VALUE && !h->ready)
        lua_pushnil(L);
    else if (id == F_VALUE && h->value_int)
        lua_pushinteger(L, h->ivalue);
    else if (id == F_VALUE)
        lua_pushnumber(L, h->value);
    else
        c->push_extra(L, h, id);
    return 1;
}

/* The Lua objects were tables a script could write to; these are read-only, and say so
 * rather than failing with "attempt to index a userdata value". */
static int ta_newindex(lua_State *L)
{
    const ta_class *c = lua_touserdata(L, lua_upvalueindex(1));
    const char *key = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : luaL_typename(L, 2);
    return luaL_error(L,
                      "%s: cannot set field '%s': indicators are read-only; keep your own "
                      "values in ctx.state",
                      c->name, key);
}

static int ta_ready(lua_State *L)
{
    const ta_head *h = check_self(L);
    lua_pushboolean(L, h->ready);
    return 1;
}

/* --- argument checks ---------------------------------------------------------------- */

/* tostring(arg) for a message; an argument not given at all is nil, as in Lua. */
static const char *arg_text(lua_State *L, int arg)
{
    return lua_isnone(L, arg) ? "nil" : luaL_tolstring(L, arg, NULL);
}

/* The period at arg (dflt when it is nil and dflt > 0): a whole number 1..1e7, as an
 * integer. */
static lua_Integer check_period(lua_State *L, const char *ctor, const char *name, int arg,
                                lua_Integer dflt)
{
    if (dflt > 0 && lua_isnoneornil(L, arg))
        return dflt;
    if (lua_type(L, arg) == LUA_TNUMBER) {
        if (lua_isinteger(L, arg)) {
            lua_Integer n = lua_tointeger(L, arg);
            if (n >= 1 && n <= TA_PERIOD_MAX)
                return n;
        } else {
            double d = lua_tonumber(L, arg);
            if (d >= 1 && d <= TA_PERIOD_MAX && floor(d) == d)
                return (lua_Integer)d;
        }
    }
    return luaL_error(L, "ta.%s: %s must be a whole number of bars >= 1, got %s", ctor, name,
                      arg_text(L, arg));
}

/* Market data fed to update(): a number that is neither NaN nor infinite. */
static inline bool finite_arg(lua_State *L, int arg, double *x)
{
    if (lua_type(L, arg) != LUA_TNUMBER)
        return false;
    *x = lua_tonumber(L, arg);
    return isfinite(*x);
}

static int bad_input(lua_State *L, const char *what, int arg)
{
    return luaL_error(L, "%s:update: expected a finite number, got %s", what, arg_text(L, arg));
}

#define CHECK_INPUT(L, arg, x, what)                                                               \
    do {                                                                                           \
        if (!finite_arg(L, arg, &(x)))                                                             \
            return bad_input(L, what, arg);                                                        \
    } while (0)

/* An options table at arg whose only known key is `key` (accepting `accepts`, for the
 * message). Pushes the option's value (nil when absent). [-0, +1, e] */
static void check_options(lua_State *L, const char *ctor, int arg, const char *key,
                          const char *accepts)
{
    if (lua_isnoneornil(L, arg)) {
        lua_pushnil(L);
        return;
    }
    if (!lua_istable(L, arg))
        luaL_error(L, "ta.%s: options must be a table, got %s", ctor, arg_text(L, arg));
    lua_pushnil(L);
    while (lua_next(L, arg)) {
        if (lua_type(L, -2) != LUA_TSTRING || strcmp(lua_tostring(L, -2), key) != 0)
            luaL_error(L, "ta.%s: unknown option %s; known: %s (%s)", ctor,
                       luaL_tolstring(L, -2, NULL), key, accepts);
        lua_pop(L, 1);
    }
    lua_getfield(L, arg, key);
}

static size_t resum_interval(lua_Integer n)
{
    return n * 4 > RESUM_MIN ? (size_t)n * 4 : RESUM_MIN;
}

/* --- SMA, EMA, RSI, ATR: the blocks of core/ta (ta/window.h) --------------------------- */

/* These four were written here first; their arithmetic moved to core/ta unchanged,
 * operation for operation, so the values are still the Lua reference's to the last bit
 * (test_ttr's C-vs-Lua comparison counts any value that differs at all). */

typedef struct {
    ta_head h;
    ta_runsum r;
    double buf[];
} ta_sma;

static int sma_new(lua_State *L)
{
    lua_Integer n = check_period(L, "sma", "n", 1, 0);
    ta_sma *s = new_object(L, sizeof(ta_sma) + ta_runsum_bytes((size_t)n), n);
    ta_runsum_init(&s->r, (size_t)n, s->buf);
    return 1;
}

static int sma_update(lua_State *L)
{
    ta_sma *s = check_self(L);
    double x;
    CHECK_INPUT(L, 2, x, "sma");
    if (!ta_runsum_push(&s->r, x)) {
        lua_pushnil(L);
        return 1;
    }
    set_value(&s->h, s->r.sum / (double)s->h.n);
    lua_pushnumber(L, s->h.value);
    return 1;
}

typedef struct {
    ta_head h;
    ta_ema e;
} ta_ema_object;

static int ema_new(lua_State *L)
{
    lua_Integer n = check_period(L, "ema", "n", 1, 0);
    ta_ema_object *e = new_object(L, sizeof *e, n);
    ta_ema_init(&e->e, (size_t)n);
    return 1;
}

static int ema_update(lua_State *L)
{
    ta_ema_object *e = check_self(L);
    double x, v;
    CHECK_INPUT(L, 2, x, "ema");
    if (!ta_ema_push(&e->e, x, &v)) {
        lua_pushnil(L);
        return 1;
    }
    set_value(&e->h, v);
    lua_pushnumber(L, v);
    return 1;
}

typedef struct {
    ta_head h;
    ta_rsi r;
} ta_rsi_object;

static int rsi_new(lua_State *L)
{
    lua_Integer n = check_period(L, "rsi", "n", 1, 0);
    ta_rsi_object *r = new_object(L, sizeof *r, n);
    ta_rsi_init(&r->r, (size_t)n);
    return 1;
}

static int rsi_update(lua_State *L)
{
    ta_rsi_object *r = check_self(L);
    double x, v;
    CHECK_INPUT(L, 2, x, "rsi");
    if (!ta_rsi_push(&r->r, x, &v)) {
        lua_pushnil(L);
        return 1;
    }
    set_value(&r->h, v);
    lua_pushnumber(L, v);
    return 1;
}

typedef struct {
    ta_head h;
    ta_atr a;
} ta_atr_object;

static int atr_new(lua_State *L)
{
    lua_Integer n = check_period(L, "atr", "n", 1, 0);
    check_options(L, "atr", 2, "first_tr", "\"range\" or \"skip\"");
    bool skip = false;
    if (!lua_isnil(L, -1)) {
        const char *v = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
        if (v != NULL && strcmp(v, "skip") == 0)
            skip = true;
        else if (v == NULL || strcmp(v, "range") != 0)
            return luaL_error(L,
                              "ta.atr: first_tr must be \"range\" (the first bar's high - low, "
                              "the default) or \"skip\" (no true range without a previous "
                              "close, as TTR and TA-Lib), got %s",
                              luaL_tolstring(L, -1, NULL));
    }
    ta_atr_object *a = new_object(L, sizeof *a, n);
    ta_atr_init(&a->a, (size_t)n, skip);
    return 1;
}

static int atr_update(lua_State *L)
{
    ta_atr_object *a = check_self(L);
    double high, low, close, v;
    CHECK_INPUT(L, 2, high, "atr (high)");
    CHECK_INPUT(L, 3, low, "atr (low)");
    CHECK_INPUT(L, 4, close, "atr (close)");
    if (!ta_atr_push(&a->a, high, low, close, &v)) {
        lua_pushnil(L);
        return 1;
    }
    set_value(&a->h, v);
    lua_pushnumber(L, v);
    return 1;
}

/* --- Bollinger bands ------------------------------------------------------------------ */

/* The variance comes from running sums of (x - shift), re-centred on the window mean at
 * every resum (see the Lua reference for why). */
typedef struct {
    ta_head h;
    double k;
    bool k_int; /* k was given as an integer: obj.k reads it back as one */
    lua_Integer k_integer;
    bool typical; /* update takes high, low, close and uses (high + low + close) / 3 */
    bool has_shift;
    double shift, sum, sumsq, upper, lower, stdev, width;
    lua_Integer pos, count;
    size_t since_resum, resum_every;
    double buf[];
} ta_bollinger;

static int bollinger_new(lua_State *L)
{
    lua_Integer n = check_period(L, "bollinger", "n", 1, 0);
    bool k_int = true;
    lua_Integer k_integer = 2;
    double k = 2;
    if (!lua_isnoneornil(L, 2)) {
        bool ok = lua_type(L, 2) == LUA_TNUMBER;
        if (ok) {
            k_int = lua_isinteger(L, 2);
            k_integer = k_int ? lua_tointeger(L, 2) : 0;
            k = lua_tonumber(L, 2);
            ok = !isnan(k) && k >= 0 && k != HUGE_VAL;
        }
        if (!ok)
            return luaL_error(L, "ta.bollinger: k must be a number >= 0 (e.g. 2), got %s",
                              arg_text(L, 2));
    }
    check_options(L, "bollinger", 3, "typical", "true or false");
    if (!lua_isnil(L, -1) && !lua_isboolean(L, -1))
        return luaL_error(L, "ta.bollinger: typical must be true or false, got %s",
                          luaL_tolstring(L, -1, NULL));
    bool typical = lua_toboolean(L, -1);
    ta_bollinger *b = new_object(L, sizeof(ta_bollinger) + (size_t)n * sizeof(double), n);
    b->typical = typical;
    b->k = k;
    b->k_int = k_int;
    b->k_integer = k_integer;
    b->resum_every = resum_interval(n);
    return 1;
}

static void bollinger_resum(ta_bollinger *b)
{
    double raw = 0.0;
    for (lua_Integer i = 0; i < b->count; i++)
        raw = raw + b->buf[i];
    double shift = raw / (double)b->count;
    double s = 0.0, sq = 0.0;
    for (lua_Integer i = 0; i < b->count; i++) {
        double d = b->buf[i] - shift;
        s = s + d;
        sq = sq + d * d;
    }
    b->shift = shift;
    b->sum = s;
    b->sumsq = sq;
}

static int bollinger_update(lua_State *L)
{
    ta_bollinger *b = check_self(L);
    double x;
    if (b->typical) {
        /* TTR's BBands default: the typical price of the bar */
        double high, low, close;
        CHECK_INPUT(L, 2, high, "bollinger (high)");
        CHECK_INPUT(L, 3, low, "bollinger (low)");
        CHECK_INPUT(L, 4, close, "bollinger (close)");
        x = (high + low + close) / 3;
    } else {
        CHECK_INPUT(L, 2, x, "bollinger");
    }
    lua_Integer n = b->h.n;
    if (!b->has_shift) {
        b->shift = x;
        b->has_shift = true;
    }
    lua_Integer pos = b->pos % n + 1;
    b->pos = pos;
    if (b->count < n) {
        b->count++;
    } else {
        double d = b->buf[pos - 1] - b->shift;
        b->sum = b->sum - d;
        b->sumsq = b->sumsq - d * d;
    }
    b->buf[pos - 1] = x;
    double d = x - b->shift;
    b->sum = b->sum + d;
    b->sumsq = b->sumsq + d * d;
    if (++b->since_resum >= b->resum_every) {
        bollinger_resum(b);
        b->since_resum = 0;
    }
    if (b->count < n) {
        lua_pushnil(L);
        return 1;
    }
    double mean_d = b->sum / (double)n;
    double var = b->sumsq / (double)n - mean_d * mean_d;
    if (var < 0)
        var = 0.0; /* rounding can dip a flat window a hair below zero */
    double sd = sqrt(var);
    double mid = b->shift + mean_d;
    double upper = mid + b->k * sd, lower = mid - b->k * sd;
    set_value(&b->h, mid);
    b->upper = upper;
    b->lower = lower;
    b->stdev = sd;
    b->width = mid != 0 ? (upper - lower) / fabs(mid) : 0.0;
    lua_pushnumber(L, mid);
    lua_pushnumber(L, upper);
    lua_pushnumber(L, lower);
    return 3;
}

static void bollinger_push_extra(lua_State *L, const ta_head *h, int id)
{
    const ta_bollinger *b = (const ta_bollinger *)h;
    if (id == F_TYPICAL) {
        lua_pushboolean(L, b->typical);
    } else if (id == F_K) {
        if (b->k_int)
            lua_pushinteger(L, b->k_integer);
        else
            lua_pushnumber(L, b->k);
    } else if (!h->ready) {
        lua_pushnil(L);
    } else {
        lua_pushnumber(L, id == F_UPPER   ? b->upper
                          : id == F_LOWER ? b->lower
                          : id == F_STDEV ? b->stdev
                                          : b->width);
    }
}

/* --- MACD ----------------------------------------------------------------------------- */

typedef struct {
    ta_head h;
    bool percent;
    ta_ema fast, slow, signal;
    double signal_value, histogram;
} ta_macd;

static int macd_new(lua_State *L)
{
    lua_Integer fast = check_period(L, "macd", "fast", 1, 12);
    lua_Integer slow = check_period(L, "macd", "slow", 2, 26);
    lua_Integer signal = check_period(L, "macd", "signal", 3, 9);
    if (fast >= slow)
        return luaL_error(L, "ta.macd: fast (%I) must be shorter than slow (%I), e.g. 12, 26, 9",
                          (LUAI_UACINT)fast, (LUAI_UACINT)slow);
    check_options(L, "macd", 4, "percent", "true or false");
    if (!lua_isnil(L, -1) && !lua_isboolean(L, -1))
        return luaL_error(L, "ta.macd: percent must be true or false, got %s",
                          luaL_tolstring(L, -1, NULL));
    bool percent = lua_toboolean(L, -1);
    ta_macd *m = new_object(L, sizeof *m, slow);
    m->percent = percent;
    ta_ema_init(&m->fast, (size_t)fast);
    ta_ema_init(&m->slow, (size_t)slow);
    ta_ema_init(&m->signal, (size_t)signal);
    return 1;
}

static int macd_update(lua_State *L)
{
    ta_macd *m = check_self(L);
    double x, f, s, sig;
    CHECK_INPUT(L, 2, x, "macd");
    bool have_f = ta_ema_push(&m->fast, x, &f);
    bool have_s = ta_ema_push(&m->slow, x, &s);
    if (!have_f || !have_s) {
        lua_pushnil(L);
        return 1;
    }
    double line;
    if (m->percent) {
        if (s == 0)
            /* a series that reaches 0 (a spread, say) has no percent MACD; say so rather
             * than feed an infinity to the signal line */
            return luaL_error(L, "macd:update: percent MACD of a series whose slow EMA is 0; "
                                 "use the absolute MACD (percent = false) for series that "
                                 "cross zero");
        line = 100.0 * (f / s - 1.0);
    } else {
        line = f - s;
    }
    /* the signal line is an EMA fed the MACD line, checked as any EMA input */
    if (!isfinite(line)) {
        lua_pushnumber(L, line);
        return bad_input(L, "ema", lua_gettop(L));
    }
    if (!ta_ema_push(&m->signal, line, &sig)) {
        lua_pushnil(L);
        return 1;
    }
    double hist = line - sig;
    set_value(&m->h, line);
    m->signal_value = sig;
    m->histogram = hist;
    lua_pushnumber(L, line);
    lua_pushnumber(L, sig);
    lua_pushnumber(L, hist);
    return 3;
}

static void macd_push_extra(lua_State *L, const ta_head *h, int id)
{
    const ta_macd *m = (const ta_macd *)h;
    if (id == F_PERCENT)
        lua_pushboolean(L, m->percent);
    else if (!h->ready)
        lua_pushnil(L);
    else
        lua_pushnumber(L, id == F_SIGNAL ? m->signal_value : m->histogram);
}

/* --- highest / lowest ----------------------------------------------------------------- */

/* A monotonic deque of sequence numbers over a ring of the last n values: every value
 * enters and leaves the deque once, so an update is amortised O(1). Values keep their
 * Lua subtype: the extreme of integers reads back as an integer, as from the Lua tables. */
typedef union {
    double d;
    lua_Integer i;
} ta_slot;

typedef struct {
    ta_head h;
    bool is_max;
    lua_Integer count, head, len; /* head: 0-based position in dq of the front */
    ta_slot *vals;                /* n values, slot (seq - 1) % n */
    unsigned char *is_int;        /* n flags: vals[i] holds an integer */
    lua_Integer dq[];             /* n sequence numbers */
} ta_extreme_object;

static double slot_number(const ta_extreme_object *e, lua_Integer slot)
{
    return e->is_int[slot] ? (double)e->vals[slot].i : e->vals[slot].d;
}

static int extreme_new(lua_State *L, const char *kind, bool is_max)
{
    lua_Integer n = check_period(L, kind, "n", 1, 0);
    size_t un = (size_t)n;
    size_t size = sizeof(ta_extreme_object) + un * sizeof(lua_Integer) + un * sizeof(ta_slot) + un;
    ta_extreme_object *e = new_object(L, size, n);
    e->is_max = is_max;
    e->vals = (ta_slot *)(void *)(e->dq + un);
    e->is_int = (unsigned char *)(e->vals + un);
    return 1;
}

static int highest_new(lua_State *L)
{
    return extreme_new(L, "highest", true);
}

static int lowest_new(lua_State *L)
{
    return extreme_new(L, "lowest", false);
}

static int extreme_update(lua_State *L)
{
    ta_extreme_object *e = check_self(L);
    double x;
    CHECK_INPUT(L, 2, x, e->is_max ? "highest" : "lowest");
    lua_Integer n = e->h.n;
    lua_Integer count = ++e->count;
    lua_Integer slot = (count - 1) % n;
    if (lua_isinteger(L, 2)) {
        e->vals[slot].i = lua_tointeger(L, 2);
        e->is_int[slot] = 1;
    } else {
        e->vals[slot].d = x;
        e->is_int[slot] = 0;
    }
    lua_Integer head = e->head, len = e->len;
    /* the front leaves the window once it is n values old */
    if (len > 0 && e->dq[head] <= count - n) {
        head = (head + 1) % n;
        len--;
    }
    /* values the new one dominates can never be the extreme again */
    while (len > 0) {
        double bv = slot_number(e, (e->dq[(head + len - 1) % n] - 1) % n);
        if (e->is_max ? bv <= x : bv >= x)
            len--;
        else
            break;
    }
    e->dq[(head + len) % n] = count;
    len++;
    e->head = head;
    e->len = len;
    if (count < n) {
        lua_pushnil(L);
        return 1;
    }
    lua_Integer front = (e->dq[head] - 1) % n;
    e->h.ready = true;
    e->h.value_int = e->is_int[front];
    if (e->h.value_int) {
        e->h.ivalue = e->vals[front].i;
        lua_pushinteger(L, e->h.ivalue);
    } else {
        e->h.value = e->vals[front].d;
        lua_pushnumber(L, e->h.value);
    }
    return 1;
}

/* --- crossings ------------------------------------------------------------------------ */

/* True only on the bar where a moves from at-or-below b to above it (crossed_above:
 * prev_a <= prev_b and a > b; crossed_below the mirror); any nil (an indicator still
 * warming up) means no crossing. Comparisons are Lua's own (lua_compare), so values that
 * are not numbers fail as `prev_a <= prev_b` would. The arguments compared: first
 * `le_lo <= le_hi`, then `lt_lo < lt_hi`. */
static int crossed(lua_State *L, int le_lo, int le_hi, int lt_lo, int lt_hi)
{
    bool any_nil = false;
    for (int i = 1; i <= 4; i++)
        any_nil = any_nil || lua_isnoneornil(L, i);
    lua_pushboolean(L, !any_nil && lua_compare(L, le_lo, le_hi, LUA_OPLE) &&
                           lua_compare(L, lt_lo, lt_hi, LUA_OPLT));
    return 1;
}

static int crossed_above(lua_State *L)
{
    return crossed(L, 1, 2, 4, 3);
}

static int crossed_below(lua_State *L)
{
    return crossed(L, 2, 1, 3, 4);
}

/* --- the core/ta indicators: one binding for all ------------------------------------ */

/* An indicator of core/ta (ta/indicator.h) as a Lua object: its definition says what the
 * constructor takes, what update() is fed and what it returns; the library's state and
 * windows follow this struct in the same userdata. Field ids in the lookup table: an
 * output's index, or GENERIC_PARAM + a parameter's index. */
#define GENERIC_PARAM 100

typedef struct {
    ta_head h;
    const ta_def *def;
    int ninputs, noutputs;
    unsigned integer_outputs; /* bit i: output i is read as an integer (a direction) */
    double out[TA_MAX_OUTPUTS];
    double params[TA_MAX_PARAMS];
    double state[]; /* def->state_size bytes, then the windows */
} ta_generic;

/* The i-th choice word of "a|b|c" into buf; false past the last one. */
static bool choice_word(const char *choices, int i, char *buf, size_t size)
{
    const char *p = choices;
    for (int k = 0; k < i; k++) {
        p = strchr(p, '|');
        if (p == NULL)
            return false;
        p++;
    }
    size_t len = strcspn(p, "|");
    if (len + 1 > size)
        len = size - 1;
    memcpy(buf, p, len);
    buf[len] = '\0';
    return true;
}

/* The parameter `pa` of the constructor from the value at index `arg` (absent: its
 * default). Raises a message naming the parameter and how to fix it. */
static double generic_param(lua_State *L, const ta_def *d, const ta_param *pa, int arg)
{
    if (lua_isnoneornil(L, arg))
        return pa->dflt;
    switch (pa->kind) {
    case TA_PARAM_PERIOD: {
        lua_Integer n = check_period(L, d->kind, pa->name, arg, 0);
        if ((double)n < pa->min || (pa->max > 0 && (double)n > pa->max))
            return luaL_error(L, "ta.%s: %s must be %s, got %s", d->kind, pa->name, pa->hint,
                              arg_text(L, arg));
        return (double)n;
    }
    case TA_PARAM_NUMBER: {
        double x;
        if (!finite_arg(L, arg, &x) || x < pa->min || (pa->max > 0 && x > pa->max))
            return luaL_error(L, "ta.%s: %s must be %s, got %s", d->kind, pa->name, pa->hint,
                              arg_text(L, arg));
        return x;
    }
    case TA_PARAM_FLAG:
        if (!lua_isboolean(L, arg))
            return luaL_error(L, "ta.%s: %s must be %s, got %s", d->kind, pa->name, pa->hint,
                              arg_text(L, arg));
        return lua_toboolean(L, arg) ? 1.0 : 0.0;
    case TA_PARAM_CHOICE: {
        const char *v = lua_type(L, arg) == LUA_TSTRING ? lua_tostring(L, arg) : NULL;
        char word[32];
        for (int i = 0; v != NULL && choice_word(pa->choices, i, word, sizeof word); i++)
            if (strcmp(v, word) == 0)
                return (double)i;
        return luaL_error(L, "ta.%s: %s must be %s, got %s", d->kind, pa->name, pa->hint,
                          arg_text(L, arg));
    }
    }
    return pa->dflt;
}

/* Reads the constructor's positional parameters and its options table into params. */
static void generic_params(lua_State *L, const ta_def *d, double *params)
{
    int np = ta_def_nparams(d), arg = 1, noptions = 0;
    for (int i = 0; i < np; i++) {
        if (d->params[i].option)
            noptions++;
        else
            params[i] = generic_param(L, d, &d->params[i], arg++);
    }
    if (noptions == 0) {
        if (!lua_isnoneornil(L, arg))
            luaL_error(L, "ta.%s takes %d argument%s, got a value at %d: %s", d->kind, arg - 1,
                       arg - 1 == 1 ? "" : "s", arg, arg_text(L, arg));
        return;
    }
    int opts = arg;
    if (!lua_isnoneornil(L, opts) && !lua_istable(L, opts))
        luaL_error(L, "ta.%s: options must be a table, got %s", d->kind, arg_text(L, opts));
    if (lua_istable(L, opts)) {
        /* every key must be one of the options */
        lua_pushnil(L);
        while (lua_next(L, opts)) {
            bool known = false;
            for (int i = 0; i < np && !known; i++)
                known = d->params[i].option && lua_type(L, -2) == LUA_TSTRING &&
                        strcmp(lua_tostring(L, -2), d->params[i].name) == 0;
            if (!known) {
                luaL_Buffer b;
                luaL_buffinit(L, &b);
                for (int i = 0; i < np; i++) {
                    if (!d->params[i].option)
                        continue;
                    if (luaL_bufflen(&b) > 0)
                        luaL_addstring(&b, ", ");
                    luaL_addstring(&b, d->params[i].name);
                }
                luaL_pushresult(&b);
                const char *known_names = lua_tostring(L, -1);
                const char *key = luaL_tolstring(L, -3, NULL);
                luaL_error(L, "ta.%s: unknown option %s; known: %s", d->kind, key, known_names);
            }
            lua_pop(L, 1);
        }
    }
    for (int i = 0; i < np; i++) {
        if (!d->params[i].option)
            continue;
        if (lua_istable(L, opts))
            lua_getfield(L, opts, d->params[i].name);
        else
            lua_pushnil(L);
        params[i] = generic_param(L, d, &d->params[i], lua_gettop(L));
        lua_pop(L, 1);
    }
}

/* ta.<kind>(...): upvalue 1 the class metatable, upvalue 2 the definition. */
static int generic_new(lua_State *L)
{
    const ta_def *d = lua_touserdata(L, lua_upvalueindex(2));
    double params[TA_MAX_PARAMS] = {0};
    generic_params(L, d, params);
    const char *why = d->check ? d->check(params) : NULL;
    if (why != NULL)
        return luaL_error(L, "ta.%s: %s", d->kind, why);
    size_t state = (d->state_size + 7u) & ~(size_t)7u;
    size_t windows = d->window_bytes(params);
    if (windows > (size_t)TA_PERIOD_MAX * 64)
        return luaL_error(L,
                          "ta.%s: the periods ask for %zu bytes of windows; use shorter "
                          "ones",
                          d->kind, windows);
    ta_generic *g = new_object(L, sizeof(ta_generic) + state + windows,
                               ta_def_nparams(d) > 0 && d->params[0].kind == TA_PARAM_PERIOD &&
                                       !isnan(params[0])
                                   ? (lua_Integer)params[0]
                                   : 0);
    g->def = d;
    g->ninputs = ta_def_ninputs(d);
    g->noutputs = ta_def_noutputs(d);
    memcpy(g->params, params, sizeof g->params);
    for (int i = 0; i < g->noutputs; i++)
        if (strcmp(d->outputs[i], "direction") == 0)
            g->integer_outputs |= 1u << i;
    d->init(g->state, params, (char *)g->state + state);
    return 1;
}

static void push_output(lua_State *L, const ta_generic *g, int i, double v)
{
    if (isnan(v))
        lua_pushnil(L);
    else if (g->integer_outputs & (1u << i))
        lua_pushinteger(L, (lua_Integer)v);
    else
        lua_pushnumber(L, v);
}

/* obj:update(...): the definition's inputs, each a finite number (the optional ones may be
 * nil); returns the outputs, or nil while the indicator warms up. */
static int generic_update(lua_State *L)
{
    ta_generic *g = check_self(L);
    const ta_def *d = g->def;
    double in[TA_MAX_INPUTS], out[TA_MAX_OUTPUTS];
    for (int i = 0; i < g->ninputs; i++) {
        int arg = i + 2;
        if (i >= g->ninputs - d->optional_inputs && lua_isnoneornil(L, arg)) {
            in[i] = NAN;
        } else if (!finite_arg(L, arg, &in[i])) {
            char what[64];
            snprintf(what, sizeof what, "%s (%s)", d->kind, d->inputs[i]);
            return bad_input(L, g->ninputs == 1 ? d->kind : what, arg);
        }
    }
    for (int i = 0; i < g->noutputs; i++)
        out[i] = NAN;
    if (!d->update(g->state, in, out)) {
        lua_pushnil(L);
        return 1;
    }
    memcpy(g->out, out, (size_t)g->noutputs * sizeof out[0]);
    set_value(&g->h, out[0]);
    if (g->noutputs > LUA_MINSTACK - 2)
        luaL_checkstack(L, g->noutputs, NULL);
    for (int i = 0; i < g->noutputs; i++)
        push_output(L, g, i, out[i]);
    return g->noutputs;
}

/* obj.key: a method or a field (an output, or a parameter as given), by the lookup table
 * (upvalue 1); an unknown key reads nil, as for the other indicators. */
static int generic_index(lua_State *L)
{
    int t = lua_rawget(L, lua_upvalueindex(1));
    if (t != LUA_TNUMBER)
        return 1;
    int id = (int)lua_tointeger(L, -1);
    const ta_generic *g = lua_touserdata(L, 1);
    const ta_def *d = lua_touserdata(L, lua_upvalueindex(2));
    if (g == NULL)
        return luaL_error(L, "apex.ta.%s: field of something that is not an indicator", d->kind);
    if (id < GENERIC_PARAM) {
        if (!g->h.ready)
            lua_pushnil(L);
        else
            push_output(L, g, id, g->out[id]);
        return 1;
    }
    const ta_param *pa = &d->params[id - GENERIC_PARAM];
    double v = g->params[id - GENERIC_PARAM];
    char word[32];
    if (isnan(v))
        lua_pushnil(L);
    else if (pa->kind == TA_PARAM_PERIOD)
        lua_pushinteger(L, (lua_Integer)v);
    else if (pa->kind == TA_PARAM_FLAG)
        lua_pushboolean(L, v != 0);
    else if (pa->kind == TA_PARAM_CHOICE && choice_word(pa->choices, (int)v, word, sizeof word))
        lua_pushstring(L, word);
    else
        lua_pushnumber(L, v);
    return 1;
}

static int generic_newindex(lua_State *L)
{
    const ta_def *d = lua_touserdata(L, lua_upvalueindex(1));
    const char *key = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : luaL_typename(L, 2);
    return luaL_error(L,
                      "apex.ta.%s: cannot set field '%s': indicators are read-only; keep your "
                      "own values in ctx.state",
                      d->kind, key);
}

/* Pushes the metatable of a core/ta indicator, creating it in the registry the first
 * time, as push_class_metatable does for the classes above. [-0, +1, m] */
static void push_generic_metatable(lua_State *L, const ta_def *d)
{
    char name[64];
    snprintf(name, sizeof name, "apex.ta.%s", d->kind);
    if (!luaL_newmetatable(L, name))
        return;
    int mt = lua_gettop(L);
    lua_createtable(L, 0, 2 + TA_MAX_OUTPUTS + TA_MAX_PARAMS);
    lua_pushvalue(L, mt);
    lua_pushcclosure(L, generic_update, 1);
    lua_setfield(L, -2, "update");
    lua_pushvalue(L, mt);
    lua_pushcclosure(L, ta_ready, 1);
    lua_setfield(L, -2, "ready");
    for (int i = 0; i < ta_def_nparams(d); i++) {
        lua_pushinteger(L, GENERIC_PARAM + i);
        lua_setfield(L, -2, d->params[i].name);
    }
    /* outputs after parameters: a name both have reads the output */
    lua_pushinteger(L, 0);
    lua_setfield(L, -2, "value");
    for (int i = 0; i < ta_def_noutputs(d); i++) {
        lua_pushinteger(L, i);
        lua_setfield(L, -2, d->outputs[i]);
    }
    lua_pushlightuserdata(L, (void *)d);
    lua_pushcclosure(L, generic_index, 2);
    lua_setfield(L, mt, "__index");
    lua_pushlightuserdata(L, (void *)d);
    lua_pushcclosure(L, generic_newindex, 1);
    lua_setfield(L, mt, "__newindex");
    lua_pushboolean(L, 0);
    lua_setfield(L, mt, "__metatable");
}

/* --- the module ----------------------------------------------------------------------- */

#define EXTRA(f) (1u << (f))

static const ta_class classes[] = {
    {"apex.ta.sma", "sma", sma_new, sma_update, 0, NULL},
    {"apex.ta.ema", "ema", ema_new, ema_update, 0, NULL},
    {"apex.ta.rsi", "rsi", rsi_new, rsi_update, 0, NULL},
    {"apex.ta.atr", "atr", atr_new, atr_update, 0, NULL},
    {"apex.ta.bollinger", "bollinger", bollinger_new, bollinger_update,
     EXTRA(F_UPPER) | EXTRA(F_LOWER) | EXTRA(F_STDEV) | EXTRA(F_WIDTH) | EXTRA(F_K) |
         EXTRA(F_TYPICAL),
     bollinger_push_extra},
    {"apex.ta.macd", "macd", macd_new, macd_update,
     EXTRA(F_SIGNAL) | EXTRA(F_HISTOGRAM) | EXTRA(F_PERCENT), macd_push_extra},
    {"apex.ta.highest", "highest", highest_new, extreme_update, 0, NULL},
    {"apex.ta.lowest", "lowest", lowest_new, extreme_update, 0, NULL},
};

/* Pushes the class's metatable, creating it in the registry the first time: __name (by
 * luaL_newmetatable), __index over a lookup table of methods and field ids, a
 * __newindex that refuses, and __metatable = false so getmetatable(obj) gives nothing to
 * patch. [-0, +1, m] */
static void push_class_metatable(lua_State *L, const ta_class *c)
{
    if (!luaL_newmetatable(L, c->name))
        return;
    int mt = lua_gettop(L);
    lua_createtable(L, 0, 2 + F_COUNT);
    lua_pushvalue(L, mt);
    lua_pushcclosure(L, c->update, 1);
    lua_setfield(L, -2, "update");
    lua_pushvalue(L, mt);
    lua_pushcclosure(L, ta_ready, 1);
    lua_setfield(L, -2, "ready");
    unsigned fields = c->fields | EXTRA(F_N) | EXTRA(F_VALUE);
    for (int id = 0; id < F_COUNT; id++) {
        if (fields & EXTRA(id)) {
            lua_pushinteger(L, id);
            lua_setfield(L, -2, field_names[id]);
        }
    }
    lua_pushlightuserdata(L, (void *)c);
    lua_pushcclosure(L, ta_index, 2);
    lua_setfield(L, mt, "__index");
    lua_pushlightuserdata(L, (void *)c);
    lua_pushcclosure(L, ta_newindex, 1);
    lua_setfield(L, mt, "__newindex");
    lua_pushboolean(L, 0);
    lua_setfield(L, mt, "__metatable");
}

int ta_open(lua_State *L)
{
    size_t nclasses = sizeof classes / sizeof classes[0];
    luaL_checkstack(L, 6, NULL);
    lua_createtable(L, 0, (int)nclasses + 2);
    for (size_t i = 0; i < nclasses; i++) {
        push_class_metatable(L, &classes[i]);
        lua_pushcclosure(L, classes[i].ctor, 1);
        lua_setfield(L, -2, classes[i].kind);
    }
    for (size_t i = 0; ta_defs[i] != NULL; i++) {
        push_generic_metatable(L, ta_defs[i]);
        lua_pushlightuserdata(L, (void *)ta_defs[i]);
        lua_pushcclosure(L, generic_new, 2);
        lua_setfield(L, -2, ta_defs[i]->kind);
    }
    lua_pushcfunction(L, crossed_above);
    lua_setfield(L, -2, "crossed_above");
    lua_pushcfunction(L, crossed_below);
    lua_setfield(L, -2, "crossed_below");
    return 1;
}
