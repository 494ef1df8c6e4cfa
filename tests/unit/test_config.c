/* test_config: the schema table (core/config/schema.c) and what it drives: defaults,
 * range checks, "did you mean", and the generated docs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/schema.h"
#include "config_doc.h"
#include "script/script.h"

#define PCT(whole) ((money_t)(whole) * (MONEY_SCALE / 100))

static bool has_diag(const diag_list *d, const char *a, const char *b)
{
    for (int i = 0; i < d->count; i++)
        if (strstr(d->items[i], a) && (!b || strstr(d->items[i], b)))
            return true;
    return false;
}

static void print_diags(const diag_list *d)
{
    for (int i = 0; i < d->count; i++)
        print_message("  diag: %s\n", d->items[i]);
}

/* The defaults the docs and the seeds promise (seed 003 position_management, seed 004
 * risk), written out by hand so a slip in a table row shows up here. */
static void test_defaults_are_the_documented_ones(void **state)
{
    pipeline_config c;
    config_defaults(&c);
    assert_string_equal(c.name, "pipeline");
    assert_int_equal(c.nsymbols, 0);
    assert_int_equal(c.broker.kind, BROKER_KIND_PAPER);
    assert_int_equal(c.broker.paper.starting_cash, MONEY(100000));
    assert_int_equal(c.broker.paper.spread_bps, MONEY(2));
    assert_int_equal(c.broker.paper.slippage_bps, MONEY(1));
    assert_int_equal(c.broker.paper.fee_per_share, 0);
    assert_int_equal(c.broker.paper.fee_bps, 0);
    assert_int_equal(c.broker.paper.fee_min, 0);
    assert_string_equal(c.broker.paper.state_path, "");
    assert_true(c.data.speed == 1.0);
    assert_false(c.data.follow);
    assert_int_equal(c.data.nfiles, 0);

    assert_int_equal(c.risk.capital, 0);
    assert_int_equal(c.risk.max_risk_pct, PCT(1));
    assert_int_equal(c.risk.max_position_pct, PCT(5));
    assert_int_equal(c.risk.max_positions, 10);
    assert_int_equal(c.risk.daily_loss_limit_pct, PCT(3));
    assert_true(c.risk.allow_short);
    assert_true(c.risk.pdt_check);
    assert_int_equal(c.risk.pdt_day_trade_limit, 3);

    const exits_config *e = &c.exits;
    assert_int_equal(e->stop_loss_pct, PCT(4));
    assert_int_equal(e->take_profit_pct, PCT(10));
    assert_true(e->trailing_enabled);
    assert_int_equal(e->trailing_activation_pct, PCT(5));
    assert_int_equal(e->trailing_distance_pct, PCT(3));
    assert_true(e->partial_enabled);
    assert_int_equal(e->nstages, 2);
    assert_string_equal(e->stages[0].name, "first_target");
    assert_int_equal(e->stages[0].profit_threshold, PCT(15));
    assert_int_equal(e->stages[0].exit_fraction, PCT(50));
    assert_string_equal(e->stages[1].name, "second_target");
    assert_int_equal(e->stages[1].profit_threshold, PCT(25));
    assert_int_equal(e->stages[1].exit_fraction, PCT(25));
    assert_int_equal(e->liquidity_max_spread, 0); /* off: the relative limit scales */
    assert_int_equal(e->liquidity_max_spread_pct, PCT(1));
    assert_int_equal(e->liquidity_min_volume, MONEY(50));
    assert_int_equal(e->early_exit_edge, PCT(2));
    assert_int_equal(e->time_urgent_minutes, 5);
    assert_int_equal(e->session_close_minute_utc, 21 * 60);
    assert_int_equal(e->rebalance_min_improvement, PCT(10));
    static const exit_execution_config x[EXIT_PRIORITY_COUNT] = {
        {PRICE_MARKET, 5, 0, true},
        {PRICE_AGGRESSIVE, 10, 2, true},
        {PRICE_FAIR, 30, 5, false},
        {PRICE_CONSERVATIVE, 60, 10, false},
    };
    for (int p = 0; p < EXIT_PRIORITY_COUNT; p++) {
        assert_int_equal(e->execution[p].price, x[p].price);
        assert_int_equal(e->execution[p].timeout_seconds, x[p].timeout_seconds);
        assert_int_equal(e->execution[p].max_walks, x[p].max_walks);
        assert_int_equal(e->execution[p].market_after_walks, x[p].market_after_walks);
    }

    const monitoring_config *m = &c.monitoring;
    assert_int_equal(m->normal_frequency_s, 30);
    assert_int_equal(m->urgent_frequency_s, 5);
    assert_int_equal(m->near_stop_loss_pct, PCT(2));
    assert_int_equal(m->near_profit_target_pct, PCT(2));
    assert_int_equal(m->near_trailing_stop_pct, PCT(2));
    assert_int_equal(m->price_cache_ttl_s, 10);
    assert_int_equal(m->max_api_calls_per_minute, 60);
    assert_int_equal(m->nretry_backoff, 5);
    static const int backoff[] = {60, 120, 240, 480, 960};
    for (int i = 0; i < 5; i++)
        assert_int_equal(m->retry_backoff_s[i], backoff[i]);
    assert_int_equal(m->persist_interval_s, 60);

    assert_int_equal(c.ninstructions, 0);
    assert_int_equal(c.notifications.nwebhooks, 0);
    assert_int_equal(c.execution.tool, EXEC_TOOL_BROKER);
    assert_int_equal(c.execution.entry, ENTRY_MARKET);
    assert_int_equal(c.ninstruments, 0);
    assert_false(c.random_seed_given);

    /* the instrument rows document MONEY_INSTRUMENT_DEFAULT */
    money_instrument def = MONEY_INSTRUMENT_DEFAULT;
    assert_int_equal(config_schema_find("instruments")->elem[0].def, def.tick);
    assert_int_equal(config_schema_find("instruments")->elem[1].def, def.lot);
    config_free(&c);
}

