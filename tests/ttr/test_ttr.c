/* test_ttr: apex.ta checked value by value against R's TTR, the indicator library quants
 * use as their reference, over TTR's own ttrc data set (5550 daily bars).
 *
 * 1. Rscript runs tests/ttr/reference.R, which writes the bars and TTR's values into the
 *    build directory. The data is TTR's: it is made at test time, never kept in the
 *    repository. Without Rscript or the TTR package the test fails and says that
 *    `make deps` installs them; it never passes by skipping.
 * 2. tests/ttr/compare.lua runs in the host's own sandbox (sandbox_open, the state every
 *    strategy runs in, whose require reaches only the modules embedded in the binary),
 *    so the apex.ta checked is the one the host ships. It feeds the bars to every
 *    indicator and compares each value and each warm-up with TTR's; the report of every
 *    indicator's figures is printed whether it passes or not.
 * 3. The same bars, real prices, feed apex.ta (C, core/script/ta.c) and the Lua
 *    implementation it replaced (tests/lua/ta_reference.lua) side by side through
 *    tests/lua/ta_equivalence.lua, in the sandbox too: every value must agree within
 *    1e-12 relative, and bad arguments must fail with the same messages. */
#include <errno.h>
#include <setjmp.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <lauxlib.h>
#include <lua.h>

#include "script/sandbox.h"

#ifndef APEX_SOURCE_DIR
#error "APEX_SOURCE_DIR must be defined by the build"
#endif
#ifndef APEX_BUILD_DIR
#error "APEX_BUILD_DIR must be defined by the build"
#endif

#define TTR_DIR       APEX_SOURCE_DIR "/tests/ttr"
#define REFERENCE_CSV APEX_BUILD_DIR "/ttr_reference.csv"

/* What every failure to get a reference ends with: the one command that fixes it. */
#define INSTALL_HINT                                                                               \
    "R's TTR package is this test's reference; `make deps` installs it (Debian packages "          \
    "r-base-core and r-cran-ttr)"

extern char **environ;

/* Set by the first test, read by the second. */
static bool have_reference;

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void test_reference_from_ttr(void **state)
{
    (void)unlink(REFERENCE_CSV); /* a file left by an earlier run must not stand in */
    char *const argv[] = {"Rscript", "--vanilla", TTR_DIR "/reference.R", REFERENCE_CSV, NULL};
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid;
    int rc = posix_spawnp(&pid, "Rscript", NULL, NULL, argv, environ);
    if (rc == ENOENT)
        fail_msg("Rscript is not on PATH. " INSTALL_HINT ".");
    if (rc != 0)
        fail_msg("cannot start Rscript: %s", strerror(rc));
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            fail_msg("waitpid(Rscript): %s", strerror(errno));
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 3)
        fail_msg("R is installed but cannot load TTR. " INSTALL_HINT ".");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("Rscript %s/reference.R %s failed (%s %d); its messages are above", TTR_DIR,
                 REFERENCE_CSV, WIFEXITED(status) ? "exit status" : "signal",
                 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    printf("TTR reference written to %s in %.1f s\n", REFERENCE_CSV, seconds_since(&t0));
    have_reference = true;
}

