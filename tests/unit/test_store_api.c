/* store_api: the HTTP API's pages (store/store_api.h) against rows written through the
 * store, and the read-only connection `apex-host serve` reads them on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "store/store_api.h"
#include "store_fixture.h"

typedef struct {
    int64_t ids[64];
    int n;
    char first_symbol[16];
    char first_status[16];
    int64_t first_pnl;
    bool first_completed_null;
} seen;

static int collect(void *ud, const store_api_row *row)
{
    seen *s = ud;
    if (s->n == 0)
        for (int c = 0; c < row->ncols; c++) {
            if (strcmp(row->names[c], "symbol") == 0)
                snprintf(s->first_symbol, sizeof s->first_symbol, "%s", row->texts[c]);
            else if (strcmp(row->names[c], "status") == 0)
                snprintf(s->first_status, sizeof s->first_status, "%s", row->texts[c]);
            else if (strcmp(row->names[c], "realized_pnl") == 0) {
                assert_int_equal(row->kinds[c], STORE_API_MONEY);
                s->first_pnl = row->ints[c];
            } else if (strcmp(row->names[c], "completed_at") == 0) {
                assert_int_equal(row->kinds[c], STORE_API_TIME);
                s->first_completed_null = row->is_null[c];
            }
        }
    if (s->n < 64)
        s->ids[s->n++] = row->id;
    return 0;
}

/* Ten executions of two pipelines, the even ones completed with P&L; an event each. */
static void fill_store(store *st)
{
    for (int i = 1; i <= 10; i++) {
        store_execution e = sample_execution(i % 3 ? "alpha" : "beta", i % 2 ? "AAPL" : "MSFT");
        assert_int_equal(store_execution_insert(st, &e, NULL), 0);
        if (i % 2 == 0) {
            e.status = EXEC_COMPLETED;
            e.realized_pnl = CENTS(100 * i);
            e.completed_at = T0 + i * APEX_MINUTE;
            assert_int_equal(store_execution_update(st, &e, NULL), 0);
        }
        assert_int_equal(store_event(st, T0 + i, e.pipeline, e.id, i % 2 ? "risk" : "status", NULL,
                                     "event %d", i),
                         0);
    }
}

static void pages_newest_first_and_page_back(void **state)
{
    (void)state;
    tmpdb t;
    tmpdb_make(&t);
    store *st = open_ok(t.path);
    fill_store(st);
    seen s = {0};
    store_api_filter f = {.limit = 4};
    assert_int_equal(store_api_page(st, STORE_API_EXECUTIONS, &f, collect, &s), 0);
    assert_int_equal(s.n, 4);
    assert_int_equal(s.ids[0], 10);
    assert_int_equal(s.ids[3], 7);
    assert_string_equal(s.first_symbol, "MSFT");
    assert_string_equal(s.first_status, "completed");
    assert_int_equal(s.first_pnl, CENTS(1000));
    assert_false(s.first_completed_null);
    /* The next page starts below the last id; the last page is short. */
    seen s2 = {0};
    f.before = 7;
    assert_int_equal(store_api_page(st, STORE_API_EXECUTIONS, &f, collect, &s2), 0);
    assert_int_equal(s2.n, 4);
    assert_int_equal(s2.ids[0], 6);
    seen s3 = {0};
    f.before = 3;
    assert_int_equal(store_api_page(st, STORE_API_EXECUTIONS, &f, collect, &s3), 0);
    assert_int_equal(s3.n, 2);
    assert_int_equal(s3.ids[1], 1);
    assert_false(s3.first_completed_null); /* 2 (completed) comes before 1 */
    store_close(st);
    tmpdb_remove(&t);
}

static void filters_narrow_the_page(void **state)
{
    (void)state;
    tmpdb t;
    tmpdb_make(&t);
    store *st = open_ok(t.path);
    fill_store(st);
    seen s = {0};
    store_api_filter f = {.pipeline = "beta"};
    assert_int_equal(store_api_page(st, STORE_API_EXECUTIONS, &f, collect, &s), 0);
    assert_int_equal(s.n, 3); /* 3, 6, 9 */
    assert_int_equal(s.ids[0], 9);
    seen c = {0};
    store_api_filter done = {.status = "completed", .symbol = "MSFT"};
    assert_int_equal(store_api_page(st, STORE_API_EXECUTIONS, &done, collect, &c), 0);
    assert_int_equal(c.n, 5);
    seen a = {0};
    store_api_filter active = {.status = "active"};
    assert_int_equal(store_api_page(st, STORE_API_EXECUTIONS, &active, collect, &a), 0);
    assert_int_equal(a.n, (int)raw_int(t.path, "SELECT count(*) FROM executions WHERE status "
                                               "IN ('pending','running','monitoring','paused')"));
    seen k = {0};
    store_api_filter kind = {.kind = "status", .execution_id = 4};
    assert_int_equal(store_api_page(st, STORE_API_EVENTS, &kind, collect, &k), 0);
    assert_int_equal(k.n, 1);
    store_close(st);
    tmpdb_remove(&t);
}

