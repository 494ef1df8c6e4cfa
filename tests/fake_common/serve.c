/* serve: see serve.h. */
#include "serve.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static volatile sig_atomic_t stopping;
static struct lws_context *ctx;

static void on_signal(int sig)
{
    (void)sig;
    stopping = 1;
    if (ctx)
        lws_cancel_service(ctx);
}

int fake_serve(const char *name, int port, const struct lws_protocols *protocols, int verbose)
{
    lws_set_log_level(verbose ? LLL_ERR | LLL_WARN : LLL_ERR, NULL);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = port;
    info.iface = "127.0.0.1";
    info.protocols = protocols;
    info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
    info.max_http_header_data = 8192;
    info.keepalive_timeout = 3600;
    info.timeout_secs = 3600;
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    ctx = lws_create_context(&info);
    if (!ctx) {
        fprintf(stderr, "%s: cannot listen on 127.0.0.1:%d\n", name, port);
        return 1;
    }
    printf("listening 127.0.0.1:%d\n",
           lws_get_vhost_listen_port(lws_get_vhost_by_name(ctx, "default")));
    fflush(stdout);
    while (!stopping)
        if (lws_service(ctx, 0) < 0)
            break;
    lws_context_destroy(ctx);
    ctx = NULL;
    return 0;
}
