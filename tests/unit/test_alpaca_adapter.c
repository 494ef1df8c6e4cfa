/* test_alpaca_adapter: the Alpaca adapter against the fake Alpaca server
 * (tests/fake_alpaca, started here on 127.0.0.1), through the broker interface the host
 * uses. Asserted: replies, listener events (fills once, orders as they change, whether the
 * trade_updates stream or polling brought them), and what reached the fake (orders per
 * client order id, so "never twice" is checked where the bytes land; fill polls and
 * stream connections, so "by the stream" and "reconnected" are too). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "broker/alpaca.h"
#include "broker/broker.h"
#include "clock/clock.h"
#include "market/timestamp.h"
#include "util/err.h"
#include "fake_process.h"

#define KEY    "PKFAKE0123456789"
#define SECRET "fake-secret-value-0123456789abcdef"

typedef struct {
    int status;
    char error[256];
    broker_order order;
    bool has_order;
    int npositions;
    broker_position position;
    broker_account account;
    int nfills;
    broker_fill fills[8];
    int norders;
    int done;
} got;

typedef struct {
    pid_t pid;
    int port;
    uv_loop_t loop;
    apex_clock *clock;
    broker *b;
    broker *extra; /* a second adapter of a test, freed by the teardown when it fails */
    /* listener */
    broker_fill fills[32];
    int nfills;
    broker_order updates[64];
    int nupdates;
} fixture;

/* ---- the fake ---- */

/* clock: the fake's start time (RFC 3339). */
static void start_fake(fixture *f, const char *clock)
{
    const char *bin = getenv("FAKE_ALPACA");
    assert_non_null(bin); /* set by CMake for this test */
    char *argv[] = {(char *)bin, "--port", "0", "--key",   KEY,           "--secret",
                    SECRET,      "--seed", "7", "--clock", (char *)clock, NULL};
    f->pid = fake_process_start(argv, &f->port);
}

/* POST /_control/<what> with a JSON body, through curl (the test's own client). */
static void control(fixture *f, const char *what, const char *json)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "curl -s -f -o /dev/null -X POST -H 'Content-Type: application/json' "
             "--data '%s' http://127.0.0.1:%d/_control/%s",
             json, f->port, what);
    assert_int_equal(system(cmd), 0);
}

/* A counter of the fake: `group` "orders_by_client_order_id" (orders placed per id,
 * duplicates included) or "requests" (per "METHOD /path", faulted ones included). */
static int counter(fixture *f, const char *group, const char *key)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "curl -s -f http://127.0.0.1:%d/_control/counters", f->port);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    json_error_t je;
    json_t *j = json_loadf(p, 0, &je);
    pclose(p);
    assert_non_null(j);
    json_t *n = json_object_get(json_object_get(j, group), key);
    int v = n ? (int)json_integer_value(n) : 0;
    json_decref(j);
    return v;
}

static int orders_sent(fixture *f, const char *coid)
{
    return counter(f, "orders_by_client_order_id", coid);
}

static int posts(fixture *f)
{
    return counter(f, "requests", "POST /v2/orders");
}

/* ---- the adapter ---- */

static void on_order(void *ud, const broker_order *o)
{
    fixture *f = ud;
    if (f->nupdates < 64)
        f->updates[f->nupdates++] = *o;
}

static void on_fill(void *ud, const broker_fill *fill, const broker_order *o)
{
    fixture *f = ud;
    (void)o;
    if (f->nfills < 32)
        f->fills[f->nfills++] = *fill;
}

/* An adapter on the fake, with the keys the environment holds now. */
static broker *new_adapter(fixture *f)
{
    broker_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.kind = BROKER_KIND_ALPACA;
    snprintf(cfg.base_url, sizeof cfg.base_url, "http://127.0.0.1:%d", f->port);
    snprintf(cfg.data_url, sizeof cfg.data_url, "http://127.0.0.1:%d", f->port);
    char err[512];
    broker *b = alpaca_broker_new(&cfg, &f->loop, err, sizeof err);
    if (!b)
        fail_msg("alpaca_broker_new: %s", err);
    return b;
}

static int setup_at(void **state, const char *clock)
{
    fixture *f = calloc(1, sizeof *f);
    start_fake(f, clock);
    setenv("APCA_API_KEY_ID", KEY, 1);
    setenv("APCA_API_SECRET_KEY", SECRET, 1);
    uv_loop_init(&f->loop);
    f->clock = clock_new_live(&f->loop, 1.0, 1);
    f->b = new_adapter(f);
    broker_set_listener(f->b, (broker_listener){.on_order = on_order, .on_fill = on_fill, .ud = f});
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_at(state, "2024-01-02T15:00:00Z");
}

static void rfc3339(apex_time t, char *out, size_t n)
{
    time_t secs = (time_t)(t / APEX_SECOND);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static apex_time wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (apex_time)ts.tv_sec * APEX_SECOND + ts.tv_nsec / 1000;
}

/* Market data is judged against the adapter's wall clock ("history" is older than the
 * latest complete bar), so the fake's clock starts an hour before the wall. */
static int setup_md(void **state)
{
    char clock[40];
    rfc3339(wall_now() - APEX_HOUR, clock, sizeof clock);
    return setup_at(state, clock);
}

