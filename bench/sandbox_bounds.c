/* sandbox_bounds: how far past its deadline each kind of runaway script call returns.
 *
 *   build/bench-sandbox-bounds [RUNS]      (default 3; make bench runs it)
 *
 * Each case runs in a fresh sandbox with the product's limits (64 MiB, 250 ms). A setup
 * chunk (built under a long deadline, so it is not measured) prepares the data; the
 * attack chunk then runs under the 250 ms deadline, and the time from its start to the
 * return of sandbox_pcall is measured. The figure that matters is the overrun: elapsed
 * minus the deadline, the time the host loop (every other pipeline, the exit engine,
 * signal handling) waits beyond the deadline. The worst of RUNS runs is printed, with the
 * message the call failed with. docs/security.md quotes the figures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>

#include "script/sandbox.h"

typedef struct {
    const char *name;
    const char *setup; /* may be NULL */
    const char *attack;
} bench_case;

static const bench_case cases[] = {
    {"endless loop", NULL, "while true do end"},
    {"xpcall(loop, loop)", NULL, "local function loop() while true do end end xpcall(loop, loop)"},
    {"loop in a coroutine", NULL, "coroutine.wrap(function() while true do end end)()"},
    {"deep recursion", NULL,
     "local function r(n) if n == 0 then return 0 end return 1 + r(n - 1) end r(1e7)"},
    {"memory bomb (table)", NULL, "local t = {} for i = 1, 1e9 do t[i] = i end"},
    {"string.rep 1 GB", NULL, "local s = string.rep('x', 1e9)"},
    {"table.sort 2M numbers", "T = {} for i = 1, 2e6 do T[i] = (i * 7919) % 1000003 end",
     "table.sort(T)"},
    {"table.move 1e15 nils", NULL, "table.move({}, 1, 1e15, 1)"},
    {"load a 16 MB chunk", "S = string.rep('a = 1 ', 4e6)", "local f = load(S)"},
    {"os.date 6 MB format", "F = string.rep('%c', 3e6)", "os.date(F)"},
    {"upper() of 24 MB", "S = string.rep('x', 24e6)", "local u = S:upper() local v = S:upper()"},
    {"full GC of 400k tables", "T = {} for i = 1, 4e5 do T[i] = {i} end",
     "while true do collectgarbage('collect') end"},
    {"find .-.-.-b on 5000 a's", "S = string.rep('a', 5000)", "string.find(S, '.-.-.-b')"},
    {"gsub catastrophic", "S = string.rep('a', 3000)", "string.gsub(S, '(a-)(a-)(a-)b', '%1')"},
    {"plain find near-miss 8 MB", "S = string.rep('a', 8e6) N = string.rep('a', 4e6) .. 'b'",
     "string.find(S, N, 1, true)"},
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs code in the sandbox's globals; returns the sandbox_pcall code. */
static int run(sandbox *sb, int env_ref, const char *code, char *err, size_t errlen)
{
    if (luaL_loadbufferx(sb->L, code, strlen(code), "=bench", "t") != LUA_OK) {
        snprintf(err, errlen, "%s", lua_tostring(sb->L, -1));
        lua_pop(sb->L, 1);
        return -1;
    }
    lua_rawgeti(sb->L, LUA_REGISTRYINDEX, env_ref);
    lua_setupvalue(sb->L, -2, 1);
    return sandbox_pcall(sb, 0, err, errlen);
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 3;
    setvbuf(stdout, NULL, _IOLBF, 0); /* lines survive an exit 6 of a stuck case */
    script_limits lim = SCRIPT_LIMITS_DEFAULT;
    printf("deadline %d ms, memory cap %u MiB, worst of %d runs\n", lim.deadline_ms,
           (unsigned)(lim.memory_limit >> 20), runs);
    printf("%-28s %10s %10s  %s\n", "case", "elapsed", "overrun", "result");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double worst = 0;
        char err[512] = "";
        int rc = 0;
        for (int r = 0; r < runs; r++) {
            sandbox sb;
            char e[512];
            if (sandbox_open(&sb, lim, "bench", NULL, e, sizeof e) != 0) {
                fprintf(stderr, "sandbox_open: %s\n", e);
                return 1;
            }
            sandbox_push_env(sb.L);
            int env_ref = luaL_ref(sb.L, LUA_REGISTRYINDEX);
            if (cases[i].setup) {
                sb.deadline_ms = 600000;
                if (run(&sb, env_ref, cases[i].setup, e, sizeof e) != 0) {
                    fprintf(stderr, "%s: setup failed: %s\n", cases[i].name, e);
                    return 1;
                }
                sb.deadline_ms = lim.deadline_ms;
            }
            double t0 = now_s();
            rc = run(&sb, env_ref, cases[i].attack, e, sizeof e);
            double dt = now_s() - t0;
            if (dt >= worst) {
                worst = dt;
                snprintf(err, sizeof err, "%s", rc == 0 ? "completed" : e);
            }
            sandbox_close(&sb);
        }
        double over = worst * 1000 - lim.deadline_ms;
        printf("%-28s %8.0f ms %8.0f ms  %.90s\n", cases[i].name, worst * 1000, over > 0 ? over : 0,
               err);
    }
    return 0;
}
