/* model/execution: the life of one execution (one pipeline run for one symbol, seed
 * 000's "dual phase"): its statuses, their names at the SQL/JSON boundary, and which
 * are final. */
#ifndef APEX_MODEL_EXECUTION_H
#define APEX_MODEL_EXECUTION_H

#include <stdbool.h>

typedef enum {
    EXEC_PENDING = 0,
    EXEC_RUNNING,
    EXEC_MONITORING,
    EXEC_COMPLETED,
    EXEC_FAILED,
    EXEC_CANCELLED,
    EXEC_PAUSED,
    EXEC_SKIPPED,
} exec_status;

const char *exec_status_name(exec_status s); /* "pending", "running", ... */
int exec_status_parse(const char *name);     /* -1 if unknown */
bool exec_status_is_final(exec_status s);    /* completed, failed, cancelled, skipped */

#endif
