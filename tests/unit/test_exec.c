/* exec, directly (core/exec/exec.h): no order is ever sent twice.
 *
 *   - the intent is committed to the store before the broker sees the request: the fake
 *     broker's hook reads the orders table through a second connection at the instant the
 *     submit arrives, and an intent the store cannot commit is never sent;
 *   - client order ids are derived ("<store instance>-<execution>-<sequence>") and the
 *     sequence is persisted, so a restarted host continues it;
 *   - a duplicate id is refused, by the store and by the broker, and never resent;
 *   - restart reconciliation marks intents that never left `unsent` and never resends
 *     them, and brings orders the broker did get up to date, with the fills missed;
 *   - fills are recorded once (a replayed fill is harmless) and reconcile with the ledger.
 *
 * A crash is staged with a copy of the database taken at the chosen instant (VACUUM INTO)
 * and a second fake broker holding what the broker knew then: the "restarted" host opens
 * the copy, the "crashed" one is torn down normally. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/paper.h"
#include "exec/exec.h"
#include "fake_broker.h"
#include "store/store_testing.h"
#include "util/err.h"
#include "util/log.h"

#define T0 ((apex_time)1709562600 * APEX_SECOND) /* Mon 2024-03-04 14:30 UTC */

static char dir[256];

static const char *path_of(const char *name)
{
    static char path[2][512];
    static int which;
    which ^= 1;
    snprintf(path[which], sizeof path[which], "%s/%s", dir, name);
    return path[which];
}

/* One host: a store, an exec env on a fake broker, and live trades it can find. */
typedef struct {
    apex_clock *clock;
    store *db;
    fake_broker *brk;
    pipeline_config cfg;
    exec_env *env;
    trade *trades[4];
    int ntrades;
    int fills_seen, orders_seen;
} host;

static trade *find_trade(void *ud, int64_t id)
{
    host *h = ud;
    for (int i = 0; i < h->ntrades; i++)
        if (h->trades[i]->row.id == id)
            return h->trades[i];
    return NULL;
}

static void on_fill(void *ud, trade *t, const broker_fill *f, const store_order *o)
{
    host *h = ud;
    h->fills_seen++;
}

static void on_order(void *ud, trade *t, const store_order *o)
{
    host *h = ud;
    h->orders_seen++;
}

/* A host on database `db` and broker brk (NULL = a new fake broker; the host owns it). */
static void host_open_on(host *h, const char *db, apex_clock *clock, fake_broker *brk)
{
    char err[256];
    memset(h, 0, sizeof *h);
    h->clock = clock;
    h->db = store_open(path_of(db), STORE_DURABLE, err, sizeof err);
    assert_non_null(h->db);
    h->brk = brk ? brk : fake_broker_new(clock);
    config_defaults(&h->cfg);
    snprintf(h->cfg.name, sizeof h->cfg.name, "exec");
    h->env = exec_env_new(
        h->db, fake_broker_base(h->brk), clock, &h->cfg,
        (exec_hooks){.find_trade = find_trade, .on_fill = on_fill, .on_order = on_order, .ud = h});
    assert_non_null(h->env);
    exec_env_install(h->env);
}

static void host_open(host *h, const char *db, apex_clock *clock)
{
    host_open_on(h, db, clock, NULL);
}

static void host_close(host *h)
{
    for (int i = 0; i < h->ntrades; i++)
        free(h->trades[i]);
    exec_env_free(h->env);
    broker_free(fake_broker_base(h->brk));
    store_close(h->db);
    config_free(&h->cfg);
}

/* A new execution of symbol, in the store and live. */
static trade *new_trade(host *h, const char *symbol)
{
    trade *t = calloc(1, sizeof *t);
    assert_non_null(t);
    snprintf(t->row.pipeline, sizeof t->row.pipeline, "exec");
    snprintf(t->row.symbol, sizeof t->row.symbol, "%s", symbol);
    t->row.status = EXEC_RUNNING;
    snprintf(t->row.phase, sizeof t->row.phase, "execute");
    t->row.side = SIDE_BUY;
    t->row.stop_loss = MONEY(95);
    t->row.take_profit = MONEY(110);
    t->row.created_at = clock_now(h->clock);
    assert_int_equal(store_execution_insert(h->db, &t->row, NULL), 0);
    h->trades[h->ntrades++] = t;
    return t;
}

/* A restarted host's view of an execution: the row and the ledger from the store. */
static trade *load_trade(host *h, int64_t id)
{
    trade *t = calloc(1, sizeof *t);
    assert_non_null(t);
    assert_int_equal(store_execution_get(h->db, id, &t->row), 0);
    assert_int_equal(exec_replay_fills(h->env, t), 0);
    if (store_position_get_by_execution(h->db, id, &t->pos) == 0)
        t->has_pos = true;
    h->trades[h->ntrades++] = t;
    return t;
}

static order_request bracket(const char *symbol, money_t qty)
{
    order_request r = {.side = SIDE_BUY,
                       .type = ORDER_MARKET,
                       .qty = qty,
                       .take_profit = MONEY(110),
                       .stop_loss = MONEY(95)};
    snprintf(r.symbol, sizeof r.symbol, "%s", symbol);
    return r;
}

typedef struct {
    int calls, status;
    char msg[256];
} outcome;

static void done(void *ud, trade *t, int status, const char *msg)
{
    outcome *o = ud;
    o->calls++;
    o->status = status;
    snprintf(o->msg, sizeof o->msg, "%s", msg ? msg : "");
}

static void run(host *h)
{
    clock_run_due(h->clock);
}

/* Reads one value from database `db` through a connection of its own: only what is
 * committed shows. */
