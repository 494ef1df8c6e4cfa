/* telegram: an asynchronous Telegram Bot API client on the host's libuv loop.
 *
 * Four methods of https://core.telegram.org/bots/api, each a POST of a JSON body to
 * <api_url>/bot<token>/<method> through the net module's HTTP client (libcurl multi driven
 * by the loop), so no call ever blocks:
 *   sendMessage          chat_id, text, optional parse_mode, optional inline keyboard
 *   editMessageText      chat_id, message_id, text, optional parse_mode and keyboard
 *   getUpdates           long polling from an offset, for a number of seconds
 *   answerCallbackQuery  callback_query_id, optional text
 *
 * Handles and requests, as in libuv: a `telegram` owns its own HTTP client and every call in
 * flight; each call's callback runs exactly once, from the loop, never inside the function
 * that started it, unless telegram_free drops it first (then it never runs).
 *
 * 429 (Too Many Requests): Telegram says how long to wait in `parameters.retry_after`
 * (seconds; also a Retry-After header). A 429 means the request was refused, not acted on,
 * so the client waits that long on the host clock and sends it again, up to
 * max_429_retries times and only when the wait is at most max_retry_after_s; otherwise the
 * callback gets the 429 with retry_after_s set, for the caller to reschedule. Other
 * failures are never retried here: a sendMessage that timed out may have been delivered,
 * and whether to risk a duplicate is the caller's decision (result.outcome says which case
 * it is, as in net/http.h).
 *
 * The bot token is part of every URL path. It never appears in anything this module
 * writes: requests are marked url_secret (messages show the API's scheme and host only),
 * and every message, including the server's own description, passes through redact_copy
 * with the token. The token is wiped from memory by telegram_free. */
#ifndef APEX_NOTIFY_TELEGRAM_H
#define APEX_NOTIFY_TELEGRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clock/clock.h"
#include "net/http.h"
#include "util/err.h"

struct uv_loop_s;

#define TELEGRAM_DEFAULT_API_URL   "https://api.telegram.org"
#define TELEGRAM_CALLBACK_DATA_MAX 64   /* bytes, Telegram's limit for callback_data */
#define TELEGRAM_TEXT_MAX          4096 /* bytes here (Telegram counts characters) */
#define TELEGRAM_CALLBACK_TEXT_MAX 200  /* answerCallbackQuery's text, bytes here */
#define TELEGRAM_TOKEN_MAX         256

typedef struct telegram telegram;

typedef struct {
    const char *api_url;   /* NULL or "" = TELEGRAM_DEFAULT_API_URL; http only to 127.0.0.1 */
    const char *token;     /* the bot token ("123456:ABC..."); copied */
    int timeout_s;         /* per request except getUpdates (which adds its own); default 15 */
    int max_429_retries;   /* default 3 */
    int max_retry_after_s; /* the longest retry_after waited for; default 60 */
} telegram_options;

/* An inline keyboard: rows of buttons. Each callback_data is 1..64 bytes. */
typedef struct {
    const char *text;
    const char *callback_data;
} telegram_button;

typedef struct {
    const telegram_button *buttons;
    int nbuttons;
} telegram_button_row;

typedef struct {
    const telegram_button_row *rows;
    int nrows;
} telegram_keyboard;

/* How a call ended. Strings are valid until the callback returns. */
typedef struct {
    bool ok;               /* Telegram answered {"ok":true,...} */
    http_outcome outcome;  /* as in net/http.h: RESPONSE, NOT_SENT or UNKNOWN */
    long http_status;      /* 0 when no response arrived */
    int error_code;        /* Telegram's error_code when ok is false, else 0 */
    int64_t retry_after_s; /* a 429's retry_after that was not waited for, else -1 */
    int attempts;          /* requests sent, 429 retries included */
    int64_t message_id;    /* sendMessage / editMessageText: the message's id, else 0 */
    /* 0 when ok; else APEX_EIO (transport), APEX_EBUSY (429), APEX_EREJECTED (Telegram
     * refused: a bad chat id, a bad token), with a message naming the method, the token
     * redacted. */
    apex_error error;
} telegram_result;

