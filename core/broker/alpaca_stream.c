/* alpaca_stream: order updates and fills from Alpaca's trade_updates stream (alpaca.h).
 *
 * One WebSocket to <base URL as ws/wss>/stream: on open the adapter authenticates (the
 * key and secret in a message sent with ws_send_text_secret), on "authorized" it asks
 * for trade_updates, on "listening" the stream is up and polling slows to a safety net.
 * Each trade update goes through the reporting path polling uses (alpaca_report_fill,
 * alpaca_report_order), so a fill both paths see is reported once.
 *
 * When the connection fails, closes, or authorization is refused, polling returns to its
 * fast interval and the adapter reconnects after a backoff (doubling up to a minute; reset
 * once listening again). Each time it is listening again one poll runs at once: it
 * catches up what happened while the stream was down.
 *
 * The log gets state changes only (up once, down once), never message contents. */
#include <stdio.h>
#include <string.h>

#include "broker/alpaca_internal.h"
#include "broker/endpoint.h"
#include "util/err.h"
#include "util/log.h"

static void connect_stream(alpaca_broker *a);

/* ---- state ---- */

static void stream_up(alpaca_broker *a)
{
    a->stream_listening = true;
    a->backoff_ms = ALPACA_STREAM_BACKOFF_MS;
    alpaca_poll_retime(a);
    alpaca_poll_now(a); /* what happened before it listened: the stream does not replay */
    if (a->stream_logged != 1)
        log_info("alpaca: trade_updates stream listening; polling every %d s as a safety net",
                 ALPACA_STREAM_POLL_MS / 1000);
    a->stream_logged = 1;
}

/* The connection is gone (ws already freed or about to be): poll fast, retry later. */
static void stream_down(alpaca_broker *a, const char *why)
{
    a->stream_listening = false;
    alpaca_poll_retime(a);
    if (a->stream_logged != -1)
        log_warn("alpaca: trade_updates stream down (%s); polling every %d s, reconnecting "
                 "in %d s",
                 why, ALPACA_POLL_MS / 1000, a->backoff_ms / 1000);
    a->stream_logged = -1;
    clock_timer_start_in(&a->reconnect, (apex_time)a->backoff_ms * 1000);
    a->backoff_ms = a->backoff_ms * 2 > ALPACA_STREAM_BACKOFF_MAX_MS ? ALPACA_STREAM_BACKOFF_MAX_MS
                                                                     : a->backoff_ms * 2;
}

/* Drops the connection now (without waiting for its close) and goes down. */
static void drop(alpaca_broker *a, const char *why)
{
    ws_free(a->ws); /* no callback of it runs after this */
    a->ws = NULL;
    stream_down(a, why);
}

/* ---- messages ---- */

static void on_trade_update(alpaca_broker *a, alpaca_trade_update *u)
{
    if (u->has_fill) {
        const broker_order *o = &u->order.order;
        tracked *t = alpaca_tracked_by_id(a, o->broker_order_id);
        if (t && o->filled_qty - u->fill.qty > t->filled_reported) {
            /* An earlier fill of this order was missed (while the stream was down, or
             * before the order was tracked). Reported now, it would hide that one from
             * polling, which reports in order: let the poll bring both. */
            alpaca_poll_now(a);
            return;
        }
        if (t)
            alpaca_report_fill(a, t, &u->fill, o->filled_qty);
    }
    alpaca_report_order(a, &u->order);
}

static void authorized(alpaca_broker *a)
{
    int rc = ws_send_text(a->ws, ALPACA_STREAM_LISTEN, strlen(ALPACA_STREAM_LISTEN));
    if (rc != 0)
        drop(a, err_name(rc));
}

