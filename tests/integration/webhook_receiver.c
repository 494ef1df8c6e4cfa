/* webhook-receiver: a webhook endpoint for tests/integration/webhook_run.sh, on 127.0.0.1.
 *
 *   webhook-receiver MODE LOG      MODE: ok (200) | fail (500) | bad (400)
 *
 * Prints "listening PORT" on the first line, then appends every request it gets to LOG as
 *   REQUEST <method> <path>
 *   <the request's header lines>
 *   BODY <length>
 *   <the body>
 * and runs until SIGTERM. A test tool, never part of the product. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "http_test_server.h"

static const char *mode, *log_path;

static void record(hts_conn *c, const char *method, const char *path, int nth, void *ud)
{
    (void)nth;
    (void)ud;
    hts_server *s = c->srv;
    FILE *f = fopen(log_path, "a");
    if (f) {
        fprintf(f, "REQUEST %s %s\n%sBODY %zu\n%s\n", method, path, s->last_headers,
                s->last_body_len, s->last_body ? s->last_body : "");
        fclose(f);
    }
    if (strcmp(mode, "ok") == 0)
        hts_respond(c, 200, "OK", NULL, "{\"received\":true}");
    else if (strcmp(mode, "bad") == 0)
        hts_respond(c, 400, "Bad Request", NULL, "{\"error\":\"unknown symbol\"}");
    else
        hts_respond(c, 500, "Internal Server Error", NULL, "{\"error\":\"queue full\"}");
}

static void on_signal(uv_signal_t *sig, int signum)
{
    (void)signum;
    uv_stop(sig->loop);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: webhook-receiver ok|fail|bad LOG\n");
        return 2;
    }
    mode = argv[1];
    log_path = argv[2];
    uv_loop_t *loop = uv_default_loop();
    hts_server srv;
    hts_start(&srv, loop, record, NULL);
    uv_signal_t term;
    uv_signal_init(loop, &term);
    uv_signal_start(&term, on_signal, SIGTERM);
    printf("listening %d\n", srv.port);
    fflush(stdout);
    uv_run(loop, UV_RUN_DEFAULT);
    hts_stop(&srv);
    uv_close((uv_handle_t *)&term, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    return 0;
}
