/* alpaca_data: live market data behind broker_market_data_subscribe (broker.h).
 *
 * Alpaca allows one market-data stream connection per account and feed, so the adapter
 * keeps one link per stream kind (alpaca_link.c: reconnected with backoff) and every
 * subscription shares it: stocks at <stream host>/v2/<feed>, crypto (symbols with a '/')
 * at /v1beta3/crypto/us, news at /v1beta1/news. A link is opened while some subscription
 * needs it, subscribed to the union of the symbols its subscriptions want, and told the
 * difference ({"action":"subscribe"/"unsubscribe",...}) as subscriptions come and go.
 *
 * Each subscription keeps, per symbol, the open time of the last bar it was given, and a
 * bar at or before that is never given again: the warm-up, the catch-ups and the stream
 * may all carry the same bar. Bars reach a subscription through a "sync", its REST
 * requests one at a time:
 *   - warm-up, once per symbol: the last warmup_bars bars of the subscription's interval
 *     (sort=desc, limit, pages followed), given oldest first with history=true;
 *   - catch-up, every sync: the one-minute bars after the last minute seen, up to now,
 *     fed to the aggregator as if they came from the stream.
 * A sync runs when the subscription starts and each time a link it uses confirms a
 * subscription (a first connect, a reconnect, another subscriber's symbols): whatever the
 * stream missed before it listened comes from REST. Stream bars that arrive while a sync
 * is under way wait in the subscription's queue and follow the sync's bars, so each
 * symbol's bars stay in time order.
 *
 * The stream only has one-minute bars. A longer interval (one that divides a day: 5 min,
 * 15 min, 1 h, ...) is aggregated from them into buckets aligned to UTC multiples of the
 * interval, which is how Alpaca's REST bars of that timeframe are aligned, and a bucket is
 * given when its last minute arrives, when a later minute arrives, or MD_FLUSH_GRACE after
 * its end (a minute without trades has no bar). Catch-ups ask for minutes too, so a bucket
 * a reconnect cut in half is rebuilt whole before it is given.
 *
 * A bar is history when it is not the latest complete bar: ts + 2 * interval <= now (the
 * adapter's wall clock). REST bars whose interval has not ended yet are left for later.
 *
 * Secrets: the key and secret go in the auth message only (alpaca_link_send_auth, never
 * logged); status messages quote Alpaca's error text, which never carries them. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker/alpaca_internal.h"
#include "broker/endpoint.h"
#include "util/err.h"
#include "util/log.h"

#define MD_WARMUP_SLACK   (7 * APEX_DAY) /* warm-up looks back this much besides 2 * N bars */
#define MD_CATCHUP_MAX    10000          /* minutes per symbol per catch-up (a week of them) */
#define MD_PAGE_LIMIT     10000          /* Alpaca's largest page of bars */
#define MD_NEWS_PAGE      50             /* Alpaca's largest page of news */
#define MD_QUEUE_MAX      4096           /* stream bars held while a sync runs; then a new sync */
#define MD_NEWS_SEEN      256            /* news ids remembered per subscription (dedupe) */
#define MD_RETRY_US       (10 * APEX_SECOND) /* a failed sync is tried again after this */
#define MD_FLUSH_GRACE    (15 * APEX_SECOND) /* a bucket's bars come this late at most */
#define MD_FLUSH_INTERVAL (5 * APEX_SECOND)

enum { LINK_STOCKS, LINK_CRYPTO, LINK_NEWS, LINK_COUNT };
static const char *const LINK_NAMES[LINK_COUNT] = {"market data", "crypto data", "news"};

typedef struct {
    alpaca_link link;
    alpaca_md *md;
    int kind;
    bool authed;
    bool subscribed;          /* Alpaca confirmed a subscription since connecting */
    int logged;               /* state last logged: 0 none, 1 up, -1 down */
    char (*sent)[SYMBOL_MAX]; /* what the server has this connection subscribed to */
    int nsent;
} md_link;

typedef struct {
    char symbol[SYMBOL_MAX];
    bool crypto;
    bool warmed;        /* the warm-up was delivered */
    apex_time last;     /* open time of the last bar given, 0 none */
    apex_time last_min; /* open time of the last minute aggregated, 0 none */
    bool agg_open;      /* agg holds a bucket being built */
    bar agg;
} md_sym;

typedef struct {
    int sym;
    bar b;
} queued;

typedef struct md_req md_req;

/* An unsubscribed subscription leaves the list at once (no callback of it runs again) but
 * its memory waits for the reaper, a zero-delay timer: the unsubscribe may come from
 * inside one of its own callbacks, with a loop over the list or over its bars under way. */
