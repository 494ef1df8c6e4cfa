/* test_notify: the notification outbox (core/notify, store/store_notify) against the fake
 * Telegram server (tests/fake_telegram) and a webhook receiver (tests/support's
 * http_test_server), on a real loop. Asserted: rows in the store (sent, failed with the
 * reason, summarized), the bytes each receiver got (chat ids, texts, the webhook's JSON and
 * Idempotency-Key), retries until delivery, the summary a flood becomes, the rows a dead
 * notifier left pending sent by the next one, and `check`'s messages. */
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
#include "http_test_server.h"
#include "notify/notify.h"
#include "store/store_notify.h"
#include "store_fixture.h"

#define TOKEN "555111:NOTIFY-test_token"

typedef struct {
    fake_telegram fake;
    hts_server hook;
    int hook_status; /* what the webhook answers */
    char *bodies[64];
    char keys[64][128];
    int nbodies;
    uv_loop_t loop;
    apex_clock *clock;
    tmpdb db;
    store *s;
    pipeline_config cfg;
    notifier *n;
} fixture;

static void on_hook(hts_conn *c, const char *method, const char *path, int nth, void *ud)
{
    fixture *f = ud;
    if (f->nbodies < 64) {
        f->bodies[f->nbodies] = strdup(c->srv->last_body ? c->srv->last_body : "");
        const char *k = strstr(c->srv->last_headers, "Idempotency-Key: ");
        if (k)
            sscanf(k + 17, "%127[^\r\n]", f->keys[f->nbodies]);
        f->nbodies++;
    }
    hts_respond(c, f->hook_status, f->hook_status == 200 ? "OK" : "Error", NULL, "{}");
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    fake_telegram_start(&f->fake, TOKEN);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    f->clock = clock_new_live(&f->loop, 1.0, 0);
    f->hook_status = 200;
    hts_start(&f->hook, &f->loop, on_hook, f);
    tmpdb_make(&f->db);
    char err[512];
    f->s = store_open(f->db.path, STORE_FAST, err, sizeof err);
    assert_non_null(f->s);
    config_defaults(&f->cfg);
    snprintf(f->cfg.name, sizeof f->cfg.name, "demo");
    notify_config *c = &f->cfg.notifications;
    snprintf(c->telegram_token_env, sizeof c->telegram_token_env, "APEX_TEST_TG_TOKEN");
    snprintf(c->telegram_api_url, sizeof c->telegram_api_url, "%s", f->fake.url);
    c->telegram_chat_ids = calloc(2, sizeof(char *));
    c->telegram_chat_ids[0] = strdup("111");
    c->telegram_chat_ids[1] = strdup("-100222");
    c->ntelegram_chat_ids = 2;
    c->webhooks = calloc(1, sizeof *c->webhooks);
    snprintf(c->webhooks[0].url, sizeof c->webhooks[0].url, "http://127.0.0.1:%d/hook",
             f->hook.port);
    c->nwebhooks = 1;
    setenv("APEX_TEST_TG_TOKEN", TOKEN, 1);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    notifier_free(f->n);
    hts_stop(&f->hook);
    clock_free(f->clock);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    fake_telegram_stop(&f->fake);
    store_close(f->s);
    tmpdb_remove(&f->db);
    config_free(&f->cfg);
    for (int i = 0; i < f->nbodies; i++)
        free(f->bodies[i]);
    free(f);
    return 0;
}

static notifier *open_notifier(fixture *f)
{
    notifier_options o = {.loop = &f->loop,
                          .clock = f->clock,
                          .db = f->s,
                          .pipeline = "demo",
                          .cfg = &f->cfg.notifications,
                          .retry_base_ms = 20,
                          .retry_cap_ms = 50,
                          .jitter_seed = 7};
    apex_error e = {0};
    notifier *n = notifier_new(&o, &e);
    if (!n)
        print_message("notifier_new: %s\n", e.msg);
    assert_non_null(n);
    return n;
}

static int64_t rows(fixture *f, const char *where)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM notifications WHERE %s", where);
    return raw_int(f->db.path, sql);
}

/* Runs the loop until no row is pending and nothing is being sent (at most ~20 s). */
static void drain(fixture *f, notifier *n)
{
    for (int i = 0; i < 4000; i++) {
        uv_run(&f->loop, UV_RUN_NOWAIT);
        int64_t pending = 0, failed = 0;
        assert_int_equal(store_notify_counts(f->s, NULL, &pending, &failed), 0);
        if (notifier_busy(n) == 0 && pending == 0)
            return;
        uv_sleep(5);
    }
    fail_msg("notifications still pending");
}

