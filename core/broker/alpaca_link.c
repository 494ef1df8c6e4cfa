/* alpaca_link: one WebSocket to Alpaca, reconnected with backoff until stopped (see
 * alpaca_internal.h). The trade_updates stream and every market-data stream share it, so
 * they fail, wait and come back the same way: a close, an error, an unparsable greeting
 * or a refusal the owner reports with alpaca_link_drop all wait ALPACA_STREAM_BACKOFF_MS
 * first, doubling to ALPACA_STREAM_BACKOFF_MAX_MS, and the wait goes back to the first
 * once the owner says the link works (alpaca_link_up).
 *
 * The wait is jittered upwards by up to a quarter: hosts (or accounts) that lost their
 * streams together do not all come back in the same instant, and no wait is shorter than
 * the backoff, so a refused key is never retried faster than once a second. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "broker/alpaca_internal.h"
#include "util/err.h"
#include "util/log.h"

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void on_open(ws_client *ws, void *user)
{
    (void)ws;
    alpaca_link *l = user;
    if (l->on_open)
        l->on_open(l);
}

static void on_message(ws_client *ws, const char *data, size_t len, bool binary, void *user)
{
    (void)ws;
    (void)binary; /* Alpaca's paper trade stream sends its JSON in binary frames */
    alpaca_link *l = user;
    char what[64], err[256];
    snprintf(what, sizeof what, "alpaca: %s message", l->what);
    json_t *msg = alpaca_json_parse(data, len, what, err, sizeof err);
    if (!msg) {
        log_warn("%s", err); /* a position and jansson's reason, no contents */
        return;
    }
    l->on_message(l, msg);
    json_decref(msg);
}

static void on_error(ws_client *ws, int err, const char *message, void *user)
{
    (void)ws;
    (void)err;
    alpaca_link *l = user;
    /* on_close follows at once; it reports with this reason. */
    snprintf(l->error, sizeof l->error, "%s", message);
}

static void on_close(ws_client *ws, int code, const char *reason, bool was_clean, void *user)
{
    (void)ws; /* l->ws: alpaca_link_drop frees it, which a callback may do */
    (void)was_clean;
    alpaca_link *l = user;
    char why[200];
    if (l->error[0])
        snprintf(why, sizeof why, "%s", l->error);
    else /* a close reason is a short status line (ws.h's own, or the server's) */
        snprintf(why, sizeof why, "closed with code %d%s%.80s", code, reason[0] ? ": " : "",
                 reason);
    l->error[0] = '\0';
    alpaca_link_drop(l, why);
}

static void reconnect_tick(clock_timer *timer, void *ud)
{
    (void)timer;
    alpaca_link *l = ud;
    if (!l->ws)
        alpaca_link_connect(l);
}

void alpaca_link_init(alpaca_link *l, struct alpaca_broker *a, const char *what)
{
    l->a = a;
    l->what = what;
    l->backoff_ms = ALPACA_STREAM_BACKOFF_MS;
    l->jitter = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)l;
    clock_timer_init(a->clock, &l->reconnect, reconnect_tick, l);
}

void alpaca_link_connect(alpaca_link *l)
{
    if (l->ws)
        return;
    clock_timer_stop(&l->reconnect);
    ws_options o = {
        .url = l->url,
        .cb = {.on_open = on_open,
               .on_message = on_message,
               .on_error = on_error,
               .on_close = on_close},
        .user = l,
    };
    char err[256];
    l->error[0] = '\0';
    l->ws = ws_open(l->a->loop, &o, err, sizeof err);
    if (!l->ws)
        alpaca_link_drop(l, err);
}

void alpaca_link_drop(alpaca_link *l, const char *why)
{
    ws_free(l->ws); /* no callback of it runs after this */
    l->ws = NULL;
    int wait_ms = l->backoff_ms + (int)(splitmix64(&l->jitter) % (uint64_t)(l->backoff_ms / 4 + 1));
    clock_timer_start_in(&l->reconnect, (apex_time)wait_ms * 1000);
    l->backoff_ms = l->backoff_ms * 2 > ALPACA_STREAM_BACKOFF_MAX_MS ? ALPACA_STREAM_BACKOFF_MAX_MS
                                                                     : l->backoff_ms * 2;
    if (l->on_down)
        l->on_down(l, why, wait_ms);
}

void alpaca_link_up(alpaca_link *l)
{
    l->backoff_ms = ALPACA_STREAM_BACKOFF_MS;
}

int alpaca_link_send_auth(alpaca_link *l)
{
    const broker_credentials *cred = &l->a->cred;
    char auth[2 * 2 * CREDENTIAL_MAX + 64];
    int rc = alpaca_encode_stream_auth(cred->key, cred->secret, auth, sizeof auth);
    if (rc == 0)
        rc = ws_send_text_secret(l->ws, auth, strlen(auth));
    explicit_bzero(auth, sizeof auth); /* ws copied it; this copy holds the secret too */
    return rc;
}

void alpaca_link_stop(alpaca_link *l)
{
    clock_timer_stop(&l->reconnect);
    ws_free(l->ws);
    l->ws = NULL;
}
