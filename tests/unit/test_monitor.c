/* Position monitor tests (seed 003 "Position Monitoring"): cadence, price caching with
 * batched quotes, and the broker-call limit with 200 positions monitored at once. The
 * broker is the real paper broker behind the real rate limiter; the shared fake broker
 * (tests/support/fake_broker.h) wraps the paper broker between them and records the time
 * of every call that actually reaches it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/paper.h"
#include "fake_broker.h"
#include "market/symtab.h"
#include "monitor/monitor.h"
#include "net/ratelimit.h"
#include "util/err.h"

#define T0          ((apex_time)1709562600 * APEX_SECOND)
#define NPOS        200
#define CENTS_TO(c) ((money_t)(c) * (MONEY_SCALE / 100))

/* ---- the fixture ---- */

typedef struct {
    apex_clock *clock;
    store *db;
    symtab *symbols;
    broker *paper;
    fake_broker *rec; /* wraps the paper broker */
    ratelimit *limiter;
    broker *limited;
    pipeline_config cfg;
    monitor *mon;
    trade trades[NPOS];
    int ntrades;
    int flats, evaluations;
    int outages, outage_failures;
    int order_rounds; /* reconcile_orders hook calls */
} fx;

static void on_flat(void *ud, trade *t)
{
    fx *f = ud;
    f->flats++;
    t->finished = true;
}

static void evaluate(void *ud, trade *t, const broker_quote *q)
{
    fx *f = ud;
    (void)t;
    (void)q;
    f->evaluations++;
}

static void outage(void *ud, trade *t, int failures, const char *error)
{
    fx *f = ud;
    (void)t;
    (void)error;
    f->outages++;
    f->outage_failures = failures;
}

/* Stands in for exec_reconcile_periodic: counts, and answers at once. */
static int reconcile_orders(void *ud, trade *t, exec_done_cb done, void *done_ud)
{
    fx *f = ud;
    f->order_rounds++;
    done(done_ud, t, 0, NULL);
    return 0;
}

static trade *first(void *ud)
{
    fx *f = ud;
    return f->ntrades ? &f->trades[0] : NULL;
}

static void ignore(void *ud, const broker_reply *r)
{
    (void)ud;
    (void)r;
}

static void bar_for(fx *f, const char *sym, money_t px)
{
    bar b = {.ts = clock_now(f->clock),
             .open = px,
             .high = px,
             .low = px,
             .close = px,
             .volume = MONEY(1000),
             .symbol_id = symtab_find(f->symbols, sym)};
    paper_broker_on_bar(f->paper, &b, sym);
}

