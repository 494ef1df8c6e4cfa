/* Tests for `apex-host status` (cli/status.c): the text rendering of the store's report
 * queries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/status.h"
#include "store/store.h"
#include "store_fixture.h"
#include "util/err.h"

static void test_status_on_empty_store_says_none(void **state)
{
    store *s = open_ok(":memory:");
    char *out = status_of(s, 10);
    assert_non_null(strstr(out, ":memory:"));
    assert_non_null(strstr(out, "EXECUTIONS (active, and the latest 20)\n  none"));
    assert_non_null(strstr(out, "SCRIPT FAILURES\n  none"));
    assert_non_null(strstr(out, "OPEN POSITIONS\n  none"));
    assert_non_null(strstr(out, "EXITS (latest 20)\n  none"));
    assert_non_null(strstr(out, "OPEN ORDERS\n  none"));
    assert_non_null(strstr(out, "never traded)\n  none"));
    assert_non_null(strstr(out, "RECENT EVENTS (latest 10)\n  none"));
    free(out);
    store_close(s);
}

/* Failures counted rather than recorded one by one stay visible, with the last error. */
static void test_status_shows_script_failures(void **state)
{
    store *s = open_ok(":memory:");
    store_script_failure f = {.pipeline = "flood",
                              .stage = "strategy",
                              .failures = 600,
                              .recorded = 5,
                              .first_at = T0,
                              .last_at = T0 + APEX_HOUR,
                              .last_error = "strategy.lua:2: no data for 1709566620"};
    assert_int_equal(store_script_failures_add(s, &f, NULL), 0);
    char *out = status_of(s, 5);
    char line[512];
    const char *section = strstr(out, "SCRIPT FAILURES\n");
    assert_non_null(section);
    assert_non_null(strstr(section, "PIPELINE  STAGE     FAILURES  RECORDED  SUMMARISED"));
    assert_non_null(line_with(section, "flood", line, sizeof line));
    assert_non_null(strstr(line, "strategy       600         5         595"));
    assert_non_null(strstr(line, "2024-03-01 15:30:00"));
    assert_non_null(strstr(line, "strategy.lua:2: no data for 1709566620"));
    free(out);
    store_close(s);
}

static void test_status_shows_executions_positions_orders_events(void **state)
{
    store *s = open_ok(":memory:");
    int64_t id = build_consistent_book(s);
    store_order tp = sample_order(id, "feedbeef-1-1-tp");
    tp.o.role = ORDER_ROLE_TAKE_PROFIT;
    tp.o.side = SIDE_SELL;
    tp.o.qty = MONEY(30);
    tp.o.limit_price = MONEY(14);
    tp.o.status = ORDER_STATUS_ACCEPTED;
    tp.submitted_at = T0 + 2 * APEX_SECOND;
    assert_int_equal(store_order_insert(s, &tp, NULL), 0);
    assert_int_equal(store_event(s, T0 + 3 * APEX_SECOND, "demo", id, "exit", NULL,
                                 "partial exit of %d shares", 120),
                     0);

    char *out = status_of(s, 5);
    char line[512];
    /* The execution row: id, symbol, status, phase, realized P&L with sign, next check. */
    assert_non_null(line_with(out, "monitoring  buy", line, sizeof line));
    assert_non_null(strstr(line, "AAPL"));
    assert_non_null(strstr(line, "+197.30"));
    assert_non_null(strstr(line, "10.3333"));
    assert_non_null(strstr(line, "2024-03-01 14:30:30"));
    assert_non_null(line_with(out, "completed", line, sizeof line));
    assert_non_null(strstr(line, "MSFT"));
    assert_non_null(strstr(line, "+99.60"));

    const char *positions = strstr(out, "OPEN POSITIONS\n");
    assert_non_null(positions);
    assert_non_null(line_with(positions, "long", line, sizeof line));
    assert_non_null(strstr(line, "AAPL"));
    assert_non_null(strstr(line, "30 of 150"));
    assert_non_null(strstr(line, "12.50"));
    assert_non_null(strstr(line, "+65.00"));
    assert_non_null(strstr(line, "+20.97%"));
    assert_non_null(strstr(line, "11.97 armed"));
    assert_non_null(strstr(line, "30 s"));
    assert_non_null(strstr(line, "2024-03-01 14:30:30")); /* next check */
    assert_non_null(line_with(positions, "last update", line, sizeof line));
    assert_non_null(strstr(line, "2024-03-01 14:30:03"));
    assert_non_null(strstr(line, "partial exits done: none"));

    const char *orders = strstr(out, "OPEN ORDERS\n");
    assert_non_null(orders);
    assert_non_null(line_with(orders, "feedbeef-1-1-tp", line, sizeof line));
    assert_non_null(strstr(line, "take_profit"));
    assert_non_null(strstr(line, "accepted"));
    assert_non_null(strstr(line, "14.00"));

    const char *events = strstr(out, "RECENT EVENTS (latest 5)\n");
    assert_non_null(events);
    assert_non_null(line_with(events, "partial exit of 120 shares", line, sizeof line));
    assert_non_null(strstr(line, "2024-03-01 14:30:03"));
    assert_non_null(strstr(line, "exit"));
    free(out);
    store_close(s);
}

