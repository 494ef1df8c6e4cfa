#include "pipeline/host.h"

#include <errno.h>
#include <glob.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "analytics/analytics.h"
#include "broker/registry.h"
#include "market/timestamp.h"
#include "metrics/metrics.h"
#include "money/money.h"
#include "net/http.h"
#include "net/ws.h"
#include "pipeline/banner.h"
#include "pipeline/coordinator.h"
#include "pipeline/pipeline.h"
#include "pipeline/progress.h"
#include "report/report.h"
#include "script/script.h"
#include "store/store_trades.h"
#include "pipeline/run_files.h"
#include "util/err.h"
#include "util/log.h"

_Static_assert(EXIT_SCRIPT_STUCK == SCRIPT_EXIT_STUCK, "one exit status, two names");

/* Replay gaps longer than this (data time) are skipped instead of waited out. */
#define REPLAY_MAX_GAP (30 * APEX_MINUTE)
/* At most this many turns for a moment's work to finish before a gap is jumped. */
#define REPLAY_SETTLE_ROUNDS 10000
/* How often a followed (live) feed is polled for new rows, in ms. */
#define FOLLOW_POLL_MS 200

typedef struct {
    host_options opt;
    host_services hs;
    pipeline **pipes;
    int npipes; /* loaded; all of pipes[0..npipes) once loading succeeded */
    int nslots; /* entries of pipes, one per file given; NULL where loading failed */
    uv_loop_t loop;
    uv_signal_t sigint, sigterm;
    uv_timer_t follow_timer;
    uv_timer_t arrived_timer; /* a live source pushed bars: read them on the next turn */
    uv_timer_t limit_timer;
    clock_timer pump;
    clock_timer settle; /* a replay's gap waits until the moment's work is done */
    int settle_rounds;
    clock_timer drain;
    bool draining;
    uv_timer_t posts_timer; /* end of data: waits in wall time for posts in flight */
    double posts_since;
    double notify_since;       /* the last notification delivered while ending */
    uint64_t notify_sent_seen; /* notifications_sent then */
    bool follow;
    bool stopping;
    bool observing; /* opt.observer started: stop it before the pipelines go */
    int exit_code;
    double wall_start;
    /* Log lines carry the data's time once the clock holds it; while the store opens and
     * the pipelines load they carry the wall clock's (the simulated clock is still at 0,
     * the replay clock not yet at the first bar). */
    bool log_data_time;
    char db_path[4200];
    int lock_fd;
} host;

/* SIGINT and SIGTERM are caught from the first moment of host_main: a signal that
 * arrives while the store opens and the pipelines load must not be lost (a process
 * started in the background by a non-interactive shell even inherits SIGINT ignored).
 * The handler raises this flag; the backtest's bar loop reads it, and a live run checks
 * it when its loop starts (libuv's handlers take over from there). The handler then
 * restores the default, so a second signal ends the process at once. */
static volatile sig_atomic_t early_signal;

static void on_early_signal(int signum)
{
    early_signal = signum;
    signal(signum, SIG_DFL);
}

static void catch_signals_early(bool on)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on ? on_early_signal : SIG_DFL;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (on)
        early_signal = 0;
}

/* Every way a run stops goes through here: the loop is stopped so uv_run returns. */
static void stop_host(host *h)
{
    if (h->stopping)
        return;
    h->stopping = true;
    if (!h->opt.backtest)
        uv_stop(&h->loop);
}

