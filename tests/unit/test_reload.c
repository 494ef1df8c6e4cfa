/* test_reload: hot reload keeps ctx.state, survives broken edits, follows editor saves. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "script/script.h"
#include "util/err.h"

/* Version 1 buys one share on every bar and counts bars in ctx.state. */
static const char V1[] = "return {\n"
                         "  on_bar = function(ctx, bar)\n"
                         "    ctx.state.n = (ctx.state.n or 0) + 1\n"
                         "    return { side = 'buy', qty = 1 }\n"
                         "  end,\n"
                         "}\n";
/* Version 2 sells as many shares as bars seen so far (so qty proves the state survived)
 * and marks the reload. */
static const char V2[] =
    "return {\n"
    "  on_reload = function(ctx) ctx.state.reloads = (ctx.state.reloads or 0) + 1 end,\n"
    "  on_bar = function(ctx, bar)\n"
    "    ctx.state.n = ctx.state.n + 1\n"
    "    return { side = 'sell', qty = ctx.state.n * 100 + ctx.state.reloads }\n"
    "  end,\n"
    "}\n";
static const char BROKEN[] = "return {\n"
                             "  on_bar = function(ctx, bar)\n"
                             "    return { side = \n"
                             "  end\n";

typedef struct {
    char dir[256];
    char path[512];
    script_host *h;
} fixture;

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Saves like an editor: write a temporary file beside it, then rename over it. */
static void save_by_rename(const char *path, const char *text)
{
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp~", path);
    write_file(tmp, text);
    assert_int_equal(rename(tmp, path), 0);
}

static int setup(void **state)
{
    static fixture f;
    memset(&f, 0, sizeof f);
    snprintf(f.dir, sizeof f.dir, "/tmp/apex-reload-XXXXXX");
    assert_non_null(mkdtemp(f.dir));
    snprintf(f.path, sizeof f.path, "%s/strategy.lua", f.dir);
    write_file(f.path, V1);
    char err[512];
    f.h = script_host_new("reload", SCRIPT_LIMITS_DEFAULT, NULL, err, sizeof err);
    assert_non_null(f.h);
    assert_int_equal(script_load(f.h, SCRIPT_STRATEGY, f.path, NULL, err, sizeof err), 0);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    script_host_free(f->h);
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp~", f->path);
    unlink(tmp);
    unlink(f->path);
    rmdir(f->dir);
    return 0;
}

static int bar_signal(fixture *f, script_signal *sig)
{
    bar b;
    memset(&b, 0, sizeof b);
    b.ts = 1700000000 * APEX_SECOND;
    b.open = b.high = b.low = b.close = MONEY(10);
    char err[512];
    int rc = script_on_bar(f->h, SCRIPT_STRATEGY, &b, "AAPL", NULL, sig, err, sizeof err);
    if (rc < 0)
        fail_msg("on_bar failed: %s", err);
    return rc;
}

static void test_reload_swaps_code_keeps_state(void **state)
{
    fixture *f = *state;
    script_signal sig;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(bar_signal(f, &sig), 1);
        assert_int_equal(sig.side, SIDE_BUY);
        assert_int_equal(sig.qty, MONEY(1));
    }
    write_file(f->path, V2);
    char err[512];
    assert_int_equal(script_reload(f->h, SCRIPT_STRATEGY, err, sizeof err), 0);
    assert_true(script_has_callback(f->h, SCRIPT_STRATEGY, "on_reload"));
    assert_int_equal(bar_signal(f, &sig), 1);
    assert_int_equal(sig.side, SIDE_SELL);
    assert_int_equal(sig.qty, MONEY(401)); /* 4th bar, one on_reload */
}

/* The trap the issue reported: an edit that adds `ctx.state.x = ctx.state.x or ...` to
 * on_start, saved while the strategy runs. Without on_reload, on_start runs again on the
 * kept ctx.state before the next bar: the new state is set up, the warm state (the bar
 * count n, and an EMA fed three bars) is kept. */
static const char V3_START[] =
    "local ta = require('apex.ta')\n"
    "return {\n"
    "  on_start = function(ctx)\n"
    "    ctx.state.n = ctx.state.n or 0\n"
    "    ctx.state.slow = ctx.state.slow or ta.ema(100)\n"
    "    ctx.state.starts = (ctx.state.starts or 0) + 1\n"
    "  end,\n"
    "  on_bar = function(ctx, bar)\n"
    "    ctx.state.n = ctx.state.n + 1\n"
    "    ctx.state.slow:update(bar.close)\n"
    "    return { side = 'sell', qty = ctx.state.n * 100 + ctx.state.starts }\n"
    "  end,\n"
    "}\n";

