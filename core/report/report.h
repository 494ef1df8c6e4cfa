/* report: a run's results as files a person opens: the trade list as CSV or JSON
 * (`backtest --trades`) and a self-contained HTML report (`backtest --report`), both read
 * from the store through store_trades.h, so they show what `status`, the summary and the
 * JSON API show. Functions return 0, or a negative APEX_E* code with a message in err
 * that names the file and what to do. */
#ifndef APEX_REPORT_H
#define APEX_REPORT_H

#include <stddef.h>

#include "analytics/analytics.h"
#include "store/store.h"

/* Every finished trade of `pipeline` (NULL = all) to path: CSV when path ends in ".csv",
 * JSON (an array of objects) when it ends in ".json"; anything else is APEX_EINVAL.
 * Columns: pipeline, execution_id, symbol, side, qty, entry_time, entry_price,
 * exit_time, exit_price, pnl, fees, exit_reason (docs/analytics.md). */
int report_write_trades(store *s, const char *pipeline, const char *path, char *err, size_t errlen);

/* The HTML report of each pipeline in names (n of them) to path: metrics, equity and
 * drawdown charts (Chart.js, inlined from chartjs_path), per-symbol and exit-reason
 * tables and the trade list. No external URL: it opens from a file with no server. */
int report_write_html(store *s, const char *const *names, const analytics_options *opts, int n,
                      const char *chartjs_path, const char *path, char *err, size_t errlen);

/* Where Chart.js is read from: $APEX_CHARTJS when set, else the Debian package's file. */
const char *report_chartjs_path(void);

#endif
