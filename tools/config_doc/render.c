/* config_doc: renders the schema table as markdown tables and Lua annotations. */
#include "config_doc.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/schema.h"
#include "util/vec.h"

#define MD_BEGIN  "<!-- BEGIN GENERATED config-doc "
#define MD_END    "<!-- END GENERATED config-doc "
#define LUA_BEGIN "-- BEGIN GENERATED config-doc "
#define LUA_END   "-- END GENERATED config-doc "
#define HOWTO     "edit core/config/schema.c, then run `make config-docs`"

/* --- a growable string ------------------------------------------------------------------ */

typedef struct {
    VEC(char) text; /* NUL-terminated after the first put */
    bool oom;       /* a put failed: the text is incomplete and finish() drops it */
} buf;

static void put(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || b->oom)
        return;
    if (vec_reserve(&b->text, b->text.count + n + 1) != APEX_OK) {
        b->oom = true;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(b->text.items + b->text.count, (size_t)(b->text.cap - b->text.count), fmt, ap);
    va_end(ap);
    b->text.count += n;
}

static char *finish(buf *b)
{
    if (b->oom) {
        vec_free(&b->text);
        return NULL;
    }
    if (!b->text.items)
        put(b, "%s", "");
    return b->text.items; /* the caller's now, freed with free() */
}

/* --- what a row says, in words -------------------------------------------------------- */

/* Defaults are read from a config that config_defaults filled, so the docs show what the
 * code does, not what a row claims. */
static const pipeline_config *defaults(void)
{
    static pipeline_config cfg;
    static bool done;
    if (!done) {
        config_defaults(&cfg);
        done = true;
    }
    return &cfg;
}

static bool required(const config_field *f)
{
    return (f->flags & CONFIG_F_REQUIRED) != 0;
}

static void type_text(const config_field *f, char *out, size_t len, bool lua)
{
    const char *t = "";
    switch (f->type) {
    case CONFIG_BOOL:
        t = "boolean";
        break;
    case CONFIG_INT:
    case CONFIG_INT64:
        t = "integer";
        break;
    case CONFIG_NUMBER:
    case CONFIG_MONEY:
        t = "number";
        break;
    case CONFIG_PERCENT:
        t = lua ? "number" : "number (percent)";
        break;
    case CONFIG_STRING:
        t = (f->flags & CONFIG_F_INTEGER_OK) ? (lua ? "string|integer" : "string or integer")
                                             : "string";
        break;
    case CONFIG_PATH:
        t = lua ? "string" : "string (path)";
        break;
    case CONFIG_HHMM:
        t = lua ? "string" : "string `\"HH:MM\"`";
        break;
    case CONFIG_STRING_LIST:
        t = lua ? "string|string[]" : "string or list of strings";
        break;
    case CONFIG_INT_LIST:
        t = lua ? "integer[]" : f->unit ? "list of integer" : "list of integers";
        break;
    case CONFIG_SECTION:
        t = lua ? f->lua_class : (f->doc_type ? f->doc_type : "table");
        break;
    case CONFIG_CUSTOM:
        t = lua ? f->lua_type : f->doc_type;
        break;
    case CONFIG_ENUM: {
        size_t used = 0;
        out[0] = '\0';
        for (int i = 0; f->names[i] && used < len; i++)
            used += (size_t)snprintf(out + used, len - used, "%s\"%s\"",
                                     i ? (lua ? "|" : " or ") : "", f->names[i]);
        if (!lua)
            snprintf(out, len, "string");
        return;
    }
    }
    if (lua)
        snprintf(out, len, "%s", t);
    else if (f->unit && (f->type == CONFIG_INT || f->type == CONFIG_INT_LIST))
        snprintf(out, len, "%s %s", t, f->unit);
    else
        snprintf(out, len, "%s", t);
}

/* base: where the default lives (a defaults-filled config, or an element); NULL = none */
static void default_text(const config_field *f, const void *base, char *out, size_t len)
{
    char v[256];
    if (f->doc_default)
        snprintf(out, len, "%s", f->doc_default);
    else if (required(f))
        snprintf(out, len, "required");
    else if (!base || f->type == CONFIG_SECTION || f->type == CONFIG_CUSTOM)
        snprintf(out, len, "%s", "");
    else if (f->type == CONFIG_STRING_LIST)
        snprintf(out, len, "none");
    else {
        config_schema_format(f, base, v, sizeof v);
        bool code = f->type == CONFIG_STRING || f->type == CONFIG_PATH || f->type == CONFIG_ENUM ||
                    f->type == CONFIG_HHMM || f->type == CONFIG_INT_LIST;
        snprintf(out, len, code ? "`%s`" : "%s", v);
    }
}

