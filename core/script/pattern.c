/* pattern: Lua 5.4's pattern functions with a work budget (see pattern.h).
 *
 * Scripts depend on more than the manual states: which start positions are tried and
 * in which order, how far a greedy item backs off, when an error in a malformed pattern
 * is noticed (only once the matcher reaches it) and how deep the matcher may nest
 * before "pattern too complex" are all visible to them. So the matcher below explores
 * exactly as Lua 5.4 does: a backtracking matcher that calls itself for what must be
 * tried and undone (a capture, '?', each length of '*', '+' and '-') and loops for what
 * is final (a single item, a frontier, a balance, a back-reference), with the nesting
 * limit counted on those calls. tests/unit/test_pattern.c and tests/fuzz/fuzz_pattern.c
 * compare it with the real library.
 *
 * Subjects and patterns are Lua strings, so a '\0' follows their last byte; reading
 * the pattern's terminator is how a truncated item ("%", "[a") is noticed. */
#include "script/pattern.h"

#include <ctype.h>
#include <string.h>

#include <lauxlib.h>

#if LUA_VERSION_NUM != 504
#error "pattern.c implements the pattern functions of Lua 5.4"
#endif

#define ESC          '%'
#define MAX_CAPTURES 32    /* Lua 5.4's LUA_MAXCAPTURES */
#define MAX_DEPTH    200   /* nested matcher calls before "pattern too complex" */
#define CAP_OPEN     (-1)  /* a capture whose ')' has not been reached */
#define CAP_POSITION (-2)  /* "()": captures a position, not text */
#define PLAIN_CHUNK  65536 /* bytes a plain search scans between budget checks */

typedef struct {
    pattern_budget_fn fn;
    void *ud;
} budget;

typedef struct {
    const char *at;
    ptrdiff_t len; /* or CAP_OPEN, CAP_POSITION */
} capture;

typedef struct {
    lua_State *L;
    const char *src, *src_end; /* the whole subject (positions count from src) */
    const char *pat_end;
    int budget_upvalue; /* the running C function's upvalue holding the budget */
    long steps_left;    /* until the next budget check */
    int depth_left;
    int level; /* captures opened so far */
    capture cap[MAX_CAPTURES];
} matcher;

static void matcher_init(matcher *m, lua_State *L, const char *s, size_t len, int budget_upvalue)
{
    m->L = L;
    m->src = s;
    m->src_end = s + len;
    m->pat_end = NULL;
    m->budget_upvalue = budget_upvalue;
    m->steps_left = PATTERN_BUDGET_STEPS;
    m->depth_left = MAX_DEPTH;
    m->level = 0;
}

/* Before each attempt at a start position: no captures, full depth. */
static void matcher_reset(matcher *m)
{
    m->level = 0;
    m->depth_left = MAX_DEPTH;
}

/* ---- the budget ---- */

/* Fetched here rather than at every call: most calls never get this far. Steps are only
 * spent while one of pattern_open's functions runs on m->L, so its upvalue is there. */
__attribute__((noinline)) static void budget_check(matcher *m)
{
    m->steps_left = PATTERN_BUDGET_STEPS;
    const budget *b = lua_touserdata(m->L, lua_upvalueindex(m->budget_upvalue));
    if (!b->fn)
        return;
    char msg[PATTERN_MESSAGE_MAX];
    msg[0] = '\0';
    if (b->fn(m->L, b->ud, msg, sizeof msg)) {
        msg[sizeof msg - 1] = '\0';
        luaL_error(m->L, "%s", msg);
    }
}

static inline void spend(matcher *m, long steps)
{
    m->steps_left -= steps;
    if (m->steps_left <= 0)
        budget_check(m);
}

/* ---- single-character items: 'c', '.', %class, [set] ---- */

/* %a %c %d %g %l %p %s %u %w %x as <ctype.h> has them (and %z), the upper-case letter
 * for the complement; any other character after '%' stands for itself. */
