/* credentials and endpoint: where a real broker's keys come from, and where they may go.
 * Every error message is checked for the absence of the secret itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "broker/credentials.h"
#include "broker/endpoint.h"
#include "util/err.h"

#define KEY    "PKTEST0123456789ABCD"
#define SECRET "s3cr3t/ValueThatMustNeverBePrinted0123456789"

static broker_config config_with_file(const char *path)
{
    broker_config c;
    memset(&c, 0, sizeof c);
    c.kind = BROKER_KIND_ALPACA;
    if (path)
        snprintf(c.credentials_file, sizeof c.credentials_file, "%s", path);
    return c;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

static void assert_no_secret(const char *msg)
{
    assert_null(strstr(msg, SECRET));
    assert_null(strstr(msg, KEY));
}

static void test_from_environment_with_default_names(void **state)
{
    (void)state;
    setenv("APCA_API_KEY_ID", KEY, 1);
    setenv("APCA_API_SECRET_KEY", SECRET, 1);
    broker_config c = config_with_file(NULL);
    broker_credentials cr;
    char err[512] = "";
    assert_int_equal(
        credentials_load(&c, "APCA_API_KEY_ID", "APCA_API_SECRET_KEY", &cr, err, sizeof err), 0);
    assert_string_equal(cr.key, KEY);
    assert_string_equal(cr.secret, SECRET);
    assert_string_equal(cr.key_source, "environment variable APCA_API_KEY_ID");
    credentials_wipe(&cr);
    assert_int_equal(cr.secret[0], 0);
    assert_int_equal(cr.key[0], 0);
    unsetenv("APCA_API_KEY_ID");
    unsetenv("APCA_API_SECRET_KEY");
}

static void test_missing_and_bad_environment_values(void **state)
{
    (void)state;
    broker_config c = config_with_file(NULL);
    snprintf(c.key_env, sizeof c.key_env, "TEST_KEY_ID");
    snprintf(c.secret_env, sizeof c.secret_env, "TEST_SECRET");
    unsetenv("TEST_KEY_ID");
    broker_credentials cr;
    char err[512] = "";
    assert_int_equal(credentials_load(&c, "X", "Y", &cr, err, sizeof err), APEX_ENOTFOUND);
    assert_non_null(strstr(err, "TEST_KEY_ID is not set"));

    setenv("TEST_KEY_ID", KEY, 1);
    setenv("TEST_SECRET", SECRET " ", 1); /* a pasted trailing space */
    assert_int_equal(credentials_load(&c, "X", "Y", &cr, err, sizeof err), APEX_EINVAL);
    assert_non_null(strstr(err, "environment variable TEST_SECRET has a space"));
    assert_no_secret(err);
    assert_int_equal(cr.key[0], 0); /* nothing half-loaded is left behind */

    setenv("TEST_SECRET", "", 1);
    assert_int_equal(credentials_load(&c, "X", "Y", &cr, err, sizeof err), APEX_ENOTFOUND);
    assert_non_null(strstr(err, "TEST_SECRET is empty"));
    unsetenv("TEST_KEY_ID");
    unsetenv("TEST_SECRET");
}

