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

#endif
