/* template: see template.h. */
#include "util/template.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"

void template_put(template_buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 512;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void template_puts(template_buf *b, const char *s)
{
    template_put(b, s, strlen(s));
}

void template_put_json(template_buf *b, const char *s)
{
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            template_put(b, esc, 2);
        } else if (c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            template_put(b, esc, 6);
        } else {
            template_put(b, (const char *)&c, 1);
        }
    }
}

int template_render(const char *tmpl, template_field_fn field, void *ud, const char *what,
                    const char *known, char **out, size_t *out_len, char *err, size_t errlen)
{
    template_buf b = {0};
    const char *p = tmpl;
    for (;;) {
        const char *open = strstr(p, "{{");
        if (!open) {
            template_puts(&b, p);
            break;
        }
        template_put(&b, p, (size_t)(open - p));
        const char *name = open + 2;
        while (*name == ' ')
            name++;
        const char *close = strstr(name, "}}");
        if (!close) {
            free(b.p);
            return err_set(err, errlen, APEX_EINVAL,
                           "%s: the placeholder at character %zu has no closing }}", what,
                           (size_t)(open - tmpl) + 1);
        }
        size_t n = (size_t)(close - name);
        while (n && name[n - 1] == ' ')
            n--;
        if (field(&b, name, n, ud) != 0) {
            free(b.p);
            return err_set(err, errlen, APEX_EINVAL,
                           "%s: unknown field {{%.*s}} at character %zu; use %s", what,
                           (int)(n > 40 ? 40 : n), name, (size_t)(open - tmpl) + 1, known);
        }
        p = close + 2;
    }
    if (b.oom || !b.p) {
        free(b.p);
        return err_set(err, errlen, APEX_ENOMEM, "%s: out of memory rendering the body", what);
    }
    *out = b.p;
    *out_len = b.len;
    return 0;
}
