/* registry: the table from broker.kind to adapter, and the one place that decides which
 * kinds this build can open. */
#include "broker/registry.h"

#include <stdio.h>
#include <string.h>

#include "broker/alpaca.h"
#include "broker/paper.h"
#include "broker/shared.h"
#include "util/err.h"

typedef broker *(*broker_ctor)(const pipeline_config *cfg, const broker_open_args *args, char *err,
                               size_t errlen);

typedef struct {
    broker_kind kind;         /* config's value for the name */
    const char *name;         /* broker.kind in pipeline.lua */
    broker_ctor open;         /* NULL: known to the loader, adapter not built yet */
    broker_sim_feed sim_feed; /* simulating brokers only */
} broker_kind_row;

static broker *open_paper(const pipeline_config *cfg, const broker_open_args *args, char *err,
                          size_t errlen);
static void paper_feed(broker *b, const bar *data, const char *symbol);
static broker *open_alpaca(const pipeline_config *cfg, const broker_open_args *args, char *err,
                           size_t errlen);

static const broker_kind_row kinds[] = {
    {BROKER_KIND_PAPER, "paper", open_paper, paper_feed},
    {BROKER_KIND_ALPACA, "alpaca", open_alpaca, NULL},
};

#define NKINDS (sizeof kinds / sizeof kinds[0])

/* ---- paper ---- */

/* Each pipeline gets its own account beside the store, so pipelines do not see each
 * other's positions as duplicates unless broker.state makes them share one. A backtest
 * keeps nothing: its simulated account must not leak into the next run (nor into a
 * live account named by broker.state). */
void broker_paper_account_path(const pipeline_config *cfg, const broker_open_args *args, char *out,
                               size_t n)
{
    const char *configured = cfg->broker.paper.state_path;
    if (args->backtest || !args->store_path || strcmp(args->store_path, ":memory:") == 0)
        snprintf(out, n, ":memory:");
    else if (configured[0])
        snprintf(out, n, "%s", configured);
    else
        snprintf(out, n, "%s.%s.paper", args->store_path, cfg->name);
}

typedef struct {
    const pipeline_config *cfg;
    const broker_open_args *args;
} paper_open_ctx;

static broker *open_paper_account(void *ud, char *err, size_t errlen)
{
    paper_open_ctx *c = ud;
    char state[CONFIG_PATH_MAX + 128];
    broker_paper_account_path(c->cfg, c->args, state, sizeof state);
    return paper_broker_new(&c->cfg->broker.paper, state, c->args->clock, err, errlen);
}

/* Pipelines naming the same broker.state share one account: one instance in the
 * process, behind a handle per pipeline (shared.h). Without broker.state each pipeline
 * has its own account. */
static broker *open_paper(const pipeline_config *cfg, const broker_open_args *args, char *err,
                          size_t errlen)
{
    paper_open_ctx ctx = {.cfg = cfg, .args = args};
    const char *shared_key = cfg->broker.paper.state_path;
    broker *b = shared_key[0]
                    ? shared_broker_open(shared_key, open_paper_account, &ctx, err, errlen)
                    : open_paper_account(&ctx, err, errlen);
    if (!b)
        return NULL;
    /* Every traded symbol gets its rules (its own entry, else instruments.default). */
    broker *account = shared_broker_inner(b);
    for (int i = 0; i < cfg->nsymbols; i++)
        paper_broker_set_instrument(account, cfg->symbols[i],
                                    config_instrument(cfg, cfg->symbols[i]));
    return b;
}

/* A shared account sees every pipeline's bars; a bar it has already seen (another
 * pipeline's copy of the same data) is ignored by the paper broker itself. */
static void paper_feed(broker *b, const bar *data, const char *symbol)
{
    paper_broker_on_bar(shared_broker_inner(b), data, symbol);
}

/* ---- alpaca ---- */

typedef struct {
    const pipeline_config *cfg;
    const broker_open_args *args;
} alpaca_open_ctx;

