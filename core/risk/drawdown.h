/* drawdown: the drawdown breaker (seed 002), beside the daily-loss breaker (circuit.h).
 *
 * It trips when equity has fallen risk.max_drawdown_pct below its peak:
 * peak - equity >= peak x max_drawdown_pct. Tripped, it refuses entries (exits go on;
 * with risk.drawdown_close_all every position is closed) until it resumes: by time,
 * risk.drawdown_resume_hours after the trip, or by hand (`apex-host resume`), which bumps
 * a counter in the store that the tripped breaker remembers the value of.
 *
 * Its state is one line in the store's meta table (risk_drawdown_format/_parse), so a
 * restart finds it tripped. Pure state and arithmetic: the pipeline records and logs. */
#ifndef APEX_RISK_DRAWDOWN_H
#define APEX_RISK_DRAWDOWN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clock/clock.h"
#include "config/config.h"
#include "money/money.h"

typedef struct {
    bool tripped;
    apex_time at;         /* when it tripped */
    apex_time resume_at;  /* when entries resume by time; 0 = only by hand */
    money_t peak, equity; /* at the trip */
    int64_t resumes_seen; /* the store's resume counter when it tripped */
} risk_drawdown;

/* Checks equity against peak; returns true when it trips now (d filled, resume_at from
 * risk.drawdown_resume_hours). A tripped breaker, max_drawdown_pct 0 or peak <= 0 never
 * trips. */
bool risk_drawdown_check(risk_drawdown *d, const risk_config *cfg, money_t peak, money_t equity,
                         apex_time now);

/* The drawdown at the trip as a fraction of the peak. */
money_t risk_drawdown_fraction(const risk_drawdown *d);

/* The meta value: "<at> <resume_at> <peak> <equity> <resumes_seen>"; "" when not tripped. */
void risk_drawdown_format(const risk_drawdown *d, char *buf, size_t len);
/* Parses what _format wrote; false (d cleared) for "" or anything else. */
bool risk_drawdown_parse(const char *s, risk_drawdown *d);

#endif