/* n long positions of 10 shares at 100, really held at the paper broker. */
static fx *make(int n, int per_minute)
{
    fx *f = calloc(1, sizeof *f);
    char err[256];
    f->clock = clock_new_simulated(T0);
    f->db = store_open(":memory:", STORE_DURABLE, err, sizeof err);
    f->symbols = symtab_new();
    /* "close": the seed orders fill on the clock turn below, so the positions are held. */
    paper_config pc = {.starting_cash = MONEY(10000000), .fill = PAPER_FILL_CLOSE};
    f->paper = paper_broker_new(&pc, ":memory:", f->clock, err, sizeof err);
    assert_non_null(f->paper);
    for (int i = 0; i < n; i++) {
        char sym[16], id[32];
        snprintf(sym, sizeof sym, "S%03d", i);
        symtab_intern(f->symbols, sym, (int)strlen(sym));
        bar_for(f, sym, MONEY(100));
        order_request req = {.side = SIDE_BUY, .type = ORDER_MARKET, .qty = MONEY(10)};
        snprintf(req.symbol, sizeof req.symbol, "%s", sym);
        snprintf(id, sizeof id, "seed-%d", i);
        snprintf(req.client_order_id, sizeof req.client_order_id, "%s", id);
        assert_int_equal(broker_submit_order(f->paper, BROKER_PRIORITY_ROUTINE, &req, ignore, NULL),
                         0);
    }
    clock_run_due(f->clock);

    f->rec = fake_broker_wrap(f->clock, f->paper);
    f->limiter = ratelimit_new(f->clock, per_minute);
    f->limited = fake_broker_base(f->rec);
    assert_int_equal(broker_set_limiter(f->limited, f->limiter), 0);
    config_defaults(&f->cfg);
    f->cfg.monitoring.max_api_calls_per_minute = per_minute;
    f->mon = monitor_new(f->clock, f->limited, f->db, &f->cfg,
                         (monitor_hooks){.on_flat = on_flat,
                                         .evaluate_exit = evaluate,
                                         .first_trade = first,
                                         .on_outage = outage,
                                         .reconcile_orders = reconcile_orders,
                                         .ud = f});
    for (int i = 0; i < n; i++) {
        trade *t = &f->trades[i];
        snprintf(t->row.symbol, sizeof t->row.symbol, "S%03d", i);
        t->row.status = EXEC_MONITORING;
        t->row.id = i + 1;
        t->symbol_id = symtab_find(f->symbols, t->row.symbol);
        t->has_pos = true;
        t->pos.open = true;
        t->pos.side = SIDE_BUY;
        t->pos.entry_price = MONEY(100);
        t->pos.stop_loss = MONEY(90);
        t->pos.take_profit = MONEY(110);
        t->pos.initial_qty = t->pos.qty = MONEY(10);
        ledger_apply(&t->led, SIDE_BUY, MONEY(10), MONEY(100), 0);
        t->next = i + 1 < n ? &f->trades[i + 1] : NULL;
        monitor_watch(f->mon, t, T0);
    }
    f->ntrades = n;
    return f;
}

static void destroy(fx *f)
{
    for (int i = 0; i < f->ntrades; i++)
        monitor_unwatch(f->mon, &f->trades[i]);
    monitor_free(f->mon); /* NULL is allowed */
    broker_free(f->limited);
    ratelimit_free(f->limiter);
    symtab_free(f->symbols);
    store_close(f->db);
    clock_free(f->clock);
    config_free(&f->cfg);
    free(f);
}

/* Runs the host's time forward, a new bar for every symbol each minute. */
static void run_minutes(fx *f, int minutes, money_t px)
{
    for (int m = 0; m < minutes; m++) {
        for (int i = 0; i < f->ntrades; i++)
            bar_for(f, f->trades[i].row.symbol, px);
        clock_advance_to(f->clock, clock_now(f->clock) + APEX_MINUTE);
    }
    clock_run_due(f->clock);
}

/* ---- tests ---- */

static void test_monitoring_frequency_normal(void **state)
{
    (void)state;
    fx *f = make(1, 60);
    trade *t = &f->trades[0];
    /* 100 is 10% from both the 90 stop and the 110 target: the normal 30 s. */
    assert_int_equal(monitor_cadence(f->mon, t, MONEY(100)), 30);
    run_minutes(f, 10, MONEY(100));
    monitor_stats s;
    monitor_get_stats(f->mon, &s);
    /* Checks at 0, 30, ..., 600 s: 21. */
    assert_int_equal(s.checks, 21);
    assert_int_equal(t->row.monitor_interval_s, 30);
    destroy(f);
}

