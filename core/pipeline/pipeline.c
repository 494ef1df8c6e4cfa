/* pipeline: opening a pipeline, the per-bar path and finishing. The execute phase is
 * entry.c, status changes lifecycle.c, what happens after the entry position_hooks.c,
 * and restart resume.c. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "broker/registry.h"
#include "broker/shared.h"
#include "script/field_line.h"
#include "pipeline/pipeline_internal.h"
#include "util/err.h"
#include "util/log.h"
#include "util/vec.h"

/* How many distinct bar times pass between two cursor writes in a live run. A restart
 * re-reads at most this many as warm-up; duplicate orders are impossible either way. */
#define CURSOR_EVERY 32

const char *pipeline_name(const pipeline *p)
{
    return p->cfg.name;
}

const pipeline_config *pipeline_cfg(const pipeline *p)
{
    return &p->cfg;
}

apex_time pipeline_resume_time(const pipeline *p)
{
    return p->resume_after;
}

sym_state *pipeline_sym(pipeline *p, int id)
{
    if (id < 0 || vec_extend_zeroed(&p->syms, id + 1) != 0)
        return NULL;
    return &p->syms.items[id];
}

/* ---- what scripts can see of the market ---- */

static apex_time market_now(void *ud)
{
    pipeline *p = ud;
    return clock_now(p->hs->clock);
}

static int market_last_price(void *ud, const char *symbol, money_t *out)
{
    pipeline *p = ud;
    const price_entry *e = price_table_get(p->hs->prices, symtab_find(p->hs->symbols, symbol));
    if (!e)
        return APEX_ENOTFOUND;
    *out = e->last;
    return 0;
}

static int market_day_change(void *ud, const char *symbol, money_t *out)
{
    pipeline *p = ud;
    return price_table_day_change(p->hs->prices, symtab_find(p->hs->symbols, symbol), out);
}

static int market_news(void *ud, const char *symbol, apex_time since, int *out)
{
    pipeline *p = ud;
    *out = news_max_impact(&p->news, symbol, since, clock_now(p->hs->clock), NULL);
    return 0;
}

static void blame_params_error(const pipeline *p, const char *slot, const char *err, char *out,
                               size_t outlen);

static void on_reload(void *ud, script_slot slot, int status, const char *msg)
{
    pipeline *p = ud;
    const char *which = slot == SCRIPT_BIAS ? p->cfg.bias.file : p->cfg.strategy.file;
    apex_time now = clock_now(p->hs->clock);
    metrics_inc(status == 0 ? p->m_reloads : p->m_reload_failures);
    if (status == 0) {
        log_event("%-13s RELOAD   %s: new code is live (ctx.state kept)", p->cfg.name, which);
        store_event(p->hs->db, now, p->cfg.name, 0, "reload", NULL, "%s reloaded", which);
    } else {
        /* msg names the file and line and ends "(kept the previous version running)"; a
         * value the new params declaration refuses is blamed on where it was set. */
        char blamed[1600];
        if (strstr(msg, ": params.")) {
            blame_params_error(p, slot == SCRIPT_BIAS ? "bias" : "strategy", msg, blamed,
                               sizeof blamed);
            msg = blamed;
        }
        log_event("%-13s RELOAD   %s failed: %s", p->cfg.name, which, msg);
        char text[2048];
        snprintf(text, sizeof text, "%s failed to reload; the old code keeps running: %s", which,
                 msg);
        pipeline_notify_text(p, NOTIFY_RELOAD_FAILED, NULL, text);
        store_event(p->hs->db, now, p->cfg.name, 0, "reload_error", NULL, "%s: %s", which, msg);
    }
}

/* The registry's render asks for the pipeline's gauges: counted from the live trades here
 * rather than kept current on every mark. Realized P&L is the completed executions' (the
 * summary's) plus what the open ones realized so far, as the executions rows hold it. */
