/* schema: every pipeline field, once.
 *
 * config_schema[] has one row per field of pipeline.lua: its dotted path as the file
 * names it ("monitoring.max_api_calls_per_minute"), its type, where it lives in
 * pipeline_config (offsetof), its default, its allowed range and its doc text. The
 * table drives:
 *   - the loader (script/pipeline_loader.c): which names a table may hold, "did you
 *     mean" for the others, how each value is read and type-checked;
 *   - config_defaults, which applies every row's default;
 *   - config_validate, which checks every row's range (cross-field rules stay
 *     hand-written in config.c);
 *   - docs/configuration.md's field tables and types/apex.lua's pipeline classes,
 *     which tools/config_doc generates (`make config-docs`); a test fails when the
 *     committed files drift from it.
 *
 * Adding a field: add the member to pipeline_config and one row to schema.c, then run
 * `make config-docs`. A field whose shape is irregular (symbols, instructions, partial
 * stages, instruments, a script reference) is a CONFIG_CUSTOM row naming a hook the
 * loader implements; everything else about it (docs, defaults, ranges) stays here.
 *
 * Nothing here allocates; the table is static and read-only. */
#ifndef APEX_CONFIG_SCHEMA_H
#define APEX_CONFIG_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "util/diag.h"

typedef enum {
    CONFIG_SECTION = 0, /* a nested table; its fields are the rows below it */
    CONFIG_BOOL,        /* bool */
    CONFIG_INT,         /* int; a Lua number with no fraction */
    CONFIG_INT64,       /* int64_t; any Lua integer */
    CONFIG_NUMBER,      /* double */
    CONFIG_MONEY,       /* money_t fixed point: amounts, basis points, fractions */
    CONFIG_PERCENT,     /* money_t fraction, written as a percent in the file (50 = 0.5) */
    CONFIG_STRING,      /* char[size] */
    CONFIG_PATH,        /* char[size]; resolved against the pipeline file's directory */
    CONFIG_ENUM,        /* an int-sized enum; the file names it by one of `names` */
    CONFIG_HHMM,        /* int minute of the day (UTC); the file writes "HH:MM" */
    CONFIG_STRING_LIST, /* char ** with an int count; a string or a list of strings */
    CONFIG_INT_LIST,    /* int[max_count] with an int count; a list of whole numbers */
    CONFIG_CUSTOM,      /* read by the loader hook `hook`; see config_hook */
} config_type;

/* The loader's readers for CONFIG_CUSTOM rows (script/pipeline_loader.c). They live at
 * the Lua boundary, so config/ stays free of Lua; the row names which one applies. */
typedef enum {
    CONFIG_HOOK_NONE = 0,
    CONFIG_HOOK_SYMBOLS,      /* symbols: a list of unique symbols into cfg->symbols */
    CONFIG_HOOK_SCRIPT,       /* bias, strategy: "file.lua" or { file, params } */
    CONFIG_HOOK_STAGES,       /* exits.partial_exits.stages: a list of config_stage_fields */
    CONFIG_HOOK_INSTRUCTIONS, /* instructions: sentences or { file = "rule.lua" } */
    CONFIG_HOOK_INSTRUMENTS,  /* instruments: SYMBOL = config_instrument_fields */
    CONFIG_HOOK_HTTP,         /* data.http: a list of config_http_fields */
    CONFIG_HOOK_WEBHOOKS,     /* notifications.webhooks: URLs or config_webhook_fields */
    CONFIG_HOOK_COUNT
} config_hook;

enum {
    CONFIG_F_REQUIRED = 1u << 0,     /* documented as required; config_validate reports an
                                        empty value with `missing` */
    CONFIG_F_KEY_REQUIRED = 1u << 1, /* the loader reports an absent key with `missing` */
    CONFIG_F_ZERO_OK = 1u << 2,      /* 0 means "not set" and skips the range check */
    CONFIG_F_MUST_EXIST = 1u << 3,   /* paths: the file must be readable */
    CONFIG_F_PATHS = 1u << 4,        /* string lists: every entry is a path */
    CONFIG_F_INTEGER_OK = 1u << 5,   /* strings: a whole number is accepted and kept as text */
    CONFIG_F_NOT_YET = 1u << 6,      /* accepted and validated; this build does not act on it */
    CONFIG_F_BY_KEY = 1u << 7,       /* sections: one table per child section, documented as
                                        a matrix (exits.execution by priority) */
};

typedef struct config_field config_field;

struct config_field {
    const char *path; /* dotted, as the pipeline file names it; element rows: bare names */
    config_type type;
    unsigned flags;
    size_t offset;       /* into pipeline_config (element rows: into their element) */
    size_t size;         /* bytes of the member; strings: the buffer, the limit is size-1 */
    size_t count_offset; /* lists (and symbols, instructions...): offset of the int count */
    size_t set_offset;   /* optional values: offset of a bool set when the file gives it */
    int max_count;       /* CONFIG_INT_LIST: capacity */

