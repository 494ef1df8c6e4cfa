/* store_metrics: the store's side of /metrics, read when the registry is rendered.
 *
 * Orders by status are counted from the rows themselves rather than kept by the code that
 * changes them: a status moves in several places (exec, reconciliation, the paper
 * broker's replies, units that roll back), and a count beside the rows could drift from
 * them; a GROUP BY at scrape time cannot. It runs once per render, off the trading path. */
#include <sqlite3.h>

#include "metrics/metrics.h"
#include "store/store.h"
#include "store/store_internal.h"
#include "util/log.h"

static void collect(void *ud)
{
    store *s = ud;
    metrics_zero_family(METRIC_ORDERS);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT e.pipeline, o.status, count(*) FROM orders o "
                           "JOIN executions e ON e.id = o.execution_id "
                           "GROUP BY e.pipeline, o.status ORDER BY e.pipeline, o.status",
                           -1, &st, NULL) != SQLITE_OK) {
        log_warn("metrics: cannot count orders by status: %s", sqlite3_errmsg(s->db));
        return;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *pipeline = (const char *)sqlite3_column_text(st, 0);
        const char *status = (const char *)sqlite3_column_text(st, 1);
        metrics_set(metrics_get(METRIC_ORDERS, pipeline ? pipeline : "", status ? status : ""),
                    sqlite3_column_int64(st, 2));
    }
    sqlite3_finalize(st);
}

int store_metrics_attach(store *s)
{
    return metrics_add_collector(collect, s);
}

void store_metrics_detach(store *s)
{
    metrics_remove_collector(collect, s);
}
