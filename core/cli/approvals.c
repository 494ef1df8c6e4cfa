/* approvals: the CLI's answers to approval requests (approvals.h). */
#include "cli/approvals.h"
#include "cli/cli.h"

#include <errno.h>
#include <stdbool.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "market/timestamp.h"
#include "pipeline/approval.h"
#include "pipeline/close_request.h"
#include "pipeline/host.h"
#include "util/err.h"

const char *const cli_usage_approvals =
    "usage: apex-host approvals [--db FILE]\n"
    "\n"
    "Lists the approval requests waiting for an answer in the store (default apex.db) of a\n"
    "pipeline with execution.mode = \"approval\", with the commands that answer them.\n";

const char *const cli_usage_approve =
    "usage: apex-host approve ID [--db FILE]\n"
    "\n"
    "Approves request ID (see `apex-host approvals`). The running host sends the entry within\n"
    "a second, unless the price moved beyond execution.approval_tolerance_pct (then it is\n"
    "refused as stale). The answer is recorded as cli:<your user name>.\n";

const char *const cli_usage_reject =
    "usage: apex-host reject ID [--reason TEXT] [--db FILE]\n"
    "\n"
    "Rejects request ID (see `apex-host approvals`): the running host skips the execution\n"
    "within a second, with the reason. The answer is recorded as cli:<your user name>.\n";

const char *const cli_usage_close =
    "usage: apex-host close ID [--db FILE]\n"
    "\n"
    "Closes execution ID's position by hand (see `apex-host status`): the running host closes\n"
    "all of it at market at its next monitoring check, as exit condition manual_close\n"
    "(CRITICAL). Recorded as cli:<your user name>.\n";

typedef struct {
    FILE *out;
    int n;
} listing;

static int print_one(void *ud, const store_approval *a)
{
    listing *l = ud;
    char line[512], until[40];
    approval_describe(a, line, sizeof line);
    timestamp_format(a->expires_at, until, sizeof until);
    fprintf(l->out, "  #%" PRId64 "  %s\n       expires %s UTC", a->id, line, until);
    if (a->answer != APPROVAL_ANSWER_NONE)
        fprintf(l->out, "; answered %s by %s, the host acts on it within a second\n",
                approval_answer_name(a->answer), a->answered_by);
    else
        fprintf(l->out,
                "\n       apex-host approve %" PRId64 "  |  apex-host reject %" PRId64
                " [--reason TEXT]\n",
                a->id, a->id);
    l->n++;
    return 0;
}

int cli_approvals(int argc, char **argv)
{
    const char *db = "apex.db";
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
            db = argv[++i];
        else
            return cli_usage_error(cli_usage_approvals, "unexpected argument '%s'", argv[i]);
    }
    store *s = cli_open_store(db);
    if (!s)
        return EXIT_STORE;
    listing l = {.out = stdout};
    printf("pending approvals in %s:\n", db);
    int rc = store_approvals_pending(s, print_one, &l);
    if (rc == 0 && l.n == 0)
        printf("  none\n");
    store_close(s);
    if (rc != 0)
        fprintf(stderr, "apex-host: %s: the approval requests could not be read (%s)\n", db,
                err_name(rc));
    return rc == 0 ? EXIT_OK : EXIT_STORE;
}

/* "cli:<the OS user>": who answered, as the store records it. */
static void answerer(char *out, size_t n)
{
    const struct passwd *pw = getpwuid(geteuid());
    const char *name = pw && pw->pw_name ? pw->pw_name : getenv("USER");
    snprintf(out, n, "cli:%s", name && *name ? name : "unknown");
}

/* The arguments of a command on one ID: `approve`, `reject` (and its --reason), `close`.
 * Returns 0 with *id, *db and *reason set, or the usage error's exit code. */
static int id_command_args(int argc, char **argv, const char *text, bool with_reason,
                           const char *what, long long *id, const char **db, const char **reason)
{
    const char *idarg = NULL;
    *db = "apex.db";
    *reason = NULL;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
            *db = argv[++i];
        else if (with_reason && strcmp(argv[i], "--reason") == 0 && i + 1 < argc)
            *reason = argv[++i];
        else if (!idarg && argv[i][0] != '-')
            idarg = argv[i];
        else
            return cli_usage_error(text, "unexpected argument '%s'", argv[i]);
    }
    if (!idarg)
        return cli_usage_error(text, "name the %s", what);
    char *end;
    errno = 0;
    *id = strtoll(idarg, &end, 10);
    if (errno || *end || *id <= 0)
        return cli_usage_error(text, "'%s' is not an ID (a positive number)", idarg);
    return 0;
}

int cli_answer(int argc, char **argv, int approve)
{
    const char *text = approve ? cli_usage_approve : cli_usage_reject;
    const char *db, *reason;
    long long id;
    int code =
        id_command_args(argc, argv, text, !approve,
                        "request's ID (`apex-host approvals` lists them)", &id, &db, &reason);
    if (code != 0)
        return code;
    store *s = cli_open_store(db);
    if (!s)
        return EXIT_STORE;
    char by[96], msg[768];
    answerer(by, sizeof by);
    int rc = approval_submit(s, id, approve != 0, by, reason, msg, sizeof msg);
    store_close(s);
    fprintf(rc == 0 ? stdout : stderr, "%s%s\n", rc == 0 ? "" : "apex-host: ", msg);
    return rc == 0 ? EXIT_OK : rc == APEX_ENOTFOUND || rc == APEX_ESTATE ? EXIT_USAGE : EXIT_STORE;
}

int cli_close(int argc, char **argv)
{
    const char *db, *reason;
    long long id;
    int code = id_command_args(argc, argv, cli_usage_close, false,
                               "execution's ID (`apex-host status` lists them)", &id, &db, &reason);
    if (code != 0)
        return code;
    store *s = cli_open_store(db);
    if (!s)
        return EXIT_STORE;
    char by[96], msg[512];
    answerer(by, sizeof by);
    int rc = close_request_submit(s, id, by, msg, sizeof msg);
    store_close(s);
    fprintf(rc == 0 ? stdout : stderr, "%s%s\n", rc == 0 ? "" : "apex-host: ", msg);
    return rc == 0 ? EXIT_OK : rc == APEX_ENOTFOUND || rc == APEX_ESTATE ? EXIT_USAGE : EXIT_STORE;
}
