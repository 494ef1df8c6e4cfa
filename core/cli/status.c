/* status: the `apex-host status` report, readable in a terminal.
 *
 * Each section is collected into a small table first so every column can be as wide
 * as its widest cell; numbers are right-aligned so digits line up. What to show comes
 * from the store's report queries; this file only decides how it looks. */
#include "cli/status.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "risk/drawdown.h"
#include "store/store_approvals.h"
#include "store/store_notify.h"
#include "store/store_report.h"
#include "util/log.h"

#define TABLE_MAX_COLS     14
#define CELL_MAX           160
#define RECENT_EXECUTIONS  20
#define RECENT_EXITS       20
#define RECENT_UNKNOWN     20 /* unknown_position reports shown */
#define RECENT_RISK_LIMITS 20 /* risk_limit events shown */

typedef struct {
    char cell[TABLE_MAX_COLS][CELL_MAX];
    /* Indented lines printed under the row (a position's monitoring state, an exit's
     * attempts): detail that would make the table too wide. NULL = none. */
    char *extra;
} table_row;

typedef struct {
    int ncols;
    const char *const *headers;
    const char *align; /* one char per column: 'l' or 'r' */
    table_row *rows;
    size_t count, cap;
} table;

/* The section being built, handed to the report callbacks. */
typedef struct {
    table *t;
    apex_error *err;
    int status; /* the first rendering failure; the callbacks stop at it */
    const cli_status_filter *f;
} section;

static int out_of_memory(section *sec)
{
    sec->status = apex_error_set(sec->err, APEX_ENOMEM,
                                 "status: out of memory formatting the report; try fewer --events");
    return sec->status;
}

/* A zeroed row at the end of the table, or NULL (ENOMEM recorded in sec). */
static table_row *table_add(section *sec)
{
    table *t = sec->t;
    if (t->count == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        table_row *rows = realloc(t->rows, cap * sizeof *rows);
        if (!rows) {
            out_of_memory(sec);
            return NULL;
        }
        t->rows = rows;
        t->cap = cap;
    }
    table_row *row = &t->rows[t->count++];
    memset(row, 0, sizeof *row);
    return row;
}

static void table_free(table *t)
{
    for (size_t r = 0; r < t->count; r++)
        free(t->rows[r].extra);
    free(t->rows);
    t->rows = NULL;
    t->count = t->cap = 0;
}