typedef void (*telegram_cb)(const telegram_result *r, void *ud);

typedef enum {
    TELEGRAM_UPDATE_OTHER = 0,
    TELEGRAM_UPDATE_CALLBACK_QUERY, /* a button press */
    TELEGRAM_UPDATE_MESSAGE,        /* a plain message */
} telegram_update_kind;

/* One update. Strings are never NULL ("" when absent) and valid until the callback
 * returns. */
typedef struct {
    int64_t update_id;
    telegram_update_kind kind;
    const char *callback_id; /* callback_query.id */
    int64_t from_id;         /* who pressed or wrote */
    const char *from_username;
    int64_t chat_id;    /* the chat of the message (the button's message for a press) */
    int64_t message_id; /* that message */
    const char *data;   /* callback_query.data */
    const char *text;   /* message.text */
} telegram_update;

typedef void (*telegram_updates_cb)(const telegram_result *r, const telegram_update *updates,
                                    int nupdates, void *ud);

/* Fills o with the defaults above (no token). */
void telegram_options_default(telegram_options *o);

/* A client on loop; its 429 waits run on clock (which must outlive it). Returns NULL with
 * err set on a missing or malformed token (the message never shows it), a bad api_url
 * (http_url_check's rule, field "notifications.telegram.api_url"), or when the HTTP client
 * cannot start. */
telegram *telegram_new(struct uv_loop_s *loop, apex_clock *clock, const telegram_options *o,
                       apex_error *err);

/* Drops every call in flight (their callbacks never run), wipes the token, frees. The HTTP
 * client's handles close asynchronously: run the loop once more before uv_loop_close. */
void telegram_free(telegram *t);

/* Calls started and not yet finished. */
int telegram_in_flight(const telegram *t);

/* Checks a keyboard: rows and buttons present, every text non-empty, every callback_data
 * 1..TELEGRAM_CALLBACK_DATA_MAX bytes. 0 or APEX_EINVAL naming the row and button. */
int telegram_keyboard_check(const telegram_keyboard *kb, apex_error *err);

/* chat_id: a numeric id ("-1001234567890") or "@channelname". parse_mode: NULL or
 * "MarkdownV2", "HTML", "Markdown". kb: NULL for none. Each returns 0, or APEX_EINVAL (an
 * empty or oversized text, a bad keyboard, a bad chat id) / APEX_ENOMEM / APEX_ESTATE, and
 * then cb never runs. */
int telegram_send_message(telegram *t, const char *chat_id, const char *text,
                          const char *parse_mode, const telegram_keyboard *kb, telegram_cb cb,
                          void *ud, apex_error *err);

/* Replaces a message's text (and its keyboard: kb NULL removes the buttons). */
int telegram_edit_message_text(telegram *t, const char *chat_id, int64_t message_id,
                               const char *text, const char *parse_mode,
                               const telegram_keyboard *kb, telegram_cb cb, void *ud,
                               apex_error *err);

/* Answers a button press (stops the client's spinner); text NULL for none. */
int telegram_answer_callback_query(telegram *t, const char *callback_query_id, const char *text,
                                   telegram_cb cb, void *ud, apex_error *err);

/* Long polling: updates with update_id >= offset, waiting up to timeout_s (0..50) seconds
 * for one to arrive. The next offset is the last update_id + 1 (which also confirms the
 * earlier ones to Telegram). Only message and callback_query updates are asked for. */
int telegram_get_updates(telegram *t, int64_t offset, int timeout_s, telegram_updates_cb cb,
                         void *ud, apex_error *err);

/* Copies src into dst with the token replaced by "[redacted]" (for callers' own messages
 * that may quote a server or a URL). */
void telegram_redact(const telegram *t, char *dst, size_t dstlen, const char *src);

#endif
