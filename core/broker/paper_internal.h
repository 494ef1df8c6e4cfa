/* paper_internal: the paper broker's private state, shared by its files.
 *
 *   paper.c          the broker_ops vtable: requests, validation, replies
 *   paper_events.c   the reply/notification queue, delivered from the clock
 *   paper_fill.c     fill prices, bars, working-order processing
 *   paper_account.c  cash, positions, P&L, buying power, day trades
 *   paper_state.c    the SQLite file the account lives in
 *
 * Every state change happens at once, inside the call or the bar that causes it,
 * and is written through to SQLite; only the notifications wait for the clock, so
 * callers never see a callback inside their own call. */
#ifndef APEX_BROKER_PAPER_INTERNAL_H
#define APEX_BROKER_PAPER_INTERNAL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "broker/adapter.h"
#include "broker/paper.h"
#include "util/hmap.h"
#include "util/vec.h"

struct paper_symbol;

typedef struct {
    broker_order o;
    struct paper_symbol *sym;         /* its symbol; set by paper_order_add */
    money_t take_profit, stop_loss;   /* the bracket an entry asked for, for the record */
    int64_t seq;                      /* creation order; also the row key */
    bool triggered;                   /* stop / stop_limit: the stop has been hit */
    bool market_pending;              /* market order waiting to fill (see paper_fill.c) */
    int nfills;                       /* numbers fill ids "<broker_order_id>-<n>" */
    apex_time active_after;           /* legs: ignore bars with ts <= this one, because they
                                         became active during it and its path is unknown */
    struct paper_event *cancel_reply; /* a cancel asked while it waits for the next open:
                                         answered when that bar has decided it; not persisted */
} paper_order;

typedef struct paper_symbol {
    char name[SYMBOL_MAX];
    VEC(paper_order *)
    working; /* its orders that are not final (held legs included), in
                creation order: a bar looks at these and no others */
    bool has_bar;
    bar last; /* the latest bar processed; its close is the last price */
    bool has_rules;
    money_instrument rules; /* tick and lot, not persisted: the host sets them at start */
    money_t qty;            /* signed position */
    money_t avg_price;      /* average entry price of the open position */
    money_t value;          /* qty at the last price: its part of the broker's sums */
    int64_t opened_day;     /* UTC day of the latest opening fill, -1 when none; a close on
                               that same day is a day trade */
    bool dirty;             /* `last` changed since it was last written; in the broker's `dirty` */
} paper_symbol;

typedef struct {
    int64_t day;
    char symbol[SYMBOL_MAX];
} paper_day_trade;

typedef enum { PAPER_EV_REPLY = 0, PAPER_EV_ORDER, PAPER_EV_FILL } paper_event_kind;

/* One queued notification. Everything is copied, so later state changes do not leak
 * into an earlier reply. */
typedef struct paper_event {
    STAILQ_ENTRY(paper_event) link; /* in the broker's `events` queue */
    paper_event_kind kind;
    broker_cb cb;
    void *ud;
    int status;
    char error[256];
    bool has_order;
    broker_order order;
    broker_order *orders;
    int norders;
    broker_position *positions;
    int npositions;
    bool has_account;
    broker_account account;
    broker_quote *quotes;
    int nquotes;
    broker_fill fill;
    VEC(broker_fill) fills; /* list_fills replies */
} paper_event;

typedef struct {
    broker base; /* first, as broker.h requires */
    paper_config cfg;
    apex_clock *clock;
    money_instrument default_rules; /* for symbols without their own */

    money_t cash;
    money_t realized_today;  /* net of fees */
    int64_t pnl_day;         /* UTC day realized_today belongs to */
    apex_time last_bar_ts;   /* newest bar seen for any symbol: the account's "today" */
    money_t positions_value; /* sum of every symbol's `value` (paper_revalue) */
    money_t shorts_value;    /* sum of -value over the short positions, >= 0 */
    int64_t next_seq;

    VEC(paper_order *)
    orders;         /* every order ever, in creation order (an in-memory
                       account forgets old final ones: paper.c) */
    int forget_at;  /* orders.count at which that is next tried */
    hmap order_ids; /* client order id (the order's own) -> paper_order * */
    /* "close" fills: market orders waiting for the clock turn, in acceptance order (may
     * hold orders that have filled or been cancelled since; the turn skips those). */
    VEC(paper_order *) pending;

    VEC(paper_symbol *)
    symbols;                   /* in first-seen order; each allocated once, so it never
                                  moves and symbol_ids can borrow its name */
    hmap symbol_ids;           /* name -> paper_symbol *: a bar looks its symbol up */
    VEC(paper_symbol *) dirty; /* symbols whose last bar is not written yet (files only) */

    VEC(paper_day_trade) day_trades;

    VEC(broker_fill) fills; /* every fill ever, oldest first, for list_fills */

    int unsaved_bars; /* bars whose prices are only in memory so far */

    STAILQ_HEAD(, paper_event) events; /* oldest first */
    clock_timer timer;

    sqlite3 *db;
    int tx_depth; /* nested begin/commit: one transaction per event */
    int lock_fd;  /* the account file's lock (util/filelock.h); -1 when none */
    char path[CONFIG_PATH_MAX];
    sqlite3_stmt *st_order, *st_position, *st_position_del, *st_symbol, *st_account, *st_fill,
        *st_day_trade;
} paper_broker;

#define PAPER_BPS_DIVISOR MONEY(10000)

