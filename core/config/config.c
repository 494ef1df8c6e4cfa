#include "config/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCT(x) ((money_t)((x)*100.0 + 0.5) * (MONEY_SCALE / 10000)) /* percent, to 0.01% */

void config_defaults(pipeline_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    strcpy(cfg->name, "pipeline");

    cfg->broker.kind = BROKER_KIND_PAPER;
    cfg->broker.paper.starting_cash = MONEY(100000);
    cfg->broker.paper.spread_bps = MONEY(2);
    cfg->broker.paper.slippage_bps = MONEY(1);

    cfg->data.speed = 1.0;

    risk_config *r = &cfg->risk;
    r->max_risk_pct = MONEY_SCALE / 100;    /* 0.01 */
    r->max_position_pct = MONEY_SCALE / 20; /* 0.05 */
    r->max_positions = 10;
    r->daily_loss_limit_pct = 3 * MONEY_SCALE / 100;
    r->allow_short = true;
    r->pdt_check = true;
    r->pdt_day_trade_limit = 3;

    exits_config *e = &cfg->exits;
    e->stop_loss_pct = PCT(4);
    e->take_profit_pct = PCT(10);
    e->trailing_enabled = true;
    e->trailing_activation_pct = PCT(5);
    e->trailing_distance_pct = PCT(3);
    e->partial_enabled = true;
    e->nstages = 2;
    strcpy(e->stages[0].name, "first_target");
    e->stages[0].profit_threshold = PCT(15);
    e->stages[0].exit_fraction = PCT(50);
    strcpy(e->stages[1].name, "second_target");
    e->stages[1].profit_threshold = PCT(25);
    e->stages[1].exit_fraction = PCT(25);
    e->liquidity_max_spread = 3 * MONEY_SCALE / 100; /* 3 cents */
    e->liquidity_min_volume = MONEY(50);
    e->early_exit_edge = PCT(2);
    e->time_urgent_minutes = 5;
    e->session_close_minute_utc = 21 * 60;
    e->rebalance_min_improvement = PCT(10);
    e->execution[EXIT_PRIORITY_CRITICAL] = (exit_execution_config){PRICE_MARKET, 5, 0, true};
    e->execution[EXIT_PRIORITY_HIGH] = (exit_execution_config){PRICE_AGGRESSIVE, 10, 2, true};
    e->execution[EXIT_PRIORITY_MEDIUM] = (exit_execution_config){PRICE_FAIR, 30, 5, false};
    e->execution[EXIT_PRIORITY_LOW] = (exit_execution_config){PRICE_CONSERVATIVE, 60, 10, false};

    monitoring_config *m = &cfg->monitoring;
    m->normal_frequency_s = 30;
    m->urgent_frequency_s = 5;
    m->near_stop_loss_pct = PCT(2);
    m->near_profit_target_pct = PCT(2);
    m->near_trailing_stop_pct = PCT(2);
    m->price_cache_ttl_s = 10;
    m->max_api_calls_per_minute = 60;
    static const int backoff[] = {60, 120, 240, 480, 960};
    m->nretry_backoff = 5;
    memcpy(m->retry_backoff_s, backoff, sizeof backoff);
    m->persist_interval_s = 60;

    cfg->execution.tool = EXEC_TOOL_BROKER;
    cfg->execution.entry = ENTRY_MARKET;
}

