/* approval: entries that wait for a trader (approval.h, docs/approval.md).
 *
 *   pipeline_approval_request  entry.c, after sizing: the row, the event, the message
 *   poll                       once a second of the run's clock while anything waits:
 *                              an answer in the store decides it, else the expiry does
 *   decide                     approved (the price checked again: stale beyond the
 *                              tolerance), rejected, expired; the entry chain goes on or
 *                              ends with the reason
 *   pipeline_approval_resume   a restart: a pending request waits again (or expires) */
#include "pipeline/approval.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/random.h>
#include <time.h>

#include "market/timestamp.h"
#include "pipeline/pipeline_internal.h"
#include "store/store_approvals.h"
#include "util/err.h"
#include "util/log.h"

typedef struct approval_wait {
    LIST_ENTRY(approval_wait) link;
    pipeline *p;
    trade *t; /* held by the entry step that waits */
    store_approval row;
    approval_cont cont;
    void *ud;
} approval_wait;

/* The answerer's wall clock, for answered_at: a person answers in wall time, whatever the
 * run's clock says. */
static apex_time wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (apex_time)ts.tv_sec * APEX_SECOND + ts.tv_nsec / 1000;
}

static char *fmt_money(money_t v, char *buf, size_t n)
{
    return money_format_trim(v, 2, buf, n);
}

/* "demo AAPL buy 50 @ 100.00" */
static void describe(const store_approval *a, char *out, size_t n)
{
    char qb[32], eb[32];
    snprintf(out, n, "%s %s %s %s @ %s", a->pipeline, a->symbol,
             order_side_name((order_side)a->side), money_format_trim(a->qty, 0, qb, sizeof qb),
             fmt_money(a->entry, eb, sizeof eb));
}

int approval_submit(store *db, int64_t id, bool approve, const char *by, const char *reason,
                    char *msg, size_t msglen)
{
    store_approval a;
    apex_error err;
    char what[160];
    int rc =
        store_approval_answer(db, id, approve ? APPROVAL_ANSWER_APPROVE : APPROVAL_ANSWER_REJECT,
                              by, reason, wall_now(), &a, &err);
    if (rc == APEX_ENOTFOUND) {
        snprintf(msg, msglen,
                 "approval %" PRId64 ": no such request; `apex-host approvals` lists "
                 "the pending ones",
                 id);
        return rc;
    }
    if (rc != 0 && rc != APEX_ESTATE) {
        snprintf(msg, msglen, "approval %" PRId64 ": the answer could not be recorded: %s", id,
                 err.msg);
        return rc;
    }
    describe(&a, what, sizeof what);
    if (rc == APEX_ESTATE) {
        if (a.status == APPROVAL_PENDING)
            snprintf(msg, msglen,
                     "approval %" PRId64 " (%s): already answered %s by %s; the host is acting on "
                     "it",
                     id, what, approval_answer_name(a.answer), a.answered_by);
        else
            snprintf(msg, msglen, "approval %" PRId64 " (%s): already %s: %s", id, what,
                     approval_status_name(a.status), a.outcome);
        return rc;
    }
    if (approve)
        snprintf(msg, msglen,
                 "approval %" PRId64 " (%s): approved by %s; the running host sends it within a "
                 "second, unless the price moved beyond execution.approval_tolerance_pct",
                 id, what, by);
    else
        snprintf(msg, msglen,
                 "approval %" PRId64 " (%s): rejected by %s; the running host skips it within a "
                 "second",
                 id, what, by);
    return 0;
}

/* ---- waiting ---- */

static void poll_tick(clock_timer *timer, void *ud);

static void arm(pipeline *p)
{
    if (!clock_timer_active(&p->approval_timer))
        clock_timer_start(&p->approval_timer, clock_now(p->hs->clock) + APEX_SECOND);
}

