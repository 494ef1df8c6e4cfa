/* atr: Wilder's average true range of one symbol's bars, kept up to date bar by bar for
 * the ATR and chandelier trailing stops (exits.trailing_stop.mode).
 *
 * The arithmetic is apex.ta's atr (core/script/ta.c) with its default first_tr = "range":
 * the first bar's true range is its high - low, later ones max(high - low, |high - previous
 * close|, |low - previous close|); the value is the mean of the first n true ranges, then
 * value = (value * (n - 1) + tr) / n. Here it is in the host's fixed point, rounded to the
 * nearest 1e-8 at each step, so it agrees with ta.atr (and R's TTR::ATR after its first
 * bar) to that precision. O(1) per bar, no allocation. */
#ifndef APEX_EXITS_ATR_H
#define APEX_EXITS_ATR_H

#include <stdbool.h>

#include "market/bar.h"
#include "money/money.h"

typedef struct {
    int n;     /* the period */
    int count; /* true ranges seen, up to n */
    money_t prev_close;
    money_t seed_sum; /* sum of the first true ranges, until n are seen */
    money_t value;    /* 0 until ready */
} exits_atr;

void exits_atr_init(exits_atr *a, int n);
void exits_atr_update(exits_atr *a, const bar *b);
static inline bool exits_atr_ready(const exits_atr *a)
{
    return a->count >= a->n && a->n > 0;
}

#endif
