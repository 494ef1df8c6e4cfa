/* test_script_host: strategy and bias callbacks as the pipeline sees them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>

#include "lua_fixture.h"
#include "script/embedded.h"
#include "script/script.h"
#include "util/err.h"

#define FIX APEX_SOURCE_DIR "/tests/fixtures/script/"

/* A fake market: a few prices, one news item, a fixed clock. */
typedef struct {
    apex_time now;
    money_t vix, spy;
    int aapl_news;
} fake_market;

static apex_time fm_now(void *ud)
{
    return ((fake_market *)ud)->now;
}

static int fm_price(void *ud, const char *sym, money_t *out)
{
    fake_market *m = ud;
    if (strcmp(sym, "VIX") == 0 && m->vix) {
        *out = m->vix;
        return 0;
    }
    if (strcmp(sym, "SPY") == 0 && m->spy) {
        *out = m->spy;
        return 0;
    }
    return APEX_ENOTFOUND;
}

static int fm_change(void *ud, const char *sym, money_t *out)
{
    (void)ud;
    if (strcmp(sym, "SPY") != 0)
        return APEX_ENOTFOUND;
    *out = -MONEY_SCALE * 4 / 100;
    return 0;
}

static int fm_news(void *ud, const char *sym, apex_time since, int *out)
{
    fake_market *m = ud;
    *out = sym && strcmp(sym, "AAPL") == 0 ? m->aapl_news : 0;
    return 0;
}

static fake_market market_state;
static script_market market = {&market_state, fm_now, fm_price, fm_change, fm_news, NULL, 0};

static script_host *new_host(void)
{
    char err[512];
    memset(&market_state, 0, sizeof market_state);
    market_state.now = (apex_time)1700000000 * APEX_SECOND;
    script_limits lim = {.memory_limit = 16u << 20, .deadline_ms = 1000};
    script_host *h = script_host_new("test", lim, &market, err, sizeof err);
    assert_non_null(h);
    return h;
}

static bar make_bar(apex_time ts, double close)
{
    bar b;
    memset(&b, 0, sizeof b);
    b.ts = ts;
    b.open = b.high = b.low = b.close = (money_t)(close * MONEY_SCALE);
    b.high += MONEY_SCALE;
    b.volume = MONEY(1000);
    return b;
}

static script_position make_position(const char *sym)
{
    script_position p;
    memset(&p, 0, sizeof p);
    p.execution_id = 42;
    snprintf(p.symbol, sizeof p.symbol, "%s", sym);
    p.side = SIDE_BUY;
    p.qty = MONEY(10);
    p.entry_price = MONEY(100);
    p.current_price = MONEY(90);
    p.unrealized_pnl = -MONEY(100);
    p.unrealized_pnl_pct = -MONEY_SCALE / 10;
    p.opened_at = (apex_time)1700000000 * APEX_SECOND;
    return p;
}

static void test_signal_conversion(void **state)
{
    script_host *h = new_host();
    char err[512] = "";
    assert_int_equal(script_load(h, SCRIPT_STRATEGY, FIX "strategy_basic.lua", "{\"level\": 100}",
                                 err, sizeof err),
                     0);
    assert_true(script_loaded(h, SCRIPT_STRATEGY));
    assert_true(script_has_callback(h, SCRIPT_STRATEGY, "on_bar"));
    assert_true(script_has_callback(h, SCRIPT_STRATEGY, "edge"));
    assert_false(script_has_callback(h, SCRIPT_STRATEGY, "on_reload"));

    script_signal sig;
    bar b = make_bar(1700000000 * APEX_SECOND, 99.5);
    assert_int_equal(script_on_bar(h, SCRIPT_STRATEGY, &b, "AAPL", NULL, &sig, err, sizeof err), 0);

    b = make_bar(1700000060 * APEX_SECOND, 120);
    assert_int_equal(script_on_bar(h, SCRIPT_STRATEGY, &b, "AAPL", NULL, &sig, err, sizeof err), 1);
    assert_int_equal(sig.side, SIDE_BUY);
    assert_int_equal(sig.stop_loss, MONEY(114));   /* 120 * 0.95 */
    assert_int_equal(sig.take_profit, MONEY(132)); /* 120 * 1.10 */
    assert_int_equal(sig.entry, 0);                /* market entry */
    assert_int_equal(sig.qty, 0);                  /* risk sizes it */
    assert_int_equal(sig.confidence, MONEY_SCALE * 8 / 10);
    assert_string_equal(sig.reason, "breakout above 100");
    script_host_free(h);
}

