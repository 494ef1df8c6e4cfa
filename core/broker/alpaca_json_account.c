/* Positions, the account, the market clock and calendar, and error bodies.
 * Fields: https://docs.alpaca.markets/reference/getallopenpositions,
 * https://docs.alpaca.markets/reference/getaccount-1,
 * https://docs.alpaca.markets/reference/getclock,
 * https://docs.alpaca.markets/reference/getcalendar, https://docs.alpaca.markets/docs/
 * (error responses: {"code": 40010001, "message": "..."}). */
#include <stdio.h>
#include <string.h>

#include "broker/alpaca_json_internal.h"
#include "market/timestamp.h"

int alpaca_decode_position(const json_t *obj, broker_position *out, char *err, size_t errlen)
{
    aj_ctx c = {"position", err, errlen};
    char side[16];
    memset(out, 0, sizeof *out);
    int rc = aj_need_object(&c, obj);
    rc = rc ? rc : aj_symbol(&c, obj, "symbol", AJ_REQUIRED, out->symbol);
    if (rc == 0)
        aj_crypto_pair(obj, out->symbol);
    rc = rc ? rc : aj_money(&c, obj, "qty", AJ_REQUIRED, &out->qty);
    if (rc == 0 && aj_string(&c, obj, "side", 0, side, sizeof side) != 0)
        return aj_fail(&c, "side", APEX_EINVAL, "expected \"long\" or \"short\"");
    rc = rc ? rc : aj_money(&c, obj, "avg_entry_price", AJ_REQUIRED, &out->avg_entry_price);
    rc = rc ? rc : aj_money(&c, obj, "current_price", 0, &out->market_price);
    rc = rc ? rc : aj_money(&c, obj, "unrealized_pl", 0, &out->unrealized_pnl);
    if (rc != 0)
        return rc;
    if (side[0] && strcmp(side, "long") != 0 && strcmp(side, "short") != 0)
        return aj_fail(&c, "side", APEX_EINVAL, "expected \"long\" or \"short\", got \"%s\"", side);
    /* Alpaca sends a short's qty negative already; accept a positive one too. */
    if (strcmp(side, "short") == 0 && out->qty > 0)
        out->qty = -out->qty;
    if (strcmp(side, "long") == 0 && out->qty < 0)
        return aj_fail(&c, "qty", APEX_EINVAL, "negative for a long position");
    return 0;
}

int alpaca_decode_asset(const json_t *obj, alpaca_asset *out, char *err, size_t errlen)
{
    aj_ctx c = {"asset", err, errlen};
    memset(out, 0, sizeof *out);
    int rc = aj_need_object(&c, obj);
    rc = rc ? rc : aj_symbol(&c, obj, "symbol", AJ_REQUIRED, out->symbol);
    if (rc == 0)
        aj_crypto_pair(obj, out->symbol);
    rc = rc ? rc : aj_string(&c, obj, "class", 0, out->asset_class, sizeof out->asset_class);
    rc = rc ? rc : aj_string(&c, obj, "status", 0, out->status, sizeof out->status);
    rc = rc ? rc : aj_bool(&c, obj, "tradable", AJ_REQUIRED, &out->tradable);
    rc = rc ? rc : aj_bool(&c, obj, "shortable", 0, &out->shortable);
    rc = rc ? rc : aj_bool(&c, obj, "fractionable", 0, &out->fractionable);
    return rc;
}

