/* http_json: see http_json.h. One uv_timer per source drives the polls; each poll is one
 * GET through the source's own http_client; the answer is judged in on_response. */
#include "feeds/http_json.h"

#include <ctype.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "market/timestamp.h"
#include "model/order.h"
#include "money/money.h"
#include "net/http.h"
#include "net/redact.h"
#include "util/err.h"
#include "util/json.h"
#include "util/log.h"

#define HEADER_NAME_MAX  128
#define HEADER_VALUE_MAX 4096
#define ORIGIN_MAX       300
#define MESSAGE_MAX      512

/* Why a poll failed; a change of kind is a change of state that is reported again. */
typedef enum {
    FAIL_NONE = 0,
    FAIL_TRANSPORT, /* no complete response */
    FAIL_STATUS,    /* a status other than 2xx */
    FAIL_NOT_JSON,
    FAIL_FIELD, /* the price field missing or of the wrong type */
    FAIL_VALUE, /* not a positive price */
} fail_kind;

struct http_json_source {
    uv_timer_t timer;
    http_client *http;
    http_json_callbacks cb;
    char symbol[SYMBOL_MAX];
    char *url;
    char origin[ORIGIN_MAX];
    char price[HTTP_JSON_PATH_MAX + 1];
    char time[HTTP_JSON_PATH_MAX + 1];
    char header_name[HEADER_NAME_MAX];
    char header_value[HEADER_VALUE_MAX]; /* secret */
    bool has_header;
    int every_ms;
    int timeout_ms;
    retry_policy retry;
    bool in_flight;
    bool dispatching; /* inside on_bar / on_error: a close is deferred until it returns */
    bool closed;
    fail_kind last_fail;
    http_json_stats stats;
};

/* ---- configuration ---------------------------------------------------------------------- */

