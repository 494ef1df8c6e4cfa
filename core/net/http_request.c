/* http_request: one request's life inside libcurl: building the easy handle from a spec,
 * the body and header callbacks that enforce the caps, and the judgement of each attempt
 * (which outcome, which failure, retry or report). The loop side is in http.c. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "net/http_internal.h"
#include "net/redact.h"

#ifndef APEX_VERSION
#define APEX_VERSION "dev"
#endif

const char *http_method_name(http_method m)
{
    switch (m) {
    case HTTP_GET:
        return "GET";
    case HTTP_HEAD:
        return "HEAD";
    case HTTP_POST:
        return "POST";
    case HTTP_PUT:
        return "PUT";
    case HTTP_PATCH:
        return "PATCH";
    case HTTP_DELETE:
        return "DELETE";
    }
    return "?";
}

const char *http_failure_name(http_failure f)
{
    static const char *names[] = {"none", "timeout", "dns",       "connect",
                                  "tls",  "reset",   "too large", "transport error"};
    return (unsigned)f < sizeof names / sizeof names[0] ? names[f] : "?";
}

const char *http_outcome_name(http_outcome o)
{
    switch (o) {
    case HTTP_OUTCOME_RESPONSE:
        return "response";
    case HTTP_OUTCOME_NOT_SENT:
        return "not sent";
    case HTTP_OUTCOME_UNKNOWN:
        return "unknown";
    }
    return "?";
}

/* ---- redacted output ---------------------------------------------------------------- */

static void vformat_redacted(const http_request *r, char *out, size_t outlen, const char *fmt,
                             va_list ap)
{
    /* Formatted in full first, then redacted: a secret must not survive because the
     * format split it across arguments. */
    char raw[2048];
    vsnprintf(raw, sizeof raw, fmt, ap);
    redact_copy(out, outlen, raw, (const char *const *)r->secrets, r->nsecrets);
}

void http_request_log(const http_request *r, log_level level, const char *fmt, ...)
{
    if (level < log_get_level())
        return;
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vformat_redacted(r, line, sizeof line, fmt, ap);
    va_end(ap);
    log_msg(level, "%s", line);
}

void http_request_error(const http_request *r, apex_error *e, int code, const char *fmt, ...)
{
    char msg[sizeof e->msg];
    va_list ap;
    va_start(ap, fmt);
    vformat_redacted(r, msg, sizeof msg, fmt, ap);
    va_end(ap);
    apex_error_set(e, code, "%s", msg);
}

void http_request_preview(const http_request *r, const void *data, size_t len, char *out,
                          size_t outlen)
{
    /* Cut after redaction, not before: a secret straddling the cut would otherwise lose
     * the part past it to the cut and keep the rest in the log. So take the preview plus
     * the longest secret, redact, then cut. */
    size_t longest = 0;
    for (int i = 0; i < r->nsecrets; i++) {
        size_t n = r->secrets[i] ? strlen(r->secrets[i]) : 0;
        longest = n > longest ? n : longest;
    }
    size_t take = len < HTTP_PREVIEW_BYTES + longest ? len : HTTP_PREVIEW_BYTES + longest;
    char *raw = malloc(take + 1);
    if (!raw) {
        snprintf(out, outlen, "(%zu bytes)", len);
        return;
    }
    const unsigned char *d = data;
    for (size_t i = 0; i < take; i++) /* one log line: no control characters */
        raw[i] = (char)(d[i] < 0x20 || d[i] == 0x7f ? ' ' : d[i]);
    raw[take] = '\0';
    redact_copy(out, outlen, raw, (const char *const *)r->secrets, r->nsecrets);
    free(raw);
    if (strlen(out) > HTTP_PREVIEW_BYTES && outlen > HTTP_PREVIEW_BYTES + 4)
        memcpy(out + HTTP_PREVIEW_BYTES, "...", 4);
}

/* ---- libcurl callbacks --------------------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
    http_request *r = ud;
    size_t len = size * n;
    size_t cap = r->client->opts.max_response_bytes;
    if (len > cap - r->resp_len) {
        /* Refusing the data makes libcurl abort the transfer (CURLE_WRITE_ERROR): the
         * body is never buffered past the cap. */
        r->body_too_large = true;
        return 0;
    }
    if (r->resp_len + len + 1 > r->resp_cap) {
        size_t want = r->resp_cap ? r->resp_cap : 4096;
        while (want < r->resp_len + len + 1)
            want *= 2;
        if (want > cap + 1)
            want = cap + 1;
        char *p = realloc(r->resp_body, want);
        if (!p)
            return 0;
        r->resp_body = p;
        r->resp_cap = want;
    }
    memcpy(r->resp_body + r->resp_len, data, len);
    r->resp_len += len;
    r->resp_body[r->resp_len] = '\0';
    return len;
}

