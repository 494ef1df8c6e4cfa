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
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "broker/alpaca.h"
#include "broker/broker.h"
#include "clock/clock.h"
#include "market/timestamp.h"
#include "util/err.h"

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
    /* listener */
    broker_fill fills[32];
    int nfills;
    broker_order updates[64];
    int nupdates;
} fixture;

/* ---- the fake ---- */

static void start_fake(fixture *f)
{
    const char *bin = getenv("FAKE_ALPACA");
    assert_non_null(bin); /* set by CMake for this test */
    int out[2];
    assert_int_equal(pipe(out), 0);
    f->pid = fork();
    assert_true(f->pid >= 0);
    if (f->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM); /* a failed test (an abort) takes the fake along */
        dup2(out[1], 1);
        close(out[0]);
        execl(bin, bin, "--port", "0", "--key", KEY, "--secret", SECRET, "--seed", "7", "--clock",
              "2024-01-02T15:00:00Z", (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    FILE *r = fdopen(out[0], "r");
    char line[128] = "";
    assert_non_null(fgets(line, sizeof line, r));
    fclose(r);
    assert_int_equal(sscanf(line, "listening 127.0.0.1:%d", &f->port), 1);
}

/* POST /_control/<what> with a JSON body, through curl (the test's own client). */
static void control(fixture *f, const char *what, const char *json)
{
    char cmd[1024];
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

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    start_fake(f);
    setenv("APCA_API_KEY_ID", KEY, 1);
    setenv("APCA_API_SECRET_KEY", SECRET, 1);
    uv_loop_init(&f->loop);
    f->clock = clock_new_live(&f->loop, 1.0, 1);
    broker_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.kind = BROKER_KIND_ALPACA;
    snprintf(cfg.base_url, sizeof cfg.base_url, "http://127.0.0.1:%d", f->port);
    snprintf(cfg.data_url, sizeof cfg.data_url, "http://127.0.0.1:%d", f->port);
    char err[512];
    f->b = alpaca_broker_new(&cfg, &f->loop, err, sizeof err);
    if (!f->b)
        fail_msg("alpaca_broker_new: %s", err);
    broker_set_listener(f->b, (broker_listener){.on_order = on_order, .on_fill = on_fill, .ud = f});
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bracket_fills_once_and_legs_follow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_and_refused_orders, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lost_response_is_looked_up_not_resent, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cancel_a_leg_and_close_the_position, setup, teardown),
        cmocka_unit_test_setup_teardown(test_account_exact_and_429_waited, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_reports_fills_without_polling, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fill_seen_by_stream_and_poll_is_one, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_drop_loses_no_fill, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_close_comes_from_the_calendar, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