static int class_has(int cls, int c)
{
    int in;
    switch (tolower(cls)) {
    case 'a':
        in = isalpha(c);
        break;
    case 'c':
        in = iscntrl(c);
        break;
    case 'd':
        in = isdigit(c);
        break;
    case 'g':
        in = isgraph(c);
        break;
    case 'l':
        in = islower(c);
        break;
    case 'p':
        in = ispunct(c);
        break;
    case 's':
        in = isspace(c);
        break;
    case 'u':
        in = isupper(c);
        break;
    case 'w':
        in = isalnum(c);
        break;
    case 'x':
        in = isxdigit(c);
        break;
    case 'z': /* the '\0' byte: gone from the 5.4 manual, still in Lua 5.4 */
        in = c == 0;
        break;
    default:
        return cls == c;
    }
    return isupper(cls) ? !in : in != 0;
}

/* Whether c is in the set that starts at '[' (set) and ends at its ']' (close). A '-'
 * makes a range only between two members; a '-' first or last is itself. */
static int set_has(const char *set, const char *close, int c)
{
    const char *p = set + 1;
    int want = 1;
    if (*p == '^') {
        want = 0;
        p++;
    }
    for (; p < close; p++) {
        if (*p == ESC) {
            p++;
            if (class_has((unsigned char)*p, c))
                return want;
        } else if (p[1] == '-' && p + 2 < close) {
            if ((unsigned char)p[0] <= c && c <= (unsigned char)p[2])
                return want;
            p += 2;
        } else if ((unsigned char)*p == c) {
            return want;
        }
    }
    return !want;
}

/* Where the single-character item at p ends, i.e. where its quantifier would be. The
 * first member of a set may be ']' ("[]]" is the set of ']'), and "%]" inside a set is
 * a member, not its end. */
static const char *item_end(matcher *m, const char *p)
{
    const char *start = p;
    char c = *p++;
    if (c == ESC) {
        if (p == m->pat_end)
            luaL_error(m->L, "malformed pattern (ends with '%%')");
        return p + 1;
    }
    if (c != '[')
        return p;
    if (*p == '^')
        p++;
    do {
        if (p == m->pat_end)
            luaL_error(m->L, "malformed pattern (missing ']')");
        c = *p++;
        if (c == ESC && p < m->pat_end)
            p++;
    } while (*p != ']');
    spend(m, (p - start) >> 4); /* a long set costs in proportion */
    return p + 1;
}

/* Whether the item p..ep matches the character at s. */
static inline int single_at(matcher *m, const char *s, const char *p, const char *ep)
{
    if (s >= m->src_end)
        return 0;
    int c = (unsigned char)*s;
    switch (*p) {
    case '.':
        spend(m, 1);
        return 1;
    case ESC:
        spend(m, 1);
        return class_has((unsigned char)p[1], c);
    case '[':
        spend(m, 1 + ((ep - p) >> 4));
        return set_has(p, ep - 1, c);
    default:
        spend(m, 1);
        return (unsigned char)*p == c;
    }
}

/* The end of the longest run of characters from s that the item p..ep matches. */
static const char *run_end(matcher *m, const char *s, const char *p, const char *ep)
{
    const char *q = s, *end = m->src_end;
    switch (*p) {
    case '.':
        spend(m, 1);
        return end;
    case ESC: {
        int cls = (unsigned char)p[1];
        for (; q < end && class_has(cls, (unsigned char)*q); q++)
            spend(m, 1);
        return q;
    }
    case '[': {
        long cost = 1 + ((ep - p) >> 4);
        for (; q < end && set_has(p, ep - 1, (unsigned char)*q); q++)
            spend(m, cost);
        return q;
    }
    default:
        for (; q < end && *q == *p; q++)
            spend(m, 1);
        return q;
    }
}

/* ---- the matcher ---- */

static const char *match(matcher *m, const char *s, const char *p);