    int64_t def;            /* BOOL, INT, INT64, MONEY, PERCENT, ENUM (index), HHMM */
    double def_number;      /* NUMBER */
    const char *def_string; /* STRING, PATH */
    const int *def_list;    /* INT_LIST */
    int def_count;
    void (*set_default)(pipeline_config *cfg); /* CUSTOM rows with a default */

    bool ranged;              /* config_validate checks lo..hi */
    int64_t lo, hi;           /* inclusive, when ranged: INT/INT64/HHMM/INT_LIST entries in
                                 whole units, NUMBER in whole units, MONEY/PERCENT in MONEY units */
    const char *const *names; /* ENUM: NULL-terminated, in enum order */
    const char *charset;      /* STRING: the only bytes allowed (and not empty) */
    const char *charset_doc;  /* ... said for people: "letters, digits, '_', '.' and '-'" */
    bool (*applies)(const pipeline_config *cfg); /* range checked only when it returns true */

    config_hook hook;         /* CUSTOM */
    const config_field *elem; /* CUSTOM lists of tables: the fields of one entry */
    int nelem;

    const char *missing; /* with REQUIRED / KEY_REQUIRED: what to say, e.g. "missing; ..." */
    const char *unit;    /* "seconds", for the docs and list-entry messages */
    const char *example; /* a value to quote in messages */

    /* Documentation. Each override replaces what the generator would derive. */
    const char *lua_class;   /* SECTION: its class in types/apex.lua; CUSTOM with elem: the
                                class of one entry */
    const char *lua_type;    /* overrides the Lua type */
    const char *lua_decl;    /* extra class declarations this field's type needs */
    const char *doc_type;    /* overrides the markdown Type column */
    const char *doc_default; /* overrides the markdown Default column */
    const char *doc_range;   /* overrides the markdown Range column */
    const char *doc;         /* what the field does; markdown, one paragraph */
};

/* The table, parents before their fields, in the order the loader reads and the
 * docs list them. */
extern const config_field config_schema[];
extern const int config_schema_count;

/* One partial-exit stage (partial_stage), and one instrument's rules (money_instrument):
 * the element tables of the stages and instruments rows. Element rows' defaults are
 * applied with config_schema_settle. */
extern const config_field config_stage_fields[];
extern const int config_stage_field_count;
extern const config_field config_instrument_fields[];
extern const int config_instrument_field_count;
/* One data.http source (http_source_config). */
extern const config_field config_http_fields[];
extern const int config_http_field_count;
/* One notifications.webhooks entry (notify_webhook_config). */
extern const config_field config_webhook_fields[];
extern const int config_webhook_field_count;

/* The row with this exact path, or NULL. */
const config_field *config_schema_find(const char *path);

/* The last component of f's path ("max_api_calls_per_minute"). */
const char *config_field_name(const config_field *f);

/* True when f is a direct field of the section `parent` ("" = the top level). */
bool config_field_is_child(const config_field *f, const char *parent);

/* The member f describes, inside base (a pipeline_config, or an element for element
 * rows). */
void *config_field_ptr(void *base, const config_field *f);
const void *config_field_cptr(const void *base, const config_field *f);

/* The known field of `parent` in rows[0..n) closest to an unknown `name` ("max_risk" ->
 * "max_risk_pct"), or NULL when none is close enough to suggest. */
const char *config_schema_suggest(const config_field *rows, int n, const char *parent,
                                  const char *name);

/* Writes what f accepts, for "X is out of range; use <this>": "a whole number of seconds
 * from 1 to 86400", "0, or a value from 1 to 1000000000", "a percent above 0 and at most
 * 100". Rows without a range get the limits of their C type. */
void config_schema_range_text(const config_field *f, char *out, size_t len);

/* Writes "a, b, c": the fields of `parent`, in table order. Truncates to len. */
void config_schema_list(const config_field *rows, int n, const char *parent, char *out, size_t len);

/* Applies every row's default to cfg (config_defaults calls it after zeroing cfg). */
void config_schema_defaults(pipeline_config *cfg);

/* Sets f's member inside base (a scalar row) to a value its range check accepts: the
 * default, or the bottom of the range when the default is outside it (element rows,
 * whose default is 0). The loader does this after reporting a bad value, so the value
 * is reported once, not again by config_validate. */
void config_schema_settle(const config_field *f, void *base);

/* Range-checks one value: f's member inside base, reported as "<file>: <field>: <value>
 * is out of range; use <config_schema_range_text>".
 * Returns the number of problems added (0 or more; lists check every entry). Rows
 * that are not ranged, or whose applies() says no, pass. */
int config_schema_check(const config_field *f, const void *base, const pipeline_config *cfg,
                        const char *file, const char *field, diag_list *d);

/* Writes the value in f's member as the docs and messages show it ("60", "0.02",
 * "\"paper\"", "\"21:00\"", "{ 60, 120 }"); "" for sections and custom rows. */
void config_schema_format(const config_field *f, const void *base, char *out, size_t len);

/* Writes a MONEY/PERCENT range bound the way the docs write it ("1e9", "100"). */
void config_schema_format_money(int64_t v, char *out, size_t len);

#endif
