/* Portfolio risk (seed 002, docs/risk.md): heat and its book, correlated clusters, the
 * drawdown breaker and the PDT window, with numbers a trader can check by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"
#include "config_fixture.h"
#include "risk/correlation.h"
#include "risk/drawdown.h"
#include "risk/heat.h"
#include "risk/pdt.h"

static risk_config defaults(void)
{
    return fx_risk_defaults();
}

/* Equity 100,000 at 6% heat: room for 6,000 of risk. 5,000 is open; 600 shares bought at
 * 50 with the stop at 48 risk 1,200 more. */
static risk_heat_input heat_input(void)
{
    return (risk_heat_input){.equity = MONEY(100000),
                             .open_heat = MONEY(5000),
                             .cluster = "",
                             .entry = MONEY(50),
                             .stop = MONEY(48),
                             .qty = MONEY(600),
                             .lot = MONEY(1)};
}

static void test_heat_refuses_the_trade_that_would_exceed_it(void **state)
{
    (void)state;
    risk_config cfg = defaults();
    assert_int_equal(cfg.max_heat_pct, MONEY(6) / 100);
    risk_heat_input in = heat_input();
    risk_heat_decision d;
    risk_heat_check(&cfg, &in, &d);
    assert_int_equal(d.qty, 0);
    assert_false(d.shrunk);
    assert_string_equal(d.why, "portfolio heat: open risk 5000.00 + this trade 1200.00 = 6200.00 "
                               "would exceed risk.max_heat_pct 6.00% of equity 100000.00 = "
                               "6000.00");
    /* 500 shares risk 1,000: exactly at the limit, which is allowed. */
    in.qty = MONEY(500);
    risk_heat_check(&cfg, &in, &d);
    assert_int_equal(d.qty, MONEY(500));
    assert_int_equal(d.risk, MONEY(1000));
    assert_string_equal(d.why, "");
}

static void test_heat_shrinks_to_whole_lots_when_allowed(void **state)
{
    (void)state;
    risk_config cfg = defaults();
    cfg.heat_shrink = true;
    risk_heat_input in = heat_input();
    risk_heat_decision d;
    risk_heat_check(&cfg, &in, &d);
    /* room 1,000 / 2 per share = 500 shares */
    assert_int_equal(d.qty, MONEY(500));
    assert_int_equal(d.risk, MONEY(1000));
    assert_true(d.shrunk);
    assert_non_null(strstr(d.why, "; shrunk from 600 to 500 (risk 1000.00)"));
    /* In lots of 300, one lot fits. */
    in.lot = MONEY(300);
    risk_heat_check(&cfg, &in, &d);
    assert_int_equal(d.qty, MONEY(300));
    /* 5,999 open leaves room for 1 of risk: not one share at 2. */
    in.lot = MONEY(1);
    in.open_heat = MONEY(5999);
    risk_heat_check(&cfg, &in, &d);
    assert_int_equal(d.qty, 0);
    assert_non_null(strstr(d.why, "not one lot fits the room left"));
}

static void test_cluster_limit_binds_before_the_total(void **state)
{
    (void)state;
    risk_config cfg = defaults();
    cfg.max_cluster_heat_pct = MONEY(3) / 100; /* 3,000 */
    risk_heat_input in = heat_input();
    in.open_heat = MONEY(2500);
    in.cluster_heat = MONEY(2500);
    in.cluster_size = 2;
    in.cluster = "BTC/USD r=0.95, ETH/USD r=0.91";
    in.qty = MONEY(300); /* risk 600: total 3,100 fits 6,000, cluster 3,100 > 3,000 */
    risk_heat_decision d;
    risk_heat_check(&cfg, &in, &d);
    assert_int_equal(d.qty, 0);
    assert_string_equal(d.why, "correlated cluster (BTC/USD r=0.95, ETH/USD r=0.91): open risk "
                               "2500.00 + this trade 600.00 = 3100.00 would exceed "
                               "risk.max_cluster_heat_pct 3.00% of equity 100000.00 = 3000.00");
    /* Not correlated with anything open: only the total applies. */
    in.cluster_size = 0;
    in.cluster_heat = 0;
    risk_heat_check(&cfg, &in, &d);
    assert_int_equal(d.qty, MONEY(300));
}

static void test_position_risk_is_to_the_stop_and_never_negative(void **state)
{
    (void)state;
    assert_int_equal(risk_position_risk(MONEY(100), MONEY(50), MONEY(48)), MONEY(200));
    assert_int_equal(risk_position_risk(-MONEY(100), MONEY(50), MONEY(53)), MONEY(300));
    /* A trailing stop past the entry locks in a profit: no risk left. */
    assert_int_equal(risk_position_risk(MONEY(100), MONEY(50), MONEY(51)), 0);
    assert_int_equal(risk_position_risk(MONEY(100), MONEY(50), 0), 0);
}

