#include "cli/cli.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/risk_cmds.h"
#include "cli/approvals.h"
#include "cli/new_cmd.h"
#include "cli/optimize.h"
#include "cli/status.h"
#include "market/timestamp.h"
#include "model/execution.h"
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
    "  close ID [--db FILE]      close execution ID's position at market (by hand)\n"
    "  new strategy NAME         write a commented strategy and a pipeline that runs it\n"
    "  optimize PIPELINE.lua --grid P=SPEC...  backtest parameter sets in parallel, ranked\n"
    "  version                   print the version\n"
    "\n"
    "`apex-host <command> --help` describes each command. Options take their value as the\n"
    "next argument or after '=': --db FILE or --db=FILE.\n"
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
    "  --param P=V      set a parameter for this run: strategy.NAME or bias.NAME (the\n"
    "                   module's declared params) or a pipeline field (risk.max_positions);\n"
    "                   checked as if written in the pipeline file; repeatable. V is\n"
    "                   true/false, a number or text; a list in brackets, [AAPL,MSFT]\n"
    "  --strict         exit with code 7 if any script call raised an error\n"
    "  --from T, --to T replay only bars from T to T (UTC dates or RFC 3339 times; a date\n"
    "                   as --to is the whole day); earlier bars only warm up the scripts\n"
    "  --metrics FILE   write the metrics in Prometheus text format to FILE at the end\n"
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
    "  --metrics FILE\n"
    "              write the metrics (docs/metrics.md) in Prometheus text format to FILE\n"
    "              at the end of the run\n"
    "  --report F  write a self-contained HTML report to F: metrics, charts, trades\n"
    "  --trades F  write every trade to F: CSV if F ends in .csv, JSON if in .json\n"
    "  --param P=V set a parameter for this run: strategy.NAME or bias.NAME (the\n"
    "              module's declared params) or a pipeline field (risk.max_positions);\n"
    "              checked as if written in the pipeline file; repeatable. V is\n"
    "              true/false, a number or text; a list in brackets, [AAPL,MSFT]\n"
    "  --strict    exit with code 7 if any script call raised an error (use it in CI\n"
    "              and parameter sweeps, where a failing strategy must not pass)\n"
    "  --from T    trade only bars from T (a UTC date 2024-03-05 or an RFC 3339 time);\n"
    "              earlier bars still run through the scripts to warm up indicators\n"
    "  --to T      stop after the bars of T (a date means the end of that day)\n"
    "  --quiet     print only warnings and the summary (and no progress line)\n"
    "  --verbose   also print every monitoring check\n";

static const char *const usage_check =
    "usage: apex-host check [--connect] [--param P=V]... PIPELINE.lua...\n"
    "\n"
    "Loads each pipeline as `run` would (fields, scripts, instructions, data files, the\n"
    "broker's URLs and credentials, never printed) and prints every problem with its file\n"
    "and line or field. Exit code 3 if any.\n"
    "  --connect   also make one authenticated account request to each pipeline's broker\n"
    "              and print what it answered\n"
    "  --param P=V check with this parameter set, as backtest --param would\n";

static const char *const usage_serve =
    "usage: apex-host serve --db FILE [--http ADDR]\n"
    "\n"
    "Serves a store's JSON API, push stream and dashboard read-only, without trading: a\n"
    "finished backtest's results, or a store another apex-host is running on. Every\n"
    "state-changing call is refused (405). Runs until SIGINT or SIGTERM.\n"
    "  --db FILE    the store (required)\n"
    "  --http ADDR  where to listen, HOST:PORT (default 127.0.0.1:8080)\n";

static const char *const usage_status =
    "usage: apex-host status [options]\n"
    "\n"
    "Prints executions, open positions with their monitoring state, exits, open orders and\n"
    "the most recent events from the store.\n"
    "\n"
    "options:\n"
    "  --db FILE          the store (default apex.db)\n"
    "  --limit N          finished executions and exits listed (default 20; active\n"
    "                     executions are always listed unless --status narrows them)\n"
    "  --events N         events listed (default 20)\n"
    "  --status STATUS    only executions with this status (pending, running, monitoring,\n"
    "                     completed, failed, cancelled, paused, skipped): the N latest\n"
    "  --pipeline NAME    only this pipeline's rows, in every section\n"
    "  --symbol SYMBOL    only this symbol's executions, positions, exits, orders, events\n"
    "\n"
    "Options also take the form --option=value.\n";

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

