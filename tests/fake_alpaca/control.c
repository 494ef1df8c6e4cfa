/* fake-alpaca: the control API under /_control/ (tests drive the simulation through it;
 * tests/fake_alpaca/README.md lists the endpoints). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "state.h"

static int cerr(sb_t *out, int status, const char *msg)
{
    out->len = 0;
    sb_puts(out, "{\"error\":");
    sb_jstr(out, msg);
    sb_puts(out, "}");
    return status;
}

static const char *js(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* 1 found, 0 absent, -1 malformed */
static int jf(json_t *o, const char *k, fx_t *out)
{
    json_t *v = json_object_get(o, k);
    if (!v || json_is_null(v))
        return 0;
    if (json_is_string(v))
        return fx_parse(json_string_value(v), out) ? -1 : 1;
    if (json_is_integer(v)) {
        *out = (fx_t)json_integer_value(v) * FX_ONE;
        return 1;
    }
    if (json_is_real(v)) {
        char t[64];
        snprintf(t, sizeof t, "%.8f", json_real_value(v));
        return fx_parse(t, out) ? -1 : 1;
    }
    return -1;
}

/* A size (fractional for crypto), or dflt when absent or malformed. */
static fx_t jf_or(json_t *o, const char *k, fx_t dflt)
{
    fx_t v;
    return jf(o, k, &v) == 1 ? v : dflt;
}

static long long ji(json_t *o, const char *k, long long dflt)
{
    json_t *v = json_object_get(o, k);
    if (json_is_integer(v))
        return json_integer_value(v);
    if (json_is_real(v))
        return (long long)json_real_value(v);
    return dflt;
}

/* "t": RFC 3339; absent -> dflt. -1 on junk. */
static int jt(json_t *o, const char *k, int64_t dflt, int64_t *out)
{
    const char *s = js(o, k);
    *out = dflt;
    return s && time_parse(s, out) ? -1 : 0;
}

static const char *jsym(json_t *o)
{
    const char *s = js(o, "symbol");
    return s ? s : js(o, "S");
}

static int parse_bar(json_t *o, const char *symbol, bar_t *b)
{
    memset(b, 0, sizeof *b);
    if (jf(o, "c", &b->c) != 1 && jf(o, "close", &b->c) != 1)
        return -1;
    if (jf(o, "o", &b->o) != 1 && jf(o, "open", &b->o) != 1)
        b->o = b->c;
    if (jf(o, "h", &b->h) != 1 && jf(o, "high", &b->h) != 1)
        b->h = b->o > b->c ? b->o : b->c;
    if (jf(o, "l", &b->l) != 1 && jf(o, "low", &b->l) != 1)
        b->l = b->o < b->c ? b->o : b->c;
    if (jf(o, "vw", &b->vw) != 1)
        b->vw = b->c;
    if (jf(o, "v", &b->v) != 1 && jf(o, "volume", &b->v) != 1)
        b->v = 1000 * FX_ONE;
    b->n = ji(o, "n", 10);
    /* default time: the minute after the symbol's last bar, else the current minute */
    const sym_t *s = sym_get(symbol, 0);
    int64_t dflt =
        s && s->nbars ? s->bars[s->nbars - 1].t + 60000000LL : S.now_us / 60000000LL * 60000000LL;
    return jt(o, "t", dflt, &b->t);
}

static int find_order(json_t *j, sb_t *out, int *idx)
{
    const char *id = js(j, "id"), *coid = js(j, "client_order_id");
    int i = id ? order_find(id) : coid ? order_find_coid(coid) : -1;
    if (i < 0)
        return cerr(out, 404, "order not found (give id or client_order_id)");
    const char *leg = js(j, "leg");
    if (leg) {
        const order_t *o = &S.orders[i];
        int want = !strcmp(leg, "take_profit") ? 0 : !strcmp(leg, "stop_loss") ? 1 : -1;
        if (want < 0 || o->nlegs <= want)
            return cerr(out, 404, "no such leg (take_profit or stop_loss of a bracket)");
        i = o->legs[want];
    }
    *idx = i;
    return 0;
}

static int settings(json_t *j, sb_t *out)
{
    json_t *v;
    if ((v = json_object_get(j, "auto_fill")))
        S.auto_fill = json_is_true(v);
    const char *s;
    if ((s = js(j, "fill"))) {
        if (strcmp(s, "immediate") && strcmp(s, "next_price"))
            return cerr(out, 400, "fill: immediate or next_price");
        S.fill_immediate = !strcmp(s, "immediate");
    }
    if ((s = js(j, "market"))) {
        if (strcmp(s, "open") && strcmp(s, "closed") && strcmp(s, "auto"))
            return cerr(out, 400, "market: open, closed or auto");
        S.market = !strcmp(s, "open") ? 0 : !strcmp(s, "closed") ? 1 : 2;
    }
    fx_t cash;
    if (jf(j, "cash", &cash) == 1)
        S.cash = cash;
    sb_printf(out, "{\"auto_fill\":%s,\"fill\":\"%s\",\"market\":\"%s\",\"cash\":",
              S.auto_fill ? "true" : "false", S.fill_immediate ? "immediate" : "next_price",
              S.market == 0   ? "open"
              : S.market == 1 ? "closed"
                              : "auto");
    sb_fxstr(out, S.cash);
    sb_puts(out, "}");
    return 200;
}

