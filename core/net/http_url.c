/* http_url: the checks a URL passes before a secret-bearing request goes to it (see
 * http.h: http_url_check, http_url_is_loopback). Moved here from broker/endpoint.c so
 * that every module that sends keys or tokens over HTTP shares one rule. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "net/http.h"
#include "util/err.h"

/* The host part of "scheme://host[:port][/path]", as a pointer and a length. */
static const char *host_of(const char *url, size_t *len)
{
    const char *p = strstr(url, "://");
    if (!p)
        return NULL;
    p += 3;
    size_t n = strcspn(p, "/?#");
    const char *at = memchr(p, '@', n);
    if (at) { /* userinfo: reported by the caller, not treated as the host */
        n -= (size_t)(at + 1 - p);
        p = at + 1;
    }
    if (*p == '[') { /* an IPv6 literal */
        const char *close = memchr(p, ']', n);
        if (!close)
            return NULL;
        *len = (size_t)(close - p - 1);
        return p + 1;
    }
    size_t colon = strcspn(p, ":/?#");
    *len = colon < n ? colon : n;
    return p;
}

bool http_url_is_loopback(const char *url)
{
    size_t n = 0;
    const char *h = url ? host_of(url, &n) : NULL;
    if (!h)
        return false;
    return (n == 9 && strncasecmp(h, "localhost", 9) == 0) ||
           (n == 9 && !strncmp(h, "127.0.0.1", 9)) || (n == 3 && !strncmp(h, "::1", 3));
}

int http_url_check(const char *url, const char *field, const char *carries,
                   const char *secrets_from, char *err, size_t errlen)
{
    const char *u = url ? url : "";
    for (const char *c = u; *c; c++)
        if ((unsigned char)*c <= ' ' || (unsigned char)*c >= 0x7f)
            return err_set(err, errlen, APEX_EINVAL,
                           "%s: the URL has a space or a control character; write it as "
                           "\"https://host\"",
                           field);
    bool https = strncasecmp(u, "https://", 8) == 0;
    bool http = strncasecmp(u, "http://", 7) == 0;
    size_t hn = 0;
    const char *host = host_of(u, &hn);
    if ((!https && !http) || !host || hn == 0)
        return err_set(err, errlen, APEX_EINVAL,
                       "%s: \"%.200s\" is not an https:// URL with a host; write it as "
                       "\"https://host\"",
                       field, u);
    const char *authority = strstr(u, "://") + 3;
    if (memchr(authority, '@', strcspn(authority, "/?#")))
        return err_set(err, errlen, APEX_EINVAL,
                       "%s: the URL carries a user name or password; remove it (%s come "
                       "from %s)",
                       field, carries, secrets_from);
    if (http && !http_url_is_loopback(u))
        return err_set(err, errlen, APEX_EINVAL,
                       "%s: \"%.200s\" is plain http, which would send %s "
                       "unencrypted; use https:// (http is accepted only for 127.0.0.1 and "
                       "localhost)",
                       field, u, carries);
    return 0;
}
