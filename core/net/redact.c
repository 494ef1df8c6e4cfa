/* redact: a textual search-and-replace, written for short lines and a handful of secrets
 * (O(len * secrets)), which is all a log line of the net module holds. */
#include "net/redact.h"

#include <string.h>

/* The shortest secret prefix treated as a cut-off secret at the end of a line: shorter
 * ones would redact ordinary text that merely happens to start like a key. */
#define PARTIAL_MIN 4

/* Length of the secret that starts at s (the longest match wins), or 0. Also matches a
 * secret cut off by the end of the string, if at least PARTIAL_MIN bytes of it remain. */
static size_t match_at(const char *s, size_t left, const char *const *secrets, int n)
{
    size_t best = 0;
    for (int i = 0; i < n; i++) {
        const char *k = secrets[i];
        if (!k || !*k)
            continue;
        size_t klen = strlen(k);
        if (klen <= left && memcmp(s, k, klen) == 0) {
            if (klen > best)
                best = klen;
        } else if (klen > left && left >= PARTIAL_MIN && memcmp(s, k, left) == 0) {
            if (left > best)
                best = left;
        }
    }
    return best;
}

char *redact_copy(char *dst, size_t dstlen, const char *src, const char *const *secrets,
                  int nsecrets)
{
    if (!dst || dstlen == 0)
        return dst;
    if (!src)
        src = "";
    size_t len = strlen(src), out = 0, mark_len = strlen(REDACTED);
    for (size_t i = 0; i < len && out + 1 < dstlen;) {
        size_t m = nsecrets > 0 ? match_at(src + i, len - i, secrets, nsecrets) : 0;
        if (m == 0) {
            dst[out++] = src[i++];
            continue;
        }
        /* Cut the marker rather than let any part of the secret through. */
        size_t room = dstlen - 1 - out;
        size_t w = mark_len < room ? mark_len : room;
        memcpy(dst + out, REDACTED, w);
        out += w;
        i += m;
    }
    dst[out] = '\0';
    return dst;
}