static void collect_metrics(void *ud)
{
    pipeline *p = ud;
    int64_t open = 0;
    money_t realized = p->sum.realized, unrealized = 0;
    for (trade *t = p->trades; t; t = t->next) {
        if (trade_is_finished(t))
            continue;
        realized += t->led.realized;
        if (t->has_pos && t->pos.open) {
            open++;
            unrealized += t->pos.unrealized_pnl;
        }
    }
    metrics_set(p->m_open_positions, open);
    metrics_set(p->m_realized, realized);
    metrics_set(p->m_unrealized, unrealized);
}

static void open_metrics(pipeline *p)
{
    const char *name = p->cfg.name;
    p->m_open_positions = metrics_get(METRIC_OPEN_POSITIONS, name);
    p->m_realized = metrics_get(METRIC_REALIZED_PNL, name);
    p->m_unrealized = metrics_get(METRIC_UNREALIZED_PNL, name);
    p->m_reloads = metrics_get(METRIC_RELOADS, name);
    p->m_reload_failures = metrics_get(METRIC_RELOAD_FAILURES, name);
    if (metrics_add_collector(collect_metrics, p) != 0)
        log_error("%s: out of memory: the metrics leave out its positions and P&L", name);
}

/* ---- opening ---- */

static int open_feed(pipeline *p, diag_list *diags)
{
    char err[512];
    p->feed = feed_merge_new();
    if (!p->feed)
        return APEX_ENOMEM;
    for (int i = 0; i < p->cfg.data.nfiles; i++) {
        csv_feed *f = csv_feed_open(p->cfg.data.files[i], p->hs->symbols, p->cfg.data.follow, err,
                                    sizeof err);
        if (!f || feed_merge_add(p->feed, f, err, sizeof err) != 0) {
            diag_add(diags, "%s: data.files[%d]: %s", p->cfg.path, i + 1, err);
            if (f && p->feed == NULL)
                csv_feed_close(f);
            return APEX_EINVAL;
        }
    }
    if (p->cfg.data.news_file[0] &&
        news_load(&p->news, p->cfg.data.news_file, err, sizeof err) != 0) {
        diag_add(diags, "%s: data.news: %s", p->cfg.path, err);
        return APEX_EINVAL;
    }
    return 0;
}

/* The line of the pipeline file that writes SLOT.params.KEY: exactly, where the file
 * writes the params table in place (script/field_line.h); else, for params built
 * elsewhere in the file (a local table), the one line that sets a KEY at all ("fats =
 * 3"), and 0 when several do: a bias and a strategy sharing a parameter name must not get
 * each other's line. */
static int params_key_line(const char *path, const char *slot, const char *key)
{
    char dotted[128];
    snprintf(dotted, sizeof dotted, "%s.params.%s", slot, key);
    int exact = script_field_line(path, dotted);
    if (exact > 0)
        return exact;
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[1024];
    size_t klen = strlen(key);
    int n = 0, found = 0, count = 0;
    while (fgets(line, sizeof line, f)) {
        n++;
        bool here = false;
        for (char *at = strstr(line, key); at && !here; at = strstr(at + 1, key)) {
            bool starts = at == line || !(isalnum((unsigned char)at[-1]) || at[-1] == '_');
            const char *after = at + klen;
            while (*after == ' ' || *after == '\t' || *after == ']' || *after == '"')
                after++;
            here = starts && after[0] == '=' && after[1] != '=';
        }
        if (here && count++ == 0)
            found = n;
    }
    fclose(f);
    return count == 1 ? found : 0;
}

