/* test_script_output: print, ctx.log and apex.log are capped per line and per minute of
 * the host clock, never build an oversized line, and say what they dropped. The lines are
 * read back from what the host wrote to stdout. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "output_capture.h"
#include "script/script.h"
#include "util/err.h"
#include "util/log.h"

static apex_time now_us = (apex_time)1709562600 * APEX_SECOND; /* 2024-03-04 14:30 UTC */

static apex_time fake_now(void *ud)
{
    (void)ud;
    return now_us;
}

static char dir[64];
static char script_path[128];
static char out_path[128];
static int saved_stdout = -1;

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/apex-output-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(script_path, sizeof script_path, "%s/strategy.lua", dir);
    snprintf(out_path, sizeof out_path, "%s/out.txt", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(script_path);
    unlink(out_path);
    rmdir(dir);
    return 0;
}

/* stdout (where the host's event lines go) into out_path, until capture_end. */
static void capture_begin(void)
{
    fflush(stdout);
    saved_stdout = dup(STDOUT_FILENO);
    int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    dup2(fd, STDOUT_FILENO);
    close(fd);
}

/* Restores stdout; returns what was written (free it). */
static char *capture_end(void)
{
    fflush(stdout);
    dup2(saved_stdout, STDOUT_FILENO);
    close(saved_stdout);
    return test_read_file(out_path);
}

static int count_lines_with(const char *text, const char *needle)
{
    int n = 0;
    for (const char *line = text; *line;) {
        const char *eol = strchr(line, '\n');
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        char *copy = strndup(line, len);
        if (strstr(copy, needle))
            n++;
        free(copy);
        line += len + (eol ? 1 : 0);
    }
    return n;
}

/* A host whose strategy's on_bar runs body (ctx and bar in scope). */
static script_host *host_with(const char *body)
{
    FILE *f = fopen(script_path, "w");
    assert_non_null(f);
    fprintf(f, "return { on_bar = function(ctx, bar)\n%s\nend }\n", body);
    fclose(f);
    static script_market market = {.now = fake_now};
    char err[512];
    script_limits lim = {.memory_limit = 64u << 20, .deadline_ms = 30000};
    script_host *h = script_host_new("out", lim, &market, err, sizeof err);
    assert_non_null(h);
    if (script_load(h, SCRIPT_STRATEGY, script_path, NULL, err, sizeof err) != 0)
        fail_msg("load: %s", err);
    return h;
}

/* Runs on_bar once at the current fake time; returns its result, err filled. */
static int bar_call(script_host *h, char *err, size_t errlen)
{
    bar b;
    memset(&b, 0, sizeof b);
    b.ts = now_us;
    b.open = b.high = b.low = b.close = MONEY(100);
    script_signal sig;
    return script_on_bar(h, SCRIPT_STRATEGY, &b, "AAPL", NULL, &sig, err, errlen);
}

static void run_ok(script_host *h)
{
    char err[512];
    if (bar_call(h, err, sizeof err) < 0)
        fail_msg("on_bar: %s", err);
}

static void test_print_of_a_huge_string_writes_one_cut_line(void **state)
{
    (void)state;
    /* 16 MB: print used to copy all of it into one log line, on every call. */
    script_host *h = host_with("local s = string.rep('x', 16 * 1024 * 1024)\n"
                               "print('big', s, 'after')\n"
                               "ctx.log('%s|%s', s, 'after')\n"
                               "apex.log('%d %s', 7, s)");
    capture_begin();
    run_ok(h);
    script_host_free(h);
    char *out = capture_end();
    assert_int_equal(count_lines_with(out, "[out] big\txxxx"), 1);
    assert_int_equal(count_lines_with(out, "[out AAPL] xxxx"), 1);
    assert_int_equal(count_lines_with(out, "[out] 7 xxxx"), 1);
    assert_int_equal(count_lines_with(out, "... [cut at 1024 bytes]"), 3);
    assert_null(strstr(out, "after")); /* nothing past the cut was added */
    /* Each line is the timestamp and tag, 1024 bytes of text and the mark. */
    for (const char *line = out; *line;) {
        const char *eol = strchr(line, '\n');
        assert_non_null(eol);
        assert_true(eol - line < 1024 + 80);
        line = eol + 1;
    }
    free(out);
}

