/* fake-alpaca: the simulated account (orders, positions, cash), the market data store and
 * the fill engine. One global state; the server is single-threaded. */
#ifndef FAKE_ALPACA_STATE_H
#define FAKE_ALPACA_STATE_H

#include <jansson.h>
#include <stdint.h>

#include "util.h"

enum order_status {
    ST_NEW,
    ST_ACCEPTED,
    ST_HELD,
    ST_PARTIAL,
    ST_FILLED,
    ST_CANCELED,
    ST_REPLACED,
    ST_EXPIRED,
    ST_REJECTED,
};
enum order_type { OT_MARKET, OT_LIMIT, OT_STOP, OT_STOP_LIMIT };

typedef struct {
    char id[37], client_order_id[49], symbol[16], tif[8], order_class[8];
    int side; /* 0 buy, 1 sell */
    int type, status, stop_triggered, has_limit, has_stop, extended_hours;
    fx_t qty, filled_qty, filled_avg, limit_price, stop_price;
    int64_t created, updated, submitted, filled_at, canceled_at, replaced_at, expired_at, failed_at;
    int parent, legs[2], nlegs, replaced_by, replaces; /* indexes into the order table, -1 */
} order_t;

typedef struct {
    char symbol[16];
    fx_t qty, avg; /* qty signed: short < 0 */
} position_t;

/* Volumes and sizes are fixed point like prices: crypto trades fractions (0.0123 BTC). */
typedef struct {
    int64_t t, n;
    fx_t o, h, l, c, vw, v;
} bar_t;

typedef struct {
    char symbol[16];
    bar_t *bars;
    size_t nbars, cap;
    int has_quote, has_last;
    int64_t qt, last_t;
    fx_t bp, ap, last, bs, as, last_s;
} sym_t;

typedef struct {
    int64_t id, created;
    char *headline, *summary, *author, *source, *url, *content, *symbols; /* symbols: "A,B" */
} news_t;

typedef struct {
    char coid[49];
    int n;
} coid_count_t;

/* One execution, as GET /v2/account/activities/FILL reports it. id is
 * "YYYYMMDDhhmmssSSS::<uuid>" (UTC; the uuid is the trade_updates execution_id). */
typedef struct {
    char id[64];
    int order;   /* index into the order table (symbol, side, order_id) */
    int partial; /* partial_fill / partially_filled, else fill / filled */
    int64_t t;
    fx_t price, qty, cum_qty, leaves_qty;
} fill_t;

typedef struct {
    char key[128], secret[128];
    uint64_t seed, id_counter, exec_counter;
    int64_t now_us;
    fx_t cash, initial_cash;
    int auto_fill, fill_immediate;
    int market; /* 0 open, 1 closed, 2 auto */
    order_t *orders;
    size_t norders, ocap;
    position_t *pos;
    size_t npos, pcap;
    sym_t *syms;
    size_t nsyms, scap;
    news_t *news;
    size_t nnews, ncap;
    coid_count_t *coids;
    size_t ncoids, cocap;
    fill_t *fills; /* every execution, in order (times never go back) */
    size_t nfills, fcap;
    /* /_control/calendar: days whose session differs from the regular one (an early
     * close, a holiday), by day number since the epoch. */
    struct {
        int64_t day;
        int closed;
        char open[8], close[8]; /* "HH:MM", New York time */
    } cal[32];
    size_t ncal;
    /* Set by the server: a trade_updates event, and a market data message ('b','q','t'). */
    void (*emit_trade)(const char *json, size_t len);
    void (*emit_market)(const char *symbol, char kind, const char *json, size_t len);
    /* An article to the news streams subscribed to one of symbols ("A,B") or to "*". */
    void (*emit_news)(const char *symbols, const char *json, size_t len);
} state_t;

extern state_t S;

void state_init(uint64_t seed, int64_t now_us, fx_t cash);
void state_reset(void);
void state_advance(int64_t t_us); /* the clock moves forward only */

/* Trading API. Each writes a JSON body to out and returns the HTTP status. */
int order_submit(json_t *req, sb_t *out);
int order_replace(int idx, json_t *req, sb_t *out);
int order_cancel(int idx); /* 0, or -1 when not cancelable */
int order_find(const char *id);
int order_find_coid(const char *coid);
int order_is_open(const order_t *o);
void order_json(sb_t *b, int idx, int nested);
int position_close(const char *symbol, fx_t qty, int cancel_orders, sb_t *out);
position_t *position_get(const char *symbol);
/* The symbol of the position Alpaca names `name` in /v2/positions/{name}: a crypto pair
 * without its slash ("BTCUSD" for BTC/USD; the pair form is not found there), else name. */
const char *position_symbol(const char *name);
void position_json(sb_t *b, const position_t *p);
void account_json(sb_t *b);
/* A TradeActivity (activity_type FILL). */
void fill_json(sb_t *b, const fill_t *f);
int fill_find(const char *id); /* index in S.fills, or -1 */

/* Simulation (the control API). */
sym_t *sym_get(const char *symbol, int create);
fx_t sym_price(const sym_t *s, int side); /* 0 when unknown */
void md_push_bar(const char *symbol, const bar_t *bar, int live);
void md_push_quote(const char *symbol, int64_t t, fx_t bp, fx_t ap, fx_t bs, fx_t as);
void md_push_trade(const char *symbol, int64_t t, fx_t p, fx_t s);
/* Crypto pairs are the only symbols with a '/' ("BTC/USD"): traded around the clock, in
 * fractions, gtc or ioc only, and their data has its own paths and shapes. */
int is_crypto(const char *symbol);
/* --market / settings "market": open, closed, or auto (the session in util.h). */
int market_is_open(void);
/* Fill what the latest price makes marketable (while the market is open, or for
 * extended_hours orders). */
void sim_check(const char *symbol);
/* Fill idx (remaining qty when qty is 0; at the latest price when price is 0). */
int sim_fill(int idx, fx_t qty, fx_t price);
/* A position closed by hand (as in the web UI): cancels its open orders, fills a market
 * order at price (or the latest price). Returns the new order's index or -1. */
int sim_close_by_hand(const char *symbol, fx_t price);
void sim_broker_cancel(int idx, int status); /* canceled, expired or rejected by the broker */
void counters_coid_json(sb_t *b);

#endif
