/* test_ta_library: core/ta driven from C, without Lua: hand-computed tables (the
 * arithmetic in the comments) for the indicators whose reference tests/ttr cannot take
 * from TTR alone, the window blocks against brute force, and every indicator run over a
 * random walk at its defaults. The values over 5550 real bars are checked against TTR in
 * tests/ttr. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ta/indicator.h"
#include "ta/ostree.h"
#include "ta/window.h"

/* An indicator with its memory, built as the binding builds it. */
typedef struct {
    const ta_def *def;
    void *block;
    void *state;
} ind;

static ind make(const char *kind, const double *params)
{
    ind i = {.def = ta_find(kind)};
    assert_non_null(i.def);
    double p[TA_MAX_PARAMS] = {0};
    ta_default_params(i.def, p);
    if (params) /* all of the indicator's parameters, in order */
        memcpy(p, params, (size_t)ta_def_nparams(i.def) * sizeof p[0]);
    if (i.def->check)
        assert_null(i.def->check(p));
    size_t state = ta_align(i.def->state_size);
    i.block = calloc(1, state + i.def->window_bytes(p) + 8);
    assert_non_null(i.block);
    i.state = i.block;
    i.def->init(i.state, p, (char *)i.block + state);
    return i;
}

/* Feeds one bar; true when the indicator answered, with its outputs in out. */
static bool feed(ind *i, const double *in, double *out)
{
    for (int k = 0; k < TA_MAX_OUTPUTS; k++)
        out[k] = NAN;
    return i->def->update(i->state, in, out);
}

/* |a - b| <= eps, with both values in the message when not. */
static void near(double a, double b, double eps, const char *expr, int line)
{
    if (!(fabs(a - b) <= eps))
        fail_msg("line %d: %s: %.17g, expected %.17g", line, expr, a, b);
}

#define NEAR(a, b) near((a), (b), 1e-12, #a, __LINE__)

static void test_pivots_from_the_previous_session(void **state)
{
    (void)state;
    ind p = make("pivots", NULL);
    double out[TA_MAX_OUTPUTS];
    /* day 1 (key 1): H = 12, L = 6, the last close C = 9; no pivots yet */
    assert_false(feed(&p, (double[]){10, 6, 8, 1}, out));
    assert_false(feed(&p, (double[]){12, 7, 9, 1}, out));
    /* day 2's first bar: P = (12 + 6 + 9) / 3 = 9, R1 = 2*9 - 6 = 12, S1 = 2*9 - 12 = 6,
     * R2 = 9 + (12 - 6) = 15, S2 = 9 - 6 = 3, R3 = 12 + 2 (9 - 6) = 18,
     * S3 = 6 - 2 (12 - 9) = 0 */
    assert_true(feed(&p, (double[]){20, 10, 15, 2}, out));
    double want[] = {9, 12, 6, 15, 3, 18, 0};
    for (int k = 0; k < 7; k++)
        NEAR(out[k], want[k]);
    /* still day 2: the same pivots, whatever the bar */
    assert_true(feed(&p, (double[]){30, 1, 2, 2}, out));
    NEAR(out[0], 9);
    free(p.block);

    /* without keys every bar is a session: bar 2 gets bar 1's (10, 6, 8): P = 8, R1 = 10,
     * S1 = 6, R2 = 12, S2 = 4, R3 = 10 + 2*2 = 14, S3 = 6 - 2*2 = 2 */
    p = make("pivots", NULL);
    assert_false(feed(&p, (double[]){10, 6, 8, NAN}, out));
    assert_true(feed(&p, (double[]){11, 9, 10, NAN}, out));
    double want2[] = {8, 10, 6, 12, 4, 14, 2};
    for (int k = 0; k < 7; k++)
        NEAR(out[k], want2[k]);
    free(p.block);
}