static void test_log_formats_like_string_format(void **state)
{
    (void)state;
    script_host *h = host_with(
        "ctx.log('%5.2f|%-4d|%x|%q|%s|%s|%%|%g', math.pi, 7, 255, 'a\\nb', nil, {1} and 'tbl', "
        "0.5)\n"
        "apex.log('plain %s', 'text')\n"
        "print(1, nil, true, 2.5)");
    capture_begin();
    run_ok(h);
    script_host_free(h);
    char *out = capture_end();
    assert_int_equal(count_lines_with(out, "[out AAPL]  3.14|7   |ff|\"a\\"), 1);
    assert_non_null(strstr(out, "b\"|nil|tbl|%|0.5\n"));
    assert_int_equal(count_lines_with(out, "[out] plain text"), 1);
    assert_int_equal(count_lines_with(out, "[out] 1\tnil\ttrue\t2.5"), 1);
    free(out);
}

static void test_log_errors_name_the_argument(void **state)
{
    (void)state;
    static const struct {
        const char *call;
        const char *want;
    } cases[] = {
        {"ctx.log('%d', 1.5)", "bad argument #2 to 'log' (number has no integer representation)"},
        {"ctx.log('%d %s', 1)", "bad argument #3 to 'log' (no value)"},
        {"apex.log('%f', 'x')", "bad argument #2 to 'log' (number expected, got string)"},
        {"ctx.log('%y', 1)", "invalid conversion '%y' to 'format'"},
        {"ctx.log({})", "bad argument #1 to 'log' (string expected, got table)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        script_host *h = host_with(cases[i].call);
        char err[512];
        assert_int_equal(bar_call(h, err, sizeof err), APEX_ESCRIPT);
        if (!strstr(err, cases[i].want))
            fail_msg("%s: got \"%s\", want \"%s\"", cases[i].call, err, cases[i].want);
        script_host_free(h);
    }
}

static void test_lines_per_minute_are_capped_and_counted(void **state)
{
    (void)state;
    /* 1000 lines in one call: 200 go out, 800 are counted. */
    script_host *h = host_with("for i = 1, 1000 do print('line', i) end");
    capture_begin();
    run_ok(h);
    now_us += 30 * APEX_SECOND; /* the same minute: still capped */
    run_ok(h);
    now_us += 31 * APEX_SECOND; /* a new minute: the drop is reported, 200 more go out */
    run_ok(h);
    script_flush_output(h, true); /* the end of the run reports the open minute */
    script_host_free(h);
    char *out = capture_end();
    assert_int_equal(count_lines_with(out, "[out] line\t"), 400);
    assert_int_equal(count_lines_with(out, "[out] line\t200"), 2);
    assert_int_equal(count_lines_with(out, "[out] line\t201"), 0);
    assert_int_equal(count_lines_with(out, "[out] print output capped: 1800 line(s) dropped in "
                                           "the minute from 2024-03-04 14:30:00"),
                     1);
    assert_int_equal(count_lines_with(out, "[out] print output capped: 800 line(s) dropped in "
                                           "the minute from 2024-03-04 14:31:01"),
                     1);
    free(out);
}

static void test_bytes_per_minute_are_capped(void **state)
{
    (void)state;
    /* 100 lines of 1000 bytes: the 64 KiB a minute allow 65 of them. */
    script_host *h = host_with("for i = 1, 100 do ctx.log('%s', string.rep('y', 1000)) end");
    capture_begin();
    run_ok(h);
    script_flush_output(h, true);
    script_host_free(h);
    char *out = capture_end();
    assert_int_equal(count_lines_with(out, "[out AAPL] yyyy"), 65);
    assert_int_equal(count_lines_with(out, "print output capped: 35 line(s) dropped"), 1);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_print_of_a_huge_string_writes_one_cut_line),
        cmocka_unit_test(test_log_formats_like_string_format),
        cmocka_unit_test(test_log_errors_name_the_argument),
        cmocka_unit_test(test_lines_per_minute_are_capped_and_counted),
        cmocka_unit_test(test_bytes_per_minute_are_capped),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