/* A follower reads what is new, oldest first, from any id (0 included). */
static void follow_reads_oldest_first(void **state)
{
    (void)state;
    tmpdb t;
    tmpdb_make(&t);
    store *st = open_ok(t.path);
    fill_store(st);
    seen s = {0};
    store_api_filter f = {.after = 0, .follow = true, .limit = 3};
    assert_int_equal(store_api_page(st, STORE_API_EVENTS, &f, collect, &s), 0);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.ids[0], 1);
    assert_int_equal(s.ids[2], 3);
    int64_t max = 0;
    assert_int_equal(store_api_max_id(st, STORE_API_EVENTS, &max), 0);
    assert_int_equal(max, 10);
    store_close(st);
    tmpdb_remove(&t);
}

/* The pipelines' totals are the sums of their executions. */
static void pipelines_total_their_executions(void **state)
{
    (void)state;
    tmpdb t;
    tmpdb_make(&t);
    store *st = open_ok(t.path);
    fill_store(st);
    seen s = {0};
    store_api_filter f = {.pipeline = "alpha"};
    assert_int_equal(store_api_page(st, STORE_API_PIPELINES, &f, collect, &s), 0);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.first_pnl, raw_int(t.path, "SELECT sum(realized_pnl) FROM executions "
                                                  "WHERE pipeline = 'alpha'"));
    store_close(st);
    tmpdb_remove(&t);
}

/* STORE_READONLY reads what another connection wrote and refuses to write. */
static void readonly_reads_and_never_writes(void **state)
{
    (void)state;
    tmpdb t;
    tmpdb_make(&t);
    store *w = open_ok(t.path);
    fill_store(w);
    char err[512];
    store *r = store_open(t.path, STORE_READONLY, err, sizeof err);
    assert_non_null(r);
    seen s = {0};
    store_api_filter f = {0};
    assert_int_equal(store_api_page(r, STORE_API_EXECUTIONS, &f, collect, &s), 0);
    assert_int_equal(s.n, 10);
    apex_error e = {0};
    assert_int_not_equal(store_meta_set(r, "x", "y", &e), 0);
    assert_int_equal(raw_int(t.path, "SELECT count(*) FROM meta WHERE key = 'x'"), 0);
    store_close(r);
    store_close(w);
    /* A file that is not there is not created. */
    char missing[160];
    snprintf(missing, sizeof missing, "%s/none.db", t.dir);
    assert_null(store_open(missing, STORE_READONLY, err, sizeof err));
    FILE *probe = fopen(missing, "r");
    assert_null(probe);
    tmpdb_remove(&t);
}

typedef struct {
    char type[16];
    int64_t price, expire_at;
    bool type_null, price_null;
} entry_cols;

static int entry_columns(void *ud, const store_api_row *row)
{
    entry_cols *e = ud;
    for (int c = 0; c < row->ncols; c++) {
        if (strcmp(row->names[c], "entry_type") == 0) {
            e->type_null = row->is_null[c];
            if (!row->is_null[c])
                snprintf(e->type, sizeof e->type, "%s", row->texts[c]);
        } else if (strcmp(row->names[c], "entry_order_price") == 0) {
            assert_int_equal(row->kinds[c], STORE_API_MONEY);
            e->price_null = row->is_null[c];
            e->price = row->ints[c];
        } else if (strcmp(row->names[c], "expire_at") == 0) {
            assert_int_equal(row->kinds[c], STORE_API_TIME);
            e->expire_at = row->ints[c];
        }
    }
    return 0;
}

/* A resting stop entry shows its type, price and expiry; an untyped one shows nulls. */
static void executions_show_a_resting_entry(void **state)
{
    (void)state;
    tmpdb t;
    tmpdb_make(&t);
    store *st = open_ok(t.path);
    store_execution e = sample_execution("alpha", "AAPL");
    e.entry_typed = true;
    e.entry_type = ORDER_STOP;
    e.entry_order_price = CENTS(19000);
    e.expire_at = T0 + 1800 * APEX_SECOND;
    assert_int_equal(store_execution_insert(st, &e, NULL), 0);
    store_execution plain = sample_execution("alpha", "MSFT");
    assert_int_equal(store_execution_insert(st, &plain, NULL), 0);

    entry_cols got = {0};
    store_api_filter one = {.execution_id = e.id, .limit = 1};
    assert_int_equal(store_api_page(st, STORE_API_EXECUTIONS, &one, entry_columns, &got), 0);
    assert_string_equal(got.type, "stop");
    assert_false(got.price_null);
    assert_int_equal(got.price, CENTS(19000));
    assert_int_equal(got.expire_at, T0 + 1800 * APEX_SECOND);

    entry_cols none = {0};
    store_api_filter other = {.execution_id = plain.id, .limit = 1};
    assert_int_equal(store_api_page(st, STORE_API_EXECUTIONS, &other, entry_columns, &none), 0);
    assert_true(none.type_null);
    assert_true(none.price_null);
    store_close(st);
    tmpdb_remove(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pages_newest_first_and_page_back),
        cmocka_unit_test(filters_narrow_the_page),
        cmocka_unit_test(follow_reads_oldest_first),
        cmocka_unit_test(pipelines_total_their_executions),
        cmocka_unit_test(readonly_reads_and_never_writes),
        cmocka_unit_test(executions_show_a_resting_entry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