static void test_callbacks_edge_opportunity_fill_exit(void **state)
{
    script_host *h = new_host();
    char err[512] = "";
    assert_int_equal(script_load(h, SCRIPT_STRATEGY, FIX "strategy_basic.lua", "{\"level\": 1000}",
                                 err, sizeof err),
                     0);
    script_signal sig;
    for (int i = 0; i < 5; i++) {
        bar b = make_bar((1700000000 + 60 * i) * APEX_SECOND, 50);
        assert_int_equal(script_on_bar(h, SCRIPT_STRATEGY, &b, "MSFT", NULL, &sig, err, sizeof err),
                         0);
    }
    script_position pos = make_position("MSFT");
    money_t edge;
    bool has;
    assert_int_equal(script_edge(h, &pos, &edge, &has, err, sizeof err), 0);
    assert_true(has);
    assert_int_equal(edge, -MONEY_SCALE / 20); /* -0.10 * 0.5 */
    money_t score;
    assert_int_equal(script_opportunity(h, "MSFT", &score, &has, err, sizeof err), 0);
    assert_true(has);
    assert_int_equal(score, MONEY_SCALE / 2); /* 5 bars / 10 */
    assert_int_equal(script_on_fill(h, &pos, SIDE_BUY, MONEY(10), MONEY(50), err, sizeof err), 0);
    assert_int_equal(script_on_exit(h, &pos, "stop_loss", err, sizeof err), 0);
    script_host_free(h);
}

/* Loads fixture with params {"mode": mode} in a fresh host and runs on_bar once for AAPL
 * (with pos as ctx.position, may be NULL): script_on_bar's result, *sig and err. */
static int on_bar_mode(const char *fixture, const char *mode, const script_position *pos,
                       script_signal *sig, char *err, size_t errlen)
{
    script_host *h = new_host();
    char params[64];
    snprintf(params, sizeof params, "{\"mode\": \"%s\"}", mode);
    assert_int_equal(script_load(h, SCRIPT_STRATEGY, fixture, params, err, errlen), 0);
    bar b = make_bar(1700000000 * APEX_SECOND, 10);
    int rc = script_on_bar(h, SCRIPT_STRATEGY, &b, "AAPL", pos, sig, err, errlen);
    script_host_free(h);
    return rc;
}

static void test_bad_signals_rejected_with_file_line(void **state)
{
    static const struct {
        const char *mode;
        const char *expect;
    } cases[] = {
        {"nan", "strategy_bad.lua:6: on_bar returned stop_loss = nan; return a positive number"},
        {"hold", "side = \"hold\" (a string); use \"buy\" or \"sell\""},
        {"negative", "entry = -5; return a positive number"},
        {"typo", "unknown field \"stoploss\""},
        {"string", "on_bar returned a string; return nil or a signal table"},
        {"confidence", "confidence = 2 is out of range; return a number from 0 to 1"},
        /* Tiny values are refused, never read as "not given" (which would size a full
         * position, or put the default stop in place). */
        {"tiny_qty", "qty = 4e-09 is too small: it rounds to 0 at the host's precision of "
                     "0.00000001; return a larger value, or leave qty out"},
        {"tiny_stop", "stop_loss = 1e-09 is too small: it rounds to 0"},
        /* Too large is out of range, not "not a number". */
        {"huge_stop", "stop_loss = 1e+30 is out of range; return a positive number below "
                      "92233720368"},
        {"inf_entry", "entry = inf is out of range"},
        {"huge_confidence", "confidence = 1e+30 is out of range; return a number from 0 to 1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[512] = "";
        script_signal sig;
        assert_int_equal(
            on_bar_mode(FIX "strategy_bad.lua", cases[i].mode, NULL, &sig, err, sizeof err),
            APEX_ESCRIPT);
        if (!strstr(err, cases[i].expect))
            fail_msg("mode %s: got \"%s\", want \"%s\"", cases[i].mode, err, cases[i].expect);
        assert_non_null(strstr(err, "strategy_bad.lua:6:"));
    }
}

/* A close: { side = "close" } with qty, fraction or neither, read into the signal. */
static void test_close_signals(void **state)
{
    static const struct {
        const char *mode;
        money_t qty, fraction;
        const char *reason;
    } cases[] = {
        {"all", 0, 0, ""},
        {"all_reason", 0, 0, "averages crossed back"},
        {"qty", MONEY(4), 0, "trim"},
        {"fraction", 0, MONEY_SCALE / 4, ""},
    };
    script_position pos = make_position("AAPL"); /* 10 open */
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[512] = "";
        script_signal sig;
        assert_int_equal(
            on_bar_mode(FIX "strategy_close.lua", cases[i].mode, &pos, &sig, err, sizeof err), 1);
        assert_int_equal(sig.kind, SIGNAL_CLOSE);
        assert_int_equal(sig.qty, cases[i].qty);
        assert_int_equal(sig.fraction, cases[i].fraction);
        assert_string_equal(sig.reason, cases[i].reason);
    }
}

