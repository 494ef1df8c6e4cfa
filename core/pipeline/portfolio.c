/* portfolio: portfolio risk across the pipelines of one broker account (docs/risk.md).
 *
 * The arithmetic lives in core/risk (heat.h, correlation.h, drawdown.h, pdt.h); this file
 * connects it to the pipeline: which book an account has, when a trade's risk moves, what
 * the store says about reduce-only mode and the drawdown breaker, and the `risk_limit`
 * audit event every refusal or shrink writes.
 *
 * The breakers' and modes' state lives in the store's meta table, so `apex-host resume`
 * and `apex-host reduce-only` (core/cli/risk_cmds.c) reach a running host through it:
 *
 *   risk.drawdown:<pipeline>     the tripped drawdown breaker (risk_drawdown_format)
 *   risk.peak:<pipeline>         the peak equity it measures from, across runs (`run` only)
 *   risk.resume:<pipeline>       a counter `resume` bumps; risk.resume for every pipeline
 *   risk.reduce_only:<pipeline>  "on" or "off"; risk.reduce_only for every pipeline
 *
 * They are read when an entry reaches the risk stage (a cached statement, no polling
 * timer): what they halt is entries, so that is when they matter. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/shared.h"
#include "pipeline/pipeline_internal.h"
#include "risk/heat.h"
#include "risk/pdt.h"
#include "util/log.h"

static char *meta_key(char *buf, size_t len, const char *what, const char *who)
{
    snprintf(buf, len, "risk.%s%s%s", what, who ? ":" : "", who ? who : "");
    return buf;
}

/* A meta value, "" when absent or unreadable. */
static char *meta_read(pipeline *p, const char *what, const char *who, char *buf, size_t len)
{
    char key[160];
    if (store_meta_get(p->hs->db, meta_key(key, sizeof key, what, who), buf, len) != 0)
        buf[0] = '\0';
    return buf;
}

/* The resume counters: this pipeline's and every pipeline's, summed (each only grows). */
static int64_t resumes(pipeline *p)
{
    char one[32], all[32];
    return atoll(meta_read(p, "resume", p->cfg.name, one, sizeof one)) +
           atoll(meta_read(p, "resume", NULL, all, sizeof all));
}