static void committed_text(const char *db, const char *sql, const char *arg, char *out, size_t n)
{
    sqlite3 *c = NULL;
    assert_int_equal(sqlite3_open_v2(path_of(db), &c, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("bad query %s: %s", sql, sqlite3_errmsg(c));
    if (arg)
        sqlite3_bind_text(st, 1, arg, -1, SQLITE_TRANSIENT);
    out[0] = '\0';
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        snprintf(out, n, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(c);
}

static long long committed_int(const char *db, const char *sql)
{
    char buf[64];
    committed_text(db, sql, NULL, buf, sizeof buf);
    return atoll(buf);
}

/* A consistent copy of everything committed so far: the database a crash would leave. */
static void snapshot(const char *to)
{
    unlink(path_of(to));
    sqlite3 *c = NULL;
    assert_int_equal(sqlite3_open(path_of("exec.db"), &c), SQLITE_OK);
    char sql[700];
    snprintf(sql, sizeof sql, "VACUUM INTO '%s'", path_of(to));
    char *err = NULL;
    if (sqlite3_exec(c, sql, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("snapshot: %s", err);
    sqlite3_close(c);
}

static int setup(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/apex-test-exec-XXXXXX");
    assert_non_null(mkdtemp(dir));
    log_set_level(LOG_WARN);
    *state = NULL;
    return 0;
}

static int teardown(void **state)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return 0;
}

/* ---- intent before send ---- */

typedef struct {
    int calls;
    char entry[16], tp[16], sl[16];
    long long seq;
    char coid[BROKER_ID_MAX];
} at_submit;

static void check_store_at_submit(void *ud, fake_broker *fb, const fake_call *call)
{
    at_submit *seen = ud;
    if (call->kind != FAKE_SUBMIT)
        return;
    seen->calls++;
    snprintf(seen->coid, sizeof seen->coid, "%s", call->client_order_id);
    char leg[BROKER_ID_MAX + 4], seq[32];
    committed_text("exec.db", "SELECT status FROM orders WHERE client_order_id = ?1",
                   call->client_order_id, seen->entry, sizeof seen->entry);
    snprintf(leg, sizeof leg, "%s-tp", call->client_order_id);
    committed_text("exec.db", "SELECT status FROM orders WHERE client_order_id = ?1", leg, seen->tp,
                   sizeof seen->tp);
    snprintf(leg, sizeof leg, "%s-sl", call->client_order_id);
    committed_text("exec.db", "SELECT status FROM orders WHERE client_order_id = ?1", leg, seen->sl,
                   sizeof seen->sl);
    committed_text("exec.db",
                   "SELECT order_seq FROM executions WHERE id = "
                   "(SELECT execution_id FROM orders WHERE client_order_id = ?1)",
                   call->client_order_id, seq, sizeof seq);
    seen->seq = atoll(seq);
}

static void test_intent_is_committed_before_the_broker_sees_it(void **state)
{
    apex_clock *clock = clock_new_simulated(T0);
    host h;
    host_open(&h, "exec.db", clock);
    at_submit seen = {0};
    fake_broker_on_call(h.brk, check_store_at_submit, &seen);
    trade *t = new_trade(&h, "AAPL");
    order_request req = bracket("AAPL", MONEY(100));
    outcome out = {0};
    assert_int_equal(
        exec_send(h.env, BROKER_PRIORITY_ROUTINE, t, ORDER_ROLE_ENTRY, &req, done, &out, NULL, 0),
        0);

    /* When the request reached the broker, the entry and both legs were durable rows. */
    assert_int_equal(seen.calls, 1);
    assert_string_equal(seen.coid, req.client_order_id);
    assert_string_equal(seen.entry, "new");
    assert_string_equal(seen.tp, "held");
    assert_string_equal(seen.sl, "held");
    assert_int_equal(seen.seq, 1);
    /* The reply is asynchronous: nothing is settled inside exec_send. */
    assert_int_equal(out.calls, 0);
    assert_int_equal(trade_holds(t), 1);

    run(&h);
    assert_int_equal(out.calls, 1);
    assert_int_equal(out.status, 0);
    assert_int_equal(trade_holds(t), 0);
    store_order row;
    assert_int_equal(store_order_get(h.db, req.client_order_id, &row), 0);
    assert_int_equal(row.o.status, ORDER_STATUS_ACCEPTED);
    assert_int_equal(row.o.role, ORDER_ROLE_ENTRY);
    assert_string_equal(row.o.broker_order_id,
                        fake_broker_order(h.brk, req.client_order_id)->broker_order_id);
    assert_true(row.submitted_at == T0);
    assert_true(row.take_profit == MONEY(110) && row.stop_loss == MONEY(95));
    assert_string_equal(t->entry_coid, req.client_order_id);
    /* The broker got exactly the request recorded, once. */
    const fake_call *call = fake_broker_last_call(h.brk, FAKE_SUBMIT);
    assert_int_equal(fake_broker_ncalls(h.brk, FAKE_SUBMIT), 1);
    assert_true(call->req.qty == MONEY(100));
    assert_true(call->req.take_profit == MONEY(110));
    assert_true(call->req.stop_loss == MONEY(95));

    host_close(&h);
    clock_free(clock);
}

static void test_refused_locally_is_unsent_at_once(void **state)
{
    apex_clock *clock = clock_new_simulated(T0);
    host h;
    host_open(&h, "exec.db", clock);
    trade *t = new_trade(&h, "AAPL");
    fake_broker_refuse_next(h.brk, FAKE_SUBMIT, 1, APEX_EINVAL);
    order_request req = bracket("AAPL", MONEY(10));
    outcome out = {0};
    char err[256] = "";
    assert_int_equal(exec_send(h.env, BROKER_PRIORITY_ROUTINE, t, ORDER_ROLE_ENTRY, &req, done,
                               &out, err, sizeof err),
                     APEX_EINVAL);
    assert_non_null(strstr(err, req.client_order_id));
    assert_non_null(strstr(err, "refused"));
    run(&h);
    /* The intent stays on record, marked unsent with the reason; no callback, no hold. */
    assert_int_equal(out.calls, 0);
    assert_int_equal(trade_holds(t), 0);
    store_order row;
    assert_int_equal(store_order_get(h.db, req.client_order_id, &row), 0);
    assert_int_equal(row.o.status, ORDER_STATUS_UNSENT);
    assert_non_null(strstr(row.error, "refused the request locally"));
    host_close(&h);
    clock_free(clock);
}

static void test_an_intent_that_cannot_be_committed_is_never_sent(void **state)
{
    apex_clock *clock = clock_new_simulated(T0);
    host h;
    host_open(&h, "exec.db", clock);
    trade *t = new_trade(&h, "AAPL");
    /* The disk fails on the stop-loss leg's intent, the last of the three rows. */
    store_test_fail_writes(h.db, "orders", 2, 1);
    order_request req = bracket("AAPL", MONEY(10));
    outcome out = {0};
    char err[256] = "";
    assert_int_equal(exec_send(h.env, BROKER_PRIORITY_ROUTINE, t, ORDER_ROLE_ENTRY, &req, done,
                               &out, err, sizeof err),
                     APEX_EIO);
    run(&h);
    assert_non_null(strstr(err, "recording the intent"));
    assert_int_equal(fake_broker_ncalls(h.brk, FAKE_ANY), 0);
    /* The id, the intent and its legs are one unit: none of it was committed. */
    store_order row;
    assert_int_equal(store_order_get(h.db, req.client_order_id, &row), APEX_ENOTFOUND);
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM orders WHERE execution_id = %lld",
             (long long)t->row.id);
    assert_int_equal(committed_int("exec.db", sql), 0);
    assert_int_equal(out.calls, 0);
    assert_int_equal(trade_holds(t), 0);
    assert_true(store_write_failed(h.db, NULL));
    host_close(&h);
    clock_free(clock);
}

/* ---- client order ids ---- */

static void test_client_order_ids_are_derived_and_persisted(void **state)
{
    apex_clock *clock = clock_new_simulated(T0);
    host h;
    host_open(&h, "exec.db", clock);
    trade *a = new_trade(&h, "AAPL");
    trade *b = new_trade(&h, "MSFT");
    char want[BROKER_ID_MAX];
    order_request ra = bracket("AAPL", MONEY(10)), rb = bracket("MSFT", MONEY(10));
    assert_int_equal(
        exec_send(h.env, BROKER_PRIORITY_ROUTINE, a, ORDER_ROLE_ENTRY, &ra, NULL, NULL, NULL, 0),
        0);
    assert_int_equal(
        exec_send(h.env, BROKER_PRIORITY_ROUTINE, b, ORDER_ROLE_ENTRY, &rb, NULL, NULL, NULL, 0),
        0);
    run(&h);
    /* <store instance>-<execution id>-<sequence>, the legs suffixed. */
    snprintf(want, sizeof want, "%s-%lld-1", store_instance_id(h.db), (long long)a->row.id);
    assert_string_equal(ra.client_order_id, want);
    snprintf(want, sizeof want, "%s-%lld-1", store_instance_id(h.db), (long long)b->row.id);
    assert_string_equal(rb.client_order_id, want);
    snprintf(want, sizeof want, "%s-tp", ra.client_order_id);
    assert_non_null(fake_broker_order(h.brk, want));
    store_order leg;
    assert_int_equal(store_order_get(h.db, want, &leg), 0);
    assert_string_equal(leg.o.parent_client_order_id, ra.client_order_id);
    assert_int_equal(leg.o.role, ORDER_ROLE_TAKE_PROFIT);

    /* The next order of the same execution takes the next sequence number. */
    order_request exit = {.side = SIDE_SELL, .type = ORDER_LIMIT, .qty = MONEY(10)};
    snprintf(exit.symbol, sizeof exit.symbol, "AAPL");
    exit.limit_price = MONEY(105);
    assert_int_equal(
        exec_send(h.env, BROKER_PRIORITY_ROUTINE, a, ORDER_ROLE_EXIT, &exit, NULL, NULL, NULL, 0),
        0);
    run(&h);
    snprintf(want, sizeof want, "%s-%lld-2", store_instance_id(h.db), (long long)a->row.id);
    assert_string_equal(exit.client_order_id, want);
    assert_string_equal(fake_broker_last_call(h.brk, FAKE_SUBMIT)->client_order_id, want);

    /* The sequence is durable: a restarted host continues it instead of reusing an id. */
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT order_seq FROM executions WHERE id = %lld",
             (long long)a->row.id);
    assert_int_equal(committed_int("exec.db", sql), 2);
    int64_t id = a->row.id;
    char instance[16];
    snprintf(instance, sizeof instance, "%s", store_instance_id(h.db));
    host_close(&h);

    host r;
    host_open(&r, "exec.db", clock);
    assert_string_equal(store_instance_id(r.db), instance);
    trade *again = load_trade(&r, id);
    char next[BROKER_ID_MAX];
    assert_int_equal(exec_next_client_id(r.env, again, NULL, next, sizeof next), 0);
    snprintf(want, sizeof want, "%s-%lld-3", instance, (long long)id);
    assert_string_equal(next, want);
    host_close(&r);

    /* Another database never produces the same ids at the same broker. */
    host other;
    host_open(&other, "other.db", clock);
    assert_string_not_equal(store_instance_id(other.db), instance);
    host_close(&other);
    clock_free(clock);
}

/* ---- duplicates ---- */

static void test_duplicate_id_is_refused_by_the_store(void **state)
{
    apex_clock *clock = clock_new_simulated(T0);
    host h;
    host_open(&h, "exec.db", clock);
    trade *t = new_trade(&h, "AAPL");
    order_request first = bracket("AAPL", MONEY(10));
    assert_int_equal(
        exec_send(h.env, BROKER_PRIORITY_ROUTINE, t, ORDER_ROLE_ENTRY, &first, NULL, NULL, NULL, 0),
        0);
    run(&h);
    /* A stale trade (its sequence behind the store's) would derive the same id again: the
     * intent cannot be recorded, so nothing is sent and the first order is untouched. */
    t->row.order_seq = 0;
    order_request second = bracket("AAPL", MONEY(10));
    outcome out = {0};
    char err[256] = "";
    assert_int_equal(exec_send(h.env, BROKER_PRIORITY_ROUTINE, t, ORDER_ROLE_ENTRY, &second, done,
                               &out, err, sizeof err),
                     APEX_EDUP);
    assert_non_null(strstr(err, "recording the intent"));
    run(&h);
    assert_string_equal(second.client_order_id, first.client_order_id);
    assert_int_equal(fake_broker_ncalls(h.brk, FAKE_SUBMIT), 1);
    assert_int_equal(out.calls, 0);
    assert_int_equal(trade_holds(t), 0);
    store_order row;
    assert_int_equal(store_order_get(h.db, first.client_order_id, &row), 0);
    assert_int_equal(row.o.status, ORDER_STATUS_ACCEPTED);
    assert_int_equal(row.o.qty, MONEY(10));
    host_close(&h);
    clock_free(clock);
}

static void test_duplicate_id_at_the_broker_is_never_resent(void **state)
{
    apex_clock *clock = clock_new_simulated(T0);
    host h;
    host_open(&h, "exec.db", clock);
    trade *t = new_trade(&h, "AAPL");
    /* The broker already holds an order under the id this send will derive (an earlier
     * send whose acknowledgement was lost). It refuses the repeat with APEX_EDUP. */
    broker_order known = {
        .side = SIDE_BUY, .type = ORDER_MARKET, .status = ORDER_STATUS_ACCEPTED, .qty = MONEY(10)};
    snprintf(known.client_order_id, sizeof known.client_order_id, "%s-%lld-1",
             store_instance_id(h.db), (long long)t->row.id);
    snprintf(known.symbol, sizeof known.symbol, "AAPL");
    fake_broker_add_order(h.brk, &known);
    order_request req = bracket("AAPL", MONEY(10));
    outcome out = {0};
    assert_int_equal(
        exec_send(h.env, BROKER_PRIORITY_ROUTINE, t, ORDER_ROLE_ENTRY, &req, done, &out, NULL, 0),
        0);
    assert_string_equal(req.client_order_id, known.client_order_id);
    clock_advance_to(clock, T0 + APEX_MINUTE);
    /* The order is treated as live (reconciliation picks up its state), not as refused,
     * and it was sent exactly once. */
    assert_int_equal(out.calls, 1);
    assert_int_equal(out.status, 0);
    assert_int_equal(fake_broker_ncalls(h.brk, FAKE_SUBMIT), 1);
    store_order row;
    assert_int_equal(store_order_get(h.db, req.client_order_id, &row), 0);
    assert_int_not_equal(row.o.status, ORDER_STATUS_REJECTED);
    assert_true(row.submitted_at > 0);
    host_close(&h);
    clock_free(clock);
}

/* ---- restart reconciliation ---- */

static int count_fill(void *ud, const store_fill *f)
{
    (*(int *)ud)++;
    return 0;
}

typedef struct {
    fake_broker *survivor; /* what the broker will know after the crash */
} crash_plan;

/* The host dies the instant its request reaches the broker, before the broker acts: the
 * database as committed then, and the broker's book as it was then. */
static void crash_before_the_broker_acts(void *ud, fake_broker *fb, const fake_call *call)
{
    crash_plan *plan = ud;
    if (call->kind != FAKE_SUBMIT)
        return;
    snapshot("crash.db");
    fake_broker_copy_book(plan->survivor, fb);
}

static void test_reconcile_marks_never_sent_intents_unsent_and_never_resends(void **state)
{
    apex_clock *clock = clock_new_simulated(T0);
    host h;
    host_open(&h, "exec.db", clock);
    trade *t = new_trade(&h, "AAPL");
    crash_plan plan = {.survivor = fake_broker_new(clock)};
    fake_broker_on_call(h.brk, crash_before_the_broker_acts, &plan);
    order_request req = bracket("AAPL", MONEY(10));
    assert_int_equal(
        exec_send(h.env, BROKER_PRIORITY_ROUTINE, t, ORDER_ROLE_ENTRY, &req, NULL, NULL, NULL, 0),
        0);
    run(&h);
    int64_t id = t->row.id;
    char coid[BROKER_ID_MAX];
    snprintf(coid, sizeof coid, "%s", req.client_order_id);
    host_close(&h); /* the crashed host's memory is gone */

    /* Restart on what the crash left: three intents the broker never saw. */
    host r;
    host_open_on(&r, "crash.db", clock, plan.survivor);
    assert_int_equal(fake_broker_norders(r.brk), 0);
    trade *back = load_trade(&r, id);
    outcome out = {0};
    assert_int_equal(exec_reconcile(r.env, back, done, &out), 0);
    run(&r);
    assert_int_equal(out.calls, 1);
    assert_int_equal(out.status, 0);
    /* Asked about by client order id, each one; none sent again. */
    assert_int_equal(fake_broker_ncalls(r.brk, FAKE_GET_ORDER), 3);
    assert_int_equal(fake_broker_ncalls(r.brk, FAKE_SUBMIT), 0);
    const char *suffix[] = {"", "-tp", "-sl"};
    for (int i = 0; i < 3; i++) {
        char leg[BROKER_ID_MAX + 4];
        snprintf(leg, sizeof leg, "%s%s", coid, suffix[i]);
        store_order row;
        assert_int_equal(store_order_get(r.db, leg, &row), 0);
        assert_int_equal(row.o.status, ORDER_STATUS_UNSENT);
        assert_non_null(strstr(row.error, "never reached the broker"));
    }
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM events WHERE kind = 'reconcile' AND message LIKE "
             "'order %s%% never reached the broker; marked unsent, not resent'",
             coid);
    assert_int_equal(committed_int("crash.db", sql), 3);

    /* Unsent is final: reconciling again asks about nothing and sends nothing. */
    outcome again = {0};
    assert_int_equal(exec_reconcile(r.env, back, done, &again), 0);
    run(&r);
    assert_int_equal(again.calls, 1);
    assert_int_equal(fake_broker_ncalls(r.brk, FAKE_GET_ORDER), 3);
    assert_int_equal(fake_broker_ncalls(r.brk, FAKE_SUBMIT), 0);
    host_close(&r);
    clock_free(clock);
}

static void test_reconcile_recovers_an_order_sent_before_the_crash(void **state)
{
    apex_clock *clock = clock_new_simulated(T0);
    host h;
    host_open(&h, "exec.db", clock);
    trade *t = new_trade(&h, "AAPL");
    /* The request left; the host dies before the acknowledgement arrives, and while it is
     * down the broker fills the entry in two parts. */
    fake_broker_hold_next(h.brk, FAKE_SUBMIT, 1);
    order_request req = bracket("AAPL", MONEY(10));
    outcome lost = {0};
    assert_int_equal(
        exec_send(h.env, BROKER_PRIORITY_ROUTINE, t, ORDER_ROLE_ENTRY, &req, done, &lost, NULL, 0),
        0);
    run(&h);
    assert_int_equal(lost.calls, 0);
    snapshot("crash.db");
    fake_broker_set_events(h.brk, FAKE_EVENTS_QUEUED);
    assert_int_equal(fake_broker_fill(h.brk, req.client_order_id, MONEY(4), MONEY(100)), 0);
    assert_int_equal(fake_broker_fill(h.brk, req.client_order_id, MONEY(6), MONEY(101)), 0);
    fake_broker *survivor = fake_broker_new(clock);
    fake_broker_copy_book(survivor, h.brk);
    int64_t id = t->row.id;
    char coid[BROKER_ID_MAX];
    snprintf(coid, sizeof coid, "%s", req.client_order_id);
    /* The crashed host's own database is not the one restarted from; its late replies
     * only settle its memory before it is torn down. */
    assert_int_equal(fake_broker_held(h.brk), 1);
    assert_int_equal(fake_broker_release(h.brk), 1);
    run(&h);
    assert_int_equal(lost.calls, 1);
    host_close(&h);

    host r;
    host_open_on(&r, "crash.db", clock, survivor);
    trade *back = load_trade(&r, id);
    assert_int_equal(back->led.qty, 0);
    store_order row;
    assert_int_equal(store_order_get(r.db, coid, &row), 0);
    assert_int_equal(row.o.status, ORDER_STATUS_NEW);
    outcome out = {0};
    assert_int_equal(exec_reconcile(r.env, back, done, &out), 0);
    run(&r);
    assert_int_equal(out.calls, 1);
    assert_int_equal(out.status, 0);
    assert_int_equal(fake_broker_ncalls(r.brk, FAKE_SUBMIT), 0);
    assert_int_equal(fake_broker_ncalls(r.brk, FAKE_LIST_FILLS), 1);
    /* Brought up to date from the broker: filled, both fills in the ledger, once. */
    assert_int_equal(store_order_get(r.db, coid, &row), 0);
    assert_int_equal(row.o.status, ORDER_STATUS_FILLED);
    assert_int_equal(row.o.filled_qty, MONEY(10));
    assert_true(row.submitted_at > 0);
    assert_int_equal(back->led.qty, MONEY(10));
    assert_int_equal(ledger_avg_price(&back->led), 10060000000LL); /* (4x100 + 6x101) / 10 */
    int nfills = 0;
    assert_int_equal(store_fills_for_execution(r.db, id, count_fill, &nfills), 0);
    assert_int_equal(nfills, 2);
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM events WHERE kind = 'reconcile' AND message LIKE "
             "'recovered fill %%missed while down'");
    assert_int_equal(committed_int("crash.db", sql), 2);
    /* The legs, active at the broker now, are brought up to date too. */
    char leg[BROKER_ID_MAX + 4];
    snprintf(leg, sizeof leg, "%s-sl", coid);
    assert_int_equal(store_order_get(r.db, leg, &row), 0);
    assert_int_equal(row.o.status, ORDER_STATUS_ACCEPTED);

    /* Reconciling again, and the broker's stream replaying both fills, change nothing. */
    outcome again = {0};
    assert_int_equal(exec_reconcile(r.env, back, done, &again), 0);
    run(&r);
    fake_broker_replay_fill(r.brk, 0);
    fake_broker_replay_fill(r.brk, 1);
    run(&r);
    assert_int_equal(again.calls, 1);
    assert_int_equal(back->led.qty, MONEY(10));
    assert_int_equal(fake_broker_ncalls(r.brk, FAKE_SUBMIT), 0);
    nfills = 0;
    assert_int_equal(store_fills_for_execution(r.db, id, count_fill, &nfills), 0);
    assert_int_equal(nfills, 2);
    assert_int_equal(committed_int("crash.db", sql), 2);
    assert_int_equal(store_ledger_check(r.db, NULL), 0);
    host_close(&r);
    clock_free(clock);
}

