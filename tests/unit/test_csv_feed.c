/* csv_feed: bars read from CSV files exactly as written, every malformed row reported
 * with file:line:column, files merged in time order, and tail-style following. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "market/csv_feed.h"
#include "util/err.h"

#define T0 ((apex_time)1709303400 * APEX_SECOND) /* 2024-03-01 14:30:00 UTC */

static char tmpdir[256];

static int setup_dir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/apex_csv_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *write_file(const char *name, const char *text)
{
    static char path[4][512];
    static int slot;
    char *p = path[slot++ % 4];
    snprintf(p, 512, "%s/%s", tmpdir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return p;
}

static void append_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "a");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static money_t m(const char *s)
{
    money_t v;
    assert_int_equal(money_parse(s, strlen(s), &v), 0);
    return v;
}

static void test_reads_multi_symbol_file(void **state)
{
    (void)state;
    /* Columns in a free order, mixed case, CRLF line ends, comments and blank lines. */
    const char *path =
        write_file("bars.csv", "# exported 2024-03-01\r\n"
                               "Symbol,Timestamp,Close,Open,High,Low,Volume,Bid,Ask,extra\r\n"
                               "AAPL,2024-03-01T14:30:00Z,180.25,180.00,180.50,179.90,1200,"
                               "180.24,180.26,x\r\n"
                               "MSFT,2024-03-01T14:30:00Z,410.10,410.00,410.20,409.80,800,,,y\r\n"
                               "\r\n"
                               "# a comment between rows\r\n"
                               "AAPL,2024-03-01T14:31:00Z,180.40,180.25,180.45,180.20,950.5,"
                               "180.39,180.41,z");
    char err[256] = "";
    symtab *syms = symtab_new();
    csv_feed *f = csv_feed_open(path, syms, false, err, sizeof err);
    assert_non_null(f);
    assert_string_equal(csv_feed_path(f), path);
    bar b;

    assert_int_equal(csv_feed_next(f, &b, err, sizeof err), 1);
    assert_string_equal(symtab_name(syms, b.symbol_id), "AAPL");
    assert_true(b.ts == T0);
    assert_true(b.open == m("180.00") && b.high == m("180.50") && b.low == m("179.90"));
    assert_true(b.close == m("180.25") && b.volume == m("1200"));
    assert_true(b.bid == m("180.24") && b.ask == m("180.26"));
    assert_int_equal(csv_feed_line(f), 3);

    assert_int_equal(csv_feed_next(f, &b, err, sizeof err), 1);
    assert_string_equal(symtab_name(syms, b.symbol_id), "MSFT");
    assert_true(b.close == m("410.10"));
    assert_true(b.bid == 0 && b.ask == 0); /* empty quote cells: no quote */

    /* The last line has no newline: still a row once the file has ended. */
    assert_int_equal(csv_feed_next(f, &b, err, sizeof err), 1);
    assert_int_equal(b.symbol_id, symtab_find(syms, "AAPL"));
    assert_true(b.ts == T0 + APEX_MINUTE);
    assert_true(b.volume == m("950.5"));
    assert_int_equal(csv_feed_line(f), 7);

    assert_int_equal(csv_feed_next(f, &b, err, sizeof err), 0);
    assert_int_equal(csv_feed_next(f, &b, err, sizeof err), 0);
    assert_int_equal(symtab_count(syms), 2);
    csv_feed_close(f);
    symtab_free(syms);
}