/* A malformed close fails on_bar with the file, the line and the field. */
static void test_bad_closes_rejected_with_file_line(void **state)
{
    static const struct {
        const char *mode;
        const char *expect;
    } cases[] = {
        {"unknown", "on_bar returned a close with an unknown field \"stop_loss\" (a string); a "
                    "close takes side = \"close\", qty or fraction, and reason"},
        {"both", "a close with both qty = 4 and fraction; give one of them"},
        {"too_many", "a close with qty = 11, more than the open position's 10; return at most "
                     "ctx.position.qty"},
        {"zero_qty", "qty = 0; return a positive number"},
        {"negative_qty", "qty = -2; return a positive number"},
        {"zero_fraction", "a close with fraction = 0"},
        {"big_fraction", "fraction = 1.5 is out of range; return a number from 0 to 1"},
        {"string_qty", "qty = \"all\" (a string); return a positive number"},
        {"entry_fraction", "a signal with an unknown field \"fraction\" (a string); use side, "
                           "entry"},
    };
    script_position pos = make_position("AAPL");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[512] = "";
        script_signal sig;
        assert_int_equal(
            on_bar_mode(FIX "strategy_close.lua", cases[i].mode, &pos, &sig, err, sizeof err),
            APEX_ESCRIPT);
        if (!strstr(err, cases[i].expect))
            fail_msg("mode %s: got \"%s\", want \"%s\"", cases[i].mode, err, cases[i].expect);
        assert_non_null(strstr(err, "strategy_close.lua:19:"));
    }
}

static void test_error_in_on_bar_then_recovers(void **state)
{
    script_host *h = new_host();
    char err[512] = "";
    assert_int_equal(script_load(h, SCRIPT_STRATEGY, FIX "strategy_bad.lua", "{\"mode\":\"error\"}",
                                 err, sizeof err),
                     0);
    script_signal sig;
    bar b = make_bar(1700000000 * APEX_SECOND, 13);
    assert_int_equal(script_on_bar(h, SCRIPT_STRATEGY, &b, "AAPL", NULL, &sig, err, sizeof err),
                     APEX_ESCRIPT);
    /* The error names the line that raised and the caller. */
    assert_non_null(strstr(err, "strategy_bad.lua:4: boom at close 13"));
    assert_non_null(strstr(err, "called from"));
    assert_non_null(strstr(err, "strategy_bad.lua:15"));

    b = make_bar(1700000060 * APEX_SECOND, 14);
    assert_int_equal(script_on_bar(h, SCRIPT_STRATEGY, &b, "AAPL", NULL, &sig, err, sizeof err), 1);
    assert_int_equal(sig.side, SIDE_SELL);
    assert_int_equal(sig.qty, MONEY(3));
    script_host_free(h);
}