static bool append_header(http_request *r, const char *name, size_t nlen, const char *value,
                          size_t vlen)
{
    size_t need = nlen + vlen + 2;
    if (need > HTTP_MAX_HEADER_BYTES - r->hdr_len)
        return false;
    if (r->hdr_len + need > r->hdr_cap) {
        size_t want = r->hdr_cap ? r->hdr_cap : 1024;
        while (want < r->hdr_len + need)
            want *= 2;
        char *p = realloc(r->resp_hdrs, want);
        if (!p)
            return false;
        r->resp_hdrs = p;
        r->hdr_cap = want;
    }
    memcpy(r->resp_hdrs + r->hdr_len, name, nlen);
    r->resp_hdrs[r->hdr_len + nlen] = '\0';
    memcpy(r->resp_hdrs + r->hdr_len + nlen + 1, value, vlen);
    r->resp_hdrs[r->hdr_len + nlen + 1 + vlen] = '\0';
    r->hdr_len += need;
    return true;
}

static size_t on_header(char *line, size_t size, size_t n, void *ud)
{
    http_request *r = ud;
    size_t len = size * n;
    if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) {
        /* A status line starts a new response (after a 100 Continue, or libcurl's own
         * fresh-connection retry): only the last response's headers and body count. */
        r->hdr_len = 0;
        r->resp_len = 0;
        if (r->resp_body)
            r->resp_body[0] = '\0';
        return len;
    }
    const char *colon = memchr(line, ':', len);
    if (!colon)
        return len; /* the blank line that ends the headers, or a folded line */
    size_t nlen = (size_t)(colon - line);
    const char *v = colon + 1, *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && isspace((unsigned char)end[-1]))
        end--;
    if (!append_header(r, line, nlen, v, (size_t)(end - v))) {
        r->header_too_large = true;
        return 0;
    }
    return len;
}

static size_t on_read(char *buf, size_t size, size_t n, void *ud)
{
    http_request *r = ud;
    size_t room = size * n, left = r->body_len - r->body_off;
    size_t k = left < room ? left : room;
    memcpy(buf, r->body + r->body_off, k);
    r->body_off += k;
    return k;
}

/* Installed for idempotent requests only. Without it libcurl cannot rewind the body, so
 * it cannot silently resend a non-idempotent request on a fresh connection after a
 * pooled one died mid-send; it fails with CURLE_SEND_FAIL_REWIND instead, which is
 * reported as HTTP_OUTCOME_UNKNOWN. */
static int on_seek(void *ud, curl_off_t offset, int origin)
{
    http_request *r = ud;
    if (origin != SEEK_SET || offset < 0 || (size_t)offset > r->body_len)
        return CURL_SEEKFUNC_CANTSEEK;
    r->body_off = (size_t)offset;
    return CURL_SEEKFUNC_OK;
}

/* libcurl calls this right before it sends the request on a new or reused connection:
 * from here on the server may see the request, so a failure is no longer "not sent". */
static int on_prereq(void *ud, char *remote_ip, char *local_ip, int remote_port, int local_port)
{
    http_request *r = ud;
    r->prereq_called = true;
    return CURL_PREREQFUNC_OK;
}

/* ---- building ------------------------------------------------------------------------- */

static bool header_text_ok(const char *s, bool is_name)
{
    if (!s || (is_name && !*s))
        return false;
    for (; *s; s++) {
        if (*s == '\r' || *s == '\n' || (is_name && (*s == ':' || *s == ' ')))
            return false;
    }
    return true;
}

void http_url_origin(const char *url, char *out, size_t outlen)
{
    const char *sep = strstr(url, "://");
    if (!sep) {
        snprintf(out, outlen, "(invalid URL)");
        return;
    }
    const char *host = sep + 3;
    size_t n = strcspn(host, "/?#");
    const char *at = memchr(host, '@', n); /* user:password@ is a secret too */
    if (at) {
        n -= (size_t)(at + 1 - host);
        host = at + 1;
    }
    snprintf(out, outlen, "%.*s://%.*s", (int)(sep - url), url, (int)n, host);
}