static double wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int64_t log_clock(void *ud)
{
    host *h = ud;
    if (h->log_data_time && h->hs.clock)
        return clock_now(h->hs.clock);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Before the first bar: what trades where (pipeline/banner.h). */
static void print_banner(host *h, double speed)
{
    if (h->opt.quiet)
        return;
    const pipeline_config *cfgs[h->npipes > 0 ? h->npipes : 1];
    for (int i = 0; i < h->npipes; i++)
        cfgs[i] = pipeline_cfg(h->pipes[i]);
    run_banner b = {.backtest = h->opt.backtest,
                    .pipes = cfgs,
                    .npipes = h->npipes,
                    .follow = h->follow,
                    .speed = speed,
                    .store = h->db_path,
                    /* `run --http ADDR`: the server (core/server) is the observer. */
                    .http_listen = h->opt.observer ? h->opt.observer->listen : NULL};
    run_banner_print(stdout, &b);
}

static void remove_fresh(const char *db)
{
    char path[4200];
    const char *suffixes[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s%s", db, suffixes[i]);
        unlink(path);
    }
}

/* Paper accounts live beside the store: "<db>.<pipeline>.paper" (+ WAL files). */
static void remove_paper_states(const char *db)
{
    char pattern[4200];
    glob_t g;
    snprintf(pattern, sizeof pattern, "%s.*.paper", db);
    if (glob(pattern, 0, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++)
            remove_fresh(g.gl_pathv[i]);
        globfree(&g);
    }
}

/* The pipeline whose next bar is the earliest, or NULL at the end of every feed. A
 * pipeline whose feed failed is returned first with *data_error set: its error stops
 * the run when stepped. */
static pipeline *earliest(host *h, apex_time *ts, bool *data_error)
{
    pipeline *best = NULL;
    *ts = APEX_TIME_NEVER;
    *data_error = false;
    for (int i = 0; i < h->npipes; i++) {
        apex_time t;
        int rc = pipeline_peek(h->pipes[i], &t);
        if (rc < 0) {
            *data_error = true;
            return h->pipes[i];
        }
        if (rc > 0 && t < *ts) {
            *ts = t;
            best = h->pipes[i];
        }
    }
    return best;
}

/* Processes one bar from whichever pipeline has the earliest; 0 when none is ready. */
static int step_once(host *h, apex_time limit)
{
    apex_time ts;
    bool data_error;
    pipeline *p = earliest(h, &ts, &data_error);
    if (!p || (!data_error && ts > limit))
        return 0;
    coordinator_flush_before(h->hs.coord, ts); /* the signals of the previous bar time */
    char err[1024];
    int rc = pipeline_step(p, err, sizeof err);
    if (rc < 0) {
        log_error("%s: %s", pipeline_name(p), err);
        fprintf(stderr, "apex-host: stopped on a data error: %s\n", err);
        h->exit_code = EXIT_RUNTIME;
        stop_host(h);
        return 0;
    }
    return rc;
}

/* Bars per store transaction in a backtest: one commit per bar-sized write would
 * dominate the run, and a backtest's store needs no per-write durability. */
#define BACKTEST_BATCH_BARS 10000

/* The data's last time over every pipeline's files, for the progress line's ETA. */
static apex_time data_end(host *h)
{
    apex_time end = 0;
    for (int i = 0; i < h->npipes; i++) {
        const pipeline_config *cfg = pipeline_cfg(h->pipes[i]);
        for (int j = 0; j < cfg->data.nfiles; j++) {
            apex_time t = progress_file_end(cfg->data.files[j]);
            if (t > end)
                end = t;
        }
    }
    return end;
}

static void run_backtest(host *h)
{
    apex_time ts;
    bool data_error;
    long in_batch = 0;
    progress pr = {0};
    if (h->opt.progress)
        progress_start(&pr, stderr, data_end(h));
    store_begin(h->hs.db, NULL);
    while (!h->stopping && earliest(h, &ts, &data_error)) {
        if (early_signal) {
            log_event("received %s: stopping the backtest at %s; the summary covers what ran "
                      "and the store is marked interrupted",
                      early_signal == SIGINT ? "SIGINT" : "SIGTERM", "this bar");
            h->exit_code = EXIT_INTERRUPTED;
            break;
        }
        if (++in_batch >= BACKTEST_BATCH_BARS) {
            store_commit(h->hs.db, NULL);
            store_begin(h->hs.db, NULL);
            in_batch = 0;
        }
        if (data_error) { /* a read error surfaced in peek: step reports it and stops */
            step_once(h, APEX_TIME_NEVER);
            break;
        }
        /* Timers due at the current time (a check a bar asked for) wait until every bar
         * of that time has been processed, whichever pipeline or symbol it belongs to: a
         * check between two bars of one time would see half a market. */
        if (ts > clock_now(h->hs.clock)) {
            coordinator_flush(h->hs.coord); /* ranked and sent at their own time */
            clock_advance_to(h->hs.clock, ts);
        }
        h->log_data_time = true;
        step_once(h, ts);
        progress_bar(&pr, ts);
    }
    progress_end(&pr);
    if (!h->stopping && h->exit_code == EXIT_OK)
        coordinator_flush(h->hs.coord);
    /* The equity curve ends where the data ended, not at the last day's first bar. */
    for (int i = 0; i < h->npipes; i++)
        pipeline_request_equity(h->pipes[i]);
    clock_run_due(h->hs.clock); /* replies and fills from the last bar */
    apex_error err;
    if (store_commit(h->hs.db, &err) != 0)
        log_error("backtest: the last batch of results could not be saved: %s", err.msg);
}

/* ---- live ---- */

static void on_signal(uv_signal_t *sig, int signum)
{
    host *h = sig->data;
    const char *name = signum == SIGINT ? "SIGINT" : "SIGTERM";
    if (h->stopping) {
        /* The first signal asked for a clean stop; a second one forces it. The store is
         * crash-safe (WAL, intents before sends), so a restart resumes from here. */
        fprintf(stderr, "apex-host: second %s: exiting now without the summary\n", name);
        _exit(130);
    }
    log_event("received %s: stopping; open positions stay monitored after a restart (a "
              "second %s forces the stop)",
              name, name);
    stop_host(h);
}

static void schedule_pump(host *h);

static void on_time_limit(uv_timer_t *timer)
{
    host *h = timer->data;
    log_event("time limit of %.0f s reached; stopping", h->opt.max_seconds);
    stop_host(h);
}

/* How long the end of data waits for outgoing posts (the webhook tool) to be answered. A
 * post still unanswered after it is re-posted on the next run with its Idempotency-Key. */
#define POSTS_WAIT_S 120.0

/* How long the end of data waits for notifications due now (the last exit's, most often)
 * with none delivered meanwhile: a backlog that is still going out (a channel's rate
 * limit) is waited for; one stuck this long is sent by the next run. */
#define NOTIFY_WAIT_S 15.0

static uint64_t notifications_sent(host *h)
{
    uint64_t n = 0;
    for (int i = 0; i < h->npipes; i++)
        n += pipeline_notify_sent(h->pipes[i]);
    return n;
}

static int notifications_busy(host *h)
{
    int n = 0;
    for (int i = 0; i < h->npipes; i++)
        n += pipeline_notify_busy(h->pipes[i]);
    return n;
}

static void on_posts_poll(uv_timer_t *timer)
{
    host *h = timer->data;
    int n = http_client_in_flight(h->hs.http), m = notifications_busy(h);
    double now = wall_seconds(), waited = now - h->posts_since;
    uint64_t sent = notifications_sent(h);
    if (sent != h->notify_sent_seen) { /* still going out: wait on */
        h->notify_sent_seen = sent;
        h->notify_since = now;
    }
    if ((n == 0 || waited > POSTS_WAIT_S) && (m == 0 || now - h->notify_since > NOTIFY_WAIT_S)) {
        if (n)
            log_warn("end of data: %d post(s) still unanswered after %.0f s; they are posted "
                     "again on the next run",
                     n, POSTS_WAIT_S);
        if (m)
            log_warn(
                "end of data: notifications still pending on %d channel(s), none sent for %.0f s; "
                "the next run sends them",
                m, NOTIFY_WAIT_S);
        uv_timer_stop(timer);
        stop_host(h);
    }
}

static void on_drained(clock_timer *timer, void *ud)
{
    (void)timer;
    host *h = ud;
    /* Data time is over, but an answer to a post (or a notification) arrives in wall time. */
    int n = h->hs.http ? http_client_in_flight(h->hs.http) : 0;
    if (n == 0 && notifications_busy(h) == 0) {
        stop_host(h);
        return;
    }
    if (n)
        log_event("end of data: waiting for %d webhook post(s) to be answered (at most %.0f s; "
                  "ctrl-C stops now)",
                  n, POSTS_WAIT_S);
    h->posts_since = h->notify_since = wall_seconds();
    h->notify_sent_seen = notifications_sent(h);
    uv_timer_start(&h->posts_timer, on_posts_poll, 20, 20);
}

static void pump(clock_timer *timer, void *ud)
{
    (void)timer;
    host *h = ud;
    apex_time now = clock_now(h->hs.clock);
    while (!h->stopping && step_once(h, now))
        ;
    if (!h->stopping) {
        coordinator_flush(h->hs.coord);
        schedule_pump(h);
    }
}

static void schedule_pump(host *h)
{
    apex_time ts;
    bool data_error;
    pipeline *p = earliest(h, &ts, &data_error);
    if (!p || data_error) {
        if (h->follow && !data_error)
            return; /* the follow timer polls for new rows */
        if (data_error) {
            step_once(h, APEX_TIME_NEVER); /* surface the data error */
            stop_host(h);
            return;
        }
        if (!h->draining) {
            /* Let the last bars' orders, fills and checks settle (a minute of data time),
             * then stop; open executions resume on the next run. */
            h->draining = true;
            for (int i = 0; i < h->npipes; i++)
                pipeline_end_of_data(h->pipes[i]);
            log_event("end of data: stopping in a minute of data time; open executions "
                      "resume on the next run");
            clock_timer_init(h->hs.clock, &h->drain, on_drained, h);
            clock_timer_start(&h->drain, clock_now(h->hs.clock) + APEX_MINUTE);
        }
        return;
    }
    apex_time now = clock_now(h->hs.clock);
    /* Warm-up bars after a restart, and long gaps in replayed data, do not wait. */
    bool warmup = true;
    for (int i = 0; i < h->npipes; i++)
        if (ts > pipeline_resume_time(h->pipes[i]))
            warmup = false;
    if (!h->follow && (warmup || ts - now > REPLAY_MAX_GAP) && ts > now) {
        /* What this bar started (an entry's quote, its order, the broker's accept, each a
         * timer at this moment started by the one before) finishes at this moment before the
         * clock jumps; jumping first put each step behind the next bar, and a daily-bar
         * replay sent an entry eight bars after its signal. The settle timer goes behind
         * whatever is due now, and again while a step starts another (bounded, in case a
         * timer re-arms itself at the same moment forever). */
        if (clock_next_due(h->hs.clock) <= now && h->settle_rounds < REPLAY_SETTLE_ROUNDS) {
            h->settle_rounds++;
            clock_timer_start(&h->settle, now);
            return;
        }
        h->settle_rounds = 0;
        clock_jump_to(h->hs.clock, ts);
    }
    clock_timer_start(&h->pump, ts);
}

static void settled(clock_timer *t, void *ud)
{
    (void)t;
    host *h = ud;
    if (!h->stopping)
        schedule_pump(h);
}

static void on_follow_poll(uv_timer_t *timer)
{
    host *h = timer->data;
    /* Live data: process whatever has arrived, whatever its timestamp. */
    while (!h->stopping && step_once(h, APEX_TIME_NEVER))
        ;
    if (!h->stopping)
        coordinator_flush(h->hs.coord);
}

/* A source pushed bars from inside its own callback (a stream frame): they are read on
 * the loop's next turn, once however many arrived in this one. */
static void data_arrived(void *ud)
{
    host *h = ud;
    if (!h->stopping && !uv_is_active((uv_handle_t *)&h->arrived_timer))
        uv_timer_start(&h->arrived_timer, on_follow_poll, 0, 0);
}

static void close_walk(uv_handle_t *handle, void *arg)
{
    (void)arg;
    if (!uv_is_closing(handle))
        uv_close(handle, NULL);
}

/* ---- summary ---- */

/* `--metrics FILE`: the registry in Prometheus text, written beside and then renamed over
 * FILE, so a reader (a node exporter's textfile collector) never sees half of it. */
static int write_metrics(const char *path)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        fprintf(stderr, "apex-host: --metrics %s: the path is too long\n", path);
        return APEX_EINVAL;
    }
    FILE *f = fopen(tmp, "w");
    int rc = f ? metrics_render_prometheus(f) : APEX_EIO;
    if (f && fclose(f) != 0)
        rc = APEX_EIO;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = APEX_EIO;
    if (rc != 0) {
        fprintf(stderr,
                "apex-host: --metrics %s: cannot write the metrics: %s; check that its "
                "directory exists and is writable\n",
                path, strerror(errno));
        remove(tmp);
    }
    return rc;
}

