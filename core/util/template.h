/* template: text with {{field}} placeholders, rendered by a caller's field writer.
 *
 * Used by the webhook execution tool (exec/webhook.h) and by notification webhooks
 * (notify/notify.h): each knows its own fields; the scanning, the growing buffer, JSON
 * string escaping and the messages about a bad placeholder live here once. Spaces inside
 * the braces are ignored ("{{ symbol }}"). */
#ifndef APEX_UTIL_TEMPLATE_H
#define APEX_UTIL_TEMPLATE_H

#include <stddef.h>

/* A growing, always NUL-terminated buffer; oom latches the first allocation failure. */
typedef struct {
    char *p;
    size_t len, cap;
    int oom;
} template_buf;

void template_put(template_buf *b, const char *s, size_t n);
void template_puts(template_buf *b, const char *s);
/* s as the contents of a JSON string (RFC 8259 section 7), without the quotes. */
void template_put_json(template_buf *b, const char *s);

/* Writes field `name` (n bytes, not terminated) into b; 0, or -1 when it has no such field. */
typedef int (*template_field_fn)(template_buf *b, const char *name, size_t n, void *ud);

/* Renders tmpl into a malloc'd, NUL-terminated *out (*out_len bytes). Returns 0, or
 * APEX_EINVAL naming `what` (the config field, e.g. "execution.webhook_template"), the
 * placeholder and its character offset, and listing `known` ("pipeline, symbol or time"),
 * or APEX_ENOMEM. */
int template_render(const char *tmpl, template_field_fn field, void *ud, const char *what,
                    const char *known, char **out, size_t *out_len, char *err, size_t errlen);

#endif
