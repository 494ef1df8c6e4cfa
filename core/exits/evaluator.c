/* evaluator: the ten exit conditions of seed 003 (plus emergency instruction rules),
 * their priorities, the trailing stop and the resolution when several fire.
 *
 * This runs for every open position on every price update, so the no-exit path is
 * comparisons and 128-bit multiplications only: P&L thresholds are checked as
 * move * SCALE >= threshold * entry instead of dividing, nothing is allocated and
 * nothing is formatted until a condition fires. */
#include "exits/evaluator.h"

#include <string.h>

#include "exits/evaluator_internal.h"

typedef __int128 i128;

static bool is_short(const exit_input *in)
{
    return in->side == SIDE_SELL;
}

/* How far the price has moved in the position's favour, per unit (price - entry for a
 * long, entry - price for a short). 128-bit so extreme inputs cannot wrap. */
static i128 favourable_move(const exit_input *in)
{
    i128 d = (i128)in->price - in->entry_price;
    return is_short(in) ? -d : d;
}

/* exits_pnl_fraction(in) >= threshold, exactly and without a division. */
static bool pnl_reaches(const exit_input *in, money_t threshold)
{
    if (in->entry_price <= 0)
        return threshold <= 0; /* the P&L of an unknown entry is 0 */
    return favourable_move(in) * MONEY_SCALE >= (i128)threshold * in->entry_price;
}

money_t exits_spread_limit(const exits_config *cfg, const exit_input *in)
{
    money_t limit = MONEY_MAX;
    if (in->bid <= 0 || in->ask <= 0)
        return limit;
    if (cfg->liquidity_max_spread > 0)
        limit = cfg->liquidity_max_spread;
    money_t rel = 0;
    if (cfg->liquidity_max_spread_pct > 0 &&
        money_mul(in->bid / 2 + in->ask / 2, cfg->liquidity_max_spread_pct, MONEY_ROUND_NEAREST,
                  &rel) == 0 &&
        rel < limit)
        limit = rel;
    return limit;
}

money_t exits_pnl_fraction(const exit_input *in)
{
    if (!in || in->entry_price == 0)
        return 0;
    i128 move = favourable_move(in);
    money_t out;
    if (move > (i128)MONEY_MAX || move < (i128)MONEY_MIN ||
        money_muldiv((money_t)move, MONEY_SCALE, in->entry_price, MONEY_ROUND_NEAREST, &out) != 0)
        /* Beyond +/-92 billion (as a fraction): saturate rather than report nonsense. */
        return (move > 0) == (in->entry_price > 0) ? MONEY_MAX : MONEY_MIN;
    return out;
}

/* n / d rounded toward negative (down) or positive (up) infinity; d > 0. */
static i128 div_floor(i128 n, i128 d)
{
    i128 q = n / d;
    return (n % d != 0 && n < 0) ? q - 1 : q;
}

static i128 div_ceil(i128 n, i128 d)
{
    i128 q = n / d;
    return (n % d != 0 && n > 0) ? q + 1 : q;
}

/* The trailing stop for a peak: peak * (1 - distance) for a long, rounded DOWN to the
 * tick, peak * (1 + distance) rounded UP for a short. Rounding away from the price keeps
 * the stop at least the configured distance from the peak, never tighter than asked.
 * One division for both the scale and the tick. Returns 0 when there is no valid level. */
static money_t trailing_level(money_t peak, money_t distance, money_instrument rules, bool shrt)
{
    i128 factor = shrt ? (i128)MONEY_SCALE + distance : (i128)MONEY_SCALE - distance;
    if (peak <= 0 || factor <= 0)
        return 0;
    i128 tick = rules.tick > 0 ? rules.tick : 1;
    i128 scaled = (i128)peak * factor; /* the exact level, times MONEY_SCALE */
    i128 unit = tick * MONEY_SCALE;
    i128 level = (shrt ? div_ceil(scaled, unit) : div_floor(scaled, unit)) * tick;
    if (level <= 0 || level > (i128)MONEY_MAX)
        return 0;
    return (money_t)level;
}

/* The level multiplier x atr behind ref: ref - m * atr for a long, rounded DOWN to the tick,
 * ref + m * atr rounded UP for a short, like trailing_level. 0 when there is none. */