/* One line per stage whose scripts failed: how often, how much of it was recorded one by
 * one (the rest was summarised), and the last error, cut to fit a terminal. */
static void print_script_failures(const script_failures *f)
{
    for (int i = 0; f && i < SCRIPT_STAGE_COUNT; i++) {
        const script_failure_stage *st = &f->stages[i];
        if (!st->total)
            continue;
        printf("  script failures: %s %llu (%llu recorded, %llu summarised); last: %.160s\n",
               script_stage_name((script_stage)i), (unsigned long long)st->total,
               (unsigned long long)st->recorded, (unsigned long long)(st->total - st->recorded),
               st->last_error);
    }
}

/* "2024-03-01 14:30" (UTC) for the summary's span. */
static char *summary_time(apex_time t, char *buf, size_t len)
{
    time_t secs = (time_t)(t / APEX_SECOND);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(buf, len, "%Y-%m-%d %H:%M", &tm);
    return buf;
}

static const analytics_trade_stats *symbol_stats(const analytics_result *r, const char *sym)
{
    for (size_t i = 0; i < r->nsymbols; i++)
        if (strcmp(r->by_symbol[i].key, sym) == 0)
            return &r->by_symbol[i];
    return NULL;
}

/* The analytics lines: the same numbers `--report` and the JSON API show, computed from
 * the store's trades and equity curve (docs/analytics.md). */