/* UTC day number of a time (days since the epoch). */
int64_t paper_day_of(apex_time t);

/* paper.c */
paper_symbol *paper_symbol_find(paper_broker *p, const char *name);
paper_symbol *paper_symbol_get(paper_broker *p, const char *name); /* adds; NULL on OOM */
money_instrument paper_symbol_rules(const paper_symbol *s);
paper_order *paper_order_find(paper_broker *p, const char *client_order_id);
/* Appends a new order, indexes its client id and, if not final, puts it on its symbol's
 * working list (and a "close" market order on the pending list). */
int paper_order_add(paper_broker *p, paper_order *o);
/* Drops final orders from a symbol's working list. */
void paper_working_compact(paper_symbol *s);
/* Answers a deferred cancel (paper_order.cancel_reply) now that the order is final. */
void paper_answer_deferred_cancel(paper_broker *p, paper_order *o);
/* Changes an order's status, persists it and queues on_order. */
void paper_order_set_status(paper_broker *p, paper_order *o, order_status st, const char *reason);
/* Cancels the entry's legs or, for a leg, its sibling (one-cancels-other). */
void paper_cancel_related(paper_broker *p, paper_order *o, const char *reason);
paper_order *paper_order_sibling(paper_broker *p, const paper_order *leg);
/* The take-profit or stop-loss leg of a bracket entry, if it exists. */
paper_order *paper_leg_of(paper_broker *p, const paper_order *entry, order_role role);

/* paper_events.c */
paper_event *paper_event_new(paper_event_kind kind);
void paper_event_push(paper_broker *p, paper_event *ev);
/* A reply's event allocated before the call changes anything, so a call that returned 0
 * can always deliver its one reply (out of memory is then refused up front). */
paper_event *paper_reply_reserve(paper_broker *p);
void paper_reply_send(paper_broker *p, paper_event *ev, broker_cb cb, void *ud, int status,
                      const char *error, const broker_order *order);
/* 0, or APEX_ENOMEM when the reply could not be queued (then it never runs). */
int paper_queue_reply(paper_broker *p, broker_cb cb, void *ud, int status, const char *error,
                      const broker_order *order);
void paper_queue_order_update(paper_broker *p, const broker_order *order);
void paper_queue_fill(paper_broker *p, const broker_fill *fill, const broker_order *order);
/* Keeps a fill in memory for list_fills. Returns 0 or APEX_ENOMEM. */
int paper_remember_fill(paper_broker *p, const broker_fill *fill);
void paper_events_init(paper_broker *p);
/* Runs the clock turn's delivery now (paper_broker_deliver_now). */
void paper_events_deliver_now(paper_broker *p);
void paper_events_arm(paper_broker *p);
void paper_events_free(paper_broker *p);

/* paper_fill.c */
/* The price a market order would fill at against the last bar: the quoted side (or the
 * close +/- half the spread) plus slippage, rounded to the nearest tick. */
int paper_market_price(const paper_broker *p, const paper_symbol *s, order_side side, money_t *out);
/* "close" fills: every market order waiting for the clock turn fills now. */
void paper_fill_pending_markets(paper_broker *p);
/* What an order of qty would cost (broker_estimate_cost): a market order against the last
 * bar (ref when there is none), a stop at ref with slippage, a limit at ref; and its fee. */
int paper_estimate(const paper_broker *p, const paper_symbol *s, order_side side, order_type type,
                   money_t ref, money_t qty, broker_cost *out);
void paper_process_bar(paper_broker *p, paper_symbol *s, const bar *b);
void paper_quote_of(const paper_broker *p, const paper_symbol *s, broker_quote *q);

/* paper_account.c */
money_t paper_fee(const paper_broker *p, money_t qty, money_t price);
/* Applies a fill: cash, position, realized P&L, day trades. Persists what changed. */
int paper_apply_fill(paper_broker *p, paper_symbol *s, order_side side, money_t qty, money_t price,
                     money_t fee);
/* Brings s's part of the account's position sums up to date after its quantity or its last
 * price changed, so equity and buying power never need a pass over every symbol. */
void paper_revalue(paper_broker *p, paper_symbol *s);
money_t paper_equity(const paper_broker *p);
money_t paper_long_buying_power(const paper_broker *p);
money_t paper_short_buying_power(const paper_broker *p);
void paper_account_snapshot(const paper_broker *p, broker_account *a);
void paper_position_snapshot(const paper_symbol *s, broker_position *pos);
void paper_roll_day(paper_broker *p, apex_time bar_ts);
int paper_day_trade_count(const paper_broker *p);

/* paper_state.c */
int paper_state_open(paper_broker *p, const char *path, char *err, size_t errlen);
void paper_state_close(paper_broker *p);
void paper_state_begin(paper_broker *p);
void paper_state_commit(paper_broker *p);
void paper_state_save_order(paper_broker *p, const paper_order *o);
void paper_state_save_position(paper_broker *p, const paper_symbol *s);
void paper_state_save_symbol(paper_broker *p, const paper_symbol *s);
/* Notes that s's last bar must be written (a no-op for an account kept in memory). */
void paper_state_mark_dirty(paper_broker *p, paper_symbol *s);
/* Writes every symbol whose last bar changed, and the account (call inside a transaction). */
void paper_state_flush_dirty(paper_broker *p);
void paper_state_save_account(paper_broker *p);
void paper_state_save_fill(paper_broker *p, const broker_fill *f);
void paper_state_save_day_trade(paper_broker *p, const paper_day_trade *d);

#endif