static void test_status_shows_monitoring_state_and_exits(void **state)
{
    store *s = open_ok(":memory:");
    int64_t exec_id = build_consistent_book(s);
    store_position p;
    assert_int_equal(store_position_get_by_execution(s, exec_id, &p), 0);
    p.partial_stages_done = 1; /* stage 1 fired; stage 2 not yet */
    assert_int_equal(store_position_update(s, &p, NULL), 0);
    store_execution e;
    assert_int_equal(store_execution_get(s, exec_id, &e), 0);
    e.monitor_interval_s = 5; /* urgent: the price is near the trailing stop */
    e.next_check_at = T0 + 8 * APEX_SECOND;
    assert_int_equal(store_execution_update(s, &e, NULL), 0);

    /* A partial exit that needed a walked limit, and a stop that is still working. */
    store_position_exit partial = sample_exit(&p);
    partial.exit_quantity = MONEY(120);
    partial.filled_quantity = MONEY(120);
    partial.exit_price = CENTS(1200);
    partial.attempts = 2;
    partial.executed_at = T0 + 40 * APEX_SECOND;
    partial.status = EXIT_STATUS_FILLED;
    assert_int_equal(store_exit_insert(s, &partial, NULL), 0);
    store_exit_attempt a1 = sample_attempt(&partial, 1, "feedbeef-1-2");
    a1.quantity = MONEY(120);
    a1.status = ORDER_STATUS_CANCELLED;
    store_exit_attempt a2 = sample_attempt(&partial, 2, "feedbeef-1-3");
    a2.quantity = MONEY(120);
    a2.filled_quantity = MONEY(120);
    a2.limit_price = CENTS(1200);
    a2.status = ORDER_STATUS_FILLED;
    assert_int_equal(store_exit_attempt_insert(s, &a1, NULL), 0);
    assert_int_equal(store_exit_attempt_insert(s, &a2, NULL), 0);

    store_position_exit stop = sample_exit(&p);
    snprintf(stop.exit_reason, sizeof stop.exit_reason, "stop_loss");
    stop.exit_priority = EXIT_PRIORITY_CRITICAL;
    stop.execution_strategy = PRICE_MARKET;
    snprintf(stop.detail, sizeof stop.detail, "price 8.95 <= stop 9.00");
    stop.partial_exit = false;
    stop.exit_quantity = MONEY(30);
    stop.attempts = 1;
    stop.triggered_at = T0 + 50 * APEX_SECOND;
    assert_int_equal(store_exit_insert(s, &stop, NULL), 0);
    store_exit_attempt m = sample_attempt(&stop, 1, "feedbeef-1-4");
    m.order_type = ORDER_MARKET;
    m.limit_price = 0;
    m.filled_quantity = MONEY(10);
    m.status = ORDER_STATUS_PARTIALLY_FILLED;
    assert_int_equal(store_exit_attempt_insert(s, &m, NULL), 0);

    char *out = status_of(s, 5);
    char line[512];
    const char *positions = strstr(out, "OPEN POSITIONS\n");
    assert_non_null(positions);
    const char *exits = strstr(out, "EXITS (latest 20)\n");
    assert_non_null(exits);
    assert_true(exits > positions);

    /* Position: quantity left of the initial, trailing stop armed, cadence, next check. */
    assert_non_null(line_with(positions, "AAPL", line, sizeof line));
    assert_non_null(strstr(line, "30 of 150"));
    assert_non_null(strstr(line, "11.97 armed"));
    assert_non_null(strstr(line, "12.60")); /* peak */
    assert_non_null(strstr(line, "5 s"));
    assert_non_null(strstr(line, "2024-03-01 14:30:08"));
    assert_non_null(strstr(line, "+20.97%"));
    assert_non_null(line_with(positions, "partial exits done", line, sizeof line));
    assert_non_null(strstr(line, "stage 1"));
    assert_null(strstr(line, "stage 2"));
    assert_non_null(strstr(line, "last update 2024-03-01 14:30:03"));

    /* Exits, oldest first, each followed by its attempts. */
    assert_non_null(line_with(exits, "partial_exit_target", line, sizeof line));
    assert_non_null(strstr(line, "MEDIUM"));
    assert_non_null(strstr(line, "fair"));
    assert_non_null(strstr(line, "120 partial"));
    assert_non_null(strstr(line, "filled"));
    assert_non_null(strstr(line, "12.00"));
    assert_non_null(strstr(line, "2024-03-01 14:30:04"));
    assert_non_null(line_with(exits, "stop_loss", line, sizeof line));
    assert_non_null(strstr(line, "CRITICAL"));
    assert_non_null(strstr(line, "market"));
    assert_non_null(strstr(line, "working"));
    assert_null(strstr(line, "partial "));
    assert_true(strstr(exits, "partial_exit_target") < strstr(exits, "stop_loss"));

    assert_non_null(line_with(exits, "feedbeef-1-2", line, sizeof line));
    assert_non_null(strstr(line, "attempt 1"));
    assert_non_null(strstr(line, "limit"));
    assert_non_null(strstr(line, "12.49"));
    assert_non_null(strstr(line, "cancelled"));
    assert_non_null(line_with(exits, "feedbeef-1-3", line, sizeof line));
    assert_non_null(strstr(line, "attempt 2"));
    assert_non_null(strstr(line, "filled 120"));
    assert_non_null(line_with(exits, "feedbeef-1-4", line, sizeof line));
    assert_non_null(strstr(line, "market"));
    assert_non_null(strstr(line, "partially_filled"));
    assert_non_null(strstr(line, "filled 10"));
    assert_non_null(line_with(exits, "why: price 8.95 <= stop 9.00", line, sizeof line));
    /* The attempt lines sit under their own exit. */
    assert_true(strstr(exits, "feedbeef-1-3") < strstr(exits, "stop_loss"));
    assert_true(strstr(exits, "feedbeef-1-4") > strstr(exits, "stop_loss"));
    free(out);
    store_close(s);
}

