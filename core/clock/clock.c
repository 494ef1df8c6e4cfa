#include "clock/clock.h"

#include <stdlib.h>
#include <time.h>
#include <uv.h>

#include "util/container.h"
#include "util/err.h"
#include "util/log.h"

struct apex_clock {
    bool simulated;
    apex_time sim_now; /* simulated clocks: the current virtual time */

    heap timers; /* active timers, earliest (due, seq) first */
    uint64_t next_seq;

    /* Live clocks. */
    uv_loop_t *loop;
    uv_timer_t *uv;  /* heap-allocated so it can outlive the clock until libuv closes it */
    uv_idle_t *idle; /* runs already-due timers, one batch per loop iteration */
    double speed;
    bool wall;         /* plain wall time: origin 0, speed 1, never re-anchored */
    apex_time origin;  /* clock time at start_hr */
    uint64_t start_hr; /* uv_hrtime() at the anchor, ns */
    bool dispatching;  /* inside the uv timer callback: re-arm once at the end */
};

/* ---- heap ---------------------------------------------------------------------------- */

static clock_timer *timer_of(heap_node *node)
{
    return container_of(node, clock_timer, node);
}

/* (due, seq) is a total order (seq is unique), so timers fire in one fixed order. */
static bool timer_before(const heap_node *a, const heap_node *b)
{
    const clock_timer *x = container_of(a, clock_timer, node);
    const clock_timer *y = container_of(b, clock_timer, node);
    return x->due < y->due || (x->due == y->due && x->seq < y->seq);
}

/* The earliest active timer, or NULL. */
static clock_timer *first_timer(const apex_clock *c)
{
    heap_node *top = heap_top(&c->timers);
    return top ? timer_of(top) : NULL;
}

int clock_reserve(apex_clock *c, int n)
{
    /* A reserved slot stays free until a timer takes it: the heap never shrinks. */
    return heap_reserve(&c->timers, heap_count(&c->timers) + n);
}

/* ---- time ---------------------------------------------------------------------------- */

static apex_time wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (apex_time)ts.tv_sec * APEX_SECOND + ts.tv_nsec / 1000;
}

apex_time clock_now(const apex_clock *c)
{
    if (c->simulated)
        return c->sim_now;
    if (c->wall)
        return wall_now();
    /* Defined for every input: an elapsed time that would run backwards counts as 0, and
     * the scaled microseconds are bounded before the conversion (a double beyond int64
     * converts to INT64_MIN on x86, which once surfaced as a clock 292,000 years in the
     * past under the torture; the cause was not found, the conversion is now safe). */
    uint64_t hr = uv_hrtime();
    uint64_t elapsed_ns = hr > c->start_hr ? hr - c->start_hr : 0;
    double us = (double)elapsed_ns / 1000.0 * c->speed;
    if (!(us < 9.0e18))
        us = 9.0e18;
    apex_time ahead = (apex_time)us;
    return c->origin > APEX_TIME_NEVER - ahead ? APEX_TIME_NEVER : c->origin + ahead;
}

bool clock_is_simulated(const apex_clock *c)
{
    return c->simulated;
}

double clock_speed(const apex_clock *c)
{
    return c->simulated ? 0.0 : c->speed;
}

/* ---- live arming ----------------------------------------------------------------------- */

static void live_fire(uv_timer_t *handle);
static void live_idle(uv_idle_t *handle);

/* Arms the single uv timer for the earliest due timer, converting clock time to wall
 * milliseconds (rounded up, so we never wake before anything is due). */
static void live_arm(apex_clock *c)
{
    if (c->simulated || !c->uv || c->dispatching)
        return;
    clock_timer *first = first_timer(c);
    if (!first) {
        uv_timer_stop(c->uv);
        return;
    }
    apex_time wait = first->due - clock_now(c);
    if (wait <= 0) {
        /* Already due: not a 0 ms uv timer, which libuv 1.44 runs again within the same
         * timer pass, so a fast replay whose work keeps falling due would never let the
         * loop see I/O, signals or uv_stop. An idle handle runs once per iteration. */
        uv_timer_stop(c->uv);
        uv_idle_start(c->idle, live_idle);
        return;
    }
    uv_idle_stop(c->idle);
    double wall_us = (double)wait / c->speed;
    uint64_t ms = (uint64_t)(wall_us / 1000.0) + 1;
    uv_timer_start(c->uv, live_fire, ms, 0);
}

/* Fires the due timers that existed when the loop turn began. A timer started from a
 * callback (even with a due time in the past) waits for the next loop turn, so a
 * callback that keeps re-arming itself cannot starve libuv's I/O. */
static void live_dispatch(apex_clock *c);

static void live_fire(uv_timer_t *handle)
{
    live_dispatch(handle->data);
}

static void live_idle(uv_idle_t *handle)
{
    uv_idle_stop(handle);
    live_dispatch(handle->data);
}

static void live_dispatch(apex_clock *c)
{
    uint64_t seq_limit = c->next_seq;
    c->dispatching = true;
    for (clock_timer *t; (t = first_timer(c));) {
        if (t->seq >= seq_limit || t->due > clock_now(c))
            break;
        heap_remove(&c->timers, &t->node);
        t->cb(t, t->ud);
    }
    c->dispatching = false;
    live_arm(c);
}

/* ---- lifecycle ------------------------------------------------------------------------- */

apex_clock *clock_new_simulated(apex_time start)
{
    apex_clock *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    heap_init(&c->timers, timer_before);
    c->simulated = true;
    c->sim_now = start;
    return c;
}

static void free_uv_handle(uv_handle_t *h)
{
    free(h);
}

