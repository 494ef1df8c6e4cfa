/* ratelimit: a sliding-window log of grant times plus per-priority FIFO queues.
 *
 * One clock timer does all granting. It is armed "now" when work arrives and the window
 * has room, or for the instant the oldest logged grant leaves the window when it is
 * full. Granting only from the timer keeps callers free of re-entrancy: a callback can
 * submit more work or free the limiter itself. */
#include "net/ratelimit.h"

#include <stdbool.h>
#include <stdlib.h>
#include <sys/queue.h>

#include "metrics/metrics.h"
#include "util/err.h"

#define WINDOW APEX_MINUTE

typedef struct rl_request {
    TAILQ_ENTRY(rl_request) link; /* in its priority's queue */
    ratelimit_cb cb;
    void *ud;
    apex_time asked; /* when it was submitted: its wait for the metrics */
} rl_request;

typedef TAILQ_HEAD(rl_queue, rl_request) rl_queue;

struct ratelimit {
    apex_clock *clock;
    int per_minute;
    /* Ring buffer of the last per_minute grant times, oldest at log_head. */
    apex_time *log;
    int log_head;
    int log_count;
    rl_queue queues[RATELIMIT_PRIORITIES]; /* FIFO per priority */
    int queued;
    uint64_t granted;
    clock_timer timer;
    /* While a grant pass runs: points at a local flag that ratelimit_free raises, so the
     * pass stops touching the limiter when a callback freed it. */
    bool *freed_flag;
    /* metrics.h, per limiter (ratelimit_set_metrics); the discard series until named */
    metrics_series *m_grants, *m_waits, *m_wait, *m_queued;
};

static void grant_pass(clock_timer *t, void *ud);

ratelimit *ratelimit_new(apex_clock *clock, int per_minute)
{
    if (!clock || per_minute < 1)
        return NULL;
    ratelimit *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->log = calloc((size_t)per_minute, sizeof *r->log);
    if (!r->log) {
        free(r);
        return NULL;
    }
    for (int p = 0; p < RATELIMIT_PRIORITIES; p++)
        TAILQ_INIT(&r->queues[p]);
    r->clock = clock;
    r->per_minute = per_minute;
    r->m_grants = r->m_waits = r->m_wait = r->m_queued = metrics_discard();
    clock_timer_init(clock, &r->timer, grant_pass, r);
    return r;
}

void ratelimit_free(ratelimit *r)
{
    if (!r)
        return;
    clock_timer_stop(&r->timer);
    for (int p = 0; p < RATELIMIT_PRIORITIES; p++) {
        rl_queue *q = &r->queues[p];
        for (rl_request *req; (req = TAILQ_FIRST(q));) {
            TAILQ_REMOVE(q, req, link);
            free(req);
        }
    }
    if (r->freed_flag)
        *r->freed_flag = true;
    free(r->log);
    free(r);
}

/* ---- the window ---------------------------------------------------------------------- */

/* The earliest time a new grant keeps every window at or under the limit: now while the
 * log is not full, else the moment the oldest logged grant falls out of (t - 60 s, t]. */
static apex_time next_free_slot(const ratelimit *r, apex_time now)
{
    if (r->log_count < r->per_minute)
        return now;
    apex_time frees_at = r->log[r->log_head] + WINDOW;
    return frees_at > now ? frees_at : now;
}

static void log_grant(ratelimit *r, apex_time now)
{
    if (r->log_count < r->per_minute) {
        r->log[(r->log_head + r->log_count) % r->per_minute] = now;
        r->log_count++;
    } else {
        /* Full: the oldest entry is outside the window by now; overwrite it. */
        r->log[r->log_head] = now;
        r->log_head = (r->log_head + 1) % r->per_minute;
    }
}

int ratelimit_window_count(ratelimit *r)
{
    apex_time now = clock_now(r->clock);
    int n = 0;
    for (int i = 0; i < r->log_count; i++) {
        apex_time t = r->log[(r->log_head + i) % r->per_minute];
        if (t > now - WINDOW && t <= now)
            n++;
    }
    return n;
}

/* ---- queue ----------------------------------------------------------------------------- */

static rl_request *pop_most_urgent(ratelimit *r)
{
    for (int p = 0; p < RATELIMIT_PRIORITIES; p++) {
        rl_queue *q = &r->queues[p];
        rl_request *req = TAILQ_FIRST(q);
        if (!req)
            continue;
        TAILQ_REMOVE(q, req, link);
        r->queued--;
        return req;
    }
    return NULL;
}