static void test_monitoring_frequency_urgent(void **state)
{
    (void)state;
    fx *f = make(1, 60);
    trade *t = &f->trades[0];
    /* Within 2% of the stop (1.5% away), of the target, or of an armed trailing stop. */
    assert_int_equal(monitor_cadence(f->mon, t, CENTS_TO(9135)), 5);
    assert_int_equal(monitor_cadence(f->mon, t, CENTS_TO(10800)), 5);
    /* A trail from the peak 100.50 down to 99: urgent in its last quarter (0.375). */
    t->pos.trailing_stop_active = true;
    t->pos.trailing_stop_price = MONEY(99);
    t->pos.peak_price = CENTS_TO(10050);
    assert_int_equal(monitor_cadence(f->mon, t, CENTS_TO(10050)), 30); /* at the peak */
    assert_int_equal(monitor_cadence(f->mon, t, CENTS_TO(9930)), 5);
    t->pos.trailing_stop_active = false;
    t->pos.peak_price = 0;
    /* Observed: the position sits at 100 until the bar at +60 s brings 91.50; the check at
     * +60 s still sees its cached 100 quote (TTL 10 s), the one at +90 s fetches 91.50 and
     * from then on every check is 5 s apart: 0, 30, 60, 90, then 95 ... 120. */
    run_minutes(f, 2, CENTS_TO(9150));
    monitor_stats s;
    monitor_get_stats(f->mon, &s);
    assert_int_equal(s.checks, 10);
    assert_int_equal(t->row.next_check_at, T0 + 125 * APEX_SECOND);
    assert_int_equal(t->row.monitor_interval_s, 5);
    destroy(f);
}

static void test_price_caching(void **state)
{
    (void)state;
    fx *f = make(3, 60);
    /* Two positions in the same symbol share one cached quote. */
    snprintf(f->trades[1].row.symbol, sizeof f->trades[1].row.symbol, "S000");
    f->trades[1].symbol_id = f->trades[0].symbol_id;
    clock_run_due(f->clock);
    monitor_stats s;
    monitor_get_stats(f->mon, &s);
    /* All three checks at T0 were answered by ONE batched request for two symbols. */
    assert_int_equal(s.quote_requests, 1);
    assert_int_equal(s.quoted_symbols, 2);
    assert_int_equal(fake_broker_ncalls(f->rec, FAKE_GET_QUOTES), 1);
    const fake_call *batch = fake_broker_last_call(f->rec, FAKE_GET_QUOTES);
    assert_int_equal(batch->nsymbols, 2);
    assert_string_not_equal(batch->symbols[0], batch->symbols[1]);
    /* Within the 10 s TTL a check hits the cache instead of the broker. */
    monitor_check_soon(f->mon, &f->trades[0]);
    clock_advance_to(f->clock, T0 + 5 * APEX_SECOND);
    monitor_get_stats(f->mon, &s);
    assert_int_equal(fake_broker_ncalls(f->rec, FAKE_GET_QUOTES), 1);
    assert_true(s.cache_hits >= 1);
    /* After the TTL the next check asks again. */
    clock_advance_to(f->clock, T0 + 30 * APEX_SECOND);
    assert_int_equal(fake_broker_ncalls(f->rec, FAKE_GET_QUOTES), 2);
    destroy(f);
}

static void test_rate_limit_never_exceeded_with_200_positions(void **state)
{
    (void)state;
    /* A tight limit and 200 urgent positions: checks every 5 s would want far more than
     * 20 calls a minute, and the limiter must hold every sliding 60 s window to 20. */
    fx *f = make(NPOS, 20);
    for (int i = 0; i < NPOS; i++)
        f->trades[i].pos.stop_loss = CENTS_TO(9900); /* 1% away: urgent */
    run_minutes(f, 15, MONEY(100));
    fake_broker *r = f->rec;
    int ncalls = fake_broker_ncalls(r, FAKE_ANY);
    assert_true(ncalls > 20); /* the monitor did keep asking */
    for (int i = 0; i < ncalls; i++) {
        int in_window = 0;
        for (int k = 0; k <= i; k++)
            if (fake_broker_call(r, k)->at > fake_broker_call(r, i)->at - 60 * APEX_SECOND)
                in_window++;
        if (in_window > 20)
            fail_msg("%d broker calls in the 60 s window ending at call %d", in_window, i);
    }
    /* And every position was still checked, concurrently, with batched prices. */
    for (int i = 0; i < NPOS; i++)
        assert_true(f->trades[i].row.next_check_at > T0);
    assert_true(f->evaluations >= NPOS * 10);
    assert_int_equal(f->flats, 0);
    destroy(f);
}

