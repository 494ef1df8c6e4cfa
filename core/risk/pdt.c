/* pdt: the 5-business-day window and the refusal. */
#include "risk/pdt.h"

#include <stdio.h>

/* 1970-01-01 was a Thursday: day % 7 == 2 is Saturday, 3 is Sunday. */
static bool weekend(int64_t day)
{
    int64_t w = ((day % 7) + 7) % 7;
    return w == 2 || w == 3;
}

apex_time risk_pdt_window_start(apex_time now)
{
    int64_t day = now / APEX_DAY;
    int counted = weekend(day) ? 0 : 1;
    while (counted < RISK_PDT_BUSINESS_DAYS) {
        day--;
        if (!weekend(day))
            counted++;
    }
    return (apex_time)day * APEX_DAY;
}

bool risk_pdt_allows(const risk_config *cfg, const risk_pdt_input *in, char *why, size_t len)
{
    if (!cfg->pdt_check || in->equity >= RISK_PDT_EQUITY_MIN)
        return true;
    int count = in->store_count > in->broker_count ? in->store_count : in->broker_count;
    if (count < cfg->pdt_day_trade_limit)
        return true;
    char eb[32];
    snprintf(why, len,
             "PDT rule: %d day trades in the last %d business days (store %d: %s; broker %d), "
             "limit %d (risk.pdt_day_trade_limit) with equity %s < 25000; the next would be "
             "day trade %d; wait for the window to roll or raise equity",
             count, RISK_PDT_BUSINESS_DAYS, in->store_count,
             in->dates && in->dates[0] ? in->dates : "none", in->broker_count,
             cfg->pdt_day_trade_limit, money_format_trim(in->equity, 2, eb, sizeof eb), count + 1);
    return false;
}
