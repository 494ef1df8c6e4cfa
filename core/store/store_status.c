/* store_status: the `apex-host status` report, readable in a terminal.
 *
 * Each section is collected into a small table first so every column can be as wide
 * as its widest cell; numbers are right-aligned so digits line up. */
#include "store/store_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/log.h"

#define TABLE_MAX_COLS    14
#define CELL_MAX          160
#define RECENT_EXECUTIONS 20
#define RECENT_EXITS      20

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
    store_rows rows;
} table;

static table_row *table_add(store *s, table *t)
{
    return store_rows_push(s, &t->rows);
}

static void table_free(table *t)
{
    table_row *rows = t->rows.items;
    for (size_t r = 0; r < t->rows.count; r++)
        free(rows[r].extra);
    store_rows_free(&t->rows);
}

/* Appends one line (indented under the row, newline added) to row->extra. */
static int row_extra(store *s, table_row *row, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int row_extra(store *s, table_row *row, const char *fmt, ...)
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
        return store_failf(s, APEX_ENOMEM, "out of memory formatting the status report");
    memcpy(grown + old, "      ", 6);
    memcpy(grown + old + 6, line, add);
    memcpy(grown + old + 6 + add, "\n", 2);
    row->extra = grown;
    return 0;
}

static void table_print(FILE *out, const table *t)
{
    size_t width[TABLE_MAX_COLS];
    const table_row *rows = t->rows.items;
    if (t->rows.count == 0) {
        fputs("  none\n", out);
        return;
    }
    for (int c = 0; c < t->ncols; c++) {
        width[c] = strlen(t->headers[c]);
        for (size_t r = 0; r < t->rows.count; r++) {
            size_t w = strlen(rows[r].cell[c]);
            if (w > width[c])
                width[c] = w;
        }
    }
    for (long r = -1; r < (long)t->rows.count; r++) {
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

static int executions_section(store *s, FILE *out)
{
    static const char *const headers[] = {"ID",           "PIPELINE",   "SYMBOL", "STATUS",
                                          "PHASE",        "SIDE",       "QTY",    "ENTRY",
                                          "REALIZED P&L", "NEXT CHECK", "REASON"};
    table t = {11, headers, "rlllllrrrll", {.size = sizeof(table_row)}};
    /* Every active execution, however old, plus the latest finished ones for context. */
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(
        s->db,
        "SELECT " STORE_EXEC_COLUMNS " FROM executions "
        "WHERE status IN ('pending', 'running', 'monitoring', 'paused') "
        "OR id IN (SELECT id FROM executions ORDER BY id DESC LIMIT ?1) ORDER BY id DESC",
        -1, &st, NULL);
    int result = rc == SQLITE_OK ? 0 : store_fail(s, rc, "reading executions");
    if (!result)
        sqlite3_bind_int(st, 1, RECENT_EXECUTIONS);
    while (!result && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        store_execution e;
        table_row *row = table_add(s, &t);
        if (!row)
            result = APEX_ENOMEM;
        else
            result = store_read_execution(s, st, &e);
        if (result)
            break;
        snprintf(row->cell[0], CELL_MAX, "%lld", (long long)e.id);
        set_text(row->cell[1], e.pipeline);
        set_text(row->cell[2], e.symbol);
        set_text(row->cell[3], exec_status_name(e.status));
        set_text(row->cell[4], e.phase);
        set_text(row->cell[5], e.side < 0 ? "-" : order_side_name((order_side)e.side));
        fmt_qty(e.qty, row->cell[6], CELL_MAX);
        fmt_price(e.entry_price, row->cell[7], CELL_MAX);
        fmt_pnl(e.realized_pnl, row->cell[8], CELL_MAX);
        fmt_time(e.next_check_at, row->cell[9], CELL_MAX);
        set_cell(row->cell[10], e.reason[0] ? e.reason : "-", 80);
    }
    if (!result && rc != SQLITE_DONE)
        result = store_fail(s, rc, "reading executions");
    sqlite3_finalize(st);
    if (!result) {
        fputs("\nEXECUTIONS\n", out);
        table_print(out, &t);
    }
    table_free(&t);
    return result;
}

typedef struct {
    store *s;
    table *t;
    int status;
} section_ctx;

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

static int position_row(void *ud, const store_position *p)
{
    section_ctx *ctx = ud;
    table_row *row = table_add(ctx->s, ctx->t);
    if (!row) {
        ctx->status = APEX_ENOMEM;
        return 1;
    }
    /* Cadence and next check live on the execution the monitor schedules. */
    store_execution e;
    bool have_exec = p->execution_id && store_execution_get(ctx->s, p->execution_id, &e) == 0;
    char a[48], b[48];
    if (p->execution_id)
        snprintf(row->cell[0], CELL_MAX, "%lld", (long long)p->execution_id);
    else
        set_text(row->cell[0], "-");
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
    if (have_exec && e.monitor_interval_s > 0)
        snprintf(row->cell[12], CELL_MAX, "%d s", e.monitor_interval_s);
    else
        set_text(row->cell[12], "-");
    fmt_time(have_exec ? e.next_check_at : 0, row->cell[13], CELL_MAX);
    char stages[160];
    ctx->status = row_extra(ctx->s, row, "last update %s; partial exits done: %s",
                            fmt_time(p->last_update, a, sizeof a),
                            fmt_stages(p->partial_stages_done, stages, sizeof stages));
    return ctx->status != 0;
}

static int positions_section(store *s, FILE *out)
{
    static const char *const headers[] = {
        "EXEC", "SYMBOL", "SIDE",   "QTY",           "ENTRY", "LAST",    "UNREALIZED P&L",
        "%",    "STOP",   "TARGET", "TRAILING STOP", "PEAK",  "CADENCE", "NEXT CHECK"};
    table t = {14, headers, "rllrrrrrrrrrrl", {.size = sizeof(table_row)}};
    section_ctx ctx = {s, &t, 0};
    int rc = store_positions_open(s, position_row, &ctx);
    if (!rc)
        rc = ctx.status;
    if (!rc) {
        fputs("\nOPEN POSITIONS\n", out);
        table_print(out, &t);
    }
    table_free(&t);
    return rc;
}

typedef struct {
    store_position_exit e;
    char symbol[SYMBOL_MAX];
} exit_with_symbol;

static int attempt_line(void *ud, const store_exit_attempt *a)
{
    section_ctx *ctx = ud;
    table_row *row = ctx->t->rows.items;
    row += ctx->t->rows.count - 1; /* the exit these attempts belong to */
    char limit[48], qty[48], filled[48], placed[48];
    fmt_price(a->limit_price, limit, sizeof limit);
    fmt_qty(a->quantity, qty, sizeof qty);
    fmt_qty(a->filled_quantity, filled, sizeof filled);
    ctx->status = row_extra(
        ctx->s, row, "attempt %-2d %-6s @ %-9s qty %-8s %-16s filled %-8s placed %s  order %s",
        a->attempt_number, order_type_name(a->order_type), limit, qty, order_status_name(a->status),
        filled, fmt_time(a->placed_at, placed, sizeof placed),
        a->client_order_id[0] ? a->client_order_id : "-");
    return ctx->status != 0;
}

static int exit_row(section_ctx *ctx, const exit_with_symbol *x)
{
    const store_position_exit *e = &x->e;
    table_row *row = table_add(ctx->s, ctx->t);
    if (!row)
        return APEX_ENOMEM;
    char qty[48];
    fmt_time(e->triggered_at, row->cell[0], CELL_MAX);
    if (e->execution_id)
        snprintf(row->cell[1], CELL_MAX, "%lld", (long long)e->execution_id);
    else
        set_text(row->cell[1], "-");
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
    int rc = 0;
    if (e->detail[0])
        rc = row_extra(ctx->s, row, "why: %s", e->detail);
    if (!rc)
        rc = store_exit_attempts_for_exit(ctx->s, e->id, attempt_line, ctx);
    return rc ? rc : ctx->status;
}

static int exits_section(store *s, FILE *out)
{
    static const char *const headers[] = {"TRIGGERED", "EXEC",      "SYMBOL",  "CONDITION",
                                          "PRIORITY",  "STRATEGY",  "QTY",     "STATUS",
                                          "FILLED",    "AVG PRICE", "ATTEMPTS"};
    table t = {11, headers, "lrllllrlrrr", {.size = sizeof(table_row)}};
    store_rows found = {.size = sizeof(exit_with_symbol)};
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db,
                                "SELECT " STORE_EXIT_COLUMNS ", (SELECT symbol FROM positions p "
                                "WHERE p.position_id = position_exits.position_id) "
                                "FROM position_exits ORDER BY exit_id DESC LIMIT ?1",
                                -1, &st, NULL);
    int result = rc == SQLITE_OK ? 0 : store_fail(s, rc, "reading exits");
    if (!result)
        sqlite3_bind_int(st, 1, RECENT_EXITS);
    while (!result && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        exit_with_symbol *x = store_rows_push(s, &found);
        if (!x) {
            result = APEX_ENOMEM;
            break;
        }
        store_read_exit(st, &x->e);
        store_col_text(st, 17, x->symbol, sizeof x->symbol);
    }
    if (!result && rc != SQLITE_DONE)
        result = store_fail(s, rc, "reading exits");
    sqlite3_finalize(st);
    /* Fetched newest first; printed oldest first, like a log. */
    section_ctx ctx = {s, &t, 0};
    const exit_with_symbol *items = found.items;
    for (size_t i = found.count; !result && i > 0; i--)
        result = exit_row(&ctx, &items[i - 1]);
    if (!result) {
        fprintf(out, "\nEXITS (latest %d)\n", RECENT_EXITS);
        table_print(out, &t);
    }
    store_rows_free(&found);
    table_free(&t);
    return result;
}

static int order_row(void *ud, const store_order *o)
{
    section_ctx *ctx = ud;
    table_row *row = table_add(ctx->s, ctx->t);
    if (!row) {
        ctx->status = APEX_ENOMEM;
        return 1;
    }
    const broker_order *b = &o->o;
    set_text(row->cell[0], b->client_order_id);
    if (o->execution_id)
        snprintf(row->cell[1], CELL_MAX, "%lld", (long long)o->execution_id);
    else
        set_text(row->cell[1], "-");
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

static int orders_section(store *s, FILE *out)
{
    static const char *const headers[] = {"CLIENT ID", "EXEC", "SYMBOL", "ROLE",
                                          "SIDE",      "TYPE", "QTY",    "FILLED",
                                          "LIMIT",     "STOP", "STATUS", "SUBMITTED"};
    table t = {12, headers, "lrllllrrrrll", {.size = sizeof(table_row)}};
    section_ctx ctx = {s, &t, 0};
    int rc = store_orders_open(s, order_row, &ctx);
    if (!rc)
        rc = ctx.status;
    if (!rc) {
        fputs("\nOPEN ORDERS\n", out);
        table_print(out, &t);
    }
    table_free(&t);
    return rc;
}

static int event_row(void *ud, const store_event_row *ev)
{
    section_ctx *ctx = ud;
    table_row *row = table_add(ctx->s, ctx->t);
    if (!row) {
        ctx->status = APEX_ENOMEM;
        return 1;
    }
    fmt_time(ev->ts, row->cell[0], CELL_MAX);
    set_text(row->cell[1], ev->pipeline);
    if (ev->execution_id)
        snprintf(row->cell[2], CELL_MAX, "%lld", (long long)ev->execution_id);
    else
        set_text(row->cell[2], "-");
    set_text(row->cell[3], ev->kind);
    set_text(row->cell[4], ev->message);
    return 0;
}

static int events_section(store *s, FILE *out, int nevents)
{
    static const char *const headers[] = {"TIME", "PIPELINE", "EXEC", "KIND", "MESSAGE"};
    table t = {5, headers, "llrll", {.size = sizeof(table_row)}};
    section_ctx ctx = {s, &t, 0};
    int rc = store_events_recent(s, NULL, nevents, event_row, &ctx);
    if (!rc)
        rc = ctx.status;
    if (!rc) {
        /* Fetched newest first; a log reads better oldest first. */
        table_row *rows = t.rows.items;
        for (size_t i = 0, n = t.rows.count; i < n / 2; i++) {
            table_row tmp = rows[i];
            rows[i] = rows[n - 1 - i];
            rows[n - 1 - i] = tmp;
        }
        fprintf(out, "\nRECENT EVENTS (latest %d)\n", nevents < 0 ? 0 : nevents);
        table_print(out, &t);
    }
    table_free(&t);
    return rc;
}

int store_print_status(store *s, FILE *out, int nevents)
{
    fprintf(out, "apex-host status: %s\n", s->path);
    fprintf(out, "  schema v%d, instance %s\n", s->schema_version, s->instance_id);
    int rc = executions_section(s, out);
    if (!rc)
        rc = positions_section(s, out);
    if (!rc)
        rc = exits_section(s, out);
    if (!rc)
        rc = orders_section(s, out);
    if (!rc)
        rc = events_section(s, out, nevents);
    fflush(out);
    return rc;
}
