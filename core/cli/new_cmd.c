/* new_cmd: `apex-host new strategy NAME`, a commented strategy and the pipeline that runs it.
 *
 * The two files pass `check` and backtest on the demo data as written (tests/integration/
 * new_strategy.sh), so a new user starts from something that trades, and from the patterns
 * that hold up: parameters declared (M.params), an on_start that only fills what is missing
 * (a hot reload runs it again on the kept ctx.state), signals with a stop and a target. */
#include "cli/new_cmd.h"
#include "cli/cli.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pipeline/host.h"
#include "util/template.h"

const char *const cli_usage_new =
    "usage: apex-host new strategy NAME [--dir DIR] [--data FILE]\n"
    "\n"
    "Writes DIR/NAME.lua, a commented strategy (an EMA crossover with an ATR stop and a 2:1\n"
    "target, its parameters declared), and DIR/NAME.pipeline.lua, a pipeline that runs it\n"
    "on FILE's AAPL and TSLA bars (default DIR .; FILE data/demo/bars.csv, which\n"
    "`apex-datagen data/demo` writes). Both pass `apex-host check NAME.pipeline.lua` and\n"
    "backtest as written. NAME is lower-case letters, digits and _; an existing file is\n"
    "never overwritten.\n";

static const char STRATEGY_TEMPLATE[] =
    "--[[ {{name}}: a starting point. It buys when a fast EMA crosses above a slow one, with a\n"
    "stop stop_atr x ATR(14) below the close and a target reward_risk times that distance above.\n"
    "\n"
    "Written by `apex-host new strategy {{name}}`. Change on_bar to your idea; the reference is\n"
    "docs/lua-api.md (callbacks, signals, ctx, apex.ta), and types/apex.lua gives an editor\n"
    "completion for all of it. Check it and backtest it with its pipeline:\n"
    "\n"
    "    apex-host check {{name}}.pipeline.lua\n"
    "    apex-host backtest {{name}}.pipeline.lua\n"
    "]]\n"
    "local ta = require(\"apex.ta\")\n"
    "\n"
    "local M = {}\n"
    "\n"
    "-- The parameters, declared: the host fills ctx.params from these defaults and the\n"
    "-- pipeline's `params` (or `--param strategy.fast=5`), and refuses an unknown or\n"
    "-- out-of-range one when it loads the file, before any bar.\n"
    "M.params = {\n"
    "    fast = { type = \"integer\", default = 10, min = 1, max = 10000, doc = \"fast EMA, in "
    "bars\" },\n"
    "    slow = { type = \"integer\", default = 30, min = 2, max = 10000, doc = \"slow EMA, in "
    "bars\" },\n"
    "    stop_atr = { type = \"number\", default = 2, min = 0.1, max = 50, doc = \"stop distance, "
    "in ATR(14)\" },\n"
    "    reward_risk = { type = \"number\", default = 2, min = 0.1, max = 50, doc = \"target, in "
    "stop distances\" },\n"
    "}\n"
    "\n"
    "-- Once per symbol before its first bar, and again after a hot reload of this file, on the\n"
    "-- kept ctx.state: fill only what is missing (`x = x or ...`) so a reload keeps what is "
    "warm.\n"
    "function M.on_start(ctx)\n"
    "    local p, s = ctx.params, ctx.state\n"
    "    if p.fast >= p.slow then\n"
    "        error(string.format(\"params.fast (%d) must be below params.slow (%d)\", p.fast, "
    "p.slow), 0)\n"
    "    end\n"
    "    s.fast = s.fast or ta.ema(p.fast)\n"
    "    s.slow = s.slow or ta.ema(p.slow)\n"
    "    s.atr = s.atr or ta.atr(14)\n"
    "end\n"
    "\n"
    "-- Every bar of every symbol of the pipeline: return nil, or a signal.\n"
    "function M.on_bar(ctx, bar)\n"
    "    local p, s = ctx.params, ctx.state\n"
    "    local fast, slow = s.fast:update(bar.close), s.slow:update(bar.close)\n"
    "    local atr = s.atr:update(bar.high, bar.low, bar.close)\n"
    "    if not (fast and slow and atr) then\n"
    "        return nil -- the indicators are still warming up\n"
    "    end\n"
    "    local was_above = s.above\n"
    "    s.above = fast > slow\n"
    "    if ctx.position or was_above == nil or was_above or not s.above then\n"
    "        return nil -- in a trade already, or no cross on this bar\n"
    "    end\n"
    "    local stop = bar.close - p.stop_atr * atr\n"
    "    return {\n"
    "        side = \"buy\",\n"
    "        stop_loss = stop,\n"
    "        take_profit = bar.close + p.reward_risk * (bar.close - stop),\n"
    "        confidence = 0.6,\n"
    "        reason = string.format(\"EMA%d crossed above EMA%d\", p.fast, p.slow),\n"
    "    }\n"
    "end\n"
    "\n"
    "return M\n";