static money_t atr_level(money_t ref, money_t atr, money_t mult, money_instrument rules, bool shrt)
{
    if (ref <= 0 || atr <= 0)
        return 0;
    i128 tick = rules.tick > 0 ? rules.tick : 1;
    i128 scaled = (i128)ref * MONEY_SCALE + (shrt ? 1 : -1) * (i128)atr * mult;
    i128 unit = tick * MONEY_SCALE;
    i128 level = (shrt ? div_ceil(scaled, unit) : div_floor(scaled, unit)) * tick;
    if (level <= 0 || level > (i128)MONEY_MAX)
        return 0;
    return (money_t)level;
}

static money_t trailing_candidate(const exits_config *cfg, money_instrument rules,
                                  const exit_input *io, bool shrt)
{
    switch (cfg->trailing_mode) {
    case TRAILING_ATR:
        return atr_level(io->peak_price, io->atr, cfg->trailing_multiplier, rules, shrt);
    case TRAILING_CHANDELIER:
        return atr_level(shrt ? io->channel_low : io->channel_high, io->atr,
                         cfg->trailing_multiplier, rules, shrt);
    case TRAILING_PERCENT:
    default:
        return trailing_level(io->peak_price, cfg->trailing_distance_pct, rules, shrt);
    }
}

bool exits_update_trailing(const exits_config *cfg, money_instrument rules, exit_input *io)
{
    if (!cfg || !io || io->price <= 0)
        return false;
    bool shrt = is_short(io);

    /* The peak is tracked on every call, armed or not, so the stop starts from the best
     * price seen when it arms. */
    if (io->peak_price <= 0 || (shrt ? io->price < io->peak_price : io->price > io->peak_price))
        io->peak_price = io->price;

    /* Disabled in the config: the built-in stop never arms nor moves. A level already set
     * (by the strategy's stop(), or armed before a restart with it disabled) stays where it
     * is and still fires. */
    if (!cfg->trailing_enabled)
        return false;
    /* The host also records the peak on every bar between evaluations (monitor_mark), so a
     * peak this call did not move itself can still be above where the stop was set: the
     * stop is derived from the peak on every call, and arming looks at the peak too. */
    /* Armed by the profit at the peak, which only grows: once reached it stays reached, so
     * this needs no state of its own, and a level the strategy set (which makes
     * trailing_active true) does not arm the built-in stop early. */
    exit_input at_peak = *io;
    at_peak.price = io->peak_price;
    if (!pnl_reaches(&at_peak, cfg->trailing_activation_pct))
        return false;
    bool arming = !io->trailing_active;

    money_t candidate = trailing_candidate(cfg, rules, io, shrt);
    if (candidate <= 0)
        return false; /* the ATR modes: not enough bars yet */
    money_t old = io->trailing_active ? io->trailing_stop : 0;
    money_t next = candidate;
    /* Never loosen: a long's stop only rises, a short's only falls. This also holds when
     * the distance is widened by a reload while the position is open. */
    if (old > 0)
        next = shrt ? (candidate < old ? candidate : old) : (candidate > old ? candidate : old);
    io->trailing_active = true;
    io->trailing_stop = next;
    if (next != old)
        io->strategy_stop = false; /* the built-in level is the tighter one now */
    return arming || next != old;
}

/* The first partial stage that is not done, has reached its profit threshold and whose
 * share is at least one lot. The share is exit_fraction of the ORIGINAL quantity,
 * rounded down to the lot and capped at the open quantity. A stage whose share is below
 * one lot never fires, so a tiny position rides to its other exits instead of asking for
 * a zero-quantity order on every update. Returns the stage index or -1. */
static int due_partial_stage(const exits_config *cfg, money_instrument rules, const exit_input *in,
                             money_t *qty_out)
{
    int n = cfg->nstages;
    if (n > CONFIG_MAX_PARTIAL_STAGES)
        n = CONFIG_MAX_PARTIAL_STAGES;
    money_t base = in->initial_qty > 0 ? in->initial_qty : in->qty;
    i128 lot = rules.lot > 0 ? rules.lot : 1;
    for (int i = 0; i < n; i++) {
        const partial_stage *s = &cfg->stages[i];
        if ((in->partial_done & (1 << i)) != 0 || s->exit_fraction <= 0 ||
            !pnl_reaches(in, s->profit_threshold))
            continue;
        i128 exact = (i128)base * s->exit_fraction; /* the share, times MONEY_SCALE */
        i128 unit = lot * MONEY_SCALE;
        if (exact < unit)
            continue;
        i128 share = (exact / unit) * lot; /* both positive: truncation is rounding down */
        *qty_out = share >= in->qty ? in->qty : (money_t)share;
        return i;
    }
    return -1;
}

