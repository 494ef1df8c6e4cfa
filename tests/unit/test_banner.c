/* Tests for the run banner (pipeline/banner.h): what a trader reads before the first bar.
 * Pipelines are built with config_defaults, their data written to a temporary CSV file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "pipeline/banner.h"

static char csv_path[64];

static int write_bars(void **state)
{
    (void)state;
    snprintf(csv_path, sizeof csv_path, "/tmp/apex-banner-XXXXXX");
    int fd = mkstemp(csv_path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("timestamp,symbol,open,high,low,close,volume\n"
          "2024-03-04T14:30:00Z,AAPL,175,175.2,174.9,175.1,100\n"
          "2024-03-04T14:31:00Z,AAPL,175.1,175.3,175,175.2,100\n"
          "# a trailing comment line\n"
          "2024-03-05T20:59:00Z,AAPL,176,176.1,175.9,176,100\n",
          f);
    fclose(f);
    return 0;
}

static int remove_bars(void **state)
{
    (void)state;
    unlink(csv_path);
    return 0;
}

/* One pipeline on csv_path trading `nsymbols` symbols named S0, S1, ... */
static void make_pipeline(pipeline_config *cfg, const char *name, int nsymbols)
{
    config_defaults(cfg);
    snprintf(cfg->name, sizeof cfg->name, "%s", name);
    snprintf(cfg->path, sizeof cfg->path, "pipelines/%s.lua", name);
    cfg->symbols = calloc((size_t)nsymbols, sizeof *cfg->symbols);
    for (int i = 0; i < nsymbols; i++)
        snprintf(cfg->symbols[i], sizeof cfg->symbols[i], "S%d", i);
    cfg->nsymbols = nsymbols;
    cfg->data.files = calloc(1, sizeof *cfg->data.files);
    cfg->data.files[0] = strdup(csv_path);
    cfg->data.nfiles = 1;
}

static char *banner_of(const run_banner *b)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    run_banner_print(out, b);
    fclose(out);
    return buf;
}

static void test_run_banner_names_everything(void **state)
{
    (void)state;
    pipeline_config a, b;
    make_pipeline(&a, "trend", 2);
    make_pipeline(&b, "reversion-long-name", 11);
    const pipeline_config *pipes[] = {&a, &b};
    run_banner rb = {.pipes = pipes, .npipes = 2, .speed = 4000, .store = "data/demo.db"};
    char *out = banner_of(&rb);
    assert_non_null(strstr(out, "apex-host " APEX_VERSION " run: 2 pipelines\n"));
    assert_non_null(strstr(out, "  pipeline   trend                pipelines/trend.lua  S0 S1\n"));
    assert_non_null(strstr(out,
                           "  pipeline   reversion-long-name  pipelines/reversion-long-name.lua"
                           "  S0 S1 S2 S3 S4 S5 S6 S7 and 3 more\n"));
    assert_non_null(strstr(out, "broker paper, account data/demo.db.trend.paper, starting cash "
                                "100000.00\n"));
    /* The shared file counted once; its first row and its last, past the comment. */
    assert_non_null(
        strstr(out, "  data       2024-03-04 14:30:00 to 2024-03-05 20:59:00 UTC, 1 file\n"));
    assert_non_null(strstr(out, "  replay     4000x real time"));
    assert_non_null(strstr(out, "  store      data/demo.db\n"));
    assert_non_null(strstr(out, "  dashboard  off (--http ADDR to serve it)\n"));
    free(out);

    /* The dashboard's address when `run --http` serves it. */
    rb.http_listen = "127.0.0.1:8080";
    out = banner_of(&rb);
    assert_non_null(strstr(out, "  dashboard  http://127.0.0.1:8080/\n"));
    free(out);
    config_free(&a);
    config_free(&b);
}

/* A backtest's account is in memory and nothing listens. */
static void test_backtest_banner(void **state)
{
    (void)state;
    pipeline_config a;
    make_pipeline(&a, "trend", 1);
    const pipeline_config *pipes[] = {&a};
    run_banner rb = {.backtest = true,
                     .pipes = pipes,
                     .npipes = 1,
                     .store = "results/t.db",
                     .http_listen = "127.0.0.1:8080"};
    char *out = banner_of(&rb);
    assert_non_null(strstr(out, "apex-host " APEX_VERSION " backtest: 1 pipeline\n"));
    assert_non_null(strstr(out, "broker paper, account in memory, starting cash 100000.00\n"));
    assert_non_null(strstr(out, "  replay     simulated clock, as fast as the machine allows\n"));
    assert_null(strstr(out, "dashboard"));
    free(out);
    config_free(&a);
}

/* Alpaca: the URL and where the key comes from, never the key or the secret. */
static void test_alpaca_banner_never_shows_secrets(void **state)
{
    (void)state;
    setenv("BANNER_TEST_KEY", "PKSECRETKEYVALUE123", 1);
    setenv("BANNER_TEST_SECRET", "ssshhh-the-secret-value", 1);
    pipeline_config a;
    make_pipeline(&a, "live", 1);
    a.broker.kind = BROKER_KIND_ALPACA;
    snprintf(a.broker.key_env, sizeof a.broker.key_env, "BANNER_TEST_KEY");
    snprintf(a.broker.secret_env, sizeof a.broker.secret_env, "BANNER_TEST_SECRET");
    const pipeline_config *pipes[] = {&a};
    run_banner rb = {.pipes = pipes, .npipes = 1, .speed = 1, .store = "live.db"};
    char *out = banner_of(&rb);
    assert_non_null(strstr(out, "broker alpaca at https://paper-api.alpaca.markets (paper)"));
    assert_non_null(strstr(out, "BANNER_TEST_KEY"));
    assert_null(strstr(out, "PKSECRETKEYVALUE123"));
    assert_null(strstr(out, "ssshhh-the-secret-value"));
    free(out);
    /* Without the variables the line says what is missing, naming it. */
    unsetenv("BANNER_TEST_KEY");
    out = banner_of(&rb);
    assert_non_null(strstr(out, "BANNER_TEST_KEY"));
    free(out);
    config_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_banner_names_everything),
        cmocka_unit_test(test_backtest_banner),
        cmocka_unit_test(test_alpaca_banner_never_shows_secrets),
    };
    return cmocka_run_group_tests(tests, write_bars, remove_bars);
}
