/* store_fixture: what the store's test programs share: temporary database files, direct
 * SQL on them (as a person with the sqlite3 shell would), sample rows, field-by-field
 * comparisons and a small consistent book to report on. */
#ifndef APEX_TEST_STORE_FIXTURE_H
#define APEX_TEST_STORE_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define T0       ((apex_time)1709303400000000LL) /* 2024-03-01 14:30:00 UTC */
#define CENTS(c) ((money_t)(c) * (MONEY_SCALE / 100))

/* A database file in a fresh temporary directory; tmpdb_remove deletes both. */
typedef struct {
    char dir[64];
    char path[128];
} tmpdb;

void tmpdb_make(tmpdb *t);
void tmpdb_remove(tmpdb *t);

/* store_open(path, STORE_DURABLE) that fails the test with the message on error. */
store *open_ok(const char *path);
/* Runs SQL on the file directly, outside the store. */
void raw_exec(const char *path, const char *sql);
/* The first column of the first row of sql, run on the file directly. */
int64_t raw_int(const char *path, const char *sql);

store_execution sample_execution(const char *pipeline, const char *symbol);
store_order sample_order(int64_t execution_id, const char *coid);
store_fill sample_fill(int64_t execution_id, const char *fill_id, order_side side, money_t qty,
                       money_t price, money_t fee, apex_time ts);
store_position_exit sample_exit(const store_position *p);
store_exit_attempt sample_attempt(const store_position_exit *e, int number, const char *coid);

/* Field by field: struct padding makes a memcmp of two copies meaningless. */
void assert_execution_equal(const store_execution *a, const store_execution *b);
void assert_position_equal(const store_position *a, const store_position *b);
void assert_exit_equal(const store_position_exit *a, const store_position_exit *b);
void assert_attempt_equal(const store_exit_attempt *a, const store_exit_attempt *b);

/* Builds one execution with a consistent ledger (AAPL: long 150, sold 120, 30 still open,
 * monitoring) and a closed, flat MSFT short round trip; returns the AAPL execution id. */
int64_t build_consistent_book(store *s);

/* Collectors for the exit iterators: the first 8 rows are kept, all are counted. */
typedef struct {
    store_position_exit items[8];
    int count;
} exit_list;
int exit_list_add(void *ud, const store_position_exit *e);

typedef struct {
    store_exit_attempt items[8];
    int count;
} attempt_list;
int attempt_list_add(void *ud, const store_exit_attempt *a);

/* The `apex-host status` text for s (caller frees). */
char *status_of(store *s, int nevents);
/* Copies the line of text that contains needle into line; NULL if there is none. */
const char *line_with(const char *text, const char *needle, char *line, size_t len);

#endif
