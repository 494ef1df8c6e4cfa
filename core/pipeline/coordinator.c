/* coordinator: the entry signals of one bar time, ranked before they trade (coordinator.h).
 *
 * The held signals live in one vec that is cleared, never freed, between bar times, so a
 * backtest with at most one signal per bar allocates nothing per bar once it has seen its
 * first signal. */
#include "pipeline/coordinator.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/pipeline_internal.h"
#include "util/log.h"

typedef struct {
    pipeline *p;
    int symbol_id;
    script_signal sig;
    bar b;
    money_t score;
    bool by_callback;
    bool failed; /* its score() raised: already recorded as a failed execution */
} held_signal;

struct coordinator {
    VEC(held_signal) held;
    apex_time ts; /* the bar time of the signals held */
    bool flushing;
};

coordinator *coordinator_new(void)
{
    return calloc(1, sizeof(coordinator));
}

void coordinator_free(coordinator *c)
{
    if (!c)
        return;
    vec_free(&c->held);
    free(c);
}

void coordinator_offer(pipeline *p, int symbol_id, const script_signal *sig, const bar *b)
{
    coordinator *c = p->hs->coord;
    if (!c || sig->kind == SIGNAL_CLOSE) { /* a close is an exit: nothing to rank */
        pipeline_on_signal(p, symbol_id, sig, b, NULL);
        return;
    }
    if (c->held.count > 0 && c->ts != b->ts)
        coordinator_flush(c); /* a driver that did not flush: never mix two bar times */
    held_signal *h = vec_push_zeroed(&c->held);
    if (!h) {
        log_error("%s: out of memory ranking a signal; it goes on unranked", p->cfg.name);
        pipeline_on_signal(p, symbol_id, sig, b, NULL);
        return;
    }
    h->p = p;
    h->symbol_id = symbol_id;
    h->sig = *sig;
    h->b = *b;
    c->ts = b->ts;
}

/* |a - b| of two prices, which are never negative. */
static money_t distance(money_t a, money_t b)
{
    return a > b ? a - b : b - a;
}

/* confidence x reward / risk, with the pipeline's default stop and target for prices the
 * signal leaves out (a default is entry x exits.stop_loss_pct / take_profit_pct away). The
 * completed prices go back into sig for score(). A zero risk scores 0: such a signal is
 * refused by the strategy stage anyway. */
static money_t default_score(const pipeline *p, script_signal *sig, const bar *b)
{
    money_t entry = sig->entry ? sig->entry : b->close;
    money_t risk = 0, reward = 0, score = 0;
    int dir = sig->side == SIDE_BUY ? 1 : -1;
    if (sig->stop_loss)
        risk = distance(entry, sig->stop_loss);
    else if (money_mul(entry, p->cfg.exits.stop_loss_pct, MONEY_ROUND_NEAREST, &risk) == 0)
        sig->stop_loss = entry - dir * risk;
    if (sig->take_profit)
        reward = distance(sig->take_profit, entry);
    else if (money_mul(entry, p->cfg.exits.take_profit_pct, MONEY_ROUND_NEAREST, &reward) == 0)
        sig->take_profit = entry + dir * reward;
    sig->entry = entry;
    if (risk <= 0 || money_muldiv(sig->confidence, reward, risk, MONEY_ROUND_NEAREST, &score) != 0)
        return 0;
    return score;
}

/* Scores h; false when its score() raised (the signal is then recorded as failed). */
static bool score_signal(held_signal *h)
{
    pipeline *p = h->p;
    script_signal completed = h->sig;
    h->score = default_score(p, &completed, &h->b);
    if (!script_has_callback(p->scripts, SCRIPT_STRATEGY, "score"))
        return true;
    char err[1024];
    money_t by_script = 0;
    bool has = false;
    const char *symbol = symtab_name(p->hs->symbols, h->symbol_id);
    int rc = script_score(p->scripts, symbol, &completed, &by_script, &has, err, sizeof err);
    if (rc < 0) {
        char why[1100];
        snprintf(why, sizeof why, "score(): %s", err);
        pipeline_record_script_error(p, h->symbol_id, SCRIPT_STAGE_STRATEGY, rc, why);
        return false;
    }
    if (has) {
        h->score = by_script;
        h->by_callback = true;
    }
    return true;
}

static void leader_name(const held_signal *lead, const held_signal *h, char *out, size_t n)
{
    const char *symbol = symtab_name(lead->p->hs->symbols, lead->symbol_id);
    if (lead->p == h->p)
        snprintf(out, n, "%s", symbol);
    else
        snprintf(out, n, "%s (pipeline %s)", symbol, lead->p->cfg.name);
}

static char *fmt_score(money_t v, char *buf, size_t n)
{
    return money_format_trim(v, 2, buf, n);
}

void pipeline_coord_event(pipeline *p, const trade *t, const coord_rank *rank)
{
    if (!rank)
        return;
    char sb[32], lb[32];
    store_event(p->hs->db, clock_now(p->hs->clock), p->cfg.name, t->row.id, "coordinator", NULL,
                "%s ranked %d of %d on its bar: score %s (%s)%s%s%s%s", t->row.symbol, rank->rank,
                rank->of, fmt_score(rank->score, sb, sizeof sb),
                rank->by_callback ? "the strategy's score()" : "confidence x reward/risk",
                rank->rank > 1 ? "; first: " : "", rank->rank > 1 ? rank->leader : "",
                rank->rank > 1 ? " with " : "",
                rank->rank > 1 ? fmt_score(rank->leader_score, lb, sizeof lb) : "");
}

const char *pipeline_coord_note(const coord_rank *rank, char *buf, size_t n)
{
    buf[0] = '\0';
    if (rank->rank > 1) {
        char sb[32], lb[32];
        snprintf(buf, n, "; ranked %d of %d on its bar with score %s, after %s with score %s",
                 rank->rank, rank->of, fmt_score(rank->score, sb, sizeof sb), rank->leader,
                 fmt_score(rank->leader_score, lb, sizeof lb));
    }
    return buf;
}

void coordinator_flush(coordinator *c)
{
    if (!c || c->held.count == 0 || c->flushing)
        return;
    c->flushing = true;
    held_signal *v = c->held.items;
    int n = c->held.count, live = 0;
    for (int i = 0; i < n; i++) {
        v[i].failed = !score_signal(&v[i]);
        if (!v[i].failed)
            v[live++] = v[i];
    }
    /* Insertion sort, best first: stable (ties keep their arrival order), and a bar time
     * rarely holds more than a handful of signals. */
    for (int i = 1; i < live; i++) {
        held_signal x = v[i];
        int j = i;
        while (j > 0 && v[j - 1].score < x.score) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
    for (int i = 0; i < live; i++) {
        coord_rank r = {.rank = i + 1,
                        .of = live,
                        .score = v[i].score,
                        .by_callback = v[i].by_callback,
                        .leader_score = v[0].score};
        leader_name(&v[0], &v[i], r.leader, sizeof r.leader);
        pipeline_on_signal(v[i].p, v[i].symbol_id, &v[i].sig, &v[i].b, &r);
    }
    vec_clear(&c->held);
    c->flushing = false;
}

void coordinator_flush_before(coordinator *c, apex_time ts)
{
    if (c && c->held.count > 0 && c->ts != ts)
        coordinator_flush(c);
}