static void test_timestamp_forms(void **state)
{
    (void)state;
    /* Every row is the same instant (or 250 ms later) written differently. */
    const char *path = write_file("ts.csv", "timestamp,symbol,open,high,low,close,volume\n"
                                            "1709303400,SPY,1,1,1,1,0\n"
                                            "2024-03-01T14:30:00Z,SPY,1,1,1,1,0\n"
                                            "2024-03-01 14:30:00,SPY,1,1,1,1,0\n"
                                            "2024-03-01T14:30,SPY,1,1,1,1,0\n"
                                            "2024-03-01T09:30:00-05:00,SPY,1,1,1,1,0\n"
                                            "2024-03-01T14:30:00.250Z,SPY,1,1,1,1,0\n"
                                            "2024-03-02,SPY,1,1,1,1,0\n");
    char err[256];
    symtab *syms = symtab_new();
    csv_feed *f = csv_feed_open(path, syms, false, err, sizeof err);
    assert_non_null(f);
    bar b;
    for (int i = 0; i < 5; i++) {
        assert_int_equal(csv_feed_next(f, &b, err, sizeof err), 1);
        assert_true(b.ts == T0);
    }
    assert_int_equal(csv_feed_next(f, &b, err, sizeof err), 1);
    assert_true(b.ts == T0 + 250000);
    assert_int_equal(csv_feed_next(f, &b, err, sizeof err), 1);
    assert_true(b.ts == (apex_time)1709337600 * APEX_SECOND); /* 2024-03-02 00:00 */
    csv_feed_close(f);

    /* A spreadsheet export with a byte order mark and quoted cells reads the same. */
    path = write_file("bom.csv", "\xEF\xBB\xBF\"timestamp\",\"symbol\",open,high,low,close,volume\n"
                                 "\"2024-03-01 14:30:00\",\"SPY\",510.1,510.2,510,510.15,100\n");
    f = csv_feed_open(path, syms, false, err, sizeof err);
    assert_non_null(f);
    assert_int_equal(csv_feed_next(f, &b, err, sizeof err), 1);
    assert_true(b.ts == T0);
    assert_true(b.close == m("510.15"));
    csv_feed_close(f);
    symtab_free(syms);
}

typedef struct {
    const char *row;
    const char *message; /* expected after "<path>:3: " */
} bad_case;