static void test_reload_reruns_on_start_without_on_reload(void **state)
{
    fixture *f = *state;
    script_signal sig;
    for (int i = 0; i < 3; i++)
        assert_int_equal(bar_signal(f, &sig), 1);
    write_file(f->path, V3_START);
    char err[512];
    assert_int_equal(script_reload(f->h, SCRIPT_STRATEGY, err, sizeof err), 0);
    assert_false(script_has_callback(f->h, SCRIPT_STRATEGY, "on_reload"));
    assert_int_equal(bar_signal(f, &sig), 1); /* on_start ran: slow exists, n kept */
    assert_int_equal(sig.side, SIDE_SELL);
    assert_int_equal(sig.qty, MONEY(401)); /* 4th bar, on_start once since the reload */
    assert_int_equal(bar_signal(f, &sig), 1);
    assert_int_equal(sig.qty, MONEY(501)); /* and not again on the next bar */
}

static void test_broken_edit_keeps_old_code(void **state)
{
    fixture *f = *state;
    script_signal sig;
    assert_int_equal(bar_signal(f, &sig), 1);
    write_file(f->path, BROKEN);
    char err[512];
    assert_int_equal(script_reload(f->h, SCRIPT_STRATEGY, err, sizeof err), APEX_ESCRIPT);
    assert_non_null(strstr(err, "strategy.lua:4:"));
    assert_non_null(strstr(err, "kept the previous version running"));
    assert_int_equal(bar_signal(f, &sig), 1);
    assert_int_equal(sig.side, SIDE_BUY); /* still version 1 */
}

/* on_start fails until a fixed version is saved: the symbol is not called meanwhile (its
 * on_start is not retried on every bar), and the reload runs on_start again. */
static const char START_BROKEN[] =
    "local starts = 0\n"
    "return {\n"
    "  on_start = function(ctx)\n"
    "    starts = starts + 1\n"
    "    error('bad params, start ' .. starts)\n"
    "  end,\n"
    "  on_bar = function(ctx, bar) return { side = 'buy', qty = 1 } end,\n"
    "}\n";
static const char START_FIXED[] =
    "return {\n"
    "  on_start = function(ctx) ctx.state.started = (ctx.state.started or 0) + 1 end,\n"
    "  on_reload = function(ctx) error('on_reload must not run for a symbol never set up') end,\n"
    "  on_bar = function(ctx, bar) return { side = 'sell', qty = 10 + ctx.state.started } end,\n"
    "}\n";

static void test_failed_on_start_waits_for_a_reload(void **state)
{
    fixture *f = *state;
    write_file(f->path, START_BROKEN);
    char err[512];
    assert_int_equal(script_load(f->h, SCRIPT_STRATEGY, f->path, NULL, err, sizeof err), 0);
    bar b;
    memset(&b, 0, sizeof b);
    b.ts = 1700000000 * APEX_SECOND;
    b.open = b.high = b.low = b.close = MONEY(10);
    script_signal sig;
    assert_int_equal(script_on_bar(f->h, SCRIPT_STRATEGY, &b, "AAPL", NULL, &sig, err, sizeof err),
                     APEX_ESCRIPT);
    assert_non_null(strstr(err, "strategy.lua:5: bad params, start 1"));
    assert_non_null(strstr(err, "(in on_start: AAPL is not traded until"));
    /* Later bars: the same message, not a second attempt ("start 2"). */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(
            script_on_bar(f->h, SCRIPT_STRATEGY, &b, "AAPL", NULL, &sig, err, sizeof err),
            APEX_ESTATE);
        assert_non_null(strstr(err, "bad params, start 1"));
    }
    write_file(f->path, START_FIXED);
    assert_int_equal(script_reload(f->h, SCRIPT_STRATEGY, err, sizeof err), 0);
    assert_int_equal(script_on_bar(f->h, SCRIPT_STRATEGY, &b, "AAPL", NULL, &sig, err, sizeof err),
                     1);
    assert_int_equal(sig.qty, MONEY(11)); /* on_start ran once, with the new code */
}

typedef struct {
    int calls;
    int status;
    script_slot slot;
    uv_loop_t *loop;
} reload_seen;

static void on_reload(void *ud, script_slot slot, int status, const char *msg)
{
    reload_seen *s = ud;
    s->calls++;
    s->status = status;
    s->slot = slot;
    uv_stop(s->loop);
}

static void give_up(uv_timer_t *t)
{
    uv_stop(t->loop);
}

/* Runs the loop until the reload callback fires or 5 s pass. */
static void run_until_reload(uv_loop_t *loop, reload_seen *seen)
{
    uv_timer_t guard;
    uv_timer_init(loop, &guard);
    uv_timer_start(&guard, give_up, 5000, 0);
    int before = seen->calls;
    for (int i = 0; i < 100 && seen->calls == before; i++)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
}

