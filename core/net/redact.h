/* redact: keeps secrets (API keys, tokens) out of every line the net module writes.
 *
 * The HTTP client passes each log line and error message it produces through
 * redact_copy with the secret header values of the request concerned, so a key can reach
 * the log only if it was never declared secret. Redaction is textual: it replaces the
 * value wherever it occurs (inside a URL, an echoed header, a server's error body), not
 * only after a header name. */
#ifndef APEX_NET_REDACT_H
#define APEX_NET_REDACT_H

#include <stddef.h>

#define REDACTED "[redacted]"

/* Copies src into dst (dstlen > 0 bytes, always terminated, cut to fit), replacing every
 * occurrence of each non-empty secret with REDACTED. A src that ends in the first 4 or
 * more bytes of a secret (a message cut short in the middle of one) has that tail
 * replaced too. NULL or empty secrets are skipped. Returns dst. */
char *redact_copy(char *dst, size_t dstlen, const char *src, const char *const *secrets,
                  int nsecrets);

#endif
