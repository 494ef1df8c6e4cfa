/* banner: what `run` and `backtest` print before the first bar, so a trader sees at once
 * what is about to trade where: the pipelines with their scripts, symbols and brokers
 * (names, accounts and the source of credentials, never a secret), the data's range, the
 * replay speed, the store and where the dashboard listens. */
#ifndef APEX_PIPELINE_BANNER_H
#define APEX_PIPELINE_BANNER_H

#include <stdbool.h>
#include <stdio.h>

#include "clock/clock.h"
#include "config/config.h"

typedef struct {
    bool backtest;
    const pipeline_config *const *pipes;
    int npipes;
    bool follow;             /* run: the data files are followed (data.follow) */
    double speed;            /* run: replay speed, x real time */
    const char *store;       /* the store's path (":memory:" keeps nothing) */
    const char *http_listen; /* where the dashboard and API listen; NULL = not served */
} run_banner;

/* Prints the banner to out. Reads the first and last row of each data file for the range
 * (a file that cannot be read is left out: the run itself reports it). */
void run_banner_print(FILE *out, const run_banner *b);

#endif
