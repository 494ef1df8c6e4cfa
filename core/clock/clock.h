/* clock: the host's only source of time and timers.
 *
 * Every timer in the core goes through a clock, so a backtest and a live run
 * execute the same code. Both kinds keep due timers in one binary min-heap:
 *
 *  - simulated: time stands still until the driver calls clock_advance_to();
 *    timers fire in (due, start order) order with clock_now() == their due time.
 *    Nothing waits, so a backtest runs as fast as the machine allows.
 *  - live: time is the wall clock (speed 1), or a replay clock that starts at
 *    `origin` and runs `speed` times faster than the wall. A single uv_timer is
 *    armed for the earliest due timer; the libuv loop drives everything.
 *
 * Times are microseconds since the Unix epoch, UTC (apex_time).
 * Timers are caller-owned structs (no allocation per timer), as libuv handles are.
 * Callbacks may start or stop any timer, including their own. */
#ifndef APEX_CLOCK_H
#define APEX_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "util/heap.h"

typedef int64_t apex_time; /* µs since the Unix epoch, UTC */

#define APEX_TIME_NEVER INT64_MAX
#define APEX_SECOND     ((apex_time)1000000)
#define APEX_MINUTE     (60 * APEX_SECOND)
#define APEX_HOUR       (60 * APEX_MINUTE)
#define APEX_DAY        (24 * APEX_HOUR)

typedef struct apex_clock apex_clock;
typedef struct clock_timer clock_timer;
typedef void (*clock_cb)(clock_timer *timer, void *ud);

/* Public so it can be embedded; treat the fields as private. */
struct clock_timer {
    apex_clock *clock;
    clock_cb cb;
    void *ud;
    apex_time due;
    uint64_t seq;   /* start order, breaks ties between equal due times */
    heap_node node; /* in the clock's heap while active */
};

struct uv_loop_s;

/* A simulated clock starting at `start`. Caller frees with clock_free. */
apex_clock *clock_new_simulated(apex_time start);

/* A live clock on `loop`. speed 1.0 with origin 0 = wall time. With origin != 0 the
 * clock starts at `origin` and runs `speed` times faster than the wall (replay).
 * The clock owns one uv_timer on the loop; clock_free closes it (the loop must run
 * once more, or be closed, after clock_free for libuv to release it). */
apex_clock *clock_new_live(struct uv_loop_s *loop, double speed, apex_time origin);

void clock_free(apex_clock *clock);

apex_time clock_now(const apex_clock *clock);
bool clock_is_simulated(const apex_clock *clock);
double clock_speed(const apex_clock *clock);

/* Binds a timer to a clock and its callback. Does not start it. */
void clock_timer_init(apex_clock *clock, clock_timer *timer, clock_cb cb, void *ud);
/* Starts or re-arms the timer to fire at `due` (a due time in the past fires on the
 * next advance or loop turn, never synchronously inside this call). */
void clock_timer_start(clock_timer *timer, apex_time due);
/* Makes room for n more running timers now, so that starting them cannot fail for lack
 * of memory (a call that promised a callback reserves before it returns). 0 or
 * APEX_ENOMEM. */
int clock_reserve(apex_clock *clock, int n);
/* Convenience: fire after `delay` µs from now. */
void clock_timer_start_in(clock_timer *timer, apex_time delay);
void clock_timer_stop(clock_timer *timer);
bool clock_timer_active(const clock_timer *timer);
/* When an active timer fires; APEX_TIME_NEVER when it is not active. */
apex_time clock_timer_due(const clock_timer *timer);

/* Simulated clocks only. Fires every timer due at or before t, in order, moving now to
 * each timer's due time, then sets now = t (never moves backwards). Returns the number
 * of callbacks run. */
int clock_advance_to(apex_clock *clock, apex_time t);
/* Fires timers due at or before now (e.g. work posted for "as soon as possible"). */
int clock_run_due(apex_clock *clock);
/* Due time of the earliest active timer, or APEX_TIME_NEVER. */
apex_time clock_next_due(const apex_clock *clock);
/* Number of active timers. */
int clock_active_count(const apex_clock *clock);

/* Live replay clocks: re-anchor so that now == t (used when the replayed data jumps,
 * e.g. over a weekend, so the replay does not sit idle). */
void clock_jump_to(apex_clock *clock, apex_time t);

/* Live clocks: from now on, plain wall time at speed 1 (a followed live feed). Timers keep
 * their due times. Lets the host choose after loading pipelines, which hold the clock. */
void clock_set_wall(apex_clock *clock);

/* Live clocks: from now on run `speed` times faster than the wall, continuing from the
 * current time. */
void clock_set_speed(apex_clock *clock, double speed);

#endif
