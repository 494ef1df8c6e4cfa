/* evaluator_reason: the one-line reason for the winning exit, with the numbers that made
 * it fire, as stored in position_exits and shown by `apex-host status`. Only ever called
 * for the winner, so the formatting cost is paid once per exit, not per evaluation. */
#include <stdio.h>

#include "model/order.h"
#include "exits/evaluator_internal.h"

#define NUM_MAX 40

/* A price or quantity with at least two decimals: "97.50", "0.00048". */
static const char *num(money_t v, char *buf)
{
    return money_format_trim(v, 2, buf, NUM_MAX);
}

/* A fraction as a percentage with as many decimals as it needs: 0.15 -> "15". */
static const char *pct(money_t fraction, char *buf)
{
    money_t hundred;
    if (money_mul(fraction, 100 * MONEY_SCALE, MONEY_ROUND_NEAREST, &hundred) != 0)
        return money_format_trim(fraction, 0, buf, NUM_MAX); /* absurd: show the raw fraction */
    return money_format_trim(hundred, 0, buf, NUM_MAX);
}

void exits_format_reason(const exits_config *cfg, const exit_input *in, exit_condition c, int stage,
                         money_t qty, char *buf, size_t buflen)
{
    const bool shrt = in->side == SIDE_SELL;
    const char *name = exit_condition_name(c);
    char a[NUM_MAX], b[NUM_MAX], d[NUM_MAX], e[NUM_MAX];

    switch (c) {
    case EXIT_STOP_LOSS:
        snprintf(buf, buflen, "%s: price %s %s stop %s", name, num(in->price, a),
                 shrt ? ">=" : "<=", num(in->stop_loss, b));
        break;
    case EXIT_CIRCUIT_BREAKER:
        if (in->circuit_why) {
            snprintf(buf, buflen, "%s: %s", name, in->circuit_why);
            break;
        }
        snprintf(buf, buflen,
                 "%s: the daily loss limit is reached; closing every position and blocking "
                 "entries until the next trading day",
                 name);
        break;
    case EXIT_TRAILING_STOP:
        snprintf(buf, buflen, "%s: price %s %s %s %s (peak %s)", name, num(in->price, a),
                 shrt ? ">=" : "<=", in->strategy_stop ? "the strategy's stop" : "trailing stop",
                 num(in->trailing_stop, b), num(in->peak_price, d));
        break;
    case EXIT_TIME_BASED_URGENT: {
        long long secs = (long long)((in->session_close - in->now) / APEX_SECOND);
        snprintf(buf, buflen, "%s: %lld s to the session close, inside the %d min window", name,
                 secs, cfg->time_urgent_minutes);
        break;
    }
    case EXIT_LIQUIDITY_DRIED_UP:
        if (in->bid > 0 && in->ask > 0 && in->ask - in->bid > exits_spread_limit(cfg, in))
            snprintf(buf, buflen, "%s: spread %s (bid %s, ask %s) > max %s", name,
                     num(in->ask - in->bid, a), num(in->bid, b), num(in->ask, d),
                     num(exits_spread_limit(cfg, in), e));
        else
            snprintf(buf, buflen, "%s: volume %s < min %s", name, num(in->volume, a),
                     num(cfg->liquidity_min_volume, b));
        break;
    case EXIT_PROFIT_TARGET:
        snprintf(buf, buflen, "%s: price %s %s target %s", name, num(in->price, a),
                 shrt ? "<=" : ">=", num(in->take_profit, b));
        break;
    case EXIT_PARTIAL_EXIT_TARGET: {
        const partial_stage *s = &cfg->stages[stage];
        char q[NUM_MAX], open[NUM_MAX];
        snprintf(buf, buflen, "%s: %s (stage %d) P&L %s%% >= %s%%: closing %s of %s", name,
                 s->name[0] ? s->name : "stage", stage + 1, pct(exits_pnl_fraction(in), a),
                 pct(s->profit_threshold, b), num(qty, q), num(in->qty, open));
        break;
    }
    case EXIT_EARLY_EXIT:
        snprintf(buf, buflen, "%s: edge %s < threshold %s", name, num(in->edge, a),
                 num(cfg->early_exit_edge, b));
        break;
    case EXIT_EDGE_DISAPPEARED:
        snprintf(buf, buflen, "%s: edge %s < 0", name, num(in->edge, a));
        break;
    case EXIT_REBALANCE:
        snprintf(buf, buflen, "%s: best other score %s - this position's %s >= %s", name,
                 num(in->best_other_score, a), num(in->position_score, b),
                 num(cfg->rebalance_min_improvement, d));
        break;
    case EXIT_EMERGENCY_INSTRUCTION:
        snprintf(buf, buflen, "%s: %s", name,
                 in->rule_reason && in->rule_reason[0] ? in->rule_reason
                                                       : "an instruction rule fired");
        break;
    default:
        snprintf(buf, buflen, "%s", name);
        break;
    }
}