/* --param PATH=VALUE: a dotted path of names, '=', a value (possibly empty). */
static int param_syntax(const char *p)
{
    const char *eq = strchr(p, '=');
    if (!eq || eq == p || eq - p > 200 || p[0] == '.' || eq[-1] == '.')
        return -1;
    for (const char *c = p; c < eq; c++)
        if (!(isalnum((unsigned char)*c) || *c == '_' || (*c == '.' && c[1] != '.')))
            return -1;
    return 0;
}

static int cmd_trade(int argc, char **argv, int backtest)
{
    const char *usage = backtest ? usage_backtest : usage_run;
    host_options opt = {.backtest = backtest, .db_path = backtest ? NULL : "apex.db"};
    server_options http = {0};
    host_observer observer;
    const char **paths = calloc((size_t)argc, sizeof *paths);
    const char **params = calloc((size_t)argc, sizeof *params);
    int npaths = 0, nparams = 0;
    if (!paths || !params) {
        free(paths);
        free(params);
        return EXIT_RUNTIME;
    }
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        int needs_value = strcmp(a, "--db") == 0 || strcmp(a, "--speed") == 0 ||
                          strcmp(a, "--max-seconds") == 0 || strcmp(a, "--metrics") == 0 ||
                          strcmp(a, "--report") == 0 || strcmp(a, "--trades") == 0 ||
                          strcmp(a, "--http") == 0 || strcmp(a, "--param") == 0 ||
                          strcmp(a, "--from") == 0 || strcmp(a, "--to") == 0;
        if (needs_value && i + 1 >= argc) {
            free(paths);
            free(params);
            return usage_error(usage, "%s needs a value", a);
        }
        if (strcmp(a, "--param") == 0 || strncmp(a, "--param=", 8) == 0) {
            const char *pv = a[7] == '=' ? a + 8 : argv[++i];
            if (param_syntax(pv) != 0) {
                free(paths);
                free(params);
                return usage_error(usage, "--param '%s': write PATH=VALUE, e.g. strategy.fast=5",
                                   pv);
            }
            params[nparams++] = pv;
        } else if (strcmp(a, "--from") == 0 || strcmp(a, "--to") == 0) {
            const char *v = argv[++i];
            apex_time t;
            if (timestamp_parse(v, strlen(v), &t) != 0) {
                free(paths);
                free(params);
                return usage_error(usage,
                                   "'%s' is not a date or time; write 2024-03-05 or "
                                   "2024-03-05T14:30:00Z (UTC)",
                                   v);
            }
            /* A bare date as --to means that whole day: --from D --to D trades one day. */
            if (a[2] == 't' && strlen(v) == 10)
                t += 86400 * APEX_SECOND - 1;
            *(a[2] == 'f' ? &opt.from_ts : &opt.to_ts) = t;
        } else if (strcmp(a, "--db") == 0) {
            opt.db_path = argv[++i];
        } else if (strcmp(a, "--metrics") == 0) {
            opt.metrics_path = argv[++i];
        } else if (!backtest && strcmp(a, "--speed") == 0) {
            if (parse_number(argv[++i], &opt.speed) != 0 || opt.speed <= 0) {
                free(paths);
                free(params);
                return usage_error(usage, "--speed: '%s' is not a positive number", argv[i]);
            }
        } else if (!backtest && strcmp(a, "--max-seconds") == 0) {
            if (parse_number(argv[++i], &opt.max_seconds) != 0 || opt.max_seconds <= 0) {
                free(paths);
                free(params);
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
        } else if (backtest && strcmp(a, "--report") == 0) {
            opt.report_path = argv[++i];
        } else if (backtest && strcmp(a, "--trades") == 0) {
            opt.trades_path = argv[++i];
            size_t n = strlen(opt.trades_path);
            if (!(n > 4 && strcmp(opt.trades_path + n - 4, ".csv") == 0) &&
                !(n > 5 && strcmp(opt.trades_path + n - 5, ".json") == 0)) {
                free(paths);
                free(params);
                return usage_error(usage, "--trades: '%s' must end in .csv or .json", argv[i]);
            }
        } else if (backtest && strcmp(a, "--force") == 0) {
            opt.force = 1;
        } else if (strcmp(a, "--strict") == 0) {
            opt.strict = 1;
        } else if (strcmp(a, "--quiet") == 0) {
            opt.quiet = 1;
        } else if (strcmp(a, "--verbose") == 0) {
            opt.verbose = 1;
        } else if (a[0] == '-' && a[1] != '\0') {
            free(paths);
            free(params);
            return usage_error(usage, "unknown option '%s'", a);
        } else {
            paths[npaths++] = a;
        }
    }
    if (npaths == 0) {
        free(paths);
        free(params);
        return usage_error(usage, "%s", "name at least one pipeline file");
    }
    /* A backtest always starts from an empty store, so its results stand alone. */
    if (backtest)
        opt.fresh = 1;
    /* A progress line only where a person watches it: a terminal, and not --quiet. */
    opt.progress = backtest && !opt.quiet && isatty(STDERR_FILENO);
    if (opt.from_ts && opt.to_ts && opt.to_ts < opt.from_ts) {
        free(paths);
        free(params);
        return usage_error(usage, "%s", "--to is before --from; nothing would be traded");
    }
    opt.params = params;
    opt.nparams = nparams;
    if (http.listen) {
        observer = server_observer(&http);
        opt.observer = &observer;
    }
    int code = host_main(paths, npaths, &opt);
    free(paths);
    free(params);
    return code;
}