static void print_metrics(const pipeline_summary *s, const analytics_result *r)
{
    char a[32], b[32], c[32], d[32], e[32], f[32];
    printf("  trades %zu  wins %zu  losses %zu  breakeven %zu  win rate %s  profit factor %s  "
           "expectancy %s\n",
           r->all.trades, r->all.wins, r->all.losses, r->all.breakeven,
           analytics_format_pct(r->all.win_rate, a, sizeof a),
           analytics_format(r->all.profit_factor, b, sizeof b),
           analytics_format(r->all.expectancy, c, sizeof c));
    char rb[32], fb[32], ub[32];
    printf("  realized P&L %s (fees %s)  open positions %llu (unrealized %s)\n",
           money_format(s->realized, 2, rb, sizeof rb), money_format(s->fees, 2, fb, sizeof fb),
           (unsigned long long)s->open_positions, money_format(s->unrealized, 2, ub, sizeof ub));
    printf("  return %s (annualised %s)  volatility %s  Sharpe %s  Sortino %s  Calmar %s\n",
           analytics_format_pct(r->total_return, a, sizeof a),
           analytics_format_pct(r->annual_return, b, sizeof b),
           analytics_format_pct(r->volatility, c, sizeof c),
           analytics_format(r->sharpe, d, sizeof d), analytics_format(r->sortino, e, sizeof e),
           analytics_format(r->calmar, f, sizeof f));
    char eb[32];
    printf("  max drawdown %.2f (%s of the peak; starting equity %s), %.1f days below a peak\n",
           r->max_drawdown_amount, analytics_format_pct(r->max_drawdown, a, sizeof a),
           money_format(s->start_equity, 2, eb, sizeof eb),
           (double)r->max_drawdown_duration / (double)ANALYTICS_DAY_US);
    printf("  exposure %s (time with a position open)\n",
           analytics_format_pct(r->exposure, a, sizeof a));
}

/* Rows of the per-symbol table; the rest are counted in one line (a pipeline may list
 * thousands of symbols, and the summary must stay readable). */
#define SUMMARY_SYMBOLS_MAX 20
/* Names listed in the warning about declared symbols without bars. */
#define SUMMARY_MISSING_MAX 5

/* Bars, trades, P&L and win rate per symbol; a declared symbol without bars is a warning:
 * its data file is missing rows, or the symbol is misspelt. */
static void print_symbols(const pipeline_summary *s, const analytics_result *r)
{
    if (!s->nsymbols)
        return;
    printf("  %-10s %10s %7s %14s %9s\n", "symbol", "bars", "trades", "P&L", "win rate");
    for (int i = 0; i < s->nsymbols && i < SUMMARY_SYMBOLS_MAX; i++) {
        const pipeline_symbol_bars *sb = &s->symbols[i];
        const analytics_trade_stats *st = symbol_stats(r, sb->symbol);
        char pnl[32], wr[32];
        printf("  %-10s %10llu %7zu %14s %9s\n", sb->symbol, (unsigned long long)sb->bars,
               st ? st->trades : 0, money_format(st ? st->net_pnl : 0, 2, pnl, sizeof pnl),
               analytics_format_pct(st ? st->win_rate : NAN, wr, sizeof wr));
    }
    if (s->nsymbols > SUMMARY_SYMBOLS_MAX)
        printf("  ... and %d more symbols (every one in --report)\n",
               s->nsymbols - SUMMARY_SYMBOLS_MAX);
    int missing = 0;
    for (int i = 0; i < s->nsymbols; i++)
        missing += s->symbols[i].declared && !s->symbols[i].bars;
    if (missing == 1) {
        for (int i = 0; i < s->nsymbols; i++)
            if (s->symbols[i].declared && !s->symbols[i].bars)
                printf("  warning: %s is in symbols but the data has no bars for it; check "
                       "data.files\n",
                       s->symbols[i].symbol);
    } else if (missing > 1) {
        printf("  warning: %d symbols are in symbols but the data has no bars for them (", missing);
        for (int i = 0, listed = 0; i < s->nsymbols && listed < SUMMARY_MISSING_MAX; i++)
            if (s->symbols[i].declared && !s->symbols[i].bars)
                printf("%s%s", listed++ ? ", " : "", s->symbols[i].symbol);
        printf("%s); check data.files\n", missing > SUMMARY_MISSING_MAX ? ", ..." : "");
    }
}

