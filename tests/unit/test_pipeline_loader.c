/* test_pipeline_loader: pipeline.lua -> pipeline_config, and every way it can be wrong. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "config/config.h"
#include "lua_fixture.h"
#include "market/news.h"
#include "script/script.h"

#define DIR APEX_SOURCE_DIR "/tests/fixtures/script/pipeline"

#define PCT(whole, hundredths)                                                                     \
    ((money_t)(whole)*MONEY_SCALE / 100 + (money_t)(hundredths)*MONEY_SCALE / 10000)

static int load(const char *name, pipeline_config *cfg, diag_list *d)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", DIR, name);
    config_defaults(cfg);
    diag_init(d);
    return script_load_pipeline(path, cfg, d);
}

static void print_diags(const diag_list *d)
{
    for (int i = 0; i < d->count; i++)
        print_message("  diag: %s\n", d->items[i]);
}

/* True when some diagnostic contains every one of the given fragments. */
static bool has_diag(const diag_list *d, const char *a, const char *b)
{
    for (int i = 0; i < d->count; i++)
        if (strstr(d->items[i], a) && (!b || strstr(d->items[i], b)))
            return true;
    return false;
}

static void test_full_pipeline(void **state)
{
    pipeline_config cfg;
    diag_list d;
    int n = load("full.lua", &cfg, &d);
    print_diags(&d);
    assert_int_equal(n, 0);

    assert_string_equal(cfg.name, "ma-trend");
    assert_int_equal(cfg.nsymbols, 3);
    assert_string_equal(cfg.symbols[0], "AAPL");
    assert_string_equal(cfg.symbols[2], "BTC/USD");
    assert_string_equal(cfg.dir, DIR);

    assert_int_equal(cfg.data.nfiles, 2);
    assert_string_equal(cfg.data.files[0], DIR "/bars.csv");
    assert_string_equal(cfg.data.files[1], DIR "/bars2.csv");
    assert_string_equal(cfg.data.news_file, DIR "/news.csv");
    assert_true(cfg.data.speed == 0.0);
    assert_true(cfg.data.follow);
    assert_int_equal(cfg.data.nhttp, 1);
    assert_string_equal(cfg.data.http[0].price, "data.0.last");
    assert_int_equal(cfg.data.http[0].every_seconds, 30);

    assert_int_equal(cfg.broker.kind, BROKER_KIND_PAPER);
    assert_int_equal(cfg.broker.paper.starting_cash, MONEY(250000));
    assert_int_equal(cfg.broker.paper.spread_bps, MONEY(3));
    assert_int_equal(cfg.broker.paper.slippage_bps, MONEY(2));
    assert_int_equal(cfg.broker.paper.fee_per_share, MONEY_SCALE / 200);
    assert_int_equal(cfg.broker.paper.fee_bps, MONEY(3) / 2);
    assert_int_equal(cfg.broker.paper.fee_min, MONEY(1));
    assert_string_equal(cfg.broker.paper.state_path, DIR "/paper.state");

    assert_string_equal(cfg.bias.file, DIR "/../bias_basic.lua");
    assert_null(cfg.bias.params_json);
    assert_string_equal(cfg.strategy.file, DIR "/../strategy_basic.lua");
    json_error_t je;
    json_t *params = json_loads(cfg.strategy.params_json, 0, &je);
    assert_non_null(params);
    assert_int_equal(json_integer_value(json_object_get(params, "fast")), 10);
    assert_int_equal(json_integer_value(json_object_get(params, "slow")), 30);
    assert_string_equal(json_string_value(json_object_get(params, "name")), "x");
    json_t *w = json_object_get(params, "weights");
    assert_true(json_is_array(w));
    assert_int_equal(json_array_size(w), 2);
    assert_true(json_real_value(json_array_get(w, 1)) == 0.25);
    assert_true(json_is_true(json_object_get(json_object_get(params, "nested"), "on")));
    json_decref(params);

    assert_int_equal(cfg.risk.capital, MONEY(50000));
    assert_int_equal(cfg.risk.max_risk_pct, PCT(2, 0));
    assert_int_equal(cfg.risk.max_position_pct, PCT(10, 0));
    assert_int_equal(cfg.risk.max_positions, 4);
    assert_int_equal(cfg.risk.daily_loss_limit_pct, PCT(5, 0));
    assert_false(cfg.risk.allow_short);
    assert_false(cfg.risk.pdt_check);
    assert_int_equal(cfg.risk.pdt_day_trade_limit, 5);

    const exits_config *e = &cfg.exits;
    assert_int_equal(e->stop_loss_pct, PCT(5, 0));
    assert_int_equal(e->take_profit_pct, PCT(20, 0));
    assert_false(e->trailing_enabled);
    assert_int_equal(e->trailing_activation_pct, PCT(6, 0));
    assert_int_equal(e->trailing_distance_pct, PCT(2, 0));
    assert_true(e->partial_enabled);
    assert_int_equal(e->nstages, 3);
    assert_string_equal(e->stages[2].name, "third");
    assert_int_equal(e->stages[0].profit_threshold, PCT(10, 0));
    assert_int_equal(e->stages[0].exit_fraction, PCT(40, 0)); /* 40% as a fraction */
    assert_int_equal(e->stages[2].exit_fraction, PCT(20, 0));
    assert_int_equal(e->liquidity_max_spread, PCT(5, 0));
    assert_int_equal(e->liquidity_min_volume, MONEY(100));
    assert_int_equal(e->early_exit_edge, PCT(1, 0));
    assert_int_equal(e->time_urgent_minutes, 10);
    assert_int_equal(e->session_close_minute_utc, 20 * 60 + 30);
    assert_int_equal(e->rebalance_min_improvement, PCT(15, 0));
    assert_int_equal(e->execution[EXIT_PRIORITY_CRITICAL].timeout_seconds, 3);
    assert_int_equal(e->execution[EXIT_PRIORITY_HIGH].max_walks, 3);
    assert_int_equal(e->execution[EXIT_PRIORITY_LOW].timeout_seconds, 90);
    assert_int_equal(e->execution[EXIT_PRIORITY_LOW].max_walks, 12);
    assert_int_equal(e->execution[EXIT_PRIORITY_LOW].price, PRICE_FAIR);
    assert_int_equal(e->execution[EXIT_PRIORITY_CRITICAL].price, PRICE_MARKET); /* default */

    const monitoring_config *m = &cfg.monitoring;
    assert_int_equal(m->normal_frequency_s, 20);
    assert_int_equal(m->urgent_frequency_s, 4);
    assert_int_equal(m->near_stop_loss_pct, PCT(1, 0));
    assert_int_equal(m->near_profit_target_pct, PCT(3, 0));
    assert_int_equal(m->near_trailing_stop_pct, PCT(1, 50));
    assert_int_equal(m->price_cache_ttl_s, 5);
    assert_int_equal(m->max_api_calls_per_minute, 120);
    assert_int_equal(m->nretry_backoff, 3);
    assert_int_equal(m->retry_backoff_s[2], 40);
    assert_int_equal(m->persist_interval_s, 30);

    assert_int_equal(cfg.ninstructions, 2);
    assert_int_equal(cfg.instructions[0].kind, INSTRUCTION_TEXT);
    assert_string_equal(cfg.instructions[0].value, "close if VIX > 40");
    assert_int_equal(cfg.instructions[1].kind, INSTRUCTION_FILE);
    assert_string_equal(cfg.instructions[1].value, DIR "/../rules/vix_rule.lua");

    assert_string_equal(cfg.notifications.telegram_token_env, "TELEGRAM_TOKEN");
    assert_int_equal(cfg.notifications.ntelegram_chat_ids, 1);
    assert_string_equal(cfg.notifications.telegram_chat_ids[0], "12345");
    assert_int_equal(cfg.notifications.nwebhooks, 2);
    assert_string_equal(cfg.notifications.webhooks[1].url, "https://example.org/h2");

    assert_int_equal(cfg.execution.tool, EXEC_TOOL_WEBHOOK);
    assert_int_equal(cfg.execution.entry, ENTRY_LIMIT);
    assert_string_equal(cfg.execution.webhook_url, "https://example.com/exec");

    money_instrument btc = config_instrument(&cfg, "BTC/USD");
    assert_int_equal(btc.tick, MONEY_SCALE / 100);
    assert_int_equal(btc.lot, MONEY_SCALE / 10000);
    /* A symbol entry without a tick inherits the default's, whatever the table order. */
    money_instrument msft = config_instrument(&cfg, "MSFT");
    assert_int_equal(msft.tick, MONEY_SCALE / 20);
    assert_int_equal(msft.lot, MONEY(10));
    money_instrument aapl = config_instrument(&cfg, "AAPL");
    assert_int_equal(aapl.tick, MONEY_SCALE / 20);
    assert_int_equal(aapl.lot, MONEY(1));

    /* The news file it names loads as the host will load it (the fixture once had an
     * impact of "3", which the news loader refuses, and nothing noticed). */
    news_list news = {0};
    char err[512] = "";
    if (news_load(&news, cfg.data.news_file, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(news.count, 1);
    assert_string_equal(news.items[0].symbol, "AAPL");
    assert_int_equal(news.items[0].impact, 3);
    assert_string_equal(news.items[0].headline, "Earnings");
    news_free(&news);

    config_free(&cfg);
    diag_free(&d);
}

static void test_defaults_when_absent(void **state)
{
    pipeline_config cfg, def;
    diag_list d;
    int n = load("minimal.lua", &cfg, &d);
    print_diags(&d);
    assert_int_equal(n, 0);
    config_defaults(&def);
    assert_string_equal(cfg.name, "minimal");
    assert_int_equal(cfg.data.nfiles, 1);
    assert_string_equal(cfg.data.files[0], DIR "/bars.csv");
    assert_int_equal(cfg.broker.paper.starting_cash, def.broker.paper.starting_cash);
    assert_int_equal(cfg.risk.max_risk_pct, def.risk.max_risk_pct);
    assert_int_equal(cfg.risk.max_positions, 10);
    assert_int_equal(cfg.exits.stop_loss_pct, PCT(4, 0));
    assert_int_equal(cfg.exits.nstages, 2);
    assert_int_equal(cfg.exits.stages[0].exit_fraction, PCT(50, 0));
    assert_int_equal(cfg.exits.session_close_minute_utc, 21 * 60);
    assert_int_equal(cfg.monitoring.nretry_backoff, 5);
    assert_int_equal(cfg.execution.tool, EXEC_TOOL_BROKER);
    assert_int_equal(cfg.broker.paper.fill, PAPER_FILL_NEXT_OPEN);
    assert_int_equal(cfg.bias.file[0], '\0');
    assert_null(cfg.strategy.params_json);
    assert_int_equal(cfg.ninstructions, 0);
    assert_int_equal(cfg.ninstruments, 0);
    config_free(&cfg);
    diag_free(&d);
}

static void test_every_error_reported_at_once(void **state)
{
    pipeline_config cfg;
    diag_list d;
    int n = load("errors.lua", &cfg, &d);
    print_diags(&d);
    const char *f = DIR "/errors.lua: ";
    char want[1200];
#define EXPECT(field_msg, extra)                                                                   \
    do {                                                                                           \
        snprintf(want, sizeof want, "%s%s", f, field_msg);                                         \
        if (!has_diag(&d, want, extra))                                                            \
            fail_msg("missing diagnostic: %s ... %s", want, extra ? extra : "");                   \
    } while (0)
    EXPECT("name: \"bad name!\" may use only letters", NULL);
    EXPECT("data.files[2]: ", "missing.csv does not exist");
    EXPECT("strategy.file: ", "nope.lua does not exist");
    EXPECT("strategy.params.f: a function cannot be a parameter", NULL);
    EXPECT("risk.max_risk: unknown field; did you mean max_risk_pct?", NULL);
    EXPECT("risk.max_positions: expected a whole number, got string", NULL);
    EXPECT("risk.allow_short: expected true or false, got string", NULL);
    EXPECT("exits.session_close: \"9pm\" is not a time; use \"HH:MM\"", NULL);
    EXPECT("exits.partial_exits.stages[1].exit_percentage: 150 is out of range", NULL);
    EXPECT("broker.fill: \"next-open\" is not one of \"next_open\", \"close\"", NULL);
    EXPECT("execution.tool: \"fax\" is not one of \"broker\", \"webhook\"", NULL);
    EXPECT("monitoring.retry_backoff[2]: expected a whole number of seconds, got string", NULL);
    EXPECT("colour: unknown field; known fields here: name, symbols", NULL);
    /* config_validate ran as well: stop_loss_pct = 2 (200%) is out of its range. */
    EXPECT("exits.stop_loss_pct: 2 is out of range", NULL);
#undef EXPECT
    assert_int_equal(n, d.count);
    assert_true(n >= 14);
    config_free(&cfg);
    diag_free(&d);
}

static void test_syntax_and_runtime_errors_give_file_line(void **state)
{
    pipeline_config cfg;
    diag_list d;
    assert_int_equal(load("syntax.lua", &cfg, &d), 1);
    assert_non_null(strstr(d.items[0], "syntax.lua:4:"));
    assert_non_null(strstr(d.items[0], "'}' expected"));
    config_free(&cfg);
    diag_free(&d);

    assert_int_equal(load("runtime.lua", &cfg, &d), 1);
    assert_non_null(strstr(d.items[0], "runtime.lua:4: attempt to index a nil value"));
    config_free(&cfg);
    diag_free(&d);

    assert_int_equal(load("not_table.lua", &cfg, &d), 1);
    assert_non_null(strstr(d.items[0], "not_table.lua: the file must return the pipeline table"));
    config_free(&cfg);
    diag_free(&d);

    assert_int_equal(load("does_not_exist.lua", &cfg, &d), 1);
    assert_non_null(strstr(d.items[0], "does_not_exist.lua: cannot open"));
    config_free(&cfg);
    diag_free(&d);
}

/* Writes a pipeline file whose body goes inside `return apex.pipeline { ... }` after the
 * required fields, and loads it. The file lives in a temporary directory; its data and
 * strategy are the fixtures'. */
static int load_text(const char *prelude, const char *body, pipeline_config *cfg, diag_list *d,
                     char *path, size_t pathlen)
{
    char dir[] = "/tmp/apex-loader-XXXXXX";
    assert_non_null(mkdtemp(dir));
    snprintf(path, pathlen, "%s/p.lua", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "%s\nreturn apex.pipeline {\n  name = \"t\",\n  symbols = { \"AAPL\" },\n"
            "  data = { files = \"%s/bars.csv\" },\n  strategy = { file = "
            "\"%s/../strategy_basic.lua\", params = P },\n  %s\n}\n",
            prelude ? prelude : "local P", DIR, DIR, body ? body : "");
    fclose(f);
    config_defaults(cfg);
    diag_init(d);
    int n = script_load_pipeline(path, cfg, d);
    unlink(path);
    rmdir(dir);
    return n;
}

/* A nil in a list constructor leaves a hole; the loader names the index instead of
 * dropping entries (it used to keep none of the instructions, silently). */
static void test_list_with_a_hole_names_the_index(void **state)
{
    pipeline_config cfg;
    diag_list d;
    char path[256], want[320];
    int n = load_text("local P\nlocal a = \"close if VIX > 40\"",
                      "instructions = { a, nil_var, \"close if loss > 5%\" },", &cfg, &d, path,
                      sizeof path);
    print_diags(&d);
    assert_int_equal(n, 1);
    snprintf(want, sizeof want, "%s: instructions[2]: is nil, a hole in the list", path);
    assert_true(has_diag(&d, want, NULL));
    config_free(&cfg);
    diag_free(&d);

    n = load_text(NULL,
                  "symbols = { \"AAPL\", nil, \"MSFT\" },\n"
                  "monitoring = { retry_backoff = { 60, nil, 240 } },",
                  &cfg, &d, path, sizeof path);
    print_diags(&d);
    assert_true(has_diag(&d, "symbols[2]: is nil, a hole in the list", NULL));
    assert_true(has_diag(&d, "monitoring.retry_backoff[2]: is nil, a hole in the list", NULL));
    config_free(&cfg);
    diag_free(&d);

    /* every other list field: data files, partial stages, webhooks */
    n = load_text(NULL,
                  "exits = { partial_exits = { stages = { { profit_threshold = 0.1, "
                  "exit_percentage = 10 }, first_stage, { profit_threshold = 0.3, "
                  "exit_percentage = 10 } } } },\n"
                  "notifications = { webhooks = { \"https://a.example\", hook, "
                  "\"https://b.example\" } },",
                  &cfg, &d, path, sizeof path);
    print_diags(&d);
    assert_true(has_diag(&d, "exits.partial_exits.stages[2]: is nil, a hole in the list", NULL));
    assert_true(has_diag(&d, "notifications.webhooks[2]: is nil, a hole in the list", NULL));
    config_free(&cfg);
    diag_free(&d);
    n = load_text("local P\nlocal f = \"" DIR "/bars.csv\"",
                  "data = { files = { f, g, \"" DIR "/bars2.csv\" } },", &cfg, &d, path,
                  sizeof path);
    print_diags(&d);
    assert_true(has_diag(&d, "data.files[2]: is nil, a hole in the list", NULL));
    config_free(&cfg);
    diag_free(&d);

    /* in params too: JSON has no list with holes */
    n = load_text("local P = { weights = { 0.5, missing, 0.25 } }", NULL, &cfg, &d, path,
                  sizeof path);
    print_diags(&d);
    assert_int_equal(n, 1);
    assert_true(has_diag(&d, "strategy.params.weights[2]: is nil, a hole in the list", NULL));
    config_free(&cfg);
    diag_free(&d);
}

/* Params nested deeper than the 20 stack slots Lua guarantees load (to_json reserves its
 * stack at every level), and the JSON keeps every level. */
static void test_deeply_nested_params_load(void **state)
{
    pipeline_config cfg;
    diag_list d;
    char path[256];
    int n =
        load_text("local P = { v = 1 }\nfor i = 1, 30 do P = { x = P, list = { 1, { 2 } } } end",
                  NULL, &cfg, &d, path, sizeof path);
    print_diags(&d);
    assert_int_equal(n, 0);
    json_error_t je;
    json_t *j = json_loads(cfg.strategy.params_json, 0, &je), *cur = j;
    for (int i = 0; i < 30; i++)
        cur = json_object_get(cur, "x");
    assert_int_equal(json_integer_value(json_object_get(cur, "v")), 1);
    json_decref(j);
    config_free(&cfg);
    diag_free(&d);

    n = load_text("local P = {}\nlocal cur = P\nfor i = 1, 40 do cur.x = {} cur = cur.x end", NULL,
                  &cfg, &d, path, sizeof path);
    assert_int_equal(n, 1);
    assert_true(has_diag(&d, "strategy.params.x.x.x", "nested more than 32 tables deep"));
    config_free(&cfg);
    diag_free(&d);
}

/* Shared subtables count at each use: 22 levels of { a = t, b = t } would be 4 million
 * values; the loader stops at its budget with one message naming the file and field. */
static void test_shared_params_cannot_expand_without_bound(void **state)
{
    pipeline_config cfg;
    diag_list d;
    char path[256], want[320];
    int n = load_text("local P = { 1 }\nfor i = 1, 22 do P = { a = P, b = P } end", NULL, &cfg, &d,
                      path, sizeof path);
    print_diags(&d);
    assert_int_equal(n, 1);
    snprintf(want, sizeof want, "%s: strategy.params: more than 100000 values", path);
    assert_true(has_diag(&d, want, NULL));
    assert_null(cfg.strategy.params_json);
    config_free(&cfg);
    diag_free(&d);

    /* long strings shared many times: the text budget */
    n = load_text("local s = string.rep(\"x\", 100000)\nlocal P = {}\nfor i = 1, 20 do P[i] = s "
                  "end",
                  NULL, &cfg, &d, path, sizeof path);
    assert_int_equal(n, 1);
    assert_true(has_diag(&d, "strategy.params: more than 1048576 bytes of text", NULL));
    config_free(&cfg);
    diag_free(&d);

    /* a table that contains itself */
    n = load_text("local P = { a = {} }\nP.a.back = P", NULL, &cfg, &d, path, sizeof path);
    assert_int_equal(n, 1);
    assert_true(has_diag(&d, "strategy.params.a.back: contains itself", NULL));
    config_free(&cfg);
    diag_free(&d);
}

static void test_random_seed_field(void **state)
{
    pipeline_config cfg;
    diag_list d;
    char path[256];
    assert_int_equal(load_text(NULL, "random_seed = 42,", &cfg, &d, path, sizeof path), 0);
    assert_true(cfg.random_seed_given);
    assert_int_equal(cfg.random_seed, 42);
    assert_int_equal(config_random_seed(&cfg), 42);
    config_free(&cfg);
    diag_free(&d);

    assert_int_equal(load_text(NULL, "random_seed = math.mininteger,", &cfg, &d, path, sizeof path),
                     0);
    assert_int_equal(cfg.random_seed, INT64_MIN);
    config_free(&cfg);
    diag_free(&d);

    assert_int_equal(load_text(NULL, "", &cfg, &d, path, sizeof path), 0);
    assert_false(cfg.random_seed_given);
    config_free(&cfg);
    diag_free(&d);

    assert_int_equal(load_text(NULL, "random_seed = 1.5,", &cfg, &d, path, sizeof path), 1);
    assert_true(has_diag(&d, "random_seed: expected a whole number, got 1.5", NULL));
    config_free(&cfg);
    diag_free(&d);

    assert_int_equal(load_text(NULL, "randomseed = 7,", &cfg, &d, path, sizeof path), 1);
    assert_true(has_diag(&d, "randomseed: unknown field; did you mean random_seed?", NULL));
    config_free(&cfg);
    diag_free(&d);
}

/* Loads a body and expects exactly one problem containing `want` (after "<path>: "). */
static void expect_one(const char *prelude, const char *body, const char *want)
{
    pipeline_config cfg;
    diag_list d;
    char path[256], full[1200];
    int n = load_text(prelude, body, &cfg, &d, path, sizeof path);
    snprintf(full, sizeof full, "%s: %s", path, want);
    if (n != 1 || !has_diag(&d, full, NULL)) {
        print_diags(&d);
        fail_msg("expected one problem \"%s\", got %d", full, n);
    }
    config_free(&cfg);
    diag_free(&d);
}

/* Found by fuzz_pipeline_loader: an instruments entry whose __index added instruments
 * while the loader walked the table made its second pass write past the array (a heap
 * overflow; a double free in `check`). The walk now runs no Lua code: tables are read
 * raw, a table with a metatable is refused by name, and the sandbox has no finalizers. */
static void test_tables_cannot_change_under_the_walk(void **state)
{
    expect_one("local P\n"
               "local n = 0\n"
               "local mt = { __index = function(t, k)\n"
               "  n = n + 1\n"
               "  if n < 50 then INSTR['S' .. n] = { tick = 0.01 } end\n"
               "end }\n"
               "INSTR = { A = setmetatable({}, mt), B = { lot = 1 } }",
               "instruments = INSTR,",
               "instruments.A: is a table with a metatable; the loader reads tables as they are");
    /* the same for a section, a list and params: nothing from __index is silently lost */
    expect_one("local P", "risk = setmetatable({}, { __index = { max_positions = 3 } }),",
               "risk: is a table with a metatable");
    expect_one("local P",
               "instructions = setmetatable({}, { __index = function() return 'close if VIX "
               "> 1' end }),",
               "instructions: is a table with a metatable");
    expect_one("local P = { nested = setmetatable({}, { __index = { x = 1 } }) }", NULL,
               "strategy.params.nested: is a table with a metatable");
    expect_one("local P = setmetatable({}, { __mode = 'k' })", NULL,
               "strategy.params: is a table with a metatable");

    /* A finalizer could change a table during the walk (it runs whenever the collector
     * does) and runs with hooks off, beyond the deadline: one that loops hung `check` at
     * lua_close. The sandbox refuses __gc, at the line that sets it. */
    pipeline_config cfg;
    diag_list d;
    char path[256];
    int n = load_text("local P\nKEEP = setmetatable({}, { __gc = function() while true do end "
                      "end })",
                      NULL, &cfg, &d, path, sizeof path);
    print_diags(&d);
    assert_int_equal(n, 1);
    assert_true(has_diag(
        &d, "p.lua:2: setmetatable: __gc finalizers are not allowed in the sandbox", NULL));
    config_free(&cfg);
    diag_free(&d);
}

/* 1e30 is a number, just out of range: every numeric kind says so with the field's range
 * (it used to say "expected a whole number" or "out of range" without the range), once. */
static void test_out_of_range_numbers_say_the_range(void **state)
{
    expect_one("local P", "risk = { max_positions = 1e30 },",
               "risk.max_positions: 1e+30 is out of range; use a whole number from 1 to 100000");
    expect_one("local P", "risk = { max_positions = 200000 },",
               "risk.max_positions: 200000 is out of range; use a whole number from 1 to 100000");
    expect_one("local P", "risk = { capital = 1e30 },",
               "risk.capital: 1e+30 is out of range; use 0, or a value from 1 to 1000000000");
    expect_one("local P", "broker = { starting_cash = -1/0 },",
               "broker.starting_cash: -inf is out of range; use a value from 1 to 1000000000");
    expect_one("local P", "exits = { early_exit_edge = 1e30 },",
               "exits.early_exit_edge: 1e+30 is out of range; use a value from -92233720367 to "
               "92233720367");
    expect_one("local P",
               "exits = { partial_exits = { stages = { { profit_threshold = 0.1, "
               "exit_percentage = 1e30 } } } },",
               "exits.partial_exits.stages[1].exit_percentage: 1e+30 is out of range; use a "
               "percent above 0 and at most 100");
    expect_one("local P",
               "exits = { partial_exits = { stages = { { profit_threshold = 1e30, "
               "exit_percentage = 10 } } } },",
               "exits.partial_exits.stages[1].profit_threshold: 1e+30 is out of range; use a "
               "value from 0.00000001 to 100");
    expect_one("local P", "monitoring = { retry_backoff = { 60, 1e30 } },",
               "monitoring.retry_backoff[2]: 1e+30 is out of range; use a whole number of "
               "seconds from 1 to 86400");
    expect_one("local P", "data = { files = \"" DIR "/bars.csv\", speed = 1e30 },",
               "data.speed: 1e+30 is out of range; use a number from 0 to 1000000");
    expect_one("local P", "random_seed = 1e30,",
               "random_seed: 1e+30 is out of range; use a whole number from "
               "-9223372036854775808 to 9223372036854775807");
    expect_one("local P", "monitoring = { retry_backoff = {} },",
               "monitoring.retry_backoff: is empty; list at least one whole number of seconds");
    expect_one("local P", "exits = { time_urgent_minutes = 0/0 },",
               "exits.time_urgent_minutes: expected a whole number of minutes, got nan");
}

/* A value other than 0 that rounds to 0 at 8 decimals must not become 0, which means
 * "not set" or "inherit" for some fields: risk.capital = 1e-9 used to size against the
 * account's equity, and a tick of 1e-9 took the default tick. An explicit 0 tick is out
 * of range rather than inherited. */
static void test_values_that_round_to_zero(void **state)
{
    expect_one("local P", "risk = { capital = 1e-9 },",
               "risk.capital: 1e-09 is too small: it rounds to 0 at 8 decimal places");
    expect_one("local P", "instruments = { AAPL = { tick = 1e-9 } },",
               "instruments.AAPL.tick: 1e-09 is too small: it rounds to 0 at 8 decimal places, "
               "and 0 would not mean what it says; use a value from 0.00000001 to 10000");
    expect_one("local P", "instruments = { default = { lot = 4e-9 } },",
               "instruments.default.lot: 4e-09 is too small");
    expect_one("local P", "instruments = { AAPL = { tick = 0 } },",
               "instruments.AAPL.tick: 0 is out of range; use a value from 0.00000001 to 10000");
    expect_one("local P",
               "exits = { partial_exits = { stages = { { profit_threshold = 0.1, "
               "exit_percentage = 1e-7 } } } },",
               "exits.partial_exits.stages[1].exit_percentage: 1e-07 is too small");
    /* the smallest value that does not round to 0 is kept */
    pipeline_config cfg;
    diag_list d;
    char path[256];
    assert_int_equal(load_text(NULL, "instruments = { AAPL = { tick = 0.6e-8, lot = 1e-8 } },",
                               &cfg, &d, path, sizeof path),
                     0);
    assert_int_equal(config_instrument(&cfg, "AAPL").tick, 1);
    assert_int_equal(config_instrument(&cfg, "AAPL").lot, 1);
    config_free(&cfg);
    diag_free(&d);
}

/* Symbols: the data's character set, no duplicates, found by a hash lookup (100,000
 * symbols took 32 s when each was compared with all before it). */
static void test_symbols_checked_and_unique(void **state)
{
    expect_one("local P", "symbols = { \"AAPL\", \"AA PL\" },",
               "symbols[2]: \"AA PL\" is not a symbol; use 1 to 23 characters of A-Z a-z 0-9 . _ "
               "/ ^ = -");
    expect_one("local P", "symbols = { \"AAPL\", \"AAPL\\0X\" },",
               "symbols[2]: contains a NUL byte (\\0) at byte 5; remove it");
    expect_one("local P", "instruments = { [\"AA PL\"] = { tick = 0.01 } },",
               "instruments.AA PL: is not a symbol");

    pipeline_config cfg;
    diag_list d;
    char path[256], want[400];
    int n = load_text("local P\nS = {}\nfor i = 1, 100000 do S[i] = 'S' .. i end\n"
                      "S[100001] = 'S77777'",
                      "symbols = S,", &cfg, &d, path, sizeof path);
    print_diags(&d);
    assert_int_equal(n, 1);
    snprintf(want, sizeof want, "%s: symbols[100001]: S77777 is listed twice; remove one", path);
    assert_true(has_diag(&d, want, NULL));
    assert_int_equal(cfg.nsymbols, 100000);
    assert_string_equal(cfg.symbols[99999], "S100000");
    config_free(&cfg);
    diag_free(&d);

    /* a data file listed twice would replay its bars twice */
    expect_one("local P",
               "data = { files = { \"" DIR "/bars.csv\", \"" DIR "/bars2.csv\", \"" DIR
               "/bars.csv\" } },",
               "data.files[3]: " DIR "/bars.csv is listed twice; remove one");
}

/* data.http: a list of sources; each entry's fields are the schema's element rows, and
 * every message names the source's place in the list, 1-based, as the file counts. */
#define HTTP_DATA(sources) "data = { files = \"" DIR "/bars.csv\", http = { " sources " } },"

static void test_http_sources(void **state)
{
    pipeline_config cfg;
    diag_list d;
    char path[256];
    int n = load_text(NULL,
                      HTTP_DATA("{ symbol = \"VIX\", url = \"https://api.example.com/q?s=VIX\", "
                                "price = \"data.0.last\", time = \"data.0.time\", "
                                "every_seconds = 30, header_env = \"VIX_AUTH\", "
                                "timeout_seconds = 5 }, "
                                "{ symbol = \"^TNX\", url = \"http://127.0.0.1:8080/tnx\", "
                                "price = \"quote.price\" }"),
                      &cfg, &d, path, sizeof path);
    print_diags(&d);
    assert_int_equal(n, 0);
    assert_int_equal(cfg.data.nhttp, 2);
    const http_source_config *a = &cfg.data.http[0], *b = &cfg.data.http[1];
    assert_string_equal(a->symbol, "VIX");
    assert_string_equal(a->url, "https://api.example.com/q?s=VIX");
    assert_string_equal(a->price, "data.0.last");
    assert_string_equal(a->time, "data.0.time");
    assert_int_equal(a->every_seconds, 30);
    assert_string_equal(a->header_env, "VIX_AUTH");
    assert_int_equal(a->timeout_seconds, 5);
    /* the defaults */
    assert_string_equal(b->symbol, "^TNX");
    assert_string_equal(b->time, "");
    assert_string_equal(b->header_env, "");
    assert_int_equal(b->every_seconds, 60);
    assert_int_equal(b->timeout_seconds, 10);
    config_free(&cfg);
    diag_free(&d);

#define GOOD "{ symbol = \"VIX\", url = \"https://a.example/q\", price = \"last\" }, "
    expect_one("local P",
               HTTP_DATA(GOOD "{ symbol = \"VIX\", url = \"https://a.example/q\", "
                              "price = \"last\", evry_seconds = 5 }"),
               "data.http[2].evry_seconds: unknown field; did you mean every_seconds?");
    expect_one("local P", HTTP_DATA(GOOD "{ symbol = \"VIX\", price = \"last\" }"),
               "data.http[2].url: missing; write the endpoint, e.g. url = "
               "\"https://api.example.com/v1/quote\"");
    expect_one("local P", HTTP_DATA("{ url = \"https://a.example/q\", price = \"last\" }"),
               "data.http[1].symbol: missing; name the symbol the price is for, e.g. symbol = "
               "\"VIX\"");
    expect_one("local P",
               HTTP_DATA(GOOD "{ symbol = \"VIX\", url = \"https://a.example/q\", "
                              "price = \"last\", every_seconds = 0 }"),
               "data.http[2].every_seconds: 0 is out of range; use a whole number of seconds "
               "from 1 to 86400");
    expect_one("local P",
               HTTP_DATA(GOOD "{ symbol = \"VIX\", url = \"https://a.example/q\", "
                              "price = \"last\", every_seconds = 1.5 }"),
               "data.http[2].every_seconds: expected a whole number, got 1.5");
    expect_one("local P",
               HTTP_DATA(GOOD "{ symbol = \"VIX\", url = \"https://a.example/q\", "
                              "price = \"last\", timeout_seconds = 301 }"),
               "data.http[2].timeout_seconds: 301 is out of range; use a whole number of seconds "
               "from 1 to 300");
    expect_one("local P", HTTP_DATA(GOOD "\"VIX\""),
               "data.http[2]: expected a source { symbol = \"VIX\", url = \"https://...\", "
               "price = \"data.0.last\" }, got string");
    expect_one("local P",
               HTTP_DATA("{ symbol = \"V IX\", url = \"https://a.example/q\", "
                         "price = \"last\" }"),
               "data.http[1].symbol: \"V IX\" is not a symbol; use 1 to 23 characters of A-Z "
               "a-z 0-9 . _ / ^ = -");
    expect_one("local P",
               HTTP_DATA(GOOD "{ symbol = \"VIX\", url = \"https://a.example/q\", "
                              "price = \"last\", header_env = \"VIX-AUTH\" }"),
               "data.http[2].header_env: \"VIX-AUTH\" may use only letters, digits and '_'");
    expect_one("local P", "data = { files = \"" DIR "/bars.csv\", http = \"https://x\" },",
               "data.http: expected a list of sources { { symbol = ..., url = ..., ... } }, got "
               "string");
#undef GOOD
}

/* NUL bytes: C would cut a path, a name or a sentence at one without a word, so those are
 * refused by field; a params string keeps its bytes (the host decodes params with
 * JSON_ALLOW_NUL), and a params key, which JSON objects here cannot hold, is refused. */
static void test_nul_bytes(void **state)
{
    expect_one("local P", "instructions = { \"close if VIX > 40\\0 and more\" },",
               "instructions[1]: contains a NUL byte (\\0) at byte 18; remove it");
    expect_one("local P", "bias = \"" DIR "/../bias_basic.lua\\0x\",",
               "bias: contains a NUL byte (\\0)");
    expect_one("local P", "name = \"a\\0b\",", "name: contains a NUL byte (\\0) at byte 2");
    expect_one("local P = { [\"k\\0ey\"] = 1 }", NULL, "strategy.params.k");
    expect_one("local P = { [1] = 1, x = 2 }", NULL,
               "strategy.params: has the key 1; a params table is either a list");

    pipeline_config cfg;
    diag_list d;
    char path[256];
    assert_int_equal(load_text("local P = { s = \"a\\0b\" }", NULL, &cfg, &d, path, sizeof path),
                     0);
    json_error_t je;
    json_t *j = json_loads(cfg.strategy.params_json, JSON_ALLOW_NUL, &je);
    assert_non_null(j);
    assert_int_equal(json_string_length(json_object_get(j, "s")), 3);
    assert_memory_equal(json_string_value(json_object_get(j, "s")), "a\0b", 3);
    json_decref(j);
    config_free(&cfg);
    diag_free(&d);
}

/* A pipeline file compiled by luac is refused with the file's name; a file that uses
 * more memory than its limit is named too (the message used to be the bare limit). */
static void test_bytecode_and_memory_errors_name_the_file(void **state)
{
    char path[64];
    lua_fixture_bytecode_file("return apex.pipeline { name = \"x\" }", path, sizeof path);
    pipeline_config cfg;
    diag_list d;
    config_defaults(&cfg);
    diag_init(&d);
    assert_int_equal(script_load_pipeline(path, &cfg, &d), 1);
    char want[600];
    snprintf(want, sizeof want, "%s: is precompiled Lua bytecode", path);
    assert_true(has_diag(&d, want, NULL));
    config_free(&cfg);
    diag_free(&d);
    unlink(path);

    expect_one("local P = { s = string.rep('x', 40 * 1024 * 1024) }", NULL,
               "the file used more than the 32 MiB of memory a pipeline file may use");
}

/* Work done for the file after it returns is bounded like the file: a table of 5000
 * unknown fields lists DIAG_MAX of them and says the rest are not shown (each one used to
 * cost a message and a "did you mean" search), and 20,000 symbols each with their own
 * instrument open without comparing every symbol with every instrument. */
static void test_work_for_the_file_is_bounded(void **state)
{
    pipeline_config cfg;
    diag_list d;
    char path[256];
    int n = load_text("local P\nlocal R = {}\nfor i = 1, 5000 do R['k' .. i] = i end", "risk = R,",
                      &cfg, &d, path, sizeof path);
    assert_int_equal(n, 5000);
    assert_int_equal(d.count, DIAG_MAX + 1);
    assert_true(has_diag(&d, "risk.k", "unknown field"));
    assert_non_null(strstr(d.items[DIAG_MAX], "more problems not shown: only the first 100"));
    config_free(&cfg);
    diag_free(&d);

    n = load_text("local P\nS, I = {}, { default = { lot = 2 } }\n"
                  "for i = 1, 20000 do S[i] = 'S' .. i; I[S[i]] = { tick = i / 100 } end",
                  "symbols = S, instruments = I,", &cfg, &d, path, sizeof path);
    print_diags(&d);
    assert_int_equal(n, 0);
    assert_int_equal(cfg.ninstruments, 20001);
    for (int i = 0; i < cfg.nsymbols; i++) {
        money_instrument r = config_instrument(&cfg, cfg.symbols[i]);
        assert_int_equal(r.tick, (money_t)(i + 1) * MONEY_SCALE / 100);
        assert_int_equal(r.lot, MONEY(2));
    }
    assert_int_equal(config_instrument(&cfg, "OTHER").lot, MONEY(2));
    config_free(&cfg);
    diag_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_pipeline),
        cmocka_unit_test(test_http_sources),
        cmocka_unit_test(test_defaults_when_absent),
        cmocka_unit_test(test_every_error_reported_at_once),
        cmocka_unit_test(test_syntax_and_runtime_errors_give_file_line),
        cmocka_unit_test(test_list_with_a_hole_names_the_index),
        cmocka_unit_test(test_deeply_nested_params_load),
        cmocka_unit_test(test_shared_params_cannot_expand_without_bound),
        cmocka_unit_test(test_random_seed_field),
        cmocka_unit_test(test_tables_cannot_change_under_the_walk),
        cmocka_unit_test(test_out_of_range_numbers_say_the_range),
        cmocka_unit_test(test_values_that_round_to_zero),
        cmocka_unit_test(test_symbols_checked_and_unique),
        cmocka_unit_test(test_nul_bytes),
        cmocka_unit_test(test_bytecode_and_memory_errors_name_the_file),
        cmocka_unit_test(test_work_for_the_file_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