int alpaca_decode_account(const json_t *obj, alpaca_account *out, char *err, size_t errlen)
{
    aj_ctx c = {"account", err, errlen};
    broker_account *a = &out->account;
    int64_t day_trades = 0;
    bool account_blocked = false;
    memset(out, 0, sizeof *out);
    int rc = aj_need_object(&c, obj);
    rc = rc ? rc : aj_money(&c, obj, "cash", AJ_REQUIRED, &a->cash);
    rc = rc ? rc : aj_money(&c, obj, "equity", AJ_REQUIRED, &a->equity);
    rc = rc ? rc : aj_money(&c, obj, "buying_power", AJ_REQUIRED, &a->buying_power);
    rc = rc ? rc : aj_money(&c, obj, "last_equity", 0, &out->last_equity);
    rc = rc ? rc : aj_int(&c, obj, "daytrade_count", 0, &day_trades);
    rc = rc ? rc : aj_bool(&c, obj, "pattern_day_trader", 0, &out->pattern_day_trader);
    rc = rc ? rc : aj_bool(&c, obj, "trading_blocked", 0, &out->trading_blocked);
    rc = rc ? rc : aj_bool(&c, obj, "account_blocked", 0, &account_blocked);
    rc = rc ? rc : aj_string(&c, obj, "status", 0, out->status, sizeof out->status);
    if (rc != 0)
        return rc;
    if (day_trades < 0 || day_trades > 1000000)
        return aj_fail(&c, "daytrade_count", APEX_EINVAL, "%lld is not a count",
                       (long long)day_trades);
    a->day_trades = (int)day_trades;
    out->trading_blocked = out->trading_blocked || account_blocked;
    return 0;
}

int alpaca_decode_clock(const json_t *obj, alpaca_clock *out, char *err, size_t errlen)
{
    aj_ctx c = {"clock", err, errlen};
    memset(out, 0, sizeof *out);
    int rc = aj_need_object(&c, obj);
    rc = rc ? rc : aj_bool(&c, obj, "is_open", AJ_REQUIRED, &out->is_open);
    rc = rc ? rc : aj_time(&c, obj, "timestamp", AJ_REQUIRED, &out->timestamp);
    rc = rc ? rc : aj_time(&c, obj, "next_open", AJ_REQUIRED, &out->next_open);
    rc = rc ? rc : aj_time(&c, obj, "next_close", AJ_REQUIRED, &out->next_close);
    return rc;
}

/* ---- calendar --------------------------------------------------------------------- */

static int weekday(long days) /* 0 = Sunday; 1970-01-01 was a Thursday */
{
    return (int)(((days % 7) + 11) % 7);
}

/* The nth Sunday of a month (n >= 1), as days since the epoch. */
static long nth_sunday(int year, int month, int n)
{
    long first = timestamp_days_from_civil(year, month, 1);
    return first + (7 - weekday(first)) % 7 + 7 * (n - 1);
}

/* New York's UTC offset in minutes on a trading day. US rule since 2007: daylight time
 * from the second Sunday of March to the first Sunday of November. The switch happens
 * at 02:00, hours before any session, so the date alone decides. */
static int new_york_offset(int year, long days)
{
    bool dst = days >= nth_sunday(year, 3, 2) && days < nth_sunday(year, 11, 1);
    return dst ? -4 * 60 : -5 * 60;
}

/* "09:30" (or "0930", as session_open is written) into minutes after midnight. */
static int clock_minutes(const aj_ctx *c, const json_t *obj, const char *key, int *out)
{
    char s[8];
    int rc = aj_string(c, obj, key, AJ_REQUIRED, s, sizeof s);
    if (rc != 0)
        return rc == APEX_ERANGE ? aj_fail(c, key, APEX_EINVAL, "expected \"HH:MM\"") : rc;
    size_t n = strlen(s);
    bool colon = n == 5 && s[2] == ':';
    const char *mm = s + (colon ? 3 : 2);
    bool digits = (colon || n == 4) && s[0] >= '0' && s[0] <= '2' && s[1] >= '0' && s[1] <= '9' &&
                  mm[0] >= '0' && mm[0] <= '5' && mm[1] >= '0' && mm[1] <= '9';
    int h = digits ? (s[0] - '0') * 10 + (s[1] - '0') : 99;
    if (h > 23)
        return aj_fail(c, key, APEX_EINVAL, "\"%s\" is not a time of day (\"HH:MM\")", s);
    *out = h * 60 + (mm[0] - '0') * 10 + (mm[1] - '0');
    return 0;
}

