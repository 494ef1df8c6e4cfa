#include "clock/clock.h"

#include <stdlib.h>
#include <time.h>
#include <uv.h>

#include "util/err.h"
#include "util/log.h"

struct apex_clock {
    bool simulated;
    apex_time sim_now; /* simulated clocks: the current virtual time */

    /* Min-heap of active timers ordered by (due, seq). */
    clock_timer **heap;
    int count;
    int cap;
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

static bool timer_before(const clock_timer *a, const clock_timer *b)
{
    return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void heap_place(apex_clock *c, int i, clock_timer *t)
{
    c->heap[i] = t;
    t->heap_index = i;
}

static void heap_sift_up(apex_clock *c, int i)
{
    clock_timer *t = c->heap[i];
    while (i > 0) {
        int parent = (i - 1) / 2;
        if (!timer_before(t, c->heap[parent]))
            break;
        heap_place(c, i, c->heap[parent]);
        i = parent;
    }
    heap_place(c, i, t);
}

static void heap_sift_down(apex_clock *c, int i)
{
    clock_timer *t = c->heap[i];
    for (;;) {
        int child = 2 * i + 1;
        if (child >= c->count)
            break;
        if (child + 1 < c->count && timer_before(c->heap[child + 1], c->heap[child]))
            child++;
        if (!timer_before(c->heap[child], t))
            break;
        heap_place(c, i, c->heap[child]);
        i = child;
    }
    heap_place(c, i, t);
}

static void heap_remove(apex_clock *c, clock_timer *t)
{
    int i = t->heap_index;
    t->heap_index = -1;
    c->count--;
    if (i == c->count)
        return;
    clock_timer *last = c->heap[c->count];
    heap_place(c, i, last);
    /* The moved element may belong above or below its new slot. */
    if (i > 0 && timer_before(last, c->heap[(i - 1) / 2]))
        heap_sift_up(c, i);
    else
        heap_sift_down(c, i);
}

static bool heap_reserve(apex_clock *c, int extra)
{
    if (c->count + extra <= c->cap)
        return true;
    int ncap = c->cap ? c->cap : 64;
    while (ncap < c->count + extra)
        ncap *= 2;
    clock_timer **nh = realloc(c->heap, (size_t)ncap * sizeof *nh);
    if (!nh)
        return false;
    c->heap = nh;
    c->cap = ncap;
    return true;
}

int clock_reserve(apex_clock *c, int n)
{
    return heap_reserve(c, n) ? 0 : APEX_ENOMEM;
}

static bool heap_push(apex_clock *c, clock_timer *t)
{
    if (!heap_reserve(c, 1))
        return false;
    heap_place(c, c->count, t);
    c->count++;
    heap_sift_up(c, c->count - 1);
    return true;
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
    uint64_t elapsed_ns = uv_hrtime() - c->start_hr;
    return c->origin + (apex_time)((double)elapsed_ns / 1000.0 * c->speed);
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

static void live_fire(uv_timer_t *handle);
static void live_idle(uv_idle_t *handle);

/* Arms the single uv timer for the earliest due timer, converting clock time to wall
 * milliseconds (rounded up, so we never wake before anything is due). */
static void live_arm(apex_clock *c)
{
    if (c->simulated || !c->uv || c->dispatching)
        return;
    if (c->count == 0) {
        uv_timer_stop(c->uv);
        return;
    }
    apex_time wait = c->heap[0]->due - clock_now(c);
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
    while (c->count > 0) {
        clock_timer *t = c->heap[0];
        if (t->seq >= seq_limit || t->due > clock_now(c))
            break;
        heap_remove(c, t);
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
    /* Timers belong to their callers and outlive the clock; mark them inactive so a
     * later clock_timer_active() does not report a timer that can never fire. */
    for (int i = 0; i < c->count; i++)
        c->heap[i]->heap_index = -1;
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
    free(c->heap);
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
    t->heap_index = -1;
}

void clock_timer_start(clock_timer *t, apex_time due)
{
    apex_clock *c = t->clock;
    if (!c)
        return;
    if (t->heap_index >= 0)
        heap_remove(c, t);
    t->due = due;
    t->seq = c->next_seq++;
    if (!heap_push(c, t)) {
        log_error("clock: out of memory starting a timer; it will not fire");
        return;
    }
    if (c->heap[0] == t)
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
    if (!t->clock || t->heap_index < 0)
        return;
    bool was_first = (t->heap_index == 0);
    heap_remove(t->clock, t);
    if (was_first)
        live_arm(t->clock);
}

bool clock_timer_active(const clock_timer *t)
{
    return t->heap_index >= 0;
}

/* ---- simulated driving ------------------------------------------------------------------- */

/* Fires timers due at or before `limit` in (due, seq) order. Simulated time moves to each
 * timer's due time (never backwards). Timers started by callbacks join the same pass when
 * they fall inside the window, so work posted "for now" runs at the instant it was posted. */
static int dispatch_until(apex_clock *c, apex_time limit)
{
    int fired = 0;
    while (c->count > 0 && c->heap[0]->due <= limit) {
        clock_timer *t = c->heap[0];
        heap_remove(c, t);
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
    return c->count > 0 ? c->heap[0]->due : APEX_TIME_NEVER;
}

int clock_active_count(const apex_clock *c)
{
    return c->count;
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
