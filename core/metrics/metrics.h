/* metrics: the host's counters, gauges and histograms, and their Prometheus text.
 *
 * Every metric the host exports is a family in one catalogue (metrics_id below; names,
 * help texts, labels and buckets in catalog.c, each documented in docs/metrics.md). A
 * series is one family with one set of label values. Code that updates a metric asks for
 * its series once, where it is set up (a pipeline's open, a limiter's creation), and
 * keeps the handle:
 *
 *     metrics_series *fills = metrics_get(METRIC_FILLS, cfg->name);   // once: finds or creates
 *     ...
 *     metrics_inc(fills);                                            // per fill: one add
 *
 * So an update never hashes, compares or allocates a string: the handle points straight at
 * the series' value. Values are integers in the family's unit (nanoseconds, host-clock
 * microseconds, money's fixed point; metrics_unit) and become decimal numbers only when
 * the registry is rendered, so the hot path does no floating point and the text shows
 * exact values (P&L to the cent, never 0.30000000000000004).
 *
 * Gauges that are cheaper to read when asked than to keep current (a pipeline's open
 * positions and P&L, the store's orders by status) are set by collectors: callbacks the
 * renderer runs first (metrics_add_collector).
 *
 * The registry is process-wide, like the host (one process, one thread): updates and
 * rendering run on the host's thread, so nothing here locks. metrics_get never fails:
 * when a series cannot be created (out of memory, a wrong label count) it returns a
 * discard series that accepts updates and is never rendered, so callers need no check. */
#ifndef APEX_METRICS_H
#define APEX_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum { METRICS_COUNTER, METRICS_GAUGE, METRICS_HISTOGRAM } metrics_type;

/* What a stored integer means; the renderer divides by the unit's scale. */
typedef enum {
    METRICS_UNIT_ONE,    /* a count, rendered as is */
    METRICS_UNIT_NANOS,  /* nanoseconds (CLOCK_MONOTONIC spans), rendered as seconds */
    METRICS_UNIT_MICROS, /* microseconds (the host clock's apex_time), rendered as seconds */
    METRICS_UNIT_MONEY,  /* money_t fixed point (1e-8), rendered in the account currency */
    METRICS_UNIT_BYTES,  /* bytes, rendered as is */
} metrics_unit;

/* The catalogue. The order here is the order of the rendered text. */
typedef enum {
    METRIC_OPEN_POSITIONS,     /* gauge {pipeline} */
    METRIC_REALIZED_PNL,       /* gauge {pipeline}, money */
    METRIC_UNREALIZED_PNL,     /* gauge {pipeline}, money */
    METRIC_ORDERS,             /* gauge {pipeline,status}: the store's orders rows */
    METRIC_ORDERS_CREATED,     /* counter {pipeline}: intents and bracket legs recorded */
    METRIC_FILLS,              /* counter {pipeline} */
    METRIC_BROKER_REQUESTS,    /* counter {venue,request} */
    METRIC_BROKER_ERRORS,      /* counter {venue,status} */
    METRIC_HTTP_RESPONSES,     /* counter {client,code} */
    METRIC_RATELIMIT_GRANTS,   /* counter {limiter} */
    METRIC_RATELIMIT_WAITS,    /* counter {limiter} */
    METRIC_RATELIMIT_WAIT,     /* histogram {limiter}, seconds */
    METRIC_RATELIMIT_QUEUED,   /* gauge {limiter} */
    METRIC_MONITOR_CHECK_LAG,  /* histogram {pipeline}, seconds */
    METRIC_EXIT_ORDER_LATENCY, /* histogram {pipeline}, seconds */
    METRIC_EXIT_FILL_LATENCY,  /* histogram {pipeline}, seconds */
    METRIC_LUA_CALLS,          /* counter {pipeline} */
    METRIC_LUA_CALL_SECONDS,   /* counter {pipeline}, seconds */
    METRIC_LUA_MEMORY,         /* gauge {pipeline}, bytes */
    METRIC_RELOADS,            /* counter {pipeline} */
    METRIC_RELOAD_FAILURES,    /* counter {pipeline} */
    METRIC_COUNT
} metrics_id;

#define METRICS_MAX_LABELS  2
#define METRICS_MAX_BUCKETS 16