static void test_position_closed_by_hand_is_detected(void **state)
{
    (void)state;
    fx *f = make(2, 60);
    /* Close S001 at the broker behind the host's back: no fill of ours reports it. */
    assert_int_equal(
        broker_close_position(f->paper, BROKER_PRIORITY_ROUTINE, "S001", "by-hand", ignore, NULL),
        0);
    run_minutes(f, 12, MONEY(100)); /* reconciliation runs every 10 normal periods (300 s) */
    assert_int_equal(f->flats, 1);
    assert_true(f->trades[1].finished);
    assert_false(f->trades[0].finished);
    destroy(f);
}

static int count_kind(void *ud, const store_event_row *ev)
{
    int *n = ((int **)ud)[0];
    const char *kind = ((const char **)ud)[1];
    if (strcmp(ev->kind, kind) == 0)
        (*n)++;
    return 0;
}

static int events_of(fx *f, const char *kind)
{
    int n = 0;
    void *args[2] = {&n, (void *)kind};
    store_events_recent(f->db, NULL, 1000, count_kind, args);
    return n;
}

/* Seed 000's broker outage: the checks back off through monitoring.retry_backoff; when
 * the last retry fails too, the execution is flagged and the outage hook runs once; it is
 * still monitored, and the flag goes when the broker answers again. */
static void test_broker_outage_flags_after_the_last_retry(void **state)
{
    (void)state;
    fx *f = make(1, 60);
    f->cfg.monitoring.nretry_backoff = 2;
    f->cfg.monitoring.retry_backoff_s[0] = 60;
    f->cfg.monitoring.retry_backoff_s[1] = 120;
    fake_broker_fail_next(f->rec, FAKE_ANY, 4, APEX_EIO, "connection refused");
    run_minutes(f, 4, MONEY(100)); /* failures at 0, 1 and 3 min: the third is past the last step */
    trade *t = &f->trades[0];
    assert_int_equal(f->outages, 1);
    assert_int_equal(f->outage_failures, 3);
    assert_int_equal(events_of(f, "broker_outage"), 1);
    assert_non_null(strstr(t->row.reason, "BROKER OUTAGE, flagged: broker error (attempt 3)"));
    assert_false(t->finished);
    assert_int_equal(t->row.status, EXEC_MONITORING);
    run_minutes(f, 6, MONEY(100));   /* one more failure (5 min), then the broker answers */
    assert_int_equal(f->outages, 1); /* once per outage */
    assert_int_equal(events_of(f, "broker_ok"), 1);
    assert_int_equal(t->row.retry_count, 0);
    assert_string_equal(t->row.reason, "");
    assert_false(t->finished);
    destroy(f);
}

/* A backtest: one check per bar of the symbol, whatever the cadence, and none between
 * bars (an hour without data costs nothing). */
static void test_bar_driven_checks_follow_the_bars(void **state)
{
    (void)state;
    fx *f = make(1, 600);
    trade *t = &f->trades[0];
    f->cfg.monitoring.normal_frequency_s = 5;
    f->cfg.monitoring.urgent_frequency_s = 1;
    monitor_set_bar_driven(f->mon, true);
    clock_run_due(f->clock); /* the first check, at T0 */
    monitor_stats s;
    monitor_get_stats(f->mon, &s);
    uint64_t before = s.checks;
    for (int m = 1; m <= 10; m++) {
        clock_advance_to(f->clock, T0 + m * APEX_MINUTE);
        bar_for(f, t->row.symbol, MONEY(100) + m * CENTS_TO(10));
        monitor_on_bar(f->mon, t);
    }
    clock_advance_to(f->clock, T0 + 70 * APEX_MINUTE); /* an hour with no bar */
    monitor_get_stats(f->mon, &s);
    assert_int_equal(s.checks - before, 10);
    assert_int_equal(f->evaluations, (int)s.checks);
    /* Each check saw its own bar's price, never the cached one of the bar before. */
    assert_true(t->pos.current_price == MONEY(100) + 10 * CENTS_TO(10));
    assert_int_equal(s.cache_hits, 0);
    destroy(f);
}

