#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/risk_cmds.h"
#include "cli/approvals.h"
#include "cli/status.h"
#include "pipeline/host.h"
#include "store/store.h"

static const char *const usage_main =
    "usage: apex-host <command> [options]\n"
    "\n"
    "commands:\n"
    "  run PIPELINE.lua...       trade: replayed data at --speed, or a followed live feed\n"
    "  backtest PIPELINE.lua...  the same code on a simulated clock, as fast as possible\n"
    "  check PIPELINE.lua...     load and validate everything; trade nothing\n"
    "  status [--db FILE]        executions, positions, orders and events from the store\n"
    "  resume [PIPELINE]         resume entries after the drawdown breaker\n"
    "  reduce-only on|off [PIPELINE]  exits only, no new entries (or back)\n"
    "  approvals [--db FILE]     approval requests waiting for an answer\n"
    "  approve ID [--db FILE]    approve a request; the running host sends it\n"
    "  reject ID [--reason TEXT] [--db FILE]  reject a request; the running host skips it\n"
    "  version                   print the version\n"
    "\n"
    "`apex-host <command> --help` describes each command.\n"
    "\n"
    "exit codes: 0 ok; 1 a data or store error stopped the run; 2 bad command line;\n"
    "            3 a pipeline failed validation; 4 the database could not be opened, is in\n"
    "            use by another apex-host, or holds a live run; 5 a backtest was interrupted;\n"
    "            6 a script was stuck in C code past every limit (docs/security.md)\n";

static const char *const usage_run =
    "usage: apex-host run [options] PIPELINE.lua...\n"
    "\n"
    "Trades the pipelines on their brokers (the embedded paper broker by default).\n"
    "Replayed data plays at --speed times real time; overnight gaps are skipped. A pipeline\n"
    "with data.follow = true tails its files and runs until SIGINT/SIGTERM. Stopping is\n"
    "always safe: state is durable and the next run resumes monitoring open positions.\n"
    "\n"
    "options:\n"
    "  --db FILE        the store (default apex.db); paper accounts live beside it\n"
    "  --speed N        replay speed (default: the pipeline's data.speed, else 1)\n"
    "  --fresh          delete the store and its paper accounts first\n"
    "  --max-seconds S  stop after S seconds of wall time\n"
    "  --quiet          print only warnings and the summary\n"
    "  --verbose        also print every monitoring check\n";

static const char *const usage_backtest =
    "usage: apex-host backtest [options] PIPELINE.lua...\n"
    "\n"
    "Runs the pipelines over their data on a simulated clock, as fast as the machine\n"
    "allows, with the same code as `run`. The store starts empty each time. SIGINT stops it\n"
    "with the summary of what ran (exit code 5); a second SIGINT ends it at once.\n"
    "\n"
    "options:\n"
    "  --db FILE   the store to write (default: a new file results/<pipeline>-<time>.db;\n"
    "              \":memory:\" keeps nothing)\n"
    "  --force     replace FILE even if a live `run` wrote it\n"
    "  --report F  write a self-contained HTML report to F: metrics, charts, trades\n"
    "  --trades F  write every trade to F: CSV if F ends in .csv, JSON if in .json\n"
    "  --quiet     print only warnings and the summary (and no progress line)\n"
    "  --verbose   also print every monitoring check\n";

static const char *const usage_check =
    "usage: apex-host check [--connect] PIPELINE.lua...\n"
    "\n"
    "Loads each pipeline as `run` would (fields, scripts, instructions, data files, the\n"
    "broker's URLs and credentials, never printed) and prints every problem with its file\n"
    "and line or field. Exit code 3 if any.\n"
    "  --connect   also make one authenticated account request to each pipeline's broker\n"
    "              and print what it answered\n";

static const char *const usage_status =
    "usage: apex-host status [--db FILE] [--events N]\n"
    "\n"
    "Prints executions, open positions with their monitoring state, open orders and the\n"
    "N most recent events (default 20) from the store (default apex.db).\n";

store *cli_open_store(const char *db)
{
    FILE *probe = fopen(db, "r");
    if (!probe) {
        fprintf(stderr, "apex-host: %s: no such store; run a pipeline first or pass --db\n", db);
        return NULL;
    }
    fclose(probe);
    char err[512];
    store *s = store_open(db, STORE_DURABLE, err, sizeof err);
    if (!s)
        fprintf(stderr, "apex-host: %s\n", err);
    return s;
}

int cli_usage_error(const char *usage, const char *fmt, const char *arg)
{
    fprintf(stderr, "apex-host: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n\n%s", usage);
    return EXIT_USAGE;
}

#define usage_error cli_usage_error

static int wants_help(int argc, char **argv)
{
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    return 0;
}

static int parse_number(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || v != v)
        return -1;
    *out = v;
    return 0;
}

