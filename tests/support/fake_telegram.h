/* fake_telegram: starts tests/fake_telegram's server (the binary named by $FAKE_TELEGRAM) on
 * 127.0.0.1 for a cmocka test, and drives its control API. Tests only; failures fail the
 * test. */
#ifndef APEX_TEST_FAKE_TELEGRAM_H
#define APEX_TEST_FAKE_TELEGRAM_H

#include <jansson.h>
#include <sys/types.h>

typedef struct {
    pid_t pid;
    int port;
    char url[64]; /* "http://127.0.0.1:PORT": the api_url to give the client */
} fake_telegram;

/* Starts the fake with this bot token; it dies with the test process. */
void fake_telegram_start(fake_telegram *f, const char *token);
/* SIGTERM, then waits for it. */
void fake_telegram_stop(fake_telegram *f);
/* POST /_control/<what> with a JSON body; returns the parsed answer (caller decrefs). */
json_t *fake_telegram_control(const fake_telegram *f, const char *what, const char *json);
/* The recorded requests with this method ("" = all): a new array of {method, body, t_ms,
 * fault?} objects (caller decrefs). */
json_t *fake_telegram_requests(const fake_telegram *f, const char *method);

#endif