static void blame_params_error(const pipeline *p, const char *slot, const char *err, char *out,
                               size_t outlen)
{
    /* apex.params raises at level 0; the sandbox still names its own line, which says
     * nothing to a trader: drop it. */
    int skip = 0;
    if (sscanf(err, "lua/apex/params.lua:%*d: %n", &skip) >= 0 && skip > 0)
        err += skip;
    const char *at = strstr(err, ": params.");
    char key[64] = "";
    if (at)
        sscanf(at + 9, "%63[A-Za-z0-9_]", key);
    if (key[0]) {
        size_t slen = strlen(slot), klen = strlen(key);
        for (int i = 0; i < p->hs->nparams; i++) {
            const char *o = p->hs->params[i];
            if (strncmp(o, slot, slen) == 0 && o[slen] == '.' &&
                strncmp(o + slen + 1, key, klen) == 0 && o[slen + 1 + klen] == '=') {
                snprintf(out, outlen, "--param %s: %s: %s", o, slot, err);
                return;
            }
        }
        int line = params_key_line(p->cfg.path, slot, key);
        if (line > 0) {
            snprintf(out, outlen, "%s:%d: %s: %s", p->cfg.path, line, slot, err);
            return;
        }
    }
    snprintf(out, outlen, "%s: %s: %s", p->cfg.path, slot, err);
}

static void add_load_error(pipeline *p, diag_list *diags, const char *slot, const char *err)
{
    char msg[1600];
    blame_params_error(p, slot, err, msg, sizeof msg);
    diag_add(diags, "%s", msg);
}

static int open_scripts(pipeline *p, diag_list *diags)
{
    char err[1024];
    script_market market = {.ud = p,
                            .now = market_now,
                            .last_price = market_last_price,
                            .day_change = market_day_change,
                            .news_impact = market_news,
                            .history = pipeline_history,
                            .history_len = p->cfg.history};
    p->scripts = script_host_new(p->cfg.name, SCRIPT_LIMITS_DEFAULT, &market, err, sizeof err);
    if (!p->scripts) {
        diag_add(diags, "%s: cannot start Lua: %s", p->cfg.path, err);
        return APEX_ESCRIPT;
    }
    /* A backtest is reproducible: math.random is seeded from the pipeline (its
     * random_seed, else its name), never from the time; a live run only when asked. */
    if ((p->hs->backtest || p->cfg.random_seed_given) &&
        script_host_set_seed(p->scripts, (uint64_t)config_random_seed(&p->cfg), err, sizeof err) !=
            0) {
        diag_add(diags, "%s: cannot seed math.random: %s", p->cfg.path, err);
        return APEX_ESCRIPT;
    }
    int problems = 0;
    if (p->cfg.bias.file[0] && script_load(p->scripts, SCRIPT_BIAS, p->cfg.bias.file,
                                           p->cfg.bias.params_json, err, sizeof err) != 0) {
        add_load_error(p, diags, "bias", err);
        problems++;
    }
    if (script_load(p->scripts, SCRIPT_STRATEGY, p->cfg.strategy.file, p->cfg.strategy.params_json,
                    err, sizeof err) != 0) {
        add_load_error(p, diags, "strategy", err);
        problems++;
    }
    problems += script_load_rules(p->scripts, p->cfg.instructions, p->cfg.ninstructions,
                                  p->cfg.path, diags);
    p->bias_has_on_bar = script_loaded(p->scripts, SCRIPT_BIAS) &&
                         script_has_callback(p->scripts, SCRIPT_BIAS, "on_bar");
    return problems ? APEX_ESCRIPT : 0;
}

/* A broker account shared with other pipelines has one limiter for all of them (the venue
 * counts per account): the account owns it and its clock. APEX_ENOTFOUND when the broker
 * is this pipeline's alone, which then gets a limiter of its own. */
