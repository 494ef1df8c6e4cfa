/* fuzz_csv_feed: the CSV bar feed (core/market/csv_feed.c) on arbitrary file contents.
 *
 * Every bar it returns must pass the feed's own documented checks (prices > 0,
 * high >= open/close >= low, volume >= 0, time in order, a known symbol). The same bytes
 * are then read a second time in follow mode, arriving in two pieces (cut at a point
 * drawn from a hash of the bytes), as a file that is still being written: when the input
 * ends with a newline, the follower must return exactly the same bars and the same error.
 * Last, two feeds of the same file are merged (feed_merge): a file without errors must come
 * out twice, in time order, each time's rows of the first feed before the second's, with
 * feed_merge_peek_time announcing every bar's time.
 * The input is a plain CSV file, so any real data file is a valid seed. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_support.h"
#include "market/csv_feed.h"

#define MAX_BARS 4096

typedef struct {
    bar bars[MAX_BARS];
    int n;
    int rc; /* the last return: 0 end of data, < 0 error */
    char err[512];
    size_t path_len; /* errors start with the file's path, which differs between readings */
    bool opened;
} reading;

static void check_bar(const bar *b, const symtab *syms, apex_time prev, int i)
{
    FUZZ_CHECK(b->open > 0 && b->high > 0 && b->low > 0 && b->close > 0);
    FUZZ_CHECK(b->volume >= 0 && b->bid >= 0 && b->ask >= 0);
    FUZZ_CHECK(b->high >= b->open && b->high >= b->close);
    FUZZ_CHECK(b->low <= b->open && b->low <= b->close);
    FUZZ_CHECK(i == 0 || b->ts >= prev);
    const char *name = symtab_name(syms, b->symbol_id);
    FUZZ_CHECK(name != NULL && name[0] != '\0');
}

/* Reads until end of data or an error. */
static void drain(csv_feed *f, const symtab *syms, reading *r)
{
    for (;;) {
        bar b;
        int rc = csv_feed_next(f, &b, r->err, sizeof r->err);
        FUZZ_CHECK(rc <= 1);
        if (rc <= 0) {
            r->rc = rc;
            return;
        }
        check_bar(&b, syms, r->n > 0 ? r->bars[r->n - 1].ts : 0, r->n);
        FUZZ_CHECK(csv_feed_line(f) >= 2);
        if (r->n < MAX_BARS)
            r->bars[r->n++] = b;
    }
}

static void read_whole(const uint8_t *data, size_t size, symtab *syms, reading *r)
{
    fuzz_file file;
    fuzz_file_open(&file, data, size);
    r->path_len = strlen(file.path);
    csv_feed *f = csv_feed_open(file.path, syms, false, r->err, sizeof r->err);
    r->opened = f != NULL;
    if (f) {
        drain(f, syms, r);
        /* At the end a plain feed stays at the end. */
        bar b;
        if (r->rc == 0)
            FUZZ_CHECK(csv_feed_next(f, &b, r->err, sizeof r->err) == 0);
        csv_feed_close(f);
    }
    fuzz_file_close(&file);
}

static void read_following(const uint8_t *data, size_t size, size_t split, symtab *syms, reading *r)
{
    fuzz_file file;
    fuzz_file_open(&file, data, split);
    r->path_len = strlen(file.path);
    csv_feed *f = csv_feed_open(file.path, syms, true, r->err, sizeof r->err);
    r->opened = f != NULL;
    if (f) {
        drain(f, syms, r);
        if (r->rc == 0) {
            fuzz_file_append(&file, data + split, size - split);
            drain(f, syms, r);
        }
        csv_feed_close(f);
    }
    fuzz_file_close(&file);
}

static bool same_bar(const bar *a, const bar *b, const symtab *sa, const symtab *sb)
{
    return a->ts == b->ts && a->open == b->open && a->high == b->high && a->low == b->low &&
           a->close == b->close && a->volume == b->volume && a->bid == b->bid && a->ask == b->ask &&
           strcmp(symtab_name(sa, a->symbol_id), symtab_name(sb, b->symbol_id)) == 0;
}

/* Merges two feeds of the same file and compares with the stable merge of whole's bars. */
static void check_merge(const char *path, const reading *whole, const symtab *sw)
{
    symtab *sm = symtab_new();
    feed_merge *m = feed_merge_new();
    char err[512];
    for (int k = 0; k < 2; k++) {
        csv_feed *f = csv_feed_open(path, sm, false, err, sizeof err);
        FUZZ_CHECK(f != NULL);
        FUZZ_CHECK(feed_merge_add(m, f, err, sizeof err) == 0);
    }
    int a = 0, b = 0; /* next expected row of the first and the second copy */
    for (;;) {
        apex_time peek = feed_merge_peek_time(m);
        bar got;
        int rc = feed_merge_next(m, &got, err, sizeof err);
        FUZZ_CHECK(rc == 0 || rc == 1);
        if (rc == 0) {
            FUZZ_CHECK(peek == APEX_TIME_NEVER);
            break;
        }
        FUZZ_CHECK(peek == got.ts);
        bool first = a < whole->n && (b >= whole->n || whole->bars[a].ts <= whole->bars[b].ts);
        FUZZ_CHECK(a < whole->n || b < whole->n);
        const bar *want = first ? &whole->bars[a++] : &whole->bars[b++];
        FUZZ_CHECK(same_bar(want, &got, sw, sm));
    }
    FUZZ_CHECK(a == whole->n && b == whole->n);
    feed_merge_free(m);
    symtab_free(sm);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static reading whole, follow;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < size; i++)
        h = (h ^ data[i]) * 16777619u;
    size_t split = h % (size + 1);

    symtab *sw = symtab_new(), *sf = symtab_new();
    memset(&whole, 0, sizeof whole);
    memset(&follow, 0, sizeof follow);
    read_whole(data, size, sw, &whole);

    /* A file that does not end its last line is incomplete to a follower (by design: the
     * writer may be mid-line), and an empty one is a header still to come. */
    if (whole.opened && size > 0 && data[size - 1] == '\n') {
        read_following(data, size, split, sf, &follow);
        FUZZ_CHECK(follow.opened);
        FUZZ_CHECK(follow.n == whole.n);
        for (int i = 0; i < whole.n; i++)
            FUZZ_CHECK(same_bar(&whole.bars[i], &follow.bars[i], sw, sf));
        FUZZ_CHECK(follow.rc == whole.rc);
        if (whole.rc < 0)
            FUZZ_CHECK(strcmp(follow.err + follow.path_len, whole.err + whole.path_len) == 0);
    }
    if (whole.opened && whole.rc == 0 && whole.n < MAX_BARS) {
        fuzz_file file;
        fuzz_file_open(&file, data, size);
        check_merge(file.path, &whole, sw);
        fuzz_file_close(&file);
    }
    symtab_free(sw);
    symtab_free(sf);
    return 0;
}
