/* strategy_stop: the stop the strategy controls, `stop(ctx, position)` (issue 13).
 *
 * At every monitoring check, before the built-in trailing stop moves, the strategy is asked
 * for the stop price it wants now (an ATR stop, a chandelier, a swing low, break-even after
 * +1R). Its level goes where the trailing stop's does (positions.trailing_stop_price), so
 * the exit engine fires it as `trailing_stop` (HIGH), a partial exit's fresh protective stop
 * and the portfolio heat use it, and a restart resumes from it. The rule: a stop never
 * loosens. A level further from the market than the current one is ignored, unless the
 * strategy returned { price = p, loosen = true }. The built-in trailing stop, when enabled
 * and armed, still applies after it: the tighter of the two wins. The execution's own
 * stop_loss (and the bracket's stop leg at the broker) stays as it was, the floor under
 * both.
 *
 * An error in stop() fails the `edge` stage like an edge() error (recorded within the
 * failure budget, with file:line) and keeps the last stop. */
#include <stdio.h>

#include "pipeline/pipeline_internal.h"
#include "util/log.h"

void pipeline_strategy_stop(pipeline *p, trade *t, exit_input *in)
{
    /* Asked per check rather than cached at load, so a reload that adds stop() is heard. */
    if (!script_has_callback(p->scripts, SCRIPT_STRATEGY, "stop"))
        return;
    script_position view;
    exits_position_view(t, &view);
    money_t price;
    bool has, loosen;
    char err[512];
    if (script_stop(p->scripts, &view, &price, &has, &loosen, err, sizeof err) != 0) {
        pipeline_script_error(p, t, SCRIPT_STAGE_EDGE, err);
        return;
    }
    if (!has)
        return;
    bool shrt = in->side == SIDE_SELL;
    money_instrument rules = config_instrument(&p->cfg, t->row.symbol);
    /* To the tick away from the market, as the built-in stop rounds. */
    money_t level =
        rules.tick > 0 ? money_round_to(price, rules.tick, shrt ? MONEY_ROUND_UP : MONEY_ROUND_DOWN)
                       : price;
    char pb[32], ob[32], tb[32];
    if (level <= 0) {
        snprintf(err, sizeof err,
                 "%s: stop() returned %s, which rounds to 0 at %s's tick size of %s; return a "
                 "price of at least one tick",
                 p->cfg.strategy.file, money_format_trim(price, 8, pb, sizeof pb), t->row.symbol,
                 money_format_trim(rules.tick, 8, tb, sizeof tb));
        pipeline_script_error(p, t, SCRIPT_STAGE_EDGE, err);
        return;
    }
    money_t old = in->trailing_active ? in->trailing_stop : 0;
    bool looser = old > 0 && (shrt ? level > old : level < old);
    if (level == old || (looser && !loosen))
        return; /* never loosens unless asked to */
    in->trailing_active = true;
    in->trailing_stop = level;
    in->strategy_stop = true;
    t->strategy_stop = true;
    t->pos.trailing_stop_active = true;
    t->pos.trailing_stop_price = level;
    pipeline_durable(p, store_position_update(p->hs->db, &t->pos, &p->werr),
                     "recording the strategy's stop");
    /* The position row always has the level; the log and the events say when it is first
     * set and when the strategy loosens it, the moves worth an audit line. */
    if (old == 0 || looser) {
        money_format_trim(level, 2, pb, sizeof pb);
        money_format_trim(old, 2, ob, sizeof ob);
        log_event("%-13s STOP     %-5s the strategy's stop %s %s%s%s", p->cfg.name, t->row.symbol,
                  old == 0 ? "set at" : "loosened to", pb, old == 0 ? "" : " from ",
                  old == 0 ? "" : ob);
        pipeline_durable(p,
                         store_event(p->hs->db, clock_now(p->hs->clock), p->cfg.name, t->row.id,
                                     "stop", &p->werr, "the strategy's stop %s %s%s%s",
                                     old == 0 ? "set at" : "loosened (loosen = true) to", pb,
                                     old == 0 ? "" : " from ", old == 0 ? "" : ob),
                         "recording the strategy's stop");
    }
}
