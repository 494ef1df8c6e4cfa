/* trade: the hold count that keeps a trade alive while callbacks point at it. */
#include "exec/trade.h"

#include "util/assert.h"

void trade_hold(trade *t)
{
    APEX_ASSERT(t->holds >= 0);
    t->holds++;
}

trade *trade_release(trade *t)
{
    APEX_ASSERT(t->holds > 0);
    t->holds--;
    return t->finished ? NULL : t;
}

void trade_finish(trade *t)
{
    t->finished = true;
}
