/* status: the `apex-host status` report, rendered as text from the store's report
 * queries (store/store_report.h). The dashboard renders the same queries as JSON. */
#ifndef APEX_CLI_STATUS_H
#define APEX_CLI_STATUS_H

#include <stdio.h>

#include "store/store.h"
#include "util/err.h"

/* Writes the report to out: executions (status, phase, next check, P&L), open positions
 * with their monitoring state (trailing stop, cadence, next check, partial stages done),
 * the latest exits with one line per attempt, open orders and the `nevents` latest
 * events. A section is written only once all of it has been read, so a failure never
 * leaves half a table. Returns 0 or an APEX_E* code with the message in err (may be
 * NULL). */
int cli_status_print(store *s, FILE *out, int nevents, apex_error *err);

/* What `apex-host status` shows: NULL strings match everything. */
typedef struct {
    const char *pipeline; /* every section: only this pipeline's rows */
    const char *symbol;   /* executions, positions, exits, orders, events of this symbol */
    const char *status;   /* executions: only this status, the `limit` latest of it */
    int limit;            /* finished executions (beside the active ones) and exits listed */
    int events;           /* events listed */
} cli_status_filter;

/* cli_status_print narrowed by f (cli_status_print is this with every row and 20 of
 * each). The section titles say which filter applies. */
int cli_status_print_filtered(store *s, FILE *out, const cli_status_filter *f, apex_error *err);

#endif
