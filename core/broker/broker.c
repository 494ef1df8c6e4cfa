#include "broker/broker.h"

#include <string.h>

/* The wrappers count every request so rate limiting and the bench can see real usage. */
#define CALL(op, ...)                                                                              \
    do {                                                                                           \
        b->api_calls++;                                                                            \
        return b->ops->op(__VA_ARGS__);                                                            \
    } while (0)

int broker_submit_order(broker *b, const order_request *req, broker_cb cb, void *ud)
{
    CALL(submit_order, b, req, cb, ud);
}
int broker_cancel_order(broker *b, const char *coid, broker_cb cb, void *ud)
{
    CALL(cancel_order, b, coid, cb, ud);
}
int broker_get_order(broker *b, const char *coid, broker_cb cb, void *ud)
{
    CALL(get_order, b, coid, cb, ud);
}
int broker_list_open_orders(broker *b, const char *symbol, broker_cb cb, void *ud)
{
    CALL(list_open_orders, b, symbol, cb, ud);
}
int broker_get_position(broker *b, const char *symbol, broker_cb cb, void *ud)
{
    CALL(get_position, b, symbol, cb, ud);
}
int broker_list_positions(broker *b, broker_cb cb, void *ud)
{
    CALL(list_positions, b, cb, ud);
}
int broker_get_account(broker *b, broker_cb cb, void *ud)
{
    CALL(get_account, b, cb, ud);
}
int broker_get_quotes(broker *b, const char *const *symbols, int n, broker_cb cb, void *ud)
{
    CALL(get_quotes, b, symbols, n, cb, ud);
}
int broker_close_position(broker *b, const char *symbol, const char *coid, broker_cb cb, void *ud)
{
    CALL(close_position, b, symbol, coid, cb, ud);
}

int broker_list_fills(broker *b, const char *coid, broker_cb cb, void *ud)
{
    CALL(list_fills, b, coid, cb, ud);
}

void broker_on_bar(broker *b, const bar *data, const char *symbol)
{
    if (b->ops->on_bar)
        b->ops->on_bar(b, data, symbol);
}

void broker_free(broker *b)
{
    if (b)
        b->ops->free(b);
}

static const char *const side_names[] = {"buy", "sell"};
static const char *const type_names[] = {"market", "limit", "stop", "stop_limit"};
static const char *const status_names[] = {"new",    "accepted",  "held",     "partially_filled",
                                           "filled", "cancelled", "rejected", "expired",
                                           "unsent"};
static const char *const role_names[] = {"entry", "stop_loss", "take_profit", "exit"};

#define COUNT(a)     ((int)(sizeof(a) / sizeof((a)[0])))
#define NAME(arr, v) ((int)(v) >= 0 && (int)(v) < COUNT(arr) ? arr[v] : "unknown")

const char *order_side_name(order_side s)
{
    return NAME(side_names, s);
}
const char *order_type_name(order_type t)
{
    return NAME(type_names, t);
}
const char *order_status_name(order_status s)
{
    return NAME(status_names, s);
}
const char *order_role_name(order_role r)
{
    return NAME(role_names, r);
}

static int parse_name(const char *const *names, int n, const char *name)
{
    for (int i = 0; name && i < n; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    return -1;
}

int order_status_parse(const char *name)
{
    return parse_name(status_names, COUNT(status_names), name);
}
int order_role_parse(const char *name)
{
    return parse_name(role_names, COUNT(role_names), name);
}
int order_type_parse(const char *name)
{
    return parse_name(type_names, COUNT(type_names), name);
}

bool order_status_is_final(order_status s)
{
    return s == ORDER_STATUS_FILLED || s == ORDER_STATUS_CANCELLED || s == ORDER_STATUS_REJECTED ||
           s == ORDER_STATUS_EXPIRED || s == ORDER_STATUS_UNSENT;
}
