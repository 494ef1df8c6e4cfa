/* trade: one execution's live state in memory.
 *
 * The store rows (execution, position) are the durable truth; a trade mirrors them
 * and adds what only matters while the host runs: the ledger replayed from fills,
 * the monitoring timer, in-flight request counts. One trade per execution; the
 * pipeline owns the list of them. */
#ifndef APEX_EXEC_TRADE_H
#define APEX_EXEC_TRADE_H

#include <stdbool.h>

#include "model/order.h"
#include "clock/clock.h"
#include "ledger/ledger.h"
#include "store/store.h"

typedef struct trade {
    store_execution row;
    store_position pos;
    bool has_pos; /* a position row exists (the entry has filled at least once) */
    ledger led;   /* our fills, applied in arrival order */
    int symbol_id;
    char entry_coid[BROKER_ID_MAX];
    char exit_coid[BROKER_ID_MAX]; /* the working host exit order, "" when none */
    char exit_reason[256];
    clock_timer check_timer; /* the position monitor's next check */
    apex_time last_persist;  /* when the monitoring columns were last written */
    void *exit_job;          /* the exit executor's working job, NULL when none */
    int pending;             /* requests in flight that point at this trade */
    bool closing;            /* an exit has been requested */
    bool finished;           /* final status written; free once pending == 0 */
    void *owner;             /* the pipeline */
    struct trade *next;
} trade;

#endif
