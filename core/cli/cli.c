#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/risk_cmds.h"
#include "cli/approvals.h"
#include "cli/status.h"
#include "pipeline/host.h"
#include "server/server.h"
#include "store/store.h"

static const char *const usage_main =
    "usage: apex-host <command> [options]\n"
    "\n"
    "commands:\n"
    "  run PIPELINE.lua...       trade: replayed data at --speed, or a followed live feed\n"
    "  backtest PIPELINE.lua...  the same code on a simulated clock, as fast as possible\n"
    "  check PIPELINE.lua...     load and validate everything; trade nothing\n"
    "  status [--db FILE]        executions, positions, orders and events from the store\n"
    "  serve --db FILE [--http ADDR]  the HTTP API and dashboard over a store, read-only\n"
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
    "  --http ADDR      serve the JSON API, the stream and the dashboard on ADDR\n"
    "                   (HOST:PORT, e.g. 127.0.0.1:8080; docs/api.md); off by default\n"
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
    "  --quiet     print only warnings and the summary\n"
    "  --verbose   also print every monitoring check\n";

static const char *const usage_check =
    "usage: apex-host check [--connect] PIPELINE.lua...\n"
    "\n"
    "Loads each pipeline as `run` would (fields, scripts, instructions, data files, the\n"
    "broker's URLs and credentials, never printed) and prints every problem with its file\n"
    "and line or field. Exit code 3 if any.\n"
    "  --connect   also make one authenticated account request to each pipeline's broker\n"
    "              and print what it answered\n";

static const char *const usage_serve =
    "usage: apex-host serve --db FILE [--http ADDR]\n"
    "\n"
    "Serves a store's JSON API, push stream and dashboard read-only, without trading: a\n"
    "finished backtest's results, or a store another apex-host is running on. Every\n"
    "state-changing call is refused (405). Runs until SIGINT or SIGTERM.\n"
    "  --db FILE    the store (required)\n"
    "  --http ADDR  where to listen, HOST:PORT (default 127.0.0.1:8080)\n";

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
    server_options http = {0};
    host_observer observer;
    const char **paths = calloc((size_t)argc, sizeof *paths);
    int npaths = 0;
    if (!paths)
        return EXIT_RUNTIME;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        int needs_value = strcmp(a, "--db") == 0 || strcmp(a, "--speed") == 0 ||
                          strcmp(a, "--max-seconds") == 0 || strcmp(a, "--http") == 0;
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
        } else if (!backtest && strcmp(a, "--http") == 0) {
            http.listen = argv[++i];
            char host[256], err[256];
            int port;
            if (server_parse_listen(http.listen, host, sizeof host, &port, err, sizeof err) != 0) {
                free(paths);
                return usage_error(usage, "%s", err);
            }
        } else if (!backtest && strcmp(a, "--fresh") == 0) {
            opt.fresh = 1;
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
    if (http.listen) {
        observer = server_observer(&http);
        opt.observer = &observer;
    }
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

static int cmd_serve(int argc, char **argv)
{
    server_options o = {.listen = "127.0.0.1:8080", .read_only = true};
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
            o.db_path = argv[++i];
        else if (strcmp(argv[i], "--http") == 0 && i + 1 < argc)
            o.listen = argv[++i];
        else
            return usage_error(usage_serve, "unexpected argument '%s'", argv[i]);
    }
    if (!o.db_path)
        return usage_error(usage_serve, "%s", "name the store with --db FILE");
    char host[256], err[256];
    int port;
    if (server_parse_listen(o.listen, host, sizeof host, &port, err, sizeof err) != 0)
        return usage_error(usage_serve, "%s", err);
    FILE *probe = fopen(o.db_path, "r");
    if (!probe) {
        fprintf(stderr, "apex-host: %s: no such store\n", o.db_path);
        return EXIT_STORE;
    }
    fclose(probe);
    return server_serve(&o);
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
                 {"serve", usage_serve},
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
    if (strcmp(cmd, "serve") == 0)
        return cmd_serve(argc, argv);
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
