/* fuzz_instructions: the instruction compiler (lua/apex/instructions.lua) reached the way
 * a pipeline reaches it, through script_load_rules (core/script/rules.c), then the
 * compiled rule evaluated by script_rules_check against a position.
 *
 * The input is one instruction sentence. Compiling must either succeed or add exactly
 * one diagnostic quoting the instruction; checking must return 0 (no fire) or 1 (fired,
 * with a terminated rule name and reason), never take the host down. The market the rule
 * sees (prices, session change, news impact) is drawn from the sentence's bytes, so the
 * same input always sees the same market.
 *
 * The compiler is Lua, which libFuzzer's compiler instrumentation cannot see. So each
 * sentence is also compiled and checked in a second sandbox of the same kind (opened
 * through sandbox.h, as test_sandbox does, since the host's own state is internal to
 * core/script) with a line hook that feeds pairs of executed Lua lines into an
 * extra-counters section: the fuzzer is guided through the grammar too. */
#include <lauxlib.h>
#include <lua.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_support.h"
#include "script/sandbox.h"
#include "script/script.h"
#include "util/err.h"

#define LUA_EDGES 8192
__attribute__((used, section("__libfuzzer_extra_counters"))) static uint8_t lua_edges[LUA_EDGES];
static int prev_line;

static void line_hook(lua_State *L, lua_Debug *ar)
{
    (void)L;
    unsigned edge = ((unsigned)prev_line * 7919u) ^ (unsigned)ar->currentline;
    lua_edges[edge % LUA_EDGES]++;
    prev_line = ar->currentline;
}

typedef struct {
    uint32_t seed;
} fake_market;

static fake_market market_state;

static uint32_t mix(uint32_t h, const char *s)
{
    for (; s && *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static apex_time fm_now(void *ud)
{
    (void)ud;
    return (apex_time)1709303400 * APEX_SECOND;
}

/* About one symbol in eight has no data; the rest a price of 1..200. */
static int fm_price(void *ud, const char *sym, money_t *out)
{
    uint32_t h = mix(((fake_market *)ud)->seed, sym);
    if (h % 8 == 0)
        return APEX_ENOTFOUND;
    *out = (money_t)(1 + h % 200) * MONEY_SCALE;
    return 0;
}

/* A change of -10%..+10%. */
static int fm_change(void *ud, const char *sym, money_t *out)
{
    uint32_t h = mix(((fake_market *)ud)->seed ^ 0x9e3779b9u, sym);
    if (h % 8 == 0)
        return APEX_ENOTFOUND;
    *out = ((money_t)(h % 2001) - 1000) * (MONEY_SCALE / 10000);
    return 0;
}

static int fm_news(void *ud, const char *sym, apex_time since, int *out)
{
    (void)since;
    *out = (int)(mix(((fake_market *)ud)->seed ^ 0x85ebca6bu, sym) % 4);
    return 0;
}

static const script_market market = {&market_state, fm_now, fm_price, fm_change, fm_news, NULL, 0};
static script_host *host;
static sandbox shadow; /* the state the line hook watches */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet_logs();
    char err[512];
    script_limits lim = {.memory_limit = 16u << 20, .deadline_ms = 250};
    host = script_host_new("fuzz", lim, &market, err, sizeof err);
    if (!host || sandbox_open(&shadow, lim, "fuzz-coverage", &market, err, sizeof err) < 0) {
        fprintf(stderr, "fuzz: opening the script states: %s\n", err);
        abort();
    }
    return 0;
}

typedef struct {
    const char *text;
    const script_position *pos;
} shadow_req;

/* compile(text), then rule.check(m, position) when it compiled. Results are not
 * inspected here: the host's own path is checked; this run only traces lines. */
static int shadow_compile(lua_State *L)
{
    const shadow_req *r = lua_touserdata(L, 1);
    sandbox_require(L, "apex.instructions");
    if (lua_getfield(L, -1, "compile") != LUA_TFUNCTION)
        return 0;
    lua_pushstring(L, r->text);
    lua_call(L, 1, 2);
    if (!lua_istable(L, -2) || lua_getfield(L, -2, "check") != LUA_TFUNCTION)
        return 0;
    apex_api_push_market_table(L);
    lua_createtable(L, 0, 2);
    lua_pushstring(L, r->pos->symbol);
    lua_setfield(L, -2, "symbol");
    lua_pushnumber(L, money_to_double(r->pos->unrealized_pnl_pct));
    lua_setfield(L, -2, "unrealized_pnl_pct");
    lua_call(L, 2, 2);
    return 0;
}

static void trace_lines(const char *text, const script_position *pos)
{
    shadow_req r = {text, pos};
    char err[512];
    prev_line = 0;
    lua_sethook(shadow.L, line_hook, LUA_MASKLINE, 0);
    sandbox_run(&shadow, shadow_compile, &r, err, sizeof err);
    lua_sethook(shadow.L, NULL, 0, 0);
}

/* A long position of 100 at 150, now 120..180, in AAPL or SPY. */
static script_position make_position(uint32_t seed)
{
    script_position pos;
    memset(&pos, 0, sizeof pos);
    pos.execution_id = 1;
    snprintf(pos.symbol, sizeof pos.symbol, "%s", (seed & 1) ? "AAPL" : "SPY");
    pos.side = SIDE_BUY;
    pos.qty = MONEY(100);
    pos.entry_price = MONEY(150);
    pos.current_price = MONEY(150) + ((money_t)(seed % 61) - 30) * MONEY_SCALE;
    pos.unrealized_pnl = (pos.current_price - pos.entry_price) * 100;
    pos.unrealized_pnl_pct = (pos.current_price - pos.entry_price) / 150;
    return pos;
}

static bool terminated(const char *s, size_t cap)
{
    return memchr(s, '\0', cap) != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A sentence is a C string in the config: it ends at the first NUL. */
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    market_state.seed = mix(2166136261u, text);

    instruction ins = {INSTRUCTION_TEXT, text};
    diag_list diags;
    diag_init(&diags);
    int problems = script_load_rules(host, &ins, 1, "pipeline.lua", &diags);
    FUZZ_CHECK(problems == 0 || problems == 1);
    FUZZ_CHECK(diags.count == problems);
    FUZZ_CHECK(script_rules_count(host) == 1 - problems);
    script_position pos = make_position(market_state.seed);
    if (problems == 0) {
        script_rule_hit hit;
        char err[512];
        int rc = script_rules_check(host, &pos, &hit, err, sizeof err);
        /* A compiled sentence never raises: missing data makes it wait, not fail. */
        FUZZ_CHECK(rc == 0 || rc == 1);
        if (rc == 1)
            FUZZ_CHECK(terminated(hit.rule, sizeof hit.rule) &&
                       terminated(hit.reason, sizeof hit.reason) && hit.reason[0] != '\0');
    }
    trace_lines(text, &pos);
    diag_free(&diags);
    free(text);
    return 0;
}
