/* secret: a secret value (an API key, a bot token) by its NAME, from the environment or
 * from a file of NAME=value lines, and nowhere else.
 *
 * Used by the broker's credentials (broker/credentials.h) and the notifiers' tokens
 * (notify/notify.h). Every message names where a value comes from ("environment variable
 * APCA_API_KEY_ID", "/home/t/alpaca.env line 2") and never the value, so a message may go
 * to the log, the store or the terminal. A file that group or others may read is refused,
 * as ssh refuses such a private key. */
#ifndef APEX_UTIL_SECRET_H
#define APEX_UTIL_SECRET_H

#include <stddef.h>

#define SECRET_FILE_MAX 65536 /* a secrets file is a few lines; anything larger is a mistake */

/* Loads the value called name into out (cap bytes): from file when file is non-empty (a
 * line NAME=value; blank lines, # comments, "export " and one pair of quotes allowed, so the
 * file can be `source`d by a shell), else from the environment variable name. file_field
 * names the config field of the file for messages ("broker.credentials_file"). A value must
 * be printable ASCII without spaces, shorter than cap. source gets where it came from.
 * Returns 0, or APEX_ENOTFOUND (missing or empty), APEX_EINVAL (a malformed or unsafe file,
 * a bad value), APEX_EIO, with a message that never holds a value. On failure out is
 * wiped. */
int secret_load(const char *name, const char *file, const char *file_field, char *out, size_t cap,
                char *source, size_t source_len, char *err, size_t errlen);

/* Overwrites n bytes (the compiler may not elide it). */
void secret_wipe(void *p, size_t n);

#endif