static const char *open_capture(matcher *m, const char *s, const char *p, ptrdiff_t kind)
{
    if (m->level >= MAX_CAPTURES)
        luaL_error(m->L, "too many captures");
    m->cap[m->level].at = s;
    m->cap[m->level].len = kind;
    m->level++;
    const char *res = match(m, s, p);
    if (!res)
        m->level--;
    return res;
}

/* ')' closes the innermost capture still open. */
static const char *close_capture(matcher *m, const char *s, const char *p)
{
    int i = m->level - 1;
    while (i >= 0 && m->cap[i].len != CAP_OPEN)
        i--;
    if (i < 0)
        luaL_error(m->L, "invalid pattern capture");
    m->cap[i].len = s - m->cap[i].at;
    const char *res = match(m, s, p);
    if (!res)
        m->cap[i].len = CAP_OPEN;
    return res;
}

/* %1-%9: the same text as a closed capture. A position capture has no text and never
 * matches; %0 and captures not (yet) closed are errors. */
static const char *backref(matcher *m, const char *s, int digit)
{
    int i = digit - '1';
    if (i < 0 || i >= m->level || m->cap[i].len == CAP_OPEN)
        luaL_error(m->L, "invalid capture index %%%d", i + 1);
    if (m->cap[i].len < 0)
        return NULL;
    size_t len = (size_t)m->cap[i].len;
    spend(m, 1 + (long)(len >> 4));
    if ((size_t)(m->src_end - s) >= len && memcmp(m->cap[i].at, s, len) == 0)
        return s + len;
    return NULL;
}

/* %bxy at s: an x, then text in which x and y balance, then the closing y. */
static const char *balanced(matcher *m, const char *s, const char *p)
{
    if (p >= m->pat_end - 1)
        luaL_error(m->L, "malformed pattern (missing arguments to '%%b')");
    if (s >= m->src_end || *s != p[0])
        return NULL;
    char open = p[0], close = p[1];
    int depth = 1;
    const char *q = s + 1;
    for (; q < m->src_end; q++) {
        if ((q - s) % PATTERN_BUDGET_STEPS == 0)
            spend(m, PATTERN_BUDGET_STEPS);
        if (*q == close) {
            if (--depth == 0)
                return q + 1;
        } else if (*q == open) {
            depth++;
        }
    }
    return NULL;
}

/* %f[set] at s: the character before s (a '\0' at the subject's start) is not in the
 * set and the one at s (a '\0' at its end) is. */
static int frontier(matcher *m, const char *s, const char *set, const char *ep)
{
    int before = s == m->src ? '\0' : (unsigned char)s[-1];
    int here = s < m->src_end ? (unsigned char)*s : '\0';
    spend(m, 1 + ((ep - set) >> 3));
    return !set_has(set, ep - 1, before) && set_has(set, ep - 1, here);
}

/* item* and item+: the longest run first, then one character less at a time until
 * the rest of the pattern matches; never fewer than `fewest`. */
static const char *greedy(matcher *m, const char *fewest, const char *from, const char *p,
                          const char *ep)
{
    for (const char *end = run_end(m, from, p, ep);; end--) {
        const char *res = match(m, end, ep + 1);
        if (res || end == fewest)
            return res;
    }
}

/* item-: the shortest run first, one character more at a time. */
static const char *lazy(matcher *m, const char *s, const char *p, const char *ep)
{
    for (;;) {
        const char *res = match(m, s, ep + 1);
        if (res)
            return res;
        if (!single_at(m, s, p, ep))
            return NULL;
        s++;
    }
}