/* Positions reconciliation found that no execution knows stay in their own section,
 * however many events came after them (the recent events show only the latest). */
static void test_status_shows_unknown_positions(void **state)
{
    (void)state;
    store *s = open_ok(":memory:");
    assert_int_equal(store_event(s, T0, "live", 0, "unknown_position", NULL,
                                 "MSFT: long 5 (avg entry 400.00) at the broker, known to no "
                                 "execution: never traded or closed"),
                     0);
    for (int i = 0; i < 30; i++)
        assert_int_equal(store_event(s, T0 + i, "live", 0, "info", NULL, "later %d", i), 0);
    char *out = status_of(s, 5);
    const char *sec = strstr(out, "UNKNOWN POSITIONS AT THE BROKER");
    assert_non_null(sec);
    const char *events = strstr(out, "RECENT EVENTS (latest 5)");
    assert_non_null(events);
    const char *msft = strstr(sec, "MSFT: long 5");
    assert_non_null(msft);
    assert_true(msft < events);
    assert_null(strstr(events, "MSFT"));
    free(out);
    store_close(s);
}

/* `status --limit/--status/--pipeline/--symbol`: a book of twelve executions in two
 * pipelines and three symbols, statuses mixed. */
static void add_execution(store *s, const char *pipeline, const char *symbol, exec_status st,
                          const char *reason)
{
    store_execution e = sample_execution(pipeline, symbol);
    e.status = st;
    snprintf(e.reason, sizeof e.reason, "%s", reason);
    assert_int_equal(store_execution_insert(s, &e, NULL), 0);
    assert_int_equal(store_event(s, T0 + e.id * APEX_SECOND, pipeline, e.id, "note", NULL,
                                 "event of %s", reason),
                     0);
}