static void dispatch(alpaca_broker *a, const json_t *msg)
{
    char err[256];
    alpaca_trade_update u;
    switch (alpaca_stream_message_kind(msg)) {
    case ALPACA_STREAM_TRADE_UPDATE:
        if (alpaca_decode_trade_update(msg, &u, err, sizeof err) == 0)
            on_trade_update(a, &u);
        else
            log_warn("alpaca: trade_updates: %s", err); /* a field path, not the contents */
        break;
    case ALPACA_STREAM_AUTHORIZED:
        authorized(a);
        break;
    case ALPACA_STREAM_UNAUTHORIZED:
        drop(a, "authorization refused: check the key and the secret");
        break;
    case ALPACA_STREAM_LISTENING:
        if (!a->stream_listening)
            stream_up(a);
        break;
    case ALPACA_STREAM_NOT_LISTENING:
        drop(a, "the subscription to trade_updates was refused");
        break;
    case ALPACA_STREAM_OTHER:
        break; /* nothing this adapter asked for */
    }
}

static void on_message(ws_client *ws, const char *data, size_t len, bool binary, void *user)
{
    (void)ws;
    (void)binary; /* Alpaca's paper stream sends its JSON in binary frames, live in text */
    alpaca_broker *a = user;
    char err[256];
    json_t *msg = alpaca_json_parse(data, len, "alpaca: trade_updates message", err, sizeof err);
    if (!msg) {
        log_warn("%s", err); /* a position and jansson's reason, no contents */
        return;
    }
    dispatch(a, msg);
    json_decref(msg);
}

/* ---- the connection ---- */

static void on_open(ws_client *ws, void *user)
{
    alpaca_broker *a = user;
    char auth[2 * 2 * CREDENTIAL_MAX + 64];
    int rc = alpaca_encode_stream_auth(a->cred.key, a->cred.secret, auth, sizeof auth);
    if (rc == 0)
        rc = ws_send_text_secret(ws, auth, strlen(auth));
    explicit_bzero(auth, sizeof auth); /* ws copied it; this copy holds the secret too */
    if (rc != 0)
        drop(a, err_name(rc));
}

static void on_error(ws_client *ws, int err, const char *message, void *user)
{
    (void)ws;
    (void)err;
    alpaca_broker *a = user;
    /* on_close follows at once; it logs (once) with this reason. */
    snprintf(a->stream_error, sizeof a->stream_error, "%s", message);
}

static void on_close(ws_client *ws, int code, const char *reason, bool was_clean, void *user)
{
    (void)ws; /* a->ws: drop frees it, which a callback may do */
    (void)was_clean;
    alpaca_broker *a = user;
    char why[200];
    if (a->stream_error[0])
        snprintf(why, sizeof why, "%s", a->stream_error);
    else /* a close reason is a short status line (ws.h's own, or the server's) */
        snprintf(why, sizeof why, "closed with code %d%s%.80s", code, reason[0] ? ": " : "",
                 reason);
    a->stream_error[0] = '\0';
    drop(a, why);
}

static void connect_stream(alpaca_broker *a)
{
    ws_options o = {
        .url = a->stream_url,
        .cb = {.on_open = on_open,
               .on_message = on_message,
               .on_error = on_error,
               .on_close = on_close},
        .user = a,
    };
    char err[256];
    a->stream_error[0] = '\0';
    a->ws = ws_open(a->loop, &o, err, sizeof err);
    if (!a->ws)
        stream_down(a, err);
}

static void reconnect_tick(clock_timer *timer, void *ud)
{
    (void)timer;
    alpaca_broker *a = ud;
    if (!a->ws)
        connect_stream(a);
}

/* ---- life ---- */

int alpaca_stream_init(alpaca_broker *a)
{
    a->backoff_ms = ALPACA_STREAM_BACKOFF_MS;
    clock_timer_init(a->clock, &a->reconnect, reconnect_tick, a);
    int rc = endpoint_websocket(a->trading, "/stream", a->stream_url, sizeof a->stream_url);
    if (rc != 0)
        return rc;
    connect_stream(a);
    return 0;
}

void alpaca_stream_free(alpaca_broker *a)
{
    clock_timer_stop(&a->reconnect);
    ws_free(a->ws);
    a->ws = NULL;
}