static void print_summary(host *h, double elapsed)
{
    uint64_t total_bars = 0, script_errors = 0;
    printf("\n==== summary %s ====\n", h->opt.backtest ? "(backtest)" : "(run)");
    for (int i = 0; i < h->npipes; i++) {
        pipeline_summary s;
        pipeline_finish(h->pipes[i], &s);
        total_bars += s.bars;
        const pipeline_config *cfg = pipeline_cfg(h->pipes[i]);
        analytics_options ao = {.risk_free_rate = money_to_double(cfg->report.risk_free_rate),
                                .periods_per_year = cfg->report.periods_per_year};
        store_analytics sa;
        analytics_result r;
        char aerr[256];
        bool have = store_analytics_load(h->hs.db, cfg->name, &ao, &sa) == 0 &&
                    analytics_compute(&sa.in, &r, aerr, sizeof aerr) == 0;
        if (s.first_bar_ts) {
            char from[32], to[32];
            printf("%s  %s to %s UTC\n", pipeline_name(h->pipes[i]),
                   summary_time(s.first_bar_ts, from, sizeof from),
                   summary_time(s.last_bar_ts, to, sizeof to));
        } else {
            printf("%s  no bars\n", pipeline_name(h->pipes[i]));
        }
        printf("  bars %llu  signals %llu  executions %llu (skipped %llu, failed %llu)\n",
               (unsigned long long)s.bars, (unsigned long long)s.signals,
               (unsigned long long)s.executions, (unsigned long long)s.skipped,
               (unsigned long long)s.failed);
        if (have) {
            print_metrics(&s, &r);
            print_symbols(&s, &r);
            analytics_result_free(&r);
        } else {
            printf("  results could not be read from the store: %s\n", store_errmsg(h->hs.db));
        }
        store_analytics_free(&sa);
        printf("  monitor checks %llu  broker calls %llu\n", (unsigned long long)s.monitor_checks,
               (unsigned long long)s.broker_calls);
        print_script_failures(s.script_failures);
        for (int k = 0; s.script_failures && k < SCRIPT_STAGE_COUNT; k++)
            script_errors += s.script_failures->stages[k].total;
        if (s.write_error) {
            printf("  DURABLE WRITE FAILED: %s; new entries were halted\n", s.write_error);
            h->exit_code = EXIT_RUNTIME;
        }
    }
    apex_error first;
    if (store_write_failed(h->hs.db, &first)) {
        printf("DURABLE WRITE FAILED in the store: %s (%ld write(s) failed)\n", first.msg,
               store_write_failures(h->hs.db));
        h->exit_code = EXIT_RUNTIME;
    }
    /* --strict: a strategy that raised on every bar must not look like a clean run to a
     * script or CI job reading only the exit code. */
    if (h->opt.strict && script_errors > 0) {
        printf("--strict: %llu script error(s) (above); exit code %d\n",
               (unsigned long long)script_errors, EXIT_SCRIPT_ERRORS);
        if (h->exit_code == EXIT_OK)
            h->exit_code = EXIT_SCRIPT_ERRORS;
    }
    printf("processed %llu bars in %.3f s (%.0f bars/s); store %s\n",
           (unsigned long long)total_bars, elapsed, elapsed > 0 ? (double)total_bars / elapsed : 0,
           h->opt.db_path);
    fflush(stdout);
}

/* `backtest --trades` and `--report`: from the store, like the summary. A failure is
 * reported and makes the exit code non-zero; the store keeps the results either way. */
static void write_outputs(host *h)
{
    char err[512];
    if (h->opt.trades_path) {
        if (report_write_trades(h->hs.db, NULL, h->opt.trades_path, err, sizeof err) != 0) {
            fprintf(stderr, "apex-host: %s\n", err);
            h->exit_code = EXIT_RUNTIME;
        } else {
            printf("trades written to %s\n", h->opt.trades_path);
        }
    }
    if (h->opt.report_path) {
        const char **names = calloc((size_t)h->npipes + 1, sizeof *names);
        analytics_options *opts = calloc((size_t)h->npipes + 1, sizeof *opts);
        int rc = names && opts ? 0 : APEX_ENOMEM;
        for (int i = 0; !rc && i < h->npipes; i++) {
            const pipeline_config *cfg = pipeline_cfg(h->pipes[i]);
            names[i] = cfg->name;
            opts[i] =
                (analytics_options){.risk_free_rate = money_to_double(cfg->report.risk_free_rate),
                                    .periods_per_year = cfg->report.periods_per_year};
        }
        if (rc)
            snprintf(err, sizeof err, "--report: out of memory");
        else
            rc = report_write_html(h->hs.db, names, opts, h->npipes, report_chartjs_path(),
                                   h->opt.report_path, err, sizeof err);
        if (rc) {
            fprintf(stderr, "apex-host: %s\n", err);
            h->exit_code = EXIT_RUNTIME;
        } else {
            printf("report written to %s\n", h->opt.report_path);
        }
        free(names);
        free(opts);
    }
    fflush(stdout);
}

/* ---- entry points ---- */

static int open_all(host *h, const char *const *paths, int npaths)
{
    diag_list diags;
    diag_init(&diags);
    h->pipes = calloc((size_t)npaths, sizeof *h->pipes);
    h->nslots = h->pipes ? npaths : 0;
    int bad = 0;
    for (int i = 0; h->pipes && i < npaths; i++) {
        h->pipes[i] = pipeline_open(&h->hs, paths[i], &diags);
        if (!h->pipes[i]) {
            bad++;
            continue;
        }
        h->npipes++;
        if (pipeline_cfg(h->pipes[i])->data.follow || pipeline_live_feed(h->pipes[i]))
            h->follow = true;
        for (int j = 0; j < i; j++)
            if (h->pipes[j] &&
                strcmp(pipeline_name(h->pipes[j]), pipeline_name(h->pipes[i])) == 0) {
                diag_add(&diags,
                         "%s: name: '%s' is already used by %s; pipeline names must be "
                         "unique",
                         paths[i], pipeline_name(h->pipes[i]), paths[j]);
                bad++;
            }
    }
    for (int i = 0; i < diags.count; i++)
        fprintf(stderr, "%s\n", diags.items[i]);
    diag_free(&diags);
    if (bad)
        fprintf(stderr, "apex-host: %d pipeline(s) failed to load; nothing was traded\n", bad);
    return bad ? EXIT_INVALID : 0;
}

