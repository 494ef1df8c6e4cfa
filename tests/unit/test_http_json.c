/* test_http_json: the HTTP JSON price source (core/feeds/http_json.h) against the test
 * HTTP server on 127.0.0.1 in the same libuv loop. Each path of the server scripts an
 * endpoint (a number, a decimal string, a nested array, a time field, a missing field, a
 * body that is not JSON, a 500 before the answer, one that wants a secret header), and
 * the tests assert the bars and errors the source delivers, what the server saw, and that
 * the secret never reaches a log line. Every test ends with uv_loop_close() == 0. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "feeds/http_json.h"
#include "http_test_server.h"
#include "output_capture.h"
#include "net/redact.h"
#include "util/err.h"
#include "util/log.h"

#define SECRET_ENV   "APEX_TEST_FEED_AUTH"
#define SECRET_TOKEN "tok-FEED-SECRET-5e7a19c0"
#define SECRET_LINE  "Authorization: Bearer " SECRET_TOKEN

static void handle(hts_conn *c, const char *method, const char *path, int nth, void *ud)
{
    (void)method;
    (void)ud;
    if (strcmp(path, "/number") == 0) {
        hts_respond(c, 200, "OK", "Content-Type: application/json\r\n",
                    "{\"quote\":{\"price\":18.25,\"name\":\"VIX\"}}");
    } else if (strcmp(path, "/string") == 0) {
        hts_respond(c, 200, "OK", NULL, "{\"data\":[{\"last\":\"18.12345678\"}]}");
    } else if (strcmp(path, "/nested") == 0) {
        hts_respond(c, 200, "OK", NULL,
                    "{\"data\":[{\"last\":1},{\"last\":0.00001234,"
                    "\"t\":\"2024-03-01T09:30:00-05:00\"}]}");
    } else if (strcmp(path, "/unix") == 0) {
        hts_respond(c, 200, "OK", NULL, "{\"p\":20,\"ts\":1709303400}");
    } else if (strcmp(path, "/badtime") == 0) {
        hts_respond(c, 200, "OK", NULL, "{\"p\":\"20.5\",\"ts\":\"yesterday\"}");
    } else if (strncmp(path, "/missing", 8) == 0) {
        hts_respond(c, 200, "OK", NULL, "{\"data\":{\"first\":17}}");
    } else if (strcmp(path, "/notjson") == 0) {
        hts_respond(c, 200, "OK", NULL, "<html>maintenance</html>");
    } else if (strcmp(path, "/negative") == 0) {
        hts_respond(c, 200, "OK", NULL, "{\"v\":\"-3.2\"}");
    } else if (strcmp(path, "/object") == 0) {
        hts_respond(c, 200, "OK", NULL, "{\"v\":{\"x\":1}}");
    } else if (strcmp(path, "/flaky") == 0) {
        if (nth == 1)
            hts_respond(c, 500, "Internal Server Error", NULL, "try again");
        else
            hts_respond(c, 200, "OK", NULL, "{\"v\":19.75}");
    } else if (strcmp(path, "/down") == 0) {
        hts_respond(c, 503, "Service Unavailable", NULL, "down");
    } else if (strcmp(path, "/toggle") == 0) {
        /* poll 1: 503 three times; poll 2: not JSON; poll 3: a price; poll 4 on: 503 */
        if (nth <= 3 || nth >= 6)
            hts_respond(c, 503, "Service Unavailable", NULL, "down");
        else if (nth == 4)
            hts_respond(c, 200, "OK", NULL, "<html>maintenance</html>");
        else
            hts_respond(c, 200, "OK", NULL, "{\"v\":\"18\"}");
    } else if (strcmp(path, "/auth") == 0) {
        if (!strstr(c->srv->last_headers, SECRET_LINE))
            hts_respond(c, 401, "Unauthorized", NULL, "no token");
        else if (nth == 1) /* an error body that quotes the request back, as some APIs do */
            hts_respond(c, 500, "Internal Server Error", NULL, c->srv->last_headers);
        else
            hts_respond(c, 200, "OK", NULL, "{\"v\":\"22.5\"}");
    } else {
        hts_respond(c, 404, "Not Found", NULL, "no such path");
    }
}

/* ---- fixture ------------------------------------------------------------------------------ */