/* Telegram's first chat only. */
static void only_first_chat(fixture *f)
{
    notify_config *c = &f->cfg.notifications;
    c->nwebhooks = 0;
    free(c->telegram_chat_ids[1]);
    c->ntelegram_chat_ids = 1;
}

static notify_event fill_event(void)
{
    return (notify_event){.kind = NOTIFY_FILL,
                          .symbol = "AAPL",
                          .execution_id = 7,
                          .side = "buy",
                          .qty = MONEY(10),
                          .price = CENTS(18025),
                          .fee = CENTS(1),
                          .detail = "entry",
                          .time = T0};
}

static void a_fill_reaches_every_channel_once(void **state)
{
    fixture *f = *state;
    f->n = open_notifier(f);
    notify_event ev = fill_event();
    assert_int_equal(notify_emit(f->n, &ev), 0);
    assert_int_equal(rows(f, "status = 'pending'"), 3); /* queued before anything is sent */
    drain(f, f->n);
    assert_int_equal(rows(f, "status = 'sent' AND attempts = 1"), 3);

    json_t *reqs = fake_telegram_requests(&f->fake, "sendMessage");
    assert_int_equal(json_array_size(reqs), 2);
    int chats[2] = {0, 0};
    for (size_t i = 0; i < 2; i++) {
        json_t *b = json_object_get(json_array_get(reqs, i), "body");
        json_int_t chat = json_integer_value(json_object_get(b, "chat_id"));
        chats[chat == 111 ? 0 : 1] = (int)chat;
        assert_string_equal(json_string_value(json_object_get(b, "text")),
                            "FILL demo AAPL: buy 10 @ 180.25, fee 0.01 (entry) [execution 7]");
    }
    assert_int_equal(chats[0], 111);
    assert_int_equal(chats[1], -100222);
    json_decref(reqs);

    assert_int_equal(f->nbodies, 1);
    json_t *body = json_loads(f->bodies[0], 0, NULL);
    assert_non_null(body);
    assert_string_equal(json_string_value(json_object_get(body, "kind")), "fill");
    assert_string_equal(json_string_value(json_object_get(body, "symbol")), "AAPL");
    assert_int_equal(json_integer_value(json_object_get(body, "execution_id")), 7);
    assert_true(json_is_number(json_object_get(body, "qty")));
    assert_true(json_number_value(json_object_get(body, "qty")) == 10.0);
    assert_true(json_number_value(json_object_get(body, "price")) == 180.25);
    assert_true(json_is_null(json_object_get(body, "pnl")));
    json_decref(body);
    assert_non_null(strstr(f->bodies[0], "\"price\":180.25,")); /* the exact decimal */
    assert_string_equal(f->keys[0], "apex-demo-3");
}

static void disabled_kinds_are_not_queued(void **state)
{
    fixture *f = *state;
    f->n = open_notifier(f);
    notify_event ev = {.kind = NOTIFY_SKIP, .symbol = "AAPL", .reason = "max positions"};
    assert_int_equal(notify_emit(f->n, &ev), 0);
    assert_int_equal(rows(f, "1"), 0);
    f->cfg.notifications.on_skip = true;
    assert_int_equal(notify_emit(f->n, &ev), 0);
    assert_int_equal(rows(f, "kind = 'skip'"), 3);
}

static void failures_are_retried_then_marked_failed_with_the_reason(void **state)
{
    fixture *f = *state;
    f->cfg.notifications.max_attempts = 3;
    f->hook_status = 500; /* the webhook never takes it */
    json_decref(fake_telegram_control(&f->fake, "fault",
                                      "{\"kind\":\"500\",\"method\":\"sendMessage\",\"count\":2}"));
    f->n = open_notifier(f);
    notify_event ev = fill_event();
    assert_int_equal(notify_emit(f->n, &ev), 0);
    drain(f, f->n);
    /* Telegram: two 500s (one per chat, or both on one) then delivered to both */
    assert_int_equal(rows(f, "channel LIKE 'telegram:%' AND status = 'sent'"), 2);
    assert_int_equal(raw_int(f->db.path, "SELECT sum(attempts) FROM notifications WHERE "
                                         "channel LIKE 'telegram:%'"),
                     4);
    /* the webhook: three attempts, then failed with the status */
    assert_int_equal(f->nbodies, 3);
    assert_int_equal(rows(f, "channel = 'webhook:1' AND status = 'failed' AND attempts = 3 AND "
                             "error LIKE '%HTTP 500%'"),
                     1);
    /* the same Idempotency-Key on every attempt */
    assert_string_equal(f->keys[0], f->keys[2]);
    int64_t pending, failed;
    assert_int_equal(store_notify_counts(f->s, NULL, &pending, &failed), 0);
    assert_int_equal(pending, 0);
    assert_int_equal(failed, 1);
}