int host_main(const char *const *paths, int npaths, const host_options *opt)
{
    host *h = calloc(1, sizeof *h);
    if (!h)
        return EXIT_RUNTIME;
    h->opt = *opt;
    h->wall_start = wall_seconds();
    if (opt->quiet)
        log_set_level(LOG_WARN);
    else if (opt->verbose)
        log_set_level(LOG_INFO);
    h->lock_fd = -1;
    catch_signals_early(true);

    char err[512];
    int code = EXIT_OK;
    if (opt->db_path) {
        snprintf(h->db_path, sizeof h->db_path, "%s", opt->db_path);
    } else if (run_files_backtest_path(paths[0], h->db_path, sizeof h->db_path, err, sizeof err) !=
               0) {
        fprintf(stderr, "apex-host: %s\n", err);
        free(h);
        catch_signals_early(false);
        return EXIT_STORE;
    }
    h->opt.db_path = h->db_path;
    opt = &h->opt;
    if (run_files_lock(h->db_path, &h->lock_fd, err, sizeof err) != 0) {
        fprintf(stderr, "apex-host: %s\n", err);
        free(h);
        catch_signals_early(false);
        return EXIT_STORE;
    }
    if (opt->backtest && !opt->force && run_files_holds_live_run(h->db_path)) {
        fprintf(stderr,
                "apex-host: %s holds the executions and paper accounts of a live run; a "
                "backtest would replace them. Leave out --db (results go to a new file under "
                "results/), name another file, or pass --force to replace it.\n",
                h->db_path);
        run_files_unlock(h->lock_fd);
        free(h);
        catch_signals_early(false);
        return EXIT_STORE;
    }
    if (opt->fresh && strcmp(h->db_path, ":memory:") != 0) {
        remove_fresh(h->db_path);
        remove_paper_states(h->db_path);
    }
    h->hs.db = store_open(h->db_path, opt->backtest ? STORE_FAST : STORE_DURABLE, err, sizeof err);
    if (!h->hs.db) {
        fprintf(stderr, "apex-host: %s\n", err);
        run_files_unlock(h->lock_fd);
        free(h);
        catch_signals_early(false);
        return EXIT_STORE;
    }
    if (store_metrics_attach(h->hs.db) != 0)
        log_error("out of memory: the metrics leave out the orders by status");
    store_meta_set(h->hs.db, "run_kind", opt->backtest ? "backtest" : "run", NULL);
    store_meta_set(h->hs.db, "run_state", "running", NULL);
    h->hs.db_path = h->db_path;
    h->hs.backtest = opt->backtest;
    h->hs.params = opt->params;
    h->hs.nparams = opt->nparams;
    h->hs.from_ts = opt->from_ts;
    h->hs.to_ts = opt->to_ts;
    h->hs.coord = coordinator_new();
    if (!h->hs.coord) /* signals then go on as they arrive, unranked */
        log_error("out of memory: the signals of one bar are not ranked");
    h->hs.symbols = symtab_new();
    price_table prices;
    price_table_init(&prices);
    h->hs.prices = &prices;
    if (opt->backtest) {
        h->hs.clock = clock_new_simulated(0);
    } else {
        uv_loop_init(&h->loop);
        h->hs.loop = &h->loop;
        uv_timer_init(&h->loop, &h->posts_timer);
        h->posts_timer.data = h;
        uv_timer_init(&h->loop, &h->arrived_timer);
        h->arrived_timer.data = h;
        h->hs.data_arrived = data_arrived;
        h->hs.host_ud = h;
        apex_error herr;
        http_client_options ho;
        http_client_options_default(&ho);
        ho.metrics_name = "webhook_tool";
        h->hs.http = http_client_new(&h->loop, &ho, &herr);
        if (!h->hs.http) /* only the webhook tool needs it, and it says so when it runs */
            log_error("outgoing HTTP is unavailable: %s", herr.msg);
    }
    log_set_clock(log_clock, h);

    if (!opt->backtest) {
        /* The clock's speed is known only after the pipelines are loaded: load them on a
         * provisional replay clock, then re-anchor it. */
        double speed = opt->speed;
        h->hs.clock = clock_new_live(&h->loop, speed > 0 ? speed : 1.0, 1);
    }
    code = open_all(h, paths, npaths);
    if (code != EXIT_OK)
        goto done;

    if (opt->backtest) {
        print_banner(h, 0);
        run_backtest(h);
    } else {
        if (h->follow) {
            clock_set_wall(h->hs.clock); /* the pipelines already hold this clock */
        } else {
            /* --speed wins; else the pipelines' data.speed (the first one's when they
             * differ, said aloud); else real time. */
            double speed = opt->speed;
            if (!(speed > 0)) {
                speed = pipeline_cfg(h->pipes[0])->data.speed;
                for (int i = 1; i < h->npipes; i++)
                    if (pipeline_cfg(h->pipes[i])->data.speed != speed)
                        log_warn("pipelines ask for different data.speed; replaying at %g "
                                 "(the first one's); pass --speed to choose",
                                 speed > 0 ? speed : 1.0);
                if (!(speed > 0))
                    speed = 1.0;
            }
            clock_set_speed(h->hs.clock, speed);
        }
        if (opt->max_seconds > 0) {
            /* A wall-time limit, independent of how much data is left or how fast. */
            uv_timer_init(&h->loop, &h->limit_timer);
            h->limit_timer.data = h;
            uv_timer_start(&h->limit_timer, on_time_limit, (uint64_t)(opt->max_seconds * 1000.0),
                           0);
        }
        print_banner(h, clock_speed(h->hs.clock));
        apex_time first;
        bool data_error;
        if (earliest(h, &first, &data_error) && !data_error && !h->follow)
            clock_jump_to(h->hs.clock, first);
        h->log_data_time = true;
        uv_signal_init(&h->loop, &h->sigint);
        uv_signal_init(&h->loop, &h->sigterm);
        h->sigint.data = h->sigterm.data = h;
        uv_signal_start(&h->sigint, on_signal, SIGINT);
        uv_signal_start(&h->sigterm, on_signal, SIGTERM);
        if (early_signal) {
            log_event("received %s while starting: stopping",
                      early_signal == SIGINT ? "SIGINT" : "SIGTERM");
            stop_host(h);
        }
        clock_timer_init(h->hs.clock, &h->pump, pump, h);
        clock_timer_init(h->hs.clock, &h->settle, settled, h);
        if (h->follow) {
            uv_timer_init(&h->loop, &h->follow_timer);
            h->follow_timer.data = h;
            uv_timer_start(&h->follow_timer, on_follow_poll, 0, FOLLOW_POLL_MS);
        } else {
            schedule_pump(h);
        }
        if (opt->observer && !h->stopping) {
            host_view view = {.loop = &h->loop,
                              .clock = h->hs.clock,
                              .db_path = h->db_path,
                              .pipes = h->pipes,
                              .npipes = h->npipes};
            if (opt->observer->start(opt->observer->ud, &view) != 0) {
                h->exit_code = EXIT_RUNTIME;
                stop_host(h);
            } else {
                h->observing = true;
            }
        }
        uv_run(&h->loop, UV_RUN_DEFAULT);
        if (h->observing)
            opt->observer->stop(opt->observer->ud);
        clock_timer_stop(&h->pump);
        clock_timer_stop(&h->settle);
        if (h->draining)
            clock_timer_stop(&h->drain);
    }
    print_summary(h, wall_seconds() - h->wall_start); /* may set exit_code */
    write_outputs(h);
    if (h->exit_code)
        code = h->exit_code;
    /* After the summary (which marks the open positions) and before the pipelines go. */
    if (opt->metrics_path && write_metrics(opt->metrics_path) != 0 && code == EXIT_OK)
        code = EXIT_RUNTIME;
done:
    /* How the run ended, for `status` and for the next backtest's guard. */
    store_meta_set(h->hs.db, "run_state",
                   code == EXIT_INTERRUPTED ? "interrupted"
                   : code != EXIT_OK        ? "failed"
                   : opt->backtest          ? "complete"
                                            : "stopped",
                   NULL);
    /* Every slot: when a pipeline failed to load, the ones that loaded are not at the
     * front (a failed attacker before a good control leaked the control's). */
    /* The HTTP client first: it drops the posts in flight without their callbacks, and
     * each pipeline then frees what it kept for them. */
    if (h->hs.http)
        http_client_free(h->hs.http);
    h->hs.http = NULL;
    for (int i = 0; i < h->nslots; i++)
        if (h->pipes[i])
            pipeline_free(h->pipes[i]);
    free(h->pipes);
    coordinator_free(h->hs.coord);
    log_set_clock(NULL, NULL);
    clock_free(h->hs.clock);
    if (!opt->backtest) {
        /* The WebSocket clients the brokers freed finish their teardown on the loop: closing
         * every handle first would cut it short and leak them (bounded: ws gives up on a
         * context after 10 s). */
        bool observer_busy = h->observing && opt->observer->busy(opt->observer->ud);
        if (ws_tearing_down() > 0 || observer_busy) {
            /* Nothing of the host's may run meanwhile: its pipelines are gone. */
            uv_timer_stop(&h->follow_timer);
            uv_timer_stop(&h->posts_timer);
            uv_timer_stop(&h->arrived_timer);
            uv_timer_stop(&h->limit_timer);
            uv_signal_stop(&h->sigint);
            uv_signal_stop(&h->sigterm);
        }
        while (
            (ws_tearing_down() > 0 || (h->observing && opt->observer->busy(opt->observer->ud))) &&
            uv_run(&h->loop, UV_RUN_ONCE))
            ;
        uv_walk(&h->loop, close_walk, NULL);
        uv_run(&h->loop, UV_RUN_DEFAULT);
        uv_loop_close(&h->loop);
    }
    price_table_free(&prices);
    symtab_free(h->hs.symbols);
    store_metrics_detach(h->hs.db);
    store_close(h->hs.db);
    run_files_unlock(h->lock_fd);
    free(h);
    catch_signals_early(false);
    return code;
}