static int open_account_limiter(pipeline *p, diag_list *diags)
{
    int want = p->cfg.monitoring.max_api_calls_per_minute, was = 0;
    int rc =
        shared_broker_limiter(p->brk, p->hs->clock, p->sim_feed ? NULL : p->hs->loop, want, &was);
    if (rc == APEX_ENOTFOUND)
        return rc;
    if (rc != 0) {
        diag_add(diags, "%s: broker: cannot set up the account's rate limit (%s)", p->cfg.path,
                 err_name(rc));
        return rc;
    }
    if (was == 0 || was == want)
        return 0;
    char msg[512];
    if (want < was)
        snprintf(msg, sizeof msg,
                 "monitoring.max_api_calls_per_minute = %d is lower than the %d of the "
                 "pipelines already on this %s account: the account's limit is now %d calls "
                 "a minute, for all its pipelines together (the smallest applies)",
                 want, was, broker_name(p->brk), want);
    else
        snprintf(msg, sizeof msg,
                 "monitoring.max_api_calls_per_minute = %d does not apply: this %s account is "
                 "shared with other pipelines and its limit is %d calls a minute, for all of "
                 "them together (the smallest configured applies)",
                 want, broker_name(p->brk), was);
    log_warn("%s: %s", p->cfg.name, msg);
    store_event(p->hs->db, clock_now(p->hs->clock), p->cfg.name, 0, "rate_limit", NULL, "%s", msg);
    return 0;
}

static int open_broker(pipeline *p, diag_list *diags)
{
    char err[1024];
    broker_open_args args = {
        .clock = p->hs->clock,
        .store_path = p->hs->db_path,
        .backtest = p->hs->backtest,
        .loop = p->hs->loop,
    };
    p->brk = broker_open(&p->cfg, &args, &p->sim_feed, err, sizeof err);
    if (!p->brk) {
        diag_add(diags, "%s", err);
        return APEX_EINVAL;
    }
    /* Every call to the broker, the paper one included, obeys the per-minute limit, so a
     * backtest sees the same pacing a real broker would impose. A real venue counts its
     * minutes on the wall, whatever the replay speed of the host's clock. */
    int rc = open_account_limiter(p, diags);
    if (rc != APEX_ENOTFOUND)
        return rc;
    if (!p->sim_feed && p->hs->loop && !(p->limiter_clock = clock_new_live(p->hs->loop, 1.0, 0))) {
        diag_add(diags, "%s: broker: out of memory", p->cfg.path);
        return APEX_ENOMEM;
    }
    p->limiter = ratelimit_new(p->limiter_clock ? p->limiter_clock : p->hs->clock,
                               p->cfg.monitoring.max_api_calls_per_minute);
    if (!p->limiter || broker_set_limiter(p->brk, p->limiter) != 0) {
        diag_add(diags, "%s: broker: out of memory", p->cfg.path);
        return APEX_ENOMEM;
    }
    ratelimit_set_metrics(p->limiter, p->cfg.name);
    return 0;
}

static void on_start_account(void *ud, const broker_reply *r)
{
    pipeline *p = ud;
    if (r->status == 0 && r->account) {
        p->sum.start_equity = r->account->equity;
        p->cash_mark = r->account->cash;
        /* Live, the account can answer after the first bar: the curve's first point (the
         * base of the first return, see the first bar below) is then written here. */
        if (p->first_bar_ts)
            store_equity_insert(p->hs->db, p->first_bar_ts, p->cfg.name, p->cash_mark,
                                p->sum.start_equity, NULL);
        /* A restart measures the account against the peak of the runs before it: a loss
         * taken while the host was down trips the drawdown breaker now, not at a fill. */
        pipeline_portfolio_drawdown(p);
    }
}