void pipeline_approval_wait(pipeline *p, trade *t, const store_approval *a, approval_cont cont,
                            void *ud)
{
    approval_wait *w = calloc(1, sizeof *w);
    if (!w) {
        cont(ud, EXEC_FAILED, "approval: out of memory");
        return;
    }
    w->p = p;
    w->t = t;
    w->row = *a;
    w->cont = cont;
    w->ud = ud;
    LIST_INSERT_HEAD(&p->approval_waits, w, link);
    arm(p);
    pipeline_telegram_poll(p); /* button presses are read from now on */
}

/* Ends the wait: the request's final status and the text, in the store, then the entry
 * chain goes on (EXEC_RUNNING) or ends with the text as its reason. */
static void decide(approval_wait *w, approval_status st, exec_status verdict, const char *text)
{
    pipeline *p = w->p;
    store *db = p->hs->db;
    apex_time now = clock_now(p->hs->clock);
    /* The decided request, its event and the execution's new status commit together. */
    int unit = store_unit_begin(db, &p->werr);
    pipeline_durable(p, store_approval_decide(db, w->row.id, st, text, now, &p->werr),
                     "deciding an approval request");
    store_event(db, now, p->cfg.name, w->t->row.id, "approval", NULL, "%s", text);
    log_event("%-13s APPROVAL %-5s %s", p->cfg.name, w->row.symbol, text);
    w->row.status = st;
    snprintf(w->row.outcome, sizeof w->row.outcome, "%s", text);
    LIST_REMOVE(w, link);
    store_approval row = w->row;
    approval_cont cont = w->cont;
    void *ud = w->ud;
    free(w);
    cont(ud, verdict, text);
    if (unit == 0)
        pipeline_durable(p, store_unit_commit(db, &p->werr), "deciding an approval request");
    pipeline_telegram_told(p, &row); /* after the commit: a message never runs ahead of it */
}

/* An approval: the entry is checked against the last price once more. */
static void decide_approved(approval_wait *w)
{
    pipeline *p = w->p;
    const store_approval *a = &w->row;
    char text[512], who[160];
    snprintf(who, sizeof who, "approval #%" PRId64 " approved by %s", a->id, a->answered_by);
    const price_entry *now = price_table_get(p->hs->prices, w->t->symbol_id);
    money_t last = now ? now->last : 0, moved = 0;
    if (last > 0 && a->entry > 0) {
        money_t delta = last > a->entry ? last - a->entry : a->entry - last;
        money_div(delta, a->entry, MONEY_ROUND_UP, &moved);
    }
    /* A stop or limit entry the strategy priced waits for its own price: where the market
     * is now does not make it stale. */
    bool priced = w->t->row.entry_typed && w->t->row.entry_type != ORDER_MARKET;
    if (!priced && moved > p->cfg.execution.approval_tolerance) {
        char eb[32], lb[32], mb[32], tb[32];
        money_t pct = 0, tol = 0;
        money_mul(moved, MONEY(100), MONEY_ROUND_NEAREST, &pct);
        money_mul(p->cfg.execution.approval_tolerance, MONEY(100), MONEY_ROUND_NEAREST, &tol);
        snprintf(text, sizeof text,
                 "%s, but stale: the price moved from %s to %s (%s%%), beyond "
                 "execution.approval_tolerance_pct %s%%; not sent",
                 who, fmt_money(a->entry, eb, sizeof eb), fmt_money(last, lb, sizeof lb),
                 fmt_money(pct, mb, sizeof mb), fmt_money(tol, tb, sizeof tb));
        decide(w, APPROVAL_STALE, EXEC_SKIPPED, text);
        return;
    }
    decide(w, APPROVAL_APPROVED, EXEC_RUNNING, who);
}