static int teardown(void **state)
{
    fixture *f = *state;
    broker_free(f->extra);
    broker_free(f->b);
    clock_free(f->clock);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    kill(f->pid, SIGTERM);
    int st = 0;
    waitpid(f->pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) /* it stops cleanly on SIGTERM: else say how */
        print_message("fake-alpaca ended badly: %s %d\n",
                      WIFSIGNALED(st) ? "signal" : "exit status",
                      WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
    free(f);
    return 0;
}

static void on_reply(void *ud, const broker_reply *r)
{
    got *g = ud;
    g->status = r->status;
    snprintf(g->error, sizeof g->error, "%s", r->error);
    if (r->order) {
        g->order = *r->order;
        g->has_order = true;
    }
    g->npositions = r->npositions;
    if (r->npositions > 0)
        g->position = r->positions[0];
    if (r->account)
        g->account = *r->account;
    g->nfills = r->nfills < 8 ? r->nfills : 8;
    for (int i = 0; i < g->nfills; i++)
        g->fills[i] = r->fills[i];
    g->norders = r->norders;
    g->done++;
}

static void wait_for(fixture *f, const int *counter, int n)
{
    for (int spins = 0; *counter < n && spins < 200000; spins++)
        uv_run(&f->loop, UV_RUN_ONCE);
    assert_true(*counter >= n);
}

static void on_tick(uv_timer_t *t)
{
    ++*(int *)t->data;
}

static void on_closed(uv_handle_t *h)
{
    ++*(int *)h->data;
}

static void run_for(fixture *f, uint64_t ms)
{
    uv_timer_t t;
    int fired = 0;
    uv_timer_init(&f->loop, &t);
    t.data = &fired;
    uv_timer_start(&t, on_tick, ms, 0);
    wait_for(f, &fired, 1);
    /* The handle is on this stack frame: wait until the loop has finished closing it. */
    uv_close((uv_handle_t *)&t, on_closed);
    wait_for(f, &fired, 2);
}

static order_request bracket(const char *coid, const char *symbol, money_t qty)
{
    order_request q = {.side = SIDE_BUY,
                       .type = ORDER_MARKET,
                       .qty = qty,
                       .take_profit = MONEY(200),
                       .stop_loss = MONEY(150)};
    snprintf(q.client_order_id, sizeof q.client_order_id, "%s", coid);
    snprintf(q.symbol, sizeof q.symbol, "%s", symbol);
    return q;
}

static got submit(fixture *f, const order_request *q)
{
    got g = {0};
    assert_int_equal(broker_submit_order(f->b, BROKER_PRIORITY_ROUTINE, q, on_reply, &g), 0);
    wait_for(f, &g.done, 1);
    return g;
}

/* GET /v2/account/activities/FILL requests so far: each is one poll. */
static int fill_polls(fixture *f)
{
    return counter(f, "requests", "GET /v2/account/activities/FILL");
}

static int stream_connections(fixture *f)
{
    return counter(f, "ws_connections", "trade");
}

static void wait_listening(fixture *f)
{
    for (int spins = 0; !alpaca_stream_listening(f->b) && spins < 200000; spins++)
        uv_run(&f->loop, UV_RUN_ONCE);
    assert_true(alpaca_stream_listening(f->b));
}

/* Runs the loop in steps of 100 ms until the fake's fill polls exceed n (at most 10 s). */
static void wait_fill_polls_over(fixture *f, int n)
{
    for (int i = 0; fill_polls(f) <= n && i < 100; i++)
        run_for(f, 100);
    assert_true(fill_polls(f) > n);
}

static bool updated(const fixture *f, const char *coid, order_status status)
{
    for (int i = 0; i < f->nupdates; i++)
        if (strcmp(f->updates[i].client_order_id, coid) == 0 && f->updates[i].status == status)
            return true;
    return false;
}

/* ---- tests ---- */

static void test_bracket_fills_once_and_legs_follow(void **state)
{
    fixture *f = *state;
    control(f, "bar", "{\"symbol\":\"AAPL\",\"o\":180,\"h\":181,\"l\":179,\"c\":180}");
    order_request q = bracket("apx-1-e", "AAPL", MONEY(10));
    got g = submit(f, &q);
    assert_int_equal(g.status, 0);
    assert_string_equal(g.order.client_order_id, "apx-1-e");
    assert_false(order_status_is_final(g.order.status));

    control(f, "bar", "{\"symbol\":\"AAPL\",\"o\":181,\"h\":182,\"l\":180.5,\"c\":181.5}");
    wait_for(f, &f->nfills, 1); /* polled */
    assert_string_equal(f->fills[0].client_order_id, "apx-1-e");
    assert_int_equal(f->fills[0].qty, MONEY(10));
    assert_true(f->fills[0].price > 0);
    /* The entry's FILLED update and its legs, now working, arrive by the order poll. */
    bool entry_filled = false, tp = false, sl = false;
    for (int spins = 0; !(entry_filled && tp && sl) && spins < 200000; spins++) {
        uv_run(&f->loop, UV_RUN_ONCE);
        for (int i = 0; i < f->nupdates; i++) {
            entry_filled |= strcmp(f->updates[i].client_order_id, "apx-1-e") == 0 &&
                            f->updates[i].status == ORDER_STATUS_FILLED;
            tp |= strcmp(f->updates[i].client_order_id, "apx-1-e-tp") == 0;
            sl |= strcmp(f->updates[i].client_order_id, "apx-1-e-sl") == 0;
        }
    }
    assert_true(entry_filled && tp && sl);
    assert_int_equal(orders_sent(f, "apx-1-e"), 1);

    /* Another poll must not report the same fill again. */
    int fills = f->nfills;
    run_for(f, 5000); /* two more polls */
    assert_int_equal(f->nfills, fills);

    got p = {0};
    assert_int_equal(broker_get_position(f->b, BROKER_PRIORITY_ROUTINE, "AAPL", on_reply, &p), 0);
    wait_for(f, &p.done, 1);
    assert_int_equal(p.npositions, 1);
    assert_int_equal(p.position.qty, MONEY(10));
    got none = {0};
    assert_int_equal(broker_get_position(f->b, BROKER_PRIORITY_ROUTINE, "MSFT", on_reply, &none),
                     0);
    wait_for(f, &none.done, 1);
    assert_int_equal(none.status, 0);
    assert_int_equal(none.npositions, 0); /* 404 "position does not exist": flat */

    got lf = {0};
    assert_int_equal(broker_list_fills(f->b, BROKER_PRIORITY_ROUTINE, "apx-1-e", on_reply, &lf), 0);
    wait_for(f, &lf.done, 1);
    assert_int_equal(lf.nfills, 1);
    assert_string_equal(lf.fills[0].fill_id, f->fills[0].fill_id); /* one fill, one id */
}

static void test_duplicate_and_refused_orders(void **state)
{
    fixture *f = *state;
    control(f, "bar", "{\"symbol\":\"AAPL\",\"o\":180,\"h\":181,\"l\":179,\"c\":180}");
    order_request q = bracket("apx-2-e", "AAPL", MONEY(1));
    assert_int_equal(submit(f, &q).status, 0);
    got dup = submit(f, &q);
    assert_int_equal(dup.status, APEX_EDUP); /* Alpaca's 422 40010001 */
    assert_non_null(strstr(dup.error, "client_order_id must be unique"));

    /* A 500 on the submission: reported, never resent by the adapter. */
    control(f, "fault", "{\"kind\":\"500\",\"method\":\"POST\",\"path\":\"/v2/orders\"}");
    order_request q3 = bracket("apx-3-e", "AAPL", MONEY(1));
    int before = posts(f);
    got g = submit(f, &q3);
    assert_int_equal(g.status, APEX_EIO);
    assert_int_equal(posts(f), before + 1);
    assert_int_equal(orders_sent(f, "apx-3-e"), 0); /* the 500 placed nothing */
}

static void test_lost_response_is_looked_up_not_resent(void **state)
{
    fixture *f = *state;
    control(f, "bar", "{\"symbol\":\"AAPL\",\"o\":180,\"h\":181,\"l\":179,\"c\":180}");
    /* The order is placed, then the connection closes without an answer. */
    control(f, "fault",
            "{\"kind\":\"drop_response\",\"method\":\"POST\",\"path\":\"/v2/orders\","
            "\"process\":true}");
    order_request q = bracket("apx-4-e", "AAPL", MONEY(2));
    got g = submit(f, &q);
    assert_int_equal(g.status, 0); /* found by its client order id */
    assert_string_equal(g.order.client_order_id, "apx-4-e");
    assert_int_equal(g.order.qty, MONEY(2));
    assert_int_equal(orders_sent(f, "apx-4-e"), 1);

    /* Dropped before it was processed: not placed, and the reply says it is safe to send. */
    control(f, "fault", "{\"kind\":\"reset\",\"method\":\"POST\",\"path\":\"/v2/orders\"}");
    order_request q5 = bracket("apx-5-e", "AAPL", MONEY(2));
    int before = posts(f);
    g = submit(f, &q5);
    assert_int_equal(g.status, APEX_EIO);
    assert_non_null(strstr(g.error, "was not placed"));
    assert_int_equal(posts(f), before + 1); /* asked, never resent */
    assert_int_equal(orders_sent(f, "apx-5-e"), 0);
}

static void test_cancel_a_leg_and_close_the_position(void **state)
{
    fixture *f = *state;
    control(f, "bar", "{\"symbol\":\"TSLA\",\"o\":180,\"h\":181,\"l\":179,\"c\":180}");
    order_request q = bracket("apx-6-e", "TSLA", MONEY(5));
    assert_int_equal(submit(f, &q).status, 0);
    control(f, "bar", "{\"symbol\":\"TSLA\",\"o\":181,\"h\":182,\"l\":180,\"c\":181}");
    wait_for(f, &f->nfills, 1);

    got c = {0};
    assert_int_equal(broker_cancel_order(f->b, BROKER_PRIORITY_HIGH, "apx-6-e-tp", on_reply, &c),
                     0);
    wait_for(f, &c.done, 1);
    assert_int_equal(c.status, 0);
    assert_string_equal(c.order.client_order_id, "apx-6-e-tp");
    assert_int_equal(c.order.status, ORDER_STATUS_CANCELLED);

    got again = {0};
    assert_int_equal(
        broker_cancel_order(f->b, BROKER_PRIORITY_HIGH, "apx-6-e-tp", on_reply, &again), 0);
    wait_for(f, &again.done, 1);
    assert_int_equal(again.status, APEX_ESTATE); /* nothing left to cancel */

    got cl = {0};
    assert_int_equal(
        broker_close_position(f->b, BROKER_PRIORITY_CRITICAL, "TSLA", "apx-6-x1", on_reply, &cl),
        0);
    wait_for(f, &cl.done, 1);
    assert_int_equal(cl.status, 0);
    assert_string_equal(cl.order.client_order_id, "apx-6-x1");
    assert_int_equal(cl.order.side, SIDE_SELL);
    assert_int_equal(cl.order.qty, MONEY(5));
    assert_int_equal(orders_sent(f, "apx-6-x1"), 1);
    control(f, "bar", "{\"symbol\":\"TSLA\",\"o\":182,\"h\":183,\"l\":181,\"c\":182}");
    wait_for(f, &f->nfills, 2);
    assert_string_equal(f->fills[1].client_order_id, "apx-6-x1");
    got p = {0};
    assert_int_equal(broker_get_position(f->b, BROKER_PRIORITY_ROUTINE, "TSLA", on_reply, &p), 0);
    wait_for(f, &p.done, 1);
    assert_int_equal(p.npositions, 0);
}

static void test_account_exact_and_429_waited(void **state)
{
    fixture *f = *state;
    control(f, "fault",
            "{\"kind\":\"429\",\"method\":\"GET\",\"path\":\"/v2/account\",\"retry_after\":1}");
    got a = {0};
    uint64_t t0 = uv_now(&f->loop);
    assert_int_equal(broker_get_account(f->b, BROKER_PRIORITY_ROUTINE, on_reply, &a), 0);
    wait_for(f, &a.done, 1);
    uv_update_time(&f->loop);
    assert_int_equal(a.status, 0);
    assert_true(uv_now(&f->loop) - t0 >= 1000); /* Retry-After honoured */
    assert_int_equal(a.account.cash, MONEY(100000));
    assert_int_equal(a.account.equity, MONEY(100000));
}

/* The stream listening, then a bracket buy of qty placed at 180 (filled by the next
 * price pushed, or by /_control/fill). */
static void bracket_while_listening(fixture *f, const char *coid, const char *symbol, money_t qty)
{
    char body[160];
    snprintf(body, sizeof body, "{\"symbol\":\"%s\",\"o\":180,\"h\":181,\"l\":179,\"c\":180}",
             symbol);
    control(f, "bar", body);
    wait_listening(f);
    order_request q = bracket(coid, symbol, qty);
    assert_int_equal(submit(f, &q).status, 0);
}

/* With the stream up a fill is reported from it, at once and once: no fill poll ran
 * between the fill and its report. A leg's own event (Alpaca's ids) reaches the host
 * under the host's leg id. */
static void test_stream_reports_fills_without_polling(void **state)
{
    fixture *f = *state;
    bracket_while_listening(f, "apx-7-e", "AAPL", MONEY(3));
    int polls = fill_polls(f);
    uv_update_time(&f->loop);
    uint64_t t0 = uv_now(&f->loop);
    control(f, "bar", "{\"symbol\":\"AAPL\",\"o\":181,\"h\":182,\"l\":180.5,\"c\":181.5}");
    wait_for(f, &f->nfills, 1);
    uv_update_time(&f->loop);
    assert_true(uv_now(&f->loop) - t0 < ALPACA_POLL_MS); /* before even a fast poll */
    assert_int_equal(fill_polls(f), polls);
    assert_string_equal(f->fills[0].client_order_id, "apx-7-e");
    assert_int_equal(f->fills[0].qty, MONEY(3));
    assert_true(updated(f, "apx-7-e", ORDER_STATUS_FILLED));

    /* The take profit fills: its event names Alpaca's leg; the host hears its own id. */
    control(f, "bar", "{\"symbol\":\"AAPL\",\"o\":199,\"h\":201,\"l\":199,\"c\":201}");
    wait_for(f, &f->nfills, 2);
    assert_string_equal(f->fills[1].client_order_id, "apx-7-e-tp");
    for (int spins = 0; !updated(f, "apx-7-e-sl", ORDER_STATUS_CANCELLED) && spins < 200000;
         spins++)
        uv_run(&f->loop, UV_RUN_ONCE);
    assert_true(updated(f, "apx-7-e-tp", ORDER_STATUS_FILLED));
    assert_true(updated(f, "apx-7-e-sl", ORDER_STATUS_CANCELLED));
    assert_int_equal(fill_polls(f), polls);
    run_for(f, 1000);
    assert_int_equal(f->nfills, 2);
}

/* A fill the stream delivered is read again by polling (the stream dropped: polls run
 * fast and one catches up at once after the reconnect): still one fill. */
static void test_fill_seen_by_stream_and_poll_is_one(void **state)
{
    fixture *f = *state;
    bracket_while_listening(f, "apx-8-e", "MSFT", MONEY(4));
    control(f, "fill", "{\"client_order_id\":\"apx-8-e\",\"qty\":\"1\",\"price\":\"180\"}");
    wait_for(f, &f->nfills, 1); /* a partial fill, by the stream */
    control(f, "fill", "{\"client_order_id\":\"apx-8-e\",\"price\":\"180.5\"}");
    wait_for(f, &f->nfills, 2);
    int polls = fill_polls(f);
    control(f, "ws_drop", "{\"path\":\"/stream\"}");
    wait_fill_polls_over(f, polls); /* both activities read again */
    run_for(f, 500);                /* its answer processed */
    assert_int_equal(f->nfills, 2);
    assert_int_equal(f->fills[0].qty, MONEY(1));
    assert_int_equal(f->fills[1].qty, MONEY(3));
    assert_string_not_equal(f->fills[0].fill_id, f->fills[1].fill_id);
    wait_listening(f);
    run_for(f, 500);
    assert_int_equal(f->nfills, 2);
}

/* Breaks the stream (control `what` with `body`), fills 1 share of apx-9-e at price, and
 * waits for that fill, the n-th, and for the stream back on its (n+1)-th connection. */
static void fill_while_down(fixture *f, const char *what, const char *body, const char *price,
                            int n)
{
    char fill[160];
    snprintf(fill, sizeof fill, "{\"client_order_id\":\"apx-9-e\",\"qty\":\"1\",\"price\":\"%s\"}",
             price);
    control(f, what, body);
    control(f, "fill", fill);
    wait_for(f, &f->nfills, n);
    assert_string_equal(f->fills[n - 1].client_order_id, "apx-9-e");
    assert_int_equal(f->fills[n - 1].qty, MONEY(1));
    for (int i = 0; stream_connections(f) < n + 1 && i < 100; i++)
        run_for(f, 100);
    assert_int_equal(stream_connections(f), n + 1);
    wait_listening(f);
}

/* Fills while the stream is down arrive once, by polling or the catch-up after the
 * reconnect: one that happens after a reset, and one whose event the reset cut in half. */
static void test_stream_drop_loses_no_fill(void **state)
{
    fixture *f = *state;
    bracket_while_listening(f, "apx-9-e", "NVDA", MONEY(2));
    assert_int_equal(stream_connections(f), 1);
    fill_while_down(f, "ws_drop", "{\"path\":\"/stream\"}", "180", 1);
    /* The next message (this fill's event) is cut mid-frame and the connection reset. */
    fill_while_down(f, "fault", "{\"kind\":\"ws_drop\",\"path\":\"/stream\"}", "181", 2);
    run_for(f, 2500); /* a fast poll and the catch-up have both run */
    assert_int_equal(f->nfills, 2);
    assert_true(updated(f, "apx-9-e", ORDER_STATUS_FILLED));
}

/* ---- live market data ---- */

/* units * 10^-decimals, exactly: MONEY_C(18723, 2) is 187.23. */
static money_t MONEY_C(int64_t units, int decimals)
{
    money_t m = units * MONEY_SCALE;
    while (decimals-- > 0)
        m /= 10;
    return m;
}

typedef struct {
    char symbol[16];
    bar b;
    bool history;
} md_bar;

typedef struct {
    fixture *f;
    md_bar bars[64];
    int nbars;
    news_item news[16];
    int nnews;
    int nstatus, nlive, nrefused;
    bool live;
    char refused[400]; /* the last "authentication refused" status */
} md_got;

static void on_md_bar(void *ud, const char *symbol, const bar *b, bool history)
{
    md_got *g = ud;
    assert_int_equal(b->symbol_id, -1);
    if (g->nbars < 64) {
        snprintf(g->bars[g->nbars].symbol, sizeof g->bars[0].symbol, "%s", symbol);
        g->bars[g->nbars].b = *b;
        g->bars[g->nbars++].history = history;
    }
}

static void on_md_news(void *ud, const news_item *n)
{
    md_got *g = ud;
    assert_int_equal(n->impact, 0);
    if (g->nnews < 16)
        g->news[g->nnews++] = *n;
}

static void on_md_status(void *ud, bool live, const char *message)
{
    md_got *g = ud;
    /* The keys never reach a status line. */
    assert_null(strstr(message, KEY));
    assert_null(strstr(message, SECRET));
    g->nstatus++;
    g->nlive += live && !g->live;
    g->live = live;
    if (strstr(message, "authentication refused")) {
        g->nrefused++;
        snprintf(g->refused, sizeof g->refused, "%s", message);
    }
}

static market_data_sub *md_subscribe_every(broker *b, md_got *g, const char *const *symbols, int n,
                                           int64_t timeframe_s, int warmup, bool news)
{
    market_data_request req = {.symbols = symbols,
                               .nsymbols = n,
                               .timeframe_s = timeframe_s,
                               .warmup_bars = warmup,
                               .news = news};
    market_data_sink sink = {.on_bar = on_md_bar, .on_news = on_md_news, .on_status = on_md_status};
    char err[256];
    market_data_sub *sub = broker_market_data_subscribe(b, &req, &sink, g, err, sizeof err);
    if (!sub)
        fail_msg("subscribe: %s", err);
    assert_int_equal(g->nbars + g->nstatus, 0); /* nothing runs inside the call */
    return sub;
}

static market_data_sub *md_subscribe(broker *b, md_got *g, const char *const *symbols, int n,
                                     int warmup, bool news)
{
    return md_subscribe_every(b, g, symbols, n, 60, warmup, news);
}

/* The start of the current wall minute, not within the last 15 s of it (so a bar one minute
 * older stays the latest complete one while a test runs). */
static apex_time this_minute(void)
{
    apex_time now = wall_now();
    if (now % APEX_MINUTE > 45 * APEX_SECOND)
        usleep((useconds_t)((APEX_MINUTE - now % APEX_MINUTE) + 100000));
    now = wall_now();
    return now - now % APEX_MINUTE;
}

/* A one-minute bar pushed to the fake (stored, broadcast to subscribed streams). */
static void push_bar_v(fixture *f, const char *symbol, apex_time t, const char *ohlc,
                       const char *volume)
{
    char ts[40], body[256];
    rfc3339(t, ts, sizeof ts);
    snprintf(body, sizeof body, "{\"symbol\":\"%s\",\"t\":\"%s\",%s,\"v\":%s}", symbol, ts, ohlc,
             volume);
    control(f, "bar", body);
}

static void push_bar(fixture *f, const char *symbol, apex_time t, const char *ohlc, int v)
{
    char volume[24];
    snprintf(volume, sizeof volume, "%d", v);
    push_bar_v(f, symbol, t, ohlc, volume);
}

static void assert_bar(const md_bar *g, const char *symbol, apex_time t, money_t o, money_t h,
                       money_t l, money_t c, money_t v, bool history)
{
    assert_string_equal(g->symbol, symbol);
    assert_int_equal(g->b.ts, t);
    assert_int_equal(g->b.open, o);
    assert_int_equal(g->b.high, h);
    assert_int_equal(g->b.low, l);
    assert_int_equal(g->b.close, c);
    assert_int_equal(g->b.volume, v);
    assert_int_equal(g->history, history);
}

static int data_connections(fixture *f)
{
    return counter(f, "ws_connections", "data");
}

/* (a) The warm-up's last N bars (history), then stream bars in order; an old stream bar is
 * not given after a newer one. */
static void test_md_history_then_live(void **state)
{
    fixture *f = *state;
    apex_time m = this_minute();
    char body[1024], t[5][40];
    for (int i = 0; i < 5; i++)
        rfc3339(m - (10 - i) * APEX_MINUTE, t[i], sizeof t[i]);
    snprintf(body, sizeof body,
             "{\"bars\":{\"AAPL\":[{\"t\":\"%s\",\"o\":100,\"h\":101,\"l\":99,\"c\":100.5,"
             "\"v\":1000},{\"t\":\"%s\",\"o\":101,\"h\":102,\"l\":100,\"c\":101.5,\"v\":1001},"
             "{\"t\":\"%s\",\"o\":102.01,\"h\":103.5,\"l\":101.25,\"c\":102.5,\"v\":1002},"
             "{\"t\":\"%s\",\"o\":103,\"h\":104,\"l\":102,\"c\":103.5,\"v\":1003},"
             "{\"t\":\"%s\",\"o\":104,\"h\":105,\"l\":103,\"c\":104.75,\"v\":1004}]}}",
             t[0], t[1], t[2], t[3], t[4]);
    control(f, "bars", body);
    md_got g = {.f = f};
    const char *syms[] = {"AAPL"};
    market_data_sub *sub = md_subscribe(f->b, &g, syms, 1, 3, false);
    wait_for(f, &g.nlive, 1);
    assert_int_equal(g.nbars, 3);
    assert_bar(&g.bars[0], "AAPL", m - 8 * APEX_MINUTE, MONEY_C(10201, 2), MONEY_C(1035, 1),
               MONEY_C(10125, 2), MONEY_C(1025, 1), MONEY(1002), true);
    assert_bar(&g.bars[2], "AAPL", m - 6 * APEX_MINUTE, MONEY(104), MONEY(105), MONEY(103),
               MONEY_C(10475, 2), MONEY(1004), true);
    assert_int_equal(g.bars[1].b.ts, m - 7 * APEX_MINUTE);
    push_bar(f, "AAPL", m - 2 * APEX_MINUTE, "\"o\":187.01,\"h\":187.5,\"l\":186.99,\"c\":187.23",
             5200);
    push_bar(f, "AAPL", m - 9 * APEX_MINUTE, "\"o\":1,\"h\":1,\"l\":1,\"c\":1", 1); /* late */
    push_bar(f, "AAPL", m - APEX_MINUTE, "\"o\":187.23,\"h\":188,\"l\":187.2,\"c\":187.9", 7100);
    wait_for(f, &g.nbars, 5);
    run_for(f, 300);
    assert_int_equal(g.nbars, 5);
    assert_bar(&g.bars[3], "AAPL", m - 2 * APEX_MINUTE, MONEY_C(18701, 2), MONEY_C(1875, 1),
               MONEY_C(18699, 2), MONEY_C(18723, 2), MONEY(5200), true);
    assert_bar(&g.bars[4], "AAPL", m - APEX_MINUTE, MONEY_C(18723, 2), MONEY(188), MONEY_C(1872, 1),
               MONEY_C(1879, 1), MONEY(7100), false);
    broker_market_data_unsubscribe(f->b, sub);
}

/* (b) Bars pushed while the stream is down arrive by the REST catch-up once each, in order. */
static void test_md_gap_caught_up_once(void **state)
{
    fixture *f = *state;
    apex_time m = this_minute();
    md_got g = {.f = f};
    const char *syms[] = {"MSFT"};
    market_data_sub *sub = md_subscribe(f->b, &g, syms, 1, 0, false);
    wait_for(f, &g.nlive, 1);
    push_bar(f, "MSFT", m - 6 * APEX_MINUTE, "\"o\":400,\"h\":401,\"l\":399,\"c\":400.5", 10);
    wait_for(f, &g.nbars, 1);
    /* The next message (this bar) is cut mid-frame and the connection reset. */
    control(f, "fault", "{\"kind\":\"ws_drop\",\"path\":\"/v2/iex\"}");
    push_bar(f, "MSFT", m - 5 * APEX_MINUTE, "\"o\":401,\"h\":402,\"l\":400,\"c\":401.5", 11);
    push_bar(f, "MSFT", m - 4 * APEX_MINUTE, "\"o\":402,\"h\":403,\"l\":401,\"c\":402.5", 12);
    push_bar(f, "MSFT", m - 3 * APEX_MINUTE, "\"o\":403,\"h\":404.25,\"l\":402,\"c\":403.5", 13);
    wait_for(f, &g.nlive, 2); /* reconnected, caught up */
    assert_true(data_connections(f) >= 2);
    push_bar(f, "MSFT", m - 2 * APEX_MINUTE, "\"o\":404,\"h\":405,\"l\":403,\"c\":404.5", 14);
    push_bar(f, "MSFT", m - APEX_MINUTE, "\"o\":405,\"h\":406,\"l\":404,\"c\":405.5", 15);
    wait_for(f, &g.nbars, 6);
    run_for(f, 500);
    assert_int_equal(g.nbars, 6);
    for (int i = 0; i < 6; i++) {
        assert_string_equal(g.bars[i].symbol, "MSFT");
        assert_int_equal(g.bars[i].b.ts, m - (6 - i) * APEX_MINUTE);
        assert_int_equal(g.bars[i].b.close, MONEY(400 + i) + MONEY_C(5, 1));
        assert_int_equal(g.bars[i].b.volume, MONEY(10 + i));
        assert_int_equal(g.bars[i].history, i < 5);
    }
    assert_int_equal(g.bars[3].b.high, MONEY_C(40425, 2));
    broker_market_data_unsubscribe(f->b, sub);
}

static int count_symbol(const md_got *g, const char *symbol)
{
    int n = 0;
    for (int i = 0; i < g->nbars; i++)
        n += strcmp(g->bars[i].symbol, symbol) == 0;
    return n;
}

/* (c) Two subscriptions share one connection and each gets its own symbols only; (f) an
 * unsubscribed one hears nothing more, and the connection closes with the last. */
static void test_md_shared_stream_and_unsubscribe(void **state)
{
    fixture *f = *state;
    apex_time m = this_minute();
    md_got g1 = {.f = f}, g2 = {.f = f};
    const char *s1[] = {"AAPL", "MSFT"}, *s2[] = {"MSFT", "TSLA"};
    market_data_sub *sub1 = md_subscribe(f->b, &g1, s1, 2, 0, false);
    market_data_sub *sub2 = md_subscribe(f->b, &g2, s2, 2, 0, false);
    wait_for(f, &g1.nlive, 1);
    wait_for(f, &g2.nlive, 1);
    push_bar(f, "MSFT", m - APEX_MINUTE, "\"o\":1,\"h\":2,\"l\":1,\"c\":2", 1);
    push_bar(f, "AAPL", m - APEX_MINUTE, "\"o\":3,\"h\":4,\"l\":3,\"c\":4", 1);
    push_bar(f, "TSLA", m - APEX_MINUTE, "\"o\":5,\"h\":6,\"l\":5,\"c\":6", 1);
    wait_for(f, &g1.nbars, 2);
    wait_for(f, &g2.nbars, 2);
    run_for(f, 300);
    assert_int_equal(data_connections(f), 1);
    assert_int_equal(g1.nbars, 2);
    assert_int_equal(g2.nbars, 2);
    assert_int_equal(count_symbol(&g1, "AAPL") + count_symbol(&g1, "MSFT"), 2);
    assert_int_equal(count_symbol(&g2, "TSLA") + count_symbol(&g2, "MSFT"), 2);

    broker_market_data_unsubscribe(f->b, sub2);
    push_bar(f, "TSLA", m, "\"o\":6,\"h\":7,\"l\":6,\"c\":7", 1);
    push_bar(f, "MSFT", m, "\"o\":2,\"h\":3,\"l\":2,\"c\":3", 1);
    wait_for(f, &g1.nbars, 3);
    run_for(f, 300);
    assert_int_equal(g1.nbars, 3);
    assert_int_equal(g2.nbars, 2);
    assert_string_equal(g1.bars[2].symbol, "MSFT");
    assert_false(g1.bars[2].history);
    int statuses = g1.nstatus;
    broker_market_data_unsubscribe(f->b, sub1);
    push_bar(f, "AAPL", m, "\"o\":4,\"h\":5,\"l\":4,\"c\":5", 1);
    run_for(f, 300);
    assert_int_equal(g1.nbars, 3);
    assert_int_equal(g1.nstatus, statuses);
    assert_int_equal(counter(f, "ws_open", "data"), 0);
    assert_int_equal(data_connections(f), 1);
}

/* (d) Wrong keys: reported, and retried no faster than the backoff allows. */
static void test_md_auth_refused_backs_off(void **state)
{
    fixture *f = *state;
    setenv("APCA_API_SECRET_KEY", "not-the-secret", 1);
    broker *bad = f->extra = new_adapter(f);
    setenv("APCA_API_SECRET_KEY", SECRET, 1);
    md_got g = {.f = f};
    const char *syms[] = {"AAPL"};
    market_data_sub *sub = md_subscribe(bad, &g, syms, 1, 5, false);
    wait_for(f, &g.nrefused, 1);
    assert_non_null(strstr(g.refused, "auth failed"));
    assert_non_null(strstr(g.refused, "APCA_API_KEY_ID"));
    run_for(f, 4000);
    /* Attempts at about 0, 1, 3 s (then 7 s): hammering would be hundreds. */
    int n = data_connections(f);
    if (n < 2 || n > 4)
        fail_msg("%d market data connections in about 4 s", n);
    assert_int_equal(g.nlive, 0);
    assert_int_equal(g.nbars, 0);
    broker_market_data_unsubscribe(bad, sub);
    broker_free(bad);
    f->extra = NULL;
}

/* (e) News reaches each subscription once per symbol it asked for, a reconnect's REST
 * catch-up included. */
static void test_md_news_once_per_wanted_symbol(void **state)
{
    fixture *f = *state;
    md_got g = {.f = f};
    const char *syms[] = {"AAPL", "MSFT"};
    market_data_sub *sub = md_subscribe(f->b, &g, syms, 2, 0, true);
    wait_for(f, &g.nlive, 1);
    for (int spins = 0; counter(f, "ws_open", "data") < 2 && spins < 100; spins++)
        run_for(f, 50);
    run_for(f, 300); /* the news subscription confirmed */
    char now[40], body[512];
    rfc3339(wall_now(), now, sizeof now);
    snprintf(body, sizeof body,
             "{\"headline\":\"Apple and Microsoft team up\",\"symbols\":[\"AAPL\",\"MSFT\","
             "\"TSLA\"],\"created_at\":\"%s\"}",
             now);
    control(f, "news", body);
    snprintf(body, sizeof body,
             "{\"headline\":\"Tesla only\",\"symbols\":[\"TSLA\"],\"created_at\":\"%s\"}", now);
    control(f, "news", body);
    snprintf(body, sizeof body,
             "{\"headline\":\"Microsoft alone\",\"symbols\":[\"MSFT\"],\"created_at\":\"%s\"}",
             now);
    control(f, "news", body);
    wait_for(f, &g.nnews, 3);
    int conns = data_connections(f);
    control(f, "ws_drop", "{\"path\":\"/v1beta1/news\"}");
    for (int spins = 0; data_connections(f) == conns && spins < 100; spins++)
        run_for(f, 50);
    run_for(f, 800); /* reconnected; the catch-up found the same three articles */
    assert_int_equal(g.nnews, 3);
    assert_string_equal(g.news[0].symbol, "AAPL");
    assert_string_equal(g.news[0].headline, "Apple and Microsoft team up");
    assert_string_equal(g.news[1].symbol, "MSFT");
    assert_string_equal(g.news[2].symbol, "MSFT");
    assert_string_equal(g.news[2].headline, "Microsoft alone");
    assert_true(g.news[0].ts > 0);
    broker_market_data_unsubscribe(f->b, sub);
}

/* Five-minute bars: the warm-up is Alpaca's 5Min bars, the stream's minutes are built into
 * UTC-aligned buckets, given when the last minute arrives or a later bucket starts. */
static void test_md_aggregates_minutes(void **state)
{
    fixture *f = *state;
    apex_time m = this_minute(), b = m - m % (5 * APEX_MINUTE);
    char body[4096];
    size_t used = (size_t)snprintf(body, sizeof body, "{\"bars\":{\"SPY\":[");
    for (int i = 15; i >= 1; i--) { /* minutes b-15 .. b-1: three complete buckets */
        char t[40];
        rfc3339(b - i * APEX_MINUTE, t, sizeof t);
        used += (size_t)snprintf(body + used, sizeof body - used,
                                 "%s{\"t\":\"%s\",\"o\":%d,\"h\":%d.5,\"l\":%d,\"c\":%d,\"v\":10}",
                                 i == 15 ? "" : ",", t, 500 - i, 501 - i, 499 - i, 500 - i);
    }
    snprintf(body + used, sizeof body - used, "]}}");
    control(f, "bars", body);
    md_got g = {.f = f};
    const char *syms[] = {"SPY"};
    market_data_sub *sub = md_subscribe_every(f->b, &g, syms, 1, 300, 2, false);
    wait_for(f, &g.nlive, 1);
    assert_int_equal(g.nbars, 2);
    /* bucket b-10: minutes b-10..b-6 (i = 10..6) */
    assert_bar(&g.bars[0], "SPY", b - 10 * APEX_MINUTE, MONEY(490), MONEY_C(4955, 1), MONEY(489),
               MONEY(494), MONEY(50), true);
    assert_bar(&g.bars[1], "SPY", b - 5 * APEX_MINUTE, MONEY(495), MONEY_C(5005, 1), MONEY(494),
               MONEY(499), MONEY(50), false);
    push_bar(f, "SPY", b, "\"o\":600,\"h\":601,\"l\":599,\"c\":600.5", 1);
    push_bar(f, "SPY", b + APEX_MINUTE, "\"o\":600.5,\"h\":603.25,\"l\":600,\"c\":602", 2);
    push_bar(f, "SPY", b + 3 * APEX_MINUTE, "\"o\":602,\"h\":602,\"l\":598.75,\"c\":599", 3);
    run_for(f, 300);
    assert_int_equal(g.nbars, 2); /* the bucket is still open */
    push_bar(f, "SPY", b + 5 * APEX_MINUTE, "\"o\":599,\"h\":600,\"l\":598,\"c\":599.5", 4);
    wait_for(f, &g.nbars, 3);
    assert_bar(&g.bars[2], "SPY", b, MONEY(600), MONEY_C(60325, 2), MONEY_C(59875, 2), MONEY(599),
               MONEY(6), false);
    push_bar(f, "SPY", b + 9 * APEX_MINUTE, "\"o\":599.5,\"h\":610,\"l\":599,\"c\":609", 5);
    wait_for(f, &g.nbars, 4);
    run_for(f, 300);
    assert_int_equal(g.nbars, 4);
    assert_bar(&g.bars[3], "SPY", b + 5 * APEX_MINUTE, MONEY(599), MONEY(610), MONEY(598),
               MONEY(609), MONEY(9), false);
    broker_market_data_unsubscribe(f->b, sub);
}

/* An interval Alpaca's minute bars cannot build is refused at once, with the reason. */
static void test_md_refuses_odd_interval(void **state)
{
    fixture *f = *state;
    const char *syms[] = {"AAPL"};
    market_data_request req = {.symbols = syms, .nsymbols = 1, .timeframe_s = 90};
    market_data_sink sink = {.on_bar = on_md_bar};
    char err[256];
    md_got g = {.f = f};
    assert_null(broker_market_data_subscribe(f->b, &req, &sink, &g, err, sizeof err));
    assert_non_null(strstr(err, "90 s"));
}

typedef struct {
    int done, status;
    bool has_session;
    broker_session session;
} got_session;

static void on_session(void *ud, const broker_reply *r)
{
    got_session *g = ud;
    g->status = r->status;
    g->has_session = r->session != NULL;
    if (r->session)
        g->session = *r->session;
    g->done++;
}

static got_session session_of(fixture *f, const char *date)
{
    apex_time day = 0;
    assert_int_equal(timestamp_parse(date, strlen(date), &day), 0);
    got_session g = {0};
    /* Any instant of the day names it. */
    assert_int_equal(
        broker_get_session(f->b, BROKER_PRIORITY_ROUTINE, day + 15 * APEX_HOUR, on_session, &g), 0);
    wait_for(f, &g.done, 1);
    assert_int_equal(g.status, 0);
    assert_true(g.has_session);
    return g;
}

static apex_time at(const char *when)
{
    apex_time t = 0;
    assert_int_equal(timestamp_parse(when, strlen(when), &t), 0);
    return t;
}

/* The session close for a day comes from GET /v2/calendar: 16:00 New York is 21:00 UTC in
 * winter and 20:00 in summer, an early close (set at the fake) is 17:00 UTC, and a day
 * without a session (a weekend, a holiday) does not trade. */
static void test_session_close_comes_from_the_calendar(void **state)
{
    fixture *f = *state;
    assert_true(broker_has_session(f->b));
    control(f, "calendar", "{\"date\":\"2024-07-03\",\"close\":\"13:00\"}");
    control(f, "calendar", "{\"date\":\"2024-07-04\",\"closed\":true}");
    got_session g = session_of(f, "2024-01-03");
    assert_true(g.session.trading);
    assert_int_equal(g.session.open, at("2024-01-03 14:30:00"));
    assert_int_equal(g.session.close, at("2024-01-03 21:00:00"));
    g = session_of(f, "2024-07-02");
    assert_int_equal(g.session.close, at("2024-07-02 20:00:00"));
    g = session_of(f, "2024-07-03");
    assert_true(g.session.trading);
    assert_int_equal(g.session.open, at("2024-07-03 13:30:00"));
    assert_int_equal(g.session.close, at("2024-07-03 17:00:00"));
    g = session_of(f, "2024-07-04");
    assert_false(g.session.trading);
    g = session_of(f, "2024-07-06"); /* a Saturday */
    assert_false(g.session.trading);
    assert_int_equal(counter(f, "requests", "GET /v2/calendar"), 5);
}

/* broker_list_symbol_fills: the FILL activities since a time, every page of them, only
 * the symbol's, each named by Alpaca's order id; apex-host's own (an order the adapter
 * placed) also by its client order id, a close by hand (Alpaca's web UI) by none. */
typedef struct {
    int done, status, nfills;
    broker_fill first, last;
    int ours, other_symbols;
} symbol_fills;

static void on_symbol_fills(void *ud, const broker_reply *r)
{
    symbol_fills *g = ud;
    g->done++;
    g->status = r->status;
    g->nfills = r->nfills;
    for (int i = 0; i < r->nfills; i++) {
        g->ours += strcmp(r->fills[i].client_order_id, "apx-11-e") == 0;
        g->other_symbols += strcmp(r->fills[i].symbol, "NVDA") != 0;
    }
    if (r->nfills > 0) {
        g->first = r->fills[0];
        g->last = r->fills[r->nfills - 1];
    }
}

static void test_symbol_fills_paged_and_named(void **state)
{
    fixture *f = *state;
    control(f, "settings", "{\"auto_fill\":false}");
    control(f, "bar", "{\"symbol\":\"NVDA\",\"o\":180,\"h\":181,\"l\":179,\"c\":180}");
    control(f, "bar", "{\"symbol\":\"TSLA\",\"o\":180,\"h\":181,\"l\":179,\"c\":180}");
    order_request q = {.side = SIDE_BUY, .type = ORDER_MARKET, .qty = MONEY(120)};
    snprintf(q.client_order_id, sizeof q.client_order_id, "apx-11-e");
    snprintf(q.symbol, sizeof q.symbol, "NVDA");
    assert_int_equal(submit(f, &q).status, 0);
    order_request other = {.side = SIDE_BUY, .type = ORDER_MARKET, .qty = MONEY(1)};
    snprintf(other.client_order_id, sizeof other.client_order_id, "apx-11-o");
    snprintf(other.symbol, sizeof other.symbol, "TSLA");
    assert_int_equal(submit(f, &other).status, 0);
    control(f, "fill", "{\"client_order_id\":\"apx-11-o\",\"price\":180}");
    /* 101 partial fills: more than one page of activities (100). */
    for (int i = 0; i < 101; i++)
        control(f, "fill", "{\"client_order_id\":\"apx-11-e\",\"qty\":1,\"price\":180}");
    control(f, "close_position", "{\"symbol\":\"NVDA\",\"price\":185}");

    symbol_fills g = {0};
    /* An hour before the fake's clock (setup: 2024-01-02T15:00:00Z). */
    apex_time since = (apex_time)(1704153600 + 14 * 3600) * APEX_SECOND;
    assert_int_equal(
        broker_list_symbol_fills(f->b, BROKER_PRIORITY_ROUTINE, "NVDA", since, on_symbol_fills, &g),
        0);
    wait_for(f, &g.done, 1);
    assert_int_equal(g.status, 0);
    assert_int_equal(g.nfills, 102);
    assert_int_equal(g.other_symbols, 0);
    assert_int_equal(g.ours, 101);
    assert_int_equal(g.first.side, SIDE_BUY);
    assert_true(g.first.order_id[0]);
    assert_int_equal(g.last.side, SIDE_SELL);
    assert_int_equal(g.last.qty, MONEY(101));
    assert_int_equal(g.last.price, MONEY(185));
    assert_string_equal(g.last.client_order_id, "");
    assert_true(g.last.order_id[0]);
    assert_string_not_equal(g.last.order_id, g.first.order_id);
    /* The fill id is the one the stream and polling give: a repeat dedupes in the store. */
    char want[BROKER_ID_MAX + 8];
    snprintf(want, sizeof want, "%s:101", g.last.order_id);
    assert_string_equal(g.last.fill_id, want);
}

/* Replace in place (PATCH /v2/orders/{id}): a resting limit becomes a new order under a
 * new client order id, with the new price and quantity, and the old one ends cancelled
 * (Alpaca's "replaced"); a lost answer is looked up by the new id, never resent; a
 * filled order is not replaced. */
static void test_replace_in_place(void **state)
{
    fixture *f = *state;
    control(f, "bar", "{\"symbol\":\"AAPL\",\"o\":180,\"h\":181,\"l\":179,\"c\":180}");
    order_request q = {
        .side = SIDE_BUY, .type = ORDER_LIMIT, .qty = MONEY(10), .limit_price = MONEY(150)};
    snprintf(q.client_order_id, sizeof q.client_order_id, "apx-20-e");
    snprintf(q.symbol, sizeof q.symbol, "AAPL");
    assert_int_equal(submit(f, &q).status, 0);

    order_change ch = {.qty = MONEY(5), .limit_price = MONEY(150) + MONEY(1) / 4};
    got r = {0};
    assert_int_equal(broker_replace_order(f->b, BROKER_PRIORITY_HIGH, "apx-20-e", "apx-20-e2", &ch,
                                          on_reply, &r),
                     0);
    wait_for(f, &r.done, 1);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.order.client_order_id, "apx-20-e2");
    assert_true(r.order.qty == MONEY(5));
    assert_true(r.order.limit_price == 15025000000LL);
    assert_false(order_status_is_final(r.order.status));
    assert_int_equal(orders_sent(f, "apx-20-e2"), 1);
    got old = {0};
    assert_int_equal(broker_get_order(f->b, BROKER_PRIORITY_ROUTINE, "apx-20-e", on_reply, &old),
                     0);
    wait_for(f, &old.done, 1);
    assert_int_equal(old.order.status, ORDER_STATUS_CANCELLED);

    /* The PATCH is carried out and its answer lost: found by the new id, not resent. */
    control(f, "fault",
            "{\"kind\":\"drop_response\",\"method\":\"PATCH\",\"path\":\"/v2/orders/\","
            "\"process\":true}");
    order_change ch3 = {.limit_price = MONEY(151)};
    got r3 = {0};
    assert_int_equal(broker_replace_order(f->b, BROKER_PRIORITY_HIGH, "apx-20-e2", "apx-20-e3",
                                          &ch3, on_reply, &r3),
                     0);
    wait_for(f, &r3.done, 1);
    assert_int_equal(r3.status, 0);
    assert_string_equal(r3.order.client_order_id, "apx-20-e3");
    assert_true(r3.order.limit_price == MONEY(151) && r3.order.qty == MONEY(5));
    assert_int_equal(orders_sent(f, "apx-20-e3"), 1);

    /* A filled order has nothing left to replace. */
    order_request m = {.side = SIDE_BUY, .type = ORDER_MARKET, .qty = MONEY(1)};
    snprintf(m.client_order_id, sizeof m.client_order_id, "apx-21-e");
    snprintf(m.symbol, sizeof m.symbol, "AAPL");
    assert_int_equal(submit(f, &m).status, 0);
    control(f, "bar", "{\"symbol\":\"AAPL\",\"o\":181,\"h\":182,\"l\":180,\"c\":181}");
    wait_for(f, &f->nfills, 1);
    got rf = {0};
    order_change chf = {.qty = MONEY(2)};
    assert_int_equal(broker_replace_order(f->b, BROKER_PRIORITY_HIGH, "apx-21-e", "apx-21-e2", &chf,
                                          on_reply, &rf),
                     0);
    wait_for(f, &rf.done, 1);
    assert_int_equal(rf.status, APEX_ESTATE);
    assert_int_equal(orders_sent(f, "apx-21-e2"), 0);
    /* Nothing to change is refused before anything is sent. */
    order_change none = {0};
    assert_int_equal(broker_replace_order(f->b, BROKER_PRIORITY_HIGH, "apx-20-e3", "apx-20-e4",
                                          &none, on_reply, &rf),
                     APEX_EINVAL);
}

