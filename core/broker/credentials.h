/* credentials: a real broker's API key and secret, from the environment or from a file
 * the pipeline names, and nowhere else.
 *
 * The values live only in a broker_credentials (the adapter's) and in the request
 * headers built from it. Every message this module writes names where a value comes
 * from ("environment variable APCA_API_KEY_ID", "/home/t/alpaca.env line 2") and never
 * the value, so a message may go to the log, the store or the terminal.
 *
 * Lookup, per value: broker.credentials_file when set (a line NAME=value, where NAME is
 * the variable's name, so the same file can be `source`d by a shell), else the
 * environment variable. The variables' names are broker.key_env and broker.secret_env,
 * or the venue's defaults. A credentials file that group or others may read is refused,
 * as ssh refuses such a private key: a secret readable by every account on the machine
 * is not a secret. */
#ifndef APEX_BROKER_CREDENTIALS_H
#define APEX_BROKER_CREDENTIALS_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"

#define CREDENTIAL_MAX 256 /* longest key or secret accepted, terminator included */

typedef struct {
    char key[CREDENTIAL_MAX];
    char secret[CREDENTIAL_MAX];
    char key_source[CONFIG_PATH_MAX + 64]; /* where key came from, for messages */
    char secret_source[CONFIG_PATH_MAX + 64];
} broker_credentials;

/* The variable names for cfg: broker.key_env / broker.secret_env, or the defaults. */
const char *credentials_key_name(const broker_config *cfg, const char *default_key_env);
const char *credentials_secret_name(const broker_config *cfg, const char *default_secret_env);

/* Loads both values. Returns 0, or APEX_ENOTFOUND (a value is missing or empty),
 * APEX_EINVAL (a malformed or unsafe file, a value too long or with a control
 * character), APEX_EIO (the file cannot be read), with a message that names the
 * variable or the file and line and says what to do, never a value. On failure *out
 * holds no secret. */
int credentials_load(const broker_config *cfg, const char *default_key_env,
                     const char *default_secret_env, broker_credentials *out, char *err,
                     size_t errlen);

/* Overwrites the values in memory (the compiler may not elide it). */
void credentials_wipe(broker_credentials *c);

#endif