/* A MONEY bound: 1 unit above 0 reads "> 0", 1 unit below a whole number "< n". */
static void money_bound(int64_t v, bool upper, char *out, size_t len)
{
    char n[48];
    if (!upper && v == 1)
        snprintf(out, len, "> 0");
    else if (upper && (v + 1) % MONEY(1) == 0) {
        config_schema_format_money(v + 1, n, sizeof n);
        snprintf(out, len, "< %s", n);
    } else
        config_schema_format_money(v, out, len);
}

static void range_text(const config_field *f, char *out, size_t len)
{
    char lo[48], hi[48];
    out[0] = '\0';
    if (f->doc_range) {
        snprintf(out, len, "%s", f->doc_range);
        return;
    }
    switch (f->type) {
    case CONFIG_ENUM: {
        size_t used = 0;
        for (int i = 0; f->names[i] && used < len; i++)
            used +=
                (size_t)snprintf(out + used, len - used, "%s`\"%s\"`", i ? ", " : "", f->names[i]);
        return;
    }
    case CONFIG_STRING:
        if (f->charset)
            snprintf(out, len, "%s; at most %zu characters", f->charset_doc, f->size - 1);
        else
            snprintf(out, len, "at most %zu characters", f->size - 1);
        return;
    default:
        break;
    }
    if (!f->ranged)
        return;
    switch (f->type) {
    case CONFIG_INT:
    case CONFIG_INT64:
        snprintf(out, len, "%s%lld .. %lld", (f->flags & CONFIG_F_ZERO_OK) ? "0, or " : "",
                 (long long)f->lo, (long long)f->hi);
        break;
    case CONFIG_NUMBER:
        if (f->hi == INT64_MAX)
            snprintf(out, len, ">= %lld", (long long)f->lo);
        else
            snprintf(out, len, "%lld .. %lld", (long long)f->lo, (long long)f->hi);
        break;
    case CONFIG_MONEY:
        money_bound(f->lo, false, lo, sizeof lo);
        money_bound(f->hi, true, hi, sizeof hi);
        snprintf(out, len, "%s%s .. %s", (f->flags & CONFIG_F_ZERO_OK) ? "0, or " : "", lo, hi);
        break;
    case CONFIG_PERCENT:
        config_schema_format_money(f->hi * 100, hi, sizeof hi);
        snprintf(out, len, "> 0 .. %s", hi);
        break;
    case CONFIG_HHMM:
        snprintf(out, len, "`\"%02d:%02d\"` .. `\"%02d:%02d\"`", (int)f->lo / 60, (int)f->lo % 60,
                 (int)f->hi / 60, (int)f->hi % 60);
        break;
    case CONFIG_INT_LIST:
        snprintf(out, len, "at most %d, each %lld .. %lld", f->max_count, (long long)f->lo,
                 (long long)f->hi);
        break;
    default:
        break;
    }
}

static const char *not_yet(const config_field *f)
{
    return (f->flags & CONFIG_F_NOT_YET) ? "*not yet*: " : "";
}

/* --- markdown ----------------------------------------------------------------------------- */

static void md_header(buf *b, bool with_default)
{
    if (with_default)
        put(b, "| Field | Type | Default | Range | Notes |\n|---|---|---|---|---|\n");
    else
        put(b, "| Field | Type | Range | Notes |\n|---|---|---|---|\n");
}

static void md_row(buf *b, const config_field *f, const char *name, const void *base,
                   const char *see)
{
    char type[256], def[256], range[256];
    type_text(f, type, sizeof type, false);
    default_text(f, base, def, sizeof def);
    range_text(f, range, sizeof range);
    put(b, "| `%s` | %s | %s | %s | %s%s%s |\n", name, type, def, range, not_yet(f), f->doc,
        see ? see : "");
}

/* Is f inside a BY_KEY section below `root` (shown in that section's own block)? */
static bool under_by_key(const config_field *f, const char *root)
{
    for (int i = 0; i < config_schema_count; i++) {
        const config_field *s = &config_schema[i];
        size_t n = strlen(s->path);
        if ((s->flags & CONFIG_F_BY_KEY) && s != f && strncmp(f->path, s->path, n) == 0 &&
            f->path[n] == '.' && strlen(s->path) >= strlen(root))
            return true;
    }
    return false;
}

/* Every field below section `root`, named relative to it. */
static void md_section(buf *b, const char *root)
{
    size_t n = strlen(root);
    md_header(b, true);
    for (int i = 0; i < config_schema_count; i++) {
        const config_field *f = &config_schema[i];
        if (strncmp(f->path, root, n) != 0 || f->path[n] != '.' || under_by_key(f, root))
            continue;
        md_row(b, f, f->path + n + 1, defaults(), NULL);
    }
}