static int cmd_check(int argc, char **argv)
{
    if (argc < 3)
        return usage_error(usage_check, "%s", "name at least one pipeline file");
    bool connect = false;
    const char **paths = calloc((size_t)argc, sizeof *paths);
    const char **params = calloc((size_t)argc, sizeof *params);
    int n = 0, nparams = 0;
    if (!paths || !params) {
        free(paths);
        free(params);
        return EXIT_RUNTIME;
    }
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--connect") == 0) {
            connect = true;
        } else if (strcmp(argv[i], "--param") == 0 || strncmp(argv[i], "--param=", 8) == 0) {
            const char *pv = argv[i][7] == '=' ? argv[i] + 8 : (i + 1 < argc ? argv[++i] : "");
            if (param_syntax(pv) != 0) {
                free(paths);
                free(params);
                return usage_error(usage_check,
                                   "--param '%s': write PATH=VALUE, e.g. strategy.fast=5", pv);
            }
            params[nparams++] = pv;
        } else if (argv[i][0] == '-') {
            free(paths);
            free(params);
            return usage_error(usage_check, "unknown option '%s'", argv[i]);
        } else {
            paths[n++] = argv[i];
        }
    }
    if (n == 0) {
        free(paths);
        free(params);
        return usage_error(usage_check, "%s", "name at least one pipeline file");
    }
    int code = host_check(paths, n, connect, params, nparams);
    free(paths);
    free(params);
    return code;
}

static int cmd_status(int argc, char **argv)
{
    const char *db = "apex.db";
    double events = 20, limit = 20;
    cli_status_filter f = {.limit = 20, .events = 20};
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        int needs_value = strcmp(a, "--db") == 0 || strcmp(a, "--events") == 0 ||
                          strcmp(a, "--limit") == 0 || strcmp(a, "--status") == 0 ||
                          strcmp(a, "--pipeline") == 0 || strcmp(a, "--symbol") == 0;
        if (needs_value && i + 1 >= argc)
            return usage_error(usage_status, "%s needs a value", a);
        if (strcmp(a, "--db") == 0) {
            db = argv[++i];
        } else if (strcmp(a, "--events") == 0) {
            if (parse_number(argv[++i], &events) != 0 || events < 0 || events > 1e6)
                return usage_error(usage_status, "--events: '%s' is not a count", argv[i]);
        } else if (strcmp(a, "--limit") == 0) {
            if (parse_number(argv[++i], &limit) != 0 || limit < 0 || limit > 1e6)
                return usage_error(usage_status, "--limit: '%s' is not a count", argv[i]);
        } else if (strcmp(a, "--status") == 0) {
            f.status = argv[++i];
            if (exec_status_parse(f.status) < 0)
                return usage_error(usage_status,
                                   "--status: '%s' is not a status (pending, running, "
                                   "monitoring, completed, failed, cancelled, paused, skipped)",
                                   f.status);
        } else if (strcmp(a, "--pipeline") == 0) {
            f.pipeline = argv[++i];
        } else if (strcmp(a, "--symbol") == 0) {
            f.symbol = argv[++i];
        } else {
            return usage_error(usage_status, "unexpected argument '%s'", a);
        }
    }
    f.events = (int)events;
    f.limit = (int)limit;
    store *s = cli_open_store(db);
    if (!s)
        return EXIT_STORE;
    apex_error failure;
    int rc = cli_status_print_filtered(s, stdout, &f, &failure);
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

