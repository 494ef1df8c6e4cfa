#include "config/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/schema.h"

void config_defaults(pipeline_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    config_schema_defaults(cfg);
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
    free(cfg->data.http);
    free(cfg->bias.params_json);
    free(cfg->strategy.params_json);
    for (int i = 0; i < cfg->ninstructions; i++)
        free(cfg->instructions[i].value);
    free(cfg->instructions);
    free_strings(cfg->notifications.telegram_chat_ids, cfg->notifications.ntelegram_chat_ids);
    free(cfg->notifications.webhooks);
    free_strings(cfg->execution.approval_user_ids, cfg->execution.napproval_user_ids);
    free(cfg->instruments);
    config_defaults(cfg);
}

static int by_symbol(const void *a, const void *b)
{
    return strcmp(((const instrument_config *)a)->symbol, ((const instrument_config *)b)->symbol);
}

void config_sort_instruments(pipeline_config *cfg)
{
    if (cfg->ninstruments > 2)
        qsort(cfg->instruments + 1, (size_t)cfg->ninstruments - 1, sizeof *cfg->instruments,
              by_symbol);
}

money_instrument config_instrument(const pipeline_config *cfg, const char *symbol)
{
    if (cfg->ninstruments == 0)
        return MONEY_INSTRUMENT_DEFAULT;
    instrument_config key;
    snprintf(key.symbol, sizeof key.symbol, "%s", symbol);
    const instrument_config *found =
        bsearch(&key, cfg->instruments + 1, (size_t)cfg->ninstruments - 1, sizeof *cfg->instruments,
                by_symbol);
    return found ? found->rules : cfg->instruments[0].rules;
}

int64_t config_random_seed(const pipeline_config *cfg)
{
    if (cfg->random_seed_given)
        return cfg->random_seed;
    /* FNV-1a: stable across builds and platforms, unlike a pointer or the time */
    uint64_t h = 14695981039346656037ull;
    for (const unsigned char *c = (const unsigned char *)cfg->name; *c; c++)
        h = (h ^ *c) * 1099511628211ull;
    return (int64_t)h;
}

/* A required field that is absent or empty: a count of 0, or an empty string (a
 * script_ref starts with its file name). */
static bool is_empty(const config_field *f, const pipeline_config *cfg)
{
    if (f->count_offset)
        return *(const int *)((const char *)cfg + f->count_offset) == 0;
    return *(const char *)config_field_cptr(cfg, f) == '\0';
}

/* The stages' own ranges come from the table; their order and their total are rules
 * across stages. */
static int validate_stages(const pipeline_config *cfg, const char *file, diag_list *d)
{
    const exits_config *e = &cfg->exits;
    money_t total = 0, last = 0;
    int n = 0;
    for (int i = 0; i < e->nstages; i++) {
        for (int k = 0; k < config_stage_field_count; k++) {
            const config_field *sf = &config_stage_fields[k];
            char field[96];
            snprintf(field, sizeof field, "exits.partial_exits.stages[%d].%s", i + 1, sf->path);
            n += config_schema_check(sf, &e->stages[i], cfg, file, field, d);
        }
        if (e->stages[i].profit_threshold <= last) {
            diag_add(d,
                     "%s: exits.partial_exits.stages[%d]: thresholds must rise from stage to stage",
                     file, i + 1);
            n++;
        }
        last = e->stages[i].profit_threshold;
        total += e->stages[i].exit_fraction;
    }
    if (total > MONEY_SCALE) {
        diag_add(d,
                 "%s: exits.partial_exits: the stages sell more than 100%% of the position; "
                 "lower their exit_percentage",
                 file);
        n++;
    }
    return n;
}

int64_t config_timeframe_seconds(const char *text)
{
    if (!text[0])
        return 0;
    char *end;
    long n = strtol(text, &end, 10);
    if (end == text || n <= 0 || n > 366 || end[0] == '\0' || end[1] != '\0' || text[0] == '+' ||
        text[0] == ' ')
        return -1;
    switch (end[0]) {
    case 's':
        return n;
    case 'm':
        return n * 60;
    case 'h':
        return n * 3600;
    case 'd':
        return n * 86400;
    default:
        return -1;
    }
}