/* ---- crypto (symbols with a '/') ---- */

typedef struct {
    int status, n, done;
    broker_quote q[8];
} got_quotes;

static void on_quotes(void *ud, const broker_reply *r)
{
    got_quotes *g = ud;
    g->status = r->status;
    g->n = r->nquotes < 8 ? r->nquotes : 8;
    for (int i = 0; i < g->n; i++)
        g->q[i] = r->quotes[i];
    g->done++;
}

static got_quotes quotes_of(fixture *f, const char *const *symbols, int n)
{
    got_quotes g = {0};
    assert_int_equal(broker_get_quotes(f->b, BROKER_PRIORITY_ROUTINE, symbols, n, on_quotes, &g),
                     0);
    wait_for(f, &g.done, 1);
    assert_int_equal(g.status, 0);
    assert_int_equal(g.n, n);
    return g;
}

static void assert_quote(const broker_quote *q, const char *symbol, money_t bid, money_t ask,
                         money_t last)
{
    assert_string_equal(q->symbol, symbol);
    assert_int_equal(q->bid, bid);
    assert_int_equal(q->ask, ask);
    assert_int_equal(q->last, last);
}

static int snapshot_requests(fixture *f, bool crypto)
{
    return counter(f, "requests",
                   crypto ? "GET /v1beta3/crypto/us/snapshots" : "GET /v2/stocks/snapshots");
}

