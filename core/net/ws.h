/* ws: a WebSocket client on the host's libuv loop (libwebsockets with its libuv plugin).
 *
 * One ws_client is one connection: ws_open starts it, the callbacks report what happens,
 * ws_free ends it. Everything runs on the caller's uv_loop_t (libwebsockets adopts it as a
 * "foreign" loop through its evlib_uv plugin), so no call blocks and there is no second
 * thread: the host name is resolved with uv_getaddrinfo (libuv's own resolver pool, as
 * libcurl's threaded resolver does for net/http), and the connection, the TLS handshake
 * and every read and write are driven by libuv.
 *
 * Handles, as in libuv:
 *   ws_client  created by ws_open, freed by ws_free, whatever state the connection is in
 *              (connecting, open, closing or closed) and from anywhere, including inside
 *              one of its own callbacks. After ws_free returns, no callback of that client
 *              runs again. The memory itself is released a few loop turns later, once
 *              libwebsockets has closed its libuv handles, so the loop must keep running
 *              (or be run until it has no more handles) after ws_free, as after uv_close.
 *
 * Callbacks run only from the loop, never inside ws_open, ws_send_text, ws_close or
 * ws_free. The order is fixed:
 *   on_open        at most once, when the handshake has completed;
 *   on_message     for each COMPLETE message, in order (fragments are reassembled here;
 *                  a message over max_message_bytes is an error: on_error(APEX_ERANGE),
 *                  then the connection is closed with status 1009);
 *   on_error       when the connection fails (DNS, connect, TLS, a refused handshake,
 *                  an over-cap message, a connect timeout), just before on_close;
 *   on_close       exactly once, last, for every client not freed before it: after a
 *                  close handshake (was_clean true, with the peer's code and reason, or
 *                  1000 after ws_close), or when the connection was lost, failed or timed
 *                  out (was_clean false, code 1006 unless a more precise one applies).
 *
 * No reconnection happens here: after on_close the client is dead and the owner decides
 * (an adapter must re-authenticate, re-subscribe and catch up over REST first).
 *
 * Keepalive: while open, the client pings when nothing has arrived for ping_interval_ms
 * and, when nothing (pong or data) arrives within pong_timeout_ms of asking for the ping,
 * drops the connection and reports on_close(1006, "no pong ...", false). A silent dead
 * connection is therefore reported within ping_interval_ms + pong_timeout_ms plus a tick.
 *
 * TLS: wss:// always verifies the server's certificate chain and host name against the
 * system store (plus ca_file when given). There is no option to turn verification off.
 *
 * Secrets: this module never logs message contents, sent or received, only lengths; a
 * message sent with ws_send_text_secret (an auth message with a key and secret) is also
 * wiped from memory once written. Extra header values are never logged either. */
#ifndef APEX_NET_WS_H
#define APEX_NET_WS_H

#include <stdbool.h>
#include <stddef.h>

struct uv_loop_s;

typedef struct ws_client ws_client;

typedef enum {
    WS_CONNECTING = 0, /* resolving, connecting, TLS, handshake */
    WS_OPEN,           /* on_open has run; messages flow */
    WS_CLOSING,        /* ws_close was called or the connection is being torn down */
    WS_CLOSED,         /* on_close has run (or would have) */
} ws_state;

/* Close codes this module reports besides the peer's own. */
#define WS_CLOSE_NORMAL    1000
#define WS_CLOSE_ABNORMAL  1006 /* no close frame: lost, failed, timed out */
#define WS_CLOSE_TOO_LARGE 1009

/* A handshake header, e.g. {"APCA-API-KEY-ID", key, true}. Copied by ws_open. */
typedef struct {
    const char *name;
    const char *value;
    bool secret; /* documents intent; header values are never logged in any case */
} ws_header;

/* Every callback receives the client and the user pointer from ws_options. Any of them
 * may be NULL. Pointers passed in are valid only until the callback returns. Inside any
 * callback the client may be sent to, closed or freed. */
typedef struct {
    void (*on_open)(ws_client *ws, void *user);
    /* data is NUL-terminated (data[len] == 0) for convenience; binary is true for binary
     * frames (Alpaca's trade_updates stream sends its JSON in binary frames). */
    void (*on_message)(ws_client *ws, const char *data, size_t len, bool binary, void *user);
    /* err: a negative APEX_E* code (APEX_EIO transport, APEX_ERANGE over a cap,
     * APEX_EINVAL refused handshake); message names the host and what failed. */
    void (*on_error)(ws_client *ws, int err, const char *message, void *user);
    void (*on_close)(ws_client *ws, int code, const char *reason, bool was_clean, void *user);
} ws_callbacks;

/* Zero fields take the defaults in brackets. Everything is copied by ws_open. */
typedef struct {
    const char *url; /* ws://host[:port]/path or wss://...; required */
    const ws_header *headers;
    int header_count;
    ws_callbacks cb;
    void *user;
    size_t max_message_bytes; /* [1 MiB] largest message accepted (after reassembly) */
    size_t max_queued_bytes;  /* [8 MiB] unsent data allowed; more is APEX_EBUSY */
    int connect_timeout_ms;   /* [10000] DNS + TCP + TLS + handshake */
    int ping_interval_ms;     /* [20000] ping after this long without receiving; <0: never */
    int pong_timeout_ms;      /* [10000] drop the connection when nothing answers a ping */
    int close_timeout_ms;     /* [5000] after ws_close, drop it if the close handshake stalls */
    const char *ca_file;      /* extra trusted CA (PEM) for wss, e.g. a test CA; NULL = none */
} ws_options;

/* Starts connecting. Returns the client (caller frees with ws_free), or NULL with a
 * message in err (a bad URL or option, or libwebsockets could not start, e.g. its libuv
 * plugin is missing) and no callback will run. */
ws_client *ws_open(struct uv_loop_s *loop, const ws_options *opts, char *err, size_t errlen);

/* Queues a text message; it is written whole when the socket is writable, after the ones
 * queued before it (messages are never interleaved). Allowed while connecting (sent after
 * the handshake) and open. Copies data. Returns 0, APEX_ESTATE (closing or closed),
 * APEX_EBUSY (over max_queued_bytes) or APEX_ENOMEM. */
int ws_send_text(ws_client *ws, const char *data, size_t len);
/* The same for a message holding a secret: it is wiped from memory once written. */
int ws_send_text_secret(ws_client *ws, const char *data, size_t len);

/* Starts a graceful close: queued messages are written first, then a close frame (1000);
 * on_close follows when the server answers, or after close_timeout_ms. Before the
 * handshake completes the attempt is abandoned and on_close(1000, ..., true) follows.
 * Returns 0, or APEX_ESTATE when already closing or closed. */
int ws_close(ws_client *ws);

/* Ends the client in any state; see the top of this file. NULL is allowed. */
void ws_free(ws_client *ws);

/* Clients that ws_free has ended whose teardown has not finished yet: it runs on the
 * loop (libwebsockets' context takes two destroys and some loop turns). A host shutting
 * its loop down runs the loop until this is 0 before it closes the loop's handles, or the
 * clients and their contexts are lost. */
int ws_tearing_down(void);

ws_state ws_get_state(const ws_client *ws);
/* Bytes queued and not yet written. */
size_t ws_queued_bytes(const ws_client *ws);

#endif
