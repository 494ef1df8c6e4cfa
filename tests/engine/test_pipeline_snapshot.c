/* pipeline_snapshot: what a reader off the trading path (status server, dashboard) sees
 * of a running pipeline, driven bar by bar on a simulated clock: the open position with
 * its live P&L, the trading state, and the counts so far, all agreeing with the store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "engine_fixture.h"
#include "market/price_table.h"
#include "market/symtab.h"
#include "pipeline/pipeline.h"
#include "pipeline/snapshot.h"
#include "store/store.h"
#include "util/diag.h"
#include "util/log.h"

typedef struct {
    apex_clock *clock;
    store *db;
    symtab *symbols;
    price_table prices;
    host_services hs;
    pipeline *p;
} rig;

static void rig_open(rig *r)
{
    memset(r, 0, sizeof *r);
    char err[256];
    r->clock = clock_new_simulated(0);
    r->db = store_open(":memory:", STORE_FAST, err, sizeof err);
    r->symbols = symtab_new();
    assert_non_null(r->clock);
    assert_non_null(r->db);
    price_table_init(&r->prices);
    r->hs = (host_services){.clock = r->clock,
                            .db = r->db,
                            .symbols = r->symbols,
                            .prices = &r->prices,
                            .backtest = true,
                            .db_path = ":memory:"};
    diag_list diags;
    diag_init(&diags);
    r->p = pipeline_open(&r->hs, fx_path("snap.lua"), &diags);
    for (int i = 0; i < diags.count; i++)
        fprintf(stderr, "%s\n", diags.items[i]);
    diag_free(&diags);
    assert_non_null(r->p);
}

static void rig_close(rig *r)
{
    pipeline_free(r->p);
    store_close(r->db);
    symtab_free(r->symbols);
    price_table_free(&r->prices);
    clock_free(r->clock);
}

/* Processes bars up to and including the n-th bar time. */
static void rig_step_bars(rig *r, int n)
{
    for (int i = 0; i < n; i++) {
        apex_time ts;
        assert_int_equal(pipeline_peek(r->p, &ts), 1);
        clock_advance_to(r->clock, ts);
        char err[256];
        assert_int_equal(pipeline_step(r->p, err, sizeof err), 1);
    }
    clock_run_due(r->clock);
}

static int setup(void **state)
{
    (void)state;
    log_set_level(LOG_WARN);
    fx_make_dir("test-snapshot");
    fx_csv c;
    fx_csv_open(&c, "bars.csv");
    long t0 = 1709562600; /* 2024-03-04 14:30 UTC */
    for (int i = 0; i < 40; i++) {
        double px = 100.0 + 0.10 * i;
        fx_csv_bar(&c, t0 + 60L * i, "AAPL", px, px + 0.15, px - 0.05, px + 0.10, 1000);
    }
    fx_csv_close(&c);
    fx_write("buy5.lua", "local M = {}\n"
                         "function M.on_bar(ctx, bar)\n"
                         "  ctx.state.n = (ctx.state.n or 0) + 1\n"
                         "  if ctx.state.n == 5 then\n"
                         "    return { side = 'buy', stop_loss = bar.close - 2,\n"
                         "             take_profit = bar.close + 30 }\n"
                         "  end\n"
                         "end\n"
                         "return M\n");
    fx_write("snap.lua",
             "return apex.pipeline {\n"
             "  name = 'snap', symbols = { 'AAPL' },\n"
             "  data = { files = { 'bars.csv' } },\n"
             "  strategy = 'buy5.lua',\n"
             "  broker = { starting_cash = 100000, spread_bps = 0, slippage_bps = 0 },\n"
             "  exits = { trailing_stop = { enabled = false },\n"
             "            partial_exits = { enabled = false } },\n"
             "}\n");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fx_remove_dir();
    return 0;
}

static void test_snapshot_before_any_signal_is_empty_and_active(void **state)
{
    (void)state;
    rig r;
    rig_open(&r);
    rig_step_bars(&r, 3);
    pipeline_snapshot s;
    assert_int_equal(pipeline_snapshot_take(r.p, &s), 0);
    assert_string_equal(s.name, "snap");
    assert_string_equal(s.trading_state, "ACTIVE");
    assert_false(s.entries_halted);
    assert_int_equal(s.ntrades, 0);
    assert_int_equal(s.sum.bars, 3);
    assert_int_equal(s.sum.signals, 0);
    pipeline_snapshot_free(&s);
    rig_close(&r);
}

static void test_snapshot_shows_the_open_position_as_the_monitor_sees_it(void **state)
{
    (void)state;
    rig r;
    rig_open(&r);
    rig_step_bars(&r, 12); /* the signal on bar 5, the fill on a later bar */
    pipeline_snapshot s;
    assert_int_equal(pipeline_snapshot_take(r.p, &s), 0);
    assert_int_equal(s.sum.signals, 1);
    assert_int_equal(s.ntrades, 1);
    const trade_snapshot *t = &s.trades[0];
    assert_string_equal(t->symbol, "AAPL");
    assert_int_equal(t->status, EXEC_MONITORING);
    assert_int_equal(t->side, SIDE_BUY);
    assert_true(t->qty > 0);
    assert_true(t->next_check_at > 0);
    assert_false(t->exiting);

    /* The snapshot agrees with the store's rows for the same execution. */
    store_execution e;
    store_position pos;
    assert_int_equal(store_execution_get(r.db, t->execution_id, &e), 0);
    assert_int_equal(store_position_get_by_execution(r.db, t->execution_id, &pos), 0);
    assert_int_equal(t->qty, pos.qty);
    assert_int_equal(t->entry_price, pos.entry_price);
    assert_int_equal(t->stop_loss, e.stop_loss);
    assert_int_equal(t->take_profit, e.take_profit);
    /* Live P&L is the last close against the entry, to the smallest unit. */
    money_t move = t->current_price - t->entry_price, expect = 0;
    assert_int_equal(money_mul(move, t->qty, MONEY_ROUND_NEAREST, &expect), 0);
    assert_int_equal(t->unrealized_pnl, expect);
    assert_true(t->unrealized_pnl > 0); /* the price has risen since the entry */
    assert_int_equal(s.mark, t->unrealized_pnl);
    pipeline_snapshot_free(&s);
    assert_null(s.trades);
    rig_close(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_snapshot_before_any_signal_is_empty_and_active),
        cmocka_unit_test(test_snapshot_shows_the_open_position_as_the_monitor_sees_it),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
