/* ledger: position accounting from fills, the one definition of P&L.
 *
 * The engine applies each fill as it arrives and the store's ledger check replays
 * the fills table through the same function, so the two agree to the smallest unit.
 * Average-cost accounting: the open quantity carries a cost basis (cash paid for
 * it); a reducing fill releases the pro-rata share of the basis, and the difference
 * to the proceeds is realized. Fees are charged to realized P&L when paid, so
 * realized P&L is always net of every fee. A fill larger than the open quantity
 * on the opposite side flips the position through zero. */
#ifndef APEX_LEDGER_H
#define APEX_LEDGER_H

#include "money/money.h"

typedef struct {
    money_t qty;        /* signed: > 0 long, < 0 short */
    money_t cost_basis; /* signed cash value of the open quantity at entry prices */
    money_t realized;   /* net of fees */
    money_t fees;
    money_t bought, sold; /* gross quantities, for reporting */
} ledger;

/* side: 0 = buy, 1 = sell (order_side). qty > 0. Returns 0 or APEX_ERANGE/APEX_EINVAL. */
int ledger_apply(ledger *l, int side, money_t qty, money_t price, money_t fee);

/* Average entry price of the open quantity (0 when flat), rounded half to even. */
money_t ledger_avg_price(const ledger *l);

/* Unrealized P&L of the open quantity at `price` (before exit fees). */
money_t ledger_unrealized(const ledger *l, money_t price);

#endif