/* Appends one line (indented under the row, newline added) to row->extra. */
static int row_extra(section *sec, table_row *row, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int row_extra(section *sec, table_row *row, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    size_t old = row->extra ? strlen(row->extra) : 0;
    size_t add = strlen(line);
    char *grown = realloc(row->extra, old + add + 8);
    if (!grown)
        return out_of_memory(sec);
    memcpy(grown + old, "      ", 6);
    memcpy(grown + old + 6, line, add);
    memcpy(grown + old + 6 + add, "\n", 2);
    row->extra = grown;
    return 0;
}

static void table_print(FILE *out, const table *t)
{
    size_t width[TABLE_MAX_COLS];
    const table_row *rows = t->rows;
    if (t->count == 0) {
        fputs("  none\n", out);
        return;
    }
    for (int c = 0; c < t->ncols; c++) {
        width[c] = strlen(t->headers[c]);
        for (size_t r = 0; r < t->count; r++) {
            size_t w = strlen(rows[r].cell[c]);
            if (w > width[c])
                width[c] = w;
        }
    }
    for (long r = -1; r < (long)t->count; r++) {
        for (int c = 0; c < t->ncols; c++) {
            const char *text = r < 0 ? t->headers[c] : rows[r].cell[c];
            bool last = c == t->ncols - 1;
            if (t->align[c] == 'r')
                fprintf(out, "  %*s", (int)width[c], text);
            else if (last) /* no trailing blanks after the last column */
                fprintf(out, "  %s", text);
            else
                fprintf(out, "  %-*s", (int)width[c], text);
        }
        fputc('\n', out);
        if (r >= 0 && rows[r].extra)
            fputs(rows[r].extra, out);
    }
}

/* Prices: 2 to 4 decimals ("187.25", "0.1234"); "-" when not set. */
static const char *fmt_price(money_t v, char *buf, size_t len)
{
    if (v == 0)
        return snprintf(buf, len, "-"), buf;
    if (v % (MONEY_SCALE / 10000) == 0)
        return money_format_trim(v, 2, buf, len);
    return money_format(v, 4, buf, len);
}

/* Cash amounts: always 2 decimals with an explicit sign, so gains and losses stand out. */
static const char *fmt_pnl(money_t v, char *buf, size_t len)
{
    char digits[40];
    money_format(v, 2, digits, sizeof digits);
    snprintf(buf, len, "%s%s", v > 0 ? "+" : "", digits);
    return buf;
}

/* A fraction at MONEY_SCALE as a percentage: 0.0525 -> "+5.25%". */
static const char *fmt_pct(money_t fraction, char *buf, size_t len)
{
    char digits[40];
    money_t pct = fraction;
    if (fraction > MONEY_MAX / 100 || fraction < MONEY_MIN / 100)
        return snprintf(buf, len, "?"), buf;
    pct = fraction * 100;
    money_format(pct, 2, digits, sizeof digits);
    snprintf(buf, len, "%s%s%%", pct > 0 ? "+" : "", digits);
    return buf;
}

static const char *fmt_qty(money_t v, char *buf, size_t len)
{
    return money_format_trim(v, 0, buf, len);
}

static const char *fmt_time(apex_time t, char *buf, size_t len)
{
    if (t == 0)
        return snprintf(buf, len, "-"), buf;
    return log_format_time(t, buf, (int)len);
}

/* Copies text into a cell, cutting long free text with "..." so one column cannot
 * push the table off the screen, and flattening newlines that would break the layout. */
static void set_cell(char *cell, const char *text, size_t max)
{
    if (max > CELL_MAX - 1)
        max = CELL_MAX - 1;
    size_t n = strlen(text);
    if (n <= max) {
        memcpy(cell, text, n + 1);
    } else {
        memcpy(cell, text, max - 3);
        memcpy(cell + max - 3, "...", 4);
    }
    for (char *p = cell; *p; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
}

static void set_text(char *cell, const char *text)
{
    set_cell(cell, text && *text ? text : "-", CELL_MAX - 1);
}

/* An execution id, "-" for none. */
static void set_id(char *cell, int64_t id)
{
    if (id)
        snprintf(cell, CELL_MAX, "%lld", (long long)id);
    else
        set_text(cell, "-");
}

/* Runs one section: query fills the table through the callbacks, then, only if all of
 * it was read, the title and the table are printed. */
static int print_section(store *s, FILE *out, const char *title, table *t, apex_error *err,
                         int (*query)(store *s, section *sec, void *arg), const void *arg)
{
    section sec = {t, err, 0, arg};
    int rc = query(s, &sec, NULL);
    if (rc && !sec.status) /* the store failed, not the rendering */
        apex_error_set(err, rc, "%s", store_errmsg(s));
    if (!rc)
        rc = sec.status;
    if (!rc) {
        fputs(title, out);
        table_print(out, t);
    }
    table_free(t);
    return rc;
}

/* ---- executions --------------------------------------------------------------------- */

static int execution_row(void *ud, const store_execution *e)
{
    section *sec = ud;
    table_row *row = table_add(sec);
    if (!row)
        return 1;
    set_id(row->cell[0], e->id);
    set_text(row->cell[1], e->pipeline);
    set_text(row->cell[2], e->symbol);
    set_text(row->cell[3], exec_status_name(e->status));
    set_text(row->cell[4], e->phase);
    set_text(row->cell[5], e->side < 0 ? "-" : order_side_name((order_side)e->side));
    fmt_qty(e->qty, row->cell[6], CELL_MAX);
    fmt_price(e->entry_price, row->cell[7], CELL_MAX);
    fmt_pnl(e->realized_pnl, row->cell[8], CELL_MAX);
    fmt_time(e->next_check_at, row->cell[9], CELL_MAX);
    set_cell(row->cell[10], e->reason[0] ? e->reason : "-", 80);
    return 0;
}

/* The store's filter for a section that keeps `limit` rows. */
static store_report_filter report_filter(const cli_status_filter *f, int limit)
{
    return (store_report_filter){f->pipeline, f->symbol, f->status, limit};
}

static bool symbol_matches(const section *sec, const char *symbol)
{
    return !sec->f->symbol || strcmp(sec->f->symbol, symbol) == 0;
}

static int query_executions(store *s, section *sec, void *arg)
{
    /* Every active execution, however old, plus the latest finished ones for context. */
    store_report_filter rf = report_filter(sec->f, sec->f->limit);
    return store_report_executions_matching(s, &rf, execution_row, sec);
}

/* ---- script failures ---------------------------------------------------------------- */

static int script_failure_row(void *ud, const store_script_failure *f)
{
    section *sec = ud;
    table_row *row = table_add(sec);
    if (!row)
        return 1;
    set_text(row->cell[0], f->pipeline);
    set_text(row->cell[1], f->stage);
    snprintf(row->cell[2], CELL_MAX, "%lld", (long long)f->failures);
    snprintf(row->cell[3], CELL_MAX, "%lld", (long long)f->recorded);
    snprintf(row->cell[4], CELL_MAX, "%lld", (long long)(f->failures - f->recorded));
    fmt_time(f->first_at, row->cell[5], CELL_MAX);
    fmt_time(f->last_at, row->cell[6], CELL_MAX);
    set_cell(row->cell[7], f->last_error[0] ? f->last_error : "-", 80);
    return 0;
}

static int query_script_failures(store *s, section *sec, void *arg)
{
    return store_report_script_failures(s, sec->f->pipeline, script_failure_row, sec);
}

/* ---- approval requests waiting (execution.mode = "approval") ------------------------ */

/* Rows of a section the store cannot narrow: kept when they match --pipeline. */
static bool pipeline_matches(const section *sec, const char *pipeline)
{
    return !sec->f->pipeline || strcmp(sec->f->pipeline, pipeline) == 0;
}

static int approval_row(void *ud, const store_approval *a)
{
    section *sec = ud;
    if (!pipeline_matches(sec, a->pipeline) || !symbol_matches(sec, a->symbol))
        return 0;
    table_row *row = table_add(sec);
    if (!row)
        return 1;
    set_id(row->cell[0], a->id);
    set_id(row->cell[1], a->execution_id);
    set_text(row->cell[2], a->pipeline);
    set_text(row->cell[3], a->symbol);
    set_text(row->cell[4], order_side_name((order_side)a->side));
    fmt_qty(a->qty, row->cell[5], CELL_MAX);
    fmt_price(a->entry, row->cell[6], CELL_MAX);
    fmt_time(a->expires_at, row->cell[7], CELL_MAX);
    if (a->answer != APPROVAL_ANSWER_NONE)
        snprintf(row->cell[8], CELL_MAX, "%s by %.60s", approval_answer_name(a->answer),
                 a->answered_by);
    else
        set_text(row->cell[8], "-");
    return 0;
}

static int query_approvals(store *s, section *sec, void *arg)
{
    return store_approvals_pending(s, approval_row, sec);
}

/* ---- positions ---------------------------------------------------------------------- */

/* "stage 1, stage 2" from the partial_stages_done bitmask (bit i = stage i + 1). How
 * many stages the pipeline has is configuration, not stored, so only the done ones show. */
static const char *fmt_stages(int mask, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = 0;
    for (int bit = 0; bit < 31 && used < len; bit++)
        if (mask & (1 << bit))
            used +=
                (size_t)snprintf(buf + used, len - used, "%sstage %d", used ? ", " : "", bit + 1);
    if (!buf[0])
        snprintf(buf, len, "none");
    return buf;
}

static int position_row(void *ud, const store_report_position *rp)
{
    section *sec = ud;
    const store_position *p = &rp->pos;
    if (!symbol_matches(sec, p->symbol))
        return 0;
    table_row *row = table_add(sec);
    if (!row)
        return 1;
    char a[48], b[48];
    set_id(row->cell[0], p->execution_id);
    set_text(row->cell[1], p->symbol);
    set_text(row->cell[2], p->side == SIDE_SELL ? "short" : "long");
    fmt_qty(p->qty, a, sizeof a);
    if (p->initial_qty > 0 && p->initial_qty != p->qty) /* partially exited */
        snprintf(row->cell[3], CELL_MAX, "%s of %s", a, fmt_qty(p->initial_qty, b, sizeof b));
    else
        set_text(row->cell[3], a);
    fmt_price(p->entry_price, row->cell[4], CELL_MAX);
    fmt_price(p->current_price, row->cell[5], CELL_MAX);
    fmt_pnl(p->unrealized_pnl, row->cell[6], CELL_MAX);
    fmt_pct(p->unrealized_pnl_pct, row->cell[7], CELL_MAX);
    fmt_price(p->stop_loss, row->cell[8], CELL_MAX);
    fmt_price(p->take_profit, row->cell[9], CELL_MAX);
    if (p->trailing_stop_price)
        snprintf(row->cell[10], CELL_MAX, "%s %s", fmt_price(p->trailing_stop_price, a, sizeof a),
                 p->trailing_stop_active ? "armed" : "not armed");
    else
        set_text(row->cell[10], p->trailing_stop_active ? "armed" : "not armed");
    fmt_price(p->peak_price, row->cell[11], CELL_MAX);
    /* Cadence and next check live on the execution the monitor schedules. */
    if (rp->has_execution && rp->monitor_interval_s > 0)
        snprintf(row->cell[12], CELL_MAX, "%d s", rp->monitor_interval_s);
    else
        set_text(row->cell[12], "-");
    fmt_time(rp->has_execution ? rp->next_check_at : 0, row->cell[13], CELL_MAX);
    char stages[160];
    return row_extra(sec, row, "last update %s; partial exits done: %s",
                     fmt_time(p->last_update, a, sizeof a),
                     fmt_stages(p->partial_stages_done, stages, sizeof stages)) != 0;
}

static int query_positions(store *s, section *sec, void *arg)
{
    return store_report_positions(s, sec->f->pipeline, position_row, sec);
}

/* ---- exits -------------------------------------------------------------------------- */

static int attempt_line(section *sec, table_row *row, const store_exit_attempt *a)
{
    char limit[48], qty[48], filled[48], placed[48];
    fmt_price(a->limit_price, limit, sizeof limit);
    fmt_qty(a->quantity, qty, sizeof qty);
    fmt_qty(a->filled_quantity, filled, sizeof filled);
    return row_extra(
        sec, row, "attempt %-2d %-6s @ %-9s qty %-8s %-16s filled %-8s placed %s  order %s",
        a->attempt_number, order_type_name(a->order_type), limit, qty, order_status_name(a->status),
        filled, fmt_time(a->placed_at, placed, sizeof placed),
        a->client_order_id[0] ? a->client_order_id : "-");
}

static int exit_row(void *ud, const store_report_exit *x)
{
    section *sec = ud;
    const store_position_exit *e = &x->exit;
    table_row *row = table_add(sec);
    if (!row)
        return 1;
    char qty[48];
    fmt_time(e->triggered_at, row->cell[0], CELL_MAX);
    set_id(row->cell[1], e->execution_id);
    set_text(row->cell[2], x->symbol);
    set_text(row->cell[3], e->exit_reason);
    set_text(row->cell[4], exit_priority_name(e->exit_priority));
    set_text(row->cell[5], price_strategy_name(e->execution_strategy));
    fmt_qty(e->exit_quantity, qty, sizeof qty);
    snprintf(row->cell[6], CELL_MAX, "%s%s", qty, e->partial_exit ? " partial" : "");
    set_text(row->cell[7], exit_status_name(e->status));
    fmt_qty(e->filled_quantity, row->cell[8], CELL_MAX);
    fmt_price(e->exit_price, row->cell[9], CELL_MAX);
    snprintf(row->cell[10], CELL_MAX, "%d", e->attempts);
    if (e->detail[0] && row_extra(sec, row, "why: %s", e->detail))
        return 1;
    for (int i = 0; i < x->nattempts; i++)
        if (attempt_line(sec, row, &x->attempts[i]))
            return 1;
    return 0;
}

static int query_exits(store *s, section *sec, void *arg)
{
    store_report_filter rf = report_filter(sec->f, sec->f->limit);
    rf.status = NULL;
    return store_report_exits_matching(s, &rf, exit_row, sec);
}

/* ---- orders ------------------------------------------------------------------------- */

static int order_row(void *ud, const store_order *o)
{
    section *sec = ud;
    const broker_order *b = &o->o;
    if (!symbol_matches(sec, b->symbol))
        return 0;
    table_row *row = table_add(sec);
    if (!row)
        return 1;
    set_text(row->cell[0], b->client_order_id);
    set_id(row->cell[1], o->execution_id);
    set_text(row->cell[2], b->symbol);
    set_text(row->cell[3], order_role_name(b->role));
    set_text(row->cell[4], order_side_name(b->side));
    set_text(row->cell[5], order_type_name(b->type));
    fmt_qty(b->qty, row->cell[6], CELL_MAX);
    fmt_qty(b->filled_qty, row->cell[7], CELL_MAX);
    fmt_price(b->limit_price, row->cell[8], CELL_MAX);
    fmt_price(b->stop_price, row->cell[9], CELL_MAX);
    set_text(row->cell[10], order_status_name(b->status));
    fmt_time(o->submitted_at, row->cell[11], CELL_MAX);
    return 0;
}

static int query_orders(store *s, section *sec, void *arg)
{
    return store_report_open_orders(s, sec->f->pipeline, order_row, sec);
}

/* ---- events ------------------------------------------------------------------------- */

/* A row for an event, its time, pipeline and execution set; NULL when out of memory. */
static table_row *event_head(section *sec, const store_event_row *ev)
{
    table_row *row = table_add(sec);
    if (!row)
        return NULL;
    fmt_time(ev->ts, row->cell[0], CELL_MAX);
    set_text(row->cell[1], ev->pipeline);
    set_id(row->cell[2], ev->execution_id);
    return row;
}

static int event_row(void *ud, const store_event_row *ev)
{
    section *sec = ud;
    if (!pipeline_matches(sec, ev->pipeline))
        return 0;
    table_row *row = event_head(sec, ev);
    if (!row)
        return 1;
    set_text(row->cell[3], ev->kind);
    set_text(row->cell[4], ev->message);
    return 0;
}

static int query_events(store *s, section *sec, void *arg)
{
    store_report_filter rf = report_filter(sec->f, sec->f->events);
    rf.status = NULL;
    return store_report_events_matching(s, &rf, event_row, sec);
}

/* Positions at the broker that no execution knew when reconciliation saw them (the
 * monitor's unknown_position events), apart from the recent events: never traded, so a
 * person must look at them, however many events came since. */
static int query_unknown(store *s, section *sec, void *arg)
{
    (void)arg;
    return store_report_events_of_kind(s, "unknown_position", RECENT_UNKNOWN, event_row, sec);
}

/* ---- portfolio risk (docs/risk.md) --------------------------------------------------- */

/* The modes and breakers in force, from the meta keys pipeline/portfolio.c reads. */
static int risk_mode_row(void *ud, const char *key, const char *value)
{
    section *sec = ud;
    const char *colon = strchr(key, ':');
    const char *who = colon ? colon + 1 : "every pipeline";
    risk_drawdown d;
    char eb[32], pb[32], fb[32], tb[32], rb[32];
    if (strncmp(key, "risk.reduce_only", 16) == 0 && strcmp(value, "on") == 0) {
        table_row *row = table_add(sec);
        if (!row)
            return 1;
        set_text(row->cell[0], who);
        set_text(row->cell[1], "reduce-only");
        set_text(row->cell[2], "on, by hand: entries skipped, exits go on");
    } else if (strncmp(key, "risk.drawdown:", 14) == 0 && risk_drawdown_parse(value, &d)) {
        table_row *row = table_add(sec);
        if (!row)
            return 1;
        set_text(row->cell[0], who);
        set_text(row->cell[1], "drawdown breaker");
        snprintf(row->cell[2], CELL_MAX,
                 "tripped %s: equity %s, %s%% below its peak %s; resumes %s%s",
                 fmt_time(d.at, tb, sizeof tb), fmt_price(d.equity, eb, sizeof eb),
                 money_format(risk_drawdown_fraction(&d) * 100, 2, fb, sizeof fb),
                 fmt_price(d.peak, pb, sizeof pb),
                 d.resume_at ? fmt_time(d.resume_at, rb, sizeof rb) : "",
                 d.resume_at ? " or by apex-host resume" : "by apex-host resume");
    }
    return 0;
}

static int query_risk_modes(store *s, section *sec, void *arg)
{
    (void)arg;
    return store_meta_each(s, "risk.", risk_mode_row, sec);
}

/* Refusals and shrinks, each with the numbers that caused it, in full under its row. */
static int risk_limit_row(void *ud, const store_event_row *ev)
{
    section *sec = ud;
    if (!pipeline_matches(sec, ev->pipeline))
        return 0;
    table_row *row = event_head(sec, ev);
    return row ? row_extra(sec, row, "%s", ev->message) : 1;
}

static int query_risk_limits(store *s, section *sec, void *arg)
{
    (void)arg;
    return store_report_events_of_kind(s, "risk_limit", RECENT_RISK_LIMITS, risk_limit_row, sec);
}

int cli_status_print(store *s, FILE *out, int nevents, apex_error *err)
{
    cli_status_filter f = {.limit = RECENT_EXITS, .events = nevents};
    return cli_status_print_filtered(s, out, &f, err);
}

int cli_status_print_filtered(store *s, FILE *out, const cli_status_filter *f, apex_error *err)
{
    static const char *const exec_headers[] = {"ID",           "PIPELINE",   "SYMBOL", "STATUS",
                                               "PHASE",        "SIDE",       "QTY",    "ENTRY",
                                               "REALIZED P&L", "NEXT CHECK", "REASON"};
    static const char *const position_headers[] = {
        "EXEC", "SYMBOL", "SIDE",   "QTY",           "ENTRY", "LAST",    "UNREALIZED P&L",
        "%",    "STOP",   "TARGET", "TRAILING STOP", "PEAK",  "CADENCE", "NEXT CHECK"};
    static const char *const exit_headers[] = {"TRIGGERED", "EXEC",      "SYMBOL",  "CONDITION",
                                               "PRIORITY",  "STRATEGY",  "QTY",     "STATUS",
                                               "FILLED",    "AVG PRICE", "ATTEMPTS"};
    static const char *const order_headers[] = {"CLIENT ID", "EXEC", "SYMBOL", "ROLE",
                                                "SIDE",      "TYPE", "QTY",    "FILLED",
                                                "LIMIT",     "STOP", "STATUS", "SUBMITTED"};
    static const char *const event_headers[] = {"TIME", "PIPELINE", "EXEC", "KIND", "MESSAGE"};
    static const char *const failure_headers[] = {"PIPELINE",   "STAGE", "FAILURES", "RECORDED",
                                                  "SUMMARISED", "FIRST", "LAST",     "LAST ERROR"};
    table executions = {11, exec_headers, "rlllllrrrll", NULL, 0, 0};
    table positions = {14, position_headers, "rllrrrrrrrrrrl", NULL, 0, 0};
    table exits = {11, exit_headers, "lrllllrlrrr", NULL, 0, 0};
    table orders = {12, order_headers, "lrllllrrrrll", NULL, 0, 0};
    table events = {5, event_headers, "llrll", NULL, 0, 0};
    table unknown = {5, event_headers, "llrll", NULL, 0, 0};
    table failures = {8, failure_headers, "llrrrlll", NULL, 0, 0};
    static const char *const mode_headers[] = {"PIPELINE", "MODE", "STATE"};
    static const char *const limit_headers[] = {"TIME", "PIPELINE", "EXEC"};
    table risk_modes = {3, mode_headers, "lll", NULL, 0, 0};
    table risk_limits = {3, limit_headers, "llr", NULL, 0, 0};
    char exits_title[64], events_title[64], risk_title[96];
    snprintf(risk_title, sizeof risk_title, "\nRISK LIMITS (latest %d refusals and shrinks)\n",
             RECENT_RISK_LIMITS);
    static const char *const approval_headers[] = {"ID",  "EXEC",  "PIPELINE", "SYMBOL", "SIDE",
                                                   "QTY", "ENTRY", "EXPIRES",  "ANSWER"};
    table approvals = {9, approval_headers, "rrlllrrll", NULL, 0, 0};
    snprintf(exits_title, sizeof exits_title, "\nEXITS (latest %d)\n", f->limit < 0 ? 0 : f->limit);
    snprintf(events_title, sizeof events_title, "\nRECENT EVENTS (latest %d)\n",
             f->events < 0 ? 0 : f->events);
    char exec_title[96];
    if (f->status)
        snprintf(exec_title, sizeof exec_title, "\nEXECUTIONS (latest %d %s)\n",
                 f->limit < 0 ? 0 : f->limit, f->status);
    else
        snprintf(exec_title, sizeof exec_title, "\nEXECUTIONS (active, and the latest %d)\n",
                 f->limit < 0 ? 0 : f->limit);

    apex_error_clear(err);
    fprintf(out, "apex-host status: %s\n", store_path(s));
    fprintf(out, "  schema v%d, instance %s\n", store_schema_version(s), store_instance_id(s));
    /* The notification outbox (core/notify), when it holds anything not delivered. */
    int64_t pending = 0, failed = 0;
    if (store_notify_counts(s, NULL, &pending, &failed) == 0 && (pending || failed))
        fprintf(out,
                "  notifications: %lld pending, %lld failed (the notifications table has each "
                "one's error)\n",
                (long long)pending, (long long)failed);
    if (f->pipeline || f->symbol || f->status)
        fprintf(out, "  only%s%s%s%s%s%s\n", f->pipeline ? " pipeline " : "",
                f->pipeline ? f->pipeline : "", f->symbol ? " symbol " : "",
                f->symbol ? f->symbol : "", f->status ? " status " : "",
                f->status ? f->status : "");
    int rc = print_section(s, out, exec_title, &executions, err, query_executions, f);
    /* Every failure of a pipeline's scripts, also those counted rather than recorded as
     * executions or events when they flooded (script/failures.h). */
    if (!rc)
        rc = print_section(s, out, "\nSCRIPT FAILURES\n", &failures, err, query_script_failures, f);
    if (!rc)
        rc = print_section(s, out,
                           "\nAPPROVALS WAITING (apex-host approve ID | apex-host reject ID)\n",
                           &approvals, err, query_approvals, f);
    if (!rc)
        rc = print_section(s, out, "\nOPEN POSITIONS\n", &positions, err, query_positions, f);
    if (!rc)
        rc = print_section(s, out, exits_title, &exits, err, query_exits, f);
    if (!rc)
        rc = print_section(s, out, "\nOPEN ORDERS\n", &orders, err, query_orders, f);
    if (!rc)
        rc = print_section(s, out,
                           "\nUNKNOWN POSITIONS AT THE BROKER (reported by reconciliation; "
                           "never traded)\n",
                           &unknown, err, query_unknown, f);
    if (!rc)
        rc = print_section(s, out, "\nRISK MODES\n", &risk_modes, err, query_risk_modes, f);
    if (!rc)
        rc = print_section(s, out, risk_title, &risk_limits, err, query_risk_limits, f);
    if (!rc)
        rc = print_section(s, out, events_title, &events, err, query_events, f);
    fflush(out);
    return rc;
}