/* Every row's default passes its own range check, and a default config fails only for
 * the fields a pipeline must give. */
static void test_every_default_lies_in_its_range(void **state)
{
    pipeline_config c;
    config_defaults(&c);
    diag_list d;
    diag_init(&d);
    for (int i = 0; i < config_schema_count; i++)
        assert_int_equal(
            config_schema_check(&config_schema[i], &c, &c, "f.lua", config_schema[i].path, &d), 0);
    for (int s = 0; s < c.exits.nstages; s++)
        for (int k = 0; k < config_stage_field_count; k++)
            assert_int_equal(config_schema_check(&config_stage_fields[k], &c.exits.stages[s], &c,
                                                 "f.lua", config_stage_fields[k].path, &d),
                             0);
    money_instrument def = MONEY_INSTRUMENT_DEFAULT;
    for (int k = 0; k < config_instrument_field_count; k++)
        assert_int_equal(config_schema_check(&config_instrument_fields[k], &def, &c, "f.lua",
                                             config_instrument_fields[k].path, &d),
                         0);
    print_diags(&d);
    assert_int_equal(d.count, 0);

    assert_int_equal(config_validate(&c, &d), 3);
    assert_true(has_diag(&d, "pipeline: symbols: no symbols", NULL));
    assert_true(has_diag(&d, "pipeline: data.files: no market data", NULL));
    assert_true(has_diag(&d, "pipeline: strategy: missing", NULL));
    diag_free(&d);
    config_free(&c);
}

/* Pushes a ranged value just outside its range. */
static void break_range(const config_field *f, void *base)
{
    void *p = config_field_ptr(base, f);
    switch (f->type) {
    case CONFIG_INT:
    case CONFIG_HHMM:
        *(int *)p = (int)f->hi + 1;
        break;
    case CONFIG_INT64:
        *(int64_t *)p = f->lo == INT64_MIN ? f->hi + 1 : f->lo - 1;
        break;
    case CONFIG_NUMBER:
        *(double *)p = (double)f->lo - 1;
        break;
    case CONFIG_MONEY:
    case CONFIG_PERCENT:
        *(money_t *)p = f->hi + 1;
        break;
    case CONFIG_INT_LIST:
        ((int *)p)[0] = (int)f->lo - 1;
        break;
    default:
        fail_msg("%s: a ranged row of a type without ranges", f->path);
    }
}

/* Each ranged field, pushed out of its range, gets one message that names the file and
 * the field as the pipeline file spells it. */
