/* endpoint: checks a real broker's base URL before anything is sent to it.
 *
 * Keys travel in request headers, so a URL that would send them in clear text or to an
 * unintended host is refused at load time with the field's name: https only, except
 * plain http to the loopback host (a test server on 127.0.0.1). A URL that carries a
 * user name or password is refused too: credentials come from credentials.h only. The
 * rule is net/http.h's http_url_check, shared with the other senders of secrets. */
#ifndef APEX_BROKER_ENDPOINT_H
#define APEX_BROKER_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>

/* Copies url into out (at most outlen bytes, without a trailing '/'), or def when url
 * is "" . Returns 0, or APEX_EINVAL with a message naming field (e.g. "broker.base_url")
 * and saying what to write. */
int endpoint_resolve(const char *url, const char *def, const char *field, char *out, size_t outlen,
                     char *err, size_t errlen);

/* True when url's host is 127.0.0.1, ::1 or localhost. */
bool endpoint_is_loopback(const char *url);

/* out = url with its scheme replaced by the WebSocket one (https -> wss, http -> ws),
 * followed by path. Returns 0 or APEX_ERANGE when out is too small. */
int endpoint_websocket(const char *url, const char *path, char *out, size_t outlen);

#endif
