#include "pipeline/banner.h"

#include <string.h>

#include "broker/registry.h"
#include "market/csv_feed.h"
#include "market/symtab.h"
#include "market/timestamp.h"
#include "money/money.h"

#define BANNER_SYMBOLS 8 /* symbols named per pipeline; the rest are counted */

/* The first row's time of path: its first bar, read through the ordinary feed. */
static int first_time(const char *path, apex_time *out)
{
    symtab *names = symtab_new();
    char err[256];
    csv_feed *f = names ? csv_feed_open(path, names, false, err, sizeof err) : NULL;
    bar b;
    int rc = f && csv_feed_next(f, &b, err, sizeof err) == 1 ? 0 : -1;
    if (rc == 0)
        *out = b.ts;
    csv_feed_close(f);
    symtab_free(names);
    return rc;
}

/* Whether file k of pipeline i was named earlier (by it or a pipeline before it). */
static bool seen_before(const run_banner *b, int i, int k)
{
    for (int pi = 0; pi <= i; pi++) {
        const data_config *d = &b->pipes[pi]->data;
        for (int pk = 0; pk < (pi == i ? k : d->nfiles); pk++)
            if (strcmp(d->files[pk], b->pipes[i]->data.files[k]) == 0)
                return true;
    }
    return false;
}

static void print_data(FILE *out, const run_banner *b)
{
    apex_time from = 0, to = 0;
    int nfiles = 0, live = 0, http = 0;
    for (int i = 0; i < b->npipes; i++) {
        const data_config *d = &b->pipes[i]->data;
        live += d->live;
        http += d->nhttp;
        for (int k = 0; k < d->nfiles; k++) {
            apex_time first, last;
            if (seen_before(b, i, k))
                continue; /* pipelines often share a file */
            nfiles++;
            if (first_time(d->files[k], &first) == 0 && (!from || first < from))
                from = first;
            if (csv_feed_last_time(d->files[k], &last) == 0 && last > to)
                to = last;
        }
    }
    char fb[32], tb[32];
    if (from && to)
        fprintf(out, "  data       %s to %s UTC, %d file%s%s\n",
                timestamp_format(from, fb, sizeof fb), timestamp_format(to, tb, sizeof tb), nfiles,
                nfiles == 1 ? "" : "s", b->follow ? ", followed for new rows" : "");
    else if (nfiles)
        fprintf(out, "  data       %d file%s, no rows yet%s\n", nfiles, nfiles == 1 ? "" : "s",
                b->follow ? "; followed for new rows" : "");
    if (live)
        fprintf(out, "  data       live from the broker's market data (%d pipeline%s)\n", live,
                live == 1 ? "" : "s");
    if (http)
        fprintf(out, "  data       %d HTTP price source%s (data.http)\n", http,
                http == 1 ? "" : "s");
}

static void print_broker(FILE *out, const run_banner *b, const pipeline_config *cfg)
{
    char desc[1024], err[512];
    if (cfg->broker.kind == BROKER_KIND_PAPER) {
        char account[CONFIG_PATH_MAX + 160], cash[48];
        broker_open_args args = {.store_path = b->store, .backtest = b->backtest};
        broker_paper_account_path(cfg, &args, account, sizeof account);
        fprintf(out, "             broker paper, account %s, starting cash %s\n",
                strcmp(account, ":memory:") == 0 ? "in memory" : account,
                money_format_trim(cfg->broker.paper.starting_cash, 2, cash, sizeof cash));
    } else if (broker_check(cfg, desc, sizeof desc, err, sizeof err) == 0) {
        fprintf(out, "             broker %s\n", desc); /* names the key's source, never it */
    } else {
        fprintf(out, "             broker: %s\n", err);
    }
}

void run_banner_print(FILE *out, const run_banner *b)
{
    fprintf(out, "apex-host %s %s: %d pipeline%s\n", APEX_VERSION, b->backtest ? "backtest" : "run",
            b->npipes, b->npipes == 1 ? "" : "s");
    int width = 0;
    for (int i = 0; i < b->npipes; i++) {
        int n = (int)strlen(b->pipes[i]->name);
        if (n > width)
            width = n;
    }
    for (int i = 0; i < b->npipes; i++) {
        const pipeline_config *cfg = b->pipes[i];
        fprintf(out, "  pipeline   %-*s  %s ", width, cfg->name, cfg->path);
        int shown = cfg->nsymbols < BANNER_SYMBOLS ? cfg->nsymbols : BANNER_SYMBOLS;
        for (int k = 0; k < shown; k++)
            fprintf(out, " %s", cfg->symbols[k]);
        if (cfg->nsymbols > shown)
            fprintf(out, " and %d more", cfg->nsymbols - shown);
        fputc('\n', out);
        print_broker(out, b, cfg);
    }
    print_data(out, b);
    if (b->backtest)
        fprintf(out, "  replay     simulated clock, as fast as the machine allows\n");
    else if (b->follow)
        fprintf(out, "  replay     none: bars as they arrive, on the wall clock\n");
    else
        fprintf(out, "  replay     %gx real time (gaps over 30 minutes skipped)\n", b->speed);
    fprintf(out, "  store      %s\n",
            strcmp(b->store, ":memory:") == 0 ? ":memory: (keeps nothing)" : b->store);
    /* Nothing listens during a backtest: no dashboard line. */
    if (!b->backtest && b->http_listen && b->http_listen[0])
        fprintf(out, "  dashboard  http://%s/\n", b->http_listen);
    else if (!b->backtest)
        fprintf(out, "  dashboard  off (--http ADDR to serve it)\n");
    fflush(out);
}