/* The origin and "/...", malloc'd: the URL as messages show it when it is secret. */
static char *url_origin(const char *url)
{
    size_t cap = strlen(url) + 8;
    char *out = malloc(cap);
    if (out) {
        http_url_origin(url, out, cap);
        strcat(out, "/...");
    }
    return out;
}

static bool url_ok(const char *url)
{
    return url && (strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0);
}

static bool default_idempotent(http_method m)
{
    return m == HTTP_GET || m == HTTP_HEAD || m == HTTP_DELETE;
}

static int add_header(http_request *r, const char *text)
{
    struct curl_slist *l = curl_slist_append(r->headers, text);
    if (!l)
        return APEX_ENOMEM;
    r->headers = l;
    return 0;
}

static int copy_headers(http_request *r, const http_request_spec *spec)
{
    int nsecret = 0;
    for (int i = 0; i < spec->header_count; i++)
        nsecret += spec->headers[i].secret;
    if (nsecret > 0) {
        r->secrets = calloc((size_t)nsecret, sizeof *r->secrets);
        if (!r->secrets)
            return APEX_ENOMEM;
    }
    for (int i = 0; i < spec->header_count; i++) {
        const http_header *h = &spec->headers[i];
        size_t n = strlen(h->name) + strlen(h->value) + 3;
        char *line = malloc(n);
        if (!line)
            return APEX_ENOMEM;
        /* "Name;" is how libcurl sends a header with an empty value ("Name:" removes it). */
        if (*h->value)
            snprintf(line, n, "%s: %s", h->name, h->value);
        else
            snprintf(line, n, "%s;", h->name);
        int rc = add_header(r, line);
        free(line);
        if (rc)
            return rc;
        if (h->secret && *h->value && !(r->secrets[r->nsecrets++] = strdup(h->value)))
            return APEX_ENOMEM;
    }
    /* No "Expect: 100-continue" round trip (a second of delay on servers that ignore it). */
    return add_header(r, "Expect:");
}

#define SETOPT(easy, opt, val)                                                                     \
    do {                                                                                           \
        if (curl_easy_setopt(easy, opt, val) != CURLE_OK)                                          \
            return APEX_EINVAL;                                                                    \
    } while (0)

