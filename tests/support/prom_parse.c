/* prom_parse: see prom_parse.h for the rules. One pass, line by line; families are
 * tracked in a small table so interleaving and duplicate HELP/TYPE are caught. */
#include "prom_parse.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char name[128];
    char type[16];
    bool help, typed, closed; /* closed: another family's samples came after its own */
} family;

typedef struct {
    family fams[256];
    int nfams;
    int current; /* the family of the last sample, -1 before any */
    /* histogram checking, per series: its labels without le, last le and count */
    char hist_series[512];
    double last_le, last_bucket;
    bool in_series, saw_inf, saw_sum, saw_count;
    double inf_count;
    int line;
    char *err;
    size_t errlen;
} parser;

static int fail(parser *p, const char *fmt, ...)
{
    int n = snprintf(p->err, p->errlen, "line %d: ", p->line);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < p->errlen)
        vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

static bool name_ok(const char *s, size_t n, bool colon)
{
    if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_' || (colon && s[0] == ':')))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || (colon && s[i] == ':')))
            return false;
    return true;
}

static family *find_family(parser *p, const char *name)
{
    for (int i = 0; i < p->nfams; i++)
        if (strcmp(p->fams[i].name, name) == 0)
            return &p->fams[i];
    return NULL;
}

static family *get_family(parser *p, const char *name)
{
    family *f = find_family(p, name);
    if (f || p->nfams == 256)
        return f;
    f = &p->fams[p->nfams++];
    memset(f, 0, sizeof *f);
    snprintf(f->name, sizeof f->name, "%s", name);
    return f;
}

/* The family a sample name belongs to: a histogram's _bucket/_sum/_count map to it. */
static family *family_of_sample(parser *p, const char *name, const char **suffix)
{
    static const char *const sfx[] = {"_bucket", "_sum", "_count"};
    *suffix = "";
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(name), k = strlen(sfx[i]);
        if (n > k && strcmp(name + n - k, sfx[i]) == 0) {
            char base[128];
            snprintf(base, sizeof base, "%.*s", (int)(n - k), name);
            family *f = find_family(p, base);
            if (f && strcmp(f->type, "histogram") == 0) {
                *suffix = sfx[i];
                return f;
            }
        }
    }
    return find_family(p, name);
}

/* Go's ParseFloat plus the special values; the whole token must be used. */
static bool parse_value(const char *s, double *out)
{
    if (strcmp(s, "+Inf") == 0 || strcmp(s, "Inf") == 0) {
        *out = INFINITY;
        return true;
    }
    if (strcmp(s, "-Inf") == 0) {
        *out = -INFINITY;
        return true;
    }
    if (strcmp(s, "NaN") == 0) {
        *out = NAN;
        return true;
    }
    if (!*s || isspace((unsigned char)*s))
        return false;
    for (const char *c = s; *c; c++) /* strtod also takes hex, inf, nan words: not here */
        if (!(isdigit((unsigned char)*c) || strchr("+-.eE", *c)))
            return false;
    char *end;
    *out = strtod(s, &end);
    return *end == '\0';
}

static int parse_comment(parser *p, const char *line)
{
    char kw[8], name[256];
    int used = 0;
    if (sscanf(line, "# %7s %255s %n", kw, name, &used) < 2 ||
        (strcmp(kw, "HELP") != 0 && strcmp(kw, "TYPE") != 0))
        return 0; /* a plain comment */
    if (!name_ok(name, strlen(name), true))
        return fail(p, "'%s' is not a valid metric name", name);
    family *f = get_family(p, name);
    if (!f)
        return fail(p, "too many families");
    const char *rest = line + used;
    if (strcmp(kw, "HELP") == 0) {
        if (f->help)
            return fail(p, "a second HELP for %s", name);
        for (const char *c = rest; *c; c++)
            if (*c == '\\' && c[1] != '\\' && c[1] != 'n')
                return fail(p, "HELP of %s: bad escape '\\%c'", name, c[1]);
            else if (*c == '\\')
                c++;
        f->help = true;
        return 0;
    }
    if (f->typed)
        return fail(p, "a second TYPE for %s", name);
    if (f->closed || p->current == (int)(f - p->fams))
        return fail(p, "TYPE of %s after its samples", name);
    static const char *const types[] = {"counter", "gauge", "histogram", "summary", "untyped"};
    bool known = false;
    for (int i = 0; i < 5; i++)
        known |= strcmp(rest, types[i]) == 0;
    if (!known)
        return fail(p, "TYPE of %s: unknown type '%s'", name, rest);
    if (strcmp(rest, "counter") == 0 &&
        (strlen(name) < 6 || strcmp(name + strlen(name) - 6, "_total") != 0))
        return fail(p, "counter %s does not end in _total", name);
    snprintf(f->type, sizeof f->type, "%s", rest);
    f->typed = true;
    return 0;
}

