/* store_api: the store's rows for the HTTP JSON API (core/server), a page at a time.
 *
 * Each resource is one SQL query with the same filters, newest first by id, at most
 * STORE_API_MAX_LIMIT rows: a request's cost on the loop is bounded by the page, whatever
 * the store holds (docs/performance.md, "The HTTP API"). A reader pages back with
 * `before` = the last id it got. Columns are typed so the renderer needs no SQL
 * knowledge: money stays exact (MONEY_SCALE integers, rendered as decimal strings), times
 * are µs since the epoch. The SQL lives here, beside store_report's, and nowhere else. */
#ifndef APEX_STORE_API_H
#define APEX_STORE_API_H

#include "store/store.h"

#define STORE_API_MAX_LIMIT     1000
#define STORE_API_DEFAULT_LIMIT 100

typedef enum {
    STORE_API_EXECUTIONS = 0,
    STORE_API_POSITIONS,
    STORE_API_ORDERS,
    STORE_API_FILLS,
    STORE_API_EXITS,
    STORE_API_EXIT_ATTEMPTS,
    STORE_API_EVENTS,
    STORE_API_EQUITY,
    STORE_API_APPROVALS,
    STORE_API_PIPELINES,
    STORE_API_RESOURCE_COUNT
} store_api_resource;

/* What a request may narrow a page to; NULL / 0 = no filter. status means the row's status
 * column, except "open" for orders (any status that is not final) and positions. */
typedef struct {
    const char *pipeline;
    const char *symbol;
    const char *status;
    const char *kind;     /* events only */
    int64_t execution_id; /* rows of one execution */
    int64_t before;       /* ids below this (paging back) */
    int64_t after;        /* ids above this (what is new since) */
    int limit;            /* 1..STORE_API_MAX_LIMIT; 0 = STORE_API_DEFAULT_LIMIT */
    bool follow;          /* ids above `after` (0 too), oldest first: a follower's read */
} store_api_filter;

typedef enum {
    STORE_API_INT = 0,
    STORE_API_MONEY, /* int64 at MONEY_SCALE */
    STORE_API_TIME,  /* int64 µs since the epoch */
    STORE_API_TEXT,
    STORE_API_BOOL,
} store_api_kind;

/* One row: ncols columns, by position. A NULL column has is_null set. */
typedef struct {
    int ncols;
    const char *const *names;
    const store_api_kind *kinds;
    const bool *is_null;
    const int64_t *ints; /* INT, MONEY, TIME, BOOL */
    const char *const *texts;
    int64_t id; /* the row's paging id */
} store_api_row;

/* The resource's name in URLs ("executions") and its id by name (-1 if unknown). */
const char *store_api_resource_name(store_api_resource r);
int store_api_resource_find(const char *name);

/* Calls fn for each row of the page, newest first, or oldest first when only `after` is
 * given (a follower reads what is new in order; fn returns non-zero to stop, not an
 * error). 0 or an APEX_E* code with the message in store_errmsg. */
int store_api_page(store *s, store_api_resource r, const store_api_filter *f,
                   int (*fn)(void *ud, const store_api_row *row), void *ud);

/* The newest id of a resource's table (0 when empty), for a reader that follows changes. */
int store_api_max_id(store *s, store_api_resource r, int64_t *out);

#endif