/* Options that never take a value: "--fresh=1" is a mistake to report, not to split. */
static bool is_flag(const char *name, size_t len)
{
    static const char *const flags[] = {"--fresh",   "--force",   "--quiet",
                                        "--verbose", "--connect", "--help"};
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        if (strlen(flags[i]) == len && strncmp(name, flags[i], len) == 0)
            return true;
    return false;
}

/* Every option of every command also takes the form --opt=value (GNU style): each such
 * argument is split in two here, once, so the commands parse only "--opt value". The
 * strings are copied into one block the caller frees with the array. Returns NULL after
 * printing the error (a flag given a value), or on out of memory (*code says which). */
static char **split_option_values(int argc, char **argv, int *out_argc, int *code)
{
    int extra = 0;
    size_t bytes = 0;
    for (int i = 1; i < argc; i++) {
        const char *eq = argv[i][0] == '-' && argv[i][1] == '-' ? strchr(argv[i], '=') : NULL;
        if (!eq)
            continue;
        if (is_flag(argv[i], (size_t)(eq - argv[i]))) {
            fprintf(stderr,
                    "apex-host: %.*s takes no value (given '%s'); `apex-host %s --help` "
                    "lists the options\n",
                    (int)(eq - argv[i]), argv[i], eq + 1, argc > 1 ? argv[1] : "");
            *code = EXIT_USAGE;
            return NULL;
        }
        extra++;
        bytes += strlen(argv[i]) + 1;
    }
    char **out = malloc((size_t)(argc + extra + 1) * sizeof *out + bytes);
    if (!out) {
        *code = EXIT_RUNTIME;
        return NULL;
    }
    char *text = (char *)(out + argc + extra + 1);
    int n = 0;
    for (int i = 0; i < argc; i++) {
        const char *eq =
            i > 0 && argv[i][0] == '-' && argv[i][1] == '-' ? strchr(argv[i], '=') : NULL;
        if (!eq) {
            out[n++] = argv[i];
            continue;
        }
        size_t len = strlen(argv[i]) + 1;
        memcpy(text, argv[i], len);
        text[eq - argv[i]] = '\0';
        out[n++] = text;
        out[n++] = text + (eq - argv[i]) + 1;
        text += len;
    }
    out[n] = NULL;
    *out_argc = n;
    return out;
}

static int dispatch(int argc, char **argv);

/* After `make install`, where the type annotations and examples are: share/apex-host
 * beside the binary's bin/, whatever PREFIX (and DESTDIR) it was installed under. */
static void print_share_dir(void)
{
    char exe[4096], share[4200];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return;
    *slash = '\0';
    snprintf(share, sizeof share, "%s/../share/apex-host/types/apex.lua", exe);
    char real[4096];
    if (!realpath(share, real))
        return; /* run from a build tree: the types are in the source tree's types/ */
    *strrchr(real, '/') = '\0';
    *strrchr(real, '/') = '\0';
    printf("share: %s (types/apex.lua for editors; strategies/, instructions/)\n", real);
}

int cli_main(int argc, char **argv)
{
    int code = EXIT_OK, n = 0;
    char **args = split_option_values(argc, argv, &n, &code);
    if (!args)
        return code;
    code = dispatch(n, args);
    free(args);
    return code;
}

static int dispatch(int argc, char **argv)
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
                 {"close", cli_usage_close},
                 {"new", cli_usage_new},
                 {"optimize", cli_usage_optimize},
                 {"version", "usage: apex-host version\n"}};
    for (size_t i = 0; i < sizeof helps / sizeof helps[0]; i++) {
        if (strcmp(cmd, helps[i].name) == 0 && wants_help(argc, argv)) {
            fputs(helps[i].usage, stdout);
            return EXIT_OK;
        }
    }
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("apex-host %s\n", APEX_VERSION);
        print_share_dir();
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
    if (strcmp(cmd, "close") == 0)
        return cli_close(argc, argv);
    if (strcmp(cmd, "new") == 0)
        return cli_new(argc, argv);
    if (strcmp(cmd, "optimize") == 0)
        return cli_optimize(argc, argv);
    return usage_error(usage_main, "unknown command '%s'", cmd);
}