static void a_refusal_fails_at_once(void **state)
{
    fixture *f = *state;
    f->cfg.notifications.telegram_chat_ids[1][0] = '0'; /* "0" + "100222" -> a bad chat */
    f->cfg.notifications.telegram_chat_ids[1][1] = '\0';
    f->n = open_notifier(f);
    notify_event ev = fill_event();
    assert_int_equal(notify_emit(f->n, &ev), 0);
    drain(f, f->n);
    assert_int_equal(rows(f, "channel = 'telegram:0' AND status = 'failed' AND attempts = 1 AND "
                             "error LIKE '%chat not found%'"),
                     1);
    assert_int_equal(rows(f, "channel = 'telegram:111' AND status = 'sent'"), 1);
    assert_int_equal(rows(f, "error LIKE '%" TOKEN "%'"), 0);
}

/* 1,000 errors at once, at 5 messages a minute: 4 go one by one and the 5th slot carries
 * one summary of the other 996; nothing is left pending. */
static void a_flood_becomes_one_summary(void **state)
{
    fixture *f = *state;
    f->cfg.notifications.rate_limit_per_minute = 5;
    only_first_chat(f);
    f->n = open_notifier(f);
    for (int i = 0; i < 1000; i++) {
        char reason[64];
        snprintf(reason, sizeof reason, "script error %d", i);
        notify_event ev = {
            .kind = i % 10 == 9 ? NOTIFY_FILL : NOTIFY_ERROR, .symbol = "AAPL", .reason = reason};
        assert_int_equal(notify_emit(f->n, &ev), 0);
    }
    drain(f, f->n);
    json_t *reqs = fake_telegram_requests(&f->fake, "sendMessage");
    assert_int_equal(json_array_size(reqs), 5);
    const char *last = json_string_value(
        json_object_get(json_object_get(json_array_get(reqs, 4), "body"), "text"));
    assert_non_null(last);
    assert_non_null(strstr(last, "996 more notifications for demo: 896 error, 100 fill ("));
    json_decref(reqs);
    assert_int_equal(rows(f, "status = 'sent'"), 5);
    assert_int_equal(rows(f, "status = 'summarized'"), 996);
    assert_int_equal(rows(f, "kind = 'summary' AND status = 'sent'"), 1);
    assert_int_equal(rows(f, "status = 'pending'"), 0);
}

/* A notifier that dies with a send in flight (the process killed) leaves its row
 * `sending` (marked before the request left: possibly delivered); the next one, on the
 * same store, puts it back to pending and sends it again. So does a row queued and never
 * tried. */
static void pending_rows_are_sent_after_a_restart(void **state)
{
    fixture *f = *state;
    only_first_chat(f);
    json_decref(fake_telegram_control(&f->fake, "fault", "{\"kind\":\"hang\"}"));
    f->n = open_notifier(f);
    notify_event ev = fill_event();
    assert_int_equal(notify_emit(f->n, &ev), 0);
    for (int i = 0; i < 50; i++) /* the send reaches the fake, which never answers */
        uv_run(&f->loop, UV_RUN_NOWAIT), uv_sleep(2);
    assert_int_equal(notifier_busy(f->n), 1);
    notifier_free(f->n);
    f->n = NULL;
    uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_int_equal(rows(f, "status = 'sending'"), 1);
    assert_int_equal(rows(f, "status = 'pending'"), 0);
    const char *ch[] = {"telegram:111"};
    assert_int_equal(store_notify_queue(f->s, "demo", ch, 1, "exit", 7,
                                        "{\"kind\":\"exit\",\"text\":\"EXIT left over\"}", T0,
                                        NULL),
                     0);

    f->n = open_notifier(f);
    drain(f, f->n);
    assert_int_equal(rows(f, "status = 'sent'"), 2);
    assert_int_equal(rows(f, "status = 'sent' AND error = 'interrupted while sending'"), 0);
    json_t *reqs = fake_telegram_requests(&f->fake, "sendMessage");
    assert_int_equal(json_array_size(reqs), 3); /* the hung one, then both */
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_array_get(reqs, 2), "body"), "text")),
                        "EXIT left over");
    json_decref(reqs);
}