static store *filter_book(void)
{
    store *s = open_ok(":memory:");
    add_execution(s, "trend", "AAPL", EXEC_COMPLETED, "trend-aapl-1");
    add_execution(s, "trend", "MSFT", EXEC_SKIPPED, "trend-msft-2");
    add_execution(s, "trend", "AAPL", EXEC_MONITORING, "trend-aapl-3");
    add_execution(s, "revert", "TSLA", EXEC_COMPLETED, "revert-tsla-4");
    add_execution(s, "revert", "AAPL", EXEC_FAILED, "revert-aapl-5");
    add_execution(s, "trend", "AAPL", EXEC_COMPLETED, "trend-aapl-6");
    add_execution(s, "revert", "TSLA", EXEC_SKIPPED, "revert-tsla-7");
    add_execution(s, "trend", "MSFT", EXEC_COMPLETED, "trend-msft-8");
    add_execution(s, "revert", "AAPL", EXEC_COMPLETED, "revert-aapl-9");
    add_execution(s, "trend", "TSLA", EXEC_SKIPPED, "trend-tsla-10");
    add_execution(s, "revert", "MSFT", EXEC_COMPLETED, "revert-msft-11");
    add_execution(s, "trend", "AAPL", EXEC_SKIPPED, "trend-aapl-12");
    return s;
}

static char *status_filtered(store *s, cli_status_filter f)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    assert_non_null(out);
    assert_int_equal(cli_status_print_filtered(s, out, &f, NULL), 0);
    fclose(out);
    return buf;
}

/* The EXECUTIONS section alone (up to the next section's title). */
static char *executions_of(const char *out)
{
    const char *from = strstr(out, "\nEXECUTIONS");
    assert_non_null(from);
    const char *to = strstr(from, "\nSCRIPT FAILURES");
    assert_non_null(to);
    return strndup(from, (size_t)(to - from));
}

/* How many of the names in the list appear in text, each as a whole reason cell. */
static int present(const char *text, const char *const *names, int n)
{
    int found = 0;
    for (int i = 0; i < n; i++) {
        char needle[64];
        snprintf(needle, sizeof needle, "%s\n", names[i]);
        found += strstr(text, needle) != NULL;
    }
    return found;
}

static void test_status_limit_keeps_active_and_the_latest(void **state)
{
    store *s = filter_book();
    char *out = status_filtered(s, (cli_status_filter){.limit = 3, .events = 2});
    char *ex = executions_of(out);
    assert_non_null(strstr(ex, "EXECUTIONS (active, and the latest 3)"));
    /* The three newest, plus the monitoring one however old. */
    const char *want[] = {"trend-aapl-12", "revert-msft-11", "trend-tsla-10", "trend-aapl-3"};
    assert_int_equal(present(ex, want, 4), 4);
    const char *not_shown[] = {"revert-aapl-9", "trend-aapl-1", "revert-tsla-4"};
    assert_int_equal(present(ex, not_shown, 3), 0);
    /* --events: the two latest events. */
    assert_non_null(strstr(out, "RECENT EVENTS (latest 2)"));
    assert_non_null(strstr(out, "event of revert-msft-11"));
    assert_non_null(strstr(out, "event of trend-aapl-12"));
    assert_null(strstr(out, "event of trend-tsla-10"));
    free(ex);
    free(out);
    store_close(s);
}