/* Stocks and crypto pairs in one call: one request to each data API, every quote exact and
 * in request order whichever kind comes first. */
static void test_quotes_of_stocks_and_crypto(void **state)
{
    fixture *f = *state;
    control(f, "quote", "{\"symbol\":\"AAPL\",\"bp\":187.25,\"ap\":187.5,\"bs\":3,\"as\":4}");
    control(f, "trade", "{\"symbol\":\"AAPL\",\"p\":187.3,\"s\":100}");
    control(f, "quote",
            "{\"symbol\":\"BTC/USD\",\"bp\":43250.1,\"ap\":43251.2,\"bs\":0.5,\"as\":1.25}");
    control(f, "trade", "{\"symbol\":\"BTC/USD\",\"p\":43250.125,\"s\":0.0123}");
    control(f, "quote",
            "{\"symbol\":\"ETH/USD\",\"bp\":2250.05,\"ap\":2250.75,\"bs\":2.5,\"as\":0.75}");
    control(f, "trade", "{\"symbol\":\"ETH/USD\",\"p\":2250.5,\"s\":0.1}");

    const char *mixed[] = {"AAPL", "BTC/USD", "ETH/USD"};
    got_quotes g = quotes_of(f, mixed, 3);
    assert_quote(&g.q[0], "AAPL", MONEY_C(18725, 2), MONEY_C(1875, 1), MONEY_C(1873, 1));
    assert_quote(&g.q[1], "BTC/USD", MONEY_C(432501, 1), MONEY_C(432512, 1), MONEY_C(43250125, 3));
    assert_quote(&g.q[2], "ETH/USD", MONEY_C(225005, 2), MONEY_C(225075, 2), MONEY_C(22505, 1));
    assert_int_equal(snapshot_requests(f, false), 1);
    assert_int_equal(snapshot_requests(f, true), 1);

    /* Crypto first: still the request order. */
    const char *crypto_first[] = {"ETH/USD", "AAPL", "BTC/USD"};
    g = quotes_of(f, crypto_first, 3);
    assert_quote(&g.q[0], "ETH/USD", MONEY_C(225005, 2), MONEY_C(225075, 2), MONEY_C(22505, 1));
    assert_quote(&g.q[1], "AAPL", MONEY_C(18725, 2), MONEY_C(1875, 1), MONEY_C(1873, 1));
    assert_quote(&g.q[2], "BTC/USD", MONEY_C(432501, 1), MONEY_C(432512, 1), MONEY_C(43250125, 3));
    assert_int_equal(snapshot_requests(f, false), 2);
    assert_int_equal(snapshot_requests(f, true), 2);

    /* One kind only: one request, none to the other API. */
    const char *btc[] = {"BTC/USD"};
    g = quotes_of(f, btc, 1);
    assert_quote(&g.q[0], "BTC/USD", MONEY_C(432501, 1), MONEY_C(432512, 1), MONEY_C(43250125, 3));
    assert_int_equal(snapshot_requests(f, false), 2);
    assert_int_equal(snapshot_requests(f, true), 3);
}