/* One family of the catalogue. */
typedef struct {
    const char *name; /* apex_..., counters end in _total, units in their base name */
    const char *help;
    metrics_type type;
    metrics_unit unit;
    int nlabels;
    const char *labels[METRICS_MAX_LABELS];
    /* Histograms: upper bounds in the family's unit, ascending; +Inf is implied. */
    int nbuckets;
    int64_t bounds[METRICS_MAX_BUCKETS];
} metrics_family;

/* A series: read and written through the inline functions below. */
typedef struct metrics_series {
    int64_t value;    /* counter or gauge, in the family's unit */
    int64_t sum;      /* histogram: sum of observations */
    uint64_t *counts; /* histogram: nbuckets + 1 (the last is +Inf), not cumulative */
    const metrics_family *family;
    char *label_values[METRICS_MAX_LABELS];
    struct metrics_series *next; /* the family's series, in creation order */
} metrics_series;

/* The family of id (NULL for an id out of range). */
const metrics_family *metrics_family_of(metrics_id id);

/* The series of family id with these label values (as many as the family has labels;
 * copied), created on first use with value 0. Never NULL (see the top of this file).
 * O(series of the family) with string compares: call it at set-up, not per update. */
metrics_series *metrics_get(metrics_id id, ...);
/* The same with the values in an array. */
metrics_series *metrics_get_v(metrics_id id, const char *const *values);

/* The discard series: a handle for code that has nothing to count yet. */
metrics_series *metrics_discard(void);

/* True for the discard series metrics_get returns when it cannot create one. */
bool metrics_is_discard(const metrics_series *s);

static inline void metrics_inc(metrics_series *s)
{
    s->value++;
}

/* Counters: n >= 0 (a counter never goes down). */
static inline void metrics_add(metrics_series *s, int64_t n)
{
    s->value += n;
}

static inline void metrics_set(metrics_series *s, int64_t v)
{
    s->value = v;
}

/* Histograms: one observation of v (in the family's unit). A linear walk of at most
 * METRICS_MAX_BUCKETS bounds: cheaper than a binary search at this size. */
static inline void metrics_observe(metrics_series *s, int64_t v)
{
    const metrics_family *f = s->family;
    int i = 0;
    while (i < f->nbuckets && v > f->bounds[i])
        i++;
    s->counts[i]++;
    s->sum += v;
}

/* Sets every series of the family to 0 (a collector that sets only the series it finds,
 * e.g. the statuses present in the store, zeroes the rest first). */
void metrics_zero_family(metrics_id id);

/* Histograms: the number of observations. */
uint64_t metrics_histogram_count(const metrics_series *s);

/* A callback the renderer runs before writing, to bring gauges up to date (e.g. set a
 * pipeline's P&L from its trades). Registered once per (fn, ud); removed by the owner
 * before ud goes away. 0, or APEX_ENOMEM. */
typedef void (*metrics_collector)(void *ud);
int metrics_add_collector(metrics_collector fn, void *ud);
void metrics_remove_collector(metrics_collector fn, void *ud);

/* Writes every family with at least one series in the Prometheus text exposition format
 * 0.0.4 (Content-Type "text/plain; version=0.0.4; charset=utf-8"): # HELP and # TYPE
 * lines, label values escaped (backslash, double quote, newline), histograms as cumulative
 * _bucket{le="..."} lines ending with le="+Inf", then _sum and _count. Runs the
 * collectors first. Returns 0, or APEX_EIO when writing to out fails.
 *
 * This is what the HTTP server's /metrics answers with (it renders into an
 * open_memstream or calls metrics_render_text) and what `backtest --metrics FILE`
 * writes at the end of the run. A server without a host (`serve --db`) has only what it
 * attaches itself: store_metrics_attach(store) gives it the orders by status. */
int metrics_render_prometheus(FILE *out);

/* The same into a new NUL-terminated buffer the caller frees; *len (may be NULL) gets its
 * length. NULL when out of memory. */
char *metrics_render_text(size_t *len);

/* The exact decimal text of v in unit (e.g. 150000000 MONEY -> "1.5", 2500 MICROS ->
 * "0.0025"): at most 31 bytes and the NUL. Exposed for tests and the docs tool. */
void metrics_format_value(int64_t v, metrics_unit unit, char out[32]);

/* Frees every series and collector (tests between runs; handles held elsewhere become
 * invalid). */
void metrics_reset(void);

#endif