static char *dup_or(const char *s, const char *dflt)
{
    return strdup(s ? s : dflt);
}

static int add_news(json_t *j, sb_t *out)
{
    const char *h = js(j, "headline");
    if (!h)
        return cerr(out, 400, "headline is required");
    int64_t t;
    if (jt(j, "created_at", S.now_us, &t))
        return cerr(out, 400, "bad created_at");
    sb_t syms = {0};
    json_t *a = json_object_get(j, "symbols");
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        if (json_is_string(v))
            sb_printf(&syms, "%s%s", syms.len ? "," : "", json_string_value(v));
    }
    if (S.nnews == S.ncap) {
        S.ncap = S.ncap ? S.ncap * 2 : 16;
        S.news = realloc(S.news, S.ncap * sizeof *S.news);
        if (!S.news)
            abort();
    }
    news_t *n = &S.news[S.nnews++];
    n->id = (int64_t)S.nnews;
    n->created = t;
    n->headline = strdup(h);
    n->summary = dup_or(js(j, "summary"), "");
    n->author = dup_or(js(j, "author"), "fake-alpaca");
    n->source = dup_or(js(j, "source"), "benzinga");
    n->url = dup_or(js(j, "url"), "");
    n->content = dup_or(js(j, "content"), "");
    n->symbols = strdup(syms.p ? syms.p : "");
    sb_free(&syms);
    if (S.emit_news) {
        sb_t b = {0};
        sb_puts(&b, "[");
        news_json(&b, n, 1);
        sb_puts(&b, "]");
        S.emit_news(n->symbols, b.p, b.len);
        sb_free(&b);
    }
    sb_printf(out, "{\"id\":%lld}", (long long)n->id);
    return 200;
}