static void test_zscore_by_hand(void **state)
{
    (void)state;
    ind z = make("zscore", (double[]){4, 0});
    double out[TA_MAX_OUTPUTS];
    assert_false(feed(&z, (double[]){2}, out));
    assert_false(feed(&z, (double[]){4}, out));
    assert_false(feed(&z, (double[]){4}, out));
    /* 2 4 4 6: mean 4, variance (4 + 0 + 0 + 4) / 4 = 2, z(6) = 2 / sqrt 2 */
    assert_true(feed(&z, (double[]){6}, out));
    NEAR(out[0], 2 / sqrt(2));
    NEAR(out[1], 4);
    NEAR(out[2], sqrt(2));
    /* 4 4 6 8: mean 5.5, deviations -1.5 -1.5 0.5 2.5, variance 11 / 4, z(8) = 2.5 / sd */
    assert_true(feed(&z, (double[]){8}, out));
    NEAR(out[0], 2.5 / sqrt(11.0 / 4));
    /* a flat window has no spread: 0, not a division by zero */
    for (int k = 0; k < 4; k++)
        assert_true(feed(&z, (double[]){3}, out));
    NEAR(out[0], 0);
    free(z.block);
}

static void test_beta_and_correlation_by_hand(void **state)
{
    (void)state;
    /* asset 1 3 2, benchmark 1 2 3: means 2 and 2; cov = ((-1)(-1) + (1)(0) + (0)(1)) / 3
     * = 1/3; var(benchmark) = (1 + 0 + 1) / 3 = 2/3, var(asset) = 2/3; beta = 1/2,
     * correlation = (1/3) / sqrt(2/3 * 2/3) = 1/2 */
    ind b = make("beta", (double[]){3});
    ind c = make("correlation", (double[]){3});
    double xs[] = {1, 3, 2}, ys[] = {1, 2, 3}, out[TA_MAX_OUTPUTS];
    for (int i = 0; i < 3; i++) {
        bool got_b = feed(&b, (double[]){xs[i], ys[i]}, out);
        if (i == 2)
            NEAR(out[0], 0.5);
        bool got_c = feed(&c, (double[]){xs[i], ys[i]}, out);
        if (i == 2)
            NEAR(out[0], 0.5);
        assert_int_equal(got_b, i == 2);
        assert_int_equal(got_c, i == 2);
    }
    /* asset = 2 benchmark + 1 exactly: beta 2, correlation 1 */
    for (int i = 0; i < 3; i++) {
        feed(&b, (double[]){2 * (10 + i * i) + 1, 10 + i * i}, out);
        feed(&c, (double[]){2 * (10 + i * i) + 1, 10 + i * i}, out);
    }
    feed(&b, (double[]){2 * 7.0 + 1, 7}, out);
    NEAR(out[0], 2);
    feed(&c, (double[]){2 * 7.0 + 1, 7}, out);
    NEAR(out[0], 1);
    free(b.block);
    free(c.block);
}

static void test_kama_by_hand(void **state)
{
    (void)state;
    ind k = make("kama", (double[]){2, 2, 30});
    double out[TA_MAX_OUTPUTS];
    double fast = 2.0 / 3, slow = 2.0 / 31;
    assert_false(feed(&k, (double[]){10}, out));
    assert_false(feed(&k, (double[]){11}, out));
    /* bar 3 starts from the previous price 11: ER = |13 - 10| / (|11 - 10| + |13 - 11|)
     * = 1, sc = (2/3)^2, KAMA = 11 + 4/9 (13 - 11) = 107/9 */
    assert_true(feed(&k, (double[]){13}, out));
    NEAR(out[0], 107.0 / 9);
    /* bar 4: ER = |12 - 11| / (|13 - 11| + |12 - 13|) = 1/3,
     * sc = (1/3 (2/3 - 2/31) + 2/31)^2, KAMA = 107/9 + sc (12 - 107/9) */
    assert_true(feed(&k, (double[]){12}, out));
    double sc = (1.0 / 3 * (fast - slow) + slow) * (1.0 / 3 * (fast - slow) + slow);
    NEAR(out[0], 107.0 / 9 + sc * (12 - 107.0 / 9));
    free(k.block);
}

