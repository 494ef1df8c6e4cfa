/* alpaca_json_internal: field readers shared by the alpaca_json*.c files.
 *
 *   alpaca_json_field.c    these readers: strings, decimals, numbers, times, booleans
 *   alpaca_json_order.c    the order body, order objects, statuses
 *   alpaca_json_stream.c   trade updates, fill ids, fill activities
 *   alpaca_json_account.c  positions, account, clock, calendar, error bodies
 *   alpaca_json_data.c     bars, quotes, snapshots, market-data stream messages
 *
 * Every reader takes the path of the object it reads ("order", "order.legs[1]") and the
 * key, so a message always names the field as "<path>.<key>". */
#ifndef APEX_BROKER_ALPACA_JSON_INTERNAL_H
#define APEX_BROKER_ALPACA_JSON_INTERNAL_H

#include "broker/alpaca_json.h"

/* How a field may appear. */
enum {
    AJ_REQUIRED = 1 << 0, /* absent or null is an error */
    AJ_NUMBER = 1 << 1,   /* a decimal may be a JSON real (market data); else strings only */
};

typedef struct {
    const char *path; /* "order", "order.legs[0]" */
    char *err;
    size_t errlen;
} aj_ctx;

/* The member, or NULL when absent or null. */
const json_t *aj_get(const json_t *obj, const char *key);

/* An error about path.key; returns code. */
int aj_fail(const aj_ctx *c, const char *key, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* obj must be an object (what names it in the message). */
int aj_need_object(const aj_ctx *c, const json_t *obj);

/* A string field copied into out (which must hold it: a longer one is an error). Absent
 * or null: "" (an error with AJ_REQUIRED; "" is also refused then). */
int aj_string(const aj_ctx *c, const json_t *obj, const char *key, int flags, char *out,
              size_t outlen);

/* A decimal: a string through money_parse, a JSON integer exactly, a JSON real only with
 * AJ_NUMBER (through "%.15g"). Absent or null: 0. */
int aj_money(const aj_ctx *c, const json_t *obj, const char *key, int flags, money_t *out);

/* An RFC 3339 time. Absent or null: 0. */
int aj_time(const aj_ctx *c, const json_t *obj, const char *key, int flags, apex_time *out);

/* A JSON boolean. Absent or null: false. */
int aj_bool(const aj_ctx *c, const json_t *obj, const char *key, int flags, bool *out);

/* A JSON integer (or a string of digits: some Alpaca fields changed type over versions).
 * Absent or null: 0. */
int aj_int(const aj_ctx *c, const json_t *obj, const char *key, int flags, int64_t *out);

/* A symbol (symbol_valid) into out[SYMBOL_MAX]. */
int aj_symbol(const aj_ctx *c, const json_t *obj, const char *key, int flags, char *out);
/* Alpaca names a crypto pair "BTCUSD" in positions (its older symbology, still answered)
 * and "BTC/USD" in orders and market data; the host knows a pair only by the slash form.
 * When obj's asset_class is "crypto" and symbol has no '/', one goes before the quote
 * currency (USD, USDT, USDC, BTC). */
void aj_crypto_pair(const json_t *obj, char *symbol);

/* "buy"/"sell" into *out. */
int aj_side(const aj_ctx *c, const json_t *obj, const char *key, order_side *out);

/* An order object with its legs at path ("order", "data.order"). */
int aj_order(const char *path, const json_t *obj, alpaca_order *out, char *err, size_t errlen);

#endif
