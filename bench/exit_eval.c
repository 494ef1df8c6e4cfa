/* bench-exit-eval: the cost of one exit evaluation (exits_update_trailing + exits_evaluate)
 * per open position per price update, as the monitor pays it in a backtest.
 *
 *   bench-exit-eval [positions] [updates] [quiet|ten|all]   (default 10000 x 1000, all 3)
 *
 * Runs the same synthetic book three ways:
 *   quiet    prices wander near the levels (some within 2% of a stop, a quarter of the
 *            book with an armed trailing stop following new peaks) but nothing fires;
 *   1-in-10  the same, with one position in ten past a level on every update, so the
 *            winner's reason is formatted (the cost a firing position adds);
 *   all      every condition input populated and several firing at once.
 * Prices come from a precomputed random walk so the loop measures the evaluator, not a
 * random number generator. Prints ns per evaluation; wall time via CLOCK_MONOTONIC. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/order.h"
#include "config/config.h"
#include "exits/evaluator.h"

#define WALK_LEN 4096 /* power of two: the index wraps with a mask */

typedef enum { MODE_QUIET = 0, MODE_ONE_IN_TEN, MODE_ALL } bench_mode;

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t next_random(void)
{
    /* xorshift64*: deterministic, so every run measures the same book */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}

/* A bounded random walk in [-1000, 1000]: 1000 steps is 1.4% of a position's base price,
 * so the peak-to-trough range (2.8%) stays inside the 3% trailing distance. */
static void make_walk(int *walk)
{
    int x = 0;
    for (int i = 0; i < WALK_LEN; i++) {
        x += (int)(next_random() % 41) - 20;
        if (x > 1000)
            x = 1000;
        if (x < -1000)
            x = -1000;
        walk[i] = x;
    }
}

typedef struct {
    exit_input in;
    money_t base;   /* the walk's centre */
    money_t step;   /* price per walk step */
    unsigned phase; /* where in the walk this position starts */
} bench_position;

static void make_book(bench_position *book, int n, bench_mode mode, apex_time t0)
{
    rng_state = 0x9e3779b97f4a7c15ULL; /* the same book for every mode */
    for (int i = 0; i < n; i++) {
        bench_position *b = &book[i];
        memset(b, 0, sizeof *b);
        money_t base = MONEY(20) + (money_t)(next_random() % 48000) * (MONEY_SCALE / 100);
        b->base = base;
        b->step = base / 1000 * 14 / 1000; /* 1000 steps = 1.4% */
        b->phase = (unsigned)(next_random() % WALK_LEN);
        exit_input *in = &b->in;
        bool shrt = (i % 3) == 2;
        in->side = shrt ? SIDE_SELL : SIDE_BUY;
        in->qty = in->initial_qty = MONEY(100);
        /* Three quarters entered at the base; a quarter entered 7% better, so they sit at
         * about +7%: trailing armed and following new peaks. */
        money_t better = base / 100 * 7;
        bool in_profit = (i % 4) == 1;
        in->entry_price = in_profit ? (shrt ? base + better : base - better) : base;
        money_t e = in->entry_price;
        in->stop_loss = shrt ? e + e / 100 * 4 : e - e / 100 * 4;
        in->take_profit = shrt ? e - e / 10 : e + e / 10;
        in->bid = base - MONEY_SCALE / 100;
        in->ask = base + MONEY_SCALE / 100;
        in->volume = MONEY(1000);
        in->now = t0;
        in->session_close = t0 + 2 * APEX_DAY;
        in->has_edge = true;
        in->edge = MONEY_SCALE / 20; /* 0.05, above early_exit's 0.02 */
        in->position_score = MONEY_SCALE / 2;
        in->best_other_score = MONEY_SCALE / 2;
        if (mode == MODE_ONE_IN_TEN && i % 10 == 0) {
            /* One in ten past a level every update, cycling through the kinds. */
            switch ((i / 10) % 4) {
            case 0: /* stop above the whole walk (below for a short) */
                in->stop_loss = shrt ? base / 2 : base * 2;
                break;
            case 1:
                in->take_profit = shrt ? base * 2 : base / 2;
                break;
            case 2:
                in->ask = in->bid + MONEY_SCALE / 10; /* 10-cent spread */
                break;
            default:
                in->edge = -MONEY_SCALE / 100;
                break;
            }
        } else if (mode == MODE_ALL) {
            in->stop_loss = shrt ? base / 2 : base * 2;
            in->take_profit = shrt ? base * 2 : base / 2;
            in->volume = MONEY(10);
            in->edge = -MONEY_SCALE / 100;
            in->circuit_tripped = true;
            in->has_rebalance = true;
            in->best_other_score = MONEY_SCALE;
        }
    }
}

static double run(const exits_config *cfg, bench_position *book, int n, int updates,
                  const int *walk, unsigned long long *fired_out)
{
    volatile unsigned long long sink = 0; /* every decision is consumed */
    unsigned long long fired = 0;
    money_instrument rules = MONEY_INSTRUMENT_DEFAULT;
    exit_decision d;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int u = 0; u < updates; u++) {
        for (int i = 0; i < n; i++) {
            bench_position *p = &book[i];
            p->in.price = p->base + p->step * walk[(p->phase + (unsigned)u) & (WALK_LEN - 1)];
            p->in.now += APEX_SECOND;
            exits_update_trailing(cfg, rules, &p->in);
            exits_evaluate(cfg, rules, &p->in, &d);
            sink += (unsigned)d.condition + d.fired;
            fired += d.condition != EXIT_NONE;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    (void)sink;
    *fired_out = fired;
    double ns = (double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec);
    return ns / ((double)n * updates);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 10000;
    int updates = argc > 2 ? atoi(argv[2]) : 1000;
    /* One mode alone, for a profiler run (callgrind) of just that case. */
    int first = MODE_QUIET, last = MODE_ALL;
    if (argc > 3) {
        static const char *const modes[] = {"quiet", "ten", "all"};
        first = -1;
        for (int m = MODE_QUIET; m <= MODE_ALL; m++)
            if (strcmp(argv[3], modes[m]) == 0)
                first = last = m;
    }
    if (n <= 0 || updates <= 0 || first < 0) {
        fprintf(stderr, "usage: bench-exit-eval [positions > 0] [updates > 0] [quiet|ten|all]\n");
        return 2;
    }
    pipeline_config pc;
    config_defaults(&pc);
    exits_config cfg = pc.exits;
    config_free(&pc);

    static int walk[WALK_LEN];
    make_walk(walk);
    bench_position *book = malloc(sizeof *book * (size_t)n);
    if (!book) {
        fprintf(stderr, "bench-exit-eval: out of memory for %d positions\n", n);
        return 1;
    }
    static const char *const names[] = {"quiet (nothing fires)", "1 in 10 fires",
                                        "all fire (several at once)"};
    apex_time t0 = (apex_time)1700000000 * APEX_SECOND;
    printf("%d positions x %d updates = %lld evaluations per run\n", n, updates,
           (long long)n * updates);
    for (int m = first; m <= last; m++) {
        make_book(book, n, (bench_mode)m, t0);
        unsigned long long fired = 0;
        double ns = run(&cfg, book, n, updates, walk, &fired);
        int armed = 0;
        for (int i = 0; i < n; i++)
            armed += book[i].in.trailing_active;
        printf("%-28s %7.1f ns/evaluation  fired %5.1f%%  trailing armed %d\n", names[m], ns,
               100.0 * (double)fired / ((double)n * updates), armed);
    }
    free(book);
    return 0;
}
