/* fake_broker: the one broker test programs use in place of a real one (never linked into
 * the product). It implements broker_ops, so the code under test reaches it exactly as it
 * reaches the paper broker or an HTTP adapter: through broker.h. It is an adapter
 * (broker/adapter.h), so a limiter set on it with broker_set_limiter sits in front of it
 * as in front of any adapter, and the calls it records are the ones granted.
 *
 * On its own it behaves like a small, obedient broker:
 *   - an order book: submit creates the order (role entry, status accepted) and, for a
 *     bracket, its legs "<id>-tp" / "<id>-sl" (held until the entry fills); a repeated
 *     client order id is refused with APEX_EDUP (reply carries the existing order);
 *     cancel, get_order, list_open_orders and list_fills read the book, and an unknown id
 *     is APEX_ENOTFOUND; list_symbol_fills answers every fill of the symbol after `since`
 *     (each with its order's broker id, orders placed by hand included); close_position opens a
 * market exit order for the whole position and cancels the symbol's working orders;
 *   - positions move with the fills the test makes (fake_broker_fill) or are set directly;
 *     quotes and the account are whatever the test set;
 *   - nothing fills by itself: the test decides when and at what price.
 * Replies are deferred, as broker.h requires: each is a snapshot taken when the call
 * arrives, delivered from the clock `latency` later (0 = on the next clock_run_due or
 * clock_advance_to), in call order, never inside the call.
 *
 * Wrapping: fake_broker_wrap puts the fake in front of another broker (e.g. the paper
 * broker): every call is recorded, scripts and the hook apply, and whatever is not
 * scripted is forwarded to the inner broker, whose replies and listener events pass
 * through unchanged.
 *
 * Every call is recorded with its clock time, its arguments and what it returned
 * (fake_broker_call). Scripts (fake_broker_script and the shorthands) decide the outcome
 * of the next calls of one kind: refuse at once, reply with an error, or hold the reply
 * until fake_broker_release. A hook (fake_broker_on_call) runs a test function at the
 * instant a call arrives, before the fake acts on it, e.g. to check what the caller
 * committed to its store before asking.
 *
 * Listener events (fills, order updates) are queued behind pending replies and delivered
 * from the clock (FAKE_EVENTS_QUEUED, the default, as the paper broker does), or delivered
 * the moment the broker's state changes, inside the call or fake_broker_fill that changed
 * it (FAKE_EVENTS_IMMEDIATE). Submitting an order emits no event; its reply says it all.
 *
 * Ownership: fake_broker_new / fake_broker_wrap return a broker freed with broker_free
 * (a wrapped inner broker is freed with it). Pending and held replies are dropped at
 * free, their callbacks never run. Pointers returned by the query functions stay valid
 * until the fake is freed. */
#ifndef APEX_TEST_FAKE_BROKER_H
#define APEX_TEST_FAKE_BROKER_H

#include <stdbool.h>

#include "broker/broker.h"

typedef struct fake_broker fake_broker;

typedef enum {
    FAKE_SUBMIT = 0,
    FAKE_CANCEL,
    FAKE_GET_ORDER,
    FAKE_LIST_OPEN_ORDERS,
    FAKE_GET_POSITION,
    FAKE_LIST_POSITIONS,
    FAKE_GET_ACCOUNT,
    FAKE_GET_QUOTES,
    FAKE_CLOSE_POSITION,
    FAKE_LIST_FILLS,
    FAKE_GET_SESSION,
    FAKE_LIST_SYMBOL_FILLS,
    FAKE_NKINDS,
    FAKE_ANY = FAKE_NKINDS, /* for counting and finding calls of any kind */
} fake_call_kind;

const char *fake_call_kind_name(fake_call_kind kind); /* "submit_order", ... */

/* One call as it arrived. */
typedef struct {
    fake_call_kind kind;
    apex_time at;                        /* clock time of the call */
    int rc;                              /* what the call returned to the caller */
    order_request req;                   /* submit_order */
    char client_order_id[BROKER_ID_MAX]; /* submit (req's), cancel, get_order, close,
                                            list_fills */
    char symbol[SYMBOL_MAX];             /* get_position, list_open_orders ("" = all),
                                            close_position, submit (req's),
                                            list_symbol_fills */
    apex_time since;                     /* list_symbol_fills */
    int nsymbols;                        /* get_quotes */
    const char (*symbols)[SYMBOL_MAX];   /* get_quotes: copies of the requested symbols */
} fake_call;

typedef enum {
    FAKE_REPLY = 0, /* reply; status != 0 = fail without acting (error = the reply text) */
    FAKE_REFUSE,    /* the call returns status at once (a negative APEX_E*); no reply */
    FAKE_HOLD,      /* act normally, keep the reply until fake_broker_release */
} fake_action;

typedef struct {
    fake_action action;
    int status;        /* FAKE_REPLY: the reply's status; FAKE_REFUSE: the return code */
    const char *error; /* FAKE_REPLY with status != 0: the reply's error text */
    apex_time delay;   /* added to the latency of this reply */
} fake_script;

/* FAKE_EVENTS_DROPPED: the listener hears nothing (a stream and polling that both failed);
 * the broker's state still changes and calls still see it. */
