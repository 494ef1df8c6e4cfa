/* check: what `check` learns by reading a pipeline's data and calling its scripts once,
 * beyond loading it (host.c's host_check opens the pipeline; this looks further).
 *
 *  - the data: read through to the end (up to CHECK_MAX_BARS) so a declared symbol with
 *    no rows is named before a backtest spends its time not trading it, and the bars'
 *    interval is learned (session.c compares it with the session settings);
 *  - the scripts: on_start and on_bar run once per traded symbol on its first row (or a
 *    synthetic bar when it has none), so a strategy that cannot start says so here, with
 *    the callback check ran, the bar, its file and line and what to do, rather than on the
 *    first bar of a backtest;
 *  - suspicious values that are valid but rarely meant (docs/configuration.md lists
 *    them): warnings naming the field, which do not change the exit code. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/pipeline_internal.h"
#include "market/timestamp.h"

/* Enough for a year of minute bars of a few dozen symbols, read in well under a second. */
#define CHECK_MAX_BARS 5000000

/* The price of the synthetic bar for a symbol without rows (a live feed's, say). */
#define CHECK_SYNTHETIC_PRICE MONEY(100)

static void warn(const char *path, const char *field, const char *fmt, double v, const char *why)
{
    printf("%s: warning: %s = ", path, field);
    printf(fmt, v);
    printf(": %s\n", why);
}

static int check_values(const pipeline_config *c)
{
    int n = 0;
    double risk = money_to_double(c->risk.max_risk_pct);
    double pos = money_to_double(c->risk.max_position_pct);
    double stop = money_to_double(c->exits.stop_loss_pct);
    if (risk >= 0.2 && ++n)
        warn(c->path, "risk.max_risk_pct", "%g", risk,
             "risks 20% or more of the capital on one trade (0.01 = 1%; did you mean 0.01?)");
    if (pos > 1 && ++n)
        warn(c->path, "risk.max_position_pct", "%g", pos,
             "one position larger than the whole capital (1 = 100%)");
    if (stop >= 0.5 && ++n)
        warn(c->path, "exits.stop_loss_pct", "%g", stop,
             "a default stop half the price away or more (0.04 = 4%)");
    if (risk > 0 && pos > 0 && risk > pos && ++n)
        warn(c->path, "risk.max_risk_pct", "%g", risk,
             "above risk.max_position_pct: the position cap binds first, so this never does");
    return n;
}

/* "FILE:LINE" at the start of a script error from file (Lua's own prefix), in out; else
 * "on_start in FILE" or the like, so the advice names the place to fix. */
static void error_place(const char *err, const char *file, const char *callback, char *out,
                        size_t n)
{
    size_t len = strlen(file);
    if (len && strncmp(err, file, len) == 0 && err[len] == ':' &&
        isdigit((unsigned char)err[len + 1])) {
        size_t end = len + 1;
        while (isdigit((unsigned char)err[end]))
            end++;
        snprintf(out, n, "%.*s", (int)end, err);
        return;
    }
    snprintf(out, n, "%s in %s", callback, file);
}

/* Runs a module's on_bar (and on_start before it, as the host does before a symbol's first
 * callback) on b, and reports a failure as what `check` did: which callback it ran, on
 * which bar, where the error is and what to do. Returns 1 for a failure. */
