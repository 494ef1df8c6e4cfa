/* risk_cmds: `apex-host resume` and `apex-host reduce-only`, against a store.
 *
 * Both write the store's meta table (the keys pipeline/portfolio.c reads when an entry
 * reaches the risk stage), so they work the same against a running host and a stopped
 * one: the running host acts at its next entry, a stopped one when it starts. Each writes
 * a `risk_mode` event. */
#include "cli/cli.h"
#include "cli/risk_cmds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pipeline/host.h"
#include "pipeline/risk_mode.h"
#include "risk/drawdown.h"
#include "store/store.h"

const char *const cli_usage_resume =
    "usage: apex-host resume [--db FILE] [PIPELINE]\n"
    "\n"
    "Resumes entries after the drawdown breaker (risk.max_drawdown_pct) tripped, for\n"
    "PIPELINE or every pipeline of the store (default apex.db). A running host resumes at\n"
    "the next signal that reaches its risk stage; a stopped one when it starts. The\n"
    "drawdown is then measured from the equity at that moment.\n";

const char *const cli_usage_reduce_only =
    "usage: apex-host reduce-only on|off [--db FILE] [PIPELINE]\n"
    "\n"
    "Switches PIPELINE, or every pipeline of the store (default apex.db), into reduce-only\n"
    "mode (on) or back (off): new entries are skipped with the reason, exits go on. A\n"
    "running host applies it at its next signal. A pipeline's own setting and the\n"
    "store-wide one are separate: either being on is enough.\n";

typedef struct {
    const char *db;
    const char *pipeline; /* NULL: every pipeline */
    const char *mode;     /* reduce-only: "on" or "off" */
} risk_args;

static int usage(const char *text, const char *fmt, const char *arg)
{
    fprintf(stderr, "apex-host: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n\n%s", text);
    return EXIT_USAGE;
}

/* [--db FILE] and one or two words (the mode when want_mode, then the pipeline). */
static int parse(int argc, char **argv, bool want_mode, const char *text, risk_args *a)
{
    *a = (risk_args){.db = "apex.db"};
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
            a->db = argv[++i];
        else if (argv[i][0] == '-')
            return usage(text, "unexpected option '%s'", argv[i]);
        else if (want_mode && !a->mode)
            a->mode = argv[i];
        else if (!a->pipeline)
            a->pipeline = argv[i];
        else
            return usage(text, "unexpected argument '%s'", argv[i]);
    }
    if (want_mode && !a->mode)
        return usage(text, "%s", "say on or off");
    if (want_mode && strcmp(a->mode, "on") != 0 && strcmp(a->mode, "off") != 0)
        return usage(text, "'%s' is neither on nor off", a->mode);
    return 0;
}

static apex_time wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (apex_time)ts.tv_sec * APEX_SECOND + ts.tv_nsec / 1000;
}

static void key_for(char *buf, size_t len, const char *what, const char *pipeline)
{
    snprintf(buf, len, "risk.%s%s%s", what, pipeline ? ":" : "", pipeline ? pipeline : "");
}

/* Prints each tripped breaker the resume releases; counts them. */
typedef struct {
    const char *only; /* NULL: every pipeline */
    int tripped;
} resume_scan;

static int print_tripped(void *ud, const char *key, const char *value)
{
    resume_scan *sc = ud;
    const char *name = key + strlen("risk.drawdown:");
    risk_drawdown d;
    if ((sc->only && strcmp(name, sc->only) != 0) || !risk_drawdown_parse(value, &d))
        return 0;
    char eb[32], pb[32], fb[32];
    printf("%s: drawdown breaker (equity %s, %s%% below its peak %s) resumes\n", name,
           money_format_trim(d.equity, 2, eb, sizeof eb),
           money_format(risk_drawdown_fraction(&d) * 100, 2, fb, sizeof fb),
           money_format_trim(d.peak, 2, pb, sizeof pb));
    sc->tripped++;
    return 0;
}

static int finish(store *s, int rc, apex_error *e)
{
    if (rc != 0)
        fprintf(stderr, "apex-host: %s\n", e->msg);
    store_close(s);
    return rc == 0 ? EXIT_OK : EXIT_STORE;
}

int cli_resume(int argc, char **argv)
{
    risk_args a;
    int rc = parse(argc, argv, false, cli_usage_resume, &a);
    if (rc)
        return rc;
    store *s = cli_open_store(a.db);
    if (!s)
        return EXIT_STORE;
    resume_scan sc = {.only = a.pipeline};
    apex_error e = {0};
    if ((rc = store_meta_each(s, "risk.drawdown:", print_tripped, &sc)) != 0) {
        snprintf(e.msg, sizeof e.msg, "%s", store_errmsg(s));
        return finish(s, rc, &e);
    }
    if (sc.tripped == 0)
        printf("no tripped drawdown breaker for %s in %s; entries are not halted by it\n",
               a.pipeline ? a.pipeline : "any pipeline", a.db);
    /* The counter, not a flag: the breaker remembers the value it tripped at, so a resume
     * given before a later trip never releases that one. */
    char key[160], value[32] = "";
    key_for(key, sizeof key, "resume", a.pipeline);
    store_meta_get(s, key, value, sizeof value);
    snprintf(value, sizeof value, "%lld", atoll(value) + 1);
    rc = store_meta_set(s, key, value, &e);
    if (rc == 0)
        rc = store_event(s, wall_now(), a.pipeline ? a.pipeline : "", 0, "risk_mode", &e,
                         "resume by hand (apex-host resume%s%s)", a.pipeline ? " " : "",
                         a.pipeline ? a.pipeline : "");
    return finish(s, rc, &e);
}

int cli_reduce_only(int argc, char **argv)
{
    risk_args a;
    int rc = parse(argc, argv, true, cli_usage_reduce_only, &a);
    if (rc)
        return rc;
    store *s = cli_open_store(a.db);
    if (!s)
        return EXIT_STORE;
    apex_error e = {0};
    bool on = strcmp(a.mode, "on") == 0;
    rc = risk_mode_set_reduce_only(s, a.pipeline, on, NULL, &e);
    if (rc == 0)
        printf("reduce-only %s for %s: %s\n", a.mode, a.pipeline ? a.pipeline : "every pipeline",
               on ? "new entries are skipped, exits go on" : "entries allowed again");
    return finish(s, rc, &e);
}
