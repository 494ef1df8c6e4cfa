/* heat: the account's book of open risk, and the heat limit. */
#include "risk/heat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "risk/correlation.h"
#include "util/vec.h"

typedef struct {
    money_t heat;
    const void *holder; /* the execution that holds or is entering the symbol, or NULL */
    int open_index;     /* in open_ids while heat > 0; -1 otherwise */
    risk_series series;
} book_symbol;

struct risk_book {
    const void *account;
    int users;
    int window;
    money_t heat;
    VEC(book_symbol) syms; /* by symbol id */
    VEC(int) open_ids;     /* symbols with heat > 0 */
    struct risk_book *next;
};

/* The process's books: a handful (one per account), so a list. */
static risk_book *books;

risk_book *risk_book_acquire(const void *account, int window)
{
    risk_book *b = books;
    while (b && b->account != account)
        b = b->next;
    if (!b) {
        if (!(b = calloc(1, sizeof *b)))
            return NULL;
        b->account = account;
        b->next = books;
        books = b;
    }
    if (window > b->window)
        b->window = window;
    b->users++;
    return b;
}

void risk_book_release(risk_book *b)
{
    if (!b || --b->users > 0)
        return;
    for (risk_book **pp = &books; *pp; pp = &(*pp)->next)
        if (*pp == b) {
            *pp = b->next;
            break;
        }
    for (int i = 0; i < b->syms.count; i++)
        risk_series_free(&b->syms.items[i].series);
    free(b->syms.items);
    free(b->open_ids.items);
    free(b);
}

static book_symbol *book_sym(risk_book *b, int id)
{
    if (id < 0)
        return NULL;
    int had = b->syms.count;
    if (vec_extend_zeroed(&b->syms, id + 1) != 0)
        return NULL;
    for (int i = had; i < b->syms.count; i++)
        b->syms.items[i].open_index = -1;
    return &b->syms.items[id];
}

money_t risk_book_heat(const risk_book *b)
{
    return b->heat;
}

money_t risk_book_symbol_heat(const risk_book *b, int symbol_id)
{
    return symbol_id >= 0 && symbol_id < b->syms.count ? b->syms.items[symbol_id].heat : 0;
}

const int *risk_book_open_symbols(const risk_book *b, int *n)
{
    *n = b->open_ids.count;
    return b->open_ids.items;
}

void risk_book_move(risk_book *b, int symbol_id, money_t *held, money_t now)
{
    if (now < 0)
        now = 0;
    if (now == *held)
        return;
    book_symbol *s = book_sym(b, symbol_id);
    if (!s)
        return; /* out of memory: the contribution stays where it was */
    b->heat += now - *held;
    s->heat += now - *held;
    *held = now;
    if (s->heat > 0 && s->open_index < 0) {
        if (vec_push(&b->open_ids, symbol_id) == 0)
            s->open_index = b->open_ids.count - 1;
    } else if (s->heat <= 0 && s->open_index >= 0) {
        int last = b->open_ids.items[b->open_ids.count - 1];
        b->open_ids.items[s->open_index] = last;
        b->syms.items[last].open_index = s->open_index;
        b->open_ids.count--;
        s->open_index = -1;
    }
}

void risk_book_on_bar(risk_book *b, int symbol_id, apex_time ts, money_t close)
{
    book_symbol *s = book_sym(b, symbol_id);
    if (!s || b->window <= 0)
        return;
    if (!s->series.cap && risk_series_init(&s->series, b->window) != 0)
        return;
    risk_series_add(&s->series, ts, close);
}

const risk_series *risk_book_series(const risk_book *b, int symbol_id)
{
    if (symbol_id < 0 || symbol_id >= b->syms.count || !b->syms.items[symbol_id].series.cap)
        return NULL;
    return &b->syms.items[symbol_id].series;
}

int risk_book_window(const risk_book *b)
{
    return b->window;
}

/* |qty| x per_unit, rounded up; 0 on overflow (never a negative risk). */
static money_t times(money_t qty, money_t per_unit)
{
    money_t out = 0;
    if (qty < 0)
        qty = -qty;
    if (qty == 0 || per_unit <= 0 || money_mul(qty, per_unit, MONEY_ROUND_UP, &out) < 0)
        return 0;
    return out;
}

money_t risk_position_risk(money_t qty, money_t entry, money_t stop)
{
    if (entry <= 0 || stop <= 0)
        return 0;
    return times(qty, qty > 0 ? entry - stop : stop - entry);
}

static const char *fmt2(money_t v, char *buf)
{
    return money_format_trim(v, 2, buf, 32);
}

/* Room left under limit = equity x pct, given what is already open. */
static money_t room(money_t equity, money_t pct, money_t open, money_t *limit)
{
    *limit = 0;
    money_mul(equity, pct, MONEY_ROUND_DOWN, limit);
    return *limit - open;
}

