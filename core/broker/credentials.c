/* credentials: see credentials.h. Nothing here formats a value into a message. */
#include "broker/credentials.h"

#include <string.h>

#include "util/err.h"
#include "util/secret.h"

const char *credentials_key_name(const broker_config *cfg, const char *default_key_env)
{
    return cfg->key_env[0] ? cfg->key_env : default_key_env;
}

const char *credentials_secret_name(const broker_config *cfg, const char *default_secret_env)
{
    return cfg->secret_env[0] ? cfg->secret_env : default_secret_env;
}

void credentials_wipe(broker_credentials *c)
{
    secret_wipe(c->key, sizeof c->key);
    secret_wipe(c->secret, sizeof c->secret);
}

int credentials_load(const broker_config *cfg, const char *default_key_env,
                     const char *default_secret_env, broker_credentials *out, char *err,
                     size_t errlen)
{
    memset(out, 0, sizeof *out);
    const char *file = cfg->credentials_file;
    int rc = secret_load(credentials_key_name(cfg, default_key_env), file,
                         "broker.credentials_file", out->key, sizeof out->key, out->key_source,
                         sizeof out->key_source, err, errlen);
    if (rc == 0)
        rc = secret_load(credentials_secret_name(cfg, default_secret_env), file,
                         "broker.credentials_file", out->secret, sizeof out->secret,
                         out->secret_source, sizeof out->secret_source, err, errlen);
    if (rc)
        credentials_wipe(out);
    return rc;
}
