#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/alpaca_json_internal.h"
#include "market/timestamp.h"
#include "util/json.h"

const json_t *aj_get(const json_t *obj, const char *key)
{
    const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_null(v) ? NULL : v;
}

int aj_fail(const aj_ctx *c, const char *key, int code, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (key)
        return err_set(c->err, c->errlen, code, "alpaca: %s.%s: %s", c->path, key, msg);
    return err_set(c->err, c->errlen, code, "alpaca: %s: %s", c->path, msg);
}

int aj_need_object(const aj_ctx *c, const json_t *obj)
{
    if (json_is_object(obj))
        return 0;
    return aj_fail(c, NULL, APEX_EINVAL, "expected an object, got %s",
                   obj ? json_type_text(obj) : "nothing");
}

/* The member or NULL, with the error for a required field that is missing. */
static int member(const aj_ctx *c, const json_t *obj, const char *key, int flags,
                  const json_t **out)
{
    *out = aj_get(obj, key);
    if (!*out && (flags & AJ_REQUIRED))
        return aj_fail(c, key, APEX_EINVAL, "missing (Alpaca always sends it)");
    return 0;
}

int aj_string(const aj_ctx *c, const json_t *obj, const char *key, int flags, char *out,
              size_t outlen)
{
    const json_t *v;
    out[0] = '\0';
    int rc = member(c, obj, key, flags, &v);
    if (rc != 0 || !v)
        return rc;
    if (!json_is_string(v))
        return aj_fail(c, key, APEX_EINVAL, "expected a string, got %s", json_type_text(v));
    size_t n = json_string_length(v);
    if (n >= outlen)
        return aj_fail(c, key, APEX_ERANGE, "%zu bytes, longer than the %zu this host keeps", n,
                       outlen - 1);
    if (n == 0 && (flags & AJ_REQUIRED))
        return aj_fail(c, key, APEX_EINVAL, "empty");
    memcpy(out, json_string_value(v), n + 1);
    return 0;
}

static int money_of_integer(const aj_ctx *c, const char *key, json_int_t i, money_t *out)
{
    if (i > MONEY_MAX / MONEY_SCALE || i < MONEY_MIN / MONEY_SCALE)
        return aj_fail(c, key, APEX_ERANGE, "%lld is out of range", (long long)i);
    *out = (money_t)i * MONEY_SCALE;
    return 0;
}

int aj_money(const aj_ctx *c, const json_t *obj, const char *key, int flags, money_t *out)
{
    const json_t *v;
    *out = 0;
    int rc = member(c, obj, key, flags, &v);
    if (rc != 0 || !v)
        return rc;
    if (json_is_integer(v))
        return money_of_integer(c, key, json_integer_value(v), out);
    if (json_is_real(v)) {
        char text[64];
        if (!(flags & AJ_NUMBER))
            /* The Trading API sends decimals as strings; a real here would have to be
             * rounded through binary floating point, which a ledger must never do. */
            return aj_fail(c, key, APEX_EINVAL,
                           "a JSON number (%.17g) where Alpaca sends a decimal string; refusing "
                           "to round it through floating point",
                           json_real_value(v));
        if (!money_double_text(json_real_value(v), text, sizeof text))
            return aj_fail(c, key, APEX_ERANGE, "%g is out of range", json_real_value(v));
        rc = money_parse(text, strlen(text), out);
        if (rc != 0)
            return aj_fail(c, key, rc, "%s is out of range", text);
        return 0;
    }
    if (!json_is_string(v))
        return aj_fail(c, key, APEX_EINVAL, "expected a decimal string, got %s", json_type_text(v));
    rc = money_parse(json_string_value(v), json_string_length(v), out);
    if (rc != 0)
        return aj_fail(c, key, rc, "\"%.40s\" is not a decimal in range (e.g. \"12.34\")",
                       json_string_value(v));
    return 0;
}