static void test_runaway_on_bar_stopped(void **state)
{
    script_host *h = new_host();
    char err[512] = "";
    assert_int_equal(script_load(h, SCRIPT_STRATEGY, FIX "strategy_bad.lua", "{\"mode\":\"loop\"}",
                                 err, sizeof err),
                     0);
    script_signal sig;
    bar b = make_bar(1700000000 * APEX_SECOND, 10);
    assert_int_equal(script_on_bar(h, SCRIPT_STRATEGY, &b, "AAPL", NULL, &sig, err, sizeof err),
                     APEX_ESCRIPT);
    assert_non_null(strstr(err, "strategy_bad.lua:16: script ran past its 1000 ms deadline"));
    script_host_free(h);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Three overruns in a row suspend the file: the fourth call fails at once without
 * entering Lua, and a reload of the fixed file resumes it. */
static void test_overruns_suspend_until_reload(void **state)
{
    char err[512] = "";
    script_limits lim = {.memory_limit = 16u << 20, .deadline_ms = 300};
    script_host *h = script_host_new("test", lim, &market, err, sizeof err);
    assert_non_null(h);
    char path[] = "/tmp/apex-overrun-XXXXXX.lua";
    int fd = mkstemps(path, 4);
    assert_true(fd >= 0);
    close(fd);
    write_text(path, "calls = 0\n"
                     "return { on_bar = function(ctx, bar)\n"
                     "  calls = calls + 1\n"
                     "  while true do end\n"
                     "end }\n");
    assert_int_equal(script_load(h, SCRIPT_STRATEGY, path, "{}", err, sizeof err), 0);
    script_signal sig;
    bar b = make_bar(1700000000 * APEX_SECOND, 10);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(script_on_bar(h, SCRIPT_STRATEGY, &b, "AAPL", NULL, &sig, err, sizeof err),
                         APEX_ESCRIPT);
        assert_non_null(strstr(err, ":4: script ran past its 300 ms deadline"));
    }
    assert_int_equal(script_on_bar(h, SCRIPT_STRATEGY, &b, "AAPL", NULL, &sig, err, sizeof err),
                     APEX_ESCRIPT);
    assert_non_null(strstr(err, " is suspended: 3 calls in a row ran past the 300 ms deadline"));
    assert_non_null(strstr(err, path));

    write_text(path, "return { on_bar = function(ctx, bar)\n"
                     "  return { side = 'buy', qty = 2 }\n"
                     "end }\n");
    assert_int_equal(script_reload(h, SCRIPT_STRATEGY, err, sizeof err), 0);
    assert_int_equal(script_on_bar(h, SCRIPT_STRATEGY, &b, "AAPL", NULL, &sig, err, sizeof err), 1);
    assert_int_equal(sig.qty, MONEY(2));
    unlink(path);
    script_host_free(h);
}

static script_host *load_text(const char *text, char *path, size_t pathlen)
{
    char err[512] = "";
    snprintf(path, pathlen, "/tmp/apex-bar-XXXXXX.lua");
    int fd = mkstemps(path, 4);
    assert_true(fd >= 0);
    close(fd);
    write_text(path, text);
    script_host *h = new_host();
    if (script_load(h, SCRIPT_STRATEGY, path, "{}", err, sizeof err) != 0)
        fail_msg("%s", err);
    return h;
}

/* An on_bar that only reads fields gets one table rewritten for every bar: each call
 * still sees exactly its own bar, bid/ask included (nil again after a quoted bar). */
static void test_bar_fields_on_shared_table(void **state)
{
    char path[64], err[512] = "";
    script_host *h = load_text("return { on_bar = function(ctx, bar)\n"
                               "  return { side = 'buy', qty = bar.close, entry = bar.bid or 1,\n"
                               "           stop_loss = bar.ask or 0.5,\n"
                               "           reason = bar.symbol .. ' ' .. bar.time .. ' ' ..\n"
                               "                    bar.open .. ' ' .. bar.high .. ' ' ..\n"
                               "                    bar.low .. ' ' .. bar.volume }\n"
                               "end }\n",
                               path, sizeof path);
    script_signal sig;
    bar b = make_bar(1700000000 * APEX_SECOND, 10);
    b.bid = MONEY(9);
    b.ask = MONEY(12);
    assert_int_equal(script_on_bar(h, SCRIPT_STRATEGY, &b, "AAPL", NULL, &sig, err, sizeof err), 1);
    assert_int_equal(sig.qty, MONEY(10));
    assert_int_equal(sig.entry, MONEY(9));
    assert_int_equal(sig.stop_loss, MONEY(12));
    assert_string_equal(sig.reason, "AAPL 1700000000 10.0 11.0 10.0 1000.0");
    b = make_bar(1700000060 * APEX_SECOND, 20); /* no quotes */
    assert_int_equal(script_on_bar(h, SCRIPT_STRATEGY, &b, "MSFT", NULL, &sig, err, sizeof err), 1);
    assert_int_equal(sig.qty, MONEY(20));
    assert_int_equal(sig.entry, MONEY(1));
    assert_int_equal(sig.stop_loss, MONEY_SCALE / 2);
    assert_string_equal(sig.reason, "MSFT 1700000060 20.0 21.0 20.0 1000.0");
    b = make_bar(1700000120 * APEX_SECOND, 30);
    b.ask = MONEY(31); /* a bid of 0 is no bid */
    assert_int_equal(script_on_bar(h, SCRIPT_STRATEGY, &b, "AAPL", NULL, &sig, err, sizeof err), 1);
    assert_int_equal(sig.entry, MONEY(1));
    assert_int_equal(sig.stop_loss, MONEY(31));
    unlink(path);
    script_host_free(h);
}

/* A strategy that keeps the bar table (the previous bar, a list of bars) keeps what it
 * was given: a table of its own that later bars do not change. */
