/* metrics: the registry and its Prometheus text. What a scraper reads must parse under the
 * exposition rules (tests/support/prom_parse.h), say exactly what was counted (money to
 * the unit, seconds from microseconds and nanoseconds), escape what a pipeline's name may
 * hold, and keep histogram buckets cumulative; a limiter's waits show as it granted them;
 * docs/metrics.md documents every family the catalogue has. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "clock/clock.h"
#include "http_test_server.h"
#include "metrics/metrics.h"
#include "net/http.h"
#include "net/ratelimit.h"
#include "prom_parse.h"

static char *render(void)
{
    char *text = metrics_render_text(NULL);
    assert_non_null(text);
    return text;
}

/* Renders, checks the whole text under the format's rules, and returns the parse. */
static void render_parse(prom_doc *doc, char **text_out)
{
    char *text = render();
    char err[512] = "";
    int rc = prom_parse(text, doc, err, sizeof err);
    if (rc != 0)
        fail_msg("%s\n--- the text ---\n%s", err, text);
    if (text_out)
        *text_out = text;
    else
        free(text);
}

static double value_of(const prom_doc *doc, const char *name, const char *labels)
{
    double v = -1;
    if (prom_get(doc, name, labels, &v) != 0)
        fail_msg("no sample %s{%s}", name, labels);
    return v;
}

static int teardown(void **state)
{
    (void)state;
    metrics_reset();
    return 0;
}

static void test_counter_help_type_and_value(void **state)
{
    (void)state;
    metrics_series *fills = metrics_get(METRIC_FILLS, "ma_trend");
    assert_ptr_equal(fills, metrics_get(METRIC_FILLS, "ma_trend")); /* one series per labels */
    assert_false(metrics_is_discard(fills));
    for (int i = 0; i < 3; i++)
        metrics_inc(fills);
    metrics_add(metrics_get(METRIC_FILLS, "rsi"), 40);
    char *text;
    prom_doc doc;
    render_parse(&doc, &text);
    assert_non_null(strstr(text, "# HELP apex_fills_total Fills recorded for the pipeline's "
                                 "orders.\n# TYPE apex_fills_total counter\n"
                                 "apex_fills_total{pipeline=\"ma_trend\"} 3\n"
                                 "apex_fills_total{pipeline=\"rsi\"} 40\n"));
    assert_true(value_of(&doc, "apex_fills_total", "pipeline=\"rsi\"") == 40);
    /* Families nobody asked for are not in the text. */
    assert_null(strstr(text, "apex_reloads_total"));
    assert_int_equal(doc.nfamilies, 1);
    prom_doc_free(&doc);
    free(text);
}

static void test_every_counter_ends_in_total_and_every_name_has_the_prefix(void **state)
{
    (void)state;
    for (int id = 0; id < METRIC_COUNT; id++) {
        const metrics_family *f = metrics_family_of((metrics_id)id);
        assert_non_null(f);
        assert_int_equal(strncmp(f->name, "apex_", 5), 0);
        size_t n = strlen(f->name);
        bool total = n > 6 && strcmp(f->name + n - 6, "_total") == 0;
        assert_true(total == (f->type == METRICS_COUNTER));
        if (f->unit == METRICS_UNIT_NANOS || f->unit == METRICS_UNIT_MICROS)
            assert_non_null(strstr(f->name, "_seconds"));
        if (f->unit == METRICS_UNIT_BYTES)
            assert_non_null(strstr(f->name, "_bytes"));
        /* One series of every family renders and parses, histograms included. */
        const char *values[METRICS_MAX_LABELS] = {"x", "y"};
        metrics_series *s = metrics_get_v((metrics_id)id, values);
        assert_false(metrics_is_discard(s));
        if (f->type == METRICS_HISTOGRAM)
            metrics_observe(s, 1);
        else
            metrics_inc(s);
    }
    prom_doc doc;
    render_parse(&doc, NULL);
    assert_int_equal(doc.nfamilies, METRIC_COUNT);
    prom_doc_free(&doc);
    assert_null(metrics_family_of(METRIC_COUNT));
    assert_true(metrics_is_discard(metrics_get(METRIC_COUNT, "x")));
}