typedef struct {
    uv_loop_t loop;
    hts_server srv;
    uv_timer_t guard;
    int bars, errors;
    char symbol[32];
    bar last;
    char error[1024];
    http_json_source *src;
} fixture;

static fixture *fx;

static void on_bar(void *ud, const char *symbol, const bar *b)
{
    fixture *f = ud;
    f->bars++;
    snprintf(f->symbol, sizeof f->symbol, "%s", symbol);
    f->last = *b;
}

static void on_error(void *ud, const char *message)
{
    fixture *f = ud;
    f->errors++;
    snprintf(f->error, sizeof f->error, "%s", message);
}

static int setup(void **state)
{
    fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    assert_int_equal(uv_loop_init(&fx->loop), 0);
    hts_start(&fx->srv, &fx->loop, handle, NULL);
    uv_timer_init(&fx->loop, &fx->guard);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    http_json_close(fx->src);
    hts_stop(&fx->srv);
    uv_close((uv_handle_t *)&fx->guard, NULL);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&fx->loop), 0);
    free(fx);
    fx = NULL;
    return 0;
}

static void on_guard(uv_timer_t *t)
{
    (void)t; /* wakes UV_RUN_ONCE up so the loops below can check their condition */
}

/* Runs the loop until bars + errors reaches n, failing after 20 s. */
static void run_until_results(int n)
{
    uv_timer_start(&fx->guard, on_guard, 20, 20);
    uint64_t start = uv_hrtime();
    while (fx->bars + fx->errors < n) {
        uv_run(&fx->loop, UV_RUN_ONCE);
        if (uv_hrtime() - start > 20 * (uint64_t)1000000000)
            fail_msg("timed out: %d bars, %d errors", fx->bars, fx->errors);
    }
    uv_timer_stop(&fx->guard);
}

static void run_for_ms(uint64_t ms)
{
    uint64_t until = uv_hrtime() + ms * 1000000;
    uv_timer_start(&fx->guard, on_guard, 10, 10);
    while (uv_hrtime() < until)
        uv_run(&fx->loop, UV_RUN_ONCE);
    uv_timer_stop(&fx->guard);
}

static char url_buf[256];

static const char *url(const char *path)
{
    snprintf(url_buf, sizeof url_buf, "http://127.0.0.1:%d%s", fx->srv.port, path);
    return url_buf;
}

static http_json_source_cfg cfg_for(const char *path, const char *price)
{
    return (http_json_source_cfg){
        .symbol = "VIX", .url = url(path), .price = price, .every_seconds = 60};
}

static void open_source(const http_json_source_cfg *cfg)
{
    char err[512] = "";
    http_json_callbacks cb = {.on_bar = on_bar, .on_error = on_error, .ud = fx};
    fx->src = http_json_open(&fx->loop, cfg, &cb, err, sizeof err);
    if (!fx->src)
        fail_msg("http_json_open: %s", err);
}

static apex_time now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (apex_time)ts.tv_sec * APEX_SECOND + ts.tv_nsec / 1000;
}

/* ---- values ------------------------------------------------------------------------------- */

static void test_number_value(void **state)
{
    (void)state;
    http_json_source_cfg cfg = cfg_for("/number", "quote.price");
    apex_time before = now_us();
    open_source(&cfg);
    assert_int_equal(fx->bars, 0); /* never inside http_json_open */
    run_until_results(1);
    assert_int_equal(fx->errors, 0);
    assert_string_equal(fx->symbol, "VIX");
    assert_int_equal(fx->last.close, 1825000000);
    assert_int_equal(fx->last.open, fx->last.close);
    assert_int_equal(fx->last.high, fx->last.close);
    assert_int_equal(fx->last.low, fx->last.close);
    assert_int_equal(fx->last.volume, 0);
    assert_int_equal(fx->last.symbol_id, -1);
    /* no time field: the wall clock at receipt */
    assert_true(fx->last.ts >= before && fx->last.ts <= now_us());
    assert_int_equal(hts_hits(&fx->srv, "/number"), 1);
    assert_string_equal(hts_stats(&fx->srv, "/number")->method[0], "GET");
}

static void test_decimal_string_exact(void **state)
{
    (void)state;
    http_json_source_cfg cfg = cfg_for("/string", "data.0.last");
    open_source(&cfg);
    run_until_results(1);
    assert_int_equal(fx->errors, 0);
    assert_int_equal(fx->last.close, 1812345678); /* 18.12345678 to the 1e-8 */
}

