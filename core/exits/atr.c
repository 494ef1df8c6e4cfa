/* atr: see atr.h. */
#include "exits/atr.h"

void exits_atr_init(exits_atr *a, int n)
{
    *a = (exits_atr){.n = n};
}

static money_t abs_money(money_t v)
{
    return v < 0 ? -v : v;
}

void exits_atr_update(exits_atr *a, const bar *b)
{
    if (a->n <= 0)
        return;
    money_t tr = b->high - b->low;
    if (a->count > 0 || a->prev_close > 0) {
        money_t up = abs_money(b->high - a->prev_close), down = abs_money(b->low - a->prev_close);
        if (up > tr)
            tr = up;
        if (down > tr)
            tr = down;
    }
    a->prev_close = b->close;
    if (a->count < a->n) {
        a->seed_sum += tr;
        if (++a->count == a->n)
            money_muldiv(a->seed_sum, 1, a->n, MONEY_ROUND_NEAREST, &a->value);
        return;
    }
    money_t next;
    if (money_muldiv(a->value, a->n - 1, 1, MONEY_ROUND_NEAREST, &next) == 0 &&
        money_muldiv(next + tr, 1, a->n, MONEY_ROUND_NEAREST, &next) == 0)
        a->value = next;
}
