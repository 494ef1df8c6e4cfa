/* alpaca_stream: order updates and fills from Alpaca's trade_updates stream (alpaca.h).
 *
 * One WebSocket to <base URL as ws/wss>/stream: on open the adapter authenticates (the
 * key and secret in a message sent with ws_send_text_secret), on "authorized" it asks
 * for trade_updates, on "listening" the stream is up and polling slows to a safety net.
 * Each trade update goes through the reporting path polling uses (alpaca_report_fill,
 * alpaca_report_order), so a fill both paths see is reported once.
 *
 * When the connection fails, closes, or authorization is refused, polling returns to its
 * fast interval and the adapter reconnects after a backoff (alpaca_link.c: doubling up to a
 * minute, jittered; reset once listening again). Each time it is listening again one poll runs at
 * once: it catches up what happened while the stream was down.
 *
 * The log gets state changes only (up once, down once), never message contents. */
#include <stdio.h>
#include <string.h>

#include "broker/alpaca_internal.h"
#include "broker/endpoint.h"
#include "util/err.h"
#include "util/log.h"

/* ---- state ---- */

static void stream_up(alpaca_broker *a)
{
    a->stream_listening = true;
    alpaca_link_up(&a->stream);
    alpaca_poll_retime(a);
    alpaca_poll_now(a); /* what happened before it listened: the stream does not replay */
    if (a->stream_logged != 1)
        log_info("alpaca: trade_updates stream listening; polling every %d s as a safety net",
                 ALPACA_STREAM_POLL_MS / 1000);
    a->stream_logged = 1;
}

/* The connection is gone and the next attempt scheduled: poll fast meanwhile. */
static void stream_down(alpaca_link *l, const char *why, int wait_ms)
{
    alpaca_broker *a = l->a;
    a->stream_listening = false;
    alpaca_poll_retime(a);
    if (a->stream_logged != -1)
        log_warn("alpaca: trade_updates stream down (%s); polling every %d s, reconnecting "
                 "in %d s",
                 why, ALPACA_POLL_MS / 1000, (wait_ms + 500) / 1000);
    a->stream_logged = -1;
}

static void drop(alpaca_broker *a, const char *why)
{
    alpaca_link_drop(&a->stream, why);
}

/* ---- messages ---- */

static void on_trade_update(alpaca_broker *a, alpaca_trade_update *u)
{
    /* A fill or an end the adapter cannot place yet is news the stream will not repeat
     * (a "new" event racing the answer is not: the answer says as much). */
    if ((u->has_fill || order_status_is_final(u->order.order.status)) &&
        !alpaca_tracked_by_id(a, u->order.order.broker_order_id))
        alpaca_note_early(a, u->order.order.broker_order_id);
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
    int rc = ws_send_text(a->stream.ws, ALPACA_STREAM_LISTEN, strlen(ALPACA_STREAM_LISTEN));
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

static void on_message(alpaca_link *l, const json_t *msg)
{
    dispatch(l->a, msg);
}

static void on_open(alpaca_link *l)
{
    int rc = alpaca_link_send_auth(l);
    if (rc != 0)
        drop(l->a, err_name(rc));
}

/* ---- life ---- */

int alpaca_stream_init(alpaca_broker *a)
{
    alpaca_link *l = &a->stream;
    alpaca_link_init(l, a, "trade_updates");
    l->on_open = on_open;
    l->on_message = on_message;
    l->on_down = stream_down;
    int rc = endpoint_websocket(a->trading, "/stream", l->url, sizeof l->url);
    if (rc != 0)
        return rc;
    alpaca_link_connect(l);
    return 0;
}

void alpaca_stream_free(alpaca_broker *a)
{
    alpaca_link_stop(&a->stream);
}
