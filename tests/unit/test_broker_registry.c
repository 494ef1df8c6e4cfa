/* broker registry: broker.kind picks the adapter; a kind without an adapter is refused
 * with the pipeline file, the field and the kinds available; the paper broker gets its
 * account file and its instruments; only a simulating broker comes with a bar feed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <uv.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/registry.h"
#include "util/err.h"

#define T0 ((apex_time)1709303400 * APEX_SECOND)

typedef struct {
    apex_clock *clock;
    pipeline_config cfg;
    broker_open_args args;
} fixture;

static void fixture_open(fixture *f)
{
    f->clock = clock_new_simulated(T0);
    assert_non_null(f->clock);
    config_defaults(&f->cfg);
    snprintf(f->cfg.name, sizeof f->cfg.name, "reg-test");
    snprintf(f->cfg.path, sizeof f->cfg.path, "/pipes/reg.lua");
    f->args = (broker_open_args){.clock = f->clock, .store_path = ":memory:", .backtest = true};
}

static void fixture_close(fixture *f)
{
    config_free(&f->cfg);
    clock_free(f->clock);
}

typedef struct {
    int replies;
    int status;
    char error[256];
    money_t last;
} reply_box;

static void collect(void *ud, const broker_reply *r)
{
    reply_box *box = ud;
    box->replies++;
    box->status = r->status;
    snprintf(box->error, sizeof box->error, "%s", r->error);
    if (r->nquotes > 0)
        box->last = r->quotes[0].last;
}

static void test_paper_opens_with_a_feed(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f);
    char err[1024] = "";
    broker_sim_feed sim = NULL;
    broker *b = broker_open(&f.cfg, &f.args, &sim, err, sizeof err);
    assert_non_null(b);
    assert_string_equal(broker_name(b), "paper");
    assert_non_null(sim);

    /* The feed is how the market reaches a simulating broker. */
    bar data = {.ts = T0,
                .open = MONEY(50),
                .high = MONEY(51),
                .low = MONEY(49),
                .close = MONEY(50),
                .volume = MONEY(1000)};
    sim(b, &data, "AAPL");
    const char *syms[] = {"AAPL"};
    reply_box quote = {0};
    assert_int_equal(broker_get_quotes(b, BROKER_PRIORITY_ROUTINE, syms, 1, collect, &quote), 0);
    clock_run_due(f.clock);
    assert_int_equal(quote.replies, 1);
    assert_int_equal(quote.status, 0);
    assert_true(quote.last == MONEY(50));
    broker_free(b);
    fixture_close(&f);
}

/* The pipeline's instruments reach the account: a lot of 10 refuses 15 shares. */
static void test_paper_gets_the_pipeline_instruments(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f);
    f.cfg.symbols = calloc(1, sizeof *f.cfg.symbols);
    f.cfg.instruments = calloc(2, sizeof *f.cfg.instruments);
    assert_non_null(f.cfg.symbols);
    assert_non_null(f.cfg.instruments);
    snprintf(f.cfg.symbols[0], SYMBOL_MAX, "LOTS");
    f.cfg.nsymbols = 1;
    /* [0] is the default, as the loader leaves it */
    f.cfg.instruments[0] = (instrument_config){.rules = MONEY_INSTRUMENT_DEFAULT};
    f.cfg.instruments[1] =
        (instrument_config){.rules = {.tick = MONEY(1) / 100, .lot = MONEY(10)}, .symbol = "LOTS"};
    f.cfg.ninstruments = 2;
    char err[1024] = "";
    broker_sim_feed sim = NULL;
    broker *b = broker_open(&f.cfg, &f.args, &sim, err, sizeof err);
    assert_non_null(b);
    bar data = {
        .ts = T0, .open = MONEY(20), .high = MONEY(20), .low = MONEY(20), .close = MONEY(20)};
    sim(b, &data, "LOTS");
    order_request req = {.side = SIDE_BUY, .type = ORDER_MARKET, .qty = MONEY(15)};
    snprintf(req.symbol, sizeof req.symbol, "LOTS");
    snprintf(req.client_order_id, sizeof req.client_order_id, "lot-1");
    reply_box box = {0};
    assert_int_equal(broker_submit_order(b, BROKER_PRIORITY_ROUTINE, &req, collect, &box), 0);
    clock_run_due(f.clock);
    assert_int_equal(box.replies, 1);
    assert_int_not_equal(box.status, 0);
    assert_non_null(strstr(box.error, "lot size 10"));
    broker_free(b);
    fixture_close(&f);
}