static void test_supertrend_by_hand(void **state)
{
    (void)state;
    /* n = 1 (the ATR is the bar's true range), k = 1 */
    ind s = make("supertrend", (double[]){1, 1, 0});
    double out[TA_MAX_OUTPUTS];
    /* bar 1 (10, 8, 9): TR 2, mid 9, bands 11 / 7; the first bar is a down trend: 11 */
    assert_true(feed(&s, (double[]){10, 8, 9}, out));
    NEAR(out[0], 11);
    NEAR(out[1], -1);
    /* bar 2 (12, 10, 11.5): TR max(2, |12 - 9|, |10 - 9|) = 3, mid 11, basic 14 / 8; lower
     * 8 > 7 rises to 8; upper 14 is not below 11 and the previous close 9 is not above 11:
     * stays 11. The close 11.5 > 11 turns the trend up: the line is the lower band, 8 */
    assert_true(feed(&s, (double[]){12, 10, 11.5}, out));
    NEAR(out[0], 8);
    NEAR(out[1], 1);
    NEAR(out[2], 11);
    NEAR(out[3], 8);
    /* bar 3 (11, 9, 9.5): TR max(2, 0.5, 2.5) = 2.5, mid 10, basic 12.5 / 7.5; lower 7.5
     * is not above 8 and the previous close 11.5 is not below 8: stays 8; the previous
     * close 11.5 > 11 resets the upper band to 12.5; 9.5 is not below 8: still up, 8 */
    assert_true(feed(&s, (double[]){11, 9, 9.5}, out));
    NEAR(out[0], 8);
    NEAR(out[2], 12.5);
    /* bar 4 (9, 7, 7.5): TR 2.5, mid 8, basic 10.5 / 5.5; lower stays 8, upper falls to
     * 10.5; the close 7.5 < 8 turns the trend down: the line is the upper band, 10.5 */
    assert_true(feed(&s, (double[]){9, 7, 7.5}, out));
    NEAR(out[0], 10.5);
    NEAR(out[1], -1);
    free(s.block);
}

static void test_vwap_sessions_and_obv_by_hand(void **state)
{
    (void)state;
    ind v = make("vwap", NULL);
    double out[TA_MAX_OUTPUTS];
    /* tp = (h + l + c) / 3: 10 with volume 100, then 12 with 300:
     * (10*100 + 12*300) / 400 = 11.5 */
    assert_true(feed(&v, (double[]){11, 9, 10, 100, 1}, out));
    NEAR(out[0], 10);
    assert_true(feed(&v, (double[]){13, 11, 12, 300, 1}, out));
    NEAR(out[0], 11.5);
    /* session 2 starts over: tp 20; a bar without volume gives its tp until volume comes */
    assert_true(feed(&v, (double[]){21, 19, 20, 50, 2}, out));
    NEAR(out[0], 20);
    assert_true(feed(&v, (double[]){31, 29, 30, 0, 3}, out));
    NEAR(out[0], 30);
    free(v.block);

    /* OBV: closes 10 11 11 9, volumes 100 200 300 400: 100, +200, unchanged, -400 */
    ind o = make("obv", NULL);
    double closes[] = {10, 11, 11, 9}, vols[] = {100, 200, 300, 400},
           want[] = {100, 300, 300, -100};
    for (int i = 0; i < 4; i++) {
        assert_true(feed(&o, (double[]){closes[i], vols[i]}, out));
        NEAR(out[0], want[i]);
    }
    free(o.block);
}