typedef enum { FAKE_EVENTS_QUEUED = 0, FAKE_EVENTS_IMMEDIATE, FAKE_EVENTS_DROPPED } fake_events;

typedef void (*fake_call_hook)(void *ud, fake_broker *fb, const fake_call *call);

/* A broker on its own book, replying through clock. */
fake_broker *fake_broker_new(apex_clock *clock);
/* A recording, scriptable broker in front of inner; takes ownership of inner. */
fake_broker *fake_broker_wrap(apex_clock *clock, broker *inner);
broker *fake_broker_base(fake_broker *fb);
/* The fake behind b, or NULL when b is not a fake broker. */
fake_broker *fake_broker_of(broker *b);

/* ---- behaviour ---- */

void fake_broker_set_latency(fake_broker *fb, apex_time latency);
void fake_broker_set_events(fake_broker *fb, fake_events mode);
/* Queues `times` scripted outcomes for the next calls of `kind` (FAKE_ANY: any kind). */
void fake_broker_script(fake_broker *fb, fake_call_kind kind, int times, fake_script script);
void fake_broker_fail_next(fake_broker *fb, fake_call_kind kind, int times, int status,
                           const char *error);
void fake_broker_refuse_next(fake_broker *fb, fake_call_kind kind, int times, int rc);
void fake_broker_hold_next(fake_broker *fb, fake_call_kind kind, int times);
/* Queues every held reply for delivery (latency from now). Returns how many. */
int fake_broker_release(fake_broker *fb);
/* Runs hook(ud, fb, call) when each call arrives, before the fake acts (NULL = none). */
void fake_broker_on_call(fake_broker *fb, fake_call_hook hook, void *ud);
/* Raised to true when the fake is freed (to see that an owner freed it). */
void fake_broker_notify_free(fake_broker *fb, bool *flag);

/* ---- the broker's state ---- */

void fake_broker_set_quote(fake_broker *fb, const char *symbol, money_t bid, money_t ask,
                           money_t last);
/* Signed quantity (> 0 long); 0 removes the position. */
void fake_broker_set_position(fake_broker *fb, const char *symbol, money_t qty,
                              money_t avg_entry_price);
money_t fake_broker_position(const fake_broker *fb, const char *symbol);
void fake_broker_set_account(fake_broker *fb, const broker_account *account);
/* The venue's calendar (get_session): the session of the UTC day containing `day`; a day
 * never set is not a trading day. Until the first call the fake has a calendar only when
 * it wraps nothing (a wrapped broker's answer, or refusal, is forwarded). */
void fake_broker_set_session(fake_broker *fb, apex_time day, apex_time open, apex_time close);
/* Puts an order in the book as if it had been placed earlier (no call is recorded). */
broker_order *fake_broker_add_order(fake_broker *fb, const broker_order *order);
/* Makes dst's book (orders, fills, positions, quotes, account) a copy of src's: the broker
 * outlives a host that is restarted, and a fresh fake for the restarted host starts from
 * what the broker knew. */
void fake_broker_copy_book(fake_broker *dst, const fake_broker *src);

/* ---- the broker acting on its own ---- */

/* Fills qty of an order (0 = all that is left) at price, as the broker would: a filled
 * entry activates its held legs, a leg's fill cancels its sibling (one-cancels-other),
 * the position moves; the listener hears the sibling's cancellation, then on_fill, then
 * on_order. Fills even an order the book holds as final (a race the test stages).
 * Returns 0, or APEX_ENOTFOUND for an unknown id. */
int fake_broker_fill(fake_broker *fb, const char *client_order_id, money_t qty, money_t price);
/* Sends fill number i (in fill order) to the listener again: a replayed stream event. */
int fake_broker_replay_fill(fake_broker *fb, int i);
/* Sets an order's status (and reason) at the broker and tells the listener. */
int fake_broker_update_order(fake_broker *fb, const char *client_order_id, order_status status,
                             const char *reason);

/* ---- what happened ---- */

int fake_broker_ncalls(const fake_broker *fb, fake_call_kind kind);
/* The most calls of any kind in one window (t - 60 s, t]: what a per-minute limit bounds. */
int fake_broker_max_calls_per_minute(const fake_broker *fb);
/* Call number i (0 = first) of any kind, or NULL. */
const fake_call *fake_broker_call(const fake_broker *fb, int i);
/* The latest call of kind (FAKE_ANY: of any kind), or NULL. */
const fake_call *fake_broker_last_call(const fake_broker *fb, fake_call_kind kind);
/* Replies and events queued and not delivered yet; replies held. */
int fake_broker_pending(const fake_broker *fb);
int fake_broker_held(const fake_broker *fb);

/* The book, in the order orders were created (legs right after their entry). */
int fake_broker_norders(const fake_broker *fb);
broker_order *fake_broker_order_at(fake_broker *fb, int i);
broker_order *fake_broker_order(fake_broker *fb, const char *client_order_id);
broker_order *fake_broker_last_order(fake_broker *fb);
int fake_broker_nfills(const fake_broker *fb);
const broker_fill *fake_broker_fill_at(const fake_broker *fb, int i);

#endif
