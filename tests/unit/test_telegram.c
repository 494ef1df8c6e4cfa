/* test_telegram: the Telegram Bot API client (core/notify/telegram) against the fake
 * Telegram server (tests/fake_telegram, started here on 127.0.0.1). Asserted: the bytes the
 * fake received (chat_id, text, reply_markup), what the callbacks got (message ids, button
 * presses), a 429's retry_after honoured (the resend reached the fake no earlier than asked,
 * by the fake's own clock), and the bot token absent from every log line and message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "clock/clock.h"
#include "fake_telegram.h"
#include "notify/telegram.h"
#include "output_capture.h"

#define TOKEN "424242:AAE-secret_token_VALUE-xyz"

typedef struct {
    fake_telegram fake;
    uv_loop_t loop;
    apex_clock *clock;
    telegram *tg;
} fixture;

typedef struct {
    int done;
    telegram_result r;
    int nupdates;
    telegram_update u;
    char data[80], username[64], callback_id[32];
} got;

static telegram *new_client(fixture *f, const char *url, int timeout_s)
{
    telegram_options o;
    telegram_options_default(&o);
    o.token = TOKEN;
    o.api_url = url;
    o.timeout_s = timeout_s;
    apex_error e = {0};
    telegram *t = telegram_new(&f->loop, f->clock, &o, &e);
    assert_non_null(t);
    return t;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    fake_telegram_start(&f->fake, TOKEN);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    f->clock = clock_new_live(&f->loop, 1.0, 0);
    f->tg = new_client(f, f->fake.url, 5);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    telegram_free(f->tg);
    clock_free(f->clock);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    fake_telegram_stop(&f->fake);
    free(f);
    return 0;
}

static void on_done(const telegram_result *r, void *ud)
{
    got *g = ud;
    g->r = *r;
    g->done++;
}

static void on_updates(const telegram_result *r, const telegram_update *u, int n, void *ud)
{
    got *g = ud;
    g->r = *r;
    g->nupdates = n;
    if (n > 0) {
        g->u = u[0];
        snprintf(g->data, sizeof g->data, "%s", u[0].data);
        snprintf(g->username, sizeof g->username, "%s", u[0].from_username);
        snprintf(g->callback_id, sizeof g->callback_id, "%s", u[0].callback_id);
    }
    g->done++;
}

static void wait_done(fixture *f, got *g)
{
    while (!g->done)
        uv_run(&f->loop, UV_RUN_ONCE);
}

static const char *sval(json_t *j, const char *path1, const char *path2)
{
    json_t *v = json_object_get(j, path1);
    if (path2)
        v = json_object_get(v, path2);
    return json_string_value(v);
}

static void send_with_buttons_reaches_the_fake(void **state)
{
    fixture *f = *state;
    telegram_button b[] = {{"Approve", "ap:17:abc"}, {"Reject", "rj:17:abc"}};
    telegram_button_row row = {b, 2};
    telegram_keyboard kb = {&row, 1};
    got g = {0};
    assert_int_equal(
        telegram_send_message(f->tg, "111", "Buy 10 AAPL at 180.25?", NULL, &kb, on_done, &g, NULL),
        0);
    assert_int_equal(g.done, 0); /* never inside the call */
    wait_done(f, &g);
    assert_true(g.r.ok);
    assert_int_equal(g.r.error.code, 0);
    assert_int_equal(g.r.message_id, 1);
    json_t *reqs = fake_telegram_requests(&f->fake, "sendMessage");
    assert_int_equal(json_array_size(reqs), 1);
    json_t *body = json_object_get(json_array_get(reqs, 0), "body");
    assert_int_equal(json_integer_value(json_object_get(body, "chat_id")), 111);
    assert_string_equal(sval(body, "text", NULL), "Buy 10 AAPL at 180.25?");
    json_t *btn = json_array_get(
        json_array_get(json_object_get(json_object_get(body, "reply_markup"), "inline_keyboard"),
                       0),
        1);
    assert_string_equal(sval(btn, "text", NULL), "Reject");
    assert_string_equal(sval(btn, "callback_data", NULL), "rj:17:abc");
    assert_null(json_object_get(body, "parse_mode"));
    json_decref(reqs);

    /* the outcome shown by an edit, the buttons removed */
    got e = {0};
    assert_int_equal(telegram_edit_message_text(f->tg, "111", g.r.message_id,
                                                "Buy 10 AAPL at 180.25? Approved by @alice", "HTML",
                                                NULL, on_done, &e, NULL),
                     0);
    wait_done(f, &e);
    assert_true(e.r.ok);
    json_t *msgs = fake_telegram_control(&f->fake, "messages", "{}");
    json_t *m = json_array_get(json_object_get(msgs, "messages"), 0);
    assert_string_equal(sval(m, "text", NULL), "Buy 10 AAPL at 180.25? Approved by @alice");
    assert_null(json_object_get(m, "reply_markup"));
    json_decref(msgs);
    reqs = fake_telegram_requests(&f->fake, "editMessageText");
    body = json_object_get(json_array_get(reqs, 0), "body");
    assert_int_equal(json_integer_value(json_object_get(body, "message_id")), 1);
    assert_string_equal(sval(body, "parse_mode", NULL), "HTML");
    json_decref(reqs);
}