/* ---- fills ---- */

static void test_fills_are_recorded_once_and_reconcile_with_the_ledger(void **state)
{
    apex_clock *clock = clock_new_simulated(T0);
    host h;
    host_open(&h, "exec.db", clock);
    trade *t = new_trade(&h, "AAPL");
    order_request req = bracket("AAPL", MONEY(100));
    assert_int_equal(
        exec_send(h.env, BROKER_PRIORITY_ROUTINE, t, ORDER_ROLE_ENTRY, &req, NULL, NULL, NULL, 0),
        0);
    run(&h);
    /* The entry fills in two parts, at different prices. */
    fake_broker_fill(h.brk, req.client_order_id, MONEY(40), MONEY(100));
    fake_broker_fill(h.brk, req.client_order_id, MONEY(60), MONEY(102));
    run(&h);
    assert_int_equal(h.fills_seen, 2);
    assert_true(t->has_pos);
    assert_int_equal(t->led.qty, MONEY(100));
    ledger before = t->led;

    /* The stream delivers both fills again (a reconnect replays them): no effect. */
    fake_broker_replay_fill(h.brk, 0);
    fake_broker_replay_fill(h.brk, 1);
    run(&h);
    assert_int_equal(h.fills_seen, 2);
    assert_memory_equal(&t->led, &before, sizeof before);
    int n = 0;
    assert_int_equal(store_fills_for_execution(h.db, t->row.id, count_fill, &n), 0);
    assert_int_equal(n, 2);

    /* The take-profit leg closes it; the one-cancels-other sibling is cancelled. */
    char tp[BROKER_ID_MAX + 4];
    snprintf(tp, sizeof tp, "%s-tp", req.client_order_id);
    fake_broker_fill(h.brk, tp, 0, MONEY(110));
    run(&h);
    assert_int_equal(t->led.qty, 0);
    /* 40 x (110 - 100) + 60 x (110 - 102) = 880.00, to the smallest unit. */
    assert_int_equal(t->led.realized, MONEY(880));
    store_execution row;
    assert_int_equal(store_execution_get(h.db, t->row.id, &row), 0);
    assert_int_equal(row.realized_pnl, MONEY(880));
    store_position pos;
    assert_int_equal(store_position_get_by_execution(h.db, t->row.id, &pos), 0);
    assert_false(pos.open);
    assert_int_equal(pos.qty, 0);
    assert_int_equal(pos.initial_qty, MONEY(100));
    char sl[BROKER_ID_MAX + 4];
    snprintf(sl, sizeof sl, "%s-sl", req.client_order_id);
    store_order leg;
    assert_int_equal(store_order_get(h.db, sl, &leg), 0);
    assert_int_equal(leg.o.status, ORDER_STATUS_CANCELLED);

    /* The fills table, replayed through the ledger, gives the same numbers: the store's
     * ledger check and a restarted host's replay agree with the live ledger. */
    assert_int_equal(store_ledger_check(h.db, NULL), 0);
    trade replayed = {.row = t->row};
    assert_int_equal(exec_replay_fills(h.env, &replayed), 0);
    assert_memory_equal(&replayed.led, &t->led, sizeof t->led);
    host_close(&h);
    clock_free(clock);
}