int control_handle(const req_t *r, sb_t *out)
{
    const char *p = r->path + strlen("/_control");
    if (!strcmp(r->method, "GET")) {
        if (!strcmp(p, "/counters")) {
            counters_json(out);
            return 200;
        }
        if (!strcmp(p, "/faults")) {
            faults_json(out);
            return 200;
        }
        return cerr(out, 404, "unknown control endpoint");
    }
    if (!strcmp(r->method, "DELETE") && !strcmp(p, "/faults")) {
        faults_clear();
        sb_puts(out, "{}");
        return 200;
    }
    if (strcmp(r->method, "POST"))
        return cerr(out, 405, "control endpoints take POST (GET for counters and faults)");
    json_t *j = r->body_len ? json_loadb(r->body, r->body_len, 0, NULL) : json_object();
    if (!json_is_object(j)) {
        json_decref(j);
        return cerr(out, 400, "body must be a JSON object");
    }
    int st = 200;
    const char *sym = jsym(j);
    if (!strcmp(p, "/bar")) {
        bar_t b;
        if (!sym)
            st = cerr(out, 400, "symbol is required");
        else if (parse_bar(j, sym, &b))
            st = cerr(out, 400, "bar needs c (and o, h, l, v, t optional)");
        else {
            md_push_bar(sym, &b, 1);
            sb_puts(out, "{}");
        }
    } else if (!strcmp(p, "/bars")) {
        json_t *all = json_object_get(j, "bars");
        const char *k;
        json_t *arr;
        int n = 0;
        json_object_foreach(all, k, arr)
        {
            size_t i;
            json_t *v;
            json_array_foreach(arr, i, v)
            {
                bar_t b;
                if (parse_bar(v, k, &b) == 0)
                    md_push_bar(k, &b, 0), n++;
            }
        }
        sb_printf(out, "{\"loaded\":%d}", n);
    } else if (!strcmp(p, "/quote")) {
        fx_t bp, ap;
        int64_t t;
        if (!sym || jf(j, "bp", &bp) != 1 || jf(j, "ap", &ap) != 1 || jt(j, "t", S.now_us, &t))
            st = cerr(out, 400, "quote needs symbol, bp, ap (bs, as, t optional)");
        else {
            md_push_quote(sym, t, bp, ap, jf_or(j, "bs", FX_ONE), jf_or(j, "as", FX_ONE));
            sb_puts(out, "{}");
        }
    } else if (!strcmp(p, "/trade")) {
        fx_t px;
        int64_t t;
        if (!sym || (jf(j, "p", &px) != 1 && jf(j, "price", &px) != 1) || jt(j, "t", S.now_us, &t))
            st = cerr(out, 400, "trade needs symbol, p (s, t optional)");
        else {
            md_push_trade(sym, t, px, jf_or(j, "s", 100 * FX_ONE));
            sb_puts(out, "{}");
        }
    } else if (!strcmp(p, "/fill")) {
        int i;
        fx_t qty = 0, px = 0;
        if (!(st = find_order(j, out, &i))) {
            jf(j, "qty", &qty);
            jf(j, "price", &px);
            if (sim_fill(i, qty, px) < 0)
                st = cerr(out, 409, "order not open, or no price to fill at (give price)");
            else {
                order_json(out, i, 1);
                st = 200;
            }
        }
    } else if (!strcmp(p, "/cancel")) {
        int i;
        const char *how = js(j, "status");
        int status = !how || !strcmp(how, "canceled") ? ST_CANCELED
                     : !strcmp(how, "expired")        ? ST_EXPIRED
                     : !strcmp(how, "rejected")       ? ST_REJECTED
                                                      : -1;
        if (status < 0)
            st = cerr(out, 400, "status: canceled, expired or rejected");
        else if (!(st = find_order(j, out, &i))) {
            sim_broker_cancel(i, status);
            order_json(out, i, 1);
            st = 200;
        }
    } else if (!strcmp(p, "/close_position")) {
        fx_t px = 0;
        jf(j, "price", &px);
        int i = sym ? sim_close_by_hand(sym, px) : -1;
        if (i < 0)
            st = cerr(out, 404, "no position, or no price to close at (give price)");
        else
            order_json(out, i, 1);
    } else if (!strcmp(p, "/settings")) {
        st = settings(j, out);
    } else if (!strcmp(p, "/clock")) {
        int64_t t;
        if (jt(j, "time", S.now_us, &t) || !js(j, "time"))
            st = cerr(out, 400, "clock needs time (RFC 3339)");
        else {
            state_advance(t);
            sb_puts(out, "{\"now\":"), sb_time(out, S.now_us), sb_puts(out, "}");
        }
    } else if (!strcmp(p, "/asset")) {
        const char *kind = js(j, "kind");
        asset_kind k = !kind                         ? (asset_kind)-1
                       : !strcmp(kind, "tradable")   ? ASSET_TRADABLE
                       : !strcmp(kind, "untradable") ? ASSET_UNTRADABLE
                       : !strcmp(kind, "unknown")    ? ASSET_UNKNOWN
                                                     : (asset_kind)-1;
        if (!sym || (int)k < 0 || asset_set(sym, k) != 0)
            st = cerr(out, 400, "asset needs symbol and kind: tradable, untradable or unknown");
        else
            sb_printf(out, "{\"symbol\":\"%s\"}", sym);
    } else if (!strcmp(p, "/calendar")) {
        /* One day's session in GET /v2/calendar: an early close, or a holiday. */
        const char *date = js(j, "date"), *open = js(j, "open"), *close = js(j, "close");
        json_t *cl = json_object_get(j, "closed");
        int64_t t;
        if (!date || strlen(date) != 10 || time_parse(date, &t) || (open && strlen(open) != 5) ||
            (close && strlen(close) != 5))
            st = cerr(out, 400, "calendar needs date (YYYY-MM-DD); open, close (HH:MM) or closed");
        else {
            int64_t day = t / US_PER_DAY;
            size_t i = 0;
            while (i < S.ncal && S.cal[i].day != day)
                i++;
            if (i == sizeof S.cal / sizeof *S.cal)
                st = cerr(out, 400, "calendar: at most 32 days");
            else {
                S.ncal += i == S.ncal;
                S.cal[i].day = day;
                S.cal[i].closed = cl && json_is_true(cl);
                snprintf(S.cal[i].open, sizeof S.cal[i].open, "%s", open ? open : "09:30");
                snprintf(S.cal[i].close, sizeof S.cal[i].close, "%s", close ? close : "16:00");
                sb_printf(out, "{\"date\":\"%s\"}", date);
            }
        }
    } else if (!strcmp(p, "/news")) {
        st = add_news(j, out);
    } else if (!strcmp(p, "/fault")) {
        const char *kind = js(j, "kind");
        json_t *pr = json_object_get(j, "process");
        int process = pr ? json_is_true(pr) : -1;
        if (!kind || fault_add(kind, js(j, "method"), js(j, "path"), (int)ji(j, "count", 1),
                               (int)ji(j, "retry_after", 1), process))
            st = cerr(out, 400,
                      "kind: 500, hang, 429, malformed, truncated, reset, drop_response, ws_drop");
        else
            faults_json(out);
    } else if (!strcmp(p, "/ws_drop")) {
        const char *path = js(j, "path");
        sb_printf(out, "{\"dropped\":%d}", ws_drop(path ? path : ""));
    } else if (!strcmp(p, "/reset")) {
        state_reset();
        assets_reset();
        faults_clear();
        counters_reset();
        sb_puts(out, "{}");
    } else {
        st = cerr(out, 404, "unknown control endpoint");
    }
    json_decref(j);
    return st;
}
