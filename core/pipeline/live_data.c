/* live_data: `data.live`, the broker's market data as the pipeline's feed.
 *
 * The broker pushes bars (history first, then the stream, with catch-ups after gaps) and
 * news; this file puts the bars into a queue the feed merge reads like a followed file,
 * and tells the host that data arrived, so a bar is acted on as soon as its frame is
 * read rather than at the next poll. A history bar (warm-up, or a gap caught up late)
 * raises the warm-up mark: the scripts see it and nothing trades on it, as after a
 * restart (resume.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/pipeline_internal.h"
#include "util/log.h"

int pipeline_queue_bar(pipeline *p, bar_queue *q, const char *source, const char *symbol,
                       const bar *b)
{
    int id = symtab_intern(p->hs->symbols, symbol, (int)strlen(symbol));
    if (id < 0) {
        log_warn("%s: %s: '%s' is not a valid symbol; bar ignored", p->cfg.name, source, symbol);
        return APEX_EINVAL;
    }
    bar copy = *b;
    copy.symbol_id = id;
    if (bar_queue_push(q, &copy) != 0) {
        log_error("%s: %s: out of memory queueing a %s bar; it is lost", p->cfg.name, source,
                  symbol);
        return APEX_ENOMEM;
    }
    if (p->hs->data_arrived)
        p->hs->data_arrived(p->hs->host_ud);
    return 0;
}

static void live_bar(void *ud, const char *symbol, const bar *b, bool history)
{
    pipeline *p = ud;
    if (history && b->ts > p->resume_after)
        p->resume_after = b->ts;
    pipeline_queue_bar(p, p->live_bars, "market data", symbol, b);
}

/* News arrives roughly in time order; a catch-up after a gap may bring older items,
 * which go to their place so news_max_impact's time windows stay right. */
static void live_news(void *ud, const news_item *n)
{
    pipeline *p = ud;
    news_item item = *n;
    if (item.impact == 0)
        item.impact = p->cfg.data.news_impact + 1;
    if (vec_push(&p->news, item) != 0) {
        log_error("%s: market data: out of memory keeping a news item; it is lost", p->cfg.name);
        return;
    }
    int i = p->news.count - 1;
    while (i > 0 && p->news.items[i - 1].ts > item.ts) {
        p->news.items[i] = p->news.items[i - 1];
        i--;
    }
    p->news.items[i] = item;
}

static void live_status(void *ud, bool live, const char *message)
{
    pipeline *p = ud;
    if (live == p->live_up && strcmp(message, p->live_status) == 0)
        return;
    p->live_up = live;
    snprintf(p->live_status, sizeof p->live_status, "%s", message);
    if (live)
        log_event("%s: market data: %s", p->cfg.name, message);
    else
        log_warn("%s: market data: %s", p->cfg.name, message);
    store_event(p->hs->db, clock_now(p->hs->clock), p->cfg.name, 0, "market_data", NULL, "%s",
                message);
}

int pipeline_live_open(pipeline *p, diag_list *diags)
{
    if (!p->cfg.data.live)
        return 0;
    if (p->hs->backtest) {
        if (p->cfg.data.nfiles == 0 && !p->hs->checking) {
            diag_add(diags,
                     "%s: data.live: a backtest replays data.files, and there are none; "
                     "list the CSV files to test this pipeline on",
                     p->cfg.path);
            return APEX_EINVAL;
        }
        return 0;
    }
    char err[512];
    int64_t interval = config_timeframe_seconds(p->cfg.data.timeframe);
    if (interval <= 0) {
        /* Live bars have the interval the pipeline asks for: one minute unless it says. */
        snprintf(p->cfg.data.timeframe, sizeof p->cfg.data.timeframe, "1m");
        interval = 60;
        pipeline_session_init(p);
    }
    p->live_bars = bar_queue_new("market data");
    if (!p->live_bars || feed_merge_add_queue(p->feed, p->live_bars, err, sizeof err) != 0) {
        diag_add(diags, "%s: data.live: out of memory", p->cfg.path);
        return APEX_ENOMEM;
    }
    /* The request's list is copied by the broker. */
    const char **symbols = calloc((size_t)p->cfg.nsymbols, sizeof *symbols);
    if (!symbols) {
        diag_add(diags, "%s: data.live: out of memory", p->cfg.path);
        return APEX_ENOMEM;
    }
    for (int i = 0; i < p->cfg.nsymbols; i++)
        symbols[i] = p->cfg.symbols[i];
    market_data_request req = {.symbols = symbols,
                               .nsymbols = p->cfg.nsymbols,
                               .timeframe_s = interval,
                               .warmup_bars = p->cfg.data.warmup_bars,
                               .news = p->cfg.data.live_news};
    market_data_sink sink = {.on_bar = live_bar, .on_news = live_news, .on_status = live_status};
    p->live_sub = broker_market_data_subscribe(p->brk, &req, &sink, p, err, sizeof err);
    free(symbols);
    if (!p->live_sub) {
        diag_add(diags, "%s: data.live: %s", p->cfg.path, err);
        return APEX_EINVAL;
    }
    return 0;
}

void pipeline_live_close(pipeline *p)
{
    if (p->live_sub)
        broker_market_data_unsubscribe(p->brk, p->live_sub);
    p->live_sub = NULL;
}

bool pipeline_live_feed(const pipeline *p)
{
    return p->live_bars != NULL || p->nhttp > 0;
}