static void test_range_errors_name_the_field(void **state)
{
    int checked = 0;
    for (int i = 0; i < config_schema_count; i++) {
        const config_field *f = &config_schema[i];
        if (!f->ranged)
            continue;
        pipeline_config c;
        config_defaults(&c);
        snprintf(c.path, sizeof c.path, "p.lua");
        break_range(f, &c);
        diag_list d;
        diag_init(&d);
        config_validate(&c, &d);
        char want[200];
        snprintf(want, sizeof want, "p.lua: %s%s: ", f->path,
                 f->type == CONFIG_INT_LIST ? "[1]" : "");
        if (!has_diag(&d, want, "out of range")) {
            print_diags(&d);
            fail_msg("no range error for %s", f->path);
        }
        diag_free(&d);
        config_free(&c);
        checked++;
    }
    assert_true(checked >= 35); /* every ranged row of the table */

    /* element rows: a stage and an instrument, named by index and symbol */
    pipeline_config c;
    config_defaults(&c);
    snprintf(c.path, sizeof c.path, "p.lua");
    c.exits.stages[1].profit_threshold = MONEY(101);
    c.instruments = calloc(2, sizeof *c.instruments);
    c.ninstruments = 2;
    c.instruments[0].rules = MONEY_INSTRUMENT_DEFAULT;
    c.instruments[1].rules = (money_instrument){.tick = 0, .lot = MONEY(1)};
    snprintf(c.instruments[1].symbol, sizeof c.instruments[1].symbol, "BTC/USD");
    diag_list d;
    diag_init(&d);
    config_validate(&c, &d);
    print_diags(&d);
    assert_true(has_diag(&d,
                         "p.lua: exits.partial_exits.stages[2].profit_threshold: 101 is out "
                         "of range; use a value from 0.00000001 to 100",
                         NULL));
    assert_true(has_diag(&d, "p.lua: instruments.BTC/USD.tick: 0 is out of range", NULL));
    /* 0 capital means "the account's equity"; the paper fields are not checked for a real
     * broker */
    diag_free(&d);
    config_free(&c);
    config_defaults(&c);
    c.broker.kind = BROKER_KIND_ALPACA;
    c.broker.paper.starting_cash = 0;
    c.risk.capital = 0;
    diag_init(&d);
    config_validate(&c, &d);
    assert_false(has_diag(&d, "broker.starting_cash", NULL));
    assert_false(has_diag(&d, "risk.capital", NULL));
    diag_free(&d);
    config_free(&c);
}

static void test_unknown_field_suggestions(void **state)
{
    const config_field *s = config_schema;
    int n = config_schema_count;
    assert_string_equal(config_schema_suggest(s, n, "risk", "max_risk"), "max_risk_pct");
    assert_string_equal(config_schema_suggest(s, n, "monitoring", "normal_frequncy"),
                        "normal_frequency");
    assert_string_equal(config_schema_suggest(s, n, "monitoring", "max_api_call_per_minute"),
                        "max_api_calls_per_minute");
    assert_string_equal(config_schema_suggest(s, n, "exits.trailing_stop", "enable"), "enabled");
    assert_string_equal(config_schema_suggest(s, n, "", "randomseed"), "random_seed");
    assert_string_equal(config_schema_suggest(s, n, "", "symbol"), "symbols");
    assert_null(config_schema_suggest(s, n, "", "colour"));
    assert_null(config_schema_suggest(s, n, "exits.execution", "critical"));
    assert_string_equal(
        config_schema_suggest(config_stage_fields, config_stage_field_count, "", "exit_percent"),
        "exit_percentage");

    char list[512];
    config_schema_list(s, n, "risk", list, sizeof list);
    assert_string_equal(list, "capital, max_risk_pct, max_position_pct, max_positions, "
                              "daily_loss_limit_pct, allow_short, pdt_check, pdt_day_trade_limit, "
                              "max_heat_pct, heat_shrink, max_cluster_heat_pct, "
                              "correlation_threshold, correlation_window, max_drawdown_pct, "
                              "drawdown_close_all, drawdown_resume_hours");
    config_schema_list(s, n, "exits.execution", list, sizeof list);
    assert_string_equal(list, "CRITICAL, HIGH, MEDIUM, LOW");
    config_schema_list(s, n, "", list, sizeof list);
    assert_non_null(strstr(list, "name, symbols, data, broker"));
}

/* The table's own shape: parents before children, one row per path, names that match
 * what the rest of the core prints, a hook for every custom row, docs for every row. */