static void test_nested_path_and_time(void **state)
{
    (void)state;
    http_json_source_cfg cfg = cfg_for("/nested", "data.1.last");
    cfg.time = "data.1.t";
    open_source(&cfg);
    run_until_results(1);
    assert_int_equal(fx->errors, 0);
    assert_int_equal(fx->last.close, 1234); /* 0.00001234: "%.15g" prints 1.234e-05 */
    assert_int_equal(fx->last.ts, (apex_time)1709303400 * APEX_SECOND); /* 14:30 UTC */
}

static void test_unix_seconds_time(void **state)
{
    (void)state;
    http_json_source_cfg cfg = cfg_for("/unix", "p");
    cfg.time = "ts";
    open_source(&cfg);
    run_until_results(1);
    assert_int_equal(fx->last.close, 20 * MONEY_SCALE);
    assert_int_equal(fx->last.ts, (apex_time)1709303400 * APEX_SECOND);
}

static void test_unparseable_time_is_receipt(void **state)
{
    (void)state;
    http_json_source_cfg cfg = cfg_for("/badtime", "p");
    cfg.time = "ts";
    apex_time before = now_us();
    open_source(&cfg);
    run_until_results(1);
    assert_int_equal(fx->errors, 0);
    assert_int_equal(fx->last.close, 2050000000);
    assert_true(fx->last.ts >= before && fx->last.ts <= now_us());
}

/* ---- failures ----------------------------------------------------------------------------- */

static void test_missing_field_names_path_and_origin(void **state)
{
    (void)state;
    http_json_source_cfg cfg = cfg_for("/missing?apikey=QUERYTOKEN42", "data.last");
    open_source(&cfg);
    run_until_results(1);
    assert_int_equal(fx->bars, 0);
    char want[256];
    snprintf(want, sizeof want,
             "VIX from http://127.0.0.1:%d: field 'data.last' is missing (the response has "
             "'data' but nothing below it); check the source's `price` path",
             fx->srv.port);
    assert_string_equal(fx->error, want);
    assert_null(strstr(fx->error, "QUERYTOKEN42"));
    assert_null(strstr(fx->error, "/missing"));
}

static void test_missing_top_level_field(void **state)
{
    (void)state;
    http_json_source_cfg cfg = cfg_for("/number", "last");
    open_source(&cfg);
    run_until_results(1);
    char want[256];
    snprintf(want, sizeof want,
             "VIX from http://127.0.0.1:%d: field 'last' is missing; check the source's "
             "`price` path",
             fx->srv.port);
    assert_string_equal(fx->error, want);
}

static void test_not_json(void **state)
{
    (void)state;
    http_json_source_cfg cfg = cfg_for("/notjson", "v");
    open_source(&cfg);
    run_until_results(1);
    assert_int_equal(fx->bars, 0);
    assert_non_null(strstr(fx->error, "the response is not JSON (line 1"));
}

static void test_not_a_positive_price(void **state)
{
    (void)state;
    http_json_source_cfg cfg = cfg_for("/negative", "v");
    open_source(&cfg);
    run_until_results(1);
    assert_int_equal(fx->bars, 0);
    assert_non_null(strstr(fx->error, "field 'v' is \"-3.2\", not a positive price"));
}

static void test_wrong_type(void **state)
{
    (void)state;
    http_json_source_cfg cfg = cfg_for("/object", "v");
    open_source(&cfg);
    run_until_results(1);
    assert_non_null(strstr(fx->error, "field 'v' is an object, not a number or a decimal string"));
}

static void test_500_then_success(void **state)
{
    (void)state;
    http_json_source_cfg cfg = cfg_for("/flaky", "v");
    open_source(&cfg);
    run_until_results(1);
    assert_int_equal(fx->errors, 0); /* the HTTP client's GET retry took care of it */
    assert_int_equal(fx->bars, 1);
    assert_int_equal(fx->last.close, 1975000000);
    assert_int_equal(hts_hits(&fx->srv, "/flaky"), 2);
    http_json_stats st;
    http_json_get_stats(fx->src, &st);
    assert_int_equal(st.polls, 1);
    assert_int_equal(st.failures, 0);
}