/* History only (no broadcast): one-minute bars of symbol from `first` on, one a minute,
 * each its "o,h,l,c,v" fields as JSON text. */
static void load_history(fixture *f, const char *symbol, apex_time first, const char *const *bars,
                         int n)
{
    char body[4096], ts[40];
    size_t used = (size_t)snprintf(body, sizeof body, "{\"bars\":{\"%s\":[", symbol);
    for (int i = 0; i < n && used < sizeof body; i++) {
        rfc3339(first + i * APEX_MINUTE, ts, sizeof ts);
        used += (size_t)snprintf(body + used, sizeof body - used, "%s{\"t\":\"%s\",%s}",
                                 i ? "," : "", ts, bars[i]);
    }
    snprintf(body + used, sizeof body - used, "]}}");
    control(f, "bars", body);
}

/* A crypto subscription: history from /v1beta3/crypto/us/bars, then a live bar from the
 * crypto stream, fractional prices and volumes exact. */
static void test_md_crypto_history_then_live(void **state)
{
    fixture *f = *state;
    apex_time m = this_minute();
    const char *history[] = {
        "\"o\":43200,\"h\":43210.5,\"l\":43190.25,\"c\":43205.75,\"v\":0.5",
        "\"o\":43205.75,\"h\":43230,\"l\":43200,\"c\":43225.5,\"v\":1.25",
        "\"o\":43225.5,\"h\":43260.375,\"l\":43220.125,\"c\":43240.0625,\"v\":0.00012345",
    };
    load_history(f, "BTC/USD", m - 6 * APEX_MINUTE, history, 3);
    md_got g = {.f = f};
    const char *syms[] = {"BTC/USD"};
    market_data_sub *sub = md_subscribe(f->b, &g, syms, 1, 2, false);
    wait_for(f, &g.nlive, 1);
    assert_int_equal(g.nbars, 2);
    assert_bar(&g.bars[0], "BTC/USD", m - 5 * APEX_MINUTE, MONEY_C(4320575, 2), MONEY(43230),
               MONEY(43200), MONEY_C(432255, 1), MONEY_C(125, 2), true);
    assert_bar(&g.bars[1], "BTC/USD", m - 4 * APEX_MINUTE, MONEY_C(432255, 1), MONEY_C(43260375, 3),
               MONEY_C(43220125, 3), MONEY_C(432400625, 4), MONEY_C(12345, 8), true);
    push_bar_v(f, "BTC/USD", m - APEX_MINUTE,
               "\"o\":43240.0625,\"h\":43255.5,\"l\":43239.875,\"c\":43250.125", "0.0123");
    wait_for(f, &g.nbars, 3);
    assert_bar(&g.bars[2], "BTC/USD", m - APEX_MINUTE, MONEY_C(432400625, 4), MONEY_C(432555, 1),
               MONEY_C(43239875, 3), MONEY_C(43250125, 3), MONEY_C(123, 4), false);
    /* From the crypto paths, never the stocks'. */
    assert_true(counter(f, "requests", "GET /v1beta3/crypto/us/bars") >= 1);
    assert_int_equal(counter(f, "requests", "GET /v2/stocks/bars"), 0);
    broker_market_data_unsubscribe(f->b, sub);
}

