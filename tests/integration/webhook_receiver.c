/* webhook-receiver: a webhook endpoint for tests/integration/webhook_run.sh, on 127.0.0.1.
 *
 *   webhook-receiver MODE LOG [BODY]   MODE: ok (200) | fail (500) | bad (400)
 *                                            | serve (200 with BODY's contents)
 *
 * `serve` answers every request with what the file BODY holds at that moment, so a test
 * can change the answer while a client polls (tests/integration/http_source.sh: a JSON
 * price source); an unreadable BODY is a 503.
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
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "http_test_server.h"

static const char *mode, *log_path, *body_path;

/* BODY's contents, or NULL; a test rewrites it with a rename, so a read sees one version. */
static char *read_body(void)
{
    FILE *f = fopen(body_path, "rb");
    if (!f)
        return NULL;
    char *text = calloc(1, 65536);
    size_t n = text ? fread(text, 1, 65535, f) : 0;
    fclose(f);
    if (text)
        text[n] = '\0';
    return text;
}

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
    if (strcmp(mode, "serve") == 0) {
        char *body = read_body();
        if (body)
            hts_respond(c, 200, "OK", "Content-Type: application/json\r\n", body);
        else
            hts_respond(c, 503, "Service Unavailable", NULL, "{\"error\":\"no body file\"}");
        free(body);
    } else if (strcmp(mode, "ok") == 0)
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
    bool serve = argc == 4 && strcmp(argv[1], "serve") == 0;
    if (argc != 3 && !serve) {
        fprintf(stderr,
                "usage: webhook-receiver ok|fail|bad LOG | webhook-receiver serve LOG BODY\n");
        return 2;
    }
    mode = argv[1];
    log_path = argv[2];
    body_path = serve ? argv[3] : NULL;
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