pipeline *pipeline_open(const host_services *hs, const char *path, diag_list *diags)
{
    pipeline *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->hs = hs;
    LIST_INIT(&p->entry_steps);
    LIST_INIT(&p->resume_waits);
    LIST_INIT(&p->webhook_posts);
    LIST_INIT(&p->approval_waits);
    pipeline_failures_init(p);
    config_defaults(&p->cfg);
    int before = diags->count;
    if (script_load_pipeline_with(path, &p->cfg, hs->params, hs->nparams, diags) != 0 ||
        diags->count > before)
        goto fail;
    pipeline_session_init(p);
    if (pipeline_webhook_open(p, diags) != 0 || pipeline_approval_open(p, diags) != 0)
        goto fail;
    if (pipeline_notify_open(p, diags) != 0)
        goto fail;
    for (int i = 0; i < p->cfg.nsymbols; i++) {
        int id = symtab_intern(hs->symbols, p->cfg.symbols[i], (int)strlen(p->cfg.symbols[i]));
        sym_state *s = id >= 0 ? pipeline_sym(p, id) : NULL;
        if (!s) {
            diag_add(diags, "%s: symbols[%d]: '%s' is not a valid symbol", p->cfg.path, i + 1,
                     p->cfg.symbols[i]);
            goto fail;
        }
        s->traded = true;
    }
    if (open_scripts(p, diags) != 0 || open_feed(p, diags) != 0 || open_broker(p, diags) != 0 ||
        pipeline_portfolio_open(p, diags) != 0)
        goto fail;
    if (pipeline_live_open(p, diags) != 0 || pipeline_http_open(p, diags) != 0)
        goto fail;
    open_metrics(p);
    p->exec = exec_env_new(hs->db, p->brk, hs->clock, &p->cfg, pipeline_exec_hooks(p));
    p->mon = monitor_new(hs->clock, p->brk, hs->db, &p->cfg, pipeline_monitor_hooks(p));
    p->exits =
        exit_executor_new(p->exec, p->brk, hs->db, hs->clock, &p->cfg, pipeline_exit_hooks(p));
    if (!p->exec || !p->mon || !p->exits)
        goto fail;
    /* A backtest's time follows its data: checks and exit orders move on bars. */
    monitor_set_bar_driven(p->mon, hs->backtest);
    exit_executor_set_bar_driven(p->exits, hs->backtest);
    p->strategy_has_edge = script_has_callback(p->scripts, SCRIPT_STRATEGY, "edge");
    p->strategy_has_opportunity = script_has_callback(p->scripts, SCRIPT_STRATEGY, "opportunity");
    exec_env_install(p->exec);
    if (!hs->backtest) {
        /* Warm-up reaches at least as far as the previous run acted: the cursor is saved
         * every few bars, but anything it recorded later (an exit, an order, an event)
         * says it had seen those bars, so they are history now, never acted on again. */
        apex_time acted = 0;
        store_cursor_get(hs->db, p->cfg.name, &p->resume_after);
        if (store_last_activity(hs->db, p->cfg.name, &acted) == 0 && acted > p->resume_after)
            p->resume_after = acted;
        /* A simulating broker's account remembers the newest bar it lived through. */
        apex_time seen = p->sim_feed ? broker_sim_last_bar_time(p->brk) : 0;
        if (seen > p->resume_after)
            p->resume_after = seen;
    }
    if (hs->from_ts > 0 && hs->from_ts - 1 > p->resume_after)
        p->resume_after = hs->from_ts - 1; /* --from: what comes before it only warms up */
    if (hs->loop && script_watch(p->scripts, hs->loop, on_reload, p) != 0)
        log_warn("%s: hot reload unavailable (cannot watch the script directories)", p->cfg.name);
    broker_get_account(p->brk, BROKER_PRIORITY_ROUTINE, on_start_account, p);
    pipeline_resume_load(p);
    return p;
fail:
    pipeline_free(p);
    return NULL;
}