/* Matches the pattern p..pat_end at s; returns the end of the match or NULL. */
static const char *match(matcher *m, const char *s, const char *p)
{
    if (m->depth_left-- == 0)
        luaL_error(m->L, "pattern too complex");
    spend(m, 1);
    while (p != m->pat_end) {
        const char *ep;
        if (*p == '(') {
            if (p[1] == ')')
                s = open_capture(m, s, p + 2, CAP_POSITION);
            else
                s = open_capture(m, s, p + 1, CAP_OPEN);
            break;
        }
        if (*p == ')') {
            s = close_capture(m, s, p + 1);
            break;
        }
        if (*p == '$' && p + 1 == m->pat_end) { /* '$' elsewhere is a character */
            if (s != m->src_end)
                s = NULL;
            break;
        }
        if (*p == ESC && p[1] == 'b') {
            s = balanced(m, s, p + 2);
            if (!s)
                break;
            p += 4;
            continue;
        }
        if (*p == ESC && p[1] == 'f') {
            p += 2;
            if (*p != '[')
                luaL_error(m->L, "missing '[' after '%%f' in pattern");
            ep = item_end(m, p);
            if (!frontier(m, s, p, ep)) {
                s = NULL;
                break;
            }
            p = ep;
            continue;
        }
        if (*p == ESC && p[1] >= '0' && p[1] <= '9') {
            s = backref(m, s, (unsigned char)p[1]);
            if (!s)
                break;
            p += 2;
            continue;
        }

        /* A single-character item and its quantifier, if any. */
        ep = item_end(m, p);
        if (!single_at(m, s, p, ep)) {
            if (*ep == '*' || *ep == '?' || *ep == '-') { /* zero times will do */
                p = ep + 1;
                continue;
            }
            s = NULL;
            break;
        }
        if (*ep == '?') {
            const char *res = match(m, s + 1, ep + 1);
            if (res) {
                s = res;
                break;
            }
            p = ep + 1;
            continue;
        }
        if (*ep == '+') {
            s = greedy(m, s + 1, s + 1, p, ep);
            break;
        }
        if (*ep == '*') {
            s = greedy(m, s, s + 1, p, ep);
            break;
        }
        if (*ep == '-') {
            s = lazy(m, s, p, ep);
            break;
        }
        s++;
        p = ep;
    }
    m->depth_left++;
    return s;
}

/* ---- skipping start positions that cannot match ---- */

/* When the pattern begins (after any '(' or "()", which only note where captures
 * start) with a single-character item that must match at least once, a start position
 * where that item does not match fails at once, raising nothing and recording
 * nothing: a scan may skip it without calling the matcher. */
typedef struct {
    enum { LEAD_NONE, LEAD_CHAR, LEAD_ITEM } kind;
    const char *p, *ep;
} lead;

/* Called just before the first attempt, where the matcher would reach the first item
 * anyway, so an error in that item (a set without its ']') is raised exactly when Lua
 * raises it. */
static lead lead_of(matcher *m, const char *p)
{
    lead none = {LEAD_NONE, NULL, NULL};
    for (int opened = 0; p < m->pat_end && *p == '('; opened++) {
        if (opened == MAX_CAPTURES)
            return none; /* the matcher raises "too many captures" */
        p += p[1] == ')' ? 2 : 1;
    }
    if (p == m->pat_end || *p == ')' || (*p == '$' && p + 1 == m->pat_end))
        return none;
    if (*p == ESC && (p[1] == 'b' || p[1] == 'f' || (p[1] >= '0' && p[1] <= '9')))
        return none;
    const char *ep = item_end(m, p);
    if (*ep == '*' || *ep == '?' || *ep == '-')
        return none;
    lead l = {(*p == ESC || *p == '[' || *p == '.') ? LEAD_ITEM : LEAD_CHAR, p, ep};
    return l;
}

/* The first position from s where the lead item matches, or NULL. */
static const char *lead_skip(matcher *m, const lead *l, const char *s)
{
    if (l->kind == LEAD_CHAR) {
        const char *hit = memchr(s, *l->p, (size_t)(m->src_end - s));
        spend(m, 1 + (((hit ? hit : m->src_end) - s) >> 4));
        return hit;
    }
    while (s < m->src_end && !single_at(m, s, l->p, l->ep))
        s++;
    return s < m->src_end ? s : NULL;
}

/* ---- results ---- */

/* Capture i as text (*text, returned length), or, for a position capture, pushes the
 * position and returns CAP_POSITION. With no captures, "capture 1" is the whole match
 * s..e. */
