/* bench-pattern: Lua 5.4's own string.find / match / gmatch / gsub against the host's
 * bounded ones (core/script/pattern.c) on what trader scripts do with them.
 *
 *   bench-pattern [rounds]        (default 20000 calls of each case per measurement)
 *   bench-pattern --cases         lists the cases
 *   bench-pattern --one CASE real|host ROUNDS   one case in one state (for callgrind)
 *
 * Each case is a Lua loop run in two states, one with the real library and one where
 * pattern_open replaced the four functions with a budget that reads the monotonic clock
 * as the sandbox's does, so the figures include the budget's cost. Measurements
 * alternate between the two states and the best of 25 is kept, which evens out a
 * shared machine's noise. Prints ns per call and the ratio (bounded / real). */
#include <stdbool.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>
#include <lualib.h>

#include "script/pattern.h"

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* What the sandbox's budget does: compare the clock with a deadline (never reached). */
static bool clock_budget(lua_State *L, void *ud, char *msg, size_t msglen)
{
    (void)L;
    (void)msg;
    (void)msglen;
    return now_ns() >= *(const int64_t *)ud;
}

static const char SETUP[] =
    "LINE = 'AAPL,2024-03-01T09:30:00,185.20,185.90,184.70,185.50,1203400'\n"
    "HEADLINE = 'Fed holds rates steady;  SPY   rallies 1.2%  as   traders price in cuts'\n"
    "KV = 'symbol=SPY side=buy qty=100 stop=495 target=520'\n";

static const struct {
    const char *name;
    const char *body; /* runs ROUNDS times; `s` accumulates so nothing is optimised away */
} cases[] = {
    {"split a CSV bar line: gmatch('([^,]*)')",
     "for f in LINE:gmatch('([^,]*)') do s = s + #f end"},
    {"first number: find('%d+')", "s = s + LINE:find('%d+')"},
    {"all numbers: gmatch('%d+%.?%d*')", "for d in LINE:gmatch('%d+%.?%d*') do s = s + #d end"},
    {"squeeze whitespace: gsub('%s+', ' ')", "s = s + #(HEADLINE:gsub('%s+', ' '))"},
    {"trim: match('^%s*(.-)%s*$')", "s = s + #(('  ' .. 'SPY' .. '  '):match('^%s*(.-)%s*$'))"},
    {"words of a headline: gmatch('%a+')", "for w in HEADLINE:gmatch('%a+') do s = s + #w end"},
    {"key=value pairs: gmatch('(%w+)=(%w+)')",
     "for k, v in KV:gmatch('(%w+)=(%w+)') do s = s + #k + #v end"},
    {"keyword, plain: find('rallies', 1, true)", "s = s + HEADLINE:find('rallies', 1, true)"},
    {"keyword, no specials: find('cuts')", "s = s + HEADLINE:find('cuts')"},
    {"upper-case tickers: gsub('%u%u+', t)", "s = s + select(2, HEADLINE:gsub('%u%u+', TICKERS))"},
};

static lua_State *open_state(bool bounded, int64_t *deadline)
{
    lua_State *L = luaL_newstate();
    if (!L)
        exit(1);
    luaL_openlibs(L);
    if (bounded) {
        lua_getglobal(L, LUA_STRLIBNAME);
        pattern_open(L, -1, clock_budget, deadline);
        lua_pop(L, 1);
    }
    if (luaL_dostring(L, SETUP) != LUA_OK ||
        luaL_dostring(L, "TICKERS = { SPY = 'spy', AAPL = 'aapl' }") != LUA_OK) {
        fprintf(stderr, "bench-pattern: %s\n", lua_tostring(L, -1));
        exit(1);
    }
    return L;
}

/* Compiles "return function(n) local s = 0; for _ = 1, n do <body> end return s end". */
static void push_case(lua_State *L, const char *body)
{
    lua_pushfstring(L, "return function(n) local s = 0 for _ = 1, n do %s end return s end", body);
    if (luaL_loadstring(L, lua_tostring(L, -1)) != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK) {
        fprintf(stderr, "bench-pattern: %s\n", lua_tostring(L, -1));
        exit(1);
    }
    lua_remove(L, -2);
}