/* Looks at one waiting request: its answer, else its expiry. */
static void check_one(approval_wait *w, apex_time now)
{
    pipeline *p = w->p;
    char text[512];
    if (trade_is_finished(w->t)) {
        /* The execution ended meanwhile (a shutdown path): the chain's own release ends it. */
        decide(w, APPROVAL_EXPIRED, EXEC_SKIPPED, "approval: the execution ended while waiting");
        return;
    }
    store_approval a;
    if (store_approval_get(p->hs->db, w->row.id, &a) == 0) {
        w->row.answer = a.answer;
        snprintf(w->row.answered_by, sizeof w->row.answered_by, "%s", a.answered_by);
        snprintf(w->row.answer_reason, sizeof w->row.answer_reason, "%s", a.answer_reason);
    }
    if (w->row.answer == APPROVAL_ANSWER_APPROVE) {
        decide_approved(w);
    } else if (w->row.answer == APPROVAL_ANSWER_REJECT) {
        snprintf(text, sizeof text, "approval #%" PRId64 " rejected by %s%s%s", w->row.id,
                 w->row.answered_by, w->row.answer_reason[0] ? ": " : "", w->row.answer_reason);
        decide(w, APPROVAL_REJECTED, EXEC_SKIPPED, text);
    } else if (now >= w->row.expires_at) {
        snprintf(text, sizeof text,
                 "approval #%" PRId64 " expired: no answer within %d s "
                 "(execution.approval_timeout)",
                 w->row.id, (int)((w->row.expires_at - w->row.created_at) / APEX_SECOND));
        decide(w, APPROVAL_EXPIRED, EXEC_SKIPPED, text);
    }
}

void pipeline_approval_poll(pipeline *p)
{
    apex_time now = clock_now(p->hs->clock);
    approval_wait *w = LIST_FIRST(&p->approval_waits);
    while (w) {
        approval_wait *next = LIST_NEXT(w, link);
        check_one(w, now); /* may free w and end its execution; never touches next */
        w = next;
    }
}

static void poll_tick(clock_timer *timer, void *ud)
{
    (void)timer;
    pipeline *p = ud;
    pipeline_telegram_poll(p);
    pipeline_approval_poll(p);
    if (!LIST_EMPTY(&p->approval_waits))
        arm(p);
}

/* ---- the request ---- */

static void new_nonce(char *out, size_t n)
{
    unsigned char raw[8] = {0};
    if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw) {
        uint64_t x = (uint64_t)wall_now() * 0x9E3779B97F4A7C15ull;
        memcpy(raw, &x, sizeof raw);
    }
    for (size_t i = 0; i < sizeof raw && 2 * i + 2 < n; i++)
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
}

void approval_describe(const store_approval *a, char *out, size_t n)
{
    char sb[32], tb[32], rb[32], wb[32], xb[32];
    money_t risk = 0, reward = 0, ratio = 0;
    money_t r1 = a->entry > a->stop_loss ? a->entry - a->stop_loss : a->stop_loss - a->entry;
    money_t w1 = a->take_profit > a->entry ? a->take_profit - a->entry : a->entry - a->take_profit;
    money_mul(a->qty, r1, MONEY_ROUND_NEAREST, &risk);
    money_mul(a->qty, w1, MONEY_ROUND_NEAREST, &reward);
    if (r1 > 0)
        money_div(w1, r1, MONEY_ROUND_NEAREST, &ratio);
    char what[160];
    describe(a, what, sizeof what);
    snprintf(out, n, "%s, stop %s, target %s: risk %s, reward %s (reward/risk %s)", what,
             fmt_money(a->stop_loss, sb, sizeof sb), fmt_money(a->take_profit, tb, sizeof tb),
             fmt_money(risk, rb, sizeof rb), fmt_money(reward, wb, sizeof wb),
             fmt_money(ratio, xb, sizeof xb));
}