/* A source that keeps failing is reported once, not at every poll. */
static void test_failures_reported_once_per_state(void **state)
{
    (void)state;
    http_json_source_cfg cfg = cfg_for("/down", "v");
    cfg.every_seconds = 1;
    open_source(&cfg);
    run_for_ms(3300);
    http_json_stats st;
    http_json_get_stats(fx->src, &st);
    assert_true(st.failures >= 2);
    assert_int_equal(st.reported, 1);
    assert_int_equal(fx->errors, 1);
    assert_int_equal(st.failing_streak, st.failures);
    assert_non_null(strstr(fx->error, ": HTTP 503 after 3 attempt(s)"));
}

/* A change of kind is reported again, and so is a failure after a recovery. */
static void test_failures_reported_on_each_change(void **state)
{
    (void)state;
    http_json_source_cfg cfg = cfg_for("/toggle", "v");
    cfg.every_seconds = 1;
    open_source(&cfg);
    run_for_ms(3500); /* polls at about 0, 1, 2 and 3 s */
    http_json_stats st;
    http_json_get_stats(fx->src, &st);
    assert_int_equal(st.polls, 4);
    assert_int_equal(fx->bars, 1);
    assert_int_equal(fx->errors, 3);
    assert_int_equal(st.failures, 3);
    assert_int_equal(st.failing_streak, 1);
    assert_non_null(strstr(fx->error, ": HTTP 503 after 3 attempt(s)"));
}

/* ---- secrets ------------------------------------------------------------------------------ */

static void test_secret_header_sent_never_logged(void **state)
{
    (void)state;
    assert_int_equal(setenv(SECRET_ENV, SECRET_LINE, 1), 0);
    output_capture cap;
    output_capture_begin(&cap, LOG_DEBUG);

    /* The source with the header: a 500 quoting the request back, then the price. */
    http_json_source_cfg cfg = cfg_for("/auth", "v");
    cfg.header_env = SECRET_ENV;
    open_source(&cfg);
    run_until_results(1);
    http_json_close(fx->src);
    fx->src = NULL;
    /* A second one whose failure is reported (on_error and a warning). */
    cfg = cfg_for("/missing", "data.last");
    cfg.header_env = SECRET_ENV;
    open_source(&cfg);
    run_until_results(2);

    char *text = output_capture_end(&cap);
    unsetenv(SECRET_ENV);

    /* The server got the header (it answered the price only to it)... */
    assert_int_equal(fx->bars, 1);
    assert_int_equal(fx->last.close, 2250000000);
    assert_int_equal(hts_hits(&fx->srv, "/auth"), 2);
    /* ...the paths that could leak were taken (headers and the echoing body logged)... */
    assert_non_null(strstr(text, "Authorization: " REDACTED));
    assert_non_null(strstr(text, "field 'data.last' is missing"));
    /* ...and the token is in no line, nor in the message. */
    assert_null(strstr(text, SECRET_TOKEN));
    assert_null(strstr(text, "tok-FEED"));
    assert_null(strstr(fx->error, SECRET_TOKEN));
    free(text);
}

/* ---- the period --------------------------------------------------------------------------- */

static void test_polling_period(void **state)
{
    (void)state;
    http_json_source_cfg cfg = cfg_for("/number", "quote.price");
    cfg.every_seconds = 1;
    open_source(&cfg);
    run_for_ms(3500); /* polls at about 0, 1, 2 and 3 s */
    int hits = hts_hits(&fx->srv, "/number");
    assert_true(hits >= 3 && hits <= 5);
    assert_int_equal(fx->bars, hits);
    hts_path_stats *st = hts_stats(&fx->srv, "/number");
    for (int i = 1; i < st->hits; i++) {
        uint64_t gap = st->at[i] - st->at[i - 1];
        assert_true(gap >= 900 && gap <= 1600);
    }
    http_json_stats s;
    http_json_get_stats(fx->src, &s);
    assert_int_equal(s.polls, hits);
    assert_int_equal(s.skipped, 0);
}

/* Closing from inside on_bar is safe; nothing more arrives after. */
static http_json_source *close_me;
static int closed_bars;
static void on_bar_close(void *ud, const char *symbol, const bar *b)
{
    (void)ud;
    (void)symbol;
    (void)b;
    closed_bars++;
    http_json_close(close_me);
}

