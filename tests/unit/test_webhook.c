/* test_webhook: the webhook tool's body, signature and post. The signature is checked
 * against `openssl dgst -sha256 -hmac` (OpenSSL's command line, an implementation
 * independent of the HMAC() call under test); the posts go to a server the test runs on
 * 127.0.0.1, which records what arrived. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "exec/webhook.h"
#include "http_test_server.h"
#include "util/err.h"

#define KEY "whsec_test_key_0123456789"

/* ---- the body ---- */

static webhook_signal sample(void)
{
    return (webhook_signal){
        .pipeline = "swing",
        .execution_id = 42,
        .symbol = "AAPL",
        .side = "buy",
        .qty = MONEY(10),
        .entry = 18725000000,     /* 187.25 */
        .stop_loss = 18350500000, /* 183.505 */
        .take_profit = 48000,     /* 0.00048 */
        .reason = "SMA \"cross\"\nup",
        .time = 1709303400000000, /* 2024-03-01 14:30:00 UTC */
    };
}

static void test_default_body_is_every_field_exactly(void **state)
{
    (void)state;
    webhook_signal s = sample();
    char *body = NULL, err[256];
    size_t len = 0;
    assert_int_equal(webhook_render("", &s, &body, &len, err, sizeof err), 0);
    assert_string_equal(body, "{\"pipeline\":\"swing\",\"execution_id\":42,\"symbol\":\"AAPL\","
                              "\"side\":\"buy\",\"qty\":10,\"entry\":187.25,\"stop_loss\":183.505,"
                              "\"take_profit\":0.00048,\"reason\":\"SMA \\\"cross\\\"\\u000aup\","
                              "\"time\":\"2024-03-01T14:30:00Z\"}");
    assert_int_equal(len, strlen(body));
    free(body);
}

static void test_template_fields_and_errors(void **state)
{
    (void)state;
    webhook_signal s = sample();
    char *body = NULL, err[256];
    size_t len = 0;
    assert_int_equal(webhook_render("{\"text\":\"{{ side }} {{qty}} {{symbol}} @ {{entry}}\"}", &s,
                                    &body, &len, err, sizeof err),
                     0);
    assert_string_equal(body, "{\"text\":\"buy 10 AAPL @ 187.25\"}");
    free(body);

    assert_int_equal(webhook_template_check("{\"s\":\"{{symbl}}\"}", err, sizeof err), APEX_EINVAL);
    assert_non_null(strstr(err, "execution.webhook_template: unknown field {{symbl}} at "
                                "character 7"));
    assert_int_equal(webhook_template_check("{{symbol", err, sizeof err), APEX_EINVAL);
    assert_non_null(strstr(err, "no closing }}"));
    assert_int_equal(webhook_template_check("plain text, no fields", err, sizeof err), 0);
}

/* ---- the signature ---- */

/* HMAC-SHA256 of the file's bytes by OpenSSL's command line. */
static void openssl_hmac(const char *body, size_t len, char out[65])
{
    char path[] = "/tmp/apex-webhook-body-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, body, len), (ssize_t)len);
    close(fd);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "openssl dgst -sha256 -hmac '%s' -r %s", KEY, path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char line[256] = "";
    assert_non_null(fgets(line, sizeof line, p));
    assert_int_equal(pclose(p), 0);
    unlink(path);
    memcpy(out, line, 64); /* "-r": the hex digest, then " *<file>" */
    out[64] = '\0';
}

static void test_signature_matches_openssl(void **state)
{
    (void)state;
    const char *bodies[] = {"{}", "{\"symbol\":\"AAPL\",\"qty\":10}", ""};
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
        char mine[65], theirs[65];
        webhook_sign(KEY, strlen(KEY), bodies[i], strlen(bodies[i]), mine);
        openssl_hmac(bodies[i], strlen(bodies[i]), theirs);
        assert_string_equal(mine, theirs);
    }
    /* RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?". */
    char hex[65];
    const char *data = "what do ya want for nothing?";
    webhook_sign("Jefe", 4, data, strlen(data), hex);
    assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

static void test_url_label_hides_path_and_credentials(void **state)
{
    (void)state;
    char out[160];
    webhook_url_label("https://hooks.slack.com/services/T000/B000/XXXXSECRET", out, sizeof out);
    assert_string_equal(out, "https://hooks.slack.com");
    webhook_url_label("http://user:pw@127.0.0.1:8080/hook?token=abc", out, sizeof out);
    assert_string_equal(out, "http://127.0.0.1:8080");
}

/* ---- posts against a local receiver ---- */

typedef struct {
    uv_loop_t loop;
    hts_server srv;
    http_client *client;
    webhook_call call;
    int done;
    webhook_outcome got;
} fixture;

