/* err: the error-buffer convention shared by every module.
 *
 * Functions that can fail return 0 on success or a negative APEX_E* code, and,
 * when the caller passes a buffer, write a one-line message into it that names
 * the file, line or field and says what to do. A NULL buffer is allowed. */
#ifndef APEX_UTIL_ERR_H
#define APEX_UTIL_ERR_H

#include <stddef.h>

enum {
    APEX_OK = 0,
    APEX_EINVAL = -1,    /* bad input: a value, a field, a file */
    APEX_ERANGE = -2,    /* overflow or out-of-range value */
    APEX_ENOMEM = -3,    /* allocation failed or a memory cap was hit */
    APEX_EIO = -4,       /* file, database or network failure */
    APEX_ENOTFOUND = -5, /* the thing asked for does not exist */
    APEX_EBUSY = -6,     /* try again later (rate limited, broker busy) */
    APEX_ESCRIPT = -7,   /* a Lua script raised an error or ran past a limit */
    APEX_EREJECTED = -8, /* the broker refused an order */
    APEX_EDUP = -9,      /* duplicate: client order id already used */
    APEX_ESTATE = -10,   /* not allowed in the current state */
};

/* Writes a formatted message into err (if err and errlen are non-zero) and
 * returns code, so callers can `return err_set(err, n, APEX_EINVAL, "...")`. */
int err_set(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A short name for a code ("invalid input", "out of range", ...). */
const char *err_name(int code);

/* An error code with its message, filled in by the function that failed and owned by
 * the caller. It exists so the text travels with the code: a caller that reports the
 * failure later (an event, the end-of-run summary) keeps what happened, instead of
 * reading a module's shared buffer that the next call may have overwritten or that
 * still holds an older failure. 512 bytes: store messages carry a path, SQLite's text
 * and a hint, and must not lose the part that says what to do. */
typedef struct {
    int code;      /* 0 or a negative APEX_E* code */
    char msg[512]; /* "" when code is 0 */
} apex_error;

/* Sets e (when not NULL) to code and the formatted message; returns code, so callers can
 * `return apex_error_set(err, APEX_EINVAL, "...")`. A code of 0 clears the message. */
int apex_error_set(apex_error *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Sets e (when not NULL) to 0 and an empty message. */
void apex_error_clear(apex_error *e);

#endif