static void bad_keyboard_and_chat_are_refused_before_sending(void **state)
{
    fixture *f = *state;
    char data[66];
    memset(data, 'x', 65);
    data[65] = '\0';
    telegram_button b[] = {{"Approve", data}};
    telegram_button_row row = {b, 1};
    telegram_keyboard kb = {&row, 1};
    apex_error e = {0};
    got g = {0};
    assert_int_equal(telegram_send_message(f->tg, "111", "x", NULL, &kb, on_done, &g, &e),
                     APEX_EINVAL);
    assert_non_null(strstr(e.msg, "callback_data is 65 bytes"));
    data[64] = '\0'; /* 64 is allowed */
    assert_int_equal(telegram_keyboard_check(&kb, NULL), 0);
    assert_int_equal(telegram_send_message(f->tg, "not-a-chat", "x", NULL, NULL, on_done, &g, &e),
                     APEX_EINVAL);
    assert_int_equal(telegram_send_message(f->tg, "111", "", NULL, NULL, on_done, &g, &e),
                     APEX_EINVAL);
    assert_int_equal(telegram_in_flight(f->tg), 0);
    json_t *reqs = fake_telegram_requests(&f->fake, "");
    assert_int_equal(json_array_size(reqs), 0);
    json_decref(reqs);
    /* Telegram's own refusal: chat 0 is "chat not found" at the fake */
    assert_int_equal(telegram_send_message(f->tg, "0", "x", NULL, NULL, on_done, &g, &e), 0);
    wait_done(f, &g);
    assert_false(g.r.ok);
    assert_int_equal(g.r.error.code, APEX_EREJECTED);
    assert_int_equal(g.r.error_code, 400);
    assert_non_null(strstr(g.r.error.msg, "chat not found"));
}

