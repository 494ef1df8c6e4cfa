/* fake-alpaca-wsclient: a tiny WebSocket client for the fake's selftest. Connects to
 * ws://127.0.0.1:PORT/PATH, sends each --send message in order, prints every message it
 * receives on its own line (binary frames too) and exits 0 after --count messages,
 * 3 on --timeout (seconds), 4 when the connection closes or fails first. */
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *sends[16];
static int nsends, count = 1000000, received, done, rc = 3;
static char rx[1 << 20];
static size_t rxlen;

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    static int next;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        lws_callback_on_writable(wsi);
        break;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        if (next < nsends) {
            size_t n = strlen(sends[next]);
            unsigned char *buf = malloc(LWS_PRE + n);
            if (!buf)
                return -1;
            memcpy(buf + LWS_PRE, sends[next], n);
            int w = lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_TEXT);
            free(buf);
            if (w < 0)
                return -1;
            if (++next < nsends)
                lws_callback_on_writable(wsi);
        }
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (rxlen + len < sizeof rx) {
            memcpy(rx + rxlen, in, len);
            rxlen += len;
        }
        if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
            printf("%.*s\n", (int)rxlen, rx);
            fflush(stdout);
            rxlen = 0;
            if (++received >= count) {
                done = 1;
                rc = 0;
                return -1;
            }
        }
        break;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        printf("connection error: %s\n", in ? (const char *)in : "?");
        fflush(stdout);
        done = 1;
        rc = 4;
        break;
    case LWS_CALLBACK_CLIENT_CLOSED:
        if (!done) {
            printf("closed\n");
            fflush(stdout);
            done = 1;
            rc = 4;
        }
        break;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
    {"fake-alpaca-wsclient", callback, 0, 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

int main(int argc, char **argv)
{
    int port = 0, timeout = 10;
    const char *path = "/stream";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--port"))
            port = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--path"))
            path = argv[i + 1];
        else if (!strcmp(argv[i], "--send") && nsends < 16)
            sends[nsends++] = argv[i + 1];
        else if (!strcmp(argv[i], "--count"))
            count = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--timeout"))
            timeout = atoi(argv[i + 1]);
    }
    if (!port) {
        fprintf(stderr, "usage: fake-alpaca-wsclient --port N [--path /stream] [--send JSON]... "
                        "[--count N] [--timeout S]\n");
        return 2;
    }
    lws_set_log_level(LLL_ERR, NULL);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    struct lws_context *ctx = lws_create_context(&info);
    if (!ctx)
        return 2;
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = ctx;
    ci.address = "127.0.0.1";
    ci.port = port;
    ci.path = path;
    ci.host = "127.0.0.1";
    ci.origin = "127.0.0.1";
    ci.protocol = NULL;
    if (!lws_client_connect_via_info(&ci)) {
        lws_context_destroy(ctx);
        return 4;
    }
    time_t end = time(NULL) + timeout;
    while (!done && time(NULL) < end)
        lws_service(ctx, 0);
    if (!done)
        printf("timeout\n");
    lws_context_destroy(ctx);
    return rc;
}