static void test_from_a_private_file(void **state)
{
    (void)state;
    char path[] = "/tmp/apex-cred-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    write_file(path,
               "# Alpaca paper account\n"
               "export APCA_API_KEY_ID=" KEY "\r\n"
               "\n"
               "APCA_API_SECRET_KEY=\"" SECRET "\"\n",
               0600);
    setenv("APCA_API_SECRET_KEY", "not-this-one", 1); /* the file wins when it is named */
    broker_config c = config_with_file(path);
    broker_credentials cr;
    char err[512] = "";
    assert_int_equal(
        credentials_load(&c, "APCA_API_KEY_ID", "APCA_API_SECRET_KEY", &cr, err, sizeof err), 0);
    assert_string_equal(cr.key, KEY);
    assert_string_equal(cr.secret, SECRET);
    char want[600];
    snprintf(want, sizeof want, "%s line 4 (APCA_API_SECRET_KEY)", path);
    assert_string_equal(cr.secret_source, want);
    unsetenv("APCA_API_SECRET_KEY");

    /* Readable by others: refused, with the fix. */
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(
        credentials_load(&c, "APCA_API_KEY_ID", "APCA_API_SECRET_KEY", &cr, err, sizeof err),
        APEX_EINVAL);
    assert_non_null(strstr(err, "chmod 600"));
    assert_int_equal(cr.secret[0], 0);

    /* A line without '=' is named by its number; a missing name says what to add. */
    write_file(path, "APCA_API_KEY_ID=" KEY "\n" SECRET "\n", 0600);
    assert_int_equal(
        credentials_load(&c, "APCA_API_KEY_ID", "APCA_API_SECRET_KEY", &cr, err, sizeof err),
        APEX_EINVAL);
    assert_non_null(strstr(err, "line 2 is not NAME=value"));
    assert_no_secret(err);
    write_file(path, "APCA_API_KEY_ID=" KEY "\n", 0600);
    assert_int_equal(
        credentials_load(&c, "APCA_API_KEY_ID", "APCA_API_SECRET_KEY", &cr, err, sizeof err),
        APEX_ENOTFOUND);
    assert_non_null(strstr(err, "has no line APCA_API_SECRET_KEY=...; add it"));
    unlink(path);

    assert_int_equal(
        credentials_load(&c, "APCA_API_KEY_ID", "APCA_API_SECRET_KEY", &cr, err, sizeof err),
        APEX_ENOTFOUND);
    assert_non_null(strstr(err, "cannot open"));
}

static void test_endpoints(void **state)
{
    (void)state;
    char out[512], err[512];
    assert_int_equal(endpoint_resolve("", "https://paper-api.alpaca.markets", "broker.base_url",
                                      out, sizeof out, err, sizeof err),
                     0);
    assert_string_equal(out, "https://paper-api.alpaca.markets");
    assert_int_equal(endpoint_resolve("https://api.alpaca.markets/", "x", "broker.base_url", out,
                                      sizeof out, err, sizeof err),
                     0);
    assert_string_equal(out, "https://api.alpaca.markets");
    assert_int_equal(endpoint_resolve("http://127.0.0.1:8123", "x", "broker.base_url", out,
                                      sizeof out, err, sizeof err),
                     0);
    assert_true(endpoint_is_loopback("http://localhost:9/v2"));
    assert_true(endpoint_is_loopback("http://[::1]:9"));
    assert_false(endpoint_is_loopback("http://127.0.0.1.evil.example/"));

    assert_int_equal(endpoint_resolve("http://api.alpaca.markets", "x", "broker.base_url", out,
                                      sizeof out, err, sizeof err),
                     APEX_EINVAL);
    assert_non_null(strstr(err, "broker.base_url: \"http://api.alpaca.markets\" is plain http"));
    assert_int_equal(endpoint_resolve("https://user:pw@api.alpaca.markets", "x", "broker.base_url",
                                      out, sizeof out, err, sizeof err),
                     APEX_EINVAL);
    assert_non_null(strstr(err, "user name or password"));
    assert_null(strstr(err, "pw@"));
    assert_int_equal(endpoint_resolve("paper-api.alpaca.markets", "x", "broker.data_url", out,
                                      sizeof out, err, sizeof err),
                     APEX_EINVAL);
    assert_non_null(strstr(err, "broker.data_url:"));

    assert_int_equal(
        endpoint_websocket("https://paper-api.alpaca.markets", "/stream", out, sizeof out), 0);
    assert_string_equal(out, "wss://paper-api.alpaca.markets/stream");
    assert_int_equal(endpoint_websocket("http://127.0.0.1:9", "/v2/iex", out, sizeof out), 0);
    assert_string_equal(out, "ws://127.0.0.1:9/v2/iex");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_from_environment_with_default_names),
        cmocka_unit_test(test_missing_and_bad_environment_values),
        cmocka_unit_test(test_from_a_private_file),
        cmocka_unit_test(test_endpoints),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