static void test_book_is_one_per_account_with_running_totals(void **state)
{
    (void)state;
    static int account_a, account_b;
    risk_book *a1 = risk_book_acquire(&account_a, 60), *a2 = risk_book_acquire(&account_a, 20);
    risk_book *b = risk_book_acquire(&account_b, 60);
    assert_ptr_equal(a1, a2);
    assert_ptr_not_equal(a1, b);
    money_t t1 = 0, t2 = 0, t3 = 0;
    risk_book_move(a1, 3, &t1, MONEY(1200));
    risk_book_move(a2, 7, &t2, MONEY(800));
    risk_book_move(a1, 3, &t3, MONEY(100));
    assert_int_equal(risk_book_heat(a1), MONEY(2100));
    assert_int_equal(risk_book_symbol_heat(a1, 3), MONEY(1300));
    assert_int_equal(risk_book_heat(b), 0);
    int n;
    risk_book_open_symbols(a1, &n);
    assert_int_equal(n, 2);
    /* A partial exit, then the close. */
    risk_book_move(a1, 3, &t1, MONEY(600));
    assert_int_equal(t1, MONEY(600));
    risk_book_move(a1, 3, &t1, 0);
    risk_book_move(a1, 3, &t3, 0);
    assert_int_equal(risk_book_heat(a1), MONEY(800));
    const int *ids = risk_book_open_symbols(a1, &n);
    assert_int_equal(n, 1);
    assert_int_equal(ids[0], 7);
    assert_int_equal(risk_book_window(a1), 60);
    risk_book_move(a1, 7, &t2, 0);
    risk_book_release(a1);
    risk_book_release(a2);
    risk_book_release(b);
}

/* closes from returns, in fixed point */
static void feed(risk_series *s, const double *rets, int n, long t0, int every)
{
    double close = 100;
    risk_series_add(s, (apex_time)t0 * APEX_SECOND, MONEY(100));
    for (int i = 0; i < n; i++) {
        close *= 1 + rets[i];
        if (i % every == 0)
            risk_series_add(s, (apex_time)(t0 + 60 * (i + 1)) * APEX_SECOND,
                            (money_t)(close * MONEY_SCALE + 0.5));
    }
}

static void test_correlation_on_series_whose_correlation_is_known(void **state)
{
    (void)state;
    enum { N = 40 };
    double x[N], twice[N], neg[N], ortho[N];
    for (int i = 0; i < N; i++) {
        x[i] = i % 2 ? -0.01 : 0.01;           /* +1%, -1%, ... */
        twice[i] = 2 * x[i];                   /* r = 1 */
        neg[i] = -x[i];                        /* r = -1 */
        ortho[i] = (i / 2) % 2 ? -0.01 : 0.01; /* +1, +1, -1, -1: r = 0 */
    }
    risk_series a, b, c, d, sparse;
    assert_int_equal(risk_series_init(&a, 30), 0);
    assert_int_equal(risk_series_init(&b, 30), 0);
    assert_int_equal(risk_series_init(&c, 30), 0);
    assert_int_equal(risk_series_init(&d, 30), 0);
    assert_int_equal(risk_series_init(&sparse, 30), 0);
    feed(&a, x, N, 1000, 1);
    feed(&b, twice, N, 1000, 1);
    feed(&c, neg, N, 1000, 1);
    feed(&d, ortho, N, 1000, 1);
    double r = 0;
    assert_true(risk_correlation(&a, &b, 28, &r));
    assert_true(r > 0.9999);
    assert_true(risk_correlation(&a, &c, 28, &r));
    assert_true(r < -0.9999);
    assert_true(risk_correlation(&a, &d, 28, &r));
    assert_true(r > -0.01 && r < 0.01);
    /* The same bar again (another pipeline's copy of the data) changes nothing. */
    risk_series_add(&a, (apex_time)(1000 + 60 * N) * APEX_SECOND, MONEY(1));
    assert_true(risk_correlation(&a, &b, 28, &r));
    assert_true(r > 0.9999);
    /* Every 4th bar only: 10 common times against the window's 14 needed. */
    feed(&sparse, twice, N, 1000, 4);
    assert_false(risk_correlation(&a, &sparse, 28, &r));
    risk_series_free(&a);
    risk_series_free(&b);
    risk_series_free(&c);
    risk_series_free(&d);
    risk_series_free(&sparse);
}

static const char *names(void *ud, int id)
{
    (void)ud;
    static const char *const n[] = {"AAA", "BBB", "CCC"};
    return n[id];
}