typedef struct {
    int done, status;
    char error[256];
    broker_account account;
} connect_reply;

static void on_connect_account(void *ud, const broker_reply *r)
{
    connect_reply *c = ud;
    c->status = r->status;
    snprintf(c->error, sizeof c->error, "%s", r->error);
    if (r->account)
        c->account = *r->account;
    c->done = 1;
}

typedef struct {
    int done, status;
    char error[256];
    broker_asset asset;
} asset_reply;

static void on_asset(void *ud, const broker_reply *r)
{
    asset_reply *a = ud;
    a->status = r->status;
    snprintf(a->error, sizeof a->error, "%s", r->error);
    if (r->asset)
        a->asset = *r->asset;
    a->done = 1;
}

typedef struct {
    int done, status;
    broker_clock clock;
} clock_reply;

static void on_clock(void *ud, const broker_reply *r)
{
    clock_reply *c = ud;
    c->status = r->status;
    if (r->clock)
        c->clock = *r->clock;
    c->done = 1;
}

/* `check --connect`, after the account: the venue's market clock, when it has one. A
 * failure here is said and does not fail the check (the account answered). */
static void check_clock(const char *path, broker *b, uv_loop_t *loop)
{
    clock_reply got = {0};
    if (broker_get_clock(b, BROKER_PRIORITY_ROUTINE, on_clock, &got) != 0)
        return; /* no market clock at this venue */
    while (!got.done)
        uv_run(loop, UV_RUN_ONCE);
    if (got.status != 0) {
        printf("%s: connect: the market clock could not be read (%s)\n", path,
               err_name(got.status));
        return;
    }
    char when[40];
    timestamp_format(got.clock.is_open ? got.clock.next_close : got.clock.next_open, when,
                     sizeof when);
    printf("%s: connect: the market is %s; it %s at %s UTC\n", path,
           got.clock.is_open ? "open" : "closed", got.clock.is_open ? "closes" : "opens", when);
}

/* `check --connect`, after the account: whether the venue lets each symbol be traded.
 * Returns how many cannot be. A venue without an asset list (paper) is not asked. */
