/* output: print, ctx.log and apex.log, capped per line and per minute (see output.h).
 *
 * Lines are assembled in a fixed buffer on the C stack, not in a Lua string buffer: what
 * a script asks to print can be any size, and copying it into the state first is the very
 * thing the cap is there to prevent (print of a 16 MB string wrote 16 MB per call). */
#include "script/output.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>
#include <lualib.h>

#include "script/sandbox.h"
#include "util/log.h"

#define WINDOW_US (60 * (int64_t)1000000)

#define STRINGIFY(x) #x
#define TEXT_OF(x)   STRINGIFY(x)
static const char CUT_MARK[] = " ... [cut at " TEXT_OF(SCRIPT_OUTPUT_LINE_MAX) " bytes]";

/* A line being assembled: at most SCRIPT_OUTPUT_LINE_MAX bytes of text. */
typedef struct {
    char text[SCRIPT_OUTPUT_LINE_MAX + sizeof CUT_MARK];
    size_t len;
    bool cut; /* something did not fit */
} line_buf;

/* Appends what fits; true while there is room for more. */
static bool line_add(line_buf *b, const char *s, size_t n)
{
    size_t room = SCRIPT_OUTPUT_LINE_MAX - b->len;
    if (n > room) {
        n = room;
        b->cut = true;
    }
    memcpy(b->text + b->len, s, n);
    b->len += n;
    return !b->cut;
}