static void md_top(buf *b)
{
    md_header(b, true);
    for (int i = 0; i < config_schema_count; i++) {
        const config_field *f = &config_schema[i];
        if (!config_field_is_child(f, ""))
            continue;
        char see[96] = "";
        if (f->type == CONFIG_SECTION || f->elem)
            snprintf(see, sizeof see, "; see [%s](#%s)", f->path, f->path);
        md_row(b, f, f->path, defaults(), see);
    }
}

/* A BY_KEY section: the fields its keys share, then their defaults as a matrix. */
static void md_by_key(buf *b, const config_field *sec)
{
    const config_field *first = NULL;
    for (int i = 0; i < config_schema_count && !first; i++)
        if (config_field_is_child(&config_schema[i], sec->path))
            first = &config_schema[i];
    if (!first)
        return;
    md_header(b, false);
    for (int i = 0; i < config_schema_count; i++) {
        const config_field *f = &config_schema[i];
        if (!config_field_is_child(f, first->path))
            continue;
        char type[256], range[256];
        type_text(f, type, sizeof type, false);
        range_text(f, range, sizeof range);
        put(b, "| `%s` | %s | %s | %s |\n", config_field_name(f), type, range, f->doc);
    }
    put(b, "\nDefaults:\n\n| Key |");
    for (int i = 0; i < config_schema_count; i++)
        if (config_field_is_child(&config_schema[i], first->path))
            put(b, " %s |", config_field_name(&config_schema[i]));
    put(b, "\n|---|");
    for (int i = 0; i < config_schema_count; i++)
        if (config_field_is_child(&config_schema[i], first->path))
            put(b, "---|");
    put(b, "\n");
    for (int k = 0; k < config_schema_count; k++) {
        const config_field *key = &config_schema[k];
        if (!config_field_is_child(key, sec->path))
            continue;
        put(b, "| %s |", config_field_name(key));
        for (int i = 0; i < config_schema_count; i++) {
            const config_field *f = &config_schema[i];
            if (!config_field_is_child(f, key->path))
                continue;
            char v[128];
            config_schema_format(f, defaults(), v, sizeof v);
            /* enum names without quotes read better in a matrix */
            size_t l = strlen(v);
            if (l >= 2 && v[0] == '"')
                put(b, " %.*s |", (int)(l - 2), v + 1);
            else
                put(b, " %s |", v);
        }
        put(b, "\n");
    }
}

/* An entry of f's list with every field at its default, as the loader settles a new
 * entry (config_schema_settle), for the Default columns. */
static const void *element_defaults(const config_field *f)
{
    static union {
        max_align_t align;
        unsigned char bytes[8192];
    } entry;
    size_t end = 0;
    for (int i = 0; i < f->nelem; i++)
        if (f->elem[i].offset + f->elem[i].size > end)
            end = f->elem[i].offset + f->elem[i].size;
    if (end > sizeof entry.bytes) {
        fprintf(stderr, "config_doc: %s: an entry is larger than %zu bytes; raise the limit\n",
                f->path, sizeof entry.bytes);
        exit(1);
    }
    memset(&entry, 0, sizeof entry);
    for (int i = 0; i < f->nelem; i++)
        config_schema_settle(&f->elem[i], entry.bytes);
    return entry.bytes;
}

/* The fields of one entry of a CUSTOM list (stages, instruments, HTTP sources). */
static void md_elements(buf *b, const config_field *f)
{
    const void *base = element_defaults(f);
    md_header(b, true);
    for (int i = 0; i < f->nelem; i++)
        md_row(b, &f->elem[i], f->elem[i].path, base, NULL);
}

static const char *const md_blocks[] = {"pipeline",
                                        "data",
                                        "data.http",
                                        "broker",
                                        "risk",
                                        "exits",
                                        "exits.partial_exits.stages",
                                        "exits.execution",
                                        "monitoring",
                                        "notifications",
                                        "notifications.webhooks",
                                        "execution",
                                        "report",
                                        "instruments",
                                        NULL};
static const char *const lua_blocks[] = {"pipeline", NULL};

const char *const *config_doc_block_names(config_doc_kind kind)
{
    return kind == CONFIG_DOC_LUA ? lua_blocks : md_blocks;
}

/* --- Lua annotations ---------------------------------------------------------------------- */

/* Appends text as a sentence: a capital first, a period last; a space before it unless
 * it starts the comment (the character before is '-'). */