static void test_close_inside_callback(void **state)
{
    (void)state;
    http_json_source_cfg cfg = cfg_for("/number", "quote.price");
    cfg.every_seconds = 1;
    char err[256];
    http_json_callbacks cb = {.on_bar = on_bar_close};
    close_me = http_json_open(&fx->loop, &cfg, &cb, err, sizeof err);
    assert_non_null(close_me);
    closed_bars = 0;
    run_for_ms(1500);
    assert_int_equal(closed_bars, 1);
    assert_int_equal(hts_hits(&fx->srv, "/number"), 1);
}

/* ---- http_json_check ---------------------------------------------------------------------- */

static void check_says(const http_json_source_cfg *cfg, const char *want)
{
    char err[512] = "";
    int rc = http_json_check(cfg, err, sizeof err);
    if (!want) {
        if (rc != 0)
            fail_msg("unexpected: %s", err);
        return;
    }
    assert_int_equal(rc, APEX_EINVAL);
    if (!strstr(err, want))
        fail_msg("'%s' does not contain '%s'", err, want);
}

static void test_check(void **state)
{
    (void)state;
    http_json_source_cfg ok = {.symbol = "VIX",
                               .url = "https://api.example.com/v1/quote?s=VIX",
                               .price = "data.0.last",
                               .every_seconds = 60};
    check_says(&ok, NULL);
    http_json_source_cfg c = ok;
    c.url = "http://api.example.com/q";
    check_says(&c, "url: \"http://api.example.com/q\" is plain http");
    c.url = "http://localhost:8080/q";
    check_says(&c, NULL);
    c.url = "ftp://api.example.com/q";
    check_says(&c, "url: \"ftp://api.example.com/q\" is not an https:// URL");
    c.url = "https://user:pw@api.example.com/q";
    check_says(&c, "url: the URL carries a user name or password");
    c.url = NULL;
    check_says(&c, "url: missing");
    c = ok;
    c.price = "";
    check_says(&c, "price: missing");
    c.price = "data..last";
    check_says(&c, "price: \"data..last\" has an empty segment");
    c.price = ".last";
    check_says(&c, "price: \".last\" has an empty segment");
    c.price = "data last";
    check_says(&c, "price: \"data last\" has a space");
    c = ok;
    c.time = "t.";
    check_says(&c, "time: \"t.\" has an empty segment");
    c = ok;
    c.every_seconds = 0;
    check_says(&c, "every_seconds: 0 is out of range");
    c.every_seconds = 86401;
    check_says(&c, "every_seconds: 86401 is out of range");
    c = ok;
    c.timeout_seconds = -1;
    check_says(&c, "timeout_seconds: -1 is out of range");
    c = ok;
    c.symbol = "bad symbol";
    check_says(&c, "symbol: \"bad symbol\" is not a symbol");
    c = ok;
    c.header_env = "1BAD";
    check_says(&c, "header_env: \"1BAD\" is not an environment variable name");
    c.header_env = "APEX_TEST_FEED_UNSET_VAR";
    unsetenv(c.header_env);
    check_says(&c, "header_env: the environment variable APEX_TEST_FEED_UNSET_VAR is not set");
    assert_int_equal(setenv("APEX_TEST_FEED_BAD", "no colon " SECRET_TOKEN, 1), 0);
    c.header_env = "APEX_TEST_FEED_BAD";
    char err[512];
    assert_int_equal(http_json_check(&c, err, sizeof err), APEX_EINVAL);
    assert_non_null(strstr(err, "APEX_TEST_FEED_BAD does not hold a header line"));
    assert_null(strstr(err, SECRET_TOKEN));
    assert_int_equal(setenv("APEX_TEST_FEED_BAD", SECRET_LINE, 1), 0);
    check_says(&c, NULL);
    unsetenv("APEX_TEST_FEED_BAD");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_number_value, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decimal_string_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nested_path_and_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unix_seconds_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unparseable_time_is_receipt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_field_names_path_and_origin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_top_level_field, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_a_positive_price, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_type, setup, teardown),
        cmocka_unit_test_setup_teardown(test_500_then_success, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failures_reported_once_per_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failures_reported_on_each_change, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secret_header_sent_never_logged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_polling_period, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_inside_callback, setup, teardown),
        cmocka_unit_test(test_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