static int check_module(pipeline *p, script_slot slot, const char *symbol, const bar *b,
                        bool synthetic)
{
    const pipeline_config *c = &p->cfg;
    bool bias = slot == SCRIPT_BIAS;
    const char *file = bias ? c->bias.file : c->strategy.file;
    char err[1024];
    script_signal sig;
    if (script_on_bar(p->scripts, slot, b, symbol, NULL, &sig, err, sizeof err) >= 0)
        return 0;
    bool in_start = script_start_failed(p->scripts, slot, symbol);
    /* The run-time note (script/host.c: "(in on_start: AAPL is not traded until ... is
     * fixed and reloaded)") speaks of reloading a running host; check says it its way. */
    char *note = strstr(err, " (in on_start: ");
    if (note)
        *note = '\0';
    char on[160], place[600], when[40];
    if (synthetic) {
        char pb[32];
        snprintf(on, sizeof on,
                 "a synthetic bar (the data has no row of %s; open = high = low = close = %s)",
                 symbol, money_format_trim(CHECK_SYNTHETIC_PRICE, 2, pb, sizeof pb));
    } else {
        timestamp_format(b->ts, when, sizeof when);
        snprintf(on, sizeof on, "its first bar (the data's first row, %s UTC)", when);
    }
    error_place(err, file, in_start ? "on_start" : "on_bar", place, sizeof place);
    if (in_start)
        fprintf(stderr,
                "%s: %s: check ran on_start for %s, before on_bar on %s, and it raised: %s. Fix "
                "%s and run check again: with this error, backtest and run would call %s for %s "
                "no more, so %s would not trade\n",
                c->path, bias ? "bias" : "strategy", symbol, on, err, place,
                bias ? "neither the bias nor the strategy" : "the strategy", symbol, symbol);
    else
        fprintf(stderr,
                "%s: %s: check ran on_bar for %s on %s, and it raised: %s. Fix %s and run check "
                "again: with this error, on_bar would fail on %s's bars in backtest and run\n",
                c->path, bias ? "bias" : "strategy", symbol, on, err, place, symbol);
    return 1;
}

static int check_scripts(pipeline *p, const char *symbol, const bar *b, bool synthetic)
{
    int problems = 0;
    if (p->bias_has_on_bar)
        problems += check_module(p, SCRIPT_BIAS, symbol, b, synthetic);
    return problems + check_module(p, SCRIPT_STRATEGY, symbol, b, synthetic);
}

int pipeline_check_run(pipeline *p)
{
    const pipeline_config *c = &p->cfg;
    int nsym = symtab_count(p->hs->symbols);
    bar *first = calloc((size_t)nsym + 1, sizeof *first); /* by symbol id; ts 0 = no row */
    if (!first)
        return 1;
    char err[1024];
    int read = 0, rc = 1;
    bar b;
    while (read < CHECK_MAX_BARS && (rc = feed_merge_next(p->feed, &b, err, sizeof err)) > 0) {
        read++;
        sym_state *s = pipeline_sym(p, b.symbol_id);
        if (s && !p->interval_announced)
            pipeline_session_bar(p, s, &b);
        if (b.symbol_id >= 0 && b.symbol_id < nsym && first[b.symbol_id].ts == 0)
            first[b.symbol_id] = b;
    }
    /* Only a complete read of files that are all the data proves a symbol has none. */
    bool read_all = rc == 0 && c->data.nfiles > 0 && !c->data.follow && !c->data.live;
    int problems = 0;
    for (int i = 0; i < c->nsymbols; i++) {
        int id = symtab_find(p->hs->symbols, c->symbols[i]);
        b = id >= 0 && id < nsym ? first[id] : (bar){0};
        if (b.ts == 0 && read_all)
            printf("%s: warning: symbols[%d] = %s: the data (data.files) has no rows for it; a "
                   "backtest would not trade it: fix the symbol or add its bars\n",
                   c->path, i + 1, c->symbols[i]);
        bool synthetic = b.ts == 0;
        if (synthetic)
            b = (bar){.ts = clock_now(p->hs->clock),
                      .open = CHECK_SYNTHETIC_PRICE,
                      .high = CHECK_SYNTHETIC_PRICE,
                      .low = CHECK_SYNTHETIC_PRICE,
                      .close = CHECK_SYNTHETIC_PRICE};
        b.symbol_id = id;
        problems += check_scripts(p, c->symbols[i], &b, synthetic);
    }
    free(first);
    check_values(c);
    return problems;
}