int config_validate(const pipeline_config *cfg, diag_list *d)
{
    const char *f = cfg->path[0] ? cfg->path : "pipeline";
    int n = 0;

    for (int i = 0; i < config_schema_count; i++) {
        const config_field *row = &config_schema[i];
        if ((row->flags & CONFIG_F_REQUIRED) && row->missing && is_empty(row, cfg)) {
            diag_add(d, "%s: %s: %s", f, row->path, row->missing);
            n++;
        }
        n += config_schema_check(row, cfg, cfg, f, row->path, d);
    }
    for (int i = 0; i < cfg->data.nhttp; i++)
        for (int k = 0; k < config_http_field_count; k++) {
            char field[80];
            snprintf(field, sizeof field, "data.http[%d].%s", i + 1, config_http_fields[k].path);
            n += config_schema_check(&config_http_fields[k], &cfg->data.http[i], cfg, f, field, d);
        }
    for (int i = 0; i < cfg->notifications.nwebhooks; i++)
        for (int k = 0; k < config_webhook_field_count; k++) {
            char field[80];
            snprintf(field, sizeof field, "notifications.webhooks[%d].%s", i + 1,
                     config_webhook_fields[k].path);
            n += config_schema_check(&config_webhook_fields[k], &cfg->notifications.webhooks[i],
                                     cfg, f, field, d);
        }
    for (int i = 0; i < cfg->ninstruments; i++) {
        const instrument_config *ic = &cfg->instruments[i];
        for (int k = 0; k < config_instrument_field_count; k++) {
            const config_field *inf = &config_instrument_fields[k];
            char field[80];
            snprintf(field, sizeof field, "instruments.%s.%s",
                     ic->symbol[0] ? ic->symbol : "default", inf->path);
            n += config_schema_check(inf, &ic->rules, cfg, f, field, d);
        }
    }

    /* Rules across fields. */
    n += validate_stages(cfg, f, d);
    const monitoring_config *m = &cfg->monitoring;
    if (m->urgent_frequency_s > m->normal_frequency_s) {
        diag_add(d,
                 "%s: monitoring.urgent_frequency: %d s is slower than normal_frequency "
                 "(%d s); urgent checks must be at least as frequent",
                 f, m->urgent_frequency_s, m->normal_frequency_s);
        n++;
    }
    const risk_config *r = &cfg->risk;
    if (r->max_cluster_heat_pct > r->max_heat_pct) {
        char cb[32], hb[32];
        diag_add(d,
                 "%s: risk.max_cluster_heat_pct: %s is above risk.max_heat_pct (%s); a cluster "
                 "is part of the whole, so its limit must be at most the total's (or 0 for "
                 "none)",
                 f, money_format_trim(r->max_cluster_heat_pct, 2, cb, sizeof cb),
                 money_format_trim(r->max_heat_pct, 2, hb, sizeof hb));
        n++;
    }
    if (config_timeframe_seconds(cfg->data.timeframe) < 0) {
        diag_add(d,
                 "%s: data.timeframe: '%s' is not a bar interval; write a whole number and a "
                 "unit, s, m, h or d (\"1m\", \"5m\", \"1h\", \"1d\"), or leave it out to "
                 "detect it from the timestamps",
                 f, cfg->data.timeframe);
        n++;
    }
    if (cfg->data.nfiles == 0 && !cfg->data.live) {
        diag_add(d,
                 "%s: data.files: no market data; list at least one CSV file, or set "
                 "data.live = true to take the bars from the broker",
                 f);
        n++;
    }
    if (cfg->data.live && cfg->data.follow && cfg->data.nfiles == 0) {
        diag_add(d,
                 "%s: data.follow: there are no data.files to follow; live bars need no "
                 "follow",
                 f);
        n++;
    }
    if (cfg->execution.tool == EXEC_TOOL_WEBHOOK && cfg->execution.webhook_url[0] == '\0') {
        diag_add(d, "%s: execution.webhook_url: the webhook tool needs a URL", f);
        n++;
    }
    return n;
}