static void not_a_feed(broker *b, const bar *data, const char *symbol)
{
    (void)b;
    (void)data;
    (void)symbol;
}

static void test_real_venue_kinds(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f);
    f.cfg.broker.kind = BROKER_KIND_ALPACA;
    char err[1024] = "";
    /* A backtest of an Alpaca pipeline simulates on the paper broker. */
    broker_sim_feed sim = NULL;
    broker *b = broker_open(&f.cfg, &f.args, &sim, err, sizeof err);
    assert_non_null(b);
    assert_string_equal(broker_name(b), "paper");
    assert_non_null(sim);
    broker_free(b);

    /* Live, without its keys: refused, naming the variable, never a value. */
    unsetenv("APCA_API_KEY_ID");
    f.args.backtest = false;
    uv_loop_t loop;
    uv_loop_init(&loop);
    f.args.loop = &loop;
    sim = not_a_feed; /* cleared on failure too */
    assert_null(broker_open(&f.cfg, &f.args, &sim, err, sizeof err));
    assert_null(sim);
    assert_non_null(strstr(err, "/pipes/reg.lua: broker: environment variable APCA_API_KEY_ID "
                                "is not set"));
    /* A plain-http URL to a remote host would send the keys in clear: refused. */
    snprintf(f.cfg.broker.base_url, sizeof f.cfg.broker.base_url, "http://api.alpaca.markets");
    assert_null(broker_open(&f.cfg, &f.args, &sim, err, sizeof err));
    assert_non_null(strstr(err, "broker.base_url: \"http://api.alpaca.markets\" is plain http"));
    f.cfg.broker.base_url[0] = '\0';
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    f.args.backtest = true;
    f.args.loop = NULL;

    f.cfg.broker.kind = (broker_kind)42;
    err[0] = '\0';
    assert_null(broker_open(&f.cfg, &f.args, NULL, err, sizeof err));
    assert_non_null(strstr(err, "/pipes/reg.lua: broker.kind: unknown kind"));
    assert_non_null(strstr(err, "\"paper\""));
    fixture_close(&f);
}

static void test_adapter_failure_names_the_file(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f);
    f.cfg.broker.paper.starting_cash = -1;
    char err[1024] = "";
    assert_null(broker_open(&f.cfg, &f.args, NULL, err, sizeof err));
    assert_non_null(strstr(err, "/pipes/reg.lua: broker: "));
    assert_non_null(strstr(err, "starting_cash must not be negative"));
    fixture_close(&f);
}

/* A live run keeps the account beside the store, one file per pipeline; a backtest keeps
 * nothing; broker.state wins over both. */
static void test_paper_account_location(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f);
    char dir[] = "/tmp/apex-registry-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char db[256], expected[512], configured[512];
    snprintf(db, sizeof db, "%s/host.db", dir);
    snprintf(expected, sizeof expected, "%s.reg-test.paper", db);
    snprintf(configured, sizeof configured, "%s/shared.paper", dir);
    char err[1024] = "";

    f.args.store_path = db;
    f.args.backtest = true;
    broker *b = broker_open(&f.cfg, &f.args, NULL, err, sizeof err);
    assert_non_null(b);
    broker_free(b);
    assert_int_not_equal(access(expected, F_OK), 0);

    f.args.backtest = false;
    b = broker_open(&f.cfg, &f.args, NULL, err, sizeof err);
    assert_non_null(b);
    broker_free(b);
    assert_int_equal(access(expected, F_OK), 0);

    snprintf(f.cfg.broker.paper.state_path, sizeof f.cfg.broker.paper.state_path, "%s", configured);
    b = broker_open(&f.cfg, &f.args, NULL, err, sizeof err);
    assert_non_null(b);
    broker_free(b);
    assert_int_equal(access(configured, F_OK), 0);

    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    fixture_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paper_opens_with_a_feed),
        cmocka_unit_test(test_paper_gets_the_pipeline_instruments),
        cmocka_unit_test(test_real_venue_kinds),
        cmocka_unit_test(test_adapter_failure_names_the_file),
        cmocka_unit_test(test_paper_account_location),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
