/* news: the news file loader (core/market/news.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "market/news.h"
#include "util/err.h"

static char path[64];

static const char *write_news(const char *text)
{
    snprintf(path, sizeof path, "/tmp/apex_news_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t len = strlen(text);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
    return path;
}

static void test_reads_rows_in_order(void **state)
{
    (void)state;
    const char *p = write_news("timestamp,symbol,impact,headline\n"
                               "# scheduled\n"
                               "2024-03-04T15:00:00Z,AAPL,medium,Apple unveils, at last, a laptop\n"
                               "\n"
                               "1709650800,*,HIGH,Regional bank contagion\r\n");
    news_list n = {0};
    char err[256] = "";
    assert_int_equal(news_load(&n, p, err, sizeof err), 0);
    unlink(p);
    assert_int_equal(n.count, 2);
    assert_string_equal(n.items[0].symbol, "AAPL");
    assert_int_equal(n.items[0].impact, 2);
    assert_string_equal(n.items[0].headline, "Apple unveils, at last, a laptop");
    assert_string_equal(n.items[1].symbol, "*");
    assert_int_equal(n.items[1].impact, 3);
    assert_string_equal(n.items[1].headline, "Regional bank contagion");
    const char *headline = NULL;
    assert_int_equal(news_max_impact(&n, "AAPL", 0, n.items[1].ts, &headline), 3);
    assert_string_equal(headline, "Regional bank contagion");
    news_free(&n);
}

/* Found by tests/fuzz/fuzz_news: a line longer than the reader's 1 KiB buffer was cut in
 * two and its tail read as a row of its own, so a long headline could carry a phantom
 * news item (here a high-impact one that "exit on high impact news" would act on), and
 * every later line number was off by one. */
static void test_long_line_is_one_row(void **state)
{
    (void)state;
    char text[4096];
    int n0 = snprintf(text, sizeof text,
                      "timestamp,symbol,impact,headline\n"
                      "2024-03-04T15:00:00Z,AAPL,low,");
    /* Pad the headline so the injected text starts exactly where the buffer ends. */
    int pad = 1023 - (int)strlen("2024-03-04T15:00:00Z,AAPL,low,");
    memset(text + n0, 'x', (size_t)pad);
    snprintf(text + n0 + pad, sizeof text - (size_t)(n0 + pad),
             "2024-03-05T15:00:00Z,SPY,high,injected\n"
             "2024-03-06T15:00:00Z,MSFT,medium,next\n"
             "2024-03-07T15:00:00Z,MSFT,severe,bad impact\n");
    const char *p = write_news(text);
    news_list n = {0};
    char err[256] = "";
    assert_int_equal(news_load(&n, p, err, sizeof err), APEX_EINVAL);
    unlink(p);
    /* The bad row is line 4 of the file, not 5. */
    assert_non_null(strstr(err, ":4: column 'impact'"));

    /* Without the bad row: two items, the long one's headline cut to fit. */
    char *bad = strstr(text, "2024-03-07");
    *bad = '\0';
    p = write_news(text);
    assert_int_equal(news_load(&n, p, err, sizeof err), 0);
    unlink(p);
    assert_int_equal(n.count, 2);
    assert_string_equal(n.items[0].symbol, "AAPL");
    assert_int_equal(n.items[0].impact, 1);
    assert_int_equal(strlen(n.items[0].headline), sizeof n.items[0].headline - 1);
    assert_string_equal(n.items[1].symbol, "MSFT");
    assert_int_equal(news_max_impact(&n, NULL, 0, n.items[1].ts, NULL), 2);
    news_free(&n);
}

/* The symbol column follows the bars' rule (or "*"), so a news item can name ES=F but
 * not a symbol no bar could carry. */
static void test_symbol_column(void **state)
{
    (void)state;
    const char *p = write_news("timestamp,symbol,impact,headline\n"
                               "2024-03-04T15:00:00Z,ES=F,high,Futures halt\n"
                               "2024-03-04T15:01:00Z,AA PL,low,Typo\n");
    news_list n = {0};
    char err[256] = "";
    assert_int_equal(news_load(&n, p, err, sizeof err), APEX_EINVAL);
    unlink(p);
    assert_non_null(strstr(err, ":3: column 'symbol': 'AA PL' is not a symbol; use 1-23 "
                                "characters of A-Z a-z 0-9 . _ / ^ = -, or * for market-wide"));
}

/* No headline length splits a row (issue 8): headlines of 1 KiB, 64 KiB and 1 MiB, each
 * with text that reads like a row wherever a buffer might end, load as one item each,
 * and a bad row after them is reported at its own line. */
static void test_no_headline_length_splits_a_row(void **state)
{
    (void)state;
    static const size_t sizes[] = {1024, 64 * 1024, 1024 * 1024};
    const char *row = "\n2024-03-05T15:00:00Z,SPY,high,phantom\n";
    size_t cap = 64 + 3 * (sizeof "2024-03-04T15:00:00Z,AAPL,low," + 2) + 2 * 1024 * 1024;
    char *text = malloc(cap);
    assert_non_null(text);
    size_t used = (size_t)snprintf(text, cap, "timestamp,symbol,impact,headline\n");
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        used += (size_t)snprintf(text + used, cap - used, "2024-03-04T15:00:0%zuZ,AAPL,low,", i);
        /* the headline repeats something that looks like a row, in every alignment */
        for (size_t k = 0; k < sizes[i]; k++)
            text[used + k] = row[k % strlen(row)] == '\n' ? ' ' : row[k % strlen(row)];
        used += sizes[i];
        text[used++] = '\n';
    }
    text[used] = '\0';
    const char *p = write_news(text);
    news_list n = {0};
    char err[256] = "";
    assert_int_equal(news_load(&n, p, err, sizeof err), 0);
    unlink(p);
    assert_int_equal(n.count, 3);
    for (int i = 0; i < n.count; i++) {
        assert_string_equal(n.items[i].symbol, "AAPL");
        assert_int_equal(n.items[i].impact, 1);
        assert_int_equal(strlen(n.items[i].headline), sizeof n.items[i].headline - 1);
    }
    news_free(&n);

    /* line 5 is the bad one, whatever came before it */
    snprintf(text + used, cap - used, "2024-03-06T15:00:00Z,MSFT,severe,bad impact\n");
    p = write_news(text);
    assert_int_equal(news_load(&n, p, err, sizeof err), APEX_EINVAL);
    unlink(p);
    assert_non_null(strstr(err, ":5: column 'impact'"));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_rows_in_order),
        cmocka_unit_test(test_long_line_is_one_row),
        cmocka_unit_test(test_no_headline_length_splits_a_row),
        cmocka_unit_test(test_symbol_column),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
