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
