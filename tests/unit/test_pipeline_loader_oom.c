/* The pipeline loader under memory exhaustion (issue 8): whichever allocation fails, a
 * load either reports a problem or yields exactly the config a load with memory to spare
 * yields. An `ok` from `apex-host check` must never hide a value the file gave that was
 * dropped (a params table whose JSON could not be allocated used to load as no params).
 *
 * This program is linked with --wrap=calloc,malloc,realloc,strdup (CMakeLists.txt), so
 * the test can fail the n-th allocation of the loader, of the sandbox's Lua allocator and
 * of the diagnostics; jansson's allocations reach the same counter through
 * json_set_alloc_funcs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "config/config.h"
#include "script/script.h"

#define FULL APEX_SOURCE_DIR "/tests/fixtures/script/pipeline/full.lua"

void *__real_calloc(size_t n, size_t size);
void *__real_malloc(size_t size);
void *__real_realloc(void *p, size_t size);
char *__real_strdup(const char *s);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_malloc(size_t size);
void *__wrap_realloc(void *p, size_t size);
char *__wrap_strdup(const char *s);

static bool armed;       /* counting allocations while set */
static long fail_at;     /* the allocation (1-based) that fails; 0 = none */
static long allocations; /* counted while armed */

static bool should_fail(void)
{
    return armed && ++allocations == fail_at;
}

void *__wrap_calloc(size_t n, size_t size)
{
    return should_fail() ? NULL : __real_calloc(n, size);
}
void *__wrap_malloc(size_t size)
{
    return should_fail() ? NULL : __real_malloc(size);
}
void *__wrap_realloc(void *p, size_t size)
{
    /* a shrink cannot fail in practice, and Lua asserts that it does not */
    return size && should_fail() ? NULL : __real_realloc(p, size);
}
char *__wrap_strdup(const char *s)
{
    return should_fail() ? NULL : __real_strdup(s);
}

static void *json_alloc(size_t size)
{
    return __wrap_malloc(size);
}

/* params JSON with its keys sorted: Lua seeds its string hashes per state, so a table's
 * keys come out in a different order from one load to the next. */
static void print_params(FILE *f, const char *json)
{
    json_error_t je;
    json_t *j = json ? json_loads(json, JSON_ALLOW_NUL, &je) : NULL;
    char *sorted = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    fprintf(f, "%s\n", sorted ? sorted : "-");
    free(sorted);
    json_decref(j);
}

static int by_symbol(const void *a, const void *b)
{
    return strcmp(((const instrument_config *)a)->symbol, ((const instrument_config *)b)->symbol);
}

/* Everything the loader fills in from the file, as one string to compare. */
static char *describe(const pipeline_config *c)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    assert_non_null(f);
    fprintf(f, "name=%s\n", c->name);
    for (int i = 0; i < c->nsymbols; i++)
        fprintf(f, "symbol=%s\n", c->symbols[i]);
    for (int i = 0; i < c->data.nfiles; i++)
        fprintf(f, "file=%s\n", c->data.files[i]);
    fprintf(f, "news=%s speed=%g follow=%d\n", c->data.news_file, c->data.speed, c->data.follow);
    for (int i = 0; i < c->data.nhttp; i++)
        fprintf(f, "http=%s %s %s %d\n", c->data.http[i].symbol, c->data.http[i].url,
                c->data.http[i].price, c->data.http[i].every_seconds);
    fprintf(f, "bias=%s ", c->bias.file);
    print_params(f, c->bias.params_json);
    fprintf(f, "strategy=%s ", c->strategy.file);
    print_params(f, c->strategy.params_json);
    for (int i = 0; i < c->ninstructions; i++)
        fprintf(f, "instruction=%d %s\n", (int)c->instructions[i].kind, c->instructions[i].value);
    for (int i = 0; i < c->notifications.nwebhooks; i++)
        fprintf(f, "webhook=%s\n", c->notifications.webhooks[i].url);
    /* [0] is the default; the others in the order the table was walked */
    instrument_config *ins = calloc((size_t)c->ninstruments + 1, sizeof *ins);
    assert_non_null(ins);
    memcpy(ins, c->instruments, (size_t)c->ninstruments * sizeof *ins);
    if (c->ninstruments > 1)
        qsort(ins + 1, (size_t)c->ninstruments - 1, sizeof *ins, by_symbol);
    for (int i = 0; i < c->ninstruments; i++)
        fprintf(f, "instrument=%s %lld %lld\n", ins[i].symbol, (long long)ins[i].rules.tick,
                (long long)ins[i].rules.lot);
    free(ins);
    for (int i = 0; i < c->exits.nstages; i++)
        fprintf(f, "stage=%s %lld %lld\n", c->exits.stages[i].name,
                (long long)c->exits.stages[i].profit_threshold,
                (long long)c->exits.stages[i].exit_fraction);
    for (int i = 0; i < c->monitoring.nretry_backoff; i++)
        fprintf(f, "backoff=%d\n", c->monitoring.retry_backoff_s[i]);
    fprintf(f, "risk=%lld %d cash=%lld tool=%d\n", (long long)c->risk.capital,
            c->risk.max_positions, (long long)c->broker.paper.starting_cash,
            (int)c->execution.tool);
    fclose(f);
    return out;
}

static int load(pipeline_config *cfg, diag_list *d)
{
    config_defaults(cfg);
    diag_init(d);
    allocations = 0;
    armed = true;
    int n = script_load_pipeline(FULL, cfg, d);
    armed = false;
    return n;
}

static void test_every_failed_allocation_is_reported_or_harmless(void **state)
{
    (void)state;
    json_set_alloc_funcs(json_alloc, free);
    pipeline_config cfg;
    diag_list d;
    fail_at = 0;
    assert_int_equal(load(&cfg, &d), 0);
    long total = allocations;
    char *want = describe(&cfg);
    config_free(&cfg);
    diag_free(&d);
    assert_true(total > 100);

    long reported = 0, harmless = 0;
    for (fail_at = 1; fail_at <= total; fail_at++) {
        int n = load(&cfg, &d);
        if (n > 0) {
            reported++;
        } else {
            char *got = describe(&cfg);
            if (strcmp(got, want) != 0) {
                fprintf(stderr, "--- expected\n%s--- got\n%s", want, got);
                fail_msg("allocation %ld of %ld failed, the load passed, and the config differs",
                         fail_at, total);
            }
            free(got);
            harmless++; /* Lua collected garbage and retried, or nothing needed it */
        }
        config_free(&cfg);
        diag_free(&d);
    }
    print_message("  %ld allocations: %ld failures reported, %ld recovered\n", total, reported,
                  harmless);
    assert_true(reported > 0);
    free(want);
    json_set_alloc_funcs(malloc, free);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_failed_allocation_is_reported_or_harmless),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