static void test_cluster_counts_correlated_open_symbols_only(void **state)
{
    (void)state;
    static int account;
    risk_book *bk = risk_book_acquire(&account, 20);
    for (int i = 0; i < 30; i++) {
        apex_time ts = (apex_time)(1000 + 60 * i) * APEX_SECOND;
        money_t up = MONEY(100) + (i % 2 ? MONEY(1) : 0);     /* AAA */
        money_t up2 = MONEY(50) + (i % 2 ? MONEY(1) / 2 : 0); /* BBB moves with AAA */
        money_t other = MONEY(80) + ((i / 2) % 2 ? MONEY(1) : 0);
        risk_book_on_bar(bk, 0, ts, up);
        risk_book_on_bar(bk, 1, ts, up2);
        risk_book_on_bar(bk, 2, ts, other);
    }
    money_t h1 = 0, h2 = 0, heat;
    risk_book_move(bk, 1, &h1, MONEY(700));
    risk_book_move(bk, 2, &h2, MONEY(400));
    char list[128];
    int n;
    risk_book_cluster(bk, 0, 0.7, 20, names, NULL, &heat, &n, list, sizeof list);
    assert_int_equal(n, 1);
    assert_int_equal(heat, MONEY(700));
    assert_string_equal(list, "BBB r=1.00");
    risk_book_move(bk, 1, &h1, 0);
    risk_book_move(bk, 2, &h2, 0);
    risk_book_release(bk);
}

static void test_drawdown_trips_at_the_limit_and_resumes_by_time(void **state)
{
    (void)state;
    risk_config cfg = defaults();
    assert_int_equal(cfg.max_drawdown_pct, 0); /* off unless set */
    cfg.max_drawdown_pct = MONEY(10) / 100;
    cfg.drawdown_resume_hours = 24;
    risk_drawdown d = {0};
    apex_time now = (apex_time)1796774400 * APEX_SECOND;
    /* Peak 100,000: the limit is a 10,000 loss. */
    assert_false(risk_drawdown_check(&d, &cfg, MONEY(100000), MONEY(90001), now));
    assert_true(risk_drawdown_check(&d, &cfg, MONEY(100000), MONEY(90000), now));
    assert_true(d.tripped);
    assert_int_equal(d.resume_at, now + 24 * APEX_HOUR);
    assert_int_equal(risk_drawdown_fraction(&d), MONEY(10) / 100);
    /* Tripped once: a deeper fall does not trip it again. */
    assert_false(risk_drawdown_check(&d, &cfg, MONEY(100000), MONEY(80000), now));
    d.resumes_seen = 2;
    char rec[160];
    risk_drawdown_format(&d, rec, sizeof rec);
    risk_drawdown back;
    assert_true(risk_drawdown_parse(rec, &back));
    assert_memory_equal(&back, &d, sizeof d);
    assert_false(risk_drawdown_parse("", &back));
    assert_false(back.tripped);
    assert_false(risk_drawdown_parse("12 x", &back));
}

static void test_pdt_window_is_five_business_days(void **state)
{
    (void)state;
    /* Wednesday 2026-12-09: Wed, Tue, Mon, then Fri 12-04 and Thu 12-03. */
    apex_time wed = (apex_time)1796774400 * APEX_SECOND + 15 * APEX_HOUR;
    assert_int_equal(risk_pdt_window_start(wed), (apex_time)1796256000 * APEX_SECOND);
    /* Saturday 2026-12-12: Fri 11 back to Mon 12-07. */
    apex_time sat = (apex_time)1797033600 * APEX_SECOND;
    assert_int_equal(risk_pdt_window_start(sat), (apex_time)1796601600 * APEX_SECOND);
}

static void test_pdt_refuses_the_fourth_with_count_and_dates(void **state)
{
    (void)state;
    risk_config cfg = defaults();
    char why[512];
    risk_pdt_input in = {
        .equity = MONEY(20000), .store_count = 3, .dates = "2026-12-07, 2026-12-08, 2026-12-09"};
    assert_false(risk_pdt_allows(&cfg, &in, why, sizeof why));
    assert_string_equal(why, "PDT rule: 3 day trades in the last 5 business days (store 3: "
                             "2026-12-07, 2026-12-08, 2026-12-09; broker 0), limit 3 "
                             "(risk.pdt_day_trade_limit) with equity 20000.00 < 25000; the next "
                             "would be day trade 4; wait for the window to roll or raise equity");
    in.store_count = 2;
    assert_true(risk_pdt_allows(&cfg, &in, why, sizeof why));
    in.broker_count = 3; /* the venue counts trades made elsewhere */
    assert_false(risk_pdt_allows(&cfg, &in, why, sizeof why));
    in.equity = MONEY(25000);
    assert_true(risk_pdt_allows(&cfg, &in, why, sizeof why));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_heat_refuses_the_trade_that_would_exceed_it),
        cmocka_unit_test(test_heat_shrinks_to_whole_lots_when_allowed),
        cmocka_unit_test(test_cluster_limit_binds_before_the_total),
        cmocka_unit_test(test_position_risk_is_to_the_stop_and_never_negative),
        cmocka_unit_test(test_book_is_one_per_account_with_running_totals),
        cmocka_unit_test(test_correlation_on_series_whose_correlation_is_known),
        cmocka_unit_test(test_cluster_counts_correlated_open_symbols_only),
        cmocka_unit_test(test_drawdown_trips_at_the_limit_and_resumes_by_time),
        cmocka_unit_test(test_pdt_window_is_five_business_days),
        cmocka_unit_test(test_pdt_refuses_the_fourth_with_count_and_dates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