static void test_malformed_rows_name_file_line_column(void **state)
{
    (void)state;
    const char *header = "timestamp,symbol,open,high,low,close,volume\n";
    const char *good = "2024-03-01T14:30:00Z,AAPL,10,11,9,10.5,100\n";
    const char *later = "2024-03-01T14:31:00Z,AAPL,10,11,9,10.5,100\n";
    bad_case cases[] = {
        {"2024-03-01T14:31:00Z,AAPL,10,11,9,abc,100", "column 'close': 'abc' is not a number"},
        {"2024-03-01T14:31:00Z,AAPL,10,11,9,1e3,100", "column 'close': '1e3' is not a number"},
        {"2024-13-01T14:31:00Z,AAPL,10,11,9,10,100", "column 'timestamp': '2024-13-01T14:31:00Z' "
                                                     "is not a timestamp"},
        {"yesterday,AAPL,10,11,9,10,100", "column 'timestamp': 'yesterday' is not a timestamp"},
        {"1709303400123,AAPL,10,11,9,10,100", "column 'timestamp': '1709303400123' is not"},
        {"2024-03-01T14:29:00Z,AAPL,10,11,9,10,100",
         "column 'timestamp': 2024-03-01 14:29:00 is earlier than the previous row's "
         "2024-03-01 14:30:00"},
        {"2024-03-01T14:31:00Z,AAPL,10,10.2,9,10.5,100",
         "column 'high': '10.2' is below open or close"},
        {"2024-03-01T14:31:00Z,AAPL,10,11,10.1,10.5,100",
         "column 'low': '10.1' is above open or close"},
        {"2024-03-01T14:31:00Z,AAPL,10,11,9,10,-5", "column 'volume': '-5' must not be negative"},
        {"2024-03-01T14:31:00Z,AAPL,0,11,0,10,5", "column 'open': '0' must be greater than 0"},
        {"2024-03-01T14:31:00Z,AAPL,-1,11,-2,10,5", "column 'open': '-1' must be greater than 0"},
        {"2024-03-01T14:31:00Z,AAPL,10,,9,10,5", "column 'high' is empty"},
        {"2024-03-01T14:31:00Z,AA PL,10,11,9,10,5", "column 'symbol': 'AA PL' is not a symbol"},
        {"2024-03-01T14:31:00Z,,10,11,9,10,5", "column 'symbol': '' is not a symbol"},
        {"2024-03-01T14:31:00Z,AAPL,10,11,9,10", "expected 7 columns as in the header, found 6"},
        {"2024-03-01T14:31:00Z,AAPL,10,11,9,10,5,6", "expected 7 columns as in the header, "
                                                     "found 8"},
        /* Runs of commas within one 8-byte word and across words (split_fields' SWAR). */
        {"2024-03-01T14:31:00Z,AAPL,10,11,9,10,5,,,,,,,,,", "expected 7 columns as in the "
                                                            "header, found 16"},
        {",,,,,,,,,,,,,,,,,,,,,,", "expected 7 columns as in the header, found 23"},
        {"2024-03-01T14:31:00Z,AAPL,99999999999,99999999999,9,10,5",
         "column 'open': '99999999999' is out of range"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[512];
        snprintf(text, sizeof text, "%s%s%s\n%s%s", header, good, cases[i].row, good, later);
        const char *path = write_file("bad.csv", text);
        char err[256] = "";
        symtab *syms = symtab_new();
        csv_feed *f = csv_feed_open(path, syms, false, err, sizeof err);
        assert_non_null(f);
        bar b;
        assert_int_equal(csv_feed_next(f, &b, err, sizeof err), 1);
        assert_true(b.close == m("10.5"));
        int rc = csv_feed_next(f, &b, err, sizeof err);
        assert_int_equal(rc, APEX_EINVAL);
        char expect[400];
        snprintf(expect, sizeof expect, "%s:3: %s", path, cases[i].message);
        if (strncmp(err, expect, strlen(expect)) != 0)
            fail_msg("case %zu: got \"%s\", want prefix \"%s\"", i, err, expect);
        /* The bad row is consumed; the next good row is still readable. */
        assert_int_equal(csv_feed_next(f, &b, err, sizeof err), 1);
        assert_int_equal(csv_feed_line(f), 4);
        assert_true(b.ts == T0);
        /* A row with the same timestamp text as the bad one gets its own time. */
        assert_int_equal(csv_feed_next(f, &b, err, sizeof err), 1);
        assert_true(b.ts == T0 + APEX_MINUTE);
        csv_feed_close(f);
        symtab_free(syms);
    }
}

static void test_bad_headers_and_files(void **state)
{
    (void)state;
    char err[512];
    symtab *syms = symtab_new();
    const char *p = write_file("nohdr.csv", "2024-03-01T14:30:00Z,AAPL,10,11,9,10.5,100\n");
    assert_null(csv_feed_open(p, syms, false, err, sizeof err));
    char expect[600];
    snprintf(expect, sizeof expect, "%s:1: header has no column 'timestamp'", p);
    assert_true(strncmp(err, expect, strlen(expect)) == 0);

    p = write_file("noclose.csv", "timestamp,symbol,open,high,low,volume\n");
    assert_null(csv_feed_open(p, syms, false, err, sizeof err));
    assert_non_null(strstr(err, "header has no column 'close'"));

    p = write_file("dup.csv", "timestamp,symbol,open,high,low,close,volume,Close\n");
    assert_null(csv_feed_open(p, syms, false, err, sizeof err));
    assert_non_null(strstr(err, ":1: header names column 'close' twice (columns 6 and 8)"));

    p = write_file("empty.csv", "# only a comment\n\n");
    assert_null(csv_feed_open(p, syms, false, err, sizeof err));
    assert_non_null(strstr(err, "the file is empty"));

    snprintf(expect, sizeof expect, "%s/missing.csv", tmpdir);
    assert_null(csv_feed_open(expect, syms, false, err, sizeof err));
    assert_non_null(strstr(err, "missing.csv: cannot open"));
    symtab_free(syms);
}

static csv_feed *open_ok(const char *path, symtab *syms, bool follow)
{
    char err[256] = "";
    csv_feed *f = csv_feed_open(path, syms, follow, err, sizeof err);
    if (!f)
        fail_msg("%s", err);
    return f;
}

static void test_merge_in_time_order_with_ties(void **state)
{
    (void)state;
    const char *a = write_file("a.csv", "timestamp,symbol,open,high,low,close,volume\n"
                                        "1709303400,AAPL,1,1,1,1,1\n"
                                        "1709303400,MSFT,2,2,2,2,1\n"
                                        "1709303520,AAPL,3,3,3,3,1\n");
    const char *b = write_file("b.csv", "symbol,timestamp,open,high,low,close,volume\n"
                                        "SPY,2024-03-01T14:30:00Z,10,10,10,10,1\n"
                                        "SPY,2024-03-01T14:31:00Z,11,11,11,11,1\n"
                                        "SPY,2024-03-01T14:32:00Z,12,12,12,12,1\n"
                                        "SPY,2024-03-01T14:33:00Z,13,13,13,13,1\n");
    symtab *syms = symtab_new();
    feed_merge *mg = feed_merge_new();
    char err[256];
    assert_int_equal(feed_merge_add(mg, open_ok(a, syms, false), err, sizeof err), 0);
    assert_int_equal(feed_merge_add(mg, open_ok(b, syms, false), err, sizeof err), 0);
    assert_true(feed_merge_peek_time(mg) == T0);

    /* Expected: ties at 14:30 keep file a first (AAPL, MSFT) then b (SPY); at 14:32 a's
     * AAPL comes before b's SPY. */
    const char *sym[] = {"AAPL", "MSFT", "SPY", "SPY", "AAPL", "SPY", "SPY"};
    const char *close[] = {"1", "2", "10", "11", "3", "12", "13"};
    apex_time min[] = {0, 0, 0, 1, 2, 2, 3};
    bar bar_;
    for (int i = 0; i < 7; i++) {
        assert_int_equal(feed_merge_next(mg, &bar_, err, sizeof err), 1);
        assert_string_equal(symtab_name(syms, bar_.symbol_id), sym[i]);
        assert_true(bar_.close == m(close[i]));
        assert_true(bar_.ts == T0 + min[i] * APEX_MINUTE);
    }
    assert_int_equal(feed_merge_next(mg, &bar_, err, sizeof err), 0);
    assert_true(feed_merge_peek_time(mg) == APEX_TIME_NEVER);
    feed_merge_free(mg);
    symtab_free(syms);
}

static void test_merge_reports_bad_row(void **state)
{
    (void)state;
    const char *a = write_file("ma.csv", "timestamp,symbol,open,high,low,close,volume\n"
                                         "1709303400,AAPL,1,1,1,1,1\n"
                                         "1709303460,AAPL,1,1,1,x,1\n"
                                         "1709303520,AAPL,3,3,3,3,1\n");
    symtab *syms = symtab_new();
    feed_merge *mg = feed_merge_new();
    char err[256];
    assert_int_equal(feed_merge_add(mg, open_ok(a, syms, false), err, sizeof err), 0);
    bar b;
    assert_int_equal(feed_merge_next(mg, &b, err, sizeof err), 1);
    /* peek meets the bad row; the error surfaces on the next read, naming the line. */
    assert_true(feed_merge_peek_time(mg) == APEX_TIME_NEVER);
    assert_int_equal(feed_merge_next(mg, &b, err, sizeof err), APEX_EINVAL);
    assert_non_null(strstr(err, "ma.csv:3: column 'close': 'x' is not a number"));
    assert_int_equal(feed_merge_next(mg, &b, err, sizeof err), 1);
    assert_true(b.close == m("3"));
    assert_int_equal(feed_merge_next(mg, &b, err, sizeof err), 0);
    feed_merge_free(mg);
    symtab_free(syms);
}

static void test_follow_picks_up_appended_rows(void **state)
{
    (void)state;
    const char *p = write_file("live.csv", "timestamp,symbol,open,high,low,close,volume\n"
                                           "1709303400,BTC/USD,60000,60010,59990,60005,1.5\n"
                                           "1709303460,BTC/USD,60005,60020,6");
    symtab *syms = symtab_new();
    csv_feed *f = open_ok(p, syms, true);
    assert_true(csv_feed_is_follow(f));
    char err[256];
    bar b;
    assert_int_equal(csv_feed_next(f, &b, err, sizeof err), 1);
    assert_true(b.close == m("60005"));
    /* The partial line is held back, not parsed as "low = 6". */
    assert_int_equal(csv_feed_next(f, &b, err, sizeof err), 0);
    assert_int_equal(csv_feed_next(f, &b, err, sizeof err), 0);

    append_file(p, "0000,60015,0.25\n1709303520,BTC/USD,60015,60030,60010,60025,2\n");
    assert_int_equal(csv_feed_next(f, &b, err, sizeof err), 1);
    assert_true(b.low == m("60000") && b.close == m("60015") && b.volume == m("0.25"));
    assert_true(b.ts == T0 + APEX_MINUTE);
    assert_int_equal(csv_feed_line(f), 3);
    assert_int_equal(csv_feed_next(f, &b, err, sizeof err), 1);
    assert_true(b.close == m("60025"));
    assert_int_equal(csv_feed_next(f, &b, err, sizeof err), 0);
    csv_feed_close(f);

    /* A followed file may start empty; the header arrives later. Through a merge. */
    const char *q = write_file("later.csv", "");
    feed_merge *mg = feed_merge_new();
    assert_int_equal(feed_merge_add(mg, open_ok(q, syms, true), err, sizeof err), 0);
    assert_int_equal(feed_merge_next(mg, &b, err, sizeof err), 0);
    append_file(q, "timestamp,symbol,open,high,low,close,volume\n");
    assert_int_equal(feed_merge_next(mg, &b, err, sizeof err), 0);
    append_file(q, "1709303400,ETH/USD,3000,3001,2999,3000.5,4\n");
    assert_int_equal(feed_merge_next(mg, &b, err, sizeof err), 1);
    assert_string_equal(symtab_name(syms, b.symbol_id), "ETH/USD");
    assert_true(b.close == m("3000.5"));
    assert_int_equal(feed_merge_next(mg, &b, err, sizeof err), 0);
    feed_merge_free(mg);
    symtab_free(syms);
}

/* A live source's queue merges with a followed file like rows appended to it, and a burst
 * larger than the ring (a warm-up history) keeps every bar in order. */
static void test_merge_live_queue_with_followed_file(void **state)
{
    (void)state;
    const char *p = write_file("vix.csv", "timestamp,symbol,open,high,low,close,volume\n"
                                          "1709303400,VIX,14,14,14,14,0\n");
    symtab *syms = symtab_new();
    int aapl = symtab_intern(syms, "AAPL", 4);
    bar_queue *q = bar_queue_new("market data");
    feed_merge *mg = feed_merge_new();
    char err[256];
    assert_int_equal(feed_merge_add(mg, open_ok(p, syms, true), err, sizeof err), 0);
    assert_int_equal(feed_merge_add_queue(mg, q, err, sizeof err), 0);
    bar b;
    assert_int_equal(feed_merge_next(mg, &b, err, sizeof err), 1);
    assert_string_equal(symtab_name(syms, b.symbol_id), "VIX");
    assert_int_equal(feed_merge_next(mg, &b, err, sizeof err), 0); /* nothing live yet */

    enum { BURST = 1000 };
    for (int i = 0; i < BURST; i++) {
        bar in = {.ts = T0 + i * APEX_MINUTE, .symbol_id = aapl};
        in.open = in.high = in.low = in.close = m("180") + i * MONEY_SCALE / 100;
        assert_int_equal(bar_queue_push(q, &in), 0);
        if (i == 10) { /* reading in the middle of a burst wraps the ring */
            assert_int_equal(feed_merge_next(mg, &b, err, sizeof err), 1);
            assert_true(b.ts == T0 && b.close == m("180"));
        }
    }
    assert_int_equal((int)bar_queue_count(q), BURST - 1); /* the merge reads when asked */
    for (int i = 1; i < BURST; i++) {
        assert_int_equal(feed_merge_next(mg, &b, err, sizeof err), 1);
        assert_int_equal(b.symbol_id, aapl);
        assert_true(b.ts == T0 + i * APEX_MINUTE);
        assert_true(b.close == m("180") + i * MONEY_SCALE / 100);
    }
    assert_int_equal(feed_merge_next(mg, &b, err, sizeof err), 0);
    append_file(p, "1709303460,VIX,15,15.5,15,15.5,0\n");
    assert_int_equal(feed_merge_next(mg, &b, err, sizeof err), 1);
    assert_true(b.close == m("15.5"));
    feed_merge_free(mg);
    bar_queue_free(q);
    symtab_free(syms);
}

static void test_large_file_crosses_read_blocks(void **state)
{
    (void)state;
    /* ~5 MiB: rows straddle the 1 MiB read blocks; every row must come back intact. */
    enum { ROWS = 80000, SYMS = 16 };
    char path[512];
    snprintf(path, sizeof path, "%s/big.csv", tmpdir);
    FILE *out = fopen(path, "w");
    assert_non_null(out);
    fputs("timestamp,symbol,open,high,low,close,volume,bid,ask\n", out);
    for (int i = 0; i < ROWS; i++) {
        long ts = 1709303400L + (i / SYMS) * 60;
        int cents = 10000 + i % 997;
        fprintf(out, "%ld,SYM%03d,%d.%02d,%d.%02d,%d.%02d,%d.%02d,%d,%d.%02d,%d.%02d\n", ts,
                i % SYMS, cents / 100, cents % 100, (cents + 5) / 100, (cents + 5) % 100,
                (cents - 5) / 100, (cents - 5) % 100, (cents + 1) / 100, (cents + 1) % 100, i,
                cents / 100, cents % 100, (cents + 2) / 100, (cents + 2) % 100);
    }
    fclose(out);
    symtab *syms = symtab_new();
    csv_feed *f = open_ok(path, syms, false);
    char err[256];
    bar b;
    for (int i = 0; i < ROWS; i++) {
        int rc = csv_feed_next(f, &b, err, sizeof err);
        if (rc != 1)
            fail_msg("row %d: rc %d %s", i, rc, err);
        int cents = 10000 + i % 997;
        assert_true(b.close == (money_t)(cents + 1) * 1000000);
        assert_true(b.volume == (money_t)i * MONEY_SCALE);
        assert_int_equal(b.symbol_id, i % SYMS);
        assert_true(b.ts == T0 + (i / SYMS) * APEX_MINUTE);
    }
    assert_int_equal(csv_feed_next(f, &b, err, sizeof err), 0);
    assert_int_equal(csv_feed_line(f), ROWS + 1);
    assert_int_equal(symtab_count(syms), SYMS);
    csv_feed_close(f);
    symtab_free(syms);
}

static void test_symtab_ids_are_dense_and_stable(void **state)
{
    (void)state;
    symtab *t = symtab_new();
    assert_int_equal(symtab_intern(t, "AAPL", 4), 0);
    assert_int_equal(symtab_intern(t, "MSFTX", 4), 1); /* only len bytes count */
    assert_int_equal(symtab_intern(t, "AAPL", 4), 0);
    const char *first = symtab_name(t, 0);
    char name[16];
    for (int i = 0; i < 2000; i++) {
        int n = snprintf(name, sizeof name, "S%d", i);
        assert_int_equal(symtab_intern(t, name, n), i + 2);
    }
    assert_ptr_equal(symtab_name(t, 0), first); /* names do not move as the table grows */
    assert_string_equal(symtab_name(t, 1), "MSFT");
    assert_int_equal(symtab_find(t, "S1999"), 2001);
    assert_int_equal(symtab_find(t, "NOPE"), -1);
    assert_int_equal(symtab_count(t), 2002);
    assert_null(symtab_name(t, 2002));
    assert_int_equal(symtab_intern(t, "", 0), -1);
    assert_int_equal(symtab_intern(t, "BAD SYM", 7), -1);
    assert_int_equal(symtab_intern(t, "ABCDEFGHIJKLMNOPQRSTUVWX", 24), -1); /* too long */
    assert_int_equal(symtab_intern(t, "BRK.B", 5), 2002);
    assert_int_equal(symtab_intern(t, "^VIX", 4), 2003);
    symtab_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_multi_symbol_file),
        cmocka_unit_test(test_timestamp_forms),
        cmocka_unit_test(test_malformed_rows_name_file_line_column),
        cmocka_unit_test(test_bad_headers_and_files),
        cmocka_unit_test(test_merge_in_time_order_with_ties),
        cmocka_unit_test(test_merge_reports_bad_row),
        cmocka_unit_test(test_follow_picks_up_appended_rows),
        cmocka_unit_test(test_merge_live_queue_with_followed_file),
        cmocka_unit_test(test_large_file_crosses_read_blocks),
        cmocka_unit_test(test_symtab_ids_are_dense_and_stable),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
