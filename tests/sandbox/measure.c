/* sandbox-measure: runs one command the way the sandbox escape suite needs to watch it.
 *
 *   sandbox-measure [options] -- COMMAND [ARG...]
 *
 *   --timeout S       liveness limit: SIGKILL the command (its process group) after S
 *                     seconds of wall time and report status=timeout
 *   --out FILE        keep the first --cap bytes of its stdout here
 *   --err FILE        keep the first --cap bytes of its stderr here
 *   --cap N           bytes kept per stream (default 8 MiB); the rest is counted and dropped,
 *                     so a flooding command cannot fill the disk
 *   --sigint-on TEXT  send SIGINT once TEXT appears in its stdout or stderr
 *   --sigint-after S  send SIGINT S seconds after the start (if not sent already)
 *   --report FILE     where the report goes (default: stderr)
 *
 * The report is one key=value per line:
 *   status=exited|signaled|timeout code=N signal=N wall_s=S maxrss_kb=K
 *   out_bytes=N err_bytes=N max_line=N sigint_at_s=S exit_after_sigint_s=S
 * maxrss_kb is the command's peak resident set (wait4's rusage), wall_s the whole
 * process's wall time. Exit status: 0 when the report was written, 2 on a usage or
 * system error. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    int fd;          /* read end of the pipe, -1 at EOF */
    FILE *keep;      /* where the first cap bytes go, or NULL */
    long long bytes; /* everything read */
    long long line;  /* length of the current line */
    char tail[256];  /* the last bytes read, for a marker across reads */
    size_t ntail;
} stream;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(void)
{
    fprintf(stderr, "usage: sandbox-measure [--timeout S] [--out FILE] [--err FILE] [--cap N]\n"
                    "         [--sigint-on TEXT] [--sigint-after S] [--report FILE] -- CMD...\n");
    exit(2);
}

/* Reads what is there; returns true when the marker was seen in this read. */
static bool drain(stream *s, long long cap, long long *max_line, const char *marker)
{
    char buf[65536];
    bool seen = false;
    size_t mlen = marker ? strlen(marker) : 0;
    for (;;) {
        ssize_t n = read(s->fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return seen;
        if (n <= 0) {
            close(s->fd);
            s->fd = -1;
            return seen;
        }
        if (s->keep && s->bytes < cap) {
            long long room = cap - s->bytes;
            fwrite(buf, 1, (size_t)(n < room ? n : room), s->keep);
        }
        s->bytes += n;
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] == '\n') {
                s->line = 0;
            } else if (++s->line > *max_line) {
                *max_line = s->line;
            }
        }
        if (mlen && mlen < sizeof s->tail) {
            /* the previous tail and this read's head, then this read's own bytes */
            char joined[sizeof s->tail * 2];
            size_t head = (size_t)n < mlen ? (size_t)n : mlen;
            memcpy(joined, s->tail, s->ntail);
            memcpy(joined + s->ntail, buf, head);
            if (memmem(joined, s->ntail + head, marker, mlen) ||
                memmem(buf, (size_t)n, marker, mlen))
                seen = true;
            size_t keep = mlen - 1;
            if ((size_t)n >= keep) {
                memcpy(s->tail, buf + n - keep, keep);
                s->ntail = keep;
            } else {
                size_t total = s->ntail + (size_t)n;
                size_t drop = total > keep ? total - keep : 0;
                memmove(s->tail, s->tail + drop, s->ntail - drop);
                memcpy(s->tail + s->ntail - drop, buf, (size_t)n);
                s->ntail = total - drop;
            }
        }
    }
}

