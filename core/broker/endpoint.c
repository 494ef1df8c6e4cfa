/* endpoint: see endpoint.h. The URL rule itself is net/http.h's http_url_check. */
#include "broker/endpoint.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "net/http.h"
#include "util/err.h"

bool endpoint_is_loopback(const char *url)
{
    return http_url_is_loopback(url);
}

int endpoint_resolve(const char *url, const char *def, const char *field, char *out, size_t outlen,
                     char *err, size_t errlen)
{
    const char *u = url && url[0] ? url : def;
    int rc = http_url_check(u, field, "the API keys", "broker.key_env and broker.secret_env", err,
                            errlen);
    if (rc != 0)
        return rc;
    size_t n = strlen(u);
    while (n > 0 && u[n - 1] == '/')
        n--;
    if (n + 1 > outlen)
        return err_set(err, errlen, APEX_EINVAL, "%s: the URL is longer than %zu characters", field,
                       outlen - 1);
    memcpy(out, u, n);
    out[n] = '\0';
    return 0;
}

int endpoint_websocket(const char *url, const char *path, char *out, size_t outlen)
{
    const char *rest = strstr(url, "://");
    if (!rest)
        return APEX_EINVAL;
    bool tls = strncasecmp(url, "https", 5) == 0;
    int w = snprintf(out, outlen, "%s%s%s", tls ? "wss" : "ws", rest, path);
    return w < 0 || (size_t)w >= outlen ? APEX_ERANGE : 0;
}