static void test_status_filters_by_status_pipeline_and_symbol(void **state)
{
    store *s = filter_book();
    /* --status completed: the latest 2 completed ones, no active one added. */
    char *out =
        status_filtered(s, (cli_status_filter){.status = "completed", .limit = 2, .events = 20});
    char *ex = executions_of(out);
    assert_non_null(strstr(out, "only status completed"));
    assert_non_null(strstr(ex, "EXECUTIONS (latest 2 completed)"));
    const char *completed[] = {"revert-msft-11", "revert-aapl-9"};
    assert_int_equal(present(ex, completed, 2), 2);
    const char *others[] = {"trend-aapl-3", "trend-msft-8", "trend-aapl-12"};
    assert_int_equal(present(ex, others, 3), 0);
    free(ex);
    free(out);

    /* --pipeline revert --symbol AAPL: executions and events of that pair only. */
    out = status_filtered(
        s, (cli_status_filter){.pipeline = "revert", .symbol = "AAPL", .limit = 20, .events = 20});
    ex = executions_of(out);
    const char *pair[] = {"revert-aapl-5", "revert-aapl-9"};
    assert_int_equal(present(ex, pair, 2), 2);
    const char *rest[] = {"trend-aapl-1", "trend-aapl-3", "revert-tsla-4", "revert-msft-11"};
    assert_int_equal(present(ex, rest, 4), 0);
    const char *events = strstr(out, "RECENT EVENTS");
    assert_non_null(events);
    assert_non_null(strstr(events, "event of revert-aapl-5"));
    assert_non_null(strstr(events, "event of revert-aapl-9"));
    assert_null(strstr(events, "event of trend-aapl"));
    assert_null(strstr(events, "event of revert-tsla"));
    free(ex);
    free(out);
    store_close(s);
}

/* Positions, exits and orders follow --symbol and --pipeline too. */
static void test_status_symbol_filter_narrows_positions_and_orders(void **state)
{
    store *s = open_ok(":memory:");
    int64_t id = build_consistent_book(s); /* AAPL open, MSFT closed */
    char *out =
        status_filtered(s, (cli_status_filter){.symbol = "MSFT", .limit = 20, .events = 20});
    const char *pos = strstr(out, "OPEN POSITIONS\n");
    assert_non_null(pos);
    assert_non_null(strstr(pos, "OPEN POSITIONS\n  none"));
    free(out);
    out = status_filtered(s, (cli_status_filter){.symbol = "AAPL", .limit = 20, .events = 20});
    pos = strstr(out, "OPEN POSITIONS\n");
    assert_non_null(pos);
    char line[512];
    char idtext[32];
    snprintf(idtext, sizeof idtext, "%lld", (long long)id);
    assert_non_null(line_with(pos, "AAPL", line, sizeof line));
    assert_non_null(strstr(line, idtext));
    free(out);
    out = status_filtered(s, (cli_status_filter){.pipeline = "nosuch", .limit = 20, .events = 20});
    assert_non_null(strstr(out, "OPEN POSITIONS\n  none"));
    assert_non_null(strstr(out, "OPEN ORDERS\n  none"));
    free(out);
    store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_on_empty_store_says_none),
        cmocka_unit_test(test_status_shows_script_failures),
        cmocka_unit_test(test_status_shows_executions_positions_orders_events),
        cmocka_unit_test(test_status_shows_monitoring_state_and_exits),
        cmocka_unit_test(test_status_shows_unknown_positions),
        cmocka_unit_test(test_status_limit_keeps_active_and_the_latest),
        cmocka_unit_test(test_status_filters_by_status_pipeline_and_symbol),
        cmocka_unit_test(test_status_symbol_filter_narrows_positions_and_orders),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
