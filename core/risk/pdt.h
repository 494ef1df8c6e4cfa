/* pdt: the pattern-day-trader rule (FINRA 4210) for margin accounts under 25,000.
 *
 * A day trade is a position opened and closed on the same trading day (UTC day, as the
 * daily breaker counts days). The window is the last 5 business days (Monday to Friday)
 * up to and including today. With risk.pdt_check on and equity below 25,000, an entry is
 * refused once the window holds risk.pdt_day_trade_limit day trades (default 3): the
 * next round trip would be the fourth. The count is the larger of the store's (the
 * positions of this store's pipelines) and the broker's own (account.day_trades), so a
 * venue that counts trades made elsewhere is believed. */
#ifndef APEX_RISK_PDT_H
#define APEX_RISK_PDT_H

#include <stdbool.h>
#include <stddef.h>

#include "clock/clock.h"
#include "config/config.h"
#include "money/money.h"

#define RISK_PDT_EQUITY_MIN    MONEY(25000)
#define RISK_PDT_BUSINESS_DAYS 5

/* The start (UTC midnight) of the window of 5 business days that ends on now's day. */
apex_time risk_pdt_window_start(apex_time now);

typedef struct {
    money_t equity;
    int store_count;   /* day trades in the window, from the store */
    int broker_count;  /* the broker's count (account.day_trades) */
    const char *dates; /* the store's day-trade dates, "YYYY-MM-DD, ..." */
} risk_pdt_input;

/* true when the entry may go; otherwise why holds the count, the limit and the dates. */
bool risk_pdt_allows(const risk_config *cfg, const risk_pdt_input *in, char *why, size_t len);

#endif