/* Shut down with a quote batch and a close confirmation in flight: the monitor gives
 * their holds on the trades back (they were leaked, and reported at exit). */
static void test_shutdown_gives_back_the_holds(void **state)
{
    (void)state;
    fx *f = make(2, 1); /* one broker call a minute */
    assert_int_equal(broker_get_account(f->limited, BROKER_PRIORITY_ROUTINE, ignore, NULL), 0);
    ledger_apply(&f->trades[1].led, SIDE_SELL, MONEY(10), MONEY(100), 0); /* flat by fills */
    clock_run_due(f->clock);
    /* The quote batch for S000 and the close confirmation for S001 wait in the limiter. */
    assert_int_equal(trade_holds(&f->trades[0]), 1);
    assert_int_equal(trade_holds(&f->trades[1]), 1);
    for (int i = 0; i < f->ntrades; i++)
        monitor_unwatch(f->mon, &f->trades[i]);
    monitor_free(f->mon);
    f->mon = NULL;
    assert_int_equal(trade_holds(&f->trades[0]), 0);
    assert_int_equal(trade_holds(&f->trades[1]), 0);
    f->ntrades = 0;
    destroy(f);
}

/* A position held at the paper broker outside the fixture's trades (qty 10 at 100). */
static void hold_by_hand(fx *f, const char *sym)
{
    symtab_intern(f->symbols, sym, (int)strlen(sym));
    bar_for(f, sym, MONEY(100));
    order_request req = {.side = SIDE_BUY, .type = ORDER_MARKET, .qty = MONEY(10)};
    snprintf(req.symbol, sizeof req.symbol, "%s", sym);
    snprintf(req.client_order_id, sizeof req.client_order_id, "hand-%s", sym);
    assert_int_equal(broker_submit_order(f->paper, BROKER_PRIORITY_ROUTINE, &req, ignore, NULL), 0);
    clock_run_due(f->clock);
}

/* The issue: a position the host does not know is reported, and it is never traded. One
 * event and one warning per symbol however many rounds see it; no order, no close; a
 * symbol an active execution of another pipeline in the store holds (a shared account)
 * is known, not reported. */
static void test_unknown_position_is_reported_once_and_never_traded(void **state)
{
    (void)state;
    fx *f = make(1, 600);
    hold_by_hand(f, "HAND");
    hold_by_hand(f, "SHARED");
    store_execution other = {.status = EXEC_MONITORING, .side = SIDE_BUY};
    snprintf(other.pipeline, sizeof other.pipeline, "other");
    snprintf(other.symbol, sizeof other.symbol, "SHARED");
    snprintf(other.phase, sizeof other.phase, "monitor");
    assert_int_equal(store_execution_insert(f->db, &other, NULL), 0);
    f->cfg.monitoring.reconcile_s = 60;
    monitor_start(f->mon);
    run_minutes(f, 5, MONEY(100));
    monitor_stats s;
    monitor_get_stats(f->mon, &s);
    assert_true(s.reconciliations >= 5);
    assert_int_equal(s.unknown_positions, 1);
    assert_int_equal(events_of(f, "unknown_position"), 1);
    assert_int_equal(fake_broker_ncalls(f->rec, FAKE_SUBMIT), 0);
    assert_int_equal(fake_broker_ncalls(f->rec, FAKE_CLOSE_POSITION), 0);
    assert_int_equal(fake_broker_ncalls(f->rec, FAKE_CANCEL), 0);
    assert_int_equal(f->flats, 0);
    destroy(f);
}

/* monitoring.reconcile_seconds is the period: one round at start-up, then one per
 * period (the positions listed once, each monitored execution's orders asked once);
 * 0 = the start-up round only. */
