/* credentials: see credentials.h. Nothing here formats a value into a message. */
#include "broker/credentials.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/err.h"

#define FILE_MAX 65536 /* a credentials file is a few lines; anything larger is a mistake */

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
    /* volatile stores: a memset before free or end of life may be optimised away. */
    volatile char *k = c->key, *s = c->secret;
    for (size_t i = 0; i < sizeof c->key; i++)
        k[i] = 0;
    for (size_t i = 0; i < sizeof c->secret; i++)
        s[i] = 0;
}

/* A value is printable ASCII without spaces: it goes into an HTTP header, where a
 * newline would split the request and a space is always a copy-and-paste slip. */
static int check_value(const char *v, size_t n, const char *where, char *err, size_t errlen)
{
    if (n == 0)
        return err_set(err, errlen, APEX_ENOTFOUND, "%s is empty; set it to the broker's value",
                       where);
    if (n >= CREDENTIAL_MAX)
        return err_set(err, errlen, APEX_EINVAL,
                       "%s is %zu characters long, more than the %d accepted; check that it "
                       "holds only the key",
                       where, n, CREDENTIAL_MAX - 1);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v[i] <= ' ' || (unsigned char)v[i] >= 0x7f)
            return err_set(err, errlen, APEX_EINVAL,
                           "%s has a space or a control character at position %zu; copy the "
                           "value again without quotes or whitespace",
                           where, i + 1);
    return 0;
}

static int from_env(const char *name, char *out, char *source, size_t source_len, char *err,
                    size_t errlen)
{
    snprintf(source, source_len, "environment variable %s", name);
    const char *v = getenv(name);
    if (!v)
        return err_set(err, errlen, APEX_ENOTFOUND,
                       "%s is not set; export it (or name a file in broker.credentials_file)",
                       source);
    size_t n = strlen(v);
    int rc = check_value(v, n, source, err, errlen);
    if (rc)
        return rc;
    memcpy(out, v, n + 1);
    return 0;
}

/* Reads the whole file, refusing one that others may read. buf gets a terminator. */
static int read_file(const char *path, char *buf, size_t cap, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set(err, errlen, errno == ENOENT ? APEX_ENOTFOUND : APEX_EIO,
                       "broker.credentials_file: cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return err_set(err, errlen, APEX_EINVAL,
                       "broker.credentials_file: %s is not a regular file", path);
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        close(fd);
        return err_set(err, errlen, APEX_EINVAL,
                       "broker.credentials_file: %s may be read by other users (mode %03o); "
                       "run chmod 600 %s",
                       path, (unsigned)(st.st_mode & 0777), path);
    }
    size_t used = 0;
    for (;;) {
        ssize_t r = read(fd, buf + used, cap - 1 - used);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            close(fd);
            return err_set(err, errlen, APEX_EIO, "broker.credentials_file: reading %s: %s", path,
                           strerror(e));
        }
        if (r == 0)
            break;
        used += (size_t)r;
        if (used == cap - 1) {
            close(fd);
            return err_set(err, errlen, APEX_EINVAL,
                           "broker.credentials_file: %s is larger than %d bytes; it should "
                           "hold two lines NAME=value",
                           path, FILE_MAX);
        }
    }
    close(fd);
    buf[used] = '\0';
    return 0;
}

/* Finds NAME=value in the file's text. Blank lines and lines starting with # are
 * skipped; an optional leading "export " is accepted so the file stays shell-sourceable.
 * Returns 1 when found (value copied), 0 when absent, < 0 on a malformed line. */
static int find_in_file(const char *text, const char *path, const char *name, char *out,
                        char *source, size_t source_len, char *err, size_t errlen)
{
    size_t name_len = strlen(name);
    int line = 0;
    for (const char *p = text; *p;) {
        const char *eol = strchr(p, '\n');
        size_t n = eol ? (size_t)(eol - p) : strlen(p);
        line++;
        const char *s = p;
        p = eol ? eol + 1 : p + n;
        if (n && s[n - 1] == '\r')
            n--;
        while (n && (*s == ' ' || *s == '\t'))
            s++, n--;
        if (n == 0 || *s == '#')
            continue;
        if (n > 7 && strncmp(s, "export ", 7) == 0)
            s += 7, n -= 7;
        const char *eq = memchr(s, '=', n);
        if (!eq)
            return err_set(err, errlen, APEX_EINVAL,
                           "broker.credentials_file: %s line %d is not NAME=value", path, line);
        if ((size_t)(eq - s) != name_len || strncmp(s, name, name_len) != 0)
            continue;
        snprintf(source, source_len, "%s line %d (%s)", path, line, name);
        const char *v = eq + 1;
        size_t vn = n - (size_t)(eq - s) - 1;
        /* One pair of matching quotes, as a shell would strip. */
        if (vn >= 2 && (v[0] == '"' || v[0] == '\'') && v[vn - 1] == v[0])
            v++, vn -= 2;
        int rc = check_value(v, vn, source, err, errlen);
        if (rc)
            return rc;
        memcpy(out, v, vn);
        out[vn] = '\0';
        return 1;
    }
    return 0;
}

static int from_file(const char *text, const char *path, const char *name, char *out, char *source,
                     size_t source_len, char *err, size_t errlen)
{
    int rc = find_in_file(text, path, name, out, source, source_len, err, errlen);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return err_set(err, errlen, APEX_ENOTFOUND,
                       "broker.credentials_file: %s has no line %s=...; add it", path, name);
    return 0;
}

int credentials_load(const broker_config *cfg, const char *default_key_env,
                     const char *default_secret_env, broker_credentials *out, char *err,
                     size_t errlen)
{
    memset(out, 0, sizeof *out);
    const char *key_name = credentials_key_name(cfg, default_key_env);
    const char *secret_name = credentials_secret_name(cfg, default_secret_env);
    int rc;
    if (cfg->credentials_file[0]) {
        char *text = malloc(FILE_MAX);
        if (!text)
            return err_set(err, errlen, APEX_ENOMEM, "broker.credentials_file: out of memory");
        rc = read_file(cfg->credentials_file, text, FILE_MAX, err, errlen);
        if (rc == 0)
            rc = from_file(text, cfg->credentials_file, key_name, out->key, out->key_source,
                           sizeof out->key_source, err, errlen);
        if (rc == 0)
            rc = from_file(text, cfg->credentials_file, secret_name, out->secret,
                           out->secret_source, sizeof out->secret_source, err, errlen);
        /* The file's text held the secret too. */
        volatile char *t = text;
        for (size_t i = 0; i < FILE_MAX; i++)
            t[i] = 0;
        free(text);
    } else {
        rc = from_env(key_name, out->key, out->key_source, sizeof out->key_source, err, errlen);
        if (rc == 0)
            rc = from_env(secret_name, out->secret, out->secret_source, sizeof out->secret_source,
                          err, errlen);
    }
    if (rc)
        credentials_wipe(out);
    return rc;
}