apex_clock *clock_new_live(struct uv_loop_s *loop, double speed, apex_time origin)
{
    if (!loop || !(speed > 0))
        return NULL;
    apex_clock *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    heap_init(&c->timers, timer_before);
    c->uv = malloc(sizeof *c->uv);
    c->idle = malloc(sizeof *c->idle);
    if (!c->uv || !c->idle || uv_timer_init(loop, c->uv) != 0) {
        free(c->uv);
        free(c->idle);
        free(c);
        return NULL;
    }
    if (uv_idle_init(loop, c->idle) != 0) {
        free(c->idle);
        c->idle = NULL;
        c->uv->data = NULL;
        uv_close((uv_handle_t *)c->uv, free_uv_handle);
        free(c);
        return NULL;
    }
    c->uv->data = c;
    c->idle->data = c;
    c->loop = loop;
    c->speed = speed;
    c->wall = (origin == 0 && speed == 1.0);
    c->origin = origin ? origin : wall_now();
    c->start_hr = uv_hrtime();
    return c;
}

void clock_free(apex_clock *c)
{
    if (!c)
        return;
    if (c->uv) {
        /* libuv still references the handle until its close callback runs, so the
         * handle is freed there; the clock itself is no longer needed. */
        c->uv->data = NULL;
        uv_close((uv_handle_t *)c->uv, free_uv_handle);
    }
    if (c->idle) {
        c->idle->data = NULL;
        uv_close((uv_handle_t *)c->idle, free_uv_handle);
    }
    /* Timers belong to their callers and outlive the clock; heap_free marks them inactive
     * so a later clock_timer_active() does not report a timer that can never fire. */
    heap_free(&c->timers);
    free(c);
}

/* ---- timers ---------------------------------------------------------------------------- */

void clock_timer_init(apex_clock *c, clock_timer *t, clock_cb cb, void *ud)
{
    t->clock = c;
    t->cb = cb;
    t->ud = ud;
    t->due = 0;
    t->seq = 0;
    heap_node_init(&t->node);
}

void clock_timer_start(clock_timer *t, apex_time due)
{
    apex_clock *c = t->clock;
    if (!c)
        return;
    t->due = due;
    t->seq = c->next_seq++;
    if (heap_node_in_heap(&t->node)) {
        heap_update(&c->timers, &t->node);
    } else if (heap_push(&c->timers, &t->node) != APEX_OK) {
        log_error("clock: out of memory starting a timer; it will not fire");
        return;
    }
    if (first_timer(c) == t)
        live_arm(c);
}

void clock_timer_start_in(clock_timer *t, apex_time delay)
{
    if (!t->clock)
        return;
    apex_time now = clock_now(t->clock);
    apex_time due = (delay > 0 && now > APEX_TIME_NEVER - delay) ? APEX_TIME_NEVER : now + delay;
    clock_timer_start(t, due);
}

void clock_timer_stop(clock_timer *t)
{
    if (!t->clock || !heap_node_in_heap(&t->node))
        return;
    bool was_first = (first_timer(t->clock) == t);
    heap_remove(&t->clock->timers, &t->node);
    if (was_first)
        live_arm(t->clock);
}

bool clock_timer_active(const clock_timer *t)
{
    return heap_node_in_heap(&t->node);
}

apex_time clock_timer_due(const clock_timer *t)
{
    return clock_timer_active(t) ? t->due : APEX_TIME_NEVER;
}

/* ---- simulated driving ------------------------------------------------------------------- */

/* Fires timers due at or before `limit` in (due, seq) order. Simulated time moves to each
 * timer's due time (never backwards). Timers started by callbacks join the same pass when
 * they fall inside the window, so work posted "for now" runs at the instant it was posted. */
static int dispatch_until(apex_clock *c, apex_time limit)
{
    int fired = 0;
    for (clock_timer *t; (t = first_timer(c)) && t->due <= limit;) {
        heap_remove(&c->timers, &t->node);
        if (c->simulated && t->due > c->sim_now)
            c->sim_now = t->due;
        t->cb(t, t->ud);
        fired++;
    }
    return fired;
}

int clock_advance_to(apex_clock *c, apex_time t)
{
    if (!c->simulated)
        return 0;
    if (t < c->sim_now)
        t = c->sim_now;
    int fired = dispatch_until(c, t);
    if (t > c->sim_now)
        c->sim_now = t;
    return fired;
}

int clock_run_due(apex_clock *c)
{
    if (c->simulated)
        return dispatch_until(c, c->sim_now);
    c->dispatching = true;
    int fired = dispatch_until(c, clock_now(c));
    c->dispatching = false;
    live_arm(c);
    return fired;
}

apex_time clock_next_due(const apex_clock *c)
{
    const clock_timer *first = first_timer(c);
    return first ? first->due : APEX_TIME_NEVER;
}

int clock_active_count(const apex_clock *c)
{
    return heap_count(&c->timers);
}

void clock_set_speed(apex_clock *c, double speed)
{
    if (c->simulated || !(speed > 0))
        return;
    apex_time now = clock_now(c);
    c->wall = false;
    c->speed = speed;
    c->origin = now;
    c->start_hr = uv_hrtime();
    live_arm(c);
}

void clock_set_wall(apex_clock *c)
{
    if (c->simulated)
        return;
    c->wall = true;
    c->speed = 1.0;
    c->origin = 0;
    c->start_hr = uv_hrtime();
    live_arm(c);
}

void clock_jump_to(apex_clock *c, apex_time t)
{
    if (c->simulated) {
        /* A simulated clock moves only forward, firing what it passes. */
        clock_advance_to(c, t);
        return;
    }
    c->wall = false;
    c->origin = t;
    c->start_hr = uv_hrtime();
    live_arm(c);
}