static int calendar_date(const aj_ctx *c, const json_t *obj, alpaca_calendar_day *out, long *days)
{
    char s[16];
    apex_time t;
    int rc = aj_string(c, obj, "date", AJ_REQUIRED, s, sizeof s);
    if (rc == 0 && (strlen(s) != 10 || timestamp_parse(s, 10, &t) != 0))
        rc = APEX_ERANGE;
    if (rc == APEX_ERANGE)
        return aj_fail(c, "date", APEX_EINVAL, "expected \"YYYY-MM-DD\"");
    if (rc != 0)
        return rc;
    *days = (long)(t / APEX_DAY);
    out->year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    out->month = (s[5] - '0') * 10 + (s[6] - '0');
    out->day = (s[8] - '0') * 10 + (s[9] - '0');
    return 0;
}

int alpaca_decode_calendar_day(const json_t *obj, alpaca_calendar_day *out, char *err,
                               size_t errlen)
{
    aj_ctx c = {"calendar", err, errlen};
    long days = 0;
    memset(out, 0, sizeof *out);
    int rc = aj_need_object(&c, obj);
    rc = rc ? rc : calendar_date(&c, obj, out, &days);
    rc = rc ? rc : clock_minutes(&c, obj, "open", &out->open_minute);
    rc = rc ? rc : clock_minutes(&c, obj, "close", &out->close_minute);
    if (rc != 0)
        return rc;
    apex_time midnight = (apex_time)days * APEX_DAY;
    apex_time offset = (apex_time)new_york_offset(out->year, days) * APEX_MINUTE;
    /* local = UTC + offset, so UTC = local - offset */
    out->open = midnight + out->open_minute * APEX_MINUTE - offset;
    out->close = midnight + out->close_minute * APEX_MINUTE - offset;
    return 0;
}

/* ---- errors ----------------------------------------------------------------------- */

static int classify(int http, int code, const char *message)
{
    if (code == 40410000 || http == 404)
        return APEX_ENOTFOUND;
    if (code == 40010001 && message && strstr(message, "client_order_id must be unique"))
        return APEX_EDUP;
    if (http == 403)
        return APEX_EREJECTED;
    if (http == 429)
        return APEX_EBUSY;
    if (http >= 500)
        return APEX_EIO;
    return APEX_EINVAL; /* 400, 401, 422 and anything else the request itself got wrong */
}

static const char *hint(int code)
{
    switch (code) {
    case APEX_ENOTFOUND:
        return "";
    case APEX_EDUP:
        return " (the client order id was used before: look the order up instead of resending)";
    case APEX_EREJECTED:
        return " (refused by the broker)";
    case APEX_EBUSY:
        return " (rate limited: retry later)";
    case APEX_EIO:
        return " (Alpaca failed: retry later)";
    default:
        return "";
    }
}

int alpaca_decode_error(int http_status, const char *body, size_t len, int *alpaca_code,
                        apex_error *out)
{
    json_t *root = body ? json_loadb(body, len, 0, NULL) : NULL;
    const json_t *code = aj_get(root, "code");
    const json_t *msg = aj_get(root, "message");
    int acode = json_is_integer(code) ? (int)json_integer_value(code) : 0;
    const char *text = json_is_string(msg) ? json_string_value(msg) : NULL;
    int rc = classify(http_status, acode, text);
    if (alpaca_code)
        *alpaca_code = acode;
    if (text && http_status == 401)
        apex_error_set(out, rc, "alpaca: HTTP 401: %s (check APCA_API_KEY_ID and the secret)",
                       text);
    else if (text)
        apex_error_set(out, rc, "alpaca: HTTP %d (code %d): %s%s", http_status, acode, text,
                       hint(rc));
    else
        apex_error_set(out, rc, "alpaca: HTTP %d: %.*s%s", http_status,
                       body ? (int)(len < 160 ? len : 160) : 0, body ? body : "", hint(rc));
    json_decref(root);
    return rc;
}
