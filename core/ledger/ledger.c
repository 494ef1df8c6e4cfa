#include "ledger/ledger.h"

#include "util/err.h"

int ledger_apply(ledger *l, int side, money_t qty, money_t price, money_t fee)
{
    if (qty <= 0 || price <= 0 || fee < 0)
        return APEX_EINVAL;
    money_t signed_qty = side == 0 ? qty : -qty;
    money_t realized = l->realized, fees = l->fees, basis = l->cost_basis, open = l->qty;
    int rc = 0;

    /* The part of the fill that reduces the open position realizes P&L... */
    money_t reducing = 0;
    if (open != 0 && ((open > 0) != (signed_qty > 0))) {
        money_t abs_open = open > 0 ? open : -open;
        reducing = qty < abs_open ? qty : abs_open;
    }
    if (reducing > 0) {
        money_t released, proceeds, pnl;
        money_t abs_open = open > 0 ? open : -open;
        /* Releasing the whole basis when flattening leaves no rounding residue behind. */
        if (reducing == abs_open)
            released = basis;
        else
            rc |= money_muldiv(basis, reducing, abs_open, MONEY_ROUND_NEAREST, &released);
        rc |= money_mul(price, reducing, MONEY_ROUND_NEAREST, &proceeds);
        if (open < 0)
            proceeds = -proceeds;
        rc |= money_sub(proceeds, released, &pnl);
        rc |= money_add(realized, pnl, &realized);
        rc |= money_sub(basis, released, &basis);
        open += open > 0 ? -reducing : reducing;
    }
    /* ...and the rest opens (or adds to) a position at this price. */
    money_t opening = qty - reducing;
    if (opening > 0) {
        money_t cost;
        rc |= money_mul(price, opening, MONEY_ROUND_NEAREST, &cost);
        rc |= money_add(basis, signed_qty > 0 ? cost : -cost, &basis);
        open += signed_qty > 0 ? opening : -opening;
    }
    rc |= money_sub(realized, fee, &realized);
    rc |= money_add(fees, fee, &fees);
    if (rc)
        return APEX_ERANGE;
    l->qty = open;
    l->cost_basis = basis;
    l->realized = realized;
    l->fees = fees;
    if (side == 0)
        l->bought += qty;
    else
        l->sold += qty;
    return 0;
}

money_t ledger_avg_price(const ledger *l)
{
    money_t avg = 0;
    if (l->qty == 0 || money_div(l->cost_basis, l->qty, MONEY_ROUND_NEAREST, &avg) != 0)
        return 0;
    return avg;
}

money_t ledger_unrealized(const ledger *l, money_t price)
{
    money_t value = 0, pnl = 0;
    if (l->qty == 0)
        return 0;
    if (money_mul(price, l->qty, MONEY_ROUND_NEAREST, &value) != 0 ||
        money_sub(value, l->cost_basis, &pnl) != 0)
        return 0;
    return pnl;
}