static int configure_easy(http_request *r, const http_request_spec *spec)
{
    const http_client_options *o = &r->client->opts;
    CURL *e = r->easy;
    SETOPT(e, CURLOPT_URL, r->url);
    SETOPT(e, CURLOPT_PRIVATE, r);
    SETOPT(e, CURLOPT_HTTPHEADER, r->headers);
    SETOPT(e, CURLOPT_WRITEFUNCTION, on_body);
    SETOPT(e, CURLOPT_WRITEDATA, r);
    SETOPT(e, CURLOPT_HEADERFUNCTION, on_header);
    SETOPT(e, CURLOPT_HEADERDATA, r);
    SETOPT(e, CURLOPT_PREREQFUNCTION, on_prereq);
    SETOPT(e, CURLOPT_PREREQDATA, r);
    SETOPT(e, CURLOPT_ERRORBUFFER, r->errbuf);
    SETOPT(e, CURLOPT_NOSIGNAL, 1L);
    SETOPT(e, CURLOPT_PROTOCOLS_STR, "http,https");
    SETOPT(e, CURLOPT_FOLLOWLOCATION, 0L);
    SETOPT(e, CURLOPT_TCP_KEEPALIVE, 1L);
    SETOPT(e, CURLOPT_ACCEPT_ENCODING, ""); /* the cap applies to the decoded body */
    SETOPT(e, CURLOPT_USERAGENT, r->client->user_agent);
    SETOPT(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)o->max_response_bytes);
    long connect_ms = spec->connect_timeout_ms ? spec->connect_timeout_ms : o->connect_timeout_ms;
    long total_ms = spec->timeout_ms ? spec->timeout_ms : o->timeout_ms;
    SETOPT(e, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    SETOPT(e, CURLOPT_TIMEOUT_MS, total_ms);

    bool sends_body = r->body_len > 0 || r->method == HTTP_POST || r->method == HTTP_PUT ||
                      r->method == HTTP_PATCH;
    if (r->method == HTTP_GET) {
        SETOPT(e, CURLOPT_HTTPGET, 1L);
    } else if (r->method == HTTP_HEAD) {
        SETOPT(e, CURLOPT_NOBODY, 1L);
    } else if (sends_body) {
        /* The body goes through a read callback, never CURLOPT_POSTFIELDS: libcurl
         * rewinds POSTFIELDS by itself, and on_seek is what decides whether it may. */
        SETOPT(e, CURLOPT_POST, 1L);
        SETOPT(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
        SETOPT(e, CURLOPT_READFUNCTION, on_read);
        SETOPT(e, CURLOPT_READDATA, r);
        if (r->idempotent) {
            SETOPT(e, CURLOPT_SEEKFUNCTION, on_seek);
            SETOPT(e, CURLOPT_SEEKDATA, r);
        }
    }
    if (!r->idempotent && r->body_len == 0) {
        /* libcurl resends a request by itself when a pooled connection dies before any
         * response byte. A body makes that resend need a rewind, which on_seek's absence
         * refuses (and a request whose body never left was incomplete, so the server
         * cannot have acted on it); without a body nothing stops it. Only a connection of
         * its own does: libcurl never retries on a connection it just opened. */
        SETOPT(e, CURLOPT_FRESH_CONNECT, 1L);
    }
    if (r->method != HTTP_GET && r->method != HTTP_HEAD && r->method != HTTP_POST)
        SETOPT(e, CURLOPT_CUSTOMREQUEST, http_method_name(r->method));
    return 0;
}

int http_request_build(http_client *c, const http_request_spec *spec, http_request **out,
                       apex_error *err)
{
    *out = NULL;
    if (!url_ok(spec->url))
        return apex_error_set(err, APEX_EINVAL,
                              "http: request URL must start with http:// or https://");
    if (spec->method < HTTP_GET || spec->method > HTTP_DELETE)
        return apex_error_set(err, APEX_EINVAL, "http: unknown method %d", (int)spec->method);
    if ((spec->method == HTTP_GET || spec->method == HTTP_HEAD) && spec->body_len > 0)
        return apex_error_set(err, APEX_EINVAL, "http: a %s request cannot carry a body",
                              http_method_name(spec->method));
    if (spec->body_len > 0 && !spec->body)
        return apex_error_set(err, APEX_EINVAL, "http: body_len %zu with a NULL body",
                              spec->body_len);
    if (spec->body_len > c->opts.max_request_bytes)
        return apex_error_set(err, APEX_ERANGE,
                              "http: request body of %zu bytes is over the cap of %zu "
                              "(http_client_options.max_request_bytes)",
                              spec->body_len, c->opts.max_request_bytes);
    if (spec->header_count < 0 || (spec->header_count > 0 && !spec->headers))
        return apex_error_set(err, APEX_EINVAL, "http: bad header list");
    for (int i = 0; i < spec->header_count; i++) {
        const http_header *h = &spec->headers[i];
        /* The value is not quoted here: it may be a secret. */
        if (!header_text_ok(h->name, true) || !header_text_ok(h->value, false))
            return apex_error_set(err, APEX_EINVAL,
                                  "http: header %d (%.64s) has an empty name, or a colon, "
                                  "space or line break in the name, or a line break in the "
                                  "value",
                                  i, h->name ? h->name : "(null)");
    }
    if (spec->connect_timeout_ms < 0 || spec->timeout_ms < 0)
        return apex_error_set(err, APEX_EINVAL, "http: negative timeout");
    if (spec->retry && retry_policy_check(spec->retry) != 0)
        return apex_error_set(err, APEX_EINVAL,
                              "http: bad retry policy (max_attempts >= 1, times >= 0, "
                              "base_ms <= cap_ms)");
    if (spec->limiter && (spec->priority < 0 || spec->priority >= RATELIMIT_PRIORITIES))
        return apex_error_set(err, APEX_EINVAL, "http: limiter priority %d out of 0..%d",
                              spec->priority, RATELIMIT_PRIORITIES - 1);

    http_request *r = calloc(1, sizeof *r);
    if (!r)
        return apex_error_set(err, APEX_ENOMEM, "http: out of memory");
    r->client = c;
    r->method = spec->method;
    r->body_secret = spec->body_secret;
    r->idempotent =
        spec->idempotence == HTTP_IDEMPOTENT ||
        (spec->idempotence == HTTP_IDEMPOTENT_BY_METHOD && default_idempotent(spec->method));
    r->retry = spec->retry ? *spec->retry : c->opts.retry;
    r->limiter = spec->limiter;
    r->first_granted = spec->first_attempt_granted;
    r->priority = spec->priority;
    heap_node_init(&r->node);
    r->url = strdup(spec->url);
    r->shown_url = spec->url_secret ? url_origin(spec->url) : strdup(spec->url);
    r->body_len = spec->body_len;
    if (spec->body_len > 0 && (r->body = malloc(spec->body_len)))
        memcpy(r->body, spec->body, spec->body_len);
    r->easy = curl_easy_init();
    int rc = (!r->url || !r->shown_url || (spec->body_len > 0 && !r->body) || !r->easy)
                 ? APEX_ENOMEM
                 : 0;
    if (rc == 0)
        rc = copy_headers(r, spec);
    if (rc == 0 && configure_easy(r, spec) != 0)
        rc = APEX_EINVAL;
    if (rc != 0) {
        http_request_free(r);
        return rc == APEX_ENOMEM ? apex_error_set(err, rc, "http: out of memory")
                                 : apex_error_set(err, rc,
                                                  "http: libcurl refused an option "
                                                  "(is libcurl older than 7.85?)");
    }
    *out = r;
    return 0;
}

void http_request_free(http_request *r)
{
    if (!r)
        return;
    if (r->easy)
        curl_easy_cleanup(r->easy);
    /* Our copies of secret values (and the header lines that hold them) are wiped, so
     * the keys do not linger in freed heap memory; explicit_bzero is never optimised
     * away as a store before free. (libcurl's own send buffers are out of reach.) */
    for (struct curl_slist *h = r->headers; h; h = h->next)
        explicit_bzero(h->data, strlen(h->data));
    curl_slist_free_all(r->headers);
    for (int i = 0; i < r->nsecrets; i++) {
        if (r->secrets[i])
            explicit_bzero(r->secrets[i], strlen(r->secrets[i]));
        free(r->secrets[i]);
    }
    free(r->secrets);
    free(r->url);
    free(r->shown_url);
    free(r->body);
    free(r->resp_body);
    free(r->resp_hdrs);
    free(r);
}

void http_request_reset_attempt(http_request *r)
{
    r->resp_len = 0;
    if (r->resp_body)
        r->resp_body[0] = '\0';
    r->hdr_len = 0;
    r->body_too_large = false;
    r->header_too_large = false;
    r->prereq_called = false;
    r->body_off = 0;
    r->errbuf[0] = '\0';
}

/* ---- results ------------------------------------------------------------------------- */

static const char *find_header(const http_request *r, const char *name)
{
    for (size_t i = 0; i < r->hdr_len;) {
        const char *n = r->resp_hdrs + i;
        const char *v = n + strlen(n) + 1;
        if (strcasecmp(n, name) == 0)
            return v;
        i = (size_t)(v + strlen(v) + 1 - r->resp_hdrs);
    }
    return NULL;
}

const char *http_result_header(const http_result *result, const char *name)
{
    if (!result || !result->request || !name)
        return NULL;
    return find_header(result->request, name);
}

static http_failure failure_of(const http_request *r, CURLcode rc)
{
    if (r->body_too_large || r->header_too_large)
        return HTTP_FAIL_TOO_LARGE;
    switch (rc) {
    case CURLE_OK:
        return HTTP_FAIL_NONE;
    case CURLE_OPERATION_TIMEDOUT:
        return HTTP_FAIL_TIMEOUT;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return HTTP_FAIL_DNS;
    case CURLE_COULDNT_CONNECT:
        return HTTP_FAIL_CONNECT;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_USE_SSL_FAILED:
        return HTTP_FAIL_TLS;
    case CURLE_FILESIZE_EXCEEDED:
        return HTTP_FAIL_TOO_LARGE;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SEND_FAIL_REWIND:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return HTTP_FAIL_RESET;
    default:
        return HTTP_FAIL_OTHER;
    }
}

static bool failure_retryable(http_failure f, CURLcode rc)
{
    switch (f) {
    case HTTP_FAIL_TIMEOUT:
    case HTTP_FAIL_DNS:
    case HTTP_FAIL_CONNECT:
    case HTTP_FAIL_RESET:
        return true;
    case HTTP_FAIL_OTHER:
        /* A malformed URL or an option libcurl refuses fails the same way every time. */
        return rc != CURLE_URL_MALFORMAT && rc != CURLE_UNSUPPORTED_PROTOCOL &&
               rc != CURLE_BAD_FUNCTION_ARGUMENT && rc != CURLE_OUT_OF_MEMORY;
    default:
        return false;
    }
}

static int64_t parse_count(const char *s)
{
    if (!s)
        return -1;
    char *end;
    long long v = strtoll(s, &end, 10);
    return (end == s || v < 0) ? -1 : (int64_t)v;
}

/* The server's requested wait for this response, or -1 when it named none. */
static int64_t server_wait_ms(const http_result *res)
{
    int64_t w = res->retry_after_ms;
    /* A reset header is a wait only once the window is spent: on a 429, or when the
     * remaining count says 0. */
    if (res->ratelimit_reset_ms >= 0 && (res->status == 429 || res->ratelimit_remaining == 0))
        w = res->ratelimit_reset_ms > w ? res->ratelimit_reset_ms : w;
    return w;
}

static void describe_failure(http_request *r, CURLcode rc, http_result *res)
{
    int code = res->failure == HTTP_FAIL_TOO_LARGE                               ? APEX_ERANGE
               : (rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL) ? APEX_EINVAL
                                                                                 : APEX_EIO;
    const char *detail = r->errbuf[0] ? r->errbuf : curl_easy_strerror(rc);
    char what[200];
    if (r->body_too_large)
        snprintf(what, sizeof what,
                 "response body over the cap of %zu bytes (http_client_options."
                 "max_response_bytes)",
                 r->client->opts.max_response_bytes);
    else if (r->header_too_large)
        snprintf(what, sizeof what, "response headers over the cap of %d bytes",
                 HTTP_MAX_HEADER_BYTES);
    else if (rc == CURLE_FILESIZE_EXCEEDED)
        snprintf(what, sizeof what,
                 "response announces a body over the cap of %zu bytes (http_client_options."
                 "max_response_bytes)",
                 r->client->opts.max_response_bytes);
    else if (rc == CURLE_SEND_FAIL_REWIND)
        snprintf(what, sizeof what,
                 "the connection closed after the request went out; libcurl's resend of a "
                 "non-idempotent request was refused");
    else
        snprintf(what, sizeof what, "%s", detail);
    const char *hint = res->outcome == HTTP_OUTCOME_NOT_SENT ? "the server did not receive it"
                       : r->idempotent                       ? "sent, no complete response"
                                       : "sent, no complete response: the server may have "
                                         "acted on it; check before sending again";
    http_request_error(r, &res->error, code, "http: %s %s: %s (%s) after %d attempt%s: %s",
                       http_method_name(r->method), r->shown_url, http_failure_name(res->failure),
                       what, r->attempts, r->attempts == 1 ? "" : "s", hint);
}

void http_request_judge(http_request *r, CURLcode rc, retry_rng *rng, http_verdict *v)
{
    memset(v, 0, sizeof *v);
    http_result *res = &v->result;
    res->request = r;
    res->attempts = r->attempts;
    res->body = r->resp_body ? r->resp_body : "";
    res->body_len = r->resp_len;
    long status = 0;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    res->status = status;

    int64_t now = (int64_t)time(NULL);
    res->retry_after_ms =
        retry_parse_retry_after(find_header(r, "Retry-After"), find_header(r, "Date"), now);
    res->ratelimit_reset_ms = retry_parse_reset(find_header(r, "X-RateLimit-Reset"), now);
    res->ratelimit_remaining = parse_count(find_header(r, "X-RateLimit-Remaining"));

    res->failure = failure_of(r, rc);
    if (res->failure == HTTP_FAIL_NONE)
        res->outcome = HTTP_OUTCOME_RESPONSE;
    else
        res->outcome = r->prereq_called ? HTTP_OUTCOME_UNKNOWN : HTTP_OUTCOME_NOT_SENT;

    bool may_retry = r->idempotent && r->attempts < r->retry.max_attempts;
    if (res->failure != HTTP_FAIL_NONE) {
        describe_failure(r, rc, res);
        may_retry = may_retry && failure_retryable(res->failure, rc);
    } else {
        may_retry = may_retry && retry_status_retryable(status);
    }
    if (!may_retry)
        return;
    int64_t wait = retry_backoff_ms(&r->retry, r->attempts, rng);
    int64_t asked = res->failure == HTTP_FAIL_NONE ? server_wait_ms(res) : -1;
    if (asked > r->retry.max_retry_after_ms) {
        http_request_log(r, LOG_INFO,
                         "http: %s %s: %ld asks to wait %lld ms, over the %d ms the policy "
                         "allows: not retried",
                         http_method_name(r->method), r->shown_url, status, (long long)asked,
                         r->retry.max_retry_after_ms);
        return;
    }
    v->retry = true;
    v->wait_ms = asked > wait ? asked : wait;
}