static const char PIPELINE_TEMPLATE[] =
    "-- {{name}}: the pipeline that runs {{name}}.lua (written by `apex-host new strategy "
    "{{name}}`).\n"
    "-- Every setting and its default: docs/configuration.md. Paths are relative to this file.\n"
    "return apex.pipeline {\n"
    "    name = \"{{name}}\",\n"
    "    symbols = { \"AAPL\", \"TSLA\" },\n"
    "    data = { files = { \"{{data}}\" } },\n"
    "    strategy = { file = \"{{name}}.lua\", params = { fast = 10, slow = 30 } },\n"
    "    risk = { max_risk_pct = 0.01, max_position_pct = 0.20, max_positions = 2 },\n"
    "}\n";

typedef struct {
    const char *name, *data;
} fields;

static int field(template_buf *b, const char *name, size_t n, void *ud)
{
    const fields *f = ud;
    if (n == 4 && memcmp(name, "name", 4) == 0)
        template_puts(b, f->name);
    else if (n == 4 && memcmp(name, "data", 4) == 0)
        template_puts(b, f->data);
    else
        return -1;
    return 0;
}

static bool valid_name(const char *s)
{
    if (!*s || strlen(s) > 64 || (*s >= '0' && *s <= '9'))
        return false;
    return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == strlen(s);
}

/* Renders tmpl into path, which must not exist yet. 0, or prints why and returns an exit
 * code. */
static int write_new(const char *path, const char *tmpl, const fields *f)
{
    char *text = NULL, err[256];
    size_t len = 0;
    if (template_render(tmpl, field, (void *)f, "template", "name or data", &text, &len, err,
                        sizeof err) != 0) {
        fprintf(stderr, "apex-host: %s\n", err);
        return EXIT_RUNTIME;
    }
    FILE *out = fopen(path, "wx"); /* x: never over a file that exists */
    if (!out) {
        fprintf(stderr, "apex-host: %s: %s\n", path,
                errno == EEXIST ? "exists already; choose another NAME or --dir, or remove it"
                                : strerror(errno));
        free(text);
        return errno == EEXIST ? EXIT_USAGE : EXIT_RUNTIME;
    }
    bool ok = fwrite(text, 1, len, out) == len;
    ok = fclose(out) == 0 && ok;
    free(text);
    if (!ok) {
        fprintf(stderr, "apex-host: %s: could not be written\n", path);
        return EXIT_RUNTIME;
    }
    printf("wrote %s\n", path);
    return EXIT_OK;
}

int cli_new(int argc, char **argv)
{
    const char *what = NULL, *name = NULL, *dir = ".", *data = "data/demo/bars.csv";
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (strcmp(argv[i], "--data") == 0 && i + 1 < argc)
            data = argv[++i];
        else if (!what && argv[i][0] != '-')
            what = argv[i];
        else if (!name && argv[i][0] != '-')
            name = argv[i];
        else
            return cli_usage_error(cli_usage_new, "unexpected argument '%s'", argv[i]);
    }
    if (!what || strcmp(what, "strategy") != 0)
        return cli_usage_error(cli_usage_new, "%s", "say what to create: new strategy NAME");
    if (!name || !valid_name(name))
        return cli_usage_error(cli_usage_new,
                               "'%s' is not a NAME (lower-case letters, digits "
                               "and _, not starting with a digit)",
                               name ? name : "");
    /* The pipeline names its data by absolute path: it then works wherever DIR is. */
    char data_abs[PATH_MAX];
    if (!realpath(data, data_abs)) {
        fprintf(stderr,
                "apex-host: --data %s: %s; write the demo data with `apex-datagen data/demo` "
                "or name your bars file\n",
                data, strerror(errno));
        return EXIT_USAGE;
    }
    char strategy[PATH_MAX], pipeline[PATH_MAX];
    if (snprintf(strategy, sizeof strategy, "%s/%s.lua", dir, name) >= (int)sizeof strategy ||
        snprintf(pipeline, sizeof pipeline, "%s/%s.pipeline.lua", dir, name) >=
            (int)sizeof pipeline)
        return cli_usage_error(cli_usage_new, "%s", "--dir is too long");
    struct stat st;
    if (stat(strategy, &st) == 0 || stat(pipeline, &st) == 0) {
        fprintf(stderr, "apex-host: %s exists already; choose another NAME or --dir\n",
                stat(strategy, &st) == 0 ? strategy : pipeline);
        return EXIT_USAGE;
    }
    fields f = {.name = name, .data = data_abs};
    int code = write_new(strategy, STRATEGY_TEMPLATE, &f);
    if (code == EXIT_OK)
        code = write_new(pipeline, PIPELINE_TEMPLATE, &f);
    if (code == EXIT_OK)
        printf("next: apex-host check %s && apex-host backtest %s\n", pipeline, pipeline);
    return code;
}