static void receiver(hts_conn *c, const char *method, const char *path, int nth, void *ud)
{
    (void)method;
    (void)ud;
    if (strcmp(path, "/ok") == 0)
        hts_respond(c, 200, "OK", NULL, "received");
    else if (strcmp(path, "/flaky") == 0)
        hts_respond(c, nth <= 2 ? 503 : 200, nth <= 2 ? "Unavailable" : "OK", NULL,
                    nth <= 2 ? "busy" : "ok");
    else if (strcmp(path, "/refuses") == 0)
        hts_respond(c, 500, "Internal Server Error", NULL, "database\nlocked");
    else if (strcmp(path, "/bad-request") == 0)
        hts_respond(c, 400, "Bad Request", NULL, "unknown field");
    /* "/hang": never answers */
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    uv_loop_init(&f->loop);
    hts_start(&f->srv, &f->loop, receiver, NULL);
    http_client_options o;
    http_client_options_default(&o);
    o.jitter_seed = 7;
    o.retry.base_ms = 10; /* quick retries for the test */
    apex_error e;
    f->client = http_client_new(&f->loop, &o, &e);
    assert_non_null(f->client);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    http_client_free(f->client);
    hts_stop(&f->srv);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    free(f);
    return 0;
}

static void on_done(const webhook_outcome *o, void *ud)
{
    fixture *f = ud;
    f->got = *o;
    f->done++;
}

static void post(fixture *f, const char *path, const char *secret, int retries, int timeout_s)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", f->srv.port, path);
    webhook_target t = {.url = url, .secret = secret, .timeout_s = timeout_s, .retries = retries};
    const char *body = "{\"symbol\":\"AAPL\",\"side\":\"buy\"}";
    apex_error e;
    f->done = 0;
    assert_int_equal(
        webhook_post(f->client, &f->call, &t, "swing-42", body, strlen(body), on_done, f, &e), 0);
    while (!f->done)
        uv_run(&f->loop, UV_RUN_ONCE);
}

static const char *header(fixture *f, const char *name)
{
    static char value[256];
    const char *h = strcasestr(f->srv.last_headers, name);
    if (!h)
        return NULL;
    h += strlen(name) + 1;
    while (*h == ' ')
        h++;
    size_t n = strcspn(h, "\r\n");
    snprintf(value, sizeof value, "%.*s", (int)n, h);
    return value;
}

static void test_post_signed_and_completed(void **state)
{
    fixture *f = *state;
    post(f, "/ok", KEY, 3, 5);
    assert_int_equal(f->got.ok, 1);
    assert_int_equal(f->got.status, 200);
    assert_int_equal(hts_hits(&f->srv, "/ok"), 1);
    char label[64];
    snprintf(label, sizeof label, "webhook http://127.0.0.1:%d: HTTP 200", f->srv.port);
    assert_memory_equal(f->got.reason, label, strlen(label)); /* host only, no path */
    assert_non_null(strstr(f->got.reason, ": HTTP 200 after 1 attempt"));
    assert_string_equal(f->srv.last_body, "{\"symbol\":\"AAPL\",\"side\":\"buy\"}");
    assert_string_equal(header(f, "Idempotency-Key:"), "swing-42");
    assert_string_equal(header(f, "Content-Type:"), "application/json");
    char theirs[65], want[80];
    openssl_hmac(f->srv.last_body, f->srv.last_body_len, theirs);
    snprintf(want, sizeof want, "sha256=%s", theirs);
    assert_string_equal(header(f, "X-Apex-Signature:"), want);
}

static void test_post_retried_then_completed_and_stops(void **state)
{
    fixture *f = *state;
    post(f, "/flaky", NULL, 3, 5);
    assert_int_equal(f->got.ok, 1);
    assert_int_equal(f->got.attempts, 3);
    assert_int_equal(hts_hits(&f->srv, "/flaky"), 3); /* no post after the success */
    assert_null(header(f, "X-Apex-Signature:"));      /* unsigned without a key */
    /* Every attempt carried the same key, so the receiver can drop repeats. */
    assert_string_equal(header(f, "Idempotency-Key:"), "swing-42");
}

static void test_post_fails_with_the_receivers_words(void **state)
{
    fixture *f = *state;
    post(f, "/refuses", NULL, 1, 5);
    assert_int_equal(f->got.ok, 0);
    assert_int_equal(hts_hits(&f->srv, "/refuses"), 2);
    assert_non_null(strstr(f->got.reason, ": HTTP 500 after 2 attempts: database locked"));
    post(f, "/bad-request", NULL, 3, 5); /* a 4xx is the receiver's verdict: not retried */
    assert_int_equal(f->got.ok, 0);
    assert_int_equal(hts_hits(&f->srv, "/bad-request"), 1);
}

static void test_post_to_a_silent_receiver_times_out(void **state)
{
    fixture *f = *state;
    post(f, "/hang", NULL, 0, 1);
    assert_int_equal(f->got.ok, 0);
    assert_int_equal(f->got.status, 0);
    assert_non_null(strstr(f->got.reason, ": no answer after 1 attempt (timeout)"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_body_is_every_field_exactly),
        cmocka_unit_test(test_template_fields_and_errors),
        cmocka_unit_test(test_signature_matches_openssl),
        cmocka_unit_test(test_url_label_hides_path_and_credentials),
        cmocka_unit_test_setup_teardown(test_post_signed_and_completed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_post_retried_then_completed_and_stops, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_post_fails_with_the_receivers_words, setup, teardown),
        cmocka_unit_test_setup_teardown(test_post_to_a_silent_receiver_times_out, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