static void long_poll_gets_a_button_press(void **state)
{
    fixture *f = *state;
    got g = {0};
    assert_int_equal(telegram_get_updates(f->tg, 0, 10, on_updates, &g, NULL), 0);
    for (int i = 0; i < 20; i++) /* the poll reaches the fake and waits there */
        uv_run(&f->loop, UV_RUN_NOWAIT);
    json_decref(fake_telegram_control(
        &f->fake, "press",
        "{\"chat_id\":-100222,\"from_id\":5,\"username\":\"alice\",\"message_id\":9,"
        "\"data\":\"ap:17:abc\"}"));
    wait_done(f, &g);
    assert_true(g.r.ok);
    assert_int_equal(g.nupdates, 1);
    assert_int_equal(g.u.kind, TELEGRAM_UPDATE_CALLBACK_QUERY);
    assert_int_equal(g.u.update_id, 1);
    assert_int_equal(g.u.from_id, 5);
    assert_int_equal(g.u.chat_id, -100222);
    assert_int_equal(g.u.message_id, 9);
    assert_string_equal(g.username, "alice");
    assert_string_equal(g.data, "ap:17:abc");
    json_t *reqs = fake_telegram_requests(&f->fake, "getUpdates");
    json_t *body = json_object_get(json_array_get(reqs, 0), "body");
    assert_int_equal(json_integer_value(json_object_get(body, "timeout")), 10);
    json_decref(reqs);

    got a = {0};
    assert_int_equal(
        telegram_answer_callback_query(f->tg, g.callback_id, "Approved", on_done, &a, NULL), 0);
    wait_done(f, &a);
    assert_true(a.r.ok);

    /* the next offset confirms it; a plain message comes through as a message */
    json_decref(fake_telegram_control(&f->fake, "message",
                                      "{\"chat_id\":111,\"from_id\":6,\"text\":\"/status\"}"));
    got m = {0};
    assert_int_equal(telegram_get_updates(f->tg, g.u.update_id + 1, 0, on_updates, &m, NULL), 0);
    wait_done(f, &m);
    assert_int_equal(m.nupdates, 1);
    assert_int_equal(m.u.kind, TELEGRAM_UPDATE_MESSAGE);
    assert_int_equal(m.u.update_id, 2);
    assert_int_equal(m.u.chat_id, 111);

    /* nothing pending: the long poll ends empty at its timeout */
    got none = {0};
    assert_int_equal(telegram_get_updates(f->tg, 3, 1, on_updates, &none, NULL), 0);
    wait_done(f, &none);
    assert_true(none.r.ok);
    assert_int_equal(none.nupdates, 0);
}

static void retry_after_429_is_honoured(void **state)
{
    fixture *f = *state;
    json_decref(fake_telegram_control(
        &f->fake, "fault", "{\"kind\":\"429\",\"method\":\"sendMessage\",\"retry_after\":1}"));
    got g = {0};
    assert_int_equal(telegram_send_message(f->tg, "111", "fill", NULL, NULL, on_done, &g, NULL), 0);
    wait_done(f, &g);
    assert_true(g.r.ok);
    assert_int_equal(g.r.attempts, 2);
    json_t *reqs = fake_telegram_requests(&f->fake, "sendMessage");
    assert_int_equal(json_array_size(reqs), 2);
    json_t *first = json_array_get(reqs, 0), *second = json_array_get(reqs, 1);
    assert_string_equal(sval(first, "fault", NULL), "429");
    assert_null(json_object_get(second, "fault"));
    /* the fake's own clock: the resend came at least retry_after after the refusal */
    assert_true(json_integer_value(json_object_get(second, "t_ms")) -
                    json_integer_value(json_object_get(first, "t_ms")) >=
                1000);
    json_decref(reqs);

    /* a wait longer than max_retry_after_s is handed back, not waited for */
    json_decref(fake_telegram_control(
        &f->fake, "fault", "{\"kind\":\"429\",\"method\":\"sendMessage\",\"retry_after\":600}"));
    got h = {0};
    assert_int_equal(telegram_send_message(f->tg, "111", "fill", NULL, NULL, on_done, &h, NULL), 0);
    wait_done(f, &h);
    assert_false(h.r.ok);
    assert_int_equal(h.r.error.code, APEX_EBUSY);
    assert_int_equal(h.r.retry_after_s, 600);
    assert_int_equal(h.r.attempts, 1);
}

static void free_drops_calls_in_flight(void **state)
{
    fixture *f = *state;
    json_decref(fake_telegram_control(&f->fake, "fault", "{\"kind\":\"hang\"}"));
    got g = {0};
    assert_int_equal(telegram_send_message(f->tg, "111", "x", NULL, NULL, on_done, &g, NULL), 0);
    got p = {0};
    assert_int_equal(telegram_get_updates(f->tg, 0, 30, on_updates, &p, NULL), 0);
    assert_int_equal(telegram_in_flight(f->tg), 2);
    for (int i = 0; i < 20; i++)
        uv_run(&f->loop, UV_RUN_NOWAIT);
    telegram_free(f->tg);
    f->tg = NULL;
    uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_int_equal(g.done, 0);
    assert_int_equal(p.done, 0);
}

/* Every way a call can fail, with the log at its most verbose: the token appears in no
 * line and in no message. */