static void test_table_is_well_formed(void **state)
{
    for (int i = 0; i < config_schema_count; i++) {
        const config_field *f = &config_schema[i];
        assert_non_null(f->doc);
        assert_true(f->doc[0] != '\0');
        for (int j = 0; j < i; j++)
            if (strcmp(config_schema[j].path, f->path) == 0)
                fail_msg("%s is in the table twice", f->path);
        const char *dot = strrchr(f->path, '.');
        if (dot) {
            char parent[128];
            snprintf(parent, sizeof parent, "%.*s", (int)(dot - f->path), f->path);
            const config_field *p = config_schema_find(parent);
            if (!p || p->type != CONFIG_SECTION || p > f)
                fail_msg("%s: its section %s must be an earlier SECTION row", f->path, parent);
        }
        if (f->type == CONFIG_SECTION)
            assert_non_null(f->lua_class);
        else
            assert_true(f->offset + f->size <= sizeof(pipeline_config));
        if (f->type == CONFIG_CUSTOM) {
            assert_true(f->hook > CONFIG_HOOK_NONE && f->hook < CONFIG_HOOK_COUNT);
            assert_non_null(f->lua_type);
            assert_non_null(f->doc_type);
        }
        if (f->type == CONFIG_ENUM)
            assert_int_equal(f->size, sizeof(int));
        if ((f->flags & (CONFIG_F_REQUIRED | CONFIG_F_KEY_REQUIRED)) && f->type != CONFIG_SECTION)
            assert_non_null(f->missing);
    }
    /* the names the loader accepts are the ones the core prints */
    const config_field *price = config_schema_find("exits.execution.LOW.price");
    for (int p = PRICE_MARKET; p <= PRICE_CONSERVATIVE; p++)
        assert_string_equal(price->names[p], price_strategy_name(p));
    const config_field *prio = config_schema_find("exits.strategy_exit_priority");
    for (int p = 0; p < EXIT_PRIORITY_COUNT; p++) {
        assert_string_equal(prio->names[p], exit_priority_name(p));
        char path[64];
        snprintf(path, sizeof path, "exits.execution.%s", exit_priority_name(p));
        assert_non_null(config_schema_find(path));
    }
}

static void test_random_seed(void **state)
{
    pipeline_config a, b;
    config_defaults(&a);
    config_defaults(&b);
    snprintf(a.name, sizeof a.name, "ma-trend");
    snprintf(b.name, sizeof b.name, "rsi-reversion");
    /* derived from the name: the same every run, different per pipeline */
    assert_int_equal(config_random_seed(&a), config_random_seed(&a));
    assert_true(config_random_seed(&a) != config_random_seed(&b));
    /* the seed the script host documents for a backtest without random_seed */
    assert_true((uint64_t)config_random_seed(&a) == script_seed_from_name("ma-trend"));
    a.random_seed = 42;
    a.random_seed_given = true;
    assert_int_equal(config_random_seed(&a), 42);
    a.random_seed = 0; /* 0 is a seed like any other once given */
    assert_int_equal(config_random_seed(&a), 0);
    config_free(&a);
    config_free(&b);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    if (s)
        s[n] = '\0';
    fclose(f);
    return s;
}

/* The committed docs are what the generator makes of the table today. */
static void test_generated_docs_match(void **state)
{
    static const char *const files[] = {"docs/configuration.md", "types/apex.lua"};
    for (int i = 0; i < 2; i++) {
        char path[1024], err[512];
        snprintf(path, sizeof path, "%s/%s", APEX_SOURCE_DIR, files[i]);
        char *text = slurp(path);
        assert_non_null(text);
        char *fresh = config_doc_update(config_doc_kind_of(path), path, text, err, sizeof err);
        if (!fresh)
            fail_msg("%s", err);
        if (strcmp(fresh, text) != 0)
            fail_msg("%s is stale: run `make config-docs`", files[i]);
        free(fresh);
        free(text);
    }
    /* every field appears in the docs: max_api_calls_per_minute as an example */
    char *md = config_doc_block(CONFIG_DOC_MARKDOWN, "monitoring");
    assert_non_null(strstr(md, "| `max_api_calls_per_minute` | integer | 60 | 1 .. 100000 |"));
    free(md);
    char *lua = config_doc_block(CONFIG_DOC_LUA, "pipeline");
    assert_non_null(strstr(lua, "---@field max_api_calls_per_minute integer?"));
    assert_non_null(strstr(lua, "---@field random_seed integer?"));
    free(lua);

    /* a missing or unknown block is an error naming the file */
    char err[512];
    assert_null(config_doc_update(CONFIG_DOC_MARKDOWN, "x.md", "no markers\n", err, sizeof err));
    assert_non_null(strstr(err, "x.md: the generated block 'pipeline' is missing"));
    assert_null(config_doc_update(CONFIG_DOC_LUA, "x.lua",
                                  "-- BEGIN GENERATED config-doc nosuch: x\n", err, sizeof err));
    assert_non_null(strstr(err, "x.lua:1: no generated block is called 'nosuch'"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_are_the_documented_ones),
        cmocka_unit_test(test_every_default_lies_in_its_range),
        cmocka_unit_test(test_range_errors_name_the_field),
        cmocka_unit_test(test_unknown_field_suggestions),
        cmocka_unit_test(test_table_is_well_formed),
        cmocka_unit_test(test_random_seed),
        cmocka_unit_test(test_generated_docs_match),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