void pipeline_free(pipeline *p)
{
    if (!p)
        return;
    metrics_remove_collector(collect_metrics, p);
    free(p->bar_counts);
    for (trade *t = p->trades; t;) {
        trade *next = t->next;
        if (p->mon)
            monitor_unwatch(p->mon, t);
        if (p->exits)
            exit_executor_drop(p->exits, t);
        t = next;
    }
    /* The monitor and the broker release what their queued requests hold when they are
     * freed; whatever is still held after that is a leak of a hold, and is reported. */
    exit_executor_free(p->exits);
    p->exits = NULL;
    monitor_free(p->mon);
    p->mon = NULL;
    pipeline_live_close(p);
    pipeline_portfolio_close(p);
    broker_free(p->brk);
    p->brk = NULL;
    pipeline_approval_close(p); /* before the entry steps that wait on it */
    pipeline_entry_free_all(p);
    pipeline_resume_free_all(p);
    pipeline_webhook_free_all(p);
    pipeline_notify_close(p);
    exec_env_free(p->exec);
    p->exec = NULL;
    for (trade *t = p->trades; t;) {
        trade *next = t->next;
        if (trade_holds(t) != 0)
            log_error("%s: execution %lld (%s) freed with %d request(s) still holding it",
                      p->cfg.name, (long long)t->row.id, t->row.symbol, trade_holds(t));
        free(t);
        t = next;
    }
    hmap_free(&p->trades_by_id);
    if (p->scripts) {
        script_unwatch(p->scripts);
        script_host_free(p->scripts);
    }
    exec_env_free(p->exec);
    ratelimit_free(p->limiter);
    clock_free(p->limiter_clock); /* NULL allowed; after the limiter's timer stopped */
    feed_merge_free(p->feed);
    bar_queue_free(p->live_bars); /* after the merge that read it */
    pipeline_http_close(p);       /* the same for data.http's queues */
    news_free(&p->news);
    pipeline_history_free(p);
    vec_free(&p->syms);
    config_free(&p->cfg);
    free(p);
}

/* ---- the bar path ---- */

/* --to: the bar waiting is after it, which ends this pipeline's data. */
static bool past_to(const pipeline *p)
{
    return p->hs->to_ts > 0 && p->next.ts > p->hs->to_ts;
}

int pipeline_peek(pipeline *p, apex_time *next)
{
    *next = APEX_TIME_NEVER;
    if (p->feed_error[0])
        return APEX_EINVAL;
    if (!p->has_next) {
        int rc = feed_merge_next(p->feed, &p->next, p->feed_error, sizeof p->feed_error);
        if (rc < 0)
            return rc; /* kept in feed_error for pipeline_step to report */
        p->feed_error[0] = '\0';
        if (rc == 0)
            return 0;
        p->has_next = true;
    }
    if (past_to(p))
        return 0;
    *next = p->next.ts;
    return 1;
}

bool pipeline_busy(const pipeline *p)
{
    for (const trade *t = p->trades; t; t = t->next)
        if (!trade_is_finished(t))
            return true;
    return false;
}

static void save_cursor(pipeline *p)
{
    if (!p->hs->backtest && p->last_ts)
        store_cursor_set(p->hs->db, p->cfg.name, p->last_ts, &p->werr);
}

static void on_equity(void *ud, const broker_reply *r)
{
    pipeline *p = ud;
    if (r->status == 0 && r->account)
        store_equity_insert(p->hs->db, clock_now(p->hs->clock), p->cfg.name, r->account->cash,
                            r->account->equity, NULL);
}

void pipeline_request_equity(pipeline *p)
{
    broker_get_account(p->brk, BROKER_PRIORITY_ROUTINE, on_equity, p);
}

/* New bar time: the previous time is fully processed, so it can become the cursor. */
static void on_new_time(pipeline *p, apex_time ts)
{
    if (p->last_ts && ++p->ts_since_cursor >= CURSOR_EVERY) {
        p->ts_since_cursor = 0;
        save_cursor(p);
    }
    bool reopened = false;
    if (risk_circuit_roll_day(&p->circuit, ts, p->mark, &reopened)) {
        /* One equity snapshot per trading day. */
        broker_get_account(p->brk, BROKER_PRIORITY_ROUTINE, on_equity, p);
        if (reopened) {
            pipeline_durable(p,
                             store_event(p->hs->db, ts, p->cfg.name, 0, "circuit_breaker", &p->werr,
                                         "new trading day: entries allowed again"),
                             "recording the circuit breaker");
            log_event("%-13s RISK     new trading day: entries allowed again", p->cfg.name);
        }
    }
    monitor_start(p->mon);   /* run: reconciliation at start-up, then every period */
    pipeline_session_day(p); /* run: the venue's session for today, on a new day */
    p->last_ts = ts;
    pipeline_sweep(p);
    script_flush_output(p->scripts, false); /* a minute of capped prints is over: say so */
    pipeline_failures_tick(p, ts);
}