static void test_reconcile_interval_is_the_setting(void **state)
{
    (void)state;
    int periods[] = {120, 0};
    int expect[] = {1 + 30 / 2, 1};
    for (int k = 0; k < 2; k++) {
        fx *f = make(2, 600);
        f->cfg.monitoring.reconcile_s = periods[k];
        monitor_start(f->mon);
        monitor_start(f->mon); /* once */
        run_minutes(f, 30, MONEY(100));
        monitor_stats s;
        monitor_get_stats(f->mon, &s);
        assert_int_equal(s.reconciliations, expect[k]);
        assert_int_equal(fake_broker_ncalls(f->rec, FAKE_LIST_POSITIONS), expect[k]);
        assert_int_equal(f->order_rounds, 2 * expect[k]);
        assert_int_equal(s.orders_reconciled, (uint64_t)(2 * expect[k]));
        destroy(f);
    }
}

/* Intraday levels nearer than the seed's 2%: the stop 0.5% under the entry is urgent only
 * in the last quarter of its distance (0.125), not at every check; the same holds for a
 * target 0.8% above. near_distance_fraction = 1 gives back the seed's rule alone. */
static void test_urgency_is_relative_to_a_tight_stop(void **state)
{
    (void)state;
    fx *f = make(1, 60);
    trade *t = &f->trades[0];
    t->pos.stop_loss = CENTS_TO(9950);
    t->pos.take_profit = CENTS_TO(10080);
    money_t level = 0;
    assert_int_equal(monitor_cadence(f->mon, t, MONEY(100)), 30);     /* at the entry */
    assert_int_equal(monitor_cadence(f->mon, t, CENTS_TO(9970)), 30); /* 0.20 from the stop */
    assert_int_equal(monitor_cadence(f->mon, t, CENTS_TO(9962)), 5);  /* 0.12: urgent */
    assert_string_equal(monitor_urgent_level(f->mon, t, CENTS_TO(9962), &level), "stop");
    assert_int_equal(level, CENTS_TO(9950));
    assert_int_equal(monitor_cadence(f->mon, t, CENTS_TO(10050)), 30); /* 0.30 from target */
    assert_int_equal(monitor_cadence(f->mon, t, CENTS_TO(10062)), 5);  /* 0.18 of 0.80: urgent */
    assert_string_equal(monitor_urgent_level(f->mon, t, CENTS_TO(10062), &level), "target");
    assert_null(monitor_urgent_level(f->mon, t, MONEY(100), &level));
    f->cfg.monitoring.near_distance_fraction = MONEY(1);
    assert_int_equal(monitor_cadence(f->mon, t, MONEY(100)), 5); /* the seed's 2% alone */
    /* Checked at its cadence over ten minutes at 99.80, 0.30 above the stop: 30 s apart,
     * as at any calm price, where the 2% rule alone checked every 5 s. */
    f->cfg.monitoring.near_distance_fraction = MONEY(1) / 4;
    run_minutes(f, 10, CENTS_TO(9980));
    monitor_stats s;
    monitor_get_stats(f->mon, &s);
    assert_int_equal(s.checks, 21);
    assert_int_equal(t->row.monitor_interval_s, 30);
    destroy(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_monitoring_frequency_normal),
        cmocka_unit_test(test_monitoring_frequency_urgent),
        cmocka_unit_test(test_urgency_is_relative_to_a_tight_stop),
        cmocka_unit_test(test_price_caching),
        cmocka_unit_test(test_rate_limit_never_exceeded_with_200_positions),
        cmocka_unit_test(test_position_closed_by_hand_is_detected),
        cmocka_unit_test(test_broker_outage_flags_after_the_last_retry),
        cmocka_unit_test(test_bar_driven_checks_follow_the_bars),
        cmocka_unit_test(test_shutdown_gives_back_the_holds),
        cmocka_unit_test(test_unknown_position_is_reported_once_and_never_traded),
        cmocka_unit_test(test_reconcile_interval_is_the_setting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
