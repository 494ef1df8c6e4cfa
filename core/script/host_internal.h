/* host_internal: the script_host layout shared by host.c, rules.c and reload.c.
 *
 * Functions taking a script_host enter the state through sandbox_run and may be called
 * from plain host code; those taking a lua_State carry a stack-effect note in the
 * Lua manual's notation (see sandbox.h) and run inside a protected call. */
#ifndef APEX_SCRIPT_HOST_INTERNAL_H
#define APEX_SCRIPT_HOST_INTERNAL_H

#include "script/sandbox.h"
#include "util/hmap.h"
#include "util/vec.h"
#include "script/script.h"

/* Callbacks a module may define; their functions are cached as registry refs so the
 * hot path never looks a callback up by name. */
typedef enum {
    CB_ON_START = 0,
    CB_ON_BAR,
    CB_BIAS,
    CB_EDGE,
    CB_OPPORTUNITY,
    CB_ON_FILL,
    CB_ON_EXIT,
    CB_ON_RELOAD,
    CB_SCORE,
    CB_STOP,
    CB_COUNT
} script_cb;

extern const char *const script_cb_names[CB_COUNT];

/* Field names pushed on the hot path, interned once and kept in the registry. */
typedef enum {
    K_TIME = 0,
    K_SYMBOL,
    K_OPEN,
    K_HIGH,
    K_LOW,
    K_CLOSE,
    K_VOLUME,
    K_BID,
    K_ASK,
    K_NOW,
    K_POSITION,
    K_COUNT
} script_key;

typedef struct {
    char symbol[SYMBOL_MAX];
    int ref;      /* the ctx table in the registry; survives reloads */
    bool started; /* on_start ran successfully for this symbol */
    /* on_start raised: the module's callbacks no longer run for this symbol (each call
     * answers APEX_ESTATE with start_error, the failure's message, or NULL when there was no
     * memory to keep it) until a reload installs new code, which runs on_start again. */
    bool start_failed;
    char *start_error;
} script_ctx;

/* One compiled module: the chunk's returned table and its callbacks. */
typedef struct {
    int module_ref;
    int cb[CB_COUNT]; /* LUA_NOREF when the module does not define it */
    /* on_bar only reads fields of its bar (argscan.h): it may be given the module's one
     * bar table, rewritten for each bar, instead of a new table per call; bar_fields has
     * bit k (script_key, K_TIME to K_ASK) for each field it may read, the only ones
     * rewritten (a field it never reads cannot be seen). */
    bool bar_shared;
    unsigned bar_fields;
} script_code;

typedef struct {
    bool loaded;
    char path[CONFIG_PATH_MAX];
    int params_ref;
    /* The params the pipeline gave (its file's, with --param over them), NULL for none:
     * kept so a reload can merge them again over a changed declaration. */
    struct json_t *given_params;
    script_code code;
    script_ctx *ctx;
    int nctx, capctx;
    hmap ctx_index;     /* symbol -> index in ctx; keys live in ctx[i].symbol (rebuilt on growth) */
    VEC(int) ctx_of_id; /* symtab id of a bar's symbol -> index in ctx + 1 (0 = not yet) */
    int last;           /* index of the last ctx used: consecutive bars often share a symbol */
    int overruns;       /* consecutive calls stopped by the deadline; a reload resets it */
    int bar_ref;        /* the shared bar table (code.bar_shared), LUA_NOREF until first used */
    bool bar_quotes;    /* the shared bar table holds bid and ask (else both are nil) */
} script_module;

/* After this many consecutive calls of a module stopped by the deadline, its callbacks
 * are no longer entered until the file is reloaded: a script that overruns on every bar
 * would otherwise take the whole deadline from every other pipeline on every bar. */
#define SCRIPT_OVERRUN_LIMIT 3

typedef struct {
    char name[160];
    int check_ref;
} script_rule;

struct script_watch_state; /* reload.c */

struct script_host {
    sandbox sb;
    int keys[K_COUNT];
    script_module mods[SCRIPT_SLOT_COUNT];
    script_rule *rules;
    int nrules;
    int market_table_ref;
    struct script_watch_state *watch;
};

/* Compiles path into a fresh environment and checks its callbacks, without touching
 * the slot's current code. On success *out holds new refs the caller must install or
 * release. */
int host_compile_module(script_host *h, script_slot slot, const char *path, script_code *out,
                        char *err, size_t errlen);
/* Replaces the slot's code with c (releasing the old refs). */
void host_install_code(script_host *h, script_slot slot, const script_code *c);
void host_release_code(script_host *h, script_code *c);
/* ctx.params for the compiled module at module_ref: its declared defaults with the
 * slot's given params checked and merged over them (the given params alone for a module
 * that declares none). On success *ref is a new registry ref the caller owns. */
int host_resolve_params(script_host *h, script_slot slot, int module_ref, int *ref, char *err,
                        size_t errlen);
/* Makes ref the slot's ctx.params, in every ctx table it has already given out too. */
int host_install_params(script_host *h, script_slot slot, int ref, char *err, size_t errlen);
/* Calls on_reload(ctx) for every symbol ctx of the slot. Returns 0 or the first error. */
int host_call_on_reload(script_host *h, script_slot slot, char *err, size_t errlen);

/* Pushes a position table as scripts see it. [-0, +1, m] */
void host_push_position(lua_State *L, const script_position *pos);

/* Releases the rules (rules.c). */
void host_free_rules(script_host *h);

#endif