static void test_ichimoku_by_hand(void **state)
{
    (void)state;
    /* tenkan 1, kijun 2, senkou 3 bars; the cloud is the spans of 2 bars ago */
    ind ich = make("ichimoku", (double[]){1, 2, 3});
    double out[TA_MAX_OUTPUTS];
    assert_false(feed(&ich, (double[]){11, 9}, out));
    assert_false(feed(&ich, (double[]){12, 10}, out));
    /* bar 3 (14, 11): tenkan (14 + 11)/2 = 12.5; kijun (max(12, 14) + min(10, 11))/2 = 12;
     * span_a (12.5 + 12)/2 = 12.25; span_b (max(11, 12, 14) + min(9, 10, 11))/2 = 11.5;
     * no cloud yet */
    assert_true(feed(&ich, (double[]){14, 11}, out));
    double want3[] = {12.5, 12, 12.25, 11.5};
    for (int k = 0; k < 4; k++)
        NEAR(out[k], want3[k]);
    assert_true(isnan(out[4]) && isnan(out[5]));
    /* bar 4 (13, 12): tenkan 12.5; kijun (14 + 11)/2 = 12.5; span_a 12.5;
     * span_b (14 + 10)/2 = 12; still no cloud */
    assert_true(feed(&ich, (double[]){13, 12}, out));
    NEAR(out[1], 12.5);
    NEAR(out[3], 12);
    assert_true(isnan(out[4]));
    /* bar 5 (15, 13): tenkan 14; kijun (15 + 12)/2 = 13.5; span_a 13.75;
     * span_b (15 + 11)/2 = 13; the cloud is bar 3's spans: 12.25 and 11.5 */
    assert_true(feed(&ich, (double[]){15, 13}, out));
    double want5[] = {14, 13.5, 13.75, 13, 12.25, 11.5};
    for (int k = 0; k < 6; k++)
        NEAR(out[k], want5[k]);
    free(ich.block);
}

/* The deque against a scan of the window, ties included, over 20000 values in a narrow
 * range (so ties are common); the running sums against fresh sums past many re-sums. */
static void test_windows_match_brute_force(void **state)
{
    (void)state;
    enum { N = 7, COUNT = 20000 };
    static double xs[COUNT];
    srand(7);
    for (int i = 0; i < COUNT; i++)
        xs[i] = (double)(rand() % 5) + 1e6;
    ta_extreme_entry qmem[N + 1];
    double rmem[N], wmem[N];
    ta_extreme hi;
    ta_runsum rs;
    ta_wsum ws;
    ta_extreme_init(&hi, N, true, qmem);
    ta_runsum_init(&rs, N, rmem);
    ta_wsum_init(&ws, N, wmem);
    for (int i = 0; i < COUNT; i++) {
        double top = ta_extreme_push(&hi, xs[i]);
        ta_runsum_push(&rs, xs[i]);
        double wma = 0;
        bool full = ta_wsum_push(&ws, xs[i], &wma);
        int from = i - N + 1 < 0 ? 0 : i - N + 1;
        double best = xs[from], sum = 0, wsum = 0;
        int age = i - from;
        for (int j = from; j <= i; j++) {
            if (xs[j] >= best) {
                best = xs[j];
                age = i - j;
            }
            sum += xs[j];
            wsum += (double)(j - from + 1) * xs[j];
        }
        assert_true(top == best);
        assert_int_equal(ta_extreme_age(&hi), age);
        near(rs.sum, sum, 1e-6, "runsum", __LINE__);
        if (full)
            near(wma, wsum / (N * (N + 1) / 2.0), 1e-6, "wma", __LINE__);
    }
}

/* The order-statistics tree alone against brute force: sum |v - x| over the window for
 * x at, between and beyond the values, on windows of 1, 7 and 50 slots filled in ring
 * order and then replaced, with many equal values (ties are ordered by slot). */