/* ns per call of the function on top of L over `rounds` calls; leaves it there. */
static double measure(lua_State *L, long rounds, lua_Integer *sum)
{
    lua_pushvalue(L, -1);
    lua_pushinteger(L, rounds);
    int64_t t0 = now_ns();
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        fprintf(stderr, "bench-pattern: %s\n", lua_tostring(L, -1));
        exit(1);
    }
    int64_t t1 = now_ns();
    *sum = lua_tointeger(L, -1);
    lua_pop(L, 1);
    return (double)(t1 - t0) / (double)rounds;
}

/* --one CASE real|host ROUNDS: that case alone, in one state, for an instruction
 * counter (bench/pattern.sh runs it under callgrind). */
static int run_one(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: bench-pattern --one CASE real|host ROUNDS\n");
        return 2;
    }
    size_t which = (size_t)atol(argv[2]);
    if (which >= sizeof cases / sizeof *cases)
        return 2;
    int64_t deadline = INT64_MAX;
    lua_State *L = open_state(strcmp(argv[3], "host") == 0, &deadline);
    push_case(L, cases[which].body);
    lua_Integer sum;
    measure(L, atol(argv[4]), &sum);
    lua_close(L);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--one") == 0)
        return run_one(argc, argv);
    if (argc > 1 && strcmp(argv[1], "--cases") == 0) {
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
            printf("%zu\t%s\n", i, cases[i].name);
        return 0;
    }
    long rounds = argc > 1 ? atol(argv[1]) : 20000;
    int64_t deadline = INT64_MAX;
    lua_State *real = open_state(false, NULL), *ours = open_state(true, &deadline);
    printf("%-44s %10s %10s %7s\n", "case", "Lua ns", "host ns", "ratio");
    double log_sum = 0;
    int n = 0;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        push_case(real, cases[i].body);
        push_case(ours, cases[i].body);
        double best_real = 1e300, best_ours = 1e300;
        lua_Integer sum_real = 0, sum_ours = 0;
        for (int round = 0; round < 25; round++) {
            double a = measure(real, rounds, &sum_real);
            double b = measure(ours, rounds, &sum_ours);
            best_real = a < best_real ? a : best_real;
            best_ours = b < best_ours ? b : best_ours;
        }
        if (sum_real != sum_ours) {
            fprintf(stderr, "bench-pattern: %s: results differ (%lld vs %lld)\n", cases[i].name,
                    (long long)sum_real, (long long)sum_ours);
            return 1;
        }
        printf("%-44s %10.1f %10.1f %7.2f\n", cases[i].name, best_real, best_ours,
               best_ours / best_real);
        log_sum += log(best_ours / best_real);
        n++;
        lua_pop(real, 1);
        lua_pop(ours, 1);
    }
    printf("%-44s %10s %10s %7.2f\n", "geometric mean", "", "", exp(log_sum / n));

    /* Where the real library is quadratic: a needle that almost matches everywhere. */
    static const char NEAR_MISS[] =
        "local s = string.rep('a', 1 << 20) return s:find(string.rep('a', 9999) .. 'b', 1, true)";
    int64_t t0 = now_ns();
    if (luaL_dostring(real, NEAR_MISS) != LUA_OK)
        return 1;
    int64_t t1 = now_ns();
    if (luaL_dostring(ours, NEAR_MISS) != LUA_OK)
        return 1;
    int64_t t2 = now_ns();
    printf("%-44s %10.1f %10.1f %7.3f   (ms per call)\n", "1 MiB plain find, 10,000-byte near miss",
           (double)(t1 - t0) / 1e6, (double)(t2 - t1) / 1e6, (double)(t2 - t1) / (double)(t1 - t0));

    /* Where it never returns: how soon after a 250 ms deadline the budget stops it. */
    deadline = now_ns() + 250 * 1000000LL;
    t0 = now_ns();
    int status = luaL_dostring(ours, "return string.rep('a', 5000):find('.-.-.-b')");
    t1 = now_ns();
    printf("%-44s %10s %10.1f   (ms; %s, %.2f ms past the deadline)\n",
           "find('.-.-.-b') on 5000 bytes, 250 ms budget", "never ends", (double)(t1 - t0) / 1e6,
           status == LUA_OK ? "finished" : "stopped", (double)(t1 - deadline) / 1e6);
    lua_close(real);
    lua_close(ours);
    return 0;
}