static broker *open_alpaca_account(void *ud, char *err, size_t errlen)
{
    alpaca_open_ctx *c = ud;
    return alpaca_broker_new(&c->cfg->broker, c->args->loop, err, errlen);
}

/* Pipelines on the same Alpaca account share one adapter: one trade_updates stream, one
 * market-data stream (Alpaca refuses a second one per account), one view of the orders.
 * The account is known by its trading URL and where its key comes from, never by the
 * key itself. */
static broker *open_alpaca(const pipeline_config *cfg, const broker_open_args *args, char *err,
                           size_t errlen)
{
    alpaca_open_ctx ctx = {.cfg = cfg, .args = args};
    char key[CONFIG_PATH_MAX + 1024];
    snprintf(key, sizeof key, "alpaca|%s|%s|%s|%s", cfg->broker.base_url, cfg->broker.key_env,
             cfg->broker.secret_env, cfg->broker.credentials_file);
    return shared_broker_open(key, open_alpaca_account, &ctx, err, errlen);
}

int broker_check(const pipeline_config *cfg, char *desc, size_t desclen, char *err, size_t errlen)
{
    if (cfg->broker.kind != BROKER_KIND_ALPACA) {
        snprintf(desc, desclen, "paper (embedded)");
        return 0;
    }
    int rc = alpaca_check_config(&cfg->broker, err, errlen);
    if (rc != 0)
        return rc;
    return alpaca_describe(&cfg->broker, desc, desclen);
}

/* ---- the lookup ---- */

/* "\"paper\"" or "\"paper\", \"alpaca\"": the kinds this build can open. */
static void available_kinds(char *out, size_t n)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < NKINDS && used < n; i++) {
        if (!kinds[i].open)
            continue;
        int w = snprintf(out + used, n - used, "%s\"%s\"", used ? ", " : "", kinds[i].name);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

broker *broker_open(const pipeline_config *cfg, const broker_open_args *args, broker_sim_feed *sim,
                    char *err, size_t errlen)
{
    if (sim)
        *sim = NULL;
    if (!cfg || !args || !args->clock) {
        err_set(err, errlen, APEX_EINVAL, "broker_open: a config and a clock are required");
        return NULL;
    }
    const broker_kind_row *row = NULL;
    for (size_t i = 0; i < NKINDS && !row; i++)
        if (kinds[i].kind == cfg->broker.kind)
            row = &kinds[i];
    char avail[256];
    available_kinds(avail, sizeof avail);
    if (!row) {
        err_set(err, errlen, APEX_EINVAL,
                "%s: broker.kind: unknown kind (#%d); available in this build: %s", cfg->path,
                (int)cfg->broker.kind, avail);
        return NULL;
    }
    if (!row->open) {
        err_set(err, errlen, APEX_EINVAL,
                "%s: broker.kind: \"%s\" has no adapter in this build yet; available in this "
                "build: %s",
                cfg->path, row->name, avail);
        return NULL;
    }
    /* A backtest cannot trade at a real venue: it simulates on the paper broker, with the
     * broker section's cost settings, whatever the kind. */
    if (args->backtest && !row->sim_feed)
        row = &kinds[0];
    char why[512] = "";
    broker *b = row->open(cfg, args, why, sizeof why);
    if (!b) {
        err_set(err, errlen, APEX_EIO, "%s: broker: %s", cfg->path, why);
        return NULL;
    }
    if (sim)
        *sim = row->sim_feed;
    return b;
}

apex_time broker_sim_last_bar_time(broker *b)
{
    return paper_broker_last_bar_time(shared_broker_inner(b));
}

void broker_sim_deliver(broker *b)
{
    paper_broker_deliver_now(shared_broker_inner(b));
}

int broker_sim_quote(broker *b, const char *symbol, broker_quote *out)
{
    return paper_broker_quote(shared_broker_inner(b), symbol, out);
}