static void test_label_values_are_escaped(void **state)
{
    (void)state;
    /* A pipeline's name is the user's text: a quote, a backslash and a newline in it. */
    metrics_set(metrics_get(METRIC_OPEN_POSITIONS, "my \"best\" C:\\alpha\nv2"), 2);
    char *text;
    prom_doc doc;
    render_parse(&doc, &text);
    assert_non_null(
        strstr(text, "apex_open_positions{pipeline=\"my \\\"best\\\" C:\\\\alpha\\nv2\"} 2\n"));
    assert_true(value_of(&doc, "apex_open_positions",
                         "pipeline=\"my \\\"best\\\" C:\\\\alpha\\nv2\"") == 2);
    prom_doc_free(&doc);
    free(text);
}

static void test_money_and_seconds_render_exactly(void **state)
{
    (void)state;
    char out[32];
    metrics_format_value(150000000, METRICS_UNIT_MONEY, out); /* money: 1e-8 */
    assert_string_equal(out, "1.5");
    metrics_format_value(-1234567890123, METRICS_UNIT_MONEY, out);
    assert_string_equal(out, "-12345.67890123");
    metrics_format_value(30000000, METRICS_UNIT_MONEY, out); /* 0.3, not 0.30000000000000004 */
    assert_string_equal(out, "0.3");
    metrics_format_value(2500, METRICS_UNIT_MICROS, out);
    assert_string_equal(out, "0.0025");
    metrics_format_value(1500000001, METRICS_UNIT_NANOS, out);
    assert_string_equal(out, "1.500000001");
    metrics_format_value(INT64_MIN, METRICS_UNIT_ONE, out);
    assert_string_equal(out, "-9223372036854775808");
    metrics_format_value(0, METRICS_UNIT_MONEY, out);
    assert_string_equal(out, "0");

    metrics_set(metrics_get(METRIC_REALIZED_PNL, "p"), -4213500000);    /* -42.135 */
    metrics_add(metrics_get(METRIC_LUA_CALL_SECONDS, "p"), 2750000000); /* 2.75 s in ns */
    prom_doc doc;
    render_parse(&doc, NULL);
    assert_true(value_of(&doc, "apex_realized_pnl", "pipeline=\"p\"") == -42.135);
    assert_true(value_of(&doc, "apex_lua_call_seconds_total", "pipeline=\"p\"") == 2.75);
    prom_doc_free(&doc);
}

static void test_histogram_buckets_are_cumulative_with_inf_sum_and_count(void **state)
{
    (void)state;
    metrics_series *lag = metrics_get(METRIC_MONITOR_CHECK_LAG, "p");
    /* host-clock microseconds: 0 s, 2 ms, exactly 1 s (le is inclusive), 400 s */
    metrics_observe(lag, 0);
    metrics_observe(lag, 2000);
    metrics_observe(lag, APEX_SECOND);
    metrics_observe(lag, 400 * APEX_SECOND);
    assert_int_equal(metrics_histogram_count(lag), 4);
    char *text;
    prom_doc doc;
    render_parse(&doc, &text);
    const char *expect = "# TYPE apex_monitor_check_lag_seconds histogram\n"
                         "apex_monitor_check_lag_seconds_bucket{pipeline=\"p\",le=\"0.001\"} 1\n"
                         "apex_monitor_check_lag_seconds_bucket{pipeline=\"p\",le=\"0.005\"} 2\n"
                         "apex_monitor_check_lag_seconds_bucket{pipeline=\"p\",le=\"0.01\"} 2\n"
                         "apex_monitor_check_lag_seconds_bucket{pipeline=\"p\",le=\"0.05\"} 2\n"
                         "apex_monitor_check_lag_seconds_bucket{pipeline=\"p\",le=\"0.1\"} 2\n"
                         "apex_monitor_check_lag_seconds_bucket{pipeline=\"p\",le=\"0.5\"} 2\n"
                         "apex_monitor_check_lag_seconds_bucket{pipeline=\"p\",le=\"1\"} 3\n"
                         "apex_monitor_check_lag_seconds_bucket{pipeline=\"p\",le=\"5\"} 3\n"
                         "apex_monitor_check_lag_seconds_bucket{pipeline=\"p\",le=\"10\"} 3\n"
                         "apex_monitor_check_lag_seconds_bucket{pipeline=\"p\",le=\"30\"} 3\n"
                         "apex_monitor_check_lag_seconds_bucket{pipeline=\"p\",le=\"60\"} 3\n"
                         "apex_monitor_check_lag_seconds_bucket{pipeline=\"p\",le=\"300\"} 3\n"
                         "apex_monitor_check_lag_seconds_bucket{pipeline=\"p\",le=\"+Inf\"} 4\n"
                         "apex_monitor_check_lag_seconds_sum{pipeline=\"p\"} 401.002\n"
                         "apex_monitor_check_lag_seconds_count{pipeline=\"p\"} 4\n";
    if (!strstr(text, expect))
        fail_msg("expected\n%s\nin\n%s", expect, text);
    prom_doc_free(&doc);
    free(text);
    metrics_zero_family(METRIC_MONITOR_CHECK_LAG);
    assert_int_equal(metrics_histogram_count(lag), 0);
}