/* Reads {a="x",...} at *s; writes the labels (without le) to out and le's value to le. */
static int parse_labels(parser *p, const char **s, char *out, size_t outlen, char *le, size_t lelen,
                        bool *has_le)
{
    const char *c = *s;
    char seen[16][128];
    int nseen = 0;
    size_t o = 0;
    out[0] = '\0';
    *has_le = false;
    if (*c != '{')
        return 0;
    c++;
    while (*c != '}') {
        const char *n0 = c;
        while (isalnum((unsigned char)*c) || *c == '_')
            c++;
        size_t nlen = (size_t)(c - n0);
        if (!name_ok(n0, nlen, false))
            return fail(p, "bad label name '%.*s'", (int)nlen, n0);
        if (nlen >= 2 && n0[0] == '_' && n0[1] == '_')
            return fail(p, "label name '%.*s' is reserved", (int)nlen, n0);
        for (int i = 0; i < nseen; i++)
            if (strlen(seen[i]) == nlen && strncmp(seen[i], n0, nlen) == 0)
                return fail(p, "label '%.*s' repeated", (int)nlen, n0);
        if (nseen < 16)
            snprintf(seen[nseen++], sizeof seen[0], "%.*s", (int)nlen, n0);
        if (c[0] != '=' || c[1] != '"')
            return fail(p, "label '%.*s' without =\"value\"", (int)nlen, n0);
        c += 2;
        char value[512];
        size_t v = 0;
        for (; *c != '"'; c++) {
            if (!*c)
                return fail(p, "unterminated label value");
            char ch = *c;
            if (ch == '\\') {
                c++;
                if (*c == 'n')
                    ch = '\n';
                else if (*c == '\\' || *c == '"')
                    ch = *c;
                else
                    return fail(p, "bad escape '\\%c' in a label value", *c);
            }
            if (v + 1 < sizeof value)
                value[v++] = ch;
        }
        value[v] = '\0';
        c++; /* the closing quote */
        bool is_le = nlen == 2 && strncmp(n0, "le", 2) == 0;
        if (is_le) {
            *has_le = true;
            snprintf(le, lelen, "%s", value);
        } else {
            o += (size_t)snprintf(out + o, o < outlen ? outlen - o : 0, "%s%.*s=\"", o ? "," : "",
                                  (int)nlen, n0);
            for (size_t i = 0; i < v && o + 3 < outlen; i++) {
                if (value[i] == '\n') {
                    out[o++] = '\\';
                    out[o++] = 'n';
                    continue;
                }
                if (value[i] == '\\' || value[i] == '"')
                    out[o++] = '\\';
                out[o++] = value[i];
            }
            o += (size_t)snprintf(out + o, o < outlen ? outlen - o : 0, "\"");
        }
        if (*c == ',')
            c++;
        else if (*c != '}')
            return fail(p, "expected ',' or '}' after a label");
    }
    *s = c + 1;
    return 0;
}

/* A histogram series is its buckets (le ascending, ending with +Inf), then _sum and
 * _count; the next series starts only after both. */
static int check_histogram(parser *p, const char *suffix, const char *labels, bool has_le,
                           const char *le, double value)
{
    if (!*suffix)
        return fail(p, "a histogram sample must be _bucket, _sum or _count");
    if (strcmp(suffix, "_bucket") == 0) {
        double bound;
        if (!has_le || !parse_value(le, &bound))
            return fail(p, "a bucket without a valid le label");
        if (!p->in_series || strcmp(p->hist_series, labels) != 0) {
            if (p->in_series)
                return fail(p, "a new histogram series before the last one's +Inf, _sum and "
                               "_count");
            snprintf(p->hist_series, sizeof p->hist_series, "%s", labels);
            p->in_series = true;
            p->last_le = -INFINITY;
            p->last_bucket = 0;
            p->saw_inf = p->saw_sum = p->saw_count = false;
        } else if (p->saw_inf) {
            return fail(p, "a bucket after le=\"+Inf\"");
        }
        if (!(bound > p->last_le))
            return fail(p, "le=\"%s\" does not ascend", le);
        if (value < p->last_bucket)
            return fail(p, "bucket le=\"%s\" counts less than the one before", le);
        p->last_le = bound;
        p->last_bucket = value;
        if (isinf(bound)) {
            p->saw_inf = true;
            p->inf_count = value;
        }
        return 0;
    }
    if (has_le)
        return fail(p, "le on a histogram's %s", suffix);
    if (!p->in_series || strcmp(p->hist_series, labels) != 0 || !p->saw_inf)
        return fail(p, "%s before the series' buckets ended with le=\"+Inf\"", suffix);
    bool *seen = strcmp(suffix, "_sum") == 0 ? &p->saw_sum : &p->saw_count;
    if (*seen)
        return fail(p, "a second %s", suffix);
    *seen = true;
    if (strcmp(suffix, "_count") == 0 && value != p->inf_count)
        return fail(p, "_count %g is not the +Inf bucket's %g", value, p->inf_count);
    if (p->saw_sum && p->saw_count)
        p->in_series = false;
    return 0;
}

