/* progress: the backtest's progress line on stderr, for a person at a terminal:
 *
 *     2024-03-06 [########............]  41%  4,012 bars  61,240 bars/s  ETA 1 s
 *
 * The fraction is of data time: from the first bar to the last row of the data files
 * (read once from each file's end), so the ETA holds for files of any size without a
 * first pass over them. Drawn at most 10 times a second, and erased at the end so the
 * summary starts on a clean line. The host turns it on only when stderr is a terminal
 * and --quiet was not given. */
#ifndef APEX_PIPELINE_PROGRESS_H
#define APEX_PIPELINE_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "clock/clock.h"

typedef struct {
    FILE *out;
    apex_time data_start, data_end; /* 0 = unknown: no bar, no percentage or ETA */
    uint64_t bars;
    double wall_start, next_draw; /* seconds */
    bool drawn;
} progress;

void progress_start(progress *pr, FILE *out, apex_time data_end);
/* One bar at data time ts; draws when a tenth of a second has passed. */
void progress_bar(progress *pr, apex_time ts);
/* Erases the line (if one was drawn). */
void progress_end(progress *pr);

/* The time of the last row of a CSV bar file (its `timestamp` column), or 0 when the file
 * cannot be read or its end does not parse: the bar then shows no percentage. */
apex_time progress_file_end(const char *path);

#endif