static int cmd_trade(int argc, char **argv, int backtest)
{
    const char *usage = backtest ? usage_backtest : usage_run;
    host_options opt = {.backtest = backtest, .db_path = backtest ? NULL : "apex.db"};
    const char **paths = calloc((size_t)argc, sizeof *paths);
    int npaths = 0;
    if (!paths)
        return EXIT_RUNTIME;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        int needs_value = strcmp(a, "--db") == 0 || strcmp(a, "--speed") == 0 ||
                          strcmp(a, "--max-seconds") == 0 || strcmp(a, "--report") == 0 ||
                          strcmp(a, "--trades") == 0;
        if (needs_value && i + 1 >= argc) {
            free(paths);
            return usage_error(usage, "%s needs a value", a);
        }
        if (strcmp(a, "--db") == 0) {
            opt.db_path = argv[++i];
        } else if (!backtest && strcmp(a, "--speed") == 0) {
            if (parse_number(argv[++i], &opt.speed) != 0 || opt.speed <= 0) {
                free(paths);
                return usage_error(usage, "--speed: '%s' is not a positive number", argv[i]);
            }
        } else if (!backtest && strcmp(a, "--max-seconds") == 0) {
            if (parse_number(argv[++i], &opt.max_seconds) != 0 || opt.max_seconds <= 0) {
                free(paths);
                return usage_error(usage, "--max-seconds: '%s' is not a positive number", argv[i]);
            }
        } else if (!backtest && strcmp(a, "--fresh") == 0) {
            opt.fresh = 1;
        } else if (backtest && strcmp(a, "--report") == 0) {
            opt.report_path = argv[++i];
        } else if (backtest && strcmp(a, "--trades") == 0) {
            opt.trades_path = argv[++i];
            size_t n = strlen(opt.trades_path);
            if (!(n > 4 && strcmp(opt.trades_path + n - 4, ".csv") == 0) &&
                !(n > 5 && strcmp(opt.trades_path + n - 5, ".json") == 0)) {
                free(paths);
                return usage_error(usage, "--trades: '%s' must end in .csv or .json", argv[i]);
            }
        } else if (backtest && strcmp(a, "--force") == 0) {
            opt.force = 1;
        } else if (strcmp(a, "--quiet") == 0) {
            opt.quiet = 1;
        } else if (strcmp(a, "--verbose") == 0) {
            opt.verbose = 1;
        } else if (a[0] == '-' && a[1] != '\0') {
            free(paths);
            return usage_error(usage, "unknown option '%s'", a);
        } else {
            paths[npaths++] = a;
        }
    }
    if (npaths == 0) {
        free(paths);
        return usage_error(usage, "%s", "name at least one pipeline file");
    }
    /* A backtest always starts from an empty store, so its results stand alone. */
    if (backtest)
        opt.fresh = 1;
    /* A progress line only where a person watches it: a terminal, and not --quiet. */
    opt.progress = backtest && !opt.quiet && isatty(STDERR_FILENO);
    int code = host_main(paths, npaths, &opt);
    free(paths);
    return code;
}

static int cmd_check(int argc, char **argv)
{
    if (argc < 3)
        return usage_error(usage_check, "%s", "name at least one pipeline file");
    bool connect = false;
    const char **paths = calloc((size_t)argc, sizeof *paths);
    int n = 0;
    if (!paths)
        return EXIT_RUNTIME;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--connect") == 0) {
            connect = true;
        } else if (argv[i][0] == '-') {
            free(paths);
            return usage_error(usage_check, "unknown option '%s'", argv[i]);
        } else {
            paths[n++] = argv[i];
        }
    }
    if (n == 0) {
        free(paths);
        return usage_error(usage_check, "%s", "name at least one pipeline file");
    }
    int code = host_check(paths, n, connect);
    free(paths);
    return code;
}

static int cmd_status(int argc, char **argv)
{
    const char *db = "apex.db";
    double events = 20;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--db") == 0 && i + 1 < argc) {
            db = argv[++i];
        } else if (strcmp(argv[i], "--events") == 0 && i + 1 < argc) {
            if (parse_number(argv[++i], &events) != 0 || events < 0)
                return usage_error(usage_status, "--events: '%s' is not a count", argv[i]);
        } else {
            return usage_error(usage_status, "unexpected argument '%s'", argv[i]);
        }
    }
    store *s = cli_open_store(db);
    if (!s)
        return EXIT_STORE;
    apex_error failure;
    int rc = cli_status_print(s, stdout, (int)events, &failure);
    store_close(s);
    if (rc != 0)
        fprintf(stderr, "apex-host: %s\n", failure.msg);
    return rc == 0 ? EXIT_OK : EXIT_STORE;
}

int cli_main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(usage_main, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    const char *cmd = argv[1];
    struct {
        const char *name, *usage;
    } helps[] = {{"run", usage_run},
                 {"backtest", usage_backtest},
                 {"check", usage_check},
                 {"status", usage_status},
                 {"resume", cli_usage_resume},
                 {"reduce-only", cli_usage_reduce_only},
                 {"approvals", cli_usage_approvals},
                 {"approve", cli_usage_approve},
                 {"reject", cli_usage_reject},
                 {"version", "usage: apex-host version\n"}};
    for (size_t i = 0; i < sizeof helps / sizeof helps[0]; i++) {
        if (strcmp(cmd, helps[i].name) == 0 && wants_help(argc, argv)) {
            fputs(helps[i].usage, stdout);
            return EXIT_OK;
        }
    }
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("apex-host %s\n", APEX_VERSION);
        return EXIT_OK;
    }
    if (strcmp(cmd, "run") == 0)
        return cmd_trade(argc, argv, 0);
    if (strcmp(cmd, "backtest") == 0)
        return cmd_trade(argc, argv, 1);
    if (strcmp(cmd, "check") == 0)
        return cmd_check(argc, argv);
    if (strcmp(cmd, "status") == 0)
        return cmd_status(argc, argv);
    if (strcmp(cmd, "resume") == 0)
        return cli_resume(argc, argv);
    if (strcmp(cmd, "reduce-only") == 0)
        return cli_reduce_only(argc, argv);
    if (strcmp(cmd, "approvals") == 0)
        return cli_approvals(argc, argv);
    if (strcmp(cmd, "approve") == 0 || strcmp(cmd, "reject") == 0)
        return cli_answer(argc, argv, strcmp(cmd, "approve") == 0);
    return usage_error(usage_main, "unknown command '%s'", cmd);
}