static void free_strings(char **v, int n)
{
    for (int i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void config_free(pipeline_config *cfg)
{
    free(cfg->symbols);
    free_strings(cfg->data.files, cfg->data.nfiles);
    free(cfg->bias.params_json);
    free(cfg->strategy.params_json);
    for (int i = 0; i < cfg->ninstructions; i++)
        free(cfg->instructions[i].value);
    free(cfg->instructions);
    free_strings(cfg->notifications.webhooks, cfg->notifications.nwebhooks);
    free(cfg->instruments);
    config_defaults(cfg);
}

money_instrument config_instrument(const pipeline_config *cfg, const char *symbol)
{
    money_instrument def = MONEY_INSTRUMENT_DEFAULT;
    for (int i = 0; i < cfg->ninstruments; i++) {
        if (cfg->instruments[i].symbol[0] == '\0')
            def = cfg->instruments[i].rules;
        else if (strcmp(cfg->instruments[i].symbol, symbol) == 0)
            return cfg->instruments[i].rules;
    }
    return def;
}

/* Adds a diagnostic when a fraction is outside [lo, hi]. */
static int check_fraction(diag_list *d, const char *file, const char *field, money_t v, money_t lo,
                          money_t hi)
{
    if (v >= lo && v <= hi)
        return 0;
    char vb[32], lb[32], hb[32];
    diag_add(d, "%s: %s: %s is out of range; use a value from %s to %s", file, field,
             money_format_trim(v, 0, vb, sizeof vb), money_format_trim(lo, 0, lb, sizeof lb),
             money_format_trim(hi, 0, hb, sizeof hb));
    return 1;
}

static int check_int(diag_list *d, const char *file, const char *field, long v, long lo, long hi)
{
    if (v >= lo && v <= hi)
        return 0;
    diag_add(d, "%s: %s: %ld is out of range; use a whole number from %ld to %ld", file, field, v,
             lo, hi);
    return 1;
}

int config_validate(const pipeline_config *cfg, diag_list *d)
{
    const char *f = cfg->path[0] ? cfg->path : "pipeline";
    const money_t one = MONEY_SCALE;
    int n = 0;

    if (cfg->nsymbols == 0) {
        diag_add(d, "%s: symbols: no symbols; list at least one, e.g. symbols = {\"AAPL\"}", f);
        n++;
    }
    if (cfg->strategy.file[0] == '\0') {
        diag_add(d,
                 "%s: strategy: missing; name a strategy script, e.g. strategy = "
                 "\"strategies/ma_cross.lua\"",
                 f);
        n++;
    }
    if (cfg->data.nfiles == 0) {
        diag_add(d, "%s: data.files: no market data; list at least one CSV file", f);
        n++;
    }
    if (cfg->data.speed < 0) {
        diag_add(d, "%s: data.speed: must be 0 (as fast as possible) or positive", f);
        n++;
    }
    if (cfg->broker.kind == BROKER_KIND_PAPER) {
        const paper_config *p = &cfg->broker.paper;
        n += check_fraction(d, f, "broker.starting_cash", p->starting_cash, MONEY(1),
                            MONEY(1000000000));
        n += check_fraction(d, f, "broker.spread_bps", p->spread_bps, 0, MONEY(1000));
        n += check_fraction(d, f, "broker.slippage_bps", p->slippage_bps, 0, MONEY(1000));
        n += check_fraction(d, f, "broker.fee_per_share", p->fee_per_share, 0, MONEY(100));
        n += check_fraction(d, f, "broker.fee_bps", p->fee_bps, 0, MONEY(1000));
        n += check_fraction(d, f, "broker.fee_min", p->fee_min, 0, MONEY(1000));
    }

    const risk_config *r = &cfg->risk;
    if (r->capital != 0)
        n += check_fraction(d, f, "risk.capital", r->capital, MONEY(1), MONEY(1000000000));
    n += check_fraction(d, f, "risk.max_risk_pct", r->max_risk_pct, 1, one);
    n += check_fraction(d, f, "risk.max_position_pct", r->max_position_pct, 1, one);
    n += check_int(d, f, "risk.max_positions", r->max_positions, 1, 100000);
    n += check_fraction(d, f, "risk.daily_loss_limit_pct", r->daily_loss_limit_pct, 1, one);
    n += check_int(d, f, "risk.pdt_day_trade_limit", r->pdt_day_trade_limit, 0, 1000);

    const exits_config *e = &cfg->exits;
    n += check_fraction(d, f, "exits.stop_loss_pct", e->stop_loss_pct, 1, one - 1);
    n += check_fraction(d, f, "exits.take_profit_pct", e->take_profit_pct, 1, MONEY(100));
    n += check_fraction(d, f, "exits.trailing_stop.activation_pct", e->trailing_activation_pct, 0,
                        MONEY(100));
    n += check_fraction(d, f, "exits.trailing_stop.distance_pct", e->trailing_distance_pct, 1,
                        one - 1);
    money_t total = 0, last = 0;
    for (int i = 0; i < e->nstages; i++) {
        char field[64];
        snprintf(field, sizeof field, "exits.partial_exits.stages[%d].profit_threshold", i + 1);
        n += check_fraction(d, f, field, e->stages[i].profit_threshold, 1, MONEY(100));
        snprintf(field, sizeof field, "exits.partial_exits.stages[%d].exit_percentage", i + 1);
        n += check_fraction(d, f, field, e->stages[i].exit_fraction, 1, one);
        if (e->stages[i].profit_threshold <= last) {
            diag_add(d,
                     "%s: exits.partial_exits.stages[%d]: thresholds must rise from stage to stage",
                     f, i + 1);
            n++;
        }
        last = e->stages[i].profit_threshold;
        total += e->stages[i].exit_fraction;
    }
    if (total > one) {
        diag_add(d,
                 "%s: exits.partial_exits: the stages sell more than 100%% of the position; "
                 "lower their exit_percentage",
                 f);
        n++;
    }
    n += check_fraction(d, f, "exits.liquidity.max_spread", e->liquidity_max_spread, 0,
                        MONEY(1000000));
    n += check_fraction(d, f, "exits.liquidity.min_volume", e->liquidity_min_volume, 0,
                        MONEY(1000000000));
    n += check_int(d, f, "exits.time_urgent_minutes", e->time_urgent_minutes, 0, 24 * 60);
    n += check_int(d, f, "exits.session_close", e->session_close_minute_utc, 0, 24 * 60 - 1);
    for (int p = 0; p < EXIT_PRIORITY_COUNT; p++) {
        char field[64];
        snprintf(field, sizeof field, "exits.execution.%s.timeout_seconds", exit_priority_name(p));
        n += check_int(d, f, field, e->execution[p].timeout_seconds, 1, 3600);
        snprintf(field, sizeof field, "exits.execution.%s.max_walks", exit_priority_name(p));
        n += check_int(d, f, field, e->execution[p].max_walks, 0, 100);
    }

    const monitoring_config *m = &cfg->monitoring;
    n += check_int(d, f, "monitoring.normal_frequency", m->normal_frequency_s, 1, 86400);
    n += check_int(d, f, "monitoring.urgent_frequency", m->urgent_frequency_s, 1, 86400);
    if (m->urgent_frequency_s > m->normal_frequency_s) {
        diag_add(d,
                 "%s: monitoring.urgent_frequency: %d s is slower than normal_frequency "
                 "(%d s); urgent checks must be at least as frequent",
                 f, m->urgent_frequency_s, m->normal_frequency_s);
        n++;
    }
    n += check_fraction(d, f, "monitoring.urgent_conditions.near_stop_loss_pct",
                        m->near_stop_loss_pct, 0, one);
    n += check_fraction(d, f, "monitoring.urgent_conditions.near_profit_target_pct",
                        m->near_profit_target_pct, 0, one);
    n += check_fraction(d, f, "monitoring.urgent_conditions.near_trailing_stop_pct",
                        m->near_trailing_stop_pct, 0, one);
    n += check_int(d, f, "monitoring.price_cache_ttl_seconds", m->price_cache_ttl_s, 0, 3600);
    n += check_int(d, f, "monitoring.max_api_calls_per_minute", m->max_api_calls_per_minute, 1,
                   100000);
    n += check_int(d, f, "monitoring.persist_interval", m->persist_interval_s, 1, 86400);
    for (int i = 0; i < m->nretry_backoff; i++) {
        char field[64];
        snprintf(field, sizeof field, "monitoring.retry_backoff[%d]", i + 1);
        n += check_int(d, f, field, m->retry_backoff_s[i], 1, 86400);
    }

    if (cfg->execution.tool == EXEC_TOOL_WEBHOOK && cfg->execution.webhook_url[0] == '\0') {
        diag_add(d, "%s: execution.webhook_url: the webhook tool needs a URL", f);
        n++;
    }
    for (int i = 0; i < cfg->ninstruments; i++) {
        const instrument_config *ic = &cfg->instruments[i];
        char field[80];
        snprintf(field, sizeof field, "instruments.%s.tick",
                 ic->symbol[0] ? ic->symbol : "default");
        n += check_fraction(d, f, field, ic->rules.tick, 1, MONEY(10000));
        snprintf(field, sizeof field, "instruments.%s.lot", ic->symbol[0] ? ic->symbol : "default");
        n += check_fraction(d, f, field, ic->rules.lot, 1, MONEY(1000000));
    }
    return n;
}
