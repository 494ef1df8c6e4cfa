/* alpaca_internal: what alpaca.c (the calls) and alpaca_poll.c (updates and fills) share.
 * Not for use outside core/broker/alpaca*.c. */
#ifndef APEX_BROKER_ALPACA_INTERNAL_H
#define APEX_BROKER_ALPACA_INTERNAL_H

#include <stdbool.h>
#include <sys/queue.h>

#include "broker/adapter.h"
#include "broker/alpaca.h"
#include "broker/alpaca_json.h"
#include "broker/credentials.h"
#include "net/http.h"
#include "util/hmap.h"

#define ALPACA_MAX_QUOTES  200 /* symbols per snapshot request */
#define ALPACA_MAX_CANCELS 64  /* open orders cancelled before one close */

typedef struct call call;
typedef void (*call_step)(call *c, const http_result *res);

/* One broker_ops request on its way through its REST steps. */
struct call {
    LIST_ENTRY(call) link;
    struct alpaca_broker *a;
    broker_cb cb; /* NULL for the adapter's own requests (polls) */
    void *ud;
    call_step step;
    char coid[BROKER_ID_MAX];   /* the order named, as the host knows it */
    char parent[BROKER_ID_MAX]; /* a leg's parent */
    bool is_leg;
    order_role leg_role;
    bool cancel_lost; /* the cancel met an order that had finished */
    char alpaca_id[BROKER_ID_MAX];
    char symbol[SYMBOL_MAX];
    char symbols[ALPACA_MAX_QUOTES][SYMBOL_MAX];
    int nsymbols;
    char cancel_ids[ALPACA_MAX_CANCELS][BROKER_ID_MAX];
    int ncancel;
};

/* An order the adapter placed or met: what the host was last told about it. */
typedef struct tracked {
    LIST_ENTRY(tracked) link;
    char coid[BROKER_ID_MAX];      /* key of by_coid */
    char alpaca_id[BROKER_ID_MAX]; /* key of by_id */
    broker_order last;             /* as last reported to the listener */
    money_t filled_reported;       /* cumulative quantity of the fills reported */
    bool reported;                 /* last has been reported at least once */
} tracked;

typedef struct alpaca_broker {
    broker base; /* first: adapter.h */
    http_client *http;
    apex_clock *clock;
    char trading[512], data[512], feed[8];
    broker_credentials cred;
    LIST_HEAD(, call) calls;
    /* alpaca_poll.c */
    LIST_HEAD(, tracked) orders;
    hmap by_coid, by_id;
    clock_timer poll;
    bool poll_busy;        /* a poll's requests are in flight */
    apex_time fills_after; /* activities at or after this time are asked for */
} alpaca_broker;

call *alpaca_call_new(alpaca_broker *a, broker_cb cb, void *ud);
void alpaca_call_free(call *c);
/* Replies (when the call has a callback) and frees the call. */
void alpaca_finish(call *c, broker_reply *r);
void alpaca_fail(call *c, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void alpaca_fail_http(call *c, const http_result *res, const char *what);
int alpaca_http_error(const http_result *res, char *msg, size_t msglen);
/* Sends a request of c; next runs with its result. priority is the limiter's; granted:
 * the call's first request, which the limiter already let through. */
int alpaca_send(call *c, http_method m, bool data_api, const char *path, const char *body,
                call_step next, int priority, bool granted);
/* The response body as JSON, or NULL after failing the call. */
json_t *alpaca_body_json(call *c, const http_result *res, const char *what);
/* A 200's body as JSON; NULL after failing the call (`what` for any other answer). */
json_t *alpaca_ok_json(call *c, const http_result *res, const char *what, const char *body_what);

/* alpaca_poll.c: remembers ao (and its legs) so polling reports their changes. */
void alpaca_track(alpaca_broker *a, const alpaca_order *ao);
int alpaca_poll_init(alpaca_broker *a);
void alpaca_poll_free(alpaca_broker *a);
/* list_fills' second step: the order is found; its fills come from the activities. */
void alpaca_fills_order_found(call *c, const http_result *res);

#endif
