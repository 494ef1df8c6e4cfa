/* loopback_echo: the floor under bench/alpaca_latency.sh's figures, one TCP hop on
 * 127.0.0.1 on this machine.
 *
 *   build/bench-loopback [N] [BYTES]      (default 10000 round trips of 256 bytes)
 *
 * A forked child echoes what it reads on a TCP connection over 127.0.0.1 (TCP_NODELAY on
 * both ends, blocking sockets); the parent writes BYTES, reads them back, and times each
 * round trip with CLOCK_MONOTONIC. One hop is taken as half a round trip. Prints p50, p99
 * and max of the one-way figure in microseconds. */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int full(int fd, char *buf, size_t n, int writing)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = writing ? write(fd, buf + done, n - done) : read(fd, buf + done, n - done);
        if (r <= 0)
            return -1;
        done += (size_t)r;
    }
    return 0;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 10000;
    size_t bytes = argc > 2 ? (size_t)atoi(argv[2]) : 256;
    if (n < 1 || bytes < 1 || bytes > 65536) {
        fprintf(stderr, "usage: bench-loopback [N] [BYTES]\n");
        return 2;
    }
    int one = 1, ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, 1) ||
        getsockname(ls, (struct sockaddr *)&a, &alen)) {
        perror("bench-loopback: listen");
        return 1;
    }
    char *buf = calloc(1, bytes);
    if (!buf)
        return 1;
    pid_t child = fork();
    if (child < 0) {
        perror("bench-loopback: fork");
        return 1;
    }
    if (child == 0) {
        int c = accept(ls, NULL, NULL);
        if (c < 0)
            _exit(1);
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        while (full(c, buf, bytes, 0) == 0 && full(c, buf, bytes, 1) == 0)
            ;
        _exit(0);
    }
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a)) {
        perror("bench-loopback: connect");
        kill(child, SIGTERM);
        return 1;
    }
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    double *v = malloc((size_t)n * sizeof *v);
    if (!v)
        return 1;
    for (int i = 0; i < n; i++) {
        memset(buf, 'a' + i % 26, bytes);
        double t = now_us();
        if (full(s, buf, bytes, 1) || full(s, buf, bytes, 0)) {
            fprintf(stderr, "bench-loopback: the echo failed\n");
            kill(child, SIGTERM);
            return 1;
        }
        v[i] = (now_us() - t) / 2;
    }
    close(s);
    waitpid(child, NULL, 0);
    qsort(v, (size_t)n, sizeof *v, cmp);
    printf(
        "loopback one hop (half a round trip, %zu bytes): p50 %.0f us  p99 %.0f us  max %.0f us  "
        "(N %d)\n",
        bytes, v[(n * 50 + 99) / 100 - 1], v[(n * 99 + 99) / 100 - 1], v[n - 1], n);
    free(v);
    free(buf);
    return 0;
}
