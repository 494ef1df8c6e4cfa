/* strategy_exit: a strategy closes its own trade. on_bar returned { side = "close" } (the
 * script boundary checked its shape); the exit engine carries it out like any exit, as
 * condition strategy_exit at exits.strategy_exit_priority, with a position_exits row and
 * an exit_attempts row per order. The executor's rule for an exit already working holds:
 * a more urgent close of the whole position takes over; anything else waits here until
 * that exit ends, then starts at the next monitoring check if the position is still open
 * (a newer close replaces a waiting one). A close of the whole position that a restart
 * interrupted is started again the same way; an interrupted part is not (like a partial
 * stage, it is spent: redoing it could sell a part the broker filled while we were down). */
#include <stdio.h>
#include <string.h>

#include "pipeline/pipeline_internal.h"
#include "util/err.h"
#include "util/log.h"

static money_t open_qty(const trade *t)
{
    return t->led.qty < 0 ? -t->led.qty : t->led.qty;
}

/* The close as a decision for what is open now; a failure (a share below one lot) fails
 * the strategy stage naming the file and the field. */
static bool decide(pipeline *p, const trade *t, const script_signal *sig, exit_decision *d)
{
    char why[300];
    if (exits_strategy_decision(&p->cfg.exits, config_instrument(&p->cfg, t->row.symbol),
                                open_qty(t), sig->qty, sig->fraction, sig->reason, d, why,
                                sizeof why) == 0)
        return true;
    char err[512];
    snprintf(err, sizeof err, "%s: on_bar returned a %s", p->cfg.strategy.file, why);
    pipeline_record_script_error(p, t->symbol_id, SCRIPT_STAGE_STRATEGY, APEX_ESCRIPT, err);
    return false;
}

static sym_state *sym_of(const pipeline *p, const trade *t)
{
    return t->symbol_id >= 0 && t->symbol_id < p->syms.count ? &p->syms.items[t->symbol_id] : NULL;
}

void pipeline_strategy_close(pipeline *p, int symbol_id, const script_signal *sig, const bar *b)
{
    sym_state *s = &p->syms.items[symbol_id];
    trade *t = s->active;
    if (!t || trade_is_finished(t) || !t->has_pos || t->led.qty == 0) {
        /* Nothing to close: a strategy may well say "out" on every bar it is flat. A
         * working entry is not cancelled by it. */
        log_debug("%s %s: the strategy's close is ignored: %s", p->cfg.name,
                  symtab_name(p->hs->symbols, symbol_id),
                  t && !trade_is_finished(t) ? "the entry has not filled" : "no open position");
        return;
    }
    exit_decision d;
    if (!decide(p, t, sig, &d))
        return;
    s->waiting_close_exec_id = 0; /* a newer close replaces a waiting one */
    int rc = exit_executor_start(p->exits, t, &d, b->close);
    if (rc != APEX_EBUSY)
        return;
    s->waiting_close = *sig;
    s->waiting_close_exec_id = t->row.id;
    log_info("%s %s: %s waits for the working %s exit (%s) to end", p->cfg.name, t->row.symbol,
             d.reason, t->pos.exit_reason, t->pos.exit_priority);
}

bool pipeline_strategy_close_waiting(const pipeline *p, const trade *t)
{
    const sym_state *s = sym_of(p, t);
    return s && s->waiting_close_exec_id != 0 && s->waiting_close_exec_id == t->row.id;
}

bool pipeline_strategy_close_due(pipeline *p, const trade *t, const exit_decision *evaluated,
                                 exit_decision *out)
{
    if (!pipeline_strategy_close_waiting(p, t) || exit_executor_busy(p->exits, t))
        return false;
    sym_state *s = sym_of(p, t);
    if (t->led.qty == 0) {
        s->waiting_close_exec_id = 0; /* the exit it waited for closed everything */
        return false;
    }
    if (evaluated->condition != EXIT_NONE &&
        evaluated->priority < p->cfg.exits.strategy_exit_priority)
        return false; /* the more urgent exit goes first; the close waits for it */
    s->waiting_close_exec_id = 0;
    return decide(p, t, &s->waiting_close, out);
}

typedef struct {
    pipeline *p;
    trade *t;
} resume_ctx;

static int requeue(void *ud, const store_position_exit *e)
{
    resume_ctx *c = ud;
    const char *name = exit_condition_name(EXIT_STRATEGY_EXIT);
    size_t n = strlen(name);
    sym_state *s = sym_of(c->p, c->t);
    if (!s || e->execution_id != c->t->row.id || e->partial_exit || strcmp(e->exit_reason, name))
        return 0;
    memset(&s->waiting_close, 0, sizeof s->waiting_close);
    s->waiting_close.kind = SIGNAL_CLOSE; /* everything that is open */
    const char *text = e->detail;
    if (strncmp(text, name, n) == 0 && strncmp(text + n, ": ", 2) == 0)
        text += n + 2;
    snprintf(s->waiting_close.reason, sizeof s->waiting_close.reason, "%s", text);
    s->waiting_close_exec_id = c->t->row.id;
    store_event(c->p->hs->db, clock_now(c->p->hs->clock), c->p->cfg.name, c->t->row.id, "exit",
                NULL,
                "%s: the strategy's close (exit %lld) was interrupted by a restart; it "
                "starts again at the first check",
                c->t->row.symbol, (long long)e->id);
    return 0;
}

void pipeline_strategy_close_resume(pipeline *p, trade *t)
{
    resume_ctx c = {p, t};
    store_exits_working(p->hs->db, requeue, &c);
}
