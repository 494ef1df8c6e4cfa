/* alpaca_internal: what alpaca.c (the calls), alpaca_poll.c (updates and fills by polling,
 * and the reporting both paths share), alpaca_stream.c (the trade_updates stream),
 * alpaca_link.c (a reconnecting WebSocket) and alpaca_data.c (live market data) share. Not for use
 * outside core/broker/alpaca*.c. */
#ifndef APEX_BROKER_ALPACA_INTERNAL_H
#define APEX_BROKER_ALPACA_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "broker/adapter.h"
#include "broker/alpaca.h"
#include "broker/alpaca_json.h"
#include "broker/credentials.h"
#include "net/http.h"
#include "net/ws.h"
#include "util/hmap.h"

#define ALPACA_MAX_QUOTES  200 /* symbols per snapshot request */
#define ALPACA_MAX_CANCELS 64  /* open orders cancelled before one close */
/* The longest request path: a snapshots request of ALPACA_MAX_QUOTES symbols, each
 * percent-encoded (3 bytes a character at most), and its fixed part. */
#define ALPACA_PATH_MAX (ALPACA_MAX_QUOTES * (3 * SYMBOL_MAX + 1) + 128)

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
    broker_quote *quotes; /* get_quotes: one per symbol, filled kind by kind (freed with c) */
    bool asking_crypto;   /* get_quotes: the request under way is the crypto one (the last) */
    char cancel_ids[ALPACA_MAX_CANCELS][BROKER_ID_MAX];
    int ncancel;
    /* list_symbol_fills: the symbol's fills gathered page by page (freed with the call) */
    apex_time since;
    broker_fill *fills;
    int nfills, cap_fills, pages;
    char new_coid[BROKER_ID_MAX]; /* replace: the replacement's client order id */
    char *body;                   /* replace: the PATCH body, sent after the look-up */
};

/* alpaca_link.c: one WebSocket to Alpaca that is reconnected with backoff until stopped
 * (the trade_updates stream, each market-data stream). The owner authenticates in
 * on_open, reads parsed messages in on_message, and hears of every loss in on_down with
 * the wait before the next attempt (already scheduled). */
typedef struct alpaca_link alpaca_link;
struct alpaca_link {
    struct alpaca_broker *a;
    const char *what; /* "trade_updates", "market data": for messages */
    char url[600];
    ws_client *ws;         /* NULL while waiting to reconnect (or stopped) */
    clock_timer reconnect; /* the next connection attempt */
    int backoff_ms;        /* the base of the wait after the next failure */
    uint64_t jitter;       /* splitmix64 state: spreads reconnects of many hosts */
    char error[160];       /* why the connection failed (on_error), for on_down */
    void (*on_open)(alpaca_link *l);
    void (*on_message)(alpaca_link *l, const json_t *msg);
    void (*on_down)(alpaca_link *l, const char *why, int wait_ms);
    void *ud;
};

void alpaca_link_init(alpaca_link *l, struct alpaca_broker *a, const char *what);
/* Connects now (nothing when connected or waiting to reconnect is cancelled by it). */
void alpaca_link_connect(alpaca_link *l);
/* Drops the connection (no callback of it runs after this), schedules the next attempt
 * after the backoff (jittered upwards by up to a quarter, doubling up to the cap) and
 * reports on_down. */
void alpaca_link_drop(alpaca_link *l, const char *why);
/* The connection works (authorized, subscribed): the next failure waits the first backoff. */
void alpaca_link_up(alpaca_link *l);
/* Sends {"action":"auth","key","secret"} as a secret message (never logged, wiped). */
int alpaca_link_send_auth(alpaca_link *l);
/* Closes the connection and cancels any reconnect; no callback runs after this. */
void alpaca_link_stop(alpaca_link *l);