static ptrdiff_t get_capture(matcher *m, int i, const char *s, const char *e, const char **text)
{
    if (i >= m->level) {
        if (i != 0)
            luaL_error(m->L, "invalid capture index %%%d", i + 1);
        *text = s;
        return e - s;
    }
    ptrdiff_t len = m->cap[i].len;
    *text = m->cap[i].at;
    if (len == CAP_OPEN)
        luaL_error(m->L, "unfinished capture");
    if (len == CAP_POSITION)
        lua_pushinteger(m->L, (m->cap[i].at - m->src) + 1);
    return len;
}

static void push_capture(matcher *m, int i, const char *s, const char *e)
{
    const char *text;
    ptrdiff_t len = get_capture(m, i, s, e, &text);
    if (len != CAP_POSITION)
        lua_pushlstring(m->L, text, (size_t)len);
}

/* Pushes the captures, or the whole match s..e when there are none and s is given. */
static int push_captures(matcher *m, const char *s, const char *e)
{
    int n = (m->level == 0 && s) ? 1 : m->level;
    luaL_checkstack(m->L, n, "too many captures");
    for (int i = 0; i < n; i++)
        push_capture(m, i, s, e);
    return n;
}

/* ---- find and match ---- */

/* A string position as Lua's init arguments count it (negative from the end, clamped
 * to 1). */
static size_t start_position(lua_Integer pos, size_t len)
{
    if (pos > 0)
        return (size_t)pos;
    if (pos == 0 || pos < -(lua_Integer)len)
        return 1;
    return len + (size_t)pos + 1;
}

/* Whether a find pattern has any of the characters that make it more than plain text:
 * ^ $ * + ? . ( [ % - */
static bool has_specials(const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        switch (p[i]) {
        case '^':
        case '$':
        case '*':
        case '+':
        case '?':
        case '.':
        case '(':
        case '[':
        case '%':
        case '-':
            return true;
        }
    }
    return false;
}

/* A plain search. Most are short: there memchr for the needle's first byte and memcmp
 * for the rest is quicker than memmem's set-up, so that runs first, until its
 * comparisons have cost more than a few times the bytes it got past (a near-miss
 * needle over a repetitive subject); from there glibc's memmem, linear in the worst
 * case, finishes over chunks, asking the budget between them (consecutive chunks
 * overlap by the needle's length less one). */
static const char *find_plain(matcher *m, const char *s, size_t len, const char *needle,
                              size_t nlen)
{
    if (nlen == 0)
        return s;
    if (nlen > len)
        return NULL;
    const char *at = s, *end = s + len;
    const char *last = end - nlen; /* the last place the needle fits */
    size_t compared = 0;
    while (compared <= 4 * (size_t)(at - s) + 256) {
        const char *hit = memchr(at, needle[0], (size_t)(last - at) + 1);
        if (!hit)
            return NULL;
        if (memcmp(hit + 1, needle + 1, nlen - 1) == 0)
            return hit;
        compared += nlen;
        spend(m, 1 + (long)((hit - at) >> 4) + (long)(nlen >> 4));
        at = hit + 1;
        if (at > last)
            return NULL;
    }
    size_t chunk = nlen > PLAIN_CHUNK ? nlen : PLAIN_CHUNK;
    for (;;) {
        size_t window = (size_t)(end - at);
        if (window > chunk + nlen - 1)
            window = chunk + nlen - 1;
        const char *hit = memmem(at, window, needle, nlen);
        if (hit)
            return hit;
        if (at + window == end)
            return NULL;
        at += window - (nlen - 1);
        spend(m, (long)(window >> 4));
    }
}