static void test_ostree_matches_brute_force(void **state)
{
    (void)state;
    const int sizes[] = {1, 7, 50};
    srand(5);
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        int n = sizes[k];
        static ta_osnode mem[50];
        static double vals[50];
        ta_ostree t;
        ta_ostree_init(&t, (size_t)n, mem);
        for (int i = 0; i < 5000; i++) {
            int slot = i % n;
            vals[slot] = 1000 + (double)(rand() % 9) * 0.25; /* nine levels: ties */
            ta_ostree_set(&t, (size_t)slot, vals[slot]);
            int held = i + 1 < n ? i + 1 : n;
            const double xs[] = {vals[slot], 1000.3, 999, 1003, vals[0]};
            for (size_t q = 0; q < sizeof xs / sizeof *xs; q++) {
                double want = 0;
                for (int j = 0; j < held; j++)
                    want += fabs(vals[j] - xs[q]);
                near(ta_ostree_absdev(&t, xs[q]), want, 1e-9, "absdev", __LINE__);
            }
        }
    }
}

/* CCI against the O(n) form it had, sum |tp_i - mean| / n over the same ring and the same
 * running mean, at periods 1, 2, 20, 200 (the sum) and 384, 1000 (the order-statistics
 * tree) over 30000 bars: a random walk in cents (so equal typical prices, ties in the
 * tree, are common), a jump from 100 to 50000 (the sums' shift must follow the level),
 * and a flat stretch longer than the window (0, as an exact 0 gave). */
static void test_cci_matches_the_linear_mean_deviation(void **state)
{
    (void)state;
    enum { COUNT = 30000 };
    static double hs[COUNT], ls[COUNT], cs[COUNT];
    srand(11);
    double p = 100;
    for (int i = 0; i < COUNT; i++) {
        if (i == 12000)
            p = 50000;
        if (i < 20000 || i >= 20600) /* 20000..20599: flat */
            p = round(p * (1 + ((double)(rand() % 201) - 100) * 5e-5) * 100) / 100;
        cs[i] = p;
        hs[i] = i >= 20000 && i < 20600 ? p : round(p * 1.002 * 100) / 100;
        ls[i] = i >= 20000 && i < 20600 ? p : round(p * 0.998 * 100) / 100;
    }
    static double ring[1000];
    const int periods[] = {1, 2, 20, 200, 384, 1000};
    for (size_t k = 0; k < sizeof periods / sizeof *periods; k++) {
        int n = periods[k];
        ind cci = make("cci", (double[]){n, 0.015});
        ta_runsum rs;
        ta_runsum_init(&rs, (size_t)n, ring);
        int answered = 0, flat = 0;
        for (int i = 0; i < COUNT; i++) {
            double out[TA_MAX_OUTPUTS], tp = (hs[i] + ls[i] + cs[i]) / 3;
            bool full = ta_runsum_push(&rs, tp);
            assert_true(feed(&cci, (double[]){hs[i], ls[i], cs[i]}, out) == full);
            if (!full)
                continue;
            double mean = rs.sum / n, dev = 0;
            for (int j = 0; j < n; j++)
                dev += fabs(ring[j] - mean);
            dev /= n;
            bool is_flat = !(dev > 1e-12 * fabs(mean));
            double want = is_flat ? 0.0 : (tp - mean) / (0.015 * dev);
            char what[64];
            snprintf(what, sizeof what, "cci(%d) at bar %d", n, i);
            near(out[0], want, 1e-9 * fmax(1, fabs(want)), what, __LINE__); /* 1e-9 relative */
            answered++;
            flat += is_flat && i >= 20000 && i < 20600;
        }
        free(cci.block);
        assert_int_equal(answered, COUNT - n + 1);
        if (n > 1)
            assert_true(flat >= 600 - n + 1 || n > 600); /* the flat stretch, once inside it */
    }
}

/* Every indicator at its defaults over a 3000-bar random walk: it answers once warmed up
 * and from then on every bar, with finite outputs (the Ichimoku cloud apart, NaN until it
 * is displaced). */