/* Reads a whole file into a NUL-terminated buffer the caller frees; NULL on failure. */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (cap - n < 65536) {
            cap = cap ? cap * 2 : 1u << 20;
            char *bigger = realloc(buf, cap + 1);
            if (!bigger) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = bigger;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    bool failed = ferror(f);
    fclose(f);
    if (failed) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

typedef struct {
    const char *csv;
    size_t csv_len;
    lua_Integer bars;
    bool ok;
    char *report; /* malloc'd copy of compare.lua's report */
} comparison;

/* Inside sandbox_run: M = compare.lua; M.load(csv); ok, report = M.run(). [-0, +?, e] */
static int run_comparison(lua_State *L)
{
    comparison *c = lua_touserdata(L, 1);
    sandbox_push_env(L);
    sandbox_load_file(L, TTR_DIR "/compare.lua", -1);
    lua_call(L, 0, 1);
    int module = lua_gettop(L);
    lua_getfield(L, module, "load");
    lua_pushlstring(L, c->csv, c->csv_len);
    lua_call(L, 1, 1);
    c->bars = lua_tointeger(L, -1);
    lua_getfield(L, module, "run");
    lua_call(L, 0, 2);
    c->ok = lua_toboolean(L, -2);
    const char *report = lua_tostring(L, -1);
    c->report = strdup(report ? report : "(compare.lua returned no report)");
    return 0;
}

/* Runs fn(c) in a fresh sandbox over the reference CSV (c->csv while it runs) and sets
 * c->report and c->ok; fails the test, naming `what`, when it raises. Returns the
 * seconds it took. */
static double run_over_reference(lua_CFunction fn, comparison *c, const char *what)
{
    if (!have_reference)
        fail_msg("no TTR reference (the first test says why)");
    c->csv = read_file(REFERENCE_CSV, &c->csv_len);
    if (!c->csv)
        fail_msg("cannot read %s: %s", REFERENCE_CSV, strerror(errno));

    /* A minute, not the pipelines' 250 ms: this one call runs 5550 bars through 26 to 60
     * indicators, and the machine may be busy. */
    script_limits limits = {.memory_limit = 64u << 20, .deadline_ms = 60000};
    sandbox sb;
    char err[2048] = "";
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = sandbox_open(&sb, limits, "ttr", NULL, err, sizeof err);
    if (rc == 0) {
        rc = sandbox_run(&sb, fn, c, err, sizeof err);
        sandbox_close(&sb);
    }
    double took = seconds_since(&t0);
    free((char *)c->csv);
    c->csv = NULL;
    if (rc != 0) {
        free(c->report);
        fail_msg("%s: %s", what, err);
    }
    assert_non_null(c->report);
    return took;
}

static void test_apex_ta_matches_ttr(void **state)
{
    comparison c = {0};
    double took = run_over_reference(run_comparison, &c, "compare.lua");
    printf("apex.ta vs TTR over %lld ttrc bars (%.2f s in the sandbox); max err is "
           "|apex - ttr| / max(|ttr|, 1), the tolerance is 1e-9; warm-up is apex.ta/TTR\n%s\n",
           (long long)c.bars, took, c.report);
    bool ok = c.ok;
    free(c.report);
    if (!ok)
        fail_msg("apex.ta disagrees with TTR; see the FAIL lines above");
}

/* Inside sandbox_run: E.compare(apex.ta, reference, bars of compare.lua) and
 * E.compare_errors, the reference and E loaded from tests/lua. [-0, +?, e] */
static int run_c_vs_lua(lua_State *L)
{
    comparison *c = lua_touserdata(L, 1);
    luaL_checkstack(L, 12, NULL);
    sandbox_push_env(L);
    int env = lua_gettop(L);
    sandbox_load_file(L, TTR_DIR "/compare.lua", env);
    lua_call(L, 0, 1);
    int compare = lua_gettop(L);
    lua_getfield(L, compare, "load");
    lua_pushlstring(L, c->csv, c->csv_len);
    lua_call(L, 1, 1);
    c->bars = lua_tointeger(L, -1);
    sandbox_load_file(L, APEX_SOURCE_DIR "/tests/lua/ta_equivalence.lua", env);
    lua_call(L, 0, 1);
    int equivalence = lua_gettop(L);
    sandbox_load_file(L, APEX_SOURCE_DIR "/tests/lua/ta_reference.lua", env);
    lua_call(L, 0, 1);
    int reference = lua_gettop(L);
    lua_getfield(L, equivalence, "compare");
    sandbox_require(L, "apex.ta");
    lua_pushvalue(L, reference);
    lua_getfield(L, compare, "series");
    lua_call(L, 0, 1);
    lua_call(L, 3, 2); /* E.compare(ta, reference, series) */
    bool values_ok = lua_toboolean(L, -2);
    lua_getfield(L, equivalence, "compare_errors");
    sandbox_require(L, "apex.ta");
    lua_pushvalue(L, reference);
    lua_call(L, 2, 2);
    c->ok = values_ok && lua_toboolean(L, -2);
    lua_pushliteral(L, "\n");
    lua_insert(L, -2);
    lua_remove(L, -3);
    lua_concat(L, 3); /* the two reports */
    c->report = strdup(lua_tostring(L, -1));
    return 0;
}

static void test_c_matches_lua_reference_on_ttrc(void **state)
{
    comparison c = {0};
    run_over_reference(run_c_vs_lua, &c, "ta_equivalence.lua");
    printf("apex.ta (C) vs its Lua reference over %lld ttrc bars:\n%s\n", (long long)c.bars,
           c.report);
    bool ok = c.ok;
    free(c.report);
    if (!ok)
        fail_msg("apex.ta (C) disagrees with its Lua reference; see the FAIL lines above");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_from_ttr),
        cmocka_unit_test(test_apex_ta_matches_ttr),
        cmocka_unit_test(test_c_matches_lua_reference_on_ttrc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