static void set_to_seven(void *ud)
{
    metrics_set(ud, 7);
}

static void test_collectors_run_before_the_text(void **state)
{
    (void)state;
    metrics_series *g = metrics_get(METRIC_RATELIMIT_QUEUED, "acct");
    assert_int_equal(metrics_add_collector(set_to_seven, g), 0);
    assert_int_equal(metrics_add_collector(set_to_seven, g), 0); /* once per (fn, ud) */
    prom_doc doc;
    render_parse(&doc, NULL);
    assert_true(value_of(&doc, "apex_ratelimit_queued", "limiter=\"acct\"") == 7);
    prom_doc_free(&doc);
    metrics_remove_collector(set_to_seven, g);
    metrics_set(g, 1);
    render_parse(&doc, NULL);
    assert_true(value_of(&doc, "apex_ratelimit_queued", "limiter=\"acct\"") == 1);
    prom_doc_free(&doc);
}

static void granted(void *ud)
{
    (*(int *)ud)++;
}

/* One call a minute: the second of two calls asked together waits the window's 60 s. */
static void test_ratelimit_counts_grants_and_waits(void **state)
{
    (void)state;
    apex_time t0 = (apex_time)1709303400 * APEX_SECOND;
    apex_clock *clock = clock_new_simulated(t0);
    ratelimit *rl = ratelimit_new(clock, 1);
    ratelimit_set_metrics(rl, "paper");
    int n = 0;
    assert_int_equal(ratelimit_submit(rl, RATELIMIT_ROUTINE, granted, &n), 0);
    assert_int_equal(ratelimit_submit(rl, RATELIMIT_ROUTINE, granted, &n), 0);
    prom_doc doc;
    render_parse(&doc, NULL);
    assert_true(value_of(&doc, "apex_ratelimit_queued", "limiter=\"paper\"") == 2);
    prom_doc_free(&doc);
    for (int s = 0; s <= 60 && n < 2; s++) {
        clock_advance_to(clock, t0 + s * APEX_SECOND);
        clock_run_due(clock);
    }
    assert_int_equal(n, 2);
    render_parse(&doc, NULL);
    assert_true(value_of(&doc, "apex_ratelimit_grants_total", "limiter=\"paper\"") == 2);
    assert_true(value_of(&doc, "apex_ratelimit_waits_total", "limiter=\"paper\"") == 1);
    assert_true(value_of(&doc, "apex_ratelimit_queued", "limiter=\"paper\"") == 0);
    assert_true(value_of(&doc, "apex_ratelimit_wait_seconds_sum", "limiter=\"paper\"") == 60);
    assert_true(
        value_of(&doc, "apex_ratelimit_wait_seconds_bucket", "limiter=\"paper\",le=\"45\"") == 1);
    assert_true(
        value_of(&doc, "apex_ratelimit_wait_seconds_bucket", "limiter=\"paper\",le=\"60\"") == 2);
    prom_doc_free(&doc);
    ratelimit_free(rl);
    clock_free(clock);
}

/* /a answers 503 and then 200 (a retry); /b resets the connection each time. */
static void answer(hts_conn *c, const char *method, const char *path, int nth, void *ud)
{
    (void)method;
    (void)ud;
    if (strcmp(path, "/b") == 0)
        hts_close(c, true);
    else if (nth == 1)
        hts_respond(c, 503, "Service Unavailable", NULL, "busy");
    else
        hts_respond(c, 200, "OK", NULL, "{}");
}

static void http_done(const http_result *r, void *ud)
{
    (void)r;
    (*(int *)ud)++;
}

/* Every finished attempt counts under its status code, retries included; an attempt
 * without a response counts as "error". */
