/* bar: one OHLCV bar of market data for one symbol. */
#ifndef APEX_MARKET_BAR_H
#define APEX_MARKET_BAR_H

#include "clock/clock.h"
#include "model/order.h" /* SYMBOL_MAX */
#include "money/money.h"

typedef struct {
    apex_time ts;  /* bar open time, µs since epoch UTC */
    int symbol_id; /* index into the host's symtab */
    money_t open, high, low, close;
    money_t volume;
    money_t bid, ask; /* 0 when the data has no quote columns */
} bar;

#endif
