/* alpaca_bench: requests per second and order round trips of the Alpaca adapter against
 * the fake Alpaca server on loopback (tests/fake_alpaca), through the broker interface and
 * its rate limiter, as `run` uses them.
 *
 *   build/bench-alpaca FAKE_ALPACA_BINARY [N] [LIMIT_PER_MINUTE]
 *
 * Phase 1: N account reads, 8 in flight. Phase 2: N market orders (distinct client order
 * ids), 8 in flight, each timed from broker_submit_order to its reply. With a limit, every
 * request waits its grant: the figures then show the limiter, not the host. Prints
 * requests/s, the p50/p99 order round trip, and the limiter's grants in the last 60 s. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "broker/alpaca.h"
#include "broker/broker.h"
#include "net/ratelimit.h"

#define INFLIGHT 8

typedef struct {
    uv_loop_t loop;
    broker *b;
    int n, sent, done;
    bool orders;
    double *lat_ms;
    double *started;
} bench;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void issue(bench *k);

static void on_reply(void *ud, const broker_reply *r)
{
    bench *k = ud;
    if (r->status != 0) {
        fprintf(stderr, "bench-alpaca: a request failed: %s\n", r->error);
        exit(1);
    }
    int i = k->done++;
    if (k->orders)
        k->lat_ms[i] = now_ms() - k->started[i];
    issue(k);
}

static void issue(bench *k)
{
    while (k->sent < k->n && k->sent - k->done < INFLIGHT) {
        int i = k->sent++;
        int rc;
        if (k->orders) {
            order_request q = {
                .side = i % 2 ? SIDE_SELL : SIDE_BUY, .type = ORDER_MARKET, .qty = MONEY(1)};
            snprintf(q.client_order_id, sizeof q.client_order_id, "bench-%d", i);
            snprintf(q.symbol, sizeof q.symbol, "AAPL");
            k->started[i] = now_ms();
            rc = broker_submit_order(k->b, BROKER_PRIORITY_ROUTINE, &q, on_reply, k);
        } else {
            rc = broker_get_account(k->b, BROKER_PRIORITY_ROUTINE, on_reply, k);
        }
        if (rc != 0) {
            fprintf(stderr, "bench-alpaca: a call was refused (%d)\n", rc);
            exit(1);
        }
    }
}

static double run_phase(bench *k, bool orders)
{
    k->orders = orders;
    k->sent = k->done = 0;
    double t0 = now_ms();
    issue(k);
    while (k->done < k->n)
        uv_run(&k->loop, UV_RUN_ONCE);
    return (now_ms() - t0) / 1e3;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int start_fake(const char *bin)
{
    int out[2];
    if (pipe(out) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        dup2(out[1], 1);
        close(out[0]);
        execl(bin, bin, "--port", "0", "--key", "PKBENCH", "--secret", "bench-secret", "--fill",
              "immediate", "--cash", "100000000", (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    FILE *r = fdopen(out[0], "r");
    int port = -1;
    char line[128];
    if (r && fgets(line, sizeof line, r))
        sscanf(line, "listening 127.0.0.1:%d", &port);
    if (r)
        fclose(r);
    return port;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench-alpaca FAKE_ALPACA [N] [LIMIT_PER_MINUTE]\n");
        return 2;
    }
    int n = argc > 2 ? atoi(argv[2]) : 2000;
    int limit = argc > 3 ? atoi(argv[3]) : 0;
    int port = start_fake(argv[1]);
    if (port <= 0) {
        fprintf(stderr, "bench-alpaca: the fake did not start\n");
        return 1;
    }
    char cmd[256];
    snprintf(cmd, sizeof cmd,
             "curl -s -o /dev/null -X POST -d '{\"symbol\":\"AAPL\",\"c\":180}' "
             "http://127.0.0.1:%d/_control/bar",
             port);
    if (system(cmd) != 0)
        return 1;
    setenv("APCA_API_KEY_ID", "PKBENCH", 1);
    setenv("APCA_API_SECRET_KEY", "bench-secret", 1);
    bench k = {.n = n};
    k.lat_ms = calloc((size_t)n, sizeof *k.lat_ms);
    k.started = calloc((size_t)n, sizeof *k.started);
    uv_loop_init(&k.loop);
    apex_clock *clock = clock_new_live(&k.loop, 1.0, 1);
    broker_config cfg = {.kind = BROKER_KIND_ALPACA};
    snprintf(cfg.base_url, sizeof cfg.base_url, "http://127.0.0.1:%d", port);
    snprintf(cfg.data_url, sizeof cfg.data_url, "http://127.0.0.1:%d", port);
    char err[512];
    k.b = alpaca_broker_new(&cfg, &k.loop, err, sizeof err);
    if (!k.b) {
        fprintf(stderr, "bench-alpaca: %s\n", err);
        return 1;
    }
    ratelimit *rl = limit > 0 ? ratelimit_new(clock, limit) : NULL;
    if (rl)
        broker_set_limiter(k.b, rl);
    double reads = run_phase(&k, false);
    double orders = run_phase(&k, true);
    qsort(k.lat_ms, (size_t)n, sizeof *k.lat_ms, cmp);
    printf("account reads: %d in %.2f s, %.0f requests/s\n", n, reads, n / reads);
    printf("market orders: %d in %.2f s, %.0f orders/s, round trip p50 %.2f ms, p99 %.2f ms\n", n,
           orders, n / orders, k.lat_ms[n / 2], k.lat_ms[(int)(n * 0.99)]);
    if (rl)
        printf("limiter: %d per minute, %llu granted in all\n", limit,
               (unsigned long long)ratelimit_granted(rl));
    broker_free(k.b);
    if (rl)
        ratelimit_free(rl);
    clock_free(clock);
    uv_run(&k.loop, UV_RUN_DEFAULT);
    uv_loop_close(&k.loop);
    free(k.lat_ms);
    free(k.started);
    return 0;
}
