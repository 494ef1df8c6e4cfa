/* secret: see secret.h. Nothing here formats a value into a message. */
#include "util/secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/err.h"

void secret_wipe(void *p, size_t n)
{
    /* volatile stores: a memset before free or end of life may be optimised away. */
    volatile char *v = p;
    for (size_t i = 0; i < n; i++)
        v[i] = 0;
}

/* A value is printable ASCII without spaces: it goes into an HTTP header, where a
 * newline would split the request and a space is always a copy-and-paste slip. */
static int check_value(const char *v, size_t n, size_t cap, const char *where, char *err,
                       size_t errlen)
{
    if (n == 0)
        return err_set(err, errlen, APEX_ENOTFOUND, "%s is empty; set it to the value", where);
    if (n >= cap)
        return err_set(err, errlen, APEX_EINVAL,
                       "%s is %zu characters long, more than the %zu accepted; check that it "
                       "holds only the value",
                       where, n, cap - 1);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v[i] <= ' ' || (unsigned char)v[i] >= 0x7f)
            return err_set(err, errlen, APEX_EINVAL,
                           "%s has a space or a control character at position %zu; copy the "
                           "value again without quotes or whitespace",
                           where, i + 1);
    return 0;
}

static int from_env(const char *name, const char *file_field, char *out, size_t cap, char *source,
                    size_t source_len, char *err, size_t errlen)
{
    snprintf(source, source_len, "environment variable %s", name);
    const char *v = getenv(name);
    if (!v)
        return err_set(err, errlen, APEX_ENOTFOUND,
                       "%s is not set; export it (or name a file in %s)", source, file_field);
    size_t n = strlen(v);
    int rc = check_value(v, n, cap, source, err, errlen);
    if (rc)
        return rc;
    memcpy(out, v, n + 1);
    return 0;
}

/* Reads the whole file, refusing one that others may read. buf gets a terminator. */
static int read_file(const char *path, const char *field, char *buf, size_t cap, char *err,
                     size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set(err, errlen, errno == ENOENT ? APEX_ENOTFOUND : APEX_EIO,
                       "%s: cannot open %s: %s", field, path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return err_set(err, errlen, APEX_EINVAL, "%s: %s is not a regular file", field, path);
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        close(fd);
        return err_set(err, errlen, APEX_EINVAL,
                       "%s: %s may be read by other users (mode %03o); run chmod 600 %s", field,
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
            return err_set(err, errlen, APEX_EIO, "%s: reading %s: %s", field, path, strerror(e));
        }
        if (r == 0)
            break;
        used += (size_t)r;
        if (used == cap - 1) {
            close(fd);
            return err_set(err, errlen, APEX_EINVAL,
                           "%s: %s is larger than %d bytes; it should hold a few lines "
                           "NAME=value",
                           field, path, SECRET_FILE_MAX);
        }
    }
    close(fd);
    buf[used] = '\0';
    return 0;
}

/* Finds NAME=value in the file's text. Blank lines and lines starting with # are
 * skipped; an optional leading "export " is accepted so the file stays shell-sourceable.
 * Returns 1 when found (value copied), 0 when absent, < 0 on a malformed line. */
static int find_in_file(const char *text, const char *field, const char *path, const char *name,
                        char *out, size_t cap, char *source, size_t source_len, char *err,
                        size_t errlen)
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
            return err_set(err, errlen, APEX_EINVAL, "%s: %s line %d is not NAME=value", field,
                           path, line);
        if ((size_t)(eq - s) != name_len || strncmp(s, name, name_len) != 0)
            continue;
        snprintf(source, source_len, "%s line %d (%s)", path, line, name);
        const char *v = eq + 1;
        size_t vn = n - (size_t)(eq - s) - 1;
        /* One pair of matching quotes, as a shell would strip. */
        if (vn >= 2 && (v[0] == '"' || v[0] == '\'') && v[vn - 1] == v[0])
            v++, vn -= 2;
        int rc = check_value(v, vn, cap, source, err, errlen);
        if (rc)
            return rc;
        memcpy(out, v, vn);
        out[vn] = '\0';
        return 1;
    }
    return 0;
}

int secret_load(const char *name, const char *file, const char *file_field, char *out, size_t cap,
                char *source, size_t source_len, char *err, size_t errlen)
{
    int rc;
    if (!file || !file[0]) {
        rc = from_env(name, file_field, out, cap, source, source_len, err, errlen);
    } else {
        char *text = malloc(SECRET_FILE_MAX);
        if (!text)
            return err_set(err, errlen, APEX_ENOMEM, "%s: out of memory", file_field);
        rc = read_file(file, file_field, text, SECRET_FILE_MAX, err, errlen);
        if (rc == 0) {
            rc = find_in_file(text, file_field, file, name, out, cap, source, source_len, err,
                              errlen);
            if (rc == 0)
                rc = err_set(err, errlen, APEX_ENOTFOUND, "%s: %s has no line %s=...; add it",
                             file_field, file, name);
            else if (rc == 1)
                rc = 0;
        }
        secret_wipe(text, SECRET_FILE_MAX); /* the file's text held the secret too */
        free(text);
    }
    if (rc)
        secret_wipe(out, cap);
    return rc;
}