void pipeline_approval_request(pipeline *p, trade *t, money_t entry, approval_cont cont, void *ud)
{
    apex_time now = clock_now(p->hs->clock);
    store_approval a = {0};
    a.execution_id = t->row.id;
    snprintf(a.pipeline, sizeof a.pipeline, "%s", p->cfg.name);
    snprintf(a.symbol, sizeof a.symbol, "%s", t->row.symbol);
    a.side = t->row.side;
    a.qty = t->row.qty;
    a.entry = entry;
    a.stop_loss = t->row.stop_loss;
    a.take_profit = t->row.take_profit;
    new_nonce(a.nonce, sizeof a.nonce);
    a.created_at = now;
    a.expires_at = now + (apex_time)p->cfg.execution.approval_timeout_s * APEX_SECOND;
    /* The sized quantity is recorded with the request, in one unit, so `status` shows what
     * waits. */
    store *db = p->hs->db;
    int rc = store_unit_begin(db, &p->werr);
    if (!rc)
        rc = store_execution_update(db, &t->row, &p->werr);
    if (!rc)
        rc = store_approval_insert(db, &a, &p->werr);
    if (!rc)
        rc = store_unit_commit(db, &p->werr);
    if (rc)
        store_unit_abort(db, NULL);
    if (pipeline_durable(p, rc, "recording an approval request")) {
        char why[600];
        snprintf(why, sizeof why, "approval: the request could not be recorded: %s",
                 p->write_error);
        cont(ud, EXEC_FAILED, why);
        return;
    }
    char summary[400], until[40];
    approval_describe(&a, summary, sizeof summary);
    timestamp_format(a.expires_at, until, sizeof until);
    store_event(p->hs->db, now, p->cfg.name, t->row.id, "approval", NULL,
                "%s; waiting for approval #%" PRId64 " until %s UTC (apex-host approve %" PRId64
                " | apex-host reject %" PRId64 ")",
                summary, a.id, until, a.id, a.id);
    log_event("%-13s APPROVAL %-5s #%" PRId64 " waiting until %s UTC: %s", p->cfg.name,
              t->row.symbol, a.id, until, summary);
    pipeline_telegram_ask(p, &a);
    pipeline_approval_wait(p, t, &a, cont, ud);
}

bool pipeline_approval_resume(pipeline *p, trade *t)
{
    store_approval a;
    if (store_approval_pending_for(p->hs->db, t->row.id, &a) != 0)
        return false;
    if (p->cfg.execution.mode != EXEC_MODE_APPROVAL) {
        /* The pipeline left approval mode while the request waited: nobody will act on an
         * answer, so the request ends here and the restart fails the unsent entry. */
        store_approval_decide(p->hs->db, a.id, APPROVAL_EXPIRED,
                              "execution.mode is no longer \"approval\" after a restart; "
                              "the entry was not sent",
                              clock_now(p->hs->clock), NULL);
        return false;
    }
    store_event(p->hs->db, clock_now(p->hs->clock), p->cfg.name, t->row.id, "approval", NULL,
                "%s: approval #%" PRId64 " resumes waiting after a restart", t->row.symbol, a.id);
    pipeline_entry_resume_approval(p, t, &a);
    pipeline_approval_poll(p); /* answered or expired while the host was down */
    return true;
}

int pipeline_approval_open(pipeline *p, diag_list *d)
{
    clock_timer_init(p->hs->clock, &p->approval_timer, poll_tick, p);
    if (p->cfg.execution.mode != EXEC_MODE_APPROVAL)
        return 0;
    if (p->cfg.execution.tool != EXEC_TOOL_BROKER) {
        diag_add(d,
                 "%s: execution.mode: \"approval\" needs execution.tool = \"broker\" (a webhook "
                 "receiver decides for itself); use mode = \"auto\" with the webhook tool",
                 p->cfg.path);
        return APEX_EINVAL;
    }
    if (p->hs->backtest && !p->hs->checking) {
        diag_add(d,
                 "%s: execution.mode: \"approval\" cannot be backtested: nobody can answer on a "
                 "simulated clock. Backtest with mode = \"auto\" (the signals, sizes and "
                 "prices are the same) and keep \"approval\" for `apex-host run`",
                 p->cfg.path);
        return APEX_EINVAL;
    }
    return pipeline_telegram_open(p, d);
}

void pipeline_approval_close(pipeline *p)
{
    clock_timer_stop(&p->approval_timer); /* a zeroed timer (open failed earlier) is fine */
    while (!LIST_EMPTY(&p->approval_waits)) {
        approval_wait *w = LIST_FIRST(&p->approval_waits);
        LIST_REMOVE(w, link); /* the entry step still holds the trade; it releases it */
        free(w);
    }
    pipeline_telegram_close(p);
}