static void the_token_never_appears(void **state)
{
    fixture *f = *state;
    output_capture cap;
    output_capture_begin(&cap, LOG_DEBUG);
    char msgs[8][600];
    int n = 0;
    got g[8];
    memset(g, 0, sizeof g);
    /* 500, 429 waited for, a hang past the timeout */
    json_decref(fake_telegram_control(&f->fake, "fault", "{\"kind\":\"500\"}"));
    assert_int_equal(telegram_send_message(f->tg, "111", "a", NULL, NULL, on_done, &g[0], NULL), 0);
    wait_done(f, &g[0]);
    json_decref(fake_telegram_control(&f->fake, "fault", "{\"kind\":\"429\",\"retry_after\":0}"));
    assert_int_equal(telegram_send_message(f->tg, "111", "b", NULL, NULL, on_done, &g[1], NULL), 0);
    wait_done(f, &g[1]);
    telegram *slow = new_client(f, f->fake.url, 1);
    json_decref(fake_telegram_control(&f->fake, "fault", "{\"kind\":\"hang\"}"));
    assert_int_equal(telegram_send_message(slow, "111", "c", NULL, NULL, on_done, &g[2], NULL), 0);
    wait_done(f, &g[2]);
    /* a wrong token (401 from the fake), and nobody listening at all */
    telegram_options o;
    telegram_options_default(&o);
    o.token = "424243:AAE-secret_token_VALUE-other";
    o.api_url = f->fake.url;
    telegram *wrong = telegram_new(&f->loop, f->clock, &o, NULL);
    assert_non_null(wrong);
    assert_int_equal(telegram_send_message(wrong, "111", "d", NULL, NULL, on_done, &g[3], NULL), 0);
    wait_done(f, &g[3]);
    telegram *closed = new_client(f, "http://127.0.0.1:1", 1);
    assert_int_equal(telegram_send_message(closed, "111", "e", NULL, NULL, on_done, &g[4], NULL),
                     0);
    wait_done(f, &g[4]);
    for (int i = 0; i < 5; i++)
        if (i != 1) /* [1] succeeded: no message */
            snprintf(msgs[n++], sizeof msgs[0], "%s", g[i].r.error.msg);
    /* a malformed token and a bad URL: refused without quoting it */
    apex_error e = {0};
    o.token = "424242:AAE/secret?token";
    assert_null(telegram_new(&f->loop, f->clock, &o, &e));
    snprintf(msgs[n++], sizeof msgs[0], "%s", e.msg);
    o.token = TOKEN;
    o.api_url = "http://api.example.com";
    assert_null(telegram_new(&f->loop, f->clock, &o, &e));
    snprintf(msgs[n++], sizeof msgs[0], "%s", e.msg);
    telegram_free(slow);
    telegram_free(wrong);
    telegram_free(closed);
    char *out = output_capture_end(&cap);

    assert_true(g[0].r.error.code == APEX_EREJECTED && g[0].r.http_status == 500);
    assert_true(g[1].r.ok);
    assert_int_equal(g[2].r.error.code, APEX_EIO);
    assert_int_equal(g[2].r.outcome, HTTP_OUTCOME_UNKNOWN);
    assert_int_equal(g[3].r.http_status, 401);
    assert_int_equal(g[4].r.error.code, APEX_EIO);
    assert_non_null(strstr(msgs[5], "notifications.telegram.api_url"));
    for (int i = 0; i < n; i++) {
        assert_non_null(strstr(msgs[i], "telegram"));
        assert_null(strstr(msgs[i], "secret_token"));
        assert_null(strstr(msgs[i], "424242"));
    }
    assert_non_null(strstr(out, "429")); /* the log did say something */
    assert_null(strstr(out, "secret_token"));
    assert_null(strstr(out, "424242"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(send_with_buttons_reaches_the_fake, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_keyboard_and_chat_are_refused_before_sending, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(long_poll_gets_a_button_press, setup, teardown),
        cmocka_unit_test_setup_teardown(retry_after_429_is_honoured, setup, teardown),
        cmocka_unit_test_setup_teardown(free_drops_calls_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(the_token_never_appears, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