static void test_watcher_follows_rename_save(void **state)
{
    fixture *f = *state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    reload_seen seen = {0, 1, SCRIPT_BIAS, &loop};
    assert_int_equal(script_watch(f->h, &loop, on_reload, &seen), 0);

    script_signal sig;
    assert_int_equal(bar_signal(f, &sig), 1);
    save_by_rename(f->path, V2);
    run_until_reload(&loop, &seen);
    assert_int_equal(seen.calls, 1);
    assert_int_equal(seen.status, 0);
    assert_int_equal(seen.slot, SCRIPT_STRATEGY);
    assert_int_equal(bar_signal(f, &sig), 1);
    assert_int_equal(sig.side, SIDE_SELL);
    assert_int_equal(sig.qty, MONEY(201));

    /* A broken save is reported and the running code stays. */
    save_by_rename(f->path, BROKEN);
    run_until_reload(&loop, &seen);
    assert_int_equal(seen.calls, 2);
    assert_int_equal(seen.status, APEX_ESCRIPT);
    assert_int_equal(bar_signal(f, &sig), 1);
    assert_int_equal(sig.qty, MONEY(301));

    script_unwatch(f->h);
    uv_run(&loop, UV_RUN_DEFAULT); /* let the handles close */
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* Declared parameters across reloads. The pipeline gives fast = 5; each version buys
 * a quantity that shows what ctx.params held. */
static const char P1[] =
    "local M = {}\n"
    "M.params = { fast = { type = 'integer', default = 10, min = 1, max = 50 } }\n"
    "function M.on_bar(ctx, bar) return { side = 'buy', qty = ctx.params.fast } end\n"
    "return M\n";
/* A new parameter with a default, and a changed default for fast (the pipeline's 5 still
 * wins). on_reload sees the merged params already. */
static const char P2[] =
    "local M = {}\n"
    "M.params = { fast = { type = 'integer', default = 20, min = 1, max = 50 },\n"
    "             slow = { type = 'integer', default = 7, min = 1, max = 9 } }\n"
    "function M.on_reload(ctx) ctx.state.seen = ctx.params.slow end\n"
    "function M.on_bar(ctx, bar)\n"
    "  return { side = 'buy', qty = ctx.params.fast * 100 + ctx.params.slow * 10 + ctx.state.seen "
    "}\n"
    "end\n"
    "return M\n";
/* slow removed from the declaration: it is gone from ctx.params. */
static const char P3[] =
    "local M = {}\n"
    "M.params = { fast = { type = 'integer', default = 20, min = 1, max = 50 } }\n"
    "function M.on_reload(ctx) end\n"
    "function M.on_bar(ctx, bar)\n"
    "  return { side = 'sell', qty = ctx.params.fast * 100 + (ctx.params.slow == nil and 1 or 2) "
    "}\n"
    "end\n"
    "return M\n";
/* A range the pipeline's fast = 5 no longer fits. */
static const char P4[] =
    "local M = {}\n"
    "M.params = { fast = { type = 'integer', default = 2, min = 1, max = 3 } }\n"
    "function M.on_bar(ctx, bar) return { side = 'buy', qty = 99 } end\n"
    "return M\n";

static void test_reload_merges_changed_params_declaration(void **state)
{
    fixture *f = *state;
    char err[512];
    write_file(f->path, P1);
    assert_int_equal(script_load(f->h, SCRIPT_STRATEGY, f->path, "{\"fast\": 5}", err, sizeof err),
                     0);
    script_signal sig;
    assert_int_equal(bar_signal(f, &sig), 1);
    assert_int_equal(sig.qty, MONEY(5)); /* the pipeline's value over the default 10 */

    write_file(f->path, P2);
    if (script_reload(f->h, SCRIPT_STRATEGY, err, sizeof err) != 0)
        fail_msg("reload P2: %s", err);
    assert_int_equal(bar_signal(f, &sig), 1);
    assert_int_equal(sig.qty, MONEY(577)); /* fast still 5, slow's default 7, seen 7 */

    write_file(f->path, P3);
    if (script_reload(f->h, SCRIPT_STRATEGY, err, sizeof err) != 0)
        fail_msg("reload P3: %s", err);
    assert_int_equal(bar_signal(f, &sig), 1);
    assert_int_equal(sig.side, SIDE_SELL);
    assert_int_equal(sig.qty, MONEY(501)); /* slow is gone */

    write_file(f->path, P4);
    assert_int_equal(script_reload(f->h, SCRIPT_STRATEGY, err, sizeof err), APEX_ESCRIPT);
    assert_non_null(strstr(err, "strategy.lua: params.fast: must be from 1 to 3, got 5"));
    assert_non_null(strstr(err, "(kept the previous version running)"));
    assert_int_equal(bar_signal(f, &sig), 1);
    assert_int_equal(sig.side, SIDE_SELL); /* P3 still trades, with its params */
    assert_int_equal(sig.qty, MONEY(501));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reload_swaps_code_keeps_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload_reruns_on_start_without_on_reload, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_failed_on_start_waits_for_a_reload, setup, teardown),
        cmocka_unit_test_setup_teardown(test_broken_edit_keeps_old_code, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watcher_follows_rename_save, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload_merges_changed_params_declaration, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
