/* webhook_tool: execution.tool = "webhook" (seed 000: "send signal, COMPLETED").
 *
 * The execution is RUNNING while the post is in flight and ends COMPLETED when the
 * receiver answers 2xx, FAILED otherwise, with exec/webhook.c's account of what happened
 * as the reason. No order is placed and nothing is monitored. A backtest posts nothing
 * (it replays the past; a receiver would act on it now): the execution completes at once
 * and the body it would have sent is in the events.
 *
 * Interrupted posts: an execution still RUNNING at a restart is posted again with the
 * same Idempotency-Key (its execution id), so a receiver that got the first post can
 * drop the repeat; the signal's own reason text is not kept across the restart. */
#include <stdlib.h>
#include <string.h>

#include "exec/webhook.h"
#include "pipeline/pipeline_internal.h"
#include "util/log.h"

struct webhook_pending {
    LIST_ENTRY(webhook_pending) link;
    pipeline *p;
    trade *t;
    webhook_call call;
};

int pipeline_webhook_open(pipeline *p, diag_list *d)
{
    const execution_config *x = &p->cfg.execution;
    if (x->tool != EXEC_TOOL_WEBHOOK)
        return 0;
    char err[512];
    if (webhook_template_check(x->webhook_template, err, sizeof err) != 0) {
        diag_add(d, "%s: %s", p->cfg.path, err);
        return -1;
    }
    if (strncmp(x->webhook_url, "https://", 8) != 0 && strncmp(x->webhook_url, "http://", 7) != 0) {
        diag_add(d,
                 "%s: execution.webhook_url: not an http:// or https:// URL; write it as "
                 "\"https://host/path\"",
                 p->cfg.path);
        return -1;
    }
    if (x->webhook_secret_env[0]) {
        const char *key = getenv(x->webhook_secret_env);
        if (!key || !key[0]) {
            diag_add(d,
                     "%s: execution.webhook_secret_env: environment variable %s is not set; "
                     "export the signing key, or remove the field to post unsigned",
                     p->cfg.path, x->webhook_secret_env);
            return -1;
        }
        p->webhook_secret = strdup(key);
        if (!p->webhook_secret) {
            diag_add(d, "%s: out of memory", p->cfg.path);
            return -1;
        }
    }
    return 0;
}

static void pending_free(struct webhook_pending *w)
{
    LIST_REMOVE(w, link);
    free(w);
}

void pipeline_webhook_free_all(pipeline *p)
{
    /* The host frees its HTTP client first, so no callback is coming for these. */
    while (!LIST_EMPTY(&p->webhook_posts)) {
        struct webhook_pending *w = LIST_FIRST(&p->webhook_posts);
        trade_release(w->t);
        pending_free(w);
    }
    if (p->webhook_secret) {
        volatile char *s = p->webhook_secret;
        while (*s)
            *s++ = 0;
        free(p->webhook_secret);
        p->webhook_secret = NULL;
    }
}

static void on_posted(const webhook_outcome *o, void *ud)
{
    struct webhook_pending *w = ud;
    pipeline *p = w->p;
    trade *t = trade_release(w->t);
    pending_free(w);
    if (!t)
        return;
    pipeline_set_status(p, t, o->ok ? EXEC_COMPLETED : EXEC_FAILED, "%s", o->reason);
}

void pipeline_webhook_send(pipeline *p, trade *t, const char *reason, apex_time bar_time)
{
    const execution_config *x = &p->cfg.execution;
    webhook_signal sig = {
        .pipeline = p->cfg.name,
        .execution_id = t->row.id,
        .symbol = t->row.symbol,
        .side = order_side_name((order_side)t->row.side),
        .qty = t->row.qty,
        .entry = t->row.entry_price,
        .stop_loss = t->row.stop_loss,
        .take_profit = t->row.take_profit,
        .reason = reason ? reason : "",
        .time = bar_time,
    };
    char err[512];
    char *body = NULL;
    size_t len = 0;
    if (webhook_render(x->webhook_template, &sig, &body, &len, err, sizeof err) != 0) {
        pipeline_set_status(p, t, EXEC_FAILED, "webhook: %s", err);
        return;
    }
    char label[160], key[128];
    webhook_url_label(x->webhook_url, label, sizeof label);
    snprintf(key, sizeof key, "%s-%lld", p->cfg.name, (long long)t->row.id);
    /* Recorded before it is sent, like an order. */
    store_event(p->hs->db, clock_now(p->hs->clock), p->cfg.name, t->row.id, "webhook", &p->werr,
                "%s %zu bytes to %s, Idempotency-Key %s: %s",
                p->hs->backtest ? "backtest, not posting" : "posting", len, label, key, body);
    if (p->hs->backtest) {
        free(body);
        pipeline_set_status(p, t, EXEC_COMPLETED, "webhook %s: not posted in a backtest", label);
        return;
    }
    if (!p->hs->http) {
        free(body);
        pipeline_set_status(p, t, EXEC_FAILED,
                            "webhook %s: outgoing HTTP is unavailable (see "
                            "the log at start-up)",
                            label);
        return;
    }
    struct webhook_pending *w = calloc(1, sizeof *w);
    if (!w) {
        free(body);
        pipeline_set_status(p, t, EXEC_FAILED, "webhook: out of memory");
        return;
    }
    w->p = p;
    w->t = t;
    LIST_INSERT_HEAD(&p->webhook_posts, w, link);
    trade_hold(t);
    webhook_target target = {.url = x->webhook_url,
                             .secret = p->webhook_secret,
                             .timeout_s = x->webhook_timeout_s,
                             .retries = x->webhook_retries};
    apex_error e;
    int rc = webhook_post(p->hs->http, &w->call, &target, key, body, len, on_posted, w, &e);
    free(body);
    if (rc != 0) {
        trade_release(t);
        pending_free(w);
        pipeline_set_status(p, t, EXEC_FAILED, "webhook %s: %s", label, e.msg);
    }
}

void pipeline_webhook_resume(pipeline *p, trade *t)
{
    store_event(p->hs->db, clock_now(p->hs->clock), p->cfg.name, t->row.id, "restart", NULL,
                "%s: the webhook post was interrupted by a restart; posting it again with the "
                "same Idempotency-Key",
                t->row.symbol);
    pipeline_webhook_send(p, t, "resent after a restart", t->row.created_at);
}
