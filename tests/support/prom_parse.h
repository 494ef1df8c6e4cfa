/* prom_parse: a strict reader of the Prometheus text exposition format 0.0.4, for tests.
 *
 * Debian does not ship promtool without the whole Prometheus server (bookworm's prometheus 2.42,
 * 96 MB installed), so the rules the tests hold /metrics to are written out here, from
 * https://prometheus.io/docs/instrumenting/exposition_formats/ and the names guide:
 *  - every line ends with \n; "# HELP name text" and "# TYPE name type" at most once per
 *    family, TYPE before the family's first sample; other "#" lines are comments;
 *  - metric names [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]* not starting
 *    with "__", label values with only \\, \" and \n as escapes, no repeated label;
 *  - a value is a float as Go's ParseFloat reads it (or NaN, +Inf, -Inf), an optional
 *    integer timestamp after it;
 *  - a family's samples are contiguous; a series (name and labels) appears once;
 *  - counters end in _total and are never negative;
 *  - histograms: only _bucket, _sum and _count samples; every bucket has an le label, the
 *    le values of a series ascend and end with +Inf, the cumulative counts never go down,
 *    and the +Inf bucket equals _count.
 * Past these, the apex_ conventions: every family has HELP and TYPE. */
#ifndef APEX_TEST_PROM_PARSE_H
#define APEX_TEST_PROM_PARSE_H

#include <stddef.h>

typedef struct {
    char name[128];
    char labels[512]; /* between the braces, values escaped as written, le last: a="x",le="1" */
    double value;
} prom_sample;

typedef struct {
    prom_sample *samples;
    int nsamples;
    int nfamilies;
} prom_doc;

/* Parses text; 0, or -1 with err saying "line N: what is wrong". doc is freed with
 * prom_doc_free either way. */
int prom_parse(const char *text, prom_doc *doc, char *err, size_t errlen);
void prom_doc_free(prom_doc *doc);

/* The value of the sample `name` with exactly these labels ("" for none), or -1 when it is
 * not there. */
int prom_get(const prom_doc *doc, const char *name, const char *labels, double *out);

#endif
