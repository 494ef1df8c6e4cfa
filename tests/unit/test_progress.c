/* progress: the data's end time the backtest's progress line divides by, read from the
 * last row of a bar file whatever the column order, and nothing drawn when it is off. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pipeline/progress.h"

static const char *write_tmp(const char *name, const char *text)
{
    static char path[256];
    snprintf(path, sizeof path, "/tmp/apex-test-progress-%d-%s", (int)getpid(), name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static void test_file_end_reads_the_last_row(void **state)
{
    (void)state;
    /* ISO times in the first column, a comment and a blank line after the last row. */
    const char *p = write_tmp("a.csv", "timestamp,symbol,open,high,low,close,volume\n"
                                       "2024-03-04T14:30:00Z,AAPL,1,1,1,1,10\n"
                                       "2024-03-08T20:59:00Z,AAPL,1,1,1,1,10\n"
                                       "# the end\n\n");
    assert_true(progress_file_end(p) == 1709931540LL * 1000000); /* 2024-03-08 20:59 UTC */
    remove(p);
    /* Unix seconds in the third column, no final newline. */
    p = write_tmp("b.csv", "symbol,close,TimeStamp,open,high,low,volume\n"
                           "SPY,1,1709303400,1,1,1,0\n"
                           "SPY,1,1709303460,1,1,1,0");
    assert_true(progress_file_end(p) == 1709303460LL * 1000000);
    remove(p);
    /* No timestamp column, a missing file: unknown (0), and the line shows no ETA. */
    p = write_tmp("c.csv", "symbol,close\nSPY,1\n");
    assert_true(progress_file_end(p) == 0);
    remove(p);
    assert_true(progress_file_end("/nonexistent/bars.csv") == 0);
}

static void test_off_draws_nothing(void **state)
{
    (void)state;
    progress pr = {0}; /* never started: the host's --quiet or a non-terminal stderr */
    for (int i = 0; i < 5000; i++)
        progress_bar(&pr, 1709303400LL * 1000000 + i);
    progress_end(&pr);
    assert_false(pr.drawn);
    assert_int_equal(pr.bars, 0);
}

static void test_on_draws_and_erases(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    progress pr;
    int64_t t0 = 1709303400LL * 1000000, minute = 60LL * 1000000;
    progress_start(&pr, out, t0 + 2047 * minute);
    for (int i = 0; i < 1024; i++) /* the first draw comes at the 1,024th bar */
        progress_bar(&pr, t0 + i * minute);
    assert_true(pr.drawn);
    progress_end(&pr);
    fclose(out);
    /* 1,023 of 2,047 minutes gone: 49.98%, so 9 of 20 marks and " 50%". */
    assert_non_null(strstr(buf, "2024-03-02 [#########...........]  50%  1,024 bars"));
    assert_non_null(strstr(buf, "ETA"));
    assert_non_null(strstr(buf, "\r\033[K")); /* erased at the end */
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_end_reads_the_last_row),
        cmocka_unit_test(test_off_draws_nothing),
        cmocka_unit_test(test_on_draws_and_erases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
