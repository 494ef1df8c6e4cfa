/* test_history_reload: ctx.history(n) reads the host's ring of the ctx's symbol, and a hot
 * reload of the strategy keeps it: the ring is the host's (market/bar_ring.h, kept per symbol
 * by the pipeline), not the Lua state's. Here the test is the host: it keeps one ring per
 * symbol, pushes each bar before on_bar as the pipeline does, and reloads the file between
 * bars. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "market/bar_ring.h"
#include "script/script.h"
#include "util/err.h"

/* Both versions report the closes of ctx.history(4) in the signal's reason; the side says
 * which version ran. */
static const char V1[] = "return { on_bar = function(ctx, bar)\n"
                         "  local c = {}\n"
                         "  for _, b in ipairs(ctx.history(4)) do c[#c + 1] = b.close end\n"
                         "  return { side = 'buy', qty = 1, reason = table.concat(c, ',') }\n"
                         "end }\n";
static const char V2[] = "return { on_bar = function(ctx, bar)\n"
                         "  local c = {}\n"
                         "  for _, b in ipairs(ctx.history(4)) do c[#c + 1] = b.close end\n"
                         "  return { side = 'sell', qty = 1, reason = table.concat(c, ',') }\n"
                         "end }\n";

static const char V3[] =
    "return { on_bar = function(ctx, bar)\n"
    "  local c, t = ctx.history(3, 'close'), ctx.history(1, 'time')\n"
    "  return { side = 'buy', qty = 1, reason = table.concat(c, ',') .. '|' .. t[1] }\n"
    "end }\n";
static const char V4[] =
    "return { on_bar = function(ctx, bar) return ctx.history(3, 'closes') end }\n";

static bar_ring rings[2]; /* AAPL, MSFT */
static const char *const SYMS[] = {"AAPL", "MSFT"};

static const bar_ring *ring_of(void *ud, const char *symbol)
{
    (void)ud;
    for (int i = 0; i < 2; i++)
        if (strcmp(symbol, SYMS[i]) == 0)
            return &rings[i];
    return NULL;
}

static apex_time fixed_now(void *ud)
{
    (void)ud;
    return 1700000000 * APEX_SECOND;
}

static char dir[64], path[128];

static void write_file(const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Bar i of symbol s closes at 10 * (s + 1) + i; pushed to its ring, then on_bar. */
static void feed(script_host *h, int s, int i, script_signal *sig)
{
    bar b;
    memset(&b, 0, sizeof b);
    b.ts = (1700000000 + 60 * i) * APEX_SECOND;
    b.symbol_id = s;
    b.open = b.high = b.low = b.close = MONEY(10 * (s + 1) + i);
    bar_ring_push(&rings[s], &b);
    char err[512];
    if (script_on_bar(h, SCRIPT_STRATEGY, &b, SYMS[s], NULL, sig, err, sizeof err) != 1)
        fail_msg("on_bar: %s", err);
}

static void test_history_survives_a_reload(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/apex-history-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/strategy.lua", dir);
    write_file(V1);
    for (int i = 0; i < 2; i++)
        assert_int_equal(bar_ring_init(&rings[i], 4), 0);
    script_market market = {.now = fixed_now, .history = ring_of, .history_len = 4};
    char err[512];
    script_host *h = script_host_new("hist", SCRIPT_LIMITS_DEFAULT, &market, err, sizeof err);
    assert_non_null(h);
    assert_int_equal(script_load(h, SCRIPT_STRATEGY, path, NULL, err, sizeof err), 0);

    script_signal sig;
    for (int i = 0; i < 5; i++) {
        feed(h, 0, i, &sig);
        feed(h, 1, i, &sig);
    }
    assert_int_equal(sig.side, SIDE_BUY);
    assert_string_equal(sig.reason, "21.0,22.0,23.0,24.0"); /* MSFT's bars 1-4 */

    write_file(V2);
    assert_int_equal(script_reload(h, SCRIPT_STRATEGY, err, sizeof err), 0);
    /* The first bar after the reload: three bars from before it and this one. */
    feed(h, 0, 5, &sig);
    assert_int_equal(sig.side, SIDE_SELL);
    assert_string_equal(sig.reason, "12.0,13.0,14.0,15.0");
    feed(h, 1, 5, &sig);
    assert_string_equal(sig.reason, "22.0,23.0,24.0,25.0");

    /* One field as a flat array, and a name that is not a field. */
    write_file(V3);
    assert_int_equal(script_reload(h, SCRIPT_STRATEGY, err, sizeof err), 0);
    feed(h, 0, 6, &sig);
    assert_string_equal(sig.reason, "14.0,15.0,16.0|1700000360");
    bar b = {.ts = (1700000000 + 60 * 7) * APEX_SECOND, .close = MONEY(17)};
    bar_ring_push(&rings[0], &b);
    write_file(V4);
    assert_int_equal(script_reload(h, SCRIPT_STRATEGY, err, sizeof err), 0);
    assert_int_equal(script_on_bar(h, SCRIPT_STRATEGY, &b, "AAPL", NULL, &sig, err, sizeof err),
                     APEX_ESCRIPT);
    if (!strstr(err, "strategy.lua:1: bad argument #2 to 'history' (invalid option 'closes')"))
        fail_msg("%s", err);

    script_host_free(h);
    for (int i = 0; i < 2; i++)
        bar_ring_free(&rings[i]);
    unlink(path);
    rmdir(dir);
}

/* The ring itself: O(1) pushes over a fixed array, newest first through bar_ring_back. */
static void test_ring_keeps_the_last_cap_bars(void **state)
{
    (void)state;
    bar_ring r;
    assert_int_equal(bar_ring_init(&r, 3), 0);
    assert_null(bar_ring_back(&r, 0));
    for (int i = 1; i <= 7; i++) {
        bar b = {.close = MONEY(i)};
        bar_ring_push(&r, &b);
    }
    assert_int_equal(r.count, 3);
    assert_true(bar_ring_back(&r, 0)->close == MONEY(7));
    assert_true(bar_ring_back(&r, 2)->close == MONEY(5));
    assert_null(bar_ring_back(&r, 3));
    bar_ring_free(&r);
    bar_ring none;
    assert_int_equal(bar_ring_init(&none, 0), 0);
    bar b = {.close = MONEY(1)};
    bar_ring_push(&none, &b);
    assert_null(bar_ring_back(&none, 0));
    bar_ring_free(&none);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_history_survives_a_reload),
        cmocka_unit_test(test_ring_keeps_the_last_cap_bars),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
