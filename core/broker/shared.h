/* shared: one broker account used by several pipelines in one process.
 *
 * Pipelines that name the same paper account (broker.state) must see one account: one
 * cash balance, one order book, one order numbering. shared_broker_open returns, per
 * pipeline, a thin handle over a single inner broker (opened by the first pipeline,
 * freed with the last handle). Each handle has its own listener and limiter (broker.c
 * sets them on the handle); the inner broker's events are fanned out to every handle's
 * listener, and each pipeline's exec ignores orders that are not its own.
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

#endif