static int count_reconcile_event(void *ud, const store_event_row *ev)
{
    int *n = ud;
    if (strcmp(ev->kind, "reconcile") == 0 && strstr(ev->message, "stream and polling missed"))
        (*n)++;
    return 0;
}

/* Periodic reconciliation while running (monitoring.reconcile_seconds): a leg fill that the
 * stream and polling both missed is recorded once, through the fill's unit (fill row,
 * ledger, position, order, event); a second round and a late stream delivery of the same
 * fill change nothing; the sibling's missed cancellation reaches the on_order hook. */
static void test_periodic_reconcile_records_a_missed_fill_once(void **state)
{
    (void)state;
    apex_clock *clock = clock_new_simulated(T0);
    host h;
    host_open(&h, "exec.db", clock);
    trade *t = new_trade(&h, "AAPL");
    order_request req = bracket("AAPL", MONEY(100));
    assert_int_equal(
        exec_send(h.env, BROKER_PRIORITY_ROUTINE, t, ORDER_ROLE_ENTRY, &req, NULL, NULL, NULL, 0),
        0);
    run(&h);
    fake_broker_fill(h.brk, req.client_order_id, 0, MONEY(100));
    run(&h);
    assert_int_equal(h.fills_seen, 1);
    assert_int_equal(t->led.qty, MONEY(100));

    /* The take-profit fills while the listener hears nothing. */
    char tp[BROKER_ID_MAX + 4], sl[BROKER_ID_MAX + 4];
    snprintf(tp, sizeof tp, "%s-tp", req.client_order_id);
    snprintf(sl, sizeof sl, "%s-sl", req.client_order_id);
    fake_broker_set_events(h.brk, FAKE_EVENTS_DROPPED);
    fake_broker_fill(h.brk, tp, 0, MONEY(110));
    run(&h);
    assert_int_equal(h.fills_seen, 1);
    assert_int_equal(t->led.qty, MONEY(100));
    int orders_before = h.orders_seen;

    for (int round = 0; round < 2; round++) {
        outcome o = {0};
        assert_int_equal(exec_reconcile_periodic(h.env, t, done, &o), 0);
        run(&h);
        assert_int_equal(o.calls, 1);
        assert_int_equal(o.status, 0);
    }
    int n = 0;
    assert_int_equal(store_fills_for_execution(h.db, t->row.id, count_fill, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(h.fills_seen, 2); /* the trade heard of it once, as of any fill */
    assert_int_equal(t->led.qty, 0);
    store_position pos;
    assert_int_equal(store_position_get_by_execution(h.db, t->row.id, &pos), 0);
    assert_false(pos.open);
    assert_int_equal(pos.qty, 0);
    store_execution row;
    assert_int_equal(store_execution_get(h.db, t->row.id, &row), 0);
    assert_int_equal(row.realized_pnl, MONEY(1000)); /* 100 x (110 - 100) */
    store_order leg;
    assert_int_equal(store_order_get(h.db, tp, &leg), 0);
    assert_int_equal(leg.o.status, ORDER_STATUS_FILLED);
    assert_int_equal(leg.o.filled_qty, MONEY(100));
    assert_int_equal(store_order_get(h.db, sl, &leg), 0);
    assert_int_equal(leg.o.status, ORDER_STATUS_CANCELLED);
    assert_true(h.orders_seen > orders_before);
    int events = 0;
    store_events_recent(h.db, NULL, 100, count_reconcile_event, &events);
    assert_int_equal(events, 1);

    /* The stream comes back and delivers the fill late: a duplicate, nothing changes. */
    fake_broker_set_events(h.brk, FAKE_EVENTS_QUEUED);
    fake_broker_replay_fill(h.brk, 1);
    run(&h);
    n = 0;
    assert_int_equal(store_fills_for_execution(h.db, t->row.id, count_fill, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(h.fills_seen, 2);
    assert_int_equal(store_ledger_check(h.db, NULL), 0);
    host_close(&h);
    clock_free(clock);
}

/* While running, an order the broker has not seen yet may be a submit still on its way:
 * periodic reconciliation never marks it unsent (only a restart may). */
static void test_periodic_reconcile_never_marks_a_pending_intent_unsent(void **state)
{
    (void)state;
    apex_clock *clock = clock_new_simulated(T0);
    host h;
    host_open(&h, "exec.db", clock);
    trade *t = new_trade(&h, "AAPL");
    order_request req = bracket("AAPL", MONEY(10));
    fake_broker_hold_next(h.brk, FAKE_SUBMIT, 1);
    /* The intent is committed; the submit's reply is held (it is "on its way"). */
    assert_int_equal(
        exec_send(h.env, BROKER_PRIORITY_ROUTINE, t, ORDER_ROLE_ENTRY, &req, NULL, NULL, NULL, 0),
        0);
    fake_broker_script(h.brk, FAKE_GET_ORDER, 3, (fake_script){.status = APEX_ENOTFOUND});
    outcome o = {0};
    assert_int_equal(exec_reconcile_periodic(h.env, t, done, &o), 0);
    run(&h);
    assert_int_equal(o.calls, 1);
    store_order row;
    assert_int_equal(store_order_get(h.db, req.client_order_id, &row), 0);
    assert_int_not_equal(row.o.status, ORDER_STATUS_UNSENT);
    assert_int_equal(exec_restart_stats_get(h.env).unsent_intents, 0);
    fake_broker_release(h.brk);
    run(&h);
    host_close(&h);
    clock_free(clock);
}

/* ---- a position closed by hand at the broker ---- */

typedef struct {
    int calls, status;
    char error[256];
    broker_fill fills[8];
    int nfills;
    money_t held, found;
} external_seen;

static void on_external(void *ud, trade *t, const exec_external_close *c)
{
    external_seen *e = ud;
    (void)t;
    e->calls++;
    e->status = c->status;
    snprintf(e->error, sizeof e->error, "%s", c->error);
    e->nfills = c->nfills < 8 ? c->nfills : 8;
    if (e->nfills > 0)
        memcpy(e->fills, c->fill, (size_t)e->nfills * sizeof *c->fill);
    e->held = c->held;
    e->found = c->found;
}

static void ignore_reply(void *ud, const broker_reply *r)
{
    (void)ud;
    (void)r;
}

/* As pipeline_flat_at_broker does: the closing fills in one unit (with the completion). */
static int record_external(host *h, trade *t, const external_seen *e)
{
    int recorded = 0;
    assert_int_equal(store_unit_begin(h->db, NULL), 0);
    for (int i = 0; i < e->nfills; i++) {
        int rc = exec_record_external_fill(h->env, t, &e->fills[i]);
        assert_true(rc >= 0);
        recorded += rc;
    }
    assert_int_equal(store_unit_commit(h->db, NULL), 0);
    return recorded;
}

/* A long of 10 AAPL bought at 180 by apex-host, then (a minute later) closed by hand at the
 * broker. Returns the trade, still holding 10 by its own fills. */
/* t sends a market order of qty AAPL (role, side) and the broker fills it at price. */
static void traded(host *h, trade *t, order_role role, order_side side, money_t qty, money_t price)
{
    order_request req = {.side = side, .type = ORDER_MARKET, .qty = qty};
    snprintf(req.symbol, sizeof req.symbol, "AAPL");
    assert_int_equal(exec_send(h->env, BROKER_PRIORITY_ROUTINE, t, role, &req, NULL, NULL, NULL, 0),
                     0);
    run(h);
    fake_broker_fill(h->brk, req.client_order_id, 0, price);
    run(h);
}

static trade *closed_by_hand(host *h, money_t hand_price)
{
    trade *t = new_trade(h, "AAPL");
    traded(h, t, ORDER_ROLE_ENTRY, SIDE_BUY, MONEY(10), MONEY(180));
    assert_int_equal(t->led.qty, MONEY(10));
    clock_advance_to(h->clock, clock_now(h->clock) + 60 * APEX_SECOND);
    /* Alpaca's web UI: a market order apex-host never placed; the listener ignores it. */
    assert_int_equal(broker_close_position(fake_broker_base(h->brk), BROKER_PRIORITY_ROUTINE,
                                           "AAPL", "by-hand", ignore_reply, NULL),
                     0);
    run(h);
    fake_broker_fill(h->brk, "by-hand", 0, hand_price);
    run(h);
    assert_int_equal(fake_broker_position(h->brk, "AAPL"), 0);
    assert_int_equal(t->led.qty, MONEY(10));
    return t;
}

static void test_closed_by_hand_records_the_brokers_closing_fill_once(void **state)
{
    (void)state;
    apex_clock *clock = clock_new_simulated(T0);
    host h;
    host_open(&h, "exec.db", clock);
    trade *t = closed_by_hand(&h, MONEY(185));
    external_seen e = {0};
    assert_int_equal(exec_find_external_close(h.env, t, on_external, &e), 0);
    const fake_call *call = fake_broker_last_call(h.brk, FAKE_LIST_SYMBOL_FILLS);
    assert_non_null(call);
    assert_string_equal(call->symbol, "AAPL");
    assert_int_equal(call->since, t->pos.opened_at);
    run(&h);
    assert_int_equal(e.calls, 1);
    assert_int_equal(e.status, 0);
    /* The entry's own fill is in the answer too: it is apex-host's, so not taken. */
    assert_int_equal(e.nfills, 1);
    assert_int_equal(e.held, MONEY(10));
    assert_int_equal(e.found, MONEY(10));
    assert_int_equal(e.fills[0].side, SIDE_SELL);
    assert_int_equal(e.fills[0].price, MONEY(185));
    assert_int_equal(trade_holds(t), 0);

    assert_int_equal(record_external(&h, t, &e), 1);
    /* (185 - 180) x 10, to the smallest unit. */
    assert_int_equal(t->led.qty, 0);
    assert_int_equal(t->led.realized, MONEY(50));
    store_execution row;
    assert_int_equal(store_execution_get(h.db, t->row.id, &row), 0);
    assert_int_equal(row.realized_pnl, MONEY(50));
    store_position pos;
    assert_int_equal(store_position_get_by_execution(h.db, t->row.id, &pos), 0);
    assert_false(pos.open);
    assert_int_equal(pos.qty, 0);
    assert_int_equal(pos.realized_pnl, MONEY(50));
    assert_int_equal(store_ledger_check(h.db, NULL), 0);
    char oid[BROKER_ID_MAX];
    snprintf(oid, sizeof oid, "%s", fake_broker_order(h.brk, "by-hand")->broker_order_id);
    long long n = committed_int("exec.db", "SELECT count(*) FROM fills WHERE order_client_id "
                                           "LIKE 'fake-%' AND qty > 0");
    assert_int_equal(n, 1);
    char got[BROKER_ID_MAX];
    committed_text("exec.db", "SELECT order_client_id FROM fills WHERE fill_id = ?1",
                   e.fills[0].fill_id, got, sizeof got);
    assert_string_equal(got, oid);

    /* Learned again (a second reconciliation, a restart): a duplicate, nothing changes. */
    ledger before = t->led;
    assert_int_equal(record_external(&h, t, &e), 0);
    assert_memory_equal(&t->led, &before, sizeof before);
    assert_int_equal(committed_int("exec.db", "SELECT count(*) FROM fills"), 2);
    assert_int_equal(store_ledger_check(h.db, NULL), 0);
    /* And nothing is left to ask for: the trade's fills are flat. */
    assert_int_equal(exec_find_external_close(h.env, t, on_external, &e), APEX_EINVAL);
    host_close(&h);
    clock_free(clock);
}

/* apex-host's own exit sold 4 at 183 before the trader sold the other 6 by hand at 185:
 * only the hand fill is external, and the ledger counts both exactly. A hand fill larger
 * than what the execution still holds (the trader had bought more by hand) is cut to it. */
static void test_closed_by_hand_takes_only_fills_of_no_order_of_ours(void **state)
{
    (void)state;
    apex_clock *clock = clock_new_simulated(T0);
    host h;
    host_open(&h, "exec.db", clock);
    trade *t = new_trade(&h, "AAPL");
    traded(&h, t, ORDER_ROLE_ENTRY, SIDE_BUY, MONEY(10), MONEY(180));
    traded(&h, t, ORDER_ROLE_EXIT, SIDE_SELL, MONEY(4), MONEY(183));
    assert_int_equal(t->led.qty, MONEY(6));
    /* By hand: 2 more bought, then all 8 sold at 185. */
    broker_order hand = {.side = SIDE_BUY, .type = ORDER_MARKET, .qty = MONEY(2)};
    snprintf(hand.client_order_id, sizeof hand.client_order_id, "hand-buy");
    snprintf(hand.broker_order_id, sizeof hand.broker_order_id, "web-1");
    snprintf(hand.symbol, sizeof hand.symbol, "AAPL");
    hand.status = ORDER_STATUS_ACCEPTED;
    fake_broker_add_order(h.brk, &hand);
    fake_broker_fill(h.brk, "hand-buy", 0, MONEY(181));
    hand.side = SIDE_SELL;
    hand.qty = MONEY(8);
    snprintf(hand.client_order_id, sizeof hand.client_order_id, "hand-sell");
    snprintf(hand.broker_order_id, sizeof hand.broker_order_id, "web-2");
    fake_broker_add_order(h.brk, &hand);
    fake_broker_fill(h.brk, "hand-sell", 0, MONEY(185));
    run(&h);
    assert_int_equal(fake_broker_position(h.brk, "AAPL"), 0);

    external_seen e = {0};
    assert_int_equal(exec_find_external_close(h.env, t, on_external, &e), 0);
    run(&h);
    assert_int_equal(e.status, 0);
    assert_int_equal(e.nfills, 1);
    assert_int_equal(e.held, MONEY(6));
    assert_int_equal(e.found, MONEY(6));
    assert_int_equal(e.fills[0].qty, MONEY(6));
    assert_string_equal(e.fills[0].order_id, "web-2");
    assert_int_equal(record_external(&h, t, &e), 1);
    /* 4 x (183 - 180) + 6 x (185 - 180) */
    assert_int_equal(t->led.realized, MONEY(42));
    assert_int_equal(t->led.qty, 0);
    assert_int_equal(store_ledger_check(h.db, NULL), 0);
    host_close(&h);
    clock_free(clock);
}

/* A broker that cannot list fills by symbol (the paper broker) refuses at once: no
 * callback, no hold left, nothing recorded, and the caller completes as before. A broker
 * that fails to answer says why in the callback. */
static void test_closed_by_hand_when_the_broker_cannot_list_fills(void **state)
{
    (void)state;
    apex_clock *clock = clock_new_simulated(T0);
    host h;
    host_open(&h, "exec.db", clock);
    trade *t = closed_by_hand(&h, MONEY(185));
    external_seen e = {0};
    fake_broker_refuse_next(h.brk, FAKE_LIST_SYMBOL_FILLS, 1, APEX_EINVAL);
    assert_int_equal(exec_find_external_close(h.env, t, on_external, &e), APEX_EINVAL);
    run(&h);
    assert_int_equal(e.calls, 0);
    assert_int_equal(trade_holds(t), 0);

    fake_broker_fail_next(h.brk, FAKE_LIST_SYMBOL_FILLS, 1, APEX_EIO, "connection reset");
    assert_int_equal(exec_find_external_close(h.env, t, on_external, &e), 0);
    run(&h);
    assert_int_equal(e.calls, 1);
    assert_int_equal(e.status, APEX_EIO);
    assert_string_equal(e.error, "connection reset");
    assert_int_equal(e.nfills, 0);
    assert_int_equal(t->led.qty, MONEY(10));
    assert_int_equal(committed_int("exec.db", "SELECT count(*) FROM fills"), 1);
    assert_int_equal(store_ledger_check(h.db, NULL), 0);
    host_close(&h);

    /* The paper broker has no such op: refused before the limiter, nothing counted. */
    char err[256];
    paper_config pc = {.starting_cash = MONEY(100000), .fill = PAPER_FILL_CLOSE};
    broker *paper = paper_broker_new(&pc, ":memory:", clock, err, sizeof err);
    assert_non_null(paper);
    assert_int_equal(
        broker_list_symbol_fills(paper, BROKER_PRIORITY_ROUTINE, "AAPL", T0, ignore_reply, NULL),
        APEX_EINVAL);
    assert_int_equal(broker_api_calls(paper), 0);
    broker_free(paper);
    clock_free(clock);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_intent_is_committed_before_the_broker_sees_it, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_refused_locally_is_unsent_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_an_intent_that_cannot_be_committed_is_never_sent,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_order_ids_are_derived_and_persisted, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_id_is_refused_by_the_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_id_at_the_broker_is_never_resent, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_reconcile_marks_never_sent_intents_unsent_and_never_resends, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reconcile_recovers_an_order_sent_before_the_crash,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_fills_are_recorded_once_and_reconcile_with_the_ledger,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_periodic_reconcile_records_a_missed_fill_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_closed_by_hand_records_the_brokers_closing_fill_once,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_closed_by_hand_takes_only_fills_of_no_order_of_ours,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_closed_by_hand_when_the_broker_cannot_list_fills,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_periodic_reconcile_never_marks_a_pending_intent_unsent,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