int aj_time(const aj_ctx *c, const json_t *obj, const char *key, int flags, apex_time *out)
{
    const json_t *v;
    *out = 0;
    int rc = member(c, obj, key, flags, &v);
    if (rc != 0 || !v)
        return rc;
    if (!json_is_string(v))
        return aj_fail(c, key, APEX_EINVAL, "expected an RFC 3339 time string, got %s",
                       json_type_text(v));
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    /* timestamp_parse also takes bare epoch seconds and dates; Alpaca's times always have
     * a 'T', and a date alone would silently mean midnight. */
    if (n < 11 || s[10] != 'T' || timestamp_parse(s, n, out) != 0)
        return aj_fail(c, key, APEX_EINVAL,
                       "\"%.40s\" is not an RFC 3339 time (e.g. \"2021-03-16T18:38:01.942282Z\")",
                       s);
    return 0;
}

int aj_bool(const aj_ctx *c, const json_t *obj, const char *key, int flags, bool *out)
{
    const json_t *v;
    *out = false;
    int rc = member(c, obj, key, flags, &v);
    if (rc != 0 || !v)
        return rc;
    if (!json_is_boolean(v))
        return aj_fail(c, key, APEX_EINVAL, "expected true or false, got %s", json_type_text(v));
    *out = json_is_true(v);
    return 0;
}

int aj_int(const aj_ctx *c, const json_t *obj, const char *key, int flags, int64_t *out)
{
    const json_t *v;
    *out = 0;
    int rc = member(c, obj, key, flags, &v);
    if (rc != 0 || !v)
        return rc;
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 0;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        long long x = strtoll(s, &end, 10);
        if (*s && *end == '\0' && end - s < 19) {
            *out = x;
            return 0;
        }
    }
    return aj_fail(c, key, APEX_EINVAL, "expected an integer, got %s", json_type_text(v));
}

int aj_symbol(const aj_ctx *c, const json_t *obj, const char *key, int flags, char *out)
{
    int rc = aj_string(c, obj, key, flags, out, SYMBOL_MAX);
    if (rc != 0 || out[0] == '\0')
        return rc;
    if (!symbol_valid(out, strlen(out)))
        return aj_fail(c, key, APEX_EINVAL, "\"%s\" is not a symbol (" SYMBOL_CHARS_DOC ")", out);
    return 0;
}

void aj_crypto_pair(const json_t *obj, char *symbol)
{
    const json_t *cls = json_object_get(obj, "asset_class");
    if (!json_is_string(cls) || strcmp(json_string_value(cls), "crypto") != 0 ||
        strchr(symbol, '/'))
        return;
    /* The quote currencies Alpaca pairs against; the longer names first. */
    static const char *const quotes[] = {"USDT", "USDC", "USD", "BTC"};
    size_t n = strlen(symbol);
    for (size_t i = 0; i < sizeof quotes / sizeof *quotes; i++) {
        size_t q = strlen(quotes[i]);
        if (n > q && n + 1 < SYMBOL_MAX && strcmp(symbol + n - q, quotes[i]) == 0) {
            memmove(symbol + n - q + 1, symbol + n - q, q + 1);
            symbol[n - q] = '/';
            return;
        }
    }
}

void alpaca_path_symbol(const char *symbol, char *out, size_t outlen)
{
    size_t k = 0;
    for (const char *p = symbol; *p && k + 1 < outlen; p++)
        if (*p != '/')
            out[k++] = *p;
    out[k] = '\0';
}

int aj_side(const aj_ctx *c, const json_t *obj, const char *key, order_side *out)
{
    char s[8];
    int rc = aj_string(c, obj, key, AJ_REQUIRED, s, sizeof s);
    if (rc == APEX_ERANGE || (rc == 0 && strcmp(s, "buy") != 0 && strcmp(s, "sell") != 0))
        return aj_fail(c, key, APEX_EINVAL, "expected \"buy\" or \"sell\"");
    if (rc != 0)
        return rc;
    *out = strcmp(s, "buy") == 0 ? SIDE_BUY : SIDE_SELL;
    return 0;
}

json_t *alpaca_json_parse(const char *text, size_t len, const char *what, char *err, size_t errlen)
{
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        err_set(err, errlen, APEX_EINVAL, "alpaca: %s: line %d column %d: %s", what, je.line,
                je.column, je.text);
    return root;
}
