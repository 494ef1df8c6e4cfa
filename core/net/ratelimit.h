/* ratelimit: keeps broker calls under a per-minute limit, most urgent first.
 *
 * A sliding-window log rather than a token bucket: a bucket that holds N tokens
 * refilled at N per minute can let 2N calls through inside one 60 s window (a full
 * bucket spent at once, then its refill), and brokers count per window. The log
 * keeps the times of the last N grants and grants the next request only when fewer
 * than N fall inside (now - 60 s, now]; so no 60 s window ever sees more than N.
 *
 * Requests wait in a queue ordered by priority (0 = most urgent, e.g. a CRITICAL exit),
 * then arrival. Grants are always asynchronous: the callback runs from the clock,
 * never inside ratelimit_submit. Time is the host clock's, so backtests obey the limit
 * in simulated time. */
#ifndef APEX_NET_RATELIMIT_H
#define APEX_NET_RATELIMIT_H

#include <stdint.h>

#include "clock/clock.h"

typedef struct ratelimit ratelimit;
typedef void (*ratelimit_cb)(void *ud);

#define RATELIMIT_PRIORITIES 5 /* 0..3 = exit priorities CRITICAL..LOW, 4 = routine */
#define RATELIMIT_ROUTINE    4

/* per_minute >= 1. The clock must outlive the limiter. */
ratelimit *ratelimit_new(apex_clock *clock, int per_minute);
/* Frees the limiter; queued requests are dropped without their callbacks running. */
void ratelimit_free(ratelimit *r);

/* Queues a request. Returns 0, or APEX_ENOMEM / APEX_EINVAL (bad priority). */
int ratelimit_submit(ratelimit *r, int priority, ratelimit_cb cb, void *ud);

/* Removes a queued request (the first matching cb and ud) without running it, e.g. when
 * its owner goes away. Returns 0, or APEX_ENOTFOUND when no such request waits. */
int ratelimit_cancel(ratelimit *r, ratelimit_cb cb, void *ud);

int ratelimit_queued(const ratelimit *r);
uint64_t ratelimit_granted(const ratelimit *r);
/* Grants within (now - 60 s, now]. */
int ratelimit_window_count(ratelimit *r);
int ratelimit_per_minute(const ratelimit *r);
/* Changes the limit (>= 1) from now on, e.g. when several users share one limiter and the
 * strictest of their limits must hold. The log keeps the newest grants that fit, so a
 * lowered limit counts the calls already made in the current window: the next grant
 * waits until fewer than the new limit remain in it. Returns 0, or APEX_EINVAL / APEX_ENOMEM (the
 * limit is unchanged). */
int ratelimit_set_per_minute(ratelimit *r, int per_minute);
/* Names the limiter in the metrics (apex_ratelimit_*{limiter="name"}, metrics.h): its
 * grants, the grants that waited and how long, and what waits now. Until named it counts
 * nothing. The name is copied. */
void ratelimit_set_metrics(ratelimit *r, const char *name);

/* The clock the limiter grants from (users that must reply asynchronously share it). */
apex_clock *ratelimit_clock(const ratelimit *r);

#endif