static void a_missing_token_is_a_clear_error(void **state)
{
    fixture *f = *state;
    unsetenv("APEX_TEST_TG_TOKEN");
    notifier_options o = {.loop = &f->loop,
                          .clock = f->clock,
                          .db = f->s,
                          .pipeline = "demo",
                          .cfg = &f->cfg.notifications};
    apex_error e = {0};
    assert_null(notifier_new(&o, &e));
    assert_int_equal(e.code, APEX_ENOTFOUND);
    assert_non_null(strstr(e.msg, "notifications.telegram.token_env"));
    assert_non_null(strstr(e.msg, "environment variable APEX_TEST_TG_TOKEN is not set"));
}

static bool has(const diag_list *d, const char *text)
{
    for (int i = 0; i < d->count; i++)
        if (strstr(d->items[i], text))
            return true;
    return false;
}

static void check_names_each_bad_field(void **state)
{
    fixture *f = *state;
    notify_config *c = &f->cfg.notifications;
    snprintf(f->cfg.path, sizeof f->cfg.path, "p.lua");
    free(c->telegram_chat_ids[1]);
    c->telegram_chat_ids[1] = strdup("my-chat");
    snprintf(c->webhooks[0].url, sizeof c->webhooks[0].url, "http://hooks.example.com/x");
    snprintf(c->webhooks[0].body_template, sizeof c->webhooks[0].body_template,
             "{\"s\":\"{{symbol}}\",\"x\":{{profit}}}");
    diag_list d;
    diag_init(&d);
    assert_int_equal(notify_check(&f->cfg, &d), 3);
    for (int i = 0; i < d.count; i++)
        print_message("%s\n", d.items[i]);
    assert_true(has(&d, "p.lua: notifications.telegram.chat_id[2]: \"my-chat\" is neither"));
    assert_true(has(&d, "p.lua: notifications.webhooks[1].url"));
    assert_true(has(&d, "notifications.webhooks[1].template: unknown field {{profit}}"));
    diag_free(&d);
    diag_init(&d);
    c->telegram_token_env[0] = '\0';
    snprintf(c->webhooks[0].url, sizeof c->webhooks[0].url, "https://hooks.example.com/x");
    c->webhooks[0].body_template[0] = '\0';
    free(c->telegram_chat_ids[1]);
    c->telegram_chat_ids[1] = strdup("@apex_alerts");
    assert_int_equal(notify_check(&f->cfg, &d), 1);
    assert_true(has(&d, "notifications.telegram.token_env: missing"));
    diag_free(&d);
}

static void a_template_fills_its_fields(void **state)
{
    (void)state;
    char *out = NULL, err[256];
    size_t len;
    const char *payload = "{\"kind\":\"exit\",\"symbol\":\"A\\\"B\",\"pnl\":\"-12.5\","
                          "\"qty\":null,\"execution_id\":9}";
    assert_int_equal(notify_render("{\"t\":\"{{ symbol }}\",\"p\":{{pnl}},\"q\":{{qty}},"
                                   "\"e\":{{execution_id}}}",
                                   payload, "notifications.webhooks[1].template", &out, &len, err,
                                   sizeof err),
                     0);
    assert_string_equal(out, "{\"t\":\"A\\\"B\",\"p\":-12.5,\"q\":null,\"e\":9}");
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_fill_reaches_every_channel_once, setup, teardown),
        cmocka_unit_test_setup_teardown(disabled_kinds_are_not_queued, setup, teardown),
        cmocka_unit_test_setup_teardown(failures_are_retried_then_marked_failed_with_the_reason,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_refusal_fails_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(a_flood_becomes_one_summary, setup, teardown),
        cmocka_unit_test_setup_teardown(pending_rows_are_sent_after_a_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(a_missing_token_is_a_clear_error, setup, teardown),
        cmocka_unit_test_setup_teardown(check_names_each_bad_field, setup, teardown),
        cmocka_unit_test(a_template_fills_its_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
