/* progress: see the header. Cheap per bar: the wall clock is read once every 1,024 bars. */
#include "pipeline/progress.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "market/timestamp.h"

#define PROGRESS_EVERY_BARS 1024
#define PROGRESS_PERIOD_S   0.1
#define PROGRESS_WIDTH      20

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void progress_start(progress *pr, FILE *out, apex_time data_end)
{
    memset(pr, 0, sizeof *pr);
    pr->out = out;
    pr->data_end = data_end;
    pr->wall_start = now_s();
    pr->next_draw = pr->wall_start; /* the first draw at the first 1,024 bars */
}

/* "1,234,567" */
static char *grouped(uint64_t v, char *buf, size_t len)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v);
    size_t o = 0;
    for (int i = 0; i < n && o + 2 < len; i++) {
        if (i && (n - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = tmp[i];
    }
    buf[o] = '\0';
    return buf;
}

static void draw(progress *pr, apex_time ts, double now)
{
    double elapsed = now - pr->wall_start;
    double rate = elapsed > 0 ? (double)pr->bars / elapsed : 0;
    char day[32] = "", bars[32], rb[32], bar[PROGRESS_WIDTH + 1], eta[32] = "";
    timestamp_format(ts, day, sizeof day);
    day[10] = '\0'; /* the date is enough to see it move */
    double frac = -1;
    if (pr->data_end > pr->data_start && ts >= pr->data_start)
        frac = (double)(ts - pr->data_start) / (double)(pr->data_end - pr->data_start);
    if (frac > 1)
        frac = 1;
    fprintf(pr->out, "\r%s ", day);
    if (frac >= 0) {
        int full = (int)(frac * PROGRESS_WIDTH);
        for (int i = 0; i < PROGRESS_WIDTH; i++)
            bar[i] = i < full ? '#' : '.';
        bar[PROGRESS_WIDTH] = '\0';
        if (frac > 0)
            snprintf(eta, sizeof eta, "  ETA %.0f s", elapsed * (1 - frac) / frac);
        fprintf(pr->out, "[%s] %3.0f%%", bar, frac * 100);
    }
    /* The cursor goes back to the line's start: an event line printed next overwrites
     * the progress line instead of continuing it. */
    fprintf(pr->out, "  %s bars  %s bars/s%s\033[K\r", grouped(pr->bars, bars, sizeof bars),
            grouped((uint64_t)rate, rb, sizeof rb), eta);
    fflush(pr->out);
    pr->drawn = true;
}

void progress_bar(progress *pr, apex_time ts)
{
    if (!pr->out)
        return;
    if (!pr->data_start)
        pr->data_start = ts;
    if (++pr->bars % PROGRESS_EVERY_BARS != 0)
        return;
    double now = now_s();
    if (now < pr->next_draw)
        return;
    pr->next_draw = now + PROGRESS_PERIOD_S;
    draw(pr, ts, now);
}

void progress_end(progress *pr)
{
    if (pr->out && pr->drawn) {
        fputs("\r\033[K", pr->out);
        fflush(pr->out);
    }
    pr->drawn = false;
}

/* The index of the `timestamp` column in the header line, or -1. */
static int timestamp_column(FILE *f)
{
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n' || line[0] == '\r')
            continue;
        int col = 0;
        for (char *p = line;; col++) {
            size_t n = strcspn(p, ",\r\n");
            if (n == 9 && strncasecmp(p, "timestamp", 9) == 0)
                return col;
            if (p[n] != ',')
                return -1;
            p += n + 1;
        }
    }
    return -1;
}

apex_time progress_file_end(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int col = timestamp_column(f);
    char tail[4096];
    apex_time end = 0;
    if (col >= 0 && fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        long from = size > (long)sizeof tail - 1 ? size - (long)sizeof tail + 1 : 0;
        fseek(f, from, SEEK_SET);
        size_t n = fread(tail, 1, sizeof tail - 1, f);
        tail[n] = '\0';
        /* The last complete, non-comment line. */
        char *last = NULL;
        for (char *line = strtok(tail, "\r\n"); line; line = strtok(NULL, "\r\n"))
            if (line[0] && line[0] != '#')
                last = line;
        for (int i = 0; last && i < col; i++) {
            last = strchr(last, ',');
            if (last)
                last++;
        }
        if (last && timestamp_parse(last, strcspn(last, ","), &end) != 0)
            end = 0;
    }
    fclose(f);
    return end;
}
