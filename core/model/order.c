/* model/order: names of the order enums and bracket-leg ids. */
#include "model/order.h"

#include <stdio.h>
#include <string.h>

#include "model/model_internal.h"
#include "util/err.h"

static const char *const side_names[] = {"buy", "sell"};
static const char *const type_names[] = {"market", "limit", "stop", "stop_limit"};
static const char *const status_names[] = {"new",    "accepted",  "held",     "partially_filled",
                                           "filled", "cancelled", "rejected", "expired",
                                           "unsent"};
static const char *const role_names[] = {"entry", "stop_loss", "take_profit", "exit", "external"};

bool symbol_valid(const char *name, size_t len)
{
    if (!name || len == 0 || len > SYMBOL_MAX - 1)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)name[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              (ch && strchr("._/^=-", ch))))
            return false;
    }
    return true;
}

const char *order_side_name(order_side s)
{
    return model_name(side_names, MODEL_COUNT(side_names), (int)s, "unknown");
}
const char *order_type_name(order_type t)
{
    return model_name(type_names, MODEL_COUNT(type_names), (int)t, "unknown");
}
const char *order_status_name(order_status s)
{
    return model_name(status_names, MODEL_COUNT(status_names), (int)s, "unknown");
}
const char *order_role_name(order_role r)
{
    return model_name(role_names, MODEL_COUNT(role_names), (int)r, "unknown");
}

int order_status_parse(const char *name)
{
    return model_parse(status_names, MODEL_COUNT(status_names), name);
}
int order_role_parse(const char *name)
{
    return model_parse(role_names, MODEL_COUNT(role_names), name);
}
int order_type_parse(const char *name)
{
    return model_parse(type_names, MODEL_COUNT(type_names), name);
}

bool order_status_is_final(order_status s)
{
    return s == ORDER_STATUS_FILLED || s == ORDER_STATUS_CANCELLED || s == ORDER_STATUS_REJECTED ||
           s == ORDER_STATUS_EXPIRED || s == ORDER_STATUS_UNSENT;
}

static const char *leg_suffix(order_role leg)
{
    switch (leg) {
    case ORDER_ROLE_TAKE_PROFIT:
        return "-tp";
    case ORDER_ROLE_STOP_LOSS:
        return "-sl";
    default:
        return NULL;
    }
}

int order_leg_id(const char *parent, order_role leg, char *out, size_t outlen)
{
    const char *suffix = leg_suffix(leg);
    if (!suffix)
        return APEX_EINVAL;
    /* Two copies, not snprintf: the paper broker derives a leg's sibling on every bar. */
    size_t a = strlen(parent), b = strlen(suffix);
    if (a + b >= outlen) {
        if (outlen)
            out[0] = '\0';
        return APEX_ERANGE;
    }
    memcpy(out, parent, a);
    memcpy(out + a, suffix, b + 1);
    return 0;
}

order_role order_leg_parse(const char *id, char *parent, size_t parentlen)
{
    size_t n = strlen(id);
    static const order_role legs[] = {ORDER_ROLE_TAKE_PROFIT, ORDER_ROLE_STOP_LOSS};
    for (int i = 0; i < 2; i++) {
        const char *suffix = leg_suffix(legs[i]);
        size_t sn = strlen(suffix);
        if (n > sn && strcmp(id + n - sn, suffix) == 0) {
            if (parent && parentlen)
                snprintf(parent, parentlen, "%.*s", (int)(n - sn), id);
            return legs[i];
        }
    }
    return ORDER_ROLE_ENTRY;
}