static void test_bar_kept_across_calls(void **state)
{
    char path[64], err[512] = "";
    script_host *h =
        load_text("return { on_bar = function(ctx, bar)\n"
                  "  local prev = ctx.state.prev\n"
                  "  ctx.state.prev = bar\n"
                  "  if prev and prev ~= bar and prev.close == 10 and bar.close == 11\n"
                  "     and prev.symbol == 'AAPL' and bar.symbol == 'AAPL' then\n"
                  "    return { side = 'buy', qty = prev.close }\n"
                  "  end\n"
                  "end }\n",
                  path, sizeof path);
    script_signal sig;
    bar b = make_bar(1700000000 * APEX_SECOND, 10);
    assert_int_equal(script_on_bar(h, SCRIPT_STRATEGY, &b, "AAPL", NULL, &sig, err, sizeof err), 0);
    b = make_bar(1700000060 * APEX_SECOND, 11);
    assert_int_equal(script_on_bar(h, SCRIPT_STRATEGY, &b, "AAPL", NULL, &sig, err, sizeof err), 1);
    assert_int_equal(sig.qty, MONEY(10));
    unlink(path);
    script_host_free(h);
}

/* The deadline stops a runaway on_bar that gets the shared table, as any other. */
static void test_runaway_on_shared_bar_stopped(void **state)
{
    char path[64], err[512] = "";
    script_host *h = load_text("return { on_bar = function(ctx, bar)\n"
                               "  while bar.close > 0 do end\n"
                               "end }\n",
                               path, sizeof path);
    script_signal sig;
    bar b = make_bar(1700000000 * APEX_SECOND, 10);
    assert_int_equal(script_on_bar(h, SCRIPT_STRATEGY, &b, "AAPL", NULL, &sig, err, sizeof err),
                     APEX_ESCRIPT);
    assert_non_null(strstr(err, ":2: script ran past its 1000 ms deadline"));
    b = make_bar(1700000060 * APEX_SECOND, 0.5);
    b.close = 0; /* the loop's condition is false: the next call runs normally */
    assert_int_equal(script_on_bar(h, SCRIPT_STRATEGY, &b, "AAPL", NULL, &sig, err, sizeof err), 0);
    unlink(path);
    script_host_free(h);
}

/* ctx.state is per symbol and on_start runs once per symbol, before its first bar. */
static void test_ctx_state_per_symbol(void **state)
{
    script_host *h = new_host();
    market_state.spy = MONEY(450);
    char err[512] = "";
    assert_int_equal(script_load(h, SCRIPT_STRATEGY, FIX "strategy_basic.lua", "{\"level\": 1e9}",
                                 err, sizeof err),
                     0);
    script_signal sig;
    for (int i = 0; i < 3; i++) {
        bar a = make_bar((1700000000 + 60 * i) * APEX_SECOND, 10 + i);
        bar m = make_bar((1700000000 + 60 * i) * APEX_SECOND, 20 + i);
        assert_int_equal(script_on_bar(h, SCRIPT_STRATEGY, &a, "AAPL", NULL, &sig, err, sizeof err),
                         0);
        if (i < 2)
            assert_int_equal(
                script_on_bar(h, SCRIPT_STRATEGY, &m, "MSFT", NULL, &sig, err, sizeof err), 0);
    }
    /* opportunity = bars / 10 reads each symbol's own ctx.state */
    money_t score;
    bool has;
    assert_int_equal(script_opportunity(h, "AAPL", &score, &has, err, sizeof err), 0);
    assert_int_equal(score, 3 * MONEY_SCALE / 10);
    assert_int_equal(script_opportunity(h, "MSFT", &score, &has, err, sizeof err), 0);
    assert_int_equal(score, 2 * MONEY_SCALE / 10);
    /* A new symbol's first callback runs its on_start (bars = 0). */
    assert_int_equal(script_opportunity(h, "NVDA", &score, &has, err, sizeof err), 0);
    assert_true(has);
    assert_int_equal(score, 0);
    script_host_free(h);
}

