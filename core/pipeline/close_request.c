/* close_request: a position closed by hand (close_request.h). */
#include "pipeline/close_request.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "pipeline/pipeline_internal.h"
#include "util/log.h"

#define CLOSE_KEY_PREFIX "close.request:"

static void key_for(char *buf, size_t len, int64_t id)
{
    snprintf(buf, len, CLOSE_KEY_PREFIX "%" PRId64, id);
}

/* A person's act: stamped with the wall clock, like an approval's answer. */
static apex_time wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (apex_time)ts.tv_sec * APEX_SECOND + ts.tv_nsec / 1000;
}

int close_request_submit(store *db, int64_t id, const char *by, char *msg, size_t msglen)
{
    store_execution e;
    if (store_execution_get(db, id, &e) != 0) {
        snprintf(msg, msglen,
                 "execution %" PRId64 ": no such execution; `apex-host status` lists them", id);
        return APEX_ENOTFOUND;
    }
    if (e.status != EXEC_MONITORING) {
        snprintf(msg, msglen,
                 "execution %" PRId64 " (%s %s): it is %s, with no open position to close", id,
                 e.pipeline, e.symbol, exec_status_name(e.status));
        return APEX_ESTATE;
    }
    char key[64];
    key_for(key, sizeof key, id);
    apex_error err = {0};
    int rc = store_meta_set(db, key, by, &err);
    if (rc == 0)
        rc = store_event(db, wall_now(), e.pipeline, id, "close_request", &err,
                         "%s: close requested by %s", e.symbol, by);
    if (rc != 0) {
        snprintf(msg, msglen, "execution %" PRId64 ": the request could not be recorded: %s", id,
                 err.msg);
        return rc;
    }
    snprintf(msg, msglen,
             "execution %" PRId64 " (%s %s): close requested by %s; the running host closes it "
             "at market (manual_close, CRITICAL) at its next check",
             id, e.pipeline, e.symbol, by);
    return 0;
}

/* One trade: a request found is started as an exit; the row goes once the executor took
 * it (a CRITICAL exit already working keeps it for the next check). */
static void close_one(pipeline *p, trade *t)
{
    char key[64], by[64] = "";
    key_for(key, sizeof key, t->row.id);
    if (store_meta_get(p->hs->db, key, by, sizeof by) != 0 || !by[0])
        return;
    money_t open = t->led.qty < 0 ? -t->led.qty : t->led.qty;
    if (!t->has_pos || open == 0 || trade_is_finished(t)) {
        store_meta_set(p->hs->db, key, "", NULL); /* closed meanwhile: nothing to do */
        return;
    }
    exit_decision d = {.condition = EXIT_MANUAL_CLOSE,
                       .priority = EXIT_PRIORITY_CRITICAL,
                       .qty = open,
                       .partial_stage = -1,
                       .fired = 1u << EXIT_MANUAL_CLOSE};
    snprintf(d.reason, sizeof d.reason, "%s: closed by hand (%s)",
             exit_condition_name(EXIT_MANUAL_CLOSE), by);
    money_t price = t->pos.current_price > 0 ? t->pos.current_price : t->row.entry_price;
    if (exit_executor_start(p->exits, t, &d, price) == APEX_EBUSY)
        return; /* a CRITICAL exit is already working: asked again at the next check */
    pipeline_durable(p, store_meta_set(p->hs->db, key, "", &p->werr),
                     "recording that a close request was carried out");
}

void pipeline_close_requests(pipeline *p)
{
    if (p->hs->backtest)
        return;
    for (trade *t = p->trades; t; t = t->next)
        if (!trade_is_finished(t) && t->has_pos && t->led.qty != 0)
            close_one(p, t);
}

void pipeline_close_request_check(pipeline *p, trade *t)
{
    if (!p->hs->backtest)
        close_one(p, t);
}
