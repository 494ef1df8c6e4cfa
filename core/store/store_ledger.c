/* store_ledger: the check that the fills ledger, the
 * positions and the executions tell the same story to the smallest unit. */
#include "store/store_internal.h"

#include <stdio.h>
#include <string.h>

#include "ledger/ledger.h"
#include "util/err.h"

typedef struct {
    int64_t id;
    char symbol[SYMBOL_MAX];
    money_t realized_pnl;
} ledger_exec;

typedef struct {
    money_t open_qty;     /* signed sum of open positions */
    money_t realized_pnl; /* sum over all positions */
    int count;
} ledger_positions;

static int positions_of(store *s, sqlite3_stmt *st, int64_t execution_id, ledger_positions *out)
{
    memset(out, 0, sizeof *out);
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, execution_id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *side = sqlite3_column_text(st, 0);
        const unsigned char *status = sqlite3_column_text(st, 2);
        money_t qty = sqlite3_column_int64(st, 1);
        if (status && strcmp((const char *)status, "open") == 0)
            out->open_qty += store_side_parse((const char *)side) == SIDE_SELL ? -qty : qty;
        out->realized_pnl += sqlite3_column_int64(st, 3);
        out->count++;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : store_fail(s, rc, "reading positions for the ledger check");
}

static int replay_fills(store *s, sqlite3_stmt *st, int64_t execution_id, ledger *l, char *bad_fill,
                        size_t bad_len)
{
    memset(l, 0, sizeof *l);
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, execution_id);
    int rc, result = 0;
    while (!result && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *side = sqlite3_column_text(st, 1);
        int sd = store_side_parse((const char *)side);
        if (sd < 0 || ledger_apply(l, sd, sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3),
                                   sqlite3_column_int64(st, 4))) {
            store_col_text(st, 0, bad_fill, bad_len);
            result = 1; /* reported by the caller as a mismatch, not a database error */
        }
    }
    if (!result && rc != SQLITE_DONE)
        result = store_fail(s, rc, "reading fills for the ledger check");
    sqlite3_reset(st);
    return result;
}

/* Quantities print as they are ("30", "0.5"); cash with at least cents. */
static void report_money(FILE *report, const ledger_exec *e, const char *what, int min_decimals,
                         const char *ours, money_t expected, const char *theirs, money_t actual)
{
    char a[40], b[40];
    if (report)
        fprintf(report, "execution %lld (%s): %s: %s %s but %s %s\n", (long long)e->id, e->symbol,
                what, ours, money_format_trim(expected, min_decimals, a, sizeof a), theirs,
                money_format_trim(actual, min_decimals, b, sizeof b));
}

static int check_one(store *s, sqlite3_stmt *fills, sqlite3_stmt *positions, const ledger_exec *e,
                     FILE *report)
{
    ledger l;
    ledger_positions p;
    char bad_fill[BROKER_ID_MAX] = "";
    int rc = replay_fills(s, fills, e->id, &l, bad_fill, sizeof bad_fill);
    if (rc < 0)
        return rc;
    if (rc > 0) {
        if (report)
            fprintf(report,
                    "execution %lld (%s): fill %s cannot be replayed (bad side, quantity, fee "
                    "or an overflow)\n",
                    (long long)e->id, e->symbol, bad_fill);
        return 1;
    }
    if ((rc = positions_of(s, positions, e->id, &p)))
        return rc;
    int mismatches = 0;
    if (l.qty != p.open_qty) {
        report_money(report, e, "quantity", 0, "fills sum to", l.qty, "the open position holds",
                     p.open_qty);
        mismatches++;
    }
    if (l.realized != e->realized_pnl) {
        report_money(report, e, "realized P&L", 2, "fills give", l.realized,
                     "executions.realized_pnl is", e->realized_pnl);
        mismatches++;
    }
    if (p.count > 0 && l.realized != p.realized_pnl) {
        report_money(report, e, "realized P&L", 2, "fills give", l.realized,
                     "positions.realized_pnl is", p.realized_pnl);
        mismatches++;
    }
    return mismatches;
}

static int load_executions(store *s, store_rows *rows)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(
        s->db, "SELECT id, symbol, realized_pnl FROM executions ORDER BY id", -1, &st, NULL);
    int result = 0;
    while (rc == SQLITE_OK || rc == SQLITE_ROW) {
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
            break;
        ledger_exec *e = store_rows_push(s, rows);
        if (!e) {
            result = APEX_ENOMEM;
            break;
        }
        e->id = sqlite3_column_int64(st, 0);
        store_col_text(st, 1, e->symbol, sizeof e->symbol);
        e->realized_pnl = sqlite3_column_int64(st, 2);
    }
    if (!result && rc != SQLITE_DONE)
        result = store_fail(s, rc, "listing executions for the ledger check");
    sqlite3_finalize(st);
    return result;
}

int store_ledger_check(store *s, FILE *report)
{
    /* Not on the hot path: plain statements, finalized at the end. */
    store_rows execs = {.size = sizeof(ledger_exec)};
    sqlite3_stmt *fills = NULL, *positions = NULL;
    int result = load_executions(s, &execs);
    if (!result) {
        int rc = sqlite3_prepare_v2(s->db,
                                    "SELECT fill_id, side, qty, price, fee FROM fills "
                                    "WHERE execution_id = ?1 ORDER BY ts, id",
                                    -1, &fills, NULL);
        if (rc == SQLITE_OK)
            rc = sqlite3_prepare_v2(s->db,
                                    "SELECT side, quantity, status, realized_pnl FROM positions "
                                    "WHERE execution_id = ?1",
                                    -1, &positions, NULL);
        if (rc != SQLITE_OK)
            result = store_fail(s, rc, "preparing the ledger check");
    }
    int mismatches = 0;
    const ledger_exec *items = execs.items;
    for (size_t i = 0; !result && i < execs.count; i++) {
        int n = check_one(s, fills, positions, &items[i], report);
        if (n < 0)
            result = n;
        else
            mismatches += n;
    }
    sqlite3_finalize(fills);
    sqlite3_finalize(positions);
    store_rows_free(&execs);
    return result ? result : mismatches;
}