static void test_load_errors_name_the_file(void **state)
{
    script_host *h = new_host();
    char err[512] = "";
    assert_int_equal(script_load(h, SCRIPT_STRATEGY, FIX "not_a_table.lua", NULL, err, sizeof err),
                     APEX_ESCRIPT);
    assert_non_null(strstr(err, "not_a_table.lua: the file must return a table of callbacks"));
    assert_int_equal(script_load(h, SCRIPT_STRATEGY, FIX "syntax_error.lua", NULL, err, sizeof err),
                     APEX_ESCRIPT);
    assert_non_null(strstr(err, "syntax_error.lua:3:"));
    assert_int_equal(script_load(h, SCRIPT_STRATEGY, FIX "missing.lua", NULL, err, sizeof err),
                     APEX_ESCRIPT);
    assert_non_null(strstr(err, "missing.lua: cannot open"));
    assert_int_equal(script_load(h, SCRIPT_STRATEGY, FIX "bias_basic.lua", NULL, err, sizeof err),
                     APEX_ESCRIPT);
    assert_non_null(strstr(err, "a strategy must define on_bar"));
    assert_false(script_loaded(h, SCRIPT_STRATEGY));
    script_host_free(h);
}

static void test_bias_results(void **state)
{
    script_host *h = new_host();
    char err[512] = "";
    script_bias_result b;
    /* No bias module: neutral. */
    assert_int_equal(script_bias(h, "AAPL", &b, err, sizeof err), 0);
    assert_string_equal(b.direction, "neutral");

    assert_int_equal(script_load(h, SCRIPT_BIAS, FIX "bias_basic.lua", NULL, err, sizeof err), 0);
    assert_int_equal(script_bias(h, "AAPL", &b, err, sizeof err), 0);
    assert_string_equal(b.direction, "long");
    assert_int_equal(b.confidence, MONEY_SCALE);
    assert_int_equal(script_bias(h, "MSFT", &b, err, sizeof err), 0);
    assert_string_equal(b.direction, "short");
    assert_int_equal(b.confidence, 7 * MONEY_SCALE / 10);
    assert_string_equal(b.reason, "downtrend");
    assert_int_equal(script_bias(h, "TSLA", &b, err, sizeof err), 0);
    assert_string_equal(b.direction, "neutral");
    assert_int_equal(script_bias(h, "BAD", &b, err, sizeof err), APEX_ESCRIPT);
    assert_non_null(strstr(err, "bias_basic.lua:3: bias returned direction \"up\""));
    assert_string_equal(b.direction, "neutral");
    script_host_free(h);
}

static bool has_module(const char *name)
{
    for (const struct embedded_lua_module *m = embedded_lua_modules; m->name; m++)
        if (strcmp(m->name, name) == 0)
            return true;
    return false;
}

static void test_rule_files_fire(void **state)
{
    script_host *h = new_host();
    char err[512] = "";
    instruction ins[] = {
        {INSTRUCTION_FILE, FIX "rules/vix_rule.lua"},
        {INSTRUCTION_FILE, FIX "rules/news_rule.lua"},
        {INSTRUCTION_FILE, FIX "rules/broken_rule.lua"},
    };
    diag_list d;
    diag_init(&d);
    assert_int_equal(script_load_rules(h, ins, 3, "pipeline.lua", &d), 0);
    assert_int_equal(script_rules_count(h), 3);

    script_position pos = make_position("AAPL");
    script_rule_hit hit;
    market_state.vix = MONEY(30);
    /* Nothing fires; the broken rule's error is reported with its name and line. */
    assert_int_equal(script_rules_check(h, &pos, &hit, err, sizeof err), APEX_ESCRIPT);
    assert_non_null(strstr(err, "instruction rule 'broken'"));
    assert_non_null(strstr(err, "broken_rule.lua:4:"));

    market_state.vix = MONEY(41) + MONEY_SCALE / 5;
    assert_int_equal(script_rules_check(h, &pos, &hit, err, sizeof err), 1);
    assert_string_equal(hit.rule, "vix spike");
    assert_string_equal(hit.reason, "VIX 41.20 > 40 (long AAPL)");

    market_state.vix = 0; /* no price: the comparison is false, not an error */
    market_state.aapl_news = 3;
    assert_int_equal(script_rules_check(h, &pos, &hit, err, sizeof err), 1);
    assert_string_equal(hit.rule, "news_rule.lua");
    assert_string_equal(hit.reason, "high impact news for AAPL");
    diag_free(&d);
    script_host_free(h);
}

