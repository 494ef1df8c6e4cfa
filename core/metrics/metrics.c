/* metrics: the registry (one list of series per catalogue family) and the renderer.
 *
 * Creation walks the family's list and compares label values; that is the only string
 * work, and it happens once per series. The lists stay in creation order so the text is
 * stable between scrapes. */
#include "metrics/metrics.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"

typedef struct {
    metrics_series *head;
    metrics_series **tail;
} series_list;

typedef struct {
    metrics_collector fn;
    void *ud;
} collector;

static series_list lists[METRIC_COUNT];
static collector *collectors;
static int ncollectors, collectors_cap;

/* Updates to a series that could not be created land here. Its family has the largest
 * bucket count so metrics_observe stays in bounds, and it is in no list. */
static const metrics_family discard_family = {"", "",  METRICS_HISTOGRAM,   METRICS_UNIT_ONE,
                                              0,  {0}, METRICS_MAX_BUCKETS, {0}};
static uint64_t discard_counts[METRICS_MAX_BUCKETS + 1];
static metrics_series discard = {.counts = discard_counts, .family = &discard_family};

metrics_series *metrics_discard(void)
{
    return &discard;
}

bool metrics_is_discard(const metrics_series *s)
{
    return s == &discard;
}

static void series_free(metrics_series *s)
{
    for (int i = 0; i < METRICS_MAX_LABELS; i++)
        free(s->label_values[i]);
    free(s->counts);
    free(s);
}

metrics_series *metrics_get_v(metrics_id id, const char *const *values)
{
    const metrics_family *f = metrics_family_of(id);
    if (!f)
        return &discard;
    for (int i = 0; i < f->nlabels; i++)
        if (!values[i])
            return &discard;
    series_list *l = &lists[id];
    for (metrics_series *s = l->head; s; s = s->next) {
        int i = 0;
        while (i < f->nlabels && strcmp(s->label_values[i], values[i]) == 0)
            i++;
        if (i == f->nlabels)
            return s;
    }
    metrics_series *s = calloc(1, sizeof *s);
    if (!s)
        return &discard;
    s->family = f;
    bool ok = true;
    for (int i = 0; ok && i < f->nlabels; i++)
        ok = (s->label_values[i] = strdup(values[i])) != NULL;
    if (ok && f->type == METRICS_HISTOGRAM)
        ok = (s->counts = calloc((size_t)f->nbuckets + 1, sizeof *s->counts)) != NULL;
    if (!ok) {
        series_free(s);
        return &discard;
    }
    if (!l->tail)
        l->tail = &l->head;
    *l->tail = s;
    l->tail = &s->next;
    return s;
}

metrics_series *metrics_get(metrics_id id, ...)
{
    const metrics_family *f = metrics_family_of(id);
    if (!f)
        return &discard;
    const char *values[METRICS_MAX_LABELS] = {0};
    va_list ap;
    va_start(ap, id);
    for (int i = 0; i < f->nlabels; i++)
        values[i] = va_arg(ap, const char *);
    va_end(ap);
    return metrics_get_v(id, values);
}

void metrics_zero_family(metrics_id id)
{
    if ((int)id < 0 || id >= METRIC_COUNT)
        return;
    for (metrics_series *s = lists[id].head; s; s = s->next) {
        s->value = s->sum = 0;
        if (s->counts)
            memset(s->counts, 0, ((size_t)s->family->nbuckets + 1) * sizeof *s->counts);
    }
}

uint64_t metrics_histogram_count(const metrics_series *s)
{
    uint64_t n = 0;
    if (s->counts)
        for (int i = 0; i <= s->family->nbuckets; i++)
            n += s->counts[i];
    return n;
}

int metrics_add_collector(metrics_collector fn, void *ud)
{
    for (int i = 0; i < ncollectors; i++)
        if (collectors[i].fn == fn && collectors[i].ud == ud)
            return 0;
    if (ncollectors == collectors_cap) {
        int cap = collectors_cap ? collectors_cap * 2 : 8;
        collector *grown = realloc(collectors, (size_t)cap * sizeof *grown);
        if (!grown)
            return APEX_ENOMEM;
        collectors = grown;
        collectors_cap = cap;
    }
    collectors[ncollectors++] = (collector){fn, ud};
    return 0;
}

void metrics_remove_collector(metrics_collector fn, void *ud)
{
    for (int i = 0; i < ncollectors; i++) {
        if (collectors[i].fn != fn || collectors[i].ud != ud)
            continue;
        memmove(&collectors[i], &collectors[i + 1],
                (size_t)(ncollectors - i - 1) * sizeof *collectors);
        ncollectors--;
        return;
    }
}