static int find_or_match(lua_State *L, bool find)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = start_position(luaL_optinteger(L, 3, 1), ls) - 1;
    if (init > ls) {
        luaL_pushfail(L);
        return 1;
    }
    matcher m;
    matcher_init(&m, L, s, ls, 1);
    if (find && (lua_toboolean(L, 4) || !has_specials(p, lp))) {
        const char *hit = find_plain(&m, s + init, ls - init, p, lp);
        if (!hit) {
            luaL_pushfail(L);
            return 1;
        }
        lua_pushinteger(L, (hit - s) + 1);
        lua_pushinteger(L, (lua_Integer)((size_t)(hit - s) + lp));
        return 2;
    }
    bool anchored = *p == '^';
    if (anchored) {
        p++;
        lp--;
    }
    m.pat_end = p + lp;
    lead l = {LEAD_NONE, NULL, NULL};
    if (!anchored)
        l = lead_of(&m, p);
    const char *at = s + init;
    do {
        if (l.kind != LEAD_NONE && !(at = lead_skip(&m, &l, at)))
            break;
        matcher_reset(&m);
        const char *e = match(&m, at, p);
        if (e) {
            if (!find)
                return push_captures(&m, at, e);
            lua_pushinteger(L, (at - s) + 1);
            lua_pushinteger(L, e - s);
            return push_captures(&m, NULL, NULL) + 2;
        }
    } while (at++ < m.src_end && !anchored);
    luaL_pushfail(L);
    return 1;
}

static int pattern_find(lua_State *L)
{
    return find_or_match(L, true);
}

static int pattern_match(lua_State *L)
{
    return find_or_match(L, false);
}

/* ---- gmatch ---- */

typedef struct {
    matcher m;
    const char *p;
    const char *next;     /* where the next search starts */
    const char *last_end; /* an empty match here would repeat the last one */
    lead lead;
    bool lead_known;
} gmatch_state;

/* The iterator: upvalues are the subject and the pattern (kept alive for the pointers
 * into them), the state and the budget. A '^' in gmatch's pattern is a character. */
static int gmatch_next(lua_State *L)
{
    gmatch_state *g = lua_touserdata(L, lua_upvalueindex(3));
    g->m.L = L; /* the iterator may run in another coroutine than gmatch did */
    for (const char *at = g->next; at <= g->m.src_end; at++) {
        if (!g->lead_known) {
            g->lead = lead_of(&g->m, g->p);
            g->lead_known = true;
        }
        if (g->lead.kind != LEAD_NONE && !(at = lead_skip(&g->m, &g->lead, at)))
            break;
        matcher_reset(&g->m);
        const char *e = match(&g->m, at, g->p);
        if (e && e != g->last_end) {
            g->next = g->last_end = e;
            return push_captures(&g->m, at, e);
        }
    }
    return 0;
}

static int pattern_gmatch(lua_State *L)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = start_position(luaL_optinteger(L, 3, 1), ls) - 1;
    lua_settop(L, 2);
    gmatch_state *g = lua_newuserdatauv(L, sizeof *g, 0);
    if (init > ls)
        init = ls + 1;                /* past the end: the iterator finds nothing */
    matcher_init(&g->m, L, s, ls, 4); /* the iterator's upvalue */
    g->m.pat_end = p + lp;
    g->p = p;
    g->next = s + init;
    g->last_end = NULL;
    g->lead_known = false;
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushcclosure(L, gmatch_next, 4);
    return 1;
}

/* ---- gsub ---- */

/* Appends the replacement string (argument 3) for the match s..e: %0 is the match,
 * %1-%9 the captures, %% a '%'. */
static void add_template(matcher *m, luaL_Buffer *b, const char *s, const char *e)
{
    size_t len;
    const char *t = lua_tolstring(m->L, 3, &len);
    const char *end = t + len;
    const char *esc;
    spend(m, 1 + (long)(len >> 4));
    while ((esc = memchr(t, ESC, (size_t)(end - t))) != NULL) {
        luaL_addlstring(b, t, (size_t)(esc - t));
        char c = esc[1]; /* the terminator when '%' ends the string */
        if (c == ESC) {
            luaL_addchar(b, c);
        } else if (c == '0') {
            luaL_addlstring(b, s, (size_t)(e - s));
        } else if (isdigit((unsigned char)c)) {
            const char *text;
            ptrdiff_t n = get_capture(m, c - '1', s, e, &text);
            if (n == CAP_POSITION)
                luaL_addvalue(b);
            else
                luaL_addlstring(b, text, (size_t)n);
        } else {
            luaL_error(m->L, "invalid use of '%c' in replacement string", ESC);
        }
        spend(m, 1);
        t = esc + 2;
    }
    luaL_addlstring(b, t, (size_t)(end - t));
}

