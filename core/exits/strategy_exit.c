/* strategy_exit: a close the strategy asked for, as an exit decision. The strategy chose
 * when; this decides how much (its qty or fraction, whole lots, never more than is open)
 * and at which priority (the pipeline's exits.strategy_exit_priority), so the executor
 * works it like any other exit. */
#include <stdio.h>
#include <string.h>

#include "exits/evaluator.h"
#include "util/err.h"

int exits_strategy_decision(const exits_config *cfg, money_instrument rules, money_t open_qty,
                            money_t qty, money_t fraction, const char *reason, exit_decision *out,
                            char *why, size_t whylen)
{
    memset(out, 0, sizeof *out);
    out->condition = EXIT_NONE;
    out->partial_stage = -1;
    if (open_qty <= 0)
        return err_set(why, whylen, APEX_EINVAL, "no open position to close");
    money_t lot = rules.lot > 0 ? rules.lot : 1;
    money_t want = open_qty, given = qty;
    const char *field = "qty";
    if (qty > 0) {
        want = qty;
    } else if (fraction > 0 && fraction < MONEY_SCALE) {
        /* Rounded down: a close of "half" never sells more than half. */
        if (money_mul(open_qty, fraction, MONEY_ROUND_DOWN, &want) != 0)
            want = open_qty;
        field = "fraction";
        given = fraction;
    }
    if (want > open_qty)
        want = open_qty;
    if (want < open_qty)
        want = money_round_to(want, lot, MONEY_ROUND_DOWN);
    char qb[32], ob[32], lb[32], fb[32];
    money_format_trim(lot, 0, lb, sizeof lb);
    money_format_trim(open_qty, 0, ob, sizeof ob);
    if (want <= 0)
        return err_set(why, whylen, APEX_EINVAL,
                       "close: %s = %s of the open %s rounds down to 0 lots (lot size %s); "
                       "close at least one lot, or leave %s out to close it all",
                       field, money_format_trim(given, 0, fb, sizeof fb), ob, lb, field);
    out->condition = EXIT_STRATEGY_EXIT;
    out->priority = cfg->strategy_exit_priority;
    out->qty = want;
    out->fired = 1u << EXIT_STRATEGY_EXIT;
    const char *text = reason && reason[0] ? reason : "the strategy closed it";
    if (want < open_qty)
        snprintf(out->reason, sizeof out->reason, "%s: %.140s (closing %s of %s)",
                 exit_condition_name(EXIT_STRATEGY_EXIT), text,
                 money_format_trim(want, 0, qb, sizeof qb), ob);
    else
        snprintf(out->reason, sizeof out->reason, "%s: %.160s",
                 exit_condition_name(EXIT_STRATEGY_EXIT), text);
    return 0;
}