void metrics_reset(void)
{
    for (int id = 0; id < METRIC_COUNT; id++) {
        for (metrics_series *s = lists[id].head, *next; s; s = next) {
            next = s->next;
            series_free(s);
        }
        lists[id] = (series_list){0};
    }
    free(collectors);
    collectors = NULL;
    ncollectors = collectors_cap = 0;
    memset(discard_counts, 0, sizeof discard_counts);
}

/* ---- rendering ------------------------------------------------------------------------ */

static int64_t unit_scale(metrics_unit unit)
{
    switch (unit) {
    case METRICS_UNIT_NANOS:
        return 1000000000;
    case METRICS_UNIT_MICROS:
        return 1000000;
    case METRICS_UNIT_MONEY:
        return 100000000;
    case METRICS_UNIT_ONE:
    case METRICS_UNIT_BYTES:
        break;
    }
    return 1;
}

void metrics_format_value(int64_t v, metrics_unit unit, char out[32])
{
    int64_t scale = unit_scale(unit);
    /* Unsigned magnitude: -INT64_MIN does not fit an int64. */
    uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    uint64_t whole = mag / (uint64_t)scale, frac = mag % (uint64_t)scale;
    int n = snprintf(out, 32, "%s%" PRIu64, v < 0 ? "-" : "", whole);
    if (frac == 0)
        return;
    int digits = 0;
    for (int64_t s = scale; s > 1; s /= 10)
        digits++;
    while (frac % 10 == 0) { /* trailing zeros say nothing */
        frac /= 10;
        digits--;
    }
    snprintf(out + n, (size_t)(32 - n), ".%0*" PRIu64, digits, frac);
}

/* HELP text escapes backslash and newline; label values also the double quote. */
static void put_escaped(FILE *out, const char *s, bool quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            fputs("\\\\", out);
        else if (*s == '\n')
            fputs("\\n", out);
        else if (quote && *s == '"')
            fputs("\\\"", out);
        else
            fputc(*s, out);
    }
}

/* {a="x",b="y"} plus an optional le="..." for histogram buckets; nothing when both are
 * empty. */
static void put_labels(FILE *out, const metrics_series *s, const char *le)
{
    const metrics_family *f = s->family;
    if (f->nlabels == 0 && !le)
        return;
    fputc('{', out);
    for (int i = 0; i < f->nlabels; i++) {
        fprintf(out, "%s%s=\"", i ? "," : "", f->labels[i]);
        put_escaped(out, s->label_values[i], true);
        fputc('"', out);
    }
    if (le)
        fprintf(out, "%sle=\"%s\"", f->nlabels ? "," : "", le);
    fputc('}', out);
}

static const char *type_name(metrics_type t)
{
    return t == METRICS_COUNTER ? "counter" : t == METRICS_GAUGE ? "gauge" : "histogram";
}

static void render_histogram(FILE *out, const metrics_series *s)
{
    const metrics_family *f = s->family;
    char num[32];
    uint64_t cumulative = 0;
    for (int b = 0; b <= f->nbuckets; b++) {
        cumulative += s->counts[b];
        if (b < f->nbuckets)
            metrics_format_value(f->bounds[b], f->unit, num);
        fprintf(out, "%s_bucket", f->name);
        put_labels(out, s, b < f->nbuckets ? num : "+Inf");
        fprintf(out, " %" PRIu64 "\n", cumulative);
    }
    metrics_format_value(s->sum, f->unit, num);
    fprintf(out, "%s_sum", f->name);
    put_labels(out, s, NULL);
    fprintf(out, " %s\n%s_count", num, f->name);
    put_labels(out, s, NULL);
    fprintf(out, " %" PRIu64 "\n", cumulative);
}

int metrics_render_prometheus(FILE *out)
{
    /* Collectors only set series; they never add or remove collectors. */
    for (int i = 0; i < ncollectors; i++)
        collectors[i].fn(collectors[i].ud);
    for (int id = 0; id < METRIC_COUNT; id++) {
        const metrics_series *first = lists[id].head;
        if (!first)
            continue;
        const metrics_family *f = first->family;
        fprintf(out, "# HELP %s ", f->name);
        put_escaped(out, f->help, false);
        fprintf(out, "\n# TYPE %s %s\n", f->name, type_name(f->type));
        for (const metrics_series *s = first; s; s = s->next) {
            if (f->type == METRICS_HISTOGRAM) {
                render_histogram(out, s);
                continue;
            }
            char num[32];
            metrics_format_value(s->value, f->unit, num);
            fputs(f->name, out);
            put_labels(out, s, NULL);
            fprintf(out, " %s\n", num);
        }
    }
    return ferror(out) ? APEX_EIO : 0;
}

char *metrics_render_text(size_t *len)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *mem = open_memstream(&buf, &n);
    if (!mem)
        return NULL;
    int rc = metrics_render_prometheus(mem);
    if (fclose(mem) != 0 || rc != 0) {
        free(buf);
        return NULL;
    }
    if (len)
        *len = n;
    return buf;
}