int64_t script_now_us(const sandbox *sb)
{
    if (sb->has_market && sb->market.now)
        return sb->market.now(sb->market.ud);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void say_dropped(const sandbox *sb, const script_output *o)
{
    char when[32];
    log_format_time(o->window_start, when, sizeof when);
    log_event("[%s] print output capped: %llu line(s) dropped in the minute from %s (at most %d "
              "lines and %d KiB a minute per pipeline; print, ctx.log and apex.log together)",
              sb->pipeline, (unsigned long long)o->dropped, when, SCRIPT_OUTPUT_MINUTE_LINES,
              SCRIPT_OUTPUT_MINUTE_BYTES / 1024);
}

void script_output_flush(sandbox *sb, bool final)
{
    script_output *o = &sb->output;
    if (!o->window_start || (!final && script_now_us(sb) < o->window_start + WINDOW_US))
        return;
    if (o->dropped)
        say_dropped(sb, o);
    o->window_start = 0;
    o->lines = 0;
    o->bytes = 0;
    o->dropped = 0;
}

/* Whether the current minute has room for another line; counts it as dropped if not. */
static bool admit(sandbox *sb)
{
    script_output *o = &sb->output;
    int64_t now = script_now_us(sb);
    if (o->window_start && now >= o->window_start + WINDOW_US)
        script_output_flush(sb, true);
    if (!o->window_start)
        o->window_start = now ? now : 1;
    if (o->lines < SCRIPT_OUTPUT_MINUTE_LINES && o->bytes < SCRIPT_OUTPUT_MINUTE_BYTES)
        return true;
    o->dropped++;
    o->dropped_total++;
    return false;
}

static void emit(sandbox *sb, const char *tag, line_buf *b)
{
    script_output *o = &sb->output;
    if (b->cut) {
        memcpy(b->text + b->len, CUT_MARK, sizeof CUT_MARK - 1);
        b->len += sizeof CUT_MARK - 1;
    }
    if (o->bytes + b->len > SCRIPT_OUTPUT_MINUTE_BYTES) {
        o->dropped++; /* the minute has room for a line, but not for this one */
        o->dropped_total++;
        return;
    }
    o->lines++;
    o->bytes += b->len;
    if (tag)
        log_event("[%s %s] %.*s", sb->pipeline, tag, (int)b->len, b->text);
    else
        log_event("[%s] %.*s", sb->pipeline, (int)b->len, b->text);
}

int script_output_print(lua_State *L)
{
    sandbox *sb = sandbox_of(L);
    if (!admit(sb))
        return 0;
    int n = lua_gettop(L);
    luaL_checkstack(L, 1, NULL); /* each value's string */
    line_buf b = {.len = 0, .cut = false};
    for (int i = 1; i <= n; i++) {
        if (i > 1 && !line_add(&b, "\t", 1))
            break;
        size_t len;
        /* Strings and numbers convert without a copy worth mentioning; a __tostring may
         * build a large string, but that is the script's own memory, under its cap. */
        const char *s = luaL_tolstring(L, i, &len);
        bool more = line_add(&b, s, len);
        lua_pop(L, 1);
        if (!more)
            break;
    }
    emit(sb, NULL, &b);
    return 0;
}

/* Which arguments a conversion takes, as string.format checks them. */
static bool is_integer_conversion(char c)
{
    return c && strchr("cdiuoxX", c) != NULL;
}

static bool is_float_conversion(char c)
{
    return c && strchr("aAeEfFgG", c) != NULL;
}

/* Formats one conversion (spec is "%...c") of argument arg with the real string.format at
 * format_idx (pushed, with the two tables it came from, just above the arguments),
 * appending what fits. A string argument is cut to the room left first, so
 * the piece is never much larger than the line. [-0, +0, e] */
static bool add_conversion(lua_State *L, line_buf *b, int format_idx, const char *spec,
                           size_t spec_len, int arg)
{
    char conv = spec[spec_len - 1];
    /* The checks string.format makes, here so the error names the caller's argument (the
     * caller's arguments are the ones below format_idx). */
    if (arg >= format_idx - 2)
        luaL_argerror(L, arg, "no value");
    if ((is_integer_conversion(conv) || is_float_conversion(conv)) && !lua_isnumber(L, arg))
        luaL_typeerror(L, arg, "number");
    if (is_integer_conversion(conv)) {
        int exact = 0;
        lua_tointegerx(L, arg, &exact);
        if (!exact)
            luaL_argerror(L, arg, "number has no integer representation");
    }
    lua_pushvalue(L, format_idx);
    lua_pushlstring(L, spec, spec_len);
    bool is_string = lua_type(L, arg) == LUA_TSTRING;
    /* %q gives numbers, booleans and nil their own literal form: only a string is cut. */
    if (conv == 's' || (conv == 'q' && is_string)) {
        size_t len;
        const char *s = is_string ? lua_tolstring(L, arg, &len) : luaL_tolstring(L, arg, &len);
        size_t room = SCRIPT_OUTPUT_LINE_MAX - b->len;
        if (len > room) {
            lua_pushlstring(L, s, room + 1); /* one byte more, so the line knows it was cut */
            if (!is_string)
                lua_remove(L, -2); /* luaL_tolstring's whole string */
        } else if (is_string) {
            lua_pushvalue(L, arg);
        }
    } else {
        lua_pushvalue(L, arg);
    }
    lua_call(L, 2, 1);
    size_t len;
    const char *piece = lua_tolstring(L, -1, &len);
    bool more = line_add(b, piece, len);
    lua_pop(L, 1);
    return more;
}

int script_output_log(lua_State *L, const char *tag)
{
    sandbox *sb = sandbox_of(L);
    size_t fmt_len;
    const char *fmt = luaL_checklstring(L, 1, &fmt_len);
    if (!admit(sb))
        return 0;
    /* loaded, string, format; then format, spec, a converted argument, its cut copy */
    luaL_checkstack(L, 8, NULL);
    lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_getfield(L, -1, LUA_STRLIBNAME); /* the real library, which no script can replace */
    lua_getfield(L, -1, "format");
    int format_idx = lua_gettop(L);
    line_buf b = {.len = 0, .cut = false};
    int arg = 1;
    const char *p = fmt, *end = fmt + fmt_len;
    while (p < end) {
        const char *pct = memchr(p, '%', (size_t)(end - p));
        if (!line_add(&b, p, (size_t)((pct ? pct : end) - p)) || !pct)
            break;
        if (pct + 1 < end && pct[1] == '%') {
            if (!line_add(&b, "%", 1))
                break;
            p = pct + 2;
            continue;
        }
        /* "%" flags width [. precision] conversion; string.format judges whether it is
         * valid (and says "invalid conversion" when it is not). */
        const char *q = pct + 1;
        while (q < end && *q && strchr("-+ #0", *q))
            q++;
        while (q < end && ((*q >= '0' && *q <= '9') || *q == '.'))
            q++;
        if (q < end)
            q++; /* the conversion character */
        if (!add_conversion(L, &b, format_idx, pct, (size_t)(q - pct), ++arg))
            break;
        p = q;
    }
    lua_pop(L, 3);
    emit(sb, tag, &b);
    return 0;
}
