/* fake-alpaca: Alpaca's trading (v2) and market data (v2 stocks, v1beta3 crypto, v1beta1
 * news) paths. */
#include "api.h"

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"

const char *req_arg(const req_t *r, const char *name)
{
    size_t n = strlen(name);
    for (int i = 0; i < r->nargs; i++)
        if (!strncmp(r->args[i], name, n) && r->args[i][n] == '=')
            return r->args[i] + n + 1;
    return NULL;
}

static int err(sb_t *out, int status, long code, const char *msg)
{
    out->len = 0;
    if (code)
        sb_printf(out, "{\"code\":%ld,\"message\":", code);
    else
        sb_puts(out, "{\"message\":");
    sb_jstr(out, msg);
    sb_puts(out, "}");
    return status;
}

static int is(const req_t *r, const char *method, const char *path)
{
    return !strcmp(r->method, method) && !strcmp(r->path, path);
}

/* path == prefix + one more segment; returns the segment or NULL. */
static const char *tail(const req_t *r, const char *method, const char *prefix)
{
    size_t n = strlen(prefix);
    if (strcmp(r->method, method) || strncmp(r->path, prefix, n) || !r->path[n] ||
        strchr(r->path + n, '/'))
        return NULL;
    return r->path + n;
}

static json_t *body_json(const req_t *r)
{
    if (!r->body_len)
        return json_object();
    return json_loadb(r->body, r->body_len, 0, NULL);
}

static int truthy(const char *v)
{
    return v && (!strcmp(v, "true") || !strcmp(v, "1"));
}