static bool env_name_valid(const char *s)
{
    if (!s || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_')
            return false;
    return true;
}

/* A path: segments of printable characters other than '.', none empty. */
static int path_check(const char *path, const char *field, bool required, char *err, size_t errlen)
{
    if (!path || !path[0]) {
        if (!required)
            return 0;
        return err_set(err, errlen, APEX_EINVAL,
                       "%s: missing; write the path to the value in the response, e.g. "
                       "\"data.0.last\" or \"quote.price\"",
                       field);
    }
    size_t n = strlen(path);
    if (n > HTTP_JSON_PATH_MAX)
        return err_set(err, errlen, APEX_EINVAL, "%s: the path is longer than %d characters", field,
                       HTTP_JSON_PATH_MAX);
    for (const char *c = path; *c; c++)
        if ((unsigned char)*c <= ' ' || (unsigned char)*c >= 0x7f)
            return err_set(err, errlen, APEX_EINVAL,
                           "%s: \"%.80s\" has a space or a control character; write keys "
                           "separated by '.', e.g. \"data.0.last\"",
                           field, path);
    if (path[0] == '.' || path[n - 1] == '.' || strstr(path, ".."))
        return err_set(err, errlen, APEX_EINVAL,
                       "%s: \"%.80s\" has an empty segment; write keys separated by single "
                       "'.', and array indexes as numbers, e.g. \"data.0.last\"",
                       field, path);
    return 0;
}

/* Splits "Name: value" (from the environment) into its trimmed parts. The messages name
 * the variable and never the value. */
static int header_parse(const char *env, const char *line, char *name, size_t namelen, char *value,
                        size_t valuelen, char *err, size_t errlen)
{
    const char *colon = strchr(line, ':');
    size_t n = colon ? (size_t)(colon - line) : 0;
    while (n > 0 && line[n - 1] == ' ')
        n--;
    bool name_ok = n > 0 && n < namelen;
    for (size_t i = 0; name_ok && i < n; i++)
        name_ok = isgraph((unsigned char)line[i]) != 0;
    if (!name_ok)
        return err_set(err, errlen, APEX_EINVAL,
                       "header_env: the variable %s does not hold a header line; set it to "
                       "\"Name: value\", e.g. \"Authorization: Bearer <token>\"",
                       env);
    const char *v = colon + 1;
    while (*v == ' ' || *v == '\t')
        v++;
    size_t vn = strlen(v);
    while (vn > 0 && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
        vn--;
    if (vn == 0 || vn >= valuelen || memchr(v, '\r', vn) || memchr(v, '\n', vn))
        return err_set(err, errlen, APEX_EINVAL,
                       "header_env: the variable %s holds a header with an empty, over-long "
                       "or multi-line value; set it to one line \"Name: value\"",
                       env);
    memcpy(name, line, n);
    name[n] = '\0';
    memcpy(value, v, vn);
    value[vn] = '\0';
    return 0;
}

/* The header from the environment into name and value (when cfg has header_env). */
static int header_load(const http_json_source_cfg *cfg, char *name, size_t namelen, char *value,
                       size_t valuelen, char *err, size_t errlen)
{
    const char *env = cfg->header_env;
    if (!env || !env[0])
        return 0;
    if (!env_name_valid(env))
        return err_set(err, errlen, APEX_EINVAL,
                       "header_env: \"%.64s\" is not an environment variable name; write the "
                       "NAME of the variable that holds the header (letters, digits, '_')",
                       env);
    const char *line = getenv(env);
    if (!line || !line[0])
        return err_set(err, errlen, APEX_EINVAL,
                       "header_env: the environment variable %s is not set; export it with "
                       "the header line, e.g. %s='Authorization: Bearer <token>'",
                       env, env);
    return header_parse(env, line, name, namelen, value, valuelen, err, errlen);
}

int http_json_check(const http_json_source_cfg *cfg, char *err, size_t errlen)
{
    if (!cfg)
        return err_set(err, errlen, APEX_EINVAL, "no source");
    if (!cfg->symbol || !symbol_valid(cfg->symbol, strlen(cfg->symbol)))
        return err_set(err, errlen, APEX_EINVAL,
                       "symbol: \"%.40s\" is not a symbol (1 to %d characters of " SYMBOL_CHARS_DOC
                       ")",
                       cfg->symbol ? cfg->symbol : "", SYMBOL_MAX - 1);
    if (!cfg->url || !cfg->url[0])
        return err_set(err, errlen, APEX_EINVAL,
                       "url: missing; write the endpoint as \"https://host/path\"");
    if (strlen(cfg->url) > HTTP_JSON_URL_MAX)
        return err_set(err, errlen, APEX_EINVAL, "url: longer than %d characters",
                       HTTP_JSON_URL_MAX);
    int rc =
        http_url_check(cfg->url, "url", "the request and its header", "header_env", err, errlen);
    if (rc == 0)
        rc = path_check(cfg->price, "price", true, err, errlen);
    if (rc == 0)
        rc = path_check(cfg->time, "time", false, err, errlen);
    if (rc != 0)
        return rc;
    if (cfg->every_seconds < HTTP_JSON_EVERY_MIN || cfg->every_seconds > HTTP_JSON_EVERY_MAX)
        return err_set(err, errlen, APEX_EINVAL,
                       "every_seconds: %d is out of range; poll every %d to %d seconds",
                       cfg->every_seconds, HTTP_JSON_EVERY_MIN, HTTP_JSON_EVERY_MAX);
    if (cfg->timeout_seconds < 0 || cfg->timeout_seconds > HTTP_JSON_TIMEOUT_MAX)
        return err_set(err, errlen, APEX_EINVAL,
                       "timeout_seconds: %d is out of range; 0 (the default, %d s) to %d",
                       cfg->timeout_seconds, HTTP_JSON_TIMEOUT_DEFAULT, HTTP_JSON_TIMEOUT_MAX);
    char name[HEADER_NAME_MAX], value[HEADER_VALUE_MAX];
    rc = header_load(cfg, name, sizeof name, value, sizeof value, err, errlen);
    memset(value, 0, sizeof value);
    return rc;
}

/* ---- reading the response --------------------------------------------------------------- */

/* The value at path, or NULL (null counts as missing); *found is how much of the path
 * exists (its length in bytes), for the message. */
static const json_t *path_get(const json_t *root, const char *path, size_t *found)
{
    const json_t *v = root;
    const char *seg = path;
    *found = 0;
    for (;;) {
        size_t n = strcspn(seg, ".");
        char key[HTTP_JSON_PATH_MAX + 1];
        memcpy(key, seg, n);
        key[n] = '\0';
        const json_t *next = NULL;
        if (json_is_object(v)) {
            next = json_object_get(v, key);
        } else if (json_is_array(v) && n > 0 && strspn(key, "0123456789") == n && n < 10) {
            next = json_array_get(v, (size_t)strtoul(key, NULL, 10));
        }
        if (!next || json_is_null(next))
            return NULL;
        v = next;
        if (!seg[n]) {
            *found = strlen(path);
            return v;
        }
        *found = (size_t)(seg + n - path);
        seg += n + 1;
    }
}

/* The price at src->price into *out, or a message (without the "SYM from origin: "). */
static fail_kind read_price(const http_json_source *src, const json_t *root, money_t *out,
                            char *msg, size_t msglen)
{
    size_t found = 0;
    const json_t *v = path_get(root, src->price, &found);
    if (!v) {
        if (found > 0)
            snprintf(msg, msglen,
                     "field '%s' is missing (the response has '%.*s' but nothing below it); "
                     "check the source's `price` path",
                     src->price, (int)found, src->price);
        else
            snprintf(msg, msglen, "field '%s' is missing; check the source's `price` path",
                     src->price);
        return FAIL_FIELD;
    }
    char text[64];
    int rc;
    if (json_is_integer(v)) {
        snprintf(text, sizeof text, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        rc = money_parse(text, strlen(text), out);
    } else if (json_is_real(v)) {
        rc = money_double_text(json_real_value(v), text, sizeof text)
                 ? money_parse(text, strlen(text), out)
                 : APEX_ERANGE;
        if (rc != 0)
            snprintf(text, sizeof text, "%g", json_real_value(v));
    } else if (json_is_string(v)) {
        snprintf(text, sizeof text, "\"%.40s\"", json_string_value(v));
        rc = money_parse(json_string_value(v), json_string_length(v), out);
    } else {
        snprintf(msg, msglen,
                 "field '%s' is %s, not a number or a decimal string; check the source's "
                 "`price` path",
                 src->price, json_type_text(v));
        return FAIL_FIELD;
    }
    if (rc != 0) {
        snprintf(msg, msglen, "field '%s' is %s, not a decimal in range (e.g. 18.25)", src->price,
                 text);
        return FAIL_VALUE;
    }
    if (*out <= 0) {
        snprintf(msg, msglen, "field '%s' is %s, not a positive price", src->price, text);
        return FAIL_VALUE;
    }
    return FAIL_NONE;
}

/* The time at src->time, or 0 when it is absent or does not parse (the caller then uses
 * the time of receipt). */
static apex_time read_time(const http_json_source *src, const json_t *root)
{
    size_t found = 0;
    const json_t *v = src->time[0] ? path_get(root, src->time, &found) : NULL;
    apex_time t = 0;
    if (json_is_string(v)) {
        if (timestamp_parse(json_string_value(v), json_string_length(v), &t) != 0)
            t = 0;
    } else if (json_is_integer(v)) {
        json_int_t s = json_integer_value(v);
        t = s > 0 && s < INT64_MAX / APEX_SECOND ? (apex_time)s * APEX_SECOND : 0;
    } else if (json_is_real(v)) {
        double s = json_real_value(v);
        t = s > 0 && s < 1e11 ? (apex_time)(s * 1e6 + 0.5) : 0;
    }
    if (src->time[0] && t <= 0)
        log_debug("%s from %s: field '%s' is %s, not a time; using the time of receipt",
                  src->symbol, src->origin, src->time, v ? json_type_text(v) : "missing");
    return t > 0 ? t : 0;
}

static apex_time wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (apex_time)ts.tv_sec * APEX_SECOND + ts.tv_nsec / 1000;
}

/* ---- polling ----------------------------------------------------------------------------- */

static void source_free(http_json_source *src);

/* msg with the secret header value redacted, into out. */
static void redacted(const http_json_source *src, const char *msg, char *out, size_t outlen)
{
    const char *secrets[] = {src->has_header ? src->header_value : NULL};
    redact_copy(out, outlen, msg, secrets, 1);
}

/* A failed poll: counted, and reported when the kind of failure changed. */
static void poll_failed(http_json_source *src, fail_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void poll_failed(http_json_source *src, fail_kind kind, const char *fmt, ...)
{
    char detail[MESSAGE_MAX], line[MESSAGE_MAX + ORIGIN_MAX + SYMBOL_MAX + 16];
    char msg[sizeof line];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    snprintf(line, sizeof line, "%s from %s: %s", src->symbol, src->origin, detail);
    redacted(src, line, msg, sizeof msg);
    src->stats.failures++;
    src->stats.failing_streak++;
    if (kind == src->last_fail) {
        log_debug("%s (failed poll %lld in a row, already reported)", msg,
                  (long long)src->stats.failing_streak);
        return;
    }
    src->last_fail = kind;
    src->stats.reported++;
    log_warn("%s", msg);
    if (src->cb.on_error) {
        src->dispatching = true;
        src->cb.on_error(src->cb.ud, msg);
        src->dispatching = false;
    }
}

static void deliver(http_json_source *src, money_t price, apex_time ts)
{
    if (src->last_fail != FAIL_NONE)
        log_info("%s from %s: prices again after %lld failed poll(s)", src->symbol, src->origin,
                 (long long)src->stats.failing_streak);
    src->last_fail = FAIL_NONE;
    src->stats.failing_streak = 0;
    src->stats.bars++;
    bar b = {.ts = ts, .symbol_id = -1, .open = price, .high = price, .low = price, .close = price};
    char text[40];
    log_debug("%s from %s: %s", src->symbol, src->origin,
              money_format_trim(price, 2, text, sizeof text));
    src->dispatching = true;
    src->cb.on_bar(src->cb.ud, src->symbol, &b);
    src->dispatching = false;
}

static void judge(http_json_source *src, const http_result *r)
{
    if (r->outcome != HTTP_OUTCOME_RESPONSE) {
        poll_failed(src, FAIL_TRANSPORT,
                    "no response (%s) after %d attempt(s); trying again in "
                    "%d s",
                    http_failure_name(r->failure), r->attempts, src->every_ms / 1000);
        return;
    }
    if (r->status < 200 || r->status > 299) {
        poll_failed(src, FAIL_STATUS, "HTTP %ld after %d attempt(s); trying again in %d s",
                    r->status, r->attempts, src->every_ms / 1000);
        return;
    }
    apex_time received = wall_now();
    json_error_t je;
    json_t *root = json_loadb(r->body, r->body_len, 0, &je);
    if (!root) {
        poll_failed(src, FAIL_NOT_JSON, "the response is not JSON (line %d column %d: %.80s)",
                    je.line, je.column, je.text);
        return;
    }
    money_t price = 0;
    char msg[MESSAGE_MAX];
    fail_kind kind = read_price(src, root, &price, msg, sizeof msg);
    apex_time ts = kind == FAIL_NONE ? read_time(src, root) : 0;
    json_decref(root);
    if (kind != FAIL_NONE)
        poll_failed(src, kind, "%s", msg);
    else
        deliver(src, price, ts > 0 ? ts : received);
}

static void on_response(const http_result *r, void *ud)
{
    http_json_source *src = ud;
    src->in_flight = false;
    judge(src, r);
    if (src->closed)
        source_free(src); /* closed from a callback: now that it returned */
}

static void on_tick(uv_timer_t *t)
{
    http_json_source *src = t->data;
    if (src->in_flight) {
        src->stats.skipped++;
        log_debug("%s from %s: the previous poll is still running; skipping this one", src->symbol,
                  src->origin);
        return;
    }
    http_header h = {.name = src->header_name, .value = src->header_value, .secret = true};
    http_request_spec spec = {
        .method = HTTP_GET,
        .url = src->url,
        .headers = src->has_header ? &h : NULL,
        .header_count = src->has_header ? 1 : 0,
        .url_secret = true,
        .timeout_ms = src->timeout_ms,
        .retry = &src->retry,
    };
    apex_error err;
    src->stats.polls++;
    if (http_send(src->http, &spec, on_response, src, &err) != 0) {
        poll_failed(src, FAIL_TRANSPORT, "the request could not start: %s", err.msg);
        if (src->closed)
            source_free(src);
        return;
    }
    src->in_flight = true;
}

/* ---- life ------------------------------------------------------------------------------- */

static void on_timer_closed(uv_handle_t *h)
{
    free(h->data);
}

static void source_free(http_json_source *src)
{
    http_client_free(src->http);
    free(src->url);
    memset(src->header_value, 0, sizeof src->header_value);
    uv_close((uv_handle_t *)&src->timer, on_timer_closed);
}

http_json_source *http_json_open(struct uv_loop_s *loop, const http_json_source_cfg *cfg,
                                 const http_json_callbacks *cb, char *err, size_t errlen)
{
    if (!cb || !cb->on_bar) {
        err_set(err, errlen, APEX_EINVAL, "http_json_open: on_bar is required");
        return NULL;
    }
    if (http_json_check(cfg, err, errlen) != 0)
        return NULL;
    http_json_source *src = calloc(1, sizeof *src);
    if (!src || !(src->url = strdup(cfg->url))) {
        free(src);
        err_set(err, errlen, APEX_ENOMEM, "%s: out of memory", cfg->symbol);
        return NULL;
    }
    src->cb = *cb;
    snprintf(src->symbol, sizeof src->symbol, "%s", cfg->symbol);
    snprintf(src->price, sizeof src->price, "%s", cfg->price);
    snprintf(src->time, sizeof src->time, "%s", cfg->time ? cfg->time : "");
    http_url_origin(cfg->url, src->origin, sizeof src->origin);
    src->every_ms = cfg->every_seconds * 1000;
    src->timeout_ms =
        (cfg->timeout_seconds > 0 ? cfg->timeout_seconds : HTTP_JSON_TIMEOUT_DEFAULT) * 1000;
    /* Retries within one poll stay well inside its period; a server asking to wait longer
     * than the period is answered by the next poll. */
    src->retry = retry_policy_default();
    src->retry.max_attempts = 3;
    src->retry.cap_ms = src->every_ms / 4 < src->retry.base_ms  ? src->retry.base_ms
                        : src->every_ms / 4 < src->retry.cap_ms ? src->every_ms / 4
                                                                : src->retry.cap_ms;
    src->retry.max_retry_after_ms = src->every_ms;
    if (header_load(cfg, src->header_name, sizeof src->header_name, src->header_value,
                    sizeof src->header_value, err, errlen) != 0) {
        free(src->url);
        free(src);
        return NULL;
    }
    src->has_header = src->header_name[0] != '\0';
    apex_error herr;
    http_client_options ho;
    http_client_options_default(&ho);
    ho.metrics_name = "http_json";
    src->http = http_client_new(loop, &ho, &herr);
    if (!src->http) {
        err_set(err, errlen, herr.code, "%s from %s: %s", src->symbol, src->origin, herr.msg);
        memset(src->header_value, 0, sizeof src->header_value);
        free(src->url);
        free(src);
        return NULL;
    }
    uv_timer_init(loop, &src->timer);
    src->timer.data = src;
    uv_timer_start(&src->timer, on_tick, 0, (uint64_t)src->every_ms);
    log_info("%s from %s: polling every %d s (price '%s'%s%s%s)", src->symbol, src->origin,
             cfg->every_seconds, src->price, src->time[0] ? ", time '" : "", src->time,
             src->time[0] ? "'" : "");
    return src;
}

void http_json_get_stats(const http_json_source *src, http_json_stats *out)
{
    *out = src->stats;
}

void http_json_close(http_json_source *src)
{
    if (!src || src->closed)
        return;
    src->closed = true;
    uv_timer_stop(&src->timer);
    if (!src->dispatching)
        source_free(src);
}
