/* fuzz_pipeline_loader: script_load_pipeline (core/script/pipeline_loader.c) on arbitrary
 * pipeline files.
 *
 * The input is written as pipeline.lua in a private temporary folder that also holds the
 * files example pipelines name (bars.csv, news.csv, a bias and a strategy), so both the
 * error paths and the accepted ones are reached. The file is evaluated by the product's
 * own sandbox with its own limits (32 MiB of Lua memory, a 2 s deadline); libFuzzer's
 * -rss_limit_mb and -timeout catch what those limits do not cover (C-side work).
 * Invariants: problems are counted as reported (the list keeps DIAG_MAX of them), and a
 * file with none yields a config that holds together (counts match arrays, strings
 * terminated). */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "fuzz_support.h"
#include "script/script.h"

static char dir[256];
static char pipeline_path[320];

static void write_file(const char *name, const char *text, size_t len)
{
    char path[400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, text, len) != (ssize_t)len) {
        perror("fuzz: writing into the temporary folder");
        abort();
    }
    close(fd);
}

static void remove_dir(void)
{
    static const char *const names[] = {"pipeline.lua", "bars.csv",     "news.csv",
                                        "bias.lua",     "strategy.lua", "rule.lua"};
    char path[400];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet_logs();
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(dir, sizeof dir, "%s/apex-fuzz-pipeline-XXXXXX", base);
    if (!mkdtemp(dir)) {
        perror("fuzz: mkdtemp");
        abort();
    }
    atexit(remove_dir);
    static const char bars[] = "timestamp,symbol,open,high,low,close,volume\n"
                               "2024-03-04T14:30:00Z,AAPL,175,175.2,174.9,175.1,81743\n";
    static const char news[] = "timestamp,symbol,impact,headline\n"
                               "2024-03-04T15:00:00Z,AAPL,medium,Apple news\n";
    static const char module[] = "return {}\n";
    static const char rule[] = "return { name = \"r\", check = function() return false end }\n";
    write_file("bars.csv", bars, sizeof bars - 1);
    write_file("news.csv", news, sizeof news - 1);
    write_file("bias.lua", module, sizeof module - 1);
    write_file("strategy.lua", module, sizeof module - 1);
    write_file("rule.lua", rule, sizeof rule - 1);
    snprintf(pipeline_path, sizeof pipeline_path, "%s/pipeline.lua", dir);
    return 0;
}

static void check_config(const pipeline_config *cfg)
{
    FUZZ_CHECK(memchr(cfg->name, '\0', sizeof cfg->name) && cfg->name[0] != '\0');
    FUZZ_CHECK(cfg->nsymbols >= 0 && (cfg->nsymbols == 0 || cfg->symbols));
    for (int i = 0; i < cfg->nsymbols; i++)
        FUZZ_CHECK(memchr(cfg->symbols[i], '\0', SYMBOL_MAX) && cfg->symbols[i][0]);
    FUZZ_CHECK(cfg->data.nfiles >= 0 && (cfg->data.nfiles == 0 || cfg->data.files));
    for (int i = 0; i < cfg->data.nfiles; i++)
        FUZZ_CHECK(cfg->data.files[i] != NULL);
    FUZZ_CHECK(cfg->ninstructions >= 0 && (cfg->ninstructions == 0 || cfg->instructions));
    for (int i = 0; i < cfg->ninstructions; i++)
        FUZZ_CHECK(cfg->instructions[i].value != NULL);
    FUZZ_CHECK(cfg->ninstruments >= 0 && (cfg->ninstruments == 0 || cfg->instruments));
    FUZZ_CHECK(cfg->exits.nstages >= 0 && cfg->exits.nstages <= CONFIG_MAX_PARTIAL_STAGES);
    FUZZ_CHECK(cfg->monitoring.nretry_backoff >= 0 &&
               cfg->monitoring.nretry_backoff <= CONFIG_MAX_BACKOFF_STEPS);
    FUZZ_CHECK(cfg->notifications.nwebhooks >= 0 &&
               (cfg->notifications.nwebhooks == 0 || cfg->notifications.webhooks));
    for (int i = 0; i < cfg->notifications.nwebhooks; i++)
        FUZZ_CHECK(memchr(cfg->notifications.webhooks[i].url, '\0',
                          sizeof cfg->notifications.webhooks[i].url) != NULL);
    for (int i = 0; i < cfg->notifications.ntelegram_chat_ids; i++)
        FUZZ_CHECK(cfg->notifications.telegram_chat_ids[i] != NULL);
    /* The lookup every pipeline makes per symbol. */
    for (int i = 0; i < cfg->nsymbols; i++)
        config_instrument(cfg, cfg->symbols[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    write_file("pipeline.lua", (const char *)data, size);
    pipeline_config cfg;
    config_defaults(&cfg);
    diag_list diags;
    diag_init(&diags);
    int problems = script_load_pipeline(pipeline_path, &cfg, &diags);
    FUZZ_CHECK(problems >= 0);
    /* every problem is listed, up to DIAG_MAX and a line saying the rest are not shown */
    FUZZ_CHECK(problems == diags.count || (problems > DIAG_MAX && diags.count == DIAG_MAX + 1));
    for (int i = 0; i < diags.count; i++)
        FUZZ_CHECK(diags.items[i] != NULL);
    if (problems == 0)
        check_config(&cfg);
    diag_free(&diags);
    config_free(&cfg);
    return 0;
}