static int check_symbols(const pipeline_config *cfg, const char *path, broker *b, uv_loop_t *loop)
{
    int bad = 0;
    for (int i = 0; i < cfg->nsymbols; i++) {
        asset_reply got = {0};
        int rc = broker_get_asset(b, BROKER_PRIORITY_ROUTINE, cfg->symbols[i], on_asset, &got);
        if (rc == APEX_EINVAL && i == 0)
            return 0; /* no asset list at this venue */
        if (rc == 0)
            while (!got.done)
                uv_run(loop, UV_RUN_ONCE);
        else
            got.status = rc;
        const broker_asset *a = &got.asset;
        if (got.status != 0) {
            fprintf(stderr, "%s: symbols[%d]: %s: %s; remove it from symbols or fix its name\n",
                    path, i + 1, cfg->symbols[i], got.error[0] ? got.error : err_name(got.status));
            bad++;
        } else if (!a->tradable || !a->active) {
            fprintf(stderr,
                    "%s: symbols[%d]: %s is %s at %s; it cannot be traded: remove it from "
                    "symbols (its prices can still come from data.files or data.http)\n",
                    path, i + 1, cfg->symbols[i], a->active ? "not tradable" : "inactive",
                    broker_name(b));
            bad++;
        } else {
            printf("%s: connect: %s tradable (%s%s%s)\n", path, cfg->symbols[i], a->asset_class,
                   a->shortable ? ", shortable" : "", a->fractionable ? ", fractionable" : "");
        }
    }
    return bad;
}

/* `check --connect`: one authenticated account request to the pipeline's broker, then
 * whether each symbol can be traded there. */
static int check_connect(const pipeline_config *cfg, const char *path)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    apex_clock *clock = clock_new_live(&loop, 1.0, 1);
    broker_open_args args = {.clock = clock, .store_path = ":memory:", .loop = &loop};
    char err[1024];
    broker *b = clock ? broker_open(cfg, &args, NULL, err, sizeof err) : NULL;
    connect_reply got = {0};
    if (!b) {
        snprintf(got.error, sizeof got.error, "%s", clock ? err : "out of memory");
        got.status = APEX_EIO;
    } else if ((got.status = broker_get_account(b, BROKER_PRIORITY_ROUTINE, on_connect_account,
                                                &got)) == 0) {
        while (!got.done)
            uv_run(&loop, UV_RUN_ONCE);
    }
    if (got.status == 0) {
        char eq[32], cash[32], bp[32];
        printf("%s: connect: %s answered: equity %s, cash %s, buying power %s, %d day trade(s) "
               "in 5 days\n",
               path, broker_name(b), money_format(got.account.equity, 2, eq, sizeof eq),
               money_format(got.account.cash, 2, cash, sizeof cash),
               money_format(got.account.buying_power, 2, bp, sizeof bp), got.account.day_trades);
    } else {
        fprintf(stderr, "%s: connect: %s\n", path, got.error[0] ? got.error : err_name(got.status));
    }
    if (got.status == 0)
        check_clock(path, b, &loop);
    int untradable = got.status == 0 ? check_symbols(cfg, path, b, &loop) : 0;
    if (b)
        broker_free(b);
    clock_free(clock);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return got.status == 0 && untradable == 0 ? 0 : 1;
}

int host_check(const char *const *paths, int npaths, bool connect, const char *const *params,
               int nparams)
{
    /* `check` opens each pipeline exactly as a backtest would (scripts compiled, rules
     * compiled, data files opened, broker created) on a throwaway in-memory store, so it
     * reports everything `run` would refuse, and trades nothing. */
    char err[512];
    host_services hs = {0};
    price_table prices;
    price_table_init(&prices);
    hs.db = store_open(":memory:", STORE_FAST, err, sizeof err);
    if (!hs.db) {
        fprintf(stderr, "apex-host: %s\n", err);
        return EXIT_STORE;
    }
    hs.clock = clock_new_simulated(0);
    hs.symbols = symtab_new();
    hs.prices = &prices;
    hs.backtest = true;
    hs.checking = true;
    hs.params = params;
    hs.nparams = nparams;
    hs.db_path = ":memory:";
    int bad = 0;
    for (int i = 0; i < npaths; i++) {
        diag_list diags;
        diag_init(&diags);
        pipeline *p = pipeline_open(&hs, paths[i], &diags);
        /* Opened as a backtest, the pipeline ignored data.http, which only `run` polls. */
        if (p && pipeline_http_check(pipeline_cfg(p), &diags) != 0) {
            pipeline_free(p);
            p = NULL;
        }
        for (int j = 0; j < diags.count; j++)
            fprintf(stderr, "%s\n", diags.items[j]);
        if (p) {
            int script_errors = pipeline_check_run(p);
            const pipeline_config *c = pipeline_cfg(p);
            char desc[1024], why[512];
            if (script_errors > 0) {
                bad++; /* each was printed with its file and line */
            } else if (broker_check(c, desc, sizeof desc, why, sizeof why) != 0) {
                fprintf(stderr, "%s: broker: %s\n", paths[i], why);
                bad++;
            } else {
                printf("%s: ok: pipeline '%s', %d symbol(s), strategy %s%s%s, %d instruction(s)"
                       "\n%s: broker: %s\n",
                       paths[i], c->name, c->nsymbols, c->strategy.file,
                       c->bias.file[0] ? ", bias " : "", c->bias.file, c->ninstructions, paths[i],
                       desc);
                if (connect && check_connect(c, paths[i]) != 0)
                    bad++;
            }
            pipeline_free(p);
        } else {
            if (diags.count == 0)
                fprintf(stderr, "%s: could not be loaded\n", paths[i]);
            bad++;
        }
        diag_free(&diags);
    }
    clock_free(hs.clock);
    symtab_free(hs.symbols);
    price_table_free(&prices);
    store_close(hs.db);
    return bad ? EXIT_INVALID : EXIT_OK;
}