struct market_data_sub {
    LIST_ENTRY(market_data_sub) link;
    LIST_ENTRY(market_data_sub) dead_link;
    bool dead;
    bool started; /* the first sync and the links were started (from the loop) */
    alpaca_md *md;
    market_data_sink sink;
    void *ud;
    int64_t tf_s;
    apex_time tf; /* µs */
    char tf_name[16];
    int warmup;
    bool news;
    md_sym *syms;
    int nsyms;
    bool live; /* last told live */
    /* the sync */
    bool syncing, again, failed;
    bool capped; /* a catch-up stopped at MD_CATCHUP_MAX: the rest comes before the stream's */
    int step;    /* symbol index (warm-up then catch-up each), nsyms = news */
    bool step_catchup;
    alpaca_bar *fetched; /* this step's bars so far (pages) */
    int nfetched;
    char page_token[256];
    md_req *req;
    clock_timer retry;
    queued *queue;
    int nqueue, capqueue;
    /* news */
    apex_time news_since;
    int64_t seen[MD_NEWS_SEEN];
    int nseen;
};

struct md_req {
    LIST_ENTRY(md_req) link;
    alpaca_md *md;
    market_data_sub *sub; /* NULL once the subscription is gone: the answer is dropped */
};

struct alpaca_md {
    alpaca_broker *a;
    LIST_HEAD(, market_data_sub) subs;
    LIST_HEAD(, md_req) reqs;
    LIST_HEAD(, market_data_sub) dead;
    md_link links[LINK_COUNT];
    clock_timer flush, reap;
};

static void sync_start(market_data_sub *s);
static void sync_next(market_data_sub *s);
static void reap_tick(clock_timer *t, void *ud);

static apex_time now_of(const alpaca_md *md)
{
    return clock_now(md->a->clock);
}