static void test_every_indicator_runs_at_its_defaults(void **state)
{
    (void)state;
    int kinds = 0;
    for (size_t d = 0; ta_defs[d] != NULL; d++) {
        ind i = make(ta_defs[d]->kind, NULL);
        srand(11);
        double price = 100, out[TA_MAX_OUTPUTS];
        int answered = 0, first = -1;
        for (int bar = 0; bar < 3000; bar++) {
            price *= 1 + ((rand() % 2001) - 1000) / 100000.0;
            /* each input by its name */
            double in[TA_MAX_INPUTS];
            for (int k = 0; k < ta_def_ninputs(i.def); k++) {
                const char *name = i.def->inputs[k];
                in[k] = strcmp(name, "high") == 0      ? price * 1.01
                        : strcmp(name, "low") == 0     ? price * 0.99
                        : strcmp(name, "volume") == 0  ? 1000 + bar % 17
                        : strcmp(name, "session") == 0 ? (double)(bar / 390)
                        : (strcmp(name, "y") == 0 || strcmp(name, "benchmark") == 0)
                            ? price * price / 100
                            : price; /* x, close, asset */
            }
            if (feed(&i, in, out)) {
                answered++;
                if (first < 0)
                    first = bar;
                for (int k = 0; k < ta_def_noutputs(i.def); k++)
                    if (!isfinite(out[k]) && strncmp(i.def->outputs[k], "cloud", 5) != 0)
                        fail_msg("%s output %s is %g on bar %d", i.def->kind, i.def->outputs[k],
                                 out[k], bar);
            }
        }
        if (first < 0 || answered != 3000 - first)
            fail_msg("%s answered %d bars from bar %d", i.def->kind, answered, first);
        free(i.block);
        kinds++;
    }
    assert_true(kinds >= 26);
}

/* Reads a file of the source tree whole; the caller frees it. */
static char *read_source(const char *rel)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", APEX_SOURCE_DIR, rel);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)len + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)len, f), (size_t)len);
    text[len] = '\0';
    fclose(f);
    return text;
}

/* types/apex.lua declares every constructor with its parameters as the binding reads them
 * (the positional ones, then opts when it has options), and docs/lua-api.md has its row. */
static void test_types_and_docs_declare_every_indicator(void **state)
{
    (void)state;
    char *types = read_source("types/apex.lua");
    char *docs = read_source("docs/lua-api.md");
    for (size_t d = 0; ta_defs[d] != NULL; d++) {
        const ta_def *def = ta_defs[d];
        char want[256];
        int len = snprintf(want, sizeof want, "function ta.%s(", def->kind);
        bool options = false, first = true;
        for (int i = 0; i < ta_def_nparams(def); i++) {
            if (def->params[i].option) {
                options = true;
                continue;
            }
            len += snprintf(want + len, sizeof want - (size_t)len, "%s%s", first ? "" : ", ",
                            def->params[i].name);
            first = false;
        }
        if (options)
            len += snprintf(want + len, sizeof want - (size_t)len, "%sopts", first ? "" : ", ");
        snprintf(want + len, sizeof want - (size_t)len, ") end");
        if (strstr(types, want) == NULL)
            fail_msg("types/apex.lua has no \"%s\"", want);
        snprintf(want, sizeof want, "| `ta.%s(", def->kind);
        if (strstr(docs, want) == NULL)
            fail_msg("docs/lua-api.md has no row \"%s\"", want);
    }
    free(types);
    free(docs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pivots_from_the_previous_session),
        cmocka_unit_test(test_zscore_by_hand),
        cmocka_unit_test(test_beta_and_correlation_by_hand),
        cmocka_unit_test(test_kama_by_hand),
        cmocka_unit_test(test_supertrend_by_hand),
        cmocka_unit_test(test_vwap_sessions_and_obv_by_hand),
        cmocka_unit_test(test_ichimoku_by_hand),
        cmocka_unit_test(test_windows_match_brute_force),
        cmocka_unit_test(test_ostree_matches_brute_force),
        cmocka_unit_test(test_cci_matches_the_linear_mean_deviation),
        cmocka_unit_test(test_every_indicator_runs_at_its_defaults),
        cmocka_unit_test(test_types_and_docs_declare_every_indicator),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