int main(int argc, char **argv)
{
    double timeout = 60, sigint_after = -1;
    const char *out_path = NULL, *err_path = NULL, *marker = NULL, *report_path = NULL;
    long long cap = 8ll << 20;
    int i = 1;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        }
        if (i + 1 >= argc)
            usage();
        if (strcmp(argv[i], "--timeout") == 0)
            timeout = atof(argv[++i]);
        else if (strcmp(argv[i], "--out") == 0)
            out_path = argv[++i];
        else if (strcmp(argv[i], "--err") == 0)
            err_path = argv[++i];
        else if (strcmp(argv[i], "--cap") == 0)
            cap = atoll(argv[++i]);
        else if (strcmp(argv[i], "--sigint-on") == 0)
            marker = argv[++i];
        else if (strcmp(argv[i], "--sigint-after") == 0)
            sigint_after = atof(argv[++i]);
        else if (strcmp(argv[i], "--report") == 0)
            report_path = argv[++i];
        else
            usage();
    }
    if (i >= argc)
        usage();

    int po[2], pe[2];
    if (pipe2(po, O_CLOEXEC) != 0 || pipe2(pe, O_CLOEXEC) != 0) {
        perror("sandbox-measure: pipe");
        return 2;
    }
    stream s[2] = {{.fd = po[0]}, {.fd = pe[0]}};
    if (out_path && !(s[0].keep = fopen(out_path, "w"))) {
        perror(out_path);
        return 2;
    }
    if (err_path && !(s[1].keep = fopen(err_path, "w"))) {
        perror(err_path);
        return 2;
    }
    double start = now_s();
    pid_t pid = fork();
    if (pid < 0) {
        perror("sandbox-measure: fork");
        return 2;
    }
    if (pid == 0) {
        setpgid(0, 0); /* its own group, so a timeout kills anything it started too */
        dup2(po[1], 1);
        dup2(pe[1], 2);
        /* A background job of a non-interactive shell starts with SIGINT ignored; the
         * command must see SIGINT as a user would. */
        signal(SIGINT, SIG_DFL);
        execvp(argv[i], argv + i);
        fprintf(stderr, "sandbox-measure: cannot run %s: %s\n", argv[i], strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid);
    close(po[1]);
    close(pe[1]);
    for (int k = 0; k < 2; k++)
        fcntl(s[k].fd, F_SETFL, fcntl(s[k].fd, F_GETFL) | O_NONBLOCK);

    long long max_line = 0;
    double sigint_at = -1, end = -1;
    bool timed_out = false, reaped = false;
    int wstatus = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    while (!reaped || s[0].fd >= 0 || s[1].fd >= 0) {
        struct pollfd pfd[2];
        int n = 0;
        for (int k = 0; k < 2; k++)
            if (s[k].fd >= 0)
                pfd[n++] = (struct pollfd){.fd = s[k].fd, .events = POLLIN};
        if (n > 0)
            poll(pfd, (nfds_t)n, 20);
        else
            usleep(20000);
        for (int k = 0; k < 2; k++)
            if (s[k].fd >= 0 && drain(&s[k], cap, &max_line, sigint_at < 0 ? marker : NULL) &&
                sigint_at < 0 && !reaped) {
                kill(pid, SIGINT);
                sigint_at = now_s() - start;
            }
        double t = now_s() - start;
        if (!reaped) {
            if (sigint_after >= 0 && sigint_at < 0 && t >= sigint_after) {
                kill(pid, SIGINT);
                sigint_at = t;
            }
            pid_t w = wait4(pid, &wstatus, WNOHANG, &ru);
            if (w == pid) {
                reaped = true;
                end = now_s() - start;
            } else if (t >= timeout) {
                timed_out = true;
                kill(-pid, SIGKILL);
                kill(pid, SIGKILL);
                wait4(pid, &wstatus, 0, &ru);
                reaped = true;
                end = now_s() - start;
            }
        } else if (t - end > 5) {
            break; /* something else holds the pipes open; stop reading */
        }
    }
    for (int k = 0; k < 2; k++)
        if (s[k].keep)
            fclose(s[k].keep);

    FILE *rep = report_path ? fopen(report_path, "w") : stderr;
    if (!rep) {
        perror(report_path);
        return 2;
    }
    if (timed_out)
        fprintf(rep, "status=timeout\n");
    else if (WIFSIGNALED(wstatus))
        fprintf(rep, "status=signaled\nsignal=%d\n", WTERMSIG(wstatus));
    else
        fprintf(rep, "status=exited\ncode=%d\n", WEXITSTATUS(wstatus));
    fprintf(rep, "wall_s=%.3f\nmaxrss_kb=%ld\nout_bytes=%lld\nerr_bytes=%lld\nmax_line=%lld\n", end,
            ru.ru_maxrss, s[0].bytes, s[1].bytes, max_line);
    if (sigint_at >= 0)
        fprintf(rep, "sigint_at_s=%.3f\nexit_after_sigint_s=%.3f\n", sigint_at, end - sigint_at);
    if (rep != stderr)
        fclose(rep);
    return 0;
}