static void lua_sentence(buf *b, const char *text)
{
    if (!text || !*text)
        return;
    size_t n = strlen(text);
    bool first = b->text.count > 0 && *vec_last(&b->text) == '-';
    put(b, "%s%c%s%s", first ? "" : " ",
        text[0] >= 'a' && text[0] <= 'z' ? text[0] - 'a' + 'A' : text[0], text + 1,
        text[n - 1] == '.' ? "" : ".");
}

static void lua_field(buf *b, const config_field *f, const char *name, const void *base,
                      const char *defaults_override)
{
    char type[256], def[256], range[256];
    type_text(f, type, sizeof type, true);
    bool optional = !required(f);
    bool wrap = optional && strchr(type, '|');
    put(b, "---@field %s %s%s%s%s", name, wrap ? "(" : "", type, wrap ? ")" : "",
        optional ? "?" : "");
    lua_sentence(b, (f->flags & CONFIG_F_NOT_YET) ? "not yet delivered" : NULL);
    lua_sentence(b, f->doc);
    if (defaults_override)
        snprintf(def, sizeof def, "%s", defaults_override);
    else
        default_text(f, base, def, sizeof def);
    range_text(f, range, sizeof range);
    if (def[0] && strcmp(def, "required") != 0 && f->type != CONFIG_SECTION)
        put(b, " Default %s.", def);
    if (range[0])
        put(b, " Range %s.", range);
    put(b, "\n");
}

static bool emitted(const char **seen, int *nseen, const char *name)
{
    for (int i = 0; i < *nseen; i++)
        if (strcmp(seen[i], name) == 0)
            return true;
    seen[(*nseen)++] = name;
    return false;
}

/* A section's class after the classes of its subsections. Sections that share a class
 * (the priorities) list each one's default, "5 / 10 / 30 / 60 (CRITICAL / ... )". */
static void lua_section(buf *b, const char *path, const char **seen, int *nseen)
{
    for (int i = 0; i < config_schema_count; i++) {
        const config_field *f = &config_schema[i];
        if (config_field_is_child(f, path) && f->type == CONFIG_SECTION)
            lua_section(b, f->path, seen, nseen);
    }
    const config_field *sec = path[0] ? config_schema_find(path) : NULL;
    const char *cls = sec ? sec->lua_class : "apex.Pipeline";
    if (emitted(seen, nseen, cls))
        return;
    const config_field *siblings[8];
    int nsib = 0;
    if (sec) {
        const char *dot = strrchr(sec->path, '.');
        char parent[128] = "";
        if (dot)
            snprintf(parent, sizeof parent, "%.*s", (int)(dot - sec->path), sec->path);
        for (int i = 0; i < config_schema_count && nsib < 8; i++) {
            const config_field *s = &config_schema[i];
            if (s->type == CONFIG_SECTION && config_field_is_child(s, parent) && s->lua_class &&
                strcmp(s->lua_class, cls) == 0)
                siblings[nsib++] = s;
        }
    }
    put(b, "\n---");
    if (sec) {
        lua_sentence(b,
                     not_yet(sec)[0] ? "accepted and validated; nothing is delivered yet" : NULL);
        lua_sentence(b, sec->doc);
    } else
        put(b, "The table a pipeline file returns: `return apex.pipeline { ... }` (see "
               "strategies/examples/reference.lua and docs/configuration.md).");
    put(b, "\n---@class %s\n", cls);
    for (int i = 0; i < config_schema_count; i++) {
        const config_field *f = &config_schema[i];
        if (!config_field_is_child(f, path))
            continue;
        if (nsib <= 1 || f->type == CONFIG_SECTION) {
            lua_field(b, f, config_field_name(f), defaults(), NULL);
            continue;
        }
        char all[256] = "", keys[256] = "";
        for (int s = 0; s < nsib; s++) {
            char one[160], v[64];
            snprintf(one, sizeof one, "%s.%s", siblings[s]->path, config_field_name(f));
            config_schema_format(config_schema_find(one), defaults(), v, sizeof v);
            size_t ua = strlen(all), uk = strlen(keys);
            snprintf(all + ua, sizeof all - ua, "%s%s", s ? " / " : "", v);
            snprintf(keys + uk, sizeof keys - uk, "%s%s", s ? " / " : "",
                     config_field_name(siblings[s]));
        }
        char over[512];
        snprintf(over, sizeof over, "%s (%s)", all, keys);
        lua_field(b, f, config_field_name(f), defaults(), over);
    }
}