/* Leaving a histogram family (or the text) with a series not finished is an error. */
static int close_histogram(parser *p)
{
    if (p->in_series)
        return fail(p, "histogram series {%s} ends without %s", p->hist_series,
                    !p->saw_inf   ? "its +Inf bucket"
                    : !p->saw_sum ? "_sum"
                                  : "_count");
    return 0;
}

static int parse_sample(parser *p, prom_doc *doc, const char *line)
{
    const char *c = line;
    while (isalnum((unsigned char)*c) || *c == '_' || *c == ':')
        c++;
    size_t nlen = (size_t)(c - line);
    if (!name_ok(line, nlen, true) || nlen >= 128)
        return fail(p, "bad metric name at the start of '%.40s'", line);
    char name[128];
    snprintf(name, sizeof name, "%.*s", (int)nlen, line);
    char labels[512], le[64] = "";
    bool has_le;
    if (parse_labels(p, &c, labels, sizeof labels, le, sizeof le, &has_le) != 0)
        return -1;
    if (*c != ' ')
        return fail(p, "expected one space before the value of %s", name);
    c++;
    char tok[64], ts[64] = "";
    int n = sscanf(c, "%63s %63s", tok, ts);
    double value;
    if (n < 1 || !parse_value(tok, &value))
        return fail(p, "%s: '%s' is not a number", name, n < 1 ? "" : tok);
    if (n == 2)
        for (const char *t = ts; *t; t++)
            if (!isdigit((unsigned char)*t) && !(t == ts && *t == '-'))
                return fail(p, "%s: bad timestamp '%s'", name, ts);
    const char *suffix;
    family *f = family_of_sample(p, name, &suffix);
    if (!f || !f->typed || !f->help)
        return fail(p, "sample %s without # HELP and # TYPE before it", name);
    int idx = (int)(f - p->fams);
    if (f->closed)
        return fail(p, "samples of %s are not together", f->name);
    if (p->current >= 0 && p->current != idx) {
        p->fams[p->current].closed = true;
        if (close_histogram(p) != 0)
            return -1;
    }
    p->current = idx;
    if (strcmp(f->type, "counter") == 0 && !(value >= 0))
        return fail(p, "counter %s is %s", name, tok);
    if (strcmp(f->type, "histogram") == 0 &&
        check_histogram(p, suffix, labels, has_le, le, value) != 0)
        return -1;
    char key[512];
    if (has_le)
        snprintf(key, sizeof key, "%s%sle=\"%s\"", labels, labels[0] ? "," : "", le);
    else
        snprintf(key, sizeof key, "%s", labels);
    for (int i = 0; i < doc->nsamples; i++)
        if (strcmp(doc->samples[i].name, name) == 0 && strcmp(doc->samples[i].labels, key) == 0)
            return fail(p, "series %s{%s} appears twice", name, key);
    prom_sample *grown = realloc(doc->samples, ((size_t)doc->nsamples + 1) * sizeof *grown);
    if (!grown)
        return fail(p, "out of memory");
    doc->samples = grown;
    prom_sample *s = &doc->samples[doc->nsamples++];
    snprintf(s->name, sizeof s->name, "%s", name);
    snprintf(s->labels, sizeof s->labels, "%s", key);
    s->value = value;
    return 0;
}

int prom_parse(const char *text, prom_doc *doc, char *err, size_t errlen)
{
    memset(doc, 0, sizeof *doc);
    parser *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    p->current = -1;
    p->err = err;
    p->errlen = errlen;
    int rc = 0;
    const char *c = text;
    size_t len = strlen(text);
    if (len > 0 && text[len - 1] != '\n') {
        p->line = 0;
        rc = fail(p, "the text does not end with a newline");
    }
    while (rc == 0 && *c) {
        p->line++;
        const char *nl = strchr(c, '\n');
        size_t n = nl ? (size_t)(nl - c) : strlen(c);
        char *line = malloc(n + 1);
        if (!line) {
            rc = fail(p, "out of memory");
            break;
        }
        memcpy(line, c, n);
        line[n] = '\0';
        if (strchr(line, '\r'))
            rc = fail(p, "carriage return in a line");
        else if (line[0] == '#')
            rc = parse_comment(p, line);
        else if (line[0] != '\0')
            rc = parse_sample(p, doc, line);
        free(line);
        c += n + (nl ? 1 : 0);
    }
    if (rc == 0)
        rc = close_histogram(p);
    doc->nfamilies = p->nfams;
    free(p);
    return rc;
}

void prom_doc_free(prom_doc *doc)
{
    free(doc->samples);
    memset(doc, 0, sizeof *doc);
}

int prom_get(const prom_doc *doc, const char *name, const char *labels, double *out)
{
    for (int i = 0; i < doc->nsamples; i++) {
        if (strcmp(doc->samples[i].name, name) == 0 &&
            strcmp(doc->samples[i].labels, labels) == 0) {
            *out = doc->samples[i].value;
            return 0;
        }
    }
    return -1;
}
