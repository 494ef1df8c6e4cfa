/* risk_mode: the trader's switches in the store's meta table (risk_mode.h). */
#include "pipeline/risk_mode.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* The answerer's wall clock, like an approval's answered_at: the command is a person's
 * act, not a bar's. */
static apex_time wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (apex_time)ts.tv_sec * APEX_SECOND + ts.tv_nsec / 1000;
}

static void key_for(char *buf, size_t len, const char *what, const char *pipeline)
{
    snprintf(buf, len, "risk.%s%s%s", what, pipeline ? ":" : "", pipeline ? pipeline : "");
}

int risk_mode_set_reduce_only(store *s, const char *pipeline, bool on, const char *via,
                              apex_error *err)
{
    char key[160];
    key_for(key, sizeof key, "reduce_only", pipeline);
    int rc = store_meta_set(s, key, on ? "on" : "off", err);
    if (rc == 0)
        rc = store_event(s, wall_now(), pipeline ? pipeline : "", 0, "risk_mode", err,
                         "reduce-only %s by hand for %s%s%s%s", on ? "on" : "off",
                         pipeline ? pipeline : "every pipeline", via && *via ? " (" : "",
                         via && *via ? via : "", via && *via ? ")" : "");
    return rc;
}

bool risk_mode_reduce_only(store *s, const char *pipeline)
{
    char key[160], v[8] = "";
    key_for(key, sizeof key, "reduce_only", pipeline);
    if (store_meta_get(s, key, v, sizeof v) == 0 && strcmp(v, "on") == 0)
        return true;
    v[0] = '\0';
    return pipeline && store_meta_get(s, "risk.reduce_only", v, sizeof v) == 0 &&
           strcmp(v, "on") == 0;
}