/* Appends the replacement for the match s..e; returns whether it replaced anything
 * (false or nil from a table or function keeps the match, which the caller copies). */
static bool add_value(matcher *m, luaL_Buffer *b, const char *s, const char *e, int kind)
{
    lua_State *L = m->L;
    if (kind == LUA_TFUNCTION) {
        lua_pushvalue(L, 3);
        int n = push_captures(m, s, e);
        lua_call(L, n, 1);
    } else if (kind == LUA_TTABLE) {
        push_capture(m, 0, s, e);
        lua_gettable(L, 3);
    } else {
        add_template(m, b, s, e);
        return true;
    }
    if (!lua_toboolean(L, -1)) {
        lua_pop(L, 1);
        return false;
    }
    if (!lua_isstring(L, -1))
        luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
    luaL_addvalue(b);
    return true;
}

static int pattern_gsub(lua_State *L)
{
    size_t ls, lp;
    const char *src = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    int kind = lua_type(L, 3);
    lua_Integer max_n = luaL_optinteger(L, 4, (lua_Integer)ls + 1);
    luaL_argexpected(L,
                     kind == LUA_TNUMBER || kind == LUA_TSTRING || kind == LUA_TFUNCTION ||
                         kind == LUA_TTABLE,
                     3, "string/function/table");
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    bool anchored = *p == '^';
    if (anchored) {
        p++;
        lp--;
    }
    matcher m;
    matcher_init(&m, L, src, ls, 1);
    m.pat_end = p + lp;
    lead l = {LEAD_NONE, NULL, NULL};
    bool lead_known = anchored;
    /* Text between matches, and matches kept as they were, is copied in one piece when
     * the next replacement (or the end) comes: `copied` is how far the result has got. */
    const char *at = src, *copied = src, *last_end = NULL;
    bool changed = false;
    lua_Integer n = 0;
    while (n < max_n) {
        if (!lead_known) {
            l = lead_of(&m, p);
            lead_known = true;
        }
        if (l.kind != LEAD_NONE && !(at = lead_skip(&m, &l, at)))
            break;
        matcher_reset(&m);
        const char *e = match(&m, at, p);
        if (e && e != last_end) {
            n++;
            luaL_addlstring(&b, copied, (size_t)(at - copied));
            copied = at;
            if (add_value(&m, &b, at, e, kind)) {
                changed = true;
                copied = e;
            }
            at = last_end = e;
        } else if (at < m.src_end) {
            at++;
        } else {
            break;
        }
        if (anchored)
            break;
    }
    if (!changed) {
        lua_pushvalue(L, 1);
    } else {
        luaL_addlstring(&b, copied, (size_t)(m.src_end - copied));
        luaL_pushresult(&b);
    }
    lua_pushinteger(L, n);
    return 2;
}

/* ---- opening ---- */

void pattern_open(lua_State *L, int strlib_idx, pattern_budget_fn fn, void *ud)
{
    static const luaL_Reg fns[] = {{"find", pattern_find},
                                   {"match", pattern_match},
                                   {"gmatch", pattern_gmatch},
                                   {"gsub", pattern_gsub},
                                   {NULL, NULL}};
    strlib_idx = lua_absindex(L, strlib_idx);
    luaL_checkstack(L, 3, NULL);
    budget *b = lua_newuserdatauv(L, sizeof *b, 0);
    b->fn = fn;
    b->ud = ud;
    for (const luaL_Reg *r = fns; r->name; r++) {
        lua_pushvalue(L, -1);
        lua_pushcclosure(L, r->func, 1);
        lua_setfield(L, strlib_idx, r->name);
    }
    lua_pop(L, 1);
}
