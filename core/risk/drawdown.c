/* drawdown: the drawdown breaker's arithmetic and its one-line record. */
#include "risk/drawdown.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

bool risk_drawdown_check(risk_drawdown *d, const risk_config *cfg, money_t peak, money_t equity,
                         apex_time now)
{
    if (d->tripped || cfg->max_drawdown_pct <= 0 || peak <= 0)
        return false;
    money_t limit = 0;
    if (money_mul(peak, cfg->max_drawdown_pct, MONEY_ROUND_NEAREST, &limit) < 0 || limit <= 0 ||
        peak - equity < limit)
        return false;
    d->tripped = true;
    d->at = now;
    d->resume_at = cfg->drawdown_resume_hours > 0
                       ? now + (apex_time)cfg->drawdown_resume_hours * APEX_HOUR
                       : 0;
    d->peak = peak;
    d->equity = equity;
    return true;
}

money_t risk_drawdown_fraction(const risk_drawdown *d)
{
    money_t f = 0;
    if (d->peak > 0)
        money_div(d->peak - d->equity, d->peak, MONEY_ROUND_NEAREST, &f);
    return f;
}

void risk_drawdown_format(const risk_drawdown *d, char *buf, size_t len)
{
    if (!d->tripped) {
        snprintf(buf, len, "%s", "");
        return;
    }
    snprintf(buf, len, "%" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64, d->at,
             d->resume_at, d->peak, d->equity, d->resumes_seen);
}

bool risk_drawdown_parse(const char *s, risk_drawdown *d)
{
    memset(d, 0, sizeof *d);
    int64_t v[5];
    int used = 0;
    if (sscanf(s, "%" SCNd64 " %" SCNd64 " %" SCNd64 " %" SCNd64 " %" SCNd64 "%n", &v[0], &v[1],
               &v[2], &v[3], &v[4], &used) != 5 ||
        s[used] != '\0')
        return false;
    *d = (risk_drawdown){.tripped = true,
                         .at = v[0],
                         .resume_at = v[1],
                         .peak = v[2],
                         .equity = v[3],
                         .resumes_seen = v[4]};
    return true;
}
