/* field_line: where a Lua file's table constructors write a field. See field_line.h.
 *
 * One pass over the text with Lua's lexical rules (llex.c): comments and strings are
 * skipped whole, so a `fast = 3` in a comment or a string is not a field. Openers are kept
 * on a stack: a `{` remembers the key its table was written under (the field its enclosing
 * table was at when it opened), a `(` or `[` is only there to be closed, so a `,` inside a
 * call does not end the enclosing table's field. The answer is exact for tables written
 * in place, which is how pipeline files write params; a table built elsewhere and
 * referenced by name is not followed (0: the caller says less rather than something
 * wrong). */
#include "script/field_line.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIELD_LINE_MAX_FILE  (8u << 20) /* a pipeline file far larger is not one */
#define FIELD_LINE_MAX_DEPTH 256
#define FIELD_LINE_MAX_KEY   64

typedef struct {
    char kind;                      /* '{', '(' or '[' */
    char key[FIELD_LINE_MAX_KEY];   /* '{': the key the table was written under, or "" */
    char field[FIELD_LINE_MAX_KEY]; /* '{': the field being written now, or "" */
    int strings;                    /* '[': string tokens inside ([ "name" ] is a key) */
    int others;                     /* '[': any other tokens inside */
    char text[FIELD_LINE_MAX_KEY];  /* '[': the string, when it is the only token */
} opener;

typedef struct {
    const char *s, *end;
    int line;
    opener stack[FIELD_LINE_MAX_DEPTH];
    int depth;
    const char *want; /* the dotted path asked for */
    int found;
} scan;

enum { TOK_OTHER, TOK_NAME, TOK_BRACKET_KEY };

static void copy_key(char *out, const char *s, size_t n)
{
    if (n >= FIELD_LINE_MAX_KEY)
        n = FIELD_LINE_MAX_KEY - 1;
    memcpy(out, s, n);
    out[n] = '\0';
}

/* The level of a long bracket opening at s ("[[" is 0, "[==[" is 2), or -1. */
static int long_bracket(const scan *sc, const char *s)
{
    if (s >= sc->end || *s != '[')
        return -1;
    int level = 0;
    for (s++; s < sc->end && *s == '='; s++)
        level++;
    return s < sc->end && *s == '[' ? level : -1;
}

/* Skips a long string or comment whose opener starts at sc->s, counting its lines. */
static void skip_long(scan *sc, int level)
{
    sc->s += level + 2;
    while (sc->s < sc->end) {
        char c = *sc->s++;
        if (c == '\n')
            sc->line++;
        else if (c == ']') {
            const char *t = sc->s;
            int n = 0;
            while (t < sc->end && *t == '=') {
                t++;
                n++;
            }
            if (n == level && t < sc->end && *t == ']') {
                sc->s = t + 1;
                return;
            }
        }
    }
}

/* Skips a quoted string opening at sc->s; *text gets its raw bytes (escapes unread). */
static void skip_quoted(scan *sc, char *text)
{
    char q = *sc->s++;
    const char *start = sc->s;
    while (sc->s < sc->end && *sc->s != q && *sc->s != '\n') {
        if (*sc->s == '\\' && sc->s + 1 < sc->end) {
            if (sc->s[1] == '\n')
                sc->line++;
            sc->s++;
        }
        sc->s++;
    }
    copy_key(text, start, (size_t)(sc->s - start));
    if (sc->s < sc->end && *sc->s == q)
        sc->s++;
}

/* The innermost table constructor being written, or NULL. */
static opener *table_at(scan *sc)
{
    for (int i = sc->depth - 1; i >= 0; i--)
        if (sc->stack[i].kind == '{')
            return &sc->stack[i];
    return NULL;
}

/* The top table (the innermost opener is a '{') now writes field `name`, whose key is
 * on line: is that the field asked for? Its path is the keys of the tables around it,
 * the outermost table's own key (none) left out. */
static void field_written(scan *sc, const char *name, int line)
{
    opener *top = &sc->stack[sc->depth - 1];
    snprintf(top->field, sizeof top->field, "%s", name);
    const char *w = sc->want;
    bool outermost = true;
    for (int i = 0; i < sc->depth; i++) {
        const opener *o = &sc->stack[i];
        if (o->kind != '{')
            continue;
        if (outermost) {
            outermost = false;
            continue;
        }
        size_t n = strlen(o->key);
        if (n == 0 || strncmp(w, o->key, n) != 0 || w[n] != '.')
            return;
        w += n + 1;
    }
    if (strcmp(w, name) == 0)
        sc->found = line;
}