static void test_rule_problems_are_diagnosed(void **state)
{
    script_host *h = new_host();
    instruction ins[] = {
        {INSTRUCTION_FILE, FIX "rules/no_check.lua"},
        {INSTRUCTION_FILE, FIX "rules/nope.lua"},
        {INSTRUCTION_TEXT, "close if VIX > 40"},
        {INSTRUCTION_FILE, FIX "rules/vix_rule.lua"},
    };
    diag_list d;
    diag_init(&d);
    int problems = script_load_rules(h, ins, 4, "pipeline.lua", &d);
    assert_non_null(strstr(d.items[0], "pipeline.lua: instructions[1]"));
    assert_non_null(strstr(d.items[0], "has no check function"));
    assert_non_null(strstr(d.items[1], "pipeline.lua: instructions[2]"));
    assert_non_null(strstr(d.items[1], "nope.lua: cannot open"));
    if (has_module("apex.instructions")) {
        assert_int_equal(problems, 2);
        assert_int_equal(script_rules_count(h), 2);
    } else {
        assert_int_equal(problems, 3);
        assert_non_null(strstr(d.items[2], "instructions[3] \"close if VIX > 40\""));
        assert_non_null(strstr(d.items[2], "instruction compiler"));
        assert_int_equal(script_rules_count(h), 1);
    }
    diag_free(&d);
    script_host_free(h);
}

/* Five draws of math.random() through the strategy's opportunity callback. */
static void draw_five(script_host *h, money_t out[5])
{
    char err[512] = "";
    if (script_load(h, SCRIPT_STRATEGY, FIX "strategy_random.lua", NULL, err, sizeof err) != 0)
        fail_msg("%s", err);
    for (int i = 0; i < 5; i++) {
        bool has = false;
        assert_int_equal(script_opportunity(h, "AAPL", &out[i], &has, err, sizeof err), 0);
        assert_true(has);
    }
}

static script_host *seeded_host(uint64_t seed)
{
    script_host *h = new_host();
    char err[512] = "";
    assert_int_equal(script_host_set_seed(h, seed, err, sizeof err), 0);
    return h;
}

/* Backtests seed every pipeline's state, so a strategy using math.random replays the
 * same way; another seed gives another sequence. */
static void test_random_seed_reproducible(void **state)
{
    money_t a[5], b[5], c[5], d[5], e[5], f[5];
    script_host *h = seeded_host(42);
    draw_five(h, a);
    script_host_free(h);
    h = seeded_host(42);
    draw_five(h, b);
    script_host_free(h);
    h = seeded_host(43);
    draw_five(h, c);
    script_host_free(h);
    assert_memory_equal(a, b, sizeof a);
    assert_memory_not_equal(a, c, sizeof a);
    /* Every bit of the seed counts, the top one too. */
    h = seeded_host(UINT64_MAX);
    draw_five(h, d);
    script_host_free(h);
    h = seeded_host(UINT64_MAX >> 1);
    draw_five(h, e);
    script_host_free(h);
    assert_memory_not_equal(d, e, sizeof d);
    /* Without a seed (live runs) Lua picks its own per state. */
    h = new_host();
    draw_five(h, f);
    script_host_free(h);
    assert_memory_not_equal(a, f, sizeof a);
}

/* The default seed is FNV-1a 64 of the pipeline name (published test vectors). */
static void test_seed_from_name(void **state)
{
    assert_true(script_seed_from_name("") == 0xcbf29ce484222325u);
    assert_true(script_seed_from_name(NULL) == 0xcbf29ce484222325u);
    assert_true(script_seed_from_name("a") == 0xaf63dc4c8601ec8cu);
    assert_true(script_seed_from_name("foobar") == 0x85944171f73967e8u);
    assert_true(script_seed_from_name("ma-trend") != script_seed_from_name("rsi-reversion"));
}

/* Precompiled chunks are refused with the file's name, never run. */
static void test_bytecode_file_refused(void **state)
{
    char path[64];
    lua_fixture_bytecode_file("return { on_bar = function() end }", path, sizeof path);

    script_host *h = new_host();
    char err[512] = "", want[600];
    assert_int_equal(script_load(h, SCRIPT_STRATEGY, path, NULL, err, sizeof err), APEX_ESCRIPT);
    snprintf(want, sizeof want, "%s: is precompiled Lua bytecode", path);
    if (!strstr(err, want))
        fail_msg("got \"%s\"", err);
    assert_false(script_loaded(h, SCRIPT_STRATEGY));
    script_host_free(h);
    unlink(path);
}

/* Deeply nested params cross the boundary in both directions: pipeline table -> JSON
 * (pipeline_loader's to_json) and JSON -> ctx.params (push_json). Both recurse and push
 * per level, past the 20 slots a C function is given without luaL_checkstack. */
