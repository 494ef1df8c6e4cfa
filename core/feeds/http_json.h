/* feeds/http_json: a live price for a symbol nobody trades (an index such as VIX), polled
 * from an HTTP(S) JSON endpoint on the host's libuv loop.
 *
 * Every `every_seconds` the source GETs `url` through net/http.h (its idempotent GET retry
 * handles transient failures within a poll: 429, 5xx, resets, timeouts), finds the number
 * at the dotted path `price` in the response and hands it on as a bar: open = high = low =
 * close = the value, volume 0, ts = the value at the path `time` when configured and
 * parseable, else the wall clock when the response arrived.
 *
 * Values are exact: a decimal string ("18.4375") goes through money_parse; a JSON number
 * (which jansson keeps only as a double) is re-printed with 15 significant digits
 * (money_double_text) and then parsed, as broker/alpaca_json.h does for market data. A
 * value that is not a positive price is an error, never a bar.
 *
 * Paths: keys separated by '.', a segment of digits indexes an array ("data.0.last",
 * "quote.price"; on an object a digit segment is a key like any other). The time field
 * may be an RFC 3339 / ISO-8601 string or Unix seconds (a JSON number or a string of
 * digits).
 *
 * Failures: a poll that fails (no response after the retries, a status other than 2xx, a
 * body that is not JSON, the field missing, not a number, not positive) is reported through
 * on_error and tried again at the next period. A run of failures is reported once per
 * change of kind (the first failure, then again only when the kind of failure changes),
 * never once per poll; the first bar after a run of failures logs the recovery. Messages
 * name the symbol, the URL's origin (scheme and host: a path or query may carry a token)
 * and the field's path, e.g.
 *   "VIX from https://api.example.com: field 'data.last' is missing; check the source's
 *    `price` path"
 *
 * Secrets: `header_env` names an environment variable holding one header line
 * ("Authorization: Bearer x"); its value is marked secret in the HTTP client, so it is
 * redacted from every line the client writes, and every message and log line of this
 * module passes through redact_copy with it too. The URL is sent as url_secret: the
 * client's own messages show its origin only. */
#ifndef APEX_FEEDS_HTTP_JSON_H
#define APEX_FEEDS_HTTP_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "market/bar.h"

struct uv_loop_s;

/* Longest URL and path accepted (bytes, without the terminator). */
#define HTTP_JSON_URL_MAX  2048
#define HTTP_JSON_PATH_MAX 255
/* The poll period's range, in seconds. */
#define HTTP_JSON_EVERY_MIN 1
#define HTTP_JSON_EVERY_MAX 86400
/* The default and largest per-attempt timeout, in seconds. */
#define HTTP_JSON_TIMEOUT_DEFAULT 10
#define HTTP_JSON_TIMEOUT_MAX     300

/* One source, as pipeline.lua's `data.http = { { symbol = "VIX", url = ..., ... } }` gives
 * it. Strings are the caller's; http_json_open copies what it keeps. */
typedef struct {
    const char *symbol;     /* "VIX": a symbol as in the data files (symbol_valid) */
    const char *url;        /* https://..., or plain http to 127.0.0.1 / localhost only */
    const char *price;      /* path to the value: "data.0.last", "quote.price" */
    const char *time;       /* optional path to the time; NULL or "" = time of receipt */
    int every_seconds;      /* poll period, HTTP_JSON_EVERY_MIN .. HTTP_JSON_EVERY_MAX */
    const char *header_env; /* optional: the NAME of an env var holding "Header: value" */
    int timeout_seconds;    /* per attempt; 0 = HTTP_JSON_TIMEOUT_DEFAULT */
} http_json_source_cfg;

/* Where the source's results go. Both run from the loop, never inside http_json_open or
 * http_json_close. `symbol` and `b` and `message` are valid only during the call. The
 * bar's symbol_id is -1: the receiver interns the symbol. */
typedef struct {
    void (*on_bar)(void *ud, const char *symbol, const bar *b);
    void (*on_error)(void *ud, const char *message); /* optional */
    void *ud;
} http_json_callbacks;

typedef struct http_json_source http_json_source;

/* What a source has done so far (for status lines and tests). */
typedef struct {
    int64_t polls;          /* requests sent (one per period; a poll still in flight at
                               the next period makes that period skip) */
    int64_t skipped;        /* periods skipped because the previous poll was in flight */
    int64_t bars;           /* bars delivered */
    int64_t failures;       /* polls that failed */
    int64_t failing_streak; /* consecutive failed polls until now (0 after a bar) */
    int64_t reported;       /* failures reported through on_error */
} http_json_stats;

/* Checks a configuration without sending anything, for `apex-host check` and for
 * http_json_open: symbol, url (the net/http.h rule: https, or http to loopback only, no
 * user info), price and time (path syntax), every_seconds, timeout_seconds, and
 * header_env (a variable name that is set and holds a "Name: value" line; the message
 * names the variable, never its value). Returns 0, or APEX_EINVAL with a message that
 * starts with the field ("price: ..."): the caller puts the source's place in front
 * ("data.http[2]."). */
int http_json_check(const http_json_source_cfg *cfg, char *err, size_t errlen);

/* Checks cfg (as http_json_check), reads the header from the environment, and starts
 * polling on `loop`: the first poll goes out on the loop's next iteration, then one every
 * every_seconds. The source has its own HTTP client (connections to the endpoint are kept
 * and reused between polls). Returns NULL with err set on a bad configuration or when the
 * HTTP client cannot start. */
http_json_source *http_json_open(struct uv_loop_s *loop, const http_json_source_cfg *cfg,
                                 const http_json_callbacks *cb, char *err, size_t errlen);

/* The source's counters. */
void http_json_get_stats(const http_json_source *src, http_json_stats *out);

/* Stops polling and frees the source; a poll in flight is dropped and its callbacks never
 * run. Safe from inside on_bar or on_error. The uv handles close asynchronously: run the
 * loop once more before uv_loop_close. NULL is a no-op. */
void http_json_close(http_json_source *src);

#endif