static void push(scan *sc, char kind)
{
    if (sc->depth == FIELD_LINE_MAX_DEPTH) {
        sc->s = sc->end; /* deeper than any pipeline file: give up, quietly */
        return;
    }
    char key[FIELD_LINE_MAX_KEY] = "";
    const opener *outer = kind == '{' ? table_at(sc) : NULL;
    if (outer)
        memcpy(key, outer->field, sizeof key);
    opener *o = &sc->stack[sc->depth];
    memset(o, 0, sizeof *o);
    o->kind = kind;
    memcpy(o->key, key, sizeof key);
    sc->depth++;
}

/* Pops through the matching opener of kind; false when there is none (a stray closer). */
static bool pop(scan *sc, char kind)
{
    while (sc->depth > 0) {
        char k = sc->stack[--sc->depth].kind;
        if (k == kind)
            return true;
    }
    return false;
}

static void run_scan(scan *sc)
{
    int prev = TOK_OTHER, prev_line = 0;
    char prev_text[FIELD_LINE_MAX_KEY] = "";
    while (sc->s < sc->end) {
        char c = *sc->s;
        if (c == '\n') {
            sc->line++;
            sc->s++;
            continue;
        }
        if (isspace((unsigned char)c)) {
            sc->s++;
            continue;
        }
        int tok = TOK_OTHER, tok_line = sc->line;
        char text[FIELD_LINE_MAX_KEY] = "";
        opener *top = sc->depth ? &sc->stack[sc->depth - 1] : NULL;
        if (c == '-' && sc->s + 1 < sc->end && sc->s[1] == '-') {
            sc->s += 2;
            int level = long_bracket(sc, sc->s);
            if (level >= 0)
                skip_long(sc, level);
            else
                while (sc->s < sc->end && *sc->s != '\n')
                    sc->s++;
            continue; /* a comment is no token */
        } else if (c == '"' || c == '\'') {
            skip_quoted(sc, text);
            if (top && top->kind == '[') {
                top->strings++;
                snprintf(top->text, sizeof top->text, "%s", text);
            }
            top = NULL; /* counted */
        } else if (c == '[' && long_bracket(sc, sc->s) >= 0) {
            skip_long(sc, long_bracket(sc, sc->s));
        } else if (isalpha((unsigned char)c) || c == '_') {
            const char *start = sc->s;
            while (sc->s < sc->end && (isalnum((unsigned char)*sc->s) || *sc->s == '_'))
                sc->s++;
            tok = TOK_NAME;
            copy_key(text, start, (size_t)(sc->s - start));
        } else if (isdigit((unsigned char)c)) {
            while (sc->s < sc->end && (isalnum((unsigned char)*sc->s) || *sc->s == '.'))
                sc->s++;
        } else {
            sc->s++;
            bool paired =
                sc->s < sc->end && *sc->s == '=' && (c == '=' || c == '<' || c == '>' || c == '~');
            if (paired) {
                sc->s++; /* ==, <=, >=, ~= */
            } else if (c == '=' && top && top->kind == '{' &&
                       (prev == TOK_NAME || prev == TOK_BRACKET_KEY)) {
                field_written(sc, prev_text, prev_line);
            } else if (c == '{' || c == '(' || c == '[') {
                if (top && top->kind == '[')
                    top->others++;
                push(sc, c);
                top = NULL;
            } else if (c == '}' || c == ')') {
                if (!pop(sc, c == '}' ? '{' : '('))
                    return;
            } else if (c == ']') {
                bool key = top && top->kind == '[' && top->strings == 1 && top->others == 0;
                if (key)
                    snprintf(text, sizeof text, "%s", top->text);
                if (!pop(sc, '['))
                    return;
                if (key && sc->depth && sc->stack[sc->depth - 1].kind == '{')
                    tok = TOK_BRACKET_KEY;
            } else if ((c == ',' || c == ';') && top && top->kind == '{') {
                top->field[0] = '\0';
            }
            if (c == ']' || c == '}' || c == ')')
                top = NULL;
        }
        if (top && top->kind == '[')
            top->others++;
        prev = tok;
        prev_line = tok_line;
        snprintf(prev_text, sizeof prev_text, "%s", text);
    }
}

int script_field_line(const char *path, const char *dotted)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    char *buf = malloc(FIELD_LINE_MAX_FILE);
    size_t n = buf ? fread(buf, 1, FIELD_LINE_MAX_FILE, f) : 0;
    fclose(f);
    if (!buf)
        return 0;
    scan *sc = calloc(1, sizeof *sc);
    if (!sc) {
        free(buf);
        return 0;
    }
    sc->s = buf;
    sc->end = buf + n;
    sc->line = 1;
    sc->want = dotted;
    run_scan(sc);
    int line = sc->found;
    free(sc);
    free(buf);
    return line;
}