/* A comma-separated list split in place into at most max items. */
static int split(char *s, char **items, int max)
{
    int n = 0;
    for (char *tok = strtok(s, ","); tok && n < max; tok = strtok(NULL, ","))
        if (*tok)
            items[n++] = tok;
    return n;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---- clock and calendar (regular session 14:30-21:00 UTC, weekdays; no holidays) ------- */

static void clock_json(sb_t *b)
{
    int64_t now = S.now_us, day = now / US_PER_DAY;
    int trading = session_weekday(day) < 5;
    int64_t nopen = trading && now < session_open_us(day) ? session_open_us(day)
                                                          : session_open_us(next_trading_day(day));
    int64_t nclose = trading && now < session_close_us(day)
                         ? session_close_us(day)
                         : session_close_us(next_trading_day(day));
    int open = market_is_open();
    sb_puts(b, "{\"timestamp\":"), sb_time(b, now);
    sb_printf(b, ",\"is_open\":%s,\"next_open\":", open ? "true" : "false");
    sb_time(b, nopen);
    sb_puts(b, ",\"next_close\":"), sb_time(b, nclose);
    sb_puts(b, "}");
}

static void date_fmt(int64_t day, char *buf, size_t n)
{
    int y;
    unsigned m, d;
    civil_from_days(day, &y, &m, &d);
    snprintf(buf, n, "%04d-%02u-%02u", y, m, d);
}

static int calendar(const req_t *r, sb_t *out)
{
    int64_t start = S.now_us, end;
    const char *a = req_arg(r, "start"), *e = req_arg(r, "end");
    if (a && time_parse(a, &start))
        return err(out, 400, 40010001, "invalid start");
    end = start + 30 * US_PER_DAY;
    if (e && time_parse(e, &end))
        return err(out, 400, 40010001, "invalid end");
    int64_t d0 = start / US_PER_DAY, d1 = end / US_PER_DAY;
    if (d1 - d0 > 3660)
        d1 = d0 + 3660;
    sb_puts(out, "[");
    int first = 1;
    for (int64_t d = d0; d <= d1; d++) {
        const char *open = "09:30", *close = "16:00";
        int closed = session_weekday(d) >= 5;
        for (size_t i = 0; i < S.ncal; i++)
            if (S.cal[i].day == d) {
                closed = S.cal[i].closed;
                open = S.cal[i].open;
                close = S.cal[i].close;
            }
        if (closed)
            continue;
        char ds[16], ss[16];
        date_fmt(d, ds, sizeof ds);
        date_fmt(next_trading_day(d), ss, sizeof ss);
        sb_printf(out,
                  "%s{\"date\":\"%s\",\"open\":\"%s\",\"close\":\"%s\","
                  "\"session_open\":\"0400\",\"session_close\":\"2000\","
                  "\"settlement_date\":\"%s\"}",
                  first ? "" : ",", ds, open, close, ss);
        first = 0;
    }
    sb_puts(out, "]");
    return 200;
}

/* ---- orders ---------------------------------------------------------------------------- */

static int list_orders(const req_t *r, sb_t *out)
{
    const char *status = req_arg(r, "status"), *dir = req_arg(r, "direction");
    const char *lim = req_arg(r, "limit"), *syms = req_arg(r, "symbols");
    const char *after = req_arg(r, "after"), *until = req_arg(r, "until");
    int nested = truthy(req_arg(r, "nested"));
    int want = !status || !strcmp(status, "open") ? 0 : !strcmp(status, "closed") ? 1 : 2;
    if (status && strcmp(status, "open") && strcmp(status, "closed") && strcmp(status, "all"))
        return err(out, 422, 40010001, "invalid status");
    int limit = lim ? atoi(lim) : 50;
    if (limit <= 0 || limit > 500)
        limit = limit <= 0 ? 50 : 500;
    int64_t t_after = 0, t_until = 0;
    if ((after && time_parse(after, &t_after)) || (until && time_parse(until, &t_until)))
        return err(out, 422, 40010001, "invalid timestamp");
    char sbuf[1024], *sl[64];
    int ns = 0;
    if (syms) {
        snprintf(sbuf, sizeof sbuf, "%s", syms);
        ns = split(sbuf, sl, 64);
    }
    int asc = dir && !strcmp(dir, "asc");
    sb_puts(out, "[");
    int n = 0;
    for (size_t k = 0; k < S.norders && n < limit; k++) {
        size_t i = asc ? k : S.norders - 1 - k;
        const order_t *o = &S.orders[i];
        if (nested && o->parent >= 0)
            continue;
        int open = order_is_open(o);
        if ((want == 0 && !open) || (want == 1 && open))
            continue;
        if ((after && o->submitted <= t_after) || (until && o->submitted >= t_until))
            continue;
        if (ns) {
            int hit = 0;
            for (int j = 0; j < ns; j++)
                hit |= !strcmp(sl[j], o->symbol);
            if (!hit)
                continue;
        }
        if (n++)
            sb_puts(out, ",");
        order_json(out, (int)i, nested);
    }
    sb_puts(out, "]");
    return 200;
}

static int cancel_all(sb_t *out)
{
    sb_puts(out, "[");
    int n = 0;
    for (size_t i = 0; i < S.norders; i++) {
        if (!order_is_open(&S.orders[i]) || S.orders[i].parent >= 0)
            continue;
        order_cancel((int)i);
        if (n++)
            sb_puts(out, ",");
        sb_puts(out, "{\"id\":"), sb_jstr(out, S.orders[i].id);
        sb_puts(out, ",\"status\":200,\"body\":");
        order_json(out, (int)i, 1);
        sb_puts(out, "}");
    }
    sb_puts(out, "]");
    return 207;
}

static int close_all(const req_t *r, sb_t *out)
{
    int cancel = truthy(req_arg(r, "cancel_orders"));
    sb_t one = {0};
    sb_puts(out, "[");
    int n = 0;
    for (size_t i = 0; i < S.npos; i++) {
        if (!S.pos[i].qty)
            continue;
        char sym[16];
        memcpy(sym, S.pos[i].symbol, sizeof sym);
        one.len = 0;
        int st = position_close(sym, 0, cancel, &one);
        if (n++)
            sb_puts(out, ",");
        sb_puts(out, "{\"symbol\":"), sb_jstr(out, sym);
        sb_printf(out, ",\"status\":%d,\"body\":%s}", st, one.p ? one.p : "null");
    }
    sb_puts(out, "]");
    sb_free(&one);
    return 207;
}

/* ---- account activities (only FILL is ever recorded) ----------------------------------- */

/* Activity types Alpaca lists; any other is 422 "invalid activity type". */
static const char *ACTIVITY_TYPES[] = {
    "FILL",   "TRANS",  "MISC",   "ACATC", "ACATS",  "CFEE",   "CSD",   "CSW",     "DIV",
    "DIVCGL", "DIVCGS", "DIVFEE", "DIVFT", "DIVNRA", "DIVROC", "DIVTW", "DIVTXEX", "FEE",
    "INT",    "INTNRA", "INTTW",  "JNL",   "JNLC",   "JNLS",   "MA",    "NC",      "OPASN",
    "OPCA",   "OPCSH",  "OPEXC",  "OPEXP", "OPTRD",  "OPXRC",  "PTC",   "PTR",     "REORG",
    "SC",     "SPIN",   "SPLIT",  "SSO",   "SSP",    "VOF",    "WH"};

static int activity_type_known(const char *t)
{
    for (size_t i = 0; i < sizeof ACTIVITY_TYPES / sizeof *ACTIVITY_TYPES; i++)
        if (!strcmp(t, ACTIVITY_TYPES[i]))
            return 1;
    return 0;
}

/* GET /v2/account/activities[/{type}]: a JSON array, newest first unless direction=asc;
 * page_token is the id of the last activity of the previous page. */
static int activities(const req_t *r, sb_t *out, const char *path_type)
{
    const char *types = req_arg(r, "activity_types"), *cat = req_arg(r, "category");
    const char *date = req_arg(r, "date"), *after = req_arg(r, "after");
    const char *until = req_arg(r, "until"), *dir = req_arg(r, "direction");
    const char *ps = req_arg(r, "page_size"), *tok = req_arg(r, "page_token");
    int fills = 1;
    char msg[160];
    if (path_type) {
        if (!activity_type_known(path_type)) {
            snprintf(msg, sizeof msg, "invalid activity type: %.100s", path_type);
            return err(out, 422, 40010001, msg);
        }
        if (types || cat)
            return err(out, 422, 40010001,
                       "activity_types and category cannot be used with an activity type in the "
                       "path");
        fills = !strcmp(path_type, "FILL");
    } else if (types && cat) {
        return err(out, 422, 40010001, "activity_types and category are mutually exclusive");
    } else if (types) {
        char tbuf[1024], *tl[64];
        snprintf(tbuf, sizeof tbuf, "%s", types);
        int nt = split(tbuf, tl, 64);
        fills = 0;
        for (int i = 0; i < nt; i++) {
            if (!activity_type_known(tl[i])) {
                snprintf(msg, sizeof msg, "invalid activity type: %.100s", tl[i]);
                return err(out, 422, 40010001, msg);
            }
            fills |= !strcmp(tl[i], "FILL");
        }
    } else if (cat) {
        if (strcmp(cat, "trade_activity") && strcmp(cat, "non_trade_activity"))
            return err(out, 422, 40010001, "invalid category");
        fills = !strcmp(cat, "trade_activity");
    }
    int64_t t_date = 0, t_after = 0, t_until = 0;
    if (date && time_parse(date, &t_date))
        return err(out, 422, 40010001, "invalid date");
    if ((after && time_parse(after, &t_after)) || (until && time_parse(until, &t_until)))
        return err(out, 422, 40010001, "invalid timestamp");
    if (dir && strcmp(dir, "asc") && strcmp(dir, "desc"))
        return err(out, 422, 40010001, "invalid direction");
    int asc = dir && !strcmp(dir, "asc");
    /* Without date: default and maximum 100. With date: all of that day unless page_size. */
    long size = date ? LONG_MAX : 100;
    if (ps) {
        char *end;
        long v = strtol(ps, &end, 10);
        if (!*ps || *end || v <= 0)
            return err(out, 422, 40010001, "invalid page_size");
        size = date || v < 100 ? v : 100;
    }
    long start = asc ? 0 : (long)S.nfills - 1;
    if (tok) {
        int at = fill_find(tok);
        if (at < 0)
            return err(out, 422, 40010001, "invalid page_token");
        start = asc ? at + 1 : at - 1;
    }
    int64_t day = date ? (t_date >= 0 ? t_date / US_PER_DAY : -1 - (-t_date - 1) / US_PER_DAY) : 0;
    sb_puts(out, "[");
    long n = 0;
    for (long i = start; fills && n < size && i >= 0 && i < (long)S.nfills; i += asc ? 1 : -1) {
        const fill_t *f = &S.fills[i];
        if (date && f->t / US_PER_DAY != day)
            continue;
        if ((after && f->t <= t_after) || (until && f->t >= t_until))
            continue;
        if (n++)
            sb_puts(out, ",");
        fill_json(out, f);
    }
    sb_puts(out, "]");
    return 200;
}

/* ---- market data ----------------------------------------------------------------------- */

static int64_t parse_timeframe(const char *tf)
{
    if (!tf)
        return -1;
    char *end;
    long n = strtol(tf, &end, 10);
    if (n <= 0)
        return -1;
    if (!strcmp(end, "Min") || !strcmp(end, "T"))
        return n * 60000000LL;
    if (!strcmp(end, "Hour") || !strcmp(end, "H"))
        return n * 3600000000LL;
    if ((!strcmp(end, "Day") || !strcmp(end, "D")) && n == 1)
        return US_PER_DAY;
    return -1;
}

static void rest_bar(sb_t *b, const bar_t *x)
{
    char t[40];
    time_fmt(x->t, 0, t, sizeof t);
    sb_printf(b, "{\"t\":\"%s\",\"o\":", t);
    sb_fxnum(b, x->o);
    sb_puts(b, ",\"h\":"), sb_fxnum(b, x->h);
    sb_puts(b, ",\"l\":"), sb_fxnum(b, x->l);
    sb_puts(b, ",\"c\":"), sb_fxnum(b, x->c);
    sb_puts(b, ",\"v\":"), sb_fxnum(b, x->v);
    sb_printf(b, ",\"n\":%lld,\"vw\":", (long long)x->n);
    sb_fxnum(b, x->vw);
    sb_puts(b, "}");
}

/* Aggregate bars[i..] sharing the bucket of bars[i] (width tf); returns the next index. */
static size_t aggregate(const sym_t *s, size_t i, int64_t tf, bar_t *out)
{
    int64_t bucket = s->bars[i].t / tf;
    *out = s->bars[i];
    out->t = bucket * tf;
    __int128 pv = (__int128)s->bars[i].vw * s->bars[i].v;
    size_t j = i + 1;
    for (; j < s->nbars && s->bars[j].t / tf == bucket; j++) {
        const bar_t *x = &s->bars[j];
        if (x->h > out->h)
            out->h = x->h;
        if (x->l < out->l)
            out->l = x->l;
        out->c = x->c;
        out->v += x->v;
        out->n += x->n;
        pv += (__int128)x->vw * x->v;
    }
    out->vw = out->v ? (fx_t)(pv / out->v) : out->c;
    return j;
}

static int bars(const req_t *r, sb_t *out, const char *single)
{
    const char *syms = single ? single : req_arg(r, "symbols");
    if (!syms || !*syms)
        return err(out, 400, 40010001, "symbols is required");
    int64_t tf = parse_timeframe(req_arg(r, "timeframe"));
    if (tf < 0)
        return err(out, 400, 40010001, "invalid timeframe");
    int64_t start = INT64_MIN, end = INT64_MAX;
    const char *a = req_arg(r, "start"), *e = req_arg(r, "end"), *lim = req_arg(r, "limit");
    const char *tok = req_arg(r, "page_token"), *sort = req_arg(r, "sort");
    if ((a && time_parse(a, &start)) || (e && time_parse(e, &end)))
        return err(out, 400, 40010001, "invalid start or end");
    long limit = lim ? atol(lim) : 1000, skip = tok ? atol(tok) : 0;
    if (limit <= 0 || limit > 10000)
        return err(out, 400, 40010001, "invalid limit");
    int desc = sort && !strcmp(sort, "desc");
    char sbuf[2048], *sl[200];
    snprintf(sbuf, sizeof sbuf, "%s", syms);
    int ns = split(sbuf, sl, 200);
    qsort(sl, (size_t)ns, sizeof *sl, cmp_str);
    long seen = 0, emitted = 0;
    int more = 0;
    sb_puts(out, single ? "{\"bars\":[" : "{\"bars\":{");
    int nsym = 0;
    for (int k = 0; k < ns && !more; k++) {
        const sym_t *s = sym_get(sl[k], 0);
        if (!s)
            continue;
        /* the buckets of this symbol, in order */
        bar_t *agg = malloc((s->nbars + 1) * sizeof *agg);
        size_t na = 0;
        for (size_t i = 0; i < s->nbars;) {
            bar_t x;
            i = aggregate(s, i, tf, &x);
            if (x.t >= start && x.t <= end)
                agg[na++] = x;
        }
        int opened = 0;
        for (size_t q = 0; q < na; q++) {
            const bar_t *x = &agg[desc ? na - 1 - q : q];
            if (seen++ < skip)
                continue;
            if (emitted == limit) {
                more = 1;
                break;
            }
            if (!opened && !single) {
                sb_printf(out, "%s", nsym++ ? "," : "");
                sb_jstr(out, s->symbol);
                sb_puts(out, ":[");
            }
            if (opened)
                sb_puts(out, ",");
            opened = 1;
            rest_bar(out, x);
            emitted++;
        }
        if (opened && !single)
            sb_puts(out, "]");
        free(agg);
    }
    sb_puts(out, single ? "]" : "}");
    if (single)
        sb_puts(out, ",\"symbol\":"), sb_jstr(out, single);
    if (more)
        sb_printf(out, ",\"next_page_token\":\"%ld\"}", seen - 1);
    else
        sb_puts(out, ",\"next_page_token\":null}");
    return 200;
}

/* Crypto quotes and trades have no exchanges, conditions or tape (trades name the taker's
 * side instead), as on the stream. */
static void quote_json(sb_t *b, const sym_t *s)
{
    int stock = !is_crypto(s->symbol);
    fx_t bp = s->has_quote ? s->bp : s->last, ap = s->has_quote ? s->ap : s->last;
    sb_puts(b, "{\"t\":"), sb_time(b, s->has_quote ? s->qt : s->last_t);
    sb_puts(b, stock ? ",\"ax\":\"V\",\"ap\":" : ",\"ap\":"), sb_fxnum(b, ap);
    sb_puts(b, ",\"as\":"), sb_fxnum(b, s->has_quote ? s->as : FX_ONE);
    sb_puts(b, stock ? ",\"bx\":\"V\",\"bp\":" : ",\"bp\":"), sb_fxnum(b, bp);
    sb_puts(b, ",\"bs\":"), sb_fxnum(b, s->has_quote ? s->bs : FX_ONE);
    sb_puts(b, stock ? ",\"c\":[\"R\"],\"z\":\"C\"}" : "}");
}

static void trade_json(sb_t *b, const sym_t *s)
{
    int stock = !is_crypto(s->symbol);
    fx_t p = s->has_last ? s->last : (s->bp + s->ap) / 2;
    sb_puts(b, "{\"t\":"), sb_time(b, s->has_last ? s->last_t : s->qt);
    sb_puts(b, stock ? ",\"x\":\"V\",\"p\":" : ",\"p\":"), sb_fxnum(b, p);
    sb_puts(b, ",\"s\":"), sb_fxnum(b, s->last_s ? s->last_s : 100 * FX_ONE);
    sb_puts(b, stock ? ",\"c\":[\"@\"],\"i\":1,\"z\":\"C\"}" : ",\"i\":1,\"tks\":\"B\"}");
}

/* Daily bar of the day holding bars[i] (by UTC date); sets *first to that day's first index. */
static int daily(const sym_t *s, size_t last, bar_t *out, size_t *first)
{
    int64_t day = s->bars[last].t / US_PER_DAY;
    size_t i = last;
    while (i > 0 && s->bars[i - 1].t / US_PER_DAY == day)
        i--;
    *first = i;
    aggregate(s, i, US_PER_DAY, out);
    return 1;
}

/* kind: 'b' latest bars, 'q' quotes, 't' trades, 's' snapshots ('S': crypto's, wrapped in
 * "snapshots"). */
static int latest(const req_t *r, sb_t *out, char kind)
{
    const char *syms = req_arg(r, "symbols");
    if (!syms || !*syms)
        return err(out, 400, 40010001, "symbols is required");
    char sbuf[2048], *sl[200];
    snprintf(sbuf, sizeof sbuf, "%s", syms);
    int ns = split(sbuf, sl, 200), n = 0;
    sb_puts(out, kind == 'q'   ? "{\"quotes\":{"
                 : kind == 't' ? "{\"trades\":{"
                 : kind == 'b' ? "{\"bars\":{"
                 : kind == 'S' ? "{\"snapshots\":{"
                               : "{");
    for (int k = 0; k < ns; k++) {
        const sym_t *s = sym_get(sl[k], 0);
        if (!s || (kind == 'b' && !s->nbars) || (!s->has_quote && !s->has_last && kind != 'b'))
            continue;
        if (n++)
            sb_puts(out, ",");
        sb_jstr(out, s->symbol);
        sb_puts(out, ":");
        if (kind == 'q') {
            quote_json(out, s);
        } else if (kind == 't') {
            trade_json(out, s);
        } else if (kind == 'b') {
            rest_bar(out, &s->bars[s->nbars - 1]);
        } else {
            sb_puts(out, "{\"latestTrade\":");
            trade_json(out, s);
            sb_puts(out, ",\"latestQuote\":");
            quote_json(out, s);
            sb_puts(out, ",\"minuteBar\":");
            if (s->nbars) {
                bar_t d, p;
                size_t first, pf;
                rest_bar(out, &s->bars[s->nbars - 1]);
                daily(s, s->nbars - 1, &d, &first);
                sb_puts(out, ",\"dailyBar\":");
                rest_bar(out, &d);
                sb_puts(out, ",\"prevDailyBar\":");
                if (first > 0) {
                    daily(s, first - 1, &p, &pf);
                    rest_bar(out, &p);
                } else {
                    sb_puts(out, "null");
                }
            } else {
                sb_puts(out, "null,\"dailyBar\":null,\"prevDailyBar\":null");
            }
            sb_puts(out, "}");
        }
    }
    sb_puts(out, kind == 's' ? "}" : "}}");
    return 200;
}

/* The market data paths of both kinds: stocks (v2) and crypto (v1beta3, location us) share
 * the handlers; only paths and a few shapes differ. kind: 'B' bars, else latest()'s. */
static const struct {
    const char *path;
    char kind;
} DATA_ROUTES[] = {
    {"/v2/stocks/bars", 'B'},
    {"/v2/stocks/bars/latest", 'b'},
    {"/v2/stocks/quotes/latest", 'q'},
    {"/v2/stocks/trades/latest", 't'},
    {"/v2/stocks/snapshots", 's'},
    {"/v1beta3/crypto/us/bars", 'B'},
    {"/v1beta3/crypto/us/latest/bars", 'b'},
    {"/v1beta3/crypto/us/latest/quotes", 'q'},
    {"/v1beta3/crypto/us/latest/trades", 't'},
    {"/v1beta3/crypto/us/snapshots", 'S'},
};

/* 0 when r is not one of DATA_ROUTES. */
static int data_route(const req_t *r, sb_t *out)
{
    for (size_t i = 0; i < sizeof DATA_ROUTES / sizeof *DATA_ROUTES; i++)
        if (is(r, "GET", DATA_ROUTES[i].path))
            return DATA_ROUTES[i].kind == 'B' ? bars(r, out, NULL)
                                              : latest(r, out, DATA_ROUTES[i].kind);
    return 0;
}

void news_json(sb_t *out, const news_t *x, int stream)
{
    sb_printf(out, "{%s\"id\":%lld,\"headline\":", stream ? "\"T\":\"n\"," : "", (long long)x->id);
    sb_jstr(out, x->headline);
    sb_puts(out, ",\"author\":"), sb_jstr(out, x->author);
    sb_puts(out, ",\"created_at\":"), sb_time(out, x->created);
    sb_puts(out, ",\"updated_at\":"), sb_time(out, x->created);
    sb_puts(out, ",\"summary\":"), sb_jstr(out, x->summary);
    sb_puts(out, ",\"content\":"), sb_jstr(out, x->content);
    sb_puts(out, ",\"url\":"), sb_jstr(out, x->url);
    sb_puts(out, stream ? ",\"symbols\":[" : ",\"images\":[],\"symbols\":[");
    char tmp[1024], *its[64];
    snprintf(tmp, sizeof tmp, "%s", x->symbols);
    int ni = split(tmp, its, 64);
    for (int i = 0; i < ni; i++) {
        if (i)
            sb_puts(out, ",");
        sb_jstr(out, its[i]);
    }
    sb_puts(out, "],\"source\":"), sb_jstr(out, x->source);
    sb_puts(out, "}");
}

static int news(const req_t *r, sb_t *out)
{
    const char *syms = req_arg(r, "symbols"), *lim = req_arg(r, "limit");
    const char *a = req_arg(r, "start"), *e = req_arg(r, "end"), *sort = req_arg(r, "sort");
    int64_t start = INT64_MIN, end = INT64_MAX;
    if ((a && time_parse(a, &start)) || (e && time_parse(e, &end)))
        return err(out, 400, 40010001, "invalid start or end");
    long limit = lim ? atol(lim) : 10;
    if (limit <= 0 || limit > 50)
        return err(out, 400, 40010001, "invalid limit");
    char sbuf[2048], *sl[200];
    int ns = 0;
    if (syms) {
        snprintf(sbuf, sizeof sbuf, "%s", syms);
        ns = split(sbuf, sl, 200);
    }
    int asc = sort && !strcmp(sort, "asc");
    sb_puts(out, "{\"news\":[");
    long n = 0;
    for (size_t k = 0; k < S.nnews && n < limit; k++) {
        const news_t *x = &S.news[asc ? k : S.nnews - 1 - k];
        if (x->created < start || x->created > end)
            continue;
        if (ns) {
            int hit = 0;
            char tmp[1024], *its[64];
            snprintf(tmp, sizeof tmp, "%s", x->symbols);
            int ni = split(tmp, its, 64);
            for (int i = 0; i < ni; i++)
                for (int j = 0; j < ns; j++)
                    hit |= !strcmp(its[i], sl[j]);
            if (!hit)
                continue;
        }
        if (n++)
            sb_puts(out, ",");
        news_json(out, x, 0);
    }
    sb_puts(out, "],\"next_page_token\":null}");
    return 200;
}

static struct {
    char symbol[32];
    asset_kind kind;
} assets[32];
static size_t nassets;

int asset_set(const char *symbol, asset_kind kind)
{
    size_t i = 0;
    while (i < nassets && strcmp(assets[i].symbol, symbol) != 0)
        i++;
    if (i == sizeof assets / sizeof *assets)
        return -1;
    nassets += i == nassets;
    snprintf(assets[i].symbol, sizeof assets[i].symbol, "%s", symbol);
    assets[i].kind = kind;
    return 0;
}

void assets_reset(void)
{
    nassets = 0;
}

static asset_kind asset_kind_of(const char *symbol)
{
    for (size_t i = 0; i < nassets; i++)
        if (!strcmp(assets[i].symbol, symbol))
            return assets[i].kind;
    return ASSET_TRADABLE;
}

static void asset_json(sb_t *b, const char *symbol)
{
    char id[37];
    uint64_t h = 1469598103934665603ULL;
    for (const char *c = symbol; *c; c++)
        h = (h ^ (unsigned char)*c) * 1099511628211ULL;
    uuid_make(h, 0, id);
    sb_puts(b, "{\"id\":"), sb_jstr(b, id);
    sb_puts(b, ",\"class\":\"us_equity\",\"exchange\":\"NASDAQ\",\"symbol\":"), sb_jstr(b, symbol);
    sb_puts(b, ",\"name\":"), sb_jstr(b, symbol);
    sb_printf(b,
              ",\"status\":\"active\",\"tradable\":%s,\"marginable\":true,\"shortable\":true,"
              "\"easy_to_borrow\":true,\"fractionable\":true,\"attributes\":[]}",
              asset_kind_of(symbol) == ASSET_UNTRADABLE ? "false" : "true");
}

/* ---- routing --------------------------------------------------------------------------- */

static int orders_route(const req_t *r, sb_t *out)
{
    const char *id;
    if (is(r, "POST", "/v2/orders")) {
        json_t *j = body_json(r);
        if (!j)
            return err(out, 400, 40010000, "request body format is invalid");
        int st = order_submit(j, out);
        json_decref(j);
        return st;
    }
    if (is(r, "GET", "/v2/orders"))
        return list_orders(r, out);
    if (is(r, "DELETE", "/v2/orders"))
        return cancel_all(out);
    if (is(r, "GET", "/v2/orders:by_client_order_id")) {
        const char *c = req_arg(r, "client_order_id");
        int i = c ? order_find_coid(c) : -1;
        if (i < 0)
            return err(out, 404, 40410000, "order not found");
        order_json(out, i, 1);
        return 200;
    }
    if ((id = tail(r, "GET", "/v2/orders/"))) {
        int i = order_find(id);
        if (i < 0)
            return err(out, 404, 40410000, "order not found");
        order_json(out, i, 1);
        return 200;
    }
    if ((id = tail(r, "DELETE", "/v2/orders/"))) {
        int i = order_find(id);
        if (i < 0)
            return err(out, 404, 40410000, "order not found");
        if (order_cancel(i))
            return err(out, 422, 42210000, "order is not cancelable");
        return 204;
    }
    if ((id = tail(r, "PATCH", "/v2/orders/"))) {
        int i = order_find(id);
        if (i < 0)
            return err(out, 404, 40410000, "order not found");
        json_t *j = body_json(r);
        if (!j)
            return err(out, 400, 40010000, "request body format is invalid");
        int st = order_replace(i, j, out);
        json_decref(j);
        return st;
    }
    return 0;
}

int api_handle(const req_t *r, sb_t *out)
{
    if (!r->key || !r->secret)
        return err(out, 403, 0, "forbidden.");
    if (strcmp(r->key, S.key) || strcmp(r->secret, S.secret))
        return err(out, 401, 40110000, "request is not authorized");
    const char *x;
    int st = orders_route(r, out);
    if (st)
        return st;
    if (is(r, "GET", "/v2/account/activities"))
        return activities(r, out, NULL);
    if ((x = tail(r, "GET", "/v2/account/activities/")))
        return activities(r, out, x);
    if (is(r, "GET", "/v2/account")) {
        account_json(out);
        return 200;
    }
    if (is(r, "GET", "/v2/clock")) {
        clock_json(out);
        return 200;
    }
    if (is(r, "GET", "/v2/calendar"))
        return calendar(r, out);
    if ((x = tail(r, "GET", "/v2/assets/"))) {
        if (asset_kind_of(x) == ASSET_UNKNOWN)
            return err(out, 404, 40410000, "asset not found");
        asset_json(out, x);
        return 200;
    }
    if (is(r, "GET", "/v2/positions")) {
        sb_puts(out, "[");
        int n = 0;
        for (size_t i = 0; i < S.npos; i++) {
            if (!S.pos[i].qty)
                continue;
            if (n++)
                sb_puts(out, ",");
            position_json(out, &S.pos[i]);
        }
        sb_puts(out, "]");
        return 200;
    }
    if (is(r, "DELETE", "/v2/positions"))
        return close_all(r, out);
    if ((x = tail(r, "GET", "/v2/positions/"))) {
        position_t *p = position_get(position_symbol(x));
        if (!p)
            return err(out, 404, 40410000, "position does not exist");
        position_json(out, p);
        return 200;
    }
    if ((x = tail(r, "DELETE", "/v2/positions/"))) {
        fx_t qty = 0;
        const char *q = req_arg(r, "qty");
        if (q && fx_parse(q, &qty))
            return err(out, 422, 40010001, "invalid qty");
        return position_close(position_symbol(x), qty, truthy(req_arg(r, "cancel_orders")), out);
    }
    if ((st = data_route(r, out)))
        return st;
    if (!strcmp(r->method, "GET") && !strncmp(r->path, "/v2/stocks/", 11)) {
        char sym[32];
        const char *p = r->path + 11, *slash = strchr(p, '/');
        if (slash && !strcmp(slash, "/bars") && (size_t)(slash - p) < sizeof sym) {
            memcpy(sym, p, (size_t)(slash - p));
            sym[slash - p] = 0;
            return bars(r, out, sym);
        }
    }
    if (is(r, "GET", "/v1beta1/news"))
        return news(r, out);
    return err(out, 404, 0, "Not Found");
}