static void process_bar(pipeline *p, const bar *b)
{
    const char *name = symtab_name(p->hs->symbols, b->symbol_id);
    sym_state *s = pipeline_sym(p, b->symbol_id);
    if (!s)
        return;
    price_table_update(p->hs->prices, b);
    pipeline_portfolio_bar(p, b);
    pipeline_session_bar(p, s, b);
    bool warmup = b->ts <= p->resume_after;
    if (!warmup) {
        if (b->ts != p->last_ts)
            on_new_time(p, b->ts);
        if (p->sim_feed) {
            p->sim_feed(p->brk, b, name);
            /* Orders the bar filled at its open were filled before its close existed: in a
             * backtest the broker delivers those fills now, so on_bar sees the position it
             * already holds (as backtrader's notify_order comes before next). Only this
             * broker's queue: other timers due now wait for the clock's turn, after every
             * bar of this time. Live, the clock's own turn delivers them. */
            if (p->hs->backtest)
                broker_sim_deliver(p->brk);
        }
        /* The backstop of the failure policy: a write that failed anywhere in the store
         * (exec, the monitor, the exit executor) halts this pipeline's entries too. */
        apex_error first;
        if (!p->write_failed && store_write_failed(p->hs->db, &first))
            pipeline_durable_msg(p, first.code, "a store write", first.msg);
        if (p->resume_pending)
            pipeline_resume_start(p); /* now, on current data and current time */
    }
    p->sum.bars++;
    s->bars++;
    if (!p->first_bar_ts) {
        p->first_bar_ts = b->ts;
        /* The equity curve starts where the data starts: the day snapshots begin at the
         * second day, and the first return needs its base. */
        if (p->sum.start_equity > 0)
            store_equity_insert(p->hs->db, b->ts, p->cfg.name, p->cash_mark, p->sum.start_equity,
                                NULL);
    }
    p->last_bar_ts = b->ts;
    if (!s->traded)
        return;
    /* Before the checks and on_bar of this bar: both see it as the newest. */
    pipeline_history_bar(p, s, b);

    trade *t = s->active;
    script_position view, *pos = NULL;
    if (t && !warmup && p->sim_feed) {
        /* The broker has seen this bar: on a simulated clock the position is checked and a
         * resting exit order may move on, both after the bar's own fills. */
        monitor_on_bar(p->mon, t);
        exit_executor_on_bar(p->exits, t);
        pipeline_entry_expiry_bar(p, t, b, false);
    } else if (t && !warmup && p->live_bars) {
        /* A live bar is news of a price: the position is checked now, on a fresh quote,
         * rather than at the end of its wall-time cadence. */
        monitor_on_bar(p->mon, t);
        monitor_check_soon(p->mon, t);
        pipeline_entry_expiry_bar(p, t, b, false);
    } else if (t && warmup) {
        /* A resting entry resumed after a restart counts the bars it rested through. */
        pipeline_entry_expiry_bar(p, t, b, true);
    }
    if (t && t->has_pos && t->pos.open) {
        /* Warm-up bars are history: they move no position's marks, P&L or drawdown. */
        if (!warmup) {
            monitor_mark(t, b->close, b->ts);
            pipeline_mark_equity(p, t, 0);
            pipeline_check_circuit(p);
        }
        exits_position_view(t, &view);
        pos = &view;
    }
    char err[1024];
    script_signal sig;
    /* APEX_ESTATE: the module's on_start failed for this symbol, which was recorded when it
     * happened (or, in warm-up, is recorded on the first bar after it); the symbol is not
     * traded until a reload fixes it. */
    int rc = p->bias_has_on_bar
                 ? script_on_bar(p->scripts, SCRIPT_BIAS, b, name, pos, &sig, err, sizeof err)
                 : 0;
    if (rc < 0) {
        if (!warmup)
            pipeline_record_script_error(p, b->symbol_id, SCRIPT_STAGE_BIAS, rc, err);
        return;
    }
    rc = script_on_bar(p->scripts, SCRIPT_STRATEGY, b, name, pos, &sig, err, sizeof err);
    if (rc < 0) {
        if (!warmup)
            pipeline_record_script_error(p, b->symbol_id, SCRIPT_STAGE_STRATEGY, rc, err);
        return;
    }
    if (rc == 1 && !warmup)
        coordinator_offer(p, b->symbol_id, &sig, b);
}

