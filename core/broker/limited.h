/* limited: a broker that sends every request of another broker through a rate limiter.
 *
 * It implements broker_ops by queuing each call in a ratelimit and forwarding it to the
 * inner broker when granted; replies and listener events pass through unchanged. Market
 * data (on_bar) is not an API call and passes straight through. A call's priority is
 * RATELIMIT_ROUTINE unless set for the next call with limited_broker_next_priority. */
#ifndef APEX_BROKER_LIMITED_H
#define APEX_BROKER_LIMITED_H

#include "broker/broker.h"
#include "net/ratelimit.h"

/* Takes ownership of inner (freed with the limited broker); the limiter is borrowed. */
broker *limited_broker_new(broker *inner, ratelimit *limiter);
/* The priority (0 = most urgent) of the next call made on b, then back to routine. */
void limited_broker_next_priority(broker *b, int priority);
broker *limited_broker_inner(broker *b);

#endif
