/* store_trades: see the header. Off the trading path: statements are prepared per call. */
#include "store/store_trades.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"
#include "store/store_report.h"
#include "util/err.h"

#define TRADES_SQL                                                                                 \
    "SELECT p.position_id, e.id, e.pipeline, p.symbol, p.side, p.initial_quantity, "               \
    "p.entry_price, p.opened_at, p.closed_at, e.realized_pnl, e.fees, "                            \
    "coalesce(p.exit_reason, '') FROM positions p JOIN executions e ON e.id = p.execution_id "     \
    "WHERE p.status = 'closed' AND (?1 IS NULL OR e.pipeline = ?1) "                               \
    "ORDER BY p.closed_at, p.position_id"

static int prepare(store *s, const char *sql, sqlite3_stmt **st, const char *what)
{
    int rc = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);
    return rc == SQLITE_OK ? 0 : store_fail(s, rc, what);
}

/* The average price of the fills that closed the position (sells of a long, buys of a
 * short), weighted by quantity, in fixed point. */
static int exit_price(store *s, sqlite3_stmt *fills, store_trade *t)
{
    sqlite3_bind_int64(fills, 1, t->execution_id);
    sqlite3_bind_text(fills, 2, strcmp(t->side, "long") == 0 ? "sell" : "buy", -1, SQLITE_STATIC);
    money_t value = 0, qty = 0;
    int rc;
    while ((rc = sqlite3_step(fills)) == SQLITE_ROW) {
        money_t q = sqlite3_column_int64(fills, 0), v;
        if (money_mul(q, sqlite3_column_int64(fills, 1), MONEY_ROUND_NEAREST, &v) != 0 ||
            money_add(value, v, &value) != 0 || money_add(qty, q, &qty) != 0) {
            sqlite3_reset(fills);
            return store_failf(s, APEX_ERANGE, "execution %lld: its fills overflow a price",
                               (long long)t->execution_id);
        }
    }
    sqlite3_reset(fills);
    if (rc != SQLITE_DONE)
        return store_fail(s, rc, "reading a trade's fills");
    if (qty > 0)
        money_div(value, qty, MONEY_ROUND_NEAREST, &t->exit_price);
    return 0;
}

int store_trades_list(store *s, const char *pipeline, store_trade **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = NULL, *fills = NULL;
    int result = prepare(s, TRADES_SQL, &st, "reading trades");
    if (!result)
        result = prepare(s, "SELECT qty, price FROM fills WHERE execution_id = ?1 AND side = ?2",
                         &fills, "reading a trade's fills");
    store_rows rows = {.size = sizeof(store_trade)};
    int rc = SQLITE_DONE;
    if (!result) {
        store_bind_text(st, 1, pipeline);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            store_trade *t = store_rows_push(s, &rows);
            if (!t) {
                result = APEX_ENOMEM;
                break;
            }
            t->position_id = sqlite3_column_int64(st, 0);
            t->execution_id = sqlite3_column_int64(st, 1);
            store_col_text(st, 2, t->pipeline, sizeof t->pipeline);
            store_col_text(st, 3, t->symbol, sizeof t->symbol);
            char side[16];
            store_col_text(st, 4, side, sizeof side);
            snprintf(t->side, sizeof t->side, "%s", strcmp(side, "sell") == 0 ? "short" : "long");
            t->qty = sqlite3_column_int64(st, 5);
            t->entry_price = sqlite3_column_int64(st, 6);
            t->entry_ts = store_col_time(st, 7);
            t->exit_ts = store_col_time(st, 8);
            if (t->exit_ts < t->entry_ts) /* a position closed without a time: at entry */
                t->exit_ts = t->entry_ts;
            t->pnl = sqlite3_column_int64(st, 9);
            t->fees = sqlite3_column_int64(st, 10);
            store_col_text(st, 11, t->exit_reason, sizeof t->exit_reason);
        }
        if (!result && rc != SQLITE_DONE)
            result = store_fail(s, rc, "reading trades");
    }
    store_trade *items = rows.items;
    for (size_t i = 0; !result && i < rows.count; i++)
        result = exit_price(s, fills, &items[i]);
    sqlite3_finalize(st);
    sqlite3_finalize(fills);
    if (result) {
        store_rows_free(&rows);
        return result;
    }
    *out = rows.items;
    *n = rows.count;
    return 0;
}

/* ---- the equity curve ---- */

typedef struct {
    store *s;
    analytics_point *pts;
    size_t n, cap;
    /* Without a pipeline: each pipeline's latest equity, summed at every time. */
    struct latest {
        char name[64];
        money_t equity;
    } * latest;
    size_t nlatest;
    bool sum;
    int error;
} curve;

static int on_point(void *ud, const store_report_equity_point *pt)
{
    curve *c = ud;
    money_t e = pt->equity;
    if (c->sum) {
        size_t i = 0;
        while (i < c->nlatest && strcmp(c->latest[i].name, pt->pipeline) != 0)
            i++;
        if (i == c->nlatest) {
            struct latest *l = realloc(c->latest, (c->nlatest + 1) * sizeof *l);
            if (!l)
                return c->error = APEX_ENOMEM;
            c->latest = l;
            snprintf(l[i].name, sizeof l[i].name, "%s", pt->pipeline);
            c->nlatest++;
        }
        c->latest[i].equity = pt->equity;
        e = 0;
        for (size_t j = 0; j < c->nlatest; j++)
            e += c->latest[j].equity;
        /* Points of one time become one point: the sum after the last of them. */
        if (c->n && c->pts[c->n - 1].ts == pt->ts) {
            c->pts[c->n - 1].equity = e;
            return 0;
        }
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 256;
        analytics_point *p = realloc(c->pts, cap * sizeof *p);
        if (!p)
            return c->error = APEX_ENOMEM;
        c->pts = p;
        c->cap = cap;
    }
    c->pts[c->n++] = (analytics_point){.ts = pt->ts, .equity = e};
    return 0;
}

int store_analytics_load(store *s, const char *pipeline, const analytics_options *opt,
                         store_analytics *out)
{
    memset(out, 0, sizeof *out);
    int rc = store_trades_list(s, pipeline, &out->rows, &out->ntrades);
    if (rc)
        return rc;
    if (out->ntrades && !(out->trades = calloc(out->ntrades, sizeof *out->trades)))
        return store_failf(s, APEX_ENOMEM, "out of memory reading %zu trades", out->ntrades);
    for (size_t i = 0; i < out->ntrades; i++) {
        const store_trade *t = &out->rows[i];
        out->trades[i] = (analytics_trade){.symbol = t->symbol,
                                           .side = t->side,
                                           .exit_reason = t->exit_reason,
                                           .entry_ts = t->entry_ts,
                                           .exit_ts = t->exit_ts,
                                           .pnl = t->pnl,
                                           .fees = t->fees};
    }
    curve c = {.s = s, .sum = pipeline == NULL};
    rc = store_report_equity(s, pipeline, 0, 0, 0, on_point, &c);
    free(c.latest);
    out->equity = c.pts;
    out->nequity = c.n;
    if (!rc && c.error)
        rc = store_failf(s, c.error, "out of memory reading the equity curve");
    if (rc)
        return rc;
    out->in = (analytics_input){.equity = out->equity,
                                .nequity = out->nequity,
                                .trades = out->trades,
                                .ntrades = out->ntrades,
                                .opt = opt ? *opt : (analytics_options){0}};
    return 0;
}

void store_analytics_free(store_analytics *a)
{
    free(a->rows);
    free(a->trades);
    free(a->equity);
    memset(a, 0, sizeof *a);
}