static void risk_event(pipeline *p, int64_t exec_id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void risk_event(pipeline *p, int64_t exec_id, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pipeline_durable(p,
                     store_event(p->hs->db, clock_now(p->hs->clock), p->cfg.name, exec_id,
                                 "risk_limit", &p->werr, "%s", msg),
                     "recording a risk limit");
}

int pipeline_portfolio_open(pipeline *p, diag_list *diags)
{
    /* One book per account: the inner broker is the account (broker/shared.h). */
    p->book = risk_book_acquire(shared_broker_inner(p->brk), p->cfg.risk.correlation_window);
    if (!p->book) {
        diag_add(diags, "%s: risk: out of memory", p->cfg.path);
        return APEX_ENOMEM;
    }
    char rec[160];
    if (!p->hs->backtest) {
        money_t peak = 0;
        const char *v = meta_read(p, "peak", p->cfg.name, rec, sizeof rec);
        if (*v && money_parse(v, strlen(v), &peak) == 0 && peak > 0)
            p->equity_peak = peak;
    }
    if (!p->hs->backtest &&
        risk_drawdown_parse(meta_read(p, "drawdown", p->cfg.name, rec, sizeof rec), &p->drawdown))
        log_warn("%s: the drawdown breaker tripped in an earlier run is still on: entries are "
                 "skipped until `apex-host resume %s`%s",
                 p->cfg.name, p->cfg.name,
                 p->drawdown.resume_at ? " or risk.drawdown_resume_hours" : "");
    return 0;
}

void pipeline_portfolio_close(pipeline *p)
{
    for (trade *t = p->trades; t && p->book; t = t->next) {
        risk_book_move(p->book, t->symbol_id, &t->heat, 0);
        risk_book_unclaim(p->book, t->symbol_id, t);
    }
    risk_book_release(p->book);
    p->book = NULL;
}

void pipeline_portfolio_bar(pipeline *p, const bar *b)
{
    /* Every pipeline feeds the account's rings, also one without a cluster limit: another
     * pipeline on the account may check its symbols against them. One ring write a bar. */
    if (p->book)
        risk_book_on_bar(p->book, b->symbol_id, b->ts, b->close);
}

/* ---- the drawdown breaker ---- */

/* The peak the breaker measures from is kept in the store (risk.peak:<pipeline>) by `run`,
 * so a restart measures from the peak of the runs before it, not from its own start: a
 * loss taken across a restart still trips it. Written only when it rises, as an exact
 * decimal; a backtest starts from its own starting equity. */
static money_t drawdown_peak(pipeline *p, money_t equity_peak_now)
{
    if (p->hs->backtest || equity_peak_now <= p->equity_peak)
        return p->equity_peak > equity_peak_now ? p->equity_peak : equity_peak_now;
    p->equity_peak = equity_peak_now;
    char key[160], v[40];
    money_format_trim(equity_peak_now, 2, v, sizeof v);
    pipeline_durable(
        p, store_meta_set(p->hs->db, meta_key(key, sizeof key, "peak", p->cfg.name), v, &p->werr),
        "recording the drawdown breaker's peak");
    return equity_peak_now;
}

void pipeline_portfolio_drawdown(pipeline *p)
{
    money_t start = p->sum.start_equity;
    if (p->cfg.risk.max_drawdown_pct <= 0 || p->drawdown.tripped || start <= 0)
        return;
    apex_time now = clock_now(p->hs->clock);
    money_t peak = drawdown_peak(p, start + p->peak_mark);
    if (!risk_drawdown_check(&p->drawdown, &p->cfg.risk, peak, start + p->mark, now))
        return;
    p->drawdown.resumes_seen = resumes(p);
    char rec[160], key[160], eb[32], pb[32], fb[32], lb[32];
    risk_drawdown_format(&p->drawdown, rec, sizeof rec);
    pipeline_durable(p,
                     store_meta_set(p->hs->db, meta_key(key, sizeof key, "drawdown", p->cfg.name),
                                    rec, &p->werr),
                     "recording the drawdown breaker");
    money_format_trim(p->drawdown.equity, 2, eb, sizeof eb);
    money_format_trim(p->drawdown.peak, 2, pb, sizeof pb);
    money_format(risk_drawdown_fraction(&p->drawdown) * 100, 2, fb, sizeof fb);
    money_format_trim(p->cfg.risk.max_drawdown_pct * 100, 0, lb, sizeof lb);
    bool close_all = p->cfg.risk.drawdown_close_all;
    char resume[96];
    if (p->drawdown.resume_at)
        snprintf(resume, sizeof resume,
                 "in %d h (risk.drawdown_resume_hours) or by `apex-host "
                 "resume`",
                 p->cfg.risk.drawdown_resume_hours);
    else
        snprintf(resume, sizeof resume, "by `apex-host resume`");
    risk_event(p, 0,
               "drawdown breaker: equity %s is %s%% below its peak %s (risk.max_drawdown_pct "
               "%s%%); entries halted%s; resume %s",
               eb, fb, pb, lb, close_all ? ", closing every position" : "", resume);
    log_event("%-13s RISK     drawdown: equity %s is %s%% below its peak %s: entries halted%s",
              p->cfg.name, eb, fb, pb, close_all ? ", closing every position" : "");
    if (!close_all)
        return;
    p->circuit.close_all = true; /* the exit evaluator's circuit_breaker condition */
    for (trade *t = p->trades; t; t = t->next)
        if (!trade_is_finished(t) && t->has_pos && t->led.qty != 0)
            monitor_check_soon(p->mon, t);
}

const char *pipeline_portfolio_close_why(const pipeline *p)
{
    if (!p->drawdown.tripped || !p->cfg.risk.drawdown_close_all ||
        p->circuit.state != TRADING_ACTIVE)
        return NULL; /* the daily-loss breaker's own reason stands */
    return "the drawdown breaker tripped (risk.max_drawdown_pct); closing every position and "
           "blocking entries until it resumes";
}

/* The breaker resumed (by time, or by hand): forgets it and measures from here. */
static void drawdown_resume(pipeline *p, const char *how)
{
    char key[160];
    p->drawdown = (risk_drawdown){0};
    p->peak_mark = p->mark;
    p->equity_peak = 0; /* the next check records this equity as the peak */
    if (p->circuit.state == TRADING_ACTIVE)
        p->circuit.close_all = false; /* it was this breaker's close, not the daily one's */
    pipeline_durable(
        p,
        store_meta_set(p->hs->db, meta_key(key, sizeof key, "drawdown", p->cfg.name), "", &p->werr),
        "recording the drawdown breaker");
    pipeline_durable(
        p, store_meta_set(p->hs->db, meta_key(key, sizeof key, "peak", p->cfg.name), "", &p->werr),
        "recording the drawdown breaker's peak");
    risk_event(p, 0, "drawdown breaker: entries resume (%s); the peak restarts at this equity",
               how);
    log_event("%-13s RISK     drawdown: entries resume (%s)", p->cfg.name, how);
}

/* ---- before sizing ---- */

bool pipeline_portfolio_admit(pipeline *p, trade *t, const broker_account *a, char *why, size_t len)
{
    char one[16], all[16];
    bool mine = strcmp(meta_read(p, "reduce_only", p->cfg.name, one, sizeof one), "on") == 0;
    if (mine || strcmp(meta_read(p, "reduce_only", NULL, all, sizeof all), "on") == 0) {
        snprintf(why, len,
                 "reduce-only mode (%s, set with `apex-host reduce-only on%s%s`): exits only, "
                 "no new entries",
                 mine ? "this pipeline" : "every pipeline", mine ? " " : "",
                 mine ? p->cfg.name : "");
        risk_event(p, t->row.id, "%s %s", t->row.symbol, why);
        return false;
    }
    if (p->drawdown.tripped) {
        apex_time now = clock_now(p->hs->clock);
        if (resumes(p) != p->drawdown.resumes_seen) {
            drawdown_resume(p, "by hand, apex-host resume");
        } else if (p->drawdown.resume_at && now >= p->drawdown.resume_at) {
            char how[64];
            snprintf(how, sizeof how, "%d h after the trip, risk.drawdown_resume_hours",
                     p->cfg.risk.drawdown_resume_hours);
            drawdown_resume(p, how);
        } else {
            char eb[32], pb[32], fb[32];
            snprintf(why, len,
                     "drawdown breaker tripped (equity %s, %s%% below its peak %s): entries "
                     "halted until %s",
                     money_format_trim(p->drawdown.equity, 2, eb, sizeof eb),
                     money_format(risk_drawdown_fraction(&p->drawdown) * 100, 2, fb, sizeof fb),
                     money_format_trim(p->drawdown.peak, 2, pb, sizeof pb),
                     p->drawdown.resume_at ? "risk.drawdown_resume_hours pass or `apex-host "
                                             "resume`"
                                           : "`apex-host resume`");
            risk_event(p, t->row.id, "%s %s", t->row.symbol, why);
            return false;
        }
    }
    if (p->cfg.risk.pdt_check && a->equity < RISK_PDT_EQUITY_MIN) {
        char dates[160];
        risk_pdt_input in = {.equity = a->equity, .broker_count = a->day_trades, .dates = dates};
        apex_time now = clock_now(p->hs->clock);
        if (store_day_trades(p->hs->db, risk_pdt_window_start(now), &in.store_count, dates,
                             sizeof dates) != 0)
            in.store_count = 0; /* the broker's count still applies */
        if (!risk_pdt_allows(&p->cfg.risk, &in, why, len)) {
            risk_event(p, t->row.id, "%s %s", t->row.symbol, why);
            return false;
        }
    }
    return true;
}

/* ---- after sizing: heat ---- */

static const char *symbol_name(void *ud, int id)
{
    const char *n = symtab_name(ud, id);
    return n ? n : "?";
}

bool pipeline_portfolio_fit(pipeline *p, trade *t, money_t entry, const broker_account *a,
                            money_t *qty, char *why, size_t len)
{
    const risk_config *cfg = &p->cfg.risk;
    char names[200] = "";
    risk_heat_input in = {.equity = a->equity,
                          .open_heat = risk_book_heat(p->book) - t->heat,
                          .cluster = names,
                          .entry = entry,
                          .stop = t->row.stop_loss,
                          .qty = *qty,
                          .lot = config_instrument(&p->cfg, t->row.symbol).lot};
    if (cfg->max_cluster_heat_pct > 0)
        risk_book_cluster(p->book, t->symbol_id, money_to_double(cfg->correlation_threshold),
                          cfg->correlation_window, symbol_name, p->hs->symbols, &in.cluster_heat,
                          &in.cluster_size, names, sizeof names);
    risk_heat_decision d;
    risk_heat_check(cfg, &in, &d);
    if (d.why[0]) {
        snprintf(why, len, "%s", d.why);
        risk_event(p, t->row.id, "%s %s", t->row.symbol, d.why);
    }
    if (d.qty == 0)
        return false;
    *qty = d.qty;
    risk_book_move(p->book, t->symbol_id, &t->heat, d.risk);
    return true;
}

bool pipeline_portfolio_claim(pipeline *p, trade *t, char *why, size_t len)
{
    const void *holder = NULL;
    if (!p->book || risk_book_claim(p->book, t->symbol_id, t, &holder))
        return true;
    const trade *h = holder;
    snprintf(why, len,
             "duplicate: execution %lld of pipeline %s holds or is entering %s on this broker "
             "account (one execution trades a symbol on an account at a time)",
             (long long)h->row.id, h->row.pipeline, t->row.symbol);
    return false;
}

void pipeline_portfolio_update(pipeline *p, trade *t)
{
    if (!p->book)
        return;
    if (trade_is_finished(t) || exec_status_is_final(t->row.status) ||
        (t->has_pos && t->led.qty == 0)) {
        risk_book_move(p->book, t->symbol_id, &t->heat, 0);
        risk_book_unclaim(p->book, t->symbol_id, t);
        return;
    }
    if (t->led.qty != 0 || t->sized) { /* e.g. resumed after a restart */
        const void *holder;
        risk_book_claim(p->book, t->symbol_id, t, &holder);
    }
    if (t->led.qty == 0)
        return; /* the entry is working: its sized risk stands */
    money_t stop = t->row.stop_loss;
    if (t->pos.trailing_stop_active && t->pos.trailing_stop_price > 0)
        stop = t->pos.trailing_stop_price;
    risk_book_move(p->book, t->symbol_id, &t->heat,
                   risk_position_risk(t->led.qty, ledger_avg_price(&t->led), stop));
}