static void lua_pipeline(buf *b)
{
    const char *seen[64];
    int nseen = 0;
    put(b, "-- The pipeline fields: every row of core/config/schema.c.\n");
    for (int i = 0; i < config_schema_count; i++) {
        const config_field *f = &config_schema[i];
        if (f->lua_decl && !emitted(seen, &nseen, f->lua_decl))
            put(b, "\n%s", f->lua_decl);
    }
    for (int i = 0; i < config_schema_count; i++) {
        const config_field *f = &config_schema[i];
        if (!f->elem || emitted(seen, &nseen, f->lua_class))
            continue;
        put(b, "\n---One entry of %s.\n---@class %s\n", f->path, f->lua_class);
        const void *base = element_defaults(f);
        for (int k = 0; k < f->nelem; k++)
            lua_field(b, &f->elem[k], f->elem[k].path, base, NULL);
    }
    lua_section(b, "", seen, &nseen);
}

/* --- blocks ----------------------------------------------------------------------------- */

char *config_doc_block(config_doc_kind kind, const char *name)
{
    buf b = {0};
    if (kind == CONFIG_DOC_LUA) {
        if (strcmp(name, "pipeline") != 0)
            return NULL;
        lua_pipeline(&b);
        return finish(&b);
    }
    const config_field *f = config_schema_find(name);
    if (strcmp(name, "pipeline") == 0)
        md_top(&b);
    else if (f && (f->flags & CONFIG_F_BY_KEY))
        md_by_key(&b, f);
    else if (f && f->elem)
        md_elements(&b, f);
    else if (f && f->type == CONFIG_SECTION)
        md_section(&b, name);
    else
        return NULL;
    return finish(&b);
}

config_doc_kind config_doc_kind_of(const char *path)
{
    size_t n = strlen(path);
    return n >= 4 && strcmp(path + n - 4, ".lua") == 0 ? CONFIG_DOC_LUA : CONFIG_DOC_MARKDOWN;
}

/* The name after a BEGIN/END marker, up to ':', ' ' or the end of the line. */
static void marker_name(const char *p, char *out, size_t len)
{
    size_t n = strcspn(p, ": \n-");
    snprintf(out, len, "%.*s", (int)n, p);
}

char *config_doc_update(config_doc_kind kind, const char *file, const char *text, char *err,
                        size_t errlen)
{
    const char *begin = kind == CONFIG_DOC_LUA ? LUA_BEGIN : MD_BEGIN;
    const char *end = kind == CONFIG_DOC_LUA ? LUA_END : MD_END;
    const char *const *names = config_doc_block_names(kind);
    bool found[32] = {false};
    buf b = {0};
    const char *p = text;
    int line = 1;
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t n = eol ? (size_t)(eol - p + 1) : strlen(p);
        put(&b, "%.*s", (int)n, p);
        if (strncmp(p, begin, strlen(begin)) != 0) {
            p += n;
            line++;
            continue;
        }
        char name[64];
        marker_name(p + strlen(begin), name, sizeof name);
        int k = 0;
        while (names[k] && strcmp(names[k], name) != 0)
            k++;
        char *body = names[k] ? config_doc_block(kind, name) : NULL;
        if (!body) {
            snprintf(err, errlen,
                     "%s:%d: no generated block is called '%s'; the blocks are "
                     "listed in tools/config_doc/render.c",
                     file, line, name);
            vec_free(&b.text);
            return NULL;
        }
        found[k] = true;
        /* skip the old body up to the END marker */
        const char *q = p + n;
        int endline = line + 1;
        while (*q && strncmp(q, end, strlen(end)) != 0) {
            const char *e = strchr(q, '\n');
            q = e ? e + 1 : q + strlen(q);
            endline++;
        }
        if (!*q) {
            snprintf(err, errlen,
                     "%s:%d: block '%s' has no END marker; add a line starting "
                     "with \"%s%s\"",
                     file, line, name, end, name);
            free(body);
            vec_free(&b.text);
            return NULL;
        }
        put(&b, "%s", body);
        free(body);
        p = q;
        line = endline;
    }
    for (int k = 0; names[k]; k++)
        if (!found[k]) {
            snprintf(err, errlen,
                     "%s: the generated block '%s' is missing; add the lines "
                     "\"%s%s: %s%s\" and \"%s%s%s\" where it belongs",
                     file, names[k], begin, names[k], HOWTO, kind == CONFIG_DOC_LUA ? "" : " -->",
                     end, names[k], kind == CONFIG_DOC_LUA ? "" : " -->");
            vec_free(&b.text);
            return NULL;
        }
    char *out = finish(&b);
    if (!out)
        snprintf(err, errlen, "%s: out of memory", file);
    return out;
}