/* A fractional crypto order (gtc: Alpaca refuses day for crypto) fills with its exact
 * quantity, while the stock market is closed: crypto trades around the clock. */
static void test_crypto_fractional_order_fills(void **state)
{
    fixture *f = *state;
    control(f, "settings", "{\"market\":\"closed\"}");
    order_request q = {.side = SIDE_BUY, .type = ORDER_MARKET, .qty = MONEY_C(15, 3)};
    snprintf(q.client_order_id, sizeof q.client_order_id, "%s", "crypto-1");
    snprintf(q.symbol, sizeof q.symbol, "%s", "BTC/USD");
    got g = submit(f, &q);
    assert_int_equal(g.status, 0);
    assert_true(g.has_order);
    assert_string_equal(g.order.symbol, "BTC/USD");
    assert_int_equal(g.order.qty, MONEY_C(15, 3));
    assert_int_equal(g.order.status, ORDER_STATUS_ACCEPTED);
    control(f, "quote",
            "{\"symbol\":\"BTC/USD\",\"bp\":43250.1,\"ap\":43251.2,\"bs\":0.5,\"as\":1.25}");
    wait_for(f, &f->nfills, 1);
    assert_string_equal(f->fills[0].client_order_id, "crypto-1");
    assert_int_equal(f->fills[0].qty, MONEY_C(15, 3));
    assert_int_equal(f->fills[0].price, MONEY_C(432512, 1));
    got o = {0};
    assert_int_equal(broker_get_order(f->b, BROKER_PRIORITY_ROUTINE, "crypto-1", on_reply, &o), 0);
    wait_for(f, &o.done, 1);
    assert_int_equal(o.order.status, ORDER_STATUS_FILLED);
    assert_int_equal(o.order.filled_qty, MONEY_C(15, 3));
    assert_int_equal(orders_sent(f, "crypto-1"), 1);
    /* Alpaca names the position BTCUSD: asked for by the pair, it is found, under the pair. */
    got p = {0};
    assert_int_equal(broker_get_position(f->b, BROKER_PRIORITY_ROUTINE, "BTC/USD", on_reply, &p),
                     0);
    wait_for(f, &p.done, 1);
    assert_int_equal(p.status, 0);
    assert_int_equal(p.npositions, 1);
    assert_string_equal(p.position.symbol, "BTC/USD");
    assert_int_equal(p.position.qty, MONEY_C(15, 3));
    assert_int_equal(counter(f, "requests", "GET /v2/positions/BTCUSD"), 1);
    run_for(f, 300);
    assert_int_equal(f->nfills, 1); /* once, whether the stream or a poll saw it first */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bracket_fills_once_and_legs_follow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_and_refused_orders, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lost_response_is_looked_up_not_resent, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cancel_a_leg_and_close_the_position, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symbol_fills_paged_and_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_account_exact_and_429_waited, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_reports_fills_without_polling, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fill_seen_by_stream_and_poll_is_one, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_drop_loses_no_fill, setup, teardown),
        cmocka_unit_test_setup_teardown(test_md_history_then_live, setup_md, teardown),
        cmocka_unit_test_setup_teardown(test_md_gap_caught_up_once, setup_md, teardown),
        cmocka_unit_test_setup_teardown(test_md_shared_stream_and_unsubscribe, setup_md, teardown),
        cmocka_unit_test_setup_teardown(test_md_auth_refused_backs_off, setup_md, teardown),
        cmocka_unit_test_setup_teardown(test_md_news_once_per_wanted_symbol, setup_md, teardown),
        cmocka_unit_test_setup_teardown(test_md_aggregates_minutes, setup_md, teardown),
        cmocka_unit_test_setup_teardown(test_md_refuses_odd_interval, setup_md, teardown),
        cmocka_unit_test_setup_teardown(test_session_close_comes_from_the_calendar, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_replace_in_place, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quotes_of_stocks_and_crypto, setup, teardown),
        cmocka_unit_test_setup_teardown(test_md_crypto_history_then_live, setup_md, teardown),
        cmocka_unit_test_setup_teardown(test_crypto_fractional_order_fills, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