void risk_heat_check(const risk_config *cfg, const risk_heat_input *in, risk_heat_decision *out)
{
    memset(out, 0, sizeof *out);
    char a[32], b[32], c[32], d[32], e[32], f[32];
    money_t per_unit = in->entry > in->stop ? in->entry - in->stop : in->stop - in->entry;
    out->qty = in->qty;
    out->risk = times(in->qty, per_unit);
    if (in->equity <= 0) {
        out->qty = out->risk = 0;
        snprintf(out->why, sizeof out->why,
                 "portfolio heat: account equity is %s; nothing to measure heat against",
                 fmt2(in->equity, a));
        return;
    }
    money_t limit, cluster_limit = 0;
    money_t fit = room(in->equity, cfg->max_heat_pct, in->open_heat, &limit);
    bool by_cluster = false;
    if (cfg->max_cluster_heat_pct > 0 && in->cluster_size > 0) {
        money_t cfit =
            room(in->equity, cfg->max_cluster_heat_pct, in->cluster_heat, &cluster_limit);
        if (cfit < fit) {
            fit = cfit;
            by_cluster = true;
        }
    }
    if (out->risk <= fit)
        return;
    /* What the trade would make of the binding limit, for the message. */
    char what[256];
    if (by_cluster)
        snprintf(what, sizeof what,
                 "correlated cluster (%s): open risk %s + this trade %s = %s would exceed "
                 "risk.max_cluster_heat_pct %s%% of equity %s = %s",
                 in->cluster, fmt2(in->cluster_heat, a), fmt2(out->risk, b),
                 fmt2(in->cluster_heat + out->risk, c), fmt2(cfg->max_cluster_heat_pct * 100, d),
                 fmt2(in->equity, e), fmt2(cluster_limit, f));
    else
        snprintf(what, sizeof what,
                 "portfolio heat: open risk %s + this trade %s = %s would exceed "
                 "risk.max_heat_pct %s%% of equity %s = %s",
                 fmt2(in->open_heat, a), fmt2(out->risk, b), fmt2(in->open_heat + out->risk, c),
                 fmt2(cfg->max_heat_pct * 100, d), fmt2(in->equity, e), fmt2(limit, f));
    money_t lot = in->lot > 0 ? in->lot : MONEY_SCALE;
    money_t q = 0;
    if (cfg->heat_shrink && fit > 0 && per_unit > 0 &&
        money_div(fit, per_unit, MONEY_ROUND_DOWN, &q) == 0)
        q = money_round_to(q, lot, MONEY_ROUND_DOWN);
    if (q >= lot) {
        out->qty = q;
        out->risk = times(q, per_unit);
        out->shrunk = true;
        snprintf(out->why, sizeof out->why, "%s; shrunk from %s to %s (risk %s)", what,
                 money_format_trim(in->qty, 0, a, sizeof a), money_format_trim(q, 0, b, sizeof b),
                 fmt2(out->risk, c));
        return;
    }
    out->qty = out->risk = 0;
    snprintf(out->why, sizeof out->why, "%s%s", what,
             cfg->heat_shrink ? "; not one lot fits the room left" : "");
}

void risk_book_cluster(risk_book *b, int candidate, double threshold, int window,
                       const char *(*name)(void *ud, int id), void *ud, money_t *heat, int *n,
                       char *names, size_t len)
{
    *heat = 0;
    *n = 0;
    if (len)
        names[0] = '\0';
    size_t used = 0;
    const risk_series *cs = risk_book_series(b, candidate);
    for (int i = 0; i < b->open_ids.count; i++) {
        int id = b->open_ids.items[i];
        double r = 1.0;
        if (id != candidate) {
            const risk_series *os = risk_book_series(b, id);
            if (!cs || !os || !risk_correlation(cs, os, window, &r) || r <= threshold)
                continue;
        }
        *heat += b->syms.items[id].heat;
        ++*n;
        if (used < len) {
            int w = snprintf(names + used, len - used, "%s%s r=%.2f", used ? ", " : "",
                             name(ud, id), r);
            used += w > 0 ? (size_t)w : 0;
        }
    }
}

bool risk_book_claim(risk_book *b, int symbol_id, const void *owner, const void **holder)
{
    book_symbol *s = book_sym(b, symbol_id);
    if (!s) { /* no memory for the symbol: nothing can be told apart, so nothing is refused */
        *holder = NULL;
        return true;
    }
    if (s->holder && s->holder != owner) {
        *holder = s->holder;
        return false;
    }
    s->holder = owner;
    *holder = owner;
    return true;
}

void risk_book_unclaim(risk_book *b, int symbol_id, const void *owner)
{
    if (symbol_id >= 0 && symbol_id < b->syms.count && b->syms.items[symbol_id].holder == owner)
        b->syms.items[symbol_id].holder = NULL;
}