static void test_deeply_nested_params(void **state)
{
    pipeline_config cfg;
    diag_list d;
    config_defaults(&cfg);
    diag_init(&d);
    int n = script_load_pipeline(FIX "pipeline/nested_params.lua", &cfg, &d);
    for (int i = 0; i < d.count; i++)
        print_message("  diag: %s\n", d.items[i]);
    assert_int_equal(n, 0);
    assert_non_null(cfg.strategy.params_json);
    assert_non_null(strstr(cfg.strategy.params_json, "\"j\""));

    script_host *h = new_host();
    char err[512] = "";
    assert_int_equal(script_load(h, SCRIPT_STRATEGY, FIX "strategy_basic.lua",
                                 cfg.strategy.params_json, err, sizeof err),
                     0);
    script_host_free(h);
    config_free(&cfg);
    diag_free(&d);

    /* JSON nested 30 deep, beyond what a pipeline file's 32-level limit would pass on. */
    char json[256] = "";
    for (int i = 0; i < 30; i++)
        strcat(json, "{\"k\":");
    strcat(json, "1");
    for (int i = 0; i < 30; i++)
        strcat(json, "}");
    h = new_host();
    assert_int_equal(
        script_load(h, SCRIPT_STRATEGY, FIX "strategy_basic.lua", json, err, sizeof err), 0);
    script_host_free(h);
}

/* A params string with a NUL byte reaches the script intact (issue 8: it used to fail the
 * strategy with jansson's "\u0000 is not allowed without JSON_ALLOW_NUL"). */
static void test_params_string_with_nul(void **state)
{
    script_host *h = new_host();
    char err[512] = "";
    if (script_load(h, SCRIPT_STRATEGY, FIX "strategy_params_nul.lua", "{\"s\":\"a\\u0000b\"}", err,
                    sizeof err) != 0)
        fail_msg("%s", err);
    money_t score;
    bool has;
    if (script_opportunity(h, "AAPL", &score, &has, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_true(has);
    assert_int_equal(score, MONEY(1));
    script_host_free(h);
}

/* A rule that runs away is stopped by the pass's deadline, named with its file:line, and
 * does not leave the state unusable. */
static void test_rule_deadline(void **state)
{
    script_host *h = new_host();
    char err[512] = "";
    instruction ins[] = {
        {INSTRUCTION_FILE, FIX "rules/slow_rule.lua"},
        {INSTRUCTION_FILE, FIX "rules/vix_rule.lua"},
    };
    diag_list d;
    diag_init(&d);
    assert_int_equal(script_load_rules(h, ins, 2, "pipeline.lua", &d), 0);
    script_position pos = make_position("AAPL");
    script_rule_hit hit;
    market_state.vix = MONEY(50);
    assert_int_equal(script_rules_check(h, &pos, &hit, err, sizeof err), APEX_ESCRIPT);
    assert_non_null(strstr(err, "instruction rule 'slow'"));
    assert_non_null(strstr(err, "slow_rule.lua:4: script ran past its 1000 ms deadline"));
    assert_string_equal(hit.rule, "");

    assert_int_equal(script_load(h, SCRIPT_STRATEGY, FIX "strategy_basic.lua", "{\"level\": 1}",
                                 err, sizeof err),
                     0);
    money_t score;
    bool has;
    assert_int_equal(script_opportunity(h, "AAPL", &score, &has, err, sizeof err), 0);
    diag_free(&d);
    script_host_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signal_conversion),
        cmocka_unit_test(test_callbacks_edge_opportunity_fill_exit),
        cmocka_unit_test(test_bad_signals_rejected_with_file_line),
        cmocka_unit_test(test_close_signals),
        cmocka_unit_test(test_bad_closes_rejected_with_file_line),
        cmocka_unit_test(test_error_in_on_bar_then_recovers),
        cmocka_unit_test(test_runaway_on_bar_stopped),
        cmocka_unit_test(test_ctx_state_per_symbol),
        cmocka_unit_test(test_load_errors_name_the_file),
        cmocka_unit_test(test_bias_results),
        cmocka_unit_test(test_rule_files_fire),
        cmocka_unit_test(test_rule_problems_are_diagnosed),
        cmocka_unit_test(test_random_seed_reproducible),
        cmocka_unit_test(test_seed_from_name),
        cmocka_unit_test(test_bytecode_file_refused),
        cmocka_unit_test(test_deeply_nested_params),
        cmocka_unit_test(test_params_string_with_nul),
        cmocka_unit_test(test_rule_deadline),
        cmocka_unit_test(test_overruns_suspend_until_reload),
        cmocka_unit_test(test_bar_fields_on_shared_table),
        cmocka_unit_test(test_bar_kept_across_calls),
        cmocka_unit_test(test_runaway_on_shared_bar_stopped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
