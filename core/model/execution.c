/* model/execution: execution status names. */
#include "model/execution.h"

#include "model/model_internal.h"

static const char *const exec_status_names[] = {
    "pending", "running", "monitoring", "completed", "failed", "cancelled", "paused", "skipped",
};

const char *exec_status_name(exec_status st)
{
    return model_name(exec_status_names, MODEL_COUNT(exec_status_names), (int)st, "unknown");
}

int exec_status_parse(const char *name)
{
    return model_parse(exec_status_names, MODEL_COUNT(exec_status_names), name);
}

bool exec_status_is_final(exec_status st)
{
    return st == EXEC_COMPLETED || st == EXEC_FAILED || st == EXEC_CANCELLED || st == EXEC_SKIPPED;
}