typedef struct alpaca_md alpaca_md; /* alpaca_data.c */

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
    struct uv_loop_s *loop;
    apex_clock *clock; /* the adapter's own wall clock (alpaca_broker_new) */
    char trading[512], data[512], feed[8];
    broker_credentials cred;
    LIST_HEAD(, call) calls;
    /* alpaca_poll.c */
    LIST_HEAD(, tracked) orders;
    hmap by_coid, by_id;
    clock_timer poll;
    bool poll_busy;  /* a poll's requests are in flight */
    bool poll_again; /* a catch-up poll was asked for while one was in flight */
    int owed_polls;  /* fast polls in a row for fills owed (alpaca_poll.c interval) */
    /* Alpaca ids of orders the stream reported before the adapter knew them (an instant
     * fill racing the POST's answer): tracking one of them polls at once. A ring. */
    char early_ids[16][BROKER_ID_MAX];
    int early_next;
    apex_time fills_after; /* activities at or after this time are asked for */
    /* alpaca_stream.c */
    alpaca_link stream;
    bool stream_listening; /* authorized and subscribed to trade_updates */
    int stream_logged;     /* the state last logged: 0 none yet, 1 up, -1 down */
    /* alpaca_data.c: live market data, created by the first subscription */
    alpaca_md *md;
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
/* s percent-encoded for a query (a crypto pair's '/', a page token's '+', '/', '='). */
void alpaca_url_encode(const char *s, char *out, size_t n);
/* The response body as JSON, or NULL after failing the call. */
json_t *alpaca_body_json(call *c, const http_result *res, const char *what);
/* A 200's body as JSON; NULL after failing the call (`what` for any other answer). */
json_t *alpaca_ok_json(call *c, const http_result *res, const char *what, const char *body_what);

/* alpaca_poll.c: remembers ao (and its legs) so polling reports their changes. */
void alpaca_track(alpaca_broker *a, const alpaca_order *ao);
int alpaca_poll_init(alpaca_broker *a);
void alpaca_poll_free(alpaca_broker *a);
/* The tracked order with Alpaca's id (a leg's own id included), or NULL. */
/* The trade_updates stream reported an order the adapter does not track (yet). */
void alpaca_note_early(struct alpaca_broker *a, const char *alpaca_id);
tracked *alpaca_tracked_by_id(alpaca_broker *a, const char *alpaca_id);
/* Reports f, a fill of t that raised its order's cumulative quantity to cum, to on_fill
 * (under the host's id for t) unless a fill up to cum was reported already. */
void alpaca_report_fill(alpaca_broker *a, tracked *t, broker_fill *f, money_t cum);
/* Reports ao and its legs to on_order where they differ from what was last reported (a
 * leg named by Alpaca's ids is renamed to the host's first; a tracked order's leg seen for
 * the first time is tracked). Orders not tracked are not the adapter's: ignored. */
void alpaca_report_order(alpaca_broker *a, alpaca_order *ao);
/* Polls as soon as possible (a catch-up), when anything is working. */
void alpaca_poll_now(alpaca_broker *a);
/* The interval changed (stream_listening did): a pending poll is re-timed. */
void alpaca_poll_retime(alpaca_broker *a);

/* alpaca_stream.c: the trade_updates stream, reconnected with backoff until freed. */
int alpaca_stream_init(alpaca_broker *a);
/* No callback of the stream runs after this. */
void alpaca_stream_free(alpaca_broker *a);
/* alpaca_data.c: the market_data_subscribe / unsubscribe ops, and the adapter's free. */
market_data_sub *alpaca_md_subscribe(broker *b, const market_data_request *req,
                                     const market_data_sink *sink, void *ud, char *err,
                                     size_t errlen);
void alpaca_md_unsubscribe(broker *b, market_data_sub *sub);
void alpaca_md_free(alpaca_broker *a);
/* list_fills' second step: the order is found; its fills come from the activities. */
void alpaca_fills_order_found(call *c, const http_result *res);
/* The list_symbol_fills op (alpaca_poll.c): the FILL activities after `since`, paged. */
int alpaca_list_symbol_fills(broker *b, const char *symbol, apex_time since, broker_cb cb,
                             void *ud);

#endif