void exits_evaluate(const exits_config *cfg, money_instrument rules, const exit_input *in,
                    exit_decision *out)
{
    out->condition = EXIT_NONE;
    out->priority = EXIT_PRIORITY_LOW; /* meaningless with EXIT_NONE; kept a valid index */
    out->qty = 0;
    out->partial_stage = -1;
    out->fired = 0;
    out->reason[0] = '\0';
    if (!cfg || !in || in->qty <= 0)
        return; /* nothing open, nothing to close */

    const bool shrt = is_short(in);
    const money_t p = in->price;
    unsigned fired = 0;
    money_t partial_qty = 0;
    int stage = -1;

    if (p > 0) { /* price levels only mean something with a price */
        if (in->stop_loss > 0 && (shrt ? p >= in->stop_loss : p <= in->stop_loss))
            fired |= 1u << EXIT_STOP_LOSS;
        if (in->trailing_active && in->trailing_stop > 0 &&
            (shrt ? p >= in->trailing_stop : p <= in->trailing_stop))
            fired |= 1u << EXIT_TRAILING_STOP;
        if (in->take_profit > 0 && (shrt ? p <= in->take_profit : p >= in->take_profit))
            fired |= 1u << EXIT_PROFIT_TARGET;
        if (cfg->partial_enabled) {
            stage = due_partial_stage(cfg, rules, in, &partial_qty);
            if (stage >= 0)
                fired |= 1u << EXIT_PARTIAL_EXIT_TARGET;
        }
    }
    if (in->circuit_tripped)
        fired |= 1u << EXIT_CIRCUIT_BREAKER;
    if (in->session_close > 0 && cfg->time_urgent_minutes > 0 && in->now < in->session_close &&
        in->now >= in->session_close - (apex_time)cfg->time_urgent_minutes * APEX_MINUTE)
        fired |= 1u << EXIT_TIME_BASED_URGENT;
    if ((in->bid > 0 && in->ask > 0 && (i128)in->ask - in->bid > exits_spread_limit(cfg, in)) ||
        (in->volume >= 0 && in->volume < cfg->liquidity_min_volume))
        fired |= 1u << EXIT_LIQUIDITY_DRIED_UP;
    if (in->has_edge) {
        if (in->edge < 0)
            fired |= 1u << EXIT_EDGE_DISAPPEARED;
        else if (in->edge < cfg->early_exit_edge)
            fired |= 1u << EXIT_EARLY_EXIT;
    }
    if (in->has_rebalance &&
        (i128)in->best_other_score - in->position_score >= cfg->rebalance_min_improvement)
        fired |= 1u << EXIT_REBALANCE;
    if (in->rule_fired)
        fired |= 1u << EXIT_EMERGENCY_INSTRUCTION;

    out->fired = fired;
    if (fired == 0)
        return;

    /* Resolution: highest priority, then larger quantity, then list order (the loop runs
     * in list order and only a strictly better candidate replaces the current one). */
    int best = -1;
    money_t best_qty = 0;
    exit_priority best_prio = EXIT_PRIORITY_COUNT;
    for (int c = 0; c <= EXIT_EMERGENCY_INSTRUCTION; c++) {
        if ((fired & (1u << c)) == 0)
            continue;
        money_t q = c == EXIT_PARTIAL_EXIT_TARGET ? partial_qty : in->qty;
        exit_priority prio = exit_condition_priority((exit_condition)c);
        if (best < 0 || prio < best_prio || (prio == best_prio && q > best_qty)) {
            best = c;
            best_qty = q;
            best_prio = prio;
        }
    }
    out->condition = (exit_condition)best;
    out->priority = best_prio;
    out->qty = best_qty;
    if (best == EXIT_PARTIAL_EXIT_TARGET)
        out->partial_stage = stage;
    exits_format_reason(cfg, in, out->condition, out->partial_stage, best_qty, out->reason,
                        sizeof out->reason);
}