static void rfc3339(apex_time t, char *out, size_t n)
{
    time_t secs = (time_t)(t / APEX_SECOND);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- which link serves what ---- */

static bool uses_link(const market_data_sub *s, int kind)
{
    if (kind == LINK_NEWS)
        return s->news;
    for (int i = 0; i < s->nsyms; i++)
        if (s->syms[i].crypto == (kind == LINK_CRYPTO))
            return true;
    return false;
}

/* Alpaca's news names crypto without the slash ("BTCUSD" for BTC/USD). */
static void news_name(const char *symbol, char *out)
{
    size_t k = 0;
    for (const char *p = symbol; *p && k + 1 < SYMBOL_MAX; p++)
        if (*p != '/')
            out[k++] = *p;
    out[k] = '\0';
}

/* The symbols link `kind` must be subscribed to now, as a JSON array (new reference). */
static json_t *wanted(const alpaca_md *md, int kind)
{
    json_t *arr = json_array();
    const market_data_sub *s;
    LIST_FOREACH(s, &md->subs, link)
    {
        if (!uses_link(s, kind))
            continue;
        for (int i = 0; i < s->nsyms; i++) {
            char name[SYMBOL_MAX];
            if (kind == LINK_NEWS)
                news_name(s->syms[i].symbol, name);
            else if (s->syms[i].crypto != (kind == LINK_CRYPTO))
                continue;
            else
                snprintf(name, sizeof name, "%s", s->syms[i].symbol);
            bool dup = false;
            for (size_t k = 0; k < json_array_size(arr) && !dup; k++)
                dup = strcmp(json_string_value(json_array_get(arr, k)), name) == 0;
            if (!dup)
                json_array_append_new(arr, json_string(name));
        }
    }
    return arr;
}

static bool in_list(const json_t *arr, const char *name)
{
    for (size_t k = 0; k < json_array_size(arr); k++)
        if (strcmp(json_string_value(json_array_get(arr, k)), name) == 0)
            return true;
    return false;
}

/* ---- status ---- */

static void status(market_data_sub *s, bool live, const char *msg)
{
    s->live = live;
    if (!s->dead && s->sink.on_status)
        s->sink.on_status(s->ud, live, msg);
}

/* Every subscription on link kind hears msg; bars links set live, news keeps it. */
static void status_link(alpaca_md *md, int kind, bool live, const char *msg)
{
    market_data_sub *s;
    LIST_FOREACH(s, &md->subs, link)
    if (uses_link(s, kind))
        status(s, kind == LINK_NEWS ? s->live : live, msg);
}

/* Live once a bars link listens and the sync has caught up. */
static void maybe_live(market_data_sub *s)
{
    if (s->live || s->syncing)
        return;
    for (int k = LINK_STOCKS; k <= LINK_CRYPTO; k++)
        if (uses_link(s, k) && !s->md->links[k].subscribed)
            return;
    char msg[160];
    snprintf(msg, sizeof msg, "connected: %d-second bars of %d symbol%s from Alpaca (%s)",
             (int)s->tf_s, s->nsyms, s->nsyms == 1 ? "" : "s", s->md->a->feed);
    status(s, true, msg);
}

/* ---- delivery ---- */

static void give(market_data_sub *s, md_sym *y, const bar *b)
{
    if (b->ts <= y->last || s->dead)
        return;
    y->last = b->ts;
    bool history = b->ts + 2 * s->tf <= now_of(s->md);
    s->sink.on_bar(s->ud, y->symbol, b, history);
}

static void flush_bucket(market_data_sub *s, md_sym *y)
{
    if (!y->agg_open)
        return;
    y->agg_open = false;
    give(s, y, &y->agg);
}

/* One one-minute bar (stream or catch-up) into y's bucket. A later bucket closes the
 * current one; the bucket's last minute closes it at once. */
static void minute(market_data_sub *s, md_sym *y, const bar *m)
{
    apex_time start = m->ts - m->ts % s->tf;
    if (!y->warmed)
        return; /* history first: the catch-up after the warm-up brings this minute */
    if (m->ts <= y->last_min || start <= y->last)
        return; /* seen, or its bucket was given already */
    y->last_min = m->ts;
    if (y->agg_open && y->agg.ts != start)
        flush_bucket(s, y);
    if (!y->agg_open) {
        y->agg = *m;
        y->agg.ts = start;
        y->agg_open = true;
    } else {
        if (m->high > y->agg.high)
            y->agg.high = m->high;
        if (m->low < y->agg.low)
            y->agg.low = m->low;
        y->agg.close = m->close;
        y->agg.volume += m->volume;
    }
    if (m->ts + APEX_MINUTE >= start + s->tf)
        flush_bucket(s, y);
}

static int find_sym(const market_data_sub *s, const char *symbol)
{
    for (int i = 0; i < s->nsyms; i++)
        if (strcmp(s->syms[i].symbol, symbol) == 0)
            return i;
    return -1;
}

static void stream_bar(market_data_sub *s, int i, const bar *b)
{
    if (!s->syncing) {
        minute(s, &s->syms[i], b);
        return;
    }
    if (s->nqueue == MD_QUEUE_MAX) {
        s->again = true; /* the next sync's catch-up brings what did not fit */
        return;
    }
    if (s->nqueue == s->capqueue) {
        int cap = s->capqueue ? s->capqueue * 2 : 64;
        queued *q = realloc(s->queue, (size_t)cap * sizeof *q);
        if (!q) {
            s->again = true;
            return;
        }
        s->queue = q;
        s->capqueue = cap;
    }
    s->queue[s->nqueue++] = (queued){i, *b};
}

static bool news_seen(market_data_sub *s, int64_t id)
{
    int n = s->nseen < MD_NEWS_SEEN ? s->nseen : MD_NEWS_SEEN;
    for (int i = 0; i < n; i++)
        if (s->seen[i] == id)
            return true;
    s->seen[s->nseen++ % MD_NEWS_SEEN] = id;
    return false;
}

/* One item per symbol of the article that s asked for; an article once. */
static void give_news(market_data_sub *s, const alpaca_news *n)
{
    if (!s->news || !s->sink.on_news || s->dead)
        return;
    bool wants = false;
    for (int i = 0; i < s->nsyms && !wants; i++) {
        char name[SYMBOL_MAX];
        news_name(s->syms[i].symbol, name);
        for (int k = 0; k < n->nsymbols && !wants; k++)
            wants = strcmp(n->symbols[k], name) == 0;
    }
    if (!wants || news_seen(s, n->id))
        return;
    if (n->created_at > s->news_since)
        s->news_since = n->created_at;
    for (int i = 0; i < s->nsyms; i++) {
        char name[SYMBOL_MAX];
        news_name(s->syms[i].symbol, name);
        for (int k = 0; k < n->nsymbols && !s->dead; k++) {
            if (strcmp(n->symbols[k], name) != 0)
                continue;
            news_item it = {.ts = n->created_at, .impact = 0};
            snprintf(it.symbol, sizeof it.symbol, "%s", s->syms[i].symbol);
            snprintf(it.headline, sizeof it.headline, "%s", n->headline);
            s->sink.on_news(s->ud, &it);
            break;
        }
    }
}

/* ---- the sync: REST warm-up, catch-up and news ---- */

static void on_rest(const http_result *res, void *ud);

static md_req *send_get(market_data_sub *s, const char *path)
{
    alpaca_md *md = s->md;
    alpaca_broker *a = md->a;
    md_req *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->md = md;
    r->sub = s;
    char url[2048];
    snprintf(url, sizeof url, "%s%s", a->data, path);
    http_header h[2] = {
        {.name = "APCA-API-KEY-ID", .value = a->cred.key, .secret = true},
        {.name = "APCA-API-SECRET-KEY", .value = a->cred.secret, .secret = true},
    };
    /* Market data has its own limits at Alpaca: never the trading calls' limiter. */
    http_request_spec spec = {.method = HTTP_GET, .url = url, .headers = h, .header_count = 2};
    apex_error e;
    if (http_send(a->http, &spec, on_rest, r, &e) != 0) {
        log_warn("alpaca: %s", e.msg);
        free(r);
        return NULL;
    }
    LIST_INSERT_HEAD(&md->reqs, r, link);
    return r;
}

/* "&page_token=<token>" when a page is to follow, else "". */
static void page_param(const market_data_sub *s, char *out, size_t n)
{
    char enc[800];
    alpaca_url_encode(s->page_token, enc, sizeof enc);
    snprintf(out, n, "%s%s", s->page_token[0] ? "&page_token=" : "", enc);
}

static void request_bars(market_data_sub *s)
{
    md_sym *y = &s->syms[s->step];
    apex_time now = now_of(s->md);
    char path[2048], start[40], enc[64], page[820];
    alpaca_url_encode(y->symbol, enc, sizeof enc);
    page_param(s, page, sizeof page);
    const char *base = y->crypto ? "/v1beta3/crypto/us/bars?" : "/v2/stocks/bars?";
    char feed[32] = "";
    if (!y->crypto)
        snprintf(feed, sizeof feed, "&feed=%s", s->md->a->feed);
    if (!s->step_catchup) {
        rfc3339(now - (apex_time)s->warmup * 2 * s->tf - MD_WARMUP_SLACK, start, sizeof start);
        snprintf(path, sizeof path, "%ssymbols=%s&timeframe=%s&start=%s&limit=%d&sort=desc%s%s",
                 base, enc, s->tf_name, start,
                 s->warmup < MD_PAGE_LIMIT ? s->warmup + 1 : MD_PAGE_LIMIT, feed, page);
    } else {
        /* After the last minute aggregated; nothing yet: the current bucket's minutes. */
        apex_time from = y->last_min ? y->last_min + APEX_MINUTE : now - now % s->tf;
        if (y->last && from <= y->last)
            from = y->last + s->tf; /* the warm-up's last bucket is complete */
        rfc3339(from, start, sizeof start);
        snprintf(path, sizeof path, "%ssymbols=%s&timeframe=1Min&start=%s&limit=%d&sort=asc%s%s",
                 base, enc, start, MD_PAGE_LIMIT, feed, page);
    }
    s->req = send_get(s, path);
}

static void request_news(market_data_sub *s)
{
    char path[2048], start[40], page[820];
    rfc3339(s->news_since, start, sizeof start);
    page_param(s, page, sizeof page);
    size_t used = (size_t)snprintf(path, sizeof path, "/v1beta1/news?symbols=");
    for (int i = 0; i < s->nsyms && used + SYMBOL_MAX + 2 < sizeof path; i++) {
        char name[SYMBOL_MAX];
        news_name(s->syms[i].symbol, name);
        used += (size_t)snprintf(path + used, sizeof path - used, "%s%s", i ? "," : "", name);
    }
    snprintf(path + used, sizeof path - used, "&start=%s&sort=asc&limit=%d%s", start, MD_NEWS_PAGE,
             page);
    s->req = send_get(s, path);
}

static void step_done(market_data_sub *s)
{
    free(s->fetched);
    s->fetched = NULL;
    s->nfetched = 0;
    s->page_token[0] = '\0';
    if (s->step < s->nsyms && !s->step_catchup) {
        s->step_catchup = true; /* the same symbol's catch-up next */
        return;
    }
    s->step++;
    s->step_catchup = s->step < s->nsyms && s->syms[s->step].warmed;
}

/* The step's request failed (why is logged; NULL: already said): the sync goes on with
 * the next step and is tried again when it ends. */
static void step_failed(market_data_sub *s, const char *why)
{
    if (why)
        log_warn("%s", why); /* the codec's and the HTTP client's messages start "alpaca: " */
    s->failed = true;
    if (s->step < s->nsyms)
        s->step_catchup = true; /* a failed warm-up skips the catch-up: it would come first */
    step_done(s);
}

/* The warm-up's bars (newest first, as asked) are given oldest first. */
static void give_warmup(market_data_sub *s)
{
    md_sym *y = &s->syms[s->step];
    apex_time now = now_of(s->md);
    int n = 0;
    for (int i = 0; i < s->nfetched && n < s->warmup; i++)
        if (s->fetched[i].b.ts + s->tf <= now) /* complete buckets only */
            s->fetched[n++] = s->fetched[i];
    for (int i = n - 1; i >= 0; i--) {
        give(s, y, &s->fetched[i].b);
        if (y->last_min < y->last + s->tf - APEX_MINUTE)
            y->last_min = y->last + s->tf - APEX_MINUTE;
    }
    y->warmed = true;
}

static void give_catchup(market_data_sub *s)
{
    md_sym *y = &s->syms[s->step];
    apex_time now = now_of(s->md);
    for (int i = 0; i < s->nfetched; i++)
        if (s->fetched[i].b.ts + APEX_MINUTE <= now) /* a minute still forming comes later */
            minute(s, y, &s->fetched[i].b);
}

/* A page of bars arrived for the current step: more pages, or the step is done. */
static void got_bars(market_data_sub *s, const json_t *j)
{
    alpaca_bar *v;
    int n;
    char err[256], token[256];
    if (alpaca_decode_bars(j, &v, &n, token, sizeof token, err, sizeof err) != 0) {
        step_failed(s, err);
        return;
    }
    const char *sym = s->syms[s->step].symbol;
    int keep = 0;
    for (int i = 0; i < n; i++)
        keep += strcmp(v[i].symbol, sym) == 0;
    alpaca_bar *all = realloc(s->fetched, (size_t)(s->nfetched + keep + 1) * sizeof *all);
    if (!all) {
        free(v);
        step_failed(s, "alpaca: market data: out of memory");
        return;
    }
    s->fetched = all;
    for (int i = 0; i < n; i++)
        if (strcmp(v[i].symbol, sym) == 0)
            s->fetched[s->nfetched++] = v[i];
    free(v);
    int cap = s->step_catchup ? MD_CATCHUP_MAX : s->warmup;
    if (token[0] && s->nfetched < cap) {
        snprintf(s->page_token, sizeof s->page_token, "%s", token);
        return; /* the next page */
    }
    if (token[0] && s->step_catchup)
        s->capped = true;
    if (s->step_catchup)
        give_catchup(s);
    else
        give_warmup(s);
    step_done(s);
}

static void got_news(market_data_sub *s, const json_t *j)
{
    alpaca_news *v;
    int n;
    char err[256], token[256];
    if (alpaca_decode_news_page(j, &v, &n, token, sizeof token, err, sizeof err) != 0) {
        step_failed(s, err);
        return;
    }
    for (int i = 0; i < n; i++)
        give_news(s, &v[i]);
    free(v);
    if (token[0] && n > 0) {
        snprintf(s->page_token, sizeof s->page_token, "%s", token);
        return;
    }
    step_done(s);
}

static void on_rest(const http_result *res, void *ud)
{
    md_req *r = ud;
    market_data_sub *s = r->sub;
    LIST_REMOVE(r, link);
    free(r);
    if (!s)
        return; /* unsubscribed meanwhile */
    s->req = NULL;
    bool news = s->step >= s->nsyms;
    if (res->outcome != HTTP_OUTCOME_RESPONSE || res->status != 200) {
        char msg[200], why[300];
        alpaca_http_error(res, msg, sizeof msg);
        snprintf(why, sizeof why, "alpaca: %s%s failed: %s", news ? "news catch-up" : "bars for ",
                 news ? "" : s->syms[s->step].symbol, msg);
        step_failed(s, why);
    } else {
        char err[256];
        json_t *j = alpaca_json_parse(res->body, res->body_len,
                                      news ? "alpaca: news" : "alpaca: bars", err, sizeof err);
        if (!j) {
            step_failed(s, err);
        } else {
            if (news)
                got_news(s, j);
            else
                got_bars(s, j);
            json_decref(j);
        }
    }
    sync_next(s);
}

static void sync_done(market_data_sub *s)
{
    s->syncing = false;
    if (s->capped) {
        /* Minutes are still missing before the queued ones: giving those would skip the
         * gap for good. Another sync brings the rest, and the queued ones with it. */
        s->capped = false;
        s->nqueue = 0;
        s->again = true;
    }
    /* Stream bars held meanwhile follow the REST bars; those already given drop out. */
    for (int i = 0; i < s->nqueue; i++)
        minute(s, &s->syms[s->queue[i].sym], &s->queue[i].b);
    s->nqueue = 0;
    if (s->failed) {
        s->failed = false;
        status(s, false, "catching up over REST failed (see the log); trying again in 10 s");
        clock_timer_start_in(&s->retry, MD_RETRY_US);
        return;
    }
    if (s->again) {
        sync_start(s);
        return;
    }
    maybe_live(s);
}

static void sync_next(market_data_sub *s)
{
    while (!s->req && !s->dead) {
        if (s->step < s->nsyms) {
            request_bars(s);
        } else if (s->step == s->nsyms && s->news) {
            request_news(s);
        } else {
            sync_done(s);
            return;
        }
        if (!s->req) /* could not even be sent (logged): a failure, on to the next step */
            step_failed(s, NULL);
    }
}

static void sync_start(market_data_sub *s)
{
    if (s->syncing) {
        s->again = true;
        return;
    }
    clock_timer_stop(&s->retry);
    s->syncing = true;
    s->again = false;
    s->step = 0;
    s->step_catchup = s->nsyms > 0 && s->syms[0].warmed;
    s->page_token[0] = '\0';
    sync_next(s);
}

static void refresh_links(alpaca_md *md);

/* Also the first start of a subscription, from the loop: a link that fails at once, or a
 * request that cannot be sent, reports through callbacks, never inside the subscribe. */
static void retry_tick(clock_timer *t, void *ud)
{
    (void)t;
    market_data_sub *s = ud;
    if (!s->started) {
        s->started = true;
        refresh_links(s->md);
    }
    sync_start(s);
}

/* ---- the links ---- */

static void send_action(md_link *l, const char *action, json_t *symbols)
{
    json_t *msg =
        json_pack("{s:s,s:O}", "action", action, l->kind == LINK_NEWS ? "news" : "bars", symbols);
    char *text = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
    int rc = text ? ws_send_text(l->link.ws, text, strlen(text)) : APEX_ENOMEM;
    free(text);
    json_decref(msg);
    if (rc != 0)
        alpaca_link_drop(&l->link, err_name(rc));
}

/* Tells an authenticated connection the difference between what it is subscribed to and
 * what the subscriptions want now. */
static void resubscribe(md_link *l)
{
    json_t *want = wanted(l->md, l->kind), *add = json_array(), *del = json_array();
    for (size_t k = 0; k < json_array_size(want); k++) {
        const char *name = json_string_value(json_array_get(want, k));
        bool have = false;
        for (int i = 0; i < l->nsent && !have; i++)
            have = strcmp(l->sent[i], name) == 0;
        if (!have)
            json_array_append_new(add, json_string(name));
    }
    for (int i = 0; i < l->nsent; i++)
        if (!in_list(want, l->sent[i]))
            json_array_append_new(del, json_string(l->sent[i]));
    char(*sent)[SYMBOL_MAX] = calloc(json_array_size(want) + 1, SYMBOL_MAX);
    if (sent) {
        for (size_t k = 0; k < json_array_size(want); k++)
            snprintf(sent[k], SYMBOL_MAX, "%s", json_string_value(json_array_get(want, k)));
        free(l->sent);
        l->sent = sent;
        l->nsent = (int)json_array_size(want);
    }
    json_decref(want);
    if (json_array_size(del))
        send_action(l, "unsubscribe", del);
    if (json_array_size(add) && l->link.ws)
        send_action(l, "subscribe", add);
    json_decref(add);
    json_decref(del);
}

static void link_open(alpaca_link *al)
{
    int rc = alpaca_link_send_auth(al);
    if (rc != 0)
        alpaca_link_drop(al, err_name(rc));
}

static void link_down(alpaca_link *al, const char *why, int wait_ms)
{
    md_link *l = al->ud;
    bool refused = strncmp(why, "authentication refused", 22) == 0;
    l->authed = false;
    l->subscribed = false;
    l->nsent = 0;
    char msg[320];
    if (refused)
        snprintf(
            msg, sizeof msg,
            "%s stream: %s; check APCA_API_KEY_ID and APCA_API_SECRET_KEY (the account's keys, and "
            "its market data subscription for the feed); retrying in %d s",
            LINK_NAMES[l->kind], why, (wait_ms + 500) / 1000);
    else
        snprintf(msg, sizeof msg, "%s stream down: %s; reconnecting in %d s", LINK_NAMES[l->kind],
                 why, (wait_ms + 500) / 1000);
    if (l->logged != -1)
        log_warn("alpaca: %s", msg);
    l->logged = -1;
    status_link(l->md, l->kind, false, msg);
}

static void link_subscribed(md_link *l)
{
    l->subscribed = true;
    alpaca_link_up(&l->link);
    if (l->logged != 1)
        log_info("alpaca: %s stream subscribed (%d symbols)", LINK_NAMES[l->kind], l->nsent);
    l->logged = 1;
    /* Whatever the stream carried before this subscription took effect comes from REST. */
    market_data_sub *s;
    LIST_FOREACH(s, &l->md->subs, link)
    if (uses_link(s, l->kind))
        sync_start(s);
}

static void link_control(md_link *l, const alpaca_md_msg *m)
{
    char why[200];
    switch (m->type) {
    case ALPACA_MD_SUCCESS:
        if (strcmp(m->message, "authenticated") == 0 && !l->authed) {
            l->authed = true;
            l->nsent = 0;
            resubscribe(l);
        }
        break;
    case ALPACA_MD_ERROR:
        /* 402 auth failed, 401 not authenticated, 404 auth timeout, 406 connection limit,
         * 409 insufficient subscription: the connection is no use; drop and back off. */
        if (!l->authed || m->code == 406 || m->code == 409)
            snprintf(why, sizeof why, "authentication refused: %s (code %d)", m->message, m->code);
        else
            snprintf(why, sizeof why, "error %d: %s", m->code, m->message);
        if (!l->authed || m->code == 406 || m->code == 409)
            alpaca_link_drop(&l->link, why);
        else
            log_warn("alpaca: %s stream: %s", LINK_NAMES[l->kind], why);
        break;
    case ALPACA_MD_SUBSCRIPTION:
        if (l->authed)
            link_subscribed(l);
        break;
    default:
        break;
    }
}

static void link_bar(md_link *l, const alpaca_bar *ab)
{
    market_data_sub *s;
    LIST_FOREACH(s, &l->md->subs, link)
    {
        int i = find_sym(s, ab->symbol);
        if (i >= 0)
            stream_bar(s, i, &ab->b);
    }
}

static void link_item(md_link *l, const json_t *item)
{
    char err[256];
    const json_t *t = json_object_get(item, "T");
    if (json_is_string(t) && strcmp(json_string_value(t), "n") == 0) {
        alpaca_news n;
        if (alpaca_decode_news(item, &n, err, sizeof err) != 0) {
            log_warn("%s", err); /* "alpaca: news.<field>: ..." */
            return;
        }
        market_data_sub *s;
        LIST_FOREACH(s, &l->md->subs, link)
        give_news(s, &n);
        return;
    }
    alpaca_md_msg m;
    if (alpaca_decode_md_message(item, &m, err, sizeof err) != 0) {
        log_warn("%s", err); /* "alpaca: market data message.<field>: ..." */
        return;
    }
    /* "d" daily and "u" updated bars are not asked for; only minute bars are aggregated. */
    if (m.type == ALPACA_MD_BAR && strcmp(m.t, "b") == 0)
        link_bar(l, &m.bar);
    else if (m.type != ALPACA_MD_BAR)
        link_control(l, &m);
}

static void link_message(alpaca_link *al, const json_t *msg)
{
    md_link *l = al->ud;
    if (!json_is_array(msg)) {
        link_item(l, msg);
        return;
    }
    for (size_t i = 0; i < json_array_size(msg) && l->link.ws; i++)
        link_item(l, json_array_get(msg, i));
}

/* Opens, resubscribes or closes each link as the subscriptions now need. */
static void refresh_links(alpaca_md *md)
{
    for (int k = 0; k < LINK_COUNT; k++) {
        md_link *l = &md->links[k];
        bool need = false;
        market_data_sub *s;
        LIST_FOREACH(s, &md->subs, link)
        need = need || uses_link(s, k);
        if (!need) {
            alpaca_link_stop(&l->link);
            l->authed = l->subscribed = false;
            l->nsent = 0;
            l->logged = 0;
            alpaca_link_up(&l->link);
        } else if (l->authed) {
            resubscribe(l);
        } else if (!l->link.ws && !clock_timer_active(&l->link.reconnect)) {
            alpaca_link_connect(&l->link);
        }
    }
}

/* ---- aggregation's clock: a bucket whose last minute never came ---- */

static void flush_tick(clock_timer *t, void *ud)
{
    alpaca_md *md = ud;
    apex_time now = now_of(md);
    bool aggregating = false;
    market_data_sub *s;
    LIST_FOREACH(s, &md->subs, link)
    {
        aggregating = aggregating || s->tf > APEX_MINUTE;
        for (int i = 0; i < s->nsyms && !s->syncing; i++) {
            md_sym *y = &s->syms[i];
            if (y->agg_open && y->agg.ts + s->tf + MD_FLUSH_GRACE <= now)
                flush_bucket(s, y);
        }
    }
    if (aggregating) /* the next subscription that aggregates starts it again */
        clock_timer_start_in(t, MD_FLUSH_INTERVAL);
}

/* ---- setup ---- */

/* The stream host: Alpaca's data.alpaca.markets streams from stream.data.alpaca.markets;
 * any other data URL (a test server) serves its streams itself. */
static int stream_url(const alpaca_broker *a, const char *path, char *out, size_t n)
{
    char base[600];
    const char *host = strstr(a->data, "://");
    if (host && strncmp(host + 3, "data.", 5) == 0 && strstr(host, ".alpaca.markets"))
        snprintf(base, sizeof base, "%.*sstream.%s", (int)(host + 3 - a->data), a->data, host + 3);
    else
        snprintf(base, sizeof base, "%s", a->data);
    return endpoint_websocket(base, path, out, n);
}

static alpaca_md *md_get(alpaca_broker *a, char *err, size_t errlen)
{
    if (a->md)
        return a->md;
    alpaca_md *md = calloc(1, sizeof *md);
    if (!md)
        return err_set(err, errlen, APEX_ENOMEM, "market data: out of memory"), NULL;
    md->a = a;
    LIST_INIT(&md->subs);
    LIST_INIT(&md->reqs);
    char stocks[16];
    snprintf(stocks, sizeof stocks, "/v2/%s", a->feed);
    const char *paths[LINK_COUNT] = {stocks, "/v1beta3/crypto/us", "/v1beta1/news"};
    for (int k = 0; k < LINK_COUNT; k++) {
        md_link *l = &md->links[k];
        alpaca_link_init(&l->link, a, LINK_NAMES[k]);
        l->link.on_open = link_open;
        l->link.on_message = link_message;
        l->link.on_down = link_down;
        l->link.ud = l;
        l->md = md;
        l->kind = k;
        if (stream_url(a, paths[k], l->link.url, sizeof l->link.url) != 0) {
            free(md);
            return err_set(err, errlen, APEX_EINVAL, "market data: the data URL is too long"), NULL;
        }
    }
    LIST_INIT(&md->dead);
    clock_timer_init(a->clock, &md->flush, flush_tick, md);
    clock_timer_init(a->clock, &md->reap, reap_tick, md);
    a->md = md;
    return md;
}

/* Alpaca's timeframe for an interval that divides a day into UTC-aligned buckets. */
static int timeframe_name(int64_t s, char *out, size_t n)
{
    if (s < 60 || s % 60 != 0 || 86400 % s != 0)
        return -1;
    if (s == 86400)
        return -1; /* Alpaca's daily bars start at New York midnight, not UTC's */
    if (s % 3600 == 0)
        snprintf(out, n, "%dHour", (int)(s / 3600));
    else
        snprintf(out, n, "%dMin", (int)(s / 60));
    return 0;
}

static void sub_free(market_data_sub *s)
{
    if (s->req)
        s->req->sub = NULL;
    clock_timer_stop(&s->retry);
    free(s->syms);
    free(s->fetched);
    free(s->queue);
    free(s);
}

market_data_sub *alpaca_md_subscribe(broker *b, const market_data_request *req,
                                     const market_data_sink *sink, void *ud, char *err,
                                     size_t errlen)
{
    alpaca_broker *a = (alpaca_broker *)b;
    char tf[16];
    if (timeframe_name(req->timeframe_s, tf, sizeof tf) != 0)
        return err_set(err, errlen, APEX_EINVAL,
                       "market data: Alpaca streams one-minute bars; an interval of %lld s "
                       "cannot be built from them (use a whole number of minutes or hours "
                       "that divides a day, below one day: 60, 300, 900, 3600, ...)",
                       (long long)req->timeframe_s),
               NULL;
    if (req->warmup_bars > MD_PAGE_LIMIT)
        return err_set(err, errlen, APEX_EINVAL, "market data: at most %d warm-up bars per symbol",
                       MD_PAGE_LIMIT),
               NULL;
    if (!sink->on_bar)
        return err_set(err, errlen, APEX_EINVAL, "market data: the sink needs on_bar"), NULL;
    for (int i = 0; i < req->nsymbols; i++) {
        const char *sym = req->symbols[i];
        if (!sym || !symbol_valid(sym, strlen(sym)) || strlen(sym) >= SYMBOL_MAX)
            return err_set(err, errlen, APEX_EINVAL, "market data: \"%.40s\" is not a symbol",
                           sym ? sym : "(null)"),
                   NULL;
    }
    alpaca_md *md = md_get(a, err, errlen);
    if (!md)
        return NULL;
    market_data_sub *s = calloc(1, sizeof *s);
    md_sym *syms = s ? calloc((size_t)req->nsymbols, sizeof *syms) : NULL;
    if (!syms) {
        free(s);
        return err_set(err, errlen, APEX_ENOMEM, "market data: out of memory"), NULL;
    }
    s->md = md;
    s->sink = *sink;
    s->ud = ud;
    s->tf_s = req->timeframe_s;
    s->tf = req->timeframe_s * APEX_SECOND;
    snprintf(s->tf_name, sizeof s->tf_name, "%s", tf);
    s->warmup = req->warmup_bars;
    s->news = req->news;
    s->syms = syms;
    for (int i = 0; i < req->nsymbols; i++) {
        if (find_sym(s, req->symbols[i]) >= 0)
            continue; /* named twice: one stream of bars */
        md_sym *y = &syms[s->nsyms++];
        snprintf(y->symbol, sizeof y->symbol, "%s", req->symbols[i]);
        y->crypto = strchr(y->symbol, '/') != NULL;
        y->warmed = s->warmup == 0;
    }
    s->news_since = now_of(md);
    clock_timer_init(a->clock, &s->retry, retry_tick, s);
    LIST_INSERT_HEAD(&md->subs, s, link);
    if (s->tf > APEX_MINUTE && !clock_timer_active(&md->flush))
        clock_timer_start_in(&md->flush, MD_FLUSH_INTERVAL);
    clock_timer_start_in(&s->retry, 0); /* the first sync, from the loop: retry_tick */
    return s;
}

static void reap_tick(clock_timer *t, void *ud)
{
    (void)t;
    alpaca_md *md = ud;
    while (!LIST_EMPTY(&md->dead)) {
        market_data_sub *s = LIST_FIRST(&md->dead);
        LIST_REMOVE(s, dead_link);
        sub_free(s);
    }
}

void alpaca_md_unsubscribe(broker *b, market_data_sub *s)
{
    alpaca_broker *a = (alpaca_broker *)b;
    if (!a->md || !s || s->dead)
        return;
    s->dead = true;
    LIST_REMOVE(s, link);
    if (s->req)
        s->req->sub = NULL; /* its answer is dropped */
    s->req = NULL;
    clock_timer_stop(&s->retry);
    LIST_INSERT_HEAD(&a->md->dead, s, dead_link);
    clock_timer_start_in(&a->md->reap, 0);
    refresh_links(a->md);
}

void alpaca_md_free(alpaca_broker *a)
{
    alpaca_md *md = a->md;
    if (!md)
        return;
    for (int k = 0; k < LINK_COUNT; k++) {
        alpaca_link_stop(&md->links[k].link);
        free(md->links[k].sent);
    }
    clock_timer_stop(&md->flush);
    clock_timer_stop(&md->reap);
    reap_tick(&md->reap, md);
    while (!LIST_EMPTY(&md->subs)) {
        market_data_sub *s = LIST_FIRST(&md->subs);
        LIST_REMOVE(s, link);
        sub_free(s);
    }
    /* Requests still in flight are dropped with the HTTP client, callbacks unrun. */
    while (!LIST_EMPTY(&md->reqs)) {
        md_req *r = LIST_FIRST(&md->reqs);
        LIST_REMOVE(r, link);
        free(r);
    }
    free(md);
    a->md = NULL;
}
