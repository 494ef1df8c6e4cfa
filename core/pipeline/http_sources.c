/* http_sources: `data.http`, prices of symbols nobody trades polled from HTTP JSON
 * endpoints (feeds/http_json.h), as part of the pipeline's feed in `run`.
 *
 * Each source gets its own bar queue in the feed merge, like the broker's market data
 * (live_data.c): its bars update the price table that apex.price and the instructions
 * read, and call no script (the symbol is not in `symbols`). Arrival wakes the host, so
 * an instruction such as "close if VIX > 40" is checked on the new price at once rather
 * than at the next poll of the files. A backtest ignores the sources: it replays files,
 * and polling today's value into yesterday's replay would be wrong. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feeds/http_json.h"
#include "pipeline/pipeline_internal.h"

/* config/ sits below feeds/ and repeats the limits; a change to one must reach the other. */
_Static_assert(CONFIG_HTTP_URL_MAX == HTTP_JSON_URL_MAX, "data.http url limit");
_Static_assert(CONFIG_HTTP_PATH_MAX == HTTP_JSON_PATH_MAX, "data.http path limit");

struct pipeline_http_source {
    pipeline *p;
    bar_queue *bars;
    http_json_source *src;
};

static http_json_source_cfg source_cfg(const http_source_config *c)
{
    return (http_json_source_cfg){.symbol = c->symbol,
                                  .url = c->url,
                                  .price = c->price,
                                  .time = c->time,
                                  .every_seconds = c->every_seconds,
                                  .header_env = c->header_env[0] ? c->header_env : NULL,
                                  .timeout_seconds = c->timeout_seconds};
}

int pipeline_http_check(const pipeline_config *cfg, diag_list *diags)
{
    int problems = 0;
    for (int i = 0; i < cfg->data.nhttp; i++) {
        char err[512];
        http_json_source_cfg c = source_cfg(&cfg->data.http[i]);
        if (http_json_check(&c, err, sizeof err) != 0) {
            /* err starts with the field ("price: ..."): the place goes in front. */
            diag_add(diags, "%s: data.http[%d].%s", cfg->path, i + 1, err);
            problems++;
        }
    }
    return problems;
}

static void http_bar(void *ud, const char *symbol, const bar *b)
{
    pipeline_http_source *s = ud;
    bar copy = *b;
    /* A value's own time (the `time` path) can lag the pipeline's newest bar: an index's
     * last print before the open, a slow endpoint. It is stamped no earlier than that bar,
     * so the pipeline's time never goes back; going back over midnight would start a new
     * trading day and reopen a tripped daily-loss breaker. */
    if (copy.ts < s->p->last_ts)
        copy.ts = s->p->last_ts;
    pipeline_queue_bar(s->p, s->bars, "data.http", symbol, &copy);
}

/* The module has logged the failure; it reports a run of failures once per kind, so each
 * report is worth an event for `status --events`. Its messages carry no secret (the
 * header is redacted, the URL shows its origin only). */
static void http_error(void *ud, const char *message)
{
    pipeline_http_source *s = ud;
    pipeline *p = s->p;
    store_event(p->hs->db, clock_now(p->hs->clock), p->cfg.name, 0, "data_source", NULL, "%s",
                message);
}

int pipeline_http_open(pipeline *p, diag_list *diags)
{
    const data_config *d = &p->cfg.data;
    if (d->nhttp == 0 || p->hs->backtest || !p->hs->loop)
        return 0;
    p->http = calloc((size_t)d->nhttp, sizeof *p->http);
    if (!p->http) {
        diag_add(diags, "%s: data.http: out of memory", p->cfg.path);
        return APEX_ENOMEM;
    }
    for (int i = 0; i < d->nhttp; i++) {
        pipeline_http_source *s = &p->http[p->nhttp++];
        const http_source_config *c = &d->http[i];
        char label[64], err[512];
        s->p = p;
        snprintf(label, sizeof label, "%s from data.http[%d]", c->symbol, i + 1);
        s->bars = bar_queue_new(label);
        if (!s->bars || feed_merge_add_queue(p->feed, s->bars, err, sizeof err) != 0) {
            diag_add(diags, "%s: data.http[%d]: out of memory", p->cfg.path, i + 1);
            return APEX_ENOMEM;
        }
        http_json_source_cfg jc = source_cfg(c);
        http_json_callbacks cb = {.on_bar = http_bar, .on_error = http_error, .ud = s};
        s->src = http_json_open(p->hs->loop, &jc, &cb, err, sizeof err);
        if (!s->src) {
            diag_add(diags, "%s: data.http[%d].%s", p->cfg.path, i + 1, err);
            return APEX_EINVAL;
        }
    }
    return 0;
}

void pipeline_http_close(pipeline *p)
{
    /* Called after the feed merge that read the queues is freed. A closed source calls
     * nothing back, so its queue can go with it; its handles finish closing on the host's
     * last loop turn (host.c runs it after freeing the pipelines). */
    for (int i = 0; i < p->nhttp; i++) {
        http_json_close(p->http[i].src);
        bar_queue_free(p->http[i].bars);
    }
    free(p->http);
    p->http = NULL;
    p->nhttp = 0;
}
