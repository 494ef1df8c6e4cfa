#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>

int err_set(char *err, size_t errlen, int code, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

int apex_error_set(apex_error *e, int code, const char *fmt, ...)
{
    if (!e)
        return code;
    e->code = code;
    e->msg[0] = '\0';
    if (code != 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

void apex_error_clear(apex_error *e)
{
    if (e) {
        e->code = 0;
        e->msg[0] = '\0';
    }
}

const char *err_name(int code)
{
    switch (code) {
    case APEX_OK:
        return "ok";
    case APEX_EINVAL:
        return "invalid input";
    case APEX_ERANGE:
        return "out of range";
    case APEX_ENOMEM:
        return "out of memory";
    case APEX_EIO:
        return "i/o error";
    case APEX_ENOTFOUND:
        return "not found";
    case APEX_EBUSY:
        return "busy";
    case APEX_ESCRIPT:
        return "script error";
    case APEX_EREJECTED:
        return "rejected";
    case APEX_EDUP:
        return "duplicate";
    case APEX_ESTATE:
        return "wrong state";
    default:
        return "error";
    }
}
