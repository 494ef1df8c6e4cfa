/* fake_telegram: see fake_telegram.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fake_telegram.h"
#include "fake_process.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

void fake_telegram_start(fake_telegram *f, const char *token)
{
    const char *bin = getenv("FAKE_TELEGRAM");
    assert_non_null(bin); /* set by CMake for the tests that use it */
    char *argv[] = {(char *)bin, "--port", "0", "--token", (char *)token, NULL};
    f->pid = fake_process_start(argv, &f->port);
    snprintf(f->url, sizeof f->url, "http://127.0.0.1:%d", f->port);
}

void fake_telegram_stop(fake_telegram *f)
{
    if (f->pid <= 0)
        return;
    kill(f->pid, SIGTERM);
    int st = 0;
    waitpid(f->pid, &st, 0);
    f->pid = 0;
}

static json_t *curl_json(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    json_error_t je;
    json_t *j = json_loadf(p, 0, &je);
    assert_int_equal(pclose(p), 0);
    assert_non_null(j);
    return j;
}

json_t *fake_telegram_control(const fake_telegram *f, const char *what, const char *json)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "curl -s -f -X POST -H 'Content-Type: application/json' --data '%s' "
             "http://127.0.0.1:%d/_control/%s",
             json, f->port, what);
    return curl_json(cmd);
}

json_t *fake_telegram_requests(const fake_telegram *f, const char *method)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "curl -s -f http://127.0.0.1:%d/_control/requests", f->port);
    json_t *all = curl_json(cmd), *out = json_array();
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(all, "requests"), i, r)
    {
        const char *m = json_string_value(json_object_get(r, "method"));
        if (!method || !*method || (m && !strcmp(m, method)))
            json_array_append(out, r);
    }
    json_decref(all);
    return out;
}
