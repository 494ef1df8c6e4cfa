/* shared: one broker account used by several pipelines in one process.
 *
 * Pipelines that name the same paper account (broker.state) must see one account: one
 * cash balance, one order book, one order numbering. shared_broker_open returns, per
 * pipeline, a thin handle over a single inner broker (opened by the first pipeline,
 * freed with the last handle). Each handle has its own listener; the inner broker's
 * events are fanned out to every handle's listener, and each pipeline's exec ignores
 * orders that are not its own.
 *
 * The venue limits calls per account, not per pipeline, so the account has one rate
 * limiter (shared_broker_limiter) that every handle's calls wait in: most urgent first
 * across all the pipelines, and never more than one limit in total.
 *
 * Replies go back to the handle that asked; a handle freed while the inner broker still
 * owes it replies drops them, so a pipeline freed before another never gets called. */
#ifndef APEX_BROKER_SHARED_H
#define APEX_BROKER_SHARED_H

#include "broker/broker.h"

/* Opens the inner broker with open(ud) when key is not open yet. Returns a handle (free
 * with broker_free), or NULL when open failed (its message is in err). */
broker *shared_broker_open(const char *key, broker *(*open)(void *ud, char *err, size_t errlen),
                           void *ud, char *err, size_t errlen);

/* The inner broker behind a handle (b itself when b is not a handle). */
broker *shared_broker_inner(broker *b);

/* How many handles share b's account (1 when b is not shared). */
int shared_broker_users(broker *b);

struct uv_loop_s;

/* Makes b's calls wait in its account's rate limiter (broker_set_limiter on b). The
 * first handle to ask creates it, with per_minute, counting on a wall clock of its own
 * on wall (a venue that does not simulate counts real minutes) or, with wall NULL, on
 * clock (which must outlive the account); the account owns both and frees them with its
 * last handle, after the inner broker. A later handle keeps that limiter and lowers its
 * limit to per_minute when smaller: the smallest configured limit applies, so no
 * pipeline's limit is exceeded and the result does not depend on the order pipelines
 * open in. *was (NULL allowed) gets the account's limit before this call, 0 when this
 * call created it. Returns 0; APEX_ENOTFOUND when b is not a shared handle (its owner
 * keeps a limiter of its own); APEX_EINVAL; APEX_ENOMEM. */
int shared_broker_limiter(broker *b, apex_clock *clock, struct uv_loop_s *wall, int per_minute,
                          int *was);

#endif