/* Arms the timer for the next possible grant, or stops it when nothing waits. */
static void rearm(ratelimit *r)
{
    if (r->queued == 0) {
        clock_timer_stop(&r->timer);
        return;
    }
    clock_timer_start(&r->timer, next_free_slot(r, clock_now(r->clock)));
}

static void grant_pass(clock_timer *t, void *ud)
{
    (void)t;
    ratelimit *r = ud;
    bool freed = false;
    bool *outer_flag = r->freed_flag; /* a pass can nest if a callback drives the clock */
    r->freed_flag = &freed;
    for (;;) {
        apex_time now = clock_now(r->clock);
        if (r->queued == 0 || next_free_slot(r, now) > now)
            break;
        rl_request *req = pop_most_urgent(r);
        log_grant(r, now);
        r->granted++;
        metrics_inc(r->m_grants);
        metrics_set(r->m_queued, r->queued);
        if (now > req->asked)
            metrics_inc(r->m_waits);
        metrics_observe(r->m_wait, now - req->asked);
        ratelimit_cb cb = req->cb;
        void *cb_ud = req->ud;
        free(req);
        cb(cb_ud);
        if (freed) {
            if (outer_flag)
                *outer_flag = true;
            return;
        }
    }
    r->freed_flag = outer_flag;
    rearm(r);
}

int ratelimit_submit(ratelimit *r, int priority, ratelimit_cb cb, void *ud)
{
    if (!r || !cb || priority < 0 || priority >= RATELIMIT_PRIORITIES)
        return APEX_EINVAL;
    rl_request *req = malloc(sizeof *req);
    if (!req)
        return APEX_ENOMEM;
    req->cb = cb;
    req->ud = ud;
    req->asked = clock_now(r->clock);
    TAILQ_INSERT_TAIL(&r->queues[priority], req, link);
    r->queued++;
    metrics_set(r->m_queued, r->queued);
    /* Inside a grant pass the pass itself re-arms when it finishes. */
    if (!r->freed_flag)
        rearm(r);
    return 0;
}

int ratelimit_cancel(ratelimit *r, ratelimit_cb cb, void *ud)
{
    if (!r)
        return APEX_EINVAL;
    for (int p = 0; p < RATELIMIT_PRIORITIES; p++) {
        rl_queue *q = &r->queues[p];
        for (rl_request *req = TAILQ_FIRST(q); req; req = TAILQ_NEXT(req, link)) {
            if (req->cb != cb || req->ud != ud)
                continue;
            TAILQ_REMOVE(q, req, link); /* the walk ends here, so its next is not needed */
            free(req);
            r->queued--;
            metrics_set(r->m_queued, r->queued);
            if (!r->freed_flag)
                rearm(r);
            return 0;
        }
    }
    return APEX_ENOTFOUND;
}

int ratelimit_queued(const ratelimit *r)
{
    return r->queued;
}

uint64_t ratelimit_granted(const ratelimit *r)
{
    return r->granted;
}

int ratelimit_per_minute(const ratelimit *r)
{
    return r->per_minute;
}

int ratelimit_set_per_minute(ratelimit *r, int per_minute)
{
    if (!r || per_minute < 1)
        return APEX_EINVAL;
    if (per_minute == r->per_minute)
        return 0;
    apex_time *log = calloc((size_t)per_minute, sizeof *log);
    if (!log)
        return APEX_ENOMEM;
    /* The newest grants, oldest first: the oldest kept one is the next to leave the
     * window, which is what next_free_slot reads once the log is full. */
    int keep = r->log_count < per_minute ? r->log_count : per_minute;
    for (int i = 0; i < keep; i++)
        log[i] = r->log[(r->log_head + r->log_count - keep + i) % r->per_minute];
    free(r->log);
    r->log = log;
    r->log_head = 0;
    r->log_count = keep;
    r->per_minute = per_minute;
    /* The next grant may now come later (or sooner); inside a pass, the pass re-arms. */
    if (!r->freed_flag)
        rearm(r);
    return 0;
}

apex_clock *ratelimit_clock(const ratelimit *r)
{
    return r->clock;
}

void ratelimit_set_metrics(ratelimit *r, const char *name)
{
    if (!r || !name)
        return;
    r->m_grants = metrics_get(METRIC_RATELIMIT_GRANTS, name);
    r->m_waits = metrics_get(METRIC_RATELIMIT_WAITS, name);
    r->m_wait = metrics_get(METRIC_RATELIMIT_WAIT, name);
    r->m_queued = metrics_get(METRIC_RATELIMIT_QUEUED, name);
    metrics_set(r->m_queued, r->queued);
}