int pipeline_step(pipeline *p, char *err, size_t errlen)
{
    if (p->feed_error[0]) {
        /* A malformed row stops the run: trading on past a hole in the data would be
         * trading on a market that did not happen. */
        snprintf(err, errlen, "%s", p->feed_error);
        return APEX_EINVAL;
    }
    if (!p->has_next) {
        int rc = feed_merge_next(p->feed, &p->next, err, errlen);
        if (rc <= 0)
            return rc;
        p->has_next = true;
    }
    if (past_to(p))
        return 0;
    p->has_next = false;
    process_bar(p, &p->next);
    return 1;
}

void pipeline_end_of_data(pipeline *p)
{
    if (p->resume_pending)
        pipeline_resume_start(p);
}

void pipeline_finish(pipeline *p, pipeline_summary *out)
{
    script_flush_output(p->scripts, true);
    pipeline_failures_flush(p);
    save_cursor(p);
    pipeline_sweep(p);
    p->sum.open_positions = 0;
    p->sum.unrealized = 0;
    for (trade *t = p->trades; t; t = t->next) {
        if (trade_is_finished(t) || !t->has_pos || !t->pos.open)
            continue;
        p->sum.open_positions++;
        p->sum.unrealized += t->pos.unrealized_pnl;
        /* Persist the latest monitoring view so `apex-host status` shows it. */
        store_position_update(p->hs->db, &t->pos, &p->werr);
        store_execution_update(p->hs->db, &t->row, &p->werr);
    }
    monitor_stats ms;
    monitor_get_stats(p->mon, &ms);
    p->sum.monitor_checks = ms.checks;
    p->sum.quote_requests = ms.quote_requests;
    p->sum.cache_hits = ms.cache_hits;
    p->sum.broker_calls = broker_api_calls(p->brk);
    p->sum.write_error = p->write_failed ? p->write_error : NULL;
    p->sum.script_failures = &p->failures;
    p->sum.first_bar_ts = p->first_bar_ts;
    p->sum.last_bar_ts = p->last_bar_ts;
    p->sum.symbols = NULL;
    p->sum.nsymbols = 0;
    free(p->bar_counts);
    p->bar_counts = calloc(p->syms.count ? p->syms.count : 1, sizeof *p->bar_counts);
    for (int i = 0; p->bar_counts && i < p->syms.count; i++) {
        const sym_state *s = &p->syms.items[i];
        if (!s->traded && !s->bars)
            continue; /* a symbol another pipeline reads */
        p->bar_counts[p->sum.nsymbols++] = (pipeline_symbol_bars){
            .symbol = symtab_name(p->hs->symbols, (int)i), .declared = s->traded, .bars = s->bars};
    }
    p->sum.symbols = p->bar_counts;
    *out = p->sum;
}