static void test_http_responses_by_code(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    hts_server srv = {0};
    hts_start(&srv, &loop, answer, NULL);
    http_client_options o;
    http_client_options_default(&o);
    o.jitter_seed = 42;
    o.retry.base_ms = 10;
    o.retry.cap_ms = 20;
    o.retry.max_attempts = 2;
    o.metrics_name = "venue \"x\"";
    apex_error err;
    http_client *http = http_client_new(&loop, &o, &err);
    assert_non_null(http);
    char url_a[64], url_b[64];
    snprintf(url_a, sizeof url_a, "http://127.0.0.1:%d/a", srv.port);
    snprintf(url_b, sizeof url_b, "http://127.0.0.1:%d/b", srv.port);
    int done = 0;
    http_request_spec a = {.method = HTTP_GET, .url = url_a};
    http_request_spec b = {.method = HTTP_GET, .url = url_b};
    assert_int_equal(http_send(http, &a, http_done, &done, &err), 0);
    assert_int_equal(http_send(http, &b, http_done, &done, &err), 0);
    while (done < 2)
        uv_run(&loop, UV_RUN_ONCE);
    http_client_free(http);
    hts_stop(&srv);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    prom_doc doc;
    render_parse(&doc, NULL);
    const char *l503 = "client=\"venue \\\"x\\\"\",code=\"503\"";
    const char *l200 = "client=\"venue \\\"x\\\"\",code=\"200\"";
    const char *lerr = "client=\"venue \\\"x\\\"\",code=\"error\"";
    assert_true(value_of(&doc, "apex_http_responses_total", l503) == 1);
    assert_true(value_of(&doc, "apex_http_responses_total", l200) == 1);
    assert_true(value_of(&doc, "apex_http_responses_total", lerr) == 2);
    prom_doc_free(&doc);
}

/* The parser itself refuses what the format forbids (so a pass means something). */
static void test_the_checker_refuses_broken_text(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "# HELP a_total x\n# TYPE a_total counter\na_total 1", /* no final newline */
        "a_total 1\n",                                         /* no TYPE */
        "# HELP a x\n# TYPE a counter\na 1\n",                 /* counter without _total */
        "# HELP a_total x\n# TYPE a_total counter\na_total -1\n",
        "# HELP g x\n# TYPE g gauge\ng{p=\"a\\q\"} 1\n", /* bad escape */
        "# HELP g x\n# TYPE g gauge\ng{p=\"a\"} 1\ng{p=\"a\"} 2\n",
        "# HELP g x\n# TYPE g gauge\n# HELP h x\n# TYPE h gauge\ng 1\nh 1\ng{a=\"b\"} 2\n",
        "# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\n"
        "h_sum 1\nh_count 1\n",
        "# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n",
        "# HELP h x\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 1\n",
        "# HELP g x\n# TYPE g gauge\ng 0x10\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        prom_doc doc;
        char err[256] = "";
        if (prom_parse(bad[i], &doc, err, sizeof err) == 0)
            fail_msg("accepted case %zu:\n%s", i, bad[i]);
        prom_doc_free(&doc);
    }
}

/* docs/metrics.md has a row for every family, by its full name. */
static void test_docs_name_every_family(void **state)
{
    (void)state;
    const char *src = getenv("APEX_SOURCE_DIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/docs/metrics.md", src ? src : APEX_SOURCE_DIR);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char doc[65536];
    size_t n = fread(doc, 1, sizeof doc - 1, f);
    fclose(f);
    doc[n] = '\0';
    for (int id = 0; id < METRIC_COUNT; id++) {
        const metrics_family *fam = metrics_family_of((metrics_id)id);
        char row[160];
        snprintf(row, sizeof row, "| `%s` |", fam->name);
        if (!strstr(doc, row))
            fail_msg("docs/metrics.md has no row for %s (add one: | `%s` | type | labels | "
                     "meaning |)",
                     fam->name, fam->name);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_counter_help_type_and_value, teardown),
        cmocka_unit_test_teardown(test_every_counter_ends_in_total_and_every_name_has_the_prefix,
                                  teardown),
        cmocka_unit_test_teardown(test_label_values_are_escaped, teardown),
        cmocka_unit_test_teardown(test_money_and_seconds_render_exactly, teardown),
        cmocka_unit_test_teardown(test_histogram_buckets_are_cumulative_with_inf_sum_and_count,
                                  teardown),
        cmocka_unit_test_teardown(test_collectors_run_before_the_text, teardown),
        cmocka_unit_test_teardown(test_ratelimit_counts_grants_and_waits, teardown),
        cmocka_unit_test_teardown(test_http_responses_by_code, teardown),
        cmocka_unit_test(test_the_checker_refuses_broken_text),
        cmocka_unit_test(test_docs_name_every_family),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
